/*
 * knocker - send one siglatch knock: a 256-byte UDP datagram carrying an
 * HMAC-signed KnockPacket encrypted to the server's RSA public key.
 *
 *   knocker [options] HOST USER ACTION [PAYLOAD]
 *
 * Keys and name maps default to the per-host directory
 * ~/.config/siglatch/HOST/ (see docs/knocker.md).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "client.h"
#include "crypto.h"
#include "sl.h"
#include "util.h"
#include "wire.h"

#define EXIT_USAGE 2

/* The per-host directory, or why there is none. */
struct knocker_dir {
	int rc;
	char path[SL_PATH_MAX];
	char err[CLIENT_ERR_LEN];
};

struct knocker_opts {
	const char *host, *user, *action, *payload;
	const char *server_key, *hmac_key;
	uint16_t port;
	bool use_stdin, dry_run, verbose;
};

enum {
	OPT_SERVER_KEY = 256,
	OPT_HMAC_KEY,
	OPT_STDIN,
	OPT_VERSION,
	OPT_IGNORED,    /* siglatch 1.0 options that no longer do anything */
	OPT_UNSAFE,     /* siglatch 1.0 options for unauthenticated knocks */
};

static const struct option knocker_longopts[] = {
	{ "port",        required_argument, NULL, 'p' },
	{ "server-key",  required_argument, NULL, OPT_SERVER_KEY },
	{ "hmac-key",    required_argument, NULL, OPT_HMAC_KEY },
	{ "stdin",       no_argument,       NULL, OPT_STDIN },
	{ "dry-run",     no_argument,       NULL, 'n' },
	{ "verbose",     optional_argument, NULL, 'v' },
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

static void knocker_err(const char *fmt, ...)
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
"  -n, --dry-run         build the knock and print its fields; send nothing\n"
"  -v, --verbose         say what is done, on standard error\n"
"  -h, --help            this text\n"
"      --version         print the version\n"
"\n"
"DIR is $XDG_CONFIG_HOME/siglatch/HOST or ~/.config/siglatch/HOST; it also\n"
"holds user.map and action.map (name,host,id lines).\n",
	    SL_PAYLOAD_MAX, CLIENT_DEFAULT_PORT);
}

/* Parse the command line; returns -1 to go on, else an exit status. */
static int
knocker_parse(int argc, char **argv, struct knocker_opts *o)
{
	const char *pos[4];
	int c, li, npos = 0;

	memset(o, 0, sizeof(*o));
	o->port = CLIENT_DEFAULT_PORT;
	for (;;) {
		li = -1;
		if ((c = getopt_long(argc, argv, "p:nvh", knocker_longopts,
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
		case 'h':
			knocker_usage(stdout);
			return EXIT_SUCCESS;
		case OPT_VERSION:
			printf("knocker (siglatch) %s\n", SL_VERSION);
			return EXIT_SUCCESS;
		case OPT_IGNORED:
			fprintf(stderr, "knocker: note: --%s is a siglatch 1.0 "
			    "option and is ignored\n", knocker_longopts[li].name);
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
		fprintf(stderr, "knocker: warning: %s is readable or writable "
		    "by group or others; fix with: chmod 600 %s\n", path, path);
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

static int
knocker_run(const struct knocker_opts *o)
{
	struct knocker_dir d;
	char err[CLIENT_ERR_LEN], pub_path[SL_PATH_MAX], key_path[SL_PATH_MAX];
	char sent_to[64];
	uint8_t key[SL_HMAC_KEY_LEN], payload[SL_PAYLOAD_MAX];
	uint8_t dgram[SL_DGRAM_LEN];
	struct wire_knock k;
	EVP_PKEY *pub = NULL;
	uint32_t user_id, action_id;
	size_t plen = 0;
	int rc, status = EXIT_FAILURE;

	memset(&k, 0, sizeof(k));
	memset(key, 0, sizeof(key));
	if (!client_valid_host(o->host)) {
		knocker_err("invalid host '%s'", o->host);
		return EXIT_USAGE;
	}
	d.path[0] = '\0';
	d.rc = client_host_dir(d.path, sizeof(d.path), o->host, d.err,
	    sizeof(d.err));

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
	if (o->verbose)
		fprintf(stderr, "knocker: user %u, action %u, %zu payload bytes; "
		    "keys %s and %s\n", (unsigned)user_id, (unsigned)action_id,
		    plen, key_path, pub_path);

	/* build, seal, send */
	if ((rc = client_build_knock(&k, (uint32_t)time(NULL),
	    (uint16_t)user_id, (uint8_t)action_id, payload, plen, key)) != 0 ||
	    (rc = client_seal_knock(pub, &k, dgram)) != 0) {
		knocker_err("cannot build the knock: %s", sl_strerror(rc));
		goto out;
	}
	if (o->dry_run) {
		knocker_print(o, &k);
		if (o->verbose)
			fprintf(stderr, "knocker: dry run, nothing sent\n");
		status = EXIT_SUCCESS;
		goto out;
	}
	if (client_send(o->host, o->port, false, dgram, sizeof(dgram), sent_to,
	    sizeof(sent_to), err, sizeof(err)) != 0) {
		knocker_err("%s", err);
		goto out;
	}
	if (o->verbose)
		fprintf(stderr, "knocker: sent %d bytes to %s port %u\n",
		    SL_DGRAM_LEN, sent_to, (unsigned)o->port);
	status = EXIT_SUCCESS;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(&k, sizeof(k));
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
	if (fflush(stdout) != 0 && rc == EXIT_SUCCESS) {
		knocker_err("writing output: %s", strerror(errno));
		rc = EXIT_FAILURE;
	}
	return rc;
}
