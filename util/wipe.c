/* util/wipe.c — see wipe.h. */
#include "util/wipe.h"

#include <stdlib.h>

#include <sodium.h>

void wipe_free(void *p, size_t len)
{
	if (!p)
		return;
	sodium_memzero(p, len);
	free(p);
}
