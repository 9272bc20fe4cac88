/*
 * fs/mount/sync.h — a read-write mount with a node follows the mailbox's
 * published head (docs/ARCHITECTURE.md, "One IPNS name, merge before
 * publishing over it").
 *
 * A thread, every `-o sync=S` (± 25 % at random, so two devices do not
 * sync in step; the first round at once), runs one round:
 *   1. commit what is pending (ipmd_fs_commit): the head H is current;
 *   2. resolve the mailbox's IPNS name through the node (every record
 *      verified, the highest sequence, on a tie the smaller CID: P);
 *   3. P = H, or P an ancestor of H: nothing to take in; H may be
 *      published (over P, which it contains);
 *      H an ancestor of P (or no head yet): fast-forward to P
 *      (fs/mount/follow.h), no commit, nothing to publish (but with
 *      no head and P holding index files this mount makes cache files
 *      of: P's tree without them, a commit over P, published);
 *      neither (or a fast-forward not possible now): merge P into the
 *      live tree against their merge bases, commit (parents H and P),
 *      publish that;
 *   4. record P, when and what was done in STORE/device's peer
 *      (fs/store/device.h), for `ipmaildir status`.
 * With sync on, the publisher (fs/mount/publish.h) is given only heads a
 * round found to contain the published one, and the commits written
 * after such a head (they contain it too), so a mount never publishes
 * over a head it does not contain; once a round could not take the
 * published head in, nothing goes out until one does.  A name with no
 * record yet: the head is published as the first.
 * Failures (the node, a missing block) are logged once while they last;
 * the next round tries again.  Mail is never affected: a merge that fails
 * leaves the tree as it was.
 */
#ifndef IPMD_FS_MOUNT_SYNC_H
#define IPMD_FS_MOUNT_SYNC_H

#include "fs/mount/mount.h"

/* One IPNS resolution, retries included. */
#define SYNC_RESOLVE_TIMEOUT_MS 10000

struct sync;

/*
 * Start following, every fs->sync_interval_s seconds (0, or no node:
 * nothing is started, *out = NULL).  After daemonizing, once the committer
 * runs.  0 or negative errno.
 */
int sync_start(struct ipmd_fs *fs, struct sync **out);

/*
 * Stop the thread (a round under way finishes), then, once, publish the
 * head if it contains the published one (unmount: the last commit is
 * then left to the publisher's final publication).  Before the FUSE
 * session goes (no kernel to notify after it).  NULL is fine.
 */
void sync_stop(struct sync *s);

#endif
