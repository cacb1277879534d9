/* util.c - small string and parsing helpers, and the whole-file reader. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "sl.h"
#include "util.h"

int
sl_strlcpy(char *dst, const char *src, size_t dstlen)
{
	size_t n;

	if (dstlen == 0)
		return SL_ETOOBIG;
	n = strlen(src);
	if (n >= dstlen) {
		memcpy(dst, src, dstlen - 1);
		dst[dstlen - 1] = '\0';
		return SL_ETOOBIG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

bool
sl_is_printable_ascii(const uint8_t *p, size_t n)
{
	uint8_t bad = 0;
	size_t i;

	/* no early exit: the time taken does not depend on where a bad byte is */
	for (i = 0; i < n; i++)
		bad |= (uint8_t)((p[i] < 0x20) | (p[i] > 0x7e));
	return bad == 0;
}

int
sl_parse_num(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return SL_EINVAL;
	/* digits only (an optional leading '-' when negatives are allowed) */
	if (!(isdigit((unsigned char)s[0]) || (s[0] == '-' && min < 0 &&
	    isdigit((unsigned char)s[1]))))
		return SL_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return SL_EINVAL;
	if (v < min || v > max)
		return SL_ETOOBIG;
	*out = v;
	return 0;
}

int
sl_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "1", "true", "on" };
	static const char *const no[] = { "no", "0", "false", "off" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return SL_EINVAL;
}

char *
sl_trim(char *s)
{
	char *start = s, *end;
	size_t n;

	while (*start == ' ' || *start == '\t')
		start++;
	n = strlen(start);
	end = start + n;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	if (start != s)
		memmove(s, start, (size_t)(end - start) + 1);
	return s;
}

void
sl_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
sl_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
sl_valid_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < SL_NAME_MAX && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

uint64_t
sl_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t
sl_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
sl_read_fd(int fd, size_t max, char **out, size_t *outlen, struct stat *stp)
{
	struct stat st;
	size_t size, have = 0;
	ssize_t r;
	char *buf;
	int e;

	*out = NULL;
	*outlen = 0;
	if (fstat(fd, &st) != 0)
		return SL_ESYS;
	if (stp != NULL)
		*stp = st;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return SL_EINVAL;
	}
	if (st.st_size < 0 || (uintmax_t)st.st_size > max) {
		errno = EFBIG;
		return SL_ETOOBIG;
	}
	size = (size_t)st.st_size;
	if ((buf = malloc(size + 1)) == NULL)
		return SL_ESYS;
	while (have < size) {
		r = pread(fd, buf + have, size - have, (off_t)have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			sl_read_free_secret(buf, have);
			errno = e;
			return SL_ESYS;
		}
		if (r == 0)
			break;
		have += (size_t)r;
	}
	buf[have] = '\0';
	*out = buf;
	*outlen = have;
	return 0;
}

int
sl_read_file(const char *path, size_t max, unsigned flags, char **out,
    size_t *outlen, struct stat *st)
{
	int fd, rc, e;

	*out = NULL;
	*outlen = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
	    ((flags & SL_READ_NOFOLLOW) ? O_NOFOLLOW : 0));
	if (fd < 0)
		return SL_ESYS;
	rc = sl_read_fd(fd, max, out, outlen, st);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

int
sl_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = EIO;
		if (n <= 0)
			return SL_ESYS;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void
sl_read_free_secret(char *buf, size_t len)
{
	if (buf == NULL)
		return;
	explicit_bzero(buf, len + 1);
	free(buf);
}

const char *
sl_read_why(int rc)
{
	switch (rc) {
	case SL_EINVAL:  return "not a regular file";
	case SL_ETOOBIG: return "too large";
	}
	return sl_strerror(rc);
}
