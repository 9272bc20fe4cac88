/*
 * fs/mount/housekeeping.h — holding a running mount's head still for
 * housekeeping beside it (gc, fsck and status through the control socket,
 * fs/cli/control.h).
 *
 * housekeeping_begin takes fs->housekeeping, then fs->commit_lock (the
 * order struct ipmd_fs names: housekeeping, commit_lock, lock): from then
 * until housekeeping_end no commit, no sync round's merge or
 * fast-forward runs, so the head and what the history names stay as they
 * are.  Deliveries go on meanwhile: they take fs->lock, never commit_lock.
 * The caller must not hold fs->lock when it begins; every begin is paired
 * with one end, in the same thread.
 */
#ifndef IPMD_FS_MOUNT_HOUSEKEEPING_H
#define IPMD_FS_MOUNT_HOUSEKEEPING_H

#include "fs/mount/mount.h"

void housekeeping_begin(struct ipmd_fs *fs);
/* Releases what housekeeping_begin took, in the reverse order. */
void housekeeping_end(struct ipmd_fs *fs);

#endif
