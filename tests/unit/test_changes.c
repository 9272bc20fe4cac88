/* tests/unit/test_changes.c — fs/model/changes.c: which records count as a
 * message added, removed or renamed, for a commit's statistics. */
#include "fs/model/changes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"

static const struct timespec t0 = {.tv_sec = 1700000000, .tv_nsec = 0};

static void bail(const char *what)
{
	printf("Bail out! %s\n", what);
	exit(255);
}

static uint64_t mkdir_in(struct fs_tree *t, uint64_t dir, const char *name)
{
	struct tree_new_inode spec = {.mode = S_IFDIR | 0700};
	struct inode *out;
	if (tree_create(t, tree_get(t, dir), name, &spec, &t0, &out))
		bail("mkdir");
	return out->ino;
}

/* Classify r, then apply it as the mount does; returns the counts. */
static struct mail_changes run(struct fs_tree *t, const struct record *r)
{
	struct mail_changes c = mail_changes_of(t, r);
	if (record_apply(t, r, NULL, NULL) != 0)
		bail("record_apply");
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

int main(void)
{
	struct fs_tree *t;
	if (tree_new(&t, 0, 0, &t0))
		bail("tree_new");
	uint64_t cur = mkdir_in(t, 1, "cur"), nw = mkdir_in(t, 1, "new"),
		 tmp = mkdir_in(t, 1, "tmp");
	uint64_t folder = mkdir_in(t, 1, ".Sent");
	uint64_t fcur = mkdir_in(t, folder, "cur");

	/* qmail: create in tmp/, link into new/, unlink tmp/: one added. */
	struct record r = {.op = REC_CREATE, .dir = tmp, .name = "m1",
			   .mode = S_IFREG | 0600, .time = t0};
	counts(run(t, &r), 0, 0, 0, "create in tmp/");
	uint64_t m1 = tree_lookup(tree_get(t, tmp), "m1")->inode->ino;
	r = (struct record){.op = REC_LINK, .ino = m1, .dir = nw,
			    .name = "m1", .time = t0};
	counts(run(t, &r), 1, 0, 0, "link tmp/ -> new/");
	r = (struct record){.op = REC_UNLINK, .dir = tmp, .name = "m1",
			    .time = t0};
	counts(run(t, &r), 0, 0, 0, "unlink from tmp/");

	/* Dovecot: create in tmp/, rename into new/: one added. */
	r = (struct record){.op = REC_CREATE, .dir = tmp, .name = "m2",
			    .mode = S_IFREG | 0600, .time = t0};
	run(t, &r);
	r = (struct record){.op = REC_RENAME, .dir = tmp, .name = "m2",
			    .newdir = nw, .newname = "m2", .time = t0};
	counts(run(t, &r), 1, 0, 0, "rename tmp/ -> new/");

	/* A reader: new/ -> cur/ with flags, then a flag change. */
	r = (struct record){.op = REC_RENAME, .dir = nw, .name = "m2",
			    .newdir = cur, .newname = "m2:2,", .time = t0};
	counts(run(t, &r), 0, 0, 1, "rename new/ -> cur/");
	r = (struct record){.op = REC_RENAME, .dir = cur, .name = "m2:2,",
			    .newdir = cur, .newname = "m2:2,S", .time = t0};
	counts(run(t, &r), 0, 0, 1, "flag change in cur/");
	r = (struct record){.op = REC_RENAME, .dir = cur, .name = "m2:2,S",
			    .newdir = fcur, .newname = "m2:2,S", .time = t0};
	counts(run(t, &r), 0, 0, 1, "move to a folder's cur/");

	/* Deletions and moves out. */
	r = (struct record){.op = REC_UNLINK, .dir = fcur, .name = "m2:2,S",
			    .time = t0};
	counts(run(t, &r), 0, 1, 0, "unlink from a folder's cur/");
	r = (struct record){.op = REC_RENAME, .dir = nw, .name = "m1",
			    .newdir = tmp, .newname = "back", .time = t0};
	counts(run(t, &r), 0, 1, 0, "rename new/ -> tmp/");

	/* Not messages: a file at the top, a directory in cur/, a create
	 * directly in cur/ (counts: it is a message appearing there). */
	r = (struct record){.op = REC_CREATE, .dir = 1, .name = "dovecot.index",
			    .mode = S_IFREG | 0600, .time = t0};
	counts(run(t, &r), 0, 0, 0, "create at the top");
	r = (struct record){.op = REC_CREATE, .dir = cur, .name = "sub",
			    .mode = S_IFDIR | 0700, .time = t0};
	counts(run(t, &r), 0, 0, 0, "mkdir in cur/");
	r = (struct record){.op = REC_UNLINK, .dir = cur, .name = "sub",
			    .rmdir = true, .time = t0};
	counts(run(t, &r), 0, 0, 0, "rmdir in cur/");
	r = (struct record){.op = REC_CREATE, .dir = cur, .name = "direct",
			    .mode = S_IFREG | 0600, .time = t0};
	counts(run(t, &r), 1, 0, 0, "create directly in cur/");
	/* A record that will fail (no such name) still classifies to
	 * nothing: the caller counts only applied records anyway. */
	r = (struct record){.op = REC_UNLINK, .dir = cur, .name = "absent",
			    .time = t0};
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
	ok(cur == 2 && nw == 3 && tmp == 4, "cur, new, tmp are 2, 3, 4");
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
			bail("record_encode");
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
