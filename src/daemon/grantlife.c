/*
 * grantlife.c - the timed-grant lifecycle inside the runner (grants.h,
 * grantlife.h): a knock for a timed action makes, extends or is refused
 * its grant; a lapsed or revoked grant gets its destructor, retried with
 * backoff; another gateway's news (fleet.h) is checked again and applied
 * the same way; a reload or revoke_on_exit revokes what must go.
 *
 * Owns the decisions and their order (what is on disk before what runs:
 * grants.h, fail closed), the grant log lines and the fleet's news.  Does
 * not own the table or its file (grants.c), nor starting, watching or
 * reaping the scripts it asks for (runner.c, spawn.c): it takes a free
 * slot and calls rn_start, and runner.c calls gl_done when the script
 * ends.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "grantlife.h"
#include "addr.h"
#include "grants.h"
#include "knock2.h"
#include "log.h"
#include "recheck.h"
#include "util.h"

void
runner_set_grants(struct runner *rn, struct grants *gt)
{
	rn->gt = gt;
}

void
runner_set_fleet(struct runner *rn, const char *self,
    void (*publish)(void *, const struct grant_event *), void *arg)
{
	rn->fleet_self = self;
	rn->publish = publish;
	rn->publish_arg = arg;
}

/* Tell the fleet about a grant this gateway took the knock for (or
 * extended): only fleet actions, and never what came from the fleet. */
static void
gl_publish(struct runner *rn, enum grant_op op, const struct grant *g,
    bool extended_here)
{
	const struct cfg_action *act = recheck_action(rn->cfg, g->action_id);
	struct grant_event ev;

	if (rn->publish == NULL || act == NULL || !act->fleet ||
	    (!extended_here && strcmp(g->gateway, rn->fleet_self) != 0))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.op = (uint8_t)op;
	sl_strlcpy(ev.gateway, rn->fleet_self, sizeof(ev.gateway));
	sl_strlcpy(ev.server, g->server, sizeof(ev.server));
	sl_strlcpy(ev.user, g->user, sizeof(ev.user));
	sl_strlcpy(ev.action, g->action, sizeof(ev.action));
	ev.addr = g->addr;
	ev.expires_ms = g->expires_ms;
	rn->publish(rn->publish_arg, &ev);
}

/*
 * A grant's record could not be written, so what the knock asked for is
 * not done and nothing runs.  The receipt says "action failed" with
 * K2_VAL_NOT_STARTED, not "busy": busy means no capacity right now and
 * invites an immediate new knock, while a state_dir that cannot be
 * written (full, read-only, failing) is a server fault that waits for an
 * operator; "failed, could not be started" is what a client already hears
 * for the other server faults (a missing or unusable program), and it
 * promises that nothing ran.
 */
static int
gl_refuse_unsaved(struct runner *rn, const struct cfg_action *act,
    const struct sl_request *req, const char *what, const char *then)
{
	log_limited(0, LOG_ERR, SLC_GRANT_IO, "grant %s for user %s from %s "
	    "%s: grant state could not be written (%s); %s", act->name,
	    rn->av.user, rn->av.ip, what, strerror(grants_save_errno(rn->gt)),
	    then);
	rn_report(rn, req->ticket, K2_ST_FAILED, K2_R_NONE,
	    K2_VAL_NOT_STARTED);
	return SL_ESYS;
}

/* Log what an extension came to (moved: the expiry is later) and tell
 * the fleet of this gateway's own. */
static void
gl_extended(struct runner *rn, const struct cfg_action *act,
    const struct grant *g, bool moved, int64_t now, const char *origin)
{
	if (moved) {
		log_msg(LOG_INFO, SLC_GRANT, "grant %s for user %s from %s "
		    "extended: %lld s left%s%s", act->name, rn->av.user,
		    rn->av.ip, (long long)grants_secs_left(g->expires_ms, now),
		    origin != NULL ? " (fleet: by gateway " : "",
		    origin != NULL ? origin : "");
		if (origin == NULL)
			gl_publish(rn, GOP_EXTEND, g, true);
	} else if (origin != NULL) {
		/* the fleet's news is already true here */
	} else {
		log_msg(LOG_NOTICE, SLC_GRANT, "grant %s for user %s from %s "
		    "not extended: grant_max_lifetime (%u s) reached, %lld s "
		    "left", act->name, rn->av.user, rn->av.ip,
		    rn->cfg->grant_max_lifetime,
		    (long long)grants_secs_left(g->expires_ms, now));
	}
}

/* A knock for a LIVE grant g: extend it (on disk before it counts), and
 * run the constructor again (phase "extend") if the action says
 * rerun_on_extend.  An extension that runs no script needs no slot. */
static int
gl_extend(struct runner *rn, const struct sl_request *req,
    const struct cfg_server *srv, const struct cfg_action *act,
    struct grant *g, uint32_t interval, const char *origin, int64_t now)
{
	struct rn_slot *s = NULL;
	long long left;
	char then[64];
	int r;

	/* a rerun needs a slot: without one nothing changes */
	if (act->rerun_on_extend && (s = rn_free_slot(rn)) == NULL)
		return rn_refuse_busy(rn, act, req);
	if ((r = grants_extend(rn->gt, g, now, interval)) < 0) {
		snprintf(then, sizeof(then), "it lapses as before, in %lld s",
		    (long long)grants_secs_left(g->expires_ms, now));
		return gl_refuse_unsaved(rn, act, req, "not extended", then);
	}
	gl_extended(rn, act, g, r > 0, now, origin);
	left = grants_secs_left(g->expires_ms, now);
	if (!act->rerun_on_extend) {
		rn_report(rn, req->ticket, K2_ST_DONE, K2_R_NONE,
		    (uint32_t)left);
		return 0;
	}
	/* the extension stands if the rerun cannot start, as it does when
	 * the rerun fails: it is on disk, and only delays the destructor of
	 * a grant that is open anyway */
	if ((r = rn_start(rn, s, (unsigned)(act - rn->cfg->actions),
	    srv->name, RK_EXTEND, NULL, 0, left)) != 0) {
		rn_report(rn, req->ticket, K2_ST_FAILED, K2_R_NONE,
		    K2_VAL_NOT_STARTED);
		return r;
	}
	s->ticket = req->ticket;
	s->rvalue = (uint32_t)left;
	return 0;
}

/* A knock with no live grant: a pending one, on disk, then its
 * constructor (phase "grant"). */
static int
gl_begin(struct runner *rn, const struct sl_request *req,
    const struct cfg_server *srv, const struct cfg_action *act,
    uint32_t interval, const char *origin)
{
	struct grants *gt = rn->gt;
	struct rn_slot *s;
	struct grant *g;
	const char *why;
	int r;

	if ((s = rn_free_slot(rn)) == NULL)
		return rn_refuse_busy(rn, act, req);
	if ((g = grants_begin(gt, srv->name, rn->av.user, req->user_id,
	    act->name, req->action_id, &req->src, &why)) == NULL) {
		rn->st.refused_busy++;
		log_limited(0, LOG_WARNING, SLC_GRANT_REFUSE, "grant %s for "
		    "user %s from %s refused: %s", act->name, rn->av.user,
		    rn->av.ip, why);
		rn_report(rn, req->ticket, K2_ST_BUSY, K2_R_NONE, 0);
		return SL_EBUSY;
	}
	if (act->fleet && rn->fleet_self != NULL)
		sl_strlcpy(g->gateway, origin != NULL ? origin :
		    rn->fleet_self, sizeof(g->gateway));
	/* on disk before the constructor runs: a crash while it runs leaves
	 * an entry that is revoked at the next start.  A grant that cannot
	 * be recorded is not made: once its constructor had run, a crash
	 * would leave access open with nothing to close it. */
	if (grants_save(gt) != 0) {
		grants_abort(gt, g);
		return gl_refuse_unsaved(rn, act, req, "refused",
		    "constructor not run");
	}
	/* the script is told the grant's real length: grants_end caps it
	 * at grant_max_lifetime the same way */
	r = rn_start(rn, s, (unsigned)(act - rn->cfg->actions), srv->name,
	    RK_GRANT, g, interval, interval < rn->cfg->grant_max_lifetime ?
	    interval : rn->cfg->grant_max_lifetime);
	if (r != 0) {
		/* nothing ran: the entry goes back to what it was (if that
		 * is not written, the pending entry on disk is revoked at
		 * the next start, which an idempotent destructor allows) */
		grants_abort(gt, g);
		(void)grants_save(gt);
		rn_report(rn, req->ticket, K2_ST_FAILED, K2_R_NONE,
		    K2_VAL_NOT_STARTED);
		return r;
	}
	s->ticket = req->ticket;
	return 0;
}

/* What opens access or keeps it open longer is on disk before it runs
 * (grants.h: fail closed). */
int
gl_submit(struct runner *rn, const struct sl_request *req,
    const struct cfg_server *srv, const struct cfg_action *act,
    uint32_t interval, const char *origin)
{
	int64_t now = sl_wall_ms();
	struct grant *g;

	g = grants_find(rn->gt, srv->name, req->user_id, req->action_id,
	    &req->src);
	if (g != NULL && g->state == GS_LIVE)
		return gl_extend(rn, req, srv, act, g, interval, origin, now);
	return gl_begin(rn, req, srv, act, interval, origin);
}

/* The request another gateway's news stands for here: a name this
 * configuration lacks gives an id the re-check refuses.  False if no
 * action has the news's action name. */
static bool
gl_event_request(const struct config *cfg, const struct grant_event *ev,
    struct sl_request *req)
{
	unsigned i;

	memset(req, 0, sizeof(*req));
	req->magic = SL_REQ_MAGIC;
	req->secure = 1;
	req->src = ev->addr;
	for (i = 0; i < cfg->nservers; i++)
		if (strcmp(cfg->servers[i].name, ev->server) == 0)
			break;
	req->server_idx = (uint16_t)i;  /* nservers: "unknown server" */
	for (i = 0; i < cfg->nusers; i++)
		if (strcmp(cfg->users[i].name, ev->user) == 0)
			break;
	req->user_id = i < cfg->nusers && cfg->users[i].id >= 0 ?
	    (uint16_t)cfg->users[i].id : 0xffff;
	for (i = 0; i < cfg->nactions; i++)
		if (strcmp(cfg->actions[i].name, ev->action) == 0)
			break;
	req->action_id = i < cfg->nactions && cfg->actions[i].id >= 0 ?
	    (uint8_t)cfg->actions[i].id : 0;
	return i < cfg->nactions;
}

int
runner_fleet_apply(struct runner *rn, const struct grant_event *ev)
{
	const struct cfg_server *srv = NULL;
	const struct cfg_action *act = NULL;
	struct sl_request req;
	struct grant *g;
	const char *why;
	char ip[SL_IPSTR_MAX];
	int64_t now = sl_wall_ms();
	uint32_t interval;
	int r;

	addr_to_str(&ev->addr, ip, sizeof(ip));
	why = gl_event_request(rn->cfg, ev, &req) ? recheck_request(rn->cfg, &req,
	    &srv, &act) : "unknown action";
	if (why == NULL && (!act->fleet || rn->gt == NULL ||
	    !action_is_timed(act)))
		why = "not a fleet action here (fleet = yes, with a destructor)";
	if (why != NULL) {
		log_limited(0, LOG_WARNING, SLC_DENIED, "fleet: %s of %s for "
		    "user %s from %s (gateway %s) not applied: %s",
		    grant_op_name((enum grant_op)ev->op), ev->action, ev->user,
		    ip, ev->gateway, why);
		return SL_EDENIED;
	}
	g = grants_find(rn->gt, srv->name, req.user_id, req.action_id,
	    &req.src);
	if (ev->op == GOP_REVOKE) {
		/* the same lease as the one closed there: close it here too */
		if (g != NULL && g->state == GS_LIVE &&
		    g->expires_ms <= ev->expires_ms + 1000 &&
		    grants_cut(rn->gt, g, now) > 0)
			log_msg(LOG_INFO, SLC_GRANT, "grant %s for user %s from "
			    "%s: revoked by gateway %s", ev->action, ev->user,
			    ip, ev->gateway);
		return 0;
	}
	if (ev->expires_ms <= now)
		return 0;   /* lapsed meanwhile: nothing to open */
	interval = (uint32_t)((ev->expires_ms - now + 999) / 1000);
	if (g != NULL && g->state == GS_LIVE && g->expires_ms >= ev->expires_ms)
		return 0;   /* already as long here */
	if ((r = runner_build_argv(rn->cfg, &req, act->constructor,
	    act->exec_split, &rn->av)) < 0) {
		log_msg(LOG_ERR, SLC_SCRIPT_FAIL, "script %s not started: "
		    "constructor '%s' is not usable: %s", act->name,
		    act->constructor, sl_strerror(r));
		return r;
	}
	log_msg(LOG_INFO, SLC_GRANT, "fleet: %s of %s for user %s from %s by "
	    "gateway %s: applying (%u s left)", grant_op_name(
	    (enum grant_op)ev->op), ev->action, ev->user, ip, ev->gateway,
	    interval);
	return gl_submit(rn, &req, srv, act, interval, ev->gateway);
}

/*
 * Start the destructor of a grant that is due.  The action is looked up
 * again by id and must still be the same timed action; a grant whose
 * action is gone cannot be revoked, so it is retried (and logged) like a
 * failed destructor until the configuration brings it back.
 */
static void
gl_revoke(struct runner *rn, struct rn_slot *s, struct grant *g, int64_t now)
{
	const struct cfg_action *act = recheck_action(rn->cfg, g->action_id);
	char ip[SL_IPSTR_MAX];
	int r;

	addr_to_str(&g->addr, ip, sizeof(ip));
	grants_revoking(rn->gt, g);
	if (act == NULL || strcmp(act->name, g->action) != 0 ||
	    !action_is_timed(act)) {
		log_msg(LOG_ERR, SLC_GRANT_RETRY, "grant %s (id %u) for user "
		    "%s from %s cannot be revoked: the configuration has no "
		    "such action with a destructor any more; kept",
		    g->action, (unsigned)g->action_id, g->user, ip);
		grants_revoked(rn->gt, g, false, now);
		(void)grants_save(rn->gt);
		return;
	}
	if (g->attempts == 0 && g->expires_ms <= now) {
		log_msg(LOG_INFO, SLC_GRANT, "grant %s for user %s from %s "
		    "lapsed: revoking", g->action, g->user, ip);
		gl_publish(rn, GOP_REVOKE, g, false);
	} else if (g->attempts == 0)
		log_msg(LOG_INFO, SLC_GRANT, "grant %s for user %s from %s: "
		    "revoking %lld s before it lapses", g->action, g->user,
		    ip, (long long)grants_secs_left(g->expires_ms, now));
	else
		log_msg(LOG_INFO, SLC_GRANT, "grant %s for user %s from %s: "
		    "destructor again (attempt %u)", g->action, g->user, ip,
		    g->attempts + 1);
	if ((r = recheck_argv(act->destructor, act->exec_split, &g->addr,
	    g->user_id, g->user, g->action_id, g->action, true, NULL, 0,
	    &rn->av)) < 0) {
		log_msg(LOG_ERR, SLC_SCRIPT_FAIL, "script %s not started: "
		    "destructor '%s' is not usable: %s", act->name,
		    act->destructor, sl_strerror(r));
		r = SL_EINVAL;
	} else {
		r = rn_start(rn, s, (unsigned)(act - rn->cfg->actions),
		    g->server, RK_REVOKE, g, 0, 0);
	}
	if (r != 0) {
		grants_revoked(rn->gt, g, false, now);
		log_msg(LOG_WARNING, SLC_GRANT_RETRY, "grant %s for user %s "
		    "from %s: destructor not started; retry in %lld s",
		    g->action, g->user, ip,
		    (long long)grants_backoff_ms(g->attempts) / 1000);
		(void)grants_save(rn->gt);
	}
}

/* Start the destructors that are due, as far as slots allow. */
void
gl_service(struct runner *rn)
{
	struct rn_slot *s;
	struct grant *g;
	int64_t now;

	if (rn->gt == NULL)
		return;
	grants_flush(rn->gt);
	now = sl_wall_ms();
	while ((g = grants_due(rn->gt, now)) != NULL) {
		if ((s = rn_free_slot(rn)) == NULL) {
			grants_defer(rn->gt, g, now, GRANTS_DEFER_MS);
			continue;
		}
		gl_revoke(rn, s, g, now);
	}
}

/* A constructor or destructor of a grant has ended. */
void
gl_done(struct runner *rn, struct rn_slot *s, bool ok)
{
	struct grant *g = s->grant;
	int64_t now = sl_wall_ms();
	char ip[SL_IPSTR_MAX], user[SL_NAME_MAX], action[SL_NAME_MAX];

	if (rn->gt == NULL || g == NULL)
		return;
	/* the entry is cleared when it ends: keep what the log needs */
	addr_to_str(&g->addr, ip, sizeof(ip));
	sl_strlcpy(user, g->user, sizeof(user));
	sl_strlcpy(action, g->action, sizeof(action));
	if (s->kind == RK_GRANT) {
		grants_end(rn->gt, g, ok, now, s->interval);
		if (ok) {
			log_msg(LOG_NOTICE, SLC_GRANT, "grant %s for user %s "
			    "from %s: open for %lld s", action, user, ip,
			    (long long)grants_secs_left(g->expires_ms, now));
			gl_publish(rn, GOP_GRANT, g, false);
		} else if (g->state == GS_REVOKE)
			log_msg(LOG_WARNING, SLC_GRANT, "grant %s for user %s "
			    "from %s: constructor failed; revoking", action,
			    user, ip);
		else
			log_msg(LOG_INFO, SLC_GRANT, "grant %s for user %s "
			    "from %s not made: constructor failed", action,
			    user, ip);
	} else if (s->kind == RK_REVOKE) {
		grants_revoked(rn->gt, g, ok, now);
		if (ok)
			log_msg(LOG_NOTICE, SLC_GRANT, "grant %s for user %s "
			    "from %s revoked", action, user, ip);
		else
			log_msg(LOG_WARNING, SLC_GRANT_RETRY, "grant %s for "
			    "user %s from %s: destructor failed (attempt %u); "
			    "retry in %lld s", action, user, ip,
			    g->attempts, (long long)grants_backoff_ms(
			    g->attempts) / 1000);
	}
	(void)grants_save(rn->gt);
}

/* A grant still stands under cfg: its server, user and action are there,
 * enabled, under the same names, the action timed and allowed to both. */
static bool
gl_grant_stands(void *arg, const struct grant *g)
{
	const struct config *cfg = arg;
	const struct cfg_action *act = recheck_action(cfg, g->action_id);
	const struct cfg_user *u = recheck_user(cfg, g->user_id);
	const struct cfg_server *srv = NULL;
	unsigned i;

	for (i = 0; i < cfg->nservers; i++)
		if (strcmp(cfg->servers[i].name, g->server) == 0)
			srv = &cfg->servers[i];
	return srv != NULL && srv->enabled && u != NULL && u->enabled &&
	    strcmp(u->name, g->user) == 0 && act != NULL && act->enabled &&
	    strcmp(act->name, g->action) == 0 && action_is_timed(act) &&
	    idset_has(&u->actions, g->action_id) &&
	    idset_has(&srv->actions, g->action_id);
}

int64_t
gl_timeout_ms(const struct runner *rn)
{
	int64_t best = -1, d;

	if (rn->gt != NULL && (d = grants_next_ms(rn->gt)) >= 0) {
		best = d - sl_wall_ms();
		if (best < 0)
			best = 0;
	}
	if (rn->gt != NULL && grants_dirty(rn->gt) &&
	    (best < 0 || best > SL_TICK_MS))
		best = SL_TICK_MS;
	return best;
}

void
gl_reconfigure(struct runner *rn, const struct config *cfg)
{
	unsigned n;

	if (rn->gt == NULL || (n = grants_revoke_if(rn->gt, sl_wall_ms(),
	    gl_grant_stands, (void *)(uintptr_t)cfg)) == 0)
		return;
	log_msg(LOG_NOTICE, SLC_GRANT, "reload: revoking %u grant(s) the new "
	    "configuration does not allow", n);
	(void)grants_save(rn->gt);
	runner_service(rn);
}

void
runner_revoke_all(struct runner *rn)
{
	int64_t next;
	unsigned n;
	int t;

	if (rn->gt == NULL)
		return;
	runner_drain(rn);  /* constructors still running settle first */
	if ((n = grants_revoke_all(rn->gt, sl_wall_ms())) > 0)
		log_msg(LOG_NOTICE, SLC_GRANT, "revoke_on_exit: revoking %u "
		    "grant(s)", n);
	(void)grants_save(rn->gt);
	/* one attempt each: a failed destructor is retried at next start */
	for (;;) {
		runner_service(rn);
		next = grants_next_ms(rn->gt);
		if (rn->running == 0 && (next < 0 ||
		    next > sl_wall_ms() + GRANTS_DEFER_MS))
			break;
		t = rn->running > 0 ? runner_pollfds(rn, rn->pfd,
		    (int)rn->nslots) : 0;
		(void)poll(rn->pfd, (nfds_t)t, RN_TICK_MS);
	}
}
