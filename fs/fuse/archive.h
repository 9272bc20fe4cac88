/*
 * fs/fuse/archive.h — every retained commit as a directory, read-only (the
 * `ipmaildir archive` mount, like restic's and borg's).
 *
 *   MOUNTPOINT/2026-11-23T05:00:00Z/cur/…   one directory per commit, named
 *                                           by its UTC time
 *   MOUNTPOINT/latest -> 2026-…             a symlink to the newest
 * Commits within the same second are all named TIME-SEQ
 * ("2026-11-23T05:00:00Z-12"), so no name depends on which came first.
 * Not inside a Maildir: Maildir++ takes any dot-directory for a folder,
 * and these names have no dot in front anyway.
 *
 * A commit's tree is loaded (fs/model/manifest.c) on the first lookup, getattr
 * or readdir below its directory, and kept until unmount.  Inode numbers:
 * the root is 1, latest 2, and a commit k's tree ino i is
 * (k + 1) << ARCHIVE_INO_SHIFT | i — so a tree's inos must stay below
 * 2^ARCHIVE_INO_SHIFT (a commit beyond is shown as an unreadable, empty
 * directory: -EIO).
 *
 * Served by one thread (fuse_session_loop): no locks.
 */
#ifndef IPMD_FS_FUSE_ARCHIVE_H
#define IPMD_FS_FUSE_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "fs/model/commit.h"
#include "fs/model/tree.h"
#include "fs/store/history.h"
#include "util/attr.h"

#define ARCHIVE_INO_SHIFT 40
#define ARCHIVE_ROOT_INO 1
#define ARCHIVE_LATEST_INO 2
#define ARCHIVE_LATEST_NAME "latest"
/* "2026-11-23T05:00:00Z-18446744073709551615" and its NUL. */
#define ARCHIVE_NAME_MAX (HISTORY_TIME_MAX + 24)

struct archive_commit {
	struct cid cid;
	struct commit c;
	char name[ARCHIVE_NAME_MAX];
	struct fs_tree *tree; /* NULL until first used */
	int load_error;       /* sticky: a tree that failed stays failed */
};

struct archive {
	struct history *h;
	struct archive_commit *commits; /* newest first */
	size_t n;
	struct chunk_cache *cache;      /* plaintext chunks for reads */
	struct obj_store st;            /* h's, with the cache */
	double timeout;                 /* kernel cache: nothing changes */
};

/* Walk h's chain and name every commit.  0 or negative errno (the chain's
 * error: the archive refuses a broken chain, fsck tells more). */
IPMD_MUST_CHECK
int archive_open(struct archive *a, struct history *h);
void archive_close(struct archive *a);

/* The FUSE operations (userdata: struct archive *). */
struct fuse_lowlevel_ops;
extern const struct fuse_lowlevel_ops archive_ops;

#endif
