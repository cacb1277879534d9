/*
 * testutil.h - small helpers several unit tests share.  Include after
 * <cmocka.h> (they assert).
 */
#ifndef SL_TESTUTIL_H
#define SL_TESTUTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include "addr.h"

/* An address as a received packet would carry it: through
 * addr_from_sockaddr, so a v4-mapped IPv6 literal comes out as IPv4. */
static inline struct sl_addr
tu_addr(const char *s)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sl_addr a;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, s, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		assert_int_equal(addr_from_sockaddr(&a, (struct sockaddr *)&sin,
		    sizeof(sin)), 0);
	} else {
		assert_int_equal(inet_pton(AF_INET6, s, &sin6.sin6_addr), 1);
		sin6.sin6_family = AF_INET6;
		assert_int_equal(addr_from_sockaddr(&a, (struct sockaddr *)&sin6,
		    sizeof(sin6)), 0);
	}
	return a;
}

/* CLOCK_MONOTONIC in ns, for the cost figures some tests print. */
static inline double
tu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#endif
