/*
 * config_int.h - what the pieces of the configuration parser share, and no
 * other module sees (they use config.h):
 *
 *   config.c    the reader: lines, section headers, libinih, the error
 *               message ("FILE:LINE: [section] key 'KEY': problem")
 *   cfgkeys.c   the key tables, the defaults, how each value is checked
 *               and stored
 *   cfgcheck.c  the rules checked once the whole file is read
 *
 * (cfgfiles.c, the files and keys the configuration names, needs only
 * config.h.)
 */
#ifndef SL_CONFIG_INT_H
#define SL_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

/* Reader buffer: a line holds at most CFG_LINE_MAX - 1 bytes, not counting
 * its "\n" or "\r\n". */
#define CFG_LINE_MAX      4096
#define CFG_KEYS_MAX        32  /* keys per section kind */
#define CFG_DEADDROPS_MAX   64
#define CFG_SHOW           100  /* longest value quoted back in a message */

enum cfg_kind { CK_TOP, CK_SERVER, CK_ACTION, CK_USER, CK_DEADDROP, CK_FLEET,
    CK_NKINDS };

/* What the parser remembers about one section beyond struct config. */
struct cfg_sect {
	int keyline[CFG_KEYS_MAX]; /* line of each key, 0 = not given */
	char *names;               /* raw `actions` value (heap) */
};

struct cfg_ctx {
	struct config *cfg;
	const char *file;
	FILE *fp;                  /* source: a file ... */
	const char *text;          /* ... or a string */
	size_t pos;
	int line;
	bool failed;
	char *err;
	size_t errlen;

	/* the section being read */
	enum cfg_kind kind;
	char label[SL_NAME_MAX + 16]; /* "server:NAME", "" at top level */
	void *base;                /* its struct in cfg */
	struct cfg_sect *cur;

	struct cfg_sect top;
	struct cfg_sect servers[SL_MAX_SERVERS];
	struct cfg_sect actions[SL_MAX_ACTIONS];
	struct cfg_sect users[SL_MAX_USERS];
	struct cfg_sect fleet;
	unsigned ndeaddrops;
	char deaddrops[CFG_DEADDROPS_MAX][SL_NAME_MAX];
	int deaddrop_lines[CFG_DEADDROPS_MAX];

	char buf[CFG_LINE_MAX + 1];
};

/* config.c */
/*
 * Record the first error.  sect is "kind:NAME" (NULL or "" at top level),
 * key NULL for a problem with a whole section or the file.
 */
void cfg_fail(struct cfg_ctx *c, int line, const char *sect, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* cfgkeys.c */
/* "server", "action", ... ("" for CK_TOP) */
const char *cfg_kind_name(enum cfg_kind kind);
/* "kind:NAME" into out */
void cfg_label(char *out, size_t outlen, enum cfg_kind kind, const char *name);
/* Line of key `name` in a section, or fallback when it was not given. */
int cfg_keyline(const struct cfg_sect *s, enum cfg_kind kind, const char *name,
    int fallback);
/* One "name = value" line of the section being read (c->kind, c->base,
 * c->cur).  0, or -1 with the error recorded. */
int cfg_set_key(struct cfg_ctx *c, const char *name, const char *value);
/* The defaults: of the top level (all of *cfg cleared first), and of a
 * new section. */
void cfg_init(struct config *cfg);
void cfg_server_defaults(struct cfg_server *s);
void cfg_action_defaults(struct cfg_action *a);
void cfg_user_defaults(struct cfg_user *u);
/* [fleet] store: its address into f's host, port, db and unix_sock.
 * 0, or -1 with the problem in why. */
int cfg_fleet_store(struct cfg_fleet *f, const char **why);

/* cfgcheck.c */
/* The rules across keys and sections, once the file is read; action names
 * resolved to ids and the id lookups built.  0, or -1 with the error
 * recorded. */
int cfg_check(struct cfg_ctx *c);

#endif
