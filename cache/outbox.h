/*
 * cache/outbox.h — the local store as cache and write-back outbox of a
 * remote block store (an IPFS node, ipfs/bs_kubo.h).
 *
 * A wrapper over the local store (it owns both; iterate and usage pass
 * through to the local store, ipfs/blockstore.h): every put goes to the
 * local store first, with the durability the caller asked for, and is
 * queued for upload; uploader threads copy queued blocks to the remote in
 * the background.  A put never waits for, nor fails because of, the remote.
 * Reads: local first; a block absent here is fetched from the remote
 * (which re-hashes it; bounded by its get timeout), kept locally as cache,
 * and served, never a hang.  A remote failure reads as the remote gave
 * it (ipfs/bs_kubo.h), so a caller can tell missing from tampered:
 * -ENOENT the node says it lacks the block, -ETIMEDOUT not found in
 * time (or no answer), -EBADMSG bytes that do not verify (rejected),
 * -ECONNREFUSED a node that is down; -ENOBUFS as for any get.
 *
 * The outbox — blocks stored here and not yet confirmed on the remote —
 * is persisted in STORE/outbox.log, an append-only list of 33-byte
 * records: '+' ‖ sha2-256 digest (queued) or '-' ‖ digest (confirmed on
 * the remote, or no longer to upload).  Pending = '+' not followed by '-'.
 * A torn last record is ignored.  The log is compacted (rewritten with the
 * pending entries only, then renamed) at every open.
 *
 * Invariant: a block in the local store that is not pending is on the
 * remote.  So
 *  - a '+' record is as durable as its block: put(BS_PUT_DURABLE) syncs the
 *    log too, and sync() syncs the local store, then the log; blocks made
 *    durable through the journal (fs/store/wal_store.h) are put back through
 *    this wrapper on replay and so queued again;
 *  - when no log exists yet (a store that never had a node), open queues
 *    every block of the local store;
 *  - '-' records need no sync: losing one only uploads a block twice
 *    (content addressed: idempotent).
 * A put of a block already local and not pending queues nothing (it is
 * on the remote) — from outbox_start() on: before it, during the
 * journal's replay, every put is queued, since a crash may have kept a
 * block file and lost its '+'.
 *
 * Uploads go in batches (bs_put_many: one request to a node for many
 * blocks): a batch starts once 128 blocks are queued or the first of them
 * has waited OUTBOX_COALESCE_MS, at once while outbox_wait_drained runs.
 *
 * Uploads retry forever with backoff (200 ms doubling to 10 s) while the
 * remote fails; nothing is dropped except a block that vanished from the
 * local store (removed), which is logged.
 *
 * Cap (local_cap_bytes, with a remote, not read-only): the local store is
 * then a cache of the remote.  Sizes and last uses are tracked
 * (cache/lru.h, seeded from the files' times at open); at every sync —
 * the commit, after which the journal no longer holds the blocks — and at
 * start, if the store is over the cap, the least recently used blocks are
 * removed locally until it is under 90% of it.  Never removed: a pending
 * block (not yet on the remote), or one put or read since the sync began
 * (the journal's, and those in use).  Removed blocks read back from the
 * remote on demand.  The figures (cap, tracked local bytes, blocks
 * evicted by this mount) are written to STORE/outbox.cap at start and
 * after each eviction, for `ipmaildir status` (outbox_cap_in).
 */
#ifndef IPMD_CACHE_OUTBOX_H
#define IPMD_CACHE_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "ipfs/blockstore.h"

#define OUTBOX_LOG_NAME "outbox.log"
#define OUTBOX_CAP_NAME "outbox.cap"
#define OUTBOX_EVICTED_NAME "outbox.evicted"
#define OUTBOX_RECORD_BYTES 33
#define OUTBOX_DEFAULT_UPLOADERS 2
#define OUTBOX_MAX_UPLOADERS 16
#define OUTBOX_COALESCE_MS 1000

/* How the outbox reports what nobody called for (uploads going wrong,
 * coming back, blocks rejected); prio is a syslog priority. */
typedef void (*outbox_log_fn)(int prio, const char *msg, void *arg);

struct outbox_config {
	const char *dir;            /* the store directory (holds the log) */
	struct blockstore *local;   /* taken over */
	struct blockstore *remote;  /* taken over; NULL: queue only */
	unsigned uploaders;         /* threads; 0: default */
	outbox_log_fn log;          /* may be NULL */
	void *log_arg;
	bool read_only;             /* never write the log (read-only mount) */
	bool cache_reads;           /* read-only too, but keep fetched blocks
				       (a mount from a node: the store is
				       only its cache) */
	uint64_t local_cap_bytes;   /* evict above this (see above); 0: none */
	/* Told after each upload batch (the pending count moved), under
	 * the outbox's lock: a wake-up, nothing more.  May be NULL. */
	void (*changed)(void *arg);
	void *changed_arg;
};

struct outbox_stats {
	uint64_t pending;        /* blocks not yet confirmed on the remote */
	uint64_t uploaded;       /* confirmed during this session */
	uint64_t upload_errors;  /* failed upload attempts */
	uint64_t remote_reads;   /* blocks fetched from the remote */
	uint64_t remote_read_errors;
	int last_error;          /* last upload failure (negative errno), 0 */
	bool remote;             /* a remote is configured */
	uint64_t local_bytes;    /* tracked local bytes (with a cap only) */
	uint64_t evicted;        /* blocks dropped locally under the cap */
};

/*
 * Wrap.  Reads and compacts the log (or seeds it from the local store).
 * On success *out owns local and remote; on failure the caller keeps
 * them.  Uploads start with outbox_start().
 */
int outbox_wrap(const struct outbox_config *cfg, struct blockstore **out);

/* The calls below take the outbox or any stack over it (they find it
 * with bs_find), and do nothing on a stack without one. */

/* Start the uploader threads (after any fork; for a store without a
 * remote, only ends the replay phase, see above).  0 or negative errno. */
int outbox_start(struct blockstore *bs);

/* A snapshot of the counters (all zero without an outbox). */
void outbox_stats(struct blockstore *bs, struct outbox_stats *st);

/* Wait until nothing is pending or timeout_ms passed: 0 or -ETIMEDOUT. */
int outbox_wait_drained(struct blockstore *bs, unsigned timeout_ms);

/* Pending count of a store that isn't mounted, from its log: 0 (and
 * *pending), -ENOENT when the store has no outbox, or negative errno. */
int outbox_pending_in(const char *dir, uint64_t *pending);

/* What STORE/outbox.cap last said (the running or last capped mount). */
struct outbox_cap_info {
	uint64_t cap_bytes, local_bytes, evicted;
};

/* 0, -ENOENT (never mounted with a cap), -EBADMSG, or negative errno. */
int outbox_cap_in(const char *dir, struct outbox_cap_info *ci);

/* Called once per pending block; non-zero stops the walk and is returned. */
typedef int (*outbox_cid_fn)(const struct cid *cid, void *arg);

/*
 * The remote may no longer hold cid (gc unpinned it, fs/tools/gc.h) while
 * the block is here, where a put of it would count it as on the remote
 * (the invariant above) and never upload it: if it is here, it is queued
 * for upload again — also when pending already, since an upload under
 * way may have reached the remote before it lost the block (that one is
 * then uploaded once more).  1 queued, 0 not here (a put of it uploads
 * it) or no outbox or read-only, or negative errno.
 */
int outbox_requeue(struct blockstore *bs, const struct cid *cid);

/*
 * Blocks evicted under the cap are on the node only, pinned there: so that
 * `ipmaildir gc` can unpin those it frees later, every eviction appends
 * the digests (32 bytes each) to STORE/outbox.evicted.  Not synced: a lost
 * entry only leaves a block pinned.  outbox_evicted_each calls fn for each
 * (a block may appear twice); outbox_evicted_rewrite replaces the file
 * with the blocks for which keep() says true, called for each record in
 * the file's order.  beside: the running mount's stack whose outbox
 * appends to the file (gc beside it, fs/tools/gc_live.h), which appends
 * nothing until the file is replaced; NULL: the store is not mounted.
 * 0, -ENOENT (no such file), fn's non-zero, negative errno.
 */
int outbox_evicted_each(const char *dir, outbox_cid_fn fn, void *arg);
int outbox_evicted_rewrite(const char *dir, struct blockstore *beside,
			   bool (*keep)(const struct cid *cid, void *arg),
			   void *arg);

/*
 * Queue one block of a store that isn't mounted for upload: append its '+'
 * to the log and fdatasync it, so the invariant holds for a block written
 * beside the outbox (fsck --repair's rollback commit).  The block must be
 * durable in the local store first.  0 (also when the store has no log:
 * the first open with a node queues every block), or negative errno.
 */
int outbox_queue_in(const char *dir, const struct cid *cid);
/* The same for n blocks with one fdatasync (offline gc's requeue): every
 * '+' appended, then one sync.  A CID the log can't name (-EINVAL) fails
 * before anything is written. */
int outbox_queue_in_many(const char *dir, const struct cid *cids, size_t n);

/* Every block pending in the log of a store (`ipmaildir gc` keeps them):
 * 0, -ENOENT when the store has no outbox, fn's non-zero, or a negative
 * errno. */
int outbox_pending_each(const char *dir, outbox_cid_fn fn, void *arg);

#endif
