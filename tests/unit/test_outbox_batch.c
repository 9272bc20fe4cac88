/* tests/unit/test_outbox_batch.c — cache/outbox.h: uploads are coalesced
 * and batched.  Blocks put a little apart wait (OUTBOX_COALESCE_MS) and go
 * up together in one bs_put_many; outbox_wait_drained sends them at once.
 * The "remote" is a local store under a wrapper that counts put_many
 * calls and the blocks in them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/outbox.h"
#include "cache/outbox_internal.h"
#include "ipfs/bs_local.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"
#include "util/clock.h"

#define BSZ 3000
#define NBLOCKS 5

struct counting {
	struct blockstore base;
	pthread_mutex_t lock;
	unsigned calls, blocks;
};

static int c_put_many(struct blockstore *bs, const struct bs_block *blocks,
		      size_t n, unsigned flags, int *results)
{
	struct counting *c = (struct counting *)bs;
	pthread_mutex_lock(&c->lock);
	c->calls++;
	c->blocks += (unsigned)n;
	pthread_mutex_unlock(&c->lock);
	return bs_put_many(bs_parent(bs), blocks, n, flags, results);
}

static void c_close(struct blockstore *bs)
{
	struct counting *c = (struct counting *)bs;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Counts batches; put, has, get … pass through to the store below. */
static const struct blockstore_ops counting_ops = {
	.version = BLOCKSTORE_OPS_VERSION,
	.name = "counting",
	.close = c_close,
	.put_many = c_put_many,
};

static void counts(struct counting *c, unsigned *calls, unsigned *blocks)
{
	pthread_mutex_lock(&c->lock);
	*calls = c->calls;
	*blocks = c->blocks;
	pthread_mutex_unlock(&c->lock);
}

/* The upload queue keeps its order when it grows while wrapped around
 * (its first 256 slots full, the head moved on), again and again. */
static void test_queue_order(void)
{
	struct dqueue q = {0};
	uint8_t d[DIGEST], got[DIGEST];
	uint32_t next = 0, expect = 0;
	bool in_order = true;

	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 300 << round; i++) {
			memset(d, 0, sizeof(d));
			memcpy(d, &next, sizeof(next));
			next++;
			if (ob_dq_push(&q, d) != 0)
				in_order = false;
		}
		/* Pop part, so the next pushes wrap around the end. */
		for (int i = 0; i < 200 << round && ob_dq_pop(&q, got); i++) {
			uint32_t v;
			memcpy(&v, got, sizeof(v));
			in_order &= v == expect++;
		}
	}
	while (ob_dq_pop(&q, got)) {
		uint32_t v;
		memcpy(&v, got, sizeof(v));
		in_order &= v == expect++;
	}
	ok(in_order && expect == next, "queue: %u digests out in order",
	   expect);
	ok(q.cap >= 256 && (q.cap & (q.cap - 1)) == 0,
	   "queue: grew by doubling (%zu slots)", q.cap);
	free(q.items);
}

int main(void)
{
	test_queue_order();
	const char *ldir = harness_path("l");
	struct blockstore *local = harness_local_store("l");
	struct blockstore *inner = harness_local_store("r");
	struct counting *c = harness_alloc(sizeof(*c));
	bs_wrap(&c->base, &counting_ops, inner);
	pthread_mutex_init(&c->lock, NULL);
	struct outbox_config oc = {.dir = ldir, .local = local,
				   .remote = &c->base};
	struct blockstore *ob;
	is_int(outbox_wrap(&oc, &ob), 0, "wrap");
	is_int(outbox_start(ob), 0, "start (an empty store: nothing queued)");

	static uint8_t data[NBLOCKS][BSZ];
	struct cid cids[NBLOCKS];
	for (int i = 0; i < NBLOCKS; i++) {
		tap_fill_random(data[i], BSZ, 300 + (unsigned)i);
		is_int(bs_put(ob, data[i], BSZ, 0, &cids[i]), 0, "put %d", i);
		sleep_ms(40); /* a delivery's blocks come a little apart */
	}
	unsigned calls, blocks;
	counts(c, &calls, &blocks);
	ok(calls == 0 && blocks == 0,
	   "within the coalescing window nothing went up yet (%u calls)",
	   calls);
	is_int(outbox_wait_drained(ob, 10000), 0,
	       "waiting for the drain sends them at once");
	counts(c, &calls, &blocks);
	is_int(blocks, NBLOCKS, "every block went up once");
	is_int(calls, 1, "in one batch");
	int on = 0;
	for (int i = 0; i < NBLOCKS; i++)
		on += bs_has(inner, &cids[i]) == 1;
	is_int(on, NBLOCKS, "all of them are on the remote");

	/* Left alone, a batch still goes within the window. */
	static uint8_t more[BSZ];
	tap_fill_random(more, BSZ, 999);
	is_int(bs_put(ob, more, BSZ, 0, NULL), 0, "one more put");
	struct outbox_stats st;
	int waited = 0;
	do {
		sleep_ms(100);
		waited += 100;
		outbox_stats(ob, &st);
	} while (st.pending && waited < 5000);
	is_int((int)st.pending, 0, "uploaded without anyone waiting");
	ok(waited >= OUTBOX_COALESCE_MS - 100,
	   "… after the coalescing window (%d ms)", waited);
	bs_close(ob);
	return tap_done();
}
