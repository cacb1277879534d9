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

/* struct net_sock.format */
#define NET_FMT_ANY 0           /* both formats (and junk) on this socket */
#define NET_FMT_1   1           /* format-1 knocks, and junk of any length
                                 * but 559 */
#define NET_FMT_2   2           /* format-2 knocks: 559-byte datagrams */

struct net_sock {
	int fd;
	unsigned server_idx;
	uint8_t format;         /* NET_FMT_*: which knocks arrive here */
	char desc[96];          /* "[::]:50000", "[::]:50000 (format 2)" */
};

/*
 * Open the socket(s) of one enabled server: bind_ip "" means all
 * addresses, IPv4 and IPv6 (dual-stack, or IPv4 only where the host has
 * no IPv6).  Non-blocking, close-on-exec.  Appends to socks.
 *
 * Which: srv->format1 and srv->format2.  Only one of them: one socket,
 * format NET_FMT_1 or NET_FMT_2 (every datagram for the port arrives on
 * it, junk too).  Neither (a cfg_server not made by config_parse): one
 * socket, NET_FMT_ANY.  Both: two sockets on the same address and port
 * in one SO_REUSEPORT group, format NET_FMT_1 then NET_FMT_2, and a
 * classic BPF program (SO_ATTACH_REUSEPORT_CBPF) on the group that queues
 * 559-byte datagrams on the second and everything else on the first, so a
 * flood of 256-byte junk that fills the first's receive queue costs no
 * format-2 knock.  The first socket is bound before SO_REUSEPORT is set on
 * it, so it never joins a group someone else made, and it is index 0;
 * a later socket can join the group only with the same owner (root at
 * start) and the same address, and the program never hands it anything.
 * No socket has SO_REUSEADDR, and one alone has no SO_REUSEPORT: nobody
 * else can bind the port, on its address or a more specific one.
 *
 * If the pair cannot be made (SO_REUSEPORT or the program refused, the
 * second bind failed, or fewer than two free entries in socks) the
 * server gets one socket, NET_FMT_ANY, and 0 is returned with err saying
 * why, for a log line; otherwise err is "" on success.  A negative code
 * with err set when the server cannot listen at all.
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
/* Room for one IP_PKTINFO or IPV6_PKTINFO control message. */
#define NET_CTL_LEN 64
struct net_batch {
	struct mmsghdr msg[NET_BATCH];
	struct iovec iov[NET_BATCH];
	struct sockaddr_storage from[NET_BATCH];
	uint8_t ctl[NET_BATCH][NET_CTL_LEN];       /* where each was sent to */
	uint8_t buf[NET_BATCH][K2_DGRAM_LEN + 1];  /* the larger format */
};

/* The address a datagram was sent to, as the kernel reports it on a
 * socket with net_want_local(): the source to answer it from. */
struct net_local {
	int family;             /* 0: not known; AF_INET or AF_INET6 */
	int ifindex;
	uint8_t addr[16];       /* network order; IPv4 in the first 4 */
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
/* Ask the kernel to report each datagram's destination address on fd (a
 * socket that may have to answer: format-2 receipts). */
int net_want_local(int fd, int family);
/* Datagram i's destination, from its control message (family 0 if none). */
void net_batch_local(const struct net_batch *b, int i, struct net_local *l);
/* Send buf to peer from the address in l (sendmsg with IP_PKTINFO or
 * IPV6_PKTINFO), so that the answer comes from where the question went
 * even on a socket bound to every address; plain sendto when l is not
 * known.  0, or SL_ESYS with errno. */
int net_send_from(int fd, const void *buf, size_t len,
    const struct sockaddr *peer, socklen_t peerlen, const struct net_local *l);

#endif
