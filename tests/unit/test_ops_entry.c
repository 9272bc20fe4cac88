/*
 * tests/unit/test_ops_entry.c — a lookup reference the kernel never got
 * is given back (fs/fuse/ops_internal.h, ops_reply_entry).
 *
 * The FUSE table runs over a mount as the kernel would call it, with
 * libfuse's replies replaced by this file's (the executable's definitions
 * come before the library's): they fail as libfuse's do for a request
 * the kernel interrupted and dropped (-ENOENT, "the reply discarded").
 * An entry so replied is never FORGOTTEN, so its count must not stay.
 */
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fs/fuse/ops.h"
#include "fs/model/tree.h"
#include "fs/mount/mount.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

static struct ipmd_fs fs;
static int reply_result; /* what a reply returns: 0, or -ENOENT */
static int replied_err;  /* the last fuse_reply_err's error */
static uint64_t dir_fh;  /* the last fuse_reply_open's handle */
static struct fuse_ctx ctx;

/* ---- libfuse's replies, as this test makes them answer ---- */

void *fuse_req_userdata(fuse_req_t req)
{
	(void)req;
	return &fs;
}

const struct fuse_ctx *fuse_req_ctx(fuse_req_t req)
{
	(void)req;
	return &ctx;
}

int fuse_reply_err(fuse_req_t req, int err)
{
	(void)req;
	replied_err = err;
	return 0;
}

void fuse_reply_none(fuse_req_t req)
{
	(void)req;
}

int fuse_reply_entry(fuse_req_t req, const struct fuse_entry_param *e)
{
	(void)req;
	(void)e;
	replied_err = 0;
	return reply_result;
}

int fuse_reply_create(fuse_req_t req, const struct fuse_entry_param *e,
		      const struct fuse_file_info *fi)
{
	(void)req;
	(void)e;
	(void)fi;
	replied_err = 0;
	return reply_result;
}

int fuse_reply_open(fuse_req_t req, const struct fuse_file_info *fi)
{
	(void)req;
	replied_err = 0;
	dir_fh = fi->fh;
	return reply_result;
}

int fuse_reply_buf(fuse_req_t req, const char *buf, size_t size)
{
	(void)req;
	(void)buf;
	(void)size;
	replied_err = 0;
	return reply_result;
}

/* ---- the mount as the test sees it ---- */

static fuse_req_t req(void)
{
	static char dummy; /* never looked into: every reply is this file's */
	return (fuse_req_t)(void *)&dummy;
}

/* The inode root/name names, or NULL. */
static struct inode *named(const char *name)
{
	pthread_mutex_lock(&fs.lock);
	struct dirent *d = tree_lookup(tree_get(fs.tree, TREE_ROOT_INO), name);
	pthread_mutex_unlock(&fs.lock);
	return d ? d->inode : NULL;
}

static long lookups(const char *name)
{
	struct inode *i = named(name);
	return i ? (long)i->lookups : -1;
}

static void test_entries(void)
{
	struct fuse_file_info fi = {.flags = O_WRONLY | O_CREAT};

	fs.no_open = true; /* as op_init sets it with the kernel's no-open */
	reply_result = -ENOENT;
	ipmd_ops.create(req(), TREE_ROOT_INO, "a", 0600, &fi);
	ok(named("a") != NULL, "create: the file is made");
	is_int(lookups("a"), 0, "create, reply dropped: no lookup counted");
	uint64_t a_ino = named("a") ? named("a")->ino : 0;

	reply_result = 0;
	ipmd_ops.lookup(req(), TREE_ROOT_INO, "a");
	is_int(lookups("a"), 1, "lookup, reply delivered: one counted");
	reply_result = -ENOENT;
	ipmd_ops.lookup(req(), TREE_ROOT_INO, "a");
	is_int(lookups("a"), 1, "lookup, reply dropped: still one");

	ipmd_ops.forget(req(), a_ino, 1);
	ipmd_ops.unlink(req(), TREE_ROOT_INO, "a");
	is_int(replied_err, 0, "unlink a");
	pthread_mutex_lock(&fs.lock);
	bool freed = tree_get(fs.tree, a_ino) == NULL;
	pthread_mutex_unlock(&fs.lock);
	ok(freed, "unlinked and forgotten: its inode is freed");

	ipmd_ops.mkdir(req(), TREE_ROOT_INO, "d", 0700);
	ok(named("d") != NULL, "mkdir: the directory is made");
	is_int(lookups("d"), 0, "mkdir, reply dropped: no lookup counted");
	ipmd_ops.symlink(req(), "target", TREE_ROOT_INO, "s");
	ok(named("s") != NULL, "symlink: made");
	is_int(lookups("s"), 0, "symlink, reply dropped: none counted");
	ipmd_ops.mknod(req(), TREE_ROOT_INO, "n", S_IFREG | 0600, 0);
	ok(named("n") != NULL, "mknod: made");
	is_int(lookups("n"), 0, "mknod, reply dropped: none counted");

	reply_result = 0;
	ipmd_ops.mknod(req(), TREE_ROOT_INO, "c", S_IFREG | 0600, 0);
	is_int(lookups("c"), 1, "mknod, reply delivered: one counted");
	reply_result = -ENOENT;
	uint64_t c_ino = named("c") ? named("c")->ino : 0;
	ipmd_ops.link(req(), c_ino, TREE_ROOT_INO, "c2");
	ok(named("c2") != NULL, "link: the name is made");
	is_int(lookups("c"), 1, "link, reply dropped: still one");

	/* Without no-open a create's handle is counted too: a dropped reply
	 * brings no RELEASE for it. */
	fs.no_open = false;
	ipmd_ops.create(req(), TREE_ROOT_INO, "e", 0600, &fi);
	struct inode *e = named("e");
	ok(e && e->opens == 0 && !e->file && e->lookups == 0,
	   "create with handles counted, reply dropped: no open, no lookup, "
	   "no file state left");
	fs.no_open = true;
}

static void test_readdirplus(void)
{
	struct fuse_file_info fi = {0};
	reply_result = 0;
	ipmd_ops.opendir(req(), TREE_ROOT_INO, &fi);
	is_int(replied_err, 0, "opendir");
	fi.fh = dir_fh;
	long before = lookups("d");
	reply_result = -ENOENT;
	ipmd_ops.readdirplus(req(), TREE_ROOT_INO, 65536, 0, &fi);
	is_int(lookups("d"), before, "readdirplus, reply dropped: none counted");
	is_int(lookups("c"), 1, "… and the counted file keeps its one");
	reply_result = 0;
	ipmd_ops.readdirplus(req(), TREE_ROOT_INO, 65536, 0, &fi);
	is_int(lookups("d"), before + 1, "readdirplus, delivered: one counted");
	ipmd_ops.releasedir(req(), TREE_ROOT_INO, &fi);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	alarm(120);
	const char *tmp = tap_tempdir();
	char store[PATH_MAX];
	snprintf(store, sizeof(store), "%s/store", tmp);
	ok(harness_make_store(store) == 0, "a store");
	ctx.uid = getuid();
	ctx.gid = getgid();
	struct mount_options mo = {.store = store};
	char msg[512] = "";
	if (ipmd_fs_open(&fs, &mo, msg, sizeof(msg)) != 0) {
		ok(0, "open the mailbox: %s", msg);
		return tap_done();
	}
	test_entries();
	test_readdirplus();
	ipmd_fs_close(&fs);
	return tap_done();
}
