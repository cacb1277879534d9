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
 *
 * This file owns main, the messages (knocker_err, knocker_note) and the
 * run sequence: read the profiles, then list, import, or prepare a knock
 * (format, payload, ids, keys) and send it.  knocker.h names the other
 * files and what each owns.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "client.h"
#include "crypto.h"
#include "knocker.h"
#include "profile.h"
#include "sl.h"
#include "util.h"

/* The per-host directory, or why there is none. */
struct knocker_dir {
	int rc;
	char path[SL_PATH_MAX];
	char err[CLIENT_ERR_LEN];
};

/* --quiet: notes, warnings and receipt lines are not printed */
bool knocker_quiet;

void
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
void
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

void
knocker_knock_clear(struct knocker_knock *kk)
{
	OPENSSL_cleanse(kk->payload, sizeof(kk->payload));
	siglatch_ctx_free(kk->lib);
	kk->lib = NULL;
}

/*
 * The directory the knock's files come from: the profile's bundle, else
 * the per-host directory (d->rc and d->err say why there is none).
 * *map_host: the host the map files are read for, NULL for a bundle.
 * Returns 0, or an exit status.
 */
static int
knocker_open_dir(const struct knocker_opts *o, struct knocker_dir *d,
    const char **map_host)
{
	d->path[0] = '\0';
	d->rc = 0;
	if (o->bundle != NULL) {
		/* a bundle under a profile name: its map lines name the host
		 * it was made for, whatever host is knocked */
		*map_host = NULL;
		if (sl_strlcpy(d->path, o->bundle, sizeof(d->path)) != 0 ||
		    client_check_dir(d->path, d->err, sizeof(d->err)) != 0) {
			knocker_err("profile %s: bundle %s: %s", o->prof->name,
			    o->bundle, d->err);
			return CLIENT_EXIT_ERROR;
		}
	} else {
		*map_host = o->host;
		d->rc = client_host_dir(d->path, sizeof(d->path), o->host,
		    d->err, sizeof(d->err));
	}
	return 0;
}

/* The payload: PAYLOAD, standard input, or none.  Returns 0, or -1. */
static int
knocker_payload(const struct knocker_opts *o, struct knocker_knock *kk)
{
	int rc;

	if (o->use_stdin) {
		rc = client_read_fd(STDIN_FILENO, kk->payload,
		    sizeof(kk->payload), &kk->plen);
		if (rc == SL_ETOOBIG) {
			knocker_err("payload on standard input is longer than "
			    "%d bytes", SL_PAYLOAD_MAX);
			return -1;
		} else if (rc != 0) {
			knocker_err("reading standard input: %s", strerror(errno));
			return -1;
		}
	} else if (o->payload != NULL) {
		kk->plen = strlen(o->payload);
		if (kk->plen > SL_PAYLOAD_MAX) {
			knocker_err("payload is %zu bytes; the most is %d",
			    kk->plen, SL_PAYLOAD_MAX);
			return -1;
		}
		memcpy(kk->payload, o->payload, kk->plen);
	}
	return 0;
}

/*
 * The keys at key_path and pub_path into kk->lib; a profile's HMAC key
 * must not be readable by others.  Returns 0, or -1 (said).
 */
static int
knocker_keys(const struct knocker_opts *o, const char *key_path,
    const char *pub_path, struct knocker_knock *kk)
{
	char err[CLIENT_ERR_LEN];
	uint8_t key[SL_HMAC_KEY_LEN];
	EVP_PKEY *pub = NULL;
	int rc, status = -1;

	memset(key, 0, sizeof(key));
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
	status = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_PKEY_free(pub);
	return status;
}

/* -v: what the knock is made of. */
static void
knocker_say_knock(const struct knocker_opts *o, const struct knocker_knock *kk,
    const char *key_path, const char *pub_path)
{
	char fp[SIGLATCH_FP_LEN];

	if (siglatch_fingerprint(kk->lib, fp, sizeof(fp)) != 0)
		sl_strlcpy(fp, "(unknown)", sizeof(fp));
	if (o->prof != NULL)
		fprintf(stderr, "knocker: profile %s (%s:%u)\n", o->prof->name,
		    o->prof->src, o->prof->line);
	fprintf(stderr, "knocker: user %u, action %u, %zu payload bytes; keys "
	    "%s and %s; server key %s\n", (unsigned)kk->user_id,
	    (unsigned)kk->action_id, kk->plen, key_path, pub_path, fp);
}

/*
 * Everything a knock needs: the format, the payload, the ids and the
 * keys, from the command line, the profile, and the per-host directory
 * (or the profile's bundle).  Returns 0, or an exit status.
 */
int
knocker_prepare(const struct knocker_opts *o, struct knocker_knock *kk)
{
	struct knocker_dir d;
	char pub_path[SL_PATH_MAX], key_path[SL_PATH_MAX];
	const char *map_host;
	unsigned i;
	int rc;

	memset(kk, 0, sizeof(*kk));
	kk->format = 1;
	for (i = 0; i < o->nhosts; i++) {
		if (!client_valid_host(o->hosts[i])) {
			knocker_err("invalid host '%s'", o->hosts[i]);
			return EXIT_USAGE;
		}
	}
	if ((rc = knocker_open_dir(o, &d, &map_host)) != 0 ||
	    (rc = knocker_format(o, &d, &kk->format)) != 0)
		return rc;
	if (knocker_payload(o, kk) != 0 ||
	    knocker_resolve(&d, map_host, o->user, "user", "user.map",
	    CLIENT_USER_ID_MAX, &kk->user_id) != 0 ||
	    knocker_resolve(&d, map_host, o->action, "action", "action.map",
	    CLIENT_ACTION_ID_MAX, &kk->action_id) != 0 ||
	    knocker_key_path(key_path, sizeof(key_path), o->hmac_key, &d,
	    "hmac.key") != 0 ||
	    knocker_key_path(pub_path, sizeof(pub_path), o->server_key, &d,
	    "server.pub.pem") != 0 ||
	    knocker_keys(o, key_path, pub_path, kk) != 0) {
		knocker_knock_clear(kk);
		return CLIENT_EXIT_ERROR;
	}
	if (o->verbose)
		knocker_say_knock(o, kk, key_path, pub_path);
	return 0;
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
