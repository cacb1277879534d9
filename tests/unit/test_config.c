/*
 * test_config.c - the configuration parser: every key, its default and range
 * edges, every error class with its FILE:LINE, the siglatch 1.0 sample,
 * long lines and comments, lookups, key loading with permissions, and the
 * owners and modes of the files the configuration trusts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "crypto.h"
#include "log.h"

static struct config *cfg;
static char err[4096];
static char tmpdir[] = "/tmp/sl_test_config_XXXXXX";
static char logpath[256];

static int
parse(const char *text)
{
	err[0] = '\0';
	return config_parse_string(cfg, "t.conf", text, err, sizeof(err));
}

static void
expect_ok(const char *text)
{
	if (parse(text) != 0)
		fail_msg("unexpected error: %s\n--- config:\n%s", err, text);
}

/* The parse fails and err starts with `want`. */
static void
expect_err(const char *text, const char *want)
{
	int rc = parse(text);

	if (rc != SL_ECONFIG || strncmp(err, want, strlen(want)) != 0)
		fail_msg("rc %d, err:\n  %s\nexpected it to start with:\n  %s\n"
		    "--- config:\n%s", rc, err, want, text);
}

/* ---- a config generator with line tracking ---------------------------- */

enum { S_TOP, S_SERVER, S_ACTION, S_USER };

static const char *const kind_label[] = { "", "server:s", "action:t", "user:u" };

struct gen {
	char text[16384];
	size_t n;
	int line;
};

static void gen_line(struct gen *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
gen_line(struct gen *g, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(g->text + g->n, sizeof(g->text) - g->n - 1, fmt, ap);
	va_end(ap);
	assert_true(r >= 0 && (size_t)r < sizeof(g->text) - g->n - 1);
	g->n += (size_t)r;
	g->text[g->n++] = '\n';
	g->text[g->n] = '\0';
	g->line++;
}

struct kv {
	const char *k, *v;
};

/* Keys each section gets unless the test is about that key. */
static const struct kv base_keys[][3] = {
	[S_TOP] = { { "priv_key_path", "/etc/k.pem" } },
	[S_SERVER] = { { NULL, NULL } },
	[S_ACTION] = { { "id", "11" }, { "constructor", "/bin/t" } },
	[S_USER] = { { "id", "5" }, { "hmac_file", "/etc/u.key" } },
};

static void
gen_section(struct gen *g, int kind, int sect, const char *key,
    const char *value, int *keyline)
{
	const char *omit = kind == sect ? key : "";
	size_t i;

	if (kind == sect && value != NULL) {
		gen_line(g, "%s = %s", key, value);
		*keyline = g->line;
	}
	for (i = 0; i < 3 && base_keys[sect][i].k != NULL; i++)
		if (strcmp(base_keys[sect][i].k, omit) != 0)
			gen_line(g, "%s = %s", base_keys[sect][i].k,
			    base_keys[sect][i].v);
}

/*
 * A valid config in which section `kind` ([server:s], [action:t], [user:u]
 * or the top level) has `key = value`, or no line for `key` when value is
 * NULL.  Returns the line of the key.
 */
static int
gen_config(struct gen *g, int kind, const char *key, const char *value)
{
	int keyline = 0;

	g->n = 0;
	g->line = 0;
	g->text[0] = '\0';
	gen_line(g, "# generated");
	gen_section(g, kind, S_TOP, key, value, &keyline);
	gen_line(g, "[server:s]");
	gen_section(g, kind, S_SERVER, key, value, &keyline);
	gen_line(g, "[server:other]");
	gen_line(g, "port = 4242");
	gen_line(g, "[action:a]");
	gen_line(g, "id = 9");
	gen_line(g, "constructor = /bin/true");
	gen_line(g, "[action:b]");
	gen_line(g, "id = 10");
	gen_line(g, "constructor = /bin/true");
	if (kind == S_ACTION) {
		gen_line(g, "[action:t]");
		gen_section(g, kind, S_ACTION, key, value, &keyline);
	}
	if (kind == S_USER) {
		gen_line(g, "[user:u]");
		gen_section(g, kind, S_USER, key, value, &keyline);
	}
	return keyline;
}

/* Where the test expects each key to land. */
enum ftype { F_STR, F_BOOL, F_U16, F_U32, F_INT, F_CIDRS, F_IDS, F_NONE };

struct field {
	int kind;
	const char *key;
	enum ftype t;
	size_t off;
};

#define FLD(k, st, f, t) { k, #f, t, offsetof(st, f) }
static const struct field fields[] = {
	FLD(S_TOP, struct config, log_file, F_STR),
	FLD(S_TOP, struct config, priv_key_path, F_STR),
	FLD(S_TOP, struct config, timestamp_window, F_U32),
	FLD(S_TOP, struct config, state_dir, F_STR),
	FLD(S_TOP, struct config, script_timeout, F_U32),
	FLD(S_TOP, struct config, max_scripts, F_U32),
	FLD(S_TOP, struct config, replay_cache_size, F_U32),
	FLD(S_TOP, struct config, run_as, F_STR),
	FLD(S_TOP, struct config, ratelimit_source_budget, F_U32),
	FLD(S_TOP, struct config, ratelimit_prefix_budget, F_U32),
	FLD(S_TOP, struct config, ratelimit_window, F_U32),
	FLD(S_TOP, struct config, ratelimit_penalty, F_U32),
	FLD(S_TOP, struct config, ratelimit_penalty_max, F_U32),
	FLD(S_TOP, struct config, ratelimit_good_time, F_U32),
	FLD(S_TOP, struct config, max_decrypts_per_sec, F_U32),
	FLD(S_TOP, struct config, ratelimit_table_size, F_U32),
	FLD(S_TOP, struct config, dup_cache_size, F_U32),
	FLD(S_TOP, struct config, stats_file, F_STR),
	FLD(S_TOP, struct config, stats_interval, F_U32),
	FLD(S_TOP, struct config, workers, F_U32),
	FLD(S_SERVER, struct cfg_server, enabled, F_BOOL),
	FLD(S_SERVER, struct cfg_server, port, F_U16),
	FLD(S_SERVER, struct cfg_server, bind_ip, F_STR),
	FLD(S_SERVER, struct cfg_server, secure, F_BOOL),
	FLD(S_SERVER, struct cfg_server, priv_key_path, F_STR),
	FLD(S_SERVER, struct cfg_server, actions, F_IDS),
	FLD(S_SERVER, struct cfg_server, logging, F_BOOL),
	FLD(S_SERVER, struct cfg_server, log_file, F_STR),
	FLD(S_SERVER, struct cfg_server, allowed_ips, F_CIDRS),
	{ S_SERVER, "deaddrops", F_NONE, 0 },
	FLD(S_ACTION, struct cfg_action, id, F_INT),
	FLD(S_ACTION, struct cfg_action, enabled, F_BOOL),
	FLD(S_ACTION, struct cfg_action, constructor, F_STR),
	FLD(S_ACTION, struct cfg_action, destructor, F_STR),
	FLD(S_ACTION, struct cfg_action, keepalive_interval, F_U32),
	FLD(S_ACTION, struct cfg_action, exec_split, F_BOOL),
	FLD(S_ACTION, struct cfg_action, require_ascii, F_BOOL),
	FLD(S_ACTION, struct cfg_action, discard_payload, F_BOOL),
	FLD(S_ACTION, struct cfg_action, allowed_ips, F_CIDRS),
	FLD(S_ACTION, struct cfg_action, run_as, F_STR),
	FLD(S_USER, struct cfg_user, id, F_INT),
	FLD(S_USER, struct cfg_user, enabled, F_BOOL),
	FLD(S_USER, struct cfg_user, key_file, F_STR),
	FLD(S_USER, struct cfg_user, hmac_file, F_STR),
	FLD(S_USER, struct cfg_user, actions, F_IDS),
	FLD(S_USER, struct cfg_user, allowed_ips, F_CIDRS),
};
#undef FLD

static const char *
section_base(int kind)
{
	unsigned i;

	switch (kind) {
	case S_TOP:
		return (const char *)cfg;
	case S_SERVER:
		assert_string_equal(cfg->servers[0].name, "s");
		return (const char *)&cfg->servers[0];
	case S_ACTION:
		for (i = 0; i < cfg->nactions; i++)
			if (strcmp(cfg->actions[i].name, "t") == 0)
				return (const char *)&cfg->actions[i];
		break;
	case S_USER:
		for (i = 0; i < cfg->nusers; i++)
			if (strcmp(cfg->users[i].name, "u") == 0)
				return (const char *)&cfg->users[i];
		break;
	}
	fail_msg("section %d not found", kind);
	return NULL;
}

/* The value of `key` in the parsed config, as text. */
static void
field_str(int kind, const char *key, char *out, size_t len)
{
	const struct field *f = NULL;
	const char *p;
	size_t i, n = 0;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].kind == kind && strcmp(fields[i].key, key) == 0)
			f = &fields[i];
	if (f == NULL)
		fail_msg("no field for key %s", key);
	p = section_base(kind) + f->off;
	out[0] = '\0';
	switch (f->t) {
	case F_STR:
		snprintf(out, len, "%s", p);
		break;
	case F_BOOL:
		snprintf(out, len, "%s", *(const bool *)p ? "yes" : "no");
		break;
	case F_U16:
		snprintf(out, len, "%u", *(const uint16_t *)p);
		break;
	case F_U32:
		snprintf(out, len, "%u", *(const uint32_t *)p);
		break;
	case F_INT:
		snprintf(out, len, "%d", *(const int *)p);
		break;
	case F_CIDRS: {
		const struct sl_cidr_list *l = (const void *)p;
		char a[SL_IPSTR_MAX];

		for (i = 0; i < l->n; i++) {
			addr_to_str(&l->c[i].addr, a, sizeof(a));
			n += (size_t)snprintf(out + n, len - n, "%s%s/%u",
			    i ? "," : "", a, l->c[i].prefix);
		}
		break;
	}
	case F_IDS: {
		const struct sl_idset *s = (const void *)p;

		for (i = 0; i < SL_MAX_ACTIONS; i++)
			if (idset_has(s, (unsigned)i))
				n += (size_t)snprintf(out + n, len - n, "%s%zu",
				    n ? "," : "", i);
		break;
	}
	case F_NONE:
		break;
	}
}

/* ---- every key: a valid value, and its default ------------------------ */

static void
test_keys_and_defaults(void **state)
{
	static const struct {
		int kind;
		const char *key, *value, *want, *dflt; /* dflt NULL: see below */
	} rows[] = {
		{ S_TOP, "log_file", "/var/log/sl.log", "/var/log/sl.log", "" },
		{ S_TOP, "priv_key_path", "/etc/k2.pem", "/etc/k2.pem", NULL },
		{ S_TOP, "timestamp_window", "300", "300", "120" },
		{ S_TOP, "state_dir", "/tmp/st", "/tmp/st", "/var/lib/siglatch" },
		{ S_TOP, "script_timeout", "60", "60", "30" },
		{ S_TOP, "max_scripts", "4", "4", "16" },
		{ S_TOP, "replay_cache_size", "1024", "1024", "65536" },
		{ S_TOP, "run_as", "nobody", "nobody", "siglatch" },
		{ S_TOP, "ratelimit_source_budget", "5", "5", "20" },
		{ S_TOP, "ratelimit_prefix_budget", "50", "50", "200" },
		{ S_TOP, "ratelimit_window", "60", "60", "10" },
		{ S_TOP, "ratelimit_penalty", "30", "30", "10" },
		{ S_TOP, "ratelimit_penalty_max", "3600", "3600", "600" },
		{ S_TOP, "ratelimit_good_time", "0", "0", "600" },
		{ S_TOP, "max_decrypts_per_sec", "0", "0", "2000" },
		{ S_TOP, "ratelimit_table_size", "1024", "1024", "65536" },
		{ S_TOP, "dup_cache_size", "0", "0", "65536" },
		{ S_TOP, "stats_file", "/run/sl.stats", "/run/sl.stats", "" },
		{ S_TOP, "stats_interval", "0", "0", "5" },
		{ S_TOP, "workers", "4", "4", "0" },
		{ S_SERVER, "enabled", "no", "no", "yes" },
		{ S_SERVER, "enabled", "0", "no", "yes" },
		{ S_SERVER, "enabled", "1", "yes", "yes" },
		{ S_SERVER, "enabled", "yes", "yes", "yes" },
		{ S_SERVER, "port", "50010", "50010", "50000" },
		{ S_SERVER, "bind_ip", "127.0.0.1", "127.0.0.1", "" },
		{ S_SERVER, "bind_ip", "::1", "::1", "" },
		{ S_SERVER, "bind_ip", "", "", "" },
		{ S_SERVER, "secure", "yes", "yes", "yes" },
		{ S_SERVER, "secure", "1", "yes", "yes" },
		{ S_SERVER, "priv_key_path", "/etc/s.pem", "/etc/s.pem", "" },
		{ S_SERVER, "actions", "a, b", "9,10", "" },
		{ S_SERVER, "actions", "b", "10", "" },
		{ S_SERVER, "actions", "", "", "" },
		{ S_SERVER, "logging", "no", "no", "yes" },
		{ S_SERVER, "log_file", "/var/log/s.log", "/var/log/s.log", "" },
		{ S_SERVER, "allowed_ips", "10.0.0.0/8, ::1", "10.0.0.0/8,::1/128", "" },
		{ S_SERVER, "deaddrops", "message", "", "" },
		{ S_ACTION, "id", "42", "42", NULL },
		{ S_ACTION, "enabled", "no", "no", "yes" },
		{ S_ACTION, "constructor", "/bin/echo a;b #c", "/bin/echo a;b #c", NULL },
		{ S_ACTION, "destructor", "/bin/undo x", "/bin/undo x", "" },
		{ S_ACTION, "keepalive_interval", "300", "300", "0" },
		{ S_ACTION, "exec_split", "no", "no", "yes" },
		{ S_ACTION, "require_ascii", "yes", "yes", "no" },
		{ S_ACTION, "discard_payload", "yes", "yes", "no" },
		{ S_ACTION, "allowed_ips", "192.0.2.0/24", "192.0.2.0/24", "" },
		{ S_ACTION, "run_as", "www-data", "www-data", "" },
		{ S_ACTION, "run_as", "", "", "" },
		{ S_USER, "id", "7", "7", "-1" },
		{ S_USER, "enabled", "yes", "yes", "no" },
		{ S_USER, "key_file", "/etc/u.pub", "/etc/u.pub", "" },
		{ S_USER, "hmac_file", "/etc/u2.key", "/etc/u2.key", "" },
		{ S_USER, "actions", "a", "9", "" },
		{ S_USER, "actions", "b,a", "9,10", "" },
		{ S_USER, "allowed_ips", "2001:db8::/32", "2001:db8::/32", "" },
	};
	struct gen g;
	char got[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		gen_config(&g, rows[i].kind, rows[i].key, rows[i].value);
		expect_ok(g.text);
		field_str(rows[i].kind, rows[i].key, got, sizeof(got));
		if (strcmp(got, rows[i].want) != 0)
			fail_msg("%s = %s: got '%s', want '%s'", rows[i].key,
			    rows[i].value, got, rows[i].want);
		if (rows[i].dflt == NULL)
			continue;
		gen_config(&g, rows[i].kind, rows[i].key, NULL);
		expect_ok(g.text);
		field_str(rows[i].kind, rows[i].key, got, sizeof(got));
		if (strcmp(got, rows[i].dflt) != 0)
			fail_msg("%s default: got '%s', want '%s'", rows[i].key,
			    got, rows[i].dflt);
	}
}

/* The defaults that a generated config cannot show without breaking it. */
static void
test_defaults_special(void **state)
{
	(void)state;
	/* an action's id defaults to none: only a disabled action may lack it */
	expect_ok("priv_key_path = /k\n[server:s]\n[action:x]\nenabled = no\n");
	assert_int_equal(cfg->actions[0].id, -1);
	assert_string_equal(cfg->actions[0].constructor, "");
	/* no priv_key_path anywhere: default "" everywhere, needs a disabled
	 * server ... and then there is no enabled server */
	expect_err("[server:s]\nenabled = no\n",
	    "t.conf:1: no [server:NAME] section is enabled");
	/* a server's own priv_key_path is enough */
	expect_ok("[server:s]\npriv_key_path = /s.pem\n");
	assert_string_equal(cfg->priv_key_path, "");
	assert_int_equal(cfg->servers[0].priv_key_line, 2);
	expect_ok("priv_key_path = /k\n\n[server:s]\n");
	assert_string_equal(cfg->servers[0].priv_key_path, "");
	assert_int_equal(cfg->servers[0].priv_key_line, 1);
	/* empty config top level */
	assert_int_equal(cfg->timestamp_window, 120);
	assert_int_equal(cfg->nactions, 0);
	assert_int_equal(cfg->nusers, 0);
}

/* ---- range edges and bad values -------------------------------------- */

static void
test_ranges(void **state)
{
	static const struct {
		int kind;
		const char *key, *value;
		int ok;
	} rows[] = {
		{ S_TOP, "timestamp_window", "0", 0 },
		{ S_TOP, "timestamp_window", "1", 1 },
		{ S_TOP, "timestamp_window", "3600", 1 },
		{ S_TOP, "timestamp_window", "3601", 0 },
		{ S_TOP, "script_timeout", "0", 0 },
		{ S_TOP, "script_timeout", "1", 1 },
		{ S_TOP, "script_timeout", "86400", 1 },
		{ S_TOP, "script_timeout", "86401", 0 },
		{ S_TOP, "max_scripts", "0", 0 },
		{ S_TOP, "max_scripts", "1", 1 },
		{ S_TOP, "max_scripts", "1024", 1 },
		{ S_TOP, "max_scripts", "1025", 0 },
		{ S_TOP, "replay_cache_size", "15", 0 },
		{ S_TOP, "replay_cache_size", "16", 1 },
		{ S_TOP, "replay_cache_size", "1048576", 1 },
		{ S_TOP, "replay_cache_size", "1048577", 0 },
		{ S_TOP, "ratelimit_source_budget", "0", 0 },
		{ S_TOP, "ratelimit_source_budget", "1", 1 },
		{ S_TOP, "ratelimit_source_budget", "100000", 1 },
		{ S_TOP, "ratelimit_source_budget", "100001", 0 },
		{ S_TOP, "ratelimit_prefix_budget", "0", 0 },
		{ S_TOP, "ratelimit_prefix_budget", "1", 1 },
		{ S_TOP, "ratelimit_prefix_budget", "1000000", 1 },
		{ S_TOP, "ratelimit_prefix_budget", "1000001", 0 },
		{ S_TOP, "ratelimit_window", "0", 0 },
		{ S_TOP, "ratelimit_window", "1", 1 },
		{ S_TOP, "ratelimit_window", "3600", 1 },
		{ S_TOP, "ratelimit_window", "3601", 0 },
		{ S_TOP, "ratelimit_penalty", "0", 0 },
		{ S_TOP, "ratelimit_penalty", "1", 1 },
		{ S_TOP, "ratelimit_penalty", "86401", 0 },
		{ S_TOP, "ratelimit_penalty_max", "0", 0 },
		{ S_TOP, "ratelimit_penalty_max", "604800", 1 },
		{ S_TOP, "ratelimit_penalty_max", "604801", 0 },
		{ S_TOP, "ratelimit_good_time", "-1", 0 },
		{ S_TOP, "ratelimit_good_time", "0", 1 },
		{ S_TOP, "ratelimit_good_time", "86400", 1 },
		{ S_TOP, "ratelimit_good_time", "86401", 0 },
		{ S_TOP, "max_decrypts_per_sec", "-1", 0 },
		{ S_TOP, "max_decrypts_per_sec", "0", 1 },
		{ S_TOP, "max_decrypts_per_sec", "1000000", 1 },
		{ S_TOP, "max_decrypts_per_sec", "1000001", 0 },
		{ S_TOP, "ratelimit_table_size", "63", 0 },
		{ S_TOP, "ratelimit_table_size", "64", 1 },
		{ S_TOP, "ratelimit_table_size", "16777216", 1 },
		{ S_TOP, "ratelimit_table_size", "16777217", 0 },
		{ S_TOP, "dup_cache_size", "-1", 0 },
		{ S_TOP, "dup_cache_size", "0", 1 },
		{ S_TOP, "dup_cache_size", "16777216", 1 },
		{ S_TOP, "dup_cache_size", "16777217", 0 },
		{ S_TOP, "stats_interval", "-1", 0 },
		{ S_TOP, "stats_interval", "0", 1 },
		{ S_TOP, "stats_interval", "3600", 1 },
		{ S_TOP, "stats_interval", "3601", 0 },
		{ S_TOP, "workers", "-1", 0 },
		{ S_TOP, "workers", "0", 1 },
		{ S_TOP, "workers", "64", 1 },
		{ S_TOP, "workers", "65", 0 },
		{ S_TOP, "ratelimit_window", "ten", 0 },
		{ S_TOP, "max_decrypts_per_sec", "1e3", 0 },
		{ S_SERVER, "port", "0", 0 },
		{ S_SERVER, "port", "1", 1 },
		{ S_SERVER, "port", "65535", 1 },
		{ S_SERVER, "port", "65536", 0 },
		{ S_SERVER, "port", "-1", 0 },
		{ S_SERVER, "port", "", 0 },
		{ S_SERVER, "port", "http", 0 },
		{ S_SERVER, "port", "80x", 0 },
		{ S_SERVER, "port", "+80", 0 },
		{ S_SERVER, "port", "0x50", 0 },
		{ S_SERVER, "port", "8 0", 0 },
		{ S_SERVER, "port", "99999999999999999999999", 0 },
		{ S_ACTION, "id", "-1", 0 },
		{ S_ACTION, "id", "0", 1 },
		{ S_ACTION, "id", "255", 1 },
		{ S_ACTION, "id", "256", 0 },
		{ S_ACTION, "keepalive_interval", "-1", 0 },
		{ S_ACTION, "keepalive_interval", "0", 1 },
		{ S_ACTION, "keepalive_interval", "604800", 1 },
		{ S_ACTION, "keepalive_interval", "604801", 0 },
		{ S_USER, "id", "-1", 0 },
		{ S_USER, "id", "0", 1 },
		{ S_USER, "id", "65535", 1 },
		{ S_USER, "id", "65536", 0 },
		{ S_SERVER, "enabled", "maybe", 0 },
		{ S_SERVER, "enabled", "", 0 },
		{ S_SERVER, "secure", "2", 0 },
		{ S_SERVER, "logging", "yess", 0 },
		{ S_ACTION, "enabled", "y", 0 },
		{ S_ACTION, "exec_split", "", 0 },
		{ S_ACTION, "require_ascii", "10", 0 },
		{ S_ACTION, "discard_payload", "-", 0 },
		{ S_USER, "enabled", "enabled", 0 },
		{ S_SERVER, "bind_ip", "10.0.0.0/8", 0 },
		{ S_SERVER, "bind_ip", "localhost", 0 },
		{ S_SERVER, "bind_ip", "1.2.3.4, 5.6.7.8", 0 },
		{ S_SERVER, "allowed_ips", "10.0.0.1, nope", 0 },
		{ S_SERVER, "allowed_ips", "10.0.0.1,,10.0.0.2", 0 },
		{ S_ACTION, "allowed_ips", "10.0.0.0/33", 0 },
		{ S_USER, "allowed_ips", "::/129", 0 },
	};
	struct gen g;
	char want[256], got[512];
	size_t i;
	int line;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		line = gen_config(&g, rows[i].kind, rows[i].key, rows[i].value);
		if (rows[i].ok) {
			expect_ok(g.text);
			field_str(rows[i].kind, rows[i].key, got, sizeof(got));
			assert_string_equal(got, rows[i].value);
			continue;
		}
		if (rows[i].kind == S_TOP)
			snprintf(want, sizeof(want), "t.conf:%d: key '%s': ",
			    line, rows[i].key);
		else
			snprintf(want, sizeof(want), "t.conf:%d: [%s] key '%s': ",
			    line, kind_label[rows[i].kind], rows[i].key);
		expect_err(g.text, want);
		if (strcmp(rows[i].key, "allowed_ips") != 0 &&
		    strstr(err, rows[i].value) == NULL)
			fail_msg("'%s' not quoted in: %s", rows[i].value, err);
	}
}

/* String values must fit their buffers: size-1 accepted, size refused. */
static void
test_value_fits(void **state)
{
	static const struct {
		int kind;
		const char *key;
		size_t size;
	} rows[] = {
		{ S_TOP, "log_file", SL_PATH_MAX },
		{ S_TOP, "priv_key_path", SL_PATH_MAX },
		{ S_TOP, "state_dir", SL_PATH_MAX },
		{ S_TOP, "stats_file", SL_PATH_MAX },
		{ S_SERVER, "priv_key_path", SL_PATH_MAX },
		{ S_SERVER, "log_file", SL_PATH_MAX },
		{ S_ACTION, "constructor", SL_CMD_MAX },
		{ S_ACTION, "destructor", SL_CMD_MAX },
		{ S_USER, "key_file", SL_PATH_MAX },
		{ S_USER, "hmac_file", SL_PATH_MAX },
	};
	static char value[SL_PATH_MAX + SL_CMD_MAX];
	char want[256], got[SL_PATH_MAX + SL_CMD_MAX];
	struct gen g;
	size_t i;
	int line;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(value, 'x', rows[i].size);
		value[0] = '/';
		value[rows[i].size - 1] = '\0';
		gen_config(&g, rows[i].kind, rows[i].key, value);
		expect_ok(g.text);
		field_str(rows[i].kind, rows[i].key, got, sizeof(got));
		assert_string_equal(got, value);

		value[rows[i].size - 1] = 'x';
		value[rows[i].size] = '\0';
		line = gen_config(&g, rows[i].kind, rows[i].key, value);
		if (rows[i].kind == S_TOP)
			snprintf(want, sizeof(want), "t.conf:%d: key '%s': value "
			    "too long (at most %zu", line, rows[i].key,
			    rows[i].size - 1);
		else
			snprintf(want, sizeof(want), "t.conf:%d: [%s] key '%s': "
			    "value too long (at most %zu", line,
			    kind_label[rows[i].kind], rows[i].key, rows[i].size - 1);
		expect_err(g.text, want);
	}
}

/* ---- error classes, with their exact FILE:LINE ------------------------ */

#define P "priv_key_path = /k.pem\n" /* line 1 */
#define S "[server:s]\n"             /* line 2 */
#define A12 "[action:a]\nid = 1\nconstructor = /x\n" \
    "[action:b]\nid = 2\nconstructor = /x\n"

/* run_as: a user name by syntax only (privsep looks it up at start); the
 * top level must name one, an action may leave it empty. */
static void
test_run_as(void **state)
{
	static const struct {
		int kind;
		const char *value;
		const char *problem; /* NULL: accepted */
	} rows[] = {
		{ S_TOP, "nobody", NULL },
		{ S_TOP, "_siglatch", NULL },
		{ S_TOP, "a.b-c_9", NULL },
		{ S_TOP, "HOST$", NULL },
		{ S_TOP, "65534", NULL },
		{ S_TOP, "", "must name a user" },
		{ S_TOP, "-x", "'-x' is not a user name" },
		{ S_TOP, "a b", "'a b' is not a user name" },
		{ S_TOP, "a/b", "'a/b' is not a user name" },
		{ S_TOP, "$", "'$' is not a user name" },
		{ S_TOP, "a$b", "'a$b' is not a user name" },
		{ S_TOP, "root:0", "'root:0' is not a user name" },
		{ S_TOP, "j\xc3\xb6rg", "'j\xc3\xb6rg' is not a user name" },
		{ S_ACTION, "", NULL },
		{ S_ACTION, "www-data", NULL },
		{ S_ACTION, "-", "'-' is not a user name" },
		{ S_ACTION, "a,b", "'a,b' is not a user name" },
	};
	static char longname[SL_NAME_MAX + 1];
	char want[256], got[SL_NAME_MAX];
	struct gen g;
	size_t i;
	int line;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		line = gen_config(&g, rows[i].kind, "run_as", rows[i].value);
		if (rows[i].problem == NULL) {
			expect_ok(g.text);
			field_str(rows[i].kind, "run_as", got, sizeof(got));
			assert_string_equal(got, rows[i].value);
			continue;
		}
		if (rows[i].kind == S_TOP)
			snprintf(want, sizeof(want), "t.conf:%d: key 'run_as': %s",
			    line, rows[i].problem);
		else
			snprintf(want, sizeof(want), "t.conf:%d: [%s] key "
			    "'run_as': %s", line, kind_label[rows[i].kind],
			    rows[i].problem);
		expect_err(g.text, want);
	}
	/* 63 characters fit, 64 do not */
	memset(longname, 'u', SL_NAME_MAX - 1);
	gen_config(&g, S_ACTION, "run_as", longname);
	expect_ok(g.text);
	field_str(S_ACTION, "run_as", got, sizeof(got));
	assert_string_equal(got, longname);
	longname[SL_NAME_MAX - 1] = 'u';
	line = gen_config(&g, S_TOP, "run_as", longname);
	snprintf(want, sizeof(want), "t.conf:%d: key 'run_as': value too long "
	    "(at most %d characters)", line, SL_NAME_MAX - 1);
	expect_err(g.text, want);
	/* the line of each run_as is kept for privsep's messages */
	expect_ok("run_as = daemon\n" P S "[action:a]\nid = 1\n"
	    "constructor = /x\nrun_as = bin\n[action:b]\nid = 2\n"
	    "constructor = /x\n");
	assert_int_equal(cfg->run_as_line, 1);
	assert_int_equal(cfg->actions[0].run_as_line, 7);
	assert_int_equal(cfg->actions[1].run_as_line, 0);
	expect_ok(P S);
	assert_int_equal(cfg->run_as_line, 0);
	assert_string_equal(cfg->run_as, "siglatch");
}

/* ratelimit_penalty_max >= ratelimit_penalty, whichever of them is set;
 * the error names ratelimit_penalty_max at the line of the later one. */
static void
test_penalty_order(void **state)
{
	static const struct {
		const char *text, *want; /* want NULL: accepted */
		uint32_t pen, max;
	} rows[] = {
		{ "ratelimit_penalty = 1\nratelimit_penalty_max = 1\n" P S,
		  NULL, 1, 1 },
		{ "ratelimit_penalty = 600\n" P S, NULL, 600, 600 },
		{ "ratelimit_penalty = 86400\nratelimit_penalty_max = 604800\n"
		  P S, NULL, 86400, 604800 },
		{ "ratelimit_penalty_max = 10\n" P S, NULL, 10, 10 },
		{ "ratelimit_penalty = 60\nratelimit_penalty_max = 59\n" P S,
		  "t.conf:2: key 'ratelimit_penalty_max': 59 is less than "
		  "ratelimit_penalty (60): the penalty may only grow", 0, 0 },
		{ "ratelimit_penalty_max = 59\n\nratelimit_penalty = 60\n" P S,
		  "t.conf:1: key 'ratelimit_penalty_max': 59 is less than "
		  "ratelimit_penalty (60)", 0, 0 },
		{ "\nratelimit_penalty = 601\n" P S,
		  "t.conf:2: key 'ratelimit_penalty_max': 600 is less than "
		  "ratelimit_penalty (601)", 0, 0 },
		{ "ratelimit_penalty_max = 9\n" P S,
		  "t.conf:1: key 'ratelimit_penalty_max': 9 is less than "
		  "ratelimit_penalty (10)", 0, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (rows[i].want != NULL) {
			expect_err(rows[i].text, rows[i].want);
			continue;
		}
		expect_ok(rows[i].text);
		assert_int_equal(cfg->ratelimit_penalty, rows[i].pen);
		assert_int_equal(cfg->ratelimit_penalty_max, rows[i].max);
	}
}

static void
test_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} rows[] = {
		/* unknown keys */
		{ "bogus = 1\n" P S, "t.conf:1: key 'bogus': unknown key" },
		{ P S "colour = red\n", "t.conf:3: [server:s] key 'colour': unknown key" },
		{ P S "Port = 1\n", "t.conf:3: [server:s] key 'Port': unknown key" },
		{ P S "= 5\n", "t.conf:3: [server:s] key '': unknown key" },
		{ P S "[action:a]\nid = 1\nconstructor = /x\nstarts_with = m\n",
		  "t.conf:6: [action:a] key 'starts_with': unknown key" },
		{ P S "[user:u]\nkey = x\n", "t.conf:4: [user:u] key 'key': unknown key" },
		{ P S "[user:u]\nsecure = yes\n", "t.conf:4: [user:u] key 'secure': unknown key" },
		{ P S "[action:a]\nport = 1\n", "t.conf:4: [action:a] key 'port': unknown key" },
		{ P S "[server:t]\nid = 1\n", "t.conf:4: [server:t] key 'id': unknown key" },
		/* sections: unknown, empty, bad names, duplicates */
		{ P S "[bogus]\n", "t.conf:3: [bogus]: unknown section" },
		{ P S "[bogus:x]\nport = 1\n", "t.conf:3: [bogus:x]: unknown section" },
		{ P S "[Server:x]\n", "t.conf:3: [Server:x]: unknown section" },
		{ P S "[servers:x]\n", "t.conf:3: [servers:x]: unknown section" },
		{ P S "[]\n", "t.conf:3: unknown section" },
		{ P S "[server]\n", "t.conf:3: [server]: section name must be" },
		{ P S "[server]\nport = 1\n", "t.conf:3: [server]: section name must be" },
		{ P S "[user]\n", "t.conf:3: [user]: section name must be" },
		{ P S "[server:]\n", "t.conf:3: [server:]: section name must be" },
		{ P S "[user:a b]\n", "t.conf:3: [user:a b]: section name must be" },
		{ P S "[user:a/b]\n", "t.conf:3: [user:a/b]: section name must be" },
		{ P S "[user:a:b]\n", "t.conf:3: [user:a:b]: section name must be" },
		{ P S "[user:"
		  "0123456789012345678901234567890123456789012345678901234567890123]\n",
		  "t.conf:3: [user:0123456789012345678901234567890123456789012345678901"
		  "234567890123]: section name must be" },
		{ P S "[server:s]\n",
		  "t.conf:3: [server:s]: duplicate section (first defined at line 2)" },
		{ P S "[action:x]\nenabled = no\n[action:x]\n",
		  "t.conf:5: [action:x]: duplicate section (first defined at line 3)" },
		{ P S "[user:x]\n[user:y]\n[user:x]\n",
		  "t.conf:5: [user:x]: duplicate section (first defined at line 3)" },
		{ P S "[deaddrop:d]\n[deaddrop:d]\n",
		  "t.conf:4: [deaddrop:d]: duplicate section (first defined at line 3)" },
		/* syntax */
		{ P S "port = 1\nport = 2\n",
		  "t.conf:4: [server:s] key 'port': given twice in one section (first at line 3)" },
		{ "log_file = /a\nlog_file = /b\n" P S,
		  "t.conf:2: key 'log_file': given twice in one section (first at line 1)" },
		{ P S "[user:u]\nactions = a\nid = 1\nactions = b\n",
		  "t.conf:6: [user:u] key 'actions': given twice" },
		{ P S "just words\n", "t.conf:3: [server:s]: expected 'key = value'" },
		{ "just words\n" P S, "t.conf:1: expected 'key = value'" },
		{ P S "[server:x\n", "t.conf:3: malformed section header" },
		{ P S "[server:x] # comment\n", "t.conf:3: malformed section header" },
		{ P S "[\n", "t.conf:3: malformed section header" },
		{ P S "[action:a]\nid = 1\nconstructor = /bin/x\n  --more\n",
		  "t.conf:6: [action:a]: expected 'key = value'" },
		/* values */
		{ P S "enabled = maybe\n",
		  "t.conf:3: [server:s] key 'enabled': 'maybe' is not a boolean" },
		{ P S "port = 70000\n",
		  "t.conf:3: [server:s] key 'port': '70000' is out of range (allowed: 1 to 65535)" },
		{ P S "port = x\n",
		  "t.conf:3: [server:s] key 'port': 'x' is not a number (allowed: 1 to 65535)" },
		{ P S "bind_ip = 10.0.0.0/8\n",
		  "t.conf:3: [server:s] key 'bind_ip': '10.0.0.0/8' is not an IPv4 or IPv6 address" },
		{ P S "allowed_ips = 10.0.0.1, nope\n",
		  "t.conf:3: [server:s] key 'allowed_ips': 'nope' is not an IPv4/IPv6 address or CIDR range" },
		{ P S "allowed_ips = 10.0.0.1,,10.0.0.2\n",
		  "t.conf:3: [server:s] key 'allowed_ips': empty item in list" },
		/* servers */
		{ P S "secure = no\n",
		  "t.conf:3: [server:s] key 'secure': siglatchd has no unauthenticated mode" },
		{ P S "enabled = no\n", "t.conf:2: no [server:NAME] section is enabled" },
		{ P "# nothing else\n", "t.conf:2: no [server:NAME] section" },
		{ "", "t.conf:1: no [server:NAME] section" },
		{ S, "t.conf:1: [server:s]: no priv_key_path (set one here or at the top level)" },
		{ P S "[server:t]\n",
		  "t.conf:3: [server:t]: same bind_ip and port (50000) as [server:s] at line 2" },
		{ P S "port = 7\n[server:t]\nport = 7\n",
		  "t.conf:5: [server:t]: same bind_ip and port (7) as [server:s] at line 2" },
		/* actions */
		{ P S "[action:a]\nid = 3\nconstructor = /x\n[action:b]\nid = 3\nenabled = no\n",
		  "t.conf:7: [action:b] key 'id': id 3 is already used by [action:a] at line 3" },
		{ P S "[action:a]\nconstructor = /x\n",
		  "t.conf:3: [action:a]: an enabled action needs an id" },
		{ P S "[action:a]\nid = 1\n",
		  "t.conf:3: [action:a]: an enabled action needs a constructor" },
		{ P S "[action:a]\nid = 1\nconstructor =\n",
		  "t.conf:3: [action:a]: an enabled action needs a constructor" },
		/* users */
		{ P S "[user:u]\nid = 3\n[user:v]\nid = 3\n",
		  "t.conf:6: [user:v] key 'id': id 3 is already used by [user:u] at line 3" },
		{ P S "[user:u]\nenabled = yes\nhmac_file = /h\n",
		  "t.conf:3: [user:u]: an enabled user needs an id" },
		{ P S "[user:u]\nenabled = yes\nid = 1\n",
		  "t.conf:3: [user:u]: an enabled user needs an hmac_file" },
		/* action references */
		{ P S "actions = nope\n",
		  "t.conf:3: [server:s] key 'actions': no [action:nope] section" },
		{ P S "actions = x\n[action:x]\nenabled = no\n",
		  "t.conf:3: [server:s] key 'actions': [action:x] (line 4) has no id" },
		{ P S "[user:u]\nactions = a,,b\n" A12,
		  "t.conf:4: [user:u] key 'actions': empty item in list" },
		{ P S "[user:u]\nactions = a, b,\n" A12,
		  "t.conf:4: [user:u] key 'actions': empty item in list" },
		{ P S "[user:u]\nactions = ,a\n" A12,
		  "t.conf:4: [user:u] key 'actions': empty item in list" },
		{ P S "[user:u]\nactions = grant\n" A12,
		  "t.conf:4: [user:u] key 'actions': no [action:grant] section" },
		{ P S "[user:u]\nactions = a b\n" A12,
		  "t.conf:4: [user:u] key 'actions': no [action:a b] section" },
		{ P S "[server:t]\nenabled = no\nactions = a,zz\n" A12,
		  "t.conf:5: [server:t] key 'actions': no [action:zz] section" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		expect_err(rows[i].text, rows[i].want);
}

/* Things that look odd but are fine. */
static void
test_accepted(void **state)
{
	static const char *const rows[] = {
		/* a disabled server may share an address, lack a key, be insecure */
		P S "port = 1\n[server:t]\nport = 1\nenabled = no\nsecure = no\n",
		"[server:t]\nenabled = no\n[server:s]\npriv_key_path = /s\n",
		/* the same name in two kinds */
		P S "[action:x]\nenabled = no\n[user:x]\n[deaddrop:x]\n",
		/* a 63-character name, all the allowed characters */
		P S "[user:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567_.-]\n",
		/* a disabled user may be incomplete */
		P S "[user:u]\nenabled = no\n",
		/* spacing, indented headers, no final newline */
		P "  [server:s]  \n\tport=7   \n  logging\t=\tno",
		/* actions may be listed before they are defined */
		P S "actions = a\n[user:u]\nactions=b, a\n" A12,
		/* disabled actions without ids are fine when nothing lists them */
		P S "[action:x]\nenabled = no\n[action:y]\nenabled = no\n",
		/* an empty [server:NAME] section is a complete server */
		P S,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		expect_ok(rows[i]);
}

static void
test_bind_conflicts(void **state)
{
	static const struct {
		const char *ip1, *ip2;
		int port2;
		const char *enabled2;
		int conflict;
	} rows[] = {
		{ "", "", 50000, "yes", 1 },
		{ "127.0.0.1", "127.0.0.1", 50000, "yes", 1 },
		{ "127.0.0.1", "127.0.0.2", 50000, "yes", 0 },
		{ "0.0.0.0", "127.0.0.1", 50000, "yes", 1 },
		{ "127.0.0.1", "0.0.0.0", 50000, "yes", 1 },
		{ "::1", "0:0::1", 50000, "yes", 1 },
		{ "::", "::1", 50000, "yes", 1 },
		{ "::1", "127.0.0.1", 50000, "yes", 0 },
		{ "::", "0.0.0.0", 50000, "yes", 0 },
		{ "", "::1", 50000, "yes", 1 },
		{ "127.0.0.1", "", 50000, "yes", 1 },
		{ "127.0.0.1", "127.0.0.1", 50001, "yes", 0 },
		{ "", "", 50001, "yes", 0 },
		{ "", "", 50000, "no", 0 },
	};
	char text[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(text, sizeof(text), P "[server:s]\nbind_ip = %s\n"
		    "[server:t]\nbind_ip = %s\nport = %d\nenabled = %s\n",
		    rows[i].ip1, rows[i].ip2, rows[i].port2, rows[i].enabled2);
		if (rows[i].conflict)
			expect_err(text, "t.conf:6: [server:t]: same bind_ip and "
			    "port (50000) as [server:s] at line 2");
		else
			expect_ok(text);
	}
}

static char *
gen_many(const char *kind, unsigned n)
{
	size_t cap = 64 + (size_t)n * 64, len;
	char *t = malloc(cap);
	unsigned i;

	assert_non_null(t);
	len = (size_t)snprintf(t, cap, P);
	for (i = 0; i < n; i++) {
		if (strcmp(kind, "server") == 0)
			len += (size_t)snprintf(t + len, cap - len,
			    "[server:s%u]\nport = %u\n", i, 1000 + i);
		else if (strcmp(kind, "action") == 0)
			len += (size_t)snprintf(t + len, cap - len,
			    "[action:a%u]\nid = %u\nconstructor = /x\n", i, i);
		else
			len += (size_t)snprintf(t + len, cap - len,
			    "[user:u%u]\nid = %u\n", i, i);
	}
	if (strcmp(kind, "server") != 0)
		snprintf(t + len, cap - len, S);
	return t;
}

static void
test_section_limits(void **state)
{
	char *t;

	(void)state;
	t = gen_many("server", SL_MAX_SERVERS);
	expect_ok(t);
	assert_int_equal(cfg->nservers, SL_MAX_SERVERS);
	free(t);
	t = gen_many("server", SL_MAX_SERVERS + 1);
	expect_err(t, "t.conf:34: [server:s16]: too many [server:*] sections "
	    "(at most 16)");
	free(t);

	t = gen_many("action", SL_MAX_ACTIONS);
	expect_ok(t);
	assert_int_equal(cfg->nactions, SL_MAX_ACTIONS);
	assert_string_equal(config_action_by_id(cfg, 255)->name, "a255");
	free(t);
	t = gen_many("action", SL_MAX_ACTIONS + 1);
	expect_err(t, "t.conf:770: [action:a256]: too many [action:*] sections");
	free(t);

	t = gen_many("user", SL_MAX_USERS);
	expect_ok(t);
	assert_int_equal(cfg->nusers, SL_MAX_USERS);
	free(t);
	t = gen_many("user", SL_MAX_USERS + 1);
	expect_err(t, "t.conf:2050: [user:u1024]: too many [user:*] sections");
	free(t);
}

/* ---- lines: comments, long lines, odd bytes --------------------------- */

static void
test_comments(void **state)
{
	(void)state;
	expect_ok("# comment\n; comment\n   # indented\n\t; tab\n\n"
	    P "# [server:commented]\n" S
	    "[action:a]\nid = 1\n"
	    "constructor = /bin/sh -c 'a; b' # not a comment ; nor this\n"
	    "destructor = ;starts with a semicolon\n");
	assert_int_equal(cfg->nservers, 1);
	assert_string_equal(cfg->actions[0].constructor,
	    "/bin/sh -c 'a; b' # not a comment ; nor this");
	assert_string_equal(cfg->actions[0].destructor,
	    ";starts with a semicolon");

	/* CRLF line ends, and a UTF-8 byte order mark */
	expect_ok("\xef\xbb\xbfpriv_key_path = /k.pem\r\n[server:s]\r\nport = 7\r\n");
	assert_string_equal(cfg->priv_key_path, "/k.pem");
	assert_int_equal(cfg->servers[0].port, 7);
	expect_ok("\xef\xbb\xbf[server:s]\npriv_key_path = /k\n");
	expect_err(P S "port = 7\n\xef\xbb\xbfport = 8\n",
	    "t.conf:4: [server:s] key '\xef\xbb\xbfport': unknown key");
	expect_err(P S "\r\nfoo = 1\r\n", "t.conf:4: [server:s] key 'foo'");
}

static void
test_long_lines(void **state)
{
	static char text[3 * 10000];
	const size_t max = 4095; /* longest line, without its line end */
	size_t n;

	(void)state;
	/* a comment line of exactly the longest length */
	n = (size_t)snprintf(text, sizeof(text), P S);
	memset(text + n, '#', max);
	snprintf(text + n + max, sizeof(text) - n - max, "\nport = 9\n");
	expect_ok(text);
	assert_int_equal(cfg->servers[0].port, 9);
	/* ... with CRLF */
	snprintf(text + n + max, sizeof(text) - n - max, "\r\nport = 9\r\n");
	expect_ok(text);
	/* a longest key = value line reaches the handler whole */
	n = (size_t)snprintf(text, sizeof(text), P S "log_file = /");
	memset(text + n, 'x', max - strlen("log_file = /"));
	snprintf(text + n + max - strlen("log_file = /"), sizeof(text) - n - max,
	    "\n");
	assert_int_equal(strlen(text), strlen(P S) + max + 1);
	expect_err(text, "t.conf:3: [server:s] key 'log_file': value too long");
	/* a header that inih would see after a stray CR is still a header */
	expect_err(P S "\r [bogus]\nport = 1\n", "t.conf:3: [bogus]: unknown section");
	/* one more: refused, naming its line; the tail is not parsed */
	n = (size_t)snprintf(text, sizeof(text), P S);
	memset(text + n, '#', max + 1);
	snprintf(text + n + max + 1, sizeof(text) - n - max - 1, "\nport = 9\n");
	expect_err(text, "t.conf:3: line too long (at most 4095 characters)");
	/* a long key = value line whose tail would parse as a line of its own */
	n = (size_t)snprintf(text, sizeof(text), P S "log_file = /");
	memset(text + n, 'x', 5000);
	snprintf(text + n + 5000 - 9, sizeof(text) - n - 5000 + 9,
	    "port=1\nport = 9\n");
	expect_err(text, "t.conf:3: line too long");
	/* very long, at the end without a newline */
	n = (size_t)snprintf(text, sizeof(text), P S "\n\n");
	memset(text + n, ' ', 20000);
	text[n + 20000] = '\0';
	expect_err(text, "t.conf:5: line too long");
	/* a long line that fits, but its value does not */
	n = (size_t)snprintf(text, sizeof(text), P S "log_file = /");
	memset(text + n, 'x', 2000);
	text[n + 2000] = '\0';
	expect_err(text, "t.conf:3: [server:s] key 'log_file': value too long");
}

/* ---- files ------------------------------------------------------------ */

static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static size_t
read_file(const char *path, void *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	assert_true(n > 0 && n < cap);
	return n;
}

static void
test_files(void **state)
{
	static const char nul_conf[] = P S "port = 7\0 8\n";
	char path[512], want[600];

	(void)state;
	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	assert_int_equal(config_parse(cfg, path, err, sizeof(err)), SL_ECONFIG);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory",
	    path);
	assert_string_equal(err, want);

	assert_int_equal(config_parse(cfg, tmpdir, err, sizeof(err)), SL_ECONFIG);
	snprintf(want, sizeof(want), "%s: not a regular file", tmpdir);
	assert_string_equal(err, want);

	snprintf(path, sizeof(path), "%s/nul.conf", tmpdir);
	write_file(path, nul_conf, sizeof(nul_conf) - 1, 0644);
	assert_int_equal(config_parse(cfg, path, err, sizeof(err)), SL_ECONFIG);
	snprintf(want, sizeof(want), "%s:3: line contains a NUL byte", path);
	assert_string_equal(err, want);

	/* errors name the file as given */
	snprintf(path, sizeof(path), "%s/bad.conf", tmpdir);
	write_file(path, P S "wat = 1\n", strlen(P S "wat = 1\n"), 0644);
	assert_int_equal(config_parse(cfg, path, err, sizeof(err)), SL_ECONFIG);
	snprintf(want, sizeof(want), "%s:3: [server:s] key 'wat': unknown key",
	    path);
	assert_string_equal(err, want);

	snprintf(path, sizeof(path), "%s/good.conf", tmpdir);
	write_file(path, P S "port = 6\n", strlen(P S "port = 6\n"), 0644);
	assert_int_equal(config_parse(cfg, path, err, sizeof(err)), 0);
	assert_string_equal(cfg->path, path);
	assert_int_equal(cfg->servers[0].port, 6);
	unlink(path);
	snprintf(path, sizeof(path), "%s/nul.conf", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/bad.conf", tmpdir);
	unlink(path);
}

static unsigned
count_warnings(const char *needle)
{
	static char buf[65536];
	FILE *f = fopen(logpath, "r");
	unsigned n = 0;

	if (f == NULL)
		return 0;
	while (fgets(buf, sizeof(buf), f) != NULL)
		if (strstr(buf, "SL005") != NULL && strstr(buf, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

static void
test_deaddrops(void **state)
{
	unsigned before = count_warnings("[deaddrop:");

	(void)state;
	/* any keys, even repeated ones, one warning per section */
	expect_ok(P S "[deaddrop:d1]\nstarts_with = x\nstarts_with = y\nfoo=1\n"
	    "[deaddrop:d2]\nconstructor = /bin/sh -c rm\n");
	assert_int_equal(count_warnings("[deaddrop:") - before, 2);
	assert_int_equal(count_warnings("t.conf:3: [deaddrop:d1]"), 1);
	assert_int_equal(count_warnings("t.conf:7: [deaddrop:d2]"), 1);
	/* nothing of them reaches the config */
	assert_int_equal(cfg->nactions, 0);
}

static void
test_sample_1_0(void **state)
{
	static const char *const path = "tests/vectors/server.conf.1.0-sample";
	const struct cfg_server *s;
	const struct cfg_action *a;
	const struct cfg_user *u;
	unsigned before = count_warnings(path);
	unsigned i;

	(void)state;
	if (config_parse(cfg, path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(count_warnings(path) - before, 2);
	assert_int_equal(count_warnings("server.conf.1.0-sample:20: "
	    "[deaddrop:message]"), 1);
	assert_int_equal(count_warnings("server.conf.1.0-sample:26: "
	    "[deaddrop:pubkey]"), 1);

	assert_string_equal(cfg->log_file, "/tmp/siglatch.log");
	assert_int_equal(cfg->nservers, 2);
	s = &cfg->servers[0];
	assert_string_equal(s->name, "secure");
	assert_true(s->enabled && s->secure && s->logging);
	assert_int_equal(s->port, 50000);
	assert_string_equal(s->priv_key_path, "/etc/siglatch/server_priv.pem");
	assert_int_equal(s->priv_key_line, 8);
	for (i = 0; i < SL_MAX_ACTIONS; i++)
		assert_int_equal(idset_has(&s->actions, i), i >= 1 && i <= 4);
	s = &cfg->servers[1];
	assert_string_equal(s->name, "insecure");
	assert_false(s->enabled);
	assert_false(s->secure);
	assert_int_equal(s->port, 50001);

	assert_int_equal(cfg->nactions, 5);
	a = config_action_by_id(cfg, 1);
	assert_non_null(a);
	assert_string_equal(a->name, "grant_ip");
	assert_string_equal(a->constructor,
	    "/usr/bin/perl /etc/siglatch/scripts/ipAuth/grant.pl");
	assert_true(a->exec_split);
	assert_int_equal(a->keepalive_interval, 300);
	assert_string_equal(config_action_by_id(cfg, 4)->name, "flush_ips");
	assert_null(config_action_by_id(cfg, 5));
	a = &cfg->actions[4];
	assert_string_equal(a->name, "run_script");
	assert_false(a->enabled);
	assert_int_equal(a->id, -1);
	assert_string_equal(a->destructor, "/usr/local/bin/undo_something.sh");
	assert_int_equal(a->keepalive_interval, 600);

	assert_int_equal(cfg->nusers, 1);
	u = config_user_by_id(cfg, 1);
	assert_non_null(u);
	assert_string_equal(u->name, "root");
	assert_string_equal(u->key_file, "/etc/siglatch/keys/root.pub.pem");
	assert_string_equal(u->hmac_file, "/etc/siglatch/keys/root.hmac.key");
	assert_int_equal(u->hmac_file_line, 63);
	for (i = 0; i < SL_MAX_ACTIONS; i++)
		assert_int_equal(idset_has(&u->actions, i), i >= 1 && i <= 4);
	/* the top level took its defaults */
	assert_int_equal(cfg->timestamp_window, 120);
	assert_int_equal(cfg->replay_cache_size, 65536);
}

/* ---- lookups ---------------------------------------------------------- */

static void
test_lookups(void **state)
{
	unsigned i, n;

	(void)state;
	expect_ok(P S
	    "[action:a]\nid = 1\nconstructor = /x\n"
	    "[action:d]\nid = 2\nconstructor = /x\nenabled = no\n"
	    "[action:n]\nenabled = no\n"
	    "[user:u]\nid = 1\nenabled = yes\nhmac_file = /h\n"
	    "[user:v]\nid = 65535\nhmac_file = /h\n"
	    "[user:w]\nid = 0\nenabled = yes\nhmac_file = /h\n");
	assert_string_equal(config_action_by_id(cfg, 1)->name, "a");
	assert_null(config_action_by_id(cfg, 2));  /* disabled */
	assert_int_equal(cfg->action_by_id[2], 1);
	assert_null(config_action_by_id(cfg, 0));
	assert_null(config_action_by_id(cfg, 255));
	for (i = 0, n = 0; i < SL_MAX_ACTIONS; i++)
		n += cfg->action_by_id[i] >= 0;
	assert_int_equal(n, 2);

	assert_string_equal(config_user_by_id(cfg, 1)->name, "u");
	assert_string_equal(config_user_by_id(cfg, 0)->name, "w");
	assert_null(config_user_by_id(cfg, 65535)); /* disabled */
	assert_int_equal(cfg->user_by_id[65535], 1);
	assert_null(config_user_by_id(cfg, 2));
	for (i = 0, n = 0; i < 65536; i++)
		n += cfg->user_by_id[i] >= 0;
	assert_int_equal(n, 3);

	/* a second parse starts from scratch */
	expect_ok(P S);
	assert_int_equal(cfg->nactions, 0);
	assert_int_equal(cfg->nusers, 0);
	assert_null(config_user_by_id(cfg, 1));
	assert_null(config_action_by_id(cfg, 1));
	/* and a failed one leaves nothing to free */
	expect_err(P S "x = 1\n", "t.conf:3:");
	config_wipe_keys(cfg);
}

/* ---- key loading ------------------------------------------------------ */

static void
test_load_keys(void **state)
{
	static uint8_t pem[16384], hex[512];
	char srv[300], hkey[300], text[2048], want[1024];
	uint8_t key[SL_HMAC_KEY_LEN], zero[SL_HMAC_KEY_LEN] = { 0 };
	size_t npem, nhex;

	(void)state;
	npem = read_file("tests/vectors/server.priv.pem", pem, sizeof(pem));
	nhex = read_file("tests/vectors/user1.hmac.key", hex, sizeof(hex));
	assert_int_equal(crypto_parse_hmac_key(hex, nhex, key), 0);
	snprintf(srv, sizeof(srv), "%s/server.pem", tmpdir);
	snprintf(hkey, sizeof(hkey), "%s/user1.key", tmpdir);
	write_file(srv, pem, npem, 0600);
	write_file(hkey, hex, nhex, 0644);

	snprintf(text, sizeof(text), "priv_key_path = %s\n[server:s]\n"
	    "[user:u]\nid = 1\nenabled = yes\nhmac_file = %s\n"
	    "[user:off]\nid = 2\nhmac_file = /nonexistent\n", srv, hkey);
	expect_ok(text);
	/* a 0644 HMAC key is refused, naming config line, file and fix */
	assert_int_equal(config_load_keys(cfg, err, sizeof(err)), SL_EPERM);
	snprintf(want, sizeof(want), "t.conf:6: [user:u] key 'hmac_file': %s",
	    hkey);
	assert_memory_equal(err, want, strlen(want));
	snprintf(want, sizeof(want), "chmod 600 %s", hkey);
	assert_non_null(strstr(err, want));
	config_wipe_keys(cfg);
	assert_null(cfg->servers[0].priv);

	/* 0600 is accepted; the disabled user's missing file is not read */
	assert_int_equal(chmod(hkey, 0600), 0);
	if (config_load_keys(cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_non_null(cfg->servers[0].priv);
	assert_memory_equal(cfg->users[0].hmac_key, key, sizeof(key));
	assert_memory_equal(cfg->users[1].hmac_key, zero, sizeof(zero));
	config_wipe_keys(cfg);
	assert_null(cfg->servers[0].priv);
	assert_memory_equal(cfg->users[0].hmac_key, zero, sizeof(zero));

	/* a 0644 private key, given at the top level */
	assert_int_equal(chmod(srv, 0644), 0);
	assert_int_equal(config_load_keys(cfg, err, sizeof(err)), SL_EPERM);
	snprintf(want, sizeof(want), "t.conf:1: key 'priv_key_path' (for "
	    "[server:s]): %s", srv);
	assert_memory_equal(err, want, strlen(want));
	snprintf(want, sizeof(want), "chmod 600 %s", srv);
	assert_non_null(strstr(err, want));
	config_wipe_keys(cfg);

	/* ... given in the server section */
	snprintf(text, sizeof(text), "[server:s]\npriv_key_path = %s\n", srv);
	expect_ok(text);
	assert_int_equal(config_load_keys(cfg, err, sizeof(err)), SL_EPERM);
	snprintf(want, sizeof(want), "t.conf:2: [server:s] key "
	    "'priv_key_path': %s", srv);
	assert_memory_equal(err, want, strlen(want));
	config_wipe_keys(cfg);
	assert_int_equal(chmod(srv, 0600), 0);

	/* a missing HMAC key file; then one that is not a key */
	snprintf(text, sizeof(text), "[server:s]\npriv_key_path = %s\n"
	    "[user:u]\nid = 1\nenabled = yes\nhmac_file = %s/none\n", srv, tmpdir);
	expect_ok(text);
	assert_int_equal(config_load_keys(cfg, err, sizeof(err)), SL_ESYS);
	snprintf(want, sizeof(want), "t.conf:6: [user:u] key 'hmac_file': "
	    "%s/none: No such file or directory", tmpdir);
	assert_string_equal(err, want);
	config_wipe_keys(cfg);
	snprintf(text, sizeof(text), "[server:s]\npriv_key_path = %s\n"
	    "[user:u]\nid = 1\nenabled = yes\nhmac_file = %s\n", srv, srv);
	expect_ok(text);
	assert_int_equal(config_load_keys(cfg, err, sizeof(err)), SL_EKEY);
	snprintf(want, sizeof(want), "t.conf:6: [user:u] key 'hmac_file': %s: ",
	    srv);
	assert_memory_equal(err, want, strlen(want));
	config_wipe_keys(cfg);

	/* a disabled server's key is not read */
	snprintf(text, sizeof(text), "[server:s]\npriv_key_path = %s\n"
	    "[server:off]\nenabled = no\nport = 1\npriv_key_path = /none\n", srv);
	expect_ok(text);
	assert_int_equal(config_load_keys(cfg, err, sizeof(err)), 0);
	assert_null(cfg->servers[1].priv);
	config_wipe_keys(cfg);

	unlink(srv);
	unlink(hkey);
}

/* ---- owners and modes of the files the config trusts ------------------ */

/* Write the config at cpath naming constructor (and destructor, if not
 * NULL), parse it, and run config_check_files. */
static int
check_files_of(const char *cpath, const char *hkey, const char *ctor,
    const char *dtor)
{
	char text[4096];
	int n;

	n = snprintf(text, sizeof(text), "[server:s]\npriv_key_path = /k\n"
	    "actions = a\n[action:a]\nid = 1\nconstructor = %s\n", ctor);
	if (dtor != NULL)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "destructor = "
		    "%s\nkeepalive_interval = 60\n", dtor);
	snprintf(text + n, sizeof(text) - (size_t)n, "[user:u]\nid = 1\n"
	    "enabled = yes\nhmac_file = %s\nactions = a\n", hkey);
	unlink(cpath);
	write_file(cpath, text, strlen(text), 0644);
	if (config_parse(cfg, cpath, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	err[0] = '\0';
	return config_check_files(cfg, err, sizeof(err));
}

static void
expect_refused(int rc, const char *want)
{
	if (rc != SL_EPERM || strcmp(err, want) != 0)
		fail_msg("rc %d, err:\n  %s\nexpected:\n  %s", rc, err, want);
}

static void
test_check_files(void **state)
{
	char d[300], conf[400], sdir[400], pub[400], sh[500], sh2[500],
	    keys[400], hkey[500], ctor[1100], want[2048];
	unsigned warned;

	(void)state;
	/* tmpdir is ours, 0700, in sticky /tmp */
	snprintf(d, sizeof(d), "%s/cf", tmpdir);
	snprintf(conf, sizeof(conf), "%s/server.conf", d);
	snprintf(sdir, sizeof(sdir), "%s/scripts", d);
	snprintf(pub, sizeof(pub), "%s/pub", d);
	snprintf(keys, sizeof(keys), "%s/keys", d);
	snprintf(sh, sizeof(sh), "%s/open.sh", sdir);
	snprintf(sh2, sizeof(sh2), "%s/close.sh", sdir);
	snprintf(hkey, sizeof(hkey), "%s/u.hmac", keys);
	assert_int_equal(mkdir(d, 0755), 0);
	assert_int_equal(mkdir(sdir, 0755), 0);
	assert_int_equal(mkdir(keys, 0700), 0);
	assert_int_equal(mkdir(pub, 0755), 0);
	assert_int_equal(chmod(pub, 01777), 0);
	write_file(sh, "#!/bin/sh\n", 10, 0755);
	write_file(sh2, "#!/bin/sh\n", 10, 0755);
	write_file(hkey, "x", 1, 0600);

	/* all in order: the program with its argument, a destructor */
	snprintf(ctor, sizeof(ctor), "%s --flag", sh);
	assert_int_equal(check_files_of(conf, hkey, ctor, sh2), 0);

	/* the config file itself */
	assert_int_equal(chmod(conf, 0664), 0);
	assert_int_equal(config_check_files(cfg, err, sizeof(err)), SL_EPERM);
	snprintf(want, sizeof(want), "%s: writable by group or others (mode "
	    "0664); fix with: chmod go-w %s", conf, conf);
	assert_string_equal(err, want);
	assert_int_equal(chmod(conf, 0646), 0);
	assert_int_equal(config_check_files(cfg, err, sizeof(err)), SL_EPERM);
	assert_int_equal(chmod(conf, 0644), 0);

	/* a directory above it: others may write it; sticky is fine */
	assert_int_equal(chmod(d, 0775), 0);
	snprintf(want, sizeof(want), "%s: directory %s is writable by group "
	    "or others (mode 0775); fix with: chmod go-w %s", conf, d, d);
	expect_refused(config_check_files(cfg, err, sizeof(err)), want);
	assert_int_equal(chmod(d, 01777), 0);
	assert_int_equal(config_check_files(cfg, err, sizeof(err)), 0);
	assert_int_equal(chmod(d, 0755), 0);

	/* the constructor's program (line 6), the destructor (line 7) */
	assert_int_equal(chmod(sh, 0775), 0);
	snprintf(want, sizeof(want), "%s:6: [action:a] key 'constructor': %s: "
	    "writable by group or others (mode 0775); fix with: chmod go-w %s",
	    conf, sh, sh);
	expect_refused(config_check_files(cfg, err, sizeof(err)), want);
	assert_int_equal(chmod(sh, 0755), 0);
	assert_int_equal(chmod(sh2, 0757), 0);
	snprintf(want, sizeof(want), "%s:7: [action:a] key 'destructor': %s: "
	    "writable by group or others (mode 0757); fix with: chmod go-w %s",
	    conf, sh2, sh2);
	expect_refused(config_check_files(cfg, err, sizeof(err)), want);
	assert_int_equal(chmod(sh2, 0755), 0);
	assert_int_equal(chmod(sdir, 0777), 0);
	snprintf(want, sizeof(want), "%s:6: [action:a] key 'constructor': %s: "
	    "directory %s is writable by group or others (mode 0777); fix "
	    "with: chmod go-w %s", conf, sh, sdir, sdir);
	expect_refused(config_check_files(cfg, err, sizeof(err)), want);
	assert_int_equal(chmod(sdir, 0755), 0);
	assert_int_equal(config_check_files(cfg, err, sizeof(err)), 0);

	/* an interpreter's script */
	snprintf(ctor, sizeof(ctor), "/bin/sh %s", sh);
	assert_int_equal(chmod(sh, 0666), 0);
	snprintf(want, sizeof(want), "%s:6: [action:a] key 'constructor': %s: "
	    "writable by group or others (mode 0666); fix with: chmod go-w %s",
	    conf, sh, sh);
	expect_refused(check_files_of(conf, hkey, ctor, NULL), want);
	assert_int_equal(chmod(sh, 0644), 0);
	assert_int_equal(config_check_files(cfg, err, sizeof(err)), 0);

	/* a program that does not exist: a warning where only its owner can
	 * create it, refused where anyone can */
	warned = count_warnings("does not exist");
	snprintf(ctor, sizeof(ctor), "%s/missing/deeper.sh", sdir);
	assert_int_equal(check_files_of(conf, hkey, ctor, NULL), 0);
	assert_int_equal(count_warnings("does not exist"), warned + 1);
	snprintf(ctor, sizeof(ctor), "%s/missing.sh", pub);
	snprintf(want, sizeof(want), "%s:6: [action:a] key 'constructor': %s: "
	    "does not exist, and group or others may create it in %s (mode "
	    "1777); create it, or use a directory only its owner may write",
	    conf, ctor, pub);
	expect_refused(check_files_of(conf, hkey, ctor, NULL), want);
	/* a relative one is never run: nothing to check */
	assert_int_equal(check_files_of(conf, hkey, "open.sh", NULL), 0);

	/* a key's directories (the key itself: config_load_keys) */
	assert_int_equal(chmod(keys, 0733), 0);
	snprintf(want, sizeof(want), "%s:10: [user:u] key 'hmac_file': %s: "
	    "directory %s is writable by group or others (mode 0733); fix "
	    "with: chmod go-w %s", conf, hkey, keys, keys);
	expect_refused(check_files_of(conf, hkey, sh, NULL), want);
	assert_int_equal(chmod(keys, 0700), 0);
	assert_int_equal(config_check_files(cfg, err, sizeof(err)), 0);

	/* owners: root's or ours, nobody else's (needs root to arrange) */
	if (geteuid() == 0) {
		assert_int_equal(chown(conf, 65534, 0), 0);
		snprintf(want, sizeof(want), "%s: owned by uid 65534, not by "
		    "root; fix with: chown root %s", conf, conf);
		expect_refused(config_check_files(cfg, err, sizeof(err)), want);
		assert_int_equal(chown(conf, 0, 0), 0);
		assert_int_equal(chown(sh, 65534, 0), 0);
		assert_int_equal(config_check_files(cfg, err, sizeof(err)),
		    SL_EPERM);
		assert_non_null(strstr(err, "key 'constructor': "));
		assert_non_null(strstr(err, "owned by uid 65534"));
		assert_int_equal(chown(sh, 0, 0), 0);
		assert_int_equal(chown(sdir, 65534, 0), 0);
		snprintf(want, sizeof(want), "%s:6: [action:a] key "
		    "'constructor': %s: directory %s is owned by uid 65534, not "
		    "by root; fix with: chown root %s", conf, sh, sdir, sdir);
		expect_refused(config_check_files(cfg, err, sizeof(err)), want);
		assert_int_equal(chown(sdir, 0, 0), 0);
		assert_int_equal(config_check_files(cfg, err, sizeof(err)), 0);
	}

	unlink(conf);
	unlink(sh);
	unlink(sh2);
	unlink(hkey);
	rmdir(sdir);
	rmdir(pub);
	rmdir(keys);
	rmdir(d);
}

/* A key file must belong to root or to whoever runs siglatchd (root). */
static void
test_key_owner(void **state)
{
	static uint8_t pem[16384], hex[512];
	char srv[300], hkey[300], text[1024], want[1024];
	size_t npem, nhex;

	(void)state;
	if (geteuid() != 0)
		skip();
	npem = read_file("tests/vectors/server.priv.pem", pem, sizeof(pem));
	nhex = read_file("tests/vectors/user1.hmac.key", hex, sizeof(hex));
	snprintf(srv, sizeof(srv), "%s/owner.pem", tmpdir);
	snprintf(hkey, sizeof(hkey), "%s/owner.key", tmpdir);
	write_file(srv, pem, npem, 0600);
	write_file(hkey, hex, nhex, 0600);
	snprintf(text, sizeof(text), "[server:s]\npriv_key_path = %s\n"
	    "[user:u]\nid = 1\nenabled = yes\nhmac_file = %s\n", srv, hkey);
	expect_ok(text);
	assert_int_equal(config_load_keys(cfg, err, sizeof(err)), 0);
	config_wipe_keys(cfg);

	assert_int_equal(chown(hkey, 65534, 65534), 0);
	assert_int_equal(config_load_keys(cfg, err, sizeof(err)), SL_EPERM);
	snprintf(want, sizeof(want), "t.conf:6: [user:u] key 'hmac_file': %s: "
	    "owned by uid 65534, not by root; fix with: chown root %s", hkey,
	    hkey);
	assert_string_equal(err, want);
	config_wipe_keys(cfg);
	assert_int_equal(chown(hkey, 0, 0), 0);

	assert_int_equal(chown(srv, 65534, 65534), 0);
	assert_int_equal(config_load_keys(cfg, err, sizeof(err)), SL_EPERM);
	snprintf(want, sizeof(want), "t.conf:2: [server:s] key "
	    "'priv_key_path': %s: owned by uid 65534, not by root; fix with: "
	    "chown root %s", srv, srv);
	assert_string_equal(err, want);
	config_wipe_keys(cfg);

	unlink(srv);
	unlink(hkey);
}

/* ---- diagnostics: new keys, -t checks, messages, fingerprints -------- */

static void
test_diag_keys(void **state)
{
	(void)state;
	expect_ok(P S);
	assert_string_equal(cfg->log_format, "text");
	assert_false(cfg->log_json);
	assert_string_equal(cfg->metrics_file, "");
	expect_ok("log_format = json\n" P S);
	assert_true(cfg->log_json);
	expect_ok("log_format = text\nmetrics_file = siglatchd.prom\n" P S);
	assert_false(cfg->log_json);
	assert_string_equal(cfg->metrics_file, "siglatchd.prom");
	expect_err("log_format = JSON\n" P S,
	    "t.conf:1: key 'log_format': 'JSON': expected text or json");
	expect_err(P "log_format = \n" S,
	    "t.conf:2: key 'log_format': '': expected text or json");
	expect_err(P "metrics_file = /var/lib/node/\n" S,
	    "t.conf:2: key 'metrics_file': '/var/lib/node/' is a directory");
	expect_err("metrics_file = ..\n" P S,
	    "t.conf:1: key 'metrics_file': '..' is a directory");
}

static void
test_public_as_private(void **state)
{
	static uint8_t pem[16384];
	char pub[300], text[1024], want[600];
	size_t n;

	(void)state;
	n = read_file("tests/vectors/server.pub.pem", pem, sizeof(pem));
	snprintf(pub, sizeof(pub), "%s/pub.pem", tmpdir);
	/* 0644, as a public key is: the message is about what it is, not
	 * about its mode */
	write_file(pub, pem, n, 0644);
	snprintf(text, sizeof(text), "priv_key_path = %s\n[server:s]\n", pub);
	expect_ok(text);
	assert_int_equal(config_load_keys(cfg, err, sizeof(err)), SL_EKEY);
	snprintf(want, sizeof(want), "t.conf:1: key 'priv_key_path' (for "
	    "[server:s]): %s: this is a public key", pub);
	if (strncmp(err, want, strlen(want)) != 0 || strstr(err, "chmod"))
		fail_msg("got: %s", err);
	config_wipe_keys(cfg);
	assert_int_equal(chmod(pub, 0600), 0);
	assert_int_equal(config_load_keys(cfg, err, sizeof(err)), SL_EKEY);
	assert_non_null(strstr(err, "this is a public key"));
	config_wipe_keys(cfg);
	unlink(pub);
}

static void
test_check_start(void **state)
{
	char text[2048], dir[300], want[600];

	(void)state;
	/* state_dir whose parent does not exist */
	snprintf(text, sizeof(text), P "state_dir = %s/no/state\n" S, tmpdir);
	expect_ok(text);
	assert_int_equal(config_check_start(cfg, err, sizeof(err)),
	    SL_ECONFIG);
	snprintf(want, sizeof(want), "t.conf: state_dir %s/no/state: its "
	    "parent %s/no does not exist", tmpdir, tmpdir);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got: %s", err);
	/* parent writable by others, not sticky */
	snprintf(dir, sizeof(dir), "%s/open", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	snprintf(text, sizeof(text), P "state_dir = %s/state/\n" S, dir);
	expect_ok(text);
	assert_int_equal(config_check_start(cfg, err, sizeof(err)), SL_EPERM);
	assert_non_null(strstr(err, "is writable by others (mode 0777)"));
	/* sticky, and state_dir not there: anyone could make it first */
	assert_int_equal(chmod(dir, 01777), 0);
	assert_int_equal(config_check_start(cfg, err, sizeof(err)), SL_EPERM);
	assert_non_null(strstr(err, "anyone may create it"));
	/* sticky, state_dir there and private: fine */
	snprintf(text, sizeof(text), "%s/state", dir);
	assert_int_equal(mkdir(text, 0700), 0);
	if (config_check_start(cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	/* state_dir writable by others */
	assert_int_equal(chmod(text, 0777), 0);
	assert_int_equal(config_check_start(cfg, err, sizeof(err)), SL_EPERM);
	assert_non_null(strstr(err, "writable by others (mode 0777); fix with: "
	    "chmod 700"));
	rmdir(text);
	rmdir(dir);
	/* warnings: a disabled user, an action no one may run */
	snprintf(text, sizeof(text), P "state_dir = %s\n" S "actions = a\n"
	    "[action:a]\nid = 1\nconstructor = /bin/true\n"
	    "[action:b]\nid = 2\nconstructor = /bin/true\n"
	    "[user:zed]\nid = 4\nactions = a, b\n", tmpdir);
	expect_ok(text);
	{
		unsigned du = count_warnings("[user:zed]: disabled"),
		    na = count_warnings("[action:b]: no enabled user"),
		    nb = count_warnings("[action:a]: no enabled user");

		assert_int_equal(config_check_start(cfg, err, sizeof(err)), 0);
		assert_int_equal(count_warnings("t.conf:11: [user:zed]: "
		    "disabled"), du + 1);
		assert_int_equal(count_warnings("[action:b]: no enabled user"),
		    na + 1);
		assert_int_equal(count_warnings("[action:a]: no enabled user"),
		    nb + 1);
	}
}

static void
test_fingerprints(void **state)
{
	char a[CRYPTO_FP_LEN], b[CRYPTO_FP_LEN], e[256];
	uint8_t k1[SL_HMAC_KEY_LEN], k2[SL_HMAC_KEY_LEN];

	(void)state;
	assert_int_equal(crypto_fp_file("tests/vectors/server.priv.pem", a,
	    sizeof(a), e, sizeof(e)), 0);
	assert_int_equal(crypto_fp_file("tests/vectors/server.pub.pem", b,
	    sizeof(b), e, sizeof(e)), 0);
	assert_string_equal(a, b);          /* the same public half */
	assert_int_equal(strncmp(a, "SHA256:", 7), 0);
	assert_int_equal(strlen(a), 7 + 43);  /* unpadded base64 of 32 bytes */
	memset(k1, 0x11, sizeof(k1));
	memcpy(k2, k1, sizeof(k2));
	k2[31] ^= 1;
	assert_int_equal(crypto_fp_hmac(k1, a, sizeof(a)), 0);
	assert_int_equal(crypto_fp_hmac(k2, b, sizeof(b)), 0);
	assert_int_equal(strncmp(a, "HMAC-SHA256:", 12), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(crypto_fp_hmac(k1, b, 20), SL_ETOOBIG);
	assert_int_equal(crypto_fp_file("tests/vectors/nonexistent", a,
	    sizeof(a), e, sizeof(e)), SL_ESYS);
}

static int
setup(void **state)
{
	(void)state;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL || mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(logpath, sizeof(logpath), "%s/log", tmpdir);
	log_init("test_config", 1, 0);
	return log_set_file(logpath) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	log_close();
	unlink(logpath);
	rmdir(tmpdir);
	free(cfg);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_and_defaults),
		cmocka_unit_test(test_defaults_special),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_value_fits),
		cmocka_unit_test(test_run_as),
		cmocka_unit_test(test_penalty_order),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_bind_conflicts),
		cmocka_unit_test(test_section_limits),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_deaddrops),
		cmocka_unit_test(test_sample_1_0),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_load_keys),
		cmocka_unit_test(test_check_files),
		cmocka_unit_test(test_key_owner),
		cmocka_unit_test(test_diag_keys),
		cmocka_unit_test(test_public_as_private),
		cmocka_unit_test(test_check_start),
		cmocka_unit_test(test_fingerprints),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
