/*
 * fs/model/record.h — journal records: one namespace or attribute change each.
 *
 * A record is compact JSON (the journal seals it).  Every record carries
 * what is needed to redo the change exactly: the inode number a create
 * allocated, the time it happened, the content ref a seal produced.  Live
 * operations append the record first and then apply it with record_apply,
 * under the filesystem lock; replay applies the same records in the same
 * order to the tree of the last commit, so both end in the same state.
 * An operation that fails live fails the same way on replay (the state is
 * the same); replay counts such records and moves on.
 *
 *   {"op":"create","dir":D,"name":N,"ino":I,"mode":M,"uid":U,"gid":G,
 *    "time":NS[,"target":T][,"rdev":R]}
 *   {"op":"link","ino":I,"dir":D,"name":N,"time":NS}
 *   {"op":"unlink","dir":D,"name":N,"rmdir":B,"time":NS}
 *   {"op":"rename","dir":D,"name":N,"newdir":D2,"newname":N2,"flags":F,
 *    "time":NS}
 *   {"op":"setattr","ino":I,"set":MASK,"mode":M,"uid":U,"gid":G,
 *    "atime":NS,"mtime":NS,"time":NS}
 *   {"op":"content","ino":I,"size":S,"cid":C,"key":K,"depth":D,
 *    "mtime":NS,"time":NS}
 *   {"op":"append","ino":I,"off":O,"data":B64,"mtime":NS,"time":NS}
 *
 * An append record (docs/ARCHITECTURE.md, "Append-friendly tails") holds
 * bytes written at O (base64url, 1 … RECORD_APPEND_MAX of them) to a file
 * that only grew since the record before it that named its content: the
 * last content record, or the commit, and the appends since.  The
 * journal seals it like any record, so the bytes never reach the disk in
 * plaintext.  The tree keeps only what it can: record_apply makes the
 * size at least O + the byte count and sets the times; the bytes are the
 * caller's to write into the file (the mount's replay does, through the
 * file's state, fs/mount/tail.h).  A later content record of the inode
 * covers every append before it.
 *
 * A merge (fs/model/merge.h) is one record of its own kind: what to merge,
 * not the changes, which replay recomputes from the same inputs
 * (docs/ARCHITECTURE.md, "Crash story"):
 *   {"op":"merge","parent":"bafk…","bases":["bafk…",…],"time":NS
 *    [,"bound":SEQ][,"index_local":true]}
 * parent: the other head merged in; bases: its merge bases (0 …
 * RECORD_MERGE_BASES_MAX, fs/model/merge_base.h); time: the merge's
 * records' time; bound: gc's boundary the live walk kept (a seq ≥ 1),
 * only with two or more bases, whose virtual base walks between them
 * within it (replay must find the bases of bases the live merge found,
 * not those below the boundary, whose trees gc freed); absent: none.
 * index_local: the live merge left the other side's Dovecot index names
 * out (tree->index_local, merge.h: the mount made index files local
 * cache files then); replay does the same whatever the mount's options
 * are now, so it redoes the merge that was acknowledged; absent: false
 * (records from before it, whose replay read the option).  Its text
 * starts with RECORD_MERGE_PREFIX, by which
 * fs/store/journal_payload.h tells it from the others; record_replay
 * refuses it (replay needs blocks: fs/model/merge_base.h, merge_replay).
 *
 * What replay accepts is exactly what a commit can write: a create's M is
 * a type tree_type_ok takes (a regular file, directory, symlink, FIFO,
 * socket, character or block device) with no bits outside S_IFMT | 07777
 * (what a manifest holds), T is there if and only if M is a symlink, and
 * R (the device, as stat's st_rdev) if and only if M is a device node.
 * record_encode refuses any other create, and replay refuses it as
 * malformed.  Records written before special files existed never carry
 * R and never make one, so they read as they always did.
 */
#ifndef IPMD_FS_MODEL_RECORD_H
#define IPMD_FS_MODEL_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/model/object.h"
#include "fs/model/tree.h"
#include "ipfs/cid.h"
#include "util/attr.h"

enum record_op {
	REC_CREATE = 1,
	REC_LINK,
	REC_UNLINK,
	REC_RENAME,
	REC_SETATTR,
	REC_CONTENT,
	REC_APPEND,
};

/* The most bytes one append record holds: a bigger growth goes as
 * several records, up to TAIL_JOURNAL_MAX (fs/mount/tail.h), or is
 * sealed. */
#define RECORD_APPEND_MAX (16 * 1024)

enum record_set {
	REC_SET_MODE = 1 << 0,
	REC_SET_UID = 1 << 1,
	REC_SET_GID = 1 << 2,
	REC_SET_ATIME = 1 << 3,
	REC_SET_MTIME = 1 << 4,
};

struct record {
	enum record_op op;
	uint64_t dir, newdir, ino;
	const char *name, *newname, *target;
	uint32_t mode, uid, gid;
	uint64_t rdev;  /* create of a device node: its device */
	unsigned flags; /* rename: enum tree_rename_flags */
	bool rmdir;
	unsigned set;   /* setattr: enum record_set */
	struct timespec atime, mtime;
	struct timespec time; /* when it happened: ctime/mtime of the change */
	struct obj_ref content;
	uint64_t off;       /* append: where data goes */
	const uint8_t *data; /* append: the bytes (not owned) */
	size_t data_len;    /* append: 1 … RECORD_APPEND_MAX */
};

/*
 * JSON text of r (malloc'ed, caller frees); 0 or -ENOMEM, or an error for
 * a record that record_replay would refuse (so it is never journaled):
 * -EINVAL (unknown op; an ino or dir ≥ 2^63, a create's ino 0; a create
 * whose mode is not a type tree_type_ok takes, or has bits outside
 * S_IFMT | 07777; a target on anything but a symlink, or a symlink
 * without one; an rdev on anything but a device node, or ≥ 2^63; a
 * string that is not UTF-8; content whose cid is not raw
 * or whose depth passes OBJ_DEPTH_MAX; an append of 0 or more than
 * RECORD_APPEND_MAX bytes), tree_check_name's errno for a bad
 * name, -EOVERFLOW for a time more than about 292 years from 1970 or a
 * size (an append's end) ≥ 2^63.
 */
int record_encode(const struct record *r, char **json, size_t *len);

/*
 * Apply r to t.  0, or the errno the change fails with.  Inodes whose
 * last name goes and that nothing holds (no lookups, no opens) are freed,
 * via release_fn when given (the caller may need to drop per-inode state),
 * else tree_release.  Content of size 0 is the empty ref, whatever else
 * r->content holds (only the size is journaled).  An append: -ESTALE (no
 * such inode), -EINVAL (not a regular file, or O past the size: a gap no
 * live write leaves); else the size grows to O + data_len if shorter.
 */
typedef void (*record_release_fn)(struct inode *inode, void *arg);
int record_apply(struct fs_tree *t, const struct record *r,
		 record_release_fn release_fn, void *arg);

/* Where a decoded record's strings live (record_decode): buffers for
 * names sent as bytes, and the parsed payload the others point into. */
struct record_text {
	char name[TREE_NAME_MAX + 2];
	char newname[TREE_NAME_MAX + 2];
	char target[TREE_SYMLINK_MAX + 2];
	void *parsed;
	uint8_t *data; /* an append's bytes (wiped and freed by done) */
};

/*
 * Parse payload into *r, its strings in *tb: r is valid until
 * record_text_done(tb), which the caller calls whatever this returned
 * (a content record carries a file key in r->content: the caller wipes
 * it).  0, or -EBADMSG when malformed (see record_replay).
 */
IPMD_MUST_CHECK
int record_decode(const uint8_t *payload, size_t len, struct record *r,
		  struct record_text *tb);
void record_text_done(struct record_text *tb);

/*
 * Parse payload and apply it (journal replay).  -EBADMSG when the payload
 * is malformed (a create with a mode or target that record_encode
 * refuses among them: no live operation journals one); -ESTALE when it
 * names an inode or directory that no longer exists (a file unlinked
 * while open: harmless); otherwise the result of record_apply.
 */
IPMD_MUST_CHECK
int record_replay(struct fs_tree *t, const uint8_t *payload, size_t len);

/* The merge record (above). */
#define RECORD_MERGE_BASES_MAX 8
#define RECORD_MERGE_PREFIX "{\"op\":\"merge\","
struct record_merge {
	struct cid parent;
	unsigned nbases;
	struct cid bases[RECORD_MERGE_BASES_MAX];
	struct timespec time;
	uint64_t bound; /* the live walk's gc boundary (merge_base.h), 0:
			   none; kept only with two or more bases */
	bool index_local; /* the live merge's tree->index_local */
};

/* Its text (malloc'ed, starting RECORD_MERGE_PREFIX).  0, -ENOMEM,
 * -EINVAL (a CID that is no commit's: not raw sha2-256; too many bases),
 * -EOVERFLOW (time). */
int record_merge_encode(const struct record_merge *m, char **json,
			size_t *len);
/* Parse one.  0 or -EBADMSG (malformed, or not a merge record). */
IPMD_MUST_CHECK
int record_merge_parse(const uint8_t *payload, size_t len,
		       struct record_merge *m);

#endif
