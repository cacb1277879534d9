/*
 * fuzz_fleet.c - what the fleet process reads from the store: a stream
 * entry's field/value strings (fleet_parse_entry) and stream ids.
 *
 * The input is split at NUL bytes into at most 32 strings, the first of
 * them also taken as a stream id.  An entry that parses must hold valid
 * names, a known operation and a parsed address; an id that is valid is
 * never after itself, and "0-0" is never after it.
 */
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "grants.h"
#include "util.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *fv[32];
	struct grant_event ev;
	char *s, *p, *end;
	size_t n = 0;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	end = s + size;
	for (p = s; p <= end && n < 32; p += strlen(p) + 1)
		fv[n++] = p;
	if (fleet_id_valid(fv[0])) {
		FUZZ_CHECK(!fleet_id_after(fv[0], fv[0]));
		FUZZ_CHECK(!fleet_id_after("0-0", fv[0]));
	}
	if (fleet_parse_entry(fv, n, &ev) == 0) {
		FUZZ_CHECK(ev.op >= GOP_GRANT && ev.op <= GOP_REVOKE);
		FUZZ_CHECK(sl_valid_name(ev.gateway) && sl_valid_name(ev.server) &&
		    sl_valid_name(ev.user) && sl_valid_name(ev.action));
		FUZZ_CHECK(ev.expires_ms >= 0);
	}
	free(s);
	return 0;
}
