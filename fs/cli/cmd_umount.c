/*
 * fs/cli/cmd_umount.c — `ipmaildir umount MOUNTPOINT`: unmount, then wait
 * for the daemon's last commit.
 *
 * fusermount3 -u returns as soon as the kernel lets the mount go; the
 * daemon then seals open files, writes its last commit, lets the node's
 * uploads drain (at most -o upload_wait) and exits.  A writer holds
 * STORE/lock all that time and leaves its exit status there
 * (fs/store/lock_note.h): this waits for the lock, so that when it returns
 * `ipmaildir log` shows the last commit, and exits with that status.  A
 * read-only mount (-o ro, --at, --from-node, archive) writes nothing: it
 * returns once unmounted.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/cli/cli.h"
#include "fs/store/lock_note.h"
#include "fs/store/mountinfo.h"
#include "fs/store/store.h"
#include "util/io.h"
#include "util/msgbuf.h"
#include "util/spawn.h"

static void umount_usage(FILE *out)
{
	fprintf(out,
		"usage: ipmaildir umount MOUNTPOINT\n"
		"  unmount, then wait until the daemon has written its last "
		"commit (and,\n"
		"  with a node, let its uploads drain); exits with the "
		"daemon's status\n");
}

/* The mount on path (the last one: a mount stacked on another hides it). */
struct found {
	const char *path;
	bool any, ours, read_only;
	char type[64];
	char store[PATH_MAX]; /* of a mailbox's mount; "" for an archive */
};

static int find_mount(const struct mountinfo_entry *e, void *arg)
{
	struct found *f = arg;
	if (strcmp(e->mountpoint, f->path))
		return 0;
	size_t n = strlen(MOUNTINFO_SOURCE);
	f->any = true;
	snprintf(f->type, sizeof(f->type), "%s", e->type);
	f->ours = !strcmp(e->type, MOUNTINFO_TYPE);
	f->read_only = mountinfo_read_only(e);
	f->store[0] = '\0';
	if (f->ours && !strncmp(e->source, MOUNTINFO_SOURCE, n) &&
	    strlen(e->source + n) < sizeof(f->store))
		strcpy(f->store, e->source + n);
	return 0;
}

/* path made absolute as mountinfo has it.  A dead daemon's mount point
 * does not stat (ENOTCONN): then its parent's real path and its name. */
static int resolve(const char *path, char abs[PATH_MAX])
{
	if (realpath(path, abs))
		return 0;
	int e = errno;
	char dir[PATH_MAX], base[PATH_MAX], real[PATH_MAX];
	if (e != ENOTCONN || strlen(path) >= PATH_MAX)
		return -e;
	strcpy(dir, path);
	strcpy(base, path);
	const char *b = basename(base);
	if (!realpath(dirname(dir), real) || !strcmp(b, ".") ||
	    !strcmp(b, "..") || !strcmp(b, "/"))
		return -e;
	int n = snprintf(abs, PATH_MAX, "%s/%s", strcmp(real, "/") ? real : "",
			 b);
	return n < PATH_MAX ? 0 : -ENAMETOOLONG;
}

/* fusermount3 -u; its complaint, first line, into why.  0 or -1. */
static int fuse_unmount(const char *path, char *why, size_t size)
{
	char *argv[] = {"fusermount3", "-u", "--", (char *)path, NULL};
	struct spawn sp;
	int e = spawn_start(argv, STDERR_FILENO, &sp);
	if (e) {
		char how[128];
		spawn_strerror(e, how, sizeof(how));
		return msgbuf_say(why, size, "fusermount3: %s%s", how,
				  e == -ENOENT ? " (is fuse3 installed?)" : "");
	}
	char out[512];
	size_t got;
	/* A read error keeps what came before it: fusermount3's status, not
	 * its stderr, says whether the unmount failed. */
	(void)read_full(sp.fd, out, sizeof(out) - 1, &got);
	int status = spawn_finish(&sp);
	if (status == 0)
		return 0;
	out[got] = '\0';
	out[strcspn(out, "\n")] = '\0';
	const char *msg = out;
	if (!strncmp(msg, "fusermount3: ", 13))
		msg += 13;
	if (*msg)
		return msgbuf_say(why, size, "%s", msg);
	char how[128];
	spawn_strerror(status, how, sizeof(how));
	return msgbuf_say(why, size, "fusermount3 %s", how);
}

/* The writer's end, from STORE/lock: its exit status, said if not 0. */
static int wait_writer(const char *mountpoint, const char *store)
{
	struct store_paths p;
	struct lock_note n;
	int e = store_paths_init(&p, store);
	if (!e)
		e = lock_note_wait(&p, &n);
	if (e) {
		cli_error("umount: %s is unmounted, but its daemon's end "
			  "can't be waited for (%s: %s)",
			  mountpoint, p.lock, strerror(-e));
		return EXIT_FAILURE_;
	}
	if (n.kind == NOTE_EXIT && n.value == 0)
		return EXIT_OK;
	if (n.kind == NOTE_EXIT) {
		cli_error("umount: the daemon of %s exited with status %ld "
			  "(its log says why)",
			  mountpoint, n.value);
		return n.value > 0 && n.value < 256 ? (int)n.value
						    : EXIT_FAILURE_;
	}
	if (n.kind == NOTE_RUNNING)
		cli_error("umount: the daemon of %s (pid %ld) ended without "
			  "a last commit (killed?); the journal keeps every "
			  "change for the next mount",
			  mountpoint, n.value);
	else
		cli_error("umount: the daemon of %s left no exit status in %s",
			  mountpoint, p.lock);
	return EXIT_FAILURE_;
}

int cmd_umount(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_OPTIONS_END,
	};
	int c = getopt_long(argc, argv, "h", opts, NULL);
	if (c != -1)
		return cli_help("umount", umount_usage, c);
	if (optind + 1 != argc)
		return cli_usage("umount", "wants one MOUNTPOINT");
	const char *arg = argv[optind];
	char path[PATH_MAX];
	int e = resolve(arg, path);
	if (e) {
		cli_error("umount: %s: %s", arg, strerror(-e));
		return EXIT_FAILURE_;
	}
	struct found f = {.path = path};
	e = mountinfo_each(find_mount, &f);
	if (e < 0) {
		cli_error("umount: /proc/self/mountinfo: %s", strerror(-e));
		return EXIT_FAILURE_;
	}
	if (!f.any) {
		cli_error("umount: %s is not a mount point", arg);
		return EXIT_FAILURE_;
	}
	if (!f.ours) {
		cli_error("umount: %s is not an ipmaildir mount (%s)", arg,
			  f.type);
		return EXIT_FAILURE_;
	}
	char why[512];
	if (fuse_unmount(path, why, sizeof(why)) != 0) {
		cli_error("umount: %s", why);
		return EXIT_FAILURE_;
	}
	/* Nothing to wait for: no commit comes from a read-only mount. */
	if (f.read_only || !f.store[0])
		return EXIT_OK;
	return wait_writer(arg, f.store);
}
