/* authz.c - may this authenticated user run this action, here, from there? */
#include <string.h>

#include "stages.h"
#include "util.h"

int
authz_lists(const struct config *cfg, unsigned server_idx,
    const struct cfg_user *user, uint8_t action_id)
{
	if (server_idx >= cfg->nservers ||
	    config_action_by_id(cfg, action_id) == NULL ||
	    !idset_has(&user->actions, action_id) ||
	    !idset_has(&cfg->servers[server_idx].actions, action_id))
		return SL_EDENIED;
	return 0;
}

int
authz_check(const struct config *cfg, unsigned server_idx,
    const struct cfg_user *user, const struct wire_knock *k,
    const struct sl_addr *src, struct sl_request *req, int *discarded)
{
	const struct cfg_server *srv;
	const struct cfg_action *act;

	*discarded = 0;
	if (authz_lists(cfg, server_idx, user, k->action_id) != 0)
		return SL_EDENIED;
	srv = &cfg->servers[server_idx];
	act = config_action_by_id(cfg, k->action_id);
	if (!addr_in_list(&srv->allowed_ips, src) ||
	    !addr_in_list(&user->allowed_ips, src) ||
	    !addr_in_list(&act->allowed_ips, src))
		return SL_EDENIED;

	memset(req, 0, sizeof(*req));
	req->magic = SL_REQ_MAGIC;
	req->server_idx = (uint16_t)server_idx;
	req->user_id = k->user_id;
	req->action_id = k->action_id;
	req->secure = 1;
	req->src = *src;
	req->timestamp = k->timestamp;
	if (act->discard_payload) {
		*discarded = k->payload_len > 0;
		req->payload_len = 0;
		return 0;
	}
	if (act->require_ascii &&
	    !sl_is_printable_ascii(k->payload, k->payload_len))
		return SL_ENOTASCII;
	req->payload_len = k->payload_len;
	memcpy(req->payload, k->payload, k->payload_len);
	return 0;
}

const char *
authz_reason(const struct config *cfg, unsigned server_idx,
    const struct cfg_user *user, uint8_t action_id,
    const struct sl_addr *src, const char **code)
{
	const struct cfg_server *srv;
	const struct cfg_action *act;

	*code = "unknown_action";
	if (cfg->action_by_id[action_id] < 0)
		return "no action has this id";
	*code = "action_disabled";
	if ((act = config_action_by_id(cfg, action_id)) == NULL)
		return "the action is disabled (enabled = no)";
	*code = "user_actions";
	if (!idset_has(&user->actions, action_id))
		return "not in the user's actions";
	*code = "server_actions";
	if (server_idx >= cfg->nservers ||
	    !idset_has(&cfg->servers[server_idx].actions, action_id))
		return "not in the server's actions";
	srv = &cfg->servers[server_idx];
	*code = "server_allowed_ips";
	if (!addr_in_list(&srv->allowed_ips, src))
		return "address outside the server's allowed_ips";
	*code = "user_allowed_ips";
	if (!addr_in_list(&user->allowed_ips, src))
		return "address outside the user's allowed_ips";
	*code = "action_allowed_ips";
	if (!addr_in_list(&act->allowed_ips, src))
		return "address outside the action's allowed_ips";
	*code = "denied";
	return "not permitted";
}
