/*
 * fs/mount/prefetch.h — read the next chunk before a sequential reader asks.
 *
 * One worker thread and a small ring of requests.  A request names a chunk
 * of a committed object; the worker fetches, verifies and opens it, which
 * leaves its plaintext in the chunk cache, where the reader's next read
 * finds it.  Requests are hints: when the ring is full they are dropped,
 * and failures are ignored (the real read reports them).
 */
#ifndef IPMD_FS_MOUNT_PREFETCH_H
#define IPMD_FS_MOUNT_PREFETCH_H

#include <stdint.h>

#include "fs/model/object.h"

#define PREFETCH_QUEUE 16

struct prefetch;

/* st must outlive the prefetcher and have a cache.  0 or -errno. */
int prefetch_start(struct obj_store *st, struct prefetch **out);
/* Drain nothing, stop the worker, free.  NULL is fine. */
void prefetch_stop(struct prefetch *p);
/* Ask for chunk index of ref (ignored past its end). */
void prefetch_chunk(struct prefetch *p, const struct obj_ref *ref,
		    uint64_t index);

#endif
