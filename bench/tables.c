/*
 * tables - what the per-datagram tables of the cheap checks cost, per
 * CPU-second of this process (CLOCK_PROCESS_CPUTIME_ID, so a busy machine
 * slows the figures less than it would a wall-clock time):
 *
 *   dup_seen   the duplicate cache (dupcache.c), 65536 entries, 256-byte
 *              datagrams, every other call a copy of the one before;
 *   rl_check   the failure budgets (ratelimit.c), 1024 sources (IPv4 and
 *              IPv6, some known good, some penalised) with a global cap;
 *   rl_fail    the same sources, each call a failure;
 *   rl_check   1e6 distinct sources in 65536-entry tables that a spoofed
 *   (spoofed)  flood has filled: mostly cache misses.
 *
 *   tables [CALLS]    (default 1000000 per row)
 *
 * Prints one line per row, "NAME: N calls per CPU-second (X ns each)".
 * Exits 1 if a table misbehaves on the way (the unit tests check them;
 * this only refuses to print a figure for a run that went wrong).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "dupcache.h"
#include "ratelimit.h"
#include "sl.h"

#define T0 5000000u

static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
row(const char *name, unsigned long n, double t0, double t1)
{
	double s = t1 - t0;

	if (s <= 0)
		s = 1e-9;
	printf("%-20s %12.0f calls per CPU-second (%.1f ns each, %lu calls)\n",
	    name, (double)n / s, s * 1e9 / (double)n, n);
}

/* A pseudo-random 256-byte datagram per seed. */
static void
mkdgram(uint8_t d[SL_DGRAM_LEN], uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 0x9e3779b9u;

	for (int i = 0; i < SL_DGRAM_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		d[i] = (uint8_t)(x >> 8);
	}
}

static struct sl_addr
v4n(uint32_t n)
{
	struct sl_addr a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	a.bytes[0] = 10;
	a.bytes[1] = (uint8_t)(n >> 16);
	a.bytes[2] = (uint8_t)(n >> 8);
	a.bytes[3] = (uint8_t)n;
	return a;
}

static int
bench_dup(unsigned long n)
{
	static uint8_t pool[256][SL_DGRAM_LEN];
	struct dupcache *d = NULL;
	unsigned long hits = 0;
	double t0, t1;

	if (dup_new(&d, 65536, 60000) != 0)
		return 1;
	for (uint32_t i = 0; i < 256; i++)
		mkdgram(pool[i], i);
	t0 = cpu_s();
	for (unsigned long i = 0; i < n; i++) {
		uint8_t *p = pool[(i >> 1) & 255];
		uint32_t v = (uint32_t)i;

		if ((i & 1) == 0)
			memcpy(p + 100, &v, sizeof(v));
		hits += dup_seen(d, p, SL_DGRAM_LEN, T0 + i / 100);
	}
	t1 = cpu_s();
	dup_free(d);
	if (hits != n / 2) {
		fprintf(stderr, "tables: dup_seen: %lu hits, want %lu\n", hits,
		    n / 2);
		return 1;
	}
	row("dup_seen", n, t0, t1);
	return 0;
}

static int
bench_rl(unsigned long n)
{
	struct rl_config c = {
		.source_budget = 3,
		.prefix_budget = 1000,
		.window_ms = 60000,
		.penalty_ms = 1000,
		.penalty_max_ms = 8000,
		.good_ms = 30000,
		.global_per_sec = 1000,
		.table_entries = 65536,
	};
	struct sl_addr addrs[1024];
	uint64_t sum = 0;
	struct rl *rl = NULL;
	double t0, t1;

	if (rl_new(&rl, &c) != 0)
		return 1;
	for (uint32_t i = 0; i < 1024; i++) {
		addrs[i] = v4n(i * 131);
		if (i % 2 == 0)
			rl_fail(rl, &addrs[i], T0);
		if (i % 4 == 0)
			rl_good(rl, &addrs[i], T0);
		if (i % 8 == 1) {
			addrs[i].family = AF_INET6;  /* a v6 source */
			addrs[i].bytes[15] = 1;
		}
	}
	t0 = cpu_s();
	for (unsigned long i = 0; i < n; i++)
		sum += rl_check(rl, &addrs[i & 1023], T0 + i / 8);
	t1 = cpu_s();
	if (sum == 0) {
		fprintf(stderr, "tables: rl_check: the global cap dropped "
		    "nothing\n");
		rl_free(rl);
		return 1;
	}
	row("rl_check", n, t0, t1);
	t0 = cpu_s();
	for (unsigned long i = 0; i < n; i++)
		rl_fail(rl, &addrs[i & 1023], T0 + i / 8);
	t1 = cpu_s();
	row("rl_fail", n, t0, t1);
	/* a spoofed flood: every source new, the tables full */
	for (uint32_t i = 0; i < 200000; i++) {
		struct sl_addr a = v4n(i * 2654435761u);

		rl_fail(rl, &a, T0 + 200000);
	}
	t0 = cpu_s();
	for (unsigned long i = 0; i < n; i++) {
		struct sl_addr a = v4n((uint32_t)i * 2654435761u);

		sum += rl_check(rl, &a, T0 + 200000 + i / 8);
	}
	t1 = cpu_s();
	row("rl_check (spoofed)", n, t0, t1);
	rl_free(rl);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned long n = 1000000;
	char *end;

	if (argc > 2 || (argc == 2 && ((n = strtoul(argv[1], &end, 10)) == 0 ||
	    *end != '\0'))) {
		fprintf(stderr, "usage: tables [CALLS]\n");
		return 2;
	}
	if (bench_dup(n) != 0 || bench_rl(n) != 0)
		return 1;
	return 0;
}
