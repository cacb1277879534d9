/*
 * fuzz_datagram.c - the whole receive path, bytes in, decision out:
 * pipeline_process() with a hand-built configuration (the test key of
 * tests/vectors), a memory-only replay cache and a fixed clock.
 *
 * Input: byte 0 selects mode (% 3), source address (/ 3 % 4) and server
 * (/ 12 % 3; server 2 is disabled).  Then:
 *   mode A (0): the rest is the datagram, any length, as received.
 *   mode B (1): the rest is the 245-byte plaintext (zero-padded or cut),
 *               encrypted here to server.pub.pem, so crafted packets get
 *               past the RSA layer to parse / verify / replay / authorize.
 *   mode C (2): byte 1 = flags, byte 2 = int8 clock offset, the rest the
 *               plaintext as in B; before encryption the HMAC is made right
 *               with the key of the user it names, and (flags bit 0) a
 *               timestamp outside the window is set to now + offset, so
 *               authenticated packets, fresh and stale, reach the stages
 *               after the HMAC.
 *
 * Every decision is checked against a reference written here from
 * docs/PROTOCOL.md (HMAC by OpenSSL one-shot calls over the raw plaintext,
 * window, authorization rules); any disagreement aborts.  The duplicate
 * cache is on; the rate budgets are set out of reach (they have their own
 * unit tests), so a packet is never dropped for them.  The replay cache,
 * duplicate cache and rate tables are made afresh every RESET_EVERY inputs,
 * and once a full replay cache has refused FULL_RESET packets.
 */
#include <string.h>
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto.h"
#include "log.h"
#include "pipeline.h"
#include "replay.h"
#include "util.h"
#include "wire.h"

#include "fuzz.h"

#define NOW          ((time_t)1795702100) /* the vectors are 76-78 s old */
#define WINDOW       120u
#define CACHE_SIZE   32u                  /* small: a full cache is reached */
#define RESET_EVERY  10000u               /* inputs between fresh caches */
#define FULL_RESET   16u                  /* ... or refusals for a full one */
#define NSRC         4
#define NVEC         3

static struct config *cfg;
static EVP_PKEY *pub;
static struct replay *rp;
static struct pipeline *pl;
static unsigned long inputs;
static uint8_t vec_key[SL_HMAC_KEY_LEN], other_key[SL_HMAC_KEY_LEN];
static uint8_t vec_dgram[NVEC][SL_DGRAM_LEN];
static struct sl_addr srcs[NSRC];
static int trace;          /* FUZZ_TRACE=1: one line per datagram */

static void
load_file(const char *path, uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "rb");

	FUZZ_SETUP(f != NULL);
	FUZZ_SETUP(fread(buf, 1, len, f) == len);
	fclose(f);
}

static void
set_list(struct sl_cidr_list *l, const char *s)
{
	char bad[64];

	FUZZ_SETUP(addr_parse_list(s, l, bad, sizeof(bad)) == 0);
}

static void
add_action(unsigned id, bool enabled, bool ascii, bool discard,
    const char *allowed)
{
	struct cfg_action *a = &cfg->actions[cfg->nactions];

	snprintf(a->name, sizeof(a->name), "act%u", id);
	a->id = (int)id;
	a->enabled = enabled;
	a->require_ascii = ascii;
	a->discard_payload = discard;
	sl_strlcpy(a->constructor, "/bin/true", sizeof(a->constructor));
	set_list(&a->allowed_ips, allowed);
	cfg->action_by_id[id] = (int16_t)cfg->nactions++;
}

static void
add_user(unsigned id, bool enabled, const uint8_t *key, const char *allowed,
    const unsigned *acts, size_t nacts)
{
	struct cfg_user *u = &cfg->users[cfg->nusers];
	size_t i;

	snprintf(u->name, sizeof(u->name), "user%u", id);
	u->id = (int)id;
	u->enabled = enabled;
	memcpy(u->hmac_key, key, SL_HMAC_KEY_LEN);
	set_list(&u->allowed_ips, allowed);
	for (i = 0; i < nacts; i++)
		idset_add(&u->actions, acts[i]);
	cfg->user_by_id[id] = (int16_t)cfg->nusers++;
}

static void
add_server(const char *name, bool enabled, EVP_PKEY *priv, const char *allowed,
    const unsigned *acts, size_t nacts)
{
	struct cfg_server *s = &cfg->servers[cfg->nservers++];
	size_t i;

	sl_strlcpy(s->name, name, sizeof(s->name));
	s->enabled = enabled;
	s->secure = true;
	s->logging = true;
	s->format1 = true;
	s->port = 50000;
	s->priv = priv;
	set_list(&s->allowed_ips, allowed);
	for (i = 0; i < nacts; i++)
		idset_add(&s->actions, acts[i]);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char base_conf[] =
    "priv_key_path = tests/vectors/server.priv.pem\n"
    "timestamp_window = 120\n"
    "ratelimit_source_budget = 100000\n"
    "ratelimit_prefix_budget = 1000000\n"
    "ratelimit_window = 1\n"
    "max_decrypts_per_sec = 0\n"
    "ratelimit_table_size = 64\n"
    "dup_cache_size = 1024\n"
    "[server:base]\n";

static void
build_config(void)
{
	static const unsigned all[] = { 1, 2, 3, 4, 5, 6, 42, 200, 255 };
	static const unsigned srv0[] = { 1, 2, 3, 4, 5, 42, 200, 255 };
	static const unsigned srv1[] = { 1, 2, 3 };
	static const unsigned u7[] = { 42, 2, 3 };
	static const unsigned u513[] = { 200, 5, 6 };
	static const unsigned u2[] = { 1, 2, 3, 4, 5, 6 };
	static const unsigned u65535[] = { 255, 1 };
	static const unsigned u9[] = { 1 };
	EVP_PKEY *priv;
	char err[512];
	size_t i;

	/*
	 * Every default from the parser, budgets too generous to drop anything
	 * (each source fails at most 3 * RESET_EVERY times between fresh
	 * filters), then servers, actions and users by hand.
	 */
	FUZZ_SETUP((cfg = calloc(1, sizeof(*cfg))) != NULL);
	FUZZ_SETUP(config_parse_string(cfg, "fuzz_datagram", base_conf, err,
	    sizeof(err)) == 0);
	FUZZ_SETUP(cfg->timestamp_window == WINDOW && cfg->nactions == 0 &&
	    cfg->nusers == 0);
	memset(cfg->servers, 0, sizeof(cfg->servers));
	cfg->nservers = 0;

	FUZZ_SETUP(crypto_load_private("tests/vectors/server.priv.pem", 0, &priv,
	    err, sizeof(err)) == 0);
	FUZZ_SETUP(EVP_PKEY_up_ref(priv) == 1);
	/* server 0 takes every action except 6; server 1 a few, IPv4 only */
	add_server("main", true, priv, "127.0.0.0/8, 10.0.0.0/8, ::1",
	    srv0, N(srv0));
	add_server("second", true, priv, "127.0.0.1/32, 192.0.2.0/24", srv1,
	    N(srv1));
	add_server("off", false, NULL, "", all, N(all));

	add_action(1, true, false, false, "");
	add_action(2, true, true, false, "");
	add_action(3, true, false, true, "");
	add_action(4, false, false, false, "");
	add_action(5, true, false, false, "10.0.0.0/8");
	add_action(6, true, false, false, "");
	add_action(42, true, false, false, "");
	add_action(200, true, true, false, "::/0, 127.0.0.0/8");
	add_action(255, true, true, true, "");

	/* users 1, 7, 513 are those of the vectors */
	add_user(1, true, vec_key, "", all, N(all));
	add_user(7, true, vec_key, "127.0.0.1, ::1/128", u7, N(u7));
	add_user(513, true, vec_key, "", u513, N(u513));
	add_user(2, true, other_key, "10.1.0.0/16, 192.0.2.7", u2, N(u2));
	add_user(3, false, other_key, "", all, N(all));
	add_user(65535, true, other_key, "", u65535, N(u65535));
	add_user(9, true, vec_key, "", u9, N(u9));
	for (i = 0; i < cfg->nusers; i++)
		FUZZ_SETUP(config_user_by_id(cfg, (uint16_t)cfg->users[i].id) ==
		    (cfg->users[i].enabled ? &cfg->users[i] : NULL));
}

static void
fresh_state(void)
{
	enum replay_load how;
	char err[256];

	pipeline_free(pl);
	replay_close(rp);
	FUZZ_SETUP(replay_open(&rp, NULL, CACHE_SIZE, WINDOW, NOW, &how, err,
	    sizeof(err)) == 0);
	FUZZ_SETUP(pipeline_new(&pl, cfg, rp, NULL) == 0);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t v4[NSRC][4] = {
		{ 127, 0, 0, 1 }, { 10, 1, 2, 3 }, { 0 }, { 192, 0, 2, 7 },
	};
	char err[512], path[64];
	size_t i;

	(void)argc;
	(void)argv;
	trace = getenv("FUZZ_TRACE") != NULL;
	FUZZ_SETUP(crypto_load_hmac_key("tests/vectors/user1.hmac.key", 0,
	    vec_key, err, sizeof(err)) == 0);
	for (i = 0; i < SL_HMAC_KEY_LEN; i++)
		other_key[i] = (uint8_t)(vec_key[i] ^ 0x5a);
	FUZZ_SETUP(crypto_load_public("tests/vectors/server.pub.pem", &pub, err,
	    sizeof(err)) == 0);
	for (i = 0; i < NVEC; i++) {
		snprintf(path, sizeof(path), "tests/vectors/knock%zu.bin", i + 1);
		load_file(path, vec_dgram[i], SL_DGRAM_LEN);
	}
	for (i = 0; i < NSRC; i++) {
		srcs[i].family = AF_INET;
		memcpy(srcs[i].bytes, v4[i], 4);
	}
	srcs[2].family = AF_INET6;
	srcs[2].bytes[15] = 1; /* ::1 */
	/* every log line is formatted (and written nowhere) */
	log_set_limits(~0u, 1);
	build_config();
	fresh_state();
	return 0;
}

/* ---- the reference -------------------------------------------------- */

struct ref {
	int valid;            /* version, length field, user, HMAC all right */
	int fresh;            /* timestamp within the window */
	uint32_t ts;
	uint16_t uid, plen;
	uint8_t aid;
	const uint8_t *payload;
};

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* HMAC-SHA256(key, SHA-256(pt[0..12) | pt[44..46) | payload)), one-shot. */
static void
ref_hmac(const uint8_t *pt, uint16_t plen, const uint8_t *key, uint8_t *out)
{
	uint8_t msg[14 + SL_PAYLOAD_MAX], digest[32];
	unsigned int dlen = 0, hlen = 0;

	memcpy(msg, pt, 12);
	memcpy(msg + 12, pt + 44, 2);
	memcpy(msg + 14, pt + 46, plen);
	FUZZ_CHECK(EVP_Digest(msg, 14u + plen, digest, &dlen, EVP_sha256(),
	    NULL) == 1 && dlen == 32);
	FUZZ_CHECK(HMAC(EVP_sha256(), key, SL_HMAC_KEY_LEN, digest, 32, out,
	    &hlen) != NULL && hlen == SL_HMAC_LEN);
}

static void
ref_eval(const uint8_t pt[SL_PACKET_LEN], struct ref *r)
{
	const struct cfg_user *u;
	uint8_t mac[SL_HMAC_LEN];
	int64_t skew;

	memset(r, 0, sizeof(*r));
	r->ts = le32(pt + 1);
	r->uid = le16(pt + 5);
	r->aid = pt[7];
	r->plen = le16(pt + 44);
	r->payload = pt + 46;
	if (pt[0] != 1 || r->plen > SL_PAYLOAD_MAX)
		return;
	if ((u = config_user_by_id(cfg, r->uid)) == NULL)
		return;
	ref_hmac(pt, r->plen, u->hmac_key, mac);
	r->valid = memcmp(mac, pt + 12, SL_HMAC_LEN) == 0;
	skew = (int64_t)r->ts - (int64_t)NOW;
	r->fresh = skew >= -(int64_t)WINDOW && skew <= (int64_t)WINDOW;
}

/* Authorization as PROTOCOL.md states it: 0, SL_EDENIED or SL_ENOTASCII. */
static int
ref_authz(unsigned si, const struct sl_addr *src, const struct ref *r)
{
	const struct cfg_server *s = &cfg->servers[si];
	const struct cfg_user *u = config_user_by_id(cfg, r->uid);
	const struct cfg_action *a = config_action_by_id(cfg, r->aid);
	size_t i;

	if (u == NULL || a == NULL || !a->enabled ||
	    !idset_has(&u->actions, r->aid) || !idset_has(&s->actions, r->aid) ||
	    !addr_in_list(&s->allowed_ips, src) ||
	    !addr_in_list(&u->allowed_ips, src) ||
	    !addr_in_list(&a->allowed_ips, src))
		return SL_EDENIED;
	if (a->discard_payload)
		return 0;
	if (a->require_ascii)
		for (i = 0; i < r->plen; i++)
			if (r->payload[i] < 0x20 || r->payload[i] > 0x7e)
				return SL_ENOTASCII;
	return 0;
}

/* ---- the harness ------------------------------------------------------ */

/* The counter that must move for each outcome (NULL: none known). */
static const uint64_t *
counter_for(const struct pipeline_stats *st, int rc)
{
	switch (rc) {
	case 0: return &st->accepted;
	case SL_ELEN: return &st->bad_length;
	case SL_EAUTH: return &st->rejected;
	case SL_ESTALE: return &st->stale;
	case SL_EREPLAY: return &st->replayed;
	case SL_EDENIED: return &st->denied;
	case SL_ENOTASCII: return &st->not_ascii;
	case SL_EFULL: return &st->cache_full;
	case SL_EDUP: return &st->duplicate;
	default: return NULL;
	}
}

static int
process(unsigned si, const uint8_t *dg, size_t len, const struct sl_addr *src,
    struct sl_request *req)
{
	struct pipeline_stats before = *pipeline_get_stats(pl);
	const struct pipeline_stats *after;
	uint32_t cached = replay_count(rp);
	int rc;

	memset(req, 0xa5, sizeof(*req));
	rc = pipeline_process(pl, si, dg, len, src, NOW, req);
	after = pipeline_get_stats(pl);
	if (trace)
		fprintf(stderr, "server %u, %zu bytes: %d (%s)\n", si, len, rc,
		    rc == 0 ? "accepted" : sl_strerror(rc));
	FUZZ_CHECK(after->received == before.received + 1);
	if (si >= cfg->nservers || !cfg->servers[si].enabled) {
		FUZZ_CHECK(rc == SL_EINVAL);
		return rc;
	}
	FUZZ_CHECK(rc <= 0);
	FUZZ_CHECK(rc != SL_ERATE); /* the budgets are out of reach */
	if (counter_for(after, rc) != NULL)
		FUZZ_CHECK(*counter_for(after, rc) ==
		    *counter_for(&before, rc) + 1);
	if (len != SL_DGRAM_LEN)
		FUZZ_CHECK(rc == SL_ELEN);
	else
		FUZZ_CHECK(rc != SL_ELEN);
	if (rc == SL_EFULL)
		FUZZ_CHECK(cached == CACHE_SIZE);
	/* recorded once authenticated and fresh, before authorization */
	if (rc == 0 || rc == SL_EDENIED || rc == SL_ENOTASCII)
		FUZZ_CHECK(replay_count(rp) == cached + 1);
	else
		FUZZ_CHECK(replay_count(rp) == cached);
	return rc;
}

/* An authorized request, whatever the mode: consistent with the config. */
static void
check_request(unsigned si, const struct sl_addr *src,
    const struct sl_request *req)
{
	const struct cfg_user *u = config_user_by_id(cfg, req->user_id);
	const struct cfg_action *a = config_action_by_id(cfg, req->action_id);
	int64_t skew = (int64_t)req->timestamp - (int64_t)NOW;

	FUZZ_CHECK(req->magic == SL_REQ_MAGIC);
	FUZZ_CHECK(req->payload_len <= SL_PAYLOAD_MAX);
	FUZZ_CHECK(req->secure == 1);
	FUZZ_CHECK(req->server_idx == si);
	FUZZ_CHECK(memcmp(&req->src, src, sizeof(*src)) == 0);
	FUZZ_CHECK(skew >= -(int64_t)WINDOW && skew <= (int64_t)WINDOW);
	FUZZ_CHECK(u != NULL && a != NULL);
	FUZZ_CHECK(idset_has(&u->actions, req->action_id));
	FUZZ_CHECK(idset_has(&cfg->servers[si].actions, req->action_id));
	FUZZ_CHECK(addr_in_list(&cfg->servers[si].allowed_ips, src));
	FUZZ_CHECK(addr_in_list(&u->allowed_ips, src));
	FUZZ_CHECK(addr_in_list(&a->allowed_ips, src));
	if (a->discard_payload)
		FUZZ_CHECK(req->payload_len == 0);
	else if (a->require_ascii)
		FUZZ_CHECK(sl_is_printable_ascii(req->payload, req->payload_len));
}

static void
mode_raw(unsigned si, const struct sl_addr *src, const uint8_t *dg, size_t len)
{
	struct sl_request req;
	int rc, known = 0;
	size_t i;

	rc = process(si, dg, len, src, &req);
	if (rc == SL_EINVAL || len != SL_DGRAM_LEN)
		return;
	for (i = 0; i < NVEC; i++)
		known |= memcmp(dg, vec_dgram[i], SL_DGRAM_LEN) == 0;
	/* nobody forges an RSA ciphertext with a valid HMAC inside */
	if (!known)
		FUZZ_CHECK(rc == SL_EAUTH || rc == SL_EDUP);
	if (rc != 0)
		return;
	check_request(si, src, &req);
	/* a copy: dropped as a duplicate before the crypto */
	FUZZ_CHECK(process(si, dg, len, src, &req) == SL_EDUP);
}

static void
mode_plain(unsigned si, const struct sl_addr *src, uint8_t pt[SL_PACKET_LEN])
{
	uint8_t ct[SL_DGRAM_LEN];
	struct sl_request req;
	struct ref r;
	int rc, want;

	FUZZ_CHECK(crypto_enc_knock(pub, pt, ct) == 0);
	ref_eval(pt, &r);
	rc = process(si, ct, sizeof(ct), src, &req);
	if (rc == SL_EINVAL)
		return;
	/* uniform failure up to the HMAC, precise reasons after it */
	if (!r.valid) {
		FUZZ_CHECK(rc == SL_EAUTH);
		return;
	}
	FUZZ_CHECK(rc != SL_EAUTH);
	if (!r.fresh) {
		FUZZ_CHECK(rc == SL_ESTALE);
		return;
	}
	if (rc == SL_EREPLAY || rc == SL_EFULL)
		return;
	want = ref_authz(si, src, &r);
	FUZZ_CHECK(rc == want);
	if (rc != 0)
		return;
	check_request(si, src, &req);
	FUZZ_CHECK(req.user_id == r.uid && req.action_id == r.aid &&
	    req.timestamp == r.ts);
	if (!config_action_by_id(cfg, r.aid)->discard_payload)
		FUZZ_CHECK(req.payload_len == r.plen &&
		    memcmp(req.payload, r.payload, r.plen) == 0);
	/* the same packet again, copied or freshly encrypted: never twice */
	FUZZ_CHECK(process(si, ct, sizeof(ct), src, &req) == SL_EDUP);
	FUZZ_CHECK(crypto_enc_knock(pub, pt, ct) == 0);
	FUZZ_CHECK(process(si, ct, sizeof(ct), src, &req) == SL_EREPLAY);
}

/* Make the HMAC right for the user the packet names (and the clock). */
static void
fix_packet(uint8_t pt[SL_PACKET_LEN], uint8_t flags, int8_t offset)
{
	uint16_t uid = le16(pt + 5);
	int idx = cfg->user_by_id[uid];
	const uint8_t *key = idx >= 0 ? cfg->users[idx].hmac_key : vec_key;
	int64_t skew = (int64_t)le32(pt + 1) - (int64_t)NOW;
	uint32_t ts = (uint32_t)(NOW + offset);
	struct wire_knock k;

	if ((flags & 1) && (skew > (int64_t)WINDOW || skew < -(int64_t)WINDOW)) {
		pt[1] = (uint8_t)ts;
		pt[2] = (uint8_t)(ts >> 8);
		pt[3] = (uint8_t)(ts >> 16);
		pt[4] = (uint8_t)(ts >> 24);
	}
	/* on failure k is still fully written: a HMAC over what was read */
	(void)wire_decode(&k, pt, SL_PACKET_LEN);
	FUZZ_CHECK(wire_hmac(NULL, pt + 12, key, &k) == 0);
	OPENSSL_cleanse(&k, sizeof(k));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t pt[SL_PACKET_LEN];
	unsigned mode, si;
	const struct sl_addr *src;
	size_t hdr, n;

	if (size < 1)
		return 0;
	if (++inputs % RESET_EVERY == 0 ||
	    pipeline_get_stats(pl)->cache_full >= FULL_RESET)
		fresh_state();
	mode = data[0] % 3;
	src = &srcs[data[0] / 3 % NSRC];
	si = data[0] / (3 * NSRC) % 3;
	if (mode == 0) {
		mode_raw(si, src, data + 1, size - 1);
		return 0;
	}
	hdr = mode == 1 ? 1 : 3;
	if (size < hdr)
		return 0;
	memset(pt, 0, sizeof(pt));
	n = size - hdr < sizeof(pt) ? size - hdr : sizeof(pt);
	memcpy(pt, data + hdr, n);
	if (mode == 2)
		fix_packet(pt, data[1], (int8_t)data[2]);
	mode_plain(si, src, pt);
	return 0;
}
