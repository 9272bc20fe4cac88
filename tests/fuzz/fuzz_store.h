/*
 * tests/fuzz/fuzz_store.h — an in-memory block store for fuzz targets.
 *
 * A fuzzer can't write a block whose CID and key another block names: it
 * can't invert SHA-256.  So this store holds two kinds of blocks:
 *  - segments: the fuzz input cut at NUL bytes, each sealed as `kind`
 *    under the fixed key FUZZ_KEY (base64url FUZZ_KEY_B64 in JSON);
 *    a get() of a CID the store does not hold answers segment
 *    (first digest byte mod count), so any well-formed CID in the input
 *    reaches some segment;
 *  - real blocks: what put() stored, found by CID as in any store.
 * It breaks the "get returns bytes that hash to the CID" contract on
 * purpose: a parser must survive any bytes a key holder could have sealed.
 * Single-threaded; test code only (static functions in a header).
 */
#ifndef IPMD_TESTS_FUZZ_STORE_H
#define IPMD_TESTS_FUZZ_STORE_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/seal.h"
#include "ipfs/blockstore.h"

/* 32 bytes of 0x42; base64url without padding. */
#define FUZZ_KEY_BYTE 0x42
#define FUZZ_KEY_B64 "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI"
#define FUZZ_SEGMENTS_MAX 64

struct fuzz_block {
	struct cid cid;
	uint8_t *data;
	size_t len;
};

struct fuzz_store {
	struct blockstore bs;
	struct fuzz_block seg[FUZZ_SEGMENTS_MAX];
	size_t nseg;
	struct fuzz_block *put;
	size_t nput, capput;
};

static void fuzz_key(uint8_t key[IPMD_KEY_BYTES])
{
	memset(key, FUZZ_KEY_BYTE, IPMD_KEY_BYTES);
}

static int fuzz_copy(const struct fuzz_block *b, uint8_t *buf, size_t cap,
		     size_t *len)
{
	if (b->len > cap)
		return -ENOBUFS;
	memcpy(buf, b->data, b->len);
	*len = b->len;
	return 0;
}

static int fuzz_get(struct blockstore *bs, const struct cid *cid,
		    uint8_t *buf, size_t cap, size_t *len)
{
	struct fuzz_store *s = (struct fuzz_store *)bs;
	size_t dlen = 0;
	const uint8_t *d;

	for (size_t i = 0; i < s->nput; i++)
		if (cid_equal(&s->put[i].cid, cid))
			return fuzz_copy(&s->put[i], buf, cap, len);
	d = cid_digest(cid, &dlen, NULL);
	if (s->nseg == 0 || !d || dlen == 0)
		return -ENOENT;
	return fuzz_copy(&s->seg[d[0] % s->nseg], buf, cap, len);
}

static int fuzz_put(struct blockstore *bs, const uint8_t *data, size_t len,
		    unsigned flags, struct cid *cid_out)
{
	struct fuzz_store *s = (struct fuzz_store *)bs;
	struct fuzz_block *b;

	(void)flags;
	if (len > BLOCK_MAX_BYTES)
		return -EFBIG;
	cid_of_raw_block(cid_out, data, len);
	for (size_t i = 0; i < s->nput; i++)
		if (cid_equal(&s->put[i].cid, cid_out))
			return 0;
	if (s->nput == s->capput) {
		size_t cap = s->capput ? s->capput * 2 : 16;
		b = realloc(s->put, cap * sizeof(*b));
		if (!b)
			return -ENOMEM;
		s->put = b;
		s->capput = cap;
	}
	b = &s->put[s->nput];
	b->data = malloc(len ? len : 1);
	if (!b->data)
		return -ENOMEM;
	memcpy(b->data, data, len);
	b->len = len;
	b->cid = *cid_out;
	s->nput++;
	return 0;
}

static int fuzz_has(struct blockstore *bs, const struct cid *cid)
{
	struct fuzz_store *s = (struct fuzz_store *)bs;

	for (size_t i = 0; i < s->nput; i++)
		if (cid_equal(&s->put[i].cid, cid))
			return 1;
	return 0;
}

static int fuzz_sync(struct blockstore *bs)
{
	(void)bs;
	return 0;
}

static void fuzz_close(struct blockstore *bs)
{
	struct fuzz_store *s = (struct fuzz_store *)bs;

	for (size_t i = 0; i < s->nseg; i++)
		free(s->seg[i].data);
	for (size_t i = 0; i < s->nput; i++)
		free(s->put[i].data);
	free(s->put);
	free(s);
}

static const struct blockstore_ops fuzz_store_ops = {
	.version = BLOCKSTORE_OPS_VERSION,
	.name = "fuzz",
	.put = fuzz_put,
	.get = fuzz_get,
	.has = fuzz_has,
	.sync = fuzz_sync,
	.close = fuzz_close,
};

/* A store whose segments are data cut at NUL bytes, sealed as kind. */
static struct fuzz_store *fuzz_store_new(const uint8_t *data, size_t size,
					 enum block_kind kind)
{
	struct fuzz_store *s = calloc(1, sizeof(*s));
	uint8_t key[IPMD_KEY_BYTES], nonce[IPMD_NONCE_BYTES] = {0};
	size_t start = 0;

	if (!s)
		abort();
	s->bs.ops = &fuzz_store_ops;
	if (!data)
		return s;
	fuzz_key(key);
	for (size_t i = 0; i <= size && s->nseg < FUZZ_SEGMENTS_MAX; i++) {
		struct fuzz_block *b;
		size_t n;
		if (i < size && data[i] != 0)
			continue;
		n = i - start;
		if (n + IPMD_SEAL_OVERHEAD > BLOCK_MAX_BYTES)
			n = BLOCK_MAX_BYTES - IPMD_SEAL_OVERHEAD;
		b = &s->seg[s->nseg++];
		b->len = n + IPMD_SEAL_OVERHEAD;
		b->data = malloc(b->len);
		if (!b->data ||
		    seal_with_key(b->data, data + start, n, kind, key, nonce) != 0)
			abort();
		cid_of_raw_block(&b->cid, b->data, b->len);
		start = i + 1;
	}
	return s;
}

#endif
