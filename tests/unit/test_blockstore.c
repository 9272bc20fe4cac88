/* tests/unit/test_blockstore.c — the wrapper kit of ipfs/blockstore.h:
 * a slot a wrapper leaves NULL passes through to the store below, a
 * backend's missing slot answers -ENOTSUP, put_many never skips a
 * wrapper's own put, bs_find finds a layer by its table, and bs_close
 * closes from the top down. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipfs/blockstore.h"
#include "tests/tap.h"

/* What reached the backend, and the order layers were closed in. */
struct calls {
	unsigned put, get, has, remove, sync, pin, unpin, iterate, usage;
	unsigned put_many, wrapper_puts;
	char closed[8];
	size_t nclosed;
};

struct layer {
	struct blockstore base;
	struct calls *calls;
	char tag; /* for the close order */
};

static struct calls *calls_of(struct blockstore *bs)
{
	return ((struct layer *)bs)->calls;
}

static int b_put(struct blockstore *bs, const uint8_t *data, size_t len,
		 unsigned flags, struct cid *cid)
{
	(void)flags;
	calls_of(bs)->put++;
	if (cid)
		cid_of_raw_block(cid, data, len);
	return 0;
}

static int b_get(struct blockstore *bs, const struct cid *cid, uint8_t *buf,
		 size_t cap, size_t *len)
{
	(void)cid, (void)buf, (void)cap;
	calls_of(bs)->get++;
	*len = 0;
	return 0;
}

static int b_has(struct blockstore *bs, const struct cid *cid)
{
	(void)cid;
	calls_of(bs)->has++;
	return 1;
}

static int b_remove(struct blockstore *bs, const struct cid *cid)
{
	(void)cid;
	calls_of(bs)->remove++;
	return 0;
}

static int b_sync(struct blockstore *bs)
{
	calls_of(bs)->sync++;
	return 0;
}

static int b_pin(struct blockstore *bs, const struct cid *cid)
{
	(void)cid;
	calls_of(bs)->pin++;
	return 0;
}

static int b_unpin(struct blockstore *bs, const struct cid *cid)
{
	(void)cid;
	calls_of(bs)->unpin++;
	return 0;
}

static int b_iterate(struct blockstore *bs, bs_iterate_fn fn, void *arg)
{
	(void)fn, (void)arg;
	calls_of(bs)->iterate++;
	return 0;
}

static int b_usage(struct blockstore *bs, struct bs_usage *u)
{
	calls_of(bs)->usage++;
	u->blocks = u->bytes = 7;
	return 0;
}

static int b_put_many(struct blockstore *bs, const struct bs_block *blocks,
		      size_t n, unsigned flags, int *results)
{
	(void)blocks, (void)flags;
	calls_of(bs)->put_many++;
	for (size_t i = 0; i < n; i++)
		results[i] = 0;
	return 0;
}

static void l_close(struct blockstore *bs)
{
	struct layer *l = (struct layer *)bs;
	l->calls->closed[l->calls->nclosed++] = l->tag;
	free(l);
}

/* A backend with every slot. */
static const struct blockstore_ops full_ops = {
	.version = BLOCKSTORE_OPS_VERSION, .name = "full",
	.put = b_put, .get = b_get, .has = b_has, .remove = b_remove,
	.sync = b_sync, .pin = b_pin, .unpin = b_unpin, .iterate = b_iterate,
	.usage = b_usage, .close = l_close, .put_many = b_put_many,
};

/* A backend with put only. */
static const struct blockstore_ops bare_ops = {
	.version = BLOCKSTORE_OPS_VERSION, .name = "bare",
	.put = b_put, .close = l_close,
};

/* A wrapper that changes nothing. */
static const struct blockstore_ops thin_ops = {
	.version = BLOCKSTORE_OPS_VERSION, .name = "thin",
	.close = l_close,
};

/* A wrapper that changes put only. */
static int w_put(struct blockstore *bs, const uint8_t *data, size_t len,
		 unsigned flags, struct cid *cid)
{
	calls_of(bs)->wrapper_puts++;
	return bs_put(bs_parent(bs), data, len, flags, cid);
}

static const struct blockstore_ops putter_ops = {
	.version = BLOCKSTORE_OPS_VERSION, .name = "putter",
	.put = w_put, .close = l_close,
};

static struct blockstore *backend(const struct blockstore_ops *ops,
				  struct calls *c, char tag)
{
	struct layer *l = calloc(1, sizeof(*l));
	if (!l)
		abort();
	l->base.ops = ops;
	l->base.caps = BS_CAP_REMOVE | BS_CAP_LOCAL;
	l->calls = c;
	l->tag = tag;
	return &l->base;
}

static struct blockstore *wrapper(const struct blockstore_ops *ops,
				  struct blockstore *parent, char tag)
{
	struct layer *l = calloc(1, sizeof(*l));
	if (!l)
		abort();
	bs_wrap(&l->base, ops, parent);
	l->calls = calls_of(parent);
	l->tag = tag;
	return &l->base;
}

static void test_pass_through(void)
{
	struct calls c = {0};
	struct blockstore *b = backend(&full_ops, &c, 'b');
	struct blockstore *top = wrapper(&thin_ops, wrapper(&thin_ops, b, 't'),
					 'u');
	const uint8_t d[3] = {1, 2, 3};
	struct cid cid;
	uint8_t buf[8];
	size_t len = 99;
	struct bs_usage u = {0};
	ok(top->caps == b->caps, "a wrapper shows its parent's caps");
	is_int(bs_put(top, d, sizeof(d), 0, &cid), 0, "put passes through");
	is_int(bs_get(top, &cid, buf, sizeof(buf), &len), 0, "get passes");
	is_int(bs_has(top, &cid), 1, "has passes");
	is_int(bs_remove(top, &cid), 0, "remove passes");
	is_int(bs_sync(top), 0, "sync passes");
	is_int(bs_pin(top, &cid), 0, "pin passes");
	is_int(bs_unpin(top, &cid), 0, "unpin passes");
	is_int(bs_iterate(top, NULL, NULL), 0, "iterate passes");
	is_int(bs_usage(top, &u), 0, "usage passes");
	ok(c.put == 1 && c.get == 1 && c.has == 1 && c.remove == 1 &&
	       c.sync == 1 && c.pin == 1 && c.unpin == 1 && c.iterate == 1 &&
	       c.usage == 1 && u.blocks == 7 && len == 0,
	   "every call reached the backend, two wrappers down, once");
	struct bs_block blocks[3] = {{d, 1}, {d, 2}, {d, 3}};
	int results[3] = {1, 1, 1};
	is_int(bs_put_many(top, blocks, 3, 0, results), 0, "put_many passes");
	ok(c.put_many == 1 && c.put == 1 && !results[0] && !results[2],
	   "to the backend's put_many, in one call");
	bs_close(top);
	is_int(c.nclosed, 3, "bs_close closes every layer");
	is_mem(c.closed, "utb", 3, "from the top down");
}

static void test_backend_lacks(void)
{
	struct calls c = {0};
	struct blockstore *top = wrapper(&thin_ops, backend(&bare_ops, &c, 'b'),
					 't');
	struct cid cid;
	cid_of_raw_block(&cid, (const uint8_t *)"x", 1);
	is_int(bs_pin(top, &cid), -ENOTSUP,
	       "a slot no layer has: -ENOTSUP through a wrapper");
	is_int(bs_sync(top), -ENOTSUP, "sync likewise");
	is_int(bs_put(top, (const uint8_t *)"x", 1, 0, NULL), 0,
	       "a slot the backend has passes");
	bs_close(top);
}

static void test_put_many_sees_wrapper(void)
{
	struct calls c = {0};
	struct blockstore *b = backend(&full_ops, &c, 'b');
	struct blockstore *top = wrapper(&thin_ops,
					 wrapper(&putter_ops, b, 'p'), 't');
	const uint8_t d[4] = {4, 5, 6, 7};
	struct bs_block blocks[4] = {{d, 1}, {d, 2}, {d, 3}, {d, 4}};
	int results[4];
	is_int(bs_put_many(top, blocks, 4, 0, results), 0, "put_many");
	is_int(c.wrapper_puts, 4,
	       "a wrapper that changes put sees every block of a batch");
	ok(c.put == 4 && c.put_many == 0,
	   "one put each below it, not the backend's batch");
	bs_close(top);
	is_mem(c.closed, "tpb", 3, "closed from the top down");
}

static void test_find(void)
{
	struct calls c = {0};
	struct blockstore *b = backend(&full_ops, &c, 'b');
	struct blockstore *p = wrapper(&putter_ops, b, 'p');
	struct blockstore *top = wrapper(&thin_ops, p, 't');
	ok(bs_find(top, &putter_ops) == p, "bs_find: a layer in the middle");
	ok(bs_find(top, &full_ops) == b, "bs_find: the backend");
	ok(bs_find(top, &thin_ops) == top, "bs_find: the top itself");
	ok(bs_find(p, &thin_ops) == NULL, "bs_find never looks up the stack");
	ok(bs_find(top, &bare_ops) == NULL, "bs_find: absent, NULL");
	ok(bs_find(NULL, &bare_ops) == NULL, "bs_find(NULL): NULL");
	ok(bs_parent(top) == p && bs_parent(b) == NULL,
	   "bs_parent: the wrapped store, NULL for a backend");
	bs_close(top);
}

/* The contract's errors that may pass, and those that never do. */
static void test_transient(void)
{
	const int pass[] = {-EIO, -ETIMEDOUT, -EAGAIN, -ECONNREFUSED,
			    -ECONNRESET};
	const int stay[] = {0, -ENOENT, -EBADMSG, -EKEYREJECTED, -ENOSPC,
			    -EDQUOT, -EFBIG, -ENOTSUP, -EINVAL, -ENOMEM};
	for (size_t i = 0; i < sizeof(pass) / sizeof(*pass); i++)
		ok(bs_transient(pass[i]), "bs_transient: %s may pass",
		   strerror(-pass[i]));
	for (size_t i = 0; i < sizeof(stay) / sizeof(*stay); i++)
		ok(!bs_transient(stay[i]), "bs_transient: %s does not pass",
		   stay[i] ? strerror(-stay[i]) : "success");
}

int main(void)
{
	test_transient();
	test_pass_through();
	test_backend_lacks();
	test_put_many_sees_wrapper();
	test_find();
	return tap_done();
}
