/*
 * siglatch-keygen - make the server key pair, and a user's HMAC key with
 * the bundle of files that user's knocker needs.
 *
 *   siglatch-keygen server [-o DIR]
 *   siglatch-keygen user NAME --id N --server-pub FILE --host HOST
 *                   [--key-dir DIR] [--bundle DIR] [--action NAME=ID]...
 *                   [--formats 1|2|1,2]
 *   siglatch-keygen fingerprint FILE...
 *
 * Files are only ever created (O_EXCL, O_NOFOLLOW), never replaced; if any
 * step fails, the files this run created are removed again.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "client.h"
#include "crypto.h"
#include "sl.h"
#include "util.h"

#define EXIT_USAGE      2
#define KEYGEN_CREATED  8       /* most files and directories one run makes */
#define KEYGEN_PUB_MAX  16384   /* largest server public key file copied */
#define KEYGEN_HEX_LEN  (2 * SL_HMAC_KEY_LEN + 2) /* digits, LF, NUL */

/* What this run created, so that a failure can take it back. */
struct keygen_run {
	char path[KEYGEN_CREATED][SL_PATH_MAX];
	bool isdir[KEYGEN_CREATED];
	unsigned n;
};

struct keygen_action {
	char name[SL_NAME_MAX];
	unsigned id;
};

static void keygen_err(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
keygen_err(const char *fmt, ...)
{
	va_list ap;

	fputs("siglatch-keygen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
keygen_usage(FILE *f)
{
	fprintf(f,
"usage: siglatch-keygen server [-o DIR]\n"
"       siglatch-keygen user NAME --id N --server-pub FILE --host HOST\n"
"                       [--key-dir DIR] [--bundle DIR] [--action NAME=ID]...\n"
"                       [--formats 1|2|1,2]\n"
"       siglatch-keygen fingerprint FILE...\n"
"       siglatch-keygen --help | --version\n"
"\n"
"server  writes DIR/server.priv.pem (RSA-2048, PKCS#8, mode 0600) and\n"
"        DIR/server.pub.pem (mode 0644); DIR defaults to '.'.\n"
"\n"
"user    makes a random HMAC key for user NAME (id N, 0-65535):\n"
"          --key-dir DIR     where the server's copy NAME.hmac.key goes ('.')\n"
"          --bundle DIR      the client bundle to create ('./NAME-bundle')\n"
"          --server-pub FILE the server public key to put in the bundle\n"
"          --host HOST       the name the client will knock (map files)\n"
"          --action NAME=ID  an action the user may run (repeatable)\n"
"          --formats LIST    the knock formats the server takes, written to\n"
"                            the bundle's file formats (default 1,2); knocker\n"
"                            sends format 2 when the list has it\n"
"        then prints the [user:NAME] section for the server config.\n"
"        Copy the bundle's files to ~/.config/siglatch/HOST/ on the client.\n"
"\n"
"fingerprint  prints a short fingerprint of each key file, to compare a\n"
"        client's copy with the server's without showing the key:\n"
"        SHA256:... of the public key (from server.pub.pem or\n"
"        server.priv.pem alike), HMAC-SHA256:... of an HMAC key file\n"
"        (a hash under a label of its own: it reveals nothing of the key).\n"
"        siglatchd logs the same for the keys it loads (SL002).\n"
"\n"
"Existing files are never overwritten, and directories writable by others\n"
"are refused.\n");
}

static int
keygen_path(char *out, size_t outlen, const char *dir, const char *file)
{
	int n = snprintf(out, outlen, "%s/%s", dir, file);

	if (n < 0 || (size_t)n >= outlen) {
		keygen_err("path too long: %s/%s", dir, file);
		return SL_ETOOBIG;
	}
	return 0;
}

/* Create dir/file with exactly mode and record it. */
static int
keygen_file(struct keygen_run *r, const char *dir, const char *file,
    mode_t mode, const void *data, size_t len)
{
	char path[SL_PATH_MAX], err[CLIENT_ERR_LEN];
	int rc;

	if (r->n == KEYGEN_CREATED)
		return SL_EFULL;
	if ((rc = keygen_path(path, sizeof(path), dir, file)) != 0)
		return rc;
	if ((rc = client_create_file(path, mode, data, len, err,
	    sizeof(err))) != 0) {
		keygen_err("%s", err);
		return rc;
	}
	memcpy(r->path[r->n], path, sizeof(path));
	r->isdir[r->n++] = false;
	fprintf(stderr, "siglatch-keygen: wrote %s (mode %04o)\n", path,
	    (unsigned)mode);
	return 0;
}

static int
keygen_mkdir(struct keygen_run *r, const char *dir)
{
	if (r->n == KEYGEN_CREATED || sl_strlcpy(r->path[r->n], dir,
	    sizeof(r->path[0])) != 0) {
		keygen_err("path too long: %s", dir);
		return SL_ETOOBIG;
	}
	if (mkdir(dir, 0700) != 0) {
		if (errno == EEXIST)
			keygen_err("%s: already exists; refusing to reuse it",
			    dir);
		else
			keygen_err("%s: %s", dir, strerror(errno));
		return SL_ESYS;
	}
	r->isdir[r->n++] = true;
	return 0;
}

/* Remove what this run created, newest first. */
static void
keygen_rollback(struct keygen_run *r)
{
	while (r->n > 0) {
		r->n--;
		if (r->isdir[r->n])
			rmdir(r->path[r->n]);
		else
			unlink(r->path[r->n]);
		fprintf(stderr, "siglatch-keygen: removed %s\n", r->path[r->n]);
	}
}

/* The parent directory of path, for the "writable by others" check. */
static int
keygen_parent(char *out, size_t outlen, const char *path)
{
	const char *slash;
	size_t n;

	if (sl_strlcpy(out, path, outlen) != 0)
		return SL_ETOOBIG;
	n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	if ((slash = strrchr(out, '/')) == NULL)
		return sl_strlcpy(out, ".", outlen);
	out[slash == out ? 1 : (size_t)(slash - out)] = '\0';
	return 0;
}

static int
keygen_check_dir(const char *dir)
{
	char err[CLIENT_ERR_LEN];
	int rc;

	if ((rc = client_check_dir(dir, err, sizeof(err))) != 0)
		keygen_err("%s", err);
	return rc;
}

/* PEM-encode pkey; *out is freed by the caller with OPENSSL_clear_free. */
static int
keygen_encode(EVP_PKEY *pkey, int selection, const char *structure,
    unsigned char **out, size_t *outlen)
{
	OSSL_ENCODER_CTX *ctx;
	int ok;

	*out = NULL;
	*outlen = 0;
	ctx = OSSL_ENCODER_CTX_new_for_pkey(pkey, selection, "PEM", structure,
	    NULL);
	ok = ctx != NULL && OSSL_ENCODER_CTX_get_num_encoders(ctx) > 0 &&
	    OSSL_ENCODER_to_data(ctx, out, outlen) == 1;
	OSSL_ENCODER_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : SL_ECRYPTO;
}

/* "server" options: -1 to go on (*dir set), else an exit status. */
static int
keygen_server_parse(int argc, char **argv, const char **dir)
{
	static const struct option opts[] = {
		{ "output-dir", required_argument, NULL, 'o' },
		{ "help",       no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	*dir = ".";
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			*dir = optarg;
			break;
		case 'h':
			keygen_usage(stdout);
			return EXIT_SUCCESS;
		default:
			fputs("Try 'siglatch-keygen --help'.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		keygen_err("server: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	return -1;
}

/*
 * A fresh RSA-2048 pair written to dir (priv_path, pub_path), then read
 * back the way siglatchd and knocker will.  Returns 0, or -1 (said).
 */
static int
keygen_server_pair(struct keygen_run *run, const char *dir,
    const char *priv_path, const char *pub_path)
{
	char err[CLIENT_ERR_LEN];
	unsigned char *priv = NULL, *pub = NULL;
	size_t priv_len = 0, pub_len = 0;
	EVP_PKEY *pkey = NULL, *check = NULL;
	int rc = -1;

	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) == NULL ||
	    keygen_encode(pkey, OSSL_KEYMGMT_SELECT_KEYPAIR, "PrivateKeyInfo",
	    &priv, &priv_len) != 0 ||
	    keygen_encode(pkey, OSSL_KEYMGMT_SELECT_PUBLIC_KEY,
	    "SubjectPublicKeyInfo", &pub, &pub_len) != 0) {
		ERR_clear_error();
		keygen_err("RSA-2048 key generation failed");
		goto out;
	}
	if (keygen_file(run, dir, "server.priv.pem", 0600, priv,
	    priv_len) != 0 ||
	    keygen_file(run, dir, "server.pub.pem", 0644, pub, pub_len) != 0)
		goto out;
	if (crypto_load_private(priv_path, 1, &check, err, sizeof(err)) != 0) {
		keygen_err("%s", err);
		goto out;
	}
	EVP_PKEY_free(check);
	check = NULL;
	if (crypto_load_public(pub_path, &check, err, sizeof(err)) != 0) {
		keygen_err("%s", err);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_clear_free(priv, priv_len);
	OPENSSL_free(pub);
	EVP_PKEY_free(check);
	EVP_PKEY_free(pkey);
	return rc;
}

static int
keygen_server(int argc, char **argv)
{
	struct keygen_run run = { .n = 0 };
	char priv_path[SL_PATH_MAX], pub_path[SL_PATH_MAX];
	const char *dir;
	int rc;

	if ((rc = keygen_server_parse(argc, argv, &dir)) >= 0)
		return rc;
	if (keygen_check_dir(dir) != 0 ||
	    keygen_path(priv_path, sizeof(priv_path), dir,
	    "server.priv.pem") != 0 ||
	    keygen_path(pub_path, sizeof(pub_path), dir, "server.pub.pem") != 0)
		return EXIT_FAILURE;
	if (keygen_server_pair(&run, dir, priv_path, pub_path) != 0) {
		keygen_rollback(&run);
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

/* "NAME=ID": a valid name, an id 0..255, neither given twice. */
static int
keygen_parse_action(const char *arg, struct keygen_action *acts,
    unsigned *nacts)
{
	const char *eq = strchr(arg, '=');
	struct keygen_action a;
	long long v;
	unsigned i;

	if (eq == NULL || (size_t)(eq - arg) >= sizeof(a.name)) {
		keygen_err("--action '%s': expected NAME=ID", arg);
		return SL_EINVAL;
	}
	memcpy(a.name, arg, (size_t)(eq - arg));
	a.name[eq - arg] = '\0';
	if (!client_valid_name(a.name)) {
		keygen_err("--action '%s': bad name (use A-Z a-z 0-9 _ . -, "
		    "at most %d, not starting with a digit or '-')", arg,
		    SL_NAME_MAX - 1);
		return SL_EINVAL;
	}
	if (sl_parse_num(eq + 1, 0, CLIENT_ACTION_ID_MAX, &v) != 0) {
		keygen_err("--action '%s': id is not a number in 0..%d", arg,
		    CLIENT_ACTION_ID_MAX);
		return SL_EINVAL;
	}
	a.id = (unsigned)v;
	for (i = 0; i < *nacts; i++) {
		if (strcmp(acts[i].name, a.name) == 0 || acts[i].id == a.id) {
			keygen_err("--action '%s': name or id given twice", arg);
			return SL_EINVAL;
		}
	}
	if (*nacts == SL_MAX_ACTIONS) {
		keygen_err("too many --action options");
		return SL_EFULL;
	}
	acts[(*nacts)++] = a;
	return 0;
}

/* Write the bundle's user.map and action.map. */
static int
keygen_maps(struct keygen_run *r, const char *bundle, const char *name,
    const char *host, unsigned id, const struct keygen_action *acts,
    unsigned nacts)
{
	size_t cap = (size_t)nacts * (SL_NAME_MAX + CLIENT_HOST_MAX + 16) + 1;
	size_t len = 0;
	char line[SL_NAME_MAX + CLIENT_HOST_MAX + 16], *buf;
	unsigned i;
	int n, rc;

	n = snprintf(line, sizeof(line), "%s,%s,%u\n", name, host, id);
	if ((rc = keygen_file(r, bundle, "user.map", 0644, line,
	    (size_t)n)) != 0)
		return rc;
	if ((buf = malloc(cap)) == NULL) {
		keygen_err("out of memory");
		return SL_ESYS;
	}
	for (i = 0; i < nacts; i++) {
		n = snprintf(buf + len, cap - len, "%s,%s,%u\n", acts[i].name,
		    host, acts[i].id);
		len += (size_t)n;
	}
	rc = keygen_file(r, bundle, "action.map", 0644, buf, len);
	free(buf);
	return rc;
}

/* "1,2", "1" or "2": the formats file's line, without the newline. */
static void
keygen_formats_text(uint32_t formats, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s%s", (formats & CLIENT_FMT(1)) ? "1" : "",
	    (formats & CLIENT_FMT(1)) && (formats & CLIENT_FMT(2)) ? "," : "",
	    (formats & CLIENT_FMT(2)) ? "2" : "");
}

static void
keygen_stanza(const char *name, unsigned id, const char *keypath,
    const struct keygen_action *acts, unsigned nacts, uint32_t formats)
{
	char list[8];
	unsigned i;

	keygen_formats_text(formats, list, sizeof(list));
	if (formats & CLIENT_FMT(2))
		printf("# %s's knocker sends format 2 (bundle file formats = %s):"
		    "\n# the [server:...] sections it knocks need format2 = yes "
		    "(the default),\n# and receipt = yes there to answer "
		    "knocker --wait\n", name, list);
	else
		printf("# %s's knocker sends format 1 (bundle file formats = %s):"
		    "\n# the [server:...] sections it knocks need format1 = yes "
		    "(the default)\n", name, list);

	printf("[user:%s]\nid = %u\nenabled = yes\nhmac_file = %s\n", name, id,
	    keypath);
	if (nacts == 0) {
		printf("# actions = (no --action given: list the actions %s may "
		    "run)\n", name);
		return;
	}
	printf("actions = ");
	for (i = 0; i < nacts; i++)
		printf("%s%s", i > 0 ? "," : "", acts[i].name);
	printf("\n");
}

/* The bundle's formats file: one line, "1,2" by default. */
static int
keygen_formats_file(struct keygen_run *r, const char *bundle,
    uint32_t formats)
{
	char list[8], line[10];
	int n;

	keygen_formats_text(formats, list, sizeof(list));
	n = snprintf(line, sizeof(line), "%s\n", list);
	return keygen_file(r, bundle, "formats", 0644, line, (size_t)n);
}

struct keygen_user_opts {
	const char *name, *server_pub, *host, *key_dir, *bundle;
	long long id;
	bool have_id;
	uint32_t formats;           /* CLIENT_FMT() bits: 1, 2 or both */
	struct keygen_action acts[SL_MAX_ACTIONS];
	unsigned nacts;
};

enum { KO_ID = 256, KO_PUB, KO_HOST, KO_KEYDIR, KO_BUNDLE, KO_ACTION,
    KO_FORMATS };

/* One "user" option: -1 to go on, else an exit status. */
static int
keygen_user_opt(struct keygen_user_opts *u, int c, const char *arg)
{
	switch (c) {
	case KO_ID:
		if (sl_parse_num(arg, 0, CLIENT_USER_ID_MAX, &u->id) != 0) {
			keygen_err("--id '%s' is not a number in 0..%d", arg,
			    CLIENT_USER_ID_MAX);
			return EXIT_USAGE;
		}
		u->have_id = true;
		return -1;
	case KO_PUB:
		u->server_pub = arg;
		return -1;
	case KO_HOST:
		u->host = arg;
		return -1;
	case KO_KEYDIR:
		u->key_dir = arg;
		return -1;
	case KO_BUNDLE:
		u->bundle = arg;
		return -1;
	case KO_ACTION:
		return keygen_parse_action(arg, u->acts, &u->nacts) != 0 ?
		    EXIT_USAGE : -1;
	case KO_FORMATS:
		if (client_parse_formats(arg, &u->formats) != 0 ||
		    (u->formats & ~(CLIENT_FMT(1) | CLIENT_FMT(2))) != 0) {
			keygen_err("--formats '%s': expected 1, 2 or 1,2", arg);
			return EXIT_USAGE;
		}
		return -1;
	case 'h':
		keygen_usage(stdout);
		return EXIT_SUCCESS;
	default:
		fputs("Try 'siglatch-keygen --help'.\n", stderr);
		return EXIT_USAGE;
	}
}

/* "user" after the options: NAME, and what is required of them. */
static int
keygen_user_check(int argc, char **argv, struct keygen_user_opts *u)
{
	if (optind >= argc) {
		keygen_err("user: NAME is missing");
		return EXIT_USAGE;
	}
	u->name = argv[optind++];
	if (optind != argc) {
		keygen_err("user: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (!client_valid_name(u->name)) {
		keygen_err("bad user name '%s' (use A-Z a-z 0-9 _ . -, at most "
		    "%d, not starting with a digit or '-', which knocker "
		    "would take for an id or an option)", u->name,
		    SL_NAME_MAX - 1);
		return EXIT_USAGE;
	}
	if (!u->have_id || u->server_pub == NULL || u->host == NULL) {
		keygen_err("user: --id, --server-pub and --host are required");
		return EXIT_USAGE;
	}
	if (!client_valid_host(u->host)) {
		keygen_err("bad --host '%s'", u->host);
		return EXIT_USAGE;
	}
	return -1;
}

/* Parse "user" arguments; returns -1 to go on, else an exit status. */
static int
keygen_user_parse(int argc, char **argv, struct keygen_user_opts *u)
{
	static const struct option opts[] = {
		{ "id",         required_argument, NULL, KO_ID },
		{ "server-pub", required_argument, NULL, KO_PUB },
		{ "host",       required_argument, NULL, KO_HOST },
		{ "key-dir",    required_argument, NULL, KO_KEYDIR },
		{ "bundle",     required_argument, NULL, KO_BUNDLE },
		{ "action",     required_argument, NULL, KO_ACTION },
		{ "formats",    required_argument, NULL, KO_FORMATS },
		{ "help",       no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c, rc;

	memset(u, 0, sizeof(*u));
	u->key_dir = ".";
	u->formats = CLIENT_FMT(1) | CLIENT_FMT(2);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if ((rc = keygen_user_opt(u, c, optarg)) >= 0)
			return rc;
	}
	return keygen_user_check(argc, argv, u);
}

/* One "user" run: its options, paths, the server's public key, the new
 * key; cleansed and freed as one. */
struct keygen_user_job {
	struct keygen_user_opts u;
	char bundle[SL_PATH_MAX], parent[SL_PATH_MAX];
	char keyfile[SL_PATH_MAX];  /* NAME.hmac.key */
	char keypath[SL_PATH_MAX];  /* its absolute path, for hmac_file */
	uint8_t pub[KEYGEN_PUB_MAX];
	size_t publen;
	char hex[KEYGEN_HEX_LEN];
	uint8_t key[SL_HMAC_KEY_LEN], check[SL_HMAC_KEY_LEN];
};

/*
 * Everything that can be checked before anything is written: the paths,
 * the server's public key (loaded and read), the directories.  Returns 0,
 * or -1 (said).
 */
static int
keygen_user_prepare(struct keygen_user_job *j)
{
	const struct keygen_user_opts *u = &j->u;
	char absdir[PATH_MAX], err[CLIENT_ERR_LEN];
	EVP_PKEY *pub = NULL;
	int n, rc;

	n = u->bundle != NULL ?
	    snprintf(j->bundle, sizeof(j->bundle), "%s", u->bundle) :
	    snprintf(j->bundle, sizeof(j->bundle), "./%s-bundle", u->name);
	if (n < 0 || (size_t)n >= sizeof(j->bundle) ||
	    snprintf(j->keyfile, sizeof(j->keyfile), "%s.hmac.key",
	    u->name) >= (int)sizeof(j->keyfile) || keygen_parent(j->parent,
	    sizeof(j->parent), j->bundle) != 0) {
		keygen_err("path too long");
		return -1;
	}
	rc = crypto_load_public(u->server_pub, &pub, err, sizeof(err));
	EVP_PKEY_free(pub);
	if (rc != 0 || client_read_file(u->server_pub, j->pub,
	    sizeof(j->pub), &j->publen, err, sizeof(err)) != 0) {
		keygen_err("%s", err);
		return -1;
	}
	if (keygen_check_dir(u->key_dir) != 0 ||
	    keygen_check_dir(j->parent) != 0)
		return -1;
	if (realpath(u->key_dir, absdir) == NULL) {
		keygen_err("%s: %s", u->key_dir, strerror(errno));
		return -1;
	}
	return keygen_path(j->keypath, sizeof(j->keypath),
	    strcmp(absdir, "/") == 0 ? "" : absdir, j->keyfile) != 0 ? -1 : 0;
}

/*
 * The key (random, never all zero: crypto_parse_hmac_key refuses it),
 * the server's copy and the bundle, then the server's copy read back the
 * way siglatchd will.  Returns 0, or -1 (said).
 */
static int
keygen_user_write(struct keygen_run *run, struct keygen_user_job *j)
{
	const struct keygen_user_opts *u = &j->u;
	char err[CLIENT_ERR_LEN];

	do {
		if (crypto_random(j->key, sizeof(j->key)) != 0) {
			keygen_err("no random bytes");
			return -1;
		}
	} while (crypto_parse_hmac_key(j->key, sizeof(j->key), j->check) != 0);
	client_hex(j->hex, sizeof(j->hex), j->key, sizeof(j->key));
	j->hex[2 * SL_HMAC_KEY_LEN] = '\n';

	if (keygen_file(run, u->key_dir, j->keyfile, 0600, j->hex,
	    2 * SL_HMAC_KEY_LEN + 1) != 0 ||
	    keygen_mkdir(run, j->bundle) != 0 ||
	    keygen_file(run, j->bundle, "server.pub.pem", 0644, j->pub,
	    j->publen) != 0 ||
	    keygen_file(run, j->bundle, "hmac.key", 0600, j->hex,
	    2 * SL_HMAC_KEY_LEN + 1) != 0 ||
	    keygen_maps(run, j->bundle, u->name, u->host, (unsigned)u->id,
	    u->acts, u->nacts) != 0 ||
	    keygen_formats_file(run, j->bundle, u->formats) != 0)
		return -1;
	if (crypto_load_hmac_key(j->keypath, 1, j->check, err,
	    sizeof(err)) != 0 ||
	    CRYPTO_memcmp(j->check, j->key, sizeof(j->key)) != 0) {
		keygen_err("reading back %s failed: %s", j->keypath, err);
		return -1;
	}
	return 0;
}

static int
keygen_user(int argc, char **argv)
{
	struct keygen_user_job *j;
	struct keygen_user_opts *u;
	struct keygen_run run = { .n = 0 };
	int rc, status = EXIT_FAILURE;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		keygen_err("out of memory");
		return EXIT_FAILURE;
	}
	u = &j->u;
	if ((rc = keygen_user_parse(argc, argv, u)) >= 0) {
		status = rc;
		goto out;
	}
	if (keygen_user_prepare(j) != 0)
		goto out;
	if (keygen_user_write(&run, j) != 0) {
		keygen_rollback(&run);
		goto out;
	}
	/* the section goes to standard output: say so when that is a file */
	fprintf(stderr, "siglatch-keygen: copy the files in %s to "
	    "~/.config/siglatch/%s/ on the client; %s the server config%s\n",
	    j->bundle, u->host, isatty(STDOUT_FILENO) ? "add this to" :
	    "the [user:...] section for", isatty(STDOUT_FILENO) ? ":" :
	    " is on standard output");
	keygen_stanza(u->name, (unsigned)u->id, j->keypath, u->acts, u->nacts,
	    u->formats);
	status = EXIT_SUCCESS;
out:
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
	return status;
}

static int
keygen_fingerprint(int argc, char **argv)
{
	char fp[CRYPTO_FP_LEN], err[SL_PATH_MAX + 128];
	int i, status = EXIT_SUCCESS;

	if (argc < 2) {
		keygen_err("fingerprint: FILE is missing");
		return EXIT_USAGE;
	}
	for (i = 1; i < argc; i++) {
		if (crypto_fp_file(argv[i], fp, sizeof(fp), err,
		    sizeof(err)) != 0) {
			keygen_err("%s", err);
			status = EXIT_FAILURE;
			continue;
		}
		if (argc > 2)
			printf("%s  %s\n", fp, argv[i]);
		else
			printf("%s\n", fp);
	}
	return status;
}

int
main(int argc, char **argv)
{
	int rc;

	umask(077);
	if (argc < 2) {
		keygen_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		keygen_usage(stdout);
		return EXIT_SUCCESS;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("siglatch-keygen (siglatch) %s\n", SL_VERSION);
		return EXIT_SUCCESS;
	}
	if (strcmp(argv[1], "server") == 0)
		rc = keygen_server(argc - 1, argv + 1);
	else if (strcmp(argv[1], "user") == 0)
		rc = keygen_user(argc - 1, argv + 1);
	else if (strcmp(argv[1], "fingerprint") == 0)
		rc = keygen_fingerprint(argc - 1, argv + 1);
	else {
		keygen_err("unknown command '%s'; try 'siglatch-keygen --help'",
		    argv[1]);
		return EXIT_USAGE;
	}
	if (fflush(stdout) != 0 && rc == EXIT_SUCCESS) {
		keygen_err("writing output: %s", strerror(errno));
		rc = EXIT_FAILURE;
	}
	return rc;
}
