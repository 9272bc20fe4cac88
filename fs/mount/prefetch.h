/*
 * fs/mount/prefetch.h — read the next chunk before a sequential reader asks.
 *
 * PREFETCH_WORKERS worker threads and a ring of requests.  A request
 * names a chunk of a committed object; a worker fetches, verifies and
 * opens it, which leaves its plaintext in the chunk cache, where the
 * reader's next read finds it.  Requests are hints: when the ring is full
 * they are dropped, and failures are ignored (the real read reports them).
 * Several workers, because a cold read waits on the disk more than on
 * the CPU: fetches side by side overlap their waits.
 *
 * Two kinds of sequential readers are followed.  One reading a large
 * file: the caller asks for the chunk after the one being read
 * (prefetch_chunk).  One reading many small files one after another
 * (grep -r, tar, rsync, an IMAP FETCH of a folder): those read a
 * directory's files in the order of their ids — the inode numbers, in
 * the order the files were made — because that is the order readdir
 * lists them in (fs/fuse/ops.c), the order fts sorts a directory of more
 * than 10,000 entries into, and, for Maildir names (a time first), name
 * order too.  At each first read of a file the caller asks which ids
 * after it to look at (prefetch_ahead) and queues the first chunk of
 * those that are files of the same directory whose first bytes the
 * kernel was not sent yet (struct inode, paged: a file in the page cache
 * is read without a call, so its prefetch would only be left unread).
 */
#ifndef IPMD_FS_MOUNT_PREFETCH_H
#define IPMD_FS_MOUNT_PREFETCH_H

#include <stdint.h>

#include "fs/model/object.h"

#define PREFETCH_QUEUE 64
#define PREFETCH_WORKERS 4
/* The plaintext bytes of the chunks queued and being fetched, at most: a
 * request past it is dropped, so what the prefetcher makes ahead of its
 * readers is bounded in bytes whatever the load (slow workers, a reader
 * that outruns them), not only in requests (64 chunks of 256 KiB would be
 * 16 MiB).  A chunk larger than the bound is taken when nothing waits.
 * Beside it: one chunk_size buffer per worker, allocated at start, and
 * what prefetches leave in the chunk cache, bounded there
 * (chunk_cache_insert_hint). */
#define PREFETCH_BYTES (2u << 20)
/* How many ids past a file's own a read of it looks ahead. */
#define PREFETCH_AHEAD 32

struct prefetch;

/* st must outlive the prefetcher and have a cache.  0 or -errno. */
int prefetch_start(struct obj_store *st, struct prefetch **out);
/* Drain nothing, stop the worker, free.  NULL is fine. */
void prefetch_stop(struct prefetch *p);
/* Ask for chunk index of ref (ignored past its end; dropped when the
 * queue is full, in requests or in bytes). */
void prefetch_chunk(struct prefetch *p, const struct obj_ref *ref,
		    uint64_t index);

struct prefetch_stats {
	size_t pending;      /* bytes queued and being fetched now */
	size_t peak;         /* the most pending ever held */
	uint64_t queued;     /* requests taken */
	uint64_t dropped;    /* requests refused on a full queue */
};
void prefetch_stats(struct prefetch *p, struct prefetch_stats *out);

/* A read of the first bytes of file id, a file of directory dir: the ids
 * [*from, *to) to look at now, within the PREFETCH_AHEAD after id, less
 * those a read before in the same directory handed out already (empty:
 * *from == *to).  NULL p: always empty. */
void prefetch_ahead(struct prefetch *p, uint64_t dir, uint64_t id,
		    uint64_t *from, uint64_t *to);

#endif
