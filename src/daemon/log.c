/*
 * log.c - log lines with stable codes, flood-limited per code.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sl.h"
#include "util.h"

#define LOG_CODES 400
#define LOG_LINE  2048
#define LOG_PATH  4096
#define JSON_TAIL 512   /* room for the outcome fields in a JSON line */

static struct {
	int fg, debug, opened_syslog, json;
	int fds[LOG_SINKS_MAX];  /* [0] global log_file, [1..] server sinks */
	char *paths[LOG_SINKS_MAX];  /* what log_reopen opens again */
	int nsinks;
	unsigned burst, interval;
	struct {
		time_t start;
		unsigned lines;
		unsigned long suppressed;
	} lim[LOG_CODES];
} L = { .fds = { -1 }, .nsinks = 1, .burst = 5, .interval = 10 };

void
log_init(const char *ident, int fg, int debug)
{
	L.fg = fg;
	L.debug = debug;
	if (!fg && !L.opened_syslog) {
		/* LOG_NDELAY: connect now, before any sandbox (log.h) */
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		L.opened_syslog = 1;
	}
}

/* Never through a symbolic link (log.h); a new file is 0640. */
static int
open_logfile(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY |
	    O_NOFOLLOW, 0640);
}

static int
log_keep_path(int sink, const char *path)
{
	char *p;

	if ((p = strndup(path, LOG_PATH)) == NULL)
		return SL_ESYS;
	free(L.paths[sink]);
	L.paths[sink] = p;
	return 0;
}

int
log_set_file(const char *path)
{
	int fd;

	if ((fd = open_logfile(path)) < 0)
		return SL_ESYS;
	if (log_keep_path(0, path) != 0) {
		close(fd);
		return SL_ESYS;
	}
	if (L.fds[0] >= 0)
		close(L.fds[0]);
	L.fds[0] = fd;
	return 0;
}

int
log_add_sink(const char *path)
{
	int fd;

	if (L.nsinks >= LOG_SINKS_MAX)
		return SL_EFULL;
	if ((fd = open_logfile(path)) < 0)
		return SL_ESYS;
	if (log_keep_path(L.nsinks, path) != 0) {
		close(fd);
		return SL_ESYS;
	}
	L.fds[L.nsinks] = fd;
	return L.nsinks++;
}

int
log_reopen(int *failed_sink, int *failed_errno)
{
	int i, fd, bad = 0;

	for (i = 0; i < L.nsinks; i++) {
		if (L.paths[i] == NULL || L.fds[i] < 0)
			continue;
		/* a new descriptor under the old number: threads writing
		 * meanwhile see one file or the other, never a closed fd */
		if ((fd = open_logfile(L.paths[i])) < 0 ||
		    dup3(fd, L.fds[i], O_CLOEXEC) < 0) {
			if (bad++ == 0) {
				*failed_sink = i;
				*failed_errno = errno;
			}
			if (fd >= 0)
				close(fd);
			continue;
		}
		close(fd);
	}
	return bad;
}

const char *
log_path(int sink)
{
	return sink >= 0 && sink < LOG_SINKS_MAX ? L.paths[sink] : NULL;
}

int
log_files(int *fds, int *sinks, int max)
{
	int i, n = 0;

	for (i = 0; i < L.nsinks && n < max; i++) {
		if (L.fds[i] < 0)
			continue;
		fds[n] = L.fds[i];
		sinks[n++] = i;
	}
	return n;
}

int
log_adopt(int sink, int fd)
{
	if (sink < 0 || sink >= L.nsinks || L.fds[sink] < 0) {
		close(fd);
		return SL_EINVAL;
	}
	if (dup3(fd, L.fds[sink], O_CLOEXEC) < 0) {
		close(fd);
		return SL_ESYS;
	}
	close(fd);
	return 0;
}

void
log_close(void)
{
	int i;

	for (i = 0; i < L.nsinks; i++) {
		if (L.fds[i] >= 0)
			close(L.fds[i]);
		L.fds[i] = -1;
		free(L.paths[i]);
		L.paths[i] = NULL;
	}
	L.nsinks = 1;
	if (L.opened_syslog)
		closelog();
	L.opened_syslog = 0;
}

void
log_set_limits(unsigned burst, unsigned interval)
{
	L.burst = burst;
	L.interval = interval > 0 ? interval : 1;
}

int
log_enabled(int prio)
{
	return prio != LOG_DEBUG || L.debug;
}

static const char *
prio_name(int prio)
{
	switch (prio) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	}
	return "debug";
}

void
log_set_json(int on)
{
	L.json = on != 0;
}

/* Append s to buf[*n..cap) as a JSON string (quoted), or null; the result
 * is cut short, never left unterminated: *n stays < cap. */
static void
json_str(char *buf, size_t cap, size_t *n, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	char e[8];
	size_t el;

	if (s == NULL) {
		if (*n + 5 < cap) {
			memcpy(buf + *n, "null", 5);
			*n += 4;
		}
		return;
	}
	if (*n + 2 >= cap)
		return;
	buf[(*n)++] = '"';
	for (; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			e[0] = '\\';
			e[1] = (char)*p;
			el = 2;
		} else if (*p < 0x20 || *p >= 0x7f) {
			/* control bytes, and bytes outside ASCII one by one
			 * (the line is valid JSON whatever the bytes were) */
			memcpy(e, "\\u00", 4);
			e[4] = hex[*p >> 4];
			e[5] = hex[*p & 15];
			el = 6;
		} else {
			e[0] = (char)*p;
			el = 1;
		}
		if (*n + el + 2 >= cap)
			break;
		memcpy(buf + *n, e, el);
		*n += el;
	}
	buf[(*n)++] = '"';
	buf[*n] = '\0';
}

/* ,"key":"value" (cut short to fit before lim), or nothing when even
 * a short one would not fit: the object stays whole. */
static void
json_field(char *buf, size_t lim, size_t *n, const char *key, const char *v)
{
	size_t k = strlen(key);

	if (*n + k + 16 >= lim)
		return;
	buf[(*n)++] = ',';
	buf[(*n)++] = '"';
	memcpy(buf + *n, key, k);
	*n += k;
	buf[(*n)++] = '"';
	buf[(*n)++] = ':';
	buf[*n] = '\0';
	json_str(buf, lim, n, v);
}

/* {"time":...,"level":...,"code":"SL201","message":..., outcome fields} */
static int
json_line(char *line, size_t cap, const char *when, int prio, int code,
    const char *msg, const struct log_outcome *o)
{
	char cs[8];
	size_t n = 0;

	snprintf(cs, sizeof(cs), "SL%03d", code % 1000);
	line[0] = '{';
	line[1] = '\0';
	n = 1;
	json_field(line, cap, &n, "time", when);
	json_field(line, cap, &n, "level", prio_name(prio));
	json_field(line, cap, &n, "code", cs);
	/* room kept for the fields after the message */
	json_field(line, cap - JSON_TAIL, &n, "message", msg);
	if (o != NULL) {
		json_field(line, cap, &n, "src", o->src);
		json_field(line, cap, &n, "server", o->server);
		json_field(line, cap, &n, "user", o->user);
		json_field(line, cap, &n, "action", o->action);
		json_field(line, cap, &n, "outcome", o->outcome);
		json_field(line, cap, &n, "reason", o->reason);
	}
	/* the opening brace is followed by a comma from the first field */
	line[1] = ' ';
	if (n + 2 >= cap)
		n = cap - 3;
	line[n++] = '}';
	line[n++] = '\n';
	line[n] = '\0';
	return (int)n;
}

static void log_emit(int sink, int prio, int code,
    const struct log_outcome *o, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static void
log_emit(int sink, int prio, int code, const struct log_outcome *o,
    const char *fmt, va_list ap)
{
	char msg[LOG_LINE], line[2 * LOG_LINE + 512], when[40];
	struct timespec ts;
	struct tm tm;
	int n, saved = errno;

	if (prio == LOG_DEBUG && !L.debug)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* never let a message break the one-line-per-event format */
	for (char *p = msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000);
	if (L.json)
		n = json_line(line, sizeof(line), when, prio, code, msg, o);
	else
		n = snprintf(line, sizeof(line), "%s %s SL%03d %s\n", when,
		    prio_name(prio), code, msg);
	if (n < 0)
		goto out;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	if (L.fg)
		(void)sl_write_all(STDERR_FILENO, line, (size_t)n);
	else if (L.opened_syslog && L.json)
		syslog(prio, "%.*s", n - 1, line);
	else if (L.opened_syslog)
		syslog(prio, "SL%03d %s", code, msg);
	if (L.fds[0] >= 0)
		(void)sl_write_all(L.fds[0], line, (size_t)n);
	if (sink > 0 && sink < L.nsinks && L.fds[sink] >= 0)
		(void)sl_write_all(L.fds[sink], line, (size_t)n);
out:
	errno = saved;
}

void
log_msg(int prio, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(0, prio, code, NULL, fmt, ap);
	va_end(ap);
}

void
log_sink(int sink, int prio, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(sink, prio, code, NULL, fmt, ap);
	va_end(ap);
}

/* Whether a rate-limited line of this code may be written now. */
static int
log_allow(int code)
{
	time_t now;
	unsigned c = (unsigned)code < LOG_CODES ? (unsigned)code : 0;

	now = time(NULL);
	/*
	 * A new interval restores the burst only if nothing is waiting to be
	 * summarised; under a sustained flood the code stays quiet and
	 * log_tick() reports counts once per interval.
	 */
	if (now - L.lim[c].start >= (time_t)L.interval &&
	    L.lim[c].suppressed == 0) {
		L.lim[c].start = now;
		L.lim[c].lines = 0;
	}
	if (L.lim[c].lines >= L.burst) {
		L.lim[c].suppressed++;
		return 0;
	}
	L.lim[c].lines++;
	return 1;
}

void
log_limited(int sink, int prio, int code, const char *fmt, ...)
{
	va_list ap;

	if ((prio == LOG_DEBUG && !L.debug) || !log_allow(code))
		return;
	va_start(ap, fmt);
	log_emit(sink, prio, code, NULL, fmt, ap);
	va_end(ap);
}

void
log_voutcome(int sink, int prio, int code, int limited,
    const struct log_outcome *o, const char *fmt, va_list ap)
{
	if ((prio == LOG_DEBUG && !L.debug) || (limited && !log_allow(code)))
		return;
	log_emit(sink, prio, code, o, fmt, ap);
}

void
log_outcome(int sink, int prio, int code, int limited,
    const struct log_outcome *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_voutcome(sink, prio, code, limited, o, fmt, ap);
	va_end(ap);
}

void
log_tick(time_t now)
{
	unsigned c;

	for (c = 0; c < LOG_CODES; c++) {
		if (L.lim[c].suppressed == 0 ||
		    now - L.lim[c].start < (time_t)L.interval)
			continue;
		log_msg(LOG_NOTICE, SLC_SUPPRESSED, "%lu more SL%03u lines "
		    "suppressed in the last %u s", L.lim[c].suppressed, c,
		    L.interval);
		L.lim[c].suppressed = 0;
		L.lim[c].start = now; /* lines stay at the burst: still quiet */
	}
}
