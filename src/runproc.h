/*
 * runproc.h - the runner process.
 *
 * siglatchd runs as two processes.  The network process receives,
 * decrypts, verifies and authorizes; the runner process holds no keys and
 * no network socket, and does only one thing: it accepts fixed-size
 * struct sl_request messages over a SOCK_SEQPACKET socketpair, checks each
 * again against its own copy of the configuration (runner_submit), and
 * runs the action.  If either process dies the other notices (hang-up on
 * the socketpair, SIGCHLD) and exits, so a service manager restarts both.
 */
#ifndef SL_RUNPROC_H
#define SL_RUNPROC_H

#include <sys/types.h>

#include "config.h"
#include "request.h"

struct runproc;

/*
 * Fork the runner process.  In the child, drop(arg) first releases what
 * belongs to the network process (sockets, replay journal, decryption
 * contexts, every key); the child then serves requests and never returns.
 * gt (may be NULL) is the timed-grant table, loaded by the caller: the
 * child keeps and persists it; the caller should free its own copy.
 */
struct grants;
int runproc_start(struct runproc **out, const struct config *cfg,
    struct grants *gt, void (*drop)(void *), void *arg);
/* Hand over one authorized request; SL_EBUSY if the runner is not keeping
 * up (the request is refused, never queued without bound). */
int runproc_send(struct runproc *rp, const struct sl_request *req);
/* Descriptor to poll: readable means news (runproc_read), hung up means
 * the runner is gone. */
int runproc_fd(const struct runproc *rp);
/* Pass each waiting outcome (struct sl_result) to cb.  0, or -1 when the
 * runner is gone. */
struct sl_result;
int runproc_read(struct runproc *rp,
    void (*cb)(void *, const struct sl_result *), void *arg);
pid_t runproc_pid(const struct runproc *rp);
/* Ask the runner to log its counters (SL008). */
void runproc_stats(struct runproc *rp);
/* Non-blocking: true if the runner process has exited (reaps it). */
int runproc_exited(struct runproc *rp, int *status);
/* Close the channel and wait for the runner to finish its scripts. */
int runproc_stop(struct runproc *rp);

#endif
