/*
 * runner.h - runs action scripts for authorized requests.
 *
 * Receives only fixed-size struct sl_request values and checks each again
 * against its own configuration before running anything.  execve, never a
 * shell; siglatch 1.0 argv; as the action's run_as user (setgroups to its
 * primary group only, setresgid, setresuid); stdin /dev/null; output
 * captured to the log (bounded); clean environment; own process group,
 * killed (TERM, then KILL) at script_timeout; at most max_scripts at once;
 * whatever a script starts is killed when it ends (runner_new).
 */
#ifndef SL_RUNNER_H
#define SL_RUNNER_H

#include <poll.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stdint.h>
#include <sys/types.h>
#include "sl.h"
#include "config.h"
#include "request.h"
#include "b64.h"

struct runner;

struct runner_stats {
	uint64_t started, exit_ok, exit_fail, killed, refused_busy,
	    refused_check, spawn_fail;
	uint64_t leftovers;         /* processes scripts left behind, reaped */
	uint64_t leftovers_killed;  /* ... of which a signal ended */
};

/*
 * Resolves every enabled action's run_as (privsep_config_ids): an unknown
 * user, or one that needs root when the runner is not root, is logged and
 * returned (SL_ENOENT, SL_EPERM ...).
 *
 * Makes the calling process a child subreaper (PR_SET_CHILD_SUBREAPER):
 * nothing a script starts outlives it.  When a script ends, its process
 * group is killed, and so is every child of the calling process that is
 * not a running script (what a script left behind, in any session or
 * group, comes back to a subreaper); each is reaped and logged (SL104).
 * While scripts run, a process whose parent has exited is killed the same
 * way within about a second (runner_next_timeout_ms includes that look).
 * So every other child of the calling process must be named to
 * runner_keep_child before its first runner_service.
 */
int runner_new(struct runner **out, const struct config *cfg);
void runner_free(struct runner *rn);
/* SL_EBUSY at max_scripts, SL_EDENIED if the request fails the re-check,
 * SL_ESYS if the script could not be started. */
int runner_submit(struct runner *rn, const struct sl_request *req);
/* Add the descriptors to watch (script output) to pfd; returns the count
 * written (<= max). */
int runner_pollfds(struct runner *rn, struct pollfd *pfd, int max);
/* Milliseconds until the next timeout action is due, or -1 if none. */
int runner_next_timeout_ms(const struct runner *rn);
/* Read output, reap exited children, enforce timeouts.  Never blocks. */
void runner_service(struct runner *rn);
unsigned runner_running(const struct runner *rn);
/* Wait (up to each script's own timeout) for all scripts to finish, and
 * (up to 2 s) for what they left behind to be killed and reaped. */
void runner_drain(struct runner *rn);
const struct runner_stats *runner_get_stats(const struct runner *rn);

/*
 * Timed grants (grants.h): with a table set, an action that has a
 * destructor makes a grant when its constructor exits 0, a knock for a
 * live grant extends it (and runs the constructor again, phase "extend",
 * if the action says rerun_on_extend), and runner_service starts the
 * destructor of each grant that lapses, retrying failures with backoff.
 * Scripts see SIGLATCH_PHASE (run, grant, extend, revoke) and
 * SIGLATCH_GRANT_TIMEOUT (seconds the grant has left; 0 otherwise).  The
 * table belongs to the caller.  (runner_set_grants, runner_set_fleet,
 * runner_fleet_apply and runner_revoke_all are in grantlife.c.)
 */
/*
 * A new configuration (SIGHUP): run_as users resolved again; live grants
 * the new one does not allow (their server, user or action gone,
 * disabled, renamed, no longer timed or no longer allowed) are revoked
 * through the destructor of the configuration that made them; scripts
 * running finish first (this waits for them).  Same max_scripts.  On an
 * error nothing changes.  cfg must outlive the runner.
 */
int runner_reconfigure(struct runner *rn, const struct config *cfg);

/*
 * A child of the calling process that is not a script (the network
 * process): never killed as a leftover; when it exits it is reaped here
 * and runner_kept_exited(rn, i, &status) (i: the order of the calls,
 * from 0) says so.  At most 4.
 */
int runner_keep_child(struct runner *rn, pid_t pid);
bool runner_kept_exited(struct runner *rn, unsigned i, int *status);

struct grants;
void runner_set_grants(struct runner *rn, struct grants *gt);
/*
 * Receipts: for a request with a ticket, report(arg, &res) is called once
 * with what became of it: refused, busy or not started at once; done or
 * failed when the script exits (for a new grant, when its constructor
 * exits; an extension that runs nothing is done at once).
 */
struct sl_result;
void runner_set_reporter(struct runner *rn,
    void (*report)(void *, const struct sl_result *), void *arg);
/*
 * Fleets (fleet.h).  runner_set_fleet: self is this gateway's name; a
 * grant of a fleet action that this gateway made from its own knock, or
 * extended, or revoked at its lapse, is passed to publish(arg, ev).
 * runner_fleet_apply: another gateway's news, checked again against this
 * configuration and applied through the same grant lifecycle (its own
 * constructor, extension and destructor).  runner_refuse: a request the
 * fleet refused (replay, store down): its receipt says "refused".
 * The fleet process is named to runner_keep_child (above), after the
 * network process.
 */
struct grant_event;
void runner_set_fleet(struct runner *rn, const char *self,
    void (*publish)(void *, const struct grant_event *), void *arg);
int runner_fleet_apply(struct runner *rn, const struct grant_event *ev);
void runner_refuse(struct runner *rn, const struct sl_request *req);

/* revoke_on_exit: wait for running scripts, then run every grant's
 * destructor once; those that fail stay on disk, due at the next start. */
void runner_revoke_all(struct runner *rn);

/* Build the argv for an action (exposed for tests; recheck.c).  Strings point into
 * bufs; argv is NULL-terminated.  Returns argc or a negative code. */
#define RUNNER_ARGV_MAX 10
struct runner_argv {
	char *argv[RUNNER_ARGV_MAX + 1];
	char cmd[SL_CMD_MAX];
	char ip[SL_IPSTR_MAX];
	char user_id[8], action_id[4], secure[2];
	char user[SL_NAME_MAX], action[SL_NAME_MAX];
	char payload_b64[B64_ENC_LEN(SL_PAYLOAD_MAX)];
};
/* cmd is the action's constructor (or destructor) line. */
int runner_build_argv(const struct config *cfg, const struct sl_request *req,
    const char *cmd, bool exec_split, struct runner_argv *out);

#endif
