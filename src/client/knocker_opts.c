/*
 * knocker_opts.c - knocker's command line: the options (a table: each
 * long option sets a member of struct knocker_opts, or calls a handler
 * that checks its value), the positional arguments, and the knock they
 * name: HOST USER ACTION [PAYLOAD], or PROFILE [ACTION] [PAYLOAD] with
 * the profile's settings under the options given.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "client.h"
#include "knocker.h"
#include "profile.h"
#include "sl.h"
#include "util.h"

enum {
	OPT_SERVER_KEY = 256,
	OPT_HMAC_KEY,
	OPT_STDIN,
	OPT_VERSION,
	OPT_FORMAT,
	OPT_ALLOW_IP,
	OPT_NO_ADDRESS,
	OPT_SAVE,
	OPT_WAIT,
	OPT_CONFIG,
	OPT_LIST,
	OPT_SAVE_PROFILE,
	OPT_IMPORT_BUNDLE,
	OPT_AS,
	OPT_CONNECT,
	OPT_TIMEOUT,
	OPT_IGNORED,    /* siglatch 1.0 options that no longer do anything */
	OPT_UNSAFE,     /* siglatch 1.0 options for unauthenticated knocks */
};

static const struct option knocker_longopts[] = {
	{ "port",        required_argument, NULL, 'p' },
	{ "server-key",  required_argument, NULL, OPT_SERVER_KEY },
	{ "hmac-key",    required_argument, NULL, OPT_HMAC_KEY },
	{ "stdin",       no_argument,       NULL, OPT_STDIN },
	{ "dry-run",     no_argument,       NULL, 'n' },
	{ "format",      required_argument, NULL, OPT_FORMAT },
	{ "allow-ip",    required_argument, NULL, OPT_ALLOW_IP },
	{ "no-address",  no_argument,       NULL, OPT_NO_ADDRESS },
	{ "save",        required_argument, NULL, OPT_SAVE },
	{ "wait",        optional_argument, NULL, OPT_WAIT },
	{ "verbose",     optional_argument, NULL, 'v' },
	{ "quiet",       no_argument,       NULL, 'q' },
	{ "config",      required_argument, NULL, OPT_CONFIG },
	{ "list",        no_argument,       NULL, OPT_LIST },
	{ "save-profile", required_argument, NULL, OPT_SAVE_PROFILE },
	{ "import-bundle", required_argument, NULL, OPT_IMPORT_BUNDLE },
	{ "as",          required_argument, NULL, OPT_AS },
	{ "connect",     required_argument, NULL, OPT_CONNECT },
	{ "timeout",     required_argument, NULL, OPT_TIMEOUT },
	{ "help",        no_argument,       NULL, 'h' },
	{ "version",     no_argument,       NULL, OPT_VERSION },
	{ "client-key",  required_argument, NULL, OPT_IGNORED },
	{ "log",         required_argument, NULL, OPT_IGNORED },
	{ "output-mode", required_argument, NULL, OPT_IGNORED },
	{ "no-hmac",     no_argument,       NULL, OPT_UNSAFE },
	{ "dummy-hmac",  no_argument,       NULL, OPT_UNSAFE },
	{ "no-encrypt",  no_argument,       NULL, OPT_UNSAFE },
	{ "dead-drop",   no_argument,       NULL, OPT_UNSAFE },
	{ NULL, 0, NULL, 0 }
};

/* One text, printed by one call: longer than 60 lines for that. */
static void
knocker_usage(FILE *f)
{
	fprintf(f,
"usage: knocker [options] HOST USER ACTION [PAYLOAD]\n"
"       knocker [options] PROFILE [ACTION] [PAYLOAD]\n"
"       knocker --connect HOST:PORT [options] PROFILE [ACTION] [PAYLOAD]\n"
"       knocker --list | --import-bundle DIR --as NAME [HOST [USER [ACTION]]]\n"
"\n"
"Send one knock to siglatchd on HOST.  USER and ACTION are names from\n"
"user.map / action.map, or decimal ids (user 0-65535, action 0-255).\n"
"PAYLOAD (at most %d bytes) is sent as given.  A first argument that names\n"
"a profile (knocker.conf) takes host, port, user, action and keys from it;\n"
"options given here win.\n"
"\n"
"  -p, --port N          UDP port (default %d)\n"
"      --server-key FILE server public key (default DIR/server.pub.pem)\n"
"      --hmac-key FILE   HMAC key, 32 bytes or 64 hex (default DIR/hmac.key)\n"
"      --stdin           read the payload from standard input\n"
"      --format 1|2      knock format (default 2 if DIR/formats lists 2,\n"
"                        else 1)\n"
"      --allow-ip ADDR   format 2: the knock is for ADDR (IPv4 or IPv6)\n"
"      --no-address      format 2: name no address (the server grants the\n"
"                        address the knock comes from)\n"
"      --save FILE       also write the datagram to FILE\n"
"      --wait[=SECONDS]  format 2: ask for a receipt and wait for it, resending\n"
"                        at 1, 2, 4 ... s (default %d s, at most %d)\n"
"  -n, --dry-run         build the knock and print its fields; send nothing\n""      --config FILE     profiles file (default $SIGLATCH_CONFIG, else\n"
"                        ~/.config/siglatch/knocker.conf; drop-ins FILE.d/*.conf)\n"
"      --list            list the profiles, keys by fingerprint\n"
"      --save-profile NAME  save this command line as profile NAME, then knock\n"
"      --import-bundle DIR --as NAME  copy a siglatch-keygen bundle and make\n"
"                        profile NAME of it, whatever host it was made for\n"
"      --connect HOST:PORT  knock, wait until HOST:PORT accepts TCP, then\n"
"                        relay standard input and output (ssh ProxyCommand)\n"
"      --timeout SECONDS --connect: give up after SECONDS (default 30)\n"
"  -v, --verbose         say what is done, on standard error: the format and\n"
"                        size of the datagram, the server key's fingerprint,\n"
"                        the address it went to\n"
"  -q, --quiet           print nothing but errors; the exit status says it\n"
"  -h, --help            this text\n"
"      --version         print the version\n"
"\n"
"Format 2 names this machine's address (the UDP socket's local address)\n"
"when the server will see it: the server's address is loopback, private,\n"
"100.64/10 or link-local, or this machine's is public; else none.\n"
"\n"
"DIR is $XDG_CONFIG_HOME/siglatch/HOST or ~/.config/siglatch/HOST; it also\n"
"holds user.map and action.map (name,host,id lines) and formats.\n"
"\n"
"Exit status:\n"
"  0  sent, no receipt asked for; or, with --wait, the receipt said done\n"
"  1  a local error (keys, names, files, resolving, sending)\n"
"  2  a usage error\n"
"  3  the receipt said: the action failed\n"
"  4  the receipt said: refused\n"
"  5  the receipt said: server busy (no script slot), try again\n"
"  6  no receipt within the deadline (the knock may still have worked)\n"
"  7  the TCP port never opened (--connect)\n",
	    SL_PAYLOAD_MAX, CLIENT_DEFAULT_PORT, KNOCKER_WAIT_DEF,
	    KNOCKER_WAIT_MAX);
}

/* The option that only format 2 can carry, if one was given. */
const char *
knocker_needs_v2(const struct knocker_opts *o)
{
	if (o->allow_ip != NULL)
		return "--allow-ip";
	if (o->wait_s > 0)
		return "--wait";
	return NULL;
}

/* The value of an option, and where getopt_long found it. */
struct knocker_arg {
	int code;                   /* what getopt_long returned */
	const char *val;            /* optarg */
	int li;                     /* index in knocker_longopts, or -1 */
	int argc;
	char **argv;
};

static int
knocker_opt_port(struct knocker_opts *o, const struct knocker_arg *a)
{
	if (client_parse_port(a->val, &o->port) != 0) {
		knocker_err("bad port '%s' (1-65535)", a->val);
		return EXIT_USAGE;
	}
	o->port_set = true;
	return -1;
}

/* --save-profile NAME, --as NAME */
static int
knocker_opt_profile_name(struct knocker_opts *o, const struct knocker_arg *a)
{
	if (!profile_valid_name(a->val)) {
		knocker_err("bad profile name '%s' (1-63 of A-Z a-z 0-9 _ . -, "
		    "not starting with - or .)", a->val);
		return EXIT_USAGE;
	}
	if (a->code == OPT_AS)
		o->import_as = a->val;
	else
		o->save_profile = a->val;
	return -1;
}

static int
knocker_opt_timeout(struct knocker_opts *o, const struct knocker_arg *a)
{
	long long v;

	if (sl_parse_num(a->val, 1, PROFILE_TIMEOUT_MAX, &v) != 0) {
		knocker_err("bad --timeout '%s' (1-%d seconds)", a->val,
		    PROFILE_TIMEOUT_MAX);
		return EXIT_USAGE;
	}
	o->timeout_s = (unsigned)v;
	return -1;
}

static int
knocker_opt_format(struct knocker_opts *o, const struct knocker_arg *a)
{
	long long v;

	if (sl_parse_num(a->val, 1, 2, &v) != 0) {
		knocker_err("bad format '%s' (1 or 2)", a->val);
		return EXIT_USAGE;
	}
	o->format = (int)v;
	return -1;
}

static int
knocker_opt_allow_ip(struct knocker_opts *o, const struct knocker_arg *a)
{
	if (addr_parse(a->val, &o->allow_addr) != 0) {
		knocker_err("--allow-ip '%s' is not an IPv4 or IPv6 address",
		    a->val);
		return EXIT_USAGE;
	}
	o->allow_ip = a->val;
	return -1;
}

/* --wait[=SECONDS] */
static int
knocker_opt_wait(struct knocker_opts *o, const struct knocker_arg *a)
{
	long long v;

	o->wait_set = true;
	o->wait_s = KNOCKER_WAIT_DEF;
	if (a->val == NULL)
		return -1;
	if (sl_parse_num(a->val, 1, KNOCKER_WAIT_MAX, &v) != 0) {
		knocker_err("bad --wait '%s' (1-%d seconds)", a->val,
		    KNOCKER_WAIT_MAX);
		return EXIT_USAGE;
	}
	o->wait_s = (unsigned)v;
	return -1;
}

/* -v, --verbose[=LEVEL] */
static int
knocker_opt_verbose(struct knocker_opts *o, const struct knocker_arg *a)
{
	const char *level = a->val;

	/* siglatch 1.0 wrote "--verbose LEVEL" with LEVEL 0-5 */
	if (a->li >= 0 && level == NULL && optind < a->argc &&
	    a->argv[optind][0] >= '0' && a->argv[optind][0] <= '5' &&
	    a->argv[optind][1] == '\0')
		level = a->argv[optind++];
	if (level != NULL && (level[0] < '0' || level[0] > '5' ||
	    level[1] != '\0')) {
		knocker_err("bad verbose level '%s' (0-5)", level);
		return EXIT_USAGE;
	}
	o->verbose = level == NULL || level[0] != '0';
	return -1;
}

static int
knocker_opt_help(struct knocker_opts *o, const struct knocker_arg *a)
{
	(void)o;
	(void)a;
	knocker_usage(stdout);
	return EXIT_SUCCESS;
}

static int
knocker_opt_version(struct knocker_opts *o, const struct knocker_arg *a)
{
	(void)o;
	(void)a;
	printf("knocker (siglatch) %s\n", SL_VERSION);
	return EXIT_SUCCESS;
}

/* siglatch 1.0 options that no longer do anything */
static int
knocker_opt_ignored(struct knocker_opts *o, const struct knocker_arg *a)
{
	(void)o;
	knocker_note("note: --%s is a siglatch 1.0 option and is ignored",
	    knocker_longopts[a->li].name);
	return -1;
}

/* siglatch 1.0 options for unauthenticated knocks */
static int
knocker_opt_unsafe(struct knocker_opts *o, const struct knocker_arg *a)
{
	(void)o;
	knocker_err("--%s is not supported: siglatchd accepts only signed, "
	    "encrypted knocks", knocker_longopts[a->li].name);
	return EXIT_USAGE;
}

#define KO_STR(m)  offsetof(struct knocker_opts, m), KO_T_STR, NULL
#define KO_FLAG(m) offsetof(struct knocker_opts, m), KO_T_FLAG, NULL
#define KO_FN(f)   0, KO_T_FN, f

/*
 * What each option does: set a string (the option's value) or a flag
 * (true) in struct knocker_opts, or call a handler that checks the value;
 * a handler returns -1 to go on, else an exit status.
 */
static const struct knocker_optdef {
	int code;
	size_t off;
	enum { KO_T_STR, KO_T_FLAG, KO_T_FN } type;
	int (*fn)(struct knocker_opts *, const struct knocker_arg *);
} knocker_optdefs[] = {
	{ 'p',               KO_FN(knocker_opt_port) },
	{ 'n',               KO_FLAG(dry_run) },
	{ 'v',               KO_FN(knocker_opt_verbose) },
	{ 'q',               KO_FLAG(quiet) },
	{ 'h',               KO_FN(knocker_opt_help) },
	{ OPT_SERVER_KEY,    KO_STR(server_key) },
	{ OPT_HMAC_KEY,      KO_STR(hmac_key) },
	{ OPT_STDIN,         KO_FLAG(use_stdin) },
	{ OPT_VERSION,       KO_FN(knocker_opt_version) },
	{ OPT_FORMAT,        KO_FN(knocker_opt_format) },
	{ OPT_ALLOW_IP,      KO_FN(knocker_opt_allow_ip) },
	{ OPT_NO_ADDRESS,    KO_FLAG(no_address) },
	{ OPT_SAVE,          KO_STR(save) },
	{ OPT_WAIT,          KO_FN(knocker_opt_wait) },
	{ OPT_CONFIG,        KO_STR(config) },
	{ OPT_LIST,          KO_FLAG(list) },
	{ OPT_SAVE_PROFILE,  KO_FN(knocker_opt_profile_name) },
	{ OPT_IMPORT_BUNDLE, KO_STR(import_dir) },
	{ OPT_AS,            KO_FN(knocker_opt_profile_name) },
	{ OPT_CONNECT,       KO_STR(connect) },
	{ OPT_TIMEOUT,       KO_FN(knocker_opt_timeout) },
	{ OPT_IGNORED,       KO_FN(knocker_opt_ignored) },
	{ OPT_UNSAFE,        KO_FN(knocker_opt_unsafe) },
};

/* One option getopt_long returned: -1 to go on, else an exit status. */
static int
knocker_opt(struct knocker_opts *o, const struct knocker_arg *a)
{
	const struct knocker_optdef *d;
	size_t i;

	for (i = 0; i < sizeof(knocker_optdefs) / sizeof(knocker_optdefs[0]);
	    i++) {
		d = &knocker_optdefs[i];
		if (d->code != a->code)
			continue;
		switch (d->type) {
		case KO_T_STR:
			*(const char **)(void *)((char *)o + d->off) = a->val;
			return -1;
		case KO_T_FLAG:
			*(bool *)(void *)((char *)o + d->off) = true;
			return -1;
		case KO_T_FN:
			return d->fn(o, a);
		}
	}
	fputs("Try 'knocker --help'.\n", stderr);
	return EXIT_USAGE;
}

/* Parse the command line; returns -1 to go on, else an exit status. */
int
knocker_parse(int argc, char **argv, struct knocker_opts *o)
{
	struct knocker_arg a = { 0, NULL, -1, argc, argv };
	int c, rc;

	memset(o, 0, sizeof(*o));
	for (;;) {
		a.li = -1;
		if ((c = getopt_long(argc, argv, "p:nvqh", knocker_longopts,
		    &a.li)) == -1)
			break;
		a.code = c;
		a.val = optarg;
		if ((rc = knocker_opt(o, &a)) >= 0)
			return rc;
	}
	for (; optind < argc; optind++) {
		if (o->npos == 4) {
			knocker_err("too many arguments (from '%s'); quote a "
			    "PAYLOAD that has spaces", argv[optind]);
			return EXIT_USAGE;
		}
		o->pos[o->npos++] = argv[optind];
	}
	if (o->quiet && o->verbose) {
		knocker_err("give --quiet or --verbose, not both");
		return EXIT_USAGE;
	}
	knocker_quiet = o->quiet;
	if ((o->import_dir == NULL) != (o->import_as == NULL)) {
		knocker_err("--import-bundle DIR and --as NAME go together");
		return EXIT_USAGE;
	}
	return -1;
}

/* Options not given on the command line, from profile p. */
static void
knocker_profile_defaults(struct knocker_opts *o, const struct profile *p)
{
	if (!o->port_set && p->port != 0)
		o->port = p->port;
	if (o->server_key == NULL && p->server_key[0] != '\0')
		o->server_key = p->server_key;
	if (o->hmac_key == NULL && p->hmac_key[0] != '\0')
		o->hmac_key = p->hmac_key;
	if (p->bundle[0] != '\0')
		o->bundle = p->bundle;
	if (o->format == 0)
		o->format = p->format;
	if (o->allow_ip == NULL && !o->no_address) {
		if (p->addr_mode == PROFILE_ADDR_NONE)
			o->no_address = true;
		else if (p->addr_mode == PROFILE_ADDR_IP) {
			o->allow_addr = p->allow_addr;
			o->allow_ip = "(profile)";
		}
	}
	if (!o->wait_set && p->wait_s >= 0)
		o->wait_s = (unsigned)p->wait_s;
	if (o->timeout_s == 0)
		o->timeout_s = p->timeout_s;
}

/* PROFILE [ACTION] [PAYLOAD]: -1 to go on, else an exit status. */
static int
knocker_setup_profile(struct knocker_opts *o, const struct profile *p)
{
	unsigned i;

	o->prof = p;
	if (o->npos > 3) {
		knocker_err("too many arguments for a profile: PROFILE "
		    "[ACTION] [PAYLOAD]; quote a PAYLOAD that has spaces");
		return EXIT_USAGE;
	}
	if (p->nhosts == 0) {
		knocker_err("profile %s (%s:%u) gives no host", p->name,
		    p->src, p->line);
		return CLIENT_EXIT_ERROR;
	}
	for (i = 0; i < p->nhosts; i++)
		o->hosts[i] = p->hosts[i];
	o->nhosts = p->nhosts;
	if (p->user[0] == '\0') {
		knocker_err("profile %s (%s:%u) gives no user", p->name,
		    p->src, p->line);
		return CLIENT_EXIT_ERROR;
	}
	o->user = p->user;
	o->action = o->npos >= 2 ? o->pos[1] :
	    p->action[0] != '\0' ? p->action : NULL;
	if (o->action == NULL) {
		knocker_err("profile %s (%s:%u) has no action: give one, "
		    "knocker %s ACTION", p->name, p->src, p->line, p->name);
		return EXIT_USAGE;
	}
	o->payload = o->npos == 3 ? o->pos[2] : NULL;
	knocker_profile_defaults(o, p);
	return -1;
}

/* HOST USER ACTION [PAYLOAD]: -1 to go on, else an exit status. */
static int
knocker_setup_args(struct knocker_opts *o, const char *cfgpath)
{
	if (o->npos < 3) {
		if (o->npos >= 1 && o->npos <= 2)
			knocker_err("need HOST USER ACTION [PAYLOAD], or "
			    "PROFILE [ACTION] [PAYLOAD]: no profile '%s' in "
			    "%s or %s.d/", o->pos[0], cfgpath, cfgpath);
		else
			knocker_err("need HOST USER ACTION [PAYLOAD]; try "
			    "'knocker --help'");
		return EXIT_USAGE;
	}
	o->hosts[0] = o->pos[0];
	o->nhosts = 1;
	o->user = o->pos[1];
	o->action = o->pos[2];
	o->payload = o->npos == 4 ? o->pos[3] : NULL;
	return -1;
}

/* Options that do not go together: -1 to go on, else an exit status. */
static int
knocker_setup_check(const struct knocker_opts *o)
{
	if (o->payload != NULL && o->use_stdin) {
		knocker_err("give a PAYLOAD argument or --stdin, not both");
		return EXIT_USAGE;
	}
	if (o->allow_ip != NULL && o->no_address) {
		knocker_err("give --allow-ip or --no-address, not both");
		return EXIT_USAGE;
	}
	if (o->connect != NULL && (o->dry_run || o->use_stdin)) {
		knocker_err("--connect relays standard input: not with %s",
		    o->dry_run ? "--dry-run" : "--stdin");
		return EXIT_USAGE;
	}
	if (o->format == 1 && knocker_needs_v2(o) != NULL) {
		knocker_err("%s needs format 2; format 1 cannot carry it",
		    knocker_needs_v2(o));
		return EXIT_USAGE;
	}
	return -1;
}

/*
 * The knock to send: PROFILE [ACTION] [PAYLOAD] when the first argument
 * names a profile, else HOST USER ACTION [PAYLOAD]; options given on the
 * command line win over the profile's.  Returns -1 to go on, else an exit
 * status.
 */
int
knocker_setup(struct knocker_opts *o, const struct profiles *ps,
    const char *cfgpath)
{
	const struct profile *p = NULL;
	int rc;

	if (o->npos >= 1)
		p = profile_find(ps, o->pos[0]);
	if (p != NULL)
		rc = knocker_setup_profile(o, p);
	else
		rc = knocker_setup_args(o, cfgpath);
	if (rc >= 0)
		return rc;
	o->host = o->hosts[0];
	if (!o->port_set && o->port == 0)
		o->port = CLIENT_DEFAULT_PORT;
	return knocker_setup_check(o);
}
