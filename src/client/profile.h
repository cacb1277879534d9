/*
 * profile.h - knocker's named profiles (docs/knocker.md, "Profiles"):
 * ~/.config/siglatch/knocker.conf and the drop-ins in knocker.conf.d/,
 * one [NAME] stanza per profile, read with libinih, every key checked,
 * every error naming file:line and the key.
 *
 * Every function returns 0 or a negative SL_E* code; a failure leaves one
 * line of explanation in err (no "prog:" prefix).
 */
#ifndef SL_PROFILE_H
#define SL_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "client.h"
#include "sl.h"

#define PROFILE_NAME_MAX   63          /* [A-Za-z0-9_.-]{1,63} */
#define PROFILE_HOSTS_MAX  8           /* addresses in one host line */
#define PROFILE_MAX        1024        /* profiles in all files */
#define PROFILE_FILE_MAX   (256 * 1024) /* largest file read */
#define PROFILE_LINE_MAX   4200
#define PROFILE_WAIT_MAX   300         /* wait = 0..300 s */
#define PROFILE_TIMEOUT_MAX 3600       /* timeout = 1..3600 s */

enum profile_addr {
	PROFILE_ADDR_UNSET = 0,     /* not given: knocker's default (auto) */
	PROFILE_ADDR_AUTO,          /* name this machine's address when the
	                               server will see it */
	PROFILE_ADDR_NONE,          /* --no-address */
	PROFILE_ADDR_IP,            /* --allow-ip */
};

struct profile {
	char name[PROFILE_NAME_MAX + 1];
	char src[SL_PATH_MAX];          /* the file it was read from */
	unsigned line;                  /* line of its [NAME] */
	char hosts[PROFILE_HOSTS_MAX][CLIENT_HOST_MAX + 1];
	unsigned nhosts;
	uint16_t port;                  /* 0: not given */
	char user[PROFILE_NAME_MAX + 1];    /* "" when not given */
	char action[PROFILE_NAME_MAX + 1];
	int format;                     /* 1, 2, or 0: not given */
	enum profile_addr addr_mode;
	struct sl_addr allow_addr;      /* PROFILE_ADDR_IP */
	char server_key[SL_PATH_MAX];   /* absolute paths, "" when not given */
	char hmac_key[SL_PATH_MAX];
	char bundle[SL_PATH_MAX];
	int wait_s;                     /* -1: not given; 0: no receipt */
	unsigned timeout_s;             /* --connect deadline, 0: not given */
	unsigned keyline[16];           /* where each key was given */
};

struct profiles {
	struct profile *v;
	size_t n, cap;
};

/* A profile name: [A-Za-z0-9_.-]{1,63}, not starting with '-' or '.'. */
bool profile_valid_name(const char *s);

/*
 * The main file: given (--config) when not NULL, else $SIGLATCH_CONFIG
 * when set and not empty, else $XDG_CONFIG_HOME/siglatch/knocker.conf
 * (XDG_CONFIG_HOME absolute), else $HOME/.config/siglatch/knocker.conf.
 * *explicit_ says whether it was named (--config, SIGLATCH_CONFIG), in
 * which case it must exist.
 */
int profile_config_path(char *out, size_t outlen, const char *given,
    bool *explicit_, char *err, size_t errlen);

/*
 * Parse one file's text into ps.  src names it in messages and its
 * directory is the base of relative key and bundle paths ("~/" is $HOME).
 * A name already in ps is an error naming both places.
 */
int profile_parse_buf(struct profiles *ps, const char *buf, size_t len,
    const char *src, char *err, size_t errlen);

/*
 * Read the main file (absent is no error unless must_exist) and then
 * every regular "*.conf" file in PATH.d/, in name order.  Each file must
 * be a regular file belonging to this user or root and writable by
 * neither group nor others, and so must PATH.d itself.
 */
int profile_load(struct profiles *ps, const char *path, bool must_exist,
    char *err, size_t errlen);
const struct profile *profile_find(const struct profiles *ps,
    const char *name);
void profile_free(struct profiles *ps);

/* One stanza as text (the form profile_parse_buf reads). */
int profile_format(const struct profile *p, char *out, size_t outlen);

/*
 * A key file the profile names must be a regular file of this user or
 * root that neither group nor others may read or write: SL_EPERM (with
 * the chmod to fix it) otherwise.
 */
int profile_check_key(const char *path, char *err, size_t errlen);

#endif
