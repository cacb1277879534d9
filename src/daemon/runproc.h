/*
 * runproc.h - the two processes of siglatchd.
 *
 * In OpenBSD ntpd's shape.  The privileged parent (root) opens what needs
 * root, keeps the timed grants and runs the actions (runner.c); it holds
 * no key and no network socket.  The network child receives, decrypts,
 * verifies and authorizes, chrooted into state_dir/net, as run_as, with
 * no capabilities and under seccomp.  They talk over a SOCK_SEQPACKET
 * socketpair, one fixed-size message per datagram (request.h), each side
 * checking every message against a table {type, exact length}: anything
 * else stops both.  If either process goes the other exits non-zero, so
 * that a service manager restarts the pair.
 *
 *   parent (root)                     child (run_as, chroot, seccomp)
 *   runner, grants, log files   <---  SL_REQ_MAGIC  sl_request
 *   SIGHUP: reopen logs         --->  SL_RES_MAGIC  sl_result (receipts)
 *                               --->  SL_MSG_LOGFDS + SCM_RIGHTS
 *   SIGUSR1: counters           --->  SL_MSG_STATS
 *   SIGHUP: reload (reload.h)   --->  SL_MSG_RELOAD + memfd
 *                               <---  SL_MSG_RELOADED sl_status
 *   SIGTERM: passed on, then waits for the channel to close
 */
#ifndef SL_RUNPROC_H
#define SL_RUNPROC_H

#include <sys/types.h>

#include "config.h"
#include "request.h"

struct runproc;
struct grants;

/*
 * Fork.  The parent keeps root: drop(arg) first lets go of everything that
 * belongs to the network process (sockets, replay journal, decryption
 * contexts, every key); it then serves requests, and exits when the
 * network process has gone (never returns): status 0 only after a stop it
 * was asked for (SIGTERM, SIGINT) that the network process finished
 * cleanly too.  On SIGHUP it reads the configuration again, as at start
 * (cfg->path); if it is good and needs no restart, the network process
 * gets it (reload.h), and once it has taken it the parent does too (the
 * old one is freed: cfg must have come from calloc).  SIGUSR2 only
 * reopens the log files.  gt (may be NULL) is the timed-grant table, which the
 * parent keeps and persists.  The child returns 0 with *out set: it is
 * the network process, still root, and should free its copy of gt.
 */
int runproc_start(struct runproc **out, struct config *cfg,
    struct grants *gt, void (*drop)(void *), void *arg);
/* The network side of an existing channel (tests); NULL: no memory. */
struct runproc *runproc_adopt(int fd, pid_t peer);
/* Hand over one authorized request; SL_EBUSY if the privileged process
 * is not keeping up (the request is refused, never queued without bound). */
int runproc_send(struct runproc *rp, const struct sl_request *req);
/* Descriptor to poll: readable means news (runproc_read), hung up means
 * the privileged process is gone. */
int runproc_fd(const struct runproc *rp);
/* What the privileged process may say. */
struct sl_result;
struct runproc_cbs {
	void (*result)(void *, const struct sl_result *); /* a receipt's news */
	void (*stats)(void *);  /* log your counters (SIGUSR1 to the parent) */
	/* a new configuration in a memfd (reload.h): 0 when it is in use,
	 * else an SL_E* code (the old one stays); the fd is closed after */
	int (*reload)(void *, int fd);
	void *arg;
};
/* Handle every waiting message (reopened log files are taken over here).
 * 0; -1 when the privileged process is gone; SL_EPROTO (logged) when it
 * sent something outside the table: the caller must stop. */
int runproc_read(struct runproc *rp, const struct runproc_cbs *cb);
/* The privileged process's pid. */
pid_t runproc_pid(const struct runproc *rp);
/* Close the channel: the privileged process then finishes its scripts and
 * exits. */
void runproc_stop(struct runproc *rp);

#endif
