/*
 * profile.c - knocker's named profiles: knocker.conf and knocker.conf.d/.
 * One pass per file with libinih (our own line reader counts lines and
 * sees the [NAME] lines), small parse_* helpers, every value checked.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile.h"
#include "util.h"

enum {
	PK_HOST = 0, PK_PORT, PK_USER, PK_ACTION, PK_FORMAT, PK_ALLOW_IP,
	PK_SERVER_KEY, PK_HMAC_KEY, PK_BUNDLE, PK_WAIT, PK_TIMEOUT, PK_N
};
static const char *const profile_keys[PK_N] = {
	"host", "port", "user", "action", "format", "allow-ip",
	"server-key", "hmac-key", "bundle", "wait", "timeout",
};

struct pctx {
	struct profiles *ps;
	const char *src;
	char base[SL_PATH_MAX];         /* the file's directory */
	const char *buf;
	size_t len, pos;
	unsigned line;
	bool failed;
	char *err;
	size_t errlen;
	struct profile *cur;
	char line_buf[PROFILE_LINE_MAX + 1];
};

static void pfail(struct pctx *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "FILE:LINE: [NAME] key: message", once: the first error wins. */
static void
pfail(struct pctx *c, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->cur != NULL && key != NULL)
		sl_seterr(c->err, c->errlen, "%s:%u: [%s] %s: %s", c->src,
		    c->line, c->cur->name, key, msg);
	else if (key != NULL)
		sl_seterr(c->err, c->errlen, "%s:%u: %s: %s", c->src, c->line,
		    key, msg);
	else
		sl_seterr(c->err, c->errlen, "%s:%u: %s", c->src, c->line, msg);
}

bool
profile_valid_name(const char *s)
{
	size_t i;

	if (s[0] == '\0' || s[0] == '-' || s[0] == '.')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= PROFILE_NAME_MAX)
			return false;
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return false;
	}
	return true;
}

int
profile_config_path(char *out, size_t outlen, const char *given,
    bool *explicit_, char *err, size_t errlen)
{
	const char *e, *home;
	int n;

	*explicit_ = true;
	if (given != NULL || ((e = getenv("SIGLATCH_CONFIG")) != NULL &&
	    e[0] != '\0')) {
		if (given == NULL)
			given = getenv("SIGLATCH_CONFIG");
		if (sl_strlcpy(out, given, outlen) != 0) {
			sl_seterr(err, errlen, "path too long: %s", given);
			return SL_ETOOBIG;
		}
		return 0;
	}
	*explicit_ = false;
	if ((e = getenv("XDG_CONFIG_HOME")) != NULL && e[0] == '/')
		n = snprintf(out, outlen, "%s/siglatch/knocker.conf", e);
	else if ((home = getenv("HOME")) != NULL && home[0] == '/')
		n = snprintf(out, outlen, "%s/.config/siglatch/knocker.conf",
		    home);
	else {
		sl_seterr(err, errlen, "neither XDG_CONFIG_HOME nor HOME is an "
		    "absolute path; give --config FILE");
		return SL_EINVAL;
	}
	if (n < 0 || (size_t)n >= outlen) {
		sl_seterr(err, errlen, "configuration path too long");
		return SL_ETOOBIG;
	}
	return 0;
}

/* ---- values -------------------------------------------------------------- */

/* A path relative to the file's directory; "~/" is $HOME. */
static int
parse_path(struct pctx *c, const char *key, const char *v, char *out,
    size_t outlen)
{
	const char *home;
	int n;

	if (v[0] == '\0') {
		pfail(c, key, "empty path");
		return -1;
	}
	if (v[0] == '/')
		n = snprintf(out, outlen, "%s", v);
	else if (v[0] == '~' && v[1] == '/') {
		if ((home = getenv("HOME")) == NULL || home[0] != '/') {
			pfail(c, key, "'%s' needs HOME, which is not an absolute "
			    "path", v);
			return -1;
		}
		n = snprintf(out, outlen, "%s/%s", home, v + 2);
	} else
		n = snprintf(out, outlen, "%s/%s", c->base, v);
	if (n < 0 || (size_t)n >= outlen) {
		pfail(c, key, "path too long");
		return -1;
	}
	return 0;
}

/* host = NAME-OR-ADDRESS[, ...]: up to PROFILE_HOSTS_MAX of them. */
static int
parse_hosts(struct pctx *c, const char *key, const char *v)
{
	char tmp[PROFILE_LINE_MAX + 1], *s, *tok, *save = NULL;

	if (sl_strlcpy(tmp, v, sizeof(tmp)) != 0) {
		pfail(c, key, "too long");
		return -1;
	}
	for (s = tmp; (tok = strtok_r(s, ",", &save)) != NULL; s = NULL) {
		tok = sl_trim(tok);
		if (!client_valid_host(tok)) {
			pfail(c, key, "'%s' is not a host name or address", tok);
			return -1;
		}
		if (c->cur->nhosts == PROFILE_HOSTS_MAX) {
			pfail(c, key, "more than %d hosts", PROFILE_HOSTS_MAX);
			return -1;
		}
		sl_strlcpy(c->cur->hosts[c->cur->nhosts++], tok,
		    sizeof(c->cur->hosts[0]));
	}
	if (c->cur->nhosts == 0) {
		pfail(c, key, "no host given");
		return -1;
	}
	return 0;
}

/* user, action: a name ([A-Za-z0-9_.-]) or a decimal id in 0..max. */
static int
parse_id_or_name(struct pctx *c, const char *key, const char *v,
    uint32_t max, char *out, size_t outlen)
{
	long long n;

	if (isdigit((unsigned char)v[0])) {
		if (sl_parse_num(v, 0, max, &n) != 0) {
			pfail(c, key, "'%s' is not an id in 0..%u", v,
			    (unsigned)max);
			return -1;
		}
	} else if (!client_valid_name(v)) {
		pfail(c, key, "'%s' is not a name ([A-Za-z0-9_.-], 1-63) or an "
		    "id", v);
		return -1;
	}
	sl_strlcpy(out, v, outlen);
	return 0;
}

static int
parse_range(struct pctx *c, const char *key, const char *v, long long min,
    long long max, long long *out)
{
	if (sl_parse_num(v, min, max, out) != 0) {
		pfail(c, key, "'%s' is not a number in %lld..%lld", v, min, max);
		return -1;
	}
	return 0;
}

static int
pstore(struct pctx *c, int k, const char *key, const char *v)
{
	struct profile *p = c->cur;
	long long n;

	switch (k) {
	case PK_HOST:
		return parse_hosts(c, key, v);
	case PK_PORT:
		if (parse_range(c, key, v, 1, 65535, &n) != 0)
			return -1;
		p->port = (uint16_t)n;
		return 0;
	case PK_USER:
		return parse_id_or_name(c, key, v, CLIENT_USER_ID_MAX, p->user,
		    sizeof(p->user));
	case PK_ACTION:
		return parse_id_or_name(c, key, v, CLIENT_ACTION_ID_MAX,
		    p->action, sizeof(p->action));
	case PK_FORMAT:
		if (parse_range(c, key, v, 1, 2, &n) != 0)
			return -1;
		p->format = (int)n;
		return 0;
	case PK_ALLOW_IP:
		if (strcmp(v, "auto") == 0)
			p->addr_mode = PROFILE_ADDR_AUTO;
		else if (strcmp(v, "none") == 0)
			p->addr_mode = PROFILE_ADDR_NONE;
		else if (addr_parse(v, &p->allow_addr) == 0)
			p->addr_mode = PROFILE_ADDR_IP;
		else {
			pfail(c, key, "'%s' is not an IPv4 or IPv6 address, "
			    "'auto' or 'none'", v);
			return -1;
		}
		return 0;
	case PK_SERVER_KEY:
		return parse_path(c, key, v, p->server_key,
		    sizeof(p->server_key));
	case PK_HMAC_KEY:
		return parse_path(c, key, v, p->hmac_key, sizeof(p->hmac_key));
	case PK_BUNDLE:
		return parse_path(c, key, v, p->bundle, sizeof(p->bundle));
	case PK_WAIT:
		if (parse_range(c, key, v, 0, PROFILE_WAIT_MAX, &n) != 0)
			return -1;
		p->wait_s = (int)n;
		return 0;
	case PK_TIMEOUT:
		if (parse_range(c, key, v, 1, PROFILE_TIMEOUT_MAX, &n) != 0)
			return -1;
		p->timeout_s = (unsigned)n;
		return 0;
	}
	return -1;
}

static int
phandler(void *user, const char *section, const char *name,
    const char *value)
{
	struct pctx *c = user;
	int k;

	(void)section;  /* our reader tracks the stanza */
	if (c->failed)
		return 0;
	if (c->cur == NULL) {
		pfail(c, name, "outside a [NAME] stanza");
		return 0;
	}
	for (k = 0; k < PK_N; k++)
		if (strcmp(name, profile_keys[k]) == 0)
			break;
	if (k == PK_N) {
		pfail(c, name, "unknown key (known: host, port, user, action, "
		    "format, allow-ip, server-key, hmac-key, bundle, wait, "
		    "timeout)");
		return 0;
	}
	if (c->cur->keyline[k] != 0) {
		pfail(c, name, "given twice (first at line %u)",
		    c->cur->keyline[k]);
		return 0;
	}
	c->cur->keyline[k] = c->line;
	return pstore(c, k, name, value) == 0;
}

/* A "[NAME]" line: start a new profile. */
static void
psection(struct pctx *c, char *s)
{
	struct profiles *ps = c->ps;
	const struct profile *old;
	struct profile *v;
	size_t n = strlen(s);

	c->cur = NULL;
	if (n < 2 || s[n - 1] != ']') {
		pfail(c, NULL, "expected [NAME]");
		return;
	}
	s[n - 1] = '\0';
	s = sl_trim(s + 1);
	if (!profile_valid_name(s)) {
		pfail(c, NULL, "[%s]: a profile name is 1-63 of A-Z a-z 0-9 _ . "
		    "- and does not start with - or .", s);
		return;
	}
	if ((old = profile_find(ps, s)) != NULL) {
		pfail(c, NULL, "profile [%s] defined again (first at %s:%u)", s,
		    old->src, old->line);
		return;
	}
	if (ps->n == PROFILE_MAX) {
		pfail(c, NULL, "more than %d profiles", PROFILE_MAX);
		return;
	}
	if (ps->n == ps->cap) {
		size_t cap = ps->cap == 0 ? 8 : ps->cap * 2;

		if ((v = realloc(ps->v, cap * sizeof(*v))) == NULL) {
			pfail(c, NULL, "out of memory");
			return;
		}
		ps->v = v;
		ps->cap = cap;
	}
	c->cur = &ps->v[ps->n++];
	memset(c->cur, 0, sizeof(*c->cur));
	sl_strlcpy(c->cur->name, s, sizeof(c->cur->name));
	sl_strlcpy(c->cur->src, c->src, sizeof(c->cur->src));
	c->cur->line = c->line;
	c->cur->wait_s = -1;
}

/* ini_reader: one line, counted; [NAME] lines are handled here too. */
static char *
preader(char *str, int num, void *stream)
{
	struct pctx *c = stream;
	const char *p, *nl;
	char *s;
	size_t n;

	if (c->failed || c->pos >= c->len)
		return NULL;
	p = c->buf + c->pos;
	nl = memchr(p, '\n', c->len - c->pos);
	n = (size_t)((nl != NULL ? nl : c->buf + c->len) - p);
	c->pos += n + (nl != NULL);
	c->line++;
	if (n >= sizeof(c->line_buf) || n + 1 > (size_t)num) {
		pfail(c, NULL, "line too long (at most %d characters)",
		    PROFILE_LINE_MAX);
		return NULL;
	}
	if (memchr(p, '\0', n) != NULL) {
		pfail(c, NULL, "line contains a NUL byte");
		return NULL;
	}
	memcpy(c->line_buf, p, n);
	if (n > 0 && c->line_buf[n - 1] == '\r')
		n--;
	c->line_buf[n] = '\0';
	s = sl_trim(c->line_buf);
	if (s[0] == '[') {
		psection(c, s);
		if (c->failed)
			return NULL;
		/* inih sees a comment: the stanza is ours */
		str[0] = '#';
		str[1] = '\0';
		return str;
	}
	memcpy(str, c->line_buf, n + 1);
	return str;
}

int
profile_parse_buf(struct profiles *ps, const char *buf, size_t len,
    const char *src, char *err, size_t errlen)
{
	static char prefixes[] = "#;";
	struct pctx *c;
	const char *slash;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		sl_seterr(err, errlen, "%s: out of memory", src);
		return SL_ESYS;
	}
	c->ps = ps;
	c->src = src;
	c->buf = buf;
	c->len = len;
	c->err = err;
	c->errlen = errlen;
	if ((slash = strrchr(src, '/')) == NULL)
		sl_strlcpy(c->base, ".", sizeof(c->base));
	else if (slash == src)
		sl_strlcpy(c->base, "/", sizeof(c->base));
	else
		snprintf(c->base, sizeof(c->base), "%.*s", (int)(slash - src),
		    src);

	ini_allow_multiline = false;
	ini_allow_inline_comments = false;  /* a path may hold '#' or ';' */
	ini_start_comment_prefixes = prefixes;
	ini_allow_bom = false;
	ini_allow_no_value = false;
	ini_stop_on_first_error = true;
	ini_use_stack = true;
	ini_max_line = PROFILE_LINE_MAX + 2;

	rc = ini_parse_stream(preader, c, phandler, c);
	if (!c->failed && rc > 0) {
		c->line = (unsigned)rc;
		pfail(c, NULL, "expected 'key = value', '[NAME]' or a comment");
	} else if (!c->failed && rc < 0)
		pfail(c, NULL, "parser failed (%d)", rc);
	rc = c->failed ? SL_ECONFIG : 0;
	free(c);
	return rc;
}

/* Belongs to this user or root, writable by neither group nor others. */
static int
profile_check_owner(const char *path, const struct stat *st, char *err,
    size_t errlen)
{
	if (st->st_uid != getuid() && st->st_uid != 0) {
		sl_seterr(err, errlen, "%s belongs to uid %u, not to you or "
		    "root: refused", path, (unsigned)st->st_uid);
		return SL_EPERM;
	}
	if ((st->st_mode & 022) != 0) {
		sl_seterr(err, errlen, "%s is writable by group or others: "
		    "refused; fix with: chmod go-w %s", path, path);
		return SL_EPERM;
	}
	return 0;
}

static int
profile_load_file(struct profiles *ps, const char *path, bool must_exist,
    char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT && !must_exist)
			return 0;
		sl_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return SL_ESYS;
	}
	if (!S_ISREG(st.st_mode)) {
		sl_seterr(err, errlen, "%s: not a regular file", path);
		return SL_EINVAL;
	}
	if ((rc = profile_check_owner(path, &st, err, errlen)) != 0)
		return rc;
	if ((buf = malloc(PROFILE_FILE_MAX)) == NULL) {
		sl_seterr(err, errlen, "out of memory");
		return SL_ESYS;
	}
	rc = client_read_file(path, (uint8_t *)buf, PROFILE_FILE_MAX, &len, err,
	    errlen);
	if (rc == 0)
		rc = profile_parse_buf(ps, buf, len, path, err, errlen);
	free(buf);
	return rc;
}

static int
conf_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 &&
	    strcmp(d->d_name + n - 5, ".conf") == 0;
}

int
profile_load(struct profiles *ps, const char *path, bool must_exist,
    char *err, size_t errlen)
{
	char dir[SL_PATH_MAX], file[SL_PATH_MAX];
	struct dirent **ents = NULL;
	struct stat st;
	int i, n = 0, rc;

	if ((rc = profile_load_file(ps, path, must_exist, err, errlen)) != 0)
		return rc;
	if (snprintf(dir, sizeof(dir), "%s.d", path) >= (int)sizeof(dir)) {
		sl_seterr(err, errlen, "path too long: %s.d", path);
		return SL_ETOOBIG;
	}
	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		sl_seterr(err, errlen, "%s: %s", dir, strerror(errno));
		return SL_ESYS;
	}
	if (!S_ISDIR(st.st_mode)) {
		sl_seterr(err, errlen, "%s: not a directory", dir);
		return SL_EINVAL;
	}
	if ((rc = profile_check_owner(dir, &st, err, errlen)) != 0)
		return rc;
	if ((n = scandir(dir, &ents, conf_filter, alphasort)) < 0) {
		sl_seterr(err, errlen, "%s: %s", dir, strerror(errno));
		return SL_ESYS;
	}
	for (i = 0; i < n && rc == 0; i++) {
		if (snprintf(file, sizeof(file), "%s/%s", dir,
		    ents[i]->d_name) >= (int)sizeof(file)) {
			sl_seterr(err, errlen, "path too long: %s/%s", dir,
			    ents[i]->d_name);
			rc = SL_ETOOBIG;
		} else
			rc = profile_load_file(ps, file, true, err, errlen);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

const struct profile *
profile_find(const struct profiles *ps, const char *name)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (strcmp(ps->v[i].name, name) == 0)
			return &ps->v[i];
	return NULL;
}

void
profile_free(struct profiles *ps)
{
	free(ps->v);
	ps->v = NULL;
	ps->n = ps->cap = 0;
}

static int
fmt_add(char *out, size_t outlen, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fmt_add(char *out, size_t outlen, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out + *off, outlen - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outlen - *off)
		return SL_ETOOBIG;
	*off += (size_t)n;
	return 0;
}

int
profile_format(const struct profile *p, char *out, size_t outlen)
{
	char ip[SL_IPSTR_MAX];
	size_t off = 0;
	unsigned i;
	int rc;

	if (outlen == 0)
		return SL_ETOOBIG;
	out[0] = '\0';
	if ((rc = fmt_add(out, outlen, &off, "[%s]\n", p->name)) != 0)
		return rc;
	if (p->nhosts > 0) {
		rc = fmt_add(out, outlen, &off, "host = %s", p->hosts[0]);
		for (i = 1; rc == 0 && i < p->nhosts; i++)
			rc = fmt_add(out, outlen, &off, ", %s", p->hosts[i]);
		if (rc != 0 || (rc = fmt_add(out, outlen, &off, "\n")) != 0)
			return rc;
	}
	if (p->port != 0 && (rc = fmt_add(out, outlen, &off, "port = %u\n",
	    (unsigned)p->port)) != 0)
		return rc;
	if (p->user[0] != '\0' && (rc = fmt_add(out, outlen, &off,
	    "user = %s\n", p->user)) != 0)
		return rc;
	if (p->action[0] != '\0' && (rc = fmt_add(out, outlen, &off,
	    "action = %s\n", p->action)) != 0)
		return rc;
	if (p->format != 0 && (rc = fmt_add(out, outlen, &off,
	    "format = %d\n", p->format)) != 0)
		return rc;
	if (p->addr_mode == PROFILE_ADDR_IP)
		addr_to_str(&p->allow_addr, ip, sizeof(ip));
	if (p->addr_mode != PROFILE_ADDR_UNSET && (rc = fmt_add(out, outlen,
	    &off, "allow-ip = %s\n", p->addr_mode == PROFILE_ADDR_AUTO ?
	    "auto" : p->addr_mode == PROFILE_ADDR_NONE ? "none" : ip)) != 0)
		return rc;
	if (p->bundle[0] != '\0' && (rc = fmt_add(out, outlen, &off,
	    "bundle = %s\n", p->bundle)) != 0)
		return rc;
	if (p->server_key[0] != '\0' && (rc = fmt_add(out, outlen, &off,
	    "server-key = %s\n", p->server_key)) != 0)
		return rc;
	if (p->hmac_key[0] != '\0' && (rc = fmt_add(out, outlen, &off,
	    "hmac-key = %s\n", p->hmac_key)) != 0)
		return rc;
	if (p->wait_s >= 0 && (rc = fmt_add(out, outlen, &off,
	    "wait = %d\n", p->wait_s)) != 0)
		return rc;
	if (p->timeout_s != 0 && (rc = fmt_add(out, outlen, &off,
	    "timeout = %u\n", p->timeout_s)) != 0)
		return rc;
	return 0;
}

int
profile_check_key(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		sl_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return SL_ESYS;
	}
	if (!S_ISREG(st.st_mode)) {
		sl_seterr(err, errlen, "%s: not a regular file", path);
		return SL_EINVAL;
	}
	if (st.st_uid != getuid() && st.st_uid != 0) {
		sl_seterr(err, errlen, "%s belongs to uid %u, not to you or "
		    "root: refused", path, (unsigned)st.st_uid);
		return SL_EPERM;
	}
	if ((st.st_mode & 077) != 0) {
		sl_seterr(err, errlen, "%s is mode %04o, open to group or "
		    "others: refused; fix with: chmod 600 %s", path,
		    (unsigned)(st.st_mode & 07777), path);
		return SL_EPERM;
	}
	return 0;
}
