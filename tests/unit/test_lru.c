/* tests/unit/test_lru.c — cache/lru.h: sizes, ticks, and what lru_pick
 * chooses (oldest first, never the kept or the too recent). */
#include <stdlib.h>
#include <string.h>

#include "cache/lru.h"
#include "tests/tap.h"

static void dig(uint8_t *d, unsigned i)
{
	/* Spread over the table like real digests (the slot is the first 8
	 * bytes), and distinct. */
	memset(d, 0, LRU_DIGEST);
	uint64_t h = (uint64_t)i * 0x9e3779b97f4a7c15ull;
	memcpy(d, &h, sizeof(h));
	memcpy(d + 8, &i, sizeof(i));
}

static bool keep_odd(const uint8_t *d, void *arg)
{
	(void)arg;
	unsigned i;
	memcpy(&i, d + 8, sizeof(i));
	return i % 2;
}

static unsigned id_of(const uint8_t *d)
{
	unsigned i;
	memcpy(&i, d + 8, sizeof(i));
	return i;
}

int main(void)
{
	struct lru *l;
	uint8_t d[LRU_DIGEST];
	is_int(lru_new(&l), 0, "new");

	/* 10 blocks of 100 bytes, block i used at tick 100 + i. */
	for (unsigned i = 0; i < 10; i++) {
		dig(d, i);
		lru_touch(l, d, 100, 100 + i);
	}
	is_int((long long)lru_bytes(l), 1000, "bytes add up");
	is_int((long long)lru_count(l), 10, "count");

	/* Touching again updates size and moves the tick forward only. */
	dig(d, 0);
	lru_touch(l, d, 150, 200); /* 0 is now the newest */
	dig(d, 1);
	lru_touch(l, d, 100, 5); /* older tick: ignored */
	is_int((long long)lru_bytes(l), 1050, "a re-touch replaces the size");
	is_int((long long)lru_count(l), 10, "… and adds no entry");

	uint8_t(*v)[LRU_DIGEST];
	size_t n;
	is_int(lru_pick(l, 800, 1000, NULL, NULL, &v, &n), 0, "pick");
	is_int((long long)n, 3, "three of 100 bytes bring 1050 to <= 800");
	ok(n == 3 && id_of(v[0]) == 1 && id_of(v[1]) == 2 && id_of(v[2]) == 3,
	   "oldest first (1, 2, 3), the re-touched 0 spared");
	free(v);

	is_int(lru_pick(l, 800, 1000, keep_odd, NULL, &v, &n), 0,
	       "pick with keep");
	ok(n == 3 && id_of(v[0]) == 2 && id_of(v[1]) == 4 && id_of(v[2]) == 6,
	   "kept entries are skipped (2, 4, 6)");
	free(v);

	is_int(lru_pick(l, 0, 104, NULL, NULL, &v, &n), 0, "pick with before");
	is_int((long long)n, 3, "only ticks < before are candidates (1, 2, 3)");
	for (size_t i = 0; i < n; i++)
		ok(id_of(v[i]) >= 1 && id_of(v[i]) <= 3, "victim %u is old",
		   id_of(v[i]));
	free(v);

	is_int(lru_pick(l, 5000, 1000, NULL, NULL, &v, &n), 0,
	       "pick under the target");
	is_int((long long)n, 0, "nothing to drop");
	free(v);

	dig(d, 5);
	lru_forget(l, d);
	lru_forget(l, d); /* twice: no effect */
	is_int((long long)lru_bytes(l), 950, "forget subtracts the size");
	is_int((long long)lru_count(l), 9, "… and the entry");

	/* Many entries: growth and tombstones keep the sums right. */
	uint64_t want = lru_bytes(l);
	for (unsigned i = 1000; i < 21000; i++) {
		dig(d, i);
		lru_touch(l, d, i % 7 + 1, i);
		want += i % 7 + 1;
	}
	for (unsigned i = 1000; i < 21000; i += 2) {
		dig(d, i);
		lru_forget(l, d);
		want -= i % 7 + 1;
	}
	is_int((long long)lru_bytes(l), (long long)want,
	       "20000 adds, 10000 forgets: bytes exact");
	is_int((long long)lru_count(l), 9 + 10000, "… count exact");
	is_int(lru_pick(l, 0, ~0ull, NULL, NULL, &v, &n), 0, "pick all");
	is_int((long long)n, 9 + 10000, "every entry is a candidate");
	bool sorted = true;
	for (size_t i = 1; i < n; i++) {
		unsigned a = id_of(v[i - 1]), b = id_of(v[i]);
		/* ticks: 1..9 → 101..109 (0 → 200), i ≥ 1000 → i */
		uint64_t ta = a < 10 ? (a ? 100 + a : 200) : a;
		uint64_t tb = b < 10 ? (b ? 100 + b : 200) : b;
		if (ta > tb)
			sorted = false;
	}
	ok(sorted, "victims come out in tick order");
	free(v);
	lru_free(l);
	return tap_done();
}
