/* fs/tools/fsck_tree.c — fsck's checks of blocks, trees, the chain and the
 * journal (see fsck.h). */
#include "fs/tools/fsck_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs/model/reach.h"
#include "fs/store/journal.h"
#include "fs/store/journal_tail.h"

/* ---- blocks of a tree ---- */

/* A damaged file of the head: what --repair will move aside.  Only a
 * block that is gone or does not open here is damage.  Any other failure
 * (a node that does not answer or does not find it in time, EIO) may
 * pass, and moving the file would drop the blocks that still hold it.
 * So does a node's own answer for a block not here (cache/outbox.h: it
 * says it lacks it, or sends bytes that do not hash): a --node naming
 * the wrong node, a node restarted empty or offline, a proxy answering
 * for it mid-restart; the repair would overwrite the file with a report
 * (salvage.h) on the word of a node that may not be the one holding it. */
static int collect(struct fsck *f, const struct reach_block *b, int err,
		   const char *kind, const char *ctext, const char *text)
{
	if (!f->collect)
		return 0;
	if ((err == -ENOENT || err == -EBADMSG) && f->node &&
	    bs_has(f->h.local, b->cid) == 0) {
		fsck_note(f,
			  "%s: not here, and the node's answer is no proof it "
			  "is lost: --repair leaves it in place (check the "
			  "node, or run without --node)",
			  b->path);
		return 0;
	}
	if (err != -ENOENT && err != -EBADMSG) {
		fsck_note(f,
			  "%s: a read error, not damage: --repair leaves it in "
			  "place (run again when the store or node answers)",
			  b->path);
		return 0;
	}
	if (!f->bad_cids && !(f->bad_cids = cid_set_new()))
		return -ENOMEM;
	if (cid_set_add(f->bad_cids, b->cid) < 0)
		return -ENOMEM;
	char why[SALVAGE_WHY_MAX];
	if (snprintf(why, sizeof(why), "%s %s %s", kind, ctext, text) >=
	    (int)sizeof(why))
		why[sizeof(why) - 1] = '\0'; /* a shorter reason is enough */
	return salvage_add(&f->damaged, b->path, why);
}

static int verify_block(const struct reach_block *b, void *arg)
{
	struct fsck *f = arg;
	char text[128], ctext[CID_TEXT_MAX];
	if (b->error) {
		int err = fsck_why(f, b->cid, b->error, text, sizeof(text),
				   ctext);
		fsck_problem(f, "file %s: index block %s: %s", b->path, ctext,
			     text);
		f->tree_bad++;
		return collect(f, b, err, "index block", ctext, text);
	}
	f->blocks++;
	fsck_bar_tick(f, b->chunk ? b->chunk->size : 0);
	if (b->kind != BLOCK_CHUNK)
		return 0; /* directories and indexes opened on the way */
	history_clear_bad(&f->h);
	size_t len;
	int e = obj_open_chunk(&f->h.st, b->chunk, f->plain, &len);
	if (e) {
		e = fsck_why(f, b->cid, e, text, sizeof(text), ctext);
		fsck_problem(f, "file %s: chunk %s: %s", b->path, ctext, text);
		f->tree_bad++;
		return collect(f, b, e, "chunk", ctext, text);
	}
	return 0;
}

static const char *kind_name(enum block_kind k)
{
	return k == BLOCK_CHUNK	    ? "chunk"
	       : k == BLOCK_INDEX     ? "index"
	       : k == BLOCK_DIRECTORY ? "directory"
				      : "block";
}

/* --verbose: one line per block, for an admin who wants to see (and for
 * tests that need to know which block file holds what). */
static int verify_block_verbose(const struct reach_block *b, void *arg)
{
	struct fsck *f = arg;
	unsigned before = f->problems;
	int r = verify_block(b, arg);
	char ctext[CID_TEXT_MAX];
	cid_format(b->cid, ctext, sizeof(ctext));
	if (f->problems == before)
		fsck_say(f, FSCK_SAY_NOTE,
			 "ok %s %s %s",
			 kind_name(b->kind), ctext, b->path);
	return r;
}

/* Check one commit's tree; returns the number of problems found in it. */
unsigned fsck_check_tree(struct fsck *f, const struct cid *cid,
			 const struct commit *c, struct fs_tree **keep)
{
	char text[128], ctext[CID_TEXT_MAX];
	struct fs_tree *t = NULL;
	f->tree_bad = 0;
	f->tree_loaded = false;
	history_clear_bad(&f->h);
	int e = history_tree(&f->h, c, &t);
	if (e) {
		fsck_why(f, &c->tree.cid, e, text, sizeof(text), ctext);
		fsck_problem(f,
			     "commit %llu: directory node %s: %s",
			     (unsigned long long)c->seq, ctext, text);
		return 1;
	}
	f->tree_loaded = true;
	uint64_t before = f->blocks;
	if (f->verbose) {
		char ctext2[CID_TEXT_MAX];
		cid_format(cid, ctext2, sizeof(ctext2));
		fsck_say(f, FSCK_SAY_NOTE,
			 "ok commit %s %llu",
			 ctext2, (unsigned long long)c->seq);
	}
	e = reach_tree(&f->h.st, t, f->verified,
		       f->verbose ? verify_block_verbose : verify_block, f);
	if (e) {
		fsck_problem(f,
			     "commit %llu: walking its tree: %s",
			     (unsigned long long)c->seq, strerror(-e));
		f->tree_bad++;
	}
	cid_format(cid, ctext, sizeof(ctext));
	fsck_bar_clear(f);
	if (!f->tree_bad)
		fsck_note(f,
			  "commit %llu (%s): %llu more blocks verified",
			  (unsigned long long)c->seq, ctext,
			  (unsigned long long)(f->blocks - before));
	if (keep && !f->tree_bad)
		*keep = t;
	else
		tree_free(t);
	return f->tree_bad;
}

/* ---- the history ---- */

/* What is wrong with the commit a walk stopped at, in text. */
static void chain_problem(struct fsck *f, const struct chain_stop *stop,
			  int e, char *text, size_t tsize, char *ctext)
{
	fsck_why(f, &stop->at, e, text, tsize, ctext);
	if (e == -EPROTO && stop->parentless)
		snprintf(text, tsize,
			 "has no parent but seq %llu (a first commit is seq 1)",
			 (unsigned long long)stop->got_seq);
	else if (e == -EPROTO)
		snprintf(text, tsize,
			 "has seq %llu, not below its child's %llu",
			 (unsigned long long)stop->got_seq,
			 (unsigned long long)stop->want_seq + 1);
}

/*
 * Every commit the head reaches, each edge checked (dag_walk): the
 * history is cut (plan.cut_chain) where it breaks — at the child of a
 * parent that fails (the child of highest seq: the walk reaches a parent
 * from it first), or at a parentless commit that is not seq 1 — so that
 * everything below that seq leaves the history (STORE/pruned).
 */
int fsck_check_chain(struct fsck *f, const struct cid *start,
		     struct commit_list *l)
{
	struct chain_stop stop;
	char ctext[CID_TEXT_MAX], text[128];
	history_clear_bad(&f->h);
	struct walk_ends we = history_ends(&f->h);
	int e = dag_walk_ends(f->h.bs, &f->h.store.keys, start, &we, 0,
			      commit_list_add, l, &stop);
	if (e == -ENOMEM)
		return e;
	if (e) {
		chain_problem(f, &stop, e, text, sizeof(text), ctext);
		if (l->n == 0)
			fsck_problem(f, "the head commit %s: %s", ctext, text);
		else if (!stop.child.len)
			fsck_problem(f, "history broken at commit %s: it %s",
				     ctext, text);
		else
			fsck_problem(f,
				     "commit chain broken below commit %llu: "
				     "its %s %s %s",
				     (unsigned long long)stop.want_seq + 1,
				     stop.merged ? "merged parent" : "parent",
				     ctext, text);
		if (l->n > 0) {
			f->plan.cut_chain = true;
			f->plan.cut_cid = stop.child.len ? stop.child : stop.at;
			f->plan.cut_seq = stop.child.len ? stop.want_seq + 1
							 : stop.got_seq;
		}
	}
	if (l->n)
		fsck_note(f,
			  "history: %zu commits (%llu merge%s), seq %llu down "
			  "to %llu%s",
			  l->n, (unsigned long long)stop.merges,
			  stop.merges == 1 ? "" : "s",
			  (unsigned long long)l->commits[0].seq,
			  (unsigned long long)l->commits[l->n - 1].seq,
			  stop.pruned && stop.fetched
				  ? " (older ones freed by gc, here and on "
				    "another device)"
			  : stop.pruned ? " (older ones freed by gc)"
			  : stop.fetched ? " (older ones freed by another "
					   "device's gc)"
					 : "");
	return 0;
}

/* ---- the journal ---- */

struct replay {
	struct fs_tree *tree;
	uint64_t applied, skipped, blocks;
	int bad; /* a block record that does not fit */
};

static int replay_result(void *arg, bool block, const struct cid *cid, int e)
{
	(void)cid;
	struct replay *r = arg;
	if (block) {
		if (e)
			return e;
		r->blocks++;
		return 0;
	}
	if (e == -EBADMSG)
		return e;
	if (e)
		r->skipped++;
	else
		r->applied++;
	return 0;
}

void fsck_check_journal(struct fsck *f, const struct commit *base,
			const struct head *from)
{
	if (f->mounted) {
		fsck_note(f,
			  "journal: not checked: the mailbox is mounted and "
			  "writing it");
		return;
	}
	struct replay r = {0};
	int e = base ? history_tree(&f->h, base, &r.tree)
		     : tree_new(&r.tree, getuid(), getgid(),
				&(struct timespec){0, 0});
	if (e) {
		fsck_note(f,
			  "journal: not checked: no intact tree to replay it "
			  "over");
		return;
	}
	struct journal_replay_stats js;
	e = history_replay_journal(&f->h, r.tree, from, replay_result, &r, &js);
	if (e == -EBADMSG) {
		fsck_problem(f,
			     "journal %s: the record at offset %llu does not "
			     "open or is malformed (%llu records before it are "
			     "fine)",
			     js.bad_file, (unsigned long long)js.bad_offset,
			     (unsigned long long)js.records);
		f->plan.cut_journal = true;
		snprintf(f->plan.journal_file, sizeof(f->plan.journal_file),
			 "%s", js.bad_file);
		f->plan.journal_offset = js.bad_offset;
	} else if (e) {
		fsck_problem(f, "journal: %s", strerror(-e));
	}
	/* Replayed across (as --repair will): the records after it may need
	 * the lost ones, and are skipped if so. */
	if (js.missing_gen) {
		fsck_problem(f,
			     "journal generation %llu is missing (%016llx%s; "
			     "%llu generation%s missing in all): any changes "
			     "it held are lost; --repair replays the others",
			     (unsigned long long)js.missing_gen,
			     (unsigned long long)js.missing_gen,
			     JOURNAL_SUFFIX,
			     (unsigned long long)js.missing_gens,
			     js.missing_gens == 1 ? "" : "s");
		f->plan.journal_gap = js.missing_gen;
	}
	/* A head that does not vouch for its first generation's file
	 * (fs/store/head.h, journal_first): what is not checked. */
	if (!e && base && !from->journal_first)
		fsck_note(f,
			  "journal: the head (from an older version, or "
			  "rebuilt) does not record that generation %llu's "
			  "file must be there, so its loss could not be "
			  "seen; the next read-write mount records it",
			  (unsigned long long)from->journal_gen);
	/* An unfinished write is what any crash mid-append leaves, and its
	 * call had not returned: not damage (fs/store/journal.h).  A whole
	 * record that does not open no crash of ours leaves: damage.  Either
	 * is cut by a read-write mount only, in the same words
	 * (fs/store/journal_tail.h). */
	char said[512];
	if (!e && journal_tail_say(&js, JOURNAL_TAIL_UNFINISHED, false, said,
				   sizeof(said)))
		fsck_note(f, "%s", said);
	bool unopenable = !e && journal_tail_say(&js, JOURNAL_TAIL_UNOPENABLE,
						 false, said, sizeof(said));
	if (unopenable)
		fsck_problem(f, "%s", said);
	if (unopenable)
		f->plan.torn_tail = true;
	if (!e && js.unfinished_tail_bytes)
		f->plan.unfinished_tail = true;
	f->plan.journal_records = r.applied + r.skipped;
	if (!e && js.records)
		fsck_note(f,
			  "journal: %llu files, %llu records (%llu blocks "
			  "carried in it): %llu changes replay over commit "
			  "%llu, %llu skipped (failed live too)",
			  (unsigned long long)js.files,
			  (unsigned long long)js.records,
			  (unsigned long long)r.blocks,
			  (unsigned long long)r.applied,
			  (unsigned long long)(base ? base->seq : 0),
			  (unsigned long long)r.skipped);
	else if (!e)
		fsck_note(f, "journal: empty");
	/* What the replayed tree names beyond the commit must be there. */
	if (!e && r.applied) {
		f->tree_bad = 0;
		e = reach_tree(&f->h.st, r.tree, f->verified, verify_block, f);
		if (e)
			fsck_problem(f,
				     "journal: walking the replayed tree: %s",
				     strerror(-e));
	}
	tree_free(r.tree);
}

