/*
 * config.c - siglatchd configuration: INI with the siglatch 1.0 keys; the
 * reader.
 *
 * libinih does the key = value splitting.  It is fed by our own line reader,
 * which counts lines (the handler gets no line number), refuses over-long
 * lines and NUL bytes instead of letting them be split or cut, and handles
 * section headers itself, so that an empty or unknown section is still an
 * error naming its line.  Each key is handed to cfgkeys.c, whose
 * per-section tables say where it is stored and what range it must be in.
 * After the file is read, cfgcheck.c checks the rules across keys and
 * sections and resolves action names to ids.  (The files the configuration
 * names are checked and loaded by cfgfiles.c.)
 *
 * This file owns the reader, the sections, the entry points
 * (config_parse, config_parse_string), the lookups of a parsed
 * configuration, and the error message, made in one place (cfg_fail):
 * "FILE:LINE: [section] key 'KEY': problem" (top-level keys have no
 * "[section] "; whole-section problems have no "key 'KEY'").
 */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_int.h"
#include "log.h"
#include "util.h"

#define CFG_SPACE   " \t\r\v\f"   /* what inih skips around a line (isspace) */

/* ---- the error message -------------------------------------------------- */

/* The one place an error message is made (config_int.h). */
void
cfg_fail(struct cfg_ctx *c, int line, const char *sect, const char *key,
    const char *fmt, ...)
{
	char what[2 * CFG_SHOW + 32] = "", msg[512];
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	if (c->err == NULL || c->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sect != NULL && *sect != '\0' && key != NULL)
		snprintf(what, sizeof(what), " [%.*s] key '%.*s':", CFG_SHOW,
		    sect, CFG_SHOW, key);
	else if (sect != NULL && *sect != '\0')
		snprintf(what, sizeof(what), " [%.*s]:", CFG_SHOW, sect);
	else if (key != NULL)
		snprintf(what, sizeof(what), " key '%.*s':", CFG_SHOW, key);
	snprintf(c->err, c->errlen, "%s:%d:%s %s", c->file, line, what, msg);
}

/* ---- sections ---------------------------------------------------------- */

/* Find a section of `kind` named `name`; returns its line or 0. */
static int
cfg_find_section(const struct cfg_ctx *c, enum cfg_kind kind, const char *name)
{
	const struct config *cfg = c->cfg;
	unsigned i;

	switch (kind) {
	case CK_SERVER:
		for (i = 0; i < cfg->nservers; i++)
			if (strcmp(cfg->servers[i].name, name) == 0)
				return cfg->servers[i].line;
		break;
	case CK_ACTION:
		for (i = 0; i < cfg->nactions; i++)
			if (strcmp(cfg->actions[i].name, name) == 0)
				return cfg->actions[i].line;
		break;
	case CK_USER:
		for (i = 0; i < cfg->nusers; i++)
			if (strcmp(cfg->users[i].name, name) == 0)
				return cfg->users[i].line;
		break;
	case CK_DEADDROP:
		for (i = 0; i < c->ndeaddrops; i++)
			if (strcmp(c->deaddrops[i], name) == 0)
				return c->deaddrop_lines[i];
		break;
	default:
		break;
	}
	return 0;
}

/* The kind of section "[inner]" opens: CK_NKINDS when none. */
static enum cfg_kind
cfg_section_kind(const char *inner)
{
	enum cfg_kind kind;

	for (kind = CK_SERVER; kind < CK_NKINDS; kind++) {
		size_t kl = strlen(cfg_kind_name(kind));

		if (strncmp(inner, cfg_kind_name(kind), kl) == 0 &&
		    (inner[kl] == ':' || inner[kl] == '\0'))
			break;
	}
	return kind;
}

/* [fleet]: one, with no name. */
static int
cfg_begin_fleet(struct cfg_ctx *c, const char *inner)
{
	struct config *cfg = c->cfg;

	if (strchr(inner, ':') != NULL) {
		cfg_fail(c, c->line, inner, NULL, "the fleet section "
		    "has no name (write [fleet])");
		return -1;
	}
	if (cfg->fleet.on) {
		cfg_fail(c, c->line, inner, NULL, "duplicate section "
		    "(first defined at line %d)", cfg->fleet.line);
		return -1;
	}
	cfg->fleet.on = true;
	cfg->fleet.line = c->line;
	c->kind = CK_FLEET;
	snprintf(c->label, sizeof(c->label), "fleet");
	c->base = &cfg->fleet;
	c->cur = &c->fleet;
	return 0;
}

/* A new section of kind (not CK_TOP or CK_FLEET) named name, with room
 * for it: its struct gets its defaults, name and line, and is read next. */
static void
cfg_add_section(struct cfg_ctx *c, enum cfg_kind kind, const char *name)
{
	struct config *cfg = c->cfg;

	c->kind = kind;
	cfg_label(c->label, sizeof(c->label), kind, name);
	switch (kind) {
	case CK_SERVER: {
		struct cfg_server *s = &cfg->servers[cfg->nservers];

		cfg_server_defaults(s);
		sl_strlcpy(s->name, name, sizeof(s->name));
		s->line = c->line;
		c->base = s;
		c->cur = &c->servers[cfg->nservers++];
		break;
	}
	case CK_ACTION: {
		struct cfg_action *a = &cfg->actions[cfg->nactions];

		cfg_action_defaults(a);
		sl_strlcpy(a->name, name, sizeof(a->name));
		a->line = c->line;
		c->base = a;
		c->cur = &c->actions[cfg->nactions++];
		break;
	}
	case CK_USER: {
		struct cfg_user *u = &cfg->users[cfg->nusers];

		cfg_user_defaults(u);
		sl_strlcpy(u->name, name, sizeof(u->name));
		u->line = c->line;
		c->base = u;
		c->cur = &c->users[cfg->nusers++];
		break;
	}
	default: /* CK_DEADDROP: remembered for duplicates only */
		sl_strlcpy(c->deaddrops[c->ndeaddrops], name, SL_NAME_MAX);
		c->deaddrop_lines[c->ndeaddrops++] = c->line;
		c->base = NULL;
		c->cur = NULL;
		log_msg(LOG_WARNING, SLC_CONFIG_WARN, "%s:%d: [%s]: ignored: "
		    "deaddrops are not supported (unauthenticated input runs "
		    "nothing)", c->file, c->line, c->label);
		break;
	}
}

/* A "[...]" line; inner is the text between the brackets. */
static int
cfg_begin_section(struct cfg_ctx *c, const char *inner)
{
	static const unsigned max[CK_NKINDS] = {
		[CK_SERVER] = SL_MAX_SERVERS, [CK_ACTION] = SL_MAX_ACTIONS,
		[CK_USER] = SL_MAX_USERS, [CK_DEADDROP] = CFG_DEADDROPS_MAX,
	};
	const struct config *cfg = c->cfg;
	const char *colon = strchr(inner, ':'), *name;
	enum cfg_kind kind = cfg_section_kind(inner);
	unsigned n;
	int prev;

	if (kind == CK_NKINDS) {
		cfg_fail(c, c->line, inner, NULL, "unknown section (expected "
		    "[server:NAME], [action:NAME], [user:NAME], "
		    "[deaddrop:NAME] or [fleet])");
		return -1;
	}
	if (kind == CK_FLEET)
		return cfg_begin_fleet(c, inner);
	name = colon != NULL ? colon + 1 : "";
	if (!sl_valid_name(name)) {
		cfg_fail(c, c->line, inner, NULL, "section name must be 1-%d "
		    "characters of A-Z a-z 0-9 _ . - (as in [%s:NAME])",
		    SL_NAME_MAX - 1, cfg_kind_name(kind));
		return -1;
	}
	if ((prev = cfg_find_section(c, kind, name)) > 0) {
		cfg_fail(c, c->line, inner, NULL, "duplicate section (first "
		    "defined at line %d)", prev);
		return -1;
	}
	n = kind == CK_SERVER ? cfg->nservers : kind == CK_ACTION ?
	    cfg->nactions : kind == CK_USER ? cfg->nusers : c->ndeaddrops;
	if (n >= max[kind]) {
		cfg_fail(c, c->line, inner, NULL, "too many [%s:*] sections "
		    "(at most %u)", cfg_kind_name(kind), max[kind]);
		return -1;
	}
	cfg_add_section(c, kind, name);
	return 0;
}

/* ---- line reader ------------------------------------------------------- */

static int
cfg_getc(struct cfg_ctx *c)
{
	if (c->fp != NULL)
		return getc(c->fp);
	if (c->text[c->pos] == '\0')
		return EOF;
	return (unsigned char)c->text[c->pos++];
}

/*
 * The next line into c->buf, without its "\n" or "\r\n", and counted: its
 * length (*toolong: longer than CFG_LINE_MAX, cut there; *nul: holds a NUL
 * byte).  -1 at the end of input, or after a read error (recorded).
 */
static int
cfg_read_line(struct cfg_ctx *c, bool *toolong, bool *nul)
{
	size_t n = 0;
	int ch;

	*toolong = *nul = false;
	while ((ch = cfg_getc(c)) != EOF && ch != '\n') {
		if (ch == '\0')
			*nul = true;
		if (n < CFG_LINE_MAX)
			c->buf[n++] = (char)ch;
		else
			*toolong = true;
	}
	if (ch == EOF && c->fp != NULL && ferror(c->fp)) {
		cfg_fail(c, c->line + 1, NULL, NULL, "read error: %s",
		    strerror(errno));
		return -1;
	}
	if (ch == EOF && n == 0)
		return -1;
	c->line++;
	if (n > 0 && c->buf[n - 1] == '\r')
		n--;
	c->buf[n] = '\0';
	return (int)n;
}

/* A section header ("[" first, after blanks) starts its section; any other
 * line is left to inih.  0, or -1 with the error recorded. */
static int
cfg_header(struct cfg_ctx *c, char *p)
{
	char *end;

	p += strspn(p, CFG_SPACE);
	if (*p != '[')
		return 0;
	end = p + strlen(p);
	while (end > p && strchr(CFG_SPACE, end[-1]) != NULL)
		end--;
	if (end[-1] != ']' || end - p < 2) {
		cfg_fail(c, c->line, NULL, NULL, "malformed section "
		    "header (expected [kind:NAME] alone on the line)");
		return -1;
	}
	end[-1] = '\0';
	return cfg_begin_section(c, p + 1);
}

/*
 * ini_reader: one whole line into str (num bytes), without its line end.
 * Returns NULL at the end of input or after an error (recorded in c).
 */
static char *
cfg_reader(char *str, int num, void *stream)
{
	struct cfg_ctx *c = stream;
	bool toolong, nul;
	char *p;
	int n;

	if (c->failed || (n = cfg_read_line(c, &toolong, &nul)) < 0)
		return NULL;
	if ((size_t)num < CFG_LINE_MAX) {
		cfg_fail(c, c->line, NULL, NULL, "parser line buffer too small");
		return NULL;
	}
	if (toolong || n >= CFG_LINE_MAX) {
		cfg_fail(c, c->line, NULL, NULL, "line too long (at most %d "
		    "characters)", CFG_LINE_MAX - 1);
		return NULL;
	}
	if (nul) {
		cfg_fail(c, c->line, NULL, NULL, "line contains a NUL byte");
		return NULL;
	}
	p = c->buf;
	if (c->line == 1 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;                         /* UTF-8 byte order mark */
	memcpy(str, p, strlen(p) + 1);
	/* section headers are ours; inih sees them only to reset its state */
	return cfg_header(c, p) == 0 ? str : NULL;
}

/* ini_handler: one "name = value" line of the current section. */
static int
cfg_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct cfg_ctx *c = user;

	(void)section; /* inih truncates long section names: we track our own */
	if (c->failed)
		return 0;
	if (c->kind == CK_DEADDROP)
		return 1;
	return cfg_set_key(c, name, value) == 0;
}

/* ---- entry points ------------------------------------------------------ */

static int
cfg_run(struct config *cfg, const char *name, FILE *fp, const char *text,
    char *err, size_t errlen)
{
	static char comment_prefixes[] = "#;";
	struct cfg_ctx *c;
	unsigned i;
	int rc;

	cfg_init(cfg);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return SL_ECONFIG;
	}
	c->cfg = cfg;
	c->file = name;
	c->fp = fp;
	c->text = text;
	c->err = err;
	c->errlen = errlen;
	c->kind = CK_TOP;
	c->base = cfg;
	c->cur = &c->top;

	if (sl_strlcpy(cfg->path, name, sizeof(cfg->path)) != 0)
		cfg_fail(c, 0, NULL, NULL, "file name too long");

	/* this libinih takes its options at run time */
	ini_allow_multiline = false;
	ini_allow_inline_comments = false; /* a constructor may contain ';' */
	ini_start_comment_prefixes = comment_prefixes;
	ini_allow_bom = false;             /* the reader strips it */
	ini_allow_no_value = false;
	ini_stop_on_first_error = true;
	ini_use_stack = true;              /* a buffer of ini_max_line bytes */
	ini_max_line = CFG_LINE_MAX;

	rc = c->failed ? 0 : ini_parse_stream(cfg_reader, c, cfg_handler, c);
	if (!c->failed && rc > 0)
		cfg_fail(c, rc, c->label, NULL, "expected 'key = value', "
		    "'[kind:NAME]' or a comment");
	else if (!c->failed && rc < 0)
		cfg_fail(c, c->line, NULL, NULL, "parser failed (%d)", rc);
	if (!c->failed)
		(void)cfg_check(c);

	rc = c->failed ? SL_ECONFIG : 0;
	for (i = 0; i < SL_MAX_SERVERS; i++)
		free(c->servers[i].names);
	for (i = 0; i < SL_MAX_USERS; i++)
		free(c->users[i].names);
	free(c);
	return rc;
}

int
config_parse(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct stat st;
	FILE *fp;
	int rc;

	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		cfg_init(cfg);
		return SL_ECONFIG;
	}
	if (fstat(fileno(fp), &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		fclose(fp);
		cfg_init(cfg);
		return SL_ECONFIG;
	}
	rc = cfg_run(cfg, path, fp, NULL, err, errlen);
	fclose(fp);
	return rc;
}

int
config_parse_string(struct config *cfg, const char *name, const char *text,
    char *err, size_t errlen)
{
	return cfg_run(cfg, name, NULL, text, err, errlen);
}

/* ---- lookups ----------------------------------------------------------- */

const struct cfg_user *
config_user_by_id(const struct config *cfg, uint16_t id)
{
	int i = cfg->user_by_id[id];

	return i >= 0 && cfg->users[i].enabled ? &cfg->users[i] : NULL;
}

const struct cfg_action *
config_action_by_id(const struct config *cfg, uint8_t id)
{
	int i = cfg->action_by_id[id];

	return i >= 0 && cfg->actions[i].enabled ? &cfg->actions[i] : NULL;
}
