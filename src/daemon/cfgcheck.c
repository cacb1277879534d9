/*
 * cfgcheck.c - the configuration's rules across keys and sections, checked
 * once the whole file is read (cfg_check): the top-level keys that depend
 * on each other, each [server:NAME] (enabled ones need a key and a bind of
 * their own), each [action:NAME] and [user:NAME] (ids unique, what an
 * enabled one needs), the [fleet] section and the actions shared with it;
 * `actions` lists are resolved to ids here and the id lookups built.
 *
 * Nothing here touches the file system: the files the configuration names
 * are cfgfiles.c's.  Errors name the line of the key at fault (else of its
 * section), as config.c's cfg_fail formats them.
 */
#include <arpa/inet.h>
#include <string.h>
#include <unistd.h>

#include "config_int.h"
#include "log.h"
#include "util.h"

/* Would a and b bind the same address and port? */
static bool
cfg_same_bind(const struct cfg_server *a, const struct cfg_server *b)
{
	uint8_t x[16] = { 0 }, y[16] = { 0 };
	static const uint8_t zero[16];
	int fx, fy;

	if (a->port != b->port)
		return false;
	if (a->bind_ip[0] == '\0' || b->bind_ip[0] == '\0')
		return true;            /* "" takes every address */
	fx = inet_pton(AF_INET, a->bind_ip, x) == 1 ? AF_INET : AF_INET6;
	fy = inet_pton(AF_INET, b->bind_ip, y) == 1 ? AF_INET : AF_INET6;
	if (fx == AF_INET6)
		inet_pton(AF_INET6, a->bind_ip, x);
	if (fy == AF_INET6)
		inet_pton(AF_INET6, b->bind_ip, y);
	if (fx != fy)
		return false;
	/* equal, or one of them is the wildcard of that family */
	return memcmp(x, y, 16) == 0 || memcmp(x, zero, 16) == 0 ||
	    memcmp(y, zero, 16) == 0;
}

static int
cfg_find_action(const struct config *cfg, const char *name)
{
	unsigned i;

	for (i = 0; i < cfg->nactions; i++)
		if (strcmp(cfg->actions[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Resolve a comma-separated list of action names into *set. */
static int
cfg_resolve_actions(struct cfg_ctx *c, const struct cfg_sect *s,
    enum cfg_kind kind, const char *secname, struct sl_idset *set)
{
	char label[SL_NAME_MAX + 16], item[CFG_LINE_MAX];
	const char *p = s->names;
	int line = cfg_keyline(s, kind, "actions", 0);

	memset(set, 0, sizeof(*set));
	if (p == NULL)
		return 0;
	cfg_label(label, sizeof(label), kind, secname);
	p += strspn(p, " \t");
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		int a;

		memcpy(item, p, n);             /* n < CFG_LINE_MAX: one line */
		item[n] = '\0';
		sl_trim(item);
		if (item[0] == '\0') {
			cfg_fail(c, line, label, "actions", "empty item in list");
			return -1;
		}
		if ((a = cfg_find_action(c->cfg, item)) < 0) {
			cfg_fail(c, line, label, "actions", "no [action:%.*s] "
			    "section", CFG_SHOW, item);
			return -1;
		}
		if (c->cfg->actions[a].id < 0) {
			cfg_fail(c, line, label, "actions", "[action:%s] "
			    "(line %d) has no id", item, c->cfg->actions[a].line);
			return -1;
		}
		idset_add(set, (unsigned)c->cfg->actions[a].id);
		p += n;
		if (*p == ',') {
			p++;
			p += strspn(p, " \t");
			if (*p == '\0') {
				cfg_fail(c, line, label, "actions", "empty "
				    "item in list");
				return -1;
			}
		}
	}
	return 0;
}

/* The i-th [server:NAME]: its key's line and its actions, and, enabled,
 * what it needs to listen. */
static int
cfg_check_server(struct cfg_ctx *c, unsigned i)
{
	struct config *cfg = c->cfg;
	struct cfg_server *s = &cfg->servers[i];
	const struct cfg_sect *cs = &c->servers[i];
	char label[SL_NAME_MAX + 16];
	unsigned j;

	cfg_label(label, sizeof(label), CK_SERVER, s->name);
	if (s->priv_key_path[0] != '\0')
		s->priv_key_line = cfg_keyline(cs, CK_SERVER, "priv_key_path",
		    s->line);
	else
		s->priv_key_line = cfg_keyline(&c->top, CK_TOP,
		    "priv_key_path", 0);
	if (cfg_resolve_actions(c, cs, CK_SERVER, s->name, &s->actions) != 0)
		return -1;
	if (!s->enabled)
		return 0;
	if (!s->secure) {
		cfg_fail(c, cfg_keyline(cs, CK_SERVER, "secure", s->line),
		    label, "secure", "siglatchd has no unauthenticated mode "
		    "(set secure = yes, or enabled = no)");
		return -1;
	}
	if (!s->format1 && !s->format2) {
		cfg_fail(c, cfg_keyline(cs, CK_SERVER, "format2", s->line),
		    label, "format2", "format1 and format2 are both off: the "
		    "server would accept nothing (turn one on, or set "
		    "enabled = no)");
		return -1;
	}
	if (s->priv_key_path[0] == '\0' && cfg->priv_key_path[0] == '\0') {
		cfg_fail(c, s->line, label, NULL, "no priv_key_path "
		    "(set one here or at the top level)");
		return -1;
	}
	for (j = 0; j < i; j++) {
		const struct cfg_server *o = &cfg->servers[j];

		if (o->enabled && cfg_same_bind(s, o)) {
			cfg_fail(c, cfg_keyline(cs, CK_SERVER, "port",
			    s->line), label, NULL, "same bind_ip and "
			    "port (%u) as [server:%s] at line %d",
			    s->port, o->name, o->line);
			return -1;
		}
	}
	return 0;
}

static int
cfg_check_servers(struct cfg_ctx *c)
{
	struct config *cfg = c->cfg;
	unsigned i, nenabled = 0;

	for (i = 0; i < cfg->nservers; i++) {
		if (cfg_check_server(c, i) != 0)
			return -1;
		if (cfg->servers[i].enabled)
			nenabled++;
	}
	if (nenabled == 0) {
		if (cfg->nservers > 0)
			cfg_fail(c, cfg->servers[0].line, NULL, NULL, "no "
			    "[server:NAME] section is enabled");
		else
			cfg_fail(c, c->line > 0 ? c->line : 1, NULL, NULL,
			    "no [server:NAME] section");
		return -1;
	}
	return 0;
}

static int
cfg_check_actions(struct cfg_ctx *c)
{
	struct config *cfg = c->cfg;
	char label[SL_NAME_MAX + 16];
	unsigned i;

	for (i = 0; i < cfg->nactions; i++) {
		struct cfg_action *a = &cfg->actions[i];

		cfg_label(label, sizeof(label), CK_ACTION, a->name);
		a->run_as_line = cfg_keyline(&c->actions[i], CK_ACTION,
		    "run_as", 0);
		a->constructor_line = cfg_keyline(&c->actions[i], CK_ACTION,
		    "constructor", a->line);
		a->destructor_line = cfg_keyline(&c->actions[i], CK_ACTION,
		    "destructor", a->line);
		if (a->id >= 0 && cfg->action_by_id[a->id] >= 0) {
			const struct cfg_action *o =
			    &cfg->actions[cfg->action_by_id[a->id]];

			cfg_fail(c, cfg_keyline(&c->actions[i], CK_ACTION,
			    "id", a->line), label, "id", "id %d is already "
			    "used by [action:%s] at line %d", a->id, o->name,
			    o->line);
			return -1;
		}
		if (a->id >= 0)
			cfg->action_by_id[a->id] = (int16_t)i;
		if (a->enabled && a->id < 0) {
			cfg_fail(c, a->line, label, NULL, "an enabled action "
			    "needs an id (or set enabled = no)");
			return -1;
		}
		if (a->enabled && a->constructor[0] == '\0') {
			cfg_fail(c, a->line, label, NULL, "an enabled action "
			    "needs a constructor (or set enabled = no)");
			return -1;
		}
		/* 1.0 accepted both keys and did nothing with them: an
		 * old config loads, and is told what will happen now */
		if (a->enabled && a->destructor[0] != '\0' &&
		    a->keepalive_interval == 0)
			log_msg(LOG_WARNING, SLC_CONFIG_WARN, "%s:%d: [%s] key "
			    "'destructor': never runs, keepalive_interval is 0 "
			    "(no grant is kept)", c->file, cfg_keyline(
			    &c->actions[i], CK_ACTION, "destructor", a->line),
			    label);
		else if (a->enabled && action_is_timed(a) &&
		    a->keepalive_interval > cfg->grant_max_lifetime)
			log_msg(LOG_WARNING, SLC_CONFIG_WARN, "%s:%d: [%s] key "
			    "'keepalive_interval': %u is more than "
			    "grant_max_lifetime (%u): grants end at %u s",
			    c->file, cfg_keyline(&c->actions[i], CK_ACTION,
			    "keepalive_interval", a->line), label,
			    a->keepalive_interval, cfg->grant_max_lifetime,
			    cfg->grant_max_lifetime);
	}
	return 0;
}

static int
cfg_check_top(struct cfg_ctx *c)
{
	struct config *cfg = c->cfg;
	int line;

	cfg->run_as_line = cfg_keyline(&c->top, CK_TOP, "run_as", 0);
	if (strcmp(cfg->log_format, "json") == 0)
		cfg->log_json = true;
	else if (strcmp(cfg->log_format, "text") != 0) {
		cfg_fail(c, cfg_keyline(&c->top, CK_TOP, "log_format", 1), NULL,
		    "log_format", "'%.*s': expected text or json", CFG_SHOW,
		    cfg->log_format);
		return -1;
	}
	if (cfg->metrics_file[0] != '\0') {
		size_t n = strlen(cfg->metrics_file);

		line = cfg_keyline(&c->top, CK_TOP, "metrics_file", 1);
		if (cfg->metrics_file[n - 1] == '/' ||
		    strcmp(cfg->metrics_file, ".") == 0 ||
		    strcmp(cfg->metrics_file, "..") == 0) {
			cfg_fail(c, line, NULL, "metrics_file", "'%.*s' is a "
			    "directory; name a file (e.g. siglatchd.prom)",
			    CFG_SHOW, cfg->metrics_file);
			return -1;
		}
	}
	if (cfg->ratelimit_penalty_max < cfg->ratelimit_penalty) {
		line = cfg_keyline(&c->top, CK_TOP, "ratelimit_penalty_max",
		    cfg_keyline(&c->top, CK_TOP, "ratelimit_penalty", 1));
		cfg_fail(c, line, NULL, "ratelimit_penalty_max", "%u is less "
		    "than ratelimit_penalty (%u): the penalty may only grow",
		    cfg->ratelimit_penalty_max, cfg->ratelimit_penalty);
		return -1;
	}
	return 0;
}

static int
cfg_check_users(struct cfg_ctx *c)
{
	struct config *cfg = c->cfg;
	char label[SL_NAME_MAX + 16];
	unsigned i;

	for (i = 0; i < cfg->nusers; i++) {
		struct cfg_user *u = &cfg->users[i];
		const struct cfg_sect *cs = &c->users[i];

		cfg_label(label, sizeof(label), CK_USER, u->name);
		u->hmac_file_line = cfg_keyline(cs, CK_USER, "hmac_file",
		    u->line);
		if (u->id >= 0 && cfg->user_by_id[u->id] >= 0) {
			const struct cfg_user *o =
			    &cfg->users[cfg->user_by_id[u->id]];

			cfg_fail(c, cfg_keyline(cs, CK_USER, "id", u->line),
			    label, "id", "id %d is already used by [user:%s] "
			    "at line %d", u->id, o->name, o->line);
			return -1;
		}
		if (u->id >= 0)
			cfg->user_by_id[u->id] = (int16_t)i;
		if (u->enabled && u->id < 0) {
			cfg_fail(c, u->line, label, NULL, "an enabled user "
			    "needs an id (or set enabled = no)");
			return -1;
		}
		if (u->enabled && u->hmac_file[0] == '\0') {
			cfg_fail(c, u->line, label, NULL, "an enabled user "
			    "needs an hmac_file (or set enabled = no)");
			return -1;
		}
		if (cfg_resolve_actions(c, cs, CK_USER, u->name,
		    &u->actions) != 0)
			return -1;
	}
	return 0;
}

/* Enabled actions with fleet = yes: there must be a [fleet], and they
 * must keep grants. */
static int
cfg_check_fleet_actions(struct cfg_ctx *c)
{
	const struct config *cfg = c->cfg;
	unsigned i;

	for (i = 0; i < cfg->nactions; i++) {
		const struct cfg_action *a = &cfg->actions[i];
		char label[SL_NAME_MAX + 16];
		int line = cfg_keyline(&c->actions[i], CK_ACTION, "fleet",
		    a->line);

		if (!a->fleet || !a->enabled)
			continue;
		cfg_label(label, sizeof(label), CK_ACTION, a->name);
		if (!cfg->fleet.on) {
			cfg_fail(c, line, label, "fleet", "there is no [fleet] "
			    "section");
			return -1;
		}
		if (!action_is_timed(a)) {
			cfg_fail(c, line, label, "fleet", "only an action "
			    "with a destructor and a keepalive_interval keeps "
			    "grants to share");
			return -1;
		}
	}
	return 0;
}

/* [fleet] name (default: the host name) and prefix. */
static int
cfg_check_fleet_names(struct cfg_ctx *c, struct cfg_fleet *f)
{
	size_t n;

	if (f->name[0] == '\0') {
		if (gethostname(f->name, sizeof(f->name)) != 0)
			f->name[0] = '\0';
		f->name[sizeof(f->name) - 1] = '\0';
		if (!sl_valid_name(f->name)) {
			cfg_fail(c, f->line, "fleet", "name", "the host name "
			    "cannot be this gateway's name: set name = ...");
			return -1;
		}
	} else if (!sl_valid_name(f->name)) {
		cfg_fail(c, cfg_keyline(&c->fleet, CK_FLEET, "name", f->line),
		    "fleet", "name", "must be 1-%d characters of A-Z a-z 0-9 "
		    "_ . -", SL_NAME_MAX - 1);
		return -1;
	}
	n = strlen(f->prefix);
	if (n == 0 || strspn(f->prefix, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
	    "klmnopqrstuvwxyz0123456789_.-:{}") != n) {
		cfg_fail(c, cfg_keyline(&c->fleet, CK_FLEET, "prefix", f->line),
		    "fleet", "prefix", "must be 1-%d characters of A-Z a-z 0-9 "
		    "_ . - : { }", FLEET_PREFIX_MAX - 1);
		return -1;
	}
	return 0;
}

static int
cfg_check_fleet(struct cfg_ctx *c)
{
	struct cfg_fleet *f = &c->cfg->fleet;
	const char *why = NULL;

	if (cfg_check_fleet_actions(c) != 0)
		return -1;
	if (!f->on)
		return 0;
	f->store_line = cfg_keyline(&c->fleet, CK_FLEET, "store", f->line);
	f->password_line = cfg_keyline(&c->fleet, CK_FLEET, "password_file",
	    f->line);
	if (f->store[0] == '\0') {
		cfg_fail(c, f->line, "fleet", NULL, "no store (e.g. store = "
		    "redis://10.0.0.5:6379/0)");
		return -1;
	}
	if (cfg_fleet_store(f, &why) != 0) {
		cfg_fail(c, f->store_line, "fleet", "store", "'%.*s': %s",
		    CFG_SHOW, f->store, why);
		return -1;
	}
	if (cfg_check_fleet_names(c, f) != 0)
		return -1;
	if (strcmp(f->on_store_down, "refuse") == 0)
		f->down_local = false;
	else if (strcmp(f->on_store_down, "local") == 0)
		f->down_local = true;
	else {
		cfg_fail(c, cfg_keyline(&c->fleet, CK_FLEET, "on_store_down",
		    f->line), "fleet", "on_store_down", "'%.*s' is not refuse "
		    "or local", CFG_SHOW, f->on_store_down);
		return -1;
	}
	return 0;
}

int
cfg_check(struct cfg_ctx *c)
{
	if (cfg_check_top(c) != 0 || cfg_check_servers(c) != 0 ||
	    cfg_check_actions(c) != 0 || cfg_check_users(c) != 0 ||
	    cfg_check_fleet(c) != 0)
		return -1;
	return 0;
}
