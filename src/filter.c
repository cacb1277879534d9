/*
 * filter.c - stage 1: what can be decided before any cryptography, for the
 * price of a hash lookup.  Wrong sizes first (they touch no table), then
 * the per-source, per-prefix and global budgets, then duplicates.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dupcache.h"
#include "log.h"
#include "ratelimit.h"
#include "sockfilter.h"
#include "sl.h"
#include "stages.h"

struct filter {
	struct rl *rl;
	struct dupcache *dup;   /* NULL when dup_cache_size = 0 */
	struct sockfilter *sf;  /* NULL: no kernel filter */
};

void
filter_set_sockfilter(struct filter *f, struct sockfilter *sf)
{
	f->sf = sf;
}

/* A failure: charge it; a new penalty for the source goes to the kernel. */
static void
filter_fail(struct filter *f, const struct sl_addr *src, uint64_t now_ms)
{
	uint64_t until = rl_fail(f->rl, src, now_ms);

	if (until == 0 || f->sf == NULL)
		return;
	if (sockfilter_block(f->sf, src, until * 1000000u) != 0) {
		log_msg(LOG_WARNING, SLC_SYSERR, "kernel filter: cannot add a "
		    "penalised source (%s); penalties are now enforced in "
		    "user space only", strerror(errno));
		f->sf = NULL;
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
	};
	struct filter *f;
	int r;

	*out = NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return SL_ESYS;
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
	if ((v = rl_check(f->rl, src, now_ms)) != RL_PASS) {
		*why = (int)v;
		return SL_ERATE;
	}
	if (f->dup != NULL && dup_seen(f->dup, dgram, len, now_ms)) {
		filter_fail(f, src, now_ms);  /* replaying counts as failing */
		return SL_EDUP;
	}
	return 0;
}

void
filter_outcome(struct filter *f, const struct sl_addr *src, int good,
    uint64_t now_ms)
{
	if (good)
		rl_good(f->rl, src, now_ms);
	else
		filter_fail(f, src, now_ms);
}

const struct rl_stats *
filter_rl_stats(const struct filter *f)
{
	return rl_get_stats(f->rl);
}
