/* tests/unit/test_gc_requeue.c — gc's unpin beside a running mount
 * (fs/tools/gc.h gc_requeue_kept, cache/outbox.h outbox_requeue).  The
 * outbox counts a block here and not pending as on the node, so a put of
 * it uploads nothing; gc unpins its dead blocks on the node before it
 * frees them here.  A block gc unpinned that is here after the frees must
 * go up to the node again, or the node's own gc drops it while the mount
 * uses it: one put again during the gc (convergent encryption names equal
 * content alike; the watch keeps it here), an evicted one put again and
 * uploaded before the unpin, one whose upload was under way when the
 * node lost it; after an unpin that failed, the whole batch that failed
 * (a refused connection too), whatever address named the node.  The
 * "node" is a second local
 * store behind a gate that can hold an upload; unpinning plus the
 * node's gc is one remove there. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cache/outbox.h"
#include "fs/tools/gc.h"
#include "ipfs/bs_kubo.h"
#include "ipfs/bs_local.h"
#include "ipfs/bs_watch.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

#define BSZ 3000

/* A wrapper whose put, once armed, stores the block below and then waits
 * until opened: an upload the node has done and not yet answered. */
struct gate {
	struct blockstore base;
	pthread_mutex_t m;
	pthread_cond_t c;
	bool armed, arrived, open;
};

static int gate_put(struct blockstore *bs, const uint8_t *data, size_t len,
		    unsigned flags, struct cid *cid_out)
{
	struct gate *g = (struct gate *)bs;
	int e = bs_put(bs_parent(bs), data, len, flags, cid_out);
	pthread_mutex_lock(&g->m);
	if (g->armed) {
		g->arrived = true;
		pthread_cond_broadcast(&g->c);
		while (!g->open)
			pthread_cond_wait(&g->c, &g->m);
		g->armed = false;
	}
	pthread_mutex_unlock(&g->m);
	return e;
}

static void gate_close(struct blockstore *bs)
{
	struct gate *g = (struct gate *)bs;
	pthread_cond_destroy(&g->c);
	pthread_mutex_destroy(&g->m);
	free(g);
}

static const struct blockstore_ops gate_ops = {
	.version = BLOCKSTORE_OPS_VERSION,
	.name = "gate",
	.put = gate_put,
	.close = gate_close,
};

struct rig {
	struct blockstore *top;  /* watch over outbox over local */
	struct blockstore *node; /* the remote's store, below the gate */
	struct blockstore *here; /* another handle on the local store */
	struct gate *gate;
	struct gc g;             /* only what the sweep reads */
};

static void rig_open(struct rig *r)
{
	const char *ldir = harness_path("l"), *rdir = harness_path("r");
	struct blockstore *local, *ob, *node;
	r->gate = harness_alloc(sizeof(*r->gate));
	if (bs_local_open(ldir, &local) || bs_local_open(rdir, &node) ||
	    bs_local_open(rdir, &r->node) || bs_local_open(ldir, &r->here))
		harness_bail("local stores");
	bs_wrap(&r->gate->base, &gate_ops, node);
	pthread_mutex_init(&r->gate->m, NULL);
	pthread_cond_init(&r->gate->c, NULL);
	struct outbox_config oc = {.dir = ldir, .local = local,
				   .remote = &r->gate->base};
	if (outbox_wrap(&oc, &ob) || bs_watch_wrap(ob, &r->top) ||
	    outbox_start(r->top))
		harness_bail("outbox");
	memset(&r->g, 0, sizeof(r->g));
	r->g.beside = r->top;
	r->g.h.local = r->here;
	snprintf(r->g.h.store.paths.root, sizeof(r->g.h.store.paths.root),
		 "%s", ldir);
}

/* A new block (random, seeded) put in blk, uploaded; its CID in cid. */
static void put_uploaded(struct rig *r, uint8_t *blk, unsigned seed,
			 struct cid *cid, const char *name)
{
	tap_fill_random(blk, BSZ, seed);
	is_int(bs_put(r->top, blk, BSZ, 0, cid), 0, "%s put", name);
	is_int(outbox_wait_drained(r->top, 20000), 0, "%s uploaded", name);
}

static uint64_t pending(struct rig *r)
{
	struct outbox_stats st;
	outbox_stats(r->top, &st);
	return st.pending;
}

/* gc's sweep after the unpin: free the dead through the watch, then
 * queue what is still here; n blocks requeued expected. */
static void sweep(struct rig *r, uint64_t n, const char *what)
{
	uint64_t freed, bytes, requeued = 99;
	char msg[512];
	is_int(gc_free(&r->g, false, NULL, NULL, &freed, &bytes, msg,
		       sizeof(msg)),
	       0, "%s: gc_free", what);
	is_int(gc_requeue_kept(&r->g, &requeued, msg, sizeof(msg)), 0,
	       "%s: gc_requeue_kept", what);
	is_int((long long)requeued, (long long)n, "%s: %llu requeued", what,
	       (unsigned long long)n);
	bs_watch_end(r->top);
	is_int(outbox_wait_drained(r->top, 20000), 0, "%s: drained", what);
	cid_list_free(&r->g.dead);
	cid_list_free(&r->g.evicted);
}

/* A dead block put again during the gc: kept here, and uploaded again. */
static void test_dead_put_again(struct rig *r, uint8_t *blk)
{
	struct cid a;
	put_uploaded(r, blk, 1, &a, "A");
	is_int(bs_watch_begin(r->top), 0, "gc begins: the watch");
	cid_list_add(&r->g.dead, &a); /* marked dead */
	is_int(bs_put(r->top, blk, BSZ, 0, NULL), 0,
	       "A put again during the gc");
	is_int((int)pending(r), 0, "… not queued: here, so on the node");
	is_int(bs_remove(r->node, &a), 0, "gc unpins A; the node drops it");
	sweep(r, 1, "dead A");
	is_int((int)r->g.kept_busy, 1, "gc_free kept A: put again meanwhile");
	r->g.kept_busy = 0;
	is_int(bs_has(r->here, &a), 1, "A still here (the watch kept it)");
	is_int(bs_has(r->node, &a), 1, "A on the node again");
	uint64_t pend = 99;
	is_int(outbox_pending_in(harness_path("l"), &pend), 0, "log reads");
	is_int((int)pend, 0, "the log: nothing pending");
}

/* An evicted block put again and uploaded before the unpin. */
static void test_evicted_put_again(struct rig *r, uint8_t *blk)
{
	struct cid b;
	put_uploaded(r, blk, 2, &b, "B");
	is_int(bs_remove(r->here, &b), 0, "B evicted here");
	is_int(bs_watch_begin(r->top), 0, "gc begins");
	cid_list_add(&r->g.evicted, &b); /* dead among the evicted */
	is_int(bs_put(r->top, blk, BSZ, 0, NULL), 0,
	       "B put again during the gc");
	is_int(outbox_wait_drained(r->top, 20000), 0,
	       "… and uploaded before the unpin");
	is_int(bs_remove(r->node, &b), 0, "gc unpins B; the node drops it");
	sweep(r, 1, "evicted B");
	is_int(bs_has(r->node, &b), 1, "B on the node again");
}

/* A dead block whose upload the node had done, not yet answered, when gc
 * unpinned it: once more after that upload. */
static void test_upload_under_way(struct rig *r, uint8_t *blk)
{
	struct cid c;
	tap_fill_random(blk, BSZ, 3);
	pthread_mutex_lock(&r->gate->m);
	r->gate->armed = true;
	pthread_mutex_unlock(&r->gate->m);
	is_int(bs_watch_begin(r->top), 0, "gc begins");
	is_int(bs_put(r->top, blk, BSZ, 0, &c), 0, "C put");
	cid_list_add(&r->g.dead, &c); /* say a dead block, put again */
	pthread_mutex_lock(&r->gate->m);
	while (!r->gate->arrived)
		pthread_cond_wait(&r->gate->c, &r->gate->m);
	pthread_mutex_unlock(&r->gate->m);
	is_int(bs_remove(r->node, &c), 0,
	       "C reached the node; gc unpins it, the node drops it");
	uint64_t requeued = 0;
	char msg[512];
	is_int(gc_requeue_kept(&r->g, &requeued, msg, sizeof(msg)), 0,
	       "requeued while its upload is under way");
	is_int((int)requeued, 1, "… C");
	pthread_mutex_lock(&r->gate->m);
	r->gate->open = true;
	pthread_cond_broadcast(&r->gate->c);
	pthread_mutex_unlock(&r->gate->m);
	bs_watch_end(r->top);
	is_int(outbox_wait_drained(r->top, 20000), 0, "drained");
	is_int(bs_has(r->node, &c), 1, "C on the node again");
	cid_list_free(&r->g.dead);
}

/* Blocks gone from here (freed) are not queued: a put of one uploads
 * it by itself. */
static void test_freed_not_queued(struct rig *r, uint8_t *blk)
{
	struct cid d;
	put_uploaded(r, blk, 4, &d, "D");
	is_int(bs_watch_begin(r->top), 0, "gc begins");
	cid_list_add(&r->g.dead, &d);
	is_int(bs_remove(r->node, &d), 0, "gc unpins D");
	sweep(r, 0, "freed D");
	is_int(bs_has(r->here, &d), 0, "D freed here");
	is_int(bs_put(r->top, blk, BSZ, 0, NULL), 0, "D put after the gc");
	is_int(outbox_wait_drained(r->top, 20000), 0, "drained");
	is_int(bs_has(r->node, &d), 1, "D on the node");
}

/* What gc_unpin, gc_free and the CLI set, back to none for the next. */
static void unpin_reset(struct rig *r)
{
	r->g.unpin_failed = false;
	r->g.dead_done = r->g.dead_reached = r->g.evicted_reached = 0;
	r->g.kept_busy = 0;
}

/* An unpin that failed partway (gc_unpin's counts, set here): the node
 * was done with E, F was in the batch that failed (its pin gone, as a
 * pin/rm whose answer was lost), G not reached.  Only E is freed; only F
 * goes up again: G is still pinned, and stays here, dead, for the next
 * gc. */
static void test_unpin_failed(struct rig *r, uint8_t *blk)
{
	struct cid e, f, g;
	put_uploaded(r, blk, 5, &e, "E");
	put_uploaded(r, blk, 6, &f, "F");
	put_uploaded(r, blk, 7, &g, "G");
	is_int(bs_watch_begin(r->top), 0, "gc begins");
	cid_list_add(&r->g.dead, &e);
	cid_list_add(&r->g.dead, &f);
	cid_list_add(&r->g.dead, &g);
	is_int(bs_remove(r->node, &e), 0, "gc unpins E");
	is_int(bs_remove(r->node, &f), 0, "… and F, and fails");
	r->g.unpin_failed = true;
	r->g.dead_done = 1;
	r->g.dead_reached = 2;
	sweep(r, 1, "unpin failed at F");
	ok(bs_has(r->here, &e) == 0 && bs_has(r->here, &f) == 1 &&
	   bs_has(r->here, &g) == 1,
	   "E freed here; F and G, which the node did not finish with, kept");
	is_int(bs_has(r->node, &f), 1, "F on the node again");
	is_int(bs_has(r->node, &g), 1, "G on the node, as it was");
	unpin_reset(r);
}

/* A node that refused the connection for the batch that failed (as it
 * does for the retry of a pin/rm it ran before it died: the pins here
 * are gone as that pin/rm left them).  The whole batch counts as
 * reached: K, put again during the gc, is live and goes up again (no
 * later gc names it); L, dead, too, since a later put of it would count
 * it as on the node.  Neither is freed here. */
static void test_refused_batch(struct rig *r, uint8_t *blk)
{
	struct cid k, l;
	put_uploaded(r, blk, 8, &l, "L");
	put_uploaded(r, blk, 9, &k, "K");
	is_int(bs_watch_begin(r->top), 0, "gc begins");
	cid_list_add(&r->g.dead, &k);
	cid_list_add(&r->g.dead, &l);
	is_int(bs_put(r->top, blk, BSZ, 0, NULL), 0, "K put again during the gc");
	is_int(bs_remove(r->node, &k), 0, "the node ran the pin/rm of K");
	is_int(bs_remove(r->node, &l), 0, "… and of L, and died");
	struct kubo_config cfg = {.addr = "/ip4/127.0.0.1/tcp/1",
				  .connections = 1, .timeout_ms = 2000,
				  .retries = 1, .backoff_ms = 10};
	struct blockstore *down = NULL;
	char msg[512];
	size_t unpinned = 99;
	is_int(bs_kubo_open(&cfg, &down), 0, "a store on a node that is down");
	ok(down && gc_unpin(&r->g, down, &unpinned, msg, sizeof(msg)) != 0,
	   "gc_unpin fails: %s", msg);
	ok(unpinned == 0 && r->g.unpin_failed && r->g.dead_done == 0,
	   "… nothing unpinned, nothing done");
	is_int((int)r->g.dead_reached, 2, "… the batch that failed reached");
	if (down)
		bs_close(down);
	sweep(r, 2, "refused batch");
	ok(bs_has(r->here, &k) == 1 && bs_has(r->here, &l) == 1,
	   "K and L kept here");
	is_int(bs_has(r->node, &k), 1, "K on the node again");
	is_int(bs_has(r->node, &l), 1, "L on the node again");
	unpin_reset(r);
}

/* gc unpinned on a node named by an address other than the outbox's
 * (here the outbox's own node under another name: its pins are gone):
 * every block still here that the unpin may have reached goes up again,
 * live or not.  M and P were put again during the gc (gc_free kept M,
 * the node done with it; P was in the batch that failed); Q, dead, was
 * in that batch too: left unqueued, a later put of the same content
 * would find it here and count it as on the node, which dropped its pin.
 * N is freed. */
static void test_other_address(struct rig *r, uint8_t *blk)
{
	struct cid m, n, p, q;
	put_uploaded(r, blk, 10, &m, "M");
	put_uploaded(r, blk, 11, &n, "N");
	put_uploaded(r, blk, 12, &p, "P");
	put_uploaded(r, blk, 13, &q, "Q");
	is_int(bs_watch_begin(r->top), 0, "gc begins");
	const struct cid *dead[] = {&m, &n, &p, &q};
	for (size_t i = 0; i < 4; i++) {
		cid_list_add(&r->g.dead, dead[i]);
		is_int(bs_remove(r->node, dead[i]), 0, "gc unpins %zu", i);
	}
	tap_fill_random(blk, BSZ, 10);
	is_int(bs_put(r->top, blk, BSZ, 0, NULL), 0, "M put again during the gc");
	tap_fill_random(blk, BSZ, 12);
	is_int(bs_put(r->top, blk, BSZ, 0, NULL), 0, "P put again too");
	r->g.unpin_failed = true;
	r->g.dead_done = 2;
	r->g.dead_reached = 4;
	sweep(r, 3, "another address");
	is_int((int)r->g.kept_busy, 1, "gc_free kept M");
	ok(bs_has(r->here, &n) == 0 && bs_has(r->here, &m) == 1 &&
	   bs_has(r->here, &p) == 1 && bs_has(r->here, &q) == 1,
	   "N freed here; M, P and Q kept");
	ok(bs_has(r->node, &m) == 1 && bs_has(r->node, &p) == 1,
	   "M and P, live, on the node again");
	is_int(bs_has(r->node, &q), 1,
	       "Q, dead but here, on the node again too");
	unpin_reset(r);
}

#define OFFLINE_N 50

/* Offline gc (no mount beside it; the unpin reached every dead block and
 * they are all still here, as a gc_free that failed at once leaves them):
 * every block here is queued in the store's log, one not here is not. */
static void test_offline(struct rig *r, uint8_t *blk)
{
	const char *ldir = harness_path("l");
	uint64_t pend = 99, requeued = 0;
	char msg[512];
	is_int(outbox_pending_in(ldir, &pend), 0, "offline: the log reads");
	is_int((int)pend, 0, "offline: nothing pending yet");
	r->g.beside = NULL;
	for (unsigned i = 0; i < OFFLINE_N; i++) {
		struct cid c;
		tap_fill_random(blk, BSZ, 100 + i);
		if (bs_put(r->here, blk, BSZ, 0, &c) == 0)
			cid_list_add(&r->g.dead, &c);
	}
	struct cid gone;
	tap_fill_random(blk, BSZ, 99);
	is_int(bs_put(r->here, blk, BSZ, 0, &gone), 0, "offline: one more");
	is_int(bs_remove(r->here, &gone), 0, "… freed here");
	cid_list_add(&r->g.evicted, &gone);
	is_int(gc_requeue_kept(&r->g, &requeued, msg, sizeof(msg)), 0,
	       "offline: gc_requeue_kept");
	is_int((int)requeued, OFFLINE_N, "offline: the %d here requeued",
	       OFFLINE_N);
	is_int(outbox_pending_in(ldir, &pend), 0, "offline: the log reads");
	is_int((int)pend, OFFLINE_N, "offline: %d pending in the log",
	       OFFLINE_N);
	cid_list_free(&r->g.dead);
	cid_list_free(&r->g.evicted);
}

int main(void)
{
	struct rig r;
	uint8_t *blk = harness_alloc(BSZ);
	rig_open(&r);
	test_dead_put_again(&r, blk);
	test_evicted_put_again(&r, blk);
	test_upload_under_way(&r, blk);
	test_freed_not_queued(&r, blk);
	test_unpin_failed(&r, blk);
	test_refused_batch(&r, blk);
	test_other_address(&r, blk);
	bs_close(r.top); /* unmounted: its log stays */
	test_offline(&r, blk);
	bs_close(r.node);
	bs_close(r.here);
	free(blk);
	return tap_done();
}
