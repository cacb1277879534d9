/*
 * knocker_connect.c - knocker --connect HOST:PORT (an ssh ProxyCommand):
 * knock, try TCP until the port accepts, knocking again with a growing
 * pause while the deadline allows, reading the receipts of format-2
 * knocks on the way; then relay standard input and output.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "client.h"
#include "knocker.h"
#include "sl.h"
#include "util.h"

#define KNOCKER_CONNECT_DEF   30    /* --connect deadline, seconds */
#define KNOCKER_BACKOFF_MAX   8000  /* ms between fresh knocks, at most */
#define KNOCKER_TRY_MS        1000  /* one TCP attempt, at most */
#define KNOCKER_PAUSE_MS      200   /* after a refused TCP attempt */
#define KNOCKER_RECEIPT_MS    1000  /* a receipt first, at most */

/* Where --connect is: the target, the knock, the clock, the counts. */
struct knocker_conn {
	const struct knocker_opts *o;
	char host[CLIENT_HOST_MAX + 1];
	uint16_t port;
	struct knocker_knock kk;
	struct knocker_sent st;     /* the last format-2 knock */
	uint64_t start, deadline, next_knock, backoff;
	unsigned knocks, tries, timeout_s;
	int last_errno;             /* of the last TCP attempt */
};

/* Wait up to ms (not past the deadline) for a datagram on the knock's
 * socket, if there is one. */
static void
knocker_conn_pause(const struct knocker_conn *c, uint64_t ms)
{
	struct pollfd pf = { c->st.fd, POLLIN, 0 };
	uint64_t now = sl_mono_ms(), until = now + ms;

	if (until > c->deadline)
		until = c->deadline;
	if (now < until)
		(void)poll(&pf, c->st.fd >= 0 ? 1 : 0, (int)(until - now));
}

/*
 * A fresh knock (format 2: asking for a receipt), then give the receipt
 * a moment before the first TCP attempt.  Returns 0, or an exit status.
 */
static int
knocker_conn_knock(struct knocker_conn *c, uint64_t now)
{
	struct pollfd rf;
	uint64_t until;
	int rc;

	if (c->kk.format == 2) {
		knocker_sent_clear(&c->st);
		rc = knocker_v2_send(c->o, &c->kk, true, &c->st);
	} else
		rc = knocker_v1(c->o, &c->kk);
	if (rc != 0)
		return rc;
	c->knocks++;
	c->next_knock = now + c->backoff;
	c->backoff = c->backoff * 2 > KNOCKER_BACKOFF_MAX ?
	    KNOCKER_BACKOFF_MAX : c->backoff * 2;
	/* a receipt says when the action has run: give it a moment before
	 * the first TCP attempt of this knock */
	if (c->st.fd >= 0) {
		rf.fd = c->st.fd;
		rf.events = POLLIN;
		rf.revents = 0;
		until = now + KNOCKER_RECEIPT_MS;
		if (until > c->deadline)
			until = c->deadline;
		while ((now = sl_mono_ms()) < until &&
		    poll(&rf, 1, (int)(until - now)) < 0 && errno == EINTR)
			;
	}
	return 0;
}

/*
 * A receipt waiting on the knock's socket: "done" or "busy" go on, any
 * other ends --connect.  Returns -1 to go on, else an exit status.
 */
static int
knocker_conn_receipt(struct knocker_conn *c)
{
	struct k2_receipt r;
	char msg[256];
	int got, rc;

	if (c->st.fd < 0 || (got = knocker_take_receipt(c->o, c->kk.lib,
	    c->st.fd, &r, NULL, false)) == 0)
		return -1;
	if (got < 0)
		return CLIENT_EXIT_ERROR;
	rc = client_receipt_outcome(&r, msg, sizeof(msg));
	knocker_clock_note(r.server_time);
	if (rc == CLIENT_EXIT_OK) {
		if (c->o->verbose)
			fprintf(stderr, "knocker: %s\n", msg);
	} else if (rc == CLIENT_EXIT_BUSY) {
		if (c->o->verbose)
			fprintf(stderr, "knocker: %s; knocking again\n", msg);
	} else {
		knocker_note("%s", msg);
		return rc;
	}
	return -1;
}

/*
 * Knock and try TCP until the port accepts (*fd, its address in peer) or
 * the deadline passes (*fd stays -1).  Returns -1 to go on, else an exit
 * status.
 */
static int
knocker_conn_open(struct knocker_conn *c, int *fd, char *peer,
    size_t peerlen)
{
	char err[CLIENT_ERR_LEN];
	uint64_t now;
	unsigned slice;
	int rc;

	for (;;) {
		now = sl_mono_ms();
		if (now >= c->deadline)
			return -1;
		if (now >= c->next_knock &&
		    (rc = knocker_conn_knock(c, now)) != 0)
			return rc;
		if ((rc = knocker_conn_receipt(c)) >= 0)
			return rc;
		now = sl_mono_ms();
		slice = (unsigned)(c->deadline - now < KNOCKER_TRY_MS ?
		    c->deadline - now : KNOCKER_TRY_MS);
		if (slice == 0)
			return -1;
		c->tries++;
		if (client_tcp_connect(c->host, c->port, slice, fd, peer,
		    peerlen, err, sizeof(err)) == 0)
			return -1;
		c->last_errno = errno;
		if (c->o->verbose && (c->tries == 1 || errno != ETIMEDOUT))
			fprintf(stderr, "knocker: %s (after %u knock%s)\n", err,
			    c->knocks, c->knocks == 1 ? "" : "s");
		/* refused at once: pause, but read a receipt */
		if (errno != ETIMEDOUT)
			knocker_conn_pause(c, KNOCKER_PAUSE_MS);
	}
}

/*
 * --connect HOST:PORT: knock, try TCP until it is accepted, a fresh knock
 * after 1, 2, 4, 8, 8 ... s while the deadline allows; a format-2 knock
 * asks for a receipt and is given up to 1 s for it before TCP is tried
 * (a "done" receipt: at once); a receipt that refuses (or says the action
 * failed) ends it at once.  Then relay standard input and output.
 * Returns the exit status.
 */
int
knocker_connect(const struct knocker_opts *o)
{
	struct knocker_conn c;
	char err[CLIENT_ERR_LEN], peer[NI_MAXHOST];
	int status, fd = -1;

	memset(&c, 0, sizeof(c));
	c.o = o;
	c.st.fd = -1;
	if (client_parse_target(o->connect, c.host, sizeof(c.host),
	    &c.port) != 0) {
		knocker_err("--connect '%s': expected HOST:PORT or [IPV6]:PORT",
		    o->connect);
		return EXIT_USAGE;
	}
	if ((status = knocker_prepare(o, &c.kk)) != 0)
		return status;
	(void)signal(SIGPIPE, SIG_IGN);
	c.timeout_s = o->timeout_s != 0 ? o->timeout_s : KNOCKER_CONNECT_DEF;
	c.start = c.next_knock = sl_mono_ms();
	c.deadline = c.start + (uint64_t)c.timeout_s * 1000;
	c.backoff = 1000;
	if ((status = knocker_conn_open(&c, &fd, peer, sizeof(peer))) >= 0)
		goto out;
	status = CLIENT_EXIT_ERROR;
	if (fd < 0) {
		knocker_note("%s port %u did not accept a connection within "
		    "%u s (%u knock%s sent%s%s)", c.host, (unsigned)c.port,
		    c.timeout_s, c.knocks, c.knocks == 1 ? "" : "s",
		    c.last_errno != 0 ? "; last: " : "",
		    c.last_errno != 0 ? strerror(c.last_errno) : "");
		status = CLIENT_EXIT_NOTOPEN;
		goto out;
	}
	knocker_sent_clear(&c.st);
	if (o->verbose)
		fprintf(stderr, "knocker: connected to %s port %u after %u "
		    "knock%s, %llu ms; relaying\n", peer, (unsigned)c.port,
		    c.knocks, c.knocks == 1 ? "" : "s",
		    (unsigned long long)(sl_mono_ms() - c.start));
	if (client_relay(STDIN_FILENO, STDOUT_FILENO, fd, err,
	    sizeof(err)) != 0)
		knocker_err("%s port %u: %s", c.host, (unsigned)c.port, err);
	else
		status = CLIENT_EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	knocker_sent_clear(&c.st);
	OPENSSL_cleanse(c.st.dgram, sizeof(c.st.dgram));
	knocker_knock_clear(&c.kk);
	return status;
}
