/*
 * fs/model/manifest.h — the tree as sealed directory nodes (format v1).
 *
 * A directory is one BLOCK_DIRECTORY block of JSON while it has at most
 * t->shard_threshold entries:
 *   {"v":1,"entries":[ENTRY…]}            entries sorted by name (bytes)
 * The bytes are exactly what jansson writes with JSON_COMPACT |
 * JSON_SORT_KEYS (so equal trees give equal blocks and CIDs), though
 * manifest_write.c and manifest_read.c write and read them by hand:
 * jansson's object model costs seconds on a 100,000-entry folder.  Times are clamped to what int64
 * nanoseconds hold (±292 years around 1970).
 * Above that it is sharded by the name's xxh3 (tree_shard_of): a node
 *   {"v":1,"shards":N,"refs":[{"cid":…,"key":…}|null …]}
 * points at N shard blocks {"v":1,"shard":i,"of":N,"entries":[ENTRY…]}, so
 * one delivery into a 100,000-message folder re-seals one small shard and
 * the node, not the whole folder.  N is a power of two chosen so shards stay
 * under the threshold; it grows (×4) when the average shard passes the
 * threshold and shrinks when it falls below an eighth of it.
 *
 * ENTRY = {"name":S,"ino":N,"mode":N,"uid":N,"gid":N,"size":N,
 *          "mtime":NS,"ctime":NS,"atime":NS, …by type…}
 *   times are integer nanoseconds since the epoch;
 *   regular file: "cid","key","depth" of its content (absent when size 0);
 *   directory: "cid","key" of its node; symlink: "target";
 *   special file (FIFO, socket, character or block device: mode's type
 *   bits, tree_is_special): size 0, and on a device node only "rdev", the
 *   device as stat(2)'s st_rdev on Linux (major and minor as glibc's
 *   makedev packs them).
 * "key" is base64url without padding; "cid" is the base32 text ("bafkrei…").
 * A name or symlink target that is not valid UTF-8 (JSON can't hold it) is
 * written as "bname" / "btarget", base64url of its bytes, instead.
 * Hard links: several entries with the same ino (and the same attributes);
 * the loader joins them into one inode.  The size and content written are
 * the last *sealed* ones (inode.content), never unsealed data.  A symlink's
 * size is its target's length; a directory's is the inode's (0).
 *
 * Versions.  A block ("v") is version 2 (MANIFEST_VERSION_SPECIAL) when
 * one of its entries is a special file's, else version 1: a tree without
 * special files is written byte for byte as before they existed (same
 * blocks, same CIDs), and a reader refuses version 1 with a special entry
 * and version 2 without one, so one tree has one encoding.  A release
 * from before reads every store that holds no special file, and refuses
 * (as damaged) a block that holds one.
 *
 * The root directory has no entry to hold its own attributes, so the root's
 * node (either form) carries one more member, "self": the ENTRY fields
 * ino (1), mode, uid, gid, size and the three times.  No other node has it.
 * An empty shard of a sharded node is null in "refs" and has no block.
 *
 * Loading validates everything: JSON shape and types (exactly the members
 * listed, each once), names (tree_check_name), entries strictly ascending
 * (so no duplicate names), shard membership (each entry's hash selects its
 * shard), type/mode consistency, a directory reachable only once (no
 * cycles), inos below next_ino, bounded sizes and depth.  A violation is
 * -EBADMSG: the manifest is refused, never half-loaded.  A missing block
 * gives the store's error (-ENOENT, -EIO …).
 */
#ifndef IPMD_FS_MODEL_MANIFEST_H
#define IPMD_FS_MODEL_MANIFEST_H

#include "fs/model/object.h"
#include "fs/model/tree.h"
#include "util/attr.h"

#define MANIFEST_VERSION 1
#define MANIFEST_VERSION_SPECIAL 2 /* a block holding a special file */
#define MANIFEST_SHARD_THRESHOLD 1000
/* Shard counts step by this factor (both ways); a directory shrinks when
 * its entries fall below shards·threshold/MANIFEST_SHRINK_DIV. */
#define MANIFEST_SHARD_GROW 4
#define MANIFEST_SHRINK_DIV 8
/* Most shards a node lists (its refs must fit one block); past
 * MANIFEST_SHARDS_MAX·threshold entries shards simply grow larger, until a
 * shard passes BLOCK_MAX_BYTES (-EFBIG). */
#define MANIFEST_SHARDS_MAX 4096
/* Deepest directory (root = 0) sealed (-ELOOP beyond) or loaded. */
#define MANIFEST_DEPTH_MAX 4096

/*
 * Seal every dirty directory of t, deepest first (a directory's new node
 * changes its entry in its parent), clear the dirty marks and return the
 * root directory's node.  Blocks are put with st->put_flags; the caller
 * syncs the store before pointing a commit at them.  The root's node is
 * sealed on every call (it holds the root's own attributes, which no dirty
 * mark tracks); unchanged, it has the same CID.  Errors: the store's,
 * -ENOMEM, -EROFS (no convergence secret), -EFBIG (a block would pass
 * BLOCK_MAX_BYTES even split into MANIFEST_SHARDS_MAX shards; a directory
 * whose entries are long is split beyond the count rule), -ELOOP (deeper
 * than MANIFEST_DEPTH_MAX), -EOVERFLOW (a number JSON can't hold), -EIO (the
 * tree broke an invariant: a file of size > 0 without content); after an
 * error the dirty marks still cover everything not yet sealed, so a retry
 * completes the job.
 */
int manifest_seal(struct fs_tree *t, struct obj_store *st,
		  struct chunk_ref *root);

/*
 * Build a tree from a committed root node.  next_ino comes from the commit
 * (must exceed every ino found, else -EBADMSG).  On success the tree is
 * clean (no dirty marks) and every directory remembers its shard refs.
 */
IPMD_MUST_CHECK
int manifest_load(struct obj_store *st, const struct chunk_ref *root,
		  uint64_t next_ino, struct fs_tree **out);

#endif
