/*
 * fs/store/journal_tail.h — what a journal replay found past the last
 * whole record, in the one set of words the mount's log and fsck share.
 *
 * journal_replay (fs/store/journal.h) counts two kinds of tail in its
 * stats: an unfinished write (unfinished_tail_bytes), which any crash
 * during an append leaves and whose call never returned, so it is no
 * damage; and a whole last record that does not open (the rest of
 * torn_tail_bytes), which no crash of ours leaves.  A read-write mount
 * cuts either off (JOURNAL_REPLAY_REPAIR_TAIL); a read-only mount and
 * fsck leave it for the next read-write mount.  The mount logs, and fsck
 * notes or reports, the same sentence, so a user who saw one finds the
 * other.  No I/O, no state.
 */
#ifndef IPMD_FS_STORE_JOURNAL_TAIL_H
#define IPMD_FS_STORE_JOURNAL_TAIL_H

#include <stdbool.h>
#include <stddef.h>

struct journal_replay_stats;

enum journal_tail {
	JOURNAL_TAIL_UNFINISHED, /* an unfinished write: a crash */
	JOURNAL_TAIL_UNOPENABLE, /* a whole record that does not open */
};

/*
 * The sentence for js's tail of kind which, into buf (size bytes,
 * NUL-terminated, cut short if small), starting "journal: ", without a
 * final stop.  cut: this replay cut it off; else it is left in place for
 * the next read-write mount.  False, with buf "", when js has no tail of
 * that kind.
 */
bool journal_tail_say(const struct journal_replay_stats *js,
		      enum journal_tail which, bool cut, char *buf,
		      size_t size);

#endif
