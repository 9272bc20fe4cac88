/*
 * fs/import_walk.h — the source side of import (fs/import.h): a Maildir
 * walked into lists of directories and files, before anything is written.
 *
 * Kept apart from the tree code because <dirent.h> and fs/tree.h both name
 * a struct dirent.  Directories come before their contents (pre-order);
 * the contents of a Maildir's tmp/ (a tmp/ beside cur/ or new/) are not
 * listed, nor sockets, fifos and devices (counted in *other).
 */
#ifndef IPMD_FS_IMPORT_WALK_H
#define IPMD_FS_IMPORT_WALK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fs/object.h"

struct import_item {
	char *rel;      /* path below the source, no leading '/' */
	uint32_t mode;  /* st_mode */
	struct timespec atime, mtime;
	uint64_t size;
	char *target;   /* symlinks */
	/* Filled by the importer: */
	uint64_t dir_ino; /* parent in the mailbox */
	uint64_t ino;     /* directories: the mailbox inode */
	bool skip, set_time;
	struct obj_ref ref;
	int err;
};

struct import_list {
	struct import_item *v;
	size_t n, cap;
};

struct import_walk {
	const char *src;
	unsigned max_depth;   /* deeper directories: -EMLINK */
	size_t max_target;    /* longer symlink targets: -ENAMETOOLONG */
	struct import_list dirs, files;
	uint64_t files_n, bytes, dirs_n, other;
	char errpath[PATH_MAX]; /* the source path at fault */
};

/* Walk w->src (set src, max_depth, max_target first).  0 or -errno. */
int import_walk(struct import_walk *w);
/* Free both lists (wiping the refs).  w stays valid (empty). */
void import_walk_free(struct import_walk *w);
/* src/rel into out (PATH_MAX); -ENAMETOOLONG. */
int import_full_path(const char *src, const char *rel, char *out);

#endif
