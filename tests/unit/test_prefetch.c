/* tests/unit/test_prefetch.c — the next chunk lands in the cache; the ids
 * a reader of many small files gets looked at (prefetch_ahead); the queue
 * never holds more than PREFETCH_BYTES of chunks, however slow the
 * fetches. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/chunk_cache.h"
#include "crypto/seal.h"
#include "fs/model/object.h"
#include "fs/mount/prefetch.h"
#include "ipfs/bs_fault.h"
#include "ipfs/bs_local.h"
#include "tests/tap.h"

#define CHUNK 4096
#define CHUNKS 4

static int cached(struct chunk_cache *cc, struct obj_store *st,
		  const struct obj_ref *ref, uint64_t index)
{
	struct chunk_ref c;
	uint8_t byte;
	size_t got;
	if (obj_chunk_at(st, ref, index, &c) != 0)
		return 0;
	return chunk_cache_read(cc, &c.cid, 0, &byte, 1, &got) == 0;
}

/* Large chunks on a store whose every get sleeps: the workers fall
 * behind and requests pile up, as under a loaded machine.  What is
 * queued and in flight stays within PREFETCH_BYTES; the rest is
 * dropped. */
static void byte_bound(struct blockstore *bs, const uint8_t *conv)
{
	enum { BIG = 256 << 10, NBIG = 2 * PREFETCH_BYTES / BIG + 4 };
	uint8_t *data = calloc(NBIG, BIG);
	struct obj_store st = {.bs = bs, .convergence = conv,
			       .chunk_size = BIG, .fanout = 16};
	struct obj_ref ref;
	struct obj_writer *w;
	tap_fill_random(data, (size_t)NBIG * BIG, 3);
	ok(data && obj_writer_new(&st, &w) == 0 &&
		   obj_writer_write(w, data, (size_t)NBIG * BIG) == 0 &&
		   obj_writer_finish(w, &ref) == 0,
	   "a %d-chunk object of %d KiB chunks is written", NBIG, BIG >> 10);
	free(data);

	struct fault_config cfg = {.delay_ms = 200, .seed = 1};
	cfg.delay_rate[FAULT_GET] = 1.0;
	struct blockstore *slow;
	if (!ok(bs_fault_wrap(bs, &cfg, &slow) == 0, "a slow store wraps it")) {
		bs_close(bs);
		return;
	}
	struct chunk_cache *cc = chunk_cache_new(64 << 20);
	st.bs = slow;
	st.cache = cc;
	struct prefetch *p;
	ok(prefetch_start(&st, &p) == 0, "prefetcher on the slow store");
	struct prefetch_stats s;
	bool within = true;
	for (uint64_t i = 0; i < NBIG; i++) {
		prefetch_chunk(p, &ref, i);
		prefetch_stats(p, &s);
		within = within && s.pending <= PREFETCH_BYTES;
	}
	ok(within && s.peak <= PREFETCH_BYTES,
	   "queued and in flight: never past %u bytes (peak %zu)",
	   PREFETCH_BYTES, s.peak);
	ok(s.peak > PREFETCH_BYTES - BIG, "up to the bound");
	ok(s.dropped >= NBIG - PREFETCH_BYTES / BIG,
	   "the %llu requests past it were dropped",
	   (unsigned long long)s.dropped);
	int waited = 0;
	do {
		usleep(10000);
		prefetch_stats(p, &s);
	} while (s.pending && waited++ < 1000);
	ok(s.pending == 0, "done fetching, nothing is counted pending");
	prefetch_chunk(p, &ref, 0);
	prefetch_stats(p, &s);
	ok(s.pending == BIG, "and new requests are taken again");
	prefetch_stop(p);
	chunk_cache_free(cc);
	bs_close(slow);
}

int main(void)
{
	uint8_t conv[IPMD_KEY_BYTES];
	static uint8_t data[CHUNK * CHUNKS];
	struct blockstore *bs;
	struct obj_ref ref;
	struct obj_writer *w;

	seal_init();
	tap_fill_random(conv, sizeof(conv), 1);
	tap_fill_random(data, sizeof(data), 2);
	ok(bs_local_open(tap_tempdir(), &bs) == 0, "store opens");
	struct obj_store st = {.bs = bs, .convergence = conv,
			       .chunk_size = CHUNK, .fanout = 16};
	ok(obj_writer_new(&st, &w) == 0 &&
		   obj_writer_write(w, data, sizeof(data)) == 0 &&
		   obj_writer_finish(w, &ref) == 0,
	   "a %d-chunk object is written", CHUNKS);

	struct chunk_cache *cc = chunk_cache_new(1 << 20);
	st.cache = cc;
	struct prefetch *p;
	ok(prefetch_start(&st, &p) == 0, "prefetcher starts");
	ok(!cached(cc, &st, &ref, 2), "chunk 2 is not cached yet");
	prefetch_chunk(p, &ref, 2);
	prefetch_chunk(p, &ref, CHUNKS); /* past the end: ignored */
	int waited = 0;
	while (!cached(cc, &st, &ref, 2) && waited++ < 500)
		usleep(2000);
	ok(cached(cc, &st, &ref, 2), "chunk 2 arrives in the cache");
	ok(!cached(cc, &st, &ref, 1), "chunk 1 was not asked for");

	uint8_t out[CHUNK];
	size_t got;
	struct chunk_cache_stats before, after;
	chunk_cache_stats(cc, &before);
	ok(obj_read(&st, &ref, 2 * CHUNK, out, CHUNK, &got) == 0 &&
		   got == CHUNK && !memcmp(out, data + 2 * CHUNK, CHUNK),
	   "the prefetched chunk reads back right");
	chunk_cache_stats(cc, &after);
	ok(after.hits > before.hits, "and that read was a cache hit");

	/* prefetch_ahead: what a reader of many small files, reading them
	 * in id order, gets looked at. */
	uint64_t from, to;
	prefetch_ahead(p, 7, 100, &from, &to);
	ok(from == 101 && to == 101 + PREFETCH_AHEAD,
	   "the first read of a directory: the %d ids after it",
	   PREFETCH_AHEAD);
	prefetch_ahead(p, 7, 101, &from, &to);
	ok(from == 101 + PREFETCH_AHEAD && to == 102 + PREFETCH_AHEAD,
	   "the next file: only the one id not looked at yet");
	prefetch_ahead(p, 7, 104, &from, &to);
	ok(from == 102 + PREFETCH_AHEAD && to == 105 + PREFETCH_AHEAD,
	   "a few files on: the ids not looked at yet");
	prefetch_ahead(p, 7, 104, &from, &to);
	ok(from == to, "the same file again: nothing");
	prefetch_ahead(p, 9, 110, &from, &to);
	ok(from == 111 && to == 111 + PREFETCH_AHEAD,
	   "another directory: from its file on");
	prefetch_ahead(p, 7, 112, &from, &to);
	ok(from == 113 && to == 113 + PREFETCH_AHEAD,
	   "back in the first: what the other handed out says nothing here");
	prefetch_ahead(p, 7, 50, &from, &to);
	ok(from == 51 && to == 51 + PREFETCH_AHEAD,
	   "a jump back: from the new file on");
	prefetch_ahead(p, 7, 500, &from, &to);
	ok(from == 501 && to == 501 + PREFETCH_AHEAD,
	   "a jump past what was handed out: from the new file on");
	prefetch_ahead(p, 7, UINT64_MAX - 3, &from, &to);
	ok(from == to, "ids near 2^64: nothing (no wrap)");
	prefetch_ahead(NULL, 7, 100, &from, &to);
	ok(from == to, "no prefetcher: nothing");

	for (int i = 0; i < 100; i++)
		prefetch_chunk(p, &ref, (uint64_t)(i % CHUNKS));
	prefetch_stop(p);
	ok(1, "stopping with a full queue neither hangs nor leaks");
	chunk_cache_free(cc);
	byte_bound(bs, conv); /* closes bs */
	return tap_done();
}
