/*
 * fs/store/stack.h — the block-store stack of a store, built from a
 * description.
 *
 * Every user of a store's blocks (a mount, the read side, import through
 * a mount) gets its stack here, as Dovecot's fs_init("randomfail:posix")
 * builds one from a string.  From the bottom up:
 *
 *     local      ipfs/bs_local.h over STORE/blocks: always
 *     outbox     cache/outbox.h over local, with the node (ipfs/bs_kubo.h)
 *                as its remote: with a node, or (keep_outbox) when
 *                STORE/outbox.log says the store once had one
 *     fault      ipfs/bs_fault.h: with a fault spec (tests)
 *     watch      ipfs/bs_watch.h: when asked (a writable mount, whose gc
 *                runs beside its writers); every put of the stack, the
 *                WAL's and the direct ones, passes it
 *     wal        fs/store/wal_store.h: when asked; its journal is set
 *                later (wal_store_set_journal)
 *
 * The result names each layer, so that a caller uses the one it means
 * (the WAL for durability, the outbox for uploads, the store under the
 * WAL for puts that skip the journal) and never counts positions or
 * walks `parent`.  Each wrapper owns what it wraps: `top` owns the stack.
 */
#ifndef IPMD_FS_STORE_STACK_H
#define IPMD_FS_STORE_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/outbox.h"
#include "ipfs/blockstore.h"
#include "util/attr.h"

struct store_stack_spec {
	const char *root;         /* the store (its blocks/, outbox.log) */
	/* The node: the local store becomes its cache and outbox. */
	const char *node;         /* API address or "auto"; NULL or "": none */
	unsigned node_timeout_ms; /* bound on a block read; 0: bs_kubo's */
	bool keep_outbox;         /* no node, but an outbox.log: an outbox
				     without a remote all the same, so what
				     is written now is queued for the next
				     mount with a node (a mount does this) */
	/* The outbox's settings (cache/outbox.h, struct outbox_config). */
	bool read_only;
	bool cache_reads;
	uint64_t local_cap_bytes;
	outbox_log_fn log;        /* may be NULL */
	void *log_arg;
	void (*changed)(void *arg); /* outbox_config's; may be NULL */
	void *changed_arg;
	const char *fault;        /* bs_fault spec (ipfs/bs_fault.h); NULL:
				     none */
	bool watch;               /* a bs_watch under the WAL */
	bool wal;                 /* a wal_store on top */
};

/* The stack, by name; a layer not built is NULL. */
struct store_stack {
	struct blockstore *top;    /* the whole stack; owns every layer */
	struct blockstore *direct; /* the stack under the WAL (top without
				      one): puts that skip the journal */
	struct blockstore *wal;
	struct blockstore *fault;
	struct blockstore *watch;
	struct blockstore *outbox;
	struct blockstore *remote; /* the node (owned by the outbox) */
	struct blockstore *local;  /* the store's own blocks */
};

/*
 * Build the stack spec describes into *s.  Nothing is started (the
 * outbox's uploads wait for outbox_start) and the node is not contacted.
 * 0, or -1 with one line in msg ("block store in ROOT: …", the node
 * address refused, "outbox ROOT/outbox.log: …", "bad fault spec '…'"),
 * *s then zeroed and nothing left open.
 */
IPMD_MUST_CHECK
int store_stack_open(const struct store_stack_spec *spec,
		     struct store_stack *s, char *msg, size_t msgsize);

/* Close the whole stack (bs_close of top) and zero *s.  Zeroed: fine. */
void store_stack_close(struct store_stack *s);

#endif
