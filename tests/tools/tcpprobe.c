/*
 * tcpprobe - test-only TCP listener and connect probe, for the firewall
 * end-to-end test (tests/integration/t_firewall.sh).  Not installed.
 *
 *   tcpprobe listen PORT
 *       listens on [::]:PORT for IPv4 and IPv6 (IPV6_V6ONLY off), accepts
 *       connections and closes them at once, until SIGTERM or SIGINT (then
 *       exits 0).  Prints "listening on [::]:PORT" once it listens.
 *   tcpprobe connect ADDR PORT TIMEOUT_MS
 *       one non-blocking connect to the literal address ADDR; prints
 *       "connected", "refused: ...", "unreachable: ..." or "timeout".
 *
 * Exit status: 0 listened / connected, 1 refused, unreachable, timed out or
 * failed, 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2

static volatile sig_atomic_t stop_requested;

static void
on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
usage(void)
{
	fputs("usage: tcpprobe listen PORT\n"
	    "       tcpprobe connect ADDR PORT TIMEOUT_MS\n", stderr);
	exit(EXIT_USAGE);
}

/* A decimal number in [min, max], or a usage error. */
static long
number(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "tcpprobe: %s '%s' is not in %ld..%ld\n", what,
		    s, min, max);
		exit(EXIT_USAGE);
	}
	return v;
}

static int
do_listen(long port)
{
	struct sigaction sa;
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;
	int fd, one = 1, zero = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;        /* no SA_RESTART: accept() returns EINTR */
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0) {
		perror("tcpprobe: sigaction");
		return 1;
	}

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		memset(&a6, 0, sizeof(a6));
		a6.sin6_family = AF_INET6;
		a6.sin6_addr = in6addr_any;
		a6.sin6_port = htons((uint16_t)port);
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one)) != 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
		    sizeof(zero)) != 0 ||
		    bind(fd, (struct sockaddr *)&a6, sizeof(a6)) != 0) {
			perror("tcpprobe: [::]");
			close(fd);
			return 1;
		}
	} else if (errno == EAFNOSUPPORT) {
		/* a host without IPv6: IPv4 only */
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			perror("tcpprobe: socket");
			return 1;
		}
		memset(&a4, 0, sizeof(a4));
		a4.sin_family = AF_INET;
		a4.sin_addr.s_addr = htonl(INADDR_ANY);
		a4.sin_port = htons((uint16_t)port);
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one)) != 0 ||
		    bind(fd, (struct sockaddr *)&a4, sizeof(a4)) != 0) {
			perror("tcpprobe: 0.0.0.0");
			close(fd);
			return 1;
		}
	} else {
		perror("tcpprobe: socket");
		return 1;
	}
	if (listen(fd, 64) != 0) {
		perror("tcpprobe: listen");
		close(fd);
		return 1;
	}
	printf("listening on [::]:%ld\n", port);
	fflush(stdout);

	while (!stop_requested) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

		if (c >= 0) {
			close(c);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED ||
		    errno == EAGAIN || errno == EPROTO)
			continue;
		perror("tcpprobe: accept");
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The result of a finished connect: 0 connected, 1 otherwise. */
static int
report(int err)
{
	if (err == 0) {
		puts("connected");
		return 0;
	}
	if (err == ECONNREFUSED)
		printf("refused: %s\n", strerror(err));
	else if (err == ETIMEDOUT)
		puts("timeout");
	else
		printf("unreachable: %s\n", strerror(err));
	return 1;
}

static int
do_connect(const char *addr, const char *port, long timeout_ms)
{
	struct addrinfo hints, *ai;
	long long deadline;
	int fd, rc, err;
	socklen_t len;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	rc = getaddrinfo(addr, port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "tcpprobe: '%s' port '%s': %s\n", addr, port,
		    gai_strerror(rc));
		return EXIT_USAGE;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0) {
		perror("tcpprobe: socket");
		freeaddrinfo(ai);
		return 1;
	}
	deadline = now_ms() + timeout_ms;
	rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc == 0) {
		close(fd);
		return report(0);
	}
	if (errno != EINPROGRESS) {
		err = errno;
		close(fd);
		return report(err);
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		long long left = deadline - now_ms();

		if (left <= 0) {
			close(fd);
			return report(ETIMEDOUT);
		}
		rc = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			perror("tcpprobe: poll");
			close(fd);
			return 1;
		}
		if (rc == 0)
			continue;       /* the deadline check above ends it */
		break;
	}
	err = 0;
	len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	close(fd);
	return report(err);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "listen") == 0)
		return do_listen(number(argv[2], 1, 65535, "port"));
	if (argc == 5 && strcmp(argv[1], "connect") == 0) {
		(void)number(argv[3], 1, 65535, "port");
		return do_connect(argv[2], argv[3],
		    number(argv[4], 1, 3600000, "timeout"));
	}
	usage();
	return EXIT_USAGE;
}
