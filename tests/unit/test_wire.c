/*
 * test_wire.c - wire v1 against the packets of the original client
 * (tests/vectors), the bounds-checked reader, and the receive pipeline:
 * every single-bit flip of every vector datagram is rejected the same way.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "pipeline.h"
#include "ratelimit.h"
#include "replay.h"
#include "stages.h"
#include "wire.h"

struct vector {
	const char *bin, *plain;
	uint32_t timestamp;
	uint16_t user_id;
	uint8_t action_id;
	uint32_t challenge;
	uint16_t payload_len;
	const char *hmac_hex;
};

static const struct vector vectors[] = {
	{ "tests/vectors/knock1.bin", "tests/vectors/knock1.plain.bin",
	  1795702022u, 1, 1, 3479870967u, 11,
	  "4440595a3c89c0a54b0626044b0567d464689e9edad8e4bb1a85192058af6f3f" },
	{ "tests/vectors/knock2.bin", "tests/vectors/knock2.plain.bin",
	  1795702023u, 7, 42, 2025719897u, 0,
	  "ca97d52cd79c13b4e50eb7f6827dca07c44885fad1e8905b1a9c9cd560c46657" },
	{ "tests/vectors/knock3.bin", "tests/vectors/knock3.plain.bin",
	  1795702024u, 513, 200, 575024228u, 199,
	  "f9e35fda7019a0fda776a67f69009fb1a891713b6a1b43cce6c6041d038a57e0" },
};
#define NVEC (sizeof(vectors) / sizeof(vectors[0]))

static size_t
slurp(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void
unhex(const char *hex, uint8_t *out, size_t n)
{
	size_t i;
	unsigned v;

	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static uint8_t user_key[SL_HMAC_KEY_LEN];

static void
expected_payload(const struct vector *v, uint8_t *p)
{
	memset(p, 0, SL_PAYLOAD_MAX);
	if (v->payload_len == 11)
		memcpy(p, "hello-world", 11);
	else if (v->payload_len == 199)
		memset(p, 'A', 199);
}

static void
test_decode_vectors(void **state)
{
	uint8_t pt[512], hmac[SL_HMAC_LEN], payload[SL_PAYLOAD_MAX];
	uint8_t again[SL_PACKET_LEN];
	struct wire_knock k;
	size_t i;

	(void)state;
	for (i = 0; i < NVEC; i++) {
		const struct vector *v = &vectors[i];

		assert_int_equal(slurp(v->plain, pt, sizeof(pt)), SL_PACKET_LEN);
		assert_int_equal(wire_decode(&k, pt, SL_PACKET_LEN), 0);
		assert_int_equal(k.version, 1);
		assert_int_equal(k.timestamp, v->timestamp);
		assert_int_equal(k.user_id, v->user_id);
		assert_int_equal(k.action_id, v->action_id);
		assert_int_equal(k.challenge, v->challenge);
		assert_int_equal(k.payload_len, v->payload_len);
		expected_payload(v, payload);
		assert_memory_equal(k.payload, payload, SL_PAYLOAD_MAX);
		unhex(v->hmac_hex, hmac, sizeof(hmac));
		assert_memory_equal(k.hmac, hmac, sizeof(hmac));
		/* the HMAC the original client made verifies */
		assert_int_equal(wire_verify(NULL, user_key, &k), 0);
		/* and re-encoding gives the same bytes */
		assert_int_equal(wire_encode(again, sizeof(again), &k), 0);
		assert_memory_equal(again, pt, SL_PACKET_LEN);
	}
}

static void
test_decode_lengths(void **state)
{
	uint8_t pt[SL_PACKET_LEN + 1];
	struct wire_knock k;

	(void)state;
	slurp(vectors[0].plain, pt, sizeof(pt));
	assert_int_equal(wire_decode(&k, pt, SL_PACKET_LEN - 1), SL_ELEN);
	assert_int_equal(wire_decode(&k, pt, SL_PACKET_LEN + 1), SL_ELEN);
	assert_int_equal(wire_decode(&k, pt, 0), SL_ELEN);
}

static void
test_decode_bad_fields(void **state)
{
	static const struct { unsigned lo, hi; int want; } plen[] = {
		{ 199, 0, 0 }, { 200, 0, SL_EPARSE }, { 0x60, 0xea, SL_EPARSE },
		{ 0xff, 0xff, SL_EPARSE }, { 0, 0, 0 },
	};
	uint8_t pt[SL_PACKET_LEN];
	struct wire_knock k;
	size_t i;

	(void)state;
	slurp(vectors[0].plain, pt, sizeof(pt));
	for (i = 0; i < sizeof(plen) / sizeof(plen[0]); i++) {
		pt[44] = (uint8_t)plen[i].lo;
		pt[45] = (uint8_t)plen[i].hi;
		assert_int_equal(wire_decode(&k, pt, sizeof(pt)), plen[i].want);
		assert_true(k.payload_len <= SL_PAYLOAD_MAX);
	}
	slurp(vectors[0].plain, pt, sizeof(pt));
	pt[0] = 2;
	assert_int_equal(wire_decode(&k, pt, sizeof(pt)), SL_EVERSION);
	pt[0] = 0;
	assert_int_equal(wire_decode(&k, pt, sizeof(pt)), SL_EVERSION);
}

static void
test_hmac_covers_fields(void **state)
{
	uint8_t pt[SL_PACKET_LEN];
	struct wire_knock k, m;
	size_t off;

	(void)state;
	slurp(vectors[0].plain, pt, sizeof(pt));
	assert_int_equal(wire_decode(&k, pt, sizeof(pt)), 0);
	/* each covered byte matters: header fields and counted payload */
	for (off = 0; off < 46 + (size_t)k.payload_len; off++) {
		if (off >= 12 && off < 44)
			continue; /* the hmac field itself */
		if (off == 0 || off == 44 || off == 45)
			continue; /* version / payload_len: decode refuses */
		pt[off] ^= 0x01;
		assert_int_equal(wire_decode(&m, pt, sizeof(pt)), 0);
		assert_int_equal(wire_verify(NULL, user_key, &m), SL_EAUTH);
		pt[off] ^= 0x01;
	}
	/* the payload tail past payload_len is not covered (1.0 behaviour) */
	pt[46 + k.payload_len + 3] ^= 0xff;
	assert_int_equal(wire_decode(&m, pt, sizeof(pt)), 0);
	assert_int_equal(wire_verify(NULL, user_key, &m), 0);
}

static void
test_reader_bounds(void **state)
{
	const uint8_t b[5] = { 0x01, 0x02, 0x03, 0x04, 0x05 };
	struct rbuf r;
	uint32_t v32;
	uint16_t v16;
	uint8_t v8;

	(void)state;
	rbuf_init(&r, b, sizeof(b));
	assert_int_equal(rbuf_get_u32le(&r, &v32), 0);
	assert_int_equal(v32, 0x04030201u);
	assert_int_equal(rbuf_get_u16le(&r, &v16), SL_ELEN);
	assert_int_equal(rbuf_left(&r), 1); /* a failed read consumes nothing */
	assert_int_equal(rbuf_get_u8(&r, &v8), 0);
	assert_int_equal(v8, 5);
	assert_int_equal(rbuf_get_u8(&r, &v8), SL_ELEN);
	assert_int_equal(rbuf_get_bytes(&r, &v32, 1), SL_ELEN);
}

static void
test_encode_refuses(void **state)
{
	uint8_t out[SL_PACKET_LEN + 1];
	struct wire_knock k;

	(void)state;
	memset(&k, 0, sizeof(k));
	k.version = 1;
	k.payload_len = 200;
	assert_int_equal(wire_encode(out, SL_PACKET_LEN, &k), SL_EINVAL);
	k.payload_len = 0;
	assert_int_equal(wire_encode(out, SL_PACKET_LEN + 1, &k), SL_EINVAL);
	assert_int_equal(wire_encode(out, SL_PACKET_LEN, &k), 0);
}

/* --- the whole receive path, with a hand-built configuration --- */

static struct config *
vector_config(void)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	const uint16_t users[] = { 1, 7, 513 };
	const uint8_t actions[] = { 1, 42, 200 };
	char err[256];
	size_t i;

	assert_non_null(cfg);
	cfg->timestamp_window = 120;
	/* budgets wide enough for 2048 bad datagrams from one source; no
	 * duplicate cache, so the same datagram can be tried at several
	 * clocks (the filter has tests of its own below) */
	cfg->ratelimit_source_budget = 100000;
	cfg->ratelimit_prefix_budget = 100000;
	cfg->ratelimit_window = 10;
	cfg->ratelimit_penalty = 10;
	cfg->ratelimit_penalty_max = 600;
	cfg->ratelimit_good_time = 600;
	cfg->max_decrypts_per_sec = 0;
	cfg->ratelimit_table_size = 1024;
	cfg->dup_cache_size = 0;
	cfg->nservers = 1;
	strcpy(cfg->servers[0].name, "test");
	cfg->servers[0].enabled = true;
	cfg->servers[0].format1 = true;
	cfg->servers[0].logging = true;
	assert_int_equal(crypto_load_private("tests/vectors/server.priv.pem", 0,
	    &cfg->servers[0].priv, err, sizeof(err)), 0);
	memset(cfg->action_by_id, 0xff, sizeof(cfg->action_by_id));
	memset(cfg->user_by_id, 0xff, sizeof(cfg->user_by_id));
	for (i = 0; i < 3; i++) {
		struct cfg_action *a = &cfg->actions[i];
		struct cfg_user *u = &cfg->users[i];

		snprintf(a->name, sizeof(a->name), "act%u", actions[i]);
		a->id = actions[i];
		a->enabled = true;
		strcpy(a->constructor, "/bin/true");
		cfg->action_by_id[actions[i]] = (int16_t)i;
		idset_add(&cfg->servers[0].actions, actions[i]);

		snprintf(u->name, sizeof(u->name), "user%u", users[i]);
		u->id = users[i];
		u->enabled = true;
		memcpy(u->hmac_key, user_key, sizeof(user_key));
		idset_add(&u->actions, actions[i]);
		cfg->user_by_id[users[i]] = (int16_t)i;
	}
	cfg->nactions = cfg->nusers = 3;
	return cfg;
}

static void
test_pipeline_vectors_and_bitflips(void **state)
{
	struct config *cfg = vector_config();
	struct pipeline *p;
	struct replay *rp;
	struct sl_request req;
	struct sl_addr src = { .family = AF_INET, .bytes = { 127, 0, 0, 1 } };
	enum replay_load how;
	uint8_t dg[SL_DGRAM_LEN + 8];
	uint64_t before;
	size_t i, bit;
	char err[256];

	(void)state;
	for (i = 0; i < NVEC; i++) {
		const struct vector *v = &vectors[i];
		uint8_t payload[SL_PAYLOAD_MAX];

		assert_int_equal(replay_open(&rp, NULL, 1024, 120, v->timestamp,
		    &how, err, sizeof(err)), 0);
		assert_int_equal(pipeline_new(&p, cfg, rp, NULL), 0);
		assert_int_equal(slurp(v->bin, dg, sizeof(dg)), SL_DGRAM_LEN);

		/* every single-bit flip: same outcome, nothing authorized */
		before = pipeline_get_stats(p)->rejected;
		for (bit = 0; bit < SL_DGRAM_LEN * 8; bit++) {
			dg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(pipeline_process(p, 0, dg, SL_DGRAM_LEN,
			    &src, v->timestamp, &req), SL_EAUTH);
			dg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		assert_int_equal(pipeline_get_stats(p)->rejected - before,
		    SL_DGRAM_LEN * 8);
		assert_int_equal(pipeline_get_stats(p)->accepted, 0);

		/* wrong sizes never reach the crypto */
		assert_int_equal(pipeline_process(p, 0, dg, SL_DGRAM_LEN - 1,
		    &src, v->timestamp, &req), SL_ELEN);
		assert_int_equal(pipeline_process(p, 0, dg, SL_DGRAM_LEN + 1,
		    &src, v->timestamp, &req), SL_ELEN);

		/* against the real clock the vectors are stale (default window) */
		assert_int_equal(pipeline_process(p, 0, dg, SL_DGRAM_LEN, &src,
		    (time_t)v->timestamp + 121, &req), SL_ESTALE);
		assert_int_equal(pipeline_process(p, 0, dg, SL_DGRAM_LEN, &src,
		    (time_t)v->timestamp - 121, &req), SL_ESTALE);

		/* the untouched datagram under an injected clock: accepted */
		assert_int_equal(pipeline_process(p, 0, dg, SL_DGRAM_LEN, &src,
		    (time_t)v->timestamp + 120, &req), 0);
		assert_int_equal(req.magic, SL_REQ_MAGIC);
		assert_int_equal(req.user_id, v->user_id);
		assert_int_equal(req.action_id, v->action_id);
		assert_int_equal(req.payload_len, v->payload_len);
		expected_payload(v, payload);
		assert_memory_equal(req.payload, payload, v->payload_len);
		assert_int_equal(req.secure, 1);
		/* and only once */
		assert_int_equal(pipeline_process(p, 0, dg, SL_DGRAM_LEN, &src,
		    (time_t)v->timestamp + 1, &req), SL_EREPLAY);
		assert_int_equal(pipeline_get_stats(p)->accepted, 1);
		pipeline_free(p);
		replay_close(rp);
	}
	config_wipe_keys(cfg);
	free(cfg);
}

static void
test_pipeline_unknown_user_same_class(void **state)
{
	struct config *cfg = vector_config();
	struct pipeline *p;
	struct replay *rp;
	struct sl_request req;
	struct sl_addr src = { .family = AF_INET, .bytes = { 127, 0, 0, 1 } };
	enum replay_load how;
	uint8_t dg[SL_DGRAM_LEN];
	char err[256];

	(void)state;
	slurp(vectors[0].bin, dg, sizeof(dg));
	assert_int_equal(replay_open(&rp, NULL, 64, 120, 0, &how, err,
	    sizeof(err)), 0);
	/* user 1 disabled: indistinguishable from a bad HMAC */
	cfg->users[0].enabled = false;
	cfg->user_by_id[1] = -1;
	assert_int_equal(pipeline_new(&p, cfg, rp, NULL), 0);
	assert_int_equal(pipeline_process(p, 0, dg, sizeof(dg), &src,
	    vectors[0].timestamp, &req), SL_EAUTH);
	assert_int_equal(pipeline_get_stats(p)->rejected, 1);
	assert_int_equal(replay_count(rp), 0); /* nothing recorded pre-auth */
	pipeline_free(p);
	replay_close(rp);
	config_wipe_keys(cfg);
	free(cfg);
}

static void
test_pipeline_denied(void **state)
{
	struct config *cfg = vector_config();
	struct pipeline *p;
	struct replay *rp;
	struct sl_request req;
	struct sl_addr src = { .family = AF_INET, .bytes = { 127, 0, 0, 1 } };
	enum replay_load how;
	uint8_t dg[SL_DGRAM_LEN];
	char err[256];

	(void)state;
	slurp(vectors[1].bin, dg, sizeof(dg));  /* user 7, action 42 */
	assert_int_equal(replay_open(&rp, NULL, 64, 120, 0, &how, err,
	    sizeof(err)), 0);
	memset(&cfg->users[1].actions, 0, sizeof(cfg->users[1].actions));
	assert_int_equal(pipeline_new(&p, cfg, rp, NULL), 0);
	assert_int_equal(pipeline_process(p, 0, dg, sizeof(dg), &src,
	    vectors[1].timestamp, &req), SL_EDENIED);
	assert_int_equal(pipeline_get_stats(p)->denied, 1);
	pipeline_free(p);
	replay_close(rp);
	config_wipe_keys(cfg);
	free(cfg);
}

static void
test_pipeline_budgets_and_duplicates(void **state)
{
	struct config *cfg = vector_config();
	struct pipeline *p;
	struct replay *rp;
	struct sl_request req;
	struct sl_addr bad = { .family = AF_INET, .bytes = { 192, 0, 2, 7 } };
	struct sl_addr good = { .family = AF_INET, .bytes = { 198, 51, 100, 1 } };
	enum replay_load how;
	uint8_t dg[SL_DGRAM_LEN], junk[SL_DGRAM_LEN];
	char err[256];
	int i;

	(void)state;
	cfg->ratelimit_source_budget = 5;
	cfg->ratelimit_prefix_budget = 1000;
	cfg->dup_cache_size = 64;
	slurp(vectors[0].bin, dg, sizeof(dg));
	assert_int_equal(replay_open(&rp, NULL, 64, 120, 0, &how, err,
	    sizeof(err)), 0);
	assert_int_equal(pipeline_new(&p, cfg, rp, NULL), 0);
	/* five failures pass to the crypto, the sixth is dropped before it */
	for (i = 0; i < 5; i++) {
		memset(junk, i + 1, sizeof(junk));
		assert_int_equal(pipeline_process(p, 0, junk, sizeof(junk), &bad,
		    vectors[0].timestamp, &req), SL_EAUTH);
	}
	memset(junk, 0x77, sizeof(junk));
	assert_int_equal(pipeline_process(p, 0, junk, sizeof(junk), &bad,
	    vectors[0].timestamp, &req), SL_ERATE);
	assert_int_equal(pipeline_get_stats(p)->rejected, 5);
	assert_int_equal(pipeline_get_stats(p)->rate_source, 1);
	/* ...even a valid knock from that source */
	assert_int_equal(pipeline_process(p, 0, dg, sizeof(dg), &bad,
	    vectors[0].timestamp, &req), SL_ERATE);
	/* another source is not affected; its copy of a datagram is dropped
	 * as a duplicate before decryption */
	assert_int_equal(pipeline_process(p, 0, dg, sizeof(dg), &good,
	    vectors[0].timestamp, &req), 0);
	assert_int_equal(pipeline_process(p, 0, dg, sizeof(dg), &good,
	    vectors[0].timestamp, &req), SL_EDUP);
	assert_int_equal(pipeline_get_stats(p)->duplicate, 1);
	/* wrong sizes touch no table */
	assert_int_equal(pipeline_process(p, 0, dg, 100, &bad,
	    vectors[0].timestamp, &req), SL_ELEN);
	assert_int_equal(pipeline_get_stats(p)->rate_source, 2);
	pipeline_free(p);
	replay_close(rp);
	config_wipe_keys(cfg);
	free(cfg);
}

/* pipeline_process, with the monotonic clock (ms) given */
static int
process_at(struct pipeline *p, const uint8_t *dg, const struct sl_addr *src,
    time_t now, uint64_t ms, struct sl_request *req)
{
	static struct pipeline_job j;
	int rc;

	memset(&j, 0, sizeof(j));
	if ((rc = pipeline_admit(p, 0, dg, SL_DGRAM_LEN, src, now, ms,
	    &j.pre)) != 0)
		return rc;
	j.server_idx = 0;
	j.src = *src;
	j.now = now;
	memcpy(j.dgram, dg, SL_DGRAM_LEN);
	pipeline_crypto(p, NULL, &j);
	return pipeline_finish(p, &j, ms, req, NULL);
}

/* A pipeline with the daemon's default budgets (source 20, prefix 200 per
 * 10 s, penalty 10 s doubling); dup: dup_cache_size. */
static struct pipeline *
default_budgets(struct config *cfg, struct replay **rp, uint32_t dup)
{
	struct pipeline *p;
	enum replay_load how;
	char err[256];

	cfg->ratelimit_source_budget = 20;
	cfg->ratelimit_prefix_budget = 200;
	cfg->dup_cache_size = dup;
	assert_int_equal(replay_open(rp, NULL, 64, 120, 0, &how, err,
	    sizeof(err)), 0);
	assert_int_equal(pipeline_new(&p, cfg, *rp, NULL), 0);
	return p;
}

static void
junk_fill(uint8_t *dg, uint32_t n)
{
	memset(dg, 0x5a, SL_DGRAM_LEN);
	memcpy(dg, &n, sizeof(n));
}

/*
 * Issue 9, item 2: a burst of 5,000 datagrams from one source, all
 * admitted before the first comes back from decryption (as with worker
 * threads), gets no more private-key operations than its budget of 20.
 */
static void
test_pipeline_burst_admission(void **state)
{
	static struct pipeline_job jobs[32];
	struct config *cfg = vector_config();
	struct pipeline *p;
	struct replay *rp;
	struct sl_request req;
	struct sl_addr src = { .family = AF_INET, .bytes = { 192, 0, 2, 7 } };
	uint8_t junk[SL_DGRAM_LEN];
	time_t now = (time_t)vectors[0].timestamp;
	uint32_t i, admitted = 0;

	(void)state;
	p = default_budgets(cfg, &rp, 65536);
	for (i = 0; i < 5000; i++) {
		struct pipeline_pre pre;

		junk_fill(junk, i);
		if (pipeline_admit(p, 0, junk, sizeof(junk), &src, now, 5000,
		    &pre) != 0)
			continue;
		if (admitted < 32) {
			jobs[admitted].pre = pre;
			jobs[admitted].src = src;
			jobs[admitted].now = now;
			memcpy(jobs[admitted].dgram, junk, sizeof(junk));
		}
		admitted++;
	}
	print_message("info: 5000 datagrams in flight from one source: %u "
	    "admitted to decryption (budget 20)\n", admitted);
	assert_int_equal(admitted, 20);
	assert_int_equal(pipeline_get_stats(p)->rate_source, 4980);
	/* they fail: the source is in a penalty; the next are dropped too */
	for (i = 0; i < admitted; i++) {
		pipeline_crypto(p, NULL, &jobs[i]);
		assert_int_equal(pipeline_finish(p, &jobs[i], 5001, &req, NULL),
		    SL_EAUTH);
	}
	junk_fill(junk, 99999);
	assert_int_equal(process_at(p, junk, &src, now, 6000, &req), SL_ERATE);
	pipeline_free(p);
	replay_close(rp);
	config_wipe_keys(cfg);
	free(cfg);
}

/*
 * Issue 9, item 1: a user knocks; 22 junk datagrams follow "from" the
 * user's address; the user's next knock, a second later, still runs.
 * Then, after that penalty, the same again: the second (doubled) penalty
 * does not lock the user out either.
 */
static void
test_pipeline_known_good_keeps_trickle(void **state)
{
	struct config *cfg = vector_config();
	struct pipeline *p;
	struct replay *rp;
	struct sl_request req;
	struct sl_addr src = { .family = AF_INET, .bytes = { 127, 0, 0, 1 } };
	uint8_t dg[3][SL_DGRAM_LEN], junk[SL_DGRAM_LEN];
	uint64_t ms = 100000;
	int i, v;

	(void)state;
	for (v = 0; v < 3; v++)
		slurp(vectors[v].bin, dg[v], SL_DGRAM_LEN);
	p = default_budgets(cfg, &rp, 65536);
	assert_int_equal(process_at(p, dg[0], &src,
	    (time_t)vectors[0].timestamp, ms, &req), 0);
	for (v = 1; v < 3; v++) {
		time_t now = (time_t)vectors[v].timestamp;

		for (i = 0; i < 22; i++) {
			junk_fill(junk, (uint32_t)(v * 100 + i));
			(void)process_at(p, junk, &src, now, ms + 100, &req);
		}
		/* in a penalty: more junk is dropped before decryption */
		junk_fill(junk, 7777);
		assert_int_equal(process_at(p, junk, &src, now, ms + 100, &req),
		    SL_ERATE);
		/* the user, a second later */
		assert_int_equal(process_at(p, dg[v], &src, now, ms + 1100,
		    &req), 0);
		assert_int_equal(req.user_id, vectors[v].user_id);
		ms += 10000u << (v - 1);  /* the penalty is over */
	}
	assert_int_equal(pipeline_get_stats(p)->accepted, 3);
	assert_int_equal(filter_rl_stats(pipeline_filter(p))->penalties, 2);
	pipeline_free(p);
	replay_close(rp);
	config_wipe_keys(cfg);
	free(cfg);
}

/*
 * Issue 9, item 1: the review's 220 datagrams spread over one /24, at most
 * 19 from each address, put the prefix in a penalty, but a fresh user of
 * that /24 gets through a second later, and one known good at once.
 */
static void
test_pipeline_prefix_trickle(void **state)
{
	struct config *cfg = vector_config();
	struct pipeline *p;
	struct replay *rp;
	struct sl_request req;
	struct sl_addr good = { .family = AF_INET, .bytes = { 192, 0, 2, 100 } };
	struct sl_addr fresh = { .family = AF_INET, .bytes = { 192, 0, 2, 200 } };
	uint8_t dg[3][SL_DGRAM_LEN], junk[SL_DGRAM_LEN];
	time_t now = (time_t)vectors[0].timestamp;
	uint32_t a, k;
	int v;

	(void)state;
	for (v = 0; v < 3; v++)
		slurp(vectors[v].bin, dg[v], SL_DGRAM_LEN);
	p = default_budgets(cfg, &rp, 65536);
	assert_int_equal(process_at(p, dg[1], &good, now, 1000, &req), 0);
	for (a = 1; a <= 12; a++) {
		struct sl_addr x = { .family = AF_INET,
		    .bytes = { 192, 0, 2, (uint8_t)a } };

		for (k = 0; k < 19; k++) {
			junk_fill(junk, a * 100 + k);
			(void)process_at(p, junk, &x, now, 2000, &req);
		}
	}
	assert_true(pipeline_get_stats(p)->rate_prefix > 0);
	assert_int_equal(process_at(p, dg[2], &good, now, 2001, &req), 0);
	assert_int_equal(process_at(p, dg[0], &fresh, now, 3000, &req), 0);
	assert_int_equal(pipeline_get_stats(p)->accepted, 3);
	pipeline_free(p);
	replay_close(rp);
	config_wipe_keys(cfg);
	free(cfg);
}

/*
 * Issue 9, item 1: exact copies of a datagram are dropped without charging
 * the address they claim to come from: 100 copies of one junk datagram "from"
 * a user's address leave it its whole budget.
 */
static void
test_pipeline_duplicates_charge_nobody(void **state)
{
	struct config *cfg = vector_config();
	struct pipeline *p;
	struct replay *rp;
	struct sl_request req;
	struct sl_addr first = { .family = AF_INET, .bytes = { 192, 0, 2, 7 } };
	struct sl_addr victim = { .family = AF_INET, .bytes = { 198, 51, 100, 1 } };
	uint8_t dg[SL_DGRAM_LEN], junk[SL_DGRAM_LEN];
	time_t now = (time_t)vectors[0].timestamp;
	int i;

	(void)state;
	slurp(vectors[0].bin, dg, sizeof(dg));
	p = default_budgets(cfg, &rp, 64);
	junk_fill(junk, 1);
	assert_int_equal(process_at(p, junk, &first, now, 1000, &req), SL_EAUTH);
	for (i = 0; i < 100; i++) {
		assert_int_equal(process_at(p, junk, &victim, now, 1000, &req),
		    SL_EDUP);
		assert_int_equal(process_at(p, junk, &first, now, 1000, &req),
		    SL_EDUP);
	}
	assert_int_equal(pipeline_get_stats(p)->duplicate, 200);
	assert_int_equal(filter_rl_stats(pipeline_filter(p))->penalties, 0);
	/* the victim's budget is whole: 19 junk and its knock pass */
	for (i = 0; i < 19; i++) {
		junk_fill(junk, 100 + (uint32_t)i);
		assert_int_equal(process_at(p, junk, &victim, now, 1000, &req),
		    SL_EAUTH);
	}
	assert_int_equal(process_at(p, dg, &victim, now, 1000, &req), 0);
	/* and the first sender was charged once, for the one it sent */
	for (i = 0; i < 19; i++) {
		junk_fill(junk, 200 + (uint32_t)i);
		assert_int_equal(process_at(p, junk, &first, now, 1000, &req),
		    SL_EAUTH);
	}
	junk_fill(junk, 300);
	assert_int_equal(process_at(p, junk, &first, now, 1000, &req), SL_ERATE);
	pipeline_free(p);
	replay_close(rp);
	config_wipe_keys(cfg);
	free(cfg);
}

static int
setup(void **state)
{
	char err[256];

	(void)state;
	return crypto_load_hmac_key("tests/vectors/user1.hmac.key", 0, user_key,
	    err, sizeof(err)) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_vectors),
		cmocka_unit_test(test_decode_lengths),
		cmocka_unit_test(test_decode_bad_fields),
		cmocka_unit_test(test_hmac_covers_fields),
		cmocka_unit_test(test_reader_bounds),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_pipeline_vectors_and_bitflips),
		cmocka_unit_test(test_pipeline_unknown_user_same_class),
		cmocka_unit_test(test_pipeline_denied),
		cmocka_unit_test(test_pipeline_budgets_and_duplicates),
		cmocka_unit_test(test_pipeline_burst_admission),
		cmocka_unit_test(test_pipeline_known_good_keeps_trickle),
		cmocka_unit_test(test_pipeline_prefix_trickle),
		cmocka_unit_test(test_pipeline_duplicates_charge_nobody),
	};

	return cmocka_run_group_tests_name("wire", tests, setup, NULL);
}
