/* fs/mount/tail.c — see tail.h. */
#include "fs/mount/tail.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fs/model/changes.h"
#include "util/clock.h"

int ipmd_fs_tail_prepare(struct ipmd_fs *fs, struct file_state *f,
			 uint64_t ino, bool replacement, struct record *r,
			 struct file_tail *t)
{
	memset(r, 0, sizeof(*r));
	memset(t, 0, sizeof(*t));
	int e = file_tail_take(&fs->st, f, TAIL_JOURNAL_MAX, replacement, t);
	if (e == 1) {
		r->op = REC_APPEND;
		r->ino = ino;
		r->off = t->off;
		r->data = t->data;
		r->data_len = t->len;
		return 0;
	}
	if (e != 0 && e != -EAGAIN)
		return e;
	r->op = REC_CONTENT;
	r->ino = ino;
	if (e == 0) {
		/* Nothing new: the journal holds the last seal, unless
		 * another call made it and has yet to log it; the log step
		 * journals it then, for what this call promises. */
		t->seals = file_last_seal(f, &r->content);
	} else {
		e = file_seal(&fs->st, f, &r->content, &t->seals);
	}
	if (e || t->seals == 0)
		r->op = 0; /* or never sealed: the tree holds its base */
	return e;
}

int ipmd_fs_tail_log(struct ipmd_fs *fs, struct inode *inode,
		     struct file_state *f, struct record *r,
		     const struct file_tail *t)
{
	if (r->op == REC_APPEND &&
	    !file_tail_current(f, t, &inode->content)) {
		/* Taken outside the lock: a seal or another tail came between,
		 * or a merge replaced the content under a kept state; replay
		 * would put these bytes over others than the live file has. */
		int e = ipmd_fs_seal_locked(fs, inode);
		if (e) /* the seal this call needed is not in: seal whole */
			file_seal_done(f, t->seals, false);
		return e;
	}
	r->mtime = inode->mtime;
	r->time = wall_now();
	if (r->op == REC_CONTENT) {
		/* Sealed outside the lock: another call may have journaled a
		 * later seal meanwhile (file.h, "Seal order"). */
		int e = ipmd_fs_log_seal(fs, f, r, t->seals);
		sodium_memzero(&r->content, sizeof(r->content));
		return e;
	}
	/* The tail as append records of at most RECORD_APPEND_MAX bytes at
	 * consecutive offsets, all under this one hold of fs->lock: no
	 * other record (a rename of the file, a commit's rotation) comes
	 * between them, and one sync covers them all (this call's, or for
	 * a replacement file the rename's).  A crash before it may keep only
	 * the first k: replay then rebuilds the file up to their end
	 * (tail.h, "Several records"). */
	struct file_tail done = *t;
	done.len = 0;
	int e = 0;
	while (e == 0 && done.len < t->len) {
		size_t n = t->len - done.len;
		if (n > RECORD_APPEND_MAX)
			n = RECORD_APPEND_MAX;
		r->off = t->off + done.len;
		r->data = t->data + done.len;
		r->data_len = n;
		e = ipmd_fs_log(fs, r);
		if (e == 0)
			done.len += n;
	}
	/* Failed midway: the records before are in the journal and the
	 * tree, so the durable point moves to their end, and the next fsync
	 * takes the rest from there. */
	file_tail_done(f, &done, done.len > 0);
	/* Listed whatever opens is: an open file is never settled, and the
	 * commit must seal these appends before it rotates past the
	 * generation holding them (mount.c, seal_unclaimed_inode). */
	if (done.len > 0)
		ipmd_fs_unclaimed(fs, inode->ino);
	return e;
}

/* An append record: its bytes into the inode's state, made over the
 * content the tree holds here; the first commit seals it. */
static int replay_append(struct ipmd_fs *fs, const struct record *r)
{
	struct inode *i = tree_get(fs->tree, r->ino);
	if (!i)
		return -ESTALE;
	if (!S_ISREG(i->mode) || i->cache || r->off > i->size)
		return -EINVAL; /* as record_apply says, before any byte */
	int e = 0;
	if (!i->file)
		e = file_state_new(&fs->st, i->ino, &i->content, &i->file);
	if (!e)
		e = file_tail_replayed(&fs->st, i->file, r->off, r->data,
				       r->data_len);
	if (!e)
		e = record_apply(fs->tree, r, ipmd_fs_release_inode, fs);
	if (!e)
		ipmd_fs_unclaimed(fs, i->ino);
	return e;
}

int ipmd_fs_replay_record(struct ipmd_fs *fs, const uint8_t *payload,
			  size_t len, struct mail_changes *mc)
{
	struct record r;
	struct record_text *tb = malloc(sizeof(*tb));
	int e = !tb ? -ENOMEM : record_decode(payload, len, &r, tb);
	struct inode *i = !e && r.op == REC_CONTENT ? tree_get(fs->tree, r.ino)
						    : NULL;
	if (i && i->file) {
		/* Sealed over every append before it.  No call holds a
		 * state yet: replay precedes FUSE and the workers (mount.h). */
		file_state_free(i->file);
		i->file = NULL;
	}
	if (!e)
		e = r.op == REC_APPEND
			    ? replay_append(fs, &r)
			    : mail_changes_apply(fs->tree, &r,
						 ipmd_fs_release_inode, fs, mc);
	sodium_memzero(&r.content, sizeof(r.content));
	record_text_done(tb);
	free(tb);
	return e;
}
