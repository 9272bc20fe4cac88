/*
 * fs/model/manifest_internal.h — what the pieces of manifest.h share; for
 * fs/model/manifest*.c only.
 *
 * The pieces, one job each:
 *   manifest_write.c  the JSON writer: an ENTRY (or "self") into a growing
 *                     buffer, byte for byte what jansson writes with
 *                     JSON_COMPACT | JSON_SORT_KEYS;
 *   manifest_read.c   the strict JSON reader: a cursor over one block,
 *                     strings checked as UTF-8, the known members parsed
 *                     into struct fields;
 *   manifest.c        sealing: which directories, in which order, flat or
 *                     sharded, each node sealed and put (manifest_seal);
 *   manifest_load.c   loading: every node and shard fetched, opened and
 *                     checked into a new tree (manifest_load).
 * The Maildir counts (manifest.h's commit statistics) are fs/model/maildir.c.
 *
 * Writer and reader keep jansson's rules between them: a string the writer
 * writes as UTF-8 (mf_utf8_valid) is one the reader accepts, and every
 * member name the writer writes is in enum field.
 */
#ifndef IPMD_FS_MODEL_MANIFEST_INTERNAL_H
#define IPMD_FS_MODEL_MANIFEST_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "fs/model/manifest.h"

#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
/* Names and targets in their base64 form: the longer, a target, bounds. */
#define BYTES_B64_BYTES                                                       \
	sodium_base64_ENCODED_LEN(TREE_SYMLINK_MAX, B64_VARIANT)
#define NS_PER_S 1000000000LL
#define KEY_NAME_MAX 16 /* longest member name we know, with room */

/* Names compare as bytes, shorter first on a common prefix: the order of
 * entries in a node (sealing writes it, loading insists on it). */
static inline int name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c ? c : (al > bl) - (al < bl);
}

/* ---- writing (manifest_write.c) ---- */

/* A growing output buffer, at most one block's plaintext; the first
 * failure (-ENOMEM, -EFBIG, -EIO) sticks in rc and later writes do
 * nothing.  The caller owns p (and wipes it: it holds keys). */
struct out {
	char *p;
	size_t len, cap;
	int rc;
	bool special; /* an entry of a special file written: "v":2 */
};

void mf_out_mem(struct out *o, const void *p, size_t n);
void mf_out_lit(struct out *o, const char *s);
void mf_out_int(struct out *o, long long v);
void mf_out_b64(struct out *o, const void *p, size_t len);
void mf_out_cid(struct out *o, const struct cid *c);
/* ",\"key\":" (or without the comma for the first member). */
void mf_out_key(struct out *o, const char *key, bool first);
/* An ENTRY (name != NULL) or the root's "self" (name == NULL); -EOVERFLOW
 * or -EIO (the tree broke an invariant), else 0 (o->rc may still be set). */
int mf_out_entry(struct out *o, const struct inode *in, const char *name,
		 size_t name_len);
/* The block's ",\"v\":N" member: MANIFEST_VERSION_SPECIAL when an entry
 * written into o since it was emptied is a special file's, else
 * MANIFEST_VERSION (manifest.h, "Versions"). */
void mf_out_version(struct out *o);

/* ---- reading (manifest_read.c) ---- */

/* A cursor over one block's JSON; any syntax error is simply false. */
struct in {
	const uint8_t *p, *end;
};

/* The member names this format knows, sorted (ENTRY, ref, "self"). */
enum field {
	F_ATIME, F_BNAME, F_BTARGET, F_CID, F_CTIME, F_DEPTH, F_GID, F_INO,
	F_KEY, F_MODE, F_MTIME, F_NAME, F_RDEV, F_SIZE, F_TARGET, F_UID,
	F_COUNT
};
#define BIT(f) (1u << (f))
#define ATTR_FIELDS                                                           \
	(BIT(F_ATIME) | BIT(F_CTIME) | BIT(F_GID) | BIT(F_INO) |              \
	 BIT(F_MODE) | BIT(F_MTIME) | BIT(F_SIZE) | BIT(F_UID))
#define REF_FIELDS (BIT(F_CID) | BIT(F_KEY))

/* One parsed object of those members. */
struct fields {
	unsigned seen;
	int64_t num[F_COUNT];
	char name[TREE_NAME_MAX + 1];
	size_t name_len;
	char target[TREE_SYMLINK_MAX + 1];
	size_t target_len;
	struct cid cid;
	uint8_t key[IPMD_KEY_BYTES];
	char b64[BYTES_B64_BYTES]; /* scratch for base64 members */
};

/* True if s[0..len) is UTF-8 as JSON and jansson accept it. */
bool mf_utf8_valid(const char *s, size_t len);
void mf_in_ws(struct in *r);
/* The next non-blank character is c: consume it. */
bool mf_in_char(struct in *r, char c);
bool mf_in_lit(struct in *r, const char *s);
bool mf_in_int(struct in *r, int64_t *v);
/* A string of at most max bytes into out (NUL-terminated), *len set. */
bool mf_in_str(struct in *r, char *out, size_t max, size_t *len);
/* Index of key in a sorted table of n names, or -1. */
int mf_lookup(const char *const *names, int n, const char *key);
/* An object of known members, each at most once. */
bool mf_in_fields(struct in *r, struct fields *x);

/* ---- sealing (manifest.c) ---- */

/* Free a directory's shard refs, wiped first (they hold node keys). */
void mf_shard_refs_free(struct dir_shards *sh);
/* count fresh shard slots, all zero: dirty flags and refs.  0, or
 * -ENOMEM with both NULL. */
int mf_shards_alloc(uint32_t count, uint8_t **dirty,
		    struct chunk_ref **refs);
/* sh takes those over in place of its own (refs wiped and freed, as
 * above), count of them; all_dirty, node and node_valid are the
 * caller's to set. */
void mf_shards_take(struct dir_shards *sh, uint8_t *dirty,
		    struct chunk_ref *refs, uint32_t count);

#endif
