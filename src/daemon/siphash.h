/*
 * siphash.h - SipHash-2-4 (Aumasson and Bernstein, 2012): 64-bit output
 * under a 128-bit key.
 *
 * Why: the daemon's per-packet tables (rate limiter, duplicate cache) are
 * indexed by a hash of data an attacker chooses (source addresses,
 * ciphertexts).  With an unkeyed hash an outsider could aim every packet at
 * one bucket and turn O(1) lookups into a flood of collisions or evict the
 * entries that matter ("hash flooding").  A keyed PRF under a random key
 * chosen at start-up makes the bucket of any input unpredictable.  It runs
 * on every datagram, so it is cheap (a few ns per 8 bytes), allocation-free
 * and has no state beyond the key.
 */
#ifndef SL_SIPHASH_H
#define SL_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

/* key bytes and the result follow the reference: little-endian. */
uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *msg,
    size_t len);

#endif
