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

#define SL_REQ_MAGIC 0x534c5251u /* "SLRQ": run this action */
#define SL_REQ_STATS 0x534c5354u /* "SLST": log your counters (no fields) */

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

#endif
