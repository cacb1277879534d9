/*
 * config.h - siglatchd configuration (INI, siglatch 1.0 keys), parsed with
 * libinih in one pass; every error names file, line and key.
 */
#ifndef SL_CONFIG_H
#define SL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <openssl/evp.h>
#include "sl.h"
#include "addr.h"

/* 256-bit set of action ids. */
struct sl_idset {
	uint32_t w[SL_MAX_ACTIONS / 32];
};
static inline void idset_add(struct sl_idset *s, unsigned id)
{ s->w[(id & 0xff) / 32] |= 1u << (id % 32); }
static inline bool idset_has(const struct sl_idset *s, unsigned id)
{ return (s->w[(id & 0xff) / 32] >> (id % 32)) & 1u; }

struct cfg_server {
	char name[SL_NAME_MAX];
	bool enabled;               /* default yes */
	uint16_t port;              /* default 50000 */
	char bind_ip[SL_IPSTR_MAX]; /* "" = all addresses, IPv4 and IPv6 */
	bool secure;                /* default yes; enabled && !secure refused */
	char priv_key_path[SL_PATH_MAX]; /* "" = top-level priv_key_path */
	struct sl_idset actions;    /* resolved action ids */
	bool logging;               /* default yes: log per-packet lines */
	char log_file[SL_PATH_MAX]; /* "" = none */
	struct sl_cidr_list allowed_ips;
	EVP_PKEY *priv;             /* loaded by config_load_keys() */
	int line;                   /* line of the section header */
	int priv_key_line;          /* line of the priv_key_path in use (own
	                               or top-level), 0 = none */
	/* knock formats (docs/PROTOCOL.md) */
	bool format1;               /* default yes: 256-byte siglatch 1.0 knocks */
	bool format2;               /* default yes: 559-byte format-2 knocks */
	bool receipt;               /* default no: answer format-2 knocks that
	                               ask for it with a receipt */
	bool grant_named_address;   /* default no: a format-2 knock naming an
	                               address other than its source grants
	                               that address (else it is refused) */
	bool require_named_address; /* default no: refuse format-2 knocks
	                               that name no address */
};

struct cfg_action {
	char name[SL_NAME_MAX];
	int id;                     /* 0..255, -1 if none given */
	bool enabled;               /* default yes */
	char constructor[SL_CMD_MAX];
	char destructor[SL_CMD_MAX];
	uint32_t keepalive_interval;/* seconds a grant lasts, 0 = none */
	bool rerun_on_extend;       /* default no: run the constructor again
	                               when a knock extends a live grant */
	bool exec_split;            /* default yes */
	bool require_ascii;         /* default no */
	bool discard_payload;       /* default no */
	struct sl_cidr_list allowed_ips;
	char run_as[SL_NAME_MAX];   /* user the script runs as; "" = the
	                               runner's own (root) */
	int line;
	int run_as_line;            /* line of run_as, 0 = not given */
	int constructor_line;       /* line of constructor (else the section's) */
	int destructor_line;        /* line of destructor (else the section's) */
	bool grant_named_address;   /* default no: as the server's, for this
	                               action only */
	bool fleet;                 /* default no: its grants are shared with
	                               the fleet ([fleet], docs/FLEET.md) */
};

/* An action keeps a timed grant when it has a destructor (and, as the
 * parser insists, a keepalive_interval). */
static inline bool action_is_timed(const struct cfg_action *a)
{ return a->destructor[0] != '\0' && a->keepalive_interval > 0; }

struct cfg_user {
	char name[SL_NAME_MAX];
	int id;                     /* 0..65535, -1 if none given */
	bool enabled;               /* default no */
	char key_file[SL_PATH_MAX]; /* accepted, unused */
	char hmac_file[SL_PATH_MAX];
	struct sl_idset actions;
	struct sl_cidr_list allowed_ips;
	uint8_t hmac_key[SL_HMAC_KEY_LEN]; /* loaded by config_load_keys() */
	int line;
	int hmac_file_line;         /* line of hmac_file (else section line) */
};

/* [fleet]: gateways sharing one store (docs/FLEET.md). */
#define FLEET_PREFIX_MAX 64
#define FLEET_SECRET_MAX 256
struct cfg_fleet {
	bool on;                    /* a [fleet] section was given */
	char store[SL_PATH_MAX];    /* redis://host[:port][/db], unix:/path[?db=N] */
	char password_file[SL_PATH_MAX]; /* "user password" or "password" */
	char name[SL_NAME_MAX];     /* this gateway; default: the host name */
	char prefix[FLEET_PREFIX_MAX]; /* default "siglatch:" */
	char on_store_down[8];      /* refuse (default) | local */
	uint32_t timeout_ms;        /* 50..10000, default 500: a knock waits
	                               this long for the store */
	/* resolved after parsing */
	bool down_local;            /* on_store_down = local */
	bool unix_sock;             /* store is a unix socket (path in host) */
	char host[SL_PATH_MAX];     /* host name or address, or socket path */
	uint16_t port;              /* default 6379 */
	uint32_t db;                /* 0..1000, default 0 */
	int line, store_line, password_line;
	/* only in a copy made by config_load_fleet_secret() */
	char user[FLEET_SECRET_MAX];
	char password[FLEET_SECRET_MAX];
};

struct config {
	char path[SL_PATH_MAX];
	/* top level */
	char log_file[SL_PATH_MAX];
	char priv_key_path[SL_PATH_MAX];
	uint32_t timestamp_window;  /* 1..3600, default 120 */
	char state_dir[SL_PATH_MAX];/* default /var/lib/siglatch */
	uint32_t script_timeout;    /* 1..86400 s, default 30 */
	uint32_t max_scripts;       /* 1..1024, default 16 */
	uint32_t replay_cache_size; /* 16..1048576 entries, default 65536 */
	char run_as[SL_NAME_MAX];   /* network process user, default nobody */
	int run_as_line;            /* line of run_as, 0 = default */
	/* flood resistance (docs/CONFIG.md) */
	uint32_t ratelimit_source_budget; /* 1..100000, default 20 */
	uint32_t ratelimit_prefix_budget; /* 1..1000000, default 200 */
	uint32_t ratelimit_window;        /* 1..3600 s, default 10 */
	uint32_t ratelimit_penalty;       /* 1..86400 s, default 10 */
	uint32_t ratelimit_penalty_max;   /* 1..604800 s, default 600;
	                                     >= ratelimit_penalty */
	uint32_t ratelimit_good_time;     /* 0..86400 s, default 600 */
	uint32_t max_decrypts_per_sec;    /* 0..1000000, default 2000, 0 = no cap */
	uint32_t ratelimit_table_size;    /* 64..16777216, default 65536 */
	uint32_t dup_cache_size;          /* 0..16777216, default 65536, 0 = off */
	char stats_file[SL_PATH_MAX];     /* "" = state_dir/net/siglatchd.stats */
	char pid_file[SL_PATH_MAX];       /* "" = none (state_dir/siglatchd.lock
	                                     holds the pid anyway) */
	uint32_t stats_interval;          /* 0..3600 s, default 5, 0 = never */
	char metrics_file[SL_PATH_MAX];   /* "" = none; Prometheus text format,
	                                     a bare name in the stats file's
	                                     directory (state_dir) */
	char log_format[8];               /* "text" (default) or "json" */
	bool log_json;                    /* log_format = json */
	uint32_t workers;                 /* decryption threads 0..64: 0 = one
	                                     per CPU, 1 = the main thread */
	/* timed grants (docs/CONFIG.md, "Timed grants") */
	uint32_t max_grants;              /* 1..65536, default 1024 */
	uint32_t grant_max_lifetime;      /* 1..2592000 s, default 86400 */
	bool revoke_on_exit;              /* default no */
	bool kernel_filter;               /* default yes: eBPF pre-filter */
	uint32_t ratelimit_user_budget;   /* 1..100000, default 20: private-key
	                                     operations per ratelimit_window
	                                     for one user's authenticated
	                                     format-2 knocks */

	struct cfg_fleet fleet;

	unsigned nservers, nactions, nusers;
	struct cfg_server servers[SL_MAX_SERVERS];
	struct cfg_action actions[SL_MAX_ACTIONS];
	struct cfg_user users[SL_MAX_USERS];

	/* lookups built after parsing: index into actions/users, -1 = none */
	int16_t action_by_id[SL_MAX_ACTIONS];
	int16_t user_by_id[65536];
};

/*
 * Parse path into *cfg (caller-allocated; large).  Checks syntax, ranges,
 * references and the rules of docs/CONFIG.md, but loads no key.  Warnings
 * (ignored [deaddrop:*] sections ...) go to the log.  On error writes
 * "FILE:LINE: key 'K': problem" into err and returns SL_ECONFIG.
 */
int config_parse(struct config *cfg, const char *path, char *err, size_t errlen);
/* Same, from a string (tests, fuzzing); `name` stands for the file name. */
int config_parse_string(struct config *cfg, const char *name, const char *text,
    char *err, size_t errlen);
/*
 * The owners and modes of the files the configuration trusts, as OpenSSH's
 * StrictModes: the configuration file itself (cfg->path), the directories
 * above each key file (config_load_keys checks the key file itself), and
 * the program of each enabled action's constructor and destructor (up to
 * the first space with exec_split), with the script that follows it when
 * that is the absolute path of an existing file ("/bin/sh /etc/x.sh").
 * Each must be owned by root or by the user siglatchd runs as, and not
 * writable by group or others; and so must every directory above it, up
 * to /, after symbolic links are resolved, except that a sticky directory
 * (/tmp) may be writable by others.  A script that does not exist yet is
 * accepted with a warning when only its owner may create it there.
 * Errors name the file (and the config line that points at it) and the
 * fix: "FILE:LINE: [action:a] key 'constructor': /x/open.sh: writable by
 * group or others (mode 0775); fix with: chmod go-w /x/open.sh".  Returns
 * 0, SL_EPERM (owner or mode) or SL_ESYS (cannot be examined).
 */
int config_check_files(const struct config *cfg, char *err, size_t errlen);
/*
 * Load the private keys of enabled servers and the HMAC keys of enabled
 * users, refusing unsafe permissions (group or others may read or write
 * them, or they belong to neither root nor the user siglatchd runs as).
 * Errors name the file and the config line that points at it.
 */
int config_load_keys(struct config *cfg, char *err, size_t errlen);
/* Log (SL002) the fingerprint of every key config_load_keys loaded. */
void config_log_fingerprints(const struct config *cfg);
/*
 * What -t checks beyond config_check_files and config_load_keys, as the
 * start would find it: state_dir (or its parent, when it does not exist
 * yet) is a directory others cannot write; the directories of log_file
 * (each server's too), stats_file and metrics_file exist; each enabled
 * action's program is executable, and the script it is given readable,
 * by its run_as user.  Errors name the file and line.  Also warns (SL005) about
 * disabled users and about enabled actions no enabled user may run.
 */
int config_check_start(const struct config *cfg, char *err, size_t errlen);
/* Free the private keys and cleanse the HMAC keys; the rest of cfg stays
 * usable (the main process goes on with it after the fork). */
void config_wipe_keys(struct config *cfg);
/*
 * [fleet] password_file, checked as key files are: *f becomes a copy of
 * cfg->fleet with user and password filled in (the caller cleanses it).
 */
int config_load_fleet_secret(const struct config *cfg, struct cfg_fleet *f,
    char *err, size_t errlen);

const struct cfg_user *config_user_by_id(const struct config *cfg, uint16_t id);
const struct cfg_action *config_action_by_id(const struct config *cfg, uint8_t id);

#endif
