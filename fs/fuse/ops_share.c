/* fs/fuse/ops_share.c — the share ioctl of a mount (fs/fuse/share_ioctl.h). */
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "fs/fuse/share_ioctl.h"
#include "fs/mount/mount.h"

void ipmd_op_ioctl(fuse_req_t req, fuse_ino_t ino, int cmd, void *arg,
		   struct fuse_file_info *fi, unsigned flags,
		   const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	(void)arg;
	(void)fi;
	(void)in_buf;
	(void)in_bufsz;
	if ((unsigned)cmd != (unsigned)IPMD_IOC_SHARE ||
	    (flags & FUSE_IOCTL_UNRESTRICTED)) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	if (out_bufsz < IPMD_SHARE_BYTES) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	struct ipmd_fs *fs = fuse_req_userdata(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct obj_ref ref = {0};
	struct inode *inode;
	pthread_mutex_lock(&fs->lock);
	int err = tree_get_file(fs->tree, ino, &inode);
	if (!err && !S_ISREG(inode->mode))
		err = -EINVAL;
	else if (!err && ctx->uid != 0 &&
		 ctx->uid != owner_show_uid(&fs->owner, fs->tree, inode->uid))
		err = -EPERM;
	else if (!err && !fs->read_only)
		err = ipmd_fs_seal_locked(fs, inode);
	if (!err)
		ref = inode->content;
	pthread_mutex_unlock(&fs->lock);
	char cap[IPMD_SHARE_BYTES];
	if (!err)
		err = capability_format(&ref, cap, sizeof(cap));
	sodium_memzero(&ref, sizeof(ref));
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_ioctl(req, 0, cap, sizeof(cap));
	sodium_memzero(cap, sizeof(cap));
}
