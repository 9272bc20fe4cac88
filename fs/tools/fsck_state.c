/* fs/tools/fsck_state.c — fsck and the state files: which commit the check
 * starts from, and a head or seen that is missing or damaged (see
 * fsck.h). */
#include "fs/tools/fsck_int.h"

#include <errno.h>
#include <stdlib.h>

#include "fs/model/merge_base.h"
#include "fs/store/store.h"
#include "ipfs/cid.h"
#include "util/array.h"

/* ---- the head ---- */

/* Every commit of this mailbox the store holds: CID and seq (the commit
 * is read again for the one picked), and the CIDs some commit names as a
 * parent. */
struct stored {
	struct history *h;
	struct cid *cids;
	uint64_t *seqs;
	size_t n, cap;
	struct cid_set *named; /* parents and merged parents */
	uint8_t *buf;
	int error;
	uint64_t bound; /* gc's boundary: where walks end (history.h) */
};

static int try_commit(const struct cid *cid, void *arg)
{
	struct stored *s = arg;
	size_t len;
	struct commit c;
	if (bs_get(s->h->local, cid, s->buf, COMMIT_PLAIN_MAX + 64, &len) ||
	    commit_open(s->buf, len, &s->h->store.keys, &c))
		return 0; /* too big to be a commit, unreadable, or no commit */
	size_t cap = s->cap;
	struct cid *a = array_grow(s->cids, s->n, &cap, sizeof(*a), 64);
	if (a)
		s->cids = a;
	uint64_t *q = a ? array_grow(s->seqs, s->n, &s->cap, sizeof(*q), 64)
			: NULL;
	if (q)
		s->seqs = q;
	int e = q ? 0 : -ENOMEM;
	if (!e && c.parent.len && cid_set_add(s->named, &c.parent) < 0)
		e = -ENOMEM;
	for (unsigned m = 0; !e && m < c.nmerged; m++)
		if (cid_set_add(s->named, &c.merged[m]) < 0)
			e = -ENOMEM;
	if (e)
		return s->error = e;
	s->cids[s->n] = *cid;
	s->seqs[s->n++] = c.seq;
	return 0;
}

/* Is anc in head's history (merge_contains through the store)?  Within
 * gc's boundary, as log and gc walk it: below it commits are gone (or
 * going), so a line ends there, and a block still stored below it is
 * never read (it can neither fail the walk nor be taken for history). */
static bool contains(struct fsck *f, const struct stored *s,
		     const struct cid *head, const struct cid *anc)
{
	return merge_contains_within(f->h.bs, &f->h.store.keys, head, anc,
				     s->bound) == 1;
}

/* The head the other devices published, as this store last saw it
 * (STORE/device, as history_open read it), or false. */
static bool peer_head(struct fsck *f, struct cid *peer)
{
	if (!f->h.device.has_peer) /* also none when it did not read */
		return false;
	*peer = f->h.device.peer;
	return true;
}

/*
 * The tip (a stored commit no other stored commit names as a parent) a
 * user of this device means, pass: 0 tips that contain want (NULL: any)
 * and are not another device's fetched line — in the history of the head
 * it published (STORE/device's peer) while this store's own line is
 * not; 1 any tip that contains want.  The highest seq of those (equal
 * seqs: smaller CID bytes), or -1.
 */
static long pick_tip(struct fsck *f, const struct stored *s,
		     const struct cid *want, const struct cid *peer, int pass)
{
	long best = -1;
	for (size_t i = 0; i < s->n; i++) {
		if (cid_set_has(s->named, &s->cids[i]))
			continue; /* not a tip: a newer stored commit has it */
		if (best >= 0 &&
		    (s->seqs[i] < s->seqs[best] ||
		     (s->seqs[i] == s->seqs[best] &&
		      cid_compare(&s->cids[i], &s->cids[best]) > 0)))
			continue;
		if (want && !contains(f, s, &s->cids[i], want))
			continue;
		if (pass == 0 && peer && contains(f, s, peer, &s->cids[i]))
			continue; /* the other device's line */
		best = (long)i;
	}
	return best;
}

/*
 * The last resort for a head: the commit a user of this device means
 * among those the store holds, not merely the highest seq (another
 * device's line fetched for a merge may hold a higher one without this
 * device's commits).  Only tips count (a merge of both lines is one tip,
 * holding both); of them this device's own newest, a tip outside the
 * other device's published line; else (this device's line is in it) the
 * newest tip.  want (may be NULL): only commits whose history holds it.
 */
bool fsck_find_newest(struct fsck *f, const struct cid *want,
		      struct cid *cid, struct commit *c)
{
	struct stored s = {.h = &f->h,
			   .buf = malloc(COMMIT_PLAIN_MAX + 64),
			   .named = cid_set_new(),
			   .bound = store_gc_boundary(&f->h.store, f->h.bs)};
	bool found = false;
	if (s.buf && s.named && bs_iterate(f->h.local, try_commit, &s) == 0 &&
	    !s.error) {
		struct cid peer;
		bool has_peer = peer_head(f, &peer);
		long i = pick_tip(f, &s, want, has_peer ? &peer : NULL, 0);
		if (i < 0)
			i = pick_tip(f, &s, want, NULL, 1);
		if (i >= 0 && history_commit(&f->h, &s.cids[i], c) == 0) {
			*cid = s.cids[i];
			found = true;
		}
	}
	free(s.buf);
	free(s.cids);
	free(s.seqs);
	cid_set_free(s.named);
	return found;
}

/* ---- the state files: a head or seen that is missing or damaged ---- */

/* From the state files that still read: a rebuilt head may not fall
 * below it. */
uint64_t fsck_accepted_top(const struct history *h)
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

/* The head rebuilt from STORE/seen.  Its journal generation is only a
 * lower bound (journal_first false, fs/store/head.h): a mount writes seen
 * after the head, and reusing a generation moves only the head, so the
 * older generations' files may be gone. */
static void head_of_seen(struct fsck *f, struct cid *start)
{
	const struct state_set *st = &f->h.store.state;
	f->plan.restore_head = true;
	f->plan.new_head = st->seen;
	f->plan.new_head.journal_first = false;
	f->plan.restore_why = "from STORE/seen";
	*start = st->seen.commit;
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
	if (!fsck_find_newest(f, NULL, &cid, &c))
		return false;
	uint64_t top = fsck_accepted_top(&f->h);
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
		head_of_seen(f, start);
		return true;
	}
	if (head_from_newest(f, start))
		return true;
	if (fsck_accepted_top(h) > 0) {
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
	/* Only a commit that holds the head can be where it was rolled back
	 * from; another device's line may have a higher seq. */
	if (fsck_find_newest(f, &st->head.commit, &cid, &c) &&
	    c.seq > st->head.seq) {
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
			.journal_gen = st->head.journal_gen, /* lower bound */
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
			head_of_seen(f, start);
		}
		check_seen(f, start);
		return true;
	}
	if (st->head_err == 0 && !seen_ok) /* a head with no commit yet */
		return st->seen_err == -EBADMSG && check_seen(f, start);
	return rebuild_head(f, start);
}

