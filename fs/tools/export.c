/* fs/tools/export.c — write a tree out as a plain Maildir (export.h). */
#include "fs/tools/export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/io.h"
#include "util/wipe.h"

#define IO_BYTES (1024 * 1024)

/* Modes come from the mailbox, which any user allowed into a mount may
 * have chmod-ed: export, often run as root, hands out no setuid or setgid
 * bit (a setgid folder loses its group inheritance too). */
#define EXPORT_MODE_BITS (07777 & ~(mode_t)(S_ISUID | S_ISGID))

struct exporter {
	struct obj_store *st;
	struct fs_tree *t;
	const struct export_options *o;
	struct export_stats *stats;
	char *errpath;
	uint8_t *buf;
	bool chown;
	char path[PATH_MAX]; /* mailbox path of what is being written */
};

static void count(struct fs_tree *t, struct inode *dir, struct export_stats *s,
		  unsigned depth)
{
	struct tree_listing l;
	if (depth > TREE_DEPTH_MAX || tree_list(dir, &l) != 0)
		return;
	for (size_t i = 0; i < l.count; i++) {
		struct inode *in = tree_get(t, l.entries[i].ino);
		if (!in)
			continue;
		if (S_ISDIR(in->mode)) {
			s->dirs++;
			count(t, in, s, depth + 1);
		} else if (S_ISREG(in->mode)) {
			s->files++;
			s->bytes += in->size;
		} else if (S_ISLNK(in->mode)) {
			s->symlinks++;
		} else if (tree_is_special(in->mode)) {
			s->specials++;
		}
	}
	tree_listing_free(&l);
}

/* 1 empty, 0 not, or -errno.  Raw getdents64: <dirent.h> and fs/model/tree.h
 * both name a struct dirent. */
static int dir_is_empty(int dfd)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	_Alignas(8) char buf[4096];
	int result = 1;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (n < 0) {
			result = -errno;
			break;
		}
		if (n == 0)
			break;
		for (long off = 0; off < n && result == 1;) {
			/* d_ino u64, d_off s64, d_reclen u16, d_type u8, name */
			unsigned short reclen;
			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			const char *name = buf + off + 19;
			if (strcmp(name, ".") && strcmp(name, ".."))
				result = 0;
			off += reclen ? reclen : n;
		}
		if (result != 1)
			break;
	}
	close(fd);
	return result;
}

static void times_of(const struct inode *in, struct timespec ts[2])
{
	ts[0] = in->atime;
	ts[1] = in->mtime;
}

static int put_file(struct exporter *x, int dfd, const char *name,
		    struct inode *in)
{
	int fd = openat(dfd, name,
			O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0600);
	if (fd < 0)
		return -errno;
	int e = 0;
	for (uint64_t off = 0; !e && off < in->content.size;) {
		size_t got = 0;
		e = obj_read(x->st, &in->content, off, x->buf, IO_BYTES, &got);
		if (!e && got == 0)
			e = -EIO; /* shorter than its recorded size */
		if (!e)
			e = write_all(fd, x->buf, got);
		off += got;
	}
	struct timespec ts[2];
	times_of(in, ts);
	if (!e && x->chown && fchown(fd, in->uid, in->gid) != 0)
		e = -errno;
	if (!e && fchmod(fd, in->mode & EXPORT_MODE_BITS) != 0)
		e = -errno;
	if (!e && futimens(fd, ts) != 0)
		e = -errno;
	if (close(fd) != 0 && !e)
		e = -errno;
	if (!e) {
		x->stats->written++;
		x->stats->written_bytes += in->content.size;
	}
	return e;
}

static int put_dir(struct exporter *x, int dfd, struct inode *dir,
		   unsigned depth);

/* A FIFO, socket or device node, as mknod(2) makes them (a device needs
 * CAP_MKNOD: without it, EPERM names the entry and ends the export, as a
 * copy that can't be whole should).  A socket file is the name a bind(2)
 * left: nothing listens on it here either.  A device node is the
 * exporting user's, mode 0600, whatever the tree says: a merged or forged
 * tree could carry a 0666 node for a disk, and a root export would hand
 * that disk to every local user.  Its number is kept (a restore as root
 * means it); who may open it is for the admin to widen. */
static int put_special(struct exporter *x, int dfd, const char *name,
		       const struct inode *in)
{
	struct timespec ts[2];
	times_of(in, ts);
	bool device = S_ISCHR(in->mode) || S_ISBLK(in->mode);
	mode_t mode = device ? 0600 : in->mode & EXPORT_MODE_BITS;
	if (mknodat(dfd, name, (in->mode & S_IFMT) | 0600,
		    (dev_t)in->rdev) != 0 ||
	    (x->chown && !device &&
	     fchownat(dfd, name, in->uid, in->gid, AT_SYMLINK_NOFOLLOW) != 0) ||
	    fchmodat(dfd, name, mode, 0) != 0 ||
	    utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	x->stats->written_specials++;
	return 0;
}

static int put_entry(struct exporter *x, int dfd, const char *name,
		     struct inode *in, unsigned depth)
{
	size_t plen = strlen(x->path);
	if (plen + strlen(name) + 2 > sizeof(x->path))
		return -ENAMETOOLONG;
	snprintf(x->path + plen, sizeof(x->path) - plen, "/%s", name);
	int e = 0;
	if (S_ISDIR(in->mode)) {
		if (mkdirat(dfd, name, 0700) != 0) {
			e = -errno;
		} else {
			int sub = openat(dfd, name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						 O_CLOEXEC);
			e = sub < 0 ? -errno : put_dir(x, sub, in, depth + 1);
			if (sub >= 0)
				close(sub);
		}
	} else if (S_ISREG(in->mode)) {
		e = put_file(x, dfd, name, in);
		if (!e && x->o->progress)
			x->o->progress(x->o->progress_arg, x->stats);
	} else if (S_ISLNK(in->mode)) {
		struct timespec ts[2];
		times_of(in, ts);
		if (symlinkat(in->target ? in->target : "", dfd, name) != 0 ||
		    (x->chown &&
		     fchownat(dfd, name, in->uid, in->gid,
			      AT_SYMLINK_NOFOLLOW) != 0) ||
		    utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0)
			e = -errno;
	} else if (tree_is_special(in->mode)) {
		e = put_special(x, dfd, name, in);
	}
	if (!e)
		x->path[plen] = '\0';
	return e;
}

/* Entries, then the directory's own mode and times (adding entries
 * changed its mtime; a read-only mode would have stopped us). */
static int put_dir(struct exporter *x, int dfd, struct inode *dir,
		   unsigned depth)
{
	if (depth > TREE_DEPTH_MAX)
		return -EMLINK;
	struct tree_listing l;
	int e = tree_list(dir, &l);
	if (e)
		return e;
	for (size_t i = 0; i < l.count && !e; i++) {
		struct inode *in = tree_get(x->t, l.entries[i].ino);
		if (in)
			e = put_entry(x, dfd, l.entries[i].name, in, depth);
	}
	tree_listing_free(&l);
	if (e)
		return e;
	struct timespec ts[2];
	times_of(dir, ts);
	if (x->chown && fchown(dfd, dir->uid, dir->gid) != 0)
		return -errno;
	if (fchmod(dfd, dir->mode & EXPORT_MODE_BITS) != 0 || futimens(dfd, ts) != 0)
		return -errno;
	return 0;
}

int export_tree(struct obj_store *st, struct fs_tree *t, const char *dst,
		const struct export_options *o, struct export_stats *stats,
		char errpath[PATH_MAX])
{
	memset(stats, 0, sizeof(*stats));
	errpath[0] = '\0';
	count(t, t->root, stats, 0);
	if (o->progress)
		o->progress(o->progress_arg, stats);
	if (mkdir(dst, 0700) != 0 && errno != EEXIST) {
		snprintf(errpath, PATH_MAX, "%s", dst);
		return -errno;
	}
	int dfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(errpath, PATH_MAX, "%s", dst);
		return -errno;
	}
	/* Only an empty directory: export never overwrites anything. */
	int e = dir_is_empty(dfd);
	if (e != 1) {
		snprintf(errpath, PATH_MAX, "%s", dst);
		close(dfd);
		return e == 0 ? -ENOTEMPTY : e;
	}
	e = 0;
	struct exporter x = {.st = st, .t = t, .o = o, .stats = stats,
			     .errpath = errpath, .chown = geteuid() == 0};
	x.buf = malloc(IO_BYTES);
	if (!x.buf)
		e = -ENOMEM;
	if (!e)
		e = put_dir(&x, dfd, t->root, 0);
	if (!e && syncfs(dfd) != 0)
		e = -errno;
	if (e)
		snprintf(errpath, PATH_MAX, "%s", x.path[0] ? x.path : "/");
	wipe_free(x.buf, IO_BYTES);
	close(dfd);
	return e;
}
