/*
 * fs/fuse/ops_cache.h — reads and writes of local cache files
 * (fs/mount/cache_file.h), for fs/fuse/ops.c.
 *
 * The operation finds the inode under the mount's lock, as it does for
 * any file; when inode->cache is set it takes a reference to it
 * (cache_file_ref) and the inode's size, drops the lock and calls here.
 * Each call runs the cache file's I/O outside the lock, replies to req and
 * drops the reference.  An fsync of a cache file promises nothing: the
 * operation answers it at once.
 */
#ifndef IPMD_FS_FUSE_OPS_CACHE_H
#define IPMD_FS_FUSE_OPS_CACHE_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <stdint.h>

struct cache_file;

/* Read [off, off+size) of ino's cache file cf, fsize bytes long. */
void ops_cache_read(fuse_req_t req, fuse_ino_t ino, struct cache_file *cf,
		    uint64_t fsize, size_t size, off_t off);
/* Write buf; ino's size and times follow if cf is still its cache file. */
void ops_cache_write(fuse_req_t req, fuse_ino_t ino, struct cache_file *cf,
		     const char *buf, size_t size, off_t off);

#endif
