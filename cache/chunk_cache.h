/*
 * cache/chunk_cache.h — plaintext chunks in memory, least recently used out.
 *
 * Keyed by CID (a CID names exactly one plaintext in a mailbox, so an entry
 * never goes stale).  Bounded by max_bytes of plaintext; inserting past it
 * evicts the least recently used entries.  Plaintext is wiped when evicted
 * or freed.  Safe from several threads (one mutex; copies happen under it,
 * a chunk is at most one block).
 */
#ifndef IPMD_CACHE_CHUNK_CACHE_H
#define IPMD_CACHE_CHUNK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "ipfs/cid.h"
#include "util/attr.h"

struct chunk_cache;

struct chunk_cache_stats {
	uint64_t hits, misses, evictions;
	size_t bytes, entries;
};

/* NULL on allocation failure. */
struct chunk_cache *chunk_cache_new(size_t max_bytes);
void chunk_cache_free(struct chunk_cache *cc);

/* Copy bytes [off, off+len) of the cached chunk into buf.  0 and *got
 * (short at the chunk's end), or -ENOENT if the chunk is not cached. */
IPMD_MUST_CHECK
int chunk_cache_read(struct chunk_cache *cc, const struct cid *cid,
		     size_t off, uint8_t *buf, size_t len, size_t *got);
/* Copy the whole cached chunk into buf (len bytes at most; *got: its
 * length, or len if it is longer) and remove it from the cache, wiped:
 * for a reader that hands the chunk on to a cache of its own (the
 * kernel's page cache behind FUSE), where a second copy here would only
 * hold memory.  Taken or missed, the chunk is remembered among the last
 * 256 taken: the next insert of it is refused (a prefetch that finishes
 * after its reader read the chunk itself; without that, a grep -r left
 * 44 % of the prefetched chunks in the cache).  0, or -ENOENT if the
 * chunk is not cached. */
IPMD_MUST_CHECK
int chunk_cache_take(struct chunk_cache *cc, const struct cid *cid,
		     uint8_t *buf, size_t len, size_t *got);
/* Insert a copy (replacing nothing: same CID, same bytes).  0 or -ENOMEM;
 * a chunk larger than max_bytes, or one taken lately, is silently not
 * cached. */
int chunk_cache_insert(struct chunk_cache *cc, const struct cid *cid,
		       const uint8_t *data, size_t len);
/* Insert a prefetched copy: as chunk_cache_insert, but until a read or
 * take finds it, it counts against a hint budget of max_bytes / 8, and
 * inserting past that evicts the oldest such unread entries first.  A
 * prefetch for a reader that then found the file in the kernel's page
 * cache is never read: without the budget those filled the whole cache
 * (a warm grep -r over 100,000 messages: 16,231 entries, 64 MiB). */
int chunk_cache_insert_hint(struct chunk_cache *cc, const struct cid *cid,
			    const uint8_t *data, size_t len);
void chunk_cache_stats(struct chunk_cache *cc, struct chunk_cache_stats *out);

#endif
