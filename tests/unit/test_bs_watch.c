/* tests/unit/test_bs_watch.c — the wrapper that lets gc free blocks beside
 * writers (ipfs/bs_watch.h): outside a watch a remove passes through;
 * during one, a block put since its begin is kept (-EBUSY), one put
 * before is removed, and a put after the removal writes it again. */
#include "ipfs/blockstore.h"
#include "ipfs/bs_local.h"
#include "ipfs/bs_watch.h"
#include "ipfs/cid.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

#include <errno.h>
#include <string.h>

static struct blockstore *watched(const char *name)
{
	struct blockstore *local = NULL, *bs = NULL;
	if (bs_local_open(harness_path(name), &local) < 0)
		return NULL;
	if (bs_watch_wrap(local, &bs) < 0) {
		bs_close(local);
		return NULL;
	}
	return bs;
}

static void put(struct blockstore *bs, const char *text, struct cid *cid)
{
	is_int(bs_put(bs, (const uint8_t *)text, strlen(text), 0, cid), 0,
	       "put \"%s\"", text);
}

static void test_no_watch(void)
{
	struct blockstore *bs = watched("plain");
	ok(bs != NULL, "a watch over a local store");
	struct cid a;
	put(bs, "alpha", &a);
	is_int(bs_remove(bs, &a), 0, "no watch on: a remove passes through");
	is_int(bs_has(bs, &a), 0, "... and the block is gone");
	bs_watch_end(bs); /* none on: nothing */
	bs_close(bs);
}

static void test_watch(void)
{
	struct blockstore *bs = watched("watch");
	struct cid old, dead, again, fresh;
	put(bs, "old and dead", &dead);
	put(bs, "old, written again", &old);
	is_int(bs_watch_begin(bs), 0, "a watch begins");
	is_int(bs_watch_begin(bs), -EBUSY, "... one at a time");
	put(bs, "old, written again", &again); /* a convergent re-put */
	ok(cid_equal(&old, &again), "the same content is the same block");
	put(bs, "new", &fresh);
	is_int(bs_remove(bs, &dead), 0, "a block put before the begin is removed");
	is_int(bs_has(bs, &dead), 0, "... and gone");
	is_int(bs_remove(bs, &again), -EBUSY,
	       "a block put again since the begin is kept (-EBUSY)");
	is_int(bs_has(bs, &again), 1, "... and still there");
	is_int(bs_remove(bs, &fresh), -EBUSY, "so is one new since the begin");
	put(bs, "old and dead", &dead);
	is_int(bs_has(bs, &dead), 1, "a put after the removal writes it again");
	bs_watch_end(bs);
	is_int(bs_remove(bs, &again), 0, "the watch ended: removes pass again");
	is_int(bs_watch_begin(bs), 0, "a new watch begins");
	is_int(bs_remove(bs, &fresh), 0, "... remembering nothing of the last");
	bs_watch_end(bs);
	bs_close(bs);
}

static void test_no_layer(void)
{
	struct blockstore *local = NULL;
	is_int(bs_local_open(harness_path("bare"), &local), 0, "a bare store");
	is_int(bs_watch_begin(local), -ENOENT, "no watch layer: -ENOENT");
	bs_close(local);
}

int main(void)
{
	test_no_watch();
	test_watch();
	test_no_layer();
	return tap_done();
}
