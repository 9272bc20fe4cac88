/*
 * fs/cli/cmd_mount.c — `ipmaildir mount`: serve a mailbox through FUSE.
 *
 * The mailbox is opened (keys, head, journal replay) before the process
 * daemonizes, so every error reaches the terminal that ran the command and a
 * passphrase can be asked for.  Once the mount answers, systemd hears
 * READY=1 (fs/cli/service.h).  Unmounting (ipmaildir umount, fusermount3
 * -u) or SIGTERM / SIGINT / SIGHUP ends the loop; then open files are
 * sealed and a last commit is written before the process exits, and a
 * writer leaves its exit status in STORE/lock for `ipmaildir umount`
 * (fs/store/lock_note.h).
 */
/* 3.12: the loop's worker limit (fuse_loop_cfg_set_max_threads). */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/cli/cli.h"
#include "fs/cli/config.h"
#include "fs/cli/control.h"
#include "fs/cli/options.h"
#include "fs/cli/service.h"
#include "fs/fuse/notify.h"
#include "fs/fuse/ops.h"
#include "fs/mount/mount.h"
#include "fs/mount/node.h"
#include "fs/mount/publish.h"
#include "fs/mount/sync.h"
#include "fs/store/history.h"
#include "fs/store/lock_note.h"
#include "fs/store/mountinfo.h"
#include "util/log.h"

/* Every change reaches the tree through this kernel mount, which updates
 * or drops what it cached; a merge from another device, the one change
 * behind its back, tells it (fs/fuse/notify.h). */
#define DEFAULT_ATTR_TIMEOUT 30.0
#define DEFAULT_COMMIT_DELAY_MS 1000
/* Room for the -o list, every -o joined with ','. */
#define MOUNT_OPTS_MAX 4096
/* FUSE workers: at most MOUNT_MAX_THREADS at once (libfuse's default is
 * 10), MOUNT_IDLE_THREADS kept waiting when idle. */
#define MOUNT_MAX_THREADS 32
#define MOUNT_IDLE_THREADS 10

static void mount_usage(FILE *out)
{
	fprintf(out,
		"usage: ipmaildir mount [--store DIR] [--node ADDR] [-f] [-d] "
		"[-o OPTS]\n"
		"                       [--passphrase-file F] [--at SEQ|CID|TIME] "
		"MOUNTPOINT\n"
		"       ipmaildir mount --from-node ID|CID --capability FILE "
		"[--node ADDR]\n"
		"                       [--store CACHE] [--at …] [-f] [-o OPTS] "
		"MOUNTPOINT\n"
		"  -f                 stay in the foreground; say \"mounted and "
		"ready\"\n"
		"                     on stdout once the mount answers\n"
		"  -d                 debug: foreground, log every FUSE call\n"
		"  -o OPTS            FUSE options (allow_other, which brings "
		"default_permissions,\n"
		"                     ro, …); no_default_permissions: other "
		"users' access\n"
		"                     unchecked by file modes (see "
		"ipmaildir(1))\n");
	opt_help(out, "and ipmaildir's:", 21, 78);
	fprintf(out,
		"                     (each also a config key, '_' as '-': "
		"ipmaildir.conf(5))\n"
		"  --node ADDR        an IPFS node's RPC API (multiaddr, http URL "
		"or 'auto'):\n"
		"                     the local store becomes its cache and "
		"upload outbox\n"
		"                     (default: $IPMAILDIR_NODE)\n"
		"  --passphrase-file F   read the key's passphrase from F "
		"(- : standard input)\n"
		"  --passphrase-command CMD  or from the first line that "
		"/bin/sh -c CMD prints\n"
		"  --at SEQ|CID|TIME  a past state, read-only: a commit's seq or "
		"CID, or the\n"
		"                     newest commit at or before an ISO-8601 "
		"UTC time\n"
		"  --from-node ID|CID another machine's mailbox, read-only, "
		"from the node:\n"
		"                     its id (k51…: the newest commit published "
		"over IPNS)\n"
		"                     or a commit CID; blocks are fetched on "
		"demand and\n"
		"                     cached in --store (default "
		"~/.cache/ipmaildir/ID)\n"
		"  --capability FILE  the read capability (ipmaildir key export "
		"--read-only)\n");
}

/* The command line, then the config (cfg: mo points into it) under it,
 * then -o over both: mo, the -o list left for FUSE in fuse_opts (size
 * bytes), -f and -d.  -1 to go on, else the exit status (said). */
static int mount_args(int argc, char **argv, struct config *cfg,
		      struct mount_options *mo_out, char *fuse_opts,
		      size_t size, int *foreground_out, int *debug_out)
{
	static const struct option opts[] = {
		CLI_STORE_OPTIONS,
		{"fault", required_argument, NULL, 'F'},
		{"at", required_argument, NULL, 'A'},
		{"node", required_argument, NULL, 'N'},
		{"from-node", required_argument, NULL, 'R'},
		{"capability", required_argument, NULL, 'C'},
		CLI_OPTIONS_END,
	};
	struct mount_options mo = {
		.attr_timeout = DEFAULT_ATTR_TIMEOUT,
		.commit_delay_ms = DEFAULT_COMMIT_DELAY_MS,
		.upload_wait_s = NODE_DEFAULT_UPLOAD_WAIT_S,
		.publish_interval_s = PUBLISH_DEFAULT_INTERVAL_S,
		.sync_interval_s = MOUNT_SYNC_AUTO,
		.owner_uid = OWNER_AUTO,
		.owner_gid = OWNER_AUTO,
	};
	int foreground = 0, debug = 0, c;
	*fuse_opts = '\0';
	while ((c = cli_getopt(argc, argv, "s:p:fdo:h", opts, &mo.store,
			       &mo.pass)) != -1) {
		switch (c) {
		case 'F': mo.fault_spec = optarg; break;
		case 'A': mo.at = optarg; break;
		case 'N': mo.node = optarg; break;
		case 'R': mo.from_node = optarg; break;
		case 'C': mo.capability = optarg; break;
		case 'f': foreground = 1; break;
		case 'd': debug = foreground = 1; break;
		case 'o':
			if (cli_fuse_opt_add("mount", fuse_opts, size, optarg))
				return EXIT_USAGE;
			break;
		default: return cli_help("mount", mount_usage, c);
		}
	}
	if (optind + 1 != argc)
		return cli_usage("mount", "wants one MOUNTPOINT");
	/* Config files and environment (fs/cli/config.h) under the command
	 * line: -o options below override these. */
	const char *cache_dir = mo.store;
	if (cli_config(cfg, &mo.store, &mo.pass, &mo.node))
		return EXIT_USAGE;
	/* Another machine's mailbox: the configured store is this one's own,
	 * never its cache. */
	if (mo.from_node)
		mo.store = cache_dir;
	/* A malformed --at is the command line's fault (exit 2), found
	 * before the store is opened; one naming no commit is the store's. */
	struct history_at at;
	if (mo.at && history_parse_at(mo.at, &at) != 0) {
		char why[256];
		snprintf(why, sizeof(why),
			 "--at wants a commit's seq, its CID or an ISO-8601 "
			 "UTC time (2026-11-23T05:00), not '%s'",
			 mo.at);
		return cli_usage("mount", why);
	}
	if (mo.capability && !mo.from_node) {
		cli_error("mount: --capability goes with --from-node");
		return EXIT_USAGE;
	}
	opt_from_config(cfg->value, &mo);
	char bad[MOUNT_OPTS_MAX] = "";
	if (opt_take(fuse_opts, &mo, bad, sizeof(bad)) != 0) {
		cli_error("mount: bad ipmaildir option in -o: %s", bad);
		return EXIT_USAGE;
	}
	/* A past state can't change: the kernel says so before we must. */
	if ((mo.at || mo.from_node) &&
	    cli_fuse_opt_add("mount", fuse_opts, size, "ro"))
		return EXIT_USAGE;
	*mo_out = mo;
	*foreground_out = foreground;
	*debug_out = debug;
	return -1;
}

/* A writer's note in STORE/lock (fs/store/lock_note.h): a copy of the
 * lock's descriptor, so the lock stays held after ipmd_fs_close closed
 * its own, until note_end has written the exit status.  -1: no writer. */
static int note_start(const struct ipmd_fs *fs)
{
	if (fs->read_only || fs->store.lock_fd < 0)
		return -1;
	int fd = fcntl(fs->store.lock_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0 || lock_note_running(fd, getpid()) != 0)
		logmsg(LOG_WARNING, "%s: cannot write this process's pid; "
				    "ipmaildir umount will not know how it "
				    "ends", fs->store.paths.lock);
	return fd;
}

/* The exit status into the note, then the lock goes. */
static void note_end(int fd, int status)
{
	if (fd < 0)
		return;
	if (lock_note_exit(fd, status) != 0)
		logmsg(LOG_WARNING, "cannot write the exit status into the "
				    "store's lock");
	close(fd);
}
/* The FUSE loop until unmount or a signal: fuse_session_loop_mt's
 * result, or -ENOMEM when its configuration cannot be made. */
static int run_loop(struct fuse_session *se)
{
	struct fuse_loop_config *loop = fuse_loop_cfg_create();
	if (!loop)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(loop, 0);
	fuse_loop_cfg_set_idle_threads(loop, MOUNT_IDLE_THREADS);
	fuse_loop_cfg_set_max_threads(loop, MOUNT_MAX_THREADS);
	int res = fuse_session_loop_mt(se, loop);
	fuse_loop_cfg_destroy(loop);
	return res;
}

int cmd_mount(int argc, char **argv)
{
	static struct config cfg; /* mo points into it while mounted */
	struct mount_options mo;
	int foreground = 0, debug = 0;
	char fuse_opts[MOUNT_OPTS_MAX];
	int r = mount_args(argc, argv, &cfg, &mo, fuse_opts, sizeof(fuse_opts),
			   &foreground, &debug);
	if (r >= 0)
		return r;
	/* Usage errors first, then the mount point, before the store (and
	 * its passphrase) is opened. */
	static char mountpoint[PATH_MAX];
	r = cli_log_start("mount", mo.log_file, foreground);
	if (!r)
		r = cli_mount_access("mount", fuse_opts, sizeof(fuse_opts),
				     foreground);
	if (!r)
		r = cli_mountpoint_check("mount", argv[optind], mo.nonempty,
					 mountpoint);
	if (r)
		return r;
	static struct ipmd_fs fs;
	if (cli_fs_open("mount", &fs, &mo, NULL))
		return EXIT_FAILURE_;
	/* Whose the mail is on this device (fs/mount/owner.h). */
	owner_map_init(&fs.owner, mo.owner_uid, mo.owner_gid,
		       (uint32_t)geteuid(), (uint32_t)getegid());

	char base_opts[PATH_MAX + 64];
	snprintf(base_opts, sizeof(base_opts),
		 "fsname=" MOUNTINFO_SOURCE "%s,subtype=ipmaildir",
		 fs.store.paths.root);
	char *fargv[8];
	int fargc = 0;
	fargv[fargc++] = "ipmaildir";
	fargv[fargc++] = "-o";
	fargv[fargc++] = base_opts;
	if (*fuse_opts) {
		fargv[fargc++] = "-o";
		fargv[fargc++] = fuse_opts;
	}
	if (debug)
		fargv[fargc++] = "-d";
	struct fuse_args args = FUSE_ARGS_INIT(fargc, fargv);

	int status = EXIT_FAILURE_, note = -1;
	struct service *svc = NULL;
	struct control *ctl = NULL;
	struct sync *sync = NULL;
	struct fuse_session *se =
		fuse_session_new(&args, &ipmd_ops, sizeof(ipmd_ops), &fs);
	if (!se) {
		cli_error("mount: FUSE refused the options '%s'", fuse_opts);
		ipmd_fs_close(&fs);
		return EXIT_USAGE;
	}
	/* "running" before the mount exists: an umount never reads the
	 * status an earlier mount left. */
	note = note_start(&fs);
	if (cli_fuse_start("mount", se, mountpoint, foreground) != 0)
		goto out_session;
	if (note >= 0 && !foreground)
		(void)lock_note_running(note, getpid()); /* the daemon's pid */
	/* Threads after daemonizing: fork keeps only the calling thread. */
	ipmd_fuse_notify(&fs, se);
	if (ipmd_fs_start_workers(&fs) != 0 || sync_start(&fs, &sync) ||
	    ipmd_fuse_durable_start(&fs) != 0) {
		logmsg(LOG_ERR, "cannot start the mount's threads");
		goto out_unmount;
	}
	if (service_start(&svc, &fs, mountpoint, foreground) != 0)
		logmsg(LOG_WARNING, "cannot start the thread that tells "
				    "systemd the mount is ready");
	/* gc, fsck and status while mounted (fs/cli/control.h). */
	int ce = fs.read_only ? 0 : control_start(&ctl, &fs);
	if (ce)
		logmsg(LOG_WARNING, "cannot serve %s (%s): gc, fsck and status "
		       "need the mailbox unmounted", fs.store.paths.control,
		       strerror(-ce));
	/* A signal ends the loop with its number: a normal stop too. */
	int res = run_loop(se);
	status = res == 0 || res == SIGTERM || res == SIGINT || res == SIGHUP
			 ? EXIT_OK
			 : EXIT_FAILURE_;
	if (status != EXIT_OK)
		logmsg(LOG_ERR, "the FUSE loop failed (%d)", res);
out_unmount:
	/* Every fsync still waiting for its sync is answered while the
	 * session (and the kernel's end) still exists. */
	ipmd_fuse_durable_stop(&fs);
	control_stop(ctl); /* a request under way ends first */
	sync_stop(sync); /* no merge once the kernel is gone */
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	service_stop(svc);
out_session:
	fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	/* From here on the log is where the daemon speaks (the terminal
	 * may be long gone): the foreground's goes to stderr too. */
	int e = ipmd_fs_close(&fs);
	if (e) {
		logmsg(LOG_ERR, "the last commit failed (%s); the journal "
				"keeps every change for the next mount",
		       strerror(-e));
		status = EXIT_FAILURE_;
	}
	note_end(note, status);
	return status;
}
