/*
 * fs/fuse/ops.h — the FUSE low-level operations over a mounted mailbox.
 *
 * The table the CLI hands to fuse_session_new, with a struct ipmd_fs
 * (fs/mount/mount.h), opened and not yet closed, as the session's
 * userdata: every operation finds the mount there.  The locking and
 * durability rules each operation follows are mount.h's.  fs/mount/ knows
 * nothing of FUSE; this is the only place that joins the two.
 */
#ifndef IPMD_FS_FUSE_OPS_H
#define IPMD_FS_FUSE_OPS_H

struct fuse_lowlevel_ops;
extern const struct fuse_lowlevel_ops ipmd_ops;

#endif
