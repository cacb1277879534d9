/*
 * test_knock2.c - knock format 2 (src/common/knock2.c) against the vectors of
 * tests/vectors/v2/: every derived key, the tag, the inner plaintext, the
 * whole datagram byte for byte, its MAC, opening it with the test private
 * key, and the receipt; every single-bit flip of a datagram or receipt is
 * refused; each rule of the inner plaintext is enforced; a fresh knock
 * round-trips.
 *
 * Test vectors are read from $SL_VECTORS, default tests/vectors (run from
 * the top of the tree).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "knock2.h"
#include "sl.h"

#include "testutil.h"

#define NVEC 3

/* What tests/tools/k2vec.c put into each vector, written out again here
 * so that decoding is checked against something other than the encoder. */
struct expect {
	uint16_t user_id;
	uint8_t action_id, flags;
	const char *addr;           /* NULL: none named */
	uint64_t timestamp;
	const char *payload;        /* NULL: the 199 bytes 0x00 .. 0xc6 */
};

static const struct expect expects[NVEC] = {
	{ 1, 2, K2_F_RECEIPT, "127.0.0.1", 1780000000u, "hello" },
	{ 1, 7, 0, NULL, 1780000029u, "" },
	{ 1, 255, K2_F_RECEIPT, "2001:db8::1", 1780000030u, NULL },
};

/* One vector file, every field decoded. */
struct vector {
	uint64_t timestamp, epoch;
	uint8_t user_key[SL_HMAC_KEY_LEN];
	uint8_t k_tag[K2_KEY_LEN], k_mac[K2_KEY_LEN];
	uint8_t tag[K2_TAG_LEN];
	uint8_t content_key[K2_CK_LEN];
	uint8_t k_body[K2_KEY_LEN], k_receipt[K2_KEY_LEN];
	uint8_t inner[K2_INNER_LEN];
	uint8_t wrap[K2_WRAP_LEN];
	uint8_t body[K2_INNER_LEN], body_tag[K2_AEAD_TAG_LEN];
	uint8_t mac[K2_MAC_LEN];
	uint8_t datagram[K2_DGRAM_LEN];
	struct k2_receipt r;
	uint8_t receipt[K2_RECEIPT_LEN];
	uint8_t bin[K2_DGRAM_LEN], receipt_bin[K2_RECEIPT_LEN];
	struct k2_inner in;         /* from expects[] */
};

static struct vector vecs[NVEC];
static uint8_t file_key[SL_HMAC_KEY_LEN];
static EVP_PKEY *priv, *pub;

static const char *
vec(const char *file)
{
	static char path[SL_PATH_MAX];
	const char *dir = getenv("SL_VECTORS");

	snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : "tests/vectors",
	    file);
	return path;
}

static void
slurp_exact(const char *path, uint8_t *buf, size_t len)
{
	uint8_t extra;
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	assert_int_equal(fread(buf, 1, len, f), len);
	assert_int_equal(fread(&extra, 1, 1, f), 0); /* not one byte more */
	fclose(f);
}

/* ---- the "name = value" file -------------------------------------------- */

#define MAXFIELDS 32

struct field {
	char name[32];
	char *value;
};

struct vfile {
	struct field f[MAXFIELDS];
	size_t n;
};

static void
vfile_read(struct vfile *vf, const char *path)
{
	char line[4096], *eq, *k, *v, *end;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	memset(vf, 0, sizeof(*vf));
	while (fgets(line, sizeof(line), f) != NULL) {
		assert_non_null(strchr(line, '\n')); /* no line was cut */
		if (line[0] == '#' || line[0] == '\n')
			continue;
		assert_non_null(eq = strchr(line, '='));
		*eq = '\0';
		for (k = line; *k == ' '; k++)
			;
		for (end = eq; end > k && end[-1] == ' '; end--)
			;
		*end = '\0';
		for (v = eq + 1; *v == ' '; v++)
			;
		v[strcspn(v, " \r\n")] = '\0';
		assert_true(vf->n < MAXFIELDS);
		assert_true(strlen(k) < sizeof(vf->f[0].name));
		strcpy(vf->f[vf->n].name, k);
		assert_non_null(vf->f[vf->n].value = strdup(v));
		vf->n++;
	}
	fclose(f);
}

static void
vfile_free(struct vfile *vf)
{
	size_t i;

	for (i = 0; i < vf->n; i++)
		free(vf->f[i].value);
}

static const char *
vfile_get(const struct vfile *vf, const char *name)
{
	size_t i;

	for (i = 0; i < vf->n; i++)
		if (strcmp(vf->f[i].name, name) == 0)
			return vf->f[i].value;
	fail_msg("vector has no field \"%s\"", name);
	return "";      /* not reached */
}

/* Exactly n bytes of hex, lower case as k2vec writes it. */
static void
vfile_hex(const struct vfile *vf, const char *name, uint8_t *out, size_t n)
{
	const char *s = vfile_get(vf, name);
	size_t i;
	unsigned v;

	assert_int_equal(strlen(s), 2 * n);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static uint64_t
vfile_u64(const struct vfile *vf, const char *name)
{
	const char *s = vfile_get(vf, name);
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	assert_true(*s != '\0' && *end == '\0');
	return (uint64_t)v;
}

static void
expect_inner(const struct expect *e, struct k2_inner *in)
{
	unsigned i;

	memset(in, 0, sizeof(*in));
	in->flags = e->flags;
	in->user_id = e->user_id;
	in->action_id = e->action_id;
	in->timestamp = e->timestamp;
	for (i = 0; i < K2_NONCE_LEN; i++)
		in->nonce[i] = (uint8_t)i;
	if (e->addr != NULL) {
		in->has_addr = true;
		in->addr = tu_addr(e->addr);
	}
	if (e->payload != NULL) {
		in->payload_len = (uint16_t)strlen(e->payload);
		memcpy(in->payload, e->payload, in->payload_len);
	} else {
		in->payload_len = K2_PAYLOAD_MAX;
		for (i = 0; i < K2_PAYLOAD_MAX; i++)
			in->payload[i] = (uint8_t)i;
	}
}

static void
load_vector(size_t i, struct vector *v)
{
	struct vfile vf;
	char name[64];
	uint64_t x;

	snprintf(name, sizeof(name), "v2/knock2-%zu.txt", i + 1);
	vfile_read(&vf, vec(name));
	v->timestamp = vfile_u64(&vf, "timestamp");
	v->epoch = vfile_u64(&vf, "epoch");
	vfile_hex(&vf, "user_key", v->user_key, sizeof(v->user_key));
	vfile_hex(&vf, "k_tag", v->k_tag, sizeof(v->k_tag));
	vfile_hex(&vf, "k_mac", v->k_mac, sizeof(v->k_mac));
	vfile_hex(&vf, "tag", v->tag, sizeof(v->tag));
	vfile_hex(&vf, "content_key", v->content_key, sizeof(v->content_key));
	vfile_hex(&vf, "k_body", v->k_body, sizeof(v->k_body));
	vfile_hex(&vf, "k_receipt", v->k_receipt, sizeof(v->k_receipt));
	vfile_hex(&vf, "inner", v->inner, sizeof(v->inner));
	vfile_hex(&vf, "wrap", v->wrap, sizeof(v->wrap));
	vfile_hex(&vf, "body", v->body, sizeof(v->body));
	vfile_hex(&vf, "body_tag", v->body_tag, sizeof(v->body_tag));
	vfile_hex(&vf, "mac", v->mac, sizeof(v->mac));
	vfile_hex(&vf, "datagram", v->datagram, sizeof(v->datagram));
	assert_true((x = vfile_u64(&vf, "receipt_status")) <= K2_ST_MAX);
	v->r.status = (uint8_t)x;
	assert_true((x = vfile_u64(&vf, "receipt_reason")) <= K2_R_MAX);
	v->r.reason = (uint8_t)x;
	assert_true((x = vfile_u64(&vf, "receipt_value")) <= UINT32_MAX);
	v->r.value = (uint32_t)x;
	v->r.server_time = vfile_u64(&vf, "receipt_server_time");
	vfile_hex(&vf, "receipt", v->receipt, sizeof(v->receipt));
	vfile_free(&vf);

	snprintf(name, sizeof(name), "v2/knock2-%zu.bin", i + 1);
	slurp_exact(vec(name), v->bin, sizeof(v->bin));
	snprintf(name, sizeof(name), "v2/knock2-%zu.receipt.bin", i + 1);
	slurp_exact(vec(name), v->receipt_bin, sizeof(v->receipt_bin));
	expect_inner(&expects[i], &v->in);
}

static void
assert_inner_equal(const struct k2_inner *a, const struct k2_inner *b)
{
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->user_id, b->user_id);
	assert_int_equal(a->action_id, b->action_id);
	assert_int_equal(a->has_addr, b->has_addr);
	if (a->has_addr) {
		assert_int_equal(a->addr.family, b->addr.family);
		assert_memory_equal(a->addr.bytes, b->addr.bytes,
		    a->addr.family == AF_INET ? 4 : 16);
	}
	assert_int_equal(a->payload_len, b->payload_len);
	assert_true(a->timestamp == b->timestamp);
	assert_memory_equal(a->nonce, b->nonce, K2_NONCE_LEN);
	assert_memory_equal(a->payload, b->payload, K2_PAYLOAD_MAX);
}

static int
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n-- > 0)
		if (*b++ != 0)
			return 0;
	return 1;
}

/* ---- the vectors ---------------------------------------------------------- */

/* The files agree with themselves: the datagram is its fields in order, the
 * .bin files are the hex, the key is tests/vectors/user1.hmac.key. */
static void
test_vector_files(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NVEC; i++) {
		const struct vector *v = &vecs[i];

		assert_memory_equal(v->user_key, file_key, SL_HMAC_KEY_LEN);
		assert_memory_equal(v->datagram + K2_OFF_TAG, v->tag, K2_TAG_LEN);
		assert_memory_equal(v->datagram + K2_OFF_WRAP, v->wrap,
		    K2_WRAP_LEN);
		assert_memory_equal(v->datagram + K2_OFF_BODY, v->body,
		    K2_INNER_LEN);
		assert_memory_equal(v->datagram + K2_OFF_BODY_TAG, v->body_tag,
		    K2_AEAD_TAG_LEN);
		assert_memory_equal(v->datagram + K2_OFF_MAC, v->mac, K2_MAC_LEN);
		assert_memory_equal(v->bin, v->datagram, K2_DGRAM_LEN);
		assert_memory_equal(v->receipt_bin, v->receipt, K2_RECEIPT_LEN);
		assert_true(v->timestamp == expects[i].timestamp);
	}
	/* the layout constants the documentation gives */
	assert_int_equal(K2_OFF_WRAP, 8);
	assert_int_equal(K2_OFF_BODY, 264);
	assert_int_equal(K2_OFF_BODY_TAG, 511);
	assert_int_equal(K2_OFF_MAC, 527);
	assert_int_equal(K2_DGRAM_LEN, 559);
	assert_int_equal(K2_INNER_LEN, 247);
	assert_int_equal(K2_RECEIPT_LEN, 32);
}

static void
test_derive_tag_content_keys(void **state)
{
	struct k2_userkeys uk;
	struct k2_hmac *h;
	uint8_t tag[K2_TAG_LEN], bk[K2_KEY_LEN], rk[K2_KEY_LEN];
	size_t i;

	(void)state;
	assert_int_equal(k2_hmac_new(&h), 0);
	for (i = 0; i < NVEC; i++) {
		const struct vector *v = &vecs[i];

		assert_int_equal(k2_derive_user(v->user_key, &uk), 0);
		assert_memory_equal(uk.tag_key, v->k_tag, K2_KEY_LEN);
		assert_memory_equal(uk.mac_key, v->k_mac, K2_KEY_LEN);
		assert_true(k2_epoch(v->timestamp) == v->epoch);
		assert_true(v->epoch == v->timestamp / 30);
		/* with a temporary context and with a reused one */
		assert_int_equal(k2_tag(NULL, uk.tag_key, v->epoch, tag), 0);
		assert_memory_equal(tag, v->tag, K2_TAG_LEN);
		assert_int_equal(k2_tag(h, uk.tag_key, v->epoch, tag), 0);
		assert_memory_equal(tag, v->tag, K2_TAG_LEN);
		/* the next epoch has another tag */
		assert_int_equal(k2_tag(h, uk.tag_key, v->epoch + 1, tag), 0);
		assert_memory_not_equal(tag, v->tag, K2_TAG_LEN);
		assert_int_equal(k2_content_keys(NULL, v->content_key, bk, rk), 0);
		assert_memory_equal(bk, v->k_body, K2_KEY_LEN);
		assert_memory_equal(rk, v->k_receipt, K2_KEY_LEN);
		assert_int_equal(k2_content_keys(h, v->content_key, bk, rk), 0);
		assert_memory_equal(bk, v->k_body, K2_KEY_LEN);
		assert_memory_equal(rk, v->k_receipt, K2_KEY_LEN);
	}
	/* epochs are 30 s, starting at the Unix epoch */
	assert_true(k2_epoch(0) == 0 && k2_epoch(29) == 0 && k2_epoch(30) == 1);
	assert_true(k2_epoch(UINT64_MAX) == UINT64_MAX / 30);
	/* vectors 2 and 3 are 1 s apart in one epoch: the same tag */
	assert_memory_equal(vecs[1].tag, vecs[2].tag, K2_TAG_LEN);
	assert_memory_not_equal(vecs[0].tag, vecs[1].tag, K2_TAG_LEN);
	k2_hmac_free(h);
	OPENSSL_cleanse(&uk, sizeof(uk));
}

static void
test_inner_vectors(void **state)
{
	uint8_t out[K2_INNER_LEN];
	struct k2_inner in;
	size_t i;

	(void)state;
	for (i = 0; i < NVEC; i++) {
		const struct vector *v = &vecs[i];

		assert_int_equal(k2_inner_encode(out, &v->in), 0);
		assert_memory_equal(out, v->inner, K2_INNER_LEN);
		assert_int_equal(k2_inner_decode(&in, v->inner), 0);
		assert_inner_equal(&in, &v->in);
		assert_int_equal(k2_inner_encode(out, &in), 0);
		assert_memory_equal(out, v->inner, K2_INNER_LEN);
	}
	/* byte order, by hand, in vector 1: big-endian */
	assert_int_equal(vecs[0].inner[0], 2);            /* version */
	assert_int_equal(vecs[0].inner[1], K2_F_RECEIPT); /* flags */
	assert_memory_equal(vecs[0].inner + 2, "\x00\x01", 2);  /* user 1 */
	assert_int_equal(vecs[0].inner[4], 2);            /* action */
	assert_int_equal(vecs[0].inner[5], K2_FAM_IPV4);
	assert_memory_equal(vecs[0].inner + 6, "\x00\x05", 2);  /* len 5 */
	assert_memory_equal(vecs[0].inner + 8,
	    "\x00\x00\x00\x00\x6a\x18\xa5\x00", 8);  /* 1780000000 */
	assert_memory_equal(vecs[0].inner + 32, "\x7f\x00\x00\x01", 4);
	assert_true(all_zero(vecs[0].inner + 36, 12));
	assert_memory_equal(vecs[0].inner + 48, "hello", 5);
	assert_true(all_zero(vecs[0].inner + 53, K2_INNER_LEN - 53));
}

static void
test_seal_wrapped_vectors(void **state)
{
	struct k2_userkeys uk;
	uint8_t dg[K2_DGRAM_LEN], rk[K2_KEY_LEN], mac[K2_MAC_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < NVEC; i++) {
		const struct vector *v = &vecs[i];

		assert_int_equal(k2_derive_user(v->user_key, &uk), 0);
		memset(dg, 0xa5, sizeof(dg));
		memset(rk, 0, sizeof(rk));
		memset(mac, 0, sizeof(mac));
		assert_int_equal(k2_seal_wrapped(&uk, &v->in, v->content_key,
		    v->wrap, dg, rk, mac), 0);
		assert_memory_equal(dg, v->datagram, K2_DGRAM_LEN);
		assert_memory_equal(dg, v->bin, K2_DGRAM_LEN);
		assert_memory_equal(rk, v->k_receipt, K2_KEY_LEN);
		assert_memory_equal(mac, v->mac, K2_MAC_LEN);
		/* the wrap already in place (as k2_seal passes it) */
		memset(dg, 0, sizeof(dg));
		memcpy(dg + K2_OFF_WRAP, v->wrap, K2_WRAP_LEN);
		assert_int_equal(k2_seal_wrapped(&uk, &v->in, v->content_key,
		    dg + K2_OFF_WRAP, dg, NULL, NULL), 0);
		assert_memory_equal(dg, v->datagram, K2_DGRAM_LEN);
		/* the MAC verifies, with a temporary context */
		assert_int_equal(k2_mac_verify(NULL, uk.mac_key, v->bin), 0);
	}
	OPENSSL_cleanse(&uk, sizeof(uk));
}

/* Every bit of the datagram is covered by the MAC. */
static void
test_mac_every_bit(void **state)
{
	struct k2_userkeys uk;
	struct k2_hmac *h;
	uint8_t dg[K2_DGRAM_LEN];
	size_t i, bit;

	(void)state;
	assert_int_equal(k2_hmac_new(&h), 0);
	for (i = 0; i < NVEC; i++) {
		assert_int_equal(k2_derive_user(vecs[i].user_key, &uk), 0);
		memcpy(dg, vecs[i].bin, sizeof(dg));
		assert_int_equal(k2_mac_verify(h, uk.mac_key, dg), 0);
		for (bit = 0; bit < K2_DGRAM_LEN * 8; bit++) {
			dg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(k2_mac_verify(h, uk.mac_key, dg),
			    SL_EAUTH);
			dg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		assert_int_equal(k2_mac_verify(h, uk.mac_key, dg), 0);
		/* another user's key: refused */
		uk.mac_key[0] ^= 1;
		assert_int_equal(k2_mac_verify(h, uk.mac_key, dg), SL_EAUTH);
		/* the tag key is not the MAC key */
		assert_int_equal(k2_mac_verify(h, uk.tag_key, dg), SL_EAUTH);
	}
	k2_hmac_free(h);
	OPENSSL_cleanse(&uk, sizeof(uk));
}

static void
test_open_vectors(void **state)
{
	struct k2_open *o;
	struct k2_inner in;
	uint8_t rk[K2_KEY_LEN], out[K2_INNER_LEN];
	size_t i;

	(void)state;
	assert_int_equal(k2_open_new(priv, &o), 0);
	for (i = 0; i < NVEC; i++) {
		const struct vector *v = &vecs[i];

		memset(rk, 0, sizeof(rk));
		assert_int_equal(k2_open(o, v->bin, &in, rk), 0);
		assert_inner_equal(&in, &v->in);
		assert_memory_equal(rk, v->k_receipt, K2_KEY_LEN);
		assert_int_equal(k2_inner_encode(out, &in), 0);
		assert_memory_equal(out, v->inner, K2_INNER_LEN);
		/* the tag is that of the inner timestamp's epoch */
		assert_true(k2_epoch(in.timestamp) == v->epoch);
	}
	k2_open_free(o);
}

/*
 * Change one bit of the tag, wrap, body or body tag and make the MAC right
 * again (as only the user's key holder can): k2_open still refuses it, the
 * wrap with SL_EDECRYPT (OAEP), the rest with SL_EAUTH (Poly1305; the tag
 * and wrap are its associated data).  Nothing is returned.
 */
static void
test_open_every_bit(void **state)
{
	struct k2_userkeys uk;
	struct k2_hmac *h;
	struct k2_open *o;
	struct k2_inner in;
	uint8_t dg[K2_DGRAM_LEN], rk[K2_KEY_LEN];
	size_t i, bit, nok;
	int rc, want;

	(void)state;
	assert_int_equal(k2_hmac_new(&h), 0);
	assert_int_equal(k2_open_new(priv, &o), 0);
	for (i = 0; i < NVEC; i++) {
		assert_int_equal(k2_derive_user(vecs[i].user_key, &uk), 0);
		memcpy(dg, vecs[i].bin, sizeof(dg));
		nok = 0;
		for (bit = 0; bit < K2_OFF_MAC * 8; bit++) {
			size_t off = bit / 8;

			dg[off] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(k2_mac(h, uk.mac_key, dg,
			    dg + K2_OFF_MAC), 0);
			assert_int_equal(k2_mac_verify(h, uk.mac_key, dg), 0);
			memset(rk, 0xa5, sizeof(rk));
			memset(&in, 0xa5, sizeof(in));
			rc = k2_open(o, dg, &in, rk);
			want = off >= K2_OFF_WRAP && off < K2_OFF_BODY ?
			    SL_EDECRYPT : SL_EAUTH;
			if (rc != want)
				print_error("vector %zu bit %zu: %d\n", i + 1,
				    bit, rc);
			nok += rc == want;
			assert_true(all_zero(rk, sizeof(rk)));
			assert_true(all_zero(&in, sizeof(in)));
			dg[off] ^= (uint8_t)(1u << (bit % 8));
		}
		assert_int_equal(nok, K2_OFF_MAC * 8);
		/* the original again */
		assert_int_equal(k2_mac(h, uk.mac_key, dg, dg + K2_OFF_MAC), 0);
		assert_memory_equal(dg, vecs[i].bin, K2_DGRAM_LEN);
		assert_int_equal(k2_open(o, dg, &in, rk), 0);
	}
	k2_open_free(o);
	k2_hmac_free(h);
	OPENSSL_cleanse(&uk, sizeof(uk));
}

/* ---- the inner plaintext's rules ---------------------------------------- */

static void
decode_fails(const uint8_t inner[K2_INNER_LEN], int want)
{
	struct k2_inner in;

	memset(&in, 0xa5, sizeof(in));
	assert_int_equal(k2_inner_decode(&in, inner), want);
	assert_true(all_zero(&in, sizeof(in)));
}

static void
test_inner_invalid(void **state)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	uint8_t b[K2_INNER_LEN];
	struct k2_inner in;
	unsigned v, off;
	size_t i;

	(void)state;
	for (i = 0; i < NVEC; i++) {
		/* version: anything but 2 */
		for (v = 0; v < 256; v++) {
			if (v == K2_VERSION)
				continue;
			memcpy(b, vecs[i].inner, sizeof(b));
			b[0] = (uint8_t)v;
			decode_fails(b, SL_EVERSION);
		}
		/* flags: any bit but 0x01 */
		for (v = 1; v < 256; v <<= 1) {
			memcpy(b, vecs[i].inner, sizeof(b));
			b[1] = (uint8_t)(b[1] | v);
			if (v == K2_F_RECEIPT)
				assert_int_equal(k2_inner_decode(&in, b), 0);
			else
				decode_fails(b, SL_EPARSE);
		}
		/* families other than 0, 4 and 6 */
		for (v = 0; v < 256; v++) {
			if (v == K2_FAM_NONE || v == K2_FAM_IPV4 ||
			    v == K2_FAM_IPV6)
				continue;
			memcpy(b, vecs[i].inner, sizeof(b));
			b[5] = (uint8_t)v;
			decode_fails(b, SL_EPARSE);
		}
		/* payload_len 200 and up */
		memcpy(b, vecs[i].inner, sizeof(b));
		b[6] = 0;
		b[7] = 200;
		decode_fails(b, SL_EPARSE);
		b[6] = 0xff;
		b[7] = 0xff;
		decode_fails(b, SL_EPARSE);
		b[6] = 1;       /* 256 + the real length */
		b[7] = vecs[i].inner[7];
		decode_fails(b, SL_EPARSE);
		/* padding: every byte past payload_len must be zero */
		for (off = 48u + vecs[i].in.payload_len; off < K2_INNER_LEN;
		    off++) {
			memcpy(b, vecs[i].inner, sizeof(b));
			b[off] = 0x01;
			decode_fails(b, SL_EPARSE);
		}
	}

	/* vector 1: IPv4 127.0.0.1 */
	for (off = 36; off < 48; off++) {
		memcpy(b, vecs[0].inner, sizeof(b));
		b[off] = 0x80;
		decode_fails(b, SL_EPARSE);
	}
	/* a shorter payload_len leaves "o" of "hello" as padding */
	memcpy(b, vecs[0].inner, sizeof(b));
	b[7] = 4;
	decode_fails(b, SL_EPARSE);
	/* the same address as IPv4-mapped IPv6 */
	memcpy(b, vecs[0].inner, sizeof(b));
	b[5] = K2_FAM_IPV6;
	memcpy(b + 32, mapped, sizeof(mapped));
	memcpy(b + 44, "\x7f\x00\x00\x01", 4);
	decode_fails(b, SL_EPARSE);
	/* family 0 with the address bytes still there */
	memcpy(b, vecs[0].inner, sizeof(b));
	b[5] = K2_FAM_NONE;
	decode_fails(b, SL_EPARSE);

	/* vector 2: no address named, empty payload */
	for (off = 32; off < 48; off++) {
		memcpy(b, vecs[1].inner, sizeof(b));
		b[off] = 0x01;
		decode_fails(b, SL_EPARSE);
	}
	for (off = 48; off < K2_INNER_LEN; off++) {
		memcpy(b, vecs[1].inner, sizeof(b));
		b[off] = 0xff;
		decode_fails(b, SL_EPARSE);
	}
	/* an address that cannot be granted is malformed: 0.0.0.0 and ::
	 * (family 4 or 6 with 16 zero bytes), 0/8, multicast, reserved and
	 * broadcast; their neighbours are fine */
	memcpy(b, vecs[1].inner, sizeof(b));
	b[5] = K2_FAM_IPV4;
	decode_fails(b, SL_EPARSE);
	b[5] = K2_FAM_IPV6;
	decode_fails(b, SL_EPARSE);
	{
		static const struct { uint8_t fam, first; int ok; } a[] = {
			{ K2_FAM_IPV4, 0, 0 }, { K2_FAM_IPV4, 1, 1 },
			{ K2_FAM_IPV4, 223, 1 }, { K2_FAM_IPV4, 224, 0 },
			{ K2_FAM_IPV4, 239, 0 }, { K2_FAM_IPV4, 240, 0 },
			{ K2_FAM_IPV4, 255, 0 }, { K2_FAM_IPV6, 0xfe, 1 },
			{ K2_FAM_IPV6, 0xff, 0 }, { K2_FAM_IPV6, 0x20, 1 },
		};
		size_t k;

		for (k = 0; k < sizeof(a) / sizeof(a[0]); k++) {
			memcpy(b, vecs[1].inner, sizeof(b));
			b[5] = a[k].fam;
			b[32] = a[k].first;
			b[35] = 1;
			if (a[k].ok)
				assert_int_equal(k2_inner_decode(&in, b), 0);
			else
				decode_fails(b, SL_EPARSE);
		}
	}

	/* vector 3: 2001:db8::1 and a full payload */
	memcpy(b, vecs[2].inner, sizeof(b));
	b[5] = K2_FAM_IPV4; /* an IPv6 address read as IPv4: tail not zero */
	decode_fails(b, SL_EPARSE);
	memcpy(b, vecs[2].inner, sizeof(b));
	memcpy(b + 32, mapped, sizeof(mapped));
	decode_fails(b, SL_EPARSE);
	/* ::ffff:0:0/96 only: ::1 and the IPv4-compatible ::a.b.c.d decode */
	memset(b + 32, 0, 16);
	b[47] = 1;
	assert_int_equal(k2_inner_decode(&in, b), 0);
	memcpy(b + 44, "\x7f\x00\x00\x01", 4);
	assert_int_equal(k2_inner_decode(&in, b), 0);
	b[42] = 0xff;   /* ::ff:7f00:1: not mapped either */
	assert_int_equal(k2_inner_decode(&in, b), 0);
	assert_int_equal(in.payload_len, K2_PAYLOAD_MAX);
}

static void
test_inner_encode_refuses(void **state)
{
	uint8_t out[K2_INNER_LEN];
	struct k2_inner in;
	unsigned f;

	(void)state;
	for (f = 2; f < 256; f <<= 1) {
		in = vecs[0].in;
		in.flags = (uint8_t)f;
		assert_int_equal(k2_inner_encode(out, &in), SL_EINVAL);
	}
	in = vecs[0].in;
	in.payload_len = K2_PAYLOAD_MAX + 1;
	assert_int_equal(k2_inner_encode(out, &in), SL_EINVAL);
	in = vecs[0].in;
	in.addr.family = 0;
	assert_int_equal(k2_inner_encode(out, &in), SL_EINVAL);
	in.addr.family = AF_UNIX;
	assert_int_equal(k2_inner_encode(out, &in), SL_EINVAL);
	/* nor an address that cannot be granted */
	in.addr.family = AF_INET;
	memcpy(in.addr.bytes, "\xff\xff\xff\xff", 4);
	assert_int_equal(k2_inner_encode(out, &in), SL_EINVAL);
	memcpy(in.addr.bytes, "\xe0\x00\x00\x01", 4);
	assert_int_equal(k2_inner_encode(out, &in), SL_EINVAL);
	memset(in.addr.bytes, 0, 16);
	assert_int_equal(k2_inner_encode(out, &in), SL_EINVAL);
	in.addr.family = AF_INET6;
	assert_int_equal(k2_inner_encode(out, &in), SL_EINVAL);
	in.addr.bytes[0] = 0xff;
	in.addr.bytes[15] = 1;
	assert_int_equal(k2_inner_encode(out, &in), SL_EINVAL);
	/* an IPv4-mapped IPv6 address is written as family 4 */
	memset(in.addr.bytes, 0, 16);
	in.addr.bytes[10] = in.addr.bytes[11] = 0xff;
	memcpy(in.addr.bytes + 12, "\x7f\x00\x00\x01", 4);
	assert_int_equal(k2_inner_encode(out, &in), 0);
	assert_int_equal(out[5], K2_FAM_IPV4);
	assert_memory_equal(out + 32, "\x7f\x00\x00\x01", 4);
	assert_true(all_zero(out + 36, 12));
	/* no address named: whatever is in addr is not written */
	in.has_addr = false;
	memset(&in.addr, 0xff, sizeof(in.addr));
	assert_int_equal(k2_inner_encode(out, &in), 0);
	assert_int_equal(out[5], K2_FAM_NONE);
	assert_true(all_zero(out + 32, 16));
	/* bytes of payload[] past payload_len are not written either */
	in = vecs[0].in;
	memset(in.payload + in.payload_len, 0xee,
	    K2_PAYLOAD_MAX - in.payload_len);
	assert_int_equal(k2_inner_encode(out, &in), 0);
	assert_memory_equal(out, vecs[0].inner, K2_INNER_LEN);
}

/* ---- a fresh knock --------------------------------------------------------- */

static void
test_seal_open_fresh(void **state)
{
	struct k2_userkeys uk;
	struct k2_open *o;
	struct k2_inner in, got;
	uint8_t dg[K2_DGRAM_LEN], dg2[K2_DGRAM_LEN], tag[K2_TAG_LEN];
	uint8_t rk[K2_KEY_LEN], rk2[K2_KEY_LEN], mac[K2_MAC_LEN];
	EVP_PKEY *small;
	size_t i;

	(void)state;
	assert_int_equal(k2_derive_user(file_key, &uk), 0);
	assert_int_equal(k2_open_new(priv, &o), 0);
	for (i = 0; i < NVEC; i++) {
		in = vecs[i].in;
		in.timestamp = 1900000000u + i * 7;
		in.nonce[0] ^= 0x55;
		assert_int_equal(k2_seal(pub, &uk, &in, NULL, dg, rk, mac), 0);
		assert_memory_equal(mac, dg + K2_OFF_MAC, K2_MAC_LEN);
		assert_int_equal(k2_tag(NULL, uk.tag_key,
		    k2_epoch(in.timestamp), tag), 0);
		assert_memory_equal(dg, tag, K2_TAG_LEN);
		assert_int_equal(k2_mac_verify(NULL, uk.mac_key, dg), 0);
		assert_int_equal(k2_open(o, dg, &got, rk2), 0);
		assert_inner_equal(&got, &in);
		assert_memory_equal(rk, rk2, K2_KEY_LEN);
		/* the same inner again: a new content key, nothing in common
		 * but the tag */
		assert_int_equal(k2_seal(pub, &uk, &in, NULL, dg2, rk2, NULL), 0);
		assert_memory_equal(dg2, dg, K2_TAG_LEN);
		assert_memory_not_equal(dg2 + K2_OFF_WRAP, dg + K2_OFF_WRAP,
		    K2_DGRAM_LEN - K2_OFF_WRAP);
		assert_memory_not_equal(rk, rk2, K2_KEY_LEN);
		assert_int_equal(k2_open(o, dg2, &got, rk2), 0);
		assert_inner_equal(&got, &in);
	}

	/*
	 * A content key given: the wrap (RSA-OAEP) still differs from the
	 * vector's, and so do the body tag and the MAC, but the body is the
	 * same ciphertext: the key and nonce alone make the ChaCha20 key
	 * stream.  This is why a client must take a fresh random CK for
	 * every knock.
	 */
	assert_int_equal(k2_seal(pub, &uk, &vecs[0].in, vecs[0].content_key, dg,
	    rk, NULL), 0);
	assert_memory_equal(rk, vecs[0].k_receipt, K2_KEY_LEN);
	assert_memory_not_equal(dg + K2_OFF_WRAP, vecs[0].wrap, K2_WRAP_LEN);
	assert_memory_equal(dg + K2_OFF_BODY, vecs[0].body, K2_INNER_LEN);
	assert_memory_not_equal(dg + K2_OFF_BODY_TAG, vecs[0].body_tag,
	    K2_AEAD_TAG_LEN);
	assert_int_equal(k2_open(o, dg, &got, rk2), 0);
	assert_inner_equal(&got, &vecs[0].in);

	/* an invalid inner is refused before anything is made */
	in = vecs[0].in;
	in.flags = 0x80;
	assert_int_equal(k2_seal(pub, &uk, &in, NULL, dg, NULL, NULL),
	    SL_EINVAL);
	/* the wrap is for RSA-2048 only */
	assert_non_null(small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
	    (size_t)1024));
	assert_int_equal(k2_seal(small, &uk, &vecs[0].in, NULL, dg, NULL,
	    NULL), SL_ECRYPTO);
	EVP_PKEY_free(small);
	k2_open_free(o);
	OPENSSL_cleanse(&uk, sizeof(uk));
}

/* ---- receipts ----------------------------------------------------------- */

/* ChaCha20-Poly1305 done here with EVP, for plaintexts k2_receipt_seal will
 * not make. */
static void
raw_receipt(const uint8_t key[K2_KEY_LEN], const uint8_t mac[K2_MAC_LEN],
    const uint8_t pt[K2_RECEIPT_PT_LEN], uint8_t out[K2_RECEIPT_LEN])
{
	static const uint8_t nonce[12];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n;

	assert_non_null(c);
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), NULL,
	    key, nonce), 1);
	assert_int_equal(EVP_EncryptUpdate(c, NULL, &n, mac, K2_MAC_LEN), 1);
	assert_int_equal(EVP_EncryptUpdate(c, out, &n, pt, K2_RECEIPT_PT_LEN),
	    1);
	assert_int_equal(n, K2_RECEIPT_PT_LEN);
	assert_int_equal(EVP_EncryptFinal_ex(c, out + n, &n), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG,
	    K2_AEAD_TAG_LEN, out + K2_RECEIPT_PT_LEN), 1);
	EVP_CIPHER_CTX_free(c);
}

static void
test_receipt_vectors(void **state)
{
	EVP_CIPHER_CTX *c = k2_aead_new();
	struct k2_receipt r;
	uint8_t out[K2_RECEIPT_LEN], buf[K2_RECEIPT_LEN + 1];
	size_t i, j, bit, len;

	(void)state;
	assert_non_null(c);
	for (i = 0; i < NVEC; i++) {
		const struct vector *v = &vecs[i];

		assert_int_equal(k2_receipt_open(c, v->k_receipt, v->mac,
		    v->receipt_bin, K2_RECEIPT_LEN, &r), 0);
		assert_int_equal(r.status, v->r.status);
		assert_int_equal(r.reason, v->r.reason);
		assert_int_equal(r.value, v->r.value);
		assert_true(r.server_time == v->r.server_time);
		assert_int_equal(k2_receipt_open(NULL, v->k_receipt, v->mac,
		    v->receipt_bin, K2_RECEIPT_LEN, &r), 0);
		assert_int_equal(k2_receipt_seal(c, v->k_receipt, v->mac, &v->r,
		    out), 0);
		assert_memory_equal(out, v->receipt, K2_RECEIPT_LEN);
		assert_int_equal(k2_receipt_seal(NULL, v->k_receipt, v->mac,
		    &v->r, out), 0);
		assert_memory_equal(out, v->receipt, K2_RECEIPT_LEN);

		/* every bit of the receipt */
		memcpy(buf, v->receipt, K2_RECEIPT_LEN);
		for (bit = 0; bit < K2_RECEIPT_LEN * 8; bit++) {
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			memset(&r, 0xa5, sizeof(r));
			assert_int_equal(k2_receipt_open(c, v->k_receipt, v->mac,
			    buf, K2_RECEIPT_LEN, &r), SL_EAUTH);
			assert_true(all_zero(&r, sizeof(r)));
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		/* every bit of the key and of the knock's mac */
		for (bit = 0; bit < K2_KEY_LEN * 8; bit++) {
			uint8_t k[K2_KEY_LEN], m[K2_MAC_LEN];

			memcpy(k, v->k_receipt, sizeof(k));
			memcpy(m, v->mac, sizeof(m));
			k[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(k2_receipt_open(c, k, v->mac, buf,
			    K2_RECEIPT_LEN, &r), SL_EAUTH);
			m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(k2_receipt_open(c, v->k_receipt, m, buf,
			    K2_RECEIPT_LEN, &r), SL_EAUTH);
		}
		/* wrong sizes: refused before any cryptography */
		for (len = 0; len <= K2_RECEIPT_LEN + 1; len++) {
			if (len == K2_RECEIPT_LEN)
				continue;
			memset(buf, 0, sizeof(buf));
			memcpy(buf, v->receipt, len < K2_RECEIPT_LEN ? len :
			    K2_RECEIPT_LEN);
			assert_int_equal(k2_receipt_open(c, v->k_receipt, v->mac,
			    buf, len, &r), SL_ELEN);
		}
		assert_int_equal(k2_receipt_open(c, v->k_receipt, v->mac,
		    v->bin, K2_DGRAM_LEN, &r), SL_ELEN);
		/*
		 * Another knock's mac: the vectors share one content key and
		 * so one K_rcpt; the mac alone binds a receipt to its knock.
		 */
		for (j = 0; j < NVEC; j++) {
			if (j == i)
				continue;
			assert_memory_equal(vecs[j].k_receipt, v->k_receipt,
			    K2_KEY_LEN);
			assert_int_equal(k2_receipt_open(c, v->k_receipt,
			    vecs[j].mac, v->receipt, K2_RECEIPT_LEN, &r),
			    SL_EAUTH);
		}
	}
	k2_aead_free(c);
}

static void
test_receipt_rules(void **state)
{
	const struct vector *v = &vecs[0];
	struct k2_receipt r, got;
	uint8_t pt[K2_RECEIPT_PT_LEN], out[K2_RECEIPT_LEN], again[K2_RECEIPT_LEN];
	unsigned st, rs;

	(void)state;
	/* what the sender may not say */
	r = v->r;
	r.status = K2_ST_MAX + 1;
	assert_int_equal(k2_receipt_seal(NULL, v->k_receipt, v->mac, &r, out),
	    SL_EINVAL);
	r = v->r;
	r.reason = K2_R_MAX + 1;
	assert_int_equal(k2_receipt_seal(NULL, v->k_receipt, v->mac, &r, out),
	    SL_EINVAL);

	/* a reason belongs to "refused" only, a value not to refused or busy */
	r = v->r;
	r.reason = K2_R_DENIED;
	assert_int_equal(k2_receipt_seal(NULL, v->k_receipt, v->mac, &r, out),
	    SL_EINVAL);
	r.status = K2_ST_REFUSED;
	r.reason = K2_R_NONE;
	r.value = 0;
	assert_int_equal(k2_receipt_seal(NULL, v->k_receipt, v->mac, &r, out),
	    SL_EINVAL);
	r.reason = K2_R_DENIED;
	r.value = 1;
	assert_int_equal(k2_receipt_seal(NULL, v->k_receipt, v->mac, &r, out),
	    SL_EINVAL);
	r.status = K2_ST_BUSY;
	r.reason = K2_R_NONE;
	assert_int_equal(k2_receipt_seal(NULL, v->k_receipt, v->mac, &r, out),
	    SL_EINVAL);

	/* every valid status and reason round-trips; values at the extremes;
	 * every invalid combination is refused by seal and open alike */
	for (st = 0; st <= K2_ST_MAX; st++)
		for (rs = 0; rs <= K2_R_MAX; rs++) {
			int valid = st == K2_ST_REFUSED ? rs != K2_R_NONE :
			    rs == K2_R_NONE;

			r.status = (uint8_t)st;
			r.reason = (uint8_t)rs;
			r.value = st == K2_ST_FAILED ? K2_VAL_NOT_STARTED :
			    st == K2_ST_DONE ? 86400 : 0;
			r.server_time = UINT64_MAX - st;
			if (!valid) {
				assert_int_equal(k2_receipt_seal(NULL,
				    v->k_receipt, v->mac, &r, out), SL_EINVAL);
				memcpy(pt, "\x02\x00\x00\x00\x00\x00\x00\x00"
				    "\x00\x00\x00\x00\x6a\x18\xa5\x01",
				    sizeof(pt));
				pt[1] = (uint8_t)st;
				pt[2] = (uint8_t)rs;
				raw_receipt(v->k_receipt, v->mac, pt, out);
				assert_int_equal(k2_receipt_open(NULL,
				    v->k_receipt, v->mac, out, sizeof(out),
				    &got), SL_EPARSE);
				continue;
			}
			assert_int_equal(k2_receipt_seal(NULL, v->k_receipt,
			    v->mac, &r, out), 0);
			assert_int_equal(k2_receipt_open(NULL, v->k_receipt,
			    v->mac, out, sizeof(out), &got), 0);
			assert_int_equal(got.status, st);
			assert_int_equal(got.reason, rs);
			assert_int_equal(got.value, r.value);
			assert_true(got.server_time == r.server_time);
		}

	/* the plaintext layout, byte by byte: vector 1, done, 300 s */
	memcpy(pt, "\x02\x00\x00\x00\x00\x00\x01\x2c"
	    "\x00\x00\x00\x00\x6a\x18\xa5\x01", sizeof(pt));
	raw_receipt(v->k_receipt, v->mac, pt, out);
	assert_memory_equal(out, v->receipt, K2_RECEIPT_LEN);

	/* well sealed but malformed: SL_EPARSE, nothing returned */
	pt[0] = 1;              /* version */
	raw_receipt(v->k_receipt, v->mac, pt, out);
	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(k2_receipt_open(NULL, v->k_receipt, v->mac, out,
	    sizeof(out), &got), SL_EPARSE);
	assert_true(all_zero(&got, sizeof(got)));
	pt[0] = 2;
	pt[3] = 1;              /* reserved */
	raw_receipt(v->k_receipt, v->mac, pt, out);
	assert_int_equal(k2_receipt_open(NULL, v->k_receipt, v->mac, out,
	    sizeof(out), &got), SL_EPARSE);
	pt[3] = 0;
	pt[1] = K2_ST_MAX + 1;  /* status */
	raw_receipt(v->k_receipt, v->mac, pt, out);
	assert_int_equal(k2_receipt_open(NULL, v->k_receipt, v->mac, out,
	    sizeof(out), &got), SL_EPARSE);
	pt[1] = K2_ST_REFUSED;
	pt[2] = K2_R_MAX + 1;   /* reason */
	raw_receipt(v->k_receipt, v->mac, pt, out);
	assert_int_equal(k2_receipt_open(NULL, v->k_receipt, v->mac, out,
	    sizeof(out), &got), SL_EPARSE);
	pt[2] = K2_R_DENIED;
	pt[4] = pt[5] = pt[6] = pt[7] = 0;
	raw_receipt(v->k_receipt, v->mac, pt, out);
	assert_int_equal(k2_receipt_open(NULL, v->k_receipt, v->mac, out,
	    sizeof(out), &got), 0);
	assert_int_equal(k2_receipt_seal(NULL, v->k_receipt, v->mac, &got,
	    again), 0);
	assert_memory_equal(again, out, K2_RECEIPT_LEN);
}

static int
setup(void **state)
{
	char err[256];
	size_t i;

	(void)state;
	if (crypto_load_hmac_key(vec("user1.hmac.key"), 0, file_key, err,
	    sizeof(err)) != 0 ||
	    crypto_load_private(vec("server.priv.pem"), 0, &priv, err,
	    sizeof(err)) != 0 ||
	    crypto_load_public(vec("server.pub.pem"), &pub, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "test_knock2: %s\n", err);
		return -1;
	}
	for (i = 0; i < NVEC; i++)
		load_vector(i, &vecs[i]);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_files),
		cmocka_unit_test(test_derive_tag_content_keys),
		cmocka_unit_test(test_inner_vectors),
		cmocka_unit_test(test_seal_wrapped_vectors),
		cmocka_unit_test(test_mac_every_bit),
		cmocka_unit_test(test_open_vectors),
		cmocka_unit_test(test_open_every_bit),
		cmocka_unit_test(test_inner_invalid),
		cmocka_unit_test(test_inner_encode_refuses),
		cmocka_unit_test(test_seal_open_fresh),
		cmocka_unit_test(test_receipt_vectors),
		cmocka_unit_test(test_receipt_rules),
	};

	return cmocka_run_group_tests_name("knock2", tests, setup, teardown);
}
