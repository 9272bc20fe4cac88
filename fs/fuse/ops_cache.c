/* fs/fuse/ops_cache.c — FUSE calls on local cache files (ops_cache.h). */
#include "fs/fuse/ops_cache.h"

#include <errno.h>
#include <stdlib.h>

#include "fs/mount/cache_file.h"
#include "fs/mount/mount.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/wipe.h"

void ops_cache_read(fuse_req_t req, fuse_ino_t ino, struct cache_file *cf,
		    uint64_t fsize, size_t size, off_t off)
{
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
	/* Dovecot's index cache holds plaintext headers, as ops_read's
	 * buffer holds mail. */
	wipe_free(buf, e ? size : got);
}

void ops_cache_write(fuse_req_t req, fuse_ino_t ino, struct cache_file *cf,
		     const char *buf, size_t size, off_t off)
{
	struct ipmd_fs *fs = fuse_req_userdata(req);
	int e = cache_file_write(cf, (uint64_t)off, (const uint8_t *)buf, size);
	/* Looked up again: the inode may have gone, or been given another
	 * cache file, while the lock was not held. */
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
}
