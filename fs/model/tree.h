/*
 * fs/model/tree.h — the in-memory namespace: inodes, directories, names.
 *
 * Everything getattr, lookup and readdir answer comes from here, never from
 * a block fetch.  The tree is pure memory: no I/O, no crypto, no locking —
 * the caller (fs/fuse/ops.c) holds its lock around every call, and journal
 * replay drives the very same functions, so a replayed history ends in the
 * same tree as the live one.  Times come in as arguments for that reason.
 *
 * Invariants (checked by tests/unit/test_tree.c)
 *  - ino values are unique and never reused (t->next_ino only grows);
 *    FUSE_ROOT_ID (1) is the root directory.  With a range set
 *    (tree_set_range) only numbers inside it move next_ino: a merge
 *    inserts numbers of other devices' ranges, which this tree must
 *    never allocate.
 *  - A directory has exactly one name (its dirent in its parent; the root
 *    none) and nlink = 2 + number of subdirectories.
 *  - A non-directory's nlink = number of dirents naming it; its dirents are
 *    chained through dirent.next_link from inode.links.
 *  - An inode is freed (tree_release) only when nlink == 0, lookups == 0
 *    and opens == 0: an unlinked open file stays readable.
 *  - Every change to a directory's entries sets its mtime and ctime to now
 *    and marks the shard holding that name dirty; every change to an
 *    inode's attributes or content marks the shards naming it dirty.
 *  - Names are 1 … TREE_NAME_MAX bytes, no '/', not "." or "..".
 *  - t->index_names = the number of dirents naming a non-directory under
 *    one of Dovecot's index names (fs/model/maildir_name.h), whatever
 *    the inode's cache mark: every call that adds, removes or renames a
 *    name, or exchanges two, keeps it (loading too).
 *
 * Errors are the negative errno POSIX/Linux give for the same call.
 */
#ifndef IPMD_FS_MODEL_TREE_H
#define IPMD_FS_MODEL_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "fs/model/object.h"
#include "util/attr.h"

#define TREE_ROOT_INO 1
/*
 * Inode ranges (docs/ARCHITECTURE.md, "Several devices"): device D
 * allocates D << TREE_INO_RANGE_BITS + n, so numbers two devices allocate
 * never meet.  Device 0 is the store that ran init (every store made
 * before ranges existed); D < TREE_DEVICES keeps every number below 2^63.
 */
#define TREE_INO_RANGE_BITS 40
#define TREE_DEVICES (UINT64_C(1) << 23)
static inline uint64_t tree_ino_range(uint64_t ino)
{
	return ino >> TREE_INO_RANGE_BITS;
}
#define TREE_NAME_MAX 255
#define TREE_SYMLINK_MAX 4095
#define TREE_LINK_MAX 65000 /* nlink limit: -EMLINK past it */
/* Directories nest at most this deep below the root: -EMLINK past it.  The
 * manifest's reader refuses deeper trees (MANIFEST_DEPTH_MAX), and a tree
 * it refuses could not be committed, so the limit is kept here, where
 * every mkdir and rename (live or replayed) passes. */
#define TREE_DEPTH_MAX 2048

struct file_state; /* fs/mount/file.h */
struct cache_file; /* fs/mount/cache_file.h */
struct dirent;

/* Per-directory manifest bookkeeping: which shards need sealing again. */
struct dir_shards {
	uint32_t count;           /* power of two; 1 = unsharded */
	uint8_t *dirty;           /* count flags */
	struct chunk_ref *refs;   /* sealed shard blocks of the last commit */
	bool all_dirty;           /* layout changed: re-seal every shard */
	struct chunk_ref node;    /* the sealed directory node (points at
				     shards when count > 1), last commit */
	bool node_valid;
};

struct dir {
	struct dirent **buckets; /* chained hash table keyed by name */
	uint32_t nbuckets;       /* power of two */
	uint32_t count;          /* entries (without . and ..) */
	uint32_t subdirs;
	struct inode *parent;    /* root, or a removed directory: itself */
	struct dir_shards shards;
	bool dirty;              /* on t->dirty_dirs list */
	struct inode *next_dirty;
};

struct inode {
	uint64_t ino;
	uint32_t mode; /* a type tree_type_ok takes, and permission bits */
	uint32_t uid, gid;
	uint32_t nlink;
	uint64_t size;
	struct timespec atime, mtime, ctime;
	struct obj_ref content; /* regular files: the last sealed content */
	char *target;           /* symlinks: NUL-terminated target */
	uint64_t rdev;          /* device nodes: the device (stat's st_rdev);
				   0 for every other type */
	struct dir *dir;        /* directories */
	struct dirent *links;   /* dirents naming this inode (a directory:
				   its one name; root, removed: NULL) */
	uint64_t lookups;       /* kernel references (FUSE lookup count) */
	uint32_t opens;         /* open handles */
	bool paged;             /* the kernel was sent its first bytes and,
				   with keep_cache, may hold them in its page
				   cache: set by a read at offset 0, cleared
				   when lookups falls to 0 (the kernel's inode,
				   and its pages, are gone) or a merge replaces
				   its content under it (cache_merge_apply).
				   A hint: a read of a
				   file the kernel has sends nothing, so
				   fs/fuse/ops_file.c prefetches no such file
				   (wrong either way costs speed only) */
	struct file_state *file; /* fs/mount/file.h: unsealed writes, or NULL */
	struct cache_file *cache; /* a local cache file (fs/mount/cache_file.h):
				     its bytes live there; it is never in a
				     directory node, a journal or a merge */
	struct inode *hash_next;
};

struct dirent {
	char *name;
	uint16_t name_len;
	uint64_t hash; /* xxh3 of the name: bucket and shard selection */
	struct inode *inode;
	struct inode *dir; /* the directory holding this entry */
	struct dirent *next_link;
	struct dirent *hash_next;
};

struct fs_tree {
	struct inode **buckets; /* ino → inode */
	uint32_t nbuckets;
	uint64_t ninodes;
	uint64_t next_ino;
	uint64_t range_start, range_end; /* 0, 0: no range (every number) */
	struct inode *root;
	struct inode *dirty_dirs; /* directories with dirty shards */
	uint32_t shard_threshold; /* entries per shard before splitting */
	uint64_t index_names; /* names of non-directories that are Dovecot
				 index names (invariants above): what
				 maildir_has_index_files need not walk */
	bool index_local; /* Dovecot's index names are this mount's own
			     (local cache files, fs/mount/cache_class.h):
			     a merge into this tree takes no such file from
			     the other side (fs/model/merge.h) */
};

/* A new tree holding only an empty root directory (mode 0755, uid/gid as
 * given, times = now).  The root has never been sealed, so it is on
 * dirty_dirs (all_dirty); manifest_load clears that (tree_clear_dirty).
 * 0 or -ENOMEM. */
int tree_new(struct fs_tree **out, uint32_t uid, uint32_t gid,
	     const struct timespec *now);
void tree_free(struct fs_tree *t);

/*
 * Allocate in device's range only (TREE_INO_RANGE_BITS): next_ino := next,
 * which must lie inside the range (device 0's starts above the root), and
 * from then on only numbers inside the range move next_ino; an
 * allocation (tree_create with ino 0) past the range's end is -ENOSPC.
 * 0, or -EINVAL (device ≥ TREE_DEVICES, next outside the range).  Callers
 * that pass next_ino themselves (live operations: the record carries the
 * number) meet the end as -EEXIST instead, 2^40 numbers on.
 */
int tree_set_range(struct fs_tree *t, uint64_t device, uint64_t next);

struct inode *tree_get(struct fs_tree *t, uint64_t ino);
/* The inode ino names, for opening as a file (open, share): *out and 0,
 * -ENOENT (none) or -EISDIR (a directory). */
int tree_get_file(struct fs_tree *t, uint64_t ino, struct inode **out);
/* NULL when absent; dir must be a directory. */
struct dirent *tree_lookup(struct inode *dir, const char *name);
uint64_t tree_name_hash(const char *name, size_t len);
/* -ENAMETOOLONG, -EINVAL (empty, '/', ".", ".."), or 0. */
IPMD_MUST_CHECK
int tree_check_name(const char *name);

/*
 * The types the tree holds: regular files, directories, symlinks, and the
 * special files (FIFOs, sockets, character and block devices), which are
 * a name, an owner, a mode and for a device node its rdev, nothing else:
 * the kernel makes a FIFO or a socket work, the device's driver a device
 * node.  A special file has no content and size 0.
 */
static inline bool tree_is_special(uint32_t mode)
{
	return S_ISFIFO(mode) || S_ISSOCK(mode) || S_ISCHR(mode) ||
	       S_ISBLK(mode);
}
/* Device nodes: the only inodes whose rdev means something. */
static inline bool tree_has_rdev(uint32_t mode)
{
	return S_ISCHR(mode) || S_ISBLK(mode);
}
static inline bool tree_type_ok(uint32_t mode)
{
	return S_ISREG(mode) || S_ISDIR(mode) || S_ISLNK(mode) ||
	       tree_is_special(mode);
}

struct tree_new_inode {
	uint32_t mode; /* type bits decide file / directory / symlink /
			  special file (tree_type_ok) */
	uint32_t uid, gid;
	const char *target; /* symlinks */
	uint64_t rdev;      /* device nodes (tree_has_rdev); else ignored */
	uint64_t ino;       /* 0: allocate; replay passes the recorded one */
};

/*
 * Create a file, directory, symlink or special file named name in dir.
 * -EEXIST,
 * -ENOTDIR (dir is not a directory), -ENAMETOOLONG, -EINVAL,
 * -ENOENT (dir was removed), -EMLINK (too many subdirectories, or a
 * directory deeper than TREE_DEPTH_MAX), -ENOMEM.
 * On success *out is the new inode (nlink 1, or 2 for a directory;
 * lookups 0).  A new directory has never been sealed: it goes on
 * dirty_dirs with all_dirty set.
 */
int tree_create(struct fs_tree *t, struct inode *dir, const char *name,
		const struct tree_new_inode *spec, const struct timespec *now,
		struct inode **out);

/* A new name for an existing non-directory.  -EPERM for a directory,
 * -EEXIST, -EMLINK past 65000 links.  Bumps nlink and ctime. */
int tree_link(struct fs_tree *t, struct inode *inode, struct inode *dir,
	      const char *name, const struct timespec *now);

/*
 * Remove a name.  rmdir selects directory semantics: -ENOTDIR if the
 * target is not a directory, -ENOTEMPTY if it has entries; otherwise a
 * directory target gives -EISDIR.  -ENOENT when absent.  The inode is not
 * freed here (see tree_release); its nlink drops.
 */
int tree_unlink(struct fs_tree *t, struct inode *dir, const char *name,
		bool rmdir, const struct timespec *now);

enum tree_rename_flags {
	TREE_RENAME_NOREPLACE = 1 << 0, /* RENAME_NOREPLACE */
	TREE_RENAME_EXCHANGE = 1 << 1,  /* RENAME_EXCHANGE */
};

/*
 * Atomic rename, as rename(2)/renameat2(2): over an existing target (file
 * over file; directory over empty directory), -EISDIR (file over dir),
 * -ENOTDIR (dir over file), -ENOTEMPTY, -EINVAL (a directory into itself
 * or a descendant; unknown flags), -EEXIST (NOREPLACE), -ENOENT.  Renaming
 * a name onto another name of the same inode does nothing and succeeds.
 * -EMLINK when a moved directory's subtree would reach below TREE_DEPTH_MAX.
 * The moved inode keeps its ino; a replaced inode loses a link.
 */
int tree_rename(struct fs_tree *t, struct inode *olddir, const char *oldname,
		struct inode *newdir, const char *newname, unsigned flags,
		const struct timespec *now);

/*
 * Free inode if nothing refers to it any more (nlink == 0, lookups == 0,
 * opens == 0).  Returns 1 if freed.  The caller must already have released
 * inode->file.
 */
int tree_release(struct fs_tree *t, struct inode *inode);

/*
 * A nameless inode in t shaped like `like` (of another tree): its number,
 * type, target, rdev, attributes and content, nlink 0, a directory empty and
 * its own parent — what an unlink leaves while the kernel still holds the
 * inode.  For a mount that replaces its tree by another commit's
 * (fs/mount/follow.h): the kernel's references outlive the names.  The
 * caller moves lookups, opens and file state.  -EEXIST (t has that
 * number), -ENOMEM.
 */
int tree_add_orphan(struct fs_tree *t, const struct inode *like,
		    struct inode **out);

/* Mark every shard naming inode dirty (after attributes or content
 * changed).  Directories: the shard in the parent. */
void tree_inode_changed(struct fs_tree *t, struct inode *inode);

/* Forget every dirty mark and empty dirty_dirs (after sealing or loading). */
void tree_clear_dirty(struct fs_tree *t);

/* A copy of a directory's entries, for readdir: stable while the caller
 * serves it, whatever happens to the directory meanwhile. */
struct tree_listing_entry {
	uint64_t ino;
	uint32_t mode; /* type bits only are meaningful for d_type */
	char *name;
};
struct tree_listing {
	size_t count;
	struct tree_listing_entry *entries;
	char *names; /* one allocation holding every name */
};
int tree_list(struct inode *dir, struct tree_listing *out);
void tree_listing_free(struct tree_listing *l);

/* Is a an ancestor of (or equal to) b?  Both directories. */
bool tree_is_ancestor(struct inode *a, struct inode *b);

/*
 * Insert an entry while loading a committed manifest (fs/model/manifest.c): no
 * time changes, no dirty marking.  If an inode with ino exists
 * already (a hard link), it gets another name instead of a new inode, and
 * attrs are ignored but for their type, which must match (-EINVAL; a
 * directory is never joined).  -EEXIST for a name already there; next_ino
 * is raised past ino.  *out is the inode named.
 */
struct tree_load_attrs {
	uint32_t mode, uid, gid;
	uint64_t size;
	struct timespec atime, mtime, ctime;
	struct obj_ref content;
	const char *target;
	uint64_t rdev; /* device nodes */
};
IPMD_MUST_CHECK
int tree_load_entry(struct fs_tree *t, struct inode *dir, const char *name,
		    uint64_t ino, const struct tree_load_attrs *attrs,
		    struct inode **out);
/* The root's own attributes, while loading the same way (attrs must be a
 * directory's: else -EINVAL).  0. */
IPMD_MUST_CHECK
int tree_load_root(struct fs_tree *t, const struct tree_load_attrs *attrs);

/* Shard of a name in a directory with count shards. */
static inline uint32_t tree_shard_of(uint64_t hash, uint32_t count)
{
	return (uint32_t)(hash >> 32) & (count - 1);
}

#endif
