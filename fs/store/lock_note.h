/*
 * fs/store/lock_note.h — how the last writer of a store ended, told through
 * STORE/lock.
 *
 * A mount that holds STORE/lock exclusively (a writer, fs/mount/mount.h)
 * replaces the lock file's text with "running PID" when it starts and with
 * "exit STATUS" last, just before it lets the lock go (its exit).  Whoever
 * waits for the lock — `ipmaildir umount`, after unmounting — then reads
 * how that process ended: its exit status, or, still "running", that it
 * died without saying (killed).  The text is a pid and a status, nothing
 * of the mail.  Other users of the lock (gc, fsck, import, the readers)
 * neither read nor write it.
 */
#ifndef IPMD_FS_STORE_LOCK_NOTE_H
#define IPMD_FS_STORE_LOCK_NOTE_H

#include <stddef.h>
#include <sys/types.h>

#include "fs/store/store.h"
#include "util/attr.h"

/* What a note says. */
struct lock_note {
	enum { NOTE_NONE, NOTE_RUNNING, NOTE_EXIT } kind;
	long value; /* RUNNING: the pid; EXIT: the status */
};

/* Replace the text of the lock file open on fd (the lock held by the
 * caller) with "running PID".  0 or -errno. */
int lock_note_running(int fd, pid_t pid);
/* ... with "exit STATUS".  0 or -errno. */
int lock_note_exit(int fd, int status);

/* Parse a note's text (pure): NOTE_NONE for anything but the two forms. */
void lock_note_parse(const char *text, struct lock_note *n);

/*
 * Wait until no process holds p's lock exclusively (shared flock: other
 * readers don't delay it), read the note and let the lock go.  0, or
 * -errno (-ENOENT: no lock file, no writer ever ran).
 */
IPMD_MUST_CHECK
int lock_note_wait(const struct store_paths *p, struct lock_note *n);

#endif
