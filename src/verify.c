/* verify.c - HMAC and timestamp: the uniform-failure stage. */
#include <stdint.h>

#include "stages.h"

int
verify_knock(struct wire_mac *mac, const struct config *cfg,
    const uint8_t dummy_key[SL_HMAC_KEY_LEN], int prior,
    const struct wire_knock *k, time_t now, const struct cfg_user **user)
{
	const struct cfg_user *u;
	int64_t skew;
	int rc;

	*user = NULL;
	u = config_user_by_id(cfg, k->user_id);
	/* always one HMAC, whatever failed before: no timing difference */
	rc = wire_verify(mac, u != NULL ? u->hmac_key : dummy_key, k);
	if ((prior != 0) | (u == NULL) | (rc != 0))
		return SL_EAUTH;
	*user = u;
	skew = (int64_t)k->timestamp - (int64_t)now;
	if (skew > (int64_t)cfg->timestamp_window ||
	    skew < -(int64_t)cfg->timestamp_window)
		return SL_ESTALE;
	return 0;
}
