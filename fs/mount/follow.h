/*
 * fs/mount/follow.h — a mount taking in a head another device published
 * (docs/ARCHITECTURE.md, "Several devices: merging histories"): merged into
 * the live tree, or the live tree replaced by it (a fast-forward).
 *
 * Each reads what it needs first, without fs->lock (commits, directory
 * nodes: through the outbox, so blocks missing here come from the node and
 * stay in the local store; and, best effort, every block of the remote
 * tree's files this store lacks, so mail taken in reads offline — but
 * not under -o local_cap_mb), then
 * changes the tree in one hold of fs->lock,
 * then tells the kernel which names and inodes changed behind it
 * (fs->notify), without the lock.  The sync thread (fs/mount/sync.h) is
 * the caller; these are its steps, not policy.
 *
 * Merge: the inputs are synced in the store, every file state is sealed
 * (its content journaled; one left idle is freed, as the commit's seal
 * frees it, so none stays over content the merge replaces), the merge
 * record (fs/model/record.h) is journaled
 * and its records (merge_plan) applied with the mount's release function,
 * so the kernel's references stay good; the next commit names the remote
 * head in "merged" (ipmd_fs_merged).  A crash after the record replays it
 * from the same inputs (fs/mount/mount.c).
 *
 * Fast-forward: only when nothing is uncommitted (no change since the
 * last commit, no merge pending, no file state that is not idle: with the
 * kernel's no-open a write in progress is only a state a call holds, and
 * that call comes back to its inode in the tree being replaced) and the
 * head is still the one the caller compared, and, where index files are
 * local cache files (index_cache on) and the mount has a head, the remote
 * tree holds no ordinary index file (maildir_has_index_files: an
 * index_cache=off device's, which this side's Dovecot would read and
 * write into commits; the merge leaves them out, merge.h): else *done
 * is false and the caller merges instead.  A mount with no head has
 * nothing to merge with: it takes such a tree without its index files,
 * as a commit of its own whose parent is the remote one (P's tree less
 * what merge.h's rule leaves out, P's inode ranges, seq above P's),
 * written and made durable in the store under commit_lock, and moves to
 * that commit instead of P's (its head then differs from P: the caller
 * publishes it).  The head file moves to the
 * remote commit (journal rotated first: nothing written over the old tree
 * replays over the new), the remote's tree becomes fs->tree, and what the
 * kernel holds (lookups, a known handle's opens and file state; idle states
 * are dropped) moves to the inodes of the same numbers —
 * numbers name one file mailbox-wide (inode ranges) — or, for inodes the
 * remote lacks, to nameless copies (tree_add_orphan) until the kernel
 * forgets them.  No commit is written but that first head's.
 *
 * Both return 0 or a negative errno (the tree unchanged then, but for a
 * merge whose record is journaled: its apply does not fail).
 */
#ifndef IPMD_FS_MOUNT_FOLLOW_H
#define IPMD_FS_MOUNT_FOLLOW_H

#include <stdbool.h>

#include "fs/model/merge.h"
#include "fs/model/merge_base.h"
#include "fs/mount/mount.h"
#include "util/attr.h"

/* Merge commit remote, whose merge bases with the head are bases, into
 * the live tree; *stats (may be NULL): what it did. */
IPMD_MUST_CHECK
int follow_merge(struct ipmd_fs *fs, const struct cid *remote,
		 const struct merge_bases *bases, struct merge_stats *stats);

/* Make commit remote, which contains head (the head the caller found:
 * len 0 for a mount that has none yet), the mount's head and tree. */
IPMD_MUST_CHECK
int follow_forward(struct ipmd_fs *fs, const struct cid *remote,
		   const struct cid *head, bool *done);

#endif
