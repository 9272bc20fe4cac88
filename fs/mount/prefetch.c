/* fs/mount/prefetch.c — see prefetch.h. */
#include "fs/mount/prefetch.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/thread.h"

struct request {
	struct obj_ref ref;
	uint64_t index;
	size_t bytes; /* the chunk's plaintext length */
};

struct prefetch {
	struct obj_store *st;
	pthread_t workers[PREFETCH_WORKERS];
	unsigned nworkers;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct request ring[PREFETCH_QUEUE];
	unsigned head, count;
	struct prefetch_stats stats; /* pending: the ring's and the workers'
					requests (PREFETCH_BYTES) */
	bool stopping;
	/* prefetch_ahead: the directory read last, and the first id of it
	 * not handed out yet. */
	uint64_t ahead_dir, ahead_next;
};

static void fetch(struct prefetch *p, const struct request *r, uint8_t *buf)
{
	struct chunk_ref c;
	size_t len;
	if (obj_chunk_at(p->st, &r->ref, r->index, &c) == 0 &&
	    obj_prefetch_chunk(p->st, &c, buf, &len) == 0)
		sodium_memzero(buf, len);
	sodium_memzero(&c, sizeof(c)); /* the chunk's key */
}

static void *worker_main(void *arg)
{
	struct prefetch *p = arg;
	uint8_t *buf = malloc(p->st->chunk_size);
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		if (p->count == 0) {
			pthread_cond_wait(&p->wake, &p->lock);
			continue;
		}
		struct request r = p->ring[p->head];
		/* The slot's file key: gone once taken, not when reused. */
		sodium_memzero(&p->ring[p->head], sizeof(r));
		p->head = (p->head + 1) % PREFETCH_QUEUE;
		p->count--;
		pthread_mutex_unlock(&p->lock);
		if (buf)
			fetch(p, &r, buf);
		size_t bytes = r.bytes;
		sodium_memzero(&r, sizeof(r));
		pthread_mutex_lock(&p->lock);
		p->stats.pending -= bytes;
	}
	pthread_mutex_unlock(&p->lock);
	free(buf);
	return NULL;
}

int prefetch_start(struct obj_store *st, struct prefetch **out)
{
	struct prefetch *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->st = st;
	/* Fewer workers than asked for still prefetch: only none fails. */
	int e = thread_start(&p->lock, &p->wake, p->workers, PREFETCH_WORKERS,
			     worker_main, p);
	if (e < 0) {
		free(p);
		return e;
	}
	p->nworkers = (unsigned)e;
	*out = p;
	return 0;
}

void prefetch_stop(struct prefetch *p)
{
	if (!p)
		return;
	/* One broadcast wakes every worker; each returns on seeing the
	 * flag. */
	thread_stop_all(&p->lock, &p->wake, &p->stopping, p->workers,
			p->nworkers);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	sodium_memzero(p->ring, sizeof(p->ring));
	free(p);
}

void prefetch_chunk(struct prefetch *p, const struct obj_ref *ref,
		    uint64_t index)
{
	size_t bytes = p ? obj_chunk_len(ref->size, p->st->chunk_size, index)
			 : 0;
	if (bytes == 0)
		return; /* past its end (or empty) */
	pthread_mutex_lock(&p->lock);
	struct prefetch_stats *s = &p->stats;
	if (p->count < PREFETCH_QUEUE &&
	    (s->pending == 0 || s->pending + bytes <= PREFETCH_BYTES)) {
		struct request *r =
			&p->ring[(p->head + p->count) % PREFETCH_QUEUE];
		r->ref = *ref;
		r->index = index;
		r->bytes = bytes;
		p->count++;
		s->pending += bytes;
		s->queued++;
		if (s->pending > s->peak)
			s->peak = s->pending;
		pthread_cond_signal(&p->wake);
	} else {
		s->dropped++;
	}
	pthread_mutex_unlock(&p->lock);
}

void prefetch_stats(struct prefetch *p, struct prefetch_stats *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->stats;
	pthread_mutex_unlock(&p->lock);
}

void prefetch_ahead(struct prefetch *p, uint64_t dir, uint64_t id,
		    uint64_t *from, uint64_t *to)
{
	*from = *to = id;
	if (!p || id > UINT64_MAX - 1 - PREFETCH_AHEAD)
		return;
	*to = id + 1 + PREFETCH_AHEAD;
	pthread_mutex_lock(&p->lock);
	/* Going on in the same directory: skip what was handed out. */
	bool on = dir == p->ahead_dir && id < p->ahead_next &&
		  p->ahead_next <= *to;
	*from = on ? p->ahead_next : id + 1;
	p->ahead_dir = dir;
	p->ahead_next = *to;
	pthread_mutex_unlock(&p->lock);
}
