/* fs/model/tree_list.c — see tree.h: a directory's listing, and ancestry
 * (walks that read the tree's public structure and change nothing). */
#include "fs/model/tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int tree_list(struct inode *dir, struct tree_listing *out)
{
	struct tree_listing_entry *entries;
	struct dir *d;
	size_t total = 0, n = 0;
	char *names, *p;

	memset(out, 0, sizeof(*out));
	if (!dir->dir)
		return -ENOTDIR;
	d = dir->dir;
	if (d->count == 0)
		return 0;
	for (uint32_t i = 0; i < d->nbuckets; i++)
		for (struct dirent *e = d->buckets[i]; e; e = e->hash_next)
			total += (size_t)e->name_len + 1;
	entries = calloc(d->count, sizeof(*entries));
	names = malloc(total);
	if (!entries || !names) {
		free(entries);
		free(names);
		return -ENOMEM;
	}
	p = names;
	for (uint32_t i = 0; i < d->nbuckets; i++) {
		for (struct dirent *e = d->buckets[i]; e && n < d->count;
		     e = e->hash_next) {
			memcpy(p, e->name, (size_t)e->name_len + 1);
			entries[n].name = p;
			entries[n].ino = e->inode->ino;
			entries[n].mode = e->inode->mode;
			p += e->name_len + 1;
			n++;
		}
	}
	out->count = n;
	out->entries = entries;
	out->names = names;
	return 0;
}

void tree_listing_free(struct tree_listing *l)
{
	if (!l)
		return;
	free(l->entries);
	free(l->names);
	memset(l, 0, sizeof(*l));
}

/* Parents form a tree ending at a node that is its own parent (the root, or
 * a removed directory), so the walk ends. */
bool tree_is_ancestor(struct inode *a, struct inode *b)
{
	struct inode *cur = b;
	if (!a || !b || !a->dir || !b->dir)
		return false;
	for (;;) {
		if (cur == a)
			return true;
		if (cur->dir->parent == cur)
			return false;
		cur = cur->dir->parent;
	}
}
