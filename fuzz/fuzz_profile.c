/*
 * fuzz_profile.c - knocker's profile parser (src/client/profile.c) on arbitrary
 * text.  A failure must be SL_ECONFIG with a "FILE:LINE:" message; a
 * success must respect every limit docs/knocker.md states (names, hosts,
 * ranges, absolute paths), and what profile_format writes must parse back
 * to the same profiles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "profile.h"

#define SRC "/fz/knocker.conf"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_SETUP(setenv("HOME", "/home/fuzz", 1) == 0);
	return 0;
}

static void
check_profile(const struct profile *p)
{
	unsigned i;

	FUZZ_CHECK(profile_valid_name(p->name));
	FUZZ_CHECK(p->line >= 1);
	FUZZ_CHECK(p->nhosts <= PROFILE_HOSTS_MAX);
	for (i = 0; i < p->nhosts; i++)
		FUZZ_CHECK(client_valid_host(p->hosts[i]));
	FUZZ_CHECK(p->format >= 0 && p->format <= 2);
	FUZZ_CHECK(p->wait_s >= -1 && p->wait_s <= PROFILE_WAIT_MAX);
	FUZZ_CHECK(p->timeout_s <= PROFILE_TIMEOUT_MAX);
	FUZZ_CHECK(p->server_key[0] == '\0' || p->server_key[0] == '/');
	FUZZ_CHECK(p->hmac_key[0] == '\0' || p->hmac_key[0] == '/');
	FUZZ_CHECK(p->bundle[0] == '\0' || p->bundle[0] == '/');
}

static void
check_same(const struct profile *a, const struct profile *b)
{
	unsigned i;

	FUZZ_CHECK(strcmp(a->name, b->name) == 0);
	FUZZ_CHECK(a->nhosts == b->nhosts);
	for (i = 0; i < a->nhosts; i++)
		FUZZ_CHECK(strcmp(a->hosts[i], b->hosts[i]) == 0);
	FUZZ_CHECK(a->port == b->port && a->format == b->format);
	FUZZ_CHECK(strcmp(a->user, b->user) == 0);
	FUZZ_CHECK(strcmp(a->action, b->action) == 0);
	FUZZ_CHECK(a->addr_mode == b->addr_mode);
	if (a->addr_mode == PROFILE_ADDR_IP)
		FUZZ_CHECK(memcmp(&a->allow_addr, &b->allow_addr,
		    sizeof(a->allow_addr)) == 0);
	FUZZ_CHECK(strcmp(a->server_key, b->server_key) == 0);
	FUZZ_CHECK(strcmp(a->hmac_key, b->hmac_key) == 0);
	FUZZ_CHECK(strcmp(a->bundle, b->bundle) == 0);
	FUZZ_CHECK(a->wait_s == b->wait_s && a->timeout_s == b->timeout_s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profiles ps = { NULL, 0, 0 }, again;
	static char text[16384];
	char err[1024];
	size_t i;
	int rc;

	err[0] = '\0';
	rc = profile_parse_buf(&ps, (const char *)data, size, SRC, err,
	    sizeof(err));
	if (rc != 0) {
		FUZZ_CHECK(rc == SL_ECONFIG || rc == SL_ESYS);
		FUZZ_CHECK(strncmp(err, SRC ":", sizeof(SRC)) == 0 ||
		    rc == SL_ESYS);
		FUZZ_CHECK(strlen(err) < sizeof(err));
		profile_free(&ps);
		return 0;
	}
	FUZZ_CHECK(ps.n <= PROFILE_MAX);
	for (i = 0; i < ps.n; i++) {
		check_profile(&ps.v[i]);
		FUZZ_CHECK(profile_find(&ps, ps.v[i].name) == &ps.v[i]);
		if (profile_format(&ps.v[i], text, sizeof(text)) != 0)
			continue;
		memset(&again, 0, sizeof(again));
		FUZZ_CHECK(profile_parse_buf(&again, text, strlen(text),
		    "/fz/w.conf", err, sizeof(err)) == 0);
		FUZZ_CHECK(again.n == 1);
		check_same(&ps.v[i], &again.v[0]);
		profile_free(&again);
	}
	profile_free(&ps);
	return 0;
}
