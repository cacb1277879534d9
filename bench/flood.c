/*
 * flood - bounded UDP load for the benchmark: COUNT datagrams of SIZE bytes
 * to a loopback address, sent in sendmmsg batches from one socket.
 * Usage: flood ADDR PORT SIZE COUNT [FILE]
 *   without FILE: random bytes (a fresh random pool, reused round-robin);
 *   with FILE: the file's bytes, the same datagram COUNT times (replays).
 * Only 127.0.0.0/8 and ::1 are accepted as targets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto.h"

#define BATCH 64
#define POOL  256

int
main(int argc, char **argv)
{
	static uint8_t pool[POOL][2048];
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage ss;
	socklen_t sl;
	long count, sent = 0, size;
	int fd, i, n, port;

	if (argc < 5) {
		fprintf(stderr, "usage: flood ADDR PORT SIZE COUNT [FILE]\n");
		return 2;
	}
	port = atoi(argv[2]);
	size = atol(argv[3]);
	count = atol(argv[4]);
	if (size < 0 || size > (long)sizeof(pool[0]) || count < 0 ||
	    port <= 0 || port > 65535)
		return 2;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, argv[1], &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
			fprintf(stderr, "flood: loopback targets only\n");
			return 2;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sl = sizeof(*sin);
	} else if (inet_pton(AF_INET6, argv[1],
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
			fprintf(stderr, "flood: loopback targets only\n");
			return 2;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*sin6);
	} else
		return 2;
	if (argc > 5) {
		FILE *f = fopen(argv[5], "rb");

		if (f == NULL)
			return 1;
		size = (long)fread(pool[0], 1, sizeof(pool[0]), f);
		fclose(f);
		for (i = 1; i < POOL; i++)
			memcpy(pool[i], pool[0], (size_t)size);
	} else if (crypto_random(pool, sizeof(pool)) != 0)
		return 1;
	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return 1;
	while (sent < count) {
		n = count - sent < BATCH ? (int)(count - sent) : BATCH;
		for (i = 0; i < n; i++) {
			iov[i].iov_base = pool[(sent + i) % POOL];
			iov[i].iov_len = (size_t)size;
			memset(&msg[i], 0, sizeof(msg[i]));
			msg[i].msg_hdr.msg_name = &ss;
			msg[i].msg_hdr.msg_namelen = sl;
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
		}
		if ((n = sendmmsg(fd, msg, (unsigned)n, 0)) < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
				continue;
			perror("flood: sendmmsg");
			return 1;
		}
		sent += n;
	}
	close(fd);
	printf("flood: sent %ld datagrams of %ld bytes\n", sent, size);
	return 0;
}
