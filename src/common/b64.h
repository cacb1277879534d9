/* b64.h - standard base64 (RFC 4648, with padding). */
#ifndef SL_B64_H
#define SL_B64_H

#include <stddef.h>
#include <stdint.h>

#define B64_ENC_LEN(n) ((((n) + 2) / 3) * 4 + 1) /* including NUL */

/* Encode n bytes into out (outlen >= B64_ENC_LEN(n)); NUL-terminated.
 * Returns the string length or a negative SL_E* code. */
int b64_encode(char *out, size_t outlen, const uint8_t *in, size_t n);
/* Decode a NUL-terminated string; rejects bad characters and padding.
 * Returns the decoded length or a negative SL_E* code. */
int b64_decode(uint8_t *out, size_t outlen, const char *in);

#endif
