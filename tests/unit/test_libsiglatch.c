/*
 * test_libsiglatch.c - libsiglatch through its public header only
 * (include/siglatch.h; built with -Iinclude and nothing from src/): the
 * version, contexts from memory and from files, the sizes and argument
 * checks of both knocks, receipts refused when they are not the knock's,
 * and the fingerprint.  That a knock it builds is one the server takes
 * is t_libsiglatch.sh's part (a program linked against the shared
 * library, knocking the real siglatchd).
 *
 * Test vectors are read from $SL_VECTORS, default tests/vectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <siglatch.h>

static char pem[8192];
static size_t pem_len;
static char pub_path[512], key_path[512];
static const uint8_t key[SIGLATCH_HMAC_KEY_LEN] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

static int
setup(void **state)
{
	const char *dir = getenv("SL_VECTORS");
	FILE *f;

	(void)state;
	if (dir == NULL)
		dir = "tests/vectors";
	snprintf(pub_path, sizeof(pub_path), "%s/server.pub.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/user1.hmac.key", dir);
	if ((f = fopen(pub_path, "r")) == NULL)
		return -1;
	pem_len = fread(pem, 1, sizeof(pem) - 1, f);
	fclose(f);
	return pem_len > 0 ? 0 : -1;
}

static void
test_version(void **state)
{
	(void)state;
	assert_int_equal(siglatch_api_version(), SIGLATCH_API_VERSION);
	assert_non_null(siglatch_version());
	assert_string_equal(siglatch_strerror(SIGLATCH_OK), "success");
	assert_string_equal(siglatch_strerror(SIGLATCH_ESPACE),
	    "output buffer too small");
	assert_string_equal(siglatch_strerror(-999), "unknown error");
}

static void
test_ctx(void **state)
{
	static const uint8_t zero[SIGLATCH_HMAC_KEY_LEN];
	siglatch_ctx *c = (siglatch_ctx *)&c;

	(void)state;
	assert_int_equal(siglatch_ctx_new(&c, pem, pem_len, key), SIGLATCH_OK);
	assert_non_null(c);
	siglatch_ctx_free(c);
	assert_int_equal(siglatch_ctx_new(&c, pem, pem_len, zero),
	    SIGLATCH_EKEY);
	assert_null(c);
	assert_int_equal(siglatch_ctx_new(&c, "not a key", 9, key),
	    SIGLATCH_EKEY);
	assert_int_equal(siglatch_ctx_new(&c, pem, 0, key), SIGLATCH_EINVAL);
	assert_int_equal(siglatch_ctx_new(NULL, pem, pem_len, key),
	    SIGLATCH_EINVAL);
	assert_int_equal(siglatch_ctx_new_files(&c, pub_path, key_path),
	    SIGLATCH_OK);
	siglatch_ctx_free(c);
	assert_int_equal(siglatch_ctx_new_files(&c, pub_path,
	    "/nonexistent/key"), SIGLATCH_EIO);
	assert_int_equal(siglatch_ctx_new_files(&c, key_path, key_path),
	    SIGLATCH_EKEY);
	siglatch_ctx_free(NULL);
}

static void
test_knocks(void **state)
{
	uint8_t buf[SIGLATCH_KNOCK_MAX], buf2[SIGLATCH_KNOCK_MAX];
	uint8_t payload[SIGLATCH_PAYLOAD_MAX + 1];
	siglatch_ctx *c;
	size_t n = 0;

	(void)state;
	memset(payload, 'p', sizeof(payload));
	assert_int_equal(siglatch_ctx_new(&c, pem, pem_len, key), SIGLATCH_OK);
	assert_int_equal(siglatch_knock1(c, 10, 1, "hi", 2, 0, buf, sizeof(buf),
	    &n), SIGLATCH_OK);
	assert_int_equal(n, SIGLATCH_KNOCK1_LEN);
	/* random challenge and OAEP: never the same twice */
	assert_int_equal(siglatch_knock1(c, 10, 1, "hi", 2, 0, buf2,
	    sizeof(buf2), &n), SIGLATCH_OK);
	assert_memory_not_equal(buf, buf2, SIGLATCH_KNOCK1_LEN);
	assert_int_equal(siglatch_knock1(c, 10, 1, payload,
	    SIGLATCH_PAYLOAD_MAX, 0, buf, SIGLATCH_KNOCK1_LEN, &n), SIGLATCH_OK);
	assert_int_equal(siglatch_knock1(c, 10, 1, payload,
	    SIGLATCH_PAYLOAD_MAX + 1, 0, buf, sizeof(buf), &n), SIGLATCH_EINVAL);
	assert_int_equal(siglatch_knock1(c, 10, 1, NULL, 0, 0, buf,
	    SIGLATCH_KNOCK1_LEN - 1, &n), SIGLATCH_ESPACE);
	assert_int_equal(siglatch_knock1(c, 10, 1, NULL, 3, 0, buf,
	    sizeof(buf), &n), SIGLATCH_EINVAL);
	assert_int_equal(siglatch_knock1(c, 10, 1, NULL, 0,
	    (uint64_t)1 << 33, buf, sizeof(buf), &n), SIGLATCH_EINVAL);

	assert_int_equal(siglatch_knock2(c, 10, 1, "hi", 2, NULL, 0, 0, buf,
	    sizeof(buf), &n), SIGLATCH_OK);
	assert_int_equal(n, SIGLATCH_KNOCK2_LEN);
	assert_int_equal(siglatch_knock2(c, 10, 1, NULL, 0, "192.0.2.7",
	    SIGLATCH_F_RECEIPT, 0, buf, SIGLATCH_KNOCK2_LEN, &n), SIGLATCH_OK);
	assert_int_equal(siglatch_knock2(c, 10, 1, NULL, 0, "2001:db8::7", 0, 0,
	    buf, sizeof(buf), &n), SIGLATCH_OK);
	assert_int_equal(siglatch_knock2(c, 10, 1, NULL, 0, "not-an-ip", 0, 0,
	    buf, sizeof(buf), &n), SIGLATCH_EINVAL);
	assert_int_equal(siglatch_knock2(c, 10, 1, NULL, 0, "224.0.0.1", 0, 0,
	    buf, sizeof(buf), &n), SIGLATCH_EINVAL);
	assert_int_equal(siglatch_knock2(c, 10, 1, NULL, 0, NULL, 0x80, 0, buf,
	    sizeof(buf), &n), SIGLATCH_EINVAL);
	assert_int_equal(siglatch_knock2(c, 10, 1, NULL, 0, NULL, 0, 0, buf,
	    SIGLATCH_KNOCK2_LEN - 1, &n), SIGLATCH_ESPACE);
	assert_int_equal(siglatch_knock2(NULL, 10, 1, NULL, 0, NULL, 0, 0, buf,
	    sizeof(buf), &n), SIGLATCH_EINVAL);
	siglatch_ctx_free(c);
}

static void
test_receipts(void **state)
{
	uint8_t buf[SIGLATCH_KNOCK_MAX], junk[SIGLATCH_RECEIPT_LEN];
	struct siglatch_receipt r;
	siglatch_ctx *c;
	size_t n;

	(void)state;
	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(siglatch_ctx_new(&c, pem, pem_len, key), SIGLATCH_OK);
	assert_int_equal(siglatch_receipt_open(c, junk, sizeof(junk), &r),
	    SIGLATCH_ENOKNOCK);
	/* a knock that asks for none: still nothing to open */
	assert_int_equal(siglatch_knock2(c, 10, 1, NULL, 0, NULL, 0, 0, buf,
	    sizeof(buf), &n), SIGLATCH_OK);
	assert_int_equal(siglatch_receipt_open(c, junk, sizeof(junk), &r),
	    SIGLATCH_ENOKNOCK);
	assert_int_equal(siglatch_knock2(c, 10, 1, NULL, 0, NULL,
	    SIGLATCH_F_RECEIPT, 0, buf, sizeof(buf), &n), SIGLATCH_OK);
	assert_int_equal(siglatch_receipt_open(c, junk, sizeof(junk), &r),
	    SIGLATCH_ERECEIPT);
	assert_int_equal(siglatch_receipt_open(c, junk, sizeof(junk) - 1, &r),
	    SIGLATCH_ERECEIPT);
	assert_int_equal(siglatch_receipt_open(c, buf, SIGLATCH_KNOCK2_LEN, &r),
	    SIGLATCH_ERECEIPT);
	assert_int_equal(siglatch_receipt_open(c, NULL, 0, &r),
	    SIGLATCH_ERECEIPT);
	assert_int_equal(siglatch_receipt_open(c, junk, sizeof(junk), NULL),
	    SIGLATCH_EINVAL);
	siglatch_ctx_free(c);
}

static void
test_fingerprint(void **state)
{
	char fp[SIGLATCH_FP_LEN], fp2[SIGLATCH_FP_LEN];
	siglatch_ctx *c, *d;

	(void)state;
	assert_int_equal(siglatch_ctx_new(&c, pem, pem_len, key), SIGLATCH_OK);
	assert_int_equal(siglatch_ctx_new_files(&d, pub_path, key_path),
	    SIGLATCH_OK);
	assert_int_equal(siglatch_fingerprint(c, fp, sizeof(fp)), SIGLATCH_OK);
	/* the vector key's, as siglatch-keygen fingerprint prints it */
	assert_string_equal(fp,
	    "SHA256:owCqlq4AUTZAawasQG3o4y4ijWmhERVObhJ1oU0gDCc");
	/* the server key's, whatever the user key */
	assert_int_equal(siglatch_fingerprint(d, fp2, sizeof(fp2)), SIGLATCH_OK);
	assert_string_equal(fp, fp2);
	assert_int_equal(siglatch_fingerprint(c, fp, SIGLATCH_FP_LEN - 1),
	    SIGLATCH_ESPACE);
	siglatch_ctx_free(c);
	siglatch_ctx_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_ctx),
		cmocka_unit_test(test_knocks),
		cmocka_unit_test(test_receipts),
		cmocka_unit_test(test_fingerprint),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
