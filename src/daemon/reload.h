/*
 * reload.h - SIGHUP: a new configuration, read and checked by the main
 * process as at start, handed to the chrooted network process.
 *
 * The network process cannot read the configuration or the keys (it is
 * chrooted and unprivileged), so the main process packs what it read into
 * a sealed memfd (memfd_create, F_SEAL_WRITE ...) and passes it over the
 * channel: the configuration's text, which the network process parses the
 * same way, each enabled server's private key (DER) and each enabled
 * user's HMAC key.  Both sides then swap configurations; the replay state,
 * the rate limits and the live grants stay.
 *
 * What the network process cannot change without a restart (its sockets,
 * state_dir, run_as, the sizes of its tables ...) is compared first: if
 * any of it differs, nothing is reloaded and the log says which key.
 */
#ifndef SL_RELOAD_H
#define SL_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define RELOAD_TEXT_MAX (1024 * 1024)   /* a configuration file, at most */

/*
 * false when new may replace old in a running daemon; otherwise true, with
 * the first key that differs and needs a restart in what ("[server:s]
 * port").
 */
bool reload_needs_restart(const struct config *old, const struct config *new,
    char *what, size_t whatlen);

/*
 * In the main process: read path (at most RELOAD_TEXT_MAX bytes) into a
 * buffer the caller frees (*text), and parse it into cfg.  Errors as
 * config_parse's, naming file and line.
 */
int reload_read(struct config *cfg, const char *path, char **text,
    char *err, size_t errlen);

/* Pack text and cfg's keys into a sealed memfd (*fd); SL_E* on failure. */
int reload_pack(const struct config *cfg, const char *text, int *fd,
    char *err, size_t errlen);

/*
 * In the network process: parse what fd holds into cfg (name: the file's
 * name, for messages) with the keys filled in; the memfd is emptied
 * afterwards.  SL_E* with a message on failure (cfg's keys are then
 * wiped).
 */
int reload_unpack(int fd, const char *name, struct config *cfg, char *err,
    size_t errlen);

#endif
