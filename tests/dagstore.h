/*
 * tests/dagstore.h — DAG-shaped histories in a real store, for tests:
 * lines of commits from one commit, each adding one message, and merge
 * commits of two lines made by the merge engine (fs/model/merge.h,
 * merge_base.h) and written with their other parent in "merged" — what a
 * mount's sync will write, without the mount (docs/ARCHITECTURE.md,
 * "Several devices").  Used by tests/unit (test_gc_fsck) and by the
 * integration scripts through tests/tools/dag_commit.
 *
 * Each line writes in one device's inode range (fs/model/tree.h,
 * tree_set_range): device D numbers D << TREE_INO_RANGE_BITS + n, and a
 * commit lists every range in use in "inos" (version 2) once a range
 * other than device 0's is in its tree or a parent's.  Nothing here
 * touches STORE/head but dagstore_set_head; the journal is never
 * written, so the store must have none pending (unmounted, committed).
 * Functions return 0 or a negative errno; nothing prints.
 */
#ifndef IPMD_TESTS_DAGSTORE_H
#define IPMD_TESTS_DAGSTORE_H

#include <stdint.h>

#include "crypto/keys.h"
#include "fs/model/commit.h"
#include "fs/model/object.h"
#include "fs/store/store.h"
#include "ipfs/cid.h"

struct dagstore {
	struct store_paths paths;
	struct mailbox_keys keys;
	struct blockstore *bs; /* the store's blocks (bs_local) */
	struct obj_store st;   /* can seal */
	int64_t time_ns;       /* the next commit's time; 0: the clock's */
};

/* Open STORE (its key file unwrapped: init --no-passphrase). */
int dagstore_open(struct dagstore *d, const char *store);
void dagstore_close(struct dagstore *d);

/* STORE/head's commit (-ENOENT: none yet). */
int dagstore_head(struct dagstore *d, struct cid *cid);

/*
 * A commit on `from` whose tree is from's with one message more,
 * cur/NAME ("Subject: NAME", a few hundred bytes that differ by name),
 * numbered in device's range: seq from's + 1, parent from.  *out names
 * it.  -EEXIST: cur/NAME is there already.
 */
int dagstore_add(struct dagstore *d, const struct cid *from, uint64_t device,
		 const char *name, struct cid *out);

/*
 * The merge of remote into local, as device's sync would make it: bases
 * (merge_find_bases; none: the empty tree), the virtual base of several,
 * merge_plan + merge_apply on local's tree, a commit with parent local,
 * merged [remote], seq 1 + the larger of theirs (seq > 0: that seq
 * instead, to forge an edge that does not fall), the merge's counts, the
 * ranges of both.  *out names it.
 */
int dagstore_merge(struct dagstore *d, const struct cid *local,
		   const struct cid *remote, uint64_t device, uint64_t seq,
		   struct cid *out);

/* STORE/head and STORE/seen := commit cid (the head's journal generation
 * kept, max_seq raised to its seq if below). */
int dagstore_set_head(struct dagstore *d, const struct cid *cid);

#endif
