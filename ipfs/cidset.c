/* ipfs/cidset.c — see cidset.h.
 *
 * One table for both kinds: a key is `width` bytes — for any CID its
 * length byte and bytes, zero-padded (so equal CIDs are equal keys); for
 * a raw set the 32-byte digest — with a separate byte a slot saying
 * whether it is full.
 */
#include "ipfs/cidset.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "util/array.h"

#define CIDSET_INITIAL 1024 /* slots; a power of two */
#define KEY_ANY (1 + CID_MAX_BYTES)
#define KEY_RAW SHA256_BYTES
#define KEY_MAX KEY_ANY
/* The table shrinks when less than 1/SHRINK_BELOW full. */
#define SHRINK_BELOW 16

struct cid_set {
	uint8_t *keys; /* cap × width bytes */
	uint8_t *full; /* cap flags: 1 a member */
	size_t width;  /* KEY_ANY or KEY_RAW */
	size_t cap;    /* power of two */
	size_t count;
};

static size_t home(const struct cid_set *s, const uint8_t *key)
{
	uint64_t h;
	if (s->width == KEY_RAW)
		memcpy(&h, key, sizeof(h)); /* a SHA-256 digest is uniform */
	else
		h = XXH3_64bits(key + 1, key[0]);
	return (size_t)h & (s->cap - 1);
}

static uint8_t *key_at(const struct cid_set *s, size_t i)
{
	return s->keys + i * s->width;
}

/* c as this set's key; false if this set can't hold it. */
static bool key_of(const struct cid_set *s, const struct cid *c,
		   uint8_t key[KEY_MAX])
{
	if (c->len == 0 || c->len > CID_MAX_BYTES)
		return false;
	if (s->width == KEY_RAW) {
		size_t n;
		uint64_t code;
		const uint8_t *d = cid_digest(c, &n, &code);
		if (!cid_is_raw_sha256(c) || !d || n != KEY_RAW)
			return false;
		memcpy(key, d, KEY_RAW);
		return true;
	}
	memset(key, 0, KEY_ANY);
	key[0] = c->len;
	memcpy(key + 1, c->bytes, c->len);
	return true;
}

static void cid_of_key(const struct cid_set *s, const uint8_t *key,
		       struct cid *c)
{
	if (s->width == KEY_RAW) {
		static const uint8_t prefix[] = {CID_VERSION_1, CODEC_RAW,
						 MH_SHA2_256, SHA256_BYTES};
		_Static_assert(sizeof(prefix) + KEY_RAW == CID_RAW_BYTES,
			       "raw CID = prefix ‖ digest");
		c->len = CID_RAW_BYTES;
		memcpy(c->bytes, prefix, sizeof(prefix));
		memcpy(c->bytes + sizeof(prefix), key, KEY_RAW);
		return;
	}
	c->len = key[0];
	memcpy(c->bytes, key + 1, key[0]);
}

static struct cid_set *new_set(size_t width)
{
	struct cid_set *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->width = width;
	s->cap = CIDSET_INITIAL;
	s->keys = calloc(s->cap, width);
	s->full = calloc(s->cap, 1);
	if (!s->keys || !s->full) {
		cid_set_free(s);
		return NULL;
	}
	return s;
}

struct cid_set *cid_set_new(void)
{
	return new_set(KEY_ANY);
}

struct cid_set *cid_set_new_raw(void)
{
	return new_set(KEY_RAW);
}

void cid_set_free(struct cid_set *s)
{
	if (!s)
		return;
	free(s->keys);
	free(s->full);
	free(s);
}

/* The two widths spelled out, so the compiler compares them inline: this
 * is the outbox's every put, upload and removal. */
static bool key_eq(const struct cid_set *s, const uint8_t *a,
		   const uint8_t *b)
{
	return s->width == KEY_RAW ? !memcmp(a, b, KEY_RAW)
				   : !memcmp(a, b, KEY_ANY);
}

/* Where key is (true), or the empty slot where it would go (false). */
static bool find(const struct cid_set *s, const uint8_t *key, size_t *at)
{
	size_t i = home(s, key);
	for (;;) {
		if (!s->full[i]) {
			*at = i;
			return false;
		}
		if (key_eq(s, key_at(s, i), key)) {
			*at = i;
			return true;
		}
		i = (i + 1) & (s->cap - 1);
	}
}

/* The first empty slot from key's home on: where a key known to be
 * absent goes. */
static size_t free_slot(const struct cid_set *s, const uint8_t *key)
{
	size_t i = home(s, key);
	while (s->full[i])
		i = (i + 1) & (s->cap - 1);
	return i;
}

/* Rehash into cap slots (a power of two, more than twice count). */
static int resize(struct cid_set *s, size_t cap)
{
	struct cid_set n = {.width = s->width, .cap = cap};
	n.keys = calloc(cap, s->width);
	n.full = calloc(cap, 1);
	if (!n.keys || !n.full) {
		free(n.keys);
		free(n.full);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->full[i])
			continue;
		size_t j = free_slot(&n, key_at(s, i));
		memcpy(key_at(&n, j), key_at(s, i), s->width);
		n.full[j] = 1;
	}
	n.count = s->count;
	free(s->keys);
	free(s->full);
	*s = n;
	return 0;
}

static int add_key(struct cid_set *s, const uint8_t *key)
{
	size_t at;
	if (find(s, key, &at))
		return 0;
	if ((s->count + 1) * 2 > s->cap) {
		if (s->cap * 2 < s->cap)
			return -ENOMEM;
		int e = resize(s, s->cap * 2);
		if (e)
			return e;
		at = free_slot(s, key);
	}
	memcpy(key_at(s, at), key, s->width);
	s->full[at] = 1;
	s->count++;
	return 1;
}

/* Empty slot i, then move back every key of the run after it that
 * would no longer be found (its home is not cyclically in (i, j]). */
static void del_at(struct cid_set *s, size_t i)
{
	size_t mask = s->cap - 1;
	s->full[i] = 0;
	s->count--;
	for (size_t j = (i + 1) & mask; s->full[j]; j = (j + 1) & mask) {
		size_t k = home(s, key_at(s, j));
		bool stays = i <= j ? i < k && k <= j : i < k || k <= j;
		if (stays)
			continue;
		memcpy(key_at(s, i), key_at(s, j), s->width);
		s->full[i] = 1;
		s->full[j] = 0;
		i = j;
	}
	/* Give memory back after a burst (the outbox drains), to a quarter
	 * full, so a shrink is far from the next growth; a failed shrink
	 * only keeps the larger table. */
	if (s->cap > CIDSET_INITIAL && s->count * SHRINK_BELOW < s->cap) {
		size_t cap = s->cap / (SHRINK_BELOW / 4);
		(void)resize(s, cap > CIDSET_INITIAL ? cap : CIDSET_INITIAL);
	}
}

static bool del_key(struct cid_set *s, const uint8_t *key)
{
	size_t at;
	if (!find(s, key, &at))
		return false;
	del_at(s, at);
	return true;
}

int cid_set_add(struct cid_set *s, const struct cid *c)
{
	uint8_t key[KEY_MAX];
	return key_of(s, c, key) ? add_key(s, key) : -EINVAL;
}

bool cid_set_has(const struct cid_set *s, const struct cid *c)
{
	uint8_t key[KEY_MAX];
	size_t at;
	return key_of(s, c, key) && find(s, key, &at);
}

bool cid_set_del(struct cid_set *s, const struct cid *c)
{
	uint8_t key[KEY_MAX];
	return key_of(s, c, key) && del_key(s, key);
}

size_t cid_set_count(const struct cid_set *s)
{
	return s->count;
}

int cid_set_each(const struct cid_set *s, cid_set_fn fn, void *arg)
{
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->full[i])
			continue;
		struct cid c;
		cid_of_key(s, key_at(s, i), &c);
		int e = fn(&c, arg);
		if (e)
			return e;
	}
	return 0;
}

static int merge_one(const struct cid *c, void *arg)
{
	int e = cid_set_add(arg, c);
	return e < 0 ? e : 0;
}

int cid_set_merge(struct cid_set *s, const struct cid_set *from)
{
	return cid_set_each(from, merge_one, s);
}

int cid_set_add_digest(struct cid_set *s, const uint8_t *digest)
{
	return s->width == KEY_RAW ? add_key(s, digest) : -EINVAL;
}

bool cid_set_has_digest(const struct cid_set *s, const uint8_t *digest)
{
	size_t at;
	return s->width == KEY_RAW && find(s, digest, &at);
}

bool cid_set_del_digest(struct cid_set *s, const uint8_t *digest)
{
	return s->width == KEY_RAW && del_key(s, digest);
}

int cid_list_add(struct cid_list *l, const struct cid *c)
{
	struct cid *v = array_grow(l->v, l->n, &l->cap, sizeof(*v), 64);
	if (!v)
		return -ENOMEM;
	l->v = v;
	l->v[l->n++] = *c;
	return 0;
}

void cid_list_free(struct cid_list *l)
{
	free(l->v);
	*l = (struct cid_list){0};
}
