/* test_ratelimit.c - budgets, penalties, decay, known-good sources, the
 * global cap, prefix grouping and table pressure of the rate limiter. */
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
		rl_fail(rl, &a, T0 + 1000000 + i * 19000);
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
	rl_good(rl, &good, t);
	/* two neighbours spend the prefix budget, neither its own */
	for (int i = 0; i < 2; i++) {
		rl_fail(rl, &n1, t);
		rl_fail(rl, &n2, t);
	}
	assert_int_equal(rl_check(rl, &n1, t), RL_DROP_PREFIX);
	assert_int_equal(rl_check(rl, &n2, t), RL_DROP_PREFIX);
	assert_int_equal(rl_check(rl, &fresh, t), RL_DROP_PREFIX);
	assert_int_equal(rl_penalty_until(rl, &fresh, t), T0 + 60000);
	assert_int_equal(rl_check(rl, &good, t), RL_PASS);
	assert_int_equal(rl_penalty_until(rl, &good, t), 0);
	/* the global cap: 10 a second for everyone else (one went to the
	 * first check of good, before it was known good) ... */
	for (int i = 0; i < 9; i++)
		assert_int_equal(rl_check(rl, &far, t), RL_PASS);
	assert_int_equal(rl_check(rl, &far, t), RL_DROP_GLOBAL);
	/* ... but not for the known-good source, which takes no token */
	for (int i = 0; i < 100; i++)
		assert_int_equal(rl_check(rl, &good, t), RL_PASS);
	assert_int_equal(rl_check(rl, &far, t + 99), RL_DROP_GLOBAL);
	assert_int_equal(rl_check(rl, &far, t + 100), RL_PASS);
	/* its own failures still count: over its own budget it is dropped */
	for (int i = 0; i < 3; i++)
		rl_fail(rl, &good, t + 200);
	assert_int_equal(rl_check(rl, &good, t + 201), RL_DROP_SOURCE);
	assert_int_equal(rl_penalty_until(rl, &good, t + 201), t + 200 + 60000);
	assert_int_equal(rl_check(rl, &good, t + 200 + 60000), RL_PASS);
	rl_free(rl);

	/* known good lapses after good_ms; authenticating again renews it */
	rl = mk(&c);
	t = T0;
	rl_good(rl, &good, t);
	for (int i = 0; i < 2; i++) {
		rl_fail(rl, &n1, t);
		rl_fail(rl, &n2, t);
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
		struct rl *rl = mk(&c);

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
		rl_fail(rl, &a, T0);
		rl_fail(rl, &a, T0);
		assert_int_equal(rl_check(rl, &a, T0), RL_DROP_PREFIX);
		if (rl_check(rl, &b, T0) !=
		    (rows[r].same_prefix ? RL_DROP_PREFIX : RL_PASS))
			fail_msg("prefix: %s vs %s", rows[r].a, rows[r].b);
		rl_free(rl);

		/* the source: one failure from a */
		c.source_budget = 1;
		c.prefix_budget = 100;
		rl = mk(&c);
		rl_fail(rl, &a, T0);
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
		rl_fail(rl, &pen[i], t);
		rl_fail(rl, &pen[i], t);
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

		rl_fail(rl, &a, t + i);
		rl_fail(rl, &a, t + i);
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
		rl_fail(rl, &a, T0 + 1 + (uint64_t)i);
	}
	assert_int_equal(rl_get_stats(rl)->evictions, 1);
	assert_int_equal(rl_check(rl, &good, T0 + 10), RL_PASS);
	good.bytes[3] = 10;  /* while its neighbours meet the prefix penalty */
	assert_int_equal(rl_check(rl, &good, T0 + 10), RL_DROP_PREFIX);
	rl_free(rl);
}

/* rl_check allocates nothing; prints its cost (information, not a test). */
static void
test_check_alloc_free_and_cost(void **state)
{
	struct rl_config c = base_config();
	struct mallinfo2 before, after;
	struct sl_addr addrs[1024];
	uint64_t sum = 0;
	struct rl *rl;
	double t0, t1;

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
	t0 = tu_now_ns();
	for (uint32_t i = 0; i < 1000000; i++)
		sum += rl_check(rl, &addrs[i & 1023], T0 + i / 8);
	t1 = tu_now_ns();
	after = mallinfo2();
	assert_int_equal(before.uordblks, after.uordblks);
	assert_int_equal(before.hblkhd, after.hblkhd);
	assert_true(sum > 0);  /* some were dropped by the global cap */
	print_message("info: rl_check %.1f ns/call (1e6 calls, 1024 sources, "
	    "mixed v4/v6, known-good and global cap)\n", (t1 - t0) / 1e6);
	t0 = tu_now_ns();
	for (uint32_t i = 0; i < 1000000; i++)
		rl_fail(rl, &addrs[i & 1023], T0 + i / 8);
	t1 = tu_now_ns();
	print_message("info: rl_fail %.1f ns/call\n", (t1 - t0) / 1e6);
	/* a spoofed flood: every source new, the table (2 x 4.5 MB) full */
	for (uint32_t i = 0; i < 200000; i++) {
		struct sl_addr a = v4n(i * 2654435761u);

		rl_fail(rl, &a, T0 + 200000);
	}
	t0 = tu_now_ns();
	for (uint32_t i = 0; i < 1000000; i++) {
		struct sl_addr a = v4n(i * 2654435761u);

		sum += rl_check(rl, &a, T0 + 200000 + i / 8);
	}
	t1 = tu_now_ns();
	print_message("info: rl_check %.1f ns/call (1e6 distinct sources, "
	    "65536-entry tables, mostly cache misses)\n", (t1 - t0) / 1e6);
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
		cmocka_unit_test(test_check_alloc_free_and_cost),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
