/*
 * fs/mount/cache_class.h — which files are local cache files
 * (fs/mount/cache_file.h), and which changes touch only them.
 *
 * The class is fixed by name at creation: a regular file created as
 * "dovecot.index" or "dovecot.list.index", alone or followed by '.' and
 * anything (Dovecot's .log, .log.2, .cache, .tmp, .lock), in any
 * directory.  Files that held such a name before (an earlier release, an
 * import) stay ordinary mailbox files until Dovecot replaces them.  A
 * cache file keeps cache names: a rename or link to another name is
 * -EXDEV (as across filesystems; Dovecot never asks).
 * A mount with -o index_cache=off (mount.h) does not ask: every file is
 * a mailbox file there.
 */
#ifndef IPMD_FS_MOUNT_CACHE_CLASS_H
#define IPMD_FS_MOUNT_CACHE_CLASS_H

#include <stdbool.h>

struct fs_tree;
struct inode;
struct record;

/* Is name one of the cache names: "dovecot.index" or "dovecot.list.index",
 * alone or followed by '.' and anything (.log, .log.2, .cache, .tmp,
 * .lock, …)?  dovecot-uidlist and dovecot-keywords are not. */
bool cache_file_name_is(const char *name);

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

#endif
