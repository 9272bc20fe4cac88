/*
 * fs/model/merge_internal.h — what the pieces of merge.h share; for
 * fs/model/merge*.c only.
 *
 * The pieces, one job each:
 *   merge_scan.c   a tree as a list of entries sorted by path, messages
 *                  parsed (folder, cur/new, unique name, flags);
 *   merge.c        the rules: three scanned trees → the wanted state, one
 *                  struct mg_want per path (merge.h lists the rules);
 *   merge_plan.c   the wanted state against local → records (merge_plan,
 *                  merge_apply).
 */
#ifndef IPMD_FS_MODEL_MERGE_INTERNAL_H
#define IPMD_FS_MODEL_MERGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fs/model/merge.h"
#include "fs/model/object.h"
#include "fs/model/tree.h"

enum mg_kind { MG_DIR, MG_OTHER, MG_MSG };

/* One name in a tree. */
struct mg_ent {
	char *path;        /* "a/b/c" below the root, NUL-terminated, owned */
	uint32_t plen;     /* strlen(path) */
	uint32_t dlen;     /* its directory's path: path[0..dlen) ("": root) */
	uint32_t depth;    /* 0: an entry of the root */
	struct inode *in;  /* the inode it names */
	struct inode *dir; /* the directory holding it */
	uint8_t kind;      /* enum mg_kind */
	/* MG_MSG only */
	bool by_path;      /* keyed by path: its unique name is not unique */
	uint8_t sub;       /* MAILDIR_CUR or MAILDIR_NEW (fs/model/maildir.h) */
	uint32_t flen;     /* its folder: path[0..flen) ("": the root) */
	uint32_t uoff, ulen; /* its unique name: path[uoff..uoff+ulen) */
	bool info;         /* the name has ":2," */
	uint64_t flags[4]; /* the bytes after ":2,", as a set */
};

/* A tree's entries sorted by path (strcmp, i.e. bytes). */
struct mg_side {
	struct mg_ent *e;
	size_t n, cap;
};

/* Scan t (NULL: nothing) into *s, sorted; with skip_index, without the
 * non-directories under Dovecot's index names (maildir_is_index_name).
 * 0, -ENOMEM, -ENAMETOOLONG. */
int mg_scan(struct fs_tree *t, struct mg_side *s, bool skip_index);
void mg_side_free(struct mg_side *s);
/* The entry of s at path, or NULL. */
const struct mg_ent *mg_find(const struct mg_side *s, const char *path);

static inline const char *mg_name(const struct mg_ent *e)
{
	return e->path + (e->dlen ? e->dlen + 1 : 0);
}

/* The attributes a merge decides for an inode. */
struct mg_attrs {
	uint32_t mode; /* with the type bits */
	uint32_t uid, gid;
	struct timespec mtime;
	struct obj_ref content; /* regular files */
};

/* One path of the merged tree. */
struct mg_want {
	char *path;    /* owned */
	uint32_t plen, dlen, depth;
	uint8_t kind;  /* MG_DIR, or the kind of what is there */
	bool present;  /* directories: the merge keeps it (else only known) */
	bool forced;   /* directories: kept because something kept is below */
	uint64_t ino;  /* its inode's number in the merge (directories: the
			  source's, 0 for one no tree has) */
	const struct mg_ent *src; /* where its inode comes from: type, target
				     (NULL: a directory no tree has) */
	struct mg_attrs a;
};

struct mg_wants {
	struct mg_want *w; /* non-directories, sorted by path */
	size_t n, cap;
	struct mg_want *d; /* directories, sorted by path; the root is not one */
	size_t nd, capd;
	struct mg_attrs root; /* the root's merged attributes */
	struct merge_stats stats;
};

/* The three trees of a merge, scanned. */
enum mg_which { MG_BASE, MG_LOCAL, MG_REMOTE, MG_SIDES };
struct mg_input {
	struct fs_tree *t[MG_SIDES]; /* base may be NULL: the empty tree */
	struct mg_side s[MG_SIDES];
};

/* The rules (merge.h): the wanted state of in's trees.  0, -ENOMEM,
 * -ENAMETOOLONG, -EEXIST; out is freed by mg_wants_free, also after an
 * error.  Marks messages whose unique name is not unique (by_path). */
int mg_decide(struct mg_input *in, struct mg_wants *out);
void mg_wants_free(struct mg_wants *w);

/* Index of the directory want at path[0..len) in w->d, or -1. */
long mg_find_dir(const struct mg_wants *w, const char *path, size_t len);

/* Room for element n of an array of size-byte elements at *(T **)arrp
 * holding *cap: doubled (from 64) when full.  0 or -ENOMEM (the array
 * unchanged).  For every growing array of fs/model/merge*.c. */
int mg_grow(void *arrp, size_t n, size_t *cap, size_t size);

void mg_attrs_of(const struct inode *in, struct mg_attrs *a);
bool mg_content_equal(const struct obj_ref *a, const struct obj_ref *b);

#endif
