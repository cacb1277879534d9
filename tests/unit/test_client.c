/*
 * test_client.c - the client helpers: names, map files, id resolution,
 * the per-host directory, file creation, and a knock that goes through
 * client_build_knock/client_seal_knock and comes back out of the daemon's
 * decrypt/decode/verify functions with the same fields; for format 2 the
 * bundle's formats file, address literals and scopes, which address a
 * knock names, a connected socket's addresses, receipt outcomes and
 * --save.
 *
 * Test vectors are read from $SL_VECTORS, default tests/vectors (run from
 * the top of the tree).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>

#include "client.h"
#include "crypto.h"
#include "knock2.h"
#include "sl.h"
#include "wire.h"
#include "testutil.h"

static char tmpdir[64];

static const char *
vec(const char *file)
{
	static char path[SL_PATH_MAX];
	const char *dir = getenv("SL_VECTORS");

	snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : "tests/vectors",
	    file);
	return path;
}

static const char *
tmp(const char *file)
{
	static char path[SL_PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, file);
	return path;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_client.XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
test_valid_name(void **state)
{
	static const struct { const char *s; bool ok; } t[] = {
		{ "alice", true }, { "a", true }, { "A-Z_0.9", true },
		{ "", false }, { "a b", false }, { "a/b", false },
		{ "a,b", false }, { "é", false },
		{ "a23456789012345678901234567890123456789012345678901234567890123",
		  true },
		{ "a234567890123456789012345678901234567890123456789012345678901234",
		  false },
		/* knocker would take these for an id or an option */
		{ "1alice", false }, { "0", false }, { "-alice", false },
		{ "_1", true }, { ".x", true },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(client_valid_name(t[i].s), t[i].ok);
}

static void
test_valid_host(void **state)
{
	static const struct { const char *s; bool ok; } t[] = {
		{ "127.0.0.1", true }, { "::1", true }, { "fe80::1%eth0", true },
		{ "srv.example.org", true }, { "", false }, { ".", false },
		{ "..", false }, { "a/b", false }, { "a,b", false },
		{ "a b", false }, { "a\nb", false }, { "a\x7f", false },
	};
	char longhost[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(client_valid_host(t[i].s), t[i].ok);
	memset(longhost, 'a', sizeof(longhost));
	longhost[CLIENT_HOST_MAX] = '\0';
	assert_true(client_valid_host(longhost));
	longhost[CLIENT_HOST_MAX] = 'a';
	longhost[CLIENT_HOST_MAX + 1] = '\0';
	assert_false(client_valid_host(longhost));
}

static void
test_map_lookup(void **state)
{
	static const struct {
		const char *text, *host, *name;
		uint32_t max;
		int rc;
		uint32_t id;
		const char *errpart;
	} t[] = {
		/* plain hits and misses */
		{ "alice,h,5\n", "h", "alice", 65535, 0, 5, NULL },
		{ "alice,h,5", "h", "alice", 65535, 0, 5, NULL },
		{ "alice,h,5\n", "h", "bob", 65535, SL_ENOENT, 0, "not in" },
		{ "alice,h,5\n", "other", "alice", 65535, SL_ENOENT, 0, NULL },
		{ "", "h", "alice", 65535, SL_ENOENT, 0, NULL },
		/* names and hosts match exactly */
		{ "Alice,h,5\n", "h", "alice", 65535, SL_ENOENT, 0, NULL },
		{ "alice,H,5\n", "h", "alice", 65535, SL_ENOENT, 0, NULL },
		/* "*" applies to every host */
		{ "alice,*,7\n", "anything", "alice", 65535, 0, 7, NULL },
		/* comments, blank lines, spaces, tabs and CRLF */
		{ "# c\n\n   \n\t# c2\n alice \t, h ,\t9 \r\n", "h", "alice",
		  65535, 0, 9, NULL },
		/* first applicable line wins, later lines are still checked */
		{ "alice,h,1\nalice,h,2\n", "h", "alice", 65535, 0, 1, NULL },
		{ "alice,x,1\nalice,*,2\nalice,h,3\n", "h", "alice", 65535, 0, 2,
		  NULL },
		{ "alice,h,1\nbad line\n", "h", "alice", 65535, SL_ECONFIG, 0,
		  "m:2:" },
		/* malformed lines refuse the whole file, naming the line */
		{ "alice,h\n", "h", "alice", 65535, SL_ECONFIG, 0, "m:1:" },
		{ "a,b,c,d\n", "h", "a", 65535, SL_ECONFIG, 0, "m:1:" },
		{ ",h,1\n", "h", "", 65535, SL_ECONFIG, 0, "m:1:" },
		{ "alice,,1\n", "h", "alice", 65535, SL_ECONFIG, 0, "m:1:" },
		{ "alice,h,\n", "h", "alice", 65535, SL_ECONFIG, 0, "m:1:" },
		{ "# ok\nalice,h,x1\n", "h", "alice", 65535, SL_ECONFIG, 0,
		  "m:2:" },
		{ "alice,h,-1\n", "h", "alice", 65535, SL_ECONFIG, 0, "m:1:" },
		{ "alice,h,1 2\n", "h", "alice", 65535, SL_ECONFIG, 0, "m:1:" },
		{ "alice,h,65536\n", "h", "alice", 65535, SL_ECONFIG, 0, "m:1:" },
		{ "open,h,256\n", "h", "open", 255, SL_ECONFIG, 0, "0..255" },
		/* bounds are inclusive */
		{ "alice,h,65535\n", "h", "alice", 65535, 0, 65535, NULL },
		{ "open,h,255\n", "h", "open", 255, 0, 255, NULL },
		{ "root,h,0\n", "h", "root", 255, 0, 0, NULL },
	};
	char err[CLIENT_ERR_LEN];
	uint32_t id;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		id = 12345;
		err[0] = '\0';
		rc = client_map_lookup_buf(t[i].text, strlen(t[i].text), "m",
		    t[i].host, t[i].name, t[i].max, &id, err, sizeof(err));
		if (rc != t[i].rc)
			fail_msg("case %zu: rc %d, want %d (%s)", i, rc, t[i].rc,
			    err);
		if (rc == 0)
			assert_int_equal(id, t[i].id);
		else
			assert_int_equal(id, 12345); /* untouched on failure */
		if (t[i].errpart != NULL && strstr(err, t[i].errpart) == NULL)
			fail_msg("case %zu: error '%s' lacks '%s'", i, err,
			    t[i].errpart);
	}
}

static void
test_map_lookup_hostile(void **state)
{
	char buf[2048], err[CLIENT_ERR_LEN];
	static const char nul[] = "alice,h,1\nbob\0,h,2\n";
	uint32_t id;

	(void)state;
	/* a NUL byte in a line */
	assert_int_equal(client_map_lookup_buf(nul, sizeof(nul) - 1, "m", "h",
	    "alice", 65535, &id, err, sizeof(err)), SL_ECONFIG);
	assert_non_null(strstr(err, "m:2:"));
	/* an overlong line */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf + sizeof(buf) - 5, ",h,1", 4);
	buf[sizeof(buf) - 1] = '\n';
	assert_int_equal(client_map_lookup_buf(buf, sizeof(buf), "m", "h", "a",
	    65535, &id, err, sizeof(err)), SL_ECONFIG);
	assert_non_null(strstr(err, "too long"));
}

static void
test_resolve_id(void **state)
{
	char err[CLIENT_ERR_LEN];
	uint32_t id = 0;

	(void)state;
	write_file(tmp("user.map"), "alice,h,42\nbob,*,7\n");

	/* numbers need no map */
	assert_int_equal(client_resolve_id("0", "user", NULL, "h", 65535, &id,
	    err, sizeof(err)), 0);
	assert_int_equal(id, 0);
	assert_int_equal(client_resolve_id("65535", "user", NULL, "h", 65535,
	    &id, err, sizeof(err)), 0);
	assert_int_equal(id, 65535);
	assert_int_equal(client_resolve_id("65536", "user", NULL, "h", 65535,
	    &id, err, sizeof(err)), SL_EINVAL);
	assert_non_null(strstr(err, "user id '65536'"));
	assert_int_equal(client_resolve_id("256", "action", NULL, "h", 255,
	    &id, err, sizeof(err)), SL_EINVAL);
	assert_int_equal(client_resolve_id("1x", "user", NULL, "h", 65535,
	    &id, err, sizeof(err)), SL_EINVAL);
	assert_int_equal(client_resolve_id("", "user", NULL, "h", 65535,
	    &id, err, sizeof(err)), SL_EINVAL);

	/* names come from the map */
	assert_int_equal(client_resolve_id("alice", "user", tmp("user.map"),
	    "h", 65535, &id, err, sizeof(err)), 0);
	assert_int_equal(id, 42);
	assert_int_equal(client_resolve_id("bob", "user", tmp("user.map"),
	    "other", 65535, &id, err, sizeof(err)), 0);
	assert_int_equal(id, 7);
	assert_int_equal(client_resolve_id("alice", "user", tmp("user.map"),
	    "other", 65535, &id, err, sizeof(err)), SL_ENOENT);
	assert_non_null(strstr(err, "unknown user 'alice'"));
	assert_int_equal(client_resolve_id("alice", "user", NULL, "h", 65535,
	    &id, err, sizeof(err)), SL_ENOENT);
	assert_int_equal(client_resolve_id("alice", "user", tmp("nomap"), "h",
	    65535, &id, err, sizeof(err)), SL_ESYS);
	assert_non_null(strstr(err, "nomap"));
}

static void
test_host_dir(void **state)
{
	char dir[SL_PATH_MAX], err[CLIENT_ERR_LEN];
	char *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");
	char saved_home[SL_PATH_MAX] = "", saved_xdg[SL_PATH_MAX] = "";

	(void)state;
	if (home != NULL)
		snprintf(saved_home, sizeof(saved_home), "%s", home);
	if (xdg != NULL)
		snprintf(saved_xdg, sizeof(saved_xdg), "%s", xdg);

	setenv("HOME", "/home/u", 1);
	unsetenv("XDG_CONFIG_HOME");
	assert_int_equal(client_host_dir(dir, sizeof(dir), "srv", err,
	    sizeof(err)), 0);
	assert_string_equal(dir, "/home/u/.config/siglatch/srv");
	setenv("XDG_CONFIG_HOME", "/x/cfg", 1);
	assert_int_equal(client_host_dir(dir, sizeof(dir), "::1", err,
	    sizeof(err)), 0);
	assert_string_equal(dir, "/x/cfg/siglatch/::1");
	setenv("XDG_CONFIG_HOME", "relative", 1); /* ignored, as XDG says */
	assert_int_equal(client_host_dir(dir, sizeof(dir), "srv", err,
	    sizeof(err)), 0);
	assert_string_equal(dir, "/home/u/.config/siglatch/srv");
	assert_int_equal(client_host_dir(dir, sizeof(dir), "../etc", err,
	    sizeof(err)), SL_EINVAL);
	assert_int_equal(client_host_dir(dir, 10, "srv", err, sizeof(err)),
	    SL_ETOOBIG);
	unsetenv("HOME");
	unsetenv("XDG_CONFIG_HOME");
	assert_int_equal(client_host_dir(dir, sizeof(dir), "srv", err,
	    sizeof(err)), SL_ENOENT);

	if (home != NULL)
		setenv("HOME", saved_home, 1);
	if (xdg != NULL)
		setenv("XDG_CONFIG_HOME", saved_xdg, 1);
}

/* knocker's path end to end, checked by the daemon's own functions */
static void
test_round_trip(void **state)
{
	static const struct {
		uint16_t user;
		uint8_t action;
		const char *payload;
		size_t len;
	} t[] = {
		{ 1, 1, "hello-world", 11 },
		{ 0, 0, "", 0 },
		{ 65535, 255, "\x00\x01\xff binary", 10 },
		{ 513, 200, NULL, SL_PAYLOAD_MAX },
	};
	uint8_t key[SL_HMAC_KEY_LEN], other[SL_HMAC_KEY_LEN];
	uint8_t payload[SL_PAYLOAD_MAX], dgram[SL_DGRAM_LEN];
	uint8_t pt[SL_PACKET_LEN];
	struct wire_knock k, d;
	struct crypto_dec *dec = NULL;
	EVP_PKEY *pub = NULL, *priv = NULL;
	char err[CLIENT_ERR_LEN];
	size_t i;

	(void)state;
	assert_int_equal(crypto_load_hmac_key(vec("user1.hmac.key"), 0, key,
	    err, sizeof(err)), 0);
	assert_int_equal(crypto_load_public(vec("server.pub.pem"), &pub, err,
	    sizeof(err)), 0);
	assert_int_equal(crypto_load_private(vec("server.priv.pem"), 0, &priv,
	    err, sizeof(err)), 0);
	assert_int_equal(crypto_dec_new(priv, &dec), 0);
	memcpy(other, key, sizeof(other));
	other[31] ^= 0x80;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].payload != NULL)
			memcpy(payload, t[i].payload, t[i].len);
		else
			memset(payload, 'A', t[i].len);
		assert_int_equal(client_build_knock(&k, 1795702022u + (uint32_t)i,
		    t[i].user, t[i].action, payload, t[i].len, key), 0);
		assert_int_equal(client_seal_knock(pub, &k, dgram), 0);
		assert_int_equal(crypto_dec_knock(dec, dgram, pt), 0);
		assert_int_equal(wire_decode(&d, pt, sizeof(pt)), 0);
		assert_int_equal(wire_verify(NULL, key, &d), 0);
		assert_int_equal(wire_verify(NULL, other, &d), SL_EAUTH);
		assert_int_equal(d.version, SL_WIRE_VERSION);
		assert_int_equal(d.timestamp, 1795702022u + i);
		assert_int_equal(d.user_id, t[i].user);
		assert_int_equal(d.action_id, t[i].action);
		assert_int_equal(d.challenge, k.challenge);
		assert_int_equal(d.payload_len, t[i].len);
		assert_memory_equal(d.payload, payload, t[i].len);
		assert_memory_equal(d.hmac, k.hmac, SL_HMAC_LEN);
	}
	/* a fresh challenge each time */
	assert_int_equal(client_build_knock(&d, 1, 1, 1, NULL, 0, key), 0);
	assert_int_equal(client_build_knock(&k, 1, 1, 1, NULL, 0, key), 0);
	assert_int_not_equal(d.challenge, k.challenge);
	/* too much payload is refused */
	assert_int_equal(client_build_knock(&k, 1, 1, 1, payload,
	    SL_PAYLOAD_MAX + 1, key), SL_ETOOBIG);

	crypto_dec_free(dec);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
}

/* Clients must accept "RSA PUBLIC KEY" (PKCS#1) as well as "PUBLIC KEY". */
static void
test_public_key_forms(void **state)
{
	EVP_PKEY *spki = NULL, *pkcs1 = NULL;
	OSSL_ENCODER_CTX *ectx;
	unsigned char *pem = NULL;
	size_t pemlen = 0;
	char err[CLIENT_ERR_LEN], text[2048];

	(void)state;
	assert_int_equal(crypto_load_public(vec("server.pub.pem"), &spki, err,
	    sizeof(err)), 0);
	ectx = OSSL_ENCODER_CTX_new_for_pkey(spki,
	    OSSL_KEYMGMT_SELECT_PUBLIC_KEY, "PEM", "type-specific", NULL);
	assert_non_null(ectx);
	assert_int_equal(OSSL_ENCODER_to_data(ectx, &pem, &pemlen), 1);
	OSSL_ENCODER_CTX_free(ectx);
	assert_true(pemlen < sizeof(text));
	memcpy(text, pem, pemlen);
	text[pemlen] = '\0';
	OPENSSL_free(pem);
	assert_non_null(strstr(text, "-----BEGIN RSA PUBLIC KEY-----"));
	write_file(tmp("rsa.pub.pem"), text);

	assert_int_equal(crypto_load_public(tmp("rsa.pub.pem"), &pkcs1, err,
	    sizeof(err)), 0);
	assert_int_equal(EVP_PKEY_eq(spki, pkcs1), 1);
	EVP_PKEY_free(pkcs1);
	EVP_PKEY_free(spki);

	/* and a private key is not a public key */
	pkcs1 = NULL;
	assert_int_not_equal(crypto_load_public(vec("server.priv.pem"), &pkcs1,
	    err, sizeof(err)), 0);
	assert_null(pkcs1);
}

static void
test_read_fd(void **state)
{
	static const struct { size_t n; int rc; } t[] = {
		{ 0, 0 }, { 1, 0 }, { SL_PAYLOAD_MAX, 0 },
		{ SL_PAYLOAD_MAX + 1, SL_ETOOBIG }, { 4096, SL_ETOOBIG },
	};
	uint8_t data[4096], buf[SL_PAYLOAD_MAX];
	size_t i, len;
	int p[2];

	(void)state;
	memset(data, 'x', sizeof(data));
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(pipe(p), 0);
		assert_int_equal(write(p[1], data, t[i].n), (ssize_t)t[i].n);
		close(p[1]);
		len = 12345;
		assert_int_equal(client_read_fd(p[0], buf, sizeof(buf), &len),
		    t[i].rc);
		if (t[i].rc == 0)
			assert_int_equal(len, t[i].n);
		close(p[0]);
	}
}

static void
test_create_file(void **state)
{
	char err[CLIENT_ERR_LEN], buf[16], target[SL_PATH_MAX];
	struct stat st;
	mode_t old;
	size_t len;

	(void)state;
	old = umask(077);
	/* the mode is exact whatever the umask */
	assert_int_equal(client_create_file(tmp("pub"), 0644, "abc", 3, err,
	    sizeof(err)), 0);
	assert_int_equal(stat(tmp("pub"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(client_create_file(tmp("priv"), 0600, "k", 1, err,
	    sizeof(err)), 0);
	assert_int_equal(stat(tmp("priv"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	umask(old);

	/* never overwrite */
	assert_int_equal(client_create_file(tmp("pub"), 0644, "xyz!", 4, err,
	    sizeof(err)), SL_ESYS);
	assert_non_null(strstr(err, "already exists"));
	assert_int_equal(client_read_file(tmp("pub"), (uint8_t *)buf,
	    sizeof(buf), &len, err, sizeof(err)), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "abc", 3);

	/* never follow a symlink, dangling or not */
	snprintf(target, sizeof(target), "%s", tmp("target"));
	assert_int_equal(symlink(target, tmp("link")), 0);
	assert_int_equal(client_create_file(tmp("link"), 0600, "k", 1, err,
	    sizeof(err)), SL_ESYS);
	assert_int_equal(access(target, F_OK), -1);
	assert_int_equal(symlink(tmp("pub"), target), 0);
	assert_int_equal(client_create_file(target, 0600, "k", 1, err,
	    sizeof(err)), SL_ESYS);

	/* read_file: too big, not regular */
	assert_int_equal(client_read_file(tmp("pub"), (uint8_t *)buf, 2, &len,
	    err, sizeof(err)), SL_ETOOBIG);
	assert_int_equal(client_read_file(tmpdir, (uint8_t *)buf, sizeof(buf),
	    &len, err, sizeof(err)), SL_EINVAL);
}

static void
test_check_dir(void **state)
{
	char err[CLIENT_ERR_LEN];

	(void)state;
	assert_int_equal(mkdir(tmp("private"), 0700), 0);
	assert_int_equal(client_check_dir(tmp("private"), err, sizeof(err)), 0);
	assert_int_equal(mkdir(tmp("open"), 0700), 0);
	assert_int_equal(chmod(tmp("open"), 01777), 0);
	assert_int_equal(client_check_dir(tmp("open"), err, sizeof(err)),
	    SL_EPERM);
	assert_non_null(strstr(err, "writable by others"));
	write_file(tmp("plain"), "x");
	assert_int_equal(client_check_dir(tmp("plain"), err, sizeof(err)),
	    SL_EINVAL);
	assert_int_equal(client_check_dir(tmp("missing"), err, sizeof(err)),
	    SL_ESYS);
}

static void
test_small_parsers(void **state)
{
	static const struct { const char *s; int rc; uint16_t port; } t[] = {
		{ "1", 0, 1 }, { "50000", 0, 50000 }, { "65535", 0, 65535 },
		{ "0", SL_ETOOBIG, 0 }, { "65536", SL_ETOOBIG, 0 },
		{ "-1", SL_EINVAL, 0 }, { "", SL_EINVAL, 0 },
		{ "80x", SL_EINVAL, 0 }, { " 80", SL_EINVAL, 0 },
	};
	static const uint8_t bytes[] = { 0x00, 0x7f, 0xab, 0xff };
	char hex[9];
	uint16_t port;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		port = 0;
		assert_int_equal(client_parse_port(t[i].s, &port), t[i].rc);
		assert_int_equal(port, t[i].port);
	}
	assert_int_equal(client_hex(hex, sizeof(hex), bytes, 4), 0);
	assert_string_equal(hex, "007fabff");
	assert_int_equal(client_hex(hex, 8, bytes, 4), SL_ETOOBIG);
}

static void
test_send_loopback(void **state)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	char err[CLIENT_ERR_LEN], addr[64];
	uint8_t out[SL_DGRAM_LEN], in[SL_DGRAM_LEN + 1];
	struct timeval tv = { 5, 0 };
	int fd;

	(void)state;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);

	memset(out, 0x5a, sizeof(out));
	assert_int_equal(client_send("127.0.0.1", ntohs(sin.sin_port), true,
	    out, sizeof(out), addr, sizeof(addr), err, sizeof(err)), 0);
	assert_string_equal(addr, "127.0.0.1");
	assert_int_equal(recv(fd, in, sizeof(in), 0), SL_DGRAM_LEN);
	assert_memory_equal(in, out, sizeof(out));
	close(fd);

	/* numeric_only: no name lookups */
	assert_int_equal(client_send("localhost", 9, true, out, sizeof(out),
	    NULL, 0, err, sizeof(err)), SL_ENOENT);
	assert_non_null(strstr(err, "cannot resolve localhost"));
}

static void
test_parse_formats(void **state)
{
	static const struct { const char *s; int rc; uint32_t mask; } t[] = {
		{ "1", 0, CLIENT_FMT(1) },
		{ "2", 0, CLIENT_FMT(2) },
		{ "1,2", 0, CLIENT_FMT(1) | CLIENT_FMT(2) },
		{ "2,1", 0, CLIENT_FMT(1) | CLIENT_FMT(2) },
		{ " 1 ,\t2 ", 0, CLIENT_FMT(1) | CLIENT_FMT(2) },
		{ "1,2,3", 0, CLIENT_FMT(1) | CLIENT_FMT(2) | CLIENT_FMT(3) },
		{ "31", 0, CLIENT_FMT(31) },
		{ "", SL_EINVAL, 0 }, { " ", SL_EINVAL, 0 },
		{ "0", SL_EINVAL, 0 }, { "32", SL_EINVAL, 0 },
		{ "1,", SL_EINVAL, 0 }, { ",2", SL_EINVAL, 0 },
		{ "1,,2", SL_EINVAL, 0 }, { "1,1", SL_EINVAL, 0 },
		{ "1 2", SL_EINVAL, 0 }, { "v2", SL_EINVAL, 0 },
		{ "-1", SL_EINVAL, 0 }, { "1;2", SL_EINVAL, 0 },
	};
	uint32_t mask;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		mask = 0xdead;
		if (client_parse_formats(t[i].s, &mask) != t[i].rc)
			fail_msg("case %zu '%s'", i, t[i].s);
		assert_int_equal(mask, t[i].rc == 0 ? t[i].mask : 0xdead);
	}
}

static void
test_read_formats(void **state)
{
	static const struct {
		const char *text;
		size_t len;             /* 0: strlen(text) */
		int rc;
		uint32_t mask;
		const char *errpart;
	} t[] = {
		{ "1,2\n", 0, 0, CLIENT_FMT(1) | CLIENT_FMT(2), NULL },
		{ "2", 0, 0, CLIENT_FMT(2), NULL },
		{ "1\r\n", 0, 0, CLIENT_FMT(1), NULL },
		{ "# made by siglatch-keygen\n\n  2 , 1  \n\n", 0, 0,
		  CLIENT_FMT(1) | CLIENT_FMT(2), NULL },
		{ "", 0, SL_ECONFIG, 0, "lists no format" },
		{ "# only a comment\n", 0, SL_ECONFIG, 0, "lists no format" },
		{ "1\n2\n", 0, SL_ECONFIG, 0, ":2:" },
		{ "1,x\n", 0, SL_ECONFIG, 0, ":1:" },
		{ "\n1\0\n", 4, SL_ECONFIG, 0, ":2:" },
	};
	char err[CLIENT_ERR_LEN];
	uint32_t mask;
	size_t i, len;
	int fd;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		unlink(tmp("formats"));
		fd = open(tmp("formats"), O_WRONLY | O_CREAT | O_EXCL, 0644);
		assert_true(fd >= 0);
		len = t[i].len != 0 ? t[i].len : strlen(t[i].text);
		assert_int_equal(write(fd, t[i].text, len), (ssize_t)len);
		close(fd);
		mask = 0xdead;
		err[0] = '\0';
		if (client_read_formats(tmp("formats"), &mask, err,
		    sizeof(err)) != t[i].rc)
			fail_msg("case %zu: %s", i, err);
		assert_int_equal(mask, t[i].rc == 0 ? t[i].mask : 0xdead);
		if (t[i].errpart != NULL && strstr(err, t[i].errpart) == NULL)
			fail_msg("case %zu: error '%s' lacks '%s'", i, err,
			    t[i].errpart);
	}
	unlink(tmp("formats"));
	/* no file: a bundle from before format 2 */
	assert_int_equal(client_read_formats(tmp("formats"), &mask, err,
	    sizeof(err)), SL_ENOENT);
	/* not a regular file */
	assert_int_equal(client_read_formats(tmpdir, &mask, err, sizeof(err)),
	    SL_EINVAL);
}

static void
test_parse_ip(void **state)
{
	static const struct { const char *s; int rc; const char *as; } t[] = {
		{ "127.0.0.1", 0, "127.0.0.1" },
		{ "203.0.113.7", 0, "203.0.113.7" },
		{ "::1", 0, "::1" },
		{ "2001:db8::1", 0, "2001:db8::1" },
		{ "::ffff:198.51.100.2", 0, "198.51.100.2" },  /* as IPv4 */
		{ "::ffff:c633:6402", 0, "198.51.100.2" },
		{ "", SL_EINVAL, NULL }, { "localhost", SL_EINVAL, NULL },
		{ "1.2.3", SL_EINVAL, NULL }, { "1.2.3.4/32", SL_EINVAL, NULL },
		{ "fe80::1%lo", SL_EINVAL, NULL }, { " 1.2.3.4", SL_EINVAL, NULL },
		{ "256.1.1.1", SL_EINVAL, NULL }, { "[::1]", SL_EINVAL, NULL },
	};
	struct sl_addr a, want;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&a, 0, sizeof(a));
		if (addr_parse(t[i].s, &a) != t[i].rc)
			fail_msg("case %zu '%s'", i, t[i].s);
		if (t[i].rc != 0)
			continue;
		want = tu_addr(t[i].as);
		assert_int_equal(a.family, want.family);
		assert_memory_equal(a.bytes, want.bytes, sizeof(a.bytes));
	}
}

static void
test_addr_scope(void **state)
{
	static const struct { const char *s; enum client_scope scope; } t[] = {
		{ "127.0.0.1", CLIENT_SCOPE_LOOPBACK },
		{ "127.255.255.254", CLIENT_SCOPE_LOOPBACK },
		{ "::1", CLIENT_SCOPE_LOOPBACK },
		{ "10.0.0.1", CLIENT_SCOPE_PRIVATE },
		{ "10.255.255.255", CLIENT_SCOPE_PRIVATE },
		{ "172.16.0.1", CLIENT_SCOPE_PRIVATE },
		{ "172.31.255.255", CLIENT_SCOPE_PRIVATE },
		{ "172.15.255.255", CLIENT_SCOPE_PUBLIC },
		{ "172.32.0.0", CLIENT_SCOPE_PUBLIC },
		{ "192.168.1.1", CLIENT_SCOPE_PRIVATE },
		{ "192.169.0.1", CLIENT_SCOPE_PUBLIC },
		{ "fc00::1", CLIENT_SCOPE_PRIVATE },
		{ "fd12:3456::1", CLIENT_SCOPE_PRIVATE },
		{ "fec0::1", CLIENT_SCOPE_PRIVATE },
		{ "fe00::1", CLIENT_SCOPE_PUBLIC },
		{ "100.64.0.1", CLIENT_SCOPE_SHARED },
		{ "100.127.255.255", CLIENT_SCOPE_SHARED },
		{ "100.63.255.255", CLIENT_SCOPE_PUBLIC },
		{ "100.128.0.0", CLIENT_SCOPE_PUBLIC },
		{ "169.254.1.1", CLIENT_SCOPE_LINKLOCAL },
		{ "fe80::1", CLIENT_SCOPE_LINKLOCAL },
		{ "febf::1", CLIENT_SCOPE_LINKLOCAL },
		{ "64:ff9b::203.0.113.1", CLIENT_SCOPE_NAT64 },
		{ "64:ff9b:1::1", CLIENT_SCOPE_NAT64 },
		{ "0.0.0.0", CLIENT_SCOPE_OTHER },
		{ "::", CLIENT_SCOPE_OTHER },
		{ "224.0.0.1", CLIENT_SCOPE_OTHER },
		{ "255.255.255.255", CLIENT_SCOPE_OTHER },
		{ "ff02::1", CLIENT_SCOPE_OTHER },
		{ "8.8.8.8", CLIENT_SCOPE_PUBLIC },
		{ "203.0.113.1", CLIENT_SCOPE_PUBLIC },
		{ "2001:db8::1", CLIENT_SCOPE_PUBLIC },
		{ "2a00:1450::1", CLIENT_SCOPE_PUBLIC },
		{ "::ffff:10.1.2.3", CLIENT_SCOPE_PRIVATE },    /* unmapped */
	};
	struct sl_addr a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		a = tu_addr(t[i].s);
		if (client_addr_scope(&a) != t[i].scope)
			fail_msg("%s: scope %d, want %d", t[i].s,
			    client_addr_scope(&a), t[i].scope);
		assert_non_null(client_scope_name(t[i].scope));
	}
	memset(&a, 0, sizeof(a));
	assert_int_equal(client_addr_scope(&a), CLIENT_SCOPE_OTHER);
}

static void
test_name_local(void **state)
{
	static const struct {
		const char *server, *local;
		bool named;
	} t[] = {
		/* the server will see this address */
		{ "127.0.0.1", "127.0.0.1", true },
		{ "::1", "::1", true },
		{ "192.168.1.10", "192.168.1.20", true },
		{ "10.0.0.1", "10.9.9.9", true },
		{ "172.20.0.1", "172.20.0.2", true },
		{ "100.64.0.1", "100.100.1.2", true },      /* tailnet */
		{ "169.254.0.1", "169.254.0.2", true },
		{ "fe80::1", "fe80::2", true },
		{ "fd00::1", "fd00::2", true },
		{ "203.0.113.1", "198.51.100.7", true },     /* both public */
		{ "2001:db8::1", "2001:db8:1::7", true },
		{ "10.0.0.1", "203.0.113.5", true },         /* private server */
		/* NAT: a private (or shared) source to a public server */
		{ "203.0.113.1", "192.168.1.20", false },
		{ "203.0.113.1", "10.0.0.2", false },
		{ "203.0.113.1", "100.64.1.2", false },
		{ "2001:db8::1", "fd00::2", false },
		{ "2001:db8::1", "fe80::2", false },
		/* NAT64: the server sees the translator's IPv4 address */
		{ "64:ff9b::cb00:7101", "2001:db8::7", false },
		/* nonsense */
		{ "0.0.0.0", "127.0.0.1", false },
		{ "224.0.0.1", "192.168.1.2", false },
		{ "127.0.0.1", "::1", false },               /* families differ */
	};
	struct sl_addr s, l;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		s = tu_addr(t[i].server);
		l = tu_addr(t[i].local);
		if (client_name_local(&s, &l) != t[i].named)
			fail_msg("server %s local %s: want %s", t[i].server,
			    t[i].local, t[i].named ? "named" : "none");
	}
}

static void
test_receipt_outcome(void **state)
{
	static const struct {
		uint8_t status, reason;
		uint32_t value;
		int exit;
		const char *msg;
	} t[] = {
		{ K2_ST_DONE, 0, 300, CLIENT_EXIT_OK,
		  "done: access granted for 300 s" },
		{ K2_ST_DONE, 0, 0, CLIENT_EXIT_OK, "done: the action ran" },
		{ K2_ST_FAILED, 0, 0, CLIENT_EXIT_FAILED,
		  "the action failed (exit status 0)" },
		{ K2_ST_FAILED, 0, 3, CLIENT_EXIT_FAILED,
		  "the action failed (exit status 3)" },
		{ K2_ST_FAILED, 0, 255, CLIENT_EXIT_FAILED,
		  "the action failed (exit status 255)" },
		{ K2_ST_FAILED, 0, 256 + 9, CLIENT_EXIT_FAILED,
		  "the action failed (killed by signal 9)" },
		{ K2_ST_FAILED, 0, 0xffffffffu, CLIENT_EXIT_FAILED,
		  "the action failed (the server could not start it)" },
		{ K2_ST_FAILED, 0, 100000, CLIENT_EXIT_FAILED,
		  "the action failed (status value 100000)" },
		{ K2_ST_REFUSED, K2_R_DENIED, 0, CLIENT_EXIT_REFUSED,
		  "refused by the server: not permitted" },
		{ K2_ST_REFUSED, K2_R_PAYLOAD, 0, CLIENT_EXIT_REFUSED,
		  "refused by the server: payload refused" },
		{ K2_ST_REFUSED, K2_R_NONE, 0, CLIENT_EXIT_REFUSED,
		  "refused by the server: no reason given" },
		{ K2_ST_BUSY, 0, 0, CLIENT_EXIT_BUSY, "server busy, try again" },
		{ 9, 0, 0, CLIENT_EXIT_ERROR, "unknown receipt status 9" },
	};
	struct k2_receipt r;
	char msg[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.status = t[i].status;
		r.reason = t[i].reason;
		r.value = t[i].value;
		assert_int_equal(client_receipt_outcome(&r, msg, sizeof(msg)),
		    t[i].exit);
		assert_string_equal(msg, t[i].msg);
	}
}

static void
test_save_file(void **state)
{
	char err[CLIENT_ERR_LEN], buf[16], target[SL_PATH_MAX];
	struct stat st;
	mode_t old;
	size_t len;

	(void)state;
	old = umask(077);
	/* new: exactly the mode */
	assert_int_equal(client_save_file(tmp("knock"), 0644, "first", 5, err,
	    sizeof(err)), 0);
	assert_int_equal(stat(tmp("knock"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	umask(old);
	/* existing regular file: replaced, shorter content, mode kept */
	assert_int_equal(chmod(tmp("knock"), 0600), 0);
	assert_int_equal(client_save_file(tmp("knock"), 0644, "2nd", 3, err,
	    sizeof(err)), 0);
	assert_int_equal(client_read_file(tmp("knock"), (uint8_t *)buf,
	    sizeof(buf), &len, err, sizeof(err)), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "2nd", 3);
	assert_int_equal(stat(tmp("knock"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* a symlink is never followed, to a file or dangling (tmp() has
	 * one buffer: copy the target first) */
	snprintf(target, sizeof(target), "%s", tmp("knock"));
	assert_int_equal(symlink(target, tmp("knock.link")), 0);
	assert_int_equal(client_save_file(tmp("knock.link"), 0644, "x", 1, err,
	    sizeof(err)), SL_ESYS);
	assert_non_null(strstr(err, "symlink"));
	assert_int_equal(client_read_file(tmp("knock"), (uint8_t *)buf,
	    sizeof(buf), &len, err, sizeof(err)), 0);
	assert_int_equal(len, 3);
	snprintf(target, sizeof(target), "%s", tmp("nowhere"));
	assert_int_equal(symlink(target, tmp("dangling")), 0);
	assert_int_equal(client_save_file(tmp("dangling"), 0644, "x", 1, err,
	    sizeof(err)), SL_ESYS);
	assert_int_equal(access(target, F_OK), -1);
	/* nor anything but a regular file (a FIFO does not block) */
	assert_int_equal(mkfifo(tmp("fifo"), 0600), 0);
	assert_int_equal(client_save_file(tmp("fifo"), 0644, "x", 1, err,
	    sizeof(err)), SL_EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(client_save_file(tmpdir, 0644, "x", 1, err,
	    sizeof(err)), SL_EINVAL);
	assert_int_equal(client_save_file(tmp("no/such/dir"), 0644, "x", 1,
	    err, sizeof(err)), SL_ESYS);
}

static void
test_connect_loopback(void **state)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct sl_addr server, local, lo = tu_addr("127.0.0.1");
	char err[CLIENT_ERR_LEN], addr[64];
	uint8_t out[K2_DGRAM_LEN], in[K2_DGRAM_LEN + 1];
	struct timeval tv = { 5, 0 };
	int fd, cfd = -1;

	(void)state;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);

	assert_int_equal(client_connect("127.0.0.1", ntohs(sin.sin_port), true,
	    &cfd, &server, &local, addr, sizeof(addr), err, sizeof(err)), 0);
	assert_true(cfd >= 0);
	assert_string_equal(addr, "127.0.0.1");
	assert_memory_equal(&server, &lo, sizeof(lo));
	assert_memory_equal(&local, &lo, sizeof(lo));
	assert_true(client_name_local(&server, &local));
	/* connecting sent nothing; sending does */
	assert_int_equal(recv(fd, in, sizeof(in), MSG_DONTWAIT), -1);
	memset(out, 0x5a, sizeof(out));
	assert_int_equal(send(cfd, out, sizeof(out), 0), (ssize_t)sizeof(out));
	assert_int_equal(recv(fd, in, sizeof(in), 0), K2_DGRAM_LEN);
	assert_memory_equal(in, out, sizeof(out));
	close(cfd);
	close(fd);

	assert_int_equal(client_connect("localhost", 9, true, &cfd, NULL, NULL,
	    NULL, 0, err, sizeof(err)), SL_ENOENT);
	assert_int_equal(cfd, -1);
	assert_non_null(strstr(err, "cannot resolve localhost"));
}

/* What knocker builds for format 2 opens on the server side, with the
 * receipt key and mac it keeps. */
static void
test_round_trip_v2(void **state)
{
	uint8_t key[SL_HMAC_KEY_LEN], dgram[K2_DGRAM_LEN];
	uint8_t rk[K2_KEY_LEN], rk2[K2_KEY_LEN], mac[K2_MAC_LEN];
	uint8_t rcpt[K2_RECEIPT_LEN];
	struct k2_userkeys uk;
	struct k2_inner in, out;
	struct k2_receipt r = { K2_ST_DONE, 0, 300, 1780000000u }, got;
	struct k2_open *o = NULL;
	EVP_PKEY *pub = NULL, *priv = NULL;
	char err[CLIENT_ERR_LEN], msg[128];

	(void)state;
	assert_int_equal(crypto_load_hmac_key(vec("user1.hmac.key"), 0, key,
	    err, sizeof(err)), 0);
	assert_int_equal(crypto_load_public(vec("server.pub.pem"), &pub, err,
	    sizeof(err)), 0);
	assert_int_equal(crypto_load_private(vec("server.priv.pem"), 0, &priv,
	    err, sizeof(err)), 0);
	memset(&in, 0, sizeof(in));
	in.flags = K2_F_RECEIPT;
	in.user_id = 10;
	in.action_id = 4;
	in.timestamp = 1780000000u;
	assert_int_equal(addr_parse("::ffff:192.0.2.9", &in.addr), 0);
	in.has_addr = true;
	in.payload_len = 5;
	memcpy(in.payload, "hello", 5);
	assert_int_equal(crypto_random(in.nonce, sizeof(in.nonce)), 0);
	assert_int_equal(k2_derive_user(key, &uk), 0);
	assert_int_equal(k2_seal(pub, &uk, &in, NULL, dgram, rk, mac), 0);
	assert_memory_equal(mac, dgram + K2_OFF_MAC, K2_MAC_LEN);

	assert_int_equal(k2_mac_verify(NULL, uk.mac_key, dgram), 0);
	assert_int_equal(k2_open_new(priv, &o), 0);
	assert_int_equal(k2_open(o, dgram, &out, rk2), 0);
	assert_memory_equal(rk, rk2, sizeof(rk));
	assert_int_equal(out.flags, K2_F_RECEIPT);
	assert_int_equal(out.user_id, 10);
	assert_int_equal(out.action_id, 4);
	assert_true(out.has_addr);
	assert_int_equal(out.addr.family, AF_INET);    /* written as IPv4 */
	assert_memory_equal(out.addr.bytes, "\xc0\x00\x02\x09", 4);
	assert_int_equal(out.payload_len, 5);
	assert_memory_equal(out.payload, "hello", 5);
	assert_memory_equal(out.nonce, in.nonce, sizeof(in.nonce));

	/* the server's receipt opens with what knocker kept */
	assert_int_equal(k2_receipt_seal(NULL, rk2, dgram + K2_OFF_MAC, &r,
	    rcpt), 0);
	assert_int_equal(k2_receipt_open(NULL, rk, mac, rcpt, sizeof(rcpt),
	    &got), 0);
	assert_int_equal(client_receipt_outcome(&got, msg, sizeof(msg)),
	    CLIENT_EXIT_OK);
	assert_string_equal(msg, "done: access granted for 300 s");
	/* and not for another knock */
	mac[0] ^= 1;
	assert_int_not_equal(k2_receipt_open(NULL, rk, mac, rcpt, sizeof(rcpt),
	    &got), 0);

	k2_open_free(o);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
}

/*
 * The fingerprints knocker shows are the daemon's and keygen's (crypto.h),
 * known answers: of the vector server key, the unpadded base64 of
 *   openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary;
 * of the vector HMAC key, of SHA-256 over the label, a NUL and its 32
 * bytes (computed apart, with Python's hashlib).
 */
static void
test_fingerprints(void **state)
{
	char fp[CRYPTO_FP_LEN], err[CLIENT_ERR_LEN];
	uint8_t key[SL_HMAC_KEY_LEN];
	EVP_PKEY *pub = NULL;

	(void)state;
	assert_int_equal(crypto_load_public(vec("server.pub.pem"), &pub, err,
	    sizeof(err)), 0);
	assert_int_equal(crypto_fp_pkey(pub, fp, sizeof(fp)), 0);
	assert_string_equal(fp,
	    "SHA256:owCqlq4AUTZAawasQG3o4y4ijWmhERVObhJ1oU0gDCc");
	assert_int_equal(crypto_fp_pkey(pub, fp, 50), SL_ETOOBIG);
	EVP_PKEY_free(pub);
	assert_int_equal(crypto_load_hmac_key(vec("user1.hmac.key"), 0, key,
	    err, sizeof(err)), 0);
	assert_int_equal(crypto_fp_hmac(key, fp, sizeof(fp)), 0);
	OPENSSL_cleanse(key, sizeof(key));
	assert_string_equal(fp,
	    "HMAC-SHA256:jaQY2xLEi/SgsYwkhVn6N0FtLpFEdBEUS00fnAgJeRc");
}

/* A NULL host applies every line (an imported bundle); the summary of a
 * map for --import-bundle. */
static void
test_map_any_host_and_summary(void **state)
{
	static const char map[] = "# name,host,id\n"
	    "dave,gw.example.org,20\n"
	    "erin,*,21\n";
	char name[64], host[256], err[CLIENT_ERR_LEN];
	unsigned nn;
	uint32_t id = 0;

	(void)state;
	assert_int_equal(client_map_lookup_buf(map, strlen(map), "m", NULL,
	    "dave", 65535, &id, err, sizeof(err)), 0);
	assert_int_equal(id, 20);
	assert_int_equal(client_map_lookup_buf(map, strlen(map), "m",
	    "127.0.0.1", "dave", 65535, &id, err, sizeof(err)), SL_ENOENT);
	assert_int_equal(client_map_lookup_buf(map, strlen(map), "m", NULL,
	    "nobody", 65535, &id, err, sizeof(err)), SL_ENOENT);
	assert_string_equal(err, "not in m");

	write_file(tmp("u.map"), map);
	assert_int_equal(client_map_summary(tmp("u.map"), name, sizeof(name),
	    host, sizeof(host), &nn, err, sizeof(err)), 0);
	assert_string_equal(name, "dave");
	assert_string_equal(host, "gw.example.org");
	assert_int_equal(nn, 2);
	write_file(tmp("u.map"), "\n# only one\ndave,*,20\r\ndave,h2,20\n");
	assert_int_equal(client_map_summary(tmp("u.map"), name, sizeof(name),
	    host, sizeof(host), &nn, err, sizeof(err)), 0);
	assert_int_equal(nn, 1);
	assert_string_equal(host, "h2");
	write_file(tmp("u.map"), "dave,*,20\n");
	assert_int_equal(client_map_summary(tmp("u.map"), name, sizeof(name),
	    host, sizeof(host), &nn, err, sizeof(err)), 0);
	assert_string_equal(host, "");
	write_file(tmp("u.map"), "dave,h,20\nbroken line\n");
	assert_int_equal(client_map_summary(tmp("u.map"), name, sizeof(name),
	    host, sizeof(host), &nn, err, sizeof(err)), SL_ECONFIG);
	assert_non_null(strstr(err, "u.map:2: expected name,host,id"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_name),
		cmocka_unit_test(test_valid_host),
		cmocka_unit_test(test_map_lookup),
		cmocka_unit_test(test_map_lookup_hostile),
		cmocka_unit_test(test_resolve_id),
		cmocka_unit_test(test_host_dir),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_public_key_forms),
		cmocka_unit_test(test_read_fd),
		cmocka_unit_test(test_create_file),
		cmocka_unit_test(test_check_dir),
		cmocka_unit_test(test_small_parsers),
		cmocka_unit_test(test_send_loopback),
		cmocka_unit_test(test_parse_formats),
		cmocka_unit_test(test_read_formats),
		cmocka_unit_test(test_parse_ip),
		cmocka_unit_test(test_addr_scope),
		cmocka_unit_test(test_name_local),
		cmocka_unit_test(test_receipt_outcome),
		cmocka_unit_test(test_save_file),
		cmocka_unit_test(test_connect_loopback),
		cmocka_unit_test(test_round_trip_v2),
		cmocka_unit_test(test_fingerprints),
		cmocka_unit_test(test_map_any_host_and_summary),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
