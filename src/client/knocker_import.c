/*
 * knocker_import.c - knocker's profile files: --save-profile NAME (this
 * command line as a drop-in stanza), --import-bundle DIR --as NAME (copy a
 * siglatch-keygen bundle under the configuration directory and write its
 * stanza), and --list (each profile, its keys by fingerprint).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "addr.h"
#include "client.h"
#include "crypto.h"
#include "knocker.h"
#include "profile.h"
#include "sl.h"
#include "util.h"

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
int
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

/* What a bundle's map files say: its only user and action, its host. */
struct knocker_bundle {
	char name[PROFILE_NAME_MAX + 1], host[CLIENT_HOST_MAX + 1];
	char aname[PROFILE_NAME_MAX + 1], ahost[CLIENT_HOST_MAX + 1];
	unsigned nnames, nactions;
};

/*
 * The bundle o->import_dir: it must hold a usable key pair before
 * anything is made; its user.map and action.map, if there, into b.
 * Returns 0, or -1 (said).
 */
static int
knocker_import_read(const struct knocker_opts *o, struct knocker_bundle *b)
{
	char path[SL_PATH_MAX], err[CLIENT_ERR_LEN];
	uint8_t key[SL_HMAC_KEY_LEN];
	EVP_PKEY *pub = NULL;
	int rc = -1;

	if (snprintf(path, sizeof(path), "%s/hmac.key", o->import_dir) >=
	    (int)sizeof(path) ||
	    crypto_load_hmac_key(path, 0, key, err, sizeof(err)) != 0 ||
	    snprintf(path, sizeof(path), "%s/server.pub.pem",
	    o->import_dir) >= (int)sizeof(path) ||
	    crypto_load_public(path, &pub, err, sizeof(err)) != 0) {
		knocker_err("--import-bundle %s: %s", o->import_dir, err);
		goto out;
	}
	b->host[0] = b->name[0] = b->aname[0] = '\0';
	if ((snprintf(path, sizeof(path), "%s/user.map", o->import_dir) <
	    (int)sizeof(path) && access(path, F_OK) == 0 &&
	    client_map_summary(path, b->name, sizeof(b->name), b->host,
	    sizeof(b->host), &b->nnames, err, sizeof(err)) != 0) ||
	    (snprintf(path, sizeof(path), "%s/action.map", o->import_dir) <
	    (int)sizeof(path) && access(path, F_OK) == 0 &&
	    client_map_summary(path, b->aname, sizeof(b->aname), b->ahost,
	    sizeof(b->ahost), &b->nactions, err, sizeof(err)) != 0)) {
		knocker_err("--import-bundle: %s", err);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_PKEY_free(pub);
	return rc;
}

/*
 * HOST, USER and ACTION of an imported bundle: given, or the only one its
 * map files name.  Returns -1 to go on, else an exit status.
 */
static int
knocker_import_names(struct knocker_opts *o, const struct knocker_bundle *b)
{
	o->hosts[0] = o->npos >= 1 ? o->pos[0] : b->host[0] != '\0' ?
	    b->host : NULL;
	if (o->hosts[0] == NULL) {
		knocker_err("--import-bundle: %s/user.map names no host; give "
		    "one: knocker --import-bundle %s --as %s HOST",
		    o->import_dir, o->import_dir, o->import_as);
		return EXIT_USAGE;
	}
	if (!client_valid_host(o->hosts[0])) {
		knocker_err("invalid host '%s'", o->hosts[0]);
		return EXIT_USAGE;
	}
	o->nhosts = 1;
	o->user = o->npos >= 2 ? o->pos[1] : b->nnames == 1 ? b->name : NULL;
	if (o->user == NULL) {
		knocker_err("--import-bundle: %s/user.map names %s; give the "
		    "user: knocker --import-bundle %s --as %s HOST USER",
		    o->import_dir, b->nnames == 0 ? "no user" :
		    "several users", o->import_dir, o->import_as);
		return EXIT_USAGE;
	}
	o->action = o->npos >= 3 ? o->pos[2] : b->nactions == 1 ? b->aname :
	    NULL;
	o->server_key = o->hmac_key = NULL;
	return -1;
}

/* Copy the bundle to dest (made here, under cdir/knocker.bundles) and
 * write the stanza p.  Returns 0, or -1 (said). */
static int
knocker_import_write(const struct knocker_opts *o, const struct profile *p,
    const char *cdir, const char *dest, const char *cfgpath)
{
	char path[SL_PATH_MAX], err[CLIENT_ERR_LEN], file[SL_PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/knocker.bundles", cdir) >=
	    (int)sizeof(path) || knocker_mkdirs(path, err, sizeof(err)) != 0) {
		knocker_err("--import-bundle: %s", err);
		return -1;
	}
	if (mkdir(dest, 0700) != 0) {
		knocker_err("--import-bundle: cannot make %s: %s", dest,
		    strerror(errno));
		return -1;
	}
	if (knocker_copy(o->import_dir, dest, "hmac.key", 0600, false) != 0 ||
	    knocker_copy(o->import_dir, dest, "server.pub.pem", 0644,
	    false) != 0 ||
	    knocker_copy(o->import_dir, dest, "user.map", 0644, true) != 0 ||
	    knocker_copy(o->import_dir, dest, "action.map", 0644, true) != 0 ||
	    knocker_copy(o->import_dir, dest, "formats", 0644, true) != 0 ||
	    knocker_write_profile(cfgpath, p, file, sizeof(file)) != 0)
		return -1;
	knocker_note("imported %s as profile %s (host %s, user %s%s%s) in %s; "
	    "knock with: knocker %s%s", o->import_dir, p->name, p->hosts[0],
	    p->user, p->action[0] != '\0' ? ", action " : "", p->action, file,
	    p->name, p->action[0] != '\0' ? "" : " ACTION");
	return 0;
}

/*
 * --import-bundle DIR --as NAME [HOST [USER [ACTION]]]: copy the bundle
 * to CONFIGDIR/knocker.bundles/NAME/ and write the stanza [NAME].  HOST
 * defaults to the host the bundle's user.map names, USER and ACTION to
 * the only name in user.map / action.map.
 */
int
knocker_import(struct knocker_opts *o, const struct profiles *ps,
    const char *cfgpath)
{
	char cdir[SL_PATH_MAX], dest[SL_PATH_MAX];
	struct knocker_bundle b;
	const struct profile *old;
	struct profile *p = NULL;
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
	memset(&b, 0, sizeof(b));
	if (knocker_import_read(o, &b) != 0)
		goto out;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		knocker_err("out of memory");
		goto out;
	}
	sl_strlcpy(p->name, o->import_as, sizeof(p->name));
	if ((rc = knocker_import_names(o, &b)) >= 0)
		goto out;
	rc = CLIENT_EXIT_ERROR;
	knocker_dirname(cdir, sizeof(cdir), cfgpath);
	if (snprintf(dest, sizeof(dest), "%s/knocker.bundles/%s", cdir,
	    o->import_as) >= (int)sizeof(dest)) {
		knocker_err("path too long: %s", cdir);
		goto out;
	}
	o->bundle = dest;
	if (knocker_opts_to_profile(o, p) != 0 ||
	    knocker_import_write(o, p, cdir, dest, cfgpath) != 0)
		goto out;
	rc = 0;
out:
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

/* A profile's two keys for --list: its own, or the same defaults
 * knocking uses. */
static void
knocker_list_keys(const struct profile *p)
{
	char dir[SL_PATH_MAX], path[SL_PATH_MAX];

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

/* --list: each profile with its settings and key fingerprints. */
int
knocker_list(const struct profiles *ps, const char *cfgpath)
{
	char ip[SL_IPSTR_MAX];
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
		knocker_list_keys(p);
	}
	return CLIENT_EXIT_OK;
}

