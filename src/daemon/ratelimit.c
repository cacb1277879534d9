/*
 * ratelimit.c - failure budgets, penalties and a global cap, checked before
 * the RSA private-key operation (~0.3 ms) that a flood would otherwise buy
 * for the price of one datagram.
 *
 * Two tables, one for sources (the full address) and one for prefixes (/24
 * for IPv4, /64 for IPv6; the family is part of the key, so IPv4 and IPv6
 * never share an entry).  Each entry runs the same state machine:
 *
 *   budget  a token bucket of B failures (source_budget / prefix_budget),
 *           refilled continuously at B per window_ms, capped at B.  Stored
 *           in units of 1/window_ms failure, so refill is exact integers.
 *           Paid at admission: rl_check takes one failure from the source
 *           and one from its prefix before the private-key operation, so
 *           B datagrams of a burst are decrypted however many are in
 *           flight; rl_refund gives it back to a fresh authenticated knock
 *           (or one the server could not record).  A spent budget (less
 *           than one failure left) admits nothing more but the trickle.
 *
 *   NORMAL --rl_fail finds less than one failure in the bucket--> PENALTY
 *           So B failures pass rl_check and the next packet is dropped.
 *           offences += 1 (at most 32);
 *           length = min(penalty_ms << (offences - 1), penalty_max_ms).
 *
 *   PENALTY: rl_check drops (RL_DROP_SOURCE / RL_DROP_PREFIX) until
 *           penalty_until, but for the trickle.  Failures reported
 *           meanwhile (of trickle packets, or of a known-good source in a
 *           penalised prefix) neither extend the penalty nor count as an
 *           offence.
 *
 *   PENALTY --now >= penalty_until--> NORMAL, with whatever the bucket
 *           refilled during the penalty, but at least one failure: one
 *           more packet is admitted, and if it fails with less than one
 *           failure left, that is the next (doubled) offence at once.
 *
 *   decay   Each full penalty_max_ms after the penalty ended without a new
 *           one halves offences (4 -> 2 -> 1 -> 0): to forget, a source must
 *           stay quiet as long as the longest penalty.  The steps already
 *           taken are recorded by moving penalty_until (which is then in the
 *           past) forward; decay is applied lazily in rl_fail().
 *
 * Known good: rl_good() marks the source authenticated until now + good_ms
 * (a fresh knock of either format).  A known-good source skips its prefix's
 * budget and penalty and the global cap, so a flood from its own /24 or
 * from anywhere else does not lock it out; its admissions still pay into
 * source and prefix.  Its own spent budget or penalty (anyone can spoof
 * its address) never drops it outright: it keeps a trickle.
 *
 * Trickle: a spent or penalised budget still admits trickle_per_sec
 * datagrams a second (a burst of one second's worth), counted per
 * known-good source for its own budget, and per prefix, shared by all its
 * sources that are not known good, for the prefix's.  Nobody can tell a
 * user's format-1 knock from junk before decrypting it, so a spoofer who
 * sends junk in a user's name competes with the user for the trickle only
 * while he keeps sending: a burst spends the trickle for a second, not the
 * user's address for the length of a penalty.  Trickle packets pay into
 * the budgets like any other, so a penalty whose budget stays spent is the
 * next offence when it ends.  A GCRA (virtual scheduling) in units of
 * 1/trickle_per_sec ms: one 8-byte field an entry.
 *
 * Global cap: a token bucket of global_per_sec private-key operations per
 * second (burst of one second), refilled by elapsed time; every RL_PASS for
 * a source that is not known good takes one token.
 *
 * Tables: fixed, allocated once.  Set-associative, RL_WAYS ways a bucket,
 * the bucket chosen by SipHash-2-4 of the 4 or 16 address bytes (3 or 8 for
 * a prefix) under a random key per table, so nobody outside can aim at a
 * bucket.  A 32-bit tag per way (from the hash's high half) keeps a lookup
 * to the 32-byte tag array plus the matching entry.  rl_peek() only reads
 * the tables (and updates the global bucket), and rl_check() creates
 * entries only for packets it admits (as do rl_fail / rl_good), so packets
 * dropped before decryption never create or displace one.  When
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
	uint64_t seen_ms;       /* last rl_check / rl_fail / rl_good: replacement order */
	uint64_t penalty_until; /* in penalty while now < this; see decay */
	uint64_t good_until;    /* sources: known good while now < this */
	uint64_t trickle_tat;   /* GCRA theoretical arrival, ms * trickle_per_sec */
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
rl_lookup(const struct rl_table *t, const struct rl_key *k)
{
	uint64_t h = rl_hash(t, k);
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
    uint64_t now)
{
	uint64_t h = rl_hash(t, k);
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
	struct rl_entry *e = rl_lookup(t, k);

	if (e == NULL)
		e = rl_insert(rl, t, k, now);
	if (now > e->seen_ms)
		e->seen_ms = now;
	return e;
}

/* The bucket as of now, without writing it. */
static uint64_t
rl_tokens_at(const struct rl_table *t, const struct rl_entry *e, uint64_t now)
{
	uint64_t dt, v;

	if (now <= e->refill_ms)
		return e->tokens;
	dt = now - e->refill_ms;
	if (dt >= t->cost)  /* a whole window */
		v = t->cap;
	else if ((v = e->tokens + dt * t->rate) > t->cap)
		v = t->cap;
	/* a penalty ended since: one more try at least */
	if (e->penalty_until > e->refill_ms && now >= e->penalty_until &&
	    v < t->cost)
		v = t->cost;
	return v;
}

static void
rl_refill(const struct rl_table *t, struct rl_entry *e, uint64_t now)
{
	e->tokens = rl_tokens_at(t, e, now);
	if (now > e->refill_ms)
		e->refill_ms = now;
}

/* Admits nothing but the trickle: in a penalty, or less than one failure
 * left. */
static bool
rl_spent(const struct rl_table *t, const struct rl_entry *e, uint64_t now)
{
	return now < e->penalty_until || rl_tokens_at(t, e, now) < t->cost;
}

/* GCRA: with T = 1000 ms / rate and a burst of rate packets, a packet
 * conforms if tat - (rate - 1) * T <= now.  Everything times rate, so
 * that T is 1000 exactly. */
static bool
rl_trickle_ok(const struct rl *rl, const struct rl_entry *e, uint64_t now)
{
	uint64_t r = rl->c.trickle_per_sec;

	return r != 0 && e->trickle_tat <= now * r + (r - 1) * 1000u;
}

static void
rl_trickle_take(const struct rl *rl, struct rl_entry *e, uint64_t now)
{
	uint64_t n = now * rl->c.trickle_per_sec;

	e->trickle_tat = (e->trickle_tat > n ? e->trickle_tat : n) + 1000u;
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

/* A failure was reported: if the bucket is spent and no penalty runs, one
 * starts.  Returns its end, else 0. */
static uint64_t
rl_penalise(struct rl *rl, struct rl_table *t, const struct rl_key *k,
    uint64_t now, struct rl_penalty *pen)
{
	struct rl_entry *e = rl_get(rl, t, k, now);
	uint64_t len;

	rl_refill(t, e, now);
	rl_decay(rl, e, now);
	if (pen != NULL) {
		memset(pen, 0, sizeof(*pen));
		pen->known_good = now < e->good_until;
	}
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
	if (pen != NULL) {
		pen->until = e->penalty_until;
		pen->len_ms = len;
		pen->offences = e->offences;
	}
	return e->penalty_until;
}

static void
rl_global_refill(struct rl *rl, uint64_t now)
{
	uint64_t rate = rl->c.global_per_sec, cap = rate * RL_MILLI, dt;

	if (now <= rl->grefill_ms)
		return;
	dt = now - rl->grefill_ms;
	if (dt >= 1000)
		rl->gtokens = cap;
	else if ((rl->gtokens += dt * rate) > cap)
		rl->gtokens = cap;
	rl->grefill_ms = now;
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
	    c->trickle_per_sec <= RL_TRICKLE_MAX &&
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

static enum rl_verdict
rl_drop(struct rl *rl, enum rl_verdict v)
{
	if (v == RL_DROP_SOURCE)
		rl->st.drop_source++;
	else if (v == RL_DROP_PREFIX)
		rl->st.drop_prefix++;
	else
		rl->st.drop_global++;
	return v;
}

/* One failure out of the bucket (none below empty). */
static void
rl_debit(struct rl *rl, struct rl_table *t, const struct rl_key *k,
    uint64_t now, bool trickle)
{
	struct rl_entry *e = rl_get(rl, t, k, now);

	rl_refill(t, e, now);
	e->tokens = e->tokens > t->cost ? e->tokens - t->cost : 0;
	if (trickle)
		rl_trickle_take(rl, e, now);
}

/*
 * The admission decision; take: also pay for it.  In order: the source's
 * own budget (spent: dropped, or on its trickle if known good), then, for
 * a source not known good, its prefix's (spent: on the prefix's trickle)
 * and the global cap.
 */
static enum rl_verdict
rl_decide(struct rl *rl, const struct sl_addr *src, uint64_t now, bool take)
{
	struct rl_key ks, kp;
	const struct rl_entry *e;
	bool good = false, strickle = false, ptrickle = false;

	if (!rl_key_of(src, false, &ks))
		return rl_drop(rl, RL_DROP_SOURCE);
	rl_key_of(src, true, &kp);
	if ((e = rl_lookup(&rl->src, &ks)) != NULL) {
		good = now < e->good_until;
		if (rl_spent(&rl->src, e, now)) {
			if (!good || !rl_trickle_ok(rl, e, now))
				return rl_drop(rl, RL_DROP_SOURCE);
			strickle = true;
		}
	}
	if (!good) {
		e = rl_lookup(&rl->pfx, &kp);
		if (e != NULL && rl_spent(&rl->pfx, e, now)) {
			if (!rl_trickle_ok(rl, e, now))
				return rl_drop(rl, RL_DROP_PREFIX);
			ptrickle = true;
		}
		if (rl->c.global_per_sec != 0) {
			rl_global_refill(rl, now);
			if (rl->gtokens < RL_MILLI)
				return rl_drop(rl, RL_DROP_GLOBAL);
		}
	}
	if (!take)
		return RL_PASS;
	rl_debit(rl, &rl->src, &ks, now, strickle);
	rl_debit(rl, &rl->pfx, &kp, now, ptrickle);
	if (!good && rl->c.global_per_sec != 0)
		rl->gtokens -= RL_MILLI;
	rl->st.pass++;
	if (strickle || ptrickle)
		rl->st.trickle++;
	return RL_PASS;
}

enum rl_verdict
rl_check(struct rl *rl, const struct sl_addr *src, uint64_t now)
{
	return rl_decide(rl, src, now, true);
}

enum rl_verdict
rl_peek(struct rl *rl, const struct sl_addr *src, uint64_t now)
{
	return rl_decide(rl, src, now, false);
}

uint64_t
rl_fail_report(struct rl *rl, const struct sl_addr *src, uint64_t now,
    struct rl_penalty pen[2])
{
	struct rl_key k;
	uint64_t until;

	if (!rl_key_of(src, false, &k)) {
		if (pen != NULL)
			memset(pen, 0, 2 * sizeof(*pen));
		return 0;
	}
	until = rl_penalise(rl, &rl->src, &k, now, pen);
	/* a known-good source keeps its trickle: never blocked outright */
	if (until != 0 && now < rl_lookup(&rl->src, &k)->good_until)
		until = 0;
	rl_key_of(src, true, &k);
	(void)rl_penalise(rl, &rl->pfx, &k, now, pen != NULL ? &pen[1] : NULL);
	return until;
}

uint64_t
rl_fail(struct rl *rl, const struct sl_addr *src, uint64_t now)
{
	return rl_fail_report(rl, src, now, NULL);
}

static void
rl_credit(struct rl_table *t, const struct rl_key *k, uint64_t now)
{
	struct rl_entry *e = rl_lookup(t, k);

	/* gone (replaced): the new entry started full */
	if (e == NULL)
		return;
	rl_refill(t, e, now);
	e->tokens = e->tokens + t->cost > t->cap ? t->cap : e->tokens + t->cost;
}

void
rl_refund(struct rl *rl, const struct sl_addr *src, uint64_t now)
{
	struct rl_key k;

	if (!rl_key_of(src, false, &k))
		return;
	rl_credit(&rl->src, &k, now);
	rl_key_of(src, true, &k);
	rl_credit(&rl->pfx, &k, now);
}

bool
rl_good(struct rl *rl, const struct sl_addr *src, uint64_t now)
{
	struct rl_key k;
	struct rl_entry *e;
	bool was;

	if (!rl_key_of(src, false, &k))
		return false;
	e = rl_get(rl, &rl->src, &k, now);
	was = now < e->good_until;
	e->good_until = now + rl->c.good_ms;
	return !was && now < e->penalty_until;
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
	if ((e = rl_lookup(&rl->src, &k)) != NULL) {
		if (now < e->penalty_until)
			return e->penalty_until;
		if (now < e->good_until)
			return 0;
	}
	rl_key_of(src, true, &k);
	e = rl_lookup(&rl->pfx, &k);
	return e != NULL && now < e->penalty_until ? e->penalty_until : 0;
}
