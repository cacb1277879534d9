/*
 * recheck.h - the runner's re-check of a request against its own
 * configuration, and the siglatch 1.0 argv (recheck.c).  runner_build_argv
 * (runner.h) is defined there too.
 */
#ifndef SL_RECHECK_H
#define SL_RECHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "request.h"
#include "runner.h"

/* An action or user by id, or NULL. */
const struct cfg_action *recheck_action(const struct config *cfg,
    unsigned id);
const struct cfg_user *recheck_user(const struct config *cfg, unsigned id);
/* NULL if the request may run (*srvp and *actp set), else why not. */
const char *recheck_request(const struct config *cfg,
    const struct sl_request *req, const struct cfg_server **srvp,
    const struct cfg_action **actp);
/* The 1.0 argv from values (a destructor has only what its grant kept):
 * argc, or a negative code. */
int recheck_argv(const char *cmd, bool exec_split, const struct sl_addr *src,
    unsigned user_id, const char *user, unsigned action_id,
    const char *action, bool secure, const uint8_t *payload,
    size_t payload_len, struct runner_argv *out);

#endif
