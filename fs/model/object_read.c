/* fs/model/object_read.c — reading an object (object.h): its tree of
 * index blocks loaded along one root-to-leaf path at a time, each block
 * checked against the layout and the sizes its parent promised.
 * object_internal.h says which file does what.
 */
#include "fs/model/object_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cache/chunk_cache.h"
#include "crypto/seal.h"
#include "util/endian.h"
#include "util/wipe.h"

/* a·b, or false when it does not fit 64 bits. */
static bool mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

void obj_entry_get(const uint8_t *p, struct chunk_ref *out)
{
	memset(out, 0, sizeof(*out));
	out->cid.len = CID_RAW_BYTES;
	memcpy(out->cid.bytes, p + IE_CID, CID_RAW_BYTES);
	memcpy(out->key, p + IE_KEY, IPMD_KEY_BYTES);
	out->size = get_be64(p + IE_SIZE);
}

/* ---- reading: the tree of one object ---- */

/* One loaded index on the current root-to-leaf path. */
struct node {
	uint8_t *plain;
	size_t cap;
	uint32_t count;
	uint64_t base; /* number of its first chunk: names its position */
	bool valid;
};

struct tree {
	struct obj_store *st;
	const struct obj_ref *ref;
	uint8_t *sealed; /* one block as stored, sealed_cap bytes */
	size_t sealed_cap;
	uint8_t *chunk;  /* chunk_size bytes of plaintext, when needed */
	uint32_t chunk_size; /* the object's own, from its root index */
	uint32_t fanout;     /* derived from the root; 0 if depth 1 */
	uint64_t nchunks;
	/* Chunks under one full child of a level-l index: fanout^(l-1). */
	uint64_t per_child[OBJ_DEPTH_MAX + 1];
	struct node nodes[OBJ_DEPTH_MAX + 1];
	obj_block_fn fn; /* obj_walk: told of each index as it loads */
	void *arg;
};

static void tree_free(struct tree *t)
{
	for (unsigned l = 1; l <= OBJ_DEPTH_MAX; l++)
		wipe_free(t->nodes[l].plain, t->nodes[l].cap);
	wipe_free(t->chunk, t->chunk_size);
	free(t->sealed);
}

static int tree_room(struct tree *t, size_t cap)
{
	if (t->sealed_cap >= cap)
		return 0;
	free(t->sealed);
	t->sealed_cap = 0;
	t->sealed = malloc(cap);
	if (!t->sealed)
		return -ENOMEM;
	t->sealed_cap = cap;
	return 0;
}

/*
 * The largest block below the root: a chunk (padded), or (depth ≥ 2) a full
 * index.  Sized once, so a read allocates at most twice (root, then this),
 * and a small object never costs a megabyte.
 */
static size_t tree_block_max(const struct tree *t)
{
	size_t need = obj_chunk_block_cap(t->chunk_size);
	if (t->ref->depth >= 2) {
		size_t ix = OBJ_INDEX_HEADER_BYTES +
			    (size_t)t->fanout * OBJ_INDEX_ENTRY_BYTES +
			    IPMD_SEAL_OVERHEAD;
		need = ix > need ? ix : need;
	}
	return need;
}

/*
 * Room for the root index before its geometry is known: what it would take
 * with the store's geometry (the usual case), else the most a block can be.
 */
static size_t root_guess(const struct obj_store *st, const struct obj_ref *ref)
{
	uint64_t span = st->chunk_size;
	bool fits = obj_store_ok(st);
	for (unsigned l = 2; fits && l <= ref->depth; l++)
		fits = mul_ok(span, st->fanout, &span);
	if (!fits)
		return BLOCK_MAX_BYTES;
	uint64_t count = ref->size / span + (ref->size % span != 0);
	if (count > OBJ_FANOUT_MAX)
		return BLOCK_MAX_BYTES;
	return OBJ_INDEX_HEADER_BYTES + (size_t)count * OBJ_INDEX_ENTRY_BYTES +
	       IPMD_SEAL_OVERHEAD;
}

static int tree_fetch(struct tree *t, const struct cid *cid, size_t cap,
		      size_t *len)
{
	int r = tree_room(t, cap);
	if (r == 0)
		r = bs_get(t->st->bs, cid, t->sealed, cap, len);
	return r;
}

/* The exact integer root: f with f^n == q and 2 ≤ f ≤ OBJ_FANOUT_MAX. */
static uint32_t exact_root(uint64_t q, unsigned n)
{
	uint32_t lo = 2, hi = OBJ_FANOUT_MAX;
	while (lo <= hi) { /* ≤ log2(OBJ_FANOUT_MAX) rounds */
		uint32_t mid = lo + (hi - lo) / 2;
		uint64_t p = 1;
		bool over = false;
		for (unsigned i = 0; i < n && !over; i++)
			over = !mul_ok(p, mid, &p) || p > q;
		if (!over && p == q)
			return mid;
		if (over)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return 0;
}

/*
 * The root fixes the geometry: its chunk_size, and (for depth ≥ 2) the
 * fanout, since its first child is full: size = chunk_size·fanout^(d-1).
 */
static int tree_geometry(struct tree *t, const uint8_t *p, unsigned depth)
{
	uint32_t cs = get_be32(p + IX_CHUNK_SIZE);
	if (cs == 0 || cs > OBJ_CHUNK_MAX)
		return -EBADMSG;
	t->chunk_size = cs;
	t->per_child[1] = 1;
	t->fanout = 0;
	if (depth == 1)
		return 0;
	uint64_t first = get_be64(p + OBJ_INDEX_HEADER_BYTES + IE_SIZE);
	if (first == 0 || first % cs != 0)
		return -EBADMSG;
	t->fanout = exact_root(first / cs, depth - 1);
	if (t->fanout == 0)
		return -EBADMSG;
	for (unsigned l = 2; l <= depth; l++)
		if (!mul_ok(t->per_child[l - 1], t->fanout, &t->per_child[l]))
			return -EBADMSG;
	return 0;
}

/* Check an opened index of the given level that should cover size bytes. */
static int check_index(struct tree *t, const uint8_t *p, size_t plen,
		       unsigned level, uint64_t size, bool root)
{
	if (plen < OBJ_INDEX_HEADER_BYTES ||
	    memcmp(p + IX_MAGIC, OBJ_INDEX_MAGIC, IX_VERSION - IX_MAGIC) != 0 ||
	    p[IX_VERSION] != OBJ_INDEX_VERSION || p[IX_LEVEL] != level ||
	    get_be16(p + IX_RESERVED) != 0)
		return -EBADMSG;
	uint32_t count = get_be32(p + IX_COUNT);
	if (count < (root ? 2u : 1u) || count > OBJ_FANOUT_MAX ||
	    plen != OBJ_INDEX_HEADER_BYTES +
			    (size_t)count * OBJ_INDEX_ENTRY_BYTES ||
	    get_be64(p + IX_TOTAL) != size)
		return -EBADMSG;
	if (root) {
		int r = tree_geometry(t, p, level);
		if (r != 0)
			return r;
	} else if (get_be32(p + IX_CHUNK_SIZE) != t->chunk_size) {
		return -EBADMSG;
	}
	if (t->fanout && count > t->fanout)
		return -EBADMSG;
	uint64_t span, sum = 0;
	if (!mul_ok(t->chunk_size, t->per_child[level], &span))
		return -EBADMSG;
	const uint8_t *e = p + OBJ_INDEX_HEADER_BYTES;
	for (uint32_t i = 0; i < count; i++, e += OBJ_INDEX_ENTRY_BYTES) {
		struct cid c;
		if (cid_from_bytes(&c, e + IE_CID, CID_RAW_BYTES) != 0 ||
		    !obj_cid_raw_ok(&c))
			return -EBADMSG;
		uint64_t sz = get_be64(e + IE_SIZE);
		if (i + 1 < count ? sz != span : sz == 0 || sz > span)
			return -EBADMSG;
		if (__builtin_add_overflow(sum, sz, &sum))
			return -EBADMSG;
	}
	return sum == size ? 0 : -EBADMSG;
}

/* Load the index r at level into its path slot; it starts at chunk base. */
static int load_index(struct tree *t, unsigned level,
		      const struct cid *cid, const uint8_t *key,
		      uint64_t size, uint64_t base, bool root)
{
	struct node *n = &t->nodes[level];
	size_t slen = 0, plen = 0;
	n->valid = false;
	int r;
	if (root) {
		size_t guess = root_guess(t->st, t->ref);
		r = tree_fetch(t, cid, guess, &slen);
		if (r == -ENOBUFS && guess < BLOCK_MAX_BYTES)
			r = tree_fetch(t, cid, BLOCK_MAX_BYTES, &slen);
	} else {
		r = tree_fetch(t, cid, tree_block_max(t), &slen);
	}
	if (r == -ENOBUFS)
		return -EBADMSG; /* larger than any index may be */
	if (r != 0)
		return r;
	if (slen < IPMD_SEAL_OVERHEAD + OBJ_INDEX_HEADER_BYTES)
		return -EBADMSG;
	plen = slen - IPMD_SEAL_OVERHEAD;
	if (n->cap < plen) {
		wipe_free(n->plain, n->cap);
		n->cap = 0;
		n->plain = malloc(plen);
		if (!n->plain)
			return -ENOMEM;
		n->cap = plen;
	}
	if (seal_open(n->plain, &plen, t->sealed, slen, BLOCK_INDEX, key) != 0)
		return -EBADMSG;
	r = check_index(t, n->plain, plen, level, size, root);
	if (r != 0)
		return r;
	n->count = get_be32(n->plain + IX_COUNT);
	n->base = base;
	n->valid = true;
	return t->fn ? t->fn(cid, BLOCK_INDEX, t->arg) : 0;
}

static int tree_open(struct tree *t, struct obj_store *st,
		     const struct obj_ref *ref, obj_block_fn fn, void *arg)
{
	memset(t, 0, sizeof(*t));
	t->st = st;
	t->ref = ref;
	t->fn = fn;
	t->arg = arg;
	if (ref->size == 0)
		return ref->cid.len == 0 && ref->depth == 0 ? 0 : -EBADMSG;
	if (!obj_cid_raw_ok(&ref->cid) || ref->depth > OBJ_DEPTH_MAX)
		return -EBADMSG;
	if (ref->depth == 0) {
		if (ref->size > OBJ_CHUNK_MAX)
			return -EBADMSG;
		t->chunk_size = (uint32_t)ref->size;
		t->nchunks = 1;
		return 0;
	}
	int r = load_index(t, ref->depth, &ref->cid, ref->key, ref->size, 0,
			   true);
	if (r != 0)
		return r;
	t->nchunks = obj_chunk_count(ref->size, t->chunk_size);
	return 0;
}

/* The ref of chunk idx < nchunks, loading indexes on its path as needed. */
static int tree_chunk(struct tree *t, uint64_t idx, struct chunk_ref *out)
{
	const struct obj_ref *ref = t->ref;
	if (idx >= t->nchunks)
		return -ERANGE;
	if (ref->depth == 0) {
		memset(out, 0, sizeof(*out));
		out->cid = ref->cid;
		memcpy(out->key, ref->key, IPMD_KEY_BYTES);
		out->size = ref->size;
		return 0;
	}
	uint64_t base = 0;
	for (unsigned l = ref->depth; l >= 1; l--) {
		struct node *n = &t->nodes[l];
		uint64_t i = (idx - base) / t->per_child[l];
		if (!n->valid || i >= n->count)
			return -EBADMSG;
		obj_entry_get(n->plain + OBJ_INDEX_HEADER_BYTES +
				      (size_t)i * OBJ_INDEX_ENTRY_BYTES,
			      out);
		if (l == 1)
			return 0;
		base += i * t->per_child[l];
		struct node *child = &t->nodes[l - 1];
		if (child->valid && child->base == base)
			continue;
		int r = load_index(t, l - 1, &out->cid, out->key, out->size,
				   base, false);
		if (r != 0)
			return r;
	}
	return -EBADMSG;
}

/* Copy bytes [a, b) of chunk c into out.  A chunk read whole leaves the
 * cache (obj_read, object.h): its reader has its own copy now. */
static int tree_read_chunk(struct tree *t, const struct chunk_ref *c,
			   size_t a, size_t b, uint8_t *out)
{
	struct obj_store *st = t->st;
	size_t got = 0;
	bool whole = a == 0 && b == c->size;
	if (st->cache &&
	    (whole ? chunk_cache_take(st->cache, &c->cid, out, b, &got)
		   : chunk_cache_read(st->cache, &c->cid, a, out, b - a,
				      &got)) == 0)
		return got == b - a ? 0 : -EBADMSG;
	size_t cap = tree_block_max(t);
	int r = tree_room(t, cap);
	if (r != 0)
		return r;
	if (whole) /* open in place */
		return obj_fetch_chunk(st, c, OBJ_KEEP_NONE, t->sealed, cap, out);
	if (!t->chunk) {
		t->chunk = malloc(t->chunk_size);
		if (!t->chunk)
			return -ENOMEM;
	}
	r = obj_fetch_chunk(st, c, OBJ_KEEP, t->sealed, cap, t->chunk);
	if (r == 0)
		memcpy(out, t->chunk + a, b - a);
	return r;
}

int obj_read(struct obj_store *st, const struct obj_ref *ref, uint64_t off,
	     uint8_t *buf, size_t len, size_t *got)
{
	if (!got)
		return -EINVAL;
	*got = 0;
	if (!st || !st->bs || !ref || (len > 0 && !buf))
		return -EINVAL;
	if (off >= ref->size || len == 0)
		return 0;
	struct tree t;
	int r = tree_open(&t, st, ref, NULL, NULL);
	uint64_t end = ref->size - off < len ? ref->size : off + len;
	uint64_t pos = off;
	uint64_t idx = r == 0 ? off / t.chunk_size : 0;
	/* Each round finishes one chunk, so at most nchunks rounds. */
	for (; r == 0 && pos < end; idx++) {
		struct chunk_ref c;
		r = tree_chunk(&t, idx, &c);
		if (r != 0)
			break;
		uint64_t start = idx * t.chunk_size;
		uint64_t stop = end - start < c.size ? end - start : c.size;
		if (stop <= pos - start)
			r = -EBADMSG; /* the geometry broke: can't progress */
		else
			r = tree_read_chunk(&t, &c, (size_t)(pos - start),
					    (size_t)stop, buf + (pos - off));
		pos = start + stop;
		sodium_memzero(c.key, sizeof(c.key));
	}
	tree_free(&t);
	if (r == 0)
		*got = (size_t)(pos - off);
	return r;
}

int obj_chunk_at(struct obj_store *st, const struct obj_ref *ref,
		 uint64_t index, struct chunk_ref *out)
{
	if (!st || !st->bs || !ref || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	struct tree t;
	int r = tree_open(&t, st, ref, NULL, NULL);
	if (r == 0)
		r = tree_chunk(&t, index, out);
	tree_free(&t);
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

int obj_list_chunks(struct obj_store *st, const struct obj_ref *ref,
		    struct chunk_ref **chunks, size_t *n)
{
	if (!st || !st->bs || !ref || !chunks || !n)
		return -EINVAL;
	*chunks = NULL;
	*n = 0;
	struct tree t;
	int r = tree_open(&t, st, ref, NULL, NULL);
	struct chunk_ref *v = NULL;
	size_t bytes = 0;
	if (r == 0 && t.nchunks > 0) {
		if (t.nchunks > SIZE_MAX / sizeof(*v))
			r = -ENOMEM;
		else if (!(v = malloc(bytes = (size_t)t.nchunks * sizeof(*v))))
			r = -ENOMEM;
	}
	for (uint64_t i = 0; r == 0 && i < t.nchunks; i++)
		r = tree_chunk(&t, i, &v[i]);
	tree_free(&t);
	if (r != 0) {
		wipe_free(v, bytes);
		return r;
	}
	*chunks = v;
	*n = (size_t)t.nchunks;
	return 0;
}

int obj_walk(struct obj_store *st, const struct obj_ref *ref, obj_block_fn fn,
	     void *arg)
{
	if (!st || !st->bs || !ref || !fn)
		return -EINVAL;
	struct tree t;
	int r = tree_open(&t, st, ref, fn, arg);
	/* tree_open told fn of the root index already. */
	for (uint64_t i = 0; r == 0 && i < t.nchunks; i++) {
		struct chunk_ref c;
		r = tree_chunk(&t, i, &c);
		if (r == 0)
			r = fn(&c.cid, BLOCK_CHUNK, arg);
		sodium_memzero(c.key, sizeof(c.key));
	}
	tree_free(&t);
	return r;
}
