/*
 * cache/lru.h — the sizes and last uses of the blocks in a local store, to
 * pick which to drop first when the store is over its cap (cache/outbox.h,
 * mount -o local_cap_mb=N).
 *
 * Keyed by sha2-256 digest (32 bytes); each entry holds the block's size
 * and a tick (any increasing clock: the outbox uses milliseconds of
 * CLOCK_REALTIME, so a file's mtime/atime seeds it at open).  lru_bytes()
 * is the sum of the sizes of all entries.
 *
 * lru_pick() never picks an entry whose tick is >= `before` nor one the
 * caller's keep() says to keep: that is how the outbox spares blocks not
 * yet uploaded and blocks written since the last sync (the journal's).
 * It does not remove anything: the caller removes the block, then
 * lru_forget()s it.
 *
 * Not thread-safe: the caller locks.
 */
#ifndef IPMD_CACHE_LRU_H
#define IPMD_CACHE_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LRU_DIGEST 32

struct lru;

/* 0 and *out, or -ENOMEM. */
int lru_new(struct lru **out);
void lru_free(struct lru *l);

/* Add the entry or update it: size, and tick if newer.  0 or -ENOMEM. */
int lru_touch(struct lru *l, const uint8_t *digest, uint64_t size,
	      uint64_t tick);

/* Drop the entry if present. */
void lru_forget(struct lru *l, const uint8_t *digest);

uint64_t lru_bytes(const struct lru *l);
size_t lru_count(const struct lru *l);

typedef bool (*lru_keep_fn)(const uint8_t *digest, void *arg);

/*
 * The least recently used entries to drop so that lru_bytes() would fall
 * to at most target: oldest first, skipping ticks >= before and those
 * keep() keeps.  *victims (malloc'd, free it) holds *n digests; fewer than
 * needed when too much is kept.  0 or -ENOMEM.
 */
int lru_pick(const struct lru *l, uint64_t target, uint64_t before,
	     lru_keep_fn keep, void *arg, uint8_t (**victims)[LRU_DIGEST],
	     size_t *n);

#endif
