/*
 * runproc.c - the runner process: fixed-size requests in, scripts run.
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
#include <unistd.h>

#include "fleet.h"
#include "grants.h"
#include "log.h"
#include "runner.h"
#include "runproc.h"

#define RP_POLL_MAX (2 + 1024)

struct runproc {
	int fd;
	pid_t pid;
	int reaped;
};

static void
rp_log_stats(const struct runner *rn, const struct grants *gt)
{
	const struct runner_stats *st = runner_get_stats(rn);

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
	log_msg(LOG_INFO, SLC_STATS, "grants: live=%u pending=%u revoking=%u "
	    "granted=%llu extended=%llu capped=%llu lapsed=%llu revoked=%llu "
	    "revoke_failed=%llu refused_full=%llu expired_at_start=%llu "
	    "save_failed=%llu", grants_count(gt, GS_LIVE),
	    grants_count(gt, GS_PENDING), grants_count(gt, GS_REVOKE) +
	    grants_count(gt, GS_REVOKING),
	    (unsigned long long)gt->st.granted,
	    (unsigned long long)gt->st.extended,
	    (unsigned long long)gt->st.capped,
	    (unsigned long long)gt->st.lapsed,
	    (unsigned long long)gt->st.revoked,
	    (unsigned long long)gt->st.revoke_failed,
	    (unsigned long long)gt->st.refused_full,
	    (unsigned long long)gt->st.expired_at_start,
	    (unsigned long long)gt->st.save_failed);
}

/* Read every waiting request: each must be exactly one struct. */
static int
rp_read_requests(int fd, struct runner *rn, struct grants *gt,
    struct fleet *fl)
{
	struct sl_request req;
	ssize_t n;

	for (;;) {
		n = recv(fd, &req, sizeof(req), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
		if (n == 0)
			return -1;  /* the network process is gone */
		if ((size_t)n != sizeof(req)) {
			log_msg(LOG_ERR, SLC_SYSERR, "runner: malformed request "
			    "(%zd bytes), ignored", n);
			continue;
		}
		if (req.magic == SL_REQ_STATS)
			rp_log_stats(rn, gt);
		else
			(void)fleet_submit(fl, rn, &req);  /* re-checks, logs */
	}
}

/* Runner side of a receipt: one message back; if the network process is
 * not reading (full buffer), the news is dropped, never waited for. */
static void
rp_report(void *arg, const struct sl_result *res)
{
	int fd = *(int *)arg;
	ssize_t n;

	do
		n = send(fd, res, sizeof(*res), MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*res))
		log_limited(0, LOG_WARNING, SLC_SYSERR, "runner: outcome of "
		    "request %u not passed on (%s)", (unsigned)res->ticket,
		    n < 0 ? strerror(errno) : "short write");
}

static void __attribute__((noreturn))
rp_child(int fd, const struct config *cfg, struct grants *gt)
{
	struct pollfd pfd[RP_POLL_MAX];
	struct signalfd_siginfo si;
	struct runner *rn = NULL;
	struct fleet *fl = NULL;    /* fleet.h: NULL without [fleet] */
	sigset_t set;
	int sfd, n, np, t, stop = 0, status = 0;

	(void)prctl(PR_SET_NAME, "siglatchd-run", 0, 0, 0);  /* for ps, top */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if ((sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_msg(LOG_ERR, SLC_SYSERR, "runner: signalfd: %s",
		    strerror(errno));
		_exit(1);
	}
	if (runner_new(&rn, cfg) != 0)
		_exit(1);  /* runner_new said why */
	runner_set_reporter(rn, rp_report, &fd);
	if (gt != NULL) {
		runner_set_grants(rn, gt);
		log_msg(LOG_INFO, SLC_GRANT_STATE, "grants: %u live, %u to "
		    "revoke now (%llu lapsed while stopped)%s",
		    grants_count(gt, GS_LIVE), grants_count(gt, GS_REVOKE),
		    (unsigned long long)gt->st.expired_at_start,
		    gt->st.bad_lines > 0 ? "; some lines were not understood "
		    "(see grants.bad)" : "");
		(void)grants_save(gt);  /* as loaded: what is owed is kept */
	}
	if (cfg->fleet.on && fleet_start(&fl, cfg, rn, gt != NULL ?
	    gt->dirfd : -1) != 0) {
		log_msg(LOG_ERR, SLC_SYSERR, "runner: fleet process: %s",
		    strerror(errno));
		_exit(1);
	}
	while (!stop) {
		pfd[0].fd = fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = sfd;
		pfd[1].events = POLLIN;
		np = 2 + runner_pollfds(rn, pfd + 2, RP_POLL_MAX - 3);
		pfd[np].fd = fleet_fd(fl);
		pfd[np++].events = POLLIN;
		t = runner_next_timeout_ms(rn);
		if (t < 0 || t > 1000)
			t = 1000;
		if (fleet_next_timeout_ms(fl) >= 0 &&
		    fleet_next_timeout_ms(fl) < t)
			t = fleet_next_timeout_ms(fl);
		n = poll(pfd, (nfds_t)np, t);
		if (n < 0 && errno != EINTR) {
			status = 1;
			break;
		}
		if (n > 0 && (pfd[1].revents & POLLIN)) {
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGUSR1)
					rp_log_stats(rn, gt);
				else if (si.ssi_signo == SIGTERM ||
				    si.ssi_signo == SIGINT)
					stop = 1;
			}
		}
		/* requests already queued are served even when stopping */
		if (n > 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			stop |= rp_read_requests(fd, rn, gt, fl) != 0;
		if (n > 0 && fl != NULL && pfd[np - 1].revents != 0 &&
		    fleet_read(fl) != 0) {
			log_msg(LOG_ERR, SLC_SYSERR, "runner: the fleet process "
			    "is gone: stopping");
			status = 1;
			stop = 1;
		}
		fleet_service(fl);
		runner_service(rn);
	}
	close(fd);
	fleet_stop(fl);
	runner_drain(rn);
	if (gt != NULL && cfg->revoke_on_exit)
		runner_revoke_all(rn);
	else if (gt != NULL && grants_count(gt, GS_LIVE) > 0)
		log_msg(LOG_NOTICE, SLC_GRANT, "%u grant(s) kept for the next "
		    "start (revoke_on_exit = no)", grants_count(gt, GS_LIVE));
	rp_log_stats(rn, gt);
	runner_free(rn);
	if (gt != NULL) {
		(void)grants_save(gt);
		grants_free(gt);
	}
	_exit(status);
}

int
runproc_start(struct runproc **out, const struct config *cfg,
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
	if (pid == 0) {
		close(sv[0]);
		drop(arg);
		rp_child(sv[1], cfg, gt);
	}
	close(sv[1]);
	rp->fd = sv[0];
	rp->pid = pid;
	*out = rp;
	return 0;
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

int
runproc_read(struct runproc *rp,
    void (*cb)(void *, const struct sl_result *), void *arg)
{
	struct sl_result res;
	ssize_t n;

	for (;;) {
		n = recv(rp->fd, &res, sizeof(res), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
		if (n == 0)
			return -1;  /* the runner is gone */
		if ((size_t)n != sizeof(res) || res.magic != SL_RES_MAGIC) {
			log_msg(LOG_ERR, SLC_SYSERR, "malformed message from the "
			    "runner (%zd bytes), ignored", n);
			continue;
		}
		cb(arg, &res);
	}
}

int
runproc_fd(const struct runproc *rp)
{
	return rp->fd;
}

pid_t
runproc_pid(const struct runproc *rp)
{
	return rp->pid;
}

void
runproc_stats(struct runproc *rp)
{
	/* a message, not a signal: the network process may no longer have
	 * the right to signal the runner once it has given up root */
	struct sl_request req;

	memset(&req, 0, sizeof(req));
	req.magic = SL_REQ_STATS;
	(void)runproc_send(rp, &req);
}

int
runproc_exited(struct runproc *rp, int *status)
{
	int st = 0;

	if (rp->reaped)
		return 1;
	if (waitpid(rp->pid, &st, WNOHANG) != rp->pid)
		return 0;
	rp->reaped = 1;
	if (status != NULL)
		*status = st;
	return 1;
}

int
runproc_stop(struct runproc *rp)
{
	int st = 0;

	if (rp == NULL)
		return 0;
	if (rp->fd >= 0)
		close(rp->fd);
	rp->fd = -1;
	if (!rp->reaped) {
		while (waitpid(rp->pid, &st, 0) < 0 && errno == EINTR)
			;
		rp->reaped = 1;
	}
	free(rp);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
