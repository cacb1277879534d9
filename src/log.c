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

#define LOG_CODES 400
#define LOG_LINE  1024
#define LOG_PATH  4096

static struct {
	int fg, debug, opened_syslog;
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
		return -1;
	free(L.paths[sink]);
	L.paths[sink] = p;
	return 0;
}

int
log_set_file(const char *path)
{
	int fd;

	if ((fd = open_logfile(path)) < 0)
		return -1;
	if (log_keep_path(0, path) != 0) {
		close(fd);
		return -1;
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
		return -1;
	if ((fd = open_logfile(path)) < 0)
		return -1;
	if (log_keep_path(L.nsinks, path) != 0) {
		close(fd);
		return -1;
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
		return -1;
	}
	if (dup3(fd, L.fds[sink], O_CLOEXEC) < 0) {
		close(fd);
		return -1;
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

static void
write_all(int fd, const char *buf, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = write(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		buf += r;
		n -= (size_t)r;
	}
}

static void log_emit(int sink, int prio, int code, const char *fmt,
    va_list ap) __attribute__((format(printf, 4, 0)));

static void
log_emit(int sink, int prio, int code, const char *fmt, va_list ap)
{
	char msg[LOG_LINE], line[LOG_LINE + 96];
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
	n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s SL%03d %s\n",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, prio_name(prio), code, msg);
	if (n < 0)
		goto out;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	if (L.fg)
		write_all(STDERR_FILENO, line, (size_t)n);
	else if (L.opened_syslog)
		syslog(prio, "SL%03d %s", code, msg);
	if (L.fds[0] >= 0)
		write_all(L.fds[0], line, (size_t)n);
	if (sink > 0 && sink < L.nsinks && L.fds[sink] >= 0)
		write_all(L.fds[sink], line, (size_t)n);
out:
	errno = saved;
}

void
log_msg(int prio, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(0, prio, code, fmt, ap);
	va_end(ap);
}

void
log_sink(int sink, int prio, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(sink, prio, code, fmt, ap);
	va_end(ap);
}

void
log_limited(int sink, int prio, int code, const char *fmt, ...)
{
	va_list ap;
	time_t now;
	unsigned c = (unsigned)code < LOG_CODES ? (unsigned)code : 0;

	if (prio == LOG_DEBUG && !L.debug)
		return;
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
		return;
	}
	L.lim[c].lines++;
	va_start(ap, fmt);
	log_emit(sink, prio, code, fmt, ap);
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
