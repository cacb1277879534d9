/*
 * privsep.c - privilege separation: user lookups, dropping root, the state
 * directory's owner, and the seccomp allow-list of the network process.
 *
 * The filter is a plain BPF program (no libseccomp): check the
 * architecture, then compare the system call number against a list; a few
 * entries also look at an argument (no executable mappings, send without a
 * destination address, signals to this process only, files opened only in
 * the few ways the network process opens them).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <endian.h>

#include <linux/audit.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "privsep.h"
#include "log.h"
#include "util.h"

#define PS_PWBUF_MAX (1024 * 1024)  /* getpwnam_r buffer, at most */

#define PS_SANITIZER PRIVSEP_SANITIZER

int
privsep_resolve(const char *user, uid_t *uid, gid_t *gid, char *err,
    size_t errlen)
{
	struct passwd pw, *res = NULL;
	size_t len = 4096;
	char *buf = NULL, *nbuf;
	int r;

	if (user == NULL || *user == '\0') {
		sl_seterr(err, errlen, "no user name");
		return SL_EINVAL;
	}
	for (;;) {
		if ((nbuf = realloc(buf, len)) == NULL) {
			free(buf);
			sl_seterr(err, errlen, "user '%s': out of memory", user);
			return SL_ESYS;
		}
		buf = nbuf;
		r = getpwnam_r(user, &pw, buf, len, &res);
		if (r != ERANGE || len >= PS_PWBUF_MAX)
			break;
		len *= 2;
	}
	if (r == 0 && res != NULL) {
		*uid = pw.pw_uid;
		*gid = pw.pw_gid;
	}
	free(buf);
	if (r == 0 && res == NULL) {
		sl_seterr(err, errlen, "no user '%s' on this system", user);
		return SL_ENOENT;
	}
	if (r != 0) {
		sl_seterr(err, errlen, "looking up user '%s': %s", user,
		    strerror(r));
		errno = r;
		return SL_ESYS;
	}
	return 0;
}

/* The network process's user: the top-level run_as, never uid 0. */
static int
ps_net_ids(const struct config *cfg, struct privsep_ids *net, char *err,
    size_t errlen)
{
	char where[SL_PATH_MAX + 96], e[256];
	int r;

	if (cfg->run_as_line > 0)
		snprintf(where, sizeof(where), "%s:%d: key 'run_as'", cfg->path,
		    cfg->run_as_line);
	else
		snprintf(where, sizeof(where), "%s: key 'run_as' (not set, "
		    "default '%s')", cfg->path, cfg->run_as);
	if ((r = privsep_resolve(cfg->run_as, &net->uid, &net->gid, e,
	    sizeof(e))) != 0) {
		sl_seterr(err, errlen, "%s: %s; %s", where, e,
		    strcmp(cfg->run_as, PRIVSEP_USER) == 0 ? "create the "
		    "system user with: useradd --system --no-create-home "
		    "--home-dir /nonexistent --shell /usr/sbin/nologin "
		    PRIVSEP_USER " (make install and the package do), or set "
		    "run_as to another unprivileged user of its own" :
		    "set run_as to an unprivileged user");
		return r;
	}
	if (strcmp(cfg->run_as, "nobody") == 0)
		log_msg(LOG_WARNING, SLC_CONFIG_WARN, "%s: 'nobody' is shared "
		    "with other daemons, which could then tamper with the "
		    "network process and its journal; use a user of its own "
		    "(" PRIVSEP_USER ")", where);
	if (net->uid == 0) {
		sl_seterr(err, errlen, "%s: '%s' is uid 0; the network process "
		    "must run as an unprivileged user", where, cfg->run_as);
		return SL_ECONFIG;
	}
	net->set = true;
	return 0;
}

int
privsep_config_ids(const struct config *cfg, struct privsep_ids *net,
    struct privsep_ids act[SL_MAX_ACTIONS], char *err, size_t errlen)
{
	struct privsep_ids ids;
	char e[256];
	uid_t me = geteuid();
	gid_t meg = getegid();
	unsigned i;
	int r;

	if (net != NULL && (r = ps_net_ids(cfg, net, err, errlen)) != 0)
		return r;
	for (i = 0; i < cfg->nactions && i < SL_MAX_ACTIONS; i++) {
		const struct cfg_action *a = &cfg->actions[i];

		memset(&ids, 0, sizeof(ids));
		if (a->enabled && a->run_as[0] != '\0') {
			if ((r = privsep_resolve(a->run_as, &ids.uid, &ids.gid,
			    e, sizeof(e))) != 0) {
				sl_seterr(err, errlen, "%s:%d: [action:%s] key "
				    "'run_as': %s", cfg->path, a->run_as_line,
				    a->name, e);
				return r;
			}
			ids.set = me == 0 || ids.uid != me || ids.gid != meg;
			if (ids.set && me != 0) {
				sl_seterr(err, errlen, "%s:%d: [action:%s] key "
				    "'run_as': running scripts as '%s' needs "
				    "siglatchd to run as root (it runs as uid "
				    "%u)", cfg->path, a->run_as_line, a->name,
				    a->run_as, (unsigned)me);
				return SL_EPERM;
			}
		}
		if (act != NULL)
			act[i] = ids;
	}
	return 0;
}

/* ---- dropping root ------------------------------------------------------ */

/* Clear every capability set, then check that none is left. */
static int
ps_clear_caps(char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	unsigned i;

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) != 0) {
		sl_seterr(err, errlen, "capset: %s", strerror(errno));
		return SL_ESYS;
	}
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	hdr.pid = 0;
	if (syscall(SYS_capget, &hdr, data) != 0) {
		sl_seterr(err, errlen, "capget: %s", strerror(errno));
		return SL_ESYS;
	}
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		if (data[i].effective != 0 || data[i].permitted != 0 ||
		    data[i].inheritable != 0) {
			sl_seterr(err, errlen, "capabilities left after "
			    "dropping them");
			return SL_EPERM;
		}
	}
	return 0;
}

static int
ps_no_new_privs(char *err, size_t errlen)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		sl_seterr(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s",
		    strerror(errno));
		return SL_ESYS;
	}
	return 0;
}

int
privsep_drop(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int r;

	if (geteuid() != 0) {
		if ((r = ps_clear_caps(err, errlen)) != 0)
			return r;
		return ps_no_new_privs(err, errlen);
	}
	if (uid == 0) {
		sl_seterr(err, errlen, "refusing to drop root to uid 0");
		return SL_EINVAL;
	}
	/* without keep-caps, leaving uid 0 empties every capability set */
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
		sl_seterr(err, errlen, "prctl(PR_SET_KEEPCAPS, 0): %s",
		    strerror(errno));
		return SL_ESYS;
	}
	if (setgroups(1, &gid) != 0) {
		sl_seterr(err, errlen, "setgroups(%u): %s", (unsigned)gid,
		    strerror(errno));
		return SL_ESYS;
	}
	if (setresgid(gid, gid, gid) != 0) {
		sl_seterr(err, errlen, "setresgid(%u): %s", (unsigned)gid,
		    strerror(errno));
		return SL_ESYS;
	}
	if (setresuid(uid, uid, uid) != 0) {
		sl_seterr(err, errlen, "setresuid(%u): %s", (unsigned)uid,
		    strerror(errno));
		return SL_ESYS;
	}
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
	    ru != uid || eu != uid || su != uid ||
	    rg != gid || eg != gid || sg != gid) {
		sl_seterr(err, errlen, "user and group ids not all %u:%u after "
		    "dropping root", (unsigned)uid, (unsigned)gid);
		return SL_EPERM;
	}
	if (setuid(0) == 0 || (gid != 0 && setgid(0) == 0)) {
		sl_seterr(err, errlen, "root could be regained after dropping "
		    "it");
		return SL_EPERM;
	}
	if ((r = ps_clear_caps(err, errlen)) != 0)
		return r;
	/* no core dumps and no ptrace by other processes of this user */
	if (prctl(PR_SET_DUMPABLE, PS_SANITIZER, 0, 0, 0) != 0) {
		sl_seterr(err, errlen, "prctl(PR_SET_DUMPABLE, 0): %s",
		    strerror(errno));
		return SL_ESYS;
	}
	return ps_no_new_privs(err, errlen);
}

/* ---- the state directory ------------------------------------------------ */

/* One entry of the state directory: a regular file with one link gets
 * uid:gid 0600; anything that is not a regular file is left alone. */
static int
ps_chown_entry(int dfd, const char *dir, const char *name, uid_t uid,
    gid_t gid, char *err, size_t errlen)
{
	struct stat st;
	int fd = -1;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return 0;   /* gone since readdir */
		goto fail;
	}
	if (!S_ISREG(st.st_mode))
		return 0;           /* ".", "..", symbolic links, ... */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		close(fd);          /* replaced since fstatat */
		return 0;
	}
	if (st.st_nlink != 1) {
		close(fd);
		sl_seterr(err, errlen, "%s/%s has %lu hard links: not changing "
		    "its owner (remove the other links)", dir, name,
		    (unsigned long)st.st_nlink);
		return SL_EPERM;
	}
	if (fchown(fd, uid, gid) != 0 || fchmod(fd, 0600) != 0)
		goto fail;
	close(fd);
	return 0;
fail:
	sl_seterr(err, errlen, "%s/%s: chown %u:%u: %s", dir, name,
	    (unsigned)uid, (unsigned)gid, strerror(errno));
	if (fd >= 0)
		close(fd);
	return SL_ESYS;
}

int
privsep_chown_state(const char *state_dir, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
	struct dirent *de;
	DIR *d = NULL;
	int dfd, fd, e, r = 0;

	if (geteuid() != 0)
		return 0;
	dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		e = errno;
		sl_seterr(err, errlen, "state_dir %s: %s%s", state_dir,
		    strerror(e), e == ELOOP || e == ENOTDIR ? " (a symbolic "
		    "link? name the real directory)" : "");
		return SL_ESYS;
	}
	if (fchown(dfd, uid, gid) != 0 || fchmod(dfd, 0700) != 0) {
		sl_seterr(err, errlen, "state_dir %s: chown %u:%u: %s",
		    state_dir, (unsigned)uid, (unsigned)gid, strerror(errno));
		close(dfd);
		return SL_ESYS;
	}
	if ((fd = dup(dfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		sl_seterr(err, errlen, "state_dir %s: %s", state_dir,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		close(dfd);
		return SL_ESYS;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				sl_seterr(err, errlen, "state_dir %s: %s",
				    state_dir, strerror(errno));
				r = SL_ESYS;
			}
			break;
		}
		if ((r = ps_chown_entry(dfd, state_dir, de->d_name, uid, gid,
		    err, errlen)) != 0)
			break;
	}
	closedir(d);
	close(dfd);
	return r;
}

/* What the network process keeps, moved from state_dir into net/ when a
 * state_dir laid out by an earlier version is met. */
static const char *const ps_net_files[] = {
	"replay.state", "siglatchd.stats",
};

/* Whether directory dfd holds anything but ".", "..", lost+found and the
 * entry skip (a subdirectory that is empty counts as nothing). */
static bool
ps_dir_used(int dfd, const char *skip)
{
	const struct dirent *de;
	bool used = false;
	DIR *d;
	int fd, sub;

	if ((fd = dup(dfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return true;  /* cannot tell: assume so (the safe side) */
	}
	rewinddir(d);
	while (!used && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, "lost+found") == 0 ||
		    strcmp(de->d_name, skip) == 0)
			continue;
		sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		used = sub < 0 || ps_dir_used(sub, "");
		if (sub >= 0)
			close(sub);
	}
	closedir(d);
	return used;
}

/* Make and open state_dir (never through a symlink): root's, closed to
 * others.  The descriptor in *dfd. */
static int
ps_open_state_dir(const char *state_dir, const char *netdir, int *dfd,
    char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(state_dir, 0700) != 0 && errno != EEXIST) {
		sl_seterr(err, errlen, "state_dir %s: %s", state_dir,
		    strerror(errno));
		return SL_ESYS;
	}
	*dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*dfd < 0 || fstat(*dfd, &st) != 0) {
		sl_seterr(err, errlen, "state_dir %s: %s%s", state_dir,
		    strerror(errno), errno == ELOOP || errno == ENOTDIR ?
		    " (a symbolic link? name the real directory)" : "");
		return SL_ESYS;
	}
	if (geteuid() == 0 && st.st_uid != 0) {
		/* an earlier version gave it to run_as: take it back, so
		 * that only root may remove or rename what is in it */
		if (fchown(*dfd, 0, 0) != 0 || fchmod(*dfd, 0700) != 0) {
			sl_seterr(err, errlen, "state_dir %s: chown root: %s",
			    state_dir, strerror(errno));
			return SL_ESYS;
		}
		log_msg(LOG_NOTICE, SLC_CONFIG_WARN, "state_dir %s belonged to "
		    "uid %ld: it is root's now, and the network process keeps "
		    "its files in %s", state_dir, (long)st.st_uid, netdir);
	} else if ((st.st_mode & 022) != 0) {
		sl_seterr(err, errlen, "state_dir %s: writable by group or "
		    "others; fix with: chmod 700 %s", state_dir, state_dir);
		return SL_EPERM;
	}
	return 0;
}

/* The network process's files of the earlier layout (in state_dir) move
 * into net/.  *had_journal: net/ has the replay journal now. */
static int
ps_move_net_files(int dfd, int nfd, const char *state_dir,
    const char *netdir, bool *had_journal, char *err, size_t errlen)
{
	struct stat st;
	size_t i;

	*had_journal = faccessat(nfd, ps_net_files[0], F_OK,
	    AT_SYMLINK_NOFOLLOW) == 0;
	for (i = 0; i < sizeof(ps_net_files) / sizeof(ps_net_files[0]); i++) {
		if (fstatat(dfd, ps_net_files[i], &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) ||
		    faccessat(nfd, ps_net_files[i], F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (renameat(dfd, ps_net_files[i], nfd, ps_net_files[i]) != 0) {
			sl_seterr(err, errlen, "moving %s/%s into %s: %s",
			    state_dir, ps_net_files[i], netdir, strerror(errno));
			return SL_ESYS;
		}
		*had_journal |= i == 0;
		log_msg(LOG_NOTICE, SLC_STATE, "%s/%s moved into %s", state_dir,
		    ps_net_files[i], netdir);
	}
	return 0;
}

int
privsep_state_layout(const char *state_dir, const struct privsep_ids *net,
    char *netdir, size_t netdirlen, bool *used, char *err, size_t errlen)
{
	bool had_journal;
	int dfd = -1, nfd = -1, r;

	*used = false;
	if (snprintf(netdir, netdirlen, "%s/%s", state_dir, PRIVSEP_NETDIR) >=
	    (int)netdirlen) {
		sl_seterr(err, errlen, "state_dir %s: path too long", state_dir);
		return SL_ETOOBIG;
	}
	if ((r = ps_open_state_dir(state_dir, netdir, &dfd, err, errlen)) != 0)
		goto out;
	r = SL_ESYS;
	if (mkdirat(dfd, PRIVSEP_NETDIR, 0700) != 0 && errno != EEXIST) {
		sl_seterr(err, errlen, "%s: %s", netdir, strerror(errno));
		goto out;
	}
	nfd = openat(dfd, PRIVSEP_NETDIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (nfd < 0) {
		sl_seterr(err, errlen, "%s: %s%s", netdir, strerror(errno),
		    errno == ELOOP || errno == ENOTDIR ? " (not a directory)" :
		    "");
		goto out;
	}
	if ((r = ps_move_net_files(dfd, nfd, state_dir, netdir, &had_journal,
	    err, errlen)) != 0)
		goto out;
	/* no journal, in a state_dir used before (grants, ...): what the
	 * journal knew is lost, and the caller raises the barrier */
	*used = !had_journal && ps_dir_used(dfd, PRIVSEP_NETDIR);
	/* net/ and its files are the network process's, nothing else */
	r = net != NULL && net->set ? privsep_chown_state(netdir, net->uid,
	    net->gid, err, errlen) : 0;
out:
	if (nfd >= 0)
		close(nfd);
	if (dfd >= 0)
		close(dfd);
	return r;
}

int
privsep_check_log_path(const char *key, const char *path,
    const struct privsep_ids *net, char *err, size_t errlen)
{
	char dir[SL_PATH_MAX];
	struct stat st;
	char *slash;

	if (net == NULL || !net->set || net->uid == 0)
		return 0;
	if (sl_strlcpy(dir, path, sizeof(dir)) != 0) {
		sl_seterr(err, errlen, "%s %s: path too long", key, path);
		return SL_ETOOBIG;
	}
	if ((slash = strrchr(dir, '/')) == NULL)
		sl_strlcpy(dir, ".", sizeof(dir));
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) != 0) {
		sl_seterr(err, errlen, "%s %s: directory %s: %s", key, path, dir,
		    strerror(errno));
		return SL_ESYS;
	}
	/* whoever may create names in the directory may plant a link or a
	 * file of their own where root opens the log */
	if (st.st_uid == net->uid || (st.st_mode & S_IWOTH) != 0 ||
	    ((st.st_mode & S_IWGRP) != 0 && st.st_gid == net->gid)) {
		sl_seterr(err, errlen, "%s %s: the directory %s is writable by "
		    "run_as (uid %ld) or by others; put the log in a directory "
		    "only root may write (e.g. /var/log/siglatch)", key, path,
		    dir, (long)net->uid);
		return SL_EPERM;
	}
	return 0;
}

int
privsep_chroot(const char *dir, char *err, size_t errlen)
{
	if (geteuid() != 0)
		return 0;
	if (chroot(dir) != 0 || chdir("/") != 0) {
		sl_seterr(err, errlen, "chroot %s: %s", dir, strerror(errno));
		return SL_ESYS;
	}
	return 0;
}

int
privsep_lock_instance(const char *state_dir, int *lockfd, char *err,
    size_t errlen)
{
	char path[SL_PATH_MAX + 32], buf[32];
	ssize_t n;
	long pid;
	int fd;

	*lockfd = -1;
	if (snprintf(path, sizeof(path), "%s/%s", state_dir, PRIVSEP_LOCK) >=
	    (int)sizeof(path)) {
		sl_seterr(err, errlen, "state_dir %s: path too long", state_dir);
		return SL_ETOOBIG;
	}
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
	    0644);
	if (fd < 0) {
		sl_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return SL_ESYS;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
		if (e != EWOULDBLOCK) {
			sl_seterr(err, errlen, "%s: flock: %s", path, strerror(e));
			return SL_ESYS;
		}
		if (sscanf(buf, "%ld", &pid) == 1 && pid > 0)
			sl_seterr(err, errlen, "another siglatchd (pid %ld) is "
			    "running with state_dir %s (it holds %s); stop it "
			    "first", pid, state_dir, path);
		else
			sl_seterr(err, errlen, "another siglatchd is running with "
			    "state_dir %s (it holds %s); stop it first",
			    state_dir, path);
		return SL_EBUSY;
	}
	*lockfd = fd;
	return 0;
}

int
privsep_write_pid(int fd, const char *path, char *err, size_t errlen)
{
	char buf[32];
	int n, own = fd < 0;

	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (own && (fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY, 0644)) < 0) {
		sl_seterr(err, errlen, "pid_file %s: %s", path, strerror(errno));
		return SL_ESYS;
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		sl_seterr(err, errlen, "%s: %s", own ? path : PRIVSEP_LOCK,
		    strerror(errno));
		if (own)
			close(fd);
		return SL_ESYS;
	}
	if (own)
		close(fd);
	return 0;
}

/* ---- seccomp ------------------------------------------------------------ */

#if defined(__x86_64__) && !defined(__ILP32__)
# define PS_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__) && __BYTE_ORDER == __LITTLE_ENDIAN
# define PS_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef PS_AUDIT_ARCH

#if __BYTE_ORDER == __LITTLE_ENDIAN
# define PS_LO 0
# define PS_HI 4
#else
# define PS_LO 4
# define PS_HI 0
#endif

#define PS_NR   offsetof(struct seccomp_data, nr)
#define PS_ARCH offsetof(struct seccomp_data, arch)
#define PS_ARG(i, half) (offsetof(struct seccomp_data, args[(i)]) + (half))

#define PS_LOAD(off)  BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define PS_RET(v)     BPF_STMT(BPF_RET | BPF_K, (v))
#define PS_FAIL       PS_RET(SECCOMP_RET_KILL_PROCESS)  /* patched for LOG */

/* nr: allowed */
#define PS_ALLOW(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	PS_RET(SECCOMP_RET_ALLOW)
/* nr: allowed when the low 32 bits of argument i equal v (an int) */
#define PS_ALLOW_EQ(nr, i, v) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 3), \
	PS_LOAD(PS_ARG(i, PS_LO)), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (v), 0, 1), \
	PS_RET(SECCOMP_RET_ALLOW), \
	PS_LOAD(PS_NR)
/* nr: allowed when the low 32 bits of argument i (an int) have no bit
 * outside mask */
#define PS_ALLOW_MASK(nr, i, mask) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 4), \
	PS_LOAD(PS_ARG(i, PS_LO)), \
	BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~(uint32_t)(mask)), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), \
	PS_RET(SECCOMP_RET_ALLOW), \
	PS_LOAD(PS_NR)
/* nr: refused with errno e, whatever its arguments */
#define PS_REFUSE(nr, e) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	PS_RET(SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
/* nr: refused with errno e when the low 32 bits of argument i equal v */
#define PS_REFUSE_EQ(nr, i, v, e) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 3), \
	PS_LOAD(PS_ARG(i, PS_LO)), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (v), 0, 1), \
	PS_RET(SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA)), \
	PS_LOAD(PS_NR)
/*
 * openat(dirfd, path, flags, mode): allowed when mode has no bit outside
 * 0666 (nothing executable or set-id is created) and flags, less the bits
 * that only make an open safer (PS_OPEN_HARMLESS), are one of the three
 * ways the network process opens a file after start-up:
 *   O_RDWR | O_CREAT | O_EXCL     a new file only (replay journal
 *                                 compaction: replay.state.tmp)
 *   O_WRONLY | O_CREAT | O_TRUNC  the stats file's temporary file
 *   O_WRONLY | O_CREAT | O_APPEND log_file again on SIGHUP
 * Any other openat fails with errno e: no existing file can be opened for
 * reading (O_RDONLY, O_RDWR without O_EXCL), and no O_PATH, O_DIRECTORY
 * or O_TMPFILE descriptor made.  A refusal, not SIGSYS, because glibc
 * reads files of its own now and then and copes when it cannot (malloc
 * reads /proc/sys/vm/overcommit_memory the first time a thread's arena
 * shrinks).  The path and dirfd are not checked: seccomp cannot read a
 * string, and dirfd would confine nothing (an absolute path or ".."
 * ignores it).
 */
#define PS_OPEN_HARMLESS (O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK)
#define PS_OPENAT(nr, e) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 10), \
	PS_LOAD(PS_ARG(3, PS_LO)), \
	BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~(uint32_t)0666), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 6), \
	PS_LOAD(PS_ARG(2, PS_LO)), \
	BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~(uint32_t)PS_OPEN_HARMLESS), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, O_RDWR | O_CREAT | O_EXCL, 2, 0), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, O_WRONLY | O_CREAT | O_TRUNC, \
	    1, 0), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, O_WRONLY | O_CREAT | O_APPEND, \
	    0, 1), \
	PS_RET(SECCOMP_RET_ALLOW), \
	PS_RET(SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
/* nr: allowed when argument i (a pointer) is NULL */
#define PS_ALLOW_NULL(nr, i) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 5), \
	PS_LOAD(PS_ARG(i, PS_LO)), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3), \
	PS_LOAD(PS_ARG(i, PS_HI)), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), \
	PS_RET(SECCOMP_RET_ALLOW), \
	PS_LOAD(PS_NR)

/* tgkill's first argument until privsep_sandbox_network writes in the
 * process's own pid (0 is never a thread group) */
#define PS_SELF 0

/*
 * The network process after start-up, main thread and decryption workers:
 * poll, recvmmsg, decrypt (OpenSSL: malloc, getrandom; futex and an
 * eventfd between the threads), append to and compact the replay journal
 * (openat, pwrite, fsync, renameat, unlinkat, ftruncate), write the stats
 * file and the logs, hand requests to the privileged process (send), take
 * the log files it reopens (recvmsg, dup3), and exit.  It is chrooted into
 * state_dir/net before the filter goes on, so that what openat can reach
 * is its own files.  Its syslog socket was connected before (log_init);
 * making another is refused with EACCES, so that glibc's attempt to
 * reconnect after a syslog daemon restart fails quietly, and connect(2)
 * is refused too: no socket can be pointed at an address of one's own.
 * Legacy names (stat, poll, time ...) exist on x86_64 only.
 */
static const struct sock_filter ps_filter[] = {
	PS_LOAD(PS_ARCH),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PS_AUDIT_ARCH, 1, 0),
	PS_RET(SECCOMP_RET_KILL_PROCESS),
	PS_LOAD(PS_NR),
#ifdef __x86_64__
	/* x32 system calls share AUDIT_ARCH_X86_64: refuse that ABI */
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u /* __X32_SYSCALL_BIT */,
	    0, 1),
	PS_RET(SECCOMP_RET_KILL_PROCESS),
#endif
	/* the receive loop first: fewest comparisons for the hot calls */
	PS_ALLOW(__NR_recvmmsg),
#ifdef __NR_poll
	PS_ALLOW(__NR_poll),
#endif
	PS_ALLOW(__NR_ppoll),
	PS_ALLOW(__NR_read),
	PS_ALLOW(__NR_write),
	PS_ALLOW(__NR_pwrite64),
	PS_ALLOW(__NR_getrandom),
	PS_ALLOW(__NR_futex),
	PS_ALLOW(__NR_clock_gettime),
	PS_ALLOW(__NR_gettimeofday),
#ifdef __NR_time
	PS_ALLOW(__NR_time),
#endif
	PS_ALLOW(__NR_getpid),
	PS_ALLOW_NULL(__NR_sendto, 4),
	/* sendmsg on fd -1 only, which means never, unless receipts are on
	 * (privsep_sandbox_network then jumps straight to its RET ALLOW) */
	PS_ALLOW_EQ(__NR_sendmsg, 0, 0xffffffffu),
	/* files: journal, stats, logs (see PS_OPENAT); open(2), which glibc
	 * does not use, is refused in the same way */
	PS_OPENAT(__NR_openat, EACCES),
#ifdef __NR_open
	PS_REFUSE(__NR_open, EACCES),
#endif
	PS_ALLOW(__NR_close),
	PS_ALLOW(__NR_writev),
	PS_ALLOW(__NR_readv),
	PS_ALLOW(__NR_pread64),
	PS_ALLOW(__NR_lseek),
#ifdef __NR_fstat
	PS_ALLOW(__NR_fstat),
#endif
#ifdef __NR_newfstatat
	PS_ALLOW(__NR_newfstatat),
#endif
#ifdef __NR_stat
	PS_ALLOW(__NR_stat),
	PS_ALLOW(__NR_lstat),
#endif
	PS_ALLOW(__NR_statx),
	PS_ALLOW(__NR_fsync),
	PS_ALLOW(__NR_fdatasync),
	PS_ALLOW(__NR_ftruncate),
#ifdef __NR_renameat
	PS_ALLOW(__NR_renameat),
#endif
	PS_ALLOW(__NR_renameat2),
#ifdef __NR_rename
	PS_ALLOW(__NR_rename),
#endif
	PS_ALLOW(__NR_unlinkat),
#ifdef __NR_unlink
	PS_ALLOW(__NR_unlink),
#endif
	PS_ALLOW(__NR_fcntl),
	PS_ALLOW(__NR_dup3),           /* log files the parent reopened */
	/* sockets: only receiving; no new syslog socket (EACCES: glibc's
	 * syslog gives up quietly), no connect (EACCES) */
	PS_ALLOW(__NR_recvfrom),
	PS_ALLOW(__NR_recvmsg),
	PS_REFUSE_EQ(__NR_socket, 0, AF_UNIX, EACCES),
	PS_REFUSE(__NR_connect, EACCES),
	PS_ALLOW(__NR_getsockopt),
	PS_ALLOW(__NR_getsockname),
	/* memory (malloc, OpenSSL): never executable */
	PS_ALLOW(__NR_brk),
	PS_ALLOW_MASK(__NR_mmap, 2, PROT_READ | PROT_WRITE),
	PS_ALLOW_MASK(__NR_mprotect, 2, PROT_READ | PROT_WRITE),
	PS_ALLOW(__NR_munmap),
	PS_ALLOW(__NR_mremap),
	PS_ALLOW(__NR_madvise),
	/* time, identity, scheduling */
	PS_ALLOW(__NR_clock_getres),
	PS_ALLOW(__NR_clock_nanosleep),
	PS_ALLOW(__NR_nanosleep),
	PS_ALLOW(__NR_gettid),
	PS_ALLOW(__NR_getppid),
	PS_ALLOW(__NR_getuid),
	PS_ALLOW(__NR_geteuid),
	PS_ALLOW(__NR_getgid),
	PS_ALLOW(__NR_getegid),
	PS_ALLOW(__NR_getresuid),
	PS_ALLOW(__NR_getresgid),
	PS_ALLOW(__NR_sched_yield),
	/* a worker thread created just before the filter may not have run
	 * its start-up calls yet */
	PS_ALLOW(__NR_set_robust_list),
#ifdef __NR_rseq
	PS_ALLOW(__NR_rseq),
#endif
	PS_ALLOW(__NR_sysinfo),          /* glibc qsort */
	/* the kernel filter's maps, through descriptors opened at start:
	 * look up, update, delete; never create or load (0, 5) */
	PS_ALLOW_EQ(__NR_bpf, 0, BPF_MAP_LOOKUP_ELEM),
	PS_ALLOW_EQ(__NR_bpf, 0, BPF_MAP_UPDATE_ELEM),
	PS_ALLOW_EQ(__NR_bpf, 0, BPF_MAP_DELETE_ELEM),
	/* signals: raise(), abort() and pthread_kill() only, which are
	 * tgkill(getpid(), tid, sig): the thread group is pinned to this
	 * process, so no other process of the run_as user can be signalled
	 * (kill() and tgkill() to another pid are not allowed).  It has no
	 * children to wait for. */
	PS_ALLOW(__NR_rt_sigreturn),
	PS_ALLOW(__NR_rt_sigprocmask),
	PS_ALLOW(__NR_restart_syscall),
	PS_ALLOW_EQ(__NR_tgkill, 0, PS_SELF),
	PS_ALLOW(__NR_exit),
	PS_ALLOW(__NR_exit_group),
	PS_FAIL,
};

#define PS_NFILTER (sizeof(ps_filter) / sizeof(ps_filter[0]))

/*
 * Where the block of system call nr starts in f: its comparison of the
 * call number, which (unlike an argument's) follows a RET or the load of
 * the number.  n when there is none.
 */
static size_t
ps_block(const struct sock_filter *f, size_t n, uint32_t nr)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (f[i].code == (BPF_JMP | BPF_JEQ | BPF_K) && f[i].k == nr &&
		    (BPF_CLASS(f[i - 1].code) == BPF_RET ||
		    (f[i - 1].code == (BPF_LD | BPF_W | BPF_ABS) &&
		    f[i - 1].k == PS_NR)))
			return i;
	return n;
}

/*
 * Fill in a copy of ps_filter for this process: tgkill to its own pid
 * only; with send_to, sendto with an address and sendmsg allowed too.
 * SL_EINVAL when the table is not as ps_filter builds it.
 */
static int
ps_patch_filter(struct sock_filter *f, bool send_to)
{
	size_t sto, smsg, tgk;

	memcpy(f, ps_filter, sizeof(ps_filter));
	sto = ps_block(f, PS_NFILTER, __NR_sendto);
	smsg = ps_block(f, PS_NFILTER, __NR_sendmsg);
	tgk = ps_block(f, PS_NFILTER, __NR_tgkill);
	if (sto >= PS_NFILTER || smsg >= PS_NFILTER || tgk + 2 >= PS_NFILTER ||
	    f[tgk + 2].k != PS_SELF)
		return SL_EINVAL;
	/* tgkill: this process's threads only */
	f[tgk + 2].k = (uint32_t)getpid();
	/* receipts: sendto with an address, and sendmsg (to choose the
	 * source address), too: the first jump of their blocks goes straight
	 * to the block's RET ALLOW */
	if (send_to) {
		f[sto].jt = 4;   /* PS_ALLOW_NULL: four on is RET ALLOW */
		f[smsg].jt = 2;  /* PS_ALLOW_EQ: two on is RET ALLOW */
	}
	return 0;
}

/* What would be killed or refused is only logged (an AddressSanitizer
 * build, whose runtime reads /proc/self/maps; SIGLATCH_SECCOMP_LOG=1). */
static void
ps_log_only(struct sock_filter *f)
{
	size_t i;

	f[PS_NFILTER - 1].k = SECCOMP_RET_LOG;
	for (i = 0; i < PS_NFILTER; i++)
		if (f[i].code == (BPF_RET | BPF_K) && (f[i].k &
		    ~(uint32_t)SECCOMP_RET_DATA) == SECCOMP_RET_ERRNO)
			f[i].k = SECCOMP_RET_LOG;
	log_msg(LOG_WARNING, SLC_SYSERR, "%s: system calls outside the "
	    "sandbox are logged by the kernel, not refused",
	    PS_SANITIZER ? "AddressSanitizer build" : "SIGLATCH_SECCOMP_LOG=1");
}

int
privsep_sandbox_network(bool send_to, char *err, size_t errlen)
{
	struct sock_filter f[PS_NFILTER];
	struct sock_fprog prog = { .len = (unsigned short)PS_NFILTER, .filter = f };
	const char *dbg = getenv("SIGLATCH_SECCOMP_LOG");
	int r;

	if (ps_patch_filter(f, send_to) != 0) {
		sl_seterr(err, errlen, "seccomp: the filter is not as built");
		return SL_ESYS;
	}
	/* the time zone now, while /etc/localtime can still be opened for
	 * reading (syslog() and localtime_r() need it; they load it once) */
	tzset();
	if (PS_SANITIZER || (dbg != NULL && strcmp(dbg, "1") == 0))
		ps_log_only(f);
	if ((r = ps_no_new_privs(err, errlen)) != 0)
		return r;
	/* TSYNC: the worker threads get the filter too (and no_new_privs) */
	r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
	    SECCOMP_FILTER_FLAG_TSYNC, &prog);
	if (r > 0) {
		sl_seterr(err, errlen, "seccomp: thread %d cannot take the "
		    "filter", r);
		return SL_ESYS;
	}
	if (r != 0 && (errno == EINVAL || errno == ENOSYS)) {
		log_msg(LOG_WARNING, SLC_SYSERR, "this kernel has no seccomp "
		    "filters: the network process runs without its system "
		    "call sandbox");
		return 0;
	}
	if (r != 0) {
		sl_seterr(err, errlen, "seccomp(SECCOMP_SET_MODE_FILTER): %s",
		    strerror(errno));
		return SL_ESYS;
	}
	return 0;
}

#else /* no PS_AUDIT_ARCH */

int
privsep_sandbox_network(bool send_to, char *err, size_t errlen)
{
	(void)send_to;
	(void)err;
	(void)errlen;
	log_msg(LOG_WARNING, SLC_SYSERR, "no seccomp allow-list for this "
	    "architecture: the network process runs without its system call "
	    "sandbox");
	return 0;
}

#endif
