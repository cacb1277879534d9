/* test_b64_util.c - base64, the printable-ASCII check, number parsing,
 * error names, the whole-file reader. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "b64.h"
#include "sl.h"
#include "util.h"

static void
test_b64_rfc4648(void **state)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" }, { "hello-world", "aGVsbG8td29ybGQ=" },
	};
	char enc[64];
	uint8_t dec[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = strlen(v[i].in);

		assert_int_equal(b64_encode(enc, sizeof(enc),
		    (const uint8_t *)v[i].in, n), (int)strlen(v[i].out));
		assert_string_equal(enc, v[i].out);
		assert_int_equal(b64_decode(dec, sizeof(dec), v[i].out), (int)n);
		assert_memory_equal(dec, v[i].in, n);
	}
}

static void
test_b64_round_trip_all_lengths(void **state)
{
	uint8_t in[SL_PAYLOAD_MAX], out[SL_PAYLOAD_MAX];
	char enc[B64_ENC_LEN(SL_PAYLOAD_MAX)];
	size_t n, i;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (n = 0; n <= SL_PAYLOAD_MAX; n++) {
		assert_int_equal(b64_encode(enc, B64_ENC_LEN(n), in, n),
		    (int)(B64_ENC_LEN(n) - 1));
		assert_int_equal(b64_decode(out, sizeof(out), enc), (int)n);
		assert_memory_equal(in, out, n);
	}
	/* too small an output buffer */
	assert_int_equal(b64_encode(enc, B64_ENC_LEN(10) - 1, in, 10), SL_ETOOBIG);
	assert_int_equal(b64_decode(out, 2, "Zm9v"), SL_ETOOBIG);
}

static void
test_b64_decode_rejects(void **state)
{
	static const char *bad[] = {
		"Zg=", "Zg", "Z===", "Zm9v!A==", "=Zm9", "Zm=v", "Zh==", "Zm9=",
		"Zm 9v",
	};
	uint8_t out[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(b64_decode(out, sizeof(out), bad[i]) < 0);
}

static void
test_ascii(void **state)
{
	uint8_t b[SL_PAYLOAD_MAX];
	unsigned c;

	(void)state;
	assert_true(sl_is_printable_ascii((const uint8_t *)"", 0));
	assert_true(sl_is_printable_ascii((const uint8_t *)"hello world ~", 13));
	for (c = 0; c < 256; c++) {
		memset(b, 'a', sizeof(b));
		b[198] = (uint8_t)c;
		assert_int_equal(sl_is_printable_ascii(b, sizeof(b)),
		    c >= 0x20 && c <= 0x7e);
		b[0] = (uint8_t)c;
		b[198] = 'a';
		assert_int_equal(sl_is_printable_ascii(b, 1),
		    c >= 0x20 && c <= 0x7e);
	}
}

static void
test_parse_num_bool(void **state)
{
	static const struct { const char *s; long long min, max, v; int rc; } n[] = {
		{ "0", 0, 10, 0, 0 }, { "10", 0, 10, 10, 0 }, { "11", 0, 10, 0, SL_ETOOBIG },
		{ "-1", 0, 10, 0, SL_EINVAL }, { "+1", 0, 10, 0, SL_EINVAL },
		{ " 1", 0, 10, 0, SL_EINVAL }, { "1 ", 0, 10, 0, SL_EINVAL },
		{ "1x", 0, 10, 0, SL_EINVAL }, { "", 0, 10, 0, SL_EINVAL },
		{ "99999999999999999999", 0, 10, 0, SL_EINVAL },
		{ "-5", -10, 10, -5, 0 }, { "0x10", 0, 100, 0, SL_EINVAL },
	};
	static const struct { const char *s; int rc; bool v; } b[] = {
		{ "yes", 0, true }, { "no", 0, false }, { "1", 0, true },
		{ "0", 0, false }, { "YES", 0, true }, { "maybe", SL_EINVAL, false },
		{ "", SL_EINVAL, false },
	};
	long long v;
	bool bv;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		v = -999;
		assert_int_equal(sl_parse_num(n[i].s, n[i].min, n[i].max, &v),
		    n[i].rc);
		if (n[i].rc == 0)
			assert_int_equal(v, n[i].v);
	}
	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		assert_int_equal(sl_parse_bool(b[i].s, &bv), b[i].rc);
		if (b[i].rc == 0)
			assert_int_equal(bv, b[i].v);
	}
}

static void
test_strlcpy_trim(void **state)
{
	char buf[6], t[32];

	(void)state;
	assert_int_equal(sl_strlcpy(buf, "hello", sizeof(buf)), 0);
	assert_string_equal(buf, "hello");
	assert_int_equal(sl_strlcpy(buf, "hello!", sizeof(buf)), SL_ETOOBIG);
	assert_string_equal(buf, "hello");
	strcpy(t, " \t a b \t ");
	assert_string_equal(sl_trim(t), "a b");
	strcpy(t, "   ");
	assert_string_equal(sl_trim(t), "");
}

static void
test_strerror(void **state)
{
	int c;

	(void)state;
	/* every code has a name of its own */
	for (c = SL_EINVAL; c >= SL_ENOTSUP; c--)
		assert_string_not_equal(sl_strerror(c), "unknown error");
	assert_string_equal(sl_strerror(SL_ENOTSUP), "not supported here");
	assert_string_not_equal(sl_strerror(SL_ENOTSUP),
	    sl_strerror(SL_EDENIED));
	assert_string_equal(sl_strerror(SL_ENOTSUP - 1), "unknown error");
	/* SL_ESYS is errno's */
	errno = ENOENT;
	assert_string_equal(sl_strerror(SL_ESYS), strerror(ENOENT));
	errno = EACCES;
	assert_string_equal(sl_strerror(SL_ESYS), strerror(EACCES));
	errno = 0;
	assert_string_equal(sl_strerror(SL_ESYS), "system error");
}

/* path in a fresh directory under /tmp */
static char rf_dir[64];

static const char *
rf_path(const char *name)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/%s", rf_dir, name);
	return p;
}

static void
rf_write(const char *name, const char *text)
{
	FILE *f = fopen(rf_path(name), "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* the whole buffer, through a pipe smaller than it that a reader drains;
 * a failure is SL_ESYS with the write's errno */
static void
test_write_all(void **state)
{
	static uint8_t out[200000], in[sizeof(out)];
	size_t i, got = 0;
	ssize_t n;
	int p[2];
	pid_t pid;

	(void)state;
	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7);
	assert_int_equal(pipe(p), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		close(p[0]);
		_exit(sl_write_all(p[1], out, sizeof(out)) == 0 ? 0 : 1);
	}
	close(p[1]);
	while ((n = read(p[0], in + got, sizeof(in) - got)) > 0)
		got += (size_t)n;
	close(p[0]);
	assert_int_equal(got, sizeof(out));
	assert_memory_equal(in, out, sizeof(out));
	assert_int_equal(waitpid(pid, &p[0], 0), pid);
	assert_int_equal(p[0], 0);

	assert_int_equal(pipe(p), 0);
	errno = 0;
	assert_int_equal(sl_write_all(p[0], out, 10), SL_ESYS);  /* read end */
	assert_int_equal(errno, EBADF);
	assert_int_equal(sl_write_all(p[1], out, 0), 0);
	close(p[0]);
	close(p[1]);
}

static void
test_read_file(void **state)
{
	struct stat st;
	char *buf = (char *)"x", target[128];
	size_t len = 99;
	int fd;

	(void)state;
	strcpy(rf_dir, "/tmp/sl-readfile.XXXXXX");
	assert_non_null(mkdtemp(rf_dir));
	rf_write("five", "hello");
	rf_write("empty", "");
	/* whole file, NUL after it, the stat of what was read */
	assert_int_equal(sl_read_file(rf_path("five"), 5, 0, &buf, &len, &st),
	    0);
	assert_int_equal(len, 5);
	assert_string_equal(buf, "hello");
	assert_int_equal(st.st_size, 5);
	sl_read_free_secret(buf, len);
	assert_int_equal(sl_read_file(rf_path("empty"), 5, 0, &buf, &len,
	    NULL), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
	/* one byte over max */
	assert_int_equal(sl_read_file(rf_path("five"), 4, 0, &buf, &len,
	    NULL), SL_ETOOBIG);
	assert_null(buf);
	assert_int_equal(len, 0);
	assert_int_equal(errno, EFBIG);
	assert_string_equal(sl_read_why(SL_ETOOBIG), "too large");
	/* not a regular file: a directory, a FIFO (no wait for a writer) */
	assert_int_equal(sl_read_file(rf_dir, 1024, 0, &buf, &len, NULL),
	    SL_EINVAL);
	assert_null(buf);
	assert_int_equal(mkfifo(rf_path("fifo"), 0600), 0);
	assert_int_equal(sl_read_file(rf_path("fifo"), 1024, 0, &buf, &len,
	    NULL), SL_EINVAL);
	assert_null(buf);
	assert_string_equal(sl_read_why(SL_EINVAL), "not a regular file");
	/* missing: SL_ESYS with errno, named by sl_strerror */
	assert_int_equal(sl_read_file(rf_path("none"), 1024, 0, &buf, &len,
	    NULL), SL_ESYS);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(sl_read_why(SL_ESYS), strerror(ENOENT));
	/* a symlink: followed unless SL_READ_NOFOLLOW */
	snprintf(target, sizeof(target), "%s", rf_path("five"));
	assert_int_equal(symlink(target, rf_path("link")), 0);
	assert_int_equal(sl_read_file(rf_path("link"), 5, 0, &buf, &len,
	    NULL), 0);
	assert_string_equal(buf, "hello");
	free(buf);
	assert_int_equal(sl_read_file(rf_path("link"), 5, SL_READ_NOFOLLOW,
	    &buf, &len, NULL), SL_ESYS);
	assert_int_equal(errno, ELOOP);
	assert_null(buf);
	/* sl_read_fd reads from the start, whatever the offset */
	fd = open(rf_path("five"), O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 0, SEEK_END), 5);
	assert_int_equal(sl_read_fd(fd, 1024, &buf, &len, NULL), 0);
	assert_int_equal(len, 5);
	assert_string_equal(buf, "hello");
	free(buf);
	assert_int_equal(close(fd), 0);
	unlink(rf_path("link"));
	unlink(rf_path("fifo"));
	unlink(rf_path("empty"));
	unlink(rf_path("five"));
	assert_int_equal(rmdir(rf_dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_rfc4648),
		cmocka_unit_test(test_b64_round_trip_all_lengths),
		cmocka_unit_test(test_b64_decode_rejects),
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_parse_num_bool),
		cmocka_unit_test(test_strlcpy_trim),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_write_all),
		cmocka_unit_test(test_read_file),
	};

	return cmocka_run_group_tests_name("b64_util", tests, NULL, NULL);
}
