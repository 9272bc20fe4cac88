/* ipfs/blockstore.c — the dispatchers and the wrapper kit of
 * ipfs/blockstore.h; the one place that walks `parent`. */
#include "ipfs/blockstore.h"

#include <errno.h>

/* Down to the layer that answers `slot`: a wrapper whose table leaves it
 * NULL passes the call to its parent (Dovecot's fs-wrapper defaults,
 * without a table of forwarding functions).  A backend that lacks the
 * slot ends the walk, and the dispatcher answers -ENOTSUP. */
#define DOWN_TO(bs, slot)                                                   \
	while (!(bs)->ops->slot && (bs)->parent)                            \
	(bs) = (bs)->parent

bool bs_transient(int e)
{
	return e == -EIO || e == -ETIMEDOUT || e == -EAGAIN ||
	       e == -ECONNREFUSED || e == -ECONNRESET;
}

void bs_wrap(struct blockstore *self, const struct blockstore_ops *ops,
	     struct blockstore *parent)
{
	self->ops = ops;
	self->caps = parent->caps;
	self->parent = parent;
}

struct blockstore *bs_parent(struct blockstore *bs)
{
	return bs->parent;
}

struct blockstore *bs_find(struct blockstore *bs,
			   const struct blockstore_ops *ops)
{
	for (; bs; bs = bs->parent)
		if (bs->ops == ops)
			return bs;
	return NULL;
}

int bs_put(struct blockstore *bs, const uint8_t *data, size_t len,
	   unsigned flags, struct cid *cid_out)
{
	DOWN_TO(bs, put);
	return bs->ops->put ? bs->ops->put(bs, data, len, flags, cid_out)
			    : -ENOTSUP;
}

int bs_get(struct blockstore *bs, const struct cid *cid, uint8_t *buf,
	   size_t cap, size_t *len)
{
	DOWN_TO(bs, get);
	return bs->ops->get ? bs->ops->get(bs, cid, buf, cap, len) : -ENOTSUP;
}

int bs_has(struct blockstore *bs, const struct cid *cid)
{
	DOWN_TO(bs, has);
	return bs->ops->has ? bs->ops->has(bs, cid) : -ENOTSUP;
}

int bs_remove(struct blockstore *bs, const struct cid *cid)
{
	DOWN_TO(bs, remove);
	return bs->ops->remove ? bs->ops->remove(bs, cid) : -ENOTSUP;
}

int bs_sync(struct blockstore *bs)
{
	DOWN_TO(bs, sync);
	return bs->ops->sync ? bs->ops->sync(bs) : -ENOTSUP;
}

int bs_pin(struct blockstore *bs, const struct cid *cid)
{
	DOWN_TO(bs, pin);
	return bs->ops->pin ? bs->ops->pin(bs, cid) : -ENOTSUP;
}

int bs_unpin(struct blockstore *bs, const struct cid *cid)
{
	DOWN_TO(bs, unpin);
	return bs->ops->unpin ? bs->ops->unpin(bs, cid) : -ENOTSUP;
}

int bs_iterate(struct blockstore *bs, bs_iterate_fn fn, void *arg)
{
	DOWN_TO(bs, iterate);
	return bs->ops->iterate ? bs->ops->iterate(bs, fn, arg) : -ENOTSUP;
}

int bs_usage(struct blockstore *bs, struct bs_usage *u)
{
	DOWN_TO(bs, usage);
	return bs->ops->usage ? bs->ops->usage(bs, u) : -ENOTSUP;
}

int bs_put_many(struct blockstore *bs, const struct bs_block *blocks,
		size_t n, unsigned flags, int *results)
{
	/* Not past a layer that changes put: its put must see each block. */
	while (!bs->ops->put_many && !bs->ops->put && bs->parent)
		bs = bs->parent;
	if (bs->ops->put_many)
		return bs->ops->put_many(bs, blocks, n, flags, results);
	int first = 0;
	for (size_t i = 0; i < n; i++) {
		results[i] = bs_put(bs, blocks[i].data, blocks[i].len, flags,
				    NULL);
		if (results[i] && !first)
			first = results[i];
	}
	return first;
}

void bs_close(struct blockstore *bs)
{
	while (bs) {
		struct blockstore *parent = bs->parent;
		if (bs->ops->close)
			bs->ops->close(bs);
		bs = parent;
	}
}
