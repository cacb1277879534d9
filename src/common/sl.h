/*
 * sl.h - project-wide constants and the error codes shared by every module.
 *
 * The error discipline:
 *  - Codes everywhere: a function that can fail returns 0 on success (or
 *    a count, a descriptor) and a negative SL_E* code on failure.  Nothing
 *    returns "1 for success", -1 for failure, or a bool for success.  A
 *    predicate that answers a question (yes/no, not worked/failed) returns
 *    bool and reads like one (sl_valid_name, reload_needs_restart).  A
 *    program's steps that end in its exit status (knocker's, main's
 *    run()) return that status, and their comment says so.
 *  - sl_strerror() names a code.  For SL_ESYS it is strerror(errno): errno
 *    must still be the one the failing call set (save it before a close()
 *    or a log line, and restore it, when the code travels).  A code that
 *    came from the other process carries none of our errno: clear errno
 *    (then it reads "system error").
 *  - A message string (char *err, size_t errlen) only where it carries
 *    what the code cannot: the file and line, the key, the path, the
 *    server's name, the verifier's log.  A function whose message would
 *    only restate its code takes no err buffer; its caller adds the
 *    context it has and sl_strerror(rc).
 */
#ifndef SL_H
#define SL_H

#include <stddef.h>
#include <stdint.h>

#define SL_VERSION "2.0.0"

/* Wire v1 (see docs/PROTOCOL.md). */
#define SL_DGRAM_LEN      256 /* RSA-2048 ciphertext, the only datagram size */
#define SL_PACKET_LEN     245 /* 256 - 11: PKCS#1 v1.5 type 2 capacity */
#define SL_PAYLOAD_MAX    199
#define SL_HMAC_LEN        32
#define SL_HMAC_KEY_LEN    32
#define SL_WIRE_VERSION     1

/* Configuration limits. */
#define SL_NAME_MAX        64 /* section names, incl. NUL */
#define SL_PATH_MAX      1024
#define SL_CMD_MAX       1024 /* constructor / destructor lines */
#define SL_MAX_SERVERS     16
#define SL_MAX_ACTIONS    256 /* action ids are u8 */
#define SL_MAX_USERS     1024
#define SL_MAX_CIDRS       32 /* per allowed_ips list */
#define SL_IPSTR_MAX       46 /* INET6_ADDRSTRLEN */

/* max_scripts' upper bound: the runner's slots, and the main process's
 * poll set (runproc.c) */
#define SL_MAX_SCRIPTS 1024
/* The longest the event loops sleep: timers (stats, tag epochs, log
 * summaries) are looked at at least this often. */
#define SL_TICK_MS     1000

/* Error codes (see the top of this file). */

enum sl_err {
	SL_OK = 0,
	SL_EINVAL = -1,     /* invalid argument */
	SL_ELEN = -2,       /* wrong length */
	SL_EDECRYPT = -3,   /* private-key decryption failed */
	SL_EPARSE = -4,     /* malformed packet */
	SL_EVERSION = -5,   /* unknown wire version */
	SL_EAUTH = -6,      /* HMAC verification failed / unknown user */
	SL_ESTALE = -7,     /* timestamp outside the window */
	SL_EREPLAY = -8,    /* packet seen before */
	SL_EFULL = -9,      /* table full */
	SL_EDENIED = -10,   /* not authorized */
	SL_ENOTASCII = -11, /* payload not printable ASCII */
	SL_EBUSY = -12,     /* too many scripts running */
	SL_ESYS = -13,      /* system call failed, see errno */
	SL_ECRYPTO = -14,   /* OpenSSL error */
	SL_EKEY = -15,      /* bad key material */
	SL_EPERM = -16,     /* unsafe file permissions */
	SL_ECONFIG = -17,   /* bad configuration */
	SL_ENOENT = -18,    /* not found */
	SL_ECORRUPT = -19,  /* corrupt state file */
	SL_ETOOBIG = -20,   /* does not fit */
	SL_ERATE = -21,     /* over a rate budget */
	SL_EDUP = -22,      /* duplicate of a recent datagram */
	SL_EPROTO = -23,    /* the other process broke the channel's protocol */
	SL_ENOTSUP = -24,   /* the kernel (or this build) cannot do it */
};

/* A code's name; for SL_ESYS, strerror(errno) (see above).  The text is
 * static, or glibc's thread-safe strerror buffer: do not free it. */
const char *sl_strerror(int err);

#endif
