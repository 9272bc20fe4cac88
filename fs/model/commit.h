/*
 * fs/model/commit.h — signed commits: the root of every mailbox state.
 *
 * A commit is the JSON object
 *   {"v":1,"seq":N,"parent":"bafk…"|null,"tree":{"cid":…,"key":…},
 *    "time":NS,"next_ino":N,"messages":N,"folders":N,
 *    "added":N,"removed":N,"renamed":N,"sig":"base64url"}
 * where sig is the Ed25519 signature (mailbox signing key) over the
 * canonical form of the object without "sig": jansson, JSON_COMPACT |
 * JSON_SORT_KEYS.  The sealed plaintext is the canonical form of the whole
 * object, and a reader takes no other bytes: text that parses to the same
 * value (spacing, key order, escapes) is refused (-EBADMSG), so one signed
 * commit has one plaintext.  The whole is sealed as BLOCK_COMMIT under the
 * manifest key (random nonce) and stored as a block; its CID names the
 * commit.
 *
 * Version 2 (docs/ARCHITECTURE.md, "Several devices") has the same members
 * and "v":2, and one or both of
 *   "merged":[CID…]  the other parents of a merge (1 … COMMIT_MERGED_MAX,
 *                    distinct, none equal to "parent", which a merge has)
 *   "inos":[N…]      per inode range in use (tree.h, TREE_INO_RANGE_BITS),
 *                    the next number its device allocates: ascending, one
 *                    per range, N inside its range and ≤ next_ino
 *                    (1 … COMMIT_RANGES_MAX)
 * A commit with neither is written as version 1, byte for byte what this
 * file wrote before version 2 existed; a reader refuses version 2 without
 * either and version 1 with one, so one value has one encoding.  "parent"
 * stays the first parent (the writing device's own previous head), so a
 * walk along "parent" is one device's line.
 *
 * seq only grows: parent's seq + 1, or more where fsck --repair rolled the
 * head back (the rollback is a new commit above every seq accepted before,
 * whose parent is the intact commit it restores) or where a merge is above
 * both its parents; a reader requires every parent's seq below its
 * child's.  A reader refuses a commit whose
 * signature fails (-EKEYREJECTED) or that does not open (-EBADMSG), and the
 * caller refuses one whose seq is below the highest it accepted (rollback).
 */
#ifndef IPMD_FS_MODEL_COMMIT_H
#define IPMD_FS_MODEL_COMMIT_H

#include <stdint.h>

#include "crypto/keys.h"
#include "fs/model/object.h"
#include "ipfs/cid.h"
#include "util/attr.h"

#define COMMIT_VERSION 1
/* A merge, or a mailbox with inode ranges of several devices. */
#define COMMIT_VERSION_2 2
/* Largest commit JSON a reader accepts (a real one is ~600 bytes; a
 * version 2 one with every list full ~1,100 more). */
#define COMMIT_PLAIN_MAX 4096
/* Other parents one commit may name (the engine merges two heads). */
#define COMMIT_MERGED_MAX 3
/* Inode ranges one commit may list. */
#define COMMIT_RANGES_MAX 32

struct commit {
	uint64_t seq;
	struct cid parent; /* len 0: the first commit */
	struct chunk_ref tree; /* cid and key; size is not stored (0) */
	int64_t time_ns;
	uint64_t next_ino;
	uint64_t messages, folders;
	uint64_t added, removed, renamed;
	/* Version 2; zero counts: a version 1 commit. */
	unsigned nmerged;
	struct cid merged[COMMIT_MERGED_MAX];
	unsigned ninos;
	uint64_t inos[COMMIT_RANGES_MAX];
};

/*
 * The inode ranges of a mailbox (docs/ARCHITECTURE.md, "Inode numbers: one
 * range per device"): each device's next number, by range ascending, as
 * "inos" lists them.  A version 1 commit has one, device 0's: next_ino.
 */
struct ino_ranges {
	unsigned n;
	uint64_t next[COMMIT_RANGES_MAX];
};
/* c's ranges (a commit of no range — none is read that way — gives 0). */
void commit_ranges(const struct commit *c, struct ino_ranges *r);
/* Raise the range of next to next (added, in order, when absent).  0, or
 * -ENOSPC (COMMIT_RANGES_MAX ranges already), -EINVAL (no range's number:
 * device ≥ TREE_DEVICES, the first of a range, or the root). */
int ino_ranges_raise(struct ino_ranges *r, uint64_t next);
/* Raise each of from's ranges in r (a merge: the largest per range). */
int ino_ranges_merge(struct ino_ranges *r, const struct ino_ranges *from);
/* The next number of device's range in r, 0 when r has none. */
uint64_t ino_ranges_get(const struct ino_ranges *r, uint64_t device);
/* c's "inos" and next_ino from r: only device 0's range (or none) is a
 * version 1 commit (no "inos", next_ino that number); else "inos" is r
 * and next_ino the largest.  next_ino never drops below c's. */
void commit_set_ranges(struct commit *c, const struct ino_ranges *r);

/* Sign, seal and store c; *cid names it.  Requires keys->can_sign (-EPERM).
 * The block is put with BS_PUT_DURABLE. */
int commit_write(struct blockstore *bs, const struct mailbox_keys *keys,
		 const struct commit *c, struct cid *cid);

/* Fetch, open, verify.  -ENOENT, -EBADMSG (does not open, malformed, not
 * the canonical bytes), -EKEYREJECTED (signature by another key or over
 * another value). */
IPMD_MUST_CHECK
int commit_read(struct blockstore *bs, const struct mailbox_keys *keys,
		const struct cid *cid, struct commit *c);

/* The same on bytes in memory (for tests and fuzzing). */
IPMD_MUST_CHECK
int commit_open(const uint8_t *block, size_t len,
		const struct mailbox_keys *keys, struct commit *c);
int commit_seal(const struct mailbox_keys *keys, const struct commit *c,
		uint8_t **block, size_t *len);

#endif
