/*
 * log.h - log lines with stable codes ("SL201 ...").
 *
 * In the foreground everything goes to stderr; otherwise to syslog and/or
 * the configured log_file.  Lines about packets use log_limited() so that a
 * flood produces a few lines and then a periodic summary (SL290).
 * Codes are listed in docs/LOGCODES.md.
 */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <stdarg.h>
#include <syslog.h>
#include <time.h>

/* Lifecycle */
#define SLC_START          1  /* daemon starting */
#define SLC_CONFIG_OK      2  /* configuration loaded: key fingerprints */
#define SLC_LISTEN         3  /* listening on an address */
#define SLC_STOP           4  /* shutting down */
#define SLC_CONFIG_WARN    5  /* configuration warning */
#define SLC_STATE          6  /* replay state loaded / saved */
#define SLC_STATE_BAD      7  /* replay state missing or corrupt */
#define SLC_STATS          8  /* counters */
#define SLC_GRANT_STATE    9  /* grants loaded at start */
/* Accepted knocks and scripts */
#define SLC_ACCEPT       100  /* knock accepted, action authorized */
#define SLC_SCRIPT_START 101  /* script started */
#define SLC_SCRIPT_EXIT  102  /* script exited */
#define SLC_SCRIPT_OUT   103  /* a line the script printed */
#define SLC_SCRIPT_KILL  104  /* script timed out and was killed */
#define SLC_PAYLOAD_DROP 105  /* payload discarded (discard_payload) */
#define SLC_SCRIPT_FAIL  106  /* script could not be started */
#define SLC_GRANT        107  /* timed grant made, extended, lapsed, revoked */
#define SLC_GRANT_RETRY  108  /* destructor failed: retry scheduled */
#define SLC_GRANT_REFUSE 109  /* grant refused: table full, being revoked */
#define SLC_RECEIPT      110  /* format-2 receipt sent */
/* Rejected packets */
#define SLC_BADLEN       200  /* datagram of the wrong length */
#define SLC_REJECT       201  /* not authenticated (uniform class) */
#define SLC_STALE        202  /* authenticated, timestamp outside window */
#define SLC_REPLAY       203  /* authenticated, seen before */
#define SLC_DENIED       204  /* authenticated, action not permitted */
#define SLC_NOTASCII     205  /* payload refused by require_ascii */
#define SLC_CACHE_FULL   206  /* replay cache full, packet refused */
#define SLC_BUSY         207  /* max_scripts reached, request refused */
#define SLC_RATE         208  /* dropped before crypto: budget or duplicate */
#define SLC_PENALTY      209  /* format 1: a source or prefix put in a penalty */
#define SLC_K2_DROP      210  /* format 2: unknown tag or wrong MAC (debug) */
#define SLC_K2_ADDRESS   211  /* format 2: knock names another address */
#define SLC_K2_OPEN      212  /* format 2: MAC good, does not open */
#define SLC_K2_BUDGET    213  /* format 2: user's decryption budget spent */
#define SLC_SUPPRESSED   290  /* summary of rate-limited lines */
/* Errors */
#define SLC_SYSERR       300  /* system call failed */
#define SLC_STATE_IO     301  /* replay state could not be written */
#define SLC_GRANT_IO     302  /* grant state could not be read or written */

#define LOG_SINKS_MAX     17  /* global file + one per server */

/*
 * fg: log to stderr only; debug: include LOG_DEBUG lines.  Not in the
 * foreground, it connects the syslog socket at once (LOG_NDELAY): the
 * network process must call it before its seccomp filter, which refuses
 * socket(AF_UNIX) and connect afterwards.  Should that connection break
 * (a syslog daemon restarted without keeping its socket), the network
 * process's lines stop reaching syslog (log_file still gets them), and
 * the runner's carry on.
 */
void log_init(const char *ident, int fg, int debug);
/* Global log_file (in addition to syslog when not in the foreground).
 * Log files are opened with O_APPEND|O_CREAT, mode 0640, and never through
 * a symbolic link (O_NOFOLLOW: ELOOP).  0, or SL_ESYS (errno says why). */
int log_set_file(const char *path);
/* Extra sink for one server's log_file; returns a sink id >= 1, SL_ESYS
 * (errno) or SL_EFULL (no sink left). */
int log_add_sink(const char *path);
/*
 * Log rotation, in the privileged process: open every log file again by
 * its path; the new descriptor takes the old one's number (dup3), so that
 * lines written meanwhile land in one file or the other.  Returns how many
 * could not be reopened (they keep the old file); the first failure's
 * sink and errno in *failed_sink, *failed_errno.
 */
int log_reopen(int *failed_sink, int *failed_errno);
/* The path a sink was opened with, or NULL. */
const char *log_path(int sink);
/* The open log files: their descriptors and sink numbers, at most max;
 * returns the count (for passing them to the network process). */
int log_files(int *fds, int *sinks, int max);
/* In the network process: fd (received from the privileged one) becomes
 * sink's descriptor, under the old number; fd is closed.  0, SL_EINVAL if
 * sink is not open here, or SL_ESYS (dup3 failed). */
int log_adopt(int sink, int fd);
void log_close(void);

void log_msg(int prio, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, also written to extra sink `sink` (0 = none). */
void log_sink(int sink, int prio, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Rate-limited per code: a small burst, then counted and summarised. */
void log_limited(int sink, int prio, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/*
 * log_format = json: every line becomes one JSON object, {"time", "level",
 * "code", "message"}, and the lines about a knock's outcome also carry
 * "src", "server", "user", "action", "outcome" and "reason" (null when not
 * known).  Text is the default.
 */
void log_set_json(int on);
struct log_outcome {
	const char *src;        /* source address */
	const char *server;
	const char *user;       /* NULL: not known */
	const char *action;     /* NULL: not known */
	const char *outcome;    /* "accepted", "rejected", "stale", ... */
	const char *reason;     /* NULL or a short code: "hmac", ... */
};
/* A line about a knock's outcome: as log_sink, or as log_limited when
 * limited; in JSON, with o's fields. */
void log_outcome(int sink, int prio, int code, int limited,
    const struct log_outcome *o, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void log_voutcome(int sink, int prio, int code, int limited,
    const struct log_outcome *o, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));
/* Call about once a second: emits SL290 summaries for suppressed lines. */
void log_tick(time_t now);
/* Whether a line of this priority would be written at all. */
int log_enabled(int prio);
/* Tunables (tests): burst lines per interval, interval seconds. */
void log_set_limits(unsigned burst, unsigned interval);

#endif
