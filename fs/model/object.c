/* fs/model/object.c — see object.h. */
#include "fs/model/object.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cache/chunk_cache.h"
#include "crypto/seal.h"
#include "util/endian.h"

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

/* ---- bytes ---- */

/* a·b, or false when it does not fit 64 bits. */
static bool mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

static void wipe_free(void *p, size_t len)
{
	if (p) {
		sodium_memzero(p, len);
		free(p);
	}
}

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

static bool store_ok(const struct obj_store *st)
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
static size_t chunk_block_cap(size_t len)
{
	return (size_t)obj_padded_len(len) + IPMD_SEAL_OVERHEAD;
}

static void entry_get(const uint8_t *p, struct chunk_ref *out)
{
	memset(out, 0, sizeof(*out));
	out->cid.len = CID_RAW_BYTES;
	memcpy(out->cid.bytes, p + IE_CID, CID_RAW_BYTES);
	memcpy(out->key, p + IE_KEY, IPMD_KEY_BYTES);
	out->size = get_be64(p + IE_SIZE);
}

static void entry_put(uint8_t *p, const struct chunk_ref *r)
{
	memcpy(p + IE_CID, r->cid.bytes, CID_RAW_BYTES);
	memcpy(p + IE_KEY, r->key, IPMD_KEY_BYTES);
	put_be64(p + IE_SIZE, r->size);
}

static bool cid_raw_ok(const struct cid *c)
{
	return c->len == CID_RAW_BYTES && cid_is_raw_sha256(c);
}

static void set_empty(struct obj_ref *ref)
{
	memset(ref, 0, sizeof(*ref));
}

/* ---- writing: the levels of partial indexes ---- */

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

static int builder_init(struct builder *b, struct obj_store *st,
			size_t chunk_cap)
{
	memset(b, 0, sizeof(*b));
	b->st = st;
	b->index_cap = OBJ_INDEX_HEADER_BYTES +
		       (size_t)st->fanout * OBJ_INDEX_ENTRY_BYTES;
	size_t chunk_block = chunk_cap ? chunk_block_cap(chunk_cap) : 0;
	b->sealed_cap = b->index_cap + IPMD_SEAL_OVERHEAD;
	if (chunk_block > b->sealed_cap)
		b->sealed_cap = chunk_block;
	b->sealed = malloc(b->sealed_cap);
	return b->sealed ? 0 : -ENOMEM;
}

static void builder_free(struct builder *b)
{
	for (unsigned l = 1; l <= OBJ_DEPTH_MAX; l++)
		wipe_free(b->lv[l].buf, b->index_cap);
	free(b->sealed);
	memset(b, 0, sizeof(*b));
}

#define SEAL_PUT_TRIES 3

/* Seal plain into sealed (cap bytes) and put it; out gets cid, key, size.
 * A chunk is padded as st says; an index never.  Called from sealing
 * threads too: touches nothing but its arguments. */
static int seal_put(const struct obj_store *st, uint8_t *sealed, size_t cap,
		    const uint8_t *plain, size_t len, enum block_kind kind,
		    struct chunk_ref *out)
{
	size_t padded = kind == BLOCK_CHUNK ? chunk_sealed_len(st, len) : len;
	if (padded + IPMD_SEAL_OVERHEAD > cap ||
	    padded + IPMD_SEAL_OVERHEAD > BLOCK_MAX_BYTES)
		return -EFBIG;
	int r = seal_convergent_padded(sealed, out->key, plain, len, padded,
				       kind, st->convergence);
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
	if (!cid_raw_ok(&out->cid))
		return -EIO;
	out->size = len;
	return 0;
}

static int put_sealed(struct builder *b, const uint8_t *plain, size_t len,
		      enum block_kind kind, struct chunk_ref *out)
{
	return seal_put(b->st, b->sealed, b->sealed_cap, plain, len, kind,
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
	int r = put_sealed(b, p, len, BLOCK_INDEX, out);
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

static int builder_add_chunk(struct builder *b, const struct chunk_ref *c)
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
static int builder_finish(struct builder *b, struct obj_ref *out)
{
	set_empty(out);
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
			entry_get(b->lv[l].buf + OBJ_INDEX_HEADER_BYTES, &r);
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

/* ---- sealing threads (object.h, "Parallel sealing") ---- */

/*
 * One chunk handed over.  Slots form a ring indexed by chunk number: chunk
 * k lives in slots[k % nslots] from its hand-over until the writer takes
 * its result, so the writer can take results in order.
 */
enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_BUSY, SLOT_DONE };

struct slot {
	uint8_t *plain; /* chunk_size bytes, owned by the pool */
	size_t len;
	enum slot_state state; /* under pool.lock */
	int err;               /* of seal_put, once DONE */
	struct chunk_ref ref;  /* once DONE and err == 0 */
};

struct pool;
struct worker_arg {
	struct pool *p;
	unsigned index; /* of its sealed buffer */
};

struct pool {
	const struct obj_store *st;
	size_t chunk_size;
	pthread_mutex_t lock;
	pthread_cond_t work; /* a slot was queued, or stop */
	pthread_cond_t done; /* a slot is DONE */
	struct slot *slots;
	unsigned nslots; /* threads + 1 */
	uint8_t **sealed; /* one output buffer per thread */
	size_t sealed_cap;
	pthread_t *threads;
	struct worker_arg *args; /* one per thread */
	unsigned nthreads; /* started */
	/* Chunk numbers: queued ≥ taken ≥ collected, queued - collected ≤
	 * nslots.  queued and collected are the writer's; taken, stop and
	 * the slots' states are under lock. */
	uint64_t queued, taken, collected;
	bool stop;
};

static void *pool_worker(void *arg)
{
	struct pool *p = ((struct worker_arg *)arg)->p;
	uint8_t *sealed = p->sealed[((struct worker_arg *)arg)->index];
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && p->taken == p->queued)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stop)
			break;
		struct slot *s = &p->slots[p->taken % p->nslots];
		p->taken++;
		s->state = SLOT_BUSY;
		pthread_mutex_unlock(&p->lock);
		/* The slot is ours while BUSY: no lock around the work. */
		memset(&s->ref, 0, sizeof(s->ref));
		int r = seal_put(p->st, sealed, p->sealed_cap, s->plain, s->len,
				 BLOCK_CHUNK, &s->ref);
		pthread_mutex_lock(&p->lock);
		s->err = r;
		s->state = SLOT_DONE;
		pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Stops and joins the threads (dropping chunks not yet started), frees
 * everything.  NULL is fine. */
static void pool_free(struct pool *p)
{
	if (!p)
		return;
	if (p->nthreads > 0) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_cond_broadcast(&p->work);
		pthread_mutex_unlock(&p->lock);
		for (unsigned i = 0; i < p->nthreads; i++)
			pthread_join(p->threads[i], NULL);
	}
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->lock);
	for (unsigned i = 0; p->slots && i < p->nslots; i++) {
		wipe_free(p->slots[i].plain, p->chunk_size);
		sodium_memzero(&p->slots[i].ref, sizeof(p->slots[i].ref));
	}
	for (unsigned i = 0; p->sealed && i + 1 < p->nslots; i++)
		free(p->sealed[i]);
	free(p->slots);
	free(p->sealed);
	free(p->threads);
	free(p->args);
	free(p);
}

static int pool_alloc(struct pool *p, unsigned n)
{
	p->nslots = n + 1;
	p->slots = calloc(p->nslots, sizeof(*p->slots));
	p->sealed = calloc(n, sizeof(*p->sealed));
	p->threads = calloc(n, sizeof(*p->threads));
	p->args = calloc(n, sizeof(*p->args));
	if (!p->slots || !p->sealed || !p->threads || !p->args)
		return -ENOMEM;
	for (unsigned i = 0; i < p->nslots; i++)
		if (!(p->slots[i].plain = malloc(p->chunk_size)))
			return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		if (!(p->sealed[i] = malloc(p->sealed_cap)))
			return -ENOMEM;
	return 0;
}

/* n threads sealing for st, or NULL if not even one could start. */
static struct pool *pool_new(const struct obj_store *st, unsigned n)
{
	struct pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->st = st;
	p->chunk_size = st->chunk_size;
	p->sealed_cap = chunk_block_cap(st->chunk_size);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	if (pool_alloc(p, n) != 0) {
		pool_free(p);
		return NULL;
	}
	/* The threads inherit the mask: signals stay with the caller's
	 * threads (the mount's handlers), never with ours. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < n; i++) {
		p->args[i] = (struct worker_arg){p, i};
		if (pthread_create(&p->threads[i], NULL, pool_worker,
				   &p->args[i]) != 0)
			break;
		p->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p->nthreads == 0) {
		pool_free(p);
		return NULL;
	}
	return p;
}

/* ---- the streaming writer ---- */

struct obj_writer {
	struct obj_store st; /* the caller's, scoped to this object */
	uint8_t secret[IPMD_KEY_BYTES]; /* st.convergence under message scope */
	struct builder b;
	uint8_t *chunk; /* st->chunk_size bytes of plaintext */
	size_t fill;
	int err; /* sticky: a failed write spoils the object */
	struct pool *pool; /* sealing threads, once started */
	bool inline_only;  /* no threads wanted, or they failed to start */
};

int obj_writer_new(struct obj_store *st, struct obj_writer **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!store_ok(st))
		return -EINVAL;
	if (!st->convergence)
		return -EROFS;
	struct obj_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	uint8_t salt[IPMD_SCOPE_SALT_BYTES];
	randombytes_buf(salt, sizeof(salt));
	obj_store_scoped(st, salt, w->secret, &w->st);
	st = &w->st;
	w->chunk = malloc(st->chunk_size);
	if (!w->chunk || builder_init(&w->b, st, st->chunk_size) != 0) {
		builder_free(&w->b);
		free(w->chunk);
		sodium_memzero(w->secret, sizeof(w->secret));
		free(w);
		return -ENOMEM;
	}
	w->inline_only = st->seal_threads == 0;
	*out = w;
	return 0;
}

/* Gives the oldest handed-over chunk's result to the builder, waiting for
 * it if wait, else only if it is ready.  1 if one was taken, 0 if none
 * (none out, or not ready), or an error: the chunk's or the builder's. */
static int pool_take(struct obj_writer *w, bool wait)
{
	struct pool *p = w->pool;
	if (p->collected == p->queued)
		return 0;
	struct slot *s = &p->slots[p->collected % p->nslots];
	pthread_mutex_lock(&p->lock);
	while (wait && s->state != SLOT_DONE)
		pthread_cond_wait(&p->done, &p->lock);
	bool ready = s->state == SLOT_DONE;
	pthread_mutex_unlock(&p->lock);
	if (!ready)
		return 0;
	int r = s->err;
	if (r == 0)
		r = builder_add_chunk(&w->b, &s->ref);
	sodium_memzero(&s->ref, sizeof(s->ref));
	s->state = SLOT_FREE; /* no thread looks at a slot not queued */
	p->collected++;
	return r < 0 ? r : 1;
}

/* Hands plain[0..len) over to the threads.  plain == w->chunk trades
 * buffers with the slot instead of copying. */
static int pool_submit(struct obj_writer *w, const uint8_t *plain, size_t len)
{
	struct pool *p = w->pool;
	if (p->queued - p->collected == p->nslots) {
		int r = pool_take(w, true);
		if (r < 0)
			return r;
	}
	struct slot *s = &p->slots[p->queued % p->nslots];
	if (plain == w->chunk) {
		uint8_t *t = s->plain;
		s->plain = w->chunk;
		w->chunk = t;
	} else {
		memcpy(s->plain, plain, len);
	}
	s->len = len;
	pthread_mutex_lock(&p->lock);
	s->state = SLOT_QUEUED;
	p->queued++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	/* Results that are ready go to the builder now: its index blocks
	 * get sealed while the threads work. */
	int r;
	do
		r = pool_take(w, false);
	while (r == 1);
	return r;
}

/* may_start: start the threads if they are wanted and not running yet
 * (not for the tail: an object of one partial chunk needs none). */
static int writer_seal_chunk(struct obj_writer *w, const uint8_t *plain,
			     size_t len, bool may_start)
{
	if (!w->pool && !w->inline_only && may_start) {
		w->pool = pool_new(w->b.st, w->b.st->seal_threads);
		w->inline_only = !w->pool;
	}
	if (w->pool)
		return pool_submit(w, plain, len);
	struct chunk_ref c;
	memset(&c, 0, sizeof(c));
	int r = put_sealed(&w->b, plain, len, BLOCK_CHUNK, &c);
	if (r == 0)
		r = builder_add_chunk(&w->b, &c);
	sodium_memzero(&c, sizeof(c));
	return r;
}

int obj_writer_write(struct obj_writer *w, const uint8_t *data, size_t len)
{
	if (!w || (len > 0 && !data))
		return -EINVAL;
	if (w->err)
		return w->err;
	size_t cs = w->b.st->chunk_size;
	int r = 0;
	while (len > 0 && r == 0) {
		if (w->fill == 0 && len >= cs) {
			/* Whole chunks straight from the caller: no copy. */
			r = writer_seal_chunk(w, data, cs, true);
			data += cs;
			len -= cs;
			continue;
		}
		size_t n = cs - w->fill < len ? cs - w->fill : len;
		memcpy(w->chunk + w->fill, data, n);
		w->fill += n;
		data += n;
		len -= n;
		if (w->fill == cs) {
			r = writer_seal_chunk(w, w->chunk, cs, true);
			w->fill = 0;
		}
	}
	w->err = r;
	return r;
}

void obj_writer_abort(struct obj_writer *w)
{
	if (!w)
		return;
	pool_free(w->pool); /* first: its threads use the store */
	wipe_free(w->chunk, w->b.st ? w->b.st->chunk_size : 0);
	builder_free(&w->b);
	sodium_memzero(w->secret, sizeof(w->secret));
	free(w);
}

int obj_writer_finish(struct obj_writer *w, struct obj_ref *ref)
{
	if (!w)
		return -EINVAL;
	int r = w->err;
	if (!ref)
		r = -EINVAL;
	if (r == 0 && w->fill > 0)
		r = writer_seal_chunk(w, w->chunk, w->fill, false);
	/* Every chunk handed over, in order, before the indexes close. */
	while (r == 0 && w->pool && w->pool->collected < w->pool->queued) {
		int t = pool_take(w, true);
		r = t < 0 ? t : 0;
	}
	if (r == 0)
		r = builder_finish(&w->b, ref);
	if (r != 0 && ref)
		set_empty(ref);
	obj_writer_abort(w);
	return r;
}

/* ---- single chunks ---- */

int obj_seal_chunk(struct obj_store *st, const uint8_t *plain, size_t len,
		   struct chunk_ref *out)
{
	if (!store_ok(st) || !out || !plain || len == 0 ||
	    len > st->chunk_size)
		return -EINVAL;
	if (!st->convergence)
		return -EROFS;
	struct builder b;
	memset(out, 0, sizeof(*out));
	/* A builder with fanout-sized index room would waste memory here. */
	memset(&b, 0, sizeof(b));
	b.st = st;
	b.sealed_cap = chunk_block_cap(len);
	b.sealed = malloc(b.sealed_cap);
	if (!b.sealed)
		return -ENOMEM;
	int r = put_sealed(&b, plain, len, BLOCK_CHUNK, out);
	free(b.sealed);
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

/*
 * Fetch c into sealed (cap ≥ chunk_block_cap(c->size) bytes), verify, open
 * into plain (c->size bytes) and remember the plaintext in the cache.  The
 * block must be c->size or obj_padded_len(c->size) bytes of plaintext
 * (object.h, "Chunk padding"), with zero padding.
 */
static int fetch_chunk(struct obj_store *st, const struct chunk_ref *c,
		       uint8_t *sealed, size_t cap, uint8_t *plain)
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
	(void)chunk_cache_insert(st->cache, &c->cid, plain, (size_t)c->size);
	return 0;
}

int obj_open_chunk(struct obj_store *st, const struct chunk_ref *c,
		   uint8_t *plain, size_t *len)
{
	if (!st || !st->bs || !c || !plain || !len)
		return -EINVAL;
	*len = 0;
	if (c->size == 0 || !cid_raw_ok(&c->cid) || c->size > OBJ_CHUNK_MAX)
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
	size_t cap = chunk_block_cap((size_t)c->size);
	uint8_t *sealed = malloc(cap);
	if (!sealed)
		return -ENOMEM;
	int r = fetch_chunk(st, c, sealed, cap, plain);
	free(sealed);
	if (r == 0)
		*len = (size_t)c->size;
	return r;
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
	size_t need = chunk_block_cap(t->chunk_size);
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
	bool fits = store_ok(st);
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
		    !cid_raw_ok(&c))
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
	if (!cid_raw_ok(&ref->cid) || ref->depth > OBJ_DEPTH_MAX)
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
	t->nchunks = ref->size / t->chunk_size +
		     (ref->size % t->chunk_size != 0);
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
		entry_get(n->plain + OBJ_INDEX_HEADER_BYTES +
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

/* Copy bytes [a, b) of chunk c into out. */
static int tree_read_chunk(struct tree *t, const struct chunk_ref *c,
			   size_t a, size_t b, uint8_t *out)
{
	struct obj_store *st = t->st;
	size_t got = 0;
	if (st->cache &&
	    chunk_cache_read(st->cache, &c->cid, a, out, b - a, &got) == 0)
		return got == b - a ? 0 : -EBADMSG;
	size_t cap = tree_block_max(t);
	int r = tree_room(t, cap);
	if (r != 0)
		return r;
	if (a == 0 && b == c->size) /* the whole chunk: open in place */
		return fetch_chunk(st, c, t->sealed, cap, out);
	if (!t->chunk) {
		t->chunk = malloc(t->chunk_size);
		if (!t->chunk)
			return -ENOMEM;
	}
	r = fetch_chunk(st, c, t->sealed, cap, t->chunk);
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

int obj_build(struct obj_store *st, const struct chunk_ref *chunks, size_t n,
	      struct obj_ref *out)
{
	if (!store_ok(st) || !out || (n > 0 && !chunks))
		return -EINVAL;
	set_empty(out);
	for (size_t i = 0; i < n; i++) {
		uint64_t sz = chunks[i].size;
		if (!cid_raw_ok(&chunks[i].cid) || sz == 0 ||
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
	int r = builder_init(&b, st, 0);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = builder_add_chunk(&b, &chunks[i]);
	if (r == 0)
		r = builder_finish(&b, out);
	builder_free(&b);
	if (r != 0)
		set_empty(out);
	return r;
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
