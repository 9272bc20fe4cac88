/* fs/fuse/archive.c — see archive.h. */
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include "fs/fuse/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cache/chunk_cache.h"
#include "fs/model/manifest.h"
#include "util/array.h"
#include "util/log.h"
#include "util/wipe.h"

#define ARCHIVE_CACHE_BYTES (32u << 20)
#define ARCHIVE_TIMEOUT 3600.0 /* seconds: nothing here ever changes */
#define ARCHIVE_BLKSIZE 4096
#define NS_PER_SEC 1000000000LL

static int collect(const struct cid *cid, const struct commit *c, void *arg)
{
	struct archive *a = arg;
	/* A commit holds its tree's key: grown wiped (util/array.h). */
	void *p = array_grow_wiped(a->commits, a->n, &a->cap,
				   sizeof(*a->commits), 16);
	if (!p)
		return -ENOMEM;
	a->commits = p;
	struct archive_commit *ac = &a->commits[a->n++];
	memset(ac, 0, sizeof(*ac));
	ac->cid = *cid;
	ac->c = *c;
	return 0;
}

static int64_t second_of(int64_t ns)
{
	return ns / NS_PER_SEC - (ns < 0 && ns % NS_PER_SEC);
}

static bool same_second(const struct archive_commit *a,
			const struct archive_commit *b)
{
	return second_of(a->c.time_ns) == second_of(b->c.time_ns);
}

/* Names by UTC time; all commits sharing a second get "-SEQ", and those
 * sharing the seq as well (two lines of a DAG) "-SEQ-CIDTAIL". */
static void name_commits(struct archive *a)
{
	for (size_t i = 0; i < a->n; i++) {
		struct archive_commit *ac = &a->commits[i];
		bool shared = false, same_seq = false;
		for (size_t j = 0; j < a->n; j++) {
			if (j == i || !same_second(&a->commits[j], ac))
				continue;
			shared = true;
			same_seq |= a->commits[j].c.seq == ac->c.seq;
		}
		char when[HISTORY_TIME_MAX], ctext[CID_TEXT_MAX];
		history_format_time(ac->c.time_ns, when);
		cid_format(&ac->cid, ctext, sizeof(ctext));
		size_t len = strlen(ctext);
		const char *tail =
			ctext + (len > ARCHIVE_CID_TAIL ? len - ARCHIVE_CID_TAIL
							: 0);
		if (same_seq)
			snprintf(ac->name, sizeof(ac->name), "%s-%llu-%s", when,
				 (unsigned long long)ac->c.seq, tail);
		else if (shared)
			snprintf(ac->name, sizeof(ac->name), "%s-%llu", when,
				 (unsigned long long)ac->c.seq);
		else
			snprintf(ac->name, sizeof(ac->name), "%s", when);
	}
}

int archive_open(struct archive *a, struct history *h)
{
	memset(a, 0, sizeof(*a));
	a->h = h;
	a->timeout = ARCHIVE_TIMEOUT;
	struct chain_stop stop;
	int e = history_walk(h, collect, a, &stop);
	if (e)
		return e < 0 ? e : -EIO;
	if (a->n >= (UINT64_C(1) << ARCHIVE_COMMIT_SHIFT) - 1)
		return -EFBIG; /* k + 1 must fit above the shift */
	a->cache = chunk_cache_new(ARCHIVE_CACHE_BYTES);
	if (!a->cache)
		return -ENOMEM;
	a->st = h->st;
	a->st.cache = a->cache;
	name_commits(a);
	return 0;
}

void archive_close(struct archive *a)
{
	for (size_t i = 0; i < a->n; i++) {
		tree_free(a->commits[i].tree);
		free(a->commits[i].inos);
	}
	wipe_free(a->commits, a->cap * sizeof(*a->commits));
	chunk_cache_free(a->cache);
	memset(a, 0, sizeof(*a));
}

/* ---- inode numbers: commit k's n-th inode (archive.h) ---- */

#define INDEX_MASK ((UINT64_C(1) << ARCHIVE_COMMIT_SHIFT) - 1)

static int ino_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return (a > b) - (a < b);
}

/* The tree's inode numbers, ascending: the map's n → tree ino. */
static int map_tree(struct archive_commit *ac)
{
	const struct fs_tree *t = ac->tree;
	if (t->ninodes > INDEX_MASK)
		return -EIO;
	ac->inos = malloc((t->ninodes ? t->ninodes : 1) * sizeof(*ac->inos));
	if (!ac->inos)
		return -ENOMEM;
	for (uint32_t b = 0; b < t->nbuckets; b++)
		for (struct inode *in = t->buckets[b];
		     in && ac->ninos < t->ninodes; in = in->hash_next)
			ac->inos[ac->ninos++] = in->ino;
	qsort(ac->inos, ac->ninos, sizeof(*ac->inos), ino_cmp);
	return 0;
}

/* FUSE ino of commit k's tree inode tree_ino (its tree loaded, or the
 * root: n = 0 whatever the tree). */
static fuse_ino_t ino_of(const struct archive *a, size_t k, uint64_t tree_ino)
{
	const struct archive_commit *ac = &a->commits[k];
	size_t lo = 0, hi = ac->ninos;
	while (tree_ino != TREE_ROOT_INO && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ac->inos[mid] < tree_ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (fuse_ino_t)(((uint64_t)k + 1) << ARCHIVE_COMMIT_SHIFT | lo);
}

/* Load commit ac's tree and its map, once; the error sticks. */
static void load_commit(struct archive *a, struct archive_commit *ac)
{
	if (ac->tree || ac->load_error)
		return;
	ac->load_error = manifest_load(&a->st, &ac->c.tree, ac->c.next_ino,
				       &ac->tree);
	if (!ac->load_error)
		ac->load_error = map_tree(ac);
	if (ac->load_error)
		logmsg(LOG_ERR,
		       "archive: the tree of commit %llu does not load (%s): "
		       "run ipmaildir fsck",
		       (unsigned long long)ac->c.seq,
		       strerror(-ac->load_error));
}

/* The commit (loaded) and the tree inode behind a FUSE ino; NULL and *err
 * for the root, latest, or a failure. */
static struct inode *resolve(struct archive *a, fuse_ino_t ino,
			     struct archive_commit **out, int *err)
{
	uint64_t k = (uint64_t)ino >> ARCHIVE_COMMIT_SHIFT;
	uint64_t n = (uint64_t)ino & INDEX_MASK;
	*err = -ENOENT;
	if (k == 0 || k > a->n)
		return NULL;
	struct archive_commit *ac = &a->commits[k - 1];
	load_commit(a, ac);
	if (ac->load_error) {
		*err = ac->load_error == -ENOMEM ? -ENOMEM : -EIO;
		return NULL;
	}
	*out = ac;
	struct inode *in = n < ac->ninos ? tree_get(ac->tree, ac->inos[n])
					 : NULL;
	if (!in)
		return NULL;
	*err = 0;
	return in;
}

static void stat_inode(const struct archive *a, size_t k,
		       const struct inode *i, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino_of(a, k, i->ino);
	/* Read-only whatever the mode said: nothing here can change. */
	st->st_mode = i->mode & ~(mode_t)(S_IWUSR | S_IWGRP | S_IWOTH);
	st->st_nlink = i->nlink;
	st->st_uid = i->uid;
	st->st_gid = i->gid;
	st->st_rdev = (dev_t)i->rdev;
	st->st_size = S_ISLNK(i->mode) ? (off_t)strlen(i->target)
		      : S_ISDIR(i->mode) ? ARCHIVE_BLKSIZE
					 : (off_t)i->size;
	st->st_blksize = ARCHIVE_BLKSIZE;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_atim = i->atime;
	st->st_mtim = i->mtime;
	st->st_ctim = i->ctime;
}

static void stat_root(const struct archive *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ARCHIVE_ROOT_INO;
	st->st_mode = S_IFDIR | 0555;
	st->st_nlink = 2 + a->n;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_size = ARCHIVE_BLKSIZE;
	if (a->n) {
		int64_t ns = a->commits[0].c.time_ns;
		st->st_mtim.tv_sec = (time_t)second_of(ns);
		st->st_mtim.tv_nsec = (long)(ns - second_of(ns) * NS_PER_SEC);
		st->st_ctim = st->st_atim = st->st_mtim;
	}
}

static void stat_latest(const struct archive *a, struct stat *st)
{
	stat_root(a, st);
	st->st_ino = ARCHIVE_LATEST_INO;
	st->st_mode = S_IFLNK | 0777;
	st->st_nlink = 1;
	st->st_size = a->n ? (off_t)strlen(a->commits[0].name) : 0;
}

/* ---- operations ---- */

static struct archive *arc(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* The inode ino names, of file type type (S_IFDIR …; 0: any), and its
 * commit in *ac.  None: the error is replied (resolve's, or wrong for a
 * type other than type) and NULL returned. */
static struct inode *resolve_as(fuse_req_t req, fuse_ino_t ino, mode_t type,
				int wrong, struct archive_commit **ac)
{
	int err;
	struct inode *in = resolve(arc(req), ino, ac, &err);
	if (!in)
		fuse_reply_err(req, -err);
	else if (type && (in->mode & S_IFMT) != type)
		fuse_reply_err(req, wrong);
	else
		return in;
	return NULL;
}

/* Nothing here ever changes: what the kernel cached stays true. */
static void reply_open(fuse_req_t req, struct fuse_file_info *fi)
{
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void reply_entry(fuse_req_t req, const struct stat *st)
{
	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	e.ino = st->st_ino;
	e.attr = *st;
	e.attr_timeout = e.entry_timeout = arc(req)->timeout;
	fuse_reply_entry(req, &e);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct archive *a = arc(req);
	struct stat st;
	if (parent == ARCHIVE_ROOT_INO) {
		if (!strcmp(name, ARCHIVE_LATEST_NAME) && a->n) {
			stat_latest(a, &st);
			reply_entry(req, &st);
			return;
		}
		for (size_t k = 0; k < a->n; k++) {
			if (strcmp(name, a->commits[k].name))
				continue;
			/* The tree loads here, on first use. */
			struct archive_commit *ac;
			struct inode *root = resolve_as(
				req, ino_of(a, k, TREE_ROOT_INO), 0, 0, &ac);
			if (root) {
				stat_inode(a, k, root, &st);
				reply_entry(req, &st);
			}
			return;
		}
		fuse_reply_err(req, ENOENT);
		return;
	}
	struct archive_commit *ac;
	struct inode *dir = resolve_as(req, parent, S_IFDIR, ENOTDIR, &ac);
	if (!dir)
		return;
	struct dirent *d = tree_lookup(dir, name);
	if (!d) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	stat_inode(a, (size_t)(ac - a->commits), d->inode, &st);
	reply_entry(req, &st);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)fi;
	struct archive *a = arc(req);
	struct stat st;
	if (ino == ARCHIVE_ROOT_INO || ino == ARCHIVE_LATEST_INO) {
		if (ino == ARCHIVE_ROOT_INO)
			stat_root(a, &st);
		else
			stat_latest(a, &st);
		fuse_reply_attr(req, &st, a->timeout);
		return;
	}
	struct archive_commit *ac;
	struct inode *in = resolve_as(req, ino, 0, 0, &ac);
	if (!in)
		return;
	stat_inode(a, (size_t)(ac - a->commits), in, &st);
	fuse_reply_attr(req, &st, a->timeout);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct archive *a = arc(req);
	if (ino == ARCHIVE_LATEST_INO) {
		if (a->n)
			fuse_reply_readlink(req, a->commits[0].name);
		else
			fuse_reply_err(req, ENOENT);
		return;
	}
	struct archive_commit *ac;
	struct inode *in = resolve_as(req, ino, S_IFLNK, EINVAL, &ac);
	if (in)
		fuse_reply_readlink(req, in->target);
}

/* A directory handle: its listing, made once at opendir. */
struct dir_handle {
	struct tree_listing list; /* for a commit's directory */
	size_t k;                 /* its commit */
	fuse_ino_t self, parent;
	bool root;
};

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct archive *a = arc(req);
	struct dir_handle *h = calloc(1, sizeof(*h));
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	h->self = ino;
	h->root = ino == ARCHIVE_ROOT_INO;
	h->parent = ARCHIVE_ROOT_INO;
	if (!h->root) {
		struct archive_commit *ac;
		struct inode *dir = resolve_as(req, ino, S_IFDIR, ENOTDIR, &ac);
		int err = dir ? tree_list(dir, &h->list) : 0;
		if (!dir || err) {
			free(h);
			if (err)
				fuse_reply_err(req, -err);
			return;
		}
		h->k = (size_t)(ac - a->commits);
		if (dir->ino != TREE_ROOT_INO)
			h->parent = ino_of(a, h->k, dir->dir->parent->ino);
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	reply_open(req, fi);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino;
	struct archive *a = arc(req);
	struct dir_handle *h = (struct dir_handle *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* Entries: ".", "..", then latest and the commits (root) or the
	 * listing (a commit's directory). */
	size_t total = 2 + (h->root ? (a->n ? 1 + a->n : 0) : h->list.count);
	size_t used = 0;
	for (size_t i = (size_t)off; i < total; i++) {
		struct stat st;
		memset(&st, 0, sizeof(st));
		const char *name;
		if (i < 2) {
			name = i == 0 ? "." : "..";
			st.st_ino = i == 0 ? h->self : h->parent;
			st.st_mode = S_IFDIR;
		} else if (h->root && i == 2) {
			name = ARCHIVE_LATEST_NAME;
			st.st_ino = ARCHIVE_LATEST_INO;
			st.st_mode = S_IFLNK;
		} else if (h->root) {
			name = a->commits[i - 3].name;
			st.st_ino = ino_of(a, i - 3, TREE_ROOT_INO);
			st.st_mode = S_IFDIR;
		} else {
			struct tree_listing_entry *le = &h->list.entries[i - 2];
			name = le->name;
			st.st_ino = ino_of(a, h->k, le->ino);
			st.st_mode = le->mode;
		}
		size_t n = fuse_add_direntry(req, buf + used, size - used, name,
					     &st, (off_t)(i + 1));
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	(void)ino;
	struct dir_handle *h = (struct dir_handle *)(uintptr_t)fi->fh;
	if (h && !h->root)
		tree_listing_free(&h->list);
	free(h);
	fuse_reply_err(req, 0);
}

/* An open and a release per file read were all a warm pass over the
 * archive cost (as they were for the mount: fs/fuse/ops.c op_init): with
 * the kernel's no-open, op_open answers ENOSYS once and the kernel opens
 * by itself from then on, keeping its cached pages.  Nothing is lost: the
 * mount is read-only ("ro": the kernel refuses writes and O_TRUNC with
 * EROFS), and a file's bytes never change. */
static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct archive *a = userdata;
	if (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) {
		conn->want |= FUSE_CAP_NO_OPEN_SUPPORT;
		a->no_open = true;
	}
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct archive_commit *ac;
	if (arc(req)->no_open) {
		/* Success, and the last open we see (op_init). */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	struct inode *in = resolve_as(req, ino, 0, 0, &ac);
	if (!in)
		return;
	if ((fi->flags & O_ACCMODE) != O_RDONLY ||
	    (fi->flags & (O_TRUNC | O_APPEND))) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (S_ISDIR(in->mode)) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)fi;
	struct archive *a = arc(req);
	struct archive_commit *ac;
	struct inode *in = resolve_as(req, ino, S_IFREG, EISDIR, &ac);
	if (!in)
		return;
	uint8_t *buf = malloc(size ? size : 1);
	size_t got = 0;
	int err = !buf ? -ENOMEM
	      : (uint64_t)off >= in->size
		      ? 0
		      : obj_read(&a->st, &in->content, (uint64_t)off, buf, size,
				 &got);
	if (err) {
		logmsg(LOG_ERR, "archive: read of commit %llu inode %llu: %s",
		       (unsigned long long)ac->c.seq,
		       (unsigned long long)in->ino, strerror(-err));
		fuse_reply_err(req, err == -ENOMEM ? ENOMEM : EIO);
	} else {
		fuse_reply_buf(req, (const char *)buf, got);
	}
	free(buf);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	(void)ino;
	struct statvfs sv;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = sv.f_frsize = ARCHIVE_BLKSIZE;
	sv.f_namemax = TREE_NAME_MAX;
	sv.f_flag = ST_RDONLY;
	fuse_reply_statfs(req, &sv);
}

const struct fuse_lowlevel_ops archive_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.statfs = op_statfs,
};
