/*
 * tests/unit/test_ops_tail.c — appends journaled through an open handle
 * outlive the commit (docs/ARCHITECTURE.md, "Append-friendly tails").
 *
 * The FUSE table runs over a mount as a kernel without no-open calls it
 * (every handle counted in opens), with libfuse's replies replaced
 * (tests/unit/fuse_reply_stub.h), as in test_ops_entry.c.  A child
 * writes a file, fsyncs, appends, fsyncs again (the append journaled as
 * an append record), commits with the handle still open and dies
 * without closing anything; the parent reopens the store and reads what came back.  The commit
 * rotates the journal: unless it sealed the open file's appends, the
 * acknowledged bytes were in the generation it dropped.
 *
 * And an append taken outside the lock (fs/mount/tail.h) that another
 * fsync overtook: journaled late, it would replay its older bytes over
 * the newer ones the live file has; the test crashes without a commit,
 * so the journal alone says what comes back.  Likewise an append over
 * a state whose base a merge replaced in the tree (fs/mount/follow.c):
 * replay would put it on the merged content, the live commit on the
 * state's; it is sealed whole instead.
 */
/* libfuse, its replies this test's: first, as it defines the version */
#include "tests/unit/fuse_reply_stub.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "fs/fuse/ops.h"
#include "fs/model/tree.h"
#include "fs/mount/file.h"
#include "fs/mount/mount.h"
#include "fs/mount/tail.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

static struct ipmd_fs fs;
static struct fuse_reply_stub stub; /* every request's: what ops replied */

/* ---- the mount as the test sees it ---- */

static fuse_req_t req(void)
{
	return fuse_stub_req(&stub);
}

static void open_store(const char *store)
{
	struct mount_options mo = {.store = store};
	char msg[512] = "";
	if (ipmd_fs_open(&fs, &mo, msg, sizeof(msg)) != 0)
		harness_bail("open the mailbox: %s", msg);
}

/* Run child (it exits 0 when every call succeeded, 1 otherwise) in a
 * process that dies as a crash would; then the store opened again. */
static void crash_then_open(void (*child)(const char *),
			    const char *store, const char *what)
{
	pid_t pid = fork();
	if (pid < 0)
		harness_bail("fork");
	if (pid == 0)
		child(store); /* never returns: it _exits */
	int status = 0;
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", what);
	open_store(store);
}

/* Does file name read back as want (12 bytes)? */
static bool reads(const char *name, const char *want)
{
	struct inode *i = fuse_stub_named(&fs, name);
	struct fuse_file_info fi = {.flags = O_RDONLY};
	stub.buf_len = 0;
	if (i)
		ipmd_ops.read(req(), i->ino, sizeof(stub.buf), 0, &fi);
	return i && i->size == 12 && stub.buf_len == 12 &&
	       memcmp(stub.buf, want, 12) == 0;
}

/* File name made, "first\n" written and fsynced (sealed: durable at 6),
 * then "added\n" written past it; 0 or 1 as the children exit. */
static int made_and_grown(const char *name, struct fuse_file_info *fi)
{
	ipmd_ops.create(req(), TREE_ROOT_INO, name, 0600, fi);
	struct inode *i = fuse_stub_named(&fs, name);
	int bad = !i || stub.err;
	uint64_t ino = i ? i->ino : 0;
	ipmd_ops.write(req(), ino, "first\n", 6, 0, fi);
	bad |= stub.err;
	ipmd_ops.fsync(req(), ino, 1, fi);
	bad |= stub.err;
	ipmd_ops.write(req(), ino, "added\n", 6, 6, fi);
	return bad | stub.err;
}

/* An fsync's first half, as seal_open_file runs it: i's state held and
 * its tail taken outside the lock.  The state, or NULL when that is not
 * an append. */
static struct file_state *taken(struct inode *i, struct record *r,
				struct file_tail *t)
{
	pthread_mutex_lock(&fs.lock);
	struct file_state *f = i ? i->file : NULL;
	if (f)
		file_state_hold(f);
	pthread_mutex_unlock(&fs.lock);
	if (f && (ipmd_fs_tail_prepare(&fs, f, i->ino, r, t) ||
		  r->op != REC_APPEND))
		harness_bail("an fsync's tail");
	return f;
}

/* Its second half: the tail logged under the lock, the state let go. */
static int logged(struct inode *i, struct file_state *f, struct record *r,
		  struct file_tail *t)
{
	pthread_mutex_lock(&fs.lock);
	int e = ipmd_fs_tail_log(&fs, i, f, r, t);
	(void)file_state_unhold(f);
	pthread_mutex_unlock(&fs.lock);
	file_tail_free(t);
	return e;
}

static _Noreturn void append_commit_crash(const char *store)
{
	open_store(store);
	fs.no_open = false; /* handles counted: the opens path */
	struct fuse_file_info fi = {.flags = O_RDWR | O_CREAT};
	int bad = made_and_grown("uidlist", &fi);
	struct inode *i = fuse_stub_named(&fs, "uidlist");
	ipmd_ops.fsync(req(), i->ino, 1, &fi); /* journaled as an append */
	bad |= stub.err;
	bad |= ipmd_fs_commit(&fs) != 0;
	_exit(bad); /* a crash: the handle still open, nothing closed */
}

static void test_append_open_commit(const char *store)
{
	crash_then_open(append_commit_crash, store,
			"open handle: create, write, fsync, append, fsync, "
			"commit");
	ok(reads("uidlist", "first\nadded\n"),
	   "after the commit and a crash: the appended bytes are there");
	ipmd_fs_close(&fs);
}

static _Noreturn void overtaken_crash(const char *store)
{
	open_store(store);
	struct fuse_file_info fi = {.flags = O_RDWR | O_CREAT};
	int bad = made_and_grown("b", &fi);
	struct inode *i = fuse_stub_named(&fs, "b");
	struct record r;
	struct file_tail t;
	/* Fsync A takes its tail; before A logs it, a rewrite and fsync B
	 * journal newer bytes at the same offset. */
	struct file_state *f = taken(i, &r, &t);
	ipmd_ops.write(req(), i->ino, "newer\n", 6, 6, &fi);
	bad |= stub.err;
	ipmd_ops.fsync(req(), i->ino, 1, &fi);
	bad |= stub.err;
	bad |= logged(i, f, &r, &t) != 0;
	_exit(bad); /* a crash before any commit */
}

static void test_overtaken(const char *store)
{
	crash_then_open(overtaken_crash, store,
			"fsync A takes its tail, fsync B journals newer "
			"bytes, A logs");
	ok(reads("b", "first\nnewer\n"),
	   "replayed: the newer bytes, as the live file had them");
	ipmd_fs_close(&fs);
}

/* A merge (cache_merge_apply) replaces the content the tree names for a
 * file whose state is kept (an open handle, a write in flight), between
 * an fsync's take and its log: the test does to the inode what it does. */
static void test_merged(const char *store)
{
	open_store(store);
	struct fuse_file_info fi = {.flags = O_RDWR | O_CREAT};
	is_int(made_and_grown("c", &fi), 0, "c made and grown");
	struct inode *i = fuse_stub_named(&fs, "c");
	struct inode *other = fuse_stub_named(&fs, "uidlist");
	if (!i || !other)
		harness_bail("files c and uidlist");
	struct record r;
	struct file_tail t;
	struct file_state *f = taken(i, &r, &t);
	pthread_mutex_lock(&fs.lock);
	i->content = other->content; /* the merge */
	pthread_mutex_unlock(&fs.lock);
	is_int(logged(i, f, &r, &t), 0, "the fsync logs");
	pthread_mutex_lock(&fs.lock);
	ok(!file_modified(i->file),
	   "over merged content: sealed whole instead");
	pthread_mutex_unlock(&fs.lock);
	ok(reads("c", "first\nadded\n"),
	   "the tree names the sealed file, as replay will");
	ipmd_fs_close(&fs);
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
	fuse_stub_init(&stub, &fs);
	test_append_open_commit(store);
	test_overtaken(store);
	test_merged(store);
	return tap_done();
}
