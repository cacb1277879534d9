/*
 * test_replay.c - replay cache: windows, capacity and users' shares, the
 * floor and the barrier across clock steps, restarts and window changes,
 * the journal (both formats), corruption.
 */
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
#define HDR 32   /* SLREPLY2 */
#define HDR1 16  /* SLREPLY1 */
#define REC 48

static void
mkhmac(uint8_t h[SL_HMAC_LEN], uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 0x9e3779b9u;

	for (int i = 0; i < SL_HMAC_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		h[i] = (uint8_t)x;
	}
}

static int
add(struct replay *r, uint16_t uid, uint32_t seed, uint32_t ts, time_t now)
{
	uint8_t h[SL_HMAC_LEN];

	mkhmac(h, seed);
	return replay_check_and_add(r, uid, h, ts, now);
}

static struct replay *
open_mem(uint32_t cap)
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
static int
dir_setup(void **state)
{
	char *d = strdup("/tmp/sl_test_replay_XXXXXX");

	if (d == NULL || mkdtemp(d) == NULL)
		return -1;
	*state = d;
	return 0;
}

static void
jpath(char *buf, size_t len, const char *dir)
{
	snprintf(buf, len, "%s/replay.state", dir);
}

static void
unlink_journal(const char *dir)
{
	char p[512];

	jpath(p, sizeof(p), dir);
	unlink(p);
}

static int
dir_teardown(void **state)
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

static struct replay *
open_dir(const char *dir, uint32_t cap, time_t now, enum replay_load want)
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

static off_t
jsize(const char *dir)
{
	char p[512];
	struct stat st;

	jpath(p, sizeof(p), dir);
	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

/* A key is refused for as long as its timestamp is acceptable, and then
 * for good: once it has expired it is forgotten, and the floor holds it. */
static void
test_window_edges(void **state)
{
	static const struct {
		int64_t ts_off, now_off;
		bool live;
	} t[] = {
		{ 0, 0, true },
		{ 0, W - 1, true },
		{ 0, W, true },            /* now == ts + window: live */
		{ 0, W + 1, false },       /* expired: the floor refuses it */
		{ W, 2 * W, true },        /* future-stamped packet */
		{ W, 2 * W + 1, false },
		{ -W, 0, true },           /* oldest acceptable packet */
		{ -W, 1, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct replay *r = open_mem(16);
		uint32_t ts = (uint32_t)(T0 + t[i].ts_off);
		time_t now = T0 + t[i].now_off;
		uint8_t h[SL_HMAC_LEN];

		mkhmac(h, 1);
		assert_int_equal(add(r, 7, 1, ts, T0), 0);
		assert_int_equal(add(r, 7, 1, ts, now), SL_EREPLAY);
		assert_int_equal(replay_seen(r, 7, h, now), t[i].live);
		assert_int_equal(replay_count(r), 1);
		replay_expire(r, now);
		assert_int_equal(replay_count(r), t[i].live ? 1 : 0);
		assert_int_equal(replay_floor(r), t[i].live ? 0 : ts);
		/* forgotten or not, still a replay; a later stamp is new */
		assert_int_equal(add(r, 7, 1, ts, now), SL_EREPLAY);
		assert_int_equal(add(r, 7, 2, ts + 1, now), 0);
		replay_close(r);
	}
}

static void
test_replay_within_window(void **state)
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

static void
test_distinct_keys(void **state)
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

static void
test_capacity_full(void **state)
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

static void
test_capacity_partial_expiry(void **state)
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

enum { CAP = 64, KEYS = 300, STEPS = 50000, MW = 5, USERS = 3,
	SHARE = CAP / USERS };
struct model {
	struct { uint32_t key, ts; } e[CAP];
	uint32_t n, floor;
};

static uint32_t
model_users(const struct model *m, uint32_t uid)
{
	uint32_t c = 0;

	for (uint32_t q = 0; q < m->n; q++)
		c += m->e[q].key % USERS == uid;
	return c;
}

/* Drop the model's expired entries, raising its floor. */
static void
model_prune(struct model *m, time_t now)
{
	uint32_t k = 0;

	for (uint32_t q = 0; q < m->n; q++) {
		if ((int64_t)now <= (int64_t)m->e[q].ts + MW)
			m->e[k++] = m->e[q];
		else if (m->e[q].ts > m->floor)
			m->floor = m->e[q].ts;
	}
	m->n = k;
}

static int
model_add(struct model *m, uint32_t key, uint32_t ts, time_t now)
{
	uint32_t j, uid = key % USERS;

	for (j = 0; j < m->n && m->e[j].key != key; j++)
		;
	if (j < m->n) {
		if ((int64_t)now <= (int64_t)m->e[j].ts + MW)
			return SL_EREPLAY;
		if (m->e[j].ts > m->floor)   /* expired: forgotten */
			m->floor = m->e[j].ts;
	}
	if (m->floor != 0 && ts <= m->floor)
		return SL_EREPLAY;
	if (j == m->n && (m->n == CAP || model_users(m, uid) >= SHARE)) {
		model_prune(m, now);
		if (m->n == CAP || model_users(m, uid) >= SHARE)
			return SL_EFULL;
		j = m->n;
	}
	m->e[j].key = key;
	m->e[j].ts = ts;
	m->n += j == m->n;
	return 0;
}

/*
 * Random operations against a flat-array model of the same rules: three
 * users with a share each, a clock that mostly moves on and sometimes
 * steps back (the floor), timestamps up to the window old.
 */
static void
test_model(void **state)
{
	struct model m;
	uint32_t seed = 12345;
	struct replay *r = NULL;
	enum replay_load how;
	time_t now = T0;
	int fulls = 0, floors = 0;

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(replay_open(&r, NULL, CAP, MW, now, &how, NULL, 0), 0);
	assert_int_equal(replay_set_users(r, USERS), SHARE);
	for (int step = 0; step < STEPS; step++) {
		uint32_t key, ts;
		int want;

		seed = seed * 1103515245u + 12345u;
		now += (seed >> 16) % 4 == 0;
		if ((seed >> 10) % 512 == 0)
			now -= (time_t)((seed >> 4) % (3 * MW));
		key = (seed >> 8) % KEYS;
		ts = (uint32_t)now - (seed >> 20) % (MW + 1);
		want = model_add(&m, key, ts, now);
		fulls += want == SL_EFULL;
		floors += want == SL_EREPLAY && ts <= m.floor;
		assert_int_equal(add(r, (uint16_t)(key % USERS), key, ts, now),
		    want);
		assert_int_equal(replay_count(r), m.n);
		assert_int_equal(replay_floor(r), m.floor);
		assert_int_equal(replay_user_count(r, key % USERS),
		    model_users(&m, key % USERS));
		if (step % 1000 == 999) {
			replay_expire(r, now);
			model_prune(&m, now);
			assert_int_equal(replay_count(r), m.n);
			assert_int_equal(replay_floor(r), m.floor);
		}
	}
	/* the run went through each case */
	assert_true(fulls > 0 && floors > 0);
	replay_close(r);
}

static void
test_persist_kill9(void **state)
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

	/* expired on loading: dropped from the journal, held by the floor */
	r = open_dir(dir, 64, T0 + W + 1, REPLAY_LOADED);
	assert_int_equal(replay_count(r), 0);
	assert_int_equal(jsize(dir), HDR);
	assert_int_equal(replay_floor(r), T0);
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(add(r, 3, i, T0, T0 + W + 1), SL_EREPLAY);
	assert_int_equal(add(r, 3, 0, T0 + 1, T0 + W + 1), 0);
	replay_close(r);
}

static void
test_persist_duplicate(void **state)
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

static void
test_missing_file(void **state)
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

static void
mutate(const char *dir, enum mut how)
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

static void
test_corrupt(void **state)
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
static void
test_barrier_never_lowered(void **state)
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

static void
test_barrier_clears(void **state)
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

static void
test_compaction(void **state)
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

static void
test_bad_dir(void **state)
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

static void
test_reload_over_capacity(void **state)
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

static void
test_journal_write_fails(void **state)
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

/* Write a journal by hand: the SLREPLY1 header (window, barrier) and
 * records (uid, seed, ts), as siglatchd before the floor wrote it. */
static void
write_v1(const char *dir, uint32_t window, uint32_t barrier,
    const uint32_t (*recs)[3], size_t nrecs)
{
	uint8_t b[HDR1 + 8 * REC];
	char p[512];
	size_t n = HDR1;
	int fd;

	assert_true(nrecs <= 8);
	memset(b, 0, sizeof(b));
	memcpy(b, "SLREPLY1", 8);
	for (int i = 0; i < 4; i++) {
		b[8 + i] = (uint8_t)(window >> (8 * i));
		b[12 + i] = (uint8_t)(barrier >> (8 * i));
	}
	for (size_t k = 0; k < nrecs; k++, n += REC) {
		uint8_t *q = b + n;
		uint32_t crc = 0xffffffffu;

		q[0] = (uint8_t)recs[k][0];
		q[1] = (uint8_t)(recs[k][0] >> 8);
		for (int i = 0; i < 4; i++)
			q[4 + i] = (uint8_t)(recs[k][2] >> (8 * i));
		mkhmac(q + 8, recs[k][1]);
		for (int i = 0; i < 44; i++) {
			crc ^= q[i];
			for (int j = 0; j < 8; j++)
				crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
		}
		crc = ~crc;
		for (int i = 0; i < 4; i++)
			q[44 + i] = (uint8_t)(crc >> (8 * i));
	}
	jpath(p, sizeof(p), dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, n), (ssize_t)n);
	close(fd);
}

static void
read_magic(const char *dir, char magic[9])
{
	char p[512];
	int fd;

	jpath(p, sizeof(p), dir);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, magic, 8), 8);
	magic[8] = '\0';
	close(fd);
}

/*
 * Issue 9.4 (a): a knock accepted, then forgotten once its window had
 * passed, was taken again when the server's clock was stepped back by
 * more than the window.  The floor refuses it; a knock stamped after it
 * is still new.
 */
static void
test_clock_stepped_back(void **state)
{
	static const time_t back[] = { W + 1, W + 10, 2 * W + 10, 3600 };

	(void)state;
	for (size_t i = 0; i < sizeof(back) / sizeof(back[0]); i++) {
		struct replay *r = open_mem(16);
		time_t later = T0 + W + 10, now = later - back[i];

		assert_int_equal(add(r, 1, 1, T0, T0), 0);
		replay_expire(r, later);              /* forgotten */
		assert_int_equal(replay_count(r), 0);
		assert_int_equal(replay_high(r), later);
		replay_expire(r, now);                /* stepped back */
		assert_int_equal(add(r, 1, 1, T0, now), SL_EREPLAY);
		assert_int_equal(add(r, 1, 2, T0 + 1, now), 0);
		assert_int_equal(replay_high(r), later);
		replay_close(r);
	}
}

/*
 * Issue 9.4 (b): the clock jumped an hour ahead and the daemon restarted:
 * the journal dropped the knock as expired; once the clock was put right
 * it was taken again.  The floor goes into the journal with it.
 */
static void
test_clock_ahead_restart(void **state)
{
	const char *dir = *state;
	struct replay *r = open_dir(dir, 16, T0, REPLAY_FRESH);

	assert_int_equal(add(r, 1, 1, T0, T0), 0);
	replay_close(r);                                  /* kill -9 */
	r = open_dir(dir, 16, T0 + 3600, REPLAY_LOADED);  /* an hour ahead */
	assert_int_equal(replay_count(r), 0);
	assert_int_equal(replay_floor(r), T0);
	assert_int_equal(replay_save(r), 0);              /* a clean stop */
	replay_close(r);
	r = open_dir(dir, 16, T0 + 5, REPLAY_LOADED);     /* put right */
	assert_int_equal(replay_floor(r), T0);
	assert_int_equal(replay_high(r), T0 + 3600);
	assert_int_equal(add(r, 1, 1, T0, T0 + 5), SL_EREPLAY);
	assert_int_equal(add(r, 1, 2, T0 + 1, T0 + 5), 0);
	replay_close(r);
}

/*
 * Issue 9.4 (c): timestamp_window raised across a clean restart re-opened
 * a knock the old window had let expire.  Forgotten in the old run or on
 * loading, it stays refused.
 */
static void
test_window_grows(void **state)
{
	const char *dir = *state;
	struct replay *r = open_dir(dir, 16, T0, REPLAY_FRESH);
	enum replay_load how;

	assert_int_equal(add(r, 1, 1, T0, T0), 0);
	assert_int_equal(add(r, 1, 2, T0 + 5, T0 + 5), 0);
	replay_expire(r, T0 + W + 1);       /* 1 forgotten while running */
	assert_int_equal(replay_save(r), 0);
	replay_close(r);
	r = NULL;
	assert_int_equal(replay_open(&r, dir, 16, 5 * W, T0 + W + 10, &how,
	    NULL, 0), 0);
	assert_int_equal(how, REPLAY_LOADED);
	assert_int_equal(add(r, 1, 1, T0, T0 + W + 10), SL_EREPLAY);
	assert_int_equal(add(r, 1, 2, T0 + 5, T0 + W + 10), SL_EREPLAY);
	assert_int_equal(add(r, 1, 3, T0 + 1, T0 + W + 10), 0);
	replay_close(r);

	/* forgotten on loading under the old window */
	unlink_journal(dir);
	r = open_dir(dir, 16, T0, REPLAY_FRESH);
	assert_int_equal(add(r, 2, 1, T0, T0), 0);
	replay_close(r);
	replay_close(open_dir(dir, 16, T0 + W + 1, REPLAY_LOADED));
	r = NULL;
	assert_int_equal(replay_open(&r, dir, 16, 5 * W, T0 + W + 2, &how,
	    NULL, 0), 0);
	assert_int_equal(add(r, 2, 1, T0, T0 + W + 2), SL_EREPLAY);
	replay_close(r);
}

/*
 * The same with a journal of siglatchd before the floor (SLREPLY1): what it
 * forgot is not written down, but it was older than its window.  A wider
 * window refuses what is older than the old one, nothing newer.
 */
static void
test_window_grows_v1(void **state)
{
	const char *dir = *state;
	const time_t now = T0 + W + 1;
	struct replay *r = NULL;
	enum replay_load how;
	char magic[9];

	write_v1(dir, W, 0, NULL, 0);
	assert_int_equal(replay_open(&r, dir, 16, 5 * W, now, &how, NULL, 0),
	    0);
	assert_int_equal(how, REPLAY_LOADED);
	assert_int_equal(replay_floor(r), now - W - 1);
	assert_int_equal(add(r, 1, 1, (uint32_t)(now - W - 1), now),
	    SL_EREPLAY);
	assert_int_equal(add(r, 1, 2, (uint32_t)(now - W), now), 0);
	replay_close(r);
	read_magic(dir, magic);
	assert_string_equal(magic, "SLREPLY2");

	/* the window did not grow: no floor from the old journal */
	write_v1(dir, W, 0, NULL, 0);
	r = open_dir(dir, 16, now, REPLAY_LOADED);
	assert_int_equal(replay_floor(r), 0);
	replay_close(r);
}

/* A journal written by siglatchd before the floor loads as it was. */
static void
test_v1_journal_loads(void **state)
{
	static const uint32_t recs[][3] = {
		{ 1, 1, T0 }, { 2, 2, T0 + 1 }, { 65535, 3, T0 - 5 },
		{ 4, 4, T0 - W - 1 },    /* expired */
	};
	const char *dir = *state;
	struct replay *r;
	char magic[9];

	write_v1(dir, W, 0, recs, 4);
	r = open_dir(dir, 16, T0, REPLAY_LOADED);
	assert_int_equal(replay_count(r), 3);
	assert_int_equal(replay_floor(r), T0 - W - 1);
	assert_int_equal(replay_barrier(r), 0);
	for (size_t k = 0; k < 4; k++)
		assert_int_equal(add(r, (uint16_t)recs[k][0], recs[k][1],
		    recs[k][2], T0), SL_EREPLAY);
	replay_close(r);
	read_magic(dir, magic);
	assert_string_equal(magic, "SLREPLY2");
	assert_int_equal(jsize(dir), HDR + 3 * REC);
	r = open_dir(dir, 16, T0, REPLAY_LOADED);
	assert_int_equal(replay_count(r), 3);
	replay_close(r);

	/* a barrier in an old journal stays in force */
	write_v1(dir, W, T0 + 50, recs, 1);
	r = open_dir(dir, 16, T0, REPLAY_LOADED);
	assert_int_equal(replay_barrier(r), T0 + 50);
	replay_close(r);
}

/*
 * Issue 9.4 (d): a journal missing from a state_dir that was used before
 * (a file in it, or a directory with anything in it) is not a first start:
 * the barrier.  One holding nothing but empty directories (a mount point,
 * lost+found) is.
 */
static void
test_missing_in_used_dir(void **state)
{
	const char *dir = *state;
	struct replay *r = NULL;
	enum replay_load how;
	char err[512] = "", other[512], sub[512], inner[600];
	int fd;

	snprintf(other, sizeof(other), "%s/lost+found", dir);
	assert_int_equal(mkdir(other, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/grants", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	r = open_dir(dir, 16, T0, REPLAY_FRESH);
	assert_int_equal(replay_barrier(r), 0);
	assert_int_equal(add(r, 1, 1, T0, T0), 0);
	replay_close(r);
	unlink_journal(dir);
	rmdir(other);

	/* the grants directory has been written to */
	snprintf(inner, sizeof(inner), "%s/grants", sub);
	fd = open(inner, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	r = NULL;
	assert_int_equal(replay_open(&r, dir, 16, W, T0 + 1, &how, err,
	    sizeof(err)), 0);
	assert_int_equal(how, REPLAY_CORRUPT);
	assert_non_null(strstr(err, "state_dir holds grants"));
	replay_close(r);
	unlink_journal(dir);
	unlink(inner);
	rmdir(sub);

	snprintf(other, sizeof(other), "%s/siglatchd.stats", dir);
	fd = open(other, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	r = NULL;
	assert_int_equal(replay_open(&r, dir, 16, W, T0 + 1, &how, err,
	    sizeof(err)), 0);
	assert_int_equal(how, REPLAY_CORRUPT);
	assert_non_null(strstr(err, "replay.state: missing"));
	assert_non_null(strstr(err, "siglatchd.stats"));
	assert_int_equal(replay_barrier(r), T0 + 1 + W);
	assert_int_equal(add(r, 1, 1, T0, T0 + 1), SL_EREPLAY);
	assert_int_equal(add(r, 1, 2, T0 + 1 + W, T0 + 1), SL_EREPLAY);
	assert_int_equal(add(r, 1, 3, T0 + 2 + W, T0 + 1), 0);
	replay_close(r);
	/* written down: a restart keeps the barrier */
	r = open_dir(dir, 16, T0 + 2, REPLAY_LOADED);
	assert_int_equal(replay_barrier(r), T0 + 1 + W);
	replay_close(r);
	unlink(other);
}

/*
 * A damaged journal when the clock has gone back: what was accepted was
 * stamped up to the high-water mark + window, not now + window.  A damaged
 * header is not trusted for it; an impossible window in one is damage.
 */
static void
test_corrupt_after_clock_back(void **state)
{
	const char *dir = *state;
	const time_t ahead = T0 + 1000;
	struct replay *r = open_dir(dir, 16, T0, REPLAY_FRESH);
	char p[512];
	int fd;

	for (uint32_t k = 0; k < 5; k++)
		assert_int_equal(add(r, 2, k, (uint32_t)ahead, ahead), 0);
	replay_expire(r, ahead);
	assert_int_equal(replay_save(r), 0);  /* high-water mark: ahead */
	replay_close(r);
	mutate(dir, M_FLIP);
	r = open_dir(dir, 16, T0, REPLAY_CORRUPT);
	assert_int_equal(replay_barrier(r), ahead + W);
	assert_int_equal(replay_count(r), 2);
	assert_int_equal(add(r, 2, 4, (uint32_t)ahead, T0), SL_EREPLAY);
	replay_close(r);

	/* the header's checksum, then its window */
	unlink_journal(dir);
	replay_close(open_dir(dir, 16, T0, REPLAY_FRESH));
	jpath(p, sizeof(p), dir);
	fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "\x01", 1, 20), 1);  /* high-water */
	close(fd);
	r = open_dir(dir, 16, T0, REPLAY_CORRUPT);
	assert_int_equal(replay_barrier(r), T0 + W);
	replay_close(r);
	write_v1(dir, 0, 0, NULL, 0);
	replay_close(open_dir(dir, 16, T0, REPLAY_CORRUPT));
	write_v1(dir, REPLAY_WINDOW_MAX + 1, 0, NULL, 0);
	replay_close(open_dir(dir, 16, T0, REPLAY_CORRUPT));
}

/*
 * A full cache sweeps at most once for each second the clock shows; an
 * entry put in after the clock went back, already expired at the last
 * sweep's time, must still be swept when it expires.
 */
static void
test_sweep_after_clock_back(void **state)
{
	struct replay *r = open_mem(16);

	(void)state;
	replay_expire(r, T0 + 1000);
	for (uint32_t i = 0; i < 16; i++)   /* the clock went back */
		assert_int_equal(add(r, 1, i, T0, T0), 0);
	assert_int_equal(add(r, 1, 100, T0 + 1, T0 + 1), SL_EFULL);
	/* still before the last sweep, but all 16 have expired */
	assert_int_equal(add(r, 1, 101, T0 + W + 1, T0 + W + 1), 0);
	assert_int_equal(replay_count(r), 1);
	replay_close(r);
}

/*
 * Issue 9.6: one user filled the whole cache and every other user was
 * refused.  With shares, a user at its share is refused (and
 * replay_user_full says so) while the others keep their room.
 */
static void
test_user_share(void **state)
{
	struct replay *r = open_mem(48);

	(void)state;
	assert_int_equal(replay_set_users(r, 3), 16);
	for (uint32_t i = 0; i < 16; i++)
		assert_int_equal(add(r, 1, i, T0, T0), 0);
	assert_int_equal(add(r, 1, 100, T0, T0), SL_EFULL);
	assert_true(replay_user_full(r, 1));
	assert_false(replay_user_full(r, 2));
	assert_int_equal(replay_user_count(r, 1), 16);
	for (uint32_t i = 0; i < 16; i++) {
		assert_int_equal(add(r, 2, i, T0 + 1, T0 + 1), 0);
		assert_int_equal(add(r, 3, i, T0 + 2, T0 + 2), 0);
	}
	assert_int_equal(replay_count(r), 48);
	assert_int_equal(add(r, 1, 100, T0 + 2, T0 + 2), SL_EFULL);
	/* a replay of a user at its share is still a replay */
	assert_int_equal(add(r, 1, 0, T0, T0 + 2), SL_EREPLAY);
	/* user 1's entries expire first: room for user 1 again */
	assert_int_equal(add(r, 1, 100, T0 + W, T0 + W + 1), 0);
	assert_int_equal(replay_user_count(r, 1), 1);
	assert_int_equal(replay_count(r), 33);
	replay_close(r);

	r = open_mem(16);
	assert_int_equal(replay_set_users(r, 1000), 1);
	assert_int_equal(add(r, 7, 1, T0, T0), 0);
	assert_int_equal(add(r, 7, 2, T0, T0), SL_EFULL);
	assert_int_equal(replay_set_users(r, 0), 16);
	assert_int_equal(add(r, 7, 2, T0, T0), 0);
	replay_close(r);
}

/* Entries read from the journal count against their user's share. */
static void
test_user_share_reload(void **state)
{
	const char *dir = *state;
	struct replay *r = open_dir(dir, 32, T0, REPLAY_FRESH);

	for (uint32_t i = 0; i < 12; i++)
		assert_int_equal(add(r, 5, i, T0, T0), 0);
	replay_close(r);
	r = open_dir(dir, 32, T0 + 1, REPLAY_LOADED);
	assert_int_equal(replay_set_users(r, 4), 8);
	assert_int_equal(replay_user_count(r, 5), 12);
	assert_true(replay_user_full(r, 5));
	assert_int_equal(add(r, 5, 100, T0 + 1, T0 + 1), SL_EFULL);
	assert_int_equal(add(r, 6, 100, T0 + 1, T0 + 1), 0);
	for (uint32_t i = 0; i < 12; i++)
		assert_int_equal(add(r, 5, i, T0, T0 + 1), SL_EREPLAY);
	replay_close(r);
}

static void
test_bad_args(void **state)
{
	struct replay *r = NULL;
	enum replay_load how;
	uint8_t h[SL_HMAC_LEN] = { 0 };

	(void)state;
	assert_int_equal(replay_open(&r, NULL, 0, W, T0, &how, NULL, 0),
	    SL_EINVAL);
	assert_int_equal(replay_open(&r, NULL, (1u << 20) + 1, W, T0, &how,
	    NULL, 0), SL_EINVAL);
	assert_int_equal(replay_open(&r, NULL, 16, 0, T0, &how, NULL, 0),
	    SL_EINVAL);
	assert_int_equal(replay_open(&r, NULL, 16, REPLAY_WINDOW_MAX + 1, T0,
	    &how, NULL, 0), SL_EINVAL);
	assert_int_equal(replay_set_users(NULL, 3), 0);
	assert_int_equal(replay_user_count(NULL, 1), 0);
	assert_false(replay_user_full(NULL, 1));
	assert_int_equal(replay_floor(NULL), 0);
	assert_int_equal(replay_check_and_add(NULL, 1, h, T0, T0), SL_EINVAL);
	assert_int_equal(replay_save(NULL), SL_EINVAL);
	assert_int_equal(replay_count(NULL), 0);
	replay_expire(NULL, T0);
	replay_close(NULL);
}

#define DIRTEST(f) cmocka_unit_test_setup_teardown(f, dir_setup, dir_teardown)

int
main(void)
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
		cmocka_unit_test(test_clock_stepped_back),
		DIRTEST(test_clock_ahead_restart),
		DIRTEST(test_window_grows),
		DIRTEST(test_window_grows_v1),
		DIRTEST(test_v1_journal_loads),
		DIRTEST(test_missing_in_used_dir),
		DIRTEST(test_corrupt_after_clock_back),
		cmocka_unit_test(test_sweep_after_clock_back),
		cmocka_unit_test(test_user_share),
		DIRTEST(test_user_share_reload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
