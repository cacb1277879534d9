/*
 * net.c - UDP sockets: the knock sockets of each server (one, or a pair
 * steered by datagram length, see net.h) and batched receiving.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"

#ifndef SO_ATTACH_REUSEPORT_CBPF
# define SO_ATTACH_REUSEPORT_CBPF 51
#endif

#define NET_RCVBUF (4 << 20)

/*
 * The reuseport group's program: the index, in the group, of the socket
 * a datagram is queued on.  For UDP the kernel runs it
 * (reuseport_select_sock, run_bpf_filter) with the UDP header pulled, so
 * "len" is the payload's length (tests/unit/test_net.c checks with 551,
 * 559 and 567-byte datagrams).  Index 0 is the first socket bound (format
 * 1), 1 the second (format 2); the program never returns anything else.
 */
static const struct sock_filter steer_insns[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, K2_DGRAM_LEN, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, 0),
	BPF_STMT(BPF_RET | BPF_K, 1),
};

/* One address of a server: where, and how it reads in logs. */
struct net_where {
	int family;
	union {
		struct in_addr a4;
		struct in6_addr a6;
	} u;
	int v6only;
	uint16_t port;
	char desc[80];
};

/*
 * A socket bound to w.  reuseport: set SO_REUSEPORT before binding (the
 * second socket of a pair).  No SO_REUSEADDR: with it on both, any local
 * user's socket could bind the same port (on a more specific address, so
 * taking its datagrams).  SL_ENOENT when the family is not supported.
 */
static int
net_bind(const struct net_where *w, int reuseport, int *fdp, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, on = 1, rcvbuf = NET_RCVBUF;

	memset(&ss, 0, sizeof(ss));
	if (w->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(w->port);
		sin->sin_addr = w->u.a4;
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(w->port);
		sin6->sin6_addr = w->u.a6;
		sl = sizeof(*sin6);
	}
	fd = socket(w->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return errno == EAFNOSUPPORT ? SL_ENOENT : SL_ESYS;
	}
	/* room for bursts: as root past net.core.rmem_max, else up to it */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
	    sizeof(rcvbuf)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	if (w->family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &w->v6only, sizeof(w->v6only)) != 0) {
		snprintf(err, errlen, "IPV6_V6ONLY: %s", strerror(errno));
		close(fd);
		return SL_ESYS;
	}
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof(on)) != 0) {
		snprintf(err, errlen, "SO_REUSEPORT: %s", strerror(errno));
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

/*
 * fds[0] bound to w, alone; then, if split, fds[1] in a reuseport group
 * with it and the length program on the group.  A negative code (why
 * says why) only when fds[0] cannot be had; when the pair cannot be made,
 * 0 with fds[1] = -1, fds[0] by itself again (SO_REUSEPORT off), and the
 * reason in note.
 */
static int
net_bind_pair(const struct net_where *w, int split, int fds[2], char *why,
    size_t whylen, char *note, size_t notelen)
{
	struct sock_fprog prog = {
		.len = sizeof(steer_insns) / sizeof(steer_insns[0]),
		.filter = (struct sock_filter *)(uintptr_t)steer_insns,
	};
	int rc, on = 1, off = 0;

	fds[0] = fds[1] = -1;
	if ((rc = net_bind(w, 0, &fds[0], why, whylen)) != 0 || !split)
		return rc;
	/* after bind: fds[0] made the port its own, and starts the group
	 * (index 0) when fds[1] joins */
	if (setsockopt(fds[0], SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) {
		snprintf(note, notelen, "SO_REUSEPORT: %s", strerror(errno));
		return 0;
	}
	if (net_bind(w, 1, &fds[1], note, notelen) != 0) {
		fds[1] = -1;
		goto single;
	}
	if (setsockopt(fds[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog,
	    sizeof(prog)) != 0) {
		snprintf(note, notelen, "SO_ATTACH_REUSEPORT_CBPF: %s",
		    strerror(errno));
		close(fds[1]);
		fds[1] = -1;
		goto single;
	}
	return 0;
single:
	(void)setsockopt(fds[0], SOL_SOCKET, SO_REUSEPORT, &off, sizeof(off));
	return 0;
}

/* w from the server's bind_ip and port; SL_EINVAL for a bad bind_ip */
static int
net_where(const struct cfg_server *srv, struct net_where *w, char *why,
    size_t whylen)
{
	memset(w, 0, sizeof(*w));
	w->port = srv->port;
	if (srv->bind_ip[0] == '\0') {
		w->family = AF_INET6;
		w->u.a6 = in6addr_any;
		w->v6only = 0;
		snprintf(w->desc, sizeof(w->desc), "[::]:%u", srv->port);
	} else if (inet_pton(AF_INET, srv->bind_ip, &w->u.a4) == 1) {
		w->family = AF_INET;
		snprintf(w->desc, sizeof(w->desc), "%s:%u", srv->bind_ip,
		    srv->port);
	} else if (inet_pton(AF_INET6, srv->bind_ip, &w->u.a6) == 1) {
		w->family = AF_INET6;
		w->v6only = 1;
		snprintf(w->desc, sizeof(w->desc), "[%s]:%u", srv->bind_ip,
		    srv->port);
	} else {
		snprintf(why, whylen, "bad bind_ip '%s'", srv->bind_ip);
		return SL_EINVAL;
	}
	return 0;
}

/* w and fds (a pair when split) for srv: on bind_ip, or on every address,
 * IPv4 only when the host has no IPv6.  A negative code with why. */
static int
net_listen(const struct cfg_server *srv, int split, struct net_where *w,
    int fds[2], char *why, size_t whylen, char *note, size_t notelen)
{
	int rc;

	if ((rc = net_where(srv, w, why, whylen)) != 0)
		return rc;
	rc = net_bind_pair(w, split, fds, why, whylen, note, notelen);
	if (rc == SL_ENOENT && srv->bind_ip[0] == '\0') {
		/* no IPv6 on this host */
		w->family = AF_INET;
		w->u.a4.s_addr = htonl(INADDR_ANY);
		snprintf(w->desc, sizeof(w->desc), "0.0.0.0:%u", srv->port);
		rc = net_bind_pair(w, split, fds, why, whylen, note, notelen);
	}
	return rc;
}

/* The n (1 or 2) sockets of a server in s[0 .. n). */
static void
net_fill(const struct cfg_server *srv, unsigned server_idx,
    const struct net_where *w, const int fds[2], unsigned n,
    struct net_sock *s)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].fd = fds[i];
		s[i].server_idx = server_idx;
		if (n == 2) {
			s[i].format = i == 0 ? NET_FMT_1 : NET_FMT_2;
			snprintf(s[i].desc, sizeof(s[i].desc), "%s (format %u)",
			    w->desc, (unsigned)s[i].format);
		} else {
			s[i].format = srv->format1 == srv->format2 ?
			    NET_FMT_ANY : srv->format1 ? NET_FMT_1 : NET_FMT_2;
			snprintf(s[i].desc, sizeof(s[i].desc), "%s", w->desc);
		}
	}
}

int
net_open_server(const struct cfg_server *srv, unsigned server_idx,
    struct net_sock *socks, unsigned *nsocks, unsigned maxsocks, char *err,
    size_t errlen)
{
	struct net_where w;
	char why[160], note[160];
	int rc, split, fds[2];
	unsigned i, n;

	if (errlen > 0)
		err[0] = '\0';
	note[0] = '\0';
	if (*nsocks >= maxsocks) {
		snprintf(err, errlen, "server %s: too many sockets", srv->name);
		return SL_EFULL;
	}
	split = srv->format1 && srv->format2;
	if (split && maxsocks - *nsocks < 2) {
		snprintf(note, sizeof(note), "no room for a second socket");
		split = 0;
	}
	if ((rc = net_listen(srv, split, &w, fds, why, sizeof(why), note,
	    sizeof(note))) != 0) {
		snprintf(err, errlen, "server %s: cannot listen on %s port %u: %s",
		    srv->name, srv->bind_ip[0] ? srv->bind_ip : "all addresses",
		    srv->port, why);
		return rc;
	}
	n = fds[1] >= 0 ? 2 : 1;
	net_fill(srv, server_idx, &w, fds, n, &socks[*nsocks]);
	/* receipts go out from the address the knock came to */
	for (i = 0; srv->format2 && srv->receipt && i < n; i++)
		if (socks[*nsocks + i].format != NET_FMT_1 &&
		    net_want_local(fds[i], w.family) != 0) {
			snprintf(err, errlen, "server %s: cannot learn where "
			    "datagrams were sent (%s): %s", srv->name,
			    w.family == AF_INET ? "IP_PKTINFO" :
			    "IPV6_RECVPKTINFO", strerror(errno));
			for (i = 0; i < n; i++)
				close(fds[i]);
			return SL_ESYS;
		}
	*nsocks += n;
	if (srv->format1 && srv->format2 && n == 1)
		snprintf(err, errlen, "server %s: formats 1 and 2 share one "
		    "receive queue on %s: %s", srv->name, w.desc, note);
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
		b->msg[i].msg_hdr.msg_control = b->ctl[i];
	}
}

int
net_want_local(int fd, int family)
{
	int on = 1;

	if (family == AF_INET)
		return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on,
		    sizeof(on)) == 0 ? 0 : SL_ESYS;
	return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
	    sizeof(on)) == 0 ? 0 : SL_ESYS;
}

void
net_batch_local(const struct net_batch *b, int i, struct net_local *l)
{
	const struct msghdr *h = &b->msg[i].msg_hdr;
	const struct cmsghdr *c;
	struct in_pktinfo p4;
	struct in6_pktinfo p6;

	memset(l, 0, sizeof(*l));
	for (c = CMSG_FIRSTHDR(h); c != NULL;
	    c = CMSG_NXTHDR((struct msghdr *)(uintptr_t)h,
	    (struct cmsghdr *)(uintptr_t)c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(p4))) {
			memcpy(&p4, CMSG_DATA(c), sizeof(p4));
			l->family = AF_INET;
			l->ifindex = p4.ipi_ifindex;
			memcpy(l->addr, &p4.ipi_addr, 4);
		} else if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(p6))) {
			memcpy(&p6, CMSG_DATA(c), sizeof(p6));
			l->family = AF_INET6;
			l->ifindex = (int)p6.ipi6_ifindex;
			memcpy(l->addr, &p6.ipi6_addr, 16);
		}
	}
}

int
net_send_from(int fd, const void *buf, size_t len,
    const struct sockaddr *peer, socklen_t peerlen, const struct net_local *l)
{
	union {
		struct cmsghdr align;
		uint8_t b[NET_CTL_LEN];
	} ctl;
	struct iovec iov = { (void *)(uintptr_t)buf, len };
	struct msghdr m;
	struct cmsghdr *c;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	memset(&ctl, 0, sizeof(ctl));
	m.msg_name = (void *)(uintptr_t)peer;
	m.msg_namelen = peerlen;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (l != NULL && l->family == AF_INET) {
		struct in_pktinfo p4;

		memset(&p4, 0, sizeof(p4));
		memcpy(&p4.ipi_spec_dst, l->addr, 4);
		m.msg_control = ctl.b;
		m.msg_controllen = CMSG_SPACE(sizeof(p4));
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(p4));
		memcpy(CMSG_DATA(c), &p4, sizeof(p4));
	} else if (l != NULL && l->family == AF_INET6) {
		struct in6_pktinfo p6;

		memset(&p6, 0, sizeof(p6));
		memcpy(&p6.ipi6_addr, l->addr, 16);
		/* a link-local address means something on its link only */
		if (l->addr[0] == 0xfe && (l->addr[1] & 0xc0) == 0x80)
			p6.ipi6_ifindex = (unsigned)l->ifindex;
		m.msg_control = ctl.b;
		m.msg_controllen = CMSG_SPACE(sizeof(p6));
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(p6));
		memcpy(CMSG_DATA(c), &p6, sizeof(p6));
	}
	do
		n = sendmsg(fd, &m, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : SL_ESYS;
}

int
net_recv_batch(int fd, struct net_batch *b, int max)
{
	int i, n;

	if (max > NET_BATCH)
		max = NET_BATCH;
	if (max <= 0)
		return 0;
	for (i = 0; i < max; i++) {
		b->msg[i].msg_hdr.msg_namelen = sizeof(b->from[i]);
		b->msg[i].msg_hdr.msg_controllen = sizeof(b->ctl[i]);
	}
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
