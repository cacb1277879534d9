/*
 * test_authz.c - step 7 of the receive path (authz.c), table-driven:
 * every combination of the server's, the user's and the action's
 * allowed_ips (empty, IPv4 prefix, mixed prefixes, single hosts) against
 * sources inside and outside each, IPv4, IPv6 and v4-mapped; the action
 * and server lists; and the payload rules (require_ascii,
 * discard_payload), with what the request carries when it is allowed.
 * The expected answers come from a membership table written by hand, not
 * from addr_in_list.
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
#include "testutil.h"

static struct config *cfg;

/* allowed_ips lists and sources; in_list[l][s]: is source s in list l */
static const char *const lists[] = {
	"",                               /* empty: every address */
	"10.0.0.0/8",
	"192.168.1.0/24, 2001:db8::/32",
	"::1, 10.9.9.9",                  /* single hosts */
};
#define NLISTS (sizeof(lists) / sizeof(lists[0]))
static const char *const srcs[] = {
	"10.1.2.3",
	"192.168.1.77",
	"2001:db8::5",
	"::1",
	"10.9.9.9",
	"::ffff:192.168.1.77",            /* v4-mapped: counts as IPv4 */
	"172.16.0.1",                     /* in no list but the empty one */
	"2001:db9::1",                    /* just outside 2001:db8::/32 */
};
#define NSRCS (sizeof(srcs) / sizeof(srcs[0]))
static const int in_list[NLISTS][NSRCS] = {
	{ 1, 1, 1, 1, 1, 1, 1, 1 },
	{ 1, 0, 0, 0, 1, 0, 0, 0 },
	{ 0, 1, 1, 0, 0, 1, 0, 0 },
	{ 0, 0, 0, 1, 1, 0, 0, 0 },
};

/* action ids of the configuration below */
enum {
	A_PLAIN = 1, A_ASCII = 2, A_DISCARD = 3, A_OFF = 4, A_BOTH = 5,
	A_S1ONLY = 6, A_NOWHERE = 7, A_UNKNOWN = 99
};
#define U_ALICE 10
#define U_BOB   11

/* server s0 (index 0) lists every action but s1only; s1 (index 1) only
 * s1only and plain; alice lists all of them, bob only plain.  srv, usr
 * and act are the allowed_ips of s0, alice and of every action. */
static void
load(const char *srv, const char *usr, const char *act)
{
	char text[4096], err[512];
	int n;

	n = snprintf(text, sizeof(text),
	    "priv_key_path = /k\n"
	    "[server:s0]\nport = 50000\nallowed_ips = %s\n"
	    "actions = plain, ascii, discard, off, both, nowhere\n"
	    "[server:s1]\nport = 50001\nactions = s1only, plain\n"
	    "[action:plain]\nid = 1\nconstructor = /bin/true\n"
	    "allowed_ips = %s\n"
	    "[action:ascii]\nid = 2\nconstructor = /bin/true\n"
	    "require_ascii = yes\nallowed_ips = %s\n"
	    "[action:discard]\nid = 3\nconstructor = /bin/true\n"
	    "discard_payload = yes\nallowed_ips = %s\n"
	    "[action:off]\nid = 4\nenabled = no\nconstructor = /bin/true\n"
	    "[action:both]\nid = 5\nconstructor = /bin/true\n"
	    "require_ascii = yes\ndiscard_payload = yes\nallowed_ips = %s\n"
	    "[action:s1only]\nid = 6\nconstructor = /bin/true\n"
	    "[action:nowhere]\nid = 7\nconstructor = /bin/true\n"
	    "[user:alice]\nid = 10\nenabled = yes\nhmac_file = /h\n"
	    "actions = plain, ascii, discard, off, both, s1only\n"
	    "allowed_ips = %s\n"
	    "[user:bob]\nid = 11\nenabled = yes\nhmac_file = /h\n"
	    "actions = plain\n",
	    srv, act, act, act, act, usr);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	if (config_parse_string(cfg, "authz.conf", text, err,
	    sizeof(err)) != 0)
		fail_msg("config: %s\n%s", err, text);
}

static const struct cfg_user *
user(uint16_t id)
{
	const struct cfg_user *u = config_user_by_id(cfg, id);

	assert_non_null(u);
	return u;
}

static void
mk_knock(struct wire_knock *k, uint16_t uid, uint8_t aid, const void *p,
    size_t n)
{
	memset(k, 0, sizeof(*k));
	k->version = 1;
	k->timestamp = 1700000000u;
	k->user_id = uid;
	k->action_id = aid;
	k->challenge = 0x01020304u;
	assert_true(n <= SL_PAYLOAD_MAX);
	k->payload_len = (uint16_t)n;
	if (n > 0)
		memcpy(k->payload, p, n);
}

/* authz_check, and on success what the request carries */
static int
check(unsigned srv, uint16_t uid, uint8_t aid, const char *src,
    const void *p, size_t n, int *discarded, struct sl_request *req)
{
	struct wire_knock k;
	struct sl_addr a = tu_addr(src);
	int rc;

	mk_knock(&k, uid, aid, p, n);
	memset(req, 0xee, sizeof(*req));
	*discarded = -1;
	rc = authz_check(cfg, srv, user(uid), &k, &a, req, discarded);
	if (rc == 0) {
		assert_int_equal(req->magic, SL_REQ_MAGIC);
		assert_int_equal(req->server_idx, srv);
		assert_int_equal(req->user_id, uid);
		assert_int_equal(req->action_id, aid);
		assert_int_equal(req->secure, 1);
		assert_int_equal(req->timestamp, 1700000000u);
		assert_int_equal(req->ticket, 0);
		assert_true(addr_equal(&req->src, &a));
		assert_int_equal(req->src.family, a.family);
	}
	return rc;
}

/* ---- allowed_ips: server x user x action, every source ---------------- */

static void
test_allowed_ips_matrix(void **state)
{
	struct sl_request req;
	static const uint8_t acts[] = { A_PLAIN, A_ASCII, A_DISCARD, A_BOTH };
	unsigned ls, lu, la, s, i, nallow = 0, ndeny = 0;
	int want, rc, disc;

	(void)state;
	for (ls = 0; ls < NLISTS; ls++)
	for (lu = 0; lu < NLISTS; lu++)
	for (la = 0; la < NLISTS; la++) {
		load(lists[ls], lists[lu], lists[la]);
		for (s = 0; s < NSRCS; s++) {
			want = in_list[ls][s] && in_list[lu][s] &&
			    in_list[la][s];
			for (i = 0; i < sizeof(acts); i++) {
				rc = check(0, U_ALICE, acts[i], srcs[s], "ok", 2,
				    &disc, &req);
				if (rc != (want ? 0 : SL_EDENIED))
					fail_msg("server [%s] user [%s] action %u "
					    "[%s] from %s: got %d, want %d",
					    lists[ls], lists[lu], acts[i],
					    lists[la], srcs[s], rc,
					    want ? 0 : SL_EDENIED);
				want ? nallow++ : ndeny++;
				/* the address never matters to authz_lists */
				assert_int_equal(authz_lists(cfg, 0,
				    user(U_ALICE), acts[i]), 0);
			}
		}
		config_wipe_keys(cfg);
	}
	/* both outcomes were seen, for each list on its own too */
	assert_true(nallow > 0 && ndeny > 0);
}

/* Each list alone refuses what it does not hold, whatever the others say
 * (the rows a missing check would let through). */
static void
test_each_list_alone(void **state)
{
	static const struct {
		const char *srv, *usr, *act, *src;
		int want;
	} rows[] = {
		{ "10.0.0.0/8", "", "", "192.168.1.77", SL_EDENIED },
		{ "", "10.0.0.0/8", "", "192.168.1.77", SL_EDENIED },
		{ "", "", "10.0.0.0/8", "192.168.1.77", SL_EDENIED },
		{ "", "", "10.0.0.0/8", "10.255.255.255", 0 },
		{ "", "", "10.0.0.0/8", "11.0.0.0", SL_EDENIED },
		{ "", "", "2001:db8::/32", "2001:db8:ffff::1", 0 },
		{ "", "", "2001:db8::/32", "2001:db9::", SL_EDENIED },
		{ "", "", "192.168.1.5", "192.168.1.5", 0 },
		{ "", "", "192.168.1.5", "192.168.1.6", SL_EDENIED },
		{ "", "", "192.168.1.5", "::ffff:192.168.1.5", 0 },
		{ "", "", "::1", "127.0.0.1", SL_EDENIED },
		{ "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3", 0 },
		{ "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.3.3",
		  SL_EDENIED },
		{ "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.2.2.3",
		  SL_EDENIED },
		{ "10.1.2.0/24", "10.1.2.0/24", "10.0.0.0/8", "10.1.3.1",
		  SL_EDENIED },
	};
	struct sl_request req;
	unsigned i;
	int rc, disc;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		load(rows[i].srv, rows[i].usr, rows[i].act);
		rc = check(0, U_ALICE, A_PLAIN, rows[i].src, "x", 1, &disc,
		    &req);
		if (rc != rows[i].want)
			fail_msg("row %u: server [%s] user [%s] action [%s] "
			    "from %s: got %d, want %d", i, rows[i].srv,
			    rows[i].usr, rows[i].act, rows[i].src, rc,
			    rows[i].want);
		config_wipe_keys(cfg);
	}
}

/* ---- the server's and the user's action lists ------------------------- */

static void
test_action_lists(void **state)
{
	static const struct {
		unsigned srv;
		uint16_t uid;
		uint8_t aid;
		int want;
		const char *why;
	} rows[] = {
		{ 0, U_ALICE, A_PLAIN, 0, "listed by both" },
		{ 1, U_ALICE, A_PLAIN, 0, "listed by both, second server" },
		{ 1, U_ALICE, A_S1ONLY, 0, "s1 lists it" },
		{ 0, U_ALICE, A_S1ONLY, SL_EDENIED, "s0 does not list it" },
		{ 1, U_ALICE, A_ASCII, SL_EDENIED, "s1 does not list it" },
		{ 0, U_BOB, A_PLAIN, 0, "bob lists plain" },
		{ 0, U_BOB, A_ASCII, SL_EDENIED, "bob does not list it" },
		{ 0, U_ALICE, A_NOWHERE, SL_EDENIED, "alice does not list it" },
		{ 0, U_ALICE, A_OFF, SL_EDENIED, "disabled action" },
		{ 0, U_ALICE, A_UNKNOWN, SL_EDENIED, "no such action" },
		{ 0, U_ALICE, 0, SL_EDENIED, "action 0 does not exist" },
		{ 2, U_ALICE, A_PLAIN, SL_EDENIED, "no server 2" },
		{ SL_MAX_SERVERS, U_ALICE, A_PLAIN, SL_EDENIED, "index past all" },
	};
	struct sl_request req;
	unsigned i;
	int rc, disc;

	(void)state;
	load("", "", "");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		rc = authz_lists(cfg, rows[i].srv, user(rows[i].uid),
		    rows[i].aid);
		if (rc != rows[i].want)
			fail_msg("authz_lists row %u (%s): got %d", i,
			    rows[i].why, rc);
		/* a non-ASCII payload: the list refusal comes first */
		rc = check(rows[i].srv, rows[i].uid, rows[i].aid, "10.1.2.3",
		    "\x01", 1, &disc, &req);
		if (rc != rows[i].want)
			fail_msg("authz_check row %u (%s): got %d", i,
			    rows[i].why, rc);
	}
	config_wipe_keys(cfg);
}

/* ---- payloads: require_ascii and discard_payload ---------------------- */

static void
test_payloads(void **state)
{
	static uint8_t full[SL_PAYLOAD_MAX];
	static const struct {
		uint8_t aid;
		const char *p;  /* NULL: full, SL_PAYLOAD_MAX bytes of 0xaa */
		size_t n;
		int want, discarded;
		size_t out;     /* payload_len of the request */
	} rows[] = {
		{ A_PLAIN, "hello", 5, 0, 0, 5 },
		{ A_PLAIN, "\x01\xff\x00z", 4, 0, 0, 4 },
		{ A_PLAIN, "", 0, 0, 0, 0 },
		{ A_PLAIN, NULL, SL_PAYLOAD_MAX, 0, 0, SL_PAYLOAD_MAX },
		{ A_ASCII, "hello world ~", 13, 0, 0, 13 },
		{ A_ASCII, " ", 1, 0, 0, 1 },
		{ A_ASCII, "~", 1, 0, 0, 1 },
		{ A_ASCII, "", 0, 0, 0, 0 },
		{ A_ASCII, "tab\t", 4, SL_ENOTASCII, 0, 0 },
		{ A_ASCII, "\x1f", 1, SL_ENOTASCII, 0, 0 },
		{ A_ASCII, "\x7f", 1, SL_ENOTASCII, 0, 0 },
		{ A_ASCII, "ok\x80", 3, SL_ENOTASCII, 0, 0 },
		{ A_ASCII, "ok\0ok", 5, SL_ENOTASCII, 0, 0 },
		{ A_ASCII, NULL, SL_PAYLOAD_MAX, SL_ENOTASCII, 0, 0 },
		{ A_DISCARD, "hello", 5, 0, 1, 0 },
		{ A_DISCARD, "\x01", 1, 0, 1, 0 },
		{ A_DISCARD, "", 0, 0, 0, 0 },
		{ A_DISCARD, NULL, SL_PAYLOAD_MAX, 0, 1, 0 },
		/* discarded before it could be refused as not ASCII */
		{ A_BOTH, "\x01", 1, 0, 1, 0 },
		{ A_BOTH, "ok", 2, 0, 1, 0 },
		{ A_BOTH, "", 0, 0, 0, 0 },
	};
	struct sl_request req;
	const void *p;
	unsigned i;
	int rc, disc;

	(void)state;
	memset(full, 0xaa, sizeof(full));
	load("", "", "");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		p = rows[i].p != NULL ? (const void *)rows[i].p : full;
		rc = check(0, U_ALICE, rows[i].aid, "10.1.2.3", p, rows[i].n,
		    &disc, &req);
		if (rc != rows[i].want)
			fail_msg("row %u (action %u): got %d, want %d", i,
			    rows[i].aid, rc, rows[i].want);
		if (rc != 0)
			continue;
		if (disc != rows[i].discarded)
			fail_msg("row %u: discarded %d, want %d", i, disc,
			    rows[i].discarded);
		assert_int_equal(req.payload_len, rows[i].out);
		if (rows[i].out > 0)
			assert_memory_equal(req.payload, p, rows[i].out);
	}
	config_wipe_keys(cfg);
}

/* An address refusal wins over a payload refusal: from outside the
 * action's allowed_ips a non-ASCII payload is SL_EDENIED, not
 * SL_ENOTASCII (which would tell the sender it may run the action). */
static void
test_address_before_payload(void **state)
{
	struct sl_request req;
	int disc;

	(void)state;
	load("", "", "10.0.0.0/8");
	assert_int_equal(check(0, U_ALICE, A_ASCII, "192.168.1.1", "\x01", 1,
	    &disc, &req), SL_EDENIED);
	assert_int_equal(check(0, U_ALICE, A_ASCII, "10.0.0.1", "\x01", 1,
	    &disc, &req), SL_ENOTASCII);
	assert_int_equal(check(0, U_ALICE, A_DISCARD, "192.168.1.1", "x", 1,
	    &disc, &req), SL_EDENIED);
	config_wipe_keys(cfg);
}

static int
setup(void **state)
{
	(void)state;
	cfg = calloc(1, sizeof(*cfg));
	return cfg == NULL;
}

static int
teardown(void **state)
{
	(void)state;
	free(cfg);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_ips_matrix),
		cmocka_unit_test(test_each_list_alone),
		cmocka_unit_test(test_action_lists),
		cmocka_unit_test(test_payloads),
		cmocka_unit_test(test_address_before_payload),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
