/*
 * mmap_race — readers that map a file while a writer grows it, the way
 * Dovecot's processes share dovecot.index.cache and dovecot.index.log
 * (mmap_disable = no): each reader maps the size fstat gives, touches
 * every page and the last byte, unmaps, and again (with --keep-open on
 * one descriptor, as Dovecot keeps its index files open; else opening
 * the file each time); the writer appends records with pwrite at the end
 * and rewrites the first bytes in place (a header update), and only ever
 * grows the file.
 *
 *   mmap_race [--keep-open] [--kernel-size] [--readers N] [--writes N]
 *             [--record BYTES] FILE
 *
 * A page inside the size fstat gave is inside the file for as long as
 * the file only grows, so no reader may get SIGBUS.  With --kernel-size
 * the readers map the size the kernel holds for the file instead
 * (statx AT_STATX_DONT_SYNC): that size may lag, but it must never go
 * below what a reader saw (a stale size in a reply of the file system,
 * or a short read inside the file, would make the kernel shrink it).
 * A reader that gets SIGBUS says where, with the size the kernel held
 * then and the size fstat gives after; the run fails.
 *
 * Exit: 0 no reader got SIGBUS and the file ends at the size written;
 * 1 a reader got SIGBUS, or another check failed; 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { READERS_MAX = 16, HEADER = 64, PAGE = 4096 };

struct opts {
	bool keep_open;   /* each reader maps through one descriptor */
	bool kernel_size; /* ... the size the kernel holds, not fstat's */
};

/* One reader process's: where its SIGBUS came back to (each reader is
 * its own process, one thread; the handler only jumps). */
static sigjmp_buf fault_jump;
static volatile uintptr_t fault_addr;

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	fault_addr = (uintptr_t)si->si_addr;
	siglongjmp(fault_jump, 1);
}

/* Every page of the mapping m (size bytes of fd) and its last byte; 1
 * on SIGBUS (said on stderr), else 0.  Its own function: nothing of the
 * caller's lives across the jump. */
static int touch(int fd, volatile const unsigned char *m, size_t size,
		 unsigned long *sum)
{
	int bad = 0;
	if (sigsetjmp(fault_jump, 1) == 0) {
		for (size_t off = 0; off < size; off += PAGE)
			*sum += m[off];
		*sum += m[size - 1];
	} else {
		/* The kernel's size now, as it holds it (no request). */
		struct statx sx;
		long long held = statx(fd, "", AT_EMPTY_PATH |
				       AT_STATX_DONT_SYNC, STATX_SIZE, &sx) == 0
					 ? (long long)sx.stx_size
					 : -1;
		struct stat now;
		long long cur = fstat(fd, &now) == 0 ? (long long)now.st_size
						     : -1;
		fprintf(stderr,
			"mmap_race: reader %d: SIGBUS at offset %llu of a "
			"mapping of %zu bytes (kernel's size then %lld, "
			"fstat now %lld)\n",
			(int)getpid(),
			(unsigned long long)(fault_addr - (uintptr_t)m), size,
			held, cur);
		bad = 1;
	}
	return bad;
}

/* The size a reader maps: fstat's, or with kernel_size the one the
 * kernel holds (statx AT_STATX_DONT_SYNC, no request); -1 on error. */
static long long size_of(int fd, bool kernel_size)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1;
	if (kernel_size) {
		/* After the fstat: its answer, applied, is in what the kernel
		 * holds (a stale one would show as a shrink). */
		struct statx sx;
		return statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC,
			     STATX_SIZE, &sx) == 0
			       ? (long long)sx.stx_size
			       : -1;
	}
	return (long long)st.st_size;
}

/* Map path at its size (size_of) and touch it all; 1 on SIGBUS (said
 * on stderr), -1 on another error, 0 otherwise. */
static int read_once(const char *path, int keep, bool kernel_size,
		     unsigned long *sum)
{
	int fd = keep >= 0 ? keep : open(path, O_RDONLY);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	long long have = size_of(fd, kernel_size);
	int r = have < 0 ? -1 : 0;
	size_t size = r == 0 ? (size_t)have : 0;
	volatile const unsigned char *m =
		size ? mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0) : NULL;
	if (m == MAP_FAILED)
		r = -1;
	if (r != 0 || size == 0) {
		if (keep < 0)
			close(fd);
		return r;
	}
	int bad = touch(fd, m, size, sum);
	munmap((void *)m, size);
	if (keep < 0)
		close(fd);
	return bad;
}

/* Read until the writer is done (stop readable: it closed its end). */
static int reader(const char *path, const struct opts *o, int stop)
{
	bool keep_open = o->keep_open;
	int keep = keep_open ? open(path, O_RDONLY) : -1;
	if (keep_open && keep < 0)
		return 1;
	struct sigaction sa = {.sa_sigaction = on_sigbus,
			       .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) != 0)
		return 1;
	unsigned long sum = 0, maps = 0;
	for (;;) {
		char c;
		int r = read_once(path, keep, o->kernel_size, &sum);
		if (r != 0) {
			if (r < 0)
				fprintf(stderr, "mmap_race: reader: %s: %s\n",
					path, strerror(errno));
			return 1;
		}
		maps++;
		/* The writer's end closed: done (EOF, never data). */
		if (read(stop, &c, 1) == 0)
			break;
	}
	(void)sum;
	return maps ? 0 : 1;
}

static int write_all_at(int fd, const unsigned char *b, size_t n, off_t at)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, b, n, at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
		at += w;
	}
	return 0;
}

/* writes records of rec bytes at the end, each followed by a header
 * rewrite; the file's final size, or -1. */
static long long writer(int fd, unsigned writes, size_t rec)
{
	unsigned char *b = malloc(rec > HEADER ? rec : HEADER);
	off_t end = HEADER;
	if (!b)
		return -1;
	for (unsigned i = 0; i < writes; i++) {
		memset(b, 'a' + (int)(i % 26), rec);
		if (write_all_at(fd, b, rec, end) != 0)
			break;
		end += (off_t)rec;
		/* As Dovecot checks its files: an attribute request in
		 * between (answered by a file system with a stale size, it
		 * would shrink what the kernel holds). */
		struct stat st;
		if (fstat(fd, &st) != 0)
			break;
		memset(b, 'A' + (int)(i % 26), HEADER);
		if (write_all_at(fd, b, HEADER, 0) != 0)
			break;
	}
	free(b);
	return (long long)end;
}

static int usage(void)
{
	fprintf(stderr, "usage: mmap_race [--keep-open] [--kernel-size] "
			"[--readers N] [--writes N] [--record BYTES] FILE\n");
	return 2;
}

int main(int argc, char **argv)
{
	unsigned readers = 2, writes = 3000;
	size_t rec = 3000;
	struct opts o = {0};
	int a = 1;
	for (; a + 1 < argc && strncmp(argv[a], "--", 2) == 0; a += 2) {
		bool *flag = strcmp(argv[a], "--keep-open") == 0 ? &o.keep_open
			     : strcmp(argv[a], "--kernel-size") == 0
				     ? &o.kernel_size
				     : NULL;
		if (flag) {
			*flag = true;
			a--;
			continue;
		}
		unsigned long v = strtoul(argv[a + 1], NULL, 10);
		if (strcmp(argv[a], "--readers") == 0 && v >= 1 &&
		    v <= READERS_MAX)
			readers = (unsigned)v;
		else if (strcmp(argv[a], "--writes") == 0 && v >= 1)
			writes = (unsigned)v;
		else if (strcmp(argv[a], "--record") == 0 && v >= 1 &&
			 v <= (1u << 20))
			rec = v;
		else
			return usage();
	}
	if (a + 1 != argc)
		return usage();
	const char *path = argv[a];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	unsigned char head[HEADER];
	memset(head, 'H', sizeof(head));
	if (fd < 0 || write_all_at(fd, head, HEADER, 0) != 0) {
		fprintf(stderr, "mmap_race: %s: %s\n", path, strerror(errno));
		return 1;
	}
	int p[2];
	if (pipe(p) != 0)
		return 1;
	pid_t kids[READERS_MAX];
	for (unsigned i = 0; i < readers; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			close(p[1]);
			fcntl(p[0], F_SETFL, O_NONBLOCK);
			_exit(reader(path, &o, p[0]));
		}
	}
	close(p[0]);
	long long end = writer(fd, writes, rec);
	close(p[1]);
	int failed = 0;
	for (unsigned i = 0; i < readers; i++) {
		int st = 0;
		if (kids[i] < 0 || waitpid(kids[i], &st, 0) < 0 ||
		    !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	struct stat st;
	long long size = fstat(fd, &st) == 0 ? (long long)st.st_size : -1;
	close(fd);
	printf("readers %u, failed %d; size %lld, written %lld\n", readers,
	       failed, size, end);
	return failed || end < 0 || size != end ? 1 : 0;
}
