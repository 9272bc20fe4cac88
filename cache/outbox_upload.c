/* cache/outbox_upload.c — the upload queue and the uploader threads
 * (outbox.h: batches, coalescing, retries with backoff), outbox_start and
 * the drain at unmount.
 */
#include "cache/outbox_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "ipfs/bs_kubo.h"
#include "util/array.h"

#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS 10000

int ob_dq_push(struct dqueue *q, const uint8_t *d)
{
	if (q->len == q->cap) {
		size_t old = q->cap;
		uint8_t(*n)[DIGEST] =
			array_grow(q->items, q->len, &q->cap, DIGEST, 256);
		if (!n)
			return -ENOMEM;
		/* A full ring runs from head to the end, then from 0 to
		 * head: move that second part past the old end, into the new
		 * room, so the queue runs from head without a wrap. */
		if (q->head)
			memcpy(n[old], n[0], q->head * DIGEST);
		q->items = n;
	}
	memcpy(q->items[(q->head + q->len) % q->cap], d, DIGEST);
	q->len++;
	return 0;
}

bool ob_dq_pop(struct dqueue *q, uint8_t *d)
{
	if (!q->len)
		return false;
	memcpy(d, q->items[q->head], DIGEST);
	q->head = (q->head + 1) % q->cap;
	q->len--;
	return true;
}

static void wait_until(pthread_cond_t *c, pthread_mutex_t *m, uint64_t ms)
{
	struct timespec ts = deadline_ms(ms);
	pthread_cond_timedwait(c, m, &ts);
}

/* Under lock: one block's upload is over (e == 0), or it vanished from
 * the local store (nothing left to upload), or it failed (e < 0: queued
 * again). */
static void block_done(struct outbox *o, const uint8_t *d, int e,
		       bool vanished)
{
	/* Requeued meanwhile (outbox_requeue): this upload may have gone
	 * before the remote lost it; one more, still pending. */
	if (cid_set_del_digest(o->again, d) && !e && !vanished) {
		ob_dq_push(&o->queue, d);
		o->st.uploaded++;
		return;
	}
	if (!e || vanished) {
		if (cid_set_del_digest(o->pending, d))
			ob_log_rec(o, REC_DONE, d);
		if (!e)
			o->st.uploaded++;
	} else {
		ob_dq_push(&o->queue, d); /* try again later */
		o->st.upload_errors++;
	}
}

/* Under lock: after a batch, whose first failure was e (0: none) and
 * which stored something or not.  One batch moves the backoff once. */
static void batch_done(struct outbox *o, int e, bool stored)
{
	if (stored && !e) {
		if (o->st.last_error)
			ob_say(o, LOG_NOTICE, "uploads to the node work again");
		o->st.last_error = 0;
		o->backoff_ms = 0;
	}
	if (e) {
		if (e != o->st.last_error) {
			/* A refused connection said as what it means to the
			 * user, with the address (as fs/mount/sync.c says it). */
			char msg[300];
			if (!bs_kubo_refused(o->remote, e, msg, sizeof(msg)))
				snprintf(msg, sizeof(msg), "%s", strerror(-e));
			ob_say(o, LOG_WARNING,
			       "uploads to the node fail (%s); %llu blocks "
			       "wait in the outbox, retrying",
			       msg,
			       (unsigned long long)cid_set_count(o->pending));
		}
		o->st.last_error = e;
		o->backoff_ms = o->backoff_ms ? o->backoff_ms * 2
					      : BACKOFF_FIRST_MS;
		if (o->backoff_ms > BACKOFF_MAX_MS)
			o->backoff_ms = BACKOFF_MAX_MS;
		o->resume_at_ms = now_ms() + o->backoff_ms;
	}
	o->st.pending = cid_set_count(o->pending);
	if (cid_set_count(o->pending) == 0)
		pthread_cond_broadcast(&o->drained);
	if (o->changed)
		o->changed(o->changed_arg);
}

#define UPLOAD_BATCH_BLOCKS 128

/*
 * Coalescing: an uploader starts a batch once UPLOAD_BATCH_BLOCKS blocks
 * are queued or the queue has been non-empty for OUTBOX_COALESCE_MS — at
 * once while someone waits for the drain (unmount) or at stop.  A
 * delivery queues a few blocks at moments apart; sent as they come, each
 * is one request, and a node on the same machine spends ~4 ms of CPU on
 * each (js-ipfs; Kubo takes about 90 ms a request beyond its blocks'
 * work), taken from the mail software.  Batched, a fraction of that.
 */
static bool coalescing(const struct outbox *o, uint64_t now, uint64_t *until)
{
	if (o->stopping || o->drain_waiters || o->queue.len == 0 ||
	    o->queue.len >= UPLOAD_BATCH_BLOCKS)
		return false;
	*until = o->queued_since_ms + OUTBOX_COALESCE_MS;
	return now < *until;
}

/*
 * An uploader's batch: up to UPLOAD_BATCH_BLOCKS queued blocks, read from
 * the local store into one arena, handed to the remote in one
 * bs_put_many (a node stores a batch in one request, see
 * ipfs/bs_kubo.h).  The arena holds one request's body to Kubo
 * (KUBO_IMPORT_MAX_BYTES): a batch is one request, which bounds how long
 * unmount waits for a busy uploader (128 blocks: about 0.3 s of Kubo's
 * work).  A block that no longer fits waits for the next batch.
 */
#define UPLOAD_ARENA_BYTES KUBO_IMPORT_MAX_BYTES
_Static_assert(UPLOAD_ARENA_BYTES >= BLOCK_MAX_BYTES,
	       "the arena holds a block of the largest size");

struct upload_batch {
	uint8_t digests[UPLOAD_BATCH_BLOCKS][DIGEST];
	struct bs_block blocks[UPLOAD_BATCH_BLOCKS];
	int results[UPLOAD_BATCH_BLOCKS];
	int read[UPLOAD_BATCH_BLOCKS]; /* the local read: 0, -ENOENT, … */
	uint8_t arena[UPLOAD_ARENA_BYTES];
};

/* Outside the lock: read the n blocks of b, upload those read.  Returns
 * the first upload failure (0: none); b->read and b->results say what
 * happened to each block (-ENOBUFS read: did not fit, not tried). */
static int upload_batch(struct outbox *o, struct upload_batch *b, size_t n)
{
	struct bs_block send[UPLOAD_BATCH_BLOCKS];
	size_t at[UPLOAD_BATCH_BLOCKS], m = 0, used = 0;
	for (size_t i = 0; i < n; i++) {
		struct cid cid;
		ob_cid_of_digest(&cid, b->digests[i]);
		size_t len = 0;
		b->read[i] = bs_get(o->local, &cid, b->arena + used,
				    UPLOAD_ARENA_BYTES - used, &len);
		b->results[i] = b->read[i];
		if (b->read[i] == -ENOENT) {
			char text[CID_TEXT_MAX] = "?";
			cid_format(&cid, text, sizeof(text));
			ob_say(o, LOG_WARNING,
			       "outbox: block %s is no longer in the local "
			       "store; not uploaded",
			       text);
		}
		if (b->read[i])
			continue;
		send[m] = (struct bs_block){b->arena + used, len};
		at[m++] = i;
		used += len;
	}
	int first = 0;
	if (m > 0) {
		int results[UPLOAD_BATCH_BLOCKS];
		first = bs_put_many(o->remote, send, m, 0, results);
		for (size_t j = 0; j < m; j++)
			b->results[at[j]] = results[j];
	}
	return first;
}

static void *uploader_main(void *arg)
{
	struct outbox *o = arg;
	struct upload_batch *b = malloc(sizeof(*b));
	if (!b)
		return NULL;
	pthread_mutex_lock(&o->lock);
	while (!o->stopping) {
		uint64_t t = now_ms(), until;
		if (t < o->resume_at_ms) {
			wait_until(&o->work, &o->lock, o->resume_at_ms - t);
			continue;
		}
		if (coalescing(o, t, &until)) {
			wait_until(&o->work, &o->lock, until - t);
			continue;
		}
		size_t n = 0;
		while (n < UPLOAD_BATCH_BLOCKS && ob_dq_pop(&o->queue, b->digests[n]))
			if (cid_set_has_digest(o->pending, b->digests[n]))
				n++; /* else removed meanwhile */
		if (n == 0) {
			pthread_cond_wait(&o->work, &o->lock);
			continue;
		}
		o->inflight += (unsigned)n;
		pthread_mutex_unlock(&o->lock);

		int e = upload_batch(o, b, n);

		pthread_mutex_lock(&o->lock);
		o->inflight -= (unsigned)n;
		bool stored = false;
		for (size_t i = 0; i < n; i++) {
			if (b->read[i] == -ENOBUFS) {
				ob_dq_push(&o->queue, b->digests[i]);
				continue;
			}
			/* A local read that failed otherwise is an upload
			 * failure: retried. */
			block_done(o, b->digests[i], b->results[i],
				   b->read[i] == -ENOENT);
			stored |= b->results[i] == 0;
			if (!e && b->results[i] && b->read[i] != -ENOENT)
				e = b->results[i];
		}
		batch_done(o, e, stored);
	}
	pthread_mutex_unlock(&o->lock);
	free(b);
	return NULL;
}

int outbox_start(struct blockstore *bs)
{
	struct outbox *o = ob_find(bs);
	if (!o)
		return 0;
	pthread_mutex_lock(&o->lock);
	o->started = true;
	pthread_mutex_unlock(&o->lock);
	if (!o->remote || o->read_only || o->nthreads)
		return 0;
	ob_evict(o, wall_ms());
	if (o->lru) {
		pthread_mutex_lock(&o->lock);
		uint64_t bytes = lru_bytes(o->lru), total = o->st.evicted;
		pthread_mutex_unlock(&o->lock);
		ob_write_cap_file(o, bytes, total);
	}
	for (unsigned i = 0; i < o->want_threads; i++) {
		int e = pthread_create(&o->threads[i], NULL, uploader_main, o);
		if (e)
			return -e;
		o->nthreads++;
	}
	return 0;
}

int outbox_wait_drained(struct blockstore *bs, unsigned timeout_ms)
{
	struct outbox *o = ob_find(bs);
	if (!o)
		return 0;
	uint64_t end = now_ms() + timeout_ms;
	pthread_mutex_lock(&o->lock);
	o->drain_waiters++;
	pthread_cond_broadcast(&o->work); /* stop coalescing */
	while (cid_set_count(o->pending)) {
		uint64_t t = now_ms();
		if (t >= end)
			break;
		wait_until(&o->drained, &o->lock, end - t);
	}
	o->drain_waiters--;
	int e = cid_set_count(o->pending) ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&o->lock);
	return e;
}
