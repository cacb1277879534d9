/*
 * test_stats.c - the counters file and its Prometheus form: each family
 * once with # HELP and # TYPE and its samples together, a server label
 * where counters are kept per server (then no unlabelled total), label
 * values escaped, names outside the table made safe, atomic writes, and
 * where a configured file goes (stats_target).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "sl.h"
#include "stats.h"

static struct stats_buf b;
static char out[65536];

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return n;
}

static void
test_text(void **state)
{
	(void)state;
	stats_begin(&b);
	stats_add(&b, "received", 3);
	stats_add_server(&b, "main", "received", 3);
	assert_non_null(strstr(b.text, "received=3\n"));
	/* a server's share is for the metrics only */
	assert_null(strstr(b.text, "main"));
	assert_int_equal(strncmp(b.text, "time=", 5), 0);
}

static void
test_prom_families(void **state)
{
	int n;

	(void)state;
	stats_begin(&b);
	stats_add(&b, "received", 7);
	stats_add(&b, "bad_length", 1);
	stats_add(&b, "rejected", 5);
	stats_add(&b, "rejected_hmac", 4);
	stats_add(&b, "rejected_decrypt", 1);
	stats_add(&b, "duplicate", 2);
	stats_add(&b, "replay_entries", 9);
	stats_add_server(&b, "a", "received", 4);
	stats_add_server(&b, "b", "received", 3);
	stats_add_server(&b, "a", "rejected_hmac", 4);
	stats_add_server(&b, "b", "rejected_hmac", 0);
	n = stats_format_prom(&b, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(out));
	/* one HELP and one TYPE per family, however many samples */
	assert_int_equal(count(out, "# TYPE siglatch_datagrams_dropped_total "
	    "counter\n"), 1);
	assert_int_equal(count(out, "# HELP siglatch_datagrams_dropped_total "),
	    1);
	/* bad_length and duplicate, together under it */
	assert_non_null(strstr(out, "# TYPE siglatch_datagrams_dropped_total "
	    "counter\nsiglatch_datagrams_dropped_total{reason=\"bad_length\"} "
	    "1\nsiglatch_datagrams_dropped_total{reason=\"duplicate\"} 2\n"));
	/* per server: the total is left out (sum() gives it) */
	assert_non_null(strstr(out,
	    "siglatch_datagrams_received_total{server=\"a\"} 4\n"
	    "siglatch_datagrams_received_total{server=\"b\"} 3\n"));
	assert_null(strstr(out, "siglatch_datagrams_received_total 7"));
	assert_non_null(strstr(out, "siglatch_knocks_rejected_reason_total{"
	    "server=\"a\",reason=\"hmac\"} 4\n"));
	/* no per-server share: the total, unlabelled */
	assert_non_null(strstr(out, "siglatch_knocks_rejected_total 5\n"));
	assert_non_null(strstr(out, "siglatch_knocks_rejected_reason_total{"
	    "reason=\"decrypt\"} 1\n"));
	/* gauges */
	assert_non_null(strstr(out, "# TYPE siglatch_replay_entries gauge\n"
	    "siglatch_replay_entries 9\n"));
	assert_non_null(strstr(out, "# TYPE siglatch_stats_time_seconds gauge\n"));
	/* a family with no samples is left out */
	assert_null(strstr(out, "siglatch_receipts_total"));
}

static void
test_prom_escape_and_other(void **state)
{
	(void)state;
	stats_begin(&b);
	stats_add_server(&b, "q\"u\\o", "accepted", 1);
	stats_add(&b, "new_counter2", 8);
	assert_true(stats_format_prom(&b, out, sizeof(out)) > 0);
	assert_non_null(strstr(out,
	    "siglatch_knocks_accepted_total{server=\"q\\\"u\\\\o\"} 1\n"));
	/* a name the table does not know: a counter, made [a-z_] */
	assert_non_null(strstr(out, "# TYPE siglatch_new_counter__total "
	    "counter\nsiglatch_new_counter__total 8\n"));
}

static void
test_prom_overflow(void **state)
{
	char small[64];
	unsigned i;

	(void)state;
	stats_begin(&b);
	stats_add(&b, "received", 1);
	assert_int_equal(stats_format_prom(&b, small, sizeof(small)),
	    SL_ETOOBIG);
	/* more entries than there is room for: marked, never overrun */
	for (i = 0; i < STATS_ENTRIES + 10; i++)
		stats_add_server(&b, "s", "received", i);
	assert_int_equal(b.n, STATS_ENTRIES);
	assert_true(b.overflow);
}

static void
test_write_and_target(void **state)
{
	char dir[] = "/tmp/sl_test_stats_XXXXXX", path[256], name[64];
	char err[256], buf[8192];
	struct stat st;
	ssize_t n;
	int dfd, fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* a bare name: in the base directory, through a descriptor */
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(stats_target("m.prom", dfd, "/nonexistent", &fd, name,
	    sizeof(name), err, sizeof(err)), 0);
	assert_string_equal(name, "m.prom");
	close(dfd);
	stats_begin(&b);
	stats_add(&b, "accepted", 2);
	assert_int_equal(stats_write_prom(fd, name, &b), 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/m.prom", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "siglatch_knocks_accepted_total 2\n"));
	snprintf(path, sizeof(path), "%s/m.prom.tmp", dir);
	assert_int_equal(access(path, F_OK), -1);
	/* a bare name with no base descriptor: the base directory */
	assert_int_equal(stats_target("x.prom", -1, dir, &fd, name,
	    sizeof(name), err, sizeof(err)), 0);
	close(fd);
	/* a path: its own directory */
	snprintf(path, sizeof(path), "%s/y.prom", dir);
	assert_int_equal(stats_target(path, -1, "/nonexistent", &fd, name,
	    sizeof(name), err, sizeof(err)), 0);
	assert_string_equal(name, "y.prom");
	close(fd);
	snprintf(path, sizeof(path), "%s/no/y.prom", dir);
	assert_int_equal(stats_target(path, -1, dir, &fd, name, sizeof(name),
	    err, sizeof(err)), SL_ESYS);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(err, "/no: No such file or directory"));
	assert_int_equal(stats_target("/x/", -1, dir, &fd, name, sizeof(name),
	    err, sizeof(err)), SL_EINVAL);
	snprintf(path, sizeof(path), "%s/m.prom", dir);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_prom_families),
		cmocka_unit_test(test_prom_escape_and_other),
		cmocka_unit_test(test_prom_overflow),
		cmocka_unit_test(test_write_and_target),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
