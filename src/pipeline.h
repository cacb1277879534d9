/*
 * pipeline.h - one datagram in, one decision out.
 *
 * Three steps, so that the expensive middle one can run on worker threads:
 *   pipeline_admit()  length, rate limits, duplicate ciphertext (cheap,
 *                     main thread, before any cryptography)
 *   pipeline_crypto() decrypt, parse, HMAC, timestamp (pure: reads only the
 *                     configuration; each thread has its own contexts)
 *   pipeline_finish() replay, authorize, counters, log lines (main thread)
 * pipeline_process() runs all three in a row.  Nothing is allocated per
 * packet.
 */
#ifndef SL_PIPELINE_H
#define SL_PIPELINE_H

#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "config.h"
#include "replay.h"
#include "request.h"
#include "wire.h"

struct pipeline_stats {
	uint64_t received;      /* every datagram */
	uint64_t bad_length;    /* wrong size, dropped before anything else */
	uint64_t rate_source;   /* source over its budget: dropped before crypto */
	uint64_t rate_prefix;   /* its /24 or /64 over budget: dropped before crypto */
	uint64_t rate_global;   /* private-key operations per second cap */
	uint64_t duplicate;     /* exact copy of a recent datagram */
	uint64_t rejected;      /* failed before the HMAC verified (uniform) */
	uint64_t stale;         /* authenticated, timestamp outside window */
	uint64_t replayed;      /* authenticated, seen before */
	uint64_t denied;        /* authenticated, not permitted */
	uint64_t not_ascii;     /* authenticated, require_ascii refused */
	uint64_t cache_full;    /* authenticated, replay cache full */
	uint64_t state_error;   /* authenticated, journal write failed */
	uint64_t accepted;      /* authorized request produced */
};

/* A datagram between the steps (fixed size; lives in a preallocated ring). */
struct pipeline_job {
	unsigned server_idx;
	struct sl_addr src;
	time_t now;
	uint8_t dgram[SL_DGRAM_LEN];
	/* set by pipeline_crypto() */
	int rc;
	const struct cfg_user *user;
	struct wire_knock k;
};

struct pipeline;
struct pipeline_crypto;   /* per-thread decryption and HMAC contexts */

int pipeline_new(struct pipeline **out, const struct config *cfg,
    struct replay *replay, const int *log_sinks);
void pipeline_free(struct pipeline *p);

/* 0: go on (copy the datagram into a job); else dropped, counted, logged. */
int pipeline_admit(struct pipeline *p, unsigned server_idx,
    const uint8_t *dgram, size_t len, const struct sl_addr *src,
    uint64_t now_ms);
int pipeline_crypto_new(const struct pipeline *p, struct pipeline_crypto **out);
void pipeline_crypto_free(struct pipeline_crypto *c);
/* c NULL: the pipeline's own contexts (main thread only). */
void pipeline_crypto(const struct pipeline *p, struct pipeline_crypto *c,
    struct pipeline_job *j);
/* 0 and *req filled when an action should run; else the stage's code. */
int pipeline_finish(struct pipeline *p, struct pipeline_job *j,
    uint64_t now_ms, struct sl_request *req);

/* All three in a row, on the calling thread. */
int pipeline_process(struct pipeline *p, unsigned server_idx,
    const uint8_t *dgram, size_t len, const struct sl_addr *src, time_t now,
    struct sl_request *req);

const struct pipeline_stats *pipeline_get_stats(const struct pipeline *p);
/* Rate limiter and duplicate cache counters, for the stats file. */
struct filter *pipeline_filter(const struct pipeline *p);

#endif
