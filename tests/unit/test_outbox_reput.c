/* tests/unit/test_outbox_reput.c — cache/outbox.h: a put of a block that
 * is already here and confirmed on the remote queues nothing (no second
 * upload), while the same put during the journal's replay (before
 * outbox_start) is queued, since a crash may have lost its '+'.  The
 * "remote" is a second local store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/outbox.h"
#include "ipfs/bs_local.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

#define BSZ 5000

static int wrap(const char *ldir, const char *rdir, struct blockstore **ob,
		struct blockstore **remote)
{
	struct blockstore *local;
	if (bs_local_open(ldir, &local))
		return -1;
	if (bs_local_open(rdir, remote)) {
		bs_close(local);
		return -1;
	}
	struct outbox_config oc = {.dir = ldir, .local = local,
				   .remote = *remote};
	if (outbox_wrap(&oc, ob)) {
		bs_close(local);
		bs_close(*remote);
		return -1;
	}
	return 0;
}

int main(void)
{
	const char *ldir = harness_path("l"), *rdir = harness_path("r");
	static uint8_t a[BSZ], b[BSZ];
	for (unsigned j = 0; j < BSZ; j++) {
		a[j] = (uint8_t)(j * 7 + (j >> 8));
		b[j] = (uint8_t)(j * 13 + 1);
	}
	struct blockstore *ob, *remote;
	struct outbox_stats st;
	struct cid ca, cb;
	is_int(wrap(ldir, rdir, &ob, &remote), 0, "wrap");
	is_int(bs_put(ob, a, BSZ, 0, &ca), 0, "put A before start");
	outbox_stats(ob, &st);
	is_int((int)st.pending, 1, "A is pending");
	is_int(outbox_start(ob), 0, "start");
	is_int(outbox_wait_drained(ob, 10000), 0, "drained");
	outbox_stats(ob, &st);
	is_int((int)st.uploaded, 1, "A uploaded once");
	is_int(bs_has(remote, &ca), 1, "A on the remote");

	/* The remote forgets A, so a second upload would show there. */
	is_int(bs_remove(remote, &ca), 0, "A dropped from the remote");
	is_int(bs_put(ob, a, BSZ, 0, NULL), 0, "put A again");
	outbox_stats(ob, &st);
	is_int((int)st.pending, 0, "confirmed A: nothing queued");
	is_int(bs_put(ob, b, BSZ, BS_PUT_DURABLE, &cb), 0, "put B");
	is_int(outbox_wait_drained(ob, 10000), 0, "drained again");
	outbox_stats(ob, &st);
	is_int((int)st.uploaded, 2, "only B uploaded after A's re-put");
	is_int(bs_has(remote, &ca), 0, "A not uploaded a second time");
	is_int(bs_has(remote, &cb), 1, "B on the remote");
	uint64_t pend = 99;
	is_int(outbox_pending_in(ldir, &pend), 0, "log readable");
	is_int((int)pend, 0, "log: nothing pending");
	bs_close(ob);

	/* Replay phase: before start, the same put is queued again. */
	is_int(wrap(ldir, rdir, &ob, &remote), 0, "wrap again");
	outbox_stats(ob, &st);
	is_int((int)st.pending, 0, "reopened: nothing pending");
	is_int(bs_put(ob, a, BSZ, 0, NULL), 0, "replayed put of A");
	outbox_stats(ob, &st);
	is_int((int)st.pending, 1, "before start: A queued");
	is_int(outbox_start(ob), 0, "start");
	is_int(outbox_wait_drained(ob, 10000), 0, "drained");
	is_int(bs_has(remote, &ca), 1, "A back on the remote");
	is_int(bs_put(ob, b, BSZ, 0, NULL), 0, "put B after start");
	outbox_stats(ob, &st);
	is_int((int)st.pending, 0, "after start: B not queued");
	bs_close(ob);
	return tap_done();
}
