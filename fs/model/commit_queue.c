/* fs/model/commit_queue.c — see commit_queue.h. */
#include "fs/model/commit_queue.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "util/array.h"

#define FIRST_SLOTS 1024
#define FIRST_NODES 64

static size_t slot_of(const struct commit_queue *q, const struct cid *c)
{
	return (size_t)XXH3_64bits(c->bytes, c->len) & (q->nslots - 1);
}

static void place(struct commit_queue *q, uint32_t i)
{
	size_t k = slot_of(q, &q->nodes[i].cid);
	while (q->slots[k])
		k = (k + 1) & (q->nslots - 1);
	q->slots[k] = i + 1;
}

static int rehash(struct commit_queue *q)
{
	size_t n = q->nslots ? q->nslots * 2 : FIRST_SLOTS;
	uint32_t *s = calloc(n, sizeof(*s));

	if (!s)
		return -ENOMEM;
	free(q->slots);
	q->slots = s;
	q->nslots = n;
	for (size_t i = 0; i < q->n; i++)
		place(q, (uint32_t)i);
	return 0;
}

long cq_find(const struct commit_queue *q, const struct cid *cid)
{
	if (!q->nslots)
		return -1;
	for (size_t k = slot_of(q, cid); q->slots[k];
	     k = (k + 1) & (q->nslots - 1))
		if (cid_equal(&q->nodes[q->slots[k] - 1].cid, cid))
			return (long)q->slots[k] - 1;
	return -1;
}

int cq_add(struct commit_queue *q, const struct cid *cid, uint64_t seq,
	   uint8_t marks, uint32_t *index)
{
	if (q->n >= COMMIT_QUEUE_MAX)
		return -EFBIG;
	struct cq_node *nodes = array_grow(q->nodes, q->n, &q->cap,
					   sizeof(*nodes), FIRST_NODES);
	if (!nodes)
		return -ENOMEM;
	q->nodes = nodes;
	if (2 * (q->n + 1) > q->nslots) {
		int e = rehash(q);
		if (e)
			return e;
	}
	uint32_t i = (uint32_t)q->n++;
	q->nodes[i] = (struct cq_node){.cid = *cid, .seq = seq,
				       .marks = marks};
	place(q, i);
	*index = i;
	return 0;
}

/* Heap order: higher seq first, then smaller CID bytes. */
static bool above(const struct commit_queue *q, uint32_t x, uint32_t y)
{
	const struct cq_node *a = &q->nodes[x], *b = &q->nodes[y];
	if (a->seq != b->seq)
		return a->seq > b->seq;
	return cid_compare(&a->cid, &b->cid) < 0;
}

int cq_push(struct commit_queue *q, uint32_t i)
{
	uint32_t *heap = array_grow(q->heap, q->nheap, &q->capheap,
				    sizeof(*heap), FIRST_NODES);
	if (!heap)
		return -ENOMEM;
	q->heap = heap;
	size_t k;
	for (k = q->nheap++; k > 0 && above(q, i, heap[(k - 1) / 2]);
	     k = (k - 1) / 2)
		heap[k] = heap[(k - 1) / 2];
	heap[k] = i;
	return 0;
}

uint32_t cq_pop(struct commit_queue *q)
{
	uint32_t *heap = q->heap;
	uint32_t top = heap[0], last = heap[--q->nheap];
	size_t k = 0;

	for (;;) {
		size_t c = 2 * k + 1;
		if (c >= q->nheap)
			break;
		if (c + 1 < q->nheap && above(q, heap[c + 1], heap[c]))
			c++;
		if (!above(q, heap[c], last))
			break;
		heap[k] = heap[c];
		k = c;
	}
	if (q->nheap)
		heap[k] = last;
	return top;
}

int cq_hold(struct commit_queue *q, uint32_t i, struct commit *c)
{
	if (q->capheld < q->n) {
		size_t cap = q->cap; /* room for every node made so far */
		struct commit **h = realloc(q->held, cap * sizeof(*h));
		if (!h) {
			free(c);
			return -ENOMEM;
		}
		memset(h + q->capheld, 0, (cap - q->capheld) * sizeof(*h));
		q->held = h;
		q->capheld = cap;
	}
	free(q->held[i]); /* none: a node is held once */
	q->held[i] = c;
	return 0;
}

struct commit *cq_take(struct commit_queue *q, uint32_t i)
{
	if (i >= q->capheld)
		return NULL;
	struct commit *c = q->held[i];
	q->held[i] = NULL;
	return c;
}

void cq_free(struct commit_queue *q)
{
	for (size_t i = 0; i < q->capheld; i++)
		free(q->held[i]);
	free(q->held);
	free(q->nodes);
	free(q->slots);
	free(q->heap);
	memset(q, 0, sizeof(*q));
}
