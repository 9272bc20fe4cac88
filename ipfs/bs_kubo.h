/*
 * ipfs/bs_kubo.h — a block store on an IPFS node, over the Kubo HTTP RPC
 * API (libcurl), as Kubo speaks it (docs/ARCHITECTURE.md lists where
 * js-ipfs's Kubo-style API differs; those differences are still handled).
 *
 * Calls: put = block/put?format=raw&cid-codec=raw&mhtype=sha2-256&pin=true
 * (one multipart part with a Content-Type, one block per request: every
 * block put is pinned, in the same request; js-ipfs 0.66 and Kubo make
 * it a recursive pin, which for a raw block is the block alone); get =
 * block/get; has = block/stat?offline=true (does the node itself hold
 * the block: 1, or 0 at once for one it does not, even one it could
 * fetch from a peer; -ETIMEDOUT for a node too slow to say); remove =
 * block/rm; pin/unpin = pin/add and pin/rm; put_many = dag/import?pin-roots=true of a CAR whose roots are
 * its blocks (ipfs/car.h), up to KUBO_IMPORT_MAX_BLOCKS blocks and
 * KUBO_IMPORT_MAX_BYTES a request, every block confirmed by the root the
 * node names pinned (else put on its own); smaller bodies after a node
 * refused one, block/put for a node without dag/import.  Caps: REMOVE, PIN.  sync() does nothing: the node answers a put
 * once it has stored the block.
 *
 * Never trusts the node: every block it returns is re-hashed against the
 * CID asked for (-EBADMSG otherwise), the CID it names for a put must be
 * the one computed here, and CIDs are compared decoded, never as text
 * (ipfs/kubo_reply.h decides what every answer means).
 *
 * Transport: a pool of `connections` curl easy handles, each keeping its
 * HTTP keep-alive connection, so at most that many requests are in flight
 * and a thread waits for a free handle.  Every call has a deadline
 * (timeout_ms, retries included): temporary trouble (connection refused
 * or reset, 5xx, a transfer timeout) is retried with exponential backoff
 * from backoff_ms while attempts and time remain; permanent answers
 * (4xx, wrong bytes) are not.  A get of a block the node doesn't have
 * waits at most get_timeout_ms (sent as the request's timeout=, so the
 * node gives up too) and fails -ETIMEDOUT: a caller never hangs.
 *
 * Errors: negative errno as in ipfs/blockstore.h, -ECONNREFUSED when the
 * node is down; bs_kubo_last_error() gives the last failure in one line.
 */
#ifndef IPMD_IPFS_BS_KUBO_H
#define IPMD_IPFS_BS_KUBO_H

#include <stdbool.h>
#include <stddef.h>

#include "ipfs/blockstore.h"
#include "ipfs/cid.h"
#include "util/attr.h"

#define KUBO_DEFAULT_TIMEOUT_MS 30000
#define KUBO_DEFAULT_GET_TIMEOUT_MS 10000
#define KUBO_DEFAULT_RETRIES 4
#define KUBO_DEFAULT_BACKOFF_MS 100
#define KUBO_DEFAULT_CONNECTIONS 4
#define KUBO_MAX_CONNECTIONS 64
#define KUBO_URL_MAX 512
/* A dag/import's body (the CAR; multipart framing aside): Kubo takes far
 * more, and 4 MiB makes one request of an uploader's batch
 * (cache/outbox_upload.c).  A node that refuses that much (js-ipfs: over
 * 1 MiB) gets SMALL from then on. */
#define KUBO_IMPORT_MAX_BYTES (4 * 1024 * 1024)
#define KUBO_IMPORT_SMALL_BYTES (1024 * 1024 - 512)
#define KUBO_IMPORT_MAX_BLOCKS 256

struct kubo_config {
	const char *addr;        /* multiaddr or http(s) URL (see below) */
	unsigned timeout_ms;     /* per call, retries included; 0: default */
	unsigned get_timeout_ms; /* wait for an absent block; 0: default */
	unsigned retries;        /* extra attempts; 0: default, ~0u: none */
	unsigned backoff_ms;     /* first pause, doubling; 0: default */
	unsigned connections;    /* parallel requests; 0: default */
};

/*
 * The API base URL ("http://127.0.0.1:5001/api/v0") of an address:
 *   /ip4/A/tcp/P[/http]  /ip6/A/tcp/P  /dns[46]/NAME/tcp/P   (multiaddr)
 *   http://HOST:PORT[/api/v0]  https://…                       (URL)
 * 0, -EINVAL (not an address we understand) or -ENAMETOOLONG.
 */
IPMD_MUST_CHECK
int kubo_api_url(const char *addr, char *url, size_t size);

/* `--node auto`: the address in $IPFS_PATH/api (default ~/.ipfs/api), as
 * Kubo's own clients find a running daemon.  0, -ENOENT (no api file:
 * no daemon), or another negative errno. */
IPMD_MUST_CHECK
int kubo_auto_addr(char *addr, size_t size);

/* A node by what a user names (mount --node, gc --node, the config key
 * node): "auto" (kubo_auto_addr), a multiaddr or a URL; get_timeout_ms 0:
 * the default.  Opened as bs_kubo_open does (no request is made).  0, or
 * -1 with one line in msg naming the address and why. */
IPMD_MUST_CHECK
int bs_kubo_open_addr(const char *node, unsigned get_timeout_ms,
		      struct blockstore **out, char *msg, size_t msgsize);

/* Open (no request is made: the node may come up later).  0 and *out,
 * -EINVAL for a bad address, -ENOMEM. */
IPMD_MUST_CHECK
int bs_kubo_open(const struct kubo_config *cfg, struct blockstore **out);

/* The calls below take the node's store or a stack over it (they find it
 * with bs_find); on a stack without one they fail with -EINVAL. */

/* The node answers at all (POST /api/v0/id, one attempt, short timeout)?
 * 0 or a negative errno. */
int bs_kubo_ping(struct blockstore *bs);

/* Most CIDs named in one pin/rm (~64 bytes of URL each). */
#define KUBO_UNPIN_BATCH 64

/*
 * Unpin many blocks (`ipmaildir gc` releasing what it frees), up to
 * KUBO_UNPIN_BATCH per request.  A block that is not pinned is fine and
 * not counted: each batch is first asked about (pin/ls naming it, which
 * fails if one is not pinned and changes nothing), unpinned whole (one
 * pin/rm) when all are, else halved — Kubo's pin/rm of several, one not
 * pinned, unpins those before it and fails without saying which.  Only
 * recursive pins (the kind ipmaildir makes) are seen.  0 (with *unpinned,
 * may be NULL, the count actually unpinned) or the first other negative
 * errno.
 */
int bs_kubo_unpin_many(struct blockstore *bs, const struct cid *cids,
		       size_t n, size_t *unpinned);

/*
 * Publish a signed IPNS record (ipfs/ipns_record.h) for pk's name through
 * the node's DHT (routing/put of /ipns/PEER-ID; dht/put on a node without
 * routing/put, js-ipfs): the node keeps it and hands
 * it to its DHT peers, within timeout_ms (0: the store's timeout),
 * retries included.  0 (*peers, may be NULL: how many peers took it, as
 * js-ipfs says; Kubo 0.43 does not say, so then the peers in its DHT
 * routing tables, stats/dht, to which the put went — 0: the record stays
 * on the node alone, Routing.Type none or no peers) or
 * negative errno (-ENOTSUP: the node has no DHT API, or its routing is
 * off — "DHT is not available" — neither worth a retry).
 */
int bs_kubo_ipns_put(struct blockstore *bs, const uint8_t pk[32],
		     const uint8_t *record, size_t len, unsigned timeout_ms,
		     unsigned *peers);

/*
 * Every IPNS record the node finds for pk's name (routing/get, or
 * dht/get as above: its own and
 * its peers'), each opened and verified here (signature by pk, not
 * expired); the highest sequence wins, on a tie the smaller CID (bytes),
 * so nodes that answer with the same records give the same head.  0 with
 * *cid and *seq; -ENOENT
 * none valid (*refused, may be NULL, counts the invalid ones); else as
 * any call.  The only way a head is read from a node: there is no
 * name/resolve, whose answer is the node's word alone.
 */
IPMD_MUST_CHECK
int bs_kubo_ipns_get(struct blockstore *bs, const uint8_t pk[32],
		     unsigned timeout_ms, struct cid *cid, uint64_t *seq,
		     unsigned *refused);

/* One line about the latest failure of any call ("" if none; "not an
 * IPFS node" for a stack without one). */
void bs_kubo_last_error(struct blockstore *bs, char *buf, size_t size);

/* The API base URL in use (NULL: no node in the stack). */
const char *bs_kubo_url(struct blockstore *bs);

/* Error e of a call through bs (NULL: none), when it is a refused
 * connection to the node in bs's stack, said as what it means to a
 * user: "the IPFS node is not running, or not reachable at URL" into
 * buf, and true.  Else false, buf untouched. */
bool bs_kubo_refused(struct blockstore *bs, int e, char *buf, size_t size);

#endif
