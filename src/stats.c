/* stats.c - the counters file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sl.h"
#include "stats.h"

void
stats_begin(struct stats_buf *b)
{
	b->len = 0;
	b->overflow = 0;
	b->text[0] = '\0';
	stats_add(b, "time", (unsigned long long)time(NULL));
}

void
stats_add(struct stats_buf *b, const char *name, unsigned long long v)
{
	int n;

	if (b->overflow)
		return;
	n = snprintf(b->text + b->len, sizeof(b->text) - b->len, "%s=%llu\n",
	    name, v);
	if (n < 0 || (size_t)n >= sizeof(b->text) - b->len) {
		b->overflow = 1;
		b->text[b->len] = '\0';
		return;
	}
	b->len += (size_t)n;
}

int
stats_write(int dirfd, const char *path, const struct stats_buf *b)
{
	char tmp[SL_PATH_MAX + 8];
	size_t off = 0;
	ssize_t n;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return SL_ETOOBIG;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644);
	if (fd < 0)
		return SL_ESYS;
	while (off < b->len) {
		n = write(fd, b->text + off, b->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			unlinkat(dirfd, tmp, 0);
			return SL_ESYS;
		}
		off += (size_t)n;
	}
	if (close(fd) != 0 || renameat(dirfd, tmp, dirfd, path) != 0) {
		unlinkat(dirfd, tmp, 0);
		return SL_ESYS;
	}
	return 0;
}
