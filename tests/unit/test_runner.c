/*
 * test_runner.c - the script runner: argv building, the re-check, and real
 * runs of small shell scripts (argv, environment, descriptors, stdin,
 * signals, output capture, timeouts, max_scripts, reaping).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "runner.h"
#include "grants.h"
#include "knock2.h"
#include "log.h"
#include "util.h"

#define ENV_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static char dir[64];     /* scratch directory for scripts and their records */
static int log_saved = -1;

/* ---- helpers ---- */

static struct config *
mkcfg(const char *constructor)
{
	struct config *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->script_timeout = 5;
	c->max_scripts = 4;
	memset(c->action_by_id, 0xff, sizeof(c->action_by_id));
	memset(c->user_by_id, 0xff, sizeof(c->user_by_id));

	c->nservers = 1;
	snprintf(c->servers[0].name, SL_NAME_MAX, "main");
	c->servers[0].enabled = true;
	c->servers[0].secure = true;
	idset_add(&c->servers[0].actions, 7);
	idset_add(&c->servers[0].actions, 9);
	idset_add(&c->servers[0].actions, 12);

	static const struct { const char *name; int id; bool enabled; } acts[] = {
		{ "open", 7, true }, { "off", 9, false }, { "other", 12, true },
		{ "notsrv", 20, true },
	};
	for (unsigned i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		struct cfg_action *a = &c->actions[i];
		snprintf(a->name, SL_NAME_MAX, "%s", acts[i].name);
		a->id = acts[i].id;
		a->enabled = acts[i].enabled;
		a->exec_split = true;
		snprintf(a->constructor, SL_CMD_MAX, "%s", constructor);
		c->action_by_id[acts[i].id] = (int16_t)i;
		c->nactions++;
	}

	snprintf(c->users[0].name, SL_NAME_MAX, "alice");
	c->users[0].id = 1234;
	c->users[0].enabled = true;
	idset_add(&c->users[0].actions, 7);
	idset_add(&c->users[0].actions, 9);
	idset_add(&c->users[0].actions, 20);
	snprintf(c->users[1].name, SL_NAME_MAX, "bob");
	c->users[1].id = 42;
	c->users[1].enabled = false;
	idset_add(&c->users[1].actions, 7);
	c->user_by_id[1234] = 0;
	c->user_by_id[42] = 1;
	c->nusers = 2;
	return c;
}

static void
mkreq(struct sl_request *r, const char *payload)
{
	memset(r, 0, sizeof(*r));
	r->magic = SL_REQ_MAGIC;
	r->server_idx = 0;
	r->user_id = 1234;
	r->action_id = 7;
	r->secure = 1;
	r->src.family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", r->src.bytes);
	r->payload_len = (uint16_t)strlen(payload);
	memcpy(r->payload, payload, r->payload_len);
}

static void
path_of(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

/* Write an executable script; "@D@" in body stands for the scratch dir. */
static void
write_script(const char *name, const char *body, mode_t mode)
{
	char path[256];
	const char *p, *q;
	FILE *f;

	path_of(path, sizeof(path), name);
	f = fopen(path, "w");
	assert_non_null(f);
	for (p = body; (q = strstr(p, "@D@")) != NULL; p = q + 3)
		fprintf(f, "%.*s%s", (int)(q - p), p, dir);
	fputs(p, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Whole file, NUL-terminated (NULL if missing). */
static char *
slurp(const char *path)
{
	char *buf;
	size_t n = 0, cap = 4096;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	assert_non_null(buf);
	while ((r = read(fd, buf + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (cap - n < 2) {
			buf = realloc(buf, cap *= 2);
			assert_non_null(buf);
		}
	}
	close(fd);
	buf[n] = '\0';
	return buf;
}

static char *
slurp_rec(const char *name)
{
	char path[256];

	path_of(path, sizeof(path), name);
	return slurp(path);
}

static void
assert_file(const char *name, const char *want)
{
	char *got = slurp_rec(name);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static pid_t
read_pid(const char *name)
{
	char *s = slurp_rec(name);
	long v;

	assert_non_null(s);
	v = strtol(s, NULL, 10);
	free(s);
	assert_true(v > 1);
	return (pid_t)v;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The script writes its pid into a file: wait until it is there. */
static pid_t
wait_pid_file(const char *name)
{
	double until = now_s() + 2.0;
	char *s;

	while ((s = slurp_rec(name)) == NULL || strchr(s, '\n') == NULL) {
		free(s);
		if (now_s() > until)
			fail_msg("%s not written", name);
		usleep(5000);
	}
	free(s);
	return read_pid(name);
}

/* Log lines go to stderr (foreground mode); capture them in a file. */
static void
log_capture_start(void)
{
	char path[256];
	int fd;

	path_of(path, sizeof(path), "log");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	log_saved = dup(STDERR_FILENO);
	assert_true(log_saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

static char *
log_capture_end(void)
{
	assert_int_equal(dup2(log_saved, STDERR_FILENO), STDERR_FILENO);
	close(log_saved);
	log_saved = -1;
	return slurp_rec("log");
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("missing \"%s\" in:\n%s", needle, hay);
}

/* Every child this process ever had has been reaped. */
static void
assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* The processes a killed script left behind became ours (we are a
 * subreaper): each must die (by a signal) within 2 s. */
static void
reap_killed_orphans(void)
{
	double until = now_s() + 2.0;
	pid_t r;
	int st;

	while ((r = waitpid(-1, &st, WNOHANG)) != -1) {
		if (r > 0) {
			assert_true(WIFSIGNALED(st));
			continue;
		}
		if (now_s() > until)
			fail_msg("orphans of a killed script still alive");
		usleep(5000);
	}
	assert_int_equal(errno, ECHILD);
}

/*
 * A process of a killed script's group dies within 2 s.  Its parent died
 * of the same SIGKILL and may have reaped it first (a wait4() woken by the
 * child's death returns before the parent's own pending SIGKILL acts), so
 * it is either gone or our zombie.
 */
static void
assert_dies(pid_t pid)
{
	double until = now_s() + 2.0;
	int st;

	for (;;) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			assert_true(WIFSIGNALED(st));
			return;
		}
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return;
		if (now_s() > until)
			fail_msg("process %d still alive", (int)pid);
		usleep(5000);
	}
}

/* The runner killed and reaped a process a script left behind: it does
 * not exist any more, not even as a zombie. */
static void
assert_reaped(pid_t pid)
{
	errno = 0;
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
}

struct run {
	struct config *cfg;
	struct runner *rn;
};

static void
run_open(struct run *r, const char *constructor)
{
	r->cfg = mkcfg(constructor);
	assert_int_equal(runner_new(&r->rn, r->cfg), 0);
}

static void
run_close(struct run *r)
{
	runner_free(r->rn);
	free(r->cfg);
}

/* ---- argv building ---- */

#define TAIL(ip, sec, b64) ip, "1234", "alice", "7", "open", sec, b64
#define P199 "@199" /* 199 bytes of 0xff */

static const struct argv_case {
	const char *cmd;
	bool split;
	const char *payload;  /* P199: 199 x 0xff */
	const char *ip;       /* source address */
	uint8_t secure;
	int rc;
	const char *want[RUNNER_ARGV_MAX + 1];
} argv_cases[] = {
	{ "/opt/a.sh", true, "hi there", "127.0.0.1", 1, 8,
	  { "/opt/a.sh", TAIL("127.0.0.1", "1", "aGkgdGhlcmU=") } },
	{ "/usr/bin/perl /etc/siglatch/grant.pl", true, "", "192.0.2.7", 1, 9,
	  { "/usr/bin/perl", "/etc/siglatch/grant.pl",
	    TAIL("192.0.2.7", "1", "") } },
	{ "/usr/bin/perl /etc/siglatch/grant.pl", false, "", "192.0.2.7", 1, 8,
	  { "/usr/bin/perl /etc/siglatch/grant.pl",
	    TAIL("192.0.2.7", "1", "") } },
	/* the rest of the line is ONE argument, inner spaces kept */
	{ "  /usr/bin/perl    /etc/x.pl --flag  two  ", true, "a", "::1", 1, 9,
	  { "/usr/bin/perl", "/etc/x.pl --flag  two", TAIL("::1", "1", "YQ==") } },
	{ "/opt/a.sh   ", false, "ab", "2001:db8::5", 0, 8,
	  { "/opt/a.sh", TAIL("2001:db8::5", "0", "YWI=") } },
	{ "/opt/a.sh   ", true, "abc", "10.1.2.3", 1, 8,
	  { "/opt/a.sh", TAIL("10.1.2.3", "1", "YWJj") } },
	{ "\t/opt/a.sh\t", true, P199, "127.0.0.1", 1, 8,
	  { "/opt/a.sh", TAIL("127.0.0.1", "1", P199) } },
	{ "/opt/x\t/y", true, "", "127.0.0.1", 1, 8,   /* a tab does not split */
	  { "/opt/x\t/y", TAIL("127.0.0.1", "1", "") } },
	{ "/usr/bin/env FOO=1", true, "", "127.0.0.1", 0, 9,
	  { "/usr/bin/env", "FOO=1", TAIL("127.0.0.1", "0", "") } },
	{ "bin/a.sh", true, "", "127.0.0.1", 1, SL_EINVAL, { NULL } },
	{ "perl /etc/x.pl", true, "", "127.0.0.1", 1, SL_EINVAL, { NULL } },
	{ "perl /etc/x.pl", false, "", "127.0.0.1", 1, SL_EINVAL, { NULL } },
	{ "", true, "", "127.0.0.1", 1, SL_EINVAL, { NULL } },
	{ "   ", true, "", "127.0.0.1", 1, SL_EINVAL, { NULL } },
};

static void
test_argv_table(void **state)
{
	struct config *cfg = mkcfg("/bin/true");
	struct runner_argv *av = malloc(sizeof(*av));
	struct sl_request req;
	char b199[300];
	size_t i, k;
	int rc;

	(void)state;
	assert_non_null(av);
	for (k = 0; k < 66; k++)
		memcpy(b199 + 4 * k, "////", 4);
	memcpy(b199 + 4 * k, "/w==", 5);

	for (i = 0; i < sizeof(argv_cases) / sizeof(argv_cases[0]); i++) {
		const struct argv_case *c = &argv_cases[i];

		mkreq(&req, "");
		if (strcmp(c->payload, P199) == 0) {
			memset(req.payload, 0xff, SL_PAYLOAD_MAX);
			req.payload_len = SL_PAYLOAD_MAX;
		} else {
			req.payload_len = (uint16_t)strlen(c->payload);
			memcpy(req.payload, c->payload, req.payload_len);
		}
		req.src.family = strchr(c->ip, ':') ? AF_INET6 : AF_INET;
		assert_int_equal(inet_pton(req.src.family, c->ip,
		    req.src.bytes), 1);
		req.secure = c->secure;
		memset(av, 0x5a, sizeof(*av));
		rc = runner_build_argv(cfg, &req, c->cmd, c->split, av);
		if (rc != c->rc)
			fail_msg("case %zu (%s): rc %d, want %d", i, c->cmd, rc,
			    c->rc);
		if (rc < 0)
			continue;
		for (k = 0; k < (size_t)rc; k++) {
			const char *want = strcmp(c->want[k], P199) == 0 ?
			    b199 : c->want[k];
			if (strcmp(av->argv[k], want) != 0)
				fail_msg("case %zu argv[%zu] = \"%s\", want \"%s\"",
				    i, k, av->argv[k], want);
		}
		assert_null(av->argv[rc]);
	}

	/* unknown user / action / oversized payload */
	mkreq(&req, "");
	req.user_id = 999;
	assert_int_equal(runner_build_argv(cfg, &req, "/a", true, av), SL_EINVAL);
	mkreq(&req, "");
	req.action_id = 99;
	assert_int_equal(runner_build_argv(cfg, &req, "/a", true, av), SL_EINVAL);
	mkreq(&req, "");
	req.payload_len = SL_PAYLOAD_MAX + 1;
	assert_int_equal(runner_build_argv(cfg, &req, "/a", true, av), SL_EINVAL);
	free(av);
	free(cfg);
}

/* ---- the re-check ---- */

static void m_magic(struct config *c, struct sl_request *r) { (void)c; r->magic ^= 1; }
static void m_server_idx(struct config *c, struct sl_request *r) { (void)c; r->server_idx = 1; }
static void m_server_off(struct config *c, struct sl_request *r) { (void)r; c->servers[0].enabled = false; }
static void m_action_unknown(struct config *c, struct sl_request *r) { (void)c; r->action_id = 99; }
static void m_action_off(struct config *c, struct sl_request *r) { (void)c; r->action_id = 9; }
static void m_user_unknown(struct config *c, struct sl_request *r) { (void)c; r->user_id = 4321; }
static void m_user_off(struct config *c, struct sl_request *r) { (void)c; r->user_id = 42; }
static void m_not_user(struct config *c, struct sl_request *r) { (void)c; r->action_id = 12; }
static void m_not_server(struct config *c, struct sl_request *r) { (void)c; r->action_id = 20; }
static void m_payload_len(struct config *c, struct sl_request *r) { (void)c; r->payload_len = SL_PAYLOAD_MAX + 1; }
static void m_discard(struct config *c, struct sl_request *r) { (void)r; c->actions[0].discard_payload = true; }
static void m_ascii(struct config *c, struct sl_request *r) { c->actions[0].require_ascii = true; r->payload[0] = 0x01; }
static void
m_src(struct config *c, struct sl_request *r)
{
	(void)r;
	c->users[0].allowed_ips.n = 1;
	c->users[0].allowed_ips.c[0].addr.family = AF_INET;
	inet_pton(AF_INET, "10.0.0.0", c->users[0].allowed_ips.c[0].addr.bytes);
	c->users[0].allowed_ips.c[0].prefix = 8;
}
/* the unmodified request: runs (control for the table) */
static void m_none(struct config *c, struct sl_request *r) { (void)c; (void)r; }

static void
test_refusals(void **state)
{
	static const struct {
		const char *what;
		void (*mut)(struct config *, struct sl_request *);
	} cases[] = {
		{ "bad magic", m_magic }, { "server index", m_server_idx },
		{ "server disabled", m_server_off },
		{ "unknown action", m_action_unknown },
		{ "action disabled", m_action_off },
		{ "unknown user", m_user_unknown },
		{ "user disabled", m_user_off },
		{ "action not in user's set", m_not_user },
		{ "action not in server's set", m_not_server },
		{ "payload too long", m_payload_len },
		{ "discard_payload with payload", m_discard },
		{ "require_ascii", m_ascii },
		{ "source not allowed", m_src },
	};
	struct sl_request req;
	struct run r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_open(&r, "/bin/true");
		mkreq(&req, "hi there");
		cases[i].mut(r.cfg, &req);
		if (runner_submit(r.rn, &req) != SL_EDENIED)
			fail_msg("case '%s' not refused", cases[i].what);
		assert_int_equal(runner_get_stats(r.rn)->refused_check, 1);
		assert_int_equal(runner_get_stats(r.rn)->started, 0);
		assert_int_equal(runner_running(r.rn), 0);
		run_close(&r);
	}

	run_open(&r, "/bin/true");
	mkreq(&req, "hi there");
	m_none(r.cfg, &req);
	assert_int_equal(runner_submit(r.rn, &req), 0);
	runner_drain(r.rn);
	assert_int_equal(runner_get_stats(r.rn)->exit_ok, 1);
	assert_int_equal(runner_get_stats(r.rn)->refused_check, 0);
	run_close(&r);
	assert_no_children();
}

static void
test_new_invalid(void **state)
{
	struct config *cfg = mkcfg("/bin/true");
	struct runner *rn;

	(void)state;
	memset(&rn, 0xa5, sizeof(rn));
	cfg->max_scripts = 0;
	assert_int_equal(runner_new(&rn, cfg), SL_EINVAL);
	assert_null(rn);
	cfg->max_scripts = 1025;
	assert_int_equal(runner_new(&rn, cfg), SL_EINVAL);
	cfg->max_scripts = 1;
	cfg->script_timeout = 0;
	assert_int_equal(runner_new(&rn, cfg), SL_EINVAL);
	free(cfg);
}

/* ---- real runs ---- */

static const char rec_script[] =
    "#!/bin/sh\n"
    "for a in \"$0\" \"$@\"; do printf '%s\\n' \"$a\"; done > @D@/argv\n"
    "tr '\\0' '\\n' < /proc/$$/environ > @D@/env\n"
    "cat > @D@/stdin\n"
    "readlink /proc/$$/fd/0 > @D@/fd0\n"
    "l1=$(readlink /proc/$$/fd/1); l2=$(readlink /proc/$$/fd/2)\n"
    "printf '%s\\n%s\\n' \"$l1\" \"$l2\" > @D@/fd12\n"
    "grep -E '^Sig(Blk|Ign)' /proc/self/status > @D@/sig\n"
    "echo \"hello from $SIGLATCH_USER\"\n"
    "printf 'bell\\007 back\\\\slash\\n'\n"
    "echo 'to stderr' >&2\n"
    "printf 'no newline at end'\n"
    /* ls opens its directory on the lowest free descriptor: 3 unless
     * something leaked in */
    "exec ls /proc/self/fd > @D@/fds\n";

static const char want_env[] =
    ENV_PATH "\n"
    "SIGLATCH_IP=127.0.0.1\n"
    "SIGLATCH_USER_ID=1234\n"
    "SIGLATCH_USER=alice\n"
    "SIGLATCH_ACTION_ID=7\n"
    "SIGLATCH_ACTION=open\n"
    "SIGLATCH_SECURE=1\n"
    "SIGLATCH_PAYLOAD=aGkgdGhlcmU=\n"
    "SIGLATCH_SERVER=main\n"
    "SIGLATCH_PHASE=run\n"
    "SIGLATCH_GRANT_TIMEOUT=0\n";

/* Nothing blocked, nothing ignored (the test blocks SIGUSR1 and ignores
 * SIGPIPE and SIGUSR2 while it submits). */
static void
check_signals(void)
{
	unsigned long long blk, ign;
	char *s = slurp_rec("sig");

	assert_non_null(s);
	assert_int_equal(sscanf(s, "SigBlk:\t%llx\nSigIgn:\t%llx", &blk,
	    &ign), 2);
	free(s);
	assert_int_equal(blk, 0);
	assert_int_equal(ign, 0);
}

/* Run rec.sh through `constructor` and check everything it recorded. */
static void
check_rec_run(const char *constructor, bool exec_split, const char *script)
{
	struct sl_request req;
	struct run r;
	char want_argv[512], *fd12, *log;
	sigset_t set, old;
	struct sigaction ign = { .sa_handler = SIG_IGN }, oldpipe, oldusr2;
	int leak1, leak2[2];

	write_script(script, rec_script, 0755);
	run_open(&r, constructor);
	r.cfg->actions[0].exec_split = exec_split;
	mkreq(&req, "hi there");

	/* Things that must not reach the script: inheritable descriptors,
	 * the daemon's environment, blocked and ignored signals. */
	leak1 = open("/dev/null", O_RDONLY);
	assert_true(leak1 > 2);
	assert_int_equal(pipe(leak2), 0);
	setenv("SL_TEST_SECRET", "must-not-leak", 1);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	sigaction(SIGPIPE, &ign, &oldpipe);
	sigaction(SIGUSR2, &ign, &oldusr2);

	log_capture_start();
	assert_int_equal(runner_submit(r.rn, &req), 0);
	sigprocmask(SIG_SETMASK, &old, NULL);
	sigaction(SIGPIPE, &oldpipe, NULL);
	sigaction(SIGUSR2, &oldusr2, NULL);
	unsetenv("SL_TEST_SECRET");
	close(leak1);
	close(leak2[0]);
	close(leak2[1]);
	assert_int_equal(runner_running(r.rn), 1);
	runner_drain(r.rn);
	log = log_capture_end();
	assert_non_null(log);
	assert_int_equal(runner_running(r.rn), 0);
	assert_int_equal(runner_get_stats(r.rn)->started, 1);
	assert_int_equal(runner_get_stats(r.rn)->exit_ok, 1);

	snprintf(want_argv, sizeof(want_argv),
	    "%s/%s\n127.0.0.1\n1234\nalice\n7\nopen\n1\naGkgdGhlcmU=\n",
	    dir, script);
	assert_file("argv", want_argv);
	assert_file("env", want_env);
	assert_file("stdin", "");
	assert_file("fd0", "/dev/null\n");
	assert_file("fds", "0\n1\n2\n3\n");
	check_signals();
	fd12 = slurp_rec("fd12");
	assert_non_null(fd12);
	assert_int_equal(strncmp(fd12, "pipe:[", 6), 0);
	assert_non_null(strchr(fd12, '\n'));
	assert_int_equal(strncmp(fd12, strchr(fd12, '\n') + 1,
	    (size_t)(strchr(fd12, '\n') - fd12)), 0); /* 1 and 2: same pipe */
	free(fd12);

	assert_contains(log, "SL101 script open[");
	assert_contains(log, "started for user alice (1234) from 127.0.0.1");
	assert_contains(log, "]: hello from alice\n");
	assert_contains(log, "]: bell\\x07 back\\x5cslash\n");
	assert_contains(log, "]: to stderr\n");
	assert_contains(log, "]: no newline at end\n");
	assert_contains(log, "SL102 script open[");
	assert_contains(log, "exited with status 0 after");
	free(log);
	run_close(&r);
	assert_no_children();
}

static void
test_run_direct(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "  %s/rec.sh  ", dir);
	check_rec_run(cmd, true, "rec.sh");
}

/* exec_split: "/usr/bin/env SCRIPT" runs SCRIPT with the same arguments. */
static void
test_run_env_split(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "/usr/bin/env   %s/rec2.sh", dir);
	check_rec_run(cmd, true, "rec2.sh");
}

/* exec_split = no: a space belongs to the path. */
static void
test_run_nosplit_space(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "%s/my rec.sh", dir);
	check_rec_run(cmd, false, "my rec.sh");
}

static void
test_exit_status_and_spawn_fail(void **state)
{
	struct sl_request req;
	struct run r;
	char cmd[256], *log;

	(void)state;
	write_script("fail.sh", "#!/bin/sh\nexit 3\n", 0755);
	write_script("noexec.sh", "#!/bin/sh\nexit 0\n", 0644);
	snprintf(cmd, sizeof(cmd), "%s/fail.sh", dir);
	run_open(&r, cmd);
	mkreq(&req, "");
	log_capture_start();
	assert_int_equal(runner_submit(r.rn, &req), 0);
	runner_drain(r.rn);

	snprintf(r.cfg->actions[0].constructor, SL_CMD_MAX, "%s/missing.sh", dir);
	assert_int_equal(runner_submit(r.rn, &req), SL_ESYS);
	snprintf(r.cfg->actions[0].constructor, SL_CMD_MAX, "%s/noexec.sh", dir);
	assert_int_equal(runner_submit(r.rn, &req), SL_ESYS);
	snprintf(r.cfg->actions[0].constructor, SL_CMD_MAX, "fail.sh");
	assert_int_equal(runner_submit(r.rn, &req), SL_EINVAL);
	log = log_capture_end();

	assert_int_equal(runner_get_stats(r.rn)->started, 1);
	assert_int_equal(runner_get_stats(r.rn)->exit_fail, 1);
	assert_int_equal(runner_get_stats(r.rn)->spawn_fail, 3);
	assert_int_equal(runner_running(r.rn), 0);
	assert_contains(log, "exited with status 3 after");
	assert_contains(log, "SL106 script open not started");
	free(log);
	run_close(&r);
	assert_no_children();
}

/* Output logging: line cut at 512 bytes, 4096 bytes logged, the rest of
 * 100 KB read and discarded without blocking the script. */
static void
test_big_output(void **state)
{
	struct sl_request req;
	struct run r;
	char cmd[256], *log, *p;
	double t0;

	(void)state;
	write_script("big.sh",
	    "#!/bin/sh\n"
	    "echo 'first line'\n"
	    "head -c 102400 /dev/zero | tr '\\0' x\n"
	    "echo\n"
	    "echo done > @D@/big.done\n", 0755);
	snprintf(cmd, sizeof(cmd), "%s/big.sh", dir);
	run_open(&r, cmd);
	mkreq(&req, "");
	log_capture_start();
	t0 = now_s();
	assert_int_equal(runner_submit(r.rn, &req), 0);
	runner_drain(r.rn);
	log = log_capture_end();
	assert_true(now_s() - t0 < 2.0);
	assert_file("big.done", "done\n");
	assert_int_equal(runner_get_stats(r.rn)->exit_ok, 1);
	assert_contains(log, "]: first line\n");
	/* 11 + 102401 bytes, 4096 logged */
	assert_contains(log, "]: output truncated, 98316 more bytes discarded\n");
	p = strstr(log, " [line cut]\n");
	assert_non_null(p);
	assert_true(p - log > 512);
	assert_true(strspn(p - 512, "x") == 512);
	assert_true(p[-513] == ' ');
	free(log);
	run_close(&r);
	assert_no_children();
}

/*
 * A script that exits 0 leaving background children, one in its process
 * group and one in a session of its own (setsid): both are killed when it
 * exits and reaped by the runner, never left running or as zombies, and
 * their holding the output pipe open does not keep the slot.
 */
static void
test_leftovers_killed_at_exit(void **state)
{
	struct sl_request req;
	struct run r;
	char cmd[256], *log;
	double t0;
	pid_t bg, bgs;

	(void)state;
	write_script("bg.sh",
	    "#!/bin/sh\n"
	    "sleep 5 &\n"
	    "echo $! > @D@/bg.pid\n"
	    "setsid sleep 5 &\n"
	    "echo $! > @D@/bgs.pid\n"
	    "echo bye\n", 0755);
	snprintf(cmd, sizeof(cmd), "%s/bg.sh", dir);
	run_open(&r, cmd);
	mkreq(&req, "");
	log_capture_start();
	t0 = now_s();
	assert_int_equal(runner_submit(r.rn, &req), 0);
	runner_drain(r.rn);
	log = log_capture_end();
	assert_true(now_s() - t0 < 1.0);
	assert_int_equal(runner_get_stats(r.rn)->exit_ok, 1);
	assert_int_equal(runner_get_stats(r.rn)->killed, 0);
	bg = read_pid("bg.pid");
	bgs = read_pid("bgs.pid");
	/* the runner reaped them: gone, not zombies */
	assert_reaped(bg);
	assert_reaped(bgs);
	assert_int_equal(runner_get_stats(r.rn)->leftovers, 2);
	assert_int_equal(runner_get_stats(r.rn)->leftovers_killed, 2);
	assert_contains(log, "(sleep, process group ");
	assert_contains(log, "left running by a script, killed by signal 9");
	free(log);
	assert_no_children();
	run_close(&r);
	assert_no_children();
}

/*
 * A script that starts a child in a session of its own (setsid, so the
 * kill of its process group at script_timeout cannot reach it) and hangs:
 * the child is killed and reaped when the script is.
 */
static void
test_setsid_child_timeout(void **state)
{
	struct sl_request req;
	struct run r;
	char cmd[256];
	pid_t pid, child;

	(void)state;
	write_script("ss.sh",
	    "#!/bin/sh\n"
	    "setsid sh -c 'echo $$ > @D@/ss.child; exec sleep 100' &\n"
	    "echo $$ > @D@/ss.pid\n"
	    "sleep 100\n", 0755);
	snprintf(cmd, sizeof(cmd), "%s/ss.sh", dir);
	run_open(&r, cmd);
	r.cfg->script_timeout = 1;
	mkreq(&req, "");
	log_capture_start();
	assert_int_equal(runner_submit(r.rn, &req), 0);
	pid = wait_pid_file("ss.pid");
	child = wait_pid_file("ss.child");
	/* out of the script's session and process group */
	assert_int_equal(getsid(child), child);
	assert_int_not_equal(getpgid(child), pid);
	runner_drain(r.rn);
	free(log_capture_end());
	assert_int_equal(runner_get_stats(r.rn)->killed, 1);
	assert_reaped(pid);
	assert_reaped(child);
	assert_true(runner_get_stats(r.rn)->leftovers_killed >= 1);
	run_close(&r);
	assert_no_children();
}

/*
 * A process that a running script detaches from itself (a double fork
 * into a new session: its parent exits, so it comes to the runner) is
 * killed within about RN_SWEEP_MS, while the script still runs.
 */
static void
test_detached_while_running(void **state)
{
	struct sl_request req;
	struct pollfd pfd[4];
	struct run r;
	char cmd[256];
	double until;
	pid_t dd;
	int n;

	(void)state;
	write_script("dd.sh",
	    "#!/bin/sh\n"
	    "( setsid sleep 100 & echo $! > @D@/dd.pid )\n"
	    "sleep 3\n", 0755);
	snprintf(cmd, sizeof(cmd), "%s/dd.sh", dir);
	run_open(&r, cmd);
	mkreq(&req, "");
	log_capture_start();
	assert_int_equal(runner_submit(r.rn, &req), 0);
	dd = wait_pid_file("dd.pid");
	until = now_s() + 1.5;
	while (kill(dd, 0) == 0 && now_s() < until) {
		n = runner_pollfds(r.rn, pfd, 4);
		(void)poll(pfd, (nfds_t)n, 20);
		runner_service(r.rn);
	}
	assert_reaped(dd);
	assert_int_equal(runner_running(r.rn), 1);  /* the script runs on */
	runner_drain(r.rn);
	free(log_capture_end());
	assert_int_equal(runner_get_stats(r.rn)->exit_ok, 1);
	assert_int_equal(runner_get_stats(r.rn)->leftovers_killed, 1);
	run_close(&r);
	assert_no_children();
}

/* script_timeout: SIGTERM to the group; once the script is reaped the
 * group gets SIGKILL, so a child that ignores SIGTERM is gone too. */
static void
test_timeout_term(void **state)
{
	struct sl_request req;
	struct run r;
	char cmd[256], *log;
	double t0, dt;
	pid_t pid, bg;

	(void)state;
	write_script("slow.sh",
	    "#!/bin/sh\n"
	    "echo $$ > @D@/slow.pid\n"
	    "( trap '' TERM; exec sleep 100 ) &\n"
	    "echo $! > @D@/slow.bg\n"
	    "sleep 100\n", 0755);
	snprintf(cmd, sizeof(cmd), "%s/slow.sh", dir);
	run_open(&r, cmd);
	r.cfg->script_timeout = 1;
	mkreq(&req, "");
	log_capture_start();
	t0 = now_s();
	assert_int_equal(runner_submit(r.rn, &req), 0);
	assert_in_range(runner_next_timeout_ms(r.rn), 900, 1000);
	runner_drain(r.rn);
	dt = now_s() - t0;
	log = log_capture_end();
	assert_true(dt >= 0.95 && dt < 1.9);
	assert_int_equal(runner_get_stats(r.rn)->killed, 1);
	assert_int_equal(runner_get_stats(r.rn)->exit_fail, 1);
	assert_int_equal(runner_next_timeout_ms(r.rn), -1);
	assert_contains(log, "SL104 script open[");
	assert_contains(log, "SIGTERM to its process group");
	assert_contains(log, "killed by signal 15");
	free(log);
	run_close(&r);

	pid = read_pid("slow.pid");
	errno = 0;
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1); /* reaped */
	assert_int_equal(errno, ECHILD);
	/* the child that ignored SIGTERM got SIGKILL with the group, and
	 * the runner reaped it */
	bg = read_pid("slow.bg");
	assert_reaped(bg);
	reap_killed_orphans();
}

/* A script that ignores SIGTERM gets SIGKILL 2 s later, with its group. */
static void
test_timeout_kill(void **state)
{
	struct sl_request req;
	struct run r;
	char cmd[256], *log;
	double t0, dt;

	(void)state;
	write_script("stubborn.sh",
	    "#!/bin/sh\n"
	    "trap '' TERM\n"
	    "sleep 100 &\n"
	    "echo $! > @D@/stubborn.bg\n"
	    "sleep 100\n", 0755);
	snprintf(cmd, sizeof(cmd), "%s/stubborn.sh", dir);
	run_open(&r, cmd);
	r.cfg->script_timeout = 1;
	mkreq(&req, "");
	log_capture_start();
	t0 = now_s();
	assert_int_equal(runner_submit(r.rn, &req), 0);
	runner_drain(r.rn);
	dt = now_s() - t0;
	log = log_capture_end();
	assert_true(dt >= 2.95 && dt < 3.9);
	assert_int_equal(runner_get_stats(r.rn)->killed, 1);
	assert_int_equal(runner_get_stats(r.rn)->exit_fail, 1);
	assert_contains(log, "SIGTERM to its process group");
	assert_contains(log, "SIGKILL to its process group");
	assert_contains(log, "killed by signal 9");
	free(log);
	run_close(&r);

	assert_dies(read_pid("stubborn.bg"));
	reap_killed_orphans();
}

/* max_scripts: the third concurrent request is refused, never queued. */
static void
test_busy(void **state)
{
	struct sl_request req;
	struct pollfd pfd[4];
	struct run r;
	char cmd[256];
	int t;

	(void)state;
	write_script("nap.sh", "#!/bin/sh\nexec sleep 0.2\n", 0755);
	snprintf(cmd, sizeof(cmd), "%s/nap.sh", dir);
	r.cfg = mkcfg(cmd);
	r.cfg->max_scripts = 2;
	assert_int_equal(runner_new(&r.rn, r.cfg), 0);
	assert_int_equal(runner_next_timeout_ms(r.rn), -1);
	mkreq(&req, "x");

	assert_int_equal(runner_submit(r.rn, &req), 0);
	assert_int_equal(runner_submit(r.rn, &req), 0);
	assert_int_equal(runner_submit(r.rn, &req), SL_EBUSY);
	assert_int_equal(runner_running(r.rn), 2);
	assert_int_equal(runner_pollfds(r.rn, pfd, 4), 2);
	assert_int_equal(pfd[0].events, POLLIN);
	assert_true(pfd[0].fd > 2 && pfd[1].fd > 2 && pfd[0].fd != pfd[1].fd);
	assert_int_equal(fcntl(pfd[0].fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(fcntl(pfd[0].fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	assert_int_equal(runner_pollfds(r.rn, pfd, 1), 1);
	/* script_timeout is 5 s away; the next look for what the scripts
	 * may have detached from themselves comes first */
	t = runner_next_timeout_ms(r.rn);
	assert_in_range(t, 900, 1000);
	runner_service(r.rn); /* never blocks */
	assert_int_equal(runner_running(r.rn), 2);
	runner_drain(r.rn);
	assert_int_equal(runner_running(r.rn), 0);
	/* slots are reused */
	assert_int_equal(runner_submit(r.rn, &req), 0);
	runner_drain(r.rn);

	assert_int_equal(runner_get_stats(r.rn)->started, 3);
	assert_int_equal(runner_get_stats(r.rn)->exit_ok, 3);
	assert_int_equal(runner_get_stats(r.rn)->refused_busy, 1);
	run_close(&r);
	assert_no_children();
}

/* runner_free kills and reaps what is still running. */
static void
test_free_running(void **state)
{
	struct sl_request req;
	struct run r;
	char cmd[256];
	pid_t pid;

	(void)state;
	write_script("long.sh", "#!/bin/sh\necho $$ > @D@/long.pid\n"
	    "exec sleep 100\n", 0755);
	snprintf(cmd, sizeof(cmd), "%s/long.sh", dir);
	run_open(&r, cmd);
	mkreq(&req, "");
	log_capture_start();
	assert_int_equal(runner_submit(r.rn, &req), 0);
	pid = wait_pid_file("long.pid");
	run_close(&r);
	free(log_capture_end());
	errno = 0;
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_no_children();
}

/* ---- run_as ---- */

static const char id_script[] =
    "#!/bin/sh\n"
    "id -u > @D@/as/uid\n"
    "id -g > @D@/as/gid\n"
    "id -G > @D@/as/groups\n"
    "echo \"$SIGLATCH_USER\" > @D@/as/env\n";

/* As root: a script of an action with run_as runs with that user's uid,
 * gid and only its primary group; its own output still reaches the log. */
static void
test_run_as(void **state)
{
	struct sl_request req;
	struct passwd *pw;
	struct run r;
	char cmd[256], path[256], want[64], *log;

	(void)state;
	if (geteuid() != 0)
		skip();
	pw = getpwnam("nobody");
	assert_non_null(pw);
	/* nobody must reach the script and write its records */
	assert_int_equal(chmod(dir, 0711), 0);
	path_of(path, sizeof(path), "as");
	assert_int_equal(mkdir(path, 0777), 0);
	assert_int_equal(chmod(path, 0777), 0);
	write_script("id.sh", id_script, 0755);
	snprintf(cmd, sizeof(cmd), "%s/id.sh", dir);
	r.cfg = mkcfg(cmd);
	snprintf(r.cfg->actions[0].run_as, SL_NAME_MAX, "nobody");
	assert_int_equal(runner_new(&r.rn, r.cfg), 0);
	mkreq(&req, "");
	log_capture_start();
	assert_int_equal(runner_submit(r.rn, &req), 0);
	runner_drain(r.rn);
	log = log_capture_end();
	assert_int_equal(runner_get_stats(r.rn)->exit_ok, 1);
	snprintf(want, sizeof(want), "%u\n", (unsigned)pw->pw_uid);
	assert_file("as/uid", want);
	snprintf(want, sizeof(want), "%u\n", (unsigned)pw->pw_gid);
	assert_file("as/gid", want);
	assert_file("as/groups", want);
	assert_file("as/env", "alice\n");
	assert_contains(log, "exited with status 0");
	free(log);

	run_close(&r);

	/* the same action without run_as: root, as before */
	run_open(&r, cmd);
	assert_int_equal(runner_submit(r.rn, &req), 0);
	runner_drain(r.rn);
	assert_file("as/uid", "0\n");
	run_close(&r);

	/* a program nobody may not execute: refused at once, EACCES */
	path_of(path, sizeof(path), "private");
	assert_int_equal(mkdir(path, 0700), 0);
	write_script("private/id.sh", id_script, 0755);
	snprintf(cmd, sizeof(cmd), "%s/id.sh", path);
	r.cfg = mkcfg(cmd);
	snprintf(r.cfg->actions[0].run_as, SL_NAME_MAX, "nobody");
	assert_int_equal(runner_new(&r.rn, r.cfg), 0);
	log_capture_start();
	assert_int_equal(runner_submit(r.rn, &req), SL_ESYS);
	log = log_capture_end();
	assert_contains(log, "SL106 script open not started: ");
	assert_contains(log, "/private/id.sh: Permission denied");
	assert_int_equal(runner_get_stats(r.rn)->spawn_fail, 1);
	assert_int_equal(runner_running(r.rn), 0);
	free(log);
	run_close(&r);
	assert_int_equal(chmod(dir, 0700), 0);
	assert_no_children();
}

/* An unknown run_as user stops runner_new, naming file, line and key; a
 * disabled action's user is not looked up. */
static void
test_run_as_unknown(void **state)
{
	struct config *cfg = mkcfg("/bin/true");
	struct runner *rn;
	char *log;

	(void)state;
	snprintf(cfg->path, sizeof(cfg->path), "t.conf");
	snprintf(cfg->actions[1].run_as, SL_NAME_MAX, "sl-no-such-user");
	cfg->actions[1].run_as_line = 12;
	assert_int_equal(runner_new(&rn, cfg), 0);  /* "off" is disabled */
	runner_free(rn);
	snprintf(cfg->actions[2].run_as, SL_NAME_MAX, "sl-no-such-user");
	cfg->actions[2].run_as_line = 17;
	log_capture_start();
	assert_int_equal(runner_new(&rn, cfg), SL_ENOENT);
	log = log_capture_end();
	assert_null(rn);
	assert_contains(log, "runner: t.conf:17: [action:other] key 'run_as': "
	    "no user 'sl-no-such-user' on this system");
	free(log);
	free(cfg);
}

/* ---- timed grants: fail closed when the record cannot be written ---- */

static struct sl_result results[8];
static unsigned nresults;

static void
on_result(void *arg, const struct sl_result *res)
{
	(void)arg;
	assert_true(nresults < sizeof(results) / sizeof(results[0]));
	results[nresults++] = *res;
}

/*
 * grants/grants.tmp made a directory: every save fails, as on a full
 * state_dir.  A knock that would make a grant is refused before its
 * constructor runs (receipt: failed, not started) and leaves no entry; a
 * knock for a live grant does not extend it and runs no rerun; once the
 * file can be written, both work again.
 */
static void
test_grant_unsaved(void **state)
{
	char gdir[128], tmp[192], cmd[256], *log;
	struct sl_request req;
	struct grants *gt;
	struct grant *g;
	struct run r;
	int64_t exp;

	(void)state;
	write_script("grant.sh", "#!/bin/sh\n"
	    "echo \"$SIGLATCH_PHASE\" >> @D@/phases\n", 0755);
	snprintf(cmd, sizeof(cmd), "%s/grant.sh", dir);
	path_of(gdir, sizeof(gdir), "gstate");
	assert_int_equal(mkdir(gdir, 0700), 0);
	snprintf(tmp, sizeof(tmp), "%s/grants/grants.tmp", gdir);
	r.cfg = mkcfg(cmd);
	r.cfg->grant_max_lifetime = 3600;
	snprintf(r.cfg->actions[0].destructor, SL_CMD_MAX, "%s", cmd);
	r.cfg->actions[0].keepalive_interval = 60;
	r.cfg->actions[0].rerun_on_extend = true;
	assert_int_equal(runner_new(&r.rn, r.cfg), 0);
	assert_int_equal(grants_new(&gt, 4, 3600), 0);
	log_capture_start();
	assert_int_equal(grants_attach(gt, gdir, sl_wall_ms(), cmd,
	    sizeof(cmd)), 0);
	runner_set_grants(r.rn, gt);
	runner_set_reporter(r.rn, on_result, NULL);
	nresults = 0;
	mkreq(&req, "");
	req.ticket = 11;

	/* a new grant that cannot be written: refused, nothing runs */
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_int_equal(runner_submit(r.rn, &req), SL_ESYS);
	assert_int_equal(runner_running(r.rn), 0);
	assert_int_equal(runner_get_stats(r.rn)->started, 0);
	assert_int_equal(grants_count(gt, GS_FREE), 0);
	assert_int_equal(nresults, 1);
	assert_int_equal(results[0].ticket, 11);
	assert_int_equal(results[0].status, K2_ST_FAILED);
	assert_int_equal(results[0].value, K2_VAL_NOT_STARTED);

	/* writable again: the grant is made */
	assert_int_equal(rmdir(tmp), 0);
	req.ticket = 12;
	assert_int_equal(runner_submit(r.rn, &req), 0);
	runner_drain(r.rn);
	g = grants_find(gt, "main", 1234, 7, &req.src);
	assert_non_null(g);
	assert_int_equal(g->state, GS_LIVE);
	exp = g->expires_ms;
	assert_int_equal(nresults, 2);
	assert_int_equal(results[1].status, K2_ST_DONE);
	assert_in_range(results[1].value, 59, 60);

	/* an extension that cannot be written: not extended, no rerun */
	usleep(20000);
	assert_int_equal(mkdir(tmp, 0700), 0);
	req.ticket = 13;
	assert_int_equal(runner_submit(r.rn, &req), SL_ESYS);
	assert_int_equal(runner_running(r.rn), 0);
	assert_int_equal(g->expires_ms, exp);
	assert_int_equal(g->extensions, 0);
	assert_int_equal(nresults, 3);
	assert_int_equal(results[2].status, K2_ST_FAILED);
	assert_int_equal(results[2].value, K2_VAL_NOT_STARTED);

	/* writable again: extended, rerun */
	assert_int_equal(rmdir(tmp), 0);
	req.ticket = 14;
	assert_int_equal(runner_submit(r.rn, &req), 0);
	runner_drain(r.rn);
	assert_true(g->expires_ms > exp);
	assert_int_equal(nresults, 4);
	assert_int_equal(results[3].status, K2_ST_DONE);
	log = log_capture_end();
	assert_file("phases", "grant\nextend\n");
	assert_int_equal(runner_get_stats(r.rn)->started, 2);
	assert_contains(log, "SL302 grant open for user alice from 127.0.0.1 "
	    "refused: grant state could not be written (Is a directory); "
	    "constructor not run");
	assert_contains(log, "SL302 grant open for user alice from 127.0.0.1 "
	    "not extended: grant state could not be written (Is a "
	    "directory); it lapses as before, in 60 s");
	free(log);
	run_close(&r);
	grants_free(gt);
	assert_no_children();
}

/* ---- fixture ---- */

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static int
group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sl-runner-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	log_init("test_runner", 1, 0);
	/* Orphaned background processes of the scripts become our children,
	 * so the tests can check how they died. */
	return prctl(PR_SET_CHILD_SUBREAPER, 1) == 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv_table),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_new_invalid),
		cmocka_unit_test(test_run_direct),
		cmocka_unit_test(test_run_env_split),
		cmocka_unit_test(test_run_nosplit_space),
		cmocka_unit_test(test_exit_status_and_spawn_fail),
		cmocka_unit_test(test_big_output),
		cmocka_unit_test(test_leftovers_killed_at_exit),
		cmocka_unit_test(test_setsid_child_timeout),
		cmocka_unit_test(test_detached_while_running),
		cmocka_unit_test(test_timeout_term),
		cmocka_unit_test(test_timeout_kill),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_free_running),
		cmocka_unit_test(test_run_as),
		cmocka_unit_test(test_run_as_unknown),
		cmocka_unit_test(test_grant_unsaved),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
