/*
 * fs/fuse/notify.h — telling the kernel what changed behind its back.
 *
 * A mount's tree changes without a FUSE request when the sync thread
 * merges or fast-forwards to another device's head (fs/mount/follow.h).
 * The kernel caches entries and attributes (attr_timeout) and pages
 * (keep_cache), so the mount hands it, through fs->notify, the names and
 * inodes that changed: their cache entries are dropped
 * (fuse_lowlevel_notify_inval_entry, _inval_inode) and asked for again.
 * A name or inode the kernel never cached is nothing to drop (ignored).
 * The callbacks are called outside fs->lock and outside any request, as
 * libfuse requires; the sync thread stops before the session goes.
 */
#ifndef IPMD_FS_FUSE_NOTIFY_H
#define IPMD_FS_FUSE_NOTIFY_H

struct fuse_session;
struct ipmd_fs;

/* Set fs->notify to the kernel of session se. */
void ipmd_fuse_notify(struct ipmd_fs *fs, struct fuse_session *se);

#endif
