/* tests/unit/test_file_tail.c — fs/mount/file.c's append-friendly tail
 * (file.h, "Tails"): which changes go as an append, which bytes it hands
 * out, and that a replayed append seals to what the live writes did. */
#include "fs/mount/file.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"
#include "tests/unit/harness.h"

#define CS 4096
#define FANOUT 4
#define MAX 1024 /* the largest append taken in these tests */

static uint8_t convergence[IPMD_KEY_BYTES];

static struct obj_store store_of(struct blockstore *bs)
{
	return harness_obj_store(bs, convergence, CS, FANOUT,
				 OBJ_SCOPE_MAILBOX);
}

static bool ref_eq(const struct obj_ref *a, const struct obj_ref *b)
{
	return cid_equal(&a->cid, &b->cid) && a->size == b->size &&
	       a->depth == b->depth &&
	       memcmp(a->key, b->key, IPMD_KEY_BYTES) == 0;
}

/* A state over a sealed object of data[0, n). */
static struct file_state *over(struct obj_store *st, const uint8_t *data,
			       size_t n, struct obj_ref *base)
{
	struct file_state *f;
	if (harness_write_object(st, data, n, base) ||
	    file_state_new(st, 2, base, &f))
		harness_bail("state over an object");
	return f;
}

/* file_tail_take, and whether it handed out exactly want[off, off+len). */
static int take(struct obj_store *st, struct file_state *f,
		struct file_tail *t, const uint8_t *want, uint64_t off,
		size_t len)
{
	int r = file_tail_take(st, f, MAX, false, t);
	if (r == 1 && (t->off != off || t->len != len ||
		       memcmp(t->data, want + off, len) != 0))
		return 99;
	return r;
}

static void test_grow_only(struct obj_store st)
{
	uint8_t data[3 * CS];
	tap_fill_random(data, sizeof(data), 5);
	struct obj_ref base, out;
	struct file_tail t;
	struct file_state *f = over(&st, data, 100, &base);
	uint64_t blocks = harness_block_count(st.bs);

	is_int(file_tail_take(&st, f, MAX, false, &t), 0,
	       "unmodified: nothing");
	is_int(file_write(&st, f, 100, data + 100, 80), 0, "append 80");
	is_int(take(&st, f, &t, data, 100, 80), 1,
	       "taken: the 80 bytes at 100");
	ok(!file_tail_journaled(f), "not journaled before done");
	file_tail_done(f, &t, true);
	file_tail_free(&t);
	ok(file_tail_journaled(f), "journaled after done");
	ok(file_modified(f), "still modified: the commit seals it");
	is_int(harness_block_count(st.bs), blocks, "no block written");
	is_int(file_tail_take(&st, f, MAX, false, &t), 0,
	       "again with nothing new: nothing to journal");

	is_int(file_write(&st, f, 180, data + 180, 50), 0, "append 50");
	is_int(take(&st, f, &t, data, 180, 50), 1, "taken: 50 at 180");
	file_tail_done(f, &t, false);
	file_tail_free(&t);
	is_int(file_write(&st, f, 230, data + 230, 20), 0, "append 20 more");
	is_int(take(&st, f, &t, data, 180, 70), 1,
	       "not journaled last time: taken again with the new, 70 at 180");
	file_tail_done(f, &t, true);
	file_tail_free(&t);

	/* Across a chunk's end: the full chunk is sealed by the write, its
	 * bytes are still handed out. */
	is_int(file_write(&st, f, 250, data + 250, CS - 250 + 100), 0,
	       "append across the first chunk's end");
	is_int(file_tail_take(&st, f, MAX, false, &t), -EAGAIN,
	       "more than the most bytes: seal");
	uint64_t seal = 0;
	is_int(file_seal(&st, f, &out, &seal), 0, "sealed");
	ok(file_tail_journaled(f),
	   "sealed, its record not yet journaled: the appends still count");
	file_seal_done(f, seal, true);
	ok(!file_tail_journaled(f), "a journaled seal covers what was "
	   "journaled");
	is_int(file_write(&st, f, CS + 100, data + CS + 100, 40), 0,
	       "append 40 after the seal");
	is_int(take(&st, f, &t, data, CS + 100, 40), 1,
	       "taken from the sealed end");
	file_tail_done(f, &t, true);
	file_tail_free(&t);
	file_state_free(f);

	f = over(&st, data, CS - 10, &base);
	is_int(file_write(&st, f, CS - 10, data + CS - 10, 30), 0,
	       "a small append filling a chunk and beyond");
	is_int(take(&st, f, &t, data, CS - 10, 30), 1,
	       "taken whole: 20 bytes in the sealed chunk, 10 in the next");
	file_tail_free(&t);
	file_state_free(f);
}

static void test_not_append(struct obj_store st)
{
	uint8_t data[2000];
	tap_fill_random(data, sizeof(data), 6);
	struct obj_ref base, out;
	struct file_tail t;

	struct file_state *f = over(&st, data, 0, &base);
	is_int(file_write(&st, f, 0, data, 100), 0, "a new file's bytes");
	is_int(file_tail_take(&st, f, MAX, false, &t), -EAGAIN,
	       "a file never sealed: sealed, not journaled");
	file_state_free(f);

	f = over(&st, data, 500, &base);
	is_int(file_write(&st, f, 499, data + 499, 10), 0,
	       "a write from below the end");
	is_int(file_tail_take(&st, f, MAX, false, &t), -EAGAIN,
	       "a rewrite: seal");
	is_int(file_seal(&st, f, &out, NULL), 0, "sealed");
	is_int(file_write(&st, f, 509, data + 509, 10), 0, "then an append");
	is_int(take(&st, f, &t, data, 509, 10), 1, "journaled again");
	file_tail_free(&t);
	file_state_free(f);

	f = over(&st, data, 500, &base);
	is_int(file_write(&st, f, 500, data + 500, 10), 0, "append");
	is_int(file_truncate(&st, f, 300), 0, "truncate below the end");
	is_int(file_write(&st, f, 300, data + 300, 300), 0, "grow again");
	is_int(file_tail_take(&st, f, MAX, false, &t), -EAGAIN,
	       "a truncate between: seal");
	file_state_free(f);

	f = over(&st, data, 500, &base);
	is_int(file_truncate(&st, f, 600), 0, "extend by truncate");
	static const uint8_t zeros[600];
	is_int(take(&st, f, &t, zeros, 500, 100), 1,
	       "an extension is an append of zeros");
	file_tail_free(&t);
	file_state_free(f);

	/* A write below the taken end while the record is on its way: the
	 * bytes taken are stale, the next fsync seals. */
	f = over(&st, data, 500, &base);
	is_int(file_write(&st, f, 500, data + 500, 100), 0, "append 100");
	is_int(take(&st, f, &t, data, 500, 100), 1, "taken");
	is_int(file_write(&st, f, 550, data + 1550, 10), 0,
	       "rewritten within the taken bytes before the record is in");
	file_tail_done(f, &t, true);
	file_tail_free(&t);
	is_int(file_tail_take(&st, f, MAX, false, &t), -EAGAIN,
	       "the next fsync seals");
	file_state_free(f);

	f = over(&st, data, 500, &base);
	is_int(file_write(&st, f, 500, data + 500, 10), 0, "append");
	uint64_t seal = 0;
	is_int(file_seal(&st, f, &out, &seal), 0, "sealed");
	file_seal_done(f, seal, false);
	ok(file_modified(f), "its content record failed: modified again");
	is_int(file_tail_take(&st, f, MAX, false, &t), -EAGAIN,
	       "and the next fsync seals whole (no append over an unlogged "
	       "seal)");
	file_state_free(f);
}

/* A replayed append seals to the object the live writes sealed to. */
static void test_replayed(struct obj_store st)
{
	uint8_t data[CS + 300];
	tap_fill_random(data, sizeof(data), 8);
	struct obj_ref base, live, replayed;
	struct file_state *f = over(&st, data, CS - 50, &base);
	is_int(file_write(&st, f, CS - 50, data + CS - 50, 350), 0,
	       "live: append 350 across a chunk's end");
	is_int(file_seal(&st, f, &live, NULL), 0, "live: sealed");
	file_state_free(f);

	if (file_state_new(&st, 2, &base, &f))
		harness_bail("file_state_new");
	is_int(file_tail_replayed(&st, f, CS - 50, data + CS - 50, 200), 0,
	       "replay: the first append");
	is_int(file_tail_replayed(&st, f, CS + 150, data + CS + 150, 150), 0,
	       "replay: the second");
	ok(file_tail_journaled(f), "replayed appends count as journaled");
	is_int(file_size(f), CS + 300, "the size");
	is_int(file_seal(&st, f, &replayed, NULL), 0, "replay: sealed");
	ok(ref_eq(&live, &replayed), "the same object as the live writes");
	file_state_free(f);
}

/* A tail taken outside the mount's lock, and what was journaled before
 * it (file_tail_current, over the state's own base). */
static void test_stale(struct obj_store st)
{
	uint8_t data[400];
	tap_fill_random(data, sizeof(data), 9);
	struct obj_ref base, sealed;
	struct file_tail t, u;
	struct file_state *f = over(&st, data, 100, &base);

	is_int(file_write(&st, f, 100, data + 100, 50), 0, "append 50");
	is_int(take(&st, f, &t, data, 100, 50), 1, "taken: 50 at 100");
	is_int(file_write(&st, f, 150, data + 150, 50), 0,
	       "append 50 more past it");
	ok(file_tail_current(f, &t, &base),
	   "a write past the tail: still current");
	is_int(take(&st, f, &u, data, 100, 100), 1,
	       "a second fsync takes 100 at 100");
	file_tail_done(f, &u, true);
	file_tail_free(&u);
	ok(!file_tail_current(f, &t, &base),
	   "journaled a newer tail: the first is stale");
	file_tail_free(&t);

	is_int(file_write(&st, f, 200, data + 200, 50), 0, "append 50");
	is_int(take(&st, f, &t, data, 200, 50), 1, "taken: 50 at 200");
	is_int(file_write(&st, f, 220, data + 300, 10), 0,
	       "a write inside the tail taken");
	ok(!file_tail_current(f, &t, &base),
	   "bytes below its end changed: stale");
	file_tail_free(&t);

	uint64_t seal = 0;
	is_int(file_seal(&st, f, &sealed, &seal), 0, "sealed");
	is_int(file_write(&st, f, 250, data + 250, 50), 0, "append 50");
	is_int(take(&st, f, &t, data, 250, 50), 1, "taken: 50 at 250");
	ok(!file_tail_current(f, &t, &sealed),
	   "over a seal not yet journaled: stale, though the tree names it");
	file_seal_done(f, seal, true);
	ok(file_tail_current(f, &t, &sealed),
	   "over its sealed base, journaled: current");
	is_int(file_truncate(&st, f, 250), 0, "truncated back");
	is_int(file_seal(&st, f, &sealed, NULL), 0, "sealed (a truncate's seal)");
	ok(!file_tail_current(f, &t, &sealed),
	   "a seal since the take: stale, though its offsets match");
	file_tail_free(&t);
	file_state_free(f);
}

/* A merge changed the content the tree names under a kept state: a tail
 * taken over the state's old base is stale (file_tail_current). */
static void test_merged(struct obj_store st)
{
	uint8_t data[300];
	tap_fill_random(data, sizeof(data), 10);
	struct obj_ref base, merged;
	struct file_tail t;
	struct file_state *f = over(&st, data, 100, &base);
	if (harness_write_object(&st, data + 150, 120, &merged))
		harness_bail("the merged content");
	is_int(file_write(&st, f, 100, data + 100, 50), 0, "append 50");
	is_int(take(&st, f, &t, data, 100, 50), 1, "taken: 50 at 100");
	ok(file_tail_current(f, &t, &base), "over its base: current");
	ok(!file_tail_current(f, &t, &merged),
	   "the tree names other content: stale");
	file_tail_free(&t);
	file_state_free(f);
}

/* A rewrite of unchanged bytes seals, under the file's own scope, to the
 * content the tree names already; until that seal's record is in the
 * journal, no append may go over it (it would replay before the older
 * record), and once one did, only a later seal's record covers it. */
static void test_same_content(struct obj_store st)
{
	uint8_t data[300];
	tap_fill_random(data, sizeof(data), 12);
	struct obj_ref base, again, later;
	struct file_tail t;
	uint64_t s1 = 0, s2 = 0, s3 = 0;
	struct file_state *f = over(&st, data, 100, &base);
	is_int(file_write(&st, f, 0, data, 100), 0, "rewritten unchanged");
	is_int(file_seal(&st, f, &again, &s1), 0, "sealed (fsync A)");
	ok(ref_eq(&again, &base), "to the content the tree names");
	is_int(file_write(&st, f, 100, data + 100, 50), 0, "append 50");
	is_int(take(&st, f, &t, data, 100, 50), 1, "taken (fsync C)");
	ok(!file_tail_current(f, &t, &base),
	   "A's record not in the journal: stale, though the CIDs match");
	file_tail_free(&t);

	is_int(file_seal(&st, f, &later, &s2), 0,
	       "sealed whole instead (seal 2)");
	file_seal_done(f, s2, true);
	ok(file_seal_journaled(f, s1), "A's seal is covered by it");
	is_int(file_write(&st, f, 150, data + 150, 50), 0, "append 50");
	is_int(take(&st, f, &t, data, 150, 50), 1, "taken over seal 2");
	ok(file_tail_current(f, &t, &later), "seal 2 journaled: current");
	file_tail_done(f, &t, true);
	file_tail_free(&t);
	ok(file_tail_journaled(f), "the append journaled");
	file_seal_done(f, s2, true);
	ok(file_tail_journaled(f),
	   "the seal it went over, told again: the append still uncovered");
	is_int(file_seal(&st, f, &later, &s3), 0, "sealed (seal 3)");
	ok(file_tail_journaled(f), "seal 3 not journaled yet: uncovered");
	file_seal_done(f, s3, true);
	ok(!file_tail_journaled(f), "seal 3 journaled: it covers the append");
	file_state_free(f);
}

/* Seals counted, and which content records the journal still needs
 * (file.h, "Seal order"): a later seal's covers an earlier one's. */
static void test_seal_order(struct obj_store st)
{
	uint8_t data[300];
	tap_fill_random(data, sizeof(data), 11);
	struct obj_ref base, first, second, again;
	uint64_t s1 = 0, s2 = 0, s3 = 0;
	struct file_state *f = over(&st, data, 100, &base);
	is_int(file_last_seal(f, &again), 0, "never sealed: seal 0");
	ok(ref_eq(&again, &base), "its content: the base");
	ok(file_seal_journaled(f, 0), "seal 0: the tree holds it");

	is_int(file_write(&st, f, 10, data + 200, 20), 0, "a rewrite");
	is_int(file_seal(&st, f, &first, &s1), 0, "sealed (fsync A)");
	is_int(file_write(&st, f, 100, data + 100, 50), 0, "append 50");
	is_int(file_seal(&st, f, &second, &s2), 0, "sealed (fsync B)");
	ok(s1 == 1 && s2 == 2, "counted 1, 2");
	ok(!file_seal_journaled(f, s1) && !file_seal_journaled(f, s2),
	   "neither journaled yet");
	file_seal_done(f, s2, true);
	ok(file_seal_journaled(f, s2), "B's journaled");
	ok(file_seal_journaled(f, s1),
	   "and A's is covered by it: not to journal after it");
	is_int(file_seal(&st, f, &again, &s3), 0, "sealed unmodified");
	ok(s3 == s2 && ref_eq(&again, &second),
	   "unmodified: the last seal again");
	is_int(file_last_seal(f, &again), 2, "the last seal: 2");
	ok(ref_eq(&again, &second), "its content");
	file_seal_done(f, s1, true);
	ok(!file_seal_journaled(f, 3), "an older one journaled late moves "
	   "nothing back");
	file_state_free(f);
}

/* A new file's first bytes (file_tail_take, first: a replacement file's
 * fsync): taken from 0 with no block written; file_tail_covers says a
 * rename need not seal it, until anything changes again; a take not
 * first still seals a new file. */
static void test_first(struct obj_store st)
{
	uint8_t data[2 * MAX];
	tap_fill_random(data, sizeof(data), 9);
	static const struct obj_ref empty;
	struct file_tail t;
	struct file_state *f;
	if (file_state_new(&st, 3, &empty, &f))
		harness_bail("file_state_new");
	uint64_t blocks = harness_block_count(st.bs);
	is_int(file_write(&st, f, 0, data, 300), 0, "a new file: 300 bytes");
	is_int(file_tail_take(&st, f, MAX, false, &t), -EAGAIN,
	       "not first: a new file is sealed");
	ok(!file_tail_covers(f), "nothing journaled: a rename seals it");
	is_int(file_tail_take(&st, f, MAX, true, &t), 1,
	       "first: taken");
	ok(t.off == 0 && t.len == 300 && memcmp(t.data, data, 300) == 0,
	   "the 300 bytes from 0");
	ok(!file_tail_covers(f), "taken, not journaled yet: not covered");
	file_tail_done(f, &t, true);
	file_tail_free(&t);
	ok(file_tail_covers(f), "journaled: covered, a rename need not seal");
	is_int(harness_block_count(st.bs), blocks, "no block written");
	is_int(file_tail_take(&st, f, MAX, true, &t), 0,
	       "again with nothing new: nothing to journal");
	is_int(file_write(&st, f, 300, data + 300, 10), 0, "append 10");
	ok(!file_tail_covers(f), "written since: not covered");
	is_int(file_tail_take(&st, f, MAX, true, &t), 1, "taken: 10 at 300");
	file_tail_done(f, &t, true);
	file_tail_free(&t);
	ok(file_tail_covers(f), "covered again");
	is_int(file_write(&st, f, 5, data, 1), 0, "a rewrite below");
	ok(!file_tail_covers(f), "a rewrite: not covered");
	is_int(file_tail_take(&st, f, MAX, true, &t), -EAGAIN,
	       "a rewrite: sealed");
	file_state_free(f);

	if (file_state_new(&st, 4, &empty, &f))
		harness_bail("file_state_new");
	is_int(file_write(&st, f, 0, data, MAX + 1), 0, "a new file over MAX");
	is_int(file_tail_take(&st, f, MAX, true, &t), -EAGAIN,
	       "too big for one record: sealed");
	struct obj_ref out;
	uint64_t seal;
	is_int(file_seal(&st, f, &out, &seal), 0, "sealed");
	file_seal_done(f, seal, true);
	ok(!file_tail_covers(f), "sealed: nothing modified to cover");
	file_state_free(f);
}

/* A tail journaled in parts (ipmd_fs_tail_log, fs/mount/tail.h: one
 * append record per RECORD_APPEND_MAX bytes) that failed midway: the
 * records journaled count (the durable point at their end), and the next
 * take hands out the rest, from there; a rename does not skip the seal
 * meanwhile. */
static void test_part_journaled(struct obj_store st)
{
	uint8_t data[2 * MAX];
	tap_fill_random(data, sizeof(data), 11);
	static const struct obj_ref empty;
	struct file_tail t;
	struct file_state *f;
	if (file_state_new(&st, 5, &empty, &f))
		harness_bail("file_state_new");
	is_int(file_write(&st, f, 0, data, 900), 0, "a new file: 900 bytes");
	is_int(file_tail_take(&st, f, MAX, true, &t), 1, "taken: 900 at 0");
	struct file_tail part = t;
	part.len = 400;
	file_tail_done(f, &part, true);
	file_tail_free(&t);
	ok(!file_tail_covers(f), "400 of 900 journaled: not covered");
	is_int(file_tail_take(&st, f, MAX, true, &t), 1, "taken again");
	ok(t.off == 400 && t.len == 500 && memcmp(t.data, data + 400, 500) == 0,
	   "the other 500 bytes, from 400 (%llu, %zu)",
	   (unsigned long long)t.off, t.len);
	file_tail_done(f, &t, true);
	file_tail_free(&t);
	ok(file_tail_covers(f), "all journaled: covered");
	file_state_free(f);
}

static const struct harness_store_test with_store[] = {
	{"part", test_part_journaled},
	{"grow", test_grow_only},
	{"not", test_not_append},
	{"replayed", test_replayed},
	{"stale", test_stale},
	{"merged", test_merged},
	{"order", test_seal_order},
	{"same", test_same_content},
	{"first", test_first},
};

int main(void)
{
	harness_seal_init();
	harness_pattern_key(convergence, sizeof(convergence), 1, 0xC0);
	harness_run_with_stores(with_store,
				sizeof(with_store) / sizeof(*with_store),
				store_of);
	return tap_done();
}
