/*
 * fs/fuse/share_ioctl.h — how `ipmaildir share` asks a running mount for the
 * capability of one file: an ioctl on a descriptor of that file.
 *
 * An ioctl rather than an extended attribute: a getxattr handler would make
 * the kernel ask the daemon for security.capability on every write, and
 * tools that copy xattrs (cp -a, rsync -X) would copy the key elsewhere.
 * The ioctl answers only the file's owner (or root): the capability text
 * (fs/model/capability.h), NUL-terminated, in IPMD_SHARE_BYTES.  Unsealed writes
 * are sealed first (as before a rename out of tmp/), so the capability
 * names exactly the file's current content.  Errors: EPERM (not the
 * owner), EISDIR / EINVAL (not a regular file), ENOTTY (another command).
 */
#ifndef IPMD_FS_FUSE_SHARE_IOCTL_H
#define IPMD_FS_FUSE_SHARE_IOCTL_H

#include <sys/ioctl.h>

#include "fs/model/capability.h"

#define IPMD_SHARE_BYTES CAPABILITY_MAX
#define IPMD_IOC_SHARE _IOR('i', 0x51, char[IPMD_SHARE_BYTES])

#ifdef FUSE_USE_VERSION
/* The FUSE handler (fs/fuse/ops_share.c), for the ops table. */
void ipmd_op_ioctl(fuse_req_t req, fuse_ino_t ino, int cmd, void *arg,
		   struct fuse_file_info *fi, unsigned flags,
		   const void *in_buf, size_t in_bufsz, size_t out_bufsz);
#endif

#endif
