/*
 * grants.c - the timed-grant table and its file (grants.h).
 *
 * The file is text, one grant per line, so an operator can read it:
 *
 *   # siglatchd grants v1
 *   # state server user_id user action_id action address created_ms
 *   #   expires_ms next_ms attempts extensions
 *   live ssh-gw 1 alice 1 ssh 192.0.2.7 1795000000000 1795000300000 0 0 1
 *
 * A fleet grant (fleet.h) has a 13th field, "gateway=NAME", the gateway
 * that took the knock; a line without it is read as before, and lines are
 * written without it for grants that have no gateway.
 *
 * Names are config names (A-Z a-z 0-9 _ . -), so a space separates fields.
 * Every field is checked on load; a line that does not parse is refused
 * whole.  Only the runner (root) reads and writes it, in a directory that
 * only it may enter.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "grants.h"
#include "log.h"
#include "util.h"

struct grants {
	struct grant *g;
	unsigned cap;           /* slots (>= max, if the file held more) */
	unsigned max;           /* max_grants: new grants refused at this */
	unsigned used;
	uint64_t max_life_ms;   /* grant_max_lifetime */
	int dirfd;              /* STATE_DIR/grants, -1: not persisted */
	bool dirty;             /* a save failed: try again */
	int save_errno;         /* why the last save failed */
	struct grants_stats st;
};

#define GRANTS_TMP      "grants.tmp"
#define GRANTS_BAD      "grants.bad"
#define GRANTS_FILE_MAX (64u * 1024 * 1024)  /* refuse a larger file */
#define GRANTS_FIELDS   12
#define GRANTS_FIELDS_GW 13
#define GRANTS_HEADER \
	"# siglatchd grants v1 (written by siglatchd; list with " \
	"siglatchd --grants)\n" \
	"# state server user_id user action_id action address created_ms " \
	"expires_ms next_ms attempts extensions\n"

static const char *const gs_names[] = {
	[GS_FREE] = "free",
	[GS_PENDING] = "pending",
	[GS_LIVE] = "live",
	[GS_REVOKE] = "revoke",
	[GS_REVOKING] = "revoking",
};

const char *
grant_op_name(enum grant_op op)
{
	return op == GOP_GRANT ? "grant" : op == GOP_EXTEND ? "extend" :
	    op == GOP_REVOKE ? "revoke" : "?";
}

int
grants_cut(struct grants *gt, struct grant *g, int64_t until_ms)
{
	if (g->state != GS_LIVE || g->expires_ms <= until_ms)
		return 0;
	g->expires_ms = until_ms;
	(void)grants_save(gt);  /* an earlier expiry is safe if unsaved */
	return 1;
}

const char *
grant_state_name(enum grant_state st)
{
	return (unsigned)st <= GS_REVOKING ? gs_names[st] : "?";
}

int
grants_new(struct grants **out, unsigned max, uint32_t max_life_s)
{
	struct grants *gt;

	*out = NULL;
	if (max == 0)
		return SL_EINVAL;
	if ((gt = calloc(1, sizeof(*gt))) == NULL)
		return SL_ESYS;
	gt->dirfd = -1;
	if ((gt->g = calloc(max, sizeof(*gt->g))) == NULL) {
		free(gt);
		return SL_ESYS;
	}
	gt->cap = gt->max = max;
	gt->max_life_ms = (uint64_t)max_life_s * 1000;
	*out = gt;
	return 0;
}

void
grants_free(struct grants *gt)
{
	if (gt == NULL)
		return;
	free(gt->g);
	if (gt->dirfd >= 0)
		close(gt->dirfd);
	free(gt);
}

const struct grants_stats *
grants_get_stats(const struct grants *gt)
{
	return &gt->st;
}

int
grants_dirfd(const struct grants *gt)
{
	return gt->dirfd;
}

bool
grants_dirty(const struct grants *gt)
{
	return gt->dirty;
}

int
grants_save_errno(const struct grants *gt)
{
	return gt->save_errno;
}

unsigned
grants_slots(const struct grants *gt)
{
	return gt->cap;
}

struct grant *
grants_slot(struct grants *gt, unsigned i)
{
	return i < gt->cap ? &gt->g[i] : NULL;
}

static bool
g_same(const struct grant *g, const char *server, uint16_t user_id,
    uint8_t action_id, const struct sl_addr *addr)
{
	return g->state != GS_FREE && g->user_id == user_id &&
	    g->action_id == action_id && g->addr.family == addr->family &&
	    memcmp(g->addr.bytes, addr->bytes, sizeof(addr->bytes)) == 0 &&
	    strcmp(g->server, server) == 0;
}

struct grant *
grants_find(struct grants *gt, const char *server, uint16_t user_id,
    uint8_t action_id, const struct sl_addr *addr)
{
	unsigned i;

	for (i = 0; i < gt->cap; i++)
		if (g_same(&gt->g[i], server, user_id, action_id, addr))
			return &gt->g[i];
	return NULL;
}

static struct grant *
g_alloc(struct grants *gt)
{
	unsigned i;

	if (gt->used >= gt->max)
		return NULL;
	for (i = 0; i < gt->cap; i++)
		if (gt->g[i].state == GS_FREE) {
			gt->used++;
			return &gt->g[i];
		}
	return NULL;
}

static void
g_release(struct grants *gt, struct grant *g)
{
	memset(g, 0, sizeof(*g));
	gt->used--;
}

struct grant *
grants_begin(struct grants *gt, const char *server, const char *user,
    uint16_t user_id, const char *action, uint8_t action_id,
    const struct sl_addr *addr, const char **why)
{
	struct grant *g = grants_find(gt, server, user_id, action_id, addr);

	*why = NULL;
	if (g != NULL) {
		switch (g->state) {
		case GS_REVOKE:
			/* still to be revoked: a new constructor takes it
			 * back; if that fails, it is revoked as before */
			g->state = GS_PENDING;
			g->regrant = true;
			return g;
		case GS_PENDING:
			*why = "its constructor is still running";
			return NULL;
		case GS_REVOKING:
			*why = "its destructor is running; knock again";
			return NULL;
		default:
			*why = "it is live";  /* the caller extends instead */
			return NULL;
		}
	}
	if ((g = g_alloc(gt)) == NULL) {
		gt->st.refused_full++;
		*why = "the grant table is full (max_grants)";
		return NULL;
	}
	g->state = GS_PENDING;
	g->user_id = user_id;
	g->action_id = action_id;
	g->addr = *addr;
	(void)sl_strlcpy(g->server, server, sizeof(g->server));
	(void)sl_strlcpy(g->user, user, sizeof(g->user));
	(void)sl_strlcpy(g->action, action, sizeof(g->action));
	return g;
}

static int64_t
g_cap(const struct grants *gt, const struct grant *g, int64_t want)
{
	int64_t limit = g->created_ms + (int64_t)gt->max_life_ms;

	return want > limit ? limit : want;
}

void
grants_abort(struct grants *gt, struct grant *g)
{
	if (g->state != GS_PENDING)
		return;
	if (g->regrant) {
		/* still owed its destructor, on the schedule it had */
		g->state = GS_REVOKE;
		g->regrant = false;
	} else {
		g_release(gt, g);
	}
}

void
grants_end(struct grants *gt, struct grant *g, bool ok, int64_t now_ms,
    uint32_t interval_s)
{
	if (g->state != GS_PENDING)
		return;
	if (ok) {
		g->state = GS_LIVE;
		g->regrant = false;
		g->created_ms = now_ms;
		g->expires_ms = g_cap(gt, g, now_ms + (int64_t)interval_s * 1000);
		g->next_ms = 0;
		g->attempts = 0;
		g->extensions = 0;
		gt->st.granted++;
	} else if (g->regrant) {
		g->state = GS_REVOKE;
		g->regrant = false;
		g->next_ms = now_ms;
	} else {
		g_release(gt, g);
	}
}

int
grants_extend(struct grants *gt, struct grant *g, int64_t now_ms,
    uint32_t interval_s)
{
	int64_t want, was;

	if (g->state != GS_LIVE)
		return 0;
	want = g_cap(gt, g, now_ms + (int64_t)interval_s * 1000);
	if (want <= g->expires_ms) {
		gt->st.capped++;
		return 0;
	}
	/* on disk first: a later expiry that only memory knows would be
	 * honoured until a crash and forgotten after it */
	was = g->expires_ms;
	g->expires_ms = want;
	g->extensions++;
	if (grants_save(gt) != 0) {
		g->expires_ms = was;
		g->extensions--;
		return SL_ESYS;
	}
	gt->st.extended++;
	return 1;
}

struct grant *
grants_due(struct grants *gt, int64_t now_ms)
{
	struct grant *g;
	unsigned i;

	for (i = 0; i < gt->cap; i++) {
		g = &gt->g[i];
		if (g->state == GS_LIVE && g->expires_ms <= now_ms) {
			g->state = GS_REVOKE;
			g->next_ms = now_ms;
			gt->st.lapsed++;
			return g;
		}
		if (g->state == GS_REVOKE && g->next_ms <= now_ms)
			return g;
	}
	return NULL;
}

void
grants_revoking(struct grants *gt, struct grant *g)
{
	(void)gt;
	if (g->state == GS_REVOKE)
		g->state = GS_REVOKING;
}

int64_t
grants_secs_left(int64_t t_ms, int64_t now_ms)
{
	return t_ms > now_ms ? (t_ms - now_ms + 999) / 1000 : 0;
}

int64_t
grants_backoff_ms(uint32_t attempts)
{
	int64_t d = GRANTS_RETRY_MS;

	while (attempts > 1 && d < GRANTS_RETRY_MAX) {
		d *= 2;
		attempts--;
	}
	return d > GRANTS_RETRY_MAX ? GRANTS_RETRY_MAX : d;
}

void
grants_revoked(struct grants *gt, struct grant *g, bool ok, int64_t now_ms)
{
	if (g->state != GS_REVOKING)
		return;
	if (ok) {
		gt->st.revoked++;
		g_release(gt, g);
		return;
	}
	gt->st.revoke_failed++;
	if (g->attempts < UINT32_MAX)
		g->attempts++;
	g->state = GS_REVOKE;
	g->next_ms = now_ms + grants_backoff_ms(g->attempts);
}

void
grants_defer(struct grants *gt, struct grant *g, int64_t now_ms,
    int64_t delay_ms)
{
	(void)gt;
	if (g->state == GS_REVOKE || g->state == GS_REVOKING) {
		g->state = GS_REVOKE;
		g->next_ms = now_ms + delay_ms;
	}
}

unsigned
grants_revoke_if(struct grants *gt, int64_t now_ms,
    bool (*keep)(void *, const struct grant *), void *arg)
{
	unsigned i, n = 0;

	for (i = 0; i < gt->cap; i++) {
		struct grant *g = &gt->g[i];

		if (g->state != GS_LIVE || keep(arg, g))
			continue;
		g->state = GS_REVOKE;
		g->next_ms = now_ms;
		gt->dirty = true;
		n++;
	}
	return n;
}

unsigned
grants_revoke_all(struct grants *gt, int64_t now_ms)
{
	unsigned i, n = 0;

	for (i = 0; i < gt->cap; i++) {
		struct grant *g = &gt->g[i];

		if (g->state == GS_LIVE ||
		    (g->state == GS_REVOKE && g->next_ms > now_ms)) {
			g->state = GS_REVOKE;
			g->next_ms = now_ms;
			n++;
		}
	}
	return n;
}

int64_t
grants_next_ms(const struct grants *gt)
{
	int64_t best = -1, t;
	unsigned i;

	for (i = 0; i < gt->cap; i++) {
		const struct grant *g = &gt->g[i];

		if (g->state == GS_LIVE)
			t = g->expires_ms;
		else if (g->state == GS_REVOKE)
			t = g->next_ms;
		else
			continue;
		if (best < 0 || t < best)
			best = t;
	}
	return best;
}

unsigned
grants_count(const struct grants *gt, enum grant_state st)
{
	unsigned i, n = 0;

	if (st == GS_FREE)
		return gt->used;
	for (i = 0; i < gt->cap; i++)
		n += gt->g[i].state == st;
	return n;
}

/* ---- the file ---------------------------------------------------------- */

int
grants_format(const struct grants *gt, FILE *f)
{
	char ip[SL_IPSTR_MAX];
	unsigned i;

	if (fputs(GRANTS_HEADER, f) == EOF)
		return SL_ESYS;
	for (i = 0; i < gt->cap; i++) {
		const struct grant *g = &gt->g[i];
		enum grant_state st = (enum grant_state)g->state;

		if (st == GS_FREE)
			continue;
		/* a running destructor is still owed after a crash */
		if (st == GS_REVOKING)
			st = GS_REVOKE;
		addr_to_str(&g->addr, ip, sizeof(ip));
		if (fprintf(f, "%s %s %u %s %u %s %s %" PRId64 " %" PRId64
		    " %" PRId64 " %" PRIu32 " %" PRIu32 "%s%s\n",
		    grant_state_name(st), g->server, (unsigned)g->user_id,
		    g->user, (unsigned)g->action_id, g->action, ip,
		    g->created_ms, g->expires_ms, g->next_ms, g->attempts,
		    g->extensions, g->gateway[0] != '\0' ? " gateway=" : "",
		    g->gateway) < 0)
			return SL_ESYS;
	}
	return 0;
}

int
grants_save(struct grants *gt)
{
	FILE *f;
	int fd, r;

	if (gt->dirfd < 0)
		return 0;
	fd = openat(gt->dirfd, GRANTS_TMP, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		goto fail;
	}
	r = grants_format(gt, f);
	if (r == 0 && fflush(f) != 0)
		r = SL_ESYS;
	if (r == 0 && fsync(fileno(f)) != 0)
		r = SL_ESYS;
	if (fclose(f) != 0)
		r = SL_ESYS;
	if (r != 0 || renameat(gt->dirfd, GRANTS_TMP, gt->dirfd,
	    GRANTS_FILE) != 0)
		goto fail;
	(void)fsync(gt->dirfd);
	if (gt->dirty)
		log_msg(LOG_NOTICE, SLC_GRANT_IO, "grant state written again");
	gt->dirty = false;
	return 0;
fail:
	gt->save_errno = errno != 0 ? errno : EIO;
	(void)unlinkat(gt->dirfd, GRANTS_TMP, 0);  /* give back the space */
	gt->st.save_failed++;
	if (!gt->dirty)
		log_msg(LOG_ERR, SLC_GRANT_IO, "grant state could not be "
		    "written: %s (trying again every second; until it works "
		    "no grant is made or extended)",
		    strerror(gt->save_errno));
	gt->dirty = true;
	return SL_ESYS;
}

void
grants_flush(struct grants *gt)
{
	if (gt->dirty)
		(void)grants_save(gt);
}

/* A line's fields, split at spaces into f (GRANTS_FIELDS, or one more for
 * a gateway); the field count, or -1 if the line has neither. */
static int
g_split(char *line, char *f[GRANTS_FIELDS_GW])
{
	char *p = line;
	unsigned n = 0;

	while (n < GRANTS_FIELDS_GW) {
		f[n++] = p;
		if ((p = strchr(p, ' ')) == NULL)
			break;
		*p++ = '\0';
	}
	if ((n != GRANTS_FIELDS && n != GRANTS_FIELDS_GW) || p != NULL)
		return -1;
	if (n == GRANTS_FIELDS_GW && (strncmp(f[12], "gateway=", 8) != 0 ||
	    !sl_valid_name(f[12] + 8)))
		return -1;
	return (int)n;
}

/* The fields into *g, every one checked; g->state as written.  0 or -1. */
static int
g_fields(char *const f[GRANTS_FIELDS_GW], int n, struct grant *g)
{
	struct sl_cidr c;
	long long v[7], uid, aid;
	unsigned i;
	int st = -1;

	for (i = GS_PENDING; i <= GS_REVOKING; i++)
		if (strcmp(f[0], gs_names[i]) == 0)
			st = (int)i;
	if (st < 0 || !sl_valid_name(f[1]) || !sl_valid_name(f[3]) ||
	    !sl_valid_name(f[5]) ||
	    sl_parse_num(f[2], 0, 65535, &uid) != 0 ||
	    sl_parse_num(f[4], 0, 255, &aid) != 0 ||
	    strchr(f[6], '/') != NULL || addr_parse_cidr(f[6], &c) != 0)
		return -1;
	for (i = 0; i < 5; i++)
		if (sl_parse_num(f[7 + i], 0, i < 3 ? INT64_MAX : UINT32_MAX,
		    &v[i]) != 0)
			return -1;
	memset(g, 0, sizeof(*g));
	g->state = (uint8_t)st;
	g->user_id = (uint16_t)uid;
	g->action_id = (uint8_t)aid;
	g->addr = c.addr;
	(void)sl_strlcpy(g->server, f[1], sizeof(g->server));
	(void)sl_strlcpy(g->user, f[3], sizeof(g->user));
	(void)sl_strlcpy(g->action, f[5], sizeof(g->action));
	if (n == GRANTS_FIELDS_GW)
		(void)sl_strlcpy(g->gateway, f[12] + 8, sizeof(g->gateway));
	g->created_ms = v[0];
	g->expires_ms = v[1];
	g->next_ms = v[2];
	g->attempts = (uint32_t)v[3];
	g->extensions = (uint32_t)v[4];
	return 0;
}

/* Put a parsed entry into the table (growing it if the file holds more
 * than max).  0, or -1 if it cannot grow. */
static int
g_put(struct grants *gt, const struct grant *tmp, int64_t now_ms)
{
	struct grant *g, *ng;
	unsigned i, ncap;

	/* the same key twice: keep one entry, revoke-worthy wins */
	if ((g = grants_find(gt, tmp->server, tmp->user_id, tmp->action_id,
	    &tmp->addr)) != NULL) {
		if (g->state == GS_LIVE && tmp->state == GS_LIVE &&
		    tmp->expires_ms > g->expires_ms)
			g->expires_ms = tmp->expires_ms;
		else if (tmp->state == GS_REVOKE) {
			g->state = GS_REVOKE;
			g->next_ms = now_ms;
		}
		return 0;
	}
	if (gt->used >= gt->cap) {
		ncap = gt->cap * 2;
		if ((ng = realloc(gt->g, ncap * sizeof(*ng))) == NULL)
			return -1;
		memset(ng + gt->cap, 0, (ncap - gt->cap) * sizeof(*ng));
		gt->g = ng;
		gt->cap = ncap;
	}
	for (i = 0; i < gt->cap; i++)
		if (gt->g[i].state == GS_FREE)
			break;
	gt->g[i] = *tmp;
	gt->used++;
	return 0;
}

/* One line, NUL-terminated, without its newline.  0 if it was taken.
 * as_stored: keep states and times as written (listing only). */
static int
g_parse_line(struct grants *gt, char *line, int64_t now_ms, bool as_stored)
{
	char *f[GRANTS_FIELDS_GW];
	struct grant tmp;
	int n;

	if ((n = g_split(line, f)) < 0 || g_fields(f, n, &tmp) != 0)
		return -1;
	if (as_stored || (tmp.state == GS_LIVE && tmp.expires_ms > now_ms)) {
		/* as written */
	} else {
		/* lapsed while down, constructor or destructor cut off:
		 * whatever it opened is closed now */
		if (tmp.state == GS_LIVE)
			gt->st.expired_at_start++;
		tmp.state = GS_REVOKE;
		tmp.next_ms = now_ms;
	}
	return g_put(gt, &tmp, now_ms);
}

static unsigned
g_parse_text(struct grants *gt, const char *text, size_t len, int64_t now_ms,
    const char *name, bool as_stored)
{
	char line[512];
	size_t i = 0, e, n;
	unsigned lineno = 0, bad = 0;

	while (i < len) {
		lineno++;
		for (e = i; e < len && text[e] != '\n'; e++)
			;
		n = e - i;
		if (n > 0 && text[i] != '#') {
			if (n >= sizeof(line) || memchr(text + i, '\0', n)) {
				bad++;
			} else {
				memcpy(line, text + i, n);
				line[n] = '\0';
				if (g_parse_line(gt, line, now_ms,
				    as_stored) != 0)
					bad++;
				else
					goto next;
			}
			log_msg(LOG_ERR, SLC_GRANT_IO, "%s:%u: grant line not "
			    "understood, ignored (kept in %s)", name, lineno,
			    GRANTS_BAD);
		}
next:
		i = e + 1;
	}
	gt->st.bad_lines += bad;
	return bad;
}

unsigned
grants_parse(struct grants *gt, const char *text, size_t len, int64_t now_ms,
    const char *name)
{
	return g_parse_text(gt, text, len, now_ms, name, false);
}

/* STATE_DIR/grants: ours, closed to others.  Returns the fd or -1. */
static int
g_open_dir(const char *state_dir, bool create, char *err, size_t errlen)
{
	struct stat sb;
	int sfd, dfd;

	sfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0) {
		sl_seterr(err, errlen, "state_dir %s: %s", state_dir,
		    strerror(errno));
		return -1;
	}
	if (create && mkdirat(sfd, GRANTS_DIR, 0700) != 0 && errno != EEXIST) {
		sl_seterr(err, errlen, "%s/%s: %s", state_dir, GRANTS_DIR,
		    strerror(errno));
		close(sfd);
		return -1;
	}
	dfd = openat(sfd, GRANTS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	close(sfd);
	if (dfd < 0) {
		sl_seterr(err, errlen, "%s/%s: %s", state_dir, GRANTS_DIR,
		    strerror(errno));
		return -1;
	}
	if (fstat(dfd, &sb) != 0 || sb.st_uid != geteuid() ||
	    (sb.st_mode & 077) != 0) {
		sl_seterr(err, errlen, "%s/%s: must be a directory owned by "
		    "uid %u that only its owner may use (chown %u %s/%s; "
		    "chmod 700 %s/%s)", state_dir, GRANTS_DIR,
		    (unsigned)geteuid(), (unsigned)geteuid(), state_dir,
		    GRANTS_DIR, state_dir, GRANTS_DIR);
		close(dfd);
		return -1;
	}
	return dfd;
}

int
grants_attach(struct grants *gt, const char *state_dir, int64_t now_ms,
    char *err, size_t errlen)
{
	char name[SL_PATH_MAX + 32], *text = NULL;
	size_t len = 0;
	unsigned bad;
	int fd, bfd, r;

	if ((gt->dirfd = g_open_dir(state_dir, true, err, errlen)) < 0)
		return SL_ESYS;
	fd = openat(gt->dirfd, GRANTS_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	snprintf(name, sizeof(name), "%s/%s/%s", state_dir, GRANTS_DIR,
	    GRANTS_FILE);
	if (fd < 0 || (r = sl_read_fd(fd, GRANTS_FILE_MAX, &text, &len,
	    NULL)) != 0) {
		sl_seterr(err, errlen, "%s: %s", name, fd < 0 ?
		    strerror(errno) : sl_read_why(r));
		if (fd >= 0)
			close(fd);
		return SL_ESYS;
	}
	close(fd);
	bad = grants_parse(gt, text, len, now_ms, name);
	if (bad > 0) {
		/* keep the whole file for the operator */
		bfd = openat(gt->dirfd, GRANTS_BAD, O_WRONLY | O_CREAT |
		    O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (bfd >= 0) {
			if (sl_write_all(bfd, text, len) != 0)
				log_msg(LOG_ERR, SLC_GRANT_IO, "%s/%s: %s",
				    state_dir, GRANTS_BAD, strerror(errno));
			close(bfd);
		}
	}
	free(text);
	return 0;
}

/* ---- listing ----------------------------------------------------------- */

static void
g_utc(int64_t ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		sl_strlcpy(out, "-", outlen);
}

/* The grants file under state_dir into gt, as stored (no state is changed
 * by looking); a missing file is an empty table. */
static int
g_list_load(struct grants *gt, const char *state_dir, int64_t now_ms,
    char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int dfd, fd, r;

	if ((dfd = g_open_dir(state_dir, false, err, errlen)) < 0)
		return SL_ENOENT;
	fd = openat(dfd, GRANTS_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		sl_seterr(err, errlen, "%s/%s/%s: %s", state_dir, GRANTS_DIR,
		    GRANTS_FILE, strerror(errno));
		return SL_ESYS;
	}
	r = sl_read_fd(fd, GRANTS_FILE_MAX, &text, &len, NULL);
	close(fd);
	if (r != 0) {
		sl_seterr(err, errlen, "%s/%s/%s: %s", state_dir,
		    GRANTS_DIR, GRANTS_FILE, sl_read_why(r));
		return r;
	}
	(void)g_parse_text(gt, text, len, now_ms, "grants", true);
	free(text);
	return 0;
}

/* One row of the listing. */
static void
g_list_row(FILE *out, const struct grant *g, int64_t now_ms)
{
	char ip[SL_IPSTR_MAX], when[32], left[32];
	int64_t due = g->state == GS_LIVE ? g->expires_ms : g->next_ms;

	addr_to_str(&g->addr, ip, sizeof(ip));
	g_utc(due, when, sizeof(when));
	if (g->state == GS_LIVE && due <= now_ms)
		sl_strlcpy(left, "lapsed", sizeof(left));
	else if (g->state == GS_LIVE || g->state == GS_REVOKE)
		snprintf(left, sizeof(left), "%llds", (long long)
		    grants_secs_left(due, now_ms));
	else
		sl_strlcpy(left, "-", sizeof(left));
	fprintf(out, "%-8s %-12s %-12s %-12s %-39s %-20s %8s %-12s %u\n",
	    grant_state_name((enum grant_state)g->state), g->server,
	    g->user, g->action, ip, when, left,
	    g->gateway[0] != '\0' ? g->gateway : "-", g->attempts);
}

int
grants_list(const char *state_dir, FILE *out, int64_t now_ms, char *err,
    size_t errlen)
{
	struct grants *gt;
	unsigned i, shown = 0;
	int r;

	if ((r = grants_new(&gt, 1, 1)) != 0)
		return r;
	if ((r = g_list_load(gt, state_dir, now_ms, err, errlen)) != 0) {
		grants_free(gt);
		return r;
	}
	fprintf(out, "%-8s %-12s %-12s %-12s %-39s %-20s %8s %-12s %s\n",
	    "STATE", "SERVER", "USER", "ACTION", "ADDRESS", "EXPIRES (UTC)",
	    "LEFT", "GATEWAY", "TRIES");
	for (i = 0; i < gt->cap; i++) {
		if (gt->g[i].state == GS_FREE)
			continue;
		g_list_row(out, &gt->g[i], now_ms);
		shown++;
	}
	fprintf(out, "%u grant(s)\n", shown);
	grants_free(gt);
	return 0;
}
