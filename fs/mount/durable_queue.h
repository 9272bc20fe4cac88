/*
 * fs/mount/durable_queue.h — callers that need durability without waiting
 * for it: one thread makes the store durable for all of them and tells
 * each.
 *
 * A FUSE fsync (and a rename into another directory, a link, mkdir,
 * symlink, fsyncdir) may reply only once what it promises is durable: the
 * blocks put and the journal records appended before it (mount.h,
 * "Durability").  Waiting for that in the FUSE worker held the worker for
 * the whole group commit (46 ms under load), and with libfuse's ten
 * workers all waiting, every other request queued behind them.  Instead
 * the worker appends what it must (without sync), queues a waiter here and
 * returns to the loop; this queue's thread takes every waiter queued so
 * far, calls sync once, and calls each waiter's done with its result.
 *
 * Promises:
 * - done(w, err) is called exactly once for every waiter durable_queue_add
 *   accepted, from the queue's thread or from durable_queue_stop, after
 *   a sync(arg) that began after the add returned: err 0 means
 *   everything put or appended before the add is durable; otherwise the
 *   sync's negative errno (a failed sync is never reported as success).
 * - Waiters are answered in the order they were added.
 * - Once durable_queue_stop has returned, nothing is queued and no done
 *   runs; an add after the stop began returns false (the caller then
 *   waits itself).
 * done runs with no lock of the queue held; it must not add to the queue
 * it is called from.
 *
 * Thread safety: add may be called from any thread; start and stop from
 * one (the mount's owner).
 */
#ifndef IPMD_FS_MOUNT_DURABLE_QUEUE_H
#define IPMD_FS_MOUNT_DURABLE_QUEUE_H

#include <stdbool.h>

struct durable_wait {
	struct durable_wait *next; /* the queue's while queued */
	void (*done)(struct durable_wait *w, int err);
};

struct durable_queue;

/* Start the queue's thread; sync(arg) makes everything so far durable
 * and returns 0 or a negative errno.  0 or a negative errno. */
int durable_queue_start(int (*sync)(void *arg), void *arg,
			struct durable_queue **out);
/* Queue w (its done set by the caller; next is the queue's).  false when
 * q is NULL or stopping: w was not queued, and the caller must make the
 * store durable itself. */
bool durable_queue_add(struct durable_queue *q, struct durable_wait *w);
/* Answer every waiter still queued (one more sync), stop the thread and
 * free q.  NULL is fine. */
void durable_queue_stop(struct durable_queue *q);

#endif
