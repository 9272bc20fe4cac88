/*
 * fs/mount/file.h — the content of a regular file while it is being written.
 *
 * A file's committed content is an immutable object (inode.content).  The
 * first write, or truncate, attaches a struct file_state: the object's
 * chunk list plus at most FILE_DIRTY_MAX plaintext chunk buffers.  A chunk
 * buffer is sealed as soon as a write fills it to its end (streams never
 * hold more than one chunk, unless that seal failed: the buffer stays, and
 * the next seal retries it), or when the buffer table is full, and all of
 * them by file_seal (fsync, close, rename out of tmp/).  Plaintext never
 * touches the disk; memory per file is bounded by FILE_DIRTY_MAX chunks.
 * A buffer holds only the bytes of its chunk up to the furthest written
 * (or loaded), grown by doubling up to the chunk size; the rest read as
 * zeros.  So a small file costs what it holds, not a chunk to allocate,
 * clear and wipe.
 *
 * Invariant: every chunk in the list but the last is exactly
 * st->chunk_size bytes, and the chunks cover [0, size): a hole or an
 * extension is materialised as zero bytes (sealed zero chunks dedup to one
 * block per mailbox).
 *
 * Convergence scope: a file_state seals under its file's scope
 * (obj_store_scoped, fs/model/object.h), salted with the id it was made with:
 * the inode number, unique in the mailbox and never reused.  So every
 * state of one inode — across closes, remounts and journal replays, under
 * any of its names — keys equal chunks alike, and a chunk rewritten
 * unchanged is the block it was; another file's equal chunk never is.
 * Under OBJ_SCOPE_MAILBOX the id plays no part.
 *
 * Thread safety: a file_state has its own mutex; every function here takes
 * it.  Nothing here touches the tree: the caller copies size and content
 * into the inode under its own lock.
 *
 * Tails (docs/ARCHITECTURE.md, "Append-friendly tails"): a state knows
 * the durable point, how much of the file the journal holds (the content
 * it was made from or last sealed, and the appends journaled since), and
 * the lowest offset changed since.  When everything changed lies past the
 * durable point (the file only grew), the new bytes can be journaled as
 * append records instead of re-sealing the tail chunk: file_tail_take
 * hands them out, file_tail_done moves the durable point once (or as far
 * as) the records are in the journal.  The state stays modified: the next commit seals it.
 *
 * Lifetime: the owner (the inode, fs/mount/mount.h) frees a state only
 * when file_state_idle says nothing needs it.  A call that uses the state
 * outside the owner's lock holds it (file_state_hold, then
 * file_state_unhold), both under the owner's lock, so the owner never
 * frees a state a call is still using.
 */
#ifndef IPMD_FS_MOUNT_FILE_H
#define IPMD_FS_MOUNT_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/model/object.h"
#include "util/attr.h"

#define FILE_DIRTY_MAX 8

struct file_state;

/* A state over committed content (size may be 0: content.cid.len 0) of
 * the file id (its inode number), to be written through stores with st's
 * scope and convergence secret. */
int file_state_new(const struct obj_store *st, uint64_t id,
		   const struct obj_ref *content, struct file_state **out);
/* Wipe the buffers and free.  NULL is fine. */
void file_state_free(struct file_state *f);

/* What file_modified and file_state_idle say, from one look at f. */
struct file_status {
	bool modified;
	bool held; /* a call holds it (file_state_hold) */
};
/* Idle, as file_state_idle says: neither modified nor held. */
static inline bool file_status_idle(struct file_status s)
{
	return !s.modified && !s.held;
}

/* Count a call that uses f outside its owner's lock; and its end, which
 * gives f's status after it (the owner settles f by it without locking f
 * again). */
void file_state_hold(struct file_state *f);
struct file_status file_state_unhold(struct file_state *f);
/* Nothing unsealed and no call holding it: the owner may free it. */
bool file_state_idle(struct file_state *f);
/* file_modified and file_state_idle from one look. */
struct file_status file_state_status(struct file_state *f);

uint64_t file_size(struct file_state *f);
/* Has anything changed since the last file_seal (or since new)? */
bool file_modified(struct file_state *f);

/*
 * Read [off, off+len) into buf; *got is short only at end of file.
 * f == NULL: read the committed content directly.
 */
IPMD_MUST_CHECK
int file_read(struct obj_store *st, struct file_state *f,
	      const struct obj_ref *content, uint64_t off, uint8_t *buf,
	      size_t len, size_t *got);

/*
 * Write data at off.  0: all len bytes are written.  An error: only the
 * first *written bytes (maybe none) are, and the size is what they reach
 * or what it was before, whichever is larger: a failed write leaves no
 * zeros past what it reports for a seal or the journal to keep.  A chunk
 * this write fills whose seal fails is not a failure: its bytes stay in
 * its buffer and the next seal of it retries (until the buffer table is
 * full: then a write that needs a new buffer fails before copying).
 */
int file_write_part(struct obj_store *st, struct file_state *f, uint64_t off,
		    const uint8_t *data, size_t len, size_t *written);
/* file_write_part for a caller that treats a short write as a failure. */
int file_write(struct obj_store *st, struct file_state *f, uint64_t off,
	       const uint8_t *data, size_t len);
int file_truncate(struct obj_store *st, struct file_state *f, uint64_t size);

/* The blocks f names now, under its mutex: the root of the content it
 * was made from or last sealed (fn with a ref; its index blocks are the
 * caller's to walk) and every chunk sealed since (fn with a chunk).  0, or
 * fn's first non-zero return. */
int file_state_refs(struct file_state *f,
		    int (*fn)(const struct obj_ref *ref,
			      const struct chunk_ref *chunk, void *arg),
		    void *arg);

/* Seal every buffer, build the object, return its root.  Afterwards the
 * state is unmodified and *out names exactly what file_read would read,
 * and the durable point is the end of the file.  *seal (NULL: not
 * wanted): the seal *out is, counted from 1 per state, taken with it
 * under f's mutex; an unmodified state returns its last seal again (0:
 * never sealed, *out its base). */
int file_seal(struct obj_store *st, struct file_state *f, struct obj_ref *out,
	      uint64_t *seal);
/*
 * Seal order.  A seal outside the owner's lock (an fsync's, tail.h) is
 * journaled later, under it, so two calls can journal their seals in
 * the other order.  Seals of one state are made one after another under
 * its mutex, each of all the state holds then: a later seal holds every
 * byte an earlier one did, and whatever came after it.  So the owner,
 * under its lock, journals a content record only if no later seal's is
 * in the journal (file_seal_journaled), and tells f the outcome
 * (file_seal_done): the journal, and the tree it is applied to, never go
 * back to older content, and a skipped record's caller is answered by
 * the later one.
 *
 * Appends go only over a seal whose record is in the journal (or the
 * base the state was made from): file_tail_current wants the last seal
 * journaled, not just its CID equal to the tree's.  A rewrite of
 * unchanged bytes seals to the very content the tree names (the file's
 * own scope), so the CIDs match while that seal's record is still on
 * its way; an append journaled then would come before it, and replay
 * would end on the seal's shorter content.  So every seal whose record
 * reaches the journal after an append was made after the append was
 * taken, and holds its bytes; file_seal_done lets the appends count as
 * covered only for such a seal (newer than the one the last journaled
 * append went over), never for an older one journaled late.
 */
/* f's last seal (0: none) and, in *out, its content (the base). */
uint64_t file_last_seal(struct file_state *f, struct obj_ref *out);
/* Under the owner's lock: is the content record of seal, or of a later
 * seal, in the journal already?  Then seal's own need not go there. */
bool file_seal_journaled(struct file_state *f, uint64_t seal);
/* Under the owner's lock: the content record of seal is in the journal
 * (a seal newer than the last journaled append's base covers the
 * appends journaled before it: file_tail_journaled turns false), or it
 * could not be journaled: the state is modified again and its next seal
 * is whole (no tail). */
void file_seal_done(struct file_state *f, uint64_t seal, bool journaled);

/* Bytes appended past the durable point (malloc'ed data, wiped by
 * file_tail_free). */
struct file_tail {
	uint64_t off;
	uint8_t *data;
	size_t len;
	uint64_t seals; /* the state's seal count when taken (a content
			 * record's seal: ipmd_fs_tail_prepare) */
};
/*
 * 1: the file only grew since its durable point, by 1 … max bytes, now in
 * *out; changes from here on count against a new window.  0: unmodified,
 * or nothing new since the durable point (nothing to journal).  -EAGAIN:
 * not an append (a write below the durable point, a truncate, a file
 * never sealed unless first, more than max bytes): seal it.  Other
 * errors: reading the bytes failed.
 *
 * first: a file never sealed nor journaled (a new one) may go too, its
 * first bytes from offset 0: for the small files a program writes whole,
 * fsyncs and renames over another (fs/mount/tail.h, "Replacement
 * files"), which the commit seals or, unlinked by then, drops.  Without
 * it a new file's first bytes are sealed: a message is written once, and
 * its block is what a reader wants.
 */
int file_tail_take(struct obj_store *st, struct file_state *f, size_t max,
		   bool first, struct file_tail *out);
/* Is every change of f in the journal as appends (modified, nothing
 * changed since the last journaled take)?  Then replay rebuilds f's bytes
 * from the journal, and a rename of the file need not seal it first. */
bool file_tail_covers(struct file_state *f);
/*
 * Between file_tail_take's 1 and journaling it (the take runs outside
 * the mount's lock): does the tail still extend what the journal holds,
 * over content, the content the tree names for the file?  False when
 * another call journaled a tail or sealed the state meanwhile, the
 * state's last seal is not in the journal yet ("Seal order"), a write
 * changed bytes below the tail's end, or the tree's content is no longer
 * the state's base (a merge changed it under a kept state): the append
 * would replay over other bytes than the live file has, so seal instead.
 */
bool file_tail_current(struct file_state *f, const struct file_tail *t,
		       const struct obj_ref *content);
/* After file_tail_take's 1: journaled (the durable point moves to the
 * tail's end), or not (the bytes are still to journal). */
void file_tail_done(struct file_state *f, const struct file_tail *t,
		    bool journaled);
void file_tail_free(struct file_tail *t);
/* Are appends journaled that no journaled seal covers (file_seal_done)?
 * The journal generation holding them may go only after a later seal of
 * this state is in the journal: a seal still on its way there (sealed
 * outside the owner's lock) does not count, nor one they went over. */
bool file_tail_journaled(struct file_state *f);
/* Replay of an append record: write data at off, and count it durable. */
int file_tail_replayed(struct obj_store *st, struct file_state *f,
		       uint64_t off, const uint8_t *data, size_t len);

#endif
