/*
 * ratelimit.h - per-source and per-prefix failure budgets with growing
 * penalties, and a global cap on private-key operations, consulted before
 * decryption.  State machine and replacement policy: see ratelimit.c.
 *
 * A datagram pays at admission (rl_check takes one failure from its
 * source's budget and its prefix's), before its private-key operation,
 * so that a burst cannot have more datagrams decrypted than the budget
 * holds however many are in flight; a fresh authenticated knock gets its
 * payment back (rl_refund).  A failure (rl_fail) only decides whether a
 * spent budget becomes a penalty.
 *
 * Fixed memory (two tables allocated by rl_new), no allocation and no
 * system call after it.  Time is the caller's monotonic clock in ms.  Not
 * thread-safe: one network process owns it.
 */
#ifndef SL_RATELIMIT_H
#define SL_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include "addr.h"

/* Accepted ranges (rl_new refuses anything else with SL_EINVAL). */
#define RL_BUDGET_MAX      1000000u              /* source_/prefix_budget >= 1 */
#define RL_WINDOW_MAX_MS   (24u * 3600 * 1000)   /* window_ms >= 1 */
#define RL_PENALTY_MAX_MS  (7u * 24 * 3600 * 1000) /* 1 <= penalty_ms <= penalty_max_ms */
#define RL_GOOD_MAX_MS     (7u * 24 * 3600 * 1000)
#define RL_GLOBAL_MAX      1000000u              /* global_per_sec, 0 = no cap */
#define RL_TRICKLE_MAX     1000u                 /* trickle_per_sec, 0 = none */
#define RL_ENTRIES_MIN     8u
#define RL_ENTRIES_MAX     (1u << 24)            /* per table, 76 bytes each */

/* What siglatchd uses for trickle_per_sec: enough that a user's knock
 * sent a second after a burst of junk in its name is decrypted. */
#define RL_TRICKLE_DEFAULT 2u

struct rl;

struct rl_config {
	uint32_t source_budget;  /* failed packets a source may send per window (burst) */
	uint32_t prefix_budget;  /* same, for its /24 (IPv4) or /64 (IPv6) */
	uint32_t window_ms;      /* a budget refills fully over this period (token bucket) */
	uint32_t penalty_ms;     /* first penalty */
	uint32_t penalty_max_ms; /* growth cap; also the quiet period that halves the offence count */
	uint32_t good_ms;        /* how long a source counts as recently authenticated */
	uint32_t global_per_sec; /* private-key operations per second for not-known-good sources; 0 = no cap */
	uint32_t table_entries;  /* per table (sources, prefixes), rounded up to a power of two */
	/*
	 * Datagrams per second still admitted (burst: one second's worth)
	 * where a budget is spent or in a penalty: for each known-good source
	 * in its own, and for each prefix, shared by its sources that are
	 * not known good (a known-good source ignores its prefix's).  0 =
	 * none: a spent budget drops everything.
	 */
	uint32_t trickle_per_sec;
};

enum rl_verdict {
	RL_PASS = 0,
	RL_DROP_SOURCE,  /* the source's budget is spent or in penalty (no trickle left) */
	RL_DROP_PREFIX,  /* its /24 or /64's is (and it is not known good) */
	RL_DROP_GLOBAL,  /* no global token left (and it is not known good) */
};

struct rl_stats {
	uint64_t pass, drop_source, drop_prefix, drop_global;
	uint64_t trickle;    /* of pass: on a trickle, the budget being spent */
	uint64_t penalties;  /* penalties started (sources and prefixes) */
	uint64_t evictions;  /* live entries replaced because a bucket was full */
};

/* A penalty rl_fail_report has just started (until 0: none). */
struct rl_penalty {
	uint64_t until;      /* monotonic ms */
	uint64_t len_ms;
	unsigned offences;   /* this one included (doubling) */
	bool known_good;     /* sources: known good, so on a trickle, not dropped */
};

/* 0, SL_EINVAL (config out of range) or SL_ESYS (memory, getrandom). */
int rl_new(struct rl **out, const struct rl_config *c);
void rl_free(struct rl *rl);
/*
 * Admission, right before the private-key operation: on RL_PASS one
 * failure has been taken from the source's budget and its prefix's
 * (creating their entries), and a global token (unless the source is
 * known good) or a trickle token where a budget was spent.  Call it after
 * the other cheap checks.  Dropped datagrams create and displace no
 * entry.  An address of unknown family is RL_DROP_SOURCE.
 */
enum rl_verdict rl_check(struct rl *rl, const struct sl_addr *src,
    uint64_t now_ms);
/* What rl_check would say, taking nothing (drops are counted). */
enum rl_verdict rl_peek(struct rl *rl, const struct sl_addr *src,
    uint64_t now_ms);
/*
 * After an admitted packet failed (anything before the HMAC verified, or
 * a stale/replayed one): a source or prefix whose budget it found spent
 * goes into a penalty.  Charges nothing more (rl_check did).  Returns when
 * the source's own new penalty ends if it is to be dropped in the kernel
 * as well (sockfilter.h): never for a known-good source; else 0.
 * rl_fail_report also says what it started, in pen[0] (the source) and
 * pen[1] (its prefix); pen may be NULL.
 */
uint64_t rl_fail(struct rl *rl, const struct sl_addr *src, uint64_t now_ms);
uint64_t rl_fail_report(struct rl *rl, const struct sl_addr *src,
    uint64_t now_ms, struct rl_penalty pen[2]);
/* After an admitted packet proved nothing against its source (it
 * authenticated, or the server could not record it): give back what
 * rl_check took from the source's and the prefix's budgets. */
void rl_refund(struct rl *rl, const struct sl_addr *src, uint64_t now_ms);
/* After a packet authenticated (either format): src is known good for
 * good_ms.  true if it was not, and is in a penalty of its own: the
 * penalty may be in the kernel's block map, and must come out of it (the
 * source is on a trickle from now on). */
bool rl_good(struct rl *rl, const struct sl_addr *src, uint64_t now_ms);
const struct rl_stats *rl_get_stats(const struct rl *rl);
/* When the penalty src is in ends (its own, else its prefix's unless it
 * is known good); 0 = none.  For logs and tests. */
uint64_t rl_penalty_until(const struct rl *rl, const struct sl_addr *src,
    uint64_t now_ms);

#endif
