/*
 * cfgkeys.c - the configuration's keys: one table per section kind saying
 * where each key is stored, of what type and in what range; the defaults
 * of the top level and of each section; and how a value of each type is
 * checked and stored (cfg_set_key, one store function per type), including
 * the address of the [fleet] store.
 *
 * The reader (config.c) hands each "name = value" line to cfg_set_key; the
 * rules that need more than one key wait for cfgcheck.c.
 * docs/CONFIG.md and man/siglatchd.conf.5 document these tables (t_man.sh
 * compares them).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "util.h"

enum cfg_type {
	CT_STR,     /* char[size] */
	CT_IP,      /* char[size] holding an IPv4/IPv6 literal or "" */
	CT_USER,    /* char[size] holding a user name; "" only if min == 0 */
	CT_BOOL,    /* bool */
	CT_U16,     /* uint16_t in [min, max] */
	CT_U32,     /* uint32_t in [min, max] */
	CT_INT,     /* int in [min, max] */
	CT_CIDRS,   /* struct sl_cidr_list */
	CT_NAMES,   /* list of action names, resolved after parsing */
	CT_IGNORED, /* accepted for siglatch 1.0 compatibility, unused */
	CT_NTYPES
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t off, size;
	long long min, max;
};

#define K(st, f, t, lo, hi) \
	{ #f, t, offsetof(st, f), sizeof(((st *)0)->f), lo, hi }

static const struct cfg_key cfg_top_keys[] = {
	K(struct config, log_file, CT_STR, 0, 0),
	K(struct config, priv_key_path, CT_STR, 0, 0),
	K(struct config, timestamp_window, CT_U32, 1, 3600),
	K(struct config, state_dir, CT_STR, 0, 0),
	K(struct config, script_timeout, CT_U32, 1, 86400),
	K(struct config, max_scripts, CT_U32, 1, SL_MAX_SCRIPTS),
	K(struct config, replay_cache_size, CT_U32, 16, 1048576),
	K(struct config, run_as, CT_USER, 1, 0),
	K(struct config, ratelimit_source_budget, CT_U32, 1, 100000),
	K(struct config, ratelimit_prefix_budget, CT_U32, 1, 1000000),
	K(struct config, ratelimit_window, CT_U32, 1, 3600),
	K(struct config, ratelimit_penalty, CT_U32, 1, 86400),
	K(struct config, ratelimit_penalty_max, CT_U32, 1, 604800),
	K(struct config, ratelimit_good_time, CT_U32, 0, 86400),
	K(struct config, max_decrypts_per_sec, CT_U32, 0, 1000000),
	K(struct config, ratelimit_table_size, CT_U32, 64, 16777216),
	K(struct config, dup_cache_size, CT_U32, 0, 16777216),
	K(struct config, stats_file, CT_STR, 0, 0),
	K(struct config, stats_interval, CT_U32, 0, 3600),
	K(struct config, metrics_file, CT_STR, 0, 0),
	K(struct config, log_format, CT_STR, 0, 0),
	K(struct config, workers, CT_U32, 0, 64),
	K(struct config, max_grants, CT_U32, 1, 65536),
	K(struct config, grant_max_lifetime, CT_U32, 1, 2592000),
	K(struct config, revoke_on_exit, CT_BOOL, 0, 0),
	K(struct config, kernel_filter, CT_BOOL, 0, 0),
	K(struct config, ratelimit_user_budget, CT_U32, 1, 100000),
	K(struct config, pid_file, CT_STR, 0, 0),
};

static const struct cfg_key cfg_server_keys[] = {
	K(struct cfg_server, enabled, CT_BOOL, 0, 0),
	K(struct cfg_server, port, CT_U16, 1, 65535),
	K(struct cfg_server, bind_ip, CT_IP, 0, 0),
	K(struct cfg_server, secure, CT_BOOL, 0, 0),
	K(struct cfg_server, priv_key_path, CT_STR, 0, 0),
	{ "actions", CT_NAMES, 0, 0, 0, 0 },
	K(struct cfg_server, logging, CT_BOOL, 0, 0),
	K(struct cfg_server, log_file, CT_STR, 0, 0),
	K(struct cfg_server, allowed_ips, CT_CIDRS, 0, 0),
	{ "deaddrops", CT_IGNORED, 0, 0, 0, 0 },
	K(struct cfg_server, format1, CT_BOOL, 0, 0),
	K(struct cfg_server, format2, CT_BOOL, 0, 0),
	K(struct cfg_server, receipt, CT_BOOL, 0, 0),
	K(struct cfg_server, grant_named_address, CT_BOOL, 0, 0),
	K(struct cfg_server, require_named_address, CT_BOOL, 0, 0),
};

static const struct cfg_key cfg_action_keys[] = {
	K(struct cfg_action, id, CT_INT, 0, 255),
	K(struct cfg_action, enabled, CT_BOOL, 0, 0),
	K(struct cfg_action, constructor, CT_STR, 0, 0),
	K(struct cfg_action, destructor, CT_STR, 0, 0),
	K(struct cfg_action, keepalive_interval, CT_U32, 0, 604800),
	K(struct cfg_action, rerun_on_extend, CT_BOOL, 0, 0),
	K(struct cfg_action, exec_split, CT_BOOL, 0, 0),
	K(struct cfg_action, require_ascii, CT_BOOL, 0, 0),
	K(struct cfg_action, discard_payload, CT_BOOL, 0, 0),
	K(struct cfg_action, allowed_ips, CT_CIDRS, 0, 0),
	K(struct cfg_action, run_as, CT_USER, 0, 0),
	K(struct cfg_action, grant_named_address, CT_BOOL, 0, 0),
	K(struct cfg_action, fleet, CT_BOOL, 0, 0),
};

static const struct cfg_key cfg_user_keys[] = {
	K(struct cfg_user, id, CT_INT, 0, 65535),
	K(struct cfg_user, enabled, CT_BOOL, 0, 0),
	K(struct cfg_user, key_file, CT_STR, 0, 0),
	K(struct cfg_user, hmac_file, CT_STR, 0, 0),
	{ "actions", CT_NAMES, 0, 0, 0, 0 },
	K(struct cfg_user, allowed_ips, CT_CIDRS, 0, 0),
};

static const struct cfg_key cfg_fleet_keys[] = {
	K(struct cfg_fleet, store, CT_STR, 0, 0),
	K(struct cfg_fleet, password_file, CT_STR, 0, 0),
	K(struct cfg_fleet, name, CT_STR, 0, 0),
	K(struct cfg_fleet, prefix, CT_STR, 0, 0),
	K(struct cfg_fleet, on_store_down, CT_STR, 0, 0),
	K(struct cfg_fleet, timeout_ms, CT_U32, 50, 10000),
};

#undef K

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

static const struct {
	const char *name;
	const struct cfg_key *keys;
	size_t nkeys;
} cfg_kinds[CK_NKINDS] = {
	[CK_TOP] = { "", cfg_top_keys, NKEYS(cfg_top_keys) },
	[CK_SERVER] = { "server", cfg_server_keys, NKEYS(cfg_server_keys) },
	[CK_ACTION] = { "action", cfg_action_keys, NKEYS(cfg_action_keys) },
	[CK_USER] = { "user", cfg_user_keys, NKEYS(cfg_user_keys) },
	[CK_DEADDROP] = { "deaddrop", NULL, 0 },
	[CK_FLEET] = { "fleet", cfg_fleet_keys, NKEYS(cfg_fleet_keys) },
};

_Static_assert(NKEYS(cfg_top_keys) <= CFG_KEYS_MAX, "CFG_KEYS_MAX");
_Static_assert(NKEYS(cfg_server_keys) <= CFG_KEYS_MAX, "CFG_KEYS_MAX");
_Static_assert(NKEYS(cfg_action_keys) <= CFG_KEYS_MAX, "CFG_KEYS_MAX");
_Static_assert(NKEYS(cfg_user_keys) <= CFG_KEYS_MAX, "CFG_KEYS_MAX");
_Static_assert(NKEYS(cfg_fleet_keys) <= CFG_KEYS_MAX, "CFG_KEYS_MAX");

const char *
cfg_kind_name(enum cfg_kind kind)
{
	return cfg_kinds[kind].name;
}

void
cfg_label(char *out, size_t outlen, enum cfg_kind kind, const char *name)
{
	snprintf(out, outlen, "%s:%s", cfg_kinds[kind].name, name);
}

static int
cfg_key_index(enum cfg_kind kind, const char *name)
{
	size_t i;

	for (i = 0; i < cfg_kinds[kind].nkeys; i++)
		if (strcmp(cfg_kinds[kind].keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
cfg_keyline(const struct cfg_sect *s, enum cfg_kind kind, const char *name,
    int fallback)
{
	int i = cfg_key_index(kind, name);

	return i >= 0 && s->keyline[i] > 0 ? s->keyline[i] : fallback;
}

/* ---- defaults ---------------------------------------------------------- */

void
cfg_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->timestamp_window = 120;
	sl_strlcpy(cfg->state_dir, "/var/lib/siglatch", sizeof(cfg->state_dir));
	cfg->script_timeout = 30;
	cfg->max_scripts = 16;
	cfg->replay_cache_size = 65536;
	sl_strlcpy(cfg->run_as, "siglatch", sizeof(cfg->run_as));
	cfg->ratelimit_source_budget = 20;
	cfg->ratelimit_prefix_budget = 200;
	cfg->ratelimit_window = 10;
	cfg->ratelimit_penalty = 10;
	cfg->ratelimit_penalty_max = 600;
	cfg->ratelimit_good_time = 600;
	cfg->max_decrypts_per_sec = 2000;
	cfg->ratelimit_table_size = 65536;
	cfg->dup_cache_size = 65536;
	cfg->stats_interval = 5;
	sl_strlcpy(cfg->log_format, "text", sizeof(cfg->log_format));
	cfg->max_grants = 1024;
	cfg->grant_max_lifetime = 86400;
	cfg->kernel_filter = true;
	cfg->ratelimit_user_budget = 20;
	sl_strlcpy(cfg->fleet.prefix, "siglatch:", sizeof(cfg->fleet.prefix));
	sl_strlcpy(cfg->fleet.on_store_down, "refuse",
	    sizeof(cfg->fleet.on_store_down));
	cfg->fleet.timeout_ms = 500;
	memset(cfg->action_by_id, 0xff, sizeof(cfg->action_by_id));
	memset(cfg->user_by_id, 0xff, sizeof(cfg->user_by_id));
}

void
cfg_server_defaults(struct cfg_server *s)
{
	s->enabled = true;
	s->port = 50000;
	s->secure = true;
	s->logging = true;
	s->format1 = true;
	s->format2 = true;
}

void
cfg_action_defaults(struct cfg_action *a)
{
	a->id = -1;
	a->enabled = true;
	a->exec_split = true;
}

void
cfg_user_defaults(struct cfg_user *u)
{
	u->id = -1;
	u->enabled = false;
}

/* ---- storing a value, by type ------------------------------------------ */

/*
 * Each checks value for key k (named name, as the line spells it) and
 * stores it in field, the place k->off points at in the section's struct.
 * 0, or -1 with the error recorded at the current line.
 */
typedef int cfg_put_fn(struct cfg_ctx *c, const struct cfg_key *k,
    const char *name, const char *value, void *field);

/*
 * A user name as useradd(8) takes it: A-Z a-z 0-9 _ . -, not starting with
 * '-', optionally ending in '$'.  Whether it exists is checked at start
 * (privsep_config_ids), not here: parsing does no system lookups.
 */
static bool
cfg_valid_user(const char *s)
{
	size_t n = strlen(s);

	if (n > 0 && s[n - 1] == '$')
		n--;
	return n > 0 && s[0] != '-' && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static int
cfg_put_str(struct cfg_ctx *c, const struct cfg_key *k, const char *name,
    const char *value, void *field)
{
	if (sl_strlcpy(field, value, k->size) != 0) {
		cfg_fail(c, c->line, c->label, name, "value too long "
		    "(at most %zu characters)", k->size - 1);
		return -1;
	}
	return 0;
}

static int
cfg_put_ip(struct cfg_ctx *c, const struct cfg_key *k, const char *name,
    const char *value, void *field)
{
	uint8_t ipbuf[16];

	if (*value != '\0' && inet_pton(AF_INET, value, ipbuf) != 1 &&
	    inet_pton(AF_INET6, value, ipbuf) != 1) {
		cfg_fail(c, c->line, c->label, name, "'%.*s' is not an "
		    "IPv4 or IPv6 address", CFG_SHOW, value);
		return -1;
	}
	return cfg_put_str(c, k, name, value, field);
}

static int
cfg_put_user(struct cfg_ctx *c, const struct cfg_key *k, const char *name,
    const char *value, void *field)
{
	if (*value == '\0' && k->min > 0) {
		cfg_fail(c, c->line, c->label, name, "must name a user");
		return -1;
	}
	if (*value != '\0' && !cfg_valid_user(value)) {
		cfg_fail(c, c->line, c->label, name, "'%.*s' is not a "
		    "user name (A-Z a-z 0-9 _ . -, not starting with "
		    "'-')", CFG_SHOW, value);
		return -1;
	}
	return cfg_put_str(c, k, name, value, field);
}

static int
cfg_put_bool(struct cfg_ctx *c, const struct cfg_key *k, const char *name,
    const char *value, void *field)
{
	bool b;

	(void)k;
	if (sl_parse_bool(value, &b) != 0) {
		cfg_fail(c, c->line, c->label, name, "'%.*s' is not a "
		    "boolean (use yes or no)", CFG_SHOW, value);
		return -1;
	}
	memcpy(field, &b, sizeof(b));
	return 0;
}

/* CT_U16, CT_U32 and CT_INT */
static int
cfg_put_num(struct cfg_ctx *c, const struct cfg_key *k, const char *name,
    const char *value, void *field)
{
	long long v = 0;
	int rc;

	if ((rc = sl_parse_num(value, k->min, k->max, &v)) != 0) {
		cfg_fail(c, c->line, c->label, name, "'%.*s' is %s "
		    "(allowed: %lld to %lld)", CFG_SHOW, value,
		    rc == SL_ETOOBIG ? "out of range" : "not a number",
		    k->min, k->max);
		return -1;
	}
	if (k->type == CT_U16) {
		uint16_t x = (uint16_t)v;

		memcpy(field, &x, sizeof(x));
	} else if (k->type == CT_U32) {
		uint32_t x = (uint32_t)v;

		memcpy(field, &x, sizeof(x));
	} else {
		int x = (int)v;

		memcpy(field, &x, sizeof(x));
	}
	return 0;
}

static int
cfg_put_cidrs(struct cfg_ctx *c, const struct cfg_key *k, const char *name,
    const char *value, void *field)
{
	char bad[SL_IPSTR_MAX + 8];
	int rc;

	(void)k;
	rc = addr_parse_list(value, field, bad, sizeof(bad));
	if (rc == SL_ETOOBIG)
		cfg_fail(c, c->line, c->label, name, "more than %d "
		    "addresses or ranges", SL_MAX_CIDRS);
	else if (rc != 0 && bad[0] == '\0')
		cfg_fail(c, c->line, c->label, name, "empty item in "
		    "list");
	else if (rc != 0)
		cfg_fail(c, c->line, c->label, name, "'%s' is not an "
		    "IPv4/IPv6 address or CIDR range", bad);
	return rc != 0 ? -1 : 0;
}

/* `actions`: kept as written until every [action:NAME] is known */
static int
cfg_put_names(struct cfg_ctx *c, const struct cfg_key *k, const char *name,
    const char *value, void *field)
{
	(void)k;
	(void)field;
	if ((c->cur->names = strdup(value)) == NULL) {
		cfg_fail(c, c->line, c->label, name, "out of memory");
		return -1;
	}
	return 0;
}

static int
cfg_put_ignored(struct cfg_ctx *c, const struct cfg_key *k, const char *name,
    const char *value, void *field)
{
	(void)c;
	(void)k;
	(void)name;
	(void)value;
	(void)field;
	return 0;
}

static cfg_put_fn *const cfg_put[CT_NTYPES] = {
	[CT_STR] = cfg_put_str,
	[CT_IP] = cfg_put_ip,
	[CT_USER] = cfg_put_user,
	[CT_BOOL] = cfg_put_bool,
	[CT_U16] = cfg_put_num,
	[CT_U32] = cfg_put_num,
	[CT_INT] = cfg_put_num,
	[CT_CIDRS] = cfg_put_cidrs,
	[CT_NAMES] = cfg_put_names,
	[CT_IGNORED] = cfg_put_ignored,
};

int
cfg_set_key(struct cfg_ctx *c, const char *name, const char *value)
{
	const struct cfg_key *k;
	int i, prev;

	if ((i = cfg_key_index(c->kind, name)) < 0) {
		cfg_fail(c, c->line, c->label, name, "unknown key");
		return -1;
	}
	if ((prev = c->cur->keyline[i]) > 0) {
		cfg_fail(c, c->line, c->label, name, "given twice in one "
		    "section (first at line %d)", prev);
		return -1;
	}
	c->cur->keyline[i] = c->line;
	k = &cfg_kinds[c->kind].keys[i];
	return cfg_put[k->type](c, k, name, value, (char *)c->base + k->off);
}

/* ---- [fleet] store ----------------------------------------------------- */

/* unix:/PATH[?db=DB]; p is what follows "unix:" (a copy, cut here). */
static int
cfg_fleet_unix(struct cfg_fleet *f, char *p, const char **why)
{
	char *q;
	long long v;

	if ((q = strchr(p, '?')) != NULL) {
		*q++ = '\0';
		if (strncmp(q, "db=", 3) != 0 ||
		    sl_parse_num(q + 3, 0, 1000, &v) != 0) {
			*why = "expected unix:/PATH or unix:/PATH?db=N "
			    "(N 0 to 1000)";
			return -1;
		}
		f->db = (uint32_t)v;
	}
	if (p[0] != '/' || strlen(p) >= 108) {
		*why = "the socket path must be absolute and shorter "
		    "than 108 characters";
		return -1;
	}
	f->unix_sock = true;
	sl_strlcpy(f->host, p, sizeof(f->host));
	return 0;
}

/* HOST[:PORT] of redis://, HOST a name, an IPv4 address or [an IPv6
 * address]; p is a copy, cut here. */
static int
cfg_fleet_host(struct cfg_fleet *f, char *p, const char **why)
{
	char *end, *q;
	long long v;

	if (*p == '[') {
		if ((end = strchr(p, ']')) == NULL) {
			*why = "unclosed '[' around an IPv6 address";
			return -1;
		}
		*end++ = '\0';
		p++;
		q = *end == ':' ? end + 1 : NULL;
		if (*end != '\0' && *end != ':') {
			*why = "unexpected text after ']'";
			return -1;
		}
	} else if ((q = strchr(p, ':')) != NULL) {
		*q++ = '\0';
	}
	if (q != NULL) {
		if (sl_parse_num(q, 1, 65535, &v) != 0) {
			*why = "the port must be a number from 1 to 65535";
			return -1;
		}
		f->port = (uint16_t)v;
	}
	if (*p == '\0' || strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789.-:") != strlen(p)) {
		*why = "expected a host name or address";
		return -1;
	}
	sl_strlcpy(f->host, p, sizeof(f->host));
	return 0;
}

/*
 * The store's address: redis://HOST[:PORT][/DB] (HOST a name, an IPv4
 * address or [an IPv6 address]) or unix:/PATH[?db=DB].
 */
int
cfg_fleet_store(struct cfg_fleet *f, const char **why)
{
	char buf[SL_PATH_MAX], *p, *q;
	long long v;

	f->port = 6379;
	f->db = 0;
	if (sl_strlcpy(buf, f->store, sizeof(buf)) != 0) {
		*why = "too long";
		return -1;
	}
	if (strncmp(buf, "unix:", 5) == 0)
		return cfg_fleet_unix(f, buf + 5, why);
	if (strncmp(buf, "redis://", 8) != 0) {
		*why = "expected redis://HOST[:PORT][/DB] or unix:/PATH[?db=N] "
		    "(rediss:// TLS is not supported)";
		return -1;
	}
	p = buf + 8;
	if ((q = strchr(p, '/')) != NULL) {
		*q++ = '\0';
		if (*q != '\0') {
			if (sl_parse_num(q, 0, 1000, &v) != 0) {
				*why = "the database after '/' must be a "
				    "number from 0 to 1000";
				return -1;
			}
			f->db = (uint32_t)v;
		}
	}
	if (strchr(p, '@') != NULL) {
		*why = "no credentials in the address (use password_file)";
		return -1;
	}
	return cfg_fleet_host(f, p, why);
}
