/* util/dir.c — directories opened for readdir; see dir.h. */
#include "util/dir.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int dir_open_at(int dirfd, const char *name, int flags, DIR **out)
{
	int fd = openat(dirfd, name,
			flags | O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*out = fdopendir(fd);
	if (!*out) {
		int e = -errno;
		close(fd);
		return e;
	}
	return 0;
}
