/*
 * workers.h - decryption on every core.
 *
 * The main thread admits datagrams (pipeline_admit) and hands each one, as
 * a fixed-size job in a preallocated ring, to a pool of worker threads that
 * run pipeline_crypto() (RSA, parse, HMAC, timestamp) with their own
 * contexts.  Finished jobs come back through a second ring, and an eventfd
 * wakes the main thread, which runs pipeline_finish() (replay, authorize,
 * log) so that all state stays single-threaded.  Nothing is queued
 * without bound, and a full ring drops nothing: the main thread reads no
 * more datagrams than the ring has room for (workers_room, and
 * workers_room_v1 for format 1, which keeps WORKERS_RESERVE jobs for
 * format 2), so the rest wait in the socket's receive buffer, where the
 * kernel drops (and counts) what does not fit.
 */
#ifndef SL_WORKERS_H
#define SL_WORKERS_H

#include "pipeline.h"

struct workers;

/* n threads, ring of qsize jobs (rounded up to a power of two). */
int workers_new(struct workers **out, const struct pipeline *p, unsigned n,
    unsigned qsize);
void workers_free(struct workers *w);
/* After pipeline_reconfigure, with nothing in flight: each thread's
 * decryption contexts made anew from the pipeline's keys. */
int workers_reconfigure(struct workers *w);
/* Take a free job to fill (NULL when the ring is full). */
struct pipeline_job *workers_job(struct workers *w);
/* Queue the job returned by workers_job(). */
void workers_submit(struct workers *w, struct pipeline_job *j);
/* Descriptor that becomes readable when finished jobs wait. */
int workers_fd(const struct workers *w);
/* Next finished job (NULL when none); give it back with workers_release(). */
struct pipeline_job *workers_done(struct workers *w);
void workers_release(struct workers *w, struct pipeline_job *j);
/* Jobs submitted and not yet released; free ones. */
unsigned workers_inflight(const struct workers *w);
unsigned workers_room(const struct workers *w);
/* Free jobs format-1 datagrams may take: WORKERS_RESERVE are kept for
 * format-2 knocks, so that a format-1 flood cannot take them all. */
#define WORKERS_RESERVE 64
unsigned workers_room_v1(const struct workers *w);
/* Queue a format-2 job (j->pre.format == 2) ahead of format-1 ones:
 * workers_submit does this by itself. */

#endif
