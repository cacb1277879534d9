/*
 * slcraft - test-only packet crafter for siglatchd: sends good knocks and
 * every kind of bad one to a literal IP address.  Not installed.
 *
 * Three modes:
 *   crafted (default)  a knock built like knocker builds it, with overrides
 *   --raw-random SIZE  random datagrams of SIZE bytes
 *   --send-file FILE   a file's bytes as one datagram (e.g. a 1.0 vector)
 * Run "slcraft --help" for the options.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "client.h"
#include "crypto.h"
#include "sl.h"
#include "util.h"
#include "wire.h"

#define EXIT_USAGE  2
#define DGRAM_MAX   65507       /* largest UDP payload over IPv4 */
#define OFF_HMAC    12          /* field offsets in the 245-byte packet */
#define OFF_PLEN    44
#define OFF_PAYLOAD 46

struct craft {
	const char *host, *out, *save, *server_key, *hmac_key, *send_file;
	uint16_t port;
	long long user, action, version, payload_len, plain_len, count;
	long long ts, ts_offset, raw_size, interval_us, challenge;
	bool have_ts, have_ts_offset, have_plen, bad_hmac, verbose;
	bool have_challenge;
	uint8_t payload[SL_PAYLOAD_MAX];
	size_t npayload;
};

static void craft_err(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
craft_err(const char *fmt, ...)
{
	va_list ap;

	fputs("slcraft: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
craft_usage(FILE *f)
{
	fprintf(f,
"usage: slcraft [--host IP] [--port N] [--out FILE | --save FILE] [--count N]\n"
"               --server-key PUB --hmac-key KEY --user ID --action ID\n"
"               [--payload STR | --payload-hex HEX]\n"
"               [--ts ABS | --ts-offset SECONDS] [--version V]\n"
"               [--payload-len N] [--plain-len N] [--bad-hmac]\n"
"               [--challenge N] [-v]\n"
"       slcraft [--host IP] [--port N] [--out FILE] --raw-random SIZE [--count N]\n"
"       slcraft [--host IP] [--port N] --send-file FILE [--count N]\n"
"\n"
"Test tool: builds siglatch wire v1 datagrams, good and bad, and sends them\n"
"over UDP to a literal IPv4/IPv6 address (default 127.0.0.1 port %d).\n"
"\n"
"  --host IP           destination address literal (no name lookup)\n"
"  --port N            destination port\n"
"  --out FILE          write the datagram to FILE (a new file); send nothing\n"
"  --save FILE         send, and also write the datagram to FILE, for a\n"
"                      later --send-file replay of exactly the same bytes\n"
"  --interval-us U     pause U microseconds between datagrams (pacing)\n"
"  --count N           send N datagrams (crafted: each freshly built, with\n"
"                      its own challenge; --send-file: the same bytes N times)\n"
"Crafted knocks (defaults as knocker: version 1, timestamp now):\n"
"  --server-key PUB    server public key to encrypt to\n"
"  --hmac-key KEY      user HMAC key (32 bytes or 64 hex)\n"
"  --user ID           user id, 0-65535\n"
"  --action ID         action id, 0-255\n"
"  --payload STR       payload bytes (at most %d)\n"
"  --payload-hex HEX   payload given in hex\n"
"  --ts ABS            timestamp, unix seconds 0-4294967295\n"
"  --ts-offset S       timestamp = now + S (S may be negative)\n"
"  --version V         wire version byte, 0-255\n"
"  --payload-len N     write N (0-65535) in the payload_len field whatever\n"
"                      the payload; the HMAC covers the fields as encoded\n"
"                      and min(N, %d) payload bytes\n"
"  --plain-len N       encrypt only the first N (0-245) bytes of the packet\n"
"                      (a wrong plaintext length after decryption)\n"
"  --bad-hmac          flip one bit of the HMAC after computing it\n"
"  --challenge N       this challenge (0-4294967295), not a random one: with\n"
"                      --ts and --payload, the same knock again, to be sealed\n"
"                      under another server key\n"
"  -v, --verbose       print each crafted packet's fields on stdout\n"
"Raw datagrams:\n"
"  --raw-random SIZE   random bytes, SIZE 0-%d\n"
"  --send-file FILE    the bytes of FILE (at most %d)\n"
"\n"
"Exit status: 0 when everything was sent (or written), 1 on an error,\n"
"2 on a usage error.\n",
	    CLIENT_DEFAULT_PORT, SL_PAYLOAD_MAX, SL_PAYLOAD_MAX, DGRAM_MAX,
	    DGRAM_MAX);
}

static int
craft_unhex(const char *s, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t i, n = strlen(s);
	int hi, lo;

	if (n % 2 != 0 || n / 2 > cap)
		return SL_EINVAL;
	for (i = 0; i < n / 2; i++) {
		if ((hi = sl_hexval(s[2 * i])) < 0 ||
		    (lo = sl_hexval(s[2 * i + 1])) < 0)
			return SL_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*outlen = n / 2;
	return 0;
}

/* One numeric option in [min, max], or a usage error naming it. */
static bool
craft_num(const char *opt, const char *s, long long min, long long max,
    long long *out)
{
	if (sl_parse_num(s, min, max, out) == 0)
		return true;
	craft_err("--%s '%s' is not a number in %lld..%lld", opt, s, min, max);
	return false;
}

/*
 * The HMAC of an encoded packet as it stands: the header fields and
 * payload_len as encoded, and min(payload_len, 199) payload bytes.
 */
static int
craft_hmac_encoded(uint8_t pt[SL_PACKET_LEN], const uint8_t *key)
{
	uint8_t msg[OFF_HMAC + 2 + SL_PAYLOAD_MAX], digest[32];
	size_t plen, dlen = 0, mlen = 0;
	int rc = SL_ECRYPTO;

	plen = (size_t)pt[OFF_PLEN] | (size_t)pt[OFF_PLEN + 1] << 8;
	if (plen > SL_PAYLOAD_MAX)
		plen = SL_PAYLOAD_MAX;
	memcpy(msg, pt, OFF_HMAC);
	memcpy(msg + OFF_HMAC, pt + OFF_PLEN, 2);
	memcpy(msg + OFF_HMAC + 2, pt + OFF_PAYLOAD, plen);
	if (EVP_Q_digest(NULL, "SHA256", NULL, msg, OFF_HMAC + 2 + plen,
	    digest, &dlen) == 1 && dlen == sizeof(digest) &&
	    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, SL_HMAC_KEY_LEN,
	    digest, sizeof(digest), pt + OFF_HMAC, SL_HMAC_LEN, &mlen) != NULL &&
	    mlen == SL_HMAC_LEN)
		rc = 0;
	ERR_clear_error();
	OPENSSL_cleanse(msg, sizeof(msg));
	return rc;
}

/* PKCS#1 v1.5 encryption of the first n bytes of pt (n may be short). */
static int
craft_encrypt(EVP_PKEY *pub, const uint8_t *pt, size_t n,
    uint8_t ct[SL_DGRAM_LEN])
{
	EVP_PKEY_CTX *ctx;
	size_t outlen = SL_DGRAM_LEN;
	int rc = SL_ECRYPTO;

	if (n == SL_PACKET_LEN)
		return crypto_enc_knock(pub, pt, ct);
	if ((ctx = EVP_PKEY_CTX_new(pub, NULL)) == NULL)
		return SL_ECRYPTO;
	if (EVP_PKEY_encrypt_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_encrypt(ctx, ct, &outlen, pt, n) == 1 &&
	    outlen == SL_DGRAM_LEN)
		rc = 0;
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* Build one crafted datagram. */
static int
craft_knock(const struct craft *c, EVP_PKEY *pub, const uint8_t *key,
    uint8_t ct[SL_DGRAM_LEN])
{
	struct wire_knock k;
	uint8_t pt[SL_PACKET_LEN];
	char hmac[2 * SL_HMAC_LEN + 1];
	long long ts = c->have_ts ? c->ts : (long long)time(NULL) + c->ts_offset;
	int rc;

	if (ts < 0 || ts > UINT32_MAX) {
		craft_err("timestamp %lld is out of the u32 range", ts);
		return SL_EINVAL;
	}
	if ((rc = client_build_knock(&k, (uint32_t)ts, (uint16_t)c->user,
	    (uint8_t)c->action, c->payload, c->npayload, key)) != 0)
		goto out;
	if (c->version != SL_WIRE_VERSION || c->have_challenge) {
		k.version = (uint8_t)c->version;
		if (c->have_challenge)
			k.challenge = (uint32_t)c->challenge;
		if ((rc = wire_hmac(NULL, k.hmac, key, &k)) != 0)
			goto out;
	}
	if ((rc = wire_encode(pt, sizeof(pt), &k)) != 0)
		goto out;
	if (c->have_plen) {
		pt[OFF_PLEN] = (uint8_t)c->payload_len;
		pt[OFF_PLEN + 1] = (uint8_t)(c->payload_len >> 8);
		if ((rc = craft_hmac_encoded(pt, key)) != 0)
			goto out;
	}
	if (c->bad_hmac)
		pt[OFF_HMAC] ^= 0x01;
	if (c->verbose) {
		client_hex(hmac, sizeof(hmac), pt + OFF_HMAC, SL_HMAC_LEN);
		printf("version=%u timestamp=%lld user_id=%u action_id=%u "
		    "challenge=%lu payload_len=%u hmac=%s\n", pt[0], ts,
		    (unsigned)k.user_id, (unsigned)k.action_id,
		    (unsigned long)k.challenge,
		    (unsigned)(pt[OFF_PLEN] | pt[OFF_PLEN + 1] << 8), hmac);
	}
	rc = craft_encrypt(pub, pt, (size_t)c->plain_len, ct);
out:
	if (rc != 0)
		craft_err("cannot build the knock: %s", sl_strerror(rc));
	OPENSSL_cleanse(&k, sizeof(k));
	OPENSSL_cleanse(pt, sizeof(pt));
	return rc;
}

/* Parse the command line; returns -1 to go on, else an exit status. */
static int
craft_parse(int argc, char **argv, struct craft *c)
{
	enum {
		O_HOST = 256, O_PORT, O_OUT, O_SAVE, O_PUB, O_KEY, O_USER,
		O_ACTION, O_PAYLOAD, O_PHEX, O_TS, O_TSOFF, O_VERSION, O_PLEN,
		O_PLAIN, O_BADHMAC, O_COUNT, O_RAW, O_FILE, O_INTERVAL,
		O_CHALLENGE,
	};
	static const struct option opts[] = {
		{ "host",        required_argument, NULL, O_HOST },
		{ "port",        required_argument, NULL, O_PORT },
		{ "out",         required_argument, NULL, O_OUT },
		{ "save",        required_argument, NULL, O_SAVE },
		{ "server-key",  required_argument, NULL, O_PUB },
		{ "hmac-key",    required_argument, NULL, O_KEY },
		{ "user",        required_argument, NULL, O_USER },
		{ "action",      required_argument, NULL, O_ACTION },
		{ "payload",     required_argument, NULL, O_PAYLOAD },
		{ "payload-hex", required_argument, NULL, O_PHEX },
		{ "ts",          required_argument, NULL, O_TS },
		{ "ts-offset",   required_argument, NULL, O_TSOFF },
		{ "version",     required_argument, NULL, O_VERSION },
		{ "payload-len", required_argument, NULL, O_PLEN },
		{ "plain-len",   required_argument, NULL, O_PLAIN },
		{ "bad-hmac",    no_argument,       NULL, O_BADHMAC },
		{ "challenge",   required_argument, NULL, O_CHALLENGE },
		{ "count",       required_argument, NULL, O_COUNT },
		{ "interval-us", required_argument, NULL, O_INTERVAL },
		{ "raw-random",  required_argument, NULL, O_RAW },
		{ "send-file",   required_argument, NULL, O_FILE },
		{ "verbose",     no_argument,       NULL, 'v' },
		{ "help",        no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool ok = true, have_payload = false;
	int o;

	memset(c, 0, sizeof(*c));
	c->host = "127.0.0.1";
	c->port = CLIENT_DEFAULT_PORT;
	c->user = c->action = -1;
	c->version = SL_WIRE_VERSION;
	c->plain_len = SL_PACKET_LEN;
	c->count = 1;
	c->raw_size = -1;
	while (ok && (o = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (o) {
		case O_HOST:    c->host = optarg; break;
		case O_OUT:     c->out = optarg; break;
		case O_SAVE:    c->save = optarg; break;
		case O_PUB:     c->server_key = optarg; break;
		case O_KEY:     c->hmac_key = optarg; break;
		case O_FILE:    c->send_file = optarg; break;
		case O_BADHMAC: c->bad_hmac = true; break;
		case 'v':       c->verbose = true; break;
		case O_PORT:
			if (client_parse_port(optarg, &c->port) != 0) {
				craft_err("--port '%s' is not in 1..65535", optarg);
				ok = false;
			}
			break;
		case O_USER:
			ok = craft_num("user", optarg, 0, CLIENT_USER_ID_MAX,
			    &c->user);
			break;
		case O_ACTION:
			ok = craft_num("action", optarg, 0, CLIENT_ACTION_ID_MAX,
			    &c->action);
			break;
		case O_PAYLOAD:
		case O_PHEX:
			if (have_payload) {
				craft_err("give one --payload or --payload-hex");
				ok = false;
			} else if (o == O_PAYLOAD &&
			    strlen(optarg) > SL_PAYLOAD_MAX) {
				craft_err("--payload is longer than %d bytes",
				    SL_PAYLOAD_MAX);
				ok = false;
			} else if (o == O_PAYLOAD) {
				c->npayload = strlen(optarg);
				memcpy(c->payload, optarg, c->npayload);
			} else if (craft_unhex(optarg, c->payload,
			    sizeof(c->payload), &c->npayload) != 0) {
				craft_err("--payload-hex: not an even number of "
				    "hex digits, or over %d bytes", SL_PAYLOAD_MAX);
				ok = false;
			}
			have_payload = true;
			break;
		case O_TS:
			ok = craft_num("ts", optarg, 0, UINT32_MAX, &c->ts);
			c->have_ts = true;
			break;
		case O_CHALLENGE:
			ok = craft_num("challenge", optarg, 0, UINT32_MAX,
			    &c->challenge);
			c->have_challenge = true;
			break;
		case O_TSOFF:
			ok = craft_num("ts-offset", optarg, -(long long)UINT32_MAX,
			    UINT32_MAX, &c->ts_offset);
			c->have_ts_offset = true;
			break;
		case O_VERSION:
			ok = craft_num("version", optarg, 0, 255, &c->version);
			break;
		case O_PLEN:
			ok = craft_num("payload-len", optarg, 0, 65535,
			    &c->payload_len);
			c->have_plen = true;
			break;
		case O_PLAIN:
			ok = craft_num("plain-len", optarg, 0, SL_PACKET_LEN,
			    &c->plain_len);
			break;
		case O_COUNT:
			ok = craft_num("count", optarg, 1, 10000000, &c->count);
			break;
		case O_INTERVAL:
			ok = craft_num("interval-us", optarg, 0, 10000000,
			    &c->interval_us);
			break;
		case O_RAW:
			ok = craft_num("raw-random", optarg, 0, DGRAM_MAX,
			    &c->raw_size);
			break;
		case 'h':
			craft_usage(stdout);
			return EXIT_SUCCESS;
		default:
			ok = false;
			break;
		}
	}
	if (ok && optind != argc) {
		craft_err("unexpected argument '%s'", argv[optind]);
		ok = false;
	}
	if (ok && c->raw_size >= 0 && c->send_file != NULL) {
		craft_err("give --raw-random or --send-file, not both");
		ok = false;
	}
	if (ok && c->have_ts && c->have_ts_offset) {
		craft_err("give --ts or --ts-offset, not both");
		ok = false;
	}
	if (ok && c->out != NULL && c->save != NULL) {
		craft_err("give --out or --save, not both");
		ok = false;
	}
	if (ok && c->save != NULL && c->count != 1) {
		craft_err("--save writes one datagram: drop --count");
		ok = false;
	}
	if (ok && c->out != NULL && c->count != 1 &&
	    (c->raw_size >= 0 || c->send_file != NULL)) {
		craft_err("--out with --count is for crafted knocks only");
		ok = false;
	}
	if (ok && c->raw_size < 0 && c->send_file == NULL &&
	    (c->server_key == NULL || c->hmac_key == NULL || c->user < 0 ||
	    c->action < 0)) {
		craft_err("a crafted knock needs --server-key, --hmac-key, "
		    "--user and --action");
		ok = false;
	}
	if (!ok) {
		fputs("Try 'slcraft --help'.\n", stderr);
		return EXIT_USAGE;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	static uint8_t dgram[DGRAM_MAX];
	uint8_t *many = NULL;     /* --out with --count */
	struct craft c;
	char err[CLIENT_ERR_LEN];
	uint8_t key[SL_HMAC_KEY_LEN];
	EVP_PKEY *pub = NULL;
	size_t len = 0;
	long long i;
	int rc, status = EXIT_FAILURE;

	if ((rc = craft_parse(argc, argv, &c)) >= 0)
		return rc;
	memset(key, 0, sizeof(key));
	if (c.send_file != NULL) {
		if (client_read_file(c.send_file, dgram, sizeof(dgram), &len,
		    err, sizeof(err)) != 0) {
			craft_err("%s", err);
			goto out;
		}
	} else if (c.raw_size < 0 &&
	    (crypto_load_hmac_key(c.hmac_key, 0, key, err, sizeof(err)) != 0 ||
	    crypto_load_public(c.server_key, &pub, err, sizeof(err)) != 0)) {
		craft_err("%s", err);
		goto out;
	}
	for (i = 0; i < c.count; i++) {
		if (c.raw_size >= 0) {
			len = (size_t)c.raw_size;
			if (crypto_random(dgram, len) != 0) {
				craft_err("no random bytes");
				goto out;
			}
		} else if (c.send_file == NULL) {
			if (craft_knock(&c, pub, key, dgram) != 0)
				goto out;
			len = SL_DGRAM_LEN;
		}
		if (c.out != NULL && c.count > 1) {
			/* --out with --count: N knocks, one after another */
			if (many == NULL && (many = malloc((size_t)c.count *
			    SL_DGRAM_LEN)) == NULL) {
				craft_err("out of memory");
				goto out;
			}
			memcpy(many + (size_t)i * SL_DGRAM_LEN, dgram, SL_DGRAM_LEN);
		} else if (c.out == NULL && client_send(c.host, c.port, true,
		    dgram, len, NULL, 0, err, sizeof(err)) != 0) {
			craft_err("%s", err);
			goto out;
		}
		if (c.interval_us > 0 && i + 1 < c.count) {
			struct timespec ts = { c.interval_us / 1000000,
			    (c.interval_us % 1000000) * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	if (many != NULL && client_create_file(c.out, 0644, many,
	    (size_t)c.count * SL_DGRAM_LEN, err, sizeof(err)) != 0) {
		craft_err("%s", err);
		goto out;
	}
	if (many == NULL && (c.out != NULL || c.save != NULL) &&
	    client_create_file(c.out != NULL ? c.out : c.save, 0644, dgram, len,
	    err, sizeof(err)) != 0) {
		craft_err("%s", err);
		goto out;
	}
	status = EXIT_SUCCESS;
out:
	free(many);
	OPENSSL_cleanse(key, sizeof(key));
	EVP_PKEY_free(pub);
	if (fflush(stdout) != 0)
		status = EXIT_FAILURE;
	return status;
}
