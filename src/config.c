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
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config_int.h"
#include "crypto.h"
#include "log.h"
#include "privsep.h"
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

/* ---- files the configuration trusts: owners and modes ------------------ */

/* Who may own them: root, or the user siglatchd runs as. */
static bool
cfg_owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

static const char *
cfg_owners(char *buf, size_t len)
{
	if (geteuid() == 0)
		snprintf(buf, len, "root");
	else
		snprintf(buf, len, "root or uid %u (which runs siglatchd)",
		    (unsigned)geteuid());
	return buf;
}

/*
 * One directory on the way to a trusted file (real: resolved): owned by
 * root or us, and writable by nobody else unless it is sticky (as /tmp:
 * then no one else can rename or remove the entry below it, which is
 * checked in its turn).  strict: not even sticky (the file below does not
 * exist, and anyone who may write here could create it).
 */
static int
cfg_check_dir(const char *path, const char *dir, bool strict, char *err,
    size_t errlen)
{
	struct stat st;
	char who[64];

	if (stat(dir, &st) != 0) {
		sl_seterr(err, errlen, "%s: directory %s: %s", path, dir,
		    strerror(errno));
		return SL_ESYS;
	}
	if (!cfg_owner_ok(st.st_uid)) {
		sl_seterr(err, errlen, "%s: directory %s is owned by uid %u, "
		    "not by %s; fix with: chown root %s", path, dir,
		    (unsigned)st.st_uid, cfg_owners(who, sizeof(who)), dir);
		return SL_EPERM;
	}
	if ((st.st_mode & 022) != 0 && strict) {
		sl_seterr(err, errlen, "%s: does not exist, and group or others "
		    "may create it in %s (mode %04o); create it, or use a "
		    "directory only its owner may write", path, dir,
		    (unsigned)(st.st_mode & 07777));
		return SL_EPERM;
	}
	if ((st.st_mode & 022) != 0 && !(st.st_mode & S_ISVTX)) {
		sl_seterr(err, errlen, "%s: directory %s is writable by group "
		    "or others (mode %04o); fix with: chmod go-w %s", path, dir,
		    (unsigned)(st.st_mode & 07777), dir);
		return SL_EPERM;
	}
	return 0;
}

/* Every directory above real (resolved, absolute), up to /. */
static int
cfg_check_dirs(const char *path, const char *real, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	char *slash;
	int r;

	if (sl_strlcpy(dir, real, sizeof(dir)) != 0)
		return SL_EINVAL;
	while ((slash = strrchr(dir, '/')) != NULL && dir[1] != '\0') {
		slash[slash == dir ? 1 : 0] = '\0';
		if ((r = cfg_check_dir(path, dir, false, err, errlen)) != 0)
			return r;
	}
	return 0;
}

/*
 * A trusted file that does not exist yet (realpath(3) said ENOENT): the
 * nearest directory above it that does exist must let no one else create
 * it, and the directories above that pass cfg_check_dirs.
 */
static int
cfg_check_missing(const char *path, char *err, size_t errlen)
{
	char real[PATH_MAX], up[PATH_MAX];
	char *slash;
	int r;

	if (sl_strlcpy(up, path, sizeof(up)) != 0)
		return SL_EINVAL;
	for (;;) {
		if ((slash = strrchr(up, '/')) == NULL)
			snprintf(up, sizeof(up), ".");
		else
			slash[slash == up ? 1 : 0] = '\0';
		if (realpath(up, real) != NULL)
			break;
		if (errno != ENOENT || slash == NULL || strcmp(up, "/") == 0) {
			sl_seterr(err, errlen, "%s: %s", path, strerror(errno));
			return SL_ESYS;
		}
	}
	if ((r = cfg_check_dir(path, real, true, err, errlen)) != 0)
		return r;
	return cfg_check_dirs(path, real, err, errlen);
}

/*
 * A trusted file: a regular file owned by root or us that neither group
 * nor others may write, in directories that pass cfg_check_dirs.
 * missing_ok: a file that does not exist passes, *missing set, when
 * cfg_check_missing passes.
 */
static int
cfg_check_trusted(const char *path, bool missing_ok, bool *missing,
    char *err, size_t errlen)
{
	char real[PATH_MAX], shown[PATH_MAX + 16] = "", who[64];
	struct stat st;
	int r;

	if (missing != NULL)
		*missing = false;
	if (realpath(path, real) == NULL) {
		if (errno != ENOENT || !missing_ok) {
			sl_seterr(err, errlen, "%s: %s", path, strerror(errno));
			return SL_ESYS;
		}
		if ((r = cfg_check_missing(path, err, errlen)) == 0 &&
		    missing != NULL)
			*missing = true;
		return r;
	}
	if (strcmp(path, real) != 0)
		snprintf(shown, sizeof(shown), " (%s)", real);
	if (stat(real, &st) != 0) {
		sl_seterr(err, errlen, "%s%s: %s", path, shown, strerror(errno));
		return SL_ESYS;
	}
	if (!S_ISREG(st.st_mode)) {
		sl_seterr(err, errlen, "%s%s: not a regular file", path, shown);
		return SL_EPERM;
	}
	if (!cfg_owner_ok(st.st_uid)) {
		sl_seterr(err, errlen, "%s%s: owned by uid %u, not by %s; fix "
		    "with: chown root %s", path, shown, (unsigned)st.st_uid,
		    cfg_owners(who, sizeof(who)), real);
		return SL_EPERM;
	}
	if ((st.st_mode & 022) != 0) {
		sl_seterr(err, errlen, "%s%s: writable by group or others "
		    "(mode %04o); fix with: chmod go-w %s", path, shown,
		    (unsigned)(st.st_mode & 07777), real);
		return SL_EPERM;
	}
	return cfg_check_dirs(path, real, err, errlen);
}

/* The directories above a key file (the file is checked as it is read);
 * a missing one is left for config_load_keys to report. */
static int
cfg_check_key_dirs(const char *path, char *err, size_t errlen)
{
	char real[PATH_MAX];

	if (realpath(path, real) == NULL) {
		if (errno == ENOENT)
			return 0;
		sl_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return SL_ESYS;
	}
	return cfg_check_dirs(path, real, err, errlen);
}

/* What an action's command line runs: the program, and the script it is
 * given when that is an existing file named by an absolute path. */
static int
cfg_check_command(const struct config *cfg, const struct cfg_action *a,
    const char *key, const char *cmd, int line, char *err, size_t errlen)
{
	char buf[SL_CMD_MAX], e[PATH_MAX * 2 + 256];
	char *prog, *rest = NULL;
	struct stat st;
	bool missing;
	int r;

	if (sl_strlcpy(buf, cmd, sizeof(buf)) != 0)
		return 0;
	prog = sl_trim(buf);
	if (prog[0] != '/')
		return 0;           /* never run: the runner refuses it */
	if (a->exec_split && (rest = strchr(prog, ' ')) != NULL) {
		*rest++ = '\0';
		rest += strspn(rest, " \t");
	}
	r = cfg_check_trusted(prog, true, &missing, e, sizeof(e));
	if (r == 0 && missing)
		log_msg(LOG_WARNING, SLC_CONFIG_WARN, "%s:%d: [action:%s] key "
		    "'%s': %s does not exist", cfg->path, line, a->name, key,
		    prog);
	if (r == 0 && rest != NULL && rest[0] == '/' && stat(rest, &st) == 0 &&
	    S_ISREG(st.st_mode))
		r = cfg_check_trusted(rest, false, NULL, e, sizeof(e));
	if (r != 0)
		sl_seterr(err, errlen, "%s:%d: [action:%s] key '%s': %s",
		    cfg->path, line, a->name, key, e);
	return r;
}

int
config_check_files(const struct config *cfg, char *err, size_t errlen)
{
	char e[PATH_MAX * 2 + 256];
	unsigned i;
	int r;

	if ((r = cfg_check_trusted(cfg->path, false, NULL, err, errlen)) != 0)
		return r;
	for (i = 0; i < cfg->nservers && i < SL_MAX_SERVERS; i++) {
		const struct cfg_server *s = &cfg->servers[i];
		bool own = s->priv_key_path[0] != '\0';

		if (!s->enabled || (r = cfg_check_key_dirs(own ?
		    s->priv_key_path : cfg->priv_key_path, e, sizeof(e))) == 0)
			continue;
		if (own)
			sl_seterr(err, errlen, "%s:%d: [server:%s] key "
			    "'priv_key_path': %s", cfg->path, s->priv_key_line,
			    s->name, e);
		else
			sl_seterr(err, errlen, "%s:%d: key 'priv_key_path' (for "
			    "[server:%s]): %s", cfg->path, s->priv_key_line,
			    s->name, e);
		return r;
	}
	for (i = 0; i < cfg->nusers && i < SL_MAX_USERS; i++) {
		const struct cfg_user *u = &cfg->users[i];

		if (!u->enabled ||
		    (r = cfg_check_key_dirs(u->hmac_file, e, sizeof(e))) == 0)
			continue;
		sl_seterr(err, errlen, "%s:%d: [user:%s] key 'hmac_file': %s",
		    cfg->path, u->hmac_file_line, u->name, e);
		return r;
	}
	for (i = 0; i < cfg->nactions && i < SL_MAX_ACTIONS; i++) {
		const struct cfg_action *a = &cfg->actions[i];

		if (!a->enabled)
			continue;
		if ((r = cfg_check_command(cfg, a, "constructor",
		    a->constructor, a->constructor_line, err, errlen)) != 0)
			return r;
		if (a->destructor[0] != '\0' &&
		    (r = cfg_check_command(cfg, a, "destructor", a->destructor,
		    a->destructor_line, err, errlen)) != 0)
			return r;
	}
	if (cfg->fleet.on && cfg->fleet.password_file[0] != '\0' &&
	    (r = cfg_check_key_dirs(cfg->fleet.password_file, e,
	    sizeof(e))) != 0) {
		sl_seterr(err, errlen, "%s:%d: [fleet] key 'password_file': %s",
		    cfg->path, cfg->fleet.password_line, e);
		return r;
	}
	return 0;
}

/*
 * Open a [fleet] password_file, checked as key files are (a regular file of
 * root or ours that group and others may neither read nor write), on the
 * open descriptor.  0 with *fdp, or an error with the message in err.
 */
static int
cfg_open_secret(const char *path, int *fdp, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc = SL_EKEY;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		sl_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return SL_ESYS;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		sl_seterr(err, errlen, "%s: not a regular file", path);
		goto bad;
	}
	if ((st.st_mode & 077) != 0) {
		sl_seterr(err, errlen, "%s: readable or writable by group or "
		    "others; fix with: chmod 600 %s", path, path);
		rc = SL_EPERM;
		goto bad;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		sl_seterr(err, errlen, "%s: owned by uid %u, not by root; fix "
		    "with: chown root %s", path, (unsigned)st.st_uid, path);
		rc = SL_EPERM;
		goto bad;
	}
	*fdp = fd;
	return 0;
bad:
	close(fd);
	return rc;
}

/* Up to len - 1 bytes of fd into buf, NUL-terminated; how many. */
static size_t
cfg_read_secret(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (n < len - 1) {
		r = read(fd, buf + n, len - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return n;
}

/* "PASSWORD" or "USER PASSWORD" (the first line of buf, which is cut)
 * into f's user and password; 0 or -1. */
static int
cfg_parse_secret(struct cfg_fleet *f, char *buf)
{
	char *p = buf, *sp;

	p[strcspn(p, "\r\n")] = '\0';
	p = sl_trim(p);
	if ((sp = strpbrk(p, " \t")) != NULL) {
		*sp++ = '\0';
		sp += strspn(sp, " \t");
		if (sl_strlcpy(f->user, p, sizeof(f->user)) != 0)
			return -1;
		p = sp;
	}
	if (*p == '\0' || strpbrk(p, " \t") != NULL ||
	    sl_strlcpy(f->password, p, sizeof(f->password)) != 0)
		return -1;
	return 0;
}

/* [fleet] password_file, when there is one, into f's user and password. */
static int
cfg_load_fleet_secret(struct cfg_fleet *f, char *err, size_t errlen)
{
	char buf[2 * FLEET_SECRET_MAX + 8];
	size_t n;
	int fd, rc;

	if (f->password_file[0] == '\0')
		return 0;
	if ((rc = cfg_open_secret(f->password_file, &fd, err, errlen)) != 0)
		return rc;
	n = cfg_read_secret(fd, buf, sizeof(buf));
	rc = SL_EKEY;
	if (n == sizeof(buf) - 1 || memchr(buf, '\0', n) != NULL)
		sl_seterr(err, errlen, "%s: too long, or not text",
		    f->password_file);
	else if (cfg_parse_secret(f, buf) != 0) {
		sl_seterr(err, errlen, "%s: expected one line, \"PASSWORD\" "
		    "or \"USER PASSWORD\"", f->password_file);
		OPENSSL_cleanse(f->user, sizeof(f->user));
		OPENSSL_cleanse(f->password, sizeof(f->password));
	} else
		rc = 0;
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return rc;
}

int
config_load_fleet_secret(const struct config *cfg, struct cfg_fleet *f,
    char *err, size_t errlen)
{
	char kerr[SL_PATH_MAX * 2 + 128];
	int rc;

	*f = cfg->fleet;
	if ((rc = cfg_load_fleet_secret(f, kerr, sizeof(kerr))) != 0)
		snprintf(err, errlen, "%s:%d: [fleet] key 'password_file': %s",
		    cfg->path, cfg->fleet.password_line, kerr);
	return rc;
}

int
config_load_keys(struct config *cfg, char *err, size_t errlen)
{
	char kerr[SL_PATH_MAX * 2 + 128];
	unsigned i;
	int rc;

	for (i = 0; i < cfg->nservers; i++) {
		struct cfg_server *s = &cfg->servers[i];
		bool own = s->priv_key_path[0] != '\0';

		if (!s->enabled)
			continue;
		EVP_PKEY_free(s->priv);
		s->priv = NULL;
		rc = crypto_load_private(own ? s->priv_key_path :
		    cfg->priv_key_path, 1, &s->priv, kerr, sizeof(kerr));
		if (rc != 0) {
			if (own)
				snprintf(err, errlen, "%s:%d: [server:%s] key "
				    "'priv_key_path': %s", cfg->path,
				    s->priv_key_line, s->name, kerr);
			else
				snprintf(err, errlen, "%s:%d: key "
				    "'priv_key_path' (for [server:%s]): %s",
				    cfg->path, s->priv_key_line, s->name, kerr);
			return rc;
		}
	}
	for (i = 0; i < cfg->nusers; i++) {
		struct cfg_user *u = &cfg->users[i];

		if (!u->enabled)
			continue;
		rc = crypto_load_hmac_key(u->hmac_file, 1, u->hmac_key, kerr,
		    sizeof(kerr));
		if (rc != 0) {
			snprintf(err, errlen, "%s:%d: [user:%s] key 'hmac_file': "
			    "%s", cfg->path, u->hmac_file_line, u->name, kerr);
			return rc;
		}
	}
	if (cfg->fleet.on) {
		/* checked here; read again by whoever connects (the fleet
		 * process, -t), so the network process never keeps it */
		struct cfg_fleet f;

		rc = config_load_fleet_secret(cfg, &f, err, errlen);
		OPENSSL_cleanse(&f, sizeof(f));
		if (rc != 0)
			return rc;
	}
	return 0;
}

void
config_log_fingerprints(const struct config *cfg)
{
	char fp[CRYPTO_FP_LEN];
	unsigned i;

	for (i = 0; i < cfg->nservers && i < SL_MAX_SERVERS; i++) {
		const struct cfg_server *s = &cfg->servers[i];

		if (!s->enabled || s->priv == NULL ||
		    crypto_fp_pkey(s->priv, fp, sizeof(fp)) != 0)
			continue;
		log_msg(LOG_INFO, SLC_CONFIG_OK, "server %s: key %s, %s",
		    s->name, s->priv_key_path[0] != '\0' ? s->priv_key_path :
		    cfg->priv_key_path, fp);
	}
	for (i = 0; i < cfg->nusers && i < SL_MAX_USERS; i++) {
		const struct cfg_user *u = &cfg->users[i];

		if (!u->enabled || crypto_fp_hmac(u->hmac_key, fp,
		    sizeof(fp)) != 0)
			continue;
		log_msg(LOG_INFO, SLC_CONFIG_OK, "user %s (id %d): hmac_file "
		    "%s, %s", u->name, u->id, u->hmac_file, fp);
	}
}

/* ---- what -t checks beyond the files: as the start would find it ------ */

/* state_dir: a directory only its owner may write, or, not there yet, a
 * parent that exists and lets no one else create it first. */
static int
cfg_check_state_dir(const struct config *cfg, char *err, size_t errlen)
{
	char parent[SL_PATH_MAX], *slash;
	struct stat st;

	if (stat(cfg->state_dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			sl_seterr(err, errlen, "%s: state_dir %s: not a "
			    "directory", cfg->path, cfg->state_dir);
			return SL_ECONFIG;
		}
		if ((st.st_mode & 002) != 0) {
			sl_seterr(err, errlen, "%s: state_dir %s: writable by "
			    "others (mode %04o); fix with: chmod 700 %s",
			    cfg->path, cfg->state_dir,
			    (unsigned)(st.st_mode & 07777), cfg->state_dir);
			return SL_EPERM;
		}
	} else if (errno != ENOENT) {
		sl_seterr(err, errlen, "%s: state_dir %s: %s", cfg->path,
		    cfg->state_dir, strerror(errno));
		return SL_ESYS;
	}
	/* the parent: siglatchd makes state_dir there, or it is there */
	if (sl_strlcpy(parent, cfg->state_dir, sizeof(parent)) != 0)
		return SL_ETOOBIG;
	while ((slash = strrchr(parent, '/')) != NULL && slash[1] == '\0' &&
	    slash != parent)
		*slash = '\0';  /* trailing slashes */
	if ((slash = strrchr(parent, '/')) == NULL)
		snprintf(parent, sizeof(parent), ".");
	else
		slash[slash == parent ? 1 : 0] = '\0';
	if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
		sl_seterr(err, errlen, "%s: state_dir %s: its parent %s %s; "
		    "create it (mkdir -p %s)", cfg->path, cfg->state_dir,
		    parent, errno == ENOENT ? "does not exist" :
		    "is not a directory", parent);
		return SL_ECONFIG;
	}
	if ((st.st_mode & 002) != 0 && !(st.st_mode & S_ISVTX)) {
		sl_seterr(err, errlen, "%s: state_dir %s: its parent %s is "
		    "writable by others (mode %04o): anyone could replace "
		    "state_dir; fix with: chmod o-w %s", cfg->path,
		    cfg->state_dir, parent, (unsigned)(st.st_mode & 07777),
		    parent);
		return SL_EPERM;
	}
	if ((st.st_mode & 002) != 0 && stat(cfg->state_dir, &st) != 0) {
		sl_seterr(err, errlen, "%s: state_dir %s does not exist, and "
		    "anyone may create it in %s first; create it (mkdir -m "
		    "700 %s)", cfg->path, cfg->state_dir, parent,
		    cfg->state_dir);
		return SL_EPERM;
	}
	return 0;
}

/*
 * May uid:gid (with gid as its only group, as the runner starts scripts)
 * execute prog, and read script (NULL: none)?  Asked of the kernel in a
 * child that takes those ids.  0, or the errno of the first refusal with
 * *which 1 (prog) or 2 (script).
 */
static int
cfg_can_run(uid_t uid, gid_t gid, const char *prog, const char *script,
    int *which)
{
	pid_t pid;
	int st;

	*which = 0;
	fflush(NULL);
	if ((pid = fork()) < 0)
		return errno;
	if (pid == 0) {
		if (uid != geteuid() && (setgroups(1, &gid) != 0 ||
		    setresgid(gid, gid, gid) != 0 ||
		    setresuid(uid, uid, uid) != 0))
			_exit(1);
		if (faccessat(AT_FDCWD, prog, X_OK, AT_EACCESS) != 0)
			_exit(64 + (errno & 63));
		if (script != NULL &&
		    faccessat(AT_FDCWD, script, R_OK, AT_EACCESS) != 0)
			_exit(128 + (errno & 63));
		_exit(0);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return errno;
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 1)
		return EPERM;
	*which = WEXITSTATUS(st) >= 128 ? 2 : WEXITSTATUS(st) >= 64 ? 1 : 0;
	return WEXITSTATUS(st) & 63;
}

/* An action's command line, run by its run_as user: its program must be
 * executable, and the script it is given (an existing absolute path)
 * readable, by that user. */
static int
cfg_check_exec(const struct config *cfg, const struct cfg_action *a,
    const char *key, const char *cmd, int line, char *err, size_t errlen)
{
	char buf[SL_CMD_MAX], who[SL_NAME_MAX + 32], e[256];
	char *prog, *rest = NULL;
	struct stat st;
	uid_t uid = 0;
	gid_t gid = 0;
	int r, which;

	if (sl_strlcpy(buf, cmd, sizeof(buf)) != 0)
		return 0;
	prog = sl_trim(buf);
	if (prog[0] != '/')
		return 0;  /* refused by the runner */
	if (a->exec_split && (rest = strchr(prog, ' ')) != NULL) {
		*rest++ = '\0';
		rest += strspn(rest, " \t");
		if (rest[0] != '/' || stat(rest, &st) != 0 ||
		    !S_ISREG(st.st_mode))
			rest = NULL;
	}
	if (stat(prog, &st) != 0)
		return 0;  /* warned about by config_check_files */
	if (a->run_as[0] != '\0' &&
	    privsep_resolve(a->run_as, &uid, &gid, e, sizeof(e)) != 0) {
		sl_seterr(err, errlen, "%s:%d: [action:%s] key 'run_as': %s",
		    cfg->path, a->run_as_line, a->name, e);
		return SL_ECONFIG;
	}
	if (geteuid() != 0 && uid != geteuid())
		return 0;  /* only root can take another user's ids */
	if ((r = cfg_can_run(uid, gid, prog, rest, &which)) == 0)
		return 0;
	if (a->run_as[0] != '\0')
		snprintf(who, sizeof(who), "run_as %s (uid %u)", a->run_as,
		    (unsigned)uid);
	else
		snprintf(who, sizeof(who), "the runner (uid 0)");
	sl_seterr(err, errlen, "%s:%d: [action:%s] key '%s': %s cannot %s "
	    "%s: %s (each directory on the way needs x for it, e.g. "
	    "chmod 755; /etc/siglatch is 0700 after make install)", cfg->path,
	    line, a->name, key, who, which == 2 ? "read" : "execute",
	    which == 2 ? rest : prog, strerror(r));
	return SL_EPERM;
}

/* A file the start opens for writing (log_file, stats_file): if it is
 * there, a regular file; if not, in a directory that exists. */
static int
cfg_check_out_file(const struct config *cfg, const char *label,
    const char *key, const char *path, char *err, size_t errlen)
{
	char dir[SL_PATH_MAX], *slash;
	struct stat st;

	if (path[0] == '\0')
		return 0;
	if (stat(path, &st) == 0) {
		if (S_ISREG(st.st_mode))
			return 0;
		sl_seterr(err, errlen, "%s: %skey '%s': %s: not a regular "
		    "file", cfg->path, label, key, path);
		return SL_ECONFIG;
	}
	if (sl_strlcpy(dir, path, sizeof(dir)) != 0)
		return SL_ETOOBIG;
	if ((slash = strrchr(dir, '/')) == NULL)
		return 0;  /* relative: where siglatchd runs */
	slash[slash == dir ? 1 : 0] = '\0';
	errno = 0;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		sl_seterr(err, errlen, "%s: %skey '%s': directory %s: %s",
		    cfg->path, label, key, dir, errno != 0 ? strerror(errno) :
		    "not a directory");
		return SL_ECONFIG;
	}
	return 0;
}

/* The files the start opens for writing: log_file (each enabled server's
 * too), stats_file, and metrics_file when it names a directory. */
static int
cfg_check_out_files(const struct config *cfg, char *err, size_t errlen)
{
	unsigned i;
	int r;

	if ((r = cfg_check_out_file(cfg, "", "log_file", cfg->log_file, err,
	    errlen)) != 0 ||
	    (r = cfg_check_out_file(cfg, "", "stats_file", cfg->stats_file,
	    err, errlen)) != 0)
		return r;
	for (i = 0; i < cfg->nservers && i < SL_MAX_SERVERS; i++) {
		char label[SL_NAME_MAX + 16];

		if (!cfg->servers[i].enabled)
			continue;
		snprintf(label, sizeof(label), "[server:%s] ",
		    cfg->servers[i].name);
		if ((r = cfg_check_out_file(cfg, label, "log_file",
		    cfg->servers[i].log_file, err, errlen)) != 0)
			return r;
	}
	if (strchr(cfg->metrics_file, '/') != NULL &&
	    (r = cfg_check_out_file(cfg, "", "metrics_file",
	    cfg->metrics_file, err, errlen)) != 0)
		return r;
	return 0;
}

/* The actions enabled users may run and enabled servers offer; warns
 * (SL005) about each disabled user. */
static void
cfg_run_sets(const struct config *cfg, struct sl_idset *users_run,
    struct sl_idset *servers_run)
{
	unsigned i, j;

	memset(users_run, 0, sizeof(*users_run));
	memset(servers_run, 0, sizeof(*servers_run));
	for (i = 0; i < cfg->nservers && i < SL_MAX_SERVERS; i++)
		for (j = 0; cfg->servers[i].enabled &&
		    j < SL_MAX_ACTIONS / 32; j++)
			servers_run->w[j] |= cfg->servers[i].actions.w[j];
	for (i = 0; i < cfg->nusers && i < SL_MAX_USERS; i++) {
		const struct cfg_user *u = &cfg->users[i];

		if (!u->enabled) {
			log_msg(LOG_WARNING, SLC_CONFIG_WARN, "%s:%d: "
			    "[user:%s]: disabled (enabled = no): its knocks "
			    "are rejected (SL201, user disabled)", cfg->path,
			    u->line, u->name);
			continue;
		}
		for (j = 0; j < SL_MAX_ACTIONS / 32; j++)
			users_run->w[j] |= u->actions.w[j];
	}
}

int
config_check_start(const struct config *cfg, char *err, size_t errlen)
{
	struct sl_idset users_run, servers_run;
	unsigned i;
	int r;

	if ((r = cfg_check_state_dir(cfg, err, errlen)) != 0 ||
	    (r = cfg_check_out_files(cfg, err, errlen)) != 0)
		return r;
	cfg_run_sets(cfg, &users_run, &servers_run);
	for (i = 0; i < cfg->nactions && i < SL_MAX_ACTIONS; i++) {
		const struct cfg_action *a = &cfg->actions[i];

		if (!a->enabled || a->id < 0)
			continue;
		if (!idset_has(&users_run, (unsigned)a->id))
			log_msg(LOG_WARNING, SLC_CONFIG_WARN, "%s:%d: "
			    "[action:%s]: no enabled user may run it (none "
			    "lists it in actions)", cfg->path, a->line,
			    a->name);
		else if (!idset_has(&servers_run, (unsigned)a->id))
			log_msg(LOG_WARNING, SLC_CONFIG_WARN, "%s:%d: "
			    "[action:%s]: no enabled server offers it (none "
			    "lists it in actions)", cfg->path, a->line,
			    a->name);
		if ((r = cfg_check_exec(cfg, a, "constructor", a->constructor,
		    a->constructor_line, err, errlen)) != 0)
			return r;
		if (a->destructor[0] != '\0' &&
		    (r = cfg_check_exec(cfg, a, "destructor", a->destructor,
		    a->destructor_line, err, errlen)) != 0)
			return r;
	}
	return 0;
}

void
config_wipe_keys(struct config *cfg)
{
	unsigned i;

	for (i = 0; i < cfg->nservers && i < SL_MAX_SERVERS; i++) {
		EVP_PKEY_free(cfg->servers[i].priv);
		cfg->servers[i].priv = NULL;
	}
	for (i = 0; i < cfg->nusers && i < SL_MAX_USERS; i++)
		OPENSSL_cleanse(cfg->users[i].hmac_key,
		    sizeof(cfg->users[i].hmac_key));
	OPENSSL_cleanse(cfg->fleet.user, sizeof(cfg->fleet.user));
	OPENSSL_cleanse(cfg->fleet.password, sizeof(cfg->fleet.password));
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
