/*
 * gate2.c - format-2 admission after the MAC (gate2.h).
 *
 * The outcome table is open addressing over GATE2_ENTRIES slots, probed
 * GATE2_PROBE slots from the MAC's first bytes (a MAC is an HMAC output
 * under a key holder's key: nobody else can aim at a slot).  A full probe
 * window replaces its oldest entry: forgetting one costs at most one more
 * private-key operation for a copy, never a wrong acceptance (the replay
 * cache decides that).  The user budget is a token bucket per user.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gate2.h"

#define GATE2_PROBE     8
#define GATE2_FLIGHT_MS 30000   /* a job lost in flight is forgotten */
#define GATE2_MILLI     1000u   /* token fixed point */

/* GS_FLIGHT: addr is the source of the copy being decrypted; GS_BOUND:
 * the address the knock names; GS_FROM: the source it was refused from */
enum { GS_FREE = 0, GS_FLIGHT, GS_DEAD, GS_BOUND, GS_FROM };

struct gate2_slot {
	uint8_t mac[16];
	uint64_t expires_ms;
	struct sl_addr addr;
	uint8_t state;
	uint8_t decrypts;
};

struct gate2_user {
	uint64_t last_ms;
	uint64_t milli;         /* tokens x 1000 */
};

struct gate2 {
	struct gate2_slot slots[GATE2_ENTRIES];
	struct gate2_user *users;
	unsigned nusers;
	uint64_t cap_milli;     /* budget x 1000 */
	uint32_t window_ms, ttl_ms;
	struct gate2_stats st;
};

int
gate2_new(struct gate2 **out, unsigned users, uint32_t budget,
    uint32_t window_ms, uint32_t ttl_ms)
{
	struct gate2 *g;
	unsigned i;

	*out = NULL;
	if (budget > 0 && window_ms == 0)
		return SL_EINVAL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return SL_ESYS;
	if (users > 0 && (g->users = calloc(users, sizeof(*g->users))) == NULL) {
		free(g);
		return SL_ESYS;
	}
	g->nusers = users;
	g->cap_milli = (uint64_t)budget * GATE2_MILLI;
	g->window_ms = window_ms;
	g->ttl_ms = ttl_ms;
	for (i = 0; i < users; i++)
		g->users[i].milli = g->cap_milli;
	*out = g;
	return 0;
}

void
gate2_free(struct gate2 *g)
{
	if (g == NULL)
		return;
	free(g->users);
	free(g);
}

static uint32_t
gate2_index(const uint8_t mac[K2_MAC_LEN])
{
	return ((uint32_t)mac[0] | (uint32_t)mac[1] << 8) % GATE2_ENTRIES;
}

/* The slot holding mac, or NULL. */
static struct gate2_slot *
gate2_find(struct gate2 *g, const uint8_t mac[K2_MAC_LEN], uint64_t now_ms)
{
	uint32_t i, j;
	struct gate2_slot *s;

	for (j = 0, i = gate2_index(mac); j < GATE2_PROBE;
	    j++, i = (i + 1) % GATE2_ENTRIES) {
		s = &g->slots[i];
		if (s->state != GS_FREE && s->expires_ms <= now_ms)
			s->state = GS_FREE;
		if (s->state != GS_FREE && memcmp(s->mac, mac, 16) == 0)
			return s;
	}
	return NULL;
}

/* A slot for a new entry: a free one, else the one that expires first. */
static struct gate2_slot *
gate2_take(struct gate2 *g, const uint8_t mac[K2_MAC_LEN])
{
	struct gate2_slot *s, *old = NULL;
	uint32_t i, j;

	for (j = 0, i = gate2_index(mac); j < GATE2_PROBE;
	    j++, i = (i + 1) % GATE2_ENTRIES) {
		s = &g->slots[i];
		if (s->state == GS_FREE)
			return s;
		if (old == NULL || s->expires_ms < old->expires_ms)
			old = s;
	}
	g->st.evictions++;
	return old;
}

/* Refill the user's bucket; true if a token was taken. */
static bool
gate2_token(struct gate2 *g, unsigned user, uint64_t now_ms)
{
	struct gate2_user *u;
	uint64_t add;

	if (user >= g->nusers)
		return false;
	if (g->cap_milli == 0)
		return true;  /* no budget */
	u = &g->users[user];
	if (now_ms > u->last_ms) {
		add = (now_ms - u->last_ms) * g->cap_milli / g->window_ms;
		u->milli = u->milli + add > g->cap_milli ? g->cap_milli :
		    u->milli + add;
		u->last_ms = now_ms;
	}
	if (u->milli < GATE2_MILLI)
		return false;
	u->milli -= GATE2_MILLI;
	return true;
}

enum gate2_verdict
gate2_admit(struct gate2 *g, unsigned user, const uint8_t mac[K2_MAC_LEN],
    const struct sl_addr *src, uint64_t now_ms)
{
	struct gate2_slot *s = gate2_find(g, mac, now_ms);

	if (s != NULL) {
		switch (s->state) {
		case GS_FLIGHT:
			/* the same copy again waits for the first; a copy from
			 * elsewhere may be the one that names its source, raced
			 * by a copy captured on the path: it goes on too */
			if (addr_equal(&s->addr, src) ||
			    s->decrypts >= GATE2_DECRYPTS_MAX) {
				g->st.copies++;
				return G2_COPY;
			}
			break;
		case GS_DEAD:
			g->st.copies++;
			return G2_COPY;
		case GS_BOUND:
			/* only from the address it names: there it is decided
			 * (and recorded) by the first copy that gets through */
			if (!addr_equal(&s->addr, src)) {
				g->st.elsewhere++;
				return G2_ELSEWHERE;
			}
			break;
		case GS_FROM:
			if (addr_equal(&s->addr, src) ||
			    s->decrypts >= GATE2_DECRYPTS_MAX) {
				g->st.elsewhere++;
				return G2_ELSEWHERE;
			}
			break;
		default:
			break;
		}
	}
	if (!gate2_token(g, user, now_ms)) {
		g->st.budget++;
		return G2_BUDGET;
	}
	if (s == NULL) {
		s = gate2_take(g, mac);
		memset(s, 0, sizeof(*s));
		memcpy(s->mac, mac, sizeof(s->mac));
	}
	s->state = GS_FLIGHT;
	s->addr = *src;
	if (s->decrypts < UINT8_MAX)
		s->decrypts++;
	s->expires_ms = now_ms + GATE2_FLIGHT_MS;
	return G2_PASS;
}

void
gate2_done(struct gate2 *g, const uint8_t mac[K2_MAC_LEN],
    enum gate2_outcome o, const struct sl_addr *addr, uint64_t now_ms)
{
	struct gate2_slot *s = gate2_find(g, mac, now_ms);

	if (s == NULL)
		return;  /* replaced meanwhile: the next copy costs one more */
	switch (o) {
	case G2_RECORDED:
		s->state = GS_FREE;
		return;
	case G2_DEAD:
		s->state = GS_DEAD;
		break;
	case G2_BOUND:
		s->state = GS_BOUND;
		s->addr = *addr;
		break;
	case G2_FROM:
		s->state = GS_FROM;
		s->addr = *addr;
		break;
	}
	s->expires_ms = now_ms + g->ttl_ms;
}

const struct gate2_stats *
gate2_get_stats(const struct gate2 *g)
{
	return &g->st;
}
