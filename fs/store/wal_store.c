/* fs/store/wal_store.c — see wal_store.h. */
#include "fs/store/wal_store.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct wal_store {
	struct blockstore base; /* first: the vtable dispatch casts to it */
	pthread_mutex_t lock;
	struct journal *journal;
	uint64_t unembedded; /* parent puts not yet synced nor journaled */
};

static const struct blockstore_ops wal_ops;

/* Our layer of the stack bs (the wrapper itself, or a stack over it). */
static struct wal_store *wal(struct blockstore *bs)
{
	return (struct wal_store *)bs_find(bs, &wal_ops);
}

static int append_block(struct journal *j, const uint8_t *data, size_t len)
{
	uint8_t *rec = malloc(len + 1);
	if (!rec)
		return -ENOMEM;
	int e = journal_append(j, rec, journal_payload_put_block(rec, data, len),
			       false);
	free(rec);
	return e;
}

static int w_put(struct blockstore *bs, const uint8_t *data, size_t len,
		 unsigned flags, struct cid *cid_out)
{
	struct wal_store *w = wal(bs);
	int e = bs_put(bs_parent(bs), data, len, flags, cid_out);
	if (e || (flags & BS_PUT_DURABLE))
		return e;
	pthread_mutex_lock(&w->lock);
	struct journal *j = w->journal;
	bool embed = j && len <= WAL_EMBED_MAX;
	if (!embed)
		w->unembedded++;
	pthread_mutex_unlock(&w->lock);
	return embed ? append_block(j, data, len) : 0;
}

static int w_sync(struct blockstore *bs)
{
	struct wal_store *w = wal(bs);
	pthread_mutex_lock(&w->lock);
	uint64_t pending = w->unembedded;
	pthread_mutex_unlock(&w->lock);
	int e = bs_sync(bs_parent(bs));
	if (!e) {
		pthread_mutex_lock(&w->lock);
		w->unembedded -= pending < w->unembedded ? pending
							 : w->unembedded;
		pthread_mutex_unlock(&w->lock);
	}
	return e;
}

static void w_close(struct blockstore *bs)
{
	struct wal_store *w = wal(bs);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

/* Everything else (get, has, remove, pin, iterate …) passes through. */
static const struct blockstore_ops wal_ops = {
	.version = BLOCKSTORE_OPS_VERSION,
	.name = "wal",
	.put = w_put,
	.sync = w_sync,
	.close = w_close,
};

int wal_store_wrap(struct blockstore *parent, struct journal *j,
		   struct blockstore **out)
{
	struct wal_store *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	bs_wrap(&w->base, &wal_ops, parent);
	w->journal = j;
	*out = &w->base;
	return 0;
}

void wal_store_set_journal(struct blockstore *bs, struct journal *j)
{
	struct wal_store *w = wal(bs);
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->journal = j;
	pthread_mutex_unlock(&w->lock);
}

int wal_store_durable(struct blockstore *bs)
{
	struct wal_store *w = wal(bs);
	if (!w)
		return -EINVAL;
	pthread_mutex_lock(&w->lock);
	bool parent_pending = w->unembedded > 0 || !w->journal;
	struct journal *j = w->journal;
	pthread_mutex_unlock(&w->lock);
	int e = parent_pending ? w_sync(&w->base) : 0;
	return e || !j ? e : journal_sync(j);
}

int wal_replay_block(struct blockstore *bs, const uint8_t *payload,
		     size_t len, int *err)
{
	struct journal_payload p;
	journal_payload_decode(payload, len, &p);
	if (p.kind != JOURNAL_PAYLOAD_BLOCK)
		return 0;
	struct cid cid;
	*err = bs_put(bs, p.body, p.len, 0, &cid);
	return 1;
}
