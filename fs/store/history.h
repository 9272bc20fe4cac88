/*
 * fs/store/history.h — the read side of a store: open it without mounting, walk
 * the commit chain, resolve a past state, load its tree.
 *
 * Used by log, status, fsck, gc, `mount --at` and archive.  Nothing here
 * writes, except history_write_pruned (gc) and the head repairs fsck asks
 * for through fs/store/head.h.
 *
 * What is safe to read while a mount writes
 *  - STORE/head and STORE/seen are replaced by rename: a reader sees the
 *    old or the new file, never half of one.
 *  - Blocks are immutable and appear by rename: a commit, once readable,
 *    stays readable until gc frees it — and gc refuses to run while the
 *    mailbox is mounted or any past state is being read (below).
 *  - The journal is appended to, rotated and dropped by the mount: a reader
 *    may see a torn last record or a file vanish.  Readers that need the
 *    journal (fsck, gc) check history_mounted() and leave it alone.
 *
 * Locks: store_open's (fs/store/store_open.h).  HISTORY_LOCK_EXCLUSIVE
 * takes STORE/lock, so a mount can't start under gc or fsck --repair (and
 * they refuse to run under one); every reader of past states holds
 * STORE/readers, which gc takes exclusively.
 *
 * STORE/pruned: sealed like the head (fs/store/head.h, state_read reads all
 * three; under HISTORY_LOCK_EXCLUSIVE untyped ones are rewritten typed),
 * its commit/seq name the
 * oldest commit gc kept.  That commit's parent was freed on purpose: a
 * chain that ends there ends normally.
 */
#ifndef IPMD_FS_STORE_HISTORY_H
#define IPMD_FS_STORE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/keys.h"
#include "fs/model/commit.h"
#include "fs/model/object.h"
#include "fs/model/tree.h"
#include "fs/store/head.h"
#include "fs/store/store.h"
#include "fs/store/store_open.h"
#include "util/attr.h"

/* "2026-11-23T05:00:00Z" and its NUL. */
#define HISTORY_TIME_MAX 32

/* store_open's kinds (fs/store/store_open.h) a reader takes. */
enum history_lock {
	HISTORY_LOCK_NONE = STORE_LOCK_NONE, /* log, status: read commits */
	HISTORY_LOCK_READ = STORE_LOCK_READ, /* readers shared: gc waits */
	HISTORY_LOCK_EXCLUSIVE = STORE_LOCK_EXCLUSIVE, /* gc, fsck --repair */
};

struct history_options {
	const char *store; /* NULL: the default */
	struct passphrase_source pass;
	enum history_lock lock;
	const char *node;  /* blocks missing here are read from this IPFS node
			      (fs/mount/node.h), read-only; NULL: local only */
};

struct history {
	/* Paths, keys, locks and the state files (head, seen, pruned; each
	 * *_err 0, -ENOENT or -EBADMSG): store_open's. */
	struct store store;
	struct blockstore *local; /* the store's own blocks (bs_local) */
	struct blockstore *bs;    /* the stack (fs/store/stack.h: local, or
				     the outbox over it with a node) under a
				     wrapper that remembers the last block
				     that failed to read; owns it all */
	struct obj_store st;      /* read-only: no convergence secret */
};

/* 0, or -1 with one line in msg (store_open's: no mailbox, keys, lock
 * refused: "is mounted" / "gc is running" …; the stack's).
 * history_close is always safe after. */
IPMD_MUST_CHECK
int history_open(struct history *h, const struct history_options *o,
		 char *msg, size_t msgsize);
void history_close(struct history *h);

/* state_check (fs/store/head.h) of h's state files: what a writer would refuse
 * to build on (store_state_problem). */
IPMD_MUST_CHECK
enum state_problem history_state_problem(struct history *h);

/* Is the mailbox mounted read-write (store_writer_active)?  1, 0, or
 * negative errno.  Always 0 under HISTORY_LOCK_EXCLUSIVE (we hold it). */
IPMD_MUST_CHECK
int history_mounted(struct history *h);

/* The block whose read failed last (and how), since the last clear: fsck
 * names the exact block behind a failed tree load or index walk. */
bool history_last_bad(struct history *h, struct cid *cid, int *err);
void history_clear_bad(struct history *h);

/*
 * Give the wrapper blocks to serve when the store lacks them (the block
 * records of a journal, which replay would put back).  The bytes are
 * copied; they must hash to their CID (-EBADMSG).  0 or -ENOMEM.
 */
int history_add_overlay(struct history *h, const uint8_t *block, size_t len,
			struct cid *cid);

/*
 * Replay the store's journal from generation from_gen over tree, as the
 * offline readers (fsck, gc) do: a block record goes into the overlay as
 * above, a merge is redone from its inputs (merge_replay,
 * fs/model/merge_base.h: the parent's and bases' trees read through the
 * wrapper), any other is applied to tree by record_replay.  fn is told each
 * record's result (block: which kind; cid: the block's when err is 0;
 * err: that call's result) and decides: a non-zero return stops the replay with it.
 * Returns journal_replay's result and fills *js as it does.
 */
typedef int (*history_replay_fn)(void *arg, bool block,
				 const struct cid *cid, int err);
struct journal_replay_stats;
int history_replay_journal(struct history *h, struct fs_tree *tree,
			   uint64_t from_gen, history_replay_fn fn, void *arg,
			   struct journal_replay_stats *js);

/* Read and verify one commit (commit_read through the wrapper). */
IPMD_MUST_CHECK
int history_commit(struct history *h, const struct cid *cid,
		   struct commit *c);
/* Load a commit's tree (manifest_load); free with tree_free. */
IPMD_MUST_CHECK
int history_tree(struct history *h, const struct commit *c,
		 struct fs_tree **out);

/* ---- the chain, newest first ---- */

/* How a walk ended. */
struct chain_stop {
	int error;        /* 0: reached the first commit or the pruned one */
	bool pruned;      /* ended at the oldest commit gc kept */
	struct cid at;    /* the commit that failed (error != 0) */
	uint64_t want_seq; /* the seq it should have had (0: unknown) */
	uint64_t got_seq;  /* the seq it had (error -EPROTO) */
	bool parentless;   /* -EPROTO: it has no parent, yet seq ≠ 1 */
	uint64_t commits;  /* commits passed to fn */
};

typedef int (*chain_fn)(const struct cid *cid, const struct commit *c,
			void *arg);

/*
 * Walk from commit `from` to the first commit: each is read and verified
 * (signature), and must have seq = its child's seq - 1; the first commit
 * has seq 1 and no parent.  pruned (may be NULL or empty): the commit
 * whose parent gc freed; the walk stops there normally.
 * Returns 0 when the chain ended normally; fn's non-zero return (stop set
 * with error 0); or the chain's error, also in stop: -ENOENT missing,
 * -EBADMSG does not open, -EKEYREJECTED bad signature, -EPROTO wrong seq
 * or a parentless commit that is not seq 1.
 */
int chain_walk(struct blockstore *bs, const struct mailbox_keys *keys,
	       const struct cid *from, const struct cid *pruned, chain_fn fn,
	       void *arg, struct chain_stop *stop);
/* The same from h's head, with h's pruned marker. */
int history_walk(struct history *h, chain_fn fn, void *arg,
		 struct chain_stop *stop);

/* The commits a walk passes, newest first: give commit_list_add and a
 * zeroed list to chain_walk or history_walk.  -ENOMEM stops the walk. */
struct commit_list {
	struct cid *cids;
	struct commit *commits;
	size_t n, cap;
};
int commit_list_add(const struct cid *cid, const struct commit *c,
		    void *list);
void commit_list_free(struct commit_list *l);

/* ---- naming a past state: --at SEQ|CID|TIME ---- */

enum at_kind { AT_SEQ, AT_CID, AT_TIME };
struct history_at {
	enum at_kind kind;
	uint64_t seq;
	struct cid cid;
	int64_t time_ns; /* the newest commit at or before this */
};

/* Digits: a seq; "bafk…": a commit CID; ISO-8601 UTC ("2026-11-23",
 * "2026-11-23T05:00", "2026-11-23T05:00:00Z"): a time.  0 or -EINVAL. */
IPMD_MUST_CHECK
int history_parse_at(const char *spec, struct history_at *at);

/*
 * Find the commit at names, walking from `head` (a CID is read directly:
 * any commit this key signed).  -ENOENT: no such commit in the chain (or
 * it was pruned), else chain_walk's errors.  *cid and *c on success.
 */
IPMD_MUST_CHECK
int history_resolve(struct blockstore *bs, const struct mailbox_keys *keys,
		    const struct cid *head, const struct cid *pruned,
		    const struct history_at *at, struct cid *cid,
		    struct commit *c);

/*
 * For `mount --at`: resolve spec against the store's head and load that
 * tree.  st must be set up over the store's blocks.  0, or -1 with one line
 * in msg.
 */
IPMD_MUST_CHECK
int history_load_at(struct obj_store *st, const struct mailbox_keys *keys,
		    const struct store_paths *paths, const char *spec,
		    struct commit *c, struct fs_tree **tree, char *msg,
		    size_t msgsize);

/* ---- small helpers ---- */

/* "2026-11-23T05:00:00Z" (UTC, whole seconds). */
void history_format_time(int64_t ns, char out[HISTORY_TIME_MAX]);
/* Record c (the oldest commit kept) in STORE/pruned. */
int history_write_pruned(struct history *h, const struct cid *cid,
			 uint64_t seq);

#endif
