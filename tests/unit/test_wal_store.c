/* tests/unit/test_wal_store.c — small blocks ride the journal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/store/journal.h"
#include "fs/store/wal_store.h"
#include "ipfs/bs_fault.h"
#include "ipfs/bs_local.h"
#include "tests/tap.h"

struct replayed {
	struct blockstore *into;
	int blocks, other, errors;
};

static int on_record(uint64_t gen, uint64_t seq, const uint8_t *payload,
		     size_t len, void *arg)
{
	(void)gen;
	(void)seq;
	struct replayed *r = arg;
	int e = 0;
	if (wal_replay_block(r->into, payload, len, &e))
		r->blocks++;
	else
		r->other++;
	if (e)
		r->errors++;
	return 0;
}

int main(void)
{
	char dir[4096], jdir[4096], other[4096];
	uint8_t key[IPMD_KEY_BYTES];
	static uint8_t small[1000], big[WAL_EMBED_MAX + 1];
	struct blockstore *local, *fault = NULL, *wal;
	struct journal *j;
	struct fault_config fc;
	struct fault_counts counts;
	struct cid c_small, c_big;

	snprintf(dir, sizeof(dir), "%s/store", tap_tempdir());
	snprintf(jdir, sizeof(jdir), "%s/journal", tap_tempdir());
	snprintf(other, sizeof(other), "%s/other", tap_tempdir());
	tap_fill_random(key, sizeof(key), 1);
	tap_fill_random(small, sizeof(small), 2);
	tap_fill_random(big, sizeof(big), 3);

	ok(bs_local_open(dir, &local) == 0, "local store opens");
	ok(bs_fault_parse("", &fc) == 0 && bs_fault_wrap(local, &fc, &fault) == 0,
	   "wrapped in a (quiet) fault store to count syncs");
	ok(journal_open(jdir, key, 1, &j) == 0, "journal opens");
	ok(wal_store_wrap(fault, j, &wal) == 0, "wal store wraps it");

	ok(bs_put(wal, small, sizeof(small), 0, &c_small) == 0, "small put");
	is_int(journal_records(j), 1, "the small block went into the journal");
	bs_fault_counts(fault, &counts);
	uint64_t syncs = counts.calls[FAULT_SYNC];
	ok(wal_store_durable(wal) == 0, "durable");
	bs_fault_counts(fault, &counts);
	is_int(counts.calls[FAULT_SYNC], syncs,
	       "with only small blocks, durable() syncs no block files");

	ok(bs_put(wal, big, sizeof(big), 0, &c_big) == 0, "big put");
	is_int(journal_records(j), 1, "a block over WAL_EMBED_MAX is not");
	ok(wal_store_durable(wal) == 0, "durable");
	bs_fault_counts(fault, &counts);
	is_int(counts.calls[FAULT_SYNC], syncs + 1,
	       "and durable() then syncs the store");
	ok(bs_put(wal, small, sizeof(small), BS_PUT_DURABLE, &c_small) == 0 &&
		   journal_records(j) == 1,
	   "a durable put goes straight to the store");

	uint8_t buf[2000];
	size_t len;
	ok(bs_get(wal, &c_small, buf, sizeof(buf), &len) == 0 &&
		   len == sizeof(small) && !memcmp(buf, small, len),
	   "gets pass through");

	/* Replay into an empty store: the block comes back. */
	struct blockstore *fresh;
	ok(bs_local_open(other, &fresh) == 0, "an empty store opens");
	is_int(bs_has(fresh, &c_small), 0, "it lacks the block");
	struct replayed r = {.into = fresh};
	ok(journal_sync(j) == 0 &&
		   journal_replay(jdir, key, 1, 0, on_record, &r, NULL) == 0,
	   "journal replays");
	is_int(r.blocks, 1, "one block record");
	is_int(r.errors, 0, "put back without error");
	ok(bs_get(fresh, &c_small, buf, sizeof(buf), &len) == 0 &&
		   len == sizeof(small) && !memcmp(buf, small, len),
	   "the replayed block reads back, verified");
	int e = 0;
	const uint8_t json[] = "{\"op\":\"x\"}";
	is_int(wal_replay_block(fresh, json, sizeof(json) - 1, &e), 0,
	       "a JSON record is not a block record");

	wal_store_set_journal(wal, NULL);
	ok(bs_put(wal, small + 1, 10, 0, &c_small) == 0 &&
		   journal_records(j) == 1,
	   "without a journal, puts pass through");
	journal_close(j);
	bs_close(fresh);
	bs_close(wal);
	return tap_done();
}
