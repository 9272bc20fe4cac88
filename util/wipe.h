/*
 * util/wipe.h — free memory that held a secret: plaintext, keys, or
 * anything derived from them.
 *
 * wipe_free clears len bytes at p (sodium_memzero: no compiler elides it
 * as a dead store before free), then frees p.  One helper, so every
 * "wipe, then free" in the tree is the same two steps in the same order,
 * and NULL needs no test at the call site.
 */
#ifndef IPMD_UTIL_WIPE_H
#define IPMD_UTIL_WIPE_H

#include <stddef.h>

/* Wipe the first len bytes of p (len no more than p was allocated with),
 * then free(p).  NULL is fine, with any len. */
void wipe_free(void *p, size_t len);

#endif
