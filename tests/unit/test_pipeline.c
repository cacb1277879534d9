/*
 * test_pipeline.c - the receive path as pipeline_process() runs it, on
 * what only the whole path decides: a source that authenticates becomes
 * known good, so that its own penalty (junk sent in its name) leaves it a
 * trickle instead of locking it out; a format-2 knock does the same for
 * its source's later format-1 knocks.  A source that never authenticated
 * stays locked out, so the test can tell the two apart.  Real keys
 * (tests/vectors), real clocks (two pauses of 1.1 s for the trickle).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "client.h"
#include "config.h"
#include "crypto.h"
#include "knock2.h"
#include "log.h"
#include "pipeline.h"
#include "replay.h"
#include "testutil.h"

#define BUDGET 3

static struct config *cfg;
static struct pipeline *pl;
static struct replay *rp;
static EVP_PKEY *priv, *pub;
static struct k2_userkeys uk;

/* a valid format-1 knock of alice's from src */
static int
knock1(const char *src)
{
	struct wire_knock k;
	struct sl_request req;
	struct sl_addr a = tu_addr(src);
	uint8_t d[SL_DGRAM_LEN];

	assert_int_equal(client_build_knock(&k, (uint32_t)time(NULL), 10, 1,
	    (const uint8_t *)"p", 1, cfg->users[0].hmac_key), 0);
	assert_int_equal(client_seal_knock(pub, &k, d), 0);
	return pipeline_process(pl, 0, d, sizeof(d), &a, time(NULL), &req);
}

/* a valid format-2 knock of alice's from src */
static int
knock2(const char *src)
{
	struct k2_inner in;
	struct sl_request req;
	struct sl_addr a = tu_addr(src);
	uint8_t d[K2_DGRAM_LEN];

	memset(&in, 0, sizeof(in));
	in.user_id = 10;
	in.action_id = 1;
	in.timestamp = (uint64_t)time(NULL);
	assert_int_equal(crypto_random(in.nonce, sizeof(in.nonce)), 0);
	assert_int_equal(k2_seal(pub, &uk, &in, NULL, d, NULL, NULL), 0);
	return pipeline_process(pl, 0, d, sizeof(d), &a, time(NULL), &req);
}

/* 256 random bytes from src until its budget is spent: the source is in
 * a penalty (some of it SL_ERATE) */
static void
junk(const char *src)
{
	struct sl_request req;
	struct sl_addr a = tu_addr(src);
	uint8_t d[SL_DGRAM_LEN];
	int i, rc, nrate = 0;

	for (i = 0; i < 3 * BUDGET; i++) {
		assert_int_equal(crypto_random(d, sizeof(d)), 0);
		rc = pipeline_process(pl, 0, d, sizeof(d), &a, time(NULL), &req);
		assert_int_not_equal(rc, 0);
		nrate += rc == SL_ERATE;
	}
	assert_true(nrate > 0);
}

/* Format 1: alice authenticates from 10.0.0.1, then junk in that
 * address's name puts it in a penalty; a second later her knock runs (the
 * trickle).  10.0.0.2 never authenticated: the same junk locks it out. */
static void
test_known_good_keeps_trickle(void **state)
{
	(void)state;
	assert_int_equal(knock1("10.0.0.1"), 0);
	junk("10.0.0.1");
	junk("10.0.0.2");
	usleep(1100 * 1000);
	assert_int_equal(knock1("10.0.0.2"), SL_ERATE);
	assert_int_equal(knock1("10.0.0.1"), 0);
}

/* Format 2: a source in a penalty knocks with format 2 (not charged to
 * source budgets), and is known good from then on: its format-1 knock a
 * second later runs. */
static void
test_format2_makes_known_good(void **state)
{
	(void)state;
	junk("10.0.1.1");
	junk("10.0.1.2");
	assert_int_equal(knock2("10.0.1.1"), 0);
	usleep(1100 * 1000);
	assert_int_equal(knock1("10.0.1.2"), SL_ERATE);
	assert_int_equal(knock1("10.0.1.1"), 0);
}

static int
setup(void **state)
{
	char err[512];
	enum replay_load how;
	int rc;

	(void)state;
	log_init("test_pipeline", 1, 0);
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return 1;
	rc = config_parse_string(cfg, "pipeline.conf",
	    "priv_key_path = /k\n"
	    "ratelimit_source_budget = 3\n"
	    "ratelimit_prefix_budget = 100000\n"
	    "ratelimit_window = 60\n"
	    "ratelimit_penalty = 60\n"
	    "ratelimit_good_time = 600\n"
	    "kernel_filter = no\n"
	    "workers = 1\n"
	    "[server:s]\nactions = a\nlogging = no\n"
	    "[action:a]\nid = 1\nconstructor = /bin/true\n"
	    "[user:alice]\nid = 10\nenabled = yes\nhmac_file = /h\n"
	    "actions = a\n", err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "config: %s\n", err);
		return 1;
	}
	if (crypto_load_private("tests/vectors/server.priv.pem", 0, &priv,
	    err, sizeof(err)) != 0 ||
	    crypto_load_public("tests/vectors/server.pub.pem", &pub, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "keys: %s\n", err);
		return 1;
	}
	cfg->servers[0].priv = priv;
	if (crypto_random(cfg->users[0].hmac_key, SL_HMAC_KEY_LEN) != 0 ||
	    k2_derive_user(cfg->users[0].hmac_key, &uk) != 0 ||
	    replay_open(&rp, NULL, 65536, cfg->timestamp_window, time(NULL),
	    &how, err, sizeof(err)) != 0 ||
	    pipeline_new(&pl, cfg, rp, NULL) != 0)
		return 1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	pipeline_free(pl);
	replay_close(rp);
	EVP_PKEY_free(pub);
	config_wipe_keys(cfg);   /* frees the private key */
	free(cfg);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_good_keeps_trickle),
		cmocka_unit_test(test_format2_makes_known_good),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
