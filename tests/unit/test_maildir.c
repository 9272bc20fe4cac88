/* tests/unit/test_maildir.c — fs/model/maildir.c: the Maildir names, a new
 * Maildir's subdirectories, and the message/folder counts of a tree. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fs/model/maildir.h"
#include "fs/model/tree.h"
#include "tests/tap.h"

static bool is(bool (*f)(const char *, size_t), const char *name)
{
	return f(name, strlen(name));
}

static void test_names(void)
{
	ok(is(maildir_is_msgdir, "cur") && is(maildir_is_msgdir, "new") &&
		   !is(maildir_is_msgdir, "tmp") &&
		   !is(maildir_is_msgdir, "cu") &&
		   !is(maildir_is_msgdir, "current") &&
		   !maildir_is_msgdir("curx", 3 + 1),
	   "cur/ and new/ hold messages; nothing else does");
	ok(maildir_is_msgdir("curx", 3), "… compared by length, not NUL");
	ok(is(maildir_is_tmp, "tmp") && !is(maildir_is_tmp, "tmp2") &&
		   !is(maildir_is_tmp, "new"),
	   "tmp/ is tmp/");
	ok(is(maildir_is_folder, ".Sent") && !is(maildir_is_folder, "Sent") &&
		   !maildir_is_folder("", 0),
	   "a Maildir++ folder starts with a dot");
	ok(!strcmp(maildir_subdirs[MAILDIR_CUR], "cur") &&
		   !strcmp(maildir_subdirs[MAILDIR_NEW], "new") &&
		   !strcmp(maildir_subdirs[MAILDIR_TMP], "tmp"),
	   "the subdirectories, in creation order");
}

static struct inode *mkdir_in(struct fs_tree *t, struct inode *dir,
			      const char *name, const struct timespec *now)
{
	struct tree_new_inode spec = {.mode = S_IFDIR | 0700};
	struct inode *out = NULL;
	return tree_create(t, dir, name, &spec, now, &out) == 0 ? out : NULL;
}

static void mkfile_in(struct fs_tree *t, struct inode *dir, const char *name,
		      const struct timespec *now)
{
	struct tree_new_inode spec = {.mode = S_IFREG | 0600};
	struct inode *out;
	tree_create(t, dir, name, &spec, now, &out);
}

static void test_create_and_count(void)
{
	const struct timespec now = {1700000000, 0};
	struct fs_tree *t = NULL;
	if (tree_new(&t, 0, 0, &now) != 0) {
		ok(0, "tree_new");
		return;
	}
	struct tree_new_inode spec = {.mode = S_IFDIR | 0700};
	ok(maildir_create(t, t->root, &spec, &now) == 0 &&
		   tree_lookup(t->root, "cur") && tree_lookup(t->root, "new") &&
		   tree_lookup(t->root, "tmp"),
	   "maildir_create makes cur/ new/ tmp/");
	ok(maildir_create(t, t->root, &spec, &now) != 0,
	   "… and says so when they exist");
	struct inode *cur = tree_lookup(t->root, "cur")->inode;
	struct inode *tmp = tree_lookup(t->root, "tmp")->inode;
	mkfile_in(t, cur, "1:2,S", &now);
	mkfile_in(t, cur, "2:2,", &now);
	mkfile_in(t, tmp, "3", &now); /* a delivery in progress */
	struct inode *sent = mkdir_in(t, t->root, ".Sent", &now);
	ok(sent && maildir_create(t, sent, &spec, &now) == 0,
	   "a Maildir++ folder");
	mkfile_in(t, tree_lookup(sent, "new")->inode, "4", &now);
	mkdir_in(t, t->root, "plain", &now); /* not a folder */
	/* notmuch's database: a dot directory, but no Maildir. */
	struct inode *nm = mkdir_in(t, t->root, ".notmuch", &now);
	struct inode *xa = nm ? mkdir_in(t, nm, "xapian", &now) : NULL;
	if (xa)
		mkfile_in(t, xa, "postlist.glass", &now);
	uint64_t m = 0, f = 0;
	maildir_count(t, &m, &f);
	is_int(m, 3, "messages: cur/ and new/ at any depth, not tmp/");
	is_int(f, 1, "folders: the dot directories of the root that are "
		     "Maildirs (.Sent, not .notmuch)");
	maildir_count(NULL, &m, &f);
	ok(m == 0 && f == 0, "no tree: zero");
	tree_free(t);
}

/* An empty tree, or NULL (a failed test said so). */
static struct fs_tree *new_tree(const struct timespec *now)
{
	struct fs_tree *t = NULL;
	if (tree_new(&t, 0, 0, now) != 0) {
		ok(0, "tree_new");
		return NULL;
	}
	return t;
}

/* Ordinary index files anywhere (what a fast-forward must not take where
 * they are cache files, fs/mount/follow.h); cache files and directories
 * of those names do not count. */
static void test_has_index_files(void)
{
	const struct timespec now = {1, 0};
	struct fs_tree *t = new_tree(&now);
	if (!t)
		return;
	struct inode *sent = mkdir_in(t, t->root, ".Sent", &now);
	struct inode *cur = sent ? mkdir_in(t, sent, "cur", &now) : NULL;
	if (!cur) {
		ok(0, "mkdir");
		tree_free(t);
		return;
	}
	mkfile_in(t, t->root, "dovecot-uidlist", &now);
	mkfile_in(t, cur, "1.X:2,S", &now);
	mkdir_in(t, sent, "dovecot.index.d", &now);
	ok(!maildir_has_index_files(t) && !maildir_has_index_files(NULL),
	   "no index file: mail, dovecot-uidlist, a directory of that name");
	mkfile_in(t, sent, "dovecot.index.log", &now);
	struct inode *log = tree_lookup(sent, "dovecot.index.log")->inode;
	int mark;
	log->cache = (struct cache_file *)&mark;
	ok(!maildir_has_index_files(t), "a local cache file does not count");
	log->cache = NULL;
	ok(maildir_has_index_files(t),
	   "an ordinary one in a folder, below the root, does");
	tree_free(t);
}

/* A tree whose root is a Maildir with one Maildir++ folder .F. */
struct two_maildirs {
	struct fs_tree *t;
	struct inode *cur, *new, *tmp;	 /* the root's */
	struct inode *f, *fcur, *fnew, *ftmp; /* .F and its */
};

static bool two_maildirs(struct two_maildirs *m, const struct timespec *now)
{
	struct fs_tree *t = m->t = new_tree(now);
	if (!t)
		return false;
	m->cur = mkdir_in(t, t->root, "cur", now);
	m->new = mkdir_in(t, t->root, "new", now);
	m->tmp = mkdir_in(t, t->root, "tmp", now);
	m->f = mkdir_in(t, t->root, ".F", now);
	m->fcur = m->f ? mkdir_in(t, m->f, "cur", now) : NULL;
	m->fnew = m->f ? mkdir_in(t, m->f, "new", now) : NULL;
	m->ftmp = m->f ? mkdir_in(t, m->f, "tmp", now) : NULL;
	return true;
}

/* Which renames are a Maildir's new/ to cur/ (durable at the next sync). */
static void test_new_to_cur(void)
{
	struct timespec now = {1, 0};
	struct two_maildirs m;
	if (!two_maildirs(&m, &now))
		return;
	struct fs_tree *t = m.t;
	struct inode *cur = m.cur, *new = m.new, *tmp = m.tmp;
	struct inode *fcur = m.fcur, *fnew = m.fnew;
	ok(maildir_is_new_to_cur(new, cur), "new/ to cur/: yes");
	ok(maildir_is_new_to_cur(fnew, fcur), "a folder's new/ to its cur/: yes");
	ok(!maildir_is_new_to_cur(cur, new), "cur/ to new/: no");
	ok(!maildir_is_new_to_cur(tmp, new), "tmp/ to new/ (a delivery): no");
	ok(!maildir_is_new_to_cur(new, fcur), "new/ to another folder's cur/: no");
	ok(!maildir_is_new_to_cur(t->root, cur) && !maildir_is_new_to_cur(NULL, cur),
	   "the root, or none: no");
	tree_free(t);
}

static struct inode *file_in(struct fs_tree *t, struct inode *dir,
			     const char *name, const struct timespec *now)
{
	struct tree_new_inode spec = {.mode = S_IFREG | 0600};
	struct inode *out = NULL;
	return dir && tree_create(t, dir, name, &spec, now, &out) == 0 ? out
								      : NULL;
}

/* Which files are replacement files (their fsync durable at the next
 * sync, ordered before the rename that follows). */
static void test_replacement(void)
{
	struct timespec now = {1, 0};
	struct fs_tree *t = new_tree(&now);
	if (!t)
		return;
	struct inode *cur = mkdir_in(t, t->root, "cur", &now);
	struct inode *tmp = mkdir_in(t, t->root, "tmp", &now);
	struct inode *f = mkdir_in(t, t->root, ".F", &now);
	struct inode *fnew = f ? mkdir_in(t, f, "new", &now) : NULL;
	struct inode *ul = file_in(t, t->root, "dovecot-uidlist.tmp", &now);
	ok(maildir_is_replacement(ul), "dovecot-uidlist.tmp in the root: yes");
	ok(maildir_is_replacement(file_in(t, f, "dovecot-keywords.lock", &now)),
	   "a folder's dovecot-keywords.lock: yes");
	ok(!maildir_is_replacement(file_in(t, t->root, "dovecot-uidlist", &now)),
	   "dovecot-uidlist itself: no");
	ok(maildir_is_replacement(file_in(t, t->root, "dovecot-uidlist.lock",
					  &now)) &&
		   maildir_is_replacement(file_in(t, f, "subscriptions.lock",
						  &now)),
	   "dovecot-uidlist.lock, a folder's subscriptions.lock: yes");
	/* Another program's NAME.tmp or NAME.lock keeps its fsync: it may
	 * act on it before any rename (a lock file, a state file updated in
	 * place). */
	static const char *const others[] = {
		"yarn.lock",	    "Cargo.lock",	 "flake.lock",
		"Gemfile.lock",	    "state.tmp",	 "dovecot-uidlist.tmp.x",
		"xdovecot-uidlist.tmp", "dovecot-uidlist.lock.tmp", "dovecot.tmp",
		"subscriptions.tmp~"};
	for (size_t i = 0; i < sizeof(others) / sizeof(*others); i++)
		ok(!maildir_is_replacement(file_in(t, t->root, others[i],
						   &now)) &&
			   !maildir_is_replacement(file_in(t, f, others[i],
							   &now)),
		   "%s, in the root or a folder: no", others[i]);
	ok(!maildir_is_replacement(file_in(t, t->root, ".tmp", &now)) &&
		   !maildir_is_replacement(file_in(t, t->root, ".lock", &now)) &&
		   !maildir_is_replacement(file_in(t, t->root, "x.tmp~", &now)),
	   "a name that is only the suffix, or ends otherwise: no");
	ok(!maildir_is_replacement(file_in(t, cur, "1.host.tmp:2,S", &now)) &&
		   !maildir_is_replacement(file_in(t, cur, "2.host.lock", &now)) &&
		   !maildir_is_replacement(file_in(t, tmp, "3.host.tmp", &now)) &&
		   !maildir_is_replacement(file_in(t, fnew, "4.host.lock", &now)),
	   "a file in cur/, new/ or tmp/ (a message), whatever its name: no");
	ok(!maildir_is_replacement(mkdir_in(t, t->root, "d.tmp", &now)),
	   "a directory: no");
	ok(ul && tree_link(t, ul, cur, "5.host.tmp", &now) == 0 &&
		   !maildir_is_replacement(ul),
	   "a replacement file also linked into cur/: no");
	ok(!maildir_is_replacement(NULL), "none: no");
	tree_free(t);
}

/* Which files are deliveries in progress (their fsync, too, durable at
 * the next sync: at the latest the rename or link into new/ or cur/). */
static void test_delivery(void)
{
	struct timespec now = {1, 0};
	struct two_maildirs md;
	if (!two_maildirs(&md, &now))
		return;
	struct fs_tree *t = md.t;
	struct inode *cur = md.cur, *new = md.new, *tmp = md.tmp;
	struct inode *ftmp = md.ftmp;
	struct inode *m = file_in(t, tmp, "1.host", &now);
	ok(maildir_is_delivery(m), "a file in tmp/: yes");
	ok(maildir_is_delivery(file_in(t, ftmp, "2.host", &now)),
	   "a file in a folder's tmp/: yes");
	ok(m && tree_link(t, m, tmp, "1.host.again", &now) == 0 &&
		   maildir_is_delivery(m),
	   "two names, both in tmp/: yes");
	ok(m && tree_link(t, m, new, "1.host", &now) == 0 &&
		   !maildir_is_delivery(m),
	   "also linked into new/ (a link delivery, tmp/ not yet unlinked): "
	   "no");
	ok(!maildir_is_delivery(file_in(t, cur, "3.host:2,S", &now)) &&
		   !maildir_is_delivery(file_in(t, new, "4.host", &now)) &&
		   !maildir_is_delivery(file_in(t, t->root, "tmp", &now)) &&
		   !maildir_is_delivery(
			   file_in(t, t->root, "dovecot-uidlist.tmp", &now)),
	   "in cur/, new/ or the root (even named tmp): no");
	/* Another program's tmp/ (a build directory, a download) keeps its
	 * fsync: only a Maildir's is a delivery area. */
	struct inode *other = mkdir_in(t, t->root, "work", &now);
	struct inode *otmp = other ? mkdir_in(t, other, "tmp", &now) : NULL;
	ok(otmp && !maildir_is_delivery(file_in(t, otmp, "x", &now)),
	   "a tmp/ beside no cur/ or new/: no");
	struct inode *sub = tmp ? mkdir_in(t, tmp, "sub", &now) : NULL;
	ok(sub && !maildir_is_delivery(file_in(t, sub, "y", &now)) &&
		   !maildir_is_delivery(sub),
	   "below tmp/, or a directory in it: no");
	ok(!maildir_is_delivery(NULL), "none: no");
	tree_free(t);
}

/* The index names a walk finds below dir: what t->index_names must say. */
static uint64_t walk_index_names(const struct inode *dir)
{
	uint64_t n = 0;
	const struct dir *d = dir->dir;
	for (uint32_t b = 0; b < d->nbuckets; b++)
		for (const struct dirent *e = d->buckets[b]; e;
		     e = e->hash_next)
			n += S_ISDIR(e->inode->mode)
				     ? walk_index_names(e->inode)
				     : maildir_is_index_name(e->name);
	return n;
}

/* t->index_names agrees with a walk, and is want. */
static void count_is(const struct fs_tree *t, uint64_t want, const char *what)
{
	uint64_t walked = walk_index_names(t->root);
	ok(t->index_names == want && walked == want &&
		   maildir_has_index_files(t) == (want > 0),
	   "%s: %llu index names (counted %llu, walked %llu)", what,
	   (unsigned long long)want, (unsigned long long)t->index_names,
	   (unsigned long long)walked);
}

/* The tree's count of index names (tree.h, index_names), which spares
 * maildir_has_index_files its walk when there are none, stays true under
 * every call that adds, removes, renames or exchanges a name. */
static void test_index_names_count(void)
{
	const struct timespec now = {1, 0};
	struct fs_tree *t = new_tree(&now);
	if (!t)
		return;
	struct inode *f = mkdir_in(t, t->root, ".F", &now);
	struct inode *cur = f ? mkdir_in(t, f, "cur", &now) : NULL;
	struct inode *dd = f ? mkdir_in(t, f, "dovecot.index.d", &now) : NULL;
	struct inode *msg = file_in(t, cur, "1.X:2,S", &now);
	struct inode *ix = file_in(t, f, "dovecot.index", &now);
	if (!msg || !ix || !dd) {
		ok(0, "setup");
		tree_free(t);
		return;
	}
	count_is(t, 1, "a folder's dovecot.index; a directory of such a name, "
		       "a message do not count");
	ok(file_in(t, t->root, "dovecot.list.index.log", &now) != NULL, "create");
	count_is(t, 2, "created in the root");
	ok(tree_link(t, ix, t->root, "dovecot.index.log", &now) == 0 &&
		   tree_link(t, ix, cur, "2.X:2,", &now) == 0,
	   "link");
	count_is(t, 3, "linked under an index name and under a message's");
	ok(tree_rename(t, cur, "1.X:2,S", f, "dovecot.index.cache", 0, &now) ==
		   0,
	   "rename a message to an index name");
	count_is(t, 4, "renamed to an index name");
	ok(tree_rename(t, f, "dovecot.index.cache", t->root,
		       "dovecot.list.index.log", 0, &now) == 0,
	   "rename an index file over another");
	count_is(t, 3, "renamed over another: the replaced name goes");
	ok(tree_rename(t, t->root, "dovecot.list.index.log", cur, "3.X:2,S", 0,
		       &now) == 0,
	   "rename an index file to a message's name");
	count_is(t, 2, "renamed away from an index name");
	ok(tree_rename(t, f, "dovecot.index", t->root, "dovecot.index.log",
		       TREE_RENAME_NOREPLACE, &now) == -EEXIST,
	   "a refused rename");
	count_is(t, 2, "a refused rename changes nothing");
	ok(mkdir_in(t, t->root, "plain", &now) &&
		   tree_rename(t, t->root, "dovecot.index.log", t->root,
			       "plain", TREE_RENAME_EXCHANGE, &now) == 0,
	   "exchange a file under an index name with a directory");
	count_is(t, 1, "exchanged: the index name names a directory now");
	ok(tree_rename(t, f, "dovecot.index.d", cur, "3.X:2,S",
		       TREE_RENAME_EXCHANGE, &now) == 0,
	   "exchange a directory under an index name with a file");
	count_is(t, 2, "exchanged: the index name names a file now");
	ok(tree_unlink(t, f, "dovecot.index.d", false, &now) == 0 &&
		   tree_unlink(t, t->root, "dovecot.index.log", true, &now) == 0,
	   "unlink, rmdir");
	count_is(t, 1, "unlinked a file, removed a directory");
	ok(tree_unlink(t, f, "dovecot.index", false, &now) == 0, "unlink");
	count_is(t, 0, "none left");
	tree_free(t);

	/* Loading a commit's tree (manifest_load: tree_load_entry) counts as
	 * it builds, a hard link's second name too. */
	t = new_tree(&now);
	if (!t)
		return;
	struct tree_load_attrs dir = {.mode = S_IFDIR | 0700};
	struct tree_load_attrs file = {.mode = S_IFREG | 0600};
	struct inode *g = NULL, *i = NULL;
	ok(tree_load_entry(t, t->root, ".G", 10, &dir, &g) == 0 &&
		   tree_load_entry(t, g, "dovecot.index", 11, &file, &i) == 0 &&
		   tree_load_entry(t, g, "dovecot.index.log", 11, &file, &i) ==
			   0 &&
		   tree_load_entry(t, g, "5.X:2,S", 12, &file, &i) == 0 &&
		   tree_load_entry(t, t->root, "dovecot.list.index", 13, &dir,
				   &i) == 0,
	   "load");
	count_is(t, 2, "loaded: both names of a hard link, not a directory");
	tree_free(t);
}

int main(void)
{
	test_names();
	test_create_and_count();
	test_new_to_cur();
	test_replacement();
	test_delivery();
	test_has_index_files();
	test_index_names_count();
	return tap_done();
}
