/*
 * ipfs/blockstore.h — where sealed blocks live.
 *
 * One small vtable per backend (the model is Dovecot's lib-fs): the embedded
 * local directory (ipfs/bs_local.h), a Kubo RPC node (ipfs/bs_kubo.h), and
 * wrappers that hold a parent and change some calls (fault injection,
 * ipfs/bs_fault.h; the outbox, cache/outbox.h; the journal, fs/store/
 * wal_store.h).  fs/store/stack.h builds a store's stack from a
 * description.
 *
 * Contract every backend keeps
 *  - Blocks are immutable and named by their CID (CIDv1 raw sha2-256),
 *    which put() computes itself: a caller can't store bytes under a wrong
 *    name.  put() of a block already present succeeds (idempotent).
 *  - get() returns only bytes that hash to the CID asked for; anything else
 *    is -EBADMSG (corruption is reported, never served).
 *  - A block is at most BLOCK_MAX_BYTES.
 *  - Durability: put(…, BS_PUT_DURABLE) returns after the block is on stable
 *    storage; without the flag the block is durable after the next
 *    successful sync().  A crash may lose non-durable puts, nothing else.
 *  - All calls are safe from several threads at once.
 *
 * Wrappers (the model is Dovecot's fs-wrapper.c): bs_wrap() makes a struct
 * a layer over a parent, and the wrapper's table sets only the calls it
 * changes.  Every slot it leaves NULL passes through to the parent: the
 * dispatchers below go down the stack to the first layer whose table has
 * the slot.  A backend (no parent) answers -ENOTSUP for a slot it lacks.
 * Only this file walks `parent`; code that needs a particular layer asks
 * bs_find() for it by its table, or better keeps the handle the stack's
 * builder gave it.
 *
 * Errors (negative errno): -ENOENT absent; -EBADMSG corrupt; -ENOSPC,
 * -EDQUOT full; -EIO, -ETIMEDOUT, -EAGAIN, -ECONNREFUSED, -ECONNRESET for
 * trouble that may pass (bs_transient); -EFBIG for a block over the limit;
 * -ENOTSUP for an optional call the backend lacks (see caps).
 */
#ifndef IPMD_IPFS_BLOCKSTORE_H
#define IPMD_IPFS_BLOCKSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipfs/cid.h"
#include "util/attr.h"

/* What IPFS nodes accept and exchange, with room for framing. */
#define BLOCK_MAX_BYTES (1024 * 1024 - 1024)

/* Bump when appending to struct blockstore_ops; older tables stay valid. */
#define BLOCKSTORE_OPS_VERSION 2

enum bs_caps {
	BS_CAP_REMOVE = 1 << 0,  /* remove() frees space */
	BS_CAP_PIN = 1 << 1,     /* pin()/unpin() mean something */
	BS_CAP_ITERATE = 1 << 2, /* iterate() lists every block */
	BS_CAP_LOCAL = 1 << 3,   /* reads never leave this machine */
};

enum bs_put_flags {
	BS_PUT_DURABLE = 1 << 0,
};

struct bs_usage {
	uint64_t blocks;
	uint64_t bytes;
};

struct blockstore;

/* One block of a bs_put_many batch. */
struct bs_block {
	const uint8_t *data;
	size_t len;
};

/* Called once per stored CID; a non-zero return stops the walk and is
 * returned by iterate(). */
typedef int (*bs_iterate_fn)(const struct cid *cid, void *arg);

struct blockstore_ops {
	int version; /* BLOCKSTORE_OPS_VERSION */
	const char *name;
	int (*put)(struct blockstore *bs, const uint8_t *data, size_t len,
		   unsigned flags, struct cid *cid_out);
	/* Copies the block into buf (cap bytes; -ENOBUFS if smaller than the
	 * block) and sets *len. */
	int (*get)(struct blockstore *bs, const struct cid *cid, uint8_t *buf,
		   size_t cap, size_t *len);
	/* 1 present, 0 absent, or a negative errno. */
	int (*has)(struct blockstore *bs, const struct cid *cid);
	int (*remove)(struct blockstore *bs, const struct cid *cid);
	/* Make every put so far durable. */
	int (*sync)(struct blockstore *bs);
	int (*pin)(struct blockstore *bs, const struct cid *cid);
	int (*unpin)(struct blockstore *bs, const struct cid *cid);
	int (*iterate)(struct blockstore *bs, bs_iterate_fn fn, void *arg);
	int (*usage)(struct blockstore *bs, struct bs_usage *u);
	/* Free this layer: what it owns and the struct itself, never its
	 * parent (bs_close closes that next).  NULL: nothing to free. */
	void (*close)(struct blockstore *bs);
	/* Optional: put n blocks at once where the backend can batch them
	 * (a node: few requests for many blocks); see bs_put_many. */
	int (*put_many)(struct blockstore *bs, const struct bs_block *blocks,
			size_t n, unsigned flags, int *results);
};

/* Every backend and wrapper embeds this first. */
struct blockstore {
	const struct blockstore_ops *ops;
	unsigned caps;             /* enum bs_caps */
	struct blockstore *parent; /* wrapped store, or NULL; read by
				      ipfs/blockstore.c only */
};

/*
 * Make self (zeroed, its struct blockstore first) a wrapper of parent
 * with the table ops.  It shows parent's caps; a wrapper that changes
 * what the stack can do sets caps after.  The wrapper owns parent from
 * then on: bs_close(self) closes it.
 */
void bs_wrap(struct blockstore *self, const struct blockstore_ops *ops,
	     struct blockstore *parent);

/* The store a wrapper wraps, for the wrapper's own calls down (NULL for a
 * backend).  Not for finding a layer: that is bs_find. */
struct blockstore *bs_parent(struct blockstore *bs);

/* The layer of the stack bs whose table is ops (bs itself or one it
 * wraps, however deep), or NULL: how a module finds its own layer in a
 * stack it is handed. */
struct blockstore *bs_find(struct blockstore *bs,
			   const struct blockstore_ops *ops);

/* The dispatchers: each calls the slot of the first layer from bs down
 * that has it (see Wrappers above), -ENOTSUP when none has. */
int bs_put(struct blockstore *bs, const uint8_t *data, size_t len,
	   unsigned flags, struct cid *cid_out);
IPMD_MUST_CHECK
int bs_get(struct blockstore *bs, const struct cid *cid, uint8_t *buf,
	   size_t cap, size_t *len);
int bs_has(struct blockstore *bs, const struct cid *cid);
int bs_remove(struct blockstore *bs, const struct cid *cid);
int bs_sync(struct blockstore *bs);
int bs_pin(struct blockstore *bs, const struct cid *cid);
int bs_unpin(struct blockstore *bs, const struct cid *cid);
int bs_iterate(struct blockstore *bs, bs_iterate_fn fn, void *arg);
int bs_usage(struct blockstore *bs, struct bs_usage *u);
/*
 * Put n blocks, as n puts would (same contract, same flags), in as few
 * round trips as the backend can; results[i] is block i's own outcome (0
 * or negative errno), so a partly failed batch says which blocks are
 * stored.  Returns 0 when every block is, else the first failure.  A
 * layer without the slot gets one put per block when it has put (a
 * wrapper that changes put sees every block), else the call passes down.
 */
int bs_put_many(struct blockstore *bs, const struct bs_block *blocks,
		size_t n, unsigned flags, int *results);
/* Whether e is trouble that may pass (a node down or slow, a connection
 * lost, a fault injected), worth another try later: the contract's list
 * above.  Damage (-EBADMSG, -EKEYREJECTED), absence (-ENOENT) and a full
 * store never pass by themselves.  The one rule; a caller that needs less
 * says at its call what it leaves out and why. */
bool bs_transient(int e);
/* Closes bs, then what it wraps, down to the backend.  NULL is fine. */
void bs_close(struct blockstore *bs);

#endif
