/* test_sdnotify.c - sd_notify messages arrive on a real AF_UNIX datagram
 * socket, named by a path or an abstract "@name", and a socket connected
 * early still sends once $NOTIFY_SOCKET is gone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "sdnotify.h"
#include "sl.h"

struct listener {
	int fd;
	char dir[64];
	char name[128];  /* as $NOTIFY_SOCKET would hold it */
};

static void
listen_on(struct listener *l, int abstract)
{
	struct sockaddr_un sun;
	socklen_t len;
	struct timeval tv = { .tv_sec = 2 };

	memset(l, 0, sizeof(*l));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	l->fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(l->fd >= 0);
	assert_int_equal(setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	if (abstract) {
		snprintf(l->name, sizeof(l->name), "@sl-sdnotify-test-%ld",
		    (long)getpid());
		memcpy(sun.sun_path + 1, l->name + 1, strlen(l->name) - 1);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    strlen(l->name));
	} else {
		strcpy(l->dir, "/tmp/sl-sdn.XXXXXX");
		assert_non_null(mkdtemp(l->dir));
		snprintf(l->name, sizeof(l->name), "%s/notify", l->dir);
		strcpy(sun.sun_path, l->name);
		len = sizeof(sun);
	}
	assert_int_equal(bind(l->fd, (struct sockaddr *)&sun, len), 0);
}

static void
listen_end(struct listener *l)
{
	close(l->fd);
	if (l->dir[0] != '\0') {
		unlink(l->name);
		rmdir(l->dir);
	}
	sd_notify_close();
	unsetenv("NOTIFY_SOCKET");
}

static void
expect_msg(struct listener *l, const char *want, size_t cmp)
{
	char buf[256];
	ssize_t n = recv(l->fd, buf, sizeof(buf) - 1, 0);

	assert_true(n > 0);
	buf[n] = '\0';
	if (cmp == 0)
		assert_string_equal(buf, want);
	else
		assert_memory_equal(buf, want, cmp);
}

static void
check_messages(int abstract)
{
	struct listener l;

	listen_on(&l, abstract);
	assert_int_equal(setenv("NOTIFY_SOCKET", l.name, 1), 0);
	assert_int_equal(sd_notify_ready(), 0);
	expect_msg(&l, "READY=1", 0);
	assert_int_equal(sd_notify_reloading(), 0);
	expect_msg(&l, "RELOADING=1\nMONOTONIC_USEC=", 26);
	assert_int_equal(sd_notify_stopping(), 0);
	expect_msg(&l, "STOPPING=1", 0);
	listen_end(&l);
}

static void
test_path(void **state)
{
	(void)state;
	check_messages(0);
}

static void
test_abstract(void **state)
{
	(void)state;
	check_messages(1);
}

/* connected before a sandbox: the variable and the path may be gone */
static void
test_open_early(void **state)
{
	struct listener l;

	(void)state;
	listen_on(&l, 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", l.name, 1), 0);
	assert_int_equal(sd_notify_open(), 0);
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(unlink(l.name), 0);
	assert_int_equal(sd_notify_ready(), 0);
	expect_msg(&l, "READY=1", 0);
	listen_end(&l);
}

static void
test_not_systemd(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sd_notify_ready(), SL_ENOENT);
	assert_int_equal(setenv("NOTIFY_SOCKET", "", 1), 0);
	assert_int_equal(sd_notify_ready(), SL_ENOENT);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_errors(void **state)
{
	char longname[200];

	(void)state;
	assert_int_equal(setenv("NOTIFY_SOCKET", "relative/notify", 1), 0);
	errno = 0;
	assert_int_equal(sd_notify_ready(), SL_ESYS);
	assert_int_equal(errno, EINVAL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(setenv("NOTIFY_SOCKET", longname, 1), 0);
	errno = 0;
	assert_int_equal(sd_notify_ready(), SL_ESYS);
	assert_int_equal(errno, ENAMETOOLONG);
	/* nobody listening */
	assert_int_equal(setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1), 0);
	assert_int_equal(sd_notify_ready(), SL_ESYS);
	assert_int_equal(errno, ENOENT);
	unsetenv("NOTIFY_SOCKET");
	sd_notify_close();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_abstract),
		cmocka_unit_test(test_open_early),
		cmocka_unit_test(test_not_systemd),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
