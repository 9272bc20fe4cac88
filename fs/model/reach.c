/* fs/model/reach.c — see reach.h. */
#include "fs/model/reach.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fs/model/manifest.h"
#include "util/wipe.h"

struct walker {
	struct obj_store *st;
	struct cid_set *seen;
	reach_fn fn;
	void *arg;
	char *path; /* growable, NUL terminated */
	size_t len, cap;
};

/* Report one block unless seen.  Returns fn's result or -ENOMEM. */
static int report(struct walker *w, const struct cid *cid,
		  enum block_kind kind, const struct chunk_ref *chunk)
{
	int added = cid_set_add(w->seen, cid);
	if (added <= 0)
		return added;
	struct reach_block b = {.cid = cid, .kind = kind, .chunk = chunk,
				.path = w->len ? w->path : "/"};
	return w->fn(&b, w->arg);
}

static int path_push(struct walker *w, const char *name, size_t n)
{
	if (w->len + n + 2 > w->cap) {
		size_t cap = (w->len + n + 2) * 2;
		char *p = realloc(w->path, cap);
		if (!p)
			return -ENOMEM;
		w->path = p;
		w->cap = cap;
	}
	w->path[w->len++] = '/';
	memcpy(w->path + w->len, name, n);
	w->len += n;
	w->path[w->len] = '\0';
	return 0;
}

static void path_pop(struct walker *w, size_t to)
{
	w->len = to;
	if (w->path)
		w->path[to] = '\0';
}

/* Index blocks of one file (arg: a cid_list), held back until the whole
 * file walked: a file whose walk failed must leave no trace in seen (a
 * later walk retries). */
static int on_object_block(const struct cid *cid, enum block_kind kind,
			   void *arg)
{
	if (kind != BLOCK_INDEX)
		return 0; /* chunks come with their keys from the listing */
	return cid_list_add(arg, cid);
}

static int walk_file(struct walker *w, const struct obj_ref *ref)
{
	if (ref->cid.len == 0 || cid_set_has(w->seen, &ref->cid))
		return 0;
	if (ref->depth == 0) {
		struct chunk_ref c = {.cid = ref->cid, .size = ref->size};
		memcpy(c.key, ref->key, sizeof(c.key));
		int r = report(w, &c.cid, BLOCK_CHUNK, &c);
		sodium_memzero(c.key, sizeof(c.key));
		return r;
	}
	struct cid_list idx = {0};
	struct chunk_ref *chunks = NULL;
	size_t n = 0;
	int e = obj_walk(w->st, ref, on_object_block, &idx);
	if (!e)
		e = obj_list_chunks(w->st, ref, &chunks, &n);
	int r = 0;
	if (e == -ENOMEM) {
		r = e;
	} else if (e) {
		struct reach_block b = {.cid = &ref->cid, .kind = BLOCK_INDEX,
					.path = w->path, .error = e};
		r = w->fn(&b, w->arg);
	} else {
		/* The root last: present in seen means the whole file is. */
		for (size_t i = idx.n; i > 0 && !r; i--)
			r = report(w, &idx.v[i - 1], BLOCK_INDEX, NULL);
		for (size_t i = 0; i < n && !r; i++)
			r = report(w, &chunks[i].cid, BLOCK_CHUNK, &chunks[i]);
	}
	cid_list_free(&idx);
	wipe_free(chunks, n * sizeof(*chunks));
	return r;
}

static int walk_dir(struct walker *w, struct inode *dir, unsigned depth)
{
	const struct dir_shards *sh = &dir->dir->shards;
	int r = 0;
	if (depth > MANIFEST_DEPTH_MAX)
		return -ELOOP;
	if (sh->node_valid)
		r = report(w, &sh->node.cid, BLOCK_DIRECTORY, NULL);
	for (uint32_t i = 0; !r && sh->count > 1 && sh->refs && i < sh->count;
	     i++)
		if (sh->refs[i].cid.len)
			r = report(w, &sh->refs[i].cid, BLOCK_DIRECTORY, NULL);
	const struct dir *d = dir->dir;
	for (uint32_t b = 0; !r && b < d->nbuckets; b++) {
		for (struct dirent *e = d->buckets[b]; !r && e;
		     e = e->hash_next) {
			struct inode *in = e->inode;
			if (!S_ISDIR(in->mode) && !S_ISREG(in->mode))
				continue;
			size_t back = w->len;
			r = path_push(w, e->name, e->name_len);
			if (!r)
				r = S_ISDIR(in->mode)
					    ? walk_dir(w, in, depth + 1)
					    : walk_file(w, &in->content);
			path_pop(w, back);
		}
	}
	return r;
}

int reach_tree(struct obj_store *st, struct fs_tree *t, struct cid_set *seen,
	       reach_fn fn, void *arg)
{
	struct walker w = {.st = st, .seen = seen, .fn = fn, .arg = arg};
	if (!w.seen && !(w.seen = cid_set_new()))
		return -ENOMEM;
	int r = walk_dir(&w, t->root, 0);
	free(w.path);
	if (!seen)
		cid_set_free(w.seen);
	return r;
}
