/*
 * fs/fuse/ops.c — the FUSE low-level operations.
 *
 * Each operation: take fs->lock, resolve inodes, append a journal record
 * and apply it (record_apply), update what the kernel is told, drop the
 * lock; then, for calls that promise durability, reply only once the block
 * store and the journal are durable (ops_reply_*_durable: the mount's
 * durable queue replies, the worker does not wait).  See fs/mount/mount.h for
 * the locking and durability rules.
 *
 * Opens cost nothing (the kernel's no-open, op_init): the kernel opens a
 * file without asking, keeps its cached pages, and sends no flush or
 * release for it, so a warm read of a file reaches the daemon not at all.
 * The calls on a file's contents (read, write, flush, release, fsync) and
 * the file states they use are ops_file.c's.
 */
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include "fs/fuse/ops.h"
#include "fs/fuse/ops_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fs/fuse/share_ioctl.h"
#include "fs/model/maildir.h"
#include "fs/model/record.h"
#include "fs/mount/cache_file.h"
#include "fs/mount/file.h"
#include "fs/mount/mount.h"
#include "fs/store/wal_store.h"
#include "util/clock.h"

_Static_assert(sizeof(fuse_ino_t) >= sizeof(uint64_t),
	       "inode numbers are passed to the kernel as they are");

/* What the kernel sees as the best I/O size: a quarter chunk. */
#define IO_BLOCK_SIZE 65536

struct ipmd_fs *ops_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Under lock: owners as this device's mail user sees them (owner.h). */
static void fill_stat(const struct ipmd_fs *fs, const struct inode *i,
		      struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = i->ino;
	st->st_mode = i->mode;
	st->st_nlink = i->nlink;
	st->st_uid = owner_show_uid(&fs->owner, fs->tree, i->uid);
	st->st_gid = owner_show_gid(&fs->owner, fs->tree, i->gid);
	st->st_rdev = (dev_t)i->rdev;
	st->st_size = S_ISLNK(i->mode) ? (off_t)strlen(i->target)
		      : S_ISDIR(i->mode) ? 4096
					 : (off_t)i->size;
	st->st_blksize = IO_BLOCK_SIZE;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_atim = i->atime;
	st->st_mtim = i->mtime;
	st->st_ctim = i->ctime;
}

/* Under lock: the kernel gets a reference (lookup count) with the entry,
 * counted before the reply (a FORGET may follow the reply at once) and
 * given back if the reply fails (ops_reply_entry). */
void ops_fill_entry(struct ipmd_fs *fs, struct inode *i,
		    struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = i->ino;
	e->attr_timeout = fs->attr_timeout;
	e->entry_timeout = fs->attr_timeout;
	fill_stat(fs, i, &e->attr);
	i->lookups++;
}

/* Outside lock: the blocks put so far (mostly carried by the journal, see
 * fs/store/wal_store.h), then the journal that names them. */
int ops_make_durable(struct ipmd_fs *fs)
{
	return wal_store_durable(fs->stack.wal);
}

struct inode *ops_get_dir(struct ipmd_fs *fs, fuse_ino_t ino, int *err)
{
	struct inode *d = tree_get(fs->tree, ino);
	*err = !d ? -ENOENT : !d->dir ? -ENOTDIR : 0;
	return *err ? NULL : d;
}

/* ---- operations ---- */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct ipmd_fs *fs = userdata;
	/* The daemon is the only writer: whatever the kernel cached stays
	 * true, so no writeback cache games are needed for coherence. */
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	/* Always readdirplus, never the kernel's adaptive choice: a tree
	 * walker (grep -r, tar, find -exec) reads a whole directory before it
	 * opens a file, which the adaptive mode takes for a plain ls, and a
	 * LOOKUP per file followed (39,646 requests for a cold grep -r of
	 * 20,000 files, 20,071 with this).  Entries cost no block: they come
	 * from the tree. */
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	/* An open and a release per file read were all a warm grep -r cost
	 * the daemon: op_open answers ENOSYS once, and the kernel opens by
	 * itself from then on.  No open carries O_TRUNC then: it must come
	 * as a setattr. */
	if (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) {
		conn->want |= FUSE_CAP_NO_OPEN_SUPPORT;
		conn->want &= ~(unsigned)FUSE_CAP_ATOMIC_O_TRUNC;
		fs->no_open = true;
	}
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ipmd_fs *fs = ops_fs(req);
	struct fuse_entry_param e;
	int err;
	if (strlen(name) > TREE_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	struct inode *dir = ops_get_dir(fs, parent, &err);
	struct dirent *d = dir ? tree_lookup(dir, name) : NULL;
	if (d)
		ops_fill_entry(fs, d->inode, &e);
	pthread_mutex_unlock(&fs->lock);
	if (err) {
		fuse_reply_err(req, -err);
	} else if (!d) {
		/* A negative entry: the kernel may cache the absence. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->attr_timeout;
		fuse_reply_entry(req, &e);
	} else {
		ops_reply_entry(req, &e);
	}
}

void ops_forget_locked(struct ipmd_fs *fs, fuse_ino_t ino, uint64_t n)
{
	struct inode *inode = tree_get(fs->tree, ino);
	if (!inode)
		return;
	inode->lookups = inode->lookups > n ? inode->lookups - n : 0;
	if (!inode->lookups)
		inode->paged = false; /* its pages went with the kernel's inode */
	ipmd_fs_release_inode(inode, fs);
}

void ops_entry_unsent(struct ipmd_fs *fs, const struct fuse_entry_param *e)
{
	pthread_mutex_lock(&fs->lock);
	ops_forget_locked(fs, e->ino, 1);
	pthread_mutex_unlock(&fs->lock);
}

void ops_reply_entry(fuse_req_t req, const struct fuse_entry_param *e)
{
	if (fuse_reply_entry(req, e) != 0)
		ops_entry_unsent(ops_fs(req), e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct ipmd_fs *fs = ops_fs(req);
	pthread_mutex_lock(&fs->lock);
	ops_forget_locked(fs, ino, nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct ipmd_fs *fs = ops_fs(req);
	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < count; i++)
		ops_forget_locked(fs, forgets[i].ino, forgets[i].nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)fi;
	struct ipmd_fs *fs = ops_fs(req);
	struct stat st;
	pthread_mutex_lock(&fs->lock);
	struct inode *inode = tree_get(fs->tree, ino);
	if (inode)
		fill_stat(fs, inode, &st);
	pthread_mutex_unlock(&fs->lock);
	if (!inode)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &st, fs->attr_timeout);
}

/* Under lock: change the size of a regular file. */
static int truncate_locked(struct ipmd_fs *fs, struct inode *inode,
			   uint64_t size, const struct timespec *t)
{
	if (S_ISDIR(inode->mode))
		return -EISDIR;
	if (!S_ISREG(inode->mode))
		return -EINVAL;
	if (fs->read_only)
		return -EROFS;
	int e = 0;
	if (inode->cache) { /* fs/mount/cache_file.h: nothing to seal */
		e = cache_file_truncate(inode->cache, inode->size, size);
		if (e == 0) {
			inode->size = size;
			inode->mtime = inode->ctime = *t;
		}
		return e;
	}
	if (!inode->file)
		e = file_state_new(&fs->st, inode->ino, &inode->content,
				   &inode->file);
	if (e == 0)
		e = file_truncate(&fs->st, inode->file, size);
	if (e != 0)
		return e;
	inode->size = size;
	inode->mtime = inode->ctime = *t;
	if (inode->opens == 0) {
		/* No handle we know of will be closed: seal it now. */
		e = ipmd_fs_seal_locked(fs, inode);
		ops_file_settle(fs, inode);
	}
	return e;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	(void)fi;
	struct ipmd_fs *fs = ops_fs(req);
	struct timespec t = wall_now();
	struct stat st;
	int e = 0;
	pthread_mutex_lock(&fs->lock);
	struct inode *inode = tree_get(fs->tree, ino);
	if (!inode) {
		e = -ENOENT;
		goto out;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		e = truncate_locked(fs, inode, (uint64_t)attr->st_size, &t);
		if (e)
			goto out;
	}
	struct record r = {.op = REC_SETATTR, .ino = ino, .time = t,
			   .mode = inode->mode, .uid = inode->uid,
			   .gid = inode->gid, .atime = inode->atime,
			   .mtime = inode->mtime};
	if (to_set & FUSE_SET_ATTR_MODE) {
		r.set |= REC_SET_MODE;
		r.mode = attr->st_mode;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		r.set |= REC_SET_UID;
		r.uid = owner_store_uid(&fs->owner, fs->tree, attr->st_uid);
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		r.set |= REC_SET_GID;
		r.gid = owner_store_gid(&fs->owner, fs->tree, attr->st_gid);
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) {
		r.set |= REC_SET_ATIME;
		r.atime = to_set & FUSE_SET_ATTR_ATIME_NOW ? t : attr->st_atim;
	}
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
		r.set |= REC_SET_MTIME;
		r.mtime = to_set & FUSE_SET_ATTR_MTIME_NOW ? t : attr->st_mtim;
	}
	if (r.set || (to_set & FUSE_SET_ATTR_CTIME))
		e = ipmd_fs_log(fs, &r);
out:
	if (e == 0)
		fill_stat(fs, inode, &st);
	pthread_mutex_unlock(&fs->lock);
	if (e)
		fuse_reply_err(req, -e);
	else
		fuse_reply_attr(req, &st, fs->attr_timeout);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct ipmd_fs *fs = ops_fs(req);
	char target[TREE_SYMLINK_MAX + 1];
	int e = 0;
	pthread_mutex_lock(&fs->lock);
	struct inode *inode = tree_get(fs->tree, ino);
	if (!inode)
		e = ENOENT;
	else if (!S_ISLNK(inode->mode))
		e = EINVAL;
	else
		snprintf(target, sizeof(target), "%s", inode->target);
	pthread_mutex_unlock(&fs->lock);
	if (e)
		fuse_reply_err(req, e);
	else
		fuse_reply_readlink(req, target);
}

/* What create_node makes: the type and permission bits, a symlink's
 * target, a device node's device. */
struct node_kind {
	mode_t mode;
	const char *target;
	dev_t rdev;
};

/* Create name in parent; on success *e is filled (a lookup reference). */
static int create_node(fuse_req_t req, fuse_ino_t parent, const char *name,
		       const struct node_kind *k, struct fuse_entry_param *e,
		       struct fuse_file_info *fi)
{
	struct ipmd_fs *fs = ops_fs(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	const char *target = k->target;
	mode_t mode = k->mode;
	int err = tree_check_name(name);
	if (err)
		return err;
	if (target && strlen(target) > TREE_SYMLINK_MAX)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&fs->lock);
	struct inode *dir = ops_get_dir(fs, parent, &err);
	struct inode *inode = NULL;
	if (dir && tree_lookup(dir, name))
		err = -EEXIST;
	if (!err) {
		struct record r = {.op = REC_CREATE, .dir = parent,
				   .name = name, .ino = fs->tree->next_ino,
				   .mode = mode,
				   .uid = owner_store_uid(&fs->owner, fs->tree,
							  ctx->uid),
				   .gid = owner_store_gid(&fs->owner, fs->tree,
							  ctx->gid),
				   .target = target, .rdev = k->rdev,
				   .time = wall_now()};
		/* setgid directories hand their group down. */
		if (dir->mode & S_ISGID) {
			r.gid = dir->gid;
			if (S_ISDIR(mode))
				r.mode |= S_ISGID;
		}
		err = ipmd_fs_log(fs, &r);
		inode = err ? NULL : tree_get(fs->tree, r.ino);
		/* ipmd_fs_log counts messages added (fs/model/changes.h). */
	}
	/* With no-open a create's handle is not counted: whether a release
	 * comes for it the kernel decides when the handle closes, by whether
	 * an open has answered ENOSYS by then (op_open), so one created
	 * before the first open may get a release or not (and some kernels
	 * send it always).  A count would wait for a release that may never
	 * come; a release nothing counted only seals and settles
	 * (ops_release). */
	if (inode && fi && !fs->no_open) {
		inode->opens++;
		if ((fi->flags & O_ACCMODE) != O_RDONLY)
			err = file_state_new(&fs->st, inode->ino,
					     &inode->content, &inode->file);
		if (err)
			inode->opens--;
	}
	if (inode && !err)
		ops_fill_entry(fs, inode, e);
	pthread_mutex_unlock(&fs->lock);
	return err;
}

static void reply_created(fuse_req_t req, int err, struct fuse_entry_param *e,
			  bool durable)
{
	if (durable)
		ops_reply_entry_durable(req, err, e);
	else if (err)
		fuse_reply_err(req, -err);
	else
		ops_reply_entry(req, e);
}

/*
 * Regular files and the special files (FIFOs, sockets, character and
 * block devices: entries of the tree, fs/model/tree.h).  The kernel
 * answers for what a local filesystem's would: it refuses a device node
 * to a caller without CAP_MKNOD (EPERM) before asking, makes a FIFO or a
 * socket work itself, and refuses to open a device node on a mount
 * without "dev" (FUSE mounts are nodev unless mounted with -o dev).
 */
static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct fuse_entry_param e;
	struct node_kind k = {.mode = (mode & S_IFMT) | (mode & 07777)};
	if ((mode & S_IFMT) == 0)
		k.mode |= S_IFREG;
	if (!S_ISREG(k.mode) && !tree_is_special(k.mode)) {
		fuse_reply_err(req, EINVAL); /* as mknod(2) for a directory */
		return;
	}
	if (tree_has_rdev(k.mode))
		k.rdev = rdev;
	int err = create_node(req, parent, name, &k, &e, NULL);
	reply_created(req, err, &e, false);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct fuse_entry_param e;
	struct node_kind k = {.mode = S_IFDIR | (mode & 07777)};
	int err = create_node(req, parent, name, &k, &e, NULL);
	reply_created(req, err, &e, true);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct fuse_entry_param e;
	struct node_kind k = {.mode = S_IFLNK | 0777, .target = link};
	int err = create_node(req, parent, name, &k, &e, NULL);
	reply_created(req, err, &e, true);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct ipmd_fs *fs = ops_fs(req);
	struct fuse_entry_param e;
	if (fs->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	struct node_kind k = {.mode = S_IFREG | (mode & 07777)};
	int err = create_node(req, parent, name, &k, &e, fi);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fi->keep_cache = 1;
	if (fuse_reply_create(req, &e, fi) == 0)
		return;
	/* Not delivered (ops_reply_entry): no FORGET, and no RELEASE for
	 * the handle create_node counted, will come. */
	pthread_mutex_lock(&fs->lock);
	struct inode *inode = tree_get(fs->tree, e.ino);
	if (inode && !fs->no_open && inode->opens > 0) {
		inode->opens--;
		ops_file_settle(fs, inode);
	}
	ops_forget_locked(fs, e.ino, 1);
	pthread_mutex_unlock(&fs->lock);
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name,
			bool rmdir)
{
	struct ipmd_fs *fs = ops_fs(req);
	int err;
	pthread_mutex_lock(&fs->lock);
	struct inode *dir = ops_get_dir(fs, parent, &err);
	if (dir) {
		struct record r = {.op = REC_UNLINK, .dir = parent,
				   .name = name, .rmdir = rmdir,
				   .time = wall_now()};
		struct dirent *d = tree_lookup(dir, name);
		err = !d ? -ENOENT : ipmd_fs_log_from(fs, &r, d->inode);
	}
	pthread_mutex_unlock(&fs->lock);
	/* Journaled, durable at the next sync or commit, as a rename within
	 * one directory: losing a removal to a crash never loses mail (the
	 * name comes back), and the journal is a log, so nothing later is
	 * durable without it.  Dovecot removes a lock file on every flag
	 * change; one fdatasync each was a third of IMAP STORE's cost. */
	fuse_reply_err(req, -err);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, false);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, true);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct ipmd_fs *fs = ops_fs(req);
	int err = tree_check_name(newname);
	unsigned tflags = 0;
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		err = -EINVAL;
	if (flags & RENAME_NOREPLACE)
		tflags |= TREE_RENAME_NOREPLACE;
	if (flags & RENAME_EXCHANGE)
		tflags |= TREE_RENAME_EXCHANGE;
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	struct inode *dir = ops_get_dir(fs, parent, &err);
	struct dirent *d = dir ? tree_lookup(dir, name) : NULL;
	bool seen = maildir_is_new_to_cur(dir, tree_get(fs->tree, newparent));
	if (dir && !d)
		err = -ENOENT;
	/* A message leaving tmp/ is whole: seal its tail first.  Not a
	 * replacement file whose every change is journaled as appends
	 * (fs/mount/tail.h): replay rebuilds it before this rename, and the
	 * commit seals it, or drops it once renamed over.  Only such a file:
	 * a message appended to and fsynced in tmp/ is covered by appends
	 * too, and still enters new/ sealed. */
	struct file_state *fst = !err ? d->inode->file : NULL;
	bool covered = fst && maildir_is_replacement(d->inode) &&
		       file_tail_covers(fst);
	if (!err && !covered)
		err = ipmd_fs_seal_locked(fs, d->inode);
	if (!err)
		ops_file_settle(fs, d->inode);
	if (!err) {
		struct record r = {.op = REC_RENAME, .dir = parent,
				   .name = name, .newdir = newparent,
				   .newname = newname, .flags = tflags,
				   .time = wall_now()};
		err = ipmd_fs_log_from(fs, &r, d->inode);
	}
	pthread_mutex_unlock(&fs->lock);
	/* A name entering a directory (tmp/ to new/) is durable on return, as
	 * a delivery needs.  Within one directory (a Maildir flag change, an
	 * index file replaced) and from new/ to cur/ (mail seen: a crash puts
	 * it back in new/, whole) it is journaled and durable at the next sync
	 * or commit, as on a local filesystem, where only an fsync of the
	 * directory promises it. */
	if (parent != newparent && !seen)
		ops_reply_err_durable(req, err);
	else
		fuse_reply_err(req, -err);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct ipmd_fs *fs = ops_fs(req);
	struct fuse_entry_param e;
	int err = tree_check_name(newname);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	struct inode *inode = tree_get(fs->tree, ino);
	if (!inode)
		err = -ENOENT;
	if (!err)
		err = ipmd_fs_seal_locked(fs, inode);
	if (!err)
		ops_file_settle(fs, inode);
	if (!err) {
		struct record r = {.op = REC_LINK, .ino = ino,
				   .dir = newparent, .name = newname,
				   .time = wall_now()};
		err = ipmd_fs_log(fs, &r);
	}
	if (!err)
		ops_fill_entry(fs, inode, &e);
	pthread_mutex_unlock(&fs->lock);
	reply_created(req, err, &e, true);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ipmd_fs *fs = ops_fs(req);
	bool writable = (fi->flags & O_ACCMODE) != O_RDONLY;
	if (fs->no_open) {
		/* Success, and the last open we see (op_init). */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	struct inode *inode;
	int err = tree_get_file(fs->tree, ino, &inode);
	if (!err && writable && fs->read_only)
		err = -EROFS;
	else if (!err && writable && !inode->file)
		err = file_state_new(&fs->st, inode->ino,
				     &inode->content, &inode->file);
	if (!err)
		inode->opens++;
	/* The kernel leaves O_TRUNC to us (FUSE_CAP_ATOMIC_O_TRUNC). */
	if (!err && writable && (fi->flags & O_TRUNC) && inode->size > 0) {
		struct timespec t = wall_now();
		err = truncate_locked(fs, inode, 0, &t);
		if (err)
			inode->opens--;
	}
	pthread_mutex_unlock(&fs->lock);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	/* Only this daemon writes: cached pages stay true across opens. */
	fi->keep_cache = 1;
	/* Nothing to seal when a reader closes: no FLUSH round trip. */
	fi->noflush = !writable;
	if (fuse_reply_open(req, fi) == 0)
		return;
	/* Interrupted: no RELEASE will come for the handle counted above. */
	pthread_mutex_lock(&fs->lock);
	if ((inode = tree_get(fs->tree, ino)) && inode->opens > 0) {
		inode->opens--;
		ops_file_settle(fs, inode);
		ipmd_fs_release_inode(inode, fs);
	}
	pthread_mutex_unlock(&fs->lock);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	(void)ino;
	struct ipmd_fs *fs = ops_fs(req);
	struct statvfs sv;
	if (statvfs(fs->store.paths.root, &sv) != 0) {
		fuse_reply_err(req, errno);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	uint64_t files = fs->tree->ninodes;
	pthread_mutex_unlock(&fs->lock);
	sv.f_namemax = TREE_NAME_MAX;
	sv.f_files = files + sv.f_ffree;
	sv.f_favail = sv.f_ffree;
	fuse_reply_statfs(req, &sv);
}

const struct fuse_lowlevel_ops ipmd_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.read = ops_read,
	.write = ops_write,
	.flush = ops_flush,
	.release = ops_release,
	.fsync = ops_fsync,
	.opendir = ops_opendir,
	.readdir = ops_readdir,
	.readdirplus = ops_readdirplus,
	.releasedir = ops_releasedir,
	.fsyncdir = ops_fsyncdir,
	.statfs = op_statfs,
	.create = op_create,
	.ioctl = ipmd_op_ioctl, /* share: fs/fuse/share_ioctl.h */
};
