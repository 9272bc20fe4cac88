/* tests/unit/test_object.c — file objects: chunking, index trees, reads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/chunk_cache.h"
#include "crypto/seal.h"
#include "fs/model/object.h"
#include "ipfs/bs_fault.h"
#include "ipfs/bs_local.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

#define SMALL_CHUNK 4096
#define SMALL_FANOUT 4
#define RANDOM_READS 500

static uint8_t convergence[IPMD_KEY_BYTES];

static struct harness_rng rng = {0x243f6a8885a308d3ull};

static struct obj_store small_store(struct blockstore *bs)
{
	/* Mailbox-wide, so writer and builder roots compare; test_file.c's
	 * test_scope checks the per-message scope. */
	return harness_obj_store(bs, convergence, SMALL_CHUNK, SMALL_FANOUT,
				 OBJ_SCOPE_MAILBOX);
}

/* A local store in name under a fault wrapper of cfg; what names the
 * check that the wrapping worked. */
static struct blockstore *faulty_store(const char *name,
				       const struct fault_config *cfg,
				       const char *what)
{
	struct blockstore *fb = NULL;
	is_int(bs_fault_wrap(harness_local_store(name), cfg, &fb), 0, "%s",
	       what);
	return fb;
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

/* Depth and index-block count of the canonical tree over n chunks. */
static void expected_tree(uint64_t n, unsigned fanout, unsigned *depth,
			  uint64_t *indexes)
{
	*depth = 0;
	*indexes = 0;
	while (n > 1) {
		n = div_up(n, fanout);
		*indexes += n;
		(*depth)++;
	}
}

/* Write data in irregular pieces (seeded), so chunk edges fall anywhere. */
static int write_object(struct obj_store *st, const uint8_t *data,
			size_t size, uint64_t seed, struct obj_ref *ref)
{
	struct obj_writer *w;
	int r = obj_writer_new(st, &w);
	if (r != 0)
		return r;
	uint64_t x = seed | 1;
	for (size_t off = 0; off < size;) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t n = 1 + x % (3 * (size_t)st->chunk_size);
		if (n > size - off)
			n = size - off;
		r = obj_writer_write(w, data + off, n);
		if (r != 0) {
			obj_writer_abort(w);
			return r;
		}
		off += n;
	}
	return obj_writer_finish(w, ref);
}

struct walk_count {
	uint64_t chunks, indexes, other, missing;
	struct blockstore *bs;
};

static int count_block(const struct cid *cid, enum block_kind kind, void *arg)
{
	struct walk_count *wc = arg;
	if (kind == BLOCK_CHUNK)
		wc->chunks++;
	else if (kind == BLOCK_INDEX)
		wc->indexes++;
	else
		wc->other++;
	if (bs_has(wc->bs, cid) != 1)
		wc->missing++;
	return 0;
}

static int random_reads(struct obj_store *st, const struct obj_ref *ref,
			const uint8_t *data, size_t size, uint8_t *buf)
{
	size_t cs = st->chunk_size;
	int bad = 0;
	for (int i = 0; i < RANDOM_READS; i++) {
		uint64_t off;
		switch (harness_rnd(&rng) % 3) {
		case 0: /* anywhere, including past the end */
			off = harness_rnd(&rng) % (size + cs + 1);
			break;
		case 1: /* just before a chunk boundary */
			off = (harness_rnd(&rng) % (size / cs + 2)) * cs;
			off = off > 7 ? off - harness_rnd(&rng) % 8 : off;
			break;
		default: /* near the end */
			off = size > 20 ? size - harness_rnd(&rng) % 20 : 0;
			break;
		}
		/* Mostly FUSE-sized reads; one in four spans several chunks. */
		size_t len = harness_rnd(&rng) % 4 == 0
				     ? harness_rnd(&rng) % (3 * cs + 2)
				     : harness_rnd(&rng) % (8 * 1024 + 1);
		size_t got = 7777;
		int r = obj_read(st, ref, off, buf, len, &got);
		size_t want = off >= size ? 0 : size - off < len ? size - off
								 : len;
		if (r != 0 || got != want ||
		    (want && memcmp(buf, data + off, want) != 0)) {
			if (!bad)
				tap_diag("read off %llu len %zu: r %d got %zu "
					 "want %zu",
					 (unsigned long long)off, len, r, got,
					 want);
			bad++;
		}
	}
	return bad;
}

/* Everything we can say about one object of this size. */
static void check_object(struct obj_store *st, size_t size, uint64_t seed)
{
	size_t cs = st->chunk_size;
	uint8_t *data = harness_alloc(size);
	uint8_t *buf = harness_alloc(size + 3 * cs + 2);
	tap_fill_random(data, size, seed);
	uint64_t nchunks = div_up(size, cs);
	unsigned depth;
	uint64_t nindex;
	expected_tree(nchunks, st->fanout, &depth, &nindex);
	tap_diag("size %zu: %llu chunks of %zu, fanout %u", size,
		 (unsigned long long)nchunks, cs, st->fanout);

	struct obj_ref ref, ref2, ref3;
	is_int(write_object(st, data, size, seed, &ref), 0, "write %zu", size);
	is_int(ref.size, size, "size %zu recorded", size);
	is_int(ref.depth, depth, "size %zu: depth %u", size, depth);
	ok((ref.cid.len == 0) == (size == 0), "size %zu: empty iff no CID",
	   size);

	size_t got = 0;
	memset(buf, 0, size + 1);
	is_int(obj_read(st, &ref, 0, buf, size + 1, &got), 0,
	       "size %zu: read all", size);
	is_int(got, size, "size %zu: whole length back", size);
	ok(size == 0 || memcmp(buf, data, size) == 0,
	   "size %zu: whole content back", size);

	is_int(random_reads(st, &ref, data, size, buf), 0,
	       "size %zu: %d random range reads", size, RANDOM_READS);
	/* Small objects overflow it (evictions), the big one fits. */
	struct chunk_cache *cc = chunk_cache_new(16 * cs);
	st->cache = cc;
	int bad = random_reads(st, &ref, data, size, buf);
	struct chunk_cache_stats s;
	chunk_cache_stats(cc, &s);
	st->cache = NULL;
	chunk_cache_free(cc);
	is_int(bad, 0, "size %zu: random reads through a cache", size);
	/* A 1-byte object is only ever read whole, and a chunk read whole
	 * leaves the cache (test_read_whole_leaves_cache): nothing to hit. */
	if (size == 1)
		is_int(s.entries, 0, "size 1: read whole, never kept");
	else
		ok(size == 0 || s.hits > 0, "size %zu: the cache was hit (%llu)",
		   size, (unsigned long long)s.hits);

	/* Convergence: other write pattern, same root. */
	is_int(write_object(st, data, size, seed * 7 + 3, &ref2), 0,
	       "size %zu: write again", size);
	ok(ref2.cid.len == ref.cid.len &&
		   cid_equal(&ref2.cid, &ref.cid) &&
		   memcmp(ref2.key, ref.key, sizeof(ref.key)) == 0 &&
		   ref2.depth == ref.depth && ref2.size == ref.size,
	   "size %zu: same content, same root", size);

	struct chunk_ref *chunks = NULL;
	size_t n = 99;
	is_int(obj_list_chunks(st, &ref, &chunks, &n), 0, "size %zu: list",
	       size);
	is_int(n, nchunks, "size %zu: chunk count", size);
	int agree = 0, opened = 0;
	uint8_t *plain = malloc(cs);
	for (size_t i = 0; i < n; i++) {
		struct chunk_ref c;
		size_t want = i + 1 < n ? cs : size - i * cs;
		if (obj_chunk_at(st, &ref, i, &c) == 0 &&
		    cid_equal(&c.cid, &chunks[i].cid) &&
		    memcmp(c.key, chunks[i].key, sizeof(c.key)) == 0 &&
		    c.size == chunks[i].size && c.size == want)
			agree++;
		size_t len = 0;
		if (obj_open_chunk(st, &chunks[i], plain, &len) == 0 &&
		    len == want && memcmp(plain, data + i * cs, len) == 0)
			opened++;
	}
	free(plain);
	is_int(agree, n, "size %zu: obj_chunk_at agrees with the list", size);
	is_int(opened, n, "size %zu: every chunk opens to its bytes", size);
	struct chunk_ref past;
	is_int(obj_chunk_at(st, &ref, nchunks, &past), -ERANGE,
	       "size %zu: chunk past the end", size);

	is_int(obj_build(st, chunks, n, &ref3), 0, "size %zu: build", size);
	ok(ref3.cid.len == ref.cid.len && cid_equal(&ref3.cid, &ref.cid) &&
		   memcmp(ref3.key, ref.key, sizeof(ref.key)) == 0 &&
		   ref3.depth == ref.depth && ref3.size == ref.size,
	   "size %zu: build gives the writer's root", size);
	free(chunks);

	struct walk_count wc = {.bs = st->bs};
	is_int(obj_walk(st, &ref, count_block, &wc), 0, "size %zu: walk",
	       size);
	is_int(wc.chunks, nchunks, "size %zu: walk saw every chunk", size);
	is_int(wc.indexes, nindex, "size %zu: walk saw %llu index blocks",
	       size, (unsigned long long)nindex);
	is_int(wc.other + wc.missing, 0, "size %zu: walk saw only stored "
	       "chunks and indexes", size);
	free(data);
	free(buf);
}

struct size_check {
	struct blockstore *bs;
	uint64_t blocks, too_big;
};

static int check_file_size(const struct cid *cid, void *arg)
{
	struct size_check *sc = arg;
	char path[4096];
	struct stat sb;
	sc->blocks++;
	if (bs_local_path(sc->bs, cid, path, sizeof(path)) != 0 ||
	    stat(path, &sb) != 0 || sb.st_size > BLOCK_MAX_BYTES)
		sc->too_big++;
	return 0;
}

static void test_shapes(struct obj_store st)
{
	const size_t c = SMALL_CHUNK;
	const size_t sizes[] = {
		0, 1, c - 1, c, c + 1, 3 * c + 17,
		5 * c,          /* two levels */
		16 * c,         /* two full levels: the root is promoted */
		16 * c + 1,     /* three levels, a chain of one-entry indexes */
		70 * c + 5,     /* four levels */
	};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		check_object(&st, sizes[i], 100 + i);

	/* Default geometry, a few MiB. */
	struct obj_store big = st;
	big.chunk_size = OBJ_CHUNK_DEFAULT;
	big.fanout = OBJ_FANOUT_DEFAULT;
	check_object(&big, 3 * 1024 * 1024 + 12345, 77);
	/* A fanout of 2 and 4 KiB chunks: depth 7 from 300 KiB. */
	struct obj_store deep = st;
	deep.fanout = 2;
	check_object(&deep, 75 * c - 3, 78);

	struct size_check sc = {.bs = st.bs};
	is_int(bs_iterate(st.bs, check_file_size, &sc), 0, "iterate the store");
	ok(sc.blocks > 100, "store holds %llu blocks",
	   (unsigned long long)sc.blocks);
	is_int(sc.too_big, 0, "no block file over BLOCK_MAX_BYTES");
}

/* Identical chunks are stored once; the tree still reads back. */
static void test_dedup(struct obj_store st)
{
	size_t size = 8 * SMALL_CHUNK;
	uint8_t *zeros = calloc(1, size), *buf = malloc(size);
	struct obj_ref ref;
	is_int(write_object(&st, zeros, size, 5, &ref), 0, "write zeros");
	is_int(ref.depth, 2, "8 chunks, fanout 4: depth 2");
	size_t got;
	memset(buf, 1, size);
	is_int(obj_read(&st, &ref, 0, buf, size, &got), 0, "read zeros");
	ok(got == size && memcmp(buf, zeros, size) == 0, "zeros back");
	struct bs_usage u;
	is_int(bs_usage(st.bs, &u), 0, "usage");
	is_int(u.blocks, 3, "one chunk, one index, one root");
	struct walk_count wc = {.bs = st.bs};
	is_int(obj_walk(&st, &ref, count_block, &wc), 0, "walk");
	is_int(wc.chunks + wc.indexes, 11, "walk visits every position");
	free(zeros);
	free(buf);
}

static int flip_byte(struct blockstore *bs, const struct cid *cid, long at)
{
	char path[4096];
	if (bs_local_path(bs, cid, path, sizeof(path)) != 0)
		return -1;
	FILE *f = fopen(path, "r+b");
	if (!f)
		return -1;
	int ch;
	int r = fseek(f, at, SEEK_SET) == 0 && (ch = fgetc(f)) != EOF &&
			fseek(f, at, SEEK_SET) == 0 && fputc(ch ^ 0x40, f) != EOF
		? 0
		: -1;
	return fclose(f) == 0 ? r : -1;
}

struct first_index {
	struct cid cid;
	int found;
};

static int find_index(const struct cid *cid, enum block_kind kind, void *arg)
{
	struct first_index *fi = arg;
	if (kind == BLOCK_INDEX && fi->found++ == 1) {
		fi->cid = *cid; /* the second one: below the root */
		return 1;
	}
	return 0;
}

static void test_damage(struct obj_store st)
{
	size_t size = 20 * SMALL_CHUNK + 100; /* depth 3 */
	uint8_t *data = malloc(size), *buf = malloc(size);
	tap_fill_random(data, size, 9);
	struct obj_ref ref;
	is_int(write_object(&st, data, size, 1, &ref), 0, "write");
	is_int(ref.depth, 3, "depth 3");
	struct chunk_ref c5;
	is_int(obj_chunk_at(&st, &ref, 5, &c5), 0, "chunk 5");
	size_t got;

	/* A damaged chunk: reads touching it fail, others still work. */
	is_int(flip_byte(st.bs, &c5.cid, 100), 0, "flip a byte in chunk 5");
	is_int(obj_read(&st, &ref, 5 * SMALL_CHUNK + 10, buf, 10, &got),
	       -EBADMSG, "read of a damaged chunk");
	is_int(obj_read(&st, &ref, 0, buf, size, &got), -EBADMSG,
	       "whole read over a damaged chunk");
	is_int(obj_read(&st, &ref, 6 * SMALL_CHUNK, buf, 100, &got), 0,
	       "read beside it works");
	ok(got == 100 && memcmp(buf, data + 6 * SMALL_CHUNK, 100) == 0,
	   "and is right");
	size_t len;
	uint8_t plain[SMALL_CHUNK];
	is_int(obj_open_chunk(&st, &c5, plain, &len), -EBADMSG,
	       "obj_open_chunk of the damaged chunk");
	is_int(flip_byte(st.bs, &c5.cid, 100), 0, "repair it");
	is_int(obj_read(&st, &ref, 5 * SMALL_CHUNK + 10, buf, 10, &got), 0,
	       "repaired chunk reads");

	/* A damaged index below the root. */
	struct first_index fi = {0};
	is_int(obj_walk(&st, &ref, find_index, &fi), 1,
	       "walk stops at a non-zero return");
	is_int(flip_byte(st.bs, &fi.cid, 50), 0, "flip a byte in an index");
	is_int(obj_read(&st, &ref, 0, buf, 10, &got), -EBADMSG,
	       "read through a damaged index");
	struct walk_count wc = {.bs = st.bs};
	is_int(obj_walk(&st, &ref, count_block, &wc), -EBADMSG,
	       "walk over a damaged index");
	is_int(flip_byte(st.bs, &fi.cid, 50), 0, "repair the index");

	/* A damaged root. */
	is_int(flip_byte(st.bs, &ref.cid, 7), 0, "flip a byte in the root");
	is_int(obj_read(&st, &ref, 0, buf, 10, &got), -EBADMSG,
	       "read through a damaged root");
	is_int(flip_byte(st.bs, &ref.cid, 7), 0, "repair the root");

	/* A wrong key: the store's hash is fine, the AEAD is not. */
	struct obj_ref wrong = ref;
	wrong.key[0] ^= 1;
	is_int(obj_read(&st, &wrong, 0, buf, 10, &got), -EBADMSG,
	       "root under a wrong key");
	struct chunk_ref wc5 = c5;
	wc5.key[31] ^= 1;
	is_int(obj_open_chunk(&st, &wc5, plain, &len), -EBADMSG,
	       "chunk under a wrong key");
	wc5 = c5;
	wc5.size = 10;
	is_int(obj_open_chunk(&st, &wc5, plain, &len), -EBADMSG,
	       "chunk of another size than its ref says");

	/* Missing blocks. */
	is_int(bs_remove(st.bs, &c5.cid), 0, "remove chunk 5");
	is_int(obj_read(&st, &ref, 5 * SMALL_CHUNK, buf, 1, &got), -ENOENT,
	       "read of a missing chunk");
	is_int(obj_read(&st, &ref, 0, buf, 1, &got), 0,
	       "other chunks still read");
	is_int(bs_remove(st.bs, &fi.cid), 0, "remove an index");
	is_int(obj_read(&st, &ref, 0, buf, 1, &got), -ENOENT,
	       "read below a missing index");
	is_int(bs_remove(st.bs, &ref.cid), 0, "remove the root");
	is_int(obj_read(&st, &ref, 0, buf, 1, &got), -ENOENT,
	       "read of a missing root");
	is_int(obj_read(&st, &ref, size, buf, 1, &got), 0,
	       "read at EOF needs no block");
	is_int(got, 0, "and gets nothing");
	free(data);
	free(buf);
}

/* ---- indexes crafted by hand ---- */

struct crafted {
	uint8_t magic[4];
	uint8_t version, level;
	uint16_t reserved;
	uint32_t chunk_size, count; /* count written in the header */
	uint64_t total;
	uint32_t n; /* entries actually present */
	struct chunk_ref e[8];
};

static void be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static int put_index(struct obj_store *st, const struct crafted *x,
		     struct chunk_ref *out)
{
	uint8_t plain[OBJ_INDEX_HEADER_BYTES + 8 * OBJ_INDEX_ENTRY_BYTES];
	uint8_t sealed[sizeof(plain) + IPMD_SEAL_OVERHEAD];
	memcpy(plain, x->magic, 4);
	plain[4] = x->version;
	plain[5] = x->level;
	be(plain + 6, x->reserved, 2);
	be(plain + 8, x->chunk_size, 4);
	be(plain + 12, x->count, 4);
	be(plain + 16, x->total, 8);
	uint8_t *p = plain + OBJ_INDEX_HEADER_BYTES;
	for (uint32_t i = 0; i < x->n; i++, p += OBJ_INDEX_ENTRY_BYTES) {
		memcpy(p, x->e[i].cid.bytes, CID_RAW_BYTES);
		memcpy(p + CID_RAW_BYTES, x->e[i].key, IPMD_KEY_BYTES);
		be(p + CID_RAW_BYTES + IPMD_KEY_BYTES, x->e[i].size, 8);
	}
	size_t len = (size_t)(p - plain);
	memset(out, 0, sizeof(*out));
	int r = seal_convergent(sealed, out->key, plain, len, BLOCK_INDEX,
				convergence);
	if (r == 0)
		r = bs_put(st->bs, sealed, len + IPMD_SEAL_OVERHEAD, 0,
			   &out->cid);
	return r;
}

static struct crafted level1(const struct chunk_ref *a, uint32_t n,
			     uint64_t total)
{
	struct crafted x = {.magic = {'i', 'p', 'm', 'x'},
			    .version = OBJ_INDEX_VERSION,
			    .level = 1,
			    .chunk_size = SMALL_CHUNK,
			    .count = n,
			    .total = total,
			    .n = n};
	memcpy(x.e, a, n * sizeof(*a));
	return x;
}

/* Read the object the crafted index x roots (depth, size given). */
static int read_crafted(struct obj_store *st, const struct crafted *x,
			unsigned depth, uint64_t size)
{
	struct chunk_ref c;
	int r = put_index(st, x, &c);
	if (r != 0)
		return 1000 + r;
	struct obj_ref ref = {.cid = c.cid, .size = size,
			      .depth = (uint8_t)depth};
	memcpy(ref.key, c.key, IPMD_KEY_BYTES);
	uint8_t *buf = malloc(size + 1);
	size_t got;
	r = obj_read(st, &ref, 0, buf, size, &got);
	if (r == 0 && got != size)
		r = 2000;
	free(buf);
	return r;
}

static void test_crafted(struct obj_store st)
{
	uint8_t data[3 * SMALL_CHUNK];
	tap_fill_random(data, sizeof(data), 3);
	struct chunk_ref ch[3], tail;
	for (int i = 0; i < 3; i++)
		obj_seal_chunk(&st, data + i * SMALL_CHUNK, SMALL_CHUNK,
			       &ch[i]);
	obj_seal_chunk(&st, data, 10, &tail);
	struct chunk_ref a[2] = {ch[0], tail};
	const uint64_t sz = SMALL_CHUNK + 10;

	struct crafted x = level1(a, 2, sz);
	is_int(read_crafted(&st, &x, 1, sz), 0, "a well-formed crafted index "
	       "reads (so the failures below are the fields')");

/* A good two-entry index with one change (edit, an expression on x), read
 * as an object of size bytes: refused. */
#define BAD_INDEX(edit, size, what)                                           \
	do {                                                                  \
		x = level1(a, 2, sz);                                         \
		(void)(edit);                                                 \
		is_int(read_crafted(&st, &x, 1, (size)), -EBADMSG, what);     \
	} while (0)
	BAD_INDEX((x.count = 0, x.n = 0, x.total = 0), sz, "count 0");
	BAD_INDEX(x.count = 3, sz, "count larger than the entries present");
	BAD_INDEX(x.level = 2, sz, "wrong level");
	BAD_INDEX(x.magic[3] = 'y', sz, "bad magic");
	BAD_INDEX(x.version = 2, sz, "unknown version");
	BAD_INDEX(x.reserved = 1, sz, "reserved not zero");
	BAD_INDEX(x.total = sz + 1, sz + 1, "sizes don't add up to the total");
	BAD_INDEX(0, sz - 1, "total is not the ref's size");
	BAD_INDEX((x.e[1].size = 11, x.total = sz + 1), sz + 1,
		  "entry size is not its chunk's size");
	BAD_INDEX(x.chunk_size = SMALL_CHUNK + 1, sz,
		  "chunk_size that doesn't match the children");
	BAD_INDEX(x.chunk_size = 0, sz, "chunk_size 0");
	BAD_INDEX(x.e[1].cid.bytes[1] = 0x71 /* dag-cbor */, sz,
		  "a child CID that is not raw sha2-256");
	BAD_INDEX(x.e[1].key[0] ^= 1, sz, "a child under a wrong key");
	BAD_INDEX((x.e[1].size = 0, x.total = SMALL_CHUNK), SMALL_CHUNK,
		  "an empty last child");
#undef BAD_INDEX
	x = level1(a, 1, SMALL_CHUNK);
	is_int(read_crafted(&st, &x, 1, SMALL_CHUNK), -EBADMSG,
	       "a root listing one child");
	x = level1(a, 2, sz);
	is_int(read_crafted(&st, &x, 2, sz), -EBADMSG,
	       "ref depth 2 over a level-1 index");
	struct chunk_ref b[2] = {tail, ch[0]};
	x = level1(b, 2, sz);
	is_int(read_crafted(&st, &x, 1, sz), -EBADMSG,
	       "a short child before the last");
	/* The walk opens no chunk: only the index rules can catch it. */
	struct chunk_ref xr;
	is_int(put_index(&st, &x, &xr), 0, "put it");
	struct obj_ref xref = {.cid = xr.cid, .size = sz, .depth = 1};
	memcpy(xref.key, xr.key, IPMD_KEY_BYTES);
	struct walk_count wcx = {.bs = st.bs};
	is_int(obj_walk(&st, &xref, count_block, &wcx), -EBADMSG,
	       "walk refuses the short child too");
	struct chunk_ref *lst = NULL;
	size_t nl = 0;
	is_int(obj_list_chunks(&st, &xref, &lst, &nl), -EBADMSG,
	       "and so does obj_list_chunks");
	ok(lst == NULL && nl == 0, "with nothing listed");

	/* A cached chunk shorter than its entry says is no excuse. */
	struct chunk_cache *cc = chunk_cache_new(1 << 20);
	st.cache = cc;
	x = level1(a, 2, sz);
	is_int(read_crafted(&st, &x, 1, sz), 0, "good index through a cache");
	x.e[1].size = 11;
	x.total = sz + 1;
	is_int(read_crafted(&st, &x, 1, sz + 1), -EBADMSG,
	       "entry larger than the cached chunk");
	st.cache = NULL;
	chunk_cache_free(cc);

	/* Two levels, fanout 2: root [idx(ch0, ch1), idx(tail)]. */
	struct chunk_ref l1a, l1b;
	struct chunk_ref pair[2] = {ch[0], ch[1]};
	struct crafted ia = level1(pair, 2, 2 * SMALL_CHUNK);
	struct crafted ib = level1(&tail, 1, 10);
	is_int(put_index(&st, &ia, &l1a), 0, "put level-1 index a");
	is_int(put_index(&st, &ib, &l1b), 0, "put level-1 index b");
	l1a.size = 2 * SMALL_CHUNK;
	l1b.size = 10;
	struct chunk_ref kids[2] = {l1a, l1b};
	const uint64_t sz2 = 2 * SMALL_CHUNK + 10;
	struct crafted r2 = level1(kids, 2, sz2);
	r2.level = 2;
	is_int(read_crafted(&st, &r2, 2, sz2), 0,
	       "a well-formed crafted two-level tree reads");
	/* Children under a level-2 root are index blocks, not chunks. */
	struct crafted bad = level1(a, 2, sz);
	bad.level = 2;
	bad.e[0].size = 2 * SMALL_CHUNK;
	bad.e[0].cid = ch[0].cid;
	bad.total = 2 * SMALL_CHUNK + 10;
	is_int(read_crafted(&st, &bad, 2, bad.total), -EBADMSG,
	       "a chunk where an index should be");
	/* A root whose first child is no power of chunk_size. */
	r2 = level1(kids, 2, sz2);
	r2.level = 2;
	r2.e[0].size = 2 * SMALL_CHUNK + 1;
	r2.total = sz2 + 1;
	is_int(read_crafted(&st, &r2, 2, sz2 + 1), -EBADMSG,
	       "full child of a size no fanout explains");
	/* Child index's recorded total differs from its entry. */
	struct crafted ib2 = level1(&tail, 1, 11);
	struct chunk_ref l1c;
	put_index(&st, &ib2, &l1c);
	kids[1] = l1c;
	kids[1].size = 10;
	r2 = level1(kids, 2, sz2);
	r2.level = 2;
	is_int(read_crafted(&st, &r2, 2, sz2), -EBADMSG,
	       "child index total differs from its entry");
	/* Root listing more children than its fanout (2, from child 0). */
	struct chunk_ref three[3] = {l1a, l1a, l1b};
	r2 = level1(three, 3, 4 * SMALL_CHUNK + 10);
	r2.level = 2;
	is_int(read_crafted(&st, &r2, 2, r2.total), -EBADMSG,
	       "more children than the fanout");
	/* Child with a different chunk_size in its header. */
	ia = level1(pair, 2, 2 * SMALL_CHUNK);
	ia.chunk_size = 2 * SMALL_CHUNK;
	struct chunk_ref l1d;
	put_index(&st, &ia, &l1d);
	l1d.size = 2 * SMALL_CHUNK;
	kids[0] = l1d;
	kids[1] = l1b;
	r2 = level1(kids, 2, sz2);
	r2.level = 2;
	is_int(read_crafted(&st, &r2, 2, sz2), -EBADMSG,
	       "child index of another chunk_size");

	/* Refs that break the invariants. */
	struct obj_ref ref = {0};
	uint8_t buf[16];
	size_t got;
	ref.size = 0;
	ref.cid = ch[0].cid;
	is_int(obj_read(&st, &ref, 0, buf, 1, &got), 0,
	       "empty ref: nothing to read");
	struct chunk_ref cr;
	is_int(obj_chunk_at(&st, &ref, 0, &cr), -EBADMSG,
	       "size 0 with a CID is corrupt");
	ref = (struct obj_ref){.cid = ch[0].cid, .size = 10};
	memcpy(ref.key, ch[0].key, IPMD_KEY_BYTES);
	is_int(obj_read(&st, &ref, 0, buf, 10, &got), -EBADMSG,
	       "depth-0 ref with a size that isn't its chunk's");
	ref.size = SMALL_CHUNK;
	ref.depth = OBJ_DEPTH_MAX + 1;
	is_int(obj_read(&st, &ref, 0, buf, 10, &got), -EBADMSG,
	       "depth beyond OBJ_DEPTH_MAX");
	ref.depth = 0;
	is_int(obj_read(&st, &ref, 0, buf, 10, &got), 0, "the chunk itself");
	ok(got == 10 && memcmp(buf, data, 10) == 0, "reads");
}

static void test_chunk_api(struct obj_store st)
{
	uint8_t data[SMALL_CHUNK + 2], out[SMALL_CHUNK];
	tap_fill_random(data, sizeof(data), 4);
	struct chunk_ref c, c2;
	is_int(obj_seal_chunk(&st, data, 0, &c), -EINVAL, "empty chunk");
	is_int(obj_seal_chunk(&st, data, SMALL_CHUNK + 1, &c), -EINVAL,
	       "chunk over chunk_size");
	is_int(obj_seal_chunk(&st, data, 1000, &c), 0, "seal a chunk");
	is_int(c.size, 1000, "its size");
	ok(cid_is_raw_sha256(&c.cid), "raw sha2-256 CID");
	is_int(obj_seal_chunk(&st, data, 1000, &c2), 0, "seal it again");
	ok(cid_equal(&c.cid, &c2.cid), "convergent: same CID");
	size_t len;
	is_int(obj_open_chunk(&st, &c, out, &len), 0, "open it");
	ok(len == 1000 && memcmp(out, data, 1000) == 0, "same bytes");

	/* Its first 600 bytes and 400 implicit zeros: the block of the
	 * 1,000 bytes with those zeros in memory, and it opens to them. */
	uint8_t zeroed[1000];
	memcpy(zeroed, data, 600);
	memset(zeroed + 600, 0, 400);
	is_int(obj_seal_chunk(&st, zeroed, 1000, &c2), 0, "seal 600 + zeros");
	struct chunk_ref c3;
	is_int(obj_seal_chunk_sparse(&st, data, 600, 1000, &c3), 0,
	       "seal 600 of 1000, sparse");
	ok(cid_equal(&c3.cid, &c2.cid) && c3.size == 1000 &&
	   memcmp(c3.key, c2.key, sizeof(c3.key)) == 0,
	   "… the same CID, size and key");
	is_int(obj_open_chunk(&st, &c3, out, &len), 0, "… opens");
	ok(len == 1000 && memcmp(out, zeroed, 1000) == 0, "… to the zeros");
	is_int(obj_seal_chunk_sparse(&st, NULL, 0, 1000, &c3), 0,
	       "all zeros, no buffer");
	is_int(obj_seal_chunk_sparse(&st, data, 1001, 1000, &c3), -EINVAL,
	       "have > len refused");

	/* Another convergence secret: another CID, nothing links them. */
	uint8_t other[IPMD_KEY_BYTES];
	memset(other, 0x5a, sizeof(other));
	struct obj_store st2 = st;
	st2.convergence = other;
	is_int(obj_seal_chunk(&st2, data, 1000, &c2), 0, "other secret");
	ok(!cid_equal(&c.cid, &c2.cid), "other secret, other CID");

	/* A reader with smaller chunks can't take a big chunk. */
	struct obj_store tiny = st;
	tiny.chunk_size = 100;
	is_int(obj_open_chunk(&tiny, &c, out, &len), -ENOBUFS,
	       "chunk larger than the reader's buffer");

	/* Through a cache: the second open is a hit. */
	struct chunk_cache *cc = chunk_cache_new(1 << 20);
	st.cache = cc;
	is_int(obj_open_chunk(&st, &c, out, &len), 0, "open (miss)");
	is_int(bs_remove(st.bs, &c.cid), 0, "remove the block");
	memset(out, 0, sizeof(out));
	is_int(obj_open_chunk(&st, &c, out, &len), 0, "open from the cache");
	ok(len == 1000 && memcmp(out, data, 1000) == 0, "cached bytes");
	struct chunk_cache_stats s;
	chunk_cache_stats(cc, &s);
	is_int(s.hits, 1, "one hit");
	st.cache = NULL;
	is_int(obj_open_chunk(&st, &c, out, &len), -ENOENT,
	       "without the cache it's gone");
	chunk_cache_free(cc);

	/* obj_build refuses chunk lists that break the rule. */
	struct chunk_ref v[3];
	obj_seal_chunk(&st, data, SMALL_CHUNK, &v[0]);
	obj_seal_chunk(&st, data + 1, 5, &v[1]);
	obj_seal_chunk(&st, data + 2, SMALL_CHUNK, &v[2]);
	struct obj_ref ref;
	is_int(obj_build(&st, v, 3, &ref), -EINVAL,
	       "build: a short chunk in the middle");
	is_int(obj_build(&st, v, 0, &ref), 0, "build: no chunks");
	ok(ref.cid.len == 0 && ref.size == 0 && ref.depth == 0,
	   "is the empty object");
	is_int(obj_build(&st, v, 2, &ref), 0, "build: two chunks");
	is_int(ref.depth, 1, "depth 1");
	is_int(ref.size, SMALL_CHUNK + 5, "size");
}

static size_t cache_entries(struct chunk_cache *cc)
{
	struct chunk_cache_stats s;
	chunk_cache_stats(cc, &s);
	return s.entries;
}

/* A chunk obj_read copies out whole is its reader's now (the kernel's
 * page cache behind FUSE): the daemon's cache lets it go instead of
 * holding a second copy, whether a prefetch had put it there or the read
 * fetched it.  A chunk read in part stays for the rest of it. */
static void test_read_whole_leaves_cache(struct obj_store st)
{
	uint8_t data[2 * SMALL_CHUNK], out[2 * SMALL_CHUNK], plain[SMALL_CHUNK];
	tap_fill_random(data, sizeof(data), 9);
	struct chunk_ref v[2];
	struct obj_ref one, two;
	size_t got, len;
	is_int(obj_seal_chunk(&st, data, 3000, &v[0]), 0, "a 3000-byte chunk");
	is_int(obj_build(&st, v, 1, &one), 0, "a one-chunk object");
	struct chunk_cache *cc = chunk_cache_new(1 << 20);
	st.cache = cc;

	is_int(obj_open_chunk(&st, &v[0], plain, &len), 0, "prefetched");
	is_int(cache_entries(cc), 1, "the prefetch left it in the cache");
	is_int(obj_read(&st, &one, 100, out, 200, &got), 0, "a part of it");
	is_int(cache_entries(cc), 1, "read in part: still cached");
	is_int(obj_read(&st, &one, 0, out, sizeof(out), &got), 0, "all of it");
	ok(got == 3000 && memcmp(out, data, 3000) == 0, "the bytes, from the cache");
	is_int(cache_entries(cc), 0, "read whole: taken out of the cache");
	is_int(obj_read(&st, &one, 0, out, sizeof(out), &got), 0, "again");
	ok(got == 3000 && memcmp(out, data, 3000) == 0, "the bytes, from the store");
	is_int(cache_entries(cc), 0, "fetched whole: not put in");

	is_int(obj_seal_chunk(&st, data, SMALL_CHUNK, &v[0]), 0, "chunk 1 of 2");
	is_int(obj_seal_chunk(&st, data + SMALL_CHUNK, 500, &v[1]), 0,
	       "chunk 2 of 2");
	is_int(obj_build(&st, v, 2, &two), 0, "a two-chunk object");
	is_int(obj_read(&st, &two, 10, out, SMALL_CHUNK, &got), 0,
	       "a range across both, neither whole");
	is_int(cache_entries(cc), 2, "both kept for the rest");
	is_int(obj_read(&st, &two, 0, out, sizeof(out), &got), 0, "all of it");
	ok(got == SMALL_CHUNK + 500 && memcmp(out, data, got) == 0, "its bytes");
	is_int(cache_entries(cc), 0, "both taken out");
	st.cache = NULL;
	chunk_cache_free(cc);
}

static void test_read_only(struct obj_store st)
{
	size_t size = 6 * SMALL_CHUNK + 1;
	uint8_t *data = malloc(size), *buf = malloc(size);
	tap_fill_random(data, size, 6);
	struct obj_ref ref;
	is_int(write_object(&st, data, size, 2, &ref), 0, "write");
	struct chunk_ref *chunks;
	size_t n;
	is_int(obj_list_chunks(&st, &ref, &chunks, &n), 0, "list");

	struct obj_store ro = st;
	ro.convergence = NULL;
	struct obj_writer *w = (struct obj_writer *)&ro;
	is_int(obj_writer_new(&ro, &w), -EROFS, "writer: -EROFS");
	ok(w == NULL, "no writer");
	struct chunk_ref c;
	is_int(obj_seal_chunk(&ro, data, 10, &c), -EROFS, "seal: -EROFS");
	struct obj_ref r2;
	is_int(obj_build(&ro, chunks, n, &r2), -EROFS, "build: -EROFS");
	size_t got;
	is_int(obj_read(&ro, &ref, 0, buf, size, &got), 0, "read works");
	ok(got == size && memcmp(buf, data, size) == 0, "right bytes");
	size_t len;
	uint8_t plain[SMALL_CHUNK];
	is_int(obj_open_chunk(&ro, &chunks[1], plain, &len), 0, "open works");
	struct walk_count wc = {.bs = st.bs};
	is_int(obj_walk(&ro, &ref, count_block, &wc), 0, "walk works");
	free(chunks);

	struct obj_store bad = st;
	bad.fanout = 1;
	is_int(obj_writer_new(&bad, &w), -EINVAL, "fanout 1 refused");
	bad = st;
	bad.chunk_size = BLOCK_MAX_BYTES;
	is_int(obj_writer_new(&bad, &w), -EINVAL,
	       "a chunk that can't fit a block refused");
	free(data);
	free(buf);
}

/* A store whose puts fail: the writer reports it and stays failed. */
static void test_put_failure(void)
{
	struct fault_config cfg = {.error = -ENOSPC, .seed = 1};
	cfg.fail_rate[FAULT_PUT] = 1.0;
	struct blockstore *fb = faulty_store("fault", &cfg, "wrap in faults");
	struct obj_store st = small_store(fb);
	uint8_t data[3 * SMALL_CHUNK];
	tap_fill_random(data, sizeof(data), 8);
	struct obj_writer *w;
	is_int(obj_writer_new(&st, &w), 0, "writer");
	is_int(obj_writer_write(w, data, 100), 0, "a partial chunk: no put");
	is_int(obj_writer_write(w, data, sizeof(data)), -ENOSPC,
	       "a full chunk: the put fails");
	is_int(obj_writer_write(w, data, 1), -ENOSPC, "the error sticks");
	struct obj_ref ref;
	is_int(obj_writer_finish(w, &ref), -ENOSPC, "finish reports it");
	ok(ref.cid.len == 0 && ref.size == 0, "no ref on failure");
	is_int(obj_writer_new(&st, &w), 0, "another writer");
	is_int(obj_writer_write(w, data, 10), 0, "small write");
	is_int(obj_writer_finish(w, &ref), -ENOSPC, "finish: its put fails");
	bs_close(fb);
}

/* 64 MiB in, 64 MiB out, one MiB (and a bit) at a time. */
static void test_stream(struct obj_store st)
{
	st.chunk_size = OBJ_CHUNK_DEFAULT;
	st.fanout = OBJ_FANOUT_DEFAULT;
	const size_t total = 64u << 20, piece = (1u << 20) + 7;
	uint8_t *buf = malloc(piece), *back = malloc(piece);
	struct obj_writer *w;
	is_int(obj_writer_new(&st, &w), 0, "writer");
	int r = 0;
	size_t off = 0;
	for (uint64_t i = 0; r == 0 && off < total; i++) {
		size_t n = total - off < piece ? total - off : piece;
		tap_fill_random(buf, n, 500 + i);
		r = obj_writer_write(w, buf, n);
		off += n;
	}
	is_int(r, 0, "64 MiB written");
	struct obj_ref ref;
	is_int(obj_writer_finish(w, &ref), 0, "finish");
	is_int(ref.size, total, "size");
	is_int(ref.depth, 1, "256 chunks under one index");
	int bad = 0;
	off = 0;
	for (uint64_t i = 0; off < total; i++) {
		size_t n = total - off < piece ? total - off : piece, got = 0;
		tap_fill_random(buf, n, 500 + i);
		if (obj_read(&st, &ref, off, back, piece, &got) != 0 ||
		    got != n || memcmp(back, buf, n) != 0)
			bad++;
		off += n;
	}
	is_int(bad, 0, "64 MiB read back piece by piece");
	free(buf);
	free(back);
}

static bool same_ref(const struct obj_ref *a, const struct obj_ref *b)
{
	return a->cid.len == b->cid.len && cid_equal(&a->cid, &b->cid) &&
	       memcmp(a->key, b->key, sizeof(a->key)) == 0 &&
	       a->depth == b->depth && a->size == b->size;
}

struct has_all {
	struct blockstore *other;
	uint64_t seen, missing;
};

static int check_in_other(const struct cid *cid, void *arg)
{
	struct has_all *h = arg;
	h->seen++;
	if (bs_has(h->other, cid) != 1)
		h->missing++;
	return 0;
}

/* Sealing threads: the same blocks and roots as sealing inline. */
static void test_threads(void)
{
	struct blockstore *bs0 = harness_local_store("threads-inline");
	struct blockstore *bsn = harness_local_store("threads-pool");
	struct obj_store st0 = small_store(bs0), stn = small_store(bsn);
	const size_t c = SMALL_CHUNK;
	const size_t sizes[] = {
		0, 1, c, 2 * c, 3 * c + 17,
		70 * c + 5, /* four levels of fanout 4 */
	};
	const unsigned threads[] = {1, 2, 3};
	size_t max = 70 * c + 5;
	uint8_t *data = malloc(max), *buf = malloc(max + 1);
	int same = 0, back = 0, runs = 0;
	unsigned deepest = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t size = sizes[i];
		tap_fill_random(data, size, 900 + i);
		struct obj_ref ref0;
		stn.seal_threads = 0;
		is_int(write_object(&st0, data, size, 11 + i, &ref0), 0,
		       "size %zu: inline write", size);
		deepest = ref0.depth;
		for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]);
		     t++) {
			struct obj_ref refn;
			stn.seal_threads = threads[t];
			runs++;
			/* Another pattern of writes: chunk edges differ. */
			if (write_object(&stn, data, size, 31 * i + t + 1,
					 &refn) != 0)
				continue;
			same += same_ref(&ref0, &refn);
			size_t got = 0;
			if (obj_read(&stn, &refn, 0, buf, max + 1, &got) == 0 &&
			    got == size && memcmp(buf, data, size) == 0)
				back++;
		}
	}
	is_int(same, runs, "threaded writers give the inline roots");
	is_int(back, runs, "threaded objects read back");
	is_int(deepest, 4, "the last object has four levels of indexes");

	/* Block for block: each store holds exactly the other's blocks. */
	struct bs_usage u0, un;
	is_int(bs_usage(bs0, &u0), 0, "usage inline");
	is_int(bs_usage(bsn, &un), 0, "usage threaded");
	ok(u0.blocks == un.blocks && u0.bytes == un.bytes,
	   "same blocks and bytes (%llu, %llu)",
	   (unsigned long long)un.blocks, (unsigned long long)un.bytes);
	struct has_all h = {.other = bs0};
	is_int(bs_iterate(bsn, check_in_other, &h), 0, "iterate threaded");
	ok(h.seen == u0.blocks && h.missing == 0,
	   "every threaded block is an inline block");

	stn.seal_threads = OBJ_SEAL_THREADS_MAX + 1;
	struct obj_writer *w;
	is_int(obj_writer_new(&stn, &w), -EINVAL, "too many threads refused");
	free(data);
	free(buf);
	bs_close(bs0);
	bs_close(bsn);
}

/* Sealing threads meet failing and slow puts: errors reach the caller,
 * abort waits for work in flight. */
static void test_threads_failure(void)
{
	struct fault_config cfg = {.error = -ENOSPC, .seed = 3};
	cfg.fail_rate[FAULT_PUT] = 0.2;
	struct blockstore *fb = faulty_store("threads-fault", &cfg,
					     "wrap in faults");
	struct obj_store st = small_store(fb);
	st.seal_threads = 2;
	size_t size = 40 * SMALL_CHUNK;
	uint8_t *data = malloc(size);
	tap_fill_random(data, size, 12);

	struct obj_writer *w;
	is_int(obj_writer_new(&st, &w), 0, "writer");
	int r = 0;
	size_t off;
	for (off = 0; r == 0 && off < size; off += SMALL_CHUNK)
		r = obj_writer_write(w, data + off, SMALL_CHUNK);
	ok(r == 0 || r == -ENOSPC, "writes: 0 or the put's error (%d)", r);
	is_int(obj_writer_write(w, data, 1), r, "a failure sticks");
	struct obj_ref ref;
	is_int(obj_writer_finish(w, &ref), -ENOSPC, "finish reports it");
	ok(ref.cid.len == 0 && ref.size == 0, "no ref on failure");
	struct fault_counts fc;
	bs_fault_counts(fb, &fc);
	ok(fc.failed[FAULT_PUT] > 0, "puts failed (%llu of %llu)",
	   (unsigned long long)fc.failed[FAULT_PUT],
	   (unsigned long long)fc.calls[FAULT_PUT]);

	/* Every put fails: the tail, sealed at finish, too. */
	cfg.fail_rate[FAULT_PUT] = 1.0;
	struct blockstore *fb2 = faulty_store("threads-fault-all", &cfg,
					      "wrap in faults");
	st.bs = fb2;
	is_int(obj_writer_new(&st, &w), 0, "writer");
	r = obj_writer_write(w, data, 3 * SMALL_CHUNK + 5);
	ok(r == 0 || r == -ENOSPC, "three chunks handed over (%d)", r);
	is_int(obj_writer_finish(w, &ref), -ENOSPC, "finish reports it");

	/* Abort with slow puts in flight: nothing leaks, nothing crashes. */
	struct fault_config slow = {.seed = 4, .delay_ms = 20};
	slow.delay_rate[FAULT_PUT] = 1.0;
	struct blockstore *fb3 = faulty_store("threads-slow", &slow,
					      "wrap in delays");
	st.bs = fb3;
	is_int(obj_writer_new(&st, &w), 0, "writer");
	is_int(obj_writer_write(w, data, 6 * SMALL_CHUNK), 0,
	       "six chunks handed over");
	obj_writer_abort(w);
	ok(1, "aborted with puts in flight");

	free(data);
	bs_close(fb);
	bs_close(fb2);
	bs_close(fb3);
}

/* The tests that want a store of their own. */
static const struct harness_store_test with_store[] = {
	{"shapes", test_shapes},
	{"dedup", test_dedup},
	{"damage", test_damage},
	{"crafted", test_crafted},
	{"chunks", test_chunk_api},
	{"read whole", test_read_whole_leaves_cache},
	{"ro", test_read_only},
	{"stream", test_stream},
};

int main(void)
{
	harness_seal_init();
	harness_pattern_key(convergence, sizeof(convergence), 7, 1);
	harness_run_with_stores(with_store,
				sizeof(with_store) / sizeof(*with_store),
				small_store);
	test_put_failure();
	test_threads();
	test_threads_failure();
	return tap_done();
}
