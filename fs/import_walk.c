/* fs/import_walk.c — walk a Maildir for import (import_walk.h). */
#include "fs/import_walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

static void list_free(struct import_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].rel);
		free(l->v[i].target);
		sodium_memzero(&l->v[i].ref, sizeof(l->v[i].ref));
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void import_walk_free(struct import_walk *w)
{
	list_free(&w->dirs);
	list_free(&w->files);
}

static struct import_item *list_add(struct import_list *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct import_item *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	struct import_item *it = &l->v[l->n++];
	memset(it, 0, sizeof(*it));
	return it;
}

int import_full_path(const char *src, const char *rel, char *out)
{
	int n = rel[0] ? snprintf(out, PATH_MAX, "%s/%s", src, rel)
		       : snprintf(out, PATH_MAX, "%s", src);
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static char *join(const char *rel, const char *name)
{
	size_t a = strlen(rel), b = strlen(name);
	char *p = malloc(a + b + 2);
	if (!p)
		return NULL;
	if (a) {
		memcpy(p, rel, a);
		p[a++] = '/';
	}
	memcpy(p + a, name, b + 1);
	return p;
}

/* A tmp/ beside cur/ or new/ is a Maildir's: deliveries in progress. */
static bool maildir_tmp(int dfd, const char *name)
{
	struct stat st;
	if (strcmp(name, "tmp"))
		return false;
	return (fstatat(dfd, "cur", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		S_ISDIR(st.st_mode)) ||
	       (fstatat(dfd, "new", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		S_ISDIR(st.st_mode));
}

static int fail_at(struct import_walk *w, const char *rel, int e)
{
	if (!w->errpath[0])
		snprintf(w->errpath, PATH_MAX, "%s%s%s", w->src,
			 rel[0] ? "/" : "", rel);
	return e;
}

/* One entry of a directory; 0 or -errno (errpath set). */
static int walk_entry(struct import_walk *w, int dfd, const char *name,
		      char *child, unsigned depth);

static int walk_dir(struct import_walk *w, const char *rel, unsigned depth)
{
	char path[PATH_MAX];
	int e = import_full_path(w->src, rel, path);
	if (e)
		return fail_at(w, rel, e);
	if (depth > w->max_depth)
		return fail_at(w, rel, -EMLINK);
	DIR *d = opendir(path);
	if (!d)
		return fail_at(w, rel, -errno);
	struct dirent *de;
	errno = 0;
	while (!e && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *child = join(rel, de->d_name);
		e = child ? walk_entry(w, dirfd(d), de->d_name, child, depth)
			  : -ENOMEM;
		errno = 0;
	}
	if (!e && errno)
		e = fail_at(w, rel, -errno);
	closedir(d);
	return e;
}

static int walk_entry(struct import_walk *w, int dfd, const char *name,
		      char *child, unsigned depth)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		int e = fail_at(w, child, -errno);
		free(child);
		return e;
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) &&
	    !S_ISLNK(st.st_mode)) {
		w->other++;
		free(child);
		return 0;
	}
	struct import_item *it =
		list_add(S_ISDIR(st.st_mode) ? &w->dirs : &w->files);
	if (!it) {
		free(child);
		return -ENOMEM;
	}
	it->rel = child; /* owned by the list from here on */
	it->mode = st.st_mode;
	it->atime = st.st_atim;
	it->mtime = st.st_mtim;
	if (S_ISREG(st.st_mode)) {
		it->size = (uint64_t)st.st_size;
		w->files_n++;
		w->bytes += it->size;
		return 0;
	}
	if (S_ISLNK(st.st_mode)) {
		char t[PATH_MAX + 1];
		ssize_t n = readlinkat(dfd, name, t, sizeof(t));
		if (n < 0)
			return fail_at(w, child, -errno);
		if ((size_t)n > w->max_target || n > PATH_MAX)
			return fail_at(w, child, -ENAMETOOLONG);
		t[n] = '\0';
		it->target = strdup(t);
		return it->target ? 0 : -ENOMEM;
	}
	w->dirs_n++;
	if (maildir_tmp(dfd, name))
		return 0;
	/* The list may move while we recurse: walk a copy of the name. */
	char *rel = strdup(child);
	if (!rel)
		return -ENOMEM;
	int e = walk_dir(w, rel, depth + 1);
	free(rel);
	return e;
}

int import_walk(struct import_walk *w)
{
	w->errpath[0] = '\0';
	return walk_dir(w, "", 0);
}
