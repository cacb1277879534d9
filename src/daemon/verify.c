/* verify.c - HMAC and timestamp: the uniform-failure stage. */
#include <stdint.h>

#include "stages.h"

const char *
verify_why_name(int why)
{
	switch (why) {
	case VW_DECRYPT:      return "decrypt";
	case VW_MALFORMED:    return "malformed";
	case VW_VERSION:      return "version";
	case VW_UNKNOWN_USER: return "unknown_user";
	case VW_DISABLED:     return "user_disabled";
	case VW_HMAC:         return "hmac";
	}
	return "none";
}

int
verify_knock(struct wire_mac *mac, const struct config *cfg,
    const uint8_t dummy_key[SL_HMAC_KEY_LEN], int prior,
    const struct wire_knock *k, time_t now, const struct cfg_user **user,
    int *why)
{
	const struct cfg_user *u;
	int64_t skew;
	int rc, slot, unused;

	if (why == NULL)
		why = &unused;
	*user = NULL;
	slot = cfg->user_by_id[k->user_id];
	u = config_user_by_id(cfg, k->user_id);
	/* always one HMAC, whatever failed before: no timing difference */
	rc = wire_verify(mac, u != NULL ? u->hmac_key : dummy_key, k);
	/* the reason is for the log only; the result stays SL_EAUTH */
	*why = prior == SL_EDECRYPT ? VW_DECRYPT :
	    prior == SL_EVERSION ? VW_VERSION :
	    prior != 0 ? VW_MALFORMED :
	    slot < 0 ? VW_UNKNOWN_USER :
	    u == NULL ? VW_DISABLED :
	    rc != 0 ? VW_HMAC : VW_NONE;
	if ((prior != 0) | (u == NULL) | (rc != 0))
		return SL_EAUTH;
	*user = u;
	skew = (int64_t)k->timestamp - (int64_t)now;
	if (skew > (int64_t)cfg->timestamp_window ||
	    skew < -(int64_t)cfg->timestamp_window)
		return SL_ESTALE;
	return 0;
}
