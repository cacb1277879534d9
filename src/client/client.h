/*
 * client.h - what knocker, siglatch-keygen and the test tools share: the
 * per-host configuration directory, siglatch 1.0 map files, the bundle's
 * formats file, building and sealing a knock, sending one datagram, which
 * address a format-2 knock names, reading a receipt, and careful file I/O.
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
#include "addr.h"
#include "knock2.h"
#include "sl.h"
#include "wire.h"

#define CLIENT_DEFAULT_PORT  50000
#define CLIENT_USER_ID_MAX   65535
#define CLIENT_ACTION_ID_MAX 255
#define CLIENT_HOST_MAX      255         /* longest HOST argument */
#define CLIENT_MAP_MAX       (256 * 1024) /* largest map file read */
#define CLIENT_ERR_LEN       (SL_PATH_MAX + 256)
#define CLIENT_FORMATS_MAX   4096        /* largest formats file read */

/* knocker's exit statuses (docs/knocker.md) */
#define CLIENT_EXIT_OK        0   /* sent (no --wait), or receipt "done" */
#define CLIENT_EXIT_ERROR     1   /* a local error */
#define CLIENT_EXIT_USAGE     2
#define CLIENT_EXIT_FAILED    3   /* receipt: the action failed */
#define CLIENT_EXIT_REFUSED   4   /* receipt: refused */
#define CLIENT_EXIT_BUSY      5   /* receipt: no script slot */
#define CLIENT_EXIT_NORECEIPT 6   /* no receipt within the deadline */
#define CLIENT_EXIT_NOTOPEN   7   /* --connect: the TCP port never opened */

/* Knock formats, as bits of a mask: CLIENT_FMT(1) | CLIENT_FMT(2). */
#define CLIENT_FMT(n)        (1u << (n))
#define CLIENT_FMT_NUM_MAX   31

/* A user or action name: [A-Za-z0-9_.-]{1,63}, not starting with a digit
 * (knocker would read an id) or '-' (an option).  keygen uses it, so that
 * it makes no name knocker cannot send. */
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
 * does.  src names the file in messages.  A NULL host applies every
 * line (a bundle imported under a profile name: its lines name the host
 * it was made for, which need not be the one knocked).
 */
int client_map_lookup_buf(const char *buf, size_t len, const char *src,
    const char *host, const char *name, uint32_t max, uint32_t *id,
    char *err, size_t errlen);
/* The same, reading the file at path (at most CLIENT_MAP_MAX bytes). */
int client_map_lookup(const char *path, const char *host, const char *name,
    uint32_t max, uint32_t *id, char *err, size_t errlen);
/*
 * What a map file holds, for importing a bundle: name gets the first
 * line's name, host the first host field that is not "*" ("" if none),
 * *nnames 0, 1, or 2 for "more than one name".  Every line is checked.
 */
int client_map_summary(const char *path, char *name, size_t namelen,
    char *host, size_t hostlen, unsigned *nnames, char *err, size_t errlen);
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

/*
 * The formats a server takes, as the bundle's file `formats` records them:
 * one list such as "1,2" (format numbers 1..31, commas, spaces and tabs
 * around them; none twice).  client_parse_formats parses one such list
 * into a mask of CLIENT_FMT() bits (SL_EINVAL if it is not one).
 * client_read_formats reads the file: blank lines and lines starting with
 * '#' are skipped, a CR before the LF is dropped, and exactly one list
 * must remain (SL_ECONFIG otherwise, naming the line).  SL_ENOENT when the
 * file does not exist (a bundle from before format 2: format 1 only).
 */
int client_parse_formats(const char *s, uint32_t *mask);
int client_read_formats(const char *path, uint32_t *mask, char *err,
    size_t errlen);

/* What kind of address this is, for deciding what a knock names. */
enum client_scope {
	CLIENT_SCOPE_PUBLIC = 0,    /* anything not listed below */
	CLIENT_SCOPE_LOOPBACK,      /* 127/8, ::1 */
	CLIENT_SCOPE_PRIVATE,       /* 10/8, 172.16/12, 192.168/16, fc00::/7,
	                               fec0::/10 */
	CLIENT_SCOPE_SHARED,        /* 100.64/10 (carrier-grade NAT) */
	CLIENT_SCOPE_LINKLOCAL,     /* 169.254/16, fe80::/10 */
	CLIENT_SCOPE_NAT64,         /* 64:ff9b::/96, 64:ff9b:1::/48 */
	CLIENT_SCOPE_OTHER,         /* unspecified, multicast, 0/8, 240/4 */
};
enum client_scope client_addr_scope(const struct sl_addr *a);
const char *client_scope_name(enum client_scope s);
/*
 * Whether a format-2 knock from a socket whose local address is local,
 * connected to server, should name local: when the server will see that
 * address, that is when the server's address is loopback, private, shared
 * (100.64/10) or link-local, or when both addresses are public.  Not when
 * the local address is private and the server's public (a NAT is on the
 * way), nor for a NAT64 server address, nor when the families differ.
 */
bool client_name_local(const struct sl_addr *server,
    const struct sl_addr *local);

/*
 * Resolve host (as client_send does) and connect a UDP socket to the first
 * address that takes it; nothing is sent.  *fd is the socket; server and
 * local (either may be NULL) receive its peer and local addresses, addr
 * (if non-NULL) the peer as text.
 */
int client_connect(const char *host, uint16_t port, bool numeric_only,
    int *fd, struct sl_addr *server, struct sl_addr *local, char *addr,
    size_t addrlen, char *err, size_t errlen);

/*
 * What a receipt says, as one line for the user (no "knocker:" prefix) in
 * msg, and knocker's exit status for it (CLIENT_EXIT_OK, _FAILED,
 * _REFUSED, _BUSY).
 */
int client_receipt_outcome(const struct k2_receipt *r, char *msg,
    size_t msglen);

/* Parse a port number 1..65535. */
int client_parse_port(const char *s, uint16_t *port);

/*
 * Read fd to end of file into buf; SL_ETOOBIG if it holds more than cap
 * bytes (nothing beyond cap + 1 is read).
 */
int client_read_fd(int fd, uint8_t *buf, size_t cap, size_t *len);
/* Read a whole regular file of at most cap bytes into buf (sl_read_file;
 * its own copy is wiped).  0, or SL_ESYS (errno), SL_EINVAL (not a
 * regular file), SL_ETOOBIG, with "path: why" in err. */
int client_read_file(const char *path, uint8_t *buf, size_t cap,
    size_t *len, char *err, size_t errlen);

/*
 * Create a new file with exactly mode (whatever the umask), never
 * following a symlink and never replacing an existing file, and write
 * data to it.  If writing fails the half-written file is removed.
 */
int client_create_file(const char *path, mode_t mode, const void *data,
    size_t len, char *err, size_t errlen);
/*
 * Write data to path: a new file gets exactly mode; an existing regular
 * file is truncated and rewritten (its mode kept).  A symlink is never
 * followed (refused), nor is anything but a regular file written.
 */
int client_save_file(const char *path, mode_t mode, const void *data,
    size_t len, char *err, size_t errlen);
/* Refuse a directory that others may write to (S_IWOTH), or a non-directory. */
int client_check_dir(const char *path, char *err, size_t errlen);


/*
 * Split "HOST:PORT" or "[IPV6]:PORT" (ssh's %h:%p) into host and a port
 * 1..65535.  SL_EINVAL if it is neither.
 */
int client_parse_target(const char *s, char *host, size_t hostlen,
    uint16_t *port);
/*
 * One TCP connection attempt to host port (resolved, every address tried
 * in order) within timeout_ms in all.  On success *fd is a connected,
 * blocking socket and addr (if non-NULL) its peer as text.  SL_ESYS with
 * errno (ETIMEDOUT when nothing answered in time, ECONNREFUSED ...) and
 * a line in err otherwise.
 */
int client_tcp_connect(const char *host, uint16_t port, unsigned timeout_ms,
    int *fd, char *addr, size_t addrlen, char *err, size_t errlen);
/*
 * Relay in -> sock and sock -> out until both directions have ended: end
 * of file on in shuts down sock's sending side (a half-close, so the far
 * end still answers); end of file on sock closes out.  A failed write
 * ends that direction (out) or the relay (sock).  Returns 0, or SL_ESYS
 * with a line in err.  SIGPIPE must be ignored by the caller.
 */
int client_relay(int in, int out, int sock, char *err, size_t errlen);

/* Lower-case hex of n bytes into out (outlen >= 2n + 1), NUL-terminated. */
int client_hex(char *out, size_t outlen, const uint8_t *in, size_t n);

#endif
