/* fs/tools/fsck_state.c — fsck and the state files: which commit the check
 * starts from, and a head or seen that is missing or damaged (see
 * fsck.h). */
#include "fs/tools/fsck_int.h"

#include <errno.h>
#include <stdlib.h>

#include "fs/store/store.h"

/* ---- the head ---- */

struct newest {
	struct history *h;
	struct cid cid;
	struct commit c;
	bool found;
	uint8_t *buf;
};

static int try_commit(const struct cid *cid, void *arg)
{
	struct newest *n = arg;
	size_t len;
	struct commit c;
	if (bs_get(n->h->local, cid, n->buf, COMMIT_PLAIN_MAX + 64, &len))
		return 0; /* too big to be a commit, or unreadable */
	if (commit_open(n->buf, len, &n->h->store.keys, &c) == 0 &&
	    (!n->found || c.seq > n->c.seq)) {
		n->cid = *cid;
		n->c = c;
		n->found = true;
	}
	return 0;
}

/* The newest commit anywhere in the store: the last resort for a head. */
bool fsck_find_newest(struct fsck *f, struct cid *cid, struct commit *c)
{
	struct newest n = {.h = &f->h, .buf = malloc(COMMIT_PLAIN_MAX + 64)};
	if (!n.buf)
		return false;
	bs_iterate(f->h.local, try_commit, &n);
	free(n.buf);
	if (n.found) {
		*cid = n.cid;
		*c = n.c;
	}
	return n.found;
}

/* ---- the state files: a head or seen that is missing or damaged ---- */

/* The highest seq this store is known to have accepted, from the state
 * files that still read: a rebuilt head may not fall below it. */
static uint64_t accepted_top(const struct history *h)
{
	const struct state_set *st = &h->store.state;
	uint64_t top = 0;
	if (st->head_err == 0 && st->head.max_seq > top)
		top = st->head.max_seq;
	if (st->seen_err == 0 && st->seen.max_seq > top)
		top = st->seen.max_seq;
	if (st->pruned_err == 0 && st->pruned.seq > top)
		top = st->pruned.seq;
	return top;
}

/*
 * The head from the newest commit that verifies: never below what was
 * accepted here, so when that commit is older, its state becomes a new
 * commit above (the rollback repair).  The journal generation is unknown:
 * replay them all.  false: no commit of this mailbox is left.
 */
static bool head_from_newest(struct fsck *f, struct cid *start)
{
	struct cid cid;
	struct commit c;
	if (!fsck_find_newest(f, &cid, &c))
		return false;
	uint64_t top = accepted_top(&f->h);
	f->plan.restore_head = true;
	f->plan.new_head = (struct head){.commit = cid, .seq = c.seq,
					 .journal_gen = 1,
					 .max_seq = c.seq > top ? c.seq : top};
	f->plan.restore_why = "from the newest commit in the store";
	if (c.seq < top) {
		f->plan.rollback = true;
		f->plan.rollback_cid = cid;
		f->plan.rollback_seq = c.seq;
		f->plan.rollback_from = top;
	}
	*start = cid;
	return true;
}

/*
 * The head is missing, damaged, or names no commit while seen names one:
 * report it unless the store is simply new, and plan its rebuild — from
 * seen, else from the newest commit that verifies, else (nothing was ever
 * committed, only journaled) as a new mailbox's head.  Returns pick_head's
 * answer.
 */
static bool rebuild_head(struct fsck *f, struct cid *start)
{
	struct history *h = &f->h;
	const struct state_set *st = &h->store.state;
	bool seen_ok = st->seen_err == 0 && st->seen.commit.len;
	int data =
		st->head_err == -ENOENT ? store_has_data(&h->store.paths) : 0;
	struct commit c;
	if (st->head_err == -EBADMSG)
		fsck_problem(f,
			     "STORE/head is damaged, an old untyped copy, or "
			     "not written with this mailbox's key");
	else if (st->head_err == -ENOENT && (data != 0 || seen_ok))
		fsck_problem(f,
			     "STORE/head is missing, but the store holds mail: "
			     "a mount would start an empty mailbox over it");
	else if (st->head_err == 0 && seen_ok)
		fsck_problem(f,
			     "STORE/head names no commit, but commit %llu was "
			     "accepted here (STORE/seen): the head was "
			     "replaced by an old copy",
			     (unsigned long long)st->seen.seq);
	else
		return false; /* never committed */
	if (seen_ok && history_commit(h, &st->seen.commit, &c) == 0) {
		f->plan.restore_head = true;
		f->plan.new_head = st->seen;
		f->plan.restore_why = "from STORE/seen";
		*start = st->seen.commit;
		return true;
	}
	if (head_from_newest(f, start))
		return true;
	if (accepted_top(h) > 0) {
		fsck_problem(f,
			     "no commit of this mailbox is left in the store");
		f->plan.no_intact = true;
		return false;
	}
	/* Only journal records: the head of a mailbox with no commit yet. */
	f->plan.restore_head = true;
	f->plan.new_head = (struct head){.journal_gen = 1};
	f->plan.restore_why = "as a new mailbox's (no commit yet; its "
			      "journal is replayed)";
	return false;
}

/*
 * The head reads but seen does not (damaged, an old untyped copy, or
 * gone): rollback protection is lost until it is rewritten.  The repair
 * writes it from the head — or, when the store holds a newer commit than
 * the head names, moves the head there first (a head rolled back behind a
 * damaged seen).  true when it did (and set *start).
 */
static bool check_seen(struct fsck *f, struct cid *start)
{
	struct history *h = &f->h;
	const struct state_set *st = &h->store.state;
	if (st->seen_err == 0)
		return false;
	fsck_problem(f,
		     "STORE/seen is %s: a rolled-back head can't be told apart "
		     "without it",
		     st->seen_err == -ENOENT
			     ? "missing"
			     : "damaged or an old untyped copy");
	struct cid cid;
	struct commit c;
	f->plan.restore_head = true;
	f->plan.new_head = st->head;
	f->plan.restore_why = "as it was, and STORE/seen from it";
	if (fsck_find_newest(f, &cid, &c) && c.seq > st->head.seq) {
		char ctext[CID_TEXT_MAX];
		cid_format(&cid, ctext, sizeof(ctext));
		fsck_problem(f,
			     "STORE/head names commit %llu, but the store "
			     "holds commit %llu (%s): the head may have been "
			     "rolled back",
			     (unsigned long long)st->head.seq,
			     (unsigned long long)c.seq, ctext);
		f->plan.new_head = (struct head){
			.commit = cid, .seq = c.seq,
			.journal_gen = st->head.journal_gen,
			.max_seq = c.seq > st->head.max_seq ? c.seq
							    : st->head.max_seq};
		f->plan.restore_why = "from the newest commit in the store";
		*start = cid;
		return true;
	}
	return false;
}

/* Decide which commit the check starts from; false: none (new mailbox). */
bool fsck_pick_head(struct fsck *f, struct cid *start)
{
	struct history *h = &f->h;
	const struct state_set *st = &h->store.state;
	char ctext[CID_TEXT_MAX];
	bool seen_ok = st->seen_err == 0 && st->seen.commit.len;
	struct commit c;
	if (st->head_err == 0 && st->head.commit.len) {
		*start = st->head.commit;
		if (seen_ok && st->seen.max_seq > st->head.seq &&
		    st->seen.seq > st->head.seq &&
		    history_commit(h, &st->seen.commit, &c) == 0) {
			cid_format(&st->seen.commit, ctext, sizeof(ctext));
			fsck_problem(f,
				     "STORE/head names commit %llu, but commit "
				     "%llu (%s) was already accepted here "
				     "(STORE/seen): the head was rolled back "
				     "or replaced by an older copy",
				     (unsigned long long)st->head.seq,
				     (unsigned long long)st->seen.seq, ctext);
			f->plan.restore_head = true;
			f->plan.new_head = st->seen;
			f->plan.restore_why = "from STORE/seen";
			*start = st->seen.commit;
		}
		check_seen(f, start);
		return true;
	}
	if (st->head_err == 0 && !seen_ok) /* a head with no commit yet */
		return st->seen_err == -EBADMSG && check_seen(f, start);
	return rebuild_head(f, start);
}

