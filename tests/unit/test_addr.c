/* test_addr.c - CIDR parsing, prefix edges, v4-mapped addresses, matching. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <cmocka.h>

#include "addr.h"
#include "testutil.h"

static void
test_parse_cidr(void **state)
{
	static const struct {
		const char *in;
		int ok;
		int family;
		unsigned prefix;
		const char *str; /* addr_to_str of the stored address */
	} cases[] = {
		{ "1.2.3.4", 1, AF_INET, 32, "1.2.3.4" },
		{ "1.2.3.4/0", 1, AF_INET, 0, "1.2.3.4" },
		{ "1.2.3.4/1", 1, AF_INET, 1, "1.2.3.4" },
		{ "10.0.0.0/8", 1, AF_INET, 8, "10.0.0.0" },
		{ "10.1.2.3/8", 1, AF_INET, 8, "10.1.2.3" }, /* host bits kept */
		{ "1.2.3.4/31", 1, AF_INET, 31, "1.2.3.4" },
		{ "1.2.3.4/32", 1, AF_INET, 32, "1.2.3.4" },
		{ "1.2.3.4/33", 0, 0, 0, NULL },
		{ "1.2.3.4/-1", 0, 0, 0, NULL },
		{ "1.2.3.4/", 0, 0, 0, NULL },
		{ "1.2.3.4/ 8", 0, 0, 0, NULL },
		{ "1.2.3.4/8x", 0, 0, 0, NULL },
		{ "1.2.3.4/0008", 0, 0, 0, NULL },
		{ "1.2.3.4/8/8", 0, 0, 0, NULL },
		{ "/8", 0, 0, 0, NULL },
		{ "", 0, 0, 0, NULL },
		{ "1.2.3", 0, 0, 0, NULL },
		{ "1.2.3.4.5", 0, 0, 0, NULL },
		{ "256.1.1.1", 0, 0, 0, NULL },
		{ " 1.2.3.4", 0, 0, 0, NULL },
		{ "1.2.3.4 ", 0, 0, 0, NULL },
		{ "localhost", 0, 0, 0, NULL },
		{ "::1", 1, AF_INET6, 128, "::1" },
		{ "::/0", 1, AF_INET6, 0, "::" },
		{ "2001:db8::/32", 1, AF_INET6, 32, "2001:db8::" },
		{ "2001:db8::1/127", 1, AF_INET6, 127, "2001:db8::1" },
		{ "2001:db8::1/128", 1, AF_INET6, 128, "2001:db8::1" },
		{ "2001:db8::1/129", 0, 0, 0, NULL },
		{ "2001:db8::g", 0, 0, 0, NULL },
		{ "fe80::1%eth0", 0, 0, 0, NULL },
		{ "1111:2222:3333:4444:5555:6666:7777:8888:9999", 0, 0, 0, NULL },
		/* v4-mapped entries become IPv4 rules */
		{ "::ffff:10.0.0.1", 1, AF_INET, 32, "10.0.0.1" },
		{ "::ffff:10.0.0.0/104", 1, AF_INET, 8, "10.0.0.0" },
		{ "::ffff:0:0/96", 1, AF_INET, 0, "0.0.0.0" },
		{ "::ffff:10.0.0.1/95", 1, AF_INET6, 95, "::ffff:10.0.0.1" },
		{ "::ffff:10.0.0.1/129", 0, 0, 0, NULL },
	};
	char buf[SL_IPSTR_MAX];
	struct sl_cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = addr_parse_cidr(cases[i].in, &c);

		if (!cases[i].ok) {
			if (rc == 0)
				fail_msg("'%s' accepted", cases[i].in);
			continue;
		}
		if (rc != 0)
			fail_msg("'%s' refused", cases[i].in);
		assert_int_equal(c.addr.family, cases[i].family);
		assert_int_equal(c.prefix, cases[i].prefix);
		addr_to_str(&c.addr, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].str);
	}
}

static void
test_from_sockaddr(void **state)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;
	struct sl_addr a;
	char buf[SL_IPSTR_MAX];

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(50000);
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	assert_int_equal(addr_from_sockaddr(&a, (struct sockaddr *)&sin,
	    sizeof(sin)), 0);
	assert_int_equal(a.family, AF_INET);
	addr_to_str(&a, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.7");
	/* short length refused */
	assert_int_equal(addr_from_sockaddr(&a, (struct sockaddr *)&sin,
	    sizeof(sin) - 1), SL_EINVAL);

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::42", &sin6.sin6_addr);
	assert_int_equal(addr_from_sockaddr(&a, (struct sockaddr *)&sin6,
	    sizeof(sin6)), 0);
	assert_int_equal(a.family, AF_INET6);
	addr_to_str(&a, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::42");
	assert_int_equal(addr_from_sockaddr(&a, (struct sockaddr *)&sin6,
	    sizeof(sin) /* too short for AF_INET6 */), SL_EINVAL);

	/* v4-mapped is unmapped to AF_INET */
	inet_pton(AF_INET6, "::ffff:198.51.100.9", &sin6.sin6_addr);
	assert_int_equal(addr_from_sockaddr(&a, (struct sockaddr *)&sin6,
	    sizeof(sin6)), 0);
	assert_int_equal(a.family, AF_INET);
	addr_to_str(&a, buf, sizeof(buf));
	assert_string_equal(buf, "198.51.100.9");
	/* ... but v4-compatible (::a.b.c.d) and others stay IPv6 */
	inet_pton(AF_INET6, "::198.51.100.9", &sin6.sin6_addr);
	assert_int_equal(addr_from_sockaddr(&a, (struct sockaddr *)&sin6,
	    sizeof(sin6)), 0);
	assert_int_equal(a.family, AF_INET6);
	inet_pton(AF_INET6, "::fffe:198.51.100.9", &sin6.sin6_addr);
	assert_int_equal(addr_from_sockaddr(&a, (struct sockaddr *)&sin6,
	    sizeof(sin6)), 0);
	assert_int_equal(a.family, AF_INET6);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(addr_from_sockaddr(&a, (struct sockaddr *)&sun,
	    sizeof(sun)), SL_EINVAL);
	assert_int_equal(addr_from_sockaddr(&a, NULL, 0), SL_EINVAL);
}

static void
test_to_str(void **state)
{
	struct sl_addr a;
	char buf[SL_IPSTR_MAX], tiny[4];

	(void)state;
	a = tu_addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
	addr_to_str(&a, buf, sizeof(buf));
	assert_string_equal(buf, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
	a = tu_addr("255.255.255.255");
	addr_to_str(&a, buf, sizeof(buf));
	assert_string_equal(buf, "255.255.255.255");
	addr_to_str(&a, tiny, sizeof(tiny)); /* does not fit: "?" */
	assert_string_equal(tiny, "?");
	memset(&a, 0, sizeof(a));
	addr_to_str(&a, buf, sizeof(buf));
	assert_string_equal(buf, "?");
}

static void
test_match(void **state)
{
	static const struct {
		const char *list, *addr;
		bool want;
	} cases[] = {
		{ "", "1.2.3.4", true },                /* empty list allows all */
		{ "", "::1", true },
		{ "1.2.3.4", "1.2.3.4", true },
		{ "1.2.3.4", "1.2.3.5", false },
		{ "1.2.3.4/32", "1.2.3.5", false },
		{ "1.2.3.4/31", "1.2.3.5", true },
		{ "1.2.3.4/31", "1.2.3.6", false },
		{ "10.0.0.0/8", "10.255.255.255", true },
		{ "10.0.0.0/8", "11.0.0.0", false },
		{ "10.0.0.0/8", "9.255.255.255", false },
		{ "10.1.2.3/8", "10.200.0.1", true },   /* host bits ignored */
		{ "10.0.0.0/7", "11.1.1.1", true },
		{ "10.0.0.0/7", "12.0.0.0", false },
		{ "192.168.1.128/25", "192.168.1.127", false },
		{ "192.168.1.128/25", "192.168.1.128", true },
		{ "192.168.1.128/25", "192.168.1.255", true },
		{ "192.168.1.200/25", "192.168.1.129", true },
		{ "128.0.0.0/1", "127.255.255.255", false },
		{ "128.0.0.0/1", "128.0.0.0", true },
		{ "0.0.0.0/0", "8.8.8.8", true },
		{ "0.0.0.0/0", "::1", false },          /* families never mix */
		{ "0.0.0.0/0", "::ffff:8.8.8.8", true },/* ... after unmapping */
		{ "::/0", "::1", true },
		{ "::/0", "1.2.3.4", false },
		{ "::/0", "::ffff:1.2.3.4", false },
		{ "::ffff:1.2.3.4", "1.2.3.4", true },
		{ "::ffff:1.2.3.4", "::ffff:1.2.3.4", true },
		{ "1.2.3.4", "::ffff:1.2.3.4", true },
		{ "::ffff:10.0.0.0/104", "10.9.8.7", true },
		{ "::ffff:10.0.0.0/104", "11.9.8.7", false },
		{ "::1.2.3.4", "1.2.3.4", false },      /* v4-compatible is v6 */
		{ "2001:db8::/32", "2001:db8:ffff::1", true },
		{ "2001:db8::/32", "2001:db9::", false },
		{ "2001:db8::/33", "2001:db8:7fff::1", true },
		{ "2001:db8::/33", "2001:db8:8000::", false },
		{ "2001:db8::1/127", "2001:db8::", true },
		{ "2001:db8::1/127", "2001:db8::2", false },
		{ "fe80::1/128", "fe80::1", true },
		{ "fe80::1/128", "fe80::2", false },
		{ "8000::/1", "7fff::", false },
		{ "8000::/1", "8000::", true },
		{ "1.1.1.1, 2.2.2.2 ,3.3.3.3", "2.2.2.2", true },
		{ "1.1.1.1, 2.2.2.2 ,3.3.3.3", "3.3.3.3", true },
		{ "1.1.1.1, 2.2.2.2 ,3.3.3.3", "4.4.4.4", false },
		{ "1.1.1.1, ::1", "::1", true },
		{ "1.1.1.1, ::1", "::2", false },
	};
	struct sl_cidr_list l;
	struct sl_addr a;
	char bad[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(addr_parse_list(cases[i].list, &l, bad,
		    sizeof(bad)), 0);
		a = tu_addr(cases[i].addr);
		if (addr_in_list(&l, &a) != cases[i].want)
			fail_msg("'%s' in [%s]: expected %d", cases[i].addr,
			    cases[i].list, cases[i].want);
	}
}

static void
test_parse_list(void **state)
{
	static const struct {
		const char *in;
		int rc;
		unsigned n;         /* entries when rc == 0 */
		const char *bad;    /* offending item when rc != 0 */
	} cases[] = {
		{ "", 0, 0, NULL },
		{ "   ", 0, 0, NULL },
		{ "1.1.1.1", 0, 1, NULL },
		{ "1.1.1.1,2.2.2.2", 0, 2, NULL },
		{ " 1.1.1.1 , ::1 ", 0, 2, NULL },
		{ "1.1.1.1,\t10.0.0.0/8\t,::/0", 0, 3, NULL },
		{ "1.1.1.1,,2.2.2.2", SL_EINVAL, 0, "" },
		{ "1.1.1.1,", SL_EINVAL, 0, "" },
		{ "1.1.1.1, ", SL_EINVAL, 0, "" },
		{ ",1.1.1.1", SL_EINVAL, 0, "" },
		{ "1.1.1.1,bogus", SL_EINVAL, 0, "bogus" },
		{ "1.1.1.1 2.2.2.2", SL_EINVAL, 0, "1.1.1.1 2.2.2.2" },
		{ "1.1.1.1;2.2.2.2", SL_EINVAL, 0, "1.1.1.1;2.2.2.2" },
		{ "10.0.0.0/33", SL_EINVAL, 0, "10.0.0.0/33" },
	};
	struct sl_cidr_list l;
	char bad[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = addr_parse_list(cases[i].in, &l, bad, sizeof(bad));

		if (rc != cases[i].rc)
			fail_msg("'%s': rc %d, expected %d", cases[i].in, rc,
			    cases[i].rc);
		if (rc == 0) {
			assert_int_equal(l.n, cases[i].n);
		} else {
			assert_int_equal(l.n, 0);
			assert_string_equal(bad, cases[i].bad);
		}
	}
}

static void
test_list_limit(void **state)
{
	char text[SL_MAX_CIDRS * 20 + 64], bad[64];
	struct sl_cidr_list l;
	struct sl_addr a;
	size_t n = 0;
	unsigned i;

	(void)state;
	for (i = 0; i < SL_MAX_CIDRS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s10.0.%u.0/24",
		    i ? ", " : "", i);
	assert_int_equal(addr_parse_list(text, &l, bad, sizeof(bad)), 0);
	assert_int_equal(l.n, SL_MAX_CIDRS);
	a = tu_addr("10.0.31.77");
	assert_true(addr_in_list(&l, &a));
	a = tu_addr("10.0.32.1");
	assert_false(addr_in_list(&l, &a));

	snprintf(text + n, sizeof(text) - n, ", 10.0.%u.0/24", SL_MAX_CIDRS);
	assert_int_equal(addr_parse_list(text, &l, bad, sizeof(bad)), SL_ETOOBIG);
	assert_string_equal(bad, "10.0.32.0/24");
	assert_int_equal(l.n, 0);

	/* a long item is reported (truncated), not overrun */
	memset(text, 'x', 300);
	text[300] = '\0';
	assert_int_equal(addr_parse_list(text, &l, bad, sizeof(bad)), SL_EINVAL);
	assert_true(strlen(bad) >= 32 && strspn(bad, "x") == strlen(bad));
	assert_int_equal(addr_parse_list(text, &l, NULL, 0), SL_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_cidr),
		cmocka_unit_test(test_from_sockaddr),
		cmocka_unit_test(test_to_str),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_parse_list),
		cmocka_unit_test(test_list_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
