/*
 * util/dir.h — a directory opened for reading its entries.
 *
 * Kept apart from util/io.h because it needs <dirent.h>, whose struct
 * dirent some of our headers (fs/model/tree.h) also name.
 */
#ifndef IPMD_UTIL_DIR_H
#define IPMD_UTIL_DIR_H

#include <dirent.h>

/* The directory name under dirfd opened for readdir in *out, as a fresh
 * open file description (a dup() would share its offset with concurrent
 * walks).  flags are added to O_RDONLY | O_DIRECTORY | O_CLOEXEC (e.g.
 * O_NOFOLLOW).  The caller closedir()s it. */
int dir_open_at(int dirfd, const char *name, int flags, DIR **out);

#endif
