/* stats.c - the counters file and the Prometheus metrics file. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sl.h"
#include "stats.h"
#include "util.h"

#define PROM_MAX   65536   /* largest metrics file */

void
stats_begin(struct stats_buf *b)
{
	b->len = 0;
	b->overflow = 0;
	b->n = 0;
	b->text[0] = '\0';
	b->time = time(NULL);
	stats_add(b, "time", (unsigned long long)b->time);
}

static void
stats_entry(struct stats_buf *b, const char *server, const char *name,
    unsigned long long v)
{
	struct stats_ent *e;

	if (b->n >= STATS_ENTRIES) {
		b->overflow = 1;
		return;
	}
	e = &b->ent[b->n++];
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->server, sizeof(e->server), "%s", server);
	e->v = v;
}

void
stats_add(struct stats_buf *b, const char *name, unsigned long long v)
{
	int n;

	stats_entry(b, "", name, v);
	if (b->len >= sizeof(b->text) - 1)
		return;
	n = snprintf(b->text + b->len, sizeof(b->text) - b->len, "%s=%llu\n",
	    name, v);
	if (n < 0 || (size_t)n >= sizeof(b->text) - b->len) {
		b->overflow = 1;
		b->text[b->len] = '\0';
		b->len = sizeof(b->text) - 1;  /* no more lines */
		return;
	}
	b->len += (size_t)n;
}

void
stats_add_server(struct stats_buf *b, const char *server, const char *name,
    unsigned long long v)
{
	stats_entry(b, server, name, v);
}

static int
write_atomic(int dirfd, const char *path, const char *text, size_t len)
{
	char tmp[SL_PATH_MAX + 8];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return SL_ETOOBIG;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644);
	if (fd < 0)
		return SL_ESYS;
	if (sl_write_all(fd, text, len) != 0) {
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return SL_ESYS;
	}
	if (close(fd) != 0 || renameat(dirfd, tmp, dirfd, path) != 0) {
		unlinkat(dirfd, tmp, 0);
		return SL_ESYS;
	}
	return 0;
}

int
stats_write(int dirfd, const char *path, const struct stats_buf *b)
{
	return write_atomic(dirfd, path, b->text, strlen(b->text));
}

/* ---- Prometheus text format ------------------------------------------ */

/*
 * Each counter of the stats file, as a metric family and, for families
 * that split by a label, the label's value.  Families are written in this
 * order, each with its # HELP and # TYPE once, its samples together.
 */
struct prom_map {
	const char *name;       /* stats file name */
	const char *family;     /* metric name */
	const char *label;      /* label name, or NULL */
	const char *value;      /* its value */
	const char *type;       /* "counter" or "gauge" */
	const char *help;
};

static const struct prom_map prom_maps[] = {
	{ "received", "siglatch_datagrams_received_total", NULL, NULL,
	    "counter", "Datagrams received." },
	{ "bad_length", "siglatch_datagrams_dropped_total", "reason",
	    "bad_length", "counter", "Datagrams dropped before any private-key "
	    "work, by reason." },
	{ "rate_source", "siglatch_datagrams_dropped_total", "reason",
	    "rate_source", NULL, NULL },
	{ "rate_prefix", "siglatch_datagrams_dropped_total", "reason",
	    "rate_prefix", NULL, NULL },
	{ "rate_global", "siglatch_datagrams_dropped_total", "reason",
	    "rate_global", NULL, NULL },
	{ "duplicate", "siglatch_datagrams_dropped_total", "reason",
	    "duplicate", NULL, NULL },
	{ "k2_unknown_tag", "siglatch_datagrams_dropped_total", "reason",
	    "format2_unknown_tag", NULL, NULL },
	{ "k2_bad_mac", "siglatch_datagrams_dropped_total", "reason",
	    "format2_bad_mac", NULL, NULL },
	{ "k2_copy", "siglatch_datagrams_dropped_total", "reason",
	    "format2_copy", NULL, NULL },
	{ "k2_elsewhere", "siglatch_datagrams_dropped_total", "reason",
	    "format2_elsewhere", NULL, NULL },
	{ "k2_user_budget", "siglatch_datagrams_dropped_total", "reason",
	    "format2_user_budget", NULL, NULL },
	{ "rejected", "siglatch_knocks_rejected_total", NULL, NULL,
	    "counter", "Format-1 packets that failed before they "
	    "authenticated (one uniform class, SL201)." },
	{ "rejected_decrypt", "siglatch_knocks_rejected_reason_total",
	    "reason", "decrypt", "counter", "The same, by what failed (the "
	    "log and these counters only tell them apart)." },
	{ "rejected_malformed", "siglatch_knocks_rejected_reason_total",
	    "reason", "malformed", NULL, NULL },
	{ "rejected_version", "siglatch_knocks_rejected_reason_total",
	    "reason", "version", NULL, NULL },
	{ "rejected_unknown_user", "siglatch_knocks_rejected_reason_total",
	    "reason", "unknown_user", NULL, NULL },
	{ "rejected_user_disabled", "siglatch_knocks_rejected_reason_total",
	    "reason", "user_disabled", NULL, NULL },
	{ "rejected_hmac", "siglatch_knocks_rejected_reason_total",
	    "reason", "hmac", NULL, NULL },
	{ "stale", "siglatch_knocks_refused_total", "reason", "stale",
	    "counter", "Knocks refused after their MAC verified, by reason." },
	{ "replayed", "siglatch_knocks_refused_total", "reason", "replayed",
	    NULL, NULL },
	{ "denied", "siglatch_knocks_refused_total", "reason", "denied",
	    NULL, NULL },
	{ "not_ascii", "siglatch_knocks_refused_total", "reason", "not_ascii",
	    NULL, NULL },
	{ "cache_full", "siglatch_knocks_refused_total", "reason",
	    "cache_full", NULL, NULL },
	{ "state_error", "siglatch_knocks_refused_total", "reason",
	    "state_error", NULL, NULL },
	{ "k2_unopened", "siglatch_knocks_refused_total", "reason",
	    "format2_unopened", NULL, NULL },
	{ "k2_wrong_address", "siglatch_knocks_refused_total", "reason",
	    "format2_wrong_address", NULL, NULL },
	{ "k2_no_address", "siglatch_knocks_refused_total", "reason",
	    "format2_no_address", NULL, NULL },
	{ "accepted", "siglatch_knocks_accepted_total", NULL, NULL, "counter",
	    "Knocks authenticated and authorized." },
	{ "k2_accepted", "siglatch_knocks_accepted_format_two_total", NULL,
	    NULL, "counter", "Of the accepted knocks, those in format 2." },
	{ "k2_tags", "siglatch_format_two_tags", NULL, NULL, "gauge",
	    "Format-2 tags in the lookup table." },
	{ "receipts_sent", "siglatch_receipts_total", "result", "sent",
	    "counter", "Format-2 receipts, by what became of them." },
	{ "receipts_failed", "siglatch_receipts_total", "result", "failed",
	    NULL, NULL },
	{ "receipts_expired", "siglatch_receipts_total", "result", "expired",
	    NULL, NULL },
	{ "receipts_full", "siglatch_receipts_total", "result", "full",
	    NULL, NULL },
	{ "handoff_busy", "siglatch_handoff_busy_total", NULL, NULL, "counter",
	    "Requests refused because the runner was not keeping up." },
	{ "replay_entries", "siglatch_replay_entries", NULL, NULL, "gauge",
	    "Live entries in the replay cache." },
	{ "penalties", "siglatch_ratelimit_penalties_total", NULL, NULL,
	    "counter", "Sources and prefixes put in a penalty." },
	{ "ratelimit_evictions", "siglatch_ratelimit_evictions_total", NULL,
	    NULL, "counter", "Rate-limit table entries evicted." },
	{ "ratelimit_trickle", "siglatch_ratelimit_trickle_total", NULL, NULL,
	    "counter", "Packets from penalised known-good sources let through "
	    "on a trickle." },
	{ "kernel_bad_length", "siglatch_kernel_dropped_total", "reason",
	    "bad_length", "counter", "Datagrams the kernel filter dropped, by "
	    "reason." },
	{ "kernel_rate_source", "siglatch_kernel_dropped_total", "reason",
	    "rate_source", NULL, NULL },
	{ "kernel_k2_unknown_tag", "siglatch_kernel_dropped_total", "reason",
	    "format2_unknown_tag", NULL, NULL },
	{ "kernel_passed", "siglatch_kernel_passed_total", "format", "any",
	    "counter", "Datagrams the kernel filter passed." },
	{ "kernel_k2_passed", "siglatch_kernel_passed_total", "format", "2",
	    NULL, NULL },
	{ "time", "siglatch_stats_time_seconds", NULL, NULL, "gauge",
	    "When these counters were collected (Unix time)." },
};

#define NMAPS (sizeof(prom_maps) / sizeof(prom_maps[0]))

struct pbuf {
	char *p;
	size_t cap, len;
	int over;
};

static void pput(struct pbuf *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
pput(struct pbuf *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->over = 1;
		return;
	}
	o->len += (size_t)n;
}

/* A label value, escaped as the format wants (\\, \", \n). */
static void
pput_value(struct pbuf *o, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			pput(o, "\\%c", *s);
		else if (*s == '\n')
			pput(o, "\\n");
		else
			pput(o, "%c", *s);
	}
}

/* The map of a stats name; NULL for a name not in the table. */
static const struct prom_map *
prom_find(const char *name)
{
	size_t i;

	for (i = 0; i < NMAPS; i++)
		if (strcmp(prom_maps[i].name, name) == 0)
			return &prom_maps[i];
	return NULL;
}

/* Does b hold a per-server entry for name?  Then the metric is written
 * per server, and the total is left to sum(). */
static bool
has_server(const struct stats_buf *b, const char *name)
{
	unsigned i;

	for (i = 0; i < b->n; i++)
		if (b->ent[i].server[0] != '\0' &&
		    strcmp(b->ent[i].name, name) == 0)
			return true;
	return false;
}

static void
prom_sample(struct pbuf *o, const char *family, const struct prom_map *m,
    const struct stats_ent *e)
{
	int lab = 0;

	pput(o, "%s", family);
	if (e->server[0] != '\0') {
		pput(o, "{server=\"");
		pput_value(o, e->server);
		pput(o, "\"");
		lab = 1;
	}
	if (m != NULL && m->label != NULL) {
		pput(o, "%s%s=\"", lab ? "," : "{", m->label);
		pput_value(o, m->value);
		pput(o, "\"");
		lab = 1;
	}
	pput(o, "%s %llu\n", lab ? "}" : "", e->v);
}

/* A metric name for a counter the table does not know: siglatch_NAME_total
 * with anything but a-z and _ made _. */
static void
prom_other_name(char *out, size_t len, const char *name)
{
	size_t i;

	snprintf(out, len, "siglatch_%s_total", name);
	for (i = 9; out[i] != '\0'; i++)
		if ((out[i] < 'a' || out[i] > 'z') && out[i] != '_')
			out[i] = '_';
}

int
stats_format_prom(const struct stats_buf *b, char *out, size_t outlen)
{
	struct pbuf o = { out, outlen, 0, 0 };
	const struct prom_map *m, *first;
	char other[STATS_NAME_MAX + 16];
	size_t i, k;
	unsigned e;

	if (outlen == 0)
		return SL_ETOOBIG;
	out[0] = '\0';
	for (i = 0; i < NMAPS; i++) {
		first = &prom_maps[i];
		if (first->type == NULL)
			continue;  /* written with its family's first */
		/* the family's samples, if there are any */
		for (e = 0; e < b->n; e++)
			if ((m = prom_find(b->ent[e].name)) != NULL &&
			    strcmp(m->family, first->family) == 0)
				break;
		if (e == b->n)
			continue;
		pput(&o, "# HELP %s %s\n# TYPE %s %s\n", first->family,
		    first->help, first->family, first->type);
		for (k = i; k < NMAPS; k++) {
			m = &prom_maps[k];
			if (strcmp(m->family, first->family) != 0)
				continue;
			for (e = 0; e < b->n; e++) {
				if (strcmp(b->ent[e].name, m->name) != 0 ||
				    (b->ent[e].server[0] == '\0' &&
				    has_server(b, m->name)))
					continue;
				prom_sample(&o, m->family, m, &b->ent[e]);
			}
		}
	}
	for (e = 0; e < b->n; e++) {
		if (prom_find(b->ent[e].name) != NULL ||
		    b->ent[e].server[0] != '\0')
			continue;
		prom_other_name(other, sizeof(other), b->ent[e].name);
		pput(&o, "# HELP %s siglatchd counter %s (docs/LOGCODES.md).\n"
		    "# TYPE %s counter\n", other, b->ent[e].name, other);
		prom_sample(&o, other, NULL, &b->ent[e]);
	}
	if (o.over)
		return SL_ETOOBIG;
	return (int)o.len;
}

int
stats_write_prom(int dirfd, const char *path, const struct stats_buf *b)
{
	char *text;
	int n, rc;

	if ((text = malloc(PROM_MAX)) == NULL)
		return SL_ESYS;
	if ((n = stats_format_prom(b, text, PROM_MAX)) < 0)
		rc = n;
	else
		rc = write_atomic(dirfd, path, text, (size_t)n);
	free(text);
	return rc;
}

int
stats_target(const char *path, int base_dirfd, const char *base_dir,
    int *dirfd, char *name, size_t namelen, char *err, size_t errlen)
{
	char dir[SL_PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t dl;

	*dirfd = -1;
	if (slash == NULL) {
		if (snprintf(name, namelen, "%s", path) >= (int)namelen)
			goto toolong;
		*dirfd = base_dirfd >= 0 ?
		    fcntl(base_dirfd, F_DUPFD_CLOEXEC, 3) :
		    open(base_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (*dirfd < 0) {
			snprintf(err, errlen, "%s: %s", base_dir, strerror(errno));
			return SL_ESYS;
		}
		return 0;
	}
	if (slash[1] == '\0') {
		snprintf(err, errlen, "%s: a file name, not a directory", path);
		return SL_EINVAL;
	}
	dl = slash == path ? 1 : (size_t)(slash - path);
	if (dl >= sizeof(dir) ||
	    snprintf(name, namelen, "%s", slash + 1) >= (int)namelen)
		goto toolong;
	memcpy(dir, path, dl);
	dir[dl] = '\0';
	if ((*dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return SL_ESYS;
	}
	return 0;
toolong:
	snprintf(err, errlen, "%s: path too long", path);
	return SL_ETOOBIG;
}
