/* net.c - UDP sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"

#define NET_RCVBUF (4 << 20)

static int
net_bind(int family, const void *addr, uint16_t port, int v6only, int *fdp,
    char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, on = 1, rcvbuf = NET_RCVBUF;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, sizeof(sin->sin_addr));
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr, sizeof(sin6->sin6_addr));
		sl = sizeof(*sin6);
	}
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return errno == EAFNOSUPPORT ? SL_ENOENT : SL_ESYS;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* room for bursts: as root past net.core.rmem_max, else up to it */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
	    sizeof(rcvbuf)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only))) {
		snprintf(err, errlen, "IPV6_V6ONLY: %s", strerror(errno));
		close(fd);
		return SL_ESYS;
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
		snprintf(err, errlen, "bind: %s", strerror(errno));
		close(fd);
		return SL_ESYS;
	}
	*fdp = fd;
	return 0;
}

int
net_open_server(const struct cfg_server *srv, unsigned server_idx,
    struct net_sock *socks, unsigned *nsocks, unsigned maxsocks, char *err,
    size_t errlen)
{
	struct in6_addr a6;
	struct in_addr a4;
	struct net_sock *s;
	char why[160];
	int rc, fd = -1;

	if (*nsocks >= maxsocks) {
		snprintf(err, errlen, "server %s: too many sockets", srv->name);
		return SL_EFULL;
	}
	s = &socks[*nsocks];
	if (srv->bind_ip[0] == '\0') {
		rc = net_bind(AF_INET6, &in6addr_any, srv->port, 0, &fd, why,
		    sizeof(why));
		if (rc == SL_ENOENT) {  /* no IPv6 on this host */
			a4.s_addr = htonl(INADDR_ANY);
			rc = net_bind(AF_INET, &a4, srv->port, 0, &fd, why,
			    sizeof(why));
			snprintf(s->desc, sizeof(s->desc), "0.0.0.0:%u",
			    srv->port);
		} else
			snprintf(s->desc, sizeof(s->desc), "[::]:%u", srv->port);
	} else if (inet_pton(AF_INET, srv->bind_ip, &a4) == 1) {
		rc = net_bind(AF_INET, &a4, srv->port, 0, &fd, why, sizeof(why));
		snprintf(s->desc, sizeof(s->desc), "%s:%u", srv->bind_ip,
		    srv->port);
	} else if (inet_pton(AF_INET6, srv->bind_ip, &a6) == 1) {
		rc = net_bind(AF_INET6, &a6, srv->port, 1, &fd, why, sizeof(why));
		snprintf(s->desc, sizeof(s->desc), "[%s]:%u", srv->bind_ip,
		    srv->port);
	} else {
		snprintf(why, sizeof(why), "bad bind_ip '%s'", srv->bind_ip);
		rc = SL_EINVAL;
	}
	if (rc != 0) {
		snprintf(err, errlen, "server %s: cannot listen on %s port %u: %s",
		    srv->name, srv->bind_ip[0] ? srv->bind_ip : "all addresses",
		    srv->port, why);
		return rc;
	}
	s->fd = fd;
	s->server_idx = server_idx;
	(*nsocks)++;
	return 0;
}

void
net_batch_init(struct net_batch *b)
{
	int i;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < NET_BATCH; i++) {
		b->iov[i].iov_base = b->buf[i];
		b->iov[i].iov_len = sizeof(b->buf[i]);
		b->msg[i].msg_hdr.msg_iov = &b->iov[i];
		b->msg[i].msg_hdr.msg_iovlen = 1;
		b->msg[i].msg_hdr.msg_name = &b->from[i];
	}
}

int
net_recv_batch(int fd, struct net_batch *b, int max)
{
	int i, n;

	if (max > NET_BATCH)
		max = NET_BATCH;
	if (max <= 0)
		return 0;
	for (i = 0; i < max; i++)
		b->msg[i].msg_hdr.msg_namelen = sizeof(b->from[i]);
	for (;;) {
		/* MSG_TRUNC: msg_len is the true length, so a 257-byte datagram
		 * is never mistaken for a 256-byte one */
		n = recvmmsg(fd, b->msg, (unsigned)max, MSG_TRUNC | MSG_DONTWAIT,
		    NULL);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return SL_ESYS;
	}
}

const uint8_t *
net_batch_get(const struct net_batch *b, int i, size_t *len,
    struct sl_addr *src)
{
	const struct msghdr *h = &b->msg[i].msg_hdr;

	*len = b->msg[i].msg_len;
	if (addr_from_sockaddr(src, (const struct sockaddr *)h->msg_name,
	    h->msg_namelen) != 0)
		memset(src, 0, sizeof(*src));
	return b->buf[i];
}
