/*
 * fs/tools/export.h — a mailbox's tree written out as a plain Maildir.
 *
 * Every directory, regular file and symlink of the tree is recreated under
 * dst with its name, content (byte for byte), mode and times (atime,
 * mtime; a directory's after its entries are in); owners too when run as
 * root, as cp -a would.  Never a setuid or setgid bit: those are dropped
 * from every mode.  Special files (FIFOs, sockets, device nodes) are
 * made with mknod(2), their mode, times and device number; a device node
 * needs CAP_MKNOD (root): without it the export fails with -EPERM naming
 * it.  Hard links become separate files.  dst must not
 * exist, or be an empty directory: nothing already there is touched or
 * overwritten.  Files are written whole and the filesystem is synced
 * (syncfs) before export_tree returns.
 *
 * Nothing prints: progress through the callback; errors are negative
 * errno with the mailbox path at fault in errpath ("" if none); blocks
 * that are missing or fail to verify give -ENOENT / -EBADMSG.
 */
#ifndef IPMD_FS_TOOLS_EXPORT_H
#define IPMD_FS_TOOLS_EXPORT_H

#include <limits.h>
#include <stdint.h>

#include "fs/model/object.h"
#include "fs/model/tree.h"

struct export_stats {
	uint64_t files, bytes; /* in the tree */
	uint64_t dirs, symlinks;
	uint64_t specials; /* FIFOs, sockets, device nodes (fs/model/tree.h) */
	uint64_t written, written_bytes, written_specials;
};

struct export_options {
	/* Called once with the totals (done 0) and then per file; may be
	 * NULL. */
	void (*progress)(void *arg, const struct export_stats *st);
	void *progress_arg;
};

int export_tree(struct obj_store *st, struct fs_tree *t, const char *dst,
		const struct export_options *o, struct export_stats *stats,
		char errpath[PATH_MAX]);

#endif
