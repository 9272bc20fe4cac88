/* util/array.c — see array.h. */
#include "util/array.h"

#include <stdint.h>
#include <stdlib.h>

void *array_grow(void *v, size_t n, size_t *cap, size_t size, size_t first)
{
	if (n < *cap)
		return v;
	if (*cap > SIZE_MAX / 2)
		return NULL;
	size_t want = *cap ? *cap * 2 : first;
	if (want == 0 || want > SIZE_MAX / size)
		return NULL;
	void *p = realloc(v, want * size);
	if (!p)
		return NULL;
	*cap = want;
	return p;
}
