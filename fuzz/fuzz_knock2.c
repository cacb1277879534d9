/*
 * fuzz_knock2.c - knock format 2 (src/common/knock2.c): the inner plaintext, the
 * receipt, the datagram's MAC and opening a datagram with the test private
 * key, each checked against a reference written here from docs/PROTOCOL.md
 * ("Format 2") with OpenSSL one-shot calls.
 *
 * Input: byte 0 % 6 selects the mode; the rest is:
 *   0 inner:    247-byte slices (the last one zero-padded).  Each goes to
 *               k2_inner_decode(), whose verdict and fields must be the
 *               reference's, and an accepted one must re-encode to the
 *               same bytes.  The same bytes, read as a struct k2_inner,
 *               go to k2_inner_encode(): what it accepts must decode back
 *               to the same struct.
 *   1 receipt:  any bytes, opened with k2_receipt_open() under vector 1's
 *               K_rcpt and mac: the wrong size is SL_ELEN, anything but
 *               vector 1's receipt SL_EAUTH.
 *   2 receipt plaintext: 16 bytes (zero-padded) sealed here under that key
 *               and mac: k2_receipt_open() must agree with the reference
 *               on validity and fields, and k2_receipt_seal() must give
 *               the same 32 bytes back.
 *   3 datagram: any bytes; at 559 bytes, k2_mac_verify() with the vector
 *               user's K_mac must agree with a reference HMAC (only an
 *               exact vector datagram passes).
 *   4 mutated:  byte 1 = vector, bytes 2-3 = offset (big-endian, % 527),
 *               the rest XORed into that vector's datagram from the offset
 *               on, then the MAC made right: k2_mac_verify() must accept
 *               it and k2_open() must refuse it (SL_EDECRYPT when the wrap
 *               changed, else SL_EAUTH) unless nothing changed.
 *   5 sealed:   byte 1 = vector, the rest a 247-byte inner plaintext
 *               (zero-padded), made into a datagram here with that
 *               vector's content key and wrap (reference tag, AEAD and
 *               MAC): k2_open() must give exactly what k2_inner_decode()
 *               and the reference say, an accepted inner must re-encode to
 *               the same bytes, and k2_seal_wrapped() must rebuild the
 *               same datagram byte for byte.
 *
 * Modes 4 and 5 cost one RSA private-key operation per input.
 */
#include <string.h>
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto.h"
#include "knock2.h"

#include "fuzz.h"

#define NVEC 3

struct vector {
	uint8_t k_tag[K2_KEY_LEN], k_mac[K2_KEY_LEN];
	uint8_t ck[K2_CK_LEN], k_body[K2_KEY_LEN], k_rcpt[K2_KEY_LEN];
	uint8_t inner[K2_INNER_LEN], mac[K2_MAC_LEN];
	uint8_t dgram[K2_DGRAM_LEN], receipt[K2_RECEIPT_LEN];
};

static struct vector vecs[NVEC];
static struct k2_userkeys uk;
static struct k2_hmac *hctx;
static struct k2_open *opener;
static EVP_CIPHER_CTX *aead;     /* the library's, for receipts */
static EVP_CIPHER_CTX *ref_aead; /* the reference's */

/* ---- set-up: the vector files ---------------------------------------- */

/* "name = hex" from a vector file, exactly n bytes. */
static void
read_hex(const char *path, const char *name, uint8_t *out, size_t n)
{
	char line[4096];
	size_t klen = strlen(name), i;
	unsigned v;
	int found = 0;
	FILE *f = fopen(path, "r");

	FUZZ_SETUP(f != NULL);
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, klen) != 0 ||
		    strncmp(line + klen, " = ", 3) != 0)
			continue;
		FUZZ_SETUP(strspn(line + klen + 3, "0123456789abcdef") == 2 * n);
		for (i = 0; i < n; i++) {
			FUZZ_SETUP(sscanf(line + klen + 3 + 2 * i, "%2x", &v) == 1);
			out[i] = (uint8_t)v;
		}
		found = 1;
	}
	fclose(f);
	FUZZ_SETUP(found);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t key[SL_HMAC_KEY_LEN], bk[K2_KEY_LEN], rk[K2_KEY_LEN];
	char path[64], err[512];
	EVP_PKEY *priv;
	size_t i;

	(void)argc;
	(void)argv;
	FUZZ_SETUP(crypto_load_hmac_key("tests/vectors/user1.hmac.key", 0, key,
	    err, sizeof(err)) == 0);
	FUZZ_SETUP(k2_derive_user(key, &uk) == 0);
	FUZZ_SETUP(crypto_load_private("tests/vectors/server.priv.pem", 0, &priv,
	    err, sizeof(err)) == 0);
	FUZZ_SETUP(k2_open_new(priv, &opener) == 0);
	EVP_PKEY_free(priv);    /* the context holds its own reference */
	FUZZ_SETUP(k2_hmac_new(&hctx) == 0);
	FUZZ_SETUP((aead = k2_aead_new()) != NULL);
	FUZZ_SETUP((ref_aead = EVP_CIPHER_CTX_new()) != NULL);
	for (i = 0; i < NVEC; i++) {
		struct vector *v = &vecs[i];

		snprintf(path, sizeof(path), "tests/vectors/v2/knock2-%zu.txt",
		    i + 1);
		read_hex(path, "k_tag", v->k_tag, sizeof(v->k_tag));
		read_hex(path, "k_mac", v->k_mac, sizeof(v->k_mac));
		read_hex(path, "content_key", v->ck, sizeof(v->ck));
		read_hex(path, "k_body", v->k_body, sizeof(v->k_body));
		read_hex(path, "k_receipt", v->k_rcpt, sizeof(v->k_rcpt));
		read_hex(path, "inner", v->inner, sizeof(v->inner));
		read_hex(path, "mac", v->mac, sizeof(v->mac));
		read_hex(path, "datagram", v->dgram, sizeof(v->dgram));
		read_hex(path, "receipt", v->receipt, sizeof(v->receipt));
		/* the library agrees with the files (test_knock2 checks more) */
		FUZZ_SETUP(memcmp(v->k_tag, uk.tag_key, K2_KEY_LEN) == 0);
		FUZZ_SETUP(memcmp(v->k_mac, uk.mac_key, K2_KEY_LEN) == 0);
		FUZZ_SETUP(k2_content_keys(NULL, v->ck, bk, rk) == 0);
		FUZZ_SETUP(memcmp(bk, v->k_body, K2_KEY_LEN) == 0);
		FUZZ_SETUP(memcmp(rk, v->k_rcpt, K2_KEY_LEN) == 0);
		FUZZ_SETUP(memcmp(v->dgram + K2_OFF_MAC, v->mac, K2_MAC_LEN) == 0);
	}
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}

/* ---- the reference ------------------------------------------------------ */

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static int
zero(const uint8_t *p, size_t n)
{
	while (n-- > 0)
		if (*p++ != 0)
			return 0;
	return 1;
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
    0xff };

/* The inner plaintext's rules: 0, SL_EVERSION or SL_EPARSE. */
static int
ref_inner(const uint8_t b[K2_INNER_LEN])
{
	uint16_t plen = be16(b + 6);

	if (b[0] != 2)
		return SL_EVERSION;
	if ((b[1] & ~0x01) != 0 || plen > 199 || !zero(b + 48 + plen,
	    (size_t)(199 - plen)))
		return SL_EPARSE;
	switch (b[5]) {
	case 0:
		return zero(b + 32, 16) ? 0 : SL_EPARSE;
	case 4:
		/* not 0.0.0.0/8, 224.0.0.0/4 or 240.0.0.0/4 */
		return zero(b + 36, 12) && b[32] != 0 && b[32] < 224 ? 0 :
		    SL_EPARSE;
	case 6:
		/* not IPv4-mapped, :: or ff00::/8 */
		return memcmp(b + 32, v4mapped, 12) != 0 && !zero(b + 32, 16) &&
		    b[32] != 0xff ? 0 : SL_EPARSE;
	default:
		return SL_EPARSE;
	}
}

/* A decoded inner has the fields of its bytes. */
static void
check_fields(const struct k2_inner *in, const uint8_t b[K2_INNER_LEN])
{
	FUZZ_CHECK(in->flags == b[1]);
	FUZZ_CHECK(in->user_id == be16(b + 2));
	FUZZ_CHECK(in->action_id == b[4]);
	FUZZ_CHECK(in->payload_len == be16(b + 6));
	FUZZ_CHECK(in->timestamp == be64(b + 8));
	FUZZ_CHECK(memcmp(in->nonce, b + 16, K2_NONCE_LEN) == 0);
	FUZZ_CHECK(memcmp(in->payload, b + 48, K2_PAYLOAD_MAX) == 0);
	FUZZ_CHECK(in->has_addr == (b[5] != 0));
	if (b[5] == 4)
		FUZZ_CHECK(in->addr.family == AF_INET &&
		    memcmp(in->addr.bytes, b + 32, 4) == 0);
	else if (b[5] == 6)
		FUZZ_CHECK(in->addr.family == AF_INET6 &&
		    memcmp(in->addr.bytes, b + 32, 16) == 0);
}

static int
all_zero_struct(const void *p, size_t n)
{
	return zero(p, n);
}

static void
ref_hmac(const uint8_t key[32], const uint8_t *msg, size_t len,
    uint8_t out[32])
{
	unsigned int n = 0;

	FUZZ_CHECK(HMAC(EVP_sha256(), key, 32, msg, len, out, &n) != NULL &&
	    n == 32);
}

/* ChaCha20-Poly1305 (RFC 8439), 12 zero bytes of nonce. */
static void
ref_seal(const uint8_t key[32], const uint8_t *aad, size_t aadlen,
    const uint8_t *pt, size_t len, uint8_t *ct, uint8_t tag[16])
{
	static const uint8_t nonce[12];
	int n = 0;

	FUZZ_CHECK(EVP_EncryptInit_ex(ref_aead, EVP_chacha20_poly1305(), NULL,
	    key, nonce) == 1);
	FUZZ_CHECK(EVP_EncryptUpdate(ref_aead, NULL, &n, aad, (int)aadlen) == 1);
	FUZZ_CHECK(EVP_EncryptUpdate(ref_aead, ct, &n, pt, (int)len) == 1 &&
	    n == (int)len);
	FUZZ_CHECK(EVP_EncryptFinal_ex(ref_aead, ct + n, &n) == 1);
	FUZZ_CHECK(EVP_CIPHER_CTX_ctrl(ref_aead, EVP_CTRL_AEAD_GET_TAG, 16,
	    tag) == 1);
}

/* PROTOCOL.md: an address a knock may name.  IPv4 (or IPv4-mapped): not
 * 0.0.0.0/8, 224.0.0.0/4 or 240.0.0.0/4; IPv6: not :: nor ff00::/8. */
static int
ref_grantable(const struct sl_addr *a)
{
	static const uint8_t z[16];

	if (a->family == AF_INET6 && memcmp(a->bytes, v4mapped, 12) == 0)
		return a->bytes[12] != 0 && a->bytes[12] < 224;
	if (a->family == AF_INET6)
		return memcmp(a->bytes, z, 16) != 0 && a->bytes[0] != 0xff;
	return a->bytes[0] != 0 && a->bytes[0] < 224;
}

/* ---- mode 0: the inner plaintext ------------------------------------- */

/* The slice read as a struct, for the encoder: what it accepts decodes to
 * the same struct. */
static void
encode_struct(const uint8_t b[K2_INNER_LEN])
{
	struct k2_inner in, got;
	uint8_t out[K2_INNER_LEN];
	int rc, valid, mapped;

	memset(&in, 0, sizeof(in));
	in.flags = b[1];
	in.user_id = be16(b + 2);
	in.action_id = b[4];
	in.has_addr = (b[5] & 0x01) != 0;
	in.addr.family = (b[5] & 0x02) ? AF_INET6 : (b[5] & 0x04) ? AF_INET :
	    (uint8_t)(b[5] >> 3);
	memcpy(in.addr.bytes, b + 32, 16);
	in.payload_len = (uint16_t)(be16(b + 6) % 256);
	in.timestamp = be64(b + 8);
	memcpy(in.nonce, b + 16, K2_NONCE_LEN);
	memcpy(in.payload, b + 48, K2_PAYLOAD_MAX);

	mapped = in.has_addr && in.addr.family == AF_INET6 &&
	    memcmp(in.addr.bytes, v4mapped, 12) == 0;
	valid = (in.flags & ~K2_F_RECEIPT) == 0 &&
	    in.payload_len <= K2_PAYLOAD_MAX && (!in.has_addr ||
	    ((in.addr.family == AF_INET || in.addr.family == AF_INET6) &&
	    ref_grantable(&in.addr)));
	rc = k2_inner_encode(out, &in);
	FUZZ_CHECK(valid ? rc == 0 : rc == SL_EINVAL);
	if (rc != 0)
		return;
	FUZZ_CHECK(k2_inner_decode(&got, out) == 0);
	check_fields(&got, out);
	FUZZ_CHECK(got.flags == in.flags && got.user_id == in.user_id &&
	    got.action_id == in.action_id && got.timestamp == in.timestamp &&
	    got.payload_len == in.payload_len && got.has_addr == in.has_addr);
	FUZZ_CHECK(memcmp(got.nonce, in.nonce, K2_NONCE_LEN) == 0);
	FUZZ_CHECK(memcmp(got.payload, in.payload, in.payload_len) == 0);
	FUZZ_CHECK(zero(got.payload + in.payload_len,
	    K2_PAYLOAD_MAX - in.payload_len));
	if (mapped)  /* named as the IPv4 address it is */
		FUZZ_CHECK(got.addr.family == AF_INET &&
		    memcmp(got.addr.bytes, in.addr.bytes + 12, 4) == 0);
	else if (in.has_addr)
		FUZZ_CHECK(got.addr.family == in.addr.family &&
		    memcmp(got.addr.bytes, in.addr.bytes,
		    in.addr.family == AF_INET ? 4 : 16) == 0);
}

static void
mode_inner(const uint8_t *d, size_t n)
{
	uint8_t b[K2_INNER_LEN], out[K2_INNER_LEN];
	struct k2_inner in;
	size_t take;
	int rc, want;

	do {
		take = n < sizeof(b) ? n : sizeof(b);
		memset(b, 0, sizeof(b));
		memcpy(b, d, take);
		d += take;
		n -= take;
		memset(&in, 0xa5, sizeof(in));
		rc = k2_inner_decode(&in, b);
		want = ref_inner(b);
		FUZZ_CHECK(rc == want);
		if (rc != 0) {
			FUZZ_CHECK(all_zero_struct(&in, sizeof(in)));
		} else {
			check_fields(&in, b);
			FUZZ_CHECK(k2_inner_encode(out, &in) == 0);
			FUZZ_CHECK(memcmp(out, b, sizeof(b)) == 0);
		}
		encode_struct(b);
	} while (n > 0);
}

/* ---- modes 1 and 2: the receipt ------------------------------------------ */

static void
mode_receipt(const uint8_t *d, size_t n)
{
	const struct vector *v = &vecs[0];
	struct k2_receipt r;
	int rc;

	memset(&r, 0xa5, sizeof(r));
	rc = k2_receipt_open(aead, v->k_rcpt, v->mac, d, n, &r);
	if (n != K2_RECEIPT_LEN) {
		FUZZ_CHECK(rc == SL_ELEN);
	} else if (memcmp(d, v->receipt, K2_RECEIPT_LEN) == 0) {
		FUZZ_CHECK(rc == 0 && r.status == K2_ST_DONE &&
		    r.reason == K2_R_NONE && r.value == 300 &&
		    r.server_time == 1780000001u);
		return;
	} else {
		FUZZ_CHECK(rc == SL_EAUTH);
	}
	FUZZ_CHECK(all_zero_struct(&r, sizeof(r)));
}

static void
mode_receipt_pt(const uint8_t *d, size_t n)
{
	const struct vector *v = &vecs[0];
	uint8_t pt[K2_RECEIPT_PT_LEN], ct[K2_RECEIPT_LEN], again[K2_RECEIPT_LEN];
	struct k2_receipt r;
	int rc, valid;

	memset(pt, 0, sizeof(pt));
	memcpy(pt, d, n < sizeof(pt) ? n : sizeof(pt));
	ref_seal(v->k_rcpt, v->mac, K2_MAC_LEN, pt, sizeof(pt), ct,
	    ct + K2_RECEIPT_PT_LEN);
	/* PROTOCOL.md: status 0..3; status 2 with reason 1..2 and value 0,
	 * any other status with reason 0; status 3 with value 0 */
	valid = pt[0] == 2 && pt[1] <= 3 && pt[3] == 0 &&
	    (pt[1] == 2 ? (pt[2] == 1 || pt[2] == 2) && be32(pt + 4) == 0 :
	    pt[2] == 0 && (pt[1] != 3 || be32(pt + 4) == 0));
	memset(&r, 0xa5, sizeof(r));
	rc = k2_receipt_open(aead, v->k_rcpt, v->mac, ct, sizeof(ct), &r);
	FUZZ_CHECK(rc == (valid ? 0 : SL_EPARSE));
	if (!valid) {
		FUZZ_CHECK(all_zero_struct(&r, sizeof(r)));
		return;
	}
	FUZZ_CHECK(r.status == pt[1] && r.reason == pt[2] &&
	    r.value == be32(pt + 4) && r.server_time == be64(pt + 8));
	FUZZ_CHECK(k2_receipt_seal(aead, v->k_rcpt, v->mac, &r, again) == 0);
	FUZZ_CHECK(memcmp(again, ct, sizeof(ct)) == 0);
	/* the same bytes under another knock's mac do not open */
	FUZZ_CHECK(k2_receipt_open(aead, v->k_rcpt, vecs[1].mac, ct,
	    sizeof(ct), &r) == SL_EAUTH);
}

/* ---- modes 3 to 5: the datagram ------------------------------------------ */

static void
mode_datagram(const uint8_t *d, size_t n)
{
	uint8_t mac[K2_MAC_LEN];
	int rc, known = 0;
	size_t i;

	if (n != K2_DGRAM_LEN)
		return;
	rc = k2_mac_verify(hctx, uk.mac_key, d);
	ref_hmac(vecs[0].k_mac, d, K2_OFF_MAC, mac);
	FUZZ_CHECK(rc == (memcmp(mac, d + K2_OFF_MAC, K2_MAC_LEN) == 0 ? 0 :
	    SL_EAUTH));
	for (i = 0; i < NVEC; i++)
		known |= memcmp(d, vecs[i].dgram, K2_DGRAM_LEN) == 0;
	/* nobody makes a MAC without the key */
	FUZZ_CHECK(rc != 0 || known);
}

/* Open an authenticated datagram; what comes out is an inner that
 * re-encodes, or nothing. */
static int
open_checked(const uint8_t dg[K2_DGRAM_LEN], struct k2_inner *in,
    uint8_t rk[K2_KEY_LEN])
{
	uint8_t out[K2_INNER_LEN];
	int rc;

	FUZZ_CHECK(k2_mac_verify(hctx, uk.mac_key, dg) == 0);
	memset(in, 0xa5, sizeof(*in));
	memset(rk, 0xa5, K2_KEY_LEN);
	rc = k2_open(opener, dg, in, rk);
	FUZZ_CHECK(rc <= 0);
	if (rc != 0) {
		FUZZ_CHECK(all_zero_struct(in, sizeof(*in)));
		FUZZ_CHECK(all_zero_struct(rk, K2_KEY_LEN));
		return rc;
	}
	FUZZ_CHECK(k2_inner_encode(out, in) == 0);
	FUZZ_CHECK(k2_inner_decode(in, out) == 0);
	return 0;
}

static void
mode_mutated(const uint8_t *d, size_t n)
{
	uint8_t dg[K2_DGRAM_LEN], rk[K2_KEY_LEN], out[K2_INNER_LEN];
	const struct vector *v;
	struct k2_inner in;
	size_t off, i;
	int rc;

	if (n < 3)
		return;
	v = &vecs[d[0] % NVEC];
	off = be16(d + 1) % K2_OFF_MAC;
	d += 3;
	n -= 3;
	memcpy(dg, v->dgram, sizeof(dg));
	for (i = 0; i < n && off + i < K2_OFF_MAC; i++)
		dg[off + i] ^= d[i];
	ref_hmac(v->k_mac, dg, K2_OFF_MAC, dg + K2_OFF_MAC);
	rc = open_checked(dg, &in, rk);
	if (memcmp(dg, v->dgram, K2_DGRAM_LEN) == 0) {
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(memcmp(rk, v->k_rcpt, K2_KEY_LEN) == 0);
		FUZZ_CHECK(k2_inner_encode(out, &in) == 0 &&
		    memcmp(out, v->inner, K2_INNER_LEN) == 0);
	} else if (memcmp(dg + K2_OFF_WRAP, v->dgram + K2_OFF_WRAP,
	    K2_WRAP_LEN) != 0) {
		FUZZ_CHECK(rc == SL_EDECRYPT);
	} else {
		FUZZ_CHECK(rc == SL_EAUTH);
	}
}

static void
mode_sealed(const uint8_t *d, size_t n)
{
	uint8_t b[K2_INNER_LEN], dg[K2_DGRAM_LEN], again[K2_DGRAM_LEN];
	uint8_t e[8], full[32], rk[K2_KEY_LEN], out[K2_INNER_LEN];
	const struct vector *v;
	struct k2_inner in, dec;
	uint64_t epoch;
	int rc, want, i;

	if (n < 1)
		return;
	v = &vecs[d[0] % NVEC];
	memset(b, 0, sizeof(b));
	memcpy(b, d + 1, n - 1 < sizeof(b) ? n - 1 : sizeof(b));

	/* the datagram as docs/PROTOCOL.md builds it */
	epoch = be64(b + 8) / 30;
	for (i = 0; i < 8; i++)
		e[i] = (uint8_t)(epoch >> (56 - 8 * i));
	ref_hmac(v->k_tag, e, sizeof(e), full);
	memcpy(dg + K2_OFF_TAG, full, K2_TAG_LEN);
	memcpy(dg + K2_OFF_WRAP, v->dgram + K2_OFF_WRAP, K2_WRAP_LEN);
	ref_seal(v->k_body, dg, K2_OFF_BODY, b, sizeof(b), dg + K2_OFF_BODY,
	    dg + K2_OFF_BODY_TAG);
	ref_hmac(v->k_mac, dg, K2_OFF_MAC, dg + K2_OFF_MAC);

	want = ref_inner(b);
	FUZZ_CHECK(k2_inner_decode(&dec, b) == want);
	rc = open_checked(dg, &in, rk);
	FUZZ_CHECK(rc == want);
	if (rc != 0)
		return;
	check_fields(&in, b);
	FUZZ_CHECK(memcmp(&in, &dec, sizeof(in)) == 0);
	FUZZ_CHECK(memcmp(rk, v->k_rcpt, K2_KEY_LEN) == 0);
	FUZZ_CHECK(k2_inner_encode(out, &in) == 0);
	FUZZ_CHECK(memcmp(out, b, sizeof(b)) == 0);
	/* the library builds the same datagram from the decoded inner */
	FUZZ_CHECK(k2_seal_wrapped(&uk, &in, v->ck, v->dgram + K2_OFF_WRAP,
	    again, NULL, NULL) == 0);
	FUZZ_CHECK(memcmp(again, dg, sizeof(dg)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 6) {
	case 0:
		mode_inner(data + 1, size - 1);
		break;
	case 1:
		mode_receipt(data + 1, size - 1);
		break;
	case 2:
		mode_receipt_pt(data + 1, size - 1);
		break;
	case 3:
		mode_datagram(data + 1, size - 1);
		break;
	case 4:
		mode_mutated(data + 1, size - 1);
		break;
	default:
		mode_sealed(data + 1, size - 1);
		break;
	}
	return 0;
}
