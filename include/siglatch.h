/*
 * siglatch.h - libsiglatch, the siglatch client library: build and seal
 * a knock (format 1 or format 2, docs/PROTOCOL.md) into a buffer of the
 * caller's, and open a format-2 receipt.  Sending is the caller's: one
 * UDP datagram to the server's port, receipts come back on the same
 * socket.  knocker(1) is built on it.
 *
 * Stable interface: SIGLATCH_API_VERSION changes on any incompatible
 * change, and with it the shared library's soname (libsiglatch.so.N).
 * Compare siglatch_api_version() with SIGLATCH_API_VERSION at run time.
 *
 * Every function that can fail returns SIGLATCH_OK (0) or a negative
 * SIGLATCH_E* code; siglatch_strerror() names it.  Keys, plaintexts and
 * derived keys are wiped before the functions return or the context is
 * freed.  A context is not safe for concurrent use; use one per thread.
 *
 *   pkg-config --cflags --libs siglatch
 */
#ifndef SIGLATCH_H
#define SIGLATCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SIGLATCH_API_VERSION   1

#define SIGLATCH_KNOCK1_LEN    256  /* a format-1 datagram */
#define SIGLATCH_KNOCK2_LEN    559  /* a format-2 datagram */
#define SIGLATCH_KNOCK_MAX     559  /* a buffer for either */
#define SIGLATCH_RECEIPT_LEN   32   /* a format-2 receipt */
#define SIGLATCH_PAYLOAD_MAX   199
#define SIGLATCH_HMAC_KEY_LEN  32
#define SIGLATCH_FP_LEN        64   /* "SHA256:" + 43 base64 digits + NUL,
                                       with room */

/* error codes */
#define SIGLATCH_OK            0
#define SIGLATCH_EINVAL       (-1)  /* a bad argument */
#define SIGLATCH_ESPACE       (-2)  /* the output buffer is too small */
#define SIGLATCH_EKEY         (-3)  /* a key that is not usable */
#define SIGLATCH_ECRYPTO      (-4)  /* the crypto library failed */
#define SIGLATCH_ENOMEM       (-5)
#define SIGLATCH_EIO          (-6)  /* a key file could not be read */
#define SIGLATCH_ERECEIPT     (-7)  /* not this knock's receipt */
#define SIGLATCH_ENOKNOCK     (-8)  /* no format-2 knock asking for a
                                       receipt was built on this context */

/* siglatch_knock2 flags */
#define SIGLATCH_F_RECEIPT     0x01 /* ask the server for a receipt */

/* what a receipt says: status */
#define SIGLATCH_R_DONE        0    /* value: seconds the grant has left,
                                       0 when there is no timed grant */
#define SIGLATCH_R_FAILED      1    /* value: the action's exit status,
                                       256 + a signal, or
                                       SIGLATCH_V_NOT_STARTED */
#define SIGLATCH_R_REFUSED     2    /* reason says why */
#define SIGLATCH_R_BUSY        3    /* no script slot free: try again */
/* reason, with SIGLATCH_R_REFUSED */
#define SIGLATCH_WHY_DENIED    1    /* not permitted */
#define SIGLATCH_WHY_PAYLOAD   2    /* payload refused */
#define SIGLATCH_V_NOT_STARTED 0xffffffffu

struct siglatch_receipt {
	int status;             /* SIGLATCH_R_* */
	int reason;             /* SIGLATCH_WHY_*, 0 when none */
	uint32_t value;
	uint64_t server_time;   /* the server's clock, Unix seconds */
};

typedef struct siglatch_ctx siglatch_ctx;

/* SIGLATCH_API_VERSION of the library linked, and its release. */
int siglatch_api_version(void);
const char *siglatch_version(void);
/* A short text for a SIGLATCH_E* code (never NULL). */
const char *siglatch_strerror(int code);

/*
 * A context for one user and one server: the server's RSA-2048 public
 * key as PEM ("PUBLIC KEY" or "RSA PUBLIC KEY"), the user's 32-byte HMAC
 * key.  The _files form reads a PEM file and an HMAC key file (32 raw
 * bytes or 64 hex digits), as knocker does.
 */
int siglatch_ctx_new(siglatch_ctx **out, const char *server_pub_pem,
    size_t pem_len, const uint8_t hmac_key[SIGLATCH_HMAC_KEY_LEN]);
int siglatch_ctx_new_files(siglatch_ctx **out, const char *server_pub_path,
    const char *hmac_key_path);
void siglatch_ctx_free(siglatch_ctx *ctx);

/* The server key's fingerprint: "SHA256:" and the unpadded base64 of the
 * SHA-256 of its DER SubjectPublicKeyInfo, as `siglatch-keygen fingerprint`
 * prints it and the daemon logs it (SL002). */
int siglatch_fingerprint(const siglatch_ctx *ctx, char *out, size_t outlen);

/*
 * A format-1 knock (256 bytes) into buf: user_id, action_id, payload
 * (at most SIGLATCH_PAYLOAD_MAX bytes), timestamp in Unix seconds (0:
 * now).  *outlen gets the length.
 */
int siglatch_knock1(siglatch_ctx *ctx, uint16_t user_id, uint8_t action_id,
    const void *payload, size_t payload_len, uint64_t timestamp,
    uint8_t *buf, size_t buflen, size_t *outlen);

/*
 * A format-2 knock (559 bytes) into buf.  allow_ip: the IPv4 or IPv6
 * address the knock is for, or NULL for none (the server then grants the
 * address it comes from).  flags: SIGLATCH_F_RECEIPT asks for a receipt;
 * the context then keeps what opening it takes (until the next knock).
 */
int siglatch_knock2(siglatch_ctx *ctx, uint16_t user_id, uint8_t action_id,
    const void *payload, size_t payload_len, const char *allow_ip,
    unsigned flags, uint64_t timestamp, uint8_t *buf, size_t buflen,
    size_t *outlen);

/*
 * Open a datagram received on the knock's socket as the receipt of the
 * last format-2 knock built on ctx with SIGLATCH_F_RECEIPT.
 * SIGLATCH_ERECEIPT when it is not that (ignore it and keep waiting).
 */
int siglatch_receipt_open(siglatch_ctx *ctx, const uint8_t *buf, size_t len,
    struct siglatch_receipt *r);

#ifdef __cplusplus
}
#endif
#endif
