/*
 * fs/cli/service.h — a mount as a system service: readiness, status and
 * stop, told to systemd (sd_notify, libsystemd: without $NOTIFY_SOCKET
 * nothing is sent) and, in the foreground, one line on standard output.
 *
 * When does a mount answer?  Not when mount(2) returns: the kernel holds
 * every request to it until the FUSE loop has answered INIT, so a mail
 * server started then would block (or, given a timeout, fail).  A thread
 * therefore stats the mount point from outside the loop: the stat returns
 * once the loop serves it, and only then does the thread send READY=1
 * with a first STATUS= line, log that the mount is ready and, in the
 * foreground, print "ipmaildir: mounted and ready on MNT" (as gocryptfs
 * does).  After that it sleeps until the mount says its status may have
 * changed (ipmd_fs_on_status: a commit, an upload batch) and then sends
 * a STATUS= line ("head commit N, P uploads pending") if it did.
 * service_stop sends STOPPING=1 and ends the thread.
 */
#ifndef IPMD_FS_CLI_SERVICE_H
#define IPMD_FS_CLI_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

struct ipmd_fs;
struct service;

/* Start the thread: after daemonizing (threads do not survive the fork),
 * before the FUSE loop.  mountpoint: absolute (the daemon is in /).
 * 0 with *out set, or -errno. */
int service_start(struct service **out, struct ipmd_fs *fs,
		  const char *mountpoint, bool foreground);

/* The loop has ended and the session is unmounted (a stat still waiting
 * is answered then): STOPPING=1, the thread ended, s freed.  Before the
 * last commit.  NULL: nothing. */
void service_stop(struct service *s);

#endif
