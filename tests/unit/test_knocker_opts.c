/*
 * test_knocker_opts.c - knocker's command line (src/client/knocker_opts.c): a
 * table of command lines, each with the exit status knocker_parse and
 * knocker_setup give (-1: go on), the exact message, and what they set;
 * a profile's settings under the options given.  knocker_err and
 * knocker_note (src/client/knocker.c, the program's) are replaced here by ones
 * that keep the last message.
 */
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "knocker.h"

bool knocker_quiet;
static char last_msg[1024];

void
knocker_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
}

void
knocker_note(const char *fmt, ...)
{
	va_list ap;

	if (knocker_quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
}

#define CFG "/etc/k/knocker.conf"

static struct profiles ps = { NULL, 0, 0 };

/* parse, then (when that goes on) set up, as main does */
static int
run(const char *const *args, struct knocker_opts *o)
{
	static char store[32][256];
	char *argv[32];
	int argc = 0, rc;

	snprintf(store[0], sizeof(store[0]), "knocker");
	argv[argc++] = store[0];
	while (*args != NULL && argc < 31) {
		snprintf(store[argc], sizeof(store[argc]), "%s", *args++);
		argv[argc] = store[argc];
		argc++;
	}
	argv[argc] = NULL;
	last_msg[0] = '\0';
	knocker_quiet = false;
	optind = 0;         /* a fresh getopt_long */
	opterr = 0;
	if ((rc = knocker_parse(argc, argv, o)) >= 0)
		return rc;
	if (o->list || o->import_dir != NULL)
		return -1;
	return knocker_setup(o, &ps, CFG);
}

#define A(...) ((const char *const []){ __VA_ARGS__, NULL })

static const struct {
	const char *const *args;
	int rc;
	const char *msg;            /* exact; "" for none */
} cases[] = {
	{ A("h", "u", "a"), -1, "" },
	{ A("-p", "0", "h", "u", "a"), EXIT_USAGE, "bad port '0' (1-65535)" },
	{ A("--port=70000", "h", "u", "a"), EXIT_USAGE,
	  "bad port '70000' (1-65535)" },
	{ A("--format", "3", "h", "u", "a"), EXIT_USAGE,
	  "bad format '3' (1 or 2)" },
	{ A("--allow-ip", "1.2.3", "h", "u", "a"), EXIT_USAGE,
	  "--allow-ip '1.2.3' is not an IPv4 or IPv6 address" },
	{ A("--wait=0", "h", "u", "a"), EXIT_USAGE,
	  "bad --wait '0' (1-300 seconds)" },
	{ A("--timeout", "0", "h", "u", "a"), EXIT_USAGE,
	  "bad --timeout '0' (1-3600 seconds)" },
	{ A("--verbose=9", "h", "u", "a"), EXIT_USAGE,
	  "bad verbose level '9' (0-5)" },
	{ A("-q", "-v", "h", "u", "a"), EXIT_USAGE,
	  "give --quiet or --verbose, not both" },
	{ A("--log", "x", "h", "u", "a"), -1,
	  "note: --log is a siglatch 1.0 option and is ignored" },
	/* --quiet takes effect after the command line is read */
	{ A("-q", "--log", "x", "h", "u", "a"), -1,
	  "note: --log is a siglatch 1.0 option and is ignored" },
	{ A("--dead-drop", "h", "u", "a"), EXIT_USAGE,
	  "--dead-drop is not supported: siglatchd accepts only signed, "
	  "encrypted knocks" },
	{ A("--bogus", "h", "u", "a"), EXIT_USAGE, "" },
	{ A("-x", "h", "u", "a"), EXIT_USAGE, "" },
	{ A("--save-profile", "-x", "h", "u", "a"), EXIT_USAGE,
	  "bad profile name '-x' (1-63 of A-Z a-z 0-9 _ . -, not starting "
	  "with - or .)" },
	{ A("--as", "ok"), EXIT_USAGE,
	  "--import-bundle DIR and --as NAME go together" },
	{ A("--import-bundle", "/b"), EXIT_USAGE,
	  "--import-bundle DIR and --as NAME go together" },
	{ A("a", "b", "c", "d", "e"), EXIT_USAGE,
	  "too many arguments (from 'e'); quote a PAYLOAD that has spaces" },
	{ A("h", "u"), EXIT_USAGE,
	  "need HOST USER ACTION [PAYLOAD], or PROFILE [ACTION] [PAYLOAD]: "
	  "no profile 'h' in " CFG " or " CFG ".d/" },
	{ A("-n"), EXIT_USAGE,
	  "need HOST USER ACTION [PAYLOAD]; try 'knocker --help'" },
	{ A("--stdin", "h", "u", "a", "p"), EXIT_USAGE,
	  "give a PAYLOAD argument or --stdin, not both" },
	{ A("--allow-ip", "::1", "--no-address", "h", "u", "a"), EXIT_USAGE,
	  "give --allow-ip or --no-address, not both" },
	{ A("--connect", "x:1", "-n", "h", "u", "a"), EXIT_USAGE,
	  "--connect relays standard input: not with --dry-run" },
	{ A("--connect", "x:1", "--stdin", "h", "u", "a"), EXIT_USAGE,
	  "--connect relays standard input: not with --stdin" },
	{ A("--format", "1", "--wait", "h", "u", "a"), EXIT_USAGE,
	  "--wait needs format 2; format 1 cannot carry it" },
	{ A("--format=1", "--allow-ip", "10.0.0.1", "h", "u", "a"), EXIT_USAGE,
	  "--allow-ip needs format 2; format 1 cannot carry it" },
	{ A("gw", "open", "p", "x"), EXIT_USAGE,
	  "too many arguments for a profile: PROFILE [ACTION] [PAYLOAD]; "
	  "quote a PAYLOAD that has spaces" },
	{ A("noact"), EXIT_USAGE,
	  "profile noact (" CFG ":8) has no action: give one, knocker noact "
	  "ACTION" },
	{ A("nouser", "open"), CLIENT_EXIT_ERROR,
	  "profile nouser (" CFG ":11) gives no user" },
};

static const char profiles_text[] =
    "[gw]\n"
    "host = gw.example.org, 192.0.2.10\n"
    "port = 6000\n"
    "user = alice\n"
    "action = ssh\n"
    "allow-ip = none\n"
    "wait = 3\n"
    "[noact]\nhost = h\nuser = u\n"
    "[nouser]\nhost = h\n";

static void
load_profiles(void)
{
	char err[512];

	profile_free(&ps);
	assert_int_equal(profile_parse_buf(&ps, profiles_text,
	    strlen(profiles_text), CFG, err, sizeof(err)), 0);
}

static void
test_table(void **state)
{
	struct knocker_opts o;
	size_t i;
	int rc;

	(void)state;
	load_profiles();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = run(cases[i].args, &o);
		if (rc != cases[i].rc || strcmp(last_msg, cases[i].msg) != 0)
			fail_msg("case %zu (%s ...): rc %d, want %d; message "
			    "'%s', want '%s'", i, cases[i].args[0], rc,
			    cases[i].rc, last_msg, cases[i].msg);
	}
	profile_free(&ps);
}

/* Each table option sets what it names, and nothing else. */
static void
test_sets(void **state)
{
	struct knocker_opts o;

	(void)state;
	assert_int_equal(run(A("-p", "6001", "--server-key", "S",
	    "--hmac-key", "K", "--save", "F", "--config", "C", "--format", "2",
	    "--allow-ip", "10.1.2.3", "--wait=7", "--timeout", "40", "-n",
	    "-v", "h", "u", "a", "pay"), &o), -1);
	assert_int_equal(o.port, 6001);
	assert_true(o.port_set);
	assert_string_equal(o.server_key, "S");
	assert_string_equal(o.hmac_key, "K");
	assert_string_equal(o.save, "F");
	assert_string_equal(o.config, "C");
	assert_int_equal(o.format, 2);
	assert_string_equal(o.allow_ip, "10.1.2.3");
	assert_true(o.wait_set);
	assert_int_equal(o.wait_s, 7);
	assert_int_equal(o.timeout_s, 40);
	assert_true(o.dry_run);
	assert_true(o.verbose);
	assert_false(o.use_stdin || o.no_address || o.list || o.quiet);
	assert_string_equal(o.host, "h");
	assert_int_equal(o.nhosts, 1);
	assert_string_equal(o.user, "u");
	assert_string_equal(o.action, "a");
	assert_string_equal(o.payload, "pay");
	assert_null(o.connect);
	assert_null(o.import_dir);

	assert_int_equal(run(A("--stdin", "--no-address", "-q", "--wait",
	    "h", "u", "a"), &o), -1);
	assert_true(o.use_stdin);
	assert_true(o.no_address);
	assert_true(o.quiet);
	assert_true(knocker_quiet);
	assert_int_equal(o.wait_s, KNOCKER_WAIT_DEF);
	assert_false(o.dry_run || o.verbose || o.port_set);
	assert_int_equal(o.port, CLIENT_DEFAULT_PORT);
	assert_null(o.connect);
	assert_int_equal(run(A("--connect", "x:22", "h", "u", "a"), &o), -1);
	assert_string_equal(o.connect, "x:22");
	assert_false(o.use_stdin || o.no_address || o.quiet || knocker_quiet);

	assert_int_equal(run(A("--list"), &o), -1);
	assert_true(o.list);
	assert_int_equal(run(A("--import-bundle", "/b", "--as", "n", "h"),
	    &o), -1);
	assert_string_equal(o.import_dir, "/b");
	assert_string_equal(o.import_as, "n");
	assert_int_equal(o.npos, 1);
	assert_int_equal(run(A("--save-profile", "sp", "h", "u", "a"), &o),
	    -1);
	assert_string_equal(o.save_profile, "sp");
	assert_null(o.import_as);
}

/* siglatch 1.0's "--verbose LEVEL": the level is taken, "-v 3" is not. */
static void
test_verbose_level(void **state)
{
	struct knocker_opts o;

	(void)state;
	assert_int_equal(run(A("--verbose", "0", "h", "u", "a"), &o), -1);
	assert_false(o.verbose);
	assert_string_equal(o.host, "h");
	assert_int_equal(run(A("--verbose", "3", "h", "u", "a"), &o), -1);
	assert_true(o.verbose);
	assert_int_equal(o.npos, 3);
	assert_int_equal(run(A("--verbose=0", "h", "u", "a"), &o), -1);
	assert_false(o.verbose);
	assert_int_equal(run(A("-v", "3", "h", "u"), &o), -1);
	assert_true(o.verbose);
	assert_string_equal(o.host, "3");
}

/* A profile's settings, under the options given on the command line. */
static void
test_profile(void **state)
{
	struct knocker_opts o;

	(void)state;
	load_profiles();
	assert_int_equal(run(A("gw"), &o), -1);
	assert_non_null(o.prof);
	assert_int_equal(o.nhosts, 2);
	assert_string_equal(o.hosts[1], "192.0.2.10");
	assert_string_equal(o.host, "gw.example.org");
	assert_string_equal(o.user, "alice");
	assert_string_equal(o.action, "ssh");
	assert_null(o.payload);
	assert_int_equal(o.port, 6000);
	assert_true(o.no_address);
	assert_int_equal(o.wait_s, 3);

	assert_int_equal(run(A("-p", "7000", "--wait=9", "--allow-ip",
	    "10.0.0.1", "gw", "open", "pay"), &o), -1);
	assert_int_equal(o.port, 7000);
	assert_int_equal(o.wait_s, 9);
	assert_false(o.no_address);
	assert_string_equal(o.allow_ip, "10.0.0.1");
	assert_string_equal(o.action, "open");
	assert_string_equal(o.payload, "pay");
	profile_free(&ps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_sets),
		cmocka_unit_test(test_verbose_level),
		cmocka_unit_test(test_profile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
