/*
 * knocker - send one siglatch knock: format 1, a 256-byte UDP datagram
 * carrying an HMAC-signed KnockPacket encrypted to the server's RSA public
 * key, or format 2, a 559-byte datagram (knock2.h) that may name the
 * address it is for and may ask for a receipt.
 *
 *   knocker [options] HOST USER ACTION [PAYLOAD]
 *   knocker [options] PROFILE [ACTION] [PAYLOAD]
 *   knocker --connect HOST:PORT [options] PROFILE   (ssh ProxyCommand)
 *   knocker --list | --save-profile NAME ... | --import-bundle DIR --as NAME
 *
 * Keys, name maps and the formats the server takes default to the
 * per-host directory ~/.config/siglatch/HOST/, or come from a profile
 * (knocker.conf, src/client/profile.c).  Knocks are built, sealed and their
 * receipts opened by libsiglatch (include/siglatch.h).  See
 * docs/knocker.md.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "addr.h"
#include "client.h"
#include "crypto.h"
#include "knock2.h"
#include "libsiglatch_int.h"
#include "profile.h"
#include "sl.h"
#include "util.h"
#include "wire.h"

#define EXIT_USAGE        CLIENT_EXIT_USAGE
#define KNOCKER_WAIT_DEF  5     /* --wait without SECONDS */
#define KNOCKER_WAIT_MAX  300
#define KNOCKER_SKEW_NOTE 30    /* report a server clock further off */

/* The per-host directory, or why there is none. */
struct knocker_dir {
	int rc;
	char path[SL_PATH_MAX];
	char err[CLIENT_ERR_LEN];
};

/* A knock ready to be built: keys, ids, payload, format. */
struct knocker_knock {
	siglatch_ctx *lib;          /* libsiglatch: the keys */
	uint32_t user_id, action_id;
	uint8_t payload[SL_PAYLOAD_MAX];
	size_t plen;
	int format;
};

struct knocker_opts {
	const char *host, *user, *action, *payload;
	const char *hosts[PROFILE_HOSTS_MAX];   /* HOST, or a profile's */
	unsigned nhosts;
	const char *server_key, *hmac_key, *save, *allow_ip;
	const char *config, *save_profile, *import_dir, *import_as, *connect;
	const char *bundle;         /* a profile's bundle directory */
	const struct profile *prof; /* PROFILE mode */
	const char *pos[4];
	int npos;
	bool port_set, wait_set, list;
	unsigned timeout_s;         /* --connect deadline */
	uint16_t port;
	int format;                 /* 1, 2, or 0: from DIR/formats */
	struct sl_addr allow_addr;  /* --allow-ip */
	unsigned wait_s;            /* --wait: seconds, 0 = do not wait */
	bool use_stdin, dry_run, verbose, quiet, no_address;
};

enum {
	OPT_SERVER_KEY = 256,
	OPT_HMAC_KEY,
	OPT_STDIN,
	OPT_VERSION,
	OPT_FORMAT,
	OPT_ALLOW_IP,
	OPT_NO_ADDRESS,
	OPT_SAVE,
	OPT_WAIT,
	OPT_CONFIG,
	OPT_LIST,
	OPT_SAVE_PROFILE,
	OPT_IMPORT_BUNDLE,
	OPT_AS,
	OPT_CONNECT,
	OPT_TIMEOUT,
	OPT_IGNORED,    /* siglatch 1.0 options that no longer do anything */
	OPT_UNSAFE,     /* siglatch 1.0 options for unauthenticated knocks */
};

static const struct option knocker_longopts[] = {
	{ "port",        required_argument, NULL, 'p' },
	{ "server-key",  required_argument, NULL, OPT_SERVER_KEY },
	{ "hmac-key",    required_argument, NULL, OPT_HMAC_KEY },
	{ "stdin",       no_argument,       NULL, OPT_STDIN },
	{ "dry-run",     no_argument,       NULL, 'n' },
	{ "format",      required_argument, NULL, OPT_FORMAT },
	{ "allow-ip",    required_argument, NULL, OPT_ALLOW_IP },
	{ "no-address",  no_argument,       NULL, OPT_NO_ADDRESS },
	{ "save",        required_argument, NULL, OPT_SAVE },
	{ "wait",        optional_argument, NULL, OPT_WAIT },
	{ "verbose",     optional_argument, NULL, 'v' },
	{ "quiet",       no_argument,       NULL, 'q' },
	{ "config",      required_argument, NULL, OPT_CONFIG },
	{ "list",        no_argument,       NULL, OPT_LIST },
	{ "save-profile", required_argument, NULL, OPT_SAVE_PROFILE },
	{ "import-bundle", required_argument, NULL, OPT_IMPORT_BUNDLE },
	{ "as",          required_argument, NULL, OPT_AS },
	{ "connect",     required_argument, NULL, OPT_CONNECT },
	{ "timeout",     required_argument, NULL, OPT_TIMEOUT },
	{ "help",        no_argument,       NULL, 'h' },
	{ "version",     no_argument,       NULL, OPT_VERSION },
	{ "client-key",  required_argument, NULL, OPT_IGNORED },
	{ "log",         required_argument, NULL, OPT_IGNORED },
	{ "output-mode", required_argument, NULL, OPT_IGNORED },
	{ "no-hmac",     no_argument,       NULL, OPT_UNSAFE },
	{ "dummy-hmac",  no_argument,       NULL, OPT_UNSAFE },
	{ "no-encrypt",  no_argument,       NULL, OPT_UNSAFE },
	{ "dead-drop",   no_argument,       NULL, OPT_UNSAFE },
	{ NULL, 0, NULL, 0 }
};

/* --quiet: notes, warnings and receipt lines are not printed */
static bool knocker_quiet;

static void knocker_err(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void knocker_note(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
knocker_err(const char *fmt, ...)
{
	va_list ap;

	fputs("knocker: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A line that is not an error: "knocker: " and fmt, unless --quiet. */
static void
knocker_note(const char *fmt, ...)
{
	va_list ap;

	if (knocker_quiet)
		return;
	fputs("knocker: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
knocker_usage(FILE *f)
{
	fprintf(f,
"usage: knocker [options] HOST USER ACTION [PAYLOAD]\n"
"       knocker [options] PROFILE [ACTION] [PAYLOAD]\n"
"       knocker --connect HOST:PORT [options] PROFILE [ACTION] [PAYLOAD]\n"
"       knocker --list | --import-bundle DIR --as NAME [HOST [USER [ACTION]]]\n"
"\n"
"Send one knock to siglatchd on HOST.  USER and ACTION are names from\n"
"user.map / action.map, or decimal ids (user 0-65535, action 0-255).\n"
"PAYLOAD (at most %d bytes) is sent as given.  A first argument that names\n"
"a profile (knocker.conf) takes host, port, user, action and keys from it;\n"
"options given here win.\n"
"\n"
"  -p, --port N          UDP port (default %d)\n"
"      --server-key FILE server public key (default DIR/server.pub.pem)\n"
"      --hmac-key FILE   HMAC key, 32 bytes or 64 hex (default DIR/hmac.key)\n"
"      --stdin           read the payload from standard input\n"
"      --format 1|2      knock format (default 2 if DIR/formats lists 2,\n"
"                        else 1)\n"
"      --allow-ip ADDR   format 2: the knock is for ADDR (IPv4 or IPv6)\n"
"      --no-address      format 2: name no address (the server grants the\n"
"                        address the knock comes from)\n"
"      --save FILE       also write the datagram to FILE\n"
"      --wait[=SECONDS]  format 2: ask for a receipt and wait for it, resending\n"
"                        at 1, 2, 4 ... s (default %d s, at most %d)\n"
"  -n, --dry-run         build the knock and print its fields; send nothing\n""      --config FILE     profiles file (default $SIGLATCH_CONFIG, else\n"
"                        ~/.config/siglatch/knocker.conf; drop-ins FILE.d/*.conf)\n"
"      --list            list the profiles, keys by fingerprint\n"
"      --save-profile NAME  save this command line as profile NAME, then knock\n"
"      --import-bundle DIR --as NAME  copy a siglatch-keygen bundle and make\n"
"                        profile NAME of it, whatever host it was made for\n"
"      --connect HOST:PORT  knock, wait until HOST:PORT accepts TCP, then\n"
"                        relay standard input and output (ssh ProxyCommand)\n"
"      --timeout SECONDS --connect: give up after SECONDS (default 30)\n"
"  -v, --verbose         say what is done, on standard error: the format and\n"
"                        size of the datagram, the server key's fingerprint,\n"
"                        the address it went to\n"
"  -q, --quiet           print nothing but errors; the exit status says it\n"
"  -h, --help            this text\n"
"      --version         print the version\n"
"\n"
"Format 2 names this machine's address (the UDP socket's local address)\n"
"when the server will see it: the server's address is loopback, private,\n"
"100.64/10 or link-local, or this machine's is public; else none.\n"
"\n"
"DIR is $XDG_CONFIG_HOME/siglatch/HOST or ~/.config/siglatch/HOST; it also\n"
"holds user.map and action.map (name,host,id lines) and formats.\n"
"\n"
"Exit status:\n"
"  0  sent, no receipt asked for; or, with --wait, the receipt said done\n"
"  1  a local error (keys, names, files, resolving, sending)\n"
"  2  a usage error\n"
"  3  the receipt said: the action failed\n"
"  4  the receipt said: refused\n"
"  5  the receipt said: server busy (no script slot), try again\n"
"  6  no receipt within the deadline (the knock may still have worked)\n"
"  7  the TCP port never opened (--connect)\n",
	    SL_PAYLOAD_MAX, CLIENT_DEFAULT_PORT, KNOCKER_WAIT_DEF,
	    KNOCKER_WAIT_MAX);
}

/* The option that only format 2 can carry, if one was given. */
static const char *
knocker_needs_v2(const struct knocker_opts *o)
{
	if (o->allow_ip != NULL)
		return "--allow-ip";
	if (o->wait_s > 0)
		return "--wait";
	return NULL;
}

/* Parse the command line; returns -1 to go on, else an exit status. */
static int
knocker_parse(int argc, char **argv, struct knocker_opts *o)
{
	long long v;
	int c, li;

	memset(o, 0, sizeof(*o));
	for (;;) {
		li = -1;
		if ((c = getopt_long(argc, argv, "p:nvqh", knocker_longopts,
		    &li)) == -1)
			break;
		switch (c) {
		case 'p':
			if (client_parse_port(optarg, &o->port) != 0) {
				knocker_err("bad port '%s' (1-65535)", optarg);
				return EXIT_USAGE;
			}
			o->port_set = true;
			break;
		case OPT_CONFIG:
			o->config = optarg;
			break;
		case OPT_LIST:
			o->list = true;
			break;
		case OPT_SAVE_PROFILE:
		case OPT_AS:
			if (!profile_valid_name(optarg)) {
				knocker_err("bad profile name '%s' (1-63 of A-Z "
				    "a-z 0-9 _ . -, not starting with - or .)",
				    optarg);
				return EXIT_USAGE;
			}
			if (c == OPT_AS)
				o->import_as = optarg;
			else
				o->save_profile = optarg;
			break;
		case OPT_IMPORT_BUNDLE:
			o->import_dir = optarg;
			break;
		case OPT_CONNECT:
			o->connect = optarg;
			break;
		case OPT_TIMEOUT:
			if (sl_parse_num(optarg, 1, PROFILE_TIMEOUT_MAX, &v) != 0) {
				knocker_err("bad --timeout '%s' (1-%d seconds)",
				    optarg, PROFILE_TIMEOUT_MAX);
				return EXIT_USAGE;
			}
			o->timeout_s = (unsigned)v;
			break;
		case OPT_SERVER_KEY:
			o->server_key = optarg;
			break;
		case OPT_HMAC_KEY:
			o->hmac_key = optarg;
			break;
		case OPT_STDIN:
			o->use_stdin = true;
			break;
		case OPT_FORMAT:
			if (sl_parse_num(optarg, 1, 2, &v) != 0) {
				knocker_err("bad format '%s' (1 or 2)", optarg);
				return EXIT_USAGE;
			}
			o->format = (int)v;
			break;
		case OPT_ALLOW_IP:
			if (addr_parse(optarg, &o->allow_addr) != 0) {
				knocker_err("--allow-ip '%s' is not an IPv4 or "
				    "IPv6 address", optarg);
				return EXIT_USAGE;
			}
			o->allow_ip = optarg;
			break;
		case OPT_NO_ADDRESS:
			o->no_address = true;
			break;
		case OPT_SAVE:
			o->save = optarg;
			break;
		case OPT_WAIT:
			o->wait_set = true;
			o->wait_s = KNOCKER_WAIT_DEF;
			if (optarg != NULL && sl_parse_num(optarg, 1,
			    KNOCKER_WAIT_MAX, &v) != 0) {
				knocker_err("bad --wait '%s' (1-%d seconds)", optarg,
				    KNOCKER_WAIT_MAX);
				return EXIT_USAGE;
			}
			if (optarg != NULL)
				o->wait_s = (unsigned)v;
			break;
		case 'n':
			o->dry_run = true;
			break;
		case 'v':
			/* siglatch 1.0 wrote "--verbose LEVEL" with LEVEL 0-5 */
			if (li >= 0 && optarg == NULL && optind < argc &&
			    argv[optind][0] >= '0' && argv[optind][0] <= '5' &&
			    argv[optind][1] == '\0')
				optarg = argv[optind++];
			if (optarg != NULL && (optarg[0] < '0' ||
			    optarg[0] > '5' || optarg[1] != '\0')) {
				knocker_err("bad verbose level '%s' (0-5)", optarg);
				return EXIT_USAGE;
			}
			o->verbose = optarg == NULL || optarg[0] != '0';
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			knocker_usage(stdout);
			return EXIT_SUCCESS;
		case OPT_VERSION:
			printf("knocker (siglatch) %s\n", SL_VERSION);
			return EXIT_SUCCESS;
		case OPT_IGNORED:
			knocker_note("note: --%s is a siglatch 1.0 option and "
			    "is ignored", knocker_longopts[li].name);
			break;
		case OPT_UNSAFE:
			knocker_err("--%s is not supported: siglatchd accepts "
			    "only signed, encrypted knocks",
			    knocker_longopts[li].name);
			return EXIT_USAGE;
		default:
			fputs("Try 'knocker --help'.\n", stderr);
			return EXIT_USAGE;
		}
	}
	for (; optind < argc; optind++) {
		if (o->npos == 4) {
			knocker_err("too many arguments (from '%s'); quote a "
			    "PAYLOAD that has spaces", argv[optind]);
			return EXIT_USAGE;
		}
		o->pos[o->npos++] = argv[optind];
	}
	if (o->quiet && o->verbose) {
		knocker_err("give --quiet or --verbose, not both");
		return EXIT_USAGE;
	}
	knocker_quiet = o->quiet;
	if ((o->import_dir == NULL) != (o->import_as == NULL)) {
		knocker_err("--import-bundle DIR and --as NAME go together");
		return EXIT_USAGE;
	}
	return -1;
}

/*
 * The knock to send: PROFILE [ACTION] [PAYLOAD] when the first argument
 * names a profile, else HOST USER ACTION [PAYLOAD]; options given on the
 * command line win over the profile's.  Returns -1 to go on, else an exit
 * status.
 */
static int
knocker_setup(struct knocker_opts *o, const struct profiles *ps,
    const char *cfgpath)
{
	const struct profile *p = NULL;
	unsigned i;

	if (o->npos >= 1)
		p = profile_find(ps, o->pos[0]);
	if (p != NULL) {
		o->prof = p;
		if (o->npos > 3) {
			knocker_err("too many arguments for a profile: PROFILE "
			    "[ACTION] [PAYLOAD]; quote a PAYLOAD that has "
			    "spaces");
			return EXIT_USAGE;
		}
		if (p->nhosts == 0) {
			knocker_err("profile %s (%s:%u) gives no host", p->name,
			    p->src, p->line);
			return CLIENT_EXIT_ERROR;
		}
		for (i = 0; i < p->nhosts; i++)
			o->hosts[i] = p->hosts[i];
		o->nhosts = p->nhosts;
		if (p->user[0] == '\0') {
			knocker_err("profile %s (%s:%u) gives no user", p->name,
			    p->src, p->line);
			return CLIENT_EXIT_ERROR;
		}
		o->user = p->user;
		o->action = o->npos >= 2 ? o->pos[1] :
		    p->action[0] != '\0' ? p->action : NULL;
		if (o->action == NULL) {
			knocker_err("profile %s (%s:%u) has no action: give "
			    "one, knocker %s ACTION", p->name, p->src, p->line,
			    p->name);
			return EXIT_USAGE;
		}
		o->payload = o->npos == 3 ? o->pos[2] : NULL;
		if (!o->port_set && p->port != 0)
			o->port = p->port;
		if (o->server_key == NULL && p->server_key[0] != '\0')
			o->server_key = p->server_key;
		if (o->hmac_key == NULL && p->hmac_key[0] != '\0')
			o->hmac_key = p->hmac_key;
		if (p->bundle[0] != '\0')
			o->bundle = p->bundle;
		if (o->format == 0)
			o->format = p->format;
		if (o->allow_ip == NULL && !o->no_address) {
			if (p->addr_mode == PROFILE_ADDR_NONE)
				o->no_address = true;
			else if (p->addr_mode == PROFILE_ADDR_IP) {
				o->allow_addr = p->allow_addr;
				o->allow_ip = "(profile)";
			}
		}
		if (!o->wait_set && p->wait_s >= 0)
			o->wait_s = (unsigned)p->wait_s;
		if (o->timeout_s == 0)
			o->timeout_s = p->timeout_s;
	} else {
		if (o->npos < 3) {
			if (o->npos >= 1 && o->npos <= 2)
				knocker_err("need HOST USER ACTION [PAYLOAD], or "
				    "PROFILE [ACTION] [PAYLOAD]: no profile "
				    "'%s' in %s or %s.d/", o->pos[0], cfgpath,
				    cfgpath);
			else
				knocker_err("need HOST USER ACTION [PAYLOAD]; "
				    "try 'knocker --help'");
			return EXIT_USAGE;
		}
		o->hosts[0] = o->pos[0];
		o->nhosts = 1;
		o->user = o->pos[1];
		o->action = o->pos[2];
		o->payload = o->npos == 4 ? o->pos[3] : NULL;
	}
	o->host = o->hosts[0];
	if (!o->port_set && o->port == 0)
		o->port = CLIENT_DEFAULT_PORT;
	if (o->payload != NULL && o->use_stdin) {
		knocker_err("give a PAYLOAD argument or --stdin, not both");
		return EXIT_USAGE;
	}
	if (o->allow_ip != NULL && o->no_address) {
		knocker_err("give --allow-ip or --no-address, not both");
		return EXIT_USAGE;
	}
	if (o->connect != NULL && (o->dry_run || o->use_stdin)) {
		knocker_err("--connect relays standard input: not with %s",
		    o->dry_run ? "--dry-run" : "--stdin");
		return EXIT_USAGE;
	}
	if (o->format == 1 && knocker_needs_v2(o) != NULL) {
		knocker_err("%s needs format 2; format 1 cannot carry it",
		    knocker_needs_v2(o));
		return EXIT_USAGE;
	}
	return -1;
}

/* A file in the per-host directory; says why there is none on failure. */
static int
knocker_path(char *out, size_t outlen, const struct knocker_dir *d,
    const char *file)
{
	int n;

	if (d->rc != 0) {
		knocker_err("%s", d->err);
		return d->rc;
	}
	n = snprintf(out, outlen, "%s/%s", d->path, file);
	if (n < 0 || (size_t)n >= outlen) {
		knocker_err("path too long: %s/%s", d->path, file);
		return SL_ETOOBIG;
	}
	return 0;
}

/* The path given on the command line, or the default in the directory. */
static int
knocker_key_path(char *out, size_t outlen, const char *given,
    const struct knocker_dir *d, const char *file)
{
	if (given == NULL)
		return knocker_path(out, outlen, d, file);
	if (sl_strlcpy(out, given, outlen) != 0) {
		knocker_err("path too long: %s", given);
		return SL_ETOOBIG;
	}
	return 0;
}

/* USER or ACTION: an id, or a name from the directory's map file. */
static int
knocker_resolve(const struct knocker_dir *d, const char *host,
    const char *arg, const char *kind, const char *mapfile, uint32_t max,
    uint32_t *id)
{
	char map[SL_PATH_MAX], err[CLIENT_ERR_LEN];
	int n, rc;

	n = snprintf(map, sizeof(map), "%s/%s", d->path, mapfile);
	rc = client_resolve_id(arg, kind, d->rc == 0 && n > 0 &&
	    (size_t)n < sizeof(map) ? map : NULL, host, max, id, err,
	    sizeof(err));
	if (rc != 0)
		knocker_err("%s", rc == SL_ENOENT && d->rc != 0 ? d->err : err);
	return rc;
}

static void
knocker_warn_key_perms(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & 077) != 0)
		knocker_note("warning: %s is readable or writable by group "
		    "or others; fix with: chmod 600 %s", path, path);
}

static void
knocker_print(const struct knocker_opts *o, const struct wire_knock *k)
{
	char payload[2 * SL_PAYLOAD_MAX + 1], hmac[2 * SL_HMAC_LEN + 1];

	client_hex(payload, sizeof(payload), k->payload, k->payload_len);
	client_hex(hmac, sizeof(hmac), k->hmac, sizeof(k->hmac));
	printf("host=%s\nport=%u\nversion=%u\ntimestamp=%lu\nuser_id=%u\n"
	    "action_id=%u\nchallenge=%lu\npayload_len=%u\npayload_hex=%s\n"
	    "hmac=%s\ndatagram_len=%d\n", o->host, (unsigned)o->port,
	    (unsigned)k->version, (unsigned long)k->timestamp,
	    (unsigned)k->user_id, (unsigned)k->action_id,
	    (unsigned long)k->challenge, (unsigned)k->payload_len, payload,
	    hmac, SL_DGRAM_LEN);
	OPENSSL_cleanse(payload, sizeof(payload));
}

static void
knocker_print2(const struct knocker_opts *o, const struct k2_inner *in,
    const uint8_t dgram[K2_DGRAM_LEN])
{
	char payload[2 * K2_PAYLOAD_MAX + 1], nonce[2 * K2_NONCE_LEN + 1];
	char tag[2 * K2_TAG_LEN + 1], mac[2 * K2_MAC_LEN + 1];
	char addr[SL_IPSTR_MAX] = "none";

	client_hex(payload, sizeof(payload), in->payload, in->payload_len);
	client_hex(nonce, sizeof(nonce), in->nonce, sizeof(in->nonce));
	client_hex(tag, sizeof(tag), dgram + K2_OFF_TAG, K2_TAG_LEN);
	client_hex(mac, sizeof(mac), dgram + K2_OFF_MAC, K2_MAC_LEN);
	if (in->has_addr)
		addr_to_str(&in->addr, addr, sizeof(addr));
	printf("host=%s\nport=%u\nformat=2\nversion=%u\nflags=%u\n"
	    "receipt=%s\ntimestamp=%llu\nuser_id=%u\naction_id=%u\n"
	    "address=%s\nnonce=%s\npayload_len=%u\npayload_hex=%s\ntag=%s\n"
	    "mac=%s\ndatagram_len=%d\n", o->host, (unsigned)o->port,
	    (unsigned)K2_VERSION, (unsigned)in->flags,
	    (in->flags & K2_F_RECEIPT) != 0 ? "yes" : "no",
	    (unsigned long long)in->timestamp, (unsigned)in->user_id,
	    (unsigned)in->action_id, addr, nonce, (unsigned)in->payload_len,
	    payload, tag, mac, K2_DGRAM_LEN);
	OPENSSL_cleanse(payload, sizeof(payload));
}

/*
 * The format: --format, else 2 when DIR/formats lists it, else 1 (no
 * file: a siglatch 1.0 bundle).  Returns 0, or an exit status.
 */
static int
knocker_format(const struct knocker_opts *o, const struct knocker_dir *d,
    int *format)
{
	char path[SL_PATH_MAX], err[CLIENT_ERR_LEN];
	uint32_t mask = 0;
	int n, rc = SL_ENOENT;

	n = snprintf(path, sizeof(path), "%s/formats", d->path);
	if (d->rc == 0 && n > 0 && (size_t)n < sizeof(path))
		rc = client_read_formats(path, &mask, err, sizeof(err));
	if (o->format != 0) {
		*format = o->format;
		if (rc == 0 && (mask & CLIENT_FMT(o->format)) == 0)
			knocker_note("note: %s does not list format %d; "
			    "sending it as asked", path, o->format);
		return 0;
	}
	if (rc == SL_ENOENT) {
		*format = 1;
		if (o->verbose)
			fprintf(stderr, "knocker: format 1 (no %s: a bundle from "
			    "before format 2)\n", d->rc == 0 ? path :
			    "per-host directory");
	} else if (rc != 0) {
		knocker_err("%s", err);
		return CLIENT_EXIT_ERROR;
	} else if ((mask & CLIENT_FMT(2)) != 0) {
		*format = 2;
	} else if ((mask & CLIENT_FMT(1)) != 0) {
		*format = 1;
	} else {
		knocker_err("%s lists no format this knocker sends (1 or 2)",
		    path);
		return CLIENT_EXIT_ERROR;
	}
	if (rc == 0 && o->verbose)
		fprintf(stderr, "knocker: format %d (from %s)\n", *format, path);
	if (*format == 1 && knocker_needs_v2(o) != NULL) {
		knocker_err("%s needs format 2, and %s says the server takes "
		    "format 1 only; add --format 2 if it takes format 2",
		    knocker_needs_v2(o), rc == 0 ? path :
		    "the per-host directory (no formats file)");
		return EXIT_USAGE;
	}
	return 0;
}

static int
knocker_save(const struct knocker_opts *o, const uint8_t *dgram, size_t len)
{
	char err[CLIENT_ERR_LEN];

	if (o->save == NULL)
		return 0;
	if (client_save_file(o->save, 0600, dgram, len, err,
	    sizeof(err)) != 0) {
		knocker_err("--save: %s", err);
		return SL_ESYS;
	}
	if (o->verbose)
		fprintf(stderr, "knocker: wrote the %zu-byte datagram to %s\n",
		    len, o->save);
	return 0;
}

/* Errors a connected UDP socket reports for ICMP messages. */
static bool
knocker_icmp_errno(int e)
{
	return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH ||
	    e == EHOSTDOWN || e == ENETDOWN;
}

static void
knocker_clock_note(uint64_t server_time)
{
	int64_t off = (int64_t)(server_time - (uint64_t)time(NULL));

	if (off > KNOCKER_SKEW_NOTE || off < -KNOCKER_SKEW_NOTE)
		knocker_note("note: the server's clock is %lld s %s this "
		    "machine's", (long long)(off < 0 ? -off : off),
		    off < 0 ? "behind" : "ahead of");
}

/*
 * Wait on the connected socket fd for the receipt of the knock dgram;
 * resend the same datagram 1, 2, 4 ... s after the first send while the
 * deadline allows.  Returns the exit status.
 */
/*
 * A datagram that came back: 1 and *r when it is the receipt of the last
 * knock built on lib, 0 when it is not (ignored).
 */
static int
knocker_open_receipt(siglatch_ctx *lib, const uint8_t *buf, size_t n,
    struct k2_receipt *r)
{
	struct siglatch_receipt sr;

	if (siglatch_receipt_open(lib, buf, n, &sr) != SIGLATCH_OK)
		return 0;
	r->status = (uint8_t)sr.status;
	r->reason = (uint8_t)sr.reason;
	r->value = sr.value;
	r->server_time = sr.server_time;
	return 1;
}

static int
knocker_wait(const struct knocker_opts *o, int fd,
    const uint8_t dgram[K2_DGRAM_LEN], siglatch_ctx *lib)
{
	uint64_t start = sl_mono_ms(), now, until;
	uint64_t limit = (uint64_t)o->wait_s * 1000, resend = 1000;
	uint8_t buf[64];
	struct k2_receipt r;
	struct pollfd pfd;
	char msg[256];
	unsigned copies = 1;
	int icmp = 0, rc, status = CLIENT_EXIT_ERROR;
	ssize_t n;

	for (;;) {
		now = sl_mono_ms() - start;
		if (now >= limit)
			break;
		if (resend < limit && now >= resend) {
			if (send(fd, dgram, K2_DGRAM_LEN, 0) == K2_DGRAM_LEN) {
				copies++;
				if (o->verbose)
					fprintf(stderr, "knocker: no receipt "
					    "yet; sent the knock again (copy "
					    "%u)\n", copies);
			} else if (knocker_icmp_errno(errno)) {
				icmp = errno;
			} else {
				knocker_err("sending again: %s", strerror(errno));
				goto out;
			}
			resend *= 2;
			continue;
		}
		until = resend < limit ? resend : limit;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if ((rc = poll(&pfd, 1, (int)(until - now))) < 0 &&
		    errno != EINTR) {
			knocker_err("waiting for the receipt: %s",
			    strerror(errno));
			goto out;
		}
		if (rc <= 0)
			continue;
		for (;;) {
			n = recv(fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n < 0 && knocker_icmp_errno(errno)) {
				icmp = errno;
				if (o->verbose)
					fprintf(stderr, "knocker: the network "
					    "says: %s\n", strerror(errno));
				continue;
			}
			if (n < 0) {
				knocker_err("waiting for the receipt: %s",
				    strerror(errno));
				goto out;
			}
			/* MSG_TRUNC: n is the real size, so a longer
			 * datagram is not taken for a receipt */
			if (n > (ssize_t)sizeof(buf) ||
			    !knocker_open_receipt(lib, buf, (size_t)n, &r)) {
				if (o->verbose)
					fprintf(stderr, "knocker: ignored a "
					    "%zd-byte datagram that is not this "
					    "knock's receipt\n", n);
				continue;
			}
			status = client_receipt_outcome(&r, msg, sizeof(msg));
			if (!knocker_quiet)
				fprintf(status == CLIENT_EXIT_OK ? stdout :
				    stderr, "knocker: %s\n", msg);
			knocker_clock_note(r.server_time);
			goto out;
		}
	}
	knocker_note("no receipt within %u s (the knock may still have "
	    "worked; the server only answers once per knock and only when "
	    "receipt = yes)", o->wait_s);
	if (icmp != 0)
		knocker_note("note: the network said: %s (%s port %u)",
		    strerror(icmp), o->host, (unsigned)o->port);
	status = CLIENT_EXIT_NORECEIPT;
out:
	if (o->verbose)
		fprintf(stderr, "knocker: %u cop%s of the knock sent\n", copies,
		    copies == 1 ? "y" : "ies");
	return status;
}

/* Format 1: build, seal, save, print or send.  Returns the exit status. */
static int
knocker_v1(const struct knocker_opts *o, const struct knocker_knock *kk)
{
	char err[CLIENT_ERR_LEN], sent_to[64];
	uint8_t dgram[SL_DGRAM_LEN];
	struct wire_knock k;
	unsigned i;
	size_t n;
	int rc = SL_ENOENT, status = CLIENT_EXIT_ERROR;

	memset(&k, 0, sizeof(k));
	if ((rc = siglatch_int_knock1(kk->lib, (uint16_t)kk->user_id,
	    (uint8_t)kk->action_id, kk->payload, kk->plen, 0, dgram,
	    sizeof(dgram), &n, &k)) != SIGLATCH_OK) {
		knocker_err("cannot build the knock: %s", siglatch_strerror(rc));
		goto out;
	}
	if (knocker_save(o, dgram, sizeof(dgram)) != 0)
		goto out;
	if (o->dry_run) {
		knocker_print(o, &k);
		if (o->verbose)
			fprintf(stderr, "knocker: dry run, nothing sent\n");
		status = CLIENT_EXIT_OK;
		goto out;
	}
	for (i = 0; i < o->nhosts; i++) {
		if ((rc = client_send(o->hosts[i], o->port, false, dgram,
		    sizeof(dgram), sent_to, sizeof(sent_to), err,
		    sizeof(err))) == 0)
			break;
		if (i + 1 < o->nhosts && o->verbose)
			fprintf(stderr, "knocker: %s; trying %s\n", err,
			    o->hosts[i + 1]);
	}
	if (rc != 0) {
		knocker_err("%s", err);
		goto out;
	}
	if (o->verbose)
		fprintf(stderr, "knocker: sent a %d-byte format-1 datagram to "
		    "%s port %u (HOST %s)\n", SL_DGRAM_LEN, sent_to,
		    (unsigned)o->port, o->hosts[i]);
	status = CLIENT_EXIT_OK;
out:
	OPENSSL_cleanse(&k, sizeof(k));
	return status;
}

/*
 * Which address a format-2 knock names: --allow-ip, none for --no-address,
 * else the connected socket's local address when the server will see it.
 */
static void
knocker_address(const struct knocker_opts *o, const struct sl_addr *server,
    const struct sl_addr *local, struct k2_inner *in)
{
	char la[SL_IPSTR_MAX], sa[SL_IPSTR_MAX];

	if (o->allow_ip != NULL) {
		in->has_addr = true;
		in->addr = o->allow_addr;
		addr_to_str(&in->addr, la, sizeof(la));
		if (o->verbose)
			fprintf(stderr, "knocker: the knock names %s "
			    "(--allow-ip)\n", la);
		return;
	}
	if (o->no_address) {
		if (o->verbose)
			fprintf(stderr, "knocker: the knock names no address "
			    "(--no-address)\n");
		return;
	}
	addr_to_str(local, la, sizeof(la));
	addr_to_str(server, sa, sizeof(sa));
	if (client_name_local(server, local)) {
		in->has_addr = true;
		in->addr = *local;
		if (o->verbose)
			fprintf(stderr, "knocker: the knock names this machine's "
			    "address %s (the server's address %s is %s)\n", la,
			    sa, client_scope_name(client_addr_scope(server)));
	} else if (o->verbose) {
		fprintf(stderr, "knocker: the knock names no address: this "
		    "machine's address %s is %s and the server's %s is %s, so "
		    "the server may see another one (NAT); it grants the "
		    "address the knock comes from\n", la,
		    client_scope_name(client_addr_scope(local)), sa,
		    client_scope_name(client_addr_scope(server)));
	}
}

/* A sent format-2 knock: its socket, datagram and receipt keys. */
struct knocker_sent {
	int fd;
	const char *host;           /* which of o->hosts */
	uint8_t dgram[K2_DGRAM_LEN];
};

static void
knocker_sent_clear(struct knocker_sent *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}

/*
 * Format 2: connect (the first of o->hosts that takes a UDP socket),
 * build, seal, save, print or send.  receipt asks for a receipt.  On
 * success st->fd is the connected socket (-1 after a dry run).  Returns
 * 0, or an exit status.
 */
static int
knocker_v2_send(const struct knocker_opts *o, const struct knocker_knock *kk,
    bool receipt, struct knocker_sent *st)
{
	char err[CLIENT_ERR_LEN], sent_to[NI_MAXHOST];
	struct sl_addr server, local;
	struct k2_inner in;
	unsigned i;
	size_t n;
	int rc = SL_ENOENT, status = CLIENT_EXIT_ERROR;

	memset(&in, 0, sizeof(in));
	st->fd = -1;
	st->host = o->hosts[0];
	/* a socket: to send, or to learn which address this machine uses */
	if (!o->dry_run || (o->allow_ip == NULL && !o->no_address)) {
		for (i = 0; i < o->nhosts; i++) {
			st->host = o->hosts[i];
			if ((rc = client_connect(st->host, o->port, false,
			    &st->fd, &server, &local, sent_to, sizeof(sent_to),
			    err, sizeof(err))) == 0)
				break;
			if (i + 1 < o->nhosts && o->verbose)
				fprintf(stderr, "knocker: %s; trying %s\n", err,
				    o->hosts[i + 1]);
		}
		if (rc != 0) {
			knocker_err("%s%s", err, o->dry_run ? " (a dry run needs "
			    "HOST to find the address to name; or give "
			    "--allow-ip or --no-address)" : "");
			goto out;
		}
	}
	if (st->fd >= 0)
		knocker_address(o, &server, &local, &in);
	else
		knocker_address(o, NULL, NULL, &in);

	if ((rc = siglatch_int_knock2(kk->lib, (uint16_t)kk->user_id,
	    (uint8_t)kk->action_id, kk->payload, kk->plen,
	    in.has_addr ? &in.addr : NULL, receipt ? SIGLATCH_F_RECEIPT : 0, 0,
	    st->dgram, sizeof(st->dgram), &n, &in)) != SIGLATCH_OK) {
		knocker_err("cannot build the knock: %s", siglatch_strerror(rc));
		goto out;
	}
	if (knocker_save(o, st->dgram, sizeof(st->dgram)) != 0)
		goto out;
	if (o->dry_run) {
		knocker_print2(o, &in, st->dgram);
		if (o->verbose)
			fprintf(stderr, "knocker: dry run, nothing sent\n");
		status = 0;
		goto out;
	}
	if (send(st->fd, st->dgram, sizeof(st->dgram), 0) !=
	    (ssize_t)sizeof(st->dgram)) {
		knocker_err("cannot send to %s port %u: %s", st->host,
		    (unsigned)o->port, strerror(errno));
		goto out;
	}
	if (o->verbose)
		fprintf(stderr, "knocker: sent a %d-byte format-2 datagram to "
		    "%s port %u (HOST %s)\n", K2_DGRAM_LEN, sent_to,
		    (unsigned)o->port, st->host);
	status = 0;
out:
	if (status != 0)
		knocker_sent_clear(st);
	OPENSSL_cleanse(&in, sizeof(in));
	return status;
}

/* Format 2: send, then wait for the receipt when asked.  Returns the
 * exit status. */
static int
knocker_v2(const struct knocker_opts *o, const struct knocker_knock *kk)
{
	struct knocker_sent st;
	int status;

	if ((status = knocker_v2_send(o, kk, o->wait_s > 0, &st)) != 0)
		return status;
	if (st.fd >= 0 && o->wait_s > 0)
		status = knocker_wait(o, st.fd, st.dgram, kk->lib);
	knocker_sent_clear(&st);
	return status;
}

static void
knocker_knock_clear(struct knocker_knock *kk)
{
	OPENSSL_cleanse(kk->payload, sizeof(kk->payload));
	siglatch_ctx_free(kk->lib);
	kk->lib = NULL;
}

/*
 * Everything a knock needs: the format, the payload, the ids and the
 * keys, from the command line, the profile, and the per-host directory
 * (or the profile's bundle).  Returns 0, or an exit status.
 */
static int
knocker_prepare(const struct knocker_opts *o, struct knocker_knock *kk)
{
	struct knocker_dir d;
	char err[CLIENT_ERR_LEN], pub_path[SL_PATH_MAX], key_path[SL_PATH_MAX];
	uint8_t key[SL_HMAC_KEY_LEN];
	EVP_PKEY *pub = NULL;
	const char *map_host;
	unsigned i;
	int rc, status = CLIENT_EXIT_ERROR;

	memset(kk, 0, sizeof(*kk));
	memset(key, 0, sizeof(key));
	kk->format = 1;
	for (i = 0; i < o->nhosts; i++) {
		if (!client_valid_host(o->hosts[i])) {
			knocker_err("invalid host '%s'", o->hosts[i]);
			return EXIT_USAGE;
		}
	}
	d.path[0] = '\0';
	d.rc = 0;
	if (o->bundle != NULL) {
		/* a bundle under a profile name: its map lines name the host
		 * it was made for, whatever host is knocked */
		map_host = NULL;
		if (sl_strlcpy(d.path, o->bundle, sizeof(d.path)) != 0 ||
		    client_check_dir(d.path, d.err, sizeof(d.err)) != 0) {
			knocker_err("profile %s: bundle %s: %s", o->prof->name,
			    o->bundle, d.err);
			return CLIENT_EXIT_ERROR;
		}
	} else {
		map_host = o->host;
		d.rc = client_host_dir(d.path, sizeof(d.path), o->host, d.err,
		    sizeof(d.err));
	}
	if ((rc = knocker_format(o, &d, &kk->format)) != 0)
		return rc;

	/* the payload */
	if (o->use_stdin) {
		rc = client_read_fd(STDIN_FILENO, kk->payload,
		    sizeof(kk->payload), &kk->plen);
		if (rc == SL_ETOOBIG) {
			knocker_err("payload on standard input is longer than "
			    "%d bytes", SL_PAYLOAD_MAX);
			goto out;
		} else if (rc != 0) {
			knocker_err("reading standard input: %s", strerror(errno));
			goto out;
		}
	} else if (o->payload != NULL) {
		kk->plen = strlen(o->payload);
		if (kk->plen > SL_PAYLOAD_MAX) {
			knocker_err("payload is %zu bytes; the most is %d",
			    kk->plen, SL_PAYLOAD_MAX);
			goto out;
		}
		memcpy(kk->payload, o->payload, kk->plen);
	}

	/* ids, keys */
	if (knocker_resolve(&d, map_host, o->user, "user", "user.map",
	    CLIENT_USER_ID_MAX, &kk->user_id) != 0 ||
	    knocker_resolve(&d, map_host, o->action, "action", "action.map",
	    CLIENT_ACTION_ID_MAX, &kk->action_id) != 0 ||
	    knocker_key_path(key_path, sizeof(key_path), o->hmac_key, &d,
	    "hmac.key") != 0 ||
	    knocker_key_path(pub_path, sizeof(pub_path), o->server_key, &d,
	    "server.pub.pem") != 0)
		goto out;
	if (o->prof != NULL) {
		/* a profile's key: refused, not just warned about */
		if (profile_check_key(key_path, err, sizeof(err)) != 0) {
			knocker_err("profile %s (%s:%u): %s", o->prof->name,
			    o->prof->src, o->prof->line, err);
			goto out;
		}
	} else
		knocker_warn_key_perms(key_path);
	if (crypto_load_hmac_key(key_path, 0, key, err, sizeof(err)) != 0 ||
	    crypto_load_public(pub_path, &pub, err, sizeof(err)) != 0) {
		knocker_err("%s", err);
		goto out;
	}
	rc = siglatch_int_ctx_new(&kk->lib, pub, key);
	pub = NULL;     /* taken */
	if (rc != SIGLATCH_OK) {
		knocker_err("cannot use the keys: %s", siglatch_strerror(rc));
		goto out;
	}
	if (o->verbose) {
		char fp[SIGLATCH_FP_LEN];

		if (siglatch_fingerprint(kk->lib, fp, sizeof(fp)) != 0)
			sl_strlcpy(fp, "(unknown)", sizeof(fp));
		if (o->prof != NULL)
			fprintf(stderr, "knocker: profile %s (%s:%u)\n",
			    o->prof->name, o->prof->src, o->prof->line);
		fprintf(stderr, "knocker: user %u, action %u, %zu payload bytes; "
		    "keys %s and %s; server key %s\n", (unsigned)kk->user_id,
		    (unsigned)kk->action_id, kk->plen, key_path, pub_path, fp);
	}
	status = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_PKEY_free(pub);
	if (status != 0)
		knocker_knock_clear(kk);
	return status;
}

static int
knocker_run(const struct knocker_opts *o)
{
	struct knocker_knock kk;
	int status;

	if ((status = knocker_prepare(o, &kk)) != 0)
		return status;
	status = kk.format == 2 ? knocker_v2(o, &kk) : knocker_v1(o, &kk);
	knocker_knock_clear(&kk);
	return status;
}

/*
 * Read what is waiting on a knock's socket: 1 and *r when it is this
 * knock's receipt, 0 when nothing usable is there, -1 on an error.
 */
static int
knocker_take_receipt(const struct knocker_opts *o, siglatch_ctx *lib,
    const struct knocker_sent *st, struct k2_receipt *r)
{
	uint8_t buf[64];
	ssize_t n;

	for (;;) {
		n = recv(st->fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && knocker_icmp_errno(errno)) {
			if (o->verbose)
				fprintf(stderr, "knocker: the network says: %s\n",
				    strerror(errno));
			continue;
		}
		if (n < 0) {
			knocker_err("waiting for the receipt: %s",
			    strerror(errno));
			return -1;
		}
		if (n <= (ssize_t)sizeof(buf) &&
		    knocker_open_receipt(lib, buf, (size_t)n, r))
			return 1;
	}
}

#define KNOCKER_CONNECT_DEF   30    /* --connect deadline, seconds */
#define KNOCKER_BACKOFF_MAX   8000  /* ms between fresh knocks, at most */
#define KNOCKER_TRY_MS        1000  /* one TCP attempt, at most */
#define KNOCKER_PAUSE_MS      200   /* after a refused TCP attempt */
#define KNOCKER_RECEIPT_MS    1000  /* a receipt first, at most */

/*
 * --connect HOST:PORT: knock, try TCP until it is accepted, a fresh knock
 * after 1, 2, 4, 8, 8 ... s while the deadline allows; a format-2 knock
 * asks for a receipt and is given up to 1 s for it before TCP is tried
 * (a "done" receipt: at once); a receipt that refuses (or says the action
 * failed) ends it at once.  Then relay standard input and output.
 * Returns the exit status.
 */
static int
knocker_connect(const struct knocker_opts *o)
{
	char host[CLIENT_HOST_MAX + 1], err[CLIENT_ERR_LEN], peer[NI_MAXHOST];
	char msg[256];
	struct knocker_knock kk;
	struct knocker_sent st;
	struct k2_receipt r;
	uint64_t start, now, deadline, next_knock, backoff = 1000;
	unsigned knocks = 0, timeout_s, slice, tries = 0;
	uint16_t port;
	int status, fd = -1, rc, last_errno = 0, got;

	memset(&st, 0, sizeof(st));
	st.fd = -1;
	if (client_parse_target(o->connect, host, sizeof(host), &port) != 0) {
		knocker_err("--connect '%s': expected HOST:PORT or [IPV6]:PORT",
		    o->connect);
		return EXIT_USAGE;
	}
	if ((status = knocker_prepare(o, &kk)) != 0)
		return status;
	status = CLIENT_EXIT_ERROR;
	(void)signal(SIGPIPE, SIG_IGN);
	timeout_s = o->timeout_s != 0 ? o->timeout_s : KNOCKER_CONNECT_DEF;
	start = sl_mono_ms();
	deadline = start + (uint64_t)timeout_s * 1000;
	next_knock = start;
	for (;;) {
		now = sl_mono_ms();
		if (now >= deadline)
			break;
		if (now >= next_knock) {
			if (kk.format == 2) {
				knocker_sent_clear(&st);
				rc = knocker_v2_send(o, &kk, true, &st);
			} else
				rc = knocker_v1(o, &kk);
			if (rc != 0) {
				status = rc;
				goto out;
			}
			knocks++;
			next_knock = now + backoff;
			backoff = backoff * 2 > KNOCKER_BACKOFF_MAX ?
			    KNOCKER_BACKOFF_MAX : backoff * 2;
			/* a receipt says when the action has run: give it a
			 * moment before the first TCP attempt of this knock */
			if (st.fd >= 0) {
				struct pollfd rf = { st.fd, POLLIN, 0 };
				uint64_t until = now + KNOCKER_RECEIPT_MS;

				if (until > deadline)
					until = deadline;
				while ((now = sl_mono_ms()) < until &&
				    poll(&rf, 1, (int)(until - now)) < 0 &&
				    errno == EINTR)
					;
			}
		}
		if (st.fd >= 0 && (got = knocker_take_receipt(o, kk.lib, &st,
		    &r)) != 0) {
			if (got < 0)
				goto out;
			rc = client_receipt_outcome(&r, msg, sizeof(msg));
			knocker_clock_note(r.server_time);
			if (rc == CLIENT_EXIT_OK) {
				if (o->verbose)
					fprintf(stderr, "knocker: %s\n", msg);
			} else if (rc == CLIENT_EXIT_BUSY) {
				if (o->verbose)
					fprintf(stderr, "knocker: %s; knocking "
					    "again\n", msg);
			} else {
				knocker_note("%s", msg);
				status = rc;
				goto out;
			}
		}
		now = sl_mono_ms();
		slice = (unsigned)(deadline - now < KNOCKER_TRY_MS ?
		    deadline - now : KNOCKER_TRY_MS);
		if (slice == 0)
			break;
		tries++;
		if (client_tcp_connect(host, port, slice, &fd, peer,
		    sizeof(peer), err, sizeof(err)) == 0)
			break;
		last_errno = errno;
		if (o->verbose && (tries == 1 || errno != ETIMEDOUT))
			fprintf(stderr, "knocker: %s (after %u knock%s)\n", err,
			    knocks, knocks == 1 ? "" : "s");
		if (errno != ETIMEDOUT) {
			/* refused at once: pause, but read a receipt */
			struct pollfd pf = { st.fd, POLLIN, 0 };

			now = sl_mono_ms();
			if (deadline > now)
				(void)poll(&pf, st.fd >= 0 ? 1 : 0,
				    (int)(deadline - now < KNOCKER_PAUSE_MS ?
				    deadline - now : KNOCKER_PAUSE_MS));
		}
	}
	if (fd < 0) {
		knocker_note("%s port %u did not accept a connection within "
		    "%u s (%u knock%s sent%s%s)", host, (unsigned)port,
		    timeout_s, knocks, knocks == 1 ? "" : "s",
		    last_errno != 0 ? "; last: " : "",
		    last_errno != 0 ? strerror(last_errno) : "");
		status = CLIENT_EXIT_NOTOPEN;
		goto out;
	}
	knocker_sent_clear(&st);
	if (o->verbose)
		fprintf(stderr, "knocker: connected to %s port %u after %u "
		    "knock%s, %llu ms; relaying\n", peer, (unsigned)port,
		    knocks, knocks == 1 ? "" : "s",
		    (unsigned long long)(sl_mono_ms() - start));
	if (client_relay(STDIN_FILENO, STDOUT_FILENO, fd, err,
	    sizeof(err)) != 0) {
		knocker_err("%s port %u: %s", host, (unsigned)port, err);
		goto out;
	}
	status = CLIENT_EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	knocker_sent_clear(&st);
	OPENSSL_cleanse(st.dgram, sizeof(st.dgram));
	knocker_knock_clear(&kk);
	return status;
}

/* mkdir -p with mode 0700 for what is made; an existing directory is
 * checked as client_check_dir does. */
static int
knocker_mkdirs(const char *path, char *err, size_t errlen)
{
	char tmp[SL_PATH_MAX], *p, c;

	if (sl_strlcpy(tmp, path, sizeof(tmp)) != 0) {
		sl_seterr(err, errlen, "path too long: %s", path);
		return SL_ETOOBIG;
	}
	for (p = tmp + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
			sl_seterr(err, errlen, "cannot make %s: %s", tmp,
			    strerror(errno));
			return SL_ESYS;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return client_check_dir(path, err, errlen);
}

/* The directory part of path ("." when there is none). */
static void
knocker_dirname(char *out, size_t outlen, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		sl_strlcpy(out, ".", outlen);
	else if (slash == path)
		sl_strlcpy(out, "/", outlen);
	else
		snprintf(out, outlen, "%.*s", (int)(slash - path), path);
}

/* Write p as the drop-in CONFIG.d/NAME.conf, a new file. */
static int
knocker_write_profile(const char *cfgpath, const struct profile *p,
    char *file, size_t filelen)
{
	char dir[SL_PATH_MAX], err[CLIENT_ERR_LEN], text[8 * SL_PATH_MAX];
	char body[8 * SL_PATH_MAX + 256];
	int n;

	if (profile_format(p, text, sizeof(text)) != 0) {
		knocker_err("profile %s: too long to write", p->name);
		return CLIENT_EXIT_ERROR;
	}
	n = snprintf(body, sizeof(body), "# written by knocker %s; see "
	    "docs/knocker.md, \"Profiles\"\n%s", SL_VERSION, text);
	if (n < 0 || (size_t)n >= sizeof(body) ||
	    snprintf(dir, sizeof(dir), "%s.d", cfgpath) >= (int)sizeof(dir) ||
	    snprintf(file, filelen, "%s/%s.conf", dir, p->name) >=
	    (int)filelen) {
		knocker_err("path too long: %s.d/%s.conf", cfgpath, p->name);
		return CLIENT_EXIT_ERROR;
	}
	if (knocker_mkdirs(dir, err, sizeof(err)) != 0 ||
	    client_create_file(file, 0600, body, (size_t)n, err,
	    sizeof(err)) != 0) {
		knocker_err("cannot save profile %s: %s", p->name, err);
		return CLIENT_EXIT_ERROR;
	}
	return 0;
}

/* An absolute form of a path given on the command line. */
static int
knocker_abspath(char *out, size_t outlen, const char *path)
{
	char *r;

	if ((r = realpath(path, NULL)) == NULL) {
		knocker_err("%s: %s", path, strerror(errno));
		return CLIENT_EXIT_ERROR;
	}
	if (sl_strlcpy(out, r, outlen) != 0) {
		free(r);
		knocker_err("path too long: %s", path);
		return CLIENT_EXIT_ERROR;
	}
	free(r);
	return 0;
}

/* The options of o that a profile keeps, into p (name already set). */
static int
knocker_opts_to_profile(const struct knocker_opts *o, struct profile *p)
{
	unsigned i;

	for (i = 0; i < o->nhosts && i < PROFILE_HOSTS_MAX; i++)
		sl_strlcpy(p->hosts[i], o->hosts[i], sizeof(p->hosts[i]));
	p->nhosts = i;
	if (o->port_set || (o->prof != NULL && o->prof->port != 0))
		p->port = o->port;
	if (o->user != NULL)
		sl_strlcpy(p->user, o->user, sizeof(p->user));
	if (o->action != NULL)
		sl_strlcpy(p->action, o->action, sizeof(p->action));
	p->format = o->format;
	if (o->no_address)
		p->addr_mode = PROFILE_ADDR_NONE;
	else if (o->allow_ip != NULL) {
		p->addr_mode = PROFILE_ADDR_IP;
		p->allow_addr = o->allow_addr;
	}
	if (o->server_key != NULL && knocker_abspath(p->server_key,
	    sizeof(p->server_key), o->server_key) != 0)
		return CLIENT_EXIT_ERROR;
	if (o->hmac_key != NULL && knocker_abspath(p->hmac_key,
	    sizeof(p->hmac_key), o->hmac_key) != 0)
		return CLIENT_EXIT_ERROR;
	if (o->bundle != NULL)
		sl_strlcpy(p->bundle, o->bundle, sizeof(p->bundle));
	p->wait_s = o->wait_set || (o->prof != NULL && o->prof->wait_s >= 0) ?
	    (int)o->wait_s : -1;
	p->timeout_s = o->timeout_s;
	return 0;
}

/* --save-profile NAME: the command line as a stanza; then it knocks. */
static int
knocker_save_profile(const struct knocker_opts *o,
    const struct profiles *ps, const char *cfgpath)
{
	const struct profile *old;
	struct profile *p;
	char file[SL_PATH_MAX];
	int rc;

	if ((old = profile_find(ps, o->save_profile)) != NULL) {
		knocker_err("--save-profile: profile %s exists (%s:%u); pick "
		    "another name or edit that file", old->name, old->src,
		    old->line);
		return CLIENT_EXIT_ERROR;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		knocker_err("out of memory");
		return CLIENT_EXIT_ERROR;
	}
	sl_strlcpy(p->name, o->save_profile, sizeof(p->name));
	if ((rc = knocker_opts_to_profile(o, p)) == 0 &&
	    (rc = knocker_write_profile(cfgpath, p, file, sizeof(file))) == 0)
		knocker_note("saved profile %s in %s; knock with: knocker %s",
		    p->name, file, p->name);
	free(p);
	return rc;
}

/* Copy one file of a bundle; absent optional files are skipped. */
static int
knocker_copy(const char *from, const char *to, const char *file, mode_t mode,
    bool optional)
{
	char src[SL_PATH_MAX], dst[SL_PATH_MAX], err[CLIENT_ERR_LEN];
	uint8_t *buf;
	size_t len = 0;
	int rc;

	if (snprintf(src, sizeof(src), "%s/%s", from, file) >=
	    (int)sizeof(src) || snprintf(dst, sizeof(dst), "%s/%s", to,
	    file) >= (int)sizeof(dst)) {
		knocker_err("path too long: %s/%s", from, file);
		return CLIENT_EXIT_ERROR;
	}
	if (optional && access(src, F_OK) != 0 && errno == ENOENT)
		return 0;
	if ((buf = malloc(CLIENT_MAP_MAX)) == NULL) {
		knocker_err("out of memory");
		return CLIENT_EXIT_ERROR;
	}
	rc = client_read_file(src, buf, CLIENT_MAP_MAX, &len, err, sizeof(err));
	if (rc == 0)
		rc = client_create_file(dst, mode, buf, len, err, sizeof(err));
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (rc != 0) {
		knocker_err("--import-bundle: %s", err);
		return CLIENT_EXIT_ERROR;
	}
	return 0;
}

/*
 * --import-bundle DIR --as NAME [HOST [USER [ACTION]]]: copy the bundle
 * to CONFIGDIR/knocker.bundles/NAME/ and write the stanza [NAME].  HOST
 * defaults to the host the bundle's user.map names, USER and ACTION to
 * the only name in user.map / action.map.
 */
static int
knocker_import(struct knocker_opts *o, const struct profiles *ps,
    const char *cfgpath)
{
	char cdir[SL_PATH_MAX], dest[SL_PATH_MAX], path[SL_PATH_MAX];
	char err[CLIENT_ERR_LEN], name[PROFILE_NAME_MAX + 1];
	char host[CLIENT_HOST_MAX + 1], file[SL_PATH_MAX];
	char aname[PROFILE_NAME_MAX + 1], ahost[CLIENT_HOST_MAX + 1];
	uint8_t key[SL_HMAC_KEY_LEN];
	const struct profile *old;
	struct profile *p = NULL;
	EVP_PKEY *pub = NULL;
	unsigned nnames = 0, nactions = 0;
	int rc = CLIENT_EXIT_ERROR;

	if ((old = profile_find(ps, o->import_as)) != NULL) {
		knocker_err("--as %s: profile %s exists (%s:%u)", o->import_as,
		    old->name, old->src, old->line);
		return CLIENT_EXIT_ERROR;
	}
	if (o->npos > 3) {
		knocker_err("--import-bundle DIR --as NAME [HOST [USER "
		    "[ACTION]]]: too many arguments");
		return EXIT_USAGE;
	}
	/* the bundle must hold a usable key pair before anything is made */
	if (snprintf(path, sizeof(path), "%s/hmac.key", o->import_dir) >=
	    (int)sizeof(path) ||
	    crypto_load_hmac_key(path, 0, key, err, sizeof(err)) != 0 ||
	    snprintf(path, sizeof(path), "%s/server.pub.pem",
	    o->import_dir) >= (int)sizeof(path) ||
	    crypto_load_public(path, &pub, err, sizeof(err)) != 0) {
		knocker_err("--import-bundle %s: %s", o->import_dir, err);
		goto out;
	}
	host[0] = name[0] = aname[0] = '\0';
	if (snprintf(path, sizeof(path), "%s/user.map", o->import_dir) <
	    (int)sizeof(path) && access(path, F_OK) == 0 &&
	    client_map_summary(path, name, sizeof(name), host, sizeof(host),
	    &nnames, err, sizeof(err)) != 0) {
		knocker_err("--import-bundle: %s", err);
		goto out;
	}
	if (snprintf(path, sizeof(path), "%s/action.map", o->import_dir) <
	    (int)sizeof(path) && access(path, F_OK) == 0 &&
	    client_map_summary(path, aname, sizeof(aname), ahost,
	    sizeof(ahost), &nactions, err, sizeof(err)) != 0) {
		knocker_err("--import-bundle: %s", err);
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		knocker_err("out of memory");
		goto out;
	}
	sl_strlcpy(p->name, o->import_as, sizeof(p->name));
	o->hosts[0] = o->npos >= 1 ? o->pos[0] : host[0] != '\0' ? host : NULL;
	if (o->hosts[0] == NULL) {
		knocker_err("--import-bundle: %s/user.map names no host; give "
		    "one: knocker --import-bundle %s --as %s HOST",
		    o->import_dir, o->import_dir, o->import_as);
		rc = EXIT_USAGE;
		goto out;
	}
	if (!client_valid_host(o->hosts[0])) {
		knocker_err("invalid host '%s'", o->hosts[0]);
		rc = EXIT_USAGE;
		goto out;
	}
	o->nhosts = 1;
	o->user = o->npos >= 2 ? o->pos[1] : nnames == 1 ? name : NULL;
	if (o->user == NULL) {
		knocker_err("--import-bundle: %s/user.map names %s; give the "
		    "user: knocker --import-bundle %s --as %s HOST USER",
		    o->import_dir, nnames == 0 ? "no user" : "several users",
		    o->import_dir, o->import_as);
		rc = EXIT_USAGE;
		goto out;
	}
	o->action = o->npos >= 3 ? o->pos[2] : nactions == 1 ? aname : NULL;
	o->server_key = o->hmac_key = NULL;
	knocker_dirname(cdir, sizeof(cdir), cfgpath);
	if (snprintf(dest, sizeof(dest), "%s/knocker.bundles/%s", cdir,
	    o->import_as) >= (int)sizeof(dest)) {
		knocker_err("path too long: %s", cdir);
		goto out;
	}
	o->bundle = dest;
	if (knocker_opts_to_profile(o, p) != 0)
		goto out;
	if (snprintf(path, sizeof(path), "%s/knocker.bundles", cdir) >=
	    (int)sizeof(path) || knocker_mkdirs(path, err, sizeof(err)) != 0) {
		knocker_err("--import-bundle: %s", err);
		goto out;
	}
	if (mkdir(dest, 0700) != 0) {
		knocker_err("--import-bundle: cannot make %s: %s", dest,
		    strerror(errno));
		goto out;
	}
	if (knocker_copy(o->import_dir, dest, "hmac.key", 0600, false) != 0 ||
	    knocker_copy(o->import_dir, dest, "server.pub.pem", 0644,
	    false) != 0 ||
	    knocker_copy(o->import_dir, dest, "user.map", 0644, true) != 0 ||
	    knocker_copy(o->import_dir, dest, "action.map", 0644, true) != 0 ||
	    knocker_copy(o->import_dir, dest, "formats", 0644, true) != 0 ||
	    knocker_write_profile(cfgpath, p, file, sizeof(file)) != 0)
		goto out;
	knocker_note("imported %s as profile %s (host %s, user %s%s%s) in %s; "
	    "knock with: knocker %s%s", o->import_dir, p->name, p->hosts[0],
	    p->user, p->action[0] != '\0' ? ", action " : "", p->action, file,
	    p->name, p->action[0] != '\0' ? "" : " ACTION");
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_PKEY_free(pub);
	free(p);
	return rc;
}

/* One key's fingerprint for --list (crypto.h: the one siglatch-keygen
 * and the daemon's SL002 line show), or why there is none. */
static void
knocker_list_key(const char *label, const char *path, bool pub)
{
	char err[CLIENT_ERR_LEN], fp[CRYPTO_FP_LEN];
	uint8_t key[SL_HMAC_KEY_LEN];
	EVP_PKEY *k = NULL;
	int rc;

	if (pub) {
		rc = crypto_load_public(path, &k, err, sizeof(err));
		if (rc == 0 && crypto_fp_pkey(k, fp, sizeof(fp)) != 0)
			rc = SL_ECRYPTO;
		EVP_PKEY_free(k);
	} else {
		rc = profile_check_key(path, err, sizeof(err));
		if (rc == 0)
			rc = crypto_load_hmac_key(path, 0, key, err, sizeof(err));
		if (rc == 0)
			rc = crypto_fp_hmac(key, fp, sizeof(fp));
		OPENSSL_cleanse(key, sizeof(key));
	}
	if (rc == 0)
		printf("  %-11s %s  %s\n", label, fp, path);
	else
		printf("  %-11s (unusable: %s)\n", label, err);
}

/* --list: each profile with its settings and key fingerprints. */
static int
knocker_list(const struct profiles *ps, const char *cfgpath)
{
	char dir[SL_PATH_MAX], path[SL_PATH_MAX], ip[SL_IPSTR_MAX];
	const struct profile *p;
	size_t i;
	unsigned h;

	if (ps->n == 0)
		knocker_note("no profiles in %s or %s.d/", cfgpath, cfgpath);
	for (i = 0; i < ps->n; i++) {
		p = &ps->v[i];
		printf("%s%s  (%s:%u)\n", i > 0 ? "\n" : "", p->name, p->src,
		    p->line);
		printf("  %-11s ", "host");
		for (h = 0; h < p->nhosts; h++)
			printf("%s%s", h > 0 ? ", " : "", p->hosts[h]);
		printf("%s\n", p->nhosts == 0 ? "(none)" : "");
		printf("  %-11s %u\n", "port", p->port != 0 ? p->port :
		    CLIENT_DEFAULT_PORT);
		printf("  %-11s %s\n", "user", p->user[0] != '\0' ? p->user :
		    "(none)");
		printf("  %-11s %s\n", "action", p->action[0] != '\0' ?
		    p->action : "(none: give one)");
		if (p->format != 0)
			printf("  %-11s %d\n", "format", p->format);
		if (p->addr_mode == PROFILE_ADDR_IP) {
			addr_to_str(&p->allow_addr, ip, sizeof(ip));
			printf("  %-11s %s\n", "allow-ip", ip);
		} else if (p->addr_mode == PROFILE_ADDR_NONE)
			printf("  %-11s none\n", "allow-ip");
		if (p->wait_s >= 0)
			printf("  %-11s %d\n", "wait", p->wait_s);
		if (p->timeout_s != 0)
			printf("  %-11s %u\n", "timeout", p->timeout_s);
		if (p->bundle[0] != '\0')
			printf("  %-11s %s\n", "bundle", p->bundle);
		/* the same defaults knocking uses */
		dir[0] = '\0';
		if (p->bundle[0] != '\0')
			sl_strlcpy(dir, p->bundle, sizeof(dir));
		else if (p->nhosts > 0 && client_host_dir(dir, sizeof(dir),
		    p->hosts[0], path, sizeof(path)) != 0)
			dir[0] = '\0';
		if (p->server_key[0] != '\0')
			knocker_list_key("server key", p->server_key, true);
		else if (dir[0] != '\0' && snprintf(path, sizeof(path),
		    "%s/server.pub.pem", dir) < (int)sizeof(path))
			knocker_list_key("server key", path, true);
		if (p->hmac_key[0] != '\0')
			knocker_list_key("hmac key", p->hmac_key, false);
		else if (dir[0] != '\0' && snprintf(path, sizeof(path),
		    "%s/hmac.key", dir) < (int)sizeof(path))
			knocker_list_key("hmac key", path, false);
	}
	return CLIENT_EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct knocker_opts o;
	struct profiles ps = { NULL, 0, 0 };
	char cfgpath[SL_PATH_MAX], err[CLIENT_ERR_LEN];
	bool must_exist;
	int rc;

	if ((rc = knocker_parse(argc, argv, &o)) >= 0)
		return rc;
	if (profile_config_path(cfgpath, sizeof(cfgpath), o.config,
	    &must_exist, err, sizeof(err)) != 0) {
		/* no HOME: no profiles, but HOST USER ACTION with explicit
		 * keys still works, as it did before profiles */
		if (o.list || o.import_dir != NULL || o.save_profile != NULL) {
			knocker_err("%s", err);
			rc = CLIENT_EXIT_ERROR;
			goto out;
		}
		sl_strlcpy(cfgpath, "(no profiles file: HOME is not set)",
		    sizeof(cfgpath));
	} else if (profile_load(&ps, cfgpath, must_exist, err,
	    sizeof(err)) != 0) {
		knocker_err("%s", err);
		rc = CLIENT_EXIT_ERROR;
		goto out;
	}
	if (o.list) {
		rc = knocker_list(&ps, cfgpath);
		goto out;
	}
	if (o.import_dir != NULL) {
		rc = knocker_import(&o, &ps, cfgpath);
		goto out;
	}
	if ((rc = knocker_setup(&o, &ps, cfgpath)) >= 0)
		goto out;
	if (o.save_profile != NULL &&
	    (rc = knocker_save_profile(&o, &ps, cfgpath)) != 0)
		goto out;
	rc = o.connect != NULL ? knocker_connect(&o) : knocker_run(&o);
out:
	if (fflush(stdout) != 0 && rc == CLIENT_EXIT_OK) {
		knocker_err("writing output: %s", strerror(errno));
		rc = CLIENT_EXIT_ERROR;
	}
	profile_free(&ps);
	return rc;
}
