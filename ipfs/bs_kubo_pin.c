/* ipfs/bs_kubo_pin.c — pins on a Kubo node: pin/add, pin/rm, and the
 * exact unpinning of many (gc --node); see bs_kubo.h and
 * bs_kubo_internal.h. */
#include "ipfs/bs_kubo_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kubo_pin(struct blockstore *bs, const struct cid *cid)
{
	struct bs_kubo *k = to_kubo(bs);
	/* pin/add fetches what the node lacks: bound that wait too. */
	return kubo_cid_call(k, KUBO_OP_PIN_ADD, "pin/add", "&recursive=true",
			   cid, k->timeout_ms, k->timeout_ms + GET_MARGIN_MS);
}

int kubo_unpin(struct blockstore *bs, const struct cid *cid)
{
	struct bs_kubo *k = to_kubo(bs);
	return kubo_cid_call(k, KUBO_OP_PIN_RM, "pin/rm", "&recursive=true", cid,
			   0, k->timeout_ms);
}

/* "arg=C1&arg=C2&…" of n CIDs, then tail; NULL: out of memory (or a
 * CID that does not format). */
static char *args_query(const struct cid *cids, size_t n, const char *tail)
{
	size_t cap = n * (CID_TEXT_MAX + 5) + strlen(tail) + 1, used = 0;
	char *q = malloc(cap);
	if (!q)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char text[CID_TEXT_MAX];
		if (cid_format(&cids[i], text, sizeof(text))) {
			free(q);
			return NULL;
		}
		used += (size_t)snprintf(q + used, cap - used, "arg=%s&", text);
	}
	snprintf(q + used, cap - used, "%s", tail);
	return q;
}

/* One request naming n CIDs (pin/ls, pin/rm): the result of call(). */
static int args_call(struct bs_kubo *k, enum kubo_op op, const char *endpoint,
		     const struct cid *cids, size_t n, const char *tail)
{
	char *q = args_query(cids, n, tail);
	if (!q)
		return -ENOMEM;
	struct kubo_req rq = {.op = op, .endpoint = endpoint, .long_query = q,
			      .retry = true, .absent_ok = true,
			      .deadline_ms = k->timeout_ms};
	struct body b = {.max = SMALL_BODY_MAX};
	struct kubo_reply rep;
	int r = kubo_call(k, &rq, &b, &rep);
	free(b.data);
	free(q);
	return r < 0 ? r : 0;
}

/*
 * Unpin those of cids[0..n) that are pinned; *done += how many.  Kubo's
 * pin/rm naming several CIDs, one of them not pinned, unpins those before
 * it and then fails without saying which (js-ipfs unpins none), so a
 * failed pin/rm leaves no way to know what it did.  So ask first: a
 * pin/ls naming the batch fails when one is not pinned and changes
 * nothing; a batch known pinned is unpinned whole, one that is not is
 * halved.  k CIDs not pinned among n cost about 2k·log2(n/k) pin/ls.
 * Only recursive pins count: every pin ipmaildir makes is one (block/put
 * pin=true, dag/import pin-roots, pin/add recursive).
 */
static int unpin_pinned(struct bs_kubo *k, const struct cid *cids, size_t n,
			size_t *done)
{
	int r = args_call(k, KUBO_OP_JSON, "pin/ls", cids, n,
			  "type=recursive");
	if (r == -ENOENT) {
		if (n == 1)
			return 0; /* not pinned: nothing to do */
		r = unpin_pinned(k, cids, n / 2, done);
		return r ? r : unpin_pinned(k, cids + n / 2, n - n / 2, done);
	}
	if (r)
		return r;
	r = args_call(k, KUBO_OP_PIN_RM, "pin/rm", cids, n, "recursive=true");
	if (r != -ENOENT) {
		*done += r ? 0 : n;
		return r;
	}
	/* Unpinned by someone else since the pin/ls: the rest one by one
	 * (on Kubo those before it are gone and not counted). */
	for (size_t i = 0; i < n; i++) {
		r = kubo_unpin(&k->base, &cids[i]);
		if (r && r != -ENOENT)
			return r;
		*done += r == 0;
	}
	return 0;
}

int bs_kubo_unpin_many(struct blockstore *bs, const struct cid *cids,
		       size_t n, size_t *unpinned)
{
	struct bs_kubo *k = kubo_of(bs);
	if (!k)
		return -EINVAL;
	size_t done = 0;
	int r = 0;
	for (size_t i = 0; i < n && !r; i += KUBO_UNPIN_BATCH)
		r = unpin_pinned(k, cids + i,
				 n - i < KUBO_UNPIN_BATCH ? n - i
							  : KUBO_UNPIN_BATCH,
				 &done);
	if (unpinned)
		*unpinned = done;
	return r;
}
