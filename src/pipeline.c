/*
 * pipeline.c - the receive path in the order PROTOCOL.md requires:
 * length -> budgets -> duplicate -> decrypt -> parse -> HMAC (always
 * computed) -> timestamp -> replay -> authorize.  Everything that fails
 * before the HMAC verifies is one log class (SL201) and one counter, and
 * counts against the sender's budget exactly like a stale or replayed knock.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "crypto.h"
#include "log.h"
#include "pipeline.h"
#include "ratelimit.h"
#include "stages.h"
#include "util.h"
#include "wire.h"

struct pipeline_crypto {
	struct crypto_dec *dec[SL_MAX_SERVERS];
	struct wire_mac *mac;
};

struct pipeline {
	const struct config *cfg;
	struct replay *replay;
	struct filter *filter;
	struct pipeline_crypto *crypto;  /* for pipeline_process() */
	int sink[SL_MAX_SERVERS];
	uint8_t dummy_key[SL_HMAC_KEY_LEN];
	struct pipeline_stats st;
};

int
pipeline_crypto_new(const struct pipeline *p, struct pipeline_crypto **out)
{
	struct pipeline_crypto *c;
	unsigned i;
	int rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return SL_ESYS;
	if ((rc = wire_mac_new(&c->mac)) != 0)
		goto fail;
	for (i = 0; i < p->cfg->nservers; i++) {
		if (!p->cfg->servers[i].enabled || p->cfg->servers[i].priv == NULL)
			continue;
		if ((rc = crypto_dec_new(p->cfg->servers[i].priv, &c->dec[i])) != 0)
			goto fail;
	}
	*out = c;
	return 0;
fail:
	pipeline_crypto_free(c);
	return rc;
}

void
pipeline_crypto_free(struct pipeline_crypto *c)
{
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; i < SL_MAX_SERVERS; i++)
		crypto_dec_free(c->dec[i]);
	wire_mac_free(c->mac);
	free(c);
}

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
	for (i = 0; i < cfg->nservers; i++)
		p->sink[i] = log_sinks != NULL ? log_sinks[i] : 0;
	if ((rc = crypto_random(p->dummy_key, sizeof(p->dummy_key))) != 0 ||
	    (rc = filter_new(&p->filter, cfg)) != 0 ||
	    (rc = pipeline_crypto_new(p, &p->crypto)) != 0) {
		pipeline_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void
pipeline_free(struct pipeline *p)
{
	if (p == NULL)
		return;
	pipeline_crypto_free(p->crypto);
	filter_free(p->filter);
	OPENSSL_cleanse(p->dummy_key, sizeof(p->dummy_key));
	free(p);
}

const struct pipeline_stats *
pipeline_get_stats(const struct pipeline *p)
{
	return &p->st;
}

struct filter *
pipeline_filter(const struct pipeline *p)
{
	return p->filter;
}

int
pipeline_admit(struct pipeline *p, unsigned server_idx, const uint8_t *dgram,
    size_t len, const struct sl_addr *src, uint64_t now_ms)
{
	const struct cfg_server *srv;
	char ip[SL_IPSTR_MAX];
	int rc, why;

	p->st.received++;
	if (server_idx >= p->cfg->nservers || p->crypto->dec[server_idx] == NULL)
		return SL_EINVAL;
	if ((rc = filter_check(p->filter, dgram, len, src, now_ms, &why)) == 0)
		return 0;
	srv = &p->cfg->servers[server_idx];
	if (rc == SL_ELEN)
		p->st.bad_length++;
	else if (rc == SL_EDUP)
		p->st.duplicate++;
	else if (why == RL_DROP_SOURCE)
		p->st.rate_source++;
	else if (why == RL_DROP_PREFIX)
		p->st.rate_prefix++;
	else
		p->st.rate_global++;
	/* debug level: a flood must cost no more than a counter */
	if (srv->logging && log_enabled(LOG_DEBUG)) {
		addr_to_str(src, ip, sizeof(ip));
		log_limited(p->sink[server_idx], LOG_DEBUG,
		    rc == SL_ELEN ? SLC_BADLEN : SLC_RATE, "dropped %zu-byte "
		    "datagram from %s on %s: %s", len, ip, srv->name,
		    sl_strerror(rc));
	}
	return rc;
}

void
pipeline_crypto(const struct pipeline *p, struct pipeline_crypto *c,
    struct pipeline_job *j)
{
	uint8_t pt[SL_PACKET_LEN];
	int prior, rc;

	if (c == NULL)
		c = p->crypto;
	/* 2-5. decrypt, parse, HMAC, timestamp: uniform failure */
	prior = crypto_dec_knock(c->dec[j->server_idx], j->dgram, pt);
	rc = wire_decode(&j->k, pt, sizeof(pt));
	if (prior == 0)
		prior = rc;
	j->rc = verify_knock(c->mac, p->cfg, p->dummy_key, prior, &j->k, j->now,
	    &j->user);
	OPENSSL_cleanse(pt, sizeof(pt));
}

int
pipeline_finish(struct pipeline *p, struct pipeline_job *j, uint64_t now_ms,
    struct sl_request *req)
{
	const struct cfg_server *srv = &p->cfg->servers[j->server_idx];
	const struct cfg_user *user = j->user;
	const struct cfg_action *act;
	const struct wire_knock *k = &j->k;
	char ip[SL_IPSTR_MAX];
	int rc = j->rc, discarded = 0, sink = p->sink[j->server_idx];
	int verbose = srv->logging;

	addr_to_str(&j->src, ip, sizeof(ip));
	if (rc == SL_EAUTH) {
		p->st.rejected++;
		if (verbose)
			log_limited(sink, LOG_NOTICE, SLC_REJECT, "rejected packet "
			    "from %s on %s", ip, srv->name);
		goto fail;
	}
	if (rc == SL_ESTALE) {
		p->st.stale++;
		if (verbose)
			log_limited(sink, LOG_NOTICE, SLC_STALE, "user %s from %s: "
			    "timestamp %+lld s off (window %u s), refused",
			    user->name, ip,
			    (long long)((int64_t)k->timestamp - (int64_t)j->now),
			    p->cfg->timestamp_window);
		goto fail;
	}
	if (rc != 0)
		goto fail;

	/* 6. replay: record the authenticated packet before anything runs */
	rc = replay_check_and_add(p->replay, k->user_id, k->hmac, k->timestamp,
	    j->now);
	if (rc == SL_EREPLAY) {
		p->st.replayed++;
		if (verbose)
			log_limited(sink, LOG_WARNING, SLC_REPLAY, "user %s from %s: "
			    "replayed packet refused", user->name, ip);
		goto fail;
	}
	if (rc == SL_EFULL) {
		p->st.cache_full++;
		log_limited(sink, LOG_ERR, SLC_CACHE_FULL, "user %s from %s: "
		    "replay cache full (%u live entries), packet refused; raise "
		    "replay_cache_size", user->name, ip, replay_count(p->replay));
		goto out;
	}
	if (rc != 0) {
		p->st.state_error++;
		log_limited(sink, LOG_ERR, SLC_STATE_IO, "user %s from %s: replay "
		    "state not written (%s), packet refused", user->name, ip,
		    sl_strerror(rc));
		goto out;
	}
	/* a fresh authenticated knock: this source keeps its own budget */
	filter_outcome(p->filter, &j->src, 1, now_ms);

	/* 7. authorize */
	rc = authz_check(p->cfg, j->server_idx, user, k, &j->src, req,
	    &discarded);
	act = config_action_by_id(p->cfg, k->action_id);
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
			    k->action_id, srv->name);
		goto out;
	}
	if (discarded && verbose)
		log_sink(sink, LOG_INFO, SLC_PAYLOAD_DROP, "user %s: action %s "
		    "discards payloads, %u bytes dropped", user->name,
		    act->name, k->payload_len);
	p->st.accepted++;
	if (verbose)
		log_sink(sink, LOG_NOTICE, SLC_ACCEPT, "user %s from %s on %s: "
		    "action %s authorized", user->name, ip, srv->name, act->name);
	goto out;
fail:
	/* failed before authentication, stale or replayed: one budget */
	filter_outcome(p->filter, &j->src, 0, now_ms);
out:
	OPENSSL_cleanse(&j->k, sizeof(j->k));
	return rc;
}

int
pipeline_process(struct pipeline *p, unsigned server_idx,
    const uint8_t *dgram, size_t len, const struct sl_addr *src, time_t now,
    struct sl_request *req)
{
	struct pipeline_job j;
	uint64_t ms = sl_mono_ms();
	int rc;

	if ((rc = pipeline_admit(p, server_idx, dgram, len, src, ms)) != 0)
		return rc;
	j.server_idx = server_idx;
	j.src = *src;
	j.now = now;
	memcpy(j.dgram, dgram, SL_DGRAM_LEN);
	pipeline_crypto(p, p->crypto, &j);
	return pipeline_finish(p, &j, ms, req);
}
