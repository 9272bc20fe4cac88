/* util/array.c — see array.h. */
#include "util/array.h"

#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util/wipe.h"

/* The doubled capacity for element n, or 0 when it would not fit. */
static size_t grown(size_t cap, size_t size, size_t first)
{
	if (cap > SIZE_MAX / 2)
		return 0;
	size_t want = cap ? cap * 2 : first;
	if (want == 0 || want > SIZE_MAX / size)
		return 0;
	return want;
}

static void *grow(void *v, size_t n, size_t *cap, size_t size,
		  size_t first, bool wiped)
{
	if (n < *cap)
		return v;
	size_t want = grown(*cap, size, first);
	if (!want)
		return NULL;
	void *p = wiped ? wipe_realloc(v, *cap * size, want * size)
			: realloc(v, want * size);
	if (!p)
		return NULL;
	*cap = want;
	return p;
}

void *array_grow(void *v, size_t n, size_t *cap, size_t size, size_t first)
{
	return grow(v, n, cap, size, first, false);
}

void *array_grow_wiped(void *v, size_t n, size_t *cap, size_t size,
		       size_t first)
{
	return grow(v, n, cap, size, first, true);
}
