/*
 * grants.h - timed grants: what an action with a destructor has opened,
 * for whom, and until when.
 *
 * A grant is keyed by (server, user id, action id, source address).  It is
 * made when the constructor exits 0, extended by a new valid knock before
 * it lapses (never past created + grant_max_lifetime), and revoked by the
 * destructor when it lapses.  A destructor that fails is retried with a
 * growing delay and never forgotten.
 *
 * The table is fixed in size (max_grants) and lives in the runner process
 * (root).  Every change is written at once to STATE_DIR/grants/grants, a
 * text file in a directory that must belong to the runner's user and be
 * closed to everyone else (the network process, which owns STATE_DIR
 * itself, cannot touch it).  The file is replaced atomically (write,
 * fsync, rename, fsync the directory).  On load, a grant that lapsed while
 * the daemon was down, one whose constructor was still running, and one
 * already being revoked are all due for revocation at once.
 *
 * Fail closed: whatever opens access, or keeps it open longer, is on disk
 * before it happens, and what closes access is taken off the disk only
 * after it happened.  So a grant is written (pending) before its
 * constructor runs and refused if it cannot be (grants_abort), an
 * extension is written before it counts (grants_extend), and an entry is
 * removed only once its destructor has succeeded.  The file may lag behind
 * the table only in the safe direction: an entry that is live in memory
 * but pending on disk, a revocation that happened but is still listed, an
 * expiry on disk earlier than in memory (never later).  After a crash each
 * of these makes the next start revoke (again: destructors are idempotent)
 * rather than forget.
 *
 * All times are CLOCK_REALTIME milliseconds passed in by the caller (the
 * table never reads a clock), so tests drive it through any history.
 */
#ifndef SL_GRANTS_H
#define SL_GRANTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sl.h"
#include "addr.h"

#define GRANTS_DIR        "grants"
#define GRANTS_FILE       "grants"
#define GRANTS_RETRY_MS   5000     /* first retry after a failed destructor */
#define GRANTS_RETRY_MAX  300000   /* the delay doubles up to this */
#define GRANTS_DEFER_MS   1000     /* no free script slot: look again */

enum grant_state {
	GS_FREE = 0,
	GS_PENDING,     /* constructor running; not yet granted */
	GS_LIVE,        /* granted until expires_ms */
	GS_REVOKE,      /* destructor due at next_ms (lapsed, or retrying) */
	GS_REVOKING,    /* destructor running */
};

struct grant {
	uint8_t state;          /* enum grant_state */
	bool regrant;           /* PENDING over an entry that still had to be
	                           revoked: a failed constructor puts it back */
	uint8_t action_id;
	uint16_t user_id;
	struct sl_addr addr;
	char server[SL_NAME_MAX];
	char user[SL_NAME_MAX];
	char action[SL_NAME_MAX];
	char gateway[SL_NAME_MAX]; /* fleet: the gateway that took the first
	                              knock; "" for a gateway alone */
	int64_t created_ms;     /* when the constructor succeeded */
	int64_t expires_ms;     /* LIVE: when it lapses */
	int64_t next_ms;        /* REVOKE: when the destructor is due */
	uint32_t attempts;      /* failed destructor runs so far */
	uint32_t extensions;
};

struct grants_stats {
	uint64_t granted, extended, capped, lapsed, revoked, revoke_failed,
	    refused_full, expired_at_start, bad_lines, save_failed;
};

/* The table: opaque, made once at setup (grants_new) and handed to the
 * runner; grants_get_stats and the accessors below say what callers need. */
struct grants;

/* An empty table of max entries; nothing persisted until grants_attach.
 * *out is NULL on an error (SL_EINVAL for max 0, SL_ESYS). */
int grants_new(struct grants **out, unsigned max, uint32_t max_life_s);
/* The table and its directory descriptor; NULL is fine. */
void grants_free(struct grants *gt);
const struct grants_stats *grants_get_stats(const struct grants *gt);
/* STATE_DIR/grants once attached, else -1 (the fleet keeps fleet.last
 * there). */
int grants_dirfd(const struct grants *gt);
/* A save failed and is to be tried again (grants_flush); errno of the
 * last failed save. */
bool grants_dirty(const struct grants *gt);
int grants_save_errno(const struct grants *gt);
/* Walking the table (tests, the fuzzer): slot i < grants_slots, in use or
 * GS_FREE. */
unsigned grants_slots(const struct grants *gt);
struct grant *grants_slot(struct grants *gt, unsigned i);

/*
 * Open (creating it 0700 if missing) STATE_DIR/grants, check that it is a
 * directory of the caller's own user that nobody else may enter, and load
 * the grants file if there is one.  Lines that do not parse are counted,
 * logged and copied to grants.bad for the operator; the rest are kept
 * (the table grows past max if the file holds more).  Returns 0 or an SL_E*
 * code with a message in err naming the path.
 */
int grants_attach(struct grants *gt, const char *state_dir, int64_t now_ms,
    char *err, size_t errlen);
/* Parse a grants file's text into the table (used by grants_attach and the
 * fuzzer).  Returns the number of lines refused. */
unsigned grants_parse(struct grants *gt, const char *text, size_t len,
    int64_t now_ms, const char *name);
/* Write the table (atomic replace).  0, or SL_ESYS with the table marked
 * dirty so the next grants_flush tries again (save_errno says why). */
int grants_save(struct grants *gt);
/* Save if an earlier save failed. */
void grants_flush(struct grants *gt);
/* The file's text for the table (for grants_save and tests). */
int grants_format(const struct grants *gt, FILE *f);

struct grant *grants_find(struct grants *gt, const char *server,
    uint16_t user_id, uint8_t action_id, const struct sl_addr *addr);
/*
 * A knock's constructor is about to run.  With no entry for the key, a
 * PENDING one is made (NULL if the table is full).  An entry waiting to be
 * revoked (GS_REVOKE) is taken back to PENDING.  Any other state returns
 * NULL with *why set: "being granted", "being revoked", "table full".
 */
struct grant *grants_begin(struct grants *gt, const char *server,
    const char *user, uint16_t user_id, const char *action,
    uint8_t action_id, const struct sl_addr *addr, const char **why);
/* The constructor will not run (its pending entry could not be written,
 * or it could not be started): undo grants_begin.  A new entry is freed;
 * a regrant goes back to GS_REVOKE on its old schedule. */
void grants_abort(struct grants *gt, struct grant *g);
/* The constructor exited: ok makes it LIVE until now + interval (capped);
 * failure frees the entry, or puts a regrant back to GS_REVOKE due now. */
void grants_end(struct grants *gt, struct grant *g, bool ok, int64_t now_ms,
    uint32_t interval_s);
/* A knock for a LIVE grant: expires = min(now + interval, created + max
 * lifetime), written to the file before it counts.  Returns 1 if it moved
 * later, 0 if it is already at its cap (nothing changes), SL_ESYS if the
 * file could not be written: the grant keeps the expiry it had. */
int grants_extend(struct grants *gt, struct grant *g, int64_t now_ms,
    uint32_t interval_s);
/* The next LIVE grant past its expiry or REVOKE entry past next_ms, or
 * NULL.  A lapsed LIVE grant becomes GS_REVOKE on the way. */
struct grant *grants_due(struct grants *gt, int64_t now_ms);
/* The destructor starts (GS_REVOKING). */
void grants_revoking(struct grants *gt, struct grant *g);
/* The destructor ended: ok frees the entry; failure schedules a retry after
 * GRANTS_RETRY_MS doubling per attempt, up to GRANTS_RETRY_MAX. */
void grants_revoked(struct grants *gt, struct grant *g, bool ok,
    int64_t now_ms);
/* Could not start a destructor now (no free slot): look again later,
 * without counting an attempt. */
void grants_defer(struct grants *gt, struct grant *g, int64_t now_ms,
    int64_t delay_ms);
/* revoke_on_exit: every LIVE grant is due now.  Returns how many. */
unsigned grants_revoke_all(struct grants *gt, int64_t now_ms);
/* Every live grant for which keep(arg, g) is false is due for revocation
 * now; returns how many. */
unsigned grants_revoke_if(struct grants *gt, int64_t now_ms,
    bool (*keep)(void *, const struct grant *), void *arg);
/* Earliest LIVE expiry or REVOKE time, or -1 if none. */
int64_t grants_next_ms(const struct grants *gt);
/* Entries in a given state (GS_FREE: all in use). */
unsigned grants_count(const struct grants *gt, enum grant_state st);
/* Whole seconds from now until t, rounded up; 0 if t has passed. */
int64_t grants_secs_left(int64_t t_ms, int64_t now_ms);
/* Retry delay after n failed attempts (n >= 1). */
int64_t grants_backoff_ms(uint32_t attempts);

const char *grant_state_name(enum grant_state st);

/*
 * Fleets (fleet.h): a grant's news, as published to the store and applied
 * by every gateway.  expires_ms is the wall-clock expiry the publishing
 * gateway set (for a revocation: the expiry of the grant it closed).
 */
enum grant_op { GOP_GRANT = 1, GOP_EXTEND = 2, GOP_REVOKE = 3 };
struct grant_event {
	uint8_t op;             /* enum grant_op */
	char gateway[SL_NAME_MAX];
	char server[SL_NAME_MAX];
	char user[SL_NAME_MAX];
	char action[SL_NAME_MAX];
	struct sl_addr addr;
	int64_t expires_ms;
};
const char *grant_op_name(enum grant_op op);
/* A LIVE grant's expiry brought forward to at most until_ms (a revocation
 * from the fleet); written at once.  1 if it moved, 0 if not. */
int grants_cut(struct grants *gt, struct grant *g, int64_t until_ms);

/*
 * For "siglatchd --grants": print the grants file under state_dir as a
 * table, times in UTC and seconds left.  Returns 0, or an SL_E* code with
 * a message in err.
 */
int grants_list(const char *state_dir, FILE *out, int64_t now_ms, char *err,
    size_t errlen);

#endif
