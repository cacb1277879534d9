/*
 * knock2.h - knock format 2 (docs/PROTOCOL.md, "Format 2"): the datagram,
 * its keys, tag, MAC, key wrap, AEAD body and the receipt.
 *
 * Datagram (K2_DGRAM_LEN = 559 bytes, fields in this order, no padding):
 *
 *   tag[8] | wrap[256] | body[247] | body_tag[16] | mac[32]
 *
 *   tag   = HMAC-SHA256(K_tag, BE64(floor(timestamp / 30)))[0..8)
 *   wrap  = RSA-OAEP(SHA-256, MGF1-SHA-256, no label)(server key, CK[32])
 *   body  = ChaCha20-Poly1305(K_body, nonce 0^12, aad tag|wrap)(inner)
 *   mac   = HMAC-SHA256(K_mac, tag | wrap | body | body_tag)
 *
 * K_tag and K_mac come from the user's 32-byte HMAC key by HKDF-SHA256;
 * K_body and K_rcpt from the random content key CK by HKDF-Expand.  The
 * inner plaintext (247 bytes, big-endian) is
 *
 *   version u8 = 2 | flags u8 | user_id u16 | action_id u8 | family u8 |
 *   payload_len u16 | timestamp u64 | nonce[16] | address[16] |
 *   payload[199]
 *
 * Every function returns 0 or a negative SL_E* code.  Contexts are made
 * once, so nothing is allocated per datagram by this code; secrets that
 * pass through a context are cleansed before the call returns.
 */
#ifndef SL_KNOCK2_H
#define SL_KNOCK2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#include "addr.h"
#include "sl.h"

#define K2_VERSION        2
#define K2_EPOCH_SECS     30
#define K2_TAG_LEN        8
#define K2_WRAP_LEN       256   /* RSA-2048 */
#define K2_CK_LEN         32    /* content key, inside the wrap */
#define K2_KEY_LEN        32    /* every derived key */
#define K2_NONCE_LEN      16
#define K2_PAYLOAD_MAX    SL_PAYLOAD_MAX       /* 199, as in format 1 */
#define K2_INNER_HDR_LEN  48
#define K2_INNER_LEN      (K2_INNER_HDR_LEN + K2_PAYLOAD_MAX) /* 247 */
#define K2_AEAD_TAG_LEN   16
#define K2_MAC_LEN        32

#define K2_OFF_TAG        0
#define K2_OFF_WRAP       (K2_OFF_TAG + K2_TAG_LEN)           /* 8 */
#define K2_OFF_BODY       (K2_OFF_WRAP + K2_WRAP_LEN)         /* 264 */
#define K2_OFF_BODY_TAG   (K2_OFF_BODY + K2_INNER_LEN)        /* 511 */
#define K2_OFF_MAC        (K2_OFF_BODY_TAG + K2_AEAD_TAG_LEN) /* 527 */
#define K2_DGRAM_LEN      (K2_OFF_MAC + K2_MAC_LEN)           /* 559 */

/* inner flags */
#define K2_F_RECEIPT      0x01  /* the sender wants a receipt */
#define K2_F_KNOWN        K2_F_RECEIPT

/* inner address families */
#define K2_FAM_NONE       0     /* "the source address of this datagram" */
#define K2_FAM_IPV4       4
#define K2_FAM_IPV6       6

/* Receipt: ChaCha20-Poly1305(K_rcpt, 0^12, aad = the knock's mac) of
 *   version u8 = 2 | status u8 | reason u8 | reserved u8 = 0 |
 *   value u32 | server_time u64                              (16 bytes) */
#define K2_RECEIPT_PT_LEN 16
#define K2_RECEIPT_LEN    (K2_RECEIPT_PT_LEN + K2_AEAD_TAG_LEN) /* 32 */

enum k2_status {
	K2_ST_DONE = 0,     /* value: seconds the grant has left, 0 if none */
	K2_ST_FAILED = 1,   /* value: exit status, or 256 + signal, or
	                     * K2_VAL_NOT_STARTED */
	K2_ST_REFUSED = 2,  /* reason says why; value 0 */
	K2_ST_BUSY = 3,     /* no script slot free; value 0 */
};
#define K2_ST_MAX K2_ST_BUSY
#define K2_VAL_NOT_STARTED 0xffffffffu

enum k2_reason {
	K2_R_NONE = 0,
	K2_R_DENIED = 1,    /* action not permitted (lists, allowed_ips) */
	K2_R_PAYLOAD = 2,   /* payload refused (require_ascii) */
};
#define K2_R_MAX K2_R_PAYLOAD

/* The two keys a user's HMAC key gives format 2. */
struct k2_userkeys {
	uint8_t tag_key[K2_KEY_LEN];
	uint8_t mac_key[K2_KEY_LEN];
};

struct k2_inner {
	uint8_t flags;              /* K2_F_* */
	uint16_t user_id;
	uint8_t action_id;
	bool has_addr;              /* false: K2_FAM_NONE */
	struct sl_addr addr;        /* the address the knock is for */
	uint16_t payload_len;
	uint64_t timestamp;         /* Unix seconds */
	uint8_t nonce[K2_NONCE_LEN];
	uint8_t payload[K2_PAYLOAD_MAX];
};

struct k2_receipt {
	uint8_t status;             /* enum k2_status */
	uint8_t reason;             /* enum k2_reason */
	uint32_t value;
	uint64_t server_time;
};

/* HKDF-SHA256(salt "siglatch knock v2", ikm key, info "tag" / "mac"). */
int k2_derive_user(const uint8_t key[SL_HMAC_KEY_LEN], struct k2_userkeys *out);
uint64_t k2_epoch(uint64_t timestamp);
/* May a knock name this address?  Not an unspecified, multicast,
 * reserved (240/4) or broadcast one. */
bool k2_addr_grantable(const struct sl_addr *a);

/*
 * A reusable HMAC-SHA256 context (tags, MACs, key expansion).  Functions
 * that take one accept NULL (a temporary context is made: clients, tests).
 */
struct k2_hmac;
int k2_hmac_new(struct k2_hmac **out);
void k2_hmac_free(struct k2_hmac *h);

int k2_tag(struct k2_hmac *h, const uint8_t tag_key[K2_KEY_LEN],
    uint64_t epoch, uint8_t tag[K2_TAG_LEN]);
/* mac over dgram[0 .. K2_OFF_MAC). */
int k2_mac(struct k2_hmac *h, const uint8_t mac_key[K2_KEY_LEN],
    const uint8_t dgram[K2_DGRAM_LEN], uint8_t mac[K2_MAC_LEN]);
/* Constant-time check of dgram's mac: 0, or SL_EAUTH. */
int k2_mac_verify(struct k2_hmac *h, const uint8_t mac_key[K2_KEY_LEN],
    const uint8_t dgram[K2_DGRAM_LEN]);
/* The same check with a context bound to one K_mac (made once per user:
 * the receive path's hot loop). */
int k2_mac_keyed_new(const uint8_t mac_key[K2_KEY_LEN], struct k2_hmac **out);
int k2_mac_verify_keyed(struct k2_hmac *h, const uint8_t dgram[K2_DGRAM_LEN]);
/* K_body and K_rcpt from the content key (HKDF-Expand, CK as the PRK). */
int k2_content_keys(struct k2_hmac *h, const uint8_t ck[K2_CK_LEN],
    uint8_t body_key[K2_KEY_LEN], uint8_t rcpt_key[K2_KEY_LEN]);

/* The inner plaintext.  encode: SL_EINVAL for an unknown flag, a payload
 * over 199 bytes or an address k2_addr_grantable refuses (an IPv4-mapped
 * IPv6 address is written as IPv4).  decode: SL_EVERSION, SL_EPARSE
 * (unknown flag or family, non-zero unused address or padding bytes, an
 * IPv4-mapped IPv6 address, an address k2_addr_grantable refuses,
 * payload_len > 199). */
int k2_inner_encode(uint8_t out[K2_INNER_LEN], const struct k2_inner *in);
int k2_inner_decode(struct k2_inner *out, const uint8_t in[K2_INNER_LEN]);

/*
 * Client: build a whole datagram.  ck NULL: a fresh random content key
 * (tests pass one to get a reproducible body).  rcpt_key (may be NULL)
 * receives the key that opens this knock's receipt; mac (may be NULL) the
 * datagram's mac, the receipt's associated data.
 */
int k2_seal(EVP_PKEY *server_pub, const struct k2_userkeys *uk,
    const struct k2_inner *in, const uint8_t *ck,
    uint8_t dgram[K2_DGRAM_LEN], uint8_t *rcpt_key, uint8_t *mac);

/* The deterministic part of k2_seal: everything but the RSA-OAEP
 * encryption, with the wrap given (test vectors). */
int k2_seal_wrapped(const struct k2_userkeys *uk, const struct k2_inner *in,
    const uint8_t ck[K2_CK_LEN], const uint8_t wrap[K2_WRAP_LEN],
    uint8_t dgram[K2_DGRAM_LEN], uint8_t *rcpt_key, uint8_t *mac);

/*
 * Server: a reusable context bound to one private key, for a datagram
 * whose mac has verified: unwrap (SL_EDECRYPT), open the body (SL_EAUTH),
 * decode (SL_EVERSION, SL_EPARSE).  rcpt_key receives K_rcpt.
 */
struct k2_open;
int k2_open_new(EVP_PKEY *priv, struct k2_open **out);
void k2_open_free(struct k2_open *o);
int k2_open(struct k2_open *o, const uint8_t dgram[K2_DGRAM_LEN],
    struct k2_inner *in, uint8_t rcpt_key[K2_KEY_LEN]);

/* A reusable AEAD context for receipts; NULL: a temporary one. */
EVP_CIPHER_CTX *k2_aead_new(void);
void k2_aead_free(EVP_CIPHER_CTX *c);
int k2_receipt_seal(EVP_CIPHER_CTX *c, const uint8_t rcpt_key[K2_KEY_LEN],
    const uint8_t knock_mac[K2_MAC_LEN], const struct k2_receipt *r,
    uint8_t out[K2_RECEIPT_LEN]);
/* SL_ELEN for a wrong size, SL_EAUTH if it does not open under this key
 * and knock, SL_EPARSE if it opens but is malformed (version, reserved
 * byte, a status above 3, a reason with a status other than refused or
 * none with refused, a value with refused or busy).  seal: SL_EINVAL for
 * such a receipt. */
int k2_receipt_open(EVP_CIPHER_CTX *c, const uint8_t rcpt_key[K2_KEY_LEN],
    const uint8_t knock_mac[K2_MAC_LEN], const uint8_t *buf, size_t len,
    struct k2_receipt *r);

#endif
