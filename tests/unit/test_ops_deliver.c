/*
 * tests/unit/test_ops_deliver.c — a Maildir delivery through the FUSE
 * table (write tmp/NAME, fsync it, close it, rename it into new/) and a
 * power cut after its fsync or after its rename.  The fsync of a file in
 * tmp/ is answered once journaled, with no sync of its own; the rename
 * into new/ is durable on return and carries the content
 * (fs/fuse/ops_durable.c, ops_reply_fsync; fs/model/maildir.h,
 * maildir_is_delivery).  So after the rename new/NAME must come back
 * whole; after the fsync alone (no sync or commit since tmp/NAME was
 * made), tmp/NAME absent or whole, never torn.
 *
 * A power cut keeps what a sync covered and loses the rest.  This test
 * defines fsync and fdatasync (the executable's, so every call in the
 * mount's code comes here): each notes the size of the file it syncs,
 * then syncs.  At its crash the child cuts every journal file to the
 * size its last sync covered, deletes every block file made since the
 * mailbox opened that no sync covered (a block too big for the journal,
 * fs/store/wal_store.h), and dies with nothing closed; the parent opens
 * the store again and reads what came back.  Each case gets a store of
 * its own.  The model ignores directory entries (a block file synced is
 * taken as kept): what it checks is the order of the syncs.
 */
/* libfuse, its replies this test's: first, as it defines the version */
#include "tests/unit/fuse_reply_stub.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "fs/fuse/ops.h"
#include "fs/model/tree.h"
#include "fs/mount/file.h"
#include "fs/mount/mount.h"
#include "fs/mount/tail.h"
#include "fs/store/journal.h"
#include "fs/store/store.h"
#include "fs/store/wal_store.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"
#include "util/log.h"

static struct ipmd_fs fs;
static struct fuse_reply_stub stub;

/* ---- syncs, noted: what a power cut keeps ---- */

#define SYNCED_MAX 4096
static struct {
	pthread_mutex_t lock;
	size_t n;
	struct synced {
		dev_t dev;
		ino_t ino;
		off_t size;
	} f[SYNCED_MAX];
	unsigned long syncs; /* fsync and fdatasync calls */
} synced = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Before the sync: bytes written later may miss it. */
static void note_sync(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return;
	pthread_mutex_lock(&synced.lock);
	synced.syncs++;
	size_t i = 0;
	while (i < synced.n && (synced.f[i].dev != st.st_dev ||
				synced.f[i].ino != st.st_ino))
		i++;
	if (i == synced.n && synced.n < SYNCED_MAX)
		synced.f[synced.n++] = (struct synced){st.st_dev, st.st_ino, 0};
	if (i < synced.n && st.st_size > synced.f[i].size)
		synced.f[i].size = st.st_size;
	pthread_mutex_unlock(&synced.lock);
}

int fsync(int fd)
{
	note_sync(fd);
	return (int)syscall(SYS_fsync, fd);
}

int fdatasync(int fd)
{
	note_sync(fd);
	return (int)syscall(SYS_fdatasync, fd);
}

/* How much of the file st a sync covered; -1: none. */
static off_t synced_size(const struct stat *st)
{
	off_t size = -1;
	pthread_mutex_lock(&synced.lock);
	for (size_t i = 0; i < synced.n; i++)
		if (synced.f[i].dev == st->st_dev &&
		    synced.f[i].ino == st->st_ino)
			size = synced.f[i].size;
	pthread_mutex_unlock(&synced.lock);
	return size;
}

static unsigned long syncs(void)
{
	pthread_mutex_lock(&synced.lock);
	unsigned long n = synced.syncs;
	pthread_mutex_unlock(&synced.lock);
	return n;
}

/* The block files when the mailbox opened, and whether the walk notes
 * them (at the open) or deletes the new ones (at the cut): nftw takes no
 * argument for its callback. */
static struct {
	bool cut;
	size_t n;
	ino_t ino[SYNCED_MAX];
	bool count;   /* only count the new ones, in fresh */
	size_t fresh;
} blocks;

static bool was_before(ino_t ino)
{
	for (size_t i = 0; i < blocks.n; i++)
		if (blocks.ino[i] == ino)
			return true;
	return false;
}

/* Note a block file (at the open), or delete it when it was made since
 * and no sync covered it (at the cut). */
static int block_file(const char *p, const struct stat *st, int type,
		      struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_F)
		return 0;
	if (blocks.count)
		blocks.fresh += !was_before(st->st_ino);
	else if (!blocks.cut && blocks.n < SYNCED_MAX)
		blocks.ino[blocks.n++] = st->st_ino;
	else if (blocks.cut && !was_before(st->st_ino) && synced_size(st) < 0)
		unlink(p);
	return 0;
}

static void walk_blocks(const char *store, bool cut)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s/%s", store, STORE_BLOCKS_DIR) >=
	    (int)sizeof(dir))
		_exit(3);
	blocks.cut = cut;
	nftw(dir, block_file, 16, FTW_PHYS);
}

/* Block files made since walk_blocks noted them. */
static size_t new_blocks(const char *store)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s/%s", store, STORE_BLOCKS_DIR) >=
	    (int)sizeof(dir))
		_exit(3);
	blocks.count = true;
	blocks.fresh = 0;
	nftw(dir, block_file, 16, FTW_PHYS);
	blocks.count = false;
	return blocks.fresh;
}

/* Records past what a sync covered that a cut keeps (each record whole:
 * one write, journal.h, "Replay"): 0, the power cut; k, a cut after the
 * k-th record of those not synced. */
static size_t keep_records;

/* From keep, the end of the next keep_records records of the journal
 * file p of size bytes (its u32be length fields read). */
static off_t past_records(const char *p, off_t keep, off_t size)
{
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		_exit(3);
	for (size_t k = 0; k < keep_records && keep + 4 <= size; k++) {
		uint8_t len[4];
		if (pread(fd, len, 4, keep) != 4)
			_exit(3);
		off_t end = keep + 4 +
			    (off_t)((uint32_t)len[0] << 24 | len[1] << 16 |
				    len[2] << 8 | len[3]);
		if (end > size)
			break;
		keep = end;
	}
	close(fd);
	return keep;
}

/* A journal file: back to what its syncs covered (the header, which
 * every new one is synced with, when none did). */
static int journal_file(const char *p, const struct stat *st, int type,
			struct FTW *ftw)
{
	if (type != FTW_F || !strstr(p + ftw->base, JOURNAL_SUFFIX))
		return 0;
	off_t keep = synced_size(st);
	if (keep < JOURNAL_HEADER_BYTES)
		keep = JOURNAL_HEADER_BYTES;
	keep = past_records(p, keep, st->st_size);
	if (st->st_size > keep && truncate(p, keep) != 0)
		_exit(3);
	return 0;
}

/* The power cut: the journal cut back, unsynced new blocks gone. */
static void power_cut(const char *store)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s/%s", store, STORE_JOURNAL_DIR) >=
	    (int)sizeof(dir))
		_exit(3);
	nftw(dir, journal_file, 16, FTW_PHYS);
	walk_blocks(store, true);
}

/* ---- the mailbox ---- */

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

/* The inode dir/name names below the root, or NULL. */
static struct inode *entry(const char *dir, const char *name)
{
	struct inode *in = fuse_stub_named(&fs, dir);
	pthread_mutex_lock(&fs.lock);
	struct dirent *d = in ? tree_lookup(in, name) : NULL;
	pthread_mutex_unlock(&fs.lock);
	return d ? d->inode : NULL;
}

static uint64_t ino_of(const char *dir)
{
	struct inode *in = fuse_stub_named(&fs, dir);
	return in ? in->ino : 0;
}

/* Byte k of a message of size bytes: every chunk different. */
static char byte_at(size_t k, size_t size)
{
	return (char)('a' + (k / 61 + size) % 26);
}

/* Do the bytes of in from off (a stub buffer's worth, or to end) read
 * back as the message of size bytes? */
static bool piece_ok(struct inode *in, size_t off, size_t end, size_t size)
{
	struct fuse_file_info fi = {.flags = O_RDONLY};
	size_t want = end - off < FUSE_STUB_BUF ? end - off : FUSE_STUB_BUF;
	stub.buf_len = 0;
	stub.err = 0;
	ipmd_ops.read(req(), in->ino, want, (off_t)off, &fi);
	if (stub.err || stub.buf_len != want)
		return false;
	for (size_t k = 0; k < want; k++)
		if (stub.buf[k] != byte_at(off + k, size))
			return false;
	return true;
}

/* Does in hold exactly the first len bytes of the message of size
 * bytes?  Read every 4 KiB and at the end. */
static bool prefix(struct inode *in, size_t len, size_t size)
{
	if (!in || in->size != len)
		return false;
	if (len == 0)
		return true;
	size_t last = len > FUSE_STUB_BUF ? len - FUSE_STUB_BUF : 0;
	for (size_t off = 0; off < last; off += 4096)
		if (!piece_ok(in, off, len, size))
			return false;
	return piece_ok(in, last, len, size);
}

/* Does in hold exactly the message of size bytes? */
static bool whole(struct inode *in, size_t size)
{
	return prefix(in, size, size);
}

/* ---- the cases ---- */

struct delivery {
	size_t size;
	bool renamed; /* the cut after the rename, else after the fsync */
	const char *what;
};

#define NAME "1.M1P1.host"

/* The child: deliver, cut, die.  Exit 0: every call answered 0, the
 * fsync synced nothing and a cur/ file's fsync did (the control). */
static _Noreturn void deliver(const char *store, const struct delivery *c)
{
	open_store(store);
	walk_blocks(store, false);
	struct fuse_file_info fi = {.flags = O_WRONLY | O_CREAT | O_EXCL};
	ipmd_ops.create(req(), ino_of("tmp"), NAME, 0600, &fi);
	struct inode *in = entry("tmp", NAME);
	int bad = stub.err || !in;
	char *body = malloc(c->size);
	if (bad || !body)
		_exit(2);
	for (size_t k = 0; k < c->size; k++)
		body[k] = byte_at(k, c->size);
	for (size_t off = 0; off < c->size; off += 65536) {
		size_t n = c->size - off < 65536 ? c->size - off : 65536;
		ipmd_ops.write(req(), in->ino, body + off, n, (off_t)off, &fi);
		bad |= stub.err != 0;
	}
	unsigned long s0 = syncs();
	ipmd_ops.fsync(req(), in->ino, 1, &fi);
	bad |= stub.err != 0;
	bad |= (syncs() != s0) << 2; /* the deferral: no sync of its own */
	if (c->renamed) {
		ipmd_ops.flush(req(), in->ino, &fi);
		ipmd_ops.release(req(), in->ino, &fi);
		bad |= stub.err != 0;
		ipmd_ops.rename(req(), ino_of("tmp"), NAME, ino_of("new"), NAME,
				0);
		bad |= stub.err != 0;
	}
	power_cut(store);
	_exit(bad);
}

/* A fresh store and a child to crash in it: 0 in the child, its pid in
 * the parent. */
static pid_t forked(const char *store)
{
	if (harness_make_store(store) != 0)
		harness_bail("make %s", store);
	pid_t pid = fork();
	if (pid < 0)
		harness_bail("fork");
	return pid;
}

/* The child's wait status. */
static int reaped(pid_t pid)
{
	int status = 0;
	waitpid(pid, &status, 0);
	return status;
}

static void test_delivery(const struct delivery *c, const char *store)
{
	pid_t pid = forked(store);
	if (pid == 0)
		deliver(store, c);
	int status = reaped(pid);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "%s: every call answered 0, and the fsync of tmp/%s synced "
	   "nothing (exit %d)",
	   c->what, NAME, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	open_store(store);
	struct inode *t = entry("tmp", NAME), *n = entry("new", NAME);
	if (c->renamed)
		ok(n && !t && whole(n, c->size),
		   "%s, power cut: new/%s whole, tmp/ empty (new %s, tmp %s)",
		   c->what, NAME, n ? "there" : "absent",
		   t ? "there" : "absent");
	else
		ok(!n && (!t || whole(t, c->size)),
		   "%s, power cut: tmp/%s absent or whole, nothing in new/ "
		   "(tmp %s, %s)",
		   c->what, NAME, t ? "there" : "absent",
		   t && whole(t, c->size) ? "whole" : "not whole");
	ipmd_fs_close(&fs);
}

/* The control: an fsync outside tmp/ keeps its sync. */
static void test_fsync_elsewhere(const char *store)
{
	if (harness_make_store(store) != 0)
		harness_bail("make %s", store);
	open_store(store);
	struct fuse_file_info fi = {.flags = O_WRONLY | O_CREAT | O_EXCL};
	ipmd_ops.create(req(), ino_of("cur"), NAME ":2,S", 0600, &fi);
	struct inode *in = entry("cur", NAME ":2,S");
	if (in)
		ipmd_ops.write(req(), in->ino, "message\n", 8, 0, &fi);
	unsigned long s0 = syncs();
	if (in)
		ipmd_ops.fsync(req(), in->ino, 1, &fi);
	ok(in && !stub.err && syncs() > s0,
	   "a file's fsync in cur/ syncs before it returns");
	ipmd_fs_close(&fs);
}

/* A message in tmp/ fsynced, appended to and fsynced again (the append
 * journaled as such, fs/mount/tail.h) and renamed into new/ while still
 * open: it enters new/ sealed whole, as every message does (only a
 * replacement file's appends stand in for its seal at a rename). */
static void test_appended_then_renamed(const char *store)
{
	if (harness_make_store(store) != 0)
		harness_bail("make %s", store);
	open_store(store);
	struct fuse_file_info fi = {.flags = O_WRONLY | O_CREAT | O_EXCL};
	ipmd_ops.create(req(), ino_of("tmp"), NAME, 0600, &fi);
	struct inode *in = entry("tmp", NAME);
	int bad = stub.err || !in;
	if (in) {
		ipmd_ops.write(req(), in->ino, "Subject: a\n\n", 13, 0, &fi);
		ipmd_ops.fsync(req(), in->ino, 1, &fi);
		bad |= stub.err;
		ipmd_ops.write(req(), in->ino, "body\n", 5, 13, &fi);
		ipmd_ops.fsync(req(), in->ino, 1, &fi);
		bad |= stub.err;
		ipmd_ops.rename(req(), ino_of("tmp"), NAME, ino_of("new"), NAME,
				0);
		bad |= stub.err;
	}
	pthread_mutex_lock(&fs.lock);
	uint64_t sealed = in ? in->content.size : 0;
	bool pending = in && in->file && file_modified(in->file);
	pthread_mutex_unlock(&fs.lock);
	ok(!bad && sealed == 18 && !pending,
	   "a message appended to in tmp/ enters new/ sealed whole (%llu of "
	   "18 bytes sealed, %s)",
	   (unsigned long long)sealed, pending ? "changes pending" : "none");
	if (in) {
		ipmd_ops.flush(req(), in->ino, &fi);
		ipmd_ops.release(req(), in->ino, &fi);
	}
	ipmd_fs_close(&fs);
}

/* ---- a replacement file over one append record (fs/mount/tail.h) ----
 *
 * dovecot-uidlist.tmp written whole (size bytes), fsynced, renamed over
 * dovecot-uidlist (whose old version, OLD_SIZE bytes, a sync covered):
 * Dovecot's rewrite.  The cut keeps `keep` records past the last sync
 * (the appends, then the rename's). */
#define UIDLIST "dovecot-uidlist"
#define OLD_SIZE 3000

struct replacement {
	size_t size;
	size_t keep;  /* records kept past the last sync */
	bool renamed;
	const char *what;
};

static size_t records_of(size_t size)
{
	return (size + RECORD_APPEND_MAX - 1) / RECORD_APPEND_MAX;
}

/* A file name in the root written whole (size bytes), fsynced; 0 or
 * which step failed. */
static int written(const char *name, size_t size, bool fsync_it,
		   struct inode **in, struct fuse_file_info *fi)
{
	*fi = (struct fuse_file_info){.flags = O_WRONLY | O_CREAT | O_EXCL};
	ipmd_ops.create(req(), FUSE_ROOT_ID, name, 0600, fi);
	*in = fuse_stub_named(&fs, name);
	char *body = malloc(size);
	if (stub.err || !*in || !body) {
		free(body);
		return 1;
	}
	for (size_t k = 0; k < size; k++)
		body[k] = byte_at(k, size);
	int bad = 0;
	for (size_t off = 0; off < size; off += 65536) {
		size_t n = size - off < 65536 ? size - off : 65536;
		ipmd_ops.write(req(), (*in)->ino, body + off, n, (off_t)off, fi);
		bad |= stub.err != 0;
	}
	free(body);
	if (fsync_it)
		ipmd_ops.fsync(req(), (*in)->ino, 1, fi);
	return bad || stub.err ? 2 : 0;
}

/* The child: the old version synced, the rewrite, the cut.  Exit 0:
 * every call answered 0, the fsync journaled records_of(size) records
 * (a file within TAIL_JOURNAL_MAX), left the file unsealed and made no
 * block file, nor did the rename; over the bound, the fsync sealed it
 * into block files, as before. */
static _Noreturn void rewrite(const char *store, const struct replacement *c)
{
	open_store(store);
	struct fuse_file_info fi;
	struct inode *in;
	int bad = written(UIDLIST, OLD_SIZE, true, &in, &fi);
	if (!bad)
		ipmd_ops.release(req(), in->ino, &fi);
	bad |= stub.err != 0;
	bool within = c->size <= TAIL_JOURNAL_MAX;
	bad |= written(UIDLIST ".tmp", c->size, false, &in, &fi);
	/* What the cut keeps counts from here: the create synced. */
	bad |= journal_sync(fs.journal) != 0;
	walk_blocks(store, false);
	struct journal_stats j0, j1;
	journal_stats(fs.journal, &j0);
	if (!bad)
		ipmd_ops.fsync(req(), in->ino, 1, &fi);
	journal_stats(fs.journal, &j1);
	bad |= (stub.err != 0) << 1;
	if (within && j1.appends - j0.appends != records_of(c->size))
		bad |= 1 << 2;
	pthread_mutex_lock(&fs.lock);
	bool sealed = !in->file || !file_modified(in->file);
	pthread_mutex_unlock(&fs.lock);
	if (within ? new_blocks(store) != 0 || sealed
		   : new_blocks(store) == 0 || !sealed)
		bad |= 1 << 3;
	if (c->renamed && !bad) {
		ipmd_ops.flush(req(), in->ino, &fi);
		ipmd_ops.release(req(), in->ino, &fi);
		ipmd_ops.rename(req(), FUSE_ROOT_ID, UIDLIST ".tmp",
				FUSE_ROOT_ID, UIDLIST, 0);
		bad |= (stub.err != 0) << 4;
		if (within && new_blocks(store) != 0)
			bad |= 1 << 5; /* the rename sealed it */
	}
	keep_records = c->keep;
	power_cut(store);
	_exit(bad);
}

static void test_rewrite(const struct replacement *c, const char *store)
{
	pid_t pid = forked(store);
	if (pid == 0)
		rewrite(store, c);
	int status = reaped(pid);
	size_t n = records_of(c->size);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "%s: every call answered 0; %s (exit %d)", c->what,
	   c->size <= TAIL_JOURNAL_MAX
		   ? "the fsync journaled one append record per 16 KiB and "
		     "made no block file, nor did the rename"
		   : "the fsync sealed it into a block file, as before",
	   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	open_store(store);
	struct inode *name = fuse_stub_named(&fs, UIDLIST), *tmp = fuse_stub_named(&fs, UIDLIST ".tmp");
	/* The appends in order, then the rename's record: k of them kept
	 * leave the first k * 16 KiB under the temporary name. */
	bool all = c->keep >= n, moved = c->renamed && c->keep > n;
	size_t len = all ? c->size : c->keep * RECORD_APPEND_MAX;
	if (moved)
		ok(!tmp && whole(name, c->size),
		   "%s, cut after the rename: %s the new version, whole",
		   c->what, UIDLIST);
	else
		ok(whole(name, OLD_SIZE) && prefix(tmp, len, c->size),
		   "%s, cut after %zu of %zu records: %s the old version, "
		   "%s.tmp its first %zu bytes (%s)",
		   c->what, c->keep, n, UIDLIST, UIDLIST, len,
		   !tmp ? "absent"
			: prefix(tmp, len, c->size) ? "so" : "other bytes");
	ipmd_fs_close(&fs);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	alarm(120);
	if (log_to_file(harness_path("log")))
		harness_bail("log_to_file");
	fuse_stub_init(&stub, &fs);
	static const struct delivery cases[] = {
		{1000, false, "a small message fsynced in tmp/"},
		{1000, true, "a small message fsynced and renamed into new/"},
		{WAL_EMBED_MAX * 3, false,
		 "a message over the journal's embedding limit, fsynced"},
		{WAL_EMBED_MAX * 3, true,
		 "a message over the journal's embedding limit, renamed"},
	};
	char store[PATH_MAX];
	for (size_t k = 0; k < sizeof(cases) / sizeof(*cases); k++) {
		snprintf(store, sizeof(store), "%s/store%zu", tap_tempdir(), k);
		test_delivery(&cases[k], store);
	}
	snprintf(store, sizeof(store), "%s/store-cur", tap_tempdir());
	test_fsync_elsewhere(store);
	snprintf(store, sizeof(store), "%s/store-append", tap_tempdir());
	test_appended_then_renamed(store);
	/* 100 KiB: 7 records (6 of 16 KiB and one of 4 KiB). */
	static const struct replacement rewrites[] = {
		{100 * 1024, 0, false, "100 KiB dovecot-uidlist.tmp, cut at once"},
		{100 * 1024, 3, false, "100 KiB dovecot-uidlist.tmp"},
		{100 * 1024, 7, false, "100 KiB dovecot-uidlist.tmp, all kept"},
		{100 * 1024, 7, true, "100 KiB rewrite renamed, rename lost"},
		{100 * 1024, 8, true, "100 KiB rewrite renamed"},
		/* The largest that fills no chunk (a full one is sealed by
		 * the write that fills it, file.h): 16 records. */
		{TAIL_JOURNAL_MAX - 1, 17, true,
		 "a rewrite of TAIL_JOURNAL_MAX - 1 bytes"},
		{TAIL_JOURNAL_MAX + 1, SIZE_MAX, true,
		 "a rewrite past TAIL_JOURNAL_MAX"},
	};
	for (size_t k = 0; k < sizeof(rewrites) / sizeof(*rewrites); k++) {
		snprintf(store, sizeof(store), "%s/store-rewrite%zu",
			 tap_tempdir(), k);
		test_rewrite(&rewrites[k], store);
	}
	return tap_done();
}
