/*
 * fs/fuse/ops_durable.c — replies that promise durability, sent once the
 * store is durable by the mount's durable queue (fs/mount/durable_queue.h),
 * so the FUSE worker goes back to the loop instead of waiting for the
 * group commit.
 *
 * libfuse lets any thread reply to a request, once; a request the kernel
 * interrupts meanwhile still gets its one reply (no interrupt callback is
 * registered: a sync is bounded, and an fsync must not report success or
 * EINTR before it knows).  The queue answers everything it accepted before
 * ipmd_fuse_durable_stop returns, which cmd_mount calls once the session
 * loop has ended and before the session is destroyed: no request outlives
 * its session, and none is answered twice.
 */
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include "fs/fuse/ops.h"
#include "fs/fuse/ops_internal.h"

#include <stdbool.h>
#include <stdlib.h>

#include "fs/mount/durable_queue.h"
#include "fs/mount/mount.h"

struct durable_reply {
	struct durable_wait w; /* first: done gets &w back */
	fuse_req_t req;
	bool entry; /* reply e, else 0 */
	struct fuse_entry_param e;
};

static void reply_now(fuse_req_t req, int err, const struct fuse_entry_param *e)
{
	if (err || !e)
		fuse_reply_err(req, -err);
	else
		ops_reply_entry(req, e);
}

/* The queue's thread: the sync covering this request is done.  An entry
 * not made durable is replied as the error: the kernel does not get it. */
static void reply_done(struct durable_wait *w, int err)
{
	struct durable_reply *r = (struct durable_reply *)w;
	if (err && r->entry)
		ops_entry_unsent(ops_fs(r->req), &r->e);
	reply_now(r->req, err, r->entry ? &r->e : NULL);
	free(r);
}

/* Outside lock: what req promises was journaled (or put) before this
 * call.  Without a queue (not started, stopping) or memory for the
 * waiter, this thread makes the store durable itself, as before. */
static void reply_durable(fuse_req_t req, int err,
			  const struct fuse_entry_param *e)
{
	struct ipmd_fs *fs = ops_fs(req);
	struct durable_reply *r = err ? NULL : malloc(sizeof(*r));
	if (r) {
		*r = (struct durable_reply){.w.done = reply_done, .req = req,
					    .entry = e != NULL};
		if (e)
			r->e = *e;
		if (durable_queue_add(fs->durable, &r->w))
			return;
		free(r);
	}
	if (!err) {
		err = ops_make_durable(fs);
		if (err && e)
			ops_entry_unsent(fs, e);
	}
	reply_now(req, err, e);
}

void ops_reply_err_durable(fuse_req_t req, int err)
{
	reply_durable(req, err, NULL);
}

void ops_reply_entry_durable(fuse_req_t req, int err,
			     const struct fuse_entry_param *e)
{
	reply_durable(req, err, e);
}

/*
 * A replacement file's fsync is the first half of how Dovecot rewrites
 * dovecot-uidlist (write dovecot-uidlist.tmp, fdatasync it, rename it over
 * dovecot-uidlist in the same directory; file_dotlock_replace does the
 * same with NAME.lock for dovecot-keywords and subscriptions).  That
 * rename is durable at the next sync, not on return (ops.c, op_rename),
 * so a durable fsync before it bought NAME nothing: the journal is a log
 * replayed in order, what is journaled here (a content record, or
 * append records of the bytes when they fit TAIL_JOURNAL_MAX,
 * fs/mount/tail.h, all under one hold of the lock) comes before the
 * rename's record, and no later record is durable without it.  A crash
 * then leaves NAME old and whole, or new and whole, never
 * empty or torn (the hazard the fsync guards against on a filesystem
 * that reorders data and names), and everything acknowledged as
 * durable after it (a delivery's rename into new/, any fsync) carries
 * it.  Under four IMAP clients
 * Dovecot rewrote dovecot-uidlist on most STOREs, each client waiting
 * for dovecot-uidlist.lock, which the writer held across a journal sync
 * (bench/README.md, issue 15).
 *
 * A delivery in tmp/ (maildir_is_delivery) is the first half of every
 * Maildir delivery: write tmp/NAME, fsync it, rename (Dovecot) or link
 * (maildrop, Postfix's local) it into new/ or cur/.  The message is
 * delivered at that call, which is durable on return (op_rename,
 * op_link) and syncs the journal behind this content record, and the
 * store's blocks too big for the journal before it (wal_store_durable):
 * so the delivery costs one sync, not two, and a crash can never keep
 * the name in new/ without the whole content.  A crash between the fsync
 * and the rename may lose tmp/NAME, or bring it back as an earlier sync
 * or commit found it (empty, or the first part of the message), as a
 * crash in mid-write may on any filesystem; a message in
 * tmp/ was never delivered, and the MDA that was writing it never said
 * it was.
 */
void ops_reply_fsync(fuse_req_t req, bool deferred, int err)
{
	if (!err && deferred)
		fuse_reply_err(req, 0);
	else
		reply_durable(req, err, NULL);
}

static int sync_mount(void *arg)
{
	return ops_make_durable(arg);
}

int ipmd_fuse_durable_start(struct ipmd_fs *fs)
{
	if (fs->read_only)
		return 0;
	return durable_queue_start(sync_mount, fs, &fs->durable);
}

void ipmd_fuse_durable_stop(struct ipmd_fs *fs)
{
	durable_queue_stop(fs->durable);
	fs->durable = NULL;
}
