/*
 * fs/cli/control.c — the control socket's frames, its address, and the
 * client's side (control.h); the daemon's is control_server.c.
 */
#include "fs/cli/control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fs/cli/control_frame.h"
#include "util/io.h"

static int send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int control_frame_send(int fd, const json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	size_t n = strlen(text);
	int e = n > CONTROL_FRAME_MAX ? -EMSGSIZE : 0;
	uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16),
			  (uint8_t)(n >> 8), (uint8_t)n};
	if (!e)
		e = send_all(fd, len, sizeof(len));
	if (!e)
		e = send_all(fd, text, n);
	free(text);
	return e;
}

int control_frame_recv(int fd, json_t **out)
{
	*out = NULL;
	uint8_t len[4];
	size_t got;
	int e = read_full(fd, len, sizeof(len), &got);
	if (e)
		return e;
	if (got == 0)
		return -ENODATA; /* ended between frames */
	if (got < sizeof(len))
		return -EPIPE;
	size_t n = (size_t)len[0] << 24 | (size_t)len[1] << 16 |
		   (size_t)len[2] << 8 | len[3];
	if (n > CONTROL_FRAME_MAX)
		return -EMSGSIZE;
	char *text = malloc(n ? n : 1);
	if (!text)
		return -ENOMEM;
	e = read_full(fd, text, n, &got);
	if (!e && got < n)
		e = -EPIPE;
	if (!e) {
		*out = json_loadb(text, n, 0, NULL);
		e = json_is_object(*out) ? 0 : -EBADMSG;
	}
	free(text);
	if (e) {
		json_decref(*out);
		*out = NULL;
	}
	return e;
}

int control_address(const char *path, int *dirfd, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	*dirfd = -1;
	if (strlen(path) < sizeof(sa->sun_path)) {
		strcpy(sa->sun_path, path);
		return 0;
	}
	/* A deep store: named through its directory, held open. */
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	*dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return -errno;
	int n = snprintf(sa->sun_path, sizeof(sa->sun_path),
			 "/proc/self/fd/%d/%s", *dirfd, slash + 1);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path)) {
		close(*dirfd);
		*dirfd = -1;
		return -ENAMETOOLONG;
	}
	return 0;
}

int control_socket(const char *path, bool listening)
{
	struct sockaddr_un sa;
	int dirfd, fd = -1;
	int e = control_address(path, &dirfd, &sa);
	if (!e) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		e = fd < 0 ? -errno : 0;
	}
	/* The socket's mode before bind: Linux makes the file with it (less
	 * the umask), so it is never wider than 0600 and no chmod by name
	 * follows (one a symlink swapped in after bind would redirect). */
	struct sockaddr *a = (struct sockaddr *)&sa;
	if (!e && (listening ? fchmod(fd, 0600) != 0 ||
				       bind(fd, a, sizeof(sa)) != 0 ||
				       listen(fd, 8) != 0
			     : connect(fd, a, sizeof(sa)) != 0))
		e = -errno;
	if (dirfd >= 0)
		close(dirfd);
	if (!e)
		return fd;
	if (fd >= 0)
		close(fd);
	return e;
}

/* Connect to path: the fd, CONTROL_UNSERVED (nothing answers there), or
 * -errno. */
static int connect_to(const char *path)
{
	int fd = control_socket(path, false);
	/* No socket, or one nobody listens on (its daemon was killed). */
	if (fd == -ENOENT || fd == -ECONNREFUSED || fd == -ENOTSOCK)
		return CONTROL_UNSERVED;
	return fd;
}

/* Copy the answer's frames out until "exit": the status, or -errno. */
static int relay(int fd)
{
	for (;;) {
		json_t *m;
		int e = control_frame_recv(fd, &m);
		if (e)
			return e == -ENODATA ? -EPIPE : e;
		json_t *v;
		int status = -1;
		if ((v = json_object_get(m, "out")) && json_is_string(v))
			fputs(json_string_value(v), stdout);
		else if ((v = json_object_get(m, "err")) && json_is_string(v))
			fputs(json_string_value(v), stderr);
		else if ((v = json_object_get(m, "exit")) && json_is_integer(v))
			status = (int)json_integer_value(v);
		json_decref(m);
		if (status >= 0 && status <= 255)
			return status;
	}
}

int control_ask(const char *cmd, const char *dir, json_t *req)
{
	struct store_paths paths;
	int e = store_paths_init(&paths, dir);
	if (e) {
		json_decref(req);
		return CONTROL_UNSERVED; /* said by the command's own open */
	}
	int fd = connect_to(paths.control);
	if (fd == CONTROL_UNSERVED) {
		json_decref(req);
		return CONTROL_UNSERVED;
	}
	if (fd < 0) {
		json_decref(req);
		cli_error("%s: %s: %s%s", cmd, paths.control, strerror(-fd),
			  fd == -EACCES ? ": the mount's control socket "
					  "serves only the mailbox's owner"
					: "");
		return EXIT_FAILURE_;
	}
	json_object_set_new(req, "v", json_integer(CONTROL_VERSION));
	json_object_set_new(req, "cmd", json_string(cmd));
	e = control_frame_send(fd, req);
	json_decref(req);
	int status = e ? e : relay(fd);
	close(fd);
	fflush(stdout);
	if (status >= 0)
		return status;
	cli_error("%s: the mount's daemon ended before it answered (%s): "
		  "see its log",
		  cmd, strerror(-status));
	return EXIT_FAILURE_;
}
