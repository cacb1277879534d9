/* util.h - small string and parsing helpers, and the whole-file reader. */
#ifndef SL_UTIL_H
#define SL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* Copy with truncation detection: returns 0, or SL_ETOOBIG if src did not fit
 * (dst is still NUL-terminated). */
int sl_strlcpy(char *dst, const char *src, size_t dstlen);
/* true when every byte is printable ASCII (0x20..0x7e). */
bool sl_is_printable_ascii(const uint8_t *p, size_t n);
/* Parse a decimal integer in [min, max]; whole string, no sign games. */
int sl_parse_num(const char *s, long long min, long long max, long long *out);
/* yes/no/1/0 (also true/false/on/off, case-insensitive). */
int sl_parse_bool(const char *s, bool *out);
/* Write a message into a caller's error buffer (NULL or 0 length: none). */
void sl_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Value of one hex digit, or -1. */
int sl_hexval(int c);
/* Trim spaces and tabs at both ends, in place; returns s. */
char *sl_trim(char *s);
/* A section name of the configuration (server, action, user), as it also
 * appears in the grants file: 1 to SL_NAME_MAX - 1 bytes of A-Z a-z 0-9
 * _ . - */
bool sl_valid_name(const char *s);
/* Milliseconds of CLOCK_MONOTONIC (budgets, timeouts) and of
 * CLOCK_REALTIME (grants, which outlive the process). */
uint64_t sl_mono_ms(void);
int64_t sl_wall_ms(void);

/*
 * The one whole-file reader.
 *
 * sl_read_fd: the whole of the regular file open on fd, read with pread
 * from its start whatever the descriptor's offset (fd stays open), at
 * most the size fstat gives (a file that grows meanwhile is cut there;
 * one that shrinks gives fewer bytes).  sl_read_file: the same for a
 * path, opened O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK (a FIFO does
 * not block the open; it is then refused as not regular), with O_NOFOLLOW
 * too when flags has SL_READ_NOFOLLOW.
 *
 * On success *out is a malloc'd buffer of *outlen bytes and a NUL after
 * them (text can be parsed in place); the caller frees it with free(), or
 * with sl_read_free_secret() when it may hold a secret (a key file), which
 * cleanses it first.  st, if not NULL, gets the descriptor's fstat (for
 * checks of mode and owner on what was read).  On failure *out is NULL,
 * and nothing read stays in memory.  Returns 0, or
 *   SL_ESYS     open, fstat, read or malloc failed (errno says why)
 *   SL_EINVAL   not a regular file (errno EINVAL)
 *   SL_ETOOBIG  larger than max bytes (errno EFBIG)
 * sl_read_why(rc) words these for a "path: why" message.
 */
#define SL_READ_NOFOLLOW 0x1u  /* refuse a symbolic link as the last part */
int sl_read_fd(int fd, size_t max, char **out, size_t *outlen,
    struct stat *st);
int sl_read_file(const char *path, size_t max, unsigned flags, char **out,
    size_t *outlen, struct stat *st);
void sl_read_free_secret(char *buf, size_t len);
const char *sl_read_why(int rc);

/* The one whole-buffer writer: all len bytes of buf to fd (blocking),
 * again after EINTR.  0, or SL_ESYS (errno; EIO if write returned 0). */
int sl_write_all(int fd, const void *buf, size_t len);

#endif
