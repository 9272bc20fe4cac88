/*
 * fs/store/store_open.h — opening a store: the one way a mount and the
 * read side (fs/store/history.h) take a store directory.
 *
 * store_open, in this order: names the paths (fs/store/store.h), refuses
 * a store without a key file (store_no_key_message), takes the locks the
 * caller's kind asks for, loads the keys (asking for a passphrase if the
 * key file is wrapped), reads head, seen and pruned (fs/store/head.h,
 * state_read) and, for the kinds that write, rewrites untyped ones typed.
 * It builds no block store: that is fs/store/stack.h.
 *
 * Locks (flock, never blocking: a store in use is refused, not waited for)
 *  - STORE/lock: a writer holds it exclusively, a read-only mount of the
 *    head shares it; gc and fsck --repair take it exclusively too, so a
 *    mount can't start under them and they refuse to run under one.
 *  - STORE/readers: every reader of past states (mount --at, archive,
 *    fsck) holds it shared; gc holds it exclusively.  A writer never
 *    touches it, so browsing history never blocks mail delivery.
 *
 * The kinds, and what each refuses (each line is the caller's wording):
 *  NONE       nothing locked; state read as it is (log, status).
 *  READ       readers shared, "ipmaildir gc is running on STORE: try
 *             again when it is done"; state as it is (fsck, archive).
 *  PAST       READ for mount --at, whose line is "ipmaildir gc is
 *             running: try again when it is done".
 *  SHARED     lock shared, "STORE is in use by another ipmaildir process";
 *             a state a writer would refuse (state_check) refuses the
 *             open, "STORE: <state_problem_text>" (a read-only mount).
 *  WRITE      lock exclusive, the same refusals; then untyped state files
 *             are rewritten typed and a store with no head gets a new
 *             mailbox's at once, so that from the first journal record on
 *             a missing head is damage (a writable mount).
 *  EXCLUSIVE  lock exclusive, "the mailbox in STORE is mounted: unmount it
 *             first"; readers exclusive, "a past state of the mailbox in
 *             STORE is mounted or being checked …"; untyped state files
 *             rewritten typed; the state is not judged, the caller does
 *             (gc, fsck --repair).
 */
#ifndef IPMD_FS_STORE_STORE_OPEN_H
#define IPMD_FS_STORE_STORE_OPEN_H

#include <stddef.h>

#include "crypto/keys.h"
#include "fs/store/head.h"
#include "fs/store/store.h"
#include "util/attr.h"

enum store_lock {
	STORE_LOCK_NONE,
	STORE_LOCK_READ,
	STORE_LOCK_PAST,
	STORE_LOCK_SHARED,
	STORE_LOCK_WRITE,
	STORE_LOCK_EXCLUSIVE,
};

struct store_open_options {
	const char *dir;                     /* NULL: the default store */
	const struct passphrase_source *pass;
	enum store_lock lock;
};

/* An open store.  store_reset makes one that holds nothing. */
struct store {
	struct store_paths paths;
	struct mailbox_keys keys;
	/* head, seen and pruned as read at open (after the upgrade and the
	 * new head a writer makes); their *_err 0, -ENOENT or -EBADMSG. */
	struct state_set state;
	int lock_fd;    /* STORE/lock, or -1 */
	int readers_fd; /* STORE/readers, or -1 */
};

/* 0, or -1 with one line in msg (the lines above, a path and why, or the
 * key file's or the passphrase's trouble).  store_close is always safe
 * after, and needed after either. */
IPMD_MUST_CHECK
int store_open(struct store *s, const struct store_open_options *o,
	       char *msg, size_t msgsize);
/*
 * A reader inside the writer's own process (the housekeeping a running
 * mount does for `ipmaildir gc`, fsck and status, fs/cli/control.h):
 * writer's paths and a copy of its keys (no passphrase asked), STORE/lock
 * left to the writer that holds it, STORE/readers taken as kind says
 * (NONE; READ shared; EXCLUSIVE exclusive, refused with store_open's
 * line while a past state is read), the state files read as they are
 * now.  0, or -1 with one line in msg; store_close after either.
 */
IPMD_MUST_CHECK
int store_open_beside(struct store *s, const struct store *writer,
		      enum store_lock kind, char *msg, size_t msgsize);
/* Wipe the keys, drop the locks; leaves *s as store_reset does. */
void store_close(struct store *s);
/* Nothing held: zeroed, no lock.  For a mount whose keys and paths come
 * from elsewhere (fs/mount/remote.h), and before store_open. */
void store_reset(struct store *s);

/* state_check (fs/store/head.h) of s's state: what a writer would refuse
 * to build on.  A store_has_data failure counts as holding data. */
IPMD_MUST_CHECK
enum state_problem store_state_problem(const struct store *s);

/* Does some process hold the writer lock of the store at paths (a
 * read-write mount)?  1, 0, or negative errno. */
IPMD_MUST_CHECK
int store_writer_active(const struct store_paths *paths);

/* Where the store is mounted (/proc/self/mountinfo: fstype
 * fuse.ipmaildir, source "ipmaildir:STORE").  0 and the mount point in
 * out, -ENOENT, -ENAMETOOLONG or -errno. */
int store_mountpoint(const struct store_paths *paths, char *out,
		     size_t size);

#endif
