/*
 * fs/cli/cli_fuse.c — the steps that put a FUSE session in place, the same
 * for `mount` and `archive` (and mount.ipmaildir): the mount point, the log,
 * the -o list, signal handlers, the mount, daemonizing.
 */
#define FUSE_USE_VERSION 34
#include <fuse_log.h>
#include <fuse_lowlevel.h>

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/cli/cli.h"
#include "util/log.h"

/* An entry other than "." and ".."?  1, 0, or -errno. */
static int dir_has_entry(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	int found = 0;
	errno = 0;
	for (struct dirent *de; !found && (de = readdir(d));)
		found = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	int e = !found && errno ? -errno : found;
	closedir(d);
	return e;
}

int cli_mountpoint_check(const char *cmd, const char *mountpoint,
			 bool nonempty, char *abs)
{
	struct stat st;
	if (stat(mountpoint, &st) != 0 || !realpath(mountpoint, abs)) {
		cli_error("%s: %s: %s", cmd, mountpoint, strerror(errno));
		return EXIT_FAILURE_;
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_error("%s: %s is not a directory", cmd, mountpoint);
		return EXIT_FAILURE_;
	}
	int r = nonempty ? 0 : dir_has_entry(abs);
	if (r < 0) {
		cli_error("%s: %s: %s", cmd, mountpoint, strerror(-r));
		return EXIT_FAILURE_;
	}
	if (r) {
		cli_error("%s: %s is not empty: the mount would hide what it "
			  "holds (-o nonempty to mount there anyway)",
			  cmd, mountpoint);
		return EXIT_FAILURE_;
	}
	return 0;
}

/* libfuse's own messages: into the log, but -d's trace where libfuse puts
 * it (stderr), never into syslog. */
static void fuse_to_log(enum fuse_log_level level, const char *fmt,
			va_list ap)
{
	if (level == FUSE_LOG_DEBUG) {
		vfprintf(stderr, fmt, ap);
		return;
	}
	char msg[LOG_LINE_MAX];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	logmsg((int)level, "%s", msg);
}

int cli_log_start(const char *cmd, const char *file, int foreground)
{
	int e = file && *file ? log_to_file(file) : log_to_default(foreground);
	if (e) {
		cli_error("%s: %s%s: %s", cmd, file && *file ? "-o log=" : "",
			  file && *file ? file : "the log", strerror(-e));
		return EXIT_FAILURE_;
	}
	fuse_set_log_func(fuse_to_log);
	return 0;
}

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

/*
 * A FUSE daemon has up to 32 workers, the prefetch workers and more
 * threads beside; glibc gives threads up to 8 malloc arenas per CPU, and
 * memory freed into an arena stays with the process while any chunk above
 * it lives.  Chunks allocated in one thread and freed in another (a
 * prefetched chunk, taken by its reader) pin many arenas' free memory at
 * once: a warm grep -r over 100,000 messages grew the daemon ~8 MiB a
 * pass, with 9–10 MiB held by arenas using 1 MiB (malloc_stats).  At most
 * MOUNT_ARENAS arenas: the same passes level off after the second
 * (bench/README.md, "Archive browsing").  Unless the user chose
 * (MALLOC_ARENA_MAX, or glibc.malloc.arena_max in glibc's tunables).
 */
#define MOUNT_ARENAS 4
#define ARENA_MAX_TUNABLE "glibc.malloc.arena_max"

bool cli_arena_max_chosen(const char *arena_max, const char *tunables)
{
	if (arena_max && *arena_max)
		return true;
	/* name=value items separated by ':' (glibc's tunables(7)); any
	 * other tunable says nothing about arenas. */
	size_t n = strlen(ARENA_MAX_TUNABLE);
	for (const char *p = tunables; p && *p;) {
		if (!strncmp(p, ARENA_MAX_TUNABLE, n) && p[n] == '=')
			return true;
		p = strchr(p, ':');
		p = p ? p + 1 : NULL;
	}
	return false;
}

static void bound_arenas(void)
{
	if (!cli_arena_max_chosen(getenv("MALLOC_ARENA_MAX"),
				  getenv("GLIBC_TUNABLES")))
		(void)mallopt(M_ARENA_MAX, MOUNT_ARENAS);
}

int cli_fuse_start(const char *cmd, struct fuse_session *se,
		   const char *mountpoint, int foreground)
{
	bound_arenas(); /* before any thread */
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
