/*
 * flood - bounded UDP load for the benchmark: COUNT datagrams of SIZE bytes
 * to a loopback address, sent in sendmmsg batches from one socket.
 * Usage: flood [-s SRC] [-r RATE | -i US] ADDR PORT SIZE COUNT [FILE]
 *   without FILE: random bytes (a fresh random pool, reused round-robin);
 *   with FILE: the file's bytes, the same datagram COUNT times (replays);
 *   with FILE and SIZE > 0: FILE holds datagrams of SIZE bytes one after
 *   another (made by slcraft --out --count, or k2knock --out --count for
 *   559-byte ones), sent in turn, once each at most: COUNT is capped at
 *   how many there are;
 *   SIZE 0 with no FILE: random sizes from 0 to 512 bytes;
 *   -s SRC: send from this loopback address (e.g. 127.0.3.1), so a test
 *   can play several sources; -r RATE: at most RATE datagrams a second
 *   (in bursts of RATE / 100); -i US: one datagram every US microseconds,
 *   each on its own (a paced client: the receiver wakes for each).
 * SIZE is at most DGRAM_MAX (1472 bytes).  The loop is sendmmsg either
 * way, so a sender costs the same per datagram however it is paced.
 * Only 127.0.0.0/8 and ::1 are accepted as targets and sources.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"

#define BATCH 64
#define POOL  256
#define RANDMAX 512     /* SIZE 0: random sizes 0..RANDMAX */
#define DGRAM_MAX 1472

/* Fill ss from a loopback literal; 0 or -1. */
static int
loopback(const char *s, int port, struct sockaddr_storage *ss, socklen_t *sl)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sl = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*sin6);
		return 0;
	}
	return -1;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	static uint8_t pool[POOL][DGRAM_MAX];
	static size_t plen[POOL];
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage ss, src;
	socklen_t sl, srcl = 0;
	const char *source = NULL;
	uint8_t *many = NULL;
	long count, sent = 0, size, rate = 0, interval_us = 0;
	double t0;
	int fd, i, n, port, ch;

	while ((ch = getopt(argc, argv, "s:r:i:")) != -1) {
		if (ch == 's')
			source = optarg;
		else if (ch == 'r')
			rate = atol(optarg);
		else if (ch == 'i')
			interval_us = atol(optarg);
		else
			return 2;
	}
	argc -= optind;
	argv += optind;
	if (argc < 4) {
		fprintf(stderr, "usage: flood [-s SRC] [-r RATE | -i US] ADDR "
		    "PORT SIZE COUNT [FILE]\n");
		return 2;
	}
	port = atoi(argv[1]);
	size = atol(argv[2]);
	count = atol(argv[3]);
	if (size < 0 || size > DGRAM_MAX || count < 0 || port <= 0 ||
	    rate < 0 || interval_us < 0 || (rate > 0 && interval_us > 0) ||
	    port > 65535 || loopback(argv[0], port, &ss, &sl) != 0 ||
	    (source != NULL && loopback(source, 0, &src, &srcl) != 0)) {
		fprintf(stderr, "flood: bad arguments (loopback addresses only)\n");
		return 2;
	}
	if (crypto_random(pool, sizeof(pool)) != 0)
		return 1;
	for (i = 0; i < POOL; i++)
		plen[i] = size > 0 ? (size_t)size : (size_t)(pool[i][0] | pool[i][1] << 8) % (RANDMAX + 1);
	if (argc > 4 && size > 0) {
		FILE *f = fopen(argv[4], "rb");
		long nf;

		if (f == NULL || fseek(f, 0, SEEK_END) != 0 ||
		    (nf = ftell(f) / size) <= 0 || fseek(f, 0, SEEK_SET) != 0 ||
		    (many = malloc((size_t)(nf * size))) == NULL ||
		    fread(many, (size_t)size, (size_t)nf, f) != (size_t)nf)
			return 1;
		fclose(f);
		if (count > nf)
			count = nf;
	} else if (argc > 4) {
		FILE *f = fopen(argv[4], "rb");

		if (f == NULL)
			return 1;
		plen[0] = fread(pool[0], 1, sizeof(pool[0]), f);
		fclose(f);
		for (i = 1; i < POOL; i++) {
			memcpy(pool[i], pool[0], plen[0]);
			plen[i] = plen[0];
		}
	}
	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return 1;
	if (source != NULL && bind(fd, (struct sockaddr *)&src, srcl) != 0) {
		perror("flood: bind");
		return 1;
	}
	t0 = now_s();
	while (sent < count) {
		n = count - sent < BATCH ? (int)(count - sent) : BATCH;
		if (interval_us > 0) {
			/* one at a time, on a fixed schedule */
			double ahead = (double)sent * (double)interval_us / 1e6 -
			    (now_s() - t0);

			if (ahead > 0) {
				struct timespec ts = { (time_t)ahead,
				    (long)((ahead - (double)(time_t)ahead) * 1e9) };

				nanosleep(&ts, NULL);
			}
			n = 1;
		} else if (rate > 0) {
			/* stay under RATE per second on average */
			double ahead = (double)sent / (double)rate - (now_s() - t0);

			if (ahead > 0) {
				struct timespec ts = { (time_t)ahead,
				    (long)((ahead - (double)(time_t)ahead) * 1e9) };

				nanosleep(&ts, NULL);
			}
			if (n > rate / 100 + 1)
				n = (int)(rate / 100 + 1);
		}
		for (i = 0; i < n; i++) {
			if (many != NULL) {
				iov[i].iov_base = many + (sent + i) * size;
				iov[i].iov_len = (size_t)size;
			} else {
				iov[i].iov_base = pool[(sent + i) % POOL];
				iov[i].iov_len = plen[(sent + i) % POOL];
			}
			memset(&msg[i], 0, sizeof(msg[i]));
			msg[i].msg_hdr.msg_name = &ss;
			msg[i].msg_hdr.msg_namelen = sl;
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
		}
		if ((n = sendmmsg(fd, msg, (unsigned)n, 0)) < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR ||
			    errno == ECONNREFUSED)
				continue;
			perror("flood: sendmmsg");
			return 1;
		}
		sent += n;
	}
	close(fd);
	free(many);
	printf("flood: sent %ld datagrams\n", sent);
	return 0;
}
