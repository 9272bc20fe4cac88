/*
 * util/io.h — whole reads and writes, and the fsyncs that make a file's
 * name (and a path of directories made) durable.
 *
 * Every function returns 0 or a negative errno and prints nothing.  EINTR
 * is retried everywhere, so a signal never turns into a short write or a
 * spurious failure.  A write(2)/pwrite(2) that makes no progress without an
 * error gives -EIO rather than looping forever.
 */
#ifndef IPMD_UTIL_IO_H
#define IPMD_UTIL_IO_H

#include <stddef.h>
#include <sys/types.h>

/* All n bytes of p to fd at its file offset; 0, or -errno with an unknown
 * part written. */
int write_all(int fd, const void *p, size_t n);

/* All n bytes of p to fd at offset off (the file offset is not moved). */
int pwrite_all(int fd, const void *p, size_t n, off_t off);

/* Up to n bytes from fd into p; *got is fewer than n only at end of file. */
int read_full(int fd, void *p, size_t n, size_t *got);

/* Exactly n bytes from fd at offset off; a short file gives -EIO (the
 * caller checked the size, so it shrank). */
int pread_all(int fd, void *p, size_t n, off_t off);

/* fsync(fd). */
int fsync_fd(int fd);

/* fsync the directory that holds path's last component ("." for a bare
 * name, "/" for "/x"; repeated slashes are one), so that a name created
 * or renamed there survives a crash. */
int fsync_parent(const char *path);

/* fsync the directory name, relative to the directory fd dirfd. */
int fsync_dir_at(int dirfd, const char *name);

/* mkdir -p path, mode 0700 for what it makes, each directory it makes
 * made durable in its parent (fsync_parent), so it can't vanish in a
 * crash.  0, -EINVAL (empty), -ENAMETOOLONG, or -errno of the mkdir or
 * fsync that failed. */
int mkdir_durable(const char *path);

#endif
