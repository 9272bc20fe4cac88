/*
 * fs/model/object.h — file objects: a byte stream of any length as sealed blocks.
 *
 * A file's content is cut into chunks of exactly obj_store.chunk_size bytes
 * (the last one may be shorter).  Each chunk is sealed convergently
 * (crypto/seal.h, BLOCK_CHUNK) within the file's convergence scope
 * (obj_store.scope, "Convergence scope" below), padded with zero bytes to
 * obj_padded_len(size) unless obj_store.pad is OBJ_PAD_NONE (see "Chunk
 * padding" below), and put into the block store.  A file of at
 * most one chunk is named by that chunk; a longer one by an index block
 * (BLOCK_INDEX) listing its children's (CID, key, size); index blocks nest,
 * so depth grows with log_fanout(size) and size has no practical limit.
 * An object is named by its root struct obj_ref, which alone is enough to
 * read it: that is what a directory entry (or a share capability) holds.
 *
 * Index block plaintext (big endian):
 *   "ipmx" ‖ version u8 (1) ‖ level u8 (1: children are chunks; n: children
 *   are index blocks of level n-1) ‖ reserved u16 (0) ‖ chunk_size u32 ‖
 *   count u32 ‖ total size u64  — then count entries of
 *   cid[CID_RAW_BYTES] ‖ key[IPMD_KEY_BYTES] ‖ size u64.
 * Every child but the last covers exactly chunk_size·fanout^(level-1) bytes;
 * a reader checks this, the sizes, and count ≤ the largest that fits a block.
 * The root index lists at least two children (else its one child would be
 * the root), so a reader learns the fanout from the root's first child:
 * chunk_size·fanout^(depth-1) bytes.  The reader uses the object's own
 * chunk_size and fanout, not obj_store's.
 *
 * Chunk padding: a chunk of size bytes is stored as a block of exactly
 * obj_padded_len(size) + IPMD_SEAL_OVERHEAD bytes (padded, the default) or
 * size + IPMD_SEAL_OVERHEAD (OBJ_PAD_NONE, and every chunk written before
 * padding existed); the two agree when size is already a Padmé length
 * (256 KiB is one).  The key is over the true content either way; the true
 * size comes from the chunk_ref that names the chunk (an index entry, a
 * directory entry, a share), which is sealed, so no length is stored in
 * the chunk.  A reader accepts exactly those two block sizes, checks that
 * the padding is zero bytes, and hands on (and caches) exactly size bytes:
 * anything else is -EBADMSG.  Index blocks are never padded.
 *
 * Invariants
 *  - size == 0  ⇔  ref.cid.len == 0 (an empty file has no block at all);
 *  - depth == 0 ⇔  size ≤ chunk_size (root is the chunk itself);
 *  - a chunk block is obj_padded_len(size) + IPMD_SEAL_OVERHEAD or
 *    size + IPMD_SEAL_OVERHEAD bytes, an index block its plaintext +
 *    IPMD_SEAL_OVERHEAD;
 *  - no block written is larger than BLOCK_MAX_BYTES.
 *
 * Memory: a writer holds one chunk plus one partial index per level, so a
 * stream of many GB needs a few MB at most; a reader holds one chunk (and
 * the index blocks on one root-to-leaf path when it must load them).
 *
 * Parallel sealing: with st.seal_threads = n > 0 a writer hands each full
 * chunk (and the tail) to n threads of its own, which seal and put it,
 * while the caller goes on; index blocks are still sealed by the caller.
 * At most n + 1 chunks are in flight (plus the one being filled, and one
 * sealed block per thread), and results are taken in chunk order, so the
 * blocks and the root are exactly those of seal_threads = 0.  The threads
 * start with the first full chunk (an object of one partial chunk starts
 * none), live until finish or abort, and run with every signal blocked.
 * If they can't start (no memory, no threads) the writer seals in the
 * caller's thread: the same result, slower.  st.bs must then be safe to
 * call from several threads, as every block store is (blockstore.h).
 *
 * Errors: negative errno from the store (-ENOENT missing, -EBADMSG corrupt,
 * -EIO …); -EBADMSG too for a block that fails to open or an index that
 * breaks the rules above; -EROFS when sealing without a convergence secret.
 */
#ifndef IPMD_FS_MODEL_OBJECT_H
#define IPMD_FS_MODEL_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/format.h"
#include "ipfs/blockstore.h"
#include "ipfs/cid.h"
#include "util/attr.h"

#define OBJ_CHUNK_DEFAULT (256 * 1024)
#define OBJ_INDEX_MAGIC "ipmx"
#define OBJ_INDEX_VERSION 1
#define OBJ_INDEX_HEADER_BYTES 24
#define OBJ_INDEX_ENTRY_BYTES (CID_RAW_BYTES + IPMD_KEY_BYTES + 8)
/* Most entries one index block can hold within BLOCK_MAX_BYTES. */
#define OBJ_FANOUT_MAX                                                        \
	((BLOCK_MAX_BYTES - IPMD_SEAL_OVERHEAD - OBJ_INDEX_HEADER_BYTES) /    \
	 OBJ_INDEX_ENTRY_BYTES)
#define OBJ_FANOUT_DEFAULT 4096
/* Deepest tree a reader accepts: fanout ≥ 2 and size < 2^64 bound it. */
#define OBJ_DEPTH_MAX 64
/* Most sealing threads one writer may have (obj_store.seal_threads). */
#define OBJ_SEAL_THREADS_MAX 64
/* Largest chunk whose sealed block still fits BLOCK_MAX_BYTES. */
#define OBJ_CHUNK_MAX (BLOCK_MAX_BYTES - IPMD_SEAL_OVERHEAD)

struct chunk_cache; /* cache/chunk_cache.h */

/* How writers pad chunks (obj_store.pad); readers accept both always. */
enum obj_pad {
	OBJ_PAD_PADME = 0, /* the default: obj_padded_len() */
	OBJ_PAD_NONE = 1,  /* a chunk block is its size + IPMD_SEAL_OVERHEAD */
};

/*
 * Convergence scope of what writers seal (obj_store.scope): how far equal
 * content shares blocks.  Chunks and index blocks are a file's content;
 * directory nodes (fs/model/manifest.h) stay under the mailbox's secret.  Readers need only the keys in the references,
 * so blocks of either scope read alike.
 */
enum obj_scope {
	/* The default: each file (a message) is a scope of its own, its
	 * chunks keyed with a secret derived from the convergence secret and
	 * the file's salt (obj_store_scoped).  Its equal chunks, its names
	 * (links, renames) and its rewrites share blocks; no other file's. */
	OBJ_SCOPE_MESSAGE = 0,
	/* Equal content anywhere in the mailbox is one block: cheaper, but
	 * whoever can get mail into the mailbox and watch its blocks learns
	 * whether content it chose is already there. */
	OBJ_SCOPE_MAILBOX = 1,
};

/* Where objects are read from and written to; the caller owns all of it. */
struct obj_store {
	struct blockstore *bs;
	const uint8_t *convergence; /* IPMD_KEY_BYTES, or NULL: read-only */
	uint32_t chunk_size;        /* ≤ OBJ_CHUNK_MAX */
	uint32_t fanout;            /* 2 … OBJ_FANOUT_MAX; tests use small ones */
	unsigned put_flags;         /* passed to bs_put (BS_PUT_DURABLE …) */
	struct chunk_cache *cache;  /* plaintext chunks, or NULL */
	/* Writers' sealing threads: 0 (the default) seals in the caller's
	 * thread; 1 … OBJ_SEAL_THREADS_MAX, see "Parallel sealing" above. */
	unsigned seal_threads;
	/* Writers' chunk padding; zero (a store built with = {…}) pads. */
	enum obj_pad pad;
	/* Writers' convergence scope; zero: OBJ_SCOPE_MESSAGE.  obj_seal_chunk
	 * and obj_build seal under convergence as it is (callers scope the
	 * store first); obj_writer_new scopes each object itself. */
	enum obj_scope scope;
};

/* An object of size bytes cut by chunk size cs (the first chunks exactly
 * cs bytes, the last the rest): how many chunks it has (not (size + cs -
 * 1) / cs, which wraps for sizes near 2^64), and the length of chunk i (0
 * past the end). */
static inline uint64_t obj_chunk_count(uint64_t size, uint32_t cs)
{
	return size / cs + (size % cs != 0);
}

static inline size_t obj_chunk_len(uint64_t size, uint32_t cs, uint64_t i)
{
	if (i >= obj_chunk_count(size, cs))
		return 0;
	uint64_t left = size - i * (uint64_t)cs;
	return left < cs ? (size_t)left : cs;
}

/* "message" or "mailbox" (the mount option's and config key's words): 0,
 * or -EINVAL for anything else. */
IPMD_MUST_CHECK
int obj_scope_parse(const char *word, enum obj_scope *out);

/*
 * The store one file is sealed with: *out = *st, but under
 * OBJ_SCOPE_MESSAGE (and with a convergence secret) out->convergence =
 * secret, filled with convergence_scope(st->convergence, salt)
 * (crypto/seal.h), and out->scope = OBJ_SCOPE_MAILBOX: within out the file
 * is the whole scope.  secret must outlive out (wipe it after).  The same
 * salt gives the same secret: a file keeps its salt (fs/mount/file.h: its inode
 * number) so its rewrites converge with its earlier blocks.
 */
void obj_store_scoped(const struct obj_store *st,
		      const uint8_t salt[IPMD_SCOPE_SALT_BYTES],
		      uint8_t secret[IPMD_KEY_BYTES], struct obj_store *out);
/* The salt of file id (an inode number, unique in a mailbox and never
 * reused): eight zero bytes, then id big endian.  A random salt
 * (obj_writer_new) is sixteen random bytes. */
void obj_salt_of_id(uint64_t id, uint8_t salt[IPMD_SCOPE_SALT_BYTES]);

/*
 * The plaintext length a padded chunk of size bytes is sealed at:
 * seal_padme(size), but never above OBJ_CHUNK_MAX (so the block fits
 * BLOCK_MAX_BYTES); size itself when size > OBJ_CHUNK_MAX (no such chunk).
 * Never above the next power of two, so a chunk of at most
 * OBJ_CHUNK_DEFAULT bytes stays within OBJ_CHUNK_DEFAULT.  A pure function
 * of size: readers recompute it, whatever chunk size the writer had.
 */
uint64_t obj_padded_len(uint64_t size);

/* One chunk, or one child of an index block. */
struct chunk_ref {
	struct cid cid;
	uint8_t key[IPMD_KEY_BYTES];
	uint64_t size;
};

/* The root of an object. */
struct obj_ref {
	struct cid cid;
	uint8_t key[IPMD_KEY_BYTES];
	uint64_t size;
	uint8_t depth; /* 0: cid is the only chunk; n: index tree of n levels */
};

/* ---- whole streams ---- */

struct obj_writer;
/* st must outlive the writer and not change under it.  Under
 * OBJ_SCOPE_MESSAGE the object is its own scope, with a random salt: the
 * same bytes written twice give two different objects. */
int obj_writer_new(struct obj_store *st, struct obj_writer **out);
/* Full chunks are sealed and stored as soon as they fill (with
 * seal_threads, handed over: a failure shows at a later write or at
 * finish, and sticks). */
int obj_writer_write(struct obj_writer *w, const uint8_t *data, size_t len);
/* Seal the tail and the indexes; *ref names the object.  Frees w always. */
int obj_writer_finish(struct obj_writer *w, struct obj_ref *ref);
void obj_writer_abort(struct obj_writer *w);
/* Everything fd reads, to its end, as one new object: *ref.  buf (size
 * bytes) is the caller's room for each read.  0 or negative errno (of
 * read or of the writer). */
int obj_write_fd(struct obj_store *st, int fd, uint8_t *buf, size_t size,
		 struct obj_ref *ref);

/*
 * Read up to len bytes at off; *got is less than len only at end of object.
 * Reads only the blocks covering the range.  A chunk the range covers
 * whole is taken out of st->cache (or, fetched, not put in): its reader
 * keeps it (the FUSE reader's page cache, keep_cache), and a second copy
 * in the daemon only held memory — a grep -r over 100,000 messages filled
 * the 64 MiB cache with chunks the kernel had as well.  A chunk read in
 * part stays cached for the rest of it.
 */
IPMD_MUST_CHECK
int obj_read(struct obj_store *st, const struct obj_ref *ref, uint64_t off,
	     uint8_t *buf, size_t len, size_t *got);

/* ---- chunk level, for files rewritten in place (fs/) ---- */

/* Seal and store one chunk (0 < len ≤ chunk_size, else -EINVAL). */
int obj_seal_chunk(struct obj_store *st, const uint8_t *plain, size_t len,
		   struct chunk_ref *out);
/* obj_seal_chunk of the len bytes plain[0..have) followed by len - have
 * zero bytes (have ≤ len; plain may be NULL when have is 0): the same
 * block, CID and key, without the zeros in memory (fs/mount/file.c: a
 * chunk buffer holds only its written start). */
int obj_seal_chunk_sparse(struct obj_store *st, const uint8_t *plain,
			  size_t have, size_t len, struct chunk_ref *out);
/* Fetch, verify and open one chunk into plain (c->size ≤ chunk_size
 * bytes; no room for padding needed); -ENOBUFS if c->size >
 * st->chunk_size, -EBADMSG if the block is neither c->size nor
 * obj_padded_len(c->size) bytes of plaintext (+ IPMD_SEAL_OVERHEAD), or
 * its padding is not zeros. */
IPMD_MUST_CHECK
int obj_open_chunk(struct obj_store *st, const struct chunk_ref *c,
		   uint8_t *plain, size_t *len);
/* obj_open_chunk for a prefetch (fs/mount/prefetch.h): the plaintext goes
 * into st->cache as a hint (chunk_cache_insert_hint), within a budget of
 * its own until a reader reads it. */
IPMD_MUST_CHECK
int obj_prefetch_chunk(struct obj_store *st, const struct chunk_ref *c,
		       uint8_t *plain, size_t *len);
/* The chunk_ref of chunk number index (0-based) of ref; -ERANGE past the
 * last chunk. */
IPMD_MUST_CHECK
int obj_chunk_at(struct obj_store *st, const struct obj_ref *ref,
		 uint64_t index, struct chunk_ref *out);
/* All chunk refs of ref, in order (malloc'ed array the caller frees). */
IPMD_MUST_CHECK
int obj_list_chunks(struct obj_store *st, const struct obj_ref *ref,
		    struct chunk_ref **chunks, size_t *n);
/*
 * Build the root over n chunks whose sizes obey the chunking rule (all
 * chunk_size but the last); writes the index blocks.  n == 0 gives the
 * empty object.
 */
int obj_build(struct obj_store *st, const struct chunk_ref *chunks, size_t n,
	      struct obj_ref *out);

/*
 * Call fn for every block of the object (chunks and index blocks, root
 * included), for fsck, gc and pinning.  Stops at the first non-zero return.
 */
typedef int (*obj_block_fn)(const struct cid *cid, enum block_kind kind,
			    void *arg);
int obj_walk(struct obj_store *st, const struct obj_ref *ref, obj_block_fn fn,
	     void *arg);

#endif
