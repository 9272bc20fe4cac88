/*
 * ipfs/cidset.h — a set of CIDs, for reachability walks (fsck, gc, status).
 *
 * Open addressing over a power-of-two table kept at most half full; the
 * hash is xxh3 of the CID's bytes.  Memory: about 2·sizeof(struct cid) a
 * member.  Not thread safe: one walker owns a set.
 */
#ifndef IPMD_IPFS_CIDSET_H
#define IPMD_IPFS_CIDSET_H

#include <stdbool.h>
#include <stddef.h>

#include "ipfs/cid.h"

struct cid_set;

/* NULL when out of memory. */
struct cid_set *cid_set_new(void);
void cid_set_free(struct cid_set *s); /* NULL is fine */

/* 1 added, 0 already a member, -ENOMEM. */
int cid_set_add(struct cid_set *s, const struct cid *c);
bool cid_set_has(const struct cid_set *s, const struct cid *c);
size_t cid_set_count(const struct cid_set *s);
/* Add every member of from to s.  0 or -ENOMEM. */
int cid_set_merge(struct cid_set *s, const struct cid_set *from);

#endif
