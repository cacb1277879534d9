/*
 * k2vec - writes the format-2 test vectors of tests/vectors/v2/ (see the
 * README there).  Not installed.
 *
 *   k2vec SERVER_PUB HMAC_KEY OUTDIR
 *
 * Every input is fixed except the RSA-OAEP randomness, so each run gives a
 * different wrap (and so a different body tag, mac and receipt: the wrap is
 * associated data of the body, and the mac covers it); the vectors record
 * the wrap that was made, and everything else follows from it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "knock2.h"
#include "util.h"

struct vec {
	const char *name;
	uint16_t user_id;
	uint8_t action_id, flags;
	const char *addr;       /* NULL: none named */
	uint64_t timestamp;
	const char *payload;    /* NULL: 199 bytes 0x00..0xc6 */
	uint8_t status, reason;
	uint32_t value;
	uint64_t server_time;
};

static const struct vec vecs[] = {
	{ "knock2-1", 1, 2, K2_F_RECEIPT, "127.0.0.1", 1780000000u, "hello",
	  K2_ST_DONE, K2_R_NONE, 300, 1780000001u },
	{ "knock2-2", 1, 7, 0, NULL, 1780000029u, "", K2_ST_REFUSED,
	  K2_R_DENIED, 0, 1780000030u },
	{ "knock2-3", 1, 255, K2_F_RECEIPT, "2001:db8::1", 1780000030u, NULL,
	  K2_ST_FAILED, K2_R_NONE, 3, 1780000031u },
};

static void
hex(FILE *f, const char *k, const uint8_t *p, size_t n)
{
	size_t i;

	fprintf(f, "%s = ", k);
	for (i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fputc('\n', f);
}

static int
write_bin(const char *dir, const char *name, const char *ext,
    const uint8_t *p, size_t n)
{
	char path[1024];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s%s", dir, name, ext);
	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	ok = fwrite(p, 1, n, f) == n;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int
one(const struct vec *v, EVP_PKEY *pub, const uint8_t key[32],
    const char *dir)
{
	struct k2_userkeys uk;
	struct k2_inner in;
	struct k2_receipt r = { v->status, v->reason, v->value, v->server_time };
	uint8_t ck[K2_CK_LEN], bk[K2_KEY_LEN], rk[K2_KEY_LEN], rk2[K2_KEY_LEN];
	uint8_t dgram[K2_DGRAM_LEN], inner[K2_INNER_LEN], mac[K2_MAC_LEN];
	uint8_t rcpt[K2_RECEIPT_LEN];
	char path[1024];
	unsigned i;
	FILE *f;

	memset(&in, 0, sizeof(in));
	in.flags = v->flags;
	in.user_id = v->user_id;
	in.action_id = v->action_id;
	in.timestamp = v->timestamp;
	for (i = 0; i < K2_NONCE_LEN; i++)
		in.nonce[i] = (uint8_t)i;
	for (i = 0; i < K2_CK_LEN; i++)
		ck[i] = (uint8_t)(0x20 + i);
	if (v->addr != NULL) {
		in.has_addr = true;
		if (inet_pton(AF_INET, v->addr, in.addr.bytes) == 1)
			in.addr.family = AF_INET;
		else if (inet_pton(AF_INET6, v->addr, in.addr.bytes) == 1)
			in.addr.family = AF_INET6;
		else
			return -1;
	}
	if (v->payload != NULL) {
		in.payload_len = (uint16_t)strlen(v->payload);
		memcpy(in.payload, v->payload, in.payload_len);
	} else {
		in.payload_len = K2_PAYLOAD_MAX;
		for (i = 0; i < K2_PAYLOAD_MAX; i++)
			in.payload[i] = (uint8_t)i;
	}
	if (k2_derive_user(key, &uk) != 0 ||
	    k2_seal(pub, &uk, &in, ck, dgram, rk, mac) != 0 ||
	    k2_content_keys(NULL, ck, bk, rk2) != 0 ||
	    k2_inner_encode(inner, &in) != 0 ||
	    k2_receipt_seal(NULL, rk, mac, &r, rcpt) != 0 ||
	    memcmp(rk, rk2, sizeof(rk)) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s.txt", dir, v->name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "# format-2 test vector %s (docs/PROTOCOL.md); keys: "
	    "server.pub.pem, user1.hmac.key\n", v->name);
	fprintf(f, "timestamp = %llu\nepoch = %llu\n",
	    (unsigned long long)v->timestamp,
	    (unsigned long long)k2_epoch(v->timestamp));
	hex(f, "user_key", key, 32);
	hex(f, "k_tag", uk.tag_key, 32);
	hex(f, "k_mac", uk.mac_key, 32);
	hex(f, "tag", dgram + K2_OFF_TAG, K2_TAG_LEN);
	hex(f, "content_key", ck, sizeof(ck));
	hex(f, "k_body", bk, sizeof(bk));
	hex(f, "k_receipt", rk, sizeof(rk));
	hex(f, "inner", inner, sizeof(inner));
	hex(f, "wrap", dgram + K2_OFF_WRAP, K2_WRAP_LEN);
	hex(f, "body", dgram + K2_OFF_BODY, K2_INNER_LEN);
	hex(f, "body_tag", dgram + K2_OFF_BODY_TAG, K2_AEAD_TAG_LEN);
	hex(f, "mac", mac, sizeof(mac));
	hex(f, "datagram", dgram, sizeof(dgram));
	fprintf(f, "receipt_status = %u\nreceipt_reason = %u\n"
	    "receipt_value = %u\nreceipt_server_time = %llu\n", r.status,
	    r.reason, r.value, (unsigned long long)r.server_time);
	hex(f, "receipt", rcpt, sizeof(rcpt));
	if (fclose(f) != 0 ||
	    write_bin(dir, v->name, ".bin", dgram, sizeof(dgram)) != 0 ||
	    write_bin(dir, v->name, ".receipt.bin", rcpt, sizeof(rcpt)) != 0)
		return -1;
	OPENSSL_cleanse(&uk, sizeof(uk));
	return 0;
}

int
main(int argc, char **argv)
{
	EVP_PKEY *pub = NULL;
	uint8_t key[SL_HMAC_KEY_LEN];
	char err[512];
	size_t i;

	if (argc != 4) {
		fprintf(stderr, "usage: k2vec SERVER_PUB HMAC_KEY OUTDIR\n");
		return 2;
	}
	if (crypto_load_public(argv[1], &pub, err, sizeof(err)) != 0 ||
	    crypto_load_hmac_key(argv[2], 0, key, err, sizeof(err)) != 0) {
		fprintf(stderr, "k2vec: %s\n", err);
		return 1;
	}
	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++)
		if (one(&vecs[i], pub, key, argv[3]) != 0) {
			fprintf(stderr, "k2vec: %s failed\n", vecs[i].name);
			return 1;
		}
	EVP_PKEY_free(pub);
	return 0;
}
