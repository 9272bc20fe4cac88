/* fs/model/merge.c — the merge rules (merge.h): three scanned trees → the
 * wanted state, one struct mg_want per path.  See merge_internal.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/maildir.h"
#include "fs/model/merge_internal.h"

/* How the three trees' entries are matched: messages by unique name,
 * other non-directories by path, directories by path. */
enum cls { CLS_UNIQUE, CLS_PATH, CLS_DIR };

struct item {
	uint8_t cls, side;
	const char *key;
	uint32_t klen;
	struct mg_ent *e;
};

struct ctx {
	struct mg_input *in;
	struct mg_wants *w;
	char *buf; /* a path being built: MERGE_PATH_MAX + 1 bytes */
};

/* qsort, but not on an empty (maybe NULL) array: qsort's base must not
 * be NULL even for no elements. */
static void sort(void *base, size_t n, size_t size,
		 int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static int key_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c;
	return (al > bl) - (al < bl);
}

static int item_cmp(const void *x, const void *y)
{
	const struct item *a = x, *b = y;
	int c;

	if (a->cls != b->cls)
		return a->cls < b->cls ? -1 : 1;
	if ((c = key_cmp(a->key, a->klen, b->key, b->klen)) != 0)
		return c;
	return (a->side > b->side) - (a->side < b->side);
}

static bool same_key(const struct item *a, const struct item *b)
{
	return a->cls == b->cls &&
	       key_cmp(a->key, a->klen, b->key, b->klen) == 0;
}

static void set_key(struct item *it)
{
	const struct mg_ent *e = it->e;

	if (e->kind == MG_DIR) {
		it->cls = CLS_DIR;
	} else if (e->kind == MG_MSG && !e->by_path) {
		it->cls = CLS_UNIQUE;
		it->key = e->path + e->uoff;
		it->klen = e->ulen;
		return;
	} else {
		it->cls = CLS_PATH;
	}
	it->key = e->path;
	it->klen = e->plen;
}

/* A unique name twice in one tree is keyed by path, in every tree.
 * True if any was. */
static bool mark_duplicates(struct item *it, size_t n)
{
	bool any = false;

	for (size_t i = 0, j; i < n; i = j) {
		bool dup = false;
		for (j = i + 1; j < n && same_key(&it[i], &it[j]); j++)
			dup |= it[j].side == it[j - 1].side;
		if (it[i].cls != CLS_UNIQUE || !dup)
			continue;
		for (size_t x = i; x < j; x++) {
			it[x].e->by_path = true;
			set_key(&it[x]);
		}
		any = true;
	}
	return any;
}

/* Every entry of the three trees, sorted by class, key, side. */
static int build_items(struct mg_input *in, struct item **out, size_t *n)
{
	size_t total = 0, k = 0;
	struct item *it;

	for (int s = 0; s < MG_SIDES; s++)
		total += in->s[s].n;
	*out = NULL;
	*n = 0;
	if (total == 0)
		return 0;
	it = calloc(total, sizeof(*it));
	if (!it)
		return -ENOMEM;
	for (int s = 0; s < MG_SIDES; s++) {
		for (size_t i = 0; i < in->s[s].n; i++, k++) {
			it[k].side = (uint8_t)s;
			it[k].e = &in->s[s].e[i];
			set_key(&it[k]);
		}
	}
	sort(it, total, sizeof(*it), item_cmp);
	if (mark_duplicates(it, total))
		sort(it, total, sizeof(*it), item_cmp);
	*out = it;
	*n = total;
	return 0;
}

/* ---- wants ---- */

static void shape(struct mg_want *w)
{
	const char *slash = memrchr(w->path, '/', w->plen);

	w->dlen = slash ? (uint32_t)(slash - w->path) : 0;
	w->depth = 0;
	for (uint32_t i = 0; i < w->plen; i++)
		w->depth += w->path[i] == '/';
}

/* A new want with a copy of path[0..len). */
static int push(struct mg_want **arr, size_t *n, size_t *cap,
		const char *path, size_t len, struct mg_want **out)
{
	struct mg_want *w;

	if (mg_grow(arr, *n, cap, sizeof(**arr)))
		return -ENOMEM;
	w = &(*arr)[*n];
	memset(w, 0, sizeof(*w));
	w->path = strndup(path, len);
	if (!w->path)
		return -ENOMEM;
	w->plen = (uint32_t)len;
	shape(w);
	(*n)++;
	*out = w;
	return 0;
}

static int push_file(struct ctx *c, const char *path, size_t len,
		     struct mg_want **out)
{
	return push(&c->w->w, &c->w->n, &c->w->cap, path, len, out);
}

static int push_dir(struct ctx *c, const char *path, size_t len,
		    struct mg_want **out)
{
	return push(&c->w->d, &c->w->nd, &c->w->capd, path, len, out);
}

/* ---- three-way ---- */

enum pick { TAKE_LOCAL, TAKE_REMOTE, BOTH_CHANGED };

/* Which side's value: the one that changed it; without a base, equal
 * values are no change and different ones both changed. */
static enum pick pick3(bool base, bool l_eq_b, bool r_eq_b, bool l_eq_r)
{
	if (l_eq_r || (base && r_eq_b))
		return TAKE_LOCAL;
	if (base && l_eq_b)
		return TAKE_REMOTE;
	return BOTH_CHANGED;
}

/* Both changed: tie decides, never "local" (messages are commutative). */
static uint64_t merge_u64(const uint64_t *b, uint64_t l, uint64_t r,
			  bool tie_larger)
{
	switch (pick3(b, b && l == *b, b && r == *b, l == r)) {
	case TAKE_LOCAL:
		return l;
	case TAKE_REMOTE:
		return r;
	default:
		return (l > r) == tie_larger ? l : r;
	}
}

static int ts_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	return (a->tv_nsec > b->tv_nsec) - (a->tv_nsec < b->tv_nsec);
}

static struct timespec merge_ts(const struct timespec *b,
				const struct timespec *l,
				const struct timespec *r)
{
	switch (pick3(b, b && !ts_cmp(l, b), b && !ts_cmp(r, b),
		      !ts_cmp(l, r))) {
	case TAKE_LOCAL:
		return *l;
	case TAKE_REMOTE:
		return *r;
	default:
		return ts_cmp(l, r) >= 0 ? *l : *r;
	}
}

/* Both changed: the larger content, then the smaller CID. */
static struct obj_ref merge_content(const struct obj_ref *b,
				    const struct obj_ref *l,
				    const struct obj_ref *r)
{
	switch (pick3(b, b && mg_content_equal(l, b),
		      b && mg_content_equal(r, b), mg_content_equal(l, r))) {
	case TAKE_LOCAL:
		return *l;
	case TAKE_REMOTE:
		return *r;
	default:
		if (l->size != r->size)
			return l->size > r->size ? *l : *r;
		return key_cmp((const char *)l->cid.bytes, l->cid.len,
			       (const char *)r->cid.bytes, r->cid.len) <= 0
			       ? *l
			       : *r;
	}
}

/* Attributes of one inode both sides kept, field by field. */
static void merge_attrs(const struct mg_attrs *b, const struct mg_attrs *l,
			const struct mg_attrs *r, struct mg_attrs *m)
{
	uint64_t bm = b ? b->mode : 0, bu = b ? b->uid : 0,
		 bg = b ? b->gid : 0;

	m->mode = (l->mode & S_IFMT) |
		  (uint32_t)merge_u64(b ? &bm : NULL, l->mode & 07777,
				      r->mode & 07777, true);
	m->uid = (uint32_t)merge_u64(b ? &bu : NULL, l->uid, r->uid, true);
	m->gid = (uint32_t)merge_u64(b ? &bg : NULL, l->gid, r->gid, true);
	m->mtime = merge_ts(b ? &b->mtime : NULL, &l->mtime, &r->mtime);
	m->content = merge_content(b ? &b->content : NULL, &l->content,
				   &r->content);
}

/* ---- messages ---- */

struct mstate {
	const char *folder;
	uint32_t flen;
	uint64_t sub, info, ino;
	uint64_t flags[4];
	const struct mg_ent *src; /* the entry whose inode it is */
	struct mg_attrs a;
};

static void mstate_of(const struct mg_ent *e, struct mstate *m)
{
	m->folder = e->path;
	m->flen = e->flen;
	m->sub = e->sub;
	m->info = e->info;
	m->ino = e->in->ino;
	memcpy(m->flags, e->flags, sizeof(m->flags));
	m->src = e;
	mg_attrs_of(e->in, &m->a);
}

static bool same_folder(const struct mstate *x, const struct mstate *y)
{
	return x->flen == y->flen && !memcmp(x->folder, y->folder, x->flen);
}

static void merge_folder(const struct mstate *b, const struct mstate *l,
			 const struct mstate *r, struct mstate *m)
{
	const struct mstate *f;

	switch (pick3(b, b && same_folder(l, b), b && same_folder(r, b),
		      same_folder(l, r))) {
	case TAKE_LOCAL:
		f = l;
		break;
	case TAKE_REMOTE:
		f = r;
		break;
	default: /* the smaller path */
		f = key_cmp(l->folder, l->flen, r->folder, r->flen) <= 0 ? l
									 : r;
	}
	m->folder = f->folder;
	m->flen = f->flen;
}

/* Both sides have the message: every part three-way. */
static void merge_message(const struct mstate *b, const struct mstate *l,
			  const struct mstate *r, struct mstate *m)
{
	merge_folder(b, l, r, m);
	/* MAILDIR_CUR < MAILDIR_NEW: the smaller is cur. */
	m->sub = merge_u64(b ? &b->sub : NULL, l->sub, r->sub, false);
	m->info = merge_u64(b ? &b->info : NULL, l->info, r->info, true);
	for (int i = 0; i < 4; i++) {
		/* A bit local changed is local's, else remote's; without a
		 * base, the union. */
		uint64_t changed = b ? l->flags[i] ^ b->flags[i] : ~UINT64_C(0);
		m->flags[i] = b ? (l->flags[i] & changed) |
					  (r->flags[i] & ~changed)
				: l->flags[i] | r->flags[i];
		if (m->flags[i])
			m->info = 1;
	}
	m->ino = merge_u64(b ? &b->ino : NULL, l->ino, r->ino, false);
	if (l->ino == r->ino) {
		m->src = l->src;
		merge_attrs(b ? &b->a : NULL, &l->a, &r->a, &m->a);
	} else {
		/* One side has another inode under the name: its state. */
		const struct mstate *o = m->ino == l->ino ? l : r;
		m->src = o->src;
		m->a = o->a;
	}
}

static bool same_info(const struct mstate *m, const struct mg_ent *e)
{
	return e && m->sub == e->sub && m->info == e->info &&
	       memcmp(m->flags, e->flags, sizeof(m->flags)) == 0;
}

/* The merged name into c->buf: local's or remote's when theirs says what
 * the merge says, else unique ":2," flags.  Its length, or 0. */
static size_t message_name(struct ctx *c, const struct mstate *m,
			   const struct mg_ent *l, const struct mg_ent *r)
{
	const struct mg_ent *take = same_info(m, l)   ? l
				    : same_info(m, r) ? r
						      : NULL;
	const struct mg_ent *u = l ? l : r;
	size_t n = u->ulen;

	if (!take) {
		memcpy(c->buf, u->path + u->uoff, n);
		memcpy(c->buf + n, ":2,", 3);
		n += 3;
		for (unsigned b = 1; b < 256 && n <= TREE_NAME_MAX; b++)
			if (m->flags[b >> 6] >> (b & 63) & 1)
				c->buf[n++] = (char)b;
		if (n <= TREE_NAME_MAX)
			return n;
		take = l ? l : r; /* too long to spell: keep a side's */
	}
	n = strlen(mg_name(take));
	memcpy(c->buf, mg_name(take), n);
	return n;
}

static int decide_message(struct ctx *c, struct mg_ent *const e[MG_SIDES])
{
	const struct mg_ent *b = e[MG_BASE], *l = e[MG_LOCAL],
			    *r = e[MG_REMOTE];
	struct mstate ms[MG_SIDES], m;
	const char *sub;
	struct mg_want *w;
	size_t nlen, len, at;
	int err;

	if (!l && !r)
		return 0;
	if (b && (!l || !r)) { /* deleted on one side: deleted */
		c->w->stats.removed += l != NULL;
		return 0;
	}
	for (int s = 0; s < MG_SIDES; s++)
		if (e[s])
			mstate_of(e[s], &ms[s]);
	if (l && r)
		merge_message(b ? &ms[MG_BASE] : NULL, &ms[MG_LOCAL],
			      &ms[MG_REMOTE], &m);
	else
		m = ms[l ? MG_LOCAL : MG_REMOTE]; /* added on one side */
	nlen = message_name(c, &m, l, r);
	sub = maildir_subdirs[m.sub];
	len = m.flen + (m.flen ? 1 : 0) + strlen(sub) + 1 + nlen;
	if (len > MERGE_PATH_MAX)
		return -ENAMETOOLONG;
	/* folder/sub/name, the name already at the start of buf. */
	memmove(c->buf + len - nlen, c->buf, nlen);
	memcpy(c->buf, m.folder, m.flen);
	at = m.flen;
	if (m.flen)
		c->buf[at++] = '/';
	memcpy(c->buf + at, sub, strlen(sub));
	c->buf[at + strlen(sub)] = '/';
	if ((err = push_file(c, c->buf, len, &w)) != 0)
		return err;
	w->kind = MG_MSG;
	w->present = true;
	w->ino = m.ino;
	w->src = m.src;
	w->a = m.a;
	if (!l)
		c->w->stats.added++;
	else if (strcmp(l->path, w->path) != 0)
		c->w->stats.renamed++;
	return 0;
}

/* ---- other files ---- */

/* The whole state of a non-directory: absent, or every attribute. */
static bool other_equal(const struct mg_ent *x, const struct mg_ent *y)
{
	const struct inode *a, *b;

	if (!x || !y)
		return x == y;
	a = x->in;
	b = y->in;
	if (a->ino != b->ino || a->mode != b->mode || a->uid != b->uid ||
	    a->gid != b->gid || a->rdev != b->rdev ||
	    ts_cmp(&a->mtime, &b->mtime) != 0)
		return false;
	if (S_ISLNK(a->mode))
		return strcmp(a->target, b->target) == 0;
	return mg_content_equal(&a->content, &b->content);
}

static int decide_other(struct ctx *c, struct mg_ent *const e[MG_SIDES])
{
	const struct mg_ent *b = e[MG_BASE], *l = e[MG_LOCAL],
			    *r = e[MG_REMOTE], *take;
	bool l_same = other_equal(l, b), r_same = other_equal(r, b);
	struct mg_want *w;
	int err;

	if (!l_same && !r_same && !other_equal(l, r))
		c->w->stats.conflicts++;
	take = l_same ? r : l;
	if (!take)
		return 0;
	if ((err = push_file(c, take->path, take->plen, &w)) != 0)
		return err;
	w->kind = take->kind;
	w->present = true;
	w->ino = take->in->ino;
	w->src = take;
	mg_attrs_of(take->in, &w->a);
	return 0;
}

/* ---- directories ---- */

/* Mode (permission bits), uid, gid three-way; local's when both changed.
 * Times are each device's own. */
static void dir_attrs(const struct inode *b, const struct inode *l,
		      const struct inode *r, struct mg_attrs *m)
{
	const struct inode *one = l ? l : r ? r : b;

	mg_attrs_of(one, m);
	if (!l || !r)
		return;
#define DIR_FIELD(f, mask)                                                    \
	(pick3(b, b && (l->f & (mask)) == (b->f & (mask)),                    \
	       b && (r->f & (mask)) == (b->f & (mask)),                       \
	       (l->f & (mask)) == (r->f & (mask))) == TAKE_REMOTE             \
		 ? r->f & (mask)                                              \
		 : l->f & (mask))
	m->mode = (l->mode & S_IFMT) | DIR_FIELD(mode, 07777);
	m->uid = DIR_FIELD(uid, UINT32_MAX);
	m->gid = DIR_FIELD(gid, UINT32_MAX);
#undef DIR_FIELD
}

static int decide_dir(struct ctx *c, struct mg_ent *const e[MG_SIDES])
{
	const struct mg_ent *b = e[MG_BASE], *l = e[MG_LOCAL],
			    *r = e[MG_REMOTE];
	const struct mg_ent *src = l ? l : r ? r : b;
	struct mg_want *w;
	int err;

	if ((err = push_dir(c, src->path, src->plen, &w)) != 0)
		return err;
	w->kind = MG_DIR;
	/* Presence is two-valued: both changing it agree. */
	w->present = (l != NULL) == (b != NULL) ? r != NULL : l != NULL;
	w->ino = src->in->ino;
	w->src = src;
	dir_attrs(b ? b->in : NULL, l ? l->in : NULL, r ? r->in : NULL, &w->a);
	return 0;
}

static int decide_group(struct ctx *c, const struct item *it, size_t n)
{
	struct mg_ent *e[MG_SIDES] = {NULL, NULL, NULL};
	bool all_messages = true;

	for (size_t i = 0; i < n; i++) {
		e[it[i].side] = it[i].e;
		all_messages &= it[i].e->kind == MG_MSG;
	}
	switch (it[0].cls) {
	case CLS_UNIQUE:
		return decide_message(c, e);
	case CLS_DIR:
		return decide_dir(c, e);
	default:
		/* A path that is a message in every tree that has it (its
		 * unique name is not unique) merges as a message. */
		return all_messages ? decide_message(c, e)
				    : decide_other(c, e);
	}
}

/* ---- after the rules: paths that must exist, paths wanted twice ---- */

static int want_cmp(const void *x, const void *y)
{
	return strcmp(((const struct mg_want *)x)->path,
		      ((const struct mg_want *)y)->path);
}

long mg_find_dir(const struct mg_wants *w, const char *path, size_t len)
{
	size_t lo = 0, hi = w->nd;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(w->d[mid].path, w->d[mid].plen, path, len);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void drop(struct mg_want *arr, size_t *n, size_t i)
{
	free(arr[i].path);
	memmove(&arr[i], &arr[i + 1], (*n - i - 1) * sizeof(*arr));
	(*n)--;
}

/* Two non-directories on one path (a message, and another file of the
 * same path in another tree): the message. */
static void drop_twins(struct mg_wants *w)
{
	sort(w->w, w->n, sizeof(*w->w), want_cmp);
	for (size_t i = 1; i < w->n;) {
		if (strcmp(w->w[i - 1].path, w->w[i].path) != 0) {
			i++;
			continue;
		}
		drop(w->w, &w->n, w->w[i - 1].kind == MG_MSG ? i : i - 1);
	}
}

/* Every directory above path[0..len) is kept; one that no tree has is
 * added (attributes later).  Stops at a directory already forced: its
 * parents are. */
static int force_parents(struct ctx *c, const char *path, size_t len)
{
	const char *slash;

	while ((slash = memrchr(path, '/', len)) != NULL) {
		long i;
		len = (size_t)(slash - path);
		i = mg_find_dir(c->w, path, len);
		if (i >= 0 && c->w->d[i].forced)
			return 0;
		if (i >= 0) {
			c->w->d[i].present = c->w->d[i].forced = true;
			continue;
		}
		struct mg_want *d;
		int err = push_dir(c, path, len, &d);
		if (err)
			return err;
		d->kind = MG_DIR;
		d->present = d->forced = true;
		/* Keep d sorted for the next lookups. */
		sort(c->w->d, c->w->nd, sizeof(*c->w->d), want_cmp);
	}
	return 0;
}

/* A kept Maildir (its cur/ or new/ kept) keeps cur/, new/ and tmp/, where
 * a tree has them. */
static void keep_maildirs(struct ctx *c)
{
	for (size_t i = 0; i < c->w->nd; i++) {
		struct mg_want *d = &c->w->d[i];
		const char *name = d->path + (d->dlen ? d->dlen + 1 : 0);
		if (!d->present ||
		    !maildir_is_msgdir(name, d->plen - (size_t)(name - d->path)))
			continue;
		for (int s = 0; s < MAILDIR_SUBDIRS; s++) {
			size_t at = d->dlen ? d->dlen + 1 : 0;
			size_t n = strlen(maildir_subdirs[s]);
			memcpy(c->buf, d->path, at);
			memcpy(c->buf + at, maildir_subdirs[s], n);
			long j = mg_find_dir(c->w, c->buf, at + n);
			if (j >= 0 && !c->w->d[j].present)
				c->w->d[j].present = c->w->d[j].forced = true;
		}
	}
}

static int force_all(struct ctx *c)
{
	int err = 0;

	sort(c->w->d, c->w->nd, sizeof(*c->w->d), want_cmp);
	for (size_t i = 0; i < c->w->n && !err; i++)
		err = force_parents(c, c->w->w[i].path, c->w->w[i].plen);
	for (size_t i = 0; i < c->w->nd && !err; i++) {
		size_t before = c->w->nd;
		if (c->w->d[i].present)
			err = force_parents(c, c->w->d[i].path,
					    c->w->d[i].plen);
		/* A directory added moved the others: look again. */
		if (c->w->nd != before)
			i = (size_t)-1;
	}
	if (!err)
		keep_maildirs(c);
	return err;
}

/* A path wanted as a directory and as a file (merge.h): the directory
 * when something kept is below it, else a message, else local's. */
static int resolve_clashes(struct ctx *c)
{
	size_t i = 0, j = 0;

	while (i < c->w->n && j < c->w->nd) {
		struct mg_want *f = &c->w->w[i], *d = &c->w->d[j];
		const struct mg_ent *mine;
		int k = strcmp(f->path, d->path);

		if (k != 0 || !d->present) {
			i += k <= 0;
			j += k >= 0;
			continue;
		}
		if (d->forced && f->kind == MG_MSG)
			return -EEXIST;
		mine = mg_find(&c->in->s[MG_LOCAL], f->path);
		if (!d->forced &&
		    (f->kind == MG_MSG || (mine && mine->kind != MG_DIR))) {
			d->present = false;
			j++;
		} else {
			drop(c->w->w, &c->w->n, i);
		}
	}
	return 0;
}

/* Directories no tree has take their parent's mode and owner (parents
 * come first in path order). */
static void fill_new_dirs(struct mg_wants *w)
{
	for (size_t i = 0; i < w->nd; i++) {
		struct mg_want *d = &w->d[i];
		long p;
		if (d->src)
			continue;
		p = d->dlen ? mg_find_dir(w, d->path, d->dlen) : -1;
		d->a = p >= 0 ? w->d[p].a : w->root;
		memset(&d->a.content, 0, sizeof(d->a.content));
	}
}

int mg_decide(struct mg_input *in, struct mg_wants *out)
{
	struct ctx c = {.in = in, .w = out};
	struct fs_tree *b = in->t[MG_BASE];
	struct item *it = NULL;
	size_t n = 0;
	int err;

	memset(out, 0, sizeof(*out));
	c.buf = malloc(MERGE_PATH_MAX + 1);
	if (!c.buf)
		return -ENOMEM;
	err = build_items(in, &it, &n);
	for (size_t i = 0, j; i < n && !err; i = j) {
		for (j = i + 1; j < n && same_key(&it[i], &it[j]); j++)
			;
		err = decide_group(&c, &it[i], j - i);
	}
	dir_attrs(b ? b->root : NULL, in->t[MG_LOCAL]->root,
		  in->t[MG_REMOTE]->root, &out->root);
	if (!err) {
		drop_twins(out);
		err = force_all(&c);
	}
	if (!err)
		err = resolve_clashes(&c);
	if (!err)
		fill_new_dirs(out);
	free(it);
	free(c.buf);
	return err;
}

void mg_wants_free(struct mg_wants *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->w[i].path);
	for (size_t i = 0; i < w->nd; i++)
		free(w->d[i].path);
	free(w->w);
	free(w->d);
	memset(w, 0, sizeof(*w));
}
