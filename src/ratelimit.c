/*
 * ratelimit.c - failure budgets, penalties and a global cap, checked before
 * the RSA private-key operation (~0.3 ms) that a flood would otherwise buy
 * for the price of one datagram.
 *
 * Two tables, one for sources (the full address) and one for prefixes (/24
 * for IPv4, /64 for IPv6; the family is part of the key, so IPv4 and IPv6
 * never share an entry).  rl_fail() charges both the source and its prefix;
 * each entry runs the same state machine:
 *
 *   budget  a token bucket of B failures (source_budget / prefix_budget),
 *           refilled continuously at B per window_ms, capped at B.  Stored
 *           in units of 1/window_ms failure, so refill is exact integers.
 *
 *   NORMAL --rl_fail leaves less than one failure in the bucket--> PENALTY
 *           The failure that spends the last whole token starts it, so B
 *           failures pass rl_check and the next packet is dropped.
 *           offences += 1 (at most 32);
 *           length = min(penalty_ms << (offences - 1), penalty_max_ms).
 *
 *   PENALTY: rl_check drops (RL_DROP_SOURCE / RL_DROP_PREFIX) until
 *           penalty_until.  Failures reported meanwhile (a known-good
 *           source failing inside a penalised prefix) drain the bucket but
 *           neither extend the penalty nor count as an offence.
 *
 *   PENALTY --now >= penalty_until--> NORMAL, with whatever the bucket
 *           refilled during the penalty.  If that is less than one failure,
 *           the next failure is the next (doubled) offence at once.
 *
 *   decay   Each full penalty_max_ms after the penalty ended without a new
 *           one halves offences (4 -> 2 -> 1 -> 0): to forget, a source must
 *           stay quiet as long as the longest penalty.  The steps already
 *           taken are recorded by moving penalty_until (which is then in the
 *           past) forward; decay is applied lazily in rl_fail().
 *
 * Known good: rl_good() marks the source authenticated until now + good_ms.
 * A known-good source skips the prefix check and the global cap, so a flood
 * from its own /24 or from anywhere else does not lock it out; its own
 * penalty still applies, and its failures still charge source and prefix.
 *
 * Global cap: a token bucket of global_per_sec private-key operations per
 * second (burst of one second), refilled by elapsed time; every RL_PASS for
 * a source that is not known good takes one token.
 *
 * Tables: fixed, allocated once.  Set-associative, RL_WAYS ways a bucket,
 * the bucket chosen by SipHash-2-4 of the 4 or 16 address bytes (3 or 8 for
 * a prefix) under a random key per table, so nobody outside can aim at a
 * bucket.  A 32-bit tag per way (from the hash's high half) keeps a lookup
 * to the 32-byte tag array plus the matching entry.  rl_check() only reads
 * the tables (and updates the global bucket): entries are created by
 * rl_fail / rl_good, so packets dropped before decryption never create
 * or displace one.  When
 * a bucket is full the least valuable entry is replaced: first one neither
 * in penalty nor known good, then a known-good one (oldest last-seen first
 * in both), and only if every way is in penalty the one whose penalty ends
 * soonest.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <openssl/crypto.h>

#include "ratelimit.h"
#include "siphash.h"

#define RL_WAYS         8
#define RL_OFFENCES_MAX 32
#define RL_MILLI        1000u  /* global bucket units per operation */

struct rl_entry {
	uint64_t tokens;        /* failures left, in 1/window_ms units */
	uint64_t refill_ms;     /* tokens last brought up to date */
	uint64_t seen_ms;       /* last rl_fail / rl_good: replacement order */
	uint64_t penalty_until; /* in penalty while now < this; see decay */
	uint64_t good_until;    /* sources: known good while now < this */
	uint8_t addr[16];       /* normalised key bytes, zero-padded */
	uint8_t family;
	uint8_t offences;
};

struct rl_bucket {
	uint32_t tag[RL_WAYS];  /* 0: free way */
	struct rl_entry e[RL_WAYS];
};

struct rl_table {
	struct rl_bucket *b;
	uint32_t mask;          /* buckets - 1 */
	uint64_t cost;          /* one failure (= window_ms) */
	uint64_t rate;          /* refill per ms (= budget) */
	uint64_t cap;           /* budget * window_ms */
	uint8_t key[SIPHASH_KEY_LEN];
};

struct rl {
	struct rl_table src, pfx;
	struct rl_config c;
	uint64_t gtokens;       /* global bucket, RL_MILLI per operation */
	uint64_t grefill_ms;
	struct rl_stats st;
};

struct rl_key {
	uint8_t b[16];
	uint8_t family;
	uint8_t len;            /* bytes hashed */
};

static bool
rl_key_of(const struct sl_addr *a, bool prefix, struct rl_key *k)
{
	if (a == NULL)
		return false;
	if (a->family == AF_INET)
		k->len = prefix ? 3 : 4;
	else if (a->family == AF_INET6)
		k->len = prefix ? 8 : 16;
	else
		return false;
	memset(k->b, 0, sizeof(k->b));
	memcpy(k->b, a->bytes, k->len);
	k->family = a->family;
	return true;
}

static uint64_t
rl_hash(const struct rl_table *t, const struct rl_key *k)
{
	return siphash24(t->key, k->b, k->len);
}

static struct rl_bucket *
rl_bucket_of(const struct rl_table *t, uint64_t h)
{
	return &t->b[h & t->mask];
}

static uint32_t
rl_tag(uint64_t h)
{
	return (uint32_t)(h >> 32) | 1;
}

static struct rl_entry *
rl_lookup(const struct rl_table *t, const struct rl_key *k, uint64_t h)
{
	struct rl_bucket *b = rl_bucket_of(t, h);
	uint32_t tag = rl_tag(h);

	for (int i = 0; i < RL_WAYS; i++) {
		struct rl_entry *e = &b->e[i];

		if (b->tag[i] == tag && e->family == k->family &&
		    memcmp(e->addr, k->b, sizeof(e->addr)) == 0)
			return e;
	}
	return NULL;
}

/* Lower is less valuable: 0 plain, 1 known good, 2 in penalty. */
static int
rl_rank(const struct rl_entry *e, uint64_t now, uint64_t *order)
{
	if (now < e->penalty_until) {
		*order = e->penalty_until;
		return 2;
	}
	*order = e->seen_ms;
	return now < e->good_until ? 1 : 0;
}

static struct rl_entry *
rl_insert(struct rl *rl, struct rl_table *t, const struct rl_key *k,
    uint64_t h, uint64_t now)
{
	struct rl_bucket *b = rl_bucket_of(t, h);
	struct rl_entry *e;
	uint64_t order, best_order = 0;
	int v = -1, best_rank = 3;

	for (int i = 0; i < RL_WAYS; i++) {
		int r;

		if (b->tag[i] == 0) {
			v = i;
			break;
		}
		r = rl_rank(&b->e[i], now, &order);
		if (r < best_rank || (r == best_rank && order < best_order)) {
			v = i;
			best_rank = r;
			best_order = order;
		}
	}
	if (b->tag[v] != 0)
		rl->st.evictions++;
	b->tag[v] = rl_tag(h);
	e = &b->e[v];
	memset(e, 0, sizeof(*e));
	memcpy(e->addr, k->b, sizeof(e->addr));
	e->family = k->family;
	e->tokens = t->cap;
	e->refill_ms = now;
	return e;
}

static struct rl_entry *
rl_get(struct rl *rl, struct rl_table *t, const struct rl_key *k,
    uint64_t now)
{
	uint64_t h = rl_hash(t, k);
	struct rl_entry *e = rl_lookup(t, k, h);

	if (e == NULL)
		e = rl_insert(rl, t, k, h, now);
	if (now > e->seen_ms)
		e->seen_ms = now;
	return e;
}

static void
rl_refill(const struct rl_table *t, struct rl_entry *e, uint64_t now)
{
	uint64_t dt;

	if (now <= e->refill_ms)
		return;
	dt = now - e->refill_ms;
	if (dt >= t->cost)  /* a whole window */
		e->tokens = t->cap;
	else if ((e->tokens += dt * t->rate) > t->cap)
		e->tokens = t->cap;
	e->refill_ms = now;
}

static void
rl_decay(const struct rl *rl, struct rl_entry *e, uint64_t now)
{
	uint64_t q = rl->c.penalty_max_ms, n;

	if (e->offences == 0 || now < e->penalty_until ||
	    now - e->penalty_until < q)
		return;
	n = (now - e->penalty_until) / q;
	e->offences = n >= 8 ? 0 : (uint8_t)(e->offences >> n);
	e->penalty_until += n * q;
}

/* Charge one failure; returns the end of a penalty it has just started,
 * else 0. */
static uint64_t
rl_charge(struct rl *rl, struct rl_table *t, const struct rl_key *k,
    uint64_t now)
{
	struct rl_entry *e = rl_get(rl, t, k, now);
	uint64_t len;

	rl_refill(t, e, now);
	rl_decay(rl, e, now);
	e->tokens = e->tokens > t->cost ? e->tokens - t->cost : 0;
	if (e->tokens >= t->cost || now < e->penalty_until)
		return 0;
	if (e->offences < RL_OFFENCES_MAX)
		e->offences++;
	/* penalty_ms < 2^30 and the shift <= 31: no overflow */
	len = (uint64_t)rl->c.penalty_ms << (e->offences - 1);
	if (len > rl->c.penalty_max_ms)
		len = rl->c.penalty_max_ms;
	e->penalty_until = now + len;
	rl->st.penalties++;
	return e->penalty_until;
}

static bool
rl_global_take(struct rl *rl, uint64_t now)
{
	uint64_t rate = rl->c.global_per_sec, cap = rate * RL_MILLI, dt;

	if (now > rl->grefill_ms) {
		dt = now - rl->grefill_ms;
		if (dt >= 1000)
			rl->gtokens = cap;
		else if ((rl->gtokens += dt * rate) > cap)
			rl->gtokens = cap;
		rl->grefill_ms = now;
	}
	if (rl->gtokens < RL_MILLI)
		return false;
	rl->gtokens -= RL_MILLI;
	return true;
}

static bool
rl_config_ok(const struct rl_config *c)
{
	return c->source_budget >= 1 && c->source_budget <= RL_BUDGET_MAX &&
	    c->prefix_budget >= 1 && c->prefix_budget <= RL_BUDGET_MAX &&
	    c->window_ms >= 1 && c->window_ms <= RL_WINDOW_MAX_MS &&
	    c->penalty_ms >= 1 && c->penalty_ms <= c->penalty_max_ms &&
	    c->penalty_max_ms <= RL_PENALTY_MAX_MS &&
	    c->good_ms <= RL_GOOD_MAX_MS &&
	    c->global_per_sec <= RL_GLOBAL_MAX &&
	    c->table_entries >= 1 && c->table_entries <= RL_ENTRIES_MAX;
}

static int
rl_table_init(struct rl_table *t, uint32_t entries, uint32_t budget,
    uint32_t window_ms)
{
	uint32_t n = RL_ENTRIES_MIN;

	while (n < entries)
		n <<= 1;
	/* calloc: a large table is fresh zero pages, touched only as used */
	if ((t->b = calloc(n / RL_WAYS, sizeof(struct rl_bucket))) == NULL)
		return SL_ESYS;
	t->mask = n / RL_WAYS - 1;
	t->cost = window_ms;
	t->rate = budget;
	t->cap = (uint64_t)budget * window_ms;
	if (getrandom(t->key, sizeof(t->key), 0) != (ssize_t)sizeof(t->key))
		return SL_ESYS;
	return 0;
}

int
rl_new(struct rl **out, const struct rl_config *c)
{
	struct rl *rl;
	int rc;

	if (out == NULL)
		return SL_EINVAL;
	*out = NULL;
	if (c == NULL || !rl_config_ok(c))
		return SL_EINVAL;
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return SL_ESYS;
	rl->c = *c;
	if ((rc = rl_table_init(&rl->src, c->table_entries, c->source_budget,
	    c->window_ms)) != 0 ||
	    (rc = rl_table_init(&rl->pfx, c->table_entries, c->prefix_budget,
	    c->window_ms)) != 0) {
		rl_free(rl);
		return rc;
	}
	rl->gtokens = (uint64_t)c->global_per_sec * RL_MILLI;
	*out = rl;
	return 0;
}

void
rl_free(struct rl *rl)
{
	if (rl == NULL)
		return;
	free(rl->src.b);
	free(rl->pfx.b);
	OPENSSL_cleanse(rl, sizeof(*rl));
	free(rl);
}

enum rl_verdict
rl_check(struct rl *rl, const struct sl_addr *src, uint64_t now)
{
	struct rl_key k;
	const struct rl_entry *e;
	bool good = false;

	if (!rl_key_of(src, false, &k)) {
		rl->st.drop_source++;
		return RL_DROP_SOURCE;
	}
	if ((e = rl_lookup(&rl->src, &k, rl_hash(&rl->src, &k))) != NULL) {
		if (now < e->penalty_until) {
			rl->st.drop_source++;
			return RL_DROP_SOURCE;
		}
		good = now < e->good_until;
	}
	if (!good) {
		rl_key_of(src, true, &k);
		e = rl_lookup(&rl->pfx, &k, rl_hash(&rl->pfx, &k));
		if (e != NULL && now < e->penalty_until) {
			rl->st.drop_prefix++;
			return RL_DROP_PREFIX;
		}
		if (rl->c.global_per_sec != 0 && !rl_global_take(rl, now)) {
			rl->st.drop_global++;
			return RL_DROP_GLOBAL;
		}
	}
	rl->st.pass++;
	return RL_PASS;
}

uint64_t
rl_fail(struct rl *rl, const struct sl_addr *src, uint64_t now)
{
	struct rl_key k;
	uint64_t until;

	if (!rl_key_of(src, false, &k))
		return 0;
	until = rl_charge(rl, &rl->src, &k, now);
	rl_key_of(src, true, &k);
	(void)rl_charge(rl, &rl->pfx, &k, now);
	return until;
}

void
rl_good(struct rl *rl, const struct sl_addr *src, uint64_t now)
{
	struct rl_key k;
	struct rl_entry *e;

	if (!rl_key_of(src, false, &k))
		return;
	e = rl_get(rl, &rl->src, &k, now);
	e->good_until = now + rl->c.good_ms;
}

const struct rl_stats *
rl_get_stats(const struct rl *rl)
{
	return &rl->st;
}

uint64_t
rl_penalty_until(const struct rl *rl, const struct sl_addr *src, uint64_t now)
{
	struct rl_key k;
	const struct rl_entry *e;

	if (!rl_key_of(src, false, &k))
		return 0;
	if ((e = rl_lookup(&rl->src, &k, rl_hash(&rl->src, &k))) != NULL) {
		if (now < e->penalty_until)
			return e->penalty_until;
		if (now < e->good_until)
			return 0;
	}
	rl_key_of(src, true, &k);
	e = rl_lookup(&rl->pfx, &k, rl_hash(&rl->pfx, &k));
	return e != NULL && now < e->penalty_until ? e->penalty_until : 0;
}
