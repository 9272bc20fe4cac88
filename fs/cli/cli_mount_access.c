/* fs/cli/cli_mount_access.c — the CLI's side of fs/fuse/mount_access.h: apply,
 * report, log the opt-out. */
#include <errno.h>
#include <stdio.h>

#include "fs/cli/cli.h"
#include "fs/fuse/mount_access.h"
#include "util/log.h"

#define UNCHECKED_MSG                                                        \
	"-o allow_other," MOUNT_ACCESS_OPT_OUT ": file modes are not "       \
	"checked; every local user can read, change, chmod and chown "       \
	"every file in the mount"

int cli_mount_access(const char *cmd, char *opts, size_t size,
		     int foreground)
{
	int r = mount_access_options(opts, size);
	if (r == -EINVAL) {
		cli_error("%s: -o default_permissions and " MOUNT_ACCESS_OPT_OUT
			  " contradict each other",
			  cmd);
		return EXIT_USAGE;
	}
	if (r < 0) {
		cli_error("%s: -o options too long", cmd);
		return EXIT_USAGE;
	}
	if (r == MOUNT_ACCESS_UNCHECKED) {
		logmsg(LOG_WARNING, "%s: " UNCHECKED_MSG, cmd);
		if (!foreground)
			cli_error("%s: warning: " UNCHECKED_MSG, cmd);
	}
	return 0;
}
