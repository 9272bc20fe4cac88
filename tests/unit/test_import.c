/*
 * test_import.c — import reads what its walk found, through the source's
 * own fds: a file swapped for a FIFO after the walk is not waited on, and
 * a folder swapped for a symlink to a directory outside the source is not
 * followed (root importing a user's Maildir must not read /etc/shadow).
 * The swap is made from the progress callback, which import_maildir calls
 * once the walk is done and before any file is opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fs/model/tree.h"
#include "fs/mount/mount.h"
#include "fs/store/store.h"
#include "fs/tools/import.h"
#include "ipfs/bs_local.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

static char src[PATH_MAX], outside[PATH_MAX];

static void put_file(const char *dir, const char *name, const char *text)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f) {
		perror(p);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static void mkdirs(const char *base, const char *rel)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", base, rel);
	if (mkdir(p, 0700) != 0 && errno != EEXIST) {
		perror(p);
		exit(1);
	}
}

/* After the walk: cur/b becomes a FIFO, .Folder/cur a symlink to a
 * directory outside holding a file of the same name. */
static int swapped;
static void swap_after_walk(void *arg, const struct import_stats *st,
			    uint64_t files, uint64_t bytes)
{
	(void)arg;
	(void)st;
	if (files || bytes || swapped++)
		return;
	char p[PATH_MAX * 2], q[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/cur/b", src);
	unlink(p);
	if (mkfifo(p, 0600) != 0)
		perror("mkfifo");
	snprintf(p, sizeof(p), "%s/.Folder/cur", src);
	snprintf(q, sizeof(q), "%s/.Folder/cur.moved", src);
	if (rename(p, q) != 0 || symlink(outside, p) != 0)
		perror("swap .Folder/cur");
}

static struct inode *lookup(struct fs_tree *t, const char *a, const char *b,
			    const char *c)
{
	struct dirent *d = tree_lookup(t->root, a);
	if (d && b)
		d = tree_lookup(d->inode, b);
	if (d && c)
		d = tree_lookup(d->inode, c);
	return d ? d->inode : NULL;
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	/* The old import blocked in open() on the FIFO: fail, don't hang. */
	alarm(60);
	const char *tmp = tap_tempdir();
	char store[PATH_MAX];
	snprintf(store, sizeof(store), "%s/store", tmp);
	snprintf(src, sizeof(src), "%s/src", tmp);
	snprintf(outside, sizeof(outside), "%s/outside", tmp);
	ok(harness_make_store(store) == 0, "a store");
	mkdirs(tmp, "src");
	mkdirs(src, "cur");
	mkdirs(src, "new");
	mkdirs(src, "tmp");
	mkdirs(src, ".Folder");
	mkdirs(src, ".Folder/cur");
	mkdirs(src, ".Folder/new");
	mkdirs(tmp, "outside");
	put_file(src, "cur/a", "Subject: a\n\nkept\n");
	put_file(src, "cur/b", "Subject: b\n\nswapped for a FIFO\n");
	put_file(src, ".Folder/cur/c", "Subject: c\n\nits folder is swapped\n");
	put_file(outside, "c", "root:secret-shadow-line\n");

	is_int(import_source_is_maildir(src), 1, "a Maildir is one");
	is_int(import_source_is_maildir(outside), 0,
	       "a directory without cur/ and new/ is not");
	char plusplus[PATH_MAX * 2];
	snprintf(plusplus, sizeof(plusplus), "%s/pp", tmp);
	mkdirs(tmp, "pp");
	mkdirs(plusplus, ".Sent");
	mkdirs(plusplus, ".Sent/cur");
	mkdirs(plusplus, ".Sent/new");
	is_int(import_source_is_maildir(plusplus), 1,
	       "Maildir++ folders alone make a Maildir");

	struct mount_options mo = {.store = store};
	static struct ipmd_fs fs;
	char msg[512] = "";
	if (ipmd_fs_open(&fs, &mo, msg, sizeof(msg)) != 0) {
		ok(0, "open the mailbox: %s", msg);
		return tap_done();
	}
	struct import_options io = {.threads = 1,
				    .progress = swap_after_walk};
	struct import_stats st;
	char errpath[PATH_MAX];
	int e = import_maildir(&fs, src, &io, &st, errpath);
	is_int(e, 0, "the import finishes (%s)", errpath);
	is_int(swapped, 1, "the swap was made between walk and read");
	is_int(st.files, 3, "the walk found three files");
	is_int(st.imported, 1, "one was imported");
	is_int(st.changed, 2, "two are counted as changed since the walk");
	pthread_mutex_lock(&fs.lock);
	struct inode *a = lookup(fs.tree, "cur", "a", NULL);
	ok(a && a->size == strlen("Subject: a\n\nkept\n"), "cur/a is in");
	ok(!lookup(fs.tree, "cur", "b", NULL),
	   "the FIFO in cur/b's place was not opened or taken");
	struct inode *c = lookup(fs.tree, ".Folder", "cur", "c");
	ok(!c, "the file behind the symlinked folder was not read");
	if (c)
		tap_diag("imported %llu bytes from outside the source",
			 (unsigned long long)c->size);
	pthread_mutex_unlock(&fs.lock);
	ipmd_fs_close(&fs);
	return tap_done();
}
