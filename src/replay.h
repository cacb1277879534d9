/*
 * replay.h - the replay cache.
 *
 * Keyed by the authenticated packet (user_id + its 32-byte HMAC), recorded
 * only after the HMAC verified.  An entry lives while its packet's timestamp
 * is still acceptable (now <= timestamp + window), so nothing is accepted
 * twice.  Fixed capacity: when full, new packets are refused (SL_EFULL),
 * live entries are never evicted.  Every accepted entry is appended to a
 * journal under state_dir before the action runs, so it survives kill -9.
 */
#ifndef SL_REPLAY_H
#define SL_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "sl.h"

struct replay;

enum replay_load {
	REPLAY_LOADED = 0,   /* journal read, N live entries */
	REPLAY_FRESH,        /* no journal: first start (logged by caller) */
	REPLAY_CORRUPT,      /* unreadable/corrupt journal: barrier set */
};

/*
 * Open (creating state_dir/replay.state as needed).  If the journal is
 * corrupt, every packet with timestamp <= now + window is refused as a
 * replay (the barrier), since any of them might have been accepted before.
 * *how says what happened; err says why for REPLAY_CORRUPT.  state_dir NULL
 * means memory only (unit tests).
 */
int replay_open(struct replay **out, const char *state_dir, uint32_t capacity,
    uint32_t window, time_t now, enum replay_load *how, char *err,
    size_t errlen);
/*
 * Check and record.  0: new, recorded and persisted.  SL_EREPLAY: seen (or
 * under the barrier).  SL_EFULL: cache full of live entries.  SL_ESYS: the
 * journal write failed (the packet is refused: fail closed).
 */
int replay_check_and_add(struct replay *r, uint16_t user_id,
    const uint8_t hmac[SL_HMAC_LEN], uint32_t timestamp, time_t now);
/* Read-only: is this key recorded and live?  (Format 2 asks before any
 * private-key work; the barrier needs the timestamp, so it is left to
 * replay_check_and_add.) */
bool replay_seen(const struct replay *r, uint16_t user_id,
    const uint8_t hmac[SL_HMAC_LEN], time_t now);
/* Drop expired entries (now > timestamp + window); compacts the journal
 * when it has grown well past the live set. */
void replay_expire(struct replay *r, time_t now);
/* Rewrite the journal with the live entries (atomic rename). */
int replay_save(struct replay *r);
void replay_close(struct replay *r);
uint32_t replay_count(const struct replay *r);
/* 0 when no barrier is in force. */
time_t replay_barrier(const struct replay *r);

#endif
