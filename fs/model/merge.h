/*
 * fs/model/merge.h — the three-way merge of two mailbox trees
 * (docs/ARCHITECTURE.md, "Several devices: merging histories").
 *
 * merge_plan compares base (the common ancestor's tree; NULL: the empty
 * tree), local (the tree that changes: a mount's live tree) and remote, and
 * lists the journal records (fs/model/record.h) that turn local into the
 * merge; merge_apply applies them.  No I/O, no threads; merge_plan reads
 * the three trees and changes none.  Finding the base is merge_base.h's.
 *
 * What is merged (the rules, one by one in tests/unit/test_merge.c):
 *  - A message is a regular file in a directory named cur or new, at any
 *    depth (the rule fs/model/changes.c counts by).  Its key is its unique
 *    name: its name up to the first ":2," (the whole name without one).
 *    Its state: its folder (the path of the directory holding cur/ and
 *    new/), cur or new, whether the name has ":2,", its flags (the bytes
 *    after ":2,", as a set), and its inode (number, content, mode, uid,
 *    gid, mtime).  A unique name found twice in one of the three trees is
 *    keyed by its path instead, for every tree, in that merge.
 *      - added on either side: kept; on both: kept once (no base: flags
 *        united, the rest as "both changed" below);
 *      - present in base and gone on one side: gone, whatever the other
 *        side did (a flag change, a move, new content): deletion wins;
 *      - otherwise each part of its state three-way: the side that
 *        changed it wins; both changed it differently: cur over new (a
 *        move new/ → cur/ on either side holds), the smaller folder path,
 *        the smaller inode number, the larger size (then the smaller
 *        CID) of content, the larger mode, uid, gid, the later mtime —
 *        never "the local one", so messages merge the same whichever side
 *        is local;
 *      - flags one by one: a flag added (or removed) on one side and
 *        untouched on the other is added (removed): S on one side and F on
 *        the other give ":2,FS".
 *    The merged name is local's name if local's has the merged cur/new,
 *    ":2," and flags, else remote's if that has them, else unique ":2,"
 *    flags in byte order (a name past TREE_NAME_MAX keeps local's).  So
 *    two sides that spell one flag set differently ("SF", "FS": no
 *    program following the Maildir rules does) each keep their spelling.
 *  - Other files (not a message: index files, dovecot-uidlist, keywords,
 *    subscriptions, files in tmp/, symlinks anywhere) are keyed by path,
 *    their whole state three-way (absent, or type, inode number, content,
 *    target, mode, uid, gid, mtime): the side that changed it; both
 *    changed it differently: local's (merge_stats.conflicts counts it).
 *  - Dovecot's index names (maildir_is_index_name) when local->index_local
 *    (the mount makes them local cache files, which no scan sees): the
 *    remote's non-directories under those names are left out, as if
 *    absent.  So an ordinary index file (an earlier release's, or an
 *    index_cache=off device's) is never taken from the other side, never
 *    collides with a local cache file of its name, and leaves local's
 *    when untouched since base (the other side "deleted" it; Dovecot
 *    rebuilds it): the merged tree holds only index files this side
 *    wrote.  (A merge's rule only: the mount keeps it for fast-forwards
 *    by merging instead of taking a tree that holds such files,
 *    fs/mount/follow.h.)  Merging back converges: the other side, its
 *    copy untouched since the merge's base, drops it too.
 *  - Directories are keyed by path.  Present by the three-way of
 *    presence, and present whatever that says when anything the merge
 *    keeps lies below (a folder deleted on one side while mail arrived in
 *    it on the other keeps the folder with that mail; so does one renamed
 *    on one side while mail was filed into it on the other: that mail
 *    stays under the old name), and a Maildir kept this way (its cur/ or
 *    new/ kept) keeps its cur/, new/ and tmp/.
 *    Mode, uid and gid three-way, local's when both changed; times are not
 *    merged.  A directory the merge needs that no tree has (a message
 *    whose merged folder and cur/new come from two sides) takes its
 *    parent's mode and owner.
 *  - A path wanted as a directory and as a file: the directory when
 *    something kept lies below it (the file is dropped; a message there
 *    makes the merge fail, -EEXIST), else a message, else local's choice.
 *
 * Inode numbers.  Every device allocates in its own range (fs/model/tree.h,
 * TREE_INO_RANGE_BITS), so equal numbers in two trees are one file.  The
 * records keep every local inode the merge keeps (the kernel's references
 * stay good) and give every other inode its number from the side it comes
 * from; a number local already uses for something else or one two new
 * inodes would share gets a new one from local->next_ino up.  Only a
 * duplicated range (a copied store directory, which the mount gives a
 * range of its own) puts two files under one number: names of one number
 * that are not the same file (type, content, target) as the one local
 * has stay separate files, the other one renumbered; the devices then
 * disagree on numbers, and a merge again renumbers (names and bytes stay)
 * until one fast-forwards to the other's commit.
 *
 * The records, in order: unlinks of local names the merge drops; local
 * names that must leave a path the merge uses, or a directory it removes,
 * renamed to a temporary name in the root (".ipmd-merge-N", N the first
 * free); rmdirs, deepest first; mkdirs, parents first; then inode by
 * inode, renames into place, creates (then content, then setattr of the
 * mtime) and links; last content and setattr of kept inodes.  Applied in one go under the caller's lock, no
 * reader sees a temporary name.  All times of the records are now; a new
 * inode's mtime is set to the merged one.
 *
 * Determinism: the records depend only on the three trees' names, inode
 * numbers and attributes, local->next_ino and now (everything is sorted by
 * bytes, nothing depends on hash order or memory), so a journal replay
 * that recomputes a merge from the same inputs gets the same records.
 * Content is taken from inode->content: the caller seals files with
 * unsealed writes first.  A merge cannot lose the tree: on any error
 * nothing is returned and local is untouched.
 */
#ifndef IPMD_FS_MODEL_MERGE_H
#define IPMD_FS_MODEL_MERGE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fs/model/record.h"
#include "fs/model/tree.h"
#include "util/attr.h"

/* Longest path (bytes, below the root) a merge handles: -ENAMETOOLONG past
 * it (the kernel's own limit is PATH_MAX; a deeper tree is no mailbox). */
#define MERGE_PATH_MAX 16384
#define MERGE_TEMP_PREFIX ".ipmd-merge-"

/* What the merge does to local, in messages as a commit counts them
 * (fs/model/changes.h), and the other files both sides changed. */
struct merge_stats {
	uint64_t added, removed, renamed;
	uint64_t conflicts;
};

struct merge_plan {
	struct record *recs; /* n records, in order */
	size_t n;
	struct merge_stats stats;
	/* private: the records' strings, one allocation each */
	char **text;
	size_t cap;
};

/*
 * The records that turn local into the merge of local and remote against
 * base (NULL: the empty tree).  *plan is overwritten; free it with
 * merge_plan_free, also after an error.  0, -ENOMEM, -ENAMETOOLONG (a path
 * past MERGE_PATH_MAX), -EEXIST (a message and a kept directory on one
 * path), -ENOSPC (no inode number left).  Records only name inodes local
 * holds or that earlier records create.
 */
IPMD_MUST_CHECK
int merge_plan(struct fs_tree *base, struct fs_tree *local,
	       struct fs_tree *remote, const struct timespec *now,
	       struct merge_plan *plan);
void merge_plan_free(struct merge_plan *plan);

/*
 * Apply plan to local (the tree merge_plan was given, unchanged since),
 * each record by record_apply with release_fn/arg.  A record that fails
 * is counted in *failed (may be NULL) and skipped, as journal replay does;
 * none fails on the tree the plan was made for.  Returns the number of
 * records applied.
 */
size_t merge_apply(struct fs_tree *local, const struct merge_plan *plan,
		   record_release_fn release_fn, void *arg, size_t *failed);

#endif
