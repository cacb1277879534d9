/* test_b64_util.c - base64, the printable-ASCII check, number parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
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
	};

	return cmocka_run_group_tests_name("b64_util", tests, NULL, NULL);
}
