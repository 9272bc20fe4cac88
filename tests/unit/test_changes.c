/* tests/unit/test_changes.c — fs/model/changes.c: which records count as a
 * message added, removed or renamed, for a commit's statistics. */
#include "fs/model/changes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"
#include "tests/unit/harness.h"

static const struct timespec t0 = {.tv_sec = 1700000000, .tv_nsec = 0};

static uint64_t mkdir_in(struct fs_tree *t, uint64_t dir, const char *name)
{
	struct tree_new_inode spec = {.mode = S_IFDIR | 0700};
	struct inode *out;
	if (tree_create(t, tree_get(t, dir), name, &spec, &t0, &out))
		harness_bail("mkdir");
	return out->ino;
}

/* Classify r, then apply it as the mount does; returns the counts. */
static struct mail_changes run(struct fs_tree *t, const struct record *r)
{
	struct mail_changes c = mail_changes_of(t, r);
	if (record_apply(t, r, NULL, NULL) != 0)
		harness_bail("record_apply");
	return c;
}

static void counts(struct mail_changes c, int a, int rm, int rn,
		   const char *what)
{
	ok(c.added == (uint64_t)a && c.removed == (uint64_t)rm &&
		   c.renamed == (uint64_t)rn,
	   "%s: +%d -%d ~%d (got +%llu -%llu ~%llu)", what, a, rm, rn,
	   (unsigned long long)c.added, (unsigned long long)c.removed,
	   (unsigned long long)c.renamed);
}

/* The directories a step names: the mailbox's and one folder's. */
enum where { TOP, CUR, NEW, TMP, SENT_CUR, WHERE_COUNT };

/* One change in the order a deliverer, a reader or a cleaner makes it,
 * and what it counts as.  LINK links dir/name to newdir/newname. */
enum kind { CREATE, MKDIR, LINK, UNLINK, RMDIR, RENAME };
static const struct step {
	enum kind kind;
	enum where dir;
	const char *name;
	enum where newdir;
	const char *newname;
	int added, removed, renamed;
	const char *what;
} steps[] = {
	/* qmail: create in tmp/, link into new/, unlink tmp/: one added. */
	{CREATE, TMP, "m1", TOP, NULL, 0, 0, 0, "create in tmp/"},
	{LINK, TMP, "m1", NEW, "m1", 1, 0, 0, "link tmp/ -> new/"},
	{UNLINK, TMP, "m1", TOP, NULL, 0, 0, 0, "unlink from tmp/"},
	/* Dovecot: create in tmp/, rename into new/: one added. */
	{CREATE, TMP, "m2", TOP, NULL, 0, 0, 0, "create m2 in tmp/"},
	{RENAME, TMP, "m2", NEW, "m2", 1, 0, 0, "rename tmp/ -> new/"},
	/* A reader: new/ -> cur/ with flags, then a flag change. */
	{RENAME, NEW, "m2", CUR, "m2:2,", 0, 0, 1, "rename new/ -> cur/"},
	{RENAME, CUR, "m2:2,", CUR, "m2:2,S", 0, 0, 1, "flag change in cur/"},
	{RENAME, CUR, "m2:2,S", SENT_CUR, "m2:2,S", 0, 0, 1,
	 "move to a folder's cur/"},
	/* Deletions and moves out. */
	{UNLINK, SENT_CUR, "m2:2,S", TOP, NULL, 0, 1, 0,
	 "unlink from a folder's cur/"},
	{RENAME, NEW, "m1", TMP, "back", 0, 1, 0, "rename new/ -> tmp/"},
	/* Not messages: a file at the top, a directory in cur/, a create
	 * directly in cur/ (counts: it is a message appearing there). */
	{CREATE, TOP, "dovecot.index", TOP, NULL, 0, 0, 0, "create at the top"},
	{MKDIR, CUR, "sub", TOP, NULL, 0, 0, 0, "mkdir in cur/"},
	{RMDIR, CUR, "sub", TOP, NULL, 0, 0, 0, "rmdir in cur/"},
	{CREATE, CUR, "direct", TOP, NULL, 1, 0, 0, "create directly in cur/"},
};

/* The record of step s in t, whose directories are at dirs. */
static struct record record_of(struct fs_tree *t, const struct step *s,
			       const uint64_t dirs[WHERE_COUNT])
{
	struct record r = {.dir = dirs[s->dir], .name = s->name, .time = t0};
	switch (s->kind) {
	case CREATE:
	case MKDIR:
		r.op = REC_CREATE;
		r.mode = s->kind == MKDIR ? S_IFDIR | 0700 : S_IFREG | 0600;
		break;
	case LINK:
		r.op = REC_LINK;
		r.ino = tree_lookup(tree_get(t, r.dir), s->name)->inode->ino;
		r.dir = dirs[s->newdir];
		r.name = s->newname;
		break;
	case UNLINK:
	case RMDIR:
		r.op = REC_UNLINK;
		r.rmdir = s->kind == RMDIR;
		break;
	case RENAME:
		r.op = REC_RENAME;
		r.newdir = dirs[s->newdir];
		r.newname = s->newname;
		break;
	}
	return r;
}

int main(void)
{
	struct fs_tree *t = harness_tree(0, 0, &t0);
	uint64_t dirs[WHERE_COUNT] = {[TOP] = TREE_ROOT_INO};
	dirs[CUR] = mkdir_in(t, TREE_ROOT_INO, "cur");
	dirs[NEW] = mkdir_in(t, TREE_ROOT_INO, "new");
	dirs[TMP] = mkdir_in(t, TREE_ROOT_INO, "tmp");
	uint64_t sent = mkdir_in(t, TREE_ROOT_INO, ".Sent");
	dirs[SENT_CUR] = mkdir_in(t, sent, "cur");

	for (size_t i = 0; i < sizeof(steps) / sizeof(*steps); i++) {
		struct record r = record_of(t, &steps[i], dirs);
		counts(run(t, &r), steps[i].added, steps[i].removed,
		       steps[i].renamed, steps[i].what);
	}
	/* A record that will fail (no such name) still classifies to
	 * nothing: the caller counts only applied records anyway. */
	struct record r = {.op = REC_UNLINK, .dir = dirs[CUR],
			   .name = "absent", .time = t0};
	struct mail_changes c = mail_changes_of(t, &r);
	counts(c, 0, 0, 0, "unlink of an absent name");

	/* Replay counts as the live mount did: a journal's records, encoded
	 * and replayed, add to the same counts when they apply. */
	struct mail_changes sum = {0, 0, 0};
	static const struct record replayed[] = {
		{.op = REC_CREATE, .dir = 3, .name = "r1",
		 .mode = S_IFREG | 0600},
		{.op = REC_RENAME, .dir = 3, .name = "r1", .newdir = 2,
		 .newname = "r1:2,S"},
		{.op = REC_CREATE, .dir = 4, .name = "r2",
		 .mode = S_IFREG | 0600},
		{.op = REC_UNLINK, .dir = 3, .name = "absent"},
	};
	ok(dirs[CUR] == 2 && dirs[NEW] == 3 && dirs[TMP] == 4,
	   "cur, new, tmp are 2, 3, 4");
	int failed = 0;
	for (size_t i = 0; i < sizeof(replayed) / sizeof(replayed[0]); i++) {
		struct record rr = replayed[i];
		rr.time = t0;
		if (rr.op == REC_CREATE)
			rr.ino = t->next_ino;
		if (rr.op == REC_RENAME)
			rr.ino = tree_lookup(tree_get(t, 3), "r1")->inode->ino;
		char *json;
		size_t len;
		if (record_encode(&rr, &json, &len))
			harness_bail("record_encode");
		failed += mail_changes_replay(t, (const uint8_t *)json, len,
					      &sum) != 0;
		free(json);
	}
	is_int(failed, 1, "replayed: the unlink of an absent name fails");
	counts(sum, 1, 0, 1, "replayed: create in new/, new/ -> cur/, "
			     "create in tmp/, a failed unlink");
	is_int(mail_changes_replay(t, (const uint8_t *)"{}", 2, &sum), -EBADMSG,
	       "a malformed record: -EBADMSG");
	tree_free(t);
	return tap_done();
}
