/*
 * stats.h - counters an operator can read without restarting anything: a
 * small text file of name=value lines, replaced atomically (write a
 * temporary file, rename) every stats_interval seconds.
 */
#ifndef SL_STATS_H
#define SL_STATS_H

#include <stddef.h>

struct stats_buf {
	char text[4096];
	size_t len;
	int overflow;
};

void stats_begin(struct stats_buf *b);
void stats_add(struct stats_buf *b, const char *name, unsigned long long v);
/* Write b to path atomically (path.tmp, then rename); 0 or SL_ESYS.
 * path is relative to dirfd (AT_FDCWD: the usual meaning), so a process
 * that gave up root can still write into a directory it holds open. */
int stats_write(int dirfd, const char *path, const struct stats_buf *b);

#endif
