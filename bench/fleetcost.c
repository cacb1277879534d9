/*
 * fleetcost - what an authenticated knock pays for the fleet's replay
 * check, next to the local path it adds to (fleet.h).
 *
 *   fleetcost HOST PORT USER PASSWORD N
 *
 * store:  N claims as the fleet process makes them (fstore_claim: SET key
 *         gateway NX PX 240000, each key new) on one connection to the
 *         store at HOST:PORT, timed one by one;
 *   also: N claims of keys already taken (SET NX, then GET for the name of
 *         the first gateway): what a replayed knock costs;
 * local:  N knocks recorded in a replay journal in a temporary directory
 *         (replay_check_and_add: the check, the table and the journal's
 *         write), timed one by one.
 * Prints p50 and p99 in microseconds for each, one line each.  The store
 * should be on loopback and otherwise idle; bench/run.sh starts one.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "config.h"
#include "fleet.h"
#include "replay.h"
#include "util.h"

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* The journal's directory holds files only. */
static void
rm_flat(const char *dir)
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	(void)rmdir(dir);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *what, double *t, size_t n)
{
	qsort(t, n, sizeof(*t), cmp);
	printf("%-58s p50 %8.1f us  p99 %8.1f us\n", what, t[n / 2],
	    t[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]);
}

int
main(int argc, char **argv)
{
	struct cfg_fleet f;
	struct fstore *s;
	struct replay *rp;
	enum replay_load how;
	char err[512], key[256], who[SL_NAME_MAX], ver[64];
	char dir[] = "/tmp/fleetcost.XXXXXX";
	uint8_t k[SL_HMAC_LEN];
	double *t, t0;
	long long n;
	size_t i;
	time_t now = time(NULL);

	if (argc != 6 || sl_parse_num(argv[5], 100, 10000000, &n) != 0) {
		fprintf(stderr, "usage: fleetcost HOST PORT USER PASSWORD N\n");
		return 2;
	}
	memset(&f, 0, sizeof(f));
	sl_strlcpy(f.host, argv[1], sizeof(f.host));
	f.port = (uint16_t)atoi(argv[2]);
	sl_strlcpy(f.user, argv[3], sizeof(f.user));
	sl_strlcpy(f.password, argv[4], sizeof(f.password));
	sl_strlcpy(f.prefix, "bench:", sizeof(f.prefix));
	if ((t = calloc((size_t)n, sizeof(*t))) == NULL)
		return 1;
	if ((s = fstore_open(&f, 2000, err, sizeof(err))) == NULL ||
	    fstore_version(s, ver, sizeof(ver), err, sizeof(err)) != 0) {
		fprintf(stderr, "fleetcost: %s\n", err);
		return 1;
	}
	for (i = 0; i < (size_t)n; i++) {
		RAND_bytes(k, sizeof(k));
		(void)fleet_replay_key(f.prefix, 10, k, key, sizeof(key));
		t0 = now_us();
		if (fstore_claim(s, key, "bench", 240000, who, sizeof(who),
		    err, sizeof(err)) != FR_OURS) {
			fprintf(stderr, "fleetcost: claim: %s\n", err);
			return 1;
		}
		t[i] = now_us() - t0;
	}
	snprintf(err, sizeof(err), "store: SET NX PX, a new knock (%s, loopback)",
	    ver);
	report(err, t, (size_t)n);
	/* the same keys again: taken, and named */
	for (i = 0; i < (size_t)n; i++) {
		(void)fleet_replay_key(f.prefix, 11, (const uint8_t *)"0123456789"
		    "0123456789012345678901", key, sizeof(key));
		if (i == 0)
			(void)fstore_claim(s, key, "bench", 240000, who,
			    sizeof(who), err, sizeof(err));
		t0 = now_us();
		if (fstore_claim(s, key, "bench", 240000, who, sizeof(who),
		    err, sizeof(err)) != FR_TAKEN) {
			fprintf(stderr, "fleetcost: claim again: %s\n", err);
			return 1;
		}
		t[i] = now_us() - t0;
	}
	report("store: SET NX + GET, a replayed knock", t, (size_t)n);
	fstore_close(s);

	if (mkdtemp(dir) == NULL || replay_open(&rp, dir, (uint32_t)n + 16,
	    120, now, &how, err, sizeof(err)) != 0) {
		fprintf(stderr, "fleetcost: replay journal: %s\n", err);
		return 1;
	}
	for (i = 0; i < (size_t)n; i++) {
		RAND_bytes(k, sizeof(k));
		t0 = now_us();
		if (replay_check_and_add(rp, 10, k, (uint32_t)now, now) != 0) {
			fprintf(stderr, "fleetcost: replay_check_and_add failed\n");
			return 1;
		}
		t[i] = now_us() - t0;
	}
	report("local: replay_check_and_add (table + journal write)", t,
	    (size_t)n);
	replay_close(rp);
	rm_flat(dir);
	free(t);
	return 0;
}
