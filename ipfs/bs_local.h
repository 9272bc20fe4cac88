/*
 * ipfs/bs_local.h — the embedded block store: one file per block.
 *
 * Layout (like IPFS's flatfs, next-to-last/2):
 *   DIR/blocks/<s>/<cid>      s = the two characters before the last one of
 *                             the base32 CID text; <cid> = "bafkrei…"
 *   DIR/blocks/<s>/.tmp-*     in-flight writes, removed on open (named
 *                             from a counter that starts at a random value
 *                             per open store; O_EXCL settles a clash)
 * So `sha256sum` of a block file, as a raw CIDv1 in base32, is its name.
 *
 * put: write to a temp file in the shard, fdatasync (now if BS_PUT_DURABLE,
 * else at the next sync; a block of 128 KiB or more has its writeback
 * started at once, sync_file_range(2), so the disk works while the caller
 * seals the next one and the sync finds little left), rename into place;
 * shard directories are fsync'ed once per sync (batched), or at once for a
 * durable put, and so is DIR/blocks when a shard directory is new.  The store remembers which
 * shard directories exist (1024 bits), so a put makes none it knows of.
 * get re-hashes every block it reads and answers -EBADMSG on a mismatch.
 * Caps: REMOVE, ITERATE, LOCAL (pin/unpin succeed and do nothing: every
 * local block is kept until removed).
 *
 * sync: when more than a few files and directories wait (a large write),
 * one syncfs(2) of the store's filesystem replaces an fdatasync or fsync
 * for each.  The tradeoff: syncfs flushes the WHOLE filesystem, other
 * programs' dirty data included, so a sync can take longer when the store
 * shares a busy filesystem; on a filesystem of its own (or one mostly
 * holding it, as a store directory usually is) it is much cheaper than
 * hundreds of separate flushes.  Used only on ext2/3/4, XFS and Btrfs, and
 * only on Linux >= 5.8, where syncfs reports writeback errors; elsewhere,
 * and for a few pending items, it is one flush per file and directory.  If
 * syncfs fails, the sync goes file by file to learn which blocks were lost
 * (and drops those it wrote, as a failed fdatasync would).
 */
#ifndef IPMD_IPFS_BS_LOCAL_H
#define IPMD_IPFS_BS_LOCAL_H

#include "ipfs/blockstore.h"
#include "util/attr.h"

/* Open (creating DIR/blocks if needed).  0 and *out, or a negative errno. */
IPMD_MUST_CHECK
int bs_local_open(const char *dir, struct blockstore **out);

/* Path of a block's file, for tests and fsck messages; bs: the local
 * store or a stack over it.  0, -ENOBUFS, or -EINVAL (no local store). */
int bs_local_path(struct blockstore *bs, const struct cid *cid, char *out,
		  size_t out_size);

#endif
