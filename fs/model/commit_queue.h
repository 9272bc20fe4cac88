/*
 * fs/model/commit_queue.h — the commits a walk of the commit DAG has
 * reached, each once, and those still to visit, highest seq first
 * (docs/ARCHITECTURE.md, "Several devices: merging histories", walking a
 * DAG).
 *
 * Every edge of the DAG goes down in seq (fs/model/commit.h: a parent's
 * seq is below its child's), so a walk that pops the highest seq and
 * queues the parents of what it popped visits a commit only after every
 * commit above it — its children included — and ends within as many
 * steps as it has commits, whatever the blocks say.  merge_base.c paints
 * two heads' histories with it, fs/store/history.c walks a store's.
 *
 * A node is a commit reached: its CID, its seq and one byte the walk uses
 * as it likes (marks).  cq_add makes a node (cq_find first: one per
 * CID), cq_push queues it, cq_pop hands back the queued node of highest
 * seq; equal seqs (two devices' lines) pop smaller CID bytes first, so
 * every walk of the same blocks goes in one order.  Nodes are numbered
 * 0, 1, … in the order made and stay until cq_free; their addresses move
 * when nodes are added (keep the number, not a pointer).
 *
 * A walk that reads a commit to learn its seq (to queue it) needs it again
 * when it pops it: cq_hold keeps that commit with its node until cq_take
 * hands it back, so each commit of a walk is read and opened once.
 * Held commits are heap memory the queue owns (cq_free frees those still
 * held).
 */
#ifndef IPMD_FS_MODEL_COMMIT_QUEUE_H
#define IPMD_FS_MODEL_COMMIT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "fs/model/commit.h"
#include "ipfs/cid.h"

/* Nodes one queue holds: cq_add answers -EFBIG past it. */
#define COMMIT_QUEUE_MAX (UINT32_C(1) << 30)

struct cq_node {
	struct cid cid;
	uint64_t seq;
	uint8_t marks; /* the walk's own */
};

/* Zero it to start; cq_free after. */
struct commit_queue {
	struct cq_node *nodes;
	size_t n, cap;
	uint32_t *slots; /* node number + 1; 0: empty (open addressing) */
	size_t nslots;   /* a power of two, at least twice n */
	uint32_t *heap;  /* node numbers queued, a max-heap by (seq, -cid) */
	size_t nheap, capheap;
	struct commit **held; /* per node: its commit, held (cq_hold) */
	size_t capheld;
};

/* The node of cid, or -1. */
long cq_find(const struct commit_queue *q, const struct cid *cid);
/* A new node for cid (not in q yet: cq_find first), not queued; its
 * number in *index.  0, -ENOMEM or -EFBIG. */
int cq_add(struct commit_queue *q, const struct cid *cid, uint64_t seq,
	   uint8_t marks, uint32_t *index);
/* Queue node i (once: a node pushed twice pops twice).  0 or -ENOMEM. */
int cq_push(struct commit_queue *q, uint32_t i);
/* The queued node of highest seq, unqueued; q->nheap must be > 0. */
uint32_t cq_pop(struct commit_queue *q);
/* The node cq_pop would hand back next; q->nheap must be > 0. */
static inline const struct cq_node *cq_top(const struct commit_queue *q)
{
	return &q->nodes[q->heap[0]];
}
/* Keep c (malloc'd, taken over: freed here on failure) with node i until
 * cq_take.  0 or -ENOMEM. */
int cq_hold(struct commit_queue *q, uint32_t i, struct commit *c);
/* Node i's held commit, now the caller's (free it), or NULL: none held. */
struct commit *cq_take(struct commit_queue *q, uint32_t i);
/* Frees the nodes and every commit still held. */
void cq_free(struct commit_queue *q);

#endif
