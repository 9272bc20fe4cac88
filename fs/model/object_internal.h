/*
 * fs/model/object_internal.h — what the pieces of object.h share; for
 * fs/model/object*.c only.
 *
 * The pieces, one job each:
 *   object.c        the store's parameters (scope, padding, checks) and
 *                   single chunks: sealing and putting one block
 *                   (obj_seal_put), fetching and opening one chunk;
 *   object_index.c  writing index blocks: the levels of partial indexes
 *                   (struct builder) and obj_build;
 *   object_write.c  the streaming writer and its sealing threads
 *                   (object.h, "Parallel sealing");
 *   object_read.c   reading: the tree of one object, checked index by
 *                   index (obj_read, obj_chunk_at, obj_list_chunks,
 *                   obj_walk).
 * The index block layout (object.h) is the IX_ and IE_ offsets below:
 * object_index.c writes it, object_read.c checks and reads it.
 */
#ifndef IPMD_FS_MODEL_OBJECT_INTERNAL_H
#define IPMD_FS_MODEL_OBJECT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/model/object.h"

/* Offsets of the index header fields (object.h). */
#define IX_MAGIC 0
#define IX_VERSION 4
#define IX_LEVEL 5
#define IX_RESERVED 6
#define IX_CHUNK_SIZE 8
#define IX_COUNT 12
#define IX_TOTAL 16
/* Offsets inside one entry. */
#define IE_CID 0
#define IE_KEY CID_RAW_BYTES
#define IE_SIZE (CID_RAW_BYTES + IPMD_KEY_BYTES)

/* ---- object.c ---- */

/* st's parameters are in range (a writer, obj_build and readers check). */
bool obj_store_ok(const struct obj_store *st);
/* Room for the sealed block of any chunk of at most len bytes, padded or
 * not (padding is monotone). */
size_t obj_chunk_block_cap(size_t len);
/* Only raw sha2-256 CIDs fit an index entry. */
bool obj_cid_raw_ok(const struct cid *c);
void obj_set_empty(struct obj_ref *ref);

/* Seal plain into sealed (cap bytes) and put it; out gets cid, key, size.
 * A chunk is padded as st says; an index never.  Called from sealing
 * threads too: touches nothing but its arguments. */
int obj_seal_put(const struct obj_store *st, uint8_t *sealed, size_t cap,
		 const uint8_t *plain, size_t len, enum block_kind kind,
		 struct chunk_ref *out);

/* What obj_fetch_chunk leaves in st->cache: nothing (the reader keeps
 * the chunk), the plaintext, or the plaintext as a prefetch's hint. */
enum obj_keep { OBJ_KEEP_NONE, OBJ_KEEP, OBJ_KEEP_HINT };
/* Fetch c into sealed (cap ≥ obj_chunk_block_cap(c->size) bytes), verify,
 * open into plain (c->size bytes) and cache the plaintext as keep says. */
int obj_fetch_chunk(struct obj_store *st, const struct chunk_ref *c,
		    enum obj_keep keep,
		    uint8_t *sealed, size_t cap, uint8_t *plain);

/* ---- object_index.c ---- */

struct level {
	uint8_t *buf;   /* index plaintext: header + up to fanout entries */
	uint32_t count; /* entries so far */
	uint64_t size;  /* bytes under those entries */
};

struct builder {
	struct obj_store *st;
	uint8_t *sealed; /* output of one seal: the larger of chunk and index */
	size_t sealed_cap;
	size_t index_cap; /* plaintext bytes of a full index */
	uint64_t chunks, total;
	unsigned top; /* highest level holding entries so far */
	struct level lv[OBJ_DEPTH_MAX + 1]; /* lv[1] lists chunks */
};

/* chunk_cap: the largest chunk this builder seals itself (0: none, it
 * only indexes chunks sealed elsewhere). */
int obj_builder_init(struct builder *b, struct obj_store *st,
		     size_t chunk_cap);
void obj_builder_free(struct builder *b);
/* obj_seal_put into the builder's buffer. */
int obj_put_sealed(struct builder *b, const uint8_t *plain, size_t len,
		   enum block_kind kind, struct chunk_ref *out);
/* The next chunk of the object, in order. */
int obj_builder_add_chunk(struct builder *b, const struct chunk_ref *c);
/* Fold the partial levels into the object's root (object_index.c). */
int obj_builder_finish(struct builder *b, struct obj_ref *out);

/* ---- object_read.c ---- */

/* Index entry p into out (every field set). */
void obj_entry_get(const uint8_t *p, struct chunk_ref *out);

#endif
