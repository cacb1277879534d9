/*
 * tags.c - the format-2 tag table (tags.h).
 *
 * The tags of each user are kept in a ring of nep epochs (nep covers the
 * widest window the configuration allows), so that when the window moves
 * only the epochs entering it are computed.  The lookup table is open
 * addressing with linear probing, at most half full, rebuilt from the ring
 * whenever the window moves (memory operations only).  Tags are HMAC
 * outputs under keys nobody outside holds, so their low bits index the
 * table directly: a probe for a forged tag finds an empty slot, or a short
 * chain of real entries, whatever the forger chooses.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"
#include "tags.h"

struct tag_slot {
	uint64_t tag;       /* the 8 tag bytes as stored in memory */
	uint64_t epoch;
	uint32_t user;
	uint32_t used;
};

struct tags {
	const struct config *cfg;
	unsigned nusers;            /* cfg->nusers */
	unsigned nep;               /* epochs kept per user */
	bool *live;                 /* [nusers]: enabled, key loaded */
	unsigned nlive;
	struct k2_userkeys *keys;   /* [nusers] */
	struct k2_hmac **macs;      /* [nusers]: HMAC bound to each K_mac */
	uint64_t *ring;             /* [nusers * nep], by epoch % nep */
	struct tag_slot *slots;
	uint32_t mask;
	unsigned count;
	bool have;                  /* lo..hi are in the ring */
	uint64_t lo, hi;
	struct k2_hmac *h;
};

int
tags_new(struct tags **out, const struct config *cfg)
{
	struct tags *t;
	size_t want, n = 64;
	unsigned i;
	int rc = SL_ESYS;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return SL_ESYS;
	t->cfg = cfg;
	t->nusers = cfg->nusers;
	t->nep = 2 * cfg->timestamp_window / K2_EPOCH_SECS + 2;
	if (t->nusers > 0 &&
	    ((t->live = calloc(t->nusers, sizeof(*t->live))) == NULL ||
	    (t->keys = calloc(t->nusers, sizeof(*t->keys))) == NULL ||
	    (t->macs = calloc(t->nusers, sizeof(*t->macs))) == NULL ||
	    (t->ring = calloc((size_t)t->nusers * t->nep,
	    sizeof(*t->ring))) == NULL))
		goto fail;
	if ((rc = k2_hmac_new(&t->h)) != 0)
		goto fail;
	for (i = 0; i < t->nusers; i++) {
		const struct cfg_user *u = &cfg->users[i];

		if (!u->enabled || u->id < 0)
			continue;
		if ((rc = k2_derive_user(u->hmac_key, &t->keys[i])) != 0 ||
		    (rc = k2_mac_keyed_new(t->keys[i].mac_key,
		    &t->macs[i])) != 0)
			goto fail;
		t->live[i] = true;
		t->nlive++;
	}
	want = 2 * (size_t)t->nlive * t->nep;
	while (n < want)
		n <<= 1;
	rc = SL_ESYS;
	if ((t->slots = calloc(n, sizeof(*t->slots))) == NULL)
		goto fail;
	t->mask = (uint32_t)(n - 1);
	*out = t;
	return 0;
fail:
	tags_free(t);
	return rc;
}

void
tags_free(struct tags *t)
{
	if (t == NULL)
		return;
	if (t->keys != NULL)
		OPENSSL_cleanse(t->keys, (size_t)t->nusers * sizeof(*t->keys));
	free(t->keys);
	for (unsigned i = 0; t->macs != NULL && i < t->nusers; i++)
		k2_hmac_free(t->macs[i]);
	free(t->macs);
	free(t->live);
	free(t->ring);
	free(t->slots);
	k2_hmac_free(t->h);
	free(t);
}

static uint64_t *
tags_at(const struct tags *t, unsigned user, uint64_t epoch)
{
	return &t->ring[(size_t)user * t->nep + (size_t)(epoch % t->nep)];
}

static void
tags_insert(struct tags *t, uint64_t tag, uint64_t epoch, unsigned user)
{
	uint32_t i;

	for (i = (uint32_t)tag & t->mask; t->slots[i].used;
	    i = (i + 1) & t->mask)
		;
	t->slots[i].tag = tag;
	t->slots[i].epoch = epoch;
	t->slots[i].user = user;
	t->slots[i].used = 1;
	t->count++;
}

static void
tags_sync_epoch(const struct tags *t, uint64_t e, tags_sync_fn *sync,
    void *arg, bool add)
{
	unsigned u;

	for (u = 0; u < t->nusers; u++)
		if (t->live[u])
			sync(arg, (const uint8_t *)tags_at(t, u, e), add);
}

unsigned
tags_update(struct tags *t, time_t now, tags_sync_fn *sync, void *arg)
{
	int64_t w = (int64_t)t->cfg->timestamp_window, n = (int64_t)now;
	uint64_t lo, hi, e;
	unsigned u, entered = 0;
	uint8_t tag[K2_TAG_LEN];

	lo = n - w > 0 ? k2_epoch((uint64_t)(n - w)) : 0;
	hi = n + w > 0 ? k2_epoch((uint64_t)(n + w)) : 0;
	if (t->have && lo == t->lo && hi == t->hi)
		return 0;
	/* leaving first: an entering epoch may take a leaving one's place */
	for (e = t->lo; t->have && e <= t->hi; e++)
		if ((e < lo || e > hi) && sync != NULL)
			tags_sync_epoch(t, e, sync, arg, false);
	for (e = lo; e <= hi; e++) {
		if (t->have && e >= t->lo && e <= t->hi)
			continue;
		for (u = 0; u < t->nusers; u++) {
			if (!t->live[u])
				continue;
			if (k2_tag(t->h, t->keys[u].tag_key, e, tag) != 0) {
				/* cannot happen short of memory: that user
				 * cannot knock with format 2 this epoch */
				log_limited(0, LOG_ERR, SLC_SYSERR, "format 2: "
				    "cannot compute a tag; user %s skipped",
				    t->cfg->users[u].name);
				memset(tag, 0, sizeof(tag));
			}
			memcpy(tags_at(t, u, e), tag, sizeof(tag));
		}
		if (sync != NULL)
			tags_sync_epoch(t, e, sync, arg, true);
		entered++;
	}
	t->lo = lo;
	t->hi = hi;
	t->have = true;
	memset(t->slots, 0, ((size_t)t->mask + 1) * sizeof(*t->slots));
	t->count = 0;
	for (e = lo; e <= hi; e++)
		for (u = 0; u < t->nusers; u++)
			if (t->live[u])
				tags_insert(t, *tags_at(t, u, e), e, u);
	return entered;
}

void
tags_each(const struct tags *t, tags_sync_fn *sync, void *arg)
{
	uint64_t e;

	for (e = t->lo; t->have && e <= t->hi; e++)
		tags_sync_epoch(t, e, sync, arg, true);
}

unsigned
tags_lookup(const struct tags *t, const uint8_t tag[K2_TAG_LEN],
    struct tag_hit *hits, unsigned max)
{
	uint64_t v;
	uint32_t i;
	unsigned n = 0;

	memcpy(&v, tag, sizeof(v));
	for (i = (uint32_t)v & t->mask; t->slots[i].used;
	    i = (i + 1) & t->mask) {
		if (t->slots[i].tag != v || n >= max)
			continue;
		hits[n].user = t->slots[i].user;
		hits[n].epoch = t->slots[i].epoch;
		n++;
	}
	return n;
}

int
tags_mac_verify(const struct tags *t, unsigned user,
    const uint8_t dgram[K2_DGRAM_LEN])
{
	if (user >= t->nusers || !t->live[user])
		return SL_EAUTH;
	return k2_mac_verify_keyed(t->macs[user], dgram);
}

const struct k2_userkeys *
tags_keys(const struct tags *t, unsigned user)
{
	return user < t->nusers && t->live[user] ? &t->keys[user] : NULL;
}

unsigned
tags_count(const struct tags *t)
{
	return t->count;
}
