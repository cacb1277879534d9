/*
 * knocker_send.c - one knock on the wire: build and seal it (libsiglatch),
 * save or print it, send it (format 1: to the first of the hosts that
 * takes it; format 2: on a connected socket, naming an address or none),
 * resend it and wait for its receipt (--wait), and read a receipt.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "addr.h"
#include "client.h"
#include "knock2.h"
#include "knocker.h"
#include "sl.h"
#include "util.h"
#include "wire.h"

#define KNOCKER_SKEW_NOTE 30    /* report a server clock further off */

static void
knocker_print(const struct knocker_opts *o, const struct wire_knock *k)
{
	char payload[2 * SL_PAYLOAD_MAX + 1], hmac[2 * SL_HMAC_LEN + 1];

	client_hex(payload, sizeof(payload), k->payload, k->payload_len);
	client_hex(hmac, sizeof(hmac), k->hmac, sizeof(k->hmac));
	printf("host=%s\nport=%u\nversion=%u\ntimestamp=%lu\nuser_id=%u\n"
	    "action_id=%u\nchallenge=%lu\npayload_len=%u\npayload_hex=%s\n"
	    "hmac=%s\ndatagram_len=%d\n", o->host, (unsigned)o->port,
	    (unsigned)k->version, (unsigned long)k->timestamp,
	    (unsigned)k->user_id, (unsigned)k->action_id,
	    (unsigned long)k->challenge, (unsigned)k->payload_len, payload,
	    hmac, SL_DGRAM_LEN);
	OPENSSL_cleanse(payload, sizeof(payload));
}

static void
knocker_print2(const struct knocker_opts *o, const struct k2_inner *in,
    const uint8_t dgram[K2_DGRAM_LEN])
{
	char payload[2 * K2_PAYLOAD_MAX + 1], nonce[2 * K2_NONCE_LEN + 1];
	char tag[2 * K2_TAG_LEN + 1], mac[2 * K2_MAC_LEN + 1];
	char addr[SL_IPSTR_MAX] = "none";

	client_hex(payload, sizeof(payload), in->payload, in->payload_len);
	client_hex(nonce, sizeof(nonce), in->nonce, sizeof(in->nonce));
	client_hex(tag, sizeof(tag), dgram + K2_OFF_TAG, K2_TAG_LEN);
	client_hex(mac, sizeof(mac), dgram + K2_OFF_MAC, K2_MAC_LEN);
	if (in->has_addr)
		addr_to_str(&in->addr, addr, sizeof(addr));
	printf("host=%s\nport=%u\nformat=2\nversion=%u\nflags=%u\n"
	    "receipt=%s\ntimestamp=%llu\nuser_id=%u\naction_id=%u\n"
	    "address=%s\nnonce=%s\npayload_len=%u\npayload_hex=%s\ntag=%s\n"
	    "mac=%s\ndatagram_len=%d\n", o->host, (unsigned)o->port,
	    (unsigned)K2_VERSION, (unsigned)in->flags,
	    (in->flags & K2_F_RECEIPT) != 0 ? "yes" : "no",
	    (unsigned long long)in->timestamp, (unsigned)in->user_id,
	    (unsigned)in->action_id, addr, nonce, (unsigned)in->payload_len,
	    payload, tag, mac, K2_DGRAM_LEN);
	OPENSSL_cleanse(payload, sizeof(payload));
}

static int
knocker_save(const struct knocker_opts *o, const uint8_t *dgram, size_t len)
{
	char err[CLIENT_ERR_LEN];

	if (o->save == NULL)
		return 0;
	if (client_save_file(o->save, 0600, dgram, len, err,
	    sizeof(err)) != 0) {
		knocker_err("--save: %s", err);
		return SL_ESYS;
	}
	if (o->verbose)
		fprintf(stderr, "knocker: wrote the %zu-byte datagram to %s\n",
		    len, o->save);
	return 0;
}

/* Errors a connected UDP socket reports for ICMP messages. */
static bool
knocker_icmp_errno(int e)
{
	return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH ||
	    e == EHOSTDOWN || e == ENETDOWN;
}

void
knocker_clock_note(uint64_t server_time)
{
	int64_t off = (int64_t)(server_time - (uint64_t)time(NULL));

	if (off > KNOCKER_SKEW_NOTE || off < -KNOCKER_SKEW_NOTE)
		knocker_note("note: the server's clock is %lld s %s this "
		    "machine's", (long long)(off < 0 ? -off : off),
		    off < 0 ? "behind" : "ahead of");
}

/*
 * A datagram that came back: 1 and *r when it is the receipt of the last
 * knock built on lib, 0 when it is not (ignored).
 */
static int
knocker_open_receipt(siglatch_ctx *lib, const uint8_t *buf, size_t n,
    struct k2_receipt *r)
{
	struct siglatch_receipt sr;

	if (siglatch_receipt_open(lib, buf, n, &sr) != SIGLATCH_OK)
		return 0;
	r->status = (uint8_t)sr.status;
	r->reason = (uint8_t)sr.reason;
	r->value = sr.value;
	r->server_time = sr.server_time;
	return 1;
}

/*
 * Read what is waiting on a knock's socket fd: 1 and *r when it is this
 * knock's receipt, 0 when nothing usable is there, -1 on an error (said).
 * An ICMP error is kept in *icmp when icmp is not NULL; say_ignored: with
 * --verbose, say which datagrams are not the receipt.
 */
int
knocker_take_receipt(const struct knocker_opts *o, siglatch_ctx *lib, int fd,
    struct k2_receipt *r, int *icmp, bool say_ignored)
{
	uint8_t buf[64];
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && knocker_icmp_errno(errno)) {
			if (icmp != NULL)
				*icmp = errno;
			if (o->verbose)
				fprintf(stderr, "knocker: the network says: %s\n",
				    strerror(errno));
			continue;
		}
		if (n < 0) {
			knocker_err("waiting for the receipt: %s",
			    strerror(errno));
			return -1;
		}
		/* MSG_TRUNC: n is the real size, so a longer datagram is
		 * not taken for a receipt */
		if (n <= (ssize_t)sizeof(buf) &&
		    knocker_open_receipt(lib, buf, (size_t)n, r))
			return 1;
		if (say_ignored && o->verbose)
			fprintf(stderr, "knocker: ignored a %zd-byte datagram "
			    "that is not this knock's receipt\n", n);
	}
}

/* --wait: the same datagram again; 0, or -1 on an error (said). */
static int
knocker_resend(const struct knocker_opts *o, int fd,
    const uint8_t dgram[K2_DGRAM_LEN], unsigned *copies, int *icmp)
{
	if (send(fd, dgram, K2_DGRAM_LEN, 0) == K2_DGRAM_LEN) {
		(*copies)++;
		if (o->verbose)
			fprintf(stderr, "knocker: no receipt yet; sent the "
			    "knock again (copy %u)\n", *copies);
	} else if (knocker_icmp_errno(errno)) {
		*icmp = errno;
	} else {
		knocker_err("sending again: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Wait on the connected socket fd for the receipt of the knock dgram;
 * resend the same datagram 1, 2, 4 ... s after the first send while the
 * deadline allows.  Returns the exit status.
 */
static int
knocker_wait(const struct knocker_opts *o, int fd,
    const uint8_t dgram[K2_DGRAM_LEN], siglatch_ctx *lib)
{
	uint64_t start = sl_mono_ms(), now, until;
	uint64_t limit = (uint64_t)o->wait_s * 1000, resend = 1000;
	struct k2_receipt r;
	struct pollfd pfd;
	char msg[256];
	unsigned copies = 1;
	int icmp = 0, rc, status = CLIENT_EXIT_ERROR;

	for (;;) {
		now = sl_mono_ms() - start;
		if (now >= limit)
			break;
		if (resend < limit && now >= resend) {
			if (knocker_resend(o, fd, dgram, &copies, &icmp) != 0)
				goto out;
			resend *= 2;
			continue;
		}
		until = resend < limit ? resend : limit;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if ((rc = poll(&pfd, 1, (int)(until - now))) < 0 &&
		    errno != EINTR) {
			knocker_err("waiting for the receipt: %s",
			    strerror(errno));
			goto out;
		}
		if (rc <= 0 || (rc = knocker_take_receipt(o, lib, fd, &r,
		    &icmp, true)) == 0)
			continue;
		if (rc < 0)
			goto out;
		status = client_receipt_outcome(&r, msg, sizeof(msg));
		if (!knocker_quiet)
			fprintf(status == CLIENT_EXIT_OK ? stdout : stderr,
			    "knocker: %s\n", msg);
		knocker_clock_note(r.server_time);
		goto out;
	}
	knocker_note("no receipt within %u s (the knock may still have "
	    "worked; the server only answers once per knock and only when "
	    "receipt = yes)", o->wait_s);
	if (icmp != 0)
		knocker_note("note: the network said: %s (%s port %u)",
		    strerror(icmp), o->host, (unsigned)o->port);
	status = CLIENT_EXIT_NORECEIPT;
out:
	if (o->verbose)
		fprintf(stderr, "knocker: %u cop%s of the knock sent\n", copies,
		    copies == 1 ? "y" : "ies");
	return status;
}

/* Format 1: build, seal, save, print or send.  Returns the exit status. */
int
knocker_v1(const struct knocker_opts *o, const struct knocker_knock *kk)
{
	char err[CLIENT_ERR_LEN], sent_to[64];
	uint8_t dgram[SL_DGRAM_LEN];
	struct wire_knock k;
	unsigned i;
	size_t n;
	int rc = SL_ENOENT, status = CLIENT_EXIT_ERROR;

	memset(&k, 0, sizeof(k));
	if ((rc = siglatch_int_knock1(kk->lib, (uint16_t)kk->user_id,
	    (uint8_t)kk->action_id, kk->payload, kk->plen, 0, dgram,
	    sizeof(dgram), &n, &k)) != SIGLATCH_OK) {
		knocker_err("cannot build the knock: %s", siglatch_strerror(rc));
		goto out;
	}
	if (knocker_save(o, dgram, sizeof(dgram)) != 0)
		goto out;
	if (o->dry_run) {
		knocker_print(o, &k);
		if (o->verbose)
			fprintf(stderr, "knocker: dry run, nothing sent\n");
		status = CLIENT_EXIT_OK;
		goto out;
	}
	for (i = 0; i < o->nhosts; i++) {
		if ((rc = client_send(o->hosts[i], o->port, false, dgram,
		    sizeof(dgram), sent_to, sizeof(sent_to), err,
		    sizeof(err))) == 0)
			break;
		if (i + 1 < o->nhosts && o->verbose)
			fprintf(stderr, "knocker: %s; trying %s\n", err,
			    o->hosts[i + 1]);
	}
	if (rc != 0) {
		knocker_err("%s", err);
		goto out;
	}
	if (o->verbose)
		fprintf(stderr, "knocker: sent a %d-byte format-1 datagram to "
		    "%s port %u (HOST %s)\n", SL_DGRAM_LEN, sent_to,
		    (unsigned)o->port, o->hosts[i]);
	status = CLIENT_EXIT_OK;
out:
	OPENSSL_cleanse(&k, sizeof(k));
	return status;
}

/*
 * Which address a format-2 knock names: --allow-ip, none for --no-address,
 * else the connected socket's local address when the server will see it.
 */
static void
knocker_address(const struct knocker_opts *o, const struct sl_addr *server,
    const struct sl_addr *local, struct k2_inner *in)
{
	char la[SL_IPSTR_MAX], sa[SL_IPSTR_MAX];

	if (o->allow_ip != NULL) {
		in->has_addr = true;
		in->addr = o->allow_addr;
		addr_to_str(&in->addr, la, sizeof(la));
		if (o->verbose)
			fprintf(stderr, "knocker: the knock names %s "
			    "(--allow-ip)\n", la);
		return;
	}
	if (o->no_address) {
		if (o->verbose)
			fprintf(stderr, "knocker: the knock names no address "
			    "(--no-address)\n");
		return;
	}
	addr_to_str(local, la, sizeof(la));
	addr_to_str(server, sa, sizeof(sa));
	if (client_name_local(server, local)) {
		in->has_addr = true;
		in->addr = *local;
		if (o->verbose)
			fprintf(stderr, "knocker: the knock names this machine's "
			    "address %s (the server's address %s is %s)\n", la,
			    sa, client_scope_name(client_addr_scope(server)));
	} else if (o->verbose) {
		fprintf(stderr, "knocker: the knock names no address: this "
		    "machine's address %s is %s and the server's %s is %s, so "
		    "the server may see another one (NAT); it grants the "
		    "address the knock comes from\n", la,
		    client_scope_name(client_addr_scope(local)), sa,
		    client_scope_name(client_addr_scope(server)));
	}
}

void
knocker_sent_clear(struct knocker_sent *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}

/*
 * The connected UDP socket of a format-2 knock: to the first of o->hosts
 * that takes one, into st.  Returns 0, or -1 (said).
 */
static int
knocker_v2_socket(const struct knocker_opts *o, struct knocker_sent *st,
    struct sl_addr *server, struct sl_addr *local, char *sent_to,
    size_t sent_to_len)
{
	char err[CLIENT_ERR_LEN];
	unsigned i;
	int rc = SL_ENOENT;

	for (i = 0; i < o->nhosts; i++) {
		st->host = o->hosts[i];
		if ((rc = client_connect(st->host, o->port, false, &st->fd,
		    server, local, sent_to, sent_to_len, err,
		    sizeof(err))) == 0)
			return 0;
		if (i + 1 < o->nhosts && o->verbose)
			fprintf(stderr, "knocker: %s; trying %s\n", err,
			    o->hosts[i + 1]);
	}
	knocker_err("%s%s", err, o->dry_run ? " (a dry run needs HOST to find "
	    "the address to name; or give --allow-ip or --no-address)" : "");
	return -1;
}

/*
 * Format 2: connect (the first of o->hosts that takes a UDP socket),
 * build, seal, save, print or send.  receipt asks for a receipt.  On
 * success st->fd is the connected socket (-1 after a dry run).  Returns
 * 0, or an exit status.
 */
int
knocker_v2_send(const struct knocker_opts *o, const struct knocker_knock *kk,
    bool receipt, struct knocker_sent *st)
{
	char sent_to[NI_MAXHOST];
	struct sl_addr server, local;
	struct k2_inner in;
	size_t n;
	int rc, status = CLIENT_EXIT_ERROR;

	memset(&in, 0, sizeof(in));
	st->fd = -1;
	st->host = o->hosts[0];
	/* a socket: to send, or to learn which address this machine uses */
	if ((!o->dry_run || (o->allow_ip == NULL && !o->no_address)) &&
	    knocker_v2_socket(o, st, &server, &local, sent_to,
	    sizeof(sent_to)) != 0)
		goto out;
	if (st->fd >= 0)
		knocker_address(o, &server, &local, &in);
	else
		knocker_address(o, NULL, NULL, &in);

	if ((rc = siglatch_int_knock2(kk->lib, (uint16_t)kk->user_id,
	    (uint8_t)kk->action_id, kk->payload, kk->plen,
	    in.has_addr ? &in.addr : NULL, receipt ? SIGLATCH_F_RECEIPT : 0, 0,
	    st->dgram, sizeof(st->dgram), &n, &in)) != SIGLATCH_OK) {
		knocker_err("cannot build the knock: %s", siglatch_strerror(rc));
		goto out;
	}
	if (knocker_save(o, st->dgram, sizeof(st->dgram)) != 0)
		goto out;
	if (o->dry_run) {
		knocker_print2(o, &in, st->dgram);
		if (o->verbose)
			fprintf(stderr, "knocker: dry run, nothing sent\n");
		status = 0;
		goto out;
	}
	if (send(st->fd, st->dgram, sizeof(st->dgram), 0) !=
	    (ssize_t)sizeof(st->dgram)) {
		knocker_err("cannot send to %s port %u: %s", st->host,
		    (unsigned)o->port, strerror(errno));
		goto out;
	}
	if (o->verbose)
		fprintf(stderr, "knocker: sent a %d-byte format-2 datagram to "
		    "%s port %u (HOST %s)\n", K2_DGRAM_LEN, sent_to,
		    (unsigned)o->port, st->host);
	status = 0;
out:
	if (status != 0)
		knocker_sent_clear(st);
	OPENSSL_cleanse(&in, sizeof(in));
	return status;
}

/* Format 2: send, then wait for the receipt when asked.  Returns the
 * exit status. */
int
knocker_v2(const struct knocker_opts *o, const struct knocker_knock *kk)
{
	struct knocker_sent st;
	int status;

	if ((status = knocker_v2_send(o, kk, o->wait_s > 0, &st)) != 0)
		return status;
	if (st.fd >= 0 && o->wait_s > 0)
		status = knocker_wait(o, st.fd, st.dgram, kk->lib);
	knocker_sent_clear(&st);
	return status;
}

