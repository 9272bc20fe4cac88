/* fs/model/manifest_load.c — see manifest.h: a tree built from a committed
 * root node, every node and shard fetched, opened and checked (refused
 * whole on any violation, never half-loaded).  manifest_internal.h says who
 * owns what.
 */
#include "fs/model/manifest_internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/seal.h"
#include "util/array.h"
#include "util/wipe.h"

#define PERM_BITS 07777

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
	struct pending *p =
		array_grow_wiped(l->stack, l->n, &l->cap, sizeof(*p), 64);
	if (!p)
		return -ENOMEM;
	l->stack = p;
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
	return tree_type_ok(a->mode);
}

/* Where the entries of one block go, and what they must obey. */
struct scope {
	struct pending *at; /* the directory being filled */
	uint32_t shard, of;
	char prev[TREE_NAME_MAX + 1]; /* entries must ascend strictly */
	size_t prev_len;
	bool first;
	bool special; /* an entry was a special file's: the block is v2 */
};

/* A special file's members (manifest.h): size 0, and "rdev" exactly on a
 * device node.  The fields it adds to *want, or false. */
static bool special_of(const struct fields *x, struct tree_load_attrs *a,
		       unsigned *want)
{
	if (a->size != 0)
		return false;
	if (!tree_has_rdev(a->mode))
		return true;
	if (x->num[F_RDEV] < 0)
		return false;
	a->rdev = (uint64_t)x->num[F_RDEV];
	*want |= BIT(F_RDEV);
	return true;
}

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
	} else if (tree_is_special(a.mode)) {
		if (!special_of(x, &a, &want))
			return -EBADMSG;
		sc->special = true;
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

	if (!mf_in_char(r, '['))
		return -EBADMSG;
	if (mf_in_char(r, ']'))
		return 0;
	do {
		if (!mf_in_fields(r, l->x))
			return -EBADMSG;
		rc = load_entry(l, sc);
		if (rc != 0)
			return rc;
	} while (mf_in_char(r, ','));
	return mf_in_char(r, ']') ? 0 : -EBADMSG;
}

static int in_refs(struct loader *l, struct in *r, size_t *count)
{
	*count = 0;
	if (!mf_in_char(r, '['))
		return -EBADMSG;
	if (mf_in_char(r, ']'))
		return 0;
	do {
		struct chunk_ref *ref;
		if (*count == MANIFEST_SHARDS_MAX)
			return -EBADMSG;
		ref = array_grow_wiped(l->refs, *count, &l->refs_cap,
				       sizeof(*ref), 16);
		if (!ref)
			return -ENOMEM;
		l->refs = ref;
		ref = &l->refs[(*count)++];
		memset(ref, 0, sizeof(*ref));
		if (mf_in_lit(r, "null"))
			continue;
		if (!mf_in_fields(r, l->x) || l->x->seen != REF_FIELDS)
			return -EBADMSG;
		ref->cid = l->x->cid;
		memcpy(ref->key, l->x->key, IPMD_KEY_BYTES);
	} while (mf_in_char(r, ','));
	return mf_in_char(r, ']') ? 0 : -EBADMSG;
}

/* The root's own attributes, from its node's "self". */
static int in_self(struct loader *l, struct in *r)
{
	struct tree_load_attrs a;

	if (!mf_in_fields(r, l->x) || l->x->seen != ATTR_FIELDS ||
	    !attrs_of(l->x, &a) || l->x->num[F_INO] != TREE_ROOT_INO ||
	    tree_load_root(l->t, &a) != 0)
		return -EBADMSG;
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
	if (!mf_in_char(r, '{'))
		return -EBADMSG;
	do {
		int m;
		if (!mf_in_str(r, key, KEY_NAME_MAX, &n) || !mf_in_char(r, ':'))
			return -EBADMSG;
		m = mf_lookup(member_names, M_COUNT, key);
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
			rc = mf_in_int(r, v) ? 0 : -EBADMSG;
		}
		}
		if (rc != 0)
			return rc;
	} while (mf_in_char(r, ','));
	if (!mf_in_char(r, '}'))
		return -EBADMSG;
	mf_in_ws(r);
	/* One encoding per value: version 2 exactly when an entry is a
	 * special file's (manifest.h, "Versions"). */
	if (r->p != r->end || !(b->seen & BIT(M_V)) ||
	    b->v != (sc->special ? MANIFEST_VERSION_SPECIAL : MANIFEST_VERSION))
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
	rc = mf_shards_alloc(of, &dirty, &refs);
	if (rc != 0)
		return rc;
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
	mf_shards_take(sh, dirty, refs, of);
	sh->all_dirty = false;
	sh->node = p->ref;
	sh->node_valid = true;
	dirty = NULL;
	refs = NULL;
out:
	free(dirty);
	/* on failure: they hold this directory's node keys */
	wipe_free(refs, of * sizeof(*refs));
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
	/* Both hold node keys (pending dirs' refs, a node's shard refs). */
	wipe_free(l.stack, l.cap * sizeof(*l.stack));
	wipe_free(l.refs, l.refs_cap * sizeof(*l.refs));
	free(l.sealed);
	free(l.plain);
	wipe_free(l.x, sizeof(*l.x));
	if (rc != 0) {
		tree_free(l.t);
		return rc;
	}
	tree_clear_dirty(l.t);
	l.t->next_ino = next_ino;
	*out = l.t;
	return 0;
}
