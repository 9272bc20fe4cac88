/*
 * maildir_deliver — deliver stdin into a Maildir the way qmail-local's
 * maildir_child does: a unique name in tmp/ created with O_EXCL, the
 * message written and fsync'ed, then link() to new/ and unlink of tmp/
 * (or rename() with --rename, as most other MDAs do).
 *
 *   maildir_deliver [--rename] MAILDIR < message
 *
 * Prints "new/NAME" on success.  Exit codes follow the MTA convention so
 * a test can tell what the deliverer promised: 0 delivered (the message
 * is durable), 75 (EX_TEMPFAIL) temporary failure, 100 permanent failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

enum { EXIT_DELIVERED = 0, EXIT_TEMPFAIL = 75, EXIT_PERMFAIL = 100 };
enum { NAME_TRIES = 3, HOST_MAX = 64 };
/* No test message comes near this; a runaway stdin must not fill the disk. */
static const unsigned long long MESSAGE_MAX = 4ULL << 30;

static int fail(int code, const char *what, const char *path)
{
	fprintf(stderr, "maildir_deliver: %s %s: %s\n", what, path, strerror(errno));
	return code;
}

/* The host part of a name must not hold '/' or ':' (Maildir spec). */
static void host_part(char *out, size_t cap)
{
	char host[HOST_MAX + 1] = "localhost";
	size_t o = 0;

	gethostname(host, HOST_MAX);
	host[HOST_MAX] = '\0';
	for (const char *h = host; *h && o + 5 < cap; h++) {
		if (*h == '/' || *h == ':')
			o += (size_t)snprintf(out + o, cap - o, "\\%03o", (unsigned char)*h);
		else
			out[o++] = *h;
	}
	out[o] = '\0';
}

static int copy_stdin(int fd)
{
	char buf[65536];
	unsigned long long total = 0;

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		total += (unsigned long long)n;
		if (total > MESSAGE_MAX) {
			errno = EFBIG;
			return -1;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
			off += w;
		}
	}
}

int main(int argc, char **argv)
{
	int use_rename = argc == 3 && strcmp(argv[1], "--rename") == 0;
	char host[4 * HOST_MAX + 1], name[PATH_MAX - 8], tmp[PATH_MAX], dst[PATH_MAX];
	int fd = -1;

	if (argc != 2 + use_rename || argv[argc - 1][0] == '-') {
		fprintf(stderr, "usage: maildir_deliver [--rename] MAILDIR < message\n");
		return EXIT_PERMFAIL;
	}
	if (chdir(argv[argc - 1]) != 0)
		return fail(errno == ENOENT || errno == ENOTDIR ? EXIT_PERMFAIL : EXIT_TEMPFAIL,
			    "cannot chdir to", argv[argc - 1]);
	host_part(host, sizeof host);
	for (int t = 0; t < NAME_TRIES && fd < 0; t++) {
		struct timeval tv;
		struct stat st;

		gettimeofday(&tv, NULL);
		snprintf(name, sizeof name, "%lld.M%06ldP%ld.%s", (long long)tv.tv_sec,
			 (long)tv.tv_usec, (long)getpid(), host);
		snprintf(tmp, sizeof tmp, "tmp/%s", name);
		snprintf(dst, sizeof dst, "new/%s", name);
		if (stat(tmp, &st) == 0 || errno != ENOENT) {
			sleep(1); /* qmail sleeps 2 s; the name changes with time */
			continue;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0 && errno != EEXIST)
			return fail(EXIT_TEMPFAIL, "cannot create", tmp);
	}
	if (fd < 0)
		return fail(EXIT_TEMPFAIL, "no unique name in", "tmp/");
	if (copy_stdin(fd) != 0 || fsync(fd) != 0) {
		int code = fail(EXIT_TEMPFAIL, "cannot write", tmp);
		close(fd);
		unlink(tmp);
		return code;
	}
	if (close(fd) != 0) {
		int code = fail(EXIT_TEMPFAIL, "cannot close", tmp);
		unlink(tmp);
		return code;
	}
	if (use_rename ? rename(tmp, dst) != 0 : link(tmp, dst) != 0) {
		int code = fail(EXIT_TEMPFAIL, use_rename ? "cannot rename to" : "cannot link to", dst);
		unlink(tmp);
		return code;
	}
	/* After link() the message is delivered: a stale tmp/ file is harmless. */
	if (!use_rename && unlink(tmp) != 0)
		fprintf(stderr, "maildir_deliver: cannot unlink %s: %s\n", tmp, strerror(errno));
	printf("%s\n", dst);
	return fflush(stdout) == 0 ? EXIT_DELIVERED : EXIT_TEMPFAIL;
}
