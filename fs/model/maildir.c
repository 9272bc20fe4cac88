/* fs/model/maildir.c — see maildir.h. */
#include "fs/model/maildir.h"

#include <string.h>

#include "fs/model/manifest.h"
#include "fs/model/tree.h"

const char *const maildir_subdirs[MAILDIR_SUBDIRS] = {"cur", "new", "tmp"};

static bool is_name(const char *name, size_t len, const char *s)
{
	size_t n = strlen(s);
	return len == n && memcmp(name, s, n) == 0;
}

bool maildir_is_msgdir(const char *name, size_t len)
{
	return is_name(name, len, maildir_subdirs[MAILDIR_CUR]) ||
	       is_name(name, len, maildir_subdirs[MAILDIR_NEW]);
}

bool maildir_is_new_to_cur(const struct inode *from, const struct inode *to)
{
	const struct dirent *f = from ? from->links : NULL;
	const struct dirent *t = to ? to->links : NULL;
	return f && t && f->dir == t->dir &&
	       is_name(f->name, f->name_len, maildir_subdirs[MAILDIR_NEW]) &&
	       is_name(t->name, t->name_len, maildir_subdirs[MAILDIR_CUR]);
}

/* Dovecot's Maildir state files that it rewrites whole and renames over
 * the name: dovecot-uidlist through dovecot-uidlist.tmp
 * (maildir-uidlist.c), dovecot-keywords and subscriptions through their
 * dotlock NAME.lock (file_dotlock_open/_replace, maildir-keywords.c,
 * subscription-file.c); dovecot-uidlist.lock is its lock. */
static const char *const dovecot_state[] = {"dovecot-uidlist",
					    "dovecot-keywords",
					    "subscriptions"};
static const char *const replacement_suffix[] = {".tmp", ".lock"};

static bool is_state_replacement(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(dovecot_state) / sizeof(*dovecot_state);
	     i++) {
		size_t n = strlen(dovecot_state[i]);
		if (len <= n || memcmp(name, dovecot_state[i], n) != 0)
			continue;
		for (size_t j = 0; j < sizeof(replacement_suffix) /
					      sizeof(*replacement_suffix);
		     j++)
			if (is_name(name + n, len - n, replacement_suffix[j]))
				return true;
	}
	return false;
}

bool maildir_is_replacement(const struct inode *inode)
{
	if (!inode || !S_ISREG(inode->mode) || !inode->links)
		return false;
	for (const struct dirent *l = inode->links; l; l = l->next_link) {
		const struct dirent *d = l->dir ? l->dir->links : NULL;
		if (!is_state_replacement(l->name, l->name_len))
			return false;
		if (d && (maildir_is_msgdir(d->name, d->name_len) ||
			  maildir_is_tmp(d->name, d->name_len)))
			return false;
	}
	return true;
}

bool maildir_is_tmp(const char *name, size_t len)
{
	return is_name(name, len, maildir_subdirs[MAILDIR_TMP]);
}

/* Is dir a Maildir's tmp/: so named, in a directory with a cur/ or new/? */
static bool is_maildir_tmp(const struct inode *dir)
{
	const struct dirent *d = dir ? dir->links : NULL;
	if (!d || !d->dir || !maildir_is_tmp(d->name, d->name_len))
		return false;
	for (size_t i = MAILDIR_CUR; i <= MAILDIR_NEW; i++) {
		const struct dirent *e = tree_lookup(d->dir, maildir_subdirs[i]);
		if (e && S_ISDIR(e->inode->mode))
			return true;
	}
	return false;
}

bool maildir_is_delivery(const struct inode *inode)
{
	if (!inode || !S_ISREG(inode->mode) || !inode->links)
		return false;
	for (const struct dirent *l = inode->links; l; l = l->next_link)
		if (!is_maildir_tmp(l->dir))
			return false;
	return true;
}

bool maildir_is_folder(const char *name, size_t len)
{
	return len > 0 && name[0] == '.';
}

static bool index_below(const struct inode *dir, uint32_t depth)
{
	const struct dir *d = dir->dir;

	if (depth > MANIFEST_DEPTH_MAX)
		return false;
	for (uint32_t b = 0; b < d->nbuckets; b++)
		for (const struct dirent *e = d->buckets[b]; e;
		     e = e->hash_next) {
			const struct inode *in = e->inode;
			if (S_ISDIR(in->mode) ? index_below(in, depth + 1)
					      : !in->cache &&
						maildir_is_index_name(e->name))
				return true;
		}
	return false;
}

bool maildir_has_index_files(const struct fs_tree *t)
{
	return t && t->root && t->index_names && index_below(t->root, 0);
}

int maildir_create(struct fs_tree *t, struct inode *dir,
		   const struct tree_new_inode *spec,
		   const struct timespec *now)
{
	int e = 0;

	for (size_t i = 0; i < MAILDIR_SUBDIRS && !e; i++) {
		struct inode *out;
		e = tree_create(t, dir, maildir_subdirs[i], spec, now, &out);
	}
	return e;
}

/* Does dir hold a cur/ or new/ directory (is it a Maildir)? */
static bool has_msgdir(const struct inode *dir)
{
	const struct dir *d = dir->dir;
	for (uint32_t b = 0; d->subdirs && b < d->nbuckets; b++)
		for (const struct dirent *e = d->buckets[b]; e;
		     e = e->hash_next)
			if (S_ISDIR(e->inode->mode) &&
			    maildir_is_msgdir(e->name, e->name_len))
				return true;
	return false;
}

/* Only directories holding directories are walked: cur/ and new/ are
 * counted by their entry counts, never scanned.  The depth bound is the
 * manifest's: no loaded or sealed tree is deeper. */
static void count_dir(const struct fs_tree *t, const struct inode *dir,
		      uint32_t depth, uint64_t *messages, uint64_t *folders)
{
	const struct dir *d = dir->dir;

	if (depth > MANIFEST_DEPTH_MAX)
		return;
	for (uint32_t b = 0; b < d->nbuckets; b++) {
		for (const struct dirent *e = d->buckets[b]; e;
		     e = e->hash_next) {
			const struct inode *in = e->inode;
			if (!S_ISDIR(in->mode))
				continue;
			if (maildir_is_msgdir(e->name, e->name_len))
				*messages += in->dir->count - in->dir->subdirs;
			/* .notmuch, .git, …: a dot directory, no folder. */
			if (dir == t->root &&
			    maildir_is_folder(e->name, e->name_len) &&
			    has_msgdir(in))
				(*folders)++;
			if (in->dir->subdirs > 0)
				count_dir(t, in, depth + 1, messages, folders);
		}
	}
}

void maildir_count(struct fs_tree *t, uint64_t *messages, uint64_t *folders)
{
	uint64_t m = 0, f = 0;

	if (t && t->root)
		count_dir(t, t->root, 0, &m, &f);
	if (messages)
		*messages = m;
	if (folders)
		*folders = f;
}
