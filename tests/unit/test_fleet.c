/*
 * test_fleet.c - fleets without a store: the [fleet] section (every
 * store address form, every error with its FILE:LINE and key, the action
 * key fleet), the replay key, stream ids, the reconnection backoff, the
 * parser of stream entries, and grants that carry their gateway through
 * the grants file.  (The store itself is exercised by t_fleet.sh with a
 * real redis-server.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "fleet.h"
#include "grants.h"
#include "testutil.h"

static struct config *cfg;
static char err[4096];
static char text[8192];

#define BASE \
	"[server:s]\nport = 5000\npriv_key_path = /k.pem\nactions = a, t\n" \
	"[action:a]\nid = 1\nconstructor = /bin/true\n" \
	"[action:t]\nid = 2\nconstructor = /bin/true\ndestructor = /bin/true\n" \
	"keepalive_interval = 60\n"
/* BASE is 12 lines long */

static int
parse(const char *fleet_lines, const char *extra_action)
{
	snprintf(text, sizeof(text), BASE "%s%s", extra_action, fleet_lines);
	err[0] = '\0';
	return config_parse_string(cfg, "t.conf", text, err, sizeof(err));
}

static void
expect_err(const char *fleet_lines, const char *extra_action, const char *want)
{
	int rc = parse(fleet_lines, extra_action);

	if (rc != SL_ECONFIG || strstr(err, want) == NULL)
		fail_msg("rc %d, err:\n  %s\nexpected it to contain:\n  %s\n"
		    "--- config:\n%s", rc, err, want, text);
}

static void
test_no_section(void **state)
{
	(void)state;
	assert_int_equal(parse("", ""), 0);
	assert_false(cfg->fleet.on);
	assert_false(cfg->actions[1].fleet);
}

static void
test_store_forms(void **state)
{
	(void)state;
	assert_int_equal(parse("[fleet]\nstore = redis://10.0.0.5:6380/3\n"
	    "name = gw-a\n", ""), 0);
	assert_true(cfg->fleet.on);
	assert_false(cfg->fleet.unix_sock);
	assert_string_equal(cfg->fleet.host, "10.0.0.5");
	assert_int_equal(cfg->fleet.port, 6380);
	assert_int_equal(cfg->fleet.db, 3);
	assert_string_equal(cfg->fleet.name, "gw-a");
	/* defaults */
	assert_string_equal(cfg->fleet.prefix, "siglatch:");
	assert_string_equal(cfg->fleet.on_store_down, "refuse");
	assert_false(cfg->fleet.down_local);
	assert_int_equal(cfg->fleet.timeout_ms, 500);

	assert_int_equal(parse("[fleet]\nstore = redis://store.example\n"
	    "on_store_down = local\nprefix = site1:\ntimeout_ms = 50\n", ""), 0);
	assert_string_equal(cfg->fleet.host, "store.example");
	assert_int_equal(cfg->fleet.port, 6379);
	assert_int_equal(cfg->fleet.db, 0);
	assert_true(cfg->fleet.down_local);
	assert_string_equal(cfg->fleet.prefix, "site1:");
	assert_true(cfg->fleet.name[0] != '\0');  /* the host name */

	assert_int_equal(parse("[fleet]\nstore = redis://[2001:db8::7]:7000/\n",
	    ""), 0);
	assert_string_equal(cfg->fleet.host, "2001:db8::7");
	assert_int_equal(cfg->fleet.port, 7000);

	assert_int_equal(parse("[fleet]\nstore = unix:/run/redis/r.sock?db=2\n",
	    ""), 0);
	assert_true(cfg->fleet.unix_sock);
	assert_string_equal(cfg->fleet.host, "/run/redis/r.sock");
	assert_int_equal(cfg->fleet.db, 2);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_err("[fleet]\nname = x\n", "", "t.conf:13: [fleet]: no store");
	expect_err("[fleet]\nstore = http://x\n", "",
	    "t.conf:14: [fleet] key 'store': 'http://x': expected redis://");
	expect_err("[fleet]\nstore = rediss://x\n", "",
	    "rediss:// TLS is not supported");
	expect_err("[fleet]\nstore = redis://x:0\n", "",
	    "t.conf:14: [fleet] key 'store': 'redis://x:0': the port must be");
	expect_err("[fleet]\nstore = redis://x/1001\n", "", "the database");
	expect_err("[fleet]\nstore = redis://u:p@x\n", "",
	    "no credentials in the address (use password_file)");
	expect_err("[fleet]\nstore = redis://[::1\n", "", "unclosed '['");
	expect_err("[fleet]\nstore = unix:r.sock\n", "", "must be absolute");
	expect_err("[fleet]\nstore = unix:/r.sock?db=x\n", "",
	    "expected unix:/PATH or unix:/PATH?db=N");
	expect_err("[fleet]\nstore = redis://x\non_store_down = maybe\n", "",
	    "t.conf:15: [fleet] key 'on_store_down': 'maybe' is not refuse "
	    "or local");
	expect_err("[fleet]\nstore = redis://x\nname = a b\n", "",
	    "t.conf:15: [fleet] key 'name': must be");
	expect_err("[fleet]\nstore = redis://x\nprefix = a b\n", "",
	    "t.conf:15: [fleet] key 'prefix': must be");
	expect_err("[fleet]\nstore = redis://x\ntimeout_ms = 10\n", "",
	    "t.conf:15: [fleet] key 'timeout_ms': '10' is out of range");
	expect_err("[fleet]\nstore = redis://x\nport = 1\n", "",
	    "t.conf:15: [fleet] key 'port': unknown key");
	expect_err("[fleet:one]\nstore = redis://x\n", "",
	    "t.conf:13: [fleet:one]: the fleet section has no name");
	expect_err("[fleet]\nstore = redis://x\n[fleet]\n", "",
	    "t.conf:15: [fleet]: duplicate section (first defined at line 13)");
}

static void
test_action_key(void **state)
{
	(void)state;
	assert_int_equal(parse("[fleet]\nstore = redis://x\n",
	    "[action:f]\nid = 3\nconstructor = /bin/true\n"
	    "destructor = /bin/true\nkeepalive_interval = 9\nfleet = yes\n"), 0);
	assert_true(cfg->actions[2].fleet);
	expect_err("", "[action:f]\nid = 3\nconstructor = /bin/true\n"
	    "destructor = /bin/true\nkeepalive_interval = 9\nfleet = yes\n",
	    "t.conf:18: [action:f] key 'fleet': there is no [fleet] section");
	expect_err("[fleet]\nstore = redis://x\n",
	    "[action:f]\nid = 3\nconstructor = /bin/true\nfleet = yes\n",
	    "t.conf:16: [action:f] key 'fleet': only an action with a "
	    "destructor");
}

static void
test_replay_key(void **state)
{
	uint8_t k[SL_HMAC_LEN];
	char out[256];
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(k); i++)
		k[i] = (uint8_t)(i * 17);
	assert_int_equal(fleet_replay_key("s:", 65535, k, out, sizeof(out)), 0);
	assert_string_equal(out, "s:replay:65535:00112233445566778899aabbccddeeff102132435465768798a9bacbdcedfe0f");
	assert_int_equal(strlen(out), strlen("s:replay:65535:") + 64);
	assert_int_equal(fleet_replay_key("s:", 1, k, out, 20), SL_ETOOBIG);
}

static void
test_ids_and_backoff(void **state)
{
	(void)state;
	assert_true(fleet_id_valid("0-0"));
	assert_true(fleet_id_valid("1764500000000-12"));
	assert_false(fleet_id_valid(""));
	assert_false(fleet_id_valid("12"));
	assert_false(fleet_id_valid("12-"));
	assert_false(fleet_id_valid("-1-2"));
	assert_false(fleet_id_valid("1-2x"));
	assert_false(fleet_id_valid("99999999999999999999999-1"));
	assert_true(fleet_id_after("2-0", "1-9"));
	assert_true(fleet_id_after("1-10", "1-9"));
	assert_false(fleet_id_after("1-9", "1-9"));
	assert_false(fleet_id_after("1-8", "1-9"));
	assert_false(fleet_id_after("x", "0-0"));
	assert_int_equal(fleet_backoff_ms(1), 100);
	assert_int_equal(fleet_backoff_ms(2), 200);
	assert_int_equal(fleet_backoff_ms(6), 3200);
	assert_int_equal(fleet_backoff_ms(7), 5000);
	assert_int_equal(fleet_backoff_ms(1000), 5000);
}

static void
test_parse_entry(void **state)
{
	const char *good[] = { "gateway", "gw1", "op", "extend", "server", "s",
	    "user", "alice", "action", "open", "addr", "2001:db8::1",
	    "expires", "1764500000123", "future", "ignored" };
	const char *fv[16];
	struct grant_event ev;
	struct sl_addr a = tu_addr("2001:db8::1");
	size_t i;

	(void)state;
	assert_int_equal(fleet_parse_entry(good, 16, &ev), 0);
	assert_int_equal(ev.op, GOP_EXTEND);
	assert_string_equal(ev.gateway, "gw1");
	assert_string_equal(ev.server, "s");
	assert_string_equal(ev.user, "alice");
	assert_string_equal(ev.action, "open");
	assert_memory_equal(&ev.addr, &a, sizeof(a));
	assert_true(ev.expires_ms == 1764500000123LL);
	/* each required field missing, or bad */
	for (i = 0; i < 14; i += 2) {
		memcpy(fv, good, sizeof(good));
		fv[i] = "other";
		assert_int_equal(fleet_parse_entry(fv, 16, &ev), SL_EINVAL);
		memcpy(fv, good, sizeof(good));
		fv[i + 1] = i == 12 ? "-1" : "a b/c";
		assert_int_equal(fleet_parse_entry(fv, 16, &ev), SL_EINVAL);
	}
	memcpy(fv, good, sizeof(good));
	fv[3] = "open";
	assert_int_equal(fleet_parse_entry(fv, 16, &ev), SL_EINVAL);
	fv[3] = "revoke";
	assert_int_equal(fleet_parse_entry(fv, 16, &ev), 0);
	assert_int_equal(ev.op, GOP_REVOKE);
	fv[11] = "10.0.0.0/8";
	assert_int_equal(fleet_parse_entry(fv, 16, &ev), SL_EINVAL);
	assert_int_equal(fleet_parse_entry(good, 15, &ev), SL_EINVAL);
}

static void
test_grant_gateway_file(void **state)
{
	struct grants *gt, *back;
	struct sl_addr a = tu_addr("192.0.2.9");
	struct grant *g;
	const char *why;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(grants_new(&gt, 4, 3600), 0);
	g = grants_begin(gt, "s", "alice", 10, "open", 2, &a, &why);
	assert_non_null(g);
	strcpy(g->gateway, "gw-b");
	grants_end(gt, g, true, 1000, 60);
	f = open_memstream(&buf, &len);
	assert_int_equal(grants_format(gt, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, " 0 0 gateway=gw-b\n"));
	assert_int_equal(grants_new(&back, 4, 3600), 0);
	assert_int_equal(grants_parse(back, buf, len, 2000, "t"), 0);
	g = grants_find(back, "s", 10, 2, &a);
	assert_non_null(g);
	assert_string_equal(g->gateway, "gw-b");
	assert_int_equal(g->state, GS_LIVE);
	grants_free(back);
	free(buf);
	/* a bare 13th field, or a bad name, is refused */
	assert_int_equal(grants_new(&back, 4, 3600), 0);
	assert_int_equal(grants_parse(back, "live s 10 alice 2 open 192.0.2.9 "
	    "1 99999999 0 0 0 gw-b\n", 52, 0, "t"), 1);
	assert_int_equal(grants_parse(back, "live s 10 alice 2 open 192.0.2.9 "
	    "1 99999999 0 0 0 gateway=a/b\n", 58, 0, "t"), 1);
	grants_free(back);
	grants_free(gt);
}

/* password_file: "USER PASSWORD" or "PASSWORD", checked as key files */
static void
test_password_file(void **state)
{
	char dir[] = "/tmp/sl_test_fleet_XXXXXX", path[64], lines[128];
	struct cfg_fleet f;
	FILE *fp;
	struct {
		const char *text;
		int mode;
		int rc;
		const char *user, *password, *msg;
		size_t len;  /* of text, when not strlen's */
	} c[] = {
		{ "gw s3cret\n", 0600, 0, "gw", "s3cret", NULL, 0 },
		{ "s3cret\n", 0600, 0, "", "s3cret", NULL, 0 },
		{ "  gw \t s3cret  \r\n", 0400, 0, "gw", "s3cret", NULL, 0 },
		{ "gw s3cret\n", 0640, SL_EPERM, NULL, NULL,
		    "readable or writable by group or others; fix with: chmod 600",
		    0 },
		{ "gw s3cret\n", 0604, SL_EPERM, NULL, NULL, "chmod 600", 0 },
		{ "", 0600, SL_EKEY, NULL, NULL, "expected one line", 0 },
		{ "a b c\n", 0600, SL_EKEY, NULL, NULL, "expected one line", 0 },
		{ "gw s3\0cret\n", 0600, SL_EKEY, NULL, NULL, "not text", 11 },
		{ NULL, 0600, SL_EKEY, NULL, NULL, "too long, or not text", 0 },
		{ NULL, 0600, SL_EKEY, NULL, NULL, "not a regular file", 0 },
	};
	char big[600];
	size_t i;
	int rc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pw", dir);
	snprintf(lines, sizeof(lines), "[fleet]\nstore = redis://x\n"
	    "password_file = %s\n", path);
	assert_int_equal(parse(lines, ""), 0);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		(void)unlink(path);
		if (i == sizeof(c) / sizeof(c[0]) - 1) {
			/* a FIFO nobody writes to: refused, not waited on */
			assert_int_equal(mkfifo(path, 0600), 0);
		} else {
			assert_non_null(fp = fopen(path, "w"));
			if (c[i].text == NULL) {  /* one byte too many */
				memset(big, 'x', sizeof(big));
				fwrite(big, 1, 2 * FLEET_SECRET_MAX + 7, fp);
			} else
				fwrite(c[i].text, 1, c[i].len != 0 ? c[i].len :
				    strlen(c[i].text), fp);
			fclose(fp);
		}
		assert_int_equal(chmod(path, (mode_t)c[i].mode), 0);
		err[0] = '\0';
		memset(&f, 0x55, sizeof(f));
		rc = config_load_fleet_secret(cfg, &f, err, sizeof(err));
		if (rc != c[i].rc)
			fail_msg("case %zu: rc %d (%s)", i, rc, err);
		if (rc == 0) {
			assert_string_equal(f.user, c[i].user);
			assert_string_equal(f.password, c[i].password);
			assert_string_equal(f.store, "redis://x");
		} else {
			assert_non_null(strstr(err, "t.conf:15: [fleet] key "
			    "'password_file': "));
			assert_non_null(strstr(err, c[i].msg));
		}
	}
	(void)unlink(path);
	err[0] = '\0';
	assert_int_not_equal(config_load_fleet_secret(cfg, &f, err,
	    sizeof(err)), 0);
	assert_non_null(strstr(err, "No such file"));
	(void)rmdir(dir);
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
		cmocka_unit_test(test_no_section),
		cmocka_unit_test(test_store_forms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_action_key),
		cmocka_unit_test(test_replay_key),
		cmocka_unit_test(test_ids_and_backoff),
		cmocka_unit_test(test_parse_entry),
		cmocka_unit_test(test_grant_gateway_file),
		cmocka_unit_test(test_password_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
