/* fs/mount/durable_queue.c — see durable_queue.h. */
#include "fs/mount/durable_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "util/thread.h"

struct durable_queue {
	pthread_mutex_t lock; /* guards head, tail, stopping */
	pthread_cond_t wake;
	bool stopping;
	struct durable_wait *head, *tail; /* added, not yet taken */
	int (*sync)(void *arg);
	void *arg;
	pthread_t thread;
};

/* Under lock: anything to answer? */
static bool has_waiters(void *arg)
{
	struct durable_queue *q = arg;
	return q->head != NULL;
}

/* Without lock: take every waiter queued so far, then sync: the sync
 * begins after each taken add returned, so it covers what they wait
 * for.  Those added meanwhile wait for the next round (the journal's
 * group commit lets that sync share an fdatasync with others). */
static void answer_batch(void *arg)
{
	struct durable_queue *q = arg;
	pthread_mutex_lock(&q->lock);
	struct durable_wait *w = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->lock);
	if (!w)
		return;
	int err = q->sync(q->arg);
	while (w) {
		struct durable_wait *next = w->next; /* done may free w */
		w->done(w, err);
		w = next;
	}
}

static void *queue_main(void *arg)
{
	struct durable_queue *q = arg;
	thread_loop(&q->lock, &q->wake, &q->stopping, 0, has_waiters,
		    answer_batch, q);
	return NULL;
}

int durable_queue_start(int (*sync)(void *arg), void *arg,
			struct durable_queue **out)
{
	struct durable_queue *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->sync = sync;
	q->arg = arg;
	int started = thread_start(&q->lock, &q->wake, &q->thread, 1,
				   queue_main, q);
	if (started < 0) {
		free(q);
		return started;
	}
	*out = q;
	return 0;
}

bool durable_queue_add(struct durable_queue *q, struct durable_wait *w)
{
	if (!q)
		return false;
	w->next = NULL;
	pthread_mutex_lock(&q->lock);
	bool ok = !q->stopping;
	if (ok) {
		if (q->tail)
			q->tail->next = w;
		else
			q->head = w;
		q->tail = w;
		pthread_cond_signal(&q->wake);
	}
	pthread_mutex_unlock(&q->lock);
	return ok;
}

void durable_queue_stop(struct durable_queue *q)
{
	if (!q)
		return;
	thread_stop(&q->lock, &q->wake, &q->stopping, q->thread);
	/* The thread may have stopped with waiters queued; no add succeeds
	 * any more, so this round answers the last of them. */
	answer_batch(q);
	pthread_cond_destroy(&q->wake);
	pthread_mutex_destroy(&q->lock);
	free(q);
}
