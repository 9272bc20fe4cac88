/* test_cache_file: local cache files (fs/mount/cache_file.h,
 * fs/mount/cache_class.h): pages against a plain buffer, tampering, the
 * name list and which records skip the journal. */
#include "fs/mount/cache_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/format.h"
#include "fs/model/maildir.h"
#include "fs/model/merge.h"
#include "fs/model/record.h"
#include "fs/model/tree.h"
#include "fs/mount/cache_class.h"
#include "fs/mount/cache_keep.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

#define MAXSIZE (5 * CACHE_PAGE + 123)

static uint8_t key[IPMD_KEY_BYTES];

/* Random writes and truncates against a plain buffer. */
static void test_random_io(struct cache_dir *d)
{
	struct cache_file *f;
	is_int(cache_file_new(d, &f), 0, "a new cache file");
	uint8_t *ref = harness_alloc(MAXSIZE), *got = harness_alloc(MAXSIZE);
	uint8_t *data = harness_alloc(MAXSIZE);
	uint64_t size = 0;
	int bad = 0;
	srand(15);
	for (int step = 0; step < 400 && !bad; step++) {
		uint64_t off = (uint64_t)rand() % (MAXSIZE - 1);
		if (rand() % 5 == 0) {
			uint64_t ns = off;
			if (cache_file_truncate(f, size, ns) != 0)
				bad = 1;
			if (ns > size)
				memset(ref + size, 0, ns - size);
			size = ns;
			continue;
		}
		size_t len = (size_t)rand() % (2 * CACHE_PAGE + 10) + 1;
		if (off + len > MAXSIZE)
			len = MAXSIZE - off;
		tap_fill_random(data, len, (uint64_t)step);
		if (cache_file_write(f, off, data, len) != 0)
			bad = 2;
		if (off > size)
			memset(ref + size, 0, off - size);
		memcpy(ref + off, data, len);
		if (off + len > size)
			size = off + len;
		size_t n = 0;
		if (cache_file_read(f, size, 0, got, MAXSIZE, &n) != 0 ||
		    n != size || memcmp(got, ref, size) != 0)
			bad = 3;
		/* And a read from anywhere, of any length. */
		uint64_t at = (uint64_t)rand() % (size + 1);
		size_t want = (size_t)rand() % (3 * CACHE_PAGE);
		size_t exp = at + want > size ? (size_t)(size - at) : want;
		if (cache_file_read(f, size, at, got, want, &n) != 0 ||
		    n != exp || memcmp(got, ref + at, n) != 0)
			bad = 4;
	}
	is_int(bad, 0, "400 random writes and truncates read back as a "
	       "plain buffer, whole and from anywhere (cuts and holes read "
	       "as zeros)");
	size_t n = 0;
	is_int(cache_file_read(f, size, size + 10, got, 10, &n), 0,
	       "a read past the end");
	is_int((long long)n, 0, "... gives nothing");
	cache_file_unref(f);
	free(ref);
	free(got);
	free(data);
}

/* A cache file's descriptor, for looking at its disk bytes: the newest
 * unnamed file the test process holds directly in dir.  The kernel names
 * a descriptor's file by its canonical path, so dir is made canonical
 * (once) before the comparison: TMPDIR may hold "..", "." or a symlink. */
static int newest_fd(const char *dir)
{
	char canon[PATH_MAX];
	if (!realpath(dir, canon))
		harness_bail("realpath %s", dir);
	size_t len = strlen(canon);
	int found = -1;
	for (int fd = 3; fd < 1024; fd++) {
		char link[64], target[PATH_MAX + 16];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, canon, len) == 0 && target[len] == '/' &&
		    !strchr(target + len + 1, '/') &&
		    strstr(target, "(deleted)"))
			found = fd;
	}
	return found;
}

static void test_sealed(struct cache_dir *d, const char *dir)
{
	struct cache_file *f;
	is_int(cache_file_new(d, &f), 0, "a second cache file");
	static const char mark[] = "Subject: a header in the clear";
	uint8_t page[CACHE_PAGE];
	for (size_t i = 0; i + sizeof(mark) <= sizeof(page); i += sizeof(mark))
		memcpy(page + i, mark, sizeof(mark));
	is_int(cache_file_write(f, 0, page, sizeof(page)), 0, "one page");
	int fd = newest_fd(dir);
	ok(fd >= 0, "its file is unnamed under the cache directory");
	uint8_t disk[2 * CACHE_PAGE];
	ssize_t n = pread(fd, disk, sizeof(disk), 0);
	is_int(n, CACHE_PAGE + 40, "a page is 4 KiB + nonce and tag on disk");
	ok(!memmem(disk, (size_t)n, "Subject", 7),
	   "no plaintext on disk");
	/* Flip one ciphertext byte: EIO, never other bytes. */
	uint8_t b = disk[100] ^ 1;
	ok(pwrite(fd, &b, 1, 100) == 1, "flip a byte on disk");
	size_t got = 0;
	is_int(cache_file_read(f, CACHE_PAGE, 0, page, 16, &got), -EIO,
	       "a flipped byte reads as EIO");
	b ^= 1;
	ok(pwrite(fd, &b, 1, 100) == 1, "flip it back");
	is_int(cache_file_read(f, CACHE_PAGE, 0, page, 16, &got), 0,
	       "and it reads again");
	/* A page of another file with the same key does not open here: the
	 * file id is in the associated data. */
	struct cache_file *g;
	is_int(cache_file_new(d, &g), 0, "a third cache file");
	is_int(cache_file_write(g, 0, page, 16), 0, "a page of it");
	int gfd = newest_fd(dir);
	uint8_t other[CACHE_PAGE + 40];
	ok(pread(gfd, other, sizeof(other), 0) == (ssize_t)sizeof(other) &&
	   pwrite(fd, other, sizeof(other), 0) == (ssize_t)sizeof(other),
	   "copy that page over the second file's");
	is_int(cache_file_read(f, CACHE_PAGE, 0, page, 16, &got), -EIO,
	       "a page moved between files reads as EIO");
	cache_file_unref(g);
	cache_file_unref(f);
}

static void test_names(void)
{
	static const char *yes[] = {
		"dovecot.index", "dovecot.index.log", "dovecot.index.log.2",
		"dovecot.index.cache", "dovecot.index.tmp",
		"dovecot.list.index", "dovecot.list.index.log",
		"dovecot.index.cache.lock",
	};
	static const char *no[] = {
		"dovecot-uidlist", "dovecot-keywords", "dovecot-uidlist.lock",
		"dovecot.indexx", "xdovecot.index", "dovecot.list", "subscriptions",
		"dovecot-uidvalidity", "1700000000.M1P2.host:2,S",
	};
	int bad = 0;
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
		bad += !maildir_is_index_name(yes[i]);
	is_int(bad, 0, "Dovecot's index names are cache names");
	bad = 0;
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
		bad += maildir_is_index_name(no[i]);
	is_int(bad, 0, "uidlist, keywords, messages and look-alikes are not");
}

static struct inode *mk(struct fs_tree *t, const char *name, uint32_t mode)
{
	struct tree_new_inode spec = {.mode = mode};
	struct timespec now = {1, 0};
	struct inode *i = NULL;
	if (tree_create(t, t->root, name, &spec, &now, &i) != 0)
		harness_bail("tree_create %s", name);
	return i;
}

/* cache_file_classify looking the source up, and given it as a caller
 * that looked it up (an unlink's, a rename's) does: both must agree. */
static int classify(struct fs_tree *t, struct record r, bool *first)
{
	*first = false;
	int c = cache_file_classify(t, &r, NULL, first);
	if (r.op != REC_UNLINK && r.op != REC_RENAME)
		return c;
	struct inode *d = tree_get(t, r.dir);
	struct dirent *e = d && d->dir ? tree_lookup(d, r.name) : NULL;
	bool given_first = false;
	if (e && (cache_file_classify(t, &r, e->inode, &given_first) != c ||
	     given_first != *first))
		return INT_MIN; /* fails the caller's is_int */
	return c;
}

static void test_classify(struct cache_file *cf)
{
	struct fs_tree *t;
	struct timespec now = {1, 0};
	if (tree_new(&t, 0, 0, &now) != 0)
		harness_bail("tree_new");
	struct inode *cache = mk(t, "dovecot.index.log", S_IFREG | 0600);
	cache->cache = cf;
	struct inode *old = mk(t, "dovecot.index", S_IFREG | 0600);
	struct inode *list = mk(t, "dovecot-uidlist", S_IFREG | 0600);
	(void)old;
	bool first;
	uint64_t root = TREE_ROOT_INO;
	is_int(classify(t, (struct record){.op = REC_CREATE, .dir = root,
		       .name = "dovecot.index.tmp", .mode = S_IFREG | 0600},
		       &first), 1, "creating a file under a cache name: local");
	is_int(classify(t, (struct record){.op = REC_CREATE, .dir = root,
		       .name = "dovecot.index.d", .mode = S_IFDIR | 0700},
		       &first), 0, "a directory under a cache name: journaled");
	is_int(classify(t, (struct record){.op = REC_CREATE, .dir = root,
		       .name = "dovecot-uidlist.lock", .mode = S_IFREG | 0600},
		       &first), 0, "dovecot-uidlist.lock: journaled");
	is_int(classify(t, (struct record){.op = REC_UNLINK, .dir = root,
		       .name = "dovecot.index.log"}, &first), 1,
	       "removing a cache file: local");
	is_int(classify(t, (struct record){.op = REC_UNLINK, .dir = root,
		       .name = "dovecot.index"}, &first), 0,
	       "removing an ordinary file under a cache name: journaled");
	is_int(classify(t, (struct record){.op = REC_RENAME, .dir = root,
		       .name = "dovecot.index.log", .newdir = root,
		       .newname = "elsewhere"}, &first), -EXDEV,
	       "a cache file renamed out of the cache names: EXDEV");
	is_int(classify(t, (struct record){.op = REC_RENAME, .dir = root,
		       .name = "dovecot.index.log", .newdir = root,
		       .newname = "dovecot.index"}, &first), 1,
	       "a cache file renamed over an ordinary one: local");
	ok(first, "... after the ordinary file's journaled removal");
	is_int(classify(t, (struct record){.op = REC_RENAME, .dir = root,
		       .name = "dovecot.index.log", .newdir = root,
		       .newname = "dovecot.index.log.2"}, &first), 1,
	       "a log rotation: local");
	ok(!first, "... with nothing to remove first");
	is_int(classify(t, (struct record){.op = REC_RENAME, .dir = root,
		       .name = "dovecot-uidlist", .newdir = root,
		       .newname = "dovecot.index.log"}, &first), 0,
	       "an ordinary file renamed over a cache file: journaled");
	is_int(classify(t, (struct record){.op = REC_RENAME, .dir = root,
		       .name = "dovecot-uidlist", .newdir = root,
		       .newname = "dovecot.index.log",
		       .flags = TREE_RENAME_EXCHANGE}, &first), -EXDEV,
	       "exchanging an ordinary file and a cache file: EXDEV");
	is_int(classify(t, (struct record){.op = REC_LINK, .ino = cache->ino,
		       .dir = root, .name = "x"}, &first), -EXDEV,
	       "a link to a cache file outside the names: EXDEV");
	is_int(classify(t, (struct record){.op = REC_SETATTR,
		       .ino = cache->ino}, &first), 1,
	       "a cache file's attributes: local");
	is_int(classify(t, (struct record){.op = REC_SETATTR,
		       .ino = list->ino}, &first), 0,
	       "dovecot-uidlist's attributes: journaled");
	cache->cache = NULL;
	tree_free(t);
}

static void free_cache_files(struct fs_tree *t)
{
	for (uint32_t b = 0; b < t->nbuckets; b++)
		for (struct inode *i = t->buckets[b]; i; i = i->hash_next) {
			cache_file_unref(i->cache);
			i->cache = NULL;
		}
}

/* A tree with a folder .X (a Maildir); with cache files in .X when cf. */
static struct fs_tree *folder_tree(struct cache_file *cf)
{
	struct fs_tree *t;
	struct timespec now = {1, 0};
	struct tree_new_inode dirspec = {.mode = S_IFDIR | 0700};
	struct inode *x = NULL, *sub = NULL;
	if (tree_new(&t, 0, 0, &now) != 0 ||
	    tree_create(t, t->root, ".X", &dirspec, &now, &x) != 0)
		harness_bail("folder_tree");
	for (int i = 0; i < 3; i++)
		if (tree_create(t, x, (const char *[]){"cur", "new", "tmp"}[i],
				&dirspec, &now, &sub) != 0)
			harness_bail("folder_tree: %d", i);
	if (!cf)
		return t;
	struct tree_new_inode filespec = {.mode = S_IFREG | 0600};
	const char *names[] = {"dovecot.index", "dovecot.index.log"};
	for (int i = 0; i < 2; i++) {
		struct inode *f = NULL;
		if (tree_create(t, x, names[i], &filespec, &now, &f) != 0)
			harness_bail("folder_tree: %s", names[i]);
		f->cache = cache_file_ref(cf);
	}
	return t;
}

static unsigned released_caches;

static void release_cache(struct inode *inode, void *arg)
{
	struct fs_tree *t = arg;
	if (inode->cache)
		released_caches++;
	cache_file_unref(inode->cache);
	inode->cache = NULL;
	tree_release(t, inode);
}

/* The other device deleted folder .X; here .X holds only cache files:
 * they go with it, and the folder does not come back. */
static void test_merge_rmdir(struct cache_file *cf)
{
	struct fs_tree *base = folder_tree(NULL), *local = folder_tree(cf);
	struct fs_tree *remote;
	struct timespec now = {2, 0};
	struct merge_plan p;
	if (tree_new(&remote, 0, 0, &now) != 0)
		harness_bail("tree_new");
	is_int(merge_plan(base, local, remote, &now, &p), 0,
	       "a merge of a folder deleted there");
	size_t failed = cache_merge_apply(local, &p, release_cache, local);
	is_int(failed, 0, "every record applies over a folder of cache files");
	ok(!tree_lookup(local->root, ".X"), "the folder is gone here too");
	is_int(released_caches, 2, "its two cache files went with it");
	merge_plan_free(&p);

	/* A folder holding anything else keeps its cache files. */
	struct fs_tree *t = folder_tree(cf);
	struct inode *x = tree_lookup(t->root, ".X")->inode;
	struct record r = {.op = REC_UNLINK, .dir = x->ino, .name = "cur",
			   .rmdir = true, .time = now};
	is_int(cache_files_drop_for(t, &(struct record){.op = REC_UNLINK,
					   .dir = TREE_ROOT_INO, .name = ".X",
					   .rmdir = true, .time = now},
				    release_cache, t),
	       0, "a folder holding more than cache files keeps them");
	is_int(record_apply(t, &r, NULL, NULL), 0, "(its cur/ removed)");
	is_int(cache_files_drop_for(t, &(struct record){.op = REC_UNLINK,
					   .dir = TREE_ROOT_INO, .name = ".X",
					   .rmdir = false, .time = now},
				    release_cache, t),
	       0, "an unlink is no rmdir: nothing dropped");
	free_cache_files(t);
	tree_free(t);
	tree_free(base);
	tree_free(local);
	tree_free(remote);
}


/* A clean unmount's catalog: back for the same head and generation only,
 * each file whole; a damaged catalog or another head keeps nothing. */
static void test_keep(struct cache_dir *d, const char *dir)
{
	struct fs_tree *t;
	struct timespec now = {1, 0};
	if (tree_new(&t, 0, 0, &now) != 0)
		harness_bail("tree_new");
	(void)mk(t, "dovecot-uidlist", S_IFREG | 0600);
	struct inode *log = mk(t, "dovecot.index.log", S_IFREG | 0600);
	struct inode *two = mk(t, "dovecot.index.cache", S_IFREG | 0600);
	uint8_t data[3 * CACHE_PAGE + 7];
	tap_fill_random(data, sizeof(data), 99);
	if (cache_file_new(d, &log->cache) || cache_file_new(d, &two->cache) ||
	    cache_file_write(log->cache, 0, data, sizeof(data)) ||
	    cache_file_write(two->cache, 0, data, 10))
		harness_bail("cache files");
	log->size = sizeof(data);
	two->size = 10;
	log->mtime = (struct timespec){12345, 678};
	uint64_t log_ino = log->ino;
	struct cid head;
	cid_of_raw_block(&head, (const uint8_t *)"head", 4);
	is_int(cache_keep_save(d, t, &head, 7), 2, "two cache files kept");
	free_cache_files(t);
	tree_free(t);

	/* The same mailbox again: the root and dovecot-uidlist. */
	struct fs_tree *u;
	if (tree_new(&u, 0, 0, &now) != 0)
		harness_bail("tree_new");
	(void)mk(u, "dovecot-uidlist", S_IFREG | 0600);
	u->next_ino = log_ino + 2;
	is_int(cache_keep_restore(d, u, &head, 7), 2, "both come back");
	struct dirent *e = tree_lookup(u->root, "dovecot.index.log");
	struct inode *back = e ? e->inode : NULL;
	ok(back && back->cache && back->ino == log_ino &&
	   back->size == sizeof(data) && back->mtime.tv_sec == 12345 &&
	   back->mtime.tv_nsec == 678,
	   "under their names, numbers, sizes and times");
	uint8_t got[sizeof(data)];
	size_t n = 0;
	ok(back && cache_file_read(back->cache, back->size, 0, got,
				   sizeof(got), &n) == 0 &&
	   n == sizeof(data) && memcmp(got, data, n) == 0,
	   "with their bytes");
	struct cid other;
	cid_of_raw_block(&other, (const uint8_t *)"other", 5);
	is_int(cache_keep_save(d, u, &head, 7), 2, "kept again");
	free_cache_files(u);
	tree_free(u);
	if (tree_new(&u, 0, 0, &now) != 0)
		harness_bail("tree_new");
	u->next_ino = log_ino + 2;
	is_int(cache_keep_restore(d, u, &other, 7), 0,
	       "another head takes none back");
	is_int(cache_keep_restore(d, u, &head, 7), 0,
	       "and the catalog was used up");
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", dir);
	is_int(system(cmd), 0, "nothing named is left in the cache directory");
	tree_free(u);
}

/* A cache directory neither the daemon's nor the store owner's is refused before
 * anything is swept from it or written to it: a symlink (to a directory
 * whose files a sweep would remove), a group-writable directory; and the
 * catalog is never written through a symlink. */
static void test_unsafe(struct cache_dir *d, const char *dir)
{
	char root[4096], target[4096], cache[4200], victim[4200];
	snprintf(root, sizeof(root), "%s", harness_path("linked"));
	snprintf(target, sizeof(target), "%s", harness_path("elsewhere"));
	snprintf(cache, sizeof(cache), "%s/%s", root, CACHE_DIR_NAME);
	snprintf(victim, sizeof(victim), "%s/precious", target);
	ok(mkdir(root, 0700) == 0 && mkdir(target, 0700) == 0 &&
	   symlink(target, cache) == 0, "a store whose cache is a symlink");
	int vfd = open(victim, O_CREAT | O_WRONLY, 0600);
	ok(vfd >= 0 && close(vfd) == 0, "… to a directory holding a file");
	struct cache_dir *x = NULL;
	int e = cache_dir_open(root, key, &x);
	ok(e == -ELOOP || e == -ENOTDIR, "cache_dir_open refuses it (%d)", e);
	if (x) {
		cache_dir_sweep(x, NULL, 0);
		cache_dir_close(x);
	}
	ok(access(victim, F_OK) == 0, "… and the file there is left alone");

	snprintf(root, sizeof(root), "%s", harness_path("shared"));
	snprintf(cache, sizeof(cache), "%s/%s", root, CACHE_DIR_NAME);
	ok(mkdir(root, 0700) == 0 && mkdir(cache, 0700) == 0 &&
	   chmod(cache, 0770) == 0, "a store whose cache is group-writable");
	x = NULL;
	is_int(cache_dir_open(root, key, &x), -EPERM,
	       "cache_dir_open refuses it: -EPERM");
	cache_dir_close(x);
	if (geteuid() == 0) {
		ok(chmod(cache, 0700) == 0 && chown(cache, 4242, 4242) == 0,
		   "a cache directory of a third user");
		x = NULL;
		is_int(cache_dir_open(root, key, &x), -EPERM,
		       "cache_dir_open refuses it: -EPERM");
		cache_dir_close(x);
		/* A root daemon serving a user's store (fstab): the cache the
		 * user's own mounts made is the store owner's, like the rest. */
		ok(chown(root, 4242, 4242) == 0,
		   "… the store itself that user's");
		x = NULL;
		is_int(cache_dir_open(root, key, &x), 0,
		       "cache_dir_open takes the store owner's directory");
		cache_dir_close(x);
	}

	char link[4200];
	snprintf(link, sizeof(link), "%s/%s", dir, CACHE_CATALOG_NAME);
	ok(symlink(victim, link) == 0, "the catalog's name a symlink");
	is_int(cache_dir_put_sealed(d, CACHE_CATALOG_NAME,
				    (const uint8_t *)"x", 1),
	       -ELOOP, "writing the catalog does not follow it: -ELOOP");
	struct stat st;
	ok(stat(victim, &st) == 0 && st.st_size == 0,
	   "… the file it names is untouched");
	unlink(link);
}

int main(void)
{
	harness_seal_init();
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 29 + 15);
	const char *root = harness_path("store");
	ok(mkdir(root, 0700) == 0, "a store directory");
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/%s", root, CACHE_DIR_NAME);
	/* A file an earlier mount left named is removed at open. */
	ok(mkdir(dir, 0700) == 0, "its cache directory");
	char stale[4200];
	snprintf(stale, sizeof(stale), "%s/leftover", dir);
	int sfd = open(stale, O_CREAT | O_WRONLY, 0600);
	ok(sfd >= 0 && close(sfd) == 0, "a file left there");
	struct cache_dir *d;
	is_int(cache_dir_open(root, key, &d), 0, "cache_dir_open");
	cache_dir_sweep(d, NULL, 0);
	ok(access(stale, F_OK) != 0, "a sweep removes the leftover file");
	test_random_io(d);
	test_sealed(d, dir);
	test_names();
	struct cache_file *cf;
	is_int(cache_file_new(d, &cf), 0, "a cache file for the tree");
	test_classify(cf);
	test_merge_rmdir(cf);
	test_keep(d, dir);
	test_unsafe(d, dir);
	cache_file_unref(cf);
	cache_dir_close(d);
	return tap_done();
}
