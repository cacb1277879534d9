/*
 * reload.c - a new configuration for a running daemon (reload.h).
 *
 * The bundle, in a memfd that only ever crosses the channel between the
 * two processes of one daemon (so host byte order):
 *   "SLRLD1\0\0" | u32 textlen | u32 nservers | u32 nusers | u32 0 |
 *   text | per server: u32 derlen, DER private key (0: none) |
 *   per user: SL_HMAC_KEY_LEN bytes (zeros: disabled)
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "reload.h"
#include "sl.h"
#include "util.h"

#define RL_MAGIC     "SLRLD1\0\0"
#define RL_HDR       24
#define RL_DER_MAX   8192       /* an RSA-2048 key is about 1200 bytes */
#define RL_SIZE_MAX  (RL_HDR + RELOAD_TEXT_MAX + \
    SL_MAX_SERVERS * (4 + RL_DER_MAX) + SL_MAX_USERS * SL_HMAC_KEY_LEN)

/* The first key of a server or the top level that a running daemon
 * cannot change; NULL when none differs. */
#define RL_SAME(a, b, f) (memcmp(&(a)->f, &(b)->f, sizeof((a)->f)) == 0)

bool
reload_needs_restart(const struct config *old, const struct config *new,
    char *what, size_t whatlen)
{
	static const struct {
		const char *name;
		size_t off, len;
	} top[] = {
#define T(f) { #f, offsetof(struct config, f), \
	sizeof(((struct config *)0)->f) }
		T(state_dir), T(run_as), T(timestamp_window),
		T(replay_cache_size), T(ratelimit_source_budget),
		T(ratelimit_prefix_budget), T(ratelimit_window),
		T(ratelimit_penalty), T(ratelimit_penalty_max),
		T(ratelimit_good_time), T(max_decrypts_per_sec),
		T(ratelimit_table_size), T(dup_cache_size), T(workers),
		T(kernel_filter), T(max_scripts), T(script_timeout),
		T(log_file), T(stats_file), T(pid_file), T(max_grants),
		T(grant_max_lifetime), T(metrics_file), T(log_json), T(fleet),
#undef T
	};
	const struct cfg_server *a, *b;
	size_t i;

	for (i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
		if (memcmp((const char *)old + top[i].off,
		    (const char *)new + top[i].off, top[i].len) != 0) {
			snprintf(what, whatlen, "%s", top[i].name);
			return true;
		}
	}
	if (old->nservers != new->nservers) {
		snprintf(what, whatlen, "the number of [server:...] sections");
		return true;
	}
	for (i = 0; i < old->nservers; i++) {
		a = &old->servers[i];
		b = &new->servers[i];
#define S(f) if (!RL_SAME(a, b, f)) { \
	snprintf(what, whatlen, "[server:%s] %s", a->name, #f); return true; }
		S(name) S(enabled) S(port) S(bind_ip) S(format1) S(format2)
		S(receipt) S(log_file)
#undef S
	}
	return false;
}

int
reload_read(struct config *cfg, const char *path, char **text, char *err,
    size_t errlen)
{
	size_t len;
	int rc;

	if ((rc = sl_read_file(path, RELOAD_TEXT_MAX, 0, text, &len,
	    NULL)) != 0) {
		if (rc == SL_ESYS)
			snprintf(err, errlen, "%s: cannot open: %s", path,
			    strerror(errno));
		else
			snprintf(err, errlen, "%s: not a regular file of at "
			    "most %d bytes", path, RELOAD_TEXT_MAX);
		return rc == SL_ESYS && errno == ENOMEM ? SL_ESYS : SL_ECONFIG;
	}
	return config_parse_string(cfg, path, *text, err, errlen);
}

/* Each server's u32 derlen and DER private key (0: none), then each user's
 * HMAC key (zeros: disabled).  0, SL_ESYS (errno) or SL_ECRYPTO (err). */
static int
rl_pack_keys(const struct config *cfg, int fd, char *err, size_t errlen)
{
	uint8_t zero[SL_HMAC_KEY_LEN], *der;
	uint32_t len;
	unsigned i;
	int n, rc = 0;

	memset(zero, 0, sizeof(zero));
	for (i = 0; rc == 0 && i < cfg->nservers; i++) {
		len = 0;
		der = NULL;
		if (cfg->servers[i].enabled && cfg->servers[i].priv != NULL) {
			if ((n = i2d_PrivateKey(cfg->servers[i].priv, &der)) <= 0 ||
			    n > RL_DER_MAX) {
				snprintf(err, errlen, "[server:%s]: cannot encode "
				    "its private key", cfg->servers[i].name);
				if (der != NULL && n > 0)
					OPENSSL_clear_free(der, (size_t)n);
				return SL_ECRYPTO;
			}
			len = (uint32_t)n;
		}
		if ((rc = sl_write_all(fd, &len, 4)) == 0 && len > 0)
			rc = sl_write_all(fd, der, len);
		if (der != NULL)
			OPENSSL_clear_free(der, len);
	}
	for (i = 0; rc == 0 && i < cfg->nusers; i++)
		rc = sl_write_all(fd, cfg->users[i].enabled ?
		    cfg->users[i].hmac_key : zero, SL_HMAC_KEY_LEN);
	return rc;
}

int
reload_pack(const struct config *cfg, const char *text, int *out, char *err,
    size_t errlen)
{
	uint8_t hdr[RL_HDR];
	uint32_t v;
	int fd, rc;

	*out = -1;
	fd = memfd_create("siglatchd-reload", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return SL_ESYS;
	}
	memcpy(hdr, RL_MAGIC, 8);
	v = (uint32_t)strlen(text);
	memcpy(hdr + 8, &v, 4);
	v = cfg->nservers;
	memcpy(hdr + 12, &v, 4);
	v = cfg->nusers;
	memcpy(hdr + 16, &v, 4);
	memset(hdr + 20, 0, 4);
	if ((rc = sl_write_all(fd, hdr, sizeof(hdr))) == 0 &&
	    (rc = sl_write_all(fd, text, strlen(text))) == 0 &&
	    (rc = rl_pack_keys(cfg, fd, err, errlen)) == 0 &&
	    /* nobody may change it on its way */
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW |
	    F_SEAL_SEAL) != 0)
		rc = SL_ESYS;
	if (rc == SL_ESYS)
		snprintf(err, errlen, "reload bundle: %s", strerror(errno));
	if (rc != 0) {
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

/* The bounds-checked reader of the bundle. */
struct rl_rd {
	const uint8_t *p;
	size_t left;
};

static const uint8_t *
rl_take(struct rl_rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (n > r->left)
		return NULL;
	r->p += n;
	r->left -= n;
	return p;
}

/* 0, or SL_EPARSE when fewer than 4 bytes are left */
static int
rl_u32(struct rl_rd *r, uint32_t *v)
{
	const uint8_t *p = rl_take(r, 4);

	if (p == NULL)
		return SL_EPARSE;
	memcpy(v, p, 4);
	return 0;
}

/* The header and the text (a NUL-terminated copy in *text, freed by the
 * caller).  0, SL_EPARSE or SL_ESYS. */
static int
rl_unpack_text(struct rl_rd *r, char **text, uint32_t *ns, uint32_t *nu,
    char *err, size_t errlen)
{
	const uint8_t *p;
	uint32_t tlen, pad;

	if ((p = rl_take(r, 8)) == NULL || memcmp(p, RL_MAGIC, 8) != 0 ||
	    rl_u32(r, &tlen) != 0 || rl_u32(r, ns) != 0 ||
	    rl_u32(r, nu) != 0 || rl_u32(r, &pad) != 0 ||
	    tlen > RELOAD_TEXT_MAX || *ns > SL_MAX_SERVERS ||
	    *nu > SL_MAX_USERS || (p = rl_take(r, tlen)) == NULL) {
		snprintf(err, errlen, "reload bundle: bad header");
		return SL_EPARSE;
	}
	if ((*text = malloc((size_t)tlen + 1)) == NULL) {
		snprintf(err, errlen, "reload bundle: %s", strerror(errno));
		return SL_ESYS;
	}
	memcpy(*text, p, tlen);
	(*text)[tlen] = '\0';
	return 0;
}

/* The servers' private keys and the users' HMAC keys into cfg, which was
 * parsed from the bundle's text.  0, SL_EPARSE or SL_EKEY. */
static int
rl_unpack_keys(struct rl_rd *r, struct config *cfg, char *err,
    size_t errlen)
{
	const uint8_t *p;
	uint32_t len;
	unsigned i;

	for (i = 0; i < cfg->nservers; i++) {
		if (rl_u32(r, &len) != 0 || len > RL_DER_MAX ||
		    (p = rl_take(r, len)) == NULL) {
			snprintf(err, errlen, "reload bundle: server %u", i);
			return SL_EPARSE;
		}
		if (len == 0 && cfg->servers[i].enabled) {
			snprintf(err, errlen, "reload bundle: no key for "
			    "[server:%s]", cfg->servers[i].name);
			return SL_EPARSE;
		}
		if (len == 0)
			continue;
		cfg->servers[i].priv = d2i_PrivateKey_ex(EVP_PKEY_RSA, NULL, &p,
		    (long)len, NULL, NULL);
		if (cfg->servers[i].priv == NULL) {
			snprintf(err, errlen, "reload bundle: the key of "
			    "[server:%s] does not decode", cfg->servers[i].name);
			return SL_EKEY;
		}
	}
	for (i = 0; i < cfg->nusers; i++) {
		if ((p = rl_take(r, SL_HMAC_KEY_LEN)) == NULL) {
			snprintf(err, errlen, "reload bundle: user %u", i);
			return SL_EPARSE;
		}
		memcpy(cfg->users[i].hmac_key, p, SL_HMAC_KEY_LEN);
	}
	if (r->left != 0) {
		snprintf(err, errlen, "reload bundle: %zu bytes too many",
		    r->left);
		return SL_EPARSE;
	}
	return 0;
}

int
reload_unpack(int fd, const char *name, struct config *cfg, char *err,
    size_t errlen)
{
	struct rl_rd r;
	uint32_t ns, nu;
	char *buf = NULL, *text = NULL;
	size_t size = 0;
	int rc;

	rc = sl_read_fd(fd, RL_SIZE_MAX, &buf, &size, NULL);
	if (rc == SL_ESYS) {
		snprintf(err, errlen, "reload bundle: %s", strerror(errno));
		goto out;
	}
	if (rc != 0 || size < RL_HDR) {
		snprintf(err, errlen, "reload bundle of a wrong size");
		rc = SL_EPARSE;
		goto out;
	}
	r.p = (const uint8_t *)buf;
	r.left = size;
	if ((rc = rl_unpack_text(&r, &text, &ns, &nu, err, errlen)) != 0 ||
	    (rc = config_parse_string(cfg, name, text, err, errlen)) != 0)
		goto out;
	if (cfg->nservers != ns || cfg->nusers != nu) {
		snprintf(err, errlen, "reload bundle: %u servers and %u users, "
		    "the text has %u and %u", ns, nu, cfg->nservers, cfg->nusers);
		rc = SL_EPARSE;
		goto out;
	}
	rc = rl_unpack_keys(&r, cfg, err, errlen);
out:
	if (rc != 0)
		config_wipe_keys(cfg);
	sl_read_free_secret(buf, size);
	free(text);
	/* the keys leave the memfd: it is shrunk to nothing */
	if (ftruncate(fd, 0) != 0 && rc == 0)
		rc = SL_ESYS;
	return rc;
}
