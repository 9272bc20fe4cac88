/*
 * tests/fuzz/fuzz_manifest.c — libFuzzer target: directory nodes.
 *
 * The input is one or more directory blocks' JSON, cut at NUL bytes; the
 * first is the root node, and every CID an entry or a shard ref names
 * reaches one of them (tests/fuzz/fuzz_store.h), so sharded nodes and
 * subdirectories get parsed too.  A tree that loads must also seal and
 * load again, and sealing that second tree must give the same root: the
 * reader never accepts what the writer can't reproduce.
 */
#include <stdlib.h>
#include <string.h>

#include "fs/model/manifest.h"
#include "tests/fuzz/fuzz_store.h"

#define FUZZ_NEXT_INO 1024

/* Every shard of every directory dirty, so the next seal rewrites all. */
static void touch_all(struct fs_tree *t)
{
	for (uint64_t ino = 1; ino < FUZZ_NEXT_INO; ino++) {
		struct inode *in = tree_get(t, ino);
		if (in)
			tree_inode_changed(t, in);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t conv[IPMD_KEY_BYTES];
	struct fuzz_store *s;
	struct obj_store st;
	struct chunk_ref root, r1, r2;
	struct fs_tree *t = NULL, *t2 = NULL;

	if (seal_init() != 0)
		abort();
	s = fuzz_store_new(data, size, BLOCK_DIRECTORY);
	memset(conv, 7, sizeof(conv));
	memset(&st, 0, sizeof(st));
	st.bs = &s->bs;
	st.convergence = conv;
	st.chunk_size = OBJ_CHUNK_DEFAULT;
	st.fanout = 4096;
	memset(&root, 0, sizeof(root));
	root.cid = s->seg[0].cid;
	root.cid.bytes[4] = 0; /* first digest byte: segment 0 */
	fuzz_key(root.key);

	if (manifest_load(&st, &root, FUZZ_NEXT_INO, &t) == 0) {
		touch_all(t);
		if (manifest_seal(t, &st, &r1) != 0)
			abort();
		if (manifest_load(&st, &r1, FUZZ_NEXT_INO, &t2) != 0)
			abort();
		touch_all(t2);
		if (manifest_seal(t2, &st, &r2) != 0 ||
		    !cid_equal(&r1.cid, &r2.cid))
			abort();
		tree_free(t2);
		tree_free(t);
	}
	bs_close(&s->bs);
	return 0;
}
