/*
 * tests/unit/test_ops_tail.c — appends journaled through an open handle
 * outlive the commit (docs/ARCHITECTURE.md, "Append-friendly tails").
 *
 * The FUSE table runs over a mount as a kernel without no-open calls it
 * (every handle counted in opens), with libfuse's replies replaced
 * (tests/unit/fuse_reply_stub.h), as in test_ops_entry.c.  A child writes a file, fsyncs,
 * appends, fsyncs again (the append journaled as an append record),
 * commits with the handle still open and dies without closing anything;
 * the parent reopens the store and reads what came back.  The commit
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
 *
 * And a tail of several append records (fs/mount/tail.h) taken before a
 * commit and logged after it: its records go to the generation the
 * commit opened, and replay rebuilds the file.
 *
 * And a commit whose seal of journaled appends fails (a put refused):
 * the appends live only in the journal's generation, so the commit must
 * not rotate past it (mount.c, ipmd_fs_commit).  The file's chunks go
 * through fs.st, the commit's directory nodes and commit block through
 * fs.stack.direct and fs.stack.top: a layer over fs.st alone refuses the
 * seal and nothing else, so only that refusal keeps the commit from
 * going through and dropping the generation.  Crashed right after, the
 * journal must give every byte back; kept running, the next commit
 * (puts working again) must seal them.
 *
 * And content records (fs/mount/file.h, "Seal order"): an fsync's seal,
 * made outside the lock, journaled after a later seal's record (replay
 * would end on the older content); and a seal made but not yet
 * journaled when another fsync, finding nothing to seal, or a commit
 * rotating past appends it covers, must make it durable; and a seal of
 * unchanged bytes (the tree's very CID) not yet journaled when another
 * fsync's append comes, which must not go over it.
 */
/* libfuse, its replies this test's: first, as it defines the version */
#include "tests/unit/fuse_reply_stub.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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
#include "fs/store/journal.h"
#include "ipfs/blockstore.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"
#include "util/log.h"

static struct ipmd_fs fs;
static struct fuse_reply_stub stub; /* every request's: what ops replied */

/* ---- the mount as the test sees it ---- */

static fuse_req_t req(void)
{
	return fuse_stub_req(&stub);
}

static struct inode *named_locked(const char *name)
{
	struct dirent *d = tree_lookup(tree_get(fs.tree, TREE_ROOT_INO), name);
	return d ? d->inode : NULL;
}

static struct inode *named(const char *name)
{
	return fuse_stub_named(&fs, name);
}

static void open_store(const char *store)
{
	struct mount_options mo = {.store = store};
	char msg[512] = "";
	if (ipmd_fs_open(&fs, &mo, msg, sizeof(msg)) != 0)
		harness_bail("open the mailbox: %s", msg);
}

/* The store opened; opens: as a kernel that calls open, every handle
 * counted in opens (the opens path), not as one without no-open. */
static void open_store_as(const char *store, bool opens)
{
	open_store(store);
	if (opens)
		fs.no_open = false;
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
	struct inode *i = named(name);
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
	struct inode *i = named(name);
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
 * its record prepared outside the lock, of kind op (REC_APPEND: a tail
 * taken; REC_CONTENT: the state sealed).  The state, or NULL when i has
 * none. */
static struct file_state *taken(struct inode *i, struct record *r,
				struct file_tail *t, enum record_op op)
{
	pthread_mutex_lock(&fs.lock);
	struct file_state *f = i ? i->file : NULL;
	if (f)
		file_state_hold(f);
	pthread_mutex_unlock(&fs.lock);
	if (f && (ipmd_fs_tail_prepare(&fs, f, i->ino, false, r, t) ||
		  r->op != op))
		harness_bail("an fsync's first half");
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
	open_store_as(store, true);
	struct fuse_file_info fi = {.flags = O_RDWR | O_CREAT};
	int bad = made_and_grown("uidlist", &fi);
	struct inode *i = named("uidlist");
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

/* A merge (cache_merge_apply) replaces the content the tree names for a
 * file whose state is kept (an open handle, a write in flight), between
 * an fsync's take and its log: the test does to the inode what it does. */
static void test_merged(const char *store)
{
	open_store(store);
	struct fuse_file_info fi = {.flags = O_RDWR | O_CREAT};
	is_int(made_and_grown("c", &fi), 0, "c made and grown");
	struct inode *i = named("c"), *other = named("uidlist");
	if (!i || !other)
		harness_bail("files c and uidlist");
	struct record r;
	struct file_tail t;
	struct file_state *f = taken(i, &r, &t, REC_APPEND);
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

/* ---- a commit whose seal of journaled appends fails ---- */

/* A layer over the mount's object store whose every put fails. */
struct refusing {
	struct blockstore base;
};

static int refusing_put(struct blockstore *bs, const uint8_t *data,
			size_t len, unsigned flags, struct cid *cid_out)
{
	(void)bs;
	(void)data;
	(void)len;
	(void)flags;
	(void)cid_out;
	return -EIO;
}

static const struct blockstore_ops refusing_ops = {
	.version = BLOCKSTORE_OPS_VERSION,
	.name = "refusing",
	.put = refusing_put,
};

/* Over fs.st only (see the top of this file). */
static void refuse_seals(struct refusing *r)
{
	memset(r, 0, sizeof(*r));
	bs_wrap(&r->base, &refusing_ops, fs.st.bs);
	fs.st.bs = &r->base;
}

/* Taken out again before anything closes the stack (the layer owns no
 * part of it: it is never closed).  Nothing when r is not in place
 * (commit_refused stopped before refuse_seals). */
static void allow_seals(struct refusing *r)
{
	if (fs.st.bs == &r->base)
		fs.st.bs = bs_parent(&r->base);
}

/* File name made and grown as made_and_grown does, the growth fsynced
 * (journaled as an append: nothing sealed); then a commit with the seal
 * refused.  0 when each step went as it should, else which one did not:
 * 1 a FUSE call, 2 the commit went through, 3 it rotated the journal, 4
 * it moved the head. */
static int commit_refused(const char *name, struct refusing *r)
{
	memset(r, 0, sizeof(*r)); /* for allow_seals, whatever step fails */
	struct fuse_file_info fi = {.flags = O_RDWR | O_CREAT};
	int bad = made_and_grown(name, &fi);
	struct inode *i = named(name);
	if (bad || !i)
		return 1;
	ipmd_ops.fsync(req(), i->ino, 1, &fi);
	if (stub.err)
		return 1;
	uint64_t gen = journal_gen(fs.journal), seq = fs.head.seq;
	refuse_seals(r);
	int e = ipmd_fs_commit(&fs);
	if (e == 0)
		return 2;
	if (journal_gen(fs.journal) != gen)
		return 3;
	return fs.head.seq != seq ? 4 : 0;
}

static _Noreturn void refused_crash(const char *store)
{
	struct refusing r;
	open_store(store);
	int bad = commit_refused("refused", &r);
	if (bad)
		fprintf(stderr, "# commit_refused: step %d\n", bad);
	_exit(bad != 0); /* a crash: nothing sealed, nothing closed */
}

static void test_refused_crash(const char *store)
{
	crash_then_open(refused_crash, store,
			"append journaled, the commit's seal refused: the "
			"commit fails, the journal's generation and the "
			"head stay");
	ok(reads("refused", "first\nadded\n"),
	   "after that commit and a crash: the journal gives back the "
	   "appended bytes");
	ipmd_fs_close(&fs);
}

/* Does the log (main sends it to tap_tempdir()/log) have a line with
 * text? */
static bool log_says(const char *text)
{
	size_t len;
	char *log = (char *)harness_read_file(harness_path("log"), &len);
	bool found = false;
	for (size_t i = 0; log && !found && i < len; i++)
		found = len - i >= strlen(text) &&
			memcmp(log + i, text, strlen(text)) == 0;
	free(log);
	return found;
}

static void test_refused_retry(const char *store)
{
	struct refusing r;
	open_store(store);
	is_int(commit_refused("retried", &r), 0,
	       "append journaled, the commit's seal refused: the commit "
	       "fails, the journal's generation and the head stay");
	char want[64];
	snprintf(want, sizeof(want), "commit %llu failed",
		 (unsigned long long)fs.head.seq + 1);
	ok(log_says(want), "… and the log names the commit it was making "
	   "(%s), though it failed before filling it", want);
	allow_seals(&r);
	uint64_t gen = journal_gen(fs.journal), seq = fs.head.seq;
	is_int(ipmd_fs_commit(&fs), 0, "puts work again: the next commit "
	       "goes through");
	ok(journal_gen(fs.journal) > gen && fs.head.seq > seq,
	   "… rotating the journal and moving the head");
	pthread_mutex_lock(&fs.lock);
	struct inode *i = named_locked("retried");
	ok(i && (!i->file || !file_modified(i->file)),
	   "… with the appended file sealed");
	pthread_mutex_unlock(&fs.lock);
	ipmd_fs_close(&fs);
	open_store(store);
	ok(reads("retried", "first\nadded\n"),
	   "reopened: the commit holds every byte");
	ipmd_fs_close(&fs);
}

/* Fsync A's first half on i (op as taken wants); six bytes written at
 * offset 6 and fsynced (acknowledged) by another call; A's second half.
 * 0 when every call succeeded, else 1. */
static int a_between(struct inode *i, struct fuse_file_info *fi,
		     enum record_op op, const char *six)
{
	struct record r;
	struct file_tail t;
	struct file_state *f = taken(i, &r, &t, op);
	ipmd_ops.write(req(), i->ino, six, 6, 6, fi);
	int bad = stub.err;
	ipmd_ops.fsync(req(), i->ino, 1, fi);
	bad |= stub.err;
	bad |= logged(i, f, &r, &t) != 0;
	return bad != 0;
}

/* Fsync A's first half on file name, op: its tail taken (REC_APPEND,
 * over made_and_grown's append) or its content sealed (REC_CONTENT, over
 * a rewrite of byte 0: "First\nadded\n").  Before A logs, a write and
 * fsync B journal newer bytes at 6; A logs last, and the process dies
 * before any commit, so the journal alone says what comes back. */
static _Noreturn void overtaken_by_b(const char *store, const char *name,
				     enum record_op op)
{
	open_store(store);
	struct fuse_file_info fi = {.flags = O_RDWR | O_CREAT};
	int bad = made_and_grown(name, &fi);
	struct inode *i = named(name);
	if (op == REC_CONTENT)
		ipmd_ops.write(req(), i->ino, "F", 1, 0, &fi);
	bad |= stub.err;
	bad |= a_between(i, &fi, op, "newer\n");
	_exit(bad);
}

static _Noreturn void overtaken_crash(const char *store)
{
	overtaken_by_b(store, "b", REC_APPEND);
}

static _Noreturn void content_overtaken_crash(const char *store)
{
	overtaken_by_b(store, "d", REC_CONTENT);
}

/* Fsync B seals file name (made_and_grown, byte 0 rewritten: "First\n
 * added\n") outside the lock and has not logged it when a call that
 * must make it durable comes: fsync A (!commit), which finds nothing
 * modified; or, on the opens path with the append "added\n" journaled
 * before the rewrite, a commit, which rotates the journal past the
 * generation holding the append.  The process dies before B logs. */
static _Noreturn void seal_in_flight(const char *store, const char *name,
				     bool commit)
{
	open_store_as(store, commit);
	struct fuse_file_info fi = {.flags = O_RDWR | O_CREAT};
	int bad = made_and_grown(name, &fi);
	struct inode *i = named(name);
	if (commit) /* journaled as an append */
		ipmd_ops.fsync(req(), i->ino, 1, &fi);
	bad |= stub.err;
	ipmd_ops.write(req(), i->ino, "F", 1, 0, &fi);
	bad |= stub.err;
	struct record r;
	struct file_tail t;
	(void)taken(i, &r, &t, REC_CONTENT);
	if (commit) {
		bad |= ipmd_fs_commit(&fs) != 0;
	} else {
		ipmd_ops.fsync(req(), i->ino, 1, &fi);
		bad |= stub.err;
	}
	_exit(bad);
}

static _Noreturn void fsync_in_flight_crash(const char *store)
{
	seal_in_flight(store, "e", false);
}

static _Noreturn void commit_in_flight_crash(const char *store)
{
	seal_in_flight(store, "g", true);
}

/* Fsync A seals file name outside the lock after "first\n", fsynced,
 * was rewritten unchanged: under the file's own scope its seal is the
 * tree's CID.  Before A logs, "added\n" is written and fsync C
 * journals it: an append over a seal the journal does not hold yet.
 * Then A logs, and (commit, on the opens path) a commit, whose seal of
 * the file the append obliges; the process dies. */
static _Noreturn void same_cid_in_flight(const char *store, const char *name,
					 bool commit)
{
	open_store_as(store, commit);
	struct fuse_file_info fi = {.flags = O_RDWR | O_CREAT};
	ipmd_ops.create(req(), TREE_ROOT_INO, name, 0600, &fi);
	struct inode *i = named(name);
	if (!i || stub.err)
		_exit(1);
	ipmd_ops.write(req(), i->ino, "first\n", 6, 0, &fi);
	int bad = stub.err;
	ipmd_ops.fsync(req(), i->ino, 1, &fi);
	bad |= stub.err;
	ipmd_ops.write(req(), i->ino, "first\n", 6, 0, &fi);
	bad |= stub.err;
	bad |= a_between(i, &fi, REC_CONTENT, "added\n");
	if (commit)
		bad |= ipmd_fs_commit(&fs) != 0;
	_exit(bad);
}

static _Noreturn void same_cid_crash(const char *store)
{
	same_cid_in_flight(store, "h", false);
}

static _Noreturn void same_cid_commit_crash(const char *store)
{
	same_cid_in_flight(store, "k", true);
}

/* Seals of one inode journaled in another order than they were made
 * (fs/mount/file.h, "Seal order"), each case a crash and a replay. */
static void test_seal_order(const char *store)
{
	static const struct {
		void (*child)(const char *store);
		const char *what, *name, *want, *why;
	} cases[] = {
		{overtaken_crash,
		 "fsync A takes its tail, fsync B journals newer bytes, A "
		 "logs",
		 "b", "first\nnewer\n",
		 "replayed: the newer bytes, as the live file had them"},
		{content_overtaken_crash,
		 "fsync A seals, fsync B seals newer bytes and journals "
		 "them, A journals",
		 "d", "First\nnewer\n",
		 "replayed: B's content, which B's fsync acknowledged"},
		{fsync_in_flight_crash,
		 "fsync B seals, fsync A finds nothing to seal, B never logs",
		 "e", "First\nadded\n",
		 "replayed: the bytes A's fsync acknowledged"},
		{commit_in_flight_crash,
		 "open handle: append journaled, fsync B seals, a commit, B "
		 "never logs",
		 "g", "First\nadded\n",
		 "after the commit and a crash: the appended bytes are there"},
		{same_cid_crash,
		 "rewritten unchanged: fsync A seals (the tree's CID), fsync "
		 "C journals an append, A journals",
		 "h", "first\nadded\n",
		 "replayed: the bytes C's fsync acknowledged"},
		{same_cid_commit_crash,
		 "open handle: the same, then a commit",
		 "k", "first\nadded\n",
		 "after the commit and a crash: the bytes C's fsync "
		 "acknowledged"},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(*cases); k++) {
		crash_then_open(cases[k].child, store, cases[k].what);
		ok(reads(cases[k].name, cases[k].want), "%s", cases[k].why);
		ipmd_fs_close(&fs);
	}
}

/* ---- a tail of several records, a commit between its take and log ---- */

#define BIG_GROWTH (40 * 1024) /* three append records */

static char big_byte(size_t k)
{
	return (char)('a' + k % 23);
}

/* Does file name read back as "first\n" and BIG_GROWTH big_bytes? */
static bool reads_big(const char *name)
{
	struct inode *i = named(name);
	size_t size = 6 + BIG_GROWTH;
	if (!i || i->size != size)
		return false;
	struct fuse_file_info fi = {.flags = O_RDONLY};
	for (size_t off = 0; off < size; off += FUSE_STUB_BUF) {
		size_t n = size - off < FUSE_STUB_BUF ? size - off : FUSE_STUB_BUF;
		stub.buf_len = 0;
		ipmd_ops.read(req(), i->ino, n, (off_t)off, &fi);
		if (stub.err || stub.buf_len != n)
			return false;
		for (size_t k = 0; k < n; k++)
			if (stub.buf[k] != (off + k < 6 ? "first\n"[off + k]
							 : big_byte(off + k - 6)))
				return false;
	}
	return true;
}

/* "first\n" sealed, BIG_GROWTH bytes appended; the fsync's tail taken
 * (three records' worth), a commit (it rotates the journal), then the
 * tail logged: all its records in the new generation, over the content
 * the commit holds.  A journal sync, a crash: the journal alone
 * rebuilds the file. */
static _Noreturn void big_commit_between_crash(const char *store)
{
	open_store_as(store, true);
	struct fuse_file_info fi = {.flags = O_RDWR | O_CREAT};
	ipmd_ops.create(req(), TREE_ROOT_INO, "big", 0600, &fi);
	struct inode *i = named("big");
	int bad = !i || stub.err;
	if (bad)
		_exit(1);
	ipmd_ops.write(req(), i->ino, "first\n", 6, 0, &fi);
	ipmd_ops.fsync(req(), i->ino, 1, &fi);
	bad |= stub.err;
	char *more = malloc(BIG_GROWTH);
	if (!more)
		_exit(1);
	for (size_t k = 0; k < BIG_GROWTH; k++)
		more[k] = big_byte(k);
	ipmd_ops.write(req(), i->ino, more, BIG_GROWTH, 6, &fi);
	bad |= stub.err;
	free(more);
	struct record r;
	struct file_tail t;
	struct file_state *f = taken(i, &r, &t, REC_APPEND);
	bad |= t.len != BIG_GROWTH;
	bad |= ipmd_fs_commit(&fs) != 0;
	struct journal_stats j0, j1;
	journal_stats(fs.journal, &j0);
	bad |= logged(i, f, &r, &t) != 0;
	journal_stats(fs.journal, &j1);
	/* Three appends, after the rotation: the commit left the state to
	 * them (sealed by the fsync, it was listed for no commit). */
	bad |= (j1.appends - j0.appends != 3) << 2;
	bad |= journal_sync(fs.journal) != 0;
	_exit(bad); /* a crash: the handle still open, nothing closed */
}

static void test_big_commit_between(const char *store)
{
	crash_then_open(big_commit_between_crash, store,
			"a 40 KiB tail taken, a commit, the tail logged, synced");
	ok(reads_big("big"),
	   "after the crash: the file whole (the journal after the commit)");
	ipmd_fs_close(&fs);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	alarm(120);
	const char *tmp = tap_tempdir();
	if (log_to_file(harness_path("log")))
		harness_bail("log_to_file");
	char store[PATH_MAX];
	snprintf(store, sizeof(store), "%s/store", tmp);
	ok(harness_make_store(store) == 0, "a store");
	fuse_stub_init(&stub, &fs);
	test_append_open_commit(store);
	test_merged(store);
	test_refused_crash(store);
	test_refused_retry(store);
	test_seal_order(store);
	test_big_commit_between(store);
	return tap_done();
}
