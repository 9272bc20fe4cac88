/*
 * ipfs/kubo_reply.h — what a Kubo RPC answer means: bytes in, result out.
 *
 * Pure functions, no I/O and no global state, so that the handling of
 * whatever a node sends back can be tested and fuzzed on its own
 * (kubo_parse_reply is the fuzz target).  The transport (ipfs/bs_kubo.c)
 * only moves bytes and maps transport failures; every decision about a
 * body is made here.
 *
 * Rules (measured on js-ipfs 0.66.1 and Kubo 0.43.1):
 *  - Errors come as HTTP 4xx/5xx with {"Message":…,"Code":…,"Type":"error"},
 *    or inline in a 200 body ({"Hash":…,"Error":…} of block/rm).
 *  - CIDs come back in any multibase (base58btc unless cid-base=base32):
 *    they are decoded and compared as bytes, never as strings.
 *  - block/get bodies are re-hashed against the CID asked for: bytes that
 *    don't match are -EBADMSG, whatever the status said.
 *  - A node that waited out the request's timeout= answers 500 "… request
 *    timed out" (js-ipfs) or "context deadline exceeded" (Kubo):
 *    -ETIMEDOUT (not worth retrying at once), block/stat included.  For
 *    block/get that is a block the node could not find in time or a node
 *    too slow to answer; the two look the same.
 *  - block/stat is asked with offline=true (ipfs/bs_kubo.h, has()): the
 *    node answers from its own store at once, 200 for a block it holds,
 *    500 "block was not found locally (offline): ipld: could not find …"
 *    for one it does not (1/0) — never a wait for the network, so a
 *    timeout there is a slow node, not an absent block.
 *  - A block that is not there: "… not found" (js-ipfs), "ipld: could not
 *    find …" (Kubo's block/rm): -ENOENT (0 for block/stat, as above).
 *
 * Result codes: 0 (or 1/0 for STAT: present/absent); -EBADMSG the node
 * answered something malformed or wrong; -ENOENT absent; -ETIMEDOUT the
 * node gave up waiting; -EIO a server error that may pass (5xx); -EINVAL
 * the node refused the request (4xx); -EFBIG body too large (413);
 * -ENOTSUP no such endpoint (404); -EBUSY block/rm of a pinned block.
 * kubo_reply_temporary() says which of those are worth a retry.
 */
#ifndef IPMD_IPFS_KUBO_REPLY_H
#define IPMD_IPFS_KUBO_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipfs/cid.h"
#include "util/attr.h"

enum kubo_op {
	KUBO_OP_PUT,     /* block/put: {"Key":cid,"Size":n} */
	KUBO_OP_GET,     /* block/get: the block's bytes */
	KUBO_OP_STAT,    /* block/stat?offline=true: {"Key":cid,"Size":n} */
	KUBO_OP_RM,      /* block/rm: {"Hash":cid[,"Error":msg]} */
	KUBO_OP_PIN_ADD, /* pin/add: {"Pins":[cid…]} */
	KUBO_OP_PIN_RM,  /* pin/rm: {"Pins":[cid…]} */
	KUBO_OP_DHT,     /* routing/put, routing/get (Kubo), dht/put,
			    dht/get (js-ipfs): a stream of JSON events,
			    read with kubo_parse_dht_events */
	KUBO_OP_IMPORT,  /* dag/import: a stream of JSON lines, read with
			    kubo_parse_import */
	KUBO_OP_JSON,    /* anything else that answers a JSON object */
};

/* The node's own words, kept for a one-line message. */
#define KUBO_MSG_MAX 200

struct kubo_reply {
	struct cid cid;              /* PUT/STAT: the CID the node named */
	uint64_t size;               /* PUT/STAT: "Size" */
	char msg[KUBO_MSG_MAX];      /* error message from the node, or "" */
	bool no_endpoint;            /* 404: the node has no such call (an
					older or other node: js-ipfs has
					no routing/put) */
};

/*
 * Interpret one answer.  status is the HTTP status (100…599); body/len the
 * whole body; want is the CID the request was about (for PUT the CID we
 * computed ourselves; may be NULL for KUBO_OP_JSON).  Fills *out (zeroed
 * first) and returns the result code described above.
 */
IPMD_MUST_CHECK
int kubo_parse_reply(enum kubo_op op, long status, const uint8_t *body,
		     size_t len, const struct cid *want,
		     struct kubo_reply *out);

/*
 * routing/put and routing/get (Kubo), dht/put and dht/get (js-ipfs)
 * answer 200 and a stream of JSON events, one a line: {"Type":N,"ID":peer,"Extra":…}.  Type 1 (peer
 * response): a peer took the record (put; js-ipfs: Kubo 0.43 names no
 * peer, it answers one Type 5 event naming itself); Type 5 (value): Extra is a
 * record, base64 (get), handed to fn; Type 3 (query error): Extra says
 * why, kept in error.  A line that is not such an object is -EBADMSG.
 */
struct kubo_dht_events {
	unsigned peer_responses;
	unsigned values;
	char error[KUBO_MSG_MAX];
};
typedef void (*kubo_value_fn)(const uint8_t *value, size_t len, void *arg);
IPMD_MUST_CHECK
int kubo_parse_dht_events(const uint8_t *body, size_t len, kubo_value_fn fn,
			  void *arg, struct kubo_dht_events *ev);

/*
 * Kubo's stats/dht answers 200 and one JSON object a line per DHT it runs
 * ({"Name":"wan"|"lan","Buckets":[{"Peers":[{"ID":…},…]},…]}): *peers is
 * the number of peers in all its routing tables, those an IPNS put goes
 * to.  A line that is not such an object is -EBADMSG.  (A node whose
 * routing is not a DHT answers 500 "routing service is not a DHT".)
 */
IPMD_MUST_CHECK
int kubo_parse_dht_peers(const uint8_t *body, size_t len, unsigned *peers);

/*
 * dag/import?pin-roots=true of a CAR whose roots are its blocks answers
 * 200 and one line per root: {"Root":{"Cid":{"/":cid},"PinErrorMsg":""}}
 * (other lines, such as {"Stats":…}, are skipped).  want[i] is confirmed
 * (stored and pinned) when a line names it with an empty PinErrorMsg;
 * confirmed[] (n entries) is set accordingly, a root we did not send
 * counts as nothing.  A line that is not a JSON object is -EBADMSG; an
 * error line ({"Message":…,"Type":"error"}) is -EIO, its words in msg
 * (KUBO_MSG_MAX, may be NULL); else 0.
 */
IPMD_MUST_CHECK
int kubo_parse_import(const uint8_t *body, size_t len, const struct cid *want,
		      size_t n, bool *confirmed, char *msg);

/* Is this result worth another try after a pause, within one call's
 * deadline?  bs_transient's rule (ipfs/blockstore.h) less -ETIMEDOUT: who
 * timed out decides that, which only the caller knows (bs_kubo.c,
 * kubo_call): the node itself ("the node gave up waiting", its words in
 * the reply) would wait as long again for a block it cannot find, while a
 * transport timeout is worth another try except for a get, whose deadline
 * the wait already spent.  A caller outside the call (the mount's
 * retries, fs/mount/mount.c; a read's log line, fs/fuse/ops_file.c) uses
 * bs_transient: by then a timeout is worth a try later. */
bool kubo_reply_temporary(int result);

#endif
