/*
 * fs/cli/cmd_archive.c — `ipmaildir archive`: every retained commit as a
 * directory named by its time, read-only (fs/fuse/archive.h).
 *
 * The store is read beside a running mount: only immutable blocks and the
 * head file are read, and STORE/readers is held (shared) for the mount's
 * lifetime so gc waits for it.  The history is read once at start: commits
 * made later appear in a new archive mount.
 */
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fs/cli/cli.h"
#include "fs/cli/config.h"
#include "fs/fuse/archive.h"
#include "fs/store/mountinfo.h"

static void archive_usage(FILE *out)
{
	fprintf(out,
		"usage: ipmaildir archive [--store DIR] [-f] [-o OPTS] "
		"[--passphrase-file F] MOUNTPOINT\n"
		"  -f                 stay in the foreground\n"
		"  -o OPTS            FUSE options (allow_other, which brings "
		"default_permissions, …); nonempty: mount over a non-empty "
		"directory\n"
		"  --passphrase-file F   read the key's passphrase from F "
		"(- : standard input)\n"
		"  --passphrase-command CMD  or from the first line that "
		"/bin/sh -c CMD prints\n");
}

/* -o OPTS: each option to FUSE's list, but "nonempty", which is ours
 * (cli_mountpoint_check), as for mount. */
static int archive_opts_add(char *fuse_opts, size_t size, const char *arg,
			    bool *nonempty)
{
	char buf[4096];
	if (strlen(arg) >= sizeof(buf)) {
		cli_error("archive: -o options too long");
		return EXIT_USAGE;
	}
	strcpy(buf, arg);
	for (char *save = NULL, *o = strtok_r(buf, ",", &save); o;
	     o = strtok_r(NULL, ",", &save)) {
		if (!strcmp(o, "nonempty"))
			*nonempty = true;
		else if (cli_fuse_opt_add("archive", fuse_opts, size, o))
			return EXIT_USAGE;
	}
	return 0;
}

int cmd_archive(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_STORE_OPTIONS,
		CLI_OPTIONS_END,
	};
	struct history_options ho = {.lock = HISTORY_LOCK_READ};
	int foreground = 0, c;
	bool nonempty = false;
	char fuse_opts[4096] = "ro";
	while ((c = cli_getopt(argc, argv, "s:p:fo:h", opts, &ho.store,
			       &ho.pass)) != -1) {
		switch (c) {
		case 'f': foreground = 1; break;
		case 'o':
			if (archive_opts_add(fuse_opts, sizeof(fuse_opts),
					     optarg, &nonempty))
				return EXIT_USAGE;
			break;
		default: return cli_help("archive", archive_usage, c);
		}
	}
	if (optind + 1 != argc)
		return cli_usage("archive", "wants one MOUNTPOINT");
	static char mountpoint[PATH_MAX];
	/* Over a file, or hiding what a directory holds: refused. */
	int r = cli_mountpoint_check("archive", argv[optind], nonempty,
				     mountpoint);
	if (r)
		return r;
	static struct config cfg; /* ho points into it while mounted */
	if (cli_config(&cfg, &ho.store, &ho.pass, NULL))
		return EXIT_USAGE;
	r = cli_log_start("archive", NULL, foreground);
	if (!r)
		r = cli_mount_access("archive", fuse_opts, sizeof(fuse_opts),
				     foreground);
	if (r)
		return r;
	static struct history h;
	static struct archive a;
	if (cli_history_open("archive", &h, &ho, true))
		return EXIT_FAILURE_;
	int e = archive_open(&a, &h);
	if (e) {
		cli_error("archive: the commit history does not read (%s): run "
			  "ipmaildir fsck",
			  strerror(-e));
		archive_close(&a);
		history_close(&h);
		return EXIT_FAILURE_;
	}
	char base_opts[PATH_MAX + 64];
	snprintf(base_opts, sizeof(base_opts),
		 "fsname=" MOUNTINFO_ARCHIVE_SOURCE "%s,subtype=ipmaildir",
		 h.store.paths.root);
	char *fargv[] = {"ipmaildir", "-o", base_opts, "-o", fuse_opts, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(5, fargv);
	int status = EXIT_FAILURE_;
	struct fuse_session *se =
		fuse_session_new(&args, &archive_ops, sizeof(archive_ops), &a);
	if (!se) {
		cli_error("archive: FUSE refused the options '%s'", fuse_opts);
		goto out;
	}
	if (cli_fuse_start("archive", se, mountpoint, foreground) != 0)
		goto out_session;
	int res = fuse_session_loop(se);
	status = res == 0 || res == SIGTERM || res == SIGINT || res == SIGHUP
			 ? EXIT_OK
			 : EXIT_FAILURE_;
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out:
	fuse_opt_free_args(&args);
	archive_close(&a);
	history_close(&h);
	config_free(&cfg);
	return status;
}
