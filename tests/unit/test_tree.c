/* tests/unit/test_tree.c — fs/model/tree.c: names, errnos, invariants, dirty marks. */
#include "fs/model/tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/tap.h"

#define BIG_DIR_ENTRIES 100000
#define RANDOM_OPS 20000
#define RANDOM_BATCH 100
#define HELD_MAX 32
/* The longest hash chain a table of BIG_DIR_ENTRIES names may have: the
 * guard against quadratic insert and lookup, without timing anything. */
#define BIG_DIR_CHAIN_MAX 16
#define DEEP_EXTRA 3

static struct timespec ts(long s)
{
	struct timespec t = {.tv_sec = s, .tv_nsec = 0};
	return t;
}

static bool ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static struct fs_tree *new_tree(void)
{
	struct timespec t0 = ts(1);
	struct fs_tree *t = NULL;
	if (tree_new(&t, 1000, 1000, &t0) != 0) {
		tap_diag("tree_new failed");
		exit(1);
	}
	return t;
}

static int mk(struct fs_tree *t, struct inode *dir, const char *name,
	      uint32_t mode, long now, struct inode **out)
{
	struct tree_new_inode spec = {.mode = mode, .uid = 1, .gid = 2};
	struct timespec n = ts(now);
	if (S_ISLNK(mode))
		spec.target = "target";
	return tree_create(t, dir, name, &spec, &n, out);
}

static struct inode *must(struct fs_tree *t, struct inode *dir,
			  const char *name, uint32_t mode)
{
	struct inode *in = NULL;
	if (mk(t, dir, name, mode, 2, &in) != 0) {
		tap_diag("cannot create %s", name);
		exit(1);
	}
	return in;
}

static int unl(struct fs_tree *t, struct inode *dir, const char *name,
	       bool rmdir, long now)
{
	struct timespec n = ts(now);
	return tree_unlink(t, dir, name, rmdir, &n);
}

static int ren(struct fs_tree *t, struct inode *od, const char *on,
	       struct inode *nd, const char *nn, unsigned flags, long now)
{
	struct timespec n = ts(now);
	return tree_rename(t, od, on, nd, nn, flags, &n);
}

static int lnk(struct fs_tree *t, struct inode *in, struct inode *dir,
	       const char *name, long now)
{
	struct timespec n = ts(now);
	return tree_link(t, in, dir, name, &n);
}

static struct inode *named(struct inode *dir, const char *name)
{
	struct dirent *e = tree_lookup(dir, name);
	return e ? e->inode : NULL;
}

static size_t nlinks(const struct inode *in)
{
	size_t n = 0;
	for (const struct dirent *e = in->links; e; e = e->next_link)
		n++;
	return n;
}

static bool on_dirty_list(struct fs_tree *t, const struct inode *dir)
{
	for (struct inode *d = t->dirty_dirs; d; d = d->dir->next_dirty)
		if (d == dir)
			return true;
	return false;
}

static size_t dirty_list_len(struct fs_tree *t)
{
	size_t n = 0;
	for (struct inode *d = t->dirty_dirs; d && n < 1000000;
	     d = d->dir->next_dirty)
		n++;
	return n;
}

/* ---- the invariants of tree.h, checked over the whole tree ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool walk_up_to_root(struct fs_tree *t, struct inode *d)
{
	for (uint64_t i = 0; i <= t->ninodes; i++) {
		if (d == t->root)
			return true;
		if (d->dir->parent == d)
			return false;
		d = d->dir->parent;
	}
	return false;
}

#define FAIL(...)                                                             \
	do {                                                                  \
		snprintf(why, cap, __VA_ARGS__);                              \
		goto out;                                                     \
	} while (0)

static bool check_dir(struct fs_tree *t, struct inode *in, char *why,
		      size_t cap, uint64_t *names)
{
	struct dir *d = in->dir;
	uint32_t entries = 0, subdirs = 0;
	if (d->count > d->nbuckets)
		FAIL("dir %lu: load factor %u/%u", (unsigned long)in->ino,
		     d->count, d->nbuckets);
	for (uint32_t b = 0; b < d->nbuckets; b++) {
		for (struct dirent *e = d->buckets[b]; e; e = e->hash_next) {
			bool found = false;
			entries++;
			if (e->dir != in)
				FAIL("%.40s: wrong dir", e->name);
			if (e->hash != tree_name_hash(e->name, e->name_len) ||
			    strlen(e->name) != e->name_len)
				FAIL("%.40s: wrong hash or length", e->name);
			if ((e->hash & (d->nbuckets - 1)) != b)
				FAIL("%.40s: in bucket %u", e->name, b);
			if (tree_lookup(in, e->name) != e)
				FAIL("%.40s: lookup misses it", e->name);
			if (tree_check_name(e->name) != 0)
				FAIL("%.40s: invalid name stored", e->name);
			for (struct dirent *l = e->inode->links; l;
			     l = l->next_link)
				found |= l == e;
			if (!found)
				FAIL("%.40s: not on its inode's links", e->name);
			if (tree_get(t, e->inode->ino) != e->inode)
				FAIL("%.40s: names a freed inode", e->name);
			if (S_ISDIR(e->inode->mode)) {
				subdirs++;
				if (e->inode->dir->parent != in)
					FAIL("%.40s: parent pointer", e->name);
			}
		}
	}
	if (entries != d->count)
		FAIL("dir %lu: count %u, entries %u", (unsigned long)in->ino,
		     d->count, entries);
	if (subdirs != d->subdirs)
		FAIL("dir %lu: subdirs %u, found %u", (unsigned long)in->ino,
		     d->subdirs, subdirs);
	if (in->nlink != 0 && in->nlink != 2 + subdirs)
		FAIL("dir %lu: nlink %u, subdirs %u", (unsigned long)in->ino,
		     in->nlink, subdirs);
	*names += entries;
	return true;
out:
	return false;
}

static bool check_inode(struct fs_tree *t, struct inode *in, char *why,
			size_t cap, uint64_t *names, uint64_t *links)
{
	size_t n = nlinks(in);
	for (struct dirent *e = in->links; e; e = e->next_link)
		if (e->inode != in || tree_lookup(e->dir, e->name) != e)
			FAIL("ino %lu: stale link %.40s", (unsigned long)in->ino,
			     e->name);
	*links += n;
	if (!S_ISDIR(in->mode)) {
		if (in->dir)
			FAIL("ino %lu: non-dir with a table",
			     (unsigned long)in->ino);
		if (in->nlink != n)
			FAIL("ino %lu: nlink %u, names %zu",
			     (unsigned long)in->ino, in->nlink, n);
		if (in->nlink == 0 && !in->lookups && !in->opens)
			FAIL("ino %lu: unreferenced but not released",
			     (unsigned long)in->ino);
		return true;
	}
	if (!in->dir)
		FAIL("ino %lu: dir without a table", (unsigned long)in->ino);
	if (in == t->root) {
		if (n != 0 || in->dir->parent != in)
			FAIL("root has a name or a parent");
	} else if (in->nlink == 0) {
		if (n != 0 || in->dir->parent != in || in->dir->count ||
		    in->dir->dirty)
			FAIL("removed dir %lu not detached",
			     (unsigned long)in->ino);
		if (!in->lookups && !in->opens)
			FAIL("removed dir %lu not released",
			     (unsigned long)in->ino);
	} else {
		if (n != 1 || in->links->dir != in->dir->parent)
			FAIL("dir %lu: %zu names", (unsigned long)in->ino, n);
		if (!walk_up_to_root(t, in) ||
		    !tree_is_ancestor(t->root, in))
			FAIL("dir %lu: not below the root",
			     (unsigned long)in->ino);
	}
	return check_dir(t, in, why, cap, names);
out:
	return false;
}

static bool check_tree(struct fs_tree *t, char *why, size_t cap)
{
	uint64_t seen = 0, names = 0, links = 0, dirty = 0;
	uint64_t *inos = calloc(t->ninodes + 1, sizeof(*inos));
	bool good = false;
	if (!inos)
		FAIL("out of memory");
	if (t->ninodes > t->nbuckets)
		FAIL("ino table load factor %lu/%u",
		     (unsigned long)t->ninodes, t->nbuckets);
	for (uint32_t b = 0; b < t->nbuckets; b++) {
		for (struct inode *in = t->buckets[b]; in; in = in->hash_next) {
			if (seen >= t->ninodes)
				FAIL("more inodes than ninodes");
			inos[seen++] = in->ino;
			if (tree_get(t, in->ino) != in)
				FAIL("ino %lu unreachable", (unsigned long)in->ino);
			if (in->ino == 0 || in->ino >= t->next_ino)
				FAIL("ino %lu vs next %lu", (unsigned long)in->ino,
				     (unsigned long)t->next_ino);
			if (!check_inode(t, in, why, cap, &names, &links))
				goto out;
			if (in->dir && in->dir->dirty)
				dirty++;
		}
	}
	if (seen != t->ninodes)
		FAIL("%lu inodes, ninodes %lu", (unsigned long)seen,
		     (unsigned long)t->ninodes);
	if (names != links)
		FAIL("%lu dirents but %lu links", (unsigned long)names,
		     (unsigned long)links);
	qsort(inos, seen, sizeof(*inos), cmp_u64);
	for (uint64_t i = 1; i < seen; i++)
		if (inos[i] == inos[i - 1])
			FAIL("ino %lu twice", (unsigned long)inos[i]);
	if (tree_get(t, TREE_ROOT_INO) != t->root)
		FAIL("root is not ino 1");
	for (struct inode *d = t->dirty_dirs; d; d = d->dir->next_dirty) {
		if (dirty == 0)
			FAIL("dirty list longer than the dirty flags");
		dirty--;
		if (tree_get(t, d->ino) != d || !d->dir->dirty)
			FAIL("dirty list holds %lu", (unsigned long)d->ino);
		if (d->nlink == 0)
			FAIL("removed dir %lu on dirty list",
			     (unsigned long)d->ino);
	}
	if (dirty != 0)
		FAIL("dirty flags not on the list");
	good = true;
out:
	free(inos);
	return good;
}

#undef FAIL

/* ---- names and creation ---- */

static void test_names(void)
{
	char max[TREE_NAME_MAX + 2];
	memset(max, 'x', sizeof(max));
	max[TREE_NAME_MAX] = '\0';
	is_int(tree_check_name(max), 0, "a name of TREE_NAME_MAX bytes");
	max[TREE_NAME_MAX] = 'x';
	max[TREE_NAME_MAX + 1] = '\0';
	is_int(tree_check_name(max), -ENAMETOOLONG, "one byte more");
	is_int(tree_check_name(""), -EINVAL, "empty name");
	is_int(tree_check_name("a/b"), -EINVAL, "slash");
	is_int(tree_check_name("/"), -EINVAL, "only a slash");
	is_int(tree_check_name("."), -EINVAL, "dot");
	is_int(tree_check_name(".."), -EINVAL, "dotdot");
	is_int(tree_check_name("..."), 0, "three dots are a name");
	is_int(tree_check_name(".Sent"), 0, "Maildir++ folder");
	is_int(tree_check_name("1700000000.M1P2.host:2,S"), 0,
	       "maildir file name");
	/* The manifest's shard membership depends on this exact hash. */
	ok(tree_name_hash("", 0) == UINT64_C(0x2D06800538D394C2),
	   "tree_name_hash is XXH3-64 (empty input vector)");
	ok(tree_name_hash("ab", 1) == tree_name_hash("a", 1),
	   "hash uses len, not the terminator");
}

static void test_new(void)
{
	struct fs_tree *t = new_tree();
	struct inode *r = t->root;
	ok(r && r->ino == TREE_ROOT_INO && tree_get(t, 1) == r, "root is ino 1");
	ok(S_ISDIR(r->mode) && (r->mode & 07777) == 0755, "root mode 0755");
	is_int(r->nlink, 2, "root nlink 2");
	ok(r->uid == 1000 && r->gid == 1000, "root owner");
	ok(r->dir->parent == r, "root is its own parent");
	ok(ts_eq(r->mtime, ts(1)) && ts_eq(r->ctime, ts(1)) &&
		   ts_eq(r->atime, ts(1)),
	   "root times = now");
	is_int(t->next_ino, 2, "next_ino starts at 2");
	is_int(t->shard_threshold, 1000, "shard threshold default");
	ok(t->dirty_dirs == r && r->dir->dirty && r->dir->shards.all_dirty &&
		   r->dir->shards.count == 1 && r->dir->shards.dirty[0],
	   "an unsealed root is dirty");
	tree_clear_dirty(t);
	ok(!t->dirty_dirs && !r->dir->dirty && !r->dir->shards.all_dirty &&
		   !r->dir->shards.dirty[0],
	   "tree_clear_dirty clears it");
	ok(tree_get(t, 2) == NULL, "nothing else");
	tree_free(t);
}

static void test_create(void)
{
	struct fs_tree *t = new_tree();
	struct inode *r = t->root, *f, *d, *l, *x = NULL;
	char target[] = "../some/where";
	char longname[TREE_NAME_MAX + 2];
	char *longtarget = malloc(TREE_SYMLINK_MAX + 2);
	struct tree_new_inode spec = {.mode = S_IFLNK | 0777, .target = target};
	struct timespec now = ts(5);

	is_int(mk(t, r, "f", S_IFREG | 0640, 2, &f), 0, "create a file");
	ok(f->ino == 2 && f->nlink == 1 && f->lookups == 0 &&
		   (f->mode & 07777) == 0640 && f->uid == 1 && f->gid == 2,
	   "file attributes");
	ok(f->links && !f->links->next_link && f->links->dir == r &&
		   strcmp(f->links->name, "f") == 0,
	   "its one name");
	ok(ts_eq(f->mtime, ts(2)) && ts_eq(f->ctime, ts(2)) &&
		   ts_eq(f->atime, ts(2)),
	   "file times = now");
	is_int(mk(t, r, "d", S_IFDIR | 0700, 3, &d), 0, "create a directory");
	ok(d->ino == 3 && d->nlink == 2 && d->dir && d->dir->parent == r,
	   "dir ino, nlink 2, parent");
	ok(r->nlink == 3 && r->dir->subdirs == 1, "parent nlink 3");
	ok(d->dir->dirty && d->dir->shards.all_dirty && on_dirty_list(t, d),
	   "a new directory is dirty (never sealed)");
	is_int(tree_create(t, r, "l", &spec, &now, &l), 0, "create a symlink");
	target[0] = 'X';
	ok(l->target && strcmp(l->target, "../some/where") == 0 &&
		   l->size == strlen("../some/where") && l->nlink == 1,
	   "symlink target copied, size = its length");
	ok(named(r, "f") == f && named(r, "d") == d && named(r, "l") == l,
	   "lookups find them");
	ok(tree_lookup(r, "nope") == NULL, "absent name");
	ok(tree_lookup(f, "f") == NULL, "lookup in a file");

	is_int(mk(t, r, "f", S_IFREG | 0644, 4, &x), -EEXIST, "EEXIST");
	ok(x == NULL, "no inode on failure");
	is_int(mk(t, r, "d", S_IFDIR | 0755, 4, NULL), -EEXIST,
	       "EEXIST for a dir name too");
	is_int(mk(t, f, "x", S_IFREG | 0644, 4, NULL), -ENOTDIR,
	       "ENOTDIR: parent is a file");
	memset(longname, 'n', sizeof(longname));
	longname[TREE_NAME_MAX + 1] = '\0';
	is_int(mk(t, r, longname, S_IFREG | 0644, 4, NULL), -ENAMETOOLONG,
	       "ENAMETOOLONG");
	longname[TREE_NAME_MAX] = '\0';
	is_int(mk(t, r, longname, S_IFREG | 0644, 4, NULL), 0,
	       "TREE_NAME_MAX is fine");
	is_int(mk(t, r, "", S_IFREG | 0644, 4, NULL), -EINVAL, "EINVAL empty");
	is_int(mk(t, r, "a/b", S_IFREG | 0644, 4, NULL), -EINVAL,
	       "EINVAL slash");
	is_int(mk(t, r, ".", S_IFDIR | 0755, 4, NULL), -EINVAL, "EINVAL dot");
	is_int(mk(t, r, "..", S_IFDIR | 0755, 4, NULL), -EINVAL,
	       "EINVAL dotdot");
	is_int(mk(t, r, "odd", 0030000 | 0644, 4, NULL), -EINVAL,
	       "EINVAL for a type the tree does not hold");
	is_int(mk(t, r, "notype", 0644, 4, NULL), -EINVAL,
	       "EINVAL for no type at all");
	spec.target = NULL;
	is_int(tree_create(t, r, "l2", &spec, &now, NULL), -EINVAL,
	       "symlink without target");
	memset(longtarget, 't', TREE_SYMLINK_MAX + 1);
	longtarget[TREE_SYMLINK_MAX + 1] = '\0';
	spec.target = longtarget;
	is_int(tree_create(t, r, "l2", &spec, &now, NULL), -ENAMETOOLONG,
	       "symlink target too long");
	longtarget[TREE_SYMLINK_MAX] = '\0';
	is_int(tree_create(t, r, "l2", &spec, &now, NULL), 0,
	       "symlink target of TREE_SYMLINK_MAX");

	/* Replay passes recorded inos. */
	spec.mode = S_IFREG | 0600;
	spec.ino = 100;
	is_int(tree_create(t, r, "r100", &spec, &now, &x), 0,
	       "create with a given ino");
	ok(x && x->ino == 100 && tree_get(t, 100) == x, "it has that ino");
	is_int(t->next_ino, 101, "next_ino moves past it");
	is_int(tree_create(t, r, "again", &spec, &now, NULL), -EEXIST,
	       "an ino in use is refused");
	ok(tree_lookup(r, "again") == NULL, "and no name was made");
	spec.ino = 50;
	is_int(tree_create(t, r, "r50", &spec, &now, &x), 0, "a lower free ino");
	is_int(t->next_ino, 101, "next_ino never goes back");
	spec.ino = 0;
	is_int(tree_create(t, r, "next", &spec, &now, &x), 0, "allocate");
	is_int(x->ino, 101, "allocation continues after the replayed ino");
	{
		char why[200] = "";
		ok(check_tree(t, why, sizeof(why)), "invariants: %s", why);
	}
	free(longtarget);
	tree_free(t);
}

/* ---- link / unlink / rmdir ---- */

static void test_link_unlink(void)
{
	struct fs_tree *t = new_tree();
	struct inode *r = t->root, *f, *d, *d2, *s;
	char why[200] = "";
	uint64_t sino;

	f = must(t, r, "f", S_IFREG | 0644);
	d = must(t, r, "d", S_IFDIR | 0755);
	s = must(t, d, "sub", S_IFDIR | 0755);
	is_int(lnk(t, f, d, "g", 10), 0, "link");
	is_int(f->nlink, 2, "nlink 2");
	ok(nlinks(f) == 2 && named(d, "g") == f && named(r, "f") == f,
	   "both names, both on links");
	ok(ts_eq(f->ctime, ts(10)) && ts_eq(f->mtime, ts(2)),
	   "link changes ctime, not mtime");
	is_int(lnk(t, d, r, "d2", 11), -EPERM, "EPERM: link a directory");
	is_int(lnk(t, f, d, "g", 11), -EEXIST, "EEXIST: link over a name");
	is_int(lnk(t, f, r, "d", 11), -EEXIST, "EEXIST: link over a dir");
	is_int(lnk(t, f, f, "x", 11), -ENOTDIR, "ENOTDIR: link into a file");
	is_int(lnk(t, f, d, "a/b", 11), -EINVAL, "EINVAL: bad name");
	is_int(f->nlink, 2, "failed links change nothing");

	is_int(unl(t, r, "nope", false, 12), -ENOENT, "unlink ENOENT");
	is_int(unl(t, r, "nope", true, 12), -ENOENT, "rmdir ENOENT");
	is_int(unl(t, r, "d", false, 12), -EISDIR, "unlink a dir: EISDIR");
	is_int(unl(t, r, "f", true, 12), -ENOTDIR, "rmdir a file: ENOTDIR");
	is_int(unl(t, r, "d", true, 12), -ENOTEMPTY, "rmdir: ENOTEMPTY");
	is_int(unl(t, f, "x", false, 12), -ENOTDIR, "unlink in a file");
	is_int(unl(t, r, "..", true, 12), -EINVAL, "rmdir ..");

	is_int(unl(t, r, "f", false, 13), 0, "unlink one name");
	ok(f->nlink == 1 && nlinks(f) == 1 && f->links->dir == d &&
		   named(r, "f") == NULL,
	   "the other name stays");
	ok(ts_eq(f->ctime, ts(13)), "unlink sets the inode's ctime");
	is_int(unl(t, d, "sub", true, 14), 0, "rmdir");
	ok(s->nlink == 0 && s->links == NULL && s->dir->parent == s,
	   "removed dir: nlink 0, detached");
	ok(d->nlink == 2 && d->dir->subdirs == 0, "parent lost a subdir");
	ok(!s->dir->dirty && !on_dirty_list(t, s),
	   "removed dir is off the dirty list");
	ok(tree_get(t, s->ino) == s, "not freed by rmdir");
	is_int(mk(t, s, "x", S_IFREG | 0644, 15, NULL), -ENOENT,
	       "create in a removed dir: ENOENT");
	is_int(lnk(t, f, s, "x", 15), -ENOENT, "link into a removed dir");
	sino = s->ino;
	is_int(tree_release(t, s), 1, "released");
	ok(tree_get(t, sino) == NULL, "gone");

	is_int(unl(t, d, "g", false, 16), 0, "unlink the last name");
	ok(f->nlink == 0 && f->links == NULL, "nlink 0");
	is_int(lnk(t, f, r, "back", 17), -ENOENT, "no link to an unlinked file");
	is_int(tree_release(t, f), 1, "released");
	d2 = must(t, r, "d2", S_IFDIR | 0755);
	is_int(unl(t, r, "d2", true, 18), 0, "rmdir an empty dir");
	is_int(r->nlink, 3, "root nlink back to 2 + 1");
	is_int(tree_release(t, d2), 1, "released");
	ok(check_tree(t, why, sizeof(why)), "invariants: %s", why);
	tree_free(t);
}

/* ---- rename ---- */

static void test_rename(void)
{
	struct fs_tree *t = new_tree();
	struct inode *r = t->root, *a, *b, *c, *d1, *d2, *e1, *sub, *deep;
	char why[200] = "";

	a = must(t, r, "a", S_IFREG | 0644);
	b = must(t, r, "b", S_IFREG | 0644);
	d1 = must(t, r, "d1", S_IFDIR | 0755);
	d2 = must(t, r, "d2", S_IFDIR | 0755);
	e1 = must(t, r, "e1", S_IFDIR | 0755);
	sub = must(t, d1, "sub", S_IFDIR | 0755);
	deep = must(t, sub, "deep", S_IFDIR | 0755);
	c = must(t, deep, "c", S_IFREG | 0644);

	is_int(ren(t, r, "a", r, "b", 0, 20), 0, "file over file");
	ok(named(r, "b") == a && named(r, "a") == NULL, "b names a now");
	ok(b->nlink == 0 && b->links == NULL, "replaced inode's nlink is 0");
	ok(ts_eq(b->ctime, ts(20)) && ts_eq(a->ctime, ts(20)),
	   "ctime of both inodes");
	ok(tree_get(t, b->ino) == b, "replaced inode kept until released");
	is_int(tree_release(t, b), 1, "then released");

	is_int(ren(t, r, "b", d2, "moved", 0, 21), 0, "across dirs");
	ok(named(d2, "moved") == a && !named(r, "b") && a->links->dir == d2,
	   "moved, links updated");
	ok(ts_eq(r->mtime, ts(21)) && ts_eq(d2->mtime, ts(21)) &&
		   ts_eq(r->ctime, ts(21)) && ts_eq(d2->ctime, ts(21)),
	   "both dirs' mtime and ctime");

	/* A directory keeps its subtree. */
	is_int(ren(t, d1, "sub", d2, "sub2", 0, 22), 0, "move a dir");
	ok(sub->dir->parent == d2 && named(d2, "sub2") == sub &&
		   named(sub, "deep") == deep && named(deep, "c") == c,
	   "subtree follows");
	ok(d1->nlink == 2 && d1->dir->subdirs == 0 && d2->nlink == 3 &&
		   d2->dir->subdirs == 1,
	   "both parents' nlink and subdirs");
	ok(ts_eq(sub->ctime, ts(22)), "moved dir's ctime");

	is_int(ren(t, r, "e1", d2, "sub2", 0, 23), -ENOTEMPTY,
	       "dir over non-empty dir");
	is_int(ren(t, deep, "c", r, "d1", 0, 23), -EISDIR, "file over dir");
	is_int(ren(t, r, "e1", d2, "moved", 0, 23), -ENOTDIR, "dir over file");
	is_int(ren(t, r, "d2", deep, "x", 0, 23), -EINVAL,
	       "dir into its own descendant");
	is_int(ren(t, r, "d2", d2, "x", 0, 23), -EINVAL, "dir into itself");
	is_int(ren(t, deep, "c", deep, "c2", TREE_RENAME_NOREPLACE, 23), 0,
	       "NOREPLACE to a free name");
	is_int(ren(t, deep, "c2", d2, "moved", TREE_RENAME_NOREPLACE, 23),
	       -EEXIST, "NOREPLACE onto a name: EEXIST");
	is_int(ren(t, r, "nope", r, "x", 0, 23), -ENOENT, "ENOENT");
	is_int(ren(t, r, "d1", r, "x", 4, 23), -EINVAL, "unknown flag");
	is_int(ren(t, r, "d1", r, "x",
		   TREE_RENAME_NOREPLACE | TREE_RENAME_EXCHANGE, 23),
	       -EINVAL, "NOREPLACE|EXCHANGE");
	is_int(ren(t, r, "d1", r, "x", TREE_RENAME_EXCHANGE, 23), -ENOENT,
	       "EXCHANGE with a missing target");
	is_int(ren(t, a, "x", r, "y", 0, 23), -ENOTDIR, "olddir not a dir");
	is_int(ren(t, r, "d1", r, "a/b", 0, 23), -EINVAL, "bad new name");
	is_int(ren(t, sub, "deep", d2, "sub2", 0, 23), -ENOTEMPTY,
	       "onto an ancestor of the source");
	ok(ts_eq(r->mtime, ts(21)) && ts_eq(d2->mtime, ts(22)),
	   "failures change no times");

	is_int(ren(t, r, "e1", r, "d1", 0, 24), 0, "dir over empty dir");
	ok(named(r, "d1") == e1 && !named(r, "e1"), "e1 is d1 now");
	ok(d1->nlink == 0 && d1->dir->parent == d1 && !on_dirty_list(t, d1),
	   "replaced dir removed and off the dirty list");
	is_int(r->nlink, 4, "root: 2 + d1(e1), d2");
	is_int(tree_release(t, d1), 1, "replaced dir released");

	/* EXCHANGE: a file and a directory in different parents. */
	is_int(ren(t, d2, "moved", deep, "c2", TREE_RENAME_EXCHANGE, 25), 0,
	       "EXCHANGE two files");
	ok(named(d2, "moved") == c && named(deep, "c2") == a &&
		   a->links->dir == deep && c->links->dir == d2,
	   "swapped, links swapped");
	is_int(ren(t, r, "d1", d2, "moved", TREE_RENAME_EXCHANGE, 26), 0,
	       "EXCHANGE a dir and a file across dirs");
	ok(named(r, "d1") == c && named(d2, "moved") == e1 &&
		   e1->dir->parent == d2,
	   "dir moved to the other parent");
	ok(r->nlink == 3 && r->dir->subdirs == 1 && d2->nlink == 4 &&
		   d2->dir->subdirs == 2,
	   "subdir counts moved with it");
	ok(ts_eq(c->ctime, ts(26)) && ts_eq(e1->ctime, ts(26)),
	   "both inodes' ctime");
	is_int(ren(t, r, "d2", sub, "deep", TREE_RENAME_EXCHANGE, 27), -EINVAL,
	       "EXCHANGE with own descendant");
	is_int(ren(t, sub, "deep", r, "d2", TREE_RENAME_EXCHANGE, 27), -EINVAL,
	       "EXCHANGE with own ancestor");

	/* Hard links: renaming one name onto another of the same inode. */
	is_int(lnk(t, a, deep, "hl", 28), 0, "second name");
	is_int(ren(t, deep, "c2", deep, "hl", 0, 29), 0,
	       "rename onto a name of the same inode");
	ok(named(deep, "c2") == a && named(deep, "hl") == a && a->nlink == 2,
	   "is a no-op: both names stay");
	ok(ts_eq(deep->mtime, ts(28)), "and touches nothing");
	is_int(ren(t, deep, "c2", deep, "c2", 0, 29), 0, "rename onto itself");
	is_int(ren(t, deep, "c2", deep, "hl", TREE_RENAME_EXCHANGE, 29), 0,
	       "EXCHANGE of two names of one inode");
	ok(named(deep, "c2") == a && named(deep, "hl") == a, "no change");
	/* Over a hard-linked file: the victim keeps its other name. */
	b = must(t, r, "b", S_IFREG | 0644);
	is_int(lnk(t, b, d2, "b2", 30), 0, "b has two names");
	is_int(ren(t, deep, "hl", r, "b", 0, 31), 0, "rename over one of them");
	ok(b->nlink == 1 && nlinks(b) == 1 && named(d2, "b2") == b &&
		   named(r, "b") == a && a->nlink == 2,
	   "victim lost one link, the moved inode kept its count");
	ok(check_tree(t, why, sizeof(why)), "invariants: %s", why);
	tree_free(t);
}

/* ---- lifetime: an unlinked open file stays ---- */

static void test_release(void)
{
	struct fs_tree *t = new_tree();
	struct inode *r = t->root, *f, *d;
	uint64_t ino;

	f = must(t, r, "f", S_IFREG | 0644);
	ino = f->ino;
	is_int(tree_release(t, f), 0, "a linked inode is not released");
	f->lookups = 2;
	f->opens = 1;
	is_int(unl(t, r, "f", false, 3), 0, "unlink while open");
	is_int(tree_release(t, f), 0, "open: kept");
	ok(tree_get(t, ino) == f && f->nlink == 0, "still there, nlink 0");
	f->opens = 0;
	is_int(tree_release(t, f), 0, "looked up: kept");
	f->lookups = 0;
	is_int(tree_release(t, f), 1, "no references: freed");
	ok(tree_get(t, ino) == NULL, "gone");
	is_int(t->ninodes, 1, "only the root left");
	is_int(tree_release(t, t->root), 0, "the root is never released");

	d = must(t, r, "d", S_IFDIR | 0755);
	d->opens = 1;
	is_int(unl(t, r, "d", true, 4), 0, "rmdir while open");
	is_int(tree_release(t, d), 0, "kept while open");
	d->opens = 0;
	is_int(tree_release(t, d), 1, "then freed");
	f = must(t, r, "g", S_IFREG | 0644);
	is_int(unl(t, r, "g", false, 5), 0, "unlink");
	/* Left for tree_free to reclaim: ASan checks it does. */
	ok(tree_get(t, f->ino) == f, "unreleased inode stays in the table");
	tree_free(t);
}

/* ---- times ---- */

static void test_times(void)
{
	struct fs_tree *t = new_tree();
	struct inode *r = t->root, *d, *f, *e;

	d = must(t, r, "d", S_IFDIR | 0755);
	e = must(t, r, "e", S_IFDIR | 0755);
	is_int(mk(t, d, "f", S_IFREG | 0644, 10, &f), 0, "create");
	ok(ts_eq(d->mtime, ts(10)) && ts_eq(d->ctime, ts(10)),
	   "create sets the dir's mtime and ctime");
	ok(ts_eq(r->mtime, ts(2)), "not the grandparent's");
	is_int(lnk(t, f, e, "g", 11), 0, "link");
	ok(ts_eq(e->mtime, ts(11)) && ts_eq(e->ctime, ts(11)) &&
		   ts_eq(d->mtime, ts(10)) && ts_eq(f->ctime, ts(11)),
	   "link: target dir and inode ctime only");
	is_int(ren(t, e, "g", e, "h", 0, 12), 0, "rename in one dir");
	ok(ts_eq(e->mtime, ts(12)) && ts_eq(e->ctime, ts(12)) &&
		   ts_eq(f->ctime, ts(12)) && ts_eq(f->mtime, ts(10)),
	   "rename: dir times, inode ctime");
	is_int(unl(t, e, "h", false, 13), 0, "unlink");
	ok(ts_eq(e->mtime, ts(13)) && ts_eq(f->ctime, ts(13)),
	   "unlink: dir times and inode ctime");
	is_int(mk(t, e, "sub", S_IFDIR | 0755, 14, NULL), 0, "mkdir");
	is_int(unl(t, e, "sub", true, 15), 0, "rmdir");
	ok(ts_eq(e->mtime, ts(15)) && ts_eq(e->ctime, ts(15)),
	   "rmdir: dir times");
	is_int(ren(t, d, "f", e, "f", 0, 16), 0, "rename across");
	ok(ts_eq(d->mtime, ts(16)) && ts_eq(e->mtime, ts(16)) &&
		   ts_eq(d->ctime, ts(16)) && ts_eq(e->ctime, ts(16)),
	   "rename across: both dirs");
	ok(ts_eq(f->atime, ts(10)), "atime is never touched");
	tree_free(t);
}

/* ---- dirty marks ---- */

/* A name of the form prefixN landing in shard want of 4. */
static void name_in_shard(char *buf, size_t cap, const char *prefix,
			  uint32_t want)
{
	for (unsigned i = 0; i < 10000; i++) {
		snprintf(buf, cap, "%s%u", prefix, i);
		if (tree_shard_of(tree_name_hash(buf, strlen(buf)), 4) == want)
			return;
	}
	buf[0] = '\0';
}

static bool shards_are(const struct inode *d, const char *want)
{
	for (uint32_t i = 0; i < d->dir->shards.count; i++)
		if (d->dir->shards.dirty[i] != (want[i] == '1'))
			return false;
	return true;
}

/* As the manifest code does when it reshards; refs too, so that ASan sees
 * whether tree_free and tree_release free them. */
static void set_shards4(struct inode *d)
{
	free(d->dir->shards.dirty);
	free(d->dir->shards.refs);
	d->dir->shards.dirty = calloc(4, 1);
	d->dir->shards.refs = calloc(4, sizeof(struct chunk_ref));
	d->dir->shards.count = 4;
}

static void test_dirty(void)
{
	struct fs_tree *t = new_tree();
	struct inode *r = t->root, *d, *f, *e, *v, *x;
	char n0[32], n1[32], n2[32], n3[32];
	uint32_t root_shard;

	name_in_shard(n0, sizeof(n0), "m", 0);
	name_in_shard(n1, sizeof(n1), "m", 1);
	name_in_shard(n2, sizeof(n2), "m", 2);
	name_in_shard(n3, sizeof(n3), "m", 3);
	ok(n0[0] && n1[0] && n2[0] && n3[0], "names for each of 4 shards");

	d = must(t, r, "d", S_IFDIR | 0755);
	root_shard = tree_shard_of(tree_name_hash("d", 1), 4);
	tree_clear_dirty(t);
	set_shards4(d);
	set_shards4(r);
	ok(t->dirty_dirs == NULL, "clean");

	f = must(t, d, n2, S_IFREG | 0644);
	ok(shards_are(d, "0010"), "create marks only the name's shard");
	ok(d->dir->dirty && on_dirty_list(t, d), "dir on the dirty list");
	ok(on_dirty_list(t, r) && r->dir->shards.dirty[root_shard],
	   "parent: the shard holding the dir's entry (its times changed)");
	is_int(dirty_list_len(t), 2, "exactly two dirs on the list");
	ok(!d->dir->shards.all_dirty, "not all_dirty");

	tree_clear_dirty(t);
	tree_inode_changed(t, f);
	ok(shards_are(d, "0010") && dirty_list_len(t) == 1 &&
		   t->dirty_dirs == d,
	   "tree_inode_changed: the file's shard only");
	tree_clear_dirty(t);
	tree_inode_changed(t, d);
	ok(t->dirty_dirs == r && dirty_list_len(t) == 1 && shards_are(d, "0000") &&
		   r->dir->shards.dirty[root_shard],
	   "for a directory: its entry in the parent");
	tree_clear_dirty(t);
	tree_inode_changed(t, r);
	ok(t->dirty_dirs == NULL, "the root has no entry to mark");

	is_int(lnk(t, f, r, n1, 3), 0, "second name in the root");
	tree_clear_dirty(t);
	tree_inode_changed(t, f);
	ok(shards_are(d, "0010") && r->dir->shards.dirty[1] &&
		   dirty_list_len(t) == 2,
	   "a hard-linked inode marks every name's shard");

	tree_clear_dirty(t);
	is_int(ren(t, d, n2, d, n3, 0, 4), 0, "rename within d");
	ok(shards_are(d, "0011"), "old and new shards dirty");
	tree_clear_dirty(t);
	is_int(unl(t, d, n3, false, 5), 0, "unlink");
	ok(shards_are(d, "0001"), "unlink marks the name's shard");
	ok(r->dir->shards.dirty[1], "the other name's shard (ctime changed)");

	/* A removed directory must not stay on the list. */
	e = must(t, d, n0, S_IFDIR | 0755);
	ok(on_dirty_list(t, e), "new dir dirty");
	is_int(unl(t, d, n0, true, 6), 0, "rmdir it");
	ok(!on_dirty_list(t, e) && !e->dir->dirty, "off the list");
	ok(d->dir->shards.dirty[0], "its name's shard in the parent");
	is_int(tree_release(t, e), 1, "freed");
	ok(dirty_list_len(t) >= 1, "list still walkable");
	e = must(t, d, n0, S_IFDIR | 0755);
	v = must(t, d, n1, S_IFDIR | 0755);
	tree_clear_dirty(t);
	set_shards4(v);
	x = must(t, v, "x", S_IFREG | 0644);
	(void)unl(t, v, "x", false, 7);
	(void)tree_release(t, x);
	ok(on_dirty_list(t, v), "victim dirty");
	is_int(ren(t, d, n0, d, n1, 0, 8), 0, "dir over a dirty empty dir");
	ok(!on_dirty_list(t, v) && !v->dir->dirty, "victim off the list");
	is_int(tree_release(t, v), 1, "victim freed");
	ok(shards_are(d, "1100"), "old and new shard of the rename");
	{
		char why[200] = "";
		ok(check_tree(t, why, sizeof(why)), "invariants: %s", why);
	}
	tree_free(t);
}

/* ---- listing ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_list(void)
{
	struct fs_tree *t = new_tree();
	struct inode *r = t->root, *d = must(t, r, "d", S_IFDIR | 0755);
	struct tree_listing l;
	const char *want[] = {"a", "b", "d", "link", "zz"};
	const char *got[8] = {0};
	bool types = true, size_ok = true;
	size_t names_bytes = 0;

	(void)must(t, r, "a", S_IFREG | 0644);
	(void)must(t, r, "zz", S_IFREG | 0644);
	(void)must(t, r, "b", S_IFREG | 0644);
	(void)must(t, r, "gone", S_IFREG | 0644);
	(void)must(t, r, "link", S_IFLNK | 0777);
	(void)unl(t, r, "gone", false, 3);
	is_int(tree_list(r, &l), 0, "tree_list");
	is_int(l.count, 5, "five entries");
	for (size_t i = 0; i < l.count && i < 8; i++) {
		struct inode *in = named(r, l.entries[i].name);
		got[i] = l.entries[i].name;
		types &= in && in->ino == l.entries[i].ino &&
			 (in->mode & S_IFMT) == (l.entries[i].mode & S_IFMT);
		size_ok &= l.entries[i].name >= l.names &&
			   l.entries[i].name < l.names + 64;
		names_bytes += strlen(l.entries[i].name) + 1;
	}
	qsort(got, l.count < 8 ? l.count : 8, sizeof(*got), cmp_str);
	ok(l.count == 5 && strcmp(got[0], want[0]) == 0 &&
		   strcmp(got[1], want[1]) == 0 &&
		   strcmp(got[2], want[2]) == 0 &&
		   strcmp(got[3], want[3]) == 0 && strcmp(got[4], want[4]) == 0,
	   "exactly the entries");
	ok(types, "inos and types match");
	ok(size_ok && names_bytes == 2 + 2 + 2 + 5 + 3,
	   "names in the one buffer");
	(void)unl(t, r, "a", false, 4);
	ok(strcmp(got[0], "a") == 0, "the copy outlives changes");
	tree_listing_free(&l);
	ok(l.entries == NULL && l.names == NULL && l.count == 0, "freed");
	is_int(tree_list(d, &l), 0, "empty dir");
	ok(l.count == 0, "no entries");
	tree_listing_free(&l);
	is_int(tree_list(named(r, "b"), &l), -ENOTDIR, "list a file");
	tree_free(t);
}

/* ---- scale ---- */

static void test_big_dir(void)
{
	struct fs_tree *t = new_tree();
	struct inode *d = must(t, t->root, "cur", S_IFDIR | 0755);
	struct timespec now = ts(3);
	struct tree_new_inode spec = {.mode = S_IFREG | 0600};
	bool created = true, found = true, gone = true;
	char name[64];
	uint32_t chain_max = 0;

	for (int i = 0; i < BIG_DIR_ENTRIES; i++) {
		snprintf(name, sizeof(name), "1700000000.M%dP1.host:2,S", i);
		created &= tree_create(t, d, name, &spec, &now, NULL) == 0;
	}
	for (int i = 0; i < BIG_DIR_ENTRIES; i++) {
		snprintf(name, sizeof(name), "1700000000.M%dP1.host:2,S", i);
		found &= tree_lookup(d, name) != NULL;
	}
	for (uint32_t i = 0; i < d->dir->nbuckets; i++) {
		uint32_t n = 0;
		for (struct dirent *e = d->dir->buckets[i]; e; e = e->hash_next)
			n++;
		if (n > chain_max)
			chain_max = n;
	}
	ok(created && found && d->dir->count == BIG_DIR_ENTRIES,
	   "%d entries created and found", BIG_DIR_ENTRIES);
	ok(d->dir->nbuckets >= BIG_DIR_ENTRIES, "table grew (%u buckets)",
	   d->dir->nbuckets);
	ok(t->nbuckets >= t->ninodes, "ino table grew (%u buckets)",
	   t->nbuckets);
	ok(chain_max <= BIG_DIR_CHAIN_MAX, "longest hash chain %u (bound %d)",
	   chain_max, BIG_DIR_CHAIN_MAX);
	/* Inode numbers come consecutively (an import, a mount of 100,000
	 * messages): they must spread over the ino table too.  The middle
	 * bits of ino * INO_MIX put them in 12 % of the buckets, chains of
	 * up to 8, and tree_get's chain walk was 16 % of a mount's CPU. */
	uint32_t ino_max = 0, ino_used = 0;
	for (uint32_t i = 0; i < t->nbuckets; i++) {
		uint32_t n = 0;
		for (struct inode *in = t->buckets[i]; in; in = in->hash_next)
			n++;
		ino_used += n > 0;
		if (n > ino_max)
			ino_max = n;
	}
	ok(ino_max <= 4 && ino_used >= t->ninodes / 2,
	   "consecutive inos spread: longest chain %u, %u buckets of %u used",
	   ino_max, ino_used, t->nbuckets);
	for (int i = 0; i < BIG_DIR_ENTRIES; i += 2) {
		snprintf(name, sizeof(name), "1700000000.M%dP1.host:2,S", i);
		gone &= unl(t, d, name, false, 4) == 0;
		gone &= tree_release(t, tree_get(t, (uint64_t)i + 3)) == 1;
	}
	ok(gone && d->dir->count == BIG_DIR_ENTRIES / 2 &&
		   t->ninodes == 2 + BIG_DIR_ENTRIES / 2,
	   "half removed and released");
	tree_free(t);
}

/* Directories nest TREE_DEPTH_MAX deep and no deeper, by mkdir or rename. */
static void test_depth(void)
{
	struct fs_tree *t = new_tree();
	struct inode *d = t->root, *top = NULL, *side, *x;
	bool made = true;
	for (int i = 0; i < TREE_DEPTH_MAX; i++) {
		made &= mk(t, d, "d", S_IFDIR | 0700, 2, &d) == 0;
		if (i == 0)
			top = d;
	}
	ok(made, "%d nested directories", TREE_DEPTH_MAX);
	is_int(mk(t, d, "d", S_IFDIR | 0700, 2, NULL), -EMLINK,
	       "one deeper: -EMLINK");
	is_int(mk(t, d, "f", S_IFREG | 0600, 2, NULL), 0,
	       "a file at the deepest level is fine");
	side = must(t, t->root, "side", S_IFDIR | 0700);
	x = side;
	for (int i = 0; i < DEEP_EXTRA; i++)
		x = must(t, x, "s", S_IFDIR | 0700);
	is_int(tree_rename(t, t->root, "side", d->dir->parent, "moved", 0,
			   &(struct timespec){5, 0}),
	       -EMLINK, "a subtree moved below the limit: -EMLINK");
	ok(tree_lookup(t->root, "side") != NULL, "and it stayed where it was");
	is_int(tree_rename(t, t->root, "side", top, "moved", 0,
			   &(struct timespec){5, 0}),
	       0, "moved where it fits");
	tree_free(t);
}

/* ---- manifest loading ---- */

static void test_load(void)
{
	struct fs_tree *t = new_tree();
	struct inode *r = t->root, *cur, *m, *m2, *x;
	struct tree_load_attrs dir = {.mode = S_IFDIR | 0700, .uid = 7,
				      .mtime = {.tv_sec = 50}};
	struct tree_load_attrs file = {.mode = S_IFREG | 0600, .size = 1234,
				       .uid = 8, .gid = 9,
				       .mtime = {.tv_sec = 60},
				       .ctime = {.tv_sec = 61},
				       .atime = {.tv_sec = 62}};
	struct tree_load_attrs other = file, sym = {.mode = S_IFLNK | 0777,
						   .target = "cur"};
	char why[200] = "";

	tree_clear_dirty(t);
	file.content.size = 1234;
	file.content.depth = 0;
	other.size = 99;
	is_int(tree_load_entry(t, r, "cur", 5, &dir, &cur), 0, "load a dir");
	ok(cur->ino == 5 && cur->nlink == 2 && cur->dir->parent == r &&
		   cur->uid == 7 && cur->mtime.tv_sec == 50,
	   "dir attributes, parent set");
	ok(r->nlink == 3 && r->dir->subdirs == 1, "parent's nlink and subdirs");
	is_int(tree_load_entry(t, cur, "m", 9, &file, &m), 0, "load a file");
	ok(m->ino == 9 && m->size == 1234 && m->uid == 8 && m->gid == 9 &&
		   m->content.size == 1234 && m->mtime.tv_sec == 60 &&
		   m->ctime.tv_sec == 61 && m->atime.tv_sec == 62 &&
		   m->nlink == 1,
	   "file attributes");
	is_int(tree_load_entry(t, r, "hard", 9, &other, &m2), 0,
	       "load a second name with the same ino");
	ok(m2 == m && m->nlink == 2 && nlinks(m) == 2 && m->size == 1234,
	   "joined: one inode, two names, attrs of the first");
	ok(named(r, "hard") == m && named(cur, "m") == m, "both names resolve");
	is_int(tree_load_entry(t, r, "l", 11, &sym, &x), 0, "load a symlink");
	ok(strcmp(x->target, "cur") == 0 && x->size == 3, "target copied");
	is_int(tree_load_entry(t, r, "cur", 12, &file, NULL), -EEXIST,
	       "duplicate name");
	is_int(tree_load_entry(t, r, "d2", 9, &dir, NULL), -EINVAL,
	       "dir entry with a file's ino");
	is_int(tree_load_entry(t, r, "f2", 5, &file, NULL), -EINVAL,
	       "file entry with a dir's ino");
	is_int(tree_load_entry(t, r, "d3", 5, &dir, NULL), -EINVAL,
	       "a directory is never joined");
	is_int(tree_load_entry(t, r, "s2", 9, &sym, NULL), -EINVAL,
	       "type mismatch");
	is_int(tree_load_entry(t, r, "z", 0, &file, NULL), -EINVAL, "ino 0");
	is_int(tree_load_entry(t, r, "z", 1, &file, NULL), -EINVAL,
	       "the root's ino");
	is_int(tree_load_entry(t, r, "a/b", 20, &file, NULL), -EINVAL,
	       "bad name");
	ok(t->dirty_dirs == NULL && !r->dir->dirty && !cur->dir->dirty,
	   "loading marks nothing dirty");
	ok(ts_eq(r->mtime, ts(1)) && ts_eq(r->ctime, ts(1)),
	   "loading changes no times");
	ok(t->next_ino == 12, "next_ino past the loaded inos");
	ok(check_tree(t, why, sizeof(why)), "invariants: %s", why);
	tree_free(t);
}

/* ---- random operations ---- */

static const char *const rnd_names[] = {"a", "b", "c", "d", "e", "f"};
#define NNAMES (sizeof(rnd_names) / sizeof(rnd_names[0]))

struct rnd {
	uint64_t s;
	struct fs_tree *t;
	struct inode *held[HELD_MAX];
	bool held_open[HELD_MAX];
	unsigned nheld;
	long now;
	unsigned bad_errno, bad_post, bad_time, bad_release;
	char first[256];
};

static uint64_t next(struct rnd *g)
{
	g->s ^= g->s << 13;
	g->s ^= g->s >> 7;
	g->s ^= g->s << 17;
	return g->s;
}

static unsigned pick(struct rnd *g, unsigned n)
{
	return (unsigned)(next(g) % n);
}

static const char *rname(struct rnd *g)
{
	return rnd_names[pick(g, NNAMES)];
}

static void note(struct rnd *g, unsigned *counter, const char *what, int r,
		 int want)
{
	(*counter)++;
	if (!g->first[0])
		snprintf(g->first, sizeof(g->first),
			 "op at t=%ld %.32s: got %d want %d", g->now, what, r,
			 want);
}

/* The k-th entry of dir (any order), or NULL. */
static struct dirent *nth_entry(struct inode *dir, unsigned k)
{
	struct dir *d = dir->dir;
	for (uint32_t b = 0; b < d->nbuckets; b++)
		for (struct dirent *e = d->buckets[b]; e; e = e->hash_next)
			if (k-- == 0)
				return e;
	return NULL;
}

static struct inode *random_dir(struct rnd *g)
{
	struct inode *d = g->t->root;
	for (int depth = 0; depth < 16 && pick(g, 3) != 0; depth++) {
		struct inode *sub[NNAMES];
		unsigned n = 0;
		for (unsigned i = 0; i < NNAMES; i++) {
			struct inode *in = named(d, rnd_names[i]);
			if (in && S_ISDIR(in->mode))
				sub[n++] = in;
		}
		if (n == 0)
			break;
		d = sub[pick(g, n)];
	}
	return d;
}

static struct inode *random_inode(struct rnd *g)
{
	struct inode *d = random_dir(g);
	struct dirent *e;
	if (d->dir->count == 0)
		return d;
	e = nth_entry(d, pick(g, d->dir->count));
	return e ? e->inode : d;
}

static bool is_anc(struct inode *a, struct inode *b)
{
	for (int i = 0; i < 10000; i++) {
		if (a == b)
			return true;
		if (b->dir->parent == b)
			return false;
		b = b->dir->parent;
	}
	return false;
}

static int want_rename(struct inode *od, struct inode *odir, struct inode *nd,
		       struct inode *ndir, unsigned flags)
{
	if (!od)
		return -ENOENT;
	if (flags & TREE_RENAME_EXCHANGE) {
		if (!nd)
			return -ENOENT;
		if (S_ISDIR(od->mode) && is_anc(od, ndir))
			return -EINVAL;
		if (S_ISDIR(nd->mode) && is_anc(nd, odir))
			return -EINVAL;
		return 0;
	}
	if (nd && (flags & TREE_RENAME_NOREPLACE))
		return -EEXIST;
	if (S_ISDIR(od->mode) && is_anc(od, ndir))
		return -EINVAL;
	if (nd && S_ISDIR(nd->mode) && is_anc(nd, odir))
		return -ENOTEMPTY;
	if (nd == od)
		return 0;
	if (nd && S_ISDIR(od->mode) && !S_ISDIR(nd->mode))
		return -ENOTDIR;
	if (nd && !S_ISDIR(od->mode) && S_ISDIR(nd->mode))
		return -EISDIR;
	if (nd && S_ISDIR(nd->mode) && nd->dir->count)
		return -ENOTEMPTY;
	return 0;
}

/* The FUSE layer's part: free what nothing refers to any more. */
static void settle(struct rnd *g, struct inode *in)
{
	bool free_now;
	uint64_t ino;
	if (!in)
		return;
	free_now = in->nlink == 0 && in->lookups == 0 && in->opens == 0;
	ino = in->ino;
	if (tree_release(g->t, in) != (int)free_now ||
	    (free_now && tree_get(g->t, ino) != NULL))
		note(g, &g->bad_release, "release", !free_now, free_now);
}

static void rnd_hold(struct rnd *g)
{
	struct inode *in;
	unsigned i;
	if (g->nheld == HELD_MAX || pick(g, 2)) {
		if (g->nheld == 0)
			return;
		i = pick(g, g->nheld);
		in = g->held[i];
		if (g->held_open[i])
			in->opens--;
		else
			in->lookups--;
		g->held[i] = g->held[--g->nheld];
		g->held_open[i] = g->held_open[g->nheld];
		settle(g, in);
		return;
	}
	in = random_inode(g);
	g->held_open[g->nheld] = pick(g, 2);
	if (g->held_open[g->nheld])
		in->opens++;
	else
		in->lookups++;
	g->held[g->nheld++] = in;
}

static void rnd_create(struct rnd *g, struct inode *dir)
{
	static const uint32_t modes[] = {S_IFREG | 0644, S_IFREG | 0600,
					 S_IFDIR | 0755, S_IFLNK | 0777};
	const char *name = rname(g);
	uint32_t mode = modes[pick(g, 4)];
	struct inode *in = NULL;
	int want = dir->nlink == 0 ? -ENOENT : named(dir, name) ? -EEXIST : 0;
	int r = mk(g->t, dir, name, mode, g->now, &in);
	if (r != want)
		note(g, &g->bad_errno, "create", r, want);
	else if (r == 0 && (named(dir, name) != in || in->mode != mode))
		note(g, &g->bad_post, "create post", 0, 0);
	else if (r == 0 && !ts_eq(dir->mtime, ts(g->now)))
		note(g, &g->bad_time, "create mtime", 0, 0);
}

static void rnd_link(struct rnd *g)
{
	struct inode *in = random_inode(g), *dir = random_dir(g);
	const char *name = rname(g);
	uint32_t before = in->nlink;
	int want = named(dir, name) ? -EEXIST
		   : S_ISDIR(in->mode) ? -EPERM
				       : 0;
	int r = lnk(g->t, in, dir, name, g->now);
	if (r != want)
		note(g, &g->bad_errno, "link", r, want);
	else if (r == 0 && (in->nlink != before + 1 || named(dir, name) != in))
		note(g, &g->bad_post, "link post", 0, 0);
	else if (r == 0 && (!ts_eq(dir->ctime, ts(g->now)) ||
			    !ts_eq(in->ctime, ts(g->now))))
		note(g, &g->bad_time, "link times", 0, 0);
}

static void rnd_unlink(struct rnd *g, bool rmdir)
{
	struct inode *dir = random_dir(g), *victim;
	const char *name = rname(g);
	int want, r;
	victim = named(dir, name);
	if (!victim)
		want = -ENOENT;
	else if (rmdir && !S_ISDIR(victim->mode))
		want = -ENOTDIR;
	else if (rmdir && victim->dir->count)
		want = -ENOTEMPTY;
	else if (!rmdir && S_ISDIR(victim->mode))
		want = -EISDIR;
	else
		want = 0;
	r = unl(g->t, dir, name, rmdir, g->now);
	if (r != want)
		note(g, &g->bad_errno, rmdir ? "rmdir" : "unlink", r, want);
	else if (r == 0 && named(dir, name))
		note(g, &g->bad_post, "unlink post", 0, 0);
	else if (r == 0 && !ts_eq(dir->mtime, ts(g->now)))
		note(g, &g->bad_time, "unlink mtime", 0, 0);
	if (r == 0)
		settle(g, victim);
}

static void rnd_rename(struct rnd *g)
{
	static const unsigned flagsets[] = {0, 0, 0, TREE_RENAME_NOREPLACE,
					    TREE_RENAME_EXCHANGE};
	struct inode *odir = random_dir(g), *ndir = random_dir(g);
	const char *on = rname(g), *nn = rname(g);
	unsigned flags = flagsets[pick(g, 5)];
	struct inode *src = named(odir, on), *dst = named(ndir, nn);
	int want = want_rename(src, odir, dst, ndir, flags);
	int r = ren(g->t, odir, on, ndir, nn, flags, g->now);
	bool post;

	if (r != want) {
		note(g, &g->bad_errno, "rename", r, want);
		return;
	}
	if (r != 0 || src == dst) {
		post = named(odir, on) == src && named(ndir, nn) == dst;
	} else if (flags & TREE_RENAME_EXCHANGE) {
		post = named(odir, on) == dst && named(ndir, nn) == src;
	} else {
		post = named(ndir, nn) == src && named(odir, on) == NULL;
	}
	if (!post)
		note(g, &g->bad_post, "rename post", r, 0);
	if (r == 0 && src != dst &&
	    (!ts_eq(odir->mtime, ts(g->now)) || !ts_eq(ndir->mtime, ts(g->now)) ||
	     !ts_eq(src->ctime, ts(g->now))))
		note(g, &g->bad_time, "rename times", 0, 0);
	if (r == 0 && !(flags & TREE_RENAME_EXCHANGE) && src != dst)
		settle(g, dst);
}

static void rnd_step(struct rnd *g)
{
	unsigned op = pick(g, 100);
	g->now++;
	if (op < 22)
		rnd_create(g, random_dir(g));
	else if (op < 27 && g->nheld > 0) {
		/* Possibly a removed directory still held open. */
		struct inode *h = g->held[pick(g, g->nheld)];
		rnd_create(g, h->dir ? h : g->t->root);
	}
	else if (op < 37)
		rnd_link(g);
	else if (op < 52)
		rnd_unlink(g, false);
	else if (op < 62)
		rnd_unlink(g, true);
	else if (op < 88)
		rnd_rename(g);
	else if (op < 98)
		rnd_hold(g);
	else
		tree_clear_dirty(g->t);
}

static void test_random(void)
{
	struct rnd g;
	unsigned bad_batches = 0, max_inodes = 0;
	char why[300] = "", tmp[256] = "";

	memset(&g, 0, sizeof(g));
	g.s = UINT64_C(0x1234567887654321);
	g.t = new_tree();
	g.now = 100;
	for (int i = 0; i < RANDOM_OPS; i++) {
		rnd_step(&g);
		if (g.t->ninodes > max_inodes)
			max_inodes = (unsigned)g.t->ninodes;
		if ((i + 1) % RANDOM_BATCH == 0 &&
		    !check_tree(g.t, tmp, sizeof(tmp))) {
			if (bad_batches++ == 0)
				snprintf(why, sizeof(why), "batch %d: %s",
					 (i + 1) / RANDOM_BATCH, tmp);
		}
	}
	ok(bad_batches == 0, "invariants held after each of %d batches%s%s",
	   RANDOM_OPS / RANDOM_BATCH, why[0] ? ": " : "", why);
	ok(g.bad_errno == 0, "every op returned the expected errno (%u bad)%s%s",
	   g.bad_errno, g.first[0] ? ": " : "", g.first);
	ok(g.bad_post == 0, "every op's result visible (%u bad)", g.bad_post);
	ok(g.bad_time == 0, "every op set its times (%u bad)", g.bad_time);
	ok(g.bad_release == 0, "tree_release freed exactly the unreferenced "
			       "(%u bad)", g.bad_release);
	ok(max_inodes > 20, "the tree grew (%u inodes at most)", max_inodes);
	/* Let go of everything held: nothing unreferenced may remain. */
	while (g.nheld > 0) {
		struct inode *in = g.held[--g.nheld];
		if (g.held_open[g.nheld])
			in->opens--;
		else
			in->lookups--;
		settle(&g, in);
	}
	ok(check_tree(g.t, why, sizeof(why)), "invariants at the end: %s",
	   why);
	tree_free(g.t);
}

/* tree_add_orphan: a nameless copy of another tree's inode. */
static void test_orphan(void)
{
	struct fs_tree *a, *b;
	struct inode *f, *d, *o;
	struct timespec now = {100, 0};
	struct tree_new_inode file = {.mode = S_IFREG | 0640, .uid = 5,
				      .gid = 6};
	struct tree_new_inode dir = {.mode = S_IFDIR | 0700};
	struct tree_new_inode link = {.mode = S_IFLNK | 0777,
				      .target = "../x"};
	tree_new(&a, 0, 0, &now);
	tree_new(&b, 0, 0, &now);
	ok(tree_create(a, a->root, "f", &file, &now, &f) == 0 &&
		   tree_create(a, a->root, "d", &dir, &now, &d) == 0,
	   "a file and a directory");
	f->size = 1234;
	uint64_t next = b->next_ino;
	ok(tree_add_orphan(b, f, &o) == 0 && o->ino == f->ino &&
		   o->nlink == 0 && o->mode == f->mode && o->uid == 5 &&
		   o->size == 1234 && !o->links && tree_get(b, f->ino) == o,
	   "the file's orphan: its number and attributes, no name");
	ok(tree_add_orphan(b, d, &o) == 0 && o->dir && o->dir->count == 0 &&
		   o->dir->parent == o && o->nlink == 0,
	   "the directory's: empty, its own parent");
	ok(b->next_ino > next, "next_ino moves past them");
	is_int(tree_add_orphan(b, f, &o), -EEXIST, "a number taken: -EEXIST");
	struct inode *l;
	ok(tree_create(a, a->root, "l", &link, &now, &l) == 0 &&
		   tree_add_orphan(b, l, &o) == 0 && !strcmp(o->target, "../x"),
	   "a symlink's keeps its target");
	o->lookups = 0;
	is_int(tree_release(b, o), 1, "an orphan nothing holds is released");
	tree_free(a);
	tree_free(b);
}

/* Special files: an inode of their type, a device with its rdev (and
 * nothing else with one), linked, renamed, loaded and orphaned like any
 * file. */
static void test_special(void)
{
	struct fs_tree *t, *u;
	struct timespec now = {100, 0};
	struct inode *fifo, *dev, *sock, *blk, *o;
	struct tree_new_inode spec = {.mode = S_IFIFO | 0640, .uid = 5,
				      .gid = 6, .rdev = 42};
	tree_new(&t, 0, 0, &now);
	tree_new(&u, 0, 0, &now);
	is_int(tree_create(t, t->root, "fifo", &spec, &now, &fifo), 0,
	       "a FIFO");
	ok(fifo && S_ISFIFO(fifo->mode) && fifo->rdev == 0 &&
		   fifo->size == 0 && fifo->nlink == 1 && !fifo->dir &&
		   !fifo->target,
	   "...of its type, size 0, no rdev (42 ignored: not a device)");
	spec.mode = S_IFSOCK | 0755;
	is_int(tree_create(t, t->root, "sock", &spec, &now, &sock), 0,
	       "a socket");
	spec.mode = S_IFCHR | 0620;
	spec.rdev = 0x8801;
	is_int(tree_create(t, t->root, "tty", &spec, &now, &dev), 0,
	       "a character device");
	ok(dev && dev->rdev == 0x8801, "...with its rdev");
	spec.mode = S_IFBLK | 0660;
	spec.rdev = 0x700;
	is_int(tree_create(t, t->root, "loop0", &spec, &now, &blk), 0,
	       "a block device");
	is_int(tree_link(t, fifo, t->root, "fifo2", &now), 0,
	       "the FIFO hard-linked");
	is_int(fifo->nlink, 2, "...nlink 2");
	is_int(tree_rename(t, t->root, "tty", t->root, "tty1", 0, &now), 0,
	       "the device renamed");
	ok(tree_lookup(t->root, "tty1") && tree_lookup(t->root, "tty1")->inode ==
						  dev && dev->rdev == 0x8801,
	   "...the same inode, its rdev kept");
	is_int(tree_rename(t, t->root, "sock", t->root, "fifo2", 0, &now), 0,
	       "a socket renamed over a FIFO's second name");
	is_int(fifo->nlink, 1, "...the FIFO has one name left");
	is_int(tree_add_orphan(u, dev, &o), 0, "the device's orphan");
	ok(o && S_ISCHR(o->mode) && o->rdev == 0x8801,
	   "...keeps type and rdev");
	struct tree_load_attrs la = {.mode = S_IFBLK | 0600, .rdev = 0x801};
	struct inode *ld = NULL;
	is_int(tree_load_entry(u, u->root, "sda1", 90, &la, &ld), 0,
	       "a block device loaded");
	ok(ld && ld->rdev == 0x801 && S_ISBLK(ld->mode), "...with its rdev");
	la.mode = S_IFIFO | 0600;
	is_int(tree_load_entry(u, u->root, "p", 91, &la, &ld), 0,
	       "a FIFO loaded (an rdev there ignored)");
	ok(ld && ld->rdev == 0, "...none kept");
	tree_free(t);
	tree_free(u);
}

int main(void)
{
	test_orphan();
	test_special();
	test_names();
	test_new();
	test_create();
	test_link_unlink();
	test_rename();
	test_release();
	test_times();
	test_dirty();
	test_list();
	test_big_dir();
	test_depth();
	test_load();
	test_random();
	return tap_done();
}
