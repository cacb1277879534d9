/*
 * sdnotify.h - tell systemd (Type=notify) that the daemon is ready,
 * reloading or stopping, without libsystemd: one datagram to the
 * AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for an
 * abstract socket).
 *
 * sd_notify_open() connects the socket; call it before any chroot or
 * seccomp filter, since the network sandbox refuses socket(AF_UNIX) and
 * connect(2) but lets a connected socket send.  The sd_notify_*() calls
 * open it themselves when that was not done.
 *
 * Each returns 0 when the message was sent (sd_notify_open: the socket
 * is connected), SL_ENOENT when not run by systemd ($NOTIFY_SOCKET unset
 * or empty: nothing to do), SL_ESYS with errno set on failure
 * (ENAMETOOLONG, EINVAL for a relative path, or what socket/connect/send
 * gave).  A failure is worth a log line, never a reason to stop.
 */
#ifndef SL_SDNOTIFY_H
#define SL_SDNOTIFY_H

int	sd_notify_open(void);
int	sd_notify_send(const char *state);
int	sd_notify_ready(void);
int	sd_notify_reloading(void);
int	sd_notify_stopping(void);
void	sd_notify_close(void);

#endif
