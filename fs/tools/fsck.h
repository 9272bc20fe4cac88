/*
 * fs/tools/fsck.h — the fsck engine: check a store, plan the repair, do it.
 *
 * What is checked and repaired is said in fs/cli/cmd_fsck.c's header (the
 * command the user reads); this engine does it, in four files by job:
 *   fsck_check.c  the whole check (fsck_check) and what it plans: the
 *                 head's damaged files, a rollback asked or to suggest
 *   fsck_state.c  the state files: which commit the check starts from,
 *                 a head or seen to rebuild (fsck_pick_head)
 *   fsck_tree.c   the checks of blocks, trees, the history and the journal
 *   fsck_repair.c the repairs of a plan (fsck_repair_files) and the
 *                 journal's replay into a commit, salvaging damaged files
 *                 (fsck_repair_replay)
 *
 * Nothing here prints.  Every line the user sees goes through io.say with
 * its kind (the CLI puts "fsck: " and the kind's word before it), and the
 * bar through io.bar_*; the CLI owns both.  A struct fsck is big (it holds
 * a struct history): keep it static or on the heap.
 *
 * Use: zero it, set deep/verbose/rollback_to and io, fsck_open, then
 * fsck_check (again after history_close/history_open on f->h to check a
 * repair), fsck_repair_files and fsck_repair_replay (after closing f->h:
 * the replay opens the mailbox as a mount would), fsck_free at the end.
 */
#ifndef IPMD_FS_TOOLS_FSCK_H
#define IPMD_FS_TOOLS_FSCK_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/store/head.h"
#include "fs/store/history.h"
#include "fs/tools/salvage.h"
#include "ipfs/cidset.h"

/* The kinds of line: the CLI prints "fsck: " WORD text on stdout, except
 * FSCK_SAY_ERROR (an operational failure, on stderr). */
enum fsck_say {
	FSCK_SAY_NOTE,         /* "fsck: text" */
	FSCK_SAY_DAMAGE,       /* "fsck: DAMAGE: text" (a problem counted) */
	FSCK_SAY_REPAIRED,     /* "fsck: REPAIRED: text" */
	FSCK_SAY_NOT_REPAIRED, /* "fsck: NOT REPAIRED: text" */
	FSCK_SAY_DROPPED,      /* "fsck: DROPPED: path" */
	FSCK_SAY_ERROR,        /* "fsck: text" as an error */
};

struct fsck_io {
	void (*say)(void *arg, enum fsck_say kind, const char *text);
	/* The bar while blocks are verified; each may be NULL. */
	void (*bar_start)(void *arg);
	void (*bar_tick)(void *arg, uint64_t bytes); /* a block verified */
	void (*bar_clear)(void *arg); /* before a line the bar would cover */
	void *arg;
};

/* What --repair would do, found by the check. */
struct fsck_plan {
	bool restore_head;     /* write head (and seen) = new_head */
	struct head new_head;
	const char *restore_why;
	bool rollback;         /* the head's commit or tree is damaged */
	struct cid rollback_cid;
	uint64_t rollback_seq, rollback_from;
	bool no_intact;        /* no intact commit to roll back to */
	bool explicit_rollback; /* --rollback-to: list what it drops */
	struct commit head_commit; /* the head's, when it read */
	bool head_commit_ok;
	bool salvage;          /* damaged files: move them aside (salvage.h) */
	struct cid salvage_parent; /* the newest commit below the head that
				      names none of their blocks; len 0:
				      none retained (the history is cut) */
	uint64_t salvage_parent_seq;
	bool journal_damage;   /* damaged files only the journal names */
	bool dir_damaged;      /* the head's folders do not load: only
				  --rollback-to repairs that */
	uint64_t suggest_seq;  /* the newest intact commit, for it */
	bool cut_chain;        /* history broken below cut_seq: cut there */
	struct cid cut_cid;
	uint64_t cut_seq;
	bool cut_journal;
	char journal_file[256];
	uint64_t journal_offset;
	/* The journal's end, cut at the next read-write mount (and by the
	 * replay): a last record that does not open (damage), an unfinished
	 * write (what a crash leaves, fs/store/journal.h), or both. */
	bool torn_tail;
	bool unfinished_tail;
	uint64_t journal_records; /* records that would be replayed */
	uint64_t journal_gap;  /* the first journal generation missing
				  (0: none): replayed across, lost */
};

struct fsck {
	struct history h;
	bool deep, mounted, verbose;
	bool node; /* blocks missing here are read from a node */
	unsigned problems;
	struct fsck_plan plan;
	struct cid_set *verified; /* blocks found intact */
	uint8_t *plain;
	uint64_t blocks, files;
	unsigned tree_bad; /* problems in the tree being checked */
	bool tree_loaded;  /* the last check_tree got past its folders */
	/* Damaged files of the head (and the journal over it), while
	 * collect is set: what --repair salvages. */
	struct salvage_list damaged;
	struct cid_set *bad_cids; /* their blocks that failed */
	bool collect;
	uint64_t rollback_to; /* --rollback-to SEQ; 0: none */
	struct fsck_io io;
};

/* Open STORE under ho for checking (ho->lock: READ, or EXCLUSIVE to
 * repair).  0, or -1 with why in msg. */
int fsck_open(struct fsck *f, const struct history_options *ho, char *msg,
	      size_t msize);

/* Check everything and fill f->plan and f->problems.  0, -ENOMEM, or
 * -ECANCELED when --rollback-to can't be done (said as FSCK_SAY_ERROR). */
int fsck_check(struct fsck *f);

/* Do what the plan says, except the journal's replay; the first error. */
int fsck_repair_files(struct fsck *f);

/* Replay the journal into a commit, exactly as a mount would, moving the
 * damaged files aside (fs/tools/salvage.h); f->h must be closed.  The
 * lines said name what the check found (f->plan: the journal's end cut,
 * the records replayed).  0, or -1 (said as FSCK_SAY_ERROR). */
int fsck_repair_replay(struct fsck *f, const struct history_options *ho);

void fsck_free(struct fsck *f);

#endif
