/* ipfs/cidset.c — see cidset.h. */
#include "ipfs/cidset.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#define CIDSET_INITIAL 1024 /* slots; a power of two */

struct cid_set {
	struct cid *slots; /* len 0: empty slot */
	size_t cap;        /* power of two */
	size_t count;
};

static size_t slot_of(const struct cid_set *s, const struct cid *c)
{
	return (size_t)XXH3_64bits(c->bytes, c->len) & (s->cap - 1);
}

struct cid_set *cid_set_new(void)
{
	struct cid_set *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cap = CIDSET_INITIAL;
	s->slots = calloc(s->cap, sizeof(*s->slots));
	if (!s->slots) {
		free(s);
		return NULL;
	}
	return s;
}

void cid_set_free(struct cid_set *s)
{
	if (!s)
		return;
	free(s->slots);
	free(s);
}

/* Where c is, or the empty slot where it would go. */
static struct cid *find(const struct cid_set *s, const struct cid *c)
{
	size_t i = slot_of(s, c);
	for (;;) {
		struct cid *at = &s->slots[i];
		if (at->len == 0 || cid_equal(at, c))
			return at;
		i = (i + 1) & (s->cap - 1);
	}
}

static int grow(struct cid_set *s)
{
	struct cid_set bigger = {.cap = s->cap * 2};
	if (bigger.cap < s->cap)
		return -ENOMEM;
	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slots[i].len)
			*find(&bigger, &s->slots[i]) = s->slots[i];
	free(s->slots);
	s->slots = bigger.slots;
	s->cap = bigger.cap;
	return 0;
}

int cid_set_add(struct cid_set *s, const struct cid *c)
{
	if (c->len == 0 || c->len > CID_MAX_BYTES)
		return -EINVAL;
	struct cid *at = find(s, c);
	if (at->len)
		return 0;
	if ((s->count + 1) * 2 > s->cap) {
		int e = grow(s);
		if (e)
			return e;
		at = find(s, c);
	}
	*at = *c;
	s->count++;
	return 1;
}

bool cid_set_has(const struct cid_set *s, const struct cid *c)
{
	return c->len && find(s, c)->len != 0;
}

size_t cid_set_count(const struct cid_set *s)
{
	return s->count;
}

int cid_set_merge(struct cid_set *s, const struct cid_set *from)
{
	for (size_t i = 0; i < from->cap; i++) {
		if (from->slots[i].len == 0)
			continue;
		int e = cid_set_add(s, &from->slots[i]);
		if (e < 0)
			return e;
	}
	return 0;
}
