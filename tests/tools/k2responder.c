/*
 * k2responder - test-only stand-in for a format-2 server, to test
 * knocker's receipt handling and exit statuses deterministically.  Not
 * installed; the real daemon's receipts are tested elsewhere.
 *
 *   k2responder --server-key PRIV --hmac-key KEY [--bind IP] [--port N]
 *               [--port-file FILE] [--out FILE] [--status S] [--reason N]
 *               [--value N] [--clock-offset SECONDS] [--answer-copy N]
 *               [--junk] [--linger MS] [--timeout SECONDS]
 *   k2responder --check FILE --server-key PRIV --hmac-key KEY [--out FILE]
 *
 * It binds a UDP port (default 127.0.0.1, port 0: any free one, written
 * to --port-file), receives 559-byte knocks, checks the tag and the mac
 * with the user's key, opens the first with the server's private key and
 * writes its fields (key=value lines) to --out, rewritten after every
 * datagram.  Copies of the first knock are counted; a different 559-byte
 * datagram is counted as "different".  When the --answer-copy'th copy
 * arrives (default 1) and the knock asks for a receipt, it answers that
 * copy's source with a receipt of --status (done, failed, refused, busy;
 * none: stay silent), --reason and --value, server_time = now +
 * --clock-offset; --junk sends two datagrams that are not the receipt
 * first.  It exits --linger ms after answering (default 0), or after
 * --timeout seconds (default 30).
 *
 * --check FILE opens a saved datagram the same way and writes its fields.
 *
 * Exit: 0 fine; 1 system error; 2 usage; 3 a knock that does not verify or
 * open; 4 datagrams that differ from the first knock; 5 no knock received.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

#include <openssl/crypto.h>

#include "addr.h"
#include "client.h"
#include "crypto.h"
#include "knock2.h"
#include "sl.h"
#include "util.h"

#define EXIT_BADKNOCK  3
#define EXIT_DIFFERENT 4
#define EXIT_NOKNOCK   5
#define STATUS_NONE    255

struct resp {
	const char *server_key, *hmac_key, *bind, *port_file, *out, *check;
	long long port, reason, value, clock_offset, answer_copy, linger_ms;
	long long timeout_s;
	int status;                 /* enum k2_status or STATUS_NONE */
	bool junk;

	/* state */
	EVP_PKEY *priv;
	struct k2_open *open;
	struct k2_userkeys uk;
	bool have_knock;
	uint8_t first[K2_DGRAM_LEN], rcpt_key[K2_KEY_LEN];
	struct k2_inner in;
	char source[SL_IPSTR_MAX];
	unsigned source_port, copies, different, ignored, answered;
};

static void resp_err(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
resp_err(const char *fmt, ...)
{
	va_list ap;

	fputs("k2responder: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
resp_usage(FILE *f)
{
	fputs(
"usage: k2responder --server-key PRIV --hmac-key KEY [--bind IP] [--port N]\n"
"                   [--port-file FILE] [--out FILE] [--status S] [--reason N]\n"
"                   [--value N] [--clock-offset SECONDS] [--answer-copy N]\n"
"                   [--junk] [--linger MS] [--timeout SECONDS]\n"
"       k2responder --check FILE --server-key PRIV --hmac-key KEY [--out FILE]\n"
"\n"
"Test tool: receives format-2 knocks, checks and opens them, writes their\n"
"fields, and answers with the receipt given (S: done, failed, refused,\n"
"busy, none).  See the comment at the top of tests/tools/k2responder.c.\n",
	    f);
}

/* Write text to path through a temporary file and rename(), so that a
 * reader sees the old or the new content, never half of it. */
static int
resp_write_atomic(const char *path, const char *text)
{
	char tmp[SL_PATH_MAX];
	FILE *f;
	int ok;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	ok = fputs(text, f) >= 0;
	if (fclose(f) != 0 || !ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int
resp_report(const struct resp *r)
{
	char text[2048], payload[2 * K2_PAYLOAD_MAX + 1];
	char nonce[2 * K2_NONCE_LEN + 1], addr[SL_IPSTR_MAX] = "none";
	const struct k2_inner *in = &r->in;
	int n;

	client_hex(payload, sizeof(payload), in->payload, in->payload_len);
	client_hex(nonce, sizeof(nonce), in->nonce, sizeof(in->nonce));
	if (in->has_addr)
		addr_to_str(&in->addr, addr, sizeof(addr));
	n = snprintf(text, sizeof(text),
	    "knock=%s\nsource=%s\nsource_port=%u\nuser_id=%u\naction_id=%u\n"
	    "flags=%u\nreceipt=%s\naddress=%s\ntimestamp=%llu\nnonce=%s\n"
	    "payload_len=%u\npayload_hex=%s\ncopies=%u\ndifferent=%u\n"
	    "ignored=%u\nanswered=%u\n", r->have_knock ? "yes" : "no",
	    r->source, r->source_port, (unsigned)in->user_id,
	    (unsigned)in->action_id, (unsigned)in->flags,
	    (in->flags & K2_F_RECEIPT) != 0 ? "yes" : "no", addr,
	    (unsigned long long)in->timestamp, nonce,
	    (unsigned)in->payload_len, payload, r->copies, r->different,
	    r->ignored, r->answered);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -1;
	if (r->out == NULL)
		return fputs(text, stdout) >= 0 ? 0 : -1;
	return resp_write_atomic(r->out, text);
}

/* Check and open a knock; fills r->in and r->rcpt_key.  0 or an exit
 * status. */
static int
resp_open(struct resp *r, const uint8_t dgram[K2_DGRAM_LEN])
{
	uint8_t tag[K2_TAG_LEN];
	int rc;

	if ((rc = k2_mac_verify(NULL, r->uk.mac_key, dgram)) != 0) {
		resp_err("the mac does not verify with this user's key: %s",
		    sl_strerror(rc));
		return EXIT_BADKNOCK;
	}
	if ((rc = k2_open(r->open, dgram, &r->in, r->rcpt_key)) != 0) {
		resp_err("the knock does not open with this server key: %s",
		    sl_strerror(rc));
		return EXIT_BADKNOCK;
	}
	if ((rc = k2_tag(NULL, r->uk.tag_key, k2_epoch(r->in.timestamp),
	    tag)) != 0 || CRYPTO_memcmp(tag, dgram + K2_OFF_TAG,
	    K2_TAG_LEN) != 0) {
		resp_err("the tag is not this user's for the knock's epoch");
		return EXIT_BADKNOCK;
	}
	return 0;
}

static int
resp_check(struct resp *r)
{
	uint8_t buf[K2_DGRAM_LEN + 1];
	char err[CLIENT_ERR_LEN];
	size_t len = 0;
	int rc;

	if (client_read_file(r->check, buf, sizeof(buf), &len, err,
	    sizeof(err)) != 0) {
		resp_err("%s", err);
		return EXIT_FAILURE;
	}
	if (len != K2_DGRAM_LEN) {
		resp_err("%s: %zu bytes, not %d", r->check, len, K2_DGRAM_LEN);
		return EXIT_BADKNOCK;
	}
	if ((rc = resp_open(r, buf)) != 0)
		return rc;
	r->have_knock = true;
	r->copies = 1;
	snprintf(r->source, sizeof(r->source), "file");
	return resp_report(r) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int
resp_bind(struct resp *r, int *fd)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char port[8], text[16];
	unsigned p;
	int s;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	snprintf(port, sizeof(port), "%lld", r->port);
	if (getaddrinfo(r->bind, port, &hints, &res) != 0) {
		resp_err("--bind '%s' is not an IP address", r->bind);
		return EXIT_FAILURE;
	}
	s = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, res->ai_addr, res->ai_addrlen) != 0 ||
	    getsockname(s, (struct sockaddr *)&ss, &sslen) != 0) {
		resp_err("bind %s port %s: %s", r->bind, port, strerror(errno));
		if (s >= 0)
			close(s);
		freeaddrinfo(res);
		return EXIT_FAILURE;
	}
	freeaddrinfo(res);
	p = ss.ss_family == AF_INET ?
	    ntohs(((struct sockaddr_in *)&ss)->sin_port) :
	    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	snprintf(text, sizeof(text), "%u\n", p);
	if (r->port_file != NULL && resp_write_atomic(r->port_file, text) != 0) {
		resp_err("%s: %s", r->port_file, strerror(errno));
		close(s);
		return EXIT_FAILURE;
	}
	*fd = s;
	return 0;
}

/* The receipt (after --junk's two decoys) to the source of this copy. */
static int
resp_answer(struct resp *r, int fd, const struct sockaddr *src,
    socklen_t srclen)
{
	struct k2_receipt rc;
	uint8_t out[K2_RECEIPT_LEN], junk[K2_RECEIPT_LEN + 8];

	memset(&rc, 0, sizeof(rc));
	rc.status = (uint8_t)r->status;
	rc.reason = (uint8_t)r->reason;
	rc.value = (uint32_t)r->value;
	rc.server_time = (uint64_t)((long long)time(NULL) + r->clock_offset);
	if (k2_receipt_seal(NULL, r->rcpt_key, r->first + K2_OFF_MAC, &rc,
	    out) != 0) {
		resp_err("cannot seal the receipt");
		return EXIT_FAILURE;
	}
	if (r->junk) {
		/* a receipt-sized datagram that does not open, and one
		 * that starts with the real receipt but is longer */
		if (crypto_random(junk, K2_RECEIPT_LEN) != 0 ||
		    sendto(fd, junk, K2_RECEIPT_LEN, 0, src, srclen) < 0)
			return EXIT_FAILURE;
		memcpy(junk, out, sizeof(out));
		memset(junk + sizeof(out), 0, 8);
		if (sendto(fd, junk, sizeof(junk), 0, src, srclen) < 0)
			return EXIT_FAILURE;
	}
	if (sendto(fd, out, sizeof(out), 0, src, srclen) !=
	    (ssize_t)sizeof(out)) {
		resp_err("sending the receipt: %s", strerror(errno));
		return EXIT_FAILURE;
	}
	r->answered++;
	return 0;
}

static int
resp_serve(struct resp *r)
{
	uint8_t buf[K2_DGRAM_LEN + 1];
	struct sockaddr_storage src;
	socklen_t srclen;
	struct pollfd pfd;
	struct sl_addr sa;
	uint64_t start = sl_mono_ms(), end, now;
	ssize_t n;
	int fd = -1, rc, status = EXIT_FAILURE;

	if ((rc = resp_bind(r, &fd)) != 0)
		return rc;
	end = start + (uint64_t)r->timeout_s * 1000;
	for (;;) {
		now = sl_mono_ms();
		if (now >= end)
			break;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)(end - now)) <= 0)
			continue;
		srclen = sizeof(src);
		n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC,
		    (struct sockaddr *)&src, &srclen);
		if (n < 0)
			continue;
		if (n != K2_DGRAM_LEN) {
			r->ignored++;
		} else if (!r->have_knock) {
			if ((status = resp_open(r, buf)) != 0)
				goto out;
			memcpy(r->first, buf, sizeof(r->first));
			r->have_knock = true;
			r->copies = 1;
			if (addr_from_sockaddr(&sa, (struct sockaddr *)&src,
			    srclen) == 0)
				addr_to_str(&sa, r->source, sizeof(r->source));
			r->source_port = src.ss_family == AF_INET ?
			    ntohs(((struct sockaddr_in *)&src)->sin_port) :
			    ntohs(((struct sockaddr_in6 *)&src)->sin6_port);
		} else if (memcmp(buf, r->first, sizeof(r->first)) == 0) {
			r->copies++;
		} else {
			r->different++;
		}
		if (r->have_knock && r->answered == 0 &&
		    r->status != STATUS_NONE &&
		    (r->in.flags & K2_F_RECEIPT) != 0 &&
		    r->copies == (unsigned)r->answer_copy &&
		    memcmp(buf, r->first, sizeof(r->first)) == 0) {
			if ((status = resp_answer(r, fd,
			    (struct sockaddr *)&src, srclen)) != 0)
				goto out;
			/* from now on only --linger more */
			if (sl_mono_ms() + (uint64_t)r->linger_ms < end)
				end = sl_mono_ms() + (uint64_t)r->linger_ms;
		}
		if (resp_report(r) != 0) {
			resp_err("%s: cannot write", r->out);
			status = EXIT_FAILURE;
			goto out;
		}
	}
	status = !r->have_knock ? EXIT_NOKNOCK :
	    r->different > 0 ? EXIT_DIFFERENT : EXIT_SUCCESS;
	if (resp_report(r) != 0)
		status = EXIT_FAILURE;
out:
	close(fd);
	return status;
}

static int
resp_parse_status(const char *s, int *status)
{
	static const char *const names[] = { "done", "failed", "refused",
	    "busy" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0) {
			*status = (int)i;
			return 0;
		}
	if (strcmp(s, "none") == 0) {
		*status = STATUS_NONE;
		return 0;
	}
	return -1;
}

/* A decimal number in lo..hi; a leading '-' for a negative one. */
static int
resp_num(const char *s, long long lo, long long hi, long long *out)
{
	long long v;

	if (s[0] != '-')
		return sl_parse_num(s, lo, hi, out);
	if (lo >= 0 || sl_parse_num(s + 1, 0, -lo, &v) != 0)
		return SL_EINVAL;
	*out = -v;
	return 0;
}

int
main(int argc, char **argv)
{
	enum { O_SKEY = 256, O_HKEY, O_BIND, O_PORT, O_PORTFILE, O_OUT,
	    O_STATUS, O_REASON, O_VALUE, O_CLOCK, O_ANSWER, O_JUNK, O_LINGER,
	    O_TIMEOUT, O_CHECK };
	static const struct option opts[] = {
		{ "server-key",   required_argument, NULL, O_SKEY },
		{ "hmac-key",     required_argument, NULL, O_HKEY },
		{ "bind",         required_argument, NULL, O_BIND },
		{ "port",         required_argument, NULL, O_PORT },
		{ "port-file",    required_argument, NULL, O_PORTFILE },
		{ "out",          required_argument, NULL, O_OUT },
		{ "status",       required_argument, NULL, O_STATUS },
		{ "reason",       required_argument, NULL, O_REASON },
		{ "value",        required_argument, NULL, O_VALUE },
		{ "clock-offset", required_argument, NULL, O_CLOCK },
		{ "answer-copy",  required_argument, NULL, O_ANSWER },
		{ "junk",         no_argument,       NULL, O_JUNK },
		{ "linger",       required_argument, NULL, O_LINGER },
		{ "timeout",      required_argument, NULL, O_TIMEOUT },
		{ "check",        required_argument, NULL, O_CHECK },
		{ "help",         no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct resp *r;
	char err[CLIENT_ERR_LEN];
	uint8_t key[SL_HMAC_KEY_LEN];
	long long *num;
	long long lo, hi;
	int c, status = 2;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return EXIT_FAILURE;
	r->bind = "127.0.0.1";
	r->answer_copy = 1;
	r->timeout_s = 30;
	r->status = K2_ST_DONE;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		num = NULL;
		lo = 0;
		hi = 0;
		switch (c) {
		case O_SKEY: r->server_key = optarg; break;
		case O_HKEY: r->hmac_key = optarg; break;
		case O_BIND: r->bind = optarg; break;
		case O_PORTFILE: r->port_file = optarg; break;
		case O_OUT: r->out = optarg; break;
		case O_CHECK: r->check = optarg; break;
		case O_JUNK: r->junk = true; break;
		case O_STATUS:
			if (resp_parse_status(optarg, &r->status) != 0) {
				resp_err("bad --status '%s'", optarg);
				goto out;
			}
			break;
		case O_PORT: num = &r->port; hi = 65535; break;
		case O_REASON: num = &r->reason; hi = K2_R_MAX; break;
		case O_VALUE: num = &r->value; hi = 0xffffffffLL; break;
		case O_CLOCK: num = &r->clock_offset; lo = -100000000;
			hi = 100000000; break;
		case O_ANSWER: num = &r->answer_copy; lo = 1; hi = 100; break;
		case O_LINGER: num = &r->linger_ms; hi = 600000; break;
		case O_TIMEOUT: num = &r->timeout_s; lo = 1; hi = 600; break;
		case 'h':
			resp_usage(stdout);
			status = EXIT_SUCCESS;
			goto out;
		default:
			resp_usage(stderr);
			goto out;
		}
		if (num != NULL && resp_num(optarg, lo, hi, num) != 0) {
			resp_err("bad number '%s' (%lld..%lld)", optarg, lo, hi);
			goto out;
		}
	}
	if (optind != argc || r->server_key == NULL || r->hmac_key == NULL) {
		resp_usage(stderr);
		goto out;
	}
	status = EXIT_FAILURE;
	if (crypto_load_private(r->server_key, 0, &r->priv, err,
	    sizeof(err)) != 0 || crypto_load_hmac_key(r->hmac_key, 0, key, err,
	    sizeof(err)) != 0) {
		resp_err("%s", err);
		goto out;
	}
	if (k2_derive_user(key, &r->uk) != 0 ||
	    k2_open_new(r->priv, &r->open) != 0) {
		resp_err("cannot set up the keys");
		goto out;
	}
	status = r->check != NULL ? resp_check(r) : resp_serve(r);
out:
	OPENSSL_cleanse(key, sizeof(key));
	k2_open_free(r->open);
	EVP_PKEY_free(r->priv);
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
	return status;
}
