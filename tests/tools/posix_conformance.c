/*
 * tests/tools/posix_conformance.c — the POSIX semantics a Maildir needs,
 * checked on any directory, in the manner of pjdfstest.
 *
 *   posix_conformance [--keep] [--only=GROUP,...] DIR
 *   posix_conformance --as-unprivileged DIR
 *   posix_conformance --list
 *
 * Default mode: makes DIR/pc.PID, one fresh subdirectory per check group
 * inside it, runs every group (or those named by --only) and removes the
 * tree afterwards unless --keep.  Run as root it also checks chown.
 *
 * --as-unprivileged: the EACCES/EPERM checks a kernel makes under
 * default_permissions.  Must run as a non-root user against a directory
 * prepared by root (the caller makes it; this program only reads it):
 *   DIR          owned by someone else, mode 0755
 *   DIR/file     owned by someone else, mode 0644, not empty
 *   DIR/dir      owned by someone else, mode 0755, empty
 *   DIR/private  owned by someone else, mode 0700
 *   DIR/mine     owned by the running user, mode 0755, empty
 *
 * Output is complete TAP on stdout (trailing plan), diagnostics as "# "
 * lines after the failing check with the errno's name.  Exit status 0 only
 * if every check passed (skips and TODOs pass).  A standalone C17 program:
 * no project code, only libc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/io.h"

/* A name of NAME_MAX bytes must work; one byte more must not. */
#define PC_NAME_MAX 255
/* Files in the big readdir checks (Maildir folders hold many). */
#define PC_MANY 1000
/* Files whose inode numbers must be distinct. */
#define PC_INODES 200
/* Hard cap on entries any listing may return: a looping readdir stops. */
#define PC_LIST_MAX 100000
/* getdents64 buffer small enough to force many calls over PC_MANY names. */
#define PC_SMALL_DENTS 512
/* Concurrent rename-over replacements, and the reader's open() budget. */
#define PC_RENAMES 300
#define PC_RENAME_READS 200000
#define PC_VERSION_LEN 64
/* Concurrent Maildir deliverers and messages each. */
#define PC_DELIVERERS 4
#define PC_DELIVERIES 50
#define PC_MSG_MAX 32768
/* Big file for chunk-boundary checks: 3 MiB and an odd tail. */
#define PC_BIG (3u * 1024 * 1024 + 123)
#define PC_MIB (1024 * 1024)
/* The uid/gid chown goes to and back from (nobody/nogroup). */
#define PC_NOBODY 65534
/* Delay between two timestamp observations on a fine-grained FS. */
#define PC_TICK_NS 20000000L
#define PC_NS 1000000000L

struct ctx {
	int n;	    /* checks printed */
	int failed; /* not ok without TODO */
	char top[PATH_MAX];
	long ts_gran; /* ns: largest power of ten dividing every timestamp */
	struct timespec tick;
	const char *only;
};

typedef struct {
	char s[PATH_MAX];
} path_t;

/* ---------------------------------------------------------------- TAP */

static const char *ename(int e)
{
	const char *s = strerrorname_np(e);
	return s ? s : "E?";
}

/* One TAP line that is not a check: what starts it, then the message. */
static void vsay(const char *what, const char *fmt, va_list ap)
{
	fputs(what, stdout);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay("# ", fmt, ap);
	va_end(ap);
}

static void bail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static void bail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay("Bail out! ", fmt, ap);
	va_end(ap);
	exit(255);
}

static bool vline(struct ctx *c, bool pass, const char *directive,
		  const char *fmt, va_list ap)
{
	c->n++;
	printf("%s %d - ", pass ? "ok" : "not ok", c->n);
	vprintf(fmt, ap);
	if (directive)
		printf(" # %s", directive);
	putchar('\n');
	fflush(stdout);
	if (!pass && (!directive || strncmp(directive, "TODO", 4) != 0))
		c->failed++;
	return pass;
}

static bool check(struct ctx *c, bool pass, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool check(struct ctx *c, bool pass, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(c, pass, NULL, fmt, ap);
	va_end(ap);
	return pass;
}

static void skip(struct ctx *c, const char *why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void skip(struct ctx *c, const char *why, const char *fmt, ...)
{
	char d[256];
	va_list ap;
	snprintf(d, sizeof d, "SKIP %s", why);
	va_start(ap, fmt);
	vline(c, true, d, fmt, ap);
	va_end(ap);
}

/* A syscall's return with the errno it left, read after the call. */
struct res {
	long ret;
	int err;
};

static struct res res_of(long ret)
{
	struct res r = { ret, ret < 0 ? errno : 0 };
	return r;
}
#define R(call) res_of((long)(call))

/* The same for this file's helpers, which return -errno themselves. */
static struct res res_neg(long rc)
{
	struct res r = { rc < 0 ? -1 : rc, rc < 0 ? (int)-rc : 0 };
	return r;
}
#define RN(call) res_neg((long)(call))

static bool is_ok(struct ctx *c, struct res r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool is_ok(struct ctx *c, struct res r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bool pass = vline(c, r.ret >= 0, NULL, fmt, ap);
	va_end(ap);
	if (!pass)
		diag("failed with %s (%s)", ename(r.err), strerror(r.err));
	return pass;
}

/* Pass if the call failed with want1 or want2 (want2 0: only want1). */
static bool vis_err(struct ctx *c, struct res r, int want1, int want2,
		    const char *fmt, va_list ap)
{
	bool pass =
		r.ret == -1 && (r.err == want1 || (want2 && r.err == want2));
	vline(c, pass, NULL, fmt, ap);
	if (pass)
		return true;
	if (r.ret == -1)
		diag("got %s, want %s%s%s", ename(r.err), ename(want1),
		     want2 ? " or " : "", want2 ? ename(want2) : "");
	else
		diag("succeeded (returned %ld), want %s", r.ret, ename(want1));
	return false;
}

static bool is_err(struct ctx *c, struct res r, int want, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool is_err(struct ctx *c, struct res r, int want, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bool pass = vis_err(c, r, want, 0, fmt, ap);
	va_end(ap);
	return pass;
}

static bool is_err2(struct ctx *c, struct res r, int w1, int w2,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static bool is_err2(struct ctx *c, struct res r, int w1, int w2,
		    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bool pass = vis_err(c, r, w1, w2, fmt, ap);
	va_end(ap);
	return pass;
}

static bool is_num(struct ctx *c, long long got, long long want,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool is_num(struct ctx *c, long long got, long long want,
		   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bool pass = vline(c, got == want, NULL, fmt, ap);
	va_end(ap);
	if (!pass)
		diag("got %lld, want %lld", got, want);
	return pass;
}

/* A step a group needs: silent when it works, a failing check if not. */
static bool setup(struct ctx *c, struct res r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool setup(struct ctx *c, struct res r, const char *fmt, ...)
{
	if (r.ret >= 0)
		return true;
	va_list ap;
	va_start(ap, fmt);
	char what[512];
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	check(c, false, "setup: %s", what);
	diag("failed with %s (%s)", ename(r.err), strerror(r.err));
	return false;
}

/* ---------------------------------------------------------- utilities */

static path_t pj(const char *dir, const char *name)
{
	path_t p;
	int n = snprintf(p.s, sizeof p.s, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof p.s)
		bail("path too long: %s/%s", dir, name);
	return p;
}

static path_t pjf(const char *dir, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static path_t pjf(const char *dir, const char *fmt, ...)
{
	char name[PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof name)
		bail("name too long under %s", dir);
	return pj(dir, name);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		bail("out of memory (%zu bytes)", n);
	return p;
}

/* Deterministic bytes (xorshift64), so a mismatch can be reproduced. */
static void pattern(void *buf, size_t len, uint64_t seed)
{
	uint8_t *b = buf;
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (uint8_t)(x >> 24);
	}
}

static bool all_zero(const void *buf, size_t len)
{
	const uint8_t *b = buf;
	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/* Up to len bytes at off; fewer only at end of file (util/io.h has the
 * exact form, pread_all). */
static ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t r = pread(fd, p + done, len - done, off + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* Create or replace path with exactly buf.  0 or -errno. */
static int put_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0)
		return -errno;
	int e = -write_all(fd, buf, len);
	if (close(fd) != 0 && !e)
		e = errno;
	return -e;
}

static int put_str(const char *path, const char *s)
{
	return put_file(path, s, strlen(s));
}

/* Read up to cap bytes of path: the count, or -errno. */
static ssize_t slurp(const char *path, void *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	ssize_t r = pread_full(fd, buf, cap, 0);
	int e = r < 0 ? errno : 0;
	close(fd);
	return e ? -e : r;
}

static bool vis_bytes(struct ctx *c, const void *got, size_t glen,
		      const void *want, size_t wlen, const char *fmt,
		      va_list ap)
{
	bool pass = glen == wlen && memcmp(got, want, wlen) == 0;
	vline(c, pass, NULL, fmt, ap);
	if (pass)
		return true;
	if (glen != wlen)
		diag("length %zu, want %zu", glen, wlen);
	size_t n = glen < wlen ? glen : wlen;
	const uint8_t *g = got, *w = want;
	for (size_t i = 0; i < n; i++)
		if (g[i] != w[i]) {
			diag("first difference at offset %zu: 0x%02x, want 0x%02x",
			     i, g[i], w[i]);
			break;
		}
	return false;
}

static bool is_bytes(struct ctx *c, const void *got, size_t glen,
		     const void *want, size_t wlen, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static bool is_bytes(struct ctx *c, const void *got, size_t glen,
		     const void *want, size_t wlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bool pass = vis_bytes(c, got, glen, want, wlen, fmt, ap);
	va_end(ap);
	return pass;
}

/* The file at path holds exactly want (read one byte more to see extra). */
static bool is_content(struct ctx *c, const char *path, const void *want,
		       size_t len, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static bool is_content(struct ctx *c, const char *path, const void *want,
		       size_t len, const char *fmt, ...)
{
	char *buf = xmalloc(len + 1);
	ssize_t got = slurp(path, buf, len + 1);
	va_list ap;
	va_start(ap, fmt);
	bool pass;
	if (got < 0) {
		pass = vline(c, false, NULL, fmt, ap);
		diag("reading %s: %s", path, ename((int)-got));
	} else {
		pass = vis_bytes(c, buf, (size_t)got, want, len, fmt, ap);
	}
	va_end(ap);
	free(buf);
	return pass;
}

static bool is_str_content(struct ctx *c, const char *path, const char *want,
			   const char *name)
{
	return is_content(c, path, want, strlen(want), "%s", name);
}

static int ts_cmp(struct timespec a, struct timespec b)
{
	if (a.tv_sec != b.tv_sec)
		return a.tv_sec < b.tv_sec ? -1 : 1;
	if (a.tv_nsec != b.tv_nsec)
		return a.tv_nsec < b.tv_nsec ? -1 : 1;
	return 0;
}

static void nap(const struct ctx *c)
{
	struct timespec t = c->tick;
	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

/* A fresh directory for one check group. */
static bool group_dir(struct ctx *c, const char *name, path_t *out)
{
	*out = pj(c->top, name);
	return setup(c, R(mkdir(out->s, 0755)), "mkdir %s", out->s);
}

/* open that is expected to fail; a surprise fd is closed. */
static bool open_err(struct ctx *c, const char *path, int flags, int want,
		     const char *name)
{
	struct res r = R(open(path, flags, 0644));
	if (r.ret >= 0)
		close((int)r.ret);
	return is_err(c, r, want, "%s", name);
}

static nlink_t nlink_of(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 ? st.st_nlink : 0;
}

static ino_t ino_of(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 ? st.st_ino : 0;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* ----------------------------------------------------------- listings */

struct dent {
	char name[PC_NAME_MAX + 1];
	unsigned char type;
	ino_t ino;
};

struct dlist {
	struct dent *v;
	size_t n, cap;
};

static void dlist_free(struct dlist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static void dlist_add(struct dlist *l, const char *name, unsigned char type,
		      ino_t ino)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct dent *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			bail("out of memory listing a directory");
		l->v = v;
		l->cap = cap;
	}
	struct dent *d = &l->v[l->n++];
	snprintf(d->name, sizeof d->name, "%s", name);
	d->type = type;
	d->ino = ino;
}

/* readdir(3) the whole directory: 0 or -errno (-E2BIG past the cap). */
static int list_dir(const char *path, struct dlist *out)
{
	DIR *dir = opendir(path);
	if (!dir)
		return -errno;
	int rc = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(dir);
		if (!de) {
			rc = errno ? -errno : 0;
			break;
		}
		if (out->n >= PC_LIST_MAX) {
			rc = -E2BIG;
			break;
		}
		dlist_add(out, de->d_name, de->d_type, de->d_ino);
	}
	closedir(dir);
	return rc;
}

static const struct dent *dlist_find(const struct dlist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

/* Count the entries of a directory other than "." and "..", or -errno. */
static long count_entries(const char *path)
{
	struct dlist l = { 0 };
	int rc = list_dir(path, &l);
	long n = 0;
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.v[i].name, ".") && strcmp(l.v[i].name, ".."))
			n++;
	dlist_free(&l);
	return rc < 0 ? rc : n;
}

/* Index of a name made by many_name ("m0042" → 42), or -1. */
static int many_index(const char *name, char prefix)
{
	if (name[0] != prefix || strlen(name) != 5)
		return -1;
	int v = 0;
	for (int i = 1; i < 5; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	return v < PC_MANY ? v : -1;
}

static bool make_many(struct ctx *c, const char *dir, char prefix)
{
	for (int i = 0; i < PC_MANY; i++) {
		path_t p = pjf(dir, "%c%04d", prefix, i);
		int fd = open(p.s, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (!setup(c, R(fd), "create %s", p.s))
			return false;
		close(fd);
	}
	return true;
}

/* ---------------------------------------------------------------- open */

static void t_open(struct ctx *c, path_t d)
{
	path_t f = pj(d.s, "f");

	int fd = open(f.s, O_CREAT | O_EXCL | O_WRONLY, 0640);
	if (is_ok(c, R(fd), "open: O_CREAT|O_EXCL creates a new file")) {
		setup(c, RN(write_all(fd, "content", 7)), "write %s", f.s);
		close(fd);
	}
	struct stat st;
	bool got = lstat(f.s, &st) == 0;
	if (!check(c,
		   got && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0640,
		   "open: the new file is regular with mode 0640 (umask 022)"))
		diag("mode %o", got ? (unsigned)st.st_mode : 0u);
	open_err(c, f.s, O_CREAT | O_EXCL | O_WRONLY, EEXIST,
		 "open: O_CREAT|O_EXCL on an existing file -> EEXIST");
	fd = open(f.s, O_CREAT | O_WRONLY, 0644);
	if (fd >= 0)
		close(fd);
	is_str_content(
		c, f.s, "content",
		"open: O_CREAT without O_EXCL keeps an existing file's content");

	open_err(c, pj(d.s, "missing/f").s, O_CREAT | O_WRONLY, ENOENT,
		 "open: O_CREAT in a missing directory -> ENOENT");
	open_err(c, pj(d.s, "nosuch").s, O_RDONLY, ENOENT,
		 "open: missing file without O_CREAT -> ENOENT");
	open_err(
		c, pj(f.s, "x").s, O_CREAT | O_WRONLY, ENOTDIR,
		"open: O_CREAT under a path component that is a file -> ENOTDIR");
	open_err(
		c, pj(f.s, "x").s, O_RDONLY, ENOTDIR,
		"open: lookup under a path component that is a file -> ENOTDIR");
	open_err(c, d.s, O_WRONLY, EISDIR,
		 "open: a directory O_WRONLY -> EISDIR");
	open_err(c, d.s, O_RDWR, EISDIR, "open: a directory O_RDWR -> EISDIR");
	open_err(c, f.s, O_RDONLY | O_DIRECTORY, ENOTDIR,
		 "open: a file with O_DIRECTORY -> ENOTDIR");
	fd = open(d.s, O_RDONLY | O_DIRECTORY);
	if (is_ok(c, R(fd), "open: a directory O_RDONLY|O_DIRECTORY"))
		close(fd);

	char name[PC_NAME_MAX + 2];
	memset(name, 'n', PC_NAME_MAX);
	name[PC_NAME_MAX] = '\0';
	path_t n255 = pj(d.s, name);
	fd = open(n255.s, O_CREAT | O_EXCL | O_WRONLY, 0644);
	if (is_ok(c, R(fd), "open: a 255-byte name can be created"))
		close(fd);
	check(c, exists(n255.s), "open: the 255-byte name can be looked up");
	struct dlist l = { 0 };
	list_dir(d.s, &l);
	check(c, dlist_find(&l, name) != NULL,
	      "open: the 255-byte name is listed");
	dlist_free(&l);
	name[PC_NAME_MAX] = 'n';
	name[PC_NAME_MAX + 1] = '\0';
	path_t n256 = pj(d.s, name);
	open_err(c, n256.s, O_CREAT | O_WRONLY, ENAMETOOLONG,
		 "open: O_CREAT of a 256-byte name -> ENAMETOOLONG");
	is_err(c, R(lstat(n256.s, &st)), ENAMETOOLONG,
	       "lstat: a 256-byte name -> ENAMETOOLONG");

	/* What a Maildir reader sees: long names with ":2," and commas. */
	const char *mname =
		"1700000000.M123456P7890Q12R0123456789abcdef.host.example.org,S=123456,W=125000:2,FRS";
	path_t mp = pj(d.s, mname);
	fd = open(mp.s, O_CREAT | O_EXCL | O_WRONLY, 0600);
	if (is_ok(c, R(fd),
		  "open: a Maildir name with ':2,' and ',S=' can be created"))
		close(fd);
	check(c, exists(mp.s), "open: the Maildir name can be looked up");

	path_t t = pj(d.s, "trunc");
	char hundred[100];
	pattern(hundred, sizeof hundred, 1);
	setup(c, RN(put_file(t.s, hundred, sizeof hundred)), "write %s", t.s);
	fd = open(t.s, O_WRONLY | O_TRUNC);
	if (is_ok(c, R(fd), "open: O_WRONLY|O_TRUNC of an existing file")) {
		if (fstat(fd, &st) != 0)
			st.st_size = -1;
		is_num(c, st.st_size, 0, "open: O_TRUNC makes fstat size 0");
		close(fd);
	}
	is_content(c, t.s, "", 0, "open: O_TRUNC leaves no old bytes to read");
	setup(c, RN(put_file(t.s, hundred, sizeof hundred)), "write %s", t.s);
	fd = open(t.s, O_RDWR | O_TRUNC);
	if (fd >= 0) {
		setup(c, RN(write_all(fd, "new", 3)), "write %s", t.s);
		close(fd);
	}
	is_str_content(
		c, t.s, "new",
		"open: O_RDWR|O_TRUNC then a short write leaves exactly the new bytes");

	path_t dangling = pj(d.s, "dangling");
	path_t dtarget = pj(d.s, "dangling-target");
	if (setup(c, R(symlink("dangling-target", dangling.s)), "symlink %s",
		  dangling.s)) {
		open_err(
			c, dangling.s, O_CREAT | O_EXCL | O_WRONLY, EEXIST,
			"open: O_CREAT|O_EXCL on a dangling symlink -> EEXIST");
		check(c, !exists(dtarget.s),
		      "open: O_CREAT|O_EXCL did not create the symlink's target");
	}
}

/* ------------------------------------------------------ read and write */

static void t_rw(struct ctx *c, path_t d)
{
	path_t f = pj(d.s, "holes");
	struct stat st;
	int fd = open(f.s, O_CREAT | O_EXCL | O_RDWR, 0644);
	if (!setup(c, R(fd), "create %s", f.s))
		return;
	setup(c, R(pwrite(fd, "abc", 3, 0)), "pwrite at 0");
	is_num(c, pwrite(fd, "xyz", 3, 10000), 3,
	       "write: pwrite of 3 bytes at 10000");
	is_num(c, fstat(fd, &st) == 0 ? st.st_size : -1, 10003,
	       "write: pwrite beyond EOF extends the file (fstat size)");
	is_num(c, lstat(f.s, &st) == 0 ? st.st_size : -1, 10003,
	       "write: stat by path sees the new size before close");
	char *buf = xmalloc(20000);
	char want[10003];
	memset(want, 0, sizeof want);
	memcpy(want, "abc", 3);
	memcpy(want + 10000, "xyz", 3);
	ssize_t got = pread_full(fd, buf, 20000, 0);
	is_bytes(c, buf, got < 0 ? 0 : (size_t)got, want, sizeof want,
		 "read: the hole between two writes reads as zeros");
	is_num(c, pread(fd, buf, 10, 10003), 0, "read: pread at EOF returns 0");
	is_num(c, pread(fd, buf, 10, (off_t)1 << 30), 0,
	       "read: pread far past EOF returns 0");
	int fd2 = open(f.s, O_RDONLY);
	got = fd2 < 0 ? -1 : pread_full(fd2, buf, 20000, 0);
	is_bytes(c, buf, got < 0 ? 0 : (size_t)got, want, sizeof want,
		 "read: a second fd sees the writes before the writer closes");
	if (fd2 >= 0)
		close(fd2);
	off_t far = 3 * (off_t)PC_MIB + 17;
	setup(c, R(pwrite(fd, "E", 1, far)), "pwrite at %lld", (long long)far);
	is_num(c, fstat(fd, &st) == 0 ? st.st_size : -1, far + 1,
	       "write: pwrite at 3 MiB+17 extends to 3 MiB+18");
	got = pread_full(fd, buf, 20000, 2 * (off_t)PC_MIB);
	check(c, got == 20000 && all_zero(buf, 20000),
	      "read: 20000 bytes inside a 3 MiB hole are all zeros");
	close(fd);
	fd = open(f.s, O_RDONLY);
	got = fd < 0 ? -1 : pread_full(fd, buf, 10003, 0);
	is_bytes(c, buf, got < 0 ? 0 : (size_t)got, want, sizeof want,
		 "read: after close and reopen the head is unchanged");
	char e;
	check(c, fd >= 0 && pread(fd, &e, 1, far) == 1 && e == 'E',
	      "read: after reopen the byte at 3 MiB+17 is there");
	if (fd >= 0)
		close(fd);
	free(buf);

	/* Odd-sized pieces across any chunk boundary the FS may have. */
	path_t big = pj(d.s, "big");
	char *data = xmalloc(PC_BIG), *back = xmalloc(PC_BIG + 1);
	pattern(data, PC_BIG, 2);
	fd = open(big.s, O_CREAT | O_EXCL | O_WRONLY, 0644);
	if (setup(c, R(fd), "create %s", big.s)) {
		size_t off = 0;
		while (off < PC_BIG) {
			size_t n = PC_BIG - off < 4093 ? PC_BIG - off : 4093;
			if (!setup(c, RN(write_all(fd, data + off, n)),
				   "write %s", big.s))
				break;
			off += n;
		}
		is_num(c, fstat(fd, &st) == 0 ? st.st_size : -1, PC_BIG,
		       "write: 3 MiB in 4093-byte writes gives the right size");
		close(fd);
	}
	fd = open(big.s, O_RDONLY);
	size_t have = 0;
	if (fd >= 0) {
		for (;;) {
			ssize_t r = read(fd, back + have,
					 PC_BIG + 1 - have < 65537
						 ? PC_BIG + 1 - have
						 : 65537);
			if (r <= 0)
				break;
			have += (size_t)r;
			if (have > PC_BIG)
				break;
		}
		close(fd);
	}
	is_bytes(
		c, back, have, data, PC_BIG,
		"read: 3 MiB read back in 65537-byte reads equals what was written");
	/* Overwrite in place across the 1 MiB and 2 MiB marks. */
	fd = open(big.s, O_RDWR);
	if (setup(c, R(fd), "open %s", big.s)) {
		char *patch = xmalloc(200000);
		pattern(patch, 200000, 3);
		setup(c, R(pwrite(fd, patch, 200000, PC_MIB - 100000)),
		      "pwrite");
		memcpy(data + PC_MIB - 100000, patch, 200000);
		setup(c, R(pwrite(fd, patch, 7, 2 * PC_MIB - 1)), "pwrite");
		memcpy(data + 2 * PC_MIB - 1, patch, 7);
		free(patch);
		close(fd);
	}
	is_content(
		c, big.s, data, PC_BIG,
		"write: in-place overwrites across 1 MiB and 2 MiB read back exactly");
	free(data);
	free(back);

	path_t a = pj(d.s, "append");
	setup(c, RN(put_str(a.s, "hello")), "write %s", a.s);
	fd = open(a.s, O_WRONLY | O_APPEND);
	if (setup(c, R(fd), "open %s O_APPEND", a.s)) {
		lseek(fd, 0, SEEK_SET);
		is_num(c, write(fd, " world", 6), 6,
		       "write: O_APPEND write after lseek(0)");
		is_num(c, lseek(fd, 0, SEEK_CUR), 11,
		       "write: after an O_APPEND write the offset is the new end");
		is_num(c, fstat(fd, &st) == 0 ? st.st_size : -1, 11,
		       "write: O_APPEND grows fstat size");
		close(fd);
	}
	is_str_content(c, a.s, "hello world",
		       "write: O_APPEND appends, ignoring the offset");
	int f1 = open(a.s, O_WRONLY | O_APPEND),
	    f2 = open(a.s, O_WRONLY | O_APPEND);
	if (setup(c, R(f1), "open") && setup(c, R(f2), "open")) {
		setup(c, R(write(f1, "1", 1)), "write");
		setup(c, R(write(f2, "2", 1)), "write");
		setup(c, R(write(f1, "3", 1)), "write");
	}
	if (f1 >= 0)
		close(f1);
	if (f2 >= 0)
		close(f2);
	is_str_content(c, a.s, "hello world123",
		       "write: two O_APPEND fds interleave at the current end");
}

/* ------------------------------------------------------------ truncate */

static void t_truncate(struct ctx *c, path_t d)
{
	path_t t = pj(d.s, "t");
	char pat[10000], want[20000];
	struct stat st;
	pattern(pat, sizeof pat, 4);
	setup(c, RN(put_file(t.s, pat, sizeof pat)), "write %s", t.s);

	is_ok(c, R(truncate(t.s, 5000)), "truncate: shrink 10000 -> 5000");
	is_num(c, lstat(t.s, &st) == 0 ? st.st_size : -1, 5000,
	       "truncate: size is 5000");
	is_content(c, t.s, pat, 5000,
		   "truncate: the first 5000 bytes are kept");
	is_ok(c, R(truncate(t.s, 8000)), "truncate: grow 5000 -> 8000");
	memcpy(want, pat, 5000);
	memset(want + 5000, 0, sizeof want - 5000);
	is_content(
		c, t.s, want, 8000,
		"truncate: grown range reads zeros, not the bytes cut before");

	int fd = open(t.s, O_RDWR);
	if (setup(c, R(fd), "open %s", t.s)) {
		is_ok(c, R(ftruncate(fd, 20000)), "ftruncate: grow to 20000");
		is_num(c, fstat(fd, &st) == 0 ? st.st_size : -1, 20000,
		       "ftruncate: fstat size is 20000");
		char back[20001];
		ssize_t got = pread_full(fd, back, sizeof back, 0);
		is_bytes(c, back, got < 0 ? 0 : (size_t)got, want, 20000,
			 "ftruncate: content is the kept head then zeros");
		is_ok(c, R(ftruncate(fd, 0)), "ftruncate: shrink to 0");
		is_num(c, fstat(fd, &st) == 0 ? st.st_size : -1, 0,
		       "ftruncate: fstat size is 0");
		is_num(c, pread(fd, back, 10, 0), 0,
		       "ftruncate: nothing left to read");
		setup(c, R(pwrite(fd, "Z", 1, 100)), "pwrite");
		memset(want, 0, 100);
		want[100] = 'Z';
		got = pread_full(fd, back, sizeof back, 0);
		is_bytes(
			c, back, got < 0 ? 0 : (size_t)got, want, 101,
			"ftruncate: write past EOF after truncate to 0 leaves zeros before it");
		is_err(c, R(ftruncate(fd, -1)), EINVAL,
		       "ftruncate: negative length -> EINVAL");
		close(fd);
	}
	fd = open(t.s, O_RDONLY);
	if (fd >= 0) {
		is_err2(c, R(ftruncate(fd, 0)), EINVAL, EBADF,
			"ftruncate: on an O_RDONLY fd -> EINVAL (or EBADF)");
		close(fd);
	}
	is_err(c, R(truncate(d.s, 0)), EISDIR,
	       "truncate: a directory -> EISDIR");
	is_err(c, R(truncate(t.s, -1)), EINVAL,
	       "truncate: negative length -> EINVAL");
	is_err(c, R(truncate(pj(d.s, "nosuch").s, 0)), ENOENT,
	       "truncate: missing file -> ENOENT");

	/* A cut in the middle of the second MiB, then grown past the third. */
	path_t big = pj(d.s, "big");
	size_t blen = 2 * PC_MIB + 5, cut = PC_MIB + 3;
	char *data = xmalloc(2 * PC_MIB + 5);
	pattern(data, blen, 5);
	setup(c, RN(put_file(big.s, data, blen)), "write %s", big.s);
	setup(c, R(truncate(big.s, (off_t)cut)), "truncate %s", big.s);
	setup(c, R(truncate(big.s, 2 * PC_MIB)), "truncate %s", big.s);
	memset(data + cut, 0, blen - cut);
	is_content(
		c, big.s, data, 2 * PC_MIB,
		"truncate: cut at 1 MiB+3 then grown to 2 MiB: head kept, rest zeros");
	free(data);
}

/* ---------------------------------------------------------------- sync */

static void t_sync(struct ctx *c, path_t d)
{
	path_t f = pj(d.s, "f");
	char data[4096];
	pattern(data, sizeof data, 6);
	int fd = open(f.s, O_CREAT | O_EXCL | O_WRONLY, 0644);
	if (setup(c, R(fd), "create %s", f.s)) {
		setup(c, RN(write_all(fd, data, sizeof data)), "write %s", f.s);
		is_ok(c, R(fsync(fd)), "fsync: a written file returns 0");
		setup(c, RN(write_all(fd, data, 100)), "write %s", f.s);
		is_ok(c, R(fdatasync(fd)),
		      "fdatasync: a written file returns 0");
		close(fd);
	}
	fd = open(f.s, O_RDONLY);
	if (setup(c, R(fd), "open %s", f.s)) {
		is_ok(c, R(fsync(fd)), "fsync: an O_RDONLY file fd returns 0");
		close(fd);
	}
	int dfd = open(d.s, O_RDONLY | O_DIRECTORY);
	if (setup(c, R(dfd), "open %s", d.s)) {
		is_ok(c, R(fsync(dfd)),
		      "fsync: a directory opened O_RDONLY|O_DIRECTORY returns 0");
		is_ok(c, R(fdatasync(dfd)), "fdatasync: a directory returns 0");
		is_ok(c, R(syncfs(dfd)), "syncfs: returns 0");
		close(dfd);
	}
	struct stat st;
	is_num(c, lstat(f.s, &st) == 0 ? st.st_size : -1, 4196,
	       "fsync: size after the syncs is what was written");
}

/* -------------------------------------------------------------- unlink */

static void t_unlink(struct ctx *c, path_t d)
{
	path_t f = pj(d.s, "f"), sub = pj(d.s, "sub");
	struct stat st;
	setup(c, RN(put_str(f.s, "before")), "write %s", f.s);
	setup(c, R(mkdir(sub.s, 0755)), "mkdir %s", sub.s);
	int fd = open(f.s, O_RDWR);
	if (!setup(c, R(fd), "open %s", f.s))
		return;
	ino_t old_ino = ino_of(f.s);
	is_ok(c, R(unlink(f.s)), "unlink: an open file");
	is_err(c, R(lstat(f.s, &st)), ENOENT,
	       "unlink: the name is gone (lstat -> ENOENT)");
	is_num(c, fstat(fd, &st) == 0 ? (long long)st.st_nlink : -1, 0,
	       "unlink: st_nlink of the open fd drops to 0");
	char buf[64];
	ssize_t got = pread_full(fd, buf, sizeof buf, 0);
	is_bytes(c, buf, got < 0 ? 0 : (size_t)got, "before", 6,
		 "unlink: the open file is still readable");
	is_num(c, pwrite(fd, "AFTER-UNLINK", 12, 0), 12,
	       "unlink: the open file is still writable");
	got = pread_full(fd, buf, sizeof buf, 0);
	is_bytes(c, buf, got < 0 ? 0 : (size_t)got, "AFTER-UNLINK", 12,
		 "unlink: what was written after unlink reads back");
	is_num(c, fstat(fd, &st) == 0 ? st.st_size : -1, 12,
	       "unlink: fstat size of the unlinked file follows writes");

	int fd2 = open(f.s, O_CREAT | O_EXCL | O_RDWR, 0644);
	if (is_ok(c, R(fd2),
		  "unlink: the name can be created again while the old file is open")) {
		setup(c, RN(write_all(fd2, "new file", 8)), "write %s", f.s);
		close(fd2);
	}
	got = pread_full(fd, buf, sizeof buf, 0);
	is_bytes(c, buf, got < 0 ? 0 : (size_t)got, "AFTER-UNLINK", 12,
		 "unlink: the old open file is not the new one");
	is_str_content(c, f.s, "new file",
		       "unlink: the new file has its own content");
	check(c, fstat(fd, &st) == 0 && st.st_ino == old_ino,
	      "unlink: the open fd keeps its inode number");
	struct dlist l = { 0 };
	int rc = list_dir(d.s, &l);
	size_t others = 0;
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.v[i].name, ".") && strcmp(l.v[i].name, "..") &&
		    strcmp(l.v[i].name, "f") && strcmp(l.v[i].name, "sub")) {
			diag("unexpected entry '%s'", l.v[i].name);
			others++;
		}
	check(c, rc == 0 && others == 0,
	      "unlink: the listing shows no placeholder for the unlinked open file");
	dlist_free(&l);
	is_ok(c, R(close(fd)), "unlink: close of the unlinked file");

	is_err(c, R(unlink(pj(d.s, "nosuch").s)), ENOENT,
	       "unlink: missing file -> ENOENT");
	is_err(c, R(unlink(sub.s)), EISDIR, "unlink: a directory -> EISDIR");
	check(c, exists(sub.s), "unlink: the directory is still there");
	is_err(c, R(unlink(pj(f.s, "x").s)), ENOTDIR,
	       "unlink: path component is a file -> ENOTDIR");
	is_err(c, R(unlink(pj(d.s, "nodir/x").s)), ENOENT,
	       "unlink: in a missing directory -> ENOENT");
}

/* -------------------------------------------------------------- rename */

static void version_text(char out[PC_VERSION_LEN], int v)
{
	char head[16];
	int n = snprintf(head, sizeof head, "v%04d:", v);
	memset(out, 'a' + v % 26, PC_VERSION_LEN);
	memcpy(out, head, (size_t)n);
	out[PC_VERSION_LEN - 1] = '\n';
}

/* One process renames fresh versions over `target`; this one keeps opening
 * it.  Atomic rename means the name never disappears and every open sees
 * one whole version. */
static void rename_atomic(struct ctx *c, const char *d)
{
	path_t target = pj(d, "target");
	char v[PC_VERSION_LEN];
	version_text(v, 0);
	if (!setup(c, RN(put_file(target.s, v, sizeof v)), "write %s",
		   target.s))
		return;
	fflush(stdout);
	pid_t pid = fork();
	if (!setup(c, R(pid), "fork"))
		return;
	if (pid == 0) {
		for (int i = 1; i <= PC_RENAMES; i++) {
			path_t tmp = pjf(d, "tmp.%d", i);
			char t[PC_VERSION_LEN];
			version_text(t, i);
			if (put_file(tmp.s, t, sizeof t) != 0)
				_exit(2);
			if (rename(tmp.s, target.s) != 0)
				_exit(3);
		}
		_exit(0);
	}
	long opens = 0, missing = 0, torn = 0;
	int status = 0, first_err = 0;
	bool done = false;
	for (long i = 0; i < PC_RENAME_READS && !done; i++) {
		done = waitpid(pid, &status, WNOHANG) == pid;
		int fd = open(target.s, O_RDONLY);
		if (fd < 0) {
			missing++;
			if (!first_err)
				first_err = errno;
			continue;
		}
		opens++;
		char buf[2 * PC_VERSION_LEN], exp[PC_VERSION_LEN];
		ssize_t got = pread_full(fd, buf, sizeof buf, 0);
		close(fd);
		int ver = -1;
		if (got == PC_VERSION_LEN && sscanf(buf, "v%4d:", &ver) == 1 &&
		    ver >= 0 && ver <= PC_RENAMES) {
			version_text(exp, ver);
			if (memcmp(exp, buf, sizeof exp) == 0)
				continue;
		}
		torn++;
	}
	if (!done)
		waitpid(pid, &status, 0);
	is_num(c, WIFEXITED(status) ? WEXITSTATUS(status) : 128, 0,
	       "rename: %d concurrent replacements of one name succeeded",
	       PC_RENAMES);
	if (!check(c, missing == 0 && opens > 0,
		   "rename: a concurrent reader never finds the replaced name missing"))
		diag("%ld of %ld opens failed, first with %s", missing,
		     opens + missing, first_err ? ename(first_err) : "-");
	if (!check(c, torn == 0,
		   "rename: a concurrent reader always sees one whole version"))
		diag("%ld of %ld reads were mixed or short", torn, opens);
	version_text(v, PC_RENAMES);
	is_content(c, target.s, v, sizeof v, "rename: the last version won");
}

static void t_rename(struct ctx *c, path_t d)
{
	struct stat st;
	path_t a = pj(d.s, "a"), b = pj(d.s, "b");
	setup(c, RN(put_str(a.s, "AAAA")), "write %s", a.s);
	setup(c, RN(put_str(b.s, "BB")), "write %s", b.s);
	ino_t ia = ino_of(a.s);
	int old_b = open(b.s, O_RDONLY);
	is_ok(c, R(rename(a.s, b.s)), "rename: a file over an existing file");
	is_err(c, R(lstat(a.s, &st)), ENOENT,
	       "rename: the source name is gone");
	is_str_content(c, b.s, "AAAA",
		       "rename: the target now has the source's content");
	is_num(c, (long long)ino_of(b.s), (long long)ia,
	       "rename: the target has the source's inode");
	is_num(c, (long long)nlink_of(b.s), 1,
	       "rename: st_nlink of the renamed file is 1");
	if (old_b >= 0) {
		char buf[16];
		ssize_t got = pread_full(old_b, buf, sizeof buf, 0);
		is_bytes(
			c, buf, got < 0 ? 0 : (size_t)got, "BB", 2,
			"rename: an fd open on the replaced file still reads its old content");
		close(old_b);
	}
	rename_atomic(c, d.s);

	path_t d1 = pj(d.s, "d1"), d2 = pj(d.s, "d2");
	setup(c, R(mkdir(d1.s, 0755)), "mkdir");
	setup(c, R(mkdir(d2.s, 0755)), "mkdir");
	path_t x1 = pj(d1.s, "x"), x2 = pj(d2.s, "y");
	setup(c, RN(put_str(x1.s, "travels")), "write %s", x1.s);
	ino_t ix = ino_of(x1.s);
	int xfd = open(x1.s, O_RDWR);
	is_ok(c, R(rename(x1.s, x2.s)), "rename: a file across directories");
	check(c, !exists(x1.s),
	      "rename: across directories, the old name is gone");
	is_str_content(c, x2.s, "travels",
		       "rename: across directories, content kept");
	is_num(c, (long long)ino_of(x2.s), (long long)ix,
	       "rename: across directories, inode kept");
	if (xfd >= 0) {
		setup(c, R(pwrite(xfd, "T", 1, 0)), "pwrite");
		close(xfd);
		is_str_content(
			c, x2.s, "Travels",
			"rename: an fd opened before the rename writes to the moved file");
	}

	is_ok(c, R(rename(b.s, b.s)), "rename: a file onto itself returns 0");
	is_str_content(c, b.s, "AAAA",
		       "rename: onto itself leaves the file as it was");
	path_t bl = pj(d.s, "b-link");
	if (setup(c, R(link(b.s, bl.s)), "link %s", bl.s)) {
		is_ok(c, R(rename(b.s, bl.s)),
		      "rename: between two links of one inode returns 0");
		check(c, exists(b.s) && exists(bl.s),
		      "rename: between two links of one inode keeps both names");
		unlink(bl.s);
	}

	path_t p = pj(d.s, "p"), pc = pj(p.s, "c");
	setup(c, R(mkdir(p.s, 0755)), "mkdir");
	setup(c, R(mkdir(pc.s, 0755)), "mkdir");
	is_err(c, R(rename(p.s, pj(pc.s, "x").s)), EINVAL,
	       "rename: a directory into its own grandchild -> EINVAL");
	is_err(c, R(rename(p.s, pj(p.s, "x").s)), EINVAL,
	       "rename: a directory into itself -> EINVAL");
	check(c, exists(pc.s),
	      "rename: the refused directory move changed nothing");

	path_t full = pj(d.s, "full"), empty = pj(d.s, "empty"),
	       src = pj(d.s, "srcdir");
	setup(c, R(mkdir(full.s, 0755)), "mkdir");
	setup(c, RN(put_str(pj(full.s, "inside").s, "x")), "write");
	setup(c, R(mkdir(empty.s, 0755)), "mkdir");
	setup(c, R(mkdir(src.s, 0755)), "mkdir");
	setup(c, RN(put_str(pj(src.s, "payload").s, "payload")), "write");
	is_err(c, R(rename(src.s, full.s)), ENOTEMPTY,
	       "rename: a directory over a non-empty directory -> ENOTEMPTY");
	check(c,
	      exists(pj(full.s, "inside").s) && exists(pj(src.s, "payload").s),
	      "rename: after ENOTEMPTY both directories are intact");
	ino_t isrc = ino_of(src.s);
	is_ok(c, R(rename(src.s, empty.s)),
	      "rename: a directory over an empty directory");
	check(c, !exists(src.s),
	      "rename: directory over empty directory, source name gone");
	is_num(c, (long long)ino_of(empty.s), (long long)isrc,
	       "rename: directory over empty directory, target has source's inode");
	is_str_content(
		c, pj(empty.s, "payload").s, "payload",
		"rename: a moved directory's files are reachable under the new name");

	path_t fileb = pj(d.s, "plainfile"), edir = pj(d.s, "edir");
	setup(c, RN(put_str(fileb.s, "plain")), "write");
	setup(c, R(mkdir(edir.s, 0755)), "mkdir");
	is_err(c, R(rename(fileb.s, edir.s)), EISDIR,
	       "rename: a file over a directory -> EISDIR");
	is_err(c, R(rename(edir.s, fileb.s)), ENOTDIR,
	       "rename: a directory over a file -> ENOTDIR");
	check(c, exists(pj(d.s, "plainfile").s) && exists(edir.s),
	      "rename: the refused type-mismatched renames changed nothing");
	is_err(c, R(rename(pj(d.s, "nosuch").s, pj(d.s, "other").s)), ENOENT,
	       "rename: missing source -> ENOENT");
	is_err(c, R(rename(fileb.s, pj(d.s, "nodir/x").s)), ENOENT,
	       "rename: into a missing directory -> ENOENT");

	/* A directory moved to another parent: parents' link counts and "..".
	 */
	path_t q1 = pj(d.s, "q1"), q2 = pj(d.s, "q2");
	setup(c, R(mkdir(q1.s, 0755)), "mkdir");
	setup(c, R(mkdir(q2.s, 0755)), "mkdir");
	path_t mv = pj(q1.s, "mv");
	setup(c, R(mkdir(mv.s, 0755)), "mkdir");
	setup(c, RN(put_str(pj(mv.s, "m").s, "m")), "write");
	nlink_t n1 = nlink_of(q1.s), n2 = nlink_of(q2.s);
	path_t mv2 = pj(q2.s, "mv");
	is_ok(c, R(rename(mv.s, mv2.s)),
	      "rename: a directory to another parent");
	is_num(c, (long long)nlink_of(q1.s), (long long)n1 - 1,
	       "rename: the old parent's st_nlink drops by one");
	is_num(c, (long long)nlink_of(q2.s), (long long)n2 + 1,
	       "rename: the new parent's st_nlink grows by one");
	is_num(c, (long long)ino_of(pj(mv2.s, "..").s), (long long)ino_of(q2.s),
	       "rename: '..' of the moved directory is the new parent");
	is_str_content(c, pj(mv2.s, "m").s, "m",
		       "rename: the moved directory's file reads back");

	path_t na = pj(d.s, "nr-a"), nb = pj(d.s, "nr-b"), nc = pj(d.s, "nr-c");
	setup(c, RN(put_str(na.s, "nr-a")), "write");
	setup(c, RN(put_str(nb.s, "nr-b")), "write");
	/* The free-name case first: over an existing name the VFS answers
	 * EEXIST itself, whether or not the filesystem knows the flag. */
	struct res r =
		R(renameat2(AT_FDCWD, na.s, AT_FDCWD, nc.s, RENAME_NOREPLACE));
	if (r.ret == -1 && r.err == EINVAL) {
		skip(c, "filesystem returns EINVAL for RENAME_NOREPLACE",
		     "renameat2: RENAME_NOREPLACE to a free name");
		skip(c, "no RENAME_NOREPLACE",
		     "renameat2: RENAME_NOREPLACE over an existing name -> EEXIST");
		skip(c, "no RENAME_NOREPLACE",
		     "renameat2: RENAME_NOREPLACE left both files");
	} else {
		is_ok(c, r, "renameat2: RENAME_NOREPLACE to a free name");
		is_err(c,
		       R(renameat2(AT_FDCWD, nc.s, AT_FDCWD, nb.s,
				   RENAME_NOREPLACE)),
		       EEXIST,
		       "renameat2: RENAME_NOREPLACE over an existing name -> EEXIST");
		char buf[8];
		check(c,
		      exists(nc.s) && nlink_of(nb.s) == 1 &&
			      slurp(nb.s, buf, sizeof buf) == 4 &&
			      memcmp(buf, "nr-b", 4) == 0,
		      "renameat2: RENAME_NOREPLACE left both files");
	}
	path_t ea = pj(d.s, "ex-a"), eb = pj(d.s, "ex-b");
	setup(c, RN(put_str(ea.s, "ex-a")), "write");
	setup(c, RN(put_str(eb.s, "ex-b")), "write");
	ino_t iea = ino_of(ea.s);
	r = R(renameat2(AT_FDCWD, ea.s, AT_FDCWD, eb.s, RENAME_EXCHANGE));
	if (r.ret == -1 && r.err == EINVAL) {
		skip(c, "filesystem returns EINVAL for RENAME_EXCHANGE",
		     "renameat2: RENAME_EXCHANGE swaps two files");
	} else {
		if (!check(c, r.ret == 0 && ino_of(eb.s) == iea,
			   "renameat2: RENAME_EXCHANGE swaps two files"))
			diag("returned %ld (%s)", r.ret,
			     r.ret ? ename(r.err) : "-");
		is_str_content(c, ea.s, "ex-b",
			       "renameat2: RENAME_EXCHANGE swapped contents");
	}
}

/* ---------------------------------------------------------------- link */

static void t_link(struct ctx *c, path_t d)
{
	path_t f = pj(d.s, "f"), g = pj(d.s, "g"), sub = pj(d.s, "sub");
	struct stat sf, sg;
	setup(c, RN(put_str(f.s, "shared-content")), "write %s", f.s);
	setup(c, R(mkdir(sub.s, 0755)), "mkdir %s", sub.s);
	is_ok(c, R(link(f.s, g.s)), "link: a second name for a file");
	bool both = lstat(f.s, &sf) == 0 && lstat(g.s, &sg) == 0;
	check(c, both && sf.st_ino == sg.st_ino,
	      "link: both names have the same st_ino");
	check(c, both && sf.st_nlink == 2 && sg.st_nlink == 2,
	      "link: st_nlink is 2 through both names");
	int fd = open(g.s, O_WRONLY);
	if (setup(c, R(fd), "open %s", g.s)) {
		setup(c, R(pwrite(fd, "SHARED", 6, 0)), "pwrite");
		close(fd);
	}
	is_str_content(
		c, f.s, "SHARED-content",
		"link: a write through one name is visible through the other");
	setup(c, R(truncate(g.s, 6)), "truncate %s", g.s);
	is_num(c, lstat(f.s, &sf) == 0 ? sf.st_size : -1, 6,
	       "link: a truncate through one name shows in the other's size");
	path_t h = pj(sub.s, "h");
	is_ok(c, R(link(f.s, h.s)), "link: a third name in another directory");
	is_num(c, (long long)nlink_of(g.s), 3, "link: st_nlink is 3");
	path_t h2 = pj(sub.s, "h2");
	setup(c, R(rename(h.s, h2.s)), "rename %s", h.s);
	is_num(c, (long long)nlink_of(f.s), 3,
	       "link: renaming one name keeps st_nlink 3");
	setup(c, R(unlink(h2.s)), "unlink %s", h2.s);
	is_num(c, (long long)nlink_of(f.s), 2,
	       "link: st_nlink back to 2 after unlinking one");
	fd = open(f.s, O_RDONLY);
	is_ok(c, R(unlink(f.s)), "link: unlink the first name");
	is_num(c, (long long)nlink_of(g.s), 1,
	       "link: st_nlink 1 after unlinking the other name");
	if (fd >= 0) {
		is_num(c, fstat(fd, &sf) == 0 ? (long long)sf.st_nlink : -1, 1,
		       "link: an fd opened through the unlinked name sees st_nlink 1");
		close(fd);
	}
	is_str_content(c, g.s, "SHARED",
		       "link: content survives through the remaining name");

	path_t other = pj(d.s, "other");
	setup(c, RN(put_str(other.s, "other")), "write");
	is_err(c, R(link(g.s, other.s)), EEXIST,
	       "link: to an existing name -> EEXIST");
	is_str_content(c, other.s, "other",
		       "link: EEXIST left the existing file alone");
	is_err(c, R(link(g.s, g.s)), EEXIST,
	       "link: onto its own name -> EEXIST");
	is_err(c, R(link(sub.s, pj(d.s, "sublink").s)), EPERM,
	       "link: of a directory -> EPERM");
	is_err(c, R(link(g.s, pj(d.s, "nodir/x").s)), ENOENT,
	       "link: into a missing directory -> ENOENT");
	is_err(c, R(link(pj(d.s, "nosuch").s, pj(d.s, "x").s)), ENOENT,
	       "link: of a missing file -> ENOENT");
}

/* ---------------------------------------------------- mkdir and rmdir */

static void t_dirs(struct ctx *c, path_t d)
{
	struct stat st;
	path_t a = pj(d.s, "a"), f = pj(d.s, "f");
	is_ok(c, R(mkdir(a.s, 0750)), "mkdir: a new directory");
	bool got = lstat(a.s, &st) == 0;
	if (!check(c,
		   got && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750,
		   "mkdir: the directory has mode 0750"))
		diag("mode %o", got ? (unsigned)st.st_mode : 0u);
	is_err(c, R(mkdir(a.s, 0755)), EEXIST,
	       "mkdir: an existing directory -> EEXIST");
	setup(c, RN(put_str(f.s, "f")), "write");
	is_err(c, R(mkdir(f.s, 0755)), EEXIST,
	       "mkdir: over an existing file -> EEXIST");
	is_err(c, R(mkdir(pj(d.s, "nosuch/x").s, 0755)), ENOENT,
	       "mkdir: in a missing parent -> ENOENT");
	is_err(c, R(mkdir(pj(f.s, "x").s, 0755)), ENOTDIR,
	       "mkdir: under a file -> ENOTDIR");
	is_num(c, (long long)nlink_of(a.s), 2,
	       "mkdir: st_nlink of a leaf directory is 2");
	for (int i = 0; i < 3; i++)
		setup(c, R(mkdir(pjf(a.s, "s%d", i).s, 0755)), "mkdir");
	for (int i = 0; i < 2; i++)
		setup(c, RN(put_str(pjf(a.s, "file%d", i).s, "x")), "write");
	is_num(c, (long long)nlink_of(a.s), 5,
	       "mkdir: st_nlink with 3 subdirectories (and 2 files) is 5");

	setup(c, RN(put_str(pj(pj(a.s, "s0").s, "x").s, "x")), "write");
	is_err(c, R(rmdir(pj(a.s, "s0").s)), ENOTEMPTY,
	       "rmdir: a directory holding a file -> ENOTEMPTY");
	setup(c, R(mkdir(pj(pj(a.s, "s1").s, "deeper").s, 0755)), "mkdir");
	is_err(c, R(rmdir(pj(a.s, "s1").s)), ENOTEMPTY,
	       "rmdir: a directory holding a directory -> ENOTEMPTY");
	is_err(c, R(rmdir(f.s)), ENOTDIR, "rmdir: a file -> ENOTDIR");
	is_err(c, R(rmdir(pj(d.s, "nosuch").s)), ENOENT,
	       "rmdir: missing -> ENOENT");
	is_err(c, R(rmdir(pj(a.s, "s2/.").s)), EINVAL,
	       "rmdir: a path ending in '.' -> EINVAL");
	is_ok(c, R(rmdir(pj(a.s, "s2").s)), "rmdir: an empty directory");
	check(c, !exists(pj(a.s, "s2").s), "rmdir: the directory is gone");
	is_num(c, (long long)nlink_of(a.s), 4,
	       "rmdir: the parent's st_nlink drops to 4");

	/* A Maildir++ folder, as Dovecot and Courier make them. */
	path_t sent = pj(d.s, ".Sent");
	is_ok(c, R(mkdir(sent.s, 0700)), "mkdir: a Maildir++ folder '.Sent'");
	const char *sub[] = { "cur", "new", "tmp" };
	bool all = true;
	for (int i = 0; i < 3; i++)
		all &= mkdir(pj(sent.s, sub[i]).s, 0700) == 0;
	check(c, all, "mkdir: cur, new and tmp inside '.Sent'");
	is_ok(c, RN(put_file(pj(sent.s, "maildirfolder").s, "", 0)),
	      "mkdir: the empty 'maildirfolder' marker inside '.Sent'");
	all = true;
	for (int i = 0; i < 3; i++)
		all &= lstat(pj(sent.s, sub[i]).s, &st) == 0 &&
		       S_ISDIR(st.st_mode);
	check(c, all, "mkdir: '.Sent/cur', 'new', 'tmp' are directories");
	is_num(c, (long long)nlink_of(sent.s), 5,
	       "mkdir: st_nlink of '.Sent' is 5");
	is_ok(c, R(mkdir(pj(d.s, ".Sent.2024").s, 0700)),
	      "mkdir: a nested Maildir++ folder name '.Sent.2024'");
	is_num(c, count_entries(sent.s), 4,
	       "mkdir: '.Sent' lists exactly its 4 entries");
}

/* ------------------------------------------------------------- readdir */

static void t_readdir(struct ctx *c, path_t d)
{
	path_t small = pj(d.s, "small");
	setup(c, R(mkdir(small.s, 0755)), "mkdir");
	setup(c, RN(put_str(pj(small.s, "f").s, "f")), "write");
	setup(c, R(mkdir(pj(small.s, "d").s, 0755)), "mkdir");
	setup(c, R(symlink("f", pj(small.s, "l").s)), "symlink");
	struct dlist l = { 0 };
	int rc = list_dir(small.s, &l);
	is_ok(c, RN(rc), "readdir: list a small directory");
	static const struct {
		const char *name;
		unsigned char type;
	} want[] = { { ".", DT_DIR },
		     { "..", DT_DIR },
		     { "f", DT_REG },
		     { "d", DT_DIR },
		     { "l", DT_LNK } };
	bool present = l.n == 5, typed = true, inos = true;
	for (size_t i = 0; i < 5; i++) {
		const struct dent *e = dlist_find(&l, want[i].name);
		if (!e) {
			diag("'%s' not listed", want[i].name);
			present = false;
			continue;
		}
		if (e->type != want[i].type) {
			diag("'%s' has d_type %u, want %u", e->name, e->type,
			     want[i].type);
			typed = false;
		}
		if (i >= 2 && e->ino != ino_of(pj(small.s, e->name).s)) {
			diag("'%s' d_ino %llu, lstat st_ino %llu", e->name,
			     (unsigned long long)e->ino,
			     (unsigned long long)ino_of(
				     pj(small.s, e->name).s));
			inos = false;
		}
	}
	if (!check(c, present,
		   "readdir: exactly '.', '..', f, d, l are listed"))
		diag("%zu entries listed", l.n);
	check(c, typed,
	      "readdir: d_type is DT_DIR/DT_REG/DT_LNK (never DT_UNKNOWN)");
	check(c, inos, "readdir: d_ino equals lstat st_ino");
	dlist_free(&l);

	path_t many = pj(d.s, "many");
	setup(c, R(mkdir(many.s, 0755)), "mkdir");
	if (!make_many(c, many.s, 'm'))
		return;
	int seen[PC_MANY];
	for (int pass = 0; pass < 2; pass++) {
		/* The second pass lists again after rewinddir on the same
		 * stream. */
		memset(seen, 0, sizeof seen);
		size_t dots = 0, odd = 0, untyped = 0, total = 0;
		DIR *dir = opendir(many.s);
		if (!setup(c, R(dir ? 0 : -1), "opendir %s", many.s))
			return;
		struct dirent *de;
		if (pass == 1) {
			while (readdir(dir) && total++ < PC_LIST_MAX)
				;
			rewinddir(dir);
			total = 0;
		}
		while ((de = readdir(dir)) && total++ < PC_LIST_MAX) {
			int i = many_index(de->d_name, 'm');
			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				dots++;
			else if (i < 0)
				odd++;
			else
				seen[i]++;
			if (i >= 0 && de->d_type != DT_REG)
				untyped++;
		}
		closedir(dir);
		size_t once = 0;
		for (int i = 0; i < PC_MANY; i++)
			once += seen[i] == 1;
		if (!check(c, once == PC_MANY && dots == 2 && odd == 0,
			   "readdir: %d files%s are each listed exactly once, with '.' and '..'",
			   PC_MANY, pass ? " (after rewinddir)" : ""))
			diag("%zu listed once, %zu dot entries, %zu unexpected names",
			     once, dots, odd);
		if (pass == 0)
			check(c, untyped == 0,
			      "readdir: all %d files have d_type DT_REG",
			      PC_MANY);
	}

	/* Small getdents64 calls with unlinks in between: entries may or may
	 * not show once removed, but nothing shows twice and every file that
	 * was never removed shows exactly once. */
	memset(seen, 0, sizeof seen);
	int dfd = open(many.s, O_RDONLY | O_DIRECTORY);
	if (!setup(c, R(dfd), "open %s", many.s))
		return;
	_Alignas(struct dirent64) char buf[PC_SMALL_DENTS];
	long calls = 0, entries = 0, odd = 0, unlinked = 0;
	bool removed = false, err = false;
	for (; calls < PC_LIST_MAX; calls++) {
		ssize_t n = getdents64(dfd, buf, sizeof buf);
		if (n < 0) {
			diag("getdents64: %s", ename(errno));
			err = true;
			break;
		}
		if (n == 0)
			break;
		for (ssize_t pos = 0; pos < n;) {
			struct dirent64 *de = (struct dirent64 *)(buf + pos);
			pos += de->d_reclen;
			entries++;
			int i = many_index(de->d_name, 'm');
			if (i >= 0)
				seen[i]++;
			else if (strcmp(de->d_name, ".") &&
				 strcmp(de->d_name, ".."))
				odd++;
		}
		if (!removed && entries >= 100) {
			for (int i = 0; i < PC_MANY; i += 3)
				unlinked +=
					unlink(pjf(many.s, "m%04d", i).s) == 0;
			removed = true;
		}
	}
	close(dfd);
	long twice = 0, lost = 0;
	for (int i = 0; i < PC_MANY; i++) {
		twice += seen[i] > 1;
		lost += i % 3 != 0 && seen[i] != 1;
	}
	is_num(c, unlinked, (PC_MANY + 2) / 3,
	       "readdir: unlinks during the listing succeeded");
	if (!check(c, !err && calls > 2 && twice == 0 && odd == 0,
		   "readdir: while unlinking during a listing, no entry appears twice"))
		diag("%ld getdents64 calls, %ld names twice, %ld unexpected",
		     calls, twice, odd);
	if (!check(c, !err && lost == 0,
		   "readdir: while unlinking during a listing, every kept file appears once"))
		diag("%ld kept files not listed exactly once", lost);
	is_num(c, count_entries(many.s), PC_MANY - (PC_MANY + 2) / 3,
	       "readdir: a fresh listing shows exactly the files left");

	/* What a mail reader does: list new/, move each entry to cur/. */
	path_t nw = pj(d.s, "new"), cur = pj(d.s, "cur");
	setup(c, R(mkdir(nw.s, 0755)), "mkdir");
	setup(c, R(mkdir(cur.s, 0755)), "mkdir");
	if (!make_many(c, nw.s, 'n'))
		return;
	memset(seen, 0, sizeof seen);
	dfd = open(nw.s, O_RDONLY | O_DIRECTORY);
	if (!setup(c, R(dfd), "open %s", nw.s))
		return;
	long moved = 0, failed_moves = 0;
	odd = 0;
	err = false;
	for (calls = 0; calls < PC_LIST_MAX; calls++) {
		ssize_t n = getdents64(dfd, buf, sizeof buf);
		if (n <= 0) {
			err = n < 0;
			break;
		}
		for (ssize_t pos = 0; pos < n;) {
			struct dirent64 *de = (struct dirent64 *)(buf + pos);
			pos += de->d_reclen;
			int i = many_index(de->d_name, 'n');
			if (i < 0) {
				odd += strcmp(de->d_name, ".") &&
				       strcmp(de->d_name, "..");
				continue;
			}
			if (seen[i]++)
				continue;
			if (rename(pj(nw.s, de->d_name).s,
				   pjf(cur.s, "%s:2,S", de->d_name).s) == 0)
				moved++;
			else
				failed_moves++;
		}
	}
	close(dfd);
	twice = 0;
	for (int i = 0; i < PC_MANY; i++)
		twice += seen[i] > 1;
	if (!check(c,
		   !err && moved == PC_MANY && failed_moves == 0 &&
			   twice == 0 && odd == 0,
		   "readdir: listing new/ while renaming each entry to cur/ sees every file once"))
		diag("%ld moved, %ld renames failed, %ld seen twice, %ld unexpected",
		     moved, failed_moves, twice, odd);
	is_num(c, count_entries(nw.s), 0, "readdir: new/ is empty afterwards");
	is_num(c, count_entries(cur.s), PC_MANY,
	       "readdir: cur/ holds every file afterwards");
}

/* ------------------------------------------------------ directory times */

static bool snap(struct ctx *c, const char *path, struct stat *st)
{
	return setup(c, R(lstat(path, st)), "lstat %s", path);
}

/* mtime and ctime of path are both later than in before. */
static void is_touched(struct ctx *c, const struct stat *before,
		       const char *path, const char *name)
{
	struct stat after;
	bool got = lstat(path, &after) == 0;
	bool pass = got && ts_cmp(after.st_mtim, before->st_mtim) > 0 &&
		    ts_cmp(after.st_ctim, before->st_ctim) > 0;
	if (!check(c, pass, "%s", name) && got)
		diag("mtime %lld.%09ld -> %lld.%09ld, ctime %lld.%09ld -> %lld.%09ld",
		     (long long)before->st_mtim.tv_sec, before->st_mtim.tv_nsec,
		     (long long)after.st_mtim.tv_sec, after.st_mtim.tv_nsec,
		     (long long)before->st_ctim.tv_sec, before->st_ctim.tv_nsec,
		     (long long)after.st_ctim.tv_sec, after.st_ctim.tv_nsec);
}

static void is_same_ts(struct ctx *c, struct timespec before,
		       struct timespec after, const char *name)
{
	if (!check(c, ts_cmp(before, after) == 0, "%s", name))
		diag("%lld.%09ld -> %lld.%09ld", (long long)before.tv_sec,
		     before.tv_nsec, (long long)after.tv_sec, after.tv_nsec);
}

/* call ("create", "unlink", "mkdir", "rmdir" or "symlink" to "ef") on
 * path. */
static struct res dir_change(const char *call, const char *path)
{
	if (!strcmp(call, "create"))
		return RN(put_str(path, "f"));
	if (!strcmp(call, "mkdir"))
		return R(mkdir(path, 0755));
	if (!strcmp(call, "rmdir"))
		return R(rmdir(path));
	if (!strcmp(call, "symlink"))
		return R(symlink("ef", path));
	return R(unlink(path));
}

/* call (dir_change) on dir/name changes dir's mtime and ctime. */
static void touches_dir(struct ctx *c, const char *dir, const char *call,
			const char *name)
{
	struct stat b;
	char what[128];
	snprintf(what, sizeof what,
		 "dir times: %s changes the directory's mtime and ctime", call);
	snap(c, dir, &b);
	nap(c);
	setup(c, dir_change(call, pj(dir, name).s), "%s", call);
	is_touched(c, &b, dir, what);
}

/* call, made since before (path's stat then), changed path's ctime and
 * left its mtime alone. */
static void ctime_only(struct ctx *c, const struct stat *before,
		       const char *path, const char *call)
{
	struct stat after;
	lstat(path, &after);
	if (!check(c, ts_cmp(after.st_ctim, before->st_ctim) > 0,
		   "file times: %s changes the file's ctime", call))
		diag("ctime %lld.%09ld -> %lld.%09ld",
		     (long long)before->st_ctim.tv_sec, before->st_ctim.tv_nsec,
		     (long long)after.st_ctim.tv_sec, after.st_ctim.tv_nsec);
	char what[128];
	snprintf(what, sizeof what,
		 "file times: %s leaves the file's mtime alone", call);
	is_same_ts(c, before->st_mtim, after.st_mtim, what);
}

static void t_dirtimes(struct ctx *c, path_t d)
{
	path_t D = pj(d.s, "D"), E = pj(d.s, "E");
	setup(c, R(mkdir(D.s, 0755)), "mkdir");
	setup(c, R(mkdir(E.s, 0755)), "mkdir");
	path_t f = pj(D.s, "f"), g = pj(D.s, "g"), ef = pj(E.s, "ef");
	struct stat b, b2, fb;

	touches_dir(c, D.s, "create", "f");

	snap(c, D.s, &b);
	snap(c, f.s, &fb);
	nap(c);
	int fd = open(f.s, O_WRONLY);
	setup(c, R(fd >= 0 ? write(fd, "more", 4) : -1), "write %s", f.s);
	if (fd >= 0)
		close(fd);
	is_touched(c, &fb, f.s,
		   "file times: write changes the file's mtime and ctime");
	struct stat after;
	lstat(D.s, &after);
	is_same_ts(
		c, b.st_mtim, after.st_mtim,
		"dir times: writing a file leaves the directory's mtime alone");

	snap(c, D.s, &b);
	nap(c);
	setup(c, R(rename(f.s, g.s)), "rename %s", f.s);
	is_touched(
		c, &b, D.s,
		"dir times: rename within changes the directory's mtime and ctime");

	snap(c, D.s, &b);
	snap(c, E.s, &b2);
	nap(c);
	setup(c, R(rename(g.s, ef.s)), "rename %s", g.s);
	is_touched(
		c, &b, D.s,
		"dir times: rename out changes the source directory's mtime and ctime");
	is_touched(
		c, &b2, E.s,
		"dir times: rename in changes the target directory's mtime and ctime");

	snap(c, D.s, &b);
	snap(c, ef.s, &fb);
	nap(c);
	setup(c, R(link(ef.s, f.s)), "link %s", f.s);
	is_touched(c, &b, D.s,
		   "dir times: link changes the directory's mtime and ctime");
	ctime_only(c, &fb, ef.s, "link");

	/* Names made and removed in D, one kind of call each. */
	static const struct {
		const char *call, *name;
	} changes[] = {
		{"unlink", "f"}, {"mkdir", "sub"}, {"rmdir", "sub"},
		{"symlink", "sym"},
	};
	for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++)
		touches_dir(c, D.s, changes[i].call, changes[i].name);

	snap(c, ef.s, &fb);
	nap(c);
	setup(c, R(truncate(ef.s, 1)), "truncate");
	is_touched(c, &fb, ef.s,
		   "file times: truncate changes the file's mtime and ctime");
	snap(c, ef.s, &fb);
	nap(c);
	setup(c, R(chmod(ef.s, 0600)), "chmod");
	ctime_only(c, &fb, ef.s, "chmod");
}

/* ----------------------------------------------------------- utimensat */

/* got is want as the filesystem can store it (truncated to its grain). */
static bool ts_is(const struct ctx *c, struct timespec got,
		  struct timespec want)
{
	return got.tv_sec == want.tv_sec &&
	       got.tv_nsec == want.tv_nsec - want.tv_nsec % c->ts_gran;
}

static void is_time(struct ctx *c, const char *path, bool atime,
		    struct timespec want, const char *name)
{
	struct stat st;
	bool got = lstat(path, &st) == 0;
	struct timespec t = got ? (atime ? st.st_atim : st.st_mtim)
				: (struct timespec){ 0 };
	if (!check(c, got && ts_is(c, t, want), "%s", name))
		diag("%s %lld.%09ld, want %lld.%09ld (grain %ld ns)%s",
		     atime ? "atime" : "mtime", (long long)t.tv_sec, t.tv_nsec,
		     (long long)want.tv_sec, want.tv_nsec, c->ts_gran,
		     got ? "" : ", lstat failed");
}

static void is_mtime(struct ctx *c, const char *path, struct timespec want,
		     const char *name)
{
	is_time(c, path, false, want, name);
}

static void t_utime(struct ctx *c, path_t d)
{
	path_t f = pj(d.s, "f");
	setup(c, RN(put_str(f.s, "times")), "write");
	const struct timespec T1 = { 1000000000, 123456789 },
			      T2 = { 1200000000, 987654321 },
			      T3 = { 1300000000, 555000555 },
			      T4 = { 1100000000, 1 };
	struct stat st;
	struct timespec ts[2] = { T1, T2 };
	is_ok(c, R(utimensat(AT_FDCWD, f.s, ts, 0)),
	      "utimensat: set atime and mtime");
	is_time(c, f.s, true, T1, "utimensat: atime is exactly as set");
	is_mtime(c, f.s, T2, "utimensat: mtime is exactly as set");

	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = T3;
	is_ok(c, R(utimensat(AT_FDCWD, f.s, ts, 0)),
	      "utimensat: UTIME_OMIT for atime");
	is_time(c, f.s, true, T1, "utimensat: UTIME_OMIT kept atime");
	is_mtime(c, f.s, T3, "utimensat: mtime set next to UTIME_OMIT atime");
	ts[0] = T4;
	ts[1].tv_nsec = UTIME_OMIT;
	is_ok(c, R(utimensat(AT_FDCWD, f.s, ts, 0)),
	      "utimensat: UTIME_OMIT for mtime");
	is_time(c, f.s, true, T4,
		"utimensat: atime set next to UTIME_OMIT mtime");
	is_mtime(c, f.s, T3, "utimensat: UTIME_OMIT kept mtime");

	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	ts[0].tv_nsec = ts[1].tv_nsec = UTIME_NOW;
	is_ok(c, R(utimensat(AT_FDCWD, f.s, ts, 0)), "utimensat: UTIME_NOW");
	bool got = lstat(f.s, &st) == 0;
	if (!check(c,
		   got && st.st_mtim.tv_sec >= now.tv_sec - 2 &&
			   st.st_mtim.tv_sec <= now.tv_sec + 2,
		   "utimensat: UTIME_NOW sets mtime to the current time"))
		diag("mtime %lld, now %lld", (long long)st.st_mtim.tv_sec,
		     (long long)now.tv_sec);
	is_err(c, R(utimensat(AT_FDCWD, pj(d.s, "nosuch").s, NULL, 0)), ENOENT,
	       "utimensat: missing file -> ENOENT");

	/* Set after writing, through the fd: later fsync/close must not move it
	 * (a write-back cache flushing at close is the usual way to lose it).
	 */
	int fd = open(f.s, O_RDWR);
	if (setup(c, R(fd), "open %s", f.s)) {
		setup(c, RN(write_all(fd, "written before futimens", 23)),
		      "write");
		ts[0] = T1;
		ts[1] = T2;
		is_ok(c, R(futimens(fd, ts)), "futimens: on a just-written fd");
		setup(c, R(fsync(fd)), "fsync");
		close(fd);
	}
	is_mtime(
		c, f.s, T2,
		"utimensat: mtime unchanged by fsync and close after futimens");
	fd = open(f.s, O_RDONLY);
	if (fd >= 0) {
		char buf[64];
		setup(c, R(read(fd, buf, sizeof buf)), "read");
		close(fd);
	}
	is_mtime(c, f.s, T2, "utimensat: mtime unchanged by open, read, close");
	fd = open(f.s, O_WRONLY);
	if (fd >= 0)
		close(fd);
	is_mtime(
		c, f.s, T2,
		"utimensat: mtime unchanged by open O_WRONLY and close without writing");
	path_t f2 = pj(d.s, "f2");
	setup(c, R(rename(f.s, f2.s)), "rename");
	is_mtime(c, f2.s, T2,
		 "utimensat: mtime unchanged by rename of the file");
	path_t sub = pj(d.s, "sub");
	setup(c, R(mkdir(sub.s, 0755)), "mkdir");
	path_t f3 = pj(sub.s, "f3:2,S");
	setup(c, R(rename(f2.s, f3.s)), "rename");
	is_mtime(c, f3.s, T2,
		 "utimensat: mtime unchanged by rename to another directory");
	setup(c, R(link(f3.s, pj(d.s, "hard").s)), "link");
	is_mtime(c, f3.s, T2, "utimensat: mtime unchanged by link");
}

/* ----------------------------------------- chmod, chown, symlinks */

static void t_attr(struct ctx *c, path_t d)
{
	path_t f = pj(d.s, "f");
	struct stat st;
	setup(c, RN(put_str(f.s, "attrs")), "write");
	static const mode_t modes[] = { 0600, 0755, 0444, 0640 };
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		is_ok(c, R(chmod(f.s, modes[i])), "chmod: %04o",
		      (unsigned)modes[i]);
		is_num(c,
		       lstat(f.s, &st) == 0 ? (long long)(st.st_mode & 07777)
					    : -1,
		       modes[i], "chmod: stat shows %04o", (unsigned)modes[i]);
	}
	int fd = open(f.s, O_RDONLY);
	if (fd >= 0) {
		is_ok(c, R(fchmod(fd, 0604)), "fchmod: 0604");
		is_num(c,
		       fstat(fd, &st) == 0 ? (long long)(st.st_mode & 07777)
					   : -1,
		       0604, "fchmod: fstat shows 0604");
		close(fd);
	}
	is_ok(c, R(chmod(d.s, 0711)), "chmod: a directory 0711");
	is_num(c, lstat(d.s, &st) == 0 ? (long long)(st.st_mode & 07777) : -1,
	       0711, "chmod: the directory's mode is 0711");
	(void)chmod(d.s, 0755);
	check(c, lstat(f.s, &st) == 0 && S_ISREG(st.st_mode),
	      "chmod: the file type bits are unchanged");

	if (geteuid() == 0) {
		uid_t u = PC_NOBODY;
		gid_t g = PC_NOBODY;
		is_ok(c, R(chown(f.s, u, g)), "chown: to 65534:65534 as root");
		bool got = lstat(f.s, &st) == 0;
		check(c, got && st.st_uid == u && st.st_gid == g,
		      "chown: stat shows 65534:65534");
		is_ok(c, R(chown(f.s, (uid_t)-1, (gid_t)-1)),
		      "chown: -1:-1 is a no-op");
		got = lstat(f.s, &st) == 0;
		check(c, got && st.st_uid == u && st.st_gid == g,
		      "chown: -1:-1 kept 65534:65534");
		is_ok(c, R(chown(f.s, 0, 0)), "chown: back to 0:0");
		got = lstat(f.s, &st) == 0;
		check(c, got && st.st_uid == 0 && st.st_gid == 0,
		      "chown: stat shows 0:0");
		is_ok(c, R(chown(f.s, (uid_t)-1, g)), "chown: only the group");
		got = lstat(f.s, &st) == 0;
		check(c, got && st.st_uid == 0 && st.st_gid == g,
		      "chown: stat shows 0:65534");
		(void)chown(f.s, 0, 0);
	} else {
		skip(c, "not root", "chown: to 65534:65534 and back");
	}

	const char *tgt = "no/such/target";
	path_t l = pj(d.s, "dangling");
	is_ok(c, R(symlink(tgt, l.s)), "symlink: to a missing target");
	bool got = lstat(l.s, &st) == 0;
	check(c, got && S_ISLNK(st.st_mode), "symlink: lstat says S_ISLNK");
	is_num(c, got ? st.st_size : -1, (long long)strlen(tgt),
	       "symlink: lstat st_size is the target's length");
	char buf[2048];
	ssize_t n = readlink(l.s, buf, sizeof buf);
	is_bytes(c, buf, n < 0 ? 0 : (size_t)n, tgt, strlen(tgt),
		 "readlink: returns the target");
	is_err(c, R(stat(l.s, &st)), ENOENT,
	       "symlink: stat through a dangling link -> ENOENT");
	int lfd = open(l.s, O_RDONLY | O_NOFOLLOW);
	if (lfd >= 0)
		close(lfd);
	is_err(c, res_of(lfd < 0 ? -1 : 0), ELOOP,
	       "open: O_NOFOLLOW on a symlink -> ELOOP");

	path_t l2 = pj(d.s, "tofile");
	setup(c, R(symlink("f", l2.s)), "symlink");
	check(c,
	      stat(l2.s, &st) == 0 && S_ISREG(st.st_mode) &&
		      st.st_ino == ino_of(f.s),
	      "symlink: stat follows to the target file");
	is_str_content(c, l2.s, "attrs",
		       "symlink: open through the link reads the target");
	open_err(c, l2.s, O_RDONLY | O_NOFOLLOW, ELOOP,
		 "open: O_NOFOLLOW on a symlink to a file -> ELOOP");
	fd = open(f.s, O_RDONLY | O_NOFOLLOW);
	if (is_ok(c, R(fd), "open: O_NOFOLLOW on a regular file works"))
		close(fd);
	is_err(c, R(symlink("x", f.s)), EEXIST,
	       "symlink: over an existing name -> EEXIST");
	is_err(c, R(readlink(f.s, buf, sizeof buf)), EINVAL,
	       "readlink: on a regular file -> EINVAL");
	char longt[1001];
	memset(longt, 'x', 1000);
	for (int i = 50; i < 1000; i += 51)
		longt[i] = '/';
	longt[1000] = '\0';
	path_t l3 = pj(d.s, "long");
	is_ok(c, R(symlink(longt, l3.s)), "symlink: a 1000-byte target");
	n = readlink(l3.s, buf, sizeof buf);
	is_bytes(c, buf, n < 0 ? 0 : (size_t)n, longt, 1000,
		 "readlink: the 1000-byte target comes back whole");
	path_t sd = pj(d.s, "sd");
	setup(c, R(mkdir(sd.s, 0755)), "mkdir");
	setup(c, RN(put_str(pj(sd.s, "inner").s, "inner")), "write");
	setup(c, R(symlink("sd", pj(d.s, "todir").s)), "symlink");
	is_str_content(
		c, pj(d.s, "todir/inner").s, "inner",
		"symlink: a path through a link to a directory resolves");
}

/* -------------------------------------------------------------- statfs */

static void t_statfs(struct ctx *c, path_t d)
{
	(void)d; /* statfs asks about the file system, not a directory */
	struct statfs sf;
	struct statvfs sv;
	bool a = is_ok(c, R(statfs(c->top, &sf)), "statfs: succeeds");
	if (!check(c, a && sf.f_bsize > 0, "statfs: f_bsize > 0"))
		diag("f_bsize %ld", a ? (long)sf.f_bsize : 0L);
	if (!check(c, a && sf.f_namelen >= PC_NAME_MAX,
		   "statfs: f_namelen >= 255"))
		diag("f_namelen %ld", a ? (long)sf.f_namelen : 0L);
	bool b = is_ok(c, R(statvfs(c->top, &sv)), "statvfs: succeeds");
	check(c, b && sv.f_namemax >= PC_NAME_MAX && sv.f_frsize > 0,
	      "statvfs: f_namemax >= 255 and f_frsize > 0");
	if (!check(c,
		   b && sv.f_bfree <= sv.f_blocks &&
			   sv.f_bavail <= sv.f_bfree &&
			   sv.f_ffree <= sv.f_files,
		   "statvfs: free <= total for blocks and files, available <= free"))
		diag("blocks %llu free %llu avail %llu files %llu ffree %llu",
		     (unsigned long long)sv.f_blocks,
		     (unsigned long long)sv.f_bfree,
		     (unsigned long long)sv.f_bavail,
		     (unsigned long long)sv.f_files,
		     (unsigned long long)sv.f_ffree);
	int fd = open(c->top, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		is_ok(c, R(fstatfs(fd, &sf)),
		      "fstatfs: succeeds on a directory fd");
		close(fd);
	}
}

/* ---------------------------------------------------------------- mmap */

static void t_mmap(struct ctx *c, path_t d)
{
	path_t m = pj(d.s, "m");
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = 3 * page + 100;
	char *data = xmalloc(len), *back = xmalloc(len);
	pattern(data, len, 7);
	if (!setup(c, RN(put_file(m.s, data, len)), "write %s", m.s))
		goto out;

	int fd = open(m.s, O_RDONLY);
	if (setup(c, R(fd), "open %s", m.s)) {
		void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		if (check(c, p != MAP_FAILED,
			  "mmap: MAP_SHARED PROT_READ of a file")) {
			is_bytes(c, p, len, data, len,
				 "mmap: the mapping equals the file's content");
			munmap(p, len);
		} else {
			diag("mmap: %s", ename(errno));
		}
		close(fd);
	}

	fd = open(m.s, O_RDWR);
	int fd2 = open(m.s, O_RDONLY);
	if (setup(c, R(fd), "open %s", m.s) &&
	    setup(c, R(fd2), "open %s", m.s)) {
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			       fd, 0);
		if (check(c, p != MAP_FAILED,
			  "mmap: MAP_SHARED PROT_READ|PROT_WRITE")) {
			memcpy(p + 5000, "MMAP-WRITE", 10);
			memcpy(data + 5000, "MMAP-WRITE", 10);
			is_ok(c, R(msync(p, len, MS_SYNC)),
			      "msync: MS_SYNC returns 0");
			ssize_t got = pread_full(fd, back, 10, 5000);
			is_bytes(
				c, back, got < 0 ? 0 : (size_t)got,
				"MMAP-WRITE", 10,
				"mmap: after msync, read() on the same fd sees the change");
			got = pread_full(fd2, back, 10, 5000);
			is_bytes(
				c, back, got < 0 ? 0 : (size_t)got,
				"MMAP-WRITE", 10,
				"mmap: after msync, read() on another fd sees the change");
			setup(c, R(pwrite(fd, "PWRITE", 6, 100)), "pwrite");
			memcpy(data + 100, "PWRITE", 6);
			is_bytes(
				c, p + 100, 6, "PWRITE", 6,
				"mmap: a pwrite shows through an existing MAP_SHARED mapping");
			is_ok(c, R(munmap(p, len)), "munmap: returns 0");
		} else {
			diag("mmap: %s", ename(errno));
		}
	}
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	is_content(c, m.s, data, len,
		   "mmap: the change is there after munmap, close and reopen");

	fd = open(m.s, O_RDWR);
	if (setup(c, R(fd), "open %s", m.s)) {
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			       fd, 0);
		if (setup(c, R(p == MAP_FAILED ? -1 : 0), "mmap MAP_PRIVATE")) {
			memset(p, 'P', 64);
			munmap(p, len);
		}
		close(fd);
	}
	is_content(c, m.s, data, len,
		   "mmap: MAP_PRIVATE writes do not reach the file");
out:
	free(data);
	free(back);
}

/* --------------------------------------------------------------- locks */

/* What a second process saw; filled in the child, read by the parent. */
struct lock_probe {
	int getlk_type;
	int getlk_pid;
	int setlk_err; /* 0 if its F_SETLK succeeded, else errno */
	int range_err; /* for a second, different range */
	int flock_err;
};

static int try_lock(int fd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type,
			    .l_whence = SEEK_SET,
			    .l_start = start,
			    .l_len = len };
	return fcntl(fd, F_SETLK, &fl) == 0 ? 0 : errno;
}

/* Fork a process that opens path and probes it: F_GETLK for a write lock
 * on [gstart, +glen), F_SETLK type on [s1, +l1) and on [s2, +l2) (each
 * released again), flock LOCK_EX|LOCK_NB. */
static bool probe(struct ctx *c, const char *path, short type, off_t s1,
		  off_t l1, off_t s2, off_t l2, struct lock_probe *out)
{
	int pfd[2];
	if (!setup(c, R(pipe(pfd)), "pipe"))
		return false;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return setup(c, R(-1), "fork");
	}
	if (pid == 0) {
		struct lock_probe p = { -1, -1, -1, -1, -1 };
		close(pfd[0]);
		int fd = open(path, O_RDWR);
		if (fd >= 0) {
			struct flock fl = { .l_type = F_WRLCK,
					    .l_whence = SEEK_SET };
			if (fcntl(fd, F_GETLK, &fl) == 0) {
				p.getlk_type = fl.l_type;
				p.getlk_pid = fl.l_pid;
			}
			p.setlk_err = try_lock(fd, type, s1, l1);
			if (!p.setlk_err)
				try_lock(fd, F_UNLCK, s1, l1);
			p.range_err = try_lock(fd, type, s2, l2);
			if (!p.range_err)
				try_lock(fd, F_UNLCK, s2, l2);
			p.flock_err =
				flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : errno;
			close(fd);
		}
		_exit(write(pfd[1], &p, sizeof p) == (ssize_t)sizeof p ? 0 : 1);
	}
	close(pfd[1]);
	ssize_t got = read(pfd[0], out, sizeof *out);
	close(pfd[0]);
	int st;
	waitpid(pid, &st, 0);
	return setup(c, R(got == (ssize_t)sizeof *out ? 0 : -1),
		     "lock probe process");
}

static bool is_locked_err(int e)
{
	return e == EAGAIN || e == EACCES;
}

static void t_locks(struct ctx *c, path_t d)
{
	path_t lk = pj(d.s, "lockfile");
	char zero[300] = { 0 };
	setup(c, RN(put_file(lk.s, zero, sizeof zero)), "write %s", lk.s);
	int fd = open(lk.s, O_RDWR);
	if (!setup(c, R(fd), "open %s", lk.s))
		return;
	struct lock_probe p;

	is_num(c, try_lock(fd, F_WRLCK, 0, 0), 0,
	       "fcntl: F_SETLK write lock on the whole file");
	if (probe(c, lk.s, F_RDLCK, 0, 0, 0, 0, &p)) {
		if (!check(c,
			   p.getlk_type == F_WRLCK && p.getlk_pid == getpid(),
			   "fcntl: F_GETLK in a second process reports the write lock and its pid"))
			diag("l_type %d (F_WRLCK %d), l_pid %d (want %d)",
			     p.getlk_type, F_WRLCK, p.getlk_pid, (int)getpid());
		if (!check(c, is_locked_err(p.setlk_err),
			   "fcntl: F_SETLK read lock in a second process -> EAGAIN"))
			diag("got %s",
			     p.setlk_err ? ename(p.setlk_err) : "success");
	}
	is_num(c, try_lock(fd, F_UNLCK, 0, 0), 0, "fcntl: F_UNLCK");
	is_num(c, try_lock(fd, F_WRLCK, 0, 100), 0,
	       "fcntl: F_SETLK write lock on bytes 0-99");
	if (probe(c, lk.s, F_WRLCK, 100, 100, 50, 100, &p)) {
		if (!check(c, p.setlk_err == 0,
			   "fcntl: another process can lock the free bytes 100-199"))
			diag("got %s", ename(p.setlk_err));
		if (!check(c, is_locked_err(p.range_err),
			   "fcntl: another process cannot lock the overlapping bytes 50-149"))
			diag("got %s",
			     p.range_err ? ename(p.range_err) : "success");
	}
	is_num(c, try_lock(fd, F_RDLCK, 0, 0), 0,
	       "fcntl: F_SETLK read lock on the whole file");
	if (probe(c, lk.s, F_RDLCK, 0, 0, 0, 0, &p)) {
		if (!check(c, p.setlk_err == 0,
			   "fcntl: read locks are shared between processes"))
			diag("got %s", ename(p.setlk_err));
		if (!check(c, p.getlk_type == F_RDLCK,
			   "fcntl: F_GETLK for a write lock reports the read lock"))
			diag("l_type %d", p.getlk_type);
	}
	is_num(c, try_lock(fd, F_UNLCK, 0, 0), 0,
	       "fcntl: F_UNLCK of the read lock");
	if (probe(c, lk.s, F_WRLCK, 0, 0, 0, 0, &p)) {
		check(c, p.getlk_type == F_UNLCK,
		      "fcntl: after F_UNLCK, F_GETLK reports F_UNLCK");
		if (!check(c, p.setlk_err == 0,
			   "fcntl: after F_UNLCK another process can lock"))
			diag("got %s", ename(p.setlk_err));
	}

	int f1 = open(lk.s, O_RDWR), f2 = open(lk.s, O_RDWR),
	    f3 = open(lk.s, O_RDWR);
	if (setup(c, R(f1), "open") && setup(c, R(f2), "open") &&
	    setup(c, R(f3), "open")) {
		is_ok(c, R(flock(f1, LOCK_EX)), "flock: LOCK_EX");
		is_err(c, R(flock(f2, LOCK_EX | LOCK_NB)), EWOULDBLOCK,
		       "flock: LOCK_EX|LOCK_NB from a second open file -> EWOULDBLOCK");
		is_err(c, R(flock(f2, LOCK_SH | LOCK_NB)), EWOULDBLOCK,
		       "flock: LOCK_SH|LOCK_NB against LOCK_EX -> EWOULDBLOCK");
		if (probe(c, lk.s, F_WRLCK, 0, 0, 0, 0, &p))
			if (!check(c, p.flock_err == EWOULDBLOCK,
				   "flock: LOCK_EX|LOCK_NB from another process -> EWOULDBLOCK"))
				diag("got %s", p.flock_err ? ename(p.flock_err)
							   : "success");
		is_ok(c, R(flock(f1, LOCK_UN)), "flock: LOCK_UN");
		is_ok(c, R(flock(f2, LOCK_EX | LOCK_NB)),
		      "flock: LOCK_EX|LOCK_NB after LOCK_UN");
		flock(f2, LOCK_UN);
		is_ok(c, R(flock(f1, LOCK_SH)), "flock: LOCK_SH");
		is_ok(c, R(flock(f2, LOCK_SH | LOCK_NB)),
		      "flock: a second LOCK_SH is shared");
		is_err(c, R(flock(f3, LOCK_EX | LOCK_NB)), EWOULDBLOCK,
		       "flock: LOCK_EX|LOCK_NB against LOCK_SH -> EWOULDBLOCK");
	}
	if (f1 >= 0)
		close(f1);
	if (f2 >= 0)
		close(f2);
	if (f3 >= 0)
		close(f3);
	close(fd);
}

/* -------------------------------------------------------------- inodes */

static int cmp_ino(const void *a, const void *b)
{
	ino_t x = *(const ino_t *)a, y = *(const ino_t *)b;
	return x < y ? -1 : x > y;
}

static void t_inodes(struct ctx *c, path_t d)
{
	ino_t ino[PC_INODES], sorted[PC_INODES];
	struct stat dst, st;
	lstat(d.s, &dst);
	bool made = true, same_dev = true, fd_same = true;
	for (int i = 0; i < PC_INODES; i++) {
		path_t p = pjf(d.s, "i%03d", i);
		int fd = open(p.s, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (!setup(c, R(fd), "create %s", p.s)) {
			made = false;
			break;
		}
		if (fstat(fd, &st) != 0)
			st.st_ino = 0;
		close(fd);
		ino[i] = ino_of(p.s);
		fd_same &= st.st_ino == ino[i];
		same_dev &= lstat(p.s, &st) == 0 && st.st_dev == dst.st_dev;
	}
	if (!made)
		return;
	memcpy(sorted, ino, sizeof ino);
	qsort(sorted, PC_INODES, sizeof sorted[0], cmp_ino);
	int dup = 0, zero = 0;
	for (int i = 0; i < PC_INODES; i++) {
		zero += sorted[i] == 0;
		dup += i > 0 && sorted[i] == sorted[i - 1];
		dup += sorted[i] == dst.st_ino;
	}
	if (!check(c, dup == 0 && zero == 0,
		   "inodes: %d new files have %d distinct st_ino", PC_INODES,
		   PC_INODES))
		diag("%d duplicates, %d zero", dup, zero);
	check(c, fd_same, "inodes: fstat and lstat agree on st_ino");
	check(c, same_dev, "inodes: every file has the directory's st_dev");
	path_t sub = pj(d.s, "sub");
	setup(c, R(mkdir(sub.s, 0755)), "mkdir");
	is_num(c, (long long)ino_of(pj(sub.s, "..").s), (long long)dst.st_ino,
	       "inodes: '..' of a subdirectory has the parent's st_ino");
	path_t r1 = pj(d.s, "i000"), r1b = pj(d.s, "renamed"),
	       r2 = pj(d.s, "i001"), r2b = pj(sub.s, "moved:2,S");
	setup(c, R(rename(r1.s, r1b.s)), "rename");
	is_num(c, (long long)ino_of(r1b.s), (long long)ino[0],
	       "inodes: st_ino is the same after rename");
	setup(c, R(rename(r2.s, r2b.s)), "rename");
	is_num(c, (long long)ino_of(r2b.s), (long long)ino[1],
	       "inodes: st_ino is the same after rename to another directory");
	int changed = 0;
	for (int i = 2; i < PC_INODES; i++)
		changed += ino_of(pjf(d.s, "i%03d", i).s) != ino[i];
	is_num(c, changed, 0, "inodes: every other file still has its st_ino");
}

/* ------------------------------------------------------------- Maildir */

/* A message whose bytes follow from (who, k) alone. */
static size_t gen_msg(char *buf, size_t cap, unsigned who, unsigned k)
{
	int h = snprintf(buf, cap,
			 "Return-Path: <sender@example.org>\n"
			 "From: Sender <sender@example.org>\n"
			 "To: user@example.org\n"
			 "Subject: delivery %u/%u\n"
			 "Message-ID: <%u.%u@posix.test>\n\n",
			 who, k, who, k);
	size_t len = (size_t)h + 100 + (who * 7919u + k * 104729u) % 20000u;
	if (len > cap)
		len = cap;
	for (size_t i = (size_t)h; i < len; i++)
		buf[i] = (i - (size_t)h) % 73 == 72
				 ? '\n'
				 : (char)('a' + (i * 31 + k) % 26);
	return len;
}

/* qmail's maildir_child: 0, or the step that failed (> 0). */
static int deliver(const char *md, const char *name, const char *msg,
		   size_t len)
{
	path_t tmp = pj(pj(md, "tmp").s, name), nw = pj(pj(md, "new").s, name);
	int fd = open(tmp.s, O_CREAT | O_EXCL | O_WRONLY, 0600);
	if (fd < 0)
		return 1;
	if (write_all(fd, msg, len) != 0) {
		close(fd);
		return 2;
	}
	if (fsync(fd) != 0) {
		close(fd);
		return 3;
	}
	if (close(fd) != 0)
		return 4;
	if (link(tmp.s, nw.s) != 0)
		return 5;
	if (unlink(tmp.s) != 0)
		return 6;
	return 0;
}

static void t_maildir(struct ctx *c, path_t md)
{
	const char *sub[] = { "tmp", "new", "cur" };
	for (int i = 0; i < 3; i++)
		if (!setup(c, R(mkdir(pj(md.s, sub[i]).s, 0700)), "mkdir %s",
			   sub[i]))
			return;
	char *msg = xmalloc(PC_MSG_MAX), *msg2 = xmalloc(PC_MSG_MAX);
	size_t len = gen_msg(msg, PC_MSG_MAX, 999, 1);
	const char *X = "1700000000.M123456P999Q1.posix.test";
	path_t tmp = pj(pj(md.s, "tmp").s, X), nw = pj(pj(md.s, "new").s, X),
	       s = pjf(pj(md.s, "cur").s, "%s:2,S", X),
	       rs = pjf(pj(md.s, "cur").s, "%s:2,RS", X);

	int fd = open(tmp.s, O_CREAT | O_EXCL | O_WRONLY, 0600);
	if (is_ok(c, R(fd), "maildir: create tmp/X with O_CREAT|O_EXCL")) {
		is_ok(c, RN(write_all(fd, msg, len)),
		      "maildir: write the message");
		is_ok(c, R(fsync(fd)), "maildir: fsync tmp/X");
		is_ok(c, R(close(fd)), "maildir: close tmp/X");
	}
	ino_t ino = ino_of(tmp.s);
	is_ok(c, R(link(tmp.s, nw.s)), "maildir: link tmp/X to new/X");
	is_num(c, (long long)nlink_of(nw.s), 2,
	       "maildir: new/X has st_nlink 2 while tmp/X exists");
	is_ok(c, R(unlink(tmp.s)), "maildir: unlink tmp/X");
	is_num(c, (long long)nlink_of(nw.s), 1,
	       "maildir: new/X has st_nlink 1");
	is_content(c, nw.s, msg, len, "maildir: new/X holds the message");
	is_ok(c, R(rename(nw.s, s.s)), "maildir: rename new/X to cur/X:2,S");
	check(c, !exists(nw.s), "maildir: new/X is gone");
	is_content(c, s.s, msg, len, "maildir: cur/X:2,S holds the message");
	is_ok(c, R(rename(s.s, rs.s)),
	      "maildir: rename cur/X:2,S to cur/X:2,RS");
	check(c, !exists(s.s), "maildir: cur/X:2,S is gone");
	is_content(c, rs.s, msg, len, "maildir: cur/X:2,RS holds the message");
	is_num(c, (long long)ino_of(rs.s), (long long)ino,
	       "maildir: one inode from tmp/ to cur/");
	is_num(c, count_entries(pj(md.s, "tmp").s), 0,
	       "maildir: tmp/ is empty");
	is_num(c, count_entries(pj(md.s, "new").s), 0,
	       "maildir: new/ is empty");
	struct dlist l = { 0 };
	list_dir(pj(md.s, "cur").s, &l);
	check(c, l.n == 3 && dlist_find(&l, strrchr(rs.s, '/') + 1),
	      "maildir: cur/ lists exactly X:2,RS");
	dlist_free(&l);

	/* Parallel deliveries, as from several MTA processes at once. */
	pid_t pids[PC_DELIVERERS];
	int started = 0;
	fflush(stdout);
	for (int w = 0; w < PC_DELIVERERS; w++) {
		pid_t pid = fork();
		if (pid < 0)
			break;
		if (pid == 0) {
			for (int k = 0; k < PC_DELIVERIES; k++) {
				char name[128];
				snprintf(name, sizeof name,
					 "1700000000.M%dP%dQ%d.posix.test", k,
					 (int)getpid(), w);
				size_t n = gen_msg(msg2, PC_MSG_MAX,
						   (unsigned)w, (unsigned)k);
				int rc = deliver(md.s, name, msg2, n);
				if (rc)
					_exit(rc);
			}
			_exit(0);
		}
		pids[started++] = pid;
	}
	int bad_exit = 0;
	for (int i = 0; i < started; i++) {
		int st = 0;
		waitpid(pids[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			diag("deliverer %d: %s %d", i,
			     WIFEXITED(st) ? "failed at step" : "signal",
			     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			bad_exit++;
		}
	}
	check(c, started == PC_DELIVERERS && bad_exit == 0,
	      "maildir: %d parallel deliverers of %d messages each succeeded",
	      PC_DELIVERERS, PC_DELIVERIES);
	list_dir(pj(md.s, "new").s, &l);
	int good = 0, wrong = 0;
	for (size_t i = 0; i < l.n; i++) {
		int k, pid, w;
		if (!strcmp(l.v[i].name, ".") || !strcmp(l.v[i].name, ".."))
			continue;
		if (sscanf(l.v[i].name, "1700000000.M%dP%dQ%d.posix.test", &k,
			   &pid, &w) != 3 ||
		    w < 0 || w >= PC_DELIVERERS || k < 0 ||
		    k >= PC_DELIVERIES) {
			diag("unexpected entry new/%s", l.v[i].name);
			wrong++;
			continue;
		}
		size_t n = gen_msg(msg2, PC_MSG_MAX, (unsigned)w, (unsigned)k);
		ssize_t got = slurp(pj(pj(md.s, "new").s, l.v[i].name).s, msg,
				    PC_MSG_MAX);
		if (got == (ssize_t)n && memcmp(msg, msg2, n) == 0)
			good++;
		else
			wrong++;
	}
	dlist_free(&l);
	if (!check(c, good == PC_DELIVERERS * PC_DELIVERIES && wrong == 0,
		   "maildir: new/ holds all %d messages with the right content",
		   PC_DELIVERERS * PC_DELIVERIES))
		diag("%d right, %d wrong", good, wrong);
	is_num(c, count_entries(pj(md.s, "tmp").s), 0,
	       "maildir: tmp/ is empty after them");
	free(msg);
	free(msg2);
}

/* ------------------------------------------------------ as unprivileged */

static void t_eacces(struct ctx *c, const char *dir)
{
	struct stat st;
	uid_t me = geteuid();
	path_t file = pj(dir, "file"), sub = pj(dir, "dir"),
	       priv = pj(dir, "private"), mine = pj(dir, "mine");
	if (lstat(dir, &st) != 0 || st.st_uid == me || (st.st_mode & 0022) ||
	    lstat(file.s, &st) != 0 || st.st_uid == me || (st.st_mode & 0022) ||
	    st.st_size == 0 || lstat(sub.s, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid == me || lstat(priv.s, &st) != 0 || st.st_uid == me ||
	    (st.st_mode & 0007) || lstat(mine.s, &st) != 0 || st.st_uid != me)
		bail("%s is not laid out as --as-unprivileged needs (see the program's header)",
		     dir);
	char orig[4096];
	ssize_t olen = slurp(file.s, orig, sizeof orig);

	open_err(
		c, pj(dir, "new").s, O_CREAT | O_WRONLY, EACCES,
		"eacces: create in a directory without write permission -> EACCES");
	is_err(c, R(mkdir(pj(dir, "newdir").s, 0755)), EACCES,
	       "eacces: mkdir in a directory without write permission -> EACCES");
	is_err(c, R(unlink(file.s)), EACCES,
	       "eacces: unlink in a directory without write permission -> EACCES");
	is_err(c, R(rmdir(sub.s)), EACCES,
	       "eacces: rmdir in a directory without write permission -> EACCES");
	is_err(c, R(rename(file.s, pj(dir, "file2").s)), EACCES,
	       "eacces: rename within a directory without write permission -> EACCES");
	is_err(c, R(rename(file.s, pj(mine.s, "file").s)), EACCES,
	       "eacces: rename out of a directory without write permission -> EACCES");
	is_err(c, R(symlink("file", pj(dir, "sym").s)), EACCES,
	       "eacces: symlink in a directory without write permission -> EACCES");
	open_err(c, file.s, O_WRONLY, EACCES,
		 "eacces: open another user's 0644 file O_WRONLY -> EACCES");
	is_err(c, R(truncate(file.s, 0)), EACCES,
	       "eacces: truncate another user's 0644 file -> EACCES");
	is_err(c, R(chmod(file.s, 0666)), EPERM,
	       "eacces: chmod another user's file -> EPERM");
	const struct timespec ts[2] = { { 1, 0 }, { 1, 0 } };
	is_err(c, R(utimensat(AT_FDCWD, file.s, ts, 0)), EPERM,
	       "eacces: utimensat with times on another user's file -> EPERM");
	is_err(c, R(utimensat(AT_FDCWD, file.s, NULL, 0)), EACCES,
	       "eacces: utimensat to now on another user's read-only file -> EACCES");
	open_err(
		c, pj(priv.s, "anything").s, O_RDONLY, EACCES,
		"eacces: lookup in a 0700 directory of another user -> EACCES");
	open_err(
		c, priv.s, O_RDONLY | O_DIRECTORY, EACCES,
		"eacces: opendir of a 0700 directory of another user -> EACCES");

	/* The same user can do all of it where it may: the refusals above are
	 * permission checks, not a mount nobody can use. */
	is_content(c, file.s, orig, olen < 0 ? 0 : (size_t)olen,
		   "eacces: another user's 0644 file is readable");
	long n = count_entries(dir);
	is_num(c, n, 4, "eacces: a 0755 directory of another user is listable");
	path_t x = pj(mine.s, "x");
	int fd = open(x.s, O_CREAT | O_EXCL | O_RDWR, 0644);
	if (is_ok(c, R(fd), "eacces: create in the user's own directory")) {
		setup(c, RN(write_all(fd, "mine", 4)), "write");
		close(fd);
	}
	bool got = lstat(x.s, &st) == 0;
	check(c, got && st.st_uid == me && st.st_gid == getegid(),
	      "eacces: the new file belongs to the creating user and group");
	is_err(c, R(rename(x.s, pj(dir, "x").s)), EACCES,
	       "eacces: rename into a directory without write permission -> EACCES");
	is_err(c, R(link(x.s, pj(dir, "x").s)), EACCES,
	       "eacces: link into a directory without write permission -> EACCES");
	is_err(c, R(chown(x.s, 0, 0)), EPERM,
	       "eacces: giving a file away with chown -> EPERM");
	is_ok(c, R(chmod(x.s, 0600)), "eacces: chmod of the user's own file");
	is_ok(c, R(rename(x.s, pj(mine.s, "y").s)),
	      "eacces: rename in the user's own directory");
	is_ok(c, R(mkdir(pj(mine.s, "d").s, 0755)),
	      "eacces: mkdir in the user's own directory");
	is_ok(c, R(rmdir(pj(mine.s, "d").s)),
	      "eacces: rmdir in the user's own directory");
	is_ok(c, R(unlink(pj(mine.s, "y").s)),
	      "eacces: unlink in the user's own directory");
	is_content(
		c, file.s, orig, olen < 0 ? 0 : (size_t)olen,
		"eacces: the refused operations left the other user's file as it was");
	check(c,
	      exists(sub.s) && !exists(pj(dir, "new").s) &&
		      !exists(pj(dir, "newdir").s) &&
		      !exists(pj(dir, "file2").s) &&
		      !exists(pj(dir, "sym").s) && !exists(pj(dir, "x").s) &&
		      !exists(pj(mine.s, "file").s),
	      "eacces: the refused operations created or removed no names");
}

/* ---------------------------------------------------------------- main */

/* The largest power of ten (ns) dividing every timestamp the FS reports:
 * 1 on a nanosecond FS, 1000000000 on one that keeps whole seconds. */
static void probe_timestamps(struct ctx *c)
{
	long g = PC_NS;
	for (int i = 0; i < 4; i++) {
		path_t p = pjf(c->top, "ts-probe.%d", i);
		struct stat st;
		struct timespec ms = { 0, 3000000 };
		int rc = put_str(p.s, "t");
		if (rc == 0 && lstat(p.s, &st) != 0)
			rc = -errno;
		if (rc)
			bail("cannot create %s: %s", p.s, ename(-rc));
		long v[] = { st.st_mtim.tv_nsec, st.st_ctim.tv_nsec,
			     st.st_atim.tv_nsec };
		for (int j = 0; j < 3; j++)
			while (g > 1 && v[j] % g)
				g /= 10;
		unlink(p.s);
		nanosleep(&ms, NULL);
	}
	c->ts_gran = g;
	long tick = g >= PC_NS		 ? PC_NS + PC_NS / 10
		    : g * 2 > PC_TICK_NS ? g * 2
					 : PC_TICK_NS;
	c->tick.tv_sec = tick / PC_NS;
	c->tick.tv_nsec = tick % PC_NS;
	diag("timestamp grain %ld ns; waiting %ld ms between time observations",
	     g, tick / 1000000);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* The check groups, each run in a fresh directory of its name. */
static const struct group {
	const char *name;
	void (*run)(struct ctx *, path_t dir);
} groups[] = {
	{ "open", t_open },	    { "rw", t_rw },
	{ "truncate", t_truncate }, { "sync", t_sync },
	{ "unlink", t_unlink },	    { "rename", t_rename },
	{ "link", t_link },	    { "dirs", t_dirs },
	{ "readdir", t_readdir },   { "dirtimes", t_dirtimes },
	{ "utime", t_utime },	    { "attr", t_attr },
	{ "statfs", t_statfs },	    { "mmap", t_mmap },
	{ "locks", t_locks },	    { "inodes", t_inodes },
	{ "maildir", t_maildir },
};

static bool selected(const char *only, const char *name)
{
	if (!only)
		return true;
	size_t n = strlen(name);
	for (const char *p = only; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p += len + (e != NULL);
	}
	return false;
}

static void usage(FILE *to)
{
	fputs("usage: posix_conformance [--keep] [--only=GROUP,...] DIR\n"
	      "       posix_conformance --as-unprivileged DIR\n"
	      "       posix_conformance --list\n",
	      to);
}

int main(int argc, char **argv)
{
	struct ctx c = { .ts_gran = 1 };
	bool keep = false, unpriv = false;
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--keep"))
			keep = true;
		else if (!strcmp(argv[i], "--as-unprivileged"))
			unpriv = true;
		else if (!strncmp(argv[i], "--only=", 7))
			c.only = argv[i] + 7;
		else if (!strcmp(argv[i], "--list")) {
			for (size_t g = 0; g < sizeof groups / sizeof groups[0];
			     g++)
				puts(groups[g].name);
			return 0;
		} else if (!strcmp(argv[i], "-h") ||
			   !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' || dir) {
			usage(stderr);
			return 2;
		} else {
			dir = argv[i];
		}
	}
	if (!dir) {
		usage(stderr);
		return 2;
	}
	umask(022);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (unpriv) {
		if (geteuid() == 0) {
			puts("1..0 # SKIP --as-unprivileged must run as a non-root user");
			return 0;
		}
		t_eacces(&c, dir);
	} else {
		int n = snprintf(c.top, sizeof c.top, "%s/pc.%d", dir,
				 (int)getpid());
		if (n < 0 || (size_t)n >= sizeof c.top)
			bail("path too long: %s", dir);
		if (mkdir(c.top, 0755) != 0)
			bail("mkdir %s: %s", c.top, ename(errno));
		probe_timestamps(&c);
		for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
			path_t d;
			if (selected(c.only, groups[g].name) &&
			    group_dir(&c, groups[g].name, &d))
				groups[g].run(&c, d);
		}
		if (keep)
			diag("kept %s", c.top);
		else
			is_ok(&c,
			      R(nftw(c.top, rm_entry, 16,
				     FTW_DEPTH | FTW_PHYS)),
			      "cleanup: the whole work tree can be removed");
	}
	printf("1..%d\n", c.n);
	if (c.failed)
		diag("%d of %d checks failed", c.failed, c.n);
	return c.failed ? 1 : 0;
}
