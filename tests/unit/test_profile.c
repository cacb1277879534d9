/*
 * test_profile.c - knocker.conf parsing (src/client/profile.c): a full stanza,
 * relative and "~/" paths, several hosts, a table of refusals each naming
 * file:line (and the key), a name defined twice across two files, the
 * stanza writer read back, and the file-location rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "profile.h"

static int
parse(struct profiles *ps, const char *text, char *err, size_t errlen)
{
	return profile_parse_buf(ps, text, strlen(text), "/etc/k/knocker.conf",
	    err, errlen);
}

static void
test_full(void **state)
{
	struct profiles ps = { NULL, 0, 0 };
	const struct profile *p;
	char err[512];

	(void)state;
	setenv("HOME", "/home/u", 1);
	assert_int_equal(parse(&ps,
	    "# comment\n"
	    "; another\n"
	    "\n"
	    "[gw]\n"
	    "host = gw.example.org, 192.0.2.10 ,2001:db8::1\n"
	    "port = 6000\r\n"
	    "user = alice\n"
	    "action = open-ssh\n"
	    "format = 2\n"
	    "allow-ip = none\n"
	    "server-key = keys/server.pub.pem\n"
	    "hmac-key = ~/k/alice.key\n"
	    "bundle = /srv/b\n"
	    "wait = 0\n"
	    "timeout = 45\n"
	    "  [ lab ]  \n"
	    "host = 127.0.0.1\n"
	    "user = 12\n"
	    "allow-ip = 203.0.113.4\n", err, sizeof(err)), 0);
	assert_int_equal(ps.n, 2);
	p = profile_find(&ps, "gw");
	assert_non_null(p);
	assert_int_equal(p->line, 4);
	assert_int_equal(p->nhosts, 3);
	assert_string_equal(p->hosts[1], "192.0.2.10");
	assert_string_equal(p->hosts[2], "2001:db8::1");
	assert_int_equal(p->port, 6000);
	assert_string_equal(p->user, "alice");
	assert_string_equal(p->action, "open-ssh");
	assert_int_equal(p->format, 2);
	assert_int_equal(p->addr_mode, PROFILE_ADDR_NONE);
	assert_string_equal(p->server_key, "/etc/k/keys/server.pub.pem");
	assert_string_equal(p->hmac_key, "/home/u/k/alice.key");
	assert_string_equal(p->bundle, "/srv/b");
	assert_int_equal(p->wait_s, 0);
	assert_int_equal(p->timeout_s, 45);
	p = profile_find(&ps, "lab");
	assert_non_null(p);
	assert_int_equal(p->line, 16);
	assert_int_equal(p->port, 0);
	assert_int_equal(p->wait_s, -1);
	assert_int_equal(p->addr_mode, PROFILE_ADDR_IP);
	assert_null(profile_find(&ps, "nope"));
	profile_free(&ps);
}

static const struct {
	const char *text, *want;
} refusals[] = {
	{ "host = a\n", "knocker.conf:1: host: outside a [NAME] stanza" },
	{ "[a]\ncolour = red\n", "knocker.conf:2: [a] colour: unknown key" },
	{ "[a]\nport = 1\nport = 2\n",
	  ":3: [a] port: given twice (first at line 2)" },
	{ "[a]\nport = 0\n", ":2: [a] port: '0' is not a number in 1..65535" },
	{ "[a]\nport = 65536\n", ":2: [a] port: '65536'" },
	{ "[a]\nport = 12x\n", ":2: [a] port: '12x'" },
	{ "[a]\nformat = 3\n", ":2: [a] format: '3'" },
	{ "[a]\nwait = 301\n", ":2: [a] wait: '301'" },
	{ "[a]\ntimeout = 0\n", ":2: [a] timeout: '0'" },
	{ "[a]\nuser = 70000\n", ":2: [a] user: '70000' is not an id" },
	{ "[a]\naction = 256\n", ":2: [a] action: '256'" },
	{ "[a]\nuser = al ice\n", ":2: [a] user: 'al ice' is not a name" },
	{ "[a]\nallow-ip = 10.0.0.300\n", ":2: [a] allow-ip: '10.0.0.300'" },
	{ "[a]\nhost = a/b\n", ":2: [a] host: 'a/b' is not a host" },
	{ "[a]\nhost = ,\n", ":2: [a] host: no host given" },
	{ "[a]\nhost = 1,2,3,4,5,6,7,8,9\n", ":2: [a] host: more than 8" },
	{ "[a]\nserver-key =\n", ":2: [a] server-key: empty path" },
	{ "[a]\njust words\n", ":2: expected 'key = value'" },
	{ "[a b]\n", ":1: [a b]: a profile name" },
	{ "[-a]\n", ":1: [-a]: a profile name" },
	{ "[a\n", ":1: expected [NAME]" },
	{ "[a]\n[a]\n", ":2: profile [a] defined again (first at "
	  "/etc/k/knocker.conf:1)" },
	{ "[a]\nhost = x\0y\n", NULL },  /* the NUL cuts the text: accepted */
};

static void
test_refusals(void **state)
{
	struct profiles ps;
	char err[512];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		memset(&ps, 0, sizeof(ps));
		err[0] = '\0';
		rc = parse(&ps, refusals[i].text, err, sizeof(err));
		if (refusals[i].want == NULL) {
			assert_int_equal(rc, 0);
		} else {
			if (rc != SL_ECONFIG || strstr(err, refusals[i].want) ==
			    NULL)
				fail_msg("case %zu: rc %d, err '%s', want '%s'", i,
				    rc, err, refusals[i].want);
			assert_non_null(strstr(err, "/etc/k/knocker.conf:"));
		}
		profile_free(&ps);
	}
}

static void
test_nul_and_long_lines(void **state)
{
	static const char nul[] = "[a]\nhost = x\0y\n";
	struct profiles ps = { NULL, 0, 0 };
	char err[512], *big;
	size_t n = PROFILE_LINE_MAX + 10;

	(void)state;
	assert_int_equal(profile_parse_buf(&ps, nul, sizeof(nul) - 1, "f", err,
	    sizeof(err)), SL_ECONFIG);
	assert_non_null(strstr(err, "f:2: line contains a NUL byte"));
	profile_free(&ps);
	big = malloc(n + 8);
	assert_non_null(big);
	memcpy(big, "[a]\nhost=", 9);
	memset(big + 9, 'a', n - 9);
	big[n] = '\n';
	assert_int_equal(profile_parse_buf(&ps, big, n + 1, "f", err,
	    sizeof(err)), SL_ECONFIG);
	assert_non_null(strstr(err, "f:2: line too long"));
	free(big);
	profile_free(&ps);
}

/* A name defined again in a second file names the first place. */
static void
test_twice_across_files(void **state)
{
	struct profiles ps = { NULL, 0, 0 };
	char err[512];
	const char *a = "[gw]\nhost = a\n", *b = "\n[gw]\n";

	(void)state;
	assert_int_equal(profile_parse_buf(&ps, a, strlen(a), "/x/main.conf",
	    err, sizeof(err)), 0);
	assert_int_equal(profile_parse_buf(&ps, b, strlen(b),
	    "/x/main.conf.d/gw.conf", err, sizeof(err)), SL_ECONFIG);
	assert_string_equal(err, "/x/main.conf.d/gw.conf:2: profile [gw] "
	    "defined again (first at /x/main.conf:1)");
	profile_free(&ps);
}

/* What profile_format writes, profile_parse_buf reads back the same. */
static void
test_format_roundtrip(void **state)
{
	struct profiles ps = { NULL, 0, 0 }, ps2 = { NULL, 0, 0 };
	const struct profile *p, *q;
	char err[512], text[8192];

	(void)state;
	assert_int_equal(parse(&ps, "[gw]\nhost = h1, h2\nport = 7\n"
	    "user = bob\naction = 3\nformat = 1\nallow-ip = ::ffff:192.0.2.1\n"
	    "server-key = /a/s.pem\nhmac-key = /a/h.key\nbundle = /b\n"
	    "wait = 9\ntimeout = 99\n", err, sizeof(err)), 0);
	p = profile_find(&ps, "gw");
	assert_int_equal(profile_format(p, text, sizeof(text)), 0);
	assert_non_null(strstr(text, "allow-ip = 192.0.2.1\n"));
	assert_int_equal(profile_parse_buf(&ps2, text, strlen(text), "/a/w",
	    err, sizeof(err)), 0);
	q = profile_find(&ps2, "gw");
	assert_non_null(q);
	assert_int_equal(q->nhosts, 2);
	assert_string_equal(q->hosts[1], "h2");
	assert_int_equal(q->port, 7);
	assert_string_equal(q->user, "bob");
	assert_string_equal(q->action, "3");
	assert_int_equal(q->format, 1);
	assert_int_equal(q->addr_mode, PROFILE_ADDR_IP);
	assert_memory_equal(&q->allow_addr, &p->allow_addr,
	    sizeof(p->allow_addr));
	assert_string_equal(q->server_key, "/a/s.pem");
	assert_string_equal(q->hmac_key, "/a/h.key");
	assert_string_equal(q->bundle, "/b");
	assert_int_equal(q->wait_s, 9);
	assert_int_equal(q->timeout_s, 99);
	assert_int_equal(profile_format(p, text, 20), SL_ETOOBIG);
	profile_free(&ps);
	profile_free(&ps2);
}

static void
test_config_path(void **state)
{
	char out[SL_PATH_MAX], err[256];
	bool ex;

	(void)state;
	setenv("HOME", "/home/u", 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("SIGLATCH_CONFIG");
	assert_int_equal(profile_config_path(out, sizeof(out), NULL, &ex, err,
	    sizeof(err)), 0);
	assert_string_equal(out, "/home/u/.config/siglatch/knocker.conf");
	assert_false(ex);
	setenv("XDG_CONFIG_HOME", "relative", 1);
	assert_int_equal(profile_config_path(out, sizeof(out), NULL, &ex, err,
	    sizeof(err)), 0);
	assert_string_equal(out, "/home/u/.config/siglatch/knocker.conf");
	setenv("XDG_CONFIG_HOME", "/x", 1);
	assert_int_equal(profile_config_path(out, sizeof(out), NULL, &ex, err,
	    sizeof(err)), 0);
	assert_string_equal(out, "/x/siglatch/knocker.conf");
	setenv("SIGLATCH_CONFIG", "/s.conf", 1);
	assert_int_equal(profile_config_path(out, sizeof(out), NULL, &ex, err,
	    sizeof(err)), 0);
	assert_string_equal(out, "/s.conf");
	assert_true(ex);
	assert_int_equal(profile_config_path(out, sizeof(out), "/c.conf", &ex,
	    err, sizeof(err)), 0);
	assert_string_equal(out, "/c.conf");
	assert_true(ex);
	unsetenv("SIGLATCH_CONFIG");
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("HOME");
	assert_int_equal(profile_config_path(out, sizeof(out), NULL, &ex, err,
	    sizeof(err)), SL_EINVAL);
}

static void
test_names(void **state)
{
	(void)state;
	assert_true(profile_valid_name("gw"));
	assert_true(profile_valid_name("a.b-c_9"));
	assert_false(profile_valid_name(""));
	assert_false(profile_valid_name("-x"));
	assert_false(profile_valid_name(".x"));
	assert_false(profile_valid_name("a/b"));
	assert_false(profile_valid_name("a b"));
	assert_true(profile_valid_name(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_false(profile_valid_name(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_nul_and_long_lines),
		cmocka_unit_test(test_twice_across_files),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_config_path),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
