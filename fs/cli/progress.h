/*
 * fs/cli/progress.h — progress of long work (import, export, fsck, gc).
 *
 * Called from the CLI layer only: it writes to the fd it was given (stderr
 * in practice) and nothing else.  Two forms, chosen once at start:
 *  - a terminal (isatty(fd)): one line redrawn in place ("\r" + erase),
 *    at most PROGRESS_TTY_HZ times a second:
 *      import  1234/5678 msgs  45.2/120.0 MiB  410 msg/s  ETA 0:11
 *  - anything else (a log, a pipe): a plain line at most every
 *    PROGRESS_PLAIN_SECONDS seconds, so logs stay readable.
 * progress_done prints one summary line in both forms:
 *      import: 5678 msgs, 120.0 MiB in 12.3 s (462 msg/s, 9.8 MiB/s)
 *
 * Totals may be 0 (unknown): then no ETA and no "/total".  A NULL
 * struct progress * is accepted everywhere and does nothing, so callers
 * can turn progress off (--quiet) without ifs.
 *
 * Thread safety: none; call from one thread (the one driving the work).
 */
#ifndef IPMD_FS_CLI_PROGRESS_H
#define IPMD_FS_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROGRESS_TTY_HZ 10
#define PROGRESS_PLAIN_SECONDS 5

struct progress {
	int fd;
	bool tty;
	const char *what; /* "import", "export", "fsck" … (static string) */
	const char *unit; /* what items are: "msgs", "blocks" … */
	uint64_t total_items, total_bytes; /* 0: unknown */
	uint64_t items, bytes;
	double start, last_draw; /* monotonic seconds */
	bool drawn;              /* a TTY line is on screen */
	/* For tests: the clock, or NULL for CLOCK_MONOTONIC. */
	double (*clock)(void *arg);
	void *clock_arg;
};

/* Start: remember the fd and the totals (0 = unknown); draws nothing yet.
 * force_plain: behave as if fd were not a terminal. */
void progress_start(struct progress *p, int fd, const char *what,
		    const char *unit, uint64_t total_items,
		    uint64_t total_bytes, bool force_plain);
/* Totals learnt later (a walk that counts while it works). */
void progress_set_total(struct progress *p, uint64_t items, uint64_t bytes);
/* Add done work; redraws when it is time to. */
void progress_add(struct progress *p, uint64_t items, uint64_t bytes);
/* Clear the bar and print the summary line (extra: appended, may be NULL,
 * e.g. "312 skipped (already there)"). */
void progress_done(struct progress *p, const char *extra);
/* Erase the bar from the terminal (it comes back at the next redraw):
 * before other output goes to the same terminal.  Plain form: nothing. */
void progress_clear(struct progress *p);

/* The text of the current status line, without "\r" or "\n" (for the
 * drawing above and for tests).  Returns the length written. */
int progress_format(const struct progress *p, double now, char *out,
		    size_t size);

#endif
