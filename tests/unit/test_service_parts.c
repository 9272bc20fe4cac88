/*
 * tests/unit/test_service_parts.c — the pure parts behind the service
 * behaviour: mountinfo lines (fs/store/mountinfo.h), the writer's note in
 * STORE/lock (fs/store/lock_note.h), and the log's file lines
 * (util/log.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/store/lock_note.h"
#include "fs/store/mountinfo.h"
#include "tests/tap.h"
#include "util/log.h"

static void test_mountinfo(void)
{
	char line[] = "52 30 0:47 / /home/a\\040b/Mail rw,nosuid,nodev "
		      "shared:27 master:1 - fuse.ipmaildir "
		      "ipmaildir:/var/lib/st\\134x rw,user_id=0\n";
	struct mountinfo_entry e;
	is_int(mountinfo_parse(line, &e), 0, "an ipmaildir mount parses");
	is_str(e.mountpoint, "/home/a b/Mail", "mount point, \\040 undone");
	is_str(e.type, "fuse.ipmaildir", "type after the tags and '-'");
	is_str(e.source, "ipmaildir:/var/lib/st\\x", "source, \\134 undone");
	ok(!mountinfo_read_only(&e), "rw: not read-only");

	char ro[] = "60 30 0:50 / /mnt ro,relatime - fuse.ipmaildir "
		    "ipmaildir-archive:/s ro\n";
	ok(mountinfo_parse(ro, &e) == 0 && mountinfo_read_only(&e),
	   "ro among the mount's options: read-only");
	char nearly[] = "61 30 0:51 / /mnt rw,rootcontext=ro - ext4 /dev/x "
			"ro\n";
	ok(mountinfo_parse(nearly, &e) == 0 && !mountinfo_read_only(&e),
	   "only the mount's own options count, whole words only");
	/* A mount point named "-" is no separator. */
	char dash[] = "62 30 0:52 / - rw - tmpfs none rw\n";
	ok(mountinfo_parse(dash, &e) == 0 && !strcmp(e.mountpoint, "-") &&
		   !strcmp(e.type, "tmpfs"),
	   "a mount point named '-'");
	char bad[] = "62 30 0:52 / /x rw\n";
	is_int(mountinfo_parse(bad, &e), -EINVAL, "no separator: -EINVAL");
	char empty[] = "\n";
	is_int(mountinfo_parse(empty, &e), -EINVAL, "an empty line: -EINVAL");
}

static void test_note(void)
{
	struct lock_note n;
	lock_note_parse("running 1234\n", &n);
	ok(n.kind == NOTE_RUNNING && n.value == 1234, "running PID");
	lock_note_parse("exit 1\n", &n);
	ok(n.kind == NOTE_EXIT && n.value == 1, "exit STATUS");
	static const char *const junk[] = {
		"", "exit", "exit \n", "exit x\n", "exit 1 2\n", "running -3\n",
		"Exit 0\n", "exit 0\njunk",
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		lock_note_parse(junk[i], &n);
		ok(n.kind == NOTE_NONE, "junk note %zu: none", i);
	}

	/* Written through the lock's descriptor, read back by a waiter. */
	struct store_paths p;
	is_int(store_paths_init(&p, tap_tempdir()), 0, "a store's paths");
	int fd = open(p.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ok(fd >= 0, "the lock file");
	lock_note_exit(fd, 0);
	is_int(lock_note_running(fd, 77), 0, "running written over exit");
	is_int(lock_note_wait(&p, &n), 0, "waited for a free lock");
	ok(n.kind == NOTE_RUNNING && n.value == 77, "reads running 77 whole");
	is_int(lock_note_exit(fd, 3), 0, "exit written");
	close(fd);
	ok(lock_note_wait(&p, &n) == 0 && n.kind == NOTE_EXIT && n.value == 3,
	   "reads exit 3, nothing of the longer text before");
}

static void test_log_file(void)
{
	char path[PATH_MAX], line[LOG_LINE_MAX + 128];
	snprintf(path, sizeof(path), "%s/log", tap_tempdir());
	is_int(log_to_file(path), 0, "log to a file");
	is_str(log_where(), path, "log_where names it");
	logmsg(LOG_WARNING, "a %s line", "first");
	char big[LOG_LINE_MAX * 2];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	logmsg(LOG_ERR, "%s", big);
	FILE *f = fopen(path, "r");
	ok(f && fgets(line, sizeof(line), f), "a line in the file");
	regex_t re;
	regcomp(&re,
		"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
		"[-+][0-9]{4} ipmaildir\\[[0-9]+\\]: a first line\n$",
		REG_EXTENDED | REG_NOSUB);
	ok(regexec(&re, line, 0, NULL, 0) == 0,
	   "time, ident, pid, message: %s", line);
	regfree(&re);
	ok(f && fgets(line, sizeof(line), f) && line[strlen(line) - 1] == '\n' &&
		   strlen(line) < LOG_LINE_MAX + 64,
	   "a long message is cut, and still ends its line");
	ok(f && !fgets(line, sizeof(line), f), "two lines, no more");
	if (f)
		fclose(f);
	struct stat st;
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	   "the file is its owner's only");
	is_int(log_to_file("/nonexistent-dir/x.log"), -ENOENT,
	       "a file that can't be made: -ENOENT");
}

int main(void)
{
	test_mountinfo();
	test_note();
	test_log_file();
	return tap_done();
}
