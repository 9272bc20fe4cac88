/*
 * fs/mount/mount_log.c — a mount's changes (mount.h: ipmd_fs_log,
 * ipmd_fs_seal_locked, ipmd_fs_release_inode): journaled and applied, or,
 * for changes that touch only local cache files (fs/mount/cache_class.h),
 * applied without the journal; and what an inode's file state becomes
 * once a change or a call is done with it (ipmd_fs_settle_locked).
 */
#include "fs/mount/mount.h"

#include <errno.h>
#include <stdlib.h>

#include <sodium.h>

#include "fs/model/changes.h"
#include "fs/model/record.h"
#include "fs/mount/cache_class.h"
#include "fs/mount/cache_file.h"
#include "fs/mount/file.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/wipe.h"

bool ipmd_fs_settle_locked(struct inode *i, const struct file_status *s)
{
	if (!i->file || i->opens > 0)
		return false; /* a known handle's: its release settles it */
	struct file_status now = s ? *s : file_state_status(i->file);
	if (file_status_idle(now)) {
		file_state_free(i->file);
		i->file = NULL;
	}
	return now.modified;
}

/* What the mount hangs on inode i: its file state, freed, and its
 * reference to its cache file, dropped. */
static void drop_inode_states(struct inode *i)
{
	file_state_free(i->file);
	i->file = NULL;
	cache_file_unref(i->cache);
	i->cache = NULL;
}

void ipmd_fs_drop_states(struct fs_tree *t)
{
	for (uint32_t b = 0; b < t->nbuckets; b++)
		for (struct inode *i = t->buckets[b]; i; i = i->hash_next)
			drop_inode_states(i);
}

void ipmd_fs_release_inode(struct inode *inode, void *arg)
{
	struct ipmd_fs *fs = arg;
	if (inode->nlink || inode->lookups || inode->opens)
		return;
	/* Not expected, by mount.h's "Held states and freed inodes" (which
	 * names the one known gap): kept alive (the holder comes back to it
	 * by pointer) rather than freed under the call. */
	if (inode->file && file_state_status(inode->file).held) {
		logmsg(LOG_CRIT, "bug: inode %llu released while a call holds "
		       "its file state; kept until the call lets go",
		       (unsigned long long)inode->ino);
		return;
	}
	drop_inode_states(inode);
	tree_release(fs->tree, inode);
}

/* Under lock: r, which touches only cache files (cache_file_classify),
 * applied without the journal.  Nothing to commit: a cache file is in no
 * directory node, and the shards its name marked dirty seal as before. */
static int log_local(struct ipmd_fs *fs, struct record *r)
{
	struct cache_file *cf = NULL;
	int e = 0;
	if (r->op == REC_CREATE) {
		if (!fs->cache_dir)
			return -EROFS;
		if ((e = cache_file_new(fs->cache_dir, &cf)))
			return e;
	}
	e = record_apply(fs->tree, r, ipmd_fs_release_inode, fs);
	struct inode *i = e == 0 && cf ? tree_get(fs->tree, r->ino) : NULL;
	if (i)
		i->cache = cf;
	else
		cache_file_unref(cf);
	return e;
}

static int log_journaled(struct ipmd_fs *fs, struct record *r);

int ipmd_fs_log(struct ipmd_fs *fs, struct record *r)
{
	return ipmd_fs_log_from(fs, r, NULL);
}

int ipmd_fs_log_from(struct ipmd_fs *fs, struct record *r,
		     const struct inode *src)
{
	if (fs->read_only)
		return -EROFS;
	bool unlink_first = false;
	/* Off, no inode is a cache file (none is made, none restored). */
	int e = fs->index_cache_off
			? 0
			: cache_file_classify(fs->tree, r, src, &unlink_first);
	if (e < 0)
		return e;
	if (e == 0)
		return log_journaled(fs, r);
	if (unlink_first) {
		struct record u = {.op = REC_UNLINK, .dir = r->newdir,
				   .name = r->newname, .time = r->time};
		if ((e = log_journaled(fs, &u)))
			return e;
	}
	return log_local(fs, r);
}

static int log_journaled(struct ipmd_fs *fs, struct record *r)
{
	char *json;
	size_t len;
	int e = record_encode(r, &json, &len);
	if (e != 0)
		return e;
	e = journal_append(fs->journal, (const uint8_t *)json, len, false);
	wipe_free(json, len); /* a content record carries a file key */
	if (e != 0)
		return e;
	struct mail_changes mc = mail_changes_of(fs->tree, r);
	e = record_apply(fs->tree, r, ipmd_fs_release_inode, fs);
	if (e == 0) {
		fs->added += mc.added;
		fs->removed += mc.removed;
		fs->renamed += mc.renamed;
		ipmd_fs_changed(fs);
	}
	return e;
}

int ipmd_fs_log_seal(struct ipmd_fs *fs, struct file_state *f,
		     struct record *r, uint64_t seal)
{
	/* A later seal's record is in: it holds these bytes too, and an
	 * older content after it would replace the newer in the tree and on
	 * replay (file.h, "Seal order"). */
	if (file_seal_journaled(f, seal))
		return 0;
	int e = ipmd_fs_log(fs, r);
	file_seal_done(f, seal, e == 0); /* failed: the next seal logs it */
	return e;
}

int ipmd_fs_seal_locked(struct ipmd_fs *fs, struct inode *inode)
{
	if (!S_ISREG(inode->mode) || !inode->file)
		return 0;
	struct record r = {.op = REC_CONTENT, .ino = inode->ino,
			   .mtime = inode->mtime, .time = wall_now()};
	uint64_t seal;
	/* Unmodified, this is the last seal: journaled already, unless
	 * another call sealed it outside the lock and has yet to log it,
	 * and what this caller promises needs it now. */
	int e = file_seal(&fs->st, inode->file, &r.content, &seal);
	if (!e)
		e = ipmd_fs_log_seal(fs, inode->file, &r, seal);
	sodium_memzero(&r.content, sizeof(r.content));
	return e;
}
