/*
 * rsaop - CPU cost of one RSA-2048 private-key operation on this machine,
 * both kinds the daemon does, so the benchmark can print "valid knock
 * cost / RSA op cost" from one run:
 *   format 1: PKCS#1 v1.5 decryption of a 256-byte knock, through the
 *             daemon's own code (crypto_dec_knock);
 *   format 2: RSA-OAEP (SHA-256, MGF1-SHA-256, no label) decryption of a
 *             32-byte content key, with an EVP_PKEY_CTX set up once, as
 *             k2_open does it.
 * The two are timed in alternating rounds (process CPU time), so a noisy
 * neighbour weighs on both alike: N of each back to back (the figures
 * the benchmark holds knocks against), then N / 10 of each with a 1 ms
 * sleep before every operation, timed around the operation alone: what
 * one costs in a process that sleeps between them, as a daemon serving
 * paced knocks does (caches and predictors cold, the CPU shared with
 * whatever ran meanwhile).
 * Usage: rsaop PRIVKEY PUBKEY [N]; prints
 *   rsa_op_us=X ops_per_cpu_s=Y
 *   oaep_op_us=X oaep_ops_per_cpu_s=Y
 *   rsa_slept_us=X oaep_slept_us=Y
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "crypto.h"
#include "knock2.h"

#define ROUNDS 10

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An OAEP-SHA256 context on key, for encryption or decryption. */
static EVP_PKEY_CTX *
oaep_ctx(EVP_PKEY *key, int decrypt)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);

	if (c == NULL || (decrypt ? EVP_PKEY_decrypt_init(c) :
	    EVP_PKEY_encrypt_init(c)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) != 1) {
		EVP_PKEY_CTX_free(c);
		return NULL;
	}
	return c;
}

int
main(int argc, char **argv)
{
	EVP_PKEY *priv = NULL, *pub = NULL;
	EVP_PKEY_CTX *oenc = NULL, *odec = NULL;
	struct crypto_dec *d = NULL;
	uint8_t pt[SL_PACKET_LEN], ct[SL_DGRAM_LEN];
	uint8_t ck[K2_CK_LEN], wrap[K2_WRAP_LEN], out[K2_WRAP_LEN];
	size_t len = sizeof(wrap);
	char err[512];
	long i, r, n = argc > 3 ? atol(argv[3]) : 2000, per;
	double t0, t_pkcs = 0, t_oaep = 0, s_pkcs = 0, s_oaep = 0;
	long slept;

	if (argc < 3 || n <= 0) {
		fprintf(stderr, "usage: rsaop PRIVKEY PUBKEY [N]\n");
		return 2;
	}
	if (crypto_load_private(argv[1], 0, &priv, err, sizeof(err)) != 0 ||
	    crypto_load_public(argv[2], &pub, err, sizeof(err)) != 0 ||
	    crypto_dec_new(priv, &d) != 0) {
		fprintf(stderr, "rsaop: %s\n", err);
		return 1;
	}
	if ((oenc = oaep_ctx(pub, 0)) == NULL || (odec = oaep_ctx(priv, 1)) == NULL) {
		fprintf(stderr, "rsaop: no RSA-OAEP context\n");
		return 1;
	}
	crypto_random(pt, sizeof(pt));
	crypto_random(ck, sizeof(ck));
	if (crypto_enc_knock(pub, pt, ct) != 0 ||
	    EVP_PKEY_encrypt(oenc, wrap, &len, ck, sizeof(ck)) != 1 ||
	    len != sizeof(wrap))
		return 1;
	for (i = 0; i < 50; i++) {  /* warm up */
		(void)crypto_dec_knock(d, ct, pt);
		len = sizeof(out);
		(void)EVP_PKEY_decrypt(odec, out, &len, wrap, sizeof(wrap));
	}
	per = (n + ROUNDS - 1) / ROUNDS;
	for (r = 0; r < ROUNDS; r++) {
		t0 = cpu_now();
		for (i = 0; i < per; i++)
			if (crypto_dec_knock(d, ct, pt) != 0)
				return 1;
		t_pkcs += cpu_now() - t0;
		t0 = cpu_now();
		for (i = 0; i < per; i++) {
			len = sizeof(out);
			if (EVP_PKEY_decrypt(odec, out, &len, wrap,
			    sizeof(wrap)) != 1 || len != K2_CK_LEN)
				return 1;
		}
		t_oaep += cpu_now() - t0;
	}
	n = per * ROUNDS;
	slept = n / 10 > 0 ? n / 10 : 1;
	for (i = 0; i < slept; i++) {
		usleep(1000);
		t0 = cpu_now();
		if (crypto_dec_knock(d, ct, pt) != 0)
			return 1;
		s_pkcs += cpu_now() - t0;
		usleep(1000);
		len = sizeof(out);
		t0 = cpu_now();
		if (EVP_PKEY_decrypt(odec, out, &len, wrap, sizeof(wrap)) != 1)
			return 1;
		s_oaep += cpu_now() - t0;
	}
	printf("rsa_op_us=%.1f ops_per_cpu_s=%.0f\n", t_pkcs / (double)n * 1e6,
	    (double)n / t_pkcs);
	printf("oaep_op_us=%.1f oaep_ops_per_cpu_s=%.0f\n",
	    t_oaep / (double)n * 1e6, (double)n / t_oaep);
	printf("rsa_slept_us=%.1f oaep_slept_us=%.1f\n",
	    s_pkcs / (double)slept * 1e6, s_oaep / (double)slept * 1e6);
	EVP_PKEY_CTX_free(oenc);
	EVP_PKEY_CTX_free(odec);
	crypto_dec_free(d);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
	return 0;
}
