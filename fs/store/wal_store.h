/*
 * fs/store/wal_store.h — a block store wrapper that makes small blocks durable
 * through the journal.
 *
 * A delivery's fsync, rename and link each need the blocks they name on
 * stable storage.  Synced one by one in the local store that costs an
 * fdatasync per block plus one per shard directory; a Dovecot delivery
 * writes about five blocks (the message, dovecot-uidlist, index log …).
 * This wrapper appends every non-durable put of a block up to
 * WAL_EMBED_MAX bytes to the journal as a block record (its sealed bytes,
 * nothing in clear) right after passing it to the parent, so one journal
 * fdatasync makes the block and the records that name it durable together.
 * The parent store is synced at each commit (bs_sync), before the journal
 * generation holding the block records is dropped; replay puts block
 * records back into the store (idempotent: content addressed).
 *
 * Larger blocks go to the parent as they are and are counted; durable()
 * syncs the parent first when any are pending.
 *
 * Payload of a block record: JOURNAL_PAYLOAD_BLOCK ‖ sealed block bytes
 * (fs/store/journal_payload.h, the one owner of the payload kinds).
 */
#ifndef IPMD_FS_STORE_WAL_STORE_H
#define IPMD_FS_STORE_WAL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/store/journal.h"
#include "fs/store/journal_payload.h"
#include "ipfs/blockstore.h"
#include "util/attr.h"

#define WAL_EMBED_MAX (64 * 1024)

/* Wrap parent (taking ownership); j is borrowed and must outlive the
 * wrapper, or be set later with wal_store_set_journal (NULL: no
 * embedding, puts pass through).  Only put and sync are the wrapper's:
 * every other call passes through to parent (ipfs/blockstore.h). */
int wal_store_wrap(struct blockstore *parent, struct journal *j,
		   struct blockstore **out);
/* bs: the wrapper or a stack over it (found by bs_find); nothing happens
 * on a stack without one. */
void wal_store_set_journal(struct blockstore *bs, struct journal *j);

/* Make every put so far durable: the parent if it holds blocks that were
 * not embedded, then the journal.  -EINVAL on a stack without the
 * wrapper. */
int wal_store_durable(struct blockstore *bs);

/* Is this journal payload a block record?  If so, put its block into bs
 * (the parent store, non-durably).  Returns 1 when it was one (and *err
 * tells how the put went), 0 when it is not a block record. */
IPMD_MUST_CHECK
int wal_replay_block(struct blockstore *bs, const uint8_t *payload,
		     size_t len, int *err);

#endif
