/* tests/unit/test_file_small.c — fs/mount/file.c's dirty buffers hold what
 * was written, not a whole chunk: writes past the end, sparse writes,
 * truncates inside a small buffer, a file growing from a few bytes to
 * several chunks, and appends taken as a tail.  Each step is checked
 * against a plain byte array given the same changes: file_read of the
 * whole file, and the seal, which must read the same and be the object
 * obj_writer makes of those bytes. */
#include "fs/mount/file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipfs/bs_local.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

#define CS 4096
#define FANOUT 4
#define MAXLEN (6 * CS)

static uint8_t convergence[IPMD_KEY_BYTES];

static struct obj_store store_of(struct blockstore *bs)
{
	/* Mailbox-wide: a seal converges to obj_writer's object. */
	return harness_obj_store(bs, convergence, CS, FANOUT,
				 OBJ_SCOPE_MAILBOX);
}

static const struct obj_ref empty_ref;

/* A file state and the bytes it must hold. */
struct model {
	struct obj_store *st;
	struct file_state *f;
	uint8_t want[MAXLEN]; /* zero past size */
	uint64_t size;
};

static void model_new(struct model *m, struct obj_store *st,
		      const struct obj_ref *base, const uint8_t *bytes)
{
	memset(m, 0, sizeof(*m));
	m->st = st;
	if (file_state_new(st, 1, base, &m->f) != 0)
		harness_bail("file_state_new");
	m->size = base->size;
	if (base->size)
		memcpy(m->want, bytes, base->size);
}

static void model_write(struct model *m, uint64_t off, uint8_t byte,
			size_t len)
{
	uint8_t data[MAXLEN];
	memset(data, byte, len);
	is_int(file_write(m->st, m->f, off, data, len), 0,
	       "write %zu bytes of %#x at %llu", len, byte,
	       (unsigned long long)off);
	memcpy(m->want + off, data, len);
	if (off + len > m->size)
		m->size = off + len;
}

static void model_truncate(struct model *m, uint64_t size)
{
	is_int(file_truncate(m->st, m->f, size), 0, "truncate to %llu",
	       (unsigned long long)size);
	if (size < m->size)
		memset(m->want + size, 0, m->size - size);
	m->size = size;
}

/* The whole file, one read past its end, as the model has it. */
static bool reads_model(struct model *m, const struct obj_ref *sealed)
{
	static uint8_t buf[MAXLEN + CS];
	memset(buf, 0xEE, sizeof(buf));
	size_t got = 0;
	int r = file_read(m->st, sealed ? NULL : m->f, sealed, 0, buf,
			  sizeof(buf), &got);
	return r == 0 && got == m->size && memcmp(buf, m->want, got) == 0;
}

/* Reads, then the seal: the same bytes, obj_writer's object of them. */
static void check(struct model *m, const char *what)
{
	ok(file_size(m->f) == m->size && reads_model(m, NULL),
	   "%s: the state reads the model's %llu bytes", what,
	   (unsigned long long)m->size);
	struct obj_ref sealed, writer;
	is_int(file_seal(m->st, m->f, &sealed, NULL), 0, "%s: seal", what);
	ok(reads_model(m, &sealed), "%s: the sealed object reads the same",
	   what);
	is_int(harness_write_object(m->st, m->want, (size_t)m->size, &writer),
	       0, "%s: writer", what);
	ok(cid_equal(&sealed.cid, &writer.cid) && sealed.size == writer.size,
	   "%s: the seal is obj_writer's object of those bytes", what);
	ok(reads_model(m, NULL), "%s: the state after its seal reads the same",
	   what);
}

static void test_past_end(struct obj_store st)
{
	struct model *m = harness_alloc(sizeof(*m));
	model_new(m, &st, &empty_ref, NULL);
	model_write(m, 0, 0x11, 5);
	model_write(m, 100, 0x22, 7);   /* a gap inside the buffer's growth */
	model_write(m, 3000, 0x33, 10); /* far past what the buffer holds */
	model_write(m, 4090, 0x44, 6);  /* up to the chunk's end: sealed */
	model_write(m, 2 * CS + 17, 0x55, 3); /* a chunk of zeros between */
	check(m, "writes past the end");
	/* After the seal, a new small buffer over the stored tail chunk. */
	model_write(m, 2 * CS + 40, 0x66, 2);
	check(m, "past the end of a stored tail chunk");
	file_state_free(m->f);
	free(m);
}

static void test_sparse(struct obj_store st)
{
	struct model *m = harness_alloc(sizeof(*m));
	model_new(m, &st, &empty_ref, NULL);
	model_write(m, 2000, 0x77, 9); /* first write: zeros below */
	model_write(m, 10, 0x88, 4);   /* then one inside them */
	model_write(m, 3 * CS + 5, 0x99, 1);
	model_write(m, CS + 1, 0xAA, 2);
	model_write(m, 1995, 0xBB, 30); /* over the first, and past it */
	check(m, "sparse writes");
	file_state_free(m->f);
	free(m);
}

static void test_truncate_small(struct obj_store st)
{
	struct model *m = harness_alloc(sizeof(*m));
	model_new(m, &st, &empty_ref, NULL);
	model_write(m, 0, 0xAA, 300);
	model_truncate(m, 50);
	model_truncate(m, 400); /* up: [50, 400) zero, not the old bytes */
	ok(reads_model(m, NULL), "down then up: the regrown bytes are zero");
	model_write(m, 350, 0xBB, 3);
	model_truncate(m, 1000); /* up past what the buffer holds */
	model_truncate(m, 349);  /* down below the last write */
	model_truncate(m, 3000);
	check(m, "truncates inside a small buffer");
	/* The same over a sealed small base. */
	model_truncate(m, 20);
	model_truncate(m, CS - 1);
	model_write(m, CS - 10, 0xCC, 2);
	check(m, "truncates over a sealed base");
	file_state_free(m->f);
	free(m);
}

static void test_grow(struct obj_store st)
{
	struct model *m = harness_alloc(sizeof(*m));
	model_new(m, &st, &empty_ref, NULL);
	/* A few bytes at a time, as a log file grows, across chunk ends. */
	unsigned bad = 0, i = 0;
	for (; m->size + 7 <= 3 * CS + 123; i++) {
		uint8_t data[7];
		memset(data, 0x10 + i % 200, sizeof(data));
		bad += file_write(m->st, m->f, m->size, data, 7) != 0;
		memcpy(m->want + m->size, data, 7);
		m->size += 7;
		bad += !reads_model(m, NULL);
	}
	is_int(bad, 0, "%u appends of 7 bytes, each read back whole", i);
	model_write(m, m->size, 0xEE, CS + 500); /* then a big one */
	model_write(m, 5, 0xDD, 3);		  /* and a rewrite below */
	check(m, "a file grown from a few bytes to several chunks");
	file_state_free(m->f);
	free(m);
}

/* A state over a sealed base whose last chunk is short: loaded bytes,
 * then an append taken as a tail must be exactly what was written. */
static void test_tail(struct obj_store st)
{
	struct model *m = harness_alloc(sizeof(*m));
	uint8_t base_bytes[CS + 100];
	memset(base_bytes, 0x42, sizeof(base_bytes));
	struct obj_ref base;
	is_int(harness_write_object(&st, base_bytes, sizeof(base_bytes), &base),
	       0, "base of a chunk and 100 bytes");
	model_new(m, &st, &base, base_bytes);
	model_write(m, m->size, 0x24, 10);
	model_write(m, m->size + 3, 0x25, 4); /* a gap of 3 zeros */
	struct file_tail t;
	is_int(file_tail_take(&st, m->f, 1000, false, &t), 1, "a tail to take");
	ok(t.off == CS + 100 && t.len == 17 &&
		   memcmp(t.data, m->want + t.off, t.len) == 0,
	   "the tail is the bytes appended, zeros in the gap");
	file_tail_free(&t);
	model_write(m, 50, 0x43, 1); /* a write inside the loaded bytes */
	check(m, "a short stored chunk, loaded and appended to");
	file_state_free(m->f);
	free(m);
}

static const struct harness_store_test with_store[] = {
	{"past end", test_past_end},
	{"sparse", test_sparse},
	{"truncate", test_truncate_small},
	{"grow", test_grow},
	{"tail", test_tail},
};

int main(void)
{
	harness_seal_init();
	harness_pattern_key(convergence, sizeof(convergence), 3, 0x5A);
	harness_run_with_stores(with_store,
				sizeof(with_store) / sizeof(*with_store),
				store_of);
	return tap_done();
}
