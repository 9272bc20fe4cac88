/* tests/unit/test_gc_evicted.c — STORE/outbox.evicted beside a running
 * mount (cache/outbox.h outbox_evicted_rewrite, fs/tools/gc.h
 * gc_forget_evicted).  gc rewrites the file (tmp + rename) while the
 * mount's outbox may append to it: an append made meanwhile must not be
 * lost (its blocks would stay pinned on the node for good), and records
 * appended after gc read the file are kept, since gc did not unpin
 * them.  The "node" is a second local store. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/outbox.h"
#include "fs/tools/gc.h"
#include "ipfs/bs_local.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

#define BSZ 3000
#define NB 4

/* An outbox capped at 2 blocks over ldir, with rdir as the node. */
static struct blockstore *capped(const char *ldir, const char *rdir)
{
	struct blockstore *local, *remote, *ob;
	if (bs_local_open(ldir, &local) || bs_local_open(rdir, &remote))
		harness_bail("local stores");
	struct outbox_config oc = {.dir = ldir, .local = local,
				   .remote = remote,
				   .local_cap_bytes = 2 * BSZ};
	if (outbox_wrap(&oc, &ob) || outbox_start(ob))
		harness_bail("outbox");
	return ob;
}

/* NB new blocks put, uploaded, then a sync evicts all but one: how many
 * it evicted. */
static uint64_t evict_pass(struct blockstore *ob, unsigned seed)
{
	static uint8_t blk[BSZ];
	struct outbox_stats st0, st1;
	outbox_stats(ob, &st0);
	for (unsigned i = 0; i < NB; i++) {
		tap_fill_random(blk, BSZ, seed + i);
		if (bs_put(ob, blk, BSZ, 0, NULL))
			harness_bail("put");
	}
	if (outbox_wait_drained(ob, 20000))
		harness_bail("upload");
	usleep(5000); /* last uses before the sync's start */
	if (bs_sync(ob))
		harness_bail("sync");
	outbox_stats(ob, &st1);
	return st1.evicted - st0.evicted;
}

static long records(const char *ldir)
{
	char path[4096];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/%s", ldir, OUTBOX_EVICTED_NAME);
	return stat(path, &sb) ? -1 : (long)(sb.st_size / 32);
}

/* ---- an eviction while the file is rewritten ---- */

struct during {
	struct blockstore *ob;
	bool started;
	pthread_t t;
	uint64_t evicted; /* by the thread's pass */
};

static void *evict_main(void *arg)
{
	struct during *d = arg;
	d->evicted = evict_pass(d->ob, 100);
	return NULL;
}

/* Keeps every record; at the first, the mount evicts.  The thread gets a
 * second to finish: unprotected, its append lands in the file being
 * replaced; protected, it waits for the rename. */
static bool keep_and_evict(const struct cid *cid, void *arg)
{
	(void)cid;
	struct during *d = arg;
	if (!d->started) {
		d->started = true;
		if (pthread_create(&d->t, NULL, evict_main, d))
			harness_bail("thread");
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_timedjoin_np(d->t, NULL, &ts);
	}
	return true;
}

static void test_append_during_rewrite(void)
{
	const char *ldir = harness_path("l1"), *rdir = harness_path("r1");
	struct blockstore *ob = capped(ldir, rdir);
	uint64_t first = evict_pass(ob, 1);
	ok(first > 0, "a first pass evicted %llu blocks",
	   (unsigned long long)first);
	is_int(records(ldir), (long)first, "… recorded");
	struct during d = {.ob = ob};
	is_int(outbox_evicted_rewrite(ldir, ob, keep_and_evict, &d), 0,
	       "rewritten beside the mount, which evicts meanwhile");
	ok(d.started, "the mount evicted during the rewrite");
	if (d.started)
		pthread_join(d.t, NULL);
	ok(d.evicted > 0, "… %llu blocks", (unsigned long long)d.evicted);
	is_int(records(ldir), (long)(first + d.evicted),
	       "every record kept, the ones appended meanwhile too");
	bs_close(ob);
}

/* ---- gc keeps the records appended after it read them ---- */

static void test_forget_keeps_later(void)
{
	const char *ldir = harness_path("l2"), *rdir = harness_path("r2");
	struct blockstore *ob = capped(ldir, rdir);
	uint64_t first = evict_pass(ob, 200);
	struct gc *g = harness_alloc(sizeof(*g));
	if (bs_local_open(ldir, &g->h.local))
		harness_bail("local");
	snprintf(g->h.store.paths.root, sizeof(g->h.store.paths.root), "%s",
		 ldir);
	g->beside = ob;
	g->live = cid_set_new(); /* nothing live: every evicted one dead */
	char msg[512];
	is_int(gc_find(g, true, msg, sizeof(msg)), 0, "gc_find");
	is_int((int)g->evicted.n, (int)first,
	       "the evicted blocks are dead: %llu to unpin",
	       (unsigned long long)first);
	uint64_t later = evict_pass(ob, 300);
	ok(later > 0, "the mount evicts %llu more meanwhile",
	   (unsigned long long)later);
	is_int(gc_forget_evicted(g, msg, sizeof(msg)), 0,
	       "gc_forget_evicted");
	is_int(records(ldir), (long)later,
	       "the unpinned forgotten, the later ones kept");
	cid_list_free(&g->dead);
	cid_list_free(&g->evicted);
	cid_set_free(g->live);
	bs_close(g->h.local);
	free(g);
	bs_close(ob);
}

int main(void)
{
	test_append_during_rewrite();
	test_forget_keeps_later();
	return tap_done();
}
