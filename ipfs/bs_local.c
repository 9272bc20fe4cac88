/* ipfs/bs_local.c — the embedded block store; see ipfs/bs_local.h. */
#include "ipfs/bs_local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "util/dir.h"
#include "util/io.h"

#define LOCAL_BLOCKS_DIR "blocks"
#define LOCAL_TMP_PREFIX ".tmp-"
#define LOCAL_TMP_PREFIX_LEN (sizeof(LOCAL_TMP_PREFIX) - 1)
/* ".tmp-" + 16 hex digits + NUL */
#define LOCAL_TMP_NAME_MAX (LOCAL_TMP_PREFIX_LEN + 16 + 1)
#define LOCAL_TMP_ATTEMPTS 16
#define LOCAL_FILE_MODE 0600
#define LOCAL_DIR_MODE 0700
/* Non-durable puts remembered for the next sync; past this, sync inline. */
#define LOCAL_PENDING_MAX 1024
/* Past this many files and directories to flush, one syncfs(2) is cheaper
 * than an fdatasync or fsync for each (bs_local.h). */
#define LOCAL_SYNCFS_MIN 8
/* The first kernel whose syncfs(2) reports writeback errors. */
#define LOCAL_SYNCFS_KERNEL_MAJOR 5
#define LOCAL_SYNCFS_KERNEL_MINOR 8
#define BASE32_ALPHABET "abcdefghijklmnopqrstuvwxyz234567"
#define BASE32_ALPHABET_SIZE 32
/* A shard is named by two base32 characters. */
#define LOCAL_SHARD_NAME_LEN 2
#define LOCAL_SHARDS (BASE32_ALPHABET_SIZE * BASE32_ALPHABET_SIZE)
/* "xy/" + CID text */
#define LOCAL_REL_MAX (LOCAL_SHARD_NAME_LEN + 1 + CID_TEXT_MAX)
/* Buffer for comparing an existing block file with the bytes to put. */
#define LOCAL_COMPARE_CHUNK 16384
/* Blocks from this size on start their writeback at once (start_writeback). */
#define LOCAL_EARLY_WRITEBACK_MIN (128 * 1024)

/* A block in place whose data may not be on stable storage yet. */
struct pending {
	struct cid cid;
	/* This store wrote the file (rather than finding it there): if its
	 * fdatasync fails, the file is ours to drop. */
	bool fresh;
};

struct bs_local {
	struct blockstore base;
	char *dir;
	/* DIR/blocks; holds a shared flock while the store is open, so that
	 * only an opener alone with the store deletes temp files. */
	int blocks_fd;

	/* Set at open: syncfs(2) on this filesystem is as good as an fsync of
	 * everything, errors included (can_syncfs). */
	bool use_syncfs;
	/* Next temp file name (create_temp): random at open, then counted, so
	 * a put costs no getrandom(2); O_EXCL still checks uniqueness. */
	atomic_uint_fast64_t temp_seq;

	pthread_mutex_t lock; /* pending … shard_durable */
	struct pending *pending; /* renamed into place, not fdatasync'ed */
	size_t npending;
	uint8_t dirty[LOCAL_SHARDS / 8]; /* shard dirs to fsync */
	int deferred_err; /* an inline sync's failure, for the next sync() */
	/* Shard directories this store made or found: no mkdir for them. */
	uint8_t shard_exists[LOCAL_SHARDS / 8];
	/* Those whose entry in DIR/blocks is on stable storage; the others
	 * get it at the next sync (one fsync of DIR/blocks), or at once when
	 * a durable put needs it. */
	uint8_t shard_durable[LOCAL_SHARDS / 8];

	/* Serialises syncs: a sync that returns must cover every put that
	 * returned before it started, even if another sync holds them. */
	pthread_mutex_t sync_lock;
	struct pending *spare; /* the list being synced, owned by sync_lock */
};

/* The name of a block: "xy/<cid>" relative to DIR/blocks. */
struct block_name {
	char rel[LOCAL_REL_MAX];
	char shard_dir[LOCAL_SHARD_NAME_LEN + 1];
	unsigned shard;
};

static const struct blockstore_ops local_ops;

static struct bs_local *to_local(struct blockstore *bs)
{
	return (struct bs_local *)bs;
}

static int base32_value(char ch)
{
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a';
	if (ch >= '2' && ch <= '7')
		return ch - '2' + ('z' - 'a' + 1);
	return -1;
}

/* Shard index of a two-character shard name, or -1. */
static int shard_index(const char *two)
{
	int hi = base32_value(two[0]), lo = base32_value(two[1]);
	if (hi < 0 || lo < 0)
		return -1;
	return hi * BASE32_ALPHABET_SIZE + lo;
}

static int shard_of_text(const char *text, size_t n,
			 char out[LOCAL_SHARD_NAME_LEN + 1])
{
	/* next-to-last/2: the two characters before the last one */
	if (n < LOCAL_SHARD_NAME_LEN + 1)
		return -1;
	out[0] = text[n - 3];
	out[1] = text[n - 2];
	out[2] = '\0';
	return shard_index(out);
}

static int name_block(const struct cid *cid, struct block_name *bn)
{
	char text[CID_TEXT_MAX];
	if (!cid || cid_format(cid, text, sizeof(text)) < 0)
		return -EINVAL;
	size_t n = strlen(text);
	int idx = shard_of_text(text, n, bn->shard_dir);
	if (idx < 0)
		return -EINVAL;
	bn->shard = (unsigned)idx;
	int w = snprintf(bn->rel, sizeof(bn->rel), "%s/%s", bn->shard_dir,
			 text);
	if (w < 0 || (size_t)w >= sizeof(bn->rel))
		return -EINVAL;
	return 0;
}

static bool bit_test(const uint8_t *map, unsigned i)
{
	return map[i / 8] & (1u << (i % 8));
}

static void bit_set(uint8_t *map, unsigned i)
{
	map[i / 8] |= (uint8_t)(1u << (i % 8));
}

static void mark_dirty_locked(struct bs_local *l, unsigned shard)
{
	bit_set(l->dirty, shard);
}

static void mark_dirty(struct bs_local *l, unsigned shard)
{
	pthread_mutex_lock(&l->lock);
	mark_dirty_locked(l, shard);
	pthread_mutex_unlock(&l->lock);
}

/*
 * Makes sure the block's shard directory exists and, for a durable put,
 * that its entry in DIR/blocks is on stable storage (a non-durable put
 * leaves that to the next sync).  missing: the directory was not there
 * although we thought so (removed behind our back): make it again.
 */
static int ensure_shard(struct bs_local *l, const struct block_name *bn,
			bool durable, bool missing)
{
	pthread_mutex_lock(&l->lock);
	if (missing) {
		l->shard_exists[bn->shard / 8] &=
			(uint8_t)~(1u << (bn->shard % 8));
		l->shard_durable[bn->shard / 8] &=
			(uint8_t)~(1u << (bn->shard % 8));
	}
	bool exists = bit_test(l->shard_exists, bn->shard);
	bool on_disk = bit_test(l->shard_durable, bn->shard);
	pthread_mutex_unlock(&l->lock);
	if (!exists) {
		if (mkdirat(l->blocks_fd, bn->shard_dir, LOCAL_DIR_MODE) < 0 &&
		    errno != EEXIST)
			return -errno;
		pthread_mutex_lock(&l->lock);
		bit_set(l->shard_exists, bn->shard);
		pthread_mutex_unlock(&l->lock);
	}
	if (!durable || on_disk)
		return 0;
	/* Also when another thread or process made it: it may not have
	 * fsync'ed DIR/blocks yet, and our durable put must not outrun it.
	 * Once per shard per open store at most. */
	if (fsync(l->blocks_fd) < 0)
		return -errno;
	pthread_mutex_lock(&l->lock);
	bit_set(l->shard_durable, bn->shard);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

static uint64_t temp_random(void)
{
	uint64_t r;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
		return r;
	/* No entropy yet: uniqueness is all we need, O_EXCL checks it. */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
	       ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)&r;
}

/* Opens a fresh temp file in the shard; fills rel with its name. */
static int create_temp(struct bs_local *l, const struct block_name *bn,
		       bool durable, char *rel, size_t rel_size)
{
	int r = ensure_shard(l, bn, durable, false);
	if (r < 0)
		return r;
	bool made_shard = false;
	for (int attempt = 0; attempt < LOCAL_TMP_ATTEMPTS; attempt++) {
		uint64_t seq = atomic_fetch_add_explicit(&l->temp_seq, 1,
							 memory_order_relaxed);
		int w = snprintf(rel, rel_size, "%s/" LOCAL_TMP_PREFIX "%016llx",
				 bn->shard_dir, (unsigned long long)seq);
		if (w < 0 || (size_t)w >= rel_size)
			return -ENAMETOOLONG;
		int fd = openat(l->blocks_fd, rel,
				O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				LOCAL_FILE_MODE);
		if (fd >= 0)
			return fd;
		if (errno == ENOENT && !made_shard) {
			r = ensure_shard(l, bn, durable, true);
			if (r < 0)
				return r;
			made_shard = true;
			continue;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static int local_sync_run(struct bs_local *l);

/*
 * Remembers a block that is in place but maybe not on stable storage.
 * fd is open on that block's file: when the list is full even after an
 * inline sync, the block is synced through it right here.
 */
static int note_pending(struct bs_local *l, int fd, const struct cid *cid,
			unsigned shard, bool fresh)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		pthread_mutex_lock(&l->lock);
		mark_dirty_locked(l, shard);
		if (l->npending < LOCAL_PENDING_MAX) {
			l->pending[l->npending].cid = *cid;
			l->pending[l->npending].fresh = fresh;
			l->npending++;
			pthread_mutex_unlock(&l->lock);
			return 0;
		}
		pthread_mutex_unlock(&l->lock);
		if (attempt == 0) {
			int r = local_sync_run(l);
			if (r < 0) {
				/* Other puts' blocks may not be durable (some
				 * dropped): whoever calls sync() next must
				 * hear it. */
				pthread_mutex_lock(&l->lock);
				if (!l->deferred_err)
					l->deferred_err = r;
				pthread_mutex_unlock(&l->lock);
			}
		}
	}
	/* Still full (other threads refilled it): sync this one ourselves;
	 * its shard is marked dirty, so the next sync() fsyncs the entry. */
	return fdatasync(fd) < 0 ? -errno : 0;
}

/*
 * An existing file under the block's name: 1 if it holds exactly these
 * bytes (and, for a durable put, is now on stable storage), 0 if absent or
 * wrong (to be replaced), or a negative errno.
 */
static int check_existing(struct bs_local *l, const struct block_name *bn,
			  const struct cid *cid, const uint8_t *data,
			  size_t len, unsigned flags)
{
	int fd = openat(l->blocks_fd, bn->rel,
			O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != len)
		goto out;
	/* Compare rather than trust the name: a crash may leave a file of the
	 * right name and size with the wrong bytes (zeros on XFS), and a
	 * re-put is how the caller repairs it. */
	uint8_t buf[LOCAL_COMPARE_CHUNK];
	size_t off = 0, got;
	for (;;) {
		r = read_full(fd, buf, sizeof(buf), &got);
		if (r < 0)
			goto out;
		if (got > len - off || memcmp(buf, data + off, got) != 0)
			goto out; /* r == 0: replace */
		off += got;
		if (got < sizeof(buf))
			break;
	}
	if (off != len)
		goto out;
	/* Its shard may be new (from another opener): have our sync, or now
	 * for a durable put, make its entry in DIR/blocks durable too. */
	r = ensure_shard(l, bn, flags & BS_PUT_DURABLE, false);
	if (r < 0)
		goto out;
	if (flags & BS_PUT_DURABLE) {
		/* Another put may have left it pending: finish its work. */
		if (fdatasync(fd) < 0) {
			r = -errno;
			goto out;
		}
		r = fsync_dir_at(l->blocks_fd, bn->shard_dir);
	} else {
		/* The put that wrote it may not have noted it pending yet; a
		 * duplicate entry costs one cheap fdatasync. */
		r = note_pending(l, fd, cid, bn->shard, false);
	}
	if (r == 0)
		r = 1;
out:
	close(fd);
	return r;
}

/* Starts writing a big block to the device now, without waiting: the sync
 * that later makes it durable then finds it (mostly) written, so sealing
 * and the disk work side by side instead of one after the other.  Only a
 * hint: an error here is seen again, and reported, by that sync. */
static void start_writeback(int fd, size_t len)
{
	(void)sync_file_range(fd, 0, (off_t)len, SYNC_FILE_RANGE_WRITE);
}

static int local_put(struct blockstore *bs, const uint8_t *data, size_t len,
		     unsigned flags, struct cid *cid_out)
{
	static const uint8_t empty[1];
	struct bs_local *l = to_local(bs);
	if (len > BLOCK_MAX_BYTES)
		return -EFBIG;
	if (!data) {
		if (len)
			return -EINVAL;
		data = empty;
	}
	struct cid cid;
	struct block_name bn;
	cid_of_raw_block(&cid, data, len);
	int r = name_block(&cid, &bn);
	if (r < 0)
		return r;

	r = check_existing(l, &bn, &cid, data, len, flags);
	if (r < 0)
		return r;
	if (r == 0) {
		char tmp[LOCAL_REL_MAX];
		bool durable = flags & BS_PUT_DURABLE;
		int fd = create_temp(l, &bn, durable, tmp, sizeof(tmp));
		if (fd < 0)
			return fd;
		r = write_all(fd, data, len);
		if (r == 0 && !durable && len >= LOCAL_EARLY_WRITEBACK_MIN)
			start_writeback(fd, len);
		if (r == 0 && durable && fdatasync(fd) < 0)
			r = -errno;
		if (r == 0 &&
		    renameat(l->blocks_fd, tmp, l->blocks_fd, bn.rel) < 0)
			r = -errno;
		if (r < 0) {
			close(fd);
			unlinkat(l->blocks_fd, tmp, 0);
			return r;
		}
		if (flags & BS_PUT_DURABLE) {
			mark_dirty(l, bn.shard);
			r = fsync_dir_at(l->blocks_fd, bn.shard_dir);
		} else {
			r = note_pending(l, fd, &cid, bn.shard, true);
			if (r < 0) /* not known to be on disk: withdraw it */
				unlinkat(l->blocks_fd, bn.rel, 0);
		}
		close(fd);
		if (r < 0)
			return r;
	}
	if (cid_out)
		*cid_out = cid;
	return 0;
}

static int local_get(struct blockstore *bs, const struct cid *cid,
		     uint8_t *buf, size_t cap, size_t *len)
{
	struct bs_local *l = to_local(bs);
	struct block_name bn;
	if (!len || (!buf && cap))
		return -EINVAL;
	int r = name_block(cid, &bn);
	if (r < 0)
		return r;
	int fd = openat(l->blocks_fd, bn.rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ELOOP ? -EBADMSG : -errno;
	struct stat st;
	size_t got = 0;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > BLOCK_MAX_BYTES) {
		r = -EBADMSG; /* no block of ours looks like this */
		goto out;
	}
	if ((uint64_t)st.st_size > cap) {
		r = -ENOBUFS;
		goto out;
	}
	uint8_t none[1];
	uint8_t *dst = buf ? buf : none;
	r = read_full(fd, dst, (size_t)st.st_size, &got);
	if (r < 0)
		goto out;
	if (got != (size_t)st.st_size || !cid_matches(cid, dst, got)) {
		memset(dst, 0, got); /* corrupt bytes are never handed out */
		r = -EBADMSG;
		goto out;
	}
	*len = got;
out:
	close(fd);
	return r;
}

static int local_has(struct blockstore *bs, const struct cid *cid)
{
	struct bs_local *l = to_local(bs);
	struct block_name bn;
	int r = name_block(cid, &bn);
	if (r < 0)
		return r;
	struct stat st;
	if (fstatat(l->blocks_fd, bn.rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	return S_ISREG(st.st_mode) ? 1 : 0;
}

static int local_remove(struct blockstore *bs, const struct cid *cid)
{
	struct bs_local *l = to_local(bs);
	struct block_name bn;
	int r = name_block(cid, &bn);
	if (r < 0)
		return r;
	if (unlinkat(l->blocks_fd, bn.rel, 0) < 0)
		return -errno;
	mark_dirty(l, bn.shard);
	return 0;
}

/*
 * One pending block: 0 once it is on stable storage (or gone), or a
 * negative errno; *keep says whether to try it again at the next sync.
 */
static int sync_one(struct bs_local *l, const struct pending *p,
		    uint8_t *dirty, bool *keep)
{
	struct block_name bn;
	*keep = false;
	int r = name_block(&p->cid, &bn);
	if (r < 0)
		return r;
	int fd = openat(l->blocks_fd, bn.rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* removed since: nothing to keep */
		*keep = true; /* EMFILE, ENOMEM …: the block is fine */
		return -errno;
	}
	r = fdatasync(fd) < 0 ? -errno : 0;
	close(fd);
	if (r < 0) {
		if (p->fresh) {
			/* After a failed fdatasync the page cache may call
			 * pages clean that never reached the disk, and a retry
			 * would "succeed": drop the block, so that a re-put
			 * writes it again. */
			unlinkat(l->blocks_fd, bn.rel, 0);
			dirty[bn.shard / 8] |= (uint8_t)(1u << (bn.shard % 8));
		} else {
			/* Found in place, maybe long durable: never delete
			 * what may be the only copy; try again next time. */
			*keep = true;
		}
	}
	return r;
}

/* Puts entries of a failed sync back for the next one, as room allows
 * (the error is reported either way). */
static void requeue(struct bs_local *l, const struct pending *p)
{
	pthread_mutex_lock(&l->lock);
	if (l->npending < LOCAL_PENDING_MAX)
		l->pending[l->npending++] = *p;
	pthread_mutex_unlock(&l->lock);
}

/* What one sync must flush, taken from the store as it starts. */
struct sync_set {
	struct pending *list; /* files */
	size_t n;
	uint8_t dirty[LOCAL_SHARDS / 8]; /* shard directories */
	uint8_t fresh[LOCAL_SHARDS / 8]; /* their entries in DIR/blocks */
	size_t items; /* files and directories in all */
};

static void sync_take(struct bs_local *l, struct sync_set *ss)
{
	pthread_mutex_lock(&l->lock);
	ss->list = l->pending;
	ss->n = l->npending;
	l->pending = l->spare;
	l->npending = 0;
	l->spare = ss->list;
	memcpy(ss->dirty, l->dirty, sizeof(ss->dirty));
	memset(l->dirty, 0, sizeof(l->dirty));
	bool any_fresh = false;
	ss->items = ss->n;
	for (size_t i = 0; i < sizeof(ss->fresh); i++) {
		ss->fresh[i] =
			l->shard_exists[i] & (uint8_t)~l->shard_durable[i];
		any_fresh |= ss->fresh[i] != 0;
		ss->items += (size_t)__builtin_popcount(ss->dirty[i]);
	}
	ss->items += any_fresh;
	pthread_mutex_unlock(&l->lock);
}

/* The shards of ss->fresh have durable entries now. */
static void sync_shards_done(struct bs_local *l, const struct sync_set *ss)
{
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < sizeof(ss->fresh); i++)
		l->shard_durable[i] |= ss->fresh[i];
	pthread_mutex_unlock(&l->lock);
}

/*
 * Flush ss one file and one directory at a time: files first, then the
 * directories naming them, then DIR/blocks naming new shards.  Each
 * failure is tied to its file, which sync_one drops if it was ours.
 */
static int sync_each(struct bs_local *l, struct sync_set *ss)
{
	int err = 0;
	bool any_fresh = false;
	for (size_t i = 0; i < ss->n; i++) {
		bool keep;
		int r = sync_one(l, &ss->list[i], ss->dirty, &keep);
		if (r < 0 && !err)
			err = r;
		if (keep)
			requeue(l, &ss->list[i]);
	}
	for (unsigned s = 0; s < LOCAL_SHARDS; s++) {
		any_fresh |= bit_test(ss->fresh, s);
		if (!bit_test(ss->dirty, s))
			continue;
		char name[LOCAL_SHARD_NAME_LEN + 1] = {
			BASE32_ALPHABET[s / BASE32_ALPHABET_SIZE],
			BASE32_ALPHABET[s % BASE32_ALPHABET_SIZE], '\0'};
		int r = fsync_dir_at(l->blocks_fd, name);
		if (r == -ENOENT)
			continue;
		if (r < 0) {
			if (!err)
				err = r;
			mark_dirty(l, s); /* try again next time */
		}
	}
	if (any_fresh) {
		/* On failure the shards stay not durable: the next sync (or a
		 * durable put) tries again. */
		if (fsync(l->blocks_fd) < 0) {
			if (!err)
				err = -errno;
		} else {
			sync_shards_done(l, ss);
		}
	}
	return err;
}

static int local_sync_run(struct bs_local *l)
{
	struct sync_set ss;

	pthread_mutex_lock(&l->sync_lock);
	sync_take(l, &ss);
	int err;
	/* One syncfs flushes every file and directory of the filesystem,
	 * ours among them.  If it fails we can't tell whose data was lost:
	 * go one by one, which finds the files to drop (the kernel keeps a
	 * writeback error for the next fdatasync of that file). */
	if (l->use_syncfs && ss.items > LOCAL_SYNCFS_MIN &&
	    syncfs(l->blocks_fd) == 0) {
		sync_shards_done(l, &ss);
		err = 0;
	} else {
		err = sync_each(l, &ss);
	}
	pthread_mutex_unlock(&l->sync_lock);
	return err;
}

static int local_sync(struct blockstore *bs)
{
	struct bs_local *l = to_local(bs);
	int r = local_sync_run(l);
	pthread_mutex_lock(&l->lock);
	if (!r)
		r = l->deferred_err;
	l->deferred_err = 0;
	pthread_mutex_unlock(&l->lock);
	return r;
}

static int local_pin(struct blockstore *bs, const struct cid *cid)
{
	(void)bs;
	(void)cid;
	return 0;
}

/* Called for each entry of a shard directory; non-zero stops the walk. */
typedef int (*walk_fn)(int shard_fd, const char *name, const struct cid *cid,
		       void *arg);

/* name is a canonical CID text in the shard it belongs to? */
static bool is_block_name(const char *shard, const char *name,
			  struct cid *cid)
{
	size_t n = strlen(name);
	char canon[CID_TEXT_MAX], where[LOCAL_SHARD_NAME_LEN + 1];
	if (n == 0 || n >= CID_TEXT_MAX || name[0] == '.')
		return false;
	if (cid_parse(cid, name, n) < 0 ||
	    cid_format(cid, canon, sizeof(canon)) < 0 ||
	    strcmp(canon, name) != 0)
		return false;
	return shard_of_text(name, n, where) >= 0 && strcmp(where, shard) == 0;
}

/*
 * Walks every shard directory.  Blocks go to fn (with their CID), other
 * entries to other_fn (cid NULL) when it is given.
 */
static int walk(struct bs_local *l, walk_fn fn, walk_fn other_fn, void *arg)
{
	/* A fresh open file description: a dup() would share the directory
	 * offset with concurrent walks. */
	DIR *top;
	int r = dir_open_at(l->blocks_fd, ".", 0, &top);
	if (r)
		return r;
	struct dirent *de;
	while (r == 0 && (errno = 0, de = readdir(top))) {
		if (strlen(de->d_name) != LOCAL_SHARD_NAME_LEN ||
		    shard_index(de->d_name) < 0)
			continue;
		DIR *sd;
		r = dir_open_at(dirfd(top), de->d_name, O_NOFOLLOW, &sd);
		if (r == -ENOTDIR || r == -ELOOP || r == -ENOENT) {
			r = 0; /* not a shard directory, or gone */
			continue;
		}
		if (r)
			break;
		int sfd = dirfd(sd);
		struct dirent *be;
		while (r == 0 && (errno = 0, be = readdir(sd))) {
			struct cid cid;
			if (is_block_name(de->d_name, be->d_name, &cid))
				r = fn(sfd, be->d_name, &cid, arg);
			else if (other_fn)
				r = other_fn(sfd, be->d_name, NULL, arg);
		}
		if (r == 0 && errno)
			r = -errno;
		closedir(sd);
	}
	if (r == 0 && !de && errno)
		r = -errno;
	closedir(top);
	return r;
}

struct iterate_ctx {
	bs_iterate_fn fn;
	void *arg;
};

static int iterate_one(int shard_fd, const char *name, const struct cid *cid,
		       void *arg)
{
	struct iterate_ctx *ctx = arg;
	(void)shard_fd;
	(void)name;
	return ctx->fn(cid, ctx->arg);
}

static int local_iterate(struct blockstore *bs, bs_iterate_fn fn, void *arg)
{
	struct iterate_ctx ctx = {fn, arg};
	if (!fn)
		return -EINVAL;
	return walk(to_local(bs), iterate_one, NULL, &ctx);
}

static int usage_one(int shard_fd, const char *name, const struct cid *cid,
		     void *arg)
{
	struct bs_usage *u = arg;
	struct stat st;
	(void)cid;
	if (fstatat(shard_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISREG(st.st_mode)) {
		u->blocks++;
		u->bytes += (uint64_t)st.st_size;
	}
	return 0;
}

static int local_usage(struct blockstore *bs, struct bs_usage *u)
{
	struct bs_usage acc = {0, 0};
	int r = walk(to_local(bs), usage_one, NULL, &acc);
	if (r == 0)
		*u = acc;
	return r;
}

static int ignore_block(int shard_fd, const char *name, const struct cid *cid,
			void *arg)
{
	(void)shard_fd;
	(void)name;
	(void)cid;
	(void)arg;
	return 0;
}

static int remove_temp(int shard_fd, const char *name, const struct cid *cid,
		       void *arg)
{
	(void)cid;
	(void)arg;
	if (strncmp(name, LOCAL_TMP_PREFIX, LOCAL_TMP_PREFIX_LEN) == 0)
		unlinkat(shard_fd, name, 0); /* best effort: only litter */
	return 0;
}

static void local_close(struct blockstore *bs)
{
	struct bs_local *l = to_local(bs);
	pthread_mutex_destroy(&l->lock);
	pthread_mutex_destroy(&l->sync_lock);
	if (l->blocks_fd >= 0)
		close(l->blocks_fd); /* drops the flock too */
	free(l->pending);
	free(l->spare);
	free(l->dir);
	free(l);
}

/* mkdir that reports whether it created the directory (1) or found it. */
static int make_dir(int at, const char *path)
{
	if (mkdirat(at, path, LOCAL_DIR_MODE) == 0)
		return 1;
	return errno == EEXIST ? 0 : -errno;
}

static int open_blocks_dir(struct bs_local *l)
{
	int r = make_dir(AT_FDCWD, l->dir);
	if (r < 0)
		return r;
	int dfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	r = make_dir(dfd, LOCAL_BLOCKS_DIR);
	if (r == 1 && fsync(dfd) < 0)
		r = -errno;
	if (r >= 0) {
		l->blocks_fd = openat(dfd, LOCAL_BLOCKS_DIR,
				      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = l->blocks_fd < 0 ? -errno : 0;
	}
	close(dfd);
	return r;
}

/*
 * Notes the shard directories already there, so that puts into them need
 * no mkdir; the caller's fsync of DIR/blocks then makes them all durable.
 */
static int scan_shards(struct bs_local *l)
{
	DIR *d;
	int r = dir_open_at(l->blocks_fd, ".", 0, &d);
	if (r)
		return r;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		int s = strlen(de->d_name) == LOCAL_SHARD_NAME_LEN
				? shard_index(de->d_name)
				: -1;
		/* Anything else under a shard's name makes puts there fail
		 * (ENOTDIR), as it would without this note. */
		if (s >= 0 &&
		    (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)) {
			bit_set(l->shard_exists, (unsigned)s);
			bit_set(l->shard_durable, (unsigned)s);
		}
	}
	r = errno ? -errno : 0;
	closedir(d);
	return r;
}

/* Remove leftovers of interrupted puts, unless another opener (this or
 * another process) might have writes in flight. */
static int clean_temps(struct bs_local *l)
{
	int locked;
	do
		locked = flock(l->blocks_fd, LOCK_EX | LOCK_NB);
	while (locked < 0 && errno == EINTR);
	if (locked == 0) {
		int r = walk(l, ignore_block, remove_temp, NULL);
		if (r < 0)
			return r;
	} else if (errno != EWOULDBLOCK) {
		return -errno;
	}
	int r;
	do
		r = flock(l->blocks_fd, LOCK_SH);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	r = scan_shards(l);
	if (r < 0)
		return r;
	/* Shards a crashed run created may not be durable entries yet. */
	return fsync(l->blocks_fd) < 0 ? -errno : 0;
}

/*
 * Whether one syncfs(2) of the store's filesystem may stand for the fsyncs
 * of its files and directories: on filesystems that commit everything in
 * it (not NFS, FUSE, overlayfs …), and on kernels whose syncfs reports
 * writeback errors (older ones return 0 regardless).
 */
static bool can_syncfs(int fd)
{
	struct statfs sf;
	struct utsname u;
	unsigned major, minor;
	if (fstatfs(fd, &sf) < 0)
		return false;
	switch ((unsigned long)sf.f_type) {
	case EXT4_SUPER_MAGIC: /* also ext2 and ext3 */
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
		break;
	default:
		return false;
	}
	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return false;
	return major > LOCAL_SYNCFS_KERNEL_MAJOR ||
	       (major == LOCAL_SYNCFS_KERNEL_MAJOR &&
		minor >= LOCAL_SYNCFS_KERNEL_MINOR);
}

int bs_local_open(const char *dir, struct blockstore **out)
{
	if (!dir || !*dir || !out)
		return -EINVAL;
	struct bs_local *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->base.ops = &local_ops;
	l->base.caps = BS_CAP_REMOVE | BS_CAP_ITERATE | BS_CAP_LOCAL;
	l->blocks_fd = -1;
	/* Another opener (process) starts elsewhere in the 2^64 names. */
	atomic_init(&l->temp_seq, temp_random());
	l->dir = strdup(dir);
	l->pending = calloc(LOCAL_PENDING_MAX, sizeof(*l->pending));
	l->spare = calloc(LOCAL_PENDING_MAX, sizeof(*l->spare));
	if (!l->dir || !l->pending || !l->spare) {
		free(l->dir);
		free(l->pending);
		free(l->spare);
		free(l);
		return -ENOMEM;
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_mutex_init(&l->sync_lock, NULL);
	int r = open_blocks_dir(l);
	if (r == 0)
		r = clean_temps(l);
	if (r == 0)
		l->use_syncfs = can_syncfs(l->blocks_fd);
	if (r < 0) {
		local_close(&l->base);
		return r;
	}
	*out = &l->base;
	return 0;
}

int bs_local_path(struct blockstore *bs, const struct cid *cid, char *out,
		  size_t out_size)
{
	struct block_name bn;
	struct blockstore *local = bs_find(bs, &local_ops);
	if (!local)
		return -EINVAL;
	int r = name_block(cid, &bn);
	if (r < 0)
		return r;
	int w = snprintf(out, out_size, "%s/" LOCAL_BLOCKS_DIR "/%s",
			 to_local(local)->dir, bn.rel);
	if (w < 0 || (size_t)w >= out_size)
		return -ENOBUFS;
	return 0;
}

static const struct blockstore_ops local_ops = {
	.version = BLOCKSTORE_OPS_VERSION,
	.name = "local",
	.put = local_put,
	.get = local_get,
	.has = local_has,
	.remove = local_remove,
	.sync = local_sync,
	.pin = local_pin,
	.unpin = local_pin,
	.iterate = local_iterate,
	.usage = local_usage,
	.close = local_close,
};
