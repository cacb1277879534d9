/*
 * client.h - what knocker, siglatch-keygen and the test tools share: the
 * per-host configuration directory, siglatch 1.0 map files, building and
 * sealing a knock, sending one datagram, and careful file I/O.
 *
 * Every function returns 0 or a negative SL_E* code; where it takes err and
 * errlen, a failure leaves one line of explanation there (no "prog:" prefix).
 */
#ifndef SL_CLIENT_H
#define SL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <openssl/evp.h>
#include "sl.h"
#include "wire.h"

#define CLIENT_DEFAULT_PORT  50000
#define CLIENT_USER_ID_MAX   65535
#define CLIENT_ACTION_ID_MAX 255
#define CLIENT_HOST_MAX      255         /* longest HOST argument */
#define CLIENT_MAP_MAX       (256 * 1024) /* largest map file read */
#define CLIENT_ERR_LEN       (SL_PATH_MAX + 256)

/* A user or action name: [A-Za-z0-9_.-]{1,63}. */
bool client_valid_name(const char *s);
/*
 * A HOST usable as a directory name and as a map field: 1..255 bytes, none
 * of them '/', ',', space or a control character, and not "." or "..".
 */
bool client_valid_host(const char *s);

/*
 * The per-host directory: $XDG_CONFIG_HOME/siglatch/HOST when
 * XDG_CONFIG_HOME is set to an absolute path, else
 * $HOME/.config/siglatch/HOST.  No trailing slash.
 */
int client_host_dir(char *out, size_t outlen, const char *host, char *err,
    size_t errlen);

/*
 * Map files (user.map, action.map) hold siglatch 1.0 "name,host,id" lines.
 * Blank lines and lines starting with '#' are ignored, spaces and tabs
 * around each field (and a CR before the LF) are trimmed.  A line applies
 * when its host field equals host exactly or is "*".  Every line must be
 * well formed (three non-empty fields, id a decimal number in 0..max) or
 * the whole file is refused (SL_ECONFIG, naming the line); of the
 * applicable lines naming name, the first one wins.  SL_ENOENT when none
 * does.  src names the file in messages.
 */
int client_map_lookup_buf(const char *buf, size_t len, const char *src,
    const char *host, const char *name, uint32_t max, uint32_t *id,
    char *err, size_t errlen);
/* The same, reading the file at path (at most CLIENT_MAP_MAX bytes). */
int client_map_lookup(const char *path, const char *host, const char *name,
    uint32_t max, uint32_t *id, char *err, size_t errlen);
/*
 * Resolve a USER or ACTION argument.  An argument starting with a digit
 * is a decimal id in 0..max (as in siglatch 1.0; no map is read); anything
 * else is a name looked up in map_path for host.  kind ("user",
 * "action") is used in messages.
 */
int client_resolve_id(const char *arg, const char *kind,
    const char *map_path, const char *host, uint32_t max, uint32_t *id,
    char *err, size_t errlen);

/*
 * Fill k: version 1, the given timestamp and ids, a fresh random
 * challenge, the payload (at most SL_PAYLOAD_MAX bytes, SL_ETOOBIG
 * otherwise) and its HMAC under key.
 */
int client_build_knock(struct wire_knock *k, uint32_t timestamp,
    uint16_t user_id, uint8_t action_id, const uint8_t *payload,
    size_t payload_len, const uint8_t key[SL_HMAC_KEY_LEN]);
/* Encode k and encrypt it to pub; the plaintext is cleansed. */
int client_seal_knock(EVP_PKEY *pub, const struct wire_knock *k,
    uint8_t dgram[SL_DGRAM_LEN]);

/*
 * Send one datagram to host port.  With numeric_only, host must be an
 * IPv4 or IPv6 literal; otherwise it is resolved (getaddrinfo, any family)
 * and the addresses are tried in order until one sendto succeeds.  The
 * address used is written to addr (if non-NULL) as text.
 */
int client_send(const char *host, uint16_t port, bool numeric_only,
    const void *buf, size_t len, char *addr, size_t addrlen, char *err,
    size_t errlen);

/* Parse a port number 1..65535. */
int client_parse_port(const char *s, uint16_t *port);

/*
 * Read fd to end of file into buf; SL_ETOOBIG if it holds more than cap
 * bytes (nothing beyond cap + 1 is read).
 */
int client_read_fd(int fd, uint8_t *buf, size_t cap, size_t *len);
/* Read a whole regular file of at most cap bytes. */
int client_read_file(const char *path, uint8_t *buf, size_t cap,
    size_t *len, char *err, size_t errlen);

/*
 * Create a new file with exactly mode (whatever the umask), never
 * following a symlink and never replacing an existing file, and write
 * data to it.  If writing fails the half-written file is removed.
 */
int client_create_file(const char *path, mode_t mode, const void *data,
    size_t len, char *err, size_t errlen);
/* Refuse a directory that others may write to (S_IWOTH), or a non-directory. */
int client_check_dir(const char *path, char *err, size_t errlen);

/* Lower-case hex of n bytes into out (outlen >= 2n + 1), NUL-terminated. */
int client_hex(char *out, size_t outlen, const uint8_t *in, size_t n);

#endif
