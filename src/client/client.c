/*
 * client.c - helpers shared by knocker, siglatch-keygen and the test tools.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "client.h"
#include "crypto.h"
#include "util.h"

#define MAP_LINE_MAX 1024
#define FORMATS_LIST_MAX 256

bool
client_valid_name(const char *s)
{
	size_t i;

	/* knocker takes an argument that starts with a digit for an id
	 * (client_parse_id), and one that starts with '-' for an option */
	if (isdigit((unsigned char)s[0]) || s[0] == '-')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= SL_NAME_MAX - 1)
			return false;
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return false;
	}
	return i > 0;
}

bool
client_valid_host(const char *s)
{
	size_t i;

	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= CLIENT_HOST_MAX || c <= 0x20 || c == 0x7f ||
		    c == '/' || c == ',')
			return false;
	}
	return i > 0;
}

int
client_host_dir(char *out, size_t outlen, const char *host, char *err,
    size_t errlen)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;

	if (!client_valid_host(host)) {
		sl_seterr(err, errlen, "invalid host '%s'", host);
		return SL_EINVAL;
	}
	/* the XDG spec says to ignore a relative XDG_CONFIG_HOME */
	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, outlen, "%s/siglatch/%s", xdg, host);
	else if (home != NULL && home[0] != '\0')
		n = snprintf(out, outlen, "%s/.config/siglatch/%s", home, host);
	else {
		sl_seterr(err, errlen, "HOME is not set: cannot find the "
		    "configuration directory for %s", host);
		return SL_ENOENT;
	}
	if (n < 0 || (size_t)n >= outlen) {
		sl_seterr(err, errlen, "configuration directory path for %s is too "
		    "long", host);
		return SL_ETOOBIG;
	}
	return 0;
}

/* Split one trimmed map line into its three trimmed fields, in place. */
static int
map_split(char *line, char **name, char **host, char **id)
{
	char *c1, *c2;

	if ((c1 = strchr(line, ',')) == NULL ||
	    (c2 = strchr(c1 + 1, ',')) == NULL || strchr(c2 + 1, ',') != NULL)
		return SL_EPARSE;
	*c1 = *c2 = '\0';
	*name = sl_trim(line);
	*host = sl_trim(c1 + 1);
	*id = sl_trim(c2 + 1);
	if (**name == '\0' || **host == '\0' || **id == '\0')
		return SL_EPARSE;
	return 0;
}

int
client_map_lookup_buf(const char *buf, size_t len, const char *src,
    const char *host, const char *name, uint32_t max, uint32_t *id,
    char *err, size_t errlen)
{
	char line[MAP_LINE_MAX], *f_name, *f_host, *f_id, *s;
	const char *p = buf, *end = buf + len, *nl;
	unsigned lineno = 0;
	long long v, hit = -1;
	size_t n;

	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		if (n >= sizeof(line)) {
			sl_seterr(err, errlen, "%s:%u: line too long", src, lineno);
			return SL_ECONFIG;
		}
		if (memchr(p, '\0', n) != NULL) {
			sl_seterr(err, errlen, "%s:%u: NUL byte in line", src, lineno);
			return SL_ECONFIG;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl != NULL);
		if (n > 0 && line[n - 1] == '\r')
			line[n - 1] = '\0';
		s = sl_trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if (map_split(s, &f_name, &f_host, &f_id) != 0) {
			sl_seterr(err, errlen, "%s:%u: expected name,host,id", src,
			    lineno);
			return SL_ECONFIG;
		}
		if (sl_parse_num(f_id, 0, max, &v) != 0) {
			sl_seterr(err, errlen, "%s:%u: id '%s' is not a number in "
			    "0..%u", src, lineno, f_id, (unsigned)max);
			return SL_ECONFIG;
		}
		/* first applicable line wins; later lines are still checked */
		if (hit < 0 && strcmp(f_name, name) == 0 &&
		    (host == NULL || strcmp(f_host, host) == 0 ||
		    strcmp(f_host, "*") == 0))
			hit = v;
	}
	if (hit < 0) {
		if (host != NULL)
			sl_seterr(err, errlen, "not in %s (for host %s)", src,
			    host);
		else
			sl_seterr(err, errlen, "not in %s", src);
		return SL_ENOENT;
	}
	*id = (uint32_t)hit;
	return 0;
}

/* sl_read_file, with "path: why" in err. */
static int
client_slurp(const char *path, size_t cap, char **text, size_t *len,
    char *err, size_t errlen)
{
	int rc;

	if ((rc = sl_read_file(path, cap, 0, text, len, NULL)) == 0)
		return 0;
	if (rc == SL_ETOOBIG)
		sl_seterr(err, errlen, "%s: larger than %zu bytes", path, cap);
	else
		sl_seterr(err, errlen, "%s: %s", path, sl_read_why(rc));
	return rc;
}

int
client_map_lookup(const char *path, const char *host, const char *name,
    uint32_t max, uint32_t *id, char *err, size_t errlen)
{
	char *buf;
	size_t len = 0;
	int rc;

	if ((rc = client_slurp(path, CLIENT_MAP_MAX, &buf, &len, err,
	    errlen)) != 0)
		return rc;
	rc = client_map_lookup_buf(buf, len, path, host, name, max, id, err,
	    errlen);
	free(buf);
	return rc;
}

int
client_map_summary(const char *path, char *name, size_t namelen,
    char *host, size_t hostlen, unsigned *nnames, char *err, size_t errlen)
{
	char *buf, line[MAP_LINE_MAX], *f_name, *f_host, *f_id, *s;
	const char *p, *end, *nl;
	size_t len = 0, n;
	unsigned lineno = 0;
	long long v;
	int rc;

	*nnames = 0;
	name[0] = host[0] = '\0';
	if ((rc = client_slurp(path, CLIENT_MAP_MAX, &buf, &len, err,
	    errlen)) != 0)
		return rc;
	for (p = buf, end = buf + len; p < end; p += n + (nl != NULL)) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		if (n >= sizeof(line) || memchr(p, '\0', n) != NULL) {
			sl_seterr(err, errlen, "%s:%u: line too long or NUL "
			    "byte", path, lineno);
			rc = SL_ECONFIG;
			goto out;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[n - 1] = '\0';
		s = sl_trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if (map_split(s, &f_name, &f_host, &f_id) != 0 ||
		    sl_parse_num(f_id, 0, CLIENT_USER_ID_MAX, &v) != 0) {
			sl_seterr(err, errlen, "%s:%u: expected name,host,id",
			    path, lineno);
			rc = SL_ECONFIG;
			goto out;
		}
		if (*nnames == 0) {
			*nnames = 1;
			sl_strlcpy(name, f_name, namelen);
		} else if (strcmp(name, f_name) != 0)
			*nnames = 2;
		if (host[0] == '\0' && strcmp(f_host, "*") != 0)
			sl_strlcpy(host, f_host, hostlen);
	}
out:
	free(buf);
	return rc;
}

int
client_resolve_id(const char *arg, const char *kind, const char *map_path,
    const char *host, uint32_t max, uint32_t *id, char *err, size_t errlen)
{
	char why[CLIENT_ERR_LEN];
	long long v;
	int rc;

	if (isdigit((unsigned char)arg[0])) {
		if (sl_parse_num(arg, 0, max, &v) != 0) {
			sl_seterr(err, errlen, "%s id '%s' is not a number in 0..%u",
			    kind, arg, (unsigned)max);
			return SL_EINVAL;
		}
		*id = (uint32_t)v;
		return 0;
	}
	if (arg[0] == '\0') {
		sl_seterr(err, errlen, "empty %s name", kind);
		return SL_EINVAL;
	}
	if (map_path == NULL) {
		sl_seterr(err, errlen, "unknown %s '%s': no map file", kind, arg);
		return SL_ENOENT;
	}
	rc = client_map_lookup(map_path, host, arg, max, id, why, sizeof(why));
	if (rc != 0)
		sl_seterr(err, errlen, "%s %s '%s': %s", rc == SL_ENOENT ?
		    "unknown" : "cannot look up", kind, arg, why);
	return rc;
}

int
client_build_knock(struct wire_knock *k, uint32_t timestamp,
    uint16_t user_id, uint8_t action_id, const uint8_t *payload,
    size_t payload_len, const uint8_t key[SL_HMAC_KEY_LEN])
{
	int rc;

	memset(k, 0, sizeof(*k));
	if (payload_len > SL_PAYLOAD_MAX)
		return SL_ETOOBIG;
	k->version = SL_WIRE_VERSION;
	k->timestamp = timestamp;
	k->user_id = user_id;
	k->action_id = action_id;
	if ((rc = crypto_random(&k->challenge, sizeof(k->challenge))) != 0)
		return rc;
	if (payload_len > 0)
		memcpy(k->payload, payload, payload_len);
	k->payload_len = (uint16_t)payload_len;
	return wire_hmac(NULL, k->hmac, key, k);
}

int
client_seal_knock(EVP_PKEY *pub, const struct wire_knock *k,
    uint8_t dgram[SL_DGRAM_LEN])
{
	uint8_t pt[SL_PACKET_LEN];
	int rc;

	if ((rc = wire_encode(pt, sizeof(pt), k)) == 0)
		rc = crypto_enc_knock(pub, pt, dgram);
	OPENSSL_cleanse(pt, sizeof(pt));
	return rc;
}

/* HOST and PORT as UDP addresses, any family (numeric_only: a literal). */
static int
client_resolve(const char *host, uint16_t port, bool numeric_only,
    struct addrinfo **res, char *err, size_t errlen)
{
	struct addrinfo hints;
	char portstr[8];
	int gai;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV | (numeric_only ? AI_NUMERICHOST : 0);
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
	if ((gai = getaddrinfo(host, portstr, &hints, res)) != 0) {
		sl_seterr(err, errlen, "cannot resolve %s: %s", host,
		    gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		return SL_ENOENT;
	}
	return 0;
}

/* The address ai reached, as text, into addr (host itself if it cannot be
 * written as one); nothing when addr is NULL. */
static void
client_peer_text(const struct addrinfo *ai, const char *host, char *addr,
    size_t addrlen)
{
	char text[NI_MAXHOST];

	if (addr == NULL)
		return;
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, text, sizeof(text), NULL,
	    0, NI_NUMERICHOST) == 0)
		sl_strlcpy(addr, text, addrlen);
	else
		sl_strlcpy(addr, host, addrlen);
}

int
client_send(const char *host, uint16_t port, bool numeric_only,
    const void *buf, size_t len, char *addr, size_t addrlen, char *err,
    size_t errlen)
{
	struct addrinfo *res = NULL, *ai;
	int fd, gai, saved = 0;

	if ((gai = client_resolve(host, port, numeric_only, &res, err,
	    errlen)) != 0)
		return gai;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (sendto(fd, buf, len, 0, ai->ai_addr, ai->ai_addrlen) ==
		    (ssize_t)len) {
			close(fd);
			client_peer_text(ai, host, addr, addrlen);
			freeaddrinfo(res);
			return 0;
		}
		saved = errno;
		close(fd);
	}
	freeaddrinfo(res);
	sl_seterr(err, errlen, "cannot send to %s port %u: %s", host,
	    (unsigned)port, strerror(saved != 0 ? saved : EADDRNOTAVAIL));
	return SL_ESYS;
}

int
client_connect(const char *host, uint16_t port, bool numeric_only, int *fd,
    struct sl_addr *server, struct sl_addr *local, char *addr,
    size_t addrlen, char *err, size_t errlen)
{
	struct addrinfo *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct sl_addr srv, loc;
	int s, gai, saved = 0;

	*fd = -1;
	if ((gai = client_resolve(host, port, numeric_only, &res, err,
	    errlen)) != 0)
		return gai;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (s < 0) {
			saved = errno;
			continue;
		}
		sslen = sizeof(ss);
		if (connect(s, ai->ai_addr, ai->ai_addrlen) != 0 ||
		    getsockname(s, (struct sockaddr *)&ss, &sslen) != 0) {
			saved = errno;
			close(s);
			continue;
		}
		if (addr_from_sockaddr(&srv, ai->ai_addr, ai->ai_addrlen) != 0 ||
		    addr_from_sockaddr(&loc, (struct sockaddr *)&ss,
		    sslen) != 0) {
			saved = EAFNOSUPPORT;
			close(s);
			continue;
		}
		if (server != NULL)
			*server = srv;
		if (local != NULL)
			*local = loc;
		client_peer_text(ai, host, addr, addrlen);
		freeaddrinfo(res);
		*fd = s;
		return 0;
	}
	freeaddrinfo(res);
	sl_seterr(err, errlen, "cannot reach %s port %u: %s", host,
	    (unsigned)port, strerror(saved != 0 ? saved : EADDRNOTAVAIL));
	return SL_ESYS;
}

int
client_parse_formats(const char *s, uint32_t *mask)
{
	char buf[FORMATS_LIST_MAX], *p, *item, *comma;
	uint32_t m = 0;
	long long v;

	if (sl_strlcpy(buf, s, sizeof(buf)) != 0)
		return SL_EINVAL;
	for (p = buf;; p = comma + 1) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma = '\0';
		item = sl_trim(p);
		if (sl_parse_num(item, 1, CLIENT_FMT_NUM_MAX, &v) != 0 ||
		    (m & CLIENT_FMT(v)) != 0)
			return SL_EINVAL;
		m |= CLIENT_FMT(v);
		if (comma == NULL)
			break;
	}
	*mask = m;
	return 0;
}

int
client_read_formats(const char *path, uint32_t *mask, char *err,
    size_t errlen)
{
	char buf[CLIENT_FORMATS_MAX], line[FORMATS_LIST_MAX], *s;
	const char *p, *end, *nl;
	struct stat st;
	unsigned lineno = 0, found = 0;
	uint32_t m = 0;
	size_t len = 0, n;
	int rc;

	if (stat(path, &st) != 0 && errno == ENOENT) {
		sl_seterr(err, errlen, "%s: no such file", path);
		return SL_ENOENT;
	}
	if ((rc = client_read_file(path, (uint8_t *)buf, sizeof(buf), &len,
	    err, errlen)) != 0)
		return rc;
	for (p = buf, end = buf + len; p < end; p += n + (nl != NULL)) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		if (n >= sizeof(line) || memchr(p, '\0', n) != NULL) {
			sl_seterr(err, errlen, "%s:%u: not a list of formats",
			    path, lineno);
			return SL_ECONFIG;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[n - 1] = '\0';
		s = sl_trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if (found++ > 0 || client_parse_formats(s, &m) != 0) {
			sl_seterr(err, errlen, "%s:%u: expected one list of "
			    "formats such as 1,2", path, lineno);
			return SL_ECONFIG;
		}
	}
	if (found == 0) {
		sl_seterr(err, errlen, "%s: lists no format", path);
		return SL_ECONFIG;
	}
	*mask = m;
	return 0;
}


/* a's first bits bits equal those of prefix */
static bool
client_prefix(const struct sl_addr *a, const uint8_t *prefix, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	uint8_t mask;

	if (memcmp(a->bytes, prefix, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return ((a->bytes[full] ^ prefix[full]) & mask) == 0;
}

enum client_scope
client_addr_scope(const struct sl_addr *a)
{
	static const struct {
		uint8_t family, bits;
		uint8_t prefix[16];
		enum client_scope scope;
	} t[] = {
		{ AF_INET, 8, { 127 }, CLIENT_SCOPE_LOOPBACK },
		{ AF_INET, 8, { 10 }, CLIENT_SCOPE_PRIVATE },
		{ AF_INET, 12, { 172, 16 }, CLIENT_SCOPE_PRIVATE },
		{ AF_INET, 16, { 192, 168 }, CLIENT_SCOPE_PRIVATE },
		{ AF_INET, 10, { 100, 64 }, CLIENT_SCOPE_SHARED },
		{ AF_INET, 16, { 169, 254 }, CLIENT_SCOPE_LINKLOCAL },
		{ AF_INET, 8, { 0 }, CLIENT_SCOPE_OTHER },
		{ AF_INET, 4, { 224 }, CLIENT_SCOPE_OTHER },   /* multicast */
		{ AF_INET, 4, { 240 }, CLIENT_SCOPE_OTHER },   /* reserved */
		{ AF_INET6, 128, { [15] = 1 }, CLIENT_SCOPE_LOOPBACK },
		{ AF_INET6, 128, { 0 }, CLIENT_SCOPE_OTHER },  /* :: */
		{ AF_INET6, 7, { 0xfc }, CLIENT_SCOPE_PRIVATE },
		{ AF_INET6, 10, { 0xfe, 0xc0 }, CLIENT_SCOPE_PRIVATE },
		{ AF_INET6, 10, { 0xfe, 0x80 }, CLIENT_SCOPE_LINKLOCAL },
		{ AF_INET6, 8, { 0xff }, CLIENT_SCOPE_OTHER },
		{ AF_INET6, 96, { 0, 0x64, 0xff, 0x9b }, CLIENT_SCOPE_NAT64 },
		{ AF_INET6, 48, { 0, 0x64, 0xff, 0x9b, 0, 1 },
		  CLIENT_SCOPE_NAT64 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (a->family == t[i].family &&
		    client_prefix(a, t[i].prefix, t[i].bits))
			return t[i].scope;
	if (a->family != AF_INET && a->family != AF_INET6)
		return CLIENT_SCOPE_OTHER;
	return CLIENT_SCOPE_PUBLIC;
}

const char *
client_scope_name(enum client_scope s)
{
	switch (s) {
	case CLIENT_SCOPE_PUBLIC:    return "public";
	case CLIENT_SCOPE_LOOPBACK:  return "loopback";
	case CLIENT_SCOPE_PRIVATE:   return "private";
	case CLIENT_SCOPE_SHARED:    return "shared (carrier-grade NAT)";
	case CLIENT_SCOPE_LINKLOCAL: return "link-local";
	case CLIENT_SCOPE_NAT64:     return "NAT64";
	case CLIENT_SCOPE_OTHER:     return "special-purpose";
	}
	return "?";
}

bool
client_name_local(const struct sl_addr *server, const struct sl_addr *local)
{
	enum client_scope ss = client_addr_scope(server);

	if (server->family != local->family)
		return false;
	switch (ss) {
	case CLIENT_SCOPE_LOOPBACK:
	case CLIENT_SCOPE_PRIVATE:
	case CLIENT_SCOPE_SHARED:
	case CLIENT_SCOPE_LINKLOCAL:
		return true;
	case CLIENT_SCOPE_PUBLIC:
		return client_addr_scope(local) == CLIENT_SCOPE_PUBLIC;
	case CLIENT_SCOPE_NAT64:
	case CLIENT_SCOPE_OTHER:
		break;
	}
	return false;
}

int
client_receipt_outcome(const struct k2_receipt *r, char *msg, size_t msglen)
{
	static const char *const reasons[] = {
		[K2_R_NONE] = "no reason given",
		[K2_R_DENIED] = "not permitted",
		[K2_R_PAYLOAD] = "payload refused",
	};

	switch (r->status) {
	case K2_ST_DONE:
		if (r->value > 0)
			sl_seterr(msg, msglen, "done: access granted for %lu s",
			    (unsigned long)r->value);
		else
			sl_seterr(msg, msglen, "done: the action ran");
		return CLIENT_EXIT_OK;
	case K2_ST_FAILED:
		if (r->value <= 255)
			sl_seterr(msg, msglen, "the action failed (exit status "
			    "%lu)", (unsigned long)r->value);
		else if (r->value == K2_VAL_NOT_STARTED)
			sl_seterr(msg, msglen, "the action failed (the server "
			    "could not start it)");
		else if (r->value <= 256 + 127)
			sl_seterr(msg, msglen, "the action failed (killed by "
			    "signal %lu)", (unsigned long)(r->value - 256));
		else
			sl_seterr(msg, msglen, "the action failed (status value "
			    "%lu)", (unsigned long)r->value);
		return CLIENT_EXIT_FAILED;
	case K2_ST_REFUSED:
		sl_seterr(msg, msglen, "refused by the server: %s",
		    r->reason < sizeof(reasons) / sizeof(reasons[0]) ?
		    reasons[r->reason] : "unknown reason");
		return CLIENT_EXIT_REFUSED;
	case K2_ST_BUSY:
		sl_seterr(msg, msglen, "server busy, try again");
		return CLIENT_EXIT_BUSY;
	}
	/* k2_receipt_open accepts no other status */
	sl_seterr(msg, msglen, "unknown receipt status %u", (unsigned)r->status);
	return CLIENT_EXIT_ERROR;
}

int
client_parse_port(const char *s, uint16_t *port)
{
	long long v;
	int rc;

	if ((rc = sl_parse_num(s, 1, 65535, &v)) != 0)
		return rc;
	*port = (uint16_t)v;
	return 0;
}

int
client_read_fd(int fd, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t extra;
	size_t n = 0;
	ssize_t r;

	for (;;) {
		if (n < cap)
			r = read(fd, buf + n, cap - n);
		else
			r = read(fd, &extra, 1); /* one more byte: is there more? */
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return SL_ESYS;
		if (r == 0)
			break;
		if (n == cap)
			return SL_ETOOBIG;
		n += (size_t)r;
	}
	*len = n;
	return 0;
}

int
client_read_file(const char *path, uint8_t *buf, size_t cap, size_t *len,
    char *err, size_t errlen)
{
	char *text;
	size_t n;
	int rc;

	if ((rc = client_slurp(path, cap, &text, &n, err, errlen)) != 0)
		return rc;
	memcpy(buf, text, n);
	*len = n;
	/* it may be a key */
	sl_read_free_secret(text, n);
	return 0;
}

int
client_create_file(const char *path, mode_t mode, const void *data,
    size_t len, char *err, size_t errlen)
{
	int fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode & 0777);
	if (fd < 0) {
		if (errno == EEXIST)
			sl_seterr(err, errlen, "%s: already exists; refusing to "
			    "overwrite it", path);
		else
			sl_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return SL_ESYS;
	}
	/* the umask may have narrowed the mode: set it exactly */
	if (fchmod(fd, mode & 0777) != 0 || sl_write_all(fd, data, len) != 0 ||
	    fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(path);
	sl_seterr(err, errlen, "%s: %s", path, strerror(e));
	return SL_ESYS;
}

/* client_save_file's open: a new file, or an existing regular file (never
 * through a symlink, never a FIFO or device).  *created: it is new. */
static int
cs_open(const char *path, mode_t mode, int *fdp, bool *created, char *err,
    size_t errlen)
{
	struct stat st;
	int fd;

	*created = true;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode & 0777);
	if (fd < 0 && errno == EEXIST) {
		/* checked again on the descriptor below; O_NONBLOCK: never
		 * wait for a FIFO's reader */
		*created = false;
		if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
		    !S_ISLNK(st.st_mode)) {
			sl_seterr(err, errlen, "%s: not a regular file; "
			    "refusing to write to it", path);
			return SL_EINVAL;
		}
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
		    O_CLOEXEC);
	}
	if (fd < 0) {
		if (errno == ELOOP)
			sl_seterr(err, errlen, "%s: is a symlink; refusing to "
			    "write through it", path);
		else
			sl_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return SL_ESYS;
	}
	*fdp = fd;
	return 0;
}

int
client_save_file(const char *path, mode_t mode, const void *data,
    size_t len, char *err, size_t errlen)
{
	struct stat st;
	bool created;
	int fd, e, rc;

	if ((rc = cs_open(path, mode, &fd, &created, err, errlen)) != 0)
		return rc;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		sl_seterr(err, errlen, "%s: not a regular file; refusing to "
		    "write to it", path);
		return SL_EINVAL;
	}
	if ((created && fchmod(fd, mode & 0777) != 0) ||
	    (!created && ftruncate(fd, 0) != 0) ||
	    sl_write_all(fd, data, len) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	if (created)
		unlink(path);
	sl_seterr(err, errlen, "%s: %s", path, strerror(e));
	return SL_ESYS;
}

int
client_check_dir(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		sl_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return SL_ESYS;
	}
	if (!S_ISDIR(st.st_mode)) {
		sl_seterr(err, errlen, "%s: not a directory", path);
		return SL_EINVAL;
	}
	if (st.st_mode & S_IWOTH) {
		sl_seterr(err, errlen, "%s: directory is writable by others; "
		    "refusing to write keys there", path);
		return SL_EPERM;
	}
	return 0;
}

int
client_hex(char *out, size_t outlen, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (outlen == 0 || n > (outlen - 1) / 2)
		return SL_ETOOBIG;
	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
	return 0;
}

int
client_parse_target(const char *s, char *host, size_t hostlen,
    uint16_t *port)
{
	const char *colon, *end;
	size_t n;

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return SL_EINVAL;
		colon = end + 1;
		s++;
		n = (size_t)(end - s);
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			return SL_EINVAL;  /* a bare IPv6 needs brackets */
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= hostlen || n > CLIENT_HOST_MAX)
		return SL_EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	if (!client_valid_host(host))
		return SL_EINVAL;
	return client_parse_port(colon + 1, port);
}

/* Wait for a non-blocking connect on fd until deadline (mono ms).  0, or
 * SL_ESYS with errno (ETIMEDOUT, or why the connection failed). */
static int
tcp_wait(int fd, uint64_t deadline)
{
	struct pollfd p;
	uint64_t now;
	socklen_t len;
	int rc, e;

	for (;;) {
		now = sl_mono_ms();
		if (now >= deadline) {
			errno = ETIMEDOUT;
			return SL_ESYS;
		}
		p.fd = fd;
		p.events = POLLOUT;
		p.revents = 0;
		rc = poll(&p, 1, (int)(deadline - now));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return SL_ESYS;
		if (rc == 0)
			continue;
		len = sizeof(e);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
			return SL_ESYS;
		if (e != 0) {
			errno = e;
			return SL_ESYS;
		}
		return 0;
	}
}

int
client_tcp_connect(const char *host, uint16_t port, unsigned timeout_ms,
    int *fd, char *addr, size_t addrlen, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char serv[8];
	uint64_t deadline = sl_mono_ms() + timeout_ms;
	int s = -1, rc, e = ETIMEDOUT, fl;

	*fd = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(serv, sizeof(serv), "%u", (unsigned)port);
	if ((rc = getaddrinfo(host, serv, &hints, &res)) != 0) {
		sl_seterr(err, errlen, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
		errno = EHOSTUNREACH;
		return SL_ESYS;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (s < 0) {
			e = errno;
			continue;
		}
		if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && tcp_wait(s, deadline) == 0))
			break;
		e = errno;
		close(s);
		s = -1;
	}
	if (s < 0) {
		sl_seterr(err, errlen, "%s port %u: %s", host, (unsigned)port,
		    strerror(e));
		freeaddrinfo(res);
		errno = e;
		return SL_ESYS;
	}
	client_peer_text(ai, host, addr, addrlen);
	freeaddrinfo(res);
	if ((fl = fcntl(s, F_GETFL)) < 0 ||
	    fcntl(s, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		sl_seterr(err, errlen, "fcntl: %s", strerror(errno));
		close(s);
		return SL_ESYS;
	}
	*fd = s;
	return 0;
}

/* One read of in, sent on sock; end of input shuts down sock's sending
 * side (*up false: the far end may still answer).  0, or SL_ESYS with
 * err; *done when the far end has closed and a send failed. */
static int
cr_send(int in, int sock, bool down, uint8_t *buf, size_t cap, bool *up,
    bool *done, char *err, size_t errlen)
{
	ssize_t r;

	r = read(in, buf, cap);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (r <= 0) {
		*up = false;
		if (shutdown(sock, SHUT_WR) != 0 && errno != ENOTCONN) {
			sl_seterr(err, errlen, "shutdown: %s", strerror(errno));
			return SL_ESYS;
		}
		return 0;
	}
	if (sl_write_all(sock, buf, (size_t)r) == 0)
		return 0;
	if (!down) {
		/* the far end has closed: done */
		*done = true;
		return 0;
	}
	sl_seterr(err, errlen, "sending: %s", strerror(errno));
	return SL_ESYS;
}

/* One read of sock, written to out; end of file closes out (*down false:
 * the far end is done sending).  0, or SL_ESYS with err; *done when
 * nobody reads out. */
static int
cr_recv(int sock, int out, uint8_t *buf, size_t cap, bool *down,
    bool *done, char *err, size_t errlen)
{
	ssize_t r;

	r = read(sock, buf, cap);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (r < 0) {
		sl_seterr(err, errlen, "receiving: %s", strerror(errno));
		return SL_ESYS;
	}
	if (r == 0) {
		*down = false;
		close(out);
	} else if (sl_write_all(out, buf, (size_t)r) != 0)
		*done = true;
	return 0;
}

int
client_relay(int in, int out, int sock, char *err, size_t errlen)
{
	uint8_t buf[16384];
	struct pollfd p[2];
	bool up = true, down = true, done = false;
	nfds_t n;
	int rc = 0;

	while (rc == 0 && !done && (up || down)) {
		n = 0;
		if (up) {
			p[n].fd = in;
			p[n].events = POLLIN;
			p[n++].revents = 0;
		}
		if (down) {
			p[n].fd = sock;
			p[n].events = POLLIN;
			p[n++].revents = 0;
		}
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			sl_seterr(err, errlen, "poll: %s", strerror(errno));
			rc = SL_ESYS;
			break;
		}
		if (up && p[0].revents != 0)
			rc = cr_send(in, sock, down, buf, sizeof(buf), &up, &done,
			    err, errlen);
		if (rc == 0 && !done && down && p[n - 1].revents != 0)
			rc = cr_recv(sock, out, buf, sizeof(buf), &down, &done,
			    err, errlen);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}
