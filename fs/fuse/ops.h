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

struct ipmd_fs;
/* The thread that answers fsync, fsyncdir, a rename into another
 * directory, link, mkdir and symlink once the store is durable
 * (ops_durable.c, fs/mount/durable_queue.h): started after the mount's
 * workers, on a writable mount (a read-only one needs none), 0 or a
 * negative errno; without it the workers wait for durability
 * themselves.  Stop it once fuse_session_loop_mt has returned and before
 * fuse_session_destroy: it answers every request still waiting. */
int ipmd_fuse_durable_start(struct ipmd_fs *fs);
void ipmd_fuse_durable_stop(struct ipmd_fs *fs);

#endif
