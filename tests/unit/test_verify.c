/*
 * test_verify.c - steps 3-5 of the format-1 receive path (verify.c),
 * table-driven: the timestamp window at and around its edges on both
 * sides, whatever failed before, unknown and disabled users, and an HMAC
 * wrong in any one byte or made over other fields.  *user is set exactly
 * when the HMAC verified.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "stages.h"
#include "wire.h"

#define NOW  ((time_t)1700000000)
#define ALICE 10
#define BOB   11     /* disabled */

static struct config *cfg;
static struct wire_mac *mac;
static const uint8_t dummy[SL_HMAC_KEY_LEN] = { 0xd0 };

static void
load(unsigned window)
{
	char text[1024], err[512];
	const struct cfg_user *u;

	snprintf(text, sizeof(text),
	    "priv_key_path = /k\ntimestamp_window = %u\n"
	    "[server:s]\nactions = a\n"
	    "[action:a]\nid = 1\nconstructor = /bin/true\n"
	    "[user:alice]\nid = 10\nenabled = yes\nhmac_file = /h\n"
	    "actions = a\n"
	    "[user:bob]\nid = 11\nenabled = no\nhmac_file = /h\n"
	    "actions = a\n", window);
	if (config_parse_string(cfg, "verify.conf", text, err,
	    sizeof(err)) != 0)
		fail_msg("config: %s", err);
	/* keys by hand: alice's, bob's, neither the dummy key */
	u = config_user_by_id(cfg, ALICE);
	assert_non_null(u);
	memset(cfg->users[0].hmac_key, 0xa1, SL_HMAC_KEY_LEN);
	memset(cfg->users[1].hmac_key, 0xb0, SL_HMAC_KEY_LEN);
	assert_ptr_equal(u, &cfg->users[0]);
	assert_null(config_user_by_id(cfg, BOB));
}

/* A knock by uid with timestamp ts, its HMAC under key. */
static void
mk(struct wire_knock *k, uint16_t uid, uint32_t ts, const uint8_t *key)
{
	memset(k, 0, sizeof(*k));
	k->version = SL_WIRE_VERSION;
	k->timestamp = ts;
	k->user_id = uid;
	k->action_id = 1;
	k->challenge = 0x5eed;
	k->payload_len = 5;
	memcpy(k->payload, "hello", 5);
	assert_int_equal(wire_hmac(mac, k->hmac, key, k), 0);
}

static const uint8_t *
key_of(uint16_t uid)
{
	return uid == ALICE ? cfg->users[0].hmac_key : cfg->users[1].hmac_key;
}

static void
test_window(void **state)
{
	static const struct {
		unsigned window;
		int64_t skew;   /* knock's timestamp - now */
		int want;
	} rows[] = {
		{ 120, 0, 0 },
		{ 120, -1, 0 },
		{ 120, 1, 0 },
		{ 120, -119, 0 },
		{ 120, 119, 0 },
		{ 120, -120, 0 },
		{ 120, 120, 0 },
		{ 120, -121, SL_ESTALE },
		{ 120, 121, SL_ESTALE },
		{ 120, -3600, SL_ESTALE },
		{ 120, 3600, SL_ESTALE },
		{ 1, -1, 0 },
		{ 1, 1, 0 },
		{ 1, -2, SL_ESTALE },
		{ 1, 2, SL_ESTALE },
		{ 3600, -3600, 0 },
		{ 3600, 3600, 0 },
		{ 3600, -3601, SL_ESTALE },
		{ 3600, 3601, SL_ESTALE },
		/* far off: no wrap-around in the arithmetic */
		{ 120, -(int64_t)NOW, SL_ESTALE },                 /* ts 0 */
		{ 120, (int64_t)UINT32_MAX - (int64_t)NOW, SL_ESTALE },
	};
	const struct cfg_user *u;
	struct wire_knock k;
	unsigned i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		load(rows[i].window);
		mk(&k, ALICE, (uint32_t)(NOW + rows[i].skew), key_of(ALICE));
		u = (const struct cfg_user *)&u;
		rc = verify_knock(mac, cfg, dummy, 0, &k, NOW, &u, NULL);
		if (rc != rows[i].want)
			fail_msg("row %u: window %u, skew %lld: got %d, want %d",
			    i, rows[i].window, (long long)rows[i].skew, rc,
			    rows[i].want);
		/* authenticated either way: the user is known */
		assert_ptr_equal(u, &cfg->users[0]);
		config_wipe_keys(cfg);
	}
}

/* Whatever went wrong, SL_EAUTH and no user. */
static void
test_not_authenticated(void **state)
{
	const struct cfg_user *u;
	struct wire_knock k;
	unsigned i, b;

	(void)state;
	load(120);
	/* a failure before (decryption, parsing), with a good HMAC */
	mk(&k, ALICE, (uint32_t)NOW, key_of(ALICE));
	for (i = 0; i < 3; i++) {
		static const int prior[] = { SL_EPARSE, SL_EVERSION, SL_ELEN };

		u = (const struct cfg_user *)&u;
		assert_int_equal(verify_knock(mac, cfg, dummy, prior[i], &k, NOW,
		    &u, NULL), SL_EAUTH);
		assert_null(u);
	}
	/* an unknown user, a disabled one (with its own key), the dummy key */
	mk(&k, 99, (uint32_t)NOW, key_of(ALICE));
	u = (const struct cfg_user *)&u;
	assert_int_equal(verify_knock(mac, cfg, dummy, 0, &k, NOW, &u, NULL),
	    SL_EAUTH);
	assert_null(u);
	mk(&k, 99, (uint32_t)NOW, dummy);
	assert_int_equal(verify_knock(mac, cfg, dummy, 0, &k, NOW, &u, NULL),
	    SL_EAUTH);
	assert_null(u);
	mk(&k, BOB, (uint32_t)NOW, key_of(BOB));
	assert_int_equal(verify_knock(mac, cfg, dummy, 0, &k, NOW, &u, NULL),
	    SL_EAUTH);
	assert_null(u);
	/* alice's knock under bob's key */
	mk(&k, ALICE, (uint32_t)NOW, key_of(BOB));
	assert_int_equal(verify_knock(mac, cfg, dummy, 0, &k, NOW, &u, NULL),
	    SL_EAUTH);
	assert_null(u);
	/* one bit wrong in any byte of the HMAC */
	for (b = 0; b < SL_HMAC_LEN; b++) {
		mk(&k, ALICE, (uint32_t)NOW, key_of(ALICE));
		k.hmac[b] ^= 0x01;
		u = (const struct cfg_user *)&u;
		if (verify_knock(mac, cfg, dummy, 0, &k, NOW, &u, NULL) != SL_EAUTH ||
		    u != NULL)
			fail_msg("HMAC byte %u flipped: accepted", b);
	}
	/* a good HMAC over other fields: each field is covered */
	for (i = 0; i < 6; i++) {
		mk(&k, ALICE, (uint32_t)NOW, key_of(ALICE));
		switch (i) {
		case 0: k.timestamp++; break;
		case 1: k.action_id++; break;
		case 2: k.challenge++; break;
		case 3: k.payload[4] ^= 1; break;
		case 4: k.payload_len--; break;
		default: k.user_id = BOB; break;
		}
		u = (const struct cfg_user *)&u;
		if (verify_knock(mac, cfg, dummy, 0, &k, NOW, &u, NULL) != SL_EAUTH ||
		    u != NULL)
			fail_msg("field %u changed after signing: accepted", i);
	}
	/* and the untouched knock passes */
	mk(&k, ALICE, (uint32_t)NOW, key_of(ALICE));
	assert_int_equal(verify_knock(mac, cfg, dummy, 0, &k, NOW, &u, NULL), 0);
	assert_ptr_equal(u, &cfg->users[0]);
	config_wipe_keys(cfg);
}

static int
setup(void **state)
{
	(void)state;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return 1;
	return wire_mac_new(&mac);
}

static int
teardown(void **state)
{
	(void)state;
	wire_mac_free(mac);
	free(cfg);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_not_authenticated),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
