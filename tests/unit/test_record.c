/* tests/unit/test_record.c — fs/model/record.c: journal records, their format,
 * and the property replay rests on: applying records live and replaying
 * their payloads end in the same tree. */
#include "fs/model/record.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/seal.h"
#include "ipfs/cid.h"
#include "tests/memscan.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"
#include "util/wipe.h"

#define ROOT_UID 1000
#define ROOT_GID 100
#define SEEDS 5
#define RECORDS_PER_SEED 5000
#define NAME_POOL 12
#define DIFF_MAX 5
#define T0_SEC 1700000000

static struct timespec ts(long long sec, long nsec)
{
	return (struct timespec){.tv_sec = (time_t)sec, .tv_nsec = nsec};
}

static const struct timespec t0 = {.tv_sec = T0_SEC, .tv_nsec = 123};

/* Encode r and replay the payload into t: what a remount does. */
static int replay_rec(struct fs_tree *t, const struct record *r)
{
	char *json;
	size_t len;
	int e = record_encode(r, &json, &len);
	if (e != 0) {
		tap_diag("record_encode: %d", e);
		return 1000 + e; /* no errno: the caller sees it fail */
	}
	e = record_replay(t, (const uint8_t *)json, len);
	free(json);
	return e;
}

static int replay_str(struct fs_tree *t, const char *s)
{
	return record_replay(t, (const uint8_t *)s, strlen(s));
}

static bool ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static uint64_t ino_of(struct fs_tree *t, uint64_t dir, const char *name)
{
	struct inode *d = tree_get(t, dir);
	struct dirent *e = d ? tree_lookup(d, name) : NULL;
	return e ? e->inode->ino : 0;
}

/* ---- whole-tree comparison ---- */

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct tree_listing_entry *)a)->name,
		      ((const struct tree_listing_entry *)b)->name);
}

static bool ref_eq(const struct obj_ref *a, const struct obj_ref *b)
{
	return a->size == b->size && a->depth == b->depth &&
	       a->cid.len == b->cid.len &&
	       memcmp(a->cid.bytes, b->cid.bytes, a->cid.len) == 0 &&
	       memcmp(a->key, b->key, IPMD_KEY_BYTES) == 0;
}

static void compare_dirs(struct harness_diffs *d, struct inode *x,
			 struct inode *y)
{
	struct tree_listing lx, ly;
	if (tree_list(x, &lx) != 0 || tree_list(y, &ly) != 0)
		harness_bail("tree_list");
	if (lx.count != ly.count) {
		harness_differ(d, "dir %llu: %zu entries vs %zu",
			       (unsigned long long)x->ino, lx.count, ly.count);
	} else if (lx.count > 0) {
		qsort(lx.entries, lx.count, sizeof(*lx.entries), by_name);
		qsort(ly.entries, ly.count, sizeof(*ly.entries), by_name);
		for (size_t i = 0; i < lx.count; i++)
			if (strcmp(lx.entries[i].name, ly.entries[i].name) ||
			    lx.entries[i].ino != ly.entries[i].ino)
				harness_differ(
					d, "dir %llu: entry %s→%llu vs %s→%llu",
					(unsigned long long)x->ino,
					lx.entries[i].name,
					(unsigned long long)lx.entries[i].ino,
					ly.entries[i].name,
					(unsigned long long)ly.entries[i].ino);
	}
	if (x->dir->subdirs != y->dir->subdirs)
		harness_differ(d, "dir %llu: subdirs",
			       (unsigned long long)x->ino);
	if (x->dir->parent->ino != y->dir->parent->ino)
		harness_differ(d, "dir %llu: parent %llu vs %llu",
			       (unsigned long long)x->ino,
			       (unsigned long long)x->dir->parent->ino,
			       (unsigned long long)y->dir->parent->ino);
	tree_listing_free(&lx);
	tree_listing_free(&ly);
}

static void compare_inodes(struct harness_diffs *d, struct inode *x,
			   struct inode *y)
{
	unsigned long long ino = (unsigned long long)x->ino;
	if (x->mode != y->mode)
		harness_differ(d, "ino %llu: mode %o vs %o", ino, x->mode,
			       y->mode);
	if (x->uid != y->uid || x->gid != y->gid)
		harness_differ(d, "ino %llu: owner %u:%u vs %u:%u", ino, x->uid,
			       x->gid, y->uid, y->gid);
	if (x->nlink != y->nlink)
		harness_differ(d, "ino %llu: nlink %u vs %u", ino, x->nlink,
			       y->nlink);
	if (x->size != y->size)
		harness_differ(d, "ino %llu: size %llu vs %llu", ino,
			       (unsigned long long)x->size,
			       (unsigned long long)y->size);
	if (!ts_eq(x->atime, y->atime) || !ts_eq(x->mtime, y->mtime) ||
	    !ts_eq(x->ctime, y->ctime))
		harness_differ(
			d, "ino %llu: times (ctime %lld.%09ld vs %lld.%09ld)",
			ino, (long long)x->ctime.tv_sec, x->ctime.tv_nsec,
			(long long)y->ctime.tv_sec, y->ctime.tv_nsec);
	if (!ref_eq(&x->content, &y->content))
		harness_differ(d, "ino %llu: content", ino);
	if (x->rdev != y->rdev)
		harness_differ(d, "ino %llu: rdev %llu vs %llu", ino,
			       (unsigned long long)x->rdev,
			       (unsigned long long)y->rdev);
	if ((x->target == NULL) != (y->target == NULL) ||
	    (x->target && strcmp(x->target, y->target)))
		harness_differ(d, "ino %llu: target", ino);
	if ((x->dir == NULL) != (y->dir == NULL))
		harness_differ(d, "ino %llu: dir vs not", ino);
	else if (x->dir)
		compare_dirs(d, x, y);
}

/* Every inode of a is in b and alike, and b has no other. */
static unsigned long compare_trees(struct fs_tree *a, struct fs_tree *b,
				   const char *label)
{
	struct harness_diffs d = {.max = DIFF_MAX, .label = label};
	if (a->ninodes != b->ninodes)
		harness_differ(&d, "%llu inodes vs %llu",
			       (unsigned long long)a->ninodes,
			       (unsigned long long)b->ninodes);
	if (a->next_ino != b->next_ino)
		harness_differ(&d, "next_ino %llu vs %llu",
			       (unsigned long long)a->next_ino,
			       (unsigned long long)b->next_ino);
	for (uint32_t i = 0; i < a->nbuckets; i++)
		for (struct inode *x = a->buckets[i]; x; x = x->hash_next) {
			struct inode *y = tree_get(b, x->ino);
			if (!y)
				harness_differ(&d, "ino %llu missing",
					       (unsigned long long)x->ino);
			else
				compare_inodes(&d, x, y);
		}
	return d.n;
}

/* ---- the documented JSON shape ---- */

/* The payload's keys, sorted, joined by ','. */
static void keys_of(const char *json, char *out, size_t cap)
{
	json_error_t err;
	json_t *o = json_loads(json, 0, &err);
	const char *names[32];
	size_t n = 0;
	const char *k;
	json_t *v;
	out[0] = '\0';
	if (!json_is_object(o)) {
		json_decref(o);
		return;
	}
	json_object_foreach(o, k, v)
	{
		if (n < 32)
			names[n++] = k;
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0;
		     j--) {
			const char *tmp = names[j];
			names[j] = names[j - 1];
			names[j - 1] = tmp;
		}
	for (size_t i = 0; i < n; i++) {
		strncat(out, names[i], cap - strlen(out) - 1);
		if (i + 1 < n)
			strncat(out, ",", cap - strlen(out) - 1);
	}
	json_decref(o);
}

static void check_shape(const struct record *r, const char *want,
			const char *what)
{
	char *json, keys[512];
	size_t len;
	int e = record_encode(r, &json, &len);
	is_int(e, 0, "encode %s", what);
	if (e != 0)
		return;
	is_int(strlen(json), len, "%s: len is the text's", what);
	keys_of(json, keys, sizeof(keys));
	is_str(keys, want, "%s: the fields record.h documents", what);
	free(json);
}

static struct obj_ref some_ref(uint64_t seed, uint64_t size, uint8_t depth)
{
	struct obj_ref c;
	uint8_t block[64];
	memset(&c, 0, sizeof(c));
	tap_fill_random(block, sizeof(block), seed);
	cid_of_raw_block(&c.cid, block, sizeof(block));
	tap_fill_random(c.key, sizeof(c.key), seed + 1);
	c.size = size;
	c.depth = depth;
	return c;
}

static void test_shapes(void)
{
	struct record r = {.op = REC_CREATE, .dir = 1, .name = "a", .ino = 2,
			   .mode = S_IFREG | 0600, .time = t0};
	check_shape(&r, "dir,gid,ino,mode,name,op,time,uid", "create");
	r.mode = S_IFLNK | 0777;
	r.target = "x";
	check_shape(&r, "dir,gid,ino,mode,name,op,target,time,uid",
		    "create symlink");
	r = (struct record){.op = REC_LINK, .ino = 2, .dir = 1, .name = "b"};
	check_shape(&r, "dir,ino,name,op,time", "link");
	r = (struct record){.op = REC_UNLINK, .dir = 1, .name = "b"};
	check_shape(&r, "dir,name,op,rmdir,time", "unlink");
	r = (struct record){.op = REC_RENAME, .dir = 1, .name = "a",
			    .newdir = 1, .newname = "b"};
	check_shape(&r, "dir,flags,name,newdir,newname,op,time", "rename");
	r = (struct record){.op = REC_SETATTR, .ino = 2};
	check_shape(&r, "atime,gid,ino,mode,mtime,op,set,time,uid", "setattr");
	r = (struct record){.op = REC_CONTENT, .ino = 2};
	check_shape(&r, "ino,mtime,op,size,time", "content of size 0");
	r.content = some_ref(1, 5000, 1);
	check_shape(&r, "cid,depth,ino,key,mtime,op,size,time", "content");
}

/* ---- one record of each kind, and its effect ---- */

static void test_round_trips(void)
{
	struct fs_tree *t = harness_tree(ROOT_UID, ROOT_GID, &t0);
	struct timespec t1 = ts(T0_SEC + 1, 1), t2 = ts(T0_SEC + 2, 999999999);
	struct record r = {.op = REC_CREATE, .dir = 1, .name = "file",
			   .ino = 2, .mode = S_IFREG | 0640, .uid = 7,
			   .gid = 8, .time = t1};
	is_int(replay_rec(t, &r), 0, "create a file");
	struct inode *f = tree_get(t, 2);
	ok(f && ino_of(t, 1, "file") == 2, "named in the root, ino 2");
	ok(f && f->mode == (S_IFREG | 0640) && f->uid == 7 && f->gid == 8 &&
		   f->nlink == 1 && f->size == 0,
	   "its attributes");
	ok(f && ts_eq(f->atime, t1) && ts_eq(f->mtime, t1) &&
		   ts_eq(f->ctime, t1),
	   "its times, to the ns");
	ok(ts_eq(t->root->mtime, t1) && ts_eq(t->root->ctime, t1),
	   "the root's mtime and ctime");

	r = (struct record){.op = REC_CREATE, .dir = 1, .name = "sub",
			    .ino = 5, .mode = S_IFDIR | 0750, .time = t1};
	is_int(replay_rec(t, &r), 0, "create a directory with ino 5");
	struct inode *sub = tree_get(t, 5);
	ok(sub && sub->dir && sub->nlink == 2 && t->root->nlink == 3,
	   "a directory: nlink 2, the root's 3");
	is_int(t->next_ino, 6, "next_ino moves past the recorded ino");

	r = (struct record){.op = REC_CREATE, .dir = 5, .name = "ln",
			    .ino = 6, .mode = S_IFLNK | 0777,
			    .target = "../file", .time = t1};
	is_int(replay_rec(t, &r), 0, "create a symlink");
	struct inode *l = tree_get(t, 6);
	ok(l && l->target && !strcmp(l->target, "../file") && l->size == 7,
	   "its target and size");
	r.name = "ln2";
	r.ino = 7;
	r.target = NULL;
	is_int(record_encode(&r, &(char *){NULL}, &(size_t){0}), -EINVAL,
	       "a symlink without target: not encoded");
	is_int(replay_str(t, "{\"op\":\"create\",\"dir\":5,\"name\":\"ln2\","
			     "\"ino\":7,\"mode\":41471,\"uid\":0,\"gid\":0,"
			     "\"time\":0}"),
	       -EBADMSG, "…nor replayed");

	r = (struct record){.op = REC_LINK, .ino = 2, .dir = 5, .name = "hard",
			    .time = t2};
	is_int(replay_rec(t, &r), 0, "link");
	ok(f->nlink == 2 && ino_of(t, 5, "hard") == 2 && ts_eq(f->ctime, t2),
	   "nlink 2, the new name, ctime");
	is_int(replay_rec(t, &r), -EEXIST, "link again: -EEXIST");
	r.ino = 5;
	r.name = "dirlink";
	is_int(replay_rec(t, &r), -EPERM, "link a directory: -EPERM");

	r = (struct record){.op = REC_UNLINK, .dir = 1, .name = "file",
			    .time = t2};
	is_int(replay_rec(t, &r), 0, "unlink one of two names");
	ok(tree_get(t, 2) == f && f->nlink == 1, "the inode stays, nlink 1");
	r.dir = 5;
	r.name = "hard";
	f->lookups = 1; /* the kernel still knows it */
	is_int(replay_rec(t, &r), 0, "unlink the last name");
	ok(tree_get(t, 2) == f && f->nlink == 0,
	   "held by a lookup: kept with nlink 0");
	f->lookups = 0;
	tree_release(t, f);
	ok(!tree_get(t, 2), "released");

	r = (struct record){.op = REC_CREATE, .dir = 1, .name = "g", .ino = 8,
			    .mode = S_IFREG | 0600, .time = t1};
	is_int(replay_rec(t, &r), 0, "create g");
	r = (struct record){.op = REC_UNLINK, .dir = 1, .name = "g",
			    .time = t2};
	is_int(replay_rec(t, &r), 0, "unlink g");
	ok(!tree_get(t, 8), "nothing holds it: freed");

	r = (struct record){.op = REC_UNLINK, .dir = 1, .name = "sub",
			    .rmdir = true, .time = t2};
	is_int(replay_rec(t, &r), -ENOTEMPTY, "rmdir a full directory");
	r.rmdir = false;
	is_int(replay_rec(t, &r), -EISDIR, "unlink a directory: -EISDIR");

	/* rename: plain, NOREPLACE, EXCHANGE, over a file */
	r = (struct record){.op = REC_CREATE, .dir = 1, .name = "x", .ino = 9,
			    .mode = S_IFREG | 0600, .time = t1};
	is_int(replay_rec(t, &r), 0, "create x");
	r.name = "y";
	r.ino = 10;
	is_int(replay_rec(t, &r), 0, "create y");
	r = (struct record){.op = REC_RENAME, .dir = 1, .name = "x",
			    .newdir = 5, .newname = "x2", .time = t2};
	is_int(replay_rec(t, &r), 0, "rename x into sub");
	ok(ino_of(t, 5, "x2") == 9 && !ino_of(t, 1, "x"), "moved");
	r = (struct record){.op = REC_RENAME, .dir = 5, .name = "x2",
			    .newdir = 1, .newname = "y",
			    .flags = TREE_RENAME_NOREPLACE, .time = t2};
	is_int(replay_rec(t, &r), -EEXIST, "NOREPLACE onto y: -EEXIST");
	r.flags = TREE_RENAME_EXCHANGE;
	is_int(replay_rec(t, &r), 0, "EXCHANGE with y");
	ok(ino_of(t, 5, "x2") == 10 && ino_of(t, 1, "y") == 9, "swapped");
	r.flags = TREE_RENAME_EXCHANGE | TREE_RENAME_NOREPLACE;
	is_int(replay_rec(t, &r), -EINVAL, "both flags: -EINVAL");
	r.flags = 0;
	is_int(replay_rec(t, &r), 0, "rename x2 over y");
	ok(ino_of(t, 1, "y") == 10 && !tree_get(t, 9),
	   "the replaced inode is freed");
	r = (struct record){.op = REC_CREATE, .dir = 1, .name = "e", .ino = 11,
			    .mode = S_IFDIR | 0700, .time = t1};
	is_int(replay_rec(t, &r), 0, "create an empty directory");
	r = (struct record){.op = REC_CREATE, .dir = 1, .name = "e2",
			    .ino = 12, .mode = S_IFDIR | 0700, .time = t1};
	is_int(replay_rec(t, &r), 0, "and another");
	r = (struct record){.op = REC_RENAME, .dir = 1, .name = "e2",
			    .newdir = 1, .newname = "e", .time = t2};
	is_int(replay_rec(t, &r), 0, "rename a directory over an empty one");
	ok(ino_of(t, 1, "e") == 12 && !tree_get(t, 11),
	   "the replaced directory is freed");

	/* setattr, one bit at a time */
	struct inode *y = tree_get(t, 10);
	const unsigned bits[] = {REC_SET_MODE, REC_SET_UID, REC_SET_GID,
				 REC_SET_ATIME, REC_SET_MTIME};
	for (size_t i = 0; i < 5; i++) {
		struct inode before = *y;
		struct timespec tc = ts(T0_SEC + 10 + (long long)i, 5);
		r = (struct record){.op = REC_SETATTR, .ino = 10,
				    .set = bits[i], .mode = S_IFDIR | 04711,
				    .uid = 300, .gid = 400,
				    .atime = ts(-5, 7),
				    .mtime = ts(4102444800LL, 999999999),
				    .time = tc};
		is_int(replay_rec(t, &r), 0, "setattr bit %u", bits[i]);
		bool mode_ok = bits[i] == REC_SET_MODE
				       ? y->mode == (S_IFREG | 04711)
				       : y->mode == before.mode;
		bool uid_ok = y->uid == (bits[i] == REC_SET_UID ? 300
								: before.uid);
		bool gid_ok = y->gid == (bits[i] == REC_SET_GID ? 400
								: before.gid);
		bool at_ok = ts_eq(y->atime, bits[i] == REC_SET_ATIME
						     ? ts(-5, 7)
						     : before.atime);
		bool mt_ok = ts_eq(y->mtime,
				   bits[i] == REC_SET_MTIME
					   ? ts(4102444800LL, 999999999)
					   : before.mtime);
		ok(mode_ok && uid_ok && gid_ok && at_ok && mt_ok &&
			   ts_eq(y->ctime, tc),
		   "bit %u changes its field only (type bits kept), and "
		   "ctime",
		   bits[i]);
	}

	/* content */
	r = (struct record){.op = REC_CONTENT, .ino = 10,
			    .content = some_ref(3, 70000, 2),
			    .mtime = ts(T0_SEC + 20, 1), .time = t2};
	is_int(replay_rec(t, &r), 0, "content with a real ref");
	ok(ref_eq(&y->content, &r.content) && y->size == 70000 &&
		   ts_eq(y->mtime, r.mtime) && ts_eq(y->ctime, t2),
	   "ref, size, mtime and ctime");
	r.content = (struct obj_ref){0};
	is_int(replay_rec(t, &r), 0, "content of size 0");
	ok(y->content.cid.len == 0 && y->size == 0, "empty");
	r.ino = 5;
	is_int(replay_rec(t, &r), -EINVAL, "content of a directory: -EINVAL");
	tree_free(t);
}

/* ---- live apply and replay end in the same tree ---- */

struct gen {
	struct harness_rng g;
	struct fs_tree *t; /* the live tree: choices come from it */
	uint64_t *inos;    /* every ino ever created */
	size_t ninos, cap;
	struct timespec now;
	char name[2][TREE_NAME_MAX + 8];
	char target[64];
};

static const char *const pool[NAME_POOL] = {
	"a", "b", "c", "cur", "new", "tmp", "1700000000.M1P2.host:2,S",
	"dovecot.index", "ü-名前", "x y", ".hidden", "..."};

/* The generator's next number. */
static uint64_t rnd(struct gen *g)
{
	return harness_rnd(&g->g);
}

static uint64_t pick_ino(struct gen *g)
{
	uint64_t k = rnd(g) % 100;
	if (k < 4 || g->ninos == 0)
		return TREE_ROOT_INO;
	if (k < 6)
		return 1000000 + rnd(g) % 1000; /* never existed */
	return g->inos[rnd(g) % g->ninos];
}

/* Mostly an inode that is there, of the kind asked for (0: any). */
static uint64_t pick_live(struct gen *g, uint32_t type)
{
	for (int i = 0; i < 8 && rnd(g) % 10; i++) {
		uint64_t ino = pick_ino(g);
		struct inode *in = tree_get(g->t, ino);
		if (in && in->nlink > 0 &&
		    (!type || (in->mode & S_IFMT) == type))
			return ino;
	}
	return pick_ino(g);
}

static uint64_t pick_dir(struct gen *g)
{
	return pick_live(g, S_IFDIR);
}

/* A name in dir: one it has (existing percent of the time), else from the
 * pool; sometimes one no record may carry. */
static const char *pick_name(struct gen *g, int slot, uint64_t dir,
			     unsigned existing, bool *bad)
{
	char *out = g->name[slot];
	struct inode *d = tree_get(g->t, dir);
	uint64_t k = rnd(g) % 200;
	if (k == 0) {
		const char *const wrong[] = {".", "..", "a/b", ""};
		*bad = true;
		return wrong[rnd(g) % 4];
	}
	if (k == 1) {
		memset(out, 'n', TREE_NAME_MAX + 1);
		out[TREE_NAME_MAX + 1] = '\0';
		*bad = true;
		return out;
	}
	if (k < 2 * existing && d && d->dir && d->dir->count > 0) {
		uint32_t skip = (uint32_t)(rnd(g) % d->dir->count);
		for (uint32_t b = 0; b < d->dir->nbuckets; b++)
			for (struct dirent *e = d->dir->buckets[b]; e;
			     e = e->hash_next)
				if (skip-- == 0) {
					snprintf(out, TREE_NAME_MAX + 8, "%s",
						 e->name);
					return out;
				}
	}
	if (k == 2) { /* the longest allowed */
		memset(out, 'L', TREE_NAME_MAX);
		out[TREE_NAME_MAX] = '\0';
		return out;
	}
	return pool[rnd(g) % NAME_POOL];
}

static struct timespec pick_time(struct gen *g, bool *bad)
{
	uint64_t k = rnd(g) % 100;
	if (k == 0) {
		*bad = true; /* beyond what ns in 64 bits can say */
		return ts(20000000000LL, 0);
	}
	if (k < 3)
		return ts(-(long long)(rnd(g) % 2000000000),
			  (long)(rnd(g) % 1000000000));
	if (k < 5)
		return ts(9000000000LL, 999999999); /* year 2255 */
	return ts(T0_SEC + (long long)(rnd(g) % 100000000),
		  (long)(rnd(g) % 1000000000));
}

/* A random record as the live filesystem might log it.  *bad: one that
 * record_encode must refuse. */
static void gen_record(struct gen *g, struct record *r, bool *bad)
{
	memset(r, 0, sizeof(*r));
	*bad = false;
	g->now.tv_nsec += (long)(rnd(g) % 1000000000);
	if (g->now.tv_nsec >= 1000000000) {
		g->now.tv_nsec -= 1000000000;
		g->now.tv_sec++;
	}
	r->time = g->now;
	uint64_t k = rnd(g) % 100;
	if (k < 28) {
		r->op = REC_CREATE;
		r->dir = pick_dir(g);
		r->name = pick_name(g, 0, r->dir, 10, bad);
		/* As ops.c: the next ino; rarely one in use. */
		r->ino = rnd(g) % 50 ? g->t->next_ino : pick_ino(g);
		uint64_t type = rnd(g) % 20;
		const uint32_t special[] = {S_IFIFO, S_IFCHR, S_IFBLK,
					    S_IFSOCK};
		r->mode = (uint32_t)(rnd(g) % 010000) |
			  (type < 12   ? S_IFREG
			   : type < 17 ? S_IFDIR
			   : type < 19 ? S_IFLNK
				       : special[rnd(g) % 4]);
		/* A device's number: any, as stat's st_rdev. */
		if (tree_has_rdev(r->mode))
			r->rdev = rnd(g) % 3 ? rnd(g) % 0x100000 : 0;
		r->uid = (uint32_t)(rnd(g) % 3 ? 1000 : rnd(g));
		r->gid = (uint32_t)(rnd(g) % 3 ? 100 : rnd(g));
		/* A manifest holds no other mode (fs/model/record.h): rarely, one
		 * with a bit above S_IFMT, or of a type it has no entry for. */
		uint64_t odd = rnd(g) % 100;
		if (odd == 0) {
			r->mode |= 1u << (16 + rnd(g) % 16);
			*bad = true;
		} else if (odd == 1) {
			/* No type, or type bits naming none. */
			const uint32_t other[] = {0, 0030000, 0050000,
						  0070000, 0170000};
			r->mode = (r->mode & 07777) | other[rnd(g) % 5];
			r->rdev = 0;
			*bad = true;
		} else if (odd == 2 && !tree_has_rdev(r->mode)) {
			r->rdev = 1 + rnd(g) % 1000; /* only devices have one */
			*bad = true;
		}
		/* A target exactly when it is a symlink. */
		if (S_ISLNK(r->mode) || rnd(g) % 20 == 0) {
			size_t n = 1 + rnd(g) % (sizeof(g->target) - 1);
			for (size_t i = 0; i < n; i++)
				g->target[i] = (char)('!' + rnd(g) % 90);
			g->target[n] = '\0';
			r->target = g->target;
			*bad = *bad || !S_ISLNK(r->mode);
		}
		if (S_ISLNK(r->mode) && rnd(g) % 50 == 0) {
			r->target = NULL;
			*bad = true;
		}
	} else if (k < 36) {
		r->op = REC_LINK;
		r->ino = pick_live(g, rnd(g) % 4 ? S_IFREG : 0);
		r->dir = pick_dir(g);
		r->name = pick_name(g, 0, r->dir, 10, bad);
	} else if (k < 56) {
		r->op = REC_UNLINK;
		r->dir = pick_dir(g);
		r->name = pick_name(g, 0, r->dir, 80, bad);
		uint64_t ino = *bad ? 0 : ino_of(g->t, r->dir, r->name);
		struct inode *in = ino ? tree_get(g->t, ino) : NULL;
		r->rmdir = in && rnd(g) % 5 ? in->dir != NULL
						: rnd(g) % 2;
	} else if (k < 76) {
		r->op = REC_RENAME;
		r->dir = pick_dir(g);
		r->name = pick_name(g, 0, r->dir, 80, bad);
		r->newdir = pick_dir(g);
		r->newname = pick_name(g, 1, r->newdir, 30, bad);
		uint64_t f = rnd(g) % 100;
		r->flags = f < 70   ? 0
			   : f < 84 ? TREE_RENAME_NOREPLACE
			   : f < 98 ? TREE_RENAME_EXCHANGE
				    : (unsigned)(rnd(g) % 8);
	} else if (k < 90) {
		r->op = REC_SETATTR;
		r->ino = pick_live(g, 0);
		r->set = (unsigned)(rnd(g) % 32);
		r->mode = (uint32_t)rnd(g);
		r->uid = (uint32_t)rnd(g);
		r->gid = (uint32_t)rnd(g);
		r->atime = pick_time(g, bad);
		r->mtime = pick_time(g, bad);
	} else {
		r->op = REC_CONTENT;
		r->ino = pick_live(g, S_IFREG);
		r->mtime = pick_time(g, bad);
		uint64_t k2 = rnd(g) % 20;
		if (k2 > 4)
			r->content = some_ref(rnd(g),
					      1 + rnd(g) % (1ull << 40),
					      (uint8_t)(rnd(g) % 5));
		else if (k2 == 0) /* size 0 over a stale ref: empty all the same */
			r->content = some_ref(rnd(g), 0, 1);
	}
}

struct tally {
	unsigned long ok[REC_CONTENT + 1], failed, refused, mismatched;
};

static void determinism(unsigned seed)
{
	struct fs_tree *a = harness_tree(ROOT_UID, ROOT_GID,
					 &t0), *b = harness_tree(ROOT_UID,
					 ROOT_GID, &t0);
	struct gen g = {.g = {.s = 0x2545F4914F6CDD1Dull * seed},
			.t = a,
			.now = ts(T0_SEC, 0)};
	char **payloads = calloc(RECORDS_PER_SEED, sizeof(*payloads));
	size_t *lens = calloc(RECORDS_PER_SEED, sizeof(*lens));
	int *results = calloc(RECORDS_PER_SEED, sizeof(*results));
	struct tally tl = {{0}, 0, 0, 0};
	unsigned long refused_wrongly = 0, accepted_wrongly = 0;
	size_t n = 0;
	if (!payloads || !lens || !results)
		harness_bail("calloc");

	for (int i = 0; i < RECORDS_PER_SEED; i++) {
		struct record r;
		bool bad;
		gen_record(&g, &r, &bad);
		char *json;
		size_t len;
		int e = record_encode(&r, &json, &len);
		if (e != 0) {
			/* ops.c returns the error; nothing is journaled. */
			tl.refused++;
			if (!bad && refused_wrongly++ < DIFF_MAX)
				tap_diag("seed %u #%d: op %d refused: %d",
					 seed, i, r.op, e);
			continue;
		}
		if (bad && accepted_wrongly++ < DIFF_MAX)
			tap_diag("seed %u #%d: op %d encoded: %s", seed, i,
				 r.op, json);
		e = record_apply(a, &r, NULL, NULL);
		if (e == 0) {
			tl.ok[r.op]++;
			if (r.op == REC_CREATE) {
				if (g.ninos == g.cap) {
					g.cap = g.cap ? 2 * g.cap : 64;
					g.inos = realloc(g.inos,
							 g.cap * sizeof(*g.inos));
					if (!g.inos)
						harness_bail("realloc");
				}
				g.inos[g.ninos++] = r.ino;
			}
		} else {
			tl.failed++;
		}
		payloads[n] = json;
		lens[n] = len;
		results[n++] = e;
	}

	/* B: a tree as new, and every payload in order. */
	for (size_t i = 0; i < n; i++) {
		int e = record_replay(b, (const uint8_t *)payloads[i], lens[i]);
		if (e != results[i] && tl.mismatched++ < DIFF_MAX)
			tap_diag("seed %u payload %zu: live %d, replay %d: %s",
				 seed, i, results[i], e, payloads[i]);
	}
	char label[32];
	snprintf(label, sizeof(label), "seed %u", seed);
	unsigned long diffs = compare_trees(a, b, label);

	is_int(refused_wrongly + accepted_wrongly, 0,
	       "seed %u: encode refuses exactly the records replay would",
	       seed);
	is_int(tl.mismatched, 0,
	       "seed %u: every payload replays with the live result", seed);
	is_int(diffs, 0,
	       "seed %u: %zu records → the same tree (%llu inodes; ok: "
	       "%lu create %lu link %lu unlink %lu rename %lu setattr "
	       "%lu content; %lu failed, %lu refused)",
	       seed, n, (unsigned long long)a->ninodes, tl.ok[REC_CREATE],
	       tl.ok[REC_LINK], tl.ok[REC_UNLINK], tl.ok[REC_RENAME],
	       tl.ok[REC_SETATTR], tl.ok[REC_CONTENT], tl.failed, tl.refused);
	bool mixed = tl.failed > 100 && tl.refused > 10;
	for (int op = REC_CREATE; op <= REC_CONTENT; op++)
		mixed = mixed && tl.ok[op] > 50;
	ok(mixed, "seed %u: every kind succeeded often, and some failed",
	   seed);

	for (size_t i = 0; i < n; i++)
		free(payloads[i]);
	free(payloads);
	free(lens);
	free(results);
	free(g.inos);
	tree_free(a);
	tree_free(b);
}

/* ---- release_fn ---- */

struct released {
	struct fs_tree *t;
	unsigned long count;
	uint64_t last;
};

static void on_release(struct inode *inode, void *arg)
{
	struct released *rl = arg;
	rl->count++;
	rl->last = inode->ino;
	tree_release(rl->t, inode);
}

static void test_release_fn(void)
{
	struct fs_tree *t = harness_tree(ROOT_UID, ROOT_GID, &t0);
	struct released rl = {t, 0, 0};
	struct record r = {.op = REC_CREATE, .dir = 1, .name = "a", .ino = 2,
			   .mode = S_IFREG | 0600, .time = t0};
	is_int(record_apply(t, &r, on_release, &rl), 0, "create a");
	r.name = "b";
	r.ino = 3;
	is_int(record_apply(t, &r, on_release, &rl), 0, "create b");
	tree_get(t, 3)->opens = 1;
	r = (struct record){.op = REC_UNLINK, .dir = 1, .name = "b",
			    .time = t0};
	is_int(record_apply(t, &r, on_release, &rl), 0, "unlink open b");
	ok(rl.count == 0 && tree_get(t, 3), "an open inode is not released");
	r = (struct record){.op = REC_RENAME, .dir = 1, .name = "a",
			    .newdir = 1, .newname = "c", .time = t0};
	is_int(record_apply(t, &r, on_release, &rl), 0, "rename a to c");
	is_int(rl.count, 0, "nothing released");
	r = (struct record){.op = REC_UNLINK, .dir = 1, .name = "c",
			    .time = t0};
	is_int(record_apply(t, &r, on_release, &rl), 0, "unlink c");
	ok(rl.count == 1 && rl.last == 2 && !tree_get(t, 2),
	   "release_fn called for it, once");
	tree_get(t, 3)->opens = 0;
	tree_release(t, tree_get(t, 3));
	tree_free(t);
}

/* ---- what replay refuses ---- */

/* A small tree, built the same way twice. */
static struct fs_tree *base_tree(void)
{
	struct fs_tree *t = harness_tree(ROOT_UID, ROOT_GID, &t0);
	const char *const recs[] = {
		"{\"op\":\"create\",\"dir\":1,\"name\":\"d\",\"ino\":2,"
		"\"mode\":16877,\"uid\":1,\"gid\":2,\"time\":5}",
		"{\"op\":\"create\",\"dir\":2,\"name\":\"f\",\"ino\":3,"
		"\"mode\":33188,\"uid\":1,\"gid\":2,\"time\":6}",
		"{\"op\":\"create\",\"dir\":1,\"name\":\"s\",\"ino\":4,"
		"\"mode\":41471,\"uid\":1,\"gid\":2,\"time\":7,"
		"\"target\":\"d/f\"}",
	};
	for (size_t i = 0; i < 3; i++)
		if (replay_str(t, recs[i]) != 0)
			harness_bail("base tree");
	return t;
}

/* Each of these must give want and leave the tree as it was. */
static void refuse(struct fs_tree *t, struct fs_tree *twin, const char *s,
		   int want, const char *why)
{
	int e = replay_str(t, s);
	unsigned long d = compare_trees(twin, t, why);
	ok(e == want && d == 0, "%s: %d (got %d), no change", why, want, e);
}

static void test_malformed(void)
{
	struct fs_tree *t = base_tree(), *twin = base_tree();
	const struct {
		const char *json, *why;
	} bad[] = {
		{"", "empty"},
		{"not json", "not JSON"},
		{"[1,2]", "an array"},
		{"42", "a number"},
		{"null", "null"},
		{"\"create\"", "a string"},
		{"{\"op\":\"unlink\",\"dir\":1,\"name\":\"s\",\"rmdir\":false,"
		 "\"time\":1} x",
		 "trailing garbage"},
		{"{\"op\":\"unlink\",\"dir\":1,\"name\":\"s\",\"rmdir\":false,"
		 "\"time\":1",
		 "truncated"},
		{"{\"op\":\"unlink\",\"op\":\"unlink\",\"dir\":1,\"name\":\"s\","
		 "\"rmdir\":false,\"time\":1}",
		 "duplicate key"},
		{"{}", "no op"},
		{"{\"op\":\"chmod\",\"ino\":3,\"time\":1}", "unknown op"},
		{"{\"op\":\"\",\"time\":1}", "empty op"},
		{"{\"op\":5,\"time\":1}", "op as a number"},
		{"{\"op\":\"unlink\",\"dir\":\"1\",\"name\":\"s\","
		 "\"rmdir\":false,\"time\":1}",
		 "dir as a string"},
		{"{\"op\":\"unlink\",\"dir\":1,\"name\":7,\"rmdir\":false,"
		 "\"time\":1}",
		 "name as a number"},
		{"{\"op\":\"unlink\",\"dir\":1,\"name\":\"s\",\"rmdir\":0,"
		 "\"time\":1}",
		 "rmdir as a number"},
		{"{\"op\":\"unlink\",\"dir\":1,\"name\":\"s\",\"rmdir\":false,"
		 "\"time\":\"1\"}",
		 "time as a string"},
		{"{\"op\":\"unlink\",\"dir\":1,\"name\":\"s\",\"rmdir\":false,"
		 "\"time\":1.5}",
		 "time as a real"},
		{"{\"op\":\"unlink\",\"dir\":1.0,\"name\":\"s\",\"rmdir\":false,"
		 "\"time\":1}",
		 "dir as a real"},
		{"{\"op\":\"unlink\",\"dir\":-1,\"name\":\"s\",\"rmdir\":false,"
		 "\"time\":1}",
		 "negative dir"},
		{"{\"op\":\"unlink\",\"dir\":18446744073709551615,\"name\":\"s\","
		 "\"rmdir\":false,\"time\":1}",
		 "dir past 2^63"},
		{"{\"op\":\"unlink\",\"dir\":1,\"name\":\"s\",\"rmdir\":false,"
		 "\"time\":99999999999999999999999}",
		 "time past 2^63"},
		{"{\"op\":\"unlink\",\"dir\":1,\"name\":\"s\",\"rmdir\":false,"
		 "\"time\":1e30}",
		 "time as a huge real"},
		{"{\"op\":\"unlink\",\"dir\":1,\"name\":\".\",\"rmdir\":false,"
		 "\"time\":1}",
		 "name ."},
		{"{\"op\":\"unlink\",\"dir\":1,\"name\":\"..\",\"rmdir\":false,"
		 "\"time\":1}",
		 "name .."},
		{"{\"op\":\"unlink\",\"dir\":1,\"name\":\"d/f\",\"rmdir\":false,"
		 "\"time\":1}",
		 "name a/b"},
		{"{\"op\":\"unlink\",\"dir\":1,\"name\":\"\",\"rmdir\":false,"
		 "\"time\":1}",
		 "empty name"},
		{"{\"op\":\"unlink\",\"dir\":1,\"name\":\"s\\u0000x\","
		 "\"rmdir\":false,\"time\":1}",
		 "NUL in a name"},
		{"{\"op\":\"rename\",\"dir\":1,\"name\":\"s\",\"newdir\":1,"
		 "\"newname\":\"a/b\",\"flags\":0,\"time\":1}",
		 "newname a/b"},
		{"{\"op\":\"rename\",\"dir\":1,\"name\":\"s\",\"newdir\":1,"
		 "\"newname\":\"t\",\"flags\":4294967296,\"time\":1}",
		 "flags past 32 bits"},
		{"{\"op\":\"rename\",\"dir\":1,\"name\":\"s\",\"newdir\":1,"
		 "\"newname\":\"t\",\"flags\":true,\"time\":1}",
		 "flags as a boolean"},
		{"{\"op\":\"create\",\"dir\":1,\"name\":\"n\",\"ino\":0,"
		 "\"mode\":33188,\"uid\":1,\"gid\":2,\"time\":1}",
		 "create with ino 0"},
		{"{\"op\":\"create\",\"dir\":1,\"name\":\"n\",\"ino\":9,"
		 "\"mode\":4294967296,\"uid\":1,\"gid\":2,\"time\":1}",
		 "mode past 32 bits"},
		{"{\"op\":\"create\",\"dir\":1,\"name\":\"n\",\"ino\":9,"
		 "\"mode\":33188,\"uid\":-1,\"gid\":2,\"time\":1}",
		 "negative uid"},
		{"{\"op\":\"create\",\"dir\":1,\"name\":\"n\",\"ino\":9,"
		 "\"mode\":33188,\"uid\":1,\"gid\":2,\"time\":1,\"target\":5}",
		 "target as a number"},
		{"{\"op\":\"setattr\",\"ino\":3,\"set\":1,\"mode\":420,\"uid\":1,"
		 "\"gid\":2,\"atime\":1,\"mtime\":\"x\",\"time\":1}",
		 "mtime as a string"},
		{"{\"op\":\"content\",\"ino\":3,\"size\":-5,\"mtime\":1,"
		 "\"time\":1}",
		 "negative size"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refuse(t, twin, bad[i].json, -EBADMSG, bad[i].why);

	/* Content: the cid, the key, the depth. */
	char json[1024], key[64], cid[CID_TEXT_MAX];
	struct obj_ref c = some_ref(9, 5000, 1);
	uint8_t k33[33] = {0};
	if (cid_format(&c.cid, cid, sizeof(cid)) != 0)
		harness_bail("cid_format");
	sodium_bin2base64(key, sizeof(key), c.key, IPMD_KEY_BYTES,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
#define CONTENT_FMT                                                           \
	"{\"op\":\"content\",\"ino\":3,\"size\":5000,\"cid\":\"%s\","         \
	"\"key\":\"%s\",\"depth\":%s,\"mtime\":1,\"time\":1}"
	snprintf(json, sizeof(json), CONTENT_FMT, cid, key, "1");
	is_int(replay_str(t, json), 0, "a well-formed content record");
	is_int(replay_str(twin, json), 0, "(the twin too)");
	ok(ref_eq(&tree_get(t, 3)->content, &c), "carries the ref");
	const char *const cids[] = {
		"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", /* v0 */
		"bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
		"bafkreixyz", "", "hello"};
	const char *const why[] = {"a CIDv0", "a dag-pb CID",
				   "a broken CID", "an empty CID",
				   "not a CID"};
	for (size_t i = 0; i < 5; i++) {
		snprintf(json, sizeof(json), CONTENT_FMT, cids[i], key, "1");
		refuse(t, twin, json, -EBADMSG, why[i]);
	}
	char k31[64], k33s[64], kpad[80], kstd[80];
	sodium_bin2base64(k31, sizeof(k31), c.key, 31,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_bin2base64(k33s, sizeof(k33s), k33, 33,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_bin2base64(kpad, sizeof(kpad), c.key, IPMD_KEY_BYTES,
			  sodium_base64_VARIANT_URLSAFE);
	snprintf(kstd, sizeof(kstd), "%s!", key);
	const char *const keys[] = {k31, k33s, kpad, kstd, ""};
	const char *const kwhy[] = {"a 31-byte key", "a 33-byte key",
				    "a padded key", "a key with junk",
				    "an empty key"};
	for (size_t i = 0; i < 5; i++) {
		snprintf(json, sizeof(json), CONTENT_FMT, cid, keys[i], "1");
		refuse(t, twin, json, -EBADMSG, kwhy[i]);
	}
	snprintf(json, sizeof(json), CONTENT_FMT, cid, key, "65");
	refuse(t, twin, json, -EBADMSG, "depth past OBJ_DEPTH_MAX");
	snprintf(json, sizeof(json), CONTENT_FMT, cid, key, "\"1\"");
	refuse(t, twin, json, -EBADMSG, "depth as a string");
	snprintf(json, sizeof(json),
		 "{\"op\":\"content\",\"ino\":3,\"size\":5000,\"key\":\"%s\","
		 "\"depth\":1,\"mtime\":1,\"time\":1}",
		 key);
	refuse(t, twin, json, -EBADMSG, "content without cid");

	/* Every field of every kind is required (target: for symlinks). */
	struct record all[] = {
		{.op = REC_CREATE, .dir = 1, .name = "n", .ino = 9,
		 .mode = S_IFLNK | 0777, .target = "t"},
		{.op = REC_LINK, .ino = 3, .dir = 1, .name = "n"},
		{.op = REC_UNLINK, .dir = 1, .name = "s"},
		{.op = REC_RENAME, .dir = 1, .name = "s", .newdir = 2,
		 .newname = "n"},
		{.op = REC_SETATTR, .ino = 3, .set = REC_SET_MODE},
		{.op = REC_CONTENT, .ino = 3, .content = c},
	};
	int missing_ok = 0, fields = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		char *text;
		size_t len;
		if (record_encode(&all[i], &text, &len) != 0)
			harness_bail("record_encode");
		json_error_t err;
		json_t *o = json_loads(text, 0, &err);
		free(text);
		const char *k;
		json_t *v;
		json_object_foreach(o, k, v)
		{
			json_t *copy = json_deep_copy(o);
			json_object_del(copy, k);
			char *s = json_dumps(copy, JSON_COMPACT);
			json_decref(copy);
			int e = replay_str(t, s);
			fields++;
			if (e == -EBADMSG && compare_trees(twin, t, k) == 0)
				missing_ok++;
			else
				tap_diag("without %s: %d: %s", k, e, s);
			free(s);
		}
		json_decref(o);
	}
	is_int(missing_ok, fields,
	       "each of %d fields missing in turn: -EBADMSG, no change",
	       fields);

	/* Well-formed, but naming what isn't there. */
	const char *const stale[] = {
		"{\"op\":\"create\",\"dir\":99,\"name\":\"n\",\"ino\":9,"
		"\"mode\":33188,\"uid\":1,\"gid\":2,\"time\":1}",
		"{\"op\":\"link\",\"ino\":99,\"dir\":1,\"name\":\"n\","
		"\"time\":1}",
		"{\"op\":\"link\",\"ino\":3,\"dir\":99,\"name\":\"n\","
		"\"time\":1}",
		"{\"op\":\"unlink\",\"dir\":99,\"name\":\"f\",\"rmdir\":false,"
		"\"time\":1}",
		"{\"op\":\"rename\",\"dir\":99,\"name\":\"f\",\"newdir\":1,"
		"\"newname\":\"n\",\"flags\":0,\"time\":1}",
		"{\"op\":\"rename\",\"dir\":2,\"name\":\"f\",\"newdir\":99,"
		"\"newname\":\"n\",\"flags\":0,\"time\":1}",
		"{\"op\":\"setattr\",\"ino\":99,\"set\":31,\"mode\":0,\"uid\":0,"
		"\"gid\":0,\"atime\":0,\"mtime\":0,\"time\":1}",
		"{\"op\":\"content\",\"ino\":99,\"size\":0,\"mtime\":1,"
		"\"time\":1}",
		"{\"op\":\"link\",\"ino\":0,\"dir\":1,\"name\":\"n\","
		"\"time\":1}",
	};
	for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
		char w[48];
		snprintf(w, sizeof(w), "missing inode #%zu", i);
		refuse(t, twin, stale[i], -ESTALE, w);
	}
	/* Failing the way a live call fails changes nothing either. */
	refuse(t, twin,
	       "{\"op\":\"create\",\"dir\":2,\"name\":\"f\",\"ino\":9,"
	       "\"mode\":33188,\"uid\":1,\"gid\":2,\"time\":1}",
	       -EEXIST, "create over a name");
	refuse(t, twin,
	       "{\"op\":\"create\",\"dir\":3,\"name\":\"n\",\"ino\":9,"
	       "\"mode\":33188,\"uid\":1,\"gid\":2,\"time\":1}",
	       -ENOTDIR, "create in a file");
	refuse(t, twin,
	       "{\"op\":\"create\",\"dir\":1,\"name\":\"n\",\"ino\":3,"
	       "\"mode\":33188,\"uid\":1,\"gid\":2,\"time\":1}",
	       -EEXIST, "create with an ino in use");
	refuse(t, twin,
	       "{\"op\":\"create\",\"dir\":1,\"name\":\"n\",\"ino\":9,"
	       "\"mode\":8592,\"uid\":1,\"gid\":2,\"time\":1}",
	       -EBADMSG, "create a character device: never logged, malformed");
	refuse(t, twin,
	       "{\"op\":\"rename\",\"dir\":1,\"name\":\"d\",\"newdir\":2,"
	       "\"newname\":\"n\",\"flags\":0,\"time\":1}",
	       -EINVAL, "a directory into itself");
	refuse(t, twin,
	       "{\"op\":\"content\",\"ino\":4,\"size\":0,\"mtime\":1,"
	       "\"time\":1}",
	       -EINVAL, "content of a symlink");
	tree_free(t);
	tree_free(twin);
}

/*
 * A create a commit could not write is refused when logged (-EINVAL) and
 * when replayed (-EBADMSG): replay never builds a tree the manifest
 * refuses.  The first is the fuzzer's: S_IFDIR with bit 0200000.
 */
static void test_create_modes(void)
{
	struct fs_tree *t = base_tree(), *twin = base_tree();
	const struct {
		uint32_t mode;
		const char *target, *why;
	} bad[] = {
		{82942, NULL, "a directory with a bit above S_IFMT"},
		{S_IFREG | 0644 | 0200000, NULL, "a file, a bit above S_IFMT"},
		{S_IFREG | 0644 | 0x80000000u, NULL, "a file with bit 31"},
		{S_IFLNK | 0777 | 0400000, "x", "a symlink, a bit above S_IFMT"},
		{S_IFDIR | 0755, "x", "a directory with a target"},
		{S_IFREG | 0644, "x", "a file with a target"},
		{S_IFLNK | 0777, NULL, "a symlink without a target"},
		{S_IFIFO | 0644, "x", "a fifo with a target"},
		{0030644, NULL, "type bits naming no type"},
		{0644, NULL, "no file type"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct record r = {.op = REC_CREATE, .dir = 1, .name = "n",
				   .ino = 9, .mode = bad[i].mode,
				   .target = bad[i].target, .time = t0};
		char *text = NULL, json[256], why[96];
		size_t len;
		is_int(record_encode(&r, &text, &len), -EINVAL,
		       "%s: not logged", bad[i].why);
		free(text);
		snprintf(json, sizeof(json),
			 "{\"op\":\"create\",\"dir\":1,\"name\":\"n\","
			 "\"ino\":9,\"mode\":%u,\"uid\":1,\"gid\":2,"
			 "\"time\":1%s%s%s}",
			 (unsigned)bad[i].mode,
			 bad[i].target ? ",\"target\":\"" : "",
			 bad[i].target ? bad[i].target : "",
			 bad[i].target ? "\"" : "");
		snprintf(why, sizeof(why), "%s: not replayed", bad[i].why);
		refuse(t, twin, json, -EBADMSG, why);
	}

	/* The edges of what a manifest holds go through both ways. */
	const struct {
		uint32_t mode;
		const char *target, *why;
	} good[] = {
		{S_IFREG | 07777, NULL, "a file with every permission bit"},
		{S_IFDIR | 07777, NULL, "a directory, every permission bit"},
		{S_IFLNK | 07777, "x", "a symlink with every permission bit"},
		{S_IFCHR | 0620, NULL, "a character device"},
		{S_IFBLK | 0660, NULL, "a block device"},
		{S_IFIFO | 0644, NULL, "a fifo"},
		{S_IFSOCK | 0755, NULL, "a socket"},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char name[8];
		snprintf(name, sizeof(name), "g%zu", i);
		struct record r = {.op = REC_CREATE, .dir = 1, .name = name,
				   .ino = 10 + i, .mode = good[i].mode,
				   .target = good[i].target, .time = t0};
		is_int(replay_rec(t, &r), 0, "%s: logged and replayed",
		       good[i].why);
		struct inode *in = tree_get(t, r.ino);
		ok(in && in->mode == good[i].mode, "%s: its mode, exactly",
		   good[i].why);
	}
	tree_free(t);
	tree_free(twin);
}

/* What record_encode refuses, so it is never journaled. */
static void test_encode_refuses(void)
{
	char *json = NULL;
	size_t len = 0;
	char long_name[TREE_NAME_MAX + 2];
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	struct record base = {.op = REC_CREATE, .dir = 1, .name = "n",
			      .ino = 2, .mode = S_IFREG | 0600, .time = t0};
	struct record r = base;
	is_int(record_encode(&r, &json, &len), 0, "a good create encodes");
	free(json);
	r.name = long_name;
	is_int(record_encode(&r, &json, &len), -ENAMETOOLONG,
	       "a 256-byte name: -ENAMETOOLONG");
	r.name = ".";
	is_int(record_encode(&r, &json, &len), -EINVAL, "name .: -EINVAL");
	r.name = "a/b";
	is_int(record_encode(&r, &json, &len), -EINVAL, "name a/b: -EINVAL");
	r.name = "\xff\xfe";
	is_int(record_encode(&r, &json, &len), 0,
	       "a name that is not UTF-8 encodes (as base64url)");
	{
		struct fs_tree *bt;
		struct timespec bt0 = {1, 0};
		ok(tree_new(&bt, 0, 0, &bt0) == 0 &&
			   record_replay(bt, (const uint8_t *)json, len) == 0 &&
			   tree_lookup(bt->root, "\xff\xfe") != NULL,
		   "and replays to the same bytes");
		tree_free(bt);
		free(json);
	}
	r = base;
	r.ino = 0;
	is_int(record_encode(&r, &json, &len), -EINVAL, "create ino 0");
	r = base;
	r.op = (enum record_op)0;
	is_int(record_encode(&r, &json, &len), -EINVAL, "op 0");
	r.op = (enum record_op)(REC_CONTENT + 1);
	is_int(record_encode(&r, &json, &len), -EINVAL, "op past the last");
	r = base;
	r.time = ts(9300000000LL, 0);
	is_int(record_encode(&r, &json, &len), -EOVERFLOW,
	       "a time past 2^63 ns: -EOVERFLOW");
	r.time = ts(-9300000000LL, 0);
	is_int(record_encode(&r, &json, &len), -EOVERFLOW,
	       "…or before -2^63 ns");
	r.time = ts(5, 1000000000);
	is_int(record_encode(&r, &json, &len), -EOVERFLOW,
	       "a tv_nsec of 10^9: -EOVERFLOW");
	r = (struct record){.op = REC_RENAME, .dir = 1, .name = "a",
			    .newdir = 1, .newname = long_name, .time = t0};
	is_int(record_encode(&r, &json, &len), -ENAMETOOLONG,
	       "rename to a long name");
	r = (struct record){.op = REC_LINK, .ino = 1ull << 63, .dir = 1,
			    .name = "a", .time = t0};
	is_int(record_encode(&r, &json, &len), -EINVAL, "ino 2^63");
	r = (struct record){.op = REC_CONTENT, .ino = 2, .time = t0,
			    .content = some_ref(4, 100, 0)};
	r.content.depth = OBJ_DEPTH_MAX + 1;
	is_int(record_encode(&r, &json, &len), -EINVAL, "depth too deep");
	r.content = some_ref(4, 100, 0);
	r.content.cid.len = 0;
	is_int(record_encode(&r, &json, &len), -EINVAL, "content without cid");
	r.content = some_ref(4, 1ull << 63, 3);
	is_int(record_encode(&r, &json, &len), -EOVERFLOW, "size 2^63");
	r = (struct record){.op = REC_SETATTR, .ino = 2, .time = t0,
			    .atime = ts(1LL << 40, 0)};
	is_int(record_encode(&r, &json, &len), -EOVERFLOW,
	       "setattr atime 2^40 s");

	/* Extreme times that fit come back to the ns. */
	struct fs_tree *t = harness_tree(ROOT_UID, ROOT_GID, &t0);
	r = base;
	r.time = ts(9223372036LL, 854775807);
	is_int(replay_rec(t, &r), 0, "create at the last representable ns");
	ok(ts_eq(tree_get(t, 2)->ctime, r.time), "…comes back exactly");
	r.name = "m";
	r.ino = 3;
	r.time = ts(-9223372036LL, 0);
	is_int(replay_rec(t, &r), 0, "and near the first");
	ok(ts_eq(tree_get(t, 3)->ctime, r.time), "…comes back exactly");
	r.name = "o";
	r.ino = 4;
	r.time = ts(-1, 999999999);
	is_int(replay_rec(t, &r), 0, "one ns before 1970");
	ok(ts_eq(tree_get(t, 4)->ctime, r.time), "…comes back exactly");
	/* Content of size 0 is empty, whatever else the ref held. */
	r = (struct record){.op = REC_CONTENT, .ino = 4, .time = t0,
			    .mtime = t0, .content = some_ref(5, 0, 2)};
	is_int(record_apply(t, &r, NULL, NULL), 0, "content: size 0, a cid");
	ok(tree_get(t, 4)->content.cid.len == 0 &&
		   tree_get(t, 4)->content.depth == 0 &&
		   sodium_is_zero(tree_get(t, 4)->content.key, IPMD_KEY_BYTES),
	   "applied as the empty ref, as replay would");
	tree_free(t);
}

/*
 * A content record carries a file's key (base64 in the JSON).  After the
 * record is encoded, replayed, its text wiped and freed, and the tree that
 * took the key freed, neither form of the key is left in freed memory
 * (jansson's buffers, the inode).  Masked needles: the test's own copies
 * don't count; the stack is not scanned.
 */
static void test_key_wiped(void)
{
	struct fs_tree *t = harness_tree(ROOT_UID, ROOT_GID, &t0);
	struct record r = {.op = REC_CREATE, .dir = 1, .name = "secret",
			   .ino = 2, .mode = S_IFREG | 0600, .time = t0};
	char b64[sodium_base64_ENCODED_LEN(IPMD_KEY_BYTES,
					   sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	/* malloc's free list overwrites a freed chunk's first 16 bytes: look
	 * for the key's text from its 17th character on. */
	uint8_t raw[IPMD_KEY_BYTES], text[sizeof(b64) - 1 - 16];
	struct memscan_hit hits[4];
	char *json;
	size_t len;

	is_int(replay_rec(t, &r), 0, "key wipe: a file");
	r = (struct record){.op = REC_CONTENT, .ino = 2, .mtime = t0,
			    .time = t0, .content = some_ref(4242, 5000, 0)};
	sodium_bin2base64(b64, sizeof(b64), r.content.key, IPMD_KEY_BYTES,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	memscan_mask(raw, r.content.key, IPMD_KEY_BYTES);
	memscan_mask(text, (const uint8_t *)b64 + 16, sizeof(text));
	sodium_memzero(b64, sizeof(b64));
	is_int(record_encode(&r, &json, &len), 0, "key wipe: encoded");
	sodium_memzero(&r, sizeof(r));
	is_int(record_replay(t, (const uint8_t *)json, len), 0,
	       "key wipe: replayed");
	ok(memscan(text, sizeof(text), hits, 4) >= 1,
	   "the key's text is in the record");
	wipe_free(json, len);
	tree_free(t);
	is_int(memscan(text, sizeof(text), hits, 4), 0,
	       "after use: the key's base64 is nowhere in memory");
	is_int(memscan(raw, sizeof(raw), hits, 4), 0,
	       "nor its bytes (the tree's inode)");
}

/* The merge record (record.h): its refusals both ways, and record_replay
 * never takes one (it needs blocks). */
static void test_merge_record(void)
{
	struct record_merge m = {.nbases = 2, .time = {1700000000, 7}};
	struct record_merge got;
	char *json = NULL;
	size_t len;
	for (unsigned i = 0; i < 3; i++) {
		struct cid *c = i == 0 ? &m.parent : &m.bases[i - 1];
		c->len = 36;
		memcpy(c->bytes, "\x01\x55\x12\x20", 4);
		c->bytes[4] = (uint8_t)i;
	}
	ok(record_merge_encode(&m, &json, &len) == 0 &&
		   record_merge_parse((const uint8_t *)json, len, &got) == 0 &&
		   cid_equal(&got.parent, &m.parent) && got.nbases == 2 &&
		   cid_equal(&got.bases[1], &m.bases[1]) &&
		   got.time.tv_nsec == 7,
	   "a merge record round-trips");
	ok(!got.index_local && !strstr(json, "index_local"),
	   "index_local false: absent, as records from before it");
	free(json);
	m.index_local = true;
	ok(record_merge_encode(&m, &json, &len) == 0 &&
		   record_merge_parse((const uint8_t *)json, len, &got) == 0 &&
		   got.index_local,
	   "index_local true: kept");
	/* One value, one encoding: index_local only true. */
	char *at = strstr(json, "\"index_local\":true}");
	if (!at)
		harness_bail("no index_local in the merge record");
	const char *const other[] = {"false}", "1}", "null}"};
	for (size_t i = 0; i < sizeof(other) / sizeof(*other); i++) {
		char text[1024];
		snprintf(text, sizeof(text), "%.*s\"index_local\":%s",
			 (int)(at - json), json, other[i]);
		is_int(record_merge_parse((const uint8_t *)text, strlen(text),
					  &got),
		       -EBADMSG, "index_local %s refused", other[i]);
	}
	free(json);
	m.index_local = false;
	if (record_merge_encode(&m, &json, &len))
		harness_bail("record_merge_encode");
	struct fs_tree *t;
	struct timespec now = {1, 0};
	if (tree_new(&t, 0, 0, &now))
		harness_bail("tree_new");
	is_int(record_replay(t, (const uint8_t *)json, len), -EBADMSG,
	       "record_replay refuses a merge record");
	tree_free(t);
	free(json);
	struct record_merge bad = m;
	bad.nbases = RECORD_MERGE_BASES_MAX + 1;
	is_int(record_merge_encode(&bad, &json, &len), -EINVAL,
	       "too many bases: -EINVAL");
	bad = m;
	bad.parent.bytes[1] = 0x71; /* dag-cbor: no commit */
	is_int(record_merge_encode(&bad, &json, &len), -EINVAL,
	       "a parent that is no commit's CID: -EINVAL");
	const char *const refused[] = {
		"{\"op\":\"merge\",\"parent\":\"x\",\"bases\":[],\"time\":1}",
		"{\"op\":\"merge\",\"bases\":[],\"time\":1}",
		"{\"op\":\"unlink\",\"dir\":1,\"name\":\"a\",\"rmdir\":false,"
		"\"time\":1}",
		"[]",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++)
		is_int(record_merge_parse((const uint8_t *)refused[i],
					  strlen(refused[i]), &got),
		       -EBADMSG, "not a merge record: %s", refused[i]);
}

/* Special files: a device's create carries its rdev and nothing else
 * does; records from before (no "rdev") read as they always did. */
static void test_special_records(void)
{
	struct fs_tree *t = base_tree(), *twin = base_tree();
	struct record r = {.op = REC_CREATE, .dir = 1, .name = "tty",
			   .ino = 20, .mode = S_IFCHR | 0620,
			   .rdev = 0x8801, .time = t0};
	char *json = NULL;
	size_t len;

	refuse(t, twin, "{\"op\":\"create\",\"dir\":1,\"name\":\"n\","
	       "\"ino\":9,\"mode\":8576,\"uid\":1,\"gid\":2,\"time\":1}",
	       -EBADMSG, "a device without rdev: not replayed");
	refuse(t, twin, "{\"op\":\"create\",\"dir\":1,\"name\":\"n\","
	       "\"ino\":9,\"mode\":4516,\"uid\":1,\"gid\":2,\"time\":1,"
	       "\"rdev\":3}",
	       -EBADMSG, "a fifo with rdev: not replayed");
	refuse(t, twin, "{\"op\":\"create\",\"dir\":1,\"name\":\"n\","
	       "\"ino\":9,\"mode\":33188,\"uid\":1,\"gid\":2,\"time\":1,"
	       "\"rdev\":0}",
	       -EBADMSG, "a file with rdev: not replayed");
	refuse(t, twin, "{\"op\":\"create\",\"dir\":1,\"name\":\"n\","
	       "\"ino\":9,\"mode\":25008,\"uid\":1,\"gid\":2,\"time\":1,"
	       "\"rdev\":-1}",
	       -EBADMSG, "a negative rdev: not replayed");
	is_int(record_encode(&r, &json, &len), 0, "a device's create: encoded");
	ok(json && strstr(json, "\"rdev\":34817"), "...with its rdev: %s",
	   json ? json : "");
	free(json);
	is_int(replay_rec(t, &r), 0, "...and replayed");
	struct inode *in = tree_get(t, 20);
	ok(in && in->mode == (S_IFCHR | 0620) && in->rdev == 0x8801 &&
		   in->size == 0 && in->nlink == 1,
	   "the tree holds a character device 136,1");

	r.mode = S_IFIFO | 0600;
	r.rdev = 0;
	r.name = "fifo";
	r.ino = 21;
	is_int(record_encode(&r, &json, &len), 0, "a fifo's create: encoded");
	ok(json && !strstr(json, "rdev"), "...without rdev: %s",
	   json ? json : "");
	free(json);
	r.rdev = 5;
	is_int(record_encode(&r, &json, &len), -EINVAL,
	       "a fifo with an rdev: not logged");
	r.mode = S_IFBLK | 0600;
	r.rdev = (uint64_t)INT64_MAX + 1;
	is_int(record_encode(&r, &json, &len), -EINVAL,
	       "an rdev past 2^63: not logged");

	/* A record as written before special files: still replays. */
	is_int(replay_str(twin, "{\"op\":\"create\",\"dir\":1,"
			  "\"name\":\"old\",\"ino\":30,\"mode\":33188,"
			  "\"uid\":1,\"gid\":2,\"time\":1}"),
	       0, "an old create (no rdev) replays");
	/* And a special file is an inode like any other: link, rename,
	 * chmod, unlink. */
	const char *const life[] = {
		"{\"op\":\"link\",\"ino\":20,\"dir\":2,\"name\":\"tty2\","
		"\"time\":9}",
		"{\"op\":\"rename\",\"dir\":1,\"name\":\"tty\",\"newdir\":1,"
		"\"newname\":\"tty1\",\"flags\":0,\"time\":10}",
		"{\"op\":\"setattr\",\"ino\":20,\"set\":7,\"mode\":384,"
		"\"uid\":7,\"gid\":8,\"atime\":0,\"mtime\":0,\"time\":11}",
		"{\"op\":\"unlink\",\"dir\":1,\"name\":\"tty1\","
		"\"rmdir\":false,\"time\":12}",
	};
	for (size_t i = 0; i < sizeof(life) / sizeof(*life); i++)
		is_int(replay_str(t, life[i]), 0, "special file: %.28s…",
		       life[i]);
	in = tree_get(t, 20);
	ok(in && in->nlink == 1 && in->mode == (S_IFCHR | 0600) &&
		   in->uid == 7 && in->gid == 8 && in->rdev == 0x8801 &&
		   tree_lookup(tree_get(t, 2), "tty2") &&
		   !tree_lookup(t->root, "tty1"),
	   "linked, renamed, chmod'ed, chown'ed, unlinked: one name left, "
	   "type and rdev kept");
	tree_free(t);
	tree_free(twin);
}


/* ---- append records (the append-friendly tail) ---- */

static void test_append_record(void)
{
	struct fs_tree *t = harness_tree(ROOT_UID, ROOT_GID, &t0);
	struct timespec t1 = ts(T0_SEC + 1, 5), t2 = ts(T0_SEC + 2, 6);
	struct record r = {.op = REC_CREATE, .dir = 1, .name = "uidlist",
			   .ino = 2, .mode = S_IFREG | 0600, .time = t1};
	is_int(replay_rec(t, &r), 0, "create the file appended to");
	r = (struct record){.op = REC_CONTENT, .ino = 2, .mtime = t1,
			    .time = t1, .content = some_ref(9, 100, 0)};
	is_int(replay_rec(t, &r), 0, "its content, 100 bytes");

	uint8_t data[RECORD_APPEND_MAX + 1];
	tap_fill_random(data, sizeof(data), 77);
	r = (struct record){.op = REC_APPEND, .ino = 2, .off = 100,
			    .data = data, .data_len = 80, .mtime = t2,
			    .time = t2};
	check_shape(&r, "data,ino,mtime,off,op,time", "append");

	/* The bytes come back exactly, from every value of a byte. */
	char *json;
	size_t len;
	struct record back;
	struct record_text tb;
	is_int(record_encode(&r, &json, &len), 0, "append: encoded");
	is_int(record_decode((const uint8_t *)json, len, &back, &tb), 0,
	       "append: decoded");
	ok(back.op == REC_APPEND && back.ino == 2 && back.off == 100 &&
		   back.data_len == 80 && back.data &&
		   !memcmp(back.data, data, 80) && ts_eq(back.mtime, t2) &&
		   ts_eq(back.time, t2),
	   "append: ino, off, the 80 bytes and the times round-trip");
	ok(!memmem(json, len, data, 8), "append: the bytes are not raw in "
					"the text (base64url)");
	record_text_done(&tb);
	free(json);

	struct inode *f = tree_get(t, 2);
	is_int(replay_rec(t, &r), 0, "append at the end");
	ok(f->size == 180 && f->content.size == 100 && ts_eq(f->mtime, t2) &&
		   ts_eq(f->ctime, t2),
	   "the size grows to 180, the content ref stays, the times set");
	r.off = 150;
	is_int(replay_rec(t, &r), 0, "append overlapping the end (a live "
				     "race with a seal): applies");
	is_int(f->size, 230, "…the size is its end");
	r.off = 10;
	is_int(replay_rec(t, &r), 0, "an append within the file");
	is_int(f->size, 230, "…leaves the size");
	r.off = 231;
	is_int(replay_rec(t, &r), -EINVAL, "an append past the end (a gap "
					   "no live write leaves): -EINVAL");
	is_int(f->size, 230, "…and changes nothing");
	r.off = 230;
	r.ino = 9;
	is_int(replay_rec(t, &r), -ESTALE, "an append to no inode: -ESTALE");
	r.ino = 1;
	is_int(replay_rec(t, &r), -EINVAL, "an append to a directory: "
					   "-EINVAL");

	/* What encode refuses, and replay too. */
	r.ino = 2;
	r.data_len = 0;
	is_int(record_encode(&r, &json, &len), -EINVAL, "no bytes: refused");
	r.data_len = RECORD_APPEND_MAX + 1;
	is_int(record_encode(&r, &json, &len), -EINVAL,
	       "more than RECORD_APPEND_MAX bytes: refused");
	r.data_len = RECORD_APPEND_MAX;
	is_int(record_encode(&r, &json, &len), 0,
	       "RECORD_APPEND_MAX bytes: encoded");
	free(json);
	r.data_len = 1;
	r.off = (uint64_t)INT64_MAX;
	is_int(record_encode(&r, &json, &len), -EOVERFLOW,
	       "an end past 2^63: refused");
	r.off = 0;
	r.data = NULL;
	is_int(record_encode(&r, &json, &len), -EINVAL, "no data: refused");
	const char *bad[] = {
		"{\"op\":\"append\",\"time\":1,\"ino\":2,\"off\":0,"
		"\"mtime\":1}",
		"{\"op\":\"append\",\"time\":1,\"ino\":2,\"off\":0,"
		"\"data\":\"\",\"mtime\":1}",
		"{\"op\":\"append\",\"time\":1,\"ino\":2,\"off\":0,"
		"\"data\":\"a+b/\",\"mtime\":1}",
		"{\"op\":\"append\",\"time\":1,\"ino\":2,\"off\":-1,"
		"\"data\":\"YWJj\",\"mtime\":1}",
		"{\"op\":\"append\",\"time\":1,\"ino\":2,\"off\":0,"
		"\"data\":42,\"mtime\":1}",
		"{\"op\":\"append\",\"time\":1,\"ino\":2,"
		"\"off\":9223372036854775807,\"data\":\"YWJj\",\"mtime\":1}",
	};
	const char *why[] = {"no data", "empty data", "not base64url",
			     "a negative off", "data not a string",
			     "an end past 2^63"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(replay_str(t, bad[i]), -EBADMSG, "replay refuses %s",
		       why[i]);
	/* Longer than RECORD_APPEND_MAX once decoded. */
	size_t n64 = sodium_base64_ENCODED_LEN(
		RECORD_APPEND_MAX + 3, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *b64 = malloc(n64), *big = malloc(n64 + 128);
	if (!b64 || !big)
		harness_bail("malloc");
	sodium_bin2base64(b64, n64, data, RECORD_APPEND_MAX + 1,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(big, n64 + 128,
		 "{\"op\":\"append\",\"time\":1,\"ino\":2,\"off\":0,"
		 "\"data\":\"%s\",\"mtime\":1}",
		 b64);
	is_int(replay_str(t, big), -EBADMSG,
	       "replay refuses more than RECORD_APPEND_MAX bytes");
	free(b64);
	free(big);
	is_int(f->size, 230, "nothing refused changed the file");
	tree_free(t);
}

int main(void)
{
	if (seal_init() != 0)
		harness_bail("seal_init");
	test_merge_record();
	test_key_wiped();
	test_shapes();
	test_round_trips();
	test_release_fn();
	test_encode_refuses();
	test_malformed();
	test_create_modes();
	test_special_records();
	test_append_record();
	for (unsigned seed = 1; seed <= SEEDS; seed++)
		determinism(seed);
	return tap_done();
}
