/*
 * fs/cli/control_frame.h — the control socket's frames and address
 * (control.h says the protocol), shared by its client and its server.
 */
#ifndef IPMD_FS_CLI_CONTROL_FRAME_H
#define IPMD_FS_CLI_CONTROL_FRAME_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/un.h>

/* One frame: 0 or -errno (-EMSGSIZE above CONTROL_FRAME_MAX).  Never
 * raises SIGPIPE. */
int control_frame_send(int fd, const json_t *msg);
/* One frame, a JSON object, into *out (the caller's to json_decref):
 * 0; -ENODATA at a clean end before it; -EPIPE cut inside it; -EBADMSG
 * not an object; -EMSGSIZE too long; -errno. */
int control_frame_recv(int fd, json_t **out);

/* The address of the socket at path.  A path too long for sun_path is
 * named through its directory (/proc/self/fd/N/NAME): *dirfd is then
 * that directory's, to close after bind or connect; else -1.  0 or
 * -errno. */
int control_address(const char *path, int *dirfd, struct sockaddr_un *sa);

/* A stream socket at path's address: connected to it (listening false),
 * or bound there, made 0600 and listening (true).  The fd, or -errno. */
int control_socket(const char *path, bool listening);

#endif
