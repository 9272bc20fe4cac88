/* fs/mount/follow.c — merge or fast-forward to another head; see follow.h. */
#include "fs/mount/follow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fs/model/maildir.h"
#include "fs/model/commit.h"
#include "fs/model/manifest.h"
#include "fs/model/reach.h"
#include "fs/mount/cache_class.h"
#include "fs/mount/file.h"
#include "ipfs/cidset.h"
#include "util/clock.h"
#include "util/log.h"

/* ---- telling the kernel ---- */

/* Every name and inode the records touch, and the directories holding
 * them (their times and link counts changed).  Names point into the plan:
 * called before it is freed, without fs->lock. */
static void notify_plan(const struct ipmd_fs *fs, const struct merge_plan *p)
{
	const struct ipmd_notify *n = &fs->notify;
	if (!n->entry || !n->inode)
		return;
	for (size_t i = 0; i < p->n; i++) {
		const struct record *r = &p->recs[i];
		if (r->op == REC_RENAME) {
			n->entry(n->arg, r->newdir, r->newname);
			n->inode(n->arg, r->newdir);
		}
		if (r->op == REC_SETATTR || r->op == REC_CONTENT ||
		    r->op == REC_LINK)
			n->inode(n->arg, r->ino);
		if (r->op != REC_SETATTR && r->op != REC_CONTENT) {
			n->entry(n->arg, r->dir, r->name);
			n->inode(n->arg, r->dir);
		}
	}
}

/* ---- the other head's mail, here ---- */

struct fetch {
	struct ipmd_fs *fs;
	uint8_t *buf;
	uint64_t fetched, failed;
};

static int fetch_one(const struct reach_block *b, void *arg)
{
	struct fetch *f = arg;
	size_t len;
	if (b->error) {
		f->failed++;
		return 0;
	}
	if (b->kind != BLOCK_CHUNK || bs_has(f->fs->stack.local, b->cid) == 1)
		return 0;
	if (bs_get(f->fs->st.bs, b->cid, f->buf, BLOCK_MAX_BYTES, &len))
		f->failed++;
	else
		f->fetched++;
	return 0;
}

/* Every block of t's files not in the local store yet, from the node
 * (kept here by the outbox): a device that took another's mail in can
 * read it offline.  Not under a local cap, which would evict them again.
 * Best effort: what fails is read from the node later, on demand, as
 * before; the count is logged. */
static void fetch_content(struct ipmd_fs *fs, struct fs_tree *t)
{
	if (fs->local_cap)
		return; /* the cap decides what stays here, not the merge */
	struct fetch f = {.fs = fs, .buf = malloc(BLOCK_MAX_BYTES)};
	struct cid_set *seen = cid_set_new();
	if (f.buf && seen)
		(void)reach_tree(&fs->st, t, seen, fetch_one, &f);
	if (f.failed)
		logmsg(LOG_WARNING, "sync: %llu blocks of the other device's "
		       "mail could not be fetched now (read from the node "
		       "when opened)",
		       (unsigned long long)f.failed);
	cid_set_free(seen);
	free(f.buf);
}

/* ---- merge ---- */

/* Under fs->lock: the merge record, then its records, as replay will. */
static int merge_locked(struct ipmd_fs *fs, const struct record_merge *m,
			const struct merge_sides *sides,
			struct merge_plan *plan)
{
	char *json = NULL;
	size_t len = 0, failed = 0;
	if (fs->nmerged == COMMIT_MERGED_MAX)
		return -EBUSY; /* commits are failing: merge after the next */
	/* Content journaled before the record: replay sees it sealed. */
	int e = ipmd_fs_seal_all_locked(fs);
	/* Index files are this device's own where it makes cache files;
	 * the record keeps it for replay (record.h). */
	fs->tree->index_local = m->index_local;
	if (!e)
		e = merge_plan(sides->base, fs->tree, sides->remote_tree,
			       &m->time, plan);
	if (!e)
		e = record_merge_encode(m, &json, &len);
	if (!e)
		e = journal_append(fs->journal, (const uint8_t *)json, len,
				   false);
	free(json);
	if (e)
		return e;
	/* A folder the other side deleted goes with its cache files (the
	 * plan never sees them). */
	failed = cache_merge_apply(fs->tree, plan, ipmd_fs_release_inode, fs);
	if (failed)
		logmsg(LOG_WARNING, "merge: %zu of %zu changes did not apply",
		       failed, plan->n);
	ipmd_fs_merged(fs, &m->parent, &sides->remote, &plan->stats);
	return 0;
}

int follow_merge(struct ipmd_fs *fs, const struct cid *remote,
		 const struct merge_bases *bases, struct merge_stats *stats)
{
	struct record_merge m = {.parent = *remote, .time = wall_now(),
				 .index_local = !fs->index_cache_off};
	struct merge_sides sides;
	struct merge_plan plan;

	memset(&plan, 0, sizeof(plan));
	if (bases->n > RECORD_MERGE_BASES_MAX)
		return -EINVAL;
	m.nbases = (unsigned)bases->n;
	m.bound = m.nbases > 1 ? bases->bound : 0; /* as the record keeps it */
	memcpy(m.bases, bases->cid, bases->n * sizeof(*bases->cid));
	/* What replay reads must be here, durable, before the record names
	 * it: the reads went through the outbox into the local store. */
	int e = merge_sides_load(&fs->st, &fs->store.keys, &m, &sides);
	if (!e) {
		fetch_content(fs, sides.remote_tree);
		e = bs_sync(fs->stack.top);
	}
	if (!e) {
		pthread_mutex_lock(&fs->lock);
		e = merge_locked(fs, &m, &sides, &plan);
		pthread_mutex_unlock(&fs->lock);
	}
	if (!e) {
		notify_plan(fs, &plan);
		if (stats)
			*stats = plan.stats;
	}
	merge_plan_free(&plan);
	merge_sides_free(&sides);
	return e;
}

/* ---- fast-forward ---- */

/* Nothing uncommitted (no change, no unsealed write), the head as
 * compared, and no call using a file state outside fs->lock.  With the
 * kernel's no-open nothing closes a file: a write in progress is a state
 * a call holds (fs/mount/file.h), and that call comes back to its inode
 * by pointer, into the tree a fast-forward frees.  file_state_idle says
 * neither holds. */
static bool can_forward(struct ipmd_fs *fs, const struct cid *head)
{
	if (fs->changes || fs->nmerged || fs->head.commit.len != head->len ||
	    (head->len && !cid_equal(&fs->head.commit, head)))
		return false;
	for (uint32_t b = 0; b < fs->tree->nbuckets; b++)
		for (struct inode *i = fs->tree->buckets[b]; i; i = i->hash_next)
			if (i->file && !file_state_idle(i->file))
				return false;
	return true;
}

/* Idle states no known handle holds carry nothing (mount.h, "File
 * states"): dropped, not moved, so they never force a merge.  What is
 * left is a known handle's (a kernel without no-open). */
static void drop_idle_states(struct fs_tree *t)
{
	for (uint32_t b = 0; b < t->nbuckets; b++)
		for (struct inode *i = t->buckets[b]; i; i = i->hash_next)
			(void)ipmd_fs_settle_locked(i, NULL);
}


static bool held(const struct inode *i)
{
	return i->lookups || i->opens || i->file;
}

/* A file open for writing keeps its state only over the same content. */
static bool same_content(const struct inode *a, const struct inode *b)
{
	return a->content.size == b->content.size &&
	       (!a->content.size || cid_equal(&a->content.cid, &b->content.cid));
}

/* What the kernel holds of from's inodes (lookups, opens, the state of a
 * file open for writing), onto to's of the same numbers; nameless copies
 * for those to lacks.  -EEXIST when to has a number as another type (a
 * duplicated range), -EBUSY when a file open for writing has other
 * content there: merge instead.  to then may hold orphans, from is
 * unchanged. */
static int move_refs(struct fs_tree *to, struct fs_tree *from)
{
	struct inode *t;
	for (uint32_t b = 0; b < from->nbuckets; b++)
		for (struct inode *i = from->buckets[b]; i; i = i->hash_next) {
			if (!held(i))
				continue;
			t = tree_get(to, i->ino);
			if (t && (t->mode & S_IFMT) != (i->mode & S_IFMT))
				return -EEXIST;
			if (i->file && !(t && same_content(t, i)))
				return -EBUSY;
			int e = t ? 0 : tree_add_orphan(to, i, &t);
			if (e)
				return e;
		}
	for (uint32_t b = 0; b < from->nbuckets; b++)
		for (struct inode *i = from->buckets[b]; i; i = i->hash_next) {
			if (!held(i))
				continue;
			t = tree_get(to, i->ino);
			t->lookups = i->lookups;
			t->opens = i->opens;
			t->file = i->file;
			/* Other content: the kernel is told to drop its pages. */
			t->paged = i->paged && same_content(t, i);
			i->lookups = i->opens = 0;
			i->paged = false;
			i->file = NULL;
			/* A cache file the kernel holds reads on as an
			 * unlinked one (its name is in no commit). */
			if (i->cache && !t->links && !t->cache) {
				t->cache = i->cache;
				i->cache = NULL;
			}
		}
	return 0;
}

struct forward {
	struct cid cid;
	struct commit c;
	struct fs_tree *tree;
	struct merge_plan names; /* the old tree's changes: for the kernel */
};

/* Under fs->lock: the head file to the remote commit, then the tree.  *done
 * false: not now (the caller merges). */
static int forward_locked(struct ipmd_fs *fs, struct forward *f,
			  const struct cid *head, bool *done)
{
	*done = false;
	if (!can_forward(fs, head))
		return 0;
	drop_idle_states(fs->tree);
	struct timespec now = wall_now();
	int e = merge_plan(fs->tree, fs->tree, f->tree, &now, &f->names);
	if (e)
		return e;
	struct ino_ranges r;
	commit_ranges(&f->c, &r);
	uint64_t first = (fs->device << TREE_INO_RANGE_BITS) + 1;
	if (fs->device == 0 || fs->tree->next_ino > first)
		(void)ino_ranges_raise(&r, fs->tree->next_ino);
	struct ino_ranges keep = fs->ranges;
	fs->ranges = r;
	e = ipmd_fs_set_range(fs, f->tree);
	if (!e)
		e = move_refs(f->tree, fs->tree);
	/* Nothing written over the old tree may replay over the new one. */
	uint64_t gen = journal_gen(fs->journal) + 1;
	if (!e)
		e = journal_rotate(fs->journal, gen);
	struct head h = {.commit = f->cid, .seq = f->c.seq, .journal_gen = gen,
			 .journal_first = true, /* made by the rotation */
			 .max_seq = f->c.seq > fs->head.max_seq
					    ? f->c.seq
					    : fs->head.max_seq};
	const struct store_paths *p = &fs->store.paths;
	enum state_failed failed = STATE_FAILED_HEAD;
	if (!e)
		e = state_advance(p->head, p->seen, fs->store.keys.journal, &h,
				  &failed);
	if (e && failed == STATE_FAILED_SEEN)
		logmsg(LOG_WARNING, "fast-forward: %s not updated: %s",
		       p->seen, strerror(-e));
	else if (e) {
		/* Orphans made in f->tree and refs moved: give them back. */
		if (e != -EEXIST && e != -EBUSY && e != -ENOMEM)
			logmsg(LOG_ERR, "fast-forward: %s", strerror(-e));
		move_refs(fs->tree, f->tree);
		fs->ranges = keep;
		/* Numbers or open files that don't fit: merge instead. */
		return e == -EEXIST || e == -EBUSY ? 0 : e;
	}
	/* The head is written: from here the new tree is the mount's. */
	journal_drop_before(p->journal, gen);
	/* The old tree's cache files nothing holds: gone with it, as after
	 * a crash (fs/mount/cache_keep.h: a fast-forward's head keeps none).
	 * Its file states went to the new tree (move_refs): none is left. */
	ipmd_fs_drop_states(fs->tree);
	tree_free(fs->tree);
	fs->tree = f->tree;
	f->tree = NULL;
	fs->head = h;
	fs->last = f->c;
	*done = true;
	return 0;
}

/* ---- a first head without the other side's index files ---- */

/* t less its ordinary index files, by the merge's own rule (merge.h):
 * t merged into itself, base t, with index files this side's cache
 * files, leaves the remote's out and drops local's, untouched since the
 * base.  *n: the records applied (the files gone).  0, merge_plan's
 * errors, or -EIO for a record that did not apply (none should). */
static int drop_index_files(struct fs_tree *t, size_t *n)
{
	struct merge_plan plan;
	struct timespec now = wall_now();
	size_t failed = 0;
	memset(&plan, 0, sizeof(plan));
	t->index_local = true;
	int e = merge_plan(t, t, t, &now, &plan);
	if (!e)
		*n = merge_apply(t, &plan, NULL, NULL, &failed);
	merge_plan_free(&plan);
	return !e && failed ? -EIO : e;
}

/* Under commit_lock: f's tree less its index files as a commit of this
 * device, parent f's commit, which f then names instead: what the mount
 * fast-forwards to.  P's inode ranges, as nothing was allocated; seq
 * above P's and everything the head file accepted.  Its directory nodes
 * and the commit are durable in the store before anything names it. */
static int commit_without_index(struct ipmd_fs *fs, struct forward *f)
{
	struct obj_store direct = fs->st;
	direct.bs = fs->stack.direct;
	struct commit c = f->c;
	size_t n = 0;
	int e = drop_index_files(f->tree, &n);
	if (!e)
		e = manifest_seal(f->tree, &direct, &c.tree);
	if (!e)
		e = bs_sync(fs->stack.direct);
	c.seq = (f->c.seq > fs->head.max_seq ? f->c.seq : fs->head.max_seq) + 1;
	c.parent = f->cid;
	struct timespec t = wall_now();
	c.time_ns = (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
	c.nmerged = 0;
	memset(c.merged, 0, sizeof(c.merged));
	maildir_count(f->tree, &c.messages, &c.folders);
	c.added = c.removed = c.renamed = 0;
	struct cid cid;
	if (!e)
		e = commit_write(fs->stack.direct, &fs->store.keys, &c, &cid);
	if (e)
		return e;
	logmsg(LOG_NOTICE, "first head: commit %llu of another device "
	       "without its %zu index files (local cache files here), as "
	       "commit %llu", (unsigned long long)f->c.seq, n,
	       (unsigned long long)c.seq);
	f->cid = cid;
	f->c = c;
	return 0;
}

static bool forward_possible(struct ipmd_fs *fs, const struct cid *head)
{
	pthread_mutex_lock(&fs->lock);
	bool can = can_forward(fs, head);
	pthread_mutex_unlock(&fs->lock);
	return can;
}

int follow_forward(struct ipmd_fs *fs, const struct cid *remote,
		   const struct cid *head, bool *done)
{
	struct forward f = {.cid = *remote};
	*done = false;
	int e = commit_read(fs->st.bs, &fs->store.keys, remote, &f.c);
	if (!e)
		e = manifest_load(&fs->st, &f.c.tree, f.c.next_ino, &f.tree);
	/* Index files the other side committed (index_cache=off there) would
	 * become this side's ordinary files, read and rewritten by its
	 * Dovecot: a merge leaves them out instead, and a mount with no
	 * head takes the tree without them (follow.h). */
	bool index = !e && !fs->index_cache_off &&
		     maildir_has_index_files(f.tree);
	if (!e && (!index || !head->len)) {
		fetch_content(fs, f.tree);
		pthread_mutex_lock(&fs->commit_lock);
		/* Checked again under the lock: only a commit that may
		 * become the head is written. */
		bool made = false;
		if (index && forward_possible(fs, head)) {
			e = commit_without_index(fs, &f);
			made = !e;
		}
		if (!e && (!index || made)) {
			pthread_mutex_lock(&fs->lock);
			e = forward_locked(fs, &f, head, done);
			pthread_mutex_unlock(&fs->lock);
		}
		pthread_mutex_unlock(&fs->commit_lock);
	}
	if (*done)
		notify_plan(fs, &f.names);
	merge_plan_free(&f.names);
	tree_free(f.tree);
	return e;
}
