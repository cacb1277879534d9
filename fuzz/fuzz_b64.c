/*
 * fuzz_b64.c - base64 and the printable-ASCII check.
 *
 * The input as a NUL-terminated string: when b64_decode() accepts it,
 * b64_encode() of the result must give the string back (strict decoding
 * accepts only the canonical form), and the decoded length must fit a
 * buffer of exactly that size and not one byte less.  The input as raw
 * bytes: encode, then decode, gives them back.  sl_is_printable_ascii() is
 * checked against a plain loop.  Output buffers are heap blocks of the exact
 * size, so AddressSanitizer sees any write past them.
 */
#include <string.h>

#include "b64.h"
#include "sl.h"
#include "util.h"
#include "fuzz.h"

static int
ref_printable(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	return 1;
}

static int
b64_char(char c)
{
	return c != '\0' && strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
	    "vwxyz0123456789+/", c) != NULL;
}

/* Decode the string s; checks the canonical round trip. */
static void
string_side(const char *s)
{
	size_t len = strlen(s), cap = len / 4 * 3, i;
	uint8_t *out, *exact;
	char *again;
	int n, m;

	if ((out = malloc(cap > 0 ? cap : 1)) == NULL)
		return;
	n = b64_decode(out, cap, s);
	if (n < 0) {
		FUZZ_CHECK(n == SL_EINVAL || n == SL_ETOOBIG);
		free(out);
		return;
	}
	FUZZ_CHECK(len % 4 == 0 && (size_t)n <= cap && (size_t)n + 2 >= cap);
	for (i = 0; i < len; i++)
		FUZZ_CHECK(b64_char(s[i]) || (s[i] == '=' && i + 2 >= len));

	/* exactly n bytes fit, n - 1 do not */
	if ((exact = malloc(n > 0 ? (size_t)n : 1)) == NULL) {
		free(out);
		return;
	}
	FUZZ_CHECK(b64_decode(exact, (size_t)n, s) == n);
	FUZZ_CHECK(memcmp(exact, out, (size_t)n) == 0);
	if (n > 0)
		FUZZ_CHECK(b64_decode(exact, (size_t)n - 1, s) == SL_ETOOBIG);

	/* canonical: encoding gives the same string back */
	if ((again = malloc(B64_ENC_LEN((size_t)n))) != NULL) {
		m = b64_encode(again, B64_ENC_LEN((size_t)n), out, (size_t)n);
		FUZZ_CHECK(m >= 0 && (size_t)m == len);
		FUZZ_CHECK(strcmp(again, s) == 0);
		free(again);
	}
	free(exact);
	free(out);
}

/* Encode the raw bytes, then decode them back. */
static void
bytes_side(const uint8_t *data, size_t size)
{
	size_t elen = B64_ENC_LEN(size), i;
	uint8_t *back;
	char *enc;
	int n;

	if ((enc = malloc(elen)) == NULL)
		return;
	FUZZ_CHECK(b64_encode(enc, elen - 1, data, size) == SL_ETOOBIG);
	n = b64_encode(enc, elen, data, size);
	FUZZ_CHECK(n >= 0 && (size_t)n == elen - 1 && enc[n] == '\0');
	for (i = 0; i < (size_t)n; i++)
		FUZZ_CHECK(b64_char(enc[i]) || (enc[i] == '=' && i + 2 >= (size_t)n));
	if ((back = malloc(size > 0 ? size : 1)) != NULL) {
		FUZZ_CHECK(b64_decode(back, size, enc) == (int)size);
		FUZZ_CHECK(memcmp(back, data, size) == 0);
		free(back);
	}
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	FUZZ_CHECK(sl_is_printable_ascii(data, size) ==
	    (ref_printable(data, size) != 0));
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	string_side(s);
	free(s);
	bytes_side(data, size);
	return 0;
}
