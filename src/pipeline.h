/*
 * pipeline.h - one datagram in, one decision out.  Owns the per-server
 * decryption contexts, the HMAC context, the dummy key and the counters.
 * Allocates nothing per packet.
 */
#ifndef SL_PIPELINE_H
#define SL_PIPELINE_H

#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "config.h"
#include "replay.h"
#include "request.h"

struct pipeline_stats {
	uint64_t received;      /* every datagram */
	uint64_t bad_length;    /* wrong size, dropped before crypto */
	uint64_t rejected;      /* failed before the HMAC verified (uniform) */
	uint64_t stale;         /* authenticated, timestamp outside window */
	uint64_t replayed;      /* authenticated, seen before */
	uint64_t denied;        /* authenticated, not permitted */
	uint64_t not_ascii;     /* authenticated, require_ascii refused */
	uint64_t cache_full;    /* authenticated, replay cache full */
	uint64_t state_error;   /* authenticated, journal write failed */
	uint64_t accepted;      /* authorized request produced */
};

struct pipeline;

int pipeline_new(struct pipeline **out, const struct config *cfg,
    struct replay *replay, const int *log_sinks);
void pipeline_free(struct pipeline *p);
/*
 * Run the receive path on one datagram that arrived on server server_idx.
 * Returns 0 and fills *req when an action should run; otherwise the
 * negative code of the stage that stopped it (already logged and counted).
 */
int pipeline_process(struct pipeline *p, unsigned server_idx,
    const uint8_t *dgram, size_t len, const struct sl_addr *src, time_t now,
    struct sl_request *req);
const struct pipeline_stats *pipeline_get_stats(const struct pipeline *p);

#endif
