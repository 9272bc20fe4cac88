/*
 * fs/tools/import.h — copy a plain Maildir (and its Maildir++ folders) into an
 * opened, writable mailbox, offline.
 *
 * What is taken: every directory, regular file and symlink below the
 * source, with names (flags included), modes, and mtimes (files, links and
 * the directories import creates or finds empty).  A symlink is taken as a
 * link (its target text), never followed; a file is read through fds from
 * the source's (fs/tools/import_walk.h), so one swapped for a symlink or a FIFO
 * after the walk is left out and counted in `changed`, not followed out of
 * the source nor waited on.  What is not: the
 * contents of a Maildir's tmp/ (a tmp/ beside cur/ or new/: deliveries in
 * progress, never mail), sockets, fifos and devices (counted in `other`).
 * Dovecot's own files (dovecot-uidlist, dovecot-keywords, dovecot.index*,
 * subscriptions) are ordinary files and come along, so a Dovecot serving the
 * mount afterwards keeps its UIDs and keywords.  Hard links in the source
 * become separate files; each file is sealed in a scope of its own (a
 * random salt: obj_writer_new) unless fs->st.scope is OBJ_SCOPE_MAILBOX,
 * so equal files dedup only then.
 *
 * Idempotent: a name that exists already in the mailbox is left alone and
 * counted as skipped (a directory is entered), so an interrupted import is
 * finished by running it again.
 *
 * How: the source is walked first (counts and sizes, for progress), then
 * files are sealed in batches by a pool of threads, each file by one
 * thread, into the store directly (not through the journal); the store is
 * synced; then the batch's records (create + content, journal-appended and
 * applied like a mount's) are logged in source order, and every
 * `commit_files` files or `commit_bytes` bytes a commit is written.  A crash
 * loses at most what was not yet committed; the journal replays the rest on
 * the next open, and a re-import skips what arrived.
 *
 * Nothing prints: progress and results go through the callback and the
 * stats; errors are negative errno with the source path in errpath.
 */
#ifndef IPMD_FS_TOOLS_IMPORT_H
#define IPMD_FS_TOOLS_IMPORT_H

#include <limits.h>
#include <stdint.h>

#include "fs/mount/mount.h"

#define IMPORT_BATCH_FILES 512
#define IMPORT_BATCH_BYTES (64u << 20)
#define IMPORT_COMMIT_FILES 20000
#define IMPORT_COMMIT_BYTES (1024ull << 20)

struct import_stats {
	uint64_t files, bytes;      /* found in the source (after the walk) */
	uint64_t dirs;              /* directories found */
	uint64_t imported, imported_bytes;
	uint64_t skipped;           /* names already in the mailbox */
	uint64_t other;             /* sockets, fifos, devices: not taken */
	uint64_t symlinks;          /* taken as symlinks, never followed */
	uint64_t changed;           /* a file when walked, but a symlink,
				       fifo, … (or below one) when read:
				       left out */
	uint64_t commits;
};

struct import_options {
	unsigned threads;          /* sealing threads; 0: one per CPU */
	uint64_t commit_files;     /* 0: IMPORT_COMMIT_FILES */
	uint64_t commit_bytes;     /* 0: IMPORT_COMMIT_BYTES */
	/* Called after the walk (done 0, the totals in stats) and after each
	 * batch; may be NULL. */
	void (*progress)(void *arg, const struct import_stats *st,
			 uint64_t done_files, uint64_t done_bytes);
	void *progress_arg;
};

/* Is src a Maildir: cur/ and new/ in it, or in a Maildir++ folder .NAME/
 * in it?  1, 0, or -errno.  The CLI refuses anything else unless forced:
 * `import /etc` run by root would take /etc into the mailbox. */
int import_source_is_maildir(const char *src);

/*
 * Import src into fs (opened writable by ipmd_fs_open, no committer).
 * 0, or negative errno; errpath then names the source file or directory
 * at fault ("" if none).  What was logged before an error stays logged;
 * the caller's ipmd_fs_close commits it.
 */
int import_maildir(struct ipmd_fs *fs, const char *src,
		   const struct import_options *o, struct import_stats *stats,
		   char errpath[PATH_MAX]);

#endif
