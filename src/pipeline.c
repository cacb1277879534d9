/*
 * pipeline.c - the receive path in the order PROTOCOL.md requires:
 * length -> decrypt -> parse -> HMAC (always computed) -> timestamp ->
 * replay -> authorize.  Everything that fails before the HMAC verifies is
 * one log class (SL201) and one counter.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "crypto.h"
#include "log.h"
#include "pipeline.h"
#include "stages.h"
#include "wire.h"

struct pipeline {
	const struct config *cfg;
	struct replay *replay;
	struct crypto_dec *dec[SL_MAX_SERVERS];
	struct wire_mac *mac;
	int sink[SL_MAX_SERVERS];
	uint8_t dummy_key[SL_HMAC_KEY_LEN];
	struct pipeline_stats st;
};

int
pipeline_new(struct pipeline **out, const struct config *cfg,
    struct replay *replay, const int *log_sinks)
{
	struct pipeline *p;
	unsigned i;
	int rc;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return SL_ESYS;
	p->cfg = cfg;
	p->replay = replay;
	if ((rc = wire_mac_new(&p->mac)) != 0 ||
	    (rc = crypto_random(p->dummy_key, sizeof(p->dummy_key))) != 0)
		goto fail;
	for (i = 0; i < cfg->nservers; i++) {
		p->sink[i] = log_sinks != NULL ? log_sinks[i] : 0;
		if (!cfg->servers[i].enabled || cfg->servers[i].priv == NULL)
			continue;
		if ((rc = crypto_dec_new(cfg->servers[i].priv, &p->dec[i])) != 0)
			goto fail;
	}
	*out = p;
	return 0;
fail:
	pipeline_free(p);
	return rc;
}

void
pipeline_free(struct pipeline *p)
{
	unsigned i;

	if (p == NULL)
		return;
	for (i = 0; i < SL_MAX_SERVERS; i++)
		crypto_dec_free(p->dec[i]);
	wire_mac_free(p->mac);
	OPENSSL_cleanse(p->dummy_key, sizeof(p->dummy_key));
	free(p);
}

const struct pipeline_stats *
pipeline_get_stats(const struct pipeline *p)
{
	return &p->st;
}

int
pipeline_process(struct pipeline *p, unsigned server_idx,
    const uint8_t *dgram, size_t len, const struct sl_addr *src, time_t now,
    struct sl_request *req)
{
	const struct cfg_server *srv;
	const struct cfg_user *user = NULL;
	const struct cfg_action *act;
	struct wire_knock k;
	uint8_t pt[SL_PACKET_LEN];
	char ip[SL_IPSTR_MAX];
	int rc, prior, discarded = 0, sink, verbose;

	p->st.received++;
	if (server_idx >= p->cfg->nservers || p->dec[server_idx] == NULL)
		return SL_EINVAL;
	srv = &p->cfg->servers[server_idx];
	sink = p->sink[server_idx];
	verbose = srv->logging;

	/* 1. exact length, cheap filters: before any cryptography */
	if ((rc = filter_check(len, src)) != 0) {
		p->st.bad_length++;
		if (verbose && log_enabled(LOG_DEBUG)) {
			addr_to_str(src, ip, sizeof(ip));
			log_limited(sink, LOG_DEBUG, SLC_BADLEN, "dropped %zu-byte "
			    "datagram from %s on %s", len, ip, srv->name);
		}
		return rc;
	}
	addr_to_str(src, ip, sizeof(ip));
	/* 2-5. decrypt, parse, HMAC, timestamp: uniform failure */
	prior = crypto_dec_knock(p->dec[server_idx], dgram, pt);
	rc = wire_decode(&k, pt, sizeof(pt));
	if (prior == 0)
		prior = rc;
	rc = verify_knock(p->mac, p->cfg, p->dummy_key, prior, &k, now, &user);
	OPENSSL_cleanse(pt, sizeof(pt));
	if (rc == SL_EAUTH) {
		p->st.rejected++;
		if (verbose)
			log_limited(sink, LOG_NOTICE, SLC_REJECT, "rejected packet "
			    "from %s on %s", ip, srv->name);
		goto out;
	}
	if (rc == SL_ESTALE) {
		p->st.stale++;
		if (verbose)
			log_limited(sink, LOG_NOTICE, SLC_STALE, "user %s from %s: "
			    "timestamp %+lld s off (window %u s), refused",
			    user->name, ip,
			    (long long)((int64_t)k.timestamp - (int64_t)now),
			    p->cfg->timestamp_window);
		goto out;
	}
	if (rc != 0)
		goto out;

	/* 6. replay: record the authenticated packet before anything runs */
	rc = replay_check_and_add(p->replay, k.user_id, k.hmac, k.timestamp,
	    now);
	if (rc != 0) {
		if (rc == SL_EREPLAY) {
			p->st.replayed++;
			if (verbose)
				log_limited(sink, LOG_WARNING, SLC_REPLAY, "user %s "
				    "from %s: replayed packet refused", user->name,
				    ip);
		} else if (rc == SL_EFULL) {
			p->st.cache_full++;
			log_limited(sink, LOG_ERR, SLC_CACHE_FULL, "user %s from "
			    "%s: replay cache full (%u live entries), packet "
			    "refused; raise replay_cache_size", user->name, ip,
			    replay_count(p->replay));
		} else {
			p->st.state_error++;
			log_limited(sink, LOG_ERR, SLC_STATE_IO, "user %s from "
			    "%s: replay state not written (%s), packet refused",
			    user->name, ip, sl_strerror(rc));
		}
		goto out;
	}

	/* 7. authorize */
	rc = authz_check(p->cfg, server_idx, user, &k, src, req, &discarded);
	act = config_action_by_id(p->cfg, k.action_id);
	if (rc == SL_ENOTASCII) {
		p->st.not_ascii++;
		if (verbose)
			log_limited(sink, LOG_WARNING, SLC_NOTASCII, "user %s from "
			    "%s: action %s requires a printable ASCII payload, "
			    "refused", user->name, ip, act ? act->name : "?");
		goto out;
	}
	if (rc != 0) {
		p->st.denied++;
		if (verbose)
			log_limited(sink, LOG_WARNING, SLC_DENIED, "user %s from %s: "
			    "action %u not permitted on %s", user->name, ip,
			    k.action_id, srv->name);
		goto out;
	}
	if (discarded && verbose)
		log_sink(sink, LOG_INFO, SLC_PAYLOAD_DROP, "user %s: action %s "
		    "discards payloads, %u bytes dropped", user->name,
		    act->name, k.payload_len);
	p->st.accepted++;
	if (verbose)
		log_sink(sink, LOG_NOTICE, SLC_ACCEPT, "user %s from %s on %s: "
		    "action %s authorized", user->name, ip, srv->name, act->name);
out:
	OPENSSL_cleanse(&k, sizeof(k));
	return rc;
}
