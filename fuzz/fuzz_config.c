/*
 * fuzz_config.c - the configuration parser on arbitrary text.
 *
 * The input is parsed twice: cut at its first NUL, from a string with
 * config_parse_string(), and whole from a file with config_parse() (a
 * memfd, so no real file is touched); both readers must agree on the
 * result, the message and every byte of the struct.  A failure must be SL_ECONFIG with a "FILE:LINE:" message.  A
 * configuration that parses must respect every limit and rule of
 * docs/CONFIG.md that the daemon relies on, and its lookups must agree with
 * its tables.  Keys are never loaded.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

#define ERR_LEN 1024

static struct config *cfg_a, *cfg_b;
static int mfd = -1;
static char mpath[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_SETUP((cfg_a = calloc(1, sizeof(*cfg_a))) != NULL);
	FUZZ_SETUP((cfg_b = calloc(1, sizeof(*cfg_b))) != NULL);
	FUZZ_SETUP((mfd = memfd_create("fuzz.conf", MFD_CLOEXEC)) >= 0);
	snprintf(mpath, sizeof(mpath), "/proc/self/fd/%d", mfd);
	return 0;
}

static int
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void
check_cidrs(const struct sl_cidr_list *l)
{
	unsigned i;

	FUZZ_CHECK(l->n <= SL_MAX_CIDRS);
	for (i = 0; i < l->n; i++) {
		const struct sl_cidr *c = &l->c[i];

		FUZZ_CHECK(c->addr.family == AF_INET ||
		    c->addr.family == AF_INET6);
		FUZZ_CHECK(c->prefix <= (c->addr.family == AF_INET ? 32 : 128));
	}
}

/* Every id in the set names exactly one action that has it. */
static void
check_idset(const struct config *cfg, const struct sl_idset *s)
{
	unsigned id;

	for (id = 0; id < SL_MAX_ACTIONS; id++) {
		if (!idset_has(s, id))
			continue;
		FUZZ_CHECK(cfg->action_by_id[id] >= 0);
		FUZZ_CHECK(cfg->actions[cfg->action_by_id[id]].id == (int)id);
	}
}

static void
check_user_lookup(const struct config *cfg, uint16_t id)
{
	const struct cfg_user *u = config_user_by_id(cfg, id);
	int i = cfg->user_by_id[id];

	FUZZ_CHECK(i >= -1 && i < (int)cfg->nusers);
	if (i >= 0)
		FUZZ_CHECK(cfg->users[i].id == id);
	if (u != NULL)
		FUZZ_CHECK(u == &cfg->users[i] && u->enabled);
	else
		FUZZ_CHECK(i < 0 || !cfg->users[i].enabled);
}

static void
check_valid(const struct config *cfg, const uint8_t *data, size_t size)
{
	unsigned i, nenabled = 0;

	FUZZ_CHECK(cfg->timestamp_window >= 1 && cfg->timestamp_window <= 3600);
	FUZZ_CHECK(cfg->script_timeout >= 1 && cfg->script_timeout <= 86400);
	FUZZ_CHECK(cfg->max_scripts >= 1 && cfg->max_scripts <= 1024);
	FUZZ_CHECK(cfg->replay_cache_size >= 16 &&
	    cfg->replay_cache_size <= 1048576);
	FUZZ_CHECK(terminated(cfg->path, sizeof(cfg->path)) &&
	    terminated(cfg->log_file, sizeof(cfg->log_file)) &&
	    terminated(cfg->priv_key_path, sizeof(cfg->priv_key_path)) &&
	    terminated(cfg->state_dir, sizeof(cfg->state_dir)));
	FUZZ_CHECK(cfg->nservers <= SL_MAX_SERVERS);
	FUZZ_CHECK(cfg->nactions <= SL_MAX_ACTIONS);
	FUZZ_CHECK(cfg->nusers <= SL_MAX_USERS);

	for (i = 0; i < cfg->nservers; i++) {
		const struct cfg_server *s = &cfg->servers[i];

		FUZZ_CHECK(terminated(s->name, sizeof(s->name)) &&
		    s->name[0] != '\0');
		FUZZ_CHECK(terminated(s->bind_ip, sizeof(s->bind_ip)) &&
		    terminated(s->priv_key_path, sizeof(s->priv_key_path)) &&
		    terminated(s->log_file, sizeof(s->log_file)));
		FUZZ_CHECK(s->priv == NULL);
		check_cidrs(&s->allowed_ips);
		check_idset(cfg, &s->actions);
		if (!s->enabled)
			continue;
		nenabled++;
		FUZZ_CHECK(s->secure && s->port >= 1);
		FUZZ_CHECK(s->priv_key_path[0] != '\0' ||
		    cfg->priv_key_path[0] != '\0');
	}
	FUZZ_CHECK(nenabled > 0);

	for (i = 0; i < cfg->nactions; i++) {
		const struct cfg_action *a = &cfg->actions[i];

		FUZZ_CHECK(terminated(a->name, sizeof(a->name)) &&
		    a->name[0] != '\0');
		FUZZ_CHECK(terminated(a->constructor, sizeof(a->constructor)) &&
		    terminated(a->destructor, sizeof(a->destructor)));
		FUZZ_CHECK(a->id >= -1 && a->id <= 255);
		FUZZ_CHECK(a->keepalive_interval <= 604800);
		check_cidrs(&a->allowed_ips);
		if (a->enabled)
			FUZZ_CHECK(a->id >= 0 && a->constructor[0] != '\0');
		if (a->id >= 0) {
			FUZZ_CHECK(cfg->action_by_id[a->id] == (int)i);
			FUZZ_CHECK(config_action_by_id(cfg, (uint8_t)a->id) ==
			    (a->enabled ? a : NULL));
		}
	}
	for (i = 0; i < SL_MAX_ACTIONS; i++) {
		const struct cfg_action *a = config_action_by_id(cfg, (uint8_t)i);
		int idx = cfg->action_by_id[i];

		FUZZ_CHECK(idx >= -1 && idx < (int)cfg->nactions);
		FUZZ_CHECK(idx < 0 || cfg->actions[idx].id == (int)i);
		FUZZ_CHECK(a == NULL || (a->enabled && a->id == (int)i));
	}

	for (i = 0; i < cfg->nusers; i++) {
		const struct cfg_user *u = &cfg->users[i];

		FUZZ_CHECK(terminated(u->name, sizeof(u->name)) &&
		    u->name[0] != '\0');
		FUZZ_CHECK(terminated(u->key_file, sizeof(u->key_file)) &&
		    terminated(u->hmac_file, sizeof(u->hmac_file)));
		FUZZ_CHECK(u->id >= -1 && u->id <= 65535);
		check_cidrs(&u->allowed_ips);
		check_idset(cfg, &u->actions);
		if (u->enabled)
			FUZZ_CHECK(u->id >= 0 && u->hmac_file[0] != '\0');
		if (u->id >= 0) {
			FUZZ_CHECK(cfg->user_by_id[u->id] == (int)i);
			check_user_lookup(cfg, (uint16_t)u->id);
		}
	}
	/* and a few ids the input picks */
	check_user_lookup(cfg, 0);
	check_user_lookup(cfg, 65535);
	if (size >= 2)
		check_user_lookup(cfg, (uint16_t)(data[0] | data[1] << 8));
}

/* "FILE:LINE: ..." with LINE within the text (lines counted to its end). */
static void
check_message(const char *err, const char *text, size_t len)
{
	size_t lines = 1, n = strlen(mpath), i;
	char *end;
	long line;

	FUZZ_CHECK(strncmp(err, mpath, n) == 0 && err[n] == ':');
	line = strtol(err + n + 1, &end, 10);
	FUZZ_CHECK(end != err + n + 1 && *end == ':');
	for (i = 0; i < len; i++)
		lines += text[i] == '\n';
	FUZZ_CHECK(line >= 0 && (size_t)line <= lines);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err_a[ERR_LEN], err_b[ERR_LEN];
	char *text;
	size_t len;
	int rc_a, rc_b;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	len = strlen(text);

	memset(err_a, 'x', sizeof(err_a));
	rc_a = config_parse_string(cfg_a, mpath, text, err_a, sizeof(err_a));
	FUZZ_CHECK(terminated(err_a, sizeof(err_a)));
	if (rc_a == 0) {
		FUZZ_CHECK(err_a[0] == '\0');
		check_valid(cfg_a, data, size);
	} else {
		FUZZ_CHECK(rc_a == SL_ECONFIG);
		check_message(err_a, text, len);
	}

	/*
	 * The same bytes from a file.  Without a NUL: the same verdict, word
	 * for word, and byte for byte the same struct (both start zeroed).
	 * With one: refused (a NUL cuts the string short, the file reader
	 * refuses the line).
	 */
	FUZZ_CHECK(ftruncate(mfd, 0) == 0);
	FUZZ_CHECK(pwrite(mfd, data, size, 0) == (ssize_t)size);
	memset(err_b, 'x', sizeof(err_b));
	rc_b = config_parse(cfg_b, mpath, err_b, sizeof(err_b));
	FUZZ_CHECK(terminated(err_b, sizeof(err_b)));
	if (len == size) {
		FUZZ_CHECK(rc_a == rc_b);
		FUZZ_CHECK(strcmp(err_a, err_b) == 0);
		FUZZ_CHECK(memcmp(cfg_a, cfg_b, sizeof(*cfg_a)) == 0);
	} else {
		FUZZ_CHECK(rc_b == SL_ECONFIG);
		check_message(err_b, (const char *)data, size);
	}

	config_wipe_keys(cfg_a);
	config_wipe_keys(cfg_b);
	free(text);
	return 0;
}
