/* fs/model/merge_scan.c — a tree as entries sorted by path; see
 * merge_internal.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/maildir.h"
#include "fs/model/merge_internal.h"

#define INFO_MARK ":2,"
#define INFO_MARK_LEN 3

int mg_grow(void *arrp, size_t n, size_t *cap, size_t size)
{
	void *arr, *a;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 64;
	if (c < *cap || c > SIZE_MAX / size)
		return -ENOMEM;
	/* arrp points at a T *: copied as bytes, not read as a void *. */
	memcpy(&arr, arrp, sizeof(arr));
	if (!(a = realloc(arr, c * size)))
		return -ENOMEM;
	memcpy(arrp, &a, sizeof(a));
	*cap = c;
	return 0;
}

static int push(struct mg_side *s, struct mg_ent **out)
{
	if (mg_grow(&s->e, s->n, &s->cap, sizeof(*s->e)))
		return -ENOMEM;
	*out = &s->e[s->n++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

/* The message parts of e, a regular file in a directory named cur or new
 * whose own name ends path[0..dlen). */
static void parse_message(struct mg_ent *e)
{
	const char *name = mg_name(e);
	size_t nlen = e->plen - (size_t)(name - e->path);
	const char *mark = memmem(name, nlen, INFO_MARK, INFO_MARK_LEN);
	/* The directory is "cur" or "new": its name is the last 3 bytes
	 * of path[0..dlen), after a '/' unless it is an entry of the root. */
	const char *sub = e->path + e->dlen - 3;

	e->kind = MG_MSG;
	e->sub = memcmp(sub, maildir_subdirs[MAILDIR_CUR], 3) == 0
			 ? MAILDIR_CUR
			 : MAILDIR_NEW;
	e->flen = e->dlen > 3 ? e->dlen - 4 : 0;
	e->uoff = (uint32_t)(name - e->path);
	e->ulen = (uint32_t)(mark ? (size_t)(mark - name) : nlen);
	e->info = mark != NULL;
	if (!mark)
		return;
	for (const char *f = mark + INFO_MARK_LEN; f < name + nlen; f++) {
		unsigned char b = (unsigned char)*f;
		e->flags[b >> 6] |= UINT64_C(1) << (b & 63);
	}
}

struct scan {
	struct mg_side *s;
	bool skip_index; /* leave out non-directories of index names */
	char *buf; /* the path being walked, MERGE_PATH_MAX + 1 bytes */
};

/* The entries of dir (its path is buf[0..len), its own name msgdir or
 * not), then those below, depth first.  The depth is bounded by the tree's
 * (TREE_DEPTH_MAX) and every path by MERGE_PATH_MAX. */
static int scan_dir(struct scan *sc, struct inode *dir, size_t len,
		    uint32_t depth, bool msgdir)
{
	const struct dir *d = dir->dir;

	for (uint32_t b = 0; b < d->nbuckets; b++) {
		for (const struct dirent *de = d->buckets[b]; de;
		     de = de->hash_next) {
			size_t at = len ? len + 1 : 0;
			struct mg_ent *e;
			int r;

			if (de->inode->cache)
				continue; /* local, not the mailbox's */
			if (sc->skip_index && !S_ISDIR(de->inode->mode) &&
			    maildir_is_index_name(de->name))
				continue; /* the other side's: merge.h */
			if (at + de->name_len > MERGE_PATH_MAX)
				return -ENAMETOOLONG;
			if (len)
				sc->buf[len] = '/';
			memcpy(sc->buf + at, de->name, de->name_len);
			sc->buf[at + de->name_len] = '\0';
			if ((r = push(sc->s, &e)) != 0)
				return r;
			e->plen = (uint32_t)(at + de->name_len);
			e->path = strdup(sc->buf);
			if (!e->path) {
				sc->s->n--;
				return -ENOMEM;
			}
			e->dlen = (uint32_t)len;
			e->depth = depth;
			e->in = de->inode;
			e->dir = dir;
			e->kind = S_ISDIR(de->inode->mode) ? MG_DIR : MG_OTHER;
			if (msgdir && S_ISREG(de->inode->mode))
				parse_message(e);
			if (e->kind != MG_DIR)
				continue;
			r = scan_dir(sc, de->inode, e->plen, depth + 1,
				     maildir_is_msgdir(de->name, de->name_len));
			if (r != 0)
				return r;
		}
	}
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct mg_ent *)a)->path,
		      ((const struct mg_ent *)b)->path);
}

int mg_scan(struct fs_tree *t, struct mg_side *s, bool skip_index)
{
	struct scan sc = {.s = s, .skip_index = skip_index};
	int r;

	memset(s, 0, sizeof(*s));
	if (!t)
		return 0;
	sc.buf = malloc(MERGE_PATH_MAX + 1);
	if (!sc.buf)
		return -ENOMEM;
	r = scan_dir(&sc, t->root, 0, 0, false);
	free(sc.buf);
	if (r != 0) {
		mg_side_free(s);
		return r;
	}
	if (s->n)
		qsort(s->e, s->n, sizeof(*s->e), by_path);
	return 0;
}

void mg_side_free(struct mg_side *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->e[i].path);
	free(s->e);
	memset(s, 0, sizeof(*s));
}

const struct mg_ent *mg_find(const struct mg_side *s, const char *path)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->e[mid].path, path);
		if (c == 0)
			return &s->e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void mg_attrs_of(const struct inode *in, struct mg_attrs *a)
{
	memset(a, 0, sizeof(*a));
	a->mode = in->mode;
	a->uid = in->uid;
	a->gid = in->gid;
	a->mtime = in->mtime;
	if (S_ISREG(in->mode))
		a->content = in->content;
}

bool mg_content_equal(const struct obj_ref *a, const struct obj_ref *b)
{
	if (a->size != b->size)
		return false;
	return a->size == 0 ||
	       (cid_equal(&a->cid, &b->cid) && a->depth == b->depth &&
		memcmp(a->key, b->key, sizeof(a->key)) == 0);
}
