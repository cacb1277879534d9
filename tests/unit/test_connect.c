/*
 * test_connect.c - what knocker --connect is made of: HOST:PORT parsing
 * (ssh's %h:%p), a TCP connect with a deadline, and the relay with its
 * half-close, run in a thread between pipes and a socket pair.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <cmocka.h>

#include "client.h"

static void
test_parse_target(void **state)
{
	static const struct {
		const char *s, *host;
		int port;
	} ok[] = {
		{ "gw.example.org:22", "gw.example.org", 22 },
		{ "192.0.2.1:2222", "192.0.2.1", 2222 },
		{ "[2001:db8::1]:22", "2001:db8::1", 22 },
		{ "[::1]:65535", "::1", 65535 },
		{ "h:1", "h", 1 },
	};
	static const char *const bad[] = {
		"", "host", "host:", ":22", "host:0", "host:65536", "host:22x",
		"::1:22", "[::1]22", "[::1]", "[]:22", "a/b:22", "a b:22",
		"[::1:22",
	};
	char host[CLIENT_HOST_MAX + 1];
	uint16_t port;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(client_parse_target(ok[i].s, host, sizeof(host),
		    &port), 0);
		assert_string_equal(host, ok[i].host);
		assert_int_equal(port, ok[i].port);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (client_parse_target(bad[i], host, sizeof(host), &port) == 0)
			fail_msg("'%s' was taken", bad[i]);
	assert_int_not_equal(client_parse_target("abcdef:22", host, 4, &port),
	    0);
}

struct relay_arg {
	int in, out, sock, rc;
	char err[256];
};

static void *
relay_thread(void *p)
{
	struct relay_arg *a = p;

	a->rc = client_relay(a->in, a->out, a->sock, a->err, sizeof(a->err));
	return NULL;
}

static size_t
read_all(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap && (n = read(fd, buf + got, cap - got)) > 0)
		got += (size_t)n;
	return got;
}

/* in's end of file reaches the peer as a half-close; the peer still
 * answers after it; the peer's close ends the relay and closes out. */
static void
test_relay_half_close(void **state)
{
	struct relay_arg a;
	pthread_t t;
	int in[2], out[2], sp[2];
	char buf[64];
	size_t n;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	memset(&a, 0, sizeof(a));
	a.in = in[0];
	a.out = out[1];
	a.sock = sp[0];
	assert_int_equal(pthread_create(&t, NULL, relay_thread, &a), 0);
	assert_int_equal(write(in[1], "ping", 4), 4);
	close(in[1]);
	/* the peer reads to end of file: only the half-close gives it */
	n = read_all(sp[1], buf, sizeof(buf));
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(write(sp[1], "pong", 4), 4);
	close(sp[1]);
	n = read_all(out[0], buf, sizeof(buf));
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "pong", 4);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(a.rc, 0);
	close(in[0]);
	close(out[0]);
	close(sp[0]);
}

/* The peer closes first: out is closed at once, and the relay ends when
 * in ends. */
static void
test_relay_peer_first(void **state)
{
	struct relay_arg a;
	pthread_t t;
	int in[2], out[2], sp[2];
	char buf[64];

	(void)state;
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	memset(&a, 0, sizeof(a));
	a.in = in[0];
	a.out = out[1];
	a.sock = sp[0];
	assert_int_equal(pthread_create(&t, NULL, relay_thread, &a), 0);
	assert_int_equal(write(sp[1], "bye", 3), 3);
	close(sp[1]);
	assert_int_equal(read_all(out[0], buf, sizeof(buf)), 3);
	close(in[1]);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(a.rc, 0);
	close(in[0]);
	close(out[0]);
	close(sp[0]);
}

/* A TCP connect: refused at once on a closed port, within the deadline
 * when nothing answers, connected to a listener. */
static void
test_tcp_connect(void **state)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char err[256], addr[64];
	int l, fd = -1;
	uint16_t port;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((l = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	/* bound, not listening: refused */
	assert_int_equal(client_tcp_connect("127.0.0.1", port, 1000, &fd, addr,
	    sizeof(addr), err, sizeof(err)), SL_ESYS);
	assert_int_equal(errno, ECONNREFUSED);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(err, "127.0.0.1 port"));
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(client_tcp_connect("127.0.0.1", port, 1000, &fd, addr,
	    sizeof(addr), err, sizeof(err)), 0);
	assert_true(fd >= 0);
	assert_string_equal(addr, "127.0.0.1");
	close(fd);
	close(l);
	assert_int_equal(client_tcp_connect("no-such-host.invalid", 22, 1000,
	    &fd, addr, sizeof(addr), err, sizeof(err)), SL_ESYS);
	assert_non_null(strstr(err, "cannot resolve"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_target),
		cmocka_unit_test(test_relay_half_close),
		cmocka_unit_test(test_relay_peer_first),
		cmocka_unit_test(test_tcp_connect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
