/*
 * sfsink - the receiving end of bench/sockfilter.sh: siglatchd's socket
 * (net_open_server: dual-stack [::]:PORT, 4 MiB receive buffer) and one of
 * these ways of dropping junk:
 *   user   the user-space path: recvmmsg batches (net_recv_batch), wrong
 *          sizes dropped, then for 256 bytes the real rate limiter
 *          (ratelimit.c, the daemon's default budgets) drops penalised
 *          sources (a datagram it lets through is charged as a failure,
 *          as a failed decryption would be, without the RSA operation),
 *          and for 559 bytes a tag lookup (a keyed hash table of
 *          SINK_TAGS tags, as for 1024 users x 10 epochs) drops unknown
 *          tags
 *   ebpf   the sockfilter program attached, SRC... blocked for an hour,
 *          tag filtering on with SINK_TAGS tags in the map; the same
 *          receive loop (it should never wake)
 *   pair   as ebpf, on the two sockets a server taking both formats has
 *          (net_open_server: one reuseport group, a classic BPF program
 *          steering by length): what the steering adds
 *   cbpf   a classic BPF "ret #0" (SO_ATTACH_FILTER): the cheapest
 *          in-kernel drop there is
 * Usage: sfsink MODE PORT [SRC...]
 *        sfsink testrun REPEAT
 *        sfsink send SRC DST PORT SIZE COUNT
 * testrun: no traffic; BPF_PROG_TEST_RUN runs the sockfilter program
 * REPEAT times in the kernel on crafted packets (wrong size, a blocked
 * IPv4 and IPv6 source, a source not blocked, format 2 with tags off, an
 * unknown and a known tag) and a two-instruction "return 0" eBPF program,
 * and prints the kernel's average ns per run of each: the program's own
 * cost, without the receive path around it.  (The test run starts the
 * program at the IP header, so the crafted packets are 264 and 567 bytes
 * from there, as knocks are from the UDP header, and the "tag" it reads is
 * IP header bytes 8..15.)
 * send: COUNT datagrams of SIZE (1..2048) random bytes (a pool of 256,
 * round-robin) from SRC to DST:PORT in sendmmsg batches of 64, as
 * bench/flood does, which stops at 512 bytes: the sender of the 559-byte
 * runs.
 * Prints "ready" when set up, then runs until SIGTERM/SIGINT and prints
 * one line: its own CPU time since "ready" (getrusage, microseconds),
 * what it received and dropped, the socket's drop count (SO_MEMINFO: the
 * kernel counts filter drops there too) and, for ebpf, the filter's
 * counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "knock2.h"
#include "net.h"
#include "ratelimit.h"
#include "siphash.h"
#include "sockfilter.h"

#define SINK_TAGS   10240               /* 1024 users x 10 epochs */
#define SINK_SLOTS  16384               /* the user-space table */
#define SEND_POOL   256
#define SEND_BATCH  64
#define SEND_MAX    2048

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double
cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* The tags the sink knows: SINK_TAGS pseudo-random ones (never what the
 * senders' random bytes start with, bar a 2^-64 chance). */
static void
sink_tag(unsigned i, uint8_t tag[K2_TAG_LEN])
{
	static const uint8_t key[SIPHASH_KEY_LEN] = "sfsink tags key";
	uint64_t h = siphash24(key, &i, sizeof(i));

	memcpy(tag, &h, K2_TAG_LEN);
}

/* A stand-in for the daemon's tag table: open addressing under a random
 * siphash key. */
struct sink_table {
	uint8_t key[SIPHASH_KEY_LEN];
	uint64_t slot[SINK_SLOTS];          /* 0: empty */
};

static void
table_fill(struct sink_table *t)
{
	uint8_t tag[K2_TAG_LEN];
	uint64_t v;
	unsigned i, j;

	(void)crypto_random(t->key, sizeof(t->key));
	memset(t->slot, 0, sizeof(t->slot));
	for (i = 0; i < SINK_TAGS; i++) {
		sink_tag(i, tag);
		memcpy(&v, tag, sizeof(v));
		j = (unsigned)siphash24(t->key, tag, sizeof(tag)) % SINK_SLOTS;
		while (t->slot[j] != 0)
			j = (j + 1) % SINK_SLOTS;
		t->slot[j] = v;
	}
}

static int
table_has(const struct sink_table *t, const uint8_t *tag)
{
	uint64_t v;
	unsigned j;

	memcpy(&v, tag, sizeof(v));
	j = (unsigned)siphash24(t->key, tag, K2_TAG_LEN) % SINK_SLOTS;
	for (; t->slot[j] != 0; j = (j + 1) % SINK_SLOTS)
		if (t->slot[j] == v)
			return 1;
	return 0;
}

static int
sockaddr_of(const char *s, int port, struct sockaddr_storage *ss,
    socklen_t *sl)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sl = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* sfsink send: bench/flood's loop (random pool, sendmmsg batches) for
 * sizes it does not take. */
static int
send_flood(char **argv)
{
	static uint8_t pool[SEND_POOL][SEND_MAX];
	struct mmsghdr msg[SEND_BATCH];
	struct iovec iov[SEND_BATCH];
	struct sockaddr_storage src, dst;
	socklen_t srcl, dstl;
	long size = atol(argv[3]), count = atol(argv[4]), sent = 0;
	int fd, i, n;

	if (size < 1 || size > SEND_MAX || count < 0 ||
	    sockaddr_of(argv[0], 0, &src, &srcl) != 0 ||
	    sockaddr_of(argv[1], atoi(argv[2]), &dst, &dstl) != 0) {
		fprintf(stderr, "sfsink send: bad arguments\n");
		return 2;
	}
	if (crypto_random(pool, sizeof(pool)) != 0)
		return 1;
	if ((fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&src, srcl) != 0) {
		perror("sfsink send");
		return 1;
	}
	while (sent < count) {
		n = count - sent < SEND_BATCH ? (int)(count - sent) : SEND_BATCH;
		for (i = 0; i < n; i++) {
			iov[i].iov_base = pool[(sent + i) % SEND_POOL];
			iov[i].iov_len = (size_t)size;
			memset(&msg[i], 0, sizeof(msg[i]));
			msg[i].msg_hdr.msg_name = &dst;
			msg[i].msg_hdr.msg_namelen = dstl;
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
		}
		if ((n = sendmmsg(fd, msg, (unsigned)n, 0)) < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR ||
			    errno == ECONNREFUSED)
				continue;
			perror("sfsink send: sendmmsg");
			return 1;
		}
		sent += n;
	}
	close(fd);
	printf("sfsink: sent %ld datagrams\n", sent);
	return 0;
}

static int
parse_addr(const char *s, struct sl_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->bytes) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->bytes) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -1;
}

/* average ns per run of prog on an Ethernet frame carrying pkt */
static long
test_run(int prog, const uint8_t *pkt, size_t len, int v6, uint32_t repeat)
{
	static uint8_t frame[14 + 1024];
	union bpf_attr attr;

	memset(frame, 0, 14);
	frame[12] = v6 ? 0x86 : 0x08;
	frame[13] = v6 ? 0xdd : 0x00;
	memcpy(frame + 14, pkt, len);
	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = (uint32_t)prog;
	attr.test.data_in = (uint64_t)(uintptr_t)frame;
	attr.test.data_size_in = (uint32_t)(14 + len);
	attr.test.repeat = repeat;
	if (syscall(SYS_bpf, BPF_PROG_TEST_RUN, &attr, sizeof(attr)) != 0)
		return -1;
	return (long)attr.test.duration;
}

static int
testrun(uint32_t repeat)
{
	static const struct bpf_insn ret0[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	uint8_t p4[264], p6[264], p2[8 + K2_DGRAM_LEN];
	struct sockfilter *sf = NULL;
	struct sockfilter_counts fc;
	struct sl_addr a;
	union bpf_attr attr;
	char err[1024];
	uint64_t until;
	struct timespec ts;
	int triv, r;

	if ((r = sockfilter_new_k2(&sf, 1024, SINK_TAGS + 1, err,
	    sizeof(err))) != 0) {
		fprintf(stderr, "sfsink: %s\n", err);
		return r == SL_ENOTSUP ? 3 : 1;
	}
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uint64_t)(uintptr_t)ret0;
	attr.insn_cnt = 2;
	attr.license = (uint64_t)(uintptr_t)"siglatch";
	if ((triv = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr,
	    sizeof(attr))) < 0) {
		perror("sfsink: BPF_PROG_LOAD");
		return 1;
	}
	/* IPv4 127.0.7.1 -> 127.0.0.1, IPv6 ::1 -> ::1; 264 bytes each */
	memset(p4, 0, sizeof(p4));
	p4[0] = 0x45;
	p4[2] = sizeof(p4) >> 8;
	p4[3] = sizeof(p4) & 0xff;
	p4[8] = 64;
	p4[9] = IPPROTO_UDP;
	p4[12] = 127; p4[13] = 0; p4[14] = 7; p4[15] = 1;
	p4[16] = 127; p4[17] = 0; p4[18] = 0; p4[19] = 1;
	memset(p6, 0, sizeof(p6));
	p6[0] = 0x60;
	p6[4] = (sizeof(p6) - 40) >> 8;
	p6[5] = (sizeof(p6) - 40) & 0xff;
	p6[6] = IPPROTO_UDP;
	p6[7] = 64;
	p6[23] = 1;
	p6[39] = 1;
	/* 567 bytes from the IPv4 header: the format-2 path */
	memset(p2, 0, sizeof(p2));
	memcpy(p2, p4, 20);
	p2[2] = sizeof(p2) >> 8;
	p2[3] = sizeof(p2) & 0xff;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	until = ((uint64_t)ts.tv_sec + 3600) * 1000000000ull;
	printf("ns per run (kernel BPF_PROG_TEST_RUN, %u runs):", repeat);
	printf(" return0=%ld", test_run(triv, p4, sizeof(p4), 0, repeat));
	printf(" wrong_size=%ld", test_run(sockfilter_prog_fd(sf), p4, 100,
	    0, repeat));
	printf(" v4_not_blocked=%ld", test_run(sockfilter_prog_fd(sf), p4,
	    sizeof(p4), 0, repeat));
	(void)parse_addr("127.0.7.1", &a);
	(void)sockfilter_block(sf, &a, until);
	printf(" v4_blocked=%ld", test_run(sockfilter_prog_fd(sf), p4,
	    sizeof(p4), 0, repeat));
	(void)parse_addr("::1", &a);
	(void)sockfilter_block(sf, &a, until);
	printf(" v6_blocked=%ld\n", test_run(sockfilter_prog_fd(sf), p6,
	    sizeof(p6), 1, repeat));
	printf("ns per run, format 2 (%u tags in the map):", SINK_TAGS);
	printf(" k2_tags_off=%ld", test_run(sockfilter_prog_fd(sf), p2,
	    sizeof(p2), 0, repeat));
	for (r = 0; r < SINK_TAGS; r++) {
		uint8_t tag[K2_TAG_LEN];

		sink_tag((unsigned)r, tag);
		(void)sockfilter_tag_add(sf, tag);
	}
	(void)sockfilter_tags_enable(sf, true);
	printf(" k2_unknown_tag=%ld", test_run(sockfilter_prog_fd(sf), p2,
	    sizeof(p2), 0, repeat));
	(void)sockfilter_tag_add(sf, p2 + 8);
	printf(" k2_known_tag=%ld\n", test_run(sockfilter_prog_fd(sf), p2,
	    sizeof(p2), 0, repeat));
	/* which paths ran: the program counted them */
	if (sockfilter_counters(sf, &fc) == 0)
		printf("counted: dropped_length=%llu passed=%llu "
		    "dropped_blocked=%llu passed_k2=%llu dropped_tag=%llu\n",
		    (unsigned long long)fc.dropped_length,
		    (unsigned long long)fc.passed,
		    (unsigned long long)fc.dropped_blocked,
		    (unsigned long long)fc.passed_k2,
		    (unsigned long long)fc.dropped_tag);
	close(triv);
	sockfilter_free(sf);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct net_batch b;
	static struct sink_table tt;
	struct cfg_server srv;
	struct net_sock socks[2];
	struct pollfd p[2];
	struct sockfilter *sf = NULL;
	struct sockfilter_counts fc;
	struct rl *rl = NULL;
	struct rl_config rc = {
		/* the daemon's defaults (config.c) */
		.source_budget = 20, .prefix_budget = 200, .window_ms = 10000,
		.penalty_ms = 10000, .penalty_max_ms = 600000,
		.good_ms = 600000, .global_per_sec = 0,
		.table_entries = 65536,
	};
	struct sigaction sa;
	uint64_t received = 0, bad_length = 0, rate_dropped = 0, passed = 0;
	uint64_t tag_dropped = 0;
	uint32_t mem[SK_MEMINFO_VARS], drops = 0;
	socklen_t ml;
	unsigned nsocks = 0, s;
	char err[1024];
	double c0;
	int i, n, r, user, pair;

	if (argc == 3 && strcmp(argv[1], "testrun") == 0)
		return testrun((uint32_t)strtoul(argv[2], NULL, 10));
	if (argc == 7 && strcmp(argv[1], "send") == 0)
		return send_flood(argv + 2);
	if (argc < 3 || (strcmp(argv[1], "user") != 0 &&
	    strcmp(argv[1], "ebpf") != 0 && strcmp(argv[1], "pair") != 0 &&
	    strcmp(argv[1], "cbpf") != 0)) {
		fprintf(stderr, "usage: sfsink user|ebpf|pair|cbpf PORT "
		    "[SRC...]\n"
		    "       sfsink testrun REPEAT\n"
		    "       sfsink send SRC DST PORT SIZE COUNT\n");
		return 2;
	}
	user = strcmp(argv[1], "user") == 0;
	pair = strcmp(argv[1], "pair") == 0;
	memset(&srv, 0, sizeof(srv));
	snprintf(srv.name, sizeof(srv.name), "bench");
	srv.enabled = true;
	srv.port = (uint16_t)atoi(argv[2]);
	/* both formats: the pair; neither: one socket for all, as before */
	srv.format1 = srv.format2 = pair;
	if (net_open_server(&srv, 0, socks, &nsocks, 2, err, sizeof(err)) != 0) {
		fprintf(stderr, "sfsink: %s\n", err);
		return 1;
	}
	if (pair && nsocks != 2) {
		fprintf(stderr, "sfsink: no socket pair: %s\n", err);
		return 1;
	}
	if (user) {
		if (rl_new(&rl, &rc) != 0) {
			fprintf(stderr, "sfsink: rl_new failed\n");
			return 1;
		}
		table_fill(&tt);
	}
	if (strcmp(argv[1], "ebpf") == 0 || pair) {
		struct timespec ts;
		uint64_t until;
		uint8_t tag[K2_TAG_LEN];

		if ((r = sockfilter_new_k2(&sf, 1024, SINK_TAGS, err,
		    sizeof(err))) != 0) {
			fprintf(stderr, "sfsink: %s\n", err);
			return r == SL_ENOTSUP ? 3 : 1;
		}
		for (s = 0; s < nsocks; s++)
			if (sockfilter_attach(sf, socks[s].fd) != 0) {
				perror("sfsink: SO_ATTACH_BPF");
				return 1;
			}
		for (i = 0; i < SINK_TAGS; i++) {
			sink_tag((unsigned)i, tag);
			if (sockfilter_tag_add(sf, tag) != 0) {
				fprintf(stderr, "sfsink: cannot add a tag\n");
				return 1;
			}
		}
		if (sockfilter_tags_enable(sf, true) != 0) {
			perror("sfsink: tags on");
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		until = ((uint64_t)ts.tv_sec + 3600) * 1000000000ull;
		for (i = 3; i < argc; i++) {
			struct sl_addr a;

			if (parse_addr(argv[i], &a) != 0 ||
			    sockfilter_block(sf, &a, until) != 0) {
				fprintf(stderr, "sfsink: cannot block %s\n",
				    argv[i]);
				return 1;
			}
		}
	} else if (strcmp(argv[1], "cbpf") == 0) {
		struct sock_filter ins = BPF_STMT(BPF_RET | BPF_K, 0);
		struct sock_fprog prog = { .len = 1, .filter = &ins };

		if (setsockopt(socks[0].fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
		    sizeof(prog)) != 0) {
			perror("sfsink: SO_ATTACH_FILTER");
			return 1;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	net_batch_init(&b);
	c0 = cpu_us();
	printf("ready\n");
	fflush(stdout);
	for (s = 0; s < nsocks; s++) {
		p[s].fd = socks[s].fd;
		p[s].events = POLLIN;
	}
	while (!stop) {
		uint64_t t;

		if (poll(p, nsocks, 1000) <= 0)
			continue;
		for (s = 0; s < nsocks; s++) {
			if ((p[s].revents & POLLIN) == 0 ||
			    (n = net_recv_batch(socks[s].fd, &b, NET_BATCH)) <= 0)
				continue;
			t = now_ms();
			for (i = 0; i < n; i++) {
				struct sl_addr src;
				const uint8_t *d;
				size_t len;

				d = net_batch_get(&b, i, &len, &src);
				received++;
				if (len == K2_DGRAM_LEN) {
					if (user && !table_has(&tt, d))
						tag_dropped++;
					else
						passed++;
				} else if (len != SL_DGRAM_LEN) {
					bad_length++;
				} else if (rl != NULL &&
				    rl_check(rl, &src, t) != RL_PASS) {
					rate_dropped++;
				} else {
					if (rl != NULL)
						rl_fail(rl, &src, t);
					passed++;
				}
			}
		}
	}
	printf("cpu_us=%.0f received=%llu bad_length=%llu rate_dropped=%llu "
	    "tag_dropped=%llu passed=%llu", cpu_us() - c0,
	    (unsigned long long)received, (unsigned long long)bad_length,
	    (unsigned long long)rate_dropped, (unsigned long long)tag_dropped,
	    (unsigned long long)passed);
	for (s = 0; s < nsocks; s++) {
		ml = sizeof(mem);
		if (getsockopt(socks[s].fd, SOL_SOCKET, SO_MEMINFO, mem,
		    &ml) == 0)
			drops += mem[SK_MEMINFO_DROPS];
	}
	printf(" sock_drops=%u", drops);
	if (sf != NULL && sockfilter_counters(sf, &fc) == 0)
		printf(" f_length=%llu f_blocked=%llu f_tag=%llu f_passed=%llu "
		    "f_k2=%llu",
		    (unsigned long long)fc.dropped_length,
		    (unsigned long long)fc.dropped_blocked,
		    (unsigned long long)fc.dropped_tag,
		    (unsigned long long)fc.passed,
		    (unsigned long long)fc.passed_k2);
	printf("\n");
	sockfilter_free(sf);
	rl_free(rl);
	for (s = 0; s < nsocks; s++)
		close(socks[s].fd);
	return 0;
}
