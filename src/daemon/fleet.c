/*
 * fleet.c - the runner's side of a fleet, and the fleet process itself
 * (fleet.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "addr.h"
#include "fleet.h"
#include "log.h"
#include "privsep.h"
#include "runner.h"
#include "util.h"

/* ---- helpers ------------------------------------------------------------ */

int
fleet_replay_key(const char *prefix, uint16_t user_id,
    const uint8_t key[SL_HMAC_LEN], char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	char h[2 * SL_HMAC_LEN + 1];
	unsigned i;
	int n;

	for (i = 0; i < SL_HMAC_LEN; i++) {
		h[2 * i] = hex[key[i] >> 4];
		h[2 * i + 1] = hex[key[i] & 15];
	}
	h[2 * SL_HMAC_LEN] = '\0';
	n = snprintf(out, outlen, "%sreplay:%u:%s", prefix, (unsigned)user_id,
	    h);
	return n < 0 || (size_t)n >= outlen ? SL_ETOOBIG : 0;
}

static int
fl_id_parse(const char *id, uint64_t *ms, uint64_t *seq)
{
	char *end;

	if (id[0] < '0' || id[0] > '9')
		return -1;
	errno = 0;
	*ms = strtoull(id, &end, 10);
	if (errno != 0 || *end != '-' || end[1] < '0' || end[1] > '9')
		return -1;
	*seq = strtoull(end + 1, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

bool
fleet_id_valid(const char *id)
{
	uint64_t a, b;

	return strlen(id) < FLEET_ID_MAX && fl_id_parse(id, &a, &b) == 0;
}

bool
fleet_id_after(const char *a, const char *b)
{
	uint64_t am, as, bm, bs;

	if (fl_id_parse(a, &am, &as) != 0 || fl_id_parse(b, &bm, &bs) != 0)
		return false;
	return am > bm || (am == bm && as > bs);
}

uint32_t
fleet_backoff_ms(unsigned n)
{
	uint32_t d = FLEET_BACKOFF_MIN;

	while (n-- > 1 && d < FLEET_BACKOFF_MAX)
		d *= 2;
	return d > FLEET_BACKOFF_MAX ? FLEET_BACKOFF_MAX : d;
}

static int
fl_send(int fd, const struct fleet_msg *m)
{
	ssize_t n;

	do
		n = send(fd, m, sizeof(*m), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*m) ? 0 : -1;
}

/* ---- the fleet process -------------------------------------------------- */

struct fp {
	const struct cfg_fleet *f;
	int fd;
	char stream[FLEET_PREFIX_MAX + 16];
	uint32_t timeout_ms;
	int64_t min_age_ms;         /* grant_max_lifetime + a minute */
	/* the command connection (main thread) */
	struct fstore *cmd;
	unsigned fails;
	uint64_t next_try;          /* monotonic ms */
	char lastid[FLEET_ID_MAX];  /* the stream thread's */
	/* grant news held while the store is down, oldest first */
	struct grant_event held[FLEET_HELD_MAX];
	unsigned nheld;
	uint64_t dropped;           /* held news pushed out by newer */
};

static void
fp_state(struct fp *p, uint8_t result, const char *text)
{
	struct fleet_msg m;

	memset(&m, 0, sizeof(m));
	m.magic = FLEET_MSG_MAGIC;
	m.type = FM_STATE;
	m.result = result;
	sl_strlcpy(m.text, text, sizeof(m.text));
	(void)fl_send(p->fd, &m);
}

static void fp_flush(struct fp *p);

/* The command connection, made again when its time has come. */
static struct fstore *
fp_cmd(struct fp *p)
{
	char err[256], ver[64];

	if (p->cmd != NULL)
		return p->cmd;
	if (sl_mono_ms() < p->next_try)
		return NULL;
	p->cmd = fstore_open(p->f, p->timeout_ms, err, sizeof(err));
	if (p->cmd != NULL && fstore_version(p->cmd, ver, sizeof(ver), err,
	    sizeof(err)) != 0) {
		fstore_close(p->cmd);
		p->cmd = NULL;
	}
	if (p->cmd == NULL) {
		/* say so once per outage, and again if the reason changes */
		if (p->fails++ == 0)
			fp_state(p, FR_DOWN, err);
		p->next_try = sl_mono_ms() + fleet_backoff_ms(p->fails);
		return NULL;
	}
	p->fails = 0;
	fp_state(p, FR_UP, ver);
	fp_flush(p);
	return p->cmd;
}

static void
fp_cmd_failed(struct fp *p, const char *err)
{
	fstore_close(p->cmd);
	p->cmd = NULL;
	p->fails = 1;
	p->next_try = sl_mono_ms() + fleet_backoff_ms(p->fails);
	fp_state(p, FR_DOWN, err);
}

/*
 * A command failed on a connection that was up: it may only have been
 * closed since it was last used (the store restarted).  Connect again at
 * once, without a word, and let the caller try once more; true if it may.
 */
static bool
fp_retry(struct fp *p, unsigned *tries)
{
	fstore_close(p->cmd);
	p->cmd = NULL;
	if ((*tries)++ > 0)
		return false;
	p->next_try = 0;
	return true;
}

static void
fp_claim(struct fp *p, struct fleet_msg *m)
{
	struct fstore *s;
	char key[FLEET_PREFIX_MAX + 2 * SL_HMAC_LEN + 32], err[256];
	unsigned tries = 0;
	int r = FR_DOWN;

	if (fleet_replay_key(p->f->prefix, m->user_id, m->key, key,
	    sizeof(key)) != 0)
		goto out;
	while ((s = fp_cmd(p)) != NULL) {
		r = fstore_claim(s, key, p->f->name, m->ttl_ms, m->who,
		    sizeof(m->who), err, sizeof(err));
		if (r >= 0)
			break;
		r = FR_DOWN;
		if (!fp_retry(p, &tries)) {
			fp_cmd_failed(p, err);
			break;
		}
	}
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(m->key, sizeof(m->key));
	m->type = FM_CLAIMED;
	m->result = (uint8_t)r;
	(void)fl_send(p->fd, m);
}

/* Keep news for when the store is back: the newest FLEET_HELD_MAX. */
static void
fp_hold(struct fp *p, const struct grant_event *ev)
{
	if (p->nheld == FLEET_HELD_MAX) {
		memmove(&p->held[0], &p->held[1],
		    (FLEET_HELD_MAX - 1) * sizeof(p->held[0]));
		p->nheld--;
		p->dropped++;
	}
	p->held[p->nheld++] = *ev;
}

/* Publish what was held, in order; what has lapsed meanwhile is news to
 * nobody (a revocation is kept: it closes a lease the others may hold). */
static void
fp_flush(struct fp *p)
{
	char err[256], note[FLEET_TEXT_MAX];
	unsigned i, sent = 0, stale = 0;
	int64_t now = sl_wall_ms();

	if (p->nheld == 0)
		return;
	for (i = 0; i < p->nheld; i++) {
		if (p->held[i].op != GOP_REVOKE &&
		    p->held[i].expires_ms <= now) {
			stale++;
			continue;
		}
		if (fstore_publish(p->cmd, p->stream, &p->held[i],
		    now - p->min_age_ms, err, sizeof(err)) != 0) {
			memmove(&p->held[0], &p->held[i],
			    (p->nheld - i) * sizeof(p->held[0]));
			p->nheld -= i;
			fp_cmd_failed(p, err);
			return;
		}
		sent++;
	}
	snprintf(note, sizeof(note), "grant news held while the store was "
	    "down: %u published, %u lapsed meanwhile, %llu pushed out",
	    sent, stale, (unsigned long long)p->dropped);
	p->nheld = 0;
	p->dropped = 0;
	fp_state(p, FR_NOTE, note);
}

static void
fp_publish(struct fp *p, const struct fleet_msg *m)
{
	struct fstore *s;
	char err[256];
	unsigned tries = 0;

	while ((s = fp_cmd(p)) != NULL) {
		if (fstore_publish(s, p->stream, &m->ev, sl_wall_ms() -
		    p->min_age_ms, err, sizeof(err)) == 0)
			return;
		if (!fp_retry(p, &tries)) {
			fp_cmd_failed(p, err);
			break;
		}
	}
	fp_hold(p, &m->ev);
}

static void
fp_entry(void *arg, const char *id, const struct grant_event *ev)
{
	struct fp *p = arg;
	struct fleet_msg m;

	memset(&m, 0, sizeof(m));
	m.magic = FLEET_MSG_MAGIC;
	m.type = FM_ENTRY;
	sl_strlcpy(m.id, id, sizeof(m.id));
	m.ev = *ev;
	(void)fl_send(p->fd, &m);
}

/* The stream thread: its own connection, blocked in XREAD. */
static void *
fp_stream(void *arg)
{
	struct fp *p = arg;
	struct fstore *s = NULL;
	struct timespec ts;
	unsigned fails = 0;
	char err[256];
	uint32_t d;

	for (;;) {
		if (s == NULL && (s = fstore_open(p->f, 3000, err,
		    sizeof(err))) == NULL) {
			d = fleet_backoff_ms(++fails);
			ts.tv_sec = d / 1000;
			ts.tv_nsec = (long)(d % 1000) * 1000000L;
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
			continue;
		}
		fails = 0;
		if (fstore_read(s, p->stream, p->lastid, sizeof(p->lastid),
		    1000, fp_entry, p, err, sizeof(err)) < 0) {
			fstore_close(s);
			s = NULL;
		}
	}
	return NULL;
}

/* The fleet process's start: its name, no descriptor of the runner's but
 * fd, p filled in, and the network process's user (or it exits). */
static void
fp_setup(struct fp *p, int fd, const struct config *cfg,
    const struct cfg_fleet *f, const char *lastid)
{
	struct privsep_ids ids;
	char err[256];

	(void)prctl(PR_SET_NAME, "siglatchd-fleet", 0, 0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* nothing of the runner's: its channel, signalfd, log file, pipes */
	if (fd > 3) {
		(void)close_range(3, (unsigned)fd - 1, 0);
	}
	(void)close_range((unsigned)fd + 1, ~0U, 0);
	memset(p, 0, sizeof(*p));
	p->f = f;           /* with the password */
	p->fd = fd;
	p->timeout_ms = cfg->fleet.timeout_ms;
	p->min_age_ms = (int64_t)cfg->grant_max_lifetime * 1000 + 60000;
	snprintf(p->stream, sizeof(p->stream), "%sgrants", cfg->fleet.prefix);
	sl_strlcpy(p->lastid, lastid, sizeof(p->lastid));
	/* the network process's unprivileged user: a store connection needs
	 * nothing else */
	if (getuid() == 0 && privsep_config_ids(cfg, &ids, NULL, err,
	    sizeof(err)) == 0 && ids.set &&
	    privsep_drop(ids.uid, ids.gid, err, sizeof(err)) != 0) {
		fp_state(p, FR_DOWN, err);
		_exit(1);
	}
}

/* A message from the runner, if one is there; exits once it is gone. */
static void
fp_recv(struct fp *p)
{
	struct fleet_msg m;
	ssize_t n;

	n = recv(p->fd, &m, sizeof(m), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0)
		_exit(0);   /* the runner is gone */
	if ((size_t)n != sizeof(m) || m.magic != FLEET_MSG_MAGIC)
		return;
	if (m.type == FM_CLAIM)
		fp_claim(p, &m);
	else if (m.type == FM_PUBLISH)
		fp_publish(p, &m);
}

static void __attribute__((noreturn))
fp_main(int fd, const struct config *cfg, const struct cfg_fleet *f,
    const char *lastid)
{
	struct pollfd pfd[2];
	pthread_t th;
	struct fp p;
	int t;

	fp_setup(&p, fd, cfg, f, lastid);
	if (pthread_create(&th, NULL, fp_stream, &p) != 0)
		_exit(1);
	(void)fp_cmd(&p);
	for (;;) {
		pfd[0].fd = fd;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		/* the command connection, idle: readable means closed */
		pfd[1].fd = p.cmd != NULL ? fstore_fd(p.cmd) : -1;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		t = -1;
		if (p.cmd == NULL) {
			uint64_t now = sl_mono_ms();

			t = p.next_try > now ? (int)(p.next_try - now) : 0;
		}
		if (poll(pfd, 2, t) < 0 && errno != EINTR)
			_exit(1);
		if (p.cmd != NULL && pfd[1].revents != 0)
			fp_cmd_failed(&p, "the store closed the connection");
		if (p.cmd == NULL)
			(void)fp_cmd(&p);
		if ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
			fp_recv(&p);
	}
}

/* ---- the runner's side -------------------------------------------------- */

struct fl_pending {
	bool used;
	uint32_t seq;
	uint64_t deadline;          /* monotonic ms */
	struct sl_request req;
};

/* Another gateway's news that could not be applied yet (its grant was
 * being made or revoked here, or no script slot was free): tried again. */
#define FLEET_RETRY_MAX  64
#define FLEET_RETRY_MS   500
#define FLEET_RETRY_TRIES 20
struct fl_retry {
	bool used;
	unsigned tries;
	uint64_t next;
	struct grant_event ev;
};

struct fleet {
	const struct config *cfg;
	struct runner *rn;
	int fd;
	pid_t pid;
	int dirfd;                  /* STATE_DIR/grants: fleet.last */
	uint32_t seq;
	unsigned npending;
	bool up;
	char last[FLEET_ID_MAX];
	struct fl_pending pend[FLEET_PENDING_MAX];
	struct fl_retry retry[FLEET_RETRY_MAX];
	unsigned nretry;
};

static void fl_save_last(struct fleet *fl);

/* Apply, or keep it for later if the grant is busy here. */
static void
fl_apply(struct fleet *fl, const struct grant_event *ev, struct fl_retry *r)
{
	unsigned i;

	if (runner_fleet_apply(fl->rn, ev) != SL_EBUSY) {
		if (r != NULL) {
			r->used = false;
			if (--fl->nretry == 0)
				fl_save_last(fl);
		}
		return;
	}
	if (r == NULL) {
		for (i = 0; i < FLEET_RETRY_MAX && r == NULL; i++)
			if (!fl->retry[i].used)
				r = &fl->retry[i];
		if (r == NULL) {
			log_limited(0, LOG_WARNING, SLC_GRANT_REFUSE, "fleet: "
			    "%s of %s for user %s by gateway %s dropped: too "
			    "many waiting", grant_op_name((enum grant_op)ev->op),
			    ev->action, ev->user, ev->gateway);
			return;
		}
		r->used = true;
		r->tries = 0;
		r->ev = *ev;
		fl->nretry++;
	}
	if (++r->tries > FLEET_RETRY_TRIES) {
		log_msg(LOG_WARNING, SLC_GRANT_REFUSE, "fleet: %s of %s for "
		    "user %s by gateway %s given up after %u tries",
		    grant_op_name((enum grant_op)ev->op), ev->action, ev->user,
		    ev->gateway, FLEET_RETRY_TRIES);
		r->used = false;
		if (--fl->nretry == 0)
			fl_save_last(fl);
		return;
	}
	r->next = sl_mono_ms() + FLEET_RETRY_MS;
}

static void
fl_load_last(struct fleet *fl)
{
	char buf[FLEET_ID_MAX + 2];
	ssize_t n;
	int fd;

	sl_strlcpy(fl->last, "0-0", sizeof(fl->last));
	if (fl->dirfd < 0 || (fd = openat(fl->dirfd, FLEET_LAST_FILE,
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (fleet_id_valid(buf))
		sl_strlcpy(fl->last, buf, sizeof(fl->last));
	else
		log_msg(LOG_WARNING, SLC_FLEET, "fleet: %s/%s not understood: "
		    "reading the grant stream from its beginning",
		    GRANTS_DIR, FLEET_LAST_FILE);
}

/* The last entry applied, for the next start (atomic replace). */
static void
fl_save_last(struct fleet *fl)
{
	char buf[FLEET_ID_MAX + 2];
	int fd, n;

	if (fl->dirfd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%s\n", fl->last);
	fd = openat(fl->dirfd, FLEET_LAST_FILE ".tmp", O_WRONLY | O_CREAT |
	    O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, (size_t)n) != n || fsync(fd) != 0 ||
	    renameat(fl->dirfd, FLEET_LAST_FILE ".tmp", fl->dirfd,
	    FLEET_LAST_FILE) != 0)
		log_limited(0, LOG_WARNING, SLC_GRANT_IO, "fleet: %s/%s not "
		    "written: %s", GRANTS_DIR, FLEET_LAST_FILE,
		    strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void
fl_publish(void *arg, const struct grant_event *ev)
{
	struct fleet *fl = arg;
	struct fleet_msg m;

	memset(&m, 0, sizeof(m));
	m.magic = FLEET_MSG_MAGIC;
	m.type = FM_PUBLISH;
	m.ev = *ev;
	if (fl_send(fl->fd, &m) != 0)
		log_limited(0, LOG_WARNING, SLC_FLEET_DOWN, "fleet: grant news "
		    "not passed to the fleet process: %s", strerror(errno));
}

int
fleet_start(struct fleet **out, const struct config *cfg,
    struct runner *rn, int grants_dirfd)
{
	static struct cfg_fleet f;  /* the fleet process's copy */
	char err[1024];
	struct fleet *fl;
	int sv[2];
	pid_t pid;

	*out = NULL;
	if (config_load_fleet_secret(cfg, &f, err, sizeof(err)) != 0) {
		log_msg(LOG_ERR, SLC_FLEET_DOWN, "fleet: %s", err);
		OPENSSL_cleanse(&f, sizeof(f));
		errno = EACCES;
		return SL_EPERM;
	}
	if ((fl = calloc(1, sizeof(*fl))) == NULL) {
		OPENSSL_cleanse(&f, sizeof(f));
		return SL_ESYS;
	}
	fl->cfg = cfg;
	fl->rn = rn;
	fl->dirfd = grants_dirfd;
	fl_load_last(fl);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		OPENSSL_cleanse(&f, sizeof(f));
		free(fl);
		return SL_ESYS;
	}
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		OPENSSL_cleanse(&f, sizeof(f));
		free(fl);
		return SL_ESYS;
	}
	if (pid == 0) {
		close(sv[0]);
		fp_main(sv[1], cfg, &f, fl->last);
	}
	OPENSSL_cleanse(&f, sizeof(f));  /* the runner keeps no password */
	close(sv[1]);
	fl->fd = sv[0];
	fl->pid = pid;
	(void)runner_keep_child(rn, pid);
	runner_set_fleet(rn, cfg->fleet.name, fl_publish, fl);
	log_msg(LOG_INFO, SLC_FLEET, "fleet: gateway %s, store %s, "
	    "on_store_down = %s, fleet process %ld, grant stream read after "
	    "%s", cfg->fleet.name, cfg->fleet.store, cfg->fleet.on_store_down,
	    (long)pid, fl->last);
	*out = fl;
	return 0;
}

int
fleet_fd(const struct fleet *fl)
{
	return fl != NULL ? fl->fd : -1;
}

static void
fl_who(const struct fleet *fl, const struct sl_request *req, char *user,
    size_t userlen, char *ip, size_t iplen)
{
	const struct cfg_user *u = config_user_by_id(fl->cfg, req->user_id);

	if (u != NULL)
		sl_strlcpy(user, u->name, userlen);
	else
		snprintf(user, userlen, "%u", (unsigned)req->user_id);
	addr_to_str(&req->src, ip, iplen);
}

/* The store's word on a held request (FR_DOWN also for no word in time). */
static void
fl_decide(struct fleet *fl, struct fl_pending *p, int result,
    const char *who)
{
	char user[SL_NAME_MAX], ip[SL_IPSTR_MAX];

	fl_who(fl, &p->req, user, sizeof(user), ip, sizeof(ip));
	if (result == FR_OURS) {
		(void)runner_submit(fl->rn, &p->req);
	} else if (result == FR_TAKEN) {
		log_limited(0, LOG_WARNING, SLC_FLEET_REPLAY, "fleet: user %s "
		    "from %s: replayed knock refused: gateway %s saw it first",
		    user, ip, who);
		runner_refuse(fl->rn, &p->req);
	} else if (fl->cfg->fleet.down_local) {
		log_limited(0, LOG_WARNING, SLC_FLEET_DOWN, "fleet: store "
		    "unreachable: knock of user %s from %s accepted on this "
		    "gateway's replay journal alone (on_store_down = local)",
		    user, ip);
		(void)runner_submit(fl->rn, &p->req);
	} else {
		log_limited(0, LOG_WARNING, SLC_FLEET_DOWN, "fleet: store "
		    "unreachable: knock of user %s from %s refused "
		    "(on_store_down = refuse)", user, ip);
		runner_refuse(fl->rn, &p->req);
	}
	OPENSSL_cleanse(&p->req, sizeof(p->req));
	p->used = false;
	fl->npending--;
}

int
fleet_submit(struct fleet *fl, struct runner *rn,
    const struct sl_request *req)
{
	struct fl_pending *p = NULL;
	struct fleet_msg m;
	unsigned i;

	if (fl == NULL || req->magic != SL_REQ_MAGIC)
		return runner_submit(rn, req);
	for (i = 0; i < FLEET_PENDING_MAX && p == NULL; i++)
		if (!fl->pend[i].used)
			p = &fl->pend[i];
	if (p == NULL) {
		log_limited(0, LOG_WARNING, SLC_BUSY, "fleet: %u knocks already "
		    "wait for the store: request refused", fl->npending);
		runner_refuse(rn, req);
		return SL_EBUSY;
	}
	p->used = true;
	p->seq = ++fl->seq;
	p->deadline = sl_mono_ms() + fl->cfg->fleet.timeout_ms;
	p->req = *req;
	fl->npending++;
	memset(&m, 0, sizeof(m));
	m.magic = FLEET_MSG_MAGIC;
	m.type = FM_CLAIM;
	m.seq = p->seq;
	m.user_id = req->user_id;
	/* live as long as the knock's timestamp can be accepted anywhere */
	m.ttl_ms = 2 * fl->cfg->timestamp_window * 1000;
	memcpy(m.key, req->replay_key, sizeof(m.key));
	if (fl_send(fl->fd, &m) != 0)
		fl_decide(fl, p, FR_DOWN, NULL);
	OPENSSL_cleanse(&m, sizeof(m));
	return 0;
}

static void
fl_entry(struct fleet *fl, const struct fleet_msg *m)
{
	struct grant_event ev = m->ev;

	if (!fleet_id_valid(m->id) || !fleet_id_after(m->id, fl->last))
		return;     /* seen before (a reconnect read it again) */
	ev.gateway[SL_NAME_MAX - 1] = ev.server[SL_NAME_MAX - 1] =
	    ev.user[SL_NAME_MAX - 1] = ev.action[SL_NAME_MAX - 1] = '\0';
	/* this gateway's own news was applied when it happened */
	if (strcmp(ev.gateway, fl->cfg->fleet.name) != 0)
		fl_apply(fl, &ev, NULL);
	sl_strlcpy(fl->last, m->id, sizeof(fl->last));
	/* on disk only once everything up to it is applied: news still
	 * waiting is read again after a crash (applying it twice is a no-op) */
	if (fl->nretry == 0)
		fl_save_last(fl);
}

int
fleet_read(struct fleet *fl)
{
	struct fleet_msg m;
	unsigned i;
	ssize_t n;

	for (;;) {
		n = recv(fl->fd, &m, sizeof(m), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
		if (n == 0)
			return -1;
		if ((size_t)n != sizeof(m) || m.magic != FLEET_MSG_MAGIC) {
			log_msg(LOG_ERR, SLC_SYSERR, "fleet: malformed message "
			    "(%zd bytes), ignored", n);
			continue;
		}
		m.who[sizeof(m.who) - 1] = '\0';
		m.text[sizeof(m.text) - 1] = '\0';
		m.id[sizeof(m.id) - 1] = '\0';
		switch (m.type) {
		case FM_CLAIMED:
			for (i = 0; i < FLEET_PENDING_MAX; i++)
				if (fl->pend[i].used && fl->pend[i].seq == m.seq)
					break;
			/* none: its time was up, and it was decided then */
			if (i < FLEET_PENDING_MAX)
				fl_decide(fl, &fl->pend[i], m.result, m.who);
			break;
		case FM_ENTRY:
			fl_entry(fl, &m);
			break;
		case FM_STATE:
			if (m.result == FR_NOTE) {
				log_msg(LOG_NOTICE, SLC_FLEET, "fleet: %s",
				    m.text);
			} else if (m.result == FR_UP) {
				fl->up = true;
				log_msg(LOG_NOTICE, SLC_FLEET, "fleet: store %s "
				    "reachable (%s)", fl->cfg->fleet.store,
				    m.text);
			} else {
				fl->up = false;
				log_msg(LOG_ERR, SLC_FLEET_DOWN, "fleet: store %s "
				    "unreachable: %s; trying again (backoff "
				    "%u ms to %u ms); knocks are %s meanwhile",
				    fl->cfg->fleet.store, m.text,
				    FLEET_BACKOFF_MIN, FLEET_BACKOFF_MAX,
				    fl->cfg->fleet.down_local ? "accepted on "
				    "the local journal alone" : "refused");
			}
			break;
		default:
			break;
		}
	}
}

void
fleet_service(struct fleet *fl)
{
	uint64_t now;
	unsigned i;

	if (fl == NULL)
		return;
	now = sl_mono_ms();
	for (i = 0; i < FLEET_PENDING_MAX && fl->npending > 0; i++)
		if (fl->pend[i].used && fl->pend[i].deadline <= now)
			fl_decide(fl, &fl->pend[i], FR_DOWN, NULL);
	for (i = 0; i < FLEET_RETRY_MAX && fl->nretry > 0; i++)
		if (fl->retry[i].used && fl->retry[i].next <= now)
			fl_apply(fl, &fl->retry[i].ev, &fl->retry[i]);
}

int
fleet_next_timeout_ms(const struct fleet *fl)
{
	uint64_t now, first = UINT64_MAX;
	unsigned i;

	if (fl == NULL || (fl->npending == 0 && fl->nretry == 0))
		return -1;
	for (i = 0; i < FLEET_PENDING_MAX; i++)
		if (fl->pend[i].used && fl->pend[i].deadline < first)
			first = fl->pend[i].deadline;
	for (i = 0; i < FLEET_RETRY_MAX; i++)
		if (fl->retry[i].used && fl->retry[i].next < first)
			first = fl->retry[i].next;
	now = sl_mono_ms();
	return first <= now ? 0 : (int)(first - now);
}

void
fleet_set_config(struct fleet *fl, const struct config *cfg)
{
	if (fl == NULL)
		return;
	fl->cfg = cfg;
	runner_set_fleet(fl->rn, cfg->fleet.name, fl_publish, fl);
}

void
fleet_stop(struct fleet *fl)
{
	unsigned i;
	pid_t r;

	if (fl == NULL)
		return;
	for (i = 0; i < FLEET_PENDING_MAX; i++)
		if (fl->pend[i].used)
			fl_decide(fl, &fl->pend[i], FR_DOWN, NULL);
	close(fl->fd);
	/* it exits when its channel closes (a store command in progress ends
	 * within its timeout); killed after 3 s, while it is still an
	 * unreaped child, so the pid cannot be another process's */
	for (i = 0; i < 300; i++) {
		r = waitpid(fl->pid, NULL, WNOHANG);
		if (r == fl->pid || (r < 0 && errno == ECHILD))
			break;
		(void)usleep(10000);
	}
	if (i == 300) {
		(void)kill(fl->pid, SIGKILL);
		(void)waitpid(fl->pid, NULL, 0);
	}
	free(fl);
}
