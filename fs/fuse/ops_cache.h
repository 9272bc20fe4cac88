/*
 * fs/fuse/ops_cache.h — reads, writes and fsync of local cache files
 * (fs/mount/cache_file.h), for fs/fuse/ops.c.
 *
 * Each takes the mount's lock to find the inode; when it is a cache file
 * the call is answered here (the request replied to) and true returned;
 * otherwise nothing happened and the caller goes on with the mailbox's
 * own path.  A cache file's I/O runs outside the lock on a reference.
 */
#ifndef IPMD_FS_FUSE_OPS_CACHE_H
#define IPMD_FS_FUSE_OPS_CACHE_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <stdbool.h>

bool ops_cache_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off);
bool ops_cache_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off);
/* fsync of a cache file promises nothing: answered at once. */
bool ops_cache_fsync(fuse_req_t req, fuse_ino_t ino);

#endif
