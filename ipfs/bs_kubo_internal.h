/*
 * ipfs/bs_kubo_internal.h — what the pieces of the Kubo block store
 * (bs_kubo.h) share; for ipfs/bs_kubo*.c only.
 *
 * The pieces, one job each:
 *   bs_kubo.c       addresses, the transport (a pool of curl handles,
 *                   retries within a deadline: kubo_call), the block
 *                   calls (put, put_many by dag/import, get, has,
 *                   remove), opening and closing;
 *   bs_kubo_pin.c   pins: pin/add, pin/rm, and gc's exact unpinning of
 *                   many (bs_kubo_unpin_many);
 *   bs_kubo_ipns.c  IPNS records through the node's routing (put, get)
 *                   and how many DHT peers a put can reach.
 *
 * Locking: `lock` guards the handle pool, last_error, import_max and
 * dht_names; everything else of struct bs_kubo is read-only once open.
 */
#ifndef IPMD_IPFS_BS_KUBO_INTERNAL_H
#define IPMD_IPFS_BS_KUBO_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "ipfs/bs_kubo.h"
#include "ipfs/kubo_reply.h"

/* Answers other than a block are small JSON objects. */
#define SMALL_BODY_MAX (64 * 1024)
/* Room for curl to see the node's own "timed out" answer to a get. */
#define GET_MARGIN_MS 1000
#define QUERY_MAX 256
#define ERR_MAX 256

struct bs_kubo {
	struct blockstore base;
	char url[KUBO_URL_MAX];
	unsigned timeout_ms, get_timeout_ms, retries, backoff_ms, nconn;
	struct curl_slist *headers; /* read-only once built */
	pthread_mutex_t lock;       /* pool, last_error */
	pthread_cond_t freed;
	CURL *pool[KUBO_MAX_CONNECTIONS];
	bool busy[KUBO_MAX_CONNECTIONS];
	size_t import_max;          /* a dag/import's body at most:
				       KUBO_IMPORT_MAX_BYTES, SMALL_BYTES
				       once a node refused that, 0 once
				       it refused dag/import (block/put) */
	bool dht_names;             /* no routing/put (404): js-ipfs's
				       dht/put, dht/get */
	char last_error[ERR_MAX];
};

/* One request. */
struct kubo_req {
	enum kubo_op op;
	const char *endpoint;      /* "block/put" */
	char query[QUERY_MAX];     /* "arg=…&…", may be "" */
	const char *long_query;    /* instead of query when set (batches) */
	const uint8_t *upload;     /* multipart body, or NULL */
	size_t upload_len;
	const char *upload_type;   /* its Content-Type; NULL: octet-stream */
	const struct cid *want;
	unsigned deadline_ms;      /* whole call, retries included */
	bool retry;
	bool absent_ok;            /* -ENOENT is an answer, not a failure
				      (last_error keeps it out) */
	bool quiet;                /* any failure is an answer (a question
				      whose "no" is expected): last_error
				      keeps it out */
};

struct body {
	uint8_t *data;
	size_t len, cap, max;
	bool overflow;
};

/* The node's store of a stack (any layer above it), or NULL. */
struct bs_kubo *kubo_of(struct blockstore *bs);

/* In the table's own calls, where bs is the node's store itself. */
static inline struct bs_kubo *to_kubo(struct blockstore *bs)
{
	return (struct bs_kubo *)bs;
}

/*
 * Run a request until it gives a final answer or its deadline passes
 * (retrying temporary trouble, see bs_kubo.h).  On success (a result
 * >= 0, as kubo_parse_reply decides) the body is left in *b for the
 * caller to free; a failure is kept for bs_kubo_last_error unless the
 * request said quiet, or absent_ok and the answer is -ENOENT.
 */
int kubo_call(struct bs_kubo *k, const struct kubo_req *rq, struct body *b,
	      struct kubo_reply *rep);

/* A request naming one CID ("arg=CID" then extra, and the node's own
 * timeout= when node_timeout_ms): the result of kubo_call, body freed. */
int kubo_cid_call(struct bs_kubo *k, enum kubo_op op, const char *endpoint,
		  const char *extra, const struct cid *cid,
		  unsigned node_timeout_ms, unsigned deadline_ms);

/* The table's pin and unpin (bs_kubo_pin.c). */
int kubo_pin(struct blockstore *bs, const struct cid *cid);
int kubo_unpin(struct blockstore *bs, const struct cid *cid);

#endif
