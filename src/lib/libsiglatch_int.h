/*
 * libsiglatch_int.h - what knocker takes from libsiglatch beyond the
 * public header: a context from keys it has already loaded (its own
 * messages name the files), and the fields of the knock just built (for
 * --dry-run).  Not exported from the shared library, not installed.
 */
#ifndef SL_LIBSIGLATCH_INT_H
#define SL_LIBSIGLATCH_INT_H

#include <openssl/evp.h>

#include "siglatch.h"
#include "addr.h"
#include "knock2.h"
#include "wire.h"

/* pub is taken (freed on failure too); key is copied. */
int siglatch_int_ctx_new(siglatch_ctx **out, EVP_PKEY *pub,
    const uint8_t *key);
/* siglatch_knock1 / siglatch_knock2, and the knock's fields into fields
 * (if non-NULL; the caller cleanses them); addr NULL: none. */
int siglatch_int_knock1(siglatch_ctx *ctx, uint16_t user_id,
    uint8_t action_id, const void *payload, size_t payload_len,
    uint64_t timestamp, uint8_t *buf, size_t buflen, size_t *outlen,
    struct wire_knock *fields);
int siglatch_int_knock2(siglatch_ctx *ctx, uint16_t user_id,
    uint8_t action_id, const void *payload, size_t payload_len,
    const struct sl_addr *addr, unsigned flags, uint64_t timestamp,
    uint8_t *buf, size_t buflen, size_t *outlen, struct k2_inner *fields);

#endif
