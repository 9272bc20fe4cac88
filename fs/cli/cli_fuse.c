/*
 * fs/cli/cli_fuse.c — the steps that put a FUSE session in place, the same
 * for `mount` and `archive` (and mount.ipmaildir): the -o list, signal
 * handlers, the mount, daemonizing.
 */
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <string.h>

#include "fs/cli/cli.h"

int cli_fuse_opt_add(const char *cmd, char *opts, size_t size,
		     const char *opt)
{
	if (strlen(opts) + strlen(opt) + 2 > size) {
		cli_error("%s: -o options too long", cmd);
		return EXIT_USAGE;
	}
	if (*opts)
		strcat(opts, ",");
	strcat(opts, opt);
	return 0;
}

int cli_fuse_start(const char *cmd, struct fuse_session *se,
		   const char *mountpoint, int foreground)
{
	if (fuse_set_signal_handlers(se) != 0) {
		cli_error("%s: cannot install signal handlers", cmd);
		return -1;
	}
	if (fuse_session_mount(se, mountpoint) != 0) {
		cli_error("%s: cannot mount on %s", cmd, mountpoint);
		goto out_signals;
	}
	if (fuse_daemonize(foreground) != 0) {
		cli_error("%s: cannot go to the background", cmd);
		goto out_unmount;
	}
	return 0;
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
	return -1;
}
