/*
 * fs/tools/snapshot.h — a mailbox opened for reading by the offline tools
 * (export, export --car, share): its tree, keys and blocks, no FUSE.
 *
 * One read side with fs/store/history.h: the committed state is opened through
 * history_open (keys, blocks, head) and history_commit / history_tree;
 * the replayed state through ipmd_fs_open read-only, exactly as a
 * read-only mount.  The fields below point into whichever was used.
 *
 * SNAP_CURRENT: when no writer holds the store (it is not mounted, or only
 * read-only), through ipmd_fs_open read-only, which holds the shared lock
 * until snapshot_close: the last commit with the journal replayed over it,
 * exactly what a mount would show.  When a writer holds it (mounted), the
 * last commit alone: blocks are immutable and named by the commit, so
 * reading them beside the mount is safe, but changes since that commit
 * (normally under commit_delay old) are not there; `mounted` says so.
 *
 * SNAP_COMMITTED: the last commit alone, whoever holds the store, and no
 * journal.  For what must name exactly the committed tree (a CAR whose
 * root is the head commit).
 *
 * Both refuse a head older than one accepted here (STORE/seen), as mount
 * does: what they read is handed out as the current mailbox.
 */
#ifndef IPMD_FS_TOOLS_SNAPSHOT_H
#define IPMD_FS_TOOLS_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "crypto/keys.h"
#include "fs/model/commit.h"
#include "fs/model/object.h"
#include "fs/model/tree.h"
#include "fs/store/head.h"
#include "fs/store/store.h"
#include "util/attr.h"

/* The owners (below) stay opaque to the tools: a snapshot user sees the
 * mailbox, not the mount or the history it came through. */
struct chunk_cache;
struct history;
struct ipmd_fs;

enum snapshot_mode { SNAP_CURRENT, SNAP_COMMITTED };

struct snapshot {
	/* What the tools read; valid after a successful snapshot_open.
	 * head.commit.len == 0: nothing committed yet (tree is empty). */
	struct fs_tree *tree;
	struct obj_store *st;       /* read-only: no convergence secret */
	struct blockstore *bs;
	const struct mailbox_keys *keys;
	struct head head;
	struct commit last;         /* the head commit, or zero */
	struct cid pruned; /* STORE/pruned's commit, where gc cut the
			      history (fs/store/history.h); len 0: none */
	bool mounted;  /* a writer held the store: journal not replayed */
	bool replayed; /* the journal was replayed over the commit */

	/* Owners: fs when replayed, else h (and committed_tree, st_cached);
	 * each allocated by snapshot_open, freed by snapshot_close. */
	struct ipmd_fs *fs;
	struct history *h;
	struct fs_tree *committed_tree;
	struct chunk_cache *cache;
	struct obj_store st_cached;
};

/* 0, or -1 with a one-line reason in msg.  snapshot_close is always safe
 * after (s needs no init). */
IPMD_MUST_CHECK
int snapshot_open(struct snapshot *s, const char *store,
		  const struct passphrase_source *pass, enum snapshot_mode mode,
		  char *msg, size_t msgsize);
void snapshot_close(struct snapshot *s);

/* The inode at path, relative to the mailbox root ("cur/x", "/cur/x" and
 * "" for the root itself; "." and ".." are refused).  0, -ENOENT,
 * -ENOTDIR, -EINVAL. */
IPMD_MUST_CHECK
int snapshot_lookup(struct snapshot *s, const char *path,
		    struct inode **out);

#endif
