/*
 * util/wipe.h — free memory that held a secret: plaintext, keys, or
 * anything derived from them.
 *
 * wipe_free clears len bytes at p (sodium_memzero: no compiler elides it
 * as a dead store before free), then frees p.  One helper, so every
 * "wipe, then free" in the tree is the same two steps in the same order,
 * and NULL needs no test at the call site.  wipe_realloc grows such
 * memory without leaving the old block's bytes in the freed heap.
 */
#ifndef IPMD_UTIL_WIPE_H
#define IPMD_UTIL_WIPE_H

#include <stddef.h>

/* Wipe the first len bytes of p (len no more than p was allocated with),
 * then free(p).  NULL is fine, with any len. */
void wipe_free(void *p, size_t len);

/* realloc for memory that holds a secret: a new block of size bytes
 * (size > 0) with p's first len bytes (len <= size) copied in, and p's
 * first len bytes wiped before p is freed, so no copy stays behind in
 * the heap as realloc's move would leave one.  Always moves.  Bytes past
 * len in the new block are uninitialized.  NULL when out of memory: p
 * is then untouched (still the caller's to free).  p may be NULL when
 * len is 0. */
void *wipe_realloc(void *p, size_t len, size_t size);

#endif
