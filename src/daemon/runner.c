/*
 * runner.c - runs action scripts for authorized requests.
 *
 * Every request is checked again against the configuration, then the
 * constructor is started with execve (never a shell): siglatch 1.0 argv,
 * stdin /dev/null, stdout and stderr into a pipe, no other descriptor, a
 * fixed environment, every signal at its default and none blocked, its own
 * process group, and the ids of the action's run_as user.  Output is
 * logged line by line (bounded), a script that outlives script_timeout gets
 * SIGTERM and 2 s later SIGKILL, and every child is reaped.  Slots are
 * allocated once; nothing is queued.
 *
 * Nothing a script starts outlives it.  The runner is a child subreaper
 * (PR_SET_CHILD_SUBREAPER), so whatever a script starts comes back to it
 * as a child once its own parent has exited, whatever its session or
 * process group (setsid, a double fork).  When a script ends, however it
 * ends, its process group gets SIGKILL while the script is still a zombie
 * (its group id cannot have been reused), and every child of the runner
 * that is not a running script is taken for something a script left
 * behind: it gets SIGKILL (found in /proc/self/task/TID/children) and is
 * reaped.  The same sweep runs while scripts run, so a process a script
 * detaches from itself is killed within RN_SWEEP_MS, without waiting for
 * the script.  The runner must therefore own its process's children (the
 * runner process does; so do the unit tests).  No cgroup is used.
 *
 * Owns the slots (at most max_scripts, nothing queued), the environment,
 * the output, reaping, timeouts, leftovers and receipts.  Does not own the
 * re-check and the argv (recheck.c), the start of a process up to execve
 * (spawn.c), nor the timed-grant lifecycle (grantlife.c, which shares
 * struct runner through runner_int.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"
#include "runner_int.h"
#include "grantlife.h"
#include "grants.h"
#include "knock2.h"
#include "log.h"
#include "privsep.h"
#include "recheck.h"
#include "spawn.h"
#include "util.h"

#define RN_ESC_MAX       (RN_LINE_MAX + 320) /* escaped line, fits a log line */
#define RN_LOG_MAX       4096           /* output bytes logged per run */
#define RN_READ_MAX      (64 * 1024)    /* per slot per runner_service */
#define RN_DRAIN_MAX     (1024 * 1024)  /* read after the child is reaped */
#define RN_GRACE_MS      2000           /* SIGTERM -> SIGKILL */
#define RN_SWEEP_MS      1000           /* leftovers looked for while scripts
                                           run, or while some are dying */
#define RN_PATH_ENV \
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* PATH and the SIGLATCH_* variables, from rn->av, into rn->env/envp. */
static const char *const rn_phase[] = {
	[RK_RUN] = "run", [RK_GRANT] = "grant", [RK_EXTEND] = "extend",
	[RK_REVOKE] = "revoke",
};

static int
rn_build_env(struct runner *rn, const char *server, enum rn_kind kind,
    int64_t timeout_s)
{
	char tmo[24];
	const char *kv[RN_ENV_N - 1][2] = {
		{ "SIGLATCH_IP", rn->av.ip },
		{ "SIGLATCH_USER_ID", rn->av.user_id },
		{ "SIGLATCH_USER", rn->av.user },
		{ "SIGLATCH_ACTION_ID", rn->av.action_id },
		{ "SIGLATCH_ACTION", rn->av.action },
		{ "SIGLATCH_SECURE", rn->av.secure },
		{ "SIGLATCH_PAYLOAD", rn->av.payload_b64 },
		{ "SIGLATCH_SERVER", server },
		{ "SIGLATCH_PHASE", rn_phase[kind] },
		{ "SIGLATCH_GRANT_TIMEOUT", tmo },
	};
	size_t off = sizeof(RN_PATH_ENV), i;
	int n;

	snprintf(tmo, sizeof(tmo), "%lld", (long long)(timeout_s > 0 ?
	    timeout_s : 0));
	memcpy(rn->env, RN_PATH_ENV, sizeof(RN_PATH_ENV));
	rn->envp[0] = rn->env;
	for (i = 0; i < RN_ENV_N - 1; i++) {
		n = snprintf(rn->env + off, sizeof(rn->env) - off, "%s=%s",
		    kv[i][0], kv[i][1]);
		if (n < 0 || (size_t)n >= sizeof(rn->env) - off)
			return SL_ETOOBIG;
		rn->envp[i + 1] = rn->env + off;
		off += (size_t)n + 1;
	}
	rn->envp[RN_ENV_N] = NULL;
	return 0;
}

/* Tell whoever waits for ticket (nobody when 0) what became of it. */
void
rn_report(struct runner *rn, uint32_t ticket, uint8_t status, uint8_t reason,
    uint32_t value)
{
	struct sl_result res;

	if (ticket == 0 || rn->report == NULL)
		return;
	memset(&res, 0, sizeof(res));
	res.magic = SL_RES_MAGIC;
	res.ticket = ticket;
	res.status = status;
	res.reason = reason;
	res.value = value;
	rn->report(rn->report_arg, &res);
}

void
runner_set_reporter(struct runner *rn,
    void (*report)(void *, const struct sl_result *), void *arg)
{
	rn->report = report;
	rn->report_arg = arg;
}

void
runner_refuse(struct runner *rn, const struct sl_request *req)
{
	rn->st.refused_check++;
	rn_report(rn, req->ticket, K2_ST_REFUSED, K2_R_DENIED, 0);
}

/* A free slot, or NULL when max_scripts are running. */
struct rn_slot *
rn_free_slot(struct runner *rn)
{
	unsigned i;

	if (rn->running >= rn->nslots)
		return NULL;
	for (i = 0; i < rn->nslots; i++)
		if (rn->slots[i].state == RN_FREE)
			return &rn->slots[i];
	return NULL; /* unreachable: running counts busy slots */
}

/*
 * Start rn->av (already built) in slot s as action index ai.  Returns 0,
 * or a negative code after logging why (the slot stays free).
 */
int
rn_start(struct runner *rn, struct rn_slot *s, unsigned ai, const char *server,
    enum rn_kind kind, struct grant *g, uint32_t interval, int64_t timeout_s)
{
	const char *name = rn->cfg->actions[ai].name;
	pid_t pid = 0;
	int r, fd = -1;

	if ((r = rn_build_env(rn, server, kind, timeout_s)) < 0) {
		rn->st.spawn_fail++;
		log_msg(LOG_ERR, SLC_SCRIPT_FAIL, "script %s not started: "
		    "environment too large", name);
		return r;
	}
	if ((r = spawn_start(rn->sp, rn->av.argv, rn->envp, &rn->ids[ai],
	    &pid, &fd)) != 0) {
		rn->st.spawn_fail++;
		log_msg(LOG_ERR, SLC_SCRIPT_FAIL, "script %s not started: "
		    "%s: %s", name, rn->av.argv[0], strerror(r));
		errno = r;
		return SL_ESYS;
	}
	memset(s, 0, offsetof(struct rn_slot, line));
	s->state = RN_RUN;
	s->kind = kind;
	s->grant = g;
	s->interval = interval;
	s->pid = pid;
	s->fd = fd;
	s->start_ms = (int64_t)sl_mono_ms();
	s->next_ms = s->start_ms + (int64_t)rn->cfg->script_timeout * 1000;
	sl_strlcpy(s->action, name, sizeof(s->action));
	rn->running++;
	rn->st.started++;
	/* look for what it detaches from itself while it runs */
	if (rn->sweep_ms == 0 && !rn->no_list)
		rn->sweep_ms = s->start_ms + RN_SWEEP_MS;
	log_msg(LOG_INFO, SLC_SCRIPT_START, "script %s[%d] started for user "
	    "%s (%s) from %s%s%s", s->action, (int)pid, rn->av.user,
	    rn->av.user_id, rn->av.ip, kind == RK_RUN ? "" : ": ",
	    kind == RK_RUN ? "" : rn_phase[kind]);
	return 0;
}

int
rn_refuse_busy(struct runner *rn, const struct cfg_action *act,
    const struct sl_request *req)
{
	rn->st.refused_busy++;
	log_limited(0, LOG_WARNING, SLC_BUSY, "script %s refused for user %u: "
	    "max_scripts (%u) already running", act->name,
	    (unsigned)req->user_id, rn->nslots);
	rn_report(rn, req->ticket, K2_ST_BUSY, K2_R_NONE, 0);
	return SL_EBUSY;
}

int
runner_submit(struct runner *rn, const struct sl_request *req)
{
	const struct cfg_server *srv = NULL;
	const struct cfg_action *act = NULL;
	struct rn_slot *s;
	const char *why;
	int r;

	if ((why = recheck_request(rn->cfg, req, &srv, &act)) != NULL) {
		rn->st.refused_check++;
		log_msg(LOG_WARNING, SLC_DENIED, "script refused (action %u, "
		    "user %u): %s", (unsigned)req->action_id,
		    (unsigned)req->user_id, why);
		rn_report(rn, req->ticket, K2_ST_REFUSED, K2_R_DENIED, 0);
		return SL_EDENIED;
	}
	if ((r = runner_build_argv(rn->cfg, req, act->constructor,
	    act->exec_split, &rn->av)) < 0) {
		rn->st.spawn_fail++;
		log_msg(LOG_ERR, SLC_SCRIPT_FAIL, "script %s not started: "
		    "constructor '%s' is not usable: %s", act->name,
		    act->constructor, sl_strerror(r));
		rn_report(rn, req->ticket, K2_ST_FAILED, K2_R_NONE,
		    K2_VAL_NOT_STARTED);
		return r;
	}
	if (rn->gt != NULL && action_is_timed(act))
		return gl_submit(rn, req, srv, act,
		    act->keepalive_interval, NULL);
	if ((s = rn_free_slot(rn)) == NULL)
		return rn_refuse_busy(rn, act, req);
	if ((r = rn_start(rn, s, (unsigned)(act - rn->cfg->actions),
	    srv->name, RK_RUN, NULL, 0, 0)) != 0) {
		rn_report(rn, req->ticket, K2_ST_FAILED, K2_R_NONE,
		    K2_VAL_NOT_STARTED);
		return r;
	}
	s->ticket = req->ticket;
	return 0;
}

/* Log the buffered line, escaped. */
static void
rn_emit(struct rn_slot *s, bool cut)
{
	char esc[RN_ESC_MAX + 1];
	size_t i, o = 0;
	unsigned char c;

	for (i = 0; i < s->linelen; i++) {
		c = (unsigned char)s->line[i];
		if (o + 4 > RN_ESC_MAX) {
			cut = true;
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\')
			esc[o++] = (char)c;
		else
			o += (size_t)snprintf(esc + o, 5, "\\x%02x", c);
	}
	esc[o] = '\0';
	log_msg(LOG_INFO, SLC_SCRIPT_OUT, "script %s[%d]: %s%s", s->action,
	    (int)s->pid, esc, cut ? " [line cut]" : "");
	s->linelen = 0;
}

/* Split output into lines; log at most RN_LOG_MAX bytes, count the rest. */
static void
rn_feed(struct rn_slot *s, const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s->logged >= RN_LOG_MAX) {
			s->discarded += n - i;
			return;
		}
		s->logged++;
		if (buf[i] == '\n') {
			if (!s->skip)
				rn_emit(s, false);
			s->skip = false;
		} else if (s->skip) {
			continue;
		} else if (s->linelen == RN_LINE_MAX) {
			rn_emit(s, true);
			s->skip = true;
		} else {
			s->line[s->linelen++] = buf[i];
		}
	}
}

/* Read what the pipe holds, up to max bytes; closes it at EOF or error. */
static void
rn_read(struct rn_slot *s, size_t max)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	while (s->fd >= 0 && total < max) {
		n = read(s->fd, buf, sizeof(buf));
		if (n > 0) {
			rn_feed(s, buf, (size_t)n);
			total += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			return;
		} else {
			close(s->fd);
			s->fd = -1;
		}
	}
}

/* Done (with the seconds a grant has left) or failed (with the exit
 * status, 256 + the signal, or "not known"). */
static void
rn_report_finish(struct runner *rn, const struct rn_slot *s, int st, bool ok)
{
	uint32_t value = 0;

	if (!ok) {
		if (st >= 0 && WIFEXITED(st))
			value = (uint32_t)WEXITSTATUS(st);
		else if (st >= 0 && WIFSIGNALED(st))
			value = 256u + (uint32_t)WTERMSIG(st);
		else
			value = K2_VAL_NOT_STARTED;
		rn_report(rn, s->ticket, K2_ST_FAILED, K2_R_NONE, value);
		return;
	}
	if (s->kind == RK_GRANT && s->grant != NULL &&
	    s->grant->state == GS_LIVE)
		value = (uint32_t)grants_secs_left(s->grant->expires_ms,
		    sl_wall_ms());
	else if (s->kind == RK_EXTEND)
		value = s->rvalue;
	rn_report(rn, s->ticket, K2_ST_DONE, K2_R_NONE, value);
}

/* The child has been reaped (st < 0: by someone else, status unknown). */
static void
rn_finish(struct runner *rn, struct rn_slot *s, int st)
{
	long long ms = (long long)((int64_t)sl_mono_ms() - s->start_ms);
	bool ok = st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;

	/* What it wrote before exiting is in the pipe now; a grandchild
	 * holding the pipe open must not keep the slot. */
	rn_read(s, RN_DRAIN_MAX);
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	if (s->linelen > 0 && !s->skip)
		rn_emit(s, false);
	if (s->discarded > 0)
		log_msg(LOG_INFO, SLC_SCRIPT_OUT, "script %s[%d]: output "
		    "truncated, %llu more bytes discarded", s->action,
		    (int)s->pid, s->discarded);
	if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		rn->st.exit_ok++;
		log_msg(LOG_INFO, SLC_SCRIPT_EXIT, "script %s[%d] exited with "
		    "status 0 after %lld ms", s->action, (int)s->pid, ms);
	} else if (st >= 0 && WIFEXITED(st)) {
		rn->st.exit_fail++;
		log_msg(LOG_WARNING, SLC_SCRIPT_EXIT, "script %s[%d] exited "
		    "with status %d after %lld ms", s->action, (int)s->pid,
		    WEXITSTATUS(st), ms);
	} else if (st >= 0 && WIFSIGNALED(st)) {
		rn->st.exit_fail++;
		log_msg(LOG_WARNING, SLC_SCRIPT_EXIT, "script %s[%d] killed by "
		    "signal %d (%s) after %lld ms", s->action, (int)s->pid,
		    WTERMSIG(st), strsignal(WTERMSIG(st)), ms);
	} else {
		rn->st.exit_fail++;
		log_msg(LOG_WARNING, SLC_SCRIPT_EXIT, "script %s[%d] ended "
		    "after %lld ms, status unknown (reaped elsewhere)",
		    s->action, (int)s->pid, ms);
	}
	s->state = RN_FREE;
	s->pid = 0;
	rn->running--;
	if (s->kind != RK_RUN)
		gl_done(rn, s, ok);
	if (s->ticket != 0)
		rn_report_finish(rn, s, st, ok);
	s->kind = RK_RUN;
	s->grant = NULL;
	s->ticket = 0;
}

/* Reap the slot's child if it has exited; true if the slot was freed. */
static bool
rn_reap(struct runner *rn, struct rn_slot *s)
{
	siginfo_t si;
	int st = 0, r;

	memset(&si, 0, sizeof(si));
	/* Look without reaping: while the zombie exists its process group id
	 * cannot be reused, so the group can still be signalled safely. */
	while ((r = waitid(P_PID, (id_t)s->pid, &si,
	    WEXITED | WNOHANG | WNOWAIT)) < 0 && errno == EINTR)
		;
	if (r < 0) {
		if (errno != ECHILD)
			return false;
		rn_finish(rn, s, -1);
		return true;
	}
	if (si.si_pid != s->pid)
		return false;
	/* Nothing the script started may outlive it: its group first (what
	 * left the group is found by rn_sweep). */
	kill(-s->pid, SIGKILL);
	while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
		;
	rn_finish(rn, s, st);
	rn->ended = true;
	return true;
}

static struct rn_slot *
rn_slot_of(struct runner *rn, pid_t pid)
{
	unsigned i;

	for (i = 0; i < rn->nslots; i++)
		if (rn->slots[i].state != RN_FREE && rn->slots[i].pid == pid)
			return &rn->slots[i];
	return NULL;
}

/* Name and process group of a process (a zombie still has them). */
static void
rn_proc_info(pid_t pid, char *comm, size_t commlen, long *pgrp)
{
	char path[32], buf[256], *lp, *rp;
	ssize_t n;
	int fd;

	sl_strlcpy(comm, "?", commlen);
	*pgrp = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* "pid (comm) state ppid pgrp ...": comm may hold anything */
	if ((lp = strchr(buf, '(')) == NULL ||
	    (rp = strrchr(buf, ')')) == NULL || rp < lp)
		return;
	*rp = '\0';
	snprintf(comm, commlen, "%s", lp + 1);
	for (lp = comm; *lp != '\0'; lp++)  /* any program can name itself */
		if ((unsigned char)*lp < 0x20 || (unsigned char)*lp >= 0x7f)
			*lp = '?';
	(void)sscanf(rp + 1, " %*c %*d %ld", pgrp);
}

/* The index of pid among the kept children, or -1. */
static int
rn_kept_of(const struct runner *rn, pid_t pid)
{
	unsigned i;

	for (i = 0; i < rn->nkept; i++)
		if (rn->kept[i].pid == pid)
			return (int)i;
	return -1;
}

/* A child no script owns has exited (seen, not yet reaped): reap it and
 * say what became of it. */
static void
rn_reap_leftover(struct runner *rn, pid_t pid)
{
	char comm[64];
	long pgrp;
	int st = 0;

	rn_proc_info(pid, comm, sizeof(comm), &pgrp);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	rn->st.leftovers++;
	if (WIFSIGNALED(st)) {
		rn->st.leftovers_killed++;
		log_limited(0, LOG_WARNING, SLC_SCRIPT_KILL, "process %d (%s, "
		    "process group %ld), left running by a script, killed by "
		    "signal %d (%s)", (int)pid, comm, pgrp, WTERMSIG(st),
		    strsignal(WTERMSIG(st)));
	} else {
		log_limited(0, LOG_INFO, SLC_SCRIPT_EXIT, "process %d (%s, "
		    "process group %ld), left behind by a script, exited with "
		    "status %d", (int)pid, comm, pgrp, WIFEXITED(st) ?
		    WEXITSTATUS(st) : -1);
	}
}

/* Reap every child that has exited: a script's through its slot, any
 * other as a leftover.  Never blocks. */
static void
rn_reap_all(struct runner *rn)
{
	struct rn_slot *s;
	siginfo_t si;
	int k;

	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
			if (errno == EINTR)
				continue;
			return;  /* ECHILD: no children at all */
		}
		if (si.si_pid == 0)
			return;
		if ((s = rn_slot_of(rn, si.si_pid)) != NULL)
			(void)rn_reap(rn, s);
		else if ((k = rn_kept_of(rn, si.si_pid)) >= 0) {
			while (waitpid(si.si_pid, &rn->kept[k].status, 0) < 0 &&
			    errno == EINTR)
				;
			rn->kept[k].exited = true;
			rn->kept[k].pid = -1;  /* the pid may be reused now */
		} else
			rn_reap_leftover(rn, si.si_pid);
	}
}

/* SIGKILL every child of this process that is not a running script;
 * returns how many there were (a zombie counts: it is reaped next), or
 * -1 if the children cannot be listed. */
static int
rn_kill_leftovers(struct runner *rn)
{
	char path[64], buf[512];
	struct dirent *de;
	DIR *d;
	ssize_t n, i;
	long pid;
	int fd, found = 0;
	bool in;

	if ((d = opendir("/proc/self/task")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%.16s/children",
		    de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			closedir(d);
			return -1;  /* CONFIG_PROC_CHILDREN off */
		}
		/* "pid pid ... ": numbers split across reads carry over */
		pid = 0;
		in = false;
		while ((n = read(fd, buf, sizeof(buf))) > 0 ||
		    (n < 0 && errno == EINTR)) {
			for (i = 0; i < n; i++) {
				if (buf[i] >= '0' && buf[i] <= '9') {
					if (pid < INT_MAX / 10)
						pid = pid * 10 + (buf[i] - '0');
					in = true;
					continue;
				}
				if (in && pid > 0 &&
				    rn_slot_of(rn, (pid_t)pid) == NULL &&
				    rn_kept_of(rn, (pid_t)pid) < 0) {
					/* our child, not yet reaped: the pid
					 * cannot have been reused */
					(void)kill((pid_t)pid, SIGKILL);
					found++;
				}
				pid = 0;
				in = false;
			}
		}
		if (in && pid > 0 && rn_slot_of(rn, (pid_t)pid) == NULL &&
		    rn_kept_of(rn, (pid_t)pid) < 0) {
			(void)kill((pid_t)pid, SIGKILL);
			found++;
		}
		close(fd);
	}
	closedir(d);
	return found;
}

/*
 * What scripts left behind: reap what has exited, then kill the rest.
 * Listing children costs a few system calls, so it is done when a script
 * has just ended, while leftovers are dying, and every RN_SWEEP_MS while
 * scripts run; when none runs and none is left, there can be nothing.
 */
static void
rn_sweep(struct runner *rn, bool force)
{
	int64_t now;
	int n;

	rn_reap_all(rn);
	now = (int64_t)sl_mono_ms();
	if (!force && !rn->ended && (rn->sweep_ms == 0 || now < rn->sweep_ms))
		return;
	rn->ended = false;
	rn->sweep_ms = 0;
	if (rn->no_list)
		return;
	if ((n = rn_kill_leftovers(rn)) < 0) {
		rn->no_list = true;
		rn->leftovers = 0;
		log_msg(LOG_WARNING, SLC_SYSERR, "runner: cannot list its "
		    "children (/proc/self/task/*/children): what a script "
		    "leaves running outside its process group is reaped when "
		    "it exits, not killed");
		return;
	}
	rn->leftovers = (unsigned)n;
	if (n > 0)
		rn_reap_all(rn);  /* those already dead */
	if (rn->running > 0 || rn->leftovers > 0)
		rn->sweep_ms = now + RN_SWEEP_MS;
}

static void
rn_enforce_timeout(struct runner *rn, struct rn_slot *s, int64_t now)
{
	if (s->state == RN_RUN && now >= s->next_ms) {
		kill(-s->pid, SIGTERM);
		s->state = RN_TERM;
		s->next_ms = now + RN_GRACE_MS;
		rn->st.killed++;
		log_msg(LOG_WARNING, SLC_SCRIPT_KILL, "script %s[%d] still "
		    "running after %u s: SIGTERM to its process group",
		    s->action, (int)s->pid, rn->cfg->script_timeout);
	} else if (s->state == RN_TERM && now >= s->next_ms) {
		kill(-s->pid, SIGKILL);
		s->state = RN_KILL;
		log_msg(LOG_WARNING, SLC_SCRIPT_KILL, "script %s[%d] still "
		    "running %d ms after SIGTERM: SIGKILL to its process group",
		    s->action, (int)s->pid, RN_GRACE_MS);
	}
}

void
runner_service(struct runner *rn)
{
	struct rn_slot *s;
	unsigned i, busy = rn->running;

	/* busy slots only: stop once all of them have been seen */
	for (i = 0; i < rn->nslots && busy > 0; i++) {
		s = &rn->slots[i];
		if (s->state == RN_FREE)
			continue;
		busy--;
		rn_read(s, RN_READ_MAX);
		if (!rn_reap(rn, s))
			rn_enforce_timeout(rn, s, (int64_t)sl_mono_ms());
	}
	rn_sweep(rn, false);
	gl_service(rn);
}

int
runner_pollfds(struct runner *rn, struct pollfd *pfd, int max)
{
	unsigned i, busy = rn->running;
	int n = 0;

	for (i = 0; i < rn->nslots && n < max && busy > 0; i++) {
		if (rn->slots[i].state == RN_FREE)
			continue;
		busy--;
		if (rn->slots[i].fd < 0)
			continue;
		pfd[n].fd = rn->slots[i].fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		n++;
	}
	return n;
}

int
runner_next_timeout_ms(const struct runner *rn)
{
	int64_t now, best = -1, d;
	unsigned i, busy = rn->running;

	best = gl_timeout_ms(rn);
	now = (int64_t)sl_mono_ms();
	/* the next look for leftovers (rn_sweep) */
	if (rn->sweep_ms != 0) {
		d = rn->sweep_ms - now;
		if (d < 0)
			d = 0;
		if (best < 0 || d < best)
			best = d;
	}
	for (i = 0; i < rn->nslots && busy > 0; i++) {
		if (rn->slots[i].state != RN_FREE)
			busy--;
		if (rn->slots[i].state != RN_RUN &&
		    rn->slots[i].state != RN_TERM)
			continue;
		d = rn->slots[i].next_ms - now;
		if (d < 0)
			d = 0;
		if (best < 0 || d < best)
			best = d;
	}
	return best > INT_MAX ? INT_MAX : (int)best;
}

unsigned
runner_running(const struct runner *rn)
{
	return rn->running;
}

/* Leftovers got SIGKILL: wait (up to RN_GRACE_MS) until they are reaped.
 * One stuck in the kernel is given up on; init reaps it later. */
static void
rn_wait_leftovers(struct runner *rn)
{
	int64_t until = (int64_t)sl_mono_ms() + RN_GRACE_MS;

	rn_sweep(rn, true);
	while (rn->leftovers > 0 && (int64_t)sl_mono_ms() < until) {
		(void)poll(NULL, 0, RN_TICK_MS / 4);
		rn_sweep(rn, true);
	}
}

void
runner_drain(struct runner *rn)
{
	int n, t;

	while (rn->running > 0) {
		n = runner_pollfds(rn, rn->pfd, (int)rn->nslots);
		t = runner_next_timeout_ms(rn);
		if (t < 0 || t > RN_TICK_MS)
			t = RN_TICK_MS;
		(void)poll(rn->pfd, (nfds_t)n, t); /* EINTR: just go round */
		runner_service(rn);
	}
	rn_wait_leftovers(rn);
}

const struct runner_stats *
runner_get_stats(const struct runner *rn)
{
	return &rn->st;
}

int
runner_reconfigure(struct runner *rn, const struct config *cfg)
{
	struct privsep_ids ids[SL_MAX_ACTIONS];
	char err[SL_PATH_MAX + 256];
	int r;

	if ((r = privsep_config_ids(cfg, NULL, ids, err, sizeof(err))) != 0) {
		log_msg(LOG_ERR, SLC_SYSERR, "runner: %s", err);
		return r;
	}
	/* grants the new configuration no longer allows go now, through
	 * the destructor of the configuration that made them */
	gl_reconfigure(rn, cfg);
	/* scripts started under the old configuration finish under it */
	runner_drain(rn);
	rn->cfg = cfg;
	memcpy(rn->ids, ids, sizeof(rn->ids));
	return 0;
}

int
runner_keep_child(struct runner *rn, pid_t pid)
{
	if (rn->nkept >= RN_KEPT_MAX || pid <= 0)
		return SL_EINVAL;
	rn->kept[rn->nkept].pid = pid;
	rn->kept[rn->nkept].exited = false;
	rn->kept[rn->nkept].status = 0;
	rn->nkept++;
	return 0;
}

bool
runner_kept_exited(struct runner *rn, unsigned i, int *status)
{
	if (i >= rn->nkept)
		return false;
	if (!rn->kept[i].exited)
		rn_reap_all(rn);
	if (rn->kept[i].exited && status != NULL)
		*status = rn->kept[i].status;
	return rn->kept[i].exited;
}

int
runner_new(struct runner **out, const struct config *cfg)
{
	struct runner *rn;
	char err[SL_PATH_MAX + 256];
	int r;

	*out = NULL;
	if (cfg->max_scripts < 1 || cfg->max_scripts > SL_MAX_SCRIPTS ||
	    cfg->script_timeout < 1)
		return SL_EINVAL;
	/* what scripts leave behind comes back to us (see the top) */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
		log_msg(LOG_ERR, SLC_SYSERR, "runner: PR_SET_CHILD_SUBREAPER: "
		    "%s", strerror(errno));
		return SL_ESYS;
	}
	if ((rn = calloc(1, sizeof(*rn))) == NULL)
		return SL_ESYS;
	/* run_as users: an unknown one stops the runner before it serves */
	if ((r = privsep_config_ids(cfg, NULL, rn->ids, err,
	    sizeof(err))) != 0) {
		log_msg(LOG_ERR, SLC_SYSERR, "runner: %s", err);
		free(rn);
		if (r != SL_ESYS)
			errno = EINVAL;
		return r;
	}
	rn->cfg = cfg;
	rn->nslots = cfg->max_scripts;
	rn->slots = calloc(rn->nslots, sizeof(*rn->slots));
	rn->pfd = calloc(rn->nslots, sizeof(*rn->pfd));
	if (rn->slots == NULL || rn->pfd == NULL || spawn_new(&rn->sp) != 0) {
		free(rn->slots);
		free(rn->pfd);
		free(rn);
		return SL_ESYS;
	}
	*out = rn;
	return 0;
}

/* Scripts still running are killed: the daemon drains before this. */
void
runner_free(struct runner *rn)
{
	struct rn_slot *s;
	unsigned i;

	if (rn == NULL)
		return;
	for (i = 0; i < rn->nslots; i++) {
		s = &rn->slots[i];
		if (s->state == RN_FREE)
			continue;
		log_msg(LOG_WARNING, SLC_SCRIPT_KILL, "script %s[%d] still "
		    "running at shutdown: SIGKILL to its process group",
		    s->action, (int)s->pid);
		kill(-s->pid, SIGKILL);
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (s->fd >= 0)
			close(s->fd);
		s->state = RN_FREE;
	}
	rn->running = 0;
	rn_wait_leftovers(rn);
	spawn_free(rn->sp);
	free(rn->slots);
	free(rn->pfd);
	free(rn);
}
