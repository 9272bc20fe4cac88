/*
 * fs/tools/import_walk.h — the source side of import (fs/tools/import.h): a Maildir
 * walked into lists of directories and files, before anything is written.
 *
 * Kept apart from the tree code because <dirent.h> and fs/model/tree.h both name
 * a struct dirent.  Directories come before their contents (pre-order);
 * the contents of a Maildir's tmp/ (a tmp/ beside cur/ or new/) are not
 * listed, nor sockets, fifos and devices (counted in *other).
 *
 * Everything below the source is reached by fd from the source's own
 * (openat, O_NOFOLLOW at every step), never by a path: whoever can write
 * the source can swap a directory or file for a symlink or a FIFO between
 * the walk and the read, and root must then neither follow it out of the
 * source (/etc/shadow) nor block on it.
 */
#ifndef IPMD_FS_TOOLS_IMPORT_WALK_H
#define IPMD_FS_TOOLS_IMPORT_WALK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fs/model/object.h"
#include "util/attr.h"

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
	int rootfd;           /* the source, open after import_walk; -1 */
	unsigned max_depth;   /* deeper directories: -EMLINK */
	size_t max_target;    /* longer symlink targets: -ENAMETOOLONG */
	struct import_list dirs, files;
	uint64_t files_n, bytes, dirs_n, other;
	uint64_t links;       /* symlinks among files (kept as links) */
	char errpath[PATH_MAX]; /* the source path at fault */
};

/* Walk w->src (set src, max_depth, max_target first), which stays open
 * in w->rootfd until import_walk_free, even on error.  0 or -errno. */
int import_walk(struct import_walk *w);
/* Free both lists (wiping the refs) and close rootfd.  w stays valid
 * (empty). */
void import_walk_free(struct import_walk *w);
/*
 * Open the regular file rel below rootfd for reading, following no
 * symlink on the way and not blocking (O_NONBLOCK): the fd, -ESTALE when
 * rel, or a directory above it, is no longer what the walk found (a
 * symlink, FIFO, device, socket, or a file where a directory was), or
 * -errno.
 */
IPMD_MUST_CHECK
int import_open_file(int rootfd, const char *rel);
/* Is dir_fd a Maildir: cur/ and new/ in it (tmp/ may be missing: it
 * holds nothing to import), or a Maildir++ folder .NAME/ with them?  1,
 * 0, or -errno. */
int import_is_maildir(int dir_fd);

#endif
