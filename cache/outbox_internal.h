/*
 * cache/outbox_internal.h — what the pieces of the outbox (outbox.h)
 * share; for cache/outbox*.c only.
 *
 * The pieces, one job each:
 *   outbox.c         the block store: put/get/has/remove/sync over the
 *                    local store and the remote, opening (outbox_wrap)
 *                    and closing, the counters;
 *   outbox_log.c     STORE/outbox.log: records, reading, compaction, and
 *                    the calls on an unmounted store's log;
 *   outbox_upload.c  the upload queue and the uploader threads (batches,
 *                    backoff, coalescing), outbox_start and the drain;
 *   outbox_cap.c     the local cap: sizes and last uses (cache/lru.h),
 *                    eviction, STORE/outbox.cap and outbox.evicted.
 * Pending blocks are an ipfs/cidset of raw CIDs, used by digest: the log,
 * the queue and the LRU all hold sha2-256 digests.
 *
 * Locking: everything of struct outbox below `lock` is under it, and the
 * functions below say when they expect it held.
 */
#ifndef IPMD_CACHE_OUTBOX_INTERNAL_H
#define IPMD_CACHE_OUTBOX_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cache/lru.h"
#include "cache/outbox.h"
#include "ipfs/cidset.h"
#include "util/clock.h"

#define DIGEST 32
#define REC_ADD '+'
#define REC_DONE '-'

_Static_assert(OUTBOX_RECORD_BYTES == 1 + DIGEST, "op ‖ digest");

/* FIFO of digests waiting for an uploader. */
struct dqueue {
	uint8_t (*items)[DIGEST];
	size_t cap, head, len;
};

struct outbox {
	struct blockstore base;
	struct blockstore *local, *remote;
	outbox_log_fn log;
	void *log_arg;
	void (*changed)(void *arg); /* outbox_config's */
	void *changed_arg;
	bool read_only;
	bool cache_reads;
	char path[PATH_MAX];
	char dir[PATH_MAX];   /* the store */
	int fd;               /* the log, O_APPEND; -1 read-only */

	pthread_mutex_t lock; /* everything below */
	pthread_cond_t work, drained;
	struct cid_set *pending; /* raw: by digest */
	/* Pending blocks requeued (outbox_requeue) while an upload of them
	 * may be under way since before the remote lost them: one more
	 * upload before they are done. */
	struct cid_set *again;
	struct dqueue queue;
	bool log_dirty;       /* '+' written since the last fdatasync */
	bool stopping;
	/* outbox_start() ran: the journal's replay (which puts back blocks
	 * whose '+' a crash may have lost) is over. */
	bool started;
	uint64_t resume_at_ms; /* uploads pause until then after a failure */
	unsigned backoff_ms;
	unsigned inflight;
	uint64_t queued_since_ms; /* when the queue last stopped being empty */
	unsigned drain_waiters;   /* in outbox_wait_drained: no coalescing */
	struct outbox_stats st;
	unsigned nthreads, want_threads;
	pthread_t threads[OUTBOX_MAX_UPLOADERS];
	struct lru *lru;      /* with a cap only */
	uint64_t cap;
	bool evicting;        /* a pass is asking the node, lock dropped */
	/* STORE/outbox.evicted: appends and gc's rewrite (outbox.h) take
	 * it, never with `lock` held. */
	pthread_mutex_t evicted_lock;
};

/* In the table's own calls, where bs is the outbox (the dispatchers of
 * ipfs/blockstore.h call a layer's slot with that layer). */
static inline struct outbox *to_ob(struct blockstore *bs)
{
	return (struct outbox *)bs;
}

/* ---- outbox.c ---- */

/* The outbox of the stack bs (bs itself or a layer below), or NULL. */
struct outbox *ob_find(struct blockstore *bs);

/* A message to the configured log (nothing without one). */
void ob_say(struct outbox *o, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Under lock: d becomes pending, its '+' logged and it is queued for an
 * uploader.  1, 0 if it was pending already, or negative errno. */
int ob_enqueue(struct outbox *o, const uint8_t *d);

/* ---- outbox_log.c ---- */

/* The raw CID of a sha2-256 digest, and back (NULL: not a raw sha2-256
 * CID, which the outbox never holds). */
void ob_cid_of_digest(struct cid *c, const uint8_t *d);
const uint8_t *ob_digest_of(const struct cid *c);
/* STORE/outbox.log of the store dir into out: 0 or -ENAMETOOLONG. */
int ob_log_path(const char *dir, char *out, size_t size);
/* Read a log into a set (the pending digests).  -ENOENT if absent. */
int ob_read_log(const char *path, struct cid_set *s);
/* Under lock: one record appended to the open log (none read-only). */
int ob_log_rec(struct outbox *o, char op, const uint8_t *d);
/* At open: the pending set written as a fresh log, atomically; o->fd
 * left open on it for appending, every pending digest queued. */
int ob_compact(struct outbox *o);

/* ---- outbox_upload.c ---- */

/* d at the end of the queue: 0 or -ENOMEM (the queue unchanged). */
int ob_dq_push(struct dqueue *q, const uint8_t *d);
/* The queue's first digest into d and off the queue; false if empty. */
bool ob_dq_pop(struct dqueue *q, uint8_t *d);

/* ---- outbox_cap.c ---- */

/* Bring the local store under the cap (no lock held): drop the least
 * recently used blocks on the remote not used since `before`. */
void ob_evict(struct outbox *o, uint64_t before);
/* STORE/outbox.cap rewritten with these figures (no lock held). */
void ob_write_cap_file(struct outbox *o, uint64_t bytes, uint64_t evicted);
/* At open: an LRU of the local store's blocks, sizes and last uses from
 * their files; the cap set. */
int ob_seed_lru(struct outbox *o, uint64_t cap);

#endif
