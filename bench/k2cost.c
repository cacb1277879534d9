/*
 * k2cost - the instructions one valid format-2 knock costs the daemon's
 * own code, against one RSA-OAEP private-key operation, counted by
 * valgrind's callgrind: a count, not a time, so it is the same on a busy
 * machine as on an idle one (bench/run.sh runs it three times and takes
 * the differences).
 *
 *   k2cost PRIVKEY PUBKEY MODE N
 *
 * Every mode makes the same configuration (one server, one user with a
 * random key, a no-op action), a pipeline and N distinct valid knocks
 * (k2_seal), then:
 *   none      nothing more (what every mode spends before the work);
 *   pipeline  pipeline_process() on each knock: tag, MAC, replay and copy
 *             checks, unwrap, open, decode, window, address, authorize,
 *             record in the (in-memory) replay cache, counters, log lines;
 *   oaep      one RSA-OAEP decryption of each knock's wrap, with an
 *             EVP_PKEY_CTX set up once, as k2_open does it.
 * Each knock must be accepted (pipeline) or unwrap (oaep), else exit 1.
 * What the kernel does for the datagram (receive, the journal's pwrite)
 * is not counted: callgrind sees user space only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "config.h"
#include "crypto.h"
#include "knock2.h"
#include "log.h"
#include "pipeline.h"
#include "replay.h"

int
main(int argc, char **argv)
{
	static struct config cfg;
	struct pipeline *p = NULL;
	struct replay *rp = NULL;
	struct k2_userkeys uk;
	struct k2_inner in;
	struct sl_request req;
	struct sl_addr src = { .family = AF_INET, .bytes = { 127, 0, 0, 1 } };
	enum replay_load how;
	EVP_PKEY *priv = NULL, *pub = NULL;
	EVP_PKEY_CTX *ctx;
	uint8_t *knocks, ck[K2_WRAP_LEN];  /* RSA needs room for a block */
	size_t cklen;
	char err[512];
	time_t now = time(NULL);
	long n, i;
	int rc = 0;

	if (argc != 5 || (n = atol(argv[4])) < 1 || n > 100000) {
		fprintf(stderr, "usage: k2cost PRIVKEY PUBKEY none|pipeline|oaep "
		    "N\n");
		return 2;
	}
	log_init("k2cost", 1, 0);
	if (crypto_load_private(argv[1], 0, &priv, err, sizeof(err)) != 0 ||
	    crypto_load_public(argv[2], &pub, err, sizeof(err)) != 0) {
		fprintf(stderr, "k2cost: %s\n", err);
		return 1;
	}
	/* the configuration config_parse would make, by hand */
	cfg.timestamp_window = 120;
	cfg.ratelimit_source_budget = 20;
	cfg.ratelimit_prefix_budget = 200;
	cfg.ratelimit_window = 10;
	cfg.ratelimit_penalty = 10;
	cfg.ratelimit_penalty_max = 600;
	cfg.ratelimit_good_time = 600;
	cfg.max_decrypts_per_sec = 2000;
	cfg.ratelimit_table_size = 65536;
	cfg.dup_cache_size = 65536;
	cfg.ratelimit_user_budget = 1000000;
	memset(cfg.action_by_id, 0xff, sizeof(cfg.action_by_id));
	memset(cfg.user_by_id, 0xff, sizeof(cfg.user_by_id));
	cfg.nservers = cfg.nactions = cfg.nusers = 1;
	strcpy(cfg.servers[0].name, "bench");
	cfg.servers[0].enabled = cfg.servers[0].secure = true;
	cfg.servers[0].format1 = cfg.servers[0].format2 = true;
	cfg.servers[0].logging = true;
	cfg.servers[0].priv = priv;
	idset_add(&cfg.servers[0].actions, 1);
	strcpy(cfg.actions[0].name, "noop");
	cfg.actions[0].id = 1;
	cfg.actions[0].enabled = true;
	strcpy(cfg.actions[0].constructor, "/bin/true");
	cfg.action_by_id[1] = 0;
	strcpy(cfg.users[0].name, "bench");
	cfg.users[0].id = 1;
	cfg.users[0].enabled = true;
	idset_add(&cfg.users[0].actions, 1);
	cfg.user_by_id[1] = 0;
	if (crypto_random(cfg.users[0].hmac_key, SL_HMAC_KEY_LEN) != 0 ||
	    k2_derive_user(cfg.users[0].hmac_key, &uk) != 0 ||
	    replay_open(&rp, NULL, 65536, 120, now, &how, err,
	    sizeof(err)) != 0 ||
	    pipeline_new(&p, &cfg, rp, NULL) != 0 ||
	    (knocks = malloc((size_t)n * K2_DGRAM_LEN)) == NULL)
		return 1;
	memset(&in, 0, sizeof(in));
	in.user_id = 1;
	in.action_id = 1;
	in.has_addr = true;
	in.addr = src;
	in.timestamp = (uint64_t)now;
	for (i = 0; i < n; i++)
		if (crypto_random(in.nonce, sizeof(in.nonce)) != 0 ||
		    k2_seal(pub, &uk, &in, NULL, knocks + i * K2_DGRAM_LEN,
		    NULL, NULL) != 0)
			return 1;
	/* the same start for every mode: tags made, contexts warm */
	pipeline_tick(p, now, NULL, NULL);
	ctx = EVP_PKEY_CTX_new(priv, NULL);
	if (ctx == NULL || EVP_PKEY_decrypt_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) != 1)
		return 1;
	for (i = 0; i < n && rc == 0; i++) {
		const uint8_t *k = knocks + i * K2_DGRAM_LEN;

		if (strcmp(argv[3], "pipeline") == 0)
			rc = pipeline_process(p, 0, k, K2_DGRAM_LEN, &src, now,
			    &req);
		else if (strcmp(argv[3], "oaep") == 0) {
			cklen = sizeof(ck);
			rc = EVP_PKEY_decrypt(ctx, ck, &cklen,
			    k + K2_OFF_WRAP, K2_WRAP_LEN) == 1 &&
			    cklen == K2_CK_LEN ? 0 : -1;
		} else if (strcmp(argv[3], "none") != 0)
			return 2;
	}
	if (rc != 0) {
		fprintf(stderr, "k2cost: knock %ld not accepted (%d)\n", i, rc);
		return 1;
	}
	EVP_PKEY_CTX_free(ctx);
	pipeline_free(p);
	replay_close(rp);
	free(knocks);
	EVP_PKEY_free(pub);
	return 0;
}
