/*
 * tests/unit/test_ops_prefetch.c — a first read of a file prefetches the
 * files after it in its directory, but none the kernel already holds
 * (struct inode, paged; fs/fuse/ops_file.c, prefetch_files).
 *
 * The FUSE table over a mount, libfuse's replies replaced
 * (tests/unit/fuse_reply_stub.h), as in test_ops_entry.c.  A warm
 * grep -r reads only the few files the kernel lost: each such read used
 * to queue the 32 files after it, which the kernel has and never asks
 * for.  What is counted is the prefetcher's requests (prefetch_stats),
 * not time.
 */
/* libfuse, its replies this test's: first, as it defines the version */
#include "tests/unit/fuse_reply_stub.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fs/fuse/ops.h"
#include "fs/model/merge.h"
#include "fs/model/record.h"
#include "fs/model/tree.h"
#include "fs/mount/cache_class.h"
#include "fs/mount/mount.h"
#include "fs/mount/prefetch.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

/* More than one look-ahead: a warm re-read past the last window. */
#define NFILES (PREFETCH_AHEAD + 4)

static struct ipmd_fs fs;
static struct fuse_reply_stub stub;

static fuse_req_t req(void)
{
	return fuse_stub_req(&stub);
}

static uint64_t queued(void)
{
	struct prefetch_stats s;
	prefetch_stats(fs.prefetch, &s);
	return s.queued;
}

/* A file written, fsynced and closed (handles counted, as without
 * no-open): sealed, no file state left, one lookup. */
static uint64_t make_file(const char *name)
{
	struct fuse_file_info fi = {.flags = O_WRONLY | O_CREAT};
	char body[200];
	snprintf(body, sizeof(body), "From: a@b\n\n%s\n", name);
	ipmd_ops.create(req(), TREE_ROOT_INO, name, 0600, &fi);
	fi.fh = stub.fh;
	struct inode *i = fuse_stub_named(&fs, name);
	uint64_t ino = i ? i->ino : 0;
	ipmd_ops.write(req(), ino, body, strlen(body), 0, &fi);
	ipmd_ops.fsync(req(), ino, 0, &fi);
	ipmd_ops.flush(req(), ino, &fi);
	ipmd_ops.release(req(), ino, &fi);
	return ino;
}

static void read_first(uint64_t ino)
{
	struct fuse_file_info fi = {.flags = O_RDONLY};
	ipmd_ops.read(req(), ino, 4096, 0, &fi);
}

static bool paged(uint64_t ino)
{
	pthread_mutex_lock(&fs.lock);
	struct inode *i = tree_get(fs.tree, ino);
	bool p = i && i->paged;
	pthread_mutex_unlock(&fs.lock);
	return p;
}

static void test_prefetch(void)
{
	uint64_t ino[NFILES];
	char name[16];
	stub.result = 0;
	fs.no_open = false;
	for (int i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		ino[i] = make_file(name);
	}
	ok(ipmd_fs_commit(&fs) == 0, "%d files made and committed", NFILES);
	fs.no_open = true;

	uint64_t q0 = queued();
	read_first(ino[0]);
	is_int(stub.err, 0, "a first read of m0");
	ok(paged(ino[0]) && !paged(ino[1]),
	   "m0 is marked as in the kernel's page cache, m1 not");
	is_int(queued() - q0, PREFETCH_AHEAD,
	       "the %d files after it are prefetched", PREFETCH_AHEAD);
	for (int i = 1; i < NFILES; i++)
		read_first(ino[i]);
	ok(paged(ino[1]) && paged(ino[NFILES - 1]), "read: every file paged");

	/* Warm: the kernel lost m0 and asks again (a grep -r reads only
	 * such files); m2 it forgot (its inode, and its pages, gone). */
	ipmd_ops.forget(req(), ino[2], 1);
	ok(!paged(ino[2]), "forgotten: m2 no longer counts as paged");
	q0 = queued();
	read_first(ino[0]);
	is_int(queued() - q0, 1,
	       "m0 read again: only m2 is prefetched, not the %d files the "
	       "kernel holds", PREFETCH_AHEAD - 1);

	/* A merge gives m3 the other device's content (as follow.c's
	 * merge_locked applies a plan) and tells the kernel to drop its
	 * pages: m3 is no longer in the page cache, and is prefetched. */
	pthread_mutex_lock(&fs.lock);
	struct inode *m3 = tree_get(fs.tree, ino[3]);
	struct inode *m4 = tree_get(fs.tree, ino[4]);
	struct record r = {.op = REC_CONTENT, .ino = ino[3]};
	if (m3 && m4) {
		r.content = m4->content;
		r.mtime = r.time = m4->mtime;
	}
	struct merge_plan plan = {.recs = &r, .n = 1};
	size_t failed = cache_merge_apply(fs.tree, &plan,
					  ipmd_fs_release_inode, &fs);
	pthread_mutex_unlock(&fs.lock);
	is_int(failed, 0, "a merge's content change for m3 applied");
	ok(!paged(ino[3]), "m3's content replaced: no longer paged");
	/* The last file's read first, so that m0's hands its window out
	 * again (prefetch_ahead skips what the last read handed out). */
	read_first(ino[NFILES - 1]);
	q0 = queued();
	read_first(ino[0]);
	is_int(queued() - q0, 2, "m0 read again: m2 and m3 are prefetched");
}

int main(void)
{
	if (!fuse_stub_start(&fs, &stub))
		return tap_done();
	/* The prefetcher alone of the mount's threads (ipmd_fs_close stops
	 * it). */
	if (!ok(prefetch_start(&fs.st, &fs.prefetch) == 0, "prefetcher"))
		return tap_done();
	test_prefetch();
	ipmd_fs_close(&fs);
	return tap_done();
}
