/*
 * pipeline.c - the receive path in the order PROTOCOL.md requires:
 * length -> budgets -> duplicate -> decrypt -> parse -> HMAC (always
 * computed) -> timestamp -> replay -> authorize.  Everything that fails
 * before the HMAC verifies is one log class (SL201) and one counter, and
 * counts against the sender's budget exactly like a stale or replayed knock.
 * What made it fail (verify.h's reasons) is told only to the log line and
 * to counters beside the uniform one: the network sees no difference.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "crypto.h"
#include "gate2.h"
#include "knock2.h"
#include "log.h"
#include "pipeline.h"
#include "ratelimit.h"
#include "stages.h"
#include "stats.h"
#include "tags.h"
#include "util.h"
#include "wire.h"

struct pipeline_crypto {
	struct crypto_dec *dec[SL_MAX_SERVERS];
	struct k2_open *k2[SL_MAX_SERVERS];
	struct wire_mac *mac;
};

struct pipeline {
	const struct config *cfg;
	struct replay *replay;
	struct filter *filter;
	struct tags *tags;               /* format 2: tag -> candidate users */
	struct gate2 *gate2;             /* format 2: copies, user budgets */
	struct pipeline_crypto *crypto;  /* for pipeline_process() */
	int sink[SL_MAX_SERVERS];
	uint8_t dummy_key[SL_HMAC_KEY_LEN];
	struct pipeline_stats st;
	struct pipeline_stats sst[SL_MAX_SERVERS];  /* each server's share */
	/* format 1, rejected by reason (enum verify_why), in all and per
	 * server: for the log and the counters only */
	uint64_t why[VW_NREASONS];
	uint64_t srv_why[SL_MAX_SERVERS][VW_NREASONS];
};

/* Count in the totals and in the server's own. */
#define COUNT(p, i, f) do { (p)->st.f++; (p)->sst[i].f++; } while (0)

static void pl_outcome(const struct pipeline *p, unsigned server_idx,
    int prio, int code, int limited, const char *ip,
    const struct cfg_user *u, const char *action, const char *outcome,
    const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 11, 12)));

/* A line about a knock's outcome: log_outcome() with its fields. */
static void
pl_outcome(const struct pipeline *p, unsigned server_idx, int prio, int code,
    int limited, const char *ip, const struct cfg_user *u, const char *action,
    const char *outcome, const char *reason, const char *fmt, ...)
{
	struct log_outcome o;
	va_list ap;

	o.src = ip;
	o.server = p->cfg->servers[server_idx].name;
	o.user = u != NULL ? u->name : NULL;
	o.action = action;
	o.outcome = outcome;
	o.reason = reason;
	va_start(ap, fmt);
	log_voutcome(p->sink[server_idx], prio, code, limited, &o, fmt, ap);
	va_end(ap);
}

/* The action's name for a log line, even when it is disabled; else
 * "id N". */
static const char *
pl_action_name(const struct config *cfg, unsigned id, char *buf, size_t len)
{
	int i = cfg->action_by_id[id & 0xff];

	if (i >= 0)
		return cfg->actions[i].name;
	snprintf(buf, len, "id %u", id);
	return buf;
}

int
pipeline_crypto_new(const struct pipeline *p, struct pipeline_crypto **out)
{
	struct pipeline_crypto *c;
	unsigned i;
	int rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return SL_ESYS;
	if ((rc = wire_mac_new(&c->mac)) != 0)
		goto fail;
	for (i = 0; i < p->cfg->nservers; i++) {
		if (!p->cfg->servers[i].enabled || p->cfg->servers[i].priv == NULL)
			continue;
		if ((rc = crypto_dec_new(p->cfg->servers[i].priv, &c->dec[i])) != 0)
			goto fail;
		if (p->cfg->servers[i].format2 &&
		    (rc = k2_open_new(p->cfg->servers[i].priv, &c->k2[i])) != 0)
			goto fail;
	}
	*out = c;
	return 0;
fail:
	pipeline_crypto_free(c);
	return rc;
}

void
pipeline_crypto_free(struct pipeline_crypto *c)
{
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; i < SL_MAX_SERVERS; i++) {
		crypto_dec_free(c->dec[i]);
		k2_open_free(c->k2[i]);
	}
	wire_mac_free(c->mac);
	free(c);
}

int
pipeline_new(struct pipeline **out, const struct config *cfg,
    struct replay *replay, const int *log_sinks)
{
	struct pipeline *p;
	unsigned i;
	int rc;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return SL_ESYS;
	p->cfg = cfg;
	p->replay = replay;
	for (i = 0; i < cfg->nservers; i++)
		p->sink[i] = log_sinks != NULL ? log_sinks[i] : 0;
	if ((rc = crypto_random(p->dummy_key, sizeof(p->dummy_key))) != 0 ||
	    (rc = filter_new(&p->filter, cfg)) != 0 ||
	    (rc = tags_new(&p->tags, cfg)) != 0 ||
	    (rc = gate2_new(&p->gate2, cfg->nusers, cfg->ratelimit_user_budget,
	    cfg->ratelimit_window * 1000u,
	    (2 * cfg->timestamp_window + K2_EPOCH_SECS) * 1000u)) != 0 ||
	    (rc = pipeline_crypto_new(p, &p->crypto)) != 0) {
		pipeline_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int
pipeline_reconfigure(struct pipeline *p, const struct config *cfg)
{
	const struct config *old = p->cfg;
	struct pipeline_crypto *c = NULL;
	struct gate2 *g = NULL;
	struct tags *t = NULL;
	int rc;

	p->cfg = cfg;  /* pipeline_crypto_new reads the keys from p->cfg */
	if ((rc = tags_new(&t, cfg)) != 0 ||
	    (rc = gate2_new(&g, cfg->nusers, cfg->ratelimit_user_budget,
	    cfg->ratelimit_window * 1000u,
	    (2 * cfg->timestamp_window + K2_EPOCH_SECS) * 1000u)) != 0 ||
	    (rc = pipeline_crypto_new(p, &c)) != 0) {
		p->cfg = old;
		tags_free(t);
		gate2_free(g);
		pipeline_crypto_free(c);
		return rc;
	}
	tags_free(p->tags);
	gate2_free(p->gate2);
	pipeline_crypto_free(p->crypto);
	p->tags = t;
	p->gate2 = g;
	p->crypto = c;
	return 0;
}

void
pipeline_free(struct pipeline *p)
{
	if (p == NULL)
		return;
	pipeline_crypto_free(p->crypto);
	filter_free(p->filter);
	tags_free(p->tags);
	gate2_free(p->gate2);
	OPENSSL_cleanse(p->dummy_key, sizeof(p->dummy_key));
	free(p);
}

const struct pipeline_stats *
pipeline_get_stats(const struct pipeline *p)
{
	return &p->st;
}

/* The counters each server has, by their names in the stats file. */
#define PS(f) { #f, offsetof(struct pipeline_stats, f) }
static const struct {
	const char *name;
	size_t off;
} pl_counters[] = {
	PS(received), PS(bad_length), PS(rate_source), PS(rate_prefix),
	PS(rate_global), PS(duplicate), PS(rejected), PS(stale), PS(replayed),
	PS(denied), PS(not_ascii), PS(cache_full), PS(state_error),
	PS(accepted), PS(k2_unknown_tag), PS(k2_bad_mac), PS(k2_copy),
	PS(k2_elsewhere), PS(k2_user_budget), PS(k2_unopened),
	PS(k2_wrong_address), PS(k2_no_address), PS(k2_accepted),
};
#undef PS

void
pipeline_add_stats(const struct pipeline *p, struct stats_buf *b,
    bool servers)
{
	char name[STATS_NAME_MAX];
	uint64_t v;
	unsigned i, w;
	size_t k;

	if (!servers) {
		for (w = VW_DECRYPT; w < VW_NREASONS; w++) {
			snprintf(name, sizeof(name), "rejected_%s",
			    verify_why_name((int)w));
			stats_add(b, name, p->why[w]);
		}
		return;
	}
	for (i = 0; i < p->cfg->nservers; i++) {
		const char *sn = p->cfg->servers[i].name;

		if (!p->cfg->servers[i].enabled)
			continue;
		for (k = 0; k < sizeof(pl_counters) / sizeof(pl_counters[0]);
		    k++) {
			memcpy(&v, (const char *)&p->sst[i] + pl_counters[k].off,
			    sizeof(v));
			stats_add_server(b, sn, pl_counters[k].name, v);
		}
		for (w = VW_DECRYPT; w < VW_NREASONS; w++) {
			snprintf(name, sizeof(name), "rejected_%s",
			    verify_why_name((int)w));
			stats_add_server(b, sn, name, p->srv_why[i][w]);
		}
	}
}

struct filter *
pipeline_filter(const struct pipeline *p)
{
	return p->filter;
}

const struct tags *
pipeline_tags(const struct pipeline *p)
{
	return p->tags;
}

const struct gate2 *
pipeline_gate2(const struct pipeline *p)
{
	return p->gate2;
}

void
pipeline_tick(struct pipeline *p, time_t now,
    void (*sync)(void *, const uint8_t *, bool), void *arg)
{
	(void)tags_update(p->tags, now, sync, arg);
}

/*
 * Format 2 before any private-key work (docs/PROTOCOL.md, "Order of
 * checks"): the tag finds candidate users (one lookup), the MAC picks one
 * (one HMAC each), then replays, copies and the user's budget.  Nothing
 * here charges the source: a forger can spoof any address, so what fails
 * here must not count against the address it forged.
 */
static int
admit2(struct pipeline *p, unsigned server_idx, const uint8_t *dgram,
    const struct sl_addr *src, time_t now, uint64_t now_ms,
    struct pipeline_pre *pre)
{
	const struct cfg_server *srv = &p->cfg->servers[server_idx];
	const struct cfg_user *user;
	struct tag_hit hits[TAGS_HITS_MAX];
	enum gate2_verdict v;
	char ip[SL_IPSTR_MAX];
	unsigned n, i;
	int debug = srv->logging && log_enabled(LOG_DEBUG);

	if ((n = tags_lookup(p->tags, dgram + K2_OFF_TAG, hits,
	    TAGS_HITS_MAX)) == 0) {
		COUNT(p, server_idx, k2_unknown_tag);
		if (debug) {
			addr_to_str(src, ip, sizeof(ip));
			log_limited(p->sink[server_idx], LOG_DEBUG, SLC_K2_DROP,
			    "dropped format-2 datagram from %s on %s: no user's "
			    "current tag", ip, srv->name);
		}
		return SL_EAUTH;
	}
	/* every user whose key makes this MAC: one, unless users share a
	 * key (then the inner user_id, once decrypted, says which) */
	pre->ncand = 0;
	for (i = 0; i < n && pre->ncand < PIPELINE_CANDS; i++)
		if (tags_mac_verify(p->tags, hits[i].user, dgram) == 0) {
			pre->cand[pre->ncand] = hits[i].user;
			pre->epoch[pre->ncand++] = hits[i].epoch;
		}
	if (pre->ncand == 0) {
		COUNT(p, server_idx, k2_bad_mac);
		if (debug) {
			addr_to_str(src, ip, sizeof(ip));
			log_limited(p->sink[server_idx], LOG_DEBUG, SLC_K2_DROP,
			    "dropped format-2 datagram from %s on %s: wrong "
			    "MAC", ip, srv->name);
		}
		return SL_EAUTH;
	}
	/* authenticated by a key holder from here on (a copy may come from
	 * anyone, though) */
	user = &p->cfg->users[pre->cand[0]];
	for (i = 0; i < pre->ncand; i++)
		if (replay_seen(p->replay,
		    (uint16_t)p->cfg->users[pre->cand[i]].id,
		    dgram + K2_OFF_MAC, now))
			break;
	if (i < pre->ncand) {
		user = &p->cfg->users[pre->cand[i]];
		addr_to_str(src, ip, sizeof(ip));
		COUNT(p, server_idx, replayed);
		if (srv->logging)
			pl_outcome(p, server_idx, LOG_WARNING, SLC_REPLAY, 1, ip,
			    user, NULL, "replayed", "replay", "user %s from %s: "
			    "replayed format-2 knock refused", user->name, ip);
		return SL_EREPLAY;
	}
	v = gate2_admit(p->gate2, pre->cand[0], dgram + K2_OFF_MAC, src, now_ms);
	if (v == G2_PASS) {
		pre->format = 2;
		return 0;  /* no address text made: it is for log lines only */
	}
	addr_to_str(src, ip, sizeof(ip));
	switch (v) {
	case G2_PASS:
		break;
	case G2_COPY:
		COUNT(p, server_idx, k2_copy);
		if (debug)
			log_limited(p->sink[server_idx], LOG_DEBUG, SLC_RATE,
			    "user %s from %s: copy of a format-2 knock in "
			    "flight or refused, dropped", user->name, ip);
		return SL_EDUP;
	case G2_ELSEWHERE:
		COUNT(p, server_idx, k2_elsewhere);
		if (srv->logging)
			pl_outcome(p, server_idx, LOG_NOTICE, SLC_K2_ADDRESS, 1,
			    ip, user, NULL, "dropped", "elsewhere", "user %s: "
			    "copy of a refused format-2 knock from %s, dropped",
			    user->name, ip);
		return SL_EDUP;
	case G2_BUDGET:
		COUNT(p, server_idx, k2_user_budget);
		pl_outcome(p, server_idx, LOG_WARNING, SLC_K2_BUDGET, 1, ip, user,
		    NULL, "dropped", "user_budget", "user %s from %s: more than "
		    "%u format-2 knocks in %u s, dropped "
		    "(ratelimit_user_budget)", user->name, ip,
		    p->cfg->ratelimit_user_budget, p->cfg->ratelimit_window);
		return SL_ERATE;
	}
	return SL_EINVAL;  /* not reached: every verdict is handled above */
}

int
pipeline_admit(struct pipeline *p, unsigned server_idx, const uint8_t *dgram,
    size_t len, const struct sl_addr *src, time_t now, uint64_t now_ms,
    struct pipeline_pre *pre)
{
	const struct cfg_server *srv;
	char ip[SL_IPSTR_MAX];
	int rc, why;

	p->st.received++;
	memset(pre, 0, sizeof(*pre));
	if (server_idx >= p->cfg->nservers || p->crypto->dec[server_idx] == NULL)
		return SL_EINVAL;
	p->sst[server_idx].received++;
	srv = &p->cfg->servers[server_idx];
	if (len == K2_DGRAM_LEN && srv->format2)
		return admit2(p, server_idx, dgram, src, now, now_ms, pre);
	pre->format = 1;
	/* a server without format 1 takes 256 bytes as a wrong size */
	if ((rc = filter_check(p->filter, dgram, srv->format1 ? len : 0, src,
	    now_ms, &why)) == 0)
		return 0;
	if (rc == SL_ELEN)
		COUNT(p, server_idx, bad_length);
	else if (rc == SL_EDUP)
		COUNT(p, server_idx, duplicate);
	else if (why == RL_DROP_SOURCE)
		COUNT(p, server_idx, rate_source);
	else if (why == RL_DROP_PREFIX)
		COUNT(p, server_idx, rate_prefix);
	else
		COUNT(p, server_idx, rate_global);
	/* debug level: a flood must cost no more than a counter */
	if (srv->logging && log_enabled(LOG_DEBUG)) {
		addr_to_str(src, ip, sizeof(ip));
		log_limited(p->sink[server_idx], LOG_DEBUG,
		    rc == SL_ELEN ? SLC_BADLEN : SLC_RATE, "dropped %zu-byte "
		    "datagram from %s on %s: %s", len, ip, srv->name,
		    sl_strerror(rc));
	}
	return rc;
}

/* Format 2, the expensive part: unwrap, open, decode; then the fields
 * the tag and the window promised. */
static void
crypto2(const struct pipeline *p, struct pipeline_crypto *c,
    struct pipeline_job *j)
{
	const struct cfg_user *u = &p->cfg->users[j->pre.cand[0]];
	unsigned i = 0;
	int64_t skew;
	int rc;

	rc = k2_open(c->k2[j->server_idx], j->dgram, &j->in, j->rcpt_key);
	/* the candidate the inner user_id names (users sharing a key) */
	while (rc == 0 && i < j->pre.ncand &&
	    p->cfg->users[j->pre.cand[i]].id != (int)j->in.user_id)
		i++;
	if (rc == 0 && i < j->pre.ncand)
		u = &p->cfg->users[j->pre.cand[i]];
	j->user = u;
	if (rc == 0 && (i == j->pre.ncand ||
	    k2_epoch(j->in.timestamp) != j->pre.epoch[i]))
		rc = SL_EPARSE;
	if (rc == 0) {
		skew = (int64_t)j->in.timestamp - (int64_t)j->now;
		if (j->in.timestamp > (uint64_t)INT64_MAX ||
		    skew > (int64_t)p->cfg->timestamp_window ||
		    skew < -(int64_t)p->cfg->timestamp_window)
			rc = SL_ESTALE;
	}
	j->rc = rc;
}

void
pipeline_crypto(const struct pipeline *p, struct pipeline_crypto *c,
    struct pipeline_job *j)
{
	uint8_t pt[SL_PACKET_LEN];
	int prior, rc;

	if (c == NULL)
		c = p->crypto;
	if (j->pre.format == 2) {
		crypto2(p, c, j);
		return;
	}
	/* 2-5. decrypt, parse, HMAC, timestamp: uniform failure */
	prior = crypto_dec_knock(c->dec[j->server_idx], j->dgram, pt);
	rc = wire_decode(&j->k, pt, sizeof(pt));
	if (prior == 0)
		prior = rc;
	j->rc = verify_knock(c->mac, p->cfg, p->dummy_key, prior, &j->k, j->now,
	    &j->user, &j->why);
	OPENSSL_cleanse(pt, sizeof(pt));
}

static void
reply_now(struct pipeline_reply *rep, uint8_t status, uint8_t reason,
    time_t now)
{
	if (rep->when == PR_NONE)
		return;
	rep->when = PR_NOW;
	rep->r.status = status;
	rep->r.reason = reason;
	rep->r.value = 0;
	rep->r.server_time = (uint64_t)now;
}

/*
 * Format 2 after decryption: address, authorization, record, in that
 * order.  A refusal that depends on where this copy came from (it names
 * another address; it names none and its source fails allowed_ips) is not
 * recorded, so the same knock can still work, once, from the right
 * address; gate2 keeps such copies from costing more decryptions.  Every
 * other outcome is recorded before anything runs.
 */
static int
finish2(struct pipeline *p, struct pipeline_job *j, uint64_t now_ms,
    struct sl_request *req, struct pipeline_reply *rep)
{
	const struct cfg_server *srv = &p->cfg->servers[j->server_idx];
	const struct cfg_user *user = j->user;
	const struct cfg_action *act = config_action_by_id(p->cfg,
	    j->in.action_id);
	const uint8_t *mac = j->dgram + K2_OFF_MAC;
	struct sl_addr granted = j->src;
	struct wire_knock k;
	char ip[SL_IPSTR_MAX], named[SL_IPSTR_MAX], aid[16];
	const char *aname = pl_action_name(p->cfg, j->in.action_id, aid,
	    sizeof(aid)), *why, *code;
	unsigned si = j->server_idx;
	int rc = j->rc, rc2, discarded = 0, sink = p->sink[j->server_idx];
	int verbose = srv->logging;
	bool bound = j->in.has_addr;

	addr_to_str(&j->src, ip, sizeof(ip));
	if (rc == SL_ESTALE) {
		COUNT(p, si, stale);
		if (verbose)
			pl_outcome(p, si, LOG_NOTICE, SLC_STALE, 1, ip, user, aname,
			    "stale", "timestamp", "user %s from %s: "
			    "format-2 timestamp %+lld s off (window %u s), "
			    "refused", user->name, ip,
			    (long long)((int64_t)j->in.timestamp -
			    (int64_t)j->now), p->cfg->timestamp_window);
		gate2_done(p->gate2, mac, G2_DEAD, NULL, now_ms);
		return rc;
	}
	if (rc != 0) {
		COUNT(p, si, k2_unopened);
		pl_outcome(p, si, LOG_WARNING, SLC_K2_OPEN, 1, ip, user, NULL,
		    "rejected", "unopened", "user %s from %s: format-2 knock "
		    "with a good MAC does not open (%s): made for another "
		    "server key, or by a broken client", user->name, ip,
		    sl_strerror(rc));
		gate2_done(p->gate2, mac, G2_DEAD, NULL, now_ms);
		return rc;
	}
	if (bound && !addr_equal(&j->in.addr, &j->src)) {
		addr_to_str(&j->in.addr, named, sizeof(named));
		if (!srv->grant_named_address &&
		    (act == NULL || !act->grant_named_address)) {
			COUNT(p, si, k2_wrong_address);
			if (verbose)
				pl_outcome(p, si, LOG_WARNING, SLC_K2_ADDRESS, 1,
				    ip, user, aname, "denied", "wrong_address",
				    "user %s: knock for %s came from %s, refused "
				    "(grant_named_address = no)", user->name,
				    named, ip);
			gate2_done(p->gate2, mac, G2_BOUND, &j->in.addr, now_ms);
			return SL_EDENIED;
		}
		granted = j->in.addr;
	} else if (!bound && srv->require_named_address) {
		COUNT(p, si, k2_no_address);
		if (verbose)
			pl_outcome(p, si, LOG_WARNING, SLC_K2_ADDRESS, 1, ip, user,
			    aname, "denied", "no_address", "user %s from %s: "
			    "knock names no address, refused "
			    "(require_named_address = yes)", user->name, ip);
		gate2_done(p->gate2, mac, G2_DEAD, NULL, now_ms);
		return SL_EDENIED;
	}

	/* authorize, for the granted address */
	memset(&k, 0, sizeof(k));
	k.version = K2_VERSION;
	k.timestamp = (uint32_t)j->in.timestamp;
	k.user_id = j->in.user_id;
	k.action_id = j->in.action_id;
	k.payload_len = j->in.payload_len;
	memcpy(k.payload, j->in.payload, j->in.payload_len);
	rc = authz_check(p->cfg, j->server_idx, user, &k, &granted, req,
	    &discarded);
	OPENSSL_cleanse(&k, sizeof(k));
	if (rc == SL_EDENIED && !bound &&
	    authz_lists(p->cfg, j->server_idx, user, j->in.action_id) == 0) {
		/* only an allowed_ips said no, and it may say yes from
		 * elsewhere: not recorded */
		COUNT(p, si, denied);
		if (verbose) {
			why = authz_reason(p->cfg, si, user, j->in.action_id,
			    &granted, &code);
			pl_outcome(p, si, LOG_WARNING, SLC_DENIED, 1, ip, user,
			    aname, "denied", code, "user %s from %s: action %s "
			    "not permitted on %s: %s", user->name, ip, aname,
			    srv->name, why);
		}
		gate2_done(p->gate2, mac, G2_FROM, &j->src, now_ms);
		return rc;
	}
	if (rep != NULL && srv->receipt && (j->in.flags & K2_F_RECEIPT)) {
		rep->when = PR_LATER;
		memcpy(rep->key, j->rcpt_key, K2_KEY_LEN);
		memcpy(rep->mac, mac, K2_MAC_LEN);
	}

	/* record before anything runs */
	rc2 = replay_check_and_add(p->replay, j->in.user_id, mac,
	    (uint32_t)j->in.timestamp, j->now);
	if (rc2 == SL_EREPLAY) {
		/* recorded meanwhile (a copy decrypted in parallel) */
		COUNT(p, si, replayed);
		if (verbose)
			pl_outcome(p, si, LOG_WARNING, SLC_REPLAY, 1, ip, user,
			    aname, "replayed", "replay", "user %s from %s: "
			    "replayed format-2 knock refused", user->name, ip);
		gate2_done(p->gate2, mac, G2_RECORDED, NULL, now_ms);
		if (rep != NULL)
			rep->when = PR_NONE;
		return rc2;
	}
	if (rc2 != 0) {
		if (rc2 == SL_EFULL)
			COUNT(p, si, cache_full);
		else
			COUNT(p, si, state_error);
		pl_outcome(p, si, LOG_ERR, rc2 == SL_EFULL ? SLC_CACHE_FULL :
		    SLC_STATE_IO, 1, ip, user, aname, "refused", rc2 == SL_EFULL ?
		    "cache_full" : "state_error", "user %s from %s: format-2 "
		    "knock not recorded (%s), refused", user->name, ip,
		    rc2 != SL_EFULL ?
		    sl_strerror(rc2) : replay_user_full(p->replay,
		    j->in.user_id) ? "this user's share of the replay cache "
		    "is full" : "replay cache full; raise replay_cache_size");
		gate2_done(p->gate2, mac, G2_DEAD, NULL, now_ms);
		/* no receipt: an unrecorded knock may be recorded later, and
		 * a second receipt under the same key must never exist */
		if (rep != NULL)
			rep->when = PR_NONE;
		return rc2;
	}
	gate2_done(p->gate2, mac, G2_RECORDED, NULL, now_ms);
	/* a fresh authenticated knock: this source keeps its own budget */
	filter_outcome(p->filter, &j->src, 1, now_ms);
	if (rc == SL_ENOTASCII) {
		COUNT(p, si, not_ascii);
		if (verbose)
			pl_outcome(p, si, LOG_WARNING, SLC_NOTASCII, 1, ip, user,
			    aname, "denied", "not_ascii", "user %s from %s: "
			    "action %s requires a printable ASCII payload, "
			    "refused", user->name, ip, aname);
		if (rep != NULL)
			reply_now(rep, K2_ST_REFUSED, K2_R_PAYLOAD, j->now);
		return rc;
	}
	if (rc != 0) {
		COUNT(p, si, denied);
		if (verbose) {
			why = authz_reason(p->cfg, si, user, j->in.action_id,
			    &granted, &code);
			pl_outcome(p, si, LOG_WARNING, SLC_DENIED, 1, ip, user,
			    aname, "denied", code, "user %s from %s: action %s "
			    "not permitted on %s: %s", user->name, ip, aname,
			    srv->name, why);
		}
		if (rep != NULL)
			reply_now(rep, K2_ST_REFUSED, K2_R_DENIED, j->now);
		return rc;
	}
	if (discarded && verbose)
		log_sink(sink, LOG_INFO, SLC_PAYLOAD_DROP, "user %s: action %s "
		    "discards payloads, %u bytes dropped", user->name,
		    act->name, j->in.payload_len);
	memcpy(req->replay_key, mac, sizeof(req->replay_key));
	COUNT(p, si, accepted);
	COUNT(p, si, k2_accepted);
	if (verbose) {
		addr_to_str(&granted, named, sizeof(named));
		pl_outcome(p, si, LOG_NOTICE, SLC_ACCEPT, 0, ip, user, act->name,
		    "accepted", NULL, "user %s from %s on %s: "
		    "action %s authorized (format 2, for %s%s)", user->name, ip,
		    srv->name, act->name, named, bound ? "" :
		    ", no address named");
	}
	return 0;
}

/*
 * SL201, format 1: what failed, where it is known.  The packet took the
 * same steps whatever it was; this line and a counter are the only
 * difference, and neither reaches the network.
 */
static void
reject_line(const struct pipeline *p, const struct pipeline_job *j,
    const char *ip)
{
	const char *srv = p->cfg->servers[j->server_idx].name;
	const char *rn = verify_why_name(j->why);
	unsigned id = j->k.user_id;
	int slot = p->cfg->user_by_id[id];
	const char *uname = slot >= 0 ? p->cfg->users[slot].name : "?";
	char what[SL_NAME_MAX + 64];

	switch (j->why) {
	case VW_DECRYPT:
		snprintf(what, sizeof(what), "did not decrypt with this "
		    "server's key");
		break;
	case VW_MALFORMED:
		snprintf(what, sizeof(what), "decrypted, but not a knock "
		    "(wrong length or payload length)");
		break;
	case VW_VERSION:
		snprintf(what, sizeof(what), "bad version %u",
		    (unsigned)j->k.version);
		break;
	case VW_UNKNOWN_USER:
		snprintf(what, sizeof(what), "unknown user id %u", id);
		break;
	case VW_DISABLED:
		snprintf(what, sizeof(what), "user %s (id %u) disabled",
		    uname, id);
		break;
	default:
		snprintf(what, sizeof(what), "HMAC mismatch for user %s (id %u)",
		    uname, id);
		break;
	}
	pl_outcome(p, j->server_idx, LOG_NOTICE, SLC_REJECT, 1, ip, NULL, NULL,
	    "rejected", rn, "rejected packet from %s on %s: %s", ip, srv, what);
}

int
pipeline_finish(struct pipeline *p, struct pipeline_job *j, uint64_t now_ms,
    struct sl_request *req, struct pipeline_reply *rep)
{
	const struct cfg_server *srv = &p->cfg->servers[j->server_idx];
	const struct cfg_user *user = j->user;
	const struct cfg_action *act;
	const struct wire_knock *k = &j->k;
	char ip[SL_IPSTR_MAX], aid[16];
	const char *aname, *why, *code;
	unsigned si = j->server_idx;
	int rc = j->rc, discarded = 0, sink = p->sink[j->server_idx];
	int verbose = srv->logging;

	if (rep != NULL)
		memset(rep, 0, sizeof(*rep));
	if (j->pre.format == 2) {
		rc = finish2(p, j, now_ms, req, rep);
		OPENSSL_cleanse(&j->in, sizeof(j->in));
		OPENSSL_cleanse(j->rcpt_key, sizeof(j->rcpt_key));
		return rc;
	}
	addr_to_str(&j->src, ip, sizeof(ip));
	if (rc == SL_EAUTH) {
		if (j->why <= VW_NONE || j->why >= VW_NREASONS)
			j->why = VW_HMAC;  /* not reached: verify_knock sets it */
		COUNT(p, si, rejected);
		p->why[j->why]++;
		p->srv_why[si][j->why]++;
		if (verbose)
			reject_line(p, j, ip);
		goto fail;
	}
	aname = pl_action_name(p->cfg, k->action_id, aid, sizeof(aid));
	if (rc == SL_ESTALE) {
		COUNT(p, si, stale);
		if (verbose)
			pl_outcome(p, si, LOG_NOTICE, SLC_STALE, 1, ip, user, aname,
			    "stale", "timestamp", "user %s from %s: "
			    "timestamp %+lld s off (window %u s), refused",
			    user->name, ip,
			    (long long)((int64_t)k->timestamp - (int64_t)j->now),
			    p->cfg->timestamp_window);
		goto fail;
	}
	if (rc != 0)
		goto fail;

	/* 6. replay: record the authenticated packet before anything runs */
	rc = replay_check_and_add(p->replay, k->user_id, k->hmac, k->timestamp,
	    j->now);
	if (rc == SL_EREPLAY) {
		COUNT(p, si, replayed);
		if (verbose)
			pl_outcome(p, si, LOG_WARNING, SLC_REPLAY, 1, ip, user,
			    aname, "replayed", "replay", "user %s from %s: "
			    "replayed packet refused", user->name, ip);
		goto fail;
	}
	if (rc == SL_EFULL) {
		COUNT(p, si, cache_full);
		if (replay_user_full(p->replay, k->user_id))
			pl_outcome(p, si, LOG_ERR, SLC_CACHE_FULL, 1, ip, user,
			    aname, "refused", "cache_full", "user %s from "
			    "%s: this user's share of the replay cache is full "
			    "(%u live entries), packet refused",
			    user->name, ip, replay_user_count(p->replay,
			    k->user_id));
		else
			pl_outcome(p, si, LOG_ERR, SLC_CACHE_FULL, 1, ip, user,
			    aname, "refused", "cache_full", "user %s from "
			    "%s: replay cache full (%u live entries), packet "
			    "refused; raise replay_cache_size", user->name, ip,
			    replay_count(p->replay));
		goto refund;
	}
	if (rc != 0) {
		COUNT(p, si, state_error);
		pl_outcome(p, si, LOG_ERR, SLC_STATE_IO, 1, ip, user, aname,
		    "refused", "state_error", "user %s from %s: replay "
		    "state not written (%s), packet refused", user->name, ip,
		    sl_strerror(rc));
		goto refund;
	}
	/* a fresh authenticated knock: it gets back what its admission
	 * paid, and its source is known good */
	filter_refund(p->filter, &j->src, now_ms);
	filter_outcome(p->filter, &j->src, 1, now_ms);

	/* 7. authorize */
	rc = authz_check(p->cfg, j->server_idx, user, k, &j->src, req,
	    &discarded);
	act = config_action_by_id(p->cfg, k->action_id);
	if (rc == SL_ENOTASCII) {
		COUNT(p, si, not_ascii);
		if (verbose)
			pl_outcome(p, si, LOG_WARNING, SLC_NOTASCII, 1, ip, user,
			    aname, "denied", "not_ascii", "user %s from %s: "
			    "action %s requires a printable ASCII payload, "
			    "refused", user->name, ip, aname);
		goto out;
	}
	if (rc != 0) {
		COUNT(p, si, denied);
		if (verbose) {
			why = authz_reason(p->cfg, si, user, k->action_id,
			    &j->src, &code);
			pl_outcome(p, si, LOG_WARNING, SLC_DENIED, 1, ip, user,
			    aname, "denied", code, "user %s from %s: action %s "
			    "not permitted on %s: %s", user->name, ip, aname,
			    srv->name, why);
		}
		goto out;
	}
	if (discarded && verbose)
		log_sink(sink, LOG_INFO, SLC_PAYLOAD_DROP, "user %s: action %s "
		    "discards payloads, %u bytes dropped", user->name,
		    act->name, k->payload_len);
	memcpy(req->replay_key, k->hmac, sizeof(req->replay_key));
	COUNT(p, si, accepted);
	if (verbose)
		pl_outcome(p, si, LOG_NOTICE, SLC_ACCEPT, 0, ip, user, act->name,
		    "accepted", NULL, "user %s from %s on %s: action %s "
		    "authorized", user->name, ip, srv->name, act->name);
	goto out;
fail:
	/* failed before authentication, stale or replayed: one budget, paid
	 * at admission; spent, it becomes a penalty */
	filter_outcome(p->filter, &j->src, 0, now_ms);
	goto out;
refund:
	/* authenticated, but the server could not record it: not the
	 * source's fault */
	filter_refund(p->filter, &j->src, now_ms);
out:
	OPENSSL_cleanse(&j->k, sizeof(j->k));
	return rc;
}

int
pipeline_process(struct pipeline *p, unsigned server_idx,
    const uint8_t *dgram, size_t len, const struct sl_addr *src, time_t now,
    struct sl_request *req)
{
	struct pipeline_job j;
	uint64_t ms = sl_mono_ms();
	int rc;

	pipeline_tick(p, now, NULL, NULL);
	memset(&j, 0, sizeof(j));
	if ((rc = pipeline_admit(p, server_idx, dgram, len, src, now, ms,
	    &j.pre)) != 0)
		return rc;
	j.server_idx = server_idx;
	j.src = *src;
	j.now = now;
	memcpy(j.dgram, dgram, len);
	pipeline_crypto(p, p->crypto, &j);
	return pipeline_finish(p, &j, ms, req, NULL);
}
