/* cache/lru.c — block sizes and last uses for eviction; see lru.h. */
#include "cache/lru.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SLOTS 1024

struct entry {
	uint8_t d[LRU_DIGEST];
	uint64_t size, tick;
	uint8_t state; /* 0 empty, 1 full, 2 deleted */
};

struct lru {
	struct entry *e;
	size_t slots, used, filled; /* filled counts tombstones too */
	uint64_t bytes;
};

static size_t slot_of(const uint8_t *d, size_t slots)
{
	uint64_t h;
	memcpy(&h, d, sizeof(h)); /* a SHA-256 digest is uniform already */
	return (size_t)h & (slots - 1);
}

int lru_new(struct lru **out)
{
	struct lru *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	*out = l;
	return 0;
}

void lru_free(struct lru *l)
{
	if (!l)
		return;
	free(l->e);
	free(l);
}

static struct entry *find(const struct lru *l, const uint8_t *d)
{
	if (!l->slots)
		return NULL;
	for (size_t j = slot_of(d, l->slots);; j = (j + 1) & (l->slots - 1)) {
		struct entry *x = &l->e[j];
		if (x->state == 0)
			return NULL;
		if (x->state == 1 && !memcmp(x->d, d, LRU_DIGEST))
			return x;
	}
}

static int regrow(struct lru *l, size_t slots)
{
	struct entry *n = calloc(slots, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < l->slots; i++) {
		if (l->e[i].state != 1)
			continue;
		size_t j = slot_of(l->e[i].d, slots);
		while (n[j].state)
			j = (j + 1) & (slots - 1);
		n[j] = l->e[i];
	}
	free(l->e);
	l->e = n;
	l->slots = slots;
	l->filled = l->used;
	return 0;
}

int lru_touch(struct lru *l, const uint8_t *digest, uint64_t size,
	      uint64_t tick)
{
	struct entry *x = find(l, digest);
	if (x) {
		l->bytes = l->bytes - x->size + size;
		x->size = size;
		if (tick > x->tick)
			x->tick = tick;
		return 0;
	}
	if ((l->filled + 1) * 2 > l->slots) {
		size_t slots = MIN_SLOTS;
		while (slots < (l->used + 1) * 4)
			slots *= 2;
		if (regrow(l, slots))
			return -ENOMEM;
	}
	size_t j = slot_of(digest, l->slots);
	while (l->e[j].state == 1)
		j = (j + 1) & (l->slots - 1);
	if (l->e[j].state == 0)
		l->filled++;
	x = &l->e[j];
	memcpy(x->d, digest, LRU_DIGEST);
	x->size = size;
	x->tick = tick;
	x->state = 1;
	l->used++;
	l->bytes += size;
	return 0;
}

void lru_forget(struct lru *l, const uint8_t *digest)
{
	struct entry *x = find(l, digest);
	if (!x)
		return;
	x->state = 2;
	l->used--;
	l->bytes -= x->size;
}

uint64_t lru_bytes(const struct lru *l)
{
	return l->bytes;
}

size_t lru_count(const struct lru *l)
{
	return l->used;
}

static int by_tick(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;
	return x->tick < y->tick ? -1 : x->tick > y->tick;
}

int lru_pick(const struct lru *l, uint64_t target, uint64_t before,
	     lru_keep_fn keep, void *arg, uint8_t (**victims)[LRU_DIGEST],
	     size_t *n)
{
	*victims = NULL;
	*n = 0;
	if (l->bytes <= target)
		return 0;
	/* A sort of the candidates per pass: passes are rare (the caller
	 * evicts below its cap with some slack), and it keeps no list. */
	const struct entry **c = malloc((l->used + 1) * sizeof(*c));
	if (!c)
		return -ENOMEM;
	size_t nc = 0;
	for (size_t i = 0; i < l->slots; i++) {
		const struct entry *x = &l->e[i];
		if (x->state == 1 && x->tick < before &&
		    !(keep && keep(x->d, arg)))
			c[nc++] = x;
	}
	qsort(c, nc, sizeof(*c), by_tick);
	uint64_t bytes = l->bytes;
	size_t k = 0;
	while (k < nc && bytes > target)
		bytes -= c[k++]->size;
	uint8_t(*v)[LRU_DIGEST] = malloc((k + 1) * LRU_DIGEST);
	if (!v) {
		free(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < k; i++)
		memcpy(v[i], c[i]->d, LRU_DIGEST);
	free(c);
	*victims = v;
	*n = k;
	return 0;
}
