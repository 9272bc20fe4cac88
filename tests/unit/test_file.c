/* tests/unit/test_file.c — fs/mount/file.c: unsealed writes over committed
 * objects, checked against a plain byte array that gets the same writes. */
#include "fs/mount/file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/chunk_cache.h"
#include "crypto/seal.h"
#include "ipfs/bs_local.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"
#include "util/wipe.h"

#define CS 4096
#define FANOUT 4
/* The model never grows past this: 160 chunks, depth 4 with fanout 4. */
#define MODEL_MAX (160 * CS)
#ifndef SEEDS
#define SEEDS 4
#endif
#define OPS_PER_SEED 3000
#define SEAL_EVERY 250
#define STREAM_CHUNKS 40
#define DIAG_MAX 5

static uint8_t convergence[IPMD_KEY_BYTES];

/* test_limits asks for a chunk table of 2^52 entries: under ASan that
 * must fail as malloc does, not abort the run. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static struct obj_store store_of(struct blockstore *bs)
{
	/* Mailbox-wide: what a seal converges to is obj_writer's object of
	 * the same bytes.  test_scope checks the per-message scope. */
	return harness_obj_store(bs, convergence, CS, FANOUT,
				 OBJ_SCOPE_MAILBOX);
}

static const struct obj_ref empty_ref;

/* A file state (ino 1) over base, or bail. */
static struct file_state *state_over(struct obj_store *st,
				     const struct obj_ref *base)
{
	struct file_state *f;
	if (file_state_new(st, 1, base, &f) != 0)
		harness_bail("file_state_new");
	return f;
}

static bool ref_eq(const struct obj_ref *a, const struct obj_ref *b)
{
	return cid_equal(&a->cid, &b->cid) && a->size == b->size &&
	       a->depth == b->depth &&
	       memcmp(a->key, b->key, IPMD_KEY_BYTES) == 0;
}

/* file_read of [off, off+len) against want[0 .. size). */
static bool read_matches(struct obj_store *st, struct file_state *f,
			 const struct obj_ref *content, const uint8_t *want,
			 uint64_t size, uint64_t off, size_t len, int *err)
{
	uint8_t *buf = harness_alloc(len);
	size_t got = 99999;
	memset(buf, 0xEE, len);
	int r = file_read(st, f, content, off, buf, len, &got);
	size_t expect = off >= size ? 0 : size - off < len ? size - off : len;
	bool good = r == 0 && got == expect &&
		    memcmp(buf, want + (off < size ? off : 0), expect) == 0;
	if (err)
		*err = r;
	free(buf);
	return good;
}

/* ---- the model-checked random sequence ---- */

struct run {
	struct obj_store st;
	struct file_state *f;
	uint8_t *model;   /* MODEL_MAX bytes; zero past size */
	uint64_t size;
	struct harness_rng g;
	unsigned seed;
	struct harness_diffs diffs; /* mismatches seen */
	unsigned long seals, overflows, holes;
};

/* A mismatch at op of run u (r: what the call returned); the first
 * DIAG_MAX of a run are told. */
#define fail(u, op, r, fmt, ...)                                              \
	harness_differ(&(u)->diffs,                                           \
		       "seed %u op %lu: " fmt " (r %d, size %llu)", (u)->seed, \
		       (unsigned long)(op), ##__VA_ARGS__, (r),                \
		       (unsigned long long)(u)->size)

static uint64_t pick_offset(struct run *u)
{
	uint64_t cut = u->size / CS + 2;
	switch (harness_rnd(&u->g) % 6) {
	case 0: /* anywhere inside */
		return u->size ? harness_rnd(&u->g) % u->size : 0;
	case 1: /* a chunk boundary */
		return (harness_rnd(&u->g) % cut) * CS;
	case 2: /* append */
		return u->size;
	case 3: /* far past the end: a hole of many chunks */
		return u->size + harness_rnd(&u->g) % (40 * CS);
	case 4: /* just before a boundary */
		return (1 + harness_rnd(&u->g) % cut) * CS - 1 -
		       harness_rnd(&u->g) % 64;
	default:
		return harness_rnd(&u->g) % (u->size + CS);
	}
}

static size_t pick_length(struct run *u)
{
	switch (harness_rnd(&u->g) % 6) {
	case 0:
		return 1 + harness_rnd(&u->g) % 64;
	case 1:
		return 1 + harness_rnd(&u->g) % CS;
	case 2:
		return CS;
	case 3: /* more chunks than the buffer table holds */
		return (FILE_DIRTY_MAX + 1 + harness_rnd(&u->g) % 4) * CS +
		       harness_rnd(&u->g) % CS;
	default:
		return 1 + harness_rnd(&u->g) % (3 * CS);
	}
}

static void op_write(struct run *u, unsigned long op)
{
	uint64_t off = pick_offset(u);
	size_t len = pick_length(u);
	if (off >= MODEL_MAX)
		off = harness_rnd(&u->g) % MODEL_MAX;
	if (off + len > MODEL_MAX)
		len = (size_t)(MODEL_MAX - off);
	if (len == 0)
		return;
	uint8_t *data = harness_alloc(len);
	tap_fill_random(data, len, harness_rnd(&u->g));
	if (off > u->size)
		u->holes++;
	if (len > FILE_DIRTY_MAX * CS)
		u->overflows++;
	int r = file_write(&u->st, u->f, off, data, len);
	if (r != 0)
		fail(u, op, r, "write %llu+%zu", (unsigned long long)off, len);
	memcpy(u->model + off, data, len);
	if (off + len > u->size)
		u->size = off + len;
	free(data);
}

static void op_truncate(struct run *u, unsigned long op)
{
	uint64_t size;
	switch (harness_rnd(&u->g) % 5) {
	case 0: /* shrink within the last chunk */
		size = u->size -
		       (u->size ? harness_rnd(&u->g) % (u->size % CS + 1) : 0);
		break;
	case 1: /* to a boundary below */
		size = u->size / CS
			       ? (harness_rnd(&u->g) % (u->size / CS + 1)) * CS
			       : 0;
		break;
	case 2:
		size = harness_rnd(&u->g) % 8 == 0 ? 0 : u->size / 2;
		break;
	case 3: /* grow */
		size = u->size + harness_rnd(&u->g) % (5 * CS);
		break;
	default:
		size = harness_rnd(&u->g) % (u->size + 2 * CS + 1);
		break;
	}
	if (size > MODEL_MAX)
		size = MODEL_MAX;
	int r = file_truncate(&u->st, u->f, size);
	if (r != 0)
		fail(u, op, r, "truncate to %llu", (unsigned long long)size);
	if (size < u->size)
		memset(u->model + size, 0, u->size - size);
	u->size = size;
}

static void op_read(struct run *u, unsigned long op)
{
	uint64_t off = harness_rnd(&u->g) % (u->size + CS + 1);
	size_t len = harness_rnd(&u->g) % 4 == 0
			     ? harness_rnd(&u->g) % (12 * CS)
			     : harness_rnd(&u->g) % (CS + 2);
	int r;
	if (!read_matches(&u->st, u->f, NULL, u->model, u->size, off, len, &r))
		fail(u, op, r, "read %llu+%zu", (unsigned long long)off, len);
	if (file_size(u->f) != u->size)
		fail(u, op, 0, "file_size %llu",
		     (unsigned long long)file_size(u->f));
}

/* Seal, then check every way of reading the result, and go on writing on
 * a state over the sealed object (or the old one). */
static void op_seal(struct run *u, unsigned long op)
{
	struct obj_ref ref, again, whole;
	int r = file_seal(&u->st, u->f, &ref, NULL);
	u->seals++;
	if (r != 0) {
		fail(u, op, r, "seal");
		return;
	}
	if (ref.size != u->size || (ref.cid.len == 0) != (u->size == 0))
		fail(u, op, 0, "sealed size %llu",
		     (unsigned long long)ref.size);
	if (file_modified(u->f))
		fail(u, op, 0, "modified after seal");
	if (!read_matches(&u->st, NULL, &ref, u->model, u->size, 0,
			  (size_t)u->size + 1, &r))
		fail(u, op, r, "obj_read of the sealed object");
	r = file_seal(&u->st, u->f, &again, NULL);
	if (r != 0 || !ref_eq(&ref, &again))
		fail(u, op, r, "second seal differs");
	/* Convergence: the same bytes written as one stream, same root. */
	r = harness_write_object(&u->st, u->model, (size_t)u->size, &whole);
	if (r != 0 || !ref_eq(&ref, &whole))
		fail(u, op, r, "stream of the same bytes: other root");

	struct file_state *g = state_over(&u->st, &ref);
	if (!read_matches(&u->st, g, &ref, u->model, u->size, 0,
			  (size_t)u->size + 1, &r))
		fail(u, op, r, "new state over the sealed ref");
	for (int i = 0; i < 8; i++) {
		uint64_t off = harness_rnd(&u->g) % (u->size + 1);
		size_t len = harness_rnd(&u->g) % (3 * CS);
		if (!read_matches(&u->st, g, &ref, u->model, u->size, off, len,
				  &r))
			fail(u, op, r, "new state read %llu+%zu",
			     (unsigned long long)off, len);
	}
	if (harness_rnd(&u->g) % 2) {
		file_state_free(u->f);
		u->f = g;
	} else {
		file_state_free(g);
	}
}

static void random_run(unsigned seed, bool with_cache)
{
	char name[64];
	snprintf(name, sizeof(name), "random-%u", seed);
	struct run u = {.seed = seed,
			.g = {.s = 0x9e3779b97f4a7c15ull * seed},
			.diffs = {.max = DIAG_MAX, .label = "model"}};
	struct blockstore *bs = harness_local_store(name);
	struct chunk_cache *cc = with_cache ? chunk_cache_new(32 * CS) : NULL;
	u.st = store_of(bs);
	u.st.cache = cc;
	u.model = harness_alloc(MODEL_MAX);
	u.f = state_over(&u.st, &empty_ref);
	for (unsigned long op = 0; op < OPS_PER_SEED; op++) {
		unsigned k = (unsigned)(harness_rnd(&u.g) % 100);
		if (k < 40)
			op_write(&u, op);
		else if (k < 52)
			op_truncate(&u, op);
		else if (k < 97)
			op_read(&u, op);
		else
			op_seal(&u, op);
		if (op % SEAL_EVERY == SEAL_EVERY - 1)
			op_seal(&u, op);
	}
	/* The whole file once more, then a last seal. */
	int r;
	if (!read_matches(&u.st, u.f, NULL, u.model, u.size, 0,
			  (size_t)u.size + 1, &r))
		fail(&u, OPS_PER_SEED, r, "final read");
	op_seal(&u, OPS_PER_SEED);
	is_int(u.diffs.n, 0,
	       "seed %u%s: %d ops (%lu seals, %lu holes, %lu table overflows) "
	       "match the model",
	       seed, with_cache ? " (chunk cache)" : "", OPS_PER_SEED, u.seals,
	       u.holes, u.overflows);
	ok(u.holes > 0 && u.overflows > 0 && u.seals > SEAL_EVERY / 100,
	   "seed %u: the sequence made holes and overflowed the table", seed);
	file_state_free(u.f);
	free(u.model);
	chunk_cache_free(cc);
	bs_close(bs);
}

/* ---- regressions ---- */

static void test_shrink_then_grow(struct obj_store st)
{
	uint8_t *want = harness_alloc(3 * CS);
	uint8_t *data = harness_alloc(3 * CS);
	memset(data, 0xAA, 3 * CS);
	/* Sealed base, dirty state, and a cut at a boundary. */
	const uint64_t cuts[] = {CS + 100, 50, CS, 2 * CS - 1};
	for (int sealed = 0; sealed < 2; sealed++) {
		for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			struct file_state *f;
			struct obj_ref ref = empty_ref;
			if (sealed)
				is_int(harness_write_object(&st, data, 3 * CS,
							    &ref),
				       0, "base of 3 chunks");
			f = state_over(&st, &ref);
			if (!sealed)
				is_int(file_write(&st, f, 0, data, 3 * CS), 0,
				       "write 3 chunks");
			is_int(file_truncate(&st, f, cuts[i]), 0,
			       "shrink to %llu", (unsigned long long)cuts[i]);
			is_int(file_truncate(&st, f, 3 * CS), 0, "grow back");
			memset(want, 0, 3 * CS);
			memset(want, 0xAA, cuts[i]);
			ok(read_matches(&st, f, NULL, want, 3 * CS, 0, 3 * CS,
					NULL),
			   "%s, cut at %llu: the regrown part reads zeros",
			   sealed ? "sealed base" : "dirty",
			   (unsigned long long)cuts[i]);
			struct obj_ref out;
			is_int(file_seal(&st, f, &out, NULL), 0, "seal");
			ok(read_matches(&st, NULL, &out, want, 3 * CS, 0,
					3 * CS, NULL),
			   "…and so does the sealed object");
			/* Shrink then write past the end: the same gap. */
			is_int(file_truncate(&st, f, 10), 0, "shrink to 10");
			is_int(file_write(&st, f, 2 * CS, data, 5), 0,
			       "write past the end");
			memset(want, 0, 3 * CS);
			memset(want, 0xAA, 10);
			memset(want + 2 * CS, 0xAA, 5);
			ok(read_matches(&st, f, NULL, want, 2 * CS + 5, 0,
					3 * CS, NULL),
			   "shrink then write past EOF: zeros between");
			file_state_free(f);
		}
	}
	free(want);
	free(data);
}

static void test_hole(struct obj_store st)
{
	struct file_state *f;
	uint8_t data[100], *want = harness_alloc(20 * CS);
	memset(data, 0x5C, sizeof(data));
	f = state_over(&st, &empty_ref);
	is_int(file_write(&st, f, 0, data, 10), 0, "write 10 bytes");
	is_int(file_write(&st, f, 17 * CS + 3, data, sizeof(data)), 0,
	       "write far past the end");
	is_int(file_size(f), 17 * CS + 3 + sizeof(data), "size");
	memset(want, 0x5C, 10);
	memset(want + 17 * CS + 3, 0x5C, sizeof(data));
	ok(read_matches(&st, f, NULL, want, 17 * CS + 103, 0, 20 * CS, NULL),
	   "the hole reads zeros");
	struct obj_ref ref;
	is_int(file_seal(&st, f, &ref, NULL), 0, "seal");
	ok(read_matches(&st, NULL, &ref, want, 17 * CS + 103, 0, 20 * CS, NULL),
	   "the sealed hole reads zeros");
	file_state_free(f);
	free(want);
}

/* Every full chunk is sealed the moment it fills: the store grows by one
 * block per chunk during a stream, and only the partial tail stays in
 * memory. */
static void test_stream(void)
{
	const size_t pieces[] = {CS, 1000};
	uint8_t *data = harness_alloc(STREAM_CHUNKS * CS);
	tap_fill_random(data, STREAM_CHUNKS * CS, 42);
	for (size_t p = 0; p < 2; p++) {
		char name[32];
		snprintf(name, sizeof(name), "stream-%zu", pieces[p]);
		struct blockstore *bs = harness_local_store(name);
		struct obj_store st = store_of(bs);
		struct file_state *f = state_over(&st, &empty_ref);
		int bad = 0;
		for (size_t off = 0; off < STREAM_CHUNKS * CS;
		     off += pieces[p]) {
			size_t n = pieces[p];
			if (n > STREAM_CHUNKS * CS - off)
				n = STREAM_CHUNKS * CS - off;
			int r = file_write(&st, f, off, data + off, n);
			uint64_t blocks = harness_block_count(bs);
			if (r != 0 || blocks != (off + n) / CS) {
				if (!bad++)
					tap_diag("after %zu bytes: r %d, %llu "
						 "blocks",
						 off + n, r,
						 (unsigned long long)blocks);
			}
		}
		is_int(bad, 0,
		       "append stream in pieces of %zu: each chunk sealed as "
		       "it fills, nothing else",
		       pieces[p]);
		ok(file_modified(f), "modified before the seal");
		struct obj_ref ref, whole;
		is_int(file_seal(&st, f, &ref, NULL), 0, "seal the stream");
		ok(read_matches(&st, NULL, &ref, data, STREAM_CHUNKS * CS, 0,
				STREAM_CHUNKS * CS, NULL),
		   "stream reads back");
		is_int(harness_write_object(&st, data, STREAM_CHUNKS * CS,
					    &whole),
		       0, "obj_writer of the same bytes");
		ok(ref_eq(&ref, &whole), "same root as obj_writer");
		file_state_free(f);
		bs_close(bs);
	}
	free(data);
}

/* A ninth dirty chunk seals the lowest of the eight. */
static void test_table_overflow(struct obj_store st)
{
	struct file_state *f;
	uint8_t *want = harness_alloc((FILE_DIRTY_MAX + 2) * CS);
	f = state_over(&st, &empty_ref);
	/* Back to front, so the lowest is the last one touched. */
	for (int i = FILE_DIRTY_MAX - 1; i >= 0; i--) {
		uint8_t b = (uint8_t)(0x10 + i);
		want[(size_t)i * CS + 1] = b;
		is_int(file_write(&st, f, (uint64_t)i * CS + 1, &b, 1), 0,
		       "poke chunk %d", i);
	}
	is_int(harness_block_count(st.bs), 0, "%d partial chunks: none sealed",
	       FILE_DIRTY_MAX);
	uint8_t b = 0x77;
	want[FILE_DIRTY_MAX * CS + 1] = b;
	is_int(file_write(&st, f, FILE_DIRTY_MAX * CS + 1, &b, 1), 0,
	       "poke one more chunk");
	is_int(harness_block_count(st.bs), 1,
	       "the table overflowed: one chunk sealed");
	uint64_t size = FILE_DIRTY_MAX * CS + 2;
	ok(read_matches(&st, f, NULL, want, size, 0, (size_t)size, NULL),
	   "everything reads back");
	struct obj_ref ref;
	is_int(file_seal(&st, f, &ref, NULL), 0, "seal");
	ok(read_matches(&st, NULL, &ref, want, size, 0, (size_t)size, NULL),
	   "sealed object reads back");
	file_state_free(f);
	free(want);
}

static void test_unmodified_and_convergence(struct obj_store st)
{
	size_t n = 5 * CS + 123;
	uint8_t *data = harness_alloc(n);
	tap_fill_random(data, n, 7);
	struct obj_ref base, out;
	is_int(harness_write_object(&st, data, n, &base), 0, "base object");
	uint64_t blocks = harness_block_count(st.bs);

	struct file_state *f = state_over(&st, &base);
	ok(!file_modified(f), "a new state is unmodified");
	is_int(file_size(f), n, "its size is the base's");
	is_int(file_truncate(&st, f, n), 0, "truncate to the same size");
	ok(!file_modified(f), "…changes nothing");
	is_int(file_seal(&st, f, &out, NULL), 0, "seal unmodified");
	ok(ref_eq(&out, &base), "the base ref comes back");
	is_int(harness_block_count(st.bs), blocks, "no block was written");
	file_state_free(f);

	struct file_state *e = state_over(&st, &empty_ref);
	is_int(file_seal(&st, e, &out, NULL), 0, "seal an untouched empty file");
	ok(out.cid.len == 0 && out.size == 0, "the empty object");
	/* Rewrite the same bytes in another order: the same root. */
	for (size_t off = n; off > 0;) {
		size_t k = off >= 1500 ? 1500 : off;
		off -= k;
		is_int(file_write(&st, e, off, data + off, k), 0,
		       "write back to front at %zu", off);
	}
	is_int(file_seal(&st, e, &out, NULL), 0, "seal");
	ok(ref_eq(&out, &base), "same content, same root (convergence)");
	is_int(file_write(&st, e, 10, data + 10, 100), 0,
	       "rewrite bytes with themselves");
	ok(file_modified(e), "a write marks it modified");
	is_int(file_seal(&st, e, &out, NULL), 0, "seal");
	ok(ref_eq(&out, &base), "still the same root");
	is_int(file_truncate(&st, e, 0), 0, "truncate to 0");
	is_int(file_seal(&st, e, &out, NULL), 0, "seal");
	ok(out.cid.len == 0 && out.size == 0, "sealed empty");
	file_state_free(e);
	free(data);
}

static void test_read_only(struct obj_store st)
{
	uint8_t data[3000];
	tap_fill_random(data, sizeof(data), 3);
	struct obj_ref ref;
	is_int(harness_write_object(&st, data, sizeof(data), &ref), 0,
	       "object");
	st.convergence = NULL;
	struct file_state *f = state_over(&st, &ref);
	is_int(file_write(&st, f, 0, data, 10), -EROFS, "write: -EROFS");
	is_int(file_write(&st, f, 5000, data, 10), -EROFS,
	       "write past the end: -EROFS");
	is_int(file_truncate(&st, f, 5), -EROFS, "truncate: -EROFS");
	is_int(file_size(f), sizeof(data), "size unchanged");
	ok(!file_modified(f), "not modified");
	ok(read_matches(&st, f, &ref, data, sizeof(data), 0, 4000, NULL),
	   "reads still work");
	struct obj_ref out;
	is_int(file_seal(&st, f, &out, NULL), 0, "seal of the unmodified state");
	ok(ref_eq(&out, &ref), "gives the base");
	file_state_free(f);
}

/* file_state_idle: what the owner frees by (fs/mount/mount.h, "File
 * states"): nothing unsealed and no call holding the state. */
static void test_idle(struct obj_store st)
{
	struct file_state *f = state_over(&st, &empty_ref);
	ok(file_state_idle(f), "a new state is idle");
	ok(file_status_idle(file_state_status(f)) &&
		   !file_state_status(f).modified,
	   "… as its status says");
	file_state_hold(f);
	ok(!file_state_idle(f), "held: not idle");
	file_state_hold(f);
	struct file_status s = file_state_unhold(f);
	ok(!file_state_idle(f), "held twice, let go once: not idle");
	ok(!file_status_idle(s) && !s.modified, "… as the let-go says");
	s = file_state_unhold(f);
	ok(file_state_idle(f), "let go of: idle");
	ok(file_status_idle(s) && !s.modified, "… as the let-go says");
	uint8_t b[100] = {1};
	is_int(file_write(&st, f, 0, b, sizeof(b)), 0, "a write");
	ok(!file_state_idle(f), "unsealed writes: not idle");
	s = file_state_status(f);
	ok(s.modified && !file_status_idle(s),
	   "… and its status says modified");
	struct obj_ref out;
	file_state_hold(f);
	is_int(file_write(&st, f, 0, b, sizeof(b)), 0, "a write while held");
	s = file_state_unhold(f);
	ok(s.modified && !file_status_idle(s),
	   "let go of, unsealed: modified, not idle");
	file_state_hold(f);
	is_int(file_seal(&st, f, &out, NULL), 0, "sealed while held");
	ok(!file_state_idle(f), "sealed but held: not idle");
	s = file_state_unhold(f);
	ok(file_state_idle(f), "sealed and let go of: idle");
	ok(file_status_idle(s) && !s.modified, "… as the let-go says");
	file_state_unhold(f);
	ok(file_state_idle(f), "one let-go too many changes nothing");
	file_state_hold(f);
	ok(!file_state_idle(f), "and the count still counts");
	file_state_unhold(f);
	file_state_free(f);
}

static void test_limits(struct obj_store st)
{
	struct file_state *f;
	uint8_t b = 1;
	f = state_over(&st, &empty_ref);
	is_int(file_write(&st, f, 0, &b, 0), 0, "empty write");
	ok(!file_modified(f), "changes nothing");
	is_int(file_write(&st, f, UINT64_MAX, &b, 1), -EFBIG,
	       "a write ending past 2^64: -EFBIG");
	int r = file_write(&st, f, UINT64_MAX - 1, &b, 1);
	ok(r == -EFBIG || r == -ENOMEM,
	   "a write ending at 2^64 - 1: no table that big (r %d)", r);
	r = file_truncate(&st, f, UINT64_MAX);
	ok(r == -EFBIG || r == -ENOMEM, "truncate to 2^64 - 1: the same (r %d)",
	   r);
	is_int(file_size(f), 0, "the size stays 0");
	is_int(file_write(&st, f, 3, &b, 1), 0, "the state is still usable");
	is_int(file_size(f), 4, "size 4");
	is_int(file_truncate(&st, f, 0), 0, "back to empty");
	ok(file_modified(f), "modified");
	struct obj_ref out;
	is_int(file_seal(&st, f, &out, NULL), 0, "seal");
	ok(out.cid.len == 0 && out.size == 0, "sealed empty");
	is_int(file_write(&st, f, 0, &b, 0), 0, "empty write");
	is_int(file_size(f), 0, "size still 0");
	file_state_free(NULL);
	file_state_free(f);
}

static void corrupt_block(struct blockstore *bs, const struct cid *cid)
{
	char path[4096];
	if (bs_local_path(bs, cid, path, sizeof(path)) != 0)
		harness_bail("bs_local_path");
	FILE *fp = fopen(path, "r+b");
	if (!fp || fseek(fp, 40, SEEK_SET) != 0)
		harness_bail("open block file");
	int c = fgetc(fp);
	if (c == EOF || fseek(fp, 40, SEEK_SET) != 0 ||
	    fputc(c ^ 0x01, fp) == EOF || fclose(fp) != 0)
		harness_bail("flip a byte");
}

static void test_damaged_block(struct obj_store st)
{
	uint8_t *data = harness_alloc(3 * CS), *want = harness_alloc(3 * CS);
	tap_fill_random(data, 3 * CS, 11);
	struct obj_ref ref;
	is_int(harness_write_object(&st, data, 3 * CS, &ref), 0,
	       "object of 3 chunks");
	struct chunk_ref *chunks;
	size_t n;
	is_int(obj_list_chunks(&st, &ref, &chunks, &n), 0, "its chunks");
	is_int(n, 3, "three");
	corrupt_block(st.bs, &chunks[1].cid);
	free(chunks);

	struct file_state *f = state_over(&st, &ref);
	int r = 0;
	ok(read_matches(&st, f, &ref, data, 3 * CS, 0, CS, NULL),
	   "chunk 0 reads");
	ok(!read_matches(&st, f, &ref, data, 3 * CS, CS + 5, 10, &r) &&
		   r == -EBADMSG,
	   "the damaged chunk: -EBADMSG (unloaded state; r %d)", r);
	memcpy(want, data, 3 * CS);
	memset(want + 2 * CS + 10, 0x33, 20);
	is_int(file_write(&st, f, 2 * CS + 10, want + 2 * CS + 10, 20), 0,
	       "write into chunk 2");
	r = 0;
	ok(!read_matches(&st, f, NULL, want, 3 * CS, CS - 5, 10, &r) &&
		   r == -EBADMSG,
	   "a read over the damaged chunk: -EBADMSG (loaded state; r %d)", r);
	is_int(file_write(&st, f, CS + 7, data, 3), -EBADMSG,
	       "a partial write into the damaged chunk: -EBADMSG");
	is_int(file_truncate(&st, f, CS + 100), -EBADMSG,
	       "a cut inside the damaged chunk: -EBADMSG");
	is_int(file_size(f), 3 * CS, "…and the size is unchanged");
	ok(read_matches(&st, f, NULL, want, 3 * CS, 2 * CS, CS, NULL),
	   "…and the unsealed write past the cut is not lost");
	is_int(file_write(&st, f, CS, data + CS, CS), 0,
	       "a whole-chunk overwrite needs no old bytes");
	ok(read_matches(&st, f, NULL, want, 3 * CS, 0, 3 * CS, NULL),
	   "and repairs the file");
	struct obj_ref out;
	is_int(file_seal(&st, f, &out, NULL), 0, "seal");
	ok(read_matches(&st, NULL, &out, want, 3 * CS, 0, 3 * CS, NULL),
	   "the sealed object reads whole");
	file_state_free(f);

	/* A write past EOF that fails on a damaged chunk below, before it
	 * copies a byte: it leaves the size as it was (file_write_part), and
	 * a seal records exactly that, no extension of zeros. */
	struct obj_ref part;
	is_int(harness_write_object(&st, data, CS + 2000, &part), 0,
	       "object of 1.5 chunks");
	is_int(obj_list_chunks(&st, &part, &chunks, &n), 0, "its chunks");
	corrupt_block(st.bs, &chunks[0].cid);
	free(chunks);
	f = state_over(&st, &part);
	is_int(file_write(&st, f, 100, data, 2 * CS), -EBADMSG,
	       "a growing write starting in the damaged chunk: -EBADMSG");
	is_int(file_seal(&st, f, &out, NULL), 0, "seal");
	is_int(out.size, file_size(f), "the sealed size is file_size");
	is_int(out.size, CS + 2000, "the size the write failed to grow");
	uint8_t tail[16];
	size_t got = 0;
	is_int(obj_read(&st, &out, out.size - 10, tail, sizeof(tail), &got), 0,
	       "read the sealed tail");
	ok(got == 10 && memcmp(tail, data + CS + 1990, 10) == 0,
	   "the sealed object is that long, its tail the old bytes");
	file_state_free(f);
	free(data);
	free(want);
}

/* An object cut with another chunk size (written before the store's chunk
 * size changed) is read as it is and rewritten by the new size. */
static void test_other_chunk_size(void)
{
	struct blockstore *bs = harness_local_store("rechunk");
	const uint32_t sizes[] = {1024, 3 * CS, CS / 2 + 7};
	size_t n = 5 * CS + 300;
	uint8_t *data = harness_alloc(n), *want = harness_alloc(n + 100);
	tap_fill_random(data, n, 5);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct obj_store old = store_of(bs);
		old.chunk_size = sizes[i];
		struct obj_store st = store_of(bs);
		struct obj_ref ref, out, whole;
		is_int(harness_write_object(&old, data, n, &ref), 0,
		       "object cut by %u", sizes[i]);
		struct file_state *f = state_over(&st, &ref);
		ok(read_matches(&st, f, &ref, data, n, 0, n, NULL),
		   "reads before any write");
		memcpy(want, data, n);
		memset(want + CS - 10, 0x44, 30);
		is_int(file_write(&st, f, CS - 10, want + CS - 10, 30), 0,
		       "write across a boundary");
		ok(read_matches(&st, f, NULL, want, n, 0, n, NULL),
		   "reads what was written, and the rest unchanged");
		is_int(file_seal(&st, f, &out, NULL), 0, "seal");
		is_int(harness_write_object(&st, want, n, &whole), 0,
		       "the same bytes by the store's chunk size");
		ok(ref_eq(&out, &whole), "sealed by the store's chunk size");
		file_state_free(f);
	}
	free(data);
	free(want);
	bs_close(bs);
}

/* ---- convergence scopes ---- */

#define SCOPE_BLOCKS_MAX 64

struct cid_list {
	struct cid c[SCOPE_BLOCKS_MAX];
	size_t n;
};

static int collect_cid(const struct cid *cid, enum block_kind kind,
		       void *arg)
{
	struct cid_list *l = arg;
	(void)kind;
	if (l->n == SCOPE_BLOCKS_MAX)
		return -ENOBUFS;
	l->c[l->n++] = *cid;
	return 0;
}

/* How many blocks of a are also blocks of b. */
static size_t shared_blocks(struct obj_store *st, const struct obj_ref *a,
			    const struct obj_ref *b)
{
	struct cid_list la = {.n = 0}, lb = {.n = 0};
	if (obj_walk(st, a, collect_cid, &la) != 0 ||
	    obj_walk(st, b, collect_cid, &lb) != 0)
		harness_bail("obj_walk");
	size_t shared = 0;
	for (size_t i = 0; i < la.n; i++)
		for (size_t j = 0; j < lb.n; j++)
			if (cid_equal(&la.c[i], &lb.c[j])) {
				shared++;
				break;
			}
	return shared;
}

/* data[0..n) written at off into a new state of file id over base,
 * sealed. */
static int write_at(struct obj_store *st, uint64_t id,
		    const struct obj_ref *base, uint64_t off,
		    const uint8_t *data, size_t n, struct obj_ref *out)
{
	struct file_state *f;
	if (file_state_new(st, id, base, &f) != 0)
		harness_bail("file_state_new");
	int r = file_write(st, f, off, data, n);
	if (r == 0)
		r = file_seal(st, f, out, NULL);
	file_state_free(f);
	return r;
}

static int write_file(struct obj_store *st, uint64_t id,
		      const struct obj_ref *base, const uint8_t *data,
		      size_t n, struct obj_ref *out)
{
	return write_at(st, id, base, 0, data, n, out);
}

/* Chunks at the same place in a and b that are the same block. */
static size_t same_chunks(struct obj_store *st, const struct obj_ref *a,
			  const struct obj_ref *b)
{
	struct chunk_ref *ca, *cb;
	size_t na, nb, same = 0;
	if (obj_list_chunks(st, a, &ca, &na) != 0 ||
	    obj_list_chunks(st, b, &cb, &nb) != 0)
		harness_bail("obj_list_chunks");
	for (size_t i = 0; i < na && i < nb; i++)
		same += cid_equal(&ca[i].cid, &cb[i].cid);
	free(ca);
	free(cb);
	return same;
}

static void test_scope(void)
{
	struct blockstore *bs = harness_local_store("scope");
	struct obj_store st = store_of(bs), reader = store_of(bs);
	st.scope = OBJ_SCOPE_MESSAGE;
	reader.convergence = NULL; /* a reader needs only the refs */
	size_t n = 5 * CS + 123;
	uint8_t *data = harness_alloc(n);
	tap_fill_random(data, n, 11);

	struct obj_ref a, b, again, c, w1, w2;
	is_int(write_file(&st, 10, &empty_ref, data, n, &a), 0,
	       "message scope: file 10");
	uint64_t blocks = harness_block_count(bs);
	is_int(write_file(&st, 11, &empty_ref, data, n, &b), 0,
	       "file 11, the same bytes");
	is_int(shared_blocks(&reader, &a, &b), 0,
	       "two files share no block (not even the index)");
	is_int(harness_block_count(bs), 2 * blocks, "…so the store holds both");
	ok(read_matches(&reader, NULL, &a, data, n, 0, n, NULL) &&
	   read_matches(&reader, NULL, &b, data, n, 0, n, NULL),
	   "both read back without the convergence secret");

	is_int(write_file(&st, 10, &empty_ref, data, n, &again), 0,
	       "file 10 written again from nothing");
	ok(ref_eq(&again, &a), "its own scope: the same root");
	is_int(harness_block_count(bs), 2 * blocks, "and no new block");
	is_int(write_at(&st, 10, &a, 10, data + 10, 100, &again), 0,
	       "file 10 rewritten in place with its own bytes");
	ok(ref_eq(&again, &a), "still the same root");

	uint8_t *changed = harness_alloc(n);
	memcpy(changed, data, n);
	changed[CS + 5] ^= 1;
	is_int(write_file(&st, 10, &a, changed, n, &c), 0,
	       "file 10 with one byte of chunk 1 changed");
	is_int(same_chunks(&reader, &c, &a), 5,
	       "keeps the five chunks that did not change");

	memset(changed, 0x5a, 3 * CS);
	struct obj_ref same;
	is_int(write_file(&st, 12, &empty_ref, changed, 3 * CS, &same), 0,
	       "a file of three equal chunks");
	struct chunk_ref *chunks;
	size_t nc;
	is_int(obj_list_chunks(&reader, &same, &chunks, &nc), 0, "its chunks");
	ok(nc == 3 && cid_equal(&chunks[0].cid, &chunks[1].cid) &&
	   cid_equal(&chunks[1].cid, &chunks[2].cid),
	   "equal chunks of one file are one block");
	free(chunks);

	/* obj_writer (import, object put): each object its own scope. */
	is_int(harness_write_object(&st, data, n, &w1), 0, "writer: object");
	is_int(harness_write_object(&st, data, n, &w2), 0,
	       "writer: the same bytes");
	is_int(shared_blocks(&reader, &w1, &w2), 0, "share no block");
	is_int(shared_blocks(&reader, &w1, &a), 0,
	       "nor with a file of the mount");
	ok(read_matches(&reader, NULL, &w2, data, n, 0, n, NULL),
	   "reads back");

	struct file_state *f;
	if (file_state_new(&st, 13, &a, &f) != 0)
		harness_bail("file_state_new");
	is_int(file_write(&reader, f, 0, data, 10), -EROFS,
	       "a scoped state written through a read-only store: -EROFS");
	file_state_free(f);

	st.scope = OBJ_SCOPE_MAILBOX;
	is_int(write_file(&st, 10, &empty_ref, data, n, &a), 0,
	       "mailbox scope: file 10");
	is_int(write_file(&st, 11, &empty_ref, data, n, &b), 0, "file 11");
	ok(ref_eq(&a, &b), "the same root: mailbox-wide convergence");
	is_int(harness_write_object(&st, data, n, &w1), 0, "writer");
	ok(ref_eq(&w1, &a), "converges with them too");

	wipe_free(changed, n);
	free(data);
	bs_close(bs);
}

/* The tests that want a store of their own. */
static const struct harness_store_test with_store[] = {
	{"shrink", test_shrink_then_grow},
	{"hole", test_hole},
	{"overflow", test_table_overflow},
	{"converge", test_unmodified_and_convergence},
	{"ro", test_read_only},
	{"idle", test_idle},
	{"limits", test_limits},
	{"damaged", test_damaged_block},
};

int main(void)
{
	harness_seal_init();
	harness_pattern_key(convergence, sizeof(convergence), 1, 0xC0);

	test_stream();
	test_other_chunk_size();
	test_scope();
	for (unsigned seed = 1; seed <= SEEDS; seed++)
		random_run(seed, seed % 2 == 0);
	harness_run_with_stores(with_store,
				sizeof(with_store) / sizeof(*with_store),
				store_of);
	return tap_done();
}
