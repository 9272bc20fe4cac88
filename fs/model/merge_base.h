/*
 * fs/model/merge_base.h — what two heads have in common: their merge bases
 * (the common ancestors no other common ancestor descends from), and the
 * tree a merge compares both sides against (docs/ARCHITECTURE.md, "Several
 * devices: merging histories").
 *
 * The walk paints the two heads' histories down by seq, highest first,
 * from the first parent and every merged one (fs/model/commit.h): every
 * edge must go down in seq (else -EPROTO), so a commit is popped after all
 * of its children and its marks are final then; a commit both heads reach
 * is a base, and everything below a base is marked stale, so only bases
 * no other base descends from are reported.  The walk stops once only
 * stale commits are queued.  A commit the store lacks (-ENOENT: gc freed
 * it, or it was never fetched) ends that line, as a root does: with no
 * common ancestor found the merge runs against the empty tree, which
 * loses nothing (a message deleted on one side before may come back).
 * Every commit is read and verified (commit_read) when reached and again
 * when popped, so memory holds about 80 bytes per commit walked, at most
 * MERGE_WALK_MAX.
 *
 * Several bases (two devices that merged each other's heads at once, a
 * criss-cross) are merged into one virtual base tree, as git's recursive
 * strategy does: with either one alone as base, a message added in the
 * other and deleted since on one side would come back.
 */
#ifndef IPMD_FS_MODEL_MERGE_BASE_H
#define IPMD_FS_MODEL_MERGE_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "crypto/keys.h"
#include "fs/model/commit.h"
#include "fs/model/object.h"
#include "fs/model/record.h"
#include "fs/model/tree.h"
#include "ipfs/blockstore.h"
#include "util/attr.h"

/* Bases reported (more are counted in truncated; a criss-cross has 2). */
#define MERGE_BASES_MAX 8
/* Commits one walk may visit: -EFBIG past it. */
#define MERGE_WALK_MAX (1u << 22)
/* Levels of virtual bases (bases of bases) built before the first base
 * alone is taken. */
#define MERGE_BASE_DEPTH_MAX 4

/* Ends of b's line reported (more are counted in ends_truncated). */
#define MERGE_ENDS_MAX 8

struct merge_bases {
	size_t n;         /* 0: no common ancestor */
	size_t truncated; /* more bases than MERGE_BASES_MAX: how many */
	struct cid cid[MERGE_BASES_MAX];   /* by seq falling, then CID bytes */
	struct commit c[MERGE_BASES_MAX];
	/* Commits only b reaches whose parent the store lacks: where the
	 * line fetched from another device ends (its gc freed the rest),
	 * for the walkers (fs/store/device.h "ends").  a's missing parents
	 * are this store's own gc's, not listed. */
	size_t nends, ends_truncated;
	struct cid ends[MERGE_ENDS_MAX];
	uint64_t bound; /* the walk's gc boundary (_within), 0: none */
};

/*
 * The merge bases of heads a and b.  If one contains the other, that one
 * is the only base (a == b: a).  a NULL or empty (a device that has no
 * head yet): no base, and b's whole history is walked for its ends.  0, or -ENOMEM, -EFBIG (more than
 * MERGE_WALK_MAX commits), -EPROTO (an edge that does not go down in seq),
 * commit_read's errors but -ENOENT (a head that is missing is -ENOENT
 * too).
 */
IPMD_MUST_CHECK
int merge_find_bases(struct blockstore *bs, const struct mailbox_keys *keys,
		     const struct cid *a, const struct cid *b,
		     struct merge_bases *out);

/*
 * Is anc an ancestor of (or equal to) head?  1, 0 or a negative errno as
 * merge_find_bases (it is a merge_find_bases that stops early).
 */
IPMD_MUST_CHECK
int merge_contains(struct blockstore *bs, const struct mailbox_keys *keys,
		   const struct cid *head, const struct cid *anc);

/*
 * The same walks within gc's boundary bound (the seq of STORE/pruned's
 * commit, fs/store/history.h; 0: none), which ends lines as history_walk
 * does: a commit of seq at most bound is visited but its parents are not
 * read (gc freed what lies below them, or a live gc is freeing it now),
 * and one below bound, reached as a parent, is read for its seq only: it
 * is never a base (gc kept its commit block, not its tree).  Only
 * merge_contains_within reads the parents of a commit at bound (gc kept
 * their blocks): anc may be one.  Bases found this way carry bound, and
 * merge_base_tree's walks between them keep it.  merge_find_bases and
 * merge_contains are these with bound 0.
 */
IPMD_MUST_CHECK
int merge_find_bases_within(struct blockstore *bs,
			    const struct mailbox_keys *keys,
			    const struct cid *a, const struct cid *b,
			    uint64_t bound, struct merge_bases *out);
IPMD_MUST_CHECK
int merge_contains_within(struct blockstore *bs,
			  const struct mailbox_keys *keys,
			  const struct cid *head, const struct cid *anc,
			  uint64_t bound);

/*
 * The tree to merge against for bases: none → *out = NULL (the empty
 * tree); one → its tree; several → the first's tree with each next one
 * merged in (merge_plan, the first as local), each step against the
 * virtual base of the first and that one, recursively up to
 * MERGE_BASE_DEPTH_MAX levels, beyond which the first base alone.  now is
 * the time of the virtual merges' records (deterministic: the caller's
 * merge time).  st must read the store (manifest_load).  Free with
 * tree_free.  0, or the errors of manifest_load, commit_read,
 * merge_find_bases and merge_plan.
 */
IPMD_MUST_CHECK
int merge_base_tree(struct obj_store *st, const struct mailbox_keys *keys,
		    const struct merge_bases *bases,
		    const struct timespec *now, struct fs_tree **out);

/*
 * What redoing a merge needs, as a merge record names it (fs/model/record.h):
 * the parent's commit and tree and the tree of the bases (merge_base_tree
 * at the record's time, within the record's gc boundary; NULL: the empty
 * tree).  The live merge loads its sides from its record too, so both
 * walk between several bases alike.  0, or the errors of
 * commit_read, manifest_load and merge_base_tree; -EINVAL for more bases
 * than MERGE_BASES_MAX.  Free with merge_sides_free (also after an error).
 */
struct record_merge;
struct merge_sides {
	struct commit remote;
	struct fs_tree *remote_tree;
	struct fs_tree *base;
};
IPMD_MUST_CHECK
int merge_sides_load(struct obj_store *st, const struct mailbox_keys *keys,
		     const struct record_merge *m, struct merge_sides *out);
void merge_sides_free(struct merge_sides *s);

/*
 * Replay a merge record on local (journal replay: mount, fsck, gc):
 * merge_sides_load, then merge_plan and merge_apply at the record's time,
 * with release_fn/arg — the records the live merge applied, since the
 * engine is deterministic (merge.h) and local is the tree it merged into.
 * local->index_local becomes the record's (the live merge's, whatever
 * the caller's options are now).  *remote and *stats (each may be NULL):
 * the parent's commit and the merge's counts.  0, or merge_sides_load's
 * and merge_plan's errors (local untouched then).
 */
struct merge_stats;
IPMD_MUST_CHECK
int merge_replay(struct obj_store *st, const struct mailbox_keys *keys,
		 const struct record_merge *m, struct fs_tree *local,
		 record_release_fn release_fn, void *arg,
		 struct commit *remote, struct merge_stats *stats);

#endif
