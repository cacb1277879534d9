/*
 * pipeline.c - the receive path in the order PROTOCOL.md requires, and in
 * that order in this file:
 *
 *   1. pipeline_admit   length -> budgets -> duplicate (format 1,
 *                       filter_check); format 2 (admit2): tag -> MAC ->
 *                       seen before -> copies -> the user's budget
 *   2-5. pipeline_crypto  decrypt -> parse -> HMAC (always computed) ->
 *                       timestamp; format 2 (crypto2): unwrap, open, decode
 *   6-7. pipeline_finish  format 1: what 2-5 said -> replay (record) ->
 *                       authorize; format 2 (finish2): what 2-5 said and
 *                       the address -> authorize -> record -> refuse or
 *                       accept
 *
 * Each outcome on the way is a row of pl_rows (its code, counters and log
 * line), and pl_report() is the only place that counts and logs one.
 * Everything that fails before the HMAC verifies is one log class (SL201)
 * and one counter, and counts against the sender's budget exactly like a
 * stale or replayed knock.  What made it fail (verify.h's reasons) is told
 * only to the log line and to counters beside the uniform one: the network
 * sees no difference.
 */
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

/* ---------------------------------------------------------------- */
/* The outcomes                                                      */

/*
 * Every way a datagram can end, in the order the receive path meets
 * them, one row each: the code pipeline_* returns, the counters it
 * moves (offsets in struct pipeline_stats), and its log line: code,
 * priority, when it is written, whether it is rate-limited (log_limited)
 * and whether it carries the outcome fields of log_outcome() (JSON: src,
 * server, outcome, reason; user and action when flagged).  The text's
 * {fields} are filled in by pl_field() once the row's "when" lets the
 * line through (before log_limited decides), so that what a flood reaches
 * cheaply, the debug rows, costs no string work without debug logging.  The lines are an interface:
 * fail2ban filters and the tests read them (test_pipeline_outcomes).
 */
enum pl_out {
	/* pipeline_admit, format 1: cheap checks (filter_check) */
	PO_BAD_LENGTH, PO_DUPLICATE, PO_RATE_SOURCE, PO_RATE_PREFIX,
	PO_RATE_GLOBAL,
	/* admit2: tag, MAC, replay, copies, the user's budget */
	PO_K2_UNKNOWN_TAG, PO_K2_BAD_MAC, PO_K2_REPLAYED, PO_K2_COPY,
	PO_K2_ELSEWHERE, PO_K2_BUDGET,
	/* finish1: what verify_knock said */
	PO_REJECTED, PO_STALE,
	/* finish2: opened, and the address it names */
	PO_K2_STALE, PO_K2_UNOPENED, PO_K2_WRONG_ADDRESS, PO_K2_NO_ADDRESS,
	/* recording in the replay cache */
	PO_REPLAYED, PO_USER_FULL, PO_CACHE_FULL, PO_STATE_ERROR,
	PO_K2_REPLAYED_LATE, PO_K2_USER_FULL, PO_K2_CACHE_FULL,
	PO_K2_STATE_ERROR,
	/* authorization, both formats */
	PO_NOT_ASCII, PO_DENIED, PO_DISCARDED, PO_ACCEPTED, PO_K2_ACCEPTED,
	PO_K2_ACCEPTED_UNNAMED,
	PO_COUNT
};

enum pl_when {
	PW_ALWAYS,      /* whatever the server's logging says */
	PW_LOGGING,     /* the server has logging = yes */
	PW_DEBUG        /* ... and debug lines are written */
};

#define PF_LIMITED  0x01        /* log_limited: a burst, then SL290 */
#define PF_FIELDS   0x02        /* the outcome fields (src, server, ...) */
#define PF_USER     0x04        /* ... with the user */
#define PF_ACTION   0x08        /* ... with the action */
#define PF_KNOCK    (PF_LIMITED | PF_FIELDS | PF_USER | PF_ACTION)

#define PL_RC_STAGE 1           /* rc: the stage's own code ({err}; the
                                   rate rows: SL_ERATE) */
#define PL_NONE     ((size_t)-1)        /* no counter */
#define C(f)        offsetof(struct pipeline_stats, f)

struct pl_row {
	int rc;
	size_t counter, also;
	int code, prio;
	enum pl_when when;
	unsigned flags;         /* PF_* */
	const char *outcome;    /* JSON "outcome" */
	const char *reason;     /* JSON "reason": NULL, or a text with fields */
	const char *text;
};

static const struct pl_row pl_rows[PO_COUNT] = {
	[PO_BAD_LENGTH] = { SL_ELEN, C(bad_length), PL_NONE,
	    SLC_BADLEN, LOG_DEBUG, PW_DEBUG, PF_LIMITED, NULL, NULL,
	    "dropped {n}-byte datagram from {ip} on {server}: {err}" },
	[PO_DUPLICATE] = { SL_EDUP, C(duplicate), PL_NONE,
	    SLC_RATE, LOG_DEBUG, PW_DEBUG, PF_LIMITED, NULL, NULL,
	    "dropped {n}-byte datagram from {ip} on {server}: {err}" },
	[PO_RATE_SOURCE] = { PL_RC_STAGE, C(rate_source), PL_NONE,
	    SLC_RATE, LOG_DEBUG, PW_DEBUG, PF_LIMITED, NULL, NULL,
	    "dropped {n}-byte datagram from {ip} on {server}: {err}" },
	[PO_RATE_PREFIX] = { PL_RC_STAGE, C(rate_prefix), PL_NONE,
	    SLC_RATE, LOG_DEBUG, PW_DEBUG, PF_LIMITED, NULL, NULL,
	    "dropped {n}-byte datagram from {ip} on {server}: {err}" },
	[PO_RATE_GLOBAL] = { PL_RC_STAGE, C(rate_global), PL_NONE,
	    SLC_RATE, LOG_DEBUG, PW_DEBUG, PF_LIMITED, NULL, NULL,
	    "dropped {n}-byte datagram from {ip} on {server}: {err}" },

	[PO_K2_UNKNOWN_TAG] = { SL_EAUTH, C(k2_unknown_tag), PL_NONE,
	    SLC_K2_DROP, LOG_DEBUG, PW_DEBUG, PF_LIMITED, NULL, NULL,
	    "dropped format-2 datagram from {ip} on {server}: no user's "
	    "current tag" },
	[PO_K2_BAD_MAC] = { SL_EAUTH, C(k2_bad_mac), PL_NONE,
	    SLC_K2_DROP, LOG_DEBUG, PW_DEBUG, PF_LIMITED, NULL, NULL,
	    "dropped format-2 datagram from {ip} on {server}: wrong MAC" },
	[PO_K2_REPLAYED] = { SL_EREPLAY, C(replayed), PL_NONE,
	    SLC_REPLAY, LOG_WARNING, PW_LOGGING, PF_KNOCK & ~PF_ACTION,
	    "replayed", "replay",
	    "user {user} from {ip}: replayed format-2 knock refused" },
	[PO_K2_COPY] = { SL_EDUP, C(k2_copy), PL_NONE,
	    SLC_RATE, LOG_DEBUG, PW_DEBUG, PF_LIMITED, NULL, NULL,
	    "user {user} from {ip}: copy of a format-2 knock in flight or "
	    "refused, dropped" },
	[PO_K2_ELSEWHERE] = { SL_EDUP, C(k2_elsewhere), PL_NONE,
	    SLC_K2_ADDRESS, LOG_NOTICE, PW_LOGGING, PF_KNOCK & ~PF_ACTION,
	    "dropped", "elsewhere",
	    "user {user}: copy of a refused format-2 knock from {ip}, "
	    "dropped" },
	[PO_K2_BUDGET] = { SL_ERATE, C(k2_user_budget), PL_NONE,
	    SLC_K2_BUDGET, LOG_WARNING, PW_ALWAYS, PF_KNOCK & ~PF_ACTION,
	    "dropped", "user_budget",
	    "user {user} from {ip}: more than {budget} format-2 knocks in "
	    "{rlwindow} s, dropped (ratelimit_user_budget)" },

	[PO_REJECTED] = { SL_EAUTH, C(rejected), PL_NONE,
	    SLC_REJECT, LOG_NOTICE, PW_LOGGING, PF_LIMITED | PF_FIELDS,
	    "rejected", "{code}",
	    "rejected packet from {ip} on {server}: {why}" },
	[PO_STALE] = { SL_ESTALE, C(stale), PL_NONE,
	    SLC_STALE, LOG_NOTICE, PW_LOGGING, PF_KNOCK,
	    "stale", "timestamp",
	    "user {user} from {ip}: timestamp {skew} s off (window {window} "
	    "s), refused" },

	[PO_K2_STALE] = { SL_ESTALE, C(stale), PL_NONE,
	    SLC_STALE, LOG_NOTICE, PW_LOGGING, PF_KNOCK,
	    "stale", "timestamp",
	    "user {user} from {ip}: format-2 timestamp {skew} s off (window "
	    "{window} s), refused" },
	[PO_K2_UNOPENED] = { PL_RC_STAGE, C(k2_unopened), PL_NONE,
	    SLC_K2_OPEN, LOG_WARNING, PW_ALWAYS, PF_KNOCK & ~PF_ACTION,
	    "rejected", "unopened",
	    "user {user} from {ip}: format-2 knock with a good MAC does not "
	    "open ({err}): made for another server key, or by a broken "
	    "client" },
	[PO_K2_WRONG_ADDRESS] = { SL_EDENIED, C(k2_wrong_address), PL_NONE,
	    SLC_K2_ADDRESS, LOG_WARNING, PW_LOGGING, PF_KNOCK,
	    "denied", "wrong_address",
	    "user {user}: knock for {named} came from {ip}, refused "
	    "(grant_named_address = no)" },
	[PO_K2_NO_ADDRESS] = { SL_EDENIED, C(k2_no_address), PL_NONE,
	    SLC_K2_ADDRESS, LOG_WARNING, PW_LOGGING, PF_KNOCK,
	    "denied", "no_address",
	    "user {user} from {ip}: knock names no address, refused "
	    "(require_named_address = yes)" },

	[PO_REPLAYED] = { SL_EREPLAY, C(replayed), PL_NONE,
	    SLC_REPLAY, LOG_WARNING, PW_LOGGING, PF_KNOCK,
	    "replayed", "replay",
	    "user {user} from {ip}: replayed packet refused" },
	[PO_USER_FULL] = { SL_EFULL, C(cache_full), PL_NONE,
	    SLC_CACHE_FULL, LOG_ERR, PW_ALWAYS, PF_KNOCK,
	    "refused", "cache_full",
	    "user {user} from {ip}: this user's share of the replay cache is "
	    "full ({n} live entries), packet refused" },
	[PO_CACHE_FULL] = { SL_EFULL, C(cache_full), PL_NONE,
	    SLC_CACHE_FULL, LOG_ERR, PW_ALWAYS, PF_KNOCK,
	    "refused", "cache_full",
	    "user {user} from {ip}: replay cache full ({n} live entries), "
	    "packet refused; raise replay_cache_size" },
	[PO_STATE_ERROR] = { PL_RC_STAGE, C(state_error), PL_NONE,
	    SLC_STATE_IO, LOG_ERR, PW_ALWAYS, PF_KNOCK,
	    "refused", "state_error",
	    "user {user} from {ip}: replay state not written ({err}), packet "
	    "refused" },
	[PO_K2_REPLAYED_LATE] = { SL_EREPLAY, C(replayed), PL_NONE,
	    SLC_REPLAY, LOG_WARNING, PW_LOGGING, PF_KNOCK,
	    "replayed", "replay",
	    "user {user} from {ip}: replayed format-2 knock refused" },
	[PO_K2_USER_FULL] = { SL_EFULL, C(cache_full), PL_NONE,
	    SLC_CACHE_FULL, LOG_ERR, PW_ALWAYS, PF_KNOCK,
	    "refused", "cache_full",
	    "user {user} from {ip}: format-2 knock not recorded (this user's "
	    "share of the replay cache is full), refused" },
	[PO_K2_CACHE_FULL] = { SL_EFULL, C(cache_full), PL_NONE,
	    SLC_CACHE_FULL, LOG_ERR, PW_ALWAYS, PF_KNOCK,
	    "refused", "cache_full",
	    "user {user} from {ip}: format-2 knock not recorded (replay cache "
	    "full; raise replay_cache_size), refused" },
	[PO_K2_STATE_ERROR] = { PL_RC_STAGE, C(state_error), PL_NONE,
	    SLC_STATE_IO, LOG_ERR, PW_ALWAYS, PF_KNOCK,
	    "refused", "state_error",
	    "user {user} from {ip}: format-2 knock not recorded ({err}), "
	    "refused" },

	[PO_NOT_ASCII] = { SL_ENOTASCII, C(not_ascii), PL_NONE,
	    SLC_NOTASCII, LOG_WARNING, PW_LOGGING, PF_KNOCK,
	    "denied", "not_ascii",
	    "user {user} from {ip}: action {action} requires a printable "
	    "ASCII payload, refused" },
	[PO_DENIED] = { PL_RC_STAGE, C(denied), PL_NONE,
	    SLC_DENIED, LOG_WARNING, PW_LOGGING, PF_KNOCK,
	    "denied", "{code}",
	    "user {user} from {ip}: action {action} not permitted on "
	    "{server}: {why}" },
	[PO_DISCARDED] = { 0, PL_NONE, PL_NONE,
	    SLC_PAYLOAD_DROP, LOG_INFO, PW_LOGGING, 0, NULL, NULL,
	    "user {user}: action {action} discards payloads, {n} bytes "
	    "dropped" },
	[PO_ACCEPTED] = { 0, C(accepted), PL_NONE,
	    SLC_ACCEPT, LOG_NOTICE, PW_LOGGING, PF_KNOCK & ~PF_LIMITED,
	    "accepted", NULL,
	    "user {user} from {ip} on {server}: action {action} authorized" },
	[PO_K2_ACCEPTED] = { 0, C(accepted), C(k2_accepted),
	    SLC_ACCEPT, LOG_NOTICE, PW_LOGGING, PF_KNOCK & ~PF_LIMITED,
	    "accepted", NULL,
	    "user {user} from {ip} on {server}: action {action} authorized "
	    "(format 2, for {named})" },
	[PO_K2_ACCEPTED_UNNAMED] = { 0, C(accepted), C(k2_accepted),
	    SLC_ACCEPT, LOG_NOTICE, PW_LOGGING, PF_KNOCK & ~PF_LIMITED,
	    "accepted", NULL,
	    "user {user} from {ip} on {server}: action {action} authorized "
	    "(format 2, for {named}, no address named)" },
};
#undef C

/* One datagram on its way, and what its log lines may say. */
struct pl_ctx {
	struct pipeline *p;
	unsigned si;                    /* server index */
	const struct cfg_server *srv;
	const struct sl_addr *src;      /* {ip} */
	const struct cfg_user *user;    /* {user}; NULL before it is known */
	const char *action;             /* {action}: its name, or "id N" */
	char aid[16];                   /* ... "id N" */
	const struct sl_addr *named;    /* {named} */
	const char *why, *code;         /* {why}, {code} */
	long long skew;                 /* {skew}: seconds */
	size_t n;                       /* {n}: bytes, entries */
	int rc;                         /* {err}, and PL_RC_STAGE's code */
};

static void
pl_ctx_init(struct pl_ctx *c, struct pipeline *p, unsigned si,
    const struct sl_addr *src)
{
	memset(c, 0, sizeof(*c));
	c->p = p;
	c->si = si;
	c->srv = &p->cfg->servers[si];
	c->src = src;
}

/* The action's name for a log line, even when it is disabled; else
 * "id N". */
static void
pl_ctx_action(struct pl_ctx *c, unsigned id)
{
	int i = c->p->cfg->action_by_id[id & 0xff];

	if (i >= 0) {
		c->action = c->p->cfg->actions[i].name;
		return;
	}
	snprintf(c->aid, sizeof(c->aid), "id %u", id);
	c->action = c->aid;
}

/* A {field}'s text (name is len bytes long); buf for the ones made here. */
static const char *
pl_field(const struct pl_ctx *c, const char *ip, const char *name,
    size_t len, char *buf, size_t buflen)
{
	const struct config *cfg = c->p->cfg;

#define IS(s) (len == sizeof(s) - 1 && memcmp(name, s, len) == 0)
	if (IS("ip"))
		return ip;
	if (IS("user"))
		return c->user != NULL ? c->user->name : "?";
	if (IS("server"))
		return c->srv->name;
	if (IS("action"))
		return c->action != NULL ? c->action : "?";
	if (IS("why"))
		return c->why != NULL ? c->why : "?";
	if (IS("code"))
		return c->code != NULL ? c->code : "?";
	if (IS("err"))
		return sl_strerror(c->rc);
	if (IS("named") && c->named != NULL)
		addr_to_str(c->named, buf, buflen);
	else if (IS("skew"))
		snprintf(buf, buflen, "%+lld", c->skew);
	else if (IS("n"))
		snprintf(buf, buflen, "%zu", c->n);
	else if (IS("window"))
		snprintf(buf, buflen, "%u", cfg->timestamp_window);
	else if (IS("budget"))
		snprintf(buf, buflen, "%u", cfg->ratelimit_user_budget);
	else if (IS("rlwindow"))
		snprintf(buf, buflen, "%u", cfg->ratelimit_window);
	else
		snprintf(buf, buflen, "{%.*s}", (int)len, name);
#undef IS
	return buf;
}

/* A row's text with its {fields} filled in. */
static void
pl_expand(const struct pl_ctx *c, const char *ip, const char *t, char *out,
    size_t len)
{
	char buf[SL_IPSTR_MAX + 16];
	const char *e, *s;
	size_t n = 0, k;

	while (*t != '\0' && n + 1 < len) {
		if (*t != '{' || (e = strchr(t, '}')) == NULL) {
			out[n++] = *t++;
			continue;
		}
		s = pl_field(c, ip, t + 1, (size_t)(e - t - 1), buf,
		    sizeof(buf));
		k = strlen(s);
		if (k > len - 1 - n)
			k = len - 1 - n;
		memcpy(out + n, s, k);
		n += k;
		t = e + 1;
	}
	out[n] = '\0';
}

/* Add one to a counter, in the totals and in the server's own. */
static void
pl_count(struct pipeline *p, unsigned si, size_t off)
{
	if (off == PL_NONE)
		return;
	(*(uint64_t *)(void *)((char *)&p->st + off))++;
	(*(uint64_t *)(void *)((char *)&p->sst[si] + off))++;
}

/*
 * The driver: an outcome moves its counters, then writes its line if
 * its row says so for this server; returns the row's code.
 */
static int
pl_report(const struct pl_ctx *c, enum pl_out o)
{
	const struct pl_row *r = &pl_rows[o];
	struct log_outcome lo;
	char ip[SL_IPSTR_MAX], text[2048], reason[SL_NAME_MAX];
	int rc = r->rc == PL_RC_STAGE ? c->rc : r->rc;

	pl_count(c->p, c->si, r->counter);
	pl_count(c->p, c->si, r->also);
	if ((r->when == PW_LOGGING && !c->srv->logging) ||
	    (r->when == PW_DEBUG && !(c->srv->logging &&
	    log_enabled(LOG_DEBUG))))
		return rc;
	addr_to_str(c->src, ip, sizeof(ip));
	pl_expand(c, ip, r->text, text, sizeof(text));
	if (r->reason != NULL)
		pl_expand(c, ip, r->reason, reason, sizeof(reason));
	lo.src = ip;
	lo.server = c->srv->name;
	lo.user = (r->flags & PF_USER) && c->user != NULL ? c->user->name :
	    NULL;
	lo.action = (r->flags & PF_ACTION) ? c->action : NULL;
	lo.outcome = r->outcome;
	lo.reason = r->reason != NULL ? reason : NULL;
	log_outcome(c->p->sink[c->si], r->prio, r->code,
	    (r->flags & PF_LIMITED) != 0, (r->flags & PF_FIELDS) ? &lo : NULL,
	    "%s", text);
	return rc;
}

/* ---------------------------------------------------------------- */
/* 1. Admission: main thread, before any cryptography                */

/* Format 2: the users whose tag and MAC the datagram carries, into pre;
 * 0, or the outcome's code. */
static int
admit2_who(struct pl_ctx *c, const uint8_t *dgram, struct pipeline_pre *pre)
{
	struct tag_hit hits[TAGS_HITS_MAX];
	unsigned n, i;

	if ((n = tags_lookup(c->p->tags, dgram + K2_OFF_TAG, hits,
	    TAGS_HITS_MAX)) == 0)
		return pl_report(c, PO_K2_UNKNOWN_TAG);
	/* every user whose key makes this MAC: one, unless users share a
	 * key (then the inner user_id, once decrypted, says which) */
	pre->ncand = 0;
	for (i = 0; i < n && pre->ncand < PIPELINE_CANDS; i++)
		if (tags_mac_verify(c->p->tags, hits[i].user, dgram) == 0) {
			pre->cand[pre->ncand] = hits[i].user;
			pre->epoch[pre->ncand++] = hits[i].epoch;
		}
	if (pre->ncand == 0)
		return pl_report(c, PO_K2_BAD_MAC);
	return 0;
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
	struct pl_ctx c;
	unsigned i;
	int rc;

	pl_ctx_init(&c, p, server_idx, src);
	if ((rc = admit2_who(&c, dgram, pre)) != 0)
		return rc;
	/* authenticated by a key holder from here on (a copy may come from
	 * anyone, though) */
	c.user = &p->cfg->users[pre->cand[0]];
	for (i = 0; i < pre->ncand; i++)
		if (replay_seen(p->replay,
		    (uint16_t)p->cfg->users[pre->cand[i]].id,
		    dgram + K2_OFF_MAC, now)) {
			c.user = &p->cfg->users[pre->cand[i]];
			return pl_report(&c, PO_K2_REPLAYED);
		}
	switch (gate2_admit(p->gate2, pre->cand[0], dgram + K2_OFF_MAC, src,
	    now_ms)) {
	case G2_PASS:
		pre->format = 2;
		return 0;  /* no address text made: it is for log lines only */
	case G2_COPY:
		return pl_report(&c, PO_K2_COPY);
	case G2_ELSEWHERE:
		return pl_report(&c, PO_K2_ELSEWHERE);
	case G2_BUDGET:
		return pl_report(&c, PO_K2_BUDGET);
	}
	return SL_EINVAL;  /* not reached: every verdict is handled above */
}

int
pipeline_admit(struct pipeline *p, unsigned server_idx, const uint8_t *dgram,
    size_t len, const struct sl_addr *src, time_t now, uint64_t now_ms,
    struct pipeline_pre *pre)
{
	const struct cfg_server *srv;
	struct pl_ctx c;
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
	/* debug level: a flood must cost no more than a counter */
	pl_ctx_init(&c, p, server_idx, src);
	c.rc = rc;
	c.n = len;
	if (rc == SL_ELEN)
		return pl_report(&c, PO_BAD_LENGTH);
	if (rc == SL_EDUP)
		return pl_report(&c, PO_DUPLICATE);
	return pl_report(&c, why == RL_DROP_SOURCE ? PO_RATE_SOURCE :
	    why == RL_DROP_PREFIX ? PO_RATE_PREFIX : PO_RATE_GLOBAL);
}

/* ---------------------------------------------------------------- */
/* 2-5. Cryptography: any thread, reads only the configuration        */

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

/* ---------------------------------------------------------------- */
/* 6-7. Finishing: main thread; replay, authorize                   */

/*
 * SL201, format 1: what failed, where it is known.  The packet took the
 * same steps whatever it was; this line and a counter are the only
 * difference, and neither reaches the network.
 */
static void
reject_why(const struct pipeline *p, const struct pipeline_job *j,
    char *what, size_t len)
{
	unsigned id = j->k.user_id;
	int slot = p->cfg->user_by_id[id];
	const char *uname = slot >= 0 ? p->cfg->users[slot].name : "?";

	switch (j->why) {
	case VW_DECRYPT:
		snprintf(what, len, "did not decrypt with this server's key");
		break;
	case VW_MALFORMED:
		snprintf(what, len, "decrypted, but not a knock (wrong length "
		    "or payload length)");
		break;
	case VW_VERSION:
		snprintf(what, len, "bad version %u", (unsigned)j->k.version);
		break;
	case VW_UNKNOWN_USER:
		snprintf(what, len, "unknown user id %u", id);
		break;
	case VW_DISABLED:
		snprintf(what, len, "user %s (id %u) disabled", uname, id);
		break;
	default:
		snprintf(what, len, "HMAC mismatch for user %s (id %u)", uname,
		    id);
		break;
	}
}

/* Format 1, after 2-5: what verify_knock said; 0 to go on, else the
 * outcome's code.  what holds SL201's text. */
static int
finish1_verified(struct pl_ctx *c, struct pipeline_job *j, char *what,
    size_t len)
{
	if (j->rc == SL_EAUTH) {
		if (j->why <= VW_NONE || j->why >= VW_NREASONS)
			j->why = VW_HMAC;  /* not reached: verify_knock sets */
		c->p->why[j->why]++;
		c->p->srv_why[c->si][j->why]++;
		reject_why(c->p, j, what, len);
		c->why = what;
		c->code = verify_why_name(j->why);
		return pl_report(c, PO_REJECTED);
	}
	if (j->rc == SL_ESTALE) {
		c->skew = (long long)((int64_t)j->k.timestamp -
		    (int64_t)j->now);
		return pl_report(c, PO_STALE);
	}
	return j->rc;
}

/* Format 1, 6: record the authenticated packet before anything runs; 0,
 * or the outcome's code. */
static int
finish1_record(struct pl_ctx *c, const struct pipeline_job *j)
{
	const struct wire_knock *k = &j->k;
	struct replay *r = c->p->replay;

	c->rc = replay_check_and_add(r, k->user_id, k->hmac, k->timestamp,
	    j->now);
	if (c->rc == 0)
		return 0;
	if (c->rc == SL_EREPLAY)
		return pl_report(c, PO_REPLAYED);
	if (c->rc != SL_EFULL)
		return pl_report(c, PO_STATE_ERROR);
	if (replay_user_full(r, k->user_id)) {
		c->n = replay_user_count(r, k->user_id);
		return pl_report(c, PO_USER_FULL);
	}
	c->n = replay_count(r);
	return pl_report(c, PO_CACHE_FULL);
}

/* Format 1, 7: authorize; 0 and *req filled, or the outcome's code. */
static int
finish1_authorize(struct pl_ctx *c, const struct pipeline_job *j,
    struct sl_request *req)
{
	const struct wire_knock *k = &j->k;
	int discarded = 0;

	c->rc = authz_check(c->p->cfg, c->si, c->user, k, &j->src, req,
	    &discarded);
	if (c->rc == SL_ENOTASCII)
		return pl_report(c, PO_NOT_ASCII);
	if (c->rc != 0) {
		c->why = authz_reason(c->p->cfg, c->si, c->user, k->action_id,
		    &j->src, &c->code);
		return pl_report(c, PO_DENIED);
	}
	c->n = k->payload_len;
	if (discarded)
		(void)pl_report(c, PO_DISCARDED);
	memcpy(req->replay_key, k->hmac, sizeof(req->replay_key));
	return pl_report(c, PO_ACCEPTED);
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

/* Format 2, after 2-5: it opened, in its window, and names an address
 * this server may grant (into *granted); 0, or the outcome's code. */
static int
finish2_opened(struct pl_ctx *c, const struct pipeline_job *j,
    const struct cfg_action *act, struct sl_addr *granted, uint64_t now_ms)
{
	const uint8_t *mac = j->dgram + K2_OFF_MAC;
	struct gate2 *g = c->p->gate2;
	int rc;

	c->rc = j->rc;
	if (j->rc == SL_ESTALE) {
		c->skew = (long long)((int64_t)j->in.timestamp -
		    (int64_t)j->now);
		rc = pl_report(c, PO_K2_STALE);
		gate2_done(g, mac, G2_DEAD, NULL, now_ms);
		return rc;
	}
	if (j->rc != 0) {
		rc = pl_report(c, PO_K2_UNOPENED);
		gate2_done(g, mac, G2_DEAD, NULL, now_ms);
		return rc;
	}
	if (j->in.has_addr && !addr_equal(&j->in.addr, &j->src)) {
		c->named = &j->in.addr;
		if (!c->srv->grant_named_address &&
		    (act == NULL || !act->grant_named_address)) {
			rc = pl_report(c, PO_K2_WRONG_ADDRESS);
			gate2_done(g, mac, G2_BOUND, &j->in.addr, now_ms);
			return rc;
		}
		*granted = j->in.addr;
	} else if (!j->in.has_addr && c->srv->require_named_address) {
		rc = pl_report(c, PO_K2_NO_ADDRESS);
		gate2_done(g, mac, G2_DEAD, NULL, now_ms);
		return rc;
	}
	return 0;
}

/* Format 2, 7 (before 6): authorize for the granted address
 * (authz_check's code in *authz); 0 to go on, or the outcome's code for
 * a refusal that is not recorded. */
static int
finish2_authorize(struct pl_ctx *c, const struct pipeline_job *j,
    const struct sl_addr *granted, uint64_t now_ms, struct sl_request *req,
    int *discarded, int *authz)
{
	struct wire_knock k;
	int rc;

	memset(&k, 0, sizeof(k));
	k.version = K2_VERSION;
	k.timestamp = (uint32_t)j->in.timestamp;
	k.user_id = j->in.user_id;
	k.action_id = j->in.action_id;
	k.payload_len = j->in.payload_len;
	memcpy(k.payload, j->in.payload, j->in.payload_len);
	*authz = authz_check(c->p->cfg, c->si, c->user, &k, granted, req,
	    discarded);
	OPENSSL_cleanse(&k, sizeof(k));
	if (*authz != SL_EDENIED || j->in.has_addr ||
	    authz_lists(c->p->cfg, c->si, c->user, j->in.action_id) != 0)
		return 0;
	/* only an allowed_ips said no, and it may say yes from elsewhere:
	 * not recorded */
	c->rc = *authz;
	c->why = authz_reason(c->p->cfg, c->si, c->user, j->in.action_id,
	    granted, &c->code);
	rc = pl_report(c, PO_DENIED);
	gate2_done(c->p->gate2, j->dgram + K2_OFF_MAC, G2_FROM, &j->src,
	    now_ms);
	return rc;
}

/* Format 2, 6: record before anything runs; 0, or the outcome's code
 * (and no receipt). */
static int
finish2_record(struct pl_ctx *c, const struct pipeline_job *j,
    uint64_t now_ms, struct pipeline_reply *rep)
{
	const uint8_t *mac = j->dgram + K2_OFF_MAC;
	struct replay *r = c->p->replay;
	int rc;

	c->rc = replay_check_and_add(r, j->in.user_id, mac,
	    (uint32_t)j->in.timestamp, j->now);
	if (c->rc == 0)
		return 0;
	if (c->rc == SL_EREPLAY) {
		/* recorded meanwhile (a copy decrypted in parallel) */
		rc = pl_report(c, PO_K2_REPLAYED_LATE);
		gate2_done(c->p->gate2, mac, G2_RECORDED, NULL, now_ms);
	} else {
		rc = pl_report(c, c->rc != SL_EFULL ? PO_K2_STATE_ERROR :
		    replay_user_full(r, j->in.user_id) ? PO_K2_USER_FULL :
		    PO_K2_CACHE_FULL);
		gate2_done(c->p->gate2, mac, G2_DEAD, NULL, now_ms);
		/* no receipt: an unrecorded knock may be recorded later,
		 * and a second receipt under the same key must never exist */
	}
	if (rep != NULL)
		rep->when = PR_NONE;
	return rc;
}

/* Format 2, after 6: recorded, so refused with a receipt that says why,
 * or accepted; 0 and *req filled, or the outcome's code. */
static int
finish2_decide(struct pl_ctx *c, const struct pipeline_job *j, int authz,
    int discarded, const struct sl_addr *granted, struct sl_request *req,
    struct pipeline_reply *rep)
{
	int rc;

	c->rc = authz;
	if (authz == SL_ENOTASCII) {
		rc = pl_report(c, PO_NOT_ASCII);
		if (rep != NULL)
			reply_now(rep, K2_ST_REFUSED, K2_R_PAYLOAD, j->now);
		return rc;
	}
	if (authz != 0) {
		c->why = authz_reason(c->p->cfg, c->si, c->user,
		    j->in.action_id, granted, &c->code);
		rc = pl_report(c, PO_DENIED);
		if (rep != NULL)
			reply_now(rep, K2_ST_REFUSED, K2_R_DENIED, j->now);
		return rc;
	}
	c->n = j->in.payload_len;
	if (discarded)
		(void)pl_report(c, PO_DISCARDED);
	memcpy(req->replay_key, j->dgram + K2_OFF_MAC, sizeof(req->replay_key));
	c->named = granted;
	return pl_report(c, j->in.has_addr ? PO_K2_ACCEPTED :
	    PO_K2_ACCEPTED_UNNAMED);
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
	const struct cfg_action *act = config_action_by_id(p->cfg,
	    j->in.action_id);
	struct sl_addr granted = j->src;
	struct pl_ctx c;
	int rc, authz = 0, discarded = 0;

	pl_ctx_init(&c, p, j->server_idx, &j->src);
	c.user = j->user;
	pl_ctx_action(&c, j->in.action_id);
	if ((rc = finish2_opened(&c, j, act, &granted, now_ms)) != 0 ||
	    (rc = finish2_authorize(&c, j, &granted, now_ms, req, &discarded,
	    &authz)) != 0)
		return rc;
	if (rep != NULL && c.srv->receipt && (j->in.flags & K2_F_RECEIPT)) {
		rep->when = PR_LATER;
		memcpy(rep->key, j->rcpt_key, K2_KEY_LEN);
		memcpy(rep->mac, j->dgram + K2_OFF_MAC, K2_MAC_LEN);
	}
	if ((rc = finish2_record(&c, j, now_ms, rep)) != 0)
		return rc;
	gate2_done(p->gate2, j->dgram + K2_OFF_MAC, G2_RECORDED, NULL, now_ms);
	/* a fresh authenticated knock: this source keeps its own budget */
	filter_outcome(p->filter, &j->src, 1, now_ms);
	return finish2_decide(&c, j, authz, discarded, &granted, req, rep);
}

int
pipeline_finish(struct pipeline *p, struct pipeline_job *j, uint64_t now_ms,
    struct sl_request *req, struct pipeline_reply *rep)
{
	char what[SL_NAME_MAX + 64];
	struct pl_ctx c;
	int rc;

	if (rep != NULL)
		memset(rep, 0, sizeof(*rep));
	if (j->pre.format == 2) {
		rc = finish2(p, j, now_ms, req, rep);
		OPENSSL_cleanse(&j->in, sizeof(j->in));
		OPENSSL_cleanse(j->rcpt_key, sizeof(j->rcpt_key));
		return rc;
	}
	pl_ctx_init(&c, p, j->server_idx, &j->src);
	c.user = j->user;
	pl_ctx_action(&c, j->k.action_id);
	if ((rc = finish1_verified(&c, j, what, sizeof(what))) != 0 ||
	    (rc = finish1_record(&c, j)) == SL_EREPLAY) {
		/* failed before authentication, stale or replayed: one
		 * budget, paid at admission; spent, it becomes a penalty */
		filter_outcome(p->filter, &j->src, 0, now_ms);
	} else if (rc != 0) {
		/* authenticated, but the server could not record it: not
		 * the source's fault */
		filter_refund(p->filter, &j->src, now_ms);
	} else {
		/* a fresh authenticated knock: it gets back what its
		 * admission paid, and its source is known good */
		filter_refund(p->filter, &j->src, now_ms);
		filter_outcome(p->filter, &j->src, 1, now_ms);
		rc = finish1_authorize(&c, j, req);
	}
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
