/* tests/unit/test_file_fault.c — fs/mount/file.c when a seal fails in the
 * middle of a write: the write reports exactly what it did (all of it, a
 * short count, or nothing), and the state holds exactly that: no zeros
 * past it for a later seal or the journal to make durable. */
#include "fs/mount/file.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ipfs/blockstore.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

#define CS 4096
#define FANOUT 4
#define LINE 80

static uint8_t convergence[IPMD_KEY_BYTES];

/* A layer over a local store that fails every put while refuse is set
 * (a full disk, or a Kubo node gone).  Never closed: the test closes the
 * store under it. */
struct refusing {
	struct blockstore base;
	bool refuse;
	unsigned refused;
};

static int refusing_put(struct blockstore *bs, const uint8_t *data,
			size_t len, unsigned flags, struct cid *cid_out)
{
	struct refusing *r = (struct refusing *)bs;
	if (r->refuse) {
		r->refused++;
		return -ENOSPC;
	}
	return bs_put(bs_parent(bs), data, len, flags, cid_out);
}

static const struct blockstore_ops refusing_ops = {
	.version = BLOCKSTORE_OPS_VERSION,
	.name = "refusing",
	.put = refusing_put,
};

/* What f reads as from 0: exactly want[0 .. size)? */
static bool holds(struct obj_store *st, struct file_state *f,
		  const struct obj_ref *content, const uint8_t *want,
		  uint64_t size)
{
	if (f && file_size(f) != size)
		return false;
	uint8_t *buf = harness_alloc((size_t)size + CS);
	size_t got = 0;
	int r = file_read(st, f, content, 0, buf, (size_t)size + CS, &got);
	bool good = r == 0 && got == size && memcmp(buf, want, size) == 0;
	free(buf);
	return good;
}

/* The reviewer's case: an appender's line crosses a chunk boundary and
 * the seal of the chunk it fills fails.  The bytes are written (they are
 * in the buffer); the seal is retried by the next file_seal. */
static void test_chunk_end_seal_fails(struct obj_store st,
				      struct refusing *layer)
{
	uint8_t *want = harness_alloc(2 * CS);
	tap_fill_random(want, 2 * CS, 7);
	struct file_state *f;
	if (file_state_new(&st, 1, &(struct obj_ref){0}, &f) != 0)
		harness_bail("file_state_new");
	uint64_t off = CS - 16;
	is_int(file_write(&st, f, 0, want, off), 0, "write the head");
	layer->refuse = true;
	size_t written = 0;
	is_int(file_write_part(&st, f, off, want + off, LINE, &written), 0,
	       "a line over the chunk end whose chunk seal fails: written");
	ok(layer->refused > 0, "the chunk's put was refused");
	is_int((long long)written, LINE, "all of it reported");
	ok(holds(&st, f, NULL, want, off + LINE),
	   "the file holds the whole line, no zeros");
	struct obj_ref ref;
	ok(file_seal(&st, f, &ref, NULL) != 0, "a seal while puts fail fails");
	ok(file_modified(f), "and leaves the state modified");
	layer->refuse = false;
	is_int(file_seal(&st, f, &ref, NULL), 0, "the next seal goes through");
	ok(holds(&st, NULL, &ref, want, off + LINE),
	   "the sealed object is the head and the whole line");
	file_state_free(f);
	free(want);
}

/* FILE_DIRTY_MAX partial chunks buffered while puts fail; then writes
 * that need a new buffer, whose table-full seal fails. */
static void test_table_full_seal_fails(struct obj_store st,
				       struct refusing *layer)
{
	const uint64_t top = FILE_DIRTY_MAX * CS; /* chunks 0 .. MAX-1 */
	uint8_t *want = harness_alloc((size_t)top + 2 * CS);
	tap_fill_random(want, (size_t)top + 2 * CS, 8);
	struct file_state *f;
	if (file_state_new(&st, 1, &(struct obj_ref){0}, &f) != 0)
		harness_bail("file_state_new");
	layer->refuse = true;
	/* Every chunk but the last whole: each fills to its end and its
	 * seal fails, so each stays a buffer; the last is partial. */
	uint64_t size = top - 100;
	is_int(file_write(&st, f, 0, want, size), 0,
	       "%d chunks written while every seal fails", FILE_DIRTY_MAX);
	ok(holds(&st, f, NULL, want, size), "they read back");

	/* Past the end, in a new chunk: the table is full, its seal fails
	 * before a byte is copied.  Nothing changes. */
	size_t written = 99;
	ok(file_write_part(&st, f, top + 10, want + top + 10, 50, &written) !=
		   0,
	   "a write that needs a new buffer fails");
	is_int((long long)written, 0, "nothing written");
	is_int((long long)file_size(f), (long long)size,
	       "the size is what it was: no hole of zeros");
	ok(holds(&st, f, NULL, want, size), "the content is what it was");

	/* From the last buffered chunk into a new one: the part in the old
	 * chunk is written, the rest is not.  A short write. */
	ok(file_write_part(&st, f, size, want + size, 300, &written) != 0,
	   "a write crossing into a new chunk fails there");
	is_int((long long)written, 100, "the bytes up to the chunk end are");
	is_int((long long)file_size(f), (long long)top,
	       "the size ends where they do");
	ok(holds(&st, f, NULL, want, top), "and they read back");

	layer->refuse = false;
	struct obj_ref ref;
	is_int(file_seal(&st, f, &ref, NULL), 0, "seal once puts work");
	ok(holds(&st, NULL, &ref, want, top),
	   "the sealed object is what the writes reported, nothing more");
	file_state_free(f);
	free(want);
}

int main(void)
{
	harness_seal_init();
	harness_pattern_key(convergence, sizeof(convergence), 3, 0xF1);
	void (*const tests[])(struct obj_store, struct refusing *) = {
		test_chunk_end_seal_fails,
		test_table_full_seal_fails,
	};
	const char *const dirs[] = {"chunk-end", "table-full"};
	for (size_t i = 0; i < sizeof(tests) / sizeof(*tests); i++) {
		struct blockstore *bs = harness_local_store(dirs[i]);
		struct refusing layer;
		memset(&layer, 0, sizeof(layer));
		bs_wrap(&layer.base, &refusing_ops, bs);
		tests[i](harness_obj_store(&layer.base, convergence, CS,
					   FANOUT, OBJ_SCOPE_MAILBOX),
			 &layer);
		bs_close(bs);
	}
	return tap_done();
}
