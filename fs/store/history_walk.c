/* fs/store/history_walk.c — the walks of history.h: the first-parent
 * chain, the whole commit DAG, the list they fill, and --at's commit. */
#include "fs/store/history.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/commit_queue.h"
#include "util/array.h"
#include "util/wipe.h"

/* The seq below which gc freed (STORE/pruned names a commit of that seq):
 * 0 when there is no boundary or its commit does not read (then only
 * the commit itself ends a line). */
static uint64_t boundary_of(struct blockstore *bs,
			    const struct mailbox_keys *keys,
			    const struct cid *pruned)
{
	struct commit c;
	if (!pruned || pruned->len == 0 || commit_read(bs, keys, pruned, &c))
		return 0;
	return c.seq;
}

/* Does the walk stop below c (its parents were freed on purpose)? */
static bool ends_line(const struct cid *cid, const struct commit *c,
		      const struct cid *pruned, uint64_t bound)
{
	return (bound && c->seq <= bound) ||
	       (pruned && pruned->len && cid_equal(pruned, cid));
}

/* ================= the first-parent chain ================= */

/* Is cid where a fetched line ends (its parents missing on purpose)? */
static bool fetched_end(const struct walk_ends *we, const struct cid *cid)
{
	for (size_t i = 0; we && i < we->nfetched; i++)
		if (cid_equal(&we->fetched[i], cid))
			return true;
	return false;
}

/* Does parent p of child ccid end its line though its read failed (e)?
 * A recorded end, or (we->absent) a parent the store says it lacks. */
static bool line_end(struct blockstore *bs, const struct walk_ends *we,
		     const struct cid *ccid, const struct cid *p, int e)
{
	if (e == -ENOENT && fetched_end(we, ccid))
		return true;
	if (!we || !we->absent)
		return false;
	/* The get said it (the outbox passes the node's answer through).
	 * A timeout is a node that gave up looking or one too slow to
	 * answer (ipfs/bs_kubo.h): has() asks its own store, answered at
	 * once, so only a node that does not hold the block says 0; a slow
	 * one times out again (-ETIMEDOUT), and the line does not end. */
	return e == -ENOENT || (e == -ETIMEDOUT && bs_has(bs, p) == 0);
}

int chain_walk_ends(struct blockstore *bs, const struct mailbox_keys *keys,
		    const struct cid *from, const struct walk_ends *we,
		    chain_fn fn, void *arg, struct chain_stop *stop)
{
	struct chain_stop unused;
	if (!stop)
		stop = &unused;
	memset(stop, 0, sizeof(*stop));
	const struct cid *pruned = we ? we->pruned : NULL;
	uint64_t bound = boundary_of(bs, keys, pruned);
	struct cid at = *from;
	uint64_t want = 0; /* 0: the head, any seq */
	for (;;) {
		struct commit c;
		int e = commit_read(bs, keys, &at, &c);
		if (e && want && line_end(bs, we, &stop->child, &at, e)) {
			stop->fetched = true;
			return 0;
		}
		if (!e && want && c.seq > want) {
			e = -EPROTO;
			stop->got_seq = c.seq;
		}
		if (!e && want && bound && c.seq < bound) {
			/* A line of the DAG below gc's boundary: kept as a
			 * block so its seq reads, not part of the history. */
			stop->pruned = true;
			return 0;
		}
		if (!e && c.parent.len == 0 && c.seq != 1 &&
		    !(bound && c.seq <= bound)) {
			e = -EPROTO;
			stop->got_seq = c.seq;
			stop->parentless = true;
		}
		if (e) {
			stop->error = e;
			stop->at = at;
			stop->want_seq = want;
			return e;
		}
		stop->commits++;
		stop->merges += c.nmerged > 0;
		int r = fn ? fn(&at, &c, arg) : 0;
		if (r)
			return r == WALK_END_LINE ? 0 : r;
		if (c.parent.len == 0)
			return 0;
		if (ends_line(&at, &c, pruned, bound)) {
			stop->pruned = true;
			return 0;
		}
		/* seq strictly falls (by one, or by more below a repair's
		 * rollback commit or a merge): the walk ends within c.seq
		 * steps whatever the blocks say. */
		want = c.seq - 1;
		stop->child = at;
		at = c.parent;
	}
}

int chain_walk(struct blockstore *bs, const struct mailbox_keys *keys,
	       const struct cid *from, const struct cid *pruned, chain_fn fn,
	       void *arg, struct chain_stop *stop)
{
	struct walk_ends we = {.pruned = pruned};
	return chain_walk_ends(bs, keys, from, &we, fn, arg, stop);
}

/* ================= the DAG ================= */

/* Node marks: read only for its seq, below the boundary, not visited. */
enum { DAG_BELOW = 1 };

struct dag {
	struct blockstore *bs;
	const struct mailbox_keys *keys;
	const struct cid *pruned;
	const struct walk_ends *ends;
	uint64_t bound;
	unsigned flags;
	struct chain_stop *stop;
	struct commit_queue q; /* holds each queued node's commit */
};

/* The walk fails at commit at (a parent of child, or the start). */
static int dag_fail(struct dag *d, int e, const struct cid *at,
		    const struct cid *child, const struct commit *c,
		    bool merged)
{
	struct chain_stop *s = d->stop;
	s->error = e;
	s->at = *at;
	s->child = child ? *child : (struct cid){0};
	s->merged = merged;
	s->want_seq = c ? c->seq - 1 : 0;
	return e;
}

/* Queue node k holding *pc (taken over, freed on failure). */
static int dag_hold(struct dag *d, uint32_t k, struct commit *pc)
{
	int e = cq_hold(&d->q, k, pc);
	return e ? e : cq_push(&d->q, k);
}

/* Reach parent p of commit c (cid ccid): read it, check the edge, queue
 * it — or, below the boundary, only note that the line ends there. */
static int dag_reach(struct dag *d, const struct cid *ccid,
		     const struct commit *c, const struct cid *p, bool merged)
{
	long i = cq_find(&d->q, p);
	if (i >= 0) {
		if (d->q.nodes[i].seq < c->seq)
			return 0; /* queued, visited or below: reached once */
		d->stop->got_seq = d->q.nodes[i].seq;
		return dag_fail(d, -EPROTO, p, ccid, c, merged);
	}
	struct commit *pc = malloc(sizeof(*pc));
	int e = pc ? commit_read(d->bs, d->keys, p, pc) : -ENOMEM;
	if (e && e != -ENOMEM && line_end(d->bs, d->ends, ccid, p, e)) {
		free(pc); /* another device's gc freed it: the line ends */
		d->stop->fetched = true;
		return 0;
	}
	if (e == -ENOENT && (d->flags & DAG_MISSING_ENDS_LINE)) {
		free(pc);
		d->stop->missing = true;
		return 0;
	}
	if (!e && pc->seq >= c->seq) {
		d->stop->got_seq = pc->seq;
		e = -EPROTO;
	}
	if (e) {
		free(pc);
		return e == -ENOMEM ? e : dag_fail(d, e, p, ccid, c, merged);
	}
	bool below = d->bound && pc->seq < d->bound;
	uint32_t k;
	e = cq_add(&d->q, p, pc->seq, below ? DAG_BELOW : 0, &k);
	if (e || below) {
		free(pc);
		d->stop->pruned |= below;
		return e;
	}
	return dag_hold(d, k, pc);
}

/* Visit the commit of node k: check it, hand it to fn, reach its
 * parents.  fn's non-zero return or the walk's error. */
static int dag_visit(struct dag *d, uint32_t k, chain_fn fn, void *arg)
{
	struct commit *c = cq_take(&d->q, k);
	struct cid cid = d->q.nodes[k].cid;
	int r = 0;
	if (c->parent.len == 0 && c->seq != 1 &&
	    !(d->bound && c->seq <= d->bound)) {
		d->stop->got_seq = c->seq;
		d->stop->parentless = true;
		r = dag_fail(d, -EPROTO, &cid, NULL, NULL, false);
		/* the child is unknown here: want_seq stays 0 */
	}
	if (!r) {
		d->stop->commits++;
		d->stop->merges += c->nmerged > 0;
		r = fn ? fn(&cid, c, arg) : 0;
	}
	if (r == WALK_END_LINE)
		r = 0; /* fn wants none of its parents */
	else if (!r && c->parent.len &&
		 ends_line(&cid, c, d->pruned, d->bound))
		d->stop->pruned = true;
	else if (!r && c->parent.len) {
		r = dag_reach(d, &cid, c, &c->parent, false);
		for (unsigned m = 0; !r && m < c->nmerged; m++)
			r = dag_reach(d, &cid, c, &c->merged[m], true);
	}
	free(c);
	return r;
}

int dag_walk_ends(struct blockstore *bs, const struct mailbox_keys *keys,
		  const struct cid *from, const struct walk_ends *we,
		  unsigned flags, chain_fn fn, void *arg,
		  struct chain_stop *stop)
{
	struct chain_stop unused;
	if (!stop)
		stop = &unused;
	memset(stop, 0, sizeof(*stop));
	const struct cid *pruned = we ? we->pruned : NULL;
	struct dag d = {.bs = bs, .keys = keys, .pruned = pruned, .ends = we,
			.bound = boundary_of(bs, keys, pruned),
			.flags = flags, .stop = stop};
	struct commit *c = malloc(sizeof(*c));
	int e = c ? commit_read(bs, keys, from, c) : -ENOMEM;
	uint32_t k;
	if (e) {
		free(c);
		if (e != -ENOMEM)
			dag_fail(&d, e, from, NULL, NULL, false);
		return e;
	}
	e = cq_add(&d.q, from, c->seq, 0, &k);
	if (e)
		free(c);
	else
		e = dag_hold(&d, k, c);
	while (!e && d.q.nheap)
		e = dag_visit(&d, cq_pop(&d.q), fn, arg);
	cq_free(&d.q); /* and the commits still queued when it stopped */
	return e;
}

int dag_walk(struct blockstore *bs, const struct mailbox_keys *keys,
	     const struct cid *from, const struct cid *pruned, unsigned flags,
	     chain_fn fn, void *arg, struct chain_stop *stop)
{
	struct walk_ends we = {.pruned = pruned};
	return dag_walk_ends(bs, keys, from, &we, flags, fn, arg, stop);
}

struct walk_ends history_ends(const struct history *h)
{
	return (struct walk_ends){.pruned = history_pruned(h),
				  .fetched = h->device.ends,
				  .nfetched = h->device.nends};
}

int history_walk(struct history *h, chain_fn fn, void *arg,
		 struct chain_stop *stop)
{
	const struct state_set *st = &h->store.state;
	if (st->head_err || st->head.commit.len == 0) {
		if (stop)
			memset(stop, 0, sizeof(*stop));
		return st->head_err ? st->head_err : 0;
	}
	struct walk_ends we = history_ends(h);
	return dag_walk_ends(h->bs, &h->store.keys, &st->head.commit, &we, 0,
			     fn, arg, stop);
}

const struct cid *history_pruned(const struct history *h)
{
	const struct state_set *st = &h->store.state;
	return st->pruned_err ? NULL : &st->pruned.commit;
}

uint64_t store_gc_boundary(const struct store *s, struct blockstore *bs)
{
	struct head p;
	bool untyped;
	/* Read afresh: a gc run beside the mount (fs/tools/gc_live.h) moves
	 * it after the store was opened. */
	if (head_read(s->paths.pruned, s->keys.journal, BLOCK_STATE_PRUNED, &p,
		      &untyped) != 0)
		return 0;
	return boundary_of(bs, &s->keys, &p.commit);
}

int commit_list_add(const struct cid *cid, const struct commit *c,
		    void *list)
{
	struct commit_list *l = list;
	/* Two arrays of one capacity: l->cap moves with the second. */
	size_t cap = l->cap;
	struct cid *a = array_grow(l->cids, l->n, &cap, sizeof(*a), 64);
	if (!a)
		return -ENOMEM;
	l->cids = a;
	/* A commit holds its tree's key: grown and freed wiped. */
	struct commit *b =
		array_grow_wiped(l->commits, l->n, &l->cap, sizeof(*b), 64);
	if (!b)
		return -ENOMEM;
	l->commits = b;
	l->cids[l->n] = *cid;
	l->commits[l->n++] = *c;
	return 0;
}

void commit_list_free(struct commit_list *l)
{
	free(l->cids);
	wipe_free(l->commits, l->cap * sizeof(*l->commits));
	memset(l, 0, sizeof(*l));
}

/* ================= --at ================= */

struct find {
	const struct history_at *at;
	struct cid cid;
	struct commit c;
	bool found;
};

/* --at SEQ, along the first-parent line: seqs only fall there. */
static int find_seq(const struct cid *cid, const struct commit *c, void *arg)
{
	struct find *f = arg;
	if (c->seq < f->at->seq)
		return 1; /* passed it */
	if (c->seq != f->at->seq)
		return 0;
	f->cid = *cid;
	f->c = *c;
	f->found = true;
	return 1;
}

/* --at TIME, over the DAG: the latest time at or before it (devices'
 * clocks need not follow seq); of equal times the higher seq, met first.
 * A line is walked down until it passes TIME: below a commit at or
 * before it, commits are older (a commit is made after its parents; a
 * clock set back between two devices may hide one), and a mount from a
 * node need not fetch the whole history. */
static int find_time(const struct cid *cid, const struct commit *c,
		     void *arg)
{
	struct find *f = arg;
	if (c->time_ns > f->at->time_ns)
		return 0;
	if (!f->found || c->time_ns > f->c.time_ns) {
		f->cid = *cid;
		f->c = *c;
		f->found = true;
	}
	return WALK_END_LINE;
}

int history_resolve(struct blockstore *bs, const struct mailbox_keys *keys,
		    const struct cid *head, const struct cid *pruned,
		    const struct history_at *at, struct cid *cid,
		    struct commit *c)
{
	struct walk_ends we = {.pruned = pruned};
	return history_resolve_ends(bs, keys, head, &we, at, cid, c);
}

int history_resolve_ends(struct blockstore *bs,
			 const struct mailbox_keys *keys,
			 const struct cid *head, const struct walk_ends *we,
			 const struct history_at *at, struct cid *cid,
			 struct commit *c)
{
	const struct cid *pruned = we->pruned;
	if (at->kind == AT_CID) {
		/* Any commit this key signed, but not one gc dropped: below
		 * the boundary only a commit block may be left. */
		uint64_t bound = boundary_of(bs, keys, pruned);
		int e = commit_read(bs, keys, &at->cid, c);
		if (!e && bound && c->seq < bound)
			e = -ENOENT;
		if (!e)
			*cid = at->cid;
		return e;
	}
	if (!head || head->len == 0)
		return -ENOENT;
	struct find f = {.at = at};
	int e = at->kind == AT_SEQ
			? chain_walk_ends(bs, keys, head, we, find_seq, &f, NULL)
			: dag_walk_ends(bs, keys, head, we, 0, find_time, &f,
					NULL);
	if (f.found && (at->kind == AT_SEQ || e == 0)) {
		*cid = f.cid;
		*c = f.c;
		return 0;
	}
	return e < 0 ? e : -ENOENT;
}
