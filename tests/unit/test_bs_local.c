/* tests/unit/test_bs_local.c — the embedded block store (ipfs/bs_local.h). */
#include "ipfs/blockstore.h"
#include "ipfs/bs_local.h"
#include "ipfs/cid.h"
#include "tests/tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG BLOCK_MAX_BYTES
#define ITER_BLOCKS 50
#define MANY_BLOCKS 1100 /* more than the store's pending list holds */
#define THREADS 4
#define SHARED_BLOCKS 64
#define THREAD_ROUNDS 300
#define TMPFS_SIZE "size=64k"
#define TOO_BIG_FOR_TMPFS (200 * 1024)

/* Paths here are short; a truncated one is a bug in the test. */
static void pathf(char *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void pathf(char *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX)
		abort();
}

static char *sub(const char *name)
{
	static char paths[16][PATH_MAX];
	static int next;
	char *p = paths[next++ % 16];
	pathf(p, "%s/%s", tap_tempdir(), name);
	return p;
}

static uint8_t *block(size_t len, uint64_t seed)
{
	uint8_t *b = malloc(len ? len : 1);
	if (!b)
		abort();
	tap_fill_random(b, len, seed);
	return b;
}

static int count_entries(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

/* Files (any name) in every shard dir below DIR/blocks. */
static int count_files(const char *dir, const char *prefix)
{
	char blocks[PATH_MAX], shard[PATH_MAX];
	pathf(blocks, "%s/blocks", dir);
	DIR *d = opendir(blocks);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		pathf(shard, "%s/%s", blocks, de->d_name);
		int k = count_entries(shard, prefix);
		if (k > 0)
			n += k;
	}
	closedir(d);
	return n;
}

static void test_dispatch(void)
{
	static const struct blockstore_ops empty_ops = {
		.version = BLOCKSTORE_OPS_VERSION, .name = "empty"};
	struct blockstore bs = {&empty_ops, 0, NULL};
	struct cid c;
	struct bs_usage u;
	size_t len;
	cid_of_raw_block(&c, (const uint8_t *)"x", 1);
	is_int(bs_put(&bs, (const uint8_t *)"x", 1, 0, &c), -ENOTSUP,
	       "NULL put slot: -ENOTSUP");
	is_int(bs_get(&bs, &c, NULL, 0, &len), -ENOTSUP, "NULL get: -ENOTSUP");
	is_int(bs_has(&bs, &c), -ENOTSUP, "NULL has: -ENOTSUP");
	is_int(bs_remove(&bs, &c), -ENOTSUP, "NULL remove: -ENOTSUP");
	is_int(bs_sync(&bs), -ENOTSUP, "NULL sync: -ENOTSUP");
	is_int(bs_pin(&bs, &c), -ENOTSUP, "NULL pin: -ENOTSUP");
	is_int(bs_unpin(&bs, &c), -ENOTSUP, "NULL unpin: -ENOTSUP");
	is_int(bs_iterate(&bs, NULL, NULL), -ENOTSUP, "NULL iterate: -ENOTSUP");
	is_int(bs_usage(&bs, &u), -ENOTSUP, "NULL usage: -ENOTSUP");
	bs_close(&bs); /* NULL close slot: nothing to do */
	bs_close(NULL);
	ok(1, "bs_close(NULL) and a NULL close slot are harmless");
}

/* The file of a block is DIR/blocks/<2 chars before the last>/<cid text>. */
static int check_layout(struct blockstore *bs, const char *dir,
			const struct cid *c, size_t len)
{
	char text[CID_TEXT_MAX], want[PATH_MAX], got[PATH_MAX];
	if (cid_format(c, text, sizeof(text)) < 0)
		return 0;
	size_t n = strlen(text);
	pathf(want, "%s/blocks/%c%c/%s", dir, text[n - 3],
		 text[n - 2], text);
	if (bs_local_path(bs, c, got, sizeof(got)) < 0 || strcmp(got, want))
		return 0;
	struct stat st;
	return stat(want, &st) == 0 && S_ISREG(st.st_mode) &&
	       (size_t)st.st_size == len;
}

static void test_round_trip(const char *dir, struct blockstore *bs)
{
	ok(bs->caps == (BS_CAP_REMOVE | BS_CAP_ITERATE | BS_CAP_LOCAL),
	   "caps: remove, iterate, local");

	size_t sizes[] = {0, 1, 4096, BIG};
	uint8_t *out = malloc(BIG + 1);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		uint8_t *data = block(n, 100 + i);
		struct cid c, want;
		cid_of_raw_block(&want, data, n);
		is_int(bs_put(bs, data, n, 0, &c), 0, "put %zu bytes", n);
		ok(cid_equal(&c, &want), "put names the %zu-byte block by its hash",
		   n);
		ok(check_layout(bs, dir, &c, n),
		   "%zu-byte block: file name is its CID, in its shard", n);
		size_t len = SIZE_MAX;
		is_int(bs_get(bs, &c, out, BIG + 1, &len), 0, "get %zu bytes", n);
		is_int(len, n, "length of the %zu-byte block", n);
		ok(n == 0 || memcmp(out, data, n) == 0, "bytes of the %zu-byte block",
		   n);
		is_int(bs_has(bs, &c), 1, "has the %zu-byte block", n);
		if (n > 0) {
			is_int(bs_get(bs, &c, out, n - 1, &len), -ENOBUFS,
			       "get into %zu bytes: -ENOBUFS", n - 1);
		}
		free(data);
	}

	uint8_t *huge = block(BIG + 1, 7);
	struct cid hc;
	cid_of_raw_block(&hc, huge, BIG + 1);
	is_int(bs_put(bs, huge, BIG + 1, 0, NULL), -EFBIG,
	       "a block over BLOCK_MAX_BYTES: -EFBIG");
	is_int(bs_has(bs, &hc), 0, "the over-size block was not stored");
	free(huge);

	/* Idempotent put. */
	uint8_t *d = block(1000, 9);
	struct cid c1, c2;
	struct bs_usage u0, u1;
	is_int(bs_put(bs, d, 1000, 0, &c1), 0, "put once");
	is_int(bs_usage(bs, &u0), 0, "usage");
	is_int(bs_put(bs, d, 1000, 0, &c2), 0, "put the same block again");
	is_int(bs_put(bs, d, 1000, BS_PUT_DURABLE, NULL), 0,
	       "and again, durable");
	ok(cid_equal(&c1, &c2), "same CID each time");
	is_int(bs_usage(bs, &u1), 0, "usage again");
	ok(u0.blocks == u1.blocks && u0.bytes == u1.bytes,
	   "a repeated put stores nothing new");
	is_int(u1.blocks, 5, "usage counts 5 blocks");
	is_int(u1.bytes, 0 + 1 + 4096 + BIG + 1000, "usage counts their bytes");
	is_int(count_files(dir, ".tmp-"), 0, "no temp file left behind");

	/* has / remove / absent */
	is_int(bs_remove(bs, &c1), 0, "remove");
	is_int(bs_has(bs, &c1), 0, "has after remove: 0");
	size_t len = 12345;
	is_int(bs_get(bs, &c1, out, BIG, &len), -ENOENT,
	       "get after remove: -ENOENT");
	is_int(len, 12345, "a failed get leaves len alone");
	is_int(bs_remove(bs, &c1), -ENOENT, "remove of an absent block: -ENOENT");
	is_int(bs_pin(bs, &c2), 0, "pin succeeds (no-op)");
	is_int(bs_unpin(bs, &c2), 0, "unpin succeeds (no-op)");
	is_int(bs_sync(bs), 0, "sync");

	char small[8];
	is_int(bs_local_path(bs, &c2, small, sizeof(small)), -ENOBUFS,
	       "bs_local_path into a small buffer: -ENOBUFS");
	free(d);
	free(out);
}

static int corrupt_file(const char *path, off_t at, int truncate_it)
{
	int fd = open(path, O_RDWR);
	if (fd < 0)
		return -1;
	int r = 0;
	if (truncate_it) {
		r = ftruncate(fd, at);
	} else {
		uint8_t b;
		if (pread(fd, &b, 1, at) != 1)
			r = -1;
		b ^= 0x01;
		if (r == 0 && pwrite(fd, &b, 1, at) != 1)
			r = -1;
	}
	close(fd);
	return r;
}

/* After a failed get the buffer holds only our fill or zeros. */
static int no_bytes_leaked(const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != 0xAA && buf[i] != 0)
			return 0;
	return 1;
}

static void test_corruption(const char *dir, struct blockstore *bs)
{
	(void)dir;
	const size_t n = 70000;
	uint8_t *data = block(n, 21), *out = malloc(n);
	struct cid c;
	char path[PATH_MAX];
	size_t len = 777;
	is_int(bs_put(bs, data, n, BS_PUT_DURABLE, &c), 0, "put (durable)");
	is_int(bs_local_path(bs, &c, path, sizeof(path)), 0, "path");

	is_int(corrupt_file(path, 12345, 0), 0, "flip one bit in the block file");
	memset(out, 0xAA, n);
	is_int(bs_get(bs, &c, out, n, &len), -EBADMSG, "get: -EBADMSG");
	ok(no_bytes_leaked(out, n), "no byte of the corrupt block handed out");
	is_int(len, 777, "len untouched");
	is_int(bs_has(bs, &c), 1, "has still sees a file");
	is_int(bs_put(bs, data, n, 0, NULL), 0, "re-put the good bytes");
	is_int(bs_get(bs, &c, out, n, &len), 0, "the re-put repaired the block");
	is_mem(out, data, n, "repaired bytes");

	is_int(corrupt_file(path, n / 2, 1), 0, "truncate the block file");
	memset(out, 0xAA, n);
	len = 777;
	is_int(bs_get(bs, &c, out, n, &len), -EBADMSG,
	       "get of a truncated block: -EBADMSG");
	ok(no_bytes_leaked(out, n), "no byte of the truncated block handed out");
	is_int(bs_put(bs, data, n, BS_PUT_DURABLE, NULL), 0,
	       "durable re-put of the good bytes");
	is_int(bs_get(bs, &c, out, n, &len), 0, "repaired again");

	/* Same length, wrong bytes: what a crash can leave (zeros on XFS). */
	int fd = open(path, O_WRONLY | O_TRUNC);
	uint8_t *zeros = calloc(1, n);
	ok(fd >= 0 && write(fd, zeros, n) == (ssize_t)n, "zero the block file");
	if (fd >= 0)
		close(fd);
	is_int(bs_get(bs, &c, out, n, &len), -EBADMSG, "zeroed block: -EBADMSG");
	is_int(bs_put(bs, data, n, 0, NULL), 0, "re-put over the zeros");
	is_int(bs_get(bs, &c, out, n, &len), 0, "and it reads back");
	is_mem(out, data, n, "with the right bytes");

	/* An oversized file under a block's name. */
	fd = open(path, O_WRONLY | O_TRUNC);
	ok(fd >= 0 && ftruncate(fd, BIG + 1) == 0, "grow the file past the limit");
	if (fd >= 0)
		close(fd);
	is_int(bs_get(bs, &c, out, n, &len), -EBADMSG,
	       "file over BLOCK_MAX_BYTES: -EBADMSG");
	free(zeros);
	free(data);
	free(out);
}

struct cid_set {
	struct cid cids[ITER_BLOCKS + 1];
	size_t n;
	size_t stop_after;
};

static int collect(const struct cid *c, void *arg)
{
	struct cid_set *s = arg;
	if (s->n >= ITER_BLOCKS + 1)
		return -E2BIG;
	s->cids[s->n++] = *c;
	if (s->stop_after && s->n == s->stop_after)
		return 42;
	return 0;
}

static int in_set(const struct cid *c, const struct cid *set, size_t n)
{
	int hits = 0;
	for (size_t i = 0; i < n; i++)
		hits += cid_equal(c, &set[i]);
	return hits;
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	int r = write(fd, data, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	return r;
}

static void test_iterate(const char *dir, struct blockstore *bs)
{
	struct cid stored[ITER_BLOCKS];
	uint64_t bytes = 0;
	int put_ok = 1;
	for (size_t i = 0; i < ITER_BLOCKS; i++) {
		size_t n = (i * 7919) % 5000;
		uint8_t *d = block(n, 1000 + i);
		put_ok &= bs_put(bs, d, n, 0, &stored[i]) == 0;
		bytes += n;
		free(d);
	}
	ok(put_ok, "put %d blocks", ITER_BLOCKS);

	/* Litter iterate must skip: a temp file, junk names, a block in the
	 * wrong shard, a directory that is not a shard. */
	char text[CID_TEXT_MAX], path[PATH_MAX], src[PATH_MAX];
	cid_format(&stored[0], text, sizeof(text));
	size_t tl = strlen(text);
	pathf(path, "%s/blocks/%c%c/.tmp-0123456789abcdef",
		 dir, text[tl - 3], text[tl - 2]);
	ok(write_file(path, "x", 1) == 0, "a temp file in a shard");
	pathf(path, "%s/blocks/%c%c/README", dir,
		 text[tl - 3], text[tl - 2]);
	ok(write_file(path, "x", 1) == 0, "a junk file in a shard");
	pathf(path, "%s/blocks/%c%c/%s.bak", dir,
		 text[tl - 3], text[tl - 2], text);
	ok(write_file(path, "x", 1) == 0, "a CID-like junk name");
	char wrong[3] = {text[tl - 3] == 'a' ? 'b' : 'a', 'a', '\0'};
	pathf(path, "%s/blocks/%s", dir, wrong);
	mkdir(path, 0700);
	pathf(path, "%s/blocks/%s/%s", dir, wrong, text);
	is_int(bs_local_path(bs, &stored[0], src, sizeof(src)), 0, "path");
	ok(link(src, path) == 0, "a block linked into the wrong shard");
	pathf(path, "%s/blocks/not-a-shard", dir);
	ok(mkdir(path, 0700) == 0, "a directory that is no shard");
	pathf(path, "%s/blocks/not-a-shard/%s", dir, text);
	ok(link(src, path) == 0, "with a block inside");

	struct cid_set seen = {.n = 0};
	is_int(bs_iterate(bs, collect, &seen), 0, "iterate");
	is_int(seen.n, ITER_BLOCKS, "iterate saw every block once");
	int exact = seen.n == ITER_BLOCKS;
	for (size_t i = 0; i < seen.n && exact; i++)
		exact = in_set(&seen.cids[i], stored, ITER_BLOCKS) == 1 &&
			in_set(&seen.cids[i], seen.cids, seen.n) == 1;
	ok(exact, "iterate returned exactly the stored set");

	struct cid_set stop = {.n = 0, .stop_after = 3};
	is_int(bs_iterate(bs, collect, &stop), 42,
	       "a non-zero callback return stops iterate and is returned");
	is_int(stop.n, 3, "after three blocks");

	struct bs_usage u;
	is_int(bs_usage(bs, &u), 0, "usage");
	is_int(u.blocks, ITER_BLOCKS, "usage: blocks");
	is_int(u.bytes, bytes, "usage: bytes");

	/* Each file name is the cid_format of its CID, in its own shard. */
	int layout = 1;
	for (size_t i = 0; i < ITER_BLOCKS; i++)
		layout &= check_layout(bs, dir, &stored[i],
				       (i * 7919) % 5000);
	ok(layout, "every block's file is blocks/<shard>/<cid_format>");
}

static void test_sync(const char *dir, struct blockstore *bs)
{
	(void)dir;
	int all = 1;
	for (size_t i = 0; i < MANY_BLOCKS; i++) {
		uint8_t d[64];
		tap_fill_random(d, sizeof(d), 5000 + i);
		all &= bs_put(bs, d, sizeof(d), 0, NULL) == 0;
	}
	ok(all, "%d non-durable puts (past the pending list: inline sync)",
	   MANY_BLOCKS);
	is_int(bs_sync(bs), 0, "sync");
	is_int(bs_sync(bs), 0, "sync with nothing pending");
	all = 1;
	for (size_t i = 0; i < 20; i++) {
		uint8_t d[3000];
		tap_fill_random(d, sizeof(d), 9000 + i);
		all &= bs_put(bs, d, sizeof(d), BS_PUT_DURABLE, NULL) == 0;
		all &= bs_put(bs, d, 100 + i, 0, NULL) == 0;
	}
	ok(all, "durable and non-durable puts mixed");
	is_int(bs_sync(bs), 0, "sync");
	struct bs_usage u;
	is_int(bs_usage(bs, &u), 0, "usage");
	is_int(u.blocks, MANY_BLOCKS + 40, "every block is there");
	all = 1;
	for (size_t i = 0; i < MANY_BLOCKS; i += 97) {
		uint8_t d[64], out[64];
		size_t len = 0;
		struct cid c;
		tap_fill_random(d, sizeof(d), 5000 + i);
		cid_of_raw_block(&c, d, sizeof(d));
		all &= bs_get(bs, &c, out, sizeof(out), &len) == 0 &&
		       len == sizeof(d) && memcmp(out, d, len) == 0;
	}
	ok(all, "blocks read back after sync");
}

/* Blocks the threads of test_threads and test_two_openers share. */
struct shared {
	uint8_t (*blocks)[4096];
	struct cid cids[SHARED_BLOCKS];
};

static void make_shared(struct shared *sh, uint64_t seed)
{
	sh->blocks = malloc(SHARED_BLOCKS * sizeof(*sh->blocks));
	if (!sh->blocks)
		abort();
	for (size_t i = 0; i < SHARED_BLOCKS; i++) {
		tap_fill_random(sh->blocks[i], sizeof(sh->blocks[i]), seed + i);
		cid_of_raw_block(&sh->cids[i], sh->blocks[i],
				 sizeof(sh->blocks[i]));
	}
}

struct worker {
	struct blockstore *bs;
	const struct shared *sh;
	int id, failures;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	uint8_t out[4096];
	uint64_t x = 0x9e3779b97f4a7c15ULL * (uint64_t)(w->id + 1);
	for (int i = 0; i < THREAD_ROUNDS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t k = x % SHARED_BLOCKS;
		struct cid c;
		unsigned flags = (x >> 8) % 4 == 0 ? BS_PUT_DURABLE : 0;
		if (bs_put(w->bs, w->sh->blocks[k], sizeof(out), flags,
			   &c) != 0 ||
		    !cid_equal(&c, &w->sh->cids[k]))
			w->failures++;
		size_t j = (x >> 16) % SHARED_BLOCKS, len = 0;
		int r = bs_get(w->bs, &w->sh->cids[j], out, sizeof(out), &len);
		if (r == 0 && (len != sizeof(out) ||
			       memcmp(out, w->sh->blocks[j], len) != 0))
			w->failures++;
		else if (r != 0 && r != -ENOENT)
			w->failures++;
		if ((x >> 24) % 32 == 0 && bs_sync(w->bs) != 0)
			w->failures++;
	}
	return NULL;
}

/* THREADS threads putting and getting the shared blocks, thread i through
 * stores[i % n]; their failures, summed. */
static int run_workers(struct blockstore *const *stores, size_t n,
		       const struct shared *sh)
{
	pthread_t th[THREADS];
	struct worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){stores[(size_t)i % n], sh, i, 0};
		if (pthread_create(&th[i], NULL, work, &w[i]) != 0)
			w[i].failures = -1000;
	}
	int failures = 0;
	for (int i = 0; i < THREADS; i++) {
		if (w[i].failures != -1000)
			pthread_join(th[i], NULL);
		failures += w[i].failures;
	}
	return failures;
}

/* After the threads: every shared block got through stores[(i + 1) % n]
 * (another opener than the one that put it, where there are two) is
 * absent or intact, most are there, and dir holds no temp file. */
static void check_shared(struct blockstore *const *stores, size_t n,
			 const struct shared *sh, const char *dir,
			 const char *all_what, const char *most_what)
{
	int all = 1, present = 0;
	for (size_t i = 0; i < SHARED_BLOCKS; i++) {
		uint8_t out[4096];
		size_t len = 0;
		int r = bs_get(stores[(i + 1) % n], &sh->cids[i], out,
			       sizeof(out), &len);
		if (r == 0) {
			present++;
			all &= len == sizeof(out) &&
			       memcmp(out, sh->blocks[i], len) == 0;
		} else {
			all &= r == -ENOENT;
		}
	}
	ok(all, "%s", all_what);
	ok(present > SHARED_BLOCKS / 2, "%s (%d)", most_what, present);
	is_int(count_files(dir, ".tmp-"), 0, "no temp file left behind");
}

static void test_threads(const char *dir, struct blockstore *bs)
{
	struct shared sh;
	make_shared(&sh, 777);
	is_int(run_workers(&bs, 1, &sh), 0,
	       "%d threads putting and getting shared blocks", THREADS);
	is_int(bs_sync(bs), 0, "sync");
	check_shared(&bs, 1, &sh, dir, "every stored block verifies",
		     "most shared blocks were stored");
	free(sh.blocks);
}

/*
 * Two openers of one directory (as two processes would be) put the same
 * blocks at once: each names its temp files from a counter of its own, and
 * neither may trip over the other's (O_EXCL decides).
 */
static void test_two_openers(void)
{
	const char *dir = sub("two");
	struct blockstore *ab[2] = {NULL, NULL};
	is_int(bs_local_open(dir, &ab[0]), 0, "open A");
	is_int(bs_local_open(dir, &ab[1]), 0, "open B on the same directory");
	if (!ab[0] || !ab[1]) {
		bs_close(ab[0]);
		bs_close(ab[1]);
		return;
	}
	struct shared sh;
	make_shared(&sh, 4242);
	is_int(run_workers(ab, 2, &sh), 0,
	       "%d threads on two openers, same blocks", THREADS);
	is_int(bs_sync(ab[0]), 0, "sync A");
	is_int(bs_sync(ab[1]), 0, "sync B");
	check_shared(ab, 2, &sh, dir,
		     "every block either opener stored verifies through the "
		     "other",
		     "most blocks were stored");
	free(sh.blocks);
	bs_close(ab[1]);
	bs_close(ab[0]);
}

static void test_stale_temps(void)
{
	const char *dir = sub("stale");
	struct blockstore *a = NULL, *b = NULL, *c = NULL;
	char tmp[PATH_MAX], shard[PATH_MAX];
	is_int(bs_local_open(dir, &a), 0, "open A");
	if (!a)
		return;
	uint8_t d[10] = "0123456789";
	is_int(bs_put(a, d, sizeof(d), 0, NULL), 0, "put");
	pathf(shard, "%s/blocks/qq", dir);
	ok(mkdir(shard, 0700) == 0, "a shard dir");
	pathf(tmp, "%s/.tmp-00000000deadbeef", shard);
	ok(write_file(tmp, "half", 4) == 0, "an in-flight temp file");

	is_int(bs_local_open(dir, &b), 0, "open B while A is open");
	ok(access(tmp, F_OK) == 0,
	   "B leaves temp files alone while another opener may write them");
	bs_close(b);
	bs_close(a);

	is_int(bs_local_open(dir, &c), 0, "reopen alone");
	ok(access(tmp, F_OK) != 0, "stale temp file removed on open");
	is_int(count_files(dir, ""), 1, "the block itself is kept");
	bs_close(c);

	char file[PATH_MAX];
	pathf(file, "%s/plainfile", tap_tempdir());
	write_file(file, "x", 1);
	struct blockstore *bad = NULL;
	ok(bs_local_open(file, &bad) < 0 && !bad,
	   "open on a plain file fails");
}

/*
 * ENOSPC needs a small filesystem: a 64 KiB tmpfs in a private mount
 * namespace, in a child so nothing leaks into the rest of the test.
 */
static int enospc_child(const char *mnt)
{
	int bits = 0;
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", mnt, "tmpfs", 0, TMPFS_SIZE) < 0)
		return 100; /* can't: skip */
	struct blockstore *bs = NULL;
	if (bs_local_open(mnt, &bs) < 0)
		return 101;
	uint8_t *big = block(TOO_BIG_FOR_TMPFS, 31);
	struct cid c;
	cid_of_raw_block(&c, big, TOO_BIG_FOR_TMPFS);
	if (bs_put(bs, big, TOO_BIG_FOR_TMPFS, 0, NULL) != -ENOSPC)
		bits |= 1;
	if (bs_put(bs, big, TOO_BIG_FOR_TMPFS, BS_PUT_DURABLE, NULL) != -ENOSPC)
		bits |= 2;
	if (count_files(mnt, "") != 0)
		bits |= 4; /* no temp file, no partial block */
	if (bs_has(bs, &c) != 0)
		bits |= 8;
	uint8_t small[1000];
	tap_fill_random(small, sizeof(small), 32);
	if (bs_put(bs, small, sizeof(small), BS_PUT_DURABLE, NULL) != 0)
		bits |= 16; /* still usable afterwards */
	free(big);
	bs_close(bs);
	umount(mnt);
	return bits;
}

static void test_enospc(void)
{
	const char *mnt = sub("full");
	mkdir(mnt, 0700);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(enospc_child(mnt));
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		ok(0, "ENOSPC child ran");
		return;
	}
	int bits = WEXITSTATUS(status);
	if (bits == 100) {
		ok(1, "# SKIP no private tmpfs here (needs CAP_SYS_ADMIN)");
		return;
	}
	is_int(bits & 1, 0, "full disk: put gives -ENOSPC");
	is_int(bits & 2, 0, "full disk: durable put gives -ENOSPC");
	is_int(bits & 4, 0, "no temp file and no partial block left");
	is_int(bits & 8, 0, "has() does not see the failed block");
	is_int(bits & 16, 0, "the store still takes blocks that fit");
	is_int(bits & ~31, 0, "child set no other failure bits");
}

/* The tests that want a new store of their own, in sub(dir); what names
 * the check that it opens.  The store is closed after. */
static const struct {
	const char *dir, *what;
	void (*run)(const char *dir, struct blockstore *bs);
} one_store[] = {
	{"rt", "open a new store", test_round_trip},
	{"corrupt", "open", test_corruption},
	{"iter", "open", test_iterate},
	{"sync", "open", test_sync},
	{"threads", "open", test_threads},
};

int main(void)
{
	test_dispatch();
	for (size_t i = 0; i < sizeof(one_store) / sizeof(*one_store); i++) {
		const char *dir = sub(one_store[i].dir);
		struct blockstore *bs = NULL;
		is_int(bs_local_open(dir, &bs), 0, "%s", one_store[i].what);
		if (bs)
			one_store[i].run(dir, bs);
		bs_close(bs);
	}
	test_two_openers();
	test_stale_temps();
	test_enospc();
	return tap_done();
}
