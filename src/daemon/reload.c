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

int
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
			return 1;
		}
	}
	if (old->nservers != new->nservers) {
		snprintf(what, whatlen, "the number of [server:...] sections");
		return 1;
	}
	for (i = 0; i < old->nservers; i++) {
		a = &old->servers[i];
		b = &new->servers[i];
#define S(f) if (!RL_SAME(a, b, f)) { \
	snprintf(what, whatlen, "[server:%s] %s", a->name, #f); return 1; }
		S(name) S(enabled) S(port) S(bind_ip) S(format1) S(format2)
		S(receipt) S(log_file)
#undef S
	}
	return 0;
}

int
reload_read(struct config *cfg, const char *path, char **text, char *err,
    size_t errlen)
{
	struct stat st;
	size_t off = 0;
	ssize_t n;
	char *buf;
	int fd;

	*text = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return SL_ECONFIG;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > RELOAD_TEXT_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d "
		    "bytes", path, RELOAD_TEXT_MAX);
		close(fd);
		return SL_ECONFIG;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return SL_ESYS;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	*text = buf;
	return config_parse_string(cfg, path, buf, err, errlen);
}

static int
rl_write(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int
reload_pack(const struct config *cfg, const char *text, int *out, char *err,
    size_t errlen)
{
	uint8_t hdr[RL_HDR], zero[SL_HMAC_KEY_LEN], *der = NULL;
	uint32_t v, len;
	unsigned i;
	int fd, n, rc = SL_ESYS;

	*out = -1;
	memset(zero, 0, sizeof(zero));
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
	if (rl_write(fd, hdr, sizeof(hdr)) != 0 ||
	    rl_write(fd, text, strlen(text)) != 0)
		goto io;
	for (i = 0; i < cfg->nservers; i++) {
		len = 0;
		der = NULL;
		if (cfg->servers[i].enabled && cfg->servers[i].priv != NULL) {
			if ((n = i2d_PrivateKey(cfg->servers[i].priv, &der)) <= 0 ||
			    n > RL_DER_MAX) {
				snprintf(err, errlen, "[server:%s]: cannot encode "
				    "its private key", cfg->servers[i].name);
				rc = SL_ECRYPTO;
				goto fail;
			}
			len = (uint32_t)n;
		}
		if (rl_write(fd, &len, 4) != 0 ||
		    (len > 0 && rl_write(fd, der, len) != 0))
			goto io;
		if (der != NULL)
			OPENSSL_clear_free(der, len);
		der = NULL;
	}
	for (i = 0; i < cfg->nusers; i++)
		if (rl_write(fd, cfg->users[i].enabled ? cfg->users[i].hmac_key :
		    zero, SL_HMAC_KEY_LEN) != 0)
			goto io;
	/* nobody may change it on its way */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SEAL) !=
	    0)
		goto io;
	*out = fd;
	return 0;
io:
	snprintf(err, errlen, "reload bundle: %s", strerror(errno));
fail:
	if (der != NULL)
		OPENSSL_clear_free(der, len);
	close(fd);
	return rc;
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

static int
rl_u32(struct rl_rd *r, uint32_t *v)
{
	const uint8_t *p = rl_take(r, 4);

	if (p == NULL)
		return -1;
	memcpy(v, p, 4);
	return 0;
}

int
reload_unpack(int fd, const char *name, struct config *cfg, char *err,
    size_t errlen)
{
	struct stat st;
	struct rl_rd r;
	const uint8_t *p;
	uint8_t *buf = NULL;
	uint32_t tlen, ns, nu, len, pad;
	size_t size = 0, off = 0;
	char *text = NULL;
	unsigned i;
	ssize_t n;
	int rc = SL_EPARSE;

	if (fstat(fd, &st) != 0 || st.st_size < RL_HDR ||
	    (size_t)st.st_size > RL_SIZE_MAX) {
		snprintf(err, errlen, "reload bundle of a wrong size");
		goto out;
	}
	size = (size_t)st.st_size;
	if ((buf = malloc(size)) == NULL) {
		rc = SL_ESYS;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	while (off < size) {
		n = pread(fd, buf + off, size - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (off != size) {
		snprintf(err, errlen, "reload bundle: short read");
		goto out;
	}
	r.p = buf;
	r.left = size;
	if ((p = rl_take(&r, 8)) == NULL || memcmp(p, RL_MAGIC, 8) != 0 ||
	    rl_u32(&r, &tlen) != 0 || rl_u32(&r, &ns) != 0 ||
	    rl_u32(&r, &nu) != 0 || rl_u32(&r, &pad) != 0 ||
	    tlen > RELOAD_TEXT_MAX || ns > SL_MAX_SERVERS ||
	    nu > SL_MAX_USERS || (p = rl_take(&r, tlen)) == NULL) {
		snprintf(err, errlen, "reload bundle: bad header");
		goto out;
	}
	if ((text = malloc((size_t)tlen + 1)) == NULL) {
		rc = SL_ESYS;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	memcpy(text, p, tlen);
	text[tlen] = '\0';
	if ((rc = config_parse_string(cfg, name, text, err, errlen)) != 0)
		goto out;
	rc = SL_EPARSE;
	if (cfg->nservers != ns || cfg->nusers != nu) {
		snprintf(err, errlen, "reload bundle: %u servers and %u users, "
		    "the text has %u and %u", ns, nu, cfg->nservers, cfg->nusers);
		goto out;
	}
	for (i = 0; i < ns; i++) {
		if (rl_u32(&r, &len) != 0 || len > RL_DER_MAX ||
		    (p = rl_take(&r, len)) == NULL) {
			snprintf(err, errlen, "reload bundle: server %u", i);
			goto out;
		}
		if (len == 0) {
			if (cfg->servers[i].enabled) {
				snprintf(err, errlen, "reload bundle: no key for "
				    "[server:%s]", cfg->servers[i].name);
				goto out;
			}
			continue;
		}
		cfg->servers[i].priv = d2i_PrivateKey_ex(EVP_PKEY_RSA, NULL, &p,
		    (long)len, NULL, NULL);
		if (cfg->servers[i].priv == NULL) {
			snprintf(err, errlen, "reload bundle: the key of "
			    "[server:%s] does not decode", cfg->servers[i].name);
			rc = SL_EKEY;
			goto out;
		}
	}
	for (i = 0; i < nu; i++) {
		if ((p = rl_take(&r, SL_HMAC_KEY_LEN)) == NULL) {
			snprintf(err, errlen, "reload bundle: user %u", i);
			goto out;
		}
		memcpy(cfg->users[i].hmac_key, p, SL_HMAC_KEY_LEN);
	}
	rc = r.left == 0 ? 0 : SL_EPARSE;
	if (rc != 0)
		snprintf(err, errlen, "reload bundle: %zu bytes too many",
		    r.left);
out:
	if (rc != 0)
		config_wipe_keys(cfg);
	if (buf != NULL)
		OPENSSL_clear_free(buf, size);
	free(text);
	/* the keys leave the memfd: it is shrunk to nothing */
	if (ftruncate(fd, 0) != 0 && rc == 0)
		rc = SL_ESYS;
	return rc;
}
