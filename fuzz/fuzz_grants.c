/*
 * fuzz_grants.c - the grants file parser (src/daemon/grants.c).
 *
 * The runner reads STATE_DIR/grants/grants as root at every start, so its
 * parser gets the same treatment as the datagram path.  The input is the
 * file's text.  Whatever it holds:
 *   - every entry kept is live (expiry after "now") or due for revocation
 *     now, and the table never holds more entries than slots;
 *   - writing the table out and reading that back gives the same entries
 *     with no line refused, and writing again gives the same text;
 *   - taking every entry through lapse, a failed destructor and a
 *     successful one empties the table.
 */
#include <string.h>

#include "grants.h"
#include "log.h"
#include "fuzz.h"

#define NOW 1795000000000LL

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_grants", 1, 0);
	return 0;
}

static char *
format(const struct grants *gt, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	FUZZ_SETUP(f != NULL);
	FUZZ_CHECK(grants_format(gt, f) == 0);
	FUZZ_CHECK(fclose(f) == 0);
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct grants *gt, *back;
	struct grant *g;
	char *t1, *t2;
	size_t l1, l2;
	unsigned i, n, rounds = 0;

	if (grants_new(&gt, 4, 3600) != 0)
		return 0;
	(void)grants_parse(gt, (const char *)data, size, NOW, "fuzz");
	FUZZ_CHECK(grants_count(gt, GS_FREE) <= grants_slots(gt));
	for (i = 0, n = 0; i < grants_slots(gt); i++) {
		g = grants_slot(gt, i);
		if (g->state == GS_FREE)
			continue;
		n++;
		FUZZ_CHECK(g->state == GS_LIVE || g->state == GS_REVOKE);
		FUZZ_CHECK(g->state != GS_LIVE || g->expires_ms > NOW);
		FUZZ_CHECK(g->state != GS_REVOKE || g->next_ms == NOW);
		FUZZ_CHECK(memchr(g->server, '\0', sizeof(g->server)) != NULL);
		FUZZ_CHECK(memchr(g->user, '\0', sizeof(g->user)) != NULL);
		FUZZ_CHECK(memchr(g->action, '\0', sizeof(g->action)) != NULL);
		FUZZ_CHECK(grants_find(gt, g->server, g->user_id,
		    g->action_id, &g->addr) == g);
	}
	FUZZ_CHECK(n == grants_count(gt, GS_FREE));

	/* the round trip */
	t1 = format(gt, &l1);
	FUZZ_CHECK(grants_new(&back, 4, 3600) == 0);
	FUZZ_CHECK(grants_parse(back, t1, l1, NOW, "round") == 0);
	FUZZ_CHECK(grants_count(back, GS_FREE) ==
	    grants_count(gt, GS_FREE));
	t2 = format(back, &l2);
	/* entries may sit in other slots: compare as sets of lines */
	FUZZ_CHECK(l1 == l2);
	for (i = 0; i < grants_slots(gt); i++) {
		g = grants_slot(gt, i);
		if (g->state != GS_FREE)
			FUZZ_CHECK(grants_find(back, g->server, g->user_id,
			    g->action_id, &g->addr) != NULL);
	}
	free(t1);
	free(t2);
	grants_free(back);

	/* everything ends: lapse, a failure, then success */
	(void)grants_revoke_all(gt, NOW);
	while ((g = grants_due(gt, NOW + (int64_t)rounds * 600000)) != NULL) {
		FUZZ_CHECK(rounds < 4 * grants_slots(gt) + 8);
		grants_revoking(gt, g);
		grants_revoked(gt, g, g->attempts > 0,
		    NOW + (int64_t)rounds * 600000);
		if (grants_due(gt, NOW + (int64_t)rounds * 600000) == NULL)
			rounds++;
	}
	FUZZ_CHECK(grants_count(gt, GS_FREE) == 0);
	FUZZ_CHECK(grants_next_ms(gt) == -1);
	grants_free(gt);
	return 0;
}
