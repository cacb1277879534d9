/*
 * test_privsep.c - privilege separation: user lookups and the run_as keys,
 * dropping root (as root; skipped otherwise), the state directory's owner,
 * and the seccomp sandbox: a forked child installs it and runs the network
 * process's steady state (journal, stats file, recvmmsg, hand-off, RSA
 * decryption on worker threads, syslog, log reopening, malloc ...) and must
 * exit 0, while each forbidden call, from the main thread or a worker, dies
 * of SIGSYS (tgkill to another process ...), and the refused ones (connect,
 * a new syslog socket, openat in a way the daemon never opens) fail with
 * EACCES and achieve nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "config.h"
#include "crypto.h"
#include "log.h"
#include "net.h"
#include "privsep.h"
#include "replay.h"
#include "request.h"
#include "stats.h"
#include "util.h"

/* AddressSanitizer builds: the filter only logs, the process stays
 * dumpable (see privsep.h) */
#if defined(__SANITIZE_ADDRESS__)
# define SANITIZER 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define SANITIZER 1
# endif
#endif
#ifndef SANITIZER
# define SANITIZER 0
#endif

static char tmpdir[] = "/tmp/sl_test_privsep_XXXXXX";
static char err[2048];
static uid_t nobody_uid;
static gid_t nobody_gid;
static uid_t work_uid;       /* whom the sandboxed workload runs as */
static gid_t work_gid;

static bool started_as_root;

/* Whether the test started as root (a child that dropped still knows). */
static bool
is_root(void)
{
	return started_as_root;
}

static void
path_of(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmpdir, name);
}

static void
touch(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x\n", 2), 2);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

/* A fresh empty directory under tmpdir. */
static void
fresh_dir(char *out, size_t n, const char *name)
{
	path_of(out, n, name);
	(void)nftw(out, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	assert_int_equal(mkdir(out, 0755), 0);
}

/* Run fn in a forked child; returns its wait status. */
static int
in_child(int (*fn)(void *), void *arg)
{
	pid_t pid;
	int st = 0;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

/* steps[]: what each exit status of the child means, NULL-terminated */
static void
expect_exit0(int st, const char *what, const char *const *steps)
{
	int i, n = 0;

	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return;
	if (WIFSIGNALED(st))
		fail_msg("%s: killed by signal %d%s", what, WTERMSIG(st),
		    WTERMSIG(st) == SIGSYS ? " (a system call outside the "
		    "sandbox: run it under strace -f to see which)" : "");
	for (i = 0; steps[i] != NULL; i++)
		n++;
	fail_msg("%s: failed at step %d (%s): %s", what, WEXITSTATUS(st),
	    WEXITSTATUS(st) < n ? steps[WEXITSTATUS(st)] : "?", err);
}

/* ---- user lookups and the run_as keys ---------------------------------- */

static void
test_resolve(void **state)
{
	static const struct {
		const char *user;
		int rc;
		const char *msg;
	} rows[] = {
		{ "root", 0, NULL },
		{ "nobody", 0, NULL },
		{ "sl-no-such-user", SL_ENOENT,
		  "no user 'sl-no-such-user' on this system" },
		{ "", SL_EINVAL, "no user name" },
	};
	struct passwd *pw;
	uid_t uid;
	gid_t gid;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uid = 4242;
		gid = 4242;
		err[0] = '\0';
		rc = privsep_resolve(rows[i].user, &uid, &gid, err, sizeof(err));
		if (rc != rows[i].rc)
			fail_msg("%s: rc %d, want %d (%s)", rows[i].user, rc,
			    rows[i].rc, err);
		if (rc != 0) {
			assert_string_equal(err, rows[i].msg);
			assert_int_equal(uid, 4242);
			continue;
		}
		pw = getpwnam(rows[i].user);
		assert_non_null(pw);
		assert_int_equal(uid, pw->pw_uid);
		assert_int_equal(gid, pw->pw_gid);
	}
}

static struct config *
parse(const char *text)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	assert_non_null(cfg);
	if (config_parse_string(cfg, "t.conf", text, err, sizeof(err)) != 0)
		fail_msg("config: %s\n%s", err, text);
	return cfg;
}

#define P "priv_key_path = /k.pem\n[server:s]\n"   /* lines 1-2 */
#define ACT(n, id) "[action:" n "]\nid = " #id "\nconstructor = /bin/true\n"

/* The default run_as is the siglatch system user; where it does not
 * exist, the error says how to make it. */
static void
test_default_user(void **state)
{
	struct privsep_ids net;
	struct config *cfg;
	struct passwd *pw;
	int rc;

	(void)state;
	cfg = parse(P);
	assert_string_equal(cfg->run_as, "siglatch");
	assert_string_equal(cfg->run_as, PRIVSEP_USER);
	err[0] = '\0';
	rc = privsep_config_ids(cfg, &net, NULL, err, sizeof(err));
	if ((pw = getpwnam("siglatch")) != NULL) {
		assert_int_equal(rc, 0);
		assert_int_equal(net.uid, pw->pw_uid);
	} else {
		assert_int_equal(rc, SL_ENOENT);
		assert_non_null(strstr(err, "t.conf: key 'run_as' (not set, "
		    "default 'siglatch'): no user 'siglatch' on this system; "
		    "create the system user with: useradd --system"));
	}
	free(cfg);
}

static void
test_config_ids(void **state)
{
	static const struct {
		const char *text;
		int rc;          /* when root; not root: see below */
		const char *msg; /* prefix */
	} rows[] = {
		{ P, 0, NULL },
		{ "run_as = nobody\n" P, 0, NULL },
		{ P ACT("a", 1) "run_as =\n", 0, NULL },
		{ "run_as = sl-nouser\n" P, SL_ENOENT,
		  "t.conf:1: key 'run_as': no user 'sl-nouser' on this system; "
		  "set run_as to an unprivileged user" },
		{ "run_as = root\n" P, SL_ECONFIG,
		  "t.conf:1: key 'run_as': 'root' is uid 0; the network process "
		  "must run as an unprivileged user" },
		{ P ACT("a", 1) ACT("b", 2) "run_as = sl-nouser\n", SL_ENOENT,
		  "t.conf:9: [action:b] key 'run_as': no user 'sl-nouser' on "
		  "this system" },
		/* a disabled action's user is not looked up */
		{ P ACT("a", 1) "enabled = no\nrun_as = sl-nouser\n", 0, NULL },
		{ P ACT("a", 1) "run_as = nobody\n", 0, NULL },
		{ P ACT("a", 1) "run_as = root\n", 0, NULL },
	};
	struct privsep_ids net, act[SL_MAX_ACTIONS];
	struct config *cfg;
	size_t i;
	int rc, want;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		cfg = parse(rows[i].text);
		/* the default user (siglatch) may not exist on a test
		 * machine: these rows stand in nobody for it (its own
		 * test is test_default_user) */
		if (cfg->run_as_line == 0)
			sl_strlcpy(cfg->run_as, "nobody", sizeof(cfg->run_as));
		memset(act, 0xa5, sizeof(act));
		err[0] = '\0';
		rc = privsep_config_ids(cfg, &net, act, err, sizeof(err));
		want = rows[i].rc;
		/* not root: only the daemon's own user may run scripts */
		if (!is_root() && want == 0 && cfg->nactions > 0 &&
		    cfg->actions[0].enabled && cfg->actions[0].run_as[0] != '\0'
		    && getpwnam(cfg->actions[0].run_as)->pw_uid != geteuid())
			want = SL_EPERM;
		if (rc != want)
			fail_msg("row %zu: rc %d, want %d: %s", i, rc, want, err);
		if (rows[i].msg != NULL &&
		    strncmp(err, rows[i].msg, strlen(rows[i].msg)) != 0)
			fail_msg("row %zu: err '%s', want '%s'", i, err,
			    rows[i].msg);
		if (rc == SL_EPERM)
			assert_non_null(strstr(err, "needs siglatchd to run as "
			    "root"));
		if (rc == 0) {
			assert_true(net.set);
			assert_int_equal(net.uid, nobody_uid);
			assert_int_equal(net.gid, nobody_gid);
			if (cfg->nactions > 0) {
				const struct cfg_action *a = &cfg->actions[0];
				bool set = a->enabled && a->run_as[0] != '\0' &&
				    is_root();

				assert_int_equal(act[0].set, set);
				if (set && strcmp(a->run_as, "nobody") == 0)
					assert_int_equal(act[0].uid, nobody_uid);
				if (set && strcmp(a->run_as, "root") == 0)
					assert_int_equal(act[0].uid, 0);
			}
			/* net NULL: only the actions */
			assert_int_equal(privsep_config_ids(cfg, NULL, NULL, err,
			    sizeof(err)), 0);
		}
		free(cfg);
	}
	/* the top-level default is named as such */
	cfg = parse(P);
	snprintf(cfg->run_as, sizeof(cfg->run_as), "sl-nouser");
	assert_int_equal(privsep_config_ids(cfg, &net, NULL, err, sizeof(err)),
	    SL_ENOENT);
	assert_string_equal(err, "t.conf: key 'run_as' (not set, default "
	    "'sl-nouser'): no user 'sl-nouser' on this system; set run_as to "
	    "an unprivileged user");
	/* ... and skipped with net NULL */
	assert_int_equal(privsep_config_ids(cfg, NULL, NULL, err, sizeof(err)),
	    0);
	free(cfg);
}

/* ---- dropping root ------------------------------------------------------ */

/* A "Name:\tvalue" line of /proc/self/status, as a number (base 16 for
 * capability masks). */
static unsigned long long
proc_status(const char *name, int base)
{
	char line[256];
	size_t n = strlen(name);
	unsigned long long v = ~0ull;
	FILE *f = fopen("/proc/self/status", "re");

	if (f == NULL)
		return v;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ':')
			v = strtoull(line + n + 1, NULL, base);
	fclose(f);
	return v;
}

static const char *const drop_steps[] = {
	"ok", "privsep_drop", "getresuid", "getresgid", "getgroups",
	"setuid(0) succeeded", "seteuid(0) succeeded", "capabilities left",
	"no_new_privs not set", "still dumpable", "setgroups succeeded",
	"privsep_drop(0) not refused", "a second privsep_drop", NULL,
};

static int
drop_child(void *arg)
{
	uid_t r, e, s;
	gid_t rg, eg, sg, groups[8];
	char e2[256];

	(void)arg;
	if (privsep_drop(0, 0, e2, sizeof(e2)) != SL_EINVAL)
		return 11;
	if (privsep_drop(nobody_uid, nobody_gid, e2, sizeof(e2)) != 0)
		return 1;
	if (getresuid(&r, &e, &s) != 0 || r != nobody_uid || e != nobody_uid ||
	    s != nobody_uid)
		return 2;
	if (getresgid(&rg, &eg, &sg) != 0 || rg != nobody_gid ||
	    eg != nobody_gid || sg != nobody_gid)
		return 3;
	if (getgroups(8, groups) != 1 || groups[0] != nobody_gid)
		return 4;
	if (setuid(0) == 0 || errno != EPERM)
		return 5;
	if (seteuid(0) == 0)
		return 6;
	if (proc_status("CapEff", 16) != 0 || proc_status("CapPrm", 16) != 0 ||
	    proc_status("CapInh", 16) != 0 || proc_status("CapAmb", 16) != 0)
		return 7;
	if (proc_status("NoNewPrivs", 10) != 1)
		return 8;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != SANITIZER)
		return 9;
	if (setgroups(0, NULL) == 0)
		return 10;
	/* now not root: nothing more to drop, and that is fine */
	if (privsep_drop(nobody_uid, nobody_gid, e2, sizeof(e2)) != 0)
		return 12;
	return 0;
}

static void
test_drop_root(void **state)
{
	(void)state;
	if (!is_root())
		skip();
	expect_exit0(in_child(drop_child, NULL), "drop as root", drop_steps);
}

static const char *const nonroot_steps[] = {
	"ok", "becoming another user", "privsep_drop", "ids changed",
	"no_new_privs not set", "capabilities left", NULL,
};

/* Not root: ids stay, no_new_privs is set, capabilities are cleared. */
static int
nonroot_child(void *arg)
{
	uid_t me;
	char e2[256];

	(void)arg;
	if (is_root() && (setgroups(1, &nobody_gid) != 0 ||
	    setresgid(nobody_gid, nobody_gid, nobody_gid) != 0 ||
	    setresuid(nobody_uid, nobody_uid, nobody_uid) != 0))
		return 1;
	me = getuid();
	if (proc_status("NoNewPrivs", 10) != 0)
		return 4;  /* must start unset, or the test proves nothing */
	if (privsep_drop(me == 4321 ? 4322 : 4321, 4321, e2, sizeof(e2)) != 0)
		return 2;
	if (getuid() != me || geteuid() != me)
		return 3;
	if (proc_status("NoNewPrivs", 10) != 1)
		return 4;
	if (proc_status("CapEff", 16) != 0 || proc_status("CapPrm", 16) != 0)
		return 5;
	return 0;
}

static void
test_drop_not_root(void **state)
{
	(void)state;
	expect_exit0(in_child(nonroot_child, NULL), "drop when not root",
	    nonroot_steps);
}

/* ---- the state directory ------------------------------------------------ */

static void
assert_owner(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	if (st.st_uid != uid || st.st_gid != gid || (st.st_mode & 07777) != mode)
		fail_msg("%s: %u:%u %04o, want %u:%u %04o", path,
		    (unsigned)st.st_uid, (unsigned)st.st_gid,
		    (unsigned)(st.st_mode & 07777), (unsigned)uid,
		    (unsigned)gid, (unsigned)mode);
}

static void
test_chown_state(void **state)
{
	char dir[256], p[512], outside[256], lnk[256];

	(void)state;
	fresh_dir(dir, sizeof(dir), "state");
	if (!is_root()) {
		/* nothing to do, whatever the directory */
		assert_int_equal(privsep_chown_state("/nonexistent", 1, 1, err,
		    sizeof(err)), 0);
		skip();
	}
	assert_int_equal(chmod(dir, 0750), 0);
	snprintf(p, sizeof(p), "%s/replay.state", dir);
	touch(p, 0644);
	snprintf(p, sizeof(p), "%s/siglatchd.stats", dir);
	touch(p, 0640);
	snprintf(p, sizeof(p), "%s/sub", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/sub/inner", dir);
	touch(p, 0644);
	path_of(outside, sizeof(outside), "outside");
	touch(outside, 0644);
	snprintf(lnk, sizeof(lnk), "%s/link", dir);
	assert_int_equal(symlink(outside, lnk), 0);

	err[0] = '\0';
	if (privsep_chown_state(dir, nobody_uid, nobody_gid, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_owner(dir, nobody_uid, nobody_gid, 0700);
	snprintf(p, sizeof(p), "%s/replay.state", dir);
	assert_owner(p, nobody_uid, nobody_gid, 0600);
	snprintf(p, sizeof(p), "%s/siglatchd.stats", dir);
	assert_owner(p, nobody_uid, nobody_gid, 0600);
	/* not followed, not descended into */
	assert_owner(outside, 0, 0, 0644);
	snprintf(p, sizeof(p), "%s/sub", dir);
	assert_owner(p, 0, 0, 0755);
	snprintf(p, sizeof(p), "%s/sub/inner", dir);
	assert_owner(p, 0, 0, 0644);

	/* a hard link to a file elsewhere is refused, the file untouched */
	snprintf(p, sizeof(p), "%s/hard", dir);
	assert_int_equal(link(outside, p), 0);
	assert_int_equal(privsep_chown_state(dir, nobody_uid, nobody_gid, err,
	    sizeof(err)), SL_EPERM);
	assert_non_null(strstr(err, "/hard has 2 hard links: not changing its "
	    "owner"));
	assert_owner(outside, 0, 0, 0644);
	unlink(p);

	/* state_dir itself a symbolic link; missing */
	path_of(p, sizeof(p), "statelink");
	unlink(p);
	assert_int_equal(symlink(dir, p), 0);
	assert_int_equal(privsep_chown_state(p, nobody_uid, nobody_gid, err,
	    sizeof(err)), SL_ESYS);
	assert_non_null(strstr(err, "(a symbolic link? name the real "
	    "directory)"));
	unlink(p);
	path_of(p, sizeof(p), "missing");
	assert_int_equal(privsep_chown_state(p, nobody_uid, nobody_gid, err,
	    sizeof(err)), SL_ESYS);
	assert_non_null(strstr(err, "No such file or directory"));
	unlink(outside);
}

/* ---- the sandbox: the steady state of the network process --------------- */

struct work {
	char state[256];
	struct crypto_dec *dec[3];     /* [0] main thread, [1..2] workers */
	uint8_t ct[SL_DGRAM_LEN], pt[SL_PACKET_LEN];
	struct replay *replay;
	int udp_rx, udp_tx;            /* 127.0.0.1, tx connected to rx */
	int pair[2];                   /* the hand-off socketpair */
	int efd;                       /* workers -> main thread */
	pid_t peer;                    /* stands for the runner ... */
	int peer_fd;                   /* ... which exits when this closes */
	pthread_t threads[2];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int go, ok[2];
	struct net_batch batch;
};

struct worker {
	struct work *w;
	int id;
};

#define WORKER_BLOCKS 400   /* of 100000 bytes: 40 MB */

/* A decryption worker: waits (futex) until the sandbox is on, decrypts,
 * wakes the main thread through the eventfd, exits. */
static void *
worker(void *arg)
{
	struct worker *k = arg;
	struct work *w = k->w;
	uint8_t pt[SL_PACKET_LEN];
	uint64_t one = 1;
	char *big[WORKER_BLOCKS];
	int i;

	pthread_mutex_lock(&w->mu);
	while (!w->go)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	if (w->go == 2) {        /* a forbidden call from a worker */
		(void)socket(AF_INET, SOCK_DGRAM, 0);
		return NULL;
	}
	w->ok[k->id] = crypto_dec_knock(w->dec[1 + k->id], w->ct, pt) == 0 &&
	    memcmp(pt, w->pt, sizeof(pt)) == 0;
	/* a thread's malloc arena grows and shrinks (by more than the trim
	 * threshold, which the main thread's big blocks raised to 32 MiB):
	 * glibc then reads /proc/sys/vm/overcommit_memory once (refused, and
	 * it copes) */
	for (i = 0; i < WORKER_BLOCKS; i++)
		if ((big[i] = malloc(100000)) != NULL)
			big[i][99999] = 1;
	for (i = WORKER_BLOCKS - 1; i >= 0; i--)
		free(big[i]);
	if (write(w->efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		w->ok[k->id] = 0;
	return NULL;
}

static struct worker wargs[2];

static size_t
read_vec(const char *name, uint8_t *buf, size_t cap)
{
	char path[256];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "tests/vectors/%s", name);
	if ((f = fopen(path, "rb")) == NULL)
		return 0;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* Everything the network process sets up before its sandbox; full: also
 * the worker threads and a child standing for the runner. */
static int
work_setup(struct work *w, bool full)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	EVP_PKEY *priv = NULL;
	enum replay_load how;
	int i, p[2];
	char c;

	if (crypto_load_private("tests/vectors/server.priv.pem", 0, &priv, err,
	    sizeof(err)) != 0)
		return -1;
	for (i = 0; i < 3; i++)
		if (crypto_dec_new(priv, &w->dec[i]) != 0)
			return -1;
	if (read_vec("knock1.bin", w->ct, sizeof(w->ct)) != SL_DGRAM_LEN ||
	    read_vec("knock1.plain.bin", w->pt, sizeof(w->pt)) != SL_PACKET_LEN)
		return -1;
	if (replay_open(&w->replay, w->state, 1024, 120, time(NULL), &how,
	    err, sizeof(err)) != 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((w->udp_rx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0 ||
	    bind(w->udp_rx, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(w->udp_rx, (struct sockaddr *)&a, &alen) != 0 ||
	    (w->udp_tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(w->udp_tx, (struct sockaddr *)&a, sizeof(a)) != 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, w->pair) != 0)
		return -1;
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return -1;
	net_batch_init(&w->batch);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (!full)
		return 0;
	if (pipe(p) != 0 || (w->peer = fork()) < 0)
		return -1;
	if (w->peer == 0) {
		/* until we close our end, or die (forbidden calls) */
		close(p[1]);
		while (read(p[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(p[0]);
	w->peer_fd = p[1];
	for (i = 0; i < 2; i++) {
		wargs[i].w = w;
		wargs[i].id = i;
		if (pthread_create(&w->threads[i], NULL, worker, &wargs[i]) != 0)
			return -1;
	}
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static const char *const work_steps[] = {
	"ok", "setup", "chown state", "drop", "sandbox", "malloc", "clocks",
	"random and ids", "udp send", "poll", "recvmmsg", "hand-off",
	"replay journal", "stats file", "files", "rsa decrypt", "workers",
	"logs", "runner reaped, raise", "qsort", "localtime", "fcntl",
	"nothing in the batch", NULL,
};

/* The child: set up, drop, sandbox, then the steady state. */
static int
work_child(void *arg)
{
	static struct work w;
	struct stats_buf sb;
	struct sl_request req;
	struct pollfd pfd[2];
	struct timespec ts;
	struct timeval tv;
	struct tm tm;
	struct stat st;
	uint8_t hmac[SL_HMAC_LEN], got[SL_PACKET_LEN], rnd[32], buf[64];
	uint32_t *arr;
	uint64_t v = 0;
	char *small[100], *big, *grow, p1[512], p2[512], p3[512];
	time_t now;
	int i, n, fd, dfd, spare;

	(void)arg;
	snprintf(w.state, sizeof(w.state), "%s/work", tmpdir);
	if (work_setup(&w, true) != 0)
		return 1;
	log_init("test_privsep", 1, 0);
	snprintf(p1, sizeof(p1), "%s/daemon.log", w.state);
	if (log_set_file(p1) != 0)
		return 1;
	/* the file the privileged process opens after a rotation, and
	 * passes on (SCM_RIGHTS) */
	snprintf(p3, sizeof(p3), "%s/daemon.log.new", w.state);
	if ((spare = open(p3, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0640)) < 0)
		return 1;
	/* as log_init does when not in the foreground: syslog's socket is
	 * connected now, before the sandbox */
	openlog("test_privsep", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	/* directories are opened before the sandbox (stats_dirfd) */
	if ((dfd = open(w.state, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return 1;
	if (privsep_chown_state(w.state, work_uid, work_gid, err,
	    sizeof(err)) != 0)
		return 2;
	if (privsep_drop(work_uid, work_gid, err, sizeof(err)) != 0)
		return 3;
	if (privsep_sandbox_network(false, err, sizeof(err)) != 0)
		return 4;

	/* malloc: small, large (mmap), growing (mremap) */
	for (i = 0; i < 100; i++)
		if ((small[i] = malloc((size_t)(16 + i * 8))) == NULL)
			return 5;
	if ((big = calloc(1, 8 << 20)) == NULL)
		return 5;
	big[(8 << 20) - 1] = 1;
	if ((grow = malloc(1 << 20)) == NULL)
		return 5;
	for (i = 0; i < 4; i++) {
		char *g = realloc(grow, (size_t)(2 << 20) << i);

		if (g == NULL)
			return 5;
		grow = g;
		grow[((size_t)(2 << 20) << i) - 1] = 1;
	}
	free(grow);
	free(big);
	for (i = 0; i < 100; i++)
		free(small[i]);

	/* clocks */
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 ||
	    clock_gettime(CLOCK_MONOTONIC, &ts) != 0 ||
	    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) != 0 ||
	    gettimeofday(&tv, NULL) != 0 || (now = time(NULL)) < 0)
		return 6;
	ts.tv_sec = 0;
	ts.tv_nsec = 1000000;
	if (nanosleep(&ts, NULL) != 0 ||
	    clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) != 0)
		return 6;

	/* random, ids */
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd) ||
	    getpid() <= 1 || gettid() <= 1 || getuid() != work_uid ||
	    geteuid() != work_uid || getppid() <= 0)
		return 7;

	/* datagrams in: send() on the connected socket, poll, recvmmsg */
	for (i = 0; i < 3; i++)
		if (send(w.udp_tx, w.ct, sizeof(w.ct), 0) != (ssize_t)sizeof(w.ct))
			return 8;
	pfd[0].fd = w.udp_rx;
	pfd[0].events = POLLIN;
	if (poll(pfd, 1, 1000) != 1)
		return 9;
	ts.tv_sec = 1;
	ts.tv_nsec = 0;
	if (ppoll(pfd, 1, &ts, NULL) != 1)
		return 9;
	for (n = 0, i = 0; n < 3 && i < 100; i++) {
		int r = net_recv_batch(w.udp_rx, &w.batch, NET_BATCH);

		if (r < 0)
			return 10;
		n += r;
		if (r == 0)
			(void)poll(pfd, 1, 10);
	}
	if (n != 3)
		return 10;
	if (net_recv_batch(w.udp_rx, &w.batch, NET_BATCH) != 0)
		return 22;

	/* the hand-off: send(), as runproc_send does */
	memset(&req, 0, sizeof(req));
	req.magic = SL_REQ_MAGIC;
	if (send(w.pair[0], &req, sizeof(req), MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(req) ||
	    recv(w.pair[1], &req, sizeof(req), MSG_DONTWAIT) !=
	    (ssize_t)sizeof(req))
		return 11;

	/* the replay journal: append, expire, compact (rename in state) */
	for (i = 0; i < 50; i++) {
		memset(hmac, i, sizeof(hmac));
		if (replay_check_and_add(w.replay, (uint16_t)i, hmac,
		    (uint32_t)now, now) != 0)
			return 12;
	}
	replay_expire(w.replay, now + 1000);
	if (replay_save(w.replay) != 0)
		return 12;

	/* the stats file (write a temporary file, rename): by path
	 * (stats_file) and in state_dir through its descriptor (the default) */
	stats_begin(&sb);
	stats_add(&sb, "received", 3);
	snprintf(p1, sizeof(p1), "%s/stats.by-path", w.state);
	if (stats_write(AT_FDCWD, p1, &sb) != 0 ||
	    stats_write(dfd, "siglatchd.stats", &sb) != 0 ||
	    stats_write(dfd, "siglatchd.stats", &sb) != 0)
		return 13;

	/* other file calls: openat, pwrite/pread, lseek, ftruncate, fstat,
	 * stat, fsync, rename, unlink */
	snprintf(p1, sizeof(p1), "%s/f.tmp", w.state);
	snprintf(p2, sizeof(p2), "%s/f", w.state);
	if ((fd = openat(dfd, "f.tmp", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) < 0)
		return 14;
	if (pwrite(fd, "hello", 5, 10) != 5 || pread(fd, buf, 5, 10) != 5 ||
	    lseek(fd, 0, SEEK_END) != 15 || ftruncate(fd, 3) != 0 ||
	    fstat(fd, &st) != 0 || st.st_size != 3 || fsync(fd) != 0 ||
	    fdatasync(fd) != 0 || close(fd) != 0 || stat(p1, &st) != 0 ||
	    rename(p1, p2) != 0 || renameat(dfd, "f", dfd, "g") != 0 ||
	    unlinkat(dfd, "g", 0) != 0 || fsync(dfd) != 0 || close(dfd) != 0)
		return 14;

	/* RSA on the main thread */
	if (crypto_dec_knock(w.dec[0], w.ct, got) != 0 ||
	    memcmp(got, w.pt, sizeof(got)) != 0)
		return 15;

	/* the workers: wake them (futex), wait for the eventfd, join */
	pthread_mutex_lock(&w.mu);
	w.go = 1;
	pthread_cond_broadcast(&w.cv);
	pthread_mutex_unlock(&w.mu);
	pfd[0].fd = w.efd;
	pfd[0].events = POLLIN;
	for (n = 0, i = 0; n < 2 && i < 100; i++) {
		if (poll(pfd, 1, 100) == 1 && read(w.efd, &v, sizeof(v)) ==
		    (ssize_t)sizeof(v))
			n += (int)v;
	}
	if (n != 2 || pthread_join(w.threads[0], NULL) != 0 ||
	    pthread_join(w.threads[1], NULL) != 0 || !w.ok[0] || !w.ok[1])
		return 16;

	/* logs: the log file; after a rotation the file the privileged
	 * process reopened takes the old one's place (dup3) and gets the
	 * next line; syslog on its connected socket, and after closelog()
	 * glibc's attempt to make a new one is refused (EACCES), quietly */
	log_msg(LOG_INFO, SLC_STATS, "sandboxed and still logging");
	if (log_adopt(0, spare) != 0)
		return 17;
	log_msg(LOG_INFO, SLC_STATS, "rotated in the sandbox");
	if (stat(p3, &st) != 0 || st.st_size == 0)
		return 17;
	syslog(LOG_DEBUG, "test_privsep: sandboxed syslog() call");
	closelog();
	syslog(LOG_DEBUG, "test_privsep: and once more after closelog()");

	/* the privileged process: close the channel (it is the parent, and
	 * reaps; this process waits for nobody); raise() (tgkill) */
	if (close(w.peer_fd) != 0 || raise(0) != 0 ||
	    syscall(SYS_tgkill, getpid(), gettid(), 0) != 0)
		return 18;

	/* qsort of a big array (glibc may ask sysinfo) */
	if ((arr = malloc(200000 * sizeof(*arr))) == NULL)
		return 19;
	for (i = 0; i < 200000; i++)
		arr[i] = (uint32_t)(i * 2654435761u);
	qsort(arr, 200000, sizeof(*arr), cmp_u32);
	for (i = 1; i < 200000; i++)
		if (arr[i - 1] > arr[i])
			return 19;
	free(arr);

	if (localtime_r(&now, &tm) == NULL || gmtime_r(&now, &tm) == NULL)
		return 20;
	if (fcntl(w.udp_rx, F_GETFL) < 0 ||
	    fcntl(w.udp_rx, F_SETFL, O_NONBLOCK) != 0)
		return 21;
	replay_close(w.replay);
	log_close();
	return 0;
}

static void
test_sandbox_workload(void **state)
{
	char dir[256];

	(void)state;
	fresh_dir(dir, sizeof(dir), "work");
	/* as root: as nobody; otherwise as ourselves (no drop possible) */
	work_uid = is_root() ? nobody_uid : getuid();
	work_gid = is_root() ? nobody_gid : getgid();
	expect_exit0(in_child(work_child, NULL), "sandboxed workload",
	    work_steps);
}

/* ---- the sandbox: forbidden calls --------------------------------------- */

static struct work fw;

static void
bad_execve(void)
{
	char *const argv[] = { (char *)"/bin/true", NULL };
	char *const envp[] = { NULL };

	execve("/bin/true", argv, envp);
}

static void
bad_socket_inet(void)
{
	(void)socket(AF_INET, SOCK_DGRAM, 0);
}

static void
bad_socket_inet6(void)
{
	(void)socket(AF_INET6, SOCK_STREAM, 0);
}

static void
bad_socket_netlink(void)
{
	(void)socket(AF_NETLINK, SOCK_RAW, 0);
}

static void
bad_ptrace(void)
{
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static void
bad_mmap_exec(void)
{
	(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
}

static void
bad_mprotect_exec(void)
{
	static char page[8192] __attribute__((aligned(4096)));

	(void)mprotect(page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
}

/* a datagram to an address of our choosing */
static void
bad_sendto_addr(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)sendto(fw.udp_rx, "x", 1, 0, (struct sockaddr *)&a, sizeof(a));
}

static void
bad_sendmsg(void)
{
	struct iovec iov = { .iov_base = (void *)"x", .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	(void)sendmsg(fw.pair[0], &m, 0);
}

static void
bad_bind(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	(void)bind(fw.udp_tx, (struct sockaddr *)&a, sizeof(a));
}

static void
bad_fork(void)
{
	if (fork() == 0)
		_exit(0);
}

static void
bad_setuid(void)
{
	(void)syscall(SYS_setuid, 0);
}

/* kill() would reach every process of the run_as user */
static void
bad_kill(void)
{
	(void)kill(getppid(), 0);
}

static void
bad_chmod(void)
{
	(void)chmod(fw.state, 0777);
}

/* a signal to another process of ours (signal 0: only asks) */
static void
bad_tgkill_other(void)
{
	(void)syscall(SYS_tgkill, getppid(), getppid(), 0);
}

#ifdef __x86_64__
static void
bad_x32(void)
{
	(void)syscall(0x40000000 | SYS_getpid);
}
#endif

/* a pre-existing worker thread makes the forbidden call (TSYNC) */
static void
bad_in_worker(void)
{
	pthread_mutex_lock(&fw.mu);
	fw.go = 2;
	pthread_cond_broadcast(&fw.cv);
	pthread_mutex_unlock(&fw.mu);
	pthread_join(fw.threads[0], NULL);
	pthread_join(fw.threads[1], NULL);
}

static const struct bad {
	const char *name;
	void (*fn)(void);
	bool threads;
} bads[] = {
	{ "execve", bad_execve, false },
	{ "socket(AF_INET)", bad_socket_inet, false },
	{ "socket(AF_INET6)", bad_socket_inet6, false },
	{ "socket(AF_NETLINK)", bad_socket_netlink, false },
	{ "ptrace", bad_ptrace, false },
	{ "mmap(PROT_EXEC)", bad_mmap_exec, false },
	{ "mprotect(PROT_EXEC)", bad_mprotect_exec, false },
	{ "sendto(address)", bad_sendto_addr, false },
	{ "sendmsg", bad_sendmsg, false },
	{ "bind", bad_bind, false },
	{ "fork", bad_fork, false },
	{ "setuid", bad_setuid, false },
	{ "chmod", bad_chmod, false },
	{ "kill", bad_kill, false },
	{ "tgkill(another process)", bad_tgkill_other, false },
#ifdef __x86_64__
	{ "x32 getpid", bad_x32, false },
#endif
	{ "socket(AF_INET) in a worker thread", bad_in_worker, true },
};

static int bad_ready = -1;   /* write end: the child is sandboxed */
static const struct bad *bad_cur;

static int
bad_child(void *arg)
{
	const struct bad *b = bad_cur;

	(void)arg;
	snprintf(fw.state, sizeof(fw.state), "%s/bad", tmpdir);
	if (work_setup(&fw, b->threads) != 0)
		return 1;
	if (privsep_sandbox_network(false, err, sizeof(err)) != 0)
		return 2;
	if (write(bad_ready, "R", 1) != 1)
		return 3;
	b->fn();
	return 0;   /* still alive: the call was allowed */
}

static void
test_sandbox_forbidden(void **state)
{
	char dir[256], c;
	size_t i;
	int p[2], st, nfail = 0;

	(void)state;
	if (SANITIZER)
		skip();  /* the filter only logs */
	/* every call is tried; each one that is not killed is printed */
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		fresh_dir(dir, sizeof(dir), "bad");
		assert_int_equal(pipe(p), 0);
		bad_ready = p[1];
		bad_cur = &bads[i];
		st = in_child(bad_child, NULL);
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			fail_msg("%s: the child did not get to the call "
			    "(status 0x%x)", bads[i].name, st);
		close(p[0]);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS) {
			print_error("%s: not killed by SIGSYS (status 0x%x)\n",
			    bads[i].name, st);
			nfail++;
		}
	}
	if (nfail > 0)
		fail_msg("%d forbidden call(s) allowed", nfail);
}

/* ---- the sandbox: refused calls ----------------------------------------- */

/*
 * Calls that fail with EACCES instead of killing: each returns 0 when the
 * call was refused and achieved nothing, 10 + the failed check otherwise.
 * victim: a UDP socket on 127.0.0.1 that nothing else sends to, opened
 * before the sandbox.
 */
static int victim = -1;
static struct sockaddr_in victim_addr;

/* point the receive socket at an address of one's own, then write */
static int
refused_connect_write(void)
{
	struct pollfd pfd = { .fd = victim, .events = POLLIN };
	char c;

	errno = 0;
	if (connect(fw.udp_rx, (struct sockaddr *)&victim_addr,
	    sizeof(victim_addr)) != -1 || errno != EACCES)
		return 10;
	if (write(fw.udp_rx, "x", 1) != -1 ||
	    send(fw.udp_rx, "x", 1, MSG_DONTWAIT) != -1)
		return 11;
	if (poll(&pfd, 1, 200) != 0 || recv(victim, &c, 1, MSG_DONTWAIT) != -1)
		return 12;   /* something arrived */
	return 0;
}

/* a fresh socket: syslog's reconnection, or anyone's */
static int
refused_socket_unix(void)
{
	errno = 0;
	if (socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) != -1 ||
	    errno != EACCES)
		return 10;
	errno = 0;
	if (socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) != -1 ||
	    errno != EACCES)
		return 11;
	return 0;
}

/* connect on an AF_UNIX socket made before the sandbox */
static int unix_sock = -1;

static int
refused_connect_unix(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	sl_strlcpy(a.sun_path, "/dev/log", sizeof(a.sun_path));
	errno = 0;
	if (connect(unix_sock, (struct sockaddr *)&a, sizeof(a)) != -1 ||
	    errno != EACCES)
		return 10;
	return 0;
}

/*
 * Files: reading anything, opening an existing file for writing without
 * appending or truncating, making anything executable or set-id, a
 * directory, O_PATH or O_TMPFILE descriptor: EACCES, and nothing made.
 * name: in the state directory (a new file unless "replay.state").
 */
static int
refused_open(const char *name, int flags, mode_t mode)
{
	char p[512];
	struct stat st;
	bool existed;

	if (name[0] == '/')
		sl_strlcpy(p, name, sizeof(p));
	else
		snprintf(p, sizeof(p), "%s/%s", fw.state, name);
	existed = stat(p, &st) == 0;
	errno = 0;
	if (openat(AT_FDCWD, p, flags, mode) != -1 || errno != EACCES)
		return 10;
	if (!existed && stat(p, &st) == 0)
		return 11;  /* made all the same */
	return 0;
}

static int
refused_open_read(void)
{
	return refused_open("/etc/passwd", O_RDONLY | O_CLOEXEC, 0);
}

static int
refused_open_rdwr(void)
{
	return refused_open("replay.state", O_RDWR | O_CLOEXEC, 0);
}

static int
refused_open_rdwr_creat(void)
{
	return refused_open("replay.state", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
}

static int
refused_open_wronly(void)
{
	return refused_open("replay.state", O_WRONLY | O_CLOEXEC, 0);
}

static int
refused_open_exec_mode(void)
{
	return refused_open("x.sh", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0755);
}

static int
refused_open_setid_mode(void)
{
	return refused_open("x", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 04600);
}

static int
refused_open_directory(void)
{
	return refused_open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
}

static int
refused_open_path(void)
{
	return refused_open("/etc/passwd", O_PATH | O_CLOEXEC, 0);
}

#ifdef O_TMPFILE
static int
refused_open_tmpfile(void)
{
	errno = 0;
	if (openat(AT_FDCWD, fw.state, O_TMPFILE | O_RDWR, 0600) != -1 ||
	    errno != EACCES)
		return 10;
	return 0;
}
#endif

#ifdef SYS_open
static int
refused_open_legacy(void)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/legacy", fw.state);
	errno = 0;
	if (syscall(SYS_open, p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600) != -1 || errno != EACCES)
		return 10;
	return stat(p, &st) == 0 ? 11 : 0;
}
#endif

static const struct refused {
	const char *name;
	int (*fn)(void);
} refuseds[] = {
	{ "connect() then write() on the UDP socket", refused_connect_write },
	{ "socket(AF_UNIX)", refused_socket_unix },
	{ "connect() on an AF_UNIX socket", refused_connect_unix },
	{ "openat(O_RDONLY)", refused_open_read },
	{ "openat(O_RDWR)", refused_open_rdwr },
	{ "openat(O_RDWR | O_CREAT)", refused_open_rdwr_creat },
	{ "openat(O_WRONLY)", refused_open_wronly },
	{ "openat(O_CREAT, 0755)", refused_open_exec_mode },
	{ "openat(O_CREAT | O_EXCL, 04600)", refused_open_setid_mode },
	{ "openat(O_DIRECTORY)", refused_open_directory },
	{ "openat(O_PATH)", refused_open_path },
#ifdef O_TMPFILE
	{ "openat(O_TMPFILE)", refused_open_tmpfile },
#endif
#ifdef SYS_open
	{ "open", refused_open_legacy },
#endif
};

static const struct refused *refused_cur;

static int
refused_child(void *arg)
{
	socklen_t alen = sizeof(victim_addr);

	(void)arg;
	snprintf(fw.state, sizeof(fw.state), "%s/bad", tmpdir);
	if (work_setup(&fw, false) != 0)
		return 1;
	memset(&victim_addr, 0, sizeof(victim_addr));
	victim_addr.sin_family = AF_INET;
	victim_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((victim = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(victim, (struct sockaddr *)&victim_addr, alen) != 0 ||
	    getsockname(victim, (struct sockaddr *)&victim_addr, &alen) != 0 ||
	    (unix_sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return 1;
	if (privsep_sandbox_network(false, err, sizeof(err)) != 0)
		return 2;
	return refused_cur->fn();
}

static void
test_sandbox_refused(void **state)
{
	static const char *const steps[] = { "ok", "setup", "sandbox", NULL };
	char dir[256];
	size_t i;
	int st, nfail = 0;

	(void)state;
	if (SANITIZER)
		skip();  /* the filter only logs */
	for (i = 0; i < sizeof(refuseds) / sizeof(refuseds[0]); i++) {
		fresh_dir(dir, sizeof(dir), "bad");
		refused_cur = &refuseds[i];
		st = in_child(refused_child, NULL);
		if (WIFEXITED(st) && WEXITSTATUS(st) >= 10) {
			print_error("%s: allowed (check %d of the probe)\n",
			    refuseds[i].name, WEXITSTATUS(st) - 10);
			nfail++;
			continue;
		}
		expect_exit0(st, refuseds[i].name, steps);
	}
	if (nfail > 0)
		fail_msg("%d refused call(s) allowed", nfail);
}

/* SIGLATCH_SECCOMP_LOG=1: the same calls are only logged, those that
 * would be killed and those that would be refused. */
static int
log_mode_child(void *arg)
{
	int fd;

	(void)arg;
	setenv("SIGLATCH_SECCOMP_LOG", "1", 1);
	if (privsep_sandbox_network(false, err, sizeof(err)) != 0)
		return 1;
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		return 2;
	close(fd);
	if ((fd = openat(AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC)) < 0)
		return 3;
	close(fd);
	return 0;
}

static void
test_sandbox_log_mode(void **state)
{
	static const char *const steps[] = { "ok", "sandbox", "socket",
	    "openat(O_RDONLY)", NULL };

	(void)state;
	expect_exit0(in_child(log_mode_child, NULL), "log mode", steps);
}

/* ---- fixture ------------------------------------------------------------ */

static int
setup(void **state)
{
	struct passwd *pw;

	(void)state;
	if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0755) != 0)
		return -1;
	if ((pw = getpwnam("nobody")) == NULL)
		return -1;
	nobody_uid = pw->pw_uid;
	nobody_gid = pw->pw_gid;
	started_as_root = geteuid() == 0;
	log_init("test_privsep", 1, 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_config_ids),
		cmocka_unit_test(test_drop_root),
		cmocka_unit_test(test_drop_not_root),
		cmocka_unit_test(test_default_user),
		cmocka_unit_test(test_chown_state),
		cmocka_unit_test(test_sandbox_workload),
		cmocka_unit_test(test_sandbox_forbidden),
		cmocka_unit_test(test_sandbox_refused),
		cmocka_unit_test(test_sandbox_log_mode),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
