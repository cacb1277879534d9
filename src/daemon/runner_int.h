/*
 * runner_int.h - the runner's insides, shared by runner.c (slots, the
 * environment, output, reaping, timeouts) and grantlife.c (the
 * timed-grant lifecycle).  No other file includes it;
 * everyone else uses runner.h.
 */
#ifndef SL_RUNNER_INT_H
#define SL_RUNNER_INT_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runner.h"
#include "grants.h"
#include "privsep.h"
#include "request.h"

#define RN_LINE_MAX      512            /* longest output line logged */
#define RN_TICK_MS       20             /* runner_drain poll interval */
#define RN_ENV_N         11
#define RN_KEPT_MAX      4              /* runner_keep_child */

enum rn_state {
	RN_FREE = 0,
	RN_RUN,         /* next_ms: script_timeout deadline */
	RN_TERM,        /* SIGTERM sent; next_ms: when SIGKILL is due */
	RN_KILL,        /* SIGKILL sent; waiting to reap */
};

/* What a slot runs. */
enum rn_kind {
	RK_RUN = 0,     /* constructor of an action without a grant */
	RK_GRANT,       /* constructor making (or re-making) a grant */
	RK_EXTEND,      /* constructor again for an extended grant */
	RK_REVOKE,      /* destructor */
};

struct rn_slot {
	enum rn_state state;
	enum rn_kind kind;
	struct grant *grant;    /* RK_GRANT, RK_REVOKE */
	uint32_t interval;      /* RK_GRANT: keepalive_interval */
	pid_t pid;              /* also the process group id */
	int fd;                 /* read end of the output pipe, -1 once closed */
	int64_t start_ms, next_ms;
	bool skip;              /* dropping the rest of an over-long line */
	size_t linelen, logged;
	unsigned long long discarded;
	uint32_t ticket;        /* someone waits for the outcome (receipt) */
	uint32_t rvalue;        /* RK_EXTEND: seconds the grant has left */
	char action[SL_NAME_MAX];
	char line[RN_LINE_MAX];
};

struct spawn;

struct runner {
	const struct config *cfg;
	struct grants *gt;      /* NULL: timed actions run without grants */
	unsigned nslots, running;
	struct rn_slot *slots;
	struct pollfd *pfd;     /* runner_drain */
	struct runner_stats st;
	unsigned leftovers;     /* children no script owns, still there at
	                           the last sweep (killed, not yet reaped) */
	bool ended;             /* a script ended: sweep at once */
	bool no_list;           /* children cannot be listed (no /proc) */
	int64_t sweep_ms;       /* next sweep (monotonic), 0: none due */
	void (*report)(void *, const struct sl_result *);
	void *report_arg;
	/* children of the daemon's own (the network process): never
	 * killed as leftovers; reaped here, their status kept */
	struct {
		pid_t pid;
		int status;
		bool exited;
	} kept[RN_KEPT_MAX];
	unsigned nkept;
	/* fleet (fleet.h): this gateway's name, NULL without a fleet */
	const char *fleet_self;
	void (*publish)(void *, const struct grant_event *);
	void *publish_arg;
	struct privsep_ids ids[SL_MAX_ACTIONS]; /* by index in cfg->actions */
	/*
	 * Scratch for the spawn in progress: the parent sleeps until the
	 * child has exec'd (CLONE_VFORK), so one set serves every slot.
	 */
	struct spawn *sp;
	struct runner_argv av;
	char env[2048];
	char *envp[RN_ENV_N + 1];
};

/* runner.c, for grantlife.c */

/* A free slot, or NULL when max_scripts are running. */
struct rn_slot *rn_free_slot(struct runner *rn);
/* Start rn->av (already built) in slot s as action index ai.  Returns 0,
 * or a negative code after logging why (the slot stays free). */
int rn_start(struct runner *rn, struct rn_slot *s, unsigned ai,
    const char *server, enum rn_kind kind, struct grant *g,
    uint32_t interval, int64_t timeout_s);
/* Tell whoever waits for ticket (nobody when 0) what became of it. */
void rn_report(struct runner *rn, uint32_t ticket, uint8_t status,
    uint8_t reason, uint32_t value);
/* max_scripts are running: SL_EBUSY, counted, logged, reported. */
int rn_refuse_busy(struct runner *rn, const struct cfg_action *act,
    const struct sl_request *req);

#endif
