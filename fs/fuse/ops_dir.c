/*
 * fs/fuse/ops_dir.c — the directory listing operations of the FUSE table
 * (opendir, readdir, readdirplus, releasedir, fsyncdir): a listing is a
 * copy of the tree's entries made at opendir (fs/model/tree.h,
 * tree_list), served in inode order.  ops.c holds the rest of the table;
 * what the two share is ops_internal.h.
 */
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include "fs/fuse/ops_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/mount/mount.h"

/* ---- directories ---- */

struct dir_handle {
	struct tree_listing list;
	bool served;
};

static int by_ino(const void *a, const void *b)
{
	uint64_t x = ((const struct tree_listing_entry *)a)->ino;
	uint64_t y = ((const struct tree_listing_entry *)b)->ino;
	return (x > y) - (x < y);
}

/* Takes fs->lock: a copy of directory ino's entries (tree_list), then,
 * outside the lock (other calls wait on it, not on a sort of a large
 * directory), in inode order, the order the files were made in: what a
 * tree walker reads in the listing's order then reads in the order
 * prefetch_files follows (fs/mount/prefetch.h), and fts, which sorts a
 * directory of more than 10,000 entries by inode, finds nothing to
 * change.  (tree_list gives hash order.) */
static int list_dir(struct ipmd_fs *fs, fuse_ino_t ino, struct tree_listing *l)
{
	int err;
	pthread_mutex_lock(&fs->lock);
	struct inode *dir = ops_get_dir(fs, ino, &err);
	if (dir)
		err = tree_list(dir, l);
	pthread_mutex_unlock(&fs->lock);
	if (err == 0 && l->count > 1)
		qsort(l->entries, l->count, sizeof(*l->entries), by_ino);
	return err;
}

void ops_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct ipmd_fs *fs = ops_fs(req);
	struct dir_handle *h = calloc(1, sizeof(*h));
	int err = h ? list_dir(fs, ino, &h->list) : -ENOMEM;
	if (err) {
		free(h);
		fuse_reply_err(req, -err);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->cache_readdir = 0;
	if (fuse_reply_open(req, fi) != 0) { /* no RELEASEDIR will come */
		tree_listing_free(&h->list);
		free(h);
	}
}

/* Outside lock: a readdirplus reply carrying entries [from, to) of h's
 * listing did not reach the kernel: the lookup references ops_fill_entry
 * counted for them are given back (ops_reply_entry).  An entry gone when
 * the reply was made was not counted, and is still gone. */
static void unsend(struct ipmd_fs *fs, const struct dir_handle *h,
		   size_t from, size_t to)
{
	pthread_mutex_lock(&fs->lock);
	for (size_t i = from < 2 ? 2 : from; i < to; i++)
		ops_forget_locked(fs, h->list.entries[i - 2].ino, 1);
	pthread_mutex_unlock(&fs->lock);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi, bool plus)
{
	struct ipmd_fs *fs = ops_fs(req);
	struct dir_handle *h = (struct dir_handle *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	size_t used = 0, end = (size_t)off; /* entries [off, end) in buf */
	int err = buf ? 0 : -ENOMEM;

	/* h is this handle's alone: the kernel sends one readdir of a
	 * handle at a time (its position lock), so no lock guards it. */
	if (!err && off == 0 && h->served) {
		/* rewinddir: a fresh view */
		tree_listing_free(&h->list);
		err = list_dir(fs, ino, &h->list);
	}
	pthread_mutex_lock(&fs->lock);
	struct inode *dir = err ? NULL : ops_get_dir(fs, ino, &err);
	h->served = true;
	for (size_t i = (size_t)off; !err && i < h->list.count + 2; i++) {
		struct fuse_entry_param e;
		memset(&e, 0, sizeof(e));
		const char *name;
		struct inode *inode = NULL;
		if (i < 2) {
			name = i == 0 ? "." : "..";
			e.attr.st_ino = i == 0 ? dir->ino : dir->dir->parent->ino;
			e.attr.st_mode = S_IFDIR;
		} else {
			struct tree_listing_entry *le = &h->list.entries[i - 2];
			inode = tree_get(fs->tree, le->ino);
			if (!inode)
				continue; /* gone since the listing was made */
			name = le->name;
			e.attr.st_ino = le->ino;
			e.attr.st_mode = inode->mode;
		}
		size_t left = size - used, n;
		if (plus) {
			if (inode) {
				ops_fill_entry(fs, inode, &e);
			}
			n = fuse_add_direntry_plus(req, buf + used, left, name,
						   &e, (off_t)(i + 1));
			if (n > left && inode)
				inode->lookups--; /* not sent after all */
		} else {
			n = fuse_add_direntry(req, buf + used, left, name,
					      &e.attr, (off_t)(i + 1));
		}
		if (n > left)
			break;
		used += n;
		end = i + 1;
	}
	pthread_mutex_unlock(&fs->lock);
	if (err)
		fuse_reply_err(req, -err);
	else if (fuse_reply_buf(req, buf, used) != 0 && plus)
		unsend(fs, h, (size_t)off, end);
	free(buf);
}

void ops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

void ops_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

void ops_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	(void)ino;
	struct dir_handle *h = (struct dir_handle *)(uintptr_t)fi->fh;
	if (h) {
		tree_listing_free(&h->list);
		free(h);
	}
	fuse_reply_err(req, 0);
}

void ops_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	ops_reply_err_durable(req, 0);
}
