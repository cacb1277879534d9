/*
 * tcpecho - test-only TCP peer for knocker --connect
 * (tests/integration/t_knocker_connect.sh).  Not installed.
 *
 *   tcpecho PORT-FILE [DELAY_MS]
 *
 * Binds 127.0.0.1 port 0 at once and writes the port to PORT-FILE, but
 * listens only after DELAY_MS (until then a connect is refused).  Accepts
 * one connection, reads it to end of file (so the client must half-close
 * its sending side), then answers "echo:" and everything it read, closes,
 * and exits 0.  Gives up after 30 s (exit 1).
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	static char buf[1 << 20];
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct pollfd p;
	struct timespec ts;
	size_t got = 0;
	ssize_t n;
	long delay;
	FILE *f;
	int s, c;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: tcpecho PORT-FILE [DELAY_MS]\n");
		return 2;
	}
	delay = argc == 3 ? strtol(argv[2], NULL, 10) : 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(s, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) != 0) {
		perror("tcpecho");
		return 1;
	}
	if ((f = fopen(argv[1], "w")) == NULL ||
	    fprintf(f, "%u\n", (unsigned)ntohs(sin.sin_port)) < 0 ||
	    fclose(f) != 0) {
		perror(argv[1]);
		return 1;
	}
	ts.tv_sec = delay / 1000;
	ts.tv_nsec = (delay % 1000) * 1000000L;
	nanosleep(&ts, NULL);
	if (listen(s, 4) != 0) {
		perror("listen");
		return 1;
	}
	p.fd = s;
	p.events = POLLIN;
	if (poll(&p, 1, 30000) != 1 || (c = accept(s, NULL, NULL)) < 0) {
		fprintf(stderr, "tcpecho: no connection\n");
		return 1;
	}
	memcpy(buf, "echo:", 5);
	got = 5;
	while (got < sizeof(buf)) {
		p.fd = c;
		p.events = POLLIN;
		if (poll(&p, 1, 30000) != 1) {
			fprintf(stderr, "tcpecho: no end of file in 30 s\n");
			return 1;
		}
		if ((n = read(c, buf + got, sizeof(buf) - got)) < 0) {
			perror("read");
			return 1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	for (size_t off = 0; off < got; off += (size_t)n) {
		if ((n = write(c, buf + off, got - off)) <= 0) {
			perror("write");
			return 1;
		}
	}
	close(c);
	close(s);
	return 0;
}
