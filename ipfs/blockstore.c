/* ipfs/blockstore.c — the dispatchers of ipfs/blockstore.h. */
#include "ipfs/blockstore.h"

#include <errno.h>

/* Mandatory slots may still be NULL in a half-written backend; answering
 * -ENOTSUP beats a NULL call. */
int bs_put(struct blockstore *bs, const uint8_t *data, size_t len,
	   unsigned flags, struct cid *cid_out)
{
	if (!bs->ops->put)
		return -ENOTSUP;
	return bs->ops->put(bs, data, len, flags, cid_out);
}

int bs_get(struct blockstore *bs, const struct cid *cid, uint8_t *buf,
	   size_t cap, size_t *len)
{
	if (!bs->ops->get)
		return -ENOTSUP;
	return bs->ops->get(bs, cid, buf, cap, len);
}

int bs_has(struct blockstore *bs, const struct cid *cid)
{
	if (!bs->ops->has)
		return -ENOTSUP;
	return bs->ops->has(bs, cid);
}

int bs_remove(struct blockstore *bs, const struct cid *cid)
{
	if (!bs->ops->remove)
		return -ENOTSUP;
	return bs->ops->remove(bs, cid);
}

int bs_sync(struct blockstore *bs)
{
	if (!bs->ops->sync)
		return -ENOTSUP;
	return bs->ops->sync(bs);
}

int bs_pin(struct blockstore *bs, const struct cid *cid)
{
	if (!bs->ops->pin)
		return -ENOTSUP;
	return bs->ops->pin(bs, cid);
}

int bs_unpin(struct blockstore *bs, const struct cid *cid)
{
	if (!bs->ops->unpin)
		return -ENOTSUP;
	return bs->ops->unpin(bs, cid);
}

int bs_iterate(struct blockstore *bs, bs_iterate_fn fn, void *arg)
{
	if (!bs->ops->iterate)
		return -ENOTSUP;
	return bs->ops->iterate(bs, fn, arg);
}

int bs_usage(struct blockstore *bs, struct bs_usage *u)
{
	if (!bs->ops->usage)
		return -ENOTSUP;
	return bs->ops->usage(bs, u);
}

int bs_put_many(struct blockstore *bs, const struct bs_block *blocks,
		size_t n, unsigned flags, int *results)
{
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
	if (bs && bs->ops->close)
		bs->ops->close(bs);
}
