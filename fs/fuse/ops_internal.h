/*
 * fs/fuse/ops_internal.h — what the pieces of the FUSE table share; for
 * fs/fuse/ops*.c only.
 *
 *   ops.c      the table, and the operations on names and attributes,
 *              open;
 *   ops_file.c the operations on file contents (read … fsync) and the
 *              file states they use;
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

#include <stdbool.h>

struct ipmd_fs;
struct inode;

/* The mount a request is for (the session's userdata). */
struct ipmd_fs *ops_fs(fuse_req_t req);
/* Under lock: *e for i, the kernel getting a lookup reference with it. */
void ops_fill_entry(struct ipmd_fs *fs, struct inode *i,
		    struct fuse_entry_param *e);
/* Outside lock: reply *e that ops_fill_entry filled.  A reply that fails
 * (the request was interrupted, the connection aborted: libfuse returns
 * -ENOENT or the like) never gave the kernel the entry, which will then
 * never FORGET it: its lookup reference is given back. */
void ops_reply_entry(fuse_req_t req, const struct fuse_entry_param *e);
/* Outside lock: give back the lookup reference of e, filled by
 * ops_fill_entry, that the kernel did not get (the reply failed, or an
 * error was replied instead). */
void ops_entry_unsent(struct ipmd_fs *fs, const struct fuse_entry_param *e);
/* Under lock: the kernel drops n lookup references of ino (FORGET, or a
 * reference it never got); an inode nothing refers to any more is
 * freed. */
void ops_forget_locked(struct ipmd_fs *fs, fuse_ino_t ino, uint64_t n);
/* Outside lock: the blocks put so far, then the journal naming them. */
int ops_make_durable(struct ipmd_fs *fs);
/* Outside lock, instead of make-durable-then-reply: reply err when it is
 * an error, else 0 (or the entry *e, copied) once everything journaled
 * and put before this call is durable, or the sync's error.  The calling
 * worker does not wait (ops_durable.c). */
void ops_reply_err_durable(fuse_req_t req, int err);
void ops_reply_entry_durable(fuse_req_t req, int err,
			     const struct fuse_entry_param *e);
/* Outside lock, for an fsync of a file whose tail seal_open_file sealed
 * (or, a replacement file's first bytes, journaled as appends) and
 * journaled with result err: deferred, a replacement file or a
 * delivery in a Maildir's tmp/ (fs/model/maildir.h,
 * maildir_is_replacement and maildir_is_delivery, as the same lookup
 * found it), is answered at once, durable at the next sync (at the latest
 * the rename or link that delivers it); any other file as
 * ops_reply_err_durable. */
void ops_reply_fsync(fuse_req_t req, bool deferred, int err);
/* Under lock: the directory ino names; NULL with *err -ENOENT or
 * -ENOTDIR. */
struct inode *ops_get_dir(struct ipmd_fs *fs, fuse_ino_t ino, int *err);

/* Under lock, with no known handle of inode left open: writes still
 * unsealed go to the next commit (nobody else will seal them); a state
 * holding nothing is freed (ipmd_fs_settle_locked). */
void ops_file_settle(struct ipmd_fs *fs, struct inode *inode);

/* The file content operations of the table (ops_file.c). */
void ops_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	      struct fuse_file_info *fi);
void ops_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
	       off_t off, struct fuse_file_info *fi);
void ops_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ops_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ops_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	       struct fuse_file_info *fi);

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
