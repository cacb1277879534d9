/*
 * spawn.c - start one program as a given user (spawn.h).
 *
 * Owns the start of a script: the pipe, the clone and the child up to
 * execve.  Does not own the script once it runs (reaping, timeouts,
 * output: runner.c) nor what it is given (argv, environment: runner.c).
 *
 * posix_spawn cannot change user, so the child is started the way it does
 * it: clone(CLONE_VM | CLONE_VFORK) on a stack of its own; the child makes
 * only async-signal-safe calls on memory prepared by the parent, which
 * sleeps until the child has exec'd or failed (its errno is left in
 * sp->child.err, so a missing or unusable program is reported at once).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"
#include "sl.h"

#define SP_STACK        (64 * 1024)    /* the child's stack until execve, */
#define SP_GUARD        4096           /* above a guard page */
#define SP_CLOSE_MAX    65536          /* close_range fallback bound */

/* What the child needs, prepared by the parent. */
struct sp_child {
	char *const *argv;
	char *const *envp;
	int out;                /* write end of the output pipe */
	unsigned close_max;     /* close_range fallback */
	struct privsep_ids ids; /* run_as */
	int err;                /* set by the child if it fails */
};

/*
 * The parent sleeps until the child has exec'd (CLONE_VFORK), so one
 * stack and one sp_child serve every start.
 */
struct spawn {
	void *stack;
	struct sp_child child;
};

int
spawn_new(struct spawn **out)
{
	struct spawn *sp;
	struct rlimit rl;

	*out = NULL;
	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return SL_ESYS;
	sp->stack = mmap(NULL, SP_GUARD + SP_STACK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (sp->stack == MAP_FAILED ||
	    mprotect(sp->stack, SP_GUARD, PROT_NONE) != 0) {
		if (sp->stack != MAP_FAILED)
			munmap(sp->stack, SP_GUARD + SP_STACK);
		free(sp);
		return SL_ESYS;
	}
	sp->child.close_max = getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < SP_CLOSE_MAX ? (unsigned)rl.rlim_cur : SP_CLOSE_MAX;
	*out = sp;
	return 0;
}

void
spawn_free(struct spawn *sp)
{
	if (sp == NULL)
		return;
	munmap(sp->stack, SP_GUARD + SP_STACK);
	free(sp);
}

/* Keep pipe ends off 0-2 (a daemon with a closed stdio). */
static int
sp_fd_above_stdio(int fd)
{
	int nfd;

	if (fd > STDERR_FILENO)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	close(fd);
	return nfd;
}

/*
 * The child, sharing the parent's memory until execve: async-signal-safe
 * calls only, and no instrumentation (it runs on sp->stack).  Signals are
 * all blocked on entry (the parent blocked them): dispositions go back to
 * default before anything is unblocked, so no handler of the parent can
 * run here.
 */
__attribute__((no_sanitize_address)) static int
sp_child(void *arg)
{
	struct sp_child *c = arg;
	/* the kernel's struct sigaction (handler, flags, restorer, mask):
	 * all zero is SIG_DFL, no flags, nothing masked */
	static const unsigned long dfl[4];
	sigset_t none;
	unsigned fd;
	int sig, null;

	/* raw, so that glibc's own signals (32, 33), which its sigaction()
	 * refuses, do not stay ignored either; EINVAL for KILL and STOP */
	for (sig = 1; sig <= 64; sig++)
		(void)syscall(SYS_rt_sigaction, sig, dfl, NULL, 8);
	if (setpgid(0, 0) != 0)
		goto fail;
	if ((null = open("/dev/null", O_RDONLY | O_NOCTTY)) < 0)
		goto fail;
	if (null != STDIN_FILENO && (dup2(null, STDIN_FILENO) < 0 ||
	    close(null) != 0))
		goto fail;
	if (dup2(c->out, STDOUT_FILENO) < 0 || dup2(c->out, STDERR_FILENO) < 0)
		goto fail;
	if (close_range(STDERR_FILENO + 1, ~0U, 0) != 0) {
		if (errno != ENOSYS)    /* Linux < 5.9 */
			goto fail;
		for (fd = STDERR_FILENO + 1; fd < c->close_max; fd++)
			(void)close((int)fd);
	}
	/* raw system calls: the libc wrappers would try to tell other
	 * threads, whose memory this child shares */
	if (c->ids.set &&
	    (syscall(SYS_setgroups, 1, &c->ids.gid) != 0 ||
	    syscall(SYS_setresgid, c->ids.gid, c->ids.gid, c->ids.gid) != 0 ||
	    syscall(SYS_setresuid, c->ids.uid, c->ids.uid, c->ids.uid) != 0))
		goto fail;
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		goto fail;
	execve(c->argv[0], c->argv, c->envp);
fail:
	c->err = errno != 0 ? errno : EINVAL;
	_exit(127);
}

/* A pipe for the child's output, both ends above stdio.  0 or errno. */
static int
sp_pipe(int p[2])
{
	int r;

	if (pipe2(p, O_CLOEXEC) != 0)
		return errno;
	if ((p[0] = sp_fd_above_stdio(p[0])) < 0 ||
	    (p[1] = sp_fd_above_stdio(p[1])) < 0) {
		r = errno;
		if (p[0] >= 0)
			close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
		return r;
	}
	return 0;
}

int
spawn_start(struct spawn *sp, char *const argv[], char *const envp[],
    const struct privsep_ids *ids, pid_t *pid, int *rfd)
{
	sigset_t all, old;
	int p[2], r = 0;
	pid_t child;

	if ((r = sp_pipe(p)) != 0)
		return r;
	sp->child.argv = argv;
	sp->child.envp = envp;
	sp->child.out = p[1];
	sp->child.ids = *ids;
	sp->child.err = 0;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	child = clone(sp_child, (char *)sp->stack + SP_GUARD + SP_STACK,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, &sp->child);
	if (child < 0)
		r = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	if (child > 0 && sp->child.err != 0) {
		r = sp->child.err;  /* it has exited: reap it */
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (r == 0 && fcntl(p[0], F_SETFL, O_NONBLOCK) != 0)
		r = errno; /* cannot happen on a pipe; the child is reaped */
	if (r != 0) {
		close(p[0]);
		return r;
	}
	*pid = child;
	*rfd = p[0];
	return 0;
}
