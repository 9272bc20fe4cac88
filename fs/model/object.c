/* fs/model/object.c — see object.h: the store's parameters (convergence
 * scope, padding) and single chunks, sealed and put or fetched and opened.
 * object_internal.h says which file does what.
 */
#include "fs/model/object.h"

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cache/chunk_cache.h"
#include "crypto/seal.h"
#include "fs/model/object_internal.h"

_Static_assert(IX_TOTAL + 8 == OBJ_INDEX_HEADER_BYTES, "header layout");
_Static_assert(IE_SIZE + 8 == OBJ_INDEX_ENTRY_BYTES, "entry layout");
_Static_assert(sizeof(OBJ_INDEX_MAGIC) - 1 == IX_VERSION, "magic is 4 bytes");
_Static_assert(OBJ_INDEX_HEADER_BYTES +
			       (size_t)OBJ_FANOUT_MAX * OBJ_INDEX_ENTRY_BYTES +
			       IPMD_SEAL_OVERHEAD <=
		       BLOCK_MAX_BYTES,
	       "a full index fits a block");
_Static_assert(OBJ_FANOUT_DEFAULT <= OBJ_FANOUT_MAX, "default fanout fits");
_Static_assert(OBJ_CHUNK_DEFAULT <= OBJ_CHUNK_MAX, "default chunk fits");
_Static_assert((OBJ_CHUNK_DEFAULT & (OBJ_CHUNK_DEFAULT - 1)) == 0,
	       "a power of two: padding never takes a chunk beyond it");

int obj_scope_parse(const char *word, enum obj_scope *out)
{
	if (!strcmp(word, "message"))
		*out = OBJ_SCOPE_MESSAGE;
	else if (!strcmp(word, "mailbox"))
		*out = OBJ_SCOPE_MAILBOX;
	else
		return -EINVAL;
	return 0;
}

void obj_salt_of_id(uint64_t id, uint8_t salt[IPMD_SCOPE_SALT_BYTES])
{
	uint64_t be = htobe64(id);
	memset(salt, 0, IPMD_SCOPE_SALT_BYTES);
	memcpy(salt + IPMD_SCOPE_SALT_BYTES - sizeof(be), &be, sizeof(be));
}

void obj_store_scoped(const struct obj_store *st,
		      const uint8_t salt[IPMD_SCOPE_SALT_BYTES],
		      uint8_t secret[IPMD_KEY_BYTES], struct obj_store *out)
{
	*out = *st;
	if (st->scope != OBJ_SCOPE_MESSAGE || !st->convergence)
		return;
	convergence_scope(secret, st->convergence, salt);
	out->convergence = secret;
	out->scope = OBJ_SCOPE_MAILBOX;
}

bool obj_store_ok(const struct obj_store *st)
{
	return st && st->bs && st->chunk_size >= 1 &&
	       st->chunk_size <= OBJ_CHUNK_MAX && st->fanout >= 2 &&
	       st->fanout <= OBJ_FANOUT_MAX &&
	       st->seal_threads <= OBJ_SEAL_THREADS_MAX &&
	       (st->pad == OBJ_PAD_PADME || st->pad == OBJ_PAD_NONE);
}

uint64_t obj_padded_len(uint64_t size)
{
	if (size > OBJ_CHUNK_MAX)
		return size;
	uint64_t p = seal_padme(size);
	return p < OBJ_CHUNK_MAX ? p : OBJ_CHUNK_MAX;
}

/* What a writer of st seals a chunk of len bytes at. */
static size_t chunk_sealed_len(const struct obj_store *st, size_t len)
{
	return st->pad == OBJ_PAD_NONE ? len : (size_t)obj_padded_len(len);
}

/* Room for the sealed block of any chunk of at most len bytes, padded or
 * not (padding is monotone). */
size_t obj_chunk_block_cap(size_t len)
{
	return (size_t)obj_padded_len(len) + IPMD_SEAL_OVERHEAD;
}

bool obj_cid_raw_ok(const struct cid *c)
{
	return c->len == CID_RAW_BYTES && cid_is_raw_sha256(c);
}

void obj_set_empty(struct obj_ref *ref)
{
	memset(ref, 0, sizeof(*ref));
}

#define SEAL_PUT_TRIES 3

/* obj_seal_put of the len bytes plain[0..have) followed by zeros
 * (seal_convergent_sparse). */
static int seal_put_sparse(const struct obj_store *st, uint8_t *sealed,
			   size_t cap, const uint8_t *plain, size_t have,
			   size_t len, enum block_kind kind,
			   struct chunk_ref *out)
{
	size_t padded = kind == BLOCK_CHUNK ? chunk_sealed_len(st, len) : len;
	if (padded + IPMD_SEAL_OVERHEAD > cap ||
	    padded + IPMD_SEAL_OVERHEAD > BLOCK_MAX_BYTES)
		return -EFBIG;
	int r = seal_convergent_sparse(sealed, out->key, plain, have, len,
				       padded, kind, st->convergence);
	if (r != 0)
		return r;
	/* A put is idempotent (content addressed): a store that fails for a
	 * moment gets another try here, once for every block, rather than a
	 * failed fsync or rename in the mail software — which Dovecot, for
	 * one, answers by waiting minutes on the lock file it left. */
	for (unsigned tries = 1;; tries++) {
		r = bs_put(st->bs, sealed, padded + IPMD_SEAL_OVERHEAD,
			   st->put_flags, &out->cid);
		if (r == 0 || tries == SEAL_PUT_TRIES ||
		    (r != -EIO && r != -EAGAIN))
			break;
	}
	if (r != 0)
		return r;
	/* Only raw sha2-256 CIDs fit an index entry. */
	if (!obj_cid_raw_ok(&out->cid))
		return -EIO;
	out->size = len;
	return 0;
}

/* Seal plain into sealed (cap bytes) and put it; out gets cid, key, size.
 * A chunk is padded as st says; an index never.  Called from sealing
 * threads too: touches nothing but its arguments. */
int obj_seal_put(const struct obj_store *st, uint8_t *sealed, size_t cap,
		 const uint8_t *plain, size_t len, enum block_kind kind,
		 struct chunk_ref *out)
{
	return seal_put_sparse(st, sealed, cap, plain, len, len, kind, out);
}

/* ---- single chunks ---- */

int obj_seal_chunk(struct obj_store *st, const uint8_t *plain, size_t len,
		   struct chunk_ref *out)
{
	if (!plain)
		return -EINVAL;
	return obj_seal_chunk_sparse(st, plain, len, len, out);
}

int obj_seal_chunk_sparse(struct obj_store *st, const uint8_t *plain,
			  size_t have, size_t len, struct chunk_ref *out)
{
	if (!obj_store_ok(st) || !out || (have > 0 && !plain) || have > len ||
	    len == 0 || len > st->chunk_size)
		return -EINVAL;
	if (!st->convergence)
		return -EROFS;
	memset(out, 0, sizeof(*out));
	/* The sealed block's room only: the zeros past have are not made. */
	size_t cap = obj_chunk_block_cap(len);
	uint8_t *sealed = malloc(cap);
	if (!sealed)
		return -ENOMEM;
	int r = seal_put_sparse(st, sealed, cap, plain, have, len, BLOCK_CHUNK,
				out);
	free(sealed);
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

/*
 * Fetch c into sealed (cap ≥ obj_chunk_block_cap(c->size) bytes), verify,
 * open into plain (c->size bytes) and remember the plaintext in the cache
 * as keep says.
 * The block must be c->size or obj_padded_len(c->size) bytes of plaintext
 * (object.h, "Chunk padding"), with zero padding.
 */
int obj_fetch_chunk(struct obj_store *st, const struct chunk_ref *c,
		    enum obj_keep keep, uint8_t *sealed, size_t cap, uint8_t *plain)
{
	size_t slen = 0;
	int r = bs_get(st->bs, &c->cid, sealed, cap, &slen);
	if (r == -ENOBUFS)
		return -EBADMSG; /* larger than its parent says */
	if (r != 0)
		return r;
	if (slen != c->size + IPMD_SEAL_OVERHEAD &&
	    slen != obj_padded_len(c->size) + IPMD_SEAL_OVERHEAD)
		return -EBADMSG;
	if (seal_open_padded(plain, (size_t)c->size, sealed, slen, BLOCK_CHUNK,
			     c->key) != 0)
		return -EBADMSG;
	/* A cache that can't take it costs speed, not correctness. */
	if (keep == OBJ_KEEP)
		(void)chunk_cache_insert(st->cache, &c->cid, plain,
					 (size_t)c->size);
	else if (keep == OBJ_KEEP_HINT)
		(void)chunk_cache_insert_hint(st->cache, &c->cid, plain,
					      (size_t)c->size);
	return 0;
}

static int open_chunk(struct obj_store *st, const struct chunk_ref *c,
		      uint8_t *plain, size_t *len, enum obj_keep keep)
{
	if (!st || !st->bs || !c || !plain || !len)
		return -EINVAL;
	*len = 0;
	if (c->size == 0 || !obj_cid_raw_ok(&c->cid) || c->size > OBJ_CHUNK_MAX)
		return -EBADMSG;
	if (c->size > st->chunk_size)
		return -ENOBUFS;
	size_t got = 0;
	if (st->cache && chunk_cache_read(st->cache, &c->cid, 0, plain,
					  (size_t)c->size, &got) == 0) {
		if (got != c->size)
			return -EBADMSG;
		*len = got;
		return 0;
	}
	size_t cap = obj_chunk_block_cap((size_t)c->size);
	uint8_t *sealed = malloc(cap);
	if (!sealed)
		return -ENOMEM;
	int r = obj_fetch_chunk(st, c, keep, sealed, cap, plain);
	free(sealed);
	if (r == 0)
		*len = (size_t)c->size;
	return r;
}

int obj_open_chunk(struct obj_store *st, const struct chunk_ref *c,
		   uint8_t *plain, size_t *len)
{
	return open_chunk(st, c, plain, len, OBJ_KEEP);
}

int obj_prefetch_chunk(struct obj_store *st, const struct chunk_ref *c,
		       uint8_t *plain, size_t *len)
{
	return open_chunk(st, c, plain, len, OBJ_KEEP_HINT);
}
