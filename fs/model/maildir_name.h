/*
 * fs/model/maildir_name.h — the Maildir rule the tree itself needs: which
 * names are Dovecot's index files.
 *
 * Kept apart from the rest of the Maildir rules (fs/model/maildir.h, which
 * includes this header) because maildir.c walks the tree while the tree
 * counts these names as they come and go (tree.h, index_names): one
 * module holding both would include itself in a cycle.  Pure: no tree,
 * no I/O, no threads.
 */
#ifndef IPMD_FS_MODEL_MAILDIR_NAME_H
#define IPMD_FS_MODEL_MAILDIR_NAME_H

#include <stdbool.h>

/* name is one of Dovecot's index names: "dovecot.index" or
 * "dovecot.list.index", alone or followed by '.' and anything (.log,
 * .log.2, .cache, .tmp, .lock, …); dovecot-uidlist and dovecot-keywords
 * are not.  The mount makes files created so local cache files
 * (fs/mount/cache_class.h); a merge takes none from the other side
 * (fs/model/merge.h). */
bool maildir_is_index_name(const char *name);

#endif
