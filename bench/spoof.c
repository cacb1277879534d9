/*
 * spoof - a spoofed flood for the benchmark, with real knocks sent from
 * addresses the flood never uses, spread over it.
 *
 * Usage: spoof [-c COUNT] [-t SECONDS] [-a SOURCES] [-2 FILE] [-1 FILE]
 *              ADDR PORT
 *
 * The flood: random datagrams, 256 and 559 bytes interleaved (the two
 * knock sizes, so both formats' paths are hit), every datagram's bytes
 * fresh (no two alike, so none is dropped as an exact copy), sent as fast
 * as sendmmsg goes from one unbound socket.  Datagram j comes from source
 * j mod SOURCES; source s is 127.(1 + s / 256).(s mod 256).1, so every
 * source has a /24 of its own (SOURCES at most 200 * 256 = 51200, the
 * default).  The source of each message is set with an IP_PKTINFO control
 * message (ipi_spec_dst), which the kernel allows for any local address:
 * no root needed.  It stops after COUNT datagrams (default 50,000,000) or
 * SECONDS (default 8), whichever comes first.
 *
 * The knocks: -2 FILE holds 559-byte datagrams one after another (format
 * 2, k2knock --out), -1 FILE 256-byte ones (format 1, slcraft --out
 * --count).  Format-2 knock i is sent from 127.241.i.1, format-1 knock i
 * from 127.242.i.1 (i < 256 each): addresses, and /24s, that the flood
 * never uses.  They are sent alternately (2, 1, 2, 1, ...) at evenly
 * spaced times over SECONDS, each exactly once, through the flood's own
 * socket, between two of its batches.  A format-2 knock must name its
 * address: k2knock --bind 127.241.i.1 --out does.
 *
 * Prints one line:
 *   spoof: sent=N bytes256=A bytes559=B sources=S seconds=T rate=R
 *          knocks2=n/N knocks1=m/M count_cap=0|1
 * (knocksF: sent while the flood was still going / in the file.)
 * Only 127.0.0.0/8 is accepted as the target.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"

#define BATCH       256
#define SRC_MAX     (200 * 256)
#define KNOCKS_MAX  256
#define LEN1        256
#define LEN2        559

struct knocks {
	uint8_t *buf;
	long n, sent;
	size_t len;
	unsigned octet;         /* 127.OCTET.i.1 */
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xoshiro256** (Blackman, Vigna): fresh junk bytes at memory speed */
static uint64_t rs[4];

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rnd(void)
{
	uint64_t r = rotl(rs[1] * 5, 7) * 9, t = rs[1] << 17;

	rs[2] ^= rs[0];
	rs[3] ^= rs[1];
	rs[1] ^= rs[2];
	rs[0] ^= rs[3];
	rs[2] ^= t;
	rs[3] = rotl(rs[3], 45);
	return r;
}

static void
fill(uint8_t *p, size_t n)
{
	uint64_t v;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		v = rnd();
		memcpy(p + i, &v, 8);
	}
	v = rnd();
	memcpy(p + i, &v, n - i);
}

static int
load(const char *path, size_t len, unsigned octet, struct knocks *k)
{
	FILE *f = fopen(path, "rb");
	long size;

	k->len = len;
	k->octet = octet;
	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 ||
	    size % (long)len != 0 || (k->n = size / (long)len) > KNOCKS_MAX ||
	    fseek(f, 0, SEEK_SET) != 0 || (k->buf = malloc((size_t)size)) == NULL ||
	    fread(k->buf, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "spoof: %s: not a file of at most %d datagrams "
		    "of %zu bytes\n", path, KNOCKS_MAX, len);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

/* The control message that makes src the datagram's source address. */
static void
set_source(struct msghdr *m, uint8_t *cbuf, size_t clen, uint32_t src)
{
	struct cmsghdr *c;
	struct in_pktinfo pi;

	memset(cbuf, 0, clen);
	m->msg_control = cbuf;
	m->msg_controllen = clen;
	c = CMSG_FIRSTHDR(m);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memset(&pi, 0, sizeof(pi));
	pi.ipi_spec_dst.s_addr = htonl(src);
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
}

/* Send knock k->sent of k from its own address; 0 or -1. */
static int
send_knock(int fd, const struct sockaddr_in *dst, struct knocks *k)
{
	uint8_t cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct msghdr m;
	struct iovec iov;
	int tries;

	memset(&m, 0, sizeof(m));
	iov.iov_base = k->buf + (size_t)k->sent * k->len;
	iov.iov_len = k->len;
	m.msg_name = (void *)(uintptr_t)dst;
	m.msg_namelen = sizeof(*dst);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	set_source(&m, cbuf, sizeof(cbuf), 127u << 24 | k->octet << 16 |
	    (uint32_t)k->sent << 8 | 1);
	for (tries = 0; tries < 1000; tries++) {
		if (sendmsg(fd, &m, 0) == (ssize_t)k->len) {
			k->sent++;
			return 0;
		}
		if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
			break;
	}
	perror("spoof: knock not sent");
	return -1;
}

int
main(int argc, char **argv)
{
	static uint8_t buf[BATCH][LEN2];
	static uint8_t cbuf[BATCH][CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in dst;
	struct knocks k2 = { 0 }, k1 = { 0 };
	const char *f2 = NULL, *f1 = NULL;
	long count = 50000000, sent = 0, n256 = 0, n559 = 0, sources = SRC_MAX;
	long next = 0, total, in_flood2 = 0, in_flood1 = 0;
	double secs = 8, t0, t, end, flood_end = 0;
	int fd, i, n, ch, port, cap = 0;

	while ((ch = getopt(argc, argv, "c:t:a:2:1:")) != -1) {
		switch (ch) {
		case 'c': count = atol(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'a': sources = atol(optarg); break;
		case '2': f2 = optarg; break;
		case '1': f1 = optarg; break;
		default: return 2;
		}
	}
	argc -= optind;
	argv += optind;
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	if (argc != 2 || (port = atoi(argv[1])) <= 0 || port > 65535 ||
	    inet_pton(AF_INET, argv[0], &dst.sin_addr) != 1 ||
	    (ntohl(dst.sin_addr.s_addr) >> 24) != 127 || count <= 0 ||
	    !(secs > 0 && secs <= 60) || sources < 1 || sources > SRC_MAX) {
		fprintf(stderr, "usage: spoof [-c COUNT] [-t SECONDS (<= 60)] "
		    "[-a SOURCES (<= %d)] [-2 FILE] [-1 FILE] 127.x.y.z PORT\n",
		    SRC_MAX);
		return 2;
	}
	dst.sin_port = htons((uint16_t)port);
	if ((f2 != NULL && load(f2, LEN2, 241, &k2) != 0) ||
	    (f1 != NULL && load(f1, LEN1, 242, &k1) != 0))
		return 1;
	if (crypto_random(rs, sizeof(rs)) != 0)
		return 1;
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		perror("spoof: socket");
		return 1;
	}
	for (i = 0; i < BATCH; i++) {
		memset(&msg[i], 0, sizeof(msg[i]));
		msg[i].msg_hdr.msg_name = &dst;
		msg[i].msg_hdr.msg_namelen = sizeof(dst);
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
		iov[i].iov_base = buf[i];
	}
	total = k2.n + k1.n;
	t0 = now_s();
	end = t0 + secs;
	for (;;) {
		t = now_s();
		/* the knocks due by now, alternately; the k-th of total at
		 * (k + 1) / (total + 1) of the flood */
		while (next < total && t >= t0 + secs * (double)(next + 1) /
		    (double)(total + 1)) {
			struct knocks *k = (next % 2 == 0 && k2.sent < k2.n) ||
			    k1.sent >= k1.n ? &k2 : &k1;

			if (send_knock(fd, &dst, k) != 0)
				return 1;
			if (t < end && sent < count) {
				if (k == &k2)
					in_flood2++;
				else
					in_flood1++;
			}
			next++;
		}
		if (t >= end || sent >= count) {
			if (flood_end == 0)
				flood_end = t;
			if (next >= total)
				break;
			/* the flood is over (count cap): the rest, spaced */
			cap = sent >= count;
			usleep(1000);
			continue;
		}
		n = count - sent < BATCH ? (int)(count - sent) : BATCH;
		for (i = 0; i < n; i++) {
			long j = sent + i, s = j % sources;
			size_t len = ((j + j / sources) & 1) ? LEN2 : LEN1;

			fill(buf[i], len);
			iov[i].iov_len = len;
			set_source(&msg[i].msg_hdr, cbuf[i], sizeof(cbuf[i]),
			    127u << 24 | (uint32_t)(1 + s / 256) << 16 |
			    (uint32_t)(s % 256) << 8 | 1);
		}
		if ((n = sendmmsg(fd, msg, (unsigned)n, 0)) < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR ||
			    errno == ECONNREFUSED)
				continue;
			perror("spoof: sendmmsg");
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (iov[i].iov_len == LEN2)
				n559++;
			else
				n256++;
		}
		sent += n;
	}
	close(fd);
	printf("spoof: sent=%ld bytes256=%ld bytes559=%ld sources=%ld "
	    "seconds=%.2f rate=%.0f knocks2=%ld/%ld knocks1=%ld/%ld "
	    "count_cap=%d\n", sent, n256, n559, sources < sent ? sources : sent,
	    flood_end - t0, (double)sent / (flood_end - t0), in_flood2, k2.n, in_flood1, k1.n, cap);
	free(k2.buf);
	free(k1.buf);
	return 0;
}
