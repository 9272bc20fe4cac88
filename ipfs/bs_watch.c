/* ipfs/bs_watch.c — see bs_watch.h. */
#include "ipfs/bs_watch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "ipfs/cid.h"
#include "ipfs/cidset.h"

struct watch {
	struct blockstore base;
	pthread_mutex_t lock;
	struct cid_set *put; /* under lock; NULL: no watch on */
};

static struct watch *to_watch(struct blockstore *bs)
{
	return (struct watch *)bs;
}

static int w_put(struct blockstore *bs, const uint8_t *data, size_t len,
		 unsigned flags, struct cid *cid_out)
{
	struct watch *w = to_watch(bs);
	pthread_mutex_lock(&w->lock);
	int e = 0;
	if (w->put) {
		struct cid c;
		cid_of_raw_block(&c, data, len);
		e = cid_set_add(w->put, &c);
	}
	pthread_mutex_unlock(&w->lock);
	if (e < 0)
		return e; /* unremembered, it must not go down */
	return bs_put(bs_parent(bs), data, len, flags, cid_out);
}

static int w_remove(struct blockstore *bs, const struct cid *cid)
{
	struct watch *w = to_watch(bs);
	pthread_mutex_lock(&w->lock);
	int e = w->put && cid_set_has(w->put, cid)
			? -EBUSY
			: bs_remove(bs_parent(bs), cid);
	pthread_mutex_unlock(&w->lock);
	return e;
}

static void w_close(struct blockstore *bs)
{
	struct watch *w = to_watch(bs);
	cid_set_free(w->put);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static const struct blockstore_ops watch_ops = {
	.version = BLOCKSTORE_OPS_VERSION,
	.name = "watch",
	.put = w_put,
	.remove = w_remove,
	.close = w_close,
};

int bs_watch_wrap(struct blockstore *parent, struct blockstore **out)
{
	struct watch *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	bs_wrap(&w->base, &watch_ops, parent);
	pthread_mutex_init(&w->lock, NULL);
	*out = &w->base;
	return 0;
}

int bs_watch_begin(struct blockstore *bs)
{
	struct blockstore *layer = bs_find(bs, &watch_ops);
	if (!layer)
		return -ENOENT;
	struct watch *w = to_watch(layer);
	struct cid_set *set = cid_set_new_raw();
	if (!set)
		return -ENOMEM;
	pthread_mutex_lock(&w->lock);
	int e = w->put ? -EBUSY : 0;
	if (!e)
		w->put = set;
	pthread_mutex_unlock(&w->lock);
	if (e)
		cid_set_free(set);
	return e;
}

void bs_watch_end(struct blockstore *bs)
{
	struct blockstore *layer = bs_find(bs, &watch_ops);
	if (!layer)
		return;
	struct watch *w = to_watch(layer);
	pthread_mutex_lock(&w->lock);
	struct cid_set *set = w->put;
	w->put = NULL;
	pthread_mutex_unlock(&w->lock);
	cid_set_free(set);
}
