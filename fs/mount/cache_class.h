/*
 * fs/mount/cache_class.h — which files are local cache files
 * (fs/mount/cache_file.h), which changes touch only them, and how a merge
 * applies over them.
 *
 * The class is fixed by name at creation: a regular file created under
 * one of Dovecot's index names (fs/model/maildir.h,
 * maildir_is_index_name: "dovecot.index" or "dovecot.list.index", alone
 * or followed by '.' and anything — .log, .log.2, .cache, .tmp, .lock),
 * in any directory.  Files that held such a name before (an earlier
 * release, an import) stay ordinary mailbox files until Dovecot replaces
 * them.  A cache file keeps cache names: a rename or link to another name
 * is -EXDEV (as across filesystems; Dovecot never asks).
 * A mount with -o index_cache=off (mount.h) does not ask: every file is
 * a mailbox file there.
 */
#ifndef IPMD_FS_MOUNT_CACHE_CLASS_H
#define IPMD_FS_MOUNT_CACHE_CLASS_H

#include <stdbool.h>

#include "fs/model/record.h"

struct fs_tree;
struct inode;

/*
 * Does record r, about to change tree t, touch only cache files?  1: apply
 * it without the journal; 0: journal it as any change; -EXDEV: a cache
 * file would take a name outside the list (or an ordinary file a cache
 * file's place by exchange).  For a rename of a cache file over an
 * ordinary file, *unlink_first is set: that name's removal is journaled
 * first.  src: for an unlink or a rename, the inode r->dir and r->name
 * name in t, when the caller has looked it up already; NULL: looked up
 * here.
 */
int cache_file_classify(struct fs_tree *t, const struct record *r,
			const struct inode *src, bool *unlink_first);

/*
 * Before r, about to change tree t, is applied: if r removes a directory
 * (an rmdir, as a merge plans one for a folder the other device deleted),
 * unlink the cache files that directory holds, without the journal (as
 * every change of a cache file), with release_fn/arg at time r->time.  A
 * cache file never keeps a directory alive: the merge saw the directory
 * empty, replay (which has no cache files) removes it, and Dovecot
 * rebuilds them.  Returns how many went; a directory holding anything
 * else is left whole (the rmdir fails as it would have).
 */
unsigned cache_files_drop_for(struct fs_tree *t, const struct record *r,
			      record_release_fn release_fn, void *arg);

/*
 * merge_apply (fs/model/merge.h) for a tree holding cache files: each
 * record after cache_files_drop_for.  Returns how many records failed.
 */
struct merge_plan;
size_t cache_merge_apply(struct fs_tree *t, const struct merge_plan *plan,
			 record_release_fn release_fn, void *arg);

#endif
