/*
 * fs/model/maildir.h — the Maildir rules, in one place: which names are a
 * Maildir's subdirectories, which of them hold messages, what a Maildir++
 * folder is, and the message/folder counts of a tree.  Which names are
 * Dovecot's index files is maildir_name.h's, included here.
 *
 * A Maildir is a directory with cur/, new/ and tmp/.  Messages live in
 * cur/ and new/ (at any depth, so Maildir++ folders too); tmp/ holds
 * deliveries in progress and never counts.  A Maildir++ folder is a
 * directory of the mailbox root whose name starts with '.'.
 *
 * Users: changes.c (what a record means to a mail reader), the commit
 * statistics (maildir_count: fs/mount/mount.c, fs/tools/import.c), a new
 * mailbox (fs/mount/mount.c), the import walk (fs/tools/import_walk.c) and
 * fsck's lost+found (fs/tools/salvage.c).  Pure: no I/O, no threads.
 */
#ifndef IPMD_FS_MODEL_MAILDIR_H
#define IPMD_FS_MODEL_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Dovecot's index names (maildir_is_index_name) are Maildir rules too,
 * kept in their own header for the tree, which counts them. */
#include "fs/model/maildir_name.h"

/* Not tree.h: its struct dirent is not <dirent.h>'s, and the import walk,
 * which reads a real Maildir through <dirent.h>, uses the names here. */
struct fs_tree;
struct inode;
struct tree_new_inode;

/* The subdirectories of a Maildir, in the order a new one creates them. */
enum maildir_subdir { MAILDIR_CUR, MAILDIR_NEW, MAILDIR_TMP, MAILDIR_SUBDIRS };
extern const char *const maildir_subdirs[MAILDIR_SUBDIRS];

/* name[0..len) is "cur" or "new": a directory of messages. */
bool maildir_is_msgdir(const char *name, size_t len);

/* Are directories from and to a Maildir's new/ and cur/ (so named, in one
 * parent)?  A move between them (an IMAP server marking mail seen) takes
 * a message that is already stored whole under its name in new/. */
bool maildir_is_new_to_cur(const struct inode *from, const struct inode *to);

/* Is inode a replacement file: a regular file every name of which (at
 * least one) is one of Dovecot's Maildir state files followed by ".tmp"
 * or ".lock" (dovecot-uidlist, dovecot-keywords, subscriptions), in a
 * directory that is not cur/, new/ or tmp/?  Dovecot rewrites
 * dovecot-uidlist as dovecot-uidlist.tmp, and dovecot-keywords or
 * subscriptions as NAME.lock (file_dotlock_replace): written whole,
 * fsynced, renamed over NAME in the same directory.  Only those names: any
 * other program's NAME.tmp or NAME.lock (yarn.lock, a state.tmp updated in
 * place) may need its fsync before it acts, and gets it.  No message is
 * one: messages live in cur/, new/, tmp/. */
bool maildir_is_replacement(const struct inode *inode);

/* Is inode a delivery in progress: a regular file every name of which (at
 * least one) is in a Maildir's tmp/ (a directory so named beside a cur/
 * or new/)?  Maildir writes a message there, fsyncs it, and delivers it
 * by a rename or link into new/ or cur/; a file in tmp/ is no delivered
 * message, so its fsync, like a replacement file's, is made durable by
 * the call that delivers it (fs/fuse/ops_durable.c, ops_reply_fsync).
 * A file also linked into new/ or cur/ (maildrop's link, before its
 * unlink of tmp/NAME) is a message, and not one. */
bool maildir_is_delivery(const struct inode *inode);

/* name[0..len) is "tmp": deliveries in progress (a Maildir's only beside
 * cur/ or new/; the caller checks that). */
bool maildir_is_tmp(const char *name, size_t len);

/* name[0..len) names a Maildir++ folder when it is an entry of the root. */
bool maildir_is_folder(const char *name, size_t len);

/* Does t hold a non-directory under an index name that is no local cache
 * file (one a commit carries: an index_cache=off device's, or an earlier
 * release's)?  A mount that makes index files cache files does not
 * fast-forward to such a tree (fs/mount/follow.h).  No walk when t names
 * no non-directory so (t->index_names, which the tree keeps: a commit
 * of devices that all keep index files local); else a walk, bounded by
 * the manifest's depth, that stops at the first ordinary one: which
 * files are cache files is the mount's mark (inode->cache), not the
 * tree's, so only a walk tells. */
bool maildir_has_index_files(const struct fs_tree *t);

/* Create cur/, new/ and tmp/ in dir, each as spec says (spec->mode is the
 * directory's), at time now; the first error of tree_create, else 0. */
int maildir_create(struct fs_tree *t, struct inode *dir,
		   const struct tree_new_inode *spec,
		   const struct timespec *now);

/* Count messages and folders below root, for commit statistics: files in
 * any "cur" or "new" directory, and Maildir++ folders (".Name" holding a
 * cur/ or new/: notmuch's .notmuch or a .git is no folder). */
void maildir_count(struct fs_tree *t, uint64_t *messages, uint64_t *folders);

#endif
