/*
 * fleet.h - gateways sharing one store (Redis >= 6.2 or Valkey), for one
 * replay state and fleet-wide grants (docs/FLEET.md).
 *
 * The store connection lives in a small process of its own,
 * siglatchd-fleet, forked by the runner (the privileged side) and talking
 * to it only over a SOCK_SEQPACKET socketpair with fixed-size struct
 * fleet_msg messages.  The network process never talks to the store.  The
 * fleet process holds the store's password and nothing else: no key, no
 * socket but its channel and its store connections; it writes no file and
 * logs nothing itself (the runner logs what it reports).
 *
 * Replay: before the runner runs anything for a request, it asks the
 * fleet process to SET PREFIX:replay:<user id>:<hex key> <gateway> NX PX
 * <2 * timestamp_window>.  Set: the knock is this gateway's.  Already
 * there: another gateway saw it first (GET names it), refused.  The store
 * does not answer within timeout_ms: on_store_down decides.  Requests
 * waiting on the store are held in a fixed table; the runner's loop never
 * blocks on it.
 *
 * Grants: the runner publishes what its own knocks did to a fleet
 * action's grants (grant, extend, revoke at lapse) with XADD to
 * PREFIX:grants; the fleet process reads that stream (XREAD BLOCK) and the
 * runner applies every other gateway's entries (runner_fleet_apply), then
 * records the last entry applied in STATE_DIR/grants/fleet.last, from
 * which it resumes after a restart.
 *
 * Connections are made again after any failure, 100 ms after it, the delay
 * doubling to 5 s.  Grant news that cannot be published meanwhile is held
 * (the newest FLEET_HELD_MAX) and published in order once the store is
 * back, but for grants that have lapsed by then.
 */
#ifndef SL_FLEET_H
#define SL_FLEET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "config.h"
#include "grants.h"
#include "request.h"

/* log codes (docs/LOGCODES.md) */
#define SLC_FLEET         400  /* store reachable, fleet state */
#define SLC_FLEET_REPLAY  401  /* knock refused: another gateway saw it */
#define SLC_FLEET_DOWN    402  /* store unreachable: refused or local */

#define FLEET_PENDING_MAX 256  /* requests waiting for the store */
#define FLEET_ID_MAX      48   /* a stream entry id, "ms-seq" */
#define FLEET_TEXT_MAX    200  /* a state message's text */
#define FLEET_LAST_FILE   "fleet.last"
#define FLEET_BACKOFF_MIN 100
#define FLEET_BACKOFF_MAX 5000
#define FLEET_HELD_MAX    256  /* grant news held while the store is down */

/* ---- the channel -------------------------------------------------------- */

#define FLEET_MSG_MAGIC 0x534c464du /* "SLFM" */

enum fleet_type {
	FM_CLAIM = 1,       /* runner -> fleet: seq, user_id, key, ttl_ms */
	FM_CLAIMED,         /* fleet -> runner: seq, result, who */
	FM_PUBLISH,         /* runner -> fleet: ev */
	FM_ENTRY,           /* fleet -> runner: id, ev */
	FM_STATE,           /* fleet -> runner: result (up/down), text */
};

enum fleet_result {
	FR_OURS = 1,        /* recorded by this gateway */
	FR_TAKEN,           /* recorded before, by who */
	FR_DOWN,            /* the store did not answer */
	FR_UP,              /* FM_STATE: connected; text: its version */
	FR_NOTE,            /* FM_STATE: text for the log, nothing changed */
};

struct fleet_msg {
	uint32_t magic;
	uint8_t type;           /* enum fleet_type */
	uint8_t result;         /* enum fleet_result */
	uint16_t user_id;
	uint32_t seq;
	uint32_t ttl_ms;
	uint8_t key[SL_HMAC_LEN];
	char who[SL_NAME_MAX];
	char id[FLEET_ID_MAX];
	char text[FLEET_TEXT_MAX];
	struct grant_event ev;
};

/* ---- the runner's side -------------------------------------------------- */

struct fleet;
struct runner;

/*
 * In the runner process, after runner_new: fork siglatchd-fleet, which
 * starts reading the grant stream after the id in grants_dirfd's
 * fleet.last (from the beginning without one).  The fleet process is
 * registered with runner_keep_child and runner_set_fleet.  Returns 0 or an
 * SL_E* code.
 */
int fleet_start(struct fleet **out, const struct config *cfg,
    struct runner *rn, int grants_dirfd);
/* Descriptor to poll for POLLIN. */
int fleet_fd(const struct fleet *fl);
/*
 * An authorized request (SL_REQ_MAGIC): held until the store says whose
 * knock it is, then runner_submit or refused.  Without a fleet (fl NULL)
 * it goes to runner_submit at once.
 */
int fleet_submit(struct fleet *fl, struct runner *rn,
    const struct sl_request *req);
/* Read what the fleet process sent.  -1 when it is gone. */
int fleet_read(struct fleet *fl);
/* Requests whose time is up; milliseconds until the next one, -1: none. */
void fleet_service(struct fleet *fl);
int fleet_next_timeout_ms(const struct fleet *fl);
/* Close the channel, end and reap the fleet process. */
/* After a reload (same [fleet] section, reload.h): cfg is the one in use. */
void fleet_set_config(struct fleet *fl, const struct config *cfg);
void fleet_stop(struct fleet *fl);

/* ---- shared helpers (fleet.c), tested by tests/unit/test_fleet.c -------- */

/* "PREFIX" "replay:" "<user id>:" hex(key) into out. */
int fleet_replay_key(const char *prefix, uint16_t user_id,
    const uint8_t key[SL_HMAC_LEN], char *out, size_t outlen);
/* Stream ids "ms-seq": is a > b?  false for ids that do not parse. */
bool fleet_id_after(const char *a, const char *b);
bool fleet_id_valid(const char *id);
/* Backoff after n failures in a row (n >= 1): 100 ms doubling to 5 s. */
uint32_t fleet_backoff_ms(unsigned n);

/* ---- the store (fleetstore.c, hiredis) ---------------------------------- */

struct fstore;

/* Connect, AUTH (with the password file's user, if any), SELECT.  NULL
 * with a message in err: "store refused the password (WRONGPASS ...)". */
struct fstore *fstore_open(const struct cfg_fleet *f, uint32_t timeout_ms,
    char *err, size_t errlen);
void fstore_close(struct fstore *s);
/* The connection's socket: readable while no command is in flight means
 * the store closed it. */
int fstore_fd(const struct fstore *s);
/* INFO server: redis_version (or valkey_version). */
int fstore_version(struct fstore *s, char *out, size_t outlen, char *err,
    size_t errlen);
/* SET key name NX PX ttl: FR_OURS; or FR_TAKEN with the holder in who
 * ("?" if it lapsed meanwhile); or SL_ESYS (err says why). */
int fstore_claim(struct fstore *s, const char *key, const char *name,
    uint32_t ttl_ms, char *who, size_t wholen, char *err, size_t errlen);
/* XADD stream MINID ~ minid_ms * gateway .. op ..: 0 or SL_ESYS. */
int fstore_publish(struct fstore *s, const char *stream,
    const struct grant_event *ev, int64_t minid_ms, char *err, size_t errlen);
/*
 * XREAD BLOCK block_ms COUNT n STREAMS stream lastid: each entry that
 * parses goes to cb; lastid moves past every entry seen, good or not.
 * Returns the number of entries, or SL_ESYS.
 */
int fstore_read(struct fstore *s, const char *stream, char *lastid,
    size_t idlen, uint32_t block_ms,
    void (*cb)(void *, const char *, const struct grant_event *), void *arg,
    char *err, size_t errlen);
/* Parse one entry's field/value pairs into ev: 0 or SL_EINVAL. */
int fleet_parse_entry(const char *const *fv, size_t n,
    struct grant_event *ev);

/*
 * siglatchd -t: connect, print "fleet: gateway NAME, store ADDRESS: redis
 * VERSION" to out.  0, or SL_ESYS with the reason in err.
 */
int fleet_test(const struct config *cfg, FILE *out, char *err, size_t errlen);

#endif
