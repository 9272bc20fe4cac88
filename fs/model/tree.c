/* fs/model/tree.c — see tree.h. */
#include "fs/model/tree.h"
#include "fs/model/tree_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "fs/model/maildir_name.h"
#include "util/wipe.h"

/* fs/model/manifest.h's MANIFEST_SHARD_THRESHOLD; not included, because the tree
 * knows nothing of the manifest format beyond this default. */
#define TREE_SHARD_THRESHOLD 1000
#define INO_BUCKETS_MIN 64
#define DIR_BUCKETS_MIN 8
#define BUCKETS_MAX (UINT32_C(1) << 31)
/* Fibonacci hashing: replayed or loaded inos may be strided, so mix them
 * before taking bucket bits. */
#define INO_MIX UINT64_C(0x9E3779B97F4A7C15)

bool tr_is_dir(const struct inode *in)
{
	return S_ISDIR(in->mode);
}

/* ---- the two hash tables ---- */

/*
 * Inodes by number (struct fs_tree) and a directory's entries by name
 * (struct dir) are kept alike: chained through hash_next in a power of two
 * of buckets, doubled once they hold as many entries as buckets, up to
 * BUCKETS_MAX.  The growth is best effort: if memory is short the chains
 * get longer, nothing breaks.  CHAIN_TABLE writes that once for an element
 * type, as <sys/queue.h> does for lists; slot(e, n) is e's bucket of n:
 *   NAME_link(b, n, e)        e into its bucket;
 *   NAME_unlink(b, n, e)      e out of it: false if it was not there;
 *   NAME_drain(b, n, fn)      fn on every element (fn may free it);
 *   NAME_grow(&b, &n, count)  before a link: double if count has reached n.
 */
#define CHAIN_TABLE(NAME, TYPE, slot)                                        \
	static void NAME##_link(TYPE **b, uint32_t n, TYPE *e)               \
	{                                                                    \
		uint32_t s = slot(e, n);                                     \
		e->hash_next = b[s];                                         \
		b[s] = e;                                                    \
	}                                                                    \
	static bool NAME##_unlink(TYPE **b, uint32_t n, TYPE *e)             \
	{                                                                    \
		TYPE **p = &b[slot(e, n)];                                   \
		while (*p && *p != e)                                        \
			p = &(*p)->hash_next;                                \
		if (!*p)                                                     \
			return false;                                        \
		*p = e->hash_next;                                           \
		return true;                                                 \
	}                                                                    \
	static void NAME##_drain(TYPE **b, uint32_t n, void (*fn)(TYPE *))   \
	{                                                                    \
		for (uint32_t i = 0; i < n; i++) {                           \
			TYPE *e = b[i], *next;                               \
			for (; e; e = next) {                                \
				next = e->hash_next;                         \
				fn(e);                                       \
			}                                                    \
		}                                                            \
	}                                                                    \
	static void NAME##_grow(TYPE ***b, uint32_t *n, uint64_t count)      \
	{                                                                    \
		if (count < *n || *n >= BUCKETS_MAX)                         \
			return;                                              \
		TYPE **nb = calloc((size_t)*n * 2, sizeof(*nb));             \
		if (!nb)                                                     \
			return;                                              \
		for (uint32_t i = 0; i < *n; i++) {                          \
			TYPE *e = (*b)[i], *next;                            \
			for (; e; e = next) {                                \
				next = e->hash_next;                         \
				NAME##_link(nb, *n * 2, e);                  \
			}                                                    \
		}                                                            \
		free(*b);                                                    \
		*b = nb;                                                     \
		*n *= 2;                                                     \
	}

/* Fibonacci hashing: the top bits of ino * INO_MIX.  Inode numbers come
 * consecutively, and the middle bits (>> 32, masked) put 100,000 of them
 * in 12 % of the buckets.  nbuckets is a power of two ≥ INO_BUCKETS_MIN,
 * so the shift is below 64. */
static uint32_t ino_slot(uint64_t ino, uint32_t nbuckets)
{
	return (uint32_t)((ino * INO_MIX) >>
			  (64 - (unsigned)__builtin_ctz(nbuckets)));
}

static uint32_t inode_slot(const struct inode *in, uint32_t nbuckets)
{
	return ino_slot(in->ino, nbuckets);
}

static uint32_t dirent_slot(const struct dirent *e, uint32_t nbuckets)
{
	return (uint32_t)(e->hash & (nbuckets - 1));
}

CHAIN_TABLE(ino_table, struct inode, inode_slot)
CHAIN_TABLE(name_table, struct dirent, dirent_slot)

/* ---- names ---- */

/* The length of s, 1 to max: 0, -EINVAL (none, empty), -ENAMETOOLONG. */
static int bounded_len(const char *s, size_t max, size_t *len)
{
	if (!s)
		return -EINVAL;
	*len = strnlen(s, max + 1);
	if (*len == 0)
		return -EINVAL;
	return *len > max ? -ENAMETOOLONG : 0;
}

int tr_name_len(const char *name, size_t *len)
{
	size_t n;
	int r = bounded_len(name, TREE_NAME_MAX, &n);
	if (r)
		return r;
	if (memchr(name, '/', n))
		return -EINVAL;
	if (name[0] == '.' && (n == 1 || (n == 2 && name[1] == '.')))
		return -EINVAL;
	*len = n;
	return 0;
}

int tree_check_name(const char *name)
{
	size_t len;
	return tr_name_len(name, &len);
}

uint64_t tree_name_hash(const char *name, size_t len)
{
	return XXH3_64bits(name, len);
}

static int target_len(const char *target, size_t *len)
{
	return bounded_len(target, TREE_SYMLINK_MAX, len);
}

/* ---- allocation ---- */

/* The name lives in the same allocation, right after the struct. */
struct dirent *tr_dirent_new(const char *name, size_t len, uint64_t hash)
{
	struct dirent *e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->name = (char *)(e + 1);
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	e->name_len = (uint16_t)len;
	e->hash = hash;
	return e;
}

static struct dir *dir_new(void)
{
	struct dir *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->buckets = calloc(DIR_BUCKETS_MIN, sizeof(*d->buckets));
	d->shards.dirty = calloc(1, sizeof(*d->shards.dirty));
	if (!d->buckets || !d->shards.dirty) {
		free(d->buckets);
		free(d->shards.dirty);
		free(d);
		return NULL;
	}
	d->nbuckets = DIR_BUCKETS_MIN;
	d->shards.count = 1;
	return d;
}

static void dirent_free(struct dirent *e)
{
	free(e);
}

/* Frees the entries too: a directory owns its dirents. */
static void dir_free(struct dir *d)
{
	name_table_drain(d->buckets, d->nbuckets, dirent_free);
	free(d->buckets);
	free(d->shards.dirty);
	/* The shards' and the node's keys: wipe them with the rest. */
	wipe_free(d->shards.refs, d->shards.count * sizeof(*d->shards.refs));
	wipe_free(d, sizeof(*d));
}

static void inode_free(struct inode *in)
{
	if (in->dir)
		dir_free(in->dir);
	free(in->target);
	wipe_free(in, sizeof(*in)); /* its content key */
}

static struct inode *inode_new(uint64_t ino, uint32_t mode,
			       const char *target, size_t tlen)
{
	struct inode *in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->ino = ino;
	in->mode = mode;
	if (S_ISDIR(mode) && !(in->dir = dir_new()))
		goto fail;
	if (S_ISLNK(mode)) {
		in->target = malloc(tlen + 1);
		if (!in->target)
			goto fail;
		memcpy(in->target, target, tlen);
		in->target[tlen] = '\0';
		in->size = tlen;
	}
	return in;
fail:
	inode_free(in);
	return NULL;
}

/* ---- ino → inode ---- */

static void ino_insert(struct fs_tree *t, struct inode *in)
{
	ino_table_grow(&t->buckets, &t->nbuckets, t->ninodes);
	ino_table_link(t->buckets, t->nbuckets, in);
	t->ninodes++;
	if (in->ino >= t->next_ino &&
	    (!t->range_end ||
	     (in->ino >= t->range_start && in->ino < t->range_end)))
		t->next_ino = in->ino + 1;
}

static void ino_remove(struct fs_tree *t, struct inode *in)
{
	if (ino_table_unlink(t->buckets, t->nbuckets, in))
		t->ninodes--;
}

int tree_set_range(struct fs_tree *t, uint64_t device, uint64_t next)
{
	uint64_t start = device << TREE_INO_RANGE_BITS;
	uint64_t end = (device + 1) << TREE_INO_RANGE_BITS;

	if (device >= TREE_DEVICES)
		return -EINVAL;
	if (start <= TREE_ROOT_INO)
		start = TREE_ROOT_INO + 1;
	if (next < start || next >= end)
		return -EINVAL;
	t->range_start = start;
	t->range_end = end;
	t->next_ino = next;
	return 0;
}

struct inode *tree_get(struct fs_tree *t, uint64_t ino)
{
	struct inode *in = t->buckets[ino_slot(ino, t->nbuckets)];
	while (in && in->ino != ino)
		in = in->hash_next;
	return in;
}

int tree_get_file(struct fs_tree *t, uint64_t ino, struct inode **out)
{
	*out = tree_get(t, ino);
	if (!*out)
		return -ENOENT;
	return S_ISDIR((*out)->mode) ? -EISDIR : 0;
}

/* An ino for a new inode: the caller's (replay) or the next free one. */
static int pick_ino(struct fs_tree *t, uint64_t want, uint64_t *ino)
{
	if (want == 0) {
		if (t->next_ino == UINT64_MAX ||
		    (t->range_end && t->next_ino >= t->range_end))
			return -ENOSPC;
		*ino = t->next_ino;
		return 0;
	}
	/* next_ino must be able to move past it. */
	if (want == UINT64_MAX)
		return -EINVAL;
	if (tree_get(t, want))
		return -EEXIST;
	*ino = want;
	return 0;
}

/* ---- name → dirent, per directory ---- */

struct dirent *tr_dir_find(const struct dir *d, const char *name,
			       size_t len, uint64_t hash)
{
	struct dirent *e = d->buckets[hash & (d->nbuckets - 1)];
	for (; e; e = e->hash_next)
		if (e->hash == hash && e->name_len == len &&
		    memcmp(e->name, name, len) == 0)
			return e;
	return NULL;
}

/* May name be added to dir?  0 with its length and hash, else the first
 * of -ENOTDIR, name_len's error, -ENOENT (dir was removed), -EEXIST. */
static int new_name(const struct inode *dir, const char *name, size_t *len,
		    uint64_t *hash)
{
	int r;
	if (!dir->dir)
		return -ENOTDIR;
	if ((r = tr_name_len(name, len)))
		return r;
	if (dir->nlink == 0)
		return -ENOENT;
	*hash = tree_name_hash(name, *len);
	return tr_dir_find(dir->dir, name, *len, *hash) ? -EEXIST : 0;
}

struct dirent *tree_lookup(struct inode *dir, const char *name)
{
	size_t len;
	if (!dir || !dir->dir || !name)
		return NULL;
	len = strnlen(name, TREE_NAME_MAX + 1);
	if (len == 0 || len > TREE_NAME_MAX)
		return NULL;
	return tr_dir_find(dir->dir, name, len, tree_name_hash(name, len));
}

void tr_count_name(struct fs_tree *t, const struct dirent *e, bool in)
{
	if (tr_is_dir(e->inode) || !maildir_is_index_name(e->name))
		return;
	if (in)
		t->index_names++;
	else
		t->index_names--;
}

void tr_dir_insert(struct fs_tree *t, struct inode *dir,
		   struct dirent *e)
{
	struct dir *d = dir->dir;
	name_table_grow(&d->buckets, &d->nbuckets, d->count);
	name_table_link(d->buckets, d->nbuckets, e);
	e->dir = dir;
	d->count++;
	tr_count_name(t, e, true);
}

void tr_dir_remove(struct fs_tree *t, struct inode *dir,
		   struct dirent *e)
{
	struct dir *d = dir->dir;
	if (name_table_unlink(d->buckets, d->nbuckets, e)) {
		d->count--;
		tr_count_name(t, e, false);
	}
}

/* ---- an inode's names ---- */

void tr_link_add(struct inode *in, struct dirent *e)
{
	e->inode = in;
	e->next_link = in->links;
	in->links = e;
}

void tr_link_remove(struct inode *in, struct dirent *e)
{
	struct dirent **p = &in->links;
	while (*p && *p != e)
		p = &(*p)->next_link;
	if (*p)
		*p = e->next_link;
	e->next_link = NULL;
}

/* ---- dirty marks and times ---- */

static void dirty_push(struct fs_tree *t, struct inode *dir)
{
	struct dir *d = dir->dir;
	if (d->dirty)
		return;
	d->dirty = true;
	d->next_dirty = t->dirty_dirs;
	t->dirty_dirs = dir;
}

/* A removed directory must leave the list before it can be freed. */
static void dirty_remove(struct fs_tree *t, struct inode *dir)
{
	struct dir *d = dir->dir;
	struct inode **p = &t->dirty_dirs;
	if (!d->dirty)
		return;
	while (*p && *p != dir)
		p = &(*p)->dir->next_dirty;
	if (*p)
		*p = d->next_dirty;
	d->dirty = false;
	d->next_dirty = NULL;
}

void tr_mark_name(struct fs_tree *t, struct inode *dir, uint64_t hash)
{
	struct dir_shards *s = &dir->dir->shards;
	if (s->dirty && s->count)
		s->dirty[tree_shard_of(hash, s->count)] = 1;
	else
		s->all_dirty = true;
	dirty_push(t, dir);
}

/* A directory with no sealed node yet: every shard must be written. */
static void mark_unsealed(struct fs_tree *t, struct inode *dir)
{
	struct dir_shards *s = &dir->dir->shards;
	s->all_dirty = true;
	if (s->dirty)
		memset(s->dirty, 1, s->count);
	dirty_push(t, dir);
}

void tree_inode_changed(struct fs_tree *t, struct inode *inode)
{
	for (struct dirent *e = inode->links; e; e = e->next_link)
		tr_mark_name(t, e->dir, e->hash);
}

void tree_clear_dirty(struct fs_tree *t)
{
	struct inode *dir = t->dirty_dirs, *next;
	for (; dir; dir = next) {
		struct dir *d = dir->dir;
		next = d->next_dirty;
		d->dirty = false;
		d->next_dirty = NULL;
		d->shards.all_dirty = false;
		if (d->shards.dirty)
			memset(d->shards.dirty, 0, d->shards.count);
	}
	t->dirty_dirs = NULL;
}

/* Entries of dir changed: its times, hence its own entry in its parent. */
void tr_touch_dir(struct fs_tree *t, struct inode *dir,
		      const struct timespec *now)
{
	dir->mtime = *now;
	dir->ctime = *now;
	tree_inode_changed(t, dir);
}

void tr_touch_inode(struct fs_tree *t, struct inode *in,
			const struct timespec *now)
{
	in->ctime = *now;
	tree_inode_changed(t, in);
}

/* Take e out of its directory and away from its inode, and free it.  The
 * inode stays (tree_release frees it); the caller touches the directory. */
void tr_drop_entry(struct fs_tree *t, struct dirent *e,
		       const struct timespec *now)
{
	struct inode *dir = e->dir, *in = e->inode;
	tr_dir_remove(t, dir, e);
	tr_link_remove(in, e);
	tr_mark_name(t, dir, e->hash);
	free(e);
	if (tr_is_dir(in)) {
		in->nlink = 0;
		in->dir->parent = in;
		dir->dir->subdirs--;
		dir->nlink--;
		dirty_remove(t, in);
	} else {
		in->nlink--;
	}
	tr_touch_inode(t, in, now);
}

/* ---- tree ---- */

int tree_new(struct fs_tree **out, uint32_t uid, uint32_t gid,
	     const struct timespec *now)
{
	struct fs_tree *t;
	struct inode *root;
	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->buckets = calloc(INO_BUCKETS_MIN, sizeof(*t->buckets));
	root = inode_new(TREE_ROOT_INO, S_IFDIR | 0755, NULL, 0);
	if (!t->buckets || !root) {
		if (root)
			inode_free(root);
		free(t->buckets);
		free(t);
		return -ENOMEM;
	}
	t->nbuckets = INO_BUCKETS_MIN;
	t->next_ino = TREE_ROOT_INO + 1;
	t->shard_threshold = TREE_SHARD_THRESHOLD;
	root->uid = uid;
	root->gid = gid;
	root->nlink = 2;
	root->atime = root->mtime = root->ctime = *now;
	root->dir->parent = root;
	ino_insert(t, root);
	t->root = root;
	mark_unsealed(t, root);
	*out = t;
	return 0;
}

void tree_free(struct fs_tree *t)
{
	if (!t)
		return;
	/* in->file, if any, belongs to its owner (fs/mount/file.h). */
	ino_table_drain(t->buckets, t->nbuckets, inode_free);
	free(t->buckets);
	free(t);
}

/* Levels between the root (0) and dir. */
uint32_t tr_dir_depth(const struct inode *dir)
{
	uint32_t depth = 0;
	while (dir->dir && dir->dir->parent != dir && depth <= TREE_DEPTH_MAX) {
		dir = dir->dir->parent;
		depth++;
	}
	return depth;
}

/* May an inode of mode (a symlink: to target) be made in dir?  0 with
 * the target's length in *tlen, -EINVAL (a type the tree does not hold),
 * target_len's error, or -EMLINK (a directory, and dir has its most). */
static int new_inode_fits(const struct inode *dir, uint32_t mode,
			  const char *target, size_t *tlen)
{
	uint32_t type = mode & S_IFMT;
	int r;
	if (!tree_type_ok(mode))
		return -EINVAL;
	if (type == S_IFLNK && (r = target_len(target, tlen)))
		return r;
	if (type == S_IFDIR && dir->nlink >= TREE_LINK_MAX)
		return -EMLINK;
	return 0;
}

/* A new inode under its first name (checked by new_name) in dir: in the
 * tree, with the links a directory adds.  NULL when out of memory. */
static struct inode *add_inode(struct fs_tree *t, struct inode *dir,
			       uint64_t ino, uint32_t mode, const char *target,
			       size_t tlen, const char *name, size_t len,
			       uint64_t hash)
{
	struct inode *in = inode_new(ino, mode, target, tlen);
	struct dirent *e = tr_dirent_new(name, len, hash);
	if (!in || !e) {
		if (in)
			inode_free(in);
		free(e);
		return NULL;
	}
	in->nlink = S_ISDIR(mode) ? 2 : 1;
	tr_link_add(in, e);
	tr_dir_insert(t, dir, e);
	ino_insert(t, in);
	if (S_ISDIR(mode)) {
		in->dir->parent = dir;
		dir->dir->subdirs++;
		dir->nlink++;
	}
	return in;
}

/* Another name (checked by new_name) in dir for in: 0, -EMLINK or
 * -ENOMEM. */
static int add_link(struct fs_tree *t, struct inode *dir, struct inode *in,
		    const char *name, size_t len, uint64_t hash)
{
	if (in->nlink >= TREE_LINK_MAX)
		return -EMLINK;
	struct dirent *e = tr_dirent_new(name, len, hash);
	if (!e)
		return -ENOMEM;
	tr_link_add(in, e);
	tr_dir_insert(t, dir, e);
	in->nlink++;
	return 0;
}

int tree_create(struct fs_tree *t, struct inode *dir, const char *name,
		const struct tree_new_inode *spec, const struct timespec *now,
		struct inode **out)
{
	uint32_t type = spec->mode & S_IFMT;
	size_t len, tlen = 0;
	struct inode *in;
	uint64_t hash, ino;
	int r;

	if (out)
		*out = NULL;
	if ((r = new_name(dir, name, &len, &hash)))
		return r;
	if ((r = new_inode_fits(dir, spec->mode, spec->target, &tlen)))
		return r;
	if (type == S_IFDIR && tr_dir_depth(dir) + 1 > TREE_DEPTH_MAX)
		return -EMLINK;
	if ((r = pick_ino(t, spec->ino, &ino)))
		return r;

	in = add_inode(t, dir, ino, spec->mode, spec->target, tlen, name, len,
		       hash);
	if (!in)
		return -ENOMEM;
	in->uid = spec->uid;
	in->gid = spec->gid;
	in->rdev = tree_has_rdev(spec->mode) ? spec->rdev : 0;
	in->atime = in->mtime = in->ctime = *now;
	if (type == S_IFDIR)
		mark_unsealed(t, in);
	tr_mark_name(t, dir, hash);
	tr_touch_dir(t, dir, now);
	if (out)
		*out = in;
	return 0;
}

int tree_link(struct fs_tree *t, struct inode *inode, struct inode *dir,
	      const char *name, const struct timespec *now)
{
	uint64_t hash;
	size_t len;
	int r;

	if ((r = new_name(dir, name, &len, &hash)))
		return r;
	if (tr_is_dir(inode))
		return -EPERM;
	/* Linux refuses to resurrect an unlinked file the same way. */
	if (inode->nlink == 0)
		return -ENOENT;
	if ((r = add_link(t, dir, inode, name, len, hash)))
		return r;
	tr_mark_name(t, dir, hash);
	tr_touch_dir(t, dir, now);
	tr_touch_inode(t, inode, now);
	return 0;
}

int tree_unlink(struct fs_tree *t, struct inode *dir, const char *name,
		bool rmdir, const struct timespec *now)
{
	struct dirent *e;
	size_t len;
	int r;

	if (!dir->dir)
		return -ENOTDIR;
	if ((r = tr_name_len(name, &len)))
		return r;
	e = tr_dir_find(dir->dir, name, len, tree_name_hash(name, len));
	if (!e)
		return -ENOENT;
	if (rmdir) {
		if (!tr_is_dir(e->inode))
			return -ENOTDIR;
		if (e->inode->dir->count)
			return -ENOTEMPTY;
	} else if (tr_is_dir(e->inode)) {
		return -EISDIR;
	}
	tr_drop_entry(t, e, now);
	tr_touch_dir(t, dir, now);
	return 0;
}

int tree_release(struct fs_tree *t, struct inode *inode)
{
	if (!inode || inode == t->root || inode->nlink || inode->lookups ||
	    inode->opens || inode->file)
		return 0;
	ino_remove(t, inode);
	if (inode->dir)
		dirty_remove(t, inode);
	inode_free(inode);
	return 1;
}

int tree_add_orphan(struct fs_tree *t, const struct inode *like,
		    struct inode **out)
{
	if (tree_get(t, like->ino))
		return -EEXIST;
	size_t tlen = like->target ? strlen(like->target) : 0;
	struct inode *in = inode_new(like->ino, like->mode, like->target, tlen);
	if (!in)
		return -ENOMEM;
	in->uid = like->uid;
	in->gid = like->gid;
	in->size = like->size;
	in->atime = like->atime;
	in->mtime = like->mtime;
	in->ctime = like->ctime;
	in->content = like->content;
	in->rdev = like->rdev;
	if (in->dir)
		in->dir->parent = in; /* removed: its own parent */
	ino_insert(t, in);
	*out = in;
	return 0;
}

/* The attributes a committed manifest gives an inode of attrs' type (a
 * symlink's size is its target's, only a file has content). */
static void load_attrs(struct inode *in, const struct tree_load_attrs *attrs)
{
	uint32_t type = attrs->mode & S_IFMT;
	in->mode = attrs->mode;
	in->uid = attrs->uid;
	in->gid = attrs->gid;
	if (type != S_IFLNK)
		in->size = attrs->size;
	in->atime = attrs->atime;
	in->mtime = attrs->mtime;
	in->ctime = attrs->ctime;
	if (type == S_IFREG)
		in->content = attrs->content;
	in->rdev = tree_has_rdev(attrs->mode) ? attrs->rdev : 0;
}

int tree_load_root(struct fs_tree *t, const struct tree_load_attrs *attrs)
{
	if (!S_ISDIR(attrs->mode))
		return -EINVAL;
	load_attrs(t->root, attrs);
	return 0;
}

int tree_load_entry(struct fs_tree *t, struct inode *dir, const char *name,
		    uint64_t ino, const struct tree_load_attrs *attrs,
		    struct inode **out)
{
	uint32_t type = attrs->mode & S_IFMT;
	size_t len, tlen = 0;
	struct inode *in;
	uint64_t hash;
	int r;

	if (out)
		*out = NULL;
	if ((r = new_name(dir, name, &len, &hash)))
		return r;
	if (ino == 0 || ino == UINT64_MAX)
		return -EINVAL;

	in = tree_get(t, ino);
	if (in) {
		if (tr_is_dir(in) || (in->mode & S_IFMT) != type)
			return -EINVAL;
		if ((r = add_link(t, dir, in, name, len, hash)))
			return r;
		if (out)
			*out = in;
		return 0;
	}

	if ((r = new_inode_fits(dir, attrs->mode, attrs->target, &tlen)))
		return r;
	in = add_inode(t, dir, ino, attrs->mode, attrs->target, tlen, name,
		       len, hash);
	if (!in)
		return -ENOMEM;
	load_attrs(in, attrs);
	if (out)
		*out = in;
	return 0;
}
