/*
 * receipt.h - format-2 receipts, in the network process: sealed and sent
 * from the socket the knock came in on, to its source address and port,
 * at most once per knock.  A receipt that waits for the runner's news is
 * parked under a ticket; a ticket nobody answers is forgotten after a
 * deadline, with no receipt.  Fixed memory; keys cleansed when used.
 */
#ifndef SL_RECEIPT_H
#define SL_RECEIPT_H

#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "knock2.h"
#include "net.h"
#include "request.h"

struct receipts;

struct receipt_stats {
	uint64_t sent;        /* receipts sent */
	uint64_t send_failed; /* sendto failed */
	uint64_t expired;     /* parked, no news in time: none sent */
	uint64_t full;        /* no room to park: none sent */
};

/* Where a receipt goes and how it is sealed. */
struct receipt_dest {
	int fd;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	struct net_local local;     /* the knock's destination: the source */
	uint8_t key[K2_KEY_LEN];
	uint8_t mac[K2_MAC_LEN];
};

int receipts_new(struct receipts **out, unsigned cap, uint32_t wait_ms);
void receipts_free(struct receipts *r);
/* Seal r and send it now; the key in d is cleansed. */
int receipts_send(struct receipts *rs, struct receipt_dest *d,
    const struct k2_receipt *r);
/* Park d until the runner reports; returns the ticket (never 0), or 0
 * when there is no room (counted; no receipt will be sent). */
uint32_t receipts_park(struct receipts *rs, struct receipt_dest *d,
    uint64_t now_ms);
/* The runner's news for a ticket: send the receipt, forget the ticket. */
void receipts_result(struct receipts *rs, const struct sl_result *res,
    time_t now);
/* The ticket's request never reached the runner: answer status now. */
void receipts_cancel(struct receipts *rs, uint32_t ticket, uint8_t status,
    time_t now);
void receipts_expire(struct receipts *rs, uint64_t now_ms);
const struct receipt_stats *receipts_get_stats(const struct receipts *rs);

#endif
