/* fs/fuse/ops_cache.c — FUSE calls on local cache files (ops_cache.h). */
#include "fs/fuse/ops_cache.h"

#include <errno.h>
#include <stdlib.h>

#include "fs/mount/cache_file.h"
#include "fs/mount/mount.h"
#include "util/clock.h"
#include "util/log.h"

/* Under no lock: ino's cache file, referenced, and its size; NULL when
 * ino is not a cache file. */
static struct cache_file *cache_of(struct ipmd_fs *fs, fuse_ino_t ino,
				   uint64_t *size)
{
	struct cache_file *cf = NULL;
	pthread_mutex_lock(&fs->lock);
	struct inode *i = tree_get(fs->tree, ino);
	if (i && i->cache) {
		cf = cache_file_ref(i->cache);
		*size = i->size;
	}
	pthread_mutex_unlock(&fs->lock);
	return cf;
}

bool ops_cache_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off)
{
	struct ipmd_fs *fs = fuse_req_userdata(req);
	uint64_t fsize;
	struct cache_file *cf = cache_of(fs, ino, &fsize);
	if (!cf)
		return false;
	uint8_t *buf = malloc(size ? size : 1);
	size_t got = 0;
	int e = buf ? cache_file_read(cf, fsize, (uint64_t)off, buf, size,
				      &got)
		    : -ENOMEM;
	cache_file_unref(cf);
	if (e == -EIO)
		logmsg(LOG_ERR, "read of cache file inode %llu at %lld: a page "
		       "failed verification; returning EIO",
		       (unsigned long long)ino, (long long)off);
	if (e)
		fuse_reply_err(req, -e);
	else
		fuse_reply_buf(req, (const char *)buf, got);
	free(buf);
	return true;
}

bool ops_cache_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off)
{
	struct ipmd_fs *fs = fuse_req_userdata(req);
	uint64_t fsize;
	struct cache_file *cf = cache_of(fs, ino, &fsize);
	if (!cf)
		return false;
	int e = cache_file_write(cf, fsize, (uint64_t)off,
				 (const uint8_t *)buf, size);
	pthread_mutex_lock(&fs->lock);
	struct inode *i = tree_get(fs->tree, ino);
	if (e == 0 && i && i->cache == cf) {
		uint64_t end = (uint64_t)off + size;
		if (end > i->size)
			i->size = end;
		i->mtime = i->ctime = wall_now();
	}
	pthread_mutex_unlock(&fs->lock);
	cache_file_unref(cf);
	if (e)
		fuse_reply_err(req, -e);
	else
		fuse_reply_write(req, size);
	return true;
}

bool ops_cache_fsync(fuse_req_t req, fuse_ino_t ino)
{
	struct ipmd_fs *fs = fuse_req_userdata(req);
	uint64_t fsize;
	struct cache_file *cf = cache_of(fs, ino, &fsize);
	if (!cf)
		return false;
	cache_file_unref(cf);
	fuse_reply_err(req, 0);
	return true;
}
