/*
 * ratelimit.h - per-source and per-prefix failure budgets with growing
 * penalties, and a global cap on private-key operations, consulted before
 * decryption.  State machine and replacement policy: see ratelimit.c.
 *
 * Fixed memory (two tables allocated by rl_new), no allocation and no
 * system call after it.  Time is the caller's monotonic clock in ms.  Not
 * thread-safe: one network process owns it.
 */
#ifndef SL_RATELIMIT_H
#define SL_RATELIMIT_H

#include <stdint.h>
#include "addr.h"

/* Accepted ranges (rl_new refuses anything else with SL_EINVAL). */
#define RL_BUDGET_MAX      1000000u              /* source_/prefix_budget >= 1 */
#define RL_WINDOW_MAX_MS   (24u * 3600 * 1000)   /* window_ms >= 1 */
#define RL_PENALTY_MAX_MS  (7u * 24 * 3600 * 1000) /* 1 <= penalty_ms <= penalty_max_ms */
#define RL_GOOD_MAX_MS     (7u * 24 * 3600 * 1000)
#define RL_GLOBAL_MAX      1000000u              /* global_per_sec, 0 = no cap */
#define RL_ENTRIES_MIN     8u
#define RL_ENTRIES_MAX     (1u << 24)            /* per table, 68 bytes each */

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
};

enum rl_verdict {
	RL_PASS = 0,
	RL_DROP_SOURCE,  /* the source itself is in penalty */
	RL_DROP_PREFIX,  /* its /24 or /64 is in penalty (and it is not known good) */
	RL_DROP_GLOBAL,  /* no global token left (and it is not known good) */
};

struct rl_stats {
	uint64_t pass, drop_source, drop_prefix, drop_global;
	uint64_t penalties;  /* penalties started (sources and prefixes) */
	uint64_t evictions;  /* live entries replaced because a bucket was full */
};

/* 0, SL_EINVAL (config out of range) or SL_ESYS (memory, getrandom). */
int rl_new(struct rl **out, const struct rl_config *c);
void rl_free(struct rl *rl);
/*
 * Before decryption.  On RL_PASS a global token has been taken (unless the
 * source is known good), so call it after the other cheap checks, right
 * before the private-key operation.  Read-only on the tables: it never
 * creates entries.  An address of unknown family is RL_DROP_SOURCE.
 */
enum rl_verdict rl_check(struct rl *rl, const struct sl_addr *src,
    uint64_t now_ms);
/* After the packet failed (anything before the HMAC verified, or a
 * stale/replayed one).  Charges the source and its prefix.  Returns when
 * the penalty ends if this failure has just put the source itself in one
 * (so that it can also be dropped in the kernel, sockfilter.h), else 0. */
uint64_t rl_fail(struct rl *rl, const struct sl_addr *src, uint64_t now_ms);
/* After the packet authenticated: src is known good for good_ms. */
void rl_good(struct rl *rl, const struct sl_addr *src, uint64_t now_ms);
const struct rl_stats *rl_get_stats(const struct rl *rl);
/* When the penalty that rl_check would drop src for ends (its own, else its
 * prefix's unless it is known good); 0 = none.  For logs and tests. */
uint64_t rl_penalty_until(const struct rl *rl, const struct sl_addr *src,
    uint64_t now_ms);

#endif
