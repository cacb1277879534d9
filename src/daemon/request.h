/*
 * request.h - the fixed-size "authorized request" that the receive path
 * hands to the part that runs scripts.  It holds indices and values only,
 * no pointers, so it can later cross a socketpair to a privileged process
 * that checks it again against its own configuration.
 */
#ifndef SL_REQUEST_H
#define SL_REQUEST_H

#include <stdint.h>
#include "sl.h"
#include "addr.h"

/*
 * The channel between the two processes (runproc.c) carries four
 * messages, each one SOCK_SEQPACKET datagram of an exact size whose first
 * four bytes say which it is.  A message of another type or size, or
 * descriptors with any message but SL_MSG_LOGFDS, ends both processes.
 *   network -> privileged: SL_REQ_MAGIC (struct sl_request),
 *                          SL_MSG_RELOADED (struct sl_status)
 *   privileged -> network: SL_RES_MAGIC (struct sl_result),
 *                          SL_MSG_LOGFDS (struct sl_logfds + descriptors),
 *                          SL_MSG_STATS (struct sl_ask),
 *                          SL_MSG_RELOAD (struct sl_ask + one memfd)
 */
#define SL_REQ_MAGIC  0x534c5251u /* "SLRQ": run this action */
#define SL_MSG_STATS  0x534c5354u /* "SLST": log your counters */
#define SL_MSG_LOGFDS 0x534c4c46u /* "SLLF": the reopened log files */
#define SL_MSG_RELOAD 0x534c524cu /* "SLRL": a new configuration (reload.h) */
#define SL_MSG_RELOADED 0x534c5244u /* "SLRD": ... taken, or not */

struct sl_request {
	uint32_t magic;
	uint16_t server_idx;        /* index into cfg->servers */
	uint16_t user_id;
	uint8_t  action_id;
	uint8_t  secure;            /* always 1 in siglatchd */
	uint16_t payload_len;       /* 0 when discard_payload */
	struct sl_addr src;
	uint32_t timestamp;         /* the knock's timestamp */
	uint32_t ticket;            /* 0, or the runner answers with an
	                               sl_result carrying it (receipts) */
	uint8_t  replay_key[SL_HMAC_LEN]; /* what the replay journal keys on
	                               with user_id: the knock's HMAC (format
	                               1) or MAC (format 2); a fleet records
	                               it in its store (fleet.h) */
	uint8_t  payload[SL_PAYLOAD_MAX];
};

#define SL_RES_MAGIC 0x534c5253u /* "SLRS": what became of a request */

/* Runner to network process, for a request that had a ticket: one
 * struct k2_receipt's worth of news (status, reason, value: knock2.h). */
struct sl_result {
	uint32_t magic;
	uint32_t ticket;
	uint8_t  status;
	uint8_t  reason;
	uint16_t reserved;
	uint32_t value;
};

/* Privileged to network process: the log files reopened after SIGHUP.
 * n descriptors ride along (SCM_RIGHTS); the i-th replaces log sink
 * sink[i] (log.h: 0 is log_file, 1.. the servers' files). */
#define SL_LOGFDS_MAX 17    /* LOG_SINKS_MAX */
struct sl_logfds {
	uint32_t magic;
	uint32_t n;
	int32_t  sink[SL_LOGFDS_MAX];
};

/* The network process's answer to SL_MSG_RELOAD: 0 or an SL_E* code. */
struct sl_status {
	uint32_t magic;
	int32_t  status;
};

/* A message with nothing but its type (SL_MSG_STATS, SL_MSG_RELOAD). */
struct sl_ask {
	uint32_t magic;
	uint32_t reserved;
};

#endif
