/*
 * fuzz_replay.c - the replay-journal loader and the cache it fills.
 *
 * The input is written as replay.state into a private directory (made once
 * per process, removed at exit) and opened with replay_open() (136 entries,
 * window 120 s, a fixed clock), with the users' share of the cache chosen
 * by the input's length (none, 34 entries, 1 entry).  The journal is the
 * one file siglatchd reads that the unprivileged network process can
 * write, so any bytes may be there.  A reference loader written here from
 * the formats in src/daemon/replay.c (SLREPLY1 and SLREPLY2) says what must come
 * out: REPLAY_LOADED, REPLAY_CORRUPT with the barrier of replay.h (every
 * timestamp <= max(now, the header's high-water mark) + max(window, the
 * header's window) refused, the high-water mark and window only from an
 * intact header, and a barrier from the header that is still in force
 * stays), or SL_EFULL when more than 136 distinct live entries precede any
 * damage; and the floor: the header's (SLREPLY2), now - its window - 1 for
 * an SLREPLY1 journal whose window was smaller, raised by every record
 * skipped as expired.  Then the cache is driven through a reference model
 * of it:
 *   - every loaded key is refused as a replay; fixed keys (two of them
 *     sharing a slot hash, three near the first loaded key) are recorded,
 *     and refused the second time; a full cache, or a user's full share,
 *     refuses new keys; a key stamped at or before the floor is refused;
 *   - reopened at the same time, the journal gives back the same cache
 *     (its live entries: an entry recorded with a timestamp already stale,
 *     which only times past 2106 make the harness drive, is not reloaded);
 *   - later, once about half the entries have expired: the fixed keys
 *     again, replay_expire(), every key again (what survived the
 *     deletions must still be found), replay_save();
 *   - later still, past any barrier of the load: replay_expire(), every
 *     key again;
 *   - then the clock stepped back to the first time: replay_expire(),
 *     every key again at that time (what was forgotten since must stay
 *     refused: the floor);
 *   - only when the header's window field is 0 (damage to the loader),
 *     later again: one expired key recorded again, with a newer timestamp
 *     each time, until the journal holds 1024 records, where
 *     replay_expire() must not compact it, then once more, where it must;
 *     then the cache filled up, so that replay_save() writes more than one
 *     128-record chunk (a few ms: most inputs skip it);
 *   - a last reopen at the latest time.
 * After every call the result, replay_count(), replay_barrier(),
 * replay_floor(), replay_high() and the user's count must be the model's;
 * no (user, hmac, timestamp) is ever recorded twice; after every open and
 * save, and after a replay_expire() once the journal holds more than
 * max(1024, 2 * live) records, the file must be a clean SLREPLY2 journal
 * holding exactly the model's entries, with no replay.state.tmp left;
 * otherwise it must be the last compacted journal plus the records
 * accepted since, byte for byte.
 *
 * getrandom() is replaced below with a fixed key, so that the slot layout
 * (and so the coverage) depends on the input alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay.h"
#include "fuzz.h"

#define NOW       ((time_t)1795702100)
#define WINDOW    120u
#define CAP       136u   /* > 128, the records replay.c writes at once */
#define HDR       32                   /* SLREPLY2 */
#define HDR1      16                   /* SLREPLY1 */
#define REC       48
#define NFIXED    6
#define NKEYS     (CAP + NFIXED)
#define MIN_JRECS 1024u                /* compaction threshold, replay.c */
#define NCHURN    (MIN_JRECS + 76)
#define FILE_MAX  (HDR + (4 * NKEYS + NCHURN) * REC)
#define HIST_MAX  (FILE_MAX / REC + 4 * NKEYS + NCHURN + CAP + 8)
#define ERR_LEN   512

/* The reference's own branches are no guide for the fuzzer, and the
 * comparisons they would trace cost more than the code under test. */
#define NOCOV     __attribute__((no_sanitize("coverage")))

struct ent {
	uint32_t ts;
	uint16_t uid;
	uint8_t hmac[SL_HMAC_LEN];
};

/* What the cache must hold. */
struct model {
	struct ent e[CAP];
	uint32_t n;
	time_t barrier, floor, high;
};

static char dir[256], jpath[300], tpath[300];
static struct replay *rp;
static struct model M, M2;
static struct ent keys[NKEYS];
static uint8_t fbuf[FILE_MAX];       /* the file as read back */
static uint8_t jexp[FILE_MAX];       /* the file as it must be */
static size_t jlen;
static uint64_t jrecs;               /* records in it */
static uint32_t crc_tab[256];
static uint32_t share;               /* a user's share of CAP */
static unsigned nusers;              /* what replay_set_users() is given */
static struct ent hist[HIST_MAX];    /* every record accepted or loaded */
static size_t nhist;
static int hist_load;                /* ref_load() adds what it reads */

/* A fixed hash key: the same input always takes the same probe chains. */
ssize_t
getrandom(void *buf, size_t len, unsigned int flags)
{
	uint8_t *p = buf;
	size_t i;

	(void)flags;
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(0x5b + 37 * i);
	return (ssize_t)len;
}

static void
cleanup(void)
{
	replay_close(rp);
	rp = NULL;
	unlink(jpath);
	unlink(tpath);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = "/dev/shm";   /* tmpfs: fsync costs nothing */
	uint32_t i, c;
	int k;

	(void)argc;
	(void)argv;
	if (access(base, W_OK | X_OK) != 0 &&
	    ((base = getenv("TMPDIR")) == NULL || base[0] == '\0'))
		base = "/tmp";
	FUZZ_SETUP(snprintf(dir, sizeof(dir), "%s/fuzz_replay.XXXXXX", base) <
	    (int)sizeof(dir));
	FUZZ_SETUP(mkdtemp(dir) != NULL);
	snprintf(jpath, sizeof(jpath), "%s/replay.state", dir);
	snprintf(tpath, sizeof(tpath), "%s/replay.state.tmp", dir);
	atexit(cleanup);
	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
		crc_tab[i] = c;
	}
	return 0;
}

/* ---- the reference ---------------------------------------------------- */

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* CRC-32 (IEEE), a byte at a time. */
NOCOV static uint32_t
ref_crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n-- > 0)
		c = (c >> 8) ^ crc_tab[(c ^ *p++) & 0xff];
	return ~c;
}

static void
ref_encode(uint8_t *p, const struct ent *e)
{
	memset(p, 0, REC);
	p[0] = (uint8_t)e->uid;
	p[1] = (uint8_t)(e->uid >> 8);
	put_le32(p + 4, e->ts);
	memcpy(p + 8, e->hmac, SL_HMAC_LEN);
	put_le32(p + 44, ref_crc32(p, 44));
}

static int
ref_live(uint32_t ts, time_t now)
{
	return (int64_t)now <= (int64_t)ts + WINDOW;
}

NOCOV static int
model_find(const struct model *m, uint16_t uid, const uint8_t *hmac)
{
	uint32_t i;

	for (i = 0; i < m->n; i++)
		if (m->e[i].uid == uid && m->e[i].hmac[0] == hmac[0] &&
		    m->e[i].hmac[31] == hmac[31] &&
		    memcmp(m->e[i].hmac, hmac, SL_HMAC_LEN) == 0)
			return (int)i;
	return -1;
}

static void
model_forget(struct model *m, time_t ts)
{
	if (m->floor < ts)
		m->floor = ts;
}

static void
model_clock(struct model *m, time_t now)
{
	if (m->high < now)
		m->high = now;
}

NOCOV static void
model_drop_expired(struct model *m, time_t now)
{
	uint32_t i = 0;

	while (i < m->n)
		if (!ref_live(m->e[i].ts, now)) {
			model_forget(m, m->e[i].ts);
			m->e[i] = m->e[--m->n];
		} else {
			i++;
		}
}

NOCOV static uint32_t
model_users(const struct model *m, uint16_t uid)
{
	uint32_t i, c = 0;

	for (i = 0; i < m->n; i++)
		c += m->e[i].uid == uid;
	return c;
}

static int
model_room(const struct model *m, uint16_t uid)
{
	return m->n < CAP && model_users(m, uid) < share;
}

/* Has (uid, hmac, ts) been recorded (or loaded) before? */
NOCOV static int
hist_has(uint16_t uid, const uint8_t *hmac, uint32_t ts)
{
	size_t i;

	for (i = 0; i < nhist; i++)
		if (hist[i].ts == ts && hist[i].uid == uid &&
		    memcmp(hist[i].hmac, hmac, SL_HMAC_LEN) == 0)
			return 1;
	return 0;
}

static void
hist_add(uint16_t uid, const uint8_t *hmac, uint32_t ts)
{
	FUZZ_CHECK(nhist < HIST_MAX);
	hist[nhist].uid = uid;
	hist[nhist].ts = ts;
	memcpy(hist[nhist].hmac, hmac, SL_HMAC_LEN);
	nhist++;
}

/* What replay_open() must make of the journal d (never REPLAY_FRESH). */
static int
ref_load(const uint8_t *d, size_t len, time_t now, struct model *m,
    enum replay_load *how)
{
	size_t off = HDR1, hlen = HDR1;
	uint32_t hb, wold = 0;
	time_t since;

	m->n = 0;
	m->barrier = 0;
	m->floor = 0;
	m->high = now;
	if (len < HDR1)
		goto damaged;
	if (memcmp(d, "SLREPLY2", 8) == 0) {
		hlen = off = HDR;
		if (len < HDR || le32(d + 24) != 0 ||
		    le32(d + 28) != ref_crc32(d, 28))
			goto damaged;
	} else if (memcmp(d, "SLREPLY1", 8) != 0) {
		goto damaged;
	}
	if (le32(d + 8) == 0 || le32(d + 8) > REPLAY_WINDOW_MAX)
		goto damaged;
	wold = le32(d + 8);
	if (hlen == HDR) {
		model_forget(m, (time_t)le32(d + 16));
		model_clock(m, (time_t)le32(d + 20));
	} else if (wold < WINDOW && now > (time_t)wold + 1) {
		model_forget(m, now - (time_t)wold - 1);
	}
	hb = le32(d + 12);
	if (hb != 0 && ref_live(hb, now))
		m->barrier = (time_t)hb;
	for (; off + REC <= len; off += REC) {
		const uint8_t *p = d + off;
		uint32_t ts = le32(p + 4);
		uint16_t uid = (uint16_t)le32(p);
		int i;

		if (le32(p) > 0xffff || le32(p + 40) != 0 ||
		    le32(p + 44) != ref_crc32(p, 44))
			goto damaged;
		if (hist_load)
			hist_add(uid, p + 8, ts);
		if (!ref_live(ts, now)) {
			model_forget(m, ts);
			continue;
		}
		if ((i = model_find(m, uid, p + 8)) >= 0) {
			if (m->e[i].ts < ts)
				m->e[i].ts = ts;
			continue;
		}
		if (m->n >= CAP)
			return SL_EFULL;
		m->e[m->n].uid = uid;
		m->e[m->n].ts = ts;
		memcpy(m->e[m->n].hmac, p + 8, SL_HMAC_LEN);
		m->n++;
	}
	if (off != len)
		goto damaged;
	*how = REPLAY_LOADED;
	return 0;
damaged:
	/* replay.h: anything stamped <= (the clock then) + (the window then)
	 * may have been accepted; a barrier already in force stays */
	since = m->high + (time_t)(WINDOW > wold ? WINDOW : wold);
	if (since > (time_t)UINT32_MAX)
		since = (time_t)UINT32_MAX;
	if (m->barrier < since)
		m->barrier = since;
	*how = REPLAY_CORRUPT;
	return 0;
}

static int
model_add(struct model *m, const struct ent *k, time_t now)
{
	int i;

	model_clock(m, now);
	if (m->barrier != 0 && (int64_t)k->ts <= (int64_t)m->barrier)
		return SL_EREPLAY;
	i = model_find(m, k->uid, k->hmac);
	if (i >= 0) {
		if (ref_live(m->e[i].ts, now))
			return SL_EREPLAY;
		model_forget(m, m->e[i].ts);
	}
	if (m->floor != 0 && (int64_t)k->ts <= (int64_t)m->floor)
		return SL_EREPLAY;
	if (i < 0 && !model_room(m, k->uid)) {
		model_drop_expired(m, now);
		if (!model_room(m, k->uid))
			return SL_EFULL;
	}
	if (i >= 0)
		m->e[i].ts = k->ts;
	else
		m->e[m->n++] = *k;
	return 0;
}

static void
model_expire(struct model *m, time_t now)
{
	model_clock(m, now);
	model_drop_expired(m, now);
	if (m->barrier != 0 && (int64_t)now > (int64_t)m->barrier + WINDOW)
		m->barrier = 0;
}

/* The same entries (in any order), barrier, floor and high-water mark. */
NOCOV static int
model_equal(const struct model *a, const struct model *b)
{
	uint32_t i;
	int j;

	if (a->n != b->n || a->barrier != b->barrier ||
	    a->floor != b->floor || a->high != b->high)
		return 0;
	for (i = 0; i < a->n; i++) {
		j = model_find(b, a->e[i].uid, a->e[i].hmac);
		if (j < 0 || b->e[j].ts != a->e[i].ts)
			return 0;
	}
	return 1;
}

/* ---- the harness ------------------------------------------------------ */

static size_t
read_journal(void)
{
	size_t n = 0;
	ssize_t k;
	int fd;

	FUZZ_CHECK((fd = open(jpath, O_RDONLY | O_CLOEXEC)) >= 0);
	while ((k = read(fd, fbuf + n, sizeof(fbuf) - n)) > 0)
		n += (size_t)k;
	FUZZ_CHECK(k == 0 && n < sizeof(fbuf));
	close(fd);
	return n;
}

static void
write_journal(const uint8_t *data, size_t size)
{
	ssize_t k;
	int fd;

	fd = open(jpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	FUZZ_SETUP(fd >= 0);
	while (size > 0) {
		k = write(fd, data, size);
		if (k < 0 && errno == EINTR)
			continue;
		FUZZ_SETUP(k > 0);
		data += k;
		size -= (size_t)k;
	}
	close(fd);
}

static void
check_state(void)
{
	FUZZ_CHECK(replay_count(rp) == M.n);
	FUZZ_CHECK(replay_barrier(rp) == M.barrier);
	FUZZ_CHECK(replay_floor(rp) == M.floor);
	FUZZ_CHECK(replay_high(rp) == M.high);
}

static uint32_t
put_time(time_t t)
{
	return t <= 0 ? 0 : t >= (time_t)UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

/* After an open or a save: a clean journal of exactly the model. */
static void
check_compacted(void)
{
	uint8_t seen[CAP] = { 0 };
	size_t len = read_journal(), off;

	FUZZ_CHECK(access(tpath, F_OK) != 0 && errno == ENOENT);
	FUZZ_CHECK(len == HDR + (size_t)M.n * REC);
	FUZZ_CHECK(memcmp(fbuf, "SLREPLY2", 8) == 0);
	FUZZ_CHECK(le32(fbuf + 8) == WINDOW);
	FUZZ_CHECK(le32(fbuf + 12) == put_time(M.barrier));
	FUZZ_CHECK(le32(fbuf + 16) == put_time(M.floor));
	FUZZ_CHECK(le32(fbuf + 20) == put_time(M.high));
	FUZZ_CHECK(le32(fbuf + 24) == 0 && le32(fbuf + 28) == ref_crc32(fbuf, 28));
	for (off = HDR; off < len; off += REC) {
		const uint8_t *p = fbuf + off;
		int i = model_find(&M, (uint16_t)le32(p), p + 8);

		FUZZ_CHECK(le32(p) <= 0xffff && le32(p + 40) == 0);
		FUZZ_CHECK(le32(p + 44) == ref_crc32(p, 44));
		FUZZ_CHECK(i >= 0 && !seen[i] && M.e[i].ts == le32(p + 4));
		seen[i] = 1;
	}
	memcpy(jexp, fbuf, len);
	jlen = len;
	jrecs = M.n;
}

/* After appends: the compacted journal plus each record accepted since. */
static void
check_appended(void)
{
	FUZZ_CHECK(read_journal() == jlen && memcmp(fbuf, jexp, jlen) == 0);
}

static void
open_at(time_t now, enum replay_load expect)
{
	enum replay_load how;
	char err[ERR_LEN];

	err[0] = '\0';
	FUZZ_CHECK(replay_open(&rp, dir, CAP, WINDOW, now, &how, err,
	    sizeof(err)) == 0);
	FUZZ_CHECK(rp != NULL && how == expect);
	FUZZ_CHECK(replay_set_users(rp, nusers) == share);
	check_state();
	check_compacted();
}

/*
 * The same journal read again at now must give back the model's live
 * entries: the loader skips every record with now > ts + window (replay.h:
 * an entry lives only while its timestamp is acceptable), so an entry that
 * has expired but was not swept yet is not reloaded.
 */
static void
reopen_at(time_t now)
{
	enum replay_load how;

	replay_close(rp);
	rp = NULL;
	FUZZ_CHECK(ref_load(jexp, jlen, now, &M2, &how) == 0);
	model_drop_expired(&M, now);
	FUZZ_CHECK(how == REPLAY_LOADED && model_equal(&M, &M2));
	open_at(now, REPLAY_LOADED);
}

static int
add(const struct ent *k, time_t now)
{
	int rc = replay_check_and_add(rp, k->uid, k->hmac, k->ts, now);

	FUZZ_CHECK(rc == model_add(&M, k, now));
	check_state();
	FUZZ_CHECK(replay_user_count(rp, k->uid) == model_users(&M, k->uid));
	FUZZ_CHECK(replay_user_full(rp, k->uid) ==
	    (model_users(&M, k->uid) >= share));
	if (rc == 0) {
		/* never the same knock twice, whatever the clock did */
		FUZZ_CHECK(!hist_has(k->uid, k->hmac, k->ts));
		hist_add(k->uid, k->hmac, k->ts);
		FUZZ_CHECK(jlen + REC <= sizeof(jexp));
		ref_encode(jexp + jlen, k);
		jlen += REC;
		jrecs++;
	}
	return rc;
}

/* Record k (at ts), then it must be a replay while ts is live (a clamped
 * ts can be stale at now: the daemon's timestamp check never lets one
 * through, and the cache need not remember it). */
static void
add_twice(struct ent *k, uint32_t ts, time_t now)
{
	k->ts = ts;
	if (add(k, now) == 0 && (int64_t)now <= (int64_t)ts + WINDOW)
		FUZZ_CHECK(add(k, now) == SL_EREPLAY);
}

/* The sweep; it compacts a journal grown past max(1024, 2 * live). */
static void
expire_at(time_t now)
{
	replay_expire(rp, now);
	model_expire(&M, now);
	check_state();
	if (jrecs > MIN_JRECS && jrecs > 2 * (uint64_t)M.n)
		check_compacted();
	else
		check_appended();
}

static uint32_t
clamp_ts(int64_t t)
{
	return t < 0 ? 0 : t > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

/*
 * keys[0..nloaded) the loaded keys, then NFIXED more: two with one slot
 * hash (the hash reads only hmac[0..16) and the user id), one differing
 * only in the user id, three next to the first loaded key.
 */
static uint32_t
make_keys(void)
{
	struct ent *f = &keys[M.n];
	uint32_t i;

	memcpy(keys, M.e, M.n * sizeof(M.e[0]));
	for (i = 0; i < 3; i++) {
		f[i].uid = i == 2 ? 2 : 1;
		memset(f[i].hmac, 0x11, SL_HMAC_LEN);
	}
	f[1].hmac[SL_HMAC_LEN - 1] ^= 0x01;
	for (i = 3; i < NFIXED; i++) {
		if (M.n > 0)
			f[i] = M.e[0];
		else {
			f[i].uid = 65535;
			memset(f[i].hmac, 0xee, SL_HMAC_LEN);
		}
	}
	f[3].uid ^= 1;
	f[4].hmac[SL_HMAC_LEN - 1] ^= 0x01;
	f[5].hmac[16] ^= 0x80;
	return M.n;
}

/*
 * Later (at tb, when everything recorded so far has expired): one key
 * recorded again and again, each time with a newer timestamp that has
 * already expired (in place, one more record in the journal), until the
 * journal holds exactly 1024 records: the sweep must not compact it; one
 * record more and it must.  Then new keys until the cache is full, a sweep
 * (the records since the compaction are few: no compaction) and a save.
 * Returns tb.
 */
static time_t
bulk(time_t now)
{
	const time_t tb = now + NCHURN + WINDOW + 1;
	struct ent k;
	uint32_t i;

	memset(&k, 0, sizeof(k));
	k.uid = 0x4242;
	memset(k.hmac, 0x42, SL_HMAC_LEN);
	expire_at(tb);
	for (i = 0; jrecs < MIN_JRECS && i < NCHURN; i++) {
		k.ts = clamp_ts(now + i);
		if (add(&k, tb) != 0)
			break;
	}
	expire_at(tb);
	k.ts = clamp_ts(now + i);
	add(&k, tb);
	expire_at(tb);
	k.ts = clamp_ts(M.barrier != 0 && M.barrier >= tb ? M.barrier + 1 :
	    tb);
	for (i = 0; i <= CAP; i++) {
		k.uid = (uint16_t)(0x4300 + i);
		put_le32(k.hmac, i);
		add(&k, tb);
	}
	expire_at(tb);
	FUZZ_CHECK(replay_save(rp) == 0);
	check_compacted();
	return tb;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum replay_load how, ehow = REPLAY_FRESH;
	char err[ERR_LEN];
	uint32_t nloaded, i;
	time_t t1, t2;
	int rc, erc;

	if (size >= FILE_MAX)
		return 0;
	write_journal(data, size);
	nusers = size % 3 == 0 ? 0 : size % 3 == 1 ? 4 : CAP;
	share = nusers == 0 ? CAP : CAP / nusers;
	nhist = 0;

	/* the load */
	hist_load = 1;
	erc = ref_load(data, size, NOW, &M, &ehow);
	hist_load = 0;
	memset(err, 0, sizeof(err));
	rc = replay_open(&rp, dir, CAP, WINDOW, NOW, &how, err, sizeof(err));
	FUZZ_CHECK(rc == erc);
	if (rc != 0) {
		/* too many live entries: nothing opened, nothing rewritten */
		FUZZ_CHECK(rp == NULL && err[0] != '\0' && err[ERR_LEN - 1] == 0);
		FUZZ_CHECK(read_journal() == size &&
		    (size == 0 || memcmp(fbuf, data, size) == 0));
		FUZZ_CHECK(access(tpath, F_OK) != 0 && errno == ENOENT);
		return 0;
	}
	FUZZ_CHECK(rp != NULL && how == ehow);
	if (how == REPLAY_CORRUPT)
		FUZZ_CHECK(err[0] != '\0' && err[ERR_LEN - 1] == '\0');
	FUZZ_CHECK(replay_set_users(rp, nusers) == share);
	check_state();
	check_compacted();

	/* at the same time: loaded keys are replays, new ones are recorded */
	nloaded = make_keys();
	for (i = 0; i < nloaded; i++) {
		struct ent k = keys[i];

		k.ts = (uint32_t)NOW;
		FUZZ_CHECK(add(&k, NOW) == SL_EREPLAY);
	}
	for (i = 0; i < NFIXED; i++)
		add_twice(&keys[nloaded + i], M.barrier != 0 ?
		    clamp_ts(M.barrier + 1 + i) : (uint32_t)NOW - WINDOW + i,
		    NOW);
	check_appended();
	reopen_at(NOW);

	/* once the middle entry of the model has expired: the fixed keys
	 * (expired: recorded again in place; when the cache is full, a new
	 * one sweeps it), the sweep, then every key again: what survived
	 * the deletions must still be found */
	t1 = NOW + 1;
	if (M.n > 0 && (int64_t)M.e[M.n / 2].ts + WINDOW + 1 > (int64_t)t1)
		t1 = (time_t)M.e[M.n / 2].ts + (time_t)WINDOW + 1;
	for (i = 0; i < NFIXED; i++)
		add_twice(&keys[nloaded + i], clamp_ts(t1 - i), t1);
	expire_at(t1);
	for (i = 0; i < nloaded + NFIXED; i++)
		add_twice(&keys[i], clamp_ts(t1), t1);
	check_appended();
	FUZZ_CHECK(replay_save(rp) == 0);
	check_compacted();

	/* past any barrier from the load */
	t2 = t1 + 2 * (time_t)WINDOW + 1;
	if (M.barrier != 0 && t2 <= M.barrier + (time_t)WINDOW)
		t2 = M.barrier + (time_t)WINDOW + 1;
	expire_at(t2);
	FUZZ_CHECK(M.barrier == 0);
	for (i = 0; i < nloaded + NFIXED; i++)
		add_twice(&keys[i], clamp_ts(t2 - 1), t2);
	check_appended();

	/* the clock stepped back to NOW: what was forgotten since stays
	 * refused (add() checks that nothing is recorded twice) */
	expire_at(NOW);
	for (i = 0; i < nloaded + NFIXED; i++) {
		struct ent k = keys[i];

		k.ts = (uint32_t)NOW;
		add(&k, NOW);
	}
	check_appended();
	if (size >= HDR1 && le32(data + 8) == 0)
		t2 = bulk(t2);
	reopen_at(t2);

	replay_close(rp);
	rp = NULL;
	return 0;
}
