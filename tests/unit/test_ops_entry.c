/*
 * tests/unit/test_ops_entry.c — a lookup reference the kernel never got
 * is given back (fs/fuse/ops_internal.h, ops_reply_entry).
 *
 * The FUSE table runs over a mount as the kernel would call it, with
 * libfuse's replies replaced (tests/unit/fuse_reply_stub.h: the
 * executable's definitions come before the library's): they fail as
 * libfuse's do for a request the kernel interrupted and dropped
 * (-ENOENT, "the reply discarded").
 * An entry so replied is never FORGOTTEN, so its count must not stay.
 *
 * And an inode released (forgotten, unlinked) while a call holds its
 * file state outside the lock (fs/mount/mount.h, "Held states and freed
 * inodes"): the kernel never lets that happen, but if it did the inode
 * and its state must outlive the call, freed when it lets go.
 */
/* libfuse, its replies this test's: first, as it defines the version */
#include "tests/unit/fuse_reply_stub.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/fuse/ops.h"
#include "fs/model/tree.h"
#include "fs/mount/file.h"
#include "fs/mount/mount.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

static struct ipmd_fs fs;
static struct fuse_reply_stub stub; /* every request's: what ops replied */

/* ---- the mount as the test sees it ---- */

static fuse_req_t req(void)
{
	return fuse_stub_req(&stub);
}

static long lookups(const char *name)
{
	struct inode *i = fuse_stub_named(&fs, name);
	return i ? (long)i->lookups : -1;
}

static void test_entries(void)
{
	struct fuse_file_info fi = {.flags = O_WRONLY | O_CREAT};

	fs.no_open = true; /* as op_init sets it with the kernel's no-open */
	stub.result = -ENOENT;
	ipmd_ops.create(req(), TREE_ROOT_INO, "a", 0600, &fi);
	ok(fuse_stub_named(&fs, "a") != NULL, "create: the file is made");
	is_int(lookups("a"), 0, "create, reply dropped: no lookup counted");
	struct inode *a_i = fuse_stub_named(&fs, "a");
	uint64_t a_ino = a_i ? a_i->ino : 0;

	stub.result = 0;
	ipmd_ops.lookup(req(), TREE_ROOT_INO, "a");
	is_int(lookups("a"), 1, "lookup, reply delivered: one counted");
	stub.result = -ENOENT;
	ipmd_ops.lookup(req(), TREE_ROOT_INO, "a");
	is_int(lookups("a"), 1, "lookup, reply dropped: still one");

	ipmd_ops.forget(req(), a_ino, 1);
	ipmd_ops.unlink(req(), TREE_ROOT_INO, "a");
	is_int(stub.err, 0, "unlink a");
	pthread_mutex_lock(&fs.lock);
	bool freed = tree_get(fs.tree, a_ino) == NULL;
	pthread_mutex_unlock(&fs.lock);
	ok(freed, "unlinked and forgotten: its inode is freed");

	ipmd_ops.mkdir(req(), TREE_ROOT_INO, "d", 0700);
	ok(fuse_stub_named(&fs, "d") != NULL, "mkdir: the directory is made");
	is_int(lookups("d"), 0, "mkdir, reply dropped: no lookup counted");
	ipmd_ops.symlink(req(), "target", TREE_ROOT_INO, "s");
	ok(fuse_stub_named(&fs, "s") != NULL, "symlink: made");
	is_int(lookups("s"), 0, "symlink, reply dropped: none counted");
	ipmd_ops.mknod(req(), TREE_ROOT_INO, "n", S_IFREG | 0600, 0);
	ok(fuse_stub_named(&fs, "n") != NULL, "mknod: made");
	is_int(lookups("n"), 0, "mknod, reply dropped: none counted");

	stub.result = 0;
	ipmd_ops.mknod(req(), TREE_ROOT_INO, "c", S_IFREG | 0600, 0);
	is_int(lookups("c"), 1, "mknod, reply delivered: one counted");
	stub.result = -ENOENT;
	struct inode *c_i = fuse_stub_named(&fs, "c");
	uint64_t c_ino = c_i ? c_i->ino : 0;
	ipmd_ops.link(req(), c_ino, TREE_ROOT_INO, "c2");
	ok(fuse_stub_named(&fs, "c2") != NULL, "link: the name is made");
	is_int(lookups("c"), 1, "link, reply dropped: still one");

	/* Without no-open a create's handle is counted too: a dropped reply
	 * brings no RELEASE for it. */
	fs.no_open = false;
	ipmd_ops.create(req(), TREE_ROOT_INO, "e", 0600, &fi);
	struct inode *e = fuse_stub_named(&fs, "e");
	ok(e && e->opens == 0 && !e->file && e->lookups == 0,
	   "create with handles counted, reply dropped: no open, no lookup, "
	   "no file state left");
	fs.no_open = true;
}

static void test_readdirplus(void)
{
	struct fuse_file_info fi = {0};
	stub.result = 0;
	ipmd_ops.opendir(req(), TREE_ROOT_INO, &fi);
	is_int(stub.err, 0, "opendir");
	fi.fh = stub.fh;
	long before = lookups("d");
	stub.result = -ENOENT;
	ipmd_ops.readdirplus(req(), TREE_ROOT_INO, 65536, 0, &fi);
	is_int(lookups("d"), before, "readdirplus, reply dropped: none counted");
	is_int(lookups("c"), 1, "… and the counted file keeps its one");
	stub.result = 0;
	ipmd_ops.readdirplus(req(), TREE_ROOT_INO, 65536, 0, &fi);
	is_int(lookups("d"), before + 1, "readdirplus, delivered: one counted");
	ipmd_ops.releasedir(req(), TREE_ROOT_INO, &fi);
}

static void test_held_release(void)
{
	struct fuse_file_info fi = {.flags = O_WRONLY | O_CREAT};
	fs.no_open = true;
	stub.result = 0;
	ipmd_ops.create(req(), TREE_ROOT_INO, "h", 0600, &fi);
	struct inode *h = fuse_stub_named(&fs, "h");
	uint64_t ino = h ? h->ino : 0;
	ipmd_ops.write(req(), ino, "written", 7, 0, &fi);
	pthread_mutex_lock(&fs.lock);
	struct file_state *f = h ? h->file : NULL;
	if (f) /* as a call's file_get does, before it lets go of the lock */
		file_state_hold(f);
	pthread_mutex_unlock(&fs.lock);
	ok(f != NULL, "a write made a file state, now held by a call");
	if (!f)
		return;

	ipmd_ops.forget(req(), ino, 1);
	ipmd_ops.unlink(req(), TREE_ROOT_INO, "h");
	is_int(stub.err, 0, "unlink h");
	/* The holder comes back to its inode by pointer, as file_put does
	 * (freed: ASan says so here). */
	pthread_mutex_lock(&fs.lock);
	bool kept = h->nlink == 0 && h->file == f &&
		    tree_get(fs.tree, ino) == h;
	pthread_mutex_unlock(&fs.lock);
	ok(kept, "forgotten and unlinked while held: inode and state kept");
	if (!kept)
		return; /* f is freed: its mutex may never lock again */
	is_int((long)file_size(f), 7, "the holder still reads its state");

	/* The held call's let-go (file_put, whose unhold this is), then the
	 * release it makes, through a read's file_get … file_put. */
	pthread_mutex_lock(&fs.lock);
	(void)file_state_unhold(f);
	pthread_mutex_unlock(&fs.lock);
	struct fuse_file_info ro = {.flags = O_RDONLY};
	ipmd_ops.read(req(), ino, 16, 0, &ro);
	is_int(stub.err, 0, "a read of the kept inode");
	pthread_mutex_lock(&fs.lock);
	bool freed = tree_get(fs.tree, ino) == NULL;
	pthread_mutex_unlock(&fs.lock);
	ok(freed, "… whose let-go frees it");
}

int main(void)
{
	if (fuse_stub_start(&fs, &stub)) {
		test_entries();
		test_readdirplus();
		test_held_release();
		ipmd_fs_close(&fs);
	}
	return tap_done();
}
