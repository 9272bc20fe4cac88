/*
 * fs/model/reach.h — every block a loaded tree needs (fsck, gc, status).
 *
 * For each directory: its node block and, when sharded, each shard block
 * (fs/model/manifest.h); for each regular file with content: its index blocks
 * and chunks (fs/model/object.h).  The commit block itself is the caller's (it
 * is not in the tree).  Symlinks and empty files have no block.
 *
 * Index blocks are fetched and opened to learn their children, so a walk
 * verifies them on the way; chunks are only listed (with their keys, so a
 * caller that wants to can open them: fsck does, gc doesn't).
 *
 * seen: blocks already in the set are not reported again, and a file
 * whose root block is in it is not walked at all (the same root names the
 * same blocks); every block reported is added.  So one set carried across
 * many commits (gc, fsck --deep) reads each shared block once.  A file
 * whose index could not be read is reported once with error set and its
 * root is NOT added: a later walk tries it again.  So seen must hold only
 * what reach_tree put there (and blocks that are no file's root, such as
 * commits): a file root added by hand would hide that file's blocks.
 */
#ifndef IPMD_FS_MODEL_REACH_H
#define IPMD_FS_MODEL_REACH_H

#include "crypto/format.h"
#include "fs/model/object.h"
#include "fs/model/tree.h"
#include "ipfs/cidset.h"

struct reach_block {
	const struct cid *cid;
	enum block_kind kind;   /* BLOCK_DIRECTORY, BLOCK_INDEX, BLOCK_CHUNK */
	/* BLOCK_CHUNK: the chunk's key and plaintext size; NULL otherwise. */
	const struct chunk_ref *chunk;
	const char *path;       /* where in the tree: "/", "/cur/1.x:2,S" */
	/* Non-zero: a file's index tree could not be read (cid is its root;
	 * the blocks below it were not listed). */
	int error;
};

/* Called once per block; a non-zero return stops the walk with it. */
typedef int (*reach_fn)(const struct reach_block *b, void *arg);

/* 0, fn's return, -ENOMEM.  Read failures are reported through fn
 * (error set), not returned: the walk goes on. */
int reach_tree(struct obj_store *st, struct fs_tree *t, struct cid_set *seen,
	       reach_fn fn, void *arg);

#endif
