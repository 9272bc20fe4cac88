/* tests/unit/test_manifest.c — the tree as sealed directory nodes
 * (fs/model/manifest.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/keys.h"
#include "crypto/seal.h"
#include "fs/model/maildir.h"
#include "fs/model/manifest.h"
#include "fs/model/object.h"
#include "fs/model/tree.h"
#include "ipfs/blockstore.h"
#include "ipfs/bs_fault.h"
#include "ipfs/bs_local.h"
#include "tests/memscan.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define DELIVERY_DIR_FILES 5000
#define BIG_DIR_FILES 100000
#define CHUNK 1024
#define FANOUT 4

static struct mailbox_keys keys;
static struct obj_store st;
static struct obj_ref contents[8]; /* fake file contents, sealed once */
static const struct timespec now = {1700000000, 123456789};

static void make_contents(void)
{
	uint8_t buf[CHUNK * 20];
	for (int i = 0; i < 6; i++) {
		struct chunk_ref c;
		size_t len = (size_t)i * 97 + 1;
		tap_fill_random(buf, len, 100 + (uint64_t)i);
		if (obj_seal_chunk(&st, buf, len, &c) != 0)
			abort();
		contents[i].cid = c.cid;
		memcpy(contents[i].key, c.key, IPMD_KEY_BYTES);
		contents[i].size = c.size;
		contents[i].depth = 0;
	}
	/* Two levels of index: depth 2. */
	{
		struct obj_writer *w;
		tap_fill_random(buf, sizeof(buf), 7);
		if (obj_writer_new(&st, &w) != 0 ||
		    obj_writer_write(w, buf, sizeof(buf)) != 0 ||
		    obj_writer_finish(w, &contents[6]) != 0)
			abort();
	}
	memset(&contents[7], 0, sizeof(contents[7])); /* empty file */
}

/* ---- building trees ---- */

static struct inode *mk(struct fs_tree *t, struct inode *dir,
			const char *name, uint32_t mode, const char *target,
			uint64_t ino)
{
	struct tree_new_inode spec = {.mode = mode, .uid = 1000 + (ino % 3),
				      .gid = 100, .target = target, .ino = ino};
	struct inode *in = NULL;
	int rc = tree_create(t, dir, name, &spec, &now, &in);
	if (rc != 0) {
		tap_diag("tree_create %s: %d", name, rc);
		abort();
	}
	return in;
}

static struct inode *mkfile(struct fs_tree *t, struct inode *dir,
			    const char *name, int content, uint64_t ino)
{
	struct inode *in = mk(t, dir, name, S_IFREG | 0600, NULL, ino);
	in->content = contents[content];
	in->size = contents[content].size;
	tree_inode_changed(t, in);
	return in;
}

static struct inode *mkdir_(struct fs_tree *t, struct inode *dir,
			    const char *name, uint64_t ino)
{
	return mk(t, dir, name, S_IFDIR | 0700, NULL, ino);
}

static void maildir(struct fs_tree *t, struct inode *at, uint64_t ino,
		    struct inode **cur, struct inode **new_)
{
	*cur = mkdir_(t, at, "cur", ino);
	*new_ = mkdir_(t, at, "new", ino + 1);
	mkdir_(t, at, "tmp", ino + 2);
}

/*
 * A small Maildir++ with every kind of entry.  reverse builds the same
 * final state in another order (the inos are given, the times all "now"),
 * so the sealed bytes must not depend on insertion order.
 */
static struct fs_tree *sample_tree(bool reverse)
{
	struct fs_tree *t;
	struct inode *root, *cur, *new_, *sent, *scur, *snew, *deep, *f;
	char name[64];

	t = harness_tree(1000, 100, &now);
	root = t->root;
	if (!reverse) {
		maildir(t, root, 10, &cur, &new_);
		sent = mkdir_(t, root, ".Sent", 20);
		maildir(t, sent, 21, &scur, &snew);
	} else {
		sent = mkdir_(t, root, ".Sent", 20);
		maildir(t, sent, 21, &scur, &snew);
		maildir(t, root, 10, &cur, &new_);
	}
	mkfile(t, sent, "maildirfolder", 7, 30);
	for (int i = 0; i < 12; i++) {
		int k = reverse ? 11 - i : i;
		snprintf(name, sizeof(name), "17000000%02d.M1P%dQ1.host:2,S", k,
			 k);
		mkfile(t, cur, name, k % 7, 100 + (uint64_t)k);
	}
	f = mkfile(t, new_, "1700000100.M2P2.host", 6, 200);
	if (tree_link(t, f, scur, "1700000100.M2P2.host:2,S", &now) != 0 ||
	    tree_link(t, f, root, "hardlink", &now) != 0)
		abort();
	mkfile(t, root, "dovecot-uidlist", 3, 40);
	mkfile(t, root, "empty", 7, 41);
	mk(t, root, "link", S_IFLNK | 0777, "cur/target with spaces", 42);
	mk(t, root, "badlink", S_IFLNK | 0777, "\xff\xfe not utf-8", 43);
	mkfile(t, root, "caf\xc3\xa9 \"quoted\" \\ back", 2, 44);
	mkfile(t, root, "raw \x80\x81 bytes", 1, 45);
	mkfile(t, root, "ctl\x01\x1f\n\t\b\f\r\x7f\xe2\x80\xa8", 0, 47);
	mkdir_(t, root, "emptydir", 46);
	deep = root;
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		deep = mkdir_(t, deep, name, 50 + (uint64_t)i);
	}
	mkfile(t, deep, "leaf", 4, 60);
	/* Times to the nanosecond, before the epoch too, and odd modes. */
	f->mtime = (struct timespec){-1, 999999999};
	f->atime = (struct timespec){-100000, 1};
	f->ctime = (struct timespec){4000000000LL, 7};
	tree_inode_changed(t, f);
	root->mode = S_IFDIR | 0750;
	root->mtime = (struct timespec){1600000000, 42};
	return t;
}

/* ---- comparing trees ---- */

/* The first ten differences same_tree finds are told. */
static struct harness_diffs mismatches = {.max = 10, .label = "mismatch"};
#define diff(...) harness_differ(&mismatches, __VA_ARGS__)

static bool same_ts(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static void cmp_inode(struct fs_tree *tb, const char *name,
		      const struct inode *a, const struct inode *b)
{
	if (a->ino != b->ino || a->mode != b->mode || a->uid != b->uid ||
	    a->gid != b->gid || a->nlink != b->nlink)
		diff("%s: ino/mode/uid/gid/nlink %llu/%o/%u/%u/%u vs "
		     "%llu/%o/%u/%u/%u",
		     name, (unsigned long long)a->ino, a->mode, a->uid, a->gid,
		     a->nlink, (unsigned long long)b->ino, b->mode, b->uid,
		     b->gid, b->nlink);
	if (tree_get(tb, a->ino) != b)
		diff("%s: not the one inode of its ino", name);
	if (!same_ts(a->mtime, b->mtime) || !same_ts(a->ctime, b->ctime) ||
	    !same_ts(a->atime, b->atime))
		diff("%s: times", name);
	if (S_ISREG(a->mode)) {
		if (a->content.size != b->content.size ||
		    a->content.depth != b->content.depth ||
		    !cid_equal(&a->content.cid, &b->content.cid) ||
		    memcmp(a->content.key, b->content.key, IPMD_KEY_BYTES) ||
		    b->size != a->content.size)
			diff("%s: content", name);
	} else if (S_ISLNK(a->mode)) {
		if (!a->target || !b->target || strcmp(a->target, b->target) ||
		    a->size != b->size)
			diff("%s: target", name);
	} else if (a->size != b->size) {
		diff("%s: size", name);
	}
	if (a->rdev != b->rdev)
		diff("%s: rdev %llu vs %llu", name,
		     (unsigned long long)a->rdev, (unsigned long long)b->rdev);
}

static void cmp_dir(struct fs_tree *tb, const struct inode *a,
		    const struct inode *b)
{
	const struct dir *da = a->dir, *db = b->dir;

	if (!db) {
		diff("ino %llu: not a directory", (unsigned long long)a->ino);
		return;
	}
	if (da->count != db->count || da->subdirs != db->subdirs)
		diff("ino %llu: count %u/%u subdirs %u/%u",
		     (unsigned long long)a->ino, da->count, db->count,
		     da->subdirs, db->subdirs);
	for (uint32_t i = 0; i < da->nbuckets; i++) {
		for (const struct dirent *e = da->buckets[i]; e;
		     e = e->hash_next) {
			struct dirent *f =
				tree_lookup((struct inode *)b, e->name);
			if (!f) {
				diff("missing %s", e->name);
				continue;
			}
			cmp_inode(tb, e->name, e->inode, f->inode);
			if (S_ISDIR(e->inode->mode))
				cmp_dir(tb, e->inode, f->inode);
		}
	}
}

static int same_tree(struct fs_tree *a, struct fs_tree *b)
{
	mismatches.n = 0;
	cmp_inode(b, "/", a->root, b->root);
	cmp_dir(b, a->root, b->root);
	if (a->ninodes != b->ninodes)
		diff("inode counts %llu vs %llu",
		     (unsigned long long)a->ninodes,
		     (unsigned long long)b->ninodes);
	return mismatches.n == 0;
}

static bool clean(struct fs_tree *t)
{
	return t->dirty_dirs == NULL;
}

static int seal_load(struct fs_tree *t, struct chunk_ref *ref,
		     struct fs_tree **out)
{
	int rc = manifest_seal(t, &st, ref);
	if (rc != 0)
		return rc;
	return manifest_load(&st, ref, t->next_ino, out);
}

/*
 * The block's JSON is exactly what jansson writes (compact, keys sorted):
 * parse it with jansson, write it back, compare the bytes.
 */
static bool jansson_canonical(const struct chunk_ref *ref)
{
	uint8_t *sealed = malloc(BLOCK_MAX_BYTES);
	uint8_t *plain = malloc(BLOCK_MAX_BYTES);
	size_t len = 0, plen = 0;
	char *again = NULL;
	json_t *j = NULL;
	bool same = false;

	if (sealed && plain &&
	    bs_get(st.bs, &ref->cid, sealed, BLOCK_MAX_BYTES, &len) == 0 &&
	    seal_open(plain, &plen, sealed, len, BLOCK_DIRECTORY, ref->key) ==
		    0 &&
	    (j = json_loadb((const char *)plain, plen, JSON_REJECT_DUPLICATES,
			    NULL)) &&
	    (again = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)))
		same = strlen(again) == plen && memcmp(again, plain, plen) == 0;
	if (!same && again)
		tap_diag("ours:    %.*s\njansson: %s",
			 (int)(plen < 300 ? plen : 300), (const char *)plain,
			 again);
	free(again);
	json_decref(j);
	free(sealed);
	free(plain);
	return same;
}

/* ---- tests ---- */

static void test_round_trip(void)
{
	struct fs_tree *t = sample_tree(false), *u = NULL;
	struct fs_tree *r = sample_tree(true);
	struct chunk_ref ref, ref2, ref3, ref4;
	uint64_t before, m = 0, f = 0;

	is_int(seal_load(t, &ref, &u), 0, "sample tree sealed and loaded");
	ok(clean(t), "no dirty directory left after sealing");
	ok(u && clean(u), "the loaded tree is clean");
	ok(u && same_tree(t, u), "loaded tree equals the original");
	is_int(u ? u->next_ino : 0, t->next_ino, "next_ino from the commit");
	{
		struct dirent *e = u ? tree_lookup(u->root, "hardlink") : NULL;
		struct dirent *g = u ? tree_lookup(u->root, "new") : NULL;
		struct dirent *h =
			g ? tree_lookup(g->inode, "1700000100.M2P2.host")
			  : NULL;
		ok(e && h && e->inode == h->inode && e->inode->nlink == 3,
		   "hard links joined into one inode, nlink 3");
	}
	ok(jansson_canonical(&ref),
	   "root node: jansson's own compact sorted bytes");
	{
		struct inode *cur = tree_lookup(t->root, "cur")->inode;
		ok(jansson_canonical(&cur->dir->shards.node),
		   "directory node: jansson's bytes");
	}
	maildir_count(t, &m, &f);
	is_int(m, 14, "14 messages (12 cur, 1 new, 1 .Sent/cur)");
	is_int(f, 1, "one folder");
	if (u) {
		maildir_count(u, &m, &f);
		is_int(m, 14, "loaded: the same messages");
		is_int(f, 1, "loaded: the same folders");
	}

	before = harness_block_count(st.bs);
	is_int(manifest_seal(t, &st, &ref2), 0, "sealed again, unchanged");
	ok(cid_equal(&ref.cid, &ref2.cid), "same root CID");
	is_int(harness_block_count(st.bs), before, "no new block");
	if (u) {
		is_int(manifest_seal(u, &st, &ref3), 0, "loaded tree sealed");
		ok(cid_equal(&ref.cid, &ref3.cid), "same root CID after load");
	}
	is_int(manifest_seal(r, &st, &ref4), 0, "same tree built backwards");
	ok(cid_equal(&ref.cid, &ref4.cid),
	   "same root CID whatever the insertion order");
	is_int(harness_block_count(st.bs), before, "still no new block");

	/* A chmod in a deep directory re-seals the path up to the root. */
	{
		struct inode *d = tree_lookup(t->root, "d0")->inode;
		d->mode = S_IFDIR | 0755;
		tree_inode_changed(t, d);
		before = harness_block_count(st.bs);
		is_int(manifest_seal(t, &st, &ref2), 0, "chmod sealed");
		is_int(harness_block_count(st.bs), before + 1,
		       "only the root node is new");
		ok(!cid_equal(&ref.cid, &ref2.cid), "root CID changed");
		d = tree_lookup(d, "d1")->inode;
		d = tree_lookup(d, "d2")->inode;
		mkfile(t, d, "new leaf", 5, 0);
		before = harness_block_count(st.bs);
		is_int(manifest_seal(t, &st, &ref2), 0, "deep change sealed");
		is_int(harness_block_count(st.bs), before + 4,
		       "d2, d1, d0 and the root are new");
	}
	tree_free(u);
	u = NULL;
	is_int(manifest_load(&st, &ref2, t->next_ino, &u), 0, "loaded again");
	ok(u && same_tree(t, u), "equal after the changes");
	tree_free(u);
	tree_free(t);
	tree_free(r);
}

static void test_empty(void)
{
	struct fs_tree *t, *u = NULL;
	struct chunk_ref ref;

	t = harness_tree(5, 6, &now);
	is_int(seal_load(t, &ref, &u), 0, "empty tree sealed and loaded");
	ok(u && same_tree(t, u), "empty tree equal");
	ok(u && u->root->uid == 5 && u->root->gid == 6,
	   "root owner from the node");
	tree_free(u);
	u = NULL;

	/* No dirty mark tracks the root's own attributes (it has no entry):
	 * a chmod of the mount point alone still reaches the next commit. */
	{
		struct chunk_ref ref2;
		t->root->mode = S_IFDIR | 0700;
		t->root->ctime.tv_nsec = 1;
		is_int(seal_load(t, &ref2, &u), 0, "root chmod sealed");
		ok(!cid_equal(&ref.cid, &ref2.cid), "a new root node");
		ok(u && same_tree(t, u), "with the new mode");
		tree_free(u);
	}
	tree_free(t);
}

static struct inode *big_dir(struct fs_tree *t, const char *name, int n,
			     uint64_t ino0)
{
	struct inode *d = mkdir_(t, t->root, name, 0);
	char fname[96];
	for (int i = 0; i < n; i++) {
		snprintf(fname, sizeof(fname),
			 "%d.M%dP%d.mail.example.org,S=%d,W=%d:2,S",
			 1700000000 + i, i * 7, 4000 + i, 1000 + i, 1020 + i);
		mkfile(t, d, fname, i % 6, ino0 ? ino0 + (uint64_t)i : 0);
	}
	return d;
}

static void test_delivery(void)
{
	struct fs_tree *t, *u = NULL;
	struct inode *cur;
	struct chunk_ref ref, ref2, ref3;
	uint64_t before;

	t = harness_tree(0, 0, &now);
	cur = big_dir(t, "cur", DELIVERY_DIR_FILES, 0);
	is_int(t->shard_threshold, MANIFEST_SHARD_THRESHOLD, "real threshold");
	is_int(manifest_seal(t, &st, &ref), 0, "5,000 files sealed");
	ok(cur->dir->shards.count >= 8, "sharded into %u shards",
	   cur->dir->shards.count);
	ok(jansson_canonical(&cur->dir->shards.node) &&
		   jansson_canonical(&cur->dir->shards.refs[0]) &&
		   jansson_canonical(&ref),
	   "sharded node, a shard and the root: jansson's bytes");

	before = harness_block_count(st.bs);
	mkfile(t, cur, "1800000000.new.delivery:2,", 1, 0);
	is_int(manifest_seal(t, &st, &ref2), 0, "one delivery sealed");
	tap_diag("one delivery wrote %llu blocks",
		 (unsigned long long)(harness_block_count(st.bs) - before));
	ok(harness_block_count(st.bs) - before <= 3 &&
		   harness_block_count(st.bs) - before >= 2,
	   "one delivery writes a shard, the node and the root only");

	is_int(manifest_load(&st, &ref2, t->next_ino, &u), 0, "loaded");
	ok(u && same_tree(t, u), "loaded equals the original");
	if (u) {
		struct inode *ucur = tree_lookup(u->root, "cur")->inode;
		is_int(ucur->dir->shards.count, cur->dir->shards.count,
		       "loaded directory keeps its shard count");
		/* The loaded tree, too, re-seals one shard per delivery,
		 * and ends where the original does. */
		before = harness_block_count(st.bs);
		mkfile(t, cur, "1800000001.second:2,", 2, 0);
		mkfile(u, ucur, "1800000001.second:2,", 2, 0);
		is_int(manifest_seal(u, &st, &ref3), 0, "loaded tree sealed");
		ok(harness_block_count(st.bs) - before <= 3,
		   "loaded tree: one delivery writes at most 3 blocks");
		is_int(manifest_seal(t, &st, &ref2), 0, "original sealed");
		ok(cid_equal(&ref2.cid, &ref3.cid),
		   "both end at the same root CID");
	}
	tree_free(u);
	tree_free(t);
}

static void test_reshard(void)
{
	struct fs_tree *t, *u;
	struct inode *d;
	char name[32];
	const uint32_t want[] = {1, 4, 16, 64};
	const int sizes[] = {4, 16, 64, 200};
	int have = 0, n_ok = 0;

	t = harness_tree(0, 0, &now);
	t->shard_threshold = 4; /* small, to walk through several layouts */
	d = mkdir_(t, t->root, "grow", 0);
	for (int step = 0; step < 4; step++) {
		struct chunk_ref ref;
		for (; have < sizes[step]; have++) {
			snprintf(name, sizeof(name), "m%05d", have);
			mkfile(t, d, name, have % 7, 0);
		}
		u = NULL;
		if (seal_load(t, &ref, &u) == 0 && u && same_tree(t, u) &&
		    d->dir->shards.count == want[step])
			n_ok++;
		else
			tap_diag("step %d: %u shards", step,
				 d->dir->shards.count);
		tree_free(u);
	}
	is_int(n_ok, 4, "1 → 4 → 16 → 64 shards, each loads back equal");

	/* Shrinking: below an eighth of the capacity. */
	for (int i = 0; i < 190; i++) {
		struct inode *in;
		snprintf(name, sizeof(name), "m%05d", i);
		in = tree_lookup(d, name)->inode;
		if (tree_unlink(t, d, name, false, &now) != 0)
			abort();
		tree_release(t, in);
	}
	{
		struct chunk_ref ref;
		u = NULL;
		is_int(seal_load(t, &ref, &u), 0, "shrunk and loaded");
		ok(d->dir->shards.count < 64, "shard count shrank to %u",
		   d->dir->shards.count);
		ok(u && same_tree(t, u), "shrunk directory loads back equal");
		tree_free(u);
	}
	tree_free(t);
}

static void test_oversize(void)
{
	struct fs_tree *t, *u = NULL;
	struct inode *d;
	static char target[TREE_SYMLINK_MAX + 1];
	char name[32];
	struct chunk_ref ref;

	t = harness_tree(0, 0, &now);
	d = mkdir_(t, t->root, "links", 0);
	/* 300 entries, far below the threshold, but over a megabyte. */
	for (int i = 0; i < 300; i++) {
		memset(target, 'a' + i % 26, TREE_SYMLINK_MAX);
		snprintf(name, sizeof(name), "l%03d", i);
		mk(t, d, name, S_IFLNK | 0777, target, 0);
	}
	is_int(seal_load(t, &ref, &u), 0,
	       "a directory over one block is split anyway");
	ok(d->dir->shards.count > 1, "into %u shards", d->dir->shards.count);
	ok(u && same_tree(t, u), "and loads back equal");
	tree_free(u);
	tree_free(t);
}

static void test_retry(void)
{
	struct fs_tree *t = sample_tree(false), *clean_t = sample_tree(false);
	struct fault_config cfg = {0};
	struct blockstore *local, *faulty;
	struct obj_store fst = st;
	struct chunk_ref ref, want;
	int rc = -1, tries = 0, failures = 0;

	local = harness_local_store("faulty");
	cfg.fail_rate[FAULT_PUT] = 0.3;
	cfg.error = -EIO;
	cfg.seed = 3;
	if (bs_fault_wrap(local, &cfg, &faulty) != 0)
		abort();
	fst.bs = faulty;
	while (rc != 0 && tries++ < 200) {
		rc = manifest_seal(t, &fst, &ref);
		if (rc != 0)
			failures++;
		if (rc != 0 && rc != -EIO)
			break;
	}
	is_int(rc, 0, "sealed through a store failing 30%% of puts");
	ok(failures > 0, "after %d failed attempts", failures);
	is_int(manifest_seal(clean_t, &st, &want), 0, "clean store sealed");
	ok(cid_equal(&ref.cid, &want.cid), "retries end at the same root");
	{
		struct fs_tree *u = NULL;
		/* From the faulty store (gets never fail): every block the
		 * retried seal points at made it there. */
		is_int(manifest_load(&fst, &ref, t->next_ino, &u), 0,
		       "the result loads");
		ok(u && same_tree(t, u), "and equals the tree");
		tree_free(u);
	}
	bs_close(faulty);
	tree_free(t);
	tree_free(clean_t);

	{
		struct obj_store ro = st;
		struct fs_tree *r = sample_tree(false);
		ro.convergence = NULL;
		is_int(manifest_seal(r, &ro, &ref), -EROFS,
		       "no convergence secret: -EROFS");
		ok(!clean(r), "the tree stays dirty");
		tree_free(r);
	}
}

static void flip_block(const struct cid *cid)
{
	char path[PATH_MAX];
	uint8_t b;
	int fd;

	if (bs_local_path(st.bs, cid, path, sizeof(path)) != 0)
		abort();
	fd = open(path, O_RDWR);
	if (fd < 0 || pread(fd, &b, 1, 40) != 1)
		abort();
	b ^= 0x10;
	if (pwrite(fd, &b, 1, 40) != 1)
		abort();
	close(fd);
}

static void test_tamper(void)
{
	struct fs_tree *t, *u = NULL;
	struct inode *cur;
	struct chunk_ref ref, shard;
	uint32_t i = 0;

	t = harness_tree(0, 0, &now);
	cur = big_dir(t, "cur", 1500, 0);
	is_int(manifest_seal(t, &st, &ref), 0, "sealed");
	while (i < cur->dir->shards.count && !cur->dir->shards.refs[i].cid.len)
		i++;
	shard = cur->dir->shards.refs[i];

	flip_block(&shard.cid);
	is_int(manifest_load(&st, &ref, t->next_ino, &u), -EBADMSG,
	       "a flipped byte in a shard: -EBADMSG");
	ok(u == NULL, "no tree returned");
	flip_block(&shard.cid);
	is_int(manifest_load(&st, &ref, t->next_ino, &u), 0, "restored: loads");
	tree_free(u);
	u = NULL;

	flip_block(&cur->dir->shards.node.cid);
	is_int(manifest_load(&st, &ref, t->next_ino, &u), -EBADMSG,
	       "a flipped byte in a directory node: -EBADMSG");
	flip_block(&cur->dir->shards.node.cid);
	flip_block(&ref.cid);
	is_int(manifest_load(&st, &ref, t->next_ino, &u), -EBADMSG,
	       "a flipped byte in the root node: -EBADMSG");
	flip_block(&ref.cid);

	is_int(manifest_load(&st, &ref, t->next_ino - 1, &u), -EBADMSG,
	       "next_ino too small: -EBADMSG");
	{
		struct chunk_ref wrong = ref;
		wrong.key[0] ^= 1;
		is_int(manifest_load(&st, &wrong, t->next_ino, &u), -EBADMSG,
		       "wrong key: -EBADMSG");
	}
	is_int(bs_remove(st.bs, &shard.cid), 0, "shard removed");
	is_int(manifest_load(&st, &ref, t->next_ino, &u), -ENOENT,
	       "a missing shard: -ENOENT");
	ok(u == NULL, "no tree returned");
	tree_free(t);
}

/* A load that fails part-way (its last shard is missing) leaves no shard's
 * node key behind in memory: the copies it made of the node's refs are
 * wiped before they are freed, as everywhere else keys are. */
static void test_failed_load_wipes_keys(void)
{
	struct fs_tree *t, *u = NULL;
	struct inode *cur;
	struct chunk_ref ref;
	struct memscan_hit hits[4];
	uint8_t masked[IPMD_KEY_BYTES];
	uint32_t last = 0, first = UINT32_MAX;
	uint64_t next_ino;

	t = harness_tree(0, 0, &now);
	cur = big_dir(t, "wipe", 1400, 0);
	is_int(manifest_seal(t, &st, &ref), 0, "wipe: sealed");
	for (uint32_t i = 0; i < cur->dir->shards.count; i++) {
		if (!cur->dir->shards.refs[i].cid.len)
			continue;
		if (first == UINT32_MAX)
			first = i;
		last = i;
	}
	ok(first < last, "wipe: at least two shards");
	memscan_mask(masked, cur->dir->shards.refs[first].key,
		     IPMD_KEY_BYTES);
	is_int(bs_remove(st.bs, &cur->dir->shards.refs[last].cid), 0,
	       "wipe: last shard removed");
	next_ino = t->next_ino;
	tree_free(t); /* wipes its own refs */
	is_int(memscan(masked, sizeof(masked), hits, 4), 0,
	       "wipe: the first shard's key is gone with the tree");
	is_int(manifest_load(&st, &ref, next_ino, &u), -ENOENT,
	       "wipe: the load fails at the missing shard");
	is_int(memscan(masked, sizeof(masked), hits, 4), 0,
	       "wipe: after the failed load its key is nowhere in memory");
	sodium_memzero(masked, sizeof(masked));
}

/* ---- crafted nodes ---- */

static struct chunk_ref craft(const char *text)
{
	size_t len = strlen(text);
	uint8_t *sealed = malloc(len + IPMD_SEAL_OVERHEAD);
	struct chunk_ref r;

	memset(&r, 0, sizeof(r));
	if (!sealed ||
	    seal_convergent(sealed, r.key, (const uint8_t *)text, len,
			    BLOCK_DIRECTORY, st.convergence) != 0 ||
	    bs_put(st.bs, sealed, len + IPMD_SEAL_OVERHEAD, 0, &r.cid) != 0)
		abort();
	free(sealed);
	r.size = len;
	return r;
}

/* "cid":"…","key":"…" of a ref, for splicing into JSON. */
static void ref_text(const struct chunk_ref *r, char *out, size_t cap)
{
	char cid[CID_TEXT_MAX], key[64];
	cid_format(&r->cid, cid, sizeof(cid));
	sodium_bin2base64(key, sizeof(key), r->key, IPMD_KEY_BYTES, B64);
	snprintf(out, cap, "\"cid\":\"%s\",\"key\":\"%s\"", cid, key);
}

#define SELF                                                                  \
	"\"self\":{\"ino\":1,\"mode\":16877,\"uid\":0,\"gid\":0,\"size\":0,"  \
	"\"mtime\":5,\"ctime\":6,\"atime\":7}"
#define ATTRS(ino, mode, size)                                                \
	"\"ino\":" #ino ",\"mode\":" #mode ",\"uid\":1,\"gid\":2,\"size\":"   \
	#size ",\"mtime\":1,\"ctime\":2,\"atime\":3"
/* 33152 = S_IFREG|0600, 16832 = S_IFDIR|0700, 41471 = S_IFLNK|0777. */
#define FILE0(name, ino) "{\"name\":\"" name "\"," ATTRS(ino, 33152, 0) "}"
#define ENTRY_A(ino, mode, size)                                              \
	"{\"name\":\"a\"," ATTRS(ino, mode, size) "}"
#define DIRENT(name, ino, ref)                                                \
	"{\"name\":\"" name "\"," ATTRS(ino, 16832, 0) ",%s}"

static int load_text(const char *root_text, uint64_t next_ino)
{
	struct chunk_ref r = craft(root_text);
	struct fs_tree *u = NULL;
	int rc = manifest_load(&st, &r, next_ino, &u);
	if (rc == 0 && !u)
		rc = -1000;
	tree_free(u);
	return rc;
}

/* A root node holding entries (a JSON list's inside), loaded. */
static int load_entries(const char *entries)
{
	char *text = harness_alloc(strlen(entries) + 512);
	sprintf(text, "{\"v\":1,%s,\"entries\":[%s]}", SELF, entries);
	int rc = load_text(text, 1000);
	free(text);
	return rc;
}

static void bad_root(const char *entries, const char *what)
{
	is_int(load_entries(entries), -EBADMSG, "%s", what);
}

static void good_root(const char *entries, const char *what)
{
	is_int(load_entries(entries), 0, "%s", what);
}

/* Whole root nodes, and what loading them with next_ino gives. */
static const struct {
	const char *text;
	uint64_t next_ino;
	int want;
	const char *what;
} crafted_roots[] = {
	{"{\"v\":1," SELF ",\"entries\":[]}", 2, 0,
	 "a minimal crafted root loads (the harness is right)"},
	{"{\"v\":1,\"entries\":[]}", 2, -EBADMSG, "root without self"},
	{"{\"v\":2," SELF ",\"entries\":[]}", 2, -EBADMSG, "v 2"},
	{"{\"v\":1," SELF ",\"entries\":{}}", 2, -EBADMSG,
	 "entries an object"},
	{"{\"v\":1," SELF ",\"entries\":[],\"x\":0}", 2, -EBADMSG,
	 "an extra member"},
	{"[]", 2, -EBADMSG, "an array"},
	{"{\"v\":1,", 2, -EBADMSG, "not JSON"},
	{"{\"v\":1,\"self\":{\"ino\":2,\"mode\":16877,\"uid\":0,\"gid\":0,"
	 "\"size\":0,\"mtime\":5,\"ctime\":6,\"atime\":7},\"entries\":[]}",
	 9, -EBADMSG, "self with ino 2"},
	{"{\"v\":1,\"self\":{\"ino\":1,\"mode\":33152,\"uid\":0,\"gid\":0,"
	 "\"size\":0,\"mtime\":5,\"ctime\":6,\"atime\":7},\"entries\":[]}",
	 9, -EBADMSG, "self not a directory"},
	{"{\"v\":1," SELF ",\"entries\":[]}", 1, -EBADMSG, "next_ino 1"},
	{"", 2, -EBADMSG, "an empty block"},
	{"{\"v\":1," SELF ",\"entries\":[]} x", 2, -EBADMSG,
	 "trailing bytes after the object"},
	{"{\"v\":1," SELF ",\"entries\":[],}", 2, -EBADMSG,
	 "a trailing comma"},
	{"{\"v\":1," SELF ",\"v\":1,\"entries\":[]}", 2, -EBADMSG,
	 "a duplicate member"},
};

/* Entries of a root node, and whether it loads (0) or is refused. */
static const struct {
	const char *entries;
	int want;
	const char *what;
} crafted_entries[] = {
	{FILE0("a", 2) "," FILE0("b", 3), 0, "two files load"},
	{FILE0("a", 2) "," FILE0("b", 2), 0, "a hard link loads"},
	{FILE0("a", 2) "," FILE0("a", 3), -EBADMSG, "duplicate names"},
	{FILE0("b", 2) "," FILE0("a", 3), -EBADMSG, "names out of order"},
	{FILE0(".", 2), -EBADMSG, "\".\" as a name"},
	{FILE0("..", 2), -EBADMSG, "\"..\" as a name"},
	{FILE0("a/b", 2), -EBADMSG, "a slash in a name"},
	{FILE0("", 2), -EBADMSG, "an empty name"},
	{"{\"name\":\"a\",\"bname\":\"YQ\"," ATTRS(2, 33152, 0) "}", -EBADMSG,
	 "name and bname"},
	{"{\"bname\":\"YQBi\"," ATTRS(2, 33152, 0) "}", -EBADMSG,
	 "a NUL inside bname"},
	{"{\"bname\":\"_w\"," ATTRS(2, 33152, 0) "}", 0,
	 "a bname of a non-UTF-8 byte loads"},
	{"{\"name\":7," ATTRS(2, 33152, 0) "}", -EBADMSG, "name a number"},
	{"{\"name\":\"a\",\"ino\":\"2\",\"mode\":33152,\"uid\":1,\"gid\":2,"
	 "\"size\":0,\"mtime\":1,\"ctime\":2,\"atime\":3}",
	 -EBADMSG, "ino a string"},
	{ENTRY_A(2, 33152.0, 0), -EBADMSG, "mode a real"},
	{ENTRY_A(2, 33152, -1), -EBADMSG, "negative size"},
	{"{\"name\":\"a\",\"ino\":2,\"mode\":33152,\"uid\":4294967296,"
	 "\"gid\":2,\"size\":0,\"mtime\":1,\"ctime\":2,\"atime\":3}",
	 -EBADMSG, "uid past 32 bits"},
	{"{\"name\":\"a\",\"ino\":2,\"mode\":33152,\"uid\":1,\"gid\":2,"
	 "\"size\":0,\"mtime\":\"1\",\"ctime\":2,\"atime\":3}",
	 -EBADMSG, "mtime a string"},
	{"{\"name\":\"a\",\"ino\":2,\"mode\":33152,\"uid\":1,\"gid\":2,"
	 "\"size\":0,\"ctime\":2,\"atime\":3}",
	 -EBADMSG, "mtime missing"},
	{"{\"name\":\"a\"," ATTRS(2, 33152, 0) ",\"x\":1}", -EBADMSG,
	 "an unknown member"},
	{ENTRY_A(2, 4480, 0), -EBADMSG, "a fifo"},
	{ENTRY_A(2, 98688, 0), -EBADMSG, "mode with bits beyond the type"},
	{ENTRY_A(0, 33152, 0), -EBADMSG, "ino 0"},
	{ENTRY_A(1, 33152, 0), -EBADMSG, "ino 1 (the root)"},
	{ENTRY_A(1000, 33152, 0), -EBADMSG, "ino not below next_ino"},
	{"[1]", -EBADMSG, "an entry not an object"},
	/* Files. */
	{"{\"name\":\"f\"," ATTRS(2, 33152, 97) "}", -EBADMSG,
	 "size without content"},
	{"{\"name\":\"f\"," ATTRS(2, 33152, 97)
	 ",\"cid\":\"bafy\",\"key\":\"AAAA\",\"depth\":0}",
	 -EBADMSG, "a bad cid and key"},
	/* Directories and symlinks. */
	{"{\"name\":\"d\"," ATTRS(2, 16832, 0) "}", -EBADMSG,
	 "a directory without its node"},
	{"{\"name\":\"l\"," ATTRS(2, 41471, 1) "}", -EBADMSG,
	 "a symlink without target"},
	{"{\"name\":\"l\"," ATTRS(2, 41471, 5) ",\"target\":\"abc\"}",
	 -EBADMSG, "a symlink whose size is not its target's"},
	{"{\"name\":\"l\"," ATTRS(2, 41471, 3) ",\"target\":\"abc\"}", 0,
	 "a symlink loads"},
	{"{\"name\":\"l\"," ATTRS(2, 41471, 0) ",\"target\":\"\"}", -EBADMSG,
	 "an empty target"},
	{FILE0("a", 2) ",{\"name\":\"b\"," ATTRS(2, 41471, 3)
		       ",\"target\":\"abc\"}",
	 -EBADMSG, "a file and a symlink with one ino"},
	/* Names: any well-formed JSON string, nothing else. */
	{FILE0("\\u00e9\\ud83d\\ude00", 2), 0,
	 "\\u escapes and a surrogate pair load"},
	{FILE0("\\ud83d", 2), -EBADMSG, "a lone surrogate"},
	{FILE0("\\u0000", 2), -EBADMSG, "\\u0000 in a name"},
	{FILE0("\xff", 2), -EBADMSG, "raw bytes that are not UTF-8"},
	{FILE0("\xc0\xaf", 2), -EBADMSG, "an overlong UTF-8 form"},
	{FILE0("a\x01", 2), -EBADMSG, "a raw control character"},
	{FILE0("a\\q", 2), -EBADMSG, "an unknown escape"},
	{ENTRY_A(02, 33152, 0), -EBADMSG, "a leading zero"},
	{ENTRY_A(2e0, 33152, 0), -EBADMSG, "an exponent"},
	{ENTRY_A(9223372036854775808, 33152, 0), -EBADMSG,
	 "an integer past int64"},
};

static void test_crafted_entries(void)
{
	char ref[256], buf[2048], file_ref[256], longname[300];
	struct chunk_ref empty = craft("{\"entries\":[],\"v\":1}");
	struct chunk_ref content;

	ref_text(&empty, ref, sizeof(ref));
	content.cid = contents[1].cid;
	memcpy(content.key, contents[1].key, IPMD_KEY_BYTES);
	ref_text(&content, file_ref, sizeof(file_ref));

	for (size_t i = 0; i < sizeof(crafted_roots) / sizeof(*crafted_roots);
	     i++)
		is_int(load_text(crafted_roots[i].text,
				 crafted_roots[i].next_ino),
		       crafted_roots[i].want, "%s", crafted_roots[i].what);
	for (size_t i = 0;
	     i < sizeof(crafted_entries) / sizeof(*crafted_entries); i++)
		is_int(load_entries(crafted_entries[i].entries),
		       crafted_entries[i].want, "%s", crafted_entries[i].what);

	/* Entries made around a ref or a name. */
	snprintf(buf, sizeof(buf), DIRENT("d", 2, ref), ref);
	good_root(buf, "a subdirectory loads");
	snprintf(buf, sizeof(buf),
		 "{\"name\":\"f\"," ATTRS(2, 33152, 97) ",%s,\"depth\":0}",
		 file_ref);
	good_root(buf, "a file with content loads");
	memset(longname, 'x', 256);
	longname[256] = '\0';
	snprintf(buf, sizeof(buf), FILE0("%s", 2), longname);
	bad_root(buf, "a 256-byte name");
	snprintf(buf, sizeof(buf),
		 "{\"name\":\"f\"," ATTRS(2, 33152, 0) ",%s,\"depth\":0}",
		 file_ref);
	bad_root(buf, "content with size 0");
	snprintf(buf, sizeof(buf),
		 "{\"name\":\"f\"," ATTRS(2, 33152, 97) ",%s,\"depth\":65}",
		 file_ref);
	bad_root(buf, "depth 65");
	snprintf(buf, sizeof(buf),
		 "{\"name\":\"f\"," ATTRS(2, 33152, 97) ",%s}", file_ref);
	bad_root(buf, "depth missing");
	snprintf(buf, sizeof(buf),
		 "{\"name\":\"f\"," ATTRS(2, 33152, 97)
		 ",%.*s,\"key\":\"AAAA\",\"depth\":0}",
		 (int)(strstr(file_ref, ",\"key\"") - file_ref), file_ref);
	bad_root(buf, "a 3-byte key");
	snprintf(buf, sizeof(buf), "{\"name\":\"d\"," ATTRS(2, 16832, 0)
		 ",%s,\"target\":\"x\"}", ref);
	bad_root(buf, "a directory with a target");
	snprintf(buf, sizeof(buf), DIRENT("d", 2, ref) "," DIRENT("e", 2, ref),
		 ref, ref);
	bad_root(buf, "two names for one directory");
	snprintf(buf, sizeof(buf), DIRENT("d", 2, ref) "," FILE0("e", 2), ref);
	bad_root(buf, "a file and a directory with one ino");
	{
		struct chunk_ref missing = content;
		char mref[256];
		missing.cid = contents[0].cid;
		missing.cid.bytes[10] ^= 1;
		ref_text(&missing, mref, sizeof(mref));
		snprintf(buf, sizeof(buf), DIRENT("d", 2, ref), mref);
		is_int(load_entries(buf), -ENOENT,
		       "a subdirectory whose node is missing: -ENOENT");
	}
	/* Any well-formed JSON of the right shape reads: spacing, key order,
	 * escapes; anything else does not. */
	{
		struct chunk_ref r = craft(
			" {\n \"v\" : 1 , \"entries\" : [ {\"name\":\"l\","
			"\"target\":\"a\\/b\"," ATTRS(3, 41471, 3) "} , "
			"{\"size\":0,"
			"\"name\":\"\\u00e9\\ud83d\\ude00\",\"ino\":2,"
			"\"mode\":33152,\"uid\":1,\"gid\":2,\"mtime\":-1,"
			"\"ctime\":2,\"atime\":3}] ,\t" SELF " } \r\n");
		struct fs_tree *u = NULL;
		struct dirent *e;
		is_int(manifest_load(&st, &r, 4, &u), 0,
		       "spaced, unsorted JSON with escapes loads");
		e = u ? tree_lookup(u->root, "\xc3\xa9\xf0\x9f\x98\x80")
		      : NULL;
		ok(e && e->inode->mtime.tv_sec == -1 &&
			   e->inode->mtime.tv_nsec == 999999999,
		   "the name unescaped, a negative time floored");
		e = u ? tree_lookup(u->root, "l") : NULL;
		ok(e && e->inode->target && !strcmp(e->inode->target, "a/b"),
		   "the target unescaped");
		tree_free(u);
	}

	/* A directory node sealed as a chunk does not open as a node. */
	{
		const char *text = "{\"v\":1," SELF ",\"entries\":[]}";
		struct chunk_ref c;
		struct fs_tree *u = NULL;
		if (obj_seal_chunk(&st, (const uint8_t *)text, strlen(text),
				   &c) != 0)
			abort();
		is_int(manifest_load(&st, &c, 2, &u), -EBADMSG,
		       "a chunk is not a directory node");
	}
}

/*
 * A root node of `shards` shards whose refs list is refs with each A and B
 * standing for {a} and {b} (the refs of two crafted shards), tail after
 * it, loaded with next_ino 10.
 */
static int load_sharded(unsigned shards, const char *refs, const char *tail,
			const char *a, const char *b)
{
	char list[2048] = "", text[4096];
	for (const char *p = refs; *p; p++) {
		size_t n = strlen(list);
		const char *ref = *p == 'A' ? a : *p == 'B' ? b : NULL;
		if (ref)
			snprintf(list + n, sizeof(list) - n, "{%s}", ref);
		else
			snprintf(list + n, sizeof(list) - n, "%c", *p);
	}
	snprintf(text, sizeof(text),
		 "{\"v\":1," SELF ",\"shards\":%u,\"refs\":[%s]%s}", shards,
		 list, tail);
	return load_text(text, 10);
}

/* Shard `shard` of `of` holding one file, name with ino; its ref's text
 * (ref_text) in ref[256]. */
static void craft_shard(unsigned shard, unsigned of, const char *name,
			uint64_t ino, char ref[256])
{
	char text[512];
	snprintf(text, sizeof(text),
		 "{\"v\":1,\"shard\":%u,\"of\":%u,\"entries\":["
		 "{\"name\":\"%s\",\"ino\":%llu,\"mode\":33152,\"uid\":1,"
		 "\"gid\":2,\"size\":0,\"mtime\":1,\"ctime\":2,\"atime\":3}]}",
		 shard, of, name, (unsigned long long)ino);
	struct chunk_ref r = craft(text);
	ref_text(&r, ref, 256);
}

/* Sharded roots over two good shards: A in shard 0, B in shard 1. */
static const struct {
	unsigned shards;
	const char *refs, *tail;
	int want;
	const char *what;
} sharded[] = {
	{2, "A,B", "", 0, "a crafted sharded root loads"},
	{2, "A,null", "", 0, "a null (empty) shard loads"},
	{2, "B,A", "", -EBADMSG, "shards swapped: -EBADMSG"},
	{2, "A,A", "", -EBADMSG, "a shard twice: -EBADMSG"},
	{3, "A,B,null", "", -EBADMSG, "3 shards: -EBADMSG"},
	{1, "A", "", -EBADMSG, "1 shard: -EBADMSG"},
	{8192, "A", "", -EBADMSG, "8192 shards: -EBADMSG"},
	{2, "A", "", -EBADMSG, "refs too short: -EBADMSG"},
	{2, "A,7", "", -EBADMSG, "a ref a number: -EBADMSG"},
	{2, "A,B", ",\"entries\":[]", -EBADMSG, "refs and entries: -EBADMSG"},
};

static void test_crafted_shards(void)
{
	char buf[8192], r0[256], r1[256], *p;
	struct chunk_ref self_ref;
	const char *names[2] = {NULL, NULL};
	static char cand[64][16];

	/* Two names falling into shards 0 and 1 of 2. */
	for (int i = 0; i < 64 && (!names[0] || !names[1]); i++) {
		snprintf(cand[i], sizeof(cand[i]), "n%d", i);
		uint32_t s = tree_shard_of(tree_name_hash(cand[i],
							  strlen(cand[i])),
					   2);
		if (!names[s])
			names[s] = cand[i];
	}
	craft_shard(0, 2, names[0], 2, r0);
	craft_shard(1, 2, names[1], 3, r1);

	for (size_t i = 0; i < sizeof(sharded) / sizeof(*sharded); i++)
		is_int(load_sharded(sharded[i].shards, sharded[i].refs,
				    sharded[i].tail, r0, r1),
		       sharded[i].want, "%s", sharded[i].what);

	/* Shard blocks that lie about themselves. */
	craft_shard(1, 2, names[0], 2, r1);
	is_int(load_sharded(2, "null,B", "", r0, r1), -EBADMSG,
	       "an entry in the wrong shard: -EBADMSG");
	craft_shard(0, 4, names[0], 2, r1);
	is_int(load_sharded(2, "B,null", "", r0, r1), -EBADMSG,
	       "a shard of 4 in a node of 2");

	/* Cycles: a subdirectory pointing at an ancestor's node. */
	{
		struct chunk_ref a1, b;
		struct chunk_ref empty = craft("{\"entries\":[],\"v\":1}");
		char e[256], ra[256], rb[256];
		ref_text(&empty, e, sizeof(e));
		snprintf(buf, sizeof(buf),
			 "{\"v\":1,\"entries\":[" DIRENT("d", 2, e) "]}", e);
		a1 = craft(buf);
		ref_text(&a1, ra, sizeof(ra));
		snprintf(buf, sizeof(buf),
			 "{\"v\":1,\"entries\":[" DIRENT("back", 3, ra) "]}",
			 ra);
		b = craft(buf);
		ref_text(&b, rb, sizeof(rb));
		snprintf(buf, sizeof(buf),
			 "{\"v\":1," SELF ",\"entries\":[" DIRENT("d", 2,
								   rb) "]}",
			 rb);
		is_int(load_text(buf, 10), -EBADMSG,
		       "a directory cycle through an older node: -EBADMSG");
		snprintf(buf, sizeof(buf),
			 "{\"v\":1," SELF ",\"entries\":[" DIRENT("d", 4,
								   ra) "]}",
			 ra);
		is_int(load_text(buf, 10), 0,
		       "the same nodes without the cycle load");
	}
	/* A subdirectory pointing at a root node (it has "self"). */
	p = buf;
	snprintf(buf, sizeof(buf), "{\"v\":1," SELF ",\"entries\":[]}");
	self_ref = craft(p);
	ref_text(&self_ref, r0, sizeof(r0));
	snprintf(buf, sizeof(buf),
		 "{\"v\":1," SELF ",\"entries\":[" DIRENT("d", 2, r0) "]}", r0);
	is_int(load_text(buf, 10), -EBADMSG,
	       "a subdirectory whose node is a root: -EBADMSG");
}

static void test_big(void)
{
	struct fs_tree *t, *u = NULL;
	struct chunk_ref ref, ref2;
	struct timespec a, b, c, d;
	uint64_t before, m = 0, f = 0;
	int rc;

	t = harness_tree(0, 0, &now);
	big_dir(t, "cur", BIG_DIR_FILES, 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	is_int(manifest_seal(t, &st, &ref), 0, "100,000 files sealed");
	clock_gettime(CLOCK_MONOTONIC, &b);
	rc = manifest_load(&st, &ref, t->next_ino, &u);
	clock_gettime(CLOCK_MONOTONIC, &c);
	is_int(rc, 0, "100,000 files loaded");
	ok(u && same_tree(t, u), "loaded equals the original");
	tap_diag("100,000 files: first seal %.3f s, load %.3f s",
		 (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
		 (double)(c.tv_sec - b.tv_sec) + (c.tv_nsec - b.tv_nsec) / 1e9);
	if (u) {
		struct inode *cur = tree_lookup(u->root, "cur")->inode;
		before = harness_block_count(st.bs);
		clock_gettime(CLOCK_MONOTONIC, &c);
		mkfile(u, cur, "1800000000.one.more:2,", 1, 0);
		is_int(manifest_seal(u, &st, &ref2), 0, "one more sealed");
		clock_gettime(CLOCK_MONOTONIC, &d);
		ok(harness_block_count(st.bs) - before <= 3,
		   "one delivery: %llu blocks",
		   (unsigned long long)(harness_block_count(st.bs) - before));
		tap_diag("100,000 files: one delivery re-sealed in %.4f s",
			 (double)(d.tv_sec - c.tv_sec) +
				 (d.tv_nsec - c.tv_nsec) / 1e9);
		clock_gettime(CLOCK_MONOTONIC, &c);
		maildir_count(u, &m, &f);
		clock_gettime(CLOCK_MONOTONIC, &d);
		is_int(m, BIG_DIR_FILES + 1, "all messages counted");
		tap_diag("maildir_count: %.6f s",
			 (double)(d.tv_sec - c.tv_sec) +
				 (d.tv_nsec - c.tv_nsec) / 1e9);
	}
	tree_free(u);
	tree_free(t);
}

/* A directory block's plaintext, NUL-terminated (the caller frees). */
static char *block_text(const struct chunk_ref *ref)
{
	uint8_t *sealed = harness_alloc(BLOCK_MAX_BYTES);
	char *plain = harness_alloc(BLOCK_MAX_BYTES + 1);
	size_t len = 0, plen = 0;
	if (bs_get(st.bs, &ref->cid, sealed, BLOCK_MAX_BYTES, &len) != 0 ||
	    seal_open((uint8_t *)plain, &plen, sealed, len, BLOCK_DIRECTORY,
		      ref->key) != 0)
		harness_bail("block_text");
	plain[plen] = '\0';
	free(sealed);
	return plain;
}

/* A root node of version v holding entries, loaded. */
static int load_entries_v(int v, const char *entries)
{
	char *text = harness_alloc(strlen(entries) + 512);
	sprintf(text, "{\"v\":%d,%s,\"entries\":[%s]}", v, SELF, entries);
	int rc = load_text(text, 1000);
	free(text);
	return rc;
}

/*
 * Special files (FIFOs, sockets, devices) round trip with their type,
 * mode and rdev, hard links included; the block holding one is version 2,
 * every other block still version 1 (the bytes of a tree without special
 * files do not change); a version 1 block with a special entry, a version
 * 2 one without, and malformed special entries are refused.
 */
static void test_special_entries(void)
{
	struct fs_tree *t = harness_tree(1000, 100, &now), *u = NULL;
	struct inode *dev = mkdir_(t, t->root, "dev", 2);
	struct chunk_ref ref;
	struct tree_new_inode spec = {.uid = 7, .gid = 8};
	const struct {
		const char *name;
		uint32_t mode;
		uint64_t rdev;
	} kinds[] = {
		{"fifo", S_IFIFO | 0644, 0},
		{"sock", S_IFSOCK | 0755, 0},
		{"null", S_IFCHR | 0666, 0x103},   /* 1,3 */
		{"loop0", S_IFBLK | 0660, 0x700},  /* 7,0 */
		{"big", S_IFCHR | 0600, 0xfff0fffffULL}, /* big major, minor */
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++) {
		spec.mode = kinds[i].mode;
		spec.rdev = kinds[i].rdev;
		spec.ino = 10 + i;
		is_int(tree_create(t, dev, kinds[i].name, &spec, &now, NULL), 0,
		       "tree_create %s", kinds[i].name);
	}
	is_int(tree_link(t, tree_get(t, 10), t->root, "fifo-link", &now), 0,
	       "a hard link to the fifo, in another directory");
	mkfile(t, t->root, "plain", 1, 30);

	is_int(seal_load(t, &ref, &u), 0, "sealed and loaded");
	ok(u && same_tree(t, u), "the same tree: types, modes, rdevs, links");
	struct inode *big = u ? tree_get(u, 14) : NULL;
	ok(big && big->rdev == 0xfff0fffffULL && S_ISCHR(big->mode),
	   "a device number past 32 bits kept");
	char *root = block_text(&ref);
	ok(strstr(root, "\"v\":2}") != NULL,
	   "the root (a hard link to the fifo) is version 2");
	free(root);
	char *devtext = block_text(&dev->dir->shards.node);
	ok(jansson_canonical(&dev->dir->shards.node),
	   "the special entries are what jansson writes");
	ok(strstr(devtext, "\"rdev\":259,\"size\":0") &&
		   strstr(devtext, "\"v\":2}"),
	   "a device's rdev between name and size, version 2");
	free(devtext);
	tree_free(u);
	u = NULL;

	/* Without special files, version 1 as ever. */
	is_int(tree_unlink(t, t->root, "fifo-link", false, &now), 0,
	       "the link to the fifo removed");
	is_int(seal_load(t, &ref, &u), 0, "sealed again");
	root = block_text(&ref);
	ok(strstr(root, "\"v\":1}") && !strstr(root, "rdev"),
	   "the root, special files gone, is version 1 again");
	free(root);
	tree_free(u);
	tree_free(t);

#define SPECIAL(mode, extra)                                                  \
	"{\"name\":\"a\"," ATTRS(5, mode, 0) extra "}"
	/* 12708 = 0030644 (no type); 4516 = S_IFIFO|0644, 8576 = S_IFCHR|0600, 25008 = S_IFBLK|0660,
	 * 49645 = S_IFSOCK|0755. */
	is_int(load_entries_v(2, SPECIAL(4516, "")), 0, "v2: a fifo loads");
	is_int(load_entries_v(2, SPECIAL(49645, "")), 0, "v2: a socket loads");
	is_int(load_entries_v(2, SPECIAL(8576, ",\"rdev\":0")), 0,
	       "v2: a character device 0,0 loads");
	is_int(load_entries_v(1, SPECIAL(4516, "")), -EBADMSG,
	       "v1 with a special entry: refused");
	is_int(load_entries_v(2, FILE0("a", 5)), -EBADMSG,
	       "v2 without one: refused");
	is_int(load_entries_v(2, SPECIAL(8576, "")), -EBADMSG,
	       "a device without rdev: refused");
	is_int(load_entries_v(2, SPECIAL(25008, ",\"rdev\":-1")), -EBADMSG,
	       "a negative rdev: refused");
	is_int(load_entries_v(2, SPECIAL(4516, ",\"rdev\":1")), -EBADMSG,
	       "a fifo with rdev: refused");
	is_int(load_entries_v(1, FILE0("a", 5) ",{\"name\":\"b\","
			      ATTRS(6, 33152, 0) ",\"rdev\":1}"),
	       -EBADMSG, "a file with rdev: refused");
	is_int(load_entries_v(2, "{\"name\":\"a\"," ATTRS(5, 4516, 3) "}"),
	       -EBADMSG, "a fifo of size 3: refused");
	is_int(load_entries_v(2, "{\"name\":\"a\"," ATTRS(5, 12708, 0)
			      "}"),
	       -EBADMSG, "type bits naming no type: refused");
#undef SPECIAL
}

int main(void)
{
	harness_seal_init();
	harness_keys(&keys, 42);
	st.convergence = keys.convergence;
	st.chunk_size = CHUNK;
	st.fanout = FANOUT;
	st.bs = harness_local_store("store");
	make_contents();

	test_round_trip();
	test_empty();
	test_delivery();
	test_reshard();
	test_oversize();
	test_retry();
	test_tamper();
	test_failed_load_wipes_keys();
	test_crafted_entries();
	test_crafted_shards();
	test_special_entries();
	test_big();

	bs_close(st.bs);
	keys_free(&keys);
	return tap_done();
}
