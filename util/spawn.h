/*
 * util/spawn.h — run another program with one of its output streams on a
 * pipe, and wait for it: the one fork/exec/wait of the project
 * (fusermount3 for `ipmaildir umount`, --passphrase-command's shell).
 *
 * Contract:
 * - spawn_start runs argv[0] (looked up in PATH unless it holds a '/'),
 *   argv as its arguments and this process's environment; its stream
 *   `capture` (STDOUT_FILENO or STDERR_FILENO) is the write end of a
 *   pipe whose read end is s->fd (close-on-exec).  Its other descriptors
 *   0-2 are ours: a command may still prompt on the terminal.
 * - Every started child is waited for by exactly one spawn_finish, which
 *   closes s->fd first: the caller reads what it needs before, and a
 *   child still writing then gets EPIPE, never blocks us.
 * - Errors are returned, nothing prints; spawn_strerror says one in
 *   words ("not found", "exited with status 3", "killed by SIGKILL").
 */
#ifndef IPMD_UTIL_SPAWN_H
#define IPMD_UTIL_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include "util/attr.h"

struct spawn {
	pid_t pid; /* the child; -1 when none runs */
	int fd;    /* the read end of its captured stream; -1 when closed */
};

/* Start the child: 0 with s set, or -errno (-ENOENT: no such program,
 * -EACCES: not executable; posix_spawn reports the exec's failure). */
IPMD_MUST_CHECK
int spawn_start(char *const argv[], int capture, struct spawn *s);

/* SPAWN_SIGNALED + n: the child was killed by signal n. */
enum { SPAWN_SIGNALED = 256 };

/* Close s->fd (if open) and wait for the child: its exit status 0-255,
 * SPAWN_SIGNALED + the signal that killed it, or -errno if waitpid
 * failed.  s is then empty (pid and fd -1). */
int spawn_finish(struct spawn *s);

/* A result of spawn_start (negative) or spawn_finish (positive) in words,
 * into buf: "not found", "exited with status 3", "killed by SIGKILL". */
void spawn_strerror(int r, char *buf, size_t size);

#endif
