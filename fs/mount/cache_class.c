/* fs/mount/cache_class.c — which names and records are local cache
 * files' (cache_class.h). */
#include "fs/mount/cache_class.h"

#include <string.h>
#include <sys/stat.h>
#include <errno.h>

#include "fs/model/maildir.h"
#include "fs/model/merge.h"
#include "fs/model/record.h"
#include "fs/model/tree.h"

static struct inode *named(struct fs_tree *t, uint64_t dir, const char *name)
{
	struct inode *d = tree_get(t, dir);
	struct dirent *e = d && d->dir ? tree_lookup(d, name) : NULL;
	return e ? e->inode : NULL;
}

static int classify_rename(struct fs_tree *t, const struct record *r,
			   const struct inode *src, bool *unlink_first)
{
	struct inode *dst = named(t, r->newdir, r->newname);
	bool src_cache = src && src->cache, dst_cache = dst && dst->cache;
	if (r->flags & TREE_RENAME_EXCHANGE) {
		if (src_cache != dst_cache)
			return -EXDEV;
		return src_cache && maildir_is_index_name(r->newname) &&
		       maildir_is_index_name(r->name);
	}
	if (!src_cache)
		return 0; /* an ordinary file, even over a cache file */
	if (!maildir_is_index_name(r->newname))
		return -EXDEV;
	/* An ordinary file of an earlier release under a cache name: its
	 * removal is a change of the mailbox, journaled first. */
	*unlink_first = dst && !dst_cache && !(r->flags & TREE_RENAME_NOREPLACE);
	return 1;
}

int cache_file_classify(struct fs_tree *t, const struct record *r,
			const struct inode *src, bool *unlink_first)
{
	*unlink_first = false;
	const struct inode *i;
	if (!src && (r->op == REC_UNLINK || r->op == REC_RENAME))
		src = named(t, r->dir, r->name);
	switch (r->op) {
	case REC_CREATE:
		return S_ISREG(r->mode) && maildir_is_index_name(r->name);
	case REC_UNLINK:
		return src && src->cache;
	case REC_RENAME:
		return classify_rename(t, r, src, unlink_first);
	case REC_LINK:
		i = tree_get(t, r->ino);
		if (!i || !i->cache)
			return 0;
		return maildir_is_index_name(r->name) ? 1 : -EXDEV;
	case REC_SETATTR:
	case REC_CONTENT:
	case REC_APPEND:
		i = tree_get(t, r->ino);
		return i && i->cache;
	}
	return 0;
}

/* Does dir hold cache files only (and at least one)? */
static bool only_cache_files(struct inode *dir)
{
	const struct dir *d = dir->dir;
	uint32_t n = 0;
	for (uint32_t b = 0; b < d->nbuckets; b++)
		for (const struct dirent *e = d->buckets[b]; e;
		     e = e->hash_next, n++)
			if (!e->inode->cache)
				return false;
	return n > 0;
}

unsigned cache_files_drop_for(struct fs_tree *t, const struct record *r,
			      record_release_fn release_fn, void *arg)
{
	struct tree_listing l;
	unsigned n = 0;
	if (r->op != REC_UNLINK || !r->rmdir)
		return 0;
	struct inode *d = named(t, r->dir, r->name);
	if (!d || !d->dir || !only_cache_files(d) || tree_list(d, &l) != 0)
		return 0;
	for (size_t k = 0; k < l.count; k++) {
		struct record u = {.op = REC_UNLINK, .dir = d->ino,
				   .name = l.entries[k].name, .time = r->time};
		n += record_apply(t, &u, release_fn, arg) == 0;
	}
	tree_listing_free(&l);
	return n;
}

size_t cache_merge_apply(struct fs_tree *t, const struct merge_plan *plan,
			 record_release_fn release_fn, void *arg)
{
	size_t failed = 0;
	for (size_t i = 0; i < plan->n; i++) {
		const struct record *r = &plan->recs[i];
		cache_files_drop_for(t, r, release_fn, arg);
		if (record_apply(t, r, release_fn, arg) != 0) {
			failed++;
			continue;
		}
		/* The other device's content: the kernel's pages, if any,
		 * were of the old, and the merge tells it to drop them (struct
		 * inode, paged).  A local seal keeps the flag: its pages hold
		 * what was written. */
		struct inode *in = r->op == REC_CONTENT ? tree_get(t, r->ino)
							: NULL;
		if (in)
			in->paged = false;
	}
	return failed;
}
