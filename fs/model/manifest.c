/* fs/model/manifest.c — see manifest.h: sealing the tree's dirty
 * directories, flat or sharded, deepest first.  The JSON is written by
 * manifest_write.c, read back by manifest_read.c and manifest_load.c
 * (manifest_internal.h says who owns what).
 */
#include "fs/model/manifest.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/seal.h"
#include "fs/model/manifest_internal.h"
#include "util/wipe.h"

_Static_assert((MANIFEST_SHARDS_MAX & (MANIFEST_SHARDS_MAX - 1)) == 0,
	       "shard counts are powers of two");
_Static_assert((MANIFEST_SHARD_GROW & (MANIFEST_SHARD_GROW - 1)) == 0 &&
		       MANIFEST_SHARD_GROW >= 2,
	       "growing keeps a power of two");

/* One entry to serialise: its shard and dirent. */
struct pick {
	uint32_t shard;
	const struct dirent *d;
};

struct sealer {
	struct fs_tree *t;
	struct obj_store *st;
	uint8_t *sealed;    /* one block, BLOCK_MAX_BYTES */
	struct out out;     /* one block's JSON, reused */
	struct pick *picks; /* reused from directory to directory */
	size_t picks_cap;
};

static int pick_cmp(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;

	if (x->shard != y->shard)
		return x->shard < y->shard ? -1 : 1;
	return name_cmp(x->d->name, x->d->name_len, y->d->name,
			y->d->name_len);
}

/* Seal and store the JSON in s->out; it is wiped (it holds the keys of
 * every file in the directory) and emptied. */
static int put_out(struct sealer *s, struct chunk_ref *out)
{
	size_t len = s->out.len;
	int rc = s->out.rc;

	memset(out, 0, sizeof(*out));
	if (rc == 0)
		rc = seal_convergent(s->sealed, out->key,
				     (const uint8_t *)s->out.p, len,
				     BLOCK_DIRECTORY, s->st->convergence);
	if (rc == 0)
		rc = bs_put(s->st->bs, s->sealed, len + IPMD_SEAL_OVERHEAD,
			    s->st->put_flags, &out->cid);
	if (len > 0)
		sodium_memzero(s->out.p, len);
	s->out.len = 0;
	s->out.rc = 0;
	s->out.special = false;
	if (rc != 0)
		return rc;
	out->size = len;
	return 0;
}

static int out_entries(struct sealer *s, const struct pick *p, size_t n)
{
	int rc = 0;

	mf_out_key(&s->out, "entries", true);
	mf_out_mem(&s->out, "[", 1);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (i > 0)
			mf_out_mem(&s->out, ",", 1);
		rc = mf_out_entry(&s->out, p[i].d->inode, p[i].d->name,
				  p[i].d->name_len);
	}
	mf_out_mem(&s->out, "]", 1);
	if (rc != 0 && s->out.rc == 0)
		s->out.rc = rc;
	return s->out.rc;
}

/* The root's "self", then "v" and the closing brace, for either node. */
static void out_node_tail(struct sealer *s, const struct inode *dir,
			  uint32_t shards)
{
	if (dir == s->t->root) {
		int rc;
		mf_out_key(&s->out, "self", false);
		rc = mf_out_entry(&s->out, dir, NULL, 0);
		if (rc != 0 && s->out.rc == 0)
			s->out.rc = rc;
	}
	if (shards > 1) {
		mf_out_key(&s->out, "shards", false);
		mf_out_int(&s->out, shards);
	}
	mf_out_version(&s->out);
	mf_out_mem(&s->out, "}", 1);
}

/* {"entries":[…],"self":{…},"v":1} */
static int seal_flat(struct sealer *s, const struct inode *dir, size_t n,
		     struct chunk_ref *node)
{
	mf_out_mem(&s->out, "{", 1);
	out_entries(s, s->picks, n);
	out_node_tail(s, dir, 1);
	return put_out(s, node);
}

/* The old shard refs hold directory node keys: wipe before freeing. */
void mf_shard_refs_free(struct dir_shards *sh)
{
	wipe_free(sh->refs, sh->count * sizeof(*sh->refs));
	sh->refs = NULL;
}

int mf_shards_alloc(uint32_t count, uint8_t **dirty, struct chunk_ref **refs)
{
	*dirty = calloc(count, sizeof(**dirty));
	*refs = calloc(count, sizeof(**refs));
	if (*dirty && *refs)
		return 0;
	free(*dirty);
	free(*refs);
	*dirty = NULL;
	*refs = NULL;
	return -ENOMEM;
}

void mf_shards_take(struct dir_shards *sh, uint8_t *dirty,
		    struct chunk_ref *refs, uint32_t count)
{
	free(sh->dirty);
	mf_shard_refs_free(sh);
	sh->dirty = dirty;
	sh->refs = refs;
	sh->count = count;
}

/* {"entries":[…],"of":N,"shard":i,"v":1}; an empty shard has no block. */
static int seal_shard(struct sealer *s, uint32_t i, uint32_t of,
		      const struct pick *p, size_t n, struct chunk_ref *out)
{
	if (n == 0) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	mf_out_mem(&s->out, "{", 1);
	out_entries(s, p, n);
	mf_out_key(&s->out, "of", false);
	mf_out_int(&s->out, of);
	mf_out_key(&s->out, "shard", false);
	mf_out_int(&s->out, i);
	mf_out_version(&s->out);
	mf_out_mem(&s->out, "}", 1);
	return put_out(s, out);
}

/* The dirty shards, then {"refs":[{"cid":…,"key":…}|null…],"self":…,
 * "shards":N,"v":1}. */
static int seal_sharded(struct sealer *s, const struct inode *dir, bool all,
			size_t n, struct chunk_ref *node)
{
	struct dir_shards *sh = &dir->dir->shards;
	size_t at = 0;
	int rc = 0;

	for (uint32_t i = 0; i < sh->count && rc == 0; i++) {
		size_t start = at;
		if (!all && !sh->dirty[i])
			continue;
		while (at < n && s->picks[at].shard == i)
			at++;
		rc = seal_shard(s, i, sh->count, s->picks + start, at - start,
				&sh->refs[i]);
		if (rc == 0)
			sh->dirty[i] = 0;
	}
	if (rc != 0)
		return rc;
	mf_out_mem(&s->out, "{", 1);
	mf_out_key(&s->out, "refs", true);
	mf_out_mem(&s->out, "[", 1);
	for (uint32_t i = 0; i < sh->count; i++) {
		const struct chunk_ref *r = &sh->refs[i];
		if (i > 0)
			mf_out_mem(&s->out, ",", 1);
		if (r->cid.len == 0) {
			mf_out_lit(&s->out, "null");
			continue;
		}
		mf_out_mem(&s->out, "{", 1);
		mf_out_key(&s->out, "cid", true);
		mf_out_cid(&s->out, &r->cid);
		mf_out_key(&s->out, "key", false);
		mf_out_b64(&s->out, r->key, IPMD_KEY_BYTES);
		mf_out_mem(&s->out, "}", 1);
	}
	mf_out_mem(&s->out, "]", 1);
	out_node_tail(s, dir, sh->count);
	return put_out(s, node);
}

/*
 * Pick the shard count for d's entry count (at least min); a change
 * re-seals every shard.
 */
static int layout(struct sealer *s, struct dir *d, uint32_t min)
{
	struct dir_shards *sh = &d->shards;
	uint64_t thr = s->t->shard_threshold ? s->t->shard_threshold
					     : MANIFEST_SHARD_THRESHOLD;
	uint64_t n = d->count;
	uint32_t want = sh->count ? sh->count : 1;
	uint8_t *dirty;
	struct chunk_ref *refs;

	if (want & (want - 1) || want > MANIFEST_SHARDS_MAX)
		want = 1;
	while (want < MANIFEST_SHARDS_MAX && n > want * thr)
		want = want * MANIFEST_SHARD_GROW > MANIFEST_SHARDS_MAX
			       ? MANIFEST_SHARDS_MAX
			       : want * MANIFEST_SHARD_GROW;
	while (want > 1 && n * MANIFEST_SHRINK_DIV < want * thr)
		want = want / MANIFEST_SHARD_GROW ? want / MANIFEST_SHARD_GROW
						  : 1;
	while (want < min)
		want *= MANIFEST_SHARD_GROW;
	if (want > MANIFEST_SHARDS_MAX)
		want = MANIFEST_SHARDS_MAX;
	if (want == sh->count && sh->dirty && sh->refs)
		return 0;
	if (mf_shards_alloc(want, &dirty, &refs))
		return -ENOMEM;
	mf_shards_take(sh, dirty, refs, want);
	sh->all_dirty = true;
	return 0;
}

/*
 * Collect the entries of the shards to seal, sorted by (shard, name): one
 * pass over the directory's table, whatever the number of dirty shards
 * (the table is keyed by the name's low hash bits, shards by the high
 * ones, so a shard's entries can't be found without it).
 */
static int gather(struct sealer *s, const struct dir *d, bool all,
		  size_t *n)
{
	const struct dir_shards *sh = &d->shards;

	*n = 0;
	if (d->count > s->picks_cap) {
		struct pick *p = realloc(s->picks, d->count * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->picks = p;
		s->picks_cap = d->count;
	}
	for (uint32_t b = 0; b < d->nbuckets; b++) {
		for (const struct dirent *e = d->buckets[b]; e;
		     e = e->hash_next) {
			uint32_t i = tree_shard_of(e->hash, sh->count);
			if (!all && !sh->dirty[i])
				continue;
			/* A local cache file is this mount's alone. */
			if (e->inode->cache)
				continue;
			/* The count disagrees with the table: a tree bug. */
			if (*n == s->picks_cap)
				return -EIO;
			s->picks[*n].shard = i;
			s->picks[(*n)++].d = e;
		}
	}
	if (*n > 1)
		qsort(s->picks, *n, sizeof(*s->picks), pick_cmp);
	return 0;
}

/* Mark dir's own entry in its parent dirty: its node changed. */
static void mark_in_parent(struct inode *dir)
{
	const struct dirent *e = dir->links;
	struct dir_shards *ps;

	if (!e)
		return;
	ps = &e->dir->dir->shards;
	if (ps->dirty && ps->count)
		ps->dirty[tree_shard_of(e->hash, ps->count)] = 1;
	else
		ps->all_dirty = true;
}

static int seal_layout(struct sealer *s, struct inode *dir, uint32_t min)
{
	struct dir_shards *sh = &dir->dir->shards;
	bool is_root = dir == s->t->root, all, any;
	struct chunk_ref node;
	size_t n = 0;
	int rc;

	rc = layout(s, dir->dir, min);
	if (rc != 0)
		return rc;
	all = sh->all_dirty || !sh->node_valid;
	any = all;
	for (uint32_t i = 0; i < sh->count && !any; i++)
		any = sh->dirty[i] != 0;
	/* The root's node holds its attributes: always sealed (see .h). */
	if (!any && !is_root)
		return 0;
	if (sh->count == 1)
		all = true;
	if (sh->count == 1 || any) {
		rc = gather(s, dir->dir, all, &n);
		if (rc != 0)
			return rc;
	}
	rc = sh->count == 1 ? seal_flat(s, dir, n, &node)
			    : seal_sharded(s, dir, all, n, &node);
	if (rc != 0)
		return rc;
	if (!sh->node_valid || !cid_equal(&sh->node.cid, &node.cid))
		mark_in_parent(dir);
	sh->node = node;
	sh->node_valid = true;
	memset(sh->dirty, 0, sh->count);
	sh->all_dirty = false;
	return 0;
}

/*
 * The threshold counts entries, not bytes: a shard of long names and long
 * symlink targets can still pass a block.  Then split further and retry;
 * the next seal may shrink it back and retry again — correct, only slower,
 * and only for such directories.
 */
static int seal_dir(struct sealer *s, struct inode *dir)
{
	uint32_t min = 1;
	int rc;

	for (;;) {
		rc = seal_layout(s, dir, min);
		if (rc != -EFBIG ||
		    dir->dir->shards.count >= MANIFEST_SHARDS_MAX)
			return rc;
		min = dir->dir->shards.count * MANIFEST_SHARD_GROW;
	}
}

/* ---- which directories, in which order ---- */

struct work {
	struct inode *dir;
	uint32_t depth;
};

static int work_cmp(const void *a, const void *b)
{
	const struct work *x = a, *y = b;
	return (x->depth < y->depth) - (x->depth > y->depth);
}

static void push_dirty(struct fs_tree *t, struct inode *dir)
{
	dir->dir->dirty = true;
	dir->dir->next_dirty = t->dirty_dirs;
	t->dirty_dirs = dir;
}

static bool is_detached(const struct fs_tree *t, const struct inode *dir)
{
	return dir != t->root && dir->dir->parent == dir;
}

/*
 * Put every ancestor of a dirty directory on dirty_dirs too (a child's new
 * node changes its parent's entry), and the root always; then list them,
 * deepest first.  What stays on the list after a failure is harmless: a
 * directory with nothing dirty is skipped.
 */
static int plan(struct fs_tree *t, struct work **out, size_t *n)
{
	struct work *w;
	size_t count = 0, i = 0;

	if (!t->root->dir->dirty)
		push_dirty(t, t->root);
	for (struct inode *d = t->dirty_dirs; d; d = d->dir->next_dirty) {
		struct inode *cur = d;
		while (!is_detached(t, cur) && cur != t->root &&
		       !cur->dir->parent->dir->dirty) {
			cur = cur->dir->parent;
			push_dirty(t, cur);
		}
	}
	/* Pushes went to the head, behind the walk: count them now. */
	for (struct inode *d = t->dirty_dirs; d; d = d->dir->next_dirty)
		count++;
	w = calloc(count, sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (struct inode *d = t->dirty_dirs; d; d = d->dir->next_dirty) {
		struct inode *c = d;
		uint32_t depth = 0;
		for (; c != t->root && !is_detached(t, c); c = c->dir->parent) {
			if (++depth > MANIFEST_DEPTH_MAX) {
				free(w);
				return -ELOOP;
			}
		}
		/* Removed: nothing refers to its node any more. */
		if (c != t->root)
			continue;
		w[i].dir = d;
		w[i++].depth = depth;
	}
	if (i > 1)
		qsort(w, i, sizeof(*w), work_cmp);
	*out = w;
	*n = i;
	return 0;
}

int manifest_seal(struct fs_tree *t, struct obj_store *st,
		  struct chunk_ref *root)
{
	struct sealer s = {.t = t, .st = st};
	struct work *w = NULL;
	size_t n = 0;
	int rc;

	if (!t || !st || !st->bs || !root)
		return -EINVAL;
	if (!st->convergence)
		return -EROFS;
	s.sealed = malloc(BLOCK_MAX_BYTES);
	s.picks_cap = 1;
	s.picks = malloc(s.picks_cap * sizeof(*s.picks));
	rc = s.sealed && s.picks ? plan(t, &w, &n) : -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = seal_dir(&s, w[i].dir);
	if (rc == 0) {
		tree_clear_dirty(t);
		*root = t->root->dir->shards.node;
	}
	free(w);
	free(s.picks);
	free(s.sealed);
	free(s.out.p);
	return rc;
}
