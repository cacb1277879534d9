/*
 * test_log.c - log_format = json: one object per line, strings escaped
 * (quotes, backslashes, control bytes), unknown outcome fields null, a
 * long message cut without breaking the object; text lines unchanged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "sl.h"

static char path[] = "/tmp/sl_test_log_XXXXXX";
static char buf[16384];

/* Everything logged since the last call. */
static const char *
logged(void)
{
	static off_t seen;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	n = pread(fd, buf, sizeof(buf) - 1, seen);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	seen += n;
	return buf;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
test_text(void **state)
{
	(void)state;
	log_set_json(0);
	log_msg(LOG_NOTICE, 201, "plain %s", "line");
	/* "2026-...Z notice SL201 plain line\n" */
	assert_non_null(strstr(logged(), "Z notice SL201 plain line\n"));
}

static void
test_json(void **state)
{
	const struct log_outcome o = { "192.0.2.1", "main", NULL, "open",
	    "rejected", "hmac" };
	const char *s;

	(void)state;
	log_set_json(1);
	log_msg(LOG_WARNING, 5, "a\"b\\c\td\x01" "e\xc3\xa9");
	s = logged();
	assert_int_equal(s[0], '{');
	assert_non_null(strstr(s, "\"level\":\"warning\",\"code\":\"SL005\","
	    "\"message\":\"a\\\"b\\\\c\\u0009d\\u0001e\\u00c3\\u00a9\"}\n"));
	assert_non_null(strstr(s, "\"time\":\"20"));
	assert_null(strstr(s, "\"outcome\""));  /* not an outcome line */
	log_outcome(0, LOG_NOTICE, 201, 0, &o, "rejected packet from %s",
	    "192.0.2.1");
	s = logged();
	assert_non_null(strstr(s, "\"message\":\"rejected packet from "
	    "192.0.2.1\",\"src\":\"192.0.2.1\",\"server\":\"main\",\"user\":"
	    "null,\"action\":\"open\",\"outcome\":\"rejected\",\"reason\":"
	    "\"hmac\"}\n"));
	assert_int_equal(count_lines(s), 1);
	log_set_json(0);
}

static void
test_json_long(void **state)
{
	static char big[5000];
	const char *s;
	size_t n;

	(void)state;
	memset(big, 0x01, sizeof(big) - 1);  /* six bytes each, escaped */
	log_set_json(1);
	log_msg(LOG_INFO, 8, "%s", big);
	s = logged();
	n = strlen(s);
	assert_int_equal(count_lines(s), 1);
	assert_true(n > 2000 && n < 6000);    /* cut, not overrun */
	assert_string_equal(s + n - 3, "\"}\n");  /* still closed */
	log_set_json(0);
}

/* failures are SL_E* codes, errno says why */
static void
test_errors(void **state)
{
	int fd;

	(void)state;
	errno = 0;
	assert_int_equal(log_set_file("/nonexistent/dir/x.log"), SL_ESYS);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(log_add_sink("/nonexistent/dir/x.log"), SL_ESYS);
	assert_int_equal(errno, ENOENT);
	assert_true((fd = dup(2)) >= 0);
	assert_int_equal(log_adopt(99, fd), SL_EINVAL);  /* fd closed */
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	/* the file of the suite is still the one written */
	log_msg(LOG_INFO, 8, "still here");
	assert_non_null(strstr(logged(), "still here"));
}

static int
setup(void **state)
{
	int fd;

	(void)state;
	if ((fd = mkstemp(path)) < 0)
		return -1;
	close(fd);
	log_init("test_log", 1, 0);  /* stderr too, and the file */
	return log_set_file(path) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	log_close();
	unlink(path);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_long),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
