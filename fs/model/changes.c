/* fs/model/changes.c — see changes.h. */
#include "fs/model/changes.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include <sodium.h>

#include "fs/model/maildir.h"

static bool is_msgdir(struct fs_tree *t, uint64_t ino)
{
	struct inode *d = tree_get(t, ino);
	if (!d || !S_ISDIR(d->mode) || !d->links)
		return false;
	const struct dirent *e = d->links;
	return maildir_is_msgdir(e->name, e->name_len);
}

static bool names_file(struct fs_tree *t, uint64_t dir, const char *name)
{
	struct inode *d = tree_get(t, dir);
	if (!d || !S_ISDIR(d->mode) || !name)
		return false;
	struct dirent *e = tree_lookup(d, name);
	return e && S_ISREG(e->inode->mode);
}

struct mail_changes mail_changes_of(struct fs_tree *t, const struct record *r)
{
	struct mail_changes c = {0, 0, 0};
	switch (r->op) {
	case REC_CREATE:
		if (S_ISREG(r->mode) && is_msgdir(t, r->dir))
			c.added = 1;
		break;
	case REC_LINK:
		if (is_msgdir(t, r->dir)) {
			struct inode *in = tree_get(t, r->ino);
			c.added = in && S_ISREG(in->mode);
		}
		break;
	case REC_UNLINK:
		if (!r->rmdir && is_msgdir(t, r->dir) &&
		    names_file(t, r->dir, r->name))
			c.removed = 1;
		break;
	case REC_RENAME: {
		if (!names_file(t, r->dir, r->name))
			break;
		bool from = is_msgdir(t, r->dir);
		bool to = is_msgdir(t, r->newdir);
		if (from && to)
			c.renamed = 1;
		else if (to)
			c.added = 1;
		else if (from)
			c.removed = 1;
		break;
	}
	default:
		break;
	}
	return c;
}

int mail_changes_apply(struct fs_tree *t, const struct record *r,
		       record_release_fn release_fn, void *arg,
		       struct mail_changes *mc)
{
	struct mail_changes c = mail_changes_of(t, r);
	int e = record_apply(t, r, release_fn, arg);
	if (!e) {
		mc->added += c.added;
		mc->removed += c.removed;
		mc->renamed += c.renamed;
	}
	return e;
}

int mail_changes_replay(struct fs_tree *t, const uint8_t *payload,
			size_t len, struct mail_changes *mc)
{
	struct record r;
	struct record_text *tb = malloc(sizeof(*tb));
	int e = !tb ? -ENOMEM : record_decode(payload, len, &r, tb);
	if (!e)
		e = mail_changes_apply(t, &r, NULL, NULL, mc);
	sodium_memzero(&r.content, sizeof(r.content));
	record_text_done(tb);
	free(tb);
	return e;
}
