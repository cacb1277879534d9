/*
 * sockfilter.c - the knock sockets' eBPF socket filter (see sockfilter.h),
 * written as raw instructions and loaded with bpf(2): no libbpf, no
 * BPF compiler.
 *
 * The program (BPF_PROG_TYPE_SOCKET_FILTER; attached with SO_ATTACH_BPF):
 *
 *   len = skb->len                  UDP header + payload: for UDP the kernel
 *                                   runs the filter (sk_filter_trim_cap in
 *                                   udp_queue_rcv_one_skb) with skb->data at
 *                                   the UDP header, so a 256-byte knock is
 *                                   seen as 264 (checked by
 *                                   tests/unit/test_sockfilter.c with 248,
 *                                   255, 257 and 264-byte datagrams)
 *   c = counters[0]                 per-CPU; never NULL, but checked
 *   if len == 8 + K2_DGRAM_LEN:     format 2, below
 *   if len != 8 + SL_DGRAM_LEN:     c->dropped_length++, return 0 (drop)
 *   h = 24 bytes at the network header (bpf_skb_load_bytes_relative,
 *       BPF_HDR_START_NET; the IP header is always linear there)
 *   if that fails:                  c->passed_noaddr++, return len (keep)
 *   version 4: key = ::ffff: + h[12..16)   (built in place: h[0..12) is
 *                                           overwritten with 0...0 ff ff)
 *   version 6: key = h[8..24)
 *   other:                          c->passed_noaddr++, return len
 *   e = blocked[key]
 *   if e and *e > bpf_ktime_get_ns():  c->dropped_blocked++, return 0
 *   c->passed++, return len
 *
 * Format 2 (559-byte payload; never looked up in blocked: its junk is
 * cheap to drop, and a source's v1 penalty must not lock out its user):
 *
 *   f = config[0]                   an array entry, SF_CFG_* bits
 *   if !f or !(*f & SF_CFG_TAGS):   c->passed_k2++, return len
 *   t = 8 bytes at offset 8         bpf_skb_load_bytes: the first 8 bytes
 *                                   of the UDP payload, the knock's tag,
 *                                   as they are in the datagram
 *   if that fails:                  c->passed_noaddr++, return len
 *   if !tags[t]:                    c->dropped_tag++, return 0
 *   c->passed_k2++, return len
 *
 * The counters are bumped with atomic adds: each CPU has its own copy, but
 * on PREEMPT_RT two runs on one CPU can interleave; an uncontended locked
 * add on a CPU-local line costs a few ns.
 *
 * Helpers used: map_lookup_elem, skb_load_bytes, skb_load_bytes_relative
 * (Linux >= 4.18), ktime_get_ns; none is GPL-only, so the license string
 * is free.  Map types: BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH (with
 * BPF_F_NO_PREALLOC: memory for the tags present, not for max_entries),
 * BPF_MAP_TYPE_PERCPU_ARRAY (>= 4.6), BPF_MAP_TYPE_LRU_HASH (>= 4.10).
 * BPF_ATOMIC add with a 64-bit operand is BPF_XADD, accepted since 4.x.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "knock2.h"
#include "sockfilter.h"
#include "util.h"

#ifndef SO_ATTACH_BPF
# define SO_ATTACH_BPF 50
#endif

#define SF_LEN_SEEN (8 + SL_DGRAM_LEN) /* UDP header + payload */
#define SF_LEN_K2   (8 + K2_DGRAM_LEN)
#define SF_OFF_TAG  (8 + K2_OFF_TAG)   /* from the UDP header */
#define SF_LOG_SIZE (64 * 1024)
#define SF_MAX_INSNS 96

/* config[0]: what user space has switched on */
#define SF_CFG_TAGS 0x1u        /* drop 559-byte datagrams of unknown tag */

/* offsets of the counters in the map value (struct sockfilter_counts) */
#define SF_OFF(f) ((short)offsetof(struct sockfilter_counts, f))

struct sockfilter {
	int counters_fd;
	int blocked_fd;
	int config_fd;          /* array, 1 x u32: SF_CFG_* */
	int tags_fd;            /* hash, u64 tag -> u8 (unused) */
	int prog_fd;
	unsigned ncpu;          /* possible CPUs: per-CPU values per lookup */
	struct sockfilter_counts *percpu;  /* ncpu of them, for lookups */
};

static long
sf_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

/* ---- a tiny assembler with forward labels --------------------------------- */

enum {
	L_KEEP, L_DROP_LEN, L_NOADDR, L_LOOKUP, L_PASS, L_DROP_BLOCKED,
	L_K2, L_PASS_K2, L_DROP_TAG, L_N
};

struct sf_asm {
	struct bpf_insn in[SF_MAX_INSNS];
	int n;
	int label[L_N];
	int fix_at[SF_MAX_INSNS];  /* jump instruction -> label + 1, 0 = none */
};

static void
sf_emit(struct sf_asm *a, uint8_t code, uint8_t dst, uint8_t src, int16_t off,
    int32_t imm)
{
	struct bpf_insn *i = &a->in[a->n++];

	memset(i, 0, sizeof(*i));
	i->code = code;
	i->dst_reg = dst & 0xf;
	i->src_reg = src & 0xf;
	i->off = off;
	i->imm = imm;
}

#define MOV64_REG(a, d, s)  sf_emit(a, BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_IMM(a, d, k)  sf_emit(a, BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, k)
#define ADD64_IMM(a, d, k)  sf_emit(a, BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, k)
#define AND64_IMM(a, d, k)  sf_emit(a, BPF_ALU64 | BPF_AND | BPF_K, d, 0, 0, k)
#define RSH64_IMM(a, d, k)  sf_emit(a, BPF_ALU64 | BPF_RSH | BPF_K, d, 0, 0, k)
#define LDX(a, sz, d, s, o) sf_emit(a, BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define ST(a, sz, d, o, k)  sf_emit(a, BPF_ST | BPF_MEM | (sz), d, 0, o, k)
#define CALL(a, fn)         sf_emit(a, BPF_JMP | BPF_CALL, 0, 0, 0, fn)
#define EXIT(a)             sf_emit(a, BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
/* lock *(u64 *)(d + o) += s */
#define XADD64(a, d, s, o) \
	sf_emit(a, BPF_STX | BPF_ATOMIC | BPF_DW, d, s, o, BPF_ADD)

/* conditional or unconditional jump to a label resolved by sf_link */
static void
sf_jmp(struct sf_asm *a, uint8_t op, uint8_t src_mode, uint8_t d, uint8_t s,
    int32_t k, int label)
{
	a->fix_at[a->n] = label + 1;
	sf_emit(a, BPF_JMP | op | src_mode, d, s, 0, k);
}

#define JEQ_IMM(a, d, k, l)   sf_jmp(a, BPF_JEQ, BPF_K, d, 0, k, l)
#define JNE_IMM(a, d, k, l)   sf_jmp(a, BPF_JNE, BPF_K, d, 0, k, l)
#define JGT_REG(a, d, s, l)   sf_jmp(a, BPF_JGT, BPF_X, d, s, 0, l)
#define JA(a, l)              sf_jmp(a, BPF_JA, BPF_K, 0, 0, 0, l)

/* r = map fd (a 16-byte ld_imm64 the kernel turns into the map pointer) */
static void
sf_ld_map(struct sf_asm *a, uint8_t d, int fd)
{
	sf_emit(a, BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd);
	sf_emit(a, 0, 0, 0, 0, 0);
}

static void
sf_here(struct sf_asm *a, int label)
{
	a->label[label] = a->n;
}

static void
sf_link(struct sf_asm *a)
{
	int i;

	for (i = 0; i < a->n; i++)
		if (a->fix_at[i] != 0)
			a->in[i].off = (int16_t)(a->label[a->fix_at[i] - 1] - i - 1);
}

/* count: lock c->field += 1 (r8 = the counters), then return r7 or 0 */
static void
sf_count_and_return(struct sf_asm *a, short field, int keep)
{
	MOV64_IMM(a, BPF_REG_1, 1);
	XADD64(a, BPF_REG_8, BPF_REG_1, field);
	if (keep)
		MOV64_REG(a, BPF_REG_0, BPF_REG_7);
	else
		MOV64_IMM(a, BPF_REG_0, 0);
	EXIT(a);
}

/* r6 = ctx, r7 = skb->len, r8 = counters[0]; then on by size: to L_K2,
 * to L_DROP_LEN, or on into sf_emit_v1 */
static void
sf_emit_prologue(struct sf_asm *a, const struct sockfilter *sf)
{
	/* r6 = ctx, r7 = skb->len */
	MOV64_REG(a, BPF_REG_6, BPF_REG_1);
	LDX(a, BPF_W, BPF_REG_7, BPF_REG_6,
	    (int16_t)offsetof(struct __sk_buff, len));
	/* r8 = counters[0] */
	ST(a, BPF_W, BPF_REG_10, -4, 0);     /* fp-4: array key 0, kept */
	sf_ld_map(a, BPF_REG_1, sf->counters_fd);
	MOV64_REG(a, BPF_REG_2, BPF_REG_10);
	ADD64_IMM(a, BPF_REG_2, -4);
	CALL(a, BPF_FUNC_map_lookup_elem);
	JEQ_IMM(a, BPF_REG_0, 0, L_KEEP);
	MOV64_REG(a, BPF_REG_8, BPF_REG_0);
	/* size */
	JEQ_IMM(a, BPF_REG_7, SF_LEN_K2, L_K2);
	JNE_IMM(a, BPF_REG_7, SF_LEN_SEEN, L_DROP_LEN);
}

/* Format 1: the source address, looked up in the block map */
static void
sf_emit_v1(struct sf_asm *a, const struct sockfilter *sf)
{
	/* fp-32 .. fp-9: the first 24 bytes of the IP header */
	MOV64_REG(a, BPF_REG_1, BPF_REG_6);
	MOV64_IMM(a, BPF_REG_2, 0);
	MOV64_REG(a, BPF_REG_3, BPF_REG_10);
	ADD64_IMM(a, BPF_REG_3, -32);
	MOV64_IMM(a, BPF_REG_4, 24);
	MOV64_IMM(a, BPF_REG_5, BPF_HDR_START_NET);
	CALL(a, BPF_FUNC_skb_load_bytes_relative);
	JNE_IMM(a, BPF_REG_0, 0, L_NOADDR);
	LDX(a, BPF_B, BPF_REG_1, BPF_REG_10, -32);
	RSH64_IMM(a, BPF_REG_1, 4);
	/* IPv6: the source address is at offset 8, fp-24 */
	MOV64_REG(a, BPF_REG_2, BPF_REG_10);
	ADD64_IMM(a, BPF_REG_2, -24);
	JEQ_IMM(a, BPF_REG_1, 6, L_LOOKUP);
	JNE_IMM(a, BPF_REG_1, 4, L_NOADDR);
	/* IPv4: the source is at offset 12 (fp-20); make fp-32 .. fp-21
	 * 0...0 ff ff in front of it: ::ffff:a.b.c.d at fp-32 */
	ST(a, BPF_DW, BPF_REG_10, -32, 0);
	ST(a, BPF_W, BPF_REG_10, -24, (int32_t)htonl(0x0000ffffu));
	MOV64_REG(a, BPF_REG_2, BPF_REG_10);
	ADD64_IMM(a, BPF_REG_2, -32);
	sf_here(a, L_LOOKUP);
	sf_ld_map(a, BPF_REG_1, sf->blocked_fd);
	CALL(a, BPF_FUNC_map_lookup_elem);
	JEQ_IMM(a, BPF_REG_0, 0, L_PASS);
	LDX(a, BPF_DW, BPF_REG_9, BPF_REG_0, 0);
	CALL(a, BPF_FUNC_ktime_get_ns);
	JGT_REG(a, BPF_REG_9, BPF_REG_0, L_DROP_BLOCKED);
	sf_here(a, L_PASS);
	sf_count_and_return(a, SF_OFF(passed), 1);
	sf_here(a, L_NOADDR);
	sf_count_and_return(a, SF_OFF(passed_noaddr), 1);
	sf_here(a, L_DROP_LEN);
	sf_count_and_return(a, SF_OFF(dropped_length), 0);
	sf_here(a, L_DROP_BLOCKED);
	sf_count_and_return(a, SF_OFF(dropped_blocked), 0);
}

/* Format 2: the tag, looked up in the tag map when tags are on */
static void
sf_emit_k2(struct sf_asm *a, const struct sockfilter *sf)
{
	/* tags switched on? (fp-4 still holds key 0) */
	sf_here(a, L_K2);
	sf_ld_map(a, BPF_REG_1, sf->config_fd);
	MOV64_REG(a, BPF_REG_2, BPF_REG_10);
	ADD64_IMM(a, BPF_REG_2, -4);
	CALL(a, BPF_FUNC_map_lookup_elem);
	JEQ_IMM(a, BPF_REG_0, 0, L_PASS_K2);
	LDX(a, BPF_W, BPF_REG_1, BPF_REG_0, 0);
	AND64_IMM(a, BPF_REG_1, SF_CFG_TAGS);
	JEQ_IMM(a, BPF_REG_1, 0, L_PASS_K2);
	/* fp-40 .. fp-33: the tag, the payload's first 8 bytes */
	MOV64_REG(a, BPF_REG_1, BPF_REG_6);
	MOV64_IMM(a, BPF_REG_2, SF_OFF_TAG);
	MOV64_REG(a, BPF_REG_3, BPF_REG_10);
	ADD64_IMM(a, BPF_REG_3, -40);
	MOV64_IMM(a, BPF_REG_4, K2_TAG_LEN);
	CALL(a, BPF_FUNC_skb_load_bytes);
	JNE_IMM(a, BPF_REG_0, 0, L_NOADDR);
	sf_ld_map(a, BPF_REG_1, sf->tags_fd);
	MOV64_REG(a, BPF_REG_2, BPF_REG_10);
	ADD64_IMM(a, BPF_REG_2, -40);
	CALL(a, BPF_FUNC_map_lookup_elem);
	JEQ_IMM(a, BPF_REG_0, 0, L_DROP_TAG);
	sf_here(a, L_PASS_K2);
	sf_count_and_return(a, SF_OFF(passed_k2), 1);
	sf_here(a, L_DROP_TAG);
	sf_count_and_return(a, SF_OFF(dropped_tag), 0);
}

/* The program (see the top of this file); the map fds become pointers. */
static void
sf_build(struct sf_asm *a, const struct sockfilter *sf)
{
	memset(a, 0, sizeof(*a));
	sf_emit_prologue(a, sf);
	sf_emit_v1(a, sf);
	sf_emit_k2(a, sf);
	sf_here(a, L_KEEP);
	MOV64_REG(a, BPF_REG_0, BPF_REG_7);
	EXIT(a);
	sf_link(a);
}

/* ---- set-up -------------------------------------------------------------- */

/* Possible CPUs ("0-3,5" in /sys): how many values a per-CPU lookup
 * returns.  0 when unknown. */
static unsigned
sf_possible_cpus(void)
{
	char buf[256], *p, *end;
	unsigned n = 0;
	ssize_t len;
	int fd;

	if ((fd = open("/sys/devices/system/cpu/possible",
	    O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	for (p = buf; *p != '\0' && *p != '\n';) {
		unsigned long a, b;

		a = strtoul(p, &end, 10);
		if (end == p)
			return 0;
		b = a;
		if (*end == '-') {
			p = end + 1;
			b = strtoul(p, &end, 10);
			if (end == p || b < a)
				return 0;
		}
		if (b - a + 1 > 65536 - n)
			return 0;
		n += (unsigned)(b - a + 1);
		p = end;
		if (*p == ',')
			p++;
		else if (*p != '\0' && *p != '\n')
			return 0;
	}
	return n;
}

static bool
sf_kernel_refused(int e)
{
	return e == EPERM || e == EACCES || e == ENOSYS || e == EINVAL ||
	    e == E2BIG || e == EOPNOTSUPP || e == ENOTSUP;
}

/* errno of a failed bpf(2) -> error code, with a hint */
static int
sf_fail(const char *what, int e, char *err, size_t errlen)
{
	const char *hint = "";

	if (e == EPERM || e == EACCES)
		hint = " (needs CAP_BPF or CAP_SYS_ADMIN while "
		    "kernel.unprivileged_bpf_disabled is set)";
	else if (e == ENOSYS)
		hint = " (kernel without bpf(2) or a seccomp filter refuses it)";
	else if (e == EINVAL || e == E2BIG)
		hint = " (kernel too old for this map type or attribute)";
	sl_seterr(err, errlen, "sockfilter: %s: %s%s", what, strerror(e), hint);
	return sf_kernel_refused(e) ? SL_ENOTSUP : SL_ESYS;
}

static int
sf_map_create(uint32_t type, const char *name, uint32_t key_size,
    uint32_t value_size, uint32_t max_entries, uint32_t flags)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = type;
	attr.key_size = key_size;
	attr.value_size = value_size;
	attr.max_entries = max_entries;
	attr.map_flags = flags;
	(void)sl_strlcpy(attr.map_name, name, sizeof(attr.map_name));
	return (int)sf_bpf(BPF_MAP_CREATE, &attr);
}

/* "prefix; verifier log: ..." into err, with as much of the log's end (where
 * the verifier says what it refused) as fits, on one line. */
static void
sf_log_tail(char *err, size_t errlen, const char *prefix, const char *log)
{
	static const char sep[] = "; verifier log: ";
	size_t n = strlen(log), used = strlen(prefix) + sizeof(sep), keep;
	const char *p;
	char *q;

	if (err == NULL || errlen == 0)
		return;
	while (n > 0 && (log[n - 1] == '\n' || log[n - 1] == ' '))
		n--;
	keep = errlen > used ? errlen - used : 0;
	p = n > keep ? log + n - keep : log;
	sl_seterr(err, errlen, "%s%s%.*s", prefix, sep,
	    (int)(log + n - p), p);
	for (q = err; *q != '\0'; q++)
		if (*q == '\n')
			*q = '|';
}

/* Load the program: its descriptor, or a negative SL_E* code with err (the
 * verifier's log when it refused). */
static int
sf_prog_load(struct sf_asm *a, char *err, size_t errlen)
{
	union bpf_attr attr;
	char *log;
	int fd, e, r;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uint64_t)(uintptr_t)a->in;
	attr.insn_cnt = (uint32_t)a->n;
	/* no GPL-only helper is used */
	attr.license = (uint64_t)(uintptr_t)"siglatch";
	(void)sl_strlcpy(attr.prog_name, "sl_knock_filter",
	    sizeof(attr.prog_name));
	if ((fd = (int)sf_bpf(BPF_PROG_LOAD, &attr)) >= 0)
		return fd;
	e = errno;
	if (e == EPERM || e == ENOSYS || (log = malloc(SF_LOG_SIZE)) == NULL)
		return sf_fail("BPF_PROG_LOAD", e, err, errlen);
	/* again, with the verifier's log */
	log[0] = '\0';
	attr.log_buf = (uint64_t)(uintptr_t)log;
	attr.log_size = SF_LOG_SIZE;
	attr.log_level = 1;
	if ((fd = (int)sf_bpf(BPF_PROG_LOAD, &attr)) >= 0) {
		free(log);
		return fd;
	}
	r = sf_fail("BPF_PROG_LOAD", e, err, errlen);
	if (log[0] != '\0') {
		char prefix[256];

		snprintf(prefix, sizeof(prefix), "sockfilter: BPF_PROG_LOAD: %s",
		    strerror(e));
		sf_log_tail(err, errlen, prefix, log);
	}
	free(log);
	return r;
}

/* The four maps: counters, blocked, config (all zero: tags off), tags. */
static int
sf_maps_create(struct sockfilter *sf, uint32_t block_entries,
    uint32_t tag_entries, char *err, size_t errlen)
{
	const struct {
		int *fd;
		uint32_t type;
		const char *name, *what;
		uint32_t key_size, value_size, max_entries, flags;
	} m[] = {
		{ &sf->counters_fd, BPF_MAP_TYPE_PERCPU_ARRAY, "sl_counts",
		    "BPF_MAP_CREATE(percpu array)", sizeof(uint32_t),
		    sizeof(struct sockfilter_counts), 1, 0 },
		{ &sf->blocked_fd, BPF_MAP_TYPE_LRU_HASH, "sl_blocked",
		    "BPF_MAP_CREATE(LRU hash)", 16, sizeof(uint64_t),
		    block_entries, 0 },
		{ &sf->config_fd, BPF_MAP_TYPE_ARRAY, "sl_config",
		    "BPF_MAP_CREATE(array)", sizeof(uint32_t), sizeof(uint32_t),
		    1, 0 },
		{ &sf->tags_fd, BPF_MAP_TYPE_HASH, "sl_tags",
		    "BPF_MAP_CREATE(hash)", K2_TAG_LEN, sizeof(uint8_t),
		    tag_entries, BPF_F_NO_PREALLOC },
	};
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		*m[i].fd = sf_map_create(m[i].type, m[i].name, m[i].key_size,
		    m[i].value_size, m[i].max_entries, m[i].flags);
		if (*m[i].fd < 0)
			return sf_fail(m[i].what, errno, err, errlen);
	}
	return 0;
}

int
sockfilter_new_k2(struct sockfilter **out, uint32_t block_entries,
    uint32_t tag_entries, char *err, size_t errlen)
{
	struct sockfilter *sf;
	struct sf_asm a;
	int r;

	*out = NULL;
	if (block_entries == 0) {
		sl_seterr(err, errlen, "sockfilter: the block map needs at "
		    "least one entry");
		return SL_EINVAL;
	}
	if (tag_entries == 0 || tag_entries > SOCKFILTER_TAGS_MAX) {
		sl_seterr(err, errlen, "sockfilter: the tag map takes 1 to %u "
		    "entries, not %u", (unsigned)SOCKFILTER_TAGS_MAX,
		    (unsigned)tag_entries);
		return SL_EINVAL;
	}
	if ((sf = calloc(1, sizeof(*sf))) == NULL) {
		sl_seterr(err, errlen, "sockfilter: %s", sl_strerror(SL_ESYS));
		return SL_ESYS;
	}
	sf->counters_fd = sf->blocked_fd = sf->prog_fd = -1;
	sf->config_fd = sf->tags_fd = -1;
	if ((sf->ncpu = sf_possible_cpus()) == 0) {
		sl_seterr(err, errlen, "sockfilter: cannot read "
		    "/sys/devices/system/cpu/possible");
		r = SL_ESYS;
		goto fail;
	}
	if ((sf->percpu = calloc(sf->ncpu, sizeof(*sf->percpu))) == NULL) {
		sl_seterr(err, errlen, "sockfilter: %s", sl_strerror(SL_ESYS));
		r = SL_ESYS;
		goto fail;
	}
	if ((r = sf_maps_create(sf, block_entries, tag_entries, err,
	    errlen)) != 0)
		goto fail;
	sf_build(&a, sf);
	if ((sf->prog_fd = sf_prog_load(&a, err, errlen)) < 0) {
		r = sf->prog_fd;
		sf->prog_fd = -1;
		goto fail;
	}
	*out = sf;
	return 0;
fail:
	sockfilter_free(sf);
	return r;
}

int
sockfilter_new(struct sockfilter **out, uint32_t block_entries, char *err,
    size_t errlen)
{
	return sockfilter_new_k2(out, block_entries, 1, err, errlen);
}

int
sockfilter_attach(struct sockfilter *sf, int fd)
{
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_BPF, &sf->prog_fd,
	    sizeof(sf->prog_fd)) != 0)
		return SL_ESYS;
	return 0;
}

int
sockfilter_prog_fd(const struct sockfilter *sf)
{
	return sf->prog_fd;
}

/* ---- run time ------------------------------------------------------------ */

/* the block map's key: IPv4 as ::ffff:a.b.c.d */
static int
sf_key(const struct sl_addr *a, uint8_t key[16])
{
	if (a->family == AF_INET) {
		memset(key, 0, 10);
		key[10] = 0xff;
		key[11] = 0xff;
		memcpy(key + 12, a->bytes, 4);
		return 0;
	}
	if (a->family == AF_INET6) {
		memcpy(key, a->bytes, 16);
		return 0;
	}
	return SL_EINVAL;
}

/* one bpf(2) map command: 0, or SL_ESYS (errno) */
static int
sf_map_elem(int cmd, int fd, const void *key, void *value, uint64_t flags)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)fd;
	attr.key = (uint64_t)(uintptr_t)key;
	attr.value = (uint64_t)(uintptr_t)value;
	attr.flags = flags;
	return sf_bpf(cmd, &attr) == 0 ? 0 : SL_ESYS;
}

int
sockfilter_block(struct sockfilter *sf, const struct sl_addr *a,
    uint64_t until_mono_ns)
{
	uint8_t key[16];

	if (sf_key(a, key) != 0)
		return SL_EINVAL;
	if (sf_map_elem(BPF_MAP_UPDATE_ELEM, sf->blocked_fd, key,
	    &until_mono_ns, BPF_ANY) != 0)
		return SL_ESYS;
	return 0;
}

int
sockfilter_unblock(struct sockfilter *sf, const struct sl_addr *a)
{
	uint8_t key[16];

	if (sf_key(a, key) != 0)
		return SL_EINVAL;
	if (sf_map_elem(BPF_MAP_DELETE_ELEM, sf->blocked_fd, key, NULL, 0) != 0)
		return errno == ENOENT ? SL_ENOENT : SL_ESYS;
	return 0;
}

int
sockfilter_tag_add(struct sockfilter *sf, const uint8_t tag[K2_TAG_LEN])
{
	uint8_t one = 1;

	if (sf_map_elem(BPF_MAP_UPDATE_ELEM, sf->tags_fd, tag, &one,
	    BPF_ANY) != 0)
		return errno == E2BIG ? SL_EFULL : SL_ESYS;
	return 0;
}

int
sockfilter_tag_del(struct sockfilter *sf, const uint8_t tag[K2_TAG_LEN])
{
	if (sf_map_elem(BPF_MAP_DELETE_ELEM, sf->tags_fd, tag, NULL, 0) != 0)
		return errno == ENOENT ? SL_ENOENT : SL_ESYS;
	return 0;
}

int
sockfilter_tags_enable(struct sockfilter *sf, bool on)
{
	uint32_t key = 0, v = on ? SF_CFG_TAGS : 0;

	if (sf_map_elem(BPF_MAP_UPDATE_ELEM, sf->config_fd, &key, &v,
	    BPF_ANY) != 0)
		return SL_ESYS;
	return 0;
}

int
sockfilter_counters(struct sockfilter *sf, struct sockfilter_counts *out)
{
	uint32_t key = 0;
	unsigned i;

	memset(out, 0, sizeof(*out));
	/* the kernel fills ncpu values; start from zeros all the same */
	memset(sf->percpu, 0, sf->ncpu * sizeof(*sf->percpu));
	if (sf_map_elem(BPF_MAP_LOOKUP_ELEM, sf->counters_fd, &key, sf->percpu,
	    0) != 0)
		return SL_ESYS;
	for (i = 0; i < sf->ncpu; i++) {
		out->dropped_length += sf->percpu[i].dropped_length;
		out->dropped_blocked += sf->percpu[i].dropped_blocked;
		out->passed += sf->percpu[i].passed;
		out->passed_noaddr += sf->percpu[i].passed_noaddr;
		out->dropped_tag += sf->percpu[i].dropped_tag;
		out->passed_k2 += sf->percpu[i].passed_k2;
	}
	return 0;
}

void
sockfilter_free(struct sockfilter *sf)
{
	if (sf == NULL)
		return;
	if (sf->prog_fd >= 0)
		close(sf->prog_fd);
	if (sf->tags_fd >= 0)
		close(sf->tags_fd);
	if (sf->config_fd >= 0)
		close(sf->config_fd);
	if (sf->blocked_fd >= 0)
		close(sf->blocked_fd);
	if (sf->counters_fd >= 0)
		close(sf->counters_fd);
	free(sf->percpu);
	free(sf);
}
