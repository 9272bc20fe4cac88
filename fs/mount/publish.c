/* fs/mount/publish.c — IPNS publication of the head; see publish.h. */
#include "fs/mount/publish.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/outbox.h"
#include "ipfs/bs_kubo.h"
#include "ipfs/ipns_record.h"
#include "util/log.h"
#include "util/thread.h"

struct publisher {
	struct blockstore *outbox, *node;
	const struct mailbox_keys *keys;
	unsigned interval_s, lifetime_s;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	/* Under lock: the newest commit, and what is out there. */
	struct cid want;
	uint64_t want_seq;
	bool have_want;
	uint64_t published_seq;
	bool published;
	time_t published_at;
	int failing; /* the error of the last try, 0 after a success */
	bool node_only; /* the last publication reached no DHT peer */
};

/* One try; 0 or negative errno.  Called without the lock.  again: the
 * same commit as the last publication (a refresh, logged at debug). */
static int publish_once(struct publisher *p, const struct cid *cid,
			uint64_t seq, bool again, unsigned *peers_out)
{
	uint8_t rec[IPNS_RECORD_MAX];
	size_t len;
	int64_t until = (int64_t)time(NULL) + p->lifetime_s;
	int e = ipns_record_build(p->keys->sign_secret, cid, seq, until,
				  IPNS_DEFAULT_TTL_NS, rec, &len);
	unsigned peers = 0;
	if (!e)
		e = bs_kubo_ipns_put(p->node, p->keys->public_key, rec, len,
				     PUBLISH_TIMEOUT_MS, &peers);
	if (!e)
		logmsg(again ? LOG_DEBUG : LOG_INFO,
		       "published commit %llu%s under the mailbox's IPNS name "
		       "(%u DHT peers)",
		       (unsigned long long)seq, again ? " again" : "", peers);
	*peers_out = peers;
	return e;
}

/* Is there something to publish now?  Under lock. */
static bool due(const struct publisher *p, time_t now)
{
	if (!p->have_want)
		return false;
	if (!p->published || p->want_seq != p->published_seq)
		return true;
	/* Kept by the node alone: again at every interval, so the record
	 * goes out as soon as the node has a DHT peer. */
	if (p->node_only)
		return true;
	time_t every = (time_t)p->interval_s * PUBLISH_REFRESH_INTERVALS;
	if (every > (time_t)p->lifetime_s / 2)
		every = (time_t)p->lifetime_s / 2;
	return now - p->published_at >= every;
}

/* A publication that no DHT peer took (Kubo with Routing.Type none, or
 * a DHT with no peers yet) succeeds all the same: the record stays on the
 * node, where only its own resolver finds it.  Said once when that
 * starts, once when a publication reaches peers again.  Under lock. */
static void note_reach(struct publisher *p, unsigned peers)
{
	if (peers == 0 && !p->node_only)
		logmsg(LOG_WARNING,
		       "the head is published on the IPFS node only: no DHT "
		       "peer took the record (routing off or no peers), so "
		       "other machines cannot resolve the mailbox yet; "
		       "publishing again every %u s, mail is not affected",
		       p->interval_s);
	else if (peers > 0 && p->node_only)
		logmsg(LOG_NOTICE,
		       "the head reached the node's DHT peers (%u): other "
		       "machines can resolve the mailbox",
		       peers);
	p->node_only = peers == 0;
}

static void try_publish(struct publisher *p)
{
	struct outbox_stats st;
	outbox_stats(p->outbox, &st);
	pthread_mutex_lock(&p->lock);
	if (!due(p, time(NULL)) || st.pending) {
		pthread_mutex_unlock(&p->lock);
		return;
	}
	struct cid cid = p->want;
	uint64_t seq = p->want_seq;
	bool again = p->published && p->published_seq == seq;
	pthread_mutex_unlock(&p->lock);

	unsigned peers = 0;
	int e = publish_once(p, &cid, seq, again, &peers);

	pthread_mutex_lock(&p->lock);
	if (!e) {
		p->published = true;
		p->published_seq = seq;
		p->published_at = time(NULL);
		if (p->failing)
			logmsg(LOG_NOTICE, "publishing the head works again");
		note_reach(p, peers);
	} else if (!p->failing) {
		char why[512];
		bs_kubo_last_error(p->node, why, sizeof(why));
		logmsg(LOG_WARNING,
		       "cannot publish the head over IPNS (%s); retrying, "
		       "mail is not affected",
		       why[0] ? why : strerror(-e));
	}
	p->failing = e;
	pthread_mutex_unlock(&p->lock);
}

static void publish_now(void *arg)
{
	try_publish(arg);
}

static void *publisher_main(void *arg)
{
	struct publisher *p = arg;
	thread_loop(&p->lock, &p->wake, &p->stopping,
		    (uint64_t)p->interval_s * 1000, NULL, publish_now, p);
	return NULL;
}

struct publisher *publisher_start(struct blockstore *outbox,
				  struct blockstore *node,
				  const struct mailbox_keys *keys,
				  unsigned interval_s, unsigned lifetime_s)
{
	if (!interval_s || !node || !keys->can_sign)
		return NULL;
	struct publisher *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->outbox = outbox;
	p->node = node;
	p->keys = keys;
	p->interval_s = interval_s;
	p->lifetime_s = lifetime_s ? lifetime_s : PUBLISH_DEFAULT_LIFETIME_S;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if (pthread_create(&p->thread, NULL, publisher_main, p) != 0) {
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return NULL;
	}
	return p;
}

void publisher_commit(struct publisher *p, const struct cid *cid,
		      uint64_t seq)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	if (!p->have_want || seq > p->want_seq) {
		p->want = *cid;
		p->want_seq = seq;
		p->have_want = true;
	}
	pthread_mutex_unlock(&p->lock);
}

void publisher_stop(struct publisher *p, int final)
{
	if (!p)
		return;
	thread_stop(&p->lock, &p->wake, &p->stopping, p->thread);
	if (final) {
		pthread_mutex_lock(&p->lock);
		/* Not against a node whose routing is off: unmount would
		 * only wait for the same refusal. */
		bool newer = p->have_want && p->failing != -ENOTSUP &&
			     (!p->published || p->want_seq != p->published_seq);
		pthread_mutex_unlock(&p->lock);
		if (newer)
			try_publish(p);
	}
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
