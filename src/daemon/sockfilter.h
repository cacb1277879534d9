/*
 * sockfilter.h - an in-kernel (eBPF) socket filter for the knock sockets:
 * drops datagrams whose UDP payload is neither SL_DGRAM_LEN (256, format
 * 1) nor K2_DGRAM_LEN (559, format 2) bytes, SL_DGRAM_LEN-byte datagrams
 * from a blocked (penalised) source, and, once tag filtering is switched
 * on, K2_DGRAM_LEN-byte datagrams whose tag (the payload's first
 * K2_TAG_LEN bytes) is not in the tag map, before they are queued on the
 * socket; and counts every verdict in per-CPU counters.  The block map
 * never applies to format 2: a source's v1 penalty does not stop its
 * format-2 knocks.
 *
 * One filter (one program, one counter map, one block map) can be attached
 * to any number of UDP sockets, AF_INET or AF_INET6 (dual-stack included:
 * IPv4 and v4-mapped IPv6 sources are the same block entry).
 *
 * What the program sees: for UDP the kernel runs socket filters with the
 * UDP header still in front of the payload, so the length it sees is
 * 8 + payload (264 for a v1 knock, 567 for a format-2 one); see
 * sockfilter.c.
 *
 * Privileges: sockfilter_new needs CAP_BPF (or CAP_SYS_ADMIN) when
 * kernel.unprivileged_bpf_disabled is set, and returns SL_ENOTSUP
 * when the kernel refuses (no permission, no bpf(2), map type or helper
 * unknown, verifier rejects): fall back to user-space filtering then.
 * sockfilter_block / _unblock / _tag_add / _tag_del / _tags_enable /
 * _counters only use the already-open map file descriptors (bpf(2)
 * BPF_MAP_UPDATE_ELEM / _DELETE_ELEM / _LOOKUP_ELEM), which Linux >= 6.5
 * allows without any capability.
 *
 * Nothing here allocates after sockfilter_new.
 */
#ifndef SL_SOCKFILTER_H
#define SL_SOCKFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "sl.h"

/*
 * The largest tag map: every user (SL_MAX_USERS, 1024) for every epoch the
 * widest timestamp window allows (3600 s: floor(2 * 3600 / 30) + 2 = 242
 * epochs) is 247,808; 2^18 = 262,144 leaves room for the next epoch's
 * tags going in before the oldest come out.  The map is not
 * preallocated, so its memory follows the tags in it (about 100 bytes
 * each), not this bound.
 */
#define SOCKFILTER_TAGS_MAX (1u << 18)

/* The program's verdict counters, summed over CPUs.  The layout is the
 * per-CPU map value: append only. */
struct sockfilter_counts {
	uint64_t dropped_length;  /* UDP payload neither 256 nor 559 bytes */
	uint64_t dropped_blocked; /* 256 bytes, source blocked and not expired */
	uint64_t passed;          /* 256 bytes, source not blocked: queued */
	uint64_t passed_noaddr;   /* 256 or 559 bytes, but the source address
	                           * or the tag could not be read (cannot
	                           * happen for IPv4/IPv6 UDP): queued */
	uint64_t dropped_tag;     /* 559 bytes, tags on, tag not in the map */
	uint64_t passed_k2;       /* 559 bytes, tags off or tag known: queued */
};

struct sockfilter;

/* Create the maps and load the program.  block_entries: size of the block
 * map (an LRU hash: when full, the least recently used entry is evicted, so
 * a block may be forgotten early; the user-space rate limiter still drops
 * such a source).  tag_entries: most tags the tag map holds, 1 ..
 * SOCKFILTER_TAGS_MAX.  Tag filtering starts off.  0 or SL_ENOTSUP
 * (the kernel will not: filter in user space) / SL_ESYS / SL_EINVAL, with a message in err (the verifier's log when
 * it rejects the program). */
int sockfilter_new_k2(struct sockfilter **out, uint32_t block_entries,
    uint32_t tag_entries, char *err, size_t errlen);
/* sockfilter_new_k2 with a one-entry tag map, for a daemon that never
 * switches tags on (559-byte datagrams all pass to user space). */
int sockfilter_new(struct sockfilter **out, uint32_t block_entries,
    char *err, size_t errlen);
/* SO_ATTACH_BPF on a UDP socket; replaces any filter it had.  0, or SL_ESYS
 * with errno set (the program is not attached then). */
int sockfilter_attach(struct sockfilter *sf, int fd);
/* Drop SL_DGRAM_LEN-byte datagrams from a until CLOCK_MONOTONIC time
 * until_mono_ns (the kernel compares with bpf_ktime_get_ns()). */
int sockfilter_block(struct sockfilter *sf, const struct sl_addr *a,
    uint64_t until_mono_ns);
/* 0, or SL_ENOENT when a was not blocked. */
int sockfilter_unblock(struct sockfilter *sf, const struct sl_addr *a);
/*
 * The tag map: K2_TAG_LEN (8) bytes, exactly as they are at the start of
 * a format-2 datagram.  add: 0, SL_EFULL when the map holds tag_entries
 * tags already, SL_ESYS (errno); adding a tag already there is 0.  del:
 * 0, SL_ENOENT when it was not there, SL_ESYS.
 */
int sockfilter_tag_add(struct sockfilter *sf, const uint8_t tag[8]);
int sockfilter_tag_del(struct sockfilter *sf, const uint8_t tag[8]);
/*
 * Tag filtering on: a 559-byte datagram whose tag is not in the map is
 * dropped (dropped_tag).  Off (the start): every 559-byte datagram is
 * queued untested (passed_k2), for user space to check.  Switch it on
 * only once the map holds every tag user space would accept.  0 or SL_ESYS.
 */
int sockfilter_tags_enable(struct sockfilter *sf, bool on);
int sockfilter_counters(struct sockfilter *sf, struct sockfilter_counts *out);
/* The program's file descriptor (for BPF_PROG_TEST_RUN in the benchmark,
 * or attaching by other means); owned by sf. */
int sockfilter_prog_fd(const struct sockfilter *sf);
/* Closes the file descriptors; sockets it is attached to keep the program
 * (and its maps) until they are closed or the filter is detached. */
void sockfilter_free(struct sockfilter *sf);

#endif
