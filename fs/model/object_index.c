/* fs/model/object_index.c — writing index blocks (object.h): the levels
 * of partial indexes a writer fills as chunks come, sealed as they fill
 * and folded into one root at the end; obj_build over chunks sealed
 * elsewhere.  object_internal.h says which file does what.
 */
#include "fs/model/object_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/seal.h"
#include "util/endian.h"
#include "util/wipe.h"

static void entry_put(uint8_t *p, const struct chunk_ref *r)
{
	memcpy(p + IE_CID, r->cid.bytes, CID_RAW_BYTES);
	memcpy(p + IE_KEY, r->key, IPMD_KEY_BYTES);
	put_be64(p + IE_SIZE, r->size);
}

int obj_builder_init(struct builder *b, struct obj_store *st,
		     size_t chunk_cap)
{
	memset(b, 0, sizeof(*b));
	b->st = st;
	b->index_cap = OBJ_INDEX_HEADER_BYTES +
		       (size_t)st->fanout * OBJ_INDEX_ENTRY_BYTES;
	size_t chunk_block = chunk_cap ? obj_chunk_block_cap(chunk_cap) : 0;
	b->sealed_cap = b->index_cap + IPMD_SEAL_OVERHEAD;
	if (chunk_block > b->sealed_cap)
		b->sealed_cap = chunk_block;
	b->sealed = malloc(b->sealed_cap);
	return b->sealed ? 0 : -ENOMEM;
}

void obj_builder_free(struct builder *b)
{
	for (unsigned l = 1; l <= OBJ_DEPTH_MAX; l++)
		wipe_free(b->lv[l].buf, b->index_cap);
	free(b->sealed);
	memset(b, 0, sizeof(*b));
}

int obj_put_sealed(struct builder *b, const uint8_t *plain, size_t len,
		   enum block_kind kind, struct chunk_ref *out)
{
	return obj_seal_put(b->st, b->sealed, b->sealed_cap, plain, len, kind,
			    out);
}

/* Seal level l's partial index and empty it. */
static int seal_level(struct builder *b, unsigned l, struct chunk_ref *out)
{
	struct level *v = &b->lv[l];
	uint8_t *p = v->buf;

	memcpy(p + IX_MAGIC, OBJ_INDEX_MAGIC, IX_VERSION - IX_MAGIC);
	p[IX_VERSION] = OBJ_INDEX_VERSION;
	p[IX_LEVEL] = (uint8_t)l;
	put_be16(p + IX_RESERVED, 0);
	put_be32(p + IX_CHUNK_SIZE, b->st->chunk_size);
	put_be32(p + IX_COUNT, v->count);
	put_be64(p + IX_TOTAL, v->size);
	size_t len = OBJ_INDEX_HEADER_BYTES +
		     (size_t)v->count * OBJ_INDEX_ENTRY_BYTES;
	memset(out, 0, sizeof(*out));
	int r = obj_put_sealed(b, p, len, BLOCK_INDEX, out);
	if (r != 0)
		return r;
	out->size = v->size;
	v->count = 0;
	v->size = 0;
	return 0;
}

/* Append ref to level l; a level that fills is sealed into the next. */
static int builder_push(struct builder *b, unsigned l, struct chunk_ref ref)
{
	for (; l <= OBJ_DEPTH_MAX; l++) {
		struct level *v = &b->lv[l];
		if (!v->buf) {
			v->buf = malloc(b->index_cap);
			if (!v->buf)
				return -ENOMEM;
		}
		if (__builtin_add_overflow(v->size, ref.size, &v->size))
			return -EFBIG;
		entry_put(v->buf + OBJ_INDEX_HEADER_BYTES +
				  (size_t)v->count * OBJ_INDEX_ENTRY_BYTES,
			  &ref);
		v->count++;
		if (l > b->top)
			b->top = l;
		if (v->count < b->st->fanout)
			return 0;
		int r = seal_level(b, l, &ref);
		if (r != 0)
			return r;
	}
	return -EFBIG;
}

int obj_builder_add_chunk(struct builder *b, const struct chunk_ref *c)
{
	if (__builtin_add_overflow(b->total, c->size, &b->total))
		return -EFBIG;
	b->chunks++;
	return builder_push(b, 1, *c);
}

/*
 * Fold the partial levels into one root.  Each level's partial index goes up
 * into the next while anything sits above it; the highest level then
 * becomes the root (sealed if it lists two or more, else its one entry is
 * the root).  So the root always lists at least two children, which readers
 * rely on.
 */
int obj_builder_finish(struct builder *b, struct obj_ref *out)
{
	obj_set_empty(out);
	if (b->chunks == 0)
		return 0;
	for (unsigned l = 1; l <= OBJ_DEPTH_MAX; l++) {
		bool above = false;
		for (unsigned m = l + 1; m <= b->top; m++)
			if (b->lv[m].count > 0)
				above = true;
		struct chunk_ref r;
		int rc;
		if (above) {
			if (b->lv[l].count == 0)
				continue;
			rc = seal_level(b, l, &r);
			if (rc == 0)
				rc = builder_push(b, l + 1, r);
			sodium_memzero(&r, sizeof(r));
			if (rc != 0)
				return rc;
			continue;
		}
		unsigned depth;
		if (b->lv[l].count == 1) {
			obj_entry_get(b->lv[l].buf + OBJ_INDEX_HEADER_BYTES,
				      &r);
			depth = l - 1;
		} else if (b->lv[l].count >= 2) {
			rc = seal_level(b, l, &r);
			if (rc != 0)
				return rc;
			depth = l;
		} else {
			return -EIO; /* every chunk went somewhere: can't be */
		}
		if (r.size != b->total)
			return -EIO;
		out->cid = r.cid;
		memcpy(out->key, r.key, IPMD_KEY_BYTES);
		out->size = r.size;
		out->depth = (uint8_t)depth;
		sodium_memzero(&r, sizeof(r));
		return 0;
	}
	return -EFBIG;
}

int obj_build(struct obj_store *st, const struct chunk_ref *chunks, size_t n,
	      struct obj_ref *out)
{
	if (!obj_store_ok(st) || !out || (n > 0 && !chunks))
		return -EINVAL;
	obj_set_empty(out);
	for (size_t i = 0; i < n; i++) {
		uint64_t sz = chunks[i].size;
		if (!obj_cid_raw_ok(&chunks[i].cid) || sz == 0 ||
		    sz > st->chunk_size ||
		    (i + 1 < n && sz != st->chunk_size))
			return -EINVAL;
	}
	if (n == 0)
		return 0;
	if (n == 1) { /* the chunk is the object: nothing to seal */
		out->cid = chunks[0].cid;
		memcpy(out->key, chunks[0].key, IPMD_KEY_BYTES);
		out->size = chunks[0].size;
		return 0;
	}
	if (!st->convergence)
		return -EROFS;
	struct builder b;
	int r = obj_builder_init(&b, st, 0);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = obj_builder_add_chunk(&b, &chunks[i]);
	if (r == 0)
		r = obj_builder_finish(&b, out);
	obj_builder_free(&b);
	if (r != 0)
		obj_set_empty(out);
	return r;
}
