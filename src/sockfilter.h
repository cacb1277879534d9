/*
 * sockfilter.h - an in-kernel (eBPF) socket filter for the knock sockets:
 * drops datagrams whose UDP payload is not SL_DGRAM_LEN bytes and
 * SL_DGRAM_LEN-byte datagrams from a blocked (penalised) source before they
 * are queued on the socket, and counts every verdict in per-CPU counters.
 *
 * One filter (one program, one counter map, one block map) can be attached
 * to any number of UDP sockets, AF_INET or AF_INET6 (dual-stack included:
 * IPv4 and v4-mapped IPv6 sources are the same block entry).
 *
 * What the program sees: for UDP the kernel runs socket filters with the
 * UDP header still in front of the payload, so the length it sees is
 * 8 + payload (264 for a knock); see docs in sockfilter.c.
 *
 * Privileges: sockfilter_new needs CAP_BPF (or CAP_SYS_ADMIN) when
 * kernel.unprivileged_bpf_disabled is set, and returns SOCKFILTER_ENOTSUP
 * when the kernel refuses (no permission, no bpf(2), map type or helper
 * unknown, verifier rejects): fall back to user-space filtering then.
 * sockfilter_block / _unblock / _counters only use the already-open map
 * file descriptors (bpf(2) BPF_MAP_UPDATE_ELEM / _DELETE_ELEM /
 * _LOOKUP_ELEM), which Linux >= 6.5 allows without any capability.
 *
 * Nothing here allocates after sockfilter_new.
 */
#ifndef SL_SOCKFILTER_H
#define SL_SOCKFILTER_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "sl.h"

/* "The kernel will not do it": fall back to user-space filtering.  sl.h has
 * no SL_ENOTSUP (yet); SL_EDENIED ("not permitted") is the closest code. */
#define SOCKFILTER_ENOTSUP SL_EDENIED

/* The program's verdict counters, summed over CPUs. */
struct sockfilter_counts {
	uint64_t dropped_length;  /* UDP payload != SL_DGRAM_LEN */
	uint64_t dropped_blocked; /* right size, source blocked and not expired */
	uint64_t passed;          /* right size, source not blocked: queued */
	uint64_t passed_noaddr;   /* right size, source address unreadable
	                           * (cannot happen for IPv4/IPv6 UDP): queued */
};

struct sockfilter;

/* Create the maps and load the program.  block_entries: size of the block
 * map (an LRU hash: when full, the least recently used entry is evicted, so
 * a block may be forgotten early; the user-space rate limiter still drops
 * such a source).  0 or SOCKFILTER_ENOTSUP / SL_ESYS / SL_EINVAL, with a
 * message in err (the verifier's log when it rejects the program). */
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
int sockfilter_counters(struct sockfilter *sf, struct sockfilter_counts *out);
/* The program's file descriptor (for BPF_PROG_TEST_RUN in the benchmark,
 * or attaching by other means); owned by sf. */
int sockfilter_prog_fd(const struct sockfilter *sf);
/* Closes the file descriptors; sockets it is attached to keep the program
 * (and its maps) until they are closed or the filter is detached. */
void sockfilter_free(struct sockfilter *sf);

#endif
