/*
 * test_net.c - the knock sockets on real loopback sockets: a server that
 * takes both formats gets two sockets per address, and the kernel queues
 * 559-byte datagrams on the format-2 one and everything else on the
 * format-1 one (127.0.0.1, ::1 and the dual-stack [::], IPv4 and IPv6
 * senders); a format-2 knock still arrives while the format-1 queue is
 * full (and, for contrast, is lost when both share one queue); a server
 * with one format, or no room for two entries, gets one socket; nobody
 * else can take the port or a share of its datagrams; and net_recv_batch
 * gives a 559-byte datagram whole.  No privileges needed (the part about
 * another user runs as root only).
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "config.h"
#include "knock2.h"
#include "net.h"

#define MAXS 8

struct fx {
	struct net_sock socks[MAXS];
	unsigned n;
	uint16_t port;
	int tx4, tx6;            /* senders: 127.0.0.1, ::1 */
};

/* A port free on 127.0.0.1, ::1 and [::] (as far as a moment ago). */
static uint16_t
free_port(void)
{
	struct sockaddr_in6 sin6;
	socklen_t sl = sizeof(sin6);
	int fd, off = 0;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
	    sizeof(off)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin6, sl), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin6, &sl), 0);
	close(fd);
	return ntohs(sin6.sin6_port);
}

static int
udp_sender(int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	return fd;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->port = free_port();
	f->tx4 = udp_sender(AF_INET);
	f->tx6 = udp_sender(AF_INET6);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	unsigned i;

	for (i = 0; i < f->n; i++)
		close(f->socks[i].fd);
	close(f->tx4);
	close(f->tx6);
	free(f);
	return 0;
}

static struct cfg_server
server(const char *bind_ip, uint16_t port, bool format1, bool format2)
{
	struct cfg_server s;

	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "t");
	snprintf(s.bind_ip, sizeof(s.bind_ip), "%s", bind_ip);
	s.enabled = true;
	s.port = port;
	s.format1 = format1;
	s.format2 = format2;
	return s;
}

/* open srv into the fixture; err must come back "" (no fallback) */
static void
open_ok(struct fx *f, const struct cfg_server *srv, unsigned want)
{
	char err[256] = "stale";
	unsigned before = f->n;

	assert_int_equal(net_open_server(srv, 7, f->socks, &f->n, MAXS, err,
	    sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(f->n - before, want);
	assert_int_equal(f->socks[before].server_idx, 7);
}

/* size bytes (mark in each) from the sender of dst's family to dst:port */
static void
send_size(struct fx *f, const char *dst, size_t size, uint8_t mark)
{
	static uint8_t buf[2048];
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	ssize_t n;

	memset(buf, mark, sizeof(buf));
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, dst, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons(f->port);
		n = sendto(f->tx4, buf, size, 0, (struct sockaddr *)&sin,
		    sizeof(sin));
	} else {
		assert_int_equal(inet_pton(AF_INET6, dst, &sin6.sin6_addr), 1);
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(f->port);
		n = sendto(f->tx6, buf, size, 0, (struct sockaddr *)&sin6,
		    sizeof(sin6));
	}
	assert_int_equal(n, (ssize_t)size);
}

/* the next datagram on fd (waiting up to ms): its true length, or -1 */
static ssize_t
recv_len(int fd, int ms, uint8_t *mark)
{
	uint8_t buf[2048];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return -1;
	n = recv(fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
	if (n > 0 && mark != NULL)
		*mark = buf[n - 1];
	return n;
}

/* The datagram just sent is on socks[at] (size, mark), and no socket
 * among socks[first .. first + n) has anything else. */
static void
expect_on(struct fx *f, unsigned first, unsigned n, unsigned at,
    size_t size, uint8_t mark)
{
	uint8_t got = 0;
	unsigned i;

	assert_int_equal(recv_len(f->socks[at].fd, 2000, &got), (ssize_t)size);
	assert_int_equal(got, mark);
	for (i = first; i < first + n; i++)
		assert_int_equal(recv_len(f->socks[i].fd, 0, NULL), -1);
}

/* Sizes around both knocks: 551 and 567 would land on the format-2
 * socket if the program saw the UDP header (8 bytes) or the payload
 * counted twice. */
static const size_t other_sizes[] = {
	0, 1, 248, 255, 256, 257, 264, 551, 558, 560, 567, 1000,
};

/* Every size to dst; 559 must reach socks[first + 1], the rest
 * socks[first]. */
static void
check_steering(struct fx *f, const char *dst, unsigned first)
{
	size_t i;

	for (i = 0; i < sizeof(other_sizes) / sizeof(other_sizes[0]); i++) {
		send_size(f, dst, other_sizes[i], (uint8_t)(0x40 + i));
		if (other_sizes[i] == 0)   /* nothing to carry the mark */
			assert_int_equal(recv_len(f->socks[first].fd, 2000,
			    NULL), 0);
		else
			expect_on(f, first, 2, first, other_sizes[i],
			    (uint8_t)(0x40 + i));
		send_size(f, dst, K2_DGRAM_LEN, (uint8_t)(0x80 + i));
		expect_on(f, first, 2, first + 1, K2_DGRAM_LEN,
		    (uint8_t)(0x80 + i));
	}
}

/* Pairs on 127.0.0.1 and ::1 at one port: format 1 then format 2, each
 * size where it belongs. */
static void
test_pair_steers(void **state)
{
	struct fx *f = *state;
	struct cfg_server s4 = server("127.0.0.1", f->port, true, true);
	struct cfg_server s6 = server("::1", f->port, true, true);
	char want[96];

	open_ok(f, &s4, 2);
	open_ok(f, &s6, 2);
	assert_int_equal(f->socks[0].format, NET_FMT_1);
	assert_int_equal(f->socks[1].format, NET_FMT_2);
	assert_int_equal(f->socks[2].format, NET_FMT_1);
	assert_int_equal(f->socks[3].format, NET_FMT_2);
	snprintf(want, sizeof(want), "127.0.0.1:%u (format 1)", f->port);
	assert_string_equal(f->socks[0].desc, want);
	snprintf(want, sizeof(want), "[::1]:%u (format 2)", f->port);
	assert_string_equal(f->socks[3].desc, want);
	check_steering(f, "127.0.0.1", 0);
	check_steering(f, "::1", 2);
}

/* All addresses: one dual-stack pair takes IPv4 and IPv6 senders. */
static void
test_pair_dual_stack(void **state)
{
	struct fx *f = *state;
	struct cfg_server s = server("", f->port, true, true);

	open_ok(f, &s, 2);
	assert_int_equal(f->socks[0].format, NET_FMT_1);
	assert_int_equal(f->socks[1].format, NET_FMT_2);
	check_steering(f, "127.0.0.1", 0);
	check_steering(f, "::1", 0);
}

/* Datagrams the kernel dropped on fd for want of room. */
static uint32_t
sock_drops(int fd)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t ml = sizeof(mem);

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &ml), 0);
	return mem[SK_MEMINFO_DROPS];
}

/* Shrink fd's receive queue, then send 256-byte junk to it (never read)
 * until the kernel drops some: the queue is full. */
static void
fill_queue(struct fx *f, int fd)
{
	int small = 1, i;

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small,
	    sizeof(small)), 0);
	for (i = 0; i < 10000 && sock_drops(fd) < 10; i++)
		send_size(f, "127.0.0.1", SL_DGRAM_LEN, 0x11);
	assert_true(sock_drops(fd) >= 10);
}

/* A flood of 256-byte junk fills the format-1 queue: a 559-byte knock
 * still arrives, on the format-2 socket.  For contrast, on a server whose
 * formats share one socket, the same flood costs the knock. */
static void
test_full_format1_queue(void **state)
{
	struct fx *f = *state;
	struct cfg_server s = server("127.0.0.1", f->port, true, true);
	struct cfg_server one;
	uint32_t d0;
	uint8_t got = 0;
	int i;

	open_ok(f, &s, 2);
	fill_queue(f, f->socks[0].fd);
	d0 = sock_drops(f->socks[0].fd);
	for (i = 0; i < 3; i++) {
		send_size(f, "127.0.0.1", K2_DGRAM_LEN, (uint8_t)(0xc0 + i));
		assert_int_equal(recv_len(f->socks[1].fd, 2000, &got),
		    K2_DGRAM_LEN);
		assert_int_equal(got, 0xc0 + i);
	}
	assert_int_equal(sock_drops(f->socks[1].fd), 0);
	/* more junk is still dropped on the full format-1 socket */
	send_size(f, "127.0.0.1", SL_DGRAM_LEN, 0x12);
	assert_true(sock_drops(f->socks[0].fd) > d0);

	/* one shared queue (format 1 only: every size arrives on it) */
	one = server("::1", f->port, true, false);
	open_ok(f, &one, 1);
	assert_int_equal(f->socks[2].format, NET_FMT_1);
	d0 = sock_drops(f->socks[2].fd);
	{
		int small = 1;
		uint8_t buf[2048];
		ssize_t n;

		assert_int_equal(setsockopt(f->socks[2].fd, SOL_SOCKET,
		    SO_RCVBUF, &small, sizeof(small)), 0);
		for (i = 0; i < 10000 && sock_drops(f->socks[2].fd) < d0 + 10;
		    i++)
			send_size(f, "::1", SL_DGRAM_LEN, 0x13);
		assert_true(sock_drops(f->socks[2].fd) >= d0 + 10);
		d0 = sock_drops(f->socks[2].fd);
		send_size(f, "::1", K2_DGRAM_LEN, 0xcc);
		for (i = 0; i < 200 && sock_drops(f->socks[2].fd) == d0; i++)
			usleep(10000);
		assert_int_equal(sock_drops(f->socks[2].fd), d0 + 1);
		/* nothing but junk is queued */
		while ((n = recv(f->socks[2].fd, buf, sizeof(buf),
		    MSG_TRUNC | MSG_DONTWAIT)) >= 0)
			assert_int_equal(n, SL_DGRAM_LEN);
	}
}

/* One format, neither (not from config_parse), or no room for a pair:
 * one socket, and every size arrives on it. */
static void
test_one_socket(void **state)
{
	struct fx *f = *state;
	struct cfg_server s1 = server("127.0.0.1", f->port, true, false);
	struct cfg_server s2 = server("::1", f->port, false, true);
	struct cfg_server s0, sb;
	char err[256];
	unsigned i;

	open_ok(f, &s1, 1);
	open_ok(f, &s2, 1);
	assert_int_equal(f->socks[0].format, NET_FMT_1);
	assert_int_equal(f->socks[1].format, NET_FMT_2);
	for (i = 0; i < 2; i++) {
		const char *dst = i == 0 ? "127.0.0.1" : "::1";

		send_size(f, dst, SL_DGRAM_LEN, 1);
		expect_on(f, 0, 2, i, SL_DGRAM_LEN, 1);
		send_size(f, dst, K2_DGRAM_LEN, 2);
		expect_on(f, 0, 2, i, K2_DGRAM_LEN, 2);
	}
	close(f->socks[0].fd);
	close(f->socks[1].fd);
	f->n = 0;

	s0 = server("127.0.0.1", f->port, false, false);
	open_ok(f, &s0, 1);
	assert_int_equal(f->socks[0].format, NET_FMT_ANY);

	/* both formats, but room for one entry only: one socket, and err
	 * says why (the daemon logs it) */
	sb = server("::1", f->port, true, true);
	assert_int_equal(net_open_server(&sb, 3, f->socks, &f->n, 2, err,
	    sizeof(err)), 0);
	assert_int_equal(f->n, 2);
	assert_int_equal(f->socks[1].format, NET_FMT_ANY);
	assert_int_equal(f->socks[1].server_idx, 3);
	assert_non_null(strstr(err, "share one receive queue"));
	assert_non_null(strstr(err, "no room"));
	send_size(f, "::1", SL_DGRAM_LEN, 3);
	expect_on(f, 0, 2, 1, SL_DGRAM_LEN, 3);
	send_size(f, "::1", K2_DGRAM_LEN, 4);
	expect_on(f, 0, 2, 1, K2_DGRAM_LEN, 4);
	/* a full table */
	assert_int_equal(net_open_server(&sb, 3, f->socks, &f->n, 2, err,
	    sizeof(err)), SL_EFULL);
	assert_int_equal(f->n, 2);
}

/* a UDP socket with opt (0: none) bound to addr:port; -1 with errno */
static int
try_bind(const char *addr, uint16_t port, int opt)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	int fd, on = 1, e;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sl = sizeof(*sin);
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sl = sizeof(*sin6);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (ss.ss_family == AF_INET6 && strcmp(addr, "::") == 0) {
		int off = 0;

		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
		    sizeof(off));
	}
	if (opt != 0)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, opt, &on,
		    sizeof(on)), 0);
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Another user's socket (SO_REUSEPORT or SO_REUSEADDR) cannot bind the
 * port.  Child of test_others_kept_out, as root: exit status 0 or the
 * step that failed. */
static int
other_user(uint16_t port)
{
	const struct passwd *pw = getpwnam("nobody");
	uid_t uid = pw != NULL ? pw->pw_uid : 65534;
	gid_t gid = pw != NULL ? pw->pw_gid : 65534;
	int fd;

	if (setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0)
		return 10;
	if ((fd = try_bind("::", port, SO_REUSEPORT)) >= 0 ||
	    errno != EADDRINUSE)
		return 11;
	if ((fd = try_bind("127.0.0.1", port, SO_REUSEPORT)) >= 0 ||
	    errno != EADDRINUSE)
		return 12;
	if ((fd = try_bind("127.0.0.1", port, SO_REUSEADDR)) >= 0 ||
	    errno != EADDRINUSE)
		return 13;
	return 0;
}

/* The port stays ours: a socket with SO_REUSEADDR, or none, cannot bind
 * it, on the same or a more specific address; one with SO_REUSEPORT (the
 * same owner: the kernel lets it join the group) gets none of the
 * datagrams; another user cannot bind it at all. */
static void
test_others_kept_out(void **state)
{
	struct fx *f = *state;
	struct cfg_server s = server("", f->port, true, true);
	int fd, i, st;
	pid_t pid;

	open_ok(f, &s, 2);
	assert_int_equal(try_bind("::", f->port, 0), -1);
	assert_int_equal(errno, EADDRINUSE);
	assert_int_equal(try_bind("::", f->port, SO_REUSEADDR), -1);
	assert_int_equal(errno, EADDRINUSE);
	assert_int_equal(try_bind("127.0.0.1", f->port, SO_REUSEADDR), -1);
	assert_int_equal(errno, EADDRINUSE);
	assert_int_equal(try_bind("::1", f->port, SO_REUSEADDR), -1);
	assert_int_equal(errno, EADDRINUSE);

	fd = try_bind("::", f->port, SO_REUSEPORT);
	if (fd >= 0) {
		fprintf(stderr, "# a socket of the same owner joined the "
		    "group; it must get nothing\n");
		for (i = 0; i < 20; i++) {
			send_size(f, i % 2 ? "::1" : "127.0.0.1",
			    i % 4 < 2 ? SL_DGRAM_LEN : K2_DGRAM_LEN,
			    (uint8_t)i);
			expect_on(f, 0, 2, i % 4 < 2 ? 0 : 1,
			    i % 4 < 2 ? SL_DGRAM_LEN : K2_DGRAM_LEN,
			    (uint8_t)i);
			assert_int_equal(recv_len(fd, 0, NULL), -1);
		}
		close(fd);
	}
	/* the group still steers after the third socket left */
	check_steering(f, "127.0.0.1", 0);

	if (geteuid() != 0)
		return;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(other_user(f->port));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A port someone holds, even with SO_REUSEPORT (a group of theirs that
 * the pair would otherwise join), is refused, whole: nothing appended. */
static void
test_port_taken(void **state)
{
	struct fx *f = *state;
	struct cfg_server s = server("127.0.0.1", f->port, true, true);
	char err[256];
	int fd;

	fd = try_bind("127.0.0.1", f->port, SO_REUSEPORT);
	assert_true(fd >= 0);
	assert_int_equal(net_open_server(&s, 0, f->socks, &f->n, MAXS, err,
	    sizeof(err)), SL_ESYS);
	assert_int_equal(f->n, 0);
	assert_non_null(strstr(err, "Address already in use"));
	close(fd);
	open_ok(f, &s, 2);
}

/* Up to want datagrams from fd into b, in as many batches as it takes
 * (2 s at most); their lengths into lens.  How many. */
static int
batch_lens(int fd, struct net_batch *b, size_t *lens, int want)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct sl_addr src;
	int got = 0, n, i, tries;

	for (tries = 0; got < want && tries < 20; tries++) {
		if (poll(&p, 1, 100) != 1)
			continue;
		n = net_recv_batch(fd, b, want - got);
		assert_true(n >= 0);
		for (i = 0; i < n; i++)
			(void)net_batch_get(b, i, &lens[got + i], &src);
		got += n;
	}
	return got;
}

/* net_recv_batch takes a format-2 knock whole, and sees a longer
 * datagram as longer. */
static void
test_batch_k2(void **state)
{
	static struct net_batch b;
	struct fx *f = *state;
	struct cfg_server s = server("127.0.0.1", f->port, true, true);
	struct sl_addr src;
	const uint8_t *d;
	size_t len, lens[1];

	open_ok(f, &s, 2);
	net_batch_init(&b);
	send_size(f, "127.0.0.1", K2_DGRAM_LEN, 0x5a);
	assert_int_equal(batch_lens(f->socks[1].fd, &b, lens, 1), 1);
	d = net_batch_get(&b, 0, &len, &src);
	assert_int_equal(len, K2_DGRAM_LEN);
	assert_int_equal(d[0], 0x5a);
	assert_int_equal(d[K2_DGRAM_LEN - 1], 0x5a);
	assert_int_equal(src.family, AF_INET);
	send_size(f, "127.0.0.1", SL_DGRAM_LEN, 0x5b);
	assert_int_equal(batch_lens(f->socks[0].fd, &b, lens, 1), 1);
	assert_int_equal(lens[0], SL_DGRAM_LEN);
	send_size(f, "127.0.0.1", K2_DGRAM_LEN + 1, 0x5c);
	assert_int_equal(batch_lens(f->socks[0].fd, &b, lens, 1), 1);
	d = net_batch_get(&b, 0, &len, &src);
	assert_int_equal(len, K2_DGRAM_LEN + 1);
	assert_int_equal(d[K2_DGRAM_LEN], 0x5c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pair_steers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pair_dual_stack, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_full_format1_queue, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_one_socket, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_others_kept_out, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_port_taken, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_batch_k2, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
