/*
 * fakeclock.c - test-only LD_PRELOAD shim that moves one process's wall
 * clock (and its children's, while they keep the environment) by an
 * offset that may change while it runs.  Not installed.
 *
 *   SL_FAKECLOCK=FILE LD_PRELOAD=build/tools/fakeclock.so siglatchd ...
 *
 * FILE holds the offset in seconds as text: optional blanks, an optional
 * sign, digits ("3600", "-130", "+0").  It is mapped once, when the shim is
 * loaded, and read at each call, so that no system call is made after
 * start: siglatchd's seccomp filter would kill the process for an open.
 * Rewrite it in place, never shorter than one byte and never truncated
 * (the mapping would fault):
 *   printf '%-15s\n' -130 1<>FILE
 * Without SL_FAKECLOCK, SL_FAKECLOCK_OFFSET=S moves the clock by a fixed S.
 *
 * Moved: time(), gettimeofday(), and clock_gettime() for CLOCK_REALTIME,
 * CLOCK_REALTIME_COARSE and CLOCK_TAI.  CLOCK_MONOTONIC, CLOCK_BOOTTIME and
 * the rest are not: a clock step moves only the wall clock.  The real
 * clock_gettime is looked up once, at load, and is the vDSO's.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define FC_LEN 32   /* bytes of FILE read */

typedef int (*fc_gettime_fn)(clockid_t, struct timespec *);

static fc_gettime_fn fc_real;
static const volatile char *fc_map;
static long long fc_fixed;

static long long
fc_parse(const volatile char *p, size_t n)
{
	long long v = 0;
	size_t i = 0;
	int neg = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i < n && (p[i] == '-' || p[i] == '+'))
		neg = p[i++] == '-';
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		v = v * 10 + (p[i] - '0');
	return neg ? -v : v;
}

static long long
fc_offset(void)
{
	return fc_map != NULL ? fc_parse(fc_map, FC_LEN) : fc_fixed;
}

/* The real clock_gettime.  A sanitizer's runtime, loaded first, may ask
 * for the time before fc_init has run: then it is looked up here. */
static fc_gettime_fn
fc_clock(void)
{
	if (fc_real == NULL) {
		*(void **)&fc_real = dlsym(RTLD_NEXT, "clock_gettime");
		if (fc_real == NULL) {
			fprintf(stderr, "fakeclock: no clock_gettime: %s\n",
			    dlerror());
			abort();
		}
	}
	return fc_real;
}

__attribute__((constructor)) static void
fc_init(void)
{
	const char *file = getenv("SL_FAKECLOCK");
	const char *fixed = getenv("SL_FAKECLOCK_OFFSET");
	void *m;
	int fd;

	(void)fc_clock();
	if (fixed != NULL)
		fc_fixed = fc_parse(fixed, 24);
	if (file == NULL)
		return;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (m = mmap(NULL, FC_LEN, PROT_READ, MAP_SHARED, fd, 0)) ==
	    MAP_FAILED) {
		perror(file);
		abort();
	}
	close(fd);
	fc_map = m;
}

static int
fc_moved(clockid_t c)
{
	return c == CLOCK_REALTIME || c == CLOCK_REALTIME_COARSE ||
	    c == CLOCK_TAI;
}

int
clock_gettime(clockid_t c, struct timespec *ts)
{
	int r = fc_clock()(c, ts);

	if (r == 0 && fc_moved(c))
		ts->tv_sec += (time_t)fc_offset();
	return r;
}

time_t
time(time_t *t)
{
	struct timespec ts;
	time_t v;

	if (fc_clock()(CLOCK_REALTIME, &ts) != 0)
		return (time_t)-1;
	v = ts.tv_sec + (time_t)fc_offset();
	if (t != NULL)
		*t = v;
	return v;
}

int
gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	(void)tz;
	if (fc_clock()(CLOCK_REALTIME, &ts) != 0)
		return -1;
	tv->tv_sec = ts.tv_sec + (time_t)fc_offset();
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}
