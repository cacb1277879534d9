/*
 * wire.h - the 245-byte KnockPacket of wire v1, read and written field by
 * field in little-endian order through a bounds-checked buffer, and its HMAC.
 */
#ifndef SL_WIRE_H
#define SL_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include "sl.h"

struct wire_knock {
	uint8_t  version;
	uint32_t timestamp;
	uint16_t user_id;
	uint8_t  action_id;
	uint32_t challenge;
	uint8_t  hmac[SL_HMAC_LEN];
	uint16_t payload_len;
	uint8_t  payload[SL_PAYLOAD_MAX];
};

/* Bounds-checked reader: each get consumes or fails without moving. */
struct rbuf {
	const uint8_t *p;
	size_t len;
	size_t off;
};
void rbuf_init(struct rbuf *r, const void *p, size_t len);
int rbuf_get_u8(struct rbuf *r, uint8_t *v);
int rbuf_get_u16le(struct rbuf *r, uint16_t *v);
int rbuf_get_u32le(struct rbuf *r, uint32_t *v);
int rbuf_get_bytes(struct rbuf *r, void *dst, size_t n);
/* Big-endian (network order) forms, for format 2. */
int rbuf_get_u16be(struct rbuf *r, uint16_t *v);
int rbuf_get_u32be(struct rbuf *r, uint32_t *v);
int rbuf_get_u64be(struct rbuf *r, uint64_t *v);
size_t rbuf_left(const struct rbuf *r);

/* Bounds-checked writer. */
struct wbuf {
	uint8_t *p;
	size_t len;
	size_t off;
};
void wbuf_init(struct wbuf *w, void *p, size_t len);
int wbuf_put_u8(struct wbuf *w, uint8_t v);
int wbuf_put_u16le(struct wbuf *w, uint16_t v);
int wbuf_put_u32le(struct wbuf *w, uint32_t v);
int wbuf_put_bytes(struct wbuf *w, const void *src, size_t n);
int wbuf_put_u16be(struct wbuf *w, uint16_t v);
int wbuf_put_u32be(struct wbuf *w, uint32_t v);
int wbuf_put_u64be(struct wbuf *w, uint64_t v);

/*
 * Decode exactly SL_PACKET_LEN bytes.  Fails with SL_ELEN on any other
 * length, SL_EVERSION on version != 1, SL_EPARSE on payload_len > 199.
 * On failure *k is still fully written (zeroed where not read) so that a
 * caller can go on computing a dummy HMAC over it.
 */
int wire_decode(struct wire_knock *k, const uint8_t *buf, size_t len);
/* Encode into exactly SL_PACKET_LEN bytes; the payload tail is zeroed. */
int wire_encode(uint8_t *buf, size_t len, const struct wire_knock *k);
/*
 * A reusable HMAC context, so the receive path allocates nothing per packet.
 * Functions taking one accept NULL (a temporary context is made).
 */
struct wire_mac;
int wire_mac_new(struct wire_mac **out);
void wire_mac_free(struct wire_mac *m);
/* hmac = HMAC-SHA256(key, SHA-256(fields | payload[0..payload_len))). */
int wire_hmac(struct wire_mac *m, uint8_t out[SL_HMAC_LEN],
    const uint8_t key[SL_HMAC_KEY_LEN], const struct wire_knock *k);
/* Constant-time check of k->hmac under key: 0 if it matches, SL_EAUTH if not. */
int wire_verify(struct wire_mac *m, const uint8_t key[SL_HMAC_KEY_LEN],
    const struct wire_knock *k);

#endif
