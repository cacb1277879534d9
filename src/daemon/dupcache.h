/*
 * dupcache.h - drops exact copies of recently seen datagrams before any
 * cryptography, for the price of one keyed hash.  Fixed memory, allocated
 * by dup_new; nothing allocated or called per datagram.  Not thread-safe.
 */
#ifndef SL_DUPCACHE_H
#define SL_DUPCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sl.h"

#define DUP_ENTRIES_MIN 8u
#define DUP_ENTRIES_MAX (1u << 24)  /* 32 bytes each */

struct dupcache;

struct dup_stats {
	uint64_t hits;       /* dup_seen returned true */
	uint64_t misses;     /* recorded as new */
	uint64_t evictions;  /* a live entry replaced because its bucket was full */
};

/* entries 1..DUP_ENTRIES_MAX (rounded up to a power of two, at least 8),
 * ttl_ms >= 1.  0, SL_EINVAL or SL_ESYS (memory, getrandom). */
int dup_new(struct dupcache **out, uint32_t entries, uint32_t ttl_ms);
void dup_free(struct dupcache *d);
/*
 * true if this exact datagram was seen within ttl_ms (counts a hit and
 * restarts its ttl, so a datagram replayed continuously stays dropped);
 * otherwise records it and returns false.
 */
bool dup_seen(struct dupcache *d, const uint8_t *dgram, size_t len,
    uint64_t now_ms);
const struct dup_stats *dup_get_stats(const struct dupcache *d);

#endif
