/* fs/tools/import_walk.c — walk a Maildir for import (import_walk.h). */
#include "fs/tools/import_walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fs/model/maildir.h"
#include "util/array.h"

/* A directory below the source: never through a symlink. */
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

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
	if (w->rootfd >= 0)
		close(w->rootfd);
	w->rootfd = -1;
}

static struct import_item *list_add(struct import_list *l)
{
	struct import_item *v =
		array_grow(l->v, l->n, &l->cap, sizeof(*v), 256);
	if (!v)
		return NULL;
	l->v = v;
	struct import_item *it = &l->v[l->n++];
	memset(it, 0, sizeof(*it));
	return it;
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
	if (!maildir_is_tmp(name, strlen(name)))
		return false;
	return (fstatat(dfd, maildir_subdirs[MAILDIR_CUR], &st,
			AT_SYMLINK_NOFOLLOW) == 0 &&
		S_ISDIR(st.st_mode)) ||
	       (fstatat(dfd, maildir_subdirs[MAILDIR_NEW], &st,
			AT_SYMLINK_NOFOLLOW) == 0 &&
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

/* Walk the directory open on fd (taken over: closed here). */
static int walk_dir(struct import_walk *w, int fd, const char *rel,
		    unsigned depth)
{
	if (depth > w->max_depth) {
		close(fd);
		return fail_at(w, rel, -EMLINK);
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = -errno;
		close(fd);
		return fail_at(w, rel, e);
	}
	struct dirent *de;
	int e = 0;
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
		w->links++;
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
	/* By fd, not by path: a directory swapped for a symlink since the
	 * fstatat is not followed out of the source. */
	int fd = openat(dfd, name, DIR_FLAGS);
	if (fd < 0)
		return fail_at(w, child, -errno);
	/* The list may move while we recurse: walk a copy of the name. */
	char *rel = strdup(child);
	if (!rel) {
		close(fd);
		return -ENOMEM;
	}
	int e = walk_dir(w, fd, rel, depth + 1);
	free(rel);
	return e;
}

int import_walk(struct import_walk *w)
{
	w->errpath[0] = '\0';
	/* The source itself may be a symlink: the user named it. */
	w->rootfd = open(w->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->rootfd < 0)
		return fail_at(w, "", -errno);
	/* Its own open file (a dup would share the directory offset). */
	int fd = openat(w->rootfd, ".", DIR_FLAGS);
	if (fd < 0)
		return fail_at(w, "", -errno);
	return walk_dir(w, fd, "", 0);
}

/* Open rel's parent directory below rootfd, one component at a time,
 * none of them followed if a symlink.  *base: rel's last component. */
static int open_parent(int rootfd, const char *rel, const char **base)
{
	int fd = openat(rootfd, ".", DIR_FLAGS);
	if (fd < 0)
		return -errno;
	const char *p = rel;
	for (const char *slash; (slash = strchr(p, '/')) != NULL;
	     p = slash + 1) {
		char name[NAME_MAX + 1];
		size_t len = (size_t)(slash - p);
		if (len == 0 || len > NAME_MAX) {
			close(fd);
			return -EINVAL;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		int next = openat(fd, name, DIR_FLAGS);
		int e = errno == ELOOP || errno == ENOTDIR ? -ESTALE : -errno;
		close(fd);
		if (next < 0)
			return e;
		fd = next;
	}
	*base = p;
	return fd;
}

int import_open_file(int rootfd, const char *rel)
{
	const char *base = rel;
	int dfd = open_parent(rootfd, rel, &base);
	if (dfd < 0)
		return dfd;
	/* O_NONBLOCK: a FIFO put in a file's place must not hang us. */
	int fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
				   O_CLOEXEC | O_NOCTTY);
	int e = -errno;
	close(dfd);
	if (fd < 0)
		return e == -ELOOP ? -ESTALE : e;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		e = -errno;
		close(fd);
		return e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

static bool has_dir(int dfd, const char *name)
{
	struct stat st;
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode);
}

static bool maildir_here(int dfd)
{
	return has_dir(dfd, maildir_subdirs[MAILDIR_CUR]) &&
	       has_dir(dfd, maildir_subdirs[MAILDIR_NEW]);
}

int import_is_maildir(int dir_fd)
{
	if (maildir_here(dir_fd))
		return 1;
	int fd = openat(dir_fd, ".", DIR_FLAGS);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = -errno;
		close(fd);
		return e;
	}
	int found = 0;
	struct dirent *de;
	errno = 0;
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || !strcmp(de->d_name, ".") ||
		    !strcmp(de->d_name, ".."))
			continue;
		int sub = openat(dirfd(d), de->d_name, DIR_FLAGS);
		if (sub >= 0) {
			found = maildir_here(sub);
			close(sub);
		}
		errno = 0;
	}
	int e = !found && errno ? -errno : 0;
	closedir(d);
	return e ? e : found;
}
