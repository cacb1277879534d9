/*
 * libsiglatch.c - the client library behind include/siglatch.h: the
 * packet building, sealing and receipt opening knocker does, on top of
 * wire.c (format 1), knock2.c (format 2) and crypto.c.  Built with
 * -fvisibility=hidden: only the siglatch_* functions below are exported.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "siglatch.h"
#include "libsiglatch_int.h"

#include "addr.h"
#include "crypto.h"
#include "knock2.h"
#include "sl.h"
#include "wire.h"

#define EXPORT __attribute__((visibility("default")))

struct siglatch_ctx {
	EVP_PKEY *pub;
	uint8_t key[SL_HMAC_KEY_LEN];
	struct k2_userkeys uk;
	EVP_CIPHER_CTX *aead;       /* receipts */
	int have_receipt;           /* rk and mac belong to the last knock */
	uint8_t rk[K2_KEY_LEN];
	uint8_t mac[K2_MAC_LEN];
};

/* The library's codes for the tree's SL_E* codes. */
static int
lib_err(int rc)
{
	switch (rc) {
	case 0:
		return SIGLATCH_OK;
	case SL_EINVAL:
	case SL_ETOOBIG:
		return SIGLATCH_EINVAL;
	case SL_EKEY:
	case SL_EPERM:
		return SIGLATCH_EKEY;
	case SL_ESYS:
	case SL_ENOENT:
		return SIGLATCH_EIO;
	case SL_EAUTH:
	case SL_ELEN:
		return SIGLATCH_ERECEIPT;
	default:
		return SIGLATCH_ECRYPTO;
	}
}

EXPORT int
siglatch_api_version(void)
{
	return SIGLATCH_API_VERSION;
}

EXPORT const char *
siglatch_version(void)
{
	return SL_VERSION;
}

EXPORT const char *
siglatch_strerror(int code)
{
	switch (code) {
	case SIGLATCH_OK:
		return "success";
	case SIGLATCH_EINVAL:
		return "invalid argument";
	case SIGLATCH_ESPACE:
		return "output buffer too small";
	case SIGLATCH_EKEY:
		return "unusable key";
	case SIGLATCH_ECRYPTO:
		return "crypto library failure";
	case SIGLATCH_ENOMEM:
		return "out of memory";
	case SIGLATCH_EIO:
		return "cannot read the key file";
	case SIGLATCH_ERECEIPT:
		return "not this knock's receipt";
	case SIGLATCH_ENOKNOCK:
		return "no knock asking for a receipt on this context";
	}
	return "unknown error";
}

/* Take ownership of pub; key is copied. */
int
siglatch_int_ctx_new(siglatch_ctx **out, EVP_PKEY *pub, const uint8_t *key)
{
	siglatch_ctx *c;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		EVP_PKEY_free(pub);
		return SIGLATCH_ENOMEM;
	}
	c->pub = pub;
	memcpy(c->key, key, sizeof(c->key));
	if ((rc = k2_derive_user(c->key, &c->uk)) != 0) {
		siglatch_ctx_free(c);
		return lib_err(rc);
	}
	if ((c->aead = k2_aead_new()) == NULL) {
		siglatch_ctx_free(c);
		return SIGLATCH_ENOMEM;
	}
	*out = c;
	return SIGLATCH_OK;
}

EXPORT int
siglatch_ctx_new(siglatch_ctx **out, const char *server_pub_pem,
    size_t pem_len, const uint8_t hmac_key[SIGLATCH_HMAC_KEY_LEN])
{
	EVP_PKEY *pub = NULL;
	uint8_t acc = 0;
	size_t i;
	int rc;

	if (out == NULL)
		return SIGLATCH_EINVAL;
	*out = NULL;
	if (server_pub_pem == NULL || hmac_key == NULL || pem_len == 0)
		return SIGLATCH_EINVAL;
	for (i = 0; i < SIGLATCH_HMAC_KEY_LEN; i++)
		acc |= hmac_key[i];
	if (acc == 0)
		return SIGLATCH_EKEY;   /* as crypto_parse_hmac_key: no zero key */
	if ((rc = crypto_parse_public((const uint8_t *)server_pub_pem, pem_len,
	    &pub)) != 0)
		return rc == SL_ECRYPTO ? SIGLATCH_ECRYPTO : SIGLATCH_EKEY;
	return siglatch_int_ctx_new(out, pub, hmac_key);
}

EXPORT int
siglatch_ctx_new_files(siglatch_ctx **out, const char *server_pub_path,
    const char *hmac_key_path)
{
	uint8_t key[SL_HMAC_KEY_LEN];
	EVP_PKEY *pub = NULL;
	char err[256];
	int rc;

	if (out == NULL)
		return SIGLATCH_EINVAL;
	*out = NULL;
	if (server_pub_path == NULL || hmac_key_path == NULL)
		return SIGLATCH_EINVAL;
	if ((rc = crypto_load_hmac_key(hmac_key_path, 0, key, err,
	    sizeof(err))) != 0)
		return lib_err(rc);
	if ((rc = crypto_load_public(server_pub_path, &pub, err,
	    sizeof(err))) != 0) {
		OPENSSL_cleanse(key, sizeof(key));
		return lib_err(rc);
	}
	rc = siglatch_int_ctx_new(out, pub, key);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

EXPORT void
siglatch_ctx_free(siglatch_ctx *ctx)
{
	if (ctx == NULL)
		return;
	EVP_PKEY_free(ctx->pub);
	k2_aead_free(ctx->aead);
	OPENSSL_cleanse(ctx, sizeof(*ctx));
	free(ctx);
}

_Static_assert(SIGLATCH_FP_LEN >= CRYPTO_FP_LEN,
    "SIGLATCH_FP_LEN holds a crypto_fp_pkey fingerprint");

/* The same fingerprint siglatch-keygen prints and the daemon logs. */
EXPORT int
siglatch_fingerprint(const siglatch_ctx *ctx, char *out, size_t outlen)
{
	if (ctx == NULL || out == NULL)
		return SIGLATCH_EINVAL;
	if (outlen < SIGLATCH_FP_LEN)
		return SIGLATCH_ESPACE;
	return crypto_fp_pkey(ctx->pub, out, outlen) == 0 ? SIGLATCH_OK :
	    SIGLATCH_ECRYPTO;
}

static uint64_t
now_or(uint64_t timestamp)
{
	return timestamp != 0 ? timestamp : (uint64_t)time(NULL);
}

EXPORT int
siglatch_knock1(siglatch_ctx *ctx, uint16_t user_id, uint8_t action_id,
    const void *payload, size_t payload_len, uint64_t timestamp,
    uint8_t *buf, size_t buflen, size_t *outlen)
{
	return siglatch_int_knock1(ctx, user_id, action_id, payload,
	    payload_len, timestamp, buf, buflen, outlen, NULL);
}

int
siglatch_int_knock1(siglatch_ctx *ctx, uint16_t user_id, uint8_t action_id,
    const void *payload, size_t payload_len, uint64_t timestamp,
    uint8_t *buf, size_t buflen, size_t *outlen, struct wire_knock *fields)
{
	uint8_t pt[SL_PACKET_LEN];
	struct wire_knock k;
	int rc;

	if (ctx == NULL || buf == NULL || outlen == NULL ||
	    (payload == NULL && payload_len > 0) ||
	    payload_len > SIGLATCH_PAYLOAD_MAX)
		return SIGLATCH_EINVAL;
	if (buflen < SIGLATCH_KNOCK1_LEN)
		return SIGLATCH_ESPACE;
	if ((timestamp = now_or(timestamp)) > UINT32_MAX)
		return SIGLATCH_EINVAL;     /* format 1 has 32 bits of time */
	memset(&k, 0, sizeof(k));
	k.version = SL_WIRE_VERSION;
	k.timestamp = (uint32_t)timestamp;
	k.user_id = user_id;
	k.action_id = action_id;
	k.payload_len = (uint16_t)payload_len;
	if (payload_len > 0)
		memcpy(k.payload, payload, payload_len);
	if ((rc = crypto_random(&k.challenge, sizeof(k.challenge))) == 0 &&
	    (rc = wire_hmac(NULL, k.hmac, ctx->key, &k)) == 0 &&
	    (rc = wire_encode(pt, sizeof(pt), &k)) == 0)
		rc = crypto_enc_knock(ctx->pub, pt, buf);
	if (rc == 0 && fields != NULL)
		*fields = k;
	OPENSSL_cleanse(pt, sizeof(pt));
	OPENSSL_cleanse(&k, sizeof(k));
	if (rc != 0)
		return lib_err(rc);
	*outlen = SIGLATCH_KNOCK1_LEN;
	return SIGLATCH_OK;
}

EXPORT int
siglatch_knock2(siglatch_ctx *ctx, uint16_t user_id, uint8_t action_id,
    const void *payload, size_t payload_len, const char *allow_ip,
    unsigned flags, uint64_t timestamp, uint8_t *buf, size_t buflen,
    size_t *outlen)
{
	struct sl_addr a;

	if (allow_ip != NULL && addr_parse(allow_ip, &a) != 0)
		return SIGLATCH_EINVAL;
	return siglatch_int_knock2(ctx, user_id, action_id, payload,
	    payload_len, allow_ip != NULL ? &a : NULL, flags, timestamp, buf,
	    buflen, outlen, NULL);
}

int
siglatch_int_knock2(siglatch_ctx *ctx, uint16_t user_id, uint8_t action_id,
    const void *payload, size_t payload_len, const struct sl_addr *addr,
    unsigned flags, uint64_t timestamp, uint8_t *buf, size_t buflen,
    size_t *outlen, struct k2_inner *fields)
{
	struct k2_inner in;
	int rc;

	if (ctx == NULL || buf == NULL || outlen == NULL ||
	    (payload == NULL && payload_len > 0) ||
	    payload_len > SIGLATCH_PAYLOAD_MAX ||
	    (flags & ~(unsigned)SIGLATCH_F_RECEIPT) != 0)
		return SIGLATCH_EINVAL;
	if (buflen < SIGLATCH_KNOCK2_LEN)
		return SIGLATCH_ESPACE;
	memset(&in, 0, sizeof(in));
	if (addr != NULL) {
		if (!k2_addr_grantable(addr))
			return SIGLATCH_EINVAL;
		in.addr = *addr;
		in.has_addr = true;
	}
	ctx->have_receipt = 0;
	OPENSSL_cleanse(ctx->rk, sizeof(ctx->rk));
	in.flags = (flags & SIGLATCH_F_RECEIPT) != 0 ? K2_F_RECEIPT : 0;
	in.user_id = user_id;
	in.action_id = action_id;
	in.timestamp = now_or(timestamp);
	in.payload_len = (uint16_t)payload_len;
	if (payload_len > 0)
		memcpy(in.payload, payload, payload_len);
	if ((rc = crypto_random(in.nonce, sizeof(in.nonce))) == 0)
		rc = k2_seal(ctx->pub, &ctx->uk, &in, NULL, buf, ctx->rk,
		    ctx->mac);
	if (rc == 0 && fields != NULL)
		*fields = in;
	OPENSSL_cleanse(&in, sizeof(in));
	if (rc != 0) {
		OPENSSL_cleanse(ctx->rk, sizeof(ctx->rk));
		return lib_err(rc);
	}
	ctx->have_receipt = (flags & SIGLATCH_F_RECEIPT) != 0;
	*outlen = SIGLATCH_KNOCK2_LEN;
	return SIGLATCH_OK;
}

EXPORT int
siglatch_receipt_open(siglatch_ctx *ctx, const uint8_t *buf, size_t len,
    struct siglatch_receipt *r)
{
	struct k2_receipt kr;
	int rc;

	if (ctx == NULL || (buf == NULL && len > 0) || r == NULL)
		return SIGLATCH_EINVAL;
	if (!ctx->have_receipt)
		return SIGLATCH_ENOKNOCK;
	if (len != SIGLATCH_RECEIPT_LEN)
		return SIGLATCH_ERECEIPT;
	if ((rc = k2_receipt_open(ctx->aead, ctx->rk, ctx->mac, buf, len,
	    &kr)) != 0)
		return rc == SL_EAUTH || rc == SL_ELEN || rc == SL_EPARSE ?
		    SIGLATCH_ERECEIPT : lib_err(rc);
	r->status = kr.status;
	r->reason = kr.reason;
	r->value = kr.value;
	r->server_time = kr.server_time;
	return SIGLATCH_OK;
}
