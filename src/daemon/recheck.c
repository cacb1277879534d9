/*
 * recheck.c - what the runner checks again before it runs anything, and
 * the argv it runs it with (recheck.h).
 *
 * Owns the re-check of a request against the runner's own configuration
 * (the network process's word is not taken) and the siglatch 1.0 argv.
 * Does not own the environment, the start or anything after it
 * (runner.c, spawn.c), nor the grants (grantlife.c).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "recheck.h"
#include "addr.h"
#include "b64.h"
#include "util.h"

const struct cfg_action *
recheck_action(const struct config *cfg, unsigned id)
{
	int i = cfg->action_by_id[id % SL_MAX_ACTIONS];

	if (i < 0 || (unsigned)i >= cfg->nactions ||
	    cfg->actions[i].id != (int)id)
		return NULL;
	return &cfg->actions[i];
}

const struct cfg_user *
recheck_user(const struct config *cfg, unsigned id)
{
	int i = cfg->user_by_id[id & 0xffff];

	if (i < 0 || (unsigned)i >= cfg->nusers || cfg->users[i].id != (int)id)
		return NULL;
	return &cfg->users[i];
}

const char *
recheck_request(const struct config *cfg, const struct sl_request *req,
    const struct cfg_server **srvp, const struct cfg_action **actp)
{
	const struct cfg_server *srv;
	const struct cfg_action *act;
	const struct cfg_user *usr;

	if (req->magic != SL_REQ_MAGIC)
		return "bad request magic";
	if (req->server_idx >= cfg->nservers)
		return "unknown server";
	srv = &cfg->servers[req->server_idx];
	if (!srv->enabled)
		return "server disabled";
	if ((act = recheck_action(cfg, req->action_id)) == NULL)
		return "unknown action";
	if (!act->enabled)
		return "action disabled";
	if ((usr = recheck_user(cfg, req->user_id)) == NULL)
		return "unknown user";
	if (!usr->enabled)
		return "user disabled";
	if (!idset_has(&usr->actions, req->action_id))
		return "action not permitted for the user";
	if (!idset_has(&srv->actions, req->action_id))
		return "action not permitted on the server";
	if (!addr_in_list(&srv->allowed_ips, &req->src) ||
	    !addr_in_list(&usr->allowed_ips, &req->src) ||
	    !addr_in_list(&act->allowed_ips, &req->src))
		return "source address not allowed";
	if (req->payload_len > SL_PAYLOAD_MAX)
		return "payload too long";
	if (act->discard_payload && req->payload_len > 0)
		return "payload present although discard_payload is set";
	if (act->require_ascii &&
	    !sl_is_printable_ascii(req->payload, req->payload_len))
		return "payload not printable ASCII";
	*srvp = srv;
	*actp = act;
	return NULL;
}

int
recheck_argv(const char *cmd, bool exec_split, const struct sl_addr *src,
    unsigned user_id, const char *user, unsigned action_id,
    const char *action, bool secure, const uint8_t *payload,
    size_t payload_len, struct runner_argv *out)
{
	char *prog, *rest;
	int n = 0, r;

	if (payload_len > SL_PAYLOAD_MAX)
		return SL_EINVAL;
	if ((r = sl_strlcpy(out->cmd, cmd, sizeof(out->cmd))) != 0)
		return r;
	prog = sl_trim(out->cmd);
	if (prog[0] != '/')
		return SL_EINVAL;
	out->argv[n++] = prog;
	if (exec_split && (rest = strchr(prog, ' ')) != NULL) {
		*rest++ = '\0';
		rest += strspn(rest, " \t");
		out->argv[n++] = rest; /* never empty: the line is trimmed */
	}
	addr_to_str(src, out->ip, sizeof(out->ip));
	snprintf(out->user_id, sizeof(out->user_id), "%u", user_id & 0xffff);
	snprintf(out->action_id, sizeof(out->action_id), "%u",
	    action_id & 0xff);
	snprintf(out->secure, sizeof(out->secure), "%c", secure ? '1' : '0');
	if ((r = sl_strlcpy(out->user, user, sizeof(out->user))) != 0 ||
	    (r = sl_strlcpy(out->action, action, sizeof(out->action))) != 0)
		return r;
	if ((r = b64_encode(out->payload_b64, sizeof(out->payload_b64),
	    payload, payload_len)) < 0)
		return r;
	out->argv[n++] = out->ip;
	out->argv[n++] = out->user_id;
	out->argv[n++] = out->user;
	out->argv[n++] = out->action_id;
	out->argv[n++] = out->action;
	out->argv[n++] = out->secure;
	out->argv[n++] = out->payload_b64;
	out->argv[n] = NULL;
	return n;
}

int
runner_build_argv(const struct config *cfg, const struct sl_request *req,
    const char *cmd, bool exec_split, struct runner_argv *out)
{
	const struct cfg_user *usr;
	const struct cfg_action *act;

	if ((usr = recheck_user(cfg, req->user_id)) == NULL ||
	    (act = recheck_action(cfg, req->action_id)) == NULL)
		return SL_EINVAL;
	return recheck_argv(cmd, exec_split, &req->src, req->user_id, usr->name,
	    req->action_id, act->name, req->secure != 0, req->payload,
	    req->payload_len, out);
}
