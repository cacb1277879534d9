/*
 * knocker.h - what the files of the knocker program share (private to
 * it): the options, the knock being built, the messages, and each file's
 * entry points.
 *
 *   knocker.c         main, the messages, the run sequence (prepare a
 *                     knock: format, payload, ids, keys; then send it)
 *   knocker_opts.c    the command line and the profile it names
 *   knocker_import.c  --save-profile, --import-bundle, --list
 *   knocker_send.c    building, sending and resending a knock, waiting for
 *                     and reading its receipt
 *   knocker_connect.c --connect: knock until TCP opens, then relay
 */
#ifndef SL_KNOCKER_H
#define SL_KNOCKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "client.h"
#include "knock2.h"
#include "libsiglatch_int.h"
#include "profile.h"
#include "sl.h"

#define EXIT_USAGE        CLIENT_EXIT_USAGE
#define KNOCKER_WAIT_DEF  5     /* --wait without SECONDS */
#define KNOCKER_WAIT_MAX  300

/* A knock ready to be built: keys, ids, payload, format. */
struct knocker_knock {
	siglatch_ctx *lib;          /* libsiglatch: the keys */
	uint32_t user_id, action_id;
	uint8_t payload[SL_PAYLOAD_MAX];
	size_t plen;
	int format;
};

struct knocker_opts {
	const char *host, *user, *action, *payload;
	const char *hosts[PROFILE_HOSTS_MAX];   /* HOST, or a profile's */
	unsigned nhosts;
	const char *server_key, *hmac_key, *save, *allow_ip;
	const char *config, *save_profile, *import_dir, *import_as, *connect;
	const char *bundle;         /* a profile's bundle directory */
	const struct profile *prof; /* PROFILE mode */
	const char *pos[4];
	int npos;
	bool port_set, wait_set, list;
	unsigned timeout_s;         /* --connect deadline */
	uint16_t port;
	int format;                 /* 1, 2, or 0: from DIR/formats */
	struct sl_addr allow_addr;  /* --allow-ip */
	unsigned wait_s;            /* --wait: seconds, 0 = do not wait */
	bool use_stdin, dry_run, verbose, quiet, no_address;
};

/* A sent format-2 knock: its socket, datagram and receipt keys. */
struct knocker_sent {
	int fd;
	const char *host;           /* which of o->hosts */
	uint8_t dgram[K2_DGRAM_LEN];
};

/* knocker.c */
extern bool knocker_quiet;      /* --quiet: no notes, warnings, receipts */
void knocker_err(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
void knocker_note(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
int knocker_prepare(const struct knocker_opts *, struct knocker_knock *);
void knocker_knock_clear(struct knocker_knock *);

/* knocker_opts.c */
int knocker_parse(int, char **, struct knocker_opts *);
int knocker_setup(struct knocker_opts *, const struct profiles *,
    const char *);
const char *knocker_needs_v2(const struct knocker_opts *);

/* knocker_import.c */
int knocker_save_profile(const struct knocker_opts *,
    const struct profiles *, const char *);
int knocker_import(struct knocker_opts *, const struct profiles *,
    const char *);
int knocker_list(const struct profiles *, const char *);

/* knocker_send.c */
int knocker_v1(const struct knocker_opts *, const struct knocker_knock *);
int knocker_v2(const struct knocker_opts *, const struct knocker_knock *);
int knocker_v2_send(const struct knocker_opts *,
    const struct knocker_knock *, bool, struct knocker_sent *);
void knocker_sent_clear(struct knocker_sent *);
int knocker_take_receipt(const struct knocker_opts *, siglatch_ctx *, int,
    struct k2_receipt *, int *, bool);
void knocker_clock_note(uint64_t);

/* knocker_connect.c */
int knocker_connect(const struct knocker_opts *);

#endif
