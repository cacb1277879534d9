/*
 * sfsink - the receiving end of bench/sockfilter.sh: siglatchd's socket
 * (net_open_server: dual-stack [::]:PORT, 4 MiB receive buffer) and one of
 * three ways of dropping junk:
 *   user   today's path: recvmmsg batches (net_recv_batch), wrong sizes
 *          dropped, then the real rate limiter (ratelimit.c, the daemon's
 *          default budgets) drops penalised sources; a datagram it lets
 *          through is charged as a failure (as a failed decryption would
 *          be), without the RSA operation
 *   ebpf   the sockfilter program attached, SRC... blocked for an hour;
 *          the same receive loop (it should never wake)
 *   cbpf   a classic BPF "ret #0" (SO_ATTACH_FILTER): the cheapest
 *          in-kernel drop there is
 * Usage: sfsink MODE PORT [SRC...]
 *        sfsink testrun REPEAT
 * testrun: no traffic; BPF_PROG_TEST_RUN runs the sockfilter program
 * REPEAT times in the kernel on crafted packets (wrong size, a blocked
 * IPv4 and IPv6 source, a source not blocked) and a two-instruction
 * "return 0" eBPF program, and prints the kernel's average ns per run of
 * each: the program's own cost, without the receive path around it.
 * (The test run starts the program at the IP header, so the crafted
 * packets are 264 bytes from there, as a knock is from the UDP header.)
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
#include "net.h"
#include "ratelimit.h"
#include "sockfilter.h"

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
	static uint8_t frame[14 + 512];
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
	uint8_t p4[264], p6[264];
	struct sockfilter *sf = NULL;
	struct sockfilter_counts fc;
	struct sl_addr a;
	union bpf_attr attr;
	char err[1024];
	uint64_t until;
	struct timespec ts;
	int triv, r;

	if ((r = sockfilter_new(&sf, 1024, err, sizeof(err))) != 0) {
		fprintf(stderr, "sfsink: %s\n", err);
		return r == SOCKFILTER_ENOTSUP ? 3 : 1;
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
	/* which paths ran: the program counted them */
	if (sockfilter_counters(sf, &fc) == 0)
		printf("counted: dropped_length=%llu passed=%llu "
		    "dropped_blocked=%llu\n",
		    (unsigned long long)fc.dropped_length,
		    (unsigned long long)fc.passed,
		    (unsigned long long)fc.dropped_blocked);
	close(triv);
	sockfilter_free(sf);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct net_batch b;
	struct cfg_server srv;
	struct net_sock sock;
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
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t ml = sizeof(mem);
	unsigned nsocks = 0;
	char err[1024];
	double c0;
	int i, n, r, user;

	if (argc == 3 && strcmp(argv[1], "testrun") == 0)
		return testrun((uint32_t)strtoul(argv[2], NULL, 10));
	if (argc < 3 || (strcmp(argv[1], "user") != 0 &&
	    strcmp(argv[1], "ebpf") != 0 && strcmp(argv[1], "cbpf") != 0)) {
		fprintf(stderr, "usage: sfsink user|ebpf|cbpf PORT [SRC...]\n"
		    "       sfsink testrun REPEAT\n");
		return 2;
	}
	user = strcmp(argv[1], "user") == 0;
	memset(&srv, 0, sizeof(srv));
	snprintf(srv.name, sizeof(srv.name), "bench");
	srv.enabled = true;
	srv.port = (uint16_t)atoi(argv[2]);
	if (net_open_server(&srv, 0, &sock, &nsocks, 1, err, sizeof(err)) != 0) {
		fprintf(stderr, "sfsink: %s\n", err);
		return 1;
	}
	if (user && rl_new(&rl, &rc) != 0) {
		fprintf(stderr, "sfsink: rl_new failed\n");
		return 1;
	}
	if (strcmp(argv[1], "ebpf") == 0) {
		struct timespec ts;
		uint64_t until;

		if ((r = sockfilter_new(&sf, 1024, err, sizeof(err))) != 0) {
			fprintf(stderr, "sfsink: %s\n", err);
			return r == SOCKFILTER_ENOTSUP ? 3 : 1;
		}
		if (sockfilter_attach(sf, sock.fd) != 0) {
			perror("sfsink: SO_ATTACH_BPF");
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

		if (setsockopt(sock.fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
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
	while (!stop) {
		struct pollfd p = { .fd = sock.fd, .events = POLLIN };
		uint64_t t;

		if (poll(&p, 1, 1000) <= 0)
			continue;
		if ((n = net_recv_batch(sock.fd, &b, NET_BATCH)) <= 0)
			continue;
		t = now_ms();
		for (i = 0; i < n; i++) {
			struct sl_addr src;
			size_t len;

			(void)net_batch_get(&b, i, &len, &src);
			received++;
			if (len != SL_DGRAM_LEN) {
				bad_length++;
			} else if (rl != NULL && rl_check(rl, &src, t) != RL_PASS) {
				rate_dropped++;
			} else {
				if (rl != NULL)
					rl_fail(rl, &src, t);
				passed++;
			}
		}
	}
	printf("cpu_us=%.0f received=%llu bad_length=%llu rate_dropped=%llu "
	    "passed=%llu", cpu_us() - c0, (unsigned long long)received,
	    (unsigned long long)bad_length, (unsigned long long)rate_dropped,
	    (unsigned long long)passed);
	if (getsockopt(sock.fd, SOL_SOCKET, SO_MEMINFO, mem, &ml) == 0)
		printf(" sock_drops=%u", mem[SK_MEMINFO_DROPS]);
	if (sf != NULL && sockfilter_counters(sf, &fc) == 0)
		printf(" f_length=%llu f_blocked=%llu f_passed=%llu",
		    (unsigned long long)fc.dropped_length,
		    (unsigned long long)fc.dropped_blocked,
		    (unsigned long long)fc.passed);
	printf("\n");
	sockfilter_free(sf);
	rl_free(rl);
	close(sock.fd);
	return 0;
}
