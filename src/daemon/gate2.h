/*
 * gate2.h - format-2 admission between the MAC and the private-key
 * operation: what became of earlier copies of the same knock, and each
 * user's budget of private-key operations.
 *
 * Only datagrams whose MAC verified reach it, so every entry was made by a
 * key holder; copies of them may come from anyone (a knock captured on the
 * path).  An entry is keyed by the knock's MAC and says:
 *   in flight     being decrypted: a copy from the same source is dropped
 *   dead          refused for a reason its source does not change: dropped
 *   bound         names another address: dropped unless it comes from there
 *   refused from  refused for its source (allowed_ips): dropped from there
 * A copy from another source than the one in flight goes on (it may be
 * the user's own, raced by a copy captured on the path), as does a copy
 * from the address a knock names; otherwise a knock is decrypted at most
 * GATE2_DECRYPTS_MAX times.  Recorded knocks leave the table: the replay
 * cache has them.
 *
 * Fixed memory from gate2_new; nothing allocated after.  Main thread only.
 */
#ifndef SL_GATE2_H
#define SL_GATE2_H

#include <stdint.h>

#include "addr.h"
#include "knock2.h"

#define GATE2_ENTRIES       4096
#define GATE2_DECRYPTS_MAX  4

enum gate2_verdict {
	G2_PASS = 0,        /* go on: marked in flight, a token taken */
	G2_COPY,            /* a copy of a knock in flight or dead */
	G2_ELSEWHERE,       /* names another address / refused from here */
	G2_BUDGET,          /* the user's budget is spent */
};

enum gate2_outcome {
	G2_RECORDED = 0,    /* in the replay cache now: forget it */
	G2_DEAD,            /* refused whatever its source */
	G2_BOUND,           /* refused: copies only from addr may go on */
	G2_FROM,            /* refused from addr: copies from elsewhere may */
};

struct gate2;

struct gate2_stats {
	uint64_t copies, elsewhere, budget, evictions;
};

/* users: how many user slots (cfg->nusers); budget per window_ms each
 * (0: no budget); ttl_ms: how long a refusal is remembered (a knock's
 * whole life). */
int gate2_new(struct gate2 **out, unsigned users, uint32_t budget,
    uint32_t window_ms, uint32_t ttl_ms);
void gate2_free(struct gate2 *g);
enum gate2_verdict gate2_admit(struct gate2 *g, unsigned user,
    const uint8_t mac[K2_MAC_LEN], const struct sl_addr *src,
    uint64_t now_ms);
void gate2_done(struct gate2 *g, const uint8_t mac[K2_MAC_LEN],
    enum gate2_outcome o, const struct sl_addr *addr, uint64_t now_ms);
const struct gate2_stats *gate2_get_stats(const struct gate2 *g);

#endif
