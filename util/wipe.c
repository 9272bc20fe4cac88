/* util/wipe.c — see wipe.h. */
#include "util/wipe.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void wipe_free(void *p, size_t len)
{
	if (!p)
		return;
	sodium_memzero(p, len);
	free(p);
}

void *wipe_realloc(void *p, size_t len, size_t size)
{
	void *q = malloc(size);
	if (!q)
		return NULL;
	if (len)
		memcpy(q, p, len);
	wipe_free(p, len);
	return q;
}
