/*
 * fs/mount/mount_replay.c — opening a mount's journal (mount.h:
 * ipmd_fs_open_journal): its records replayed over the head's tree, then,
 * for a writer, the generation to append to, the cache files kept at the
 * last unmount, and the replayed state made a commit.
 */
#include "fs/mount/mount.h"

#include <errno.h>
#include <string.h>

#include "fs/model/changes.h"
#include "fs/model/merge.h"
#include "fs/model/merge_base.h"
#include "fs/model/record.h"
#include "fs/mount/cache_file.h"
#include "fs/mount/cache_keep.h"
#include "fs/store/journal_payload.h"
#include "fs/store/journal_tail.h"
#include "fs/store/wal_store.h"
#include "util/log.h"
#include "util/msgbuf.h"

struct replay_count {
	struct ipmd_fs *fs;
	struct blockstore *bs; /* where block records go back to */
	uint64_t applied, skipped, blocks;
	int store_error; /* a block record the store would not take back */
	struct mail_changes mail; /* for the replayed commit's counts */
	int merge_error; /* a merge record whose blocks would not read */
};

/* A merge record: redone from its inputs (fs/model/merge_base.h), which
 * the live merge made durable in the store before journaling it. */
static int replay_merge(struct replay_count *rc, const uint8_t *body,
			size_t len)
{
	struct ipmd_fs *fs = rc->fs;
	struct record_merge m;
	struct merge_stats ms;
	struct commit remote;
	if (record_merge_parse(body, len, &m))
		return -EBADMSG;
	int e = merge_replay(&fs->st, &fs->store.keys, &m, fs->tree, NULL,
			     NULL, &remote, &ms);
	if (e) {
		rc->merge_error = e;
		return e;
	}
	ipmd_fs_merged(fs, &m.parent, &remote, &ms);
	rc->applied++;
	return 0;
}

/* A block record's block, put back into bs. */
struct put_back {
	struct blockstore *bs;
	const struct journal_payload *p;
};

static int put_back_once(void *arg)
{
	const struct put_back *pb = arg;
	struct cid cid;
	return bs_put(pb->bs, pb->p->body, pb->p->len, 0, &cid);
}

/* A commit that failed but left nothing to commit is done. */
static int first_commit_once(void *arg)
{
	struct ipmd_fs *fs = arg;
	return fs->changes ? ipmd_fs_commit(fs) : 0;
}

static int replay_one(uint64_t gen, uint64_t seq, const uint8_t *payload,
		      size_t len, void *arg)
{
	(void)gen;
	(void)seq;
	struct replay_count *rc = arg;
	struct journal_payload p;
	journal_payload_decode(payload, len, &p);
	int e;
	if (p.kind == JOURNAL_PAYLOAD_BLOCK) {
		/* Back into the store (wal_store.h).  Putting a block is
		 * idempotent: a store failing for a moment gets a few more
		 * tries. */
		struct put_back pb = {rc->bs, &p};
		e = ipmd_fs_tries(put_back_once, &pb, true, NULL);
		rc->blocks++;
		rc->store_error = e;
		return e; /* a block we can't store back: stop, say why */
	}
	if (p.kind == JOURNAL_PAYLOAD_MERGE)
		return replay_merge(rc, p.body, p.len);
	e = ipmd_fs_replay_record(rc->fs, p.body, p.len, &rc->mail);
	if (e == -EBADMSG)
		return e; /* sealed and authentic, yet malformed: corrupt */
	if (e == 0)
		rc->applied++;
	else
		rc->skipped++; /* failed live the same way, or an orphan */
	return 0;
}

/* Replay the journal over the head's tree (fs->tree); block records go
 * back into the store under the journal wrapper.  across_gaps: replay on
 * past missing generations (mount_options.journal_across_gaps).  0, or -1
 * with why in msg; *err: the replay's own result (-ENOENT: no journal
 * yet). */
static int replay_journal(struct ipmd_fs *fs, bool across_gaps,
			  struct journal_replay_stats *js, int *err, char *msg,
			  size_t msgsize)
{
	struct replay_count rc = {.fs = fs, .bs = fs->stack.direct};
	const char *dir = fs->store.paths.journal;
	memset(js, 0, sizeof(*js));
	unsigned flags = (fs->read_only ? 0 : JOURNAL_REPLAY_REPAIR_TAIL) |
			 (across_gaps ? JOURNAL_REPLAY_ACROSS_GAPS : 0) |
			 head_replay_flags(&fs->head);
	int e = journal_replay(dir, fs->store.keys.journal,
			       fs->head.journal_gen, flags, replay_one, &rc,
			       js);
	*err = e;
	/* Its records were acknowledged: refuse rather than build on the
	 * rest as if they had never been (fs/store/journal.h, Replay). */
	if (e == -ENODATA && js->missing_gen)
		return msgbuf_say(msg, msgsize,
			   "journal generation %llu is missing: any changes "
			   "%016llx%s (in %s) held are lost; refusing to "
			   "mount without it; run ipmaildir fsck",
			   (unsigned long long)js->missing_gen,
			   (unsigned long long)js->missing_gen, JOURNAL_SUFFIX,
			   dir);
	if (js->missing_gen)
		logmsg(LOG_WARNING,
		       "journal: replayed across %llu missing generation%s "
		       "(the first %llu): their changes are lost",
		       (unsigned long long)js->missing_gens,
		       js->missing_gens == 1 ? "" : "s",
		       (unsigned long long)js->missing_gen);
	/* A store (or, for a merge, the node) failing for a moment.  Its
	 * error may be -ENOENT (a merge's parent missing): never taken for
	 * a journal that is not there, which would drop the merge and every
	 * record after it. */
	int later = rc.merge_error ? rc.merge_error : rc.store_error;
	if (e && later)
		return msgbuf_say(msg, msgsize,
			   "%s journal %s (offset %llu)%s: %s; nothing was "
			   "lost, mount again when the %s is back",
			   rc.merge_error ? "a merge in"
					  : "the store refused a block of",
			   js->bad_file[0] ? js->bad_file : dir,
			   (unsigned long long)js->bad_offset,
			   rc.merge_error ? " cannot be redone" : "",
			   strerror(-later),
			   rc.merge_error ? "node or store" : "store");
	if (e && e != -ENOENT)
		return msgbuf_say(msg, msgsize,
			   "journal %s is damaged at offset %llu (%s): "
			   "refusing to mount over it; run ipmaildir fsck",
			   js->bad_file[0] ? js->bad_file : dir,
			   (unsigned long long)js->bad_offset, strerror(-e));
	if (rc.applied || rc.skipped) {
		fs->changes += rc.applied + 1;
		fs->added += rc.mail.added;
		fs->removed += rc.mail.removed;
		fs->renamed += rc.mail.renamed;
		logmsg(LOG_NOTICE,
		       "replayed %llu journal records over commit %llu "
		       "(%llu skipped: changes that failed live too)",
		       (unsigned long long)rc.applied,
		       (unsigned long long)fs->last.seq,
		       (unsigned long long)rc.skipped);
	}
	/* fsck's words for it (fs/store/journal_tail.h), so the two agree.  A
	 * read-only mount cuts nothing (no JOURNAL_REPLAY_REPAIR_TAIL). */
	char said[512];
	if (journal_tail_say(js, JOURNAL_TAIL_UNFINISHED, !fs->read_only, said,
			     sizeof(said)))
		logmsg(LOG_WARNING, "%s", said);
	if (journal_tail_say(js, JOURNAL_TAIL_UNOPENABLE, !fs->read_only, said,
			     sizeof(said)))
		logmsg(LOG_WARNING, "%s", said);
	return 0;
}

/* The cache files the last unmount kept, when this mount starts from the
 * state they were written over: its head, and nothing replayed
 * (fs/mount/cache_keep.h).  Losing them costs Dovecot a rebuild only. */
static void restore_cache_files(struct ipmd_fs *fs, bool replayed_none)
{
	static const struct cid none; /* equals no head */
	if (fs->index_cache_off) { /* kept ones go: nothing would use them */
		cache_dir_sweep(fs->cache_dir, NULL, 0);
		return;
	}
	int n = cache_keep_restore(fs->cache_dir, fs->tree,
				   replayed_none ? &fs->head.commit : &none,
				   fs->head.journal_gen);
	if (n < 0)
		logmsg(LOG_WARNING, "cache files kept at the last unmount "
		       "dropped: their catalog does not open (%s)",
		       strerror(-n));
}

/*
 * Nothing was replayed, and generation gen (open: its file is there) is
 * the one reused.  The head names it first, with journal_first (head.h),
 * so that a later replay may require its file; only then do the older
 * ones go, empty or covered by the head.  A head that can't be written
 * keeps them all: it still names the oldest, and the next mount tries
 * again.  Seen is not rewritten: it guards the commit and seq, which
 * stay, and a head rebuilt from it does not trust its generation
 * (fs/tools/fsck_state.c).
 */
static void reuse_generation(struct ipmd_fs *fs, uint64_t gen)
{
	const struct store_paths *p = &fs->store.paths;
	int e = 0;
	if (fs->head.journal_gen != gen || !fs->head.journal_first) {
		struct head h = fs->head;
		h.journal_gen = gen;
		h.journal_first = true;
		e = head_write(p->head, fs->store.keys.journal,
			       BLOCK_STATE_HEAD, &h);
		if (!e)
			fs->head = h;
	}
	if (!e)
		e = journal_drop_before(p->journal, gen);
	if (e)
		logmsg(LOG_WARNING, "journal: cannot drop empty generations "
		       "before %llu: %s", (unsigned long long)gen,
		       strerror(-e));
}

/* A writable mount's journal: the generation to append to (empty: the
 * replay found no record), and the replayed state a commit. */
static int start_journal(struct ipmd_fs *fs, bool empty,
			 const struct journal_replay_stats *js, char *msg,
			 size_t msgsize)
{
	/* After records, a fresh generation (the first commit drops the
	 * replayed ones).  With none, the newest empty one is reused and the
	 * older ones, empty or covered by the head, go: otherwise every open
	 * that changes nothing (fsck --repair, a mount without mail) would
	 * leave one more empty file.  A crash in between leaves only empty
	 * files, which replay to nothing. */
	uint64_t gen = fs->head.journal_gen;
	if (js->files > 0 && js->last_gen >= gen)
		gen = empty ? js->last_gen : js->last_gen + 1;
	const char *dir = fs->store.paths.journal;
	int e = journal_open(dir, fs->store.keys.journal, gen, &fs->journal);
	if (e)
		return msgbuf_say(msg, msgsize, "journal in %s: %s", dir,
			   strerror(-e));
	wal_store_set_journal(fs->stack.wal, fs->journal);
	if ((e = cache_dir_open(fs->store.paths.root, fs->store.keys.journal,
				&fs->cache_dir)))
		return msgbuf_say(msg, msgsize, "cache directory in %s: %s%s",
				  fs->store.paths.root, strerror(-e),
				  e == -EPERM || e == -ELOOP || e == -ENOTDIR
					  ? ": it must be a directory (no "
					    "symlink) of the mount's user or "
					    "the store's owner, writable by "
					    "them alone; it holds "
					    "only cache: chown it or remove it"
					  : "");
	restore_cache_files(fs, empty); /* as the head was at the unmount */
	if (empty)
		reuse_generation(fs, gen);
	/* Make the replayed state (or the new mailbox) a commit now. */
	/* The journal holds it all, so a store that fails for a moment (a
	 * node, a fault) gets a few more tries before the mount gives up. */
	e = ipmd_fs_tries(first_commit_once, fs, false, "first commit");
	if (e)
		return msgbuf_say(msg, msgsize, "first commit: %s",
				  strerror(-e));
	return 0;
}

int ipmd_fs_open_journal(struct ipmd_fs *fs, bool across_gaps, char *msg,
			 size_t msgsize)
{
	struct journal_replay_stats js;
	int e;
	if (replay_journal(fs, across_gaps, &js, &e, msg, msgsize))
		return -1;
	if (fs->read_only)
		return 0;
	return start_journal(fs, e == 0 && js.records == 0, &js, msg, msgsize);
}
