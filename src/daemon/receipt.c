/*
 * receipt.c - format-2 receipts in the network process (receipt.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "addr.h"
#include "log.h"
#include "receipt.h"

struct parked {
	uint32_t ticket;        /* 0: free */
	uint64_t deadline_ms;
	struct receipt_dest d;
};

struct receipts {
	struct parked *p;
	unsigned cap;
	uint32_t next;
	uint32_t wait_ms;
	EVP_CIPHER_CTX *aead;
	struct receipt_stats st;
};

int
receipts_new(struct receipts **out, unsigned cap, uint32_t wait_ms)
{
	struct receipts *rs;

	*out = NULL;
	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		return SL_ESYS;
	if ((rs->p = calloc(cap > 0 ? cap : 1, sizeof(*rs->p))) == NULL ||
	    (rs->aead = k2_aead_new()) == NULL) {
		receipts_free(rs);
		return SL_ESYS;
	}
	rs->cap = cap > 0 ? cap : 1;
	rs->wait_ms = wait_ms;
	rs->next = 1;
	*out = rs;
	return 0;
}

void
receipts_free(struct receipts *rs)
{
	if (rs == NULL)
		return;
	if (rs->p != NULL)
		OPENSSL_cleanse(rs->p, rs->cap * sizeof(*rs->p));
	free(rs->p);
	k2_aead_free(rs->aead);
	free(rs);
}

static void
receipts_log(const struct receipt_dest *d, const struct k2_receipt *r)
{
	static const char *const what[] = { "done", "action failed",
	    "refused", "busy" };
	static const char *const why[] = { "", ": not permitted",
	    ": payload refused" };
	const struct sockaddr *sa = (const struct sockaddr *)&d->peer;
	struct sl_addr a;
	char ip[SL_IPSTR_MAX];
	unsigned port = 0;

	if (!log_enabled(LOG_INFO))
		return;
	if (addr_from_sockaddr(&a, sa, d->peerlen) != 0)
		memset(&a, 0, sizeof(a));
	addr_to_str(&a, ip, sizeof(ip));
	if (sa->sa_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	else if (sa->sa_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	if (r->status == K2_ST_DONE || r->status == K2_ST_FAILED)
		log_limited(0, LOG_INFO, SLC_RECEIPT, "receipt to %s port %u: "
		    "%s, %u", ip, port, what[r->status], (unsigned)r->value);
	else
		log_limited(0, LOG_INFO, SLC_RECEIPT, "receipt to %s port %u: "
		    "%s%s", ip, port, what[r->status],
		    r->reason <= K2_R_MAX ? why[r->reason] : "");
}

int
receipts_send(struct receipts *rs, struct receipt_dest *d,
    const struct k2_receipt *r)
{
	uint8_t buf[K2_RECEIPT_LEN];
	int rc;

	rc = k2_receipt_seal(rs->aead, d->key, d->mac, r, buf);
	OPENSSL_cleanse(d->key, sizeof(d->key));
	if (rc != 0) {
		rs->st.send_failed++;
		return rc;
	}
	if (net_send_from(d->fd, buf, sizeof(buf),
	    (const struct sockaddr *)&d->peer, d->peerlen, &d->local) != 0) {
		rs->st.send_failed++;
		log_limited(0, LOG_WARNING, SLC_SYSERR, "receipt not sent: %s",
		    strerror(errno));
		return SL_ESYS;
	}
	rs->st.sent++;
	receipts_log(d, r);
	return 0;
}

uint32_t
receipts_park(struct receipts *rs, struct receipt_dest *d, uint64_t now_ms)
{
	unsigned i;

	for (i = 0; i < rs->cap; i++)
		if (rs->p[i].ticket == 0)
			break;
	if (i == rs->cap) {
		receipts_expire(rs, now_ms);
		for (i = 0; i < rs->cap; i++)
			if (rs->p[i].ticket == 0)
				break;
	}
	if (i == rs->cap) {
		rs->st.full++;
		OPENSSL_cleanse(d->key, sizeof(d->key));
		return 0;
	}
	rs->p[i].d = *d;
	OPENSSL_cleanse(d->key, sizeof(d->key));
	rs->p[i].deadline_ms = now_ms + rs->wait_ms;
	rs->p[i].ticket = rs->next++;
	if (rs->next == 0)
		rs->next = 1;
	return rs->p[i].ticket;
}

static struct parked *
receipts_find(struct receipts *rs, uint32_t ticket)
{
	unsigned i;

	for (i = 0; ticket != 0 && i < rs->cap; i++)
		if (rs->p[i].ticket == ticket)
			return &rs->p[i];
	return NULL;
}

static void
receipts_answer(struct receipts *rs, struct parked *p,
    const struct k2_receipt *r)
{
	(void)receipts_send(rs, &p->d, r);
	OPENSSL_cleanse(p, sizeof(*p));  /* ticket 0: free */
}

void
receipts_result(struct receipts *rs, const struct sl_result *res, time_t now)
{
	struct parked *p = receipts_find(rs, res->ticket);
	struct k2_receipt r;

	if (p == NULL || res->status > K2_ST_MAX || res->reason > K2_R_MAX)
		return;  /* expired meanwhile, or nonsense: no receipt */
	r.status = res->status;
	r.reason = res->reason;
	r.value = res->value;
	r.server_time = (uint64_t)now;
	receipts_answer(rs, p, &r);
}

void
receipts_cancel(struct receipts *rs, uint32_t ticket, uint8_t status,
    time_t now)
{
	struct parked *p = receipts_find(rs, ticket);
	struct k2_receipt r = { status, K2_R_NONE, 0, (uint64_t)now };

	if (p != NULL)
		receipts_answer(rs, p, &r);
}

void
receipts_expire(struct receipts *rs, uint64_t now_ms)
{
	unsigned i;

	for (i = 0; i < rs->cap; i++)
		if (rs->p[i].ticket != 0 && rs->p[i].deadline_ms <= now_ms) {
			rs->st.expired++;
			OPENSSL_cleanse(&rs->p[i], sizeof(rs->p[i]));
		}
}

const struct receipt_stats *
receipts_get_stats(const struct receipts *rs)
{
	return &rs->st;
}
