/*
 * fs/fuse/archive.h — every retained commit as a directory, read-only (the
 * `ipmaildir archive` mount, like restic's and borg's).
 *
 *   MOUNTPOINT/2026-11-23T05:00:00Z/cur/…   one directory per commit, named
 *                                           by its UTC time
 *   MOUNTPOINT/latest -> 2026-…             a symlink to the newest
 * Every commit of the history's DAG is there once (history_walk: merges
 * and the other lines they merged too), newest (highest seq) first.
 * Commits within the same second are all named TIME-SEQ
 * ("2026-11-23T05:00:00Z-12"), so no name depends on which came first;
 * two of those with one seq too (two devices' lines) are named
 * TIME-SEQ-C, C the last ARCHIVE_CID_TAIL characters of the CID.
 * Not inside a Maildir: Maildir++ takes any dot-directory for a folder,
 * and these names have no dot in front anyway.
 *
 * A commit's tree is loaded (fs/model/manifest.c) on the first lookup, getattr
 * or readdir below its directory, and kept until unmount.  Inode numbers:
 * the root is 1, latest 2, and inode i of commit k's tree is
 * (k + 1) << ARCHIVE_COMMIT_SHIFT | n, n its place among the tree's inode
 * numbers in ascending order (the tree's root, 1, is n = 0) — a map of
 * its own, not the tree's numbers shifted: those fill 63 bits (a device's
 * range is D << 40 + n, fs/model/tree.h).  A tree of 2^32 inodes or more
 * is shown as an unreadable, empty directory (-EIO).
 *
 * Served by one thread (fuse_session_loop): no locks.
 */
#ifndef IPMD_FS_FUSE_ARCHIVE_H
#define IPMD_FS_FUSE_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/model/commit.h"
#include "fs/model/tree.h"
#include "fs/store/history.h"
#include "util/attr.h"

#define ARCHIVE_COMMIT_SHIFT 32
#define ARCHIVE_ROOT_INO 1
#define ARCHIVE_LATEST_INO 2
#define ARCHIVE_LATEST_NAME "latest"
#define ARCHIVE_CID_TAIL 8
/* "2026-11-23T05:00:00Z-18446744073709551615-CIDTAIL" and its NUL. */
#define ARCHIVE_NAME_MAX (HISTORY_TIME_MAX + 24 + ARCHIVE_CID_TAIL + 1)

struct archive_commit {
	struct cid cid;
	struct commit c;
	char name[ARCHIVE_NAME_MAX];
	struct fs_tree *tree; /* NULL until first used */
	uint64_t *inos;       /* the tree's inode numbers, ascending (n → i) */
	size_t ninos;
	int load_error;       /* sticky: a tree that failed stays failed */
};

struct archive {
	struct history *h;
	struct archive_commit *commits; /* newest first; keys: wiped */
	size_t n, cap;
	struct chunk_cache *cache;      /* plaintext chunks for reads */
	struct obj_store st;            /* h's, with the cache */
	double timeout;                 /* kernel cache: nothing changes */
	bool no_open; /* the kernel opens files without asking (op_init) */
};

/* Walk h's history and name every commit.  0 or negative errno (the
 * walk's error: the archive refuses a broken history, fsck tells more). */
IPMD_MUST_CHECK
int archive_open(struct archive *a, struct history *h);
void archive_close(struct archive *a);

/* The FUSE operations (userdata: struct archive *). */
struct fuse_lowlevel_ops;
extern const struct fuse_lowlevel_ops archive_ops;

#endif
