/*
 * fs/fuse/ops_file.c — the FUSE calls on a file's contents: read, write,
 * flush, release, fsync, and the file states they use (fs/mount/mount.h,
 * "File states").  ops.c holds the rest of the table; what the two share
 * is ops_internal.h.
 *
 * A call that uses a file state outside fs->lock holds it (file_get …
 * file_put), and puts it back before it replies: after the reply the
 * kernel may forget the inode, and its state may go with it.  A cache
 * file's reads and writes go to ops_cache.c on a reference taken in the
 * call's own lookup.
 */
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include "fs/fuse/ops_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fs/fuse/ops_cache.h"
#include "fs/model/maildir.h"
#include "fs/model/record.h"
#include "fs/mount/cache_file.h"
#include "fs/mount/file.h"
#include "fs/mount/mount.h"
#include "fs/mount/prefetch.h"
#include "fs/mount/tail.h"
#include "ipfs/blockstore.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/wipe.h"

/* ---- file states (fs/mount/mount.h, "File states") ---- */

/* Under lock: inode's file state, made first when make (a write), held
 * for the caller's use outside the lock; NULL when there is none and
 * !make, or on error (*err). */
static struct file_state *file_get(struct ipmd_fs *fs, struct inode *inode,
				   bool make, int *err)
{
	*err = 0;
	if (!inode->file && make)
		*err = file_state_new(&fs->st, inode->ino, &inode->content,
				      &inode->file);
	if (*err || !inode->file)
		return NULL;
	file_state_hold(inode->file);
	return inode->file;
}

/* Under lock: ops_file_settle, by status s when the caller has it. */
static void settle(struct ipmd_fs *fs, struct inode *inode,
		   const struct file_status *s)
{
	if (ipmd_fs_settle_locked(inode, s))
		ipmd_fs_unclaimed(fs, inode->ino);
}

void ops_file_settle(struct ipmd_fs *fs, struct inode *inode)
{
	settle(fs, inode, NULL);
}

/* Under lock: the end of a file_get (f is inode->file: held, nothing
 * freed or replaced it), settled by the status the let-go gives; and
 * the inode released if a release kept it for this hold (mount.h, "Held
 * states and freed inodes": never, while the invariant holds). */
static void file_put(struct ipmd_fs *fs, struct inode *inode,
		     struct file_state *f)
{
	struct file_status s = file_state_unhold(f);
	settle(fs, inode, &s);
	ipmd_fs_release_inode(inode, fs);
}

/* What seal_open_file found ino to be, in the lookup it seals by: an
 * fsync's reply depends on it (ops_fsync). */
struct seal_kind {
	bool cache;	  /* a cache file: nothing to seal, nothing made
			   * durable (fs/mount/cache_file.h) */
	bool deferred; /* a replacement file or a delivery in tmp/
			* (fs/model/maildir.h): ops_reply_fsync */
};

/* Without lock, during a call on ino (fsync, flush, release).  *kind,
 * when asked for: what ino was when the call looked it up. */
static int seal_open_file(struct ipmd_fs *fs, fuse_ino_t ino,
			  struct seal_kind *kind)
{
	int e = 0;
	pthread_mutex_lock(&fs->lock);
	struct inode *inode = tree_get(fs->tree, ino);
	struct file_state *f = inode ? file_get(fs, inode, false, &e) : NULL;
	/* Each looked for only where it counts (every close of a file
	 * written runs this): the take wants it with a state to seal, the
	 * reply of an fsync (kind) always. */
	bool replacement = (f || kind) && maildir_is_replacement(inode);
	if (kind)
		*kind = (struct seal_kind){
			.cache = inode && inode->cache,
			.deferred = replacement || maildir_is_delivery(inode)};
	pthread_mutex_unlock(&fs->lock);
	if (!f)
		return e;
	/* Grown only (or a replacement file's first bytes): the new bytes
	 * journaled, not the tail re-sealed (fs/mount/tail.h). */
	struct record r;
	struct file_tail t;
	e = ipmd_fs_tail_prepare(fs, f, ino, replacement, &r, &t);
	pthread_mutex_lock(&fs->lock);
	if (e == 0 && r.op)
		e = ipmd_fs_tail_log(fs, inode, f, &r, &t);
	file_put(fs, inode, f);
	pthread_mutex_unlock(&fs->lock);
	file_tail_free(&t);
	return e;
}

/* ---- operations ---- */

/* After a read of file ino's first bytes, which the kernel holds from now
 * on (keep_cache; struct inode, paged): the files of its directory a
 * reader of many small files reads next (fs/mount/prefetch.h).
 * ops_read's own look-up cannot serve: it holds no file state here, so
 * while the read ran outside fs->lock a fast-forward may have freed the
 * tree its inode was in (fs/mount/follow.c, can_forward), and only a
 * read that returned bytes marks the file paged. */
static void prefetch_files(struct ipmd_fs *fs, fuse_ino_t ino)
{
	pthread_mutex_lock(&fs->lock);
	struct inode *in = tree_get(fs->tree, ino);
	if (in)
		in->paged = true;
	struct inode *dir = in && in->links ? in->links->dir : NULL;
	uint64_t from = 0, to = 0;
	if (dir)
		prefetch_ahead(fs->prefetch, dir->ino, ino, &from, &to);
	for (uint64_t i = from; i < to; i++) {
		struct inode *n = tree_get(fs->tree, i);
		/* Being written: its state, not its content, is what reads.
		 * Paged: the kernel has it, and a read of it sends nothing
		 * (a warm grep -r: each read of one it lost would prefetch
		 * the 32 after it, which it has, for nothing). */
		if (n && S_ISREG(n->mode) && !n->file && !n->cache &&
		    !n->paged && n->links && n->links->dir == dir)
			prefetch_chunk(fs->prefetch, &n->content, 0);
	}
	pthread_mutex_unlock(&fs->lock);
}

void ops_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)fi;
	struct ipmd_fs *fs = ops_fs(req);
	int err = 0;
	struct cache_file *cf = NULL;
	struct file_state *f = NULL;
	struct obj_ref content;
	uint64_t fsize = 0;
	pthread_mutex_lock(&fs->lock);
	struct inode *inode = tree_get(fs->tree, ino);
	if (inode && inode->cache) {
		cf = cache_file_ref(inode->cache);
		fsize = inode->size;
	} else if (inode) {
		f = file_get(fs, inode, false, &err);
		content = inode->content;
	}
	pthread_mutex_unlock(&fs->lock);
	if (cf) {
		ops_cache_read(req, ino, cf, fsize, size, off);
		return;
	}
	if (!inode) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	/* Per read: size is the kernel's (up to its max_read), no stack's;
	 * a buffer kept per worker would be thread-local state holding
	 * plaintext between reads. */
	uint8_t *buf = malloc(size ? size : 1);
	size_t got = 0;
	if (!buf)
		err = -ENOMEM;
	if (!err)
		err = file_read(&fs->st, f, &content, (uint64_t)off, buf, size,
				&got);
	if (f) {
		pthread_mutex_lock(&fs->lock);
		file_put(fs, inode, f);
		pthread_mutex_unlock(&fs->lock);
	}
	/* A node's failure (cache/outbox.h) is EIO to a reader too: trouble
	 * that may pass (bs_transient) less -EIO itself, which this machine's
	 * disk says as well, so the log would blame the node wrongly. */
	bool node = err != -EIO && bs_transient(err);
	if (err) {
		/* Damaged or missing blocks are never served: say which file. */
		if (err == -EBADMSG || err == -ENOENT)
			logmsg(LOG_ERR, "read of inode %llu at %lld: a block "
			       "%s; returning EIO (run ipmaildir fsck)",
			       (unsigned long long)ino, (long long)off,
			       err == -EBADMSG ? "failed verification"
					       : "is missing");
		else if (node)
			logmsg(LOG_WARNING, "read of inode %llu at %lld: a "
			       "block not here could not be fetched from the "
			       "node (%s); returning EIO",
			       (unsigned long long)ino, (long long)off,
			       strerror(-err));
		fuse_reply_err(req, err == -EBADMSG || err == -ENOENT || node
					    ? EIO
					    : -err);
	} else {
		fuse_reply_buf(req, (const char *)buf, got);
		if (!f && got > 0 && off == 0)
			prefetch_files(fs, ino);
		/* A reader nearing the end of a chunk wants the next one. */
		uint64_t cs = fs->st.chunk_size, end = (uint64_t)off + got;
		if (!f && got > 0 && end % cs >= cs / 2)
			prefetch_chunk(fs->prefetch, &content, end / cs + 1);
	}
	/* The file's plaintext: wiped as the chunk cache wipes its own.
	 * A read that failed may have filled any of buf. */
	wipe_free(buf, err ? size : got);
	/* Its key too, as mount_log.c wipes its copy; the returns above
	 * come before content is filled. */
	sodium_memzero(&content, sizeof(content));
}

void ops_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	struct ipmd_fs *fs = ops_fs(req);
	int err = 0;
	struct file_state *f = NULL;
	struct cache_file *cf = NULL;
	pthread_mutex_lock(&fs->lock);
	struct inode *inode = tree_get(fs->tree, ino);
	if (!inode)
		err = -ENOENT;
	else if (inode->cache)
		cf = cache_file_ref(inode->cache);
	else if (fs->read_only)
		err = -EROFS;
	else
		f = file_get(fs, inode, true, &err);
	pthread_mutex_unlock(&fs->lock);
	if (cf) {
		ops_cache_write(req, ino, cf, buf, size, off);
		return;
	}
	size_t written = 0;
	if (!err)
		err = file_write_part(&fs->st, f, (uint64_t)off,
				      (const uint8_t *)buf, size, &written);
	if (f) {
		pthread_mutex_lock(&fs->lock);
		if (written > 0) {
			inode->size = file_size(f);
			inode->mtime = inode->ctime = wall_now();
		}
		file_put(fs, inode, f);
		pthread_mutex_unlock(&fs->lock);
	}
	/* Part written: a short write, as write(2) reports one; the caller
	 * gets the error when it writes the rest.  The file holds exactly
	 * what was reported (file_write_part; without an error, all size
	 * bytes). */
	if (err && written == 0)
		fuse_reply_err(req, -err);
	else
		fuse_reply_write(req, written);
}

void ops_flush(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi)
{
	if (ops_fs(req)->no_open) {
		/* Every close would cost a round trip, a reader's too (no-open
		 * handles carry no FOPEN_NOFLUSH): ENOSYS, and the kernel
		 * sends no more.  A writer's tail is sealed by its fsync, a
		 * rename or link, or the next commit (fs/mount/mount.h, "File
		 * states"). */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	/* close(2): the tail is sealed here, where an error still reaches
	 * the caller. */
	int err = (fi->flags & O_ACCMODE) != O_RDONLY
			  ? seal_open_file(ops_fs(req), ino, NULL)
			  : 0;
	fuse_reply_err(req, -err);
}

void ops_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct ipmd_fs *fs = ops_fs(req);
	/* Writes through a shared mapping may land after the last flush. */
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		seal_open_file(fs, ino, NULL);
	pthread_mutex_lock(&fs->lock);
	struct inode *inode = tree_get(fs->tree, ino);
	if (inode) {
		/* A no-open create's handle was not counted (create_node in
		 * ops.c), yet its release may still come: opens stays 0. */
		if (inode->opens > 0)
			inode->opens--;
		ops_file_settle(fs, inode);
		ipmd_fs_release_inode(inode, fs);
	}
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, 0);
}

void ops_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	(void)datasync;
	(void)fi;
	struct seal_kind kind;
	int err = seal_open_file(ops_fs(req), ino, &kind);
	if (kind.cache) /* promises nothing (fs/mount/cache_file.h) */
		fuse_reply_err(req, 0);
	else
		ops_reply_fsync(req, kind.deferred, err);
}
