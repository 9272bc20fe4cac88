/*
 * fs/mount/tail.h — append-friendly tails: what an fsync journals of a file
 * that only grew since its last seal, and how replay puts it back
 * (docs/ARCHITECTURE.md, "Append-friendly tails").
 *
 * An fsync of a file whose every change since its durable point lies past
 * that point (fs/mount/file.h, "Tails"), by 1 … TAIL_JOURNAL_MAX bytes,
 * journals those bytes as append records (fs/model/record.h) of at most
 * RECORD_APPEND_MAX each ("Several records" below), sealed by the
 * journal like every record, instead of re-sealing the file's tail
 * chunk into a new block (which the journal and the store each hold).
 * The state stays modified; the next commit seals it (whole, once) and
 * journals its content record before the journal rotates, so the commit's
 * manifest names the full file.  Anything else (a new file, a rewrite, a
 * truncate, a bigger growth) is sealed as before.
 *
 * Replacement files (fs/model/maildir.h, maildir_is_replacement: Dovecot
 * rewrites dovecot-uidlist on nearly every flag change, as
 * dovecot-uidlist.tmp written whole, fsynced and renamed over it): their
 * first bytes go as append records too, when they fit TAIL_JOURNAL_MAX
 * (dovecot-uidlist, about 20 bytes a message, up to some 12,000
 * messages), and the rename that follows does not seal a file
 * whose every byte is so journaled (file_tail_covers): the commit seals
 * the one left under the name, and a rewrite renamed over before the
 * commit is dropped unsealed.  Per rewrite that is a journal record per
 * RECORD_APPEND_MAX instead of a block file in the store (and its record
 * in the journal), whose version was garbage at the next rewrite.  What an fsync or a
 * rename promises is unchanged: the appends are journaled before the
 * fsync is answered and before the rename's record, and replay rebuilds
 * the file from them.
 *
 * Several records: a tail over RECORD_APPEND_MAX goes as consecutive
 * append records (offsets off, off + RECORD_APPEND_MAX, …), the record
 * format and what older binaries replay unchanged.  They are journaled
 * under one hold of fs->lock (ipmd_fs_tail_log), so nothing comes
 * between them: not the rename of the file, which is journaled after
 * the last, nor a commit's rotation (they are all in one generation).
 * One sync covers them, the one that answers the fsync (or the next
 * durable call's).  A crash before that sync may keep the first k of
 * them (each record is one write, kept whole or cut as the journal's
 * unfinished end): replay rebuilds the file as its first bytes up to
 * the k-th record's end, a prefix of what was fsynced, never other
 * bytes, and without the rename (its record is after all of them).
 * For an ordinary file that fsync was not answered: as after a crash
 * in mid-write on any filesystem, the file holds a prefix of what was
 * written.  A replacement file's (or a delivery's, in tmp/) fsync is
 * answered before the sync (ops_durable.c): after a crash it may hold a
 * prefix of what an answered fsync wrote, but it is still under its
 * temporary name, and NAME is the old version, whole, since the rename
 * that would have put it there is journaled after every record and
 * synced before it is answered.  The bound, TAIL_JOURNAL_MAX, is one
 * chunk (OBJ_CHUNK_DEFAULT, 16 records), so that the memory a take
 * copies, and the time it holds fs->lock (about 1 ms for 240 KiB), stay
 * bounded; a replacement file below it sits in one chunk buffer that no
 * write sealed.  A growth that fills a chunk (one of exactly 256 KiB, or
 * one that crosses a chunk's end) has that chunk sealed by the write
 * (file.h) as well as journaled here: a block more, nothing lost.  A
 * bigger tail is sealed as before.
 *
 * Replay: an append record writes its bytes into the inode's file state
 * (made over the content the tree holds at that point), which is listed
 * for the first commit to seal; a content record of the inode replaces
 * that state (it was journaled after a seal of everything before it).
 * Replay runs before FUSE serves a request and before the mount's threads
 * start (mount.h, ipmd_fs_replay_record), so no call holds a state: the
 * content record frees it outright, not through the holds-aware
 * ipmd_fs_release_inode (which frees inodes nothing refers to, and this
 * inode stays).
 */
#ifndef IPMD_FS_MOUNT_TAIL_H
#define IPMD_FS_MOUNT_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/model/record.h"
#include "fs/mount/file.h"
#include "fs/mount/mount.h"

/* The most bytes one fsync journals as append records (above). */
#define TAIL_JOURNAL_MAX (16 * RECORD_APPEND_MAX)
_Static_assert(TAIL_JOURNAL_MAX <= OBJ_CHUNK_DEFAULT,
	       "a journaled tail fits one chunk buffer");

/*
 * Without fs->lock, f held (fsync, flush or release of inode ino): what to
 * journal of f.  *r: an append of the bytes in *t (up to
 * TAIL_JOURNAL_MAX: the log step splits it into records); or a content
 * record of f's last seal, t->seals (sealed here, or, with nothing new to
 * seal, by another call, whose record may not be journaled yet); or op 0
 * when f was never sealed and nothing is to journal.  0 or the seal's
 * (or read's) error; *t is always safe to file_tail_free.
 */
int ipmd_fs_tail_prepare(struct ipmd_fs *fs, struct file_state *f,
			 uint64_t ino, bool replacement, struct record *r,
			 struct file_tail *t);
/*
 * Under fs->lock, after prepare gave a record: stamp it with the inode's
 * mtime and the time now, journal and apply it (ipmd_fs_log; an append
 * as several records, "Several records"), and tell f how much is in the
 * journal (a failure midway moves the durable point to the end of the
 * records journaled: the next fsync takes the rest).  A content record
 * is journaled and
 * applied only if no later seal's is in already (ipmd_fs_log_seal,
 * fs/mount/file.h "Seal order"): seals made outside the lock reach it in
 * any order, and the journal and the tree never go back to older
 * content; the later record holds this call's bytes, and this call's
 * sync makes it durable.  A journaled append lists the inode for the
 * commit's seal (ipmd_fs_unclaimed), open handles or not.  An append
 * no longer current (file_tail_current: overtaken by another call's tail
 * or seal, over a seal whose record is not journaled yet, or a merge
 * replaced inode's content) is not journaled: the file is sealed whole
 * instead (ipmd_fs_seal_locked).  0 or the error of ipmd_fs_log (or of
 * the seal).
 */
int ipmd_fs_tail_log(struct ipmd_fs *fs, struct inode *inode,
		     struct file_state *f, struct record *r,
		     const struct file_tail *t);

/* Replay of append records: ipmd_fs_replay_record (mount.h), here in
 * tail.c, which mount.c calls (mount.h, so that the two don't include
 * each other). */

#endif
