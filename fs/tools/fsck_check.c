/* fs/tools/fsck_check.c — the whole fsck check and what it plans, and the
 * lines it says (see fsck.h). */
#include "fs/tools/fsck_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/object.h"
#include "fs/model/reach.h"
#include "util/msgbuf.h"

/* ---- what the user hears ---- */

static void vsay(struct fsck *f, enum fsck_say kind, const char *fmt,
		 va_list ap)
{
	char *text;
	if (vasprintf(&text, fmt, ap) < 0)
		return; /* out of memory: the line is lost, the count is not */
	if (f->io.say)
		f->io.say(f->io.arg, kind, text);
	free(text);
}

void fsck_say(struct fsck *f, enum fsck_say kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(f, kind, fmt, ap);
	va_end(ap);
}

void fsck_problem(struct fsck *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fsck_bar_clear(f);
	vsay(f, FSCK_SAY_DAMAGE, fmt, ap);
	va_end(ap);
	f->problems++;
}

void fsck_note(struct fsck *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(f, FSCK_SAY_NOTE, fmt, ap);
	va_end(ap);
}

void fsck_bar_clear(struct fsck *f)
{
	if (f->io.bar_clear)
		f->io.bar_clear(f->io.arg);
}

void fsck_bar_tick(struct fsck *f, uint64_t bytes)
{
	if (f->io.bar_tick)
		f->io.bar_tick(f->io.arg, bytes);
}

int fsck_why(struct fsck *f, const struct cid *hint, int err, char *text,
	     size_t tsize, char *cid_text)
{
	struct cid bad;
	int store_err = 0;
	bool from_store = history_last_bad(&f->h, &bad, &store_err);
	cid_format(from_store ? &bad : hint, cid_text, CID_TEXT_MAX);
	int e = from_store ? store_err : err;
	snprintf(text, tsize, "%s",
		 e == -ENOENT	       ? "missing from the store"
		 : from_store && e == -EBADMSG
			 ? "altered (its bytes do not hash to its CID)"
		 : e == -EKEYREJECTED ? "not signed by this mailbox's key"
		 : e == -EBADMSG      ? "does not open under its key "
				       "(damaged or malformed)"
				      : strerror(-e));
	return e;
}

/* ---- the whole check ---- */

/* The index of commit i's first parent in l (a walk's list, seq
 * falling: after i), or l->n when the walk did not reach it. */
static size_t first_parent_of(const struct commit_list *l, size_t i)
{
	const struct cid *want = &l->commits[i].parent;
	if (want->len == 0)
		return l->n;
	for (size_t j = i + 1; j < l->n; j++)
		if (cid_equal(&l->cids[j], want))
			return j;
	return l->n;
}

/* Newest commit whose tree is intact from index i down the first-parent
 * line (this device's own commits and the merges it made, what
 * --rollback-to names; another device's line may hold a newer seq, which
 * is not what a user of this device means), or -1. */
static long newest_intact(struct fsck *f, struct commit_list *l, size_t i)
{
	for (; i < l->n; i = first_parent_of(l, i)) {
		struct cid_set *save = f->verified;
		unsigned before = f->problems;
		/* Checked against a set of its own, quietly counted. */
		f->verified = cid_set_new();
		if (!f->verified) {
			f->verified = save;
			return -1;
		}
		unsigned bad = fsck_check_tree(f, &l->cids[i], &l->commits[i],
					  NULL);
		cid_set_free(f->verified);
		f->verified = save;
		f->problems = before; /* already reported for the head */
		if (!bad)
			return (long)i;
	}
	return -1;
}

/* Does a commit's tree name a block that failed in the head (or fail to
 * load or walk)?  Listing only: chunks are not opened. */
static int names_bad(const struct reach_block *b, void *arg)
{
	struct fsck *f = arg;
	return b->error || (f->bad_cids && cid_set_has(f->bad_cids, b->cid))
		       ? 1
		       : 0;
}

static bool commit_names_bad(struct fsck *f, const struct commit *c)
{
	struct fs_tree *t;
	if (history_tree(&f->h, c, &t))
		return true;
	int r = reach_tree(&f->h.st, t, NULL, names_bad, f);
	tree_free(t);
	return r != 0;
}

/*
 * Every commit from the head down to where the damaged files came in
 * names their lost blocks: gc and fsck --deep would refuse or cut each.
 * The salvage commit's parent is therefore the newest commit below on the
 * first-parent line that names none of them (a seq gap, as a rollback has); the ones skipped
 * leave the history.  None retained: the history starts at the salvage.
 */
static void salvage_parent(struct fsck *f, struct commit_list *l)
{
	/* Down the first-parent line: a parent on another device's line
	 * would drop this device's own commits from the history. */
	for (size_t i = first_parent_of(l, 0); i < l->n;
	     i = first_parent_of(l, i)) {
		if (!commit_names_bad(f, &l->commits[i])) {
			f->plan.salvage_parent = l->cids[i];
			f->plan.salvage_parent_seq = l->commits[i].seq;
			return;
		}
	}
}

/*
 * The head's tree is damaged.  Damaged files only: they are salvaged and
 * the rest stays (plan.salvage).  A directory node that does not load
 * hides the folders under it, and rolling back would drop whatever came
 * after the intact commit: that is for the user to ask (--rollback-to),
 * so only the newest intact commit is named.
 */
static void plan_damaged_head(struct fsck *f, struct commit_list *l,
			      const struct commit **base)
{
	if (f->tree_loaded) {
		f->plan.salvage = true;
		*base = &l->commits[0];
		salvage_parent(f, l);
		return;
	}
	long i = newest_intact(f, l, first_parent_of(l, 0));
	if (i < 0) {
		f->plan.no_intact = true;
		fsck_note(f,
			  "no retained commit is intact: nothing to roll back "
			  "to");
		return;
	}
	char ctext[CID_TEXT_MAX];
	cid_format(&l->cids[i], ctext, sizeof(ctext));
	f->plan.dir_damaged = true;
	f->plan.suggest_seq = l->commits[i].seq;
	fsck_note(f,
		  "the newest intact commit is %llu (%s): ipmaildir fsck "
		  "--rollback-to %llu restores it and lists what that drops",
		  (unsigned long long)l->commits[i].seq, ctext,
		  (unsigned long long)l->commits[i].seq);
}

/* The commit of seq on the first-parent line from l's head (l is a
 * walk's list, seq falling), as --at SEQ names it; l->n: none. */
static size_t first_parent_at(const struct commit_list *l, uint64_t seq)
{
	struct cid want = l->cids[0];
	for (size_t i = 0; i < l->n && l->commits[i].seq >= seq; i++) {
		if (!cid_equal(&l->cids[i], &want))
			continue; /* another line's */
		if (l->commits[i].seq == seq)
			return i;
		want = l->commits[i].parent;
	}
	return l->n;
}

/* --rollback-to SEQ: the commit must be on the head's first-parent line
 * below the head, and intact.  -ECANCELED (said why) otherwise. */
static int plan_rollback_to(struct fsck *f, struct commit_list *l,
			    const struct commit **base)
{
	size_t i = first_parent_at(l, f->rollback_to);
	const char *why = i == l->n ? "no such commit in the retained chain"
			  : i == 0  ? "that is the head already"
				    : NULL;
	if (!why && newest_intact(f, l, i) != (long)i)
		why = "that commit is damaged too";
	if (why) {
		fsck_say(f, FSCK_SAY_ERROR,
			 "--rollback-to %llu: %s (ipmaildir log lists the "
			 "commits)",
			 (unsigned long long)f->rollback_to, why);
		return -ECANCELED;
	}
	f->plan.rollback = f->plan.explicit_rollback = true;
	f->plan.rollback_cid = l->cids[i];
	f->plan.rollback_seq = l->commits[i].seq;
	f->plan.rollback_from = l->commits[0].seq;
	*base = &l->commits[i];
	return 0;
}

/* The head commit itself is gone: its parent link with it.  The newest
 * commit still in the store is where to go. */
static void plan_head_gone(struct fsck *f)
{
	struct cid cid;
	struct commit nc;
	char ctext[CID_TEXT_MAX];
	if (!fsck_find_newest(f, NULL, &cid, &nc) ||
	    fsck_check_tree(f, &cid, &nc, NULL) != 0) {
		f->plan.no_intact = true;
		return;
	}
	f->plan.rollback = true;
	f->plan.rollback_cid = cid;
	f->plan.rollback_seq = nc.seq;
	f->plan.rollback_from = f->plan.restore_head
					? f->plan.new_head.seq
					: f->h.store.state.head.seq;
	cid_format(&cid, ctext, sizeof(ctext));
	fsck_note(f, "the newest intact commit in the store is %llu (%s)",
		  (unsigned long long)nc.seq, ctext);
}

/* The head's tree (collecting its damaged files unless a rollback is
 * asked), what to do about it, and with --deep every older commit's.
 * *base: the commit the journal replays over (NULL: none intact). */
static int check_commits(struct fsck *f, struct commit_list *l,
			 const struct commit **base)
{
	int e = 0;
	f->plan.head_commit = l->commits[0];
	f->plan.head_commit_ok = true;
	f->collect = !f->rollback_to;
	unsigned bad = fsck_check_tree(f, &l->cids[0], &l->commits[0], NULL);
	f->collect = false;
	if (f->rollback_to)
		e = plan_rollback_to(f, l, base);
	else if (bad)
		plan_damaged_head(f, l, base);
	else
		*base = &l->commits[0];
	if (e)
		return e;
	for (size_t i = 1; f->deep && i < l->n; i++) {
		/* A damaged old commit: the history is cut above it (its
		 * blocks go at the next gc), at the lowest seq above its
		 * own: every line's commits of its seq and below go. */
		if (fsck_check_tree(f, &l->cids[i], &l->commits[i], NULL) &&
		    !f->plan.cut_chain && !f->plan.rollback) {
			size_t j = i - 1;
			while (j > 0 && l->commits[j].seq == l->commits[i].seq)
				j--;
			f->plan.cut_chain = true;
			f->plan.cut_cid = l->cids[j];
			f->plan.cut_seq = l->commits[j].seq;
		}
	}
	return 0;
}

int fsck_check(struct fsck *f)
{
	struct cid start;
	struct commit_list l = {0};
	memset(&f->plan, 0, sizeof(f->plan));
	salvage_free(&f->damaged);
	cid_set_free(f->bad_cids);
	f->bad_cids = NULL;
	f->problems = 0;
	f->blocks = 0;
	if (f->io.bar_start)
		f->io.bar_start(f->io.arg);
	cid_set_free(f->verified);
	f->verified = cid_set_new();
	if (!f->verified)
		return -ENOMEM;
	if (!fsck_pick_head(f, &start)) {
		fsck_check_journal(f, NULL, &(struct head){.journal_gen = 1});
		return 0;
	}
	int e = fsck_check_chain(f, &start, &l);
	if (e)
		goto out;
	const struct commit *base = NULL;
	const struct head *from = f->plan.restore_head
					  ? &f->plan.new_head
					  : &f->h.store.state.head;
	if (l.n == 0 && f->rollback_to) {
		fsck_say(f, FSCK_SAY_ERROR,
			 "--rollback-to %llu: the head commit does not read, "
			 "so the chain to it can't be followed; ipmaildir fsck "
			 "--repair restores the newest commit in the store",
			 (unsigned long long)f->rollback_to);
		e = -ECANCELED;
		goto out;
	}
	if (l.n == 0)
		plan_head_gone(f);
	else if ((e = check_commits(f, &l, &base)) != 0)
		goto out;
	if (base) {
		size_t before = f->damaged.n;
		f->collect = true;
		fsck_check_journal(f, base, from);
		f->collect = false;
		f->plan.journal_damage = f->damaged.n > before;
	}
	e = 0;
out:
	commit_list_free(&l);
	return e;
}

/* ---- opening and freeing ---- */

int fsck_open(struct fsck *f, const struct history_options *ho, char *msg,
	      size_t msize)
{
	if (history_open(&f->h, ho, msg, msize))
		return -1;
	f->node = ho->node || ho->beside_blocks;
	f->plain = malloc(OBJ_CHUNK_DEFAULT);
	int m = history_mounted(&f->h);
	f->mounted = m == 1;
	if (!f->plain || m < 0)
		return msgbuf_say(msg, msize, "%s",
				  f->plain ? strerror(-m) : "out of memory");
	return 0;
}

void fsck_free(struct fsck *f)
{
	history_close(&f->h);
	cid_set_free(f->verified);
	f->verified = NULL;
	salvage_free(&f->damaged);
	cid_set_free(f->bad_cids);
	f->bad_cids = NULL;
	free(f->plain);
	f->plain = NULL;
}
