/*
 * stats.h - counters an operator can read without restarting anything: a
 * small text file of name=value lines, replaced atomically (write a
 * temporary file, rename) every stats_interval seconds; and the same
 * counters in the Prometheus text format (node_exporter's textfile
 * collector: siglatch_* counters and gauges with # HELP and # TYPE, a
 * label per server and per reason), written the same way (metrics_file).
 */
#ifndef SL_STATS_H
#define SL_STATS_H

#include <stddef.h>
#include <time.h>

#include "sl.h"

#define STATS_NAME_MAX   40
#define STATS_ENTRIES   768   /* global counters, and some per server */

struct stats_ent {
	char name[STATS_NAME_MAX];      /* as in the stats file */
	char server[SL_NAME_MAX];       /* "" = all servers */
	unsigned long long v;
};

struct stats_buf {
	char text[4096];                /* name=value lines */
	size_t len;
	int overflow;
	time_t time;
	struct stats_ent ent[STATS_ENTRIES];
	unsigned n;
};

void stats_begin(struct stats_buf *b);
void stats_add(struct stats_buf *b, const char *name, unsigned long long v);
/* One server's share of a counter: in the metrics only (a server label),
 * not in the name=value file. */
void stats_add_server(struct stats_buf *b, const char *server,
    const char *name, unsigned long long v);
/* Write b to path atomically (path.tmp, then rename); 0 or SL_ESYS.
 * path is relative to dirfd (AT_FDCWD: the usual meaning), so a process
 * that gave up root can still write into a directory it holds open. */
int stats_write(int dirfd, const char *path, const struct stats_buf *b);
/* Render b in the Prometheus text format into out (NUL-terminated);
 * the length, or SL_ETOOBIG. */
int stats_format_prom(const struct stats_buf *b, char *out, size_t outlen);
/* The same, written atomically like stats_write. */
int stats_write_prom(int dirfd, const char *path, const struct stats_buf *b);
/*
 * Where a file named by the configuration goes, as a directory held open
 * and a name in it, so that it can still be written after a chroot: a
 * bare name goes into the directory base_dirfd (when >= 0) or base_dir; a
 * path into its own directory.  0, or SL_ESYS / SL_EINVAL with err set.
 */
int stats_target(const char *path, int base_dirfd, const char *base_dir,
    int *dirfd, char *name, size_t namelen, char *err, size_t errlen);

#endif
