/* test_replay.c - replay cache: windows, capacity, journal, corruption. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay.h"

#define T0  1700000000
#define W   120
#define HDR 16
#define REC 48

static void mkhmac(uint8_t h[SL_HMAC_LEN], uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 0x9e3779b9u;

	for (int i = 0; i < SL_HMAC_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		h[i] = (uint8_t)x;
	}
}

static int add(struct replay *r, uint16_t uid, uint32_t seed, uint32_t ts,
    time_t now)
{
	uint8_t h[SL_HMAC_LEN];

	mkhmac(h, seed);
	return replay_check_and_add(r, uid, h, ts, now);
}

static struct replay *open_mem(uint32_t cap)
{
	struct replay *r = NULL;
	enum replay_load how;
	char err[256];

	assert_int_equal(replay_open(&r, NULL, cap, W, T0, &how, err,
	    sizeof(err)), 0);
	assert_int_equal(how, REPLAY_FRESH);
	return r;
}

/* state is a heap copy of a fresh mkdtemp directory */
static int dir_setup(void **state)
{
	char *d = strdup("/tmp/sl_test_replay_XXXXXX");

	if (d == NULL || mkdtemp(d) == NULL)
		return -1;
	*state = d;
	return 0;
}

static void jpath(char *buf, size_t len, const char *dir)
{
	snprintf(buf, len, "%s/replay.state", dir);
}

static int dir_teardown(void **state)
{
	char *d = *state, p[512];

	chmod(d, 0700);
	jpath(p, sizeof(p), d);
	unlink(p);
	snprintf(p, sizeof(p), "%s/replay.state.tmp", d);
	unlink(p);
	rmdir(d);
	free(d);
	return 0;
}

static struct replay *open_dir(const char *dir, uint32_t cap, time_t now,
    enum replay_load want)
{
	struct replay *r = NULL;
	enum replay_load how;
	char err[512] = "";

	assert_int_equal(replay_open(&r, dir, cap, W, now, &how, err,
	    sizeof(err)), 0);
	assert_int_equal(how, want);
	assert_non_null(r);
	return r;
}

static off_t jsize(const char *dir)
{
	char p[512];
	struct stat st;

	jpath(p, sizeof(p), dir);
	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

static void test_window_edges(void **state)
{
	static const struct {
		int64_t ts_off, now_off;
		int want;
	} t[] = {
		{ 0, 0, SL_EREPLAY },
		{ 0, W - 1, SL_EREPLAY },
		{ 0, W, SL_EREPLAY },          /* now == ts + window: live */
		{ 0, W + 1, 0 },               /* expired: new again */
		{ W, 2 * W, SL_EREPLAY },      /* future-stamped packet */
		{ W, 2 * W + 1, 0 },
		{ -W, 0, SL_EREPLAY },         /* oldest acceptable packet */
		{ -W, 1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct replay *r = open_mem(16);
		uint32_t ts = (uint32_t)(T0 + t[i].ts_off);

		assert_int_equal(add(r, 7, 1, ts, T0), 0);
		assert_int_equal(add(r, 7, 1, ts, T0 + t[i].now_off),
		    t[i].want);
		assert_int_equal(replay_count(r), 1);
		replay_expire(r, T0 + t[i].now_off);
		assert_int_equal(replay_count(r), t[i].want == 0 ? 0 : 1);
		replay_close(r);
	}
}

static void test_replay_within_window(void **state)
{
	struct replay *r = open_mem(256);

	(void)state;
	for (uint32_t i = 0; i < 200; i++)
		assert_int_equal(add(r, 1, i, T0, T0), 0);
	for (uint32_t i = 0; i < 200; i++)
		assert_int_equal(add(r, 1, i, T0, T0 + (time_t)(i % W)),
		    SL_EREPLAY);
	assert_int_equal(replay_count(r), 200);
	replay_close(r);
}

static void test_distinct_keys(void **state)
{
	static const struct {
		uint16_t uid;
		uint32_t seed;
	} k[] = { { 1, 10 }, { 2, 10 }, { 1, 11 }, { 0, 10 }, { 65535, 10 } };
	struct replay *r = open_mem(16);

	(void)state;
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		assert_int_equal(add(r, k[i].uid, k[i].seed, T0, T0), 0);
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		assert_int_equal(add(r, k[i].uid, k[i].seed, T0, T0),
		    SL_EREPLAY);
	assert_int_equal(replay_count(r), sizeof(k) / sizeof(k[0]));
	replay_close(r);
}

static void test_capacity_full(void **state)
{
	struct replay *r = open_mem(16);

	(void)state;
	for (uint32_t i = 0; i < 16; i++)
		assert_int_equal(add(r, 1, i, T0, T0), 0);
	assert_int_equal(add(r, 1, 100, T0, T0), SL_EFULL);
	assert_int_equal(add(r, 1, 100, T0, T0 + W), SL_EFULL);
	for (uint32_t i = 0; i < 16; i++)  /* nothing was evicted */
		assert_int_equal(add(r, 1, i, T0, T0 + W), SL_EREPLAY);
	/* all expired: check_and_add makes room by itself */
	assert_int_equal(add(r, 1, 100, T0 + W, T0 + W + 1), 0);
	assert_int_equal(replay_count(r), 1);
	replay_close(r);
}

static void test_capacity_partial_expiry(void **state)
{
	struct replay *r = open_mem(16);

	(void)state;
	for (uint32_t i = 0; i < 8; i++)
		assert_int_equal(add(r, 1, i, T0, T0), 0);
	for (uint32_t i = 8; i < 16; i++)
		assert_int_equal(add(r, 1, i, T0 + 10, T0 + 10), 0);
	for (uint32_t i = 100; i < 108; i++)
		assert_int_equal(add(r, 1, i, T0 + W, T0 + W + 1), 0);
	assert_int_equal(add(r, 1, 200, T0 + W, T0 + W + 1), SL_EFULL);
	for (uint32_t i = 8; i < 16; i++)
		assert_int_equal(add(r, 1, i, T0 + 10, T0 + W + 1), SL_EREPLAY);
	assert_int_equal(replay_count(r), 16);
	replay_close(r);
}

enum { CAP = 64, KEYS = 300, STEPS = 50000, MW = 5 };
struct model { uint32_t key, ts; };

/* Drop the model's expired entries; returns the new count. */
static uint32_t model_prune(struct model *m, uint32_t n, time_t now)
{
	uint32_t k = 0;

	for (uint32_t q = 0; q < n; q++)
		if ((int64_t)now <= (int64_t)m[q].ts + MW)
			m[k++] = m[q];
	return k;
}

/* Random operations against a flat-array model of the same rules. */
static void test_model(void **state)
{
	struct model m[CAP];
	uint32_t n = 0, seed = 12345;
	struct replay *r = NULL;
	enum replay_load how;
	time_t now = T0;

	(void)state;
	assert_int_equal(replay_open(&r, NULL, CAP, MW, now, &how, NULL, 0), 0);
	for (int step = 0; step < STEPS; step++) {
		uint32_t key, ts, j;
		int want;

		seed = seed * 1103515245u + 12345u;
		now += (seed >> 16) % 4 == 0;
		key = (seed >> 8) % KEYS;
		ts = (uint32_t)now - (seed >> 20) % (MW + 1);
		for (j = 0; j < n && m[j].key != key; j++)
			;
		if (j < n && (int64_t)now <= (int64_t)m[j].ts + MW) {
			want = SL_EREPLAY;
		} else {
			if (j == n && n == CAP)
				j = n = model_prune(m, n, now);
			want = j == CAP ? SL_EFULL : 0;
			if (want == 0) {
				m[j].key = key;
				m[j].ts = ts;
				n += j == n;
			}
		}
		assert_int_equal(add(r, (uint16_t)(key % 3), key, ts, now),
		    want);
		assert_int_equal(replay_count(r), n);
		if (step % 1000 == 999) {
			replay_expire(r, now);
			n = model_prune(m, n, now);
			assert_int_equal(replay_count(r), n);
		}
	}
	replay_close(r);
}

static void test_persist_kill9(void **state)
{
	const char *dir = *state;
	struct replay *r = open_dir(dir, 64, T0, REPLAY_FRESH);
	struct stat st;
	char p[512];

	jpath(p, sizeof(p), dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, HDR);
	for (uint32_t i = 0; i < 10; i++) {
		assert_int_equal(add(r, 3, i, T0, T0), 0);
		/* appended before returning */
		assert_int_equal(jsize(dir), HDR + (off_t)(i + 1) * REC);
	}
	replay_close(r);  /* no replay_save: as after kill -9 */

	r = open_dir(dir, 64, T0 + 5, REPLAY_LOADED);
	assert_int_equal(replay_count(r), 10);
	assert_int_equal(replay_barrier(r), 0);
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(add(r, 3, i, T0, T0 + W), SL_EREPLAY);
	assert_int_equal(add(r, 4, 0, T0, T0 + 5), 0);
	replay_close(r);

	r = open_dir(dir, 64, T0 + W + 1, REPLAY_LOADED);
	assert_int_equal(replay_count(r), 0);
	assert_int_equal(jsize(dir), HDR);
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(add(r, 3, i, T0, T0 + W + 1), 0);
	replay_close(r);
}

static void test_persist_duplicate(void **state)
{
	const char *dir = *state;
	struct replay *r = open_dir(dir, 16, T0, REPLAY_FRESH);

	assert_int_equal(add(r, 1, 1, T0, T0), 0);
	/* expired, accepted again: the journal holds the key twice */
	assert_int_equal(add(r, 1, 1, T0 + W + 1, T0 + W + 1), 0);
	assert_int_equal(jsize(dir), HDR + 2 * REC);
	replay_close(r);
	r = open_dir(dir, 16, T0 + W + 1, REPLAY_LOADED);
	assert_int_equal(replay_count(r), 1);
	assert_int_equal(add(r, 1, 1, T0 + W + 1, T0 + W + 2), SL_EREPLAY);
	replay_close(r);
}

static void test_missing_file(void **state)
{
	const char *dir = *state;
	struct replay *r = open_dir(dir, 16, T0, REPLAY_FRESH);

	assert_int_equal(replay_barrier(r), 0);
	assert_int_equal(jsize(dir), HDR);
	replay_close(r);
	r = open_dir(dir, 16, T0, REPLAY_LOADED);
	replay_close(r);
}

enum mut { M_MAGIC, M_EMPTY, M_SHORTHDR, M_TRUNC, M_FLIP, M_FLIPCRC,
	M_RESERVED, M_GARBAGE, M_GARBAGE_REC };

static void mutate(const char *dir, enum mut how)
{
	static const uint8_t junk[REC] = { 0xaa, 0x55, 0xaa, 0x55, 0xaa };
	char p[512];
	uint8_t b;
	int fd;

	jpath(p, sizeof(p), dir);
	fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	switch (how) {
	case M_MAGIC:
		assert_int_equal(pwrite(fd, "X", 1, 0), 1);
		break;
	case M_EMPTY:
		assert_int_equal(ftruncate(fd, 0), 0);
		break;
	case M_SHORTHDR:
		assert_int_equal(ftruncate(fd, 10), 0);
		break;
	case M_TRUNC:
		assert_int_equal(ftruncate(fd, HDR + 3 * REC + 20), 0);
		break;
	case M_FLIP:
	case M_FLIPCRC:
	case M_RESERVED: {       /* reserved u16 after user_id */
		off_t off = how == M_FLIP ? HDR + 2 * REC + 10 :
		    how == M_FLIPCRC ? HDR + 4 * REC + 45 : HDR + 1 * REC + 2;

		assert_int_equal(pread(fd, &b, 1, off), 1);
		b ^= 0x01;
		assert_int_equal(pwrite(fd, &b, 1, off), 1);
		break;
	}
	case M_GARBAGE:
		assert_int_equal(pwrite(fd, junk, 7, HDR + 5 * REC), 7);
		break;
	case M_GARBAGE_REC:
		assert_int_equal(pwrite(fd, junk, REC, HDR + 5 * REC), REC);
		break;
	}
	close(fd);
}

static void test_corrupt(void **state)
{
	static const struct {
		enum mut how;
		uint32_t kept;      /* valid live records before the damage */
		long long off;      /* offset named in the message */
	} t[] = {
		{ M_MAGIC, 0, 0 },
		{ M_EMPTY, 0, 0 },
		{ M_SHORTHDR, 0, 0 },
		{ M_TRUNC, 3, HDR + 3 * REC },
		{ M_FLIP, 2, HDR + 2 * REC },
		{ M_FLIPCRC, 4, HDR + 4 * REC },
		{ M_RESERVED, 1, HDR + 1 * REC },
		{ M_GARBAGE, 5, HDR + 5 * REC },
		{ M_GARBAGE_REC, 5, HDR + 5 * REC },
	};
	const char *dir = *state;
	const time_t now = T0 + 3;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct replay *r;
		enum replay_load how;
		char err[512] = "", want[64];
		time_t bar = now + W;

		jpath(want, sizeof(want), dir);
		unlink(want);
		r = open_dir(dir, 16, T0, REPLAY_FRESH);
		for (uint32_t k = 0; k < 5; k++)
			assert_int_equal(add(r, 2, k, T0, T0), 0);
		replay_close(r);
		mutate(dir, t[i].how);

		r = NULL;
		assert_int_equal(replay_open(&r, dir, 16, W, now, &how, err,
		    sizeof(err)), 0);
		assert_int_equal(how, REPLAY_CORRUPT);
		assert_non_null(strstr(err, "replay.state"));
		snprintf(want, sizeof(want), "offset %lld", t[i].off);
		assert_non_null(strstr(err, want));
		assert_int_equal(replay_count(r), t[i].kept);
		assert_int_equal(replay_barrier(r), bar);
		for (uint32_t k = 0; k < t[i].kept; k++)
			assert_int_equal(add(r, 2, k, T0, now), SL_EREPLAY);
		assert_int_equal(add(r, 9, 1, (uint32_t)bar, now), SL_EREPLAY);
		assert_int_equal(add(r, 9, 2, T0, now), SL_EREPLAY);
		assert_int_equal(add(r, 9, 3, (uint32_t)bar + 1, now), 0);
		replay_close(r);

		/* rewritten cleanly: the next start is not corrupt, and the
		 * barrier survives a crash until it has passed */
		r = open_dir(dir, 16, now, REPLAY_LOADED);
		assert_int_equal(replay_barrier(r), bar);
		assert_int_equal(replay_count(r), t[i].kept + 1);
		assert_int_equal(add(r, 9, 3, (uint32_t)bar + 1, now),
		    SL_EREPLAY);
		replay_close(r);
	}
}

/* Damaged again while an earlier barrier is still in force (the clock went
 * back, or the journal was damaged twice): the higher barrier stays. */
static void test_barrier_never_lowered(void **state)
{
	const char *dir = *state;
	struct replay *r = open_dir(dir, 16, T0, REPLAY_FRESH);
	time_t bar = T0 + W;

	for (uint32_t k = 0; k < 5; k++)
		assert_int_equal(add(r, 2, k, T0, T0), 0);
	replay_close(r);
	mutate(dir, M_MAGIC);
	r = open_dir(dir, 16, T0, REPLAY_CORRUPT);
	assert_int_equal(replay_barrier(r), bar);
	for (uint32_t k = 0; k < 5; k++)
		assert_int_equal(add(r, 3, k, (uint32_t)bar + 1, T0), 0);
	replay_close(r);
	/* the header (with the barrier) is intact, a record is not */
	mutate(dir, M_FLIP);
	r = open_dir(dir, 16, T0 - 100, REPLAY_CORRUPT);
	assert_int_equal(replay_barrier(r), bar);
	assert_int_equal(add(r, 9, 1, (uint32_t)bar, T0 - 100), SL_EREPLAY);
	replay_close(r);
}

static void test_barrier_clears(void **state)
{
	const char *dir = *state;
	struct replay *r = open_dir(dir, 16, T0, REPLAY_FRESH);
	time_t bar = T0 + W;

	replay_close(r);
	mutate(dir, M_MAGIC);
	r = open_dir(dir, 16, T0, REPLAY_CORRUPT);
	assert_int_equal(replay_barrier(r), bar);
	replay_expire(r, bar + W);
	assert_int_equal(replay_barrier(r), bar);
	replay_close(r);   /* no save: the barrier is already on disk */

	r = open_dir(dir, 16, bar + W, REPLAY_LOADED);
	assert_int_equal(replay_barrier(r), bar);
	assert_int_equal(add(r, 1, 1, (uint32_t)bar, bar + W), SL_EREPLAY);
	replay_expire(r, bar + W + 1);
	assert_int_equal(replay_barrier(r), 0);
	assert_int_equal(replay_save(r), 0);
	replay_close(r);

	r = open_dir(dir, 16, bar + W, REPLAY_LOADED);  /* saved without it */
	assert_int_equal(replay_barrier(r), 0);
	replay_close(r);
	mutate(dir, M_MAGIC);
	r = open_dir(dir, 16, T0, REPLAY_CORRUPT);
	replay_close(r);
	r = open_dir(dir, 16, bar + W + 1, REPLAY_LOADED);  /* passed */
	assert_int_equal(replay_barrier(r), 0);
	replay_close(r);
}

static void test_compaction(void **state)
{
	const char *dir = *state;
	struct replay *r = open_dir(dir, 4096, T0, REPLAY_FRESH);

	for (uint32_t i = 0; i < 1500; i++)
		assert_int_equal(add(r, 1, i, T0, T0), 0);
	for (uint32_t i = 0; i < 100; i++)
		assert_int_equal(add(r, 2, i, T0 + 50, T0 + 50), 0);
	assert_int_equal(jsize(dir), HDR + 1600 * REC);
	replay_expire(r, T0 + W);       /* 1600 live: no compaction */
	assert_int_equal(jsize(dir), HDR + 1600 * REC);
	replay_expire(r, T0 + W + 1);   /* 100 live, 1600 records */
	assert_int_equal(replay_count(r), 100);
	assert_int_equal(jsize(dir), HDR + 100 * REC);
	assert_int_equal(add(r, 3, 0, T0 + W, T0 + W + 1), 0);
	assert_int_equal(jsize(dir), HDR + 101 * REC);
	replay_close(r);

	r = open_dir(dir, 4096, T0 + W + 1, REPLAY_LOADED);
	assert_int_equal(replay_count(r), 101);
	for (uint32_t i = 0; i < 100; i++)
		assert_int_equal(add(r, 2, i, T0 + 50, T0 + W + 1), SL_EREPLAY);
	assert_int_equal(add(r, 3, 0, T0 + W, T0 + W + 1), SL_EREPLAY);
	assert_int_equal(add(r, 1, 0, T0 + W + 1, T0 + W + 1), 0);
	/* small journal: expire leaves it, save compacts unconditionally */
	replay_expire(r, T0 + W + 1);
	assert_int_equal(jsize(dir), HDR + 102 * REC);
	replay_expire(r, T0 + W + 51);
	assert_int_equal(replay_count(r), 2);
	assert_int_equal(jsize(dir), HDR + 102 * REC);
	assert_int_equal(replay_save(r), 0);
	assert_int_equal(jsize(dir), HDR + 2 * REC);
	replay_close(r);
}

static void test_bad_dir(void **state)
{
	const char *dir = *state;
	char bad[512], err[512];
	struct replay *r = (struct replay *)1;
	enum replay_load how;
	int fd;

	snprintf(bad, sizeof(bad), "%s/nonexistent", dir);
	err[0] = '\0';
	assert_int_equal(replay_open(&r, bad, 16, W, T0, &how, err,
	    sizeof(err)), SL_ESYS);
	assert_null(r);
	assert_non_null(strstr(err, bad));

	/* a regular file is not a directory */
	jpath(bad, sizeof(bad), dir);
	fd = open(bad, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	err[0] = '\0';
	assert_int_equal(replay_open(&r, bad, 16, W, T0, &how, err,
	    sizeof(err)), SL_ESYS);
	assert_non_null(strstr(err, bad));
	unlink(bad);

	/* unwritable: root ignores modes, so use /proc/self there */
	if (geteuid() != 0) {
		assert_int_equal(chmod(dir, 0500), 0);
		snprintf(bad, sizeof(bad), "%s", dir);
	} else {
		snprintf(bad, sizeof(bad), "/proc/self");
	}
	err[0] = '\0';
	assert_int_equal(replay_open(&r, bad, 16, W, T0, &how, err,
	    sizeof(err)), SL_ESYS);
	assert_null(r);
	assert_non_null(strstr(err, bad));
	chmod(dir, 0700);
}

static void test_reload_over_capacity(void **state)
{
	const char *dir = *state;
	struct replay *r = open_dir(dir, 32, T0, REPLAY_FRESH);
	enum replay_load how;
	char err[512] = "";

	for (uint32_t i = 0; i < 20; i++)
		assert_int_equal(add(r, 1, i, T0, T0), 0);
	replay_close(r);
	r = NULL;
	assert_int_equal(replay_open(&r, dir, 16, W, T0, &how, err,
	    sizeof(err)), SL_EFULL);
	assert_null(r);
	assert_non_null(strstr(err, "replay_cache_size"));
	/* the journal was left alone: a bigger cache loads everything */
	r = open_dir(dir, 20, T0, REPLAY_LOADED);
	assert_int_equal(replay_count(r), 20);
	replay_close(r);
}

static void test_journal_write_fails(void **state)
{
	const char *dir = *state;
	struct replay *r = open_dir(dir, 16, T0, REPLAY_FRESH);
	struct rlimit old, lim;
	void (*oldsig)(int);
	int rc;

	assert_int_equal(add(r, 1, 1, T0, T0), 0);
	assert_int_equal(add(r, 1, 2, T0, T0), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = HDR + 2 * REC;
	oldsig = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = add(r, 1, 3, T0, T0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	assert_int_equal(rc, SL_ESYS);   /* fail closed, not recorded */
	assert_int_equal(replay_count(r), 2);
	assert_int_equal(jsize(dir), HDR + 2 * REC);
	assert_int_equal(add(r, 1, 3, T0, T0), 0);
	replay_close(r);
	r = open_dir(dir, 16, T0, REPLAY_LOADED);
	assert_int_equal(replay_count(r), 3);
	replay_close(r);
}

static void test_bad_args(void **state)
{
	struct replay *r = NULL;
	enum replay_load how;
	uint8_t h[SL_HMAC_LEN] = { 0 };

	(void)state;
	assert_int_equal(replay_open(&r, NULL, 0, W, T0, &how, NULL, 0),
	    SL_EINVAL);
	assert_int_equal(replay_open(&r, NULL, (1u << 20) + 1, W, T0, &how,
	    NULL, 0), SL_EINVAL);
	assert_int_equal(replay_check_and_add(NULL, 1, h, T0, T0), SL_EINVAL);
	assert_int_equal(replay_save(NULL), SL_EINVAL);
	assert_int_equal(replay_count(NULL), 0);
	replay_expire(NULL, T0);
	replay_close(NULL);
}

#define DIRTEST(f) cmocka_unit_test_setup_teardown(f, dir_setup, dir_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_edges),
		cmocka_unit_test(test_replay_within_window),
		cmocka_unit_test(test_distinct_keys),
		cmocka_unit_test(test_capacity_full),
		cmocka_unit_test(test_capacity_partial_expiry),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_bad_args),
		DIRTEST(test_persist_kill9),
		DIRTEST(test_persist_duplicate),
		DIRTEST(test_missing_file),
		DIRTEST(test_corrupt),
		DIRTEST(test_barrier_clears),
		DIRTEST(test_barrier_never_lowered),
		DIRTEST(test_compaction),
		DIRTEST(test_bad_dir),
		DIRTEST(test_reload_over_capacity),
		DIRTEST(test_journal_write_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
