/*
 * replay.h - the replay cache.
 *
 * Keyed by the authenticated packet (user_id + its 32-byte HMAC), recorded
 * only after the HMAC verified.  An entry lives while its packet's timestamp
 * is still acceptable (now <= timestamp + window), so nothing is accepted
 * twice.  Fixed capacity: when full, new packets are refused (SL_EFULL),
 * live entries are never evicted.  Every accepted entry is appended to a
 * journal under state_dir before the action runs, so it survives kill -9.
 *
 * Nothing depends on the wall clock moving forward:
 *   - the floor: an entry is forgotten only once it has expired, and the
 *     newest timestamp forgotten so far is kept (in the journal too); a
 *     timestamp at or before it is refused as a replay, whatever the clock
 *     says later (stepped back, or a restart with a wider window);
 *   - the barrier: when the daemon cannot know what it accepted before (the
 *     journal is damaged, or missing from a state_dir that was used), every
 *     timestamp <= max(now, the journal's high-water mark) + window is
 *     refused until that time has passed;
 *   - the high-water mark: the latest wall-clock time seen, kept in the
 *     journal, so that a barrier set after the clock went back still covers
 *     what was accepted before.
 * A user may be given a share of the capacity (replay_set_users): one key,
 * stolen or misused, then fills only its own share.
 */
#ifndef SL_REPLAY_H
#define SL_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "sl.h"

/* timestamp_window's range in the configuration, and the journal's */
#define REPLAY_WINDOW_MAX 3600u

struct replay;

enum replay_load {
	REPLAY_LOADED = 0,   /* journal read, N live entries */
	REPLAY_FRESH,        /* no journal, and nothing in state_dir but
	                      * empty directories: first start */
	REPLAY_CORRUPT,      /* journal damaged, or missing from a state_dir
	                      * that was used before: barrier set */
};

/*
 * Open (creating state_dir/replay.state as needed).  window is 1..
 * REPLAY_WINDOW_MAX.  If the journal is damaged, or missing while state_dir
 * holds a file or a directory with anything in it (it was used before:
 * empty directories, such as mount points, do not count), every packet
 * stamped at or before the barrier of the comment above is refused as a
 * replay, since any of them might have been accepted before.  *how says what happened; err says
 * why for REPLAY_CORRUPT.  state_dir NULL means memory only (unit tests).
 * A journal of either format (SLREPLY1, SLREPLY2) is read; SLREPLY2 is
 * written.
 */
int replay_open(struct replay **out, const char *state_dir, uint32_t capacity,
    uint32_t window, time_t now, enum replay_load *how, char *err,
    size_t errlen);
/*
 * Share the capacity between nusers users: a user holding capacity /
 * nusers entries (at least 1) is refused new ones (SL_EFULL, and
 * replay_user_full() says so) while the others keep their room.  0: no
 * share, the default.  Returns the share.
 */
/*
 * The caller knows that a journal existed and is gone although replay_open
 * found none (REPLAY_FRESH): state_dir holds the journal in a subdirectory
 * and its parent was used before.  Raise the barrier as for a missing
 * journal, and write it down.  0 or SL_ESYS.
 */
int replay_lost(struct replay *r, time_t now);
uint32_t replay_set_users(struct replay *r, unsigned nusers);
/*
 * Check and record.  0: new, recorded and persisted.  SL_EREPLAY: seen,
 * at or before the floor, or under the barrier.  SL_EFULL: the cache, or
 * this user's share of it, is full of live entries.  SL_ESYS: the journal
 * write failed (the packet is refused: fail closed).
 */
int replay_check_and_add(struct replay *r, uint16_t user_id,
    const uint8_t hmac[SL_HMAC_LEN], uint32_t timestamp, time_t now);
/* Read-only: is this key recorded and live?  (Format 2 asks before any
 * private-key work; the floor and the barrier need the timestamp, so they
 * are left to replay_check_and_add.) */
bool replay_seen(const struct replay *r, uint16_t user_id,
    const uint8_t hmac[SL_HMAC_LEN], time_t now);
/* Drop expired entries (now > timestamp + window), raising the floor;
 * compacts the journal when it has grown well past the live set.  Says so
 * (SL006, rate-limited) when the clock has gone back. */
void replay_expire(struct replay *r, time_t now);
/* Rewrite the journal with the live entries (atomic rename). */
int replay_save(struct replay *r);
void replay_close(struct replay *r);
uint32_t replay_count(const struct replay *r);
/* Entries held for one user; whether that user has used up its share. */
uint32_t replay_user_count(const struct replay *r, uint16_t user_id);
bool replay_user_full(const struct replay *r, uint16_t user_id);
/* 0 when no barrier is in force. */
time_t replay_barrier(const struct replay *r);
/* The newest timestamp forgotten (0: none); the high-water mark. */
time_t replay_floor(const struct replay *r);
time_t replay_high(const struct replay *r);

#endif
