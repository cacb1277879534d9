/* b64.c - standard base64 (RFC 4648) with padding, strict decoding. */
#include <string.h>

#include "sl.h"
#include "b64.h"

static const char b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
b64_encode(char *out, size_t outlen, const uint8_t *in, size_t n)
{
	size_t i, o = 0;
	uint32_t v;

	if (n > (SIZE_MAX - 1) / 4 * 3 - 3 || outlen < B64_ENC_LEN(n))
		return SL_ETOOBIG;
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64_alpha[(v >> 18) & 63];
		out[o++] = b64_alpha[(v >> 12) & 63];
		out[o++] = b64_alpha[(v >> 6) & 63];
		out[o++] = b64_alpha[v & 63];
	}
	if (i < n) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = b64_alpha[(v >> 18) & 63];
		out[o++] = b64_alpha[(v >> 12) & 63];
		out[o++] = (i + 1 < n) ? b64_alpha[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return (int)o;
}

static int
b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
b64_decode(uint8_t *out, size_t outlen, const char *in)
{
	size_t len = strlen(in), i, o = 0, pad = 0;
	int d[4], k;
	uint32_t v;

	if (len % 4 != 0)
		return SL_EINVAL;
	if (len > 0 && in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	if (len / 4 * 3 - pad > outlen)
		return SL_ETOOBIG;
	for (i = 0; i < len; i += 4) {
		int last = (i + 4 == len);

		for (k = 0; k < 4; k++) {
			if (last && in[i + k] == '=' && k >= 4 - (int)pad) {
				d[k] = 0;
				continue;
			}
			if ((d[k] = b64_val(in[i + k])) < 0)
				return SL_EINVAL;
		}
		v = (uint32_t)d[0] << 18 | (uint32_t)d[1] << 12 |
		    (uint32_t)d[2] << 6 | (uint32_t)d[3];
		out[o++] = (uint8_t)(v >> 16);
		if (!last || pad < 2)
			out[o++] = (uint8_t)(v >> 8);
		if (!last || pad < 1)
			out[o++] = (uint8_t)v;
		/* canonical form: the bits under the padding must be zero */
		if (last && ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff))))
			return SL_EINVAL;
	}
	return (int)o;
}
