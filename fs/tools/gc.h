/*
 * fs/tools/gc.h — the gc engine: which blocks no retained state needs, and
 * freeing them (here, and unpinning them on a node).
 *
 * The rules (fs/cli/cmd_gc.c says them to the user): the history is the
 * commit DAG in history_walk's order (highest seq first); the newest
 * commits kept by --keep-last / --keep-within are retained, counted in
 * that order, with every commit of the last retained seq (two devices'
 * lines may each have one): so every commit of seq ≥ that boundary the
 * head reaches is retained.  Every block they reach is live, and so are:
 * the commit block (only) of each parent below the boundary that a
 * retained commit above it names, so the walks read its seq and end that
 * line there (fs/store/history.h); the blocks of the tree the journal
 * replays to, the blocks carried in the journal, and the blocks the
 * outbox has not uploaded (cache/outbox.h).  Everything else in the local
 * store is dead.
 *
 * A merge the journal holds and no commit names yet (a crash between the
 * two: the next mount redoes it, fs/model/merge_base.h merge_replay)
 * counts as committed: the other device's line from its parent joins the
 * history (retained whatever the rules, down to the lower of its seq and
 * the head's), and every block the journal's replay reads is live — the
 * bases' commits and directory nodes the merge is redone against.
 *
 * Steps, in this order (each returns 0, or -1 with why in msg, one line
 * without the "gc: " the CLI puts before it; nothing here prints):
 *   gc_open     history opened exclusively; refuses a store whose state
 *               files, head or chain don't read (1: nothing committed)
 *   gc_retain   how many of the newest commits stay (g->keep)
 *   gc_mark     the live set (a tick per retained commit, for a bar)
 *   gc_find     the dead blocks (and, with a node, those evicted here)
 *   gc_write_pruned, gc_unpin, gc_free, gc_requeue_kept,
 *               gc_forget_evicted: the sweep
 *   gc_close    always, after gc_open was called (even when it failed)
 *
 * Safety is in the order: STORE/pruned is written before anything goes,
 * here or on a node, so no commit log or fsck still shows ever names a
 * block unpinned (a node's own gc may drop it) or freed; unpinning
 * precedes the local frees, so a node that fails leaves every block it
 * did not finish with here, dead below the boundary already written, to
 * be named and unpinned by the next run (the blocks it did finish with go
 * as they would have: freeing them here is what keeps them from counting
 * as on the node); and after both, every block still here that may have
 * lost its pin is queued for upload again (gc_requeue_kept), since the
 * outbox counts a block here and not pending as on the node
 * (cache/outbox.h): one put again beside a live gc (convergent
 * encryption names equal content alike), or left by a failure, would
 * otherwise never be pinned again, and the node's gc would drop it.  That
 * holds whatever node the unpin ran on: `--node` may name the outbox's
 * node under another address, and for another node the upload only pins
 * again what the outbox's node never unpinned (a dead block so queued
 * stays here until uploaded, then the next gc names it again).
 */
#ifndef IPMD_FS_TOOLS_GC_H
#define IPMD_FS_TOOLS_GC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/store/history.h"
#include "ipfs/cidset.h"

struct gc {
	struct history h;
	struct commit_list chain; /* the DAG from the head and from each
				     journaled merge's parent, highest seq
				     first */
	struct commit head;       /* the head's commit */
	uint64_t roots_seq;       /* the lowest seq of the head and those
				     parents: every commit of seq ≥ it is
				     retained */
	bool pruned_before;       /* it ends where gc pruned it */
	size_t keep;              /* chain[0 .. keep) is retained: every
				     commit of seq ≥ chain[keep - 1]'s */
	struct cid_set *live;
	uint64_t outbox_pending;  /* live because not uploaded yet */
	struct cid_list dead;     /* here and not live: freed */
	struct cid_list evicted;  /* gone from here, dead: unpinned only */
	struct history_journal journal; /* read by gc_open, replayed (and
					   freed) by gc_mark */
	_Atomic uint64_t *bound;  /* the running mount's gc boundary
				     (fs/mount/mount.h gc_bound), moved by
				     gc_write_pruned; NULL offline */
	struct blockstore *beside; /* the running mount's stack under its
				     WAL (fs/tools/gc_live.h), NULL offline:
				     gc_free removes through it, its outbox
				     queues what gc_requeue_kept names and
				     appends to outbox.evicted */
	uint64_t evicted_read;    /* records of outbox.evicted gc_find read
				     (those after: appended since, kept) */
	uint64_t evicted_at;      /* gc_forget_evicted's count of them */
	uint64_t kept_busy;       /* dead, but put again meanwhile: kept */
	/* A gc_unpin that failed (zero: none, or none yet): the node is done
	 * with dead[0 .. dead_done) (unpinned, or not pinned there), which
	 * alone gc_free frees; dead[0 .. dead_reached) and
	 * evicted[0 .. evicted_reached) may have lost their pins there, which
	 * alone gc_requeue_kept looks at; the rest are pinned as they were,
	 * and still here (the dead) for the next run to name. */
	bool unpin_failed;
	size_t dead_done, dead_reached, evicted_reached;
	int walk_error;           /* the first block a walk could not read */
	char walk_path[256];
};

/* Open STORE under ho (ho->lock: HISTORY_LOCK_EXCLUSIVE) and read the
 * history.  0; 1 when nothing is committed yet (nothing to free); -1. */
int gc_open(struct gc *g, const struct history_options *ho, char *msg,
	    size_t msize);

/* Retain the newest keep_last commits (0: no such rule) and those younger
 * than within seconds (< 0: no such rule), and every commit of the last
 * one's seq; with neither rule, all. */
void gc_retain(struct gc *g, unsigned long long keep_last, int64_t within);

/* Mark the live blocks; tick(arg) after each retained commit. */
int gc_mark(struct gc *g, void (*tick)(void *arg), void *arg, char *msg,
	    size_t msize);

/* List the dead blocks; with_evicted: also the dead among those evicted
 * under the cap (only a node holds them, to unpin). */
int gc_find(struct gc *g, bool with_evicted, char *msg, size_t msize);

/* Record chain[keep - 1] as the end of the history (STORE/pruned): its
 * seq is the boundary. */
int gc_write_pruned(struct gc *g, char *msg, size_t msize);

/* Unpin the dead and the evicted on node, a batch at a time
 * (KUBO_UNPIN_BATCH); *unpinned: how many were pinned there (the rest
 * were not).  On a failure, how far it got (g->unpin_failed and the
 * counts after it), and msg says how many the next run is left. */
int gc_unpin(struct gc *g, struct blockstore *node, size_t *unpinned,
	     char *msg, size_t msize);

/* Free the dead blocks here (dry: count only); after a failed gc_unpin,
 * only those it finished with.  tick(arg, bytes) after each.  *freed and
 * *bytes count what went, also when it fails midway. */
int gc_free(struct gc *g, bool dry,
	    void (*tick)(void *arg, uint64_t bytes), void *arg,
	    uint64_t *freed, uint64_t *bytes, char *msg, size_t msize);

/* After gc_unpin (also one that failed partway) and gc_free: every dead
 * or evicted block here now that the unpin may have reached — put again
 * since the mark (kept by gc_free), or left by a failure — queued for
 * upload again, through the mount's outbox (g->beside) or in
 * STORE/outbox.log.  *requeued: how many.
 * Goes on past a failure; 0 or -1 with the first. */
int gc_requeue_kept(struct gc *g, uint64_t *requeued, char *msg,
		    size_t msize);

/* Drop the evicted blocks no longer live from the outbox's list of them
 * (they are unpinned now), under the mount's outbox's lock beside one;
 * records appended since gc_find stay.  A failure is harmless: unpinned
 * again later. */
int gc_forget_evicted(struct gc *g, char *msg, size_t msize);

void gc_close(struct gc *g);

#endif
