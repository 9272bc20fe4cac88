/* fs/model/merge_plan.c — the wanted state against local → records
 * (merge_plan, merge_apply); see merge.h for the order of the records. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/merge_internal.h"

/* What happens to one local name. */
struct lstate {
	bool kept;     /* a want has this path and this inode */
	bool source;   /* renamed to another path the inode keeps */
	bool temp;     /* …by way of a temporary name in the root */
	uint64_t temp_no;
};

enum op_kind { OP_RENAME, OP_LINK, OP_CREATE };

/* One step of the records' fifth part (renames, links, creates). */
struct op {
	uint8_t kind;
	size_t want;  /* index in w->w */
	size_t local; /* OP_RENAME: the local name moved */
	uint64_t ino; /* OP_LINK, OP_CREATE: the inode */
};

/* A number an inode that local lacks would like (its source's), and the
 * one it gets. */
struct cand {
	uint64_t want, got;
	size_t order;
};

struct pc {
	struct mg_wants *w;
	struct fs_tree *t; /* local */
	const struct mg_side *loc;
	struct merge_plan *p;
	struct timespec now;
	struct lstate *ls; /* per local entry */
	bool *done;        /* per non-directory want: local has it already */
	size_t *wi;        /* non-directory wants by inode number, path */
	size_t *li, nli;   /* local non-directories by inode number, path */
	uint64_t *dlino;   /* per directory want: its local number */
	struct cand *cand;
	size_t ncand, capcand;
	size_t file_cands; /* cand[0..file_cands): files; then directories */
	size_t next_cand;  /* the second pass's position in cand */
	bool *split;       /* per non-directory want: not the file its
			      number names elsewhere (a duplicated range):
			      a new inode of its own */
	struct op *ops;
	size_t nops, capops;
	size_t *upd; /* wants whose local inode may need content/setattr */
	size_t nupd;
	char temp[sizeof(MERGE_TEMP_PREFIX) + 24];
};

/* ---- records ---- */

static char *dup_or_null(const char *s, char **at)
{
	char *d;
	if (!s)
		return NULL;
	d = *at;
	strcpy(d, s);
	*at += strlen(s) + 1;
	return d;
}

/* Append r, its strings copied into one allocation the plan owns. */
static int emit(struct pc *c, struct record r)
{
	struct merge_plan *p = c->p;
	size_t len = (r.name ? strlen(r.name) + 1 : 0) +
		     (r.newname ? strlen(r.newname) + 1 : 0) +
		     (r.target ? strlen(r.target) + 1 : 0);
	char *text = malloc(len ? len : 1), *at = text;

	if (!text)
		return -ENOMEM;
	/* Two arrays of one length: the second grows to the first's. */
	size_t cap = p->cap, tcap = p->cap;
	if (mg_grow(&p->recs, p->n, &cap, sizeof(*p->recs)) ||
	    mg_grow(&p->text, p->n, &tcap, sizeof(*p->text))) {
		free(text);
		p->cap = cap < tcap ? cap : tcap;
		return -ENOMEM;
	}
	p->cap = cap;
	r.name = dup_or_null(r.name, &at);
	r.newname = dup_or_null(r.newname, &at);
	r.target = dup_or_null(r.target, &at);
	r.time = c->now;
	p->recs[p->n] = r;
	p->text[p->n++] = text;
	return 0;
}

static const char *want_name(const struct mg_want *w)
{
	return w->path + (w->dlen ? w->dlen + 1 : 0);
}

/* The local number of the directory holding a wanted path. */
static uint64_t parent_of(const struct pc *c, const struct mg_want *w)
{
	long d;
	if (w->dlen == 0)
		return TREE_ROOT_INO;
	d = mg_find_dir(c->w, w->path, w->dlen);
	return d >= 0 ? c->dlino[d] : 0; /* 0: none (mg_decide forced it) */
}

/* ---- which local names stay, which inodes are new ---- */

static int want_at(const struct mg_wants *w, const char *path)
{
	size_t lo = 0, hi = w->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int k = strcmp(w->w[mid].path, path);
		if (k == 0)
			return 1;
		if (k < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static bool dir_kept(const struct mg_wants *w, const char *path, size_t len)
{
	long d;
	if (len == 0)
		return true;
	d = mg_find_dir(w, path, len);
	return d >= 0 && w->d[d].present;
}

/* An index sorted by inode number, then path. */
struct ikey {
	uint64_t ino;
	const char *path;
	size_t idx;
};

static int ikey_cmp(const void *x, const void *y)
{
	const struct ikey *a = x, *b = y;
	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	return strcmp(a->path, b->path);
}

/* c->wi: the non-directory wants, c->li: the local non-directories, each
 * by inode number and path. */
static int index_by_ino(struct pc *c)
{
	size_t nw = c->w->n, nl = 0;
	struct ikey *k = malloc((nw > c->loc->n ? nw : c->loc->n) * sizeof(*k) + 1);

	c->wi = malloc(nw * sizeof(*c->wi) + 1);
	c->li = malloc(c->loc->n * sizeof(*c->li) + 1);
	if (!k || !c->wi || !c->li) {
		free(k);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nw; i++)
		k[i] = (struct ikey){c->w->w[i].ino, c->w->w[i].path, i};
	qsort(k, nw, sizeof(*k), ikey_cmp);
	for (size_t i = 0; i < nw; i++)
		c->wi[i] = k[i].idx;
	for (size_t i = 0; i < c->loc->n; i++) {
		const struct mg_ent *e = &c->loc->e[i];
		if (e->kind != MG_DIR)
			k[nl++] = (struct ikey){e->in->ino, e->path, i};
	}
	qsort(k, nl, sizeof(*k), ikey_cmp);
	for (size_t i = 0; i < nl; i++)
		c->li[i] = k[i].idx;
	c->nli = nl;
	free(k);
	return 0;
}

/* A local name is kept when a want has its path and its inode. */
static void mark_kept(struct pc *c)
{
	for (size_t i = 0; i < c->w->n; i++) {
		const struct mg_ent *e = mg_find(c->loc, c->w->w[i].path);
		if (e && e->kind != MG_DIR && e->in->ino == c->w->w[i].ino) {
			c->ls[e - c->loc->e].kept = true;
			c->done[i] = true;
		}
	}
}

/* One inode number: the wants that name it (w, nw) and the local names
 * it has (l, nl), both in path order. */
typedef int (*group_fn)(struct pc *c, uint64_t ino, const size_t *w,
			size_t nw, const size_t *l, size_t nl);

static int each_group(struct pc *c, group_fn fn)
{
	size_t a = 0, b = 0;

	while (a < c->w->n || b < c->nli) {
		uint64_t wa = a < c->w->n ? c->w->w[c->wi[a]].ino : UINT64_MAX;
		uint64_t lb = b < c->nli ? c->loc->e[c->li[b]].in->ino
					 : UINT64_MAX;
		uint64_t ino = wa < lb ? wa : lb;
		size_t a2 = a, b2 = b;
		int err;

		while (a2 < c->w->n && c->w->w[c->wi[a2]].ino == ino)
			a2++;
		while (b2 < c->nli && c->loc->e[c->li[b2]].in->ino == ino)
			b2++;
		err = fn(c, ino, c->wi + a, a2 - a, c->li + b, b2 - b);
		if (err)
			return err;
		a = a2;
		b = b2;
	}
	return 0;
}

static int add_cand(struct pc *c, uint64_t want)
{
	if (mg_grow(&c->cand, c->ncand, &c->capcand, sizeof(*c->cand)))
		return -ENOMEM;
	c->cand[c->ncand] = (struct cand){.want = want, .order = c->ncand};
	c->ncand++;
	return 0;
}

static bool same_file(const struct mg_want *a, const struct mg_want *b)
{
	if ((a->a.mode & S_IFMT) != (b->a.mode & S_IFMT) ||
	    !mg_content_equal(&a->a.content, &b->a.content))
		return false;
	/* A special file is its type and, a device node, its rdev. */
	if (tree_has_rdev(a->a.mode) &&
	    a->src->in->rdev != b->src->in->rdev)
		return false;
	return !S_ISLNK(a->a.mode) ||
	       strcmp(a->src->in->target, b->src->in->target) == 0;
}

/* How surely a want is the file local's inode of its number is: a name
 * local has (2), taken from local (1), else (0). */
static int local_rank(const struct pc *c, size_t w)
{
	const struct mg_ent *src = c->w->w[w].src;
	if (c->done[w])
		return 2;
	return src >= c->loc->e && src < c->loc->e + c->loc->n;
}

/* Wants of one number are one inode (its names) unless two devices gave
 * the number to two files (a duplicated range: merge.h): a want that is
 * not the same file as the one local's inode is (else the first want) is
 * split off. */
static int find_split(struct pc *c, uint64_t ino, const size_t *w, size_t nw,
		      const size_t *l, size_t nl)
{
	size_t ref = 0;

	(void)ino;
	(void)l;
	for (size_t i = 1; i < nw && nl; i++)
		if (local_rank(c, w[i]) > local_rank(c, w[ref]))
			ref = i;
	for (size_t i = 0; i < nw; i++)
		c->split[w[i]] = !c->done[w[i]] &&
				 !same_file(&c->w->w[w[ref]], &c->w->w[w[i]]);
	return 0;
}

/* The first want of a group that is not split off, or nw. */
static size_t first_kept(const struct pc *c, const size_t *w, size_t nw)
{
	size_t i = 0;
	while (i < nw && c->split[w[i]])
		i++;
	return i;
}

/* First pass: an inode local does not name is new. */
static int new_inode(struct pc *c, uint64_t ino, const size_t *w, size_t nw,
		     const size_t *l, size_t nl)
{
	(void)l;
	return first_kept(c, w, nw) < nw && !nl ? add_cand(c, ino) : 0;
}

static int cand_cmp(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;
	if (a->want != b->want)
		return a->want < b->want ? -1 : 1;
	return (a->order > b->order) - (a->order < b->order);
}

static int u64_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return (a > b) - (a < b);
}

/* Each new inode gets its source's number unless local uses it or an
 * earlier new inode takes it; those get numbers from local->next_ino up.
 * cand[] ends in its first order with got filled. */
static int number_new(struct pc *c)
{
	struct cand *s = malloc(c->ncand * sizeof(*s) + 1);
	uint64_t *taken = malloc(c->ncand * sizeof(*taken) + 1);
	uint64_t next = c->t->next_ino;
	size_t ntaken = 0;

	if (c->ncand == 0) {
		free(s);
		free(taken);
		return 0;
	}
	if (!s || !taken) {
		free(s);
		free(taken);
		return -ENOMEM;
	}
	memcpy(s, c->cand, c->ncand * sizeof(*s));
	qsort(s, c->ncand, sizeof(*s), cand_cmp);
	for (size_t i = 0; i < c->ncand; i++) {
		bool ok = s[i].want != 0 && !tree_get(c->t, s[i].want) &&
			  (i == 0 || s[i - 1].want != s[i].want);
		c->cand[s[i].order].got = ok ? s[i].want : 0;
		if (ok)
			taken[ntaken++] = s[i].want;
	}
	for (size_t i = 0; i < c->ncand; i++) {
		while (c->cand[i].got == 0 &&
		       (tree_get(c->t, next) ||
			bsearch(&next, taken, ntaken, sizeof(*taken), u64_cmp)))
			next++;
		if (c->cand[i].got == 0) {
			if (next >= UINT64_MAX - 1)
				break;
			c->cand[i].got = next++;
		}
	}
	free(s);
	free(taken);
	return next >= UINT64_MAX - 1 ? -ENOSPC : 0;
}

static int add_op(struct pc *c, struct op o)
{
	if (mg_grow(&c->ops, c->nops, &c->capops, sizeof(*c->ops)))
		return -ENOMEM;
	c->ops[c->nops++] = o;
	return 0;
}

/* Second pass: what each inode's names become.  A named inode keeps its
 * kept names, moves spare names to missing ones, links the rest, and its
 * spare names left over go (unlinked, later); a new one is created under
 * its first want and linked under the others. */
static int name_ops(struct pc *c, uint64_t ino, const size_t *w, size_t nw,
		    const size_t *l, size_t nl)
{
	size_t spare = 0, first = first_kept(c, w, nw);
	int err = 0;

	if (first == nw)
		return 0;
	if (!nl) {
		uint64_t got = c->cand[c->next_cand++].got;
		err = add_op(c, (struct op){OP_CREATE, w[first], 0, got});
		for (size_t i = first + 1; i < nw && !err; i++)
			if (!c->split[w[i]])
				err = add_op(c, (struct op){OP_LINK, w[i], 0,
							    got});
		return err;
	}
	c->upd[c->nupd++] = w[first]; /* sized for one per want */
	for (size_t i = first; i < nw && !err; i++) {
		if (c->done[w[i]] || c->split[w[i]])
			continue;
		while (spare < nl && c->ls[l[spare]].kept)
			spare++;
		if (spare < nl) {
			c->ls[l[spare]].source = true;
			err = add_op(c, (struct op){OP_RENAME, w[i], l[spare],
						    ino});
			spare++;
		} else {
			err = add_op(c, (struct op){OP_LINK, w[i], 0, ino});
		}
	}
	return err;
}

/* A moved name goes by way of a temporary name when its directory goes
 * or its path is wanted for something else (renamed straight, it would
 * be in the way). */
static void pick_temps(struct pc *c)
{
	for (size_t i = 0; i < c->loc->n; i++) {
		const struct mg_ent *e = &c->loc->e[i];
		if (!c->ls[i].source)
			continue;
		c->ls[i].temp = !dir_kept(c->w, e->path, e->dlen) ||
				want_at(c->w, e->path) ||
				dir_kept(c->w, e->path, e->plen);
	}
}

/* The next free temporary name in the root (c->temp). */
static int next_temp(struct pc *c, uint64_t *no)
{
	for (;; (*no)++) {
		if (*no == UINT64_MAX)
			return -ENOSPC;
		snprintf(c->temp, sizeof(c->temp), "%s%llu", MERGE_TEMP_PREFIX,
			 (unsigned long long)*no);
		if (!tree_lookup(c->t->root, c->temp))
			return 0;
	}
}

static void temp_name(struct pc *c, uint64_t no)
{
	snprintf(c->temp, sizeof(c->temp), "%s%llu", MERGE_TEMP_PREFIX,
		 (unsigned long long)no);
}

/* Unlinks of the names the merge drops, then moved names that must first
 * leave their place. */
static int emit_leaving(struct pc *c)
{
	uint64_t no = 0;
	int err = 0;

	for (size_t i = 0; i < c->loc->n && !err; i++) {
		const struct mg_ent *e = &c->loc->e[i];
		if (e->kind == MG_DIR || c->ls[i].kept || c->ls[i].source)
			continue;
		err = emit(c, (struct record){.op = REC_UNLINK,
					      .dir = e->dir->ino,
					      .name = mg_name(e)});
	}
	for (size_t i = 0; i < c->loc->n && !err; i++) {
		const struct mg_ent *e = &c->loc->e[i];
		if (!c->ls[i].temp)
			continue;
		if ((err = next_temp(c, &no)) != 0)
			break;
		c->ls[i].temp_no = no++;
		err = emit(c, (struct record){.op = REC_RENAME,
					      .dir = e->dir->ino,
					      .name = mg_name(e),
					      .newdir = TREE_ROOT_INO,
					      .newname = c->temp});
	}
	return err;
}

static int rmdir_cmp(const void *x, const void *y)
{
	const struct mg_ent *a = *(const struct mg_ent *const *)x,
			    *b = *(const struct mg_ent *const *)y;
	if (a->depth != b->depth)
		return a->depth > b->depth ? -1 : 1;
	return strcmp(a->path, b->path);
}

/* Local directories the merge drops, deepest first (empty by now). */
static int emit_rmdirs(struct pc *c)
{
	const struct mg_ent **gone = malloc(c->loc->n * sizeof(*gone) + 1);
	size_t n = 0;
	int err = 0;

	if (!gone)
		return -ENOMEM;
	for (size_t i = 0; i < c->loc->n; i++) {
		const struct mg_ent *e = &c->loc->e[i];
		if (e->kind == MG_DIR && !dir_kept(c->w, e->path, e->plen))
			gone[n++] = e;
	}
	qsort(gone, n, sizeof(*gone), rmdir_cmp);
	for (size_t i = 0; i < n && !err; i++)
		err = emit(c, (struct record){.op = REC_UNLINK,
					      .dir = gone[i]->dir->ino,
					      .name = mg_name(gone[i]),
					      .rmdir = true});
	free(gone);
	return err;
}

static bool local_dir(const struct pc *c, const char *path)
{
	const struct mg_ent *e = mg_find(c->loc, path);
	return e && e->kind == MG_DIR;
}

/* Directories local lacks, parents first (path order): numbered by
 * number_new (their candidates follow the inodes'). */
static int emit_mkdirs(struct pc *c)
{
	size_t k = c->file_cands;
	int err = 0;

	for (size_t i = 0; i < c->w->nd && !err; i++) {
		const struct mg_want *d = &c->w->d[i];
		if (!d->present || local_dir(c, d->path))
			continue;
		c->dlino[i] = c->cand[k++].got;
		err = emit(c, (struct record){.op = REC_CREATE,
					      .dir = parent_of(c, d),
					      .name = want_name(d),
					      .ino = c->dlino[i],
					      .mode = d->a.mode,
					      .uid = d->a.uid,
					      .gid = d->a.gid});
	}
	return err;
}

/* A new inode: create, its content, its mtime. */
static int emit_create(struct pc *c, const struct mg_want *w, uint64_t ino)
{
	const struct inode *src = w->src->in;
	bool content = S_ISREG(w->a.mode) && w->a.content.size > 0;
	int err = emit(c, (struct record){.op = REC_CREATE,
					  .dir = parent_of(c, w),
					  .name = want_name(w),
					  .ino = ino,
					  .mode = w->a.mode,
					  .uid = w->a.uid,
					  .gid = w->a.gid,
					  .target = S_ISLNK(w->a.mode)
							    ? src->target
							    : NULL,
					  .rdev = src->rdev});
	if (!err && content)
		err = emit(c, (struct record){.op = REC_CONTENT,
					      .ino = ino,
					      .content = w->a.content,
					      .mtime = w->a.mtime});
	if (!err && !content)
		err = emit(c, (struct record){.op = REC_SETATTR,
					      .ino = ino,
					      .set = REC_SET_MTIME,
					      .mtime = w->a.mtime});
	return err;
}

static int emit_names(struct pc *c)
{
	int err = 0;

	for (size_t i = 0; i < c->nops && !err; i++) {
		const struct op *o = &c->ops[i];
		const struct mg_want *w = &c->w->w[o->want];
		const struct mg_ent *e;
		struct record r = {.op = REC_LINK,
				   .ino = o->ino,
				   .dir = parent_of(c, w),
				   .name = want_name(w)};
		switch (o->kind) {
		case OP_CREATE:
			err = emit_create(c, w, o->ino);
			continue;
		case OP_RENAME:
			e = &c->loc->e[o->local];
			r = (struct record){.op = REC_RENAME,
					    .dir = e->dir->ino,
					    .name = mg_name(e),
					    .newdir = parent_of(c, w),
					    .newname = want_name(w)};
			if (c->ls[o->local].temp) {
				temp_name(c, c->ls[o->local].temp_no);
				r.dir = TREE_ROOT_INO;
				r.name = c->temp;
			}
			break;
		default:
			break;
		}
		err = emit(c, r);
	}
	return err;
}

/* Content and attributes of inodes local keeps, then of directories. */
static int emit_setattr(struct pc *c, const struct inode *in,
			const struct mg_attrs *a, bool times)
{
	unsigned set = ((in->mode & 07777) != (a->mode & 07777)
				? REC_SET_MODE
				: 0) |
		       (in->uid != a->uid ? REC_SET_UID : 0) |
		       (in->gid != a->gid ? REC_SET_GID : 0) |
		       (times && (in->mtime.tv_sec != a->mtime.tv_sec ||
				  in->mtime.tv_nsec != a->mtime.tv_nsec)
				? REC_SET_MTIME
				: 0);

	if (!set)
		return 0;
	return emit(c, (struct record){.op = REC_SETATTR,
				       .ino = in->ino,
				       .set = set,
				       .mode = a->mode,
				       .uid = a->uid,
				       .gid = a->gid,
				       .mtime = a->mtime});
}

static int emit_updates(struct pc *c)
{
	int err = 0;

	for (size_t i = 0; i < c->nupd && !err; i++) {
		const struct mg_want *w = &c->w->w[c->upd[i]];
		const struct inode *in = tree_get(c->t, w->ino);
		bool content;
		if (!in)
			continue;
		content = S_ISREG(in->mode) &&
			  !mg_content_equal(&in->content, &w->a.content);
		if (content)
			err = emit(c, (struct record){.op = REC_CONTENT,
						      .ino = in->ino,
						      .content = w->a.content,
						      .mtime = w->a.mtime});
		/* A content record sets the merged mtime already. */
		if (!err)
			err = emit_setattr(c, in, &w->a, !content);
	}
	for (size_t i = 0; i < c->w->nd && !err; i++) {
		const struct mg_ent *e = mg_find(c->loc, c->w->d[i].path);
		if (c->w->d[i].present && e && e->kind == MG_DIR)
			err = emit_setattr(c, e->in, &c->w->d[i].a, false);
	}
	if (!err)
		err = emit_setattr(c, c->t->root, &c->w->root, false);
	return err;
}

/* ---- the whole ---- */

static int setup(struct pc *c)
{
	c->ls = calloc(c->loc->n + 1, sizeof(*c->ls));
	c->done = calloc(c->w->n + 1, sizeof(*c->done));
	c->dlino = calloc(c->w->nd + 1, sizeof(*c->dlino));
	c->upd = calloc(c->w->n + 1, sizeof(*c->upd));
	c->split = calloc(c->w->n + 1, sizeof(*c->split));
	if (!c->ls || !c->done || !c->dlino || !c->upd || !c->split)
		return -ENOMEM;
	for (size_t i = 0; i < c->w->nd; i++) {
		const struct mg_ent *e = mg_find(c->loc, c->w->d[i].path);
		if (c->w->d[i].present && e && e->kind == MG_DIR)
			c->dlino[i] = e->in->ino;
	}
	mark_kept(c);
	return index_by_ino(c);
}

static int build(struct pc *c)
{
	int err = setup(c);

	if (!err)
		err = each_group(c, find_split);
	if (!err)
		err = each_group(c, new_inode);
	/* A split-off want takes no number of a source: 0 is never free. */
	for (size_t i = 0; i < c->w->n && !err; i++)
		if (c->split[i])
			err = add_cand(c, 0);
	c->file_cands = c->ncand;
	for (size_t i = 0; i < c->w->nd && !err; i++)
		if (c->w->d[i].present && !local_dir(c, c->w->d[i].path))
			err = add_cand(c, c->w->d[i].ino);
	if (!err)
		err = number_new(c);
	if (!err)
		err = each_group(c, name_ops);
	for (size_t i = 0; i < c->w->n && !err; i++)
		if (c->split[i])
			err = add_op(c, (struct op){OP_CREATE, i, 0,
						    c->cand[c->next_cand++].got});
	if (err)
		return err;
	pick_temps(c);
	if (!(err = emit_leaving(c)) && !(err = emit_rmdirs(c)) &&
	    !(err = emit_mkdirs(c)) && !(err = emit_names(c)))
		err = emit_updates(c);
	return err;
}

static void pc_free(struct pc *c)
{
	free(c->ls);
	free(c->done);
	free(c->dlino);
	free(c->upd);
	free(c->split);
	free(c->wi);
	free(c->li);
	free(c->cand);
	free(c->ops);
}

int merge_plan(struct fs_tree *base, struct fs_tree *local,
	       struct fs_tree *remote, const struct timespec *now,
	       struct merge_plan *plan)
{
	struct mg_input in = {.t = {base, local, remote}};
	struct mg_wants w;
	struct pc c;
	int err = 0;

	memset(plan, 0, sizeof(*plan));
	memset(&w, 0, sizeof(w));
	memset(&c, 0, sizeof(c));
	if (!local || !remote || !now)
		return -EINVAL;
	/* An index file is never taken from the other side (merge.h). */
	for (int s = 0; s < MG_SIDES && !err; s++)
		err = mg_scan(in.t[s], &in.s[s],
			      s == MG_REMOTE && local->index_local);
	if (!err)
		err = mg_decide(&in, &w);
	if (!err) {
		c.w = &w;
		c.t = local;
		c.loc = &in.s[MG_LOCAL];
		c.p = plan;
		c.now = *now;
		err = build(&c);
	}
	if (!err)
		plan->stats = w.stats;
	pc_free(&c);
	mg_wants_free(&w);
	for (int s = 0; s < MG_SIDES; s++)
		mg_side_free(&in.s[s]);
	if (err)
		merge_plan_free(plan);
	return err;
}

void merge_plan_free(struct merge_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->n; i++)
		free(plan->text[i]);
	free(plan->recs);
	free(plan->text);
	memset(plan, 0, sizeof(*plan));
}

size_t merge_apply(struct fs_tree *local, const struct merge_plan *plan,
		   record_release_fn release_fn, void *arg, size_t *failed)
{
	size_t applied = 0;

	for (size_t i = 0; i < plan->n; i++)
		applied += record_apply(local, &plan->recs[i], release_fn,
					arg) == 0;
	if (failed)
		*failed = plan->n - applied;
	return applied;
}
