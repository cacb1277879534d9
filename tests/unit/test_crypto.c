/* test_crypto.c - HMAC key file forms, key permissions, RSA round trip,
 * RSA plaintexts of the wrong length. */
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
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "crypto.h"

static const uint8_t key_bytes[32] = {
	0x79, 0xb6, 0xbd, 0xa7, 0x5f, 0x45, 0x7b, 0x35, 0x96, 0x10, 0x9f, 0xfd,
	0x25, 0xe0, 0xc3, 0xae, 0x14, 0x94, 0xe4, 0xbf, 0xb0, 0x05, 0x49, 0x4e,
	0xa0, 0xb7, 0x25, 0xda, 0x96, 0xcc, 0x7d, 0x4c,
};

static void
test_hmac_key_forms(void **state)
{
	static const struct {
		const char *text;
		int want;
	} cases[] = {
		{ "79b6bda75f457b3596109ffd25e0c3ae1494e4bfb005494ea0b725da96cc7d4c", 0 },
		{ "79b6bda75f457b3596109ffd25e0c3ae1494e4bfb005494ea0b725da96cc7d4c\n", 0 },
		{ "79B6BDA75F457B3596109FFD25E0C3AE1494E4BFB005494EA0B725DA96CC7D4C\r\n", 0 },
		{ "79b6 bda7 5f45 7b35 9610 9ffd 25e0 c3ae\n1494 e4bf b005 494e\ta0b7 25da 96cc 7d4c\n", 0 },
		{ "79b6bda75f457b3596109ffd25e0c3ae1494e4bfb005494ea0b725da96cc7d4", SL_EKEY },  /* 63 */
		{ "79b6bda75f457b3596109ffd25e0c3ae1494e4bfb005494ea0b725da96cc7d4c0", SL_EKEY }, /* 65 */
		{ "79b6bda75f457b3596109ffd25e0c3ae1494e4bfb005494ea0b725da96cc7d4g", SL_EKEY },
		{ "0000000000000000000000000000000000000000000000000000000000000000", SL_EKEY },
		{ "", SL_EKEY },
		{ "\n\n", SL_EKEY },
	};
	uint8_t key[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(key, 0, sizeof(key));
		assert_int_equal(crypto_parse_hmac_key((const uint8_t *)cases[i].text,
		    strlen(cases[i].text), key), cases[i].want);
		if (cases[i].want == 0)
			assert_memory_equal(key, key_bytes, 32);
	}
	/* 32 raw bytes */
	assert_int_equal(crypto_parse_hmac_key(key_bytes, 32, key), 0);
	assert_memory_equal(key, key_bytes, 32);
	/* 31 and 33 raw bytes, and 32 zero bytes */
	assert_int_equal(crypto_parse_hmac_key(key_bytes, 31, key), SL_EKEY);
	{
		uint8_t raw[33] = { 0 };

		memcpy(raw, key_bytes, 32);
		assert_int_equal(crypto_parse_hmac_key(raw, 33, key), SL_EKEY);
		memset(raw, 0, sizeof(raw));
		assert_int_equal(crypto_parse_hmac_key(raw, 32, key), SL_EKEY);
	}
}

static char tmpdir[64];

static void
write_file(const char *path, const void *data, size_t n, mode_t mode)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void
test_key_permissions(void **state)
{
	static const struct { mode_t mode; int want; } modes[] = {
		{ 0600, 0 }, { 0400, 0 }, { 0640, SL_EPERM }, { 0604, SL_EPERM },
		{ 0620, SL_EPERM }, { 0602, SL_EPERM }, { 0644, SL_EPERM },
	};
	char path[128], err[512];
	uint8_t key[32];
	EVP_PKEY *pk = NULL;
	FILE *f;
	uint8_t pem[4096];
	size_t n, i;

	(void)state;
	snprintf(path, sizeof(path), "%s/k.hmac", tmpdir);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		unlink(path);
		write_file(path, key_bytes, 32, modes[i].mode);
		err[0] = '\0';
		assert_int_equal(crypto_load_hmac_key(path, 1, key, err,
		    sizeof(err)), modes[i].want);
		if (modes[i].want != 0) {
			/* the message names the file and the fix */
			assert_non_null(strstr(err, path));
			assert_non_null(strstr(err, "chmod 600"));
		}
	}
	/* not checked when asked not to (the client side) */
	unlink(path);
	write_file(path, key_bytes, 32, 0644);
	assert_int_equal(crypto_load_hmac_key(path, 0, key, err, sizeof(err)), 0);

	f = fopen("tests/vectors/server.priv.pem", "rb");
	assert_non_null(f);
	n = fread(pem, 1, sizeof(pem), f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/priv.pem", tmpdir);
	write_file(path, pem, n, 0644);
	assert_int_equal(crypto_load_private(path, 1, &pk, err, sizeof(err)),
	    SL_EPERM);
	assert_null(pk);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(crypto_load_private(path, 1, &pk, err, sizeof(err)), 0);
	EVP_PKEY_free(pk);
	/* missing file: errno text and the name */
	assert_int_equal(crypto_load_private("/nonexistent/x.pem", 1, &pk, err,
	    sizeof(err)), SL_ESYS);
	assert_non_null(strstr(err, "/nonexistent/x.pem"));
	/* a public key is not a private key */
	assert_int_equal(crypto_load_private("tests/vectors/server.pub.pem", 0,
	    &pk, err, sizeof(err)), SL_EKEY);
}

static void
test_rsa_round_trip(void **state)
{
	EVP_PKEY *priv = NULL, *pub = NULL;
	struct crypto_dec *d = NULL;
	uint8_t pt[SL_PACKET_LEN], ct[SL_DGRAM_LEN], out[SL_PACKET_LEN];
	char err[256];

	(void)state;
	assert_int_equal(crypto_load_private("tests/vectors/server.priv.pem", 0,
	    &priv, err, sizeof(err)), 0);
	assert_int_equal(crypto_load_public("tests/vectors/server.pub.pem", &pub,
	    err, sizeof(err)), 0);
	assert_int_equal(crypto_dec_new(priv, &d), 0);
	assert_int_equal(crypto_random(pt, sizeof(pt)), 0);
	assert_int_equal(crypto_enc_knock(pub, pt, ct), 0);
	assert_int_equal(crypto_dec_knock(d, ct, out), 0);
	assert_memory_equal(pt, out, sizeof(pt));
	/* garbage: refused, and the output is the all-zero "bad" packet */
	ct[0] ^= 0x80;
	ct[100] ^= 0x01;
	assert_int_equal(crypto_dec_knock(d, ct, out), SL_EDECRYPT);
	assert_int_equal(out[0], 0);
	crypto_dec_free(d);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
}

/* A well-formed PKCS#1 v1.5 ciphertext of a plaintext shorter than a
 * packet: refused like garbage, the output all zero (nothing of the
 * decryption's scratch space leaks into the packet). */
static void
test_rsa_wrong_length(void **state)
{
	static const size_t lens[] = { SL_PACKET_LEN - 1, SL_PACKET_LEN - 11,
	    1, 0 };
	static const uint8_t zero[SL_PACKET_LEN];
	EVP_PKEY *priv = NULL, *pub = NULL;
	EVP_PKEY_CTX *ctx;
	struct crypto_dec *d = NULL;
	uint8_t pt[SL_PACKET_LEN], ct[SL_DGRAM_LEN], out[SL_PACKET_LEN];
	size_t i, ctlen;
	char err[256];

	(void)state;
	assert_int_equal(crypto_load_private("tests/vectors/server.priv.pem", 0,
	    &priv, err, sizeof(err)), 0);
	assert_int_equal(crypto_load_public("tests/vectors/server.pub.pem", &pub,
	    err, sizeof(err)), 0);
	assert_int_equal(crypto_dec_new(priv, &d), 0);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		/* a good packet first, so the scratch space holds one */
		assert_int_equal(crypto_random(pt, sizeof(pt)), 0);
		assert_int_equal(crypto_enc_knock(pub, pt, ct), 0);
		assert_int_equal(crypto_dec_knock(d, ct, out), 0);
		pt[0] = 1;
		ctx = EVP_PKEY_CTX_new(pub, NULL);
		assert_non_null(ctx);
		ctlen = sizeof(ct);
		assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_PADDING), 1);
		assert_int_equal(EVP_PKEY_encrypt(ctx, ct, &ctlen, pt, lens[i]),
		    1);
		assert_int_equal(ctlen, SL_DGRAM_LEN);
		EVP_PKEY_CTX_free(ctx);
		memset(out, 0xee, sizeof(out));
		/* it decrypted, to the wrong length: refused, and said so
		 * for the log (pipeline.c), never passed on */
		if (crypto_dec_knock(d, ct, out) != SL_ELEN)
			fail_msg("a %zu-byte plaintext was accepted", lens[i]);
		assert_memory_equal(out, zero, sizeof(out));
	}
	crypto_dec_free(d);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
}

static int
setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/sl-crypto-XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/k.hmac", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/priv.pem", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_key_forms),
		cmocka_unit_test(test_key_permissions),
		cmocka_unit_test(test_rsa_round_trip),
		cmocka_unit_test(test_rsa_wrong_length),
	};

	return cmocka_run_group_tests_name("crypto", tests, setup, teardown);
}
