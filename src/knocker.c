/*
 * knocker - send one siglatch knock: format 1, a 256-byte UDP datagram
 * carrying an HMAC-signed KnockPacket encrypted to the server's RSA public
 * key, or format 2, a 559-byte datagram (knock2.h) that may name the
 * address it is for and may ask for a receipt.
 *
 *   knocker [options] HOST USER ACTION [PAYLOAD]
 *
 * Keys, name maps and the formats the server takes default to the
 * per-host directory ~/.config/siglatch/HOST/ (see docs/knocker.md).
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
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

struct knocker_opts {
	const char *host, *user, *action, *payload;
	const char *server_key, *hmac_key, *save, *allow_ip;
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
"\n"
"Send one knock to siglatchd on HOST.  USER and ACTION are names from\n"
"user.map / action.map, or decimal ids (user 0-65535, action 0-255).\n"
"PAYLOAD (at most %d bytes) is sent as given.\n"
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
"  -n, --dry-run         build the knock and print its fields; send nothing\n"
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
	const char *pos[4];
	long long v;
	int c, li, npos = 0;

	memset(o, 0, sizeof(*o));
	o->port = CLIENT_DEFAULT_PORT;
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
			if (client_parse_ip(optarg, &o->allow_addr) != 0) {
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
		if (npos == 4) {
			knocker_err("too many arguments (from '%s'); quote a "
			    "PAYLOAD that has spaces", argv[optind]);
			return EXIT_USAGE;
		}
		pos[npos++] = argv[optind];
	}
	if (o->quiet && o->verbose) {
		knocker_err("give --quiet or --verbose, not both");
		return EXIT_USAGE;
	}
	knocker_quiet = o->quiet;
	if (npos < 3) {
		knocker_err("need HOST USER ACTION [PAYLOAD]; try 'knocker "
		    "--help'");
		return EXIT_USAGE;
	}
	o->host = pos[0];
	o->user = pos[1];
	o->action = pos[2];
	o->payload = npos == 4 ? pos[3] : NULL;
	if (o->payload != NULL && o->use_stdin) {
		knocker_err("give a PAYLOAD argument or --stdin, not both");
		return EXIT_USAGE;
	}
	if (o->allow_ip != NULL && o->no_address) {
		knocker_err("give --allow-ip or --no-address, not both");
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
static int
knocker_wait(const struct knocker_opts *o, int fd,
    const uint8_t dgram[K2_DGRAM_LEN], const uint8_t rk[K2_KEY_LEN],
    const uint8_t mac[K2_MAC_LEN])
{
	uint64_t start = sl_mono_ms(), now, until;
	uint64_t limit = (uint64_t)o->wait_s * 1000, resend = 1000;
	uint8_t buf[64];
	struct k2_receipt r;
	struct pollfd pfd;
	EVP_CIPHER_CTX *c;
	char msg[256];
	unsigned copies = 1;
	int icmp = 0, rc, status = CLIENT_EXIT_ERROR;
	ssize_t n;

	if ((c = k2_aead_new()) == NULL) {
		knocker_err("out of memory");
		return CLIENT_EXIT_ERROR;
	}
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
			if (n != K2_RECEIPT_LEN || k2_receipt_open(c, rk, mac,
			    buf, (size_t)n, &r) != 0) {
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
	k2_aead_free(c);
	return status;
}

/* Format 1: build, seal, save, print or send.  Returns the exit status. */
static int
knocker_v1(const struct knocker_opts *o, EVP_PKEY *pub,
    const uint8_t key[SL_HMAC_KEY_LEN], uint32_t user_id,
    uint32_t action_id, const uint8_t *payload, size_t plen)
{
	char err[CLIENT_ERR_LEN], sent_to[64];
	uint8_t dgram[SL_DGRAM_LEN];
	struct wire_knock k;
	int rc, status = CLIENT_EXIT_ERROR;

	if ((rc = client_build_knock(&k, (uint32_t)time(NULL),
	    (uint16_t)user_id, (uint8_t)action_id, payload, plen, key)) != 0 ||
	    (rc = client_seal_knock(pub, &k, dgram)) != 0) {
		knocker_err("cannot build the knock: %s", sl_strerror(rc));
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
	if (client_send(o->host, o->port, false, dgram, sizeof(dgram), sent_to,
	    sizeof(sent_to), err, sizeof(err)) != 0) {
		knocker_err("%s", err);
		goto out;
	}
	if (o->verbose)
		fprintf(stderr, "knocker: sent a %d-byte format-1 datagram to "
		    "%s port %u (HOST %s)\n", SL_DGRAM_LEN, sent_to,
		    (unsigned)o->port, o->host);
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

/* Format 2: connect, build, seal, save, print or send, wait.  Returns the
 * exit status. */
static int
knocker_v2(const struct knocker_opts *o, EVP_PKEY *pub,
    const uint8_t key[SL_HMAC_KEY_LEN], uint32_t user_id,
    uint32_t action_id, const uint8_t *payload, size_t plen)
{
	char err[CLIENT_ERR_LEN], sent_to[NI_MAXHOST];
	uint8_t dgram[K2_DGRAM_LEN], rk[K2_KEY_LEN], mac[K2_MAC_LEN];
	struct sl_addr server, local;
	struct k2_userkeys uk;
	struct k2_inner in;
	int rc, fd = -1, status = CLIENT_EXIT_ERROR;

	memset(&in, 0, sizeof(in));
	memset(&uk, 0, sizeof(uk));
	memset(rk, 0, sizeof(rk));
	/* a socket: to send, or to learn which address this machine uses */
	if ((!o->dry_run || (o->allow_ip == NULL && !o->no_address)) &&
	    client_connect(o->host, o->port, false, &fd, &server, &local,
	    sent_to, sizeof(sent_to), err, sizeof(err)) != 0) {
		knocker_err("%s%s", err, o->dry_run ? " (a dry run needs HOST "
		    "to find the address to name; or give --allow-ip or "
		    "--no-address)" : "");
		goto out;
	}
	if (fd >= 0)
		knocker_address(o, &server, &local, &in);
	else
		knocker_address(o, NULL, NULL, &in);

	in.flags = o->wait_s > 0 ? K2_F_RECEIPT : 0;
	in.user_id = (uint16_t)user_id;
	in.action_id = (uint8_t)action_id;
	in.timestamp = (uint64_t)time(NULL);
	in.payload_len = (uint16_t)plen;
	memcpy(in.payload, payload, plen);
	if ((rc = crypto_random(in.nonce, sizeof(in.nonce))) != 0 ||
	    (rc = k2_derive_user(key, &uk)) != 0 ||
	    (rc = k2_seal(pub, &uk, &in, NULL, dgram, rk, mac)) != 0) {
		knocker_err("cannot build the knock: %s", sl_strerror(rc));
		goto out;
	}
	if (knocker_save(o, dgram, sizeof(dgram)) != 0)
		goto out;
	if (o->dry_run) {
		knocker_print2(o, &in, dgram);
		if (o->verbose)
			fprintf(stderr, "knocker: dry run, nothing sent\n");
		status = CLIENT_EXIT_OK;
		goto out;
	}
	if (send(fd, dgram, sizeof(dgram), 0) != (ssize_t)sizeof(dgram)) {
		knocker_err("cannot send to %s port %u: %s", o->host,
		    (unsigned)o->port, strerror(errno));
		goto out;
	}
	if (o->verbose)
		fprintf(stderr, "knocker: sent a %d-byte format-2 datagram to "
		    "%s port %u (HOST %s)\n", K2_DGRAM_LEN, sent_to,
		    (unsigned)o->port, o->host);
	status = o->wait_s > 0 ? knocker_wait(o, fd, dgram, rk, mac) :
	    CLIENT_EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	OPENSSL_cleanse(&uk, sizeof(uk));
	OPENSSL_cleanse(&in, sizeof(in));
	OPENSSL_cleanse(rk, sizeof(rk));
	return status;
}

static int
knocker_run(const struct knocker_opts *o)
{
	struct knocker_dir d;
	char err[CLIENT_ERR_LEN], pub_path[SL_PATH_MAX], key_path[SL_PATH_MAX];
	uint8_t key[SL_HMAC_KEY_LEN], payload[SL_PAYLOAD_MAX];
	EVP_PKEY *pub = NULL;
	uint32_t user_id, action_id;
	size_t plen = 0;
	int rc, format = 1, status = CLIENT_EXIT_ERROR;

	memset(key, 0, sizeof(key));
	if (!client_valid_host(o->host)) {
		knocker_err("invalid host '%s'", o->host);
		return EXIT_USAGE;
	}
	d.path[0] = '\0';
	d.rc = client_host_dir(d.path, sizeof(d.path), o->host, d.err,
	    sizeof(d.err));
	if ((rc = knocker_format(o, &d, &format)) != 0)
		return rc;

	/* the payload */
	if (o->use_stdin) {
		rc = client_read_fd(STDIN_FILENO, payload, sizeof(payload), &plen);
		if (rc == SL_ETOOBIG) {
			knocker_err("payload on standard input is longer than "
			    "%d bytes", SL_PAYLOAD_MAX);
			goto out;
		} else if (rc != 0) {
			knocker_err("reading standard input: %s", strerror(errno));
			goto out;
		}
	} else if (o->payload != NULL) {
		plen = strlen(o->payload);
		if (plen > SL_PAYLOAD_MAX) {
			knocker_err("payload is %zu bytes; the most is %d", plen,
			    SL_PAYLOAD_MAX);
			goto out;
		}
		memcpy(payload, o->payload, plen);
	}

	/* ids, keys */
	if (knocker_resolve(&d, o->host, o->user, "user", "user.map",
	    CLIENT_USER_ID_MAX, &user_id) != 0 ||
	    knocker_resolve(&d, o->host, o->action, "action", "action.map",
	    CLIENT_ACTION_ID_MAX, &action_id) != 0 ||
	    knocker_key_path(key_path, sizeof(key_path), o->hmac_key, &d,
	    "hmac.key") != 0 ||
	    knocker_key_path(pub_path, sizeof(pub_path), o->server_key, &d,
	    "server.pub.pem") != 0)
		goto out;
	knocker_warn_key_perms(key_path);
	if (crypto_load_hmac_key(key_path, 0, key, err, sizeof(err)) != 0 ||
	    crypto_load_public(pub_path, &pub, err, sizeof(err)) != 0) {
		knocker_err("%s", err);
		goto out;
	}
	if (o->verbose) {
		char fp[CLIENT_FP_LEN];

		if (client_fingerprint_pub(pub, fp, sizeof(fp)) != 0)
			sl_strlcpy(fp, "(unknown)", sizeof(fp));
		fprintf(stderr, "knocker: user %u, action %u, %zu payload bytes; "
		    "keys %s and %s; server key %s\n", (unsigned)user_id,
		    (unsigned)action_id, plen, key_path, pub_path, fp);
	}

	status = format == 2 ?
	    knocker_v2(o, pub, key, user_id, action_id, payload, plen) :
	    knocker_v1(o, pub, key, user_id, action_id, payload, plen);
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(payload, sizeof(payload));
	EVP_PKEY_free(pub);
	return status;
}

int
main(int argc, char **argv)
{
	struct knocker_opts o;
	int rc;

	if ((rc = knocker_parse(argc, argv, &o)) >= 0)
		return rc;
	rc = knocker_run(&o);
	if (fflush(stdout) != 0 && rc == CLIENT_EXIT_OK) {
		knocker_err("writing output: %s", strerror(errno));
		rc = CLIENT_EXIT_ERROR;
	}
	return rc;
}
