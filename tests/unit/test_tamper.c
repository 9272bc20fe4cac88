/*
 * test_tamper.c — a block of one kind is never accepted as another.
 *
 * The AEAD's associated data binds the block kind, so a valid block
 * replayed in another role (an index read as a chunk, a chunk as an index,
 * a directory node as file content, file content or an index as a
 * directory node, any of them as a commit) fails to open: -EBADMSG, and no
 * plaintext comes out.  Forged commit signatures and read-only keys that
 * try to commit are in test_commit.c; on-disk damage in 92-tamper.t.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keys.h"
#include "crypto/seal.h"
#include "fs/model/commit.h"
#include "fs/model/manifest.h"
#include "fs/model/object.h"
#include "ipfs/bs_local.h"
#include "tests/tap.h"

static const enum block_kind kinds[] = {
	BLOCK_CHUNK, BLOCK_INDEX, BLOCK_DIRECTORY, BLOCK_COMMIT, BLOCK_JOURNAL,
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static void test_kind_matrix(void)
{
	uint8_t key[IPMD_KEY_BYTES], plain[300], sealed[300 + IPMD_SEAL_OVERHEAD];
	uint8_t out[300];
	size_t n;

	tap_fill_random(key, sizeof(key), 1);
	tap_fill_random(plain, sizeof(plain), 2);
	for (size_t i = 0; i < NKINDS; i++) {
		is_int(seal_with_key(sealed, plain, sizeof(plain), kinds[i], key,
				     NULL),
		       0, "sealed as kind %d", kinds[i]);
		for (size_t j = 0; j < NKINDS; j++) {
			int want = i == j ? 0 : -EBADMSG;
			memset(out, 0xAA, sizeof(out));
			is_int(seal_open(out, &n, sealed, sizeof(sealed), kinds[j],
					 key),
			       want, "kind %d opened as kind %d: %s", kinds[i],
			       kinds[j], want ? "-EBADMSG" : "opens");
			if (want) {
				uint8_t zero[sizeof(out)] = {0};
				is_mem(out, zero, sizeof(out),
				       "and no plaintext comes out");
			}
		}
	}
}

/* A ref that takes the block cid (under key) for an object of size bytes,
 * depth levels of index. */
static struct obj_ref object_ref(const struct cid *cid, const uint8_t *key,
				 uint64_t size, uint8_t depth)
{
	struct obj_ref r = {.cid = *cid, .size = size, .depth = depth};
	memcpy(r.key, key, IPMD_KEY_BYTES);
	return r;
}

/* A ref that takes the block cid (under key) for a directory node. */
static struct chunk_ref node_ref(const struct cid *cid, const uint8_t *key)
{
	struct chunk_ref r = {.cid = *cid};
	memcpy(r.key, key, IPMD_KEY_BYTES);
	return r;
}

static void test_roles(void)
{
	char dir[PATH_MAX];
	uint8_t conv[IPMD_KEY_BYTES], data[3000], buf[3000];
	struct blockstore *bs;
	struct obj_store st;
	struct obj_writer *w;
	struct obj_ref obj, wrong;
	struct chunk_ref c0, as_dir, node;
	struct fs_tree *t = NULL, *loaded = NULL;
	const struct timespec epoch = {0, 0};
	struct mailbox_keys keys;
	uint8_t master[IPMD_MASTER_BYTES];
	struct commit cm;
	size_t got;

	snprintf(dir, sizeof(dir), "%s/store", tap_tempdir());
	if (bs_local_open(dir, &bs) != 0) {
		ok(0, "local store");
		return;
	}
	tap_fill_random(conv, sizeof(conv), 3);
	tap_fill_random(data, sizeof(data), 4);
	memset(&st, 0, sizeof(st));
	st.bs = bs;
	st.convergence = conv;
	st.chunk_size = 1024;
	st.fanout = 4;
	ok(obj_writer_new(&st, &w) == 0 &&
		   obj_writer_write(w, data, sizeof(data)) == 0 &&
		   obj_writer_finish(w, &obj) == 0,
	   "a 3-chunk object with an index root");
	is_int(obj.depth, 1, "its root is an index block");
	ok(obj_read(&st, &obj, 0, buf, sizeof(buf), &got) == 0 &&
		   got == sizeof(data) && !memcmp(buf, data, got),
	   "reads back");
	is_int(obj_chunk_at(&st, &obj, 0, &c0), 0, "first chunk's ref");

	/* The index read as a single chunk. */
	wrong = obj;
	wrong.depth = 0;
	wrong.size = 1024;
	is_int(obj_read(&st, &wrong, 0, buf, 100, &got), -EBADMSG,
	       "an index block read as a chunk: -EBADMSG");
	/* A chunk read as an index. */
	wrong = object_ref(&c0.cid, c0.key, sizeof(data), 1);
	is_int(obj_read(&st, &wrong, 0, buf, 100, &got), -EBADMSG,
	       "a chunk read as an index block: -EBADMSG");

	/* File content as a directory node. */
	as_dir = node_ref(&c0.cid, c0.key);
	is_int(manifest_load(&st, &as_dir, 100, &loaded), -EBADMSG,
	       "a chunk loaded as the root directory: -EBADMSG");
	ok(loaded == NULL, "and no tree");
	as_dir = node_ref(&obj.cid, obj.key);
	is_int(manifest_load(&st, &as_dir, 100, &loaded), -EBADMSG,
	       "an index loaded as the root directory: -EBADMSG");

	/* A directory node as file content, and as a commit. */
	ok(tree_new(&t, 0, 0, &epoch) == 0, "empty tree");
	is_int(manifest_seal(t, &st, &node), 0, "its root node sealed");
	is_int(manifest_load(&st, &node, 2, &loaded), 0, "and loads");
	tree_free(loaded);
	wrong = object_ref(&node.cid, node.key, node.size, 0);
	is_int(obj_read(&st, &wrong, 0, buf, 10, &got), -EBADMSG,
	       "a directory node read as file content: -EBADMSG");
	memset(master, 5, sizeof(master));
	if (keys_from_master(&keys, master) == 0) {
		is_int(commit_read(bs, &keys, &node.cid, &cm), -EBADMSG,
		       "a directory node read as a commit: -EBADMSG");
		is_int(commit_read(bs, &keys, &c0.cid, &cm), -EBADMSG,
		       "a chunk read as a commit: -EBADMSG");
		keys_free(&keys);
	}
	tree_free(t);
	bs_close(bs);
}

int main(void)
{
	if (seal_init() != 0)
		return 1;
	test_kind_matrix();
	test_roles();
	return tap_done();
}
