/*
 * ipfs/bs_watch.h — a wrapper that lets blocks be freed beside writers.
 *
 * A garbage collector that runs while a store is written (the mounted
 * mailbox's gc, fs/cli/control.h) decides from a listing and a mark
 * which blocks are dead, then removes them.  Between the two a writer
 * may put a block equal to a dead one (convergent encryption names equal
 * content alike: a flag change undone, a message delivered again under
 * -o convergence=mailbox), and from then on needs it.  This layer closes
 * that window: between bs_watch_begin and bs_watch_end it remembers every
 * block put through it, and its remove refuses (-EBUSY) a block put since
 * the begin.  The check and the removal are one step under its lock, and
 * a put is remembered before it goes down: either the remove sees the put
 * and keeps the block, or the put comes after the removal and writes the
 * block again.
 *
 * Outside a watch everything passes through (no hashing, no lock
 * held across a call down).  One watch at a time.
 */
#ifndef IPMD_IPFS_BS_WATCH_H
#define IPMD_IPFS_BS_WATCH_H

#include "ipfs/blockstore.h"
#include "util/attr.h"

/* Wrap parent (taken over).  0 or -ENOMEM. */
IPMD_MUST_CHECK
int bs_watch_wrap(struct blockstore *parent, struct blockstore **out);

/* Start remembering the puts, in the watch layer of bs's stack.  0,
 * -ENOENT (no such layer), -EBUSY (a watch is on), -ENOMEM. */
IPMD_MUST_CHECK
int bs_watch_begin(struct blockstore *bs);
/* Forget them; removes pass through again.  No layer: nothing. */
void bs_watch_end(struct blockstore *bs);

#endif
