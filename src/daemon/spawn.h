/*
 * spawn.h - start one program as a given user, without a shell, with its
 * output into a pipe (the runner's scripts).
 *
 * Owns the clone(CLONE_VM | CLONE_VFORK) start and everything the child
 * does before execve.  Does not own what the program runs for (argv and
 * environment are built by the runner), its slot, its timeout or its
 * output once started: those are runner.c's.
 */
#ifndef SL_SPAWN_H
#define SL_SPAWN_H

#include <sys/types.h>

#include "privsep.h"

struct spawn;

/* The child's stack (with a guard page) and the descriptor bound, once. */
int spawn_new(struct spawn **out);
void spawn_free(struct spawn *sp);

/*
 * Start argv[0] with argv and envp (NULL-terminated; they must stay valid
 * until this returns): stdin /dev/null, stdout and stderr into a new pipe,
 * no other descriptor, every signal at its default and none blocked, its
 * own process group, and ids (if set: setgroups to its group only,
 * setresgid, setresuid).  Returns 0 with *pid and *rfd (the pipe's read
 * end, non-blocking, close-on-exec), or an errno value: a program that
 * cannot be executed is reported here, its child already reaped.
 */
int spawn_start(struct spawn *sp, char *const argv[], char *const envp[],
    const struct privsep_ids *ids, pid_t *pid, int *rfd);

#endif
