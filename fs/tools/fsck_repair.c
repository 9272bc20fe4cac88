/* fs/tools/fsck_repair.c — fsck's repairs: the state files, a rollback, a
 * cut chain or journal, and the journal's replay into a commit with the
 * damaged files moved aside (see fsck.h). */
#include "fs/tools/fsck_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/outbox.h"
#include "fs/mount/mount.h"

/* ---- repairs ---- */

static int write_head(struct fsck *f, const struct head *h)
{
	return state_advance(f->h.store.paths.head, f->h.store.paths.seen,
			     f->h.store.keys.journal, h, NULL);
}

static int cut_file(const char *dir, const char *name, uint64_t off)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	int e = ftruncate(fd, (off_t)off) || fsync(fd) ? -errno : 0;
	close(fd);
	return e;
}

/*
 * The rollback target's state as a new signed commit whose seq is above
 * every seq accepted here (head, seen, the damaged chain): a remote reader
 * that saw the lost commits refuses anything below them, and the next
 * commit of the mount follows this one.  Its parent is the intact commit,
 * so history and gc keep walking (a seq gap is allowed there only).
 *
 * Above gc's boundary too (STORE/pruned, in fsck_accepted_top): a commit
 * at or below it ends every walk's line at once (fs/store/history.h), so
 * log and --at would stop at the new head and gc would free the kept
 * commits as unreachable.  And above the target itself, which head and
 * seen can be below when both are an old copy whose commit gc freed
 * (plan_head_gone): every edge must go down in seq.
 */
static int rollback_commit(struct fsck *f, struct head *h)
{
	struct fsck_plan *p = &f->plan;
	struct commit c;
	int e = history_commit(&f->h, &p->rollback_cid, &c);
	if (e)
		return e;
	const struct state_set *st = &f->h.store.state;
	uint64_t top = fsck_accepted_top(&f->h);
	if (p->rollback_from > top)
		top = p->rollback_from;
	if (p->rollback_seq > top)
		top = p->rollback_seq;
	if (p->restore_head && p->new_head.max_seq > top)
		top = p->new_head.max_seq;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	c.seq = top + 1;
	c.parent = p->rollback_cid;
	c.time_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
	c.added = c.removed = c.renamed = 0;
	memset(h, 0, sizeof(*h));
	/* Into the local store, durably, and queued for the node when the
	 * mailbox has one: every commit a head names must reach it. */
	e = commit_write(f->h.local, &f->h.store.keys, &c, &h->commit);
	if (!e)
		e = outbox_queue_in(f->h.store.paths.root, &h->commit);
	if (e)
		return e;
	h->seq = h->max_seq = c.seq;
	h->journal_gen = p->restore_head ? p->new_head.journal_gen
					 : st->head.journal_gen;
	/* A head rolled back may be an old copy put back, whose generation's
	 * file a later commit dropped: its generation is a lower bound only
	 * (journal_first false, fs/store/head.h).  A lost file is reported
	 * by the check of the journal, which went by the head as it was. */
	h->journal_first = false;
	return 0;
}

/* Files of the head tree that the rollback target has no more (by
 * inode: a message whose flags changed is the same message). */
struct dropped {
	struct fsck *f;
	struct fs_tree *target;
	char *path;
	size_t len, cap;
	uint64_t n;
};

static int dropped_walk(struct dropped *d, struct inode *dir, unsigned depth)
{
	if (depth > TREE_DEPTH_MAX)
		return -ELOOP;
	for (uint32_t b = 0; b < dir->dir->nbuckets; b++) {
		for (struct dirent *e = dir->dir->buckets[b]; e;
		     e = e->hash_next) {
			size_t back = d->len, need = back + e->name_len + 2;
			if (need > d->cap) {
				char *p = realloc(d->path, need * 2);
				if (!p)
					return -ENOMEM;
				d->path = p;
				d->cap = need * 2;
			}
			d->path[d->len++] = '/';
			memcpy(d->path + d->len, e->name, e->name_len);
			d->len += e->name_len;
			d->path[d->len] = '\0';
			int r = 0;
			if (S_ISDIR(e->inode->mode)) {
				r = dropped_walk(d, e->inode, depth + 1);
			} else if (!tree_get(d->target, e->inode->ino)) {
				fsck_say(d->f, FSCK_SAY_DROPPED, "%s", d->path);
				d->n++;
			}
			d->len = back;
			if (r)
				return r;
		}
	}
	return 0;
}

/* Print what an asked-for rollback drops; -1 when the head's tree does
 * not load (then it can't be listed), else the count. */
static long list_dropped(struct fsck *f)
{
	struct fs_tree *head = NULL;
	struct dropped d = {.f = f};
	struct commit target;
	if (!f->plan.head_commit_ok ||
	    history_tree(&f->h, &f->plan.head_commit, &head))
		return -1;
	int e = history_commit(&f->h, &f->plan.rollback_cid, &target);
	if (!e)
		e = history_tree(&f->h, &target, &d.target);
	if (!e)
		e = dropped_walk(&d, head->root, 0);
	tree_free(head);
	tree_free(d.target);
	free(d.path);
	return e ? -1 : (long)d.n;
}

static void say_rollback(struct fsck *f, const struct head *h)
{
	struct fsck_plan *p = &f->plan;
	char ctext[CID_TEXT_MAX];
	long dropped = p->explicit_rollback ? list_dropped(f) : 0;
	cid_format(&p->rollback_cid, ctext, sizeof(ctext));
	/* A head (and seen) put back from an old copy whose commit gc has
	 * freed since: the newest intact commit is above it, nothing is
	 * rolled back. */
	if (p->rollback_seq >= p->rollback_from)
		fsck_say(f, FSCK_SAY_REPAIRED,
			 "STORE/head named commit %llu, which is gone; the "
			 "newest intact commit in the store, %llu (%s), is "
			 "newer: the head moves up to it; the journal is "
			 "replayed over it (changes that no longer apply are "
			 "skipped)",
			 (unsigned long long)p->rollback_from,
			 (unsigned long long)p->rollback_seq, ctext);
	else
		fsck_say(f, FSCK_SAY_REPAIRED,
			 "rolled the head back from commit %llu to commit %llu "
			 "(%s), %s: the changes of commits %llu to %llu are "
			 "lost; the journal is replayed over it (changes that "
			 "no longer apply are skipped)",
			 (unsigned long long)p->rollback_from,
			 (unsigned long long)p->rollback_seq, ctext,
			 p->explicit_rollback ? "as asked"
					      : "the newest intact one",
			 (unsigned long long)p->rollback_seq + 1,
			 (unsigned long long)p->rollback_from);
	if (p->explicit_rollback && dropped >= 0)
		fsck_say(f, FSCK_SAY_REPAIRED,
			 "the rollback dropped %ld file%s of the head (listed "
			 "above as DROPPED)",
			 dropped, dropped == 1 ? "" : "s");
	else if (p->explicit_rollback)
		fsck_say(f, FSCK_SAY_REPAIRED,
			 "the head's tree does not read, so what the rollback "
			 "dropped can't be listed");
	cid_format(&h->commit, ctext, sizeof(ctext));
	fsck_say(f, FSCK_SAY_REPAIRED,
		 "that state is the new commit %llu (%s), above every commit "
		 "accepted before, so that readers who saw those take it as "
		 "news, not as a rollback",
		 (unsigned long long)h->seq, ctext);
}

/* Everything but the journal replay; returns the first error. */
int fsck_repair_files(struct fsck *f)
{
	struct fsck_plan *p = &f->plan;
	char ctext[CID_TEXT_MAX];
	int e = 0;
	if (p->restore_head && !p->rollback && !p->new_head.commit.len) {
		e = write_head(f, &p->new_head);
		if (e)
			return e;
		fsck_say(f, FSCK_SAY_REPAIRED,
			 "STORE/head written %s",
			 p->restore_why);
	} else if (p->restore_head && !p->rollback) {
		cid_format(&p->new_head.commit, ctext, sizeof(ctext));
		e = write_head(f, &p->new_head);
		if (e)
			return e;
		fsck_say(f, FSCK_SAY_REPAIRED,
			 "STORE/head restored %s: commit %llu (%s)",
			 p->restore_why, (unsigned long long)p->new_head.seq,
			 ctext);
	}
	if (p->rollback) {
		struct head h;
		e = rollback_commit(f, &h);
		if (e)
			return e;
		e = write_head(f, &h);
		if (e)
			return e;
		say_rollback(f, &h);
	}
	if (p->cut_chain && !p->rollback) {
		cid_format(&p->cut_cid, ctext, sizeof(ctext));
		e = history_write_pruned(&f->h, &p->cut_cid, p->cut_seq);
		if (e)
			return e;
		fsck_say(f, FSCK_SAY_REPAIRED,
			 "the history now starts at commit %llu (%s): older "
			 "commits are unreadable and were dropped from it",
			 (unsigned long long)p->cut_seq, ctext);
	}
	if (p->cut_journal) {
		e = cut_file(f->h.store.paths.journal, p->journal_file,
			     p->journal_offset);
		if (e)
			return e;
		fsck_say(f, FSCK_SAY_REPAIRED,
			 "cut journal %s at offset %llu: the changes recorded "
			 "from there on are lost",
			 p->journal_file,
			 (unsigned long long)p->journal_offset);
	}
	return 0;
}

/* One line per damaged file: where it went, or why it stayed. */
static void say_salvaged(const struct salvage_report *r, void *arg)
{
	struct fsck *f = arg;
	const char *path = r->item->path;
	switch (r->outcome) {
	case SALVAGE_MOVED:
		fsck_say(f, FSCK_SAY_REPAIRED,
			 "%s: damaged (%s): moved to %s (%llu of its %llu "
			 "bytes read)",
			 path, r->item->why, r->to,
			 (unsigned long long)r->recovered,
			 (unsigned long long)r->size);
		break;
	case SALVAGE_GONE:
		fsck_say(f, FSCK_SAY_NOTE,
			 "%s: gone after the journal's changes: nothing to "
			 "move",
			 path);
		break;
	case SALVAGE_READS:
		fsck_say(f, FSCK_SAY_NOTE,
			 "%s: reads whole now: left in place",
			 path);
		break;
	case SALVAGE_FAILED:
		fsck_say(f, FSCK_SAY_NOT_REPAIRED,
			 "%s: moving it to %s failed: %s",
			 path, SALVAGE_DIR, strerror(-r->error));
		break;
	}
}

/* Commit the moves.  Its parent is the newest commit naming none of the
 * lost blocks: below the head when they came from it (plan.salvage_parent;
 * none left: the history starts at the new commit), else the head the
 * journal was replayed over (the replay's commit names them). */
static int salvage_commit(struct fsck *f, struct ipmd_fs *fs)
{
	const struct fsck_plan *p = &f->plan;
	char ctext[CID_TEXT_MAX];
	uint64_t from = fs->head.seq, pseq = 0;
	struct cid parent = {0};
	if (p->salvage) {
		parent = p->salvage_parent;
		pseq = p->salvage_parent_seq;
	} else if (p->journal_damage && fs->last.parent.len) {
		parent = fs->last.parent;
		pseq = from - 1;
	}
	if (parent.len)
		fs->head.commit = parent;
	int e = ipmd_fs_commit(fs);
	if (e || (!parent.len && !p->salvage))
		return e;
	if (parent.len) {
		cid_format(&parent, ctext, sizeof(ctext));
		fsck_say(f, FSCK_SAY_REPAIRED,
			 "commits %llu to %llu name the lost blocks: the new "
			 "commit %llu follows commit %llu (%s), the newest "
			 "that does not, so the history (log, --at) skips them "
			 "and gc frees what only they held",
			 (unsigned long long)pseq + 1, (unsigned long long)from,
			 (unsigned long long)fs->head.seq,
			 (unsigned long long)pseq, ctext);
		return 0;
	}
	struct head pr = {.commit = fs->head.commit, .seq = fs->head.seq,
			  .max_seq = fs->head.seq};
	e = head_write(fs->store.paths.pruned, fs->store.keys.journal,
		       BLOCK_STATE_PRUNED, &pr);
	if (!e)
		fsck_say(f, FSCK_SAY_REPAIRED,
			 "every retained commit names the lost blocks: the "
			 "history now starts at the new commit %llu",
			 (unsigned long long)fs->head.seq);
	return e;
}

/* Replay the journal into a commit, exactly as a mount would; damaged
 * files (if any) are moved aside in a commit of their own
 * (fs/tools/salvage.h). */
int fsck_repair_replay(struct fsck *f, const struct history_options *ho)
{
	uint64_t records = f->plan.journal_records;
	const struct salvage_list *damaged = &f->damaged;
	struct mount_options mo = {.store = ho->store, .pass = ho->pass,
				   .journal_across_gaps =
					   f->plan.journal_gap != 0};
	static struct ipmd_fs fs;
	char msg[1024] = "";
	if (ipmd_fs_open(&fs, &mo, msg, sizeof(msg)) != 0) {
		fsck_say(f, FSCK_SAY_ERROR, "replaying the journal: %s", msg);
		ipmd_fs_close(&fs);
		return -1;
	}
	long moved = damaged->n
			     ? salvage_apply(&fs, damaged, say_salvaged, f)
			     : 0;
	if (moved < 0) {
		fsck_say(f, FSCK_SAY_ERROR,
			 "moving damaged files aside: %s",
			 strerror((int)-moved));
		ipmd_fs_close(&fs);
		return -1;
	}
	/* The replay was committed by the open; the moves get their own. */
	int e = moved ? salvage_commit(f, &fs) : 0;
	uint64_t seq = fs.head.seq;
	int ce = ipmd_fs_close(&fs);
	e = e ? e : ce;
	if (e) {
		fsck_say(f, FSCK_SAY_ERROR,
			 "the commit after the replay failed: %s",
			 strerror(-e));
		return -1;
	}
	if (f->plan.torn_tail)
		fsck_say(f, FSCK_SAY_REPAIRED,
			 "cut the torn last journal record");
	if (f->plan.unfinished_tail)
		fsck_say(f, FSCK_SAY_REPAIRED,
			 "cut an unfinished write at the journal's end");
	if (f->plan.journal_gap)
		fsck_say(f, FSCK_SAY_REPAIRED,
			 "replayed the journal across the missing generation "
			 "%llu: the changes it held are lost",
			 (unsigned long long)f->plan.journal_gap);
	if (records)
		fsck_say(f, FSCK_SAY_REPAIRED,
			 "replayed %llu journal records into commit %llu",
			 (unsigned long long)records, (unsigned long long)seq);
	if (moved)
		fsck_say(f, FSCK_SAY_REPAIRED,
			 "%ld damaged file%s moved to %s (a Maildir++ folder: "
			 "mail readers show it as \"lost+found\") in commit "
			 "%llu; every other file is kept",
			 moved, moved == 1 ? "" : "s", SALVAGE_DIR,
			 (unsigned long long)seq);
	return 0;
}

