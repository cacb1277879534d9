/*
 * tags.h - the format-2 tag table: for every enabled user, the tag of each
 * epoch that the timestamp window allows (knock2.h), so that a 559-byte
 * datagram finds its candidate users by one lookup before any other work.
 *
 * Owns the users' derived format-2 keys (K_tag, K_mac).  Fixed memory,
 * allocated by tags_new; tags_update computes only the tags of epochs that
 * enter the window.  Main thread only.
 */
#ifndef SL_TAGS_H
#define SL_TAGS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "knock2.h"

struct tags;

struct tag_hit {
	unsigned user;      /* index into cfg->users */
	uint64_t epoch;
};

#define TAGS_HITS_MAX 8     /* candidates returned for one tag */

/* Told of each tag that enters (add) or leaves the table (the kernel
 * filter keeps a copy). */
typedef void tags_sync_fn(void *arg, const uint8_t tag[K2_TAG_LEN], bool add);

int tags_new(struct tags **out, const struct config *cfg);
void tags_free(struct tags *t);
/* Cover epochs floor((now - window) / 30) .. floor((now + window) / 30).
 * Returns how many epochs entered (0: nothing changed). */
unsigned tags_update(struct tags *t, time_t now, tags_sync_fn *sync,
    void *arg);
/* Replay every tag in the table through sync (a kernel map filled late). */
void tags_each(const struct tags *t, tags_sync_fn *sync, void *arg);
/* Candidates for tag: up to max hits, returns how many. */
unsigned tags_lookup(const struct tags *t, const uint8_t tag[K2_TAG_LEN],
    struct tag_hit *hits, unsigned max);
const struct k2_userkeys *tags_keys(const struct tags *t, unsigned user);
/* dgram's MAC under the user's K_mac (constant time): 0 or SL_EAUTH. */
int tags_mac_verify(const struct tags *t, unsigned user,
    const uint8_t dgram[K2_DGRAM_LEN]);
/* Tags in the table now. */
unsigned tags_count(const struct tags *t);

#endif
