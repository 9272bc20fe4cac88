/* ipfs/bs_kubo_ipns.c — IPNS records through a Kubo node's routing;
 * see bs_kubo.h and bs_kubo_internal.h. */
#include "ipfs/bs_kubo_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipfs/ipns_record.h"
#include "util/clock.h"

/*
 * IPNS records go through routing/put and routing/get, Kubo's names (its
 * dht/put and dht/get answer 500 "removed, use 'ipfs routing' instead");
 * a node without them (404: js-ipfs 0.66) gets dht/put and dht/get, the
 * same calls under their old names, from then on.
 */
static int routing_call(struct bs_kubo *k, struct kubo_req *rq,
			const char *kubo_name, const char *old_name,
			struct body *b, struct kubo_reply *rep)
{
	pthread_mutex_lock(&k->lock);
	bool old = k->dht_names;
	pthread_mutex_unlock(&k->lock);
	rq->endpoint = old ? old_name : kubo_name;
	int r = kubo_call(k, rq, b, rep);
	if (r == -ENOTSUP && !old && rep->no_endpoint) {
		pthread_mutex_lock(&k->lock);
		k->dht_names = true;
		pthread_mutex_unlock(&k->lock);
		rq->endpoint = old_name;
		r = kubo_call(k, rq, b, rep);
	}
	return r;
}

/* The node of the stack bs and the peer id naming pk's IPNS record, or
 * NULL (no node, or pk is not a key). */
static struct bs_kubo *ipns_target(struct blockstore *bs,
				   const uint8_t pk[32],
				   char peer[CID_TEXT_MAX])
{
	struct bs_kubo *k = kubo_of(bs);
	if (!k || ipns_peer_id_of_ed25519(peer, CID_TEXT_MAX, pk))
		return NULL;
	return k;
}

/* The peers in the node's DHT routing tables (Kubo's stats/dht), those a
 * put goes to; 0 when it has none, its routing is not a DHT, or it has
 * no stats/dht.  Kubo 0.43's routing/put names none of the peers that
 * took a record, and answers alike when none did.  Within deadline_ms,
 * what is left of the put's own bound, so put and count together wait no
 * longer than that bound (an unmount waits on it); none left: 0. */
static unsigned dht_peers(struct bs_kubo *k, unsigned deadline_ms)
{
	if (deadline_ms == 0)
		return 0;
	struct kubo_req rq = {.op = KUBO_OP_DHT, .endpoint = "stats/dht",
			      .deadline_ms = deadline_ms, .quiet = true};
	struct body b = {.max = SMALL_BODY_MAX};
	struct kubo_reply rep;
	unsigned peers = 0;
	int r = kubo_call(k, &rq, &b, &rep);
	if (r == 0 && kubo_parse_dht_peers(b.data, b.len, &peers))
		peers = 0;
	free(b.data);
	return peers;
}

int bs_kubo_ipns_put(struct blockstore *bs, const uint8_t pk[32],
		     const uint8_t *record, size_t len, unsigned timeout_ms,
		     unsigned *peers)
{
	char peer[CID_TEXT_MAX];
	struct bs_kubo *k = ipns_target(bs, pk, peer);
	if (!k)
		return -EINVAL;
	struct kubo_req rq = {.op = KUBO_OP_DHT, .upload = record,
			      .upload_len = len, .retry = true,
			      .deadline_ms = k->timeout_ms};
	if (timeout_ms && timeout_ms < rq.deadline_ms)
		rq.deadline_ms = timeout_ms;
	snprintf(rq.query, sizeof(rq.query), "arg=/ipns/%s", peer);
	struct body b = {.max = SMALL_BODY_MAX};
	struct kubo_reply rep;
	uint64_t end = now_ms() + rq.deadline_ms;
	int r = routing_call(k, &rq, "routing/put", "dht/put", &b, &rep);
	struct kubo_dht_events ev;
	memset(&ev, 0, sizeof(ev));
	if (r == 0)
		r = kubo_parse_dht_events(b.data, b.len, NULL, NULL, &ev);
	free(b.data);
	if (r == 0 && peers) {
		uint64_t t = now_ms();
		*peers = ev.peer_responses
				 ? ev.peer_responses
				 : dht_peers(k, t < end ? (unsigned)(end - t) : 0);
	}
	return r;
}

struct best_record {
	const uint8_t *pk;
	int64_t now_s;
	struct cid cid;
	uint64_t seq;
	unsigned valid, refused;
};

static void take_record(const uint8_t *rec, size_t len, void *arg)
{
	struct best_record *b = arg;
	struct cid c;
	uint64_t seq;
	if (ipns_record_open(rec, len, b->pk, b->now_s, &c, &seq) != 0) {
		b->refused++;
		return;
	}
	/* Equal sequences (two devices' commits of one seq): the smaller
	 * CID, so whoever sees the same records picks the same head. */
	if (!b->valid++ || seq > b->seq ||
	    (seq == b->seq && cid_compare(&c, &b->cid) < 0)) {
		b->cid = c;
		b->seq = seq;
	}
}

int bs_kubo_ipns_get(struct blockstore *bs, const uint8_t pk[32],
		     unsigned timeout_ms, struct cid *cid, uint64_t *seq,
		     unsigned *refused)
{
	char peer[CID_TEXT_MAX];
	struct bs_kubo *k = ipns_target(bs, pk, peer);
	if (!k)
		return -EINVAL;
	unsigned t = timeout_ms ? timeout_ms : k->get_timeout_ms;
	struct kubo_req rq = {.op = KUBO_OP_DHT, .retry = true,
			      .deadline_ms = t + GET_MARGIN_MS};
	snprintf(rq.query, sizeof(rq.query), "arg=/ipns/%s&timeout=%ums", peer,
		 t);
	struct body b = {.max = SMALL_BODY_MAX};
	struct kubo_reply rep;
	int r = routing_call(k, &rq, "routing/get", "dht/get", &b, &rep);
	struct best_record best = {.pk = pk, .now_s = (int64_t)time(NULL)};
	struct kubo_dht_events ev;
	if (r == 0)
		r = kubo_parse_dht_events(b.data, b.len, take_record, &best,
					  &ev);
	free(b.data);
	if (refused)
		*refused = best.refused;
	if (r)
		return r;
	if (!best.valid)
		return -ENOENT;
	*cid = best.cid;
	*seq = best.seq;
	return 0;
}
