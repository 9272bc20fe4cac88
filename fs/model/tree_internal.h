/*
 * fs/model/tree_internal.h — what the pieces of tree.h share; for
 * fs/model/tree*.c only.
 *
 *   tree.c         the two hash tables, names, allocation, dirty marks,
 *                  create, link, unlink, release, loading;
 *   tree_rename.c  rename and exchange, with the depth checks a moved
 *                  directory needs.
 *
 * Every function here keeps tree.h's invariants only together with its
 * caller: they are the steps a public call is made of, not calls of
 * their own.
 */
#ifndef IPMD_FS_MODEL_TREE_INTERNAL_H
#define IPMD_FS_MODEL_TREE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/model/tree.h"

bool tr_is_dir(const struct inode *in);
/* The length of a valid name: 0, -EINVAL, -ENAMETOOLONG. */
int tr_name_len(const char *name, size_t *len);
/* A dirent holding a copy of name (no inode, no directory yet); NULL
 * when out of memory. */
struct dirent *tr_dirent_new(const char *name, size_t len, uint64_t hash);
/* The entry of d with that name (hash: tree_name_hash), or NULL. */
struct dirent *tr_dir_find(const struct dir *d, const char *name, size_t len,
			   uint64_t hash);
/* e, naming its inode (tr_link_add first), into / out of dir's table
 * (and its count, and t->index_names). */
void tr_dir_insert(struct fs_tree *t, struct inode *dir, struct dirent *e);
void tr_dir_remove(struct fs_tree *t, struct inode *dir, struct dirent *e);
/* e, in a directory and naming its inode, is counted in t->index_names
 * (tree.h) if it should be, or no longer: around a change of the inode
 * it names (an exchange). */
void tr_count_name(struct fs_tree *t, const struct dirent *e, bool in);
/* e onto / off in's chain of names (nlink is the caller's). */
void tr_link_add(struct inode *in, struct dirent *e);
void tr_link_remove(struct inode *in, struct dirent *e);
/* The shard of dir holding a name of that hash is dirty. */
void tr_mark_name(struct fs_tree *t, struct inode *dir, uint64_t hash);
/* dir's entries changed (mtime, ctime) / in's attributes (ctime). */
void tr_touch_dir(struct fs_tree *t, struct inode *dir,
		  const struct timespec *now);
void tr_touch_inode(struct fs_tree *t, struct inode *in,
		    const struct timespec *now);
/* Take e out of its directory and away from its inode, and free it; the
 * inode stays (tree_release), the caller touches the directory. */
void tr_drop_entry(struct fs_tree *t, struct dirent *e,
		   const struct timespec *now);
/* Levels between the root (0) and dir. */
uint32_t tr_dir_depth(const struct inode *dir);

#endif
