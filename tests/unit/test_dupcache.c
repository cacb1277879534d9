/* test_dupcache.c - the duplicate-ciphertext cache: ttl edges, exactness,
 * replacement order, pressure (its cost: bench/tables). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dupcache.h"
#include "testutil.h"

#define T0 5000000u

/* A pseudo-random 256-byte datagram per seed. */
static void
mkdgram(uint8_t d[SL_DGRAM_LEN], uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 0x9e3779b9u;

	for (int i = 0; i < SL_DGRAM_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		d[i] = (uint8_t)(x >> 8);
	}
}

static struct dupcache *
mk(uint32_t entries, uint32_t ttl)
{
	struct dupcache *d = NULL;

	assert_int_equal(dup_new(&d, entries, ttl), 0);
	assert_non_null(d);
	return d;
}

/* The same datagram again after dt ms. */
static void
test_ttl_edges(void **state)
{
	static const struct {
		uint32_t ttl;
		uint64_t dt;
		bool seen;
	} rows[] = {
		{ 1000, 0, true }, { 1000, 1, true }, { 1000, 999, true },
		{ 1000, 1000, false }, { 1000, 1001, false },
		{ 1000, 3600000, false }, { 1, 0, true }, { 1, 1, false },
		{ 3600000, 3599999, true }, { 3600000, 3600000, false },
	};
	uint8_t a[SL_DGRAM_LEN];

	(void)state;
	mkdgram(a, 1);
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct dupcache *d = mk(1024, rows[r].ttl);

		assert_false(dup_seen(d, a, sizeof(a), T0));
		if (dup_seen(d, a, sizeof(a), T0 + rows[r].dt) != rows[r].seen)
			fail_msg("ttl %u dt %llu: want %d", rows[r].ttl,
			    (unsigned long long)rows[r].dt, rows[r].seen);
		assert_int_equal(dup_get_stats(d)->hits, rows[r].seen);
		assert_int_equal(dup_get_stats(d)->misses, 2 - rows[r].seen);
		/* either way it is recorded now: seen again at once */
		assert_true(dup_seen(d, a, sizeof(a), T0 + rows[r].dt));
		dup_free(d);
	}
}

/* A hit restarts the ttl: a datagram replayed steadily stays dropped. */
static void
test_hit_refreshes(void **state)
{
	struct dupcache *d = mk(64, 1000);
	uint8_t a[SL_DGRAM_LEN];
	uint64_t t = T0;

	(void)state;
	mkdgram(a, 7);
	assert_false(dup_seen(d, a, sizeof(a), t));
	for (int i = 0; i < 100; i++) {
		t += 999;
		assert_true(dup_seen(d, a, sizeof(a), t));
	}
	assert_false(dup_seen(d, a, sizeof(a), t + 1000));
	dup_free(d);
}

/* Only exact copies match: one changed bit anywhere, or another length,
 * is a different datagram. */
static void
test_exactness(void **state)
{
	static const size_t flips[] = { 0, 7, 8, 15, 16, 17, 128, 254, 255 };
	struct dupcache *d = mk(65536, 60000);
	uint8_t a[SL_DGRAM_LEN], b[SL_DGRAM_LEN];

	(void)state;
	mkdgram(a, 42);
	assert_false(dup_seen(d, a, sizeof(a), T0));
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			memcpy(b, a, sizeof(b));
			b[flips[i]] ^= (uint8_t)(1u << bit);
			if (dup_seen(d, b, sizeof(b), T0))
				fail_msg("byte %zu bit %d flipped: seen", flips[i],
				    bit);
		}
	}
	assert_false(dup_seen(d, a, sizeof(a) - 1, T0));  /* a prefix */
	assert_false(dup_seen(d, a, 16, T0));
	assert_false(dup_seen(d, a, 0, T0));
	assert_true(dup_seen(d, a, 0, T0));
	assert_true(dup_seen(d, a, sizeof(a), T0));
	/* many distinct datagrams: all new, then all seen */
	for (uint32_t s = 1000; s < 3000; s++) {
		mkdgram(b, s);
		assert_false(dup_seen(d, b, sizeof(b), T0 + 1));
	}
	for (uint32_t s = 1000; s < 3000; s++) {
		mkdgram(b, s);
		assert_true(dup_seen(d, b, sizeof(b), T0 + 2));
	}
	assert_int_equal(dup_get_stats(d)->evictions, 0);
	dup_free(d);
}

/*
 * One bucket (8 entries): replacement is deterministic.  A full bucket
 * replaces its oldest entry; an expired one is reused before any live one.
 */
static void
test_replacement_order(void **state)
{
	uint8_t x[10][SL_DGRAM_LEN];
	struct dupcache *d;

	(void)state;
	for (uint32_t i = 0; i < 10; i++)
		mkdgram(x[i], 100 + i);

	d = mk(8, 1000);
	for (uint32_t i = 0; i < 8; i++)
		assert_false(dup_seen(d, x[i], SL_DGRAM_LEN, T0 + i));
	assert_true(dup_seen(d, x[0], SL_DGRAM_LEN, T0 + 10));  /* x1 oldest */
	assert_false(dup_seen(d, x[8], SL_DGRAM_LEN, T0 + 11)); /* evicts x1 */
	assert_int_equal(dup_get_stats(d)->evictions, 1);
	for (uint32_t i = 8; i >= 2; i--)  /* newest first: no evictions */
		assert_true(dup_seen(d, x[i], SL_DGRAM_LEN, T0 + 12));
	assert_true(dup_seen(d, x[0], SL_DGRAM_LEN, T0 + 12));
	assert_false(dup_seen(d, x[1], SL_DGRAM_LEN, T0 + 13));
	assert_int_equal(dup_get_stats(d)->evictions, 2);
	dup_free(d);

	d = mk(8, 1000);
	assert_false(dup_seen(d, x[0], SL_DGRAM_LEN, T0));
	for (uint32_t i = 1; i < 8; i++)
		assert_false(dup_seen(d, x[i], SL_DGRAM_LEN, T0 + 500));
	/* x0 expired at T0 + 1000: x8 takes its way, nothing live goes */
	assert_false(dup_seen(d, x[8], SL_DGRAM_LEN, T0 + 1000));
	assert_int_equal(dup_get_stats(d)->evictions, 0);
	for (uint32_t i = 1; i <= 8; i++)
		assert_true(dup_seen(d, x[i], SL_DGRAM_LEN, T0 + 1001));
	dup_free(d);
}

/* Far more datagrams than entries: bounded memory, evictions, the most
 * recent survives, no false hits. */
static void
test_pressure(void **state)
{
	struct mallinfo2 before, after;
	uint8_t b[SL_DGRAM_LEN];
	struct dupcache *d = mk(64, 60000);
	uint64_t hits;

	(void)state;
	before = mallinfo2();
	for (uint32_t s = 0; s < 100000; s++) {
		mkdgram(b, s);
		assert_false(dup_seen(d, b, sizeof(b), T0 + s / 10));
		assert_true(dup_seen(d, b, sizeof(b), T0 + s / 10));
	}
	after = mallinfo2();
	assert_int_equal(before.uordblks, after.uordblks);
	assert_int_equal(dup_get_stats(d)->misses, 100000);
	assert_int_equal(dup_get_stats(d)->hits, 100000);
	assert_int_equal(dup_get_stats(d)->evictions, 100000 - 64);
	/* of the last 64, some were pushed out by their bucket-mates; older
	 * ones are all gone, the newest is there */
	mkdgram(b, 99999);
	assert_true(dup_seen(d, b, sizeof(b), T0 + 10000));
	hits = dup_get_stats(d)->hits;
	for (uint32_t s = 0; s < 1000; s++) {
		mkdgram(b, s);
		(void)dup_seen(d, b, sizeof(b), T0 + 10000);
	}
	assert_int_equal(dup_get_stats(d)->hits, hits);
	dup_free(d);
}

/* Every other call a copy of the datagram before it, the rest new: each
 * copy is a hit, nothing else is (bench/tables times the same loop). */
static void
test_every_other_a_copy(void **state)
{
	static uint8_t pool[256][SL_DGRAM_LEN];
	struct dupcache *d = mk(65536, 60000);
	unsigned hits = 0;

	(void)state;
	for (uint32_t i = 0; i < 256; i++)
		mkdgram(pool[i], i);
	for (uint32_t i = 0; i < 100000; i++) {
		uint8_t *p = pool[(i >> 1) & 255];

		if ((i & 1) == 0)
			memcpy(p + 100, &i, sizeof(i));
		hits += dup_seen(d, p, SL_DGRAM_LEN, T0 + i / 100);
	}
	assert_int_equal(hits, 50000);
	assert_int_equal(dup_get_stats(d)->hits, 50000);
	dup_free(d);
}

static void
test_bad_args(void **state)
{
	static const struct {
		uint32_t entries, ttl;
		int rc;
	} rows[] = {
		{ 0, 1000, SL_EINVAL }, { DUP_ENTRIES_MAX + 1, 1000, SL_EINVAL },
		{ 1024, 0, SL_EINVAL }, { 1, 1, 0 }, { 9, 1, 0 },
	};
	struct dupcache *d = (struct dupcache *)&d;

	(void)state;
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		assert_int_equal(dup_new(&d, rows[r].entries, rows[r].ttl),
		    rows[r].rc);
		if (rows[r].rc != 0)
			assert_null(d);
		dup_free(d);
		d = NULL;
	}
	assert_int_equal(dup_new(NULL, 8, 1), SL_EINVAL);
	assert_false(dup_seen(NULL, (const uint8_t *)"x", 1, T0));
	d = mk(8, 1);
	assert_false(dup_seen(d, NULL, 10, T0));
	dup_free(d);
	dup_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ttl_edges),
		cmocka_unit_test(test_hit_refreshes),
		cmocka_unit_test(test_exactness),
		cmocka_unit_test(test_replacement_order),
		cmocka_unit_test(test_pressure),
		cmocka_unit_test(test_every_other_a_copy),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
