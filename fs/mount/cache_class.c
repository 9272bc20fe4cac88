/* fs/mount/cache_class.c — which names and records are local cache
 * files' (cache_class.h). */
#include "fs/mount/cache_class.h"

#include <string.h>
#include <sys/stat.h>
#include <errno.h>

#include "fs/model/record.h"
#include "fs/model/tree.h"

static bool has_prefix_name(const char *name, const char *base)
{
	size_t n = strlen(base);
	return strncmp(name, base, n) == 0 &&
	       (name[n] == '\0' || name[n] == '.');
}

bool cache_file_name_is(const char *name)
{
	return has_prefix_name(name, "dovecot.index") ||
	       has_prefix_name(name, "dovecot.list.index");
}

static struct inode *named(struct fs_tree *t, uint64_t dir, const char *name)
{
	struct inode *d = tree_get(t, dir);
	struct dirent *e = d && d->dir ? tree_lookup(d, name) : NULL;
	return e ? e->inode : NULL;
}

static int classify_rename(struct fs_tree *t, const struct record *r,
			   bool *unlink_first)
{
	struct inode *src = named(t, r->dir, r->name);
	struct inode *dst = named(t, r->newdir, r->newname);
	bool src_cache = src && src->cache, dst_cache = dst && dst->cache;
	if (r->flags & TREE_RENAME_EXCHANGE) {
		if (src_cache != dst_cache)
			return -EXDEV;
		return src_cache && cache_file_name_is(r->newname) &&
		       cache_file_name_is(r->name);
	}
	if (!src_cache)
		return 0; /* an ordinary file, even over a cache file */
	if (!cache_file_name_is(r->newname))
		return -EXDEV;
	/* An ordinary file of an earlier release under a cache name: its
	 * removal is a change of the mailbox, journaled first. */
	*unlink_first = dst && !dst_cache && !(r->flags & TREE_RENAME_NOREPLACE);
	return 1;
}

int cache_file_classify(struct fs_tree *t, const struct record *r,
			bool *unlink_first)
{
	*unlink_first = false;
	struct inode *i;
	switch (r->op) {
	case REC_CREATE:
		return S_ISREG(r->mode) && cache_file_name_is(r->name);
	case REC_UNLINK:
		i = named(t, r->dir, r->name);
		return i && i->cache;
	case REC_RENAME:
		return classify_rename(t, r, unlink_first);
	case REC_LINK:
		i = tree_get(t, r->ino);
		if (!i || !i->cache)
			return 0;
		return cache_file_name_is(r->name) ? 1 : -EXDEV;
	case REC_SETATTR:
	case REC_CONTENT:
	case REC_APPEND:
		i = tree_get(t, r->ino);
		return i && i->cache;
	}
	return 0;
}
