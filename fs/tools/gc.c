/* fs/tools/gc.c — see gc.h. */
#include "fs/tools/gc.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cache/outbox.h"
#include "fs/model/reach.h"
#include "ipfs/bs_kubo.h"
#include "ipfs/bs_local.h"
#include "ipfs/cid.h"
#include "util/msgbuf.h"

#define NS_PER_SEC 1000000000LL

/* The commits of a journaled merge's line not already in the chain. */
struct extra {
	struct gc *g;
	struct cid_set *have; /* the chain's CIDs */
};

static int add_extra(const struct cid *cid, const struct commit *c,
		     void *arg)
{
	struct extra *x = arg;
	int e = cid_set_add(x->have, cid);
	if (e <= 0) /* in the chain already, so is everything below it */
		return e < 0 ? e : WALK_END_LINE;
	return commit_list_add(cid, c, &x->g->chain);
}

/* history_walk's order: seq falling, equal seqs smaller CID bytes first. */
static int chain_order(const struct commit_list *l, size_t a, size_t b)
{
	if (l->commits[a].seq != l->commits[b].seq)
		return l->commits[a].seq > l->commits[b].seq ? -1 : 1;
	return cid_compare(&l->cids[a], &l->cids[b]);
}

/* Insertion sort of the tail [from, n) into the sorted [0, from): the
 * tail is a merged line's commits, usually few. */
static void chain_sort(struct commit_list *l, size_t from)
{
	for (size_t i = from; i < l->n; i++) {
		struct cid cid = l->cids[i];
		struct commit c = l->commits[i];
		size_t j = i;
		for (; j > 0 && chain_order(l, j - 1, i) > 0; j--)
			;
		memmove(&l->cids[j + 1], &l->cids[j], (i - j) * sizeof(cid));
		memmove(&l->commits[j + 1], &l->commits[j],
			(i - j) * sizeof(c));
		l->cids[j] = cid;
		l->commits[j] = c;
	}
}

/*
 * A merge journaled and not yet committed (a crash between them) makes
 * the other device's line part of the history: the next mount redoes it
 * and its commit names that line's head.  Its commits join the chain (and
 * the roots gc_retain must keep); a parent of that line the store lacks
 * ends it (nothing here to keep or free).  0 or -errno.
 */
static int add_merged_lines(struct gc *g)
{
	struct cid_list parents = {0};
	int e = history_journal_merges(&g->journal, &parents);
	struct extra x = {.g = g, .have = e ? NULL : cid_set_new()};
	if (!e && !x.have)
		e = -ENOMEM;
	for (size_t i = 0; !e && i < g->chain.n; i++)
		e = cid_set_add(x.have, &g->chain.cids[i]) < 0 ? -ENOMEM : 0;
	size_t from = g->chain.n;
	struct walk_ends we = history_ends(&g->h);
	for (size_t i = 0; !e && i < parents.n; i++) {
		struct commit p;
		e = history_commit(&g->h, &parents.v[i], &p);
		if (!e && p.seq < g->roots_seq)
			g->roots_seq = p.seq;
		if (!e)
			e = dag_walk_ends(g->h.bs, &g->h.store.keys,
					  &parents.v[i], &we,
					  DAG_MISSING_ENDS_LINE, add_extra, &x,
					  NULL);
	}
	if (!e)
		chain_sort(&g->chain, from);
	cid_set_free(x.have);
	cid_list_free(&parents);
	return e;
}

int gc_open(struct gc *g, const struct history_options *ho, char *msg,
	    size_t msize)
{
	if (history_open(&g->h, ho, msg, msize))
		return -1;
	enum state_problem sp = history_state_problem(&g->h);
	if (sp != STATE_OK) /* without the head, all would look unreachable */
		return msgbuf_say(msg, msize, "%s", state_problem_text(sp));
	const struct state_set *st = &g->h.store.state;
	if (st->head_err == -ENOENT || st->head.commit.len == 0)
		return 1;
	if (st->head_err ||
	    (st->seen_err == 0 && st->seen.max_seq > st->head.seq))
		return msgbuf_say(msg, msize,
				  "the head is damaged or older than one "
				  "accepted before: run ipmaildir fsck first");
	struct chain_stop stop;
	int e = history_walk(&g->h, commit_list_add, &g->chain, &stop);
	if (e)
		return msgbuf_say(msg, msize,
				  "the commit history does not read cleanly "
				  "(%s): run ipmaildir fsck first",
				  strerror(-e));
	g->pruned_before = stop.pruned;
	g->head = g->chain.commits[0];
	g->roots_seq = g->head.seq;
	/* Read once: add_merged_lines and mark_journal use the records. */
	e = history_journal_read(&g->h, &g->h.store.state.head, &g->journal);
	if (e)
		return msgbuf_say(msg, msize,
				  "the journal does not replay cleanly (%s): "
				  "run ipmaildir fsck first",
				  e == -ENODATA ? "a generation is missing"
						: strerror(-e));
	e = add_merged_lines(g);
	if (e)
		return msgbuf_say(msg, msize,
				  "the line of a merge the journal holds does "
				  "not read (%s): run ipmaildir fsck first",
				  strerror(-e));
	g->keep = g->chain.n;
	return 0;
}

void gc_retain(struct gc *g, unsigned long long keep_last, int64_t within)
{
	const struct commit_list *l = &g->chain;
	g->keep = l->n;
	if (!keep_last && within < 0)
		return;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t cutoff = within >= 0
				 ? ((int64_t)now.tv_sec - within) * NS_PER_SEC
				 : INT64_MAX;
	g->keep = 1;
	for (size_t i = 0; i < l->n; i++)
		if (i < keep_last || l->commits[i].time_ns >= cutoff)
			g->keep = i + 1;
	/* The boundary is a seq: every commit of the last one kept stays
	 * (two devices' lines may have one each). */
	while (g->keep < l->n &&
	       l->commits[g->keep].seq == l->commits[g->keep - 1].seq)
		g->keep++;
	/* The head and a journaled merge's parent stay, whatever the rules
	 * (that parent's seq may be above the head's, or below). */
	while (g->keep < l->n && l->commits[g->keep].seq >= g->roots_seq)
		g->keep++;
}

/* ---- marking ---- */

static int mark(const struct reach_block *b, void *arg)
{
	struct gc *g = arg;
	if (b->error && !g->walk_error) {
		g->walk_error = b->error;
		snprintf(g->walk_path, sizeof(g->walk_path), "%s", b->path);
	}
	return 0; /* reach_tree added the block to the set */
}

struct replay {
	struct fs_tree *tree;
	struct cid_set *carried; /* blocks carried in the journal */
};

static int replay_result(void *arg, bool block, const struct cid *cid, int e)
{
	struct replay *r = arg;
	if (block) {
		/* Served to the walk below (the store may lack it after a
		 * crash), and live.  Not into g->live yet: reach_tree takes
		 * a root found there for a file already walked. */
		if (!e)
			e = cid_set_add(r->carried, cid);
		return e < 0 ? e : 0;
	}
	return e == -EBADMSG ? e : 0;
}

/* The journal's blocks: carried ones, those of the replayed tree, and
 * every block the replay reads (a merge record's inputs: the other
 * side's commit and directory nodes and its bases', which the next mount
 * reads again to redo it). */
static int mark_journal(struct gc *g, const struct commit *head)
{
	struct replay r = {.carried = cid_set_new()};
	struct cid_set *read = cid_set_new();
	int e = r.carried && read ? 0 : -ENOMEM;
	if (!e)
		e = history_tree(&g->h, head, &r.tree);
	if (e) {
		cid_set_free(r.carried);
		cid_set_free(read);
		return e;
	}
	history_watch_reads(&g->h, read);
	/* The records gc_open read (add_merged_lines), not read again. */
	e = history_replay_records(&g->h, &g->journal, r.tree, replay_result,
				   &r);
	history_journal_free(&g->journal);
	int w = history_watch_reads(&g->h, NULL);
	e = e ? e : w;
	if (!e)
		e = reach_tree(&g->h.st, r.tree, g->live, mark, g);
	tree_free(r.tree);
	/* Every block the journal carries stays, named by a record or not;
	 * into the live set only now: reach_tree skips a root found there. */
	e = e ? e : cid_set_merge(g->live, r.carried);
	e = e ? e : cid_set_merge(g->live, read);
	cid_set_free(r.carried);
	cid_set_free(read);
	return e;
}

static int keep_pending_one(const struct cid *cid, void *arg)
{
	struct gc *g = arg;
	int e = cid_set_add(g->live, cid);
	if (e < 0)
		return e;
	g->outbox_pending += (uint64_t)e;
	return 0;
}

/* The blocks the outbox has not yet confirmed on the node stay: a local
 * block not pending is on the node (cache/outbox.h), one pending is not. */
static int mark_outbox(struct gc *g)
{
	g->outbox_pending = 0;
	int e = outbox_pending_each(g->h.store.paths.root, keep_pending_one, g);
	return e == -ENOENT ? 0 : e;
}

/*
 * A retained commit above the boundary (the seq of the last retained) may
 * have a parent below it, on another line: its commit block stays — only
 * it, not its tree — so that the walks read that parent's seq and end the
 * line there normally (fs/store/history.h).  A parent that is retained is
 * marked anyway.  -ENOMEM or 0.
 */
static int mark_parents(struct gc *g, const struct commit *c)
{
	const struct commit_list *l = &g->chain;
	if (c->seq <= l->commits[g->keep - 1].seq)
		return 0; /* a line ends here: its parents are not read */
	int e = c->parent.len ? cid_set_add(g->live, &c->parent) : 0;
	for (unsigned m = 0; e >= 0 && m < c->nmerged; m++)
		e = cid_set_add(g->live, &c->merged[m]);
	return e < 0 ? e : 0;
}

/* The retained commits' trees, one tick each. */
static int mark_commits(struct gc *g, void (*tick)(void *arg), void *arg,
			char *msg, size_t msize)
{
	const struct commit_list *l = &g->chain;
	for (size_t i = 0; i < g->keep; i++) {
		struct fs_tree *t;
		int e = 0;
		if (cid_set_add(g->live, &l->cids[i]) < 0 ||
		    mark_parents(g, &l->commits[i]) ||
		    (e = history_tree(&g->h, &l->commits[i], &t)) != 0)
			return msgbuf_say(msg, msize,
					  "the tree of commit %llu does not "
					  "read (%s): run ipmaildir fsck first",
					  (unsigned long long)l->commits[i].seq,
					  strerror(e ? -e : ENOMEM));
		e = reach_tree(&g->h.st, t, g->live, mark, g);
		tree_free(t);
		if (e || g->walk_error)
			return msgbuf_say(msg, msize,
					  "commit %llu: %s%s: run ipmaildir "
					  "fsck first",
					  (unsigned long long)l->commits[i].seq,
					  g->walk_error ? g->walk_path : "",
					  g->walk_error ? ": a file does not read"
							: strerror(-e));
		if (tick)
			tick(arg);
	}
	return 0;
}

int gc_mark(struct gc *g, void (*tick)(void *arg), void *arg, char *msg,
	    size_t msize)
{
	g->live = cid_set_new();
	if (!g->live)
		return msgbuf_say(msg, msize, "out of memory");
	if (mark_commits(g, tick, arg, msg, msize))
		return -1;
	int e = mark_journal(g, &g->head);
	if (e || g->walk_error)
		return msgbuf_say(msg, msize,
				  "the journal does not replay cleanly (%s): "
				  "run ipmaildir fsck first",
				  e ? strerror(-e) : g->walk_path);
	e = mark_outbox(g);
	if (e)
		return msgbuf_say(msg, msize, "reading the outbox log: %s",
				  strerror(-e));
	return 0;
}

/* ---- finding the dead ---- */

static int find_dead(const struct cid *cid, void *arg)
{
	struct gc *g = arg;
	return cid_set_has(g->live, cid) ? 0 : cid_list_add(&g->dead, cid);
}

/* Evicted under the cap (cache/outbox.h): gone from here, pinned on the
 * node.  Those no longer live are unpinned with the rest. */
static int find_dead_evicted(const struct cid *cid, void *arg)
{
	struct gc *g = arg;
	g->evicted_read++;
	if (cid_set_has(g->live, cid) || bs_has(g->h.local, cid) == 1)
		return 0;
	for (size_t i = 0; i < g->evicted.n; i++) /* the log may repeat one */
		if (cid_equal(&g->evicted.v[i], cid))
			return 0;
	return cid_list_add(&g->evicted, cid);
}

int gc_find(struct gc *g, bool with_evicted, char *msg, size_t msize)
{
	int e = bs_iterate(g->h.local, find_dead, g);
	if (e)
		return msgbuf_say(msg, msize, "listing the store: %s",
				  strerror(-e));
	e = with_evicted ? outbox_evicted_each(g->h.store.paths.root,
					       find_dead_evicted, g)
			 : 0;
	if (e && e != -ENOENT)
		return msgbuf_say(msg, msize, "reading %s: %s",
				  OUTBOX_EVICTED_NAME, strerror(-e));
	return 0;
}

/* ---- the sweep ---- */

int gc_write_pruned(struct gc *g, char *msg, size_t msize)
{
	const struct commit_list *l = &g->chain;
	int e = history_write_pruned(&g->h, &l->cids[g->keep - 1],
				     l->commits[g->keep - 1].seq);
	/* The mount beside reads the boundary from memory, not the file. */
	if (!e && g->bound)
		atomic_store(g->bound, l->commits[g->keep - 1].seq);
	return e ? msgbuf_say(msg, msize, "writing STORE/pruned: %s",
			      strerror(-e))
		 : 0;
}

/* How far an unpin of one list got. */
struct unpin_run {
	size_t unpinned; /* pinned there, unpinned now */
	size_t done;     /* [0, done): the node is done with them */
	size_t reached;  /* [0, reached): may no longer be pinned there */
};

/* Unpin list on node a batch at a time, so that a failure says where
 * (bs_kubo_unpin_many stops at the first batch that fails, whose pins
 * may be partly gone: its pin/rm may have run before the answer was
 * lost).  The batch that failed counts as reached whatever the error:
 * a refused connection can be the retry of a pin/rm the node ran before
 * it died (kubo_call retries), and a block of it put again meanwhile is
 * live, so no later gc names it to mend a lost pin.  0 or the first
 * error. */
static int unpin_list(struct blockstore *node, const struct cid_list *l,
		      struct unpin_run *u)
{
	for (size_t i = 0; i < l->n; i += KUBO_UNPIN_BATCH) {
		size_t m = l->n - i < KUBO_UNPIN_BATCH ? l->n - i
						       : KUBO_UNPIN_BATCH;
		size_t k = 0;
		int e = bs_kubo_unpin_many(node, l->v + i, m, &k);
		u->unpinned += k;
		if (e) {
			u->done = i;
			u->reached = i + m;
			return e;
		}
		u->done = u->reached = i + m;
	}
	return 0;
}

int gc_unpin(struct gc *g, struct blockstore *node, size_t *unpinned,
	     char *msg, size_t msize)
{
	struct unpin_run dead = {0}, evicted = {0};
	int e = unpin_list(node, &g->dead, &dead);
	if (!e)
		e = unpin_list(node, &g->evicted, &evicted);
	*unpinned = dead.unpinned + evicted.unpinned;
	if (!e)
		return 0;
	g->unpin_failed = true;
	g->dead_done = dead.done;
	g->dead_reached = dead.reached;
	g->evicted_reached = evicted.reached;
	char why[512];
	bs_kubo_last_error(node, why, sizeof(why));
	size_t n = g->dead.n + g->evicted.n;
	return msgbuf_say(msg, msize,
			  "unpinning on the node: %s (%zu of %zu blocks "
			  "unpinned); the next gc unpins and frees the "
			  "other %zu",
			  why[0] ? why : strerror(-e), *unpinned, n,
			  n - dead.done - evicted.done);
}

static uint64_t block_size(struct gc *g, const struct cid *cid)
{
	char path[PATH_MAX];
	struct stat st;
	if (bs_local_path(g->h.local, cid, path, sizeof(path)) ||
	    stat(path, &st))
		return 0;
	return (uint64_t)st.st_size;
}

int gc_free(struct gc *g, bool dry,
	    void (*tick)(void *arg, uint64_t bytes), void *arg,
	    uint64_t *freed, uint64_t *bytes, char *msg, size_t msize)
{
	*freed = *bytes = 0;
	/* After a failed unpin, only those the node is done with. */
	size_t n = g->unpin_failed ? g->dead_done : g->dead.n;
	for (size_t i = 0; i < n; i++) {
		uint64_t size = block_size(g, &g->dead.v[i]);
		int e = dry ? 0
			    : bs_remove(g->beside ? g->beside : g->h.local,
					&g->dead.v[i]);
		if (e == -EBUSY) { /* written again since the mark */
			g->kept_busy++;
			continue;
		}
		if (e && e != -ENOENT)
			return msgbuf_say(msg, msize, "removing a block: %s",
					  strerror(-e));
		(*freed)++;
		*bytes += size;
		if (tick)
			tick(arg, size);
	}
	return 0;
}

/* Beside a mount: 1 if cid is here and now queued for upload again (the
 * mount's outbox checks, under its lock), 0 if not here.  Offline: 1 if
 * here, added to *here to be queued together (gc_requeue_kept); nothing
 * is put again there.  Whatever node the unpin ran on: a URL cannot tell
 * the outbox's node under another address from another node, and
 * pinning again a block another node unpinned is only an upload. */
static int requeue_one(struct gc *g, const struct cid *cid,
		       struct cid_list *here)
{
	if (g->beside)
		return outbox_requeue(g->beside, cid);
	int e = bs_has(g->h.local, cid);
	if (e != 1)
		return e == -ENOENT ? 0 : e;
	return cid_list_add(here, cid) < 0 ? -ENOMEM : 1;
}

int gc_requeue_kept(struct gc *g, uint64_t *requeued, char *msg,
		    size_t msize)
{
	const struct cid_list *lists[] = {&g->dead, &g->evicted};
	/* After a failed unpin, only those it may have unpinned: the rest
	 * are still pinned there. */
	const size_t reached[] = {
		g->unpin_failed ? g->dead_reached : g->dead.n,
		g->unpin_failed ? g->evicted_reached : g->evicted.n};
	struct cid_list here = {0};
	int first = 0;
	*requeued = 0;
	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < reached[k]; i++) {
			int e = requeue_one(g, &lists[k]->v[i], &here);
			if (e == 1)
				(*requeued)++;
			else if (e < 0 && !first)
				first = e;
		}
	/* Offline: one append and one fdatasync of the log for them all. */
	int e = here.n ? outbox_queue_in_many(g->h.store.paths.root, here.v,
					      here.n)
		       : 0;
	if (e) {
		*requeued -= here.n;
		first = first ? first : e;
	}
	cid_list_free(&here);
	return first ? msgbuf_say(msg, msize,
				  "queueing the blocks kept here that the node "
				  "may have unpinned for upload again: %s (a "
				  "put of one would not pin it on the node "
				  "again)",
				  strerror(-first))
		     : 0;
}

/* A record gc_find read stays while its block is live (the others were
 * unpinned); one appended since (the mount evicting beside a live gc)
 * was not looked at: it stays. */
static bool keep_evicted(const struct cid *cid, void *arg)
{
	struct gc *g = arg;
	return g->evicted_at++ >= g->evicted_read ||
	       cid_set_has(g->live, cid);
}

int gc_forget_evicted(struct gc *g, char *msg, size_t msize)
{
	g->evicted_at = 0;
	int e = outbox_evicted_rewrite(g->h.store.paths.root, g->beside,
				       keep_evicted, g);
	return e && e != -ENOENT
		       ? msgbuf_say(msg, msize,
				    "rewriting %s: %s (harmless: those blocks "
				    "are unpinned again next time)",
				    OUTBOX_EVICTED_NAME, strerror(-e))
		       : 0;
}

void gc_close(struct gc *g)
{
	cid_list_free(&g->dead);
	cid_list_free(&g->evicted);
	commit_list_free(&g->chain);
	history_journal_free(&g->journal);
	cid_set_free(g->live);
	history_close(&g->h);
}
