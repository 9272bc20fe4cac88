/*
 * util/array.h — room for one more element in an array that grows by
 * doubling.
 *
 * The convention it serves: the caller keeps the array v, the count n of
 * elements in use and the capacity cap; when n reaches cap the array is
 * reallocated at twice cap (first when it has none).  One helper, so the
 * doubling, its start and the size overflow are decided in one place.
 */
#ifndef IPMD_UTIL_ARRAY_H
#define IPMD_UTIL_ARRAY_H

#include <stddef.h>

/* v with room for element n (of size bytes each): v itself while n <
 * *cap, else v reallocated to twice *cap elements (first when *cap is
 * 0) and *cap updated.  NULL when out of memory, or when the size would
 * not fit in a size_t: then v and *cap are unchanged (v is still the
 * caller's to free).  v may be NULL when *cap is 0. */
void *array_grow(void *v, size_t n, size_t *cap, size_t size, size_t first);

/* array_grow for an array that holds secrets (keys, plaintext): when it
 * grows, the old *cap elements are copied to a new block and wiped
 * before the old block is freed (util/wipe.h wipe_realloc), so none stay
 * behind in the heap.  The caller wipes the array when it frees it. */
void *array_grow_wiped(void *v, size_t n, size_t *cap, size_t size,
		       size_t first);

#endif
