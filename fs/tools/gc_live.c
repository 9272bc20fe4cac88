/* fs/tools/gc_live.c — see gc_live.h. */
#include "fs/tools/gc_live.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/mount/file.h"
#include "fs/mount/housekeeping.h"
#include "ipfs/bs_watch.h"
#include "util/msgbuf.h"
#include "util/wipe.h"

int gc_live_begin(struct gc *g, struct ipmd_fs *fs, char *msg, size_t msize)
{
	housekeeping_begin(fs);
	int e = bs_watch_begin(fs->stack.top);
	if (e) {
		housekeeping_end(fs);
		return msgbuf_say(msg, msize, "%s",
				  e == -EBUSY ? "another gc is running"
				  : e == -ENOENT
					  ? "this mount does not write: "
					    "nothing to collect beside it"
					  : strerror(-e));
	}
	g->beside = fs->stack.direct;
	g->bound = &fs->gc_bound;
	return 0;
}

void gc_live_end(struct ipmd_fs *fs)
{
	bs_watch_end(fs->stack.top);
	housekeeping_end(fs);
}

/* The roots taken under fs->lock: objects whose index blocks are read
 * after it is released.  Chunks and directory blocks go straight into
 * live. */
struct roots {
	struct gc *g;
	struct obj_ref *v;
	size_t n, cap;
};

static int add_root(struct roots *r, const struct obj_ref *ref)
{
	if (ref->depth == 0) /* a one-chunk message: its root is its chunk */
		return cid_set_add(r->g->live, &ref->cid) < 0 ? -ENOMEM : 0;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		/* object keys: the old block wiped, not left to realloc */
		struct obj_ref *v =
			wipe_realloc(r->v, r->n * sizeof(*v), cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = *ref;
	return 0;
}

static int state_ref(const struct obj_ref *ref, const struct chunk_ref *chunk,
		     void *arg)
{
	struct roots *r = arg;
	if (ref)
		return add_root(r, ref);
	return cid_set_add(r->g->live, &chunk->cid) < 0 ? -ENOMEM : 0;
}

static int dir_blocks(struct roots *r, const struct dir_shards *sh)
{
	int e = sh->node_valid ? cid_set_add(r->g->live, &sh->node.cid) : 0;
	for (uint32_t i = 0; e >= 0 && sh->refs && i < sh->count; i++)
		if (sh->refs[i].cid.len)
			e = cid_set_add(r->g->live, &sh->refs[i].cid);
	return e < 0 ? -ENOMEM : 0;
}

/* Every inode of the tree, linked or only still open. */
static int take_roots(struct ipmd_fs *fs, struct roots *r)
{
	const struct fs_tree *t = fs->tree;
	int e = 0;
	for (uint32_t b = 0; !e && b < t->nbuckets; b++) {
		for (struct inode *in = t->buckets[b]; !e && in;
		     in = in->hash_next) {
			if (S_ISDIR(in->mode) && in->dir)
				e = dir_blocks(r, &in->dir->shards);
			else if (S_ISREG(in->mode) && in->content.cid.len)
				e = add_root(r, &in->content);
			if (!e && in->file)
				e = file_state_refs(in->file, state_ref, r);
		}
	}
	return e;
}

static int mark_block(const struct cid *cid, enum block_kind kind, void *arg)
{
	(void)kind;
	struct gc *g = arg;
	return cid_set_add(g->live, cid) < 0 ? -ENOMEM : 0;
}

int gc_live_mark(struct gc *g, struct ipmd_fs *fs, char *msg, size_t msize)
{
	struct roots r = {.g = g};
	pthread_mutex_lock(&fs->lock);
	int e = take_roots(fs, &r);
	pthread_mutex_unlock(&fs->lock);
	size_t i = 0;
	/* Read through the mount's own stack: a block evicted here under
	 * local_cap_mb comes from the node. */
	for (; !e && i < r.n; i++)
		if (!cid_set_has(g->live, &r.v[i].cid))
			e = obj_walk(&fs->st, &r.v[i], mark_block, g);
	wipe_free(r.v, r.cap * sizeof(*r.v));
	if (!e)
		return 0;
	return msgbuf_say(msg, msize,
			  "the mounted mailbox's open files do not read "
			  "cleanly (%s): nothing freed",
			  strerror(-e));
}
