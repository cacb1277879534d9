/*
 * workers.c - a fixed pool of threads running pipeline_crypto().
 *
 * Jobs live in one array allocated at start.  Index queues move them
 * around: free -> todo or urgent (main thread to workers) -> done (workers
 * to the main thread) -> free.  Format-2 knocks go to urgent, which the
 * workers empty first: they have passed their MAC, so they never wait
 * behind format-1 datagrams that have not.  A mutex and a condition
 * variable guard todo and urgent; done has its own mutex and an eventfd
 * for the main thread's poll().
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "log.h"
#include "workers.h"

struct ring {
	uint32_t *idx;
	uint32_t head, tail, mask;  /* head - tail = entries */
};

struct workers {
	const struct pipeline *p;
	struct pipeline_job *jobs;
	uint32_t njobs;
	struct ring free, todo, urgent, done;  /* free: main thread only */
	pthread_mutex_t todo_mu, done_mu;
	pthread_cond_t todo_cv;
	int stop;
	int efd;
	unsigned nthreads;
	pthread_t *threads;
	struct pipeline_crypto **crypto;
	unsigned ncrypto;
	unsigned inflight;
};

static int
ring_init(struct ring *r, uint32_t n)
{
	r->idx = calloc(n, sizeof(*r->idx));
	r->head = r->tail = 0;
	r->mask = n - 1;
	return r->idx != NULL ? 0 : SL_ESYS;
}

static void
ring_put(struct ring *r, uint32_t v)
{
	r->idx[r->head++ & r->mask] = v;
}

static int
ring_get(struct ring *r, uint32_t *v)
{
	if (r->head == r->tail)
		return 0;
	*v = r->idx[r->tail++ & r->mask];
	return 1;
}

struct worker_arg {
	struct workers *w;
	unsigned id;
};

static void *
worker_main(void *arg)
{
	struct workers *w = ((struct worker_arg *)arg)->w;
	unsigned id = ((struct worker_arg *)arg)->id;
	const uint64_t one = 1;
	uint32_t i;

	free(arg);
	for (;;) {
		pthread_mutex_lock(&w->todo_mu);
		while (!w->stop && !ring_get(&w->urgent, &i) &&
		    !ring_get(&w->todo, &i))
			pthread_cond_wait(&w->todo_cv, &w->todo_mu);
		if (w->stop) {
			pthread_mutex_unlock(&w->todo_mu);
			return NULL;
		}
		pthread_mutex_unlock(&w->todo_mu);

		pipeline_crypto(w->p, w->crypto[id], &w->jobs[i]);

		pthread_mutex_lock(&w->done_mu);
		ring_put(&w->done, i);
		pthread_mutex_unlock(&w->done_mu);
		/* a full eventfd counter cannot happen: at most njobs writes
		 * before the main thread reads */
		if (write(w->efd, &one, sizeof(one)) < 0) {
			/* EAGAIN: the counter is already non-zero, the main
			 * thread will look anyway */
		}
	}
}

int
workers_new(struct workers **out, const struct pipeline *p, unsigned n,
    unsigned qsize)
{
	struct workers *w;
	struct worker_arg *a;
	uint32_t sz = 16, i;
	int rc = SL_ESYS;

	*out = NULL;
	while (sz < qsize && sz < (1u << 20))
		sz <<= 1;
	if (n == 0 || (w = calloc(1, sizeof(*w))) == NULL)
		return SL_EINVAL;
	w->p = p;
	w->efd = -1;
	w->njobs = sz;
	pthread_mutex_init(&w->todo_mu, NULL);
	pthread_mutex_init(&w->done_mu, NULL);
	pthread_cond_init(&w->todo_cv, NULL);
	if ((w->jobs = calloc(sz, sizeof(*w->jobs))) == NULL ||
	    ring_init(&w->free, sz) != 0 || ring_init(&w->todo, sz) != 0 ||
	    ring_init(&w->urgent, sz) != 0 ||
	    ring_init(&w->done, sz) != 0 ||
	    (w->threads = calloc(n, sizeof(*w->threads))) == NULL ||
	    (w->crypto = calloc(n, sizeof(*w->crypto))) == NULL ||
	    (w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		goto fail;
	for (i = 0; i < sz; i++)
		ring_put(&w->free, i);
	for (i = 0; i < n; i++, w->ncrypto++)
		if ((rc = pipeline_crypto_new(p, &w->crypto[i])) != 0)
			goto fail;
	for (i = 0; i < n; i++) {
		if ((a = malloc(sizeof(*a))) == NULL)
			goto fail;
		a->w = w;
		a->id = i;
		if (pthread_create(&w->threads[i], NULL, worker_main, a) != 0) {
			free(a);
			rc = SL_ESYS;
			goto fail;
		}
		w->nthreads++;
	}
	*out = w;
	return 0;
fail:
	workers_free(w);
	return rc != 0 ? rc : SL_ESYS;
}

int
workers_reconfigure(struct workers *w)
{
	struct pipeline_crypto *c[64];
	unsigned i;
	int rc;

	if (w->ncrypto > sizeof(c) / sizeof(c[0]))
		return SL_EINVAL;
	for (i = 0; i < w->ncrypto; i++) {
		if ((rc = pipeline_crypto_new(w->p, &c[i])) != 0) {
			while (i-- > 0)
				pipeline_crypto_free(c[i]);
			return rc;
		}
	}
	/* the threads take a job (and with it the contexts) under todo_mu */
	pthread_mutex_lock(&w->todo_mu);
	for (i = 0; i < w->ncrypto; i++) {
		pipeline_crypto_free(w->crypto[i]);
		w->crypto[i] = c[i];
	}
	pthread_mutex_unlock(&w->todo_mu);
	return 0;
}

void
workers_free(struct workers *w)
{
	unsigned i;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->todo_mu);
	w->stop = 1;
	pthread_cond_broadcast(&w->todo_cv);
	pthread_mutex_unlock(&w->todo_mu);
	for (i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	for (i = 0; i < w->ncrypto; i++)
		pipeline_crypto_free(w->crypto[i]);
	if (w->jobs != NULL)  /* decrypted packets passed through here */
		OPENSSL_cleanse(w->jobs, (size_t)w->njobs * sizeof(*w->jobs));
	free(w->jobs);
	free(w->free.idx);
	free(w->todo.idx);
	free(w->urgent.idx);
	free(w->done.idx);
	free(w->threads);
	free(w->crypto);
	if (w->efd >= 0)
		close(w->efd);
	pthread_cond_destroy(&w->todo_cv);
	pthread_mutex_destroy(&w->todo_mu);
	pthread_mutex_destroy(&w->done_mu);
	free(w);
}

struct pipeline_job *
workers_job(struct workers *w)
{
	uint32_t i;

	if (!ring_get(&w->free, &i))
		return NULL;
	w->inflight++;
	return &w->jobs[i];
}

void
workers_submit(struct workers *w, struct pipeline_job *j)
{
	pthread_mutex_lock(&w->todo_mu);
	ring_put(j->pre.format == 2 ? &w->urgent : &w->todo,
	    (uint32_t)(j - w->jobs));
	pthread_cond_signal(&w->todo_cv);
	pthread_mutex_unlock(&w->todo_mu);
}

int
workers_fd(const struct workers *w)
{
	return w->efd;
}

struct pipeline_job *
workers_done(struct workers *w)
{
	uint64_t v;
	uint32_t i;
	int got;

	pthread_mutex_lock(&w->done_mu);
	got = ring_get(&w->done, &i);
	pthread_mutex_unlock(&w->done_mu);
	if (!got) {
		if (read(w->efd, &v, sizeof(v)) < 0) {
			/* EAGAIN: nothing was signalled; rearmed either way */
		}
		/* a job may have landed between the check and the read */
		pthread_mutex_lock(&w->done_mu);
		got = ring_get(&w->done, &i);
		pthread_mutex_unlock(&w->done_mu);
		if (!got)
			return NULL;
	}
	return &w->jobs[i];
}

void
workers_release(struct workers *w, struct pipeline_job *j)
{
	ring_put(&w->free, (uint32_t)(j - w->jobs));
	w->inflight--;
}

unsigned
workers_inflight(const struct workers *w)
{
	return w->inflight;
}

unsigned
workers_room(const struct workers *w)
{
	return w->njobs - w->inflight;
}

unsigned
workers_room_v1(const struct workers *w)
{
	unsigned room = w->njobs - w->inflight;

	return room > WORKERS_RESERVE ? room - WORKERS_RESERVE : 0;
}
