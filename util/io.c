/* util/io.c — whole reads and writes, durable names; see io.h. */
#include "util/io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* One call never asks for more than a ssize_t can report. */
static size_t clamp(size_t n)
{
	return n > SSIZE_MAX ? SSIZE_MAX : n;
}

int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = write(fd, b, clamp(n));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO; /* no progress and no error: give up */
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int pwrite_all(int fd, const void *p, size_t n, off_t off)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = pwrite(fd, b, clamp(n), off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		b += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

int read_full(int fd, void *p, size_t n, size_t *got)
{
	uint8_t *b = p;
	size_t off = 0;
	while (off < n) {
		ssize_t r = read(fd, b + off, clamp(n - off));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		off += (size_t)r;
	}
	*got = off;
	return 0;
}

int pread_all(int fd, void *p, size_t n, off_t off)
{
	uint8_t *b = p;
	while (n > 0) {
		ssize_t r = pread(fd, b, clamp(n), off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		b += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
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
