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

#include <stddef.h>

struct ipmd_fs;
struct mount_options;

/* Default bound on a block read from the node (mount -o node_timeout=). */
#define NODE_DEFAULT_READ_TIMEOUT_MS 10000

/* Open the node at node (a multiaddr, URL, or "auto": the api file of
 * $IPFS_PATH, as Kubo's clients find a running daemon); get_timeout_ms 0:
 * the default.  0, or -1 with one line in msg. */
struct blockstore;
int ipmd_node_open(const char *node, unsigned get_timeout_ms,
		   struct blockstore **out, char *msg, size_t msgsize);

/*
 * Called right after fs->bs is the local store: wraps it (fs->bs, and
 * fs->outbox names the wrapper) when there is a node or an outbox log.
 * 0, or -1 with one line in msg.
 */
int ipmd_node_attach(struct ipmd_fs *fs, const struct mount_options *o,
		     char *msg, size_t msgsize);

/* After daemonizing: start the uploads.  0 or negative errno. */
int ipmd_node_start(struct ipmd_fs *fs);

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
void ipmd_node_finish(struct ipmd_fs *fs, unsigned wait_s);

#endif
