/*
 * fuzz_keys.c - the key-file readers on arbitrary bytes.
 *
 * crypto_parse_hmac_key() is checked against a reference written from
 * docs/PROTOCOL.md ("32 raw bytes, or 64 hex digits with spaces, tabs, CR
 * and LF ignored; all-zero refused").  The same bytes are then written to a
 * memfd and read through the real loaders by its /proc/self/fd path
 * (crypto_load_hmac_key, crypto_load_private, crypto_load_public), so the
 * PEM decoding is exactly the one siglatchd and knocker use, with no
 * change to src/ and no real file.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "fuzz.h"

#define HMAC_FILE_MAX 511   /* crypto_load_hmac_key reads at most this */
#define KEY_FILE_MAX  16383 /* crypto_load_private/public likewise */

static int mfd = -1;
static char mpath[64];
static char sentinel;
/* a loader must set *out: NULL on failure */
#define NOT_SET ((EVP_PKEY *)(void *)&sentinel)

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_SETUP((mfd = memfd_create("fuzz.key", MFD_CLOEXEC)) >= 0);
	snprintf(mpath, sizeof(mpath), "/proc/self/fd/%d", mfd);
	return 0;
}

static int
ref_hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
ref_parse_hmac_key(const uint8_t *buf, size_t len, uint8_t key[SL_HMAC_KEY_LEN])
{
	uint8_t k[SL_HMAC_KEY_LEN] = { 0 }, acc = 0;
	size_t i, nd = 0;
	int hex = 1;

	for (i = 0; i < len; i++) {
		if (strchr(" \t\r\n", buf[i]) != NULL && buf[i] != '\0')
			continue;
		if (ref_hexval(buf[i]) < 0) {
			hex = 0;
			break;
		}
		if (nd < 2 * SL_HMAC_KEY_LEN)
			k[nd / 2] |= (uint8_t)(ref_hexval(buf[i]) <<
			    (nd % 2 ? 0 : 4));
		nd++;
	}
	if (!(hex && nd == 2 * SL_HMAC_KEY_LEN)) {
		if (len != SL_HMAC_KEY_LEN)
			return SL_EKEY;
		memcpy(k, buf, SL_HMAC_KEY_LEN);
	}
	for (i = 0; i < SL_HMAC_KEY_LEN; i++)
		acc |= k[i];
	if (acc == 0)
		return SL_EKEY;
	memcpy(key, k, SL_HMAC_KEY_LEN);
	return 0;
}

static void
check_rsa(const EVP_PKEY *pk, int private)
{
	BIGNUM *d = NULL;

	FUZZ_CHECK(pk != NULL && pk != NOT_SET);
	FUZZ_CHECK(EVP_PKEY_is_a(pk, "RSA"));
	FUZZ_CHECK(EVP_PKEY_get_bits(pk) == 2048);
	if (private) {
		/* a private key loader never hands back a public key alone */
		FUZZ_CHECK(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_D,
		    &d) == 1 && d != NULL);
		BN_clear_free(d);
	}
	ERR_clear_error();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[SL_HMAC_KEY_LEN], ref[SL_HMAC_KEY_LEN], fkey[SL_HMAC_KEY_LEN];
	EVP_PKEY *pk = NOT_SET;
	char err[2048];
	int rc, rrc;

	/* from memory, against the reference */
	memset(key, 0xee, sizeof(key));
	rc = crypto_parse_hmac_key(data, size, key);
	rrc = ref_parse_hmac_key(data, size, ref);
	FUZZ_CHECK(rc == rrc);
	if (rc == 0)
		FUZZ_CHECK(memcmp(key, ref, sizeof(key)) == 0);

	/* the same bytes as a file, through the loaders */
	if (size > KEY_FILE_MAX + 1)
		return 0;
	FUZZ_CHECK(ftruncate(mfd, 0) == 0);
	FUZZ_CHECK(pwrite(mfd, data, size, 0) == (ssize_t)size);

	err[0] = '\0';
	rc = crypto_load_hmac_key(mpath, 0, fkey, err, sizeof(err));
	if (size <= HMAC_FILE_MAX) {
		FUZZ_CHECK(rc == rrc);
		if (rc == 0)
			FUZZ_CHECK(memcmp(fkey, ref, sizeof(fkey)) == 0);
	} else {
		FUZZ_CHECK(rc == SL_EKEY);
	}
	if (rc != 0)
		FUZZ_CHECK(strncmp(err, mpath, strlen(mpath)) == 0);

	err[0] = '\0';
	rc = crypto_load_private(mpath, 0, &pk, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == SL_EKEY);
	if (size > KEY_FILE_MAX)
		FUZZ_CHECK(rc == SL_EKEY);
	if (rc == 0)
		check_rsa(pk, 1);
	else
		FUZZ_CHECK(pk == NULL && strncmp(err, mpath,
		    strlen(mpath)) == 0);
	EVP_PKEY_free(pk);

	pk = NOT_SET;
	err[0] = '\0';
	rc = crypto_load_public(mpath, &pk, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == SL_EKEY);
	if (size > KEY_FILE_MAX)
		FUZZ_CHECK(rc == SL_EKEY);
	if (rc == 0)
		check_rsa(pk, 0);
	else
		FUZZ_CHECK(pk == NULL && strncmp(err, mpath,
		    strlen(mpath)) == 0);
	EVP_PKEY_free(pk);
	return 0;
}
