/*
 * fs/tools/fsck_int.h — what the fsck engine's files share among
 * themselves (fsck.h is the contract for everyone else).
 */
#ifndef IPMD_FS_TOOLS_FSCK_INT_H
#define IPMD_FS_TOOLS_FSCK_INT_H

#include "fs/tools/fsck.h"

/* A line for the user (fsck.h: enum fsck_say). */
void fsck_say(struct fsck *f, enum fsck_say kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A problem: the bar cleared, a DAMAGE line, counted. */
void fsck_problem(struct fsck *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A plain line. */
void fsck_note(struct fsck *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void fsck_bar_clear(struct fsck *f);
void fsck_bar_tick(struct fsck *f, uint64_t bytes);

/* Why a read failed, naming the block: the store's failure if it had one
 * (missing, altered), else the block's own (does not open).  Returns
 * the error it names. */
int fsck_why(struct fsck *f, const struct cid *hint, int err, char *text,
	     size_t tsize, char *cid_text);

/* fsck_tree.c: one commit's tree (the number of problems in it), the
 * history from start into l (every commit of the DAG, dag_walk order),
 * the journal over base, from the generation from names (head.h). */
unsigned fsck_check_tree(struct fsck *f, const struct cid *cid,
			 const struct commit *c, struct fs_tree **keep);
int fsck_check_chain(struct fsck *f, const struct cid *start,
		     struct commit_list *l);
void fsck_check_journal(struct fsck *f, const struct commit *base,
			const struct head *from);

/* fsck_state.c: the commit of the store a user of this device means as
 * its newest (want, may be NULL: one whose history holds it); which
 * commit the check starts from (false: none, a new mailbox). */
bool fsck_find_newest(struct fsck *f, const struct cid *want,
		      struct cid *cid, struct commit *c);
bool fsck_pick_head(struct fsck *f, struct cid *start);
/* The highest seq h's store is known to have accepted: its head's and
 * seen's max_seq and gc's boundary (STORE/pruned), those that read. */
uint64_t fsck_accepted_top(const struct history *h);

#endif
