/*
 * addr.h - source addresses and allowed_ips lists.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are treated as IPv4 everywhere.
 */
#ifndef SL_ADDR_H
#define SL_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "sl.h"

struct sl_addr {
	uint8_t family;    /* AF_INET or AF_INET6 */
	uint8_t bytes[16]; /* network order; IPv4 uses the first 4 */
};

struct sl_cidr {
	struct sl_addr addr;
	uint8_t prefix;    /* 0..32 or 0..128 */
};

/* An empty list (n == 0) allows every address. */
struct sl_cidr_list {
	unsigned n;
	struct sl_cidr c[SL_MAX_CIDRS];
};

/* From a received sockaddr (AF_INET / AF_INET6, v4-mapped unmapped). */
int addr_from_sockaddr(struct sl_addr *a, const struct sockaddr *sa,
    size_t salen);
/* Text form; out must hold SL_IPSTR_MAX bytes. */
void addr_to_str(const struct sl_addr *a, char *out, size_t outlen);
/* "a.b.c.d", "x::y", optional "/prefix". */
/* An IPv4 or IPv6 literal, no prefix or zone, no name lookup; a
 * v4-mapped IPv6 address comes out as IPv4 (as format 2 writes it).  0 or
 * SL_EINVAL. */
int addr_parse(const char *s, struct sl_addr *a);
int addr_parse_cidr(const char *s, struct sl_cidr *c);
/* Comma-separated CIDR list, spaces allowed; empty string = empty list.
 * On error *bad points at the offending item (copied into badbuf). */
int addr_parse_list(const char *s, struct sl_cidr_list *l, char *badbuf,
    size_t badlen);
bool addr_in_list(const struct sl_cidr_list *l, const struct sl_addr *a);
/* The same address (family and the bytes it uses). */
bool addr_equal(const struct sl_addr *a, const struct sl_addr *b);

#endif
