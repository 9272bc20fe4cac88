/* cache/chunk_cache.c — see chunk_cache.h. */
#include "cache/chunk_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <xxhash.h>

/* Buckets start small and double while entries outnumber them. */
#define CC_BUCKETS_MIN 64
/* Past this many buckets (8 MiB of pointers) chains grow instead. */
#define CC_BUCKETS_MAX (1u << 20)
/* Prefetched chunks not read yet hold at most 1/CC_HINT_SHARE of it. */
#define CC_HINT_SHARE 8
/* How many taken chunks an insert is checked against (chunk_cache_take). */
#define CC_TAKEN 256

/* Every entry is on the LRU list; unread prefetches on the hint list too. */
enum { CC_LRU, CC_HINT, CC_LISTS };

struct cc_entry {
	struct cc_entry *hnext; /* hash chain */
	/* On list CC_LRU always, on CC_HINT while hint: prev toward the
	 * newest. */
	struct cc_entry *prev[CC_LISTS], *next[CC_LISTS];
	uint64_t hash;
	struct cid cid;
	size_t len;
	/* A prefetch's, not read yet: also on CC_HINT, within the hint
	 * budget. */
	bool hint;
	uint8_t data[];
};

struct chunk_cache {
	pthread_mutex_t lock;
	size_t max_bytes;
	struct cc_entry **buckets;
	size_t nbuckets; /* a power of two */
	struct cc_entry *newest[CC_LISTS], *oldest[CC_LISTS];
	size_t hint_bytes, max_hint_bytes;
	struct chunk_cache_stats st;
	/* The hashes of the last CC_TAKEN chunks taken (hit or miss), a
	 * ring: an insert of one of them is its prefetch arriving after
	 * the reader, who has the chunk already. */
	uint64_t taken[CC_TAKEN];
	unsigned taken_next;
};

static uint64_t cid_hash(const struct cid *c)
{
	return XXH3_64bits(c->bytes, c->len);
}

static bool cid_valid(const struct cid *c)
{
	return c && c->len > 0 && c->len <= CID_MAX_BYTES;
}

static void entry_free(struct cc_entry *e)
{
	sodium_memzero(e->data, e->len);
	free(e);
}

struct chunk_cache *chunk_cache_new(size_t max_bytes)
{
	struct chunk_cache *cc = calloc(1, sizeof(*cc));
	if (!cc)
		return NULL;
	cc->buckets = calloc(CC_BUCKETS_MIN, sizeof(*cc->buckets));
	if (!cc->buckets || pthread_mutex_init(&cc->lock, NULL) != 0) {
		free(cc->buckets);
		free(cc);
		return NULL;
	}
	cc->nbuckets = CC_BUCKETS_MIN;
	cc->max_bytes = max_bytes;
	cc->max_hint_bytes = max_bytes / CC_HINT_SHARE;
	return cc;
}

void chunk_cache_free(struct chunk_cache *cc)
{
	if (!cc)
		return;
	struct cc_entry *e = cc->newest[CC_LRU];
	while (e) {
		struct cc_entry *next = e->next[CC_LRU];
		entry_free(e);
		e = next;
	}
	free(cc->buckets);
	pthread_mutex_destroy(&cc->lock);
	free(cc);
}

/* Caller holds the lock. */
static struct cc_entry **find_slot(struct chunk_cache *cc,
				   const struct cid *cid, uint64_t hash)
{
	struct cc_entry **p = &cc->buckets[hash & (cc->nbuckets - 1)];
	for (; *p; p = &(*p)->hnext)
		if ((*p)->hash == hash && (*p)->cid.len == cid->len &&
		    memcmp((*p)->cid.bytes, cid->bytes, cid->len) == 0)
			return p;
	return p;
}

static void list_unlink(struct chunk_cache *cc, struct cc_entry *e, int k)
{
	if (e->prev[k])
		e->prev[k]->next[k] = e->next[k];
	else
		cc->newest[k] = e->next[k];
	if (e->next[k])
		e->next[k]->prev[k] = e->prev[k];
	else
		cc->oldest[k] = e->prev[k];
	e->prev[k] = e->next[k] = NULL;
}

static void list_push_newest(struct chunk_cache *cc, struct cc_entry *e,
			     int k)
{
	e->prev[k] = NULL;
	e->next[k] = cc->newest[k];
	if (cc->newest[k])
		cc->newest[k]->prev[k] = e;
	cc->newest[k] = e;
	if (!cc->oldest[k])
		cc->oldest[k] = e;
}

static void lru_unlink(struct chunk_cache *cc, struct cc_entry *e)
{
	list_unlink(cc, e, CC_LRU);
}

static void lru_push_newest(struct chunk_cache *cc, struct cc_entry *e)
{
	list_push_newest(cc, e, CC_LRU);
}

/* e off the hint list: a reader has used it, or it leaves the cache. */
static void unhint(struct chunk_cache *cc, struct cc_entry *e)
{
	if (!e->hint)
		return;
	list_unlink(cc, e, CC_HINT);
	e->hint = false;
	cc->hint_bytes -= e->len;
}

static void push_hint(struct chunk_cache *cc, struct cc_entry *e)
{
	e->hint = true;
	list_push_newest(cc, e, CC_HINT);
	cc->hint_bytes += e->len;
}

/* e out of the table and both lists (the caller frees it). */
static void remove_entry(struct chunk_cache *cc, struct cc_entry *e)
{
	struct cc_entry **p = find_slot(cc, &e->cid, e->hash);
	*p = e->hnext;
	lru_unlink(cc, e);
	unhint(cc, e);
	cc->st.bytes -= e->len;
	cc->st.entries--;
}

/* A failed allocation just leaves longer chains: still correct. */
static void maybe_grow(struct chunk_cache *cc)
{
	if (cc->st.entries <= cc->nbuckets || cc->nbuckets >= CC_BUCKETS_MAX)
		return;
	size_t n = cc->nbuckets * 2;
	struct cc_entry **b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (struct cc_entry *e = cc->newest[CC_LRU]; e; e = e->next[CC_LRU]) {
		struct cc_entry **slot = &b[e->hash & (n - 1)];
		e->hnext = *slot;
		*slot = e;
	}
	free(cc->buckets);
	cc->buckets = b;
	cc->nbuckets = n;
}

int chunk_cache_read(struct chunk_cache *cc, const struct cid *cid,
		     size_t off, uint8_t *buf, size_t len, size_t *got)
{
	if (!cc || !cid_valid(cid))
		return -ENOENT;
	uint64_t h = cid_hash(cid);
	int r = -ENOENT;

	pthread_mutex_lock(&cc->lock);
	struct cc_entry *e = *find_slot(cc, cid, h);
	if (e) {
		size_t n = off < e->len ? e->len - off : 0;
		if (n > len)
			n = len;
		if (n > 0)
			memcpy(buf, e->data + off, n);
		*got = n;
		lru_unlink(cc, e);
		lru_push_newest(cc, e);
		unhint(cc, e);
		cc->st.hits++;
		r = 0;
	} else {
		cc->st.misses++;
	}
	pthread_mutex_unlock(&cc->lock);
	return r;
}

/* Caller holds the lock.  Whether a chunk of hash h was taken lately;
 * if so it is forgotten, so only the one late insert is refused (a
 * 64-bit hash that collides costs an insert, never a wrong byte). */
static bool was_taken(struct chunk_cache *cc, uint64_t h)
{
	for (unsigned i = 0; i < CC_TAKEN; i++)
		if (cc->taken[i] == h && h != 0) {
			cc->taken[i] = 0;
			return true;
		}
	return false;
}

/* Caller holds the lock.  h among the taken, once. */
static void remember_taken(struct chunk_cache *cc, uint64_t h)
{
	for (unsigned i = 0; i < CC_TAKEN; i++)
		if (cc->taken[i] == h)
			return;
	cc->taken[cc->taken_next] = h;
	cc->taken_next = (cc->taken_next + 1) % CC_TAKEN;
}

int chunk_cache_take(struct chunk_cache *cc, const struct cid *cid,
		     uint8_t *buf, size_t len, size_t *got)
{
	if (!cc || !cid_valid(cid))
		return -ENOENT;
	uint64_t h = cid_hash(cid);

	pthread_mutex_lock(&cc->lock);
	struct cc_entry *e = *find_slot(cc, cid, h);
	remember_taken(cc, h);
	if (e) {
		remove_entry(cc, e);
		cc->st.hits++;
	} else {
		cc->st.misses++;
	}
	pthread_mutex_unlock(&cc->lock);
	if (!e)
		return -ENOENT;
	/* Copied and wiped without the lock: the entry is ours now. */
	*got = e->len < len ? e->len : len;
	if (*got > 0)
		memcpy(buf, e->data, *got);
	entry_free(e);
	return 0;
}

/* Caller holds the lock: the oldest entry, or with hint the oldest
 * prefetched one, out of the cache onto *evicted. */
static void evict_one(struct chunk_cache *cc, bool hint,
		      struct cc_entry **evicted)
{
	struct cc_entry *victim = cc->oldest[hint ? CC_HINT : CC_LRU];
	remove_entry(cc, victim);
	cc->st.evictions++;
	victim->next[CC_LRU] = *evicted;
	*evicted = victim;
}

static int insert(struct chunk_cache *cc, const struct cid *cid,
		  const uint8_t *data, size_t len, bool hint)
{
	if (!cc)
		return 0;
	if (!cid_valid(cid) || (len > 0 && !data))
		return -EINVAL;
	if (len > cc->max_bytes)
		return 0;

	/* Allocate and copy outside the lock: readers need not wait. */
	struct cc_entry *n = malloc(sizeof(*n) + len);
	if (!n)
		return -ENOMEM;
	n->hash = cid_hash(cid);
	n->cid = *cid;
	n->len = len;
	if (len > 0)
		memcpy(n->data, data, len);

	struct cc_entry *evicted = NULL;
	pthread_mutex_lock(&cc->lock);
	struct cc_entry **slot = find_slot(cc, cid, n->hash);
	if (was_taken(cc, n->hash)) {
		n->next[CC_LRU] = NULL;
		evicted = n;
	} else if (*slot) {
		/* Same CID, same bytes: keep the old copy, refresh it. */
		struct cc_entry *old = *slot;
		lru_unlink(cc, old);
		lru_push_newest(cc, old);
		if (!hint)
			unhint(cc, old);
		n->next[CC_LRU] = NULL;
		evicted = n;
	} else {
		/* Prefetches nobody read make room for the next first. */
		while (hint && cc->oldest[CC_HINT] &&
		       cc->hint_bytes + len > cc->max_hint_bytes)
			evict_one(cc, true, &evicted);
		while (cc->oldest[CC_LRU] &&
		       cc->st.bytes + len > cc->max_bytes)
			evict_one(cc, false, &evicted);
		/* The eviction may have emptied the chain slot points into. */
		slot = find_slot(cc, cid, n->hash);
		n->hnext = NULL;
		n->hint = false;
		n->prev[CC_HINT] = n->next[CC_HINT] = NULL;
		*slot = n;
		lru_push_newest(cc, n);
		if (hint)
			push_hint(cc, n);
		cc->st.bytes += len;
		cc->st.entries++;
		maybe_grow(cc);
	}
	pthread_mutex_unlock(&cc->lock);

	/* Wiping up to a block per victim is done without the lock held. */
	while (evicted) {
		struct cc_entry *next = evicted->next[CC_LRU];
		entry_free(evicted);
		evicted = next;
	}
	return 0;
}

int chunk_cache_insert(struct chunk_cache *cc, const struct cid *cid,
		       const uint8_t *data, size_t len)
{
	return insert(cc, cid, data, len, false);
}

int chunk_cache_insert_hint(struct chunk_cache *cc, const struct cid *cid,
			    const uint8_t *data, size_t len)
{
	return insert(cc, cid, data, len, true);
}

void chunk_cache_stats(struct chunk_cache *cc, struct chunk_cache_stats *out)
{
	if (!cc) {
		memset(out, 0, sizeof(*out));
		return;
	}
	pthread_mutex_lock(&cc->lock);
	*out = cc->st;
	pthread_mutex_unlock(&cc->lock);
}
