/*
 * fs/fuse/ops_internal.h — what the pieces of the FUSE table share; for
 * fs/fuse/ops*.c only.
 *
 *   ops.c      the table, and the operations on names, attributes and
 *              file contents;
 *   ops_dir.c  the directory listings (opendir … releasedir, fsyncdir);
 *   ops_durable.c  replies that promise durability, sent by the mount's
 *              durable queue once the store is durable.
 *
 * The locking rules are ops.c's (and fs/mount/mount.h's): "under lock"
 * means with fs->lock held.
 */
#ifndef IPMD_FS_FUSE_OPS_INTERNAL_H
#define IPMD_FS_FUSE_OPS_INTERNAL_H

#ifndef FUSE_USE_VERSION
#error "include <fuse_lowlevel.h> (FUSE_USE_VERSION 34) first"
#endif

struct ipmd_fs;
struct inode;

/* The mount a request is for (the session's userdata). */
struct ipmd_fs *ops_fs(fuse_req_t req);
/* Under lock: *e for i, the kernel getting a lookup reference with it. */
void ops_fill_entry(struct ipmd_fs *fs, struct inode *i,
		    struct fuse_entry_param *e);
/* Outside lock: the blocks put so far, then the journal naming them. */
int ops_make_durable(struct ipmd_fs *fs);
/* Outside lock, instead of make-durable-then-reply: reply err when it is
 * an error, else 0 (or the entry *e, copied) once everything journaled
 * and put before this call is durable, or the sync's error.  The calling
 * worker does not wait (ops_durable.c). */
void ops_reply_err_durable(fuse_req_t req, int err);
void ops_reply_entry_durable(fuse_req_t req, int err,
			     const struct fuse_entry_param *e);
/* Outside lock, for an fsync of ino whose tail seal_open_file sealed and
 * journaled with result err: a replacement file (fs/model/maildir.h,
 * maildir_is_replacement) is answered at once, durable at the next sync; any
 * other file as ops_reply_err_durable. */
void ops_reply_fsync(fuse_req_t req, fuse_ino_t ino, int err);
/* Under lock: the directory ino names; NULL with *err -ENOENT or
 * -ENOTDIR. */
struct inode *ops_get_dir(struct ipmd_fs *fs, fuse_ino_t ino, int *err);

/* The directory operations of the table (ops_dir.c). */
void ops_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi);
void ops_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi);
void ops_releasedir(fuse_req_t req, fuse_ino_t ino,
		    struct fuse_file_info *fi);
void ops_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		  struct fuse_file_info *fi);

#endif
