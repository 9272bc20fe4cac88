/* fs/model/tree_rename.c — rename(2) and renameat2(2) over the tree
 * (tree.h: tree_rename), with the depth checks a moved directory needs.
 * Kept apart from tree.c, which holds the tables and the other changes;
 * what the two share is tree_internal.h. */
#include "fs/model/tree.h"
#include "fs/model/tree_internal.h"

#include <errno.h>
#include <stdlib.h>

/* Levels of directories below dir (0: no subdirectories); stops counting
 * past TREE_DEPTH_MAX, which the tree never holds anyway. */
static uint32_t dir_height(const struct inode *dir, uint32_t limit)
{
	uint32_t best = 0;
	if (!dir->dir || dir->dir->subdirs == 0 || limit == 0)
		return 0;
	for (uint32_t b = 0; b < dir->dir->nbuckets; b++)
		for (const struct dirent *e = dir->dir->buckets[b]; e;
		     e = e->hash_next) {
			if (!e->inode->dir)
				continue;
			uint32_t h = 1 + dir_height(e->inode, limit - 1);
			if (h > best)
				best = h;
		}
	return best;
}

/* Whether directory src fits below newdir (as one of its entries). */
static bool depth_fits(const struct inode *newdir, const struct inode *src)
{
	uint64_t d = (uint64_t)tr_dir_depth(newdir) + 1 +
		     dir_height(src, TREE_DEPTH_MAX);
	return d <= TREE_DEPTH_MAX;
}

/* Move n subdirectories (and their ".." links) between two parents; n < 0
 * moves them the other way. */
static void move_subdirs(struct inode *from, struct inode *to, int n)
{
	if (n < 0) {
		struct inode *tmp = from;
		from = to;
		to = tmp;
		n = -n;
	}
	from->dir->subdirs -= (uint32_t)n;
	from->nlink -= (uint32_t)n;
	to->dir->subdirs += (uint32_t)n;
	to->nlink += (uint32_t)n;
}

static int rename_exchange(struct fs_tree *t, struct dirent *od,
			   struct dirent *nd, const struct timespec *now)
{
	struct inode *a = od->inode, *b = nd->inode;
	struct inode *odir = od->dir, *ndir = nd->dir;
	/* Directories that change parent: > 0 moves towards ndir. */
	int delta = (int)tr_is_dir(a) - (int)tr_is_dir(b);

	if (tr_is_dir(a) && tree_is_ancestor(a, ndir))
		return -EINVAL;
	if (tr_is_dir(b) && tree_is_ancestor(b, odir))
		return -EINVAL;
	if (a == b)
		return 0;
	if (odir != ndir && ((delta > 0 && ndir->nlink >= TREE_LINK_MAX) ||
			     (delta < 0 && odir->nlink >= TREE_LINK_MAX)))
		return -EMLINK;

	/* Each name now names the other inode: a file and a directory
	 * exchanged change what index_names counts. */
	tr_count_name(t, od, false);
	tr_count_name(t, nd, false);
	tr_link_remove(a, od);
	tr_link_remove(b, nd);
	tr_link_add(b, od);
	tr_link_add(a, nd);
	tr_count_name(t, od, true);
	tr_count_name(t, nd, true);
	if (odir != ndir) {
		if (tr_is_dir(a))
			a->dir->parent = ndir;
		if (tr_is_dir(b))
			b->dir->parent = odir;
		move_subdirs(odir, ndir, delta);
	}
	tr_mark_name(t, odir, od->hash);
	tr_mark_name(t, ndir, nd->hash);
	tr_touch_inode(t, a, now);
	tr_touch_inode(t, b, now);
	tr_touch_dir(t, odir, now);
	if (ndir != odir)
		tr_touch_dir(t, ndir, now);
	return 0;
}

int tree_rename(struct fs_tree *t, struct inode *olddir, const char *oldname,
		struct inode *newdir, const char *newname, unsigned flags,
		const struct timespec *now)
{
	const unsigned known = TREE_RENAME_NOREPLACE | TREE_RENAME_EXCHANGE;
	struct dirent *od, *nd, *ne;
	struct inode *src, *victim;
	size_t olen, nlen;
	uint64_t ohash, nhash;
	int r;

	if ((flags & ~known) || (flags & known) == known)
		return -EINVAL;
	if (!olddir->dir || !newdir->dir)
		return -ENOTDIR;
	if ((r = tr_name_len(oldname, &olen)) || (r = tr_name_len(newname, &nlen)))
		return r;
	ohash = tree_name_hash(oldname, olen);
	nhash = tree_name_hash(newname, nlen);
	od = tr_dir_find(olddir->dir, oldname, olen, ohash);
	if (!od)
		return -ENOENT;
	nd = tr_dir_find(newdir->dir, newname, nlen, nhash);
	if (flags & TREE_RENAME_EXCHANGE) {
		if (!nd)
			return -ENOENT;
		if (olddir != newdir &&
		    ((tr_is_dir(od->inode) && !depth_fits(newdir, od->inode)) ||
		     (tr_is_dir(nd->inode) && !depth_fits(olddir, nd->inode))))
			return -EMLINK;
		return rename_exchange(t, od, nd, now);
	}
	if (nd && (flags & TREE_RENAME_NOREPLACE))
		return -EEXIST;
	if (newdir->nlink == 0)
		return -ENOENT;

	/* The checks in the order Linux makes them (do_renameat2, then
	 * vfs_rename), so each case gives the errno a local fs gives. */
	src = od->inode;
	victim = nd ? nd->inode : NULL;
	if (tr_is_dir(src) && tree_is_ancestor(src, newdir))
		return -EINVAL;
	if (victim && tr_is_dir(victim) && tree_is_ancestor(victim, olddir))
		return -ENOTEMPTY;
	if (victim == src)
		return 0;
	if (victim) {
		if (tr_is_dir(src) && !tr_is_dir(victim))
			return -ENOTDIR;
		if (!tr_is_dir(src) && tr_is_dir(victim))
			return -EISDIR;
		if (tr_is_dir(victim) && victim->dir->count)
			return -ENOTEMPTY;
	} else if (tr_is_dir(src) && olddir != newdir &&
		   newdir->nlink >= TREE_LINK_MAX) {
		return -EMLINK;
	}
	if (tr_is_dir(src) && olddir != newdir && !depth_fits(newdir, src))
		return -EMLINK;

	/* The only allocation comes first: a failure changes nothing. */
	ne = tr_dirent_new(newname, nlen, nhash);
	if (!ne)
		return -ENOMEM;
	tr_link_remove(src, od);
	tr_dir_remove(t, olddir, od);
	tr_mark_name(t, olddir, ohash);
	free(od);
	if (nd)
		tr_drop_entry(t, nd, now);
	tr_link_add(src, ne);
	tr_dir_insert(t, newdir, ne);
	tr_mark_name(t, newdir, nhash);
	if (tr_is_dir(src) && olddir != newdir) {
		src->dir->parent = newdir;
		move_subdirs(olddir, newdir, 1);
	}
	tr_touch_inode(t, src, now);
	tr_touch_dir(t, olddir, now);
	if (newdir != olddir)
		tr_touch_dir(t, newdir, now);
	return 0;
}
