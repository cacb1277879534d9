/*
 * test_pipeline_outcomes.c - every outcome of a knock, as the rest of the
 * world sees it: the return code, which counters moved, the format-2
 * receipt, and the log lines (JSON: level, code, text, outcome fields).
 * fail2ban filters and the integration tests read those lines, so each
 * case states them in full.  Each case runs twice on a fresh pipeline:
 * with the log's burst at 0 (only the lines that are never rate-limited
 * remain) and at 1000 (every line).  Real keys (tests/vectors).
 *
 * PIPELINE_GOLDEN=1 prints what each case produced instead of checking.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "client.h"
#include "config.h"
#include "crypto.h"
#include "knock2.h"
#include "log.h"
#include "pipeline.h"
#include "replay.h"
#include "testutil.h"
#include "util.h"

static EVP_PKEY *priv, *pub;
static char logpath[] = "/tmp/sl_test_outcomes_XXXXXX";
static char statedir[] = "/tmp/sl_test_outcomes_state_XXXXXX";
static int golden;

/* One world per run: configuration, replay cache, pipeline. */
static struct config *cfg;
static struct pipeline *pl;
static struct replay *rp;
static struct k2_userkeys uk;
static time_t now;

static const char conf[] =
    "priv_key_path = /k\n"
    "ratelimit_source_budget = 1000\n"
    "ratelimit_prefix_budget = 100000\n"
    "ratelimit_user_budget = 3\n"
    "kernel_filter = no\n"
    "workers = 1\n"
    "[server:s]\nport = 50000\nactions = a, b, c, d, e\nlogging = yes\n"
    "receipt = yes\n"
    "[server:t]\nport = 50001\nactions = a\nlogging = yes\n"
    "require_named_address = yes\n"
    "[action:a]\nid = 1\nconstructor = /bin/true\n"
    "[action:b]\nid = 2\nconstructor = /bin/true\nrequire_ascii = yes\n"
    "[action:c]\nid = 3\nconstructor = /bin/true\ndiscard_payload = yes\n"
    "[action:d]\nid = 4\nconstructor = /bin/true\n"
    "allowed_ips = 192.0.2.0/24\n"
    "[action:e]\nid = 5\nconstructor = /bin/true\n"
    "[user:alice]\nid = 10\nenabled = yes\nhmac_file = /h\n"
    "actions = a, b, c, d\n"
    "[user:bob]\nid = 11\nenabled = no\nhmac_file = /h2\nactions = a\n";

static void
world_new(void)
{
	char err[512];
	enum replay_load how;
	unsigned i;

	assert_non_null(cfg = calloc(1, sizeof(*cfg)));
	if (config_parse_string(cfg, "outcomes.conf", conf, err,
	    sizeof(err)) != 0)
		fail_msg("config: %s", err);
	for (i = 0; i < cfg->nservers; i++) {
		assert_int_equal(EVP_PKEY_up_ref(priv), 1);
		cfg->servers[i].priv = priv;
	}
	for (i = 0; i < cfg->nusers; i++)
		assert_int_equal(crypto_random(cfg->users[i].hmac_key,
		    SL_HMAC_KEY_LEN), 0);
	assert_int_equal(k2_derive_user(cfg->users[0].hmac_key, &uk), 0);
	now = time(NULL);
	assert_int_equal(replay_open(&rp, NULL, 65536, cfg->timestamp_window,
	    now, &how, err, sizeof(err)), 0);
	assert_int_equal(pipeline_new(&pl, cfg, rp, NULL), 0);
	pipeline_tick(pl, now, NULL, NULL);
}

static void
world_free(void)
{
	pipeline_free(pl);
	replay_close(rp);
	config_wipe_keys(cfg);
	free(cfg);
	pl = NULL;
	rp = NULL;
	cfg = NULL;
}

/* ---- knocks ---------------------------------------------------------- */

static void
seal1(uint8_t d[SL_DGRAM_LEN], unsigned user, uint16_t uid, uint8_t aid,
    const char *payload, int32_t skew)
{
	struct wire_knock k;

	assert_int_equal(client_build_knock(&k, (uint32_t)(now + skew), uid,
	    aid, (const uint8_t *)payload, strlen(payload),
	    cfg->users[user].hmac_key), 0);
	assert_int_equal(client_seal_knock(pub, &k, d), 0);
}

static void
inner(struct k2_inner *in, uint8_t aid, const char *payload,
    const char *named, uint8_t flags)
{
	memset(in, 0, sizeof(*in));
	in->user_id = 10;
	in->action_id = aid;
	in->flags = flags;
	in->timestamp = (uint64_t)now;
	in->payload_len = (uint16_t)strlen(payload);
	memcpy(in->payload, payload, in->payload_len);
	if (named != NULL) {
		in->has_addr = true;
		in->addr = tu_addr(named);
	}
	assert_int_equal(crypto_random(in->nonce, sizeof(in->nonce)), 0);
}

static void
seal2(uint8_t d[K2_DGRAM_LEN], uint8_t aid, const char *payload,
    const char *named, uint8_t flags)
{
	struct k2_inner in;

	inner(&in, aid, payload, named, flags);
	assert_int_equal(k2_seal(pub, &uk, &in, NULL, d, NULL, NULL), 0);
}

/* What one datagram did: admit, decrypt, finish, as the daemon runs them
 * (pipeline_process, with a receipt).  shift moves the clock between
 * admission and decryption; record, when set, is recorded in the replay
 * cache meanwhile (a copy decrypted in parallel). */
struct result {
	int rc;
	struct pipeline_reply rep;
};

static struct result
run(unsigned si, const uint8_t *d, size_t len, const char *src, time_t shift,
    bool record)
{
	struct pipeline_job j;
	struct sl_request req;
	struct result r;

	memset(&r, 0, sizeof(r));
	memset(&j, 0, sizeof(j));
	j.server_idx = si;
	j.src = tu_addr(src);
	j.now = now;
	if ((r.rc = pipeline_admit(pl, si, d, len, &j.src, now, sl_mono_ms(),
	    &j.pre)) != 0)
		return r;
	memcpy(j.dgram, d, len);
	j.now += shift;
	pipeline_crypto(pl, NULL, &j);
	if (record)
		assert_int_equal(replay_check_and_add(rp, 10, d + K2_OFF_MAC,
		    (uint32_t)now, now), 0);
	r.rc = pipeline_finish(pl, &j, sl_mono_ms(), &req, &r.rep);
	return r;
}

/* ---- the cases ------------------------------------------------------- */
/* Each returns the last datagram's result; the earlier ones set the
 * scene and are not looked at (their lines and counters are). */

static struct result
c1_junk(void)
{
	uint8_t d[SL_DGRAM_LEN];

	assert_int_equal(crypto_random(d, sizeof(d)), 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c1_unknown_user(void)
{
	uint8_t d[SL_DGRAM_LEN];

	seal1(d, 0, 99, 1, "", 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c1_disabled(void)
{
	uint8_t d[SL_DGRAM_LEN];

	seal1(d, 1, 11, 1, "", 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c1_hmac(void)
{
	uint8_t d[SL_DGRAM_LEN];

	seal1(d, 1, 10, 1, "", 0);   /* bob's key, alice's id */
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c1_stale(void)
{
	uint8_t d[SL_DGRAM_LEN];

	seal1(d, 0, 10, 1, "", -1000);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c1_replay(void)
{
	struct wire_knock k;
	uint8_t d[SL_DGRAM_LEN];

	assert_int_equal(client_build_knock(&k, (uint32_t)now, 10, 1,
	    (const uint8_t *)"", 0, cfg->users[0].hmac_key), 0);
	assert_int_equal(client_seal_knock(pub, &k, d), 0);
	assert_int_equal(run(0, d, sizeof(d), "10.0.0.1", 0, false).rc, 0);
	assert_int_equal(client_seal_knock(pub, &k, d), 0);  /* new bytes */
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

/* alice's share (2 users: 8 of 16) full of live entries */
static void
fill_share(void)
{
	uint8_t mac[SL_HMAC_LEN];
	unsigned i;

	replay_close(rp);
	pipeline_free(pl);
	{
		char err[256];
		enum replay_load how;

		assert_int_equal(replay_open(&rp, NULL, 16,
		    cfg->timestamp_window, now, &how, err, sizeof(err)), 0);
		assert_int_equal(pipeline_new(&pl, cfg, rp, NULL), 0);
		pipeline_tick(pl, now, NULL, NULL);
	}
	(void)replay_set_users(rp, 2);
	for (i = 0; i < 8; i++) {
		memset(mac, (int)i + 1, sizeof(mac));
		assert_int_equal(replay_check_and_add(rp, 10, mac,
		    (uint32_t)now, now), 0);
	}
}

static struct result
c1_user_full(void)
{
	uint8_t d[SL_DGRAM_LEN];

	fill_share();
	seal1(d, 0, 10, 1, "", 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c1_cache_full(void)
{
	uint8_t mac[SL_HMAC_LEN];
	uint8_t d[SL_DGRAM_LEN];
	unsigned i;

	fill_share();
	(void)replay_set_users(rp, 0);
	for (i = 8; i < 16; i++) {
		memset(mac, (int)i + 1, sizeof(mac));
		assert_int_equal(replay_check_and_add(rp, 11, mac,
		    (uint32_t)now, now), 0);
	}
	seal1(d, 0, 10, 1, "", 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

/* A replay cache with a journal in statedir whose writes fail (its
 * descriptor made read-only): the next record is SL_ESYS. */
static void
break_journal(void)
{
	char path[256], fdp[64], link[256];
	enum replay_load how;
	ssize_t n;
	int fd, ro, found = 0;

	replay_close(rp);
	pipeline_free(pl);
	snprintf(path, sizeof(path), "%s/replay.state", statedir);
	(void)unlink(path);
	assert_int_equal(replay_open(&rp, statedir, 65536,
	    cfg->timestamp_window, now, &how, link, sizeof(link)), 0);
	assert_int_equal(pipeline_new(&pl, cfg, rp, NULL), 0);
	pipeline_tick(pl, now, NULL, NULL);
	for (fd = 3; fd < 1024; fd++) {
		snprintf(fdp, sizeof(fdp), "/proc/self/fd/%d", fd);
		if ((n = readlink(fdp, link, sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, path) != 0)
			continue;
		assert_true((ro = open(path, O_RDONLY | O_CLOEXEC)) >= 0);
		assert_true(dup2(ro, fd) == fd);
		close(ro);
		found++;
	}
	assert_int_equal(found, 1);
}

static struct result
c1_state_error(void)
{
	uint8_t d[SL_DGRAM_LEN];

	break_journal();
	seal1(d, 0, 10, 1, "", 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c2_state_error(void)
{
	uint8_t d[K2_DGRAM_LEN];

	break_journal();
	seal2(d, 1, "", NULL, K2_F_RECEIPT);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c1_not_ascii(void)
{
	uint8_t d[SL_DGRAM_LEN];

	seal1(d, 0, 10, 2, "\x01", 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c1_denied_user(void)
{
	uint8_t d[SL_DGRAM_LEN];

	seal1(d, 0, 10, 5, "", 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c1_denied_ips(void)
{
	uint8_t d[SL_DGRAM_LEN];

	seal1(d, 0, 10, 4, "", 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c1_no_action(void)
{
	uint8_t d[SL_DGRAM_LEN];

	seal1(d, 0, 10, 9, "", 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c1_accepted(void)
{
	uint8_t d[SL_DGRAM_LEN];

	seal1(d, 0, 10, 1, "x", 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c1_discarded(void)
{
	uint8_t d[SL_DGRAM_LEN];

	seal1(d, 0, 10, 3, "secret", 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c_bad_length(void)
{
	uint8_t d[100];

	memset(d, 0, sizeof(d));
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c1_duplicate(void)
{
	uint8_t d[SL_DGRAM_LEN];

	assert_int_equal(crypto_random(d, sizeof(d)), 0);
	(void)run(0, d, sizeof(d), "10.0.0.1", 0, false);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c2_unknown_tag(void)
{
	uint8_t d[K2_DGRAM_LEN];

	assert_int_equal(crypto_random(d, sizeof(d)), 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c2_bad_mac(void)
{
	uint8_t d[K2_DGRAM_LEN];

	seal2(d, 1, "", NULL, 0);
	d[K2_OFF_MAC] ^= 1;
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c2_replayed_admit(void)
{
	uint8_t d[K2_DGRAM_LEN];

	seal2(d, 1, "", NULL, 0);
	assert_int_equal(run(0, d, sizeof(d), "10.0.0.1", 0, false).rc, 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c2_copy(void)
{
	struct pipeline_pre pre;
	struct sl_addr a = tu_addr("10.0.0.1");
	uint8_t d[K2_DGRAM_LEN];

	seal2(d, 1, "", NULL, 0);
	assert_int_equal(pipeline_admit(pl, 0, d, sizeof(d), &a, now,
	    sl_mono_ms(), &pre), 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c2_wrong_address(void)
{
	uint8_t d[K2_DGRAM_LEN];

	seal2(d, 1, "", "198.51.100.7", 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c2_elsewhere(void)
{
	uint8_t d[K2_DGRAM_LEN];

	seal2(d, 1, "", "198.51.100.7", 0);
	(void)run(0, d, sizeof(d), "10.0.0.1", 0, false);
	return run(0, d, sizeof(d), "10.0.0.2", 0, false);
}

static struct result
c2_budget(void)
{
	uint8_t d[K2_DGRAM_LEN];
	int i;

	for (i = 0; i < 3; i++) {
		seal2(d, 1, "", NULL, 0);
		assert_int_equal(run(0, d, sizeof(d), "10.0.0.1", 0,
		    false).rc, 0);
	}
	seal2(d, 1, "", NULL, 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c2_stale(void)
{
	uint8_t d[K2_DGRAM_LEN];

	seal2(d, 1, "", NULL, 0);
	return run(0, d, sizeof(d), "10.0.0.1", 1000, false);
}

static struct result
c2_unopened(void)
{
	struct k2_inner in;
	uint8_t d[K2_DGRAM_LEN], ck[K2_CK_LEN], wrap[K2_WRAP_LEN];

	inner(&in, 1, "", NULL, 0);
	assert_int_equal(crypto_random(ck, sizeof(ck)), 0);
	assert_int_equal(crypto_random(wrap, sizeof(wrap)), 0);
	assert_int_equal(k2_seal_wrapped(&uk, &in, ck, wrap, d, NULL, NULL), 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c2_no_address(void)
{
	uint8_t d[K2_DGRAM_LEN];

	seal2(d, 1, "", NULL, 0);
	return run(1, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c2_denied_ips(void)
{
	uint8_t d[K2_DGRAM_LEN];

	seal2(d, 4, "", NULL, K2_F_RECEIPT);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c2_replayed_finish(void)
{
	uint8_t d[K2_DGRAM_LEN];

	seal2(d, 1, "", NULL, K2_F_RECEIPT);
	return run(0, d, sizeof(d), "10.0.0.1", 0, true);
}

static struct result
c2_user_full(void)
{
	uint8_t d[K2_DGRAM_LEN];

	fill_share();
	seal2(d, 1, "", NULL, K2_F_RECEIPT);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c2_not_ascii(void)
{
	uint8_t d[K2_DGRAM_LEN];

	seal2(d, 2, "\x01", NULL, K2_F_RECEIPT);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c2_denied_user(void)
{
	uint8_t d[K2_DGRAM_LEN];

	seal2(d, 5, "", NULL, K2_F_RECEIPT);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c2_accepted(void)
{
	uint8_t d[K2_DGRAM_LEN];

	seal2(d, 1, "x", NULL, K2_F_RECEIPT);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c2_accepted_named(void)
{
	uint8_t d[K2_DGRAM_LEN];

	seal2(d, 1, "", "10.0.0.1", 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

static struct result
c2_discarded(void)
{
	uint8_t d[K2_DGRAM_LEN];

	seal2(d, 3, "secret", NULL, 0);
	return run(0, d, sizeof(d), "10.0.0.1", 0, false);
}

/* ---- checking -------------------------------------------------------- */

#define PS(f) { #f, offsetof(struct pipeline_stats, f) }
static const struct {
	const char *name;
	size_t off;
} counters[] = {
	PS(received), PS(bad_length), PS(rate_source), PS(rate_prefix),
	PS(rate_global), PS(duplicate), PS(rejected), PS(stale), PS(replayed),
	PS(denied), PS(not_ascii), PS(cache_full), PS(state_error),
	PS(accepted), PS(k2_unknown_tag), PS(k2_bad_mac), PS(k2_copy),
	PS(k2_elsewhere), PS(k2_user_budget), PS(k2_unopened),
	PS(k2_wrong_address), PS(k2_no_address), PS(k2_accepted),
};
#undef PS

struct expect {
	const char *name;
	struct result (*fn)(void);
	int rc;
	const char *receipt;    /* "when status reason" */
	const char *counters;   /* "name+n ..." of those that moved */
	const char *unlimited;  /* the lines at burst 0 */
	const char *lines;      /* every line */
};

/* The counters that moved, as "name+n name+n". */
static void
moved(const struct pipeline_stats *a, const struct pipeline_stats *b,
    char *out, size_t len)
{
	uint64_t x, y;
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		memcpy(&x, (const char *)a + counters[i].off, sizeof(x));
		memcpy(&y, (const char *)b + counters[i].off, sizeof(y));
		if (x != y)
			n += (size_t)snprintf(out + n, len - n, "%s%s+%llu",
			    n > 0 ? " " : "", counters[i].name,
			    (unsigned long long)(y - x));
	}
}

/* The log file's lines without their "time" field. */
static void
read_lines(char *out, size_t len)
{
	char buf[16384], *s, *t, *e;
	ssize_t n;
	size_t o = 0;
	int fd;

	assert_true((fd = open(logpath, O_RDONLY)) >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0 && (size_t)n < sizeof(buf) - 1);
	buf[n] = '\0';
	out[0] = '\0';
	for (s = buf; *s != '\0'; s = e + 1) {
		assert_non_null(e = strchr(s, '\n'));
		*e = '\0';
		if ((t = strstr(s, "\"time\":\"")) != NULL &&
		    (t = strstr(t, "\",")) != NULL)
			s = t + 2;
		if ((t = strstr(s, statedir)) != NULL) {
			/* the state directory's random name */
			memmove(t + 5, t + strlen(statedir),
			    strlen(t + strlen(statedir)) + 1);
			memcpy(t, "STATE", 5);
		}
		o += (size_t)snprintf(out + o, len - o, "%s\n", s);
		assert_true(o < len);
	}
}

/* One run of a case on a fresh world; the log's burst given. */
static void
run_case(const struct expect *x, unsigned burst, char *rc_s, size_t rclen,
    char *rcpt, size_t rcptlen, char *cnt, size_t cntlen, char *lines,
    size_t linelen)
{
	struct pipeline_stats before;
	struct result r;

	world_new();
	log_set_limits(burst, 1000);
	assert_int_equal(truncate(logpath, 0), 0);
	before = *pipeline_get_stats(pl);
	r = x->fn();
	snprintf(rc_s, rclen, "%d", r.rc);
	snprintf(rcpt, rcptlen, "%d %u %u", (int)r.rep.when,
	    (unsigned)r.rep.r.status, (unsigned)r.rep.r.reason);
	moved(&before, pipeline_get_stats(pl), cnt, cntlen);
	read_lines(lines, linelen);
	world_free();
}

static const struct expect expected[] = {
/* printed by PIPELINE_GOLDEN=1 on the code before the outcome table */
	{ "c_bad_length", c_bad_length, -2, "0 0 0",
	    "received+1 bad_length+1",
	    "",
	    "\"level\":\"debug\",\"code\":\"SL200\",\"message\":\"dropped"
	    " 100-byte datagram from 10.0.0.1 on s: wrong "
	    "length\"}\n",
	},
	{ "c1_junk", c1_junk, -6, "0 0 0",
	    "received+1 rejected+1",
	    "",
	    "\"level\":\"notice\",\"code\":\"SL201\",\"message\":\"reject"
	    "ed packet from 10.0.0.1 on s: did not decrypt "
	    "with this server's key\",\"src\":\"10.0.0.1\","
	    "\"server\":\"s\",\"user\":null,\"action\":null,"
	    "\"outcome\":\"rejected\",\"reason\":\"decrypt\"}\n",
	},
	{ "c1_unknown_user", c1_unknown_user, -6, "0 0 0",
	    "received+1 rejected+1",
	    "",
	    "\"level\":\"notice\",\"code\":\"SL201\",\"message\":\"reject"
	    "ed packet from 10.0.0.1 on s: unknown user id "
	    "99\",\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":null,"
	    "\"action\":null,\"outcome\":\"rejected\",\"reason\":\"unknow"
	    "n_user\"}\n",
	},
	{ "c1_disabled", c1_disabled, -6, "0 0 0",
	    "received+1 rejected+1",
	    "",
	    "\"level\":\"notice\",\"code\":\"SL201\",\"message\":\"reject"
	    "ed packet from 10.0.0.1 on s: user bob (id 11) "
	    "disabled\",\"src\":\"10.0.0.1\",\"server\":\"s\","
	    "\"user\":null,\"action\":null,\"outcome\":\"rejected\","
	    "\"reason\":\"user_disabled\"}\n",
	},
	{ "c1_hmac", c1_hmac, -6, "0 0 0",
	    "received+1 rejected+1",
	    "",
	    "\"level\":\"notice\",\"code\":\"SL201\",\"message\":\"reject"
	    "ed packet from 10.0.0.1 on s: HMAC mismatch "
	    "for user alice (id 10)\",\"src\":\"10.0.0.1\","
	    "\"server\":\"s\",\"user\":null,\"action\":null,"
	    "\"outcome\":\"rejected\",\"reason\":\"hmac\"}\n",
	},
	{ "c1_stale", c1_stale, -7, "0 0 0",
	    "received+1 stale+1",
	    "",
	    "\"level\":\"notice\",\"code\":\"SL202\",\"message\":\"user "
	    "alice from 10.0.0.1: timestamp -1000 s off (window "
	    "120 s), refused\",\"src\":\"10.0.0.1\",\"server\":\"s\","
	    "\"user\":\"alice\",\"action\":\"a\",\"outcome\":\"stale\","
	    "\"reason\":\"timestamp\"}\n",
	},
	{ "c1_replay", c1_replay, -8, "0 0 0",
	    "received+2 replayed+1 accepted+1",
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action a authorized\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"a\",\"outcome\":\"accepted\",\"reason\":null}\n",
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action a authorized\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"a\",\"outcome\":\"accepted\",\"reason\":null}\n"
	    "\"level\":\"warning\",\"code\":\"SL203\",\"message\":\"user "
	    "alice from 10.0.0.1: replayed packet refused\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"a\",\"outcome\":\"replayed\",\"reason\":\"repla"
	    "y\"}\n",
	},
	{ "c1_user_full", c1_user_full, -9, "0 0 0",
	    "received+1 cache_full+1",
	    "",
	    "\"level\":\"error\",\"code\":\"SL206\",\"message\":\"user "
	    "alice from 10.0.0.1: this user's share of the "
	    "replay cache is full (8 live entries), packet "
	    "refused\",\"src\":\"10.0.0.1\",\"server\":\"s\","
	    "\"user\":\"alice\",\"action\":\"a\",\"outcome\":\"refused\","
	    "\"reason\":\"cache_full\"}\n",
	},
	{ "c1_cache_full", c1_cache_full, -9, "0 0 0",
	    "received+1 cache_full+1",
	    "",
	    "\"level\":\"error\",\"code\":\"SL206\",\"message\":\"user "
	    "alice from 10.0.0.1: replay cache full (16 live "
	    "entries), packet refused; raise replay_cache_size\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"a\",\"outcome\":\"refused\",\"reason\":\"cache_"
	    "full\"}\n",
	},
	{ "c1_state_error", c1_state_error, -13, "0 0 0",
	    "received+1 state_error+1",
	    "",
	    "\"level\":\"error\",\"code\":\"SL301\",\"message\":\"STATE/r"
	    "eplay.state: ftruncate: Invalid argument\"}\n"
	    "\"level\":\"error\",\"code\":\"SL301\",\"message\":\"user "
	    "alice from 10.0.0.1: replay state not written "
	    "(Bad file descriptor), packet refused\",\"src\":\"10.0.0.1\""
	    ",\"server\":\"s\",\"user\":\"alice\",\"action\":\"a\","
	    "\"outcome\":\"refused\",\"reason\":\"state_error\"}\n",
	},
	{ "c1_not_ascii", c1_not_ascii, -11, "0 0 0",
	    "received+1 not_ascii+1",
	    "",
	    "\"level\":\"warning\",\"code\":\"SL205\",\"message\":\"user "
	    "alice from 10.0.0.1: action b requires a printable "
	    "ASCII payload, refused\",\"src\":\"10.0.0.1\","
	    "\"server\":\"s\",\"user\":\"alice\",\"action\":\"b\","
	    "\"outcome\":\"denied\",\"reason\":\"not_ascii\"}\n",
	},
	{ "c1_denied_user", c1_denied_user, -10, "0 0 0",
	    "received+1 denied+1",
	    "",
	    "\"level\":\"warning\",\"code\":\"SL204\",\"message\":\"user "
	    "alice from 10.0.0.1: action e not permitted "
	    "on s: not in the user's actions\",\"src\":\"10.0.0.1\","
	    "\"server\":\"s\",\"user\":\"alice\",\"action\":\"e\","
	    "\"outcome\":\"denied\",\"reason\":\"user_actions\"}\n",
	},
	{ "c1_denied_ips", c1_denied_ips, -10, "0 0 0",
	    "received+1 denied+1",
	    "",
	    "\"level\":\"warning\",\"code\":\"SL204\",\"message\":\"user "
	    "alice from 10.0.0.1: action d not permitted "
	    "on s: address outside the action's allowed_ips\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"d\",\"outcome\":\"denied\",\"reason\":\"action_"
	    "allowed_ips\"}\n",
	},
	{ "c1_no_action", c1_no_action, -10, "0 0 0",
	    "received+1 denied+1",
	    "",
	    "\"level\":\"warning\",\"code\":\"SL204\",\"message\":\"user "
	    "alice from 10.0.0.1: action id 9 not permitted "
	    "on s: no action has this id\",\"src\":\"10.0.0.1\","
	    "\"server\":\"s\",\"user\":\"alice\",\"action\":\"id "
	    "9\",\"outcome\":\"denied\",\"reason\":\"unknown_action\"}\n",
	},
	{ "c1_accepted", c1_accepted, 0, "0 0 0",
	    "received+1 accepted+1",
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action a authorized\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"a\",\"outcome\":\"accepted\",\"reason\":null}\n",
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action a authorized\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"a\",\"outcome\":\"accepted\",\"reason\":null}\n",
	},
	{ "c1_discarded", c1_discarded, 0, "0 0 0",
	    "received+1 accepted+1",
	    "\"level\":\"info\",\"code\":\"SL105\",\"message\":\"user "
	    "alice: action c discards payloads, 6 bytes dropped\"}\n"
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action c authorized\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"c\",\"outcome\":\"accepted\",\"reason\":null}\n",
	    "\"level\":\"info\",\"code\":\"SL105\",\"message\":\"user "
	    "alice: action c discards payloads, 6 bytes dropped\"}\n"
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action c authorized\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"c\",\"outcome\":\"accepted\",\"reason\":null}\n",
	},
	{ "c1_duplicate", c1_duplicate, -22, "0 0 0",
	    "received+2 duplicate+1 rejected+1",
	    "",
	    "\"level\":\"notice\",\"code\":\"SL201\",\"message\":\"reject"
	    "ed packet from 10.0.0.1 on s: did not decrypt "
	    "with this server's key\",\"src\":\"10.0.0.1\","
	    "\"server\":\"s\",\"user\":null,\"action\":null,"
	    "\"outcome\":\"rejected\",\"reason\":\"decrypt\"}\n"
	    "\"level\":\"debug\",\"code\":\"SL208\",\"message\":\"dropped"
	    " 256-byte datagram from 10.0.0.1 on s: duplicate "
	    "datagram\"}\n",
	},
	{ "c2_unknown_tag", c2_unknown_tag, -6, "0 0 0",
	    "received+1 k2_unknown_tag+1",
	    "",
	    "\"level\":\"debug\",\"code\":\"SL210\",\"message\":\"dropped"
	    " format-2 datagram from 10.0.0.1 on s: no user's "
	    "current tag\"}\n",
	},
	{ "c2_bad_mac", c2_bad_mac, -6, "0 0 0",
	    "received+1 k2_bad_mac+1",
	    "",
	    "\"level\":\"debug\",\"code\":\"SL210\",\"message\":\"dropped"
	    " format-2 datagram from 10.0.0.1 on s: wrong "
	    "MAC\"}\n",
	},
	{ "c2_replayed_admit", c2_replayed_admit, -8, "0 0 0",
	    "received+2 replayed+1 accepted+1 k2_accepted+1",
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action a authorized "
	    "(format 2, for 10.0.0.1, no address named)\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"a\",\"outcome\":\"accepted\",\"reason\":null}\n",
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action a authorized "
	    "(format 2, for 10.0.0.1, no address named)\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"a\",\"outcome\":\"accepted\",\"reason\":null}\n"
	    "\"level\":\"warning\",\"code\":\"SL203\",\"message\":\"user "
	    "alice from 10.0.0.1: replayed format-2 knock "
	    "refused\",\"src\":\"10.0.0.1\",\"server\":\"s\","
	    "\"user\":\"alice\",\"action\":null,\"outcome\":\"replayed\","
	    "\"reason\":\"replay\"}\n",
	},
	{ "c2_copy", c2_copy, -22, "0 0 0",
	    "received+2 k2_copy+1",
	    "",
	    "\"level\":\"debug\",\"code\":\"SL208\",\"message\":\"user "
	    "alice from 10.0.0.1: copy of a format-2 knock "
	    "in flight or refused, dropped\"}\n",
	},
	{ "c2_wrong_address", c2_wrong_address, -10, "0 0 0",
	    "received+1 k2_wrong_address+1",
	    "",
	    "\"level\":\"warning\",\"code\":\"SL211\",\"message\":\"user "
	    "alice: knock for 198.51.100.7 came from 10.0.0.1,"
	    " refused (grant_named_address = no)\",\"src\":\"10.0.0.1\","
	    "\"server\":\"s\",\"user\":\"alice\",\"action\":\"a\","
	    "\"outcome\":\"denied\",\"reason\":\"wrong_address\"}\n",
	},
	{ "c2_elsewhere", c2_elsewhere, -22, "0 0 0",
	    "received+2 k2_elsewhere+1 k2_wrong_address+1",
	    "",
	    "\"level\":\"warning\",\"code\":\"SL211\",\"message\":\"user "
	    "alice: knock for 198.51.100.7 came from 10.0.0.1,"
	    " refused (grant_named_address = no)\",\"src\":\"10.0.0.1\","
	    "\"server\":\"s\",\"user\":\"alice\",\"action\":\"a\","
	    "\"outcome\":\"denied\",\"reason\":\"wrong_address\"}\n"
	    "\"level\":\"notice\",\"code\":\"SL211\",\"message\":\"user "
	    "alice: copy of a refused format-2 knock from "
	    "10.0.0.2, dropped\",\"src\":\"10.0.0.2\",\"server\":\"s\","
	    "\"user\":\"alice\",\"action\":null,\"outcome\":\"dropped\","
	    "\"reason\":\"elsewhere\"}\n",
	},
	{ "c2_budget", c2_budget, -21, "0 0 0",
	    "received+4 accepted+3 k2_user_budget+1 k2_accepted+3",
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action a authorized "
	    "(format 2, for 10.0.0.1, no address named)\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"a\",\"outcome\":\"accepted\",\"reason\":null}\n"
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action a authorized "
	    "(format 2, for 10.0.0.1, no address named)\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"a\",\"outcome\":\"accepted\",\"reason\":null}\n"
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action a authorized "
	    "(format 2, for 10.0.0.1, no address named)\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"a\",\"outcome\":\"accepted\",\"reason\":null}\n",
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action a authorized "
	    "(format 2, for 10.0.0.1, no address named)\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"a\",\"outcome\":\"accepted\",\"reason\":null}\n"
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action a authorized "
	    "(format 2, for 10.0.0.1, no address named)\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"a\",\"outcome\":\"accepted\",\"reason\":null}\n"
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action a authorized "
	    "(format 2, for 10.0.0.1, no address named)\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"a\",\"outcome\":\"accepted\",\"reason\":null}\n"
	    "\"level\":\"warning\",\"code\":\"SL213\",\"message\":\"user "
	    "alice from 10.0.0.1: more than 3 format-2 knocks "
	    "in 10 s, dropped (ratelimit_user_budget)\",\"src\":\"10.0.0."
	    "1\",\"server\":\"s\",\"user\":\"alice\",\"action\":null,"
	    "\"outcome\":\"dropped\",\"reason\":\"user_budget\"}\n",
	},
	{ "c2_stale", c2_stale, -7, "0 0 0",
	    "received+1 stale+1",
	    "",
	    "\"level\":\"notice\",\"code\":\"SL202\",\"message\":\"user "
	    "alice from 10.0.0.1: format-2 timestamp -1000 "
	    "s off (window 120 s), refused\",\"src\":\"10.0.0.1\","
	    "\"server\":\"s\",\"user\":\"alice\",\"action\":\"a\","
	    "\"outcome\":\"stale\",\"reason\":\"timestamp\"}\n",
	},
	{ "c2_unopened", c2_unopened, -3, "0 0 0",
	    "received+1 k2_unopened+1",
	    "",
	    "\"level\":\"warning\",\"code\":\"SL212\",\"message\":\"user "
	    "alice from 10.0.0.1: format-2 knock with a good "
	    "MAC does not open (decryption failed): made "
	    "for another server key, or by a broken client\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":null,\"outcome\":\"rejected\",\"reason\":\"unopen"
	    "ed\"}\n",
	},
	{ "c2_no_address", c2_no_address, -10, "0 0 0",
	    "received+1 k2_no_address+1",
	    "",
	    "\"level\":\"warning\",\"code\":\"SL211\",\"message\":\"user "
	    "alice from 10.0.0.1: knock names no address,"
	    " refused (require_named_address = yes)\",\"src\":\"10.0.0.1\""
	    ",\"server\":\"t\",\"user\":\"alice\",\"action\":\"a\","
	    "\"outcome\":\"denied\",\"reason\":\"no_address\"}\n",
	},
	{ "c2_denied_ips", c2_denied_ips, -10, "0 0 0",
	    "received+1 denied+1",
	    "",
	    "\"level\":\"warning\",\"code\":\"SL204\",\"message\":\"user "
	    "alice from 10.0.0.1: action d not permitted "
	    "on s: address outside the action's allowed_ips\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"d\",\"outcome\":\"denied\",\"reason\":\"action_"
	    "allowed_ips\"}\n",
	},
	{ "c2_replayed_finish", c2_replayed_finish, -8, "0 0 0",
	    "received+1 replayed+1",
	    "",
	    "\"level\":\"warning\",\"code\":\"SL203\",\"message\":\"user "
	    "alice from 10.0.0.1: replayed format-2 knock "
	    "refused\",\"src\":\"10.0.0.1\",\"server\":\"s\","
	    "\"user\":\"alice\",\"action\":\"a\",\"outcome\":\"replayed\""
	    ",\"reason\":\"replay\"}\n",
	},
	{ "c2_user_full", c2_user_full, -9, "0 0 0",
	    "received+1 cache_full+1",
	    "",
	    "\"level\":\"error\",\"code\":\"SL206\",\"message\":\"user "
	    "alice from 10.0.0.1: format-2 knock not recorded "
	    "(this user's share of the replay cache is full),"
	    " refused\",\"src\":\"10.0.0.1\",\"server\":\"s\","
	    "\"user\":\"alice\",\"action\":\"a\",\"outcome\":\"refused\","
	    "\"reason\":\"cache_full\"}\n",
	},
	{ "c2_state_error", c2_state_error, -13, "0 0 0",
	    "received+1 state_error+1",
	    "",
	    "\"level\":\"error\",\"code\":\"SL301\",\"message\":\"STATE/r"
	    "eplay.state: ftruncate: Invalid argument\"}\n"
	    "\"level\":\"error\",\"code\":\"SL301\",\"message\":\"user "
	    "alice from 10.0.0.1: format-2 knock not recorded "
	    "(Bad file descriptor), refused\",\"src\":\"10.0.0.1\","
	    "\"server\":\"s\",\"user\":\"alice\",\"action\":\"a\","
	    "\"outcome\":\"refused\",\"reason\":\"state_error\"}\n",
	},
	{ "c2_not_ascii", c2_not_ascii, -11, "1 2 2",
	    "received+1 not_ascii+1",
	    "",
	    "\"level\":\"warning\",\"code\":\"SL205\",\"message\":\"user "
	    "alice from 10.0.0.1: action b requires a printable "
	    "ASCII payload, refused\",\"src\":\"10.0.0.1\","
	    "\"server\":\"s\",\"user\":\"alice\",\"action\":\"b\","
	    "\"outcome\":\"denied\",\"reason\":\"not_ascii\"}\n",
	},
	{ "c2_denied_user", c2_denied_user, -10, "1 2 1",
	    "received+1 denied+1",
	    "",
	    "\"level\":\"warning\",\"code\":\"SL204\",\"message\":\"user "
	    "alice from 10.0.0.1: action e not permitted "
	    "on s: not in the user's actions\",\"src\":\"10.0.0.1\","
	    "\"server\":\"s\",\"user\":\"alice\",\"action\":\"e\","
	    "\"outcome\":\"denied\",\"reason\":\"user_actions\"}\n",
	},
	{ "c2_accepted", c2_accepted, 0, "2 0 0",
	    "received+1 accepted+1 k2_accepted+1",
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action a authorized "
	    "(format 2, for 10.0.0.1, no address named)\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"a\",\"outcome\":\"accepted\",\"reason\":null}\n",
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action a authorized "
	    "(format 2, for 10.0.0.1, no address named)\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"a\",\"outcome\":\"accepted\",\"reason\":null}\n",
	},
	{ "c2_accepted_named", c2_accepted_named, 0, "0 0 0",
	    "received+1 accepted+1 k2_accepted+1",
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action a authorized "
	    "(format 2, for 10.0.0.1)\",\"src\":\"10.0.0.1\","
	    "\"server\":\"s\",\"user\":\"alice\",\"action\":\"a\","
	    "\"outcome\":\"accepted\",\"reason\":null}\n",
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action a authorized "
	    "(format 2, for 10.0.0.1)\",\"src\":\"10.0.0.1\","
	    "\"server\":\"s\",\"user\":\"alice\",\"action\":\"a\","
	    "\"outcome\":\"accepted\",\"reason\":null}\n",
	},
	{ "c2_discarded", c2_discarded, 0, "0 0 0",
	    "received+1 accepted+1 k2_accepted+1",
	    "\"level\":\"info\",\"code\":\"SL105\",\"message\":\"user "
	    "alice: action c discards payloads, 6 bytes dropped\"}\n"
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action c authorized "
	    "(format 2, for 10.0.0.1, no address named)\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"c\",\"outcome\":\"accepted\",\"reason\":null}\n",
	    "\"level\":\"info\",\"code\":\"SL105\",\"message\":\"user "
	    "alice: action c discards payloads, 6 bytes dropped\"}\n"
	    "\"level\":\"notice\",\"code\":\"SL100\",\"message\":\"user "
	    "alice from 10.0.0.1 on s: action c authorized "
	    "(format 2, for 10.0.0.1, no address named)\","
	    "\"src\":\"10.0.0.1\",\"server\":\"s\",\"user\":\"alice\","
	    "\"action\":\"c\",\"outcome\":\"accepted\",\"reason\":null}\n",
	},
};

/* Print a string as C literals, a line for each line of it, none wider
 * than 80 columns. */
static void
print_lit(const char *s)
{
	size_t col = 0;

	printf("\t    \"");
	for (; *s != '\0'; s++) {
		if (col >= 60 && *s != '\n') {
			printf("\"\n\t    \"");
			col = 0;
		}
		if (*s == '"' || *s == '\\') {
			printf("\\%c", *s);
			col += 2;
		} else if (*s == '\n' && s[1] != '\0') {
			printf("\\n\"\n\t    \"");
			col = 0;
		} else if (*s == '\n') {
			printf("\\n");
		} else {
			putchar(*s);
			col++;
		}
		/* after a comma or a space, where one comes late enough */
		if ((*s == ',' || *s == ' ') && col >= 44 && s[1] != '\n' &&
		    s[1] != '\0') {
			printf("\"\n\t    \"");
			col = 0;
		}
	}
	printf("\",\n");
}

static void
test_outcomes(void **state)
{
	char rc0[16], rc1[16], rcpt0[64], rcpt1[64], cnt0[512], cnt1[512];
	char l0[8192], l1[8192];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		const struct expect *x = &expected[i];

		run_case(x, 0, rc0, sizeof(rc0), rcpt0, sizeof(rcpt0), cnt0,
		    sizeof(cnt0), l0, sizeof(l0));
		run_case(x, 1000, rc1, sizeof(rc1), rcpt1, sizeof(rcpt1), cnt1,
		    sizeof(cnt1), l1, sizeof(l1));
		/* the log's limits change nothing else */
		assert_string_equal(rc0, rc1);
		assert_string_equal(rcpt0, rcpt1);
		assert_string_equal(cnt0, cnt1);
		if (golden) {
			printf("\t{ \"%s\", %s, %s, \"%s\",\n\t    \"%s\",\n",
			    x->name, x->name, rc1, rcpt1, cnt1);
			print_lit(l0);
			print_lit(l1);
			printf("\t},\n");
			continue;
		}
		printf("# %s\n", x->name);
		assert_int_equal(atoi(rc1), x->rc);
		assert_string_equal(rcpt1, x->receipt);
		assert_string_equal(cnt1, x->counters);
		assert_string_equal(l0, x->unlimited);
		assert_string_equal(l1, x->lines);
	}
}

static int
setup(void **state)
{
	char err[512];
	int fd;

	(void)state;
	golden = getenv("PIPELINE_GOLDEN") != NULL;
	log_init("test_pipeline_outcomes", 1, 1);
	log_set_json(1);
	if ((fd = mkstemp(logpath)) < 0)
		return 1;
	close(fd);
	if (log_set_file(logpath) != 0 || mkdtemp(statedir) == NULL)
		return 1;
	if (crypto_load_private("tests/vectors/server.priv.pem", 0, &priv,
	    err, sizeof(err)) != 0 ||
	    crypto_load_public("tests/vectors/server.pub.pem", &pub, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "keys: %s\n", err);
		return 1;
	}
	return 0;
}

static int
teardown(void **state)
{
	char path[256];

	(void)state;
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
	log_close();
	unlink(logpath);
	snprintf(path, sizeof(path), "%s/replay.state", statedir);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/replay.state.tmp", statedir);
	(void)unlink(path);
	(void)rmdir(statedir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcomes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
