/*
 * addr.c - source addresses and allowed_ips lists.
 *
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are unmapped to AF_INET both
 * when a packet's source is read and when a list entry is parsed, so an IPv4
 * rule matches a client reaching a dual-stack socket.  An IPv4 entry never
 * matches an IPv6 address and vice versa.
 */
#include <arpa/inet.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <string.h>

#include "addr.h"
#include "util.h"

static const uint8_t addr_v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static void
addr_set_v4(struct sl_addr *a, const uint8_t v4[4])
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	memcpy(a->bytes, v4, 4);
}

static void
addr_set_v6(struct sl_addr *a, const uint8_t v6[16])
{
	memset(a, 0, sizeof(*a));
	if (memcmp(v6, addr_v4mapped_prefix, sizeof(addr_v4mapped_prefix)) == 0) {
		addr_set_v4(a, v6 + 12);
		return;
	}
	a->family = AF_INET6;
	memcpy(a->bytes, v6, 16);
}

int
addr_from_sockaddr(struct sl_addr *a, const struct sockaddr *sa, size_t salen)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	if (sa == NULL || salen < sizeof(sa_family_t))
		return SL_EINVAL;
	if (sa->sa_family == AF_INET && salen >= sizeof(sin)) {
		memcpy(&sin, sa, sizeof(sin));
		addr_set_v4(a, (const uint8_t *)&sin.sin_addr);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && salen >= sizeof(sin6)) {
		memcpy(&sin6, sa, sizeof(sin6));
		addr_set_v6(a, sin6.sin6_addr.s6_addr);
		return 0;
	}
	return SL_EINVAL;
}

void
addr_to_str(const struct sl_addr *a, char *out, size_t outlen)
{
	if (outlen == 0)
		return;
	if ((a->family != AF_INET && a->family != AF_INET6) ||
	    inet_ntop(a->family, a->bytes, out, (socklen_t)outlen) == NULL)
		sl_strlcpy(out, "?", outlen);
}

int
addr_parse_cidr(const char *s, struct sl_cidr *c)
{
	char host[SL_IPSTR_MAX];
	uint8_t buf[16];
	const char *slash = strchr(s, '/');
	size_t hostlen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned maxprefix, prefix;
	bool mapped;

	if (hostlen == 0 || hostlen >= sizeof(host))
		return SL_EINVAL;
	memcpy(host, s, hostlen);
	host[hostlen] = '\0';

	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, host, buf) == 1) {
		addr_set_v4(&c->addr, buf);
		maxprefix = 32;
		mapped = false;
	} else if (inet_pton(AF_INET6, host, buf) == 1) {
		addr_set_v6(&c->addr, buf);
		maxprefix = 128;
		mapped = c->addr.family == AF_INET;
	} else {
		return SL_EINVAL;
	}

	prefix = maxprefix;
	if (slash != NULL) {
		const char *p = slash + 1;

		/* 1 to 3 digits, nothing else */
		if (*p == '\0' || strspn(p, "0123456789") != strlen(p) ||
		    strlen(p) > 3)
			return SL_EINVAL;
		prefix = 0;
		for (; *p != '\0'; p++)
			prefix = prefix * 10 + (unsigned)(*p - '0');
		if (prefix > maxprefix)
			return SL_EINVAL;
	}
	if (mapped) {
		/* ::ffff:a.b.c.d/N is a.b.c.d/(N-96); a shorter prefix reaches
		 * outside the mapped range and stays an IPv6 rule */
		if (prefix >= 96) {
			prefix -= 96;
		} else {
			c->addr.family = AF_INET6;
			memcpy(buf, c->addr.bytes, 4);
			memcpy(c->addr.bytes, addr_v4mapped_prefix, 12);
			memcpy(c->addr.bytes + 12, buf, 4);
		}
	}
	c->prefix = (uint8_t)prefix;
	return 0;
}

int
addr_parse_list(const char *s, struct sl_cidr_list *l, char *badbuf,
    size_t badlen)
{
	const char *p = s;

	memset(l, 0, sizeof(*l));
	if (badlen > 0)
		badbuf[0] = '\0';
	p += strspn(p, " \t");
	if (*p == '\0')
		return 0;
	for (;;) {
		char item[SL_IPSTR_MAX + 8]; /* address + "/128" + slack */
		size_t n = strcspn(p, ",");
		size_t len = n;
		int rc = 0;

		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len >= sizeof(item)) {
			rc = SL_EINVAL;
			len = sizeof(item) - 1;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (rc == 0 && l->n == SL_MAX_CIDRS)
			rc = SL_ETOOBIG;
		if (rc == 0 && (len == 0 || addr_parse_cidr(item, &l->c[l->n]) != 0))
			rc = SL_EINVAL;
		if (rc != 0) {
			if (badlen > 0)
				sl_strlcpy(badbuf, item, badlen);
			memset(l, 0, sizeof(*l));
			return rc;
		}
		l->n++;
		p += n;
		if (*p == '\0')
			return 0;
		p++;                        /* the comma */
		p += strspn(p, " \t");
	}
}

static bool
addr_match(const struct sl_cidr *c, const struct sl_addr *a)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (c->addr.family != a->family)
		return false;
	if (memcmp(c->addr.bytes, a->bytes, full) != 0)
		return false;
	if (rest != 0) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		if ((c->addr.bytes[full] ^ a->bytes[full]) & mask)
			return false;
	}
	return true;
}

bool
addr_in_list(const struct sl_cidr_list *l, const struct sl_addr *a)
{
	unsigned i;

	if (l->n == 0)
		return true;
	for (i = 0; i < l->n && i < SL_MAX_CIDRS; i++)
		if (addr_match(&l->c[i], a))
			return true;
	return false;
}

bool
addr_equal(const struct sl_addr *a, const struct sl_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes,
	    a->family == AF_INET ? 4 : 16) == 0;
}

int
addr_parse(const char *s, struct sl_addr *a)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, s, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		return addr_from_sockaddr(a, (struct sockaddr *)&sin,
		    sizeof(sin));
	}
	if (inet_pton(AF_INET6, s, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		return addr_from_sockaddr(a, (struct sockaddr *)&sin6,
		    sizeof(sin6));
	}
	return SL_EINVAL;
}
