/* filter.c - cheap checks made before any cryptography. */
#include "sl.h"
#include "stages.h"

int
filter_check(size_t len, const struct sl_addr *src)
{
	(void)src; /* per-source budgets belong here */
	return len == SL_DGRAM_LEN ? 0 : SL_ELEN;
}
