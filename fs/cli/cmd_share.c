/*
 * fs/cli/cmd_share.c — `ipmaildir share PATH`: print the capability of one
 * message (fs/model/capability.h): its root CID and key, nothing else of the
 * mailbox.
 *
 * PATH inside a running mount: asked of the mount itself (ioctl,
 * fs/fuse/share_ioctl.h), so the answer is the file's content now, whatever the
 * last commit holds.  Otherwise, with --store, PATH is a path inside the
 * mailbox ("cur/1234.x:2,S") read offline (fs/tools/snapshot.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "fs/cli/cli.h"
#include "fs/cli/config.h"
#include "fs/fuse/share_ioctl.h"
#include "fs/tools/snapshot.h"

static void share_usage(FILE *out)
{
	fprintf(out,
		"usage: ipmaildir share PATH-IN-MOUNT\n"
		"       ipmaildir share --store DIR [--passphrase-file F] "
		"PATH-IN-MAILBOX\n"
		"  --passphrase-command CMD  the passphrase is the first line "
		"/bin/sh -c CMD prints\n");
}

/* EXIT_OK printed; -1 not an ipmaildir mount; else an exit status. */
static int share_mounted(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	char cap[IPMD_SHARE_BYTES] = "";
	int r = ioctl(fd, IPMD_IOC_SHARE, cap);
	int err = errno;
	close(fd);
	if (r != 0) {
		if (err == ENOTTY || err == ENOSYS || err == EOPNOTSUPP ||
		    err == EINVAL)
			return -1;
		cli_error("share: %s: %s", path,
			  err == EPERM ? "only its owner (or root) may share "
					 "it"
			  : err == EISDIR ? "is a directory: share one "
					    "message"
					  : strerror(err));
		return EXIT_FAILURE_;
	}
	cap[sizeof(cap) - 1] = '\0';
	printf("%s\n", cap);
	sodium_memzero(cap, sizeof(cap));
	return 0;
}

static int share_offline(const char *store, struct passphrase_source *pass,
			 const char *path)
{
	static struct snapshot s;
	char msg[1024] = "";
	int status = EXIT_FAILURE_;
	if (snapshot_open(&s, store, pass, SNAP_CURRENT, msg, sizeof(msg))) {
		cli_error("share: %s", msg);
		goto out;
	}
	struct inode *in;
	int e = snapshot_lookup(&s, path, &in);
	if (e) {
		cli_error("share: %s: %s%s", path, strerror(-e),
			  s.mounted ? " in the last commit (the mailbox is "
				      "mounted: give the path in the mount)"
				    : " in the mailbox");
		goto out;
	}
	if (!S_ISREG(in->mode)) {
		cli_error("share: %s: not a regular file: share one message",
			  path);
		goto out;
	}
	char cap[CAPABILITY_MAX];
	if (capability_format(&in->content, cap, sizeof(cap)) != 0) {
		cli_error("share: cannot format the capability");
		goto out;
	}
	printf("%s\n", cap);
	sodium_memzero(cap, sizeof(cap));
	status = EXIT_OK;
out:
	snapshot_close(&s);
	return status;
}

int cmd_share(int argc, char **argv)
{
	const char *store = NULL;
	struct passphrase_source pass = {0};
	int r = cli_store_args("share", argc, argv, 1, "wants one PATH",
			       share_usage, &store, &pass);
	if (r >= 0)
		return r;
	const char *path = argv[optind];
	bool offline = store != NULL;
	r = share_mounted(path);
	if (r != -1)
		return r;
	if (!offline) {
		cli_error("share: %s is not a file in an ipmaildir mount; to "
			  "share from an unmounted mailbox give --store DIR "
			  "and the path inside the mailbox",
			  path);
		return EXIT_USAGE;
	}
	struct config cfg;
	if (cli_config(&cfg, &store, &pass, NULL))
		return EXIT_USAGE;
	r = share_offline(store, &pass, path);
	config_free(&cfg);
	return r;
}
