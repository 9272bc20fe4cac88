/*
 * fs/tools/salvage.h — fsck --repair's salvage: damaged files leave the mailbox,
 * everything intact stays.
 *
 * fsck lists every file of the head (and of the journal replayed over it)
 * whose blocks are missing or do not open: salvage_add.  salvage_apply
 * then runs on the mailbox opened for writing (fs/mount/mount.h, journal
 * replayed), before it commits, and for each listed path that is still a
 * regular file and still does not read whole:
 *  - moves it, by a journaled rename, into the Maildir++ folder
 *    SALVAGE_DIR ("/.lost+found", with cur/ new/ tmp/, made when needed),
 *    under its own name (a Maildir name keeps its flags), or
 *    "fsckN.NAME" when that name is taken there;
 *  - replaces its content with a plain-text message that says where it
 *    was, how big it was, what was damaged and how many bytes could be
 *    read, followed by those bytes (an unreadable chunk becomes one line
 *    saying how many bytes are lost there).
 * So no intact file, folder or flag changes, a damaged file is named and
 * can be looked at with any mail reader, and the next commit names no
 * block that is missing (fsck is clean after it, gc can run).
 *
 * The mailbox's lock is taken around each change; nothing is printed:
 * the caller hears of each item through its callback.
 */
#ifndef IPMD_FS_TOOLS_SALVAGE_H
#define IPMD_FS_TOOLS_SALVAGE_H

#include <stddef.h>
#include <stdint.h>

#include "fs/mount/mount.h"

#define SALVAGE_DIR "/.lost+found"
#define SALVAGE_WHY_MAX 320

/* One damaged file: its path in the tree ("/cur/1.x:2,S") and why. */
struct salvage_item {
	char *path;
	char why[SALVAGE_WHY_MAX];
};

/* Zero-initialise; salvage_free always safe after. */
struct salvage_list {
	struct salvage_item *v;
	size_t n, cap;
};

/* Add path (copied) unless listed already; why is truncated to fit.
 * 0 or -ENOMEM. */
int salvage_add(struct salvage_list *l, const char *path, const char *why);
void salvage_free(struct salvage_list *l);

enum salvage_outcome {
	SALVAGE_MOVED,    /* moved to `to`, content replaced */
	SALVAGE_GONE,     /* no longer a regular file at that path */
	SALVAGE_READS,    /* reads whole now (a block came back): left alone */
	SALVAGE_FAILED,   /* error: the file stays where it was */
};

struct salvage_report {
	const struct salvage_item *item;
	enum salvage_outcome outcome;
	const char *to;     /* SALVAGE_MOVED: the new path */
	uint64_t size;      /* the file's size before */
	uint64_t recovered; /* of which bytes could be read */
	int error;          /* SALVAGE_FAILED: negative errno */
};

typedef void (*salvage_fn)(const struct salvage_report *r, void *arg);

/*
 * Salvage every item of l in fs (opened read-write, committer not
 * running); fn hears of each.  Returns the number of files moved, or
 * -ENOMEM.  A failure on one file (making SALVAGE_DIR among them) is
 * reported through fn, the file stays where it was, and the walk goes on.
 * The changes are journaled; ipmd_fs_close commits them.
 */
long salvage_apply(struct ipmd_fs *fs, const struct salvage_list *l,
		   salvage_fn fn, void *arg);

#endif
