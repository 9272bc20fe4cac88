/* tests/unit/test_durable_queue.c — answers after a sync (fs/mount/durable_queue.h). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "fs/mount/durable_queue.h"
#include "tests/tap.h"

#define THREADS 8
#define PER_THREAD 500

/* The fake store: a counter of "appends"; a sync makes every append so
 * far durable and fails while fail is set. */
struct fake {
	atomic_ulong appended;
	atomic_ulong durable;
	atomic_ulong syncs;
	atomic_int fail;
};

struct waiter {
	struct durable_wait w; /* first */
	struct fake *f;
	unsigned long mine; /* the append this waiter waits for */
	atomic_int calls;
	int err;
	atomic_int early; /* done came before its append was durable */
};

static int fake_sync(void *arg)
{
	struct fake *f = arg;
	unsigned long upto = atomic_load(&f->appended);
	atomic_fetch_add(&f->syncs, 1);
	if (atomic_load(&f->fail))
		return -EIO;
	atomic_store(&f->durable, upto);
	return 0;
}

static void done(struct durable_wait *w, int err)
{
	struct waiter *x = (struct waiter *)w;
	if (!err && atomic_load(&x->f->durable) < x->mine)
		atomic_store(&x->early, 1);
	x->err = err;
	atomic_fetch_add(&x->calls, 1);
}

struct worker {
	struct durable_queue *q;
	struct fake *f;
	struct waiter *w; /* PER_THREAD */
	int refused;
};

static void *add_many(void *arg)
{
	struct worker *k = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		struct waiter *x = &k->w[i];
		x->f = k->f;
		x->w.done = done;
		x->mine = atomic_fetch_add(&k->f->appended, 1) + 1;
		if (!durable_queue_add(k->q, &x->w))
			k->refused++;
	}
	return NULL;
}

static void test_many(void)
{
	struct fake f = {0};
	struct durable_queue *q;
	ok(durable_queue_start(fake_sync, &f, &q) == 0, "queue starts");
	static struct waiter ws[THREADS][PER_THREAD];
	struct worker k[THREADS];
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++) {
		k[i] = (struct worker){.q = q, .f = &f, .w = ws[i]};
		pthread_create(&t[i], NULL, add_many, &k[i]);
	}
	int refused = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		refused += k[i].refused;
	}
	durable_queue_stop(q);
	is_int(refused, 0, "no add refused before the stop");
	int once = 1, early = 0, failed = 0;
	for (int i = 0; i < THREADS; i++)
		for (int j = 0; j < PER_THREAD; j++) {
			once &= atomic_load(&ws[i][j].calls) == 1;
			early |= atomic_load(&ws[i][j].early);
			failed |= ws[i][j].err != 0;
		}
	ok(once, "each of %d waiters answered exactly once, the stop "
		 "answering what was left", THREADS * PER_THREAD);
	ok(!early, "none answered before its append was durable");
	ok(!failed, "every answer 0");
	unsigned long syncs = atomic_load(&f.syncs);
	ok(syncs >= 1 && syncs <= (unsigned long)THREADS * PER_THREAD,
	   "%lu syncs for %d waiters", syncs, THREADS * PER_THREAD);
}

static void test_error_and_stop(void)
{
	struct fake f = {0};
	struct durable_queue *q;
	ok(durable_queue_start(fake_sync, &f, &q) == 0, "queue starts");
	atomic_store(&f.fail, 1);
	static struct waiter ws[3];
	for (int i = 0; i < 3; i++) {
		ws[i].f = &f;
		ws[i].w.done = done;
		ws[i].mine = atomic_fetch_add(&f.appended, 1) + 1;
		ok(durable_queue_add(q, &ws[i].w), "add %d", i);
	}
	durable_queue_stop(q);
	for (int i = 0; i < 3; i++) {
		is_int(atomic_load(&ws[i].calls), 1, "failing sync: waiter %d "
						      "answered once", i);
		is_int(ws[i].err, -EIO, "with the sync's error");
	}
	struct waiter late = {.f = &f, .w.done = done};
	ok(!durable_queue_add(NULL, &late.w), "no queue: add refused");
	is_int(atomic_load(&late.calls), 0, "and nothing answered");
	durable_queue_stop(NULL);
}

int main(void)
{
	test_many();
	test_error_and_stop();
	return tap_done();
}
