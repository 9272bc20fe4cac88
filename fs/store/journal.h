/*
 * fs/store/journal.h — the write-ahead journal of namespace changes.
 *
 * What an MDA was told succeeded (a rename, a link, an fsync) is in the
 * journal, fsync'ed, before the call returns; mount replays the journal over
 * the last commit.  Records are opaque payloads to this module (fs/ encodes
 * them); each is sealed under the journal key (BLOCK_JOURNAL, random nonce),
 * so the journal reveals neither names nor keys nor content.
 *
 * Files: DIR/<gen, 16 lower-case hex digits>.jnl, one per generation.  A
 * commit starts a new generation (journal_rotate); the head file records the
 * first generation not covered by the commit, and older files are deleted
 * (journal_drop_before) once the head is durable.
 *
 * File layout: header "ipmdjnl1" ‖ gen u64be, then records:
 *   len u32be ‖ sealed(gen u64be ‖ seq u64be ‖ payload)
 * seq counts records from 0 within a generation.  Binding gen and seq inside
 * the sealed bytes means records can't be moved between files or reordered
 * unnoticed.
 *
 * Durability: journal_append(…, sync=true) returns after fdatasync covers
 * the record.  Concurrent sync appends share one fdatasync (group commit):
 * one thread syncs, the others wait for it.  A failed write (ENOSPC …) is
 * cut off again (ftruncate to the last good end), so the file never holds a
 * partial record that later records would follow.
 *
 * Replay: every file with gen ≥ from_gen in order; within a file, records in
 * order.  The tail of the journal is the end of the last file, or of the
 * one before it when the last holds at most a header and is exactly the
 * next generation after a file with records: what a rotation had created
 * when a crash stopped an append to the file before (creating the next
 * file does not wait for appends to the current one, but a rotation syncs
 * the current file before a later one is made, so only one such file can
 * follow).  There a damaged final record is a torn write: it is cut off
 * (with JOURNAL_REPLAY_REPAIR_TAIL) and counted, not an error.  Torn writes are of two
 * kinds:
 *  - unfinished: the file ends inside the record's length field or body,
 *    and no record of this generation opens in the cut (as a later one,
 *    or as this one taken to the end: a damaged length field); or
 *    everything from the length field on is zeros (a file size that got
 *    ahead of its data); or the last file ends inside its header, unless
 *    a gap in generations comes before it.  One pwrite that a SIGKILL or
 *    a power cut stopped leaves this; nothing after it was written, so
 *    nothing acknowledged is lost.  Synced records zeroed to the end, or
 *    a next generation cut to its header, look the same: the format has
 *    no sync marker to tell them apart.  Looking for a record in a cut
 *    costs a MAC per offset whose bytes read as a length that fits: a
 *    cut whose candidates add up to more than JOURNAL_CUT_OPEN_MAX bytes
 *    (a pattern, never a crash's random ciphertext) is damage, not
 *    unfinished.
 *  - unopenable: a whole record that does not open.  A SIGKILL cannot
 *    leave one (the kernel copies a write's pages in order), so it may be
 *    damage; it is cut all the same, as nothing can read it.
 * Anything else that fails to open or is out of order is -EBADMSG with
 * the file and offset in the stats: corruption is reported, never skipped.
 *
 * Missing generations: the files replayed (gen ≥ from_gen) must be
 * consecutive.  Every file is created as the next generation after the
 * newest (journal_rotate, or a mount's open of head gen / newest + 1), and
 * journal_drop_before deletes in ascending order, so what a crash leaves
 * of a drop is a run ending at the newest file.  A hole between two files
 * replayed is a lost file and its records (acknowledged fsyncs) with it:
 * -ENODATA with stats->missing_gen, before any record is replayed or any
 * file changed.  Not a hole: generations below from_gen (committed, their
 * deletion pending).  The first generation, from_gen itself, is checked
 * only with JOURNAL_REPLAY_FIRST_HELD: the head that names it says its
 * file was made before the head was written (fs/store/head.h,
 * journal_first; a mount that replays nothing and reuses a newer empty
 * generation moves the head up to it before it drops the older ones).
 * Then no file of from_gen (a later one first, or none at all, or no
 * dir) is a hole too, from from_gen up to the first file present.
 * Without the flag (a head of an older version, which dropped the empty
 * generations below the one it reused and kept naming the oldest), any
 * generations missing before the first file replayed are not a hole, so
 * a lost first generation goes unnoticed there.  Nothing tells a lost
 * newest generation (no later file, no marker): not detected.
 *
 * Thread safety: a struct journal may be used from several threads.
 */
#ifndef IPMD_FS_STORE_JOURNAL_H
#define IPMD_FS_STORE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/format.h"
#include "util/attr.h"

#define JOURNAL_MAGIC "ipmdjnl1"
#define JOURNAL_HEADER_BYTES 16
#define JOURNAL_RECORD_MAX (1024 * 1024) /* payload bytes */
#define JOURNAL_SUFFIX ".jnl"
#define JOURNAL_GEN_DIGITS 16           /* lower-case hex in the file name */
#define JOURNAL_LEN_BYTES 4             /* the u32be length before a record */
#define JOURNAL_PREFIX_BYTES 16         /* sealed gen ‖ seq before payload */
/* Bounds of the length field: what a reader accepts. */
#define JOURNAL_SEALED_MIN (JOURNAL_PREFIX_BYTES + IPMD_SEAL_OVERHEAD)
#define JOURNAL_SEALED_MAX (JOURNAL_SEALED_MIN + JOURNAL_RECORD_MAX)
/* The most sealed bytes replay opens to look for a record in one cut
 * (see "unfinished" above). */
#define JOURNAL_CUT_OPEN_MAX (64u << 20)

struct journal;

/*
 * Open generation gen in dir for appending (creating dir and the file as
 * needed; an existing file is appended to after its last valid record).
 * The key is copied.  0 or negative errno (-EBADMSG: the existing file is
 * corrupt before its tail; a torn tail is cut off and fsync'ed).
 */
IPMD_MUST_CHECK
int journal_open(const char *dir, const uint8_t key[IPMD_KEY_BYTES],
		 uint64_t gen, struct journal **out);
/* Sync and close; NULL is fine. */
int journal_close(struct journal *j);

/*
 * Append one record.  sync: return only once it is durable.
 * -EMSGSIZE if len > JOURNAL_RECORD_MAX; a failed write (-ENOSPC …) leaves
 * the file as it was, and a later append may succeed.  A failed fdatasync
 * is sticky (the kernel may have dropped the dirty pages): every later call
 * returns -EIO; close and reopen (which rescans the file) to go on.
 */
int journal_append(struct journal *j, const uint8_t *payload, size_t len,
		   bool sync);
/* Make every record appended so far durable. */
int journal_sync(struct journal *j);

/* Counters since journal_open, for tests and `ipmaildir status`. */
struct journal_stats {
	uint64_t appends;      /* records appended (all generations) */
	uint64_t sync_appends; /* of which with sync=true */
	uint64_t syncs;        /* fdatasync calls made */
};
void journal_stats(struct journal *j, struct journal_stats *out);

/* Start generation new_gen (> current): later appends go to the new file,
 * which is created and fsync'ed (with its directory) before this returns. */
int journal_rotate(struct journal *j, uint64_t new_gen);
uint64_t journal_gen(struct journal *j);
/* Records appended to the current generation so far. */
uint64_t journal_records(struct journal *j);

/* Delete files of generations < gen in dir, oldest first (so that a
 * crash midway leaves no hole, see Replay above). */
int journal_drop_before(const char *dir, uint64_t gen);

struct journal_replay_stats {
	uint64_t files, records;
	uint64_t torn_tail_bytes;   /* cut off (or to cut) at the end */
	/* Of torn_tail_bytes, those of unfinished writes (see above): what a
	 * crash leaves.  The rest is a record that does not open. */
	uint64_t unfinished_tail_bytes;
	uint64_t last_gen;          /* highest generation replayed (0: none) */
	/* Generations missing between two files replayed: the lowest, and
	 * how many in all (saturating); 0: none. */
	uint64_t missing_gen, missing_gens;
	char bad_file[256];         /* file name (within dir) of corruption */
	uint64_t bad_offset;
};

/* Called once per record; a non-zero return stops the replay with it. */
typedef int (*journal_replay_fn)(uint64_t gen, uint64_t seq,
				 const uint8_t *payload, size_t len,
				 void *arg);

/* journal_replay's flags. */
#define JOURNAL_REPLAY_REPAIR_TAIL 1u /* truncate a torn tail of the last
					 file */
#define JOURNAL_REPLAY_ACROSS_GAPS 2u /* replay on past missing generations
					 (counted in stats): fsck --repair,
					 once it has said their records are
					 lost */
#define JOURNAL_REPLAY_FIRST_HELD 4u  /* from_gen's file must be there
					 (head.journal_first; see Missing
					 generations above) */

/*
 * Replay every record of generations ≥ from_gen.  flags: the
 * JOURNAL_REPLAY_* above.  0, -EBADMSG (corruption, see stats), -ENODATA (a
 * generation is missing, stats->missing_gen; nothing replayed), or an error
 * from fn or the file system.  A missing dir replays nothing (0; with
 * JOURNAL_REPLAY_FIRST_HELD, from_gen is missing).
 * The payload is valid only during the call.  stats may be NULL.
 *
 * A file shorter than the header whose bytes are a prefix of it is a
 * creation cut short by a crash: it holds no records and is not an error.
 * After a crash, replay with JOURNAL_REPLAY_REPAIR_TAIL (or reopen the last generation,
 * which cuts its torn tail too) before starting a newer generation: a torn
 * tail that a later file with records (or any file but the next
 * generation's) follows is corruption.
 */
IPMD_MUST_CHECK
int journal_replay(const char *dir, const uint8_t key[IPMD_KEY_BYTES],
		   uint64_t from_gen, unsigned flags, journal_replay_fn fn,
		   void *arg, struct journal_replay_stats *stats);

#endif
