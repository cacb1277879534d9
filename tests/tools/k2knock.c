/*
 * k2knock - test-only format-2 knock crafter for siglatchd: good knocks
 * and every kind of bad one, sent from a chosen loopback address, with an
 * optional wait for the receipt.  Not installed.
 *
 *   k2knock --server-key PUB --hmac-key KEY --user ID --action ID
 *           [--host IP] [--port N] [--bind IP] [--payload STR]
 *           [--addr IP | --no-addr] [--ts-offset S] [--receipt]
 *           [--wait MS] [--count N] [--save FILE] [--out FILE]
 *           [--flip-bit N [--remac]] [--tag-key KEY] [--mac-key KEY]
 *   k2knock --send-file FILE [--host IP] [--port N] [--bind IP] [--wait MS]
 *
 * --out FILE writes the datagram to FILE and sends nothing; with --count N
 * (N > 1) it writes N knocks, each built afresh (its own nonce, content key
 * and mac), one after another: N * 559 bytes, for bench/flood FILE.
 * --tag-key / --mac-key compute the tag / the MAC with another user's key.
 * --flip-bit flips bit N (0 = first bit of the datagram) after sealing;
 * --remac then recomputes the MAC, so the change reaches decryption.
 * With --wait it prints "receipt status=S reason=R value=V" (or, for
 * --send-file, "answer N bytes") and exits 0, or prints "no receipt" and
 * exits 3.  Exit 1 on errors, 2 on usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "client.h"
#include "crypto.h"
#include "knock2.h"

struct opts {
	const char *host, *bind, *server_key, *hmac_key, *tag_key, *mac_key;
	const char *payload, *addr, *save, *out, *send_file;
	long port, user, action, ts_offset, wait_ms, count, flip_bit;
	bool no_addr, receipt, remac;
};

static EVP_PKEY *pub;   /* freed at exit, whichever way main leaves */

static void
free_pub(void)
{
	EVP_PKEY_free(pub);
}

static int
parse_ip(const char *s, struct sockaddr_storage *ss, socklen_t *len,
    uint16_t port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

static int
load_key(const char *path, uint8_t key[SL_HMAC_KEY_LEN])
{
	char err[512];

	if (crypto_load_hmac_key(path, 0, key, err, sizeof(err)) != 0) {
		fprintf(stderr, "k2knock: %s\n", err);
		return -1;
	}
	return 0;
}

static int
write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(p, 1, n, f) == n;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Build one datagram as o says. */
static int
build(const struct opts *o, EVP_PKEY *spub, uint8_t dgram[K2_DGRAM_LEN],
    uint8_t rk[K2_KEY_LEN], uint8_t mac[K2_MAC_LEN])
{
	struct k2_userkeys uk, other;
	struct k2_inner in;
	uint8_t key[SL_HMAC_KEY_LEN], okey[SL_HMAC_KEY_LEN];
	int rc = -1;

	memset(&in, 0, sizeof(in));
	if (load_key(o->hmac_key, key) != 0 || k2_derive_user(key, &uk) != 0)
		return -1;
	in.flags = o->receipt ? K2_F_RECEIPT : 0;
	in.user_id = (uint16_t)o->user;
	in.action_id = (uint8_t)o->action;
	in.timestamp = (uint64_t)((long long)time(NULL) + o->ts_offset);
	if (crypto_random(in.nonce, sizeof(in.nonce)) != 0)
		return -1;
	if (o->payload != NULL) {
		if (strlen(o->payload) > K2_PAYLOAD_MAX)
			return -1;
		in.payload_len = (uint16_t)strlen(o->payload);
		memcpy(in.payload, o->payload, in.payload_len);
	}
	if (!o->no_addr) {
		const char *a = o->addr != NULL ? o->addr :
		    o->bind != NULL ? o->bind : o->host;

		in.has_addr = true;
		if (inet_pton(AF_INET, a, in.addr.bytes) == 1)
			in.addr.family = AF_INET;
		else if (inet_pton(AF_INET6, a, in.addr.bytes) == 1)
			in.addr.family = AF_INET6;
		else
			return -1;
	}
	if (k2_seal(spub, &uk, &in, NULL, dgram, rk, mac) != 0)
		goto out;
	if (o->tag_key != NULL) {
		if (load_key(o->tag_key, okey) != 0 ||
		    k2_derive_user(okey, &other) != 0 ||
		    k2_tag(NULL, other.tag_key, k2_epoch(in.timestamp),
		    dgram) != 0)
			goto out;
		(void)k2_mac(NULL, uk.mac_key, dgram, dgram + K2_OFF_MAC);
	}
	if (o->mac_key != NULL) {
		if (load_key(o->mac_key, okey) != 0 ||
		    k2_derive_user(okey, &other) != 0)
			goto out;
		(void)k2_mac(NULL, other.mac_key, dgram, dgram + K2_OFF_MAC);
	}
	if (o->flip_bit >= 0) {
		dgram[o->flip_bit / 8] ^= (uint8_t)(0x80u >> (o->flip_bit % 8));
		if (o->remac)
			(void)k2_mac(NULL, uk.mac_key, dgram,
			    dgram + K2_OFF_MAC);
	}
	memcpy(mac, dgram + K2_OFF_MAC, K2_MAC_LEN);
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(okey, sizeof(okey));
	OPENSSL_cleanse(&uk, sizeof(uk));
	OPENSSL_cleanse(&other, sizeof(other));
	return rc;
}

/* --out with --count: the first knock (built), then count - 1 more. */
static int
write_many(const struct opts *o, EVP_PKEY *spub, const char *path,
    uint8_t dgram[K2_DGRAM_LEN])
{
	uint8_t rk[K2_KEY_LEN], mac[K2_MAC_LEN];
	FILE *f = fopen(path, "wb");
	long i;
	int ok = f != NULL;

	for (i = 0; ok && i < o->count; i++) {
		if (i > 0 && build(o, spub, dgram, rk, mac) != 0)
			ok = 0;
		else
			ok = fwrite(dgram, 1, K2_DGRAM_LEN, f) == K2_DGRAM_LEN;
	}
	OPENSSL_cleanse(rk, sizeof(rk));
	if (f != NULL && fclose(f) != 0)
		ok = 0;
	if (!ok)
		fprintf(stderr, "k2knock: %s: cannot write the knocks\n", path);
	return ok ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", 1, NULL, 'H' }, { "port", 1, NULL, 'p' },
		{ "bind", 1, NULL, 'b' }, { "server-key", 1, NULL, 'S' },
		{ "hmac-key", 1, NULL, 'K' }, { "tag-key", 1, NULL, 'T' },
		{ "mac-key", 1, NULL, 'M' }, { "user", 1, NULL, 'u' },
		{ "action", 1, NULL, 'a' }, { "payload", 1, NULL, 'P' },
		{ "addr", 1, NULL, 'A' }, { "no-addr", 0, NULL, 'N' },
		{ "ts-offset", 1, NULL, 't' }, { "receipt", 0, NULL, 'r' },
		{ "wait", 1, NULL, 'w' }, { "count", 1, NULL, 'c' },
		{ "save", 1, NULL, 's' }, { "out", 1, NULL, 'o' },
		{ "flip-bit", 1, NULL, 'f' }, { "remac", 0, NULL, 'R' },
		{ "send-file", 1, NULL, 'F' }, { NULL, 0, NULL, 0 },
	};
	struct opts o = { .host = "127.0.0.1", .port = CLIENT_DEFAULT_PORT,
	    .user = -1, .action = -1, .count = 1, .flip_bit = -1 };
	struct sockaddr_storage dst, src;
	socklen_t dlen, slen;
	uint8_t dgram[K2_DGRAM_LEN], rk[K2_KEY_LEN], mac[K2_MAC_LEN];
	uint8_t buf[2048];
	struct k2_receipt r;
	struct pollfd pfd;
	char err[512];
	size_t dlen2 = sizeof(dgram);
	long i;
	ssize_t n;
	int c, fd;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'H': o.host = optarg; break;
		case 'p': o.port = strtol(optarg, NULL, 10); break;
		case 'b': o.bind = optarg; break;
		case 'S': o.server_key = optarg; break;
		case 'K': o.hmac_key = optarg; break;
		case 'T': o.tag_key = optarg; break;
		case 'M': o.mac_key = optarg; break;
		case 'u': o.user = strtol(optarg, NULL, 10); break;
		case 'a': o.action = strtol(optarg, NULL, 10); break;
		case 'P': o.payload = optarg; break;
		case 'A': o.addr = optarg; break;
		case 'N': o.no_addr = true; break;
		case 't': o.ts_offset = strtol(optarg, NULL, 10); break;
		case 'r': o.receipt = true; break;
		case 'w': o.wait_ms = strtol(optarg, NULL, 10); break;
		case 'c': o.count = strtol(optarg, NULL, 10); break;
		case 's': o.save = optarg; break;
		case 'o': o.out = optarg; break;
		case 'f': o.flip_bit = strtol(optarg, NULL, 10); break;
		case 'R': o.remac = true; break;
		case 'F': o.send_file = optarg; break;
		default: return 2;
		}
	}
	if (optind != argc || o.port < 1 || o.port > 65535 ||
	    o.flip_bit >= (long)K2_DGRAM_LEN * 8 ||
	    (o.send_file == NULL && (o.server_key == NULL ||
	    o.hmac_key == NULL || o.user < 0 || o.user > 65535 ||
	    o.action < 0 || o.action > 255))) {
		fprintf(stderr, "k2knock: usage: see the comment at the top of "
		    "tests/tools/k2knock.c\n");
		return 2;
	}
	if (parse_ip(o.host, &dst, &dlen, (uint16_t)o.port) != 0 ||
	    (o.bind != NULL && parse_ip(o.bind, &src, &slen, 0) != 0)) {
		fprintf(stderr, "k2knock: not an address literal\n");
		return 2;
	}
	if (o.send_file != NULL) {
		if (client_read_file(o.send_file, dgram, sizeof(dgram), &dlen2,
		    err, sizeof(err)) != 0) {
			fprintf(stderr, "k2knock: %s\n", err);
			return 1;
		}
	} else {
		atexit(free_pub);
		if (crypto_load_public(o.server_key, &pub, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "k2knock: %s\n", err);
			return 1;
		}
		if (build(&o, pub, dgram, rk, mac) != 0) {
			fprintf(stderr, "k2knock: cannot build the knock\n");
			return 1;
		}
	}
	if (o.out != NULL && o.count > 1 && o.send_file == NULL)
		return write_many(&o, pub, o.out, dgram) == 0 ? 0 : 1;
	if (o.out != NULL)
		return write_file(o.out, dgram, dlen2) == 0 ? 0 : 1;
	if (o.save != NULL && write_file(o.save, dgram, dlen2) != 0) {
		fprintf(stderr, "k2knock: %s: %s\n", o.save, strerror(errno));
		return 1;
	}
	if ((fd = socket(dst.ss_family, SOCK_DGRAM, 0)) < 0 ||
	    (o.bind != NULL && bind(fd, (struct sockaddr *)&src, slen) != 0) ||
	    connect(fd, (struct sockaddr *)&dst, dlen) != 0) {
		fprintf(stderr, "k2knock: socket: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < o.count; i++) {
		if (i > 0 && o.send_file == NULL &&
		    build(&o, pub, dgram, rk, mac) != 0)
			return 1;
		if (send(fd, dgram, dlen2, 0) != (ssize_t)dlen2) {
			fprintf(stderr, "k2knock: send: %s\n", strerror(errno));
			return 1;
		}
	}
	if (o.wait_ms <= 0)
		return 0;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, (int)o.wait_ms) == 1) {
		if ((n = recv(fd, buf, sizeof(buf), 0)) < 0)
			break;
		if (o.send_file != NULL) {
			printf("answer %zd bytes\n", n);
			return 0;
		}
		if (k2_receipt_open(NULL, rk, mac, buf, (size_t)n, &r) == 0) {
			long long skew = (long long)r.server_time -
			    (long long)time(NULL);

			/* both clocks in whole seconds: a second boundary
			 * between the server's stamp and ours is not skew */
			if (skew >= -1 && skew <= 1)
				skew = 0;
			printf("receipt status=%u reason=%u value=%u "
			    "skew=%lld\n", r.status, r.reason, r.value, skew);
			return 0;
		}
		printf("unreadable answer of %zd bytes\n", n);
	}
	printf("no receipt\n");
	return 3;
}
