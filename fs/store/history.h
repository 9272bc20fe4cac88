/*
 * fs/store/history.h — the read side of a store: open it without mounting, walk
 * the commit DAG, resolve a past state, load its tree.
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
 * its commit/seq name the oldest commit gc kept, and so the boundary of
 * the history: commits below that seq were freed on purpose, and a walk
 * that reaches them ends there normally (dag_walk below).
 */
#ifndef IPMD_FS_STORE_HISTORY_H
#define IPMD_FS_STORE_HISTORY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/keys.h"
#include "fs/model/commit.h"
#include "fs/model/object.h"
#include "fs/model/tree.h"
#include "fs/store/device.h"
#include "fs/store/head.h"
#include "fs/store/journal.h"
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
	/* A running mount's own store, read from inside its process
	 * (store_open_beside): store and pass are then unused, and lock
	 * takes only STORE/readers.  NULL: store_open as usual. */
	const struct store *beside;
	/* With beside and a node: the running mount's blocks (its outbox,
	 * which reads from its node what is not here, and its local
	 * store), read through instead of a stack and a node connection of
	 * h's own; borrowed, history_close leaves them.
	 * NULL: h's own stack (node as above). */
	struct blockstore *beside_blocks, *beside_local;
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
	struct device_state device; /* STORE/device as opened (zeroed when
				       there is none or it does not read):
				       where fetched lines end, this
				       device's number, the peers' head */
	int device_err; /* its device_read: 0, -ENOENT (none), or why it
			   does not read */
	bool borrowed;  /* bs wraps beside_blocks: only the wrapper is h's */
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
 * While set is not NULL, add to it the CID of every block read through h
 * that read (gc keeps what a journal replay reads: the commits and
 * directory nodes a journaled merge is redone from).  Call with NULL to
 * stop: returns 0, or -ENOMEM if a CID could not be added meanwhile.  The
 * set stays the caller's.
 */
struct cid_set;
int history_watch_reads(struct history *h, struct cid_set *set);

/*
 * journal_replay of the store's journal from the generation from names:
 * from->journal_gen, with flags and, when from->journal_first, its file
 * required (head_replay_flags).  The offline readers (gc, fsck, status)
 * all go through here, so none forgets the head's own flag; the mount's
 * replay (fs/mount/mount_replay.c) asks journal_replay the same.
 */
int history_journal_each(struct history *h, const struct head *from,
			 unsigned flags, journal_replay_fn fn, void *arg,
			 struct journal_replay_stats *js);

/*
 * The journal's records from the generation from names (from->journal_gen;
 * from->journal_first: its file must be there), read and opened once
 * (journal_replay) for the passes gc makes over them: the merges'
 * parents, then the replay.  Zero it to start; history_journal_free
 * wipes the plaintext.  history_journal_read: 0, or journal_replay's
 * errors, -ENOMEM (j then holds nothing).
 */
struct history_journal {
	struct history_record *v; /* in the journal's order */
	size_t n, cap;
};
int history_journal_read(struct history *h, const struct head *from,
			 struct history_journal *j);
void history_journal_free(struct history_journal *j);

/*
 * The parent (the other device's head) of every merge record of j,
 * appended to *parents, in the journal's order: a merge journaled and not
 * yet committed makes that line part of the history the next commit
 * names (gc keeps it).  0, -EBADMSG for a merge record that does not
 * parse, -ENOMEM.
 */
struct cid_list;
int history_journal_merges(const struct history_journal *j,
			   struct cid_list *parents);

/*
 * Replay the store's journal from the generation from names (as
 * history_journal_read) over tree, as the
 * offline readers (fsck, gc) do: a block record goes into the overlay as
 * above, a merge is redone from its inputs (merge_replay,
 * fs/model/merge_base.h: the parent's and bases' trees read through the
 * wrapper), any other is applied to tree by record_replay.  fn is told each
 * record's result (block: which kind; cid: the block's when err is 0;
 * err: that call's result) and decides: a non-zero return stops the replay with it.
 * Returns journal_replay's result and fills *js as it does; missing
 * generations (js->missing_gen) are replayed across, as fsck --repair
 * does, for the caller to report.
 */
typedef int (*history_replay_fn)(void *arg, bool block,
				 const struct cid *cid, int err);
struct journal_replay_stats;
int history_replay_journal(struct history *h, struct fs_tree *tree,
			   const struct head *from, history_replay_fn fn,
			   void *arg, struct journal_replay_stats *js);
/* The same over the records of j, read before: 0, or fn's non-zero. */
int history_replay_records(struct history *h, const struct history_journal *j,
			   struct fs_tree *tree, history_replay_fn fn,
			   void *arg);

/* Read and verify one commit (commit_read through the wrapper). */
IPMD_MUST_CHECK
int history_commit(struct history *h, const struct cid *cid,
		   struct commit *c);
/* Load a commit's tree (manifest_load); free with tree_free. */
IPMD_MUST_CHECK
int history_tree(struct history *h, const struct commit *c,
		 struct fs_tree **out);

/* ---- the history, newest first (history_walk.c) ---- */

/*
 * Commits form a DAG (fs/model/commit.h: a merge names other parents in
 * "merged"), every edge going down in seq.  Two walks:
 *  - dag_walk: every commit reachable from `from`, each once, highest seq
 *    first (equal seqs: smaller CID bytes first), with a max-heap by seq
 *    and a CID table (fs/model/commit_queue.h): what log, gc, fsck,
 *    archive and export --car read.
 *  - chain_walk: the first-parent line only ("parent"): one device's own
 *    commits and the merges it made — what --at SEQ names.
 * Each commit is read and verified (signature: a merged parent is a
 * commit of the same key); every edge must go down in seq (-EPROTO), and
 * a visited commit without parents must be seq 1 (-EPROTO, parentless),
 * but at or below the boundary (fsck --repair cut the history there).
 *
 * Where gc cut the history: pruned (may be NULL or empty) is STORE/pruned's
 * commit, the oldest gc kept; its seq B is the boundary.  A visited commit
 * whose seq is at most B, or that is pruned itself, ends its line: its
 * parents were freed on purpose and are not read.  A parent reached from
 * above B whose seq is below B is read (gc keeps the commit block of
 * each such parent, only it: fs/tools/gc.h) and ends its line too,
 * unvisited.  Both set stop->pruned.  So every commit of seq ≥ B the
 * head reaches is visited and must read; a parent missing above the
 * boundary is damage (-ENOENT), unless flags has DAG_MISSING_ENDS_LINE
 * (export --car: what is there), which ends that line instead and sets
 * stop->missing.
 */

/*
 * Where lines end on purpose, beside gc's boundary (pruned, as above): a
 * line fetched from another device whose older commits that device's gc
 * freed before this store fetched them (fs/store/device.h, "ends",
 * recorded by the mount's sync).  A parent the store lacks of a commit in
 * fetched[0..nfetched) ends that line (stop->fetched), as gc's boundary
 * does; a parent missing anywhere else is still damage.
 *
 * absent: a reader with no record of either (a --from-node view of
 * another machine's history, fs/mount/remote.h, which has neither its
 * STORE/pruned nor its STORE/device): a parent the store says it lacks
 * ends that line too (stop->fetched): its get fails -ENOENT, or
 * -ETIMEDOUT and bs_has then says 0 (for a node: not found on the
 * network within its timeout and not held by the node itself, which it
 * answers at once, ipfs/bs_kubo.h; a node too slow for that answer too is
 * -ETIMEDOUT, an error: no answer).  A parent held only by a peer too
 * slow for the node's timeout ends the line as well: no answer tells
 * such a peer from none (asking the routing for providers first would).
 * Only below a commit that read:
 * where the walk starts must read.  A parent that reads but does not
 * verify (-EBADMSG, -EKEYREJECTED: bytes a node sent that do not hash
 * too), an edge that does not go down in seq, or one the store has yet
 * does not give (bs_has 1, or any other error: a node that does not
 * answer) stays damage.
 */
struct walk_ends {
	const struct cid *pruned; /* may be NULL */
	const struct cid *fetched;
	size_t nfetched;
	bool absent;
};

/* How a walk ended. */
struct chain_stop {
	int error;        /* 0: every line ended normally */
	bool pruned;      /* a line ended at gc's boundary */
	bool fetched;     /* a line ended where a fetched line ends */
	bool missing;     /* DAG_MISSING_ENDS_LINE ended a line */
	struct cid at;    /* the commit that failed (error != 0) */
	struct cid child; /* the commit whose parent at is (len 0: at is where
			     the walk started, or is parentless itself) */
	bool merged;      /* at is a merged parent of child, not its first */
	uint64_t want_seq; /* the highest seq at may have: child's - 1 (0:
			      unknown, at is where the walk started) */
	uint64_t got_seq;  /* the seq it had (error -EPROTO) */
	bool parentless;   /* -EPROTO: it has no parent, yet seq ≠ 1 */
	uint64_t commits;  /* commits passed to fn */
	uint64_t merges;   /* of them, merges */
};

/* fn returns 0 to go on, WALK_END_LINE to follow none of this commit's
 * parents (the walk goes on with the other lines; chain_walk ends), or
 * anything else to stop the walk with it. */
typedef int (*chain_fn)(const struct cid *cid, const struct commit *c,
			void *arg);
#define WALK_END_LINE INT_MAX

/* dag_walk's flags. */
enum { DAG_MISSING_ENDS_LINE = 1 };

/*
 * The walks above from commit `from`; fn (may be NULL) is given each
 * commit visited.  Returns 0 when every line ended normally; fn's return
 * other than 0 and WALK_END_LINE (stop set with error 0); or the walk's
 * error, also in stop: -ENOENT missing, -EBADMSG does not open,
 * -EKEYREJECTED bad signature, -EPROTO an edge whose seq does not fall or
 * a parentless commit that is not seq 1; -ENOMEM (dag_walk), -EFBIG (more
 * than COMMIT_QUEUE_MAX commits).
 */
int dag_walk(struct blockstore *bs, const struct mailbox_keys *keys,
	     const struct cid *from, const struct cid *pruned, unsigned flags,
	     chain_fn fn, void *arg, struct chain_stop *stop);
int chain_walk(struct blockstore *bs, const struct mailbox_keys *keys,
	       const struct cid *from, const struct cid *pruned, chain_fn fn,
	       void *arg, struct chain_stop *stop);
/* The walks with every end (walk_ends above); dag_walk and chain_walk
 * are these with gc's boundary only. */
int dag_walk_ends(struct blockstore *bs, const struct mailbox_keys *keys,
		  const struct cid *from, const struct walk_ends *we,
		  unsigned flags, chain_fn fn, void *arg,
		  struct chain_stop *stop);
int chain_walk_ends(struct blockstore *bs, const struct mailbox_keys *keys,
		    const struct cid *from, const struct walk_ends *we,
		    chain_fn fn, void *arg, struct chain_stop *stop);
/* h's ends: STORE/pruned's and STORE/device's (valid while h is). */
struct walk_ends history_ends(const struct history *h);
/* dag_walk_ends from h's head, with h's ends. */
int history_walk(struct history *h, chain_fn fn, void *arg,
		 struct chain_stop *stop);
/* h's STORE/pruned commit, or NULL (none, or it does not read). */
const struct cid *history_pruned(const struct history *h);
/* gc's boundary in store s now, for walks outside a struct history (the
 * mount's merges, fs/model/merge_base.h _within): STORE/pruned read
 * afresh (s->state may be older) and the seq of its commit read in bs,
 * as the walks above take it; 0 when there is none or it does not read.
 * A mount reads it once, at open, and a gc beside it moves its copy
 * (fs/mount/mount.h gc_bound). */
uint64_t store_gc_boundary(const struct store *s, struct blockstore *bs);

/* The commits a walk passes, in its order: give commit_list_add and a
 * zeroed list to a walk.  -ENOMEM stops the walk.  The commits hold their
 * trees' keys: commit_list_free wipes them. */
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
 * Find the commit at names, walking from `head`: a SEQ along the
 * first-parent line (chain_walk: two devices' lines may both have a
 * commit of that seq; the line names one), a TIME over the DAG (dag_walk,
 * each line down to its first commit at or before TIME: of those the
 * latest, on equal times the higher seq), a CID directly (any commit this
 * key signed, but none below gc's boundary).  -ENOENT: no such commit (or
 * gc freed it), else the walk's errors.  *cid and *c on success.
 */
IPMD_MUST_CHECK
int history_resolve(struct blockstore *bs, const struct mailbox_keys *keys,
		    const struct cid *head, const struct cid *pruned,
		    const struct history_at *at, struct cid *cid,
		    struct commit *c);
/* The same with every end (walk_ends above). */
IPMD_MUST_CHECK
int history_resolve_ends(struct blockstore *bs,
			 const struct mailbox_keys *keys,
			 const struct cid *head, const struct walk_ends *we,
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
