/*
 * fleetstore.c - the store's commands, through hiredis (fleet.h).  Only
 * the fleet process (and siglatchd -t, and the benchmark) calls these.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>

#include "addr.h"
#include "fleet.h"
#include "util.h"

struct fstore {
	redisContext *c;
};

/* What went wrong with the connection or a reply, for err. */
static int
fs_fail(struct fstore *s, const redisReply *r, const char *what, char *err,
    size_t errlen)
{
	if (r != NULL && r->type == REDIS_REPLY_ERROR)
		sl_seterr(err, errlen, "%s: %.*s", what, (int)(r->len > 160 ?
		    160 : r->len), r->str);
	else if (s->c != NULL && s->c->err != 0)
		sl_seterr(err, errlen, "%s: %s", what, s->c->errstr);
	else
		sl_seterr(err, errlen, "%s: unexpected reply", what);
	return SL_ESYS;
}

struct fstore *
fstore_open(const struct cfg_fleet *f, uint32_t timeout_ms, char *err,
    size_t errlen)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
	    .tv_usec = (timeout_ms % 1000) * 1000 };
	struct fstore *s;
	redisReply *r = NULL;
	char db[16];

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		sl_seterr(err, errlen, "out of memory");
		return NULL;
	}
	s->c = f->unix_sock ? redisConnectUnixWithTimeout(f->host, tv) :
	    redisConnectWithTimeout(f->host, f->port, tv);
	if (s->c == NULL || s->c->err != 0) {
		sl_seterr(err, errlen, "cannot connect: %s", s->c != NULL ?
		    s->c->errstr : "out of memory");
		goto fail;
	}
	if (redisSetTimeout(s->c, tv) != REDIS_OK) {
		sl_seterr(err, errlen, "cannot set a timeout");
		goto fail;
	}
	if (!f->unix_sock)
		(void)redisEnableKeepAlive(s->c);
	if (f->password[0] != '\0') {
		if (f->user[0] != '\0')
			r = redisCommand(s->c, "AUTH %s %s", f->user,
			    f->password);
		else
			r = redisCommand(s->c, "AUTH %s", f->password);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			if (r != NULL)
				sl_seterr(err, errlen, "store refused the "
				    "password (%.*s)", (int)(r->len > 160 ? 160 :
				    r->len), r->str);
			else
				(void)fs_fail(s, r, "AUTH", err, errlen);
			goto fail;
		}
		freeReplyObject(r);
	}
	if (f->db != 0) {
		snprintf(db, sizeof(db), "%u", (unsigned)f->db);
		r = redisCommand(s->c, "SELECT %s", db);
		if (r == NULL || r->type != REDIS_REPLY_STATUS) {
			(void)fs_fail(s, r, "SELECT", err, errlen);
			goto fail;
		}
		freeReplyObject(r);
	}
	return s;
fail:
	if (r != NULL)
		freeReplyObject(r);
	fstore_close(s);
	return NULL;
}

int
fstore_fd(const struct fstore *s)
{
	return s->c->fd;
}

void
fstore_close(struct fstore *s)
{
	if (s == NULL)
		return;
	if (s->c != NULL)
		redisFree(s->c);
	free(s);
}

int
fstore_version(struct fstore *s, char *out, size_t outlen, char *err,
    size_t errlen)
{
	static const char *const keys[] = { "valkey_version:",
	    "redis_version:" };
	redisReply *r = redisCommand(s->c, "INFO server");
	const char *p = NULL;
	size_t i, n;
	int rc = 0;

	if (r == NULL || r->type != REDIS_REPLY_STRING) {
		rc = fs_fail(s, r, "INFO server", err, errlen);
		goto out;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]) && p == NULL; i++)
		if ((p = strstr(r->str, keys[i])) != NULL) {
			n = strcspn(p + strlen(keys[i]), "\r\n");
			snprintf(out, outlen, "%s %.*s", i == 0 ? "valkey" :
			    "redis", (int)n, p + strlen(keys[i]));
		}
	if (p == NULL)
		snprintf(out, outlen, "unknown version");
out:
	if (r != NULL)
		freeReplyObject(r);
	return rc;
}

int
fstore_claim(struct fstore *s, const char *key, const char *name,
    uint32_t ttl_ms, char *who, size_t wholen, char *err, size_t errlen)
{
	redisReply *r;
	char ttl[16];
	int rc;

	snprintf(ttl, sizeof(ttl), "%u", (unsigned)ttl_ms);
	r = redisCommand(s->c, "SET %s %s NX PX %s", key, name, ttl);
	if (r != NULL && r->type == REDIS_REPLY_STATUS &&
	    strcmp(r->str, "OK") == 0) {
		freeReplyObject(r);
		return FR_OURS;
	}
	if (r == NULL || r->type != REDIS_REPLY_NIL) {
		rc = fs_fail(s, r, "SET NX", err, errlen);
		if (r != NULL)
			freeReplyObject(r);
		return rc;
	}
	freeReplyObject(r);
	r = redisCommand(s->c, "GET %s", key);
	if (r == NULL || (r->type != REDIS_REPLY_STRING &&
	    r->type != REDIS_REPLY_NIL)) {
		rc = fs_fail(s, r, "GET", err, errlen);
		if (r != NULL)
			freeReplyObject(r);
		return rc;
	}
	if (r->type == REDIS_REPLY_STRING && sl_valid_name(r->str))
		sl_strlcpy(who, r->str, wholen);
	else
		sl_strlcpy(who, "?", wholen);
	freeReplyObject(r);
	return FR_TAKEN;
}

int
fstore_publish(struct fstore *s, const char *stream,
    const struct grant_event *ev, int64_t minid_ms, char *err, size_t errlen)
{
	char ip[SL_IPSTR_MAX], exp[24], minid[24];
	const char *argv[22];
	size_t n = 0;
	redisReply *r;
	int rc = 0;

	addr_to_str(&ev->addr, ip, sizeof(ip));
	snprintf(exp, sizeof(exp), "%" PRId64, ev->expires_ms);
	snprintf(minid, sizeof(minid), "%" PRId64, minid_ms > 0 ? minid_ms : 0);
	argv[n++] = "XADD";
	argv[n++] = stream;
	/* trimmed to what grant_max_lifetime needs: an entry older than
	 * that describes a grant that has lapsed everywhere */
	argv[n++] = "MINID";
	argv[n++] = "~";
	argv[n++] = minid;
	argv[n++] = "*";
	argv[n++] = "gateway";
	argv[n++] = ev->gateway;
	argv[n++] = "op";
	argv[n++] = grant_op_name((enum grant_op)ev->op);
	argv[n++] = "server";
	argv[n++] = ev->server;
	argv[n++] = "user";
	argv[n++] = ev->user;
	argv[n++] = "action";
	argv[n++] = ev->action;
	argv[n++] = "addr";
	argv[n++] = ip;
	argv[n++] = "expires";
	argv[n++] = exp;
	r = redisCommandArgv(s->c, (int)n, argv, NULL);
	if (r == NULL || r->type != REDIS_REPLY_STRING)
		rc = fs_fail(s, r, "XADD", err, errlen);
	if (r != NULL)
		freeReplyObject(r);
	return rc;
}

int
fleet_parse_entry(const char *const *fv, size_t n, struct grant_event *ev)
{
	struct sl_cidr c;
	long long v;
	size_t i;
	unsigned seen = 0;

	memset(ev, 0, sizeof(*ev));
	if (n % 2 != 0)
		return SL_EINVAL;
	for (i = 0; i < n; i += 2) {
		const char *f = fv[i], *val = fv[i + 1];
		char *dst = NULL;

		if (strcmp(f, "gateway") == 0)
			dst = ev->gateway;
		else if (strcmp(f, "server") == 0)
			dst = ev->server;
		else if (strcmp(f, "user") == 0)
			dst = ev->user;
		else if (strcmp(f, "action") == 0)
			dst = ev->action;
		if (dst != NULL) {
			if (!sl_valid_name(val))
				return SL_EINVAL;
			sl_strlcpy(dst, val, SL_NAME_MAX);
			seen |= dst == ev->gateway ? 1u : dst == ev->server ?
			    2u : dst == ev->user ? 4u : 8u;
		} else if (strcmp(f, "op") == 0) {
			ev->op = strcmp(val, "grant") == 0 ? GOP_GRANT :
			    strcmp(val, "extend") == 0 ? GOP_EXTEND :
			    strcmp(val, "revoke") == 0 ? GOP_REVOKE : 0;
			if (ev->op == 0)
				return SL_EINVAL;
			seen |= 16;
		} else if (strcmp(f, "addr") == 0) {
			if (strchr(val, '/') != NULL ||
			    addr_parse_cidr(val, &c) != 0)
				return SL_EINVAL;
			ev->addr = c.addr;
			seen |= 32;
		} else if (strcmp(f, "expires") == 0) {
			if (sl_parse_num(val, 0, INT64_MAX, &v) != 0)
				return SL_EINVAL;
			ev->expires_ms = v;
			seen |= 64;
		}
		/* other fields: a newer gateway's, ignored */
	}
	return seen == 127 ? 0 : SL_EINVAL;
}

int
fstore_read(struct fstore *s, const char *stream, char *lastid,
    size_t idlen, uint32_t block_ms,
    void (*cb)(void *, const char *, const struct grant_event *), void *arg,
    char *err, size_t errlen)
{
	const char *fv[32];
	struct grant_event ev;
	redisReply *r, *ents, *e, *kv;
	char blk[16];
	size_t i, j, n;
	int count = 0;

	snprintf(blk, sizeof(blk), "%u", (unsigned)block_ms);
	r = redisCommand(s->c, "XREAD COUNT 64 BLOCK %s STREAMS %s %s", blk,
	    stream, lastid);
	if (r == NULL || (r->type != REDIS_REPLY_ARRAY &&
	    r->type != REDIS_REPLY_NIL)) {
		(void)fs_fail(s, r, "XREAD", err, errlen);
		if (r != NULL)
			freeReplyObject(r);
		return SL_ESYS;
	}
	/* [[stream, [[id, [f, v, ...]], ...]]] */
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->elements == 2 &&
	    r->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
		ents = r->element[0]->element[1];
		for (i = 0; i < ents->elements; i++) {
			e = ents->element[i];
			if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
			    e->element[0]->type != REDIS_REPLY_STRING ||
			    !fleet_id_valid(e->element[0]->str))
				continue;
			sl_strlcpy(lastid, e->element[0]->str, idlen);
			count++;
			kv = e->element[1];
			if (kv->type != REDIS_REPLY_ARRAY ||
			    kv->elements > sizeof(fv) / sizeof(fv[0]))
				continue;
			for (j = 0, n = 0; j < kv->elements; j++)
				if (kv->element[j]->type == REDIS_REPLY_STRING)
					fv[n++] = kv->element[j]->str;
			if (n == kv->elements &&
			    fleet_parse_entry(fv, n, &ev) == 0)
				cb(arg, lastid, &ev);
		}
	}
	freeReplyObject(r);
	return count;
}

int
fleet_test(const struct config *cfg, FILE *out, char *err, size_t errlen)
{
	struct cfg_fleet f;
	struct fstore *s;
	char ver[64], e[512];
	int rc;

	if ((rc = config_load_fleet_secret(cfg, &f, err, errlen)) != 0)
		goto out;
	s = fstore_open(&f, 2000, e, sizeof(e));
	OPENSSL_cleanse(&f, sizeof(f));
	if (s == NULL) {
		sl_seterr(err, errlen, "%s:%d: [fleet] store %s: %s", cfg->path,
		    cfg->fleet.store_line, cfg->fleet.store, e);
		return SL_ESYS;
	}
	rc = fstore_version(s, ver, sizeof(ver), e, sizeof(e));
	fstore_close(s);
	if (rc != 0) {
		sl_seterr(err, errlen, "%s:%d: [fleet] store %s: %s", cfg->path,
		    cfg->fleet.store_line, cfg->fleet.store, e);
		goto out;
	}
	fprintf(out, "fleet: gateway %s, store %s: %s, on_store_down = %s\n",
	    cfg->fleet.name, cfg->fleet.store, ver, cfg->fleet.on_store_down);
out:
	OPENSSL_cleanse(&f, sizeof(f));
	return rc;
}
