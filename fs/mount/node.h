/*
 * fs/mount/node.h — attach a mount's block store to an IPFS node.
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
#include "ipfs/blockstore.h"
#include "util/attr.h"

struct publisher;

/* Default bound on a block read from the node (mount -o node_timeout=). */
#define NODE_DEFAULT_READ_TIMEOUT_MS 10000

/* What the attach needs of the mount's options (fs/mount/mount.h). */
struct node_options {
	const char *root;          /* the store directory (its outbox.log) */
	const char *node;          /* API address or "auto"; NULL or "": none */
	unsigned node_timeout_ms;  /* 0: NODE_DEFAULT_READ_TIMEOUT_MS */
	uint64_t local_cap_bytes;  /* 0: no cap (needs a node otherwise) */
	bool read_only;
	bool from_node;            /* a --from-node mount: needs a node, and
				      what it reads is kept here */
};

/*
 * Called right after *bs is the local store: wraps it when there is a
 * node or an outbox log; then *bs and *outbox are the wrapper (it owns
 * the local store), else both are left as they are.  0, or -1 with one
 * line in msg.
 */
IPMD_MUST_CHECK
int ipmd_node_attach(const struct node_options *o, struct blockstore **bs,
		     struct blockstore **outbox, char *msg, size_t msgsize);

/* After daemonizing: start the uploads of outbox (NULL: nothing to do)
 * and, unless read_only, the IPNS publisher of keys' name (every
 * publish_interval_s, fs/mount/publish.h), which publishes head at once
 * if it names a commit.  *publisher is set only when one is started.
 * 0 or negative errno. */
int ipmd_node_start(struct blockstore *outbox, bool read_only,
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
