/*
 * test_reload.c - the reload bundle (reload_pack / reload_unpack) on real
 * memfds: a round trip, every truncation, trailing and corrupted bytes;
 * reload_needs_restart; reload_read's refusals.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "config.h"
#include "reload.h"
#include "sl.h"

static const char conf_text[] =
    "priv_key_path = /k.pem\n"
    "[server:s]\n"
    "[server:t]\n"
    "port = 4242\n"
    "enabled = no\n"
    "[action:a]\n"
    "id = 1\n"
    "constructor = /bin/true\n"
    "[user:u]\n"
    "id = 1\n"
    "enabled = yes\n"
    "hmac_file = /h\n"
    "actions = a\n"
    "[user:v]\n"
    "id = 2\n"
    "enabled = no\n"
    "hmac_file = /h2\n";

static char err[512];
static EVP_PKEY *rsa_key;

static int
setup(void **state)
{
	(void)state;
	rsa_key = EVP_RSA_gen(2048);
	return rsa_key == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_key);
	return 0;
}

/* A parsed conf_text with keys: server s has rsa_key, user u 0x5a..., the
 * disabled user v 0x11... (which must travel as zeros). */
static struct config *
cfg_with_keys(void)
{
	struct config *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	if (config_parse_string(c, "t.conf", conf_text, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	assert_int_equal(c->nservers, 2);
	assert_int_equal(c->nusers, 2);
	assert_true(c->servers[0].enabled);
	assert_true(c->users[0].enabled);
	assert_false(c->users[1].enabled);
	assert_false(c->servers[1].enabled);
	assert_true(EVP_PKEY_up_ref(rsa_key) == 1);
	c->servers[0].priv = rsa_key;
	memset(c->users[0].hmac_key, 0x5a, SL_HMAC_KEY_LEN);
	memset(c->users[1].hmac_key, 0x11, SL_HMAC_KEY_LEN);
	return c;
}

static void
cfg_free(struct config *c)
{
	config_wipe_keys(c);
	free(c);
}

static off_t
fd_size(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_size;
}

/* The bytes of a packed bundle. */
static uint8_t *
pack_bytes(size_t *len)
{
	struct config *a = cfg_with_keys();
	uint8_t *buf;
	int fd;

	assert_int_equal(reload_pack(a, conf_text, &fd, err, sizeof(err)), 0);
	*len = (size_t)fd_size(fd);
	assert_non_null(buf = malloc(*len + 1));
	assert_int_equal(pread(fd, buf, *len, 0), (ssize_t)*len);
	close(fd);
	cfg_free(a);
	return buf;
}

/* A memfd holding buf, its offset at the end (as the sender leaves it). */
static int
memfd_of(const uint8_t *buf, size_t len)
{
	int fd = memfd_create("test-reload", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	return fd;
}

/* Unpack buf into a fresh config: the code, err as it was left. */
static int
unpack(const uint8_t *buf, size_t len)
{
	struct config *b = calloc(1, sizeof(*b));
	int fd, rc;

	assert_non_null(b);
	fd = memfd_of(buf, len);
	err[0] = '\0';
	rc = reload_unpack(fd, "t.conf", b, err, sizeof(err));
	/* whatever happened, the keys have left the memfd */
	assert_int_equal(fd_size(fd), 0);
	if (rc != 0) {
		/* and nothing half-made is kept */
		assert_null(b->servers[0].priv);
		assert_null(b->servers[1].priv);
	}
	close(fd);
	cfg_free(b);
	return rc;
}

static void
test_round_trip(void **state)
{
	struct config *a = cfg_with_keys(), *b = calloc(1, sizeof(*b));
	uint8_t zero[SL_HMAC_KEY_LEN] = { 0 };
	char what[128];
	int fd, seals;

	(void)state;
	assert_non_null(b);
	assert_int_equal(reload_pack(a, conf_text, &fd, err, sizeof(err)), 0);
	/* sealed: nobody changes it on its way */
	seals = fcntl(fd, F_GET_SEALS);
	assert_true(seals >= 0);
	assert_int_equal(seals & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SEAL),
	    F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SEAL);
	assert_true(fd_size(fd) > (off_t)(24 + sizeof(conf_text)));
	if (reload_unpack(fd, "t.conf", b, err, sizeof(err)) != 0)
		fail_msg("reload_unpack: %s", err);
	assert_int_equal(fd_size(fd), 0);
	close(fd);
	assert_non_null(b->servers[0].priv);
	assert_int_equal(EVP_PKEY_eq(a->servers[0].priv, b->servers[0].priv),
	    1);
	assert_null(b->servers[1].priv);
	assert_memory_equal(b->users[0].hmac_key, a->users[0].hmac_key,
	    SL_HMAC_KEY_LEN);
	assert_memory_equal(b->users[1].hmac_key, zero, SL_HMAC_KEY_LEN);
	/* the same file: nothing needs a restart; a new port does */
	assert_false(reload_needs_restart(a, b, what, sizeof(what)));
	b->servers[0].port = 7;
	assert_true(reload_needs_restart(a, b, what, sizeof(what)));
	assert_string_equal(what, "[server:s] port");
	b->servers[0].port = a->servers[0].port;
	b->replay_cache_size++;
	assert_true(reload_needs_restart(a, b, what, sizeof(what)));
	assert_string_equal(what, "replay_cache_size");
	cfg_free(a);
	cfg_free(b);
}

static void
test_malformed(void **state)
{
	size_t len, cut, der_at;
	uint8_t *buf;
	uint32_t v;

	(void)state;
	buf = pack_bytes(&len);
	assert_int_equal(unpack(buf, len), 0);
	/* every truncation is refused */
	for (cut = 0; cut < len; cut++)
		if (unpack(buf, cut) == 0)
			fail_msg("a bundle cut to %zu of %zu bytes unpacked",
			    cut, len);
	assert_int_equal(unpack(buf, 10), SL_EPARSE);
	assert_string_equal(err, "reload bundle of a wrong size");
	/* one byte too many */
	buf[len] = 0;
	assert_int_equal(unpack(buf, len + 1), SL_EPARSE);
	assert_string_equal(err, "reload bundle: 1 bytes too many");
	/* another magic */
	buf[0] ^= 1;
	assert_int_equal(unpack(buf, len), SL_EPARSE);
	assert_string_equal(err, "reload bundle: bad header");
	buf[0] ^= 1;
	/* a header that does not match the text: one server, not two */
	memcpy(&v, buf + 12, 4);
	assert_int_equal(v, 2);
	v = 1;
	memcpy(buf + 12, &v, 4);
	assert_int_equal(unpack(buf, len), SL_EPARSE);
	assert_string_equal(err, "reload bundle: 1 servers and 2 users, the "
	    "text has 2 and 2");
	v = 2;
	memcpy(buf + 12, &v, 4);
	/* the key does not decode */
	memcpy(&v, buf + 8, 4);
	der_at = 24 + v + 4;
	buf[der_at] ^= 0xff;
	assert_int_equal(unpack(buf, len), SL_EKEY);
	assert_string_equal(err, "reload bundle: the key of [server:s] does "
	    "not decode");
	buf[der_at] ^= 0xff;
	/* an enabled server without a key: its DER taken out */
	memcpy(&v, buf + 8, 4);
	der_at = 24 + v;
	memcpy(&v, buf + der_at, 4);
	assert_true(v > 0 && der_at + 4 + v < len);
	memmove(buf + der_at + 4, buf + der_at + 4 + v, len - der_at - 4 - v);
	memset(buf + der_at, 0, 4);
	assert_int_equal(unpack(buf, len - v), SL_EPARSE);
	assert_string_equal(err, "reload bundle: no key for [server:s]");
	free(buf);
}

static void
test_read(void **state)
{
	char dir[] = "/tmp/sl-reload.XXXXXX", path[128], want[256];
	struct config *c = calloc(1, sizeof(*c));
	char *text = NULL;
	FILE *f;
	int fd;

	(void)state;
	assert_non_null(c);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	assert_int_equal(reload_read(c, path, &text, err, sizeof(err)),
	    SL_ECONFIG);
	assert_null(text);
	snprintf(want, sizeof(want), "%s: cannot open: %s", path,
	    strerror(ENOENT));
	assert_string_equal(err, want);
	assert_int_equal(reload_read(c, dir, &text, err, sizeof(err)),
	    SL_ECONFIG);
	assert_null(text);
	snprintf(want, sizeof(want), "%s: not a regular file of at most %d "
	    "bytes", dir, RELOAD_TEXT_MAX);
	assert_string_equal(err, want);
	/* one byte over the limit (a sparse file) */
	snprintf(path, sizeof(path), "%s/big.conf", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, RELOAD_TEXT_MAX + 1), 0);
	close(fd);
	assert_int_equal(reload_read(c, path, &text, err, sizeof(err)),
	    SL_ECONFIG);
	assert_null(text);
	unlink(path);
	/* a good one: its text, parsed */
	snprintf(path, sizeof(path), "%s/good.conf", dir);
	assert_non_null(f = fopen(path, "w"));
	assert_true(fputs(conf_text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	if (reload_read(c, path, &text, err, sizeof(err)) != 0)
		fail_msg("reload_read: %s", err);
	assert_string_equal(text, conf_text);
	assert_int_equal(c->nservers, 2);
	free(text);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
	cfg_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests_name("reload", tests, setup, teardown);
}
