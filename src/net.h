/* net.h - the UDP sockets siglatchd listens on, and receiving from them. */
#ifndef SL_NET_H
#define SL_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "addr.h"
#include "config.h"
#include "knock2.h"

struct net_sock {
	int fd;
	unsigned server_idx;
	char desc[80];          /* "[::]:50000" for logs */
};

/*
 * Open the socket(s) of one enabled server: bind_ip "" means all
 * addresses, IPv4 and IPv6 (one dual-stack socket, or IPv4 only where the
 * host has no IPv6).  Non-blocking, close-on-exec.  Appends to socks.
 */
int net_open_server(const struct cfg_server *srv, unsigned server_idx,
    struct net_sock *socks, unsigned *nsocks, unsigned maxsocks, char *err,
    size_t errlen);
/*
 * Datagrams are received in batches (recvmmsg) into buffers allocated once:
 * one system call for up to NET_BATCH datagrams.  Each buffer holds one
 * byte more than the larger knock, so an oversized datagram is seen as
 * oversized.
 */
#define NET_BATCH 64
struct net_batch {
	struct mmsghdr msg[NET_BATCH];
	struct iovec iov[NET_BATCH];
	struct sockaddr_storage from[NET_BATCH];
	uint8_t buf[NET_BATCH][K2_DGRAM_LEN + 1];  /* the larger format */
};
void net_batch_init(struct net_batch *b);
/*
 * Receive up to max (at most NET_BATCH) datagrams.  Returns how many (0 when nothing is
 * waiting) or a negative code.  net_batch_get() gives datagram i: its data,
 * its true length (it may exceed what was stored: the excess is never
 * read) and its sender, IPv4-mapped addresses unmapped.
 */
int net_recv_batch(int fd, struct net_batch *b, int max);
const uint8_t *net_batch_get(const struct net_batch *b, int i, size_t *len,
    struct sl_addr *src);

#endif
