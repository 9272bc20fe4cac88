/*
 * fs/tools/gc_live.h — gc beside a running mount, done by its own daemon
 * (asked through the control socket, fs/cli/control.h).
 *
 * The offline engine (fs/tools/gc.h) decides what is live from the
 * store: the retained commits, the journal, the outbox's log.  A mount
 * that keeps running holds more that no file names yet: its tree past
 * the last journal record read, file states with chunks sealed but not
 * yet named by a record, merges fetching another device's blocks, and
 * the puts still to come.  The steps, around the offline ones:
 *
 *   gc_live_begin  fs->housekeeping, then fs->commit_lock: no commit, no
 *                  merge or fast-forward runs, the head stays; then the
 *                  watch (ipfs/bs_watch.h) remembers every put from here
 *                  on, and g->beside makes gc_free remove through it
 *   gc_open, gc_retain, gc_mark as offline (the history opened beside
 *                  the mount: fs/store/store_open.h store_open_beside)
 *   gc_live_mark   under fs->lock, the roots of every inode's content and
 *                  every file state's blocks (a consistent cut: records
 *                  and file states change only under it); then, outside
 *                  it, their index blocks read and everything marked live
 *   gc_find, the sweep as offline; a block put again since the begin is
 *                  kept (counted in g->kept_busy), never freed, and, if
 *                  it was unpinned on a node, queued for upload again
 *                  through the mount's outbox (gc_requeue_kept)
 *   gc_live_end    the watch ended, the locks released (always, after a
 *                  begin that succeeded)
 *
 * Why that is enough: a block can become needed after the mark only by
 * a put (a new chunk, index, shard or commit), which the watch saw, or by
 * a merge taking in another device's blocks, which waits for the end.
 * Deliveries go on throughout: they journal and write under fs->lock and
 * the file states' own mutexes, never under commit_lock; only the commit
 * waits for the end.
 */
#ifndef IPMD_FS_TOOLS_GC_LIVE_H
#define IPMD_FS_TOOLS_GC_LIVE_H

#include <stddef.h>

#include "fs/mount/mount.h"
#include "fs/tools/gc.h"

/* 0, or -1 with why in msg (and nothing held). */
int gc_live_begin(struct gc *g, struct ipmd_fs *fs, char *msg, size_t msize);
/* After gc_mark: 0, or -1 with why in msg (a content's index that does
 * not read: nothing may be freed then). */
int gc_live_mark(struct gc *g, struct ipmd_fs *fs, char *msg, size_t msize);
void gc_live_end(struct ipmd_fs *fs);

#endif
