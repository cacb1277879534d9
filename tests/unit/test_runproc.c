/*
 * test_runproc.c - the channel between siglatchd's two processes, with
 * real processes: runproc_start forks, the parent serves as the privileged
 * process does, and the child (the network side) sends what it likes.
 *
 * A message that is short, long, of an unknown type, or that carries
 * descriptors, stops the pair: the privileged process kills the network
 * process and exits 1.  The network process going away without a stop
 * does the same; a stop that was asked for (SIGTERM to the privileged
 * process) ends both with 0.  The other way round, runproc_read refuses
 * what the privileged process may not send (SL_EPROTO) and takes over
 * the log files it may.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "request.h"
#include "runproc.h"
#include "sl.h"

static void
drop_nothing(void *arg)
{
	(void)arg;
}

/* What the network side does once forked. */
enum net_act {
	NA_SHORT,       /* 3 bytes */
	NA_LONG,        /* a request and one byte more */
	NA_BADTYPE,     /* a request's size, an unknown type */
	NA_FD,          /* a request with a descriptor along */
	NA_STATS,       /* a message only the other side may send */
	NA_HANGUP,      /* closes the channel, then waits */
	NA_EXIT,        /* exits 0 at once */
	NA_GOOD_TERM,   /* a well-formed request, then a clean stop on TERM */
};

static void __attribute__((noreturn))
net_side(struct runproc *rp, enum net_act act)
{
	struct sl_request req;
	struct sl_ask ask;
	uint8_t big[sizeof(req) + 1];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *c;
	sigset_t set;
	int fd = runproc_fd(rp), sig, one;

	memset(&req, 0, sizeof(req));
	req.magic = SL_REQ_MAGIC;
	switch (act) {
	case NA_SHORT:
		(void)send(fd, "SLR", 3, 0);
		break;
	case NA_LONG:
		memset(big, 0, sizeof(big));
		memcpy(big, &req, sizeof(req));
		(void)send(fd, big, sizeof(big), 0);
		break;
	case NA_BADTYPE:
		req.magic = 0x41414141u;
		(void)send(fd, &req, sizeof(req), 0);
		break;
	case NA_FD:
		one = open("/dev/null", O_RDONLY | O_CLOEXEC);
		memset(&mh, 0, sizeof(mh));
		memset(&ctl, 0, sizeof(ctl));
		iov.iov_base = &req;
		iov.iov_len = sizeof(req);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &one, sizeof(int));
		(void)sendmsg(fd, &mh, 0);
		break;
	case NA_STATS:
		memset(&ask, 0, sizeof(ask));
		ask.magic = SL_MSG_STATS;
		(void)send(fd, &ask, sizeof(ask), 0);
		break;
	case NA_HANGUP:
		runproc_stop(rp);
		break;
	case NA_EXIT:
		_exit(0);
	case NA_GOOD_TERM:
		/* action 7 does not exist: the re-check refuses it, logged,
		 * and the pair carries on */
		req.action_id = 7;
		(void)send(fd, &req, sizeof(req), 0);
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		(void)sigwait(&set, &sig);
		runproc_stop(rp);
		_exit(0);
	}
	/* the privileged process should now kill this one (pair_status
	 * gives up first) */
	sleep(30);
	_exit(3);
}

/* Fork a pair; returns the privileged process's pid. */
static pid_t
start_pair(enum net_act act)
{
	struct runproc *rp;
	struct config *cfg;
	sigset_t set;
	pid_t p;

	p = fork();
	assert_true(p >= 0);
	if (p != 0)
		return p;
	/* the daemon blocks these for its signalfd before the fork */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGUSR1);
	(void)sigprocmask(SIG_BLOCK, &set, NULL);
	log_init("test_runproc", 1, 0);
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		_exit(90);
	snprintf(cfg->path, sizeof(cfg->path), "test.conf");
	cfg->max_scripts = 1;
	cfg->script_timeout = 1;
	if (runproc_start(&rp, cfg, NULL, drop_nothing, NULL) != 0)
		_exit(91);
	net_side(rp, act);
}

/* Wait (at most 10 s) for the privileged process; its exit status. */
static int
pair_status(pid_t p)
{
	int st = 0, i;
	pid_t r = 0;

	for (i = 0; i < 1000 && (r = waitpid(p, &st, WNOHANG)) == 0; i++)
		(void)poll(NULL, 0, 10);
	if (r == 0) {
		kill(p, SIGKILL);
		(void)waitpid(p, &st, 0);
		fail_msg("the privileged process did not stop");
	}
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void
test_bad_messages_stop_the_pair(void **state)
{
	static const enum net_act bad[] = {
		NA_SHORT, NA_LONG, NA_BADTYPE, NA_FD, NA_STATS,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pair_status(start_pair(bad[i])) != 1)
			fail_msg("message kind %zu: the pair went on", i);
}

static void
test_network_side_gone(void **state)
{
	(void)state;
	assert_int_equal(pair_status(start_pair(NA_HANGUP)), 1);
	assert_int_equal(pair_status(start_pair(NA_EXIT)), 1);
}

static void
test_clean_stop(void **state)
{
	pid_t p;

	(void)state;
	p = start_pair(NA_GOOD_TERM);
	(void)poll(NULL, 0, 200);  /* the request is served meanwhile */
	assert_int_equal(kill(p, SIGTERM), 0);
	assert_int_equal(pair_status(p), 0);
}

/* The network side of the channel, against a hand-made privileged side. */
static int results, stats_asked;

static void
on_result(void *arg, const struct sl_result *res)
{
	(void)arg;
	if (res->ticket == 42)
		results++;
}

static void
on_stats(void *arg)
{
	(void)arg;
	stats_asked++;
}

static int
send_fds(int fd, const void *msg, size_t len, const int *fds, int n)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)msg, .iov_len = len };
	struct msghdr mh;
	struct cmsghdr *c;

	memset(&mh, 0, sizeof(mh));
	memset(&ctl, 0, sizeof(ctl));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (n > 0) {
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
	}
	return sendmsg(fd, &mh, 0) == (ssize_t)len ? 0 : -1;
}

static void
test_network_side_reads(void **state)
{
	const struct runproc_cbs cbs = { on_result, on_stats, NULL, NULL };
	struct sl_result res;
	struct sl_logfds lf;
	struct sl_request req;
	struct sl_ask ask;
	char dir[] = "/tmp/sl_test_runproc_XXXXXX", p1[128], p2[128], buf[256];
	struct runproc *rp;
	int sv[2], nfd, fd;
	ssize_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p1, sizeof(p1), "%s/a.log", dir);
	snprintf(p2, sizeof(p2), "%s/b.log", dir);
	log_init("test_runproc", 1, 0);
	assert_int_equal(log_set_file(p1), 0);

	/* well-formed: an outcome, a request for counters, the log file */
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    sv), 0);
	rp = runproc_adopt(sv[1], getpid());
	assert_non_null(rp);
	memset(&res, 0, sizeof(res));
	res.magic = SL_RES_MAGIC;
	res.ticket = 42;
	assert_int_equal(send(sv[0], &res, sizeof(res), 0), (ssize_t)sizeof(res));
	memset(&ask, 0, sizeof(ask));
	ask.magic = SL_MSG_STATS;
	assert_int_equal(send(sv[0], &ask, sizeof(ask), 0), (ssize_t)sizeof(ask));
	nfd = open(p2, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	assert_true(nfd >= 0);
	memset(&lf, 0, sizeof(lf));
	lf.magic = SL_MSG_LOGFDS;
	lf.n = 1;
	lf.sink[0] = 0;
	assert_int_equal(send_fds(sv[0], &lf, sizeof(lf), &nfd, 1), 0);
	close(nfd);
	results = stats_asked = 0;
	assert_int_equal(runproc_read(rp, &cbs), 0);
	assert_int_equal(results, 1);
	assert_int_equal(stats_asked, 1);
	log_msg(LOG_NOTICE, SLC_START, "after the rotation");
	fd = open(p2, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "after the rotation"));

	/* refused: a request (it only goes the other way), short, long, a
	 * log-file message whose count is not what came along, an outcome
	 * with a descriptor */
	memset(&req, 0, sizeof(req));
	req.magic = SL_REQ_MAGIC;
	assert_int_equal(send(sv[0], &req, sizeof(req), 0), (ssize_t)sizeof(req));
	assert_int_equal(runproc_read(rp, &cbs), SL_EPROTO);
	assert_int_equal(send(sv[0], &res, 6, 0), 6);
	assert_int_equal(runproc_read(rp, &cbs), SL_EPROTO);
	assert_int_equal(send(sv[0], &lf, sizeof(lf) - 4, 0),
	    (ssize_t)sizeof(lf) - 4);
	assert_int_equal(runproc_read(rp, &cbs), SL_EPROTO);
	lf.n = 2;
	nfd = open(p2, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_int_equal(send_fds(sv[0], &lf, sizeof(lf), &nfd, 1), 0);
	assert_int_equal(runproc_read(rp, &cbs), SL_EPROTO);
	assert_int_equal(send_fds(sv[0], &res, sizeof(res), &nfd, 1), 0);
	close(nfd);
	results = 0;
	assert_int_equal(runproc_read(rp, &cbs), SL_EPROTO);
	assert_int_equal(results, 0);
	/* and the other side gone */
	close(sv[0]);
	assert_int_equal(runproc_read(rp, &cbs), -1);
	runproc_stop(rp);
	log_close();
	unlink(p1);
	unlink(p2);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_messages_stop_the_pair),
		cmocka_unit_test(test_network_side_gone),
		cmocka_unit_test(test_clean_stop),
		cmocka_unit_test(test_network_side_reads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
