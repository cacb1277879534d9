/*
 * filter.c - stage 1: what can be decided before any cryptography, for the
 * price of a hash lookup.  Wrong sizes first (they touch no table), then
 * the per-source, per-prefix and global budgets (read only), then
 * duplicates, and only then, for a datagram that goes on to decryption,
 * the payment into the source's and the prefix's budgets (ratelimit.h).
 * A duplicate is dropped without charging anyone: whoever sent it first
 * paid, and the address a copy claims is anyone's to claim.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dupcache.h"
#include "log.h"
#include "ratelimit.h"
#include "sockfilter.h"
#include "sl.h"
#include "stages.h"
#include "util.h"

struct filter {
	struct rl *rl;
	struct dupcache *dup;   /* NULL when dup_cache_size = 0 */
	struct sockfilter *sf;  /* NULL: no kernel filter */
	struct rl_config rc;    /* for the log */
};

void
filter_set_sockfilter(struct filter *f, struct sockfilter *sf)
{
	f->sf = sf;
}

/* "192.0.2.0/24", "2001:db8:1:2::/64" */
static void
filter_prefix_str(const struct sl_addr *a, char *out, size_t outlen)
{
	struct sl_addr p = *a;
	char ip[SL_IPSTR_MAX];
	unsigned keep = a->family == AF_INET ? 3 : 8;

	memset(p.bytes + keep, 0, sizeof(p.bytes) - keep);
	addr_to_str(&p, ip, sizeof(ip));
	snprintf(out, outlen, "%s/%u", ip, keep * 8);
}

static void
filter_kernel_failed(struct filter *f, const char *what)
{
	log_msg(LOG_WARNING, SLC_SYSERR, "kernel filter: cannot %s (%s); "
	    "penalties are now enforced in user space only", what,
	    strerror(errno));
	f->sf = NULL;
}

/*
 * A failure: a spent budget becomes a penalty, logged (SL209, flood
 * limited), and copied to the kernel for a source that is not known good.
 */
static void
filter_fail(struct filter *f, const struct sl_addr *src, uint64_t now_ms)
{
	struct rl_penalty pen[2];
	char who[SL_IPSTR_MAX + 8], tail[80] = "";
	uint64_t until = rl_fail_report(f->rl, src, now_ms, pen);

	if (until != 0 && f->sf != NULL) {
		if (sockfilter_block(f->sf, src, until * 1000000u) == 0)
			sl_strlcpy(tail, ", in the kernel too", sizeof(tail));
		else
			filter_kernel_failed(f, "add a penalised source");
	}
	if (pen[0].until != 0) {
		if (pen[0].known_good)
			snprintf(tail, sizeof(tail), "; known good, so still "
			    "decrypted on a trickle (%u a second)",
			    f->rc.trickle_per_sec);
		addr_to_str(src, who, sizeof(who));
		log_limited(0, LOG_NOTICE, SLC_PENALTY, "penalty: %s dropped "
		    "for %llu s: more than %u failed format-1 packets in %u s "
		    "(offence %u)%s", who,
		    (unsigned long long)((pen[0].len_ms + 999) / 1000),
		    f->rc.source_budget, f->rc.window_ms / 1000u,
		    pen[0].offences, tail);
	}
	if (pen[1].until != 0) {
		filter_prefix_str(src, who, sizeof(who));
		log_limited(0, LOG_NOTICE, SLC_PENALTY, "penalty: prefix %s "
		    "dropped for %llu s: more than %u failed format-1 packets "
		    "in %u s (offence %u); known-good sources in it are spared, "
		    "the others share a trickle (%u a second)", who,
		    (unsigned long long)((pen[1].len_ms + 999) / 1000),
		    f->rc.prefix_budget, f->rc.window_ms / 1000u,
		    pen[1].offences, f->rc.trickle_per_sec);
	}
}

int
filter_new(struct filter **out, const struct config *cfg)
{
	struct rl_config rc = {
		.source_budget = cfg->ratelimit_source_budget,
		.prefix_budget = cfg->ratelimit_prefix_budget,
		.window_ms = cfg->ratelimit_window * 1000u,
		.penalty_ms = cfg->ratelimit_penalty * 1000u,
		.penalty_max_ms = cfg->ratelimit_penalty_max * 1000u,
		.good_ms = cfg->ratelimit_good_time * 1000u,
		.global_per_sec = cfg->max_decrypts_per_sec,
		.table_entries = cfg->ratelimit_table_size,
		.trickle_per_sec = RL_TRICKLE_DEFAULT,
	};
	struct filter *f;
	int r;

	*out = NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return SL_ESYS;
	f->rc = rc;
	if ((r = rl_new(&f->rl, &rc)) != 0 ||
	    (cfg->dup_cache_size > 0 && (r = dup_new(&f->dup,
	    cfg->dup_cache_size, cfg->timestamp_window * 1000u)) != 0)) {
		filter_free(f);
		return r;
	}
	*out = f;
	return 0;
}

void
filter_free(struct filter *f)
{
	if (f == NULL)
		return;
	rl_free(f->rl);
	dup_free(f->dup);
	free(f);
}

int
filter_check(struct filter *f, const uint8_t *dgram, size_t len,
    const struct sl_addr *src, uint64_t now_ms, int *why)
{
	enum rl_verdict v;

	*why = RL_PASS;
	if (len != SL_DGRAM_LEN)
		return SL_ELEN;
	if ((v = rl_peek(f->rl, src, now_ms)) != RL_PASS) {
		*why = (int)v;
		return SL_ERATE;
	}
	if (f->dup != NULL && dup_seen(f->dup, dgram, len, now_ms))
		return SL_EDUP;
	/* on to decryption: pay now, so that a burst gets no more than the
	 * budget whatever is still in flight (the same verdict as rl_peek's:
	 * nothing has changed since) */
	if ((v = rl_check(f->rl, src, now_ms)) != RL_PASS) {
		*why = (int)v;
		return SL_ERATE;
	}
	return 0;
}

void
filter_outcome(struct filter *f, const struct sl_addr *src, int good,
    uint64_t now_ms)
{
	char ip[SL_IPSTR_MAX];
	int r;

	if (!good) {
		filter_fail(f, src, now_ms);
		return;
	}
	if (!rl_good(f->rl, src, now_ms))
		return;
	/* authenticated in a penalty of its own: on a trickle from now on,
	 * so not in the kernel's block map (where it is, if its penalty
	 * began before it was known good) */
	if (f->sf != NULL && (r = sockfilter_unblock(f->sf, src)) != 0 &&
	    r != SL_ENOENT)
		filter_kernel_failed(f, "remove a source that authenticated");
	addr_to_str(src, ip, sizeof(ip));
	log_limited(0, LOG_NOTICE, SLC_PENALTY, "penalty: %s authenticated "
	    "during its penalty: known good, still decrypted on a trickle "
	    "(%u a second)", ip, f->rc.trickle_per_sec);
}

void
filter_refund(struct filter *f, const struct sl_addr *src, uint64_t now_ms)
{
	rl_refund(f->rl, src, now_ms);
}

const struct rl_stats *
filter_rl_stats(const struct filter *f)
{
	return rl_get_stats(f->rl);
}
