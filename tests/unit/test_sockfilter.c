/*
 * test_sockfilter.c - the eBPF socket filter on real loopback sockets (as
 * root; skipped otherwise, or when the kernel refuses the program): wrong
 * sizes (seen by the filter as UDP header + payload) are dropped and
 * counted, 256-byte datagrams pass, blocked sources (IPv4 on a dual-stack
 * and on an IPv4 socket, IPv6) are dropped until their expiry or unblock;
 * 559-byte (format-2) datagrams pass untested until tag filtering is on,
 * then only with a tag in the map, and never count against a blocked
 * source; and the maps can still be updated through the open descriptors
 * by a process that has given up root.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "knock2.h"
#include "sockfilter.h"

#define BLOCK_NS 1000000000ull  /* the brief's "now + 1 s" */
#define TAGS     16             /* the fixture's tag map */

struct fx {
	struct sockfilter *sf;
	int ds, v4;              /* receivers: [::]:ds_port, 127.0.0.1:v4_port */
	uint16_t ds_port, v4_port;
	int tx1, tx2, tx6;       /* senders: 127.0.0.1, 127.0.0.2, ::1 */
	struct sockfilter_counts want;
	char why[512];           /* why the tests are skipped */
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The literal as written: unlike testutil.h's tu_addr, a v4-mapped IPv6
 * literal stays IPv6, to show the filter gives both forms one entry. */
static struct sl_addr
mkaddr(const char *s)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sl_addr a;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, &sin.sin_addr) == 1) {
		a.family = AF_INET;
		memcpy(a.bytes, &sin.sin_addr, 4);
	} else {
		assert_int_equal(inet_pton(AF_INET6, s, &sin6.sin6_addr), 1);
		a.family = AF_INET6;   /* kept as given, v4-mapped too */
		memcpy(a.bytes, &sin6.sin6_addr, 16);
	}
	return a;
}

/* a UDP socket bound to addr:0; its port into *port */
static int
udp_bound(const char *addr, uint16_t *port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	int fd, off = 0;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sl = sizeof(*sin);
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
		sl = sizeof(*sin6);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (ss.ss_family == AF_INET6)
		assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
		    sizeof(off)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, sl), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	if (port != NULL)
		*port = ntohs(ss.ss_family == AF_INET ? sin->sin_port :
		    sin6->sin6_port);
	return fd;
}

static int
kernel_at_least(int major, int minor)
{
	struct utsname u;
	int a = 0, b = 0;

	if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &a, &b) != 2)
		return 0;
	return a > major || (a == major && b >= minor);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int r;

	assert_non_null(f);
	*state = f;
	f->ds = f->v4 = f->tx1 = f->tx2 = f->tx6 = -1;
	if (geteuid() != 0) {
		snprintf(f->why, sizeof(f->why), "not root");
		return 0;
	}
	r = sockfilter_new_k2(&f->sf, 64, TAGS, f->why, sizeof(f->why));
	/* the verifier refusing our program where every helper and map
	 * type it uses exists is a bug in the program, not a reason to skip */
	if (r == SL_ENOTSUP && strstr(f->why, "verifier") != NULL &&
	    kernel_at_least(4, 18))
		fail_msg("%s", f->why);
	if (r == SL_ENOTSUP)
		return 0;   /* f->why says why */
	if (r != 0)
		fail_msg("sockfilter_new: %s", f->why);
	f->ds = udp_bound("::", &f->ds_port);
	f->v4 = udp_bound("127.0.0.1", &f->v4_port);
	f->tx1 = udp_bound("127.0.0.1", NULL);
	f->tx2 = udp_bound("127.0.0.2", NULL);
	f->tx6 = udp_bound("::1", NULL);
	assert_int_equal(sockfilter_attach(f->sf, f->ds), 0);
	assert_int_equal(sockfilter_attach(f->sf, f->v4), 0);
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f->ds >= 0)
		close(f->ds);
	if (f->v4 >= 0)
		close(f->v4);
	if (f->tx1 >= 0)
		close(f->tx1);
	if (f->tx2 >= 0)
		close(f->tx2);
	if (f->tx6 >= 0)
		close(f->tx6);
	sockfilter_free(f->sf);
	free(f);
	return 0;
}

static struct fx *
fx_or_skip(void **state)
{
	struct fx *f = *state;

	if (f->sf == NULL) {
		fprintf(stderr, "# skipped: %s\n", f->why);
		skip();
	}
	return f;
}

/* send size bytes of buf from tx to the receiver rx (its own family's
 * loopback address) */
static void
send_buf(struct fx *f, int tx, int rx, const uint8_t *buf, size_t size)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	const struct sockaddr *sa;
	socklen_t sl;
	uint16_t port = rx == f->ds ? f->ds_port : f->v4_port;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (tx == f->tx6) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_addr = in6addr_loopback;
		sin6.sin6_port = htons(port);
		sa = (const struct sockaddr *)&sin6;
		sl = sizeof(sin6);
	} else {
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons(port);
		sa = (const struct sockaddr *)&sin;
		sl = sizeof(sin);
	}
	assert_int_equal(sendto(tx, buf, size, 0, sa, sl), (ssize_t)size);
}

/* send size bytes of tag */
static void
send_to(struct fx *f, int tx, int rx, size_t size, uint8_t tag)
{
	static uint8_t buf[2048];

	memset(buf, tag, sizeof(buf));
	send_buf(f, tx, rx, buf, size);
}

/* a format-2 datagram: k2tag, then mark to the end */
static void
send_k2(struct fx *f, int tx, int rx, const uint8_t k2tag[K2_TAG_LEN],
    uint8_t mark)
{
	uint8_t buf[K2_DGRAM_LEN];

	memset(buf, mark, sizeof(buf));
	memcpy(buf, k2tag, K2_TAG_LEN);
	send_buf(f, tx, rx, buf, sizeof(buf));
}

/* Wait (up to 3 s) until the counters are f->want; fail if they are not. */
static void
expect_counts(struct fx *f)
{
	struct sockfilter_counts c;
	int i;

	for (i = 0; i < 300; i++) {
		assert_int_equal(sockfilter_counters(f->sf, &c), 0);
		if (memcmp(&c, &f->want, sizeof(c)) == 0)
			return;
		usleep(10000);
	}
	fprintf(stderr, "# counters: length %llu/%llu blocked %llu/%llu "
	    "passed %llu/%llu noaddr %llu/%llu tag %llu/%llu k2 %llu/%llu "
	    "(got/want)\n",
	    (unsigned long long)c.dropped_length,
	    (unsigned long long)f->want.dropped_length,
	    (unsigned long long)c.dropped_blocked,
	    (unsigned long long)f->want.dropped_blocked,
	    (unsigned long long)c.passed, (unsigned long long)f->want.passed,
	    (unsigned long long)c.passed_noaddr,
	    (unsigned long long)f->want.passed_noaddr,
	    (unsigned long long)c.dropped_tag,
	    (unsigned long long)f->want.dropped_tag,
	    (unsigned long long)c.passed_k2,
	    (unsigned long long)f->want.passed_k2);
	fail_msg("filter counters differ");
}

/* The next datagram on rx is size bytes ending in tag; then nothing more
 * is queued. */
static void
expect_recv_len(int rx, size_t size, uint8_t tag)
{
	uint8_t buf[2048];
	struct pollfd p = { .fd = rx, .events = POLLIN };
	ssize_t n;

	assert_int_equal(poll(&p, 1, 2000), 1);
	n = recv(rx, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
	assert_int_equal(n, (ssize_t)size);
	assert_int_equal(buf[size - 1], tag);
	n = recv(rx, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
	assert_int_equal(n, -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

/* The next datagram on rx is a 256-byte one of tag, and the only one. */
static void
expect_recv(int rx, uint8_t tag)
{
	expect_recv_len(rx, SL_DGRAM_LEN, tag);
}

/* a 256-byte datagram from tx that must pass and arrive */
static void
expect_pass(struct fx *f, int tx, int rx, uint8_t tag)
{
	send_to(f, tx, rx, SL_DGRAM_LEN, tag);
	f->want.passed++;
	expect_counts(f);
	expect_recv(rx, tag);
}

/* a 256-byte datagram from tx that must be dropped as blocked */
static void
expect_blocked(struct fx *f, int tx, int rx, uint8_t tag)
{
	send_to(f, tx, rx, SL_DGRAM_LEN, tag);
	f->want.dropped_blocked++;
	expect_counts(f);
}

/* a format-2 datagram from tx that must pass (passed_k2) and arrive */
static void
expect_k2_pass(struct fx *f, int tx, int rx, const uint8_t k2tag[K2_TAG_LEN],
    uint8_t mark)
{
	send_k2(f, tx, rx, k2tag, mark);
	f->want.passed_k2++;
	expect_counts(f);
	expect_recv_len(rx, K2_DGRAM_LEN, mark);
}

/* a format-2 datagram from tx that must be dropped for its tag */
static void
expect_k2_dropped(struct fx *f, int tx, int rx,
    const uint8_t k2tag[K2_TAG_LEN], uint8_t mark)
{
	send_k2(f, tx, rx, k2tag, mark);
	f->want.dropped_tag++;
	expect_counts(f);
}

/* Wrong sizes from each sender to each receiver: dropped, counted, and a
 * 256-byte datagram sent after them is the only thing that arrives.  248
 * and 264 catch a filter off by the 8-byte UDP header either way, as 551
 * and 567 do for format 2. */
static void
test_wrong_sizes_dropped(void **state)
{
	static const size_t sizes[] = {
		0, 1, 248, 255, 257, 264, 551, 558, 560, 567, 1000,
	};
	struct fx *f = fx_or_skip(state);
	struct { int tx, rx; } path[] = {
		{ f->tx1, f->ds }, { f->tx2, f->ds }, { f->tx6, f->ds },
		{ f->tx1, f->v4 }, { f->tx2, f->v4 },
	};
	size_t p, i;

	for (p = 0; p < sizeof(path) / sizeof(path[0]); p++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			send_to(f, path[p].tx, path[p].rx, sizes[i],
			    (uint8_t)(0x10 + i));
			f->want.dropped_length++;
		}
		expect_counts(f);
		expect_pass(f, path[p].tx, path[p].rx, (uint8_t)(0xa0 + p));
	}
}

/* Block 127.0.0.2 and ::1 until now + 1 s: their 256-byte datagrams are
 * dropped (dual-stack and IPv4 sockets) while 127.0.0.1's arrive; after the
 * expiry they arrive again.  An expiry in the past blocks nothing. */
static void
test_block_until_expiry(void **state)
{
	struct fx *f = fx_or_skip(state);
	struct sl_addr a2 = mkaddr("127.0.0.2"), a6 = mkaddr("::1");
	uint64_t until = mono_ns() + BLOCK_NS;
	struct timespec ts;

	/* not blocked yet */
	expect_pass(f, f->tx2, f->ds, 1);
	expect_pass(f, f->tx6, f->ds, 2);

	assert_int_equal(sockfilter_block(f->sf, &a2, until), 0);
	assert_int_equal(sockfilter_block(f->sf, &a6, until), 0);
	expect_blocked(f, f->tx2, f->ds, 3);
	expect_blocked(f, f->tx2, f->v4, 4);
	expect_blocked(f, f->tx6, f->ds, 5);
	expect_pass(f, f->tx1, f->ds, 6);   /* also: nothing else queued */
	expect_pass(f, f->tx1, f->v4, 7);
	/* still 256 bytes or bust: wrong sizes count as length drops */
	send_to(f, f->tx2, f->ds, 100, 8);
	f->want.dropped_length++;
	expect_counts(f);
	assert_true(mono_ns() < until);  /* else the VM stalled: inconclusive */

	/* past the expiry (the entries stay in the map) */
	ts.tv_sec = 0;
	ts.tv_nsec = 100000000;
	while (mono_ns() <= until)
		nanosleep(&ts, NULL);
	expect_pass(f, f->tx2, f->ds, 9);
	expect_pass(f, f->tx2, f->v4, 10);
	expect_pass(f, f->tx6, f->ds, 11);

	/* an expiry already past blocks nothing */
	assert_int_equal(sockfilter_block(f->sf, &a2, mono_ns() - 1), 0);
	expect_pass(f, f->tx2, f->ds, 12);
}

/* Unblock; and IPv4 and v4-mapped IPv6 are the same entry. */
static void
test_unblock_and_mapped(void **state)
{
	struct fx *f = fx_or_skip(state);
	struct sl_addr a2 = mkaddr("127.0.0.2"), m2 = mkaddr("::ffff:127.0.0.2");
	struct sl_addr a6 = mkaddr("::1"), bad;
	uint64_t far = mono_ns() + 3600 * BLOCK_NS;

	/* blocked as ::ffff:127.0.0.2: IPv4 packets from 127.0.0.2 drop */
	assert_int_equal(sockfilter_block(f->sf, &m2, far), 0);
	expect_blocked(f, f->tx2, f->ds, 1);
	expect_blocked(f, f->tx2, f->v4, 2);
	expect_pass(f, f->tx1, f->ds, 3);
	/* unblocked as 127.0.0.2 */
	assert_int_equal(sockfilter_unblock(f->sf, &a2), 0);
	expect_pass(f, f->tx2, f->ds, 4);
	expect_pass(f, f->tx2, f->v4, 5);
	assert_int_equal(sockfilter_unblock(f->sf, &a2), SL_ENOENT);

	assert_int_equal(sockfilter_block(f->sf, &a6, far), 0);
	expect_blocked(f, f->tx6, f->ds, 6);
	expect_pass(f, f->tx2, f->ds, 7);
	assert_int_equal(sockfilter_unblock(f->sf, &a6), 0);
	expect_pass(f, f->tx6, f->ds, 8);

	memset(&bad, 0, sizeof(bad));
	assert_int_equal(sockfilter_block(f->sf, &bad, far), SL_EINVAL);
	assert_int_equal(sockfilter_unblock(f->sf, &bad), SL_EINVAL);
}

/* A block map of 2 entries takes any number of blocks (LRU): the oldest
 * is forgotten, the newest hold. */
static void
test_lru_full(void **state)
{
	struct fx *f = fx_or_skip(state);
	struct sockfilter *small = NULL;
	struct sl_addr a = mkaddr("10.0.0.1"), a2 = mkaddr("127.0.0.2");
	char err[256];
	int i;

	assert_int_equal(sockfilter_new_k2(&small, 2, 1, err, sizeof(err)), 0);
	assert_int_equal(sockfilter_attach(small, f->ds), 0);  /* replaces */
	for (i = 0; i < 100; i++) {
		a.bytes[3] = (uint8_t)i;
		assert_int_equal(sockfilter_block(small, &a, mono_ns() +
		    BLOCK_NS), 0);
	}
	assert_int_equal(sockfilter_block(small, &a2, mono_ns() + 60 *
	    BLOCK_NS), 0);
	send_to(f, f->tx2, f->ds, SL_DGRAM_LEN, 1);
	{
		struct sockfilter_counts c;

		for (i = 0; i < 300; i++) {
			assert_int_equal(sockfilter_counters(small, &c), 0);
			if (c.dropped_blocked == 1)
				break;
			usleep(10000);
		}
		assert_int_equal(c.dropped_blocked, 1);
		assert_int_equal(c.passed, 0);
	}
	/* the first filter no longer sees the dual-stack socket's traffic */
	expect_counts(f);
	sockfilter_free(small);
	assert_int_equal(sockfilter_new_k2(&small, 0, 1, err, sizeof(err)),
	    SL_EINVAL);
	assert_null(small);
}

/* Tags off (the start): 559-byte datagrams pass untested, whatever their
 * tag, on every path; the 256-byte ones are unaffected. */
static void
test_k2_untested_when_off(void **state)
{
	static const uint8_t t[K2_TAG_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct fx *f = fx_or_skip(state);

	expect_k2_pass(f, f->tx1, f->ds, t, 1);
	expect_k2_pass(f, f->tx2, f->ds, t, 2);
	expect_k2_pass(f, f->tx6, f->ds, t, 3);
	expect_k2_pass(f, f->tx1, f->v4, t, 4);
	expect_pass(f, f->tx1, f->ds, 5);
	/* a tag in the map changes nothing while filtering is off */
	assert_int_equal(sockfilter_tag_add(f->sf, t), 0);
	assert_int_equal(sockfilter_tags_enable(f->sf, false), 0);
	expect_k2_pass(f, f->tx2, f->v4, (const uint8_t *)"\xff\xff\xff"
	    "\xff\xff\xff\xff\xff", 6);
}

/* Tags on: a known tag passes, an unknown one is dropped and counted, on
 * the dual-stack (IPv4 and IPv6) and the IPv4 socket; deleting a tag
 * drops it; an empty map drops every 559-byte datagram; off again, they
 * all pass.  Tags are compared as the bytes they are on the wire, so a
 * tag that differs in its first or last byte only is unknown. */
static void
test_k2_tags(void **state)
{
	static const uint8_t t1[K2_TAG_LEN] = {
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	static const uint8_t t2[K2_TAG_LEN] = {
		0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87 };
	uint8_t first[K2_TAG_LEN], last[K2_TAG_LEN];
	struct fx *f = fx_or_skip(state);

	memcpy(first, t1, sizeof(first));
	first[0] ^= 1;
	memcpy(last, t1, sizeof(last));
	last[K2_TAG_LEN - 1] ^= 0x80;
	assert_int_equal(sockfilter_tag_add(f->sf, t1), 0);
	assert_int_equal(sockfilter_tag_add(f->sf, t1), 0);  /* again: fine */
	assert_int_equal(sockfilter_tags_enable(f->sf, true), 0);
	expect_k2_pass(f, f->tx1, f->ds, t1, 1);
	expect_k2_pass(f, f->tx6, f->ds, t1, 2);
	expect_k2_pass(f, f->tx2, f->v4, t1, 3);
	expect_k2_dropped(f, f->tx1, f->ds, t2, 4);
	expect_k2_dropped(f, f->tx6, f->ds, t2, 5);
	expect_k2_dropped(f, f->tx2, f->v4, t2, 6);
	expect_k2_dropped(f, f->tx1, f->ds, first, 7);
	expect_k2_dropped(f, f->tx1, f->ds, last, 8);
	/* format 1 is not affected by the tags */
	expect_pass(f, f->tx1, f->ds, 9);
	/* wrong sizes still count as such, whatever their first bytes */
	send_to(f, f->tx1, f->ds, K2_DGRAM_LEN - 1, t1[0]);
	f->want.dropped_length++;
	expect_counts(f);

	assert_int_equal(sockfilter_tag_add(f->sf, t2), 0);
	expect_k2_pass(f, f->tx1, f->ds, t2, 10);
	assert_int_equal(sockfilter_tag_del(f->sf, t1), 0);
	assert_int_equal(sockfilter_tag_del(f->sf, t1), SL_ENOENT);
	expect_k2_dropped(f, f->tx1, f->ds, t1, 11);
	expect_k2_pass(f, f->tx6, f->ds, t2, 12);
	assert_int_equal(sockfilter_tag_del(f->sf, t2), 0);
	expect_k2_dropped(f, f->tx6, f->ds, t2, 13);   /* empty map */

	assert_int_equal(sockfilter_tags_enable(f->sf, false), 0);
	expect_k2_pass(f, f->tx1, f->ds, t1, 14);
	expect_k2_pass(f, f->tx6, f->ds, t2, 15);
}

/* A blocked source's 256-byte datagrams are dropped, its 559-byte ones
 * are not: with tags off they pass, with tags on only the tag decides. */
static void
test_k2_ignores_blocks(void **state)
{
	static const uint8_t t[K2_TAG_LEN] = { 'k', 'n', 'o', 'w', 'n', 0, 0, 1 };
	static const uint8_t u[K2_TAG_LEN] = { 'u', 'n', 'k', 'n', 'o', 'w', 'n', 0 };
	struct fx *f = fx_or_skip(state);
	struct sl_addr a2 = mkaddr("127.0.0.2"), a6 = mkaddr("::1");
	uint64_t far = mono_ns() + 3600 * BLOCK_NS;

	assert_int_equal(sockfilter_block(f->sf, &a2, far), 0);
	assert_int_equal(sockfilter_block(f->sf, &a6, far), 0);
	expect_blocked(f, f->tx2, f->ds, 1);
	expect_blocked(f, f->tx2, f->v4, 2);
	expect_blocked(f, f->tx6, f->ds, 3);
	expect_k2_pass(f, f->tx2, f->ds, u, 4);
	expect_k2_pass(f, f->tx2, f->v4, u, 5);
	expect_k2_pass(f, f->tx6, f->ds, u, 6);

	assert_int_equal(sockfilter_tag_add(f->sf, t), 0);
	assert_int_equal(sockfilter_tags_enable(f->sf, true), 0);
	expect_k2_pass(f, f->tx2, f->ds, t, 7);
	expect_k2_pass(f, f->tx6, f->ds, t, 8);
	expect_k2_pass(f, f->tx2, f->v4, t, 9);
	/* unknown: dropped for the tag, not counted as blocked */
	expect_k2_dropped(f, f->tx2, f->ds, u, 10);
	expect_k2_dropped(f, f->tx6, f->ds, u, 11);
	/* still blocked for format 1 */
	expect_blocked(f, f->tx2, f->ds, 12);
	expect_pass(f, f->tx1, f->ds, 13);
}

/* The tag map holds tag_entries tags: one more is SL_EFULL, replacing one
 * that is there is fine, a freed slot can be used again; the bounds of
 * tag_entries. */
static void
test_tag_map_full(void **state)
{
	struct fx *f = fx_or_skip(state);
	struct sockfilter *small = NULL;
	uint8_t t[K2_TAG_LEN];
	char err[256];
	unsigned i;

	(void)f;
	assert_int_equal(sockfilter_new_k2(&small, 4, 3, err, sizeof(err)), 0);
	memset(t, 0x5a, sizeof(t));
	for (i = 0; i < 3; i++) {
		t[0] = (uint8_t)i;
		assert_int_equal(sockfilter_tag_add(small, t), 0);
	}
	t[0] = 3;
	assert_int_equal(sockfilter_tag_add(small, t), SL_EFULL);
	t[0] = 1;
	assert_int_equal(sockfilter_tag_add(small, t), 0);   /* replaced */
	assert_int_equal(sockfilter_tag_del(small, t), 0);
	t[0] = 3;
	assert_int_equal(sockfilter_tag_add(small, t), 0);
	sockfilter_free(small);
	small = NULL;

	assert_int_equal(sockfilter_new_k2(&small, 4, 0, err, sizeof(err)),
	    SL_EINVAL);
	assert_null(small);
	assert_int_equal(sockfilter_new_k2(&small, 4, SOCKFILTER_TAGS_MAX + 1,
	    err, sizeof(err)), SL_EINVAL);
	assert_null(small);
	/* the largest map the daemon may ask for: the kernel takes it */
	assert_int_equal(sockfilter_new_k2(&small, 4, SOCKFILTER_TAGS_MAX,
	    err, sizeof(err)), 0);
	sockfilter_free(small);
	/* the format-1 constructor: a filter whose tag map is one entry */
	assert_int_equal(sockfilter_new(&small, 4, err, sizeof(err)), 0);
	memset(t, 1, sizeof(t));
	assert_int_equal(sockfilter_tag_add(small, t), 0);
	t[0] = 2;
	assert_int_equal(sockfilter_tag_add(small, t), SL_EFULL);
	sockfilter_free(small);
}

/* Child of test_after_dropping_root: give up root (nobody, no groups, no
 * capabilities left), then block 127.0.0.2, unblock ::1 and read the
 * counters through the open descriptors; a new filter must be refused when
 * unprivileged BPF is disabled.  Exit status: 0, or which step failed. */
static int
unprivileged_child(struct sockfilter *sf)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct cap[_LINUX_CAPABILITY_U32S_3];
	const struct passwd *pw = getpwnam("nobody");
	uid_t uid = pw != NULL ? pw->pw_uid : 65534;
	gid_t gid = pw != NULL ? pw->pw_gid : 65534;
	struct sl_addr a2 = mkaddr("127.0.0.2"), a6 = mkaddr("::1");
	struct sockfilter_counts c;
	struct sockfilter *sf2 = NULL;
	char err[256], buf[8] = "";
	FILE *fp;
	int r, i;

	if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0)
		return 10;
	if (syscall(SYS_capget, &hdr, cap) != 0)
		return 11;
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (cap[i].effective != 0 || cap[i].permitted != 0)
			return 12;
	if (geteuid() == 0 || getuid() == 0)
		return 13;
	if ((r = sockfilter_block(sf, &a2, mono_ns() + 3600 * BLOCK_NS)) != 0) {
		fprintf(stderr, "# unprivileged sockfilter_block: %s\n",
		    sl_strerror(r));
		return 20;
	}
	if ((r = sockfilter_unblock(sf, &a6)) != 0) {
		fprintf(stderr, "# unprivileged sockfilter_unblock: %s\n",
		    sl_strerror(r));
		return 21;
	}
	if ((r = sockfilter_counters(sf, &c)) != 0) {
		fprintf(stderr, "# unprivileged sockfilter_counters: %s\n",
		    sl_strerror(r));
		return 22;
	}
	if (c.passed != 2)   /* what the parent sent */
		return 23;
	if ((r = sockfilter_tag_add(sf, (const uint8_t *)"unprivtg")) != 0 ||
	    (r = sockfilter_tag_del(sf, (const uint8_t *)"droptag!")) != 0 ||
	    (r = sockfilter_tags_enable(sf, true)) != 0) {
		fprintf(stderr, "# unprivileged tag map update: %s\n",
		    sl_strerror(r));
		return 24;
	}
	/* with unprivileged BPF disabled, a new filter is refused, clearly */
	if ((fp = fopen("/proc/sys/kernel/unprivileged_bpf_disabled", "r")) !=
	    NULL) {
		if (fgets(buf, sizeof(buf), fp) == NULL)
			buf[0] = '\0';
		fclose(fp);
	}
	if (buf[0] != '\0' && buf[0] != '0') {
		r = sockfilter_new(&sf2, 16, err, sizeof(err));
		fprintf(stderr, "# unprivileged sockfilter_new: %s\n", err);
		if (r != SL_ENOTSUP || sf2 != NULL ||
		    strstr(err, "CAP_BPF") == NULL)
			return 30;
	}
	return 0;
}

static void
test_after_dropping_root(void **state)
{
	struct fx *f = fx_or_skip(state);
	struct sl_addr a6 = mkaddr("::1");
	pid_t pid;
	int st;

	expect_pass(f, f->tx2, f->ds, 1);
	assert_int_equal(sockfilter_block(f->sf, &a6, mono_ns() + 3600 *
	    BLOCK_NS), 0);
	expect_blocked(f, f->tx6, f->ds, 2);
	expect_pass(f, f->tx1, f->ds, 3);
	assert_int_equal(sockfilter_tag_add(f->sf,
	    (const uint8_t *)"droptag!"), 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(unprivileged_child(f->sf));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) >= 20 && WEXITSTATUS(st) < 30)
		fail_msg("map access through the open descriptors refused after "
		    "dropping root (kernel older than 6.5 with "
		    "unprivileged_bpf_disabled set?)");
	assert_int_equal(WEXITSTATUS(st), 0);
	/* what the child did took effect */
	expect_blocked(f, f->tx2, f->ds, 4);
	expect_pass(f, f->tx6, f->ds, 5);
	expect_k2_pass(f, f->tx1, f->ds, (const uint8_t *)"unprivtg", 6);
	expect_k2_dropped(f, f->tx1, f->ds, (const uint8_t *)"droptag!", 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wrong_sizes_dropped, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_block_until_expiry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unblock_and_mapped, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lru_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_k2_untested_when_off, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_k2_tags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_k2_ignores_blocks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tag_map_full, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_after_dropping_root, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
