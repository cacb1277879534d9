/* test_grants.c - the timed-grant table: make, extend, cap, lapse, failed
 * destructor retry, revoke_on_exit, restart from the file, bad files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grants.h"
#include "log.h"

#define T0   1795000000000LL   /* ms */
#define IVL  300               /* keepalive_interval, s */
#define LIFE 3600              /* grant_max_lifetime, s */

static struct sl_addr
ip4(uint8_t last)
{
	struct sl_addr a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	a.bytes[0] = 192;
	a.bytes[1] = 0;
	a.bytes[2] = 2;
	a.bytes[3] = last;
	return a;
}

static struct sl_addr
ip6(uint8_t last)
{
	struct sl_addr a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET6;
	a.bytes[0] = 0x20;
	a.bytes[1] = 0x01;
	a.bytes[2] = 0x0d;
	a.bytes[3] = 0xb8;
	a.bytes[15] = last;
	return a;
}

/* begin + successful constructor at `now` */
static struct grant *
make(struct grants *gt, const char *srv, uint16_t uid, uint8_t aid,
    struct sl_addr a, int64_t now)
{
	const char *why = "unset";
	struct grant *g;

	g = grants_begin(gt, srv, "alice", uid, "ssh", aid, &a, &why);
	assert_non_null(g);
	assert_null(why);
	assert_int_equal(g->state, GS_PENDING);
	grants_end(gt, g, true, now, IVL);
	assert_int_equal(g->state, GS_LIVE);
	return g;
}

static void
test_make_and_lapse(void **state)
{
	struct grants *gt;
	struct grant *g;
	struct sl_addr a = ip4(7);

	(void)state;
	assert_int_equal(grants_new(&gt, 8, LIFE), 0);
	assert_int_equal(grants_next_ms(gt), -1);
	g = make(gt, "gw", 1, 1, a, T0);
	assert_int_equal(g->created_ms, T0);
	assert_int_equal(g->expires_ms, T0 + IVL * 1000);
	assert_int_equal(grants_next_ms(gt), T0 + IVL * 1000);
	assert_ptr_equal(grants_find(gt, "gw", 1, 1, &a), g);
	assert_int_equal(grants_count(gt, GS_LIVE), 1);
	/* not due one millisecond early; due at the instant */
	assert_null(grants_due(gt, T0 + IVL * 1000 - 1));
	assert_ptr_equal(grants_due(gt, T0 + IVL * 1000), g);
	assert_int_equal(g->state, GS_REVOKE);
	assert_int_equal(grants_get_stats(gt)->lapsed, 1);
	grants_revoking(gt, g);
	assert_int_equal(g->state, GS_REVOKING);
	/* nothing else is due while it runs */
	assert_null(grants_due(gt, T0 + IVL * 1000 + 5));
	assert_int_equal(grants_next_ms(gt), -1);
	grants_revoked(gt, g, true, T0 + IVL * 1000 + 10);
	assert_int_equal(grants_count(gt, GS_FREE), 0);
	assert_null(grants_find(gt, "gw", 1, 1, &a));
	assert_int_equal(grants_get_stats(gt)->granted, 1);
	assert_int_equal(grants_get_stats(gt)->revoked, 1);
	grants_free(gt);
}

/* The key is (server, user, action, address): each part separates. */
static void
test_keys(void **state)
{
	struct grants *gt;
	struct sl_addr a = ip4(7), b = ip4(8), c = ip6(7);
	const char *why;

	(void)state;
	assert_int_equal(grants_new(&gt, 16, LIFE), 0);
	make(gt, "gw", 1, 1, a, T0);
	make(gt, "gw2", 1, 1, a, T0);
	make(gt, "gw", 2, 1, a, T0);
	make(gt, "gw", 1, 2, a, T0);
	make(gt, "gw", 1, 1, b, T0);
	make(gt, "gw", 1, 1, c, T0);
	assert_int_equal(grants_count(gt, GS_LIVE), 6);
	/* a live one is not begun again: the caller extends it */
	assert_null(grants_begin(gt, "gw", "alice", 1, "ssh", 1, &a, &why));
	assert_string_equal(why, "it is live");
	grants_free(gt);
}

static void
test_extend_and_cap(void **state)
{
	struct grants *gt;
	struct grant *g;

	(void)state;
	assert_int_equal(grants_new(&gt, 4, 1000), 0); /* 1000 s lifetime */
	g = make(gt, "gw", 1, 1, ip4(1), T0);
	/* extended from the knock, not from the old expiry */
	assert_int_equal(grants_extend(gt, g, T0 + 100000, IVL), 1);
	assert_int_equal(g->expires_ms, T0 + 100000 + IVL * 1000);
	assert_int_equal(g->extensions, 1);
	/* an earlier-ending extension changes nothing */
	assert_int_equal(grants_extend(gt, g, T0 + 50000, IVL), 0);
	assert_int_equal(g->expires_ms, T0 + 100000 + IVL * 1000);
	/* up to the lifetime cap, then no further */
	assert_int_equal(grants_extend(gt, g, T0 + 900000, IVL), 1);
	assert_int_equal(g->expires_ms, T0 + 1000 * 1000);
	assert_int_equal(grants_extend(gt, g, T0 + 950000, IVL), 0);
	assert_int_equal(g->expires_ms, T0 + 1000 * 1000);
	assert_int_equal(grants_get_stats(gt)->extended, 2);
	assert_int_equal(grants_get_stats(gt)->capped, 2);
	/* the interval itself is capped too */
	grants_free(gt);
	assert_int_equal(grants_new(&gt, 4, 10), 0);
	g = make(gt, "gw", 1, 1, ip4(1), T0);
	assert_int_equal(g->expires_ms, T0 + 10 * 1000);
	/* only a LIVE grant extends */
	g->state = GS_REVOKE;
	assert_int_equal(grants_extend(gt, g, T0, IVL), 0);
	grants_free(gt);
}

static void
test_constructor_fails(void **state)
{
	struct grants *gt;
	struct grant *g;
	struct sl_addr a = ip4(3);
	const char *why;

	(void)state;
	assert_int_equal(grants_new(&gt, 4, LIFE), 0);
	g = grants_begin(gt, "gw", "alice", 1, "ssh", 1, &a, &why);
	assert_non_null(g);
	/* a second knock while the constructor runs is refused */
	assert_null(grants_begin(gt, "gw", "alice", 1, "ssh", 1, &a, &why));
	assert_string_equal(why, "its constructor is still running");
	grants_end(gt, g, false, T0, IVL);
	assert_int_equal(grants_count(gt, GS_FREE), 0);
	assert_int_equal(grants_get_stats(gt)->granted, 0);
	grants_free(gt);
}

static void
test_destructor_retry(void **state)
{
	struct grants *gt;
	struct grant *g;
	struct sl_addr a = ip4(9);
	int64_t now = T0 + IVL * 1000, want;
	const char *why;
	uint32_t i;

	(void)state;
	assert_int_equal(grants_new(&gt, 4, LIFE), 0);
	g = make(gt, "gw", 1, 1, a, T0);
	/* fail again and again: the delay doubles up to the maximum, and the
	 * grant is never dropped */
	for (i = 1; i <= 12; i++) {
		assert_ptr_equal(grants_due(gt, now), g);
		grants_revoking(gt, g);
		grants_revoked(gt, g, false, now);
		assert_int_equal(g->state, GS_REVOKE);
		assert_int_equal(g->attempts, i);
		want = (int64_t)GRANTS_RETRY_MS << (i - 1);
		if (want > GRANTS_RETRY_MAX)
			want = GRANTS_RETRY_MAX;
		assert_int_equal(grants_backoff_ms(i), want);
		assert_int_equal(g->next_ms, now + want);
		assert_int_equal(grants_next_ms(gt), now + want);
		assert_null(grants_due(gt, now + want - 1));
		now += want;
	}
	assert_int_equal(grants_get_stats(gt)->revoke_failed, 12);
	/* a knock while it is owed: the constructor runs again; if that
	 * fails it is owed as before, due at once */
	g = grants_begin(gt, "gw", "alice", 1, "ssh", 1, &a, &why);
	assert_non_null(g);
	assert_true(g->regrant);
	grants_end(gt, g, false, now, IVL);
	assert_int_equal(g->state, GS_REVOKE);
	assert_int_equal(g->next_ms, now);
	/* and if it succeeds the grant is live again, attempts cleared */
	g = grants_begin(gt, "gw", "alice", 1, "ssh", 1, &a, &why);
	grants_end(gt, g, true, now, IVL);
	assert_int_equal(g->state, GS_LIVE);
	assert_int_equal(g->attempts, 0);
	/* while a destructor runs, a knock is refused */
	assert_ptr_equal(grants_due(gt, now + IVL * 1000), g);
	grants_revoking(gt, g);
	assert_null(grants_begin(gt, "gw", "alice", 1, "ssh", 1, &a, &why));
	assert_string_equal(why, "its destructor is running; knock again");
	/* no slot: deferred without counting an attempt */
	grants_defer(gt, g, now, GRANTS_DEFER_MS);
	assert_int_equal(g->state, GS_REVOKE);
	assert_int_equal(g->attempts, 0);
	assert_int_equal(g->next_ms, now + GRANTS_DEFER_MS);
	grants_free(gt);
}

static void
test_full(void **state)
{
	struct grants *gt;
	struct grant *g;
	struct sl_addr a = ip4(200);
	const char *why;
	uint8_t i;

	(void)state;
	assert_int_equal(grants_new(&gt, 3, LIFE), 0);
	for (i = 0; i < 3; i++)
		make(gt, "gw", 1, 1, ip4(i), T0);
	assert_null(grants_begin(gt, "gw", "alice", 1, "ssh", 1, &a, &why));
	assert_string_equal(why, "the grant table is full (max_grants)");
	assert_int_equal(grants_get_stats(gt)->refused_full, 1);
	/* a revoked one frees its slot */
	g = grants_due(gt, T0 + IVL * 1000);
	grants_revoking(gt, g);
	grants_revoked(gt, g, true, T0 + IVL * 1000);
	assert_non_null(grants_begin(gt, "gw", "alice", 1, "ssh", 1, &a,
	    &why));
	grants_free(gt);
}

static void
test_revoke_all(void **state)
{
	struct grants *gt;
	struct grant *g1, *g2;

	(void)state;
	assert_int_equal(grants_new(&gt, 4, LIFE), 0);
	g1 = make(gt, "gw", 1, 1, ip4(1), T0);
	g2 = make(gt, "gw", 1, 1, ip4(2), T0);
	grants_due(gt, T0 + IVL * 1000);        /* g1 lapses ... */
	grants_revoking(gt, g1);
	grants_revoked(gt, g1, false, T0 + IVL * 1000); /* ... and fails */
	g2->expires_ms = T0 + 10 * IVL * 1000;
	assert_int_equal(grants_revoke_all(gt, T0 + IVL * 1000 + 1), 2);
	assert_int_equal(g1->next_ms, T0 + IVL * 1000 + 1);
	assert_int_equal(g2->state, GS_REVOKE);
	assert_int_equal(g2->next_ms, T0 + IVL * 1000 + 1);
	grants_free(gt);
}

/* ---- the file ----------------------------------------------------------- */

static char *
format(const struct grants *gt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(grants_format(gt, f), 0);
	fclose(f);
	return buf;
}

/* A restart: what was live stays live, what lapsed while the daemon was
 * down, what was being made and what was being revoked are all due now. */
static void
test_restart(void **state)
{
	struct grants *gt, *back;
	struct grant *g;
	struct sl_addr a = ip4(1), b = ip4(2), c = ip6(3), d = ip4(4);
	int64_t later = T0 + 200 * 1000;
	const char *why;
	char *text;

	(void)state;
	assert_int_equal(grants_new(&gt, 8, LIFE), 0);
	make(gt, "gw", 1, 1, a, T0);                       /* live to +300 */
	g = make(gt, "gw", 2, 1, b, T0 - 250 * 1000);      /* live to +50 */
	(void)g;
	g = make(gt, "gw", 3, 7, c, T0);                   /* being revoked */
	g->expires_ms = T0;
	assert_ptr_equal(grants_due(gt, T0), g);
	grants_revoking(gt, g);
	assert_non_null(grants_begin(gt, "gw", "bob", 4, "web", 2, &d,
	    &why));                                         /* pending */
	text = format(gt);
	assert_non_null(strstr(text, "\nlive gw 1 alice 1 ssh 192.0.2.1 "));
	assert_non_null(strstr(text, "\nrevoke gw 3 alice 7 ssh 2001:db8::3 "));
	assert_non_null(strstr(text, "\npending gw 4 bob 2 web 192.0.2.4 "));

	assert_int_equal(grants_new(&back, 8, LIFE), 0);
	assert_int_equal(grants_parse(back, text, strlen(text), later, "t"), 0);
	assert_int_equal(grants_count(back, GS_FREE), 4);
	g = grants_find(back, "gw", 1, 1, &a);
	assert_non_null(g);
	assert_int_equal(g->state, GS_LIVE);
	assert_int_equal(g->expires_ms, T0 + IVL * 1000);
	assert_int_equal(g->created_ms, T0);
	assert_string_equal(g->user, "alice");
	assert_string_equal(g->action, "ssh");
	g = grants_find(back, "gw", 2, 1, &b);
	assert_int_equal(g->state, GS_REVOKE);
	assert_int_equal(g->next_ms, later);
	g = grants_find(back, "gw", 3, 7, &c);
	assert_int_equal(g->state, GS_REVOKE);
	assert_int_equal(g->next_ms, later);
	g = grants_find(back, "gw", 4, 2, &d);
	assert_int_equal(g->state, GS_REVOKE);
	assert_int_equal(grants_get_stats(back)->expired_at_start, 1);
	assert_int_equal(grants_next_ms(back), later);
	free(text);
	grants_free(back);
	grants_free(gt);
}

static void
test_bad_lines(void **state)
{
	static const char *const bad[] = {
		"live gw 1 alice 1 ssh 192.0.2.1 1 2 0 0",          /* 10 fields */
		"live gw 1 alice 1 ssh 192.0.2.1 1 2 0 0 0 extra",
		"live  gw 1 alice 1 ssh 192.0.2.1 1 2 0 0 0",       /* two spaces */
		"gone gw 1 alice 1 ssh 192.0.2.1 1 2 0 0 0",
		"free gw 1 alice 1 ssh 192.0.2.1 1 2 0 0 0",
		"live g/w 1 alice 1 ssh 192.0.2.1 1 2 0 0 0",
		"live gw 65536 alice 1 ssh 192.0.2.1 1 2 0 0 0",
		"live gw 1 alice 256 ssh 192.0.2.1 1 2 0 0 0",
		"live gw -1 alice 1 ssh 192.0.2.1 1 2 0 0 0",
		"live gw 1 al;ce 1 ssh 192.0.2.1 1 2 0 0 0",
		"live gw 1 alice 1 ssh 192.0.2.1/32 1 2 0 0 0",
		"live gw 1 alice 1 ssh 192.0.2.256 1 2 0 0 0",
		"live gw 1 alice 1 ssh -192.0.2.1 1 2 0 0 0",
		"live gw 1 alice 1 ssh 192.0.2.1 x 2 0 0 0",
		"live gw 1 alice 1 ssh 192.0.2.1 1 -2 0 0 0",
		"live gw 1 alice 1 ssh 192.0.2.1 1 2 0 4294967296 0",
		"live gw 1 alice 1 ssh 192.0.2.1 1 99999999999999999999 0 0 0",
		"live gw 1 alice 1 ssh 192.0.2.1 1 2 0 0 0\r",
	};
	struct grants *gt;
	char buf[256];
	size_t i;

	(void)state;
	log_init("test", 1, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(grants_new(&gt, 4, LIFE), 0);
		snprintf(buf, sizeof(buf), "# c\n%s\n", bad[i]);
		if (grants_parse(gt, buf, strlen(buf), T0, "t") != 1)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(grants_count(gt, GS_FREE), 0);
		grants_free(gt);
	}
	/* good lines around a bad one are kept; an IPv4-mapped address is
	 * stored as IPv4; a NUL inside a line refuses it */
	assert_int_equal(grants_new(&gt, 4, LIFE), 0);
	{
		static const char text[] =
		    "live gw 1 alice 1 ssh ::ffff:192.0.2.1 1 9999999999999 0 0 0\n"
		    "junk\n"
		    "live gw 2 bob 1 ssh 2001:db8::1 1 9999999999999 0 0 0\n"
		    "live gw 3 b\0b 1 ssh 2001:db8::1 1 9999999999999 0 0 0\n"
		    "live gw 1 alice 1 ssh 192.0.2.1 1 9999999999998 0 0 0";
		struct sl_addr a = ip4(1);

		assert_int_equal(grants_parse(gt, text, sizeof(text) - 1, T0,
		    "t"), 2);
		assert_int_equal(grants_count(gt, GS_LIVE), 2);
		/* the duplicate of 192.0.2.1 merged, the later expiry kept */
		assert_int_equal(grants_find(gt, "gw", 1, 1, &a)->expires_ms,
		    9999999999999LL);
	}
	grants_free(gt);
}

/* More grants on disk than max_grants (it was lowered): all are kept and
 * revoked in time; new ones wait until the table is below max. */
static void
test_file_larger_than_max(void **state)
{
	struct grants *gt, *back;
	struct sl_addr a = ip4(99);
	const char *why;
	char *text;
	uint8_t i;

	(void)state;
	assert_int_equal(grants_new(&gt, 10, LIFE), 0);
	for (i = 0; i < 10; i++)
		make(gt, "gw", 1, 1, ip4(i), T0);
	text = format(gt);
	assert_int_equal(grants_new(&back, 2, LIFE), 0);
	assert_int_equal(grants_parse(back, text, strlen(text), T0, "t"), 0);
	assert_int_equal(grants_count(back, GS_LIVE), 10);
	assert_null(grants_begin(back, "gw", "alice", 1, "ssh", 1, &a,
	    &why));
	free(text);
	grants_free(back);
	grants_free(gt);
}

/* On disk: saved, attached again, and a directory others may use refused. */
static void
test_attach(void **state)
{
	char dir[] = "/tmp/sl_test_grants_XXXXXX", path[256], err[512];
	struct grants *gt, *back;
	struct sl_addr a = ip6(5);
	struct stat sb;
	FILE *f;
	char line[512];
	int n = 0;

	(void)state;
	log_init("test", 1, 0);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(grants_new(&gt, 4, LIFE), 0);
	assert_int_equal(grants_dirfd(gt), -1);
	assert_int_equal(grants_attach(gt, dir, T0, err, sizeof(err)), 0);
	assert_true(grants_dirfd(gt) > 2);
	snprintf(path, sizeof(path), "%s/grants", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	make(gt, "gw", 1, 1, a, T0);
	assert_int_equal(grants_save(gt), 0);
	snprintf(path, sizeof(path), "%s/grants/grants", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	grants_free(gt);

	assert_int_equal(grants_new(&back, 4, LIFE), 0);
	assert_int_equal(grants_attach(back, dir, T0 + 1000, err,
	    sizeof(err)), 0);
	assert_non_null(grants_find(back, "gw", 1, 1, &a));
	grants_free(back);

	/* the listing */
	f = tmpfile();
	assert_int_equal(grants_list(dir, f, T0 + 1000, err, sizeof(err)), 0);
	rewind(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (n == 1 && strncmp(line, "live ", 5) != 0)
			fail_msg("listing: %s", line);
		if (n == 1 && strstr(line, " 2001:db8::5 ") == NULL)
			fail_msg("listing: %s", line);
		if (n == 1 && strstr(line, "  299s ") == NULL)
			fail_msg("listing: %s", line);
		n++;
	}
	fclose(f);
	assert_int_equal(n, 3);

	/* a bad line is kept aside for the operator */
	f = fopen(path, "a");
	fputs("nonsense\n", f);
	fclose(f);
	assert_int_equal(grants_new(&back, 4, LIFE), 0);
	assert_int_equal(grants_attach(back, dir, T0, err, sizeof(err)), 0);
	assert_int_equal(grants_get_stats(back)->bad_lines, 1);
	grants_free(back);
	snprintf(path, sizeof(path), "%s/grants/grants.bad", dir);
	assert_int_equal(stat(path, &sb), 0);
	unlink(path);

	/* a table that is not a regular file: refused at start and by the
	 * listing, each naming the file and why */
	snprintf(path, sizeof(path), "%s/grants/grants", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(grants_new(&back, 4, LIFE), 0);
	assert_int_equal(grants_attach(back, dir, T0, err, sizeof(err)),
	    SL_ESYS);
	assert_non_null(strstr(err, "grants/grants: not a regular file"));
	grants_free(back);
	f = tmpfile();
	assert_int_not_equal(grants_list(dir, f, T0, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "grants/grants: not a regular file"));
	fclose(f);
	assert_int_equal(rmdir(path), 0);

	/* group-accessible directory: refused, with the fix named */
	snprintf(path, sizeof(path), "%s/grants", dir);
	chmod(path, 0750);
	assert_int_equal(grants_new(&back, 4, LIFE), 0);
	assert_int_not_equal(grants_attach(back, dir, T0, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "chmod 700"));
	grants_free(back);
	/* a symbolic link in its place: refused */
	snprintf(line, sizeof(line), "%s/grants.real", dir);
	assert_int_equal(rename(path, line), 0);
	assert_int_equal(symlink(line, path), 0);
	chmod(line, 0700);
	assert_int_equal(grants_new(&back, 4, LIFE), 0);
	assert_int_not_equal(grants_attach(back, dir, T0, err, sizeof(err)), 0);
	grants_free(back);

	unlink(path);
	snprintf(path, sizeof(path), "%s/grants.real/grants", dir);
	unlink(path);
	rmdir(line);
	rmdir(dir);
}

/* Read a whole file (NULL if missing). */
static char *
slurp_path(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "r"), *m;
	int c;

	if (f == NULL)
		return NULL;
	m = open_memstream(&buf, &len);
	assert_non_null(m);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(f);
	fclose(m);
	return buf;
}

/*
 * Fail closed when the file cannot be written (grants.tmp made a directory,
 * so every save fails as on a full disk): a begun grant is undone before
 * its constructor could run, an extension keeps the expiry on disk, and a
 * regrant goes back to being revoked on its old schedule; once the file
 * can be written again, the table is, and extensions work.
 */
static void
test_save_fails(void **state)
{
	char dir[] = "/tmp/sl_test_grants_XXXXXX", tmp[256], file[256];
	char err[512], *text;
	struct grants *gt, *back;
	struct grant *g, *l;
	struct sl_addr a = ip4(1), b = ip4(2);
	const char *why;
	int64_t exp;

	(void)state;
	log_init("test", 1, 0);
	assert_non_null(mkdtemp(dir));
	snprintf(tmp, sizeof(tmp), "%s/grants/grants.tmp", dir);
	snprintf(file, sizeof(file), "%s/grants/grants", dir);
	assert_int_equal(grants_new(&gt, 4, LIFE), 0);
	assert_int_equal(grants_attach(gt, dir, T0, err, sizeof(err)), 0);
	l = make(gt, "gw", 1, 1, a, T0);
	assert_int_equal(grants_save(gt), 0);
	exp = l->expires_ms;

	assert_int_equal(mkdir(tmp, 0700), 0);
	/* a new grant: begun, not written, undone; nothing is left */
	g = grants_begin(gt, "gw", "alice", 1, "ssh", 1, &b, &why);
	assert_non_null(g);
	assert_int_equal(grants_save(gt), SL_ESYS);
	assert_true(grants_dirty(gt));
	assert_int_equal(grants_save_errno(gt), EISDIR);
	grants_abort(gt, g);
	assert_null(grants_find(gt, "gw", 1, 1, &b));
	assert_int_equal(grants_count(gt, GS_FREE), 1);
	/* an extension that cannot be written does not count */
	assert_int_equal(grants_extend(gt, l, T0 + 100000, IVL), SL_ESYS);
	assert_int_equal(l->expires_ms, exp);
	assert_int_equal(l->extensions, 0);
	assert_int_equal(grants_get_stats(gt)->extended, 0);
	assert_int_equal(grants_get_stats(gt)->save_failed, 2);
	/* the file still holds the first grant only, with its expiry */
	text = slurp_path(file);
	assert_non_null(text);
	assert_non_null(strstr(text, "\nlive gw 1 alice 1 ssh 192.0.2.1 "));
	assert_null(strstr(text, "192.0.2.2"));
	free(text);

	/* written again once it can be; then extensions count */
	assert_int_equal(rmdir(tmp), 0);
	grants_flush(gt);
	assert_false(grants_dirty(gt));
	assert_int_equal(grants_extend(gt, l, T0 + 100000, IVL), 1);
	assert_int_equal(l->expires_ms, T0 + 100000 + IVL * 1000);
	assert_int_equal(grants_new(&back, 4, LIFE), 0);
	assert_int_equal(grants_attach(back, dir, T0 + 1000, err,
	    sizeof(err)), 0);
	g = grants_find(back, "gw", 1, 1, &a);
	assert_non_null(g);
	assert_int_equal(g->expires_ms, T0 + 100000 + IVL * 1000);
	assert_null(grants_find(back, "gw", 1, 1, &b));
	grants_free(back);

	/* a regrant undone: still owed, on the schedule it had */
	assert_ptr_equal(grants_due(gt, T0 + 100000 + IVL * 1000), l);
	grants_revoking(gt, l);
	grants_revoked(gt, l, false, T0 + 100000 + IVL * 1000);
	exp = l->next_ms;
	g = grants_begin(gt, "gw", "alice", 1, "ssh", 1, &a, &why);
	assert_ptr_equal(g, l);
	assert_true(g->regrant);
	grants_abort(gt, g);
	assert_int_equal(g->state, GS_REVOKE);
	assert_false(g->regrant);
	assert_int_equal(g->next_ms, exp);
	assert_int_equal(g->attempts, 1);
	/* only a pending entry is undone */
	grants_abort(gt, g);
	assert_int_equal(g->state, GS_REVOKE);
	grants_free(gt);

	unlink(file);
	snprintf(tmp, sizeof(tmp), "%s/grants", dir);
	rmdir(tmp);
	rmdir(dir);
}

/* The opaque table: made once, its slots walked by index. */
static void
test_new_and_slots(void **state)
{
	struct grants *gt;
	struct sl_addr a = ip4(9);
	struct grant *g;
	unsigned i, n = 0;

	(void)state;
	gt = (struct grants *)(void *)&n;   /* anything but NULL */
	assert_int_equal(grants_new(&gt, 0, LIFE), SL_EINVAL);
	assert_null(gt);
	grants_free(NULL);
	assert_int_equal(grants_new(&gt, 3, LIFE), 0);
	assert_int_equal(grants_slots(gt), 3);
	assert_null(grants_slot(gt, 3));
	assert_int_equal(grants_dirfd(gt), -1);
	assert_false(grants_dirty(gt));
	g = make(gt, "gw", 1, 1, a, T0);
	for (i = 0; i < grants_slots(gt); i++)
		if (grants_slot(gt, i)->state != GS_FREE) {
			assert_ptr_equal(grants_slot(gt, i), g);
			n++;
		}
	assert_int_equal(n, 1);
	assert_int_equal(grants_get_stats(gt)->granted, 1);
	grants_free(gt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_and_slots),
		cmocka_unit_test(test_make_and_lapse),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_extend_and_cap),
		cmocka_unit_test(test_constructor_fails),
		cmocka_unit_test(test_destructor_retry),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_revoke_all),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_file_larger_than_max),
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_save_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
