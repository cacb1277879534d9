/*
 * knock2.c - knock format 2: key derivation, tag, MAC, key wrap, AEAD body,
 * inner plaintext and receipt (layout in knock2.h, specification in
 * docs/PROTOCOL.md).  OpenSSL 3 EVP only.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "crypto.h"
#include "knock2.h"
#include "wire.h"

static const char k2_salt[] = "siglatch knock v2";
static const uint8_t k2_zero_nonce[12];

struct k2_hmac {
	EVP_MAC_CTX *mac;       /* HMAC-SHA256; only the key changes */
};

int
k2_hmac_new(struct k2_hmac **out)
{
	struct k2_hmac *h;
	EVP_MAC *mac;
	OSSL_PARAM params[2];

	*out = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return SL_ESYS;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	h->mac = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	EVP_MAC_free(mac);
	if (h->mac == NULL || EVP_MAC_CTX_set_params(h->mac, params) != 1) {
		ERR_clear_error();
		k2_hmac_free(h);
		return SL_ECRYPTO;
	}
	*out = h;
	return 0;
}

void
k2_hmac_free(struct k2_hmac *h)
{
	if (h == NULL)
		return;
	EVP_MAC_CTX_free(h->mac);
	free(h);
}

/* out = HMAC-SHA256(key, a | b): the one primitive behind tag, mac and
 * key expansion.  out holds 32 bytes. */
static int
k2_hmac2(struct k2_hmac *h, const uint8_t key[K2_KEY_LEN], const void *a,
    size_t alen, const void *b, size_t blen, uint8_t out[32])
{
	struct k2_hmac *own = NULL;
	size_t olen = 0;
	int rc = SL_ECRYPTO;

	if (h == NULL) {
		if ((rc = k2_hmac_new(&own)) != 0)
			return rc;
		h = own;
	}
	if (EVP_MAC_init(h->mac, key, K2_KEY_LEN, NULL) == 1 &&
	    EVP_MAC_update(h->mac, a, alen) == 1 &&
	    (blen == 0 || EVP_MAC_update(h->mac, b, blen) == 1) &&
	    EVP_MAC_final(h->mac, out, &olen, 32) == 1 && olen == 32)
		rc = 0;
	else
		ERR_clear_error();
	k2_hmac_free(own);
	return rc;
}

int
k2_derive_user(const uint8_t key[SL_HMAC_KEY_LEN], struct k2_userkeys *out)
{
	static const char *const info[2] = { "tag", "mac" };
	uint8_t *dst[2] = { out->tag_key, out->mac_key };
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx;
	OSSL_PARAM p[5];
	int i, rc = 0;

	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		return SL_ECRYPTO;
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		return SL_ECRYPTO;
	for (i = 0; i < 2 && rc == 0; i++) {
		p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
		    (char *)(uintptr_t)"SHA256", 0);
		p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
		    (void *)(uintptr_t)key, SL_HMAC_KEY_LEN);
		p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)(uintptr_t)k2_salt, sizeof(k2_salt) - 1);
		p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)(uintptr_t)info[i], strlen(info[i]));
		p[4] = OSSL_PARAM_construct_end();
		if (EVP_KDF_derive(kctx, dst[i], K2_KEY_LEN, p) != 1)
			rc = SL_ECRYPTO;
	}
	EVP_KDF_CTX_free(kctx);
	if (rc != 0) {
		ERR_clear_error();
		OPENSSL_cleanse(out, sizeof(*out));
	}
	return rc;
}

uint64_t
k2_epoch(uint64_t timestamp)
{
	return timestamp / K2_EPOCH_SECS;
}

int
k2_tag(struct k2_hmac *h, const uint8_t tag_key[K2_KEY_LEN], uint64_t epoch,
    uint8_t tag[K2_TAG_LEN])
{
	uint8_t e[8], full[32];
	struct wbuf w;
	int rc;

	wbuf_init(&w, e, sizeof(e));
	(void)wbuf_put_u64be(&w, epoch);
	if ((rc = k2_hmac2(h, tag_key, e, sizeof(e), NULL, 0, full)) == 0)
		memcpy(tag, full, K2_TAG_LEN);
	OPENSSL_cleanse(full, sizeof(full));
	return rc;
}

int
k2_mac(struct k2_hmac *h, const uint8_t mac_key[K2_KEY_LEN],
    const uint8_t dgram[K2_DGRAM_LEN], uint8_t mac[K2_MAC_LEN])
{
	return k2_hmac2(h, mac_key, dgram, K2_OFF_MAC, NULL, 0, mac);
}

int
k2_mac_verify(struct k2_hmac *h, const uint8_t mac_key[K2_KEY_LEN],
    const uint8_t dgram[K2_DGRAM_LEN])
{
	uint8_t mac[K2_MAC_LEN];
	int rc;

	if ((rc = k2_mac(h, mac_key, dgram, mac)) == 0 &&
	    CRYPTO_memcmp(mac, dgram + K2_OFF_MAC, K2_MAC_LEN) != 0)
		rc = SL_EAUTH;
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

int
k2_mac_keyed_new(const uint8_t mac_key[K2_KEY_LEN], struct k2_hmac **out)
{
	int rc;

	if ((rc = k2_hmac_new(out)) != 0)
		return rc;
	if (EVP_MAC_init((*out)->mac, mac_key, K2_KEY_LEN, NULL) != 1) {
		ERR_clear_error();
		k2_hmac_free(*out);
		*out = NULL;
		return SL_ECRYPTO;
	}
	return 0;
}

int
k2_mac_verify_keyed(struct k2_hmac *h, const uint8_t dgram[K2_DGRAM_LEN])
{
	uint8_t mac[K2_MAC_LEN];
	size_t olen = 0;
	int rc = SL_ECRYPTO;

	/* a NULL key restarts from the key's precomputed inner and outer
	 * states: two compression rounds fewer than setting it again */
	if (EVP_MAC_init(h->mac, NULL, 0, NULL) == 1 &&
	    EVP_MAC_update(h->mac, dgram, K2_OFF_MAC) == 1 &&
	    EVP_MAC_final(h->mac, mac, &olen, sizeof(mac)) == 1 &&
	    olen == sizeof(mac))
		rc = CRYPTO_memcmp(mac, dgram + K2_OFF_MAC, K2_MAC_LEN) == 0 ?
		    0 : SL_EAUTH;
	else
		ERR_clear_error();
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

int
k2_content_keys(struct k2_hmac *h, const uint8_t ck[K2_CK_LEN],
    uint8_t body_key[K2_KEY_LEN], uint8_t rcpt_key[K2_KEY_LEN])
{
	/* HKDF-Expand(PRK = CK, info, 32) is one HMAC of info | 0x01 */
	static const char ib[] = "siglatch v2 body", ir[] = "siglatch v2 receipt";
	static const uint8_t one = 1;
	int rc;

	if ((rc = k2_hmac2(h, ck, ib, sizeof(ib) - 1, &one, 1, body_key)) != 0 ||
	    (rc = k2_hmac2(h, ck, ir, sizeof(ir) - 1, &one, 1, rcpt_key)) != 0) {
		OPENSSL_cleanse(body_key, K2_KEY_LEN);
		OPENSSL_cleanse(rcpt_key, K2_KEY_LEN);
	}
	return rc;
}

static const uint8_t k2_v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0xff };

bool
k2_addr_grantable(const struct sl_addr *a)
{
	static const uint8_t zero[16];
	const uint8_t *b = a->bytes;

	if (a->family == AF_INET6 && memcmp(b, k2_v4mapped, 12) == 0)
		b += 12;  /* judged as the IPv4 address it is */
	else if (a->family == AF_INET6)
		return memcmp(b, zero, 16) != 0 && b[0] != 0xff;
	else if (a->family != AF_INET)
		return false;
	/* not 0.0.0.0/8, multicast 224/4, reserved 240/4 or broadcast */
	return b[0] != 0 && b[0] < 224;
}

int
k2_inner_encode(uint8_t out[K2_INNER_LEN], const struct k2_inner *in)
{
	static const uint8_t zero[K2_PAYLOAD_MAX];
	uint8_t addr[16], fam = K2_FAM_NONE;
	struct wbuf w;

	if (in->payload_len > K2_PAYLOAD_MAX || (in->flags & ~K2_F_KNOWN) != 0)
		return SL_EINVAL;
	memset(addr, 0, sizeof(addr));
	if (in->has_addr && !k2_addr_grantable(&in->addr))
		return SL_EINVAL;
	if (in->has_addr && in->addr.family == AF_INET6 &&
	    memcmp(in->addr.bytes, k2_v4mapped, 12) == 0) {
		/* an IPv4-mapped IPv6 address is always written as IPv4 */
		fam = K2_FAM_IPV4;
		memcpy(addr, in->addr.bytes + 12, 4);
	} else if (in->has_addr && in->addr.family == AF_INET) {
		fam = K2_FAM_IPV4;
		memcpy(addr, in->addr.bytes, 4);
	} else if (in->has_addr && in->addr.family == AF_INET6) {
		fam = K2_FAM_IPV6;
		memcpy(addr, in->addr.bytes, 16);
	} else if (in->has_addr)
		return SL_EINVAL;
	wbuf_init(&w, out, K2_INNER_LEN);
	if (wbuf_put_u8(&w, K2_VERSION) != 0 ||
	    wbuf_put_u8(&w, in->flags) != 0 ||
	    wbuf_put_u16be(&w, in->user_id) != 0 ||
	    wbuf_put_u8(&w, in->action_id) != 0 ||
	    wbuf_put_u8(&w, fam) != 0 ||
	    wbuf_put_u16be(&w, in->payload_len) != 0 ||
	    wbuf_put_u64be(&w, in->timestamp) != 0 ||
	    wbuf_put_bytes(&w, in->nonce, K2_NONCE_LEN) != 0 ||
	    wbuf_put_bytes(&w, addr, sizeof(addr)) != 0 ||
	    wbuf_put_bytes(&w, in->payload, in->payload_len) != 0 ||
	    wbuf_put_bytes(&w, zero, K2_PAYLOAD_MAX - in->payload_len) != 0)
		return SL_ELEN;
	return w.off == K2_INNER_LEN ? 0 : SL_ELEN;
}

/* 0 if n bytes at p are all zero (not secret: no constant time needed). */
static int
k2_all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	while (n-- > 0)
		acc |= *p++;
	return acc == 0 ? 0 : SL_EPARSE;
}

int
k2_inner_decode(struct k2_inner *out, const uint8_t in[K2_INNER_LEN])
{
	uint8_t version, fam, addr[16];
	struct rbuf r;

	memset(out, 0, sizeof(*out));
	rbuf_init(&r, in, K2_INNER_LEN);
	if (rbuf_get_u8(&r, &version) != 0 ||
	    rbuf_get_u8(&r, &out->flags) != 0 ||
	    rbuf_get_u16be(&r, &out->user_id) != 0 ||
	    rbuf_get_u8(&r, &out->action_id) != 0 ||
	    rbuf_get_u8(&r, &fam) != 0 ||
	    rbuf_get_u16be(&r, &out->payload_len) != 0 ||
	    rbuf_get_u64be(&r, &out->timestamp) != 0 ||
	    rbuf_get_bytes(&r, out->nonce, K2_NONCE_LEN) != 0 ||
	    rbuf_get_bytes(&r, addr, sizeof(addr)) != 0 ||
	    rbuf_get_bytes(&r, out->payload, K2_PAYLOAD_MAX) != 0 ||
	    rbuf_left(&r) != 0)
		goto bad;
	if (version != K2_VERSION) {
		memset(out, 0, sizeof(*out));
		return SL_EVERSION;
	}
	if ((out->flags & ~K2_F_KNOWN) != 0 ||
	    out->payload_len > K2_PAYLOAD_MAX ||
	    k2_all_zero(out->payload + out->payload_len,
	    K2_PAYLOAD_MAX - out->payload_len) != 0)
		goto bad;
	switch (fam) {
	case K2_FAM_NONE:
		if (k2_all_zero(addr, 16) != 0)
			goto bad;
		break;
	case K2_FAM_IPV4:
		if (k2_all_zero(addr + 4, 12) != 0)
			goto bad;
		out->has_addr = true;
		out->addr.family = AF_INET;
		memcpy(out->addr.bytes, addr, 4);
		break;
	case K2_FAM_IPV6:
		/* an IPv4-mapped IPv6 address is written as IPv4, always */
		if (memcmp(addr, k2_v4mapped, 12) == 0)
			goto bad;
		out->has_addr = true;
		out->addr.family = AF_INET6;
		memcpy(out->addr.bytes, addr, 16);
		break;
	default:
		goto bad;
	}
	if (out->has_addr && !k2_addr_grantable(&out->addr))
		goto bad;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return SL_EPARSE;
}

EVP_CIPHER_CTX *
k2_aead_new(void)
{
	return EVP_CIPHER_CTX_new();
}

void
k2_aead_free(EVP_CIPHER_CTX *c)
{
	EVP_CIPHER_CTX_free(c);
}

/* ChaCha20-Poly1305 with a key used once and the all-zero nonce. */
static int
k2_aead_seal(EVP_CIPHER_CTX *c, const uint8_t key[K2_KEY_LEN],
    const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t len,
    uint8_t *ct, uint8_t tag[K2_AEAD_TAG_LEN])
{
	EVP_CIPHER_CTX *own = NULL;
	int n = 0, rc = SL_ECRYPTO;

	if (c == NULL && (c = own = EVP_CIPHER_CTX_new()) == NULL)
		return SL_ECRYPTO;
	if (EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), NULL, key,
	    k2_zero_nonce) == 1 &&
	    EVP_EncryptUpdate(c, NULL, &n, aad, (int)aadlen) == 1 &&
	    EVP_EncryptUpdate(c, ct, &n, pt, (int)len) == 1 && n == (int)len &&
	    EVP_EncryptFinal_ex(c, ct + n, &n) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, K2_AEAD_TAG_LEN,
	    tag) == 1)
		rc = 0;
	else
		ERR_clear_error();
	EVP_CIPHER_CTX_free(own);
	return rc;
}

/* SL_EAUTH when the tag does not match; pt is then zeroed. */
static int
k2_aead_open(EVP_CIPHER_CTX *c, const uint8_t key[K2_KEY_LEN],
    const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t len,
    const uint8_t tag[K2_AEAD_TAG_LEN], uint8_t *pt)
{
	EVP_CIPHER_CTX *own = NULL;
	uint8_t t[K2_AEAD_TAG_LEN];
	int n = 0, rc = SL_EAUTH;

	if (c == NULL && (c = own = EVP_CIPHER_CTX_new()) == NULL)
		return SL_ECRYPTO;
	memcpy(t, tag, sizeof(t));
	if (EVP_DecryptInit_ex(c, EVP_chacha20_poly1305(), NULL, key,
	    k2_zero_nonce) == 1 &&
	    EVP_DecryptUpdate(c, NULL, &n, aad, (int)aadlen) == 1 &&
	    EVP_DecryptUpdate(c, pt, &n, ct, (int)len) == 1 && n == (int)len &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, K2_AEAD_TAG_LEN,
	    t) == 1 &&
	    EVP_DecryptFinal_ex(c, pt + n, &n) == 1)
		rc = 0;
	else {
		ERR_clear_error();
		OPENSSL_cleanse(pt, len);
	}
	EVP_CIPHER_CTX_free(own);
	return rc;
}

static int
k2_wrap(EVP_PKEY *pub, const uint8_t ck[K2_CK_LEN], uint8_t wrap[K2_WRAP_LEN])
{
	EVP_PKEY_CTX *ctx;
	size_t outlen = K2_WRAP_LEN;
	int rc = SL_ECRYPTO;

	if ((ctx = EVP_PKEY_CTX_new(pub, NULL)) == NULL)
		return SL_ECRYPTO;
	if (EVP_PKEY_get_bits(pub) == 2048 &&
	    EVP_PKEY_encrypt_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_encrypt(ctx, wrap, &outlen, ck, K2_CK_LEN) == 1 &&
	    outlen == K2_WRAP_LEN)
		rc = 0;
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

int
k2_seal_wrapped(const struct k2_userkeys *uk, const struct k2_inner *in,
    const uint8_t ck[K2_CK_LEN], const uint8_t wrap[K2_WRAP_LEN],
    uint8_t dgram[K2_DGRAM_LEN], uint8_t *rcpt_key, uint8_t *mac)
{
	uint8_t bk[K2_KEY_LEN], rk[K2_KEY_LEN], inner[K2_INNER_LEN];
	int rc;

	if (wrap != dgram + K2_OFF_WRAP)
		memmove(dgram + K2_OFF_WRAP, wrap, K2_WRAP_LEN);
	if ((rc = k2_inner_encode(inner, in)) != 0 ||
	    (rc = k2_tag(NULL, uk->tag_key, k2_epoch(in->timestamp),
	    dgram + K2_OFF_TAG)) != 0 ||
	    (rc = k2_content_keys(NULL, ck, bk, rk)) != 0 ||
	    (rc = k2_aead_seal(NULL, bk, dgram, K2_OFF_BODY, inner,
	    K2_INNER_LEN, dgram + K2_OFF_BODY, dgram + K2_OFF_BODY_TAG)) != 0 ||
	    (rc = k2_mac(NULL, uk->mac_key, dgram, dgram + K2_OFF_MAC)) != 0)
		goto out;
	if (rcpt_key != NULL)
		memcpy(rcpt_key, rk, K2_KEY_LEN);
	if (mac != NULL)
		memcpy(mac, dgram + K2_OFF_MAC, K2_MAC_LEN);
out:
	OPENSSL_cleanse(bk, sizeof(bk));
	OPENSSL_cleanse(rk, sizeof(rk));
	OPENSSL_cleanse(inner, sizeof(inner));
	return rc;
}

int
k2_seal(EVP_PKEY *server_pub, const struct k2_userkeys *uk,
    const struct k2_inner *in, const uint8_t *ck_in,
    uint8_t dgram[K2_DGRAM_LEN], uint8_t *rcpt_key, uint8_t *mac)
{
	uint8_t ck[K2_CK_LEN];
	int rc;

	if (ck_in != NULL)
		memcpy(ck, ck_in, sizeof(ck));
	else if ((rc = crypto_random(ck, sizeof(ck))) != 0)
		return rc;
	if ((rc = k2_wrap(server_pub, ck, dgram + K2_OFF_WRAP)) == 0)
		rc = k2_seal_wrapped(uk, in, ck, dgram + K2_OFF_WRAP, dgram,
		    rcpt_key, mac);
	OPENSSL_cleanse(ck, sizeof(ck));
	return rc;
}

struct k2_open {
	EVP_PKEY_CTX *rsa;      /* OAEP decryption, set up once */
	EVP_CIPHER_CTX *aead;
	struct k2_hmac *h;
	uint8_t scratch[K2_WRAP_LEN];
};

int
k2_open_new(EVP_PKEY *priv, struct k2_open **out)
{
	struct k2_open *o;
	int rc;

	*out = NULL;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return SL_ESYS;
	if ((rc = k2_hmac_new(&o->h)) != 0)
		goto fail;
	rc = SL_ECRYPTO;
	if ((o->aead = EVP_CIPHER_CTX_new()) == NULL ||
	    (o->rsa = EVP_PKEY_CTX_new(priv, NULL)) == NULL ||
	    EVP_PKEY_decrypt_init(o->rsa) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(o->rsa, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(o->rsa, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(o->rsa, EVP_sha256()) != 1)
		goto fail;
	*out = o;
	return 0;
fail:
	ERR_clear_error();
	k2_open_free(o);
	return rc;
}

void
k2_open_free(struct k2_open *o)
{
	if (o == NULL)
		return;
	EVP_PKEY_CTX_free(o->rsa);
	EVP_CIPHER_CTX_free(o->aead);
	k2_hmac_free(o->h);
	OPENSSL_cleanse(o->scratch, sizeof(o->scratch));
	free(o);
}

int
k2_open(struct k2_open *o, const uint8_t dgram[K2_DGRAM_LEN],
    struct k2_inner *in, uint8_t rcpt_key[K2_KEY_LEN])
{
	uint8_t bk[K2_KEY_LEN], inner[K2_INNER_LEN];
	size_t outlen = sizeof(o->scratch);
	int rc;

	memset(in, 0, sizeof(*in));
	if (EVP_PKEY_decrypt(o->rsa, o->scratch, &outlen, dgram + K2_OFF_WRAP,
	    K2_WRAP_LEN) != 1 || outlen != K2_CK_LEN) {
		ERR_clear_error();
		rc = SL_EDECRYPT;
		goto out;
	}
	if ((rc = k2_content_keys(o->h, o->scratch, bk, rcpt_key)) != 0 ||
	    (rc = k2_aead_open(o->aead, bk, dgram, K2_OFF_BODY,
	    dgram + K2_OFF_BODY, K2_INNER_LEN, dgram + K2_OFF_BODY_TAG,
	    inner)) != 0)
		goto out;
	rc = k2_inner_decode(in, inner);
out:
	if (rc != 0)
		OPENSSL_cleanse(rcpt_key, K2_KEY_LEN);
	OPENSSL_cleanse(o->scratch, sizeof(o->scratch));
	OPENSSL_cleanse(bk, sizeof(bk));
	OPENSSL_cleanse(inner, sizeof(inner));
	return rc;
}

/* status 2 carries a reason 1..K2_R_MAX and no value; every other
 * status reason 0; busy no value either. */
static bool
k2_receipt_valid(const struct k2_receipt *r)
{
	if (r->status > K2_ST_MAX)
		return false;
	if (r->status == K2_ST_REFUSED)
		return r->reason >= 1 && r->reason <= K2_R_MAX && r->value == 0;
	return r->reason == K2_R_NONE &&
	    (r->status != K2_ST_BUSY || r->value == 0);
}

int
k2_receipt_seal(EVP_CIPHER_CTX *c, const uint8_t rcpt_key[K2_KEY_LEN],
    const uint8_t knock_mac[K2_MAC_LEN], const struct k2_receipt *r,
    uint8_t out[K2_RECEIPT_LEN])
{
	uint8_t pt[K2_RECEIPT_PT_LEN];
	struct wbuf w;

	if (!k2_receipt_valid(r))
		return SL_EINVAL;
	wbuf_init(&w, pt, sizeof(pt));
	if (wbuf_put_u8(&w, K2_VERSION) != 0 ||
	    wbuf_put_u8(&w, r->status) != 0 ||
	    wbuf_put_u8(&w, r->reason) != 0 ||
	    wbuf_put_u8(&w, 0) != 0 ||
	    wbuf_put_u32be(&w, r->value) != 0 ||
	    wbuf_put_u64be(&w, r->server_time) != 0)
		return SL_ELEN;
	return k2_aead_seal(c, rcpt_key, knock_mac, K2_MAC_LEN, pt, sizeof(pt),
	    out, out + K2_RECEIPT_PT_LEN);
}

int
k2_receipt_open(EVP_CIPHER_CTX *c, const uint8_t rcpt_key[K2_KEY_LEN],
    const uint8_t knock_mac[K2_MAC_LEN], const uint8_t *buf, size_t len,
    struct k2_receipt *r)
{
	uint8_t pt[K2_RECEIPT_PT_LEN], version, reserved;
	struct rbuf rb;
	int rc;

	memset(r, 0, sizeof(*r));
	if (len != K2_RECEIPT_LEN)
		return SL_ELEN;
	if ((rc = k2_aead_open(c, rcpt_key, knock_mac, K2_MAC_LEN, buf,
	    K2_RECEIPT_PT_LEN, buf + K2_RECEIPT_PT_LEN, pt)) != 0)
		return rc;
	rbuf_init(&rb, pt, sizeof(pt));
	rc = SL_EPARSE;
	if (rbuf_get_u8(&rb, &version) == 0 &&
	    rbuf_get_u8(&rb, &r->status) == 0 &&
	    rbuf_get_u8(&rb, &r->reason) == 0 &&
	    rbuf_get_u8(&rb, &reserved) == 0 &&
	    rbuf_get_u32be(&rb, &r->value) == 0 &&
	    rbuf_get_u64be(&rb, &r->server_time) == 0 && rbuf_left(&rb) == 0 &&
	    version == K2_VERSION && reserved == 0 && k2_receipt_valid(r))
		rc = 0;
	else
		memset(r, 0, sizeof(*r));
	OPENSSL_cleanse(pt, sizeof(pt));
	return rc;
}
