/*
 * ipfs/cidset.h — a set of CIDs: reachability walks (fsck, gc, status) and
 * the outbox's pending blocks (cache/outbox.h); and a plain list of CIDs
 * (the end of this file).
 *
 * Open addressing with linear probing over a power-of-two table kept at
 * most half full; removal shifts the following run back (no tombstones),
 * and the table halves when it falls below an eighth full.  Two kinds:
 *  - cid_set_new(): any CID; the hash is xxh3 of the CID's bytes; about
 *    2·(CID_MAX_BYTES + 2) bytes a member;
 *  - cid_set_new_raw(): raw sha2-256 CIDs only (every block this program
 *    writes), stored as their 32-byte digests, so about 2·33 bytes a
 *    member: the outbox may hold millions.  Adding another CID is -EINVAL;
 *    asking for or removing one is simply false.  The digest calls take
 *    the digest itself, as the outbox's log and queue hold it.
 * Not thread safe: one owner (a walker, or the outbox under its lock).
 */
#ifndef IPMD_IPFS_CIDSET_H
#define IPMD_IPFS_CIDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipfs/cid.h"

struct cid_set;

/* NULL when out of memory. */
struct cid_set *cid_set_new(void);
struct cid_set *cid_set_new_raw(void);
void cid_set_free(struct cid_set *s); /* NULL is fine */

/* 1 added, 0 already a member, -ENOMEM, -EINVAL (a CID this kind of set
 * can't hold). */
int cid_set_add(struct cid_set *s, const struct cid *c);
bool cid_set_has(const struct cid_set *s, const struct cid *c);
/* True if c was a member (and is no longer). */
bool cid_set_del(struct cid_set *s, const struct cid *c);
size_t cid_set_count(const struct cid_set *s);
/* Add every member of from to s.  0, -ENOMEM or -EINVAL. */
int cid_set_merge(struct cid_set *s, const struct cid_set *from);

/* fn for every member, in no particular order; fn must not change s.  A
 * non-zero return stops the walk and is returned; else 0. */
typedef int (*cid_set_fn)(const struct cid *c, void *arg);
int cid_set_each(const struct cid_set *s, cid_set_fn fn, void *arg);

/* The same on a cid_set_new_raw() set, by sha2-256 digest (SHA256_BYTES);
 * -EINVAL / false on a set of the other kind. */
int cid_set_add_digest(struct cid_set *s, const uint8_t *digest);
bool cid_set_has_digest(const struct cid_set *s, const uint8_t *digest);
bool cid_set_del_digest(struct cid_set *s, const uint8_t *digest);

/* ---- a list of CIDs, in the order added, repeats kept ---- */

/* v holds n CIDs, room for cap; {0} is the empty list. */
struct cid_list {
	struct cid *v;
	size_t n, cap;
};
/* Append c: 0, or -ENOMEM and l unchanged. */
int cid_list_add(struct cid_list *l, const struct cid *c);
/* Free what l holds; l is the empty list after. */
void cid_list_free(struct cid_list *l);

#endif
