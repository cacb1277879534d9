/* util.h - small string and parsing helpers. */
#ifndef SL_UTIL_H
#define SL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
