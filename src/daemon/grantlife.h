/*
 * grantlife.h - the timed-grant lifecycle inside the runner: what
 * runner.c calls at its seams (grantlife.c).  The runner's public grant
 * calls (runner_set_grants, runner_set_fleet, runner_fleet_apply,
 * runner_revoke_all) are declared in runner.h and defined in grantlife.c.
 */
#ifndef SL_GRANTLIFE_H
#define SL_GRANTLIFE_H

#include <stdbool.h>
#include <stdint.h>

#include "runner_int.h"

/*
 * A knock for a timed action, re-checked, its argv in rn->av: make,
 * extend or refuse its grant.  interval: the grant's length from now
 * (keepalive_interval for a knock); origin: the gateway whose knock this
 * is, NULL for this one's own.  0 or a negative code; the receipt is
 * sent either way.
 */
int gl_submit(struct runner *rn, const struct sl_request *req,
    const struct cfg_server *srv, const struct cfg_action *act,
    uint32_t interval, const char *origin);
/* From runner_service: save if an earlier save failed, then start the
 * destructors that are due, as far as slots allow. */
void gl_service(struct runner *rn);
/* Slot s (RK_GRANT, RK_EXTEND or RK_REVOKE) has ended, ok or not. */
void gl_done(struct runner *rn, struct rn_slot *s, bool ok);
/* From runner_next_timeout_ms: milliseconds until grant work is due
 * (SL_TICK_MS while a save is owed), or -1. */
int64_t gl_timeout_ms(const struct runner *rn);
/* A new configuration: live grants it does not allow are due for
 * revocation now, their destructors started as far as slots allow. */
void gl_reconfigure(struct runner *rn, const struct config *cfg);

#endif
