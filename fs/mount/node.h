/*
 * fs/mount/node.h — a mount's IPFS node: its part of the block stack,
 * the uploads, the IPNS publisher, the drain at unmount.
 *
 * With a node (mount --node ADDR, IPMAILDIR_NODE), the local store is
 * wrapped in the outbox (cache/outbox.h) with a Kubo RPC store
 * (ipfs/bs_kubo.h) as its remote: writes stay local-first and durable as
 * without a node, uploads run in the background, blocks missing here are
 * fetched from the node within node_timeout_ms.  A store that once had a
 * node (STORE/outbox.log exists) keeps its outbox when mounted without
 * one, so nothing written meanwhile is forgotten: it is uploaded at the
 * next mount with a node.
 */
#ifndef IPMD_FS_MOUNT_NODE_H
#define IPMD_FS_MOUNT_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/keys.h"
#include "fs/store/head.h"
#include "fs/store/stack.h"
#include "ipfs/blockstore.h"
#include "util/attr.h"

struct publisher;

/* Default bound on a block read from the node (mount -o node_timeout=). */
#define NODE_DEFAULT_READ_TIMEOUT_MS 10000

/* What the node's part of the stack needs of the mount's options
 * (fs/mount/mount.h). */
struct node_options {
	const char *node;          /* API address or "auto"; NULL or "": none */
	unsigned node_timeout_ms;  /* 0: NODE_DEFAULT_READ_TIMEOUT_MS */
	uint64_t local_cap_bytes;  /* 0: no cap (needs a node otherwise) */
	bool read_only;
	bool from_node;            /* a --from-node mount: needs a node, and
				      what it reads is kept here */
};

/*
 * The node's part of a mount's stack (fs/store/stack.h): checks o (a cap
 * or --from-node needs a node) and fills spec's node and outbox fields:
 * the outbox when there is a node or an outbox log, its uploads reported
 * to the log (util/log.h).  0, or -1 with one line in msg.
 */
IPMD_MUST_CHECK
int ipmd_node_spec(const struct node_options *o,
		   struct store_stack_spec *spec, char *msg, size_t msgsize);

/* Once the stack is built: a node that does not answer is only logged
 * (the mount goes on; writes wait in the outbox). */
void ipmd_node_ping(const struct store_stack *s);

/* After daemonizing: start the uploads of s's outbox (none: nothing to
 * do) and, unless read_only, the IPNS publisher of keys' name through
 * s's node (every publish_interval_s, fs/mount/publish.h), which
 * publishes head at once if it names a commit.  *publisher is set only
 * when one is started.  0 or negative errno. */
int ipmd_node_start(const struct store_stack *s, bool read_only,
		    const struct mailbox_keys *keys,
		    unsigned publish_interval_s, const struct head *head,
		    struct publisher **publisher);

/* Default of mount -o upload_wait= (seconds). */
#define NODE_DEFAULT_UPLOAD_WAIT_S 30
/* The unmount gives up waiting once uploads made no progress this long
 * while the node fails: a node that is down costs seconds, not minutes. */
#define NODE_STALL_MS 3000

/*
 * At unmount, after the last commit: let the outbox drain, so that what
 * the mount wrote is on the node when it ends (another machine can read
 * it), for at most wait_s seconds and only while uploads progress.
 * Whatever is left stays queued in STORE/outbox.log for the next mount;
 * the log says how much.  Nothing to do without a node.
 */
void ipmd_node_finish(struct blockstore *outbox, bool read_only,
		      unsigned wait_s);

#endif
