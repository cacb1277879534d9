/*
 * sdnotify.c - the systemd readiness protocol in a few lines (sdnotify.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sdnotify.h"
#include "sl.h"

static int sdn_fd = -1;

int
sd_notify_open(void)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	size_t n;
	int fd;

	if (sdn_fd >= 0)
		return 0;
	if (name == NULL || name[0] == '\0')
		return SL_ENOENT;
	if (name[0] != '/' && name[0] != '@') {
		errno = EINVAL;
		return SL_ESYS;
	}
	n = strlen(name);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	/* a path needs its NUL; an abstract name has none but starts with one */
	if (n > sizeof(sun.sun_path) - (name[0] == '/' ? 1 : 0)) {
		errno = ENAMETOOLONG;
		return SL_ESYS;
	}
	memcpy(sun.sun_path, name, n);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (name[0] == '/' ? 1 : 0));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return SL_ESYS;
	if (connect(fd, (struct sockaddr *)&sun, len) != 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return SL_ESYS;
	}
	sdn_fd = fd;
	return 0;
}

int
sd_notify_send(const char *state)
{
	size_t n = strlen(state);
	ssize_t r;
	int o;

	if ((o = sd_notify_open()) != 0)
		return o;
	do
		r = send(sdn_fd, state, n, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return SL_ESYS;
	if ((size_t)r != n) {
		errno = EMSGSIZE;
		return SL_ESYS;
	}
	return 0;
}

int
sd_notify_ready(void)
{
	return sd_notify_send("READY=1");
}

int
sd_notify_stopping(void)
{
	return sd_notify_send("STOPPING=1");
}

/* systemd 253 and later (Type=notify-reload) want the monotonic time of
 * the reload with it; older ones ignore the field */
int
sd_notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000u +
	    (unsigned long long)ts.tv_nsec / 1000u);
	return sd_notify_send(msg);
}

void
sd_notify_close(void)
{
	if (sdn_fd >= 0)
		close(sdn_fd);
	sdn_fd = -1;
}
