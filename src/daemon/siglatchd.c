/*
 * siglatchd - single-packet authorization daemon.
 *
 * As root: config -> keys -> state_dir -> logs -> replay state -> grants
 * -> sockets; then two processes (runproc.h): the privileged parent runs
 * the actions, the network child (chrooted, unprivileged, confined) runs
 * the loop below.  Each datagram goes through pipeline_process(); an
 * authorized request goes to the parent, the only part that starts
 * programs.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config.h"
#include "fleet.h"
#include "grants.h"
#include "log.h"
#include "net.h"
#include "pipeline.h"
#include "replay.h"
#include "privsep.h"
#include "ratelimit.h"
#include "receipt.h"
#include "reload.h"
#include "runproc.h"
#include "sdnotify.h"
#include "sl.h"
#include "sockfilter.h"
#include "stages.h"
#include "util.h"
#include "stats.h"
#include "gate2.h"
#include "tags.h"
#include "workers.h"

#define DEFAULT_CONFIG  "/etc/siglatch/server.conf"
#define MAX_SOCKS       (2 * SL_MAX_SERVERS) /* a socket per format */
#define RECV_BATCHES    4    /* recvmmsg batches per socket per wake-up */
#define WORKER_QUEUE    512  /* datagrams waiting for a decryption thread */

struct daemon {
	struct config *cfg;
	struct replay *replay;
	struct pipeline *pipe;
	struct runproc *rp;
	struct grants *grants;      /* handed to the runner at fork */
	struct sockfilter *sf;      /* in-kernel pre-filter, NULL: none */
	bool ktags;                 /* its tag map follows the tag table */
	const char *ktags_why;      /* why not, for the log */
	struct sockfilter_counts kseen; /* as of the last summary */
	time_t ksummary;            /* when it was logged */
	struct net_sock socks[MAX_SOCKS];
	unsigned nsocks;
	int sigfd;
	int sinks[SL_MAX_SERVERS];
	struct net_batch *batch;
	struct workers *w;          /* NULL: decrypt on the main thread */
	struct receipts *rcpt;      /* format-2 receipts */
	uint64_t handoff_busy;      /* runner not keeping up: refused */
	char stats_path[SL_PATH_MAX + 32];  /* relative to stats_dirfd */
	int stats_dirfd;            /* state_dir/net, or stats_file's dir */
	char metrics_name[SL_PATH_MAX];     /* relative to metrics_dirfd */
	int metrics_dirfd;          /* -1: no metrics_file */
	int lockfd;                 /* state_dir/siglatchd.lock, flock'ed */
	char netdir[SL_PATH_MAX + 8];  /* state_dir/net */
	/* what start-up learned, logged once the log is set up */
	enum replay_load how;
	char rerr[1024];            /* why the replay state is unusable */
	int kfilter;                /* 0: in place; SL_ENOTSUP: not
	                             * available (kerr); SL_ENOENT: off */
	char kerr[1024];            /* why the kernel filter is not there */
	char sockwarn[1200];        /* formats share one queue */
	unsigned nworkers;
};

/* The command line. */
struct opts {
	const char *path;
	int fg, debug, test, list;
};

static void kernel_tag_sync(void *arg, const uint8_t *tag, bool add);

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: siglatchd [-c FILE] [-f] [-d] [-t | -g]\n"
	    "  -c, --config FILE  configuration (default " DEFAULT_CONFIG ")\n"
	    "  -f, --foreground   stay in the foreground, log to stderr\n"
	    "  -d, --debug        also log debug lines\n"
	    "  -t, --test         check the configuration and keys, then exit\n"
	    "  -g, --grants       list the timed grants in state_dir, then exit\n"
	    "  -V, --version      print the version\n"
	    "  -h, --help         this text\n");
}

/* Every counter of the network process, as name=value lines. */
static void
collect_stats(const struct daemon *d, struct stats_buf *b)
{
	const struct pipeline_stats *p = pipeline_get_stats(d->pipe);
	const struct rl_stats *r = filter_rl_stats(pipeline_filter(d->pipe));

	stats_begin(b);
	stats_add(b, "received", p->received);
	stats_add(b, "bad_length", p->bad_length);
	stats_add(b, "rate_source", p->rate_source);
	stats_add(b, "rate_prefix", p->rate_prefix);
	stats_add(b, "rate_global", p->rate_global);
	stats_add(b, "duplicate", p->duplicate);
	stats_add(b, "rejected", p->rejected);
	pipeline_add_stats(d->pipe, b, false);  /* rejected_* by reason */
	stats_add(b, "stale", p->stale);
	stats_add(b, "replayed", p->replayed);
	stats_add(b, "denied", p->denied);
	stats_add(b, "not_ascii", p->not_ascii);
	stats_add(b, "cache_full", p->cache_full);
	stats_add(b, "state_error", p->state_error);
	stats_add(b, "accepted", p->accepted);
	stats_add(b, "k2_accepted", p->k2_accepted);
	stats_add(b, "k2_unknown_tag", p->k2_unknown_tag);
	stats_add(b, "k2_bad_mac", p->k2_bad_mac);
	stats_add(b, "k2_copy", p->k2_copy);
	stats_add(b, "k2_elsewhere", p->k2_elsewhere);
	stats_add(b, "k2_user_budget", p->k2_user_budget);
	stats_add(b, "k2_unopened", p->k2_unopened);
	stats_add(b, "k2_wrong_address", p->k2_wrong_address);
	stats_add(b, "k2_no_address", p->k2_no_address);
	stats_add(b, "k2_tags", tags_count(pipeline_tags(d->pipe)));
	if (d->rcpt != NULL) {
		const struct receipt_stats *rs = receipts_get_stats(d->rcpt);

		stats_add(b, "receipts_sent", rs->sent);
		stats_add(b, "receipts_failed", rs->send_failed);
		stats_add(b, "receipts_expired", rs->expired);
		stats_add(b, "receipts_full", rs->full);
	}
	stats_add(b, "handoff_busy", d->handoff_busy);
	stats_add(b, "replay_entries", replay_count(d->replay));
	stats_add(b, "penalties", r->penalties);
	stats_add(b, "ratelimit_evictions", r->evictions);
	stats_add(b, "ratelimit_trickle", r->trickle);
	if (d->sf != NULL) {
		struct sockfilter_counts k;

		if (sockfilter_counters(d->sf, &k) == 0) {
			stats_add(b, "kernel_bad_length", k.dropped_length);
			stats_add(b, "kernel_rate_source", k.dropped_blocked);
			stats_add(b, "kernel_passed", k.passed);
			stats_add(b, "kernel_k2_unknown_tag", k.dropped_tag);
			stats_add(b, "kernel_k2_passed", k.passed_k2);
		}
	}
	pipeline_add_stats(d->pipe, b, true);  /* per server: metrics only */
}

#define KSUMMARY_SECS 10

/* What the kernel filter dropped since the last summary, if anything:
 * these datagrams never reach the process, so this line is their log. */
static void
kernel_summary(struct daemon *d, time_t now)
{
	struct sockfilter_counts k;
	uint64_t len, blk, tag;

	if (d->sf == NULL || now - d->ksummary < KSUMMARY_SECS ||
	    sockfilter_counters(d->sf, &k) != 0)
		return;
	len = k.dropped_length - d->kseen.dropped_length;
	blk = k.dropped_blocked - d->kseen.dropped_blocked;
	tag = k.dropped_tag - d->kseen.dropped_tag;
	if (len + blk + tag > 0)
		log_msg(LOG_NOTICE, SLC_SUPPRESSED, "kernel filter: dropped "
		    "%llu datagrams of the wrong length and %llu from "
		    "penalised sources, and %llu format-2 datagrams with no "
		    "user's tag, in the last %lld s",
		    (unsigned long long)len, (unsigned long long)blk,
		    (unsigned long long)tag, (long long)(now - d->ksummary));
	d->kseen = k;
	d->ksummary = now;
}

/* Log the network process's counters; ask_runner: the runner logs its own. */
static void
log_stats(struct daemon *d)
{
	struct stats_buf b;
	char *nl;

	collect_stats(d, &b);
	/* one line: "received=... bad_length=..." (skip the time= line) */
	for (nl = b.text; (nl = strchr(nl, '\n')) != NULL; )
		*nl = ' ';
	log_msg(LOG_INFO, SLC_STATS, "%s", strchr(b.text, ' ') + 1);
}

/* The privileged process asks for the counters (SIGUSR1 to it). */
static void
on_stats(void *arg)
{
	log_stats(arg);
}

static void
write_stats(struct daemon *d)
{
	struct stats_buf b;

	collect_stats(d, &b);
	if (stats_write(d->stats_dirfd, d->stats_path, &b) != 0)
		log_limited(0, LOG_WARNING, SLC_SYSERR, "stats file %s: %s",
		    d->stats_path, strerror(errno));
	if (d->metrics_dirfd >= 0 &&
	    stats_write_prom(d->metrics_dirfd, d->metrics_name, &b) != 0)
		log_limited(0, LOG_WARNING, SLC_SYSERR, "metrics_file %s: %s",
		    d->cfg->metrics_file, strerror(errno));
}

static int
hand_off(struct daemon *d, const struct sl_request *req)
{
	if (runproc_send(d->rp, req) != 0) {
		d->handoff_busy++;
		log_limited(0, LOG_WARNING, SLC_BUSY, "runner not keeping up: "
		    "request for action %u refused", req->action_id);
		return SL_EBUSY;
	}
	return 0;
}

/* The last step of a datagram: replay, authorize, hand the request to the
 * runner, and send or park the receipt the pipeline asks for. */
static void
finish_job(struct daemon *d, struct pipeline_job *j, uint64_t ms)
{
	struct pipeline_reply rep;
	struct receipt_dest dest;
	struct sl_request req;
	uint32_t ticket = 0;
	int rc;

	rc = pipeline_finish(d->pipe, j, ms, &req, &rep);
	if (rep.when != PR_NONE && d->rcpt != NULL) {
		dest.fd = j->fd;
		dest.peer = j->peer;
		dest.peerlen = (socklen_t)j->peerlen;
		dest.local = j->local;
		memcpy(dest.key, rep.key, sizeof(dest.key));
		memcpy(dest.mac, rep.mac, sizeof(dest.mac));
		if (rep.when == PR_NOW)
			(void)receipts_send(d->rcpt, &dest, &rep.r);
		else if (rc == 0)
			ticket = receipts_park(d->rcpt, &dest, ms);
		OPENSSL_cleanse(&dest, sizeof(dest));
	}
	OPENSSL_cleanse(&rep, sizeof(rep));
	if (rc != 0)
		return;
	req.ticket = ticket;
	if (hand_off(d, &req) != 0 && ticket != 0)
		receipts_cancel(d->rcpt, ticket, K2_ST_BUSY, j->now);
	OPENSSL_cleanse(&req, sizeof(req));
}

/* How many datagrams s may be read now: no more than the decryption
 * threads have jobs for, keeping WORKERS_RESERVE of them for format-2
 * knocks, which a socket of format-1 datagrams may not take. */
static int
sock_room(const struct daemon *d, const struct net_sock *s)
{
	unsigned room;

	if (d->w == NULL)
		return NET_BATCH;
	room = s->format == NET_FMT_2 ? workers_room(d->w) :
	    workers_room_v1(d->w);
	return room < NET_BATCH ? (int)room : NET_BATCH;
}

static void
serve_socket(struct daemon *d, const struct net_sock *s)
{
	struct pipeline_job *j, inline_job;
	struct pipeline_pre pre;
	struct sl_addr src;
	const uint8_t *dgram;
	uint64_t ms;
	size_t len;
	time_t now;
	int b, i, n, max;

	for (b = 0; b < RECV_BATCHES; b++) {
		/* with decryption threads, read no more than they have room
		 * for: the socket's own buffer is the queue, not a drop */
		max = sock_room(d, s);
		if ((n = net_recv_batch(s->fd, d->batch, max)) <= 0) {
			if (n < 0)
				log_limited(0, LOG_WARNING, SLC_SYSERR, "receive on "
				    "%s: %s", s->desc, strerror(errno));
			return;
		}
		now = time(NULL);
		ms = sl_mono_ms();
		for (i = 0; i < n; i++) {
			dgram = net_batch_get(d->batch, i, &len, &src);
			if (pipeline_admit(d->pipe, s->server_idx, dgram, len,
			    &src, now, ms, &pre) != 0)
				continue;
			/* never NULL: no more was read than the ring has room
			 * for (see max above) */
			j = d->w != NULL ? workers_job(d->w) : &inline_job;
			j->server_idx = s->server_idx;
			j->src = src;
			j->now = now;
			j->pre = pre;
			j->fd = s->fd;
			j->peer = d->batch->from[i];
			j->peerlen = d->batch->msg[i].msg_hdr.msg_namelen;
			net_batch_local(d->batch, i, &j->local);
			memcpy(j->dgram, dgram, len);
			if (d->w != NULL) {
				workers_submit(d->w, j);
				continue;
			}
			pipeline_crypto(d->pipe, NULL, j);
			finish_job(d, j, ms);
		}
		if (n < max)
			return;
	}
}

/* Finish what the workers decrypted. */
static void
serve_workers(struct daemon *d)
{
	struct pipeline_job *j;
	uint64_t ms = sl_mono_ms();

	while ((j = workers_done(d->w)) != NULL) {
		finish_job(d, j, ms);
		workers_release(d->w, j);
	}
}

/* The runner's news about a request with a ticket: its receipt. */
static void
on_result(void *arg, const struct sl_result *res)
{
	struct daemon *d = arg;

	if (d->rcpt != NULL)
		receipts_result(d->rcpt, res, time(NULL));
}

static void kernel_tag_del(void *arg, const uint8_t *tag, bool add);

/*
 * The privileged process read and checked a new configuration (SIGHUP):
 * take it.  Nothing in flight, the format-2 tables and every decryption
 * context made anew, the kernel's tag map moved over; the sockets, the
 * rate limits, the replay cache and the counters stay (reload.h).
 */
static int
on_reload(void *arg, int fd)
{
	struct daemon *d = arg;
	struct config *nc, *old = d->cfg;
	char err[1024];
	unsigned i, nusers;
	int r;

	if ((nc = calloc(1, sizeof(*nc))) == NULL)
		return SL_ESYS;
	if ((r = reload_unpack(fd, old->path, nc, err, sizeof(err))) != 0) {
		log_msg(LOG_ERR, SLC_CONFIG_WARN, "reload: %s", err);
		free(nc);
		return r;
	}
	while (d->w != NULL && workers_inflight(d->w) > 0) {
		struct pollfd wp = { .fd = workers_fd(d->w), .events = POLLIN };

		(void)poll(&wp, 1, 100);
		serve_workers(d);
	}
	if (d->ktags)
		tags_each(pipeline_tags(d->pipe), kernel_tag_del, d);
	if ((r = pipeline_reconfigure(d->pipe, nc)) == 0 && d->w != NULL &&
	    (r = workers_reconfigure(d->w)) != 0)
		(void)pipeline_reconfigure(d->pipe, old);  /* back, as it was */
	if (r != 0) {
		int saved = errno;  /* for sl_strerror(SL_ESYS) */

		pipeline_tick(d->pipe, time(NULL), NULL, NULL);
		if (d->ktags)
			tags_each(pipeline_tags(d->pipe), kernel_tag_sync, d);
		errno = saved;
		log_msg(LOG_ERR, SLC_CONFIG_WARN, "reload: %s; the running "
		    "configuration stays", sl_strerror(r));
		config_wipe_keys(nc);
		free(nc);
		return r;
	}
	d->cfg = nc;
	pipeline_tick(d->pipe, time(NULL), NULL, NULL);
	if (d->ktags)
		tags_each(pipeline_tags(d->pipe), kernel_tag_sync, d);
	for (i = 0, nusers = 0; i < nc->nusers; i++)
		nusers += nc->users[i].enabled;
	(void)replay_set_users(d->replay, nusers);
	config_wipe_keys(old);
	free(old);
	log_msg(LOG_INFO, SLC_START, "network process: new configuration in "
	    "use (%u enabled user(s))", nusers);
	return 0;
}

static int
handle_signals(struct daemon *d)
{
	struct signalfd_siginfo si;
	int stop = 0;

	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_msg(LOG_NOTICE, SLC_STOP, "signal %u: shutting down",
			    si.ssi_signo);
			stop = 1;
			break;
		case SIGHUP:
		case SIGUSR2:
			/* the privileged process reloads, reopens the logs and
			 * passes them on: this one could do neither */
			log_msg(LOG_NOTICE, SLC_START, "signal %u to the network "
			    "process ignored: send it to siglatchd's main "
			    "process, %ld", si.ssi_signo, (long)runproc_pid(d->rp));
			break;
		case SIGUSR1:
			log_stats(d);
			break;
		default:
			break;
		}
	}
	return stop;
}

/* What run() waits on: signals, the channel, each socket with room in
 * the queues, the workers; returns how many. */
static nfds_t
run_pollfds(struct daemon *d, struct pollfd *pfd)
{
	unsigned i;

	pfd[0].fd = d->sigfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = runproc_fd(d->rp);
	pfd[1].events = POLLIN;
	for (i = 0; i < d->nsocks; i++) {
		pfd[2 + i].fd = d->socks[i].fd;
		pfd[2 + i].events = sock_room(d, &d->socks[i]) > 0 ? POLLIN : 0;
	}
	pfd[2 + d->nsocks].fd = d->w != NULL ? workers_fd(d->w) : -1;
	pfd[2 + d->nsocks].events = POLLIN;
	return 3 + d->nsocks;
}

/* The sockets poll found ready: format-2 queues first, their knocks
 * have the least to lose. */
static void
serve_ready(struct daemon *d, const struct pollfd *pfd)
{
	unsigned i;

	for (i = 0; i < d->nsocks; i++)
		if (d->socks[i].format == NET_FMT_2 &&
		    (pfd[2 + i].revents & (POLLIN | POLLERR)))
			serve_socket(d, &d->socks[i]);
	for (i = 0; i < d->nsocks; i++)
		if (d->socks[i].format != NET_FMT_2 &&
		    (pfd[2 + i].revents & (POLLIN | POLLERR)))
			serve_socket(d, &d->socks[i]);
}

/* Once a second: the log's summaries, the replay cache, the tag table,
 * receipts, the kernel filter's summary. */
static void
run_tick(struct daemon *d, time_t now)
{
	log_tick(now);
	replay_expire(d->replay, now);
	pipeline_tick(d->pipe, now, kernel_tag_sync, d);
	if (d->rcpt != NULL)
		receipts_expire(d->rcpt, sl_mono_ms());
	kernel_summary(d, now);
}

/* The network process's event loop, until a stop; its exit status: 0 for
 * a stop it was asked for, 1 when poll or the channel failed. */
static int
run(struct daemon *d)
{
	const struct runproc_cbs cbs = { on_result, on_stats, on_reload, d };
	struct pollfd pfd[3 + MAX_SOCKS];
	time_t last_tick = 0, last_stats = 0, now;
	int n, r, stop = 0;

	while (!stop) {
		n = poll(pfd, run_pollfds(d, pfd), SL_TICK_MS);
		if (n < 0 && errno != EINTR) {
			log_msg(LOG_ERR, SLC_SYSERR, "poll: %s", strerror(errno));
			return 1;
		}
		if (n > 0 && (pfd[0].revents & POLLIN))
			stop = handle_signals(d);
		r = 0;
		if (n > 0 && (pfd[1].revents & POLLIN) &&
		    (r = runproc_read(d->rp, &cbs)) == SL_EPROTO)
			return 1;
		if (r != 0 || (n > 0 && (pfd[1].revents & ~POLLIN) != 0)) {
			log_msg(LOG_ERR, SLC_SYSERR, "the privileged process %ld "
			    "is gone: stopping", (long)runproc_pid(d->rp));
			return 1;
		}
		if (!stop && n > 0)
			serve_ready(d, pfd);
		if (d->w != NULL && n > 0 && (pfd[2 + d->nsocks].revents & POLLIN))
			serve_workers(d);
		now = time(NULL);
		if (now != last_tick) {
			last_tick = now;
			run_tick(d, now);
		}
		if (d->cfg->stats_interval > 0 &&
		    now - last_stats >= (time_t)d->cfg->stats_interval) {
			last_stats = now;
			write_stats(d);
		}
	}
	return 0;
}

/* In the privileged process: let go of everything the network side owns. */
static void
drop_network(void *arg)
{
	struct daemon *d = arg;
	unsigned i;

	for (i = 0; i < d->nsocks; i++)
		close(d->socks[i].fd);
	d->nsocks = 0;
	close(d->sigfd);
	d->sigfd = -1;
	if (d->stats_dirfd >= 0)
		close(d->stats_dirfd);
	d->stats_dirfd = AT_FDCWD;
	if (d->metrics_dirfd >= 0)
		close(d->metrics_dirfd);
	d->metrics_dirfd = -1;
	sockfilter_free(d->sf);
	d->sf = NULL;
	pipeline_free(d->pipe);
	d->pipe = NULL;
	receipts_free(d->rcpt);
	d->rcpt = NULL;
	replay_close(d->replay);
	d->replay = NULL;
	free(d->batch);
	d->batch = NULL;
	config_wipe_keys(d->cfg);  /* private keys and HMAC keys */
}

/* Room in the kernel's tag map: every enabled user's tags for every epoch
 * the window allows, and one epoch more (the next one goes in before the
 * oldest comes out), with room for 16 users more (a reload may add them);
 * 1 when no server takes format 2. */
static uint32_t
kernel_tag_entries(const struct config *cfg)
{
	uint64_t users = 0, n;
	unsigned i;
	bool k2 = false;

	for (i = 0; i < cfg->nservers; i++)
		k2 |= cfg->servers[i].enabled && cfg->servers[i].format2;
	for (i = 0; i < cfg->nusers; i++)
		users += cfg->users[i].enabled;
	if (!k2 || users == 0)
		return 1;
	n = (users + 16) * (2 * cfg->timestamp_window / K2_EPOCH_SECS + 3);
	return n > SOCKFILTER_TAGS_MAX ? SOCKFILTER_TAGS_MAX : (uint32_t)n;
}

/* tags_sync_fn, to take a table's tags out of the kernel's map. */
static void
kernel_tag_del(void *arg, const uint8_t *tag, bool add)
{
	(void)add;
	kernel_tag_sync(arg, tag, false);
}

/* tags_sync_fn: the kernel's copy of the tag table follows the daemon's.
 * (Two users with one tag, a 2^-64 event per pair and epoch, would lose
 * it from the map when the first of them leaves the window: their
 * datagrams would then be dropped in the kernel for the rest of it.) */
static void
kernel_tag_sync(void *arg, const uint8_t *tag, bool add)
{
	struct daemon *d = arg;
	int r;

	if (d->sf == NULL || !d->ktags)
		return;
	r = add ? sockfilter_tag_add(d->sf, tag) : sockfilter_tag_del(d->sf, tag);
	if (r != 0 && r != SL_ENOENT) {
		int saved = errno;  /* for sl_strerror(SL_ESYS) */

		(void)sockfilter_tags_enable(d->sf, false);
		d->ktags = false;
		errno = saved;
		log_msg(LOG_WARNING, SLC_SYSERR, "kernel filter: the tag map "
		    "cannot follow the users' tags (%s); format-2 datagrams "
		    "are now checked in user space only", sl_strerror(r));
	}
}

/* Fill the kernel's tag map from the table, then let it drop format-2
 * datagrams with an unknown tag. */
static void
kernel_tags_start(struct daemon *d)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	if (d->sf == NULL || kernel_tag_entries(d->cfg) <= 1)
		return;
	/*
	 * The map follows the epochs after the privilege drop, and Linux
	 * lets an unprivileged process update a map through a descriptor it
	 * holds only from 6.5 on.  Before that an update would fail, and so
	 * would switching the check off: the kernel would go on dropping
	 * knocks by a stale map.  So the check is not switched on at all.
	 */
	if (uname(&u) != 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2 ||
	    major < 6 || (major == 6 && minor < 5)) {
		d->ktags_why = "this kernel is older than 6.5, where an "
		    "unprivileged process may not update the tag map";
		return;
	}
	d->ktags = true;
	tags_each(pipeline_tags(d->pipe), kernel_tag_sync, d);
	if (d->ktags && sockfilter_tags_enable(d->sf, true) != 0) {
		d->ktags = false;
		log_msg(LOG_WARNING, SLC_SYSERR, "kernel filter: cannot switch "
		    "the tag check on; format-2 datagrams are checked in user "
		    "space only");
	}
}

/*
 * The in-kernel pre-filter (kernel_filter = yes): load it while still
 * root and attach it to every socket.  Returns 0 when it is in place,
 * SL_ENOTSUP when it is not available (err says why: the daemon filters in
 * user space as before), SL_ENOENT when kernel_filter = no.
 */
static int
start_kernel_filter(struct daemon *d, char *err, size_t errlen)
{
	unsigned i, j;

	if (!d->cfg->kernel_filter)
		return SL_ENOENT;
	if (sockfilter_new_k2(&d->sf, d->cfg->ratelimit_table_size,
	    kernel_tag_entries(d->cfg), err, errlen) != 0) {
		d->sf = NULL;
		return SL_ENOTSUP;
	}
	for (i = 0; i < d->nsocks; i++) {
		if (sockfilter_attach(d->sf, d->socks[i].fd) == 0)
			continue;
		snprintf(err, errlen, "attach to %s: %s", d->socks[i].desc,
		    strerror(errno));
		for (j = 0; j < i; j++)
			(void)setsockopt(d->socks[j].fd, SOL_SOCKET,
			    SO_DETACH_BPF, NULL, 0);
		sockfilter_free(d->sf);
		d->sf = NULL;
		return SL_ENOTSUP;
	}
	filter_set_sockfilter(pipeline_filter(d->pipe), d->sf);
	d->ksummary = time(NULL);
	return 0;
}

/* As root, before anything listens: the global log file and each
 * server's, never in a directory run_as may write. */
static int
open_logs(struct daemon *d, const struct privsep_ids *ids, char *err,
    size_t errlen)
{
	unsigned i;
	int r;

	if (d->cfg->log_file[0] != '\0') {
		if ((r = privsep_check_log_path("log_file", d->cfg->log_file,
		    ids, err, errlen)) != 0)
			return r;
		if ((r = log_set_file(d->cfg->log_file)) != 0) {
			snprintf(err, errlen, "log_file %s: %s%s", d->cfg->log_file,
			    sl_strerror(r), errno == ELOOP ? " (a symbolic link "
			    "is never followed)" : "");
			return r;
		}
	}
	for (i = 0; i < d->cfg->nservers; i++) {
		const struct cfg_server *s = &d->cfg->servers[i];

		if (!s->enabled || s->log_file[0] == '\0')
			continue;
		if ((r = privsep_check_log_path("log_file", s->log_file, ids,
		    err, errlen)) != 0)
			return r;
		if ((r = log_add_sink(s->log_file)) < 0) {
			snprintf(err, errlen, "server %s: log_file %s: %s%s",
			    s->name, s->log_file, sl_strerror(r), r == SL_ESYS &&
			    errno == ELOOP ? " (a symbolic link is never "
			    "followed)" : "");
			return r;
		}
		d->sinks[i] = r;
	}
	return 0;
}

/* The stats file: in state_dir/net unless stats_file names another place,
 * whose directory is opened now (the network process is chrooted later). */
static int
open_stats(struct daemon *d, char *err, size_t errlen)
{
	char dir[SL_PATH_MAX];
	const char *f = d->cfg->stats_file, *slash;

	if (f[0] == '\0') {
		sl_strlcpy(dir, d->netdir, sizeof(dir));
		sl_strlcpy(d->stats_path, "siglatchd.stats", sizeof(d->stats_path));
	} else if ((slash = strrchr(f, '/')) == NULL) {
		sl_strlcpy(dir, ".", sizeof(dir));
		sl_strlcpy(d->stats_path, f, sizeof(d->stats_path));
	} else {
		snprintf(dir, sizeof(dir), "%.*s", slash == f ? 1 :
		    (int)(slash - f), f);
		sl_strlcpy(d->stats_path, slash + 1, sizeof(d->stats_path));
	}
	d->stats_dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->stats_dirfd < 0) {
		snprintf(err, errlen, "stats file directory %s: %s", dir,
		    strerror(errno));
		return SL_ESYS;
	}
	return 0;
}

/*
 * The network process, still root: into state_dir/net, then run_as with
 * no capabilities.  (AddressSanitizer builds stay outside the chroot:
 * LeakSanitizer reads /proc at exit.)
 */
static int
confine_network(struct daemon *d, const struct privsep_ids *ids, char *err,
    size_t errlen)
{
	int r;

	/* the lock and systemd's socket stay with the main process */
	if (d->lockfd >= 0)
		close(d->lockfd);
	d->lockfd = -1;
	sd_notify_close();
	if (!ids->set)
		return 0;
	tzset();  /* /etc/localtime, before it is out of reach */
	if (!PRIVSEP_SANITIZER &&
	    (r = privsep_chroot(d->netdir, err, errlen)) != 0)
		return r;
	return privsep_drop(ids->uid, ids->gid, err, errlen);
}

static int
setup_signals(struct daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);   /* the privileged process's (runproc.c) */
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return SL_ESYS;
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return d->sigfd < 0 ? SL_ESYS : 0;
}

/* The command line into o: -1 to go on, or the exit status. */
static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "test", no_argument, NULL, 't' },
		{ "grants", no_argument, NULL, 'g' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->path = DEFAULT_CONFIG;
	while ((ch = getopt_long(argc, argv, "c:fdtgVh", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c': o->path = optarg; break;
		case 'f': o->fg = 1; break;
		case 'd': o->debug = 1; break;
		case 't': o->test = 1; break;
		case 'g': o->list = 1; break;
		case 'V': printf("siglatchd %s\n", SL_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (o->test && o->list)) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* -t: what each server takes, once everything has been checked. */
static void
print_check(const struct config *cfg)
{
	unsigned i;

	for (i = 0; i < cfg->nservers; i++) {
		const struct cfg_server *s = &cfg->servers[i];

		if (!s->enabled)
			continue;
		printf("server %s: port %u, knock formats %s%s%s, receipts %s\n",
		    s->name, (unsigned)s->port, s->format1 ? "1" : "",
		    s->format1 && s->format2 ? " and " : "",
		    s->format2 ? "2" : "", s->format2 && s->receipt ? "on" :
		    "off");
	}
	printf("configuration OK\n");
}

/* The configuration, its files' owners and modes, the users, the keys. */
static int
load_config(struct daemon *d, const char *path, struct privsep_ids *ids,
    char *err, size_t errlen)
{
	int r;

	if ((r = config_parse(d->cfg, path, err, errlen)) != 0)
		return r;
	/* every line from here in the format asked for */
	log_set_json(d->cfg->log_json);
	if ((r = config_check_files(d->cfg, err, errlen)) != 0 ||
	    (r = privsep_config_ids(d->cfg, ids, NULL, err, errlen)) != 0 ||
	    (r = config_load_keys(d->cfg, err, errlen)) != 0)
		return r;
	return 0;
}

/*
 * As root, what lives on disk: state_dir and its net/, the instance lock,
 * the log files, the stats file, the replay journal (with the barrier if
 * it was lost) and the grants.
 */
static int
setup_state(struct daemon *d, const struct privsep_ids *ids, char *err,
    size_t errlen)
{
	bool lost = false;
	unsigned i, nusers;
	int r;

	/* state_dir is root's; its net/ the network process's */
	if ((r = privsep_state_layout(d->cfg->state_dir, ids, d->netdir,
	    sizeof(d->netdir), &lost, err, errlen)) != 0)
		return r;
	/* one siglatchd per state_dir, checked before anything listens */
	if ((r = privsep_lock_instance(d->cfg->state_dir, &d->lockfd, err,
	    errlen)) != 0 || (d->cfg->pid_file[0] != '\0' &&
	    (r = privsep_check_log_path("pid_file", d->cfg->pid_file, ids,
	    err, errlen)) != 0))
		return r;
	if ((r = open_logs(d, ids, err, errlen)) != 0 ||
	    (r = open_stats(d, err, errlen)) != 0)
		return r;
	/* metrics_file: a bare name beside the stats file, a path in its own
	 * directory, opened now (the network process is chrooted later) */
	if (d->cfg->metrics_file[0] != '\0' &&
	    (r = stats_target(d->cfg->metrics_file, d->stats_dirfd, d->netdir,
	    &d->metrics_dirfd, d->metrics_name, sizeof(d->metrics_name), err,
	    errlen)) != 0)
		return r;
	/* rerr: logged (SL007) once the log is set up */
	if ((r = replay_open(&d->replay, d->netdir, d->cfg->replay_cache_size,
	    d->cfg->timestamp_window, time(NULL), &d->how, d->rerr,
	    sizeof(d->rerr))) != 0) {
		snprintf(err, errlen, "replay state: %s", d->rerr);
		return r;
	}
	if (lost && d->how == REPLAY_FRESH) {
		snprintf(d->rerr, sizeof(d->rerr), "%s/replay.state: missing, "
		    "although %s was used before", d->netdir, d->cfg->state_dir);
		d->how = REPLAY_CORRUPT;
		if ((r = replay_lost(d->replay, time(NULL))) != 0) {
			snprintf(err, errlen, "replay state: %s: %s", d->netdir,
			    strerror(errno));
			return r;
		}
	}
	/* each enabled user gets an equal share of the replay cache */
	for (i = 0, nusers = 0; i < d->cfg->nusers; i++)
		nusers += d->cfg->users[i].enabled;
	(void)replay_set_users(d->replay, nusers);
	err[0] = '\0';
	if ((r = grants_new(&d->grants, d->cfg->max_grants,
	    d->cfg->grant_max_lifetime)) != 0 ||
	    (r = grants_attach(d->grants, d->cfg->state_dir, sl_wall_ms(), err,
	    errlen)) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "grant state: %s", sl_strerror(r));
		return r;
	}
	return 0;
}

/* As root, the receive path: its tables, the sockets, the kernel filter. */
static int
setup_network(struct daemon *d, char *err, size_t errlen)
{
	const struct config *cfg = d->cfg;
	unsigned i;
	int r;

	if ((d->batch = malloc(sizeof(*d->batch))) != NULL)
		net_batch_init(d->batch);
	r = d->batch == NULL ? SL_ESYS : pipeline_new(&d->pipe, cfg, d->replay,
	    d->sinks);
	if (r != 0) {
		snprintf(err, errlen, "cannot initialise: %s", sl_strerror(r));
		return r;
	}
	pipeline_tick(d->pipe, time(NULL), NULL, NULL);
	for (i = 0; i < cfg->nservers; i++)
		if (cfg->servers[i].enabled && cfg->servers[i].format2 &&
		    cfg->servers[i].receipt)
			break;
	/* a parked receipt waits for the script (and its kill) at most */
	if (i < cfg->nservers && (r = receipts_new(&d->rcpt,
	    2 * cfg->max_scripts + 64, (cfg->script_timeout + 5) * 1000u)) !=
	    0) {
		snprintf(err, errlen, "cannot initialise receipts: %s",
		    sl_strerror(r));
		return r;
	}
	err[0] = '\0';
	for (i = 0; i < cfg->nservers; i++) {
		if (!cfg->servers[i].enabled)
			continue;
		if ((r = net_open_server(&cfg->servers[i], i, d->socks,
		    &d->nsocks, MAX_SOCKS, err, errlen)) != 0)
			return r;
		if (err[0] != '\0' && d->sockwarn[0] == '\0')
			snprintf(d->sockwarn, sizeof(d->sockwarn), "server %s: "
			    "formats 1 and 2 share one receive queue (%s): a "
			    "format-1 flood can crowd out format-2 knocks",
			    cfg->servers[i].name, err);
		err[0] = '\0';
	}
	d->kfilter = start_kernel_filter(d, d->kerr, sizeof(d->kerr));
	if (d->kfilter == 0)
		kernel_tags_start(d);
	return 0;
}

/* Into the background (unless -f), the log as configured, the pid
 * written down, signals to a descriptor. */
static int
detach(struct daemon *d, const struct opts *o, char *err, size_t errlen)
{
	int r;

	if (!o->fg && daemon(0, 0) != 0) {
		snprintf(err, errlen, "daemon: %s", strerror(errno));
		return SL_ESYS;
	}
	log_init("siglatchd", o->fg, o->debug);
	/* the main process's pid, which stays (the network process forks) */
	if ((r = privsep_write_pid(d->lockfd, NULL, err, errlen)) != 0 ||
	    (d->cfg->pid_file[0] != '\0' && (r = privsep_write_pid(-1,
	    d->cfg->pid_file, err, errlen)) != 0))
		return r;
	if ((r = setup_signals(d)) != 0) {
		snprintf(err, errlen, "signals: %s", strerror(errno));
		return r;
	}
	/* systemd (Type=notify): connected now, as root; the main process
	 * says READY=1 once the network process is forked (runproc.c) */
	if (sd_notify_open() == SL_ESYS)
		log_msg(LOG_WARNING, SLC_SYSERR, "NOTIFY_SOCKET: %s",
		    strerror(errno));
	return 0;
}

/*
 * Two processes from here (runproc.h): the parent keeps root and runs the
 * actions, and never comes back; this one returns as the network process,
 * chrooted, unprivileged, with its decryption threads, under seccomp.
 */
static int
become_network(struct daemon *d, const struct privsep_ids *ids, char *err,
    size_t errlen)
{
	int r;

	if ((r = runproc_start(&d->rp, d->cfg, d->grants, drop_network,
	    d)) != 0) {
		snprintf(err, errlen, "cannot fork the network process: %s",
		    strerror(errno));
		return r;
	}
	grants_free(d->grants);  /* the parent's */
	d->grants = NULL;
	if ((r = confine_network(d, ids, err, errlen)) != 0)
		return r;
	if ((d->nworkers = d->cfg->workers) == 0)
		d->nworkers = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (d->nworkers > 1 && (r = workers_new(&d->w, d->pipe, d->nworkers,
	    WORKER_QUEUE)) != 0) {
		snprintf(err, errlen, "cannot start %u decryption threads: %s",
		    d->nworkers, sl_strerror(r));
		return r;
	}
	return privsep_sandbox_network(d->rcpt != NULL, err, errlen);
}

/* What start-up did, now that the log is set up. */
static void
log_started(const struct daemon *d, const char *path)
{
	unsigned i;

	log_msg(LOG_NOTICE, SLC_START, "siglatchd %s starting, pid %ld "
	    "(network process %ld, uid %ld, in %s), config %s, %u decryption "
	    "thread(s)", SL_VERSION, (long)runproc_pid(d->rp), (long)getpid(),
	    (long)getuid(), d->netdir, path, d->w != NULL ? d->nworkers : 0);
	config_log_fingerprints(d->cfg);
	if (d->kfilter == 0)
		log_msg(LOG_INFO, SLC_START, "kernel filter: wrong-length "
		    "datagrams, penalised sources%s are dropped before they "
		    "reach siglatchd", d->ktags ? " and format-2 datagrams "
		    "with no user's tag" : "");
	else if (d->kfilter == SL_ENOTSUP)
		log_msg(LOG_NOTICE, SLC_START, "kernel filter not available "
		    "(%s): filtering in user space only", d->kerr);
	if (d->kfilter == 0 && d->ktags_why != NULL)
		log_msg(LOG_NOTICE, SLC_START, "kernel filter: format-2 tags "
		    "are checked in user space only: %s", d->ktags_why);
	if (d->sockwarn[0] != '\0')
		log_msg(LOG_NOTICE, SLC_LISTEN, "%s", d->sockwarn);
	if (d->how == REPLAY_FRESH)
		log_msg(LOG_NOTICE, SLC_STATE, "no replay state in %s: starting "
		    "with an empty cache", d->cfg->state_dir);
	else if (d->how == REPLAY_CORRUPT)
		log_msg(LOG_ERR, SLC_STATE_BAD, "replay state unusable (%s): "
		    "refusing every knock stamped at or before %lld for safety",
		    d->rerr, (long long)replay_barrier(d->replay));
	else
		log_msg(LOG_INFO, SLC_STATE, "replay state loaded: %u live "
		    "entries", replay_count(d->replay));
	for (i = 0; i < d->nsocks; i++)
		log_msg(LOG_NOTICE, SLC_LISTEN, "server %s listening on %s",
		    d->cfg->servers[d->socks[i].server_idx].name,
		    d->socks[i].desc);
}

/* The network process stops: no more datagrams, the threads finish what
 * they hold, counters and journal written, then the channel closes, and
 * with it the main process lets its scripts finish and exits. */
static void
shutdown_network(struct daemon *d)
{
	unsigned i;

	for (i = 0; i < d->nsocks; i++)
		close(d->socks[i].fd);
	d->nsocks = 0;
	while (d->w != NULL && workers_inflight(d->w) > 0) {
		struct pollfd wp = { .fd = workers_fd(d->w), .events = POLLIN };

		(void)poll(&wp, 1, 100);
		serve_workers(d);
	}
	write_stats(d);
	log_stats(d);  /* the privileged process logs its own as it exits */
	if (replay_save(d->replay) != 0)
		log_msg(LOG_ERR, SLC_STATE_IO, "replay state not saved");
	runproc_stop(d->rp);
	d->rp = NULL;
}

static void
daemon_free(struct daemon *d)
{
	unsigned i;

	for (i = 0; i < d->nsocks; i++)
		close(d->socks[i].fd);
	runproc_stop(d->rp);
	workers_free(d->w);
	sockfilter_free(d->sf);
	pipeline_free(d->pipe);
	receipts_free(d->rcpt);
	free(d->batch);
	replay_close(d->replay);
	grants_free(d->grants);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->stats_dirfd >= 0)
		close(d->stats_dirfd);
	if (d->lockfd >= 0)
		close(d->lockfd);
	if (d->metrics_dirfd >= 0)
		close(d->metrics_dirfd);
	if (d->cfg != NULL)
		config_wipe_keys(d->cfg);
	free(d->cfg);
	log_close();
}

/* -l: list the grants in state_dir, without starting; 0 or 1. */
static int
list_grants(struct daemon *d, const char *path)
{
	char err[1024];

	if (config_parse(d->cfg, path, err, sizeof(err)) != 0 ||
	    grants_list(d->cfg->state_dir, stdout, sl_wall_ms(), err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "siglatchd: %s\n", err);
		return 1;
	}
	return 0;
}

/* -t: the loaded configuration checked as a start would check it, its
 * key fingerprints and fleet shown; 0 or 1. */
static int
test_config(struct daemon *d)
{
	char err[1024];

	if (config_check_start(d->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "siglatchd: %s\n", err);
		return 1;
	}
	config_log_fingerprints(d->cfg);
	if (d->cfg->fleet.on &&
	    fleet_test(d->cfg, stdout, err, sizeof(err)) != 0) {
		fprintf(stderr, "siglatchd: %s\n", err);
		return 1;
	}
	print_check(d->cfg);
	return 0;
}

/* The order privsep.h documents, one step a call. */
int
main(int argc, char **argv)
{
	struct daemon d;
	struct privsep_ids ids;
	struct opts o;
	char err[1024];
	int rc;

	if ((rc = parse_args(argc, argv, &o)) >= 0)
		return rc;
	rc = 1;
	memset(&d, 0, sizeof(d));
	d.sigfd = -1;
	d.stats_dirfd = AT_FDCWD;
	d.metrics_dirfd = -1;
	d.lockfd = -1;
	/* until the configuration is read, everything goes to stderr */
	log_init("siglatchd", 1, o.debug);
	if ((d.cfg = calloc(1, sizeof(*d.cfg))) == NULL) {
		fprintf(stderr, "siglatchd: out of memory\n");
		return 1;
	}
	if (o.list) {
		rc = list_grants(&d, o.path);
		goto out;
	}
	err[0] = '\0';
	if (load_config(&d, o.path, &ids, err, sizeof(err)) != 0) {
		fprintf(stderr, "siglatchd: %s\n", err);
		goto out;
	}
	if (o.test) {
		rc = test_config(&d);
		goto out;
	}
	if (setup_state(&d, &ids, err, sizeof(err)) != 0 ||
	    setup_network(&d, err, sizeof(err)) != 0) {
		fprintf(stderr, "siglatchd: %s\n", err);
		goto out;
	}
	if (detach(&d, &o, err, sizeof(err)) != 0 ||
	    become_network(&d, &ids, err, sizeof(err)) != 0) {
		log_msg(LOG_ERR, SLC_SYSERR, "%s", err);
		goto out;
	}
	log_started(&d, o.path);
	rc = run(&d);
	shutdown_network(&d);
out:
	daemon_free(&d);
	return rc;
}
