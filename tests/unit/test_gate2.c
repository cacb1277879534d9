/*
 * test_gate2 - format-2 admission after the MAC: what copies of a knock may
 * go on to a private-key operation, and each user's budget (gate2.c); and
 * the tag table that finds the candidate users (tags.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "gate2.h"
#include "tags.h"

static const struct sl_addr A = { .family = AF_INET, .bytes = { 127, 0, 0, 1 } };
static const struct sl_addr B = { .family = AF_INET, .bytes = { 127, 0, 0, 2 } };
static const struct sl_addr C = { .family = AF_INET, .bytes = { 127, 0, 0, 3 } };

static void
mac_of(uint8_t mac[K2_MAC_LEN], unsigned n)
{
	unsigned i;

	for (i = 0; i < K2_MAC_LEN; i++)
		mac[i] = (uint8_t)(n * 31 + i * 7);
}

static void
test_copies(void **state)
{
	struct gate2 *g;
	uint8_t m[K2_MAC_LEN];
	uint64_t t = 1000;

	(void)state;
	assert_int_equal(gate2_new(&g, 4, 0, 10000, 60000), 0);
	mac_of(m, 1);
	assert_int_equal(gate2_admit(g, 0, m, &A, t), G2_PASS);
	/* in flight: the same source waits, another goes on */
	assert_int_equal(gate2_admit(g, 0, m, &A, t), G2_COPY);
	assert_int_equal(gate2_admit(g, 0, m, &B, t), G2_PASS);
	/* refused for naming A: only copies from A go on, uncapped */
	gate2_done(g, m, G2_BOUND, &A, t);
	assert_int_equal(gate2_admit(g, 0, m, &B, t), G2_ELSEWHERE);
	assert_int_equal(gate2_admit(g, 0, m, &C, t), G2_ELSEWHERE);
	for (int i = 0; i < GATE2_DECRYPTS_MAX + 2; i++) {
		assert_int_equal(gate2_admit(g, 0, m, &A, t), G2_PASS);
		gate2_done(g, m, G2_BOUND, &A, t);
	}
	/* recorded: the table forgets it (the replay cache has it) */
	assert_int_equal(gate2_admit(g, 0, m, &A, t), G2_PASS);
	gate2_done(g, m, G2_RECORDED, NULL, t);
	assert_int_equal(gate2_admit(g, 0, m, &B, t), G2_PASS);
	/* dead: no copy from anywhere */
	gate2_done(g, m, G2_DEAD, NULL, t);
	assert_int_equal(gate2_admit(g, 0, m, &A, t), G2_COPY);
	assert_int_equal(gate2_admit(g, 0, m, &C, t), G2_COPY);
	/* ... until its life is over */
	assert_int_equal(gate2_admit(g, 0, m, &C, t + 60000), G2_PASS);
	assert_true(gate2_get_stats(g)->copies >= 3);
	assert_true(gate2_get_stats(g)->elsewhere >= 2);
	gate2_free(g);
}

static void
test_refused_from(void **state)
{
	struct gate2 *g;
	uint8_t m[K2_MAC_LEN];
	unsigned i, passed = 0;
	const struct sl_addr *src;
	struct sl_addr other = A;

	(void)state;
	assert_int_equal(gate2_new(&g, 1, 0, 10000, 60000), 0);
	mac_of(m, 2);
	assert_int_equal(gate2_admit(g, 0, m, &A, 0), G2_PASS);
	gate2_done(g, m, G2_FROM, &A, 0);
	assert_int_equal(gate2_admit(g, 0, m, &A, 0), G2_ELSEWHERE);
	/* from elsewhere it may go on, but a knock is decrypted a bounded
	 * number of times however many sources it is sent from */
	for (i = 0; i < 20; i++) {
		other.bytes[3] = (uint8_t)(10 + i);
		src = &other;
		if (gate2_admit(g, 0, m, src, 0) == G2_PASS) {
			passed++;
			gate2_done(g, m, G2_FROM, src, 0);
		}
	}
	assert_int_equal(passed, GATE2_DECRYPTS_MAX - 1);
	/* and in flight, copies from ever new sources stop at the cap too */
	mac_of(m, 3);
	passed = 0;
	for (i = 0; i < 20; i++) {
		other.bytes[3] = (uint8_t)(100 + i);
		passed += gate2_admit(g, 0, m, &other, 0) == G2_PASS;
	}
	assert_int_equal(passed, GATE2_DECRYPTS_MAX);
	gate2_free(g);
}

static void
test_budget(void **state)
{
	struct gate2 *g;
	uint8_t m[K2_MAC_LEN];
	unsigned i;

	(void)state;
	/* 3 per 3000 ms for each of two users */
	assert_int_equal(gate2_new(&g, 2, 3, 3000, 60000), 0);
	for (i = 0; i < 3; i++) {
		mac_of(m, 10 + i);
		assert_int_equal(gate2_admit(g, 0, m, &A, 0), G2_PASS);
	}
	mac_of(m, 20);
	assert_int_equal(gate2_admit(g, 0, m, &A, 0), G2_BUDGET);
	/* the other user is not touched */
	assert_int_equal(gate2_admit(g, 1, m, &A, 0), G2_PASS);
	/* one token back after a third of the window */
	mac_of(m, 21);
	assert_int_equal(gate2_admit(g, 0, m, &A, 999), G2_BUDGET);
	assert_int_equal(gate2_admit(g, 0, m, &A, 1000), G2_PASS);
	mac_of(m, 22);
	assert_int_equal(gate2_admit(g, 0, m, &A, 1000), G2_BUDGET);
	/* never more than the budget, however long the quiet */
	for (i = 0; i < 4; i++) {
		mac_of(m, 30 + i);
		assert_int_equal(gate2_admit(g, 0, m, &A, 1000000),
		    i < 3 ? G2_PASS : G2_BUDGET);
	}
	/* a user index past the table is refused */
	assert_int_equal(gate2_admit(g, 2, m, &A, 1000000), G2_BUDGET);
	assert_true(gate2_get_stats(g)->budget >= 4);
	gate2_free(g);
	/* budget 0: none */
	assert_int_equal(gate2_new(&g, 1, 0, 0, 1000), 0);
	for (i = 0; i < 100; i++) {
		mac_of(m, 100 + i);
		assert_int_equal(gate2_admit(g, 0, m, &A, 0), G2_PASS);
	}
	gate2_free(g);
	assert_int_equal(gate2_new(&g, 1, 5, 0, 1000), SL_EINVAL);
}

/* ---- tags ----------------------------------------------------------- */

struct sync_log {
	unsigned adds, dels;
};

static void
count_sync(void *arg, const uint8_t tag[K2_TAG_LEN], bool add)
{
	struct sync_log *l = arg;

	(void)tag;
	if (add)
		l->adds++;
	else
		l->dels++;
}

static struct config *
two_users(uint32_t window)
{
	static struct config cfg;
	unsigned i;

	memset(&cfg, 0, sizeof(cfg));
	cfg.timestamp_window = window;
	cfg.nusers = 3;
	for (i = 0; i < 3; i++) {
		cfg.users[i].id = (int)(10 + i);
		cfg.users[i].enabled = i != 1;  /* the second is disabled */
		memset(cfg.users[i].hmac_key, (int)(0x41 + i), SL_HMAC_KEY_LEN);
	}
	return &cfg;
}

static void
test_tags(void **state)
{
	struct config *cfg = two_users(120);
	struct tags *t;
	struct tag_hit hits[TAGS_HITS_MAX];
	struct sync_log l = { 0, 0 };
	uint8_t tag[K2_TAG_LEN];
	const struct k2_userkeys *uk;
	time_t now = 1780000015;    /* epoch 59333333, 15 s in */
	uint64_t e;

	(void)state;
	assert_int_equal(tags_new(&t, cfg), 0);
	/* 120 s either side: epochs (now-120)/30 .. (now+120)/30 */
	assert_int_equal(tags_update(t, now, count_sync, &l), 9);
	assert_int_equal(tags_count(t), 2 * 9);
	assert_int_equal(l.adds, 2 * 9);
	assert_int_equal(tags_update(t, now + 1, count_sync, &l), 0);
	assert_null(tags_keys(t, 1));   /* disabled: no keys, no tags */
	assert_non_null(uk = tags_keys(t, 2));
	for (e = k2_epoch((uint64_t)now - 120); e <= k2_epoch((uint64_t)now + 120);
	    e++) {
		assert_int_equal(k2_tag(NULL, uk->tag_key, e, tag), 0);
		assert_int_equal(tags_lookup(t, tag, hits, TAGS_HITS_MAX), 1);
		assert_int_equal(hits[0].user, 2);
		assert_true(hits[0].epoch == e);
	}
	/* the epochs just outside are not there */
	assert_int_equal(k2_tag(NULL, uk->tag_key,
	    k2_epoch((uint64_t)now - 120) - 1, tag), 0);
	assert_int_equal(tags_lookup(t, tag, hits, TAGS_HITS_MAX), 0);
	assert_int_equal(k2_tag(NULL, uk->tag_key,
	    k2_epoch((uint64_t)now + 120) + 1, tag), 0);
	assert_int_equal(tags_lookup(t, tag, hits, TAGS_HITS_MAX), 0);
	/* 30 s on: one epoch leaves, one enters, for each user */
	l.adds = l.dels = 0;
	assert_int_equal(tags_update(t, now + 30, count_sync, &l), 1);
	assert_int_equal(l.adds, 2);
	assert_int_equal(l.dels, 2);
	assert_int_equal(tags_lookup(t, tag, hits, TAGS_HITS_MAX), 1);
	assert_int_equal(tags_count(t), 2 * 9);
	/* a clock step of a day: everything is new */
	l.adds = l.dels = 0;
	assert_int_equal(tags_update(t, now + 86400, count_sync, &l), 9);
	assert_int_equal(l.adds, 18);
	assert_int_equal(l.dels, 18);
	assert_int_equal(tags_lookup(t, tag, hits, TAGS_HITS_MAX), 0);
	/* the MAC check is bound to each user's key */
	{
		uint8_t d[K2_DGRAM_LEN];

		memset(d, 0x5a, sizeof(d));
		assert_int_equal(k2_mac(NULL, uk->mac_key, d, d + K2_OFF_MAC), 0);
		assert_int_equal(tags_mac_verify(t, 2, d), 0);
		assert_int_equal(tags_mac_verify(t, 0, d), SL_EAUTH);
		assert_int_equal(tags_mac_verify(t, 1, d), SL_EAUTH);
		assert_int_equal(tags_mac_verify(t, 7, d), SL_EAUTH);
		d[K2_OFF_MAC + 31] ^= 1;
		assert_int_equal(tags_mac_verify(t, 2, d), SL_EAUTH);
	}
	l.adds = 0;
	tags_each(t, count_sync, &l);
	assert_int_equal(l.adds, 18);
	tags_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copies),
		cmocka_unit_test(test_refused_from),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_tags),
	};

	return cmocka_run_group_tests_name("gate2", tests, NULL, NULL);
}
