/*
 * fs/head.h — the local head: which commit is current, and the journal.
 *
 * STORE/head holds, sealed under the journal key (BLOCK_JOURNAL, so only the
 * mailbox key reads it and nobody can edit it unnoticed):
 *   {"v":1,"commit":"bafk…"|null,"seq":N,"journal_gen":G,"max_seq":M}
 * commit/seq: the newest commit; journal_gen: the first journal generation
 * NOT covered by that commit (replay from here); max_seq: the highest seq
 * ever accepted here, for rollback protection.
 * Written atomically: temp file, fsync, rename, fsync of the directory.
 */
#ifndef IPMD_FS_HEAD_H
#define IPMD_FS_HEAD_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/format.h"
#include "ipfs/cid.h"

/* Largest head JSON a reader accepts (a real one is ~150 bytes). */
#define HEAD_PLAIN_MAX 4096

struct head {
	struct cid commit; /* len 0: no commit yet */
	uint64_t seq;
	uint64_t journal_gen;
	uint64_t max_seq;
};

/* -ENOENT when there is no head file (a new mailbox), -EBADMSG when it does
 * not open or is malformed. */
int head_read(const char *path, const uint8_t key[IPMD_KEY_BYTES],
	      struct head *h);
int head_write(const char *path, const uint8_t key[IPMD_KEY_BYTES],
	       const struct head *h);

/*
 * The rollback check of the commit h names, whose own seq is commit_seq:
 * it must be h's seq and no lower than the highest seq accepted here —
 * h->max_seq, and seen's (STORE/seen, NULL if unreadable), so a head file
 * swapped for an older copy still meets the seen file.  *accepted gets
 * that highest seq (for the refusal's message); true when the commit
 * passes.
 */
bool head_accepts(const struct head *h, const struct head *seen,
		  uint64_t commit_seq, uint64_t *accepted);

#endif
