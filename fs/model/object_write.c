/* fs/model/object_write.c — the streaming writer (obj_writer_*) and its
 * sealing threads (object.h, "Parallel sealing").  object_internal.h says
 * which file does what.
 */
#include "fs/model/object_internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/seal.h"
#include "util/thread.h"
#include "util/wipe.h"

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
	int err;               /* of obj_seal_put, once DONE */
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
		int r = obj_seal_put(p->st, sealed, p->sealed_cap, s->plain,
				     s->len, BLOCK_CHUNK, &s->ref);
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
	if (p->nthreads > 0)
		thread_stop_all(&p->lock, &p->work, &p->stop, p->threads,
				p->nthreads);
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
	p->sealed_cap = obj_chunk_block_cap(st->chunk_size);
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
	if (!obj_store_ok(st))
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
	if (!w->chunk || obj_builder_init(&w->b, st, st->chunk_size) != 0) {
		obj_builder_free(&w->b);
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
		r = obj_builder_add_chunk(&w->b, &s->ref);
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
	int r = obj_put_sealed(&w->b, plain, len, BLOCK_CHUNK, &c);
	if (r == 0)
		r = obj_builder_add_chunk(&w->b, &c);
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
	obj_builder_free(&w->b);
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
		r = obj_builder_finish(&w->b, ref);
	if (r != 0 && ref)
		obj_set_empty(ref);
	obj_writer_abort(w);
	return r;
}

int obj_write_fd(struct obj_store *st, int fd, uint8_t *buf, size_t size,
		 struct obj_ref *ref)
{
	struct obj_writer *w;
	int e = obj_writer_new(st, &w);
	while (!e) {
		ssize_t n = read(fd, buf, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			e = -errno;
		else if (n == 0)
			break;
		else
			e = obj_writer_write(w, buf, (size_t)n);
	}
	if (e) {
		obj_writer_abort(w);
		return e;
	}
	return obj_writer_finish(w, ref);
}
