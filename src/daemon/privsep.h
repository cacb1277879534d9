/*
 * privsep.h - privilege separation.
 *
 * The network process (receive, decrypt, verify, authorize) gives up root
 * once it has bound its sockets and read its keys, and is then confined to
 * the system calls of its steady state.  The runner process stays root and
 * starts each script as the user its action names (spawn.c).
 *
 * Order in siglatchd (runproc.h draws the two processes):
 *   config_parse -> privsep_config_ids (also for -t) -> config_load_keys ->
 *   privsep_state_layout -> logs (privsep_check_log_path) -> replay_open
 *   (state_dir/net) -> grants (state_dir/grants) -> sockets -> daemon() ->
 *   fork: the parent stays root (runproc.c); the child does
 *   privsep_chroot (state_dir/net) -> privsep_drop -> privsep_sandbox_network
 * Every function returns 0 or a negative SL_E* code with a message in err;
 * any failure at start is fatal.
 */
#ifndef SL_PRIVSEP_H
#define SL_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

/* A resolved run_as.  For an action, set is false when there is nothing to
 * switch to; for the network process it is always true (privsep_drop
 * decides what root-less start-up still allows). */
struct privsep_ids {
	bool set;
	uid_t uid;
	gid_t gid;
};

/* getpwnam_r: SL_ENOENT "no user 'X' on this system", SL_ESYS otherwise. */
int privsep_resolve(const char *user, uid_t *uid, gid_t *gid, char *err,
    size_t errlen);

/*
 * Resolve every run_as of cfg: the top-level one into *net (it must not be
 * uid 0; net NULL: skip it), and that of each enabled action into act[i]
 * (i indexes cfg->actions; act NULL: check only).  An action's run_as needs
 * the daemon to be root unless it names the daemon's own user.  Errors name
 * file, line and key: "FILE:LINE: [action:A] key 'run_as': no user 'x' on
 * this system".  Call it right after config_parse (and for -t), so that a
 * bad user stops siglatchd before it listens.
 */
int privsep_config_ids(const struct config *cfg, struct privsep_ids *net,
    struct privsep_ids act[SL_MAX_ACTIONS], char *err, size_t errlen);

/*
 * As root: setgroups({gid}), setresgid, setresuid to (uid, gid), then
 * verify that root cannot be regained and that no capability is left;
 * not dumpable.  Not root: only drops any capabilities it was given.  In
 * both cases sets PR_SET_NO_NEW_PRIVS.  uid 0 is refused.
 */
int privsep_drop(uid_t uid, gid_t gid, char *err, size_t errlen);

/*
 * As root: the directory (state_dir/net) becomes owned by uid:gid with
 * mode 0700, and every regular file directly in it (replay.state, the
 * stats file ...) uid:gid 0600, so that the unprivileged network process
 * can keep and compact its journal.  Symbolic links are never followed (state_dir itself must not
 * be one); a file with more than one hard link is refused.  Not root:
 * nothing to do.
 */
int privsep_chown_state(const char *state_dir, uid_t uid, gid_t gid,
    char *err, size_t errlen);

/*
 * AddressSanitizer builds (make check-asan): LeakSanitizer checks at exit
 * by ptrace-ing the process from a helper, reading /proc, and its runtime
 * makes calls of its own.  There the network process stays dumpable, is
 * not chrooted, and the seccomp filter only logs.
 */
#if defined(__SANITIZE_ADDRESS__)
# define PRIVSEP_SANITIZER 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define PRIVSEP_SANITIZER 1
# endif
#endif
#ifndef PRIVSEP_SANITIZER
# define PRIVSEP_SANITIZER 0
#endif

/* The default run_as: a system user of the daemon's own. */
#define PRIVSEP_USER "siglatch"

/* The network process's part of state_dir: its journal and stats file. */
#define PRIVSEP_NETDIR "net"

/*
 * As root: state_dir (made 0700 if missing) belongs to root and is not
 * writable by group or others: one owned by another user (run_as, as
 * earlier versions left it) is taken back, with a notice.  Its
 * subdirectory net/ (PRIVSEP_NETDIR, path written to netdir) is made and
 * given to net's user (privsep_chown_state); a journal or stats file of
 * the earlier layout, directly in state_dir, is moved into it.  *used:
 * net/ has no journal although state_dir was used before (anything but
 * empty directories and net/ itself): the caller raises the replay
 * barrier (replay_lost).  Not root: the same, without owners.
 */
int privsep_state_layout(const char *state_dir, const struct privsep_ids *net,
    char *netdir, size_t netdirlen, bool *used, char *err, size_t errlen);

/*
 * A log file that root opens must not be in a directory run_as (net) may
 * write: there it could plant a file or link of its choosing.  SL_EPERM
 * with a message naming key, path and directory; 0 when the directory is
 * root's alone, or net is not set.
 */
int privsep_check_log_path(const char *key, const char *path,
    const struct privsep_ids *net, char *err, size_t errlen);

/*
 * One siglatchd per state_dir: an exclusive flock(2) on
 * state_dir/siglatchd.lock, held by the main process for as long as it
 * runs (the descriptor in *lockfd).  SL_EBUSY when another holds it, with
 * a message that names its pid (which privsep_write_pid keeps in the
 * file).  Call before anything listens.
 */
#define PRIVSEP_LOCK "siglatchd.lock"
int privsep_lock_instance(const char *state_dir, int *lockfd, char *err,
    size_t errlen);
/* Write this process's pid into fd (the lock file), or, with fd < 0,
 * into path (pid_file; O_NOFOLLOW). */
int privsep_write_pid(int fd, const char *path, char *err, size_t errlen);

/* As root: chroot(dir), chdir("/").  Not root: nothing. */
int privsep_chroot(const char *dir, char *err, size_t errlen);

/*
 * Install the seccomp-BPF allow-list of the network process's steady state
 * (after privsep_drop: nothing may be opened, bound or forked afterwards
 * except what the list allows).  Anything else kills the process with
 * SIGSYS, or for the few calls below fails with EACCES; with
 * SIGLATCH_SECCOMP_LOG=1 in the environment either is only logged
 * by the kernel (audit, dmesg), for diagnosis, and so it is always in
 * AddressSanitizer builds (LeakSanitizer's exit check needs ptrace; such
 * builds also stay dumpable after privsep_drop).  A kernel without seccomp
 * filters, or an architecture the list does not know, gets a warning and
 * no filter.  send_to: also allow sendto(2) with a destination and
 * sendmsg(2) (format-2 receipts); without it sendto is allowed only on a
 * connected socket, and sendmsg not at all.
 *
 * Beyond the call numbers: connect(2) and socket(AF_UNIX) fail with
 * EACCES (so the syslog socket must be connected before, by log_init;
 * glibc's attempt to reconnect it later fails quietly); tgkill(2) only
 * within the calling process (its pid is written into the filter here);
 * openat(2) only with a mode inside 0666 and flags, less O_CLOEXEC,
 * O_NOFOLLOW, O_NOCTTY and O_NONBLOCK, that are exactly
 * O_RDWR|O_CREAT|O_EXCL, O_WRONLY|O_CREAT|O_TRUNC or
 * O_WRONLY|O_CREAT|O_APPEND, any other (and open(2)) failing with EACCES:
 * nothing that exists can be read.  The time zone is loaded (tzset)
 * before the filter goes on.
 */
int privsep_sandbox_network(bool send_to, char *err, size_t errlen);

#endif
