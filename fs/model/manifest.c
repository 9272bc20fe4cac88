/* fs/model/manifest.c — see manifest.h.
 *
 * The JSON is written and read here by hand, not through jansson's object
 * model: a 100,000-message folder is ~34 MB of entries, and building (then
 * freeing) a jansson object with a hash table per entry took seconds where
 * mount has one.  The bytes are exactly what jansson writes with
 * JSON_COMPACT | JSON_SORT_KEYS (tests/unit/test_manifest.c checks it), so
 * any JSON tool reads them; the reader takes any well-formed JSON of the
 * documented shape, whitespace and key order included.
 */
#include "fs/model/manifest.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/seal.h"

#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
/* Names and targets in their base64 form: the longer, a target, bounds. */
#define BYTES_B64_BYTES                                                       \
	sodium_base64_ENCODED_LEN(TREE_SYMLINK_MAX, B64_VARIANT)
#define NS_PER_S 1000000000LL
#define PERM_BITS 07777
#define BLOCK_PLAIN_MAX (BLOCK_MAX_BYTES - IPMD_SEAL_OVERHEAD)
#define OUT_INITIAL (64 * 1024)
#define INT_TEXT_MAX 24 /* "-9223372036854775808" and a NUL */
#define KEY_NAME_MAX 16 /* longest member name we know, with room */

_Static_assert((MANIFEST_SHARDS_MAX & (MANIFEST_SHARDS_MAX - 1)) == 0,
	       "shard counts are powers of two");
_Static_assert((MANIFEST_SHARD_GROW & (MANIFEST_SHARD_GROW - 1)) == 0 &&
		       MANIFEST_SHARD_GROW >= 2,
	       "growing keeps a power of two");

/* ---- shared helpers ---- */

static int name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c ? c : (al > bl) - (al < bl);
}

/* Clamped: a time past ±292 years from the epoch can't be stored exactly. */
static int64_t ts_to_ns(const struct timespec *ts)
{
	long long nsec = ts->tv_nsec;

	if (nsec < 0)
		nsec = 0;
	if (nsec >= NS_PER_S)
		nsec = NS_PER_S - 1;
	if (ts->tv_sec > INT64_MAX / NS_PER_S - 1)
		return INT64_MAX;
	if (ts->tv_sec < INT64_MIN / NS_PER_S + 1)
		return INT64_MIN;
	return (int64_t)ts->tv_sec * NS_PER_S + nsec;
}

static struct timespec ns_to_ts(int64_t ns)
{
	struct timespec ts;
	long long s = ns / NS_PER_S, r = ns % NS_PER_S;

	if (r < 0) {
		r += NS_PER_S;
		s--;
	}
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)r;
	return ts;
}

/* Length of the UTF-8 sequence at p (as JSON and jansson accept it: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_seq(const uint8_t *p, size_t avail)
{
	uint32_t cp, min;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		n = 2, cp = p[0] & 0x1F, min = 0x80;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		n = 3, cp = p[0] & 0x0F, min = 0x800;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		n = 4, cp = p[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

static bool utf8_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* ================= writing JSON ================= */

/* A growing output buffer; the first failure sticks in rc. */
struct out {
	char *p;
	size_t len, cap;
	int rc;
};

static bool out_room(struct out *o, size_t n)
{
	size_t cap;
	char *p;

	if (o->rc != 0)
		return false;
	if (n > BLOCK_PLAIN_MAX - o->len) {
		o->rc = -EFBIG;
		return false;
	}
	if (o->len + n <= o->cap)
		return true;
	cap = o->cap ? o->cap : OUT_INITIAL;
	while (cap < o->len + n)
		cap *= 2;
	if (cap > BLOCK_PLAIN_MAX)
		cap = BLOCK_PLAIN_MAX;
	p = realloc(o->p, cap);
	if (!p) {
		o->rc = -ENOMEM;
		return false;
	}
	o->p = p;
	o->cap = cap;
	return true;
}

static void out_mem(struct out *o, const void *p, size_t n)
{
	if (out_room(o, n)) {
		memcpy(o->p + o->len, p, n);
		o->len += n;
	}
}

static void out_lit(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

static void out_int(struct out *o, long long v)
{
	char tmp[INT_TEXT_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%lld", v);
	out_mem(o, tmp, (size_t)n);
}

/* A string as jansson escapes it: '"', '\\', control characters; UTF-8
 * (already checked) as it is. */
static void out_str(struct out *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0;

	out_mem(o, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)s[i];
		char esc[6];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		out_mem(o, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xF];
			n = 6;
		}
		out_mem(o, esc, n);
	}
	out_mem(o, s + run, len - run);
	out_mem(o, "\"", 1);
}

static void out_b64(struct out *o, const void *p, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, B64_VARIANT);

	/* Room for the quotes and libsodium's NUL. */
	if (!out_room(o, n + 2))
		return;
	o->p[o->len++] = '"';
	sodium_bin2base64(o->p + o->len, n, p, len, B64_VARIANT);
	o->len += n - 1;
	o->p[o->len++] = '"';
}

static void out_cid(struct out *o, const struct cid *c)
{
	char text[CID_TEXT_MAX];

	if (cid_format(c, text, sizeof(text)) != 0) {
		if (o->rc == 0)
			o->rc = -EIO;
		return;
	}
	out_str(o, text, strlen(text));
}

/* ",\"key\":" (or without the comma for the first member). */
static void out_key(struct out *o, const char *key, bool first)
{
	if (!first)
		out_mem(o, ",", 1);
	out_str(o, key, strlen(key));
	out_mem(o, ":", 1);
}

/* A name or target: a string if it is UTF-8, else base64 under bkey.  The
 * two keys sort differently, so the caller places each. */
static void out_bytes_b(struct out *o, const char *bkey, const char *p,
			size_t len)
{
	if (!utf8_valid(p, len)) {
		out_key(o, bkey, false);
		out_b64(o, p, len);
	}
}

static void out_bytes_s(struct out *o, const char *key, const char *p,
			size_t len)
{
	if (utf8_valid(p, len)) {
		out_key(o, key, false);
		out_str(o, p, len);
	}
}

/*
 * An ENTRY (name != NULL) or "self" (name == NULL).  Members in sorted
 * order: atime bname btarget cid ctime depth gid ino key mode mtime name
 * size target uid.
 */
static int out_entry(struct out *o, const struct inode *in, const char *name,
		     size_t name_len)
{
	bool reg = S_ISREG(in->mode), dir = S_ISDIR(in->mode);
	uint64_t size = reg ? in->content.size : in->size;
	const struct cid *cid = NULL;
	const uint8_t *key = NULL;
	size_t tlen = 0;

	if (in->ino > INT64_MAX || size > INT64_MAX)
		return -EOVERFLOW;
	if (name && reg && size > 0) {
		/* A file's content is sealed before it reaches the tree. */
		if (in->content.cid.len == 0)
			return -EIO;
		cid = &in->content.cid;
		key = in->content.key;
	} else if (name && dir) {
		/* Children are sealed first: they are deeper. */
		if (!in->dir->shards.node_valid)
			return -EIO;
		cid = &in->dir->shards.node.cid;
		key = in->dir->shards.node.key;
	} else if (name && S_ISLNK(in->mode)) {
		if (!in->target)
			return -EIO;
		tlen = strlen(in->target);
	}

	out_mem(o, "{", 1);
	out_key(o, "atime", true);
	out_int(o, ts_to_ns(&in->atime));
	if (name)
		out_bytes_b(o, "bname", name, name_len);
	if (tlen)
		out_bytes_b(o, "btarget", in->target, tlen);
	if (cid) {
		out_key(o, "cid", false);
		out_cid(o, cid);
	}
	out_key(o, "ctime", false);
	out_int(o, ts_to_ns(&in->ctime));
	if (cid && reg) {
		out_key(o, "depth", false);
		out_int(o, in->content.depth);
	}
	out_key(o, "gid", false);
	out_int(o, in->gid);
	out_key(o, "ino", false);
	out_int(o, (long long)in->ino);
	if (key) {
		out_key(o, "key", false);
		out_b64(o, key, IPMD_KEY_BYTES);
	}
	out_key(o, "mode", false);
	out_int(o, in->mode);
	out_key(o, "mtime", false);
	out_int(o, ts_to_ns(&in->mtime));
	if (name)
		out_bytes_s(o, "name", name, name_len);
	out_key(o, "size", false);
	out_int(o, (long long)size);
	if (tlen)
		out_bytes_s(o, "target", in->target, tlen);
	out_key(o, "uid", false);
	out_int(o, in->uid);
	out_mem(o, "}", 1);
	return 0;
}

/* ================= sealing ================= */

/* One entry to serialise: its shard and dirent. */
struct pick {
	uint32_t shard;
	const struct dirent *d;
};

struct sealer {
	struct fs_tree *t;
	struct obj_store *st;
	uint8_t *sealed;    /* one block, BLOCK_MAX_BYTES */
	struct out out;     /* one block's JSON, reused */
	struct pick *picks; /* reused from directory to directory */
	size_t picks_cap;
};

static int pick_cmp(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;

	if (x->shard != y->shard)
		return x->shard < y->shard ? -1 : 1;
	return name_cmp(x->d->name, x->d->name_len, y->d->name,
			y->d->name_len);
}

/* Seal and store the JSON in s->out; it is wiped (it holds the keys of
 * every file in the directory) and emptied. */
static int put_out(struct sealer *s, struct chunk_ref *out)
{
	size_t len = s->out.len;
	int rc = s->out.rc;

	memset(out, 0, sizeof(*out));
	if (rc == 0)
		rc = seal_convergent(s->sealed, out->key,
				     (const uint8_t *)s->out.p, len,
				     BLOCK_DIRECTORY, s->st->convergence);
	if (rc == 0)
		rc = bs_put(s->st->bs, s->sealed, len + IPMD_SEAL_OVERHEAD,
			    s->st->put_flags, &out->cid);
	if (len > 0)
		sodium_memzero(s->out.p, len);
	s->out.len = 0;
	s->out.rc = 0;
	if (rc != 0)
		return rc;
	out->size = len;
	return 0;
}

static int out_entries(struct sealer *s, const struct pick *p, size_t n)
{
	int rc = 0;

	out_key(&s->out, "entries", true);
	out_mem(&s->out, "[", 1);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (i > 0)
			out_mem(&s->out, ",", 1);
		rc = out_entry(&s->out, p[i].d->inode, p[i].d->name,
			       p[i].d->name_len);
	}
	out_mem(&s->out, "]", 1);
	if (rc != 0 && s->out.rc == 0)
		s->out.rc = rc;
	return s->out.rc;
}

/* The root's "self", then "v" and the closing brace, for either node. */
static void out_node_tail(struct sealer *s, const struct inode *dir,
			  uint32_t shards)
{
	if (dir == s->t->root) {
		int rc;
		out_key(&s->out, "self", false);
		rc = out_entry(&s->out, dir, NULL, 0);
		if (rc != 0 && s->out.rc == 0)
			s->out.rc = rc;
	}
	if (shards > 1) {
		out_key(&s->out, "shards", false);
		out_int(&s->out, shards);
	}
	out_key(&s->out, "v", false);
	out_int(&s->out, MANIFEST_VERSION);
	out_mem(&s->out, "}", 1);
}

/* {"entries":[…],"self":{…},"v":1} */
static int seal_flat(struct sealer *s, const struct inode *dir, size_t n,
		     struct chunk_ref *node)
{
	out_mem(&s->out, "{", 1);
	out_entries(s, s->picks, n);
	out_node_tail(s, dir, 1);
	return put_out(s, node);
}

/* {"entries":[…],"of":N,"shard":i,"v":1}; an empty shard has no block. */
/* The old shard refs hold directory node keys: wipe before freeing. */
static void shard_refs_free(struct dir_shards *sh)
{
	if (sh->refs)
		sodium_memzero(sh->refs, sh->count * sizeof(*sh->refs));
	free(sh->refs);
	sh->refs = NULL;
}

static int seal_shard(struct sealer *s, uint32_t i, uint32_t of,
		      const struct pick *p, size_t n, struct chunk_ref *out)
{
	if (n == 0) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	out_mem(&s->out, "{", 1);
	out_entries(s, p, n);
	out_key(&s->out, "of", false);
	out_int(&s->out, of);
	out_key(&s->out, "shard", false);
	out_int(&s->out, i);
	out_key(&s->out, "v", false);
	out_int(&s->out, MANIFEST_VERSION);
	out_mem(&s->out, "}", 1);
	return put_out(s, out);
}

/* The dirty shards, then {"refs":[{"cid":…,"key":…}|null…],"self":…,
 * "shards":N,"v":1}. */
static int seal_sharded(struct sealer *s, const struct inode *dir, bool all,
			size_t n, struct chunk_ref *node)
{
	struct dir_shards *sh = &dir->dir->shards;
	size_t at = 0;
	int rc = 0;

	for (uint32_t i = 0; i < sh->count && rc == 0; i++) {
		size_t start = at;
		if (!all && !sh->dirty[i])
			continue;
		while (at < n && s->picks[at].shard == i)
			at++;
		rc = seal_shard(s, i, sh->count, s->picks + start, at - start,
				&sh->refs[i]);
		if (rc == 0)
			sh->dirty[i] = 0;
	}
	if (rc != 0)
		return rc;
	out_mem(&s->out, "{", 1);
	out_key(&s->out, "refs", true);
	out_mem(&s->out, "[", 1);
	for (uint32_t i = 0; i < sh->count; i++) {
		const struct chunk_ref *r = &sh->refs[i];
		if (i > 0)
			out_mem(&s->out, ",", 1);
		if (r->cid.len == 0) {
			out_lit(&s->out, "null");
			continue;
		}
		out_mem(&s->out, "{", 1);
		out_key(&s->out, "cid", true);
		out_cid(&s->out, &r->cid);
		out_key(&s->out, "key", false);
		out_b64(&s->out, r->key, IPMD_KEY_BYTES);
		out_mem(&s->out, "}", 1);
	}
	out_mem(&s->out, "]", 1);
	out_node_tail(s, dir, sh->count);
	return put_out(s, node);
}

/*
 * Pick the shard count for d's entry count (at least min); a change
 * re-seals every shard.
 */
static int layout(struct sealer *s, struct dir *d, uint32_t min)
{
	struct dir_shards *sh = &d->shards;
	uint64_t thr = s->t->shard_threshold ? s->t->shard_threshold
					     : MANIFEST_SHARD_THRESHOLD;
	uint64_t n = d->count;
	uint32_t want = sh->count ? sh->count : 1;
	uint8_t *dirty;
	struct chunk_ref *refs;

	if (want & (want - 1) || want > MANIFEST_SHARDS_MAX)
		want = 1;
	while (want < MANIFEST_SHARDS_MAX && n > want * thr)
		want = want * MANIFEST_SHARD_GROW > MANIFEST_SHARDS_MAX
			       ? MANIFEST_SHARDS_MAX
			       : want * MANIFEST_SHARD_GROW;
	while (want > 1 && n * MANIFEST_SHRINK_DIV < want * thr)
		want = want / MANIFEST_SHARD_GROW ? want / MANIFEST_SHARD_GROW
						  : 1;
	while (want < min)
		want *= MANIFEST_SHARD_GROW;
	if (want > MANIFEST_SHARDS_MAX)
		want = MANIFEST_SHARDS_MAX;
	if (want == sh->count && sh->dirty && sh->refs)
		return 0;
	dirty = calloc(want, sizeof(*dirty));
	refs = calloc(want, sizeof(*refs));
	if (!dirty || !refs) {
		free(dirty);
		free(refs);
		return -ENOMEM;
	}
	free(sh->dirty);
	shard_refs_free(sh);
	sh->dirty = dirty;
	sh->refs = refs;
	sh->count = want;
	sh->all_dirty = true;
	return 0;
}

/*
 * Collect the entries of the shards to seal, sorted by (shard, name): one
 * pass over the directory's table, whatever the number of dirty shards
 * (the table is keyed by the name's low hash bits, shards by the high
 * ones, so a shard's entries can't be found without it).
 */
static int gather(struct sealer *s, const struct dir *d, bool all,
		  size_t *n)
{
	const struct dir_shards *sh = &d->shards;

	*n = 0;
	if (d->count > s->picks_cap) {
		struct pick *p = realloc(s->picks, d->count * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->picks = p;
		s->picks_cap = d->count;
	}
	for (uint32_t b = 0; b < d->nbuckets; b++) {
		for (const struct dirent *e = d->buckets[b]; e;
		     e = e->hash_next) {
			uint32_t i = tree_shard_of(e->hash, sh->count);
			if (!all && !sh->dirty[i])
				continue;
			/* The count disagrees with the table: a tree bug. */
			if (*n == s->picks_cap)
				return -EIO;
			s->picks[*n].shard = i;
			s->picks[(*n)++].d = e;
		}
	}
	if (*n > 1)
		qsort(s->picks, *n, sizeof(*s->picks), pick_cmp);
	return 0;
}

/* Mark dir's own entry in its parent dirty: its node changed. */
static void mark_in_parent(struct inode *dir)
{
	const struct dirent *e = dir->links;
	struct dir_shards *ps;

	if (!e)
		return;
	ps = &e->dir->dir->shards;
	if (ps->dirty && ps->count)
		ps->dirty[tree_shard_of(e->hash, ps->count)] = 1;
	else
		ps->all_dirty = true;
}

static int seal_layout(struct sealer *s, struct inode *dir, uint32_t min)
{
	struct dir_shards *sh = &dir->dir->shards;
	bool is_root = dir == s->t->root, all, any;
	struct chunk_ref node;
	size_t n = 0;
	int rc;

	rc = layout(s, dir->dir, min);
	if (rc != 0)
		return rc;
	all = sh->all_dirty || !sh->node_valid;
	any = all;
	for (uint32_t i = 0; i < sh->count && !any; i++)
		any = sh->dirty[i] != 0;
	/* The root's node holds its attributes: always sealed (see .h). */
	if (!any && !is_root)
		return 0;
	if (sh->count == 1)
		all = true;
	if (sh->count == 1 || any) {
		rc = gather(s, dir->dir, all, &n);
		if (rc != 0)
			return rc;
	}
	rc = sh->count == 1 ? seal_flat(s, dir, n, &node)
			    : seal_sharded(s, dir, all, n, &node);
	if (rc != 0)
		return rc;
	if (!sh->node_valid || !cid_equal(&sh->node.cid, &node.cid))
		mark_in_parent(dir);
	sh->node = node;
	sh->node_valid = true;
	memset(sh->dirty, 0, sh->count);
	sh->all_dirty = false;
	return 0;
}

/*
 * The threshold counts entries, not bytes: a shard of long names and long
 * symlink targets can still pass a block.  Then split further and retry;
 * the next seal may shrink it back and retry again — correct, only slower,
 * and only for such directories.
 */
static int seal_dir(struct sealer *s, struct inode *dir)
{
	uint32_t min = 1;
	int rc;

	for (;;) {
		rc = seal_layout(s, dir, min);
		if (rc != -EFBIG ||
		    dir->dir->shards.count >= MANIFEST_SHARDS_MAX)
			return rc;
		min = dir->dir->shards.count * MANIFEST_SHARD_GROW;
	}
}

/* ---- which directories, in which order ---- */

struct work {
	struct inode *dir;
	uint32_t depth;
};

static int work_cmp(const void *a, const void *b)
{
	const struct work *x = a, *y = b;
	return (x->depth < y->depth) - (x->depth > y->depth);
}

static void push_dirty(struct fs_tree *t, struct inode *dir)
{
	dir->dir->dirty = true;
	dir->dir->next_dirty = t->dirty_dirs;
	t->dirty_dirs = dir;
}

static bool is_detached(const struct fs_tree *t, const struct inode *dir)
{
	return dir != t->root && dir->dir->parent == dir;
}

/*
 * Put every ancestor of a dirty directory on dirty_dirs too (a child's new
 * node changes its parent's entry), and the root always; then list them,
 * deepest first.  What stays on the list after a failure is harmless: a
 * directory with nothing dirty is skipped.
 */
static int plan(struct fs_tree *t, struct work **out, size_t *n)
{
	struct work *w;
	size_t count = 0, i = 0;

	if (!t->root->dir->dirty)
		push_dirty(t, t->root);
	for (struct inode *d = t->dirty_dirs; d; d = d->dir->next_dirty) {
		struct inode *cur = d;
		while (!is_detached(t, cur) && cur != t->root &&
		       !cur->dir->parent->dir->dirty) {
			cur = cur->dir->parent;
			push_dirty(t, cur);
		}
	}
	/* Pushes went to the head, behind the walk: count them now. */
	for (struct inode *d = t->dirty_dirs; d; d = d->dir->next_dirty)
		count++;
	w = calloc(count, sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (struct inode *d = t->dirty_dirs; d; d = d->dir->next_dirty) {
		struct inode *c = d;
		uint32_t depth = 0;
		for (; c != t->root && !is_detached(t, c); c = c->dir->parent) {
			if (++depth > MANIFEST_DEPTH_MAX) {
				free(w);
				return -ELOOP;
			}
		}
		/* Removed: nothing refers to its node any more. */
		if (c != t->root)
			continue;
		w[i].dir = d;
		w[i++].depth = depth;
	}
	if (i > 1)
		qsort(w, i, sizeof(*w), work_cmp);
	*out = w;
	*n = i;
	return 0;
}

int manifest_seal(struct fs_tree *t, struct obj_store *st,
		  struct chunk_ref *root)
{
	struct sealer s = {.t = t, .st = st};
	struct work *w = NULL;
	size_t n = 0;
	int rc;

	if (!t || !st || !st->bs || !root)
		return -EINVAL;
	if (!st->convergence)
		return -EROFS;
	s.sealed = malloc(BLOCK_MAX_BYTES);
	s.picks_cap = 1;
	s.picks = malloc(s.picks_cap * sizeof(*s.picks));
	rc = s.sealed && s.picks ? plan(t, &w, &n) : -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = seal_dir(&s, w[i].dir);
	if (rc == 0) {
		tree_clear_dirty(t);
		*root = t->root->dir->shards.node;
	}
	free(w);
	free(s.picks);
	free(s.sealed);
	free(s.out.p);
	return rc;
}

/* ================= reading JSON ================= */

/* A cursor over one block's JSON; any syntax error is simply false. */
struct in {
	const uint8_t *p, *end;
};

static void in_ws(struct in *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
				 *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static bool in_char(struct in *r, char c)
{
	in_ws(r);
	if (r->p < r->end && *r->p == (uint8_t)c) {
		r->p++;
		return true;
	}
	return false;
}

static bool in_lit(struct in *r, const char *s)
{
	size_t n = strlen(s);

	in_ws(r);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, s, n) != 0)
		return false;
	r->p += n;
	return true;
}

/* A JSON number that is an integer in int64 (no fraction, no exponent). */
static bool in_int(struct in *r, int64_t *v)
{
	bool neg;
	uint64_t acc = 0, lim;

	in_ws(r);
	neg = r->p < r->end && *r->p == '-';
	if (neg)
		r->p++;
	if (r->p >= r->end || *r->p < '0' || *r->p > '9')
		return false;
	if (*r->p == '0' && r->p + 1 < r->end && r->p[1] >= '0' &&
	    r->p[1] <= '9')
		return false;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
		unsigned d = *r->p++ - '0';
		if (acc > (lim - d) / 10)
			return false;
		acc = acc * 10 + d;
	}
	if (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E'))
		return false;
	*v = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN
						   : -(int64_t)acc)
		 : (int64_t)acc;
	return true;
}

static int hex4(const uint8_t *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		int c = p[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* A \u escape (the "\u" already read), surrogate pairs joined. */
static bool in_uescape(struct in *r, uint32_t *cp)
{
	int hi, lo;

	if (r->end - r->p < 4 || (hi = hex4(r->p)) < 0)
		return false;
	r->p += 4;
	if (hi >= 0xDC00 && hi <= 0xDFFF)
		return false;
	if (hi < 0xD800 || hi > 0xDBFF) {
		*cp = (uint32_t)hi;
		return true;
	}
	if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' ||
	    (lo = hex4(r->p + 2)) < 0xDC00 || lo > 0xDFFF)
		return false;
	r->p += 6;
	*cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) +
	      ((uint32_t)lo - 0xDC00);
	return true;
}

static size_t utf8_put(uint8_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xC0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xE0 | cp >> 12);
		o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (uint8_t)(0xF0 | cp >> 18);
	o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

/*
 * A string of at most max bytes (once unescaped) into out[max + 1],
 * NUL-terminated.  Valid UTF-8 only; no NUL inside (\u0000 is refused).
 */
static bool in_str(struct in *r, char *out, size_t max, size_t *len)
{
	uint8_t *o = (uint8_t *)out;
	size_t n = 0;

	if (!in_char(r, '"'))
		return false;
	while (r->p < r->end) {
		const uint8_t *run = r->p;
		uint8_t c, enc[4];
		size_t k;
		uint32_t cp;

		/* The common case: plain ASCII, copied as one run. */
		while (run < r->end && *run >= 0x20 && *run < 0x80 &&
		       *run != '"' && *run != '\\')
			run++;
		k = (size_t)(run - r->p);
		if (k > max - n)
			return false;
		memcpy(o + n, r->p, k);
		n += k;
		r->p = run;
		if (r->p == r->end)
			break;
		c = *r->p;
		if (c == '"') {
			r->p++;
			out[n] = '\0';
			*len = n;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c != '\\') {
			k = utf8_seq(r->p, (size_t)(r->end - r->p));
			if (k == 0 || k > max - n)
				return false;
			memcpy(o + n, r->p, k);
			r->p += k;
			n += k;
			continue;
		}
		if (r->end - r->p < 2)
			return false;
		r->p += 2;
		switch (r->p[-1]) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (!in_uescape(r, &cp) || cp == 0)
				return false;
			break;
		default:
			return false;
		}
		k = utf8_put(enc, cp);
		if (k > max - n)
			return false;
		memcpy(o + n, enc, k);
		n += k;
	}
	return false;
}

/* The member names this format knows, sorted (ENTRY, ref, "self"). */
enum field {
	F_ATIME, F_BNAME, F_BTARGET, F_CID, F_CTIME, F_DEPTH, F_GID, F_INO,
	F_KEY, F_MODE, F_MTIME, F_NAME, F_SIZE, F_TARGET, F_UID, F_COUNT
};
static const char *const field_names[F_COUNT] = {
	"atime", "bname", "btarget", "cid", "ctime", "depth", "gid", "ino",
	"key", "mode", "mtime", "name", "size", "target", "uid",
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

/* Index of key in a sorted table of n names, or -1. */
static int lookup(const char *const *names, int n, const char *key)
{
	int lo = 0, hi = n - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2, c = strcmp(key, names[mid]);
		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}

/* A base64url string decoding to 1 … max bytes (exactly max if exact). */
static bool in_b64(struct in *r, struct fields *x, uint8_t *out, size_t max,
		   bool exact, size_t *len)
{
	size_t n;

	if (!in_str(r, x->b64, sizeof(x->b64) - 1, &n))
		return false;
	*len = 0;
	return sodium_base642bin(out, max, x->b64, n, NULL, len, NULL,
				 B64_VARIANT) == 0 &&
	       *len > 0 && (!exact || *len == max);
}

static bool in_field(struct in *r, struct fields *x, int f)
{
	char text[CID_TEXT_MAX];
	size_t n;

	switch (f) {
	case F_NAME:
		return in_str(r, x->name, TREE_NAME_MAX, &x->name_len);
	case F_BNAME:
		return in_b64(r, x, (uint8_t *)x->name, TREE_NAME_MAX, false,
			      &x->name_len) &&
		       (x->name[x->name_len] = '\0', true);
	case F_TARGET:
		return in_str(r, x->target, TREE_SYMLINK_MAX, &x->target_len);
	case F_BTARGET:
		return in_b64(r, x, (uint8_t *)x->target, TREE_SYMLINK_MAX,
			      false, &x->target_len) &&
		       (x->target[x->target_len] = '\0', true);
	case F_CID:
		return in_str(r, text, sizeof(text) - 1, &n) &&
		       cid_parse(&x->cid, text, n) == 0 &&
		       x->cid.len == CID_RAW_BYTES &&
		       cid_is_raw_sha256(&x->cid);
	case F_KEY:
		return in_b64(r, x, x->key, IPMD_KEY_BYTES, true, &n);
	default:
		return in_int(r, &x->num[f]);
	}
}

/* An object of known members, each at most once. */
static bool in_fields(struct in *r, struct fields *x)
{
	char key[KEY_NAME_MAX + 1];
	size_t n;

	x->seen = 0;
	if (!in_char(r, '{'))
		return false;
	if (in_char(r, '}'))
		return true;
	do {
		int f;
		if (!in_str(r, key, KEY_NAME_MAX, &n) || !in_char(r, ':') ||
		    (f = lookup(field_names, F_COUNT, key)) < 0 ||
		    (x->seen & BIT(f)) ||
		    !in_field(r, x, f))
			return false;
		x->seen |= BIT(f);
	} while (in_char(r, ','));
	return in_char(r, '}');
}

/* ================= loading ================= */

struct pending {
	struct inode *dir;
	struct chunk_ref ref;
	uint32_t depth;
};

struct loader {
	struct fs_tree *t;
	struct obj_store *st;
	uint64_t next_ino;
	uint8_t *sealed, *plain; /* one block each */
	struct fields *x;        /* the entry being read */
	struct chunk_ref *refs;  /* a sharded node's refs while it loads */
	size_t refs_cap;
	struct pending *stack;
	size_t n, cap;
};

static int push(struct loader *l, struct inode *dir,
		const struct chunk_ref *ref, uint32_t depth)
{
	if (depth > MANIFEST_DEPTH_MAX)
		return -EBADMSG;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct pending *p = realloc(l->stack, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->stack = p;
		l->cap = cap;
	}
	l->stack[l->n].dir = dir;
	l->stack[l->n].ref = *ref;
	l->stack[l->n++].depth = depth;
	return 0;
}

/* The attributes every ENTRY and "self" have, checked. */
static bool attrs_of(const struct fields *x, struct tree_load_attrs *a)
{
	const int64_t *v = x->num;

	if (v[F_INO] < 1 || v[F_MODE] < 0 || v[F_MODE] > UINT32_MAX ||
	    v[F_UID] < 0 || v[F_UID] > UINT32_MAX || v[F_GID] < 0 ||
	    v[F_GID] > UINT32_MAX || v[F_SIZE] < 0)
		return false;
	memset(a, 0, sizeof(*a));
	a->mode = (uint32_t)v[F_MODE];
	a->uid = (uint32_t)v[F_UID];
	a->gid = (uint32_t)v[F_GID];
	a->size = (uint64_t)v[F_SIZE];
	a->mtime = ns_to_ts(v[F_MTIME]);
	a->ctime = ns_to_ts(v[F_CTIME]);
	a->atime = ns_to_ts(v[F_ATIME]);
	if (a->mode & ~(uint32_t)(S_IFMT | PERM_BITS))
		return false;
	return S_ISREG(a->mode) || S_ISDIR(a->mode) || S_ISLNK(a->mode);
}

/* Where the entries of one block go, and what they must obey. */
struct scope {
	struct pending *at; /* the directory being filled */
	uint32_t shard, of;
	char prev[TREE_NAME_MAX + 1]; /* entries must ascend strictly */
	size_t prev_len;
	bool first;
};

/* One ENTRY, already parsed into l->x: check it and put it in the tree. */
static int load_entry(struct loader *l, struct scope *sc)
{
	struct fields *x = l->x;
	unsigned want = ATTR_FIELDS;
	struct tree_load_attrs a;
	struct inode *in;
	struct chunk_ref ref;
	int rc;

	if (!attrs_of(x, &a) || (uint64_t)x->num[F_INO] >= l->next_ino)
		return -EBADMSG;
	want |= x->seen & BIT(F_BNAME) ? BIT(F_BNAME) : BIT(F_NAME);
	if (memchr(x->name, '\0', x->name_len) ||
	    tree_check_name(x->name) != 0)
		return -EBADMSG;
	if (!sc->first &&
	    name_cmp(sc->prev, sc->prev_len, x->name, x->name_len) >= 0)
		return -EBADMSG;
	if (sc->of > 1 &&
	    tree_shard_of(tree_name_hash(x->name, x->name_len), sc->of) !=
		    sc->shard)
		return -EBADMSG;
	memcpy(sc->prev, x->name, x->name_len);
	sc->prev_len = x->name_len;
	sc->first = false;

	if (S_ISREG(a.mode) && a.size > 0) {
		want |= REF_FIELDS | BIT(F_DEPTH);
		if (x->num[F_DEPTH] < 0 || x->num[F_DEPTH] > OBJ_DEPTH_MAX)
			return -EBADMSG;
		a.content.cid = x->cid;
		memcpy(a.content.key, x->key, IPMD_KEY_BYTES);
		a.content.size = a.size;
		a.content.depth = (uint8_t)x->num[F_DEPTH];
	} else if (S_ISDIR(a.mode)) {
		want |= REF_FIELDS;
		memset(&ref, 0, sizeof(ref));
		ref.cid = x->cid;
		memcpy(ref.key, x->key, IPMD_KEY_BYTES);
	} else if (S_ISLNK(a.mode)) {
		want |= x->seen & BIT(F_BTARGET) ? BIT(F_BTARGET)
						 : BIT(F_TARGET);
		if (x->target_len == 0 || a.size != x->target_len ||
		    memchr(x->target, '\0', x->target_len))
			return -EBADMSG;
		a.target = x->target;
	}
	if (x->seen != want)
		return -EBADMSG;
	/* An existing ino is a hard link: tree_load_entry refuses it for a
	 * directory (a cycle or a copy) or another type. */
	rc = tree_load_entry(l->t, sc->at->dir, x->name,
			     (uint64_t)x->num[F_INO], &a, &in);
	if (rc == -ENOMEM)
		return rc;
	if (rc != 0)
		return -EBADMSG;
	return S_ISDIR(a.mode) ? push(l, in, &ref, sc->at->depth + 1) : 0;
}

static int in_entries(struct loader *l, struct in *r, struct scope *sc)
{
	int rc;

	if (!in_char(r, '['))
		return -EBADMSG;
	if (in_char(r, ']'))
		return 0;
	do {
		if (!in_fields(r, l->x))
			return -EBADMSG;
		rc = load_entry(l, sc);
		if (rc != 0)
			return rc;
	} while (in_char(r, ','));
	return in_char(r, ']') ? 0 : -EBADMSG;
}

static int in_refs(struct loader *l, struct in *r, size_t *count)
{
	*count = 0;
	if (!in_char(r, '['))
		return -EBADMSG;
	if (in_char(r, ']'))
		return 0;
	do {
		struct chunk_ref *ref;
		if (*count == MANIFEST_SHARDS_MAX)
			return -EBADMSG;
		if (*count == l->refs_cap) {
			size_t cap = l->refs_cap ? l->refs_cap * 2 : 16;
			ref = realloc(l->refs, cap * sizeof(*ref));
			if (!ref)
				return -ENOMEM;
			l->refs = ref;
			l->refs_cap = cap;
		}
		ref = &l->refs[(*count)++];
		memset(ref, 0, sizeof(*ref));
		if (in_lit(r, "null"))
			continue;
		if (!in_fields(r, l->x) || l->x->seen != REF_FIELDS)
			return -EBADMSG;
		ref->cid = l->x->cid;
		memcpy(ref->key, l->x->key, IPMD_KEY_BYTES);
	} while (in_char(r, ','));
	return in_char(r, ']') ? 0 : -EBADMSG;
}

/* The root's own attributes, from its node's "self". */
static int in_self(struct loader *l, struct in *r)
{
	struct tree_load_attrs a;
	struct inode *root = l->t->root;

	if (!in_fields(r, l->x) || l->x->seen != ATTR_FIELDS ||
	    !attrs_of(l->x, &a) || l->x->num[F_INO] != TREE_ROOT_INO ||
	    !S_ISDIR(a.mode))
		return -EBADMSG;
	root->mode = a.mode;
	root->uid = a.uid;
	root->gid = a.gid;
	root->size = a.size;
	root->atime = a.atime;
	root->mtime = a.mtime;
	root->ctime = a.ctime;
	return 0;
}

/* Members of a node or shard block. */
enum block_member { M_ENTRIES, M_OF, M_REFS, M_SELF, M_SHARD, M_SHARDS,
		    M_V, M_COUNT };
static const char *const member_names[M_COUNT] = {
	"entries", "of", "refs", "self", "shard", "shards", "v",
};

/* What one block said about itself. */
struct block_info {
	unsigned seen;
	int64_t of, shard, shards, v;
	size_t nrefs;
};

/*
 * Parse one node or shard block, loading its entries into sc->at as they
 * come (a failure anywhere fails the whole load, so nothing half-loaded
 * survives).
 */
static int in_block(struct loader *l, struct in *r, struct scope *sc,
		    struct block_info *b)
{
	char key[KEY_NAME_MAX + 1];
	size_t n;
	int rc = 0;

	memset(b, 0, sizeof(*b));
	if (!in_char(r, '{'))
		return -EBADMSG;
	do {
		int m;
		if (!in_str(r, key, KEY_NAME_MAX, &n) || !in_char(r, ':'))
			return -EBADMSG;
		m = lookup(member_names, M_COUNT, key);
		if (m < 0 || (b->seen & BIT(m)))
			return -EBADMSG;
		b->seen |= BIT(m);
		switch (m) {
		case M_ENTRIES:
			rc = in_entries(l, r, sc);
			break;
		case M_REFS:
			rc = in_refs(l, r, &b->nrefs);
			break;
		case M_SELF:
			rc = sc->at->dir == l->t->root ? in_self(l, r)
						       : -EBADMSG;
			break;
		default: {
			int64_t *v = m == M_OF	    ? &b->of
				     : m == M_SHARD ? &b->shard
				     : m == M_SHARDS ? &b->shards
						     : &b->v;
			rc = in_int(r, v) ? 0 : -EBADMSG;
		}
		}
		if (rc != 0)
			return rc;
	} while (in_char(r, ','));
	if (!in_char(r, '}'))
		return -EBADMSG;
	in_ws(r);
	if (r->p != r->end || !(b->seen & BIT(M_V)) || b->v != MANIFEST_VERSION)
		return -EBADMSG;
	return 0;
}

/* Fetch and open one directory block into l->plain. */
static int fetch(struct loader *l, struct chunk_ref *ref, struct in *r)
{
	size_t len = 0, plen = 0;
	int rc;

	rc = bs_get(l->st->bs, &ref->cid, l->sealed, BLOCK_MAX_BYTES, &len);
	if (rc == -ENOBUFS)
		return -EBADMSG;
	if (rc != 0)
		return rc;
	if (seal_open(l->plain, &plen, l->sealed, len, BLOCK_DIRECTORY,
		      ref->key) != 0)
		return -EBADMSG;
	ref->size = plen;
	r->p = l->plain;
	r->end = l->plain + plen;
	return 0;
}

static int load_shards(struct loader *l, struct pending *p,
		       struct chunk_ref *refs, uint32_t of)
{
	for (uint32_t i = 0; i < of; i++) {
		struct scope sc = {
			.at = p, .shard = i, .of = of, .first = true};
		struct block_info b;
		struct in r;
		int rc;

		if (refs[i].cid.len == 0)
			continue;
		rc = fetch(l, &refs[i], &r);
		if (rc == 0)
			rc = in_block(l, &r, &sc, &b);
		sodium_memzero(l->plain, refs[i].size);
		if (rc != 0)
			return rc;
		if (b.seen != (BIT(M_ENTRIES) | BIT(M_OF) | BIT(M_SHARD) |
			       BIT(M_V)) ||
		    b.of != of || b.shard != i)
			return -EBADMSG;
	}
	return 0;
}

static int load_dir(struct loader *l, struct pending *p)
{
	struct dir_shards *sh = &p->dir->dir->shards;
	struct scope sc = {.at = p, .shard = 0, .of = 1, .first = true};
	unsigned self = p->dir == l->t->root ? BIT(M_SELF) : 0;
	struct chunk_ref *refs = NULL;
	uint8_t *dirty = NULL;
	struct block_info b;
	uint32_t of = 1;
	struct in r;
	int rc;

	rc = fetch(l, &p->ref, &r);
	if (rc != 0)
		return rc;
	rc = in_block(l, &r, &sc, &b);
	sodium_memzero(l->plain, p->ref.size);
	if (rc != 0)
		return rc;
	if (b.seen == (BIT(M_REFS) | BIT(M_SHARDS) | BIT(M_V) | self)) {
		if (b.shards < 2 || b.shards > MANIFEST_SHARDS_MAX ||
		    (b.shards & (b.shards - 1)) != 0 ||
		    b.nrefs != (size_t)b.shards)
			return -EBADMSG;
		of = (uint32_t)b.shards;
	} else if (b.seen != (BIT(M_ENTRIES) | BIT(M_V) | self)) {
		return -EBADMSG;
	}
	dirty = calloc(of, sizeof(*dirty));
	refs = calloc(of, sizeof(*refs));
	if (!dirty || !refs) {
		rc = -ENOMEM;
		goto out;
	}
	if (of == 1) {
		refs[0] = p->ref;
	} else {
		/* l->refs is reused by the shards' own parsing: copy first. */
		memcpy(refs, l->refs, of * sizeof(*refs));
		rc = load_shards(l, p, refs, of);
		if (rc != 0)
			goto out;
	}
	/* The next seal re-seals only what changes from here. */
	free(sh->dirty);
	shard_refs_free(sh);
	sh->dirty = dirty;
	sh->refs = refs;
	sh->count = of;
	sh->all_dirty = false;
	sh->node = p->ref;
	sh->node_valid = true;
	dirty = NULL;
	refs = NULL;
out:
	free(dirty);
	free(refs);
	return rc;
}

int manifest_load(struct obj_store *st, const struct chunk_ref *root,
		  uint64_t next_ino, struct fs_tree **out)
{
	const struct timespec epoch = {0, 0};
	struct loader l = {.st = st, .next_ino = next_ino};
	int rc;

	if (!st || !st->bs || !root || !out)
		return -EINVAL;
	*out = NULL;
	if (next_ino <= TREE_ROOT_INO || next_ino == UINT64_MAX)
		return -EBADMSG;
	rc = tree_new(&l.t, 0, 0, &epoch);
	if (rc != 0)
		return rc;
	l.sealed = malloc(BLOCK_MAX_BYTES);
	l.plain = malloc(BLOCK_MAX_BYTES);
	l.x = malloc(sizeof(*l.x));
	rc = l.sealed && l.plain && l.x ? push(&l, l.t->root, root, 0)
					: -ENOMEM;
	while (rc == 0 && l.n > 0) {
		struct pending p = l.stack[--l.n];
		rc = load_dir(&l, &p);
	}
	free(l.stack);
	free(l.refs);
	free(l.sealed);
	free(l.plain);
	if (l.x) {
		sodium_memzero(l.x, sizeof(*l.x));
		free(l.x);
	}
	if (rc != 0) {
		tree_free(l.t);
		return rc;
	}
	tree_clear_dirty(l.t);
	l.t->next_ino = next_ino;
	*out = l.t;
	return 0;
}

/* ================= statistics ================= */

static bool is_name(const struct dirent *e, const char *s)
{
	size_t n = strlen(s);
	return e->name_len == n && memcmp(e->name, s, n) == 0;
}

/* Only directories holding directories are walked: cur/ and new/ are
 * counted by their entry counts, never scanned. */
static void count_dir(const struct fs_tree *t, const struct inode *dir,
		      uint32_t depth, uint64_t *messages, uint64_t *folders)
{
	const struct dir *d = dir->dir;

	if (depth > MANIFEST_DEPTH_MAX)
		return;
	for (uint32_t b = 0; b < d->nbuckets; b++) {
		for (const struct dirent *e = d->buckets[b]; e;
		     e = e->hash_next) {
			const struct inode *in = e->inode;
			if (!S_ISDIR(in->mode))
				continue;
			if (is_name(e, "cur") || is_name(e, "new"))
				*messages += in->dir->count - in->dir->subdirs;
			if (dir == t->root && e->name[0] == '.')
				(*folders)++;
			if (in->dir->subdirs > 0)
				count_dir(t, in, depth + 1, messages, folders);
		}
	}
}

void manifest_count(struct fs_tree *t, uint64_t *messages, uint64_t *folders)
{
	uint64_t m = 0, f = 0;

	if (t && t->root)
		count_dir(t, t->root, 0, &m, &f);
	if (messages)
		*messages = m;
	if (folders)
		*folders = f;
}
