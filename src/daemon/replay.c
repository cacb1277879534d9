/*
 * replay.c - the replay cache: a fixed open-addressing table plus a journal.
 *
 * Table: capacity entries in next_pow2(2 * capacity) slots, linear probing,
 * backward-shift deletion (no tombstones), allocated once in replay_open.
 * The slot hash is a keyed mix of user_id and the hmac under a random
 * 128-bit key, so nobody outside can steer entries into one probe chain.
 * A count per user_id (65536 of them) enforces the users' shares.
 *
 * Journal: state_dir/replay.state, little-endian, no structs on disk.
 *   header (32 bytes):  0 "SLREPLY2"  8 u32 window  12 u32 barrier (0: none)
 *                      16 u32 floor (0: none)  20 u32 high-water mark
 *                      24 u32 reserved (0)  28 u32 CRC-32 of bytes 0..27
 *   record (48 bytes):  0 u16 user_id  2 u16 reserved (0)  4 u32 timestamp
 *                       8 hmac[32]  40 u32 reserved (0)
 *                      44 u32 CRC-32 (IEEE) of bytes 0..43
 * The journal of siglatchd before the floor, "SLREPLY1", has a 16-byte
 * header (magic, window, barrier) and the same records; it is read (as if
 * its floor were now - its window - 1 when the window has grown since:
 * whatever it forgot was older than its window when it was written), then
 * rewritten as SLREPLY2.
 *
 * Each accepted packet is appended with one pwrite before
 * replay_check_and_add() returns 0, so it survives a process crash (kill -9).
 * There is no fsync per packet: surviving power loss would need one.  When
 * the journal holds more than max(1024, 2 * live) records it is compacted:
 * live entries go to replay.state.tmp, fsync, rename over, fsync the
 * directory.
 *
 * Records leave the journal only through compaction, and entries leave the
 * table only once they have expired; either way the floor is raised to the
 * forgotten timestamp first, and the compacted journal's header carries it.
 * So a knock once recorded is refused for good: while it is in the table
 * (live), or by the floor (forgotten), whatever the wall clock does.  The
 * floor never passes the newest timestamp actually accepted, so a clock
 * that jumped ahead and was put back refuses only knocks stamped before the
 * jump.
 *
 * A damaged journal keeps the valid records before the damage and sets a
 * barrier: every timestamp <= max(now, high-water mark) + max(window, the
 * journal's window) is a replay; so does a journal missing from a state_dir
 * that holds a file or a directory with anything in it, with now + window.  The barrier is kept in the
 * header of the rewritten journal until it has passed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "replay.h"
#include "util.h"

#define REPLAY_FILE      "replay.state"
#define REPLAY_TMP       "replay.state.tmp"
#define REPLAY_MAGIC     "SLREPLY2"
#define REPLAY_MAGIC1    "SLREPLY1"
#define REPLAY_HDR_LEN   32
#define REPLAY_HDR1_LEN  16
#define REPLAY_REC_LEN   48
#define REPLAY_CAP_MAX   (1u << 20)
#define REPLAY_UIDS      65536
#define REPLAY_MIN_JRECS 1024
#define REPLAY_IOBUF     (REPLAY_HDR_LEN + 128 * REPLAY_REC_LEN)
#define REPLAY_TS_MAX    ((time_t)UINT32_MAX)

struct replay_slot {
	uint8_t hmac[SL_HMAC_LEN];
	uint32_t ts;
	uint32_t h;       /* hash, for backward-shift deletion */
	uint16_t uid;
	uint8_t used;
};

struct replay {
	struct replay_slot *slots;
	uint32_t *ucount;     /* entries per user_id */
	uint32_t mask;        /* slots - 1 */
	uint32_t capacity;
	uint32_t user_max;    /* a user's share; capacity: no share */
	uint32_t count;
	uint32_t window;
	time_t barrier;       /* 0: none */
	time_t floor;         /* newest timestamp forgotten; 0: none */
	time_t high;          /* latest wall-clock time seen */
	time_t warned;        /* the high-water mark the clock was behind */
	time_t swept;         /* every entry is live at this time ... */
	bool swept_ok;        /* ... when this is set */
	uint64_t k0, k1;      /* hash key */
	int dirfd, fd;        /* -1: memory only */
	off_t jend;           /* journal length */
	uint64_t jrecs;       /* records in the journal */
	char path[SL_PATH_MAX + sizeof(REPLAY_FILE) + 1];
	uint8_t iobuf[REPLAY_IOBUF];
};

static void
put32(uint8_t *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* A time as the journal's u32, saturated. */
static uint32_t
put_time(time_t t)
{
	return t <= 0 ? 0 : t >= REPLAY_TS_MAX ? UINT32_MAX : (uint32_t)t;
}

/* CRC-32 (IEEE 802.3, reflected), one nibble at a time. */
static uint32_t
replay_crc32(const uint8_t *p, size_t n)
{
	static const uint32_t t[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190,
		0x6b6b51f4, 0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344,
		0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278,
		0xbdbdf21c,
	};
	uint32_t c = 0xffffffffu;

	while (n-- > 0) {
		c ^= *p++;
		c = (c >> 4) ^ t[c & 15];
		c = (c >> 4) ^ t[c & 15];
	}
	return ~c;
}

static uint64_t
replay_fmix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint32_t
replay_hash(const struct replay *r, uint16_t uid, const uint8_t *hmac)
{
	uint64_t x = replay_fmix(get64(hmac) ^ r->k0);

	x = replay_fmix(x ^ get64(hmac + 8) ^ r->k1 ^ ((uint64_t)uid << 48));
	return (uint32_t)x;
}

static bool
replay_live(uint32_t ts, uint32_t window, time_t now)
{
	return (int64_t)now <= (int64_t)ts + window;
}

/* A timestamp is forgotten: anything stamped at or before it is refused. */
static void
replay_forget(struct replay *r, time_t ts)
{
	if (r->floor < ts)
		r->floor = ts;
}

static void
replay_clock(struct replay *r, time_t now)
{
	if (r->high < now)
		r->high = now;
}

/* The slot holding the key, or (not used) the empty one where it would go. */
static struct replay_slot *
replay_find(const struct replay *r, uint16_t uid, const uint8_t *hmac,
    uint32_t h)
{
	struct replay_slot *s;
	uint32_t i;

	for (i = h & r->mask;; i = (i + 1) & r->mask) {
		s = &r->slots[i];
		if (!s->used || (s->h == h && s->uid == uid &&
		    memcmp(s->hmac, hmac, SL_HMAC_LEN) == 0))
			return s;
	}
}

static void
replay_put(struct replay *r, struct replay_slot *s, uint16_t uid,
    const uint8_t *hmac, uint32_t h, uint32_t ts)
{
	memcpy(s->hmac, hmac, SL_HMAC_LEN);
	s->ts = ts;
	s->h = h;
	s->uid = uid;
	if (!s->used) {
		r->count++;
		r->ucount[uid]++;
	}
	s->used = 1;
	/* an entry already expired at the last sweep: the next one finds it */
	if (!replay_live(ts, r->window, r->swept))
		r->swept_ok = false;
}

/* Backward-shift deletion: pull later members of the chain into the hole. */
static void
replay_del(struct replay *r, uint32_t i)
{
	uint32_t j = i, k;

	r->count--;
	r->ucount[r->slots[i].uid]--;
	for (;;) {
		r->slots[i].used = 0;
		do {
			j = (j + 1) & r->mask;
			if (!r->slots[j].used)
				return;
			k = r->slots[j].h & r->mask;
			/* it stays while its home k lies cyclically in (i, j] */
		} while (i <= j ? (i < k && k <= j) : (i < k || k <= j));
		r->slots[i] = r->slots[j];
		i = j;
	}
}

static void
replay_drop_expired(struct replay *r, time_t now)
{
	uint32_t i;

	/* a deletion may shift an entry into slot i: examine it again */
	for (i = 0; i <= r->mask; i++) {
		while (r->slots[i].used &&
		    !replay_live(r->slots[i].ts, r->window, now)) {
			replay_forget(r, r->slots[i].ts);
			replay_del(r, i);
		}
	}
	r->swept = now;
	r->swept_ok = true;
}

/* Read or write exactly n bytes at off (a short read is EIO). */
static int
replay_io(int fd, uint8_t *p, size_t n, off_t off, bool wr)
{
	while (n > 0) {
		ssize_t k = wr ? pwrite(fd, p, n, off) : pread(fd, p, n, off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return SL_ESYS;
		}
		p += k;
		n -= (size_t)k;
		off += k;
	}
	return 0;
}

static void
replay_encode(uint8_t *p, uint16_t uid, uint32_t ts, const uint8_t *hmac)
{
	put32(p, uid);        /* user_id and the reserved u16 */
	put32(p + 4, ts);
	memcpy(p + 8, hmac, SL_HMAC_LEN);
	put32(p + 40, 0);
	put32(p + 44, replay_crc32(p, 44));
}

/* Write the live table to a new journal and rename it into place. */
static int
replay_compact(struct replay *r)
{
	const struct replay_slot *s;
	uint8_t *b = r->iobuf;
	size_t n = REPLAY_HDR_LEN;
	off_t off = 0;
	int fd, e;

	if (r->dirfd < 0)
		return 0;
	if (unlinkat(r->dirfd, REPLAY_TMP, 0) != 0 && errno != ENOENT)
		return SL_ESYS;
	fd = openat(r->dirfd, REPLAY_TMP,
	    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return SL_ESYS;
	memcpy(b, REPLAY_MAGIC, 8);
	put32(b + 8, r->window);
	put32(b + 12, put_time(r->barrier));
	put32(b + 16, put_time(r->floor));
	put32(b + 20, put_time(r->high));
	put32(b + 24, 0);
	put32(b + 28, replay_crc32(b, 28));
	for (s = r->slots; s <= &r->slots[r->mask]; s++) {
		if (!s->used)
			continue;
		if (n + REPLAY_REC_LEN > sizeof(r->iobuf)) {
			if (replay_io(fd, b, n, off, true) != 0)
				goto fail;
			off += (off_t)n;
			n = 0;
		}
		replay_encode(b + n, s->uid, s->ts, s->hmac);
		n += REPLAY_REC_LEN;
	}
	if (replay_io(fd, b, n, off, true) != 0 || fsync(fd) != 0 ||
	    renameat(r->dirfd, REPLAY_TMP, r->dirfd, REPLAY_FILE) != 0)
		goto fail;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = fd;
	r->jend = off + (off_t)n;
	r->jrecs = r->count;
	return fsync(r->dirfd) == 0 ? 0 : SL_ESYS;
fail:
	e = errno;
	close(fd);
	unlinkat(r->dirfd, REPLAY_TMP, 0);
	errno = e;
	return SL_ESYS;
}

/* Refuse everything stamped at or before since + window (never lowered). */
static void
replay_raise_barrier(struct replay *r, time_t since, uint32_t window)
{
	time_t b = since + (time_t)window;

	if (b > REPLAY_TS_MAX)
		b = REPLAY_TS_MAX;
	if (r->barrier < b)
		r->barrier = b;
}

#define REPLAY_DAMAGED 1   /* replay_load_*: the journal is damaged */

/*
 * The journal's header (SLREPLY2, or the 16 bytes of SLREPLY1): its length
 * into *hlen, its window into *wold, its floor, clock and barrier taken
 * over.  0, REPLAY_DAMAGED (*why says how) or SL_ESYS.
 */
static int
replay_load_header(struct replay *r, off_t size, time_t now, off_t *hlen,
    uint32_t *wold, const char **why)
{
	uint8_t p[REPLAY_HDR_LEN];
	uint32_t hb;

	*why = "file too short for the header";
	if (size < REPLAY_HDR1_LEN)
		return REPLAY_DAMAGED;
	if (replay_io(r->fd, p, REPLAY_HDR1_LEN, 0, false) != 0)
		return SL_ESYS;
	*why = "bad magic";
	if (memcmp(p, REPLAY_MAGIC, 8) == 0) {
		*hlen = REPLAY_HDR_LEN;
		*why = "file too short for the header";
		if (size < REPLAY_HDR_LEN)
			return REPLAY_DAMAGED;
		if (replay_io(r->fd, p, REPLAY_HDR_LEN, 0, false) != 0)
			return SL_ESYS;
		*why = "bad header (checksum or reserved field)";
		if (get32(p + 24) != 0 || get32(p + 28) != replay_crc32(p, 28))
			return REPLAY_DAMAGED;
	} else if (memcmp(p, REPLAY_MAGIC1, 8) != 0) {
		return REPLAY_DAMAGED;
	}
	*why = "bad header (window)";
	if (get32(p + 8) == 0 || get32(p + 8) > REPLAY_WINDOW_MAX)
		return REPLAY_DAMAGED;
	*wold = get32(p + 8);
	if (*hlen == REPLAY_HDR_LEN) {
		replay_forget(r, (time_t)get32(p + 16));
		replay_clock(r, (time_t)get32(p + 20));
	} else if (*wold < r->window && now > (time_t)*wold + 1) {
		/* no floor in a SLREPLY1 journal: it forgot only what was
		 * older than its window, which has grown since */
		replay_forget(r, now - (time_t)*wold - 1);
	}
	/* a barrier from an earlier damaged journal stays in force */
	hb = get32(p + 12);
	if (hb != 0 && replay_live(hb, r->window, now))
		r->barrier = (time_t)hb;
	return 0;
}

/*
 * The journal's records from hlen on, each one still live put in the
 * table; *off is where they end, or the damaged one.  0, REPLAY_DAMAGED,
 * SL_ESYS or SL_EFULL (err says so).
 */
static int
replay_load_records(struct replay *r, off_t size, off_t hlen, time_t now,
    off_t *off, char *err, size_t errlen)
{
	uint8_t p[REPLAY_REC_LEN];
	struct replay_slot *s;
	uint32_t ts, h;
	uint16_t uid;

	for (*off = hlen; *off + REPLAY_REC_LEN <= size;
	    *off += REPLAY_REC_LEN) {
		if (replay_io(r->fd, p, sizeof(p), *off, false) != 0)
			return SL_ESYS;
		ts = get32(p + 4);
		uid = (uint16_t)get32(p);
		if (get32(p) > 0xffff || get32(p + 40) != 0 ||
		    get32(p + 44) != replay_crc32(p, 44))
			return REPLAY_DAMAGED;
		if (!replay_live(ts, r->window, now)) {
			replay_forget(r, ts);
			continue;
		}
		h = replay_hash(r, uid, p + 8);
		s = replay_find(r, uid, p + 8, h);
		if (s->used && s->ts >= ts)
			continue;
		if (!s->used && r->count >= r->capacity) {
			sl_seterr(err, errlen, "%s: more than %u live "
			    "entries: raise replay_cache_size", r->path,
			    r->capacity);
			return SL_EFULL;
		}
		replay_put(r, s, uid, p + 8, h, ts);
	}
	return 0;
}

/*
 * Load the journal in r->fd: *how is REPLAY_LOADED, or REPLAY_CORRUPT with
 * the barrier set and err naming the damage.  Fails with SL_EFULL or SL_ESYS.
 */
static int
replay_load(struct replay *r, time_t now, enum replay_load *how, char *err,
    size_t errlen)
{
	const char *why;
	struct stat st;
	off_t off = 0, hlen = REPLAY_HDR1_LEN;
	uint32_t wold = 0;
	int rc;

	if (fstat(r->fd, &st) != 0)
		goto syserr;
	if ((rc = replay_load_header(r, st.st_size, now, &hlen, &wold,
	    &why)) != 0)
		goto bad;
	why = "bad record (checksum or reserved field)";
	if ((rc = replay_load_records(r, st.st_size, hlen, now, &off, err,
	    errlen)) != 0)
		goto bad;
	why = "partial record (length is not the header + k*48)";
	if (off != st.st_size)
		goto damaged;
	*how = REPLAY_LOADED;
	return 0;
bad:
	if (rc == SL_ESYS)
		goto syserr;
	if (rc != REPLAY_DAMAGED)
		return rc;      /* SL_EFULL, err says so */
damaged:
	sl_seterr(err, errlen, "%s: %s at offset %lld", r->path, why,
	    (long long)off);
	/* anything accepted before was stamped <= (the clock then) + (the
	 * window then); a higher barrier still in force is kept */
	replay_raise_barrier(r, r->high, r->window > wold ? r->window : wold);
	*how = REPLAY_CORRUPT;
	return 0;
syserr:
	sl_seterr(err, errlen, "%s: %s", r->path, strerror(errno));
	return SL_ESYS;
}

/* An empty directory (a mount point, or one an installer made) is no
 * sign of an earlier run; a directory it cannot read is. */
static bool
replay_dir_empty(int dirfd, const char *name)
{
	const struct dirent *de;
	bool empty = true;
	DIR *d;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (empty && (de = readdir(d)) != NULL)
		empty = strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/*
 * No journal.  A state_dir holding nothing but empty directories is a
 * first start; one that holds a file, or a directory with anything in it
 * (the grants, the stats file, a journal being compacted: what a run
 * leaves behind), was used before, and what the journal knew is gone:
 * the barrier.
 */
static int
replay_missing(struct replay *r, const char *state_dir, time_t now,
    enum replay_load *how, char *err, size_t errlen)
{
	const struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = openat(r->dirfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0 || (d = fdopendir(fd)) == NULL) {
		sl_seterr(err, errlen, "state_dir %s: %s", state_dir,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return SL_ESYS;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, "lost+found") == 0)
			continue;
		if ((de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) &&
		    replay_dir_empty(r->dirfd, de->d_name))
			continue;
		break;
	}
	if (de != NULL) {
		sl_seterr(err, errlen, "%s: missing, although state_dir holds "
		    "%s (it was used before)", r->path, de->d_name);
		replay_raise_barrier(r, now, r->window);
		*how = REPLAY_CORRUPT;
	} else if (errno != 0) {
		sl_seterr(err, errlen, "state_dir %s: %s", state_dir,
		    strerror(errno));
		closedir(d);
		return SL_ESYS;
	}
	closedir(d);
	return 0;
}

/* A table for capacity entries, in memory only; 0 or SL_ESYS. */
static int
replay_new(struct replay **out, uint32_t capacity, uint32_t window,
    time_t now, char *err, size_t errlen)
{
	struct replay *r;
	uint8_t key[16];
	uint32_t nslots = 1;

	while (nslots < 2 * capacity)
		nslots <<= 1;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->slots = calloc(nslots, sizeof(*r->slots))) == NULL ||
	    (r->ucount = calloc(REPLAY_UIDS, sizeof(*r->ucount))) == NULL) {
		if (r != NULL)
			free(r->slots);
		free(r);
		sl_seterr(err, errlen, "replay cache: out of memory");
		return SL_ESYS;
	}
	r->dirfd = r->fd = -1;
	r->mask = nslots - 1;
	r->capacity = r->user_max = capacity;
	r->window = window;
	r->high = r->swept = now;
	r->swept_ok = true;
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
		sl_seterr(err, errlen, "getrandom: %s", strerror(errno));
		replay_close(r);
		return SL_ESYS;
	}
	r->k0 = get64(key);
	r->k1 = get64(key + 8);
	*out = r;
	return 0;
}

/* The journal in state_dir: loaded (or found missing), then written
 * anew; 0, or an error (err says which). */
static int
replay_attach(struct replay *r, const char *state_dir, time_t now,
    enum replay_load *how, char *err, size_t errlen)
{
	int rc;

	if (snprintf(r->path, sizeof(r->path), "%s/%s", state_dir,
	    REPLAY_FILE) >= (int)sizeof(r->path)) {
		sl_seterr(err, errlen, "state_dir too long: %s", state_dir);
		return SL_ETOOBIG;
	}
	r->dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		sl_seterr(err, errlen, "state_dir %s: %s", state_dir,
		    strerror(errno));
		return SL_ESYS;
	}
	r->fd = openat(r->dirfd, REPLAY_FILE, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (r->fd < 0 && errno != ENOENT) {
		sl_seterr(err, errlen, "%s: %s", r->path, strerror(errno));
		return SL_ESYS;
	}
	if (r->fd >= 0)
		rc = replay_load(r, now, how, err, errlen);
	else
		rc = replay_missing(r, state_dir, now, how, err, errlen);
	if (rc != 0)
		return rc;
	/* every entry loaded is live at now */
	r->swept = now;
	r->swept_ok = true;
	/* Always start from a clean journal: this also proves we can write. */
	if (replay_compact(r) != 0) {
		sl_seterr(err, errlen, "cannot write %s/%s: %s", state_dir,
		    REPLAY_TMP, strerror(errno));
		return SL_ESYS;
	}
	return 0;
}

int
replay_open(struct replay **out, const char *state_dir, uint32_t capacity,
    uint32_t window, time_t now, enum replay_load *how, char *err,
    size_t errlen)
{
	struct replay *r;
	enum replay_load dummy;
	int rc;

	if (how == NULL)
		how = &dummy;
	*how = REPLAY_FRESH;
	if (out == NULL || capacity == 0 || capacity > REPLAY_CAP_MAX ||
	    window == 0 || window > REPLAY_WINDOW_MAX) {
		sl_seterr(err, errlen, "replay cache size must be 1..%u, "
		    "window 1..%u s", REPLAY_CAP_MAX, REPLAY_WINDOW_MAX);
		return SL_EINVAL;
	}
	*out = NULL;
	if ((rc = replay_new(&r, capacity, window, now, err, errlen)) != 0)
		return rc;
	if (state_dir != NULL &&
	    (rc = replay_attach(r, state_dir, now, how, err, errlen)) != 0) {
		replay_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

int
replay_lost(struct replay *r, time_t now)
{
	if (r == NULL)
		return SL_EINVAL;
	replay_raise_barrier(r, now, r->window);
	return replay_compact(r) == 0 ? 0 : SL_ESYS;
}

uint32_t
replay_set_users(struct replay *r, unsigned nusers)
{
	if (r == NULL)
		return 0;
	r->user_max = nusers == 0 ? r->capacity : r->capacity / nusers;
	if (r->user_max == 0)
		r->user_max = 1;
	return r->user_max;
}

bool
replay_seen(const struct replay *r, uint16_t user_id,
    const uint8_t hmac[SL_HMAC_LEN], time_t now)
{
	const struct replay_slot *s;
	uint32_t h;

	if (r == NULL || hmac == NULL)
		return false;
	h = replay_hash(r, user_id, hmac);
	s = replay_find(r, user_id, hmac, h);
	return s->used && replay_live(s->ts, r->window, now);
}

static bool
replay_room(const struct replay *r, uint16_t user_id)
{
	return r->count < r->capacity && r->ucount[user_id] < r->user_max;
}

int
replay_check_and_add(struct replay *r, uint16_t user_id,
    const uint8_t hmac[SL_HMAC_LEN], uint32_t timestamp, time_t now)
{
	uint8_t rec[REPLAY_REC_LEN];
	struct replay_slot *s;
	uint32_t h;

	if (r == NULL || hmac == NULL)
		return SL_EINVAL;
	replay_clock(r, now);
	if (r->barrier != 0 && (int64_t)timestamp <= (int64_t)r->barrier)
		return SL_EREPLAY;
	h = replay_hash(r, user_id, hmac);
	s = replay_find(r, user_id, hmac, h);
	if (s->used) {
		if (replay_live(s->ts, r->window, now))
			return SL_EREPLAY;
		/* expired: it is forgotten now, whatever comes next */
		replay_forget(r, s->ts);
	}
	if (r->floor != 0 && (int64_t)timestamp <= (int64_t)r->floor)
		return SL_EREPLAY;
	if (!s->used && !replay_room(r, user_id)) {
		/* a sweep finds nothing new until the clock has moved on or
		 * an entry already expired was put in */
		if (!r->swept_ok || now > r->swept)
			replay_drop_expired(r, now);
		if (!replay_room(r, user_id))
			return SL_EFULL;
		s = replay_find(r, user_id, hmac, h);
	}
	if (r->fd >= 0) {
		replay_encode(rec, user_id, timestamp, hmac);
		if (replay_io(r->fd, rec, sizeof(rec), r->jend, true) != 0) {
			int e = errno;

			/* drop a partial record (the next append would
			 * overwrite it anyway) */
			if (ftruncate(r->fd, r->jend) != 0)
				log_limited(0, LOG_ERR, SLC_STATE_IO,
				    "%s: ftruncate: %s", r->path,
				    strerror(errno));
			errno = e;
			return SL_ESYS;
		}
		r->jend += REPLAY_REC_LEN;
		r->jrecs++;
	}
	replay_put(r, s, user_id, hmac, h, timestamp);
	return 0;
}

void
replay_expire(struct replay *r, time_t now)
{
	uint64_t limit;

	if (r == NULL)
		return;
	replay_clock(r, now);
	if (now < r->high - 1 && r->warned != r->high) {
		r->warned = r->high;
		log_limited(0, LOG_WARNING, SLC_STATE, "the wall clock went "
		    "back %lld s (from %lld): replay protection holds; knocks "
		    "stamped at or before %lld stay refused",
		    (long long)(r->high - now), (long long)r->high,
		    (long long)r->floor);
	}
	replay_drop_expired(r, now);
	if (r->barrier != 0 && (int64_t)now > (int64_t)r->barrier + r->window)
		r->barrier = 0;
	limit = 2 * (uint64_t)r->count;
	if (limit < REPLAY_MIN_JRECS)
		limit = REPLAY_MIN_JRECS;
	if (r->fd < 0 || r->jrecs <= limit)
		return;
	if (replay_compact(r) != 0)  /* retried each second: rate-limited */
		log_limited(0, LOG_ERR, SLC_STATE_IO, "cannot compact %s: %s",
		    r->path, strerror(errno));
}

int
replay_save(struct replay *r)
{
	if (r == NULL)
		return SL_EINVAL;
	return replay_compact(r);
}

void
replay_close(struct replay *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->dirfd >= 0)
		close(r->dirfd);
	free(r->slots);
	free(r->ucount);
	free(r);
}

uint32_t
replay_count(const struct replay *r)
{
	return r != NULL ? r->count : 0;
}

uint32_t
replay_user_count(const struct replay *r, uint16_t user_id)
{
	return r != NULL ? r->ucount[user_id] : 0;
}

bool
replay_user_full(const struct replay *r, uint16_t user_id)
{
	return r != NULL && r->ucount[user_id] >= r->user_max;
}

time_t
replay_barrier(const struct replay *r)
{
	return r != NULL ? r->barrier : 0;
}

time_t
replay_floor(const struct replay *r)
{
	return r != NULL ? r->floor : 0;
}

time_t
replay_high(const struct replay *r)
{
	return r != NULL ? r->high : 0;
}
