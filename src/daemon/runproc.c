/*
 * runproc.c - the two processes of siglatchd and the channel between them.
 *
 * OpenBSD ntpd's shape: the privileged parent opens what needs root (log
 * files, state, grants), runs the actions and reopens the logs on SIGHUP;
 * the network child is chrooted, unprivileged and confined, and asks the
 * parent for nothing but the actions it authorized.  Every message is one
 * SOCK_SEQPACKET datagram of an exact size (request.h); each side checks
 * it against its table, and anything else ends both processes.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "fleet.h"
#include "grants.h"
#include "log.h"
#include "privsep.h"
#include "reload.h"
#include "sdnotify.h"
#include "runner.h"
#include "runproc.h"
#include "util.h"

#define RP_POLL_MAX  (2 + SL_MAX_SCRIPTS)
#define RP_WAIT_MS   5000   /* for the network process to exit, at stop */
#define RP_MSG_MAX   sizeof(struct sl_request)  /* the largest message */

struct runproc {
	int fd;
	pid_t peer;             /* the privileged process */
};

/* One entry of a side's message table: what may arrive, of what exact
 * size, and who handles it. */
struct rp_msgtype {
	uint32_t type;
	size_t len;
	int fds;                /* descriptors it may carry, at most */
	const char *name;
};

static const struct rp_msgtype rp_to_parent[] = {
	{ SL_REQ_MAGIC, sizeof(struct sl_request), 0, "request" },
	{ SL_MSG_RELOADED, sizeof(struct sl_status), 0, "reloaded" },
};
static const struct rp_msgtype rp_to_child[] = {
	{ SL_RES_MAGIC, sizeof(struct sl_result), 0, "outcome" },
	{ SL_MSG_LOGFDS, sizeof(struct sl_logfds), SL_LOGFDS_MAX, "log files" },
	{ SL_MSG_STATS, sizeof(struct sl_ask), 0, "counters" },
	{ SL_MSG_RELOAD, sizeof(struct sl_ask), 1, "reload" },
};

/* The descriptors that came with a message: the first max into fds, the
 * others closed; returns how many came. */
static int
rp_take_fds(struct msghdr *mh, int *fds, int max)
{
	struct cmsghdr *c;
	size_t i, k;
	int got = 0;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			int d;

			memcpy(&d, CMSG_DATA(c) + i * sizeof(int), sizeof(d));
			if (got < max)
				fds[got] = d;
			else
				close(d);
			got++;  /* counted even when there was no room */
		}
	}
	return got;
}

/*
 * Receive one message into buf (RP_MSG_MAX bytes) and check it against
 * the table.  Returns its length (> 0), 0 when nothing waits, -1 when the
 * other side is gone (EOF, or an error), -2 when it broke the protocol
 * (what is wrong is written to why).  Descriptors that come along are
 * stored in fds (at most *nfds; *nfds is set to the count); with any
 * message but SL_MSG_LOGFDS they are closed and the message is refused.
 */
static ssize_t
rp_recv(int fd, const struct rp_msgtype *tab, size_t ntab, void *buf,
    int *fds, int *nfds, char *why, size_t whylen)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * SL_LOGFDS_MAX)];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = RP_MSG_MAX };
	struct msghdr mh;
	uint32_t type;
	ssize_t n;
	size_t i;
	int got, max = *nfds;

	*nfds = 0;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	do
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	if (n == 0)
		return -1;
	got = rp_take_fds(&mh, fds, max);
	*nfds = got < max ? got : max;
	if ((size_t)n < sizeof(type)) {
		snprintf(why, whylen, "a message of %zd bytes", n);
		goto bad;
	}
	memcpy(&type, buf, sizeof(type));
	for (i = 0; i < ntab; i++)
		if (tab[i].type == type)
			break;
	if (i == ntab) {
		snprintf(why, whylen, "a message of unknown type 0x%08x (%zd "
		    "bytes)", (unsigned)type, n);
		goto bad;
	}
	if ((size_t)n != tab[i].len || (mh.msg_flags & MSG_TRUNC)) {
		snprintf(why, whylen, "a message of %zd bytes for type '%s' "
		    "(which has %zu)", n, tab[i].name, tab[i].len);
		goto bad;
	}
	if ((mh.msg_flags & MSG_CTRUNC) || got > max || got > tab[i].fds) {
		snprintf(why, whylen, "descriptors with a message of type "
		    "'%s'", tab[i].name);
		goto bad;
	}
	return n;
bad:
	while (*nfds > 0)
		close(fds[--*nfds]);
	return -2;
}

/* ---------------------------------------------------------------- */
/* The privileged process                                            */

struct rp_parent {
	int fd;                 /* the channel; -1 once closed */
	int sfd;                /* signalfd */
	pid_t child;            /* the network process */
	struct runner *rn;
	struct fleet *fl;       /* fleet.h: NULL without [fleet] */
	struct grants *gt;
	struct config *cfg;     /* in use (calloc'd: a reload frees it) */
	struct config *pending; /* sent to the network process, not yet
	                           taken by it */
	bool stopping;          /* told to stop (TERM, INT) */
	bool lost;              /* the network process went first */
	bool broken;            /* ... or broke the protocol */
};

static void
rp_log_stats(const struct runner *rn, const struct grants *gt)
{
	const struct runner_stats *st = runner_get_stats(rn);
	const struct grants_stats *gs;

	log_msg(LOG_INFO, SLC_STATS, "runner: scripts_started=%llu "
	    "scripts_ok=%llu scripts_failed=%llu scripts_killed=%llu busy=%llu "
	    "refused=%llu spawn_failed=%llu running=%u leftovers=%llu "
	    "leftovers_killed=%llu",
	    (unsigned long long)st->started, (unsigned long long)st->exit_ok,
	    (unsigned long long)st->exit_fail, (unsigned long long)st->killed,
	    (unsigned long long)st->refused_busy,
	    (unsigned long long)st->refused_check,
	    (unsigned long long)st->spawn_fail, runner_running(rn),
	    (unsigned long long)st->leftovers,
	    (unsigned long long)st->leftovers_killed);
	if (gt == NULL)
		return;
	gs = grants_get_stats(gt);
	log_msg(LOG_INFO, SLC_STATS, "grants: live=%u pending=%u revoking=%u "
	    "granted=%llu extended=%llu capped=%llu lapsed=%llu revoked=%llu "
	    "revoke_failed=%llu refused_full=%llu expired_at_start=%llu "
	    "save_failed=%llu", grants_count(gt, GS_LIVE),
	    grants_count(gt, GS_PENDING), grants_count(gt, GS_REVOKE) +
	    grants_count(gt, GS_REVOKING),
	    (unsigned long long)gs->granted,
	    (unsigned long long)gs->extended,
	    (unsigned long long)gs->capped,
	    (unsigned long long)gs->lapsed,
	    (unsigned long long)gs->revoked,
	    (unsigned long long)gs->revoke_failed,
	    (unsigned long long)gs->refused_full,
	    (unsigned long long)gs->expired_at_start,
	    (unsigned long long)gs->save_failed);
}

/* Send one message (and descriptors) to the other side, never waiting:
 * 0, or -1 (full: the news is dropped; or the other side is gone). */
static int
rp_send(int fd, const void *msg, size_t len, const int *fds, int nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * SL_LOGFDS_MAX)];
	} ctl;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)msg, .iov_len = len };
	struct msghdr mh;
	struct cmsghdr *c;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	/* the network process may send(), but sendmsg() only with receipts
	 * on (privsep.h); it never sends descriptors */
	do
		n = nfds > 0 ? sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) :
		    send(fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
}

/* Runner side of a receipt: one message back; if the network process is
 * not reading (full buffer), the news is dropped, never waited for. */
static void
rp_report(void *arg, const struct sl_result *res)
{
	const struct rp_parent *p = arg;

	if (p->fd >= 0 && rp_send(p->fd, res, sizeof(*res), NULL, 0) != 0)
		log_limited(0, LOG_WARNING, SLC_SYSERR, "runner: outcome of "
		    "request %u not passed on (%s)", (unsigned)res->ticket,
		    strerror(errno));
}

/* SIGHUP: reopen the log files here, then hand them to the network
 * process, which could not open them itself. */
static void
rp_rotate(struct rp_parent *p)
{
	struct sl_logfds m;
	int fds[SL_LOGFDS_MAX], sinks[SL_LOGFDS_MAX];
	int n, i, bad, fsink = 0, ferr = 0;

	if ((n = log_files(fds, sinks, SL_LOGFDS_MAX)) == 0) {
		log_msg(LOG_DEBUG, SLC_START, "no log file to reopen");
		return;
	}
	if ((bad = log_reopen(&fsink, &ferr)) > 0)
		log_msg(LOG_ERR, SLC_SYSERR, "cannot reopen %s (%s)%s; "
		    "still writing to the old file", log_path(fsink),
		    strerror(ferr), bad > 1 ? " and others" : "");
	memset(&m, 0, sizeof(m));
	m.magic = SL_MSG_LOGFDS;
	m.n = (uint32_t)n;
	for (i = 0; i < n; i++)
		m.sink[i] = sinks[i];
	if (p->fd >= 0 && rp_send(p->fd, &m, sizeof(m), fds, n) != 0)
		log_msg(LOG_ERR, SLC_SYSERR, "the log files could not "
		    "be passed to the network process (%s); it keeps writing "
		    "to the old ones", strerror(errno));
	else if (bad == 0)
		log_msg(LOG_NOTICE, SLC_START, "%d log file(s) reopened", n);
}

static void
rp_free_config(struct config *cfg)
{
	if (cfg == NULL)
		return;
	config_wipe_keys(cfg);
	free(cfg);
}

/*
 * SIGHUP: the configuration again, read and checked as at start.  A good
 * one that needs no restart goes to the network process; rp_reloaded
 * finishes when it answers.  Anything else is logged and changes nothing.
 */
static void
rp_reload(struct rp_parent *p)
{
	struct privsep_ids ids;
	struct config *nc;
	struct sl_ask m;
	char err[1024], what[128], *text = NULL;
	int fd = -1;

	if (p->pending != NULL) {
		log_msg(LOG_WARNING, SLC_CONFIG_WARN, "SIGHUP: the last reload "
		    "is not finished yet; try again");
		return;
	}
	if ((nc = calloc(1, sizeof(*nc))) == NULL) {
		log_msg(LOG_ERR, SLC_SYSERR, "SIGHUP: out of memory");
		return;
	}
	err[0] = '\0';
	if (reload_read(nc, p->cfg->path, &text, err, sizeof(err)) != 0 ||
	    config_check_files(nc, err, sizeof(err)) != 0 ||
	    privsep_config_ids(nc, &ids, NULL, err, sizeof(err)) != 0 ||
	    config_load_keys(nc, err, sizeof(err)) != 0) {
		log_msg(LOG_ERR, SLC_CONFIG_WARN, "SIGHUP: %s; the running "
		    "configuration stays", err);
		goto out;
	}
	if (reload_needs_restart(p->cfg, nc, what, sizeof(what))) {
		log_msg(LOG_WARNING, SLC_CONFIG_WARN, "SIGHUP: %s changed in %s, "
		    "which takes a restart; the running configuration stays",
		    what, p->cfg->path);
		goto out;
	}
	if (reload_pack(nc, text, &fd, err, sizeof(err)) != 0) {
		log_msg(LOG_ERR, SLC_SYSERR, "SIGHUP: %s; the running "
		    "configuration stays", err);
		goto out;
	}
	config_wipe_keys(nc);  /* this process holds no key */
	memset(&m, 0, sizeof(m));
	m.magic = SL_MSG_RELOAD;
	if (rp_send(p->fd, &m, sizeof(m), &fd, 1) != 0) {
		log_msg(LOG_ERR, SLC_SYSERR, "SIGHUP: the new configuration "
		    "could not be passed on (%s); the running one stays",
		    strerror(errno));
		goto out;
	}
	p->pending = nc;
	nc = NULL;
out:
	if (fd >= 0)
		close(fd);
	if (text != NULL) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	rp_free_config(nc);
}

/* The network process's answer to a reload. */
static void
rp_reloaded(struct rp_parent *p, const struct sl_status *st)
{
	struct config *nc = p->pending;

	p->pending = NULL;
	(void)sd_notify_ready();  /* done, whichever way it went */
	if (nc == NULL) {
		log_msg(LOG_WARNING, SLC_SYSERR, "the network process answered a "
		    "reload that was not asked for");
		return;
	}
	if (st->status != 0) {
		errno = 0;  /* its errno is not ours: SL_ESYS says "system error" */
		log_msg(LOG_ERR, SLC_CONFIG_WARN, "SIGHUP: the network process "
		    "could not take the new configuration (%s); the running "
		    "one stays", sl_strerror(st->status));
		rp_free_config(nc);
		return;
	}
	if (runner_reconfigure(p->rn, nc) != 0) {
		/* the network process authorizes by the new one, this one
		 * checks by the old: only what both allow runs */
		log_msg(LOG_ERR, SLC_CONFIG_WARN, "SIGHUP: the main process "
		    "keeps its configuration; restart siglatchd");
		rp_free_config(nc);
		return;
	}
	fleet_set_config(p->fl, nc);
	rp_free_config(p->cfg);
	p->cfg = nc;
	log_msg(LOG_NOTICE, SLC_START, "SIGHUP: configuration reloaded from "
	    "%s: %u server(s), %u user(s), %u action(s)", nc->path,
	    nc->nservers, nc->nusers, nc->nactions);
}

static void
rp_signals(struct rp_parent *p, int sfd)
{
	struct signalfd_siginfo si;
	struct sl_ask ask;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			if (!p->stopping) {
				log_msg(LOG_NOTICE, SLC_STOP, "signal %u: shutting "
				    "down", si.ssi_signo);
				(void)sd_notify_stopping();
			}
			p->stopping = true;
			/* the network process stops first, then closes the
			 * channel: that ends this loop */
			(void)kill(p->child, SIGTERM);
			break;
		case SIGHUP:
			rp_rotate(p);
			(void)sd_notify_reloading();
			rp_reload(p);
			if (p->pending == NULL)  /* refused: nothing to wait for */
				(void)sd_notify_ready();
			break;
		case SIGUSR2:
			rp_rotate(p);
			break;
		case SIGUSR1:
			rp_log_stats(p->rn, p->gt);
			memset(&ask, 0, sizeof(ask));
			ask.magic = SL_MSG_STATS;
			if (p->fd >= 0)
				(void)rp_send(p->fd, &ask, sizeof(ask), NULL, 0);
			break;
		default:
			break;
		}
	}
}

/* Serve every waiting message; false when the channel is done with
 * (closed, or the network process broke the protocol: p->lost). */
static bool
rp_serve_channel(struct rp_parent *p)
{
	union {
		struct sl_request req;
		struct sl_status st;
		uint8_t b[RP_MSG_MAX];
	} u;
	char why[128];
	int fds[1], nfds;
	ssize_t n;

	for (;;) {
		nfds = 0;
		n = rp_recv(p->fd, rp_to_parent, sizeof(rp_to_parent) /
		    sizeof(rp_to_parent[0]), u.b, fds, &nfds, why, sizeof(why));
		if (n == 0)
			return true;
		if (n == -2) {
			log_msg(LOG_ERR, SLC_SYSERR, "the network process sent "
			    "%s: stopping both", why);
			p->lost = p->broken = true;
			return false;
		}
		if (n < 0) {
			if (!p->stopping)
				p->lost = true;
			return false;
		}
		if (u.req.magic == SL_MSG_RELOADED)
			rp_reloaded(p, (const struct sl_status *)(void *)u.b);
		else  /* the fleet's replay check first, if any; re-checks */
			(void)fleet_submit(p->fl, p->rn, &u.req);
	}
}

/* The network process must exit once the channel is closed: wait a
 * while, then make sure.  Returns its wait status. */
static int
rp_reap_child(struct rp_parent *p)
{
	int64_t until = (int64_t)sl_mono_ms() + RP_WAIT_MS;
	int st = 0;

	while (!runner_kept_exited(p->rn, 0, &st)) {
		if ((int64_t)sl_mono_ms() >= until) {
			log_msg(LOG_WARNING, SLC_STOP, "network process %ld did "
			    "not exit: SIGKILL", (long)p->child);
			(void)kill(p->child, SIGKILL);
			until = INT64_MAX;
		}
		(void)poll(NULL, 0, 20);
	}
	return st;
}

/* The main process's start: its signals, the runner, the grants, the
 * fleet process.  Any failure stops the network process too. */
static void
rp_setup(struct rp_parent *p)
{
	struct grants *gt = p->gt;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if ((p->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_msg(LOG_ERR, SLC_SYSERR, "signalfd: %s", strerror(errno));
		goto fail;
	}
	if (runner_new(&p->rn, p->cfg) != 0 ||  /* it says why */
	    runner_keep_child(p->rn, p->child) != 0)
		goto fail;
	runner_set_reporter(p->rn, rp_report, p);
	/* the sockets were bound before the fork: datagrams queue for the
	 * network process from now on */
	(void)sd_notify_ready();
	if (gt != NULL) {
		runner_set_grants(p->rn, gt);
		log_msg(LOG_INFO, SLC_GRANT_STATE, "grants: %u live, %u to "
		    "revoke now (%llu lapsed while stopped)%s",
		    grants_count(gt, GS_LIVE), grants_count(gt, GS_REVOKE),
		    (unsigned long long)grants_get_stats(gt)->expired_at_start,
		    grants_get_stats(gt)->bad_lines > 0 ? "; some lines were not understood "
		    "(see grants.bad)" : "");
		(void)grants_save(gt);  /* as loaded: what is owed is kept */
	}
	if (p->cfg->fleet.on && fleet_start(&p->fl, p->cfg, p->rn, gt != NULL ?
	    grants_dirfd(gt) : -1) != 0) {
		log_msg(LOG_ERR, SLC_SYSERR, "fleet process: %s",
		    strerror(errno));
		goto fail;
	}
	return;
fail:
	(void)kill(p->child, SIGTERM);
	_exit(1);
}

/* Serve until the channel is done with: closed after a stop, or the
 * network process (or the fleet process) gone or misbehaving. */
static void
rp_loop(struct rp_parent *p)
{
	struct pollfd pfd[RP_POLL_MAX];
	int n, np, t, st;

	while (p->fd >= 0) {
		pfd[0].fd = p->fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = p->sfd;
		pfd[1].events = POLLIN;
		np = 2 + runner_pollfds(p->rn, pfd + 2, RP_POLL_MAX - 3);
		pfd[np].fd = fleet_fd(p->fl);  /* -1 without a fleet */
		pfd[np++].events = POLLIN;
		t = runner_next_timeout_ms(p->rn);
		if (t < 0 || t > SL_TICK_MS)
			t = SL_TICK_MS;
		if (fleet_next_timeout_ms(p->fl) >= 0 &&
		    fleet_next_timeout_ms(p->fl) < t)
			t = fleet_next_timeout_ms(p->fl);
		if ((n = poll(pfd, (nfds_t)np, t)) < 0 && errno != EINTR) {
			log_msg(LOG_ERR, SLC_SYSERR, "poll: %s", strerror(errno));
			p->lost = true;
			return;
		}
		if (n > 0 && (pfd[1].revents & POLLIN))
			rp_signals(p, p->sfd);
		/* requests already queued are served even when stopping */
		if (n > 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !rp_serve_channel(p))
			return;
		if (n > 0 && p->fl != NULL && pfd[np - 1].revents != 0 &&
		    fleet_read(p->fl) != 0) {
			log_msg(LOG_ERR, SLC_SYSERR, "the fleet process is gone: "
			    "stopping");
			p->lost = p->broken = true;
			return;
		}
		fleet_service(p->fl);
		runner_service(p->rn);
		if (runner_kept_exited(p->rn, 0, &st)) {
			p->lost |= !p->stopping;
			return;
		}
	}
}

/* The network process went first: say how, and make sure it is gone. */
static void
rp_lost(struct rp_parent *p)
{
	int t, st = 0;

	if (!p->broken) {
		/* a hang-up comes a moment before the exit: give it that */
		for (t = 0; t < 50 && !runner_kept_exited(p->rn, 0, &st); t++)
			(void)poll(NULL, 0, 20);
		if (runner_kept_exited(p->rn, 0, &st))
			log_msg(LOG_ERR, SLC_SYSERR, "network process %ld is gone "
			    "(%s %d): stopping", (long)p->child, WIFSIGNALED(st) ?
			    "signal" : "status", WIFSIGNALED(st) ? WTERMSIG(st) :
			    WEXITSTATUS(st));
		else
			log_msg(LOG_ERR, SLC_SYSERR, "network process %ld hung up "
			    "or broke the protocol: stopping", (long)p->child);
	}
	(void)kill(p->child, SIGKILL);
}

/*
 * The main process: rp_setup, rp_loop, then the stop: scripts finish,
 * grants are kept or revoked, the network process is reaped, and the
 * exit status is 0 only for a stop that was asked for and that the
 * network process finished cleanly too.
 */
static void __attribute__((noreturn))
rp_parent(int fd, pid_t child, struct config *cfg, struct grants *gt)
{
	struct rp_parent p;
	int st, status;

	memset(&p, 0, sizeof(p));
	p.fd = fd;
	p.child = child;
	p.gt = gt;
	p.cfg = cfg;
	rp_setup(&p);
	rp_loop(&p);
	if (p.lost)
		rp_lost(&p);
	close(p.fd);
	p.fd = -1;
	fleet_stop(p.fl);
	p.fl = NULL;
	runner_drain(p.rn);
	cfg = p.cfg;  /* the last one reloaded */
	if (gt != NULL && cfg->revoke_on_exit)
		runner_revoke_all(p.rn);
	else if (gt != NULL && grants_count(gt, GS_LIVE) > 0)
		log_msg(LOG_NOTICE, SLC_GRANT, "%u grant(s) kept for the next "
		    "start (revoke_on_exit = no)", grants_count(gt, GS_LIVE));
	rp_log_stats(p.rn, gt);
	st = rp_reap_child(&p);
	runner_free(p.rn);
	if (gt != NULL) {
		(void)grants_save(gt);
		grants_free(gt);
	}
	status = (!p.lost && WIFEXITED(st) && WEXITSTATUS(st) == 0) ? 0 : 1;
	if (cfg->pid_file[0] != '\0')
		(void)unlink(cfg->pid_file);
	rp_free_config(p.pending);
	if (status == 0)
		log_msg(LOG_NOTICE, SLC_STOP, "stopped");
	log_close();
	_exit(status);
}

int
runproc_start(struct runproc **out, struct config *cfg,
    struct grants *gt, void (*drop)(void *), void *arg)
{
	struct runproc *rp;
	int sv[2];
	pid_t pid;

	*out = NULL;
	if ((rp = calloc(1, sizeof(*rp))) == NULL)
		return SL_ESYS;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		free(rp);
		return SL_ESYS;
	}
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		free(rp);
		return SL_ESYS;
	}
	if (pid != 0) {
		free(rp);
		close(sv[1]);
		drop(arg);
		rp_parent(sv[0], pid, cfg, gt);
	}
	/* the network process, for ps and top */
	(void)prctl(PR_SET_NAME, "siglatchd-net", 0, 0, 0);
	close(sv[0]);
	rp->fd = sv[1];
	rp->peer = getppid();
	*out = rp;
	return 0;
}

struct runproc *
runproc_adopt(int fd, pid_t peer)
{
	struct runproc *rp;

	if ((rp = calloc(1, sizeof(*rp))) == NULL)
		return NULL;
	rp->fd = fd;
	rp->peer = peer;
	return rp;
}

int
runproc_send(struct runproc *rp, const struct sl_request *req)
{
	ssize_t n;

	do
		n = send(rp->fd, req, sizeof(*req), MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(*req))
		return 0;
	return (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ?
	    SL_EBUSY : SL_ESYS;
}

/* SL_MSG_RELOAD, in the network process: the new configuration's
 * descriptor to the callback, its answer back; 0, -1 (the channel broke)
 * or SL_EPROTO. */
static int
rp_child_reload(struct runproc *rp, const struct runproc_cbs *cb,
    const int *fds, int nfds)
{
	struct sl_status st;

	if (nfds != 1) {
		log_msg(LOG_ERR, SLC_SYSERR, "the privileged process sent a "
		    "reload without its configuration: stopping");
		return SL_EPROTO;
	}
	memset(&st, 0, sizeof(st));
	st.magic = SL_MSG_RELOADED;
	st.status = cb->reload != NULL ? cb->reload(cb->arg, fds[0]) :
	    SL_EINVAL;
	close(fds[0]);
	if (rp_send(rp->fd, &st, sizeof(st), NULL, 0) != 0)
		return -1;
	return 0;
}

/* SL_MSG_LOGFDS, in the network process: as many descriptors as it
 * says, each for a sink this process has; 0 or SL_EPROTO. */
static int
rp_child_logfds(const struct sl_logfds *lf, const int *fds, int nfds)
{
	int i;

	if (lf->n != (uint32_t)nfds) {
		log_msg(LOG_ERR, SLC_SYSERR, "the privileged process sent %u "
		    "log sinks with %d descriptors: stopping", (unsigned)lf->n,
		    nfds);
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		return SL_EPROTO;
	}
	for (i = 0; i < nfds; i++)
		if (log_adopt(lf->sink[i], fds[i]) != 0)
			log_msg(LOG_ERR, SLC_SYSERR, "log sink %d: cannot take "
			    "the reopened file", (int)lf->sink[i]);
	log_msg(LOG_INFO, SLC_START, "network process: %d log file(s) taken "
	    "over", nfds);
	return 0;
}

int
runproc_read(struct runproc *rp, const struct runproc_cbs *cb)
{
	union {
		struct sl_result res;
		struct sl_logfds lf;
		uint8_t b[RP_MSG_MAX];
	} u;
	char why[128];
	int fds[SL_LOGFDS_MAX], nfds, rc = 0;
	uint32_t type;
	ssize_t n;

	while (rc == 0) {
		nfds = SL_LOGFDS_MAX;
		n = rp_recv(rp->fd, rp_to_child, sizeof(rp_to_child) /
		    sizeof(rp_to_child[0]), u.b, fds, &nfds, why, sizeof(why));
		if (n == 0)
			return 0;
		if (n == -2) {
			log_msg(LOG_ERR, SLC_SYSERR, "the privileged process sent "
			    "%s: stopping", why);
			return SL_EPROTO;
		}
		if (n < 0)
			return -1;  /* the privileged process is gone */
		memcpy(&type, u.b, sizeof(type));
		if (type == SL_RES_MAGIC)
			cb->result(cb->arg, &u.res);
		else if (type == SL_MSG_STATS)
			cb->stats(cb->arg);
		else if (type == SL_MSG_RELOAD)
			rc = rp_child_reload(rp, cb, fds, nfds);
		else    /* SL_MSG_LOGFDS: rp_recv let no other type through */
			rc = rp_child_logfds(&u.lf, fds, nfds);
	}
	return rc;
}

int
runproc_fd(const struct runproc *rp)
{
	return rp->fd;
}

pid_t
runproc_pid(const struct runproc *rp)
{
	return rp->peer;
}

void
runproc_stop(struct runproc *rp)
{
	if (rp == NULL)
		return;
	if (rp->fd >= 0)
		close(rp->fd);
	free(rp);
}
