/* tests/unit/test_outbox_cap.c — cache/outbox.h with a cap: pending blocks
 * are never dropped, uploaded ones are (least recently used first) at a
 * sync, and read back from the remote; outbox_pending_each lists what is
 * pending; a block the remote does not have (its upload was confirmed
 * wrongly) is kept and uploaded again, and dropped once the remote has it.
 * The "remote" is a second local store. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/outbox.h"
#include "ipfs/bs_local.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

#define NB 40
#define BSZ 10000

static int count_one(const struct cid *cid, void *arg)
{
	(void)cid;
	(*(unsigned *)arg)++;
	return 0;
}

static unsigned local_blocks(const char *dir)
{
	struct blockstore *bs;
	unsigned n = 0;
	if (bs_local_open(dir, &bs))
		return ~0u;
	bs_iterate(bs, count_one, &n);
	bs_close(bs);
	return n;
}

static bool has_block(const char *dir, const struct cid *cid)
{
	struct blockstore *bs;
	if (bs_local_open(dir, &bs))
		return false;
	bool r = bs_has(bs, cid) == 1;
	bs_close(bs);
	return r;
}

/* An outbox capped at 10 blocks of BSZ, over local stores in ldir (its
 * own) and rdir (the remote); label starts the names of its checks. */
static struct blockstore *capped_outbox(const char *ldir, const char *rdir,
					const char *label)
{
	struct blockstore *local, *remote, *ob = NULL;
	is_int(bs_local_open(ldir, &local), 0, "%sopen local", label);
	is_int(bs_local_open(rdir, &remote), 0, "%sopen remote", label);
	struct outbox_config oc = {
		.dir = ldir, .local = local, .remote = remote,
		.local_cap_bytes = 10 * BSZ, /* room for 10 of 40 */
	};
	is_int(outbox_wrap(&oc, &ob), 0, "%swrap with a cap", label);
	return ob;
}

/* NB blocks of BSZ random bytes (seeded) put through ob in order, gap_us
 * apart; their CIDs in cids. */
static void put_blocks(struct blockstore *ob, uint8_t (*blk)[BSZ],
		       struct cid *cids, uint64_t seed, unsigned gap_us)
{
	for (unsigned i = 0; i < NB; i++) {
		tap_fill_random(blk[i], BSZ, seed + i);
		bs_put(ob, blk[i], BSZ, 0, &cids[i]);
		if (gap_us)
			usleep(gap_us);
	}
}

/* The remote confirmed uploads of blocks it then does not hold (a node
 * answering dag/import with roots it never stored): eviction asks it first. */
static void unconfirmed_not_dropped(void)
{
	const char *ldir = harness_path("l2"), *rdir = harness_path("r2");
	struct blockstore *ob = capped_outbox(ldir, rdir, "lost: ");
	static uint8_t blk[NB][BSZ];
	struct cid cids[NB];
	/* Last use is kept in ms: one tick per block makes block 0 the least
	 * recently used, first in line for eviction (equal ticks leave the
	 * order open, and the check below flaky). */
	put_blocks(ob, blk, cids, 2000, 2000);
	outbox_start(ob);
	is_int(outbox_wait_drained(ob, 10000), 0, "lost: drained");
	/* The oldest block, first in line for eviction, is not on the
	 * remote after all. */
	struct blockstore *r2;
	is_int(bs_local_open(rdir, &r2), 0, "lost: open the remote again");
	is_int(bs_remove(r2, &cids[0]), 0, "lost: the remote loses block 0");
	usleep(5000);
	is_int(bs_sync(ob), 0, "lost: sync over the cap");
	ok(has_block(ldir, &cids[0]),
	   "a block the remote does not have is not dropped here");
	struct outbox_stats st;
	outbox_stats(ob, &st);
	is_int((long long)st.evicted, 0,
	       "… nor anything after it in that pass (%llu evicted)",
	       (unsigned long long)st.evicted);
	is_int(outbox_wait_drained(ob, 10000), 0,
	       "… it is queued again and uploaded");
	ok(bs_has(r2, &cids[0]) == 1, "… so the remote has it now");
	usleep(5000);
	is_int(bs_sync(ob), 0, "lost: the next sync");
	ok(!has_block(ldir, &cids[0]),
	   "… drops it, the remote now having it");
	outbox_stats(ob, &st);
	ok(st.evicted >= NB - 10, "… with the rest (%llu evicted)",
	   (unsigned long long)st.evicted);
	uint8_t *buf = malloc(BLOCK_MAX_BYTES);
	size_t len;
	ok(buf && bs_get(ob, &cids[0], buf, BLOCK_MAX_BYTES, &len) == 0 &&
		   len == BSZ && !memcmp(buf, blk[0], BSZ),
	   "… and it reads back from the remote");
	free(buf);
	bs_close(r2);
	bs_close(ob);
}

int main(void)
{
	const char *ldir = harness_path("l"), *rdir = harness_path("r");
	struct blockstore *ob = capped_outbox(ldir, rdir, "");
	static uint8_t blk[NB][BSZ];
	struct cid cids[NB];
	put_blocks(ob, blk, cids, 1000, 0);
	unsigned pend = 0;
	is_int(outbox_pending_each(ldir, count_one, &pend), 0,
	       "outbox_pending_each");
	is_int(pend, NB, "… lists every block put (none uploaded yet)");

	/* Not started: everything pending, so a sync drops nothing. */
	is_int(bs_sync(ob), 0, "sync over the cap");
	is_int(local_blocks(ldir), NB, "pending blocks are never dropped");

	is_int(outbox_start(ob), 0, "start the uploads");
	is_int(outbox_wait_drained(ob, 10000), 0, "drained");
	pend = 0;
	outbox_pending_each(ldir, count_one, &pend);
	is_int(pend, 0, "nothing pending after the uploads");

	/* Use the last 5 so they are the most recent. */
	uint8_t *buf = malloc(BLOCK_MAX_BYTES);
	size_t len;
	usleep(5000);
	for (unsigned i = NB - 5; i < NB; i++)
		is_int(bs_get(ob, &cids[i], buf, BLOCK_MAX_BYTES, &len), 0,
		       "read block %u (now the most recent)", i);
	usleep(5000);
	is_int(bs_sync(ob), 0, "sync");
	unsigned left = local_blocks(ldir);
	ok(left <= 9, "dropped down to 90%% of the cap (%u blocks left)", left);
	struct outbox_stats st;
	outbox_stats(ob, &st);
	is_int((long long)st.evicted, NB - left, "evicted counted");
	ok(st.local_bytes <= 9 * BSZ, "tracked bytes under 90%% of the cap");
	/* The recently used ones stayed. */
	struct blockstore *chk;
	is_int(bs_local_open(ldir, &chk), 0, "open the local store to check");
	int stayed = 0;
	for (unsigned i = NB - 5; i < NB; i++)
		stayed += bs_has(chk, &cids[i]) == 1;
	is_int(stayed, 5, "the 5 most recently read stayed");
	bs_close(chk);

	int same = 0;
	for (unsigned i = 0; i < NB; i++)
		same += bs_get(ob, &cids[i], buf, BLOCK_MAX_BYTES, &len) == 0 &&
			len == BSZ && !memcmp(buf, blk[i], BSZ);
	is_int(same, NB, "every block reads back (dropped ones from the remote)");
	free(buf);
	bs_close(ob);

	unconfirmed_not_dropped();
	return tap_done();
}
