/*
 * wire.c - KnockPacket v1 encode/decode and HMAC.
 *
 * Layout (245 bytes, little-endian, no padding):
 *   0 version u8 | 1 timestamp u32 | 5 user_id u16 | 7 action_id u8 |
 *   8 challenge u32 | 12 hmac[32] | 44 payload_len u16 | 46 payload[199]
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "wire.h"

/* The fields fill the packet exactly: wire_decode reads all of
 * SL_PACKET_LEN, so no byte is left over to check. */
_Static_assert(1 + 4 + 2 + 1 + 4 + SL_HMAC_LEN + 2 + SL_PAYLOAD_MAX ==
    SL_PACKET_LEN, "wire v1 fields do not add up to SL_PACKET_LEN");

void
rbuf_init(struct rbuf *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
}

size_t
rbuf_left(const struct rbuf *r)
{
	return r->len - r->off;
}

int
rbuf_get_bytes(struct rbuf *r, void *dst, size_t n)
{
	if (rbuf_left(r) < n)
		return SL_ELEN;
	memcpy(dst, r->p + r->off, n);
	r->off += n;
	return 0;
}

int
rbuf_get_u8(struct rbuf *r, uint8_t *v)
{
	if (rbuf_left(r) < 1)
		return SL_ELEN;
	*v = r->p[r->off++];
	return 0;
}

int
rbuf_get_u16le(struct rbuf *r, uint16_t *v)
{
	if (rbuf_left(r) < 2)
		return SL_ELEN;
	*v = (uint16_t)(r->p[r->off] | (uint16_t)r->p[r->off + 1] << 8);
	r->off += 2;
	return 0;
}

int
rbuf_get_u32le(struct rbuf *r, uint32_t *v)
{
	const uint8_t *p;

	if (rbuf_left(r) < 4)
		return SL_ELEN;
	p = r->p + r->off;
	*v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
	r->off += 4;
	return 0;
}

int
rbuf_get_u16be(struct rbuf *r, uint16_t *v)
{
	if (rbuf_left(r) < 2)
		return SL_ELEN;
	*v = (uint16_t)((uint16_t)r->p[r->off] << 8 | r->p[r->off + 1]);
	r->off += 2;
	return 0;
}

int
rbuf_get_u32be(struct rbuf *r, uint32_t *v)
{
	const uint8_t *p;

	if (rbuf_left(r) < 4)
		return SL_ELEN;
	p = r->p + r->off;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
	    (uint32_t)p[3];
	r->off += 4;
	return 0;
}

int
rbuf_get_u64be(struct rbuf *r, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (rbuf_left(r) < 8)
		return SL_ELEN;
	for (i = 0; i < 8; i++)
		x = x << 8 | r->p[r->off + i];
	*v = x;
	r->off += 8;
	return 0;
}

void
wbuf_init(struct wbuf *w, void *p, size_t len)
{
	w->p = p;
	w->len = len;
	w->off = 0;
}

int
wbuf_put_bytes(struct wbuf *w, const void *src, size_t n)
{
	if (w->len - w->off < n)
		return SL_ELEN;
	memcpy(w->p + w->off, src, n);
	w->off += n;
	return 0;
}

int
wbuf_put_u8(struct wbuf *w, uint8_t v)
{
	return wbuf_put_bytes(w, &v, 1);
}

int
wbuf_put_u16le(struct wbuf *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	return wbuf_put_bytes(w, b, sizeof(b));
}

int
wbuf_put_u32le(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 24) };

	return wbuf_put_bytes(w, b, sizeof(b));
}

int
wbuf_put_u16be(struct wbuf *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return wbuf_put_bytes(w, b, sizeof(b));
}

int
wbuf_put_u32be(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	return wbuf_put_bytes(w, b, sizeof(b));
}

int
wbuf_put_u64be(struct wbuf *w, uint64_t v)
{
	uint8_t b[8];
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	return wbuf_put_bytes(w, b, sizeof(b));
}

int
wire_decode(struct wire_knock *k, const uint8_t *buf, size_t len)
{
	struct rbuf r;
	int rc;

	memset(k, 0, sizeof(*k));
	if (len != SL_PACKET_LEN)
		return SL_ELEN;
	rbuf_init(&r, buf, len);
	if ((rc = rbuf_get_u8(&r, &k->version)) != 0 ||
	    (rc = rbuf_get_u32le(&r, &k->timestamp)) != 0 ||
	    (rc = rbuf_get_u16le(&r, &k->user_id)) != 0 ||
	    (rc = rbuf_get_u8(&r, &k->action_id)) != 0 ||
	    (rc = rbuf_get_u32le(&r, &k->challenge)) != 0 ||
	    (rc = rbuf_get_bytes(&r, k->hmac, sizeof(k->hmac))) != 0 ||
	    (rc = rbuf_get_u16le(&r, &k->payload_len)) != 0 ||
	    (rc = rbuf_get_bytes(&r, k->payload, sizeof(k->payload))) != 0)
		return rc;
	if (k->version != SL_WIRE_VERSION)
		return SL_EVERSION;
	if (k->payload_len > SL_PAYLOAD_MAX) {
		/* keep the struct safe to hash: never trust the length */
		k->payload_len = 0;
		return SL_EPARSE;
	}
	return 0;
}

int
wire_encode(uint8_t *buf, size_t len, const struct wire_knock *k)
{
	static const uint8_t zero[SL_PAYLOAD_MAX];
	struct wbuf w;
	int rc;

	if (len != SL_PACKET_LEN || k->payload_len > SL_PAYLOAD_MAX)
		return SL_EINVAL;
	wbuf_init(&w, buf, len);
	if ((rc = wbuf_put_u8(&w, k->version)) != 0 ||
	    (rc = wbuf_put_u32le(&w, k->timestamp)) != 0 ||
	    (rc = wbuf_put_u16le(&w, k->user_id)) != 0 ||
	    (rc = wbuf_put_u8(&w, k->action_id)) != 0 ||
	    (rc = wbuf_put_u32le(&w, k->challenge)) != 0 ||
	    (rc = wbuf_put_bytes(&w, k->hmac, sizeof(k->hmac))) != 0 ||
	    (rc = wbuf_put_u16le(&w, k->payload_len)) != 0 ||
	    (rc = wbuf_put_bytes(&w, k->payload, k->payload_len)) != 0 ||
	    (rc = wbuf_put_bytes(&w, zero, SL_PAYLOAD_MAX - k->payload_len)) != 0)
		return rc;
	return w.off == SL_PACKET_LEN ? 0 : SL_ELEN;
}

struct wire_mac {
	EVP_MD *sha256;       /* fetched once */
	EVP_MD_CTX *md;
	EVP_MAC_CTX *mac;     /* HMAC, digest set once; only the key changes */
};

void
wire_mac_free(struct wire_mac *m)
{
	if (m == NULL)
		return;
	EVP_MAC_CTX_free(m->mac);
	EVP_MD_CTX_free(m->md);
	EVP_MD_free(m->sha256);
	free(m);
}

int
wire_mac_new(struct wire_mac **out)
{
	struct wire_mac *m;
	EVP_MAC *mac;
	OSSL_PARAM params[2];

	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return SL_ESYS;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	m->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	m->md = EVP_MD_CTX_new();
	m->mac = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	EVP_MAC_free(mac); /* the context keeps its own reference */
	if (m->sha256 == NULL || m->md == NULL || m->mac == NULL ||
	    EVP_MAC_CTX_set_params(m->mac, params) != 1) {
		wire_mac_free(m);
		return SL_ECRYPTO;
	}
	*out = m;
	return 0;
}

int
wire_hmac(struct wire_mac *m, uint8_t out[SL_HMAC_LEN],
    const uint8_t key[SL_HMAC_KEY_LEN], const struct wire_knock *k)
{
	uint8_t hdr[14], digest[32];
	unsigned int dlen = 0;
	size_t mlen = 0;
	struct wbuf w;
	uint16_t plen = k->payload_len <= SL_PAYLOAD_MAX ? k->payload_len : 0;
	struct wire_mac *own = NULL;
	int rc;

	if (m == NULL) {
		if ((rc = wire_mac_new(&own)) != 0)
			return rc;
		m = own;
	}
	rc = SL_ECRYPTO;
	/* the signed fields in wire encoding, without the hmac itself */
	wbuf_init(&w, hdr, sizeof(hdr));
	if (wbuf_put_u8(&w, k->version) != 0 ||
	    wbuf_put_u32le(&w, k->timestamp) != 0 ||
	    wbuf_put_u16le(&w, k->user_id) != 0 ||
	    wbuf_put_u8(&w, k->action_id) != 0 ||
	    wbuf_put_u32le(&w, k->challenge) != 0 ||
	    wbuf_put_u16le(&w, k->payload_len) != 0)
		goto out;
	if (EVP_DigestInit_ex(m->md, m->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(m->md, hdr, sizeof(hdr)) != 1 ||
	    EVP_DigestUpdate(m->md, k->payload, plen) != 1 ||
	    EVP_DigestFinal_ex(m->md, digest, &dlen) != 1 ||
	    dlen != sizeof(digest))
		goto out;
	if (EVP_MAC_init(m->mac, key, SL_HMAC_KEY_LEN, NULL) != 1 ||
	    EVP_MAC_update(m->mac, digest, sizeof(digest)) != 1 ||
	    EVP_MAC_final(m->mac, out, &mlen, SL_HMAC_LEN) != 1 ||
	    mlen != SL_HMAC_LEN)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(digest, sizeof(digest));
	wire_mac_free(own);
	return rc;
}

int
wire_verify(struct wire_mac *m, const uint8_t key[SL_HMAC_KEY_LEN],
    const struct wire_knock *k)
{
	uint8_t want[SL_HMAC_LEN];
	int rc;

	rc = wire_hmac(m, want, key, k);
	if (rc == 0 && CRYPTO_memcmp(want, k->hmac, SL_HMAC_LEN) != 0)
		rc = SL_EAUTH;
	OPENSSL_cleanse(want, sizeof(want));
	return rc == 0 ? 0 : SL_EAUTH;
}
