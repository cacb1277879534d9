/*
 * cfgfiles.c - the files a parsed configuration names, as siglatchd -t and
 * the start find them: the owners and modes of the files it trusts
 * (config_check_files: the configuration, the directories of the key
 * files, the actions' programs and scripts), the keys themselves
 * (config_load_keys, config_load_fleet_secret, config_log_fingerprints,
 * config_wipe_keys), and what else the start needs (config_check_start:
 * state_dir, the files it writes, whether each action's run_as user may run
 * its program).
 *
 * Works on a finished struct config (config.h) only.  Errors name the
 * configuration file and the line of the key that names the file:
 * "FILE:LINE: [section] key 'KEY': /path: problem; fix with: ...".
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config.h"
#include "crypto.h"
#include "log.h"
#include "privsep.h"
#include "util.h"

/* ---- files the configuration trusts: owners and modes ------------------ */

/* Who may own them: root, or the user siglatchd runs as. */
static bool
cfg_owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

static const char *
cfg_owners(char *buf, size_t len)
{
	if (geteuid() == 0)
		snprintf(buf, len, "root");
	else
		snprintf(buf, len, "root or uid %u (which runs siglatchd)",
		    (unsigned)geteuid());
	return buf;
}

/*
 * One directory on the way to a trusted file (real: resolved): owned by
 * root or us, and writable by nobody else unless it is sticky (as /tmp:
 * then no one else can rename or remove the entry below it, which is
 * checked in its turn).  strict: not even sticky (the file below does not
 * exist, and anyone who may write here could create it).
 */
static int
cfg_check_dir(const char *path, const char *dir, bool strict, char *err,
    size_t errlen)
{
	struct stat st;
	char who[64];

	if (stat(dir, &st) != 0) {
		sl_seterr(err, errlen, "%s: directory %s: %s", path, dir,
		    strerror(errno));
		return SL_ESYS;
	}
	if (!cfg_owner_ok(st.st_uid)) {
		sl_seterr(err, errlen, "%s: directory %s is owned by uid %u, "
		    "not by %s; fix with: chown root %s", path, dir,
		    (unsigned)st.st_uid, cfg_owners(who, sizeof(who)), dir);
		return SL_EPERM;
	}
	if ((st.st_mode & 022) != 0 && strict) {
		sl_seterr(err, errlen, "%s: does not exist, and group or others "
		    "may create it in %s (mode %04o); create it, or use a "
		    "directory only its owner may write", path, dir,
		    (unsigned)(st.st_mode & 07777));
		return SL_EPERM;
	}
	if ((st.st_mode & 022) != 0 && !(st.st_mode & S_ISVTX)) {
		sl_seterr(err, errlen, "%s: directory %s is writable by group "
		    "or others (mode %04o); fix with: chmod go-w %s", path, dir,
		    (unsigned)(st.st_mode & 07777), dir);
		return SL_EPERM;
	}
	return 0;
}

/* Every directory above real (resolved, absolute), up to /. */
static int
cfg_check_dirs(const char *path, const char *real, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	char *slash;
	int r;

	if (sl_strlcpy(dir, real, sizeof(dir)) != 0)
		return SL_EINVAL;
	while ((slash = strrchr(dir, '/')) != NULL && dir[1] != '\0') {
		slash[slash == dir ? 1 : 0] = '\0';
		if ((r = cfg_check_dir(path, dir, false, err, errlen)) != 0)
			return r;
	}
	return 0;
}

/*
 * A trusted file that does not exist yet (realpath(3) said ENOENT): the
 * nearest directory above it that does exist must let no one else create
 * it, and the directories above that pass cfg_check_dirs.
 */
static int
cfg_check_missing(const char *path, char *err, size_t errlen)
{
	char real[PATH_MAX], up[PATH_MAX];
	char *slash;
	int r;

	if (sl_strlcpy(up, path, sizeof(up)) != 0)
		return SL_EINVAL;
	for (;;) {
		if ((slash = strrchr(up, '/')) == NULL)
			snprintf(up, sizeof(up), ".");
		else
			slash[slash == up ? 1 : 0] = '\0';
		if (realpath(up, real) != NULL)
			break;
		if (errno != ENOENT || slash == NULL || strcmp(up, "/") == 0) {
			sl_seterr(err, errlen, "%s: %s", path, strerror(errno));
			return SL_ESYS;
		}
	}
	if ((r = cfg_check_dir(path, real, true, err, errlen)) != 0)
		return r;
	return cfg_check_dirs(path, real, err, errlen);
}

/*
 * A trusted file: a regular file owned by root or us that neither group
 * nor others may write, in directories that pass cfg_check_dirs.
 * missing_ok: a file that does not exist passes, *missing set, when
 * cfg_check_missing passes.
 */
static int
cfg_check_trusted(const char *path, bool missing_ok, bool *missing,
    char *err, size_t errlen)
{
	char real[PATH_MAX], shown[PATH_MAX + 16] = "", who[64];
	struct stat st;
	int r;

	if (missing != NULL)
		*missing = false;
	if (realpath(path, real) == NULL) {
		if (errno != ENOENT || !missing_ok) {
			sl_seterr(err, errlen, "%s: %s", path, strerror(errno));
			return SL_ESYS;
		}
		if ((r = cfg_check_missing(path, err, errlen)) == 0 &&
		    missing != NULL)
			*missing = true;
		return r;
	}
	if (strcmp(path, real) != 0)
		snprintf(shown, sizeof(shown), " (%s)", real);
	if (stat(real, &st) != 0) {
		sl_seterr(err, errlen, "%s%s: %s", path, shown, strerror(errno));
		return SL_ESYS;
	}
	if (!S_ISREG(st.st_mode)) {
		sl_seterr(err, errlen, "%s%s: not a regular file", path, shown);
		return SL_EPERM;
	}
	if (!cfg_owner_ok(st.st_uid)) {
		sl_seterr(err, errlen, "%s%s: owned by uid %u, not by %s; fix "
		    "with: chown root %s", path, shown, (unsigned)st.st_uid,
		    cfg_owners(who, sizeof(who)), real);
		return SL_EPERM;
	}
	if ((st.st_mode & 022) != 0) {
		sl_seterr(err, errlen, "%s%s: writable by group or others "
		    "(mode %04o); fix with: chmod go-w %s", path, shown,
		    (unsigned)(st.st_mode & 07777), real);
		return SL_EPERM;
	}
	return cfg_check_dirs(path, real, err, errlen);
}

/* The directories above a key file (the file is checked as it is read);
 * a missing one is left for config_load_keys to report. */
static int
cfg_check_key_dirs(const char *path, char *err, size_t errlen)
{
	char real[PATH_MAX];

	if (realpath(path, real) == NULL) {
		if (errno == ENOENT)
			return 0;
		sl_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return SL_ESYS;
	}
	return cfg_check_dirs(path, real, err, errlen);
}

/* What an action's command line runs: the program, and the script it is
 * given when that is an existing file named by an absolute path. */
static int
cfg_check_command(const struct config *cfg, const struct cfg_action *a,
    const char *key, const char *cmd, int line, char *err, size_t errlen)
{
	char buf[SL_CMD_MAX], e[PATH_MAX * 2 + 256];
	char *prog, *rest = NULL;
	struct stat st;
	bool missing;
	int r;

	if (sl_strlcpy(buf, cmd, sizeof(buf)) != 0)
		return 0;
	prog = sl_trim(buf);
	if (prog[0] != '/')
		return 0;           /* never run: the runner refuses it */
	if (a->exec_split && (rest = strchr(prog, ' ')) != NULL) {
		*rest++ = '\0';
		rest += strspn(rest, " \t");
	}
	r = cfg_check_trusted(prog, true, &missing, e, sizeof(e));
	if (r == 0 && missing)
		log_msg(LOG_WARNING, SLC_CONFIG_WARN, "%s:%d: [action:%s] key "
		    "'%s': %s does not exist", cfg->path, line, a->name, key,
		    prog);
	if (r == 0 && rest != NULL && rest[0] == '/' && stat(rest, &st) == 0 &&
	    S_ISREG(st.st_mode))
		r = cfg_check_trusted(rest, false, NULL, e, sizeof(e));
	if (r != 0)
		sl_seterr(err, errlen, "%s:%d: [action:%s] key '%s': %s",
		    cfg->path, line, a->name, key, e);
	return r;
}

int
config_check_files(const struct config *cfg, char *err, size_t errlen)
{
	char e[PATH_MAX * 2 + 256];
	unsigned i;
	int r;

	if ((r = cfg_check_trusted(cfg->path, false, NULL, err, errlen)) != 0)
		return r;
	for (i = 0; i < cfg->nservers && i < SL_MAX_SERVERS; i++) {
		const struct cfg_server *s = &cfg->servers[i];
		bool own = s->priv_key_path[0] != '\0';

		if (!s->enabled || (r = cfg_check_key_dirs(own ?
		    s->priv_key_path : cfg->priv_key_path, e, sizeof(e))) == 0)
			continue;
		if (own)
			sl_seterr(err, errlen, "%s:%d: [server:%s] key "
			    "'priv_key_path': %s", cfg->path, s->priv_key_line,
			    s->name, e);
		else
			sl_seterr(err, errlen, "%s:%d: key 'priv_key_path' (for "
			    "[server:%s]): %s", cfg->path, s->priv_key_line,
			    s->name, e);
		return r;
	}
	for (i = 0; i < cfg->nusers && i < SL_MAX_USERS; i++) {
		const struct cfg_user *u = &cfg->users[i];

		if (!u->enabled ||
		    (r = cfg_check_key_dirs(u->hmac_file, e, sizeof(e))) == 0)
			continue;
		sl_seterr(err, errlen, "%s:%d: [user:%s] key 'hmac_file': %s",
		    cfg->path, u->hmac_file_line, u->name, e);
		return r;
	}
	for (i = 0; i < cfg->nactions && i < SL_MAX_ACTIONS; i++) {
		const struct cfg_action *a = &cfg->actions[i];

		if (!a->enabled)
			continue;
		if ((r = cfg_check_command(cfg, a, "constructor",
		    a->constructor, a->constructor_line, err, errlen)) != 0)
			return r;
		if (a->destructor[0] != '\0' &&
		    (r = cfg_check_command(cfg, a, "destructor", a->destructor,
		    a->destructor_line, err, errlen)) != 0)
			return r;
	}
	if (cfg->fleet.on && cfg->fleet.password_file[0] != '\0' &&
	    (r = cfg_check_key_dirs(cfg->fleet.password_file, e,
	    sizeof(e))) != 0) {
		sl_seterr(err, errlen, "%s:%d: [fleet] key 'password_file': %s",
		    cfg->path, cfg->fleet.password_line, e);
		return r;
	}
	return 0;
}

/* ---- the keys: loaded, logged, wiped ----------------------------------- */

/*
 * Open a [fleet] password_file, checked as key files are (a regular file of
 * root or ours that group and others may neither read nor write), on the
 * open descriptor.  0 with *fdp, or an error with the message in err.
 */
static int
cfg_open_secret(const char *path, int *fdp, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc = SL_EKEY;

	/* O_NONBLOCK: a FIFO is refused below instead of blocking the start */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) <
	    0) {
		sl_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return SL_ESYS;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		sl_seterr(err, errlen, "%s: not a regular file", path);
		goto bad;
	}
	if ((st.st_mode & 077) != 0) {
		sl_seterr(err, errlen, "%s: readable or writable by group or "
		    "others; fix with: chmod 600 %s", path, path);
		rc = SL_EPERM;
		goto bad;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		sl_seterr(err, errlen, "%s: owned by uid %u, not by root; fix "
		    "with: chown root %s", path, (unsigned)st.st_uid, path);
		rc = SL_EPERM;
		goto bad;
	}
	*fdp = fd;
	return 0;
bad:
	close(fd);
	return rc;
}

/* "PASSWORD" or "USER PASSWORD" (the first line of buf, which is cut)
 * into f's user and password; 0 or -1. */
static int
cfg_parse_secret(struct cfg_fleet *f, char *buf)
{
	char *p = buf, *sp;

	p[strcspn(p, "\r\n")] = '\0';
	p = sl_trim(p);
	if ((sp = strpbrk(p, " \t")) != NULL) {
		*sp++ = '\0';
		sp += strspn(sp, " \t");
		if (sl_strlcpy(f->user, p, sizeof(f->user)) != 0)
			return -1;
		p = sp;
	}
	if (*p == '\0' || strpbrk(p, " \t") != NULL ||
	    sl_strlcpy(f->password, p, sizeof(f->password)) != 0)
		return -1;
	return 0;
}

/* the longest password_file taken: "USER PASSWORD\r\n", some blanks */
#define FLEET_SECRET_FILE_MAX (2 * FLEET_SECRET_MAX + 6)

/* [fleet] password_file, when there is one, into f's user and password. */
static int
cfg_load_fleet_secret(struct cfg_fleet *f, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t n = 0;
	int fd, rc;

	if (f->password_file[0] == '\0')
		return 0;
	if ((rc = cfg_open_secret(f->password_file, &fd, err, errlen)) != 0)
		return rc;
	rc = sl_read_fd(fd, FLEET_SECRET_FILE_MAX, &buf, &n, NULL);
	close(fd);
	if (rc == SL_ESYS) {
		sl_seterr(err, errlen, "%s: %s", f->password_file,
		    strerror(errno));
		return rc;
	}
	if (rc != 0 || memchr(buf, '\0', n) != NULL) {
		sl_seterr(err, errlen, "%s: too long, or not text",
		    f->password_file);
		rc = SL_EKEY;
	} else if (cfg_parse_secret(f, buf) != 0) {
		sl_seterr(err, errlen, "%s: expected one line, \"PASSWORD\" "
		    "or \"USER PASSWORD\"", f->password_file);
		OPENSSL_cleanse(f->user, sizeof(f->user));
		OPENSSL_cleanse(f->password, sizeof(f->password));
		rc = SL_EKEY;
	}
	if (buf != NULL)
		sl_read_free_secret(buf, n);
	return rc;
}

int
config_load_fleet_secret(const struct config *cfg, struct cfg_fleet *f,
    char *err, size_t errlen)
{
	char kerr[SL_PATH_MAX * 2 + 128];
	int rc;

	*f = cfg->fleet;
	if ((rc = cfg_load_fleet_secret(f, kerr, sizeof(kerr))) != 0)
		snprintf(err, errlen, "%s:%d: [fleet] key 'password_file': %s",
		    cfg->path, cfg->fleet.password_line, kerr);
	return rc;
}

int
config_load_keys(struct config *cfg, char *err, size_t errlen)
{
	char kerr[SL_PATH_MAX * 2 + 128];
	unsigned i;
	int rc;

	for (i = 0; i < cfg->nservers; i++) {
		struct cfg_server *s = &cfg->servers[i];
		bool own = s->priv_key_path[0] != '\0';

		if (!s->enabled)
			continue;
		EVP_PKEY_free(s->priv);
		s->priv = NULL;
		rc = crypto_load_private(own ? s->priv_key_path :
		    cfg->priv_key_path, 1, &s->priv, kerr, sizeof(kerr));
		if (rc != 0) {
			if (own)
				snprintf(err, errlen, "%s:%d: [server:%s] key "
				    "'priv_key_path': %s", cfg->path,
				    s->priv_key_line, s->name, kerr);
			else
				snprintf(err, errlen, "%s:%d: key "
				    "'priv_key_path' (for [server:%s]): %s",
				    cfg->path, s->priv_key_line, s->name, kerr);
			return rc;
		}
	}
	for (i = 0; i < cfg->nusers; i++) {
		struct cfg_user *u = &cfg->users[i];

		if (!u->enabled)
			continue;
		rc = crypto_load_hmac_key(u->hmac_file, 1, u->hmac_key, kerr,
		    sizeof(kerr));
		if (rc != 0) {
			snprintf(err, errlen, "%s:%d: [user:%s] key 'hmac_file': "
			    "%s", cfg->path, u->hmac_file_line, u->name, kerr);
			return rc;
		}
	}
	if (cfg->fleet.on) {
		/* checked here; read again by whoever connects (the fleet
		 * process, -t), so the network process never keeps it */
		struct cfg_fleet f;

		rc = config_load_fleet_secret(cfg, &f, err, errlen);
		OPENSSL_cleanse(&f, sizeof(f));
		if (rc != 0)
			return rc;
	}
	return 0;
}

void
config_log_fingerprints(const struct config *cfg)
{
	char fp[CRYPTO_FP_LEN];
	unsigned i;

	for (i = 0; i < cfg->nservers && i < SL_MAX_SERVERS; i++) {
		const struct cfg_server *s = &cfg->servers[i];

		if (!s->enabled || s->priv == NULL ||
		    crypto_fp_pkey(s->priv, fp, sizeof(fp)) != 0)
			continue;
		log_msg(LOG_INFO, SLC_CONFIG_OK, "server %s: key %s, %s",
		    s->name, s->priv_key_path[0] != '\0' ? s->priv_key_path :
		    cfg->priv_key_path, fp);
	}
	for (i = 0; i < cfg->nusers && i < SL_MAX_USERS; i++) {
		const struct cfg_user *u = &cfg->users[i];

		if (!u->enabled || crypto_fp_hmac(u->hmac_key, fp,
		    sizeof(fp)) != 0)
			continue;
		log_msg(LOG_INFO, SLC_CONFIG_OK, "user %s (id %d): hmac_file "
		    "%s, %s", u->name, u->id, u->hmac_file, fp);
	}
}

/* ---- what -t checks beyond the files: as the start would find it ------ */

/* state_dir: a directory only its owner may write, or, not there yet, a
 * parent that exists and lets no one else create it first. */
static int
cfg_check_state_dir(const struct config *cfg, char *err, size_t errlen)
{
	char parent[SL_PATH_MAX], *slash;
	struct stat st;

	if (stat(cfg->state_dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			sl_seterr(err, errlen, "%s: state_dir %s: not a "
			    "directory", cfg->path, cfg->state_dir);
			return SL_ECONFIG;
		}
		if ((st.st_mode & 002) != 0) {
			sl_seterr(err, errlen, "%s: state_dir %s: writable by "
			    "others (mode %04o); fix with: chmod 700 %s",
			    cfg->path, cfg->state_dir,
			    (unsigned)(st.st_mode & 07777), cfg->state_dir);
			return SL_EPERM;
		}
	} else if (errno != ENOENT) {
		sl_seterr(err, errlen, "%s: state_dir %s: %s", cfg->path,
		    cfg->state_dir, strerror(errno));
		return SL_ESYS;
	}
	/* the parent: siglatchd makes state_dir there, or it is there */
	if (sl_strlcpy(parent, cfg->state_dir, sizeof(parent)) != 0)
		return SL_ETOOBIG;
	while ((slash = strrchr(parent, '/')) != NULL && slash[1] == '\0' &&
	    slash != parent)
		*slash = '\0';  /* trailing slashes */
	if ((slash = strrchr(parent, '/')) == NULL)
		snprintf(parent, sizeof(parent), ".");
	else
		slash[slash == parent ? 1 : 0] = '\0';
	if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
		sl_seterr(err, errlen, "%s: state_dir %s: its parent %s %s; "
		    "create it (mkdir -p %s)", cfg->path, cfg->state_dir,
		    parent, errno == ENOENT ? "does not exist" :
		    "is not a directory", parent);
		return SL_ECONFIG;
	}
	if ((st.st_mode & 002) != 0 && !(st.st_mode & S_ISVTX)) {
		sl_seterr(err, errlen, "%s: state_dir %s: its parent %s is "
		    "writable by others (mode %04o): anyone could replace "
		    "state_dir; fix with: chmod o-w %s", cfg->path,
		    cfg->state_dir, parent, (unsigned)(st.st_mode & 07777),
		    parent);
		return SL_EPERM;
	}
	if ((st.st_mode & 002) != 0 && stat(cfg->state_dir, &st) != 0) {
		sl_seterr(err, errlen, "%s: state_dir %s does not exist, and "
		    "anyone may create it in %s first; create it (mkdir -m "
		    "700 %s)", cfg->path, cfg->state_dir, parent,
		    cfg->state_dir);
		return SL_EPERM;
	}
	return 0;
}

/*
 * May uid:gid (with gid as its only group, as the runner starts scripts)
 * execute prog, and read script (NULL: none)?  Asked of the kernel in a
 * child that takes those ids.  0, or the errno of the first refusal with
 * *which 1 (prog) or 2 (script).
 */
static int
cfg_can_run(uid_t uid, gid_t gid, const char *prog, const char *script,
    int *which)
{
	pid_t pid;
	int st;

	*which = 0;
	fflush(NULL);
	if ((pid = fork()) < 0)
		return errno;
	if (pid == 0) {
		if (uid != geteuid() && (setgroups(1, &gid) != 0 ||
		    setresgid(gid, gid, gid) != 0 ||
		    setresuid(uid, uid, uid) != 0))
			_exit(1);
		if (faccessat(AT_FDCWD, prog, X_OK, AT_EACCESS) != 0)
			_exit(64 + (errno & 63));
		if (script != NULL &&
		    faccessat(AT_FDCWD, script, R_OK, AT_EACCESS) != 0)
			_exit(128 + (errno & 63));
		_exit(0);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return errno;
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 1)
		return EPERM;
	*which = WEXITSTATUS(st) >= 128 ? 2 : WEXITSTATUS(st) >= 64 ? 1 : 0;
	return WEXITSTATUS(st) & 63;
}

/* An action's command line, run by its run_as user: its program must be
 * executable, and the script it is given (an existing absolute path)
 * readable, by that user. */
static int
cfg_check_exec(const struct config *cfg, const struct cfg_action *a,
    const char *key, const char *cmd, int line, char *err, size_t errlen)
{
	char buf[SL_CMD_MAX], who[SL_NAME_MAX + 32], e[256];
	char *prog, *rest = NULL;
	struct stat st;
	uid_t uid = 0;
	gid_t gid = 0;
	int r, which;

	if (sl_strlcpy(buf, cmd, sizeof(buf)) != 0)
		return 0;
	prog = sl_trim(buf);
	if (prog[0] != '/')
		return 0;  /* refused by the runner */
	if (a->exec_split && (rest = strchr(prog, ' ')) != NULL) {
		*rest++ = '\0';
		rest += strspn(rest, " \t");
		if (rest[0] != '/' || stat(rest, &st) != 0 ||
		    !S_ISREG(st.st_mode))
			rest = NULL;
	}
	if (stat(prog, &st) != 0)
		return 0;  /* warned about by config_check_files */
	if (a->run_as[0] != '\0' &&
	    privsep_resolve(a->run_as, &uid, &gid, e, sizeof(e)) != 0) {
		sl_seterr(err, errlen, "%s:%d: [action:%s] key 'run_as': %s",
		    cfg->path, a->run_as_line, a->name, e);
		return SL_ECONFIG;
	}
	if (geteuid() != 0 && uid != geteuid())
		return 0;  /* only root can take another user's ids */
	if ((r = cfg_can_run(uid, gid, prog, rest, &which)) == 0)
		return 0;
	if (a->run_as[0] != '\0')
		snprintf(who, sizeof(who), "run_as %s (uid %u)", a->run_as,
		    (unsigned)uid);
	else
		snprintf(who, sizeof(who), "the runner (uid 0)");
	sl_seterr(err, errlen, "%s:%d: [action:%s] key '%s': %s cannot %s "
	    "%s: %s (each directory on the way needs x for it, e.g. "
	    "chmod 755; /etc/siglatch is 0700 after make install)", cfg->path,
	    line, a->name, key, who, which == 2 ? "read" : "execute",
	    which == 2 ? rest : prog, strerror(r));
	return SL_EPERM;
}

/* A file the start opens for writing (log_file, stats_file): if it is
 * there, a regular file; if not, in a directory that exists. */
static int
cfg_check_out_file(const struct config *cfg, const char *label,
    const char *key, const char *path, char *err, size_t errlen)
{
	char dir[SL_PATH_MAX], *slash;
	struct stat st;

	if (path[0] == '\0')
		return 0;
	if (stat(path, &st) == 0) {
		if (S_ISREG(st.st_mode))
			return 0;
		sl_seterr(err, errlen, "%s: %skey '%s': %s: not a regular "
		    "file", cfg->path, label, key, path);
		return SL_ECONFIG;
	}
	if (sl_strlcpy(dir, path, sizeof(dir)) != 0)
		return SL_ETOOBIG;
	if ((slash = strrchr(dir, '/')) == NULL)
		return 0;  /* relative: where siglatchd runs */
	slash[slash == dir ? 1 : 0] = '\0';
	errno = 0;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		sl_seterr(err, errlen, "%s: %skey '%s': directory %s: %s",
		    cfg->path, label, key, dir, errno != 0 ? strerror(errno) :
		    "not a directory");
		return SL_ECONFIG;
	}
	return 0;
}

/* The files the start opens for writing: log_file (each enabled server's
 * too), stats_file, and metrics_file when it names a directory. */
static int
cfg_check_out_files(const struct config *cfg, char *err, size_t errlen)
{
	unsigned i;
	int r;

	if ((r = cfg_check_out_file(cfg, "", "log_file", cfg->log_file, err,
	    errlen)) != 0 ||
	    (r = cfg_check_out_file(cfg, "", "stats_file", cfg->stats_file,
	    err, errlen)) != 0)
		return r;
	for (i = 0; i < cfg->nservers && i < SL_MAX_SERVERS; i++) {
		char label[SL_NAME_MAX + 16];

		if (!cfg->servers[i].enabled)
			continue;
		snprintf(label, sizeof(label), "[server:%s] ",
		    cfg->servers[i].name);
		if ((r = cfg_check_out_file(cfg, label, "log_file",
		    cfg->servers[i].log_file, err, errlen)) != 0)
			return r;
	}
	if (strchr(cfg->metrics_file, '/') != NULL &&
	    (r = cfg_check_out_file(cfg, "", "metrics_file",
	    cfg->metrics_file, err, errlen)) != 0)
		return r;
	return 0;
}

/* The actions enabled users may run and enabled servers offer; warns
 * (SL005) about each disabled user. */
static void
cfg_run_sets(const struct config *cfg, struct sl_idset *users_run,
    struct sl_idset *servers_run)
{
	unsigned i, j;

	memset(users_run, 0, sizeof(*users_run));
	memset(servers_run, 0, sizeof(*servers_run));
	for (i = 0; i < cfg->nservers && i < SL_MAX_SERVERS; i++)
		for (j = 0; cfg->servers[i].enabled &&
		    j < SL_MAX_ACTIONS / 32; j++)
			servers_run->w[j] |= cfg->servers[i].actions.w[j];
	for (i = 0; i < cfg->nusers && i < SL_MAX_USERS; i++) {
		const struct cfg_user *u = &cfg->users[i];

		if (!u->enabled) {
			log_msg(LOG_WARNING, SLC_CONFIG_WARN, "%s:%d: "
			    "[user:%s]: disabled (enabled = no): its knocks "
			    "are rejected (SL201, user disabled)", cfg->path,
			    u->line, u->name);
			continue;
		}
		for (j = 0; j < SL_MAX_ACTIONS / 32; j++)
			users_run->w[j] |= u->actions.w[j];
	}
}

int
config_check_start(const struct config *cfg, char *err, size_t errlen)
{
	struct sl_idset users_run, servers_run;
	unsigned i;
	int r;

	if ((r = cfg_check_state_dir(cfg, err, errlen)) != 0 ||
	    (r = cfg_check_out_files(cfg, err, errlen)) != 0)
		return r;
	cfg_run_sets(cfg, &users_run, &servers_run);
	for (i = 0; i < cfg->nactions && i < SL_MAX_ACTIONS; i++) {
		const struct cfg_action *a = &cfg->actions[i];

		if (!a->enabled || a->id < 0)
			continue;
		if (!idset_has(&users_run, (unsigned)a->id))
			log_msg(LOG_WARNING, SLC_CONFIG_WARN, "%s:%d: "
			    "[action:%s]: no enabled user may run it (none "
			    "lists it in actions)", cfg->path, a->line,
			    a->name);
		else if (!idset_has(&servers_run, (unsigned)a->id))
			log_msg(LOG_WARNING, SLC_CONFIG_WARN, "%s:%d: "
			    "[action:%s]: no enabled server offers it (none "
			    "lists it in actions)", cfg->path, a->line,
			    a->name);
		if ((r = cfg_check_exec(cfg, a, "constructor", a->constructor,
		    a->constructor_line, err, errlen)) != 0)
			return r;
		if (a->destructor[0] != '\0' &&
		    (r = cfg_check_exec(cfg, a, "destructor", a->destructor,
		    a->destructor_line, err, errlen)) != 0)
			return r;
	}
	return 0;
}

void
config_wipe_keys(struct config *cfg)
{
	unsigned i;

	for (i = 0; i < cfg->nservers && i < SL_MAX_SERVERS; i++) {
		EVP_PKEY_free(cfg->servers[i].priv);
		cfg->servers[i].priv = NULL;
	}
	for (i = 0; i < cfg->nusers && i < SL_MAX_USERS; i++)
		OPENSSL_cleanse(cfg->users[i].hmac_key,
		    sizeof(cfg->users[i].hmac_key));
	OPENSSL_cleanse(cfg->fleet.user, sizeof(cfg->fleet.user));
	OPENSSL_cleanse(cfg->fleet.password, sizeof(cfg->fleet.password));
}
