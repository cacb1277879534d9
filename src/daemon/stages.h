/*
 * stages.h - the receive path, one stage per file, data flowing one way:
 *
 *   net_recv_batch (net.c) -> filter_check (filter.c) -> crypto_dec_knock
 *   (crypto.c) -> wire_decode (wire.c) -> verify_knock (verify.c) ->
 *   replay_check_and_add (replay.c) -> authz_check (authz.c) ->
 *   runner_submit (runner.c)
 *
 * That is format 1.  A format-2 knock (knock2.h) goes from filter_check
 * through gate2.c and k2_open (knock2.c) instead of crypto_dec_knock ..
 * verify_knock, then to the same authz_check and replay_check_and_add
 * (in that order; pipeline.c says which refusals are recorded).
 * pipeline.c strings them together and owns the counters and the log
 * lines about packets: one row for each outcome in its table (pl_rows).
 */
#ifndef SL_STAGES_H
#define SL_STAGES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "config.h"
#include "request.h"
#include "wire.h"

/*
 * Stage 1, cheap checks before any cryptography, in this order: exact
 * length (wrong sizes never reach a table), the source's and its prefix's
 * failure budget and the global private-key budget (ratelimit.c), then an
 * exact duplicate of a recent datagram (dupcache.c; charged to nobody).
 * 0: go on, and the datagram has paid one failure into its source's and
 * its prefix's budgets (see filter_refund); SL_ELEN, SL_ERATE (*why says
 * which budget: enum rl_verdict) or SL_EDUP.
 */
struct filter;
int filter_new(struct filter **out, const struct config *cfg);
void filter_free(struct filter *f);
int filter_check(struct filter *f, const uint8_t *dgram, size_t len,
    const struct sl_addr *src, uint64_t now_ms, int *why);
/* What became of a packet: good (a fresh authenticated knock, either
 * format: the source is known good) or not (a format-1 packet that passed
 * filter_check and failed: a spent budget becomes a penalty, logged as
 * SL209). */
void filter_outcome(struct filter *f, const struct sl_addr *src, int good,
    uint64_t now_ms);
/* Format 1: a packet that passed filter_check proved nothing against its
 * source (it authenticated, or the server could not record it): give back
 * what it paid. */
void filter_refund(struct filter *f, const struct sl_addr *src,
    uint64_t now_ms);
struct rl_stats;
const struct rl_stats *filter_rl_stats(const struct filter *f);
/* Also drop penalised sources in the kernel (sockfilter.h): each penalty a
 * source itself is given is copied into the socket filter's block map,
 * unless the source is known good (it keeps a trickle in user space), and
 * taken out again when the source authenticates (format 2 passes the
 * block map).  sf NULL: user space only.  A failed update is logged once,
 * then no more are tried (the user-space check still drops the source). */
struct sockfilter;
void filter_set_sockfilter(struct filter *f, struct sockfilter *sf);

/*
 * Steps 3-5 of the receive path.  prior is the result of decryption and
 * decoding; whatever it is, an HMAC is computed (with dummy_key when there
 * is no enabled user) so that every failure up to here costs the same and
 * returns the same SL_EAUTH.  Past the HMAC, the sender is authenticated:
 * SL_ESTALE for a timestamp outside +-window.  *user is set once the HMAC
 * verified.
 */
/*
 * What made a format-1 packet fail before it authenticated, for the log
 * and the counters only: the packet takes the same steps, the same time
 * and the same SL_EAUTH whatever it is.
 */
enum verify_why {
	VW_NONE = 0,
	VW_DECRYPT,      /* did not decrypt with this server's key */
	VW_MALFORMED,    /* decrypted, but not a knock (length, payload_len) */
	VW_VERSION,      /* decrypted, wire version not 1 */
	VW_UNKNOWN_USER, /* no [user:*] with this id */
	VW_DISABLED,     /* the user has enabled = no */
	VW_HMAC,         /* the user's HMAC key does not verify it */
	VW_NREASONS
};
/* A short name ("decrypt", "unknown_user", ...) for counters and labels. */
const char *verify_why_name(int why);
int verify_knock(struct wire_mac *mac, const struct config *cfg,
    const uint8_t dummy_key[SL_HMAC_KEY_LEN], int prior,
    const struct wire_knock *k, time_t now, const struct cfg_user **user,
    int *why);

/*
 * Step 7: may this user run this action on this server from src?  Fills
 * *req on success.  SL_EDENIED, or SL_ENOTASCII for require_ascii.
 * *discarded is set when discard_payload emptied the payload.
 */
int authz_check(const struct config *cfg, unsigned server_idx,
    const struct cfg_user *user, const struct wire_knock *k,
    const struct sl_addr *src, struct sl_request *req, int *discarded);
/* The part of authz_check that does not look at the address: the action
 * exists and is enabled, and the user's and the server's lists name it.
 * 0 or SL_EDENIED. */
int authz_lists(const struct config *cfg, unsigned server_idx,
    const struct cfg_user *user, uint8_t action_id);
/* Why authz_check said SL_EDENIED, for the log line (SL204): "no action
 * has this id", "not in the user's actions", "address outside the
 * server's allowed_ips", ...; *code is a short form ("user_actions"). */
const char *authz_reason(const struct config *cfg, unsigned server_idx,
    const struct cfg_user *user, uint8_t action_id,
    const struct sl_addr *src, const char **code);

#endif
