/*
 * fs/mount/publish.h — publish a mount's newest commit under the mailbox's own
 * IPNS name (its Ed25519 key), so another machine can mount it by id
 * (fs/mount/remote.h).
 *
 * A background thread, rate-limited: at most one publication per
 * interval.  A commit is published only once the outbox is empty, so a
 * reader who resolves the name finds every block of that commit on the
 * node.  The record (ipfs/ipns_record.h) is signed here with the mailbox
 * key, its sequence is the commit's seq (so it only grows), and it is
 * valid for `lifetime_s`.  An unchanged commit is published again every
 * PUBLISH_REFRESH_INTERVALS intervals (at most half the lifetime apart):
 * a node just restarted, or cut off from the others, keeps the record to
 * itself, a reader's node on a network without public peers answers from
 * its own older copy, and DHT peers drop a record after 48 hours.
 * Kubo accepts a publication alike whether or not a peer took it; one
 * that reached no DHT peer (bs_kubo_ipns_put's count: Routing.Type none,
 * or no peers yet) is published again at every interval until one does,
 * so the mount goes on and the record goes out once it can.  That state
 * and failures are each logged in one line when they start and once when
 * they end.
 */
#ifndef IPMD_FS_MOUNT_PUBLISH_H
#define IPMD_FS_MOUNT_PUBLISH_H

#include <stdint.h>

#include "crypto/keys.h"
#include "ipfs/blockstore.h"
#include "ipfs/cid.h"

#define PUBLISH_DEFAULT_INTERVAL_S 10
#define PUBLISH_DEFAULT_LIFETIME_S (7 * 24 * 3600)
/* The same commit again after this many intervals (5 min by default). */
#define PUBLISH_REFRESH_INTERVALS 30
/* One publication, retries included: bounds what unmount waits for. */
#define PUBLISH_TIMEOUT_MS 5000

struct publisher;

/*
 * Start publishing through node (ipfs/bs_kubo.h), the remote of outbox
 * (cache/outbox.h: what is pending there holds a publication back).
 * keys must be able to sign and outlive the publisher.  interval_s 0:
 * never publish (NULL is returned, and every call below accepts NULL).
 * NULL also when there is no node.
 */
struct publisher *publisher_start(struct blockstore *outbox,
				  struct blockstore *node,
				  const struct mailbox_keys *keys,
				  unsigned interval_s, unsigned lifetime_s);

/* The newest commit (after it is written; cheap, never blocks long). */
void publisher_commit(struct publisher *p, const struct cid *cid,
		      uint64_t seq);

/* Stop.  With final set, one last publication if the newest commit is not
 * yet out and the outbox is empty (unmount, after it drained), unless the
 * node's routing is off.  Waits at most about 2 × PUBLISH_TIMEOUT_MS (a
 * publication under way, then the last one). */
void publisher_stop(struct publisher *p, int final);

#endif
