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

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "addr.h"
#include "config.h"
#include "knock2.h"
#include "net.h"
#include "replay.h"
#include "request.h"
#include "stages.h"
#include "wire.h"

struct pipeline_stats {
	uint64_t received;      /* every datagram */
	uint64_t bad_length;    /* wrong size, dropped before anything else */
	uint64_t rate_source;   /* source over its budget: dropped before crypto */
	uint64_t rate_prefix;   /* its /24 or /64 over budget: dropped before crypto */
	uint64_t rate_global;   /* private-key operations per second cap */
	uint64_t duplicate;     /* exact copy of a recent datagram */
	uint64_t rejected;      /* failed before the HMAC verified (uniform;
	                           by reason: pipeline_add_stats) */
	uint64_t stale;         /* authenticated, timestamp outside window */
	uint64_t replayed;      /* authenticated, seen before */
	uint64_t denied;        /* authenticated, not permitted */
	uint64_t not_ascii;     /* authenticated, require_ascii refused */
	uint64_t cache_full;    /* authenticated, replay cache full */
	uint64_t state_error;   /* authenticated, journal write failed */
	uint64_t accepted;      /* authorized request produced */
	/* format 2 (all also counted in received) */
	uint64_t k2_unknown_tag;    /* no user has this tag: one lookup */
	uint64_t k2_bad_mac;        /* a user's tag, wrong MAC: one HMAC */
	uint64_t k2_copy;           /* copy of a knock in flight or refused */
	uint64_t k2_elsewhere;      /* copy from an address it cannot serve */
	uint64_t k2_user_budget;    /* the user's decryption budget is spent */
	uint64_t k2_unopened;       /* MAC good, does not open (wrong key?) */
	uint64_t k2_wrong_address;  /* names another address: refused */
	uint64_t k2_no_address;     /* names none, require_named_address */
	uint64_t k2_accepted;       /* of accepted, format 2 */
};

/* What pipeline_admit learned about a datagram that may go on. */
#define PIPELINE_CANDS 8   /* users sharing one HMAC key, format 2 */
struct pipeline_pre {
	uint8_t format;         /* 1 or 2 */
	/* format 2: the users (index into cfg->users) whose tag and MAC the
	 * datagram carries, and the tag's epoch for each: more than one only
	 * when users share an HMAC key; the inner user_id picks one */
	unsigned ncand;
	unsigned cand[PIPELINE_CANDS];
	uint64_t epoch[PIPELINE_CANDS];
};

/* A receipt to send (format 2, the server's receipt = yes and the knock
 * asked for one): now, or once the runner says what became of the action. */
enum pipeline_reply_when { PR_NONE = 0, PR_NOW, PR_LATER };
struct pipeline_reply {
	enum pipeline_reply_when when;
	struct k2_receipt r;            /* PR_NOW */
	uint8_t key[K2_KEY_LEN];        /* K_rcpt: cleanse after use */
	uint8_t mac[K2_MAC_LEN];        /* the knock's, the receipt's AAD */
};

/* A datagram between the steps (fixed size; lives in a preallocated ring). */
struct pipeline_job {
	unsigned server_idx;
	struct sl_addr src;
	time_t now;
	struct pipeline_pre pre;
	uint8_t dgram[K2_DGRAM_LEN];    /* format 1 uses SL_DGRAM_LEN bytes */
	/* set by pipeline_crypto() */
	int rc;
	int why;                        /* format 1, rc SL_EAUTH: enum verify_why */
	const struct cfg_user *user;
	union {
		struct wire_knock k;    /* format 1 */
		struct k2_inner in;     /* format 2 */
	};
	uint8_t rcpt_key[K2_KEY_LEN];   /* format 2 */
	/* for the caller: where a receipt goes */
	int fd;
	struct sockaddr_storage peer;
	uint32_t peerlen;
	struct net_local local;         /* where it was sent to */
};

struct pipeline;
struct pipeline_crypto;   /* per-thread decryption and HMAC contexts */

int pipeline_new(struct pipeline **out, const struct config *cfg,
    struct replay *replay, const int *log_sinks);
void pipeline_free(struct pipeline *p);
/*
 * A new configuration with the same servers and table sizes
 * (reload_needs_restart): the format-2 tag table, the per-user format-2
 * state and the decryption contexts are made anew from cfg's users and
 * keys; the counters, the rate limits and the replay cache stay.  No job
 * may be in flight.  On an error nothing changes.  Call pipeline_tick
 * next, to fill the new tag table.
 */
int pipeline_reconfigure(struct pipeline *p, const struct config *cfg);

/* 0: go on (copy the datagram and *pre into a job); else dropped,
 * counted, logged.  now: the wall clock (format 2 replay check). */
int pipeline_admit(struct pipeline *p, unsigned server_idx,
    const uint8_t *dgram, size_t len, const struct sl_addr *src,
    time_t now, uint64_t now_ms, struct pipeline_pre *pre);
int pipeline_crypto_new(const struct pipeline *p, struct pipeline_crypto **out);
void pipeline_crypto_free(struct pipeline_crypto *c);
/* c NULL: the pipeline's own contexts (main thread only). */
void pipeline_crypto(const struct pipeline *p, struct pipeline_crypto *c,
    struct pipeline_job *j);
/* 0 and *req filled when an action should run; else the stage's code.
 * rep (may be NULL) says whether and when to send a format-2 receipt. */
int pipeline_finish(struct pipeline *p, struct pipeline_job *j,
    uint64_t now_ms, struct sl_request *req, struct pipeline_reply *rep);
/* Keep the format-2 tag table current (call every second); sync, if not
 * NULL, is told of each tag that enters or leaves it. */
struct tags;
void pipeline_tick(struct pipeline *p, time_t now,
    void (*sync)(void *, const uint8_t *, bool), void *arg);
const struct tags *pipeline_tags(const struct pipeline *p);
struct gate2;
const struct gate2 *pipeline_gate2(const struct pipeline *p);

/* All three in a row, on the calling thread. */
int pipeline_process(struct pipeline *p, unsigned server_idx,
    const uint8_t *dgram, size_t len, const struct sl_addr *src, time_t now,
    struct sl_request *req);

const struct pipeline_stats *pipeline_get_stats(const struct pipeline *p);
/* Add the counters by reason of rejection (rejected_decrypt, ...), or,
 * servers: each enabled server's own counters (metrics only). */
struct stats_buf;
void pipeline_add_stats(const struct pipeline *p, struct stats_buf *b,
    bool servers);
/* Rate limiter and duplicate cache counters, for the stats file. */
struct filter *pipeline_filter(const struct pipeline *p);

#endif
