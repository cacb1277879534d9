/*
 * dupcache.c - the duplicate-ciphertext cache.
 *
 * Each entry holds the SipHash-2-4 of the whole datagram under a random
 * key (chosen at dup_new, so nobody outside can aim at one bucket or make
 * two datagrams collide), the first 16 bytes of the datagram as a second,
 * independent check, and when it was last seen.  A false "duplicate" would
 * need a 64-bit keyed-hash collision and equal first 16 bytes at once.
 * Buckets of DUP_WAYS entries (four cache lines); the bucket comes from the
 * hash's high half.  An entry is live for ttl_ms after it was last seen;
 * a new datagram takes a free or expired way, else the oldest one.
 *
 * Recording every ciphertext before authentication is safe: an outsider
 * cannot produce the ciphertext of a knock not yet sent (a fresh random
 * challenge and RSA padding randomness in each), so filling the cache can
 * only ever make it drop copies of datagrams already seen, never a new
 * legitimate knock.  Flooding it with junk only evicts older entries, which
 * then fall back to the replay cache after authentication.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <openssl/crypto.h>

#include "dupcache.h"
#include "siphash.h"

#define DUP_WAYS 8
#define DUP_HEAD 16

struct dup_entry {
	uint64_t tag;            /* hash | 1; 0: free */
	uint64_t seen_ms;
	uint8_t head[DUP_HEAD];  /* first bytes of the datagram, zero-padded */
};

struct dupcache {
	struct dup_entry *e;
	uint32_t mask;           /* buckets - 1 */
	uint32_t ttl_ms;
	uint8_t key[SIPHASH_KEY_LEN];
	struct dup_stats st;
};

int
dup_new(struct dupcache **out, uint32_t entries, uint32_t ttl_ms)
{
	struct dupcache *d;
	uint32_t n = DUP_ENTRIES_MIN;

	if (out == NULL)
		return SL_EINVAL;
	*out = NULL;
	if (entries < 1 || entries > DUP_ENTRIES_MAX || ttl_ms < 1)
		return SL_EINVAL;
	while (n < entries)
		n <<= 1;
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->e = calloc(n, sizeof(*d->e))) == NULL) {
		free(d);
		return SL_ESYS;
	}
	d->mask = n / DUP_WAYS - 1;
	d->ttl_ms = ttl_ms;
	if (getrandom(d->key, sizeof(d->key), 0) != (ssize_t)sizeof(d->key)) {
		dup_free(d);
		return SL_ESYS;
	}
	*out = d;
	return 0;
}

void
dup_free(struct dupcache *d)
{
	if (d == NULL)
		return;
	free(d->e);
	OPENSSL_cleanse(d, sizeof(*d));
	free(d);
}

bool
dup_seen(struct dupcache *d, const uint8_t *dgram, size_t len,
    uint64_t now_ms)
{
	uint64_t h, tag;
	uint8_t head[DUP_HEAD] = { 0 };
	struct dup_entry *b, *v = NULL;
	bool vfree = false;

	if (d == NULL || (dgram == NULL && len != 0))
		return false;
	h = siphash24(d->key, dgram, len);
	tag = h | 1;
	b = &d->e[(size_t)((h >> 32) & d->mask) * DUP_WAYS];
	if (len > 0)
		memcpy(head, dgram, len < DUP_HEAD ? len : DUP_HEAD);
	for (int i = 0; i < DUP_WAYS; i++) {
		struct dup_entry *x = &b[i];

		if (x->tag == 0 || now_ms >= x->seen_ms + d->ttl_ms) {
			if (!vfree) {
				v = x;
				vfree = true;
			}
			continue;
		}
		if (x->tag == tag && memcmp(x->head, head, DUP_HEAD) == 0) {
			x->seen_ms = now_ms;
			d->st.hits++;
			return true;
		}
		if (!vfree && (v == NULL || x->seen_ms < v->seen_ms))
			v = x;
	}
	if (!vfree)
		d->st.evictions++;
	v->tag = tag;
	v->seen_ms = now_ms;
	memcpy(v->head, head, DUP_HEAD);
	d->st.misses++;
	return false;
}

const struct dup_stats *
dup_get_stats(const struct dupcache *d)
{
	return &d->st;
}
