/*
 * rsaop - CPU cost of one RSA-2048 PKCS#1 v1.5 private-key decryption on
 * this machine, through the daemon's own code (crypto_dec_knock), so the
 * benchmark can print "valid knock cost / RSA op cost" from one run.
 * Usage: rsaop PRIVKEY PUBKEY [N]; prints "rsa_op_us=X ops_per_cpu_s=Y".
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "crypto.h"

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	EVP_PKEY *priv = NULL, *pub = NULL;
	struct crypto_dec *d = NULL;
	uint8_t pt[SL_PACKET_LEN], ct[SL_DGRAM_LEN];
	char err[512];
	long i, n = argc > 3 ? atol(argv[3]) : 2000;
	double t0, t1;

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
	crypto_random(pt, sizeof(pt));
	if (crypto_enc_knock(pub, pt, ct) != 0)
		return 1;
	for (i = 0; i < 50; i++)  /* warm up */
		(void)crypto_dec_knock(d, ct, pt);
	t0 = cpu_now();
	for (i = 0; i < n; i++)
		if (crypto_dec_knock(d, ct, pt) != 0)
			return 1;
	t1 = cpu_now();
	printf("rsa_op_us=%.1f ops_per_cpu_s=%.0f\n", (t1 - t0) / (double)n * 1e6,
	    (double)n / (t1 - t0));
	crypto_dec_free(d);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
	return 0;
}
