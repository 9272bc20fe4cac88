/* util/io.c — whole reads and writes, durable names; see io.h. */
#include "util/io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One call never asks for more than a ssize_t can report. */
static size_t clamp(size_t n)
{
	return n > SSIZE_MAX ? SSIZE_MAX : n;
}

enum io_op { IO_READ, IO_WRITE, IO_PREAD, IO_PWRITE };

/* One system call; -1 and errno as the call leaves them. */
static ssize_t io_once(enum io_op op, int fd, void *p, size_t n, off_t off)
{
	switch (op) {
	case IO_READ:
		return read(fd, p, n);
	case IO_WRITE:
		return write(fd, p, n);
	case IO_PREAD:
		return pread(fd, p, n, off);
	default:
		return pwrite(fd, p, n, off);
	}
}

/*
 * Calls op until n bytes have moved, retrying EINTR and short transfers.
 * A call that moves nothing (end of file for a read) stops the loop: *done
 * is then below n and the caller decides what that means.  The one loop
 * serves all four forms, so they cannot drift apart.
 */
static int io_loop(enum io_op op, int fd, void *p, size_t n, off_t off,
		   size_t *done)
{
	uint8_t *b = p;
	size_t k = 0;
	int e = 0;

	while (k < n) {
		ssize_t r = io_once(op, fd, b + k, clamp(n - k),
				    off + (off_t)k);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			e = -errno;
		if (r <= 0)
			break;
		k += (size_t)r;
	}
	*done = k;
	return e;
}

/* The write forms never write through p: the cast only lets them share
 * io_loop with the reads. */
int write_all(int fd, const void *p, size_t n)
{
	size_t done;
	int e = io_loop(IO_WRITE, fd, (void *)p, n, 0, &done);
	return e ? e : done < n ? -EIO : 0; /* no progress, no error */
}

int pwrite_all(int fd, const void *p, size_t n, off_t off)
{
	size_t done;
	int e = io_loop(IO_PWRITE, fd, (void *)p, n, off, &done);
	return e ? e : done < n ? -EIO : 0;
}

int read_full(int fd, void *p, size_t n, size_t *got)
{
	return io_loop(IO_READ, fd, p, n, 0, got);
}

int pread_all(int fd, void *p, size_t n, off_t off)
{
	size_t done;
	int e = io_loop(IO_PREAD, fd, p, n, off, &done);
	return e ? e : done < n ? -EIO : 0; /* the file shrank */
}

int fsync_fd(int fd)
{
	while (fsync(fd) != 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int fsync_parent(const char *path)
{
	char parent[PATH_MAX];
	size_t n = strlen(path);
	int fd, r;

	while (n > 0 && path[n - 1] != '/')
		n--;
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n >= sizeof(parent))
		return -ENAMETOOLONG;
	if (n == 0) {
		memcpy(parent, ".", 2);
	} else {
		memcpy(parent, path, n);
		parent[n] = '\0';
	}
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = fsync_fd(fd);
	close(fd);
	return r;
}

int fsync_dir_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fsync_fd(fd);
	close(fd);
	return r;
}

int mkdir_durable(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strnlen(path, sizeof(buf));

	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (buf[i - 1] == '/')
			continue; /* "a//b" */
		char saved = buf[i];
		buf[i] = '\0';
		int r = mkdir(buf, 0700) == 0 ? 0 : -errno;
		if (r == 0)
			r = fsync_parent(buf);
		else if (r == -EEXIST)
			r = 0;
		buf[i] = saved;
		if (r)
			return r;
	}
	return 0;
}
