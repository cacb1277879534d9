/* test_ratelimit.c - budgets paid at admission, refunds, penalties,
 * decay, known-good sources and trickles, the global cap, prefix grouping
 * and table pressure of the rate limiter. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ratelimit.h"
#include "testutil.h"

#define T0 1000000u  /* an arbitrary monotonic start, ms */

/* 10.x.y.z from a counter: distinct sources in distinct /24s when n < 2^16
 * steps by 256. */
static struct sl_addr
v4n(uint32_t n)
{
	struct sl_addr a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	a.bytes[0] = 10;
	a.bytes[1] = (uint8_t)(n >> 16);
	a.bytes[2] = (uint8_t)(n >> 8);
	a.bytes[3] = (uint8_t)n;
	return a;
}

static struct rl_config
base_config(void)
{
	struct rl_config c = {
		.source_budget = 3,
		.prefix_budget = 1000,
		.window_ms = 60000,
		.penalty_ms = 1000,
		.penalty_max_ms = 8000,
		.good_ms = 30000,
		.global_per_sec = 0,
		.table_entries = 1024,
	};
	return c;
}

static struct rl *
mk(const struct rl_config *c)
{
	struct rl *rl = NULL;

	assert_int_equal(rl_new(&rl, c), 0);
	assert_non_null(rl);
	return rl;
}

/* One failure: admitted (it must be), then reported failed. */
static uint64_t
fail1(struct rl *rl, const struct sl_addr *a, uint64_t t)
{
	assert_int_equal(rl_check(rl, a, t), RL_PASS);
	return rl_fail(rl, a, t);
}

/* Fail until a penalty starts; returns its length.  Every packet must have
 * been let through first. */
static uint64_t
offend(struct rl *rl, const struct sl_addr *a, uint64_t t)
{
	for (int i = 0; i < 1000; i++) {
		uint64_t pu, r;

		assert_int_equal(rl_check(rl, a, t), RL_PASS);
		r = rl_fail(rl, a, t);
		/* rl_fail says when a penalty of the source's own starts */
		if ((pu = rl_penalty_until(rl, a, t)) != 0) {
			assert_true(r == 0 || r == pu);
			return pu - t;
		}
		assert_int_equal(r, 0);
	}
	fail_msg("no penalty after 1000 failures");
	return 0;
}

static void
test_budget_edges(void **state)
{
	static const struct {
		uint32_t sb, pb;
		enum rl_verdict after;  /* once the smaller budget is spent */
	} rows[] = {
		{ 1, 1000, RL_DROP_SOURCE },
		{ 3, 1000, RL_DROP_SOURCE },
		{ 100, 1000, RL_DROP_SOURCE },
		{ 5, 3, RL_DROP_PREFIX },
		{ 4, 4, RL_DROP_SOURCE },  /* both: the source is checked first */
	};
	struct sl_addr a = tu_addr("192.0.2.10"), other = tu_addr("198.51.100.1");

	(void)state;
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct rl_config c = base_config();
		uint32_t n = rows[r].sb < rows[r].pb ? rows[r].sb : rows[r].pb;
		struct rl *rl;

		c.source_budget = rows[r].sb;
		c.prefix_budget = rows[r].pb;
		rl = mk(&c);
		for (uint32_t i = 0; i < n; i++) {
			uint64_t until;

			assert_int_equal(rl_check(rl, &a, T0 + i), RL_PASS);
			if (i + 1 < n)
				assert_int_equal(rl_penalty_until(rl, &a, T0 + i), 0);
			until = rl_fail(rl, &a, T0 + i);
			/* only the failure that starts the source's own penalty
			 * returns its end (for the kernel filter) */
			if (i + 1 < n || rows[r].after != RL_DROP_SOURCE)
				assert_int_equal(until, 0);
			else
				assert_int_equal(until, T0 + i + c.penalty_ms);
		}
		assert_int_equal(rl_check(rl, &a, T0 + n), rows[r].after);
		assert_int_equal(rl_check(rl, &other, T0 + n), RL_PASS);
		assert_int_equal(rl_get_stats(rl)->penalties,
		    rows[r].sb == rows[r].pb ? 2 : 1);
		rl_free(rl);
	}
}

/* Below the budget, refill keeps a slow failer out of penalty. */
static void
test_refill_below_budget(void **state)
{
	struct rl_config c = base_config();  /* 3 per 60 s */
	struct sl_addr a = tu_addr("192.0.2.10");
	struct rl *rl = mk(&c);

	(void)state;
	/* one failure every 20 s is exactly the refill rate: never penalised */
	for (uint64_t i = 0; i < 50; i++) {
		assert_int_equal(rl_check(rl, &a, T0 + i * 20000), RL_PASS);
		rl_fail(rl, &a, T0 + i * 20000);
	}
	assert_int_equal(rl_get_stats(rl)->penalties, 0);
	/* one every 19 s is not */
	for (uint64_t i = 0; i < 50 && rl_get_stats(rl)->penalties == 0; i++)
		fail1(rl, &a, T0 + 1000000 + i * 19000);
	assert_int_equal(rl_get_stats(rl)->penalties, 1);
	rl_free(rl);
}

static void
test_penalty_length(void **state)
{
	static const struct {
		uint32_t sb, pen, max;
	} rows[] = {
		{ 1, 1, 1 }, { 1, 1000, 8000 }, { 3, 1500, 1500 },
		{ 2, 7u * 24 * 3600 * 1000, 7u * 24 * 3600 * 1000 },
	};
	struct sl_addr a = tu_addr("2001:db8::1");

	(void)state;
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct rl_config c = base_config();
		struct rl *rl;
		uint64_t t = T0, end;

		c.source_budget = rows[r].sb;
		c.penalty_ms = rows[r].pen;
		c.penalty_max_ms = rows[r].max;
		rl = mk(&c);
		assert_int_equal(offend(rl, &a, t), rows[r].pen);
		end = t + rows[r].pen;
		assert_int_equal(rl_penalty_until(rl, &a, t), end);
		assert_int_equal(rl_check(rl, &a, end - 1), RL_DROP_SOURCE);
		assert_int_equal(rl_penalty_until(rl, &a, end - 1), end);
		assert_int_equal(rl_check(rl, &a, end), RL_PASS);
		assert_int_equal(rl_penalty_until(rl, &a, end), 0);
		rl_free(rl);
	}
}

/* Repeat offences double the penalty up to the cap, whatever the budget. */
static void
test_doubling(void **state)
{
	static const struct {
		uint32_t sb, pen, max;
		uint64_t len[8];
	} rows[] = {
		{ 1, 1000, 8000, { 1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000 } },
		{ 3, 1000, 8000, { 1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000 } },
		{ 1, 1000, 5000, { 1000, 2000, 4000, 5000, 5000, 5000, 5000, 5000 } },
		{ 1, 300, 100000, { 300, 600, 1200, 2400, 4800, 9600, 19200, 38400 } },
		{ 1, 1000, 1000, { 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000 } },
	};
	struct sl_addr a = tu_addr("192.0.2.10");

	(void)state;
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct rl_config c = base_config();
		struct rl *rl;
		uint64_t t = T0;

		c.source_budget = rows[r].sb;
		c.penalty_ms = rows[r].pen;
		c.penalty_max_ms = rows[r].max;
		c.window_ms = 3600000;  /* no meaningful refill in between */
		rl = mk(&c);
		for (int i = 0; i < 8; i++) {
			uint64_t len = offend(rl, &a, t);

			if (len != rows[r].len[i])
				fail_msg("row %zu offence %d: %llu ms, want %llu",
				    r, i, (unsigned long long)len,
				    (unsigned long long)rows[r].len[i]);
			t += len;  /* retry the moment the penalty ends */
		}
		assert_int_equal(rl_get_stats(rl)->penalties, 8);
		rl_free(rl);
	}
}

/* Staying quiet for penalty_max_ms after a penalty halves the offences. */
static void
test_decay(void **state)
{
	static const struct {
		uint64_t quiet;   /* after the 4th penalty (8000 ms) ended */
		uint64_t next;    /* length of the next penalty */
	} rows[] = {
		{ 0, 8000 },         /* 4 -> 5 offences: capped */
		{ 7999, 8000 },      /* not yet a full quiet period */
		{ 8000, 4000 },      /* 4 -> 2, next is the 3rd: 4000 */
		{ 15999, 4000 },
		{ 16000, 2000 },     /* 4 -> 1 */
		{ 24000, 1000 },     /* 4 -> 0 */
		{ 10000000, 1000 },
	};
	struct sl_addr a = tu_addr("2001:db8:5::77");

	(void)state;
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct rl_config c = base_config();
		struct rl *rl;
		uint64_t t = T0, len;

		c.source_budget = 1;
		c.window_ms = 3600000;
		rl = mk(&c);
		for (int i = 0; i < 4; i++)
			t += offend(rl, &a, t);
		len = offend(rl, &a, t + rows[r].quiet);
		if (len != rows[r].next)
			fail_msg("quiet %llu: penalty %llu, want %llu",
			    (unsigned long long)rows[r].quiet,
			    (unsigned long long)len,
			    (unsigned long long)rows[r].next);
		rl_free(rl);
	}
}

/*
 * A source that authenticated keeps its own budget: neither its prefix's
 * penalty nor the global cap drops it, while its /24 neighbours are dropped.
 * (trickle_per_sec = 0: a spent budget drops everything, see
 * test_good_trickle for the trickle.)
 */
static void
test_good_source(void **state)
{
	struct rl_config c = base_config();
	struct sl_addr good = tu_addr("192.0.2.5"), n1 = tu_addr("192.0.2.7"),
	    n2 = tu_addr("192.0.2.8"), fresh = tu_addr("192.0.2.200"),
	    far = tu_addr("198.51.100.9");
	struct rl *rl;
	uint64_t t = T0;

	(void)state;
	c.source_budget = 3;
	c.prefix_budget = 4;
	c.penalty_ms = 60000;
	c.penalty_max_ms = 600000;
	c.global_per_sec = 10;
	rl = mk(&c);
	assert_int_equal(rl_check(rl, &good, t), RL_PASS);
	rl_refund(rl, &good, t);
	assert_false(rl_good(rl, &good, t));  /* not in a penalty */
	/* two neighbours spend the prefix budget, neither its own */
	for (int i = 0; i < 2; i++) {
		fail1(rl, &n1, t);
		fail1(rl, &n2, t);
	}
	t += 1000;  /* the global bucket is full again */
	assert_int_equal(rl_check(rl, &n1, t), RL_DROP_PREFIX);
	assert_int_equal(rl_check(rl, &n2, t), RL_DROP_PREFIX);
	assert_int_equal(rl_check(rl, &fresh, t), RL_DROP_PREFIX);
	assert_int_equal(rl_penalty_until(rl, &fresh, t), T0 + 60000);
	assert_int_equal(rl_check(rl, &good, t), RL_PASS);
	rl_refund(rl, &good, t);
	assert_int_equal(rl_penalty_until(rl, &good, t), 0);
	/* the global cap: 10 a second for everyone else (ten sources, each
	 * within its own budget) ... */
	for (uint32_t i = 0; i < 10; i++) {
		struct sl_addr a = v4n(i << 8);

		assert_int_equal(rl_check(rl, &a, t), RL_PASS);
	}
	assert_int_equal(rl_check(rl, &far, t), RL_DROP_GLOBAL);
	/* ... but not for the known-good source, which takes no token (its
	 * knocks authenticate: each gets its payment back) */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(rl_check(rl, &good, t), RL_PASS);
		rl_refund(rl, &good, t);
	}
	assert_int_equal(rl_check(rl, &far, t + 99), RL_DROP_GLOBAL);
	assert_int_equal(rl_check(rl, &far, t + 100), RL_PASS);
	/* its own failures still count: over its own budget it is dropped */
	for (int i = 0; i < 3; i++)
		assert_int_equal(fail1(rl, &good, t + 200), 0);  /* not for the kernel */
	assert_int_equal(rl_check(rl, &good, t + 201), RL_DROP_SOURCE);
	assert_int_equal(rl_penalty_until(rl, &good, t + 201), t + 200 + 60000);
	assert_int_equal(rl_check(rl, &good, t + 200 + 60000), RL_PASS);
	rl_free(rl);

	/* known good lapses after good_ms; authenticating again renews it */
	rl = mk(&c);
	t = T0;
	rl_good(rl, &good, t);
	for (int i = 0; i < 2; i++) {
		fail1(rl, &n1, t);
		fail1(rl, &n2, t);
	}
	assert_int_equal(rl_check(rl, &good, t + c.good_ms - 1), RL_PASS);
	assert_int_equal(rl_check(rl, &good, t + c.good_ms), RL_DROP_PREFIX);
	rl_good(rl, &good, t + c.good_ms);
	assert_int_equal(rl_check(rl, &good, t + c.good_ms + 1), RL_PASS);
	assert_int_equal(rl_check(rl, &n1, t + c.good_ms + 1), RL_DROP_PREFIX);
	rl_free(rl);
}

/* N per second pass, the next is dropped, tokens come back with time. */
static void
test_global_bucket(void **state)
{
	static const uint32_t rates[] = { 1, 4, 10, 250, 1000, 20000 };
	struct sl_addr a = tu_addr("203.0.113.1");

	(void)state;
	for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		struct rl_config c = base_config();
		uint32_t n = rates[r];
		struct rl *rl;
		uint64_t t = T0;

		c.global_per_sec = n;
		/* one source: its own budgets must not be what stops it */
		c.source_budget = c.prefix_budget = RL_BUDGET_MAX;
		rl = mk(&c);
		for (uint32_t i = 0; i < n; i++)
			assert_int_equal(rl_check(rl, &a, t), RL_PASS);
		assert_int_equal(rl_check(rl, &a, t), RL_DROP_GLOBAL);
		/* one token per 1000/n ms */
		if (1000 % n == 0 && n <= 1000) {
			uint64_t step = 1000 / n;

			if (step > 1)
				assert_int_equal(rl_check(rl, &a, t + step - 1),
				    RL_DROP_GLOBAL);
			assert_int_equal(rl_check(rl, &a, t + step), RL_PASS);
			assert_int_equal(rl_check(rl, &a, t + step),
			    RL_DROP_GLOBAL);
		}
		/* a full second later: a full burst again, no more */
		t += 5000;
		for (uint32_t i = 0; i < n; i++)
			assert_int_equal(rl_check(rl, &a, t), RL_PASS);
		assert_int_equal(rl_check(rl, &a, t), RL_DROP_GLOBAL);
		assert_int_equal(rl_get_stats(rl)->pass,
		    2 * (uint64_t)n + (1000 % n == 0 && n <= 1000));
		rl_free(rl);
	}
	/* 0 = no cap */
	{
		struct rl_config c = base_config();
		struct rl *rl;

		c.source_budget = c.prefix_budget = RL_BUDGET_MAX;
		rl = mk(&c);
		for (int i = 0; i < 100000; i++)
			assert_int_equal(rl_check(rl, &a, T0), RL_PASS);
		rl_free(rl);
	}
}

/*
 * /24 and /64 grouping; IPv4 and IPv6 never share an entry, even when the
 * IPv6 address starts with the same bytes.  v4-mapped IPv6 is IPv4.
 */
static void
test_grouping(void **state)
{
	static const struct {
		const char *a, *b;
		bool same_prefix, same_source;
	} rows[] = {
		{ "192.0.2.1", "192.0.2.1", true, true },
		{ "192.0.2.1", "192.0.2.254", true, false },
		{ "192.0.2.1", "192.0.3.1", false, false },
		{ "192.0.2.1", "193.0.2.1", false, false },
		{ "192.0.2.1", "::ffff:192.0.2.1", true, true },
		{ "192.0.2.1", "::ffff:192.0.2.77", true, false },
		{ "192.0.2.1", "c000:201::", false, false },     /* same bytes */
		{ "192.0.2.1", "c000:200::1", false, false },
		{ "192.0.2.1", "::c000:201", false, false },
		{ "2001:db8:1:2::1", "2001:db8:1:2::1", true, true },
		{ "2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true, false },
		{ "2001:db8:1:2::1", "2001:db8:1:3::1", false, false },
		{ "2001:db8:1:2::1", "2001:db8:1::1", false, false },
		{ "2001:db8:1:2::1", "2001:db9:1:2::1", false, false },
	};

	(void)state;
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct sl_addr a = tu_addr(rows[r].a), b = tu_addr(rows[r].b);
		struct rl_config c = base_config();
		struct rl *rl;

		/* the prefix: two failures from a */
		c.source_budget = 100;
		c.prefix_budget = 2;
		rl = mk(&c);
		fail1(rl, &a, T0);
		fail1(rl, &a, T0);
		assert_int_equal(rl_check(rl, &a, T0), RL_DROP_PREFIX);
		if (rl_check(rl, &b, T0) !=
		    (rows[r].same_prefix ? RL_DROP_PREFIX : RL_PASS))
			fail_msg("prefix: %s vs %s", rows[r].a, rows[r].b);
		rl_free(rl);

		/* the source: one failure from a */
		c.source_budget = 1;
		c.prefix_budget = 100;
		rl = mk(&c);
		fail1(rl, &a, T0);
		assert_int_equal(rl_check(rl, &a, T0), RL_DROP_SOURCE);
		if (rl_check(rl, &b, T0) !=
		    (rows[r].same_source ? RL_DROP_SOURCE : RL_PASS))
			fail_msg("source: %s vs %s", rows[r].a, rows[r].b);
		rl_free(rl);
	}
}

/*
 * Many more distinct sources than entries: no crash, no growth, and the
 * entries in penalty stay while the flood churns through the rest.
 */
static void
test_table_pressure(void **state)
{
	struct rl_config c = base_config();
	struct sl_addr pen[8];
	struct mallinfo2 before, after;
	struct rl *rl;
	uint64_t t = T0;

	(void)state;
	c.source_budget = 2;
	c.prefix_budget = RL_BUDGET_MAX;
	c.penalty_ms = c.penalty_max_ms = 600000;
	c.table_entries = 60;  /* rounded up to 64: 8 buckets of 8 */
	rl = mk(&c);
	for (int i = 0; i < 8; i++) {
		char s[64];

		snprintf(s, sizeof(s), "2001:db8:%x::1", i);
		pen[i] = tu_addr(s);
		fail1(rl, &pen[i], t);
		fail1(rl, &pen[i], t);
		assert_int_equal(rl_check(rl, &pen[i], t), RL_DROP_SOURCE);
	}
	before = mallinfo2();
	for (uint32_t i = 0; i < 200000; i++) {
		struct sl_addr a = v4n(i * 7919);

		t += i % 2;
		assert_int_equal(rl_check(rl, &a, t), RL_PASS);
		rl_fail(rl, &a, t);
		if (i % 3 == 0)
			rl_good(rl, &a, t);
	}
	after = mallinfo2();
	assert_int_equal(before.uordblks, after.uordblks);
	assert_true(rl_get_stats(rl)->evictions > 150000);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(rl_check(rl, &pen[i], t), RL_DROP_SOURCE);
		assert_int_equal(rl_penalty_until(rl, &pen[i], t), T0 + 600000);
	}
	/* a table full of penalties still takes newcomers (evicting the
	 * penalty that ends soonest) */
	for (uint32_t i = 0; i < 1000; i++) {
		struct sl_addr a = v4n(i * 257);

		for (int k = 0; k < 2; k++) {
			(void)rl_check(rl, &a, t + i);
			rl_fail(rl, &a, t + i);
		}
	}
	{
		struct sl_addr last = v4n(999 * 257);

		assert_int_equal(rl_check(rl, &last, t + 999), RL_DROP_SOURCE);
	}
	rl_free(rl);
}

/*
 * In a full bucket a plain entry goes before a known-good one, even an
 * older one: one bucket (8 entries per table), the good source is the
 * oldest, eight neighbours fail after it.
 */
static void
test_eviction_keeps_good(void **state)
{
	struct rl_config c = base_config();
	struct sl_addr good = tu_addr("192.0.2.1");
	struct rl *rl;

	(void)state;
	c.source_budget = 100;
	c.prefix_budget = 8;
	c.table_entries = 8;
	rl = mk(&c);
	rl_good(rl, &good, T0);
	for (int i = 0; i < 8; i++) {
		struct sl_addr a = good;

		a.bytes[3] = (uint8_t)(10 + i);
		fail1(rl, &a, T0 + 1 + (uint64_t)i);
	}
	assert_int_equal(rl_get_stats(rl)->evictions, 1);
	assert_int_equal(rl_check(rl, &good, T0 + 10), RL_PASS);
	good.bytes[3] = 10;  /* while its neighbours meet the prefix penalty */
	assert_int_equal(rl_check(rl, &good, T0 + 10), RL_DROP_PREFIX);
	rl_free(rl);
}

/*
 * Issue 9, item 2: a burst from one source is decrypted no more often than
 * its budget allows, however many of its datagrams are still in flight
 * (checked, not yet reported): each pays at admission.  Rows: budgets,
 * trickle, how many sources of one /24 send how many each, all within
 * one millisecond, and how many are admitted.
 */
static void
test_burst_paid_at_admission(void **state)
{
	static const struct {
		uint32_t sb, pb, trickle, nsrc, each, pass, penalties, kernel;
	} rows[] = {
		{ 20, 200, 0, 1, 5000, 20, 1, 1 },
		{ 20, 200, 2, 1, 5000, 20, 1, 1 },   /* not known good: no trickle */
		{ 1, 200, 2, 1, 100, 1, 1, 1 },
		{ 20, 20, 0, 1, 5000, 20, 2, 1 },    /* both spent */
		{ 20, 200, 0, 12, 19, 200, 1, 0 },   /* the prefix: 12 * 19 = 228 */
		{ 20, 200, 2, 12, 19, 202, 1, 0 },   /* and its trickle */
		{ 19, 200, 0, 12, 19, 200, 11, 10 }, /* and 10 sources' own */
		{ 20, 200, 2, 100, 1, 100, 0, 0 },
	};

	(void)state;
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct rl_config c = base_config();
		struct sl_addr admitted[256];
		uint32_t n = 0, kernel = 0;
		struct rl *rl;

		c.source_budget = rows[r].sb;
		c.prefix_budget = rows[r].pb;
		c.window_ms = 10000;
		c.penalty_ms = 10000;
		c.penalty_max_ms = 600000;
		c.trickle_per_sec = rows[r].trickle;
		rl = mk(&c);
		for (uint32_t s = 0; s < rows[r].nsrc; s++) {
			struct sl_addr a = v4n(0x010200 + s);  /* 10.1.2.s */

			for (uint32_t k = 0; k < rows[r].each; k++) {
				if (rl_check(rl, &a, T0) != RL_PASS)
					continue;
				assert_true(n < 256);
				admitted[n++] = a;
			}
		}
		if (n != rows[r].pass)
			fail_msg("row %zu: %u admitted, want %u", r, n,
			    rows[r].pass);
		/* now the failures come back: spent budgets become penalties;
		 * the kernel is told of a source's at its first failure */
		for (uint32_t k = 0; k < n; k++)
			if (rl_fail(rl, &admitted[k], T0 + 1) != 0)
				kernel++;
		assert_int_equal(rl_get_stats(rl)->penalties, rows[r].penalties);
		assert_int_equal(kernel, rows[r].kernel);
		if (rows[r].nsrc == 1 && rows[r].penalties > 0)
			assert_int_equal(rl_penalty_until(rl, &admitted[0],
			    T0 + 1), T0 + 1 + 10000);
		rl_free(rl);
	}
}

/*
 * Debit at admission, refund on success: a source whose packets
 * authenticate never runs out, and refunds never raise a budget above its
 * size.  Being known good (as after a format-2 knock, which paid nothing)
 * refunds nothing.
 */
static void
test_refund(void **state)
{
	struct rl_config c = base_config();  /* source budget 3 */
	struct sl_addr a = tu_addr("192.0.2.10"), b = tu_addr("192.0.2.11");
	struct rl *rl;
	int n;

	(void)state;
	c.prefix_budget = 5;
	rl = mk(&c);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(rl_check(rl, &a, T0), RL_PASS);
		rl_refund(rl, &a, T0);
		if (i % 2 == 0)
			rl_good(rl, &a, T0);
	}
	/* still exactly three in flight at once, not more */
	for (n = 0; rl_check(rl, &a, T0) == RL_PASS; n++)
		;
	assert_int_equal(n, 3);
	/* the prefix paid three of five */
	for (n = 0; rl_check(rl, &b, T0) == RL_PASS; n++)
		;
	assert_int_equal(n, 2);
	rl_refund(rl, &b, T0);
	assert_int_equal(rl_check(rl, &b, T0), RL_PASS);
	assert_int_equal(rl_check(rl, &b, T0), RL_DROP_PREFIX);
	rl_free(rl);

	/* rl_good alone refunds nothing; an unknown address is ignored */
	rl = mk(&c);
	for (n = 0; n < 3; n++)
		assert_int_equal(rl_check(rl, &a, T0), RL_PASS);
	assert_false(rl_good(rl, &a, T0));
	assert_int_equal(rl_check(rl, &a, T0), RL_DROP_SOURCE);
	rl_refund(rl, &b, T0);  /* never admitted: no entry, nothing made */
	rl_refund(rl, NULL, T0);
	assert_int_equal(rl_check(rl, &a, T0), RL_DROP_SOURCE);
	rl_refund(rl, &a, T0);
	assert_int_equal(rl_check(rl, &a, T0), RL_PASS);
	rl_free(rl);
}

/* rl_peek says what rl_check would, and takes nothing. */
static void
test_peek(void **state)
{
	struct rl_config c = base_config();  /* source budget 3 */
	struct sl_addr a = tu_addr("192.0.2.10");
	struct rl *rl;

	(void)state;
	c.global_per_sec = 5;
	rl = mk(&c);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rl_peek(rl, &a, T0), RL_PASS);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rl_check(rl, &a, T0), RL_PASS);
	assert_int_equal(rl_peek(rl, &a, T0), RL_DROP_SOURCE);
	assert_int_equal(rl_check(rl, &a, T0), RL_DROP_SOURCE);
	/* two global tokens left, untouched by peeking */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rl_peek(rl, &(struct sl_addr){ AF_INET,
		    { 10, 9, 9, 9 } }, T0), RL_PASS);
	assert_int_equal(rl_check(rl, &(struct sl_addr){ AF_INET,
	    { 10, 9, 9, 9 } }, T0), RL_PASS);
	assert_int_equal(rl_check(rl, &(struct sl_addr){ AF_INET,
	    { 10, 9, 9, 9 } }, T0), RL_PASS);
	assert_int_equal(rl_peek(rl, &(struct sl_addr){ AF_INET,
	    { 10, 9, 9, 9 } }, T0), RL_DROP_GLOBAL);
	assert_int_equal(rl_get_stats(rl)->pass, 5);
	assert_int_equal(rl_get_stats(rl)->drop_source, 2);
	assert_int_equal(rl_get_stats(rl)->drop_global, 1);
	rl_free(rl);
}

/*
 * Issue 9, item 1: junk in a known-good source's name puts it in a
 * penalty, but never out of reach.  The review's case: a user knocks, 22
 * junk datagrams follow from "its" address, the user knocks again a
 * second later; three times over, the penalty doubling meanwhile.  The
 * trickle is bounded (2 a second, a burst of 2), the source never goes to
 * the kernel, and a source that is not known good gets no trickle.
 */
static void
test_good_trickle(void **state)
{
	struct rl_config c = base_config();
	struct sl_addr user = tu_addr("192.0.2.5"), other = tu_addr("198.51.100.7");
	struct rl_penalty pen[2];
	struct rl *rl;
	uint64_t t = T0, until = 0;
	uint32_t n;

	(void)state;
	c.source_budget = 20;
	c.prefix_budget = 200;
	c.window_ms = 10000;
	c.penalty_ms = 10000;
	c.penalty_max_ms = 600000;
	c.good_ms = 600000;
	c.trickle_per_sec = 2;
	rl = mk(&c);
	assert_int_equal(rl_check(rl, &user, t), RL_PASS);  /* a knock */
	rl_refund(rl, &user, t);
	assert_false(rl_good(rl, &user, t));
	for (int round = 0; round < 3; round++) {
		uint64_t len = 10000u << round;

		t += 100;
		/* 22 junk datagrams: 20 on the budget, 2 on the trickle */
		for (n = 0; n < 22; n++) {
			assert_int_equal(rl_check(rl, &user, t), RL_PASS);
			assert_int_equal(rl_fail_report(rl, &user, t, pen), 0);
			if (pen[0].until != 0) {
				assert_true(pen[0].known_good);
				assert_int_equal(pen[0].len_ms, len);
				assert_int_equal(pen[0].offences, round + 1);
				until = pen[0].until;
			}
		}
		assert_int_equal(until, t + len);
		assert_int_equal(rl_check(rl, &user, t), RL_DROP_SOURCE);
		assert_int_equal(rl_check(rl, &user, t + 499), RL_DROP_SOURCE);
		/* the user's next knock, a second later: through */
		t += 1000;
		assert_int_equal(rl_check(rl, &user, t), RL_PASS);
		rl_refund(rl, &user, t);
		assert_false(rl_good(rl, &user, t));  /* already known good */
		assert_int_equal(rl_penalty_until(rl, &user, t), until);
		/* sit out the penalty */
		t = until;
	}
	/* a sustained flood in its name gets 2 a second, no more: one every
	 * 500 ms after the burst of 2 */
	t += 100;
	for (n = 0; n < 22; n++) {  /* the budget, then the trickle's burst */
		assert_int_equal(rl_check(rl, &user, t), RL_PASS);
		rl_fail(rl, &user, t);
	}
	assert_int_equal(rl_check(rl, &user, t), RL_DROP_SOURCE);
	n = 0;
	for (uint64_t ms = 1; ms < 10000; ms++)
		if (rl_check(rl, &user, t + ms) == RL_PASS) {
			n++;
			rl_fail(rl, &user, t + ms);
		}
	assert_int_equal(n, 19);
	assert_true(rl_get_stats(rl)->trickle >= 3 * 2 + 3 + 19);

	/* not known good: no trickle, and the kernel drops it too */
	for (n = 0; n < 20; n++)
		until = fail1(rl, &other, t);
	assert_int_equal(until, t + 10000);
	for (uint64_t ms = 0; ms < 10000; ms += 7)
		assert_int_equal(rl_check(rl, &other, t + ms), RL_DROP_SOURCE);
	/* until it authenticates (format 2, which its penalty does not
	 * stop): then out of the kernel, and on a trickle */
	assert_true(rl_good(rl, &other, t + 5000));
	assert_false(rl_good(rl, &other, t + 5001));
	assert_int_equal(rl_check(rl, &other, t + 5001), RL_PASS);
	rl_free(rl);

	/* trickle_per_sec = 0: a known-good source in its penalty is dropped */
	c.trickle_per_sec = 0;
	rl = mk(&c);
	rl_good(rl, &user, T0);
	for (n = 0; n < 20; n++)
		assert_int_equal(fail1(rl, &user, T0), 0);
	for (uint64_t ms = 0; ms < 10000; ms += 7)
		assert_int_equal(rl_check(rl, &user, T0 + ms), RL_DROP_SOURCE);
	rl_free(rl);
}

/*
 * Issue 9, item 1: a prefix in a penalty spares its known-good sources and
 * leaves a trickle, shared, for the rest: the review's 220 datagrams over
 * one /24 (at most 19 from each address) no longer lock a fresh user of
 * that /24 out.  IPv4 /24 and IPv6 /64 alike.
 */
/* 10.1.2.h, or 2001:db8:1:2::h */
static struct sl_addr
in_prefix(size_t v6, unsigned h)
{
	struct sl_addr a = tu_addr(v6 ? "2001:db8:1:2::" : "10.1.2.0");

	a.bytes[v6 ? 15 : 3] = (uint8_t)h;
	return a;
}

static void
test_prefix_trickle(void **state)
{
	static const char *const elsewhere[] = { "10.1.3.1", "2001:db8:1:3::1" };

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		struct rl_config c = base_config();
		struct sl_addr good, fresh, fresh2, far = tu_addr(elsewhere[f]);
		struct rl_penalty pen[2];
		struct rl *rl;
		uint64_t t = T0, until = 0;
		uint32_t n;

		c.source_budget = 20;
		c.prefix_budget = 200;
		c.window_ms = 10000;
		c.penalty_ms = c.penalty_max_ms = 10000;
		c.trickle_per_sec = 2;
		rl = mk(&c);
		good = in_prefix(f, 250);
		fresh = in_prefix(f, 251);
		fresh2 = in_prefix(f, 252);
		rl_good(rl, &good, t);
		/* 12 addresses, 19 junk each: 200 on the budget, 2 on the
		 * trickle, 26 dropped */
		n = 0;
		for (unsigned a = 1; a <= 12; a++) {
			struct sl_addr x = in_prefix(f, a);

			for (int k = 0; k < 19; k++) {
				if (rl_check(rl, &x, t) != RL_PASS)
					continue;
				n++;
				assert_int_equal(rl_fail_report(rl, &x, t, pen), 0);
				assert_int_equal(pen[0].until, 0);
				if (pen[1].until != 0) {
					assert_int_equal(pen[1].len_ms, 10000);
					assert_int_equal(pen[1].offences, 1);
					until = pen[1].until;
				}
			}
		}
		assert_int_equal(n, 202);
		assert_int_equal(until, t + 10000);
		/* the known-good source: not held back at all */
		for (int k = 0; k < 100; k++) {
			assert_int_equal(rl_check(rl, &good, t), RL_PASS);
			rl_refund(rl, &good, t);
		}
		assert_int_equal(rl_penalty_until(rl, &good, t), 0);
		/* a fresh one: the trickle is spent for now, back in 500 ms */
		assert_int_equal(rl_check(rl, &fresh, t), RL_DROP_PREFIX);
		assert_int_equal(rl_penalty_until(rl, &fresh, t), until);
		assert_int_equal(rl_check(rl, &fresh, t + 499), RL_DROP_PREFIX);
		assert_int_equal(rl_check(rl, &fresh, t + 500), RL_PASS);
		rl_refund(rl, &fresh, t + 500);
		rl_good(rl, &fresh, t + 500);
		/* shared: the next fresh source waits for the next token,
		 * while the one that authenticated is spared from now on */
		assert_int_equal(rl_check(rl, &fresh2, t + 500), RL_DROP_PREFIX);
		assert_int_equal(rl_check(rl, &fresh, t + 501), RL_PASS);
		assert_int_equal(rl_check(rl, &fresh2, t + 1000), RL_PASS);
		/* all 256 addresses of the prefix together: 2 a second */
		n = 0;
		for (uint64_t ms = 1001; ms < 3001; ms++) {
			struct sl_addr x = in_prefix(f, (unsigned)(ms % 240));

			if (rl_check(rl, &x, t + ms) == RL_PASS) {
				n++;
				rl_fail(rl, &x, t + ms);
			}
		}
		assert_int_equal(n, 4);
		/* another prefix: untouched */
		assert_int_equal(rl_check(rl, &far, t), RL_PASS);
		rl_free(rl);
	}
}

/* What rl_fail_report says: the source's and the prefix's new penalties,
 * and nothing for a failure that starts none. */
static void
test_fail_report(void **state)
{
	struct rl_config c = base_config();
	struct sl_addr a = tu_addr("2001:db8:7::1"), odd;
	struct rl_penalty pen[2];
	struct rl *rl;

	(void)state;
	c.source_budget = 2;
	c.prefix_budget = 3;
	c.penalty_ms = 1000;
	c.penalty_max_ms = 8000;
	c.window_ms = 3600000;
	rl = mk(&c);
	assert_int_equal(rl_check(rl, &a, T0), RL_PASS);
	assert_int_equal(rl_fail_report(rl, &a, T0, pen), 0);
	assert_int_equal(pen[0].until, 0);
	assert_int_equal(pen[1].until, 0);
	assert_false(pen[0].known_good);
	assert_int_equal(rl_check(rl, &a, T0), RL_PASS);
	assert_int_equal(rl_fail_report(rl, &a, T0, pen), T0 + 1000);
	assert_int_equal(pen[0].until, T0 + 1000);
	assert_int_equal(pen[0].len_ms, 1000);
	assert_int_equal(pen[0].offences, 1);
	assert_int_equal(pen[1].until, 0);
	/* the next try after the penalty fails: the next offence, and the
	 * prefix's first */
	assert_int_equal(rl_check(rl, &a, T0 + 1000), RL_PASS);
	assert_int_equal(rl_fail_report(rl, &a, T0 + 1000, pen), T0 + 3000);
	assert_int_equal(pen[0].len_ms, 2000);
	assert_int_equal(pen[0].offences, 2);
	assert_int_equal(pen[1].until, T0 + 2000);
	assert_int_equal(pen[1].offences, 1);
	memset(&odd, 0, sizeof(odd));
	odd.family = 99;
	memset(pen, 0xff, sizeof(pen));
	assert_int_equal(rl_fail_report(rl, &odd, T0, pen), 0);
	assert_int_equal(pen[0].until, 0);
	assert_int_equal(pen[1].until, 0);
	rl_free(rl);
}

/* rl_check allocates nothing, for known sources and for a spoofed flood
 * of new ones in full tables (bench/tables times the same loops). */
static void
test_check_alloc_free(void **state)
{
	struct rl_config c = base_config();
	struct mallinfo2 before, after;
	struct sl_addr addrs[1024];
	uint64_t sum = 0;
	struct rl *rl;

	(void)state;
	c.table_entries = 65536;
	c.global_per_sec = 1000;
	rl = mk(&c);
	for (uint32_t i = 0; i < 1024; i++) {
		addrs[i] = v4n(i * 131);
		if (i % 2 == 0)
			rl_fail(rl, &addrs[i], T0);
		if (i % 4 == 0)
			rl_good(rl, &addrs[i], T0);
		if (i % 8 == 1) {
			addrs[i].family = AF_INET6;  /* a v6 source */
			addrs[i].bytes[15] = 1;
		}
	}
	before = mallinfo2();
	for (uint32_t i = 0; i < 200000; i++)
		sum += rl_check(rl, &addrs[i & 1023], T0 + i / 8);
	for (uint32_t i = 0; i < 200000; i++)
		rl_fail(rl, &addrs[i & 1023], T0 + i / 8);
	after = mallinfo2();
	assert_int_equal(before.uordblks, after.uordblks);
	assert_int_equal(before.hblkhd, after.hblkhd);
	assert_true(sum > 0);  /* some were dropped by the global cap */
	/* a spoofed flood: every source new, the tables full */
	for (uint32_t i = 0; i < 200000; i++) {
		struct sl_addr a = v4n(i * 2654435761u);

		rl_fail(rl, &a, T0 + 200000);
	}
	before = mallinfo2();
	for (uint32_t i = 0; i < 200000; i++) {
		struct sl_addr a = v4n(i * 2654435761u);

		sum += rl_check(rl, &a, T0 + 200000 + i / 8);
	}
	after = mallinfo2();
	assert_int_equal(before.uordblks, after.uordblks);
	assert_int_equal(before.hblkhd, after.hblkhd);
	rl_free(rl);
}

static void
test_bad_args(void **state)
{
	static const struct {
		size_t off;
		uint32_t v;
	} bad[] = {
		{ offsetof(struct rl_config, source_budget), 0 },
		{ offsetof(struct rl_config, source_budget), RL_BUDGET_MAX + 1 },
		{ offsetof(struct rl_config, prefix_budget), 0 },
		{ offsetof(struct rl_config, window_ms), 0 },
		{ offsetof(struct rl_config, window_ms), RL_WINDOW_MAX_MS + 1 },
		{ offsetof(struct rl_config, penalty_ms), 0 },
		{ offsetof(struct rl_config, penalty_ms), 8001 },  /* > max */
		{ offsetof(struct rl_config, penalty_max_ms), 999 },
		{ offsetof(struct rl_config, good_ms), RL_GOOD_MAX_MS + 1 },
		{ offsetof(struct rl_config, global_per_sec), RL_GLOBAL_MAX + 1 },
		{ offsetof(struct rl_config, table_entries), 0 },
		{ offsetof(struct rl_config, table_entries), RL_ENTRIES_MAX + 1 },
	};
	struct rl_config c = base_config();
	struct sl_addr odd;
	struct rl *rl = (struct rl *)&c;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rl_config b = base_config();

		memcpy((char *)&b + bad[i].off, &bad[i].v, sizeof(uint32_t));
		assert_int_equal(rl_new(&rl, &b), SL_EINVAL);
		assert_null(rl);
	}
	assert_int_equal(rl_new(&rl, NULL), SL_EINVAL);
	assert_int_equal(rl_new(NULL, &c), SL_EINVAL);
	c.table_entries = 1;  /* rounded up to one bucket */
	c.good_ms = 0;        /* no known-good exemption */
	rl = mk(&c);
	memset(&odd, 0, sizeof(odd));
	odd.family = 99;
	assert_int_equal(rl_check(rl, &odd, T0), RL_DROP_SOURCE);
	assert_int_equal(rl_check(rl, NULL, T0), RL_DROP_SOURCE);
	rl_fail(rl, &odd, T0);
	rl_good(rl, NULL, T0);
	assert_int_equal(rl_penalty_until(rl, &odd, T0), 0);
	rl_free(rl);
	rl_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_budget_edges),
		cmocka_unit_test(test_refill_below_budget),
		cmocka_unit_test(test_penalty_length),
		cmocka_unit_test(test_doubling),
		cmocka_unit_test(test_decay),
		cmocka_unit_test(test_good_source),
		cmocka_unit_test(test_global_bucket),
		cmocka_unit_test(test_grouping),
		cmocka_unit_test(test_table_pressure),
		cmocka_unit_test(test_eviction_keeps_good),
		cmocka_unit_test(test_burst_paid_at_admission),
		cmocka_unit_test(test_refund),
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_good_trickle),
		cmocka_unit_test(test_prefix_trickle),
		cmocka_unit_test(test_fail_report),
		cmocka_unit_test(test_check_alloc_free),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
