/*
 * f1reasons - the CPU time a rejected format-1 knock costs the receive
 * path, by what made it fail, to show that telling the reasons apart in
 * the log (SL201) left the work the same: one RSA decryption, one decode,
 * one HMAC, whatever failed.
 *
 *   f1reasons PRIVKEY PUBKEY [ROUNDS [BATCH]]
 *
 * One configuration (a server with the key, an enabled user 1, a disabled
 * user 2, an action 1; logging off, budgets wide: the line itself is
 * flood-limited and is not what is measured), one pipeline, and for each
 * reason BATCH distinct datagrams: encrypted to another key (decrypt), a
 * 200-byte plaintext (malformed), version 2 (version), user id 999
 * (unknown_user), user 2 (user_disabled), a flipped HMAC bit (hmac).
 * ROUNDS times, each reason's batch in turn goes through pipeline_crypto()
 * and pipeline_finish(); the thread's CPU time per datagram is taken per
 * batch.  Prints the median per reason and the largest difference between
 * two medians, in microseconds and as a share of the smallest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "config.h"
#include "crypto.h"
#include "log.h"
#include "pipeline.h"
#include "replay.h"
#include "stats.h"
#include "wire.h"

#define NR 6
static const char *const reason_name[NR] = { "decrypt", "malformed",
    "version", "unknown_user", "user_disabled", "hmac" };

static double
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One datagram failing for reason r. */
static int
make(int r, EVP_PKEY *pub, EVP_PKEY *other, const uint8_t key[32],
    uint32_t now, uint8_t dg[SL_DGRAM_LEN])
{
	struct wire_knock k;
	uint8_t pt[SL_PACKET_LEN];
	EVP_PKEY_CTX *ctx;
	size_t outlen = SL_DGRAM_LEN;
	int rc;

	memset(&k, 0, sizeof(k));
	k.version = r == 2 ? 2 : SL_WIRE_VERSION;
	k.timestamp = now;
	k.user_id = r == 3 ? 999 : r == 4 ? 2 : 1;
	k.action_id = 1;
	if (crypto_random(&k.challenge, sizeof(k.challenge)) != 0 ||
	    wire_hmac(NULL, k.hmac, key, &k) != 0)
		return -1;
	if (r == 5)
		k.hmac[0] ^= 1;
	if (wire_encode(pt, sizeof(pt), &k) != 0)
		return -1;
	if (r == 0)
		return crypto_enc_knock(other, pt, dg);
	if (r != 1)
		return crypto_enc_knock(pub, pt, dg);
	/* a plaintext of the wrong length */
	if ((ctx = EVP_PKEY_CTX_new(pub, NULL)) == NULL)
		return -1;
	rc = EVP_PKEY_encrypt_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_encrypt(ctx, dg, &outlen, pt, 200) == 1 ? 0 : -1;
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	static struct pipeline_job j;
	static struct stats_buf sb;
	char want[64];
	struct pipeline *p = NULL;
	struct replay *rp = NULL;
	struct sl_request req;
	struct sl_addr src = { .family = AF_INET, .bytes = { 127, 0, 0, 1 } };
	enum replay_load how;
	EVP_PKEY *priv = NULL, *pub = NULL, *other = NULL;
	uint8_t *dg[NR];
	double *t[NR], med[NR], lo, hi, t0;
	char err[512];
	time_t now = time(NULL);
	long rounds = 15, batch = 20, i, b;
	int r, rc;

	if (argc < 3 || argc > 5 ||
	    (argc > 3 && ((rounds = atol(argv[3])) < 1 || rounds > 1000)) ||
	    (argc > 4 && ((batch = atol(argv[4])) < 1 || batch > 1000))) {
		fprintf(stderr, "usage: f1reasons PRIVKEY PUBKEY [ROUNDS "
		    "[BATCH]]\n");
		return 2;
	}
	log_init("f1reasons", 1, 0);
	if (crypto_load_private(argv[1], 0, &priv, err, sizeof(err)) != 0 ||
	    crypto_load_public(argv[2], &pub, err, sizeof(err)) != 0) {
		fprintf(stderr, "f1reasons: %s\n", err);
		return 1;
	}
	if ((other = EVP_RSA_gen(2048)) == NULL)
		return 1;
	cfg.timestamp_window = 120;
	cfg.ratelimit_source_budget = 100000;
	cfg.ratelimit_prefix_budget = 1000000;
	cfg.ratelimit_window = 10;
	cfg.ratelimit_penalty = 10;
	cfg.ratelimit_penalty_max = 600;
	cfg.ratelimit_good_time = 600;
	cfg.ratelimit_table_size = 65536;
	cfg.ratelimit_user_budget = 20;
	memset(cfg.action_by_id, 0xff, sizeof(cfg.action_by_id));
	memset(cfg.user_by_id, 0xff, sizeof(cfg.user_by_id));
	cfg.nservers = cfg.nactions = 1;
	cfg.nusers = 2;
	strcpy(cfg.servers[0].name, "bench");
	cfg.servers[0].enabled = cfg.servers[0].secure = true;
	cfg.servers[0].format1 = true;
	cfg.servers[0].priv = priv;
	idset_add(&cfg.servers[0].actions, 1);
	strcpy(cfg.actions[0].name, "noop");
	cfg.actions[0].id = 1;
	cfg.actions[0].enabled = true;
	strcpy(cfg.actions[0].constructor, "/bin/true");
	cfg.action_by_id[1] = 0;
	for (i = 0; i < 2; i++) {
		snprintf(cfg.users[i].name, sizeof(cfg.users[i].name), "u%ld",
		    i + 1);
		cfg.users[i].id = (int)i + 1;
		cfg.users[i].enabled = i == 0;
		idset_add(&cfg.users[i].actions, 1);
		cfg.user_by_id[i + 1] = (int16_t)i;
		if (crypto_random(cfg.users[i].hmac_key, SL_HMAC_KEY_LEN) != 0)
			return 1;
	}
	if (replay_open(&rp, NULL, 65536, 120, now, &how, err,
	    sizeof(err)) != 0 || pipeline_new(&p, &cfg, rp, NULL) != 0)
		return 1;
	for (r = 0; r < NR; r++) {
		if ((dg[r] = malloc((size_t)batch * SL_DGRAM_LEN)) == NULL ||
		    (t[r] = calloc((size_t)rounds, sizeof(double))) == NULL)
			return 1;
		for (b = 0; b < batch; b++)
			if (make(r, pub, other, cfg.users[0].hmac_key,
			    (uint32_t)now, dg[r] + b * SL_DGRAM_LEN) != 0)
				return 1;
	}
	for (i = 0; i < rounds; i++)
		for (r = 0; r < NR; r++) {
			t0 = cpu_ns();
			for (b = 0; b < batch; b++) {
				memset(&j, 0, sizeof(j));
				j.src = src;
				j.now = now;
				j.pre.format = 1;
				memcpy(j.dgram, dg[r] + b * SL_DGRAM_LEN,
				    SL_DGRAM_LEN);
				pipeline_crypto(p, NULL, &j);
				if (j.rc != SL_EAUTH) {
					fprintf(stderr, "f1reasons: %s: not "
					    "rejected (%d)\n", reason_name[r],
					    j.rc);
					return 1;
				}
				rc = pipeline_finish(p, &j, 0, &req, NULL);
				(void)rc;
			}
			t[r][i] = (cpu_ns() - t0) / (double)batch;
		}
	lo = 1e18;
	hi = 0;
	printf("f1reasons: CPU time of a rejected format-1 knock, crypto and "
	    "finish steps, median of %ld rounds of %ld:\n", rounds, batch);
	for (r = 0; r < NR; r++) {
		qsort(t[r], (size_t)rounds, sizeof(double), cmp_d);
		med[r] = t[r][rounds / 2];
		lo = med[r] < lo ? med[r] : lo;
		hi = med[r] > hi ? med[r] : hi;
		printf("  %-14s %8.1f us\n", reason_name[r], med[r] / 1e3);
	}
	printf("  largest difference between two reasons: %.1f us (%.1f%% of "
	    "the smallest)\n", (hi - lo) / 1e3, 100.0 * (hi - lo) / lo);
	/* each batch failed for the reason it was made for */
	stats_begin(&sb);
	pipeline_add_stats(p, &sb, false);
	for (r = 0; r < NR; r++) {
		snprintf(want, sizeof(want), "rejected_%s=%ld\n",
		    reason_name[r], rounds * batch);
		if (strstr(sb.text, want) == NULL) {
			fprintf(stderr, "f1reasons: counters do not say %s",
			    want);
			return 1;
		}
	}
	for (r = 0; r < NR; r++) {
		free(dg[r]);
		free(t[r]);
	}
	pipeline_free(p);
	replay_close(rp);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(other);
	return 0;
}
