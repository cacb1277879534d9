/*
 * crypto.h - key files and the RSA operations (OpenSSL 3, EVP only).
 */
#ifndef SL_CRYPTO_H
#define SL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include "sl.h"

/*
 * Load a PEM RSA-2048 private key (PKCS#8 or PKCS#1).  With check_perms, a
 * file that group or others may read or write, that belongs to neither
 * root nor the effective user, or that is not a regular file, is refused;
 * err then names the file and the fix.  Checks are made on the open
 * descriptor, so nothing can be swapped in between.
 */
int crypto_load_private(const char *path, int check_perms, EVP_PKEY **out,
    char *err, size_t errlen);
/* Load a PEM RSA-2048 public key ("PUBLIC KEY" or "RSA PUBLIC KEY"). */
int crypto_load_public(const char *path, EVP_PKEY **out, char *err,
    size_t errlen);
/* The same from a PEM text in memory (libsiglatch). */
int crypto_parse_public(const uint8_t *buf, size_t len, EVP_PKEY **out);
/* Load a user HMAC key: 32 raw bytes, or 64 hex digits with spaces, tabs,
 * CR and LF ignored.  All-zero keys are refused. */
int crypto_load_hmac_key(const char *path, int check_perms,
    uint8_t key[SL_HMAC_KEY_LEN], char *err, size_t errlen);
/* Parse the same forms from memory (for tests and fuzzing). */
int crypto_parse_hmac_key(const uint8_t *buf, size_t len,
    uint8_t key[SL_HMAC_KEY_LEN]);

/*
 * A reusable decryption context bound to one private key, so the receive
 * path allocates nothing per packet.
 */
struct crypto_dec;
int crypto_dec_new(EVP_PKEY *priv, struct crypto_dec **out);
void crypto_dec_free(struct crypto_dec *d);
/*
 * Decrypt one SL_DGRAM_LEN ciphertext with PKCS#1 v1.5.  Returns 0 only when
 * the plaintext is exactly SL_PACKET_LEN bytes; SL_EDECRYPT when it does not
 * decrypt, SL_ELEN when it does but to another length.  On any failure pt is filled
 * with bytes that cannot decode to a valid knock, so that the caller can run
 * the same later steps either way.
 */
int crypto_dec_knock(struct crypto_dec *d, const uint8_t ct[SL_DGRAM_LEN],
    uint8_t pt[SL_PACKET_LEN]);

/* Encrypt a 245-byte packet to a public key (client side). */
int crypto_enc_knock(EVP_PKEY *pub, const uint8_t pt[SL_PACKET_LEN],
    uint8_t ct[SL_DGRAM_LEN]);

/*
 * A short fingerprint of a key, to compare a client's copy with the
 * server's without showing it: "SHA256:" and the unpadded base64 of
 * SHA-256 over the DER SubjectPublicKeyInfo of an RSA key (its public
 * half, whether it was read from the private or the public key file), or
 * "HMAC-SHA256:" and the same over "siglatch hmac key fingerprint v1",
 * a NUL and the 32 key bytes for an HMAC key (a distinct label, so that
 * it is no plain hash of the key).  outlen >= CRYPTO_FP_LEN.
 */
#define CRYPTO_FP_LEN 64
int crypto_fp_pkey(EVP_PKEY *pkey, char *out, size_t outlen);
int crypto_fp_hmac(const uint8_t key[SL_HMAC_KEY_LEN], char *out,
    size_t outlen);
/* Fingerprint of a key file: an RSA private or public key (PEM), else an
 * HMAC key file.  No permission checks (only a hash is shown). */
int crypto_fp_file(const char *path, char *out, size_t outlen, char *err,
    size_t errlen);

/* Fill buf with random bytes from the OpenSSL DRBG. */
int crypto_random(void *buf, size_t len);

#endif
