/* fs/model/merge_base.c — see merge_base.h. */
#include "fs/model/merge_base.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/commit_queue.h"
#include "fs/model/manifest.h"
#include "fs/model/merge.h"
#include "fs/model/merge_internal.h"

enum mark {
	FROM_A = 1 << 0,
	FROM_B = 1 << 1,
	STALE = 1 << 2, /* below a base found: not a base itself */
};

/* The commits a walk has reached and those queued (commit_queue.h: each
 * queued with the commit reach read, popped with it), and how many of the
 * queued are not stale. */
struct walk {
	struct blockstore *bs;
	const struct mailbox_keys *keys;
	struct commit_queue q;
	size_t live;
	struct merge_bases *out; /* NULL: ends are not recorded */
	uint64_t bound;          /* gc's boundary (merge_base.h), 0: none */
};

/* Does the line end at c (gc freed below it, as history_walk ends it)? */
static bool at_boundary(const struct walk *w, const struct commit *c)
{
	return w->bound && c->seq <= w->bound;
}

static int push(struct walk *w, uint32_t i)
{
	int err = cq_push(&w->q, i);
	if (!err)
		w->live += !(w->q.nodes[i].marks & STALE);
	return err;
}

static uint32_t pop(struct walk *w)
{
	uint32_t top = cq_pop(&w->q);
	w->live -= !(w->q.nodes[top].marks & STALE);
	return top;
}

/* Reach commit cid with marks: a new node is read (for its seq) and
 * queued holding what was read; a queued one gains the marks.  -ENOENT:
 * the store lacks it. */
static int reach(struct walk *w, const struct cid *cid, uint8_t marks,
		 uint64_t below, long *out)
{
	long i = cq_find(&w->q, cid);
	struct commit *c;
	uint32_t k;
	int err;

	if (i >= 0) {
		struct cq_node *nd = &w->q.nodes[i];
		/* Queued until popped, and never reached after (its
		 * children all have higher seqs): the marks land in time. */
		if (!(nd->marks & STALE) && (marks & STALE))
			w->live--;
		nd->marks |= marks;
		*out = i;
		return nd->seq < below ? 0 : -EPROTO;
	}
	if (w->q.n >= MERGE_WALK_MAX)
		return -EFBIG;
	if (!(c = malloc(sizeof(*c))))
		return -ENOMEM;
	if ((err = commit_read(w->bs, w->keys, cid, c)) == 0 &&
	    c->seq >= below)
		err = -EPROTO;
	if (!err)
		err = cq_add(&w->q, cid, c->seq, marks, &k);
	if (err) {
		free(c);
		return err;
	}
	*out = k;
	if ((err = cq_hold(&w->q, k, c)) != 0)
		return err;
	return push(w, k);
}

/* Pop the queued node of highest seq with the commit reach held for it
 * (now the caller's to free; never NULL: reach queues only what it
 * held). */
static uint32_t pop_held(struct walk *w, struct commit **c)
{
	uint32_t i = pop(w);
	*c = cq_take(&w->q, i);
	return i;
}

/* A parent of commit cid (reached with marks) is missing: where b's own
 * line ends, noted once (a's are this store's: gc's boundary). */
static void note_end(struct walk *w, const struct cid *cid, uint8_t marks)
{
	struct merge_bases *o = w->out;
	if (!o || (marks & FROM_A))
		return;
	for (size_t k = 0; k < o->nends; k++)
		if (cid_equal(&o->ends[k], cid))
			return;
	if (o->nends == MERGE_ENDS_MAX)
		o->ends_truncated++;
	else
		o->ends[o->nends++] = *cid;
}

/* Every parent of commit cid reached with marks; a missing one ends its
 * line. */
static int reach_parents(struct walk *w, const struct cid *cid,
			 const struct commit *c, uint8_t marks)
{
	long i;
	int err = 0;

	if (c->parent.len)
		err = reach(w, &c->parent, marks, c->seq, &i);
	for (unsigned k = 0; k <= c->nmerged; k++) {
		if (err == -ENOENT) {
			note_end(w, cid, marks);
			err = 0;
		}
		if (err || k == c->nmerged)
			break;
		err = reach(w, &c->merged[k], marks, c->seq, &i);
	}
	return err;
}

static void walk_free(struct walk *w)
{
	cq_free(&w->q);
}

static int base_cmp(const struct merge_bases *b, size_t x, size_t y)
{
	if (b->c[x].seq != b->c[y].seq)
		return b->c[x].seq > b->c[y].seq ? -1 : 1;
	return cid_compare(&b->cid[x], &b->cid[y]);
}

/* Insertion into the sorted list (it holds at most MERGE_BASES_MAX). */
static void add_base(struct merge_bases *out, const struct cid *cid,
		     const struct commit *c)
{
	size_t k;

	if (out->n == MERGE_BASES_MAX) {
		out->truncated++;
		return;
	}
	out->cid[out->n] = *cid;
	out->c[out->n] = *c;
	for (k = out->n++; k > 0 && base_cmp(out, k, k - 1) < 0; k--) {
		struct cid tc = out->cid[k];
		struct commit t = out->c[k];
		out->cid[k] = out->cid[k - 1];
		out->c[k] = out->c[k - 1];
		out->cid[k - 1] = tc;
		out->c[k - 1] = t;
	}
}

/* Paint down until only stale commits are queued. */
static int paint(struct walk *w, struct merge_bases *out)
{
	int err = 0;

	while (w->live > 0 && !err) {
		struct commit *c;
		uint32_t i = pop_held(w, &c);
		uint8_t marks = w->q.nodes[i].marks;
		struct cid cid = w->q.nodes[i].cid;

		if (!c)
			return -EFAULT;
		/* Below the boundary only the commit block is left: it is
		 * no base (its tree is gone), and its line ends. */
		bool below = w->bound && c->seq < w->bound;
		if ((marks & (FROM_A | FROM_B)) == (FROM_A | FROM_B) &&
		    !(marks & STALE) && !below) {
			add_base(out, &cid, c);
			marks |= STALE;
			w->q.nodes[i].marks = marks;
		}
		if (!at_boundary(w, c))
			err = reach_parents(w, &cid, c, marks);
		free(c);
	}
	return err;
}

int merge_find_bases(struct blockstore *bs, const struct mailbox_keys *keys,
		     const struct cid *a, const struct cid *b,
		     struct merge_bases *out)
{
	return merge_find_bases_within(bs, keys, a, b, 0, out);
}

int merge_find_bases_within(struct blockstore *bs,
			    const struct mailbox_keys *keys,
			    const struct cid *a, const struct cid *b,
			    uint64_t bound, struct merge_bases *out)
{
	struct walk w = {.bs = bs, .keys = keys, .out = out, .bound = bound};
	long ia, ib;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (!bs || !keys || !b)
		return -EINVAL;
	out->bound = bound;
	if (a && a->len)
		err = reach(&w, a, FROM_A, UINT64_MAX, &ia);
	if (!err)
		err = reach(&w, b, FROM_B, UINT64_MAX, &ib);
	if (!err)
		err = paint(&w, out);
	walk_free(&w);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

int merge_contains(struct blockstore *bs, const struct mailbox_keys *keys,
		   const struct cid *head, const struct cid *anc)
{
	return merge_contains_within(bs, keys, head, anc, 0);
}

int merge_contains_within(struct blockstore *bs,
			  const struct mailbox_keys *keys,
			  const struct cid *head, const struct cid *anc,
			  uint64_t bound)
{
	struct walk w = {.bs = bs, .keys = keys, .bound = bound};
	struct commit ac;
	long i;
	int err, found = 0;

	if (!bs || !keys || !head || !anc)
		return -EINVAL;
	if ((err = commit_read(bs, keys, anc, &ac)) != 0)
		return err;
	err = reach(&w, head, FROM_A, UINT64_MAX, &i);
	/* Down to anc's seq: below it nothing can be anc. */
	while (!err && !found && w.q.nheap &&
	       cq_top(&w.q)->seq >= ac.seq) {
		struct commit *c;
		uint32_t k = pop_held(&w, &c);
		struct cid cid = w.q.nodes[k].cid;
		found = cid_equal(&cid, anc);
		/* Unlike a base, anc may be a parent just below the
		 * boundary: gc kept those commit blocks (an old published
		 * head the node still names). */
		if (!c)
			err = -EFAULT;
		else if (!found && !(bound && c->seq < bound))
			err = reach_parents(&w, &cid, c, FROM_A);
		free(c);
	}
	walk_free(&w);
	return err ? err : found;
}

/* ---- the tree to merge against ---- */

static int load_tree(struct obj_store *st, const struct commit *c,
		     struct fs_tree **out)
{
	return manifest_load(st, &c->tree, c->next_ino, out);
}

static int virtual_base(struct obj_store *st, const struct mailbox_keys *keys,
			const struct merge_bases *bases,
			const struct timespec *now, unsigned depth,
			struct fs_tree **out);

/* Merge base i into t (the first base's tree with those before i in),
 * against the virtual base of the first and i. */
static int fold_in(struct obj_store *st, const struct mailbox_keys *keys,
		   const struct merge_bases *bases, size_t i,
		   const struct timespec *now, unsigned depth,
		   struct fs_tree *t)
{
	struct merge_bases sub;
	struct fs_tree *vb = NULL, *other = NULL;
	struct merge_plan plan;
	int err;

	memset(&plan, 0, sizeof(plan));
	err = merge_find_bases_within(st->bs, keys, &bases->cid[0],
				      &bases->cid[i], bases->bound, &sub);
	if (!err)
		err = virtual_base(st, keys, &sub, now, depth + 1, &vb);
	if (!err)
		err = load_tree(st, &bases->c[i], &other);
	if (!err)
		err = merge_plan(vb, t, other, now, &plan);
	if (!err)
		merge_apply(t, &plan, NULL, NULL, NULL);
	merge_plan_free(&plan);
	tree_free(vb);
	tree_free(other);
	return err;
}

static int virtual_base(struct obj_store *st, const struct mailbox_keys *keys,
			const struct merge_bases *bases,
			const struct timespec *now, unsigned depth,
			struct fs_tree **out)
{
	struct fs_tree *t = NULL;
	int err;

	*out = NULL;
	if (bases->n == 0)
		return 0;
	if ((err = load_tree(st, &bases->c[0], &t)) != 0)
		return err;
	for (size_t i = 1; i < bases->n && depth < MERGE_BASE_DEPTH_MAX &&
			   !err;
	     i++)
		err = fold_in(st, keys, bases, i, now, depth, t);
	if (err) {
		tree_free(t);
		return err;
	}
	*out = t;
	return 0;
}

int merge_base_tree(struct obj_store *st, const struct mailbox_keys *keys,
		    const struct merge_bases *bases,
		    const struct timespec *now, struct fs_tree **out)
{
	if (!st || !keys || !bases || !now || !out)
		return -EINVAL;
	return virtual_base(st, keys, bases, now, 0, out);
}

/* ---- redoing a merge record ---- */

_Static_assert(RECORD_MERGE_BASES_MAX == MERGE_BASES_MAX,
	       "a merge record holds every base a walk reports");

int merge_sides_load(struct obj_store *st, const struct mailbox_keys *keys,
		     const struct record_merge *m, struct merge_sides *out)
{
	struct merge_bases bases;
	int err = 0;

	memset(out, 0, sizeof(*out));
	memset(&bases, 0, sizeof(bases));
	if (m->nbases > MERGE_BASES_MAX)
		return -EINVAL;
	for (unsigned i = 0; !err && i < m->nbases; i++) {
		bases.cid[i] = m->bases[i];
		err = commit_read(st->bs, keys, &m->bases[i], &bases.c[i]);
	}
	bases.n = m->nbases;
	bases.bound = m->bound; /* the live walk's: its bases of bases */
	if (!err)
		err = commit_read(st->bs, keys, &m->parent, &out->remote);
	if (!err)
		err = load_tree(st, &out->remote, &out->remote_tree);
	if (!err)
		err = merge_base_tree(st, keys, &bases, &m->time, &out->base);
	return err;
}

void merge_sides_free(struct merge_sides *s)
{
	tree_free(s->remote_tree);
	tree_free(s->base);
	memset(s, 0, sizeof(*s));
}

int merge_replay(struct obj_store *st, const struct mailbox_keys *keys,
		 const struct record_merge *m, struct fs_tree *local,
		 record_release_fn release_fn, void *arg,
		 struct commit *remote, struct merge_stats *stats)
{
	struct merge_sides sides;
	struct merge_plan plan;

	memset(&plan, 0, sizeof(plan));
	int err = merge_sides_load(st, keys, m, &sides);
	/* As the live merge did, not as the mount's options say now. */
	if (!err)
		local->index_local = m->index_local;
	if (!err)
		err = merge_plan(sides.base, local, sides.remote_tree, &m->time,
				 &plan);
	if (!err) {
		merge_apply(local, &plan, release_fn, arg, NULL);
		if (remote)
			*remote = sides.remote;
		if (stats)
			*stats = plan.stats;
	}
	merge_plan_free(&plan);
	merge_sides_free(&sides);
	return err;
}
