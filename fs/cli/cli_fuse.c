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

/* A digit's value in base 16, or 16 when c is none. */
static unsigned hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (unsigned)(c - 'A' + 10);
	return 16;
}

/* Does glibc set arena_max from the n bytes at s?  Its number parser
 * (_dl_strtoul): blanks, an optional '+', then hex after "0x", octal
 * after "0", else decimal; arena_max's range starts at 1, so 0 is
 * ignored.  Only the whole value counts: newer glibc ignores one with
 * anything after the digits, and a bound left unset is worse than the
 * daemon's over a value glibc may have taken. */
static bool arena_value_taken(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n && s[i] == '+')
		i++;
	if (i == n || hex_digit(s[i]) > 9)
		return false;
	unsigned base = 10;
	if (s[i] == '0' && i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		base = 16;
		i += 2;
	} else if (s[i] == '0') {
		base = 8;
	}
	bool positive = false;
	for (; i < n; i++) {
		unsigned d = hex_digit(s[i]);
		if (d >= base)
			return false;
		positive |= d != 0;
	}
	return positive;
}

bool cli_arena_max_chosen(const char *arena_max, const char *tunables)
{
	if (arena_max && arena_value_taken(arena_max, strlen(arena_max)))
		return true;
	/* name=value items separated by ':' (glibc's tunables(7)); any
	 * other tunable says nothing about arenas, and any arena_max glibc
	 * takes is a choice (a later one it ignores leaves it). */
	size_t n = strlen(ARENA_MAX_TUNABLE);
	for (const char *p = tunables; p && *p;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (!strncmp(p, ARENA_MAX_TUNABLE, n) && p[n] == '=' &&
		    arena_value_taken(p + n + 1, len - n - 1))
			return true;
		p = end ? end + 1 : NULL;
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
