/* tests/unit/test_chunk_cache.c — the plaintext chunk LRU. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/chunk_cache.h"
#include "ipfs/cid.h"
#include "tests/tap.h"

/* A real CID for test entry n (its data is whatever the test says). */
static struct cid cid_n(unsigned n)
{
	struct cid c;
	uint8_t seed[sizeof(n)];
	memcpy(seed, &n, sizeof(n));
	cid_of_raw_block(&c, seed, sizeof(seed));
	return c;
}

static void fill_n(uint8_t *buf, size_t len, unsigned n)
{
	tap_fill_random(buf, len, 1000 + n);
}

static int cached(struct chunk_cache *cc, unsigned n)
{
	struct cid c = cid_n(n);
	uint8_t b[1];
	size_t got;
	return chunk_cache_read(cc, &c, 0, b, sizeof(b), &got) == 0;
}

static void test_hit_miss_partial(void)
{
	struct chunk_cache *cc = chunk_cache_new(1000);
	ok(cc != NULL, "new");
	uint8_t data[100], out[200];
	fill_n(data, sizeof(data), 1);
	struct cid a = cid_n(1), b = cid_n(2);
	size_t got = 12345;

	is_int(chunk_cache_read(cc, &a, 0, out, sizeof(out), &got), -ENOENT,
	       "miss before insert");
	is_int(chunk_cache_insert(cc, &a, data, sizeof(data)), 0, "insert");
	memset(out, 0xee, sizeof(out));
	is_int(chunk_cache_read(cc, &a, 0, out, sizeof(out), &got), 0,
	       "hit after insert");
	is_int(got, 100, "short read at the chunk's end");
	is_mem(out, data, sizeof(data), "whole chunk back");
	is_int(out[100], 0xee, "nothing written past the chunk");

	memset(out, 0, sizeof(out));
	is_int(chunk_cache_read(cc, &a, 10, out, 20, &got), 0, "partial hit");
	is_int(got, 20, "partial length");
	is_mem(out, data + 10, 20, "partial bytes");
	is_int(chunk_cache_read(cc, &a, 90, out, 50, &got), 0, "tail hit");
	is_int(got, 10, "tail clipped");
	is_mem(out, data + 90, 10, "tail bytes");
	is_int(chunk_cache_read(cc, &a, 100, out, 50, &got), 0, "at end");
	is_int(got, 0, "nothing at the end");
	is_int(chunk_cache_read(cc, &a, 5000, out, 50, &got), 0, "past end");
	is_int(got, 0, "nothing past the end");
	is_int(chunk_cache_read(cc, &b, 0, out, 50, &got), -ENOENT,
	       "other CID misses");

	/* Same CID again: nothing doubles. */
	is_int(chunk_cache_insert(cc, &a, data, sizeof(data)), 0, "reinsert");
	struct chunk_cache_stats s;
	chunk_cache_stats(cc, &s);
	is_int(s.entries, 1, "one entry after reinsert");
	is_int(s.bytes, 100, "bytes counted once");
	is_int(s.hits, 5, "hits counted");
	is_int(s.misses, 2, "misses counted");
	is_int(s.evictions, 0, "no evictions");

	struct cid bad = {0};
	is_int(chunk_cache_insert(cc, &bad, data, 1), -EINVAL, "empty CID");
	is_int(chunk_cache_read(cc, &bad, 0, out, 1, &got), -ENOENT,
	       "empty CID never hits");
	chunk_cache_free(cc);

	is_int(chunk_cache_read(NULL, &a, 0, out, 1, &got), -ENOENT,
	       "NULL cache misses");
	is_int(chunk_cache_insert(NULL, &a, data, 1), 0, "NULL cache: no-op");
	chunk_cache_free(NULL);
}

static void test_lru(void)
{
	struct chunk_cache *cc = chunk_cache_new(300);
	uint8_t d[100];
	struct chunk_cache_stats s;
	for (unsigned n = 1; n <= 3; n++) {
		fill_n(d, sizeof(d), n);
		struct cid c = cid_n(n);
		chunk_cache_insert(cc, &c, d, sizeof(d));
	}
	chunk_cache_stats(cc, &s);
	is_int(s.bytes, 300, "full to the byte");
	is_int(s.evictions, 0, "no eviction at the bound");

	/* Touch 1: now 2 is the least recently used. */
	ok(cached(cc, 1), "1 cached");
	fill_n(d, sizeof(d), 4);
	struct cid c4 = cid_n(4);
	chunk_cache_insert(cc, &c4, d, sizeof(d));
	ok(!cached(cc, 2), "2 evicted (least recently used)");
	chunk_cache_stats(cc, &s);
	is_int(s.evictions, 1, "one eviction");
	is_int(s.bytes, 300, "still at the bound");

	/* Order now, oldest first: 3, 1, 4. */
	struct cid c5 = cid_n(5);
	fill_n(d, sizeof(d), 5);
	chunk_cache_insert(cc, &c5, d, sizeof(d));
	ok(!cached(cc, 3), "3 evicted next");
	ok(cached(cc, 1) && cached(cc, 4) && cached(cc, 5), "1, 4, 5 stay");

	/* A reinsert refreshes: order 1, 4, 5 → insert 1 again → 4, 5, 1. */
	fill_n(d, sizeof(d), 1);
	struct cid c1 = cid_n(1);
	chunk_cache_insert(cc, &c1, d, sizeof(d));
	struct cid c6 = cid_n(6);
	chunk_cache_insert(cc, &c6, d, sizeof(d));
	ok(!cached(cc, 4), "reinsert refreshed 1, so 4 went");
	ok(cached(cc, 1), "1 stays");

	/* Too big for the whole cache: not cached, nothing evicted. */
	uint8_t big[301];
	fill_n(big, sizeof(big), 7);
	struct cid c7 = cid_n(7);
	chunk_cache_stats(cc, &s);
	uint64_t ev = s.evictions;
	is_int(chunk_cache_insert(cc, &c7, big, sizeof(big)), 0,
	       "oversize insert succeeds silently");
	ok(!cached(cc, 7), "oversize chunk not cached");
	chunk_cache_stats(cc, &s);
	is_int(s.evictions, ev, "oversize evicted nothing");
	is_int(s.entries, 3, "three entries");

	/* Exactly the bound: everything else goes. */
	struct cid c8 = cid_n(8);
	is_int(chunk_cache_insert(cc, &c8, big, 300), 0, "insert max_bytes");
	chunk_cache_stats(cc, &s);
	is_int(s.entries, 1, "only it remains");
	is_int(s.bytes, 300, "bytes");
	is_int(s.evictions, ev + 3, "three evicted");
	uint8_t out[300];
	size_t got;
	is_int(chunk_cache_read(cc, &c8, 0, out, sizeof(out), &got), 0,
	       "max-size entry readable");
	is_mem(out, big, 300, "its bytes");
	chunk_cache_free(cc);

	cc = chunk_cache_new(0);
	is_int(chunk_cache_insert(cc, &c8, big, 1), 0, "zero-size cache");
	ok(!cached(cc, 8), "caches nothing");
	chunk_cache_free(cc);
}

/* Enough entries to make the hash table grow several times. */
static void test_many(void)
{
	enum { N = 5000 };
	struct chunk_cache *cc = chunk_cache_new(N * 16);
	uint8_t d[16], out[16];
	int bad = 0;
	for (unsigned n = 0; n < N; n++) {
		fill_n(d, sizeof(d), n);
		struct cid c = cid_n(n);
		if (chunk_cache_insert(cc, &c, d, sizeof(d)) != 0)
			bad++;
	}
	for (unsigned n = 0; n < N; n++) {
		fill_n(d, sizeof(d), n);
		struct cid c = cid_n(n);
		size_t got = 0;
		if (chunk_cache_read(cc, &c, 0, out, sizeof(out), &got) != 0 ||
		    got != sizeof(d) || memcmp(out, d, sizeof(d)) != 0)
			bad++;
	}
	is_int(bad, 0, "%d entries all found with their bytes", N);
	struct chunk_cache_stats s;
	chunk_cache_stats(cc, &s);
	is_int(s.entries, N, "entry count");
	is_int(s.evictions, 0, "none evicted");
	/* Half again as many: the oldest half must go, exactly. */
	for (unsigned n = N; n < N + N / 2; n++) {
		fill_n(d, sizeof(d), n);
		struct cid c = cid_n(n);
		chunk_cache_insert(cc, &c, d, sizeof(d));
	}
	int first_gone = 0, rest_there = 0;
	for (unsigned n = 0; n < N / 2; n++)
		first_gone += !cached(cc, n);
	for (unsigned n = N / 2; n < N + N / 2; n++)
		rest_there += cached(cc, n);
	is_int(first_gone, N / 2, "the oldest half was evicted");
	is_int(rest_there, N, "the newest N stay");
	chunk_cache_free(cc);
}

#define THREADS 4
#define KEYS 64
#define ROUNDS 20000
#define CHUNK 1024

struct worker {
	struct chunk_cache *cc;
	unsigned id;
	atomic_int *errors;
	uint64_t hits;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t want[CHUNK], got_buf[CHUNK];
	uint64_t x = 0x12345 + w->id;
	for (int i = 0; i < ROUNDS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned n = (unsigned)(x % KEYS);
		struct cid c = cid_n(n);
		size_t len = CHUNK / 2 + n * 8; /* per key, ≤ CHUNK */
		size_t off = (size_t)(x >> 32) % len;
		size_t got = 0;
		int r = chunk_cache_read(w->cc, &c, off, got_buf, CHUNK, &got);
		fill_n(want, len, n);
		if (r == 0) {
			w->hits++;
			if (got != len - off ||
			    memcmp(got_buf, want + off, got) != 0)
				atomic_fetch_add(w->errors, 1);
		} else if (r != -ENOENT ||
			   chunk_cache_insert(w->cc, &c, want, len) != 0) {
			atomic_fetch_add(w->errors, 1);
		}
	}
	return NULL;
}

static void test_threads(void)
{
	/* Room for about a third of the keys: constant eviction. */
	size_t max = KEYS / 3 * CHUNK;
	struct chunk_cache *cc = chunk_cache_new(max);
	atomic_int errors = 0;
	struct worker w[THREADS];
	pthread_t th[THREADS];
	int started = 0;
	for (unsigned i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.cc = cc, .id = i, .errors = &errors};
		if (pthread_create(&th[i], NULL, worker_main, &w[i]) == 0)
			started++;
	}
	is_int(started, THREADS, "threads started");
	uint64_t hits = 0;
	for (int i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		hits += w[i].hits;
	}
	is_int(atomic_load(&errors), 0, "no wrong bytes, no failures");
	struct chunk_cache_stats s;
	chunk_cache_stats(cc, &s);
	ok(s.bytes <= max, "bound held (%zu ≤ %zu)", s.bytes, max);
	is_int(s.hits, hits, "hits agree with the threads' count");
	is_int(s.hits + s.misses, (uint64_t)THREADS * ROUNDS,
	       "every lookup counted");
	ok(s.evictions > 0 && s.hits > 0, "both hits and evictions happened");
	/* Walk the LRU through the public API: every entry readable. */
	size_t found = 0;
	for (unsigned n = 0; n < KEYS; n++)
		found += (size_t)cached(cc, n);
	is_int(found, s.entries, "entries count matches what is readable");
	chunk_cache_free(cc);
}

/* take: the whole chunk out, and the cache no longer holds it. */
static void test_take(void)
{
	struct chunk_cache *cc = chunk_cache_new(1000);
	uint8_t data[100], out[200];
	fill_n(data, sizeof(data), 3);
	struct cid a = cid_n(3), b = cid_n(4), none = cid_n(6);
	size_t got = 0;
	struct chunk_cache_stats s;
	is_int(chunk_cache_take(cc, &none, out, sizeof(out), &got), -ENOENT,
	       "take: miss");
	is_int(chunk_cache_insert(cc, &a, data, sizeof(data)), 0, "insert a");
	is_int(chunk_cache_insert(cc, &b, data, 50), 0, "insert b");
	memset(out, 0xee, sizeof(out));
	is_int(chunk_cache_take(cc, &a, out, sizeof(out), &got), 0, "take a");
	is_int(got, 100, "its length");
	is_mem(out, data, sizeof(data), "its bytes");
	is_int(out[100], 0xee, "nothing past it");
	chunk_cache_stats(cc, &s);
	ok(s.entries == 1 && s.bytes == 50, "only b left (%zu entries, %zu bytes)",
	   s.entries, s.bytes);
	ok(!cached(cc, 3) && cached(cc, 4), "a gone, b there");
	is_int(chunk_cache_take(cc, &a, out, sizeof(out), &got), -ENOENT,
	       "taken once only");
	is_int(chunk_cache_take(cc, &b, out, 10, &got), 0, "take b into less room");
	is_int(got, 10, "clipped to the room");
	chunk_cache_stats(cc, &s);
	ok(s.entries == 0 && s.bytes == 0, "empty");
	/* A prefetch finishing after its reader took the chunk: refused
	 * once, then cached as ever. */
	is_int(chunk_cache_insert(cc, &a, data, sizeof(data)), 0, "a again");
	ok(!cached(cc, 3), "a taken lately: its late insert refused");
	is_int(chunk_cache_insert(cc, &a, data, sizeof(data)), 0, "a once more");
	ok(cached(cc, 3), "and now cached");
	/* A reader that missed and fetched the chunk itself took it too. */
	struct cid c = cid_n(5);
	is_int(chunk_cache_take(cc, &c, out, sizeof(out), &got), -ENOENT,
	       "take c: a miss");
	is_int(chunk_cache_insert(cc, &c, data, 10), 0, "c's prefetch, late");
	ok(!cached(cc, 5), "not cached: the reader has it");
	chunk_cache_stats(cc, &s);
	ok(s.entries == 1 && s.bytes == 100, "only a (%zu entries, %zu bytes)",
	   s.entries, s.bytes);
	chunk_cache_free(cc);
}

/* Prefetched chunks nobody read hold max_bytes / 8 at most: past it the
 * oldest of them go first, never an entry a reader used. */
static void test_hints(void)
{
	struct chunk_cache *cc = chunk_cache_new(1000); /* hints: 125 */
	uint8_t data[60];
	fill_n(data, sizeof(data), 7);
	struct cid c[8];
	for (unsigned i = 0; i < 8; i++)
		c[i] = cid_n(20 + i);
	is_int(chunk_cache_insert(cc, &c[0], data, 60), 0, "a read chunk");
	is_int(chunk_cache_insert_hint(cc, &c[1], data, 60), 0, "hint 1");
	is_int(chunk_cache_insert_hint(cc, &c[2], data, 60), 0, "hint 2");
	ok(cached(cc, 20) && cached(cc, 21) && cached(cc, 22),
	   "120 bytes of hints fit");
	/* cached() read hints 1 and 2: a reader used them, they are
	 * ordinary entries now.  Three unread hints do not fit. */
	is_int(chunk_cache_insert_hint(cc, &c[3], data, 60), 0, "hint 3");
	is_int(chunk_cache_insert_hint(cc, &c[4], data, 60), 0, "hint 4");
	is_int(chunk_cache_insert_hint(cc, &c[5], data, 60), 0, "hint 5");
	ok(!cached(cc, 23), "the oldest unread hint made room");
	ok(cached(cc, 24) && cached(cc, 25), "the newer two are there");
	ok(cached(cc, 20) && cached(cc, 21) && cached(cc, 22),
	   "entries a reader used stay");
	struct chunk_cache_stats s;
	chunk_cache_stats(cc, &s);
	is_int(s.entries, 5, "five entries");
	/* An ordinary insert of an unread hint makes it ordinary too. */
	is_int(chunk_cache_insert_hint(cc, &c[6], data, 60), 0, "hint 6");
	is_int(chunk_cache_insert(cc, &c[6], data, 60), 0, "and read for real");
	is_int(chunk_cache_insert_hint(cc, &c[7], data, 60), 0, "hint 7");
	is_int(chunk_cache_insert_hint(cc, &c[3], data, 60), 0, "hint 3 again");
	ok(cached(cc, 26), "the promoted one stays");
	chunk_cache_free(cc);
}

int main(void)
{
	test_hit_miss_partial();
	test_take();
	test_hints();
	test_lru();
	test_many();
	test_threads();
	return tap_done();
}
