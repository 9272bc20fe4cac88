/*
 * fs/store/head.h — the local head: which commit is current, and the journal.
 *
 * STORE/head holds, sealed under the journal key (so only the mailbox key
 * reads it and nobody can edit it unnoticed):
 *   {"v":3,"commit":"bafk…"|null,"seq":N,"journal_gen":G,"max_seq":M,
 *    "journal_first":true|false}
 * commit/seq: the newest commit; journal_gen: the first journal generation
 * NOT covered by that commit (replay from here); max_seq: the highest seq
 * ever accepted here, for rollback protection; journal_first: G's file
 * was made before this head was written, and nothing deletes it before a
 * head names a later generation — so a replay that does not find it has
 * lost it (journal.h, JOURNAL_REPLAY_FIRST_HELD).  False where G is only
 * a lower bound: a new store's head (no journal yet), a head fsck rebuilt
 * or moved (it may be an old copy put back, whose generation's file a
 * later commit dropped), and every head of an older version.
 * STORE/seen and STORE/pruned (fs/store/history.h) are the same record,
 * written as "v":2 (no journal_first: see Versions).
 * Written atomically: temp file, fsync, rename, fsync of the directory.
 *
 * Versions: "v":3 adds journal_first, and is what STORE/head is written
 * as.  Seen and pruned are written as "v":2, which every typed release
 * reads: a release before "v":3 finds only the head damaged, and its
 * fsck --repair rebuilds it from seen, keeping max_seq and pruned (a
 * "v":3 seen would leave it only the newest commit to go by).  Any file
 * may be read as "v":3 (the release before this wrote all three so; a
 * commit rewrites seen as "v":2).  A "v":2
 * head (typed, no journal_first) reads with journal_first false: those
 * versions dropped the empty generations below the one a mount reused
 * without moving journal_gen up, so their first file can lie above G.
 * A read-write mount writes the head again (mount_replay.c), after which
 * it holds.
 *
 * Typed and untyped files
 *  - Each of the three is sealed as its own kind (BLOCK_STATE_HEAD, _SEEN,
 *    _PRUNED: crypto/format.h), so the kind is in the AAD and a seen copied
 *    over the head does not open as a head.  Their JSON says "v":2 or 3.
 *    ("v":3 since journal_first; a "v":2 file is typed as well.)
 *  - Releases before that sealed all three as BLOCK_JOURNAL, "v":1
 *    ("untyped").  They still read, but only while no head or seen of the
 *    store is typed (state_read): once a typed one is written, an untyped
 *    file is an old copy put back, and reads as damaged.  A writer rewrites
 *    untyped files typed (state_upgrade) when it takes the store.
 */
#ifndef IPMD_FS_STORE_HEAD_H
#define IPMD_FS_STORE_HEAD_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/format.h"
#include "ipfs/cid.h"
#include "util/attr.h"

/* Largest head JSON a reader accepts (a real one is ~150 bytes). */
#define HEAD_PLAIN_MAX 4096
/* Largest plaintext of any state file (head, seen, pruned, device). */
#define STATE_FILE_PLAIN_MAX 4096

struct head {
	struct cid commit; /* len 0: no commit yet */
	uint64_t seq;
	uint64_t journal_gen;
	uint64_t max_seq;
	bool journal_first; /* journal_gen's file must exist (above) */
};

/* journal_replay's flags (fs/store/journal.h) for a replay from
 * h->journal_gen: JOURNAL_REPLAY_FIRST_HELD when h->journal_first. */
unsigned head_replay_flags(const struct head *h);

/*
 * Read the state file of kind `kind` (BLOCK_STATE_*).  -ENOENT when there
 * is none, -EBADMSG when it does not open as that kind or is malformed.
 * untyped == NULL: only a typed file is accepted; otherwise an untyped one
 * is accepted too and *untyped tells which it was.
 */
IPMD_MUST_CHECK
int head_read(const char *path, const uint8_t key[IPMD_KEY_BYTES],
	      enum block_kind kind, struct head *h, bool *untyped);
/* Write it typed, as kind.  0 or negative errno. */
int head_write(const char *path, const uint8_t key[IPMD_KEY_BYTES],
	       enum block_kind kind, const struct head *h);

/* A new head accepted here: head, then seen (the order state_read relies
 * on; a crash between them leaves seen one behind, which a reader takes).
 * 0 or negative errno; *failed (may be NULL) says which write failed:
 * STATE_FAILED_HEAD, nothing changed; STATE_FAILED_SEEN, the head is
 * written and holds (seen one behind, as after a crash between them). */
enum state_failed { STATE_FAILED_NONE, STATE_FAILED_HEAD, STATE_FAILED_SEEN };
int state_advance(const char *head_path, const char *seen_path,
		  const uint8_t key[IPMD_KEY_BYTES], const struct head *h,
		  enum state_failed *failed);

/*
 * The state files' way of storing (head above, fs/store/device.h): plain
 * sealed as kind under key (crypto/seal.h), written atomically — a temp
 * file, fsync, rename, fsync of the directory.  -EOVERFLOW past
 * STATE_FILE_PLAIN_MAX.  state_file_load reads the sealed bytes back, at
 * most cap: -ENOENT, -EBADMSG when larger than cap or shorter than a seal.
 */
int state_file_write(const char *path, const uint8_t key[IPMD_KEY_BYTES],
		     enum block_kind kind, const uint8_t *plain, size_t len);
IPMD_MUST_CHECK
int state_file_load(const char *path, uint8_t *sealed, size_t cap,
		    size_t *len);

/* The three state files of a store, as a reader should take them. */
struct state_set {
	struct head head, seen, pruned; /* zeroed when not read */
	int head_err, seen_err, pruned_err; /* 0, -ENOENT, -EBADMSG */
	bool untyped; /* some file read as untyped: upgrade when writing */
};

/*
 * Read head, seen and pruned (pruned_path may be NULL), applying the rule
 * above: untyped files count only while neither head nor seen is typed.
 * seen is read first: a mount writes head, then seen, so a commit landing
 * between the reads can't make a current head look older than seen.
 */
void state_read(const char *head_path, const char *seen_path,
		const char *pruned_path, const uint8_t key[IPMD_KEY_BYTES],
		struct state_set *s);

/* Rewrite the untyped files of s typed (pruned, then seen, then head, so
 * a crash part-way leaves a typed seen beside an untyped head: fsck
 * --repair rebuilds that head from seen).  0 or negative errno. */
int state_upgrade(const char *head_path, const char *seen_path,
		  const char *pruned_path, const uint8_t key[IPMD_KEY_BYTES],
		  struct state_set *s);

/*
 * Is the state of a store safe to build on?  store_has_data: the store
 * holds blocks, journal records or a seen/pruned file (store_has_data()).
 * 0 when it is; else a problem (never written as a number):
 *   STATE_HEAD_MISSING  no head, yet the store holds mail: mounting would
 *                       start an empty mailbox over it
 *   STATE_HEAD_DAMAGED  the head does not open (or is an untyped copy)
 *   STATE_HEAD_EMPTY    a head with no commit, while seen names one
 *   STATE_SEEN_DAMAGED  seen does not open: rollback protection is gone
 *   STATE_SEEN_MISSING  the head names a commit but there is no seen
 */
enum state_problem {
	STATE_OK = 0,
	STATE_HEAD_MISSING,
	STATE_HEAD_DAMAGED,
	STATE_HEAD_EMPTY,
	STATE_SEEN_DAMAGED,
	STATE_SEEN_MISSING,
};
IPMD_MUST_CHECK
enum state_problem state_check(const struct state_set *s,
			       bool store_has_data);
/* One sentence for the problem, naming the repair; "" for STATE_OK. */
const char *state_problem_text(enum state_problem p);

/*
 * The rollback check of the commit h names, whose own seq is commit_seq:
 * it must be h's seq and no lower than the highest seq accepted here —
 * h->max_seq, and seen's (STORE/seen, NULL if unreadable), so a head file
 * swapped for an older copy still meets the seen file.  *accepted gets
 * that highest seq (for the refusal's message); true when the commit
 * passes.
 */
IPMD_MUST_CHECK
bool head_accepts(const struct head *h, const struct head *seen,
		  uint64_t commit_seq, uint64_t *accepted);

#endif
