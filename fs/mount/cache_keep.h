/*
 * fs/mount/cache_keep.h — local cache files across a clean unmount.
 *
 * A crash loses the cache files (fs/mount/cache_file.h); an unmount need
 * not.  After the last commit, cache_keep_save names each cache file that
 * has one name in STORE/cache and writes the catalog, sealed under the
 * cache key: the head commit and journal generation it belongs to, and per
 * file its directory's inode, name, inode number, mode, owner, times, size
 * and file id.  The next writable mount takes the catalog (it is removed
 * as it is read, so a crash after that keeps nothing) and, only when its
 * head and generation are the catalog's and its journal replayed nothing,
 * puts each file back where it was (cache_keep_restore): the mailbox is
 * then exactly the one the cache files were written over.  Anything else
 * (another head: a mount by an older release, a fast-forward, an --at
 * mount's changes, a damaged catalog) drops them, as a crash would, and
 * Dovecot rebuilds.  Names, numbers and files are checked as they are
 * put back; one that does not fit (its directory gone, its name or
 * number taken) is dropped alone.
 */
#ifndef IPMD_FS_MOUNT_CACHE_KEEP_H
#define IPMD_FS_MOUNT_CACHE_KEEP_H

#include <stdint.h>

#include "ipfs/cid.h"

struct cache_dir;
struct fs_tree;

#define CACHE_CATALOG_NAME "catalog"

/* Name t's cache files and write the catalog for (head, gen).  The number
 * of files kept, or negative errno (then the next mount keeps none). */
int cache_keep_save(struct cache_dir *d, struct fs_tree *t,
		    const struct cid *head, uint64_t gen);

/* Take the catalog; when it is (head, gen)'s, give t its files back.  The
 * number put back (0: no catalog, or another state's), or negative errno
 * for a catalog that does not open.  Removes every other named file. */
int cache_keep_restore(struct cache_dir *d, struct fs_tree *t,
		       const struct cid *head, uint64_t gen);

#endif
