/*
 * crypto.c - key files and RSA-2048 PKCS#1 v1.5 operations (OpenSSL 3 EVP
 * and decoder APIs only).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "b64.h"
#include "crypto.h"
#include "util.h"

/* the largest key files taken (as before: under 16 KiB, under 512 bytes) */
#define KEYFILE_MAX 16383
#define HMACFILE_MAX 511

struct crypto_dec {
	EVP_PKEY_CTX *ctx;
	uint8_t scratch[SL_DGRAM_LEN];
};

/*
 * Read a whole key file of at most max bytes into *buf (freed by the
 * caller with sl_read_free_secret).  With check_perms, the mode and owner
 * are checked on the descriptor that was read (fstat), so there is no
 * window between check and read.
 */
static int
read_keyfile(const char *path, int check_perms, size_t max, char **buf,
    size_t *len, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	rc = sl_read_file(path, max, 0, buf, len, &st);
	if (rc == SL_ESYS) {
		sl_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return SL_ESYS;
	}
	if (rc != 0) {
		sl_seterr(err, errlen, "%s: %s", path, rc == SL_ETOOBIG ?
		    "file too large for a key" : sl_read_why(rc));
		return SL_EKEY;
	}
	if (check_perms && (st.st_mode & 077) != 0) {
		sl_seterr(err, errlen, "%s: readable or writable by group or others; "
		    "fix with: chmod 600 %s", path, path);
		rc = SL_EPERM;
	} else if (check_perms && st.st_uid != 0 && st.st_uid != geteuid()) {
		/* StrictModes, as sshd: root's, or the key of whoever runs us */
		sl_seterr(err, errlen, "%s: owned by uid %u, not by root%s; fix "
		    "with: chown root %s", path, (unsigned)st.st_uid,
		    geteuid() == 0 ? "" : " or the user running siglatchd",
		    path);
		rc = SL_EPERM;
	}
	if (rc != 0) {
		sl_read_free_secret(*buf, *len);
		*buf = NULL;
		*len = 0;
	}
	return rc;
}

static int
decode_rsa(const uint8_t *buf, size_t len, int selection, EVP_PKEY **out)
{
	OSSL_DECODER_CTX *dctx;
	const unsigned char *p = buf;
	size_t left = len;
	EVP_PKEY *pkey = NULL;
	int ok;

	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, "RSA",
	    selection, NULL, NULL);
	if (dctx == NULL)
		return SL_ECRYPTO;
	ok = OSSL_DECODER_from_data(dctx, &p, &left);
	OSSL_DECODER_CTX_free(dctx);
	ERR_clear_error();
	if (!ok || pkey == NULL) {
		EVP_PKEY_free(pkey);
		return SL_EKEY;
	}
	if (!EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_get_bits(pkey) != 2048) {
		EVP_PKEY_free(pkey);
		return SL_EKEY;
	}
	*out = pkey;
	return 0;
}

/* Does the file hold a public key (and no private one)?  For a better
 * message than "chmod 600" when one is given for a private key. */
static bool
is_public_key_file(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	bool pub = false;

	if (read_keyfile(path, 0, KEYFILE_MAX, &buf, &len, NULL, 0) == 0)
		pub = memmem(buf, len, "PRIVATE KEY-----", 16) == NULL &&
		    (memmem(buf, len, "-----BEGIN PUBLIC KEY-----", 26) != NULL ||
		    memmem(buf, len, "-----BEGIN RSA PUBLIC KEY-----", 30) !=
		    NULL);
	sl_read_free_secret(buf, len);
	return pub;
}

int
crypto_load_private(const char *path, int check_perms, EVP_PKEY **out,
    char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = read_keyfile(path, check_perms, KEYFILE_MAX, &buf, &len, err,
	    errlen);
	if ((rc == 0 || rc == SL_EPERM) && is_public_key_file(path)) {
		/* said first: a public key's mode is not the problem */
		sl_seterr(err, errlen, "%s: this is a public key; a private "
		    "key is needed here (siglatch-keygen server writes "
		    "server.priv.pem beside server.pub.pem)", path);
		rc = SL_EKEY;
	} else if (rc == 0) {
		rc = decode_rsa((uint8_t *)buf, len,
		    OSSL_KEYMGMT_SELECT_KEYPAIR, out);
		if (rc != 0)
			sl_seterr(err, errlen, "%s: %s", path, "not a PEM RSA-2048 "
			    "private key (PKCS#8 or PKCS#1)");
	}
	sl_read_free_secret(buf, len);
	return rc;
}

int
crypto_load_public(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = read_keyfile(path, 0, KEYFILE_MAX, &buf, &len, err, errlen);
	if (rc == 0) {
		rc = decode_rsa((uint8_t *)buf, len,
		    OSSL_KEYMGMT_SELECT_PUBLIC_KEY, out);
		if (rc != 0)
			sl_seterr(err, errlen, "%s: %s", path, "not a PEM RSA-2048 "
			    "public key (PUBLIC KEY or RSA PUBLIC KEY)");
	}
	free(buf);
	return rc;
}

int
crypto_parse_public(const uint8_t *buf, size_t len, EVP_PKEY **out)
{
	*out = NULL;
	return decode_rsa(buf, len, OSSL_KEYMGMT_SELECT_PUBLIC_KEY, out);
}

int
crypto_parse_hmac_key(const uint8_t *buf, size_t len,
    uint8_t key[SL_HMAC_KEY_LEN])
{
	uint8_t tmp[SL_HMAC_KEY_LEN], acc = 0;
	size_t i, nd = 0;
	int v, hex = 1, rc = SL_EKEY;

	/* 64 hex digits, spaces, tabs, CR and LF ignored */
	for (i = 0; i < len; i++) {
		if (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' ||
		    buf[i] == '\n')
			continue;
		if ((v = sl_hexval(buf[i])) < 0 || nd >= 2 * SL_HMAC_KEY_LEN) {
			hex = 0;
			break;
		}
		if (nd % 2 == 0)
			tmp[nd / 2] = (uint8_t)(v << 4);
		else
			tmp[nd / 2] |= (uint8_t)v;
		nd++;
	}
	if (hex && nd == 2 * SL_HMAC_KEY_LEN)
		rc = 0;
	else if (len == SL_HMAC_KEY_LEN) {
		memcpy(tmp, buf, SL_HMAC_KEY_LEN);
		rc = 0;
	}
	if (rc == 0) {
		for (i = 0; i < SL_HMAC_KEY_LEN; i++)
			acc |= tmp[i];
		if (acc == 0)
			rc = SL_EKEY; /* all-zero key refused */
		else
			memcpy(key, tmp, SL_HMAC_KEY_LEN);
	}
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return rc;
}

int
crypto_load_hmac_key(const char *path, int check_perms,
    uint8_t key[SL_HMAC_KEY_LEN], char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = read_keyfile(path, check_perms, HMACFILE_MAX, &buf, &len, err,
	    errlen);
	if (rc == 0 && (rc = crypto_parse_hmac_key((uint8_t *)buf, len,
	    key)) != 0)
		sl_seterr(err, errlen, "%s: %s", path, "not an HMAC key (32 raw "
		    "bytes or 64 hex digits, not all zero)");
	sl_read_free_secret(buf, len);
	return rc;
}

int
crypto_dec_new(EVP_PKEY *priv, struct crypto_dec **out)
{
	struct crypto_dec *d;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return SL_ESYS;
	if ((d->ctx = EVP_PKEY_CTX_new(priv, NULL)) == NULL ||
	    EVP_PKEY_decrypt_init(d->ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(d->ctx, RSA_PKCS1_PADDING) != 1) {
		ERR_clear_error();
		crypto_dec_free(d);
		return SL_ECRYPTO;
	}
	*out = d;
	return 0;
}

void
crypto_dec_free(struct crypto_dec *d)
{
	if (d == NULL)
		return;
	EVP_PKEY_CTX_free(d->ctx);
	OPENSSL_cleanse(d->scratch, sizeof(d->scratch));
	free(d);
}

int
crypto_dec_knock(struct crypto_dec *d, const uint8_t ct[SL_DGRAM_LEN],
    uint8_t pt[SL_PACKET_LEN])
{
	size_t outlen = sizeof(d->scratch);
	int ok, dec;

	dec = EVP_PKEY_decrypt(d->ctx, d->scratch, &outlen, ct, SL_DGRAM_LEN) == 1;
	ok = dec & (outlen == SL_PACKET_LEN);
	/*
	 * Copy the same number of bytes either way; on failure the result is
	 * a packet with version 0, which the parser refuses, and the caller
	 * goes on through the same steps.
	 */
	memcpy(pt, d->scratch, SL_PACKET_LEN);
	if (!ok) {
		ERR_clear_error();
		memset(pt, 0, SL_PACKET_LEN);
	}
	OPENSSL_cleanse(d->scratch, sizeof(d->scratch));
	/* which failure it was is for the log only (pipeline.c) */
	return ok ? 0 : dec ? SL_ELEN : SL_EDECRYPT;
}

int
crypto_enc_knock(EVP_PKEY *pub, const uint8_t pt[SL_PACKET_LEN],
    uint8_t ct[SL_DGRAM_LEN])
{
	EVP_PKEY_CTX *ctx;
	size_t outlen = SL_DGRAM_LEN;
	int rc = SL_ECRYPTO;

	if ((ctx = EVP_PKEY_CTX_new(pub, NULL)) == NULL)
		return SL_ECRYPTO;
	if (EVP_PKEY_encrypt_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_encrypt(ctx, ct, &outlen, pt, SL_PACKET_LEN) == 1 &&
	    outlen == SL_DGRAM_LEN)
		rc = 0;
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

int
crypto_random(void *buf, size_t len)
{
	if (len > INT32_MAX || RAND_bytes(buf, (int)len) != 1)
		return SL_ECRYPTO;
	return 0;
}

/* "PREFIX" and the unpadded base64 of SHA-256 over the given parts. */
static int
fp_sha256(const char *prefix, const void *a, size_t alen, const void *b,
    size_t blen, char *out, size_t outlen)
{
	uint8_t md[32];
	char enc[B64_ENC_LEN(32)];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx;
	size_t n;
	int rc = SL_ECRYPTO;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return SL_ECRYPTO;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, a, alen) == 1 &&
	    (blen == 0 || EVP_DigestUpdate(ctx, b, blen) == 1) &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == sizeof(md) &&
	    b64_encode(enc, sizeof(enc), md, sizeof(md)) > 0) {
		n = strcspn(enc, "=");
		enc[n] = '\0';
		rc = snprintf(out, outlen, "%s%s", prefix, enc) <
		    (int)outlen ? 0 : SL_ETOOBIG;
	}
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(md, sizeof(md));
	ERR_clear_error();
	return rc;
}

int
crypto_fp_pkey(EVP_PKEY *pkey, char *out, size_t outlen)
{
	unsigned char *der = NULL;
	int len, rc;

	/* the SubjectPublicKeyInfo, whether pkey holds the private half */
	if ((len = i2d_PUBKEY(pkey, &der)) <= 0) {
		ERR_clear_error();
		return SL_ECRYPTO;
	}
	rc = fp_sha256("SHA256:", der, (size_t)len, NULL, 0, out, outlen);
	OPENSSL_free(der);
	return rc;
}

#define FP_HMAC_LABEL "siglatch hmac key fingerprint v1"

int
crypto_fp_hmac(const uint8_t key[SL_HMAC_KEY_LEN], char *out, size_t outlen)
{
	/* the label with its NUL, then the key */
	return fp_sha256("HMAC-SHA256:", FP_HMAC_LABEL, sizeof(FP_HMAC_LABEL),
	    key, SL_HMAC_KEY_LEN, out, outlen);
}

int
crypto_fp_file(const char *path, char *out, size_t outlen, char *err,
    size_t errlen)
{
	uint8_t key[SL_HMAC_KEY_LEN], *u;
	EVP_PKEY *pkey = NULL;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if ((rc = read_keyfile(path, 0, KEYFILE_MAX, &buf, &len, err,
	    errlen)) != 0)
		goto out;
	u = (uint8_t *)buf;
	if (decode_rsa(u, len, OSSL_KEYMGMT_SELECT_KEYPAIR, &pkey) == 0 ||
	    decode_rsa(u, len, OSSL_KEYMGMT_SELECT_PUBLIC_KEY, &pkey) == 0)
		rc = crypto_fp_pkey(pkey, out, outlen);
	else if (crypto_parse_hmac_key(u, len, key) == 0)
		rc = crypto_fp_hmac(key, out, outlen);
	else {
		sl_seterr(err, errlen, "%s: not a PEM RSA-2048 key nor an HMAC "
		    "key", path);
		rc = SL_EKEY;
	}
	if (rc != 0 && rc != SL_EKEY)
		sl_seterr(err, errlen, "%s: %s", path, sl_strerror(rc));
out:
	EVP_PKEY_free(pkey);
	OPENSSL_cleanse(key, sizeof(key));
	sl_read_free_secret(buf, len);
	return rc;
}
