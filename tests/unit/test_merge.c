/* tests/unit/test_merge.c — the three-way merge of mailbox trees
 * (fs/model/merge.h): the issue's rules one by one, then a property test
 * over random histories: commutative, idempotent, never losing a message
 * that a side added and neither deleted. */
#include "fs/model/merge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/keys.h"
#include "crypto/seal.h"
#include "fs/model/commit.h"
#include "fs/model/manifest.h"
#include "fs/model/merge_base.h"
#include "fs/model/record.h"
#include "ipfs/bs_local.h"
#include "tests/tap.h"

/* The remote device allocates in its own range (fs/model/tree.h). */
#define REMOTE_RANGE (UINT64_C(7) << TREE_INO_RANGE_BITS)
#define LIST_MAX 65536

static const struct timespec t0 = {.tv_sec = 1700000000, .tv_nsec = 0};
static const struct timespec t1 = {.tv_sec = 1700000100, .tv_nsec = 0};

static void bail(const char *what, const char *path, int e)
{
	printf("Bail out! %s %s: %d\n", what, path ? path : "", e);
	exit(255);
}

/* ---- a tree driven by paths, through records as a mount does ---- */

/* The directory holding path and the last component (in buf). */
static struct inode *parent_of(struct fs_tree *t, const char *path,
			       char *buf, const char **name)
{
	struct inode *cur = t->root;
	char *slash, *at = buf;

	snprintf(buf, 4096, "%s", path);
	while ((slash = strchr(at, '/')) != NULL) {
		*slash = '\0';
		struct dirent *e = tree_lookup(cur, at);
		if (!e)
			return NULL;
		cur = e->inode;
		at = slash + 1;
	}
	*name = at;
	return cur;
}

/* The same, for a path whose directory must be there. */
static struct inode *dir_for(struct fs_tree *t, const char *path, char *buf,
			     const char **name)
{
	struct inode *d = parent_of(t, path, buf, name);
	if (!d)
		bail("no directory for", path, 0);
	return d;
}

static struct inode *lookup(struct fs_tree *t, const char *path)
{
	char buf[4096];
	const char *name;
	struct inode *d = parent_of(t, path, buf, &name);
	struct dirent *e = d ? tree_lookup(d, name) : NULL;
	return e ? e->inode : NULL;
}

static void apply(struct fs_tree *t, struct record r, const char *path)
{
	r.time = t0;
	int e = record_apply(t, &r, NULL, NULL);
	if (e)
		bail("record_apply", path, e);
}

static struct obj_ref content_of(uint64_t seed)
{
	struct obj_ref r;
	uint8_t data[16];

	memset(&r, 0, sizeof(r));
	tap_fill_random(data, sizeof(data), seed + 1);
	cid_of_raw_block(&r.cid, data, sizeof(data));
	tap_fill_random(r.key, sizeof(r.key), seed + 2);
	r.size = 100 + seed % 4000;
	return r;
}

/* Any inode: a symlink's target, a device node's rdev. */
static void mk_node(struct fs_tree *t, const char *path, uint32_t mode,
		    const char *target, uint64_t rdev)
{
	char buf[4096];
	const char *name;
	struct inode *d = dir_for(t, path, buf, &name);
	apply(t,
	      (struct record){.op = REC_CREATE, .dir = d->ino, .name = name,
			      .ino = t->next_ino, .mode = mode, .uid = 1000,
			      .gid = 1000, .target = target, .rdev = rdev},
	      path);
}

static void mk(struct fs_tree *t, const char *path, uint32_t mode,
	       const char *target)
{
	mk_node(t, path, mode, target, 0);
}

static void mkdir_(struct fs_tree *t, const char *path)
{
	mk(t, path, S_IFDIR | 0700, NULL);
}

static void put(struct fs_tree *t, const char *path, uint64_t seed)
{
	mk(t, path, S_IFREG | 0600, NULL);
	apply(t,
	      (struct record){.op = REC_CONTENT, .ino = lookup(t, path)->ino,
			      .content = content_of(seed), .mtime = t0},
	      path);
}

static void rewrite(struct fs_tree *t, const char *path, uint64_t seed)
{
	struct inode *in = lookup(t, path);
	if (!in)
		bail("rewrite: no", path, 0);
	apply(t,
	      (struct record){.op = REC_CONTENT, .ino = in->ino,
			      .content = content_of(seed), .mtime = t1},
	      path);
}

static void mv(struct fs_tree *t, const char *from, const char *to)
{
	char b1[4096], b2[4096];
	const char *n1, *n2;
	struct inode *d1 = dir_for(t, from, b1, &n1),
		     *d2 = dir_for(t, to, b2, &n2);
	apply(t,
	      (struct record){.op = REC_RENAME, .dir = d1->ino, .name = n1,
			      .newdir = d2->ino, .newname = n2},
	      from);
}

static void ln(struct fs_tree *t, const char *from, const char *to)
{
	char buf[4096];
	const char *name;
	struct inode *d = dir_for(t, to, buf, &name);
	apply(t,
	      (struct record){.op = REC_LINK, .ino = lookup(t, from)->ino,
			      .dir = d->ino, .name = name},
	      to);
}

static void rm(struct fs_tree *t, const char *path, bool dir)
{
	char buf[4096];
	const char *name;
	struct inode *d = dir_for(t, path, buf, &name);
	apply(t,
	      (struct record){.op = REC_UNLINK, .dir = d->ino, .name = name,
			      .rmdir = dir},
	      path);
}

static void maildir(struct fs_tree *t, const char *at)
{
	char p[256];
	if (*at)
		mkdir_(t, at);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s%s", at, *at ? "/" : "",
			 (const char *[]){"cur", "new", "tmp"}[i]);
		mkdir_(t, p);
	}
}

/* ---- what a tree holds, as text ---- */

struct text {
	char *s;
	size_t n, cap;
};

static void addf(struct text *x, const char *fmt, const char *a,
		 const char *b)
{
	size_t need = strlen(fmt) + strlen(a) + strlen(b) + 1;
	if (x->n + need >= x->cap) {
		x->cap = (x->cap + need) * 2;
		x->s = realloc(x->s, x->cap);
		if (!x->s)
			bail("realloc", NULL, 0);
	}
	x->n += (size_t)sprintf(x->s + x->n, fmt, a, b);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line per name below dir: path, type, bytes (content CID and size,
 * or target), mode; skip: a path not to compare (or NULL). */
static void list(struct inode *dir, const char *at, char **lines,
		 size_t *n, const char *const *skip)
{
	struct tree_listing l;
	if (tree_list(dir, &l))
		bail("tree_list", at, 0);
	for (size_t i = 0; i < l.count; i++) {
		char path[4096], line[8192], cid[CID_TEXT_MAX] = "-";
		struct inode *in = tree_lookup(dir, l.entries[i].name)->inode;
		bool skipped = false;
		snprintf(path, sizeof(path), "%s%s%s", at, *at ? "/" : "",
			 l.entries[i].name);
		for (const char *const *s = skip; s && *s; s++)
			skipped |= strcmp(*s, path) == 0;
		if (skipped)
			continue;
		if (S_ISREG(in->mode) && in->content.size)
			cid_format(&in->content.cid, cid, sizeof(cid));
		snprintf(line, sizeof(line), "%s %o %s %llu %s rdev %llx", path,
			 in->mode, cid, (unsigned long long)in->content.size,
			 in->target ? in->target : "",
			 (unsigned long long)in->rdev);
		if (*n >= LIST_MAX)
			bail("list: too many", path, 0);
		lines[(*n)++] = strdup(line);
		if (S_ISDIR(in->mode))
			list(in, path, lines, n, skip);
	}
	tree_listing_free(&l);
}

static char *snapshot(struct fs_tree *t, const char *const *skip)
{
	char **lines = malloc(LIST_MAX * sizeof(*lines));
	struct text x = {0};
	size_t n = 0;

	list(t->root, "", lines, &n, skip);
	qsort(lines, n, sizeof(*lines), str_cmp);
	addf(&x, "%s%s", "", "");
	for (size_t i = 0; i < n; i++) {
		addf(&x, "%s%s", lines[i], "\n");
		free(lines[i]);
	}
	free(lines);
	return x.s;
}

/* The names in directory path, sorted, comma separated. */
static char *names_in(struct fs_tree *t, const char *path)
{
	struct inode *d = *path ? lookup(t, path) : t->root;
	struct tree_listing l;
	struct text x = {0};
	char **v;

	addf(&x, "%s%s", "", "");
	if (!d || !d->dir)
		return x.s;
	if (tree_list(d, &l))
		bail("tree_list", path, 0);
	v = malloc((l.count + 1) * sizeof(*v));
	for (size_t i = 0; i < l.count; i++)
		v[i] = l.entries[i].name;
	qsort(v, l.count, sizeof(*v), str_cmp);
	for (size_t i = 0; i < l.count; i++)
		addf(&x, "%s%s", i ? "," : "", v[i]);
	free(v);
	tree_listing_free(&l);
	return x.s;
}

/* ---- three trees from one base ---- */

struct trio {
	struct fs_tree *b, *l, *r;
	struct merge_stats sl, sr; /* stats of the merge into l, into r */
};

static void trio_new(struct trio *x, void (*base)(struct fs_tree *))
{
	struct fs_tree **t[3] = {&x->b, &x->l, &x->r};
	memset(x, 0, sizeof(*x));
	for (int i = 0; i < 3; i++) {
		if (tree_new(t[i], 1000, 1000, &t0))
			bail("tree_new", NULL, 0);
		if (base)
			base(*t[i]);
	}
	x->r->next_ino = REMOTE_RANGE;
}

static void trio_free(struct trio *x)
{
	tree_free(x->b);
	tree_free(x->l);
	tree_free(x->r);
}

/* Merge each side into the other (both plans made first), and check that
 * every record applies and that merging again changes nothing. */
static void merge_both(struct trio *x, const char *what)
{
	struct merge_plan pl, pr, again;
	size_t fl = 0, fr = 0;

	if (merge_plan(x->b, x->l, x->r, &t1, &pl) ||
	    merge_plan(x->b, x->r, x->l, &t1, &pr))
		bail("merge_plan", what, 0);
	merge_apply(x->l, &pl, NULL, NULL, &fl);
	merge_apply(x->r, &pr, NULL, NULL, &fr);
	ok(fl == 0 && fr == 0, "%s: every record applies (%zu, %zu failed)",
	   what, fl, fr);
	x->sl = pl.stats;
	x->sr = pr.stats;
	merge_plan_free(&pl);
	merge_plan_free(&pr);
	if (merge_plan(x->b, x->l, x->r, &t1, &again))
		bail("merge_plan again", what, 0);
	ok(again.n == 0, "%s: merging again changes nothing (%zu records)",
	   what, again.n);
	merge_plan_free(&again);
}

static void both_have(struct trio *x, const char *dir, const char *names,
		      const char *what)
{
	char *a = names_in(x->l, dir), *b = names_in(x->r, dir);
	is_str(a, names, "%s: local's %s/", what, dir);
	is_str(b, names, "%s: remote's %s/", what, dir);
	free(a);
	free(b);
}

static void same_trees(struct trio *x, const char *const *skip,
		       const char *what)
{
	char *a = snapshot(x->l, skip), *b = snapshot(x->r, skip);
	ok(strcmp(a, b) == 0, "%s: both sides hold the same names and bytes",
	   what);
	if (strcmp(a, b) != 0)
		tap_diag("local:\n%s\nremote:\n%s", a, b);
	free(a);
	free(b);
}

/* local merged with remote against base, in place: the records that
 * failed. */
static size_t merge_into(struct fs_tree *base, struct fs_tree *local,
			 struct fs_tree *remote)
{
	struct merge_plan p;
	size_t failed = 0;
	if (merge_plan(base, local, remote, &t1, &p))
		bail("merge_plan", NULL, 0);
	merge_apply(local, &p, NULL, NULL, &failed);
	merge_plan_free(&p);
	return failed;
}

/* ---- the rules, one by one ---- */

static void base_inbox(struct fs_tree *t)
{
	maildir(t, "");
	put(t, "new/1.M1.a", 1);
	put(t, "cur/2.M2.a:2,", 2);
	put(t, "cur/3.M3.a:2,FS", 3);
	put(t, "dovecot-uidlist", 4);
}

static void test_added(void)
{
	struct trio x;
	trio_new(&x, base_inbox);
	put(x.l, "new/10.L.a", 10);
	put(x.r, "new/20.R.b", 20);
	put(x.r, "cur/21.R.b:2,S", 21);
	merge_both(&x, "added on each side");
	both_have(&x, "new", "1.M1.a,10.L.a,20.R.b", "added on each side");
	both_have(&x, "cur", "2.M2.a:2,,21.R.b:2,S,3.M3.a:2,FS",
		  "added on each side");
	is_int(x.sl.added, 2, "into local: two messages added");
	is_int(x.sr.added, 1, "into remote: one message added");
	same_trees(&x, NULL, "added on each side");
	ok(lookup(x.l, "new/20.R.b")->ino == lookup(x.r, "new/20.R.b")->ino,
	   "a remote message keeps its inode number");
	trio_free(&x);
}

/* A scenario of renames and deletions: each side's changes (from, to;
 * to NULL: unlink), then the names two directories hold on both sides. */
struct scenario {
	const char *what;
	bool folders; /* base_folders, else base_inbox */
	const char *local[3][2], *remote[3][2];
	const char *dir[2], *names[2];
	int renamed; /* messages renamed into local, or -1: not checked */
};

static const struct scenario scenarios[] = {
	{"new/ -> cur/ on one side", false,
	 {{"new/1.M1.a", "cur/1.M1.a:2,S"}}, /* read on local */
	 {{"cur/2.M2.a:2,", "cur/2.M2.a:2,R"}}, /* replied on remote */
	 {"new", "cur"}, {"", "1.M1.a:2,S,2.M2.a:2,R,3.M3.a:2,FS"}, 1},
	{"new/ -> cur/ on both sides, other flags", false,
	 {{"new/1.M1.a", "cur/1.M1.a:2,S"}},
	 {{"new/1.M1.a", "cur/1.M1.a:2,F"}},
	 {"new", "cur"}, {"", "1.M1.a:2,FS,2.M2.a:2,,3.M3.a:2,FS"}, 1},
	{"S on one side, F on the other", false,
	 {{"cur/2.M2.a:2,", "cur/2.M2.a:2,S"},
	  /* S removed on local, T added on remote: F T. */
	  {"cur/3.M3.a:2,FS", "cur/3.M3.a:2,F"}},
	 {{"cur/2.M2.a:2,", "cur/2.M2.a:2,F"},
	  {"cur/3.M3.a:2,FS", "cur/3.M3.a:2,FST"}},
	 {"cur", "new"}, {"2.M2.a:2,FS,3.M3.a:2,FT", "1.M1.a"}, 2},
	{"a flag removed, untouched on the other side", false, {{NULL}},
	 {{"cur/3.M3.a:2,FS", "cur/3.M3.a:2,S"}},
	 {"cur", "new"}, {"2.M2.a:2,,3.M3.a:2,S", "1.M1.a"}, 1},
	{"filed on local, flagged on remote", true,
	 {{"cur/2.M2.a:2,", ".Foo/cur/2.M2.a:2,"}},
	 {{"cur/2.M2.a:2,", "cur/2.M2.a:2,F"}},
	 {".Foo/cur", "cur"}, {"2.M2.a:2,F,5.M5.a:2,S,6.M6.a:2,", "3.M3.a:2,FS"},
	 -1},
	/* Renamed on remote while mail was filed into it on local: the
	 * folder stays under its old name with that mail (merge.h). */
	{"renamed on remote, filed into on local", true,
	 {{"cur/2.M2.a:2,", ".Foo/cur/2.M2.a:2,"}}, {{".Foo", ".Bar"}},
	 {".Bar/cur", ".Foo/cur"}, {"5.M5.a:2,S,6.M6.a:2,", "2.M2.a:2,"}, -1},
};

static void base_folders(struct fs_tree *t);

static void run_changes(struct fs_tree *t, const char *const (*ops)[2])
{
	for (int i = 0; i < 3 && ops[i][0]; i++) {
		if (ops[i][1])
			mv(t, ops[i][0], ops[i][1]);
		else
			rm(t, ops[i][0], false);
	}
}

static void test_scenarios(void)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(*scenarios); i++) {
		const struct scenario *sc = &scenarios[i];
		struct trio x;
		trio_new(&x, sc->folders ? base_folders : base_inbox);
		run_changes(x.l, sc->local);
		run_changes(x.r, sc->remote);
		merge_both(&x, sc->what);
		for (int d = 0; d < 2; d++)
			both_have(&x, sc->dir[d], sc->names[d], sc->what);
		if (sc->renamed >= 0)
			is_int(x.sl.renamed, sc->renamed,
			       "%s: messages renamed into local", sc->what);
		same_trees(&x, NULL, sc->what);
		trio_free(&x);
	}
}

static void test_deletion_wins(void)
{
	struct trio x;
	trio_new(&x, base_inbox);
	rm(x.l, "cur/2.M2.a:2,", false);
	mv(x.r, "cur/2.M2.a:2,", "cur/2.M2.a:2,F"); /* flagged meanwhile */
	rm(x.r, "new/1.M1.a", false);
	mv(x.l, "new/1.M1.a", "cur/1.M1.a:2,S"); /* read meanwhile */
	rm(x.r, "cur/3.M3.a:2,FS", false);
	rewrite(x.l, "cur/3.M3.a:2,FS", 33); /* rewritten meanwhile */
	merge_both(&x, "deletion against changes");
	both_have(&x, "cur", "", "deletion against changes");
	both_have(&x, "new", "", "deletion against changes");
	is_int(x.sl.removed, 2, "two messages removed from local");
	is_int(x.sr.removed, 1, "one from remote: it had deleted the others");
	trio_free(&x);
}

static void base_folders(struct fs_tree *t)
{
	base_inbox(t);
	maildir(t, ".Foo");
	put(t, ".Foo/cur/5.M5.a:2,S", 5);
	put(t, ".Foo/cur/6.M6.a:2,", 6);
	maildir(t, ".Old");
}

static void drop_folder(struct fs_tree *t, const char *f, const char *msgs)
{
	char p[256], list_[256], *save = NULL;
	snprintf(list_, sizeof(list_), "%s", msgs);
	for (char *m = strtok_r(list_, "|", &save); m;
	     m = strtok_r(NULL, "|", &save)) {
		snprintf(p, sizeof(p), "%s/%s", f, m);
		rm(t, p, false);
	}
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", f,
			 (const char *[]){"cur", "new", "tmp"}[i]);
		rm(t, p, true);
	}
	rm(t, f, true);
}

static void test_folder_deleted(void)
{
	struct trio x;
	trio_new(&x, base_folders);
	drop_folder(x.l, ".Foo", "cur/5.M5.a:2,S|cur/6.M6.a:2,");
	put(x.r, ".Foo/new/30.R.b", 30);
	mv(x.r, ".Foo/cur/6.M6.a:2,", ".Foo/cur/6.M6.a:2,F");
	drop_folder(x.r, ".Old", "");
	merge_both(&x, "folder deleted, mail arrived in it");
	both_have(&x, ".Foo", "cur,new,tmp",
		  "folder deleted, mail arrived in it: the Maildir stays");
	both_have(&x, ".Foo/new", "30.R.b",
		  "folder deleted, mail arrived in it: with that mail");
	both_have(&x, ".Foo/cur", "",
		  "folder deleted, mail arrived in it: the rest is gone");
	ok(!lookup(x.l, ".Old") && !lookup(x.r, ".Old"),
	   "an empty folder deleted on one side is gone");
	same_trees(&x, NULL, "folder deleted");
	trio_free(&x);
}

/* The folder renamed on remote, a message read in it on local: its
 * messages go with it (by temporary names: their directory goes). */
static void test_folder_renamed(void)
{
	struct trio x;
	char *top;

	trio_new(&x, base_folders);
	mv(x.r, ".Foo", ".Bar");
	mv(x.l, ".Foo/cur/6.M6.a:2,", ".Foo/cur/6.M6.a:2,S");
	merge_both(&x, "folder renamed");
	both_have(&x, ".Bar/cur", "5.M5.a:2,S,6.M6.a:2,S",
		  "read, in the renamed folder");
	both_have(&x, ".Bar", "cur,new,tmp", "the renamed folder whole");
	ok(!lookup(x.l, ".Foo"), "the old folder name is gone on local");
	top = names_in(x.l, "");
	ok(!strstr(top, MERGE_TEMP_PREFIX), "no temporary name is left: %s",
	   top);
	free(top);
	same_trees(&x, NULL, "folder renamed");
	trio_free(&x);
}

static void test_other_files(void)
{
	struct trio x;
	const char *const skip[] = {"dovecot-uidlist", NULL};

	trio_new(&x, base_inbox);
	put(x.l, "subscriptions", 40);
	rewrite(x.r, "dovecot-uidlist", 41);
	merge_both(&x, "other files, one side");
	ok(lookup(x.l, "subscriptions") && lookup(x.r, "subscriptions"),
	   "a file added on one side is on both");
	ok(cid_equal(&lookup(x.l, "dovecot-uidlist")->content.cid,
		     &lookup(x.r, "dovecot-uidlist")->content.cid) &&
		   lookup(x.l, "dovecot-uidlist")->content.size ==
			   content_of(41).size,
	   "a file changed on one side: that side's");
	is_int(x.sl.conflicts, 0, "no conflict");
	trio_free(&x);

	trio_new(&x, base_inbox);
	rewrite(x.l, "dovecot-uidlist", 50);
	rewrite(x.r, "dovecot-uidlist", 51);
	merge_both(&x, "other files, both sides");
	ok(lookup(x.l, "dovecot-uidlist")->content.size ==
			   content_of(50).size &&
		   lookup(x.r, "dovecot-uidlist")->content.size ==
			   content_of(51).size,
	   "both changed: each keeps its own");
	is_int(x.sl.conflicts, 1, "one conflict counted");
	same_trees(&x, skip, "other files, both sides");
	trio_free(&x);

	trio_new(&x, base_inbox);
	rm(x.l, "dovecot-uidlist", false);
	merge_both(&x, "other file deleted on one side");
	ok(!lookup(x.l, "dovecot-uidlist") && !lookup(x.r, "dovecot-uidlist"),
	   "deleted on one side, untouched on the other: deleted");
	trio_free(&x);

	trio_new(&x, base_inbox);
	rm(x.l, "dovecot-uidlist", false);
	rewrite(x.r, "dovecot-uidlist", 52);
	merge_both(&x, "other file deleted and changed");
	ok(!lookup(x.l, "dovecot-uidlist") && lookup(x.r, "dovecot-uidlist"),
	   "deleted on one side, changed on the other: each its own");
	trio_free(&x);
}

/* Dovecot's index files where the local tree makes them local cache files
 * (tree->index_local, merge.h): an ordinary one of the other side (an
 * earlier release's, or an index_cache=off device's) is never taken. */
static int cache_mark; /* what an inode's cache points at here */

static void mk_cache(struct fs_tree *t, const char *path)
{
	mk(t, path, S_IFREG | 0600, NULL);
	lookup(t, path)->cache = (struct cache_file *)&cache_mark;
}

static void base_index(struct fs_tree *t)
{
	base_inbox(t);
	put(t, "dovecot.index.log", 60);
	put(t, "dovecot.list.index", 61);
	put(t, "dovecot.index.cache", 62);
}

static bool holds(struct fs_tree *t, const char *path, uint64_t seed)
{
	struct inode *in = lookup(t, path);
	struct obj_ref c = content_of(seed);
	return in && !in->cache && cid_equal(&in->content.cid, &c.cid);
}

static void test_index_files(void)
{
	struct trio x;
	const char *const skip[] = {"dovecot.index", NULL};

	/* The hazard: a cache file here, an ordinary file of that name
	 * there (no base has it): the create could not apply. */
	trio_new(&x, base_inbox);
	x.l->index_local = true;
	mk_cache(x.l, "dovecot.index");
	put(x.r, "dovecot.index", 70);
	put(x.r, "dovecot.index.log", 71);
	put(x.r, "new/4.M4.b", 72);
	is_int(merge_into(x.b, x.l, x.r), 0,
	       "index names: every record applies over a local cache file");
	ok(lookup(x.l, "dovecot.index") && lookup(x.l, "dovecot.index")->cache,
	   "the local cache file stays");
	ok(!lookup(x.l, "dovecot.index.log"),
	   "an index file the other side added is not taken");
	ok(lookup(x.l, "new/4.M4.b") != NULL, "its mail is");
	/* The other side takes the merge (its head is the merge's base):
	 * both end with the same files, none of the index names. */
	x.r->index_local = true;
	struct fs_tree *rb = x.r;
	if (tree_new(&x.r, 1000, 1000, &t0))
		bail("tree_new", NULL, 0);
	base_inbox(x.r);
	x.r->next_ino = REMOTE_RANGE; /* the same tree as rb: its copy */
	put(x.r, "dovecot.index", 70);
	put(x.r, "dovecot.index.log", 71);
	put(x.r, "new/4.M4.b", 72);
	x.r->index_local = true;
	is_int(merge_into(rb, x.r, x.l), 0,
	       "the other side merges it back: every record applies");
	ok(!lookup(x.r, "dovecot.index") && !lookup(x.r, "dovecot.index.log"),
	   "the other side drops its ordinary index files with the merge");
	same_trees(&x, skip, "index names, both ways");
	tree_free(rb);
	trio_free(&x);

	/* Changed there, untouched here: not taken (the file goes: the
	 * other side's is treated as absent); changed here: kept. */
	trio_new(&x, base_index);
	x.l->index_local = true;
	rewrite(x.r, "dovecot.index.log", 80);
	rewrite(x.r, "dovecot.list.index", 81);
	rewrite(x.l, "dovecot.list.index", 82);
	rm(x.r, "dovecot.index.cache", false);
	put(x.r, "dovecot-uidlist.lock", 83);
	is_int(merge_into(x.b, x.l, x.r), 0, "index changes: every record "
	       "applies");
	ok(!lookup(x.l, "dovecot.index.log"),
	   "changed there, untouched here: gone, not the other side's");
	ok(holds(x.l, "dovecot.list.index", 82), "changed here: kept");
	ok(!lookup(x.l, "dovecot.index.cache"), "deleted there: gone");
	ok(holds(x.l, "dovecot-uidlist.lock", 83),
	   "other names merge as before");
	trio_free(&x);

	/* -o index_cache=off (no index_local): index files are mailbox
	 * files, merged as every other file. */
	trio_new(&x, base_index);
	rewrite(x.r, "dovecot.index.log", 90);
	put(x.r, "dovecot.index", 91);
	merge_both(&x, "index files as mailbox files");
	ok(holds(x.l, "dovecot.index.log", 90) && holds(x.l, "dovecot.index", 91),
	   "without index_local the other side's index files are taken");
	trio_free(&x);
}

/* A special file: a FIFO, a socket or (rdev given) a device node. */
static void mknod_(struct fs_tree *t, const char *path, uint32_t mode,
		   uint64_t rdev)
{
	mk_node(t, path, mode, NULL, rdev);
}

static void base_special(struct fs_tree *t)
{
	base_inbox(t);
	mknod_(t, "queue", S_IFIFO | 0600, 0);
}

/* Special files are "other files" to a merge: added, changed (chmod),
 * renamed or removed on one side, the merge does the same on the other,
 * type and device number kept. */
static void test_special_files(void)
{
	struct trio x;

	trio_new(&x, base_special);
	mknod_(x.l, "null", S_IFCHR | 0666, 0x103);
	mknod_(x.l, "loop0", S_IFBLK | 0660, 0x700);
	mknod_(x.r, "sock", S_IFSOCK | 0755, 0);
	apply(x.r,
	      (struct record){.op = REC_SETATTR,
			      .ino = lookup(x.r, "queue")->ino,
			      .set = REC_SET_MODE, .mode = 0640},
	      "queue");
	merge_both(&x, "special files");
	same_trees(&x, NULL, "special files");
	struct inode *null_ = lookup(x.r, "null"), *loop = lookup(x.r, "loop0");
	struct inode *sock = lookup(x.l, "sock"), *q = lookup(x.l, "queue");
	ok(null_ && S_ISCHR(null_->mode) && null_->rdev == 0x103 && loop &&
		   S_ISBLK(loop->mode) && loop->rdev == 0x700,
	   "devices made on one side: on the other, with their numbers");
	ok(sock && S_ISSOCK(sock->mode), "a socket made on one side too");
	ok(q && q->mode == (S_IFIFO | 0640), "a FIFO chmod'ed on one side");
	is_int(x.sl.conflicts, 0, "no conflict");
	trio_free(&x);

	trio_new(&x, base_special);
	mv(x.l, "queue", "queue.old");
	merge_both(&x, "a FIFO renamed on one side");
	ok(!lookup(x.r, "queue") && lookup(x.r, "queue.old") &&
		   S_ISFIFO(lookup(x.r, "queue.old")->mode),
	   "renamed on the other side too");
	trio_free(&x);

	trio_new(&x, base_special);
	rm(x.r, "queue", false);
	merge_both(&x, "a FIFO removed on one side");
	ok(!lookup(x.l, "queue") && !lookup(x.r, "queue"),
	   "removed on both");
	trio_free(&x);
}

static void base_swap(struct fs_tree *t)
{
	base_inbox(t);
	put(t, "a", 70);
	put(t, "b", 71);
}

static void test_links_and_swaps(void)
{
	struct trio x;
	trio_new(&x, base_folders);
	/* Dovecot's COPY: a hard link under a new unique name. */
	ln(x.r, "cur/3.M3.a:2,FS", ".Foo/cur/7.M7.a:2,FS");
	mk(x.r, "link", S_IFLNK | 0777, ".Foo");
	put(x.l, "a", 60);
	put(x.l, "b", 61);
	put(x.r, "c", 62);
	merge_both(&x, "links");
	ok(lookup(x.l, ".Foo/cur/7.M7.a:2,FS") ==
		   lookup(x.l, "cur/3.M3.a:2,FS"),
	   "a hard link made on remote is one on local");
	ok(lookup(x.l, "link") && lookup(x.l, "link")->target &&
		   strcmp(lookup(x.l, "link")->target, ".Foo") == 0,
	   "a symlink made on remote, with its target");
	trio_free(&x);

	/* Two files swapped on remote (a -> t, b -> a, t -> b). */
	trio_new(&x, base_swap);
	mv(x.r, "a", "t");
	mv(x.r, "b", "a");
	mv(x.r, "t", "b");
	merge_both(&x, "swap");
	ok(lookup(x.l, "a")->content.size == content_of(71).size &&
		   lookup(x.l, "b")->content.size == content_of(70).size,
	   "a swap on remote is a swap on local");
	ok(lookup(x.l, "a")->ino == lookup(x.r, "a")->ino,
	   "the swapped names keep their inodes");
	trio_free(&x);
}

/* Two devices that allocate the same numbers (a copied store directory:
 * the mount gives a copy a range of its own, this is the engine's
 * guard): two files under one number stay two files. */
static void test_duplicated_range(void)
{
	struct trio x;
	trio_new(&x, base_inbox);
	x.r->next_ino = x.l->next_ino;
	put(x.l, "new/40.L.a", 40);
	put(x.r, "new/41.R.b", 41);
	ok(lookup(x.l, "new/40.L.a")->ino == lookup(x.r, "new/41.R.b")->ino,
	   "the two sides gave one number to two messages");
	struct merge_plan pl, pr;
	size_t fl = 1, fr = 1;
	if (merge_plan(x.b, x.l, x.r, &t1, &pl) ||
	    merge_plan(x.b, x.r, x.l, &t1, &pr))
		bail("merge_plan", "duplicated range", 0);
	merge_apply(x.l, &pl, NULL, NULL, &fl);
	merge_apply(x.r, &pr, NULL, NULL, &fr);
	merge_plan_free(&pl);
	merge_plan_free(&pr);
	ok(fl == 0 && fr == 0, "duplicated range: every record applies");
	struct inode *a = lookup(x.l, "new/40.L.a"),
		     *b = lookup(x.l, "new/41.R.b");
	ok(a && b && a != b && a->content.size == content_of(40).size &&
		   b->content.size == content_of(41).size,
	   "each keeps its own bytes under a number of its own");
	same_trees(&x, NULL, "duplicated range");
	/* Merging again renumbers (each side keeps its own inodes, so the
	 * two disagree on numbers until one fast-forwards to the other's
	 * commit), but names and bytes stay. */
	char *before = snapshot(x.l, NULL), *after;
	fl = merge_into(x.b, x.l, x.r);
	after = snapshot(x.l, NULL);
	ok(fl == 0 && strcmp(before, after) == 0,
	   "duplicated range: merging again keeps names and bytes");
	free(before);
	free(after);
	trio_free(&x);
}

/* A device's allocator stays in its range though a merge inserts the
 * other device's numbers (fs/model/tree.h, tree_set_range). */
static void test_ranges(void)
{
	struct trio x;
	struct inode *out;
	struct tree_new_inode spec = {.mode = S_IFREG | 0600};
	uint64_t end = UINT64_C(8) << TREE_INO_RANGE_BITS;

	trio_new(&x, base_inbox);
	is_int(tree_set_range(x.l, 0, x.l->next_ino), 0, "local: range 0");
	is_int(tree_set_range(x.r, 7, REMOTE_RANGE), 0, "remote: range 7");
	put(x.l, "new/50.L", 50);
	put(x.r, "new/51.R", 51);
	uint64_t before = x.l->next_ino;
	merge_both(&x, "ranges");
	is_int(x.l->next_ino, before,
	       "local's next number stays in its range after the merge");
	ok(tree_ino_range(x.r->next_ino) == 7,
	   "remote's next number stays in its range after the merge");
	is_int(tree_set_range(x.l, TREE_DEVICES, 5), -EINVAL,
	       "a device past TREE_DEVICES: -EINVAL");
	is_int(tree_set_range(x.l, 7, 5), -EINVAL,
	       "a next number outside the range: -EINVAL");
	is_int(tree_set_range(x.l, 0, 1), -EINVAL, "device 0 starts above the root");
	is_int(tree_set_range(x.r, 7, end - 1), 0, "remote near its end");
	is_int(tree_create(x.r, x.r->root, "last", &spec, &t0, &out), 0,
	       "the last number of the range is allocated");
	is_int(tree_create(x.r, x.r->root, "past", &spec, &t0, &out), -ENOSPC,
	       "past the range's end: -ENOSPC");
	trio_free(&x);
}

static void test_no_base(void)
{
	struct trio x;

	trio_new(&x, base_inbox);
	mv(x.l, "cur/2.M2.a:2,", "cur/2.M2.a:2,S");
	mv(x.r, "cur/2.M2.a:2,", "cur/2.M2.a:2,F");
	rm(x.r, "new/1.M1.a", false);
	is_int(merge_into(NULL, x.l, x.r), 0,
	       "without a base: every record applies");
	char *cur = names_in(x.l, "cur"), *nw = names_in(x.l, "new");
	is_str(cur, "2.M2.a:2,FS,3.M3.a:2,FS",
	       "without a base: flags united");
	is_str(nw, "1.M1.a", "without a base: nothing is deleted");
	free(cur);
	free(nw);
	trio_free(&x);
}

static void test_attributes(void)
{
	struct trio x;
	trio_new(&x, base_folders);
	apply(x.r,
	      (struct record){.op = REC_SETATTR,
			      .ino = lookup(x.r, ".Foo")->ino,
			      .set = REC_SET_MODE, .mode = 0750},
	      ".Foo");
	apply(x.r,
	      (struct record){.op = REC_SETATTR,
			      .ino = lookup(x.r, "new/1.M1.a")->ino,
			      .set = REC_SET_MTIME | REC_SET_MODE,
			      .mode = 0640, .mtime = t1},
	      "new/1.M1.a");
	merge_both(&x, "attributes");
	ok((lookup(x.l, ".Foo")->mode & 07777) == 0750,
	   "a directory's mode changed on remote");
	ok((lookup(x.l, "new/1.M1.a")->mode & 07777) == 0640 &&
		   lookup(x.l, "new/1.M1.a")->mtime.tv_sec == t1.tv_sec,
	   "a message's mode and mtime changed on remote");
	trio_free(&x);
}

static void test_refusals(void)
{
	struct merge_plan p;
	struct trio x;

	trio_new(&x, base_inbox);
	ok(merge_plan(x.b, NULL, x.r, &t1, &p) == -EINVAL, "no local: -EINVAL");
	/* A message on remote where local has a directory with mail. */
	put(x.r, "cur/9.M9.a", 90);
	mkdir_(x.l, "cur/9.M9.a");
	put(x.l, "cur/9.M9.a/x", 91);
	mkdir_(x.l, "cur/9.M9.a/cur");
	put(x.l, "cur/9.M9.a/cur/y", 92);
	ok(merge_plan(x.b, x.l, x.r, &t1, &p) == -EEXIST,
	   "a message where mail is kept below a directory: -EEXIST");
	merge_plan_free(&p);
	ok(p.n == 0 && p.recs == NULL, "nothing returned after an error");
	trio_free(&x);
}

/* ---- random histories ---- */

#define CASES 300
#define MSGS_MAX 512
static const char flag_chars[] = "DFRST";

struct rng {
	uint64_t x;
};

static uint64_t next(struct rng *g)
{
	uint64_t v;
	tap_fill_random((uint8_t *)&v, sizeof(v), ++g->x);
	return v;
}

static unsigned pick(struct rng *g, unsigned n)
{
	return n ? (unsigned)(next(g) % n) : 0;
}

/* A message as the generator sees it. */
struct msg {
	char folder[64], uniq[64], flags[8];
	int sub; /* 0 cur, 1 new */
};

struct history {
	struct msg m[MSGS_MAX];
	size_t n;
	char folders[16][64];
	size_t nfolders;
	char added[MSGS_MAX][64];   /* unique names this side added */
	size_t nadded;
	char deleted[MSGS_MAX][64]; /* unique names this side deleted */
	size_t ndeleted;
	unsigned touched; /* other files (bit per name) changed or deleted */
};

static const char *const others[] = {"dovecot-uidlist", "subscriptions",
				     "dovecot.index"};
#define NOTHERS 3

static void msg_path(const struct msg *m, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s/%s%s%s", m->folder, *m->folder ? "/" : "",
		 m->sub ? "new" : "cur", m->uniq, m->sub ? "" : ":2,",
		 m->flags);
}

static void deliver(struct fs_tree *t, struct history *h, struct rng *g,
		    const char *uniq, bool to_cur)
{
	struct msg *m;
	char p[256];
	if (h->n == MSGS_MAX || h->nfolders == 0)
		return;
	m = &h->m[h->n++];
	memset(m, 0, sizeof(*m));
	memcpy(m->folder, h->folders[pick(g, (unsigned)h->nfolders)],
	       sizeof(m->folder));
	snprintf(m->uniq, sizeof(m->uniq), "%s", uniq);
	m->sub = !to_cur;
	msg_path(m, p, sizeof(p));
	put(t, p, next(g) % 100000);
}

/* Flags in the Maildir order (ASCII). */
static void toggle(char *flags, char f)
{
	char out[8];
	size_t n = 0;
	bool had = strchr(flags, f) != NULL;
	for (const char *c = flag_chars; *c; c++)
		if (*c == f ? !had : strchr(flags, *c) != NULL)
			out[n++] = *c;
	out[n] = '\0';
	strcpy(flags, out);
}

static void drop_msg(struct fs_tree *t, struct history *h, size_t i)
{
	char p[256];
	msg_path(&h->m[i], p, sizeof(p));
	rm(t, p, false);
	if (h->ndeleted < MSGS_MAX)
		strcpy(h->deleted[h->ndeleted++], h->m[i].uniq);
	if (i != --h->n)
		h->m[i] = h->m[h->n];
}

static void remove_folder(struct fs_tree *t, struct history *h, size_t f)
{
	for (size_t i = 0; i < h->n;)
		if (strcmp(h->m[i].folder, h->folders[f]) == 0)
			drop_msg(t, h, i);
		else
			i++;
	drop_folder(t, h->folders[f], "");
	if (f != --h->nfolders)
		memcpy(h->folders[f], h->folders[h->nfolders],
		       sizeof(h->folders[f]));
}

static void other_op(struct fs_tree *t, struct history *h, struct rng *g)
{
	unsigned k = pick(g, NOTHERS);
	h->touched |= 1u << k;
	if (!lookup(t, others[k]))
		put(t, others[k], next(g) % 100000);
	else if (pick(g, 3))
		rewrite(t, others[k], next(g) % 100000);
	else
		rm(t, others[k], false);
}

static void new_folder(struct fs_tree *t, struct history *h, struct rng *g,
		       char side, unsigned n)
{
	char name[64];
	if (h->nfolders == 16)
		return;
	/* Sometimes a name the other side may make too. */
	if (pick(g, 3) == 0)
		snprintf(name, sizeof(name), ".Shared");
	else
		snprintf(name, sizeof(name), ".F%c%u", side, n);
	if (lookup(t, name))
		return;
	maildir(t, name);
	strcpy(h->folders[h->nfolders++], name);
}

/* A folder (never the inbox) renamed, its mail with it. */
static void rename_folder(struct fs_tree *t, struct history *h,
			  struct rng *g, char side, unsigned n)
{
	char name[64];
	size_t f;

	if (h->nfolders < 2)
		return;
	f = 1 + pick(g, (unsigned)h->nfolders - 1);
	snprintf(name, sizeof(name), ".M%c%u", side, n);
	if (lookup(t, name))
		return;
	mv(t, h->folders[f], name);
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->m[i].folder, h->folders[f]) == 0)
			strcpy(h->m[i].folder, name);
	strcpy(h->folders[f], name);
}

/* One random change to t by side ('B' building the base, 'L', 'R'). */
static void change(struct fs_tree *t, struct history *h, struct rng *g,
		   char side, unsigned n)
{
	char from[256], to[256], uniq[64];
	struct msg *m = h->n ? &h->m[pick(g, (unsigned)h->n)] : NULL;

	switch (pick(g, 11)) {
	case 0:
	case 1:
		snprintf(uniq, sizeof(uniq), "%c%u.%llx", side, n,
			 (unsigned long long)(next(g) & 0xffff));
		deliver(t, h, g, uniq, false);
		if (side != 'B' && h->nadded < MSGS_MAX)
			strcpy(h->added[h->nadded++], uniq);
		return;
	case 2: /* read: new/ -> cur/ */
		if (!m || !m->sub)
			return;
		msg_path(m, from, sizeof(from));
		m->sub = 0;
		if (pick(g, 2))
			toggle(m->flags, 'S');
		break;
	case 3:
	case 4: /* a flag */
		if (!m || m->sub)
			return;
		msg_path(m, from, sizeof(from));
		toggle(m->flags, flag_chars[pick(g, 5)]);
		break;
	case 5: /* expunge */
		if (m)
			drop_msg(t, h, (size_t)(m - h->m));
		return;
	case 6: /* file into another folder */
		if (!m || h->nfolders < 2)
			return;
		msg_path(m, from, sizeof(from));
		memcpy(m->folder, h->folders[pick(g, (unsigned)h->nfolders)],
		       sizeof(m->folder));
		break;
	case 7:
		other_op(t, h, g);
		return;
	case 8:
		new_folder(t, h, g, side, n);
		return;
	case 9:
		rename_folder(t, h, g, side, n);
		return;
	default: /* drop a folder (never the inbox) */
		if (h->nfolders > 1 && pick(g, 2)) {
			size_t f = 1 + pick(g, (unsigned)h->nfolders - 1);
			if (*h->folders[f])
				remove_folder(t, h, f);
		}
		return;
	}
	msg_path(m, to, sizeof(to));
	if (strcmp(from, to) != 0)
		mv(t, from, to);
}

static void build_base(struct fs_tree *t, struct history *h, uint64_t seed)
{
	struct rng g = {seed * 2654435761u + 1};
	memset(h, 0, sizeof(*h));
	maildir(t, "");
	h->nfolders = 1; /* the inbox: "" */
	new_folder(t, h, &g, 'B', 0);
	for (unsigned i = 0; i < NOTHERS; i++)
		if (pick(&g, 2))
			put(t, others[i], 900 + i);
	for (unsigned i = 0, n = 5 + pick(&g, 20); i < n; i++) {
		char uniq[64];
		snprintf(uniq, sizeof(uniq), "B%u.%llx", i,
			 (unsigned long long)(seed & 0xffff));
		deliver(t, h, &g, uniq, pick(&g, 2));
	}
	for (unsigned i = 0; i < 10; i++)
		change(t, h, &g, 'B', i);
	h->nadded = h->ndeleted = 0;
	h->touched = 0;
}

/* The side's random history on top of the base (h is the base's). */
static void build_side(struct fs_tree *t, struct history *h, uint64_t seed,
		       char side)
{
	struct rng g = {seed * 40503u + (uint64_t)side};
	for (unsigned i = 0, n = pick(&g, 25); i < n; i++)
		change(t, h, &g, side, i);
}

/* Is a message of this unique name anywhere below dir? */
static bool has_uniq(struct inode *dir, bool msgdir, const char *uniq)
{
	size_t n = strlen(uniq);
	for (uint32_t b = 0; b < dir->dir->nbuckets; b++)
		for (struct dirent *e = dir->dir->buckets[b]; e;
		     e = e->hash_next) {
			if (S_ISDIR(e->inode->mode)) {
				if (has_uniq(e->inode,
					     !strcmp(e->name, "cur") ||
						     !strcmp(e->name, "new"),
					     uniq))
					return true;
			} else if (msgdir && strncmp(e->name, uniq, n) == 0 &&
				   (e->name[n] == '\0' || e->name[n] == ':')) {
				return true;
			}
		}
	return false;
}

static bool in_list(char (*v)[64], size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

struct tally {
	unsigned apply, encode, determinism, commute, idem, lost, undeleted;
	uint64_t first; /* the first case that failed */
	uint64_t records, conflicts, temps, mkdirs, rmdirs;
};

/* What the random merges did, so a reader sees the cases are varied. */
static void count_kinds(struct tally *y, const struct merge_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct record *r = &p->recs[i];
		y->temps += r->op == REC_RENAME &&
			    !strncmp(r->newname, MERGE_TEMP_PREFIX,
				     strlen(MERGE_TEMP_PREFIX));
		y->mkdirs += r->op == REC_CREATE && S_ISDIR(r->mode);
		y->rmdirs += r->op == REC_UNLINK && r->rmdir;
	}
}

static void fail(struct tally *y, unsigned *what, uint64_t c)
{
	(*what)++;
	if (!y->first)
		y->first = c;
}

static size_t plan_size(struct fs_tree *b, struct fs_tree *l,
			struct fs_tree *r)
{
	struct merge_plan p;
	size_t n;
	if (merge_plan(b, l, r, &t1, &p))
		bail("merge_plan", NULL, 0);
	n = p.n;
	merge_plan_free(&p);
	return n;
}

/* Every record journals (record_encode), and a second plan of the same
 * trees is the same records. */
static void check_records(struct tally *y, uint64_t c, struct fs_tree *b,
			  struct fs_tree *l, struct fs_tree *r,
			  const struct merge_plan *p)
{
	struct merge_plan q;
	bool same;

	if (merge_plan(b, l, r, &t1, &q))
		bail("merge_plan", NULL, 0);
	same = q.n == p->n;
	for (size_t i = 0; i < p->n; i++) {
		char *a = NULL, *z = NULL;
		size_t al, zl;
		if (record_encode(&p->recs[i], &a, &al) != 0)
			fail(y, &y->encode, c);
		else if (same && (record_encode(&q.recs[i], &z, &zl) != 0 ||
				  al != zl || memcmp(a, z, al) != 0))
			same = false;
		free(a);
		free(z);
	}
	if (!same)
		fail(y, &y->determinism, c);
	merge_plan_free(&q);
}

static void check_messages(struct tally *y, uint64_t c, struct fs_tree *t,
			   const struct history *hl, const struct history *hr)
{
	const struct history *hs[2] = {hl, hr};
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < hs[s]->nadded; i++) {
			const char *u = hs[s]->added[i];
			if (in_list((char(*)[64])hl->deleted, hl->ndeleted, u) ||
			    in_list((char(*)[64])hr->deleted, hr->ndeleted, u))
				continue;
			if (!has_uniq(t->root, false, u))
				fail(y, &y->lost, c);
		}
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < hs[s]->ndeleted; i++)
			if (has_uniq(t->root, false, hs[s]->deleted[i]))
				fail(y, &y->undeleted, c);
}

static struct fs_tree *grow(uint64_t c, struct history *h, char side)
{
	struct fs_tree *t;
	if (tree_new(&t, 1000, 1000, &t0))
		bail("tree_new", NULL, 0);
	build_base(t, h, c);
	if (side == 'R')
		t->next_ino = REMOTE_RANGE;
	if (side != 'B')
		build_side(t, h, c, side);
	return t;
}

static void one_case(struct tally *y, uint64_t c, struct history *h)
{
	struct history *hl = &h[0], *hr = &h[1], *scratch = &h[2];
	struct fs_tree *b = grow(c, scratch, 'B'), *l = grow(c, hl, 'L'),
		       *r = grow(c, hr, 'R'), *l0 = grow(c, scratch, 'L'),
		       *r0 = grow(c, scratch, 'R');
	const char *skip[NOTHERS + 1] = {NULL};
	struct merge_plan pl, pr;
	size_t fl, fr, ns = 0;

	if (merge_plan(b, l, r, &t1, &pl) || merge_plan(b, r, l, &t1, &pr))
		bail("merge_plan", NULL, 0);
	check_records(y, c, b, l, r, &pl);
	y->records += pl.n;
	y->conflicts += pl.stats.conflicts;
	count_kinds(y, &pl);
	merge_apply(l, &pl, NULL, NULL, &fl);
	merge_apply(r, &pr, NULL, NULL, &fr);
	if (fl || fr)
		fail(y, &y->apply, c);
	merge_plan_free(&pl);
	merge_plan_free(&pr);
	/* Other files both sides changed: each keeps its own (merge.h). */
	for (unsigned k = 0; k < NOTHERS; k++)
		if (hl->touched & hr->touched & (1u << k))
			skip[ns++] = others[k];
	char *a = snapshot(l, skip), *z = snapshot(r, skip);
	if (strcmp(a, z) != 0) {
		if (!y->commute)
			tap_diag("case %llu:\nlocal:\n%s\nremote:\n%s",
				 (unsigned long long)c, a, z);
		fail(y, &y->commute, c);
	}
	free(a);
	free(z);
	if (plan_size(b, l, r0) || plan_size(b, l, l0) || plan_size(b, r, l0) ||
	    plan_size(b, l, r))
		fail(y, &y->idem, c);
	check_messages(y, c, l, hl, hr);
	check_messages(y, c, r, hl, hr);
	tree_free(b);
	tree_free(l);
	tree_free(r);
	tree_free(l0);
	tree_free(r0);
}

static void test_property(void)
{
	struct history *h = calloc(3, sizeof(*h));
	struct tally y;

	memset(&y, 0, sizeof(y));
	if (!h)
		bail("calloc", NULL, 0);
	for (uint64_t c = 1; c <= CASES; c++)
		one_case(&y, c, h);
	free(h);
	tap_diag("%d random histories: %llu records (%llu through a "
		 "temporary name, %llu mkdir, %llu rmdir), %llu conflicts",
		 CASES, (unsigned long long)y.records,
		 (unsigned long long)y.temps, (unsigned long long)y.mkdirs,
		 (unsigned long long)y.rmdirs, (unsigned long long)y.conflicts);
	ok(y.apply == 0, "every record of every merge applies (%u failed)",
	   y.apply);
	ok(y.encode == 0, "every record journals (%u did not)", y.encode);
	ok(y.determinism == 0, "the same trees give the same records (%u not)",
	   y.determinism);
	ok(y.commute == 0,
	   "commutative: the same names, flags and bytes whichever side is "
	   "local (%u cases not)",
	   y.commute);
	ok(y.idem == 0, "idempotent: merging a side in again changes nothing "
			"(%u cases not)",
	   y.idem);
	ok(y.lost == 0, "no message a side added and neither deleted is lost "
			"(%u lost)",
	   y.lost);
	ok(y.undeleted == 0, "every message a side deleted stays deleted (%u "
			     "came back)",
	   y.undeleted);
	if (y.first)
		tap_diag("first failing case: %llu", (unsigned long long)y.first);
}

/* ---- commits with several parents (fs/model/commit.h, version 2) ---- */

static struct mailbox_keys keys;
static struct obj_store st;

static void fake_cid(struct cid *c, uint64_t seed)
{
	uint8_t data[32];
	tap_fill_random(data, sizeof(data), seed);
	cid_of_raw_block(c, data, sizeof(data));
}

static struct commit sample(uint64_t seq)
{
	struct commit c;
	memset(&c, 0, sizeof(c));
	c.seq = seq;
	fake_cid(&c.parent, seq * 10 + 1);
	fake_cid(&c.tree.cid, seq * 10 + 2);
	tap_fill_random(c.tree.key, sizeof(c.tree.key), seq * 10 + 3);
	c.time_ns = 1700000000000000000LL;
	c.next_ino = 100;
	c.messages = 3;
	return c;
}

/* The plaintext of a sealed commit, as text (caller frees). */
static char *plain_of(const uint8_t *block, size_t len)
{
	char *p = calloc(1, len + 1);
	size_t n = 0;
	if (!p || seal_open((uint8_t *)p, &n, block, len, BLOCK_COMMIT,
			    keys.manifest) != 0)
		bail("seal_open", NULL, 0);
	return p;
}

/* o signed by the mailbox key and sealed, as a writer would if it wrote
 * that JSON. */
static int open_crafted(json_t *o, struct commit *c)
{
	uint8_t sig[IPMD_SIGNATURE_BYTES], *block;
	char b64[128], *canon = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	size_t n;
	int e;

	if (!canon || keys_sign(&keys, sig, (uint8_t *)canon, strlen(canon)))
		bail("sign", NULL, 0);
	free(canon);
	sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	json_object_set_new(o, "sig", json_string(b64));
	canon = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	n = strlen(canon);
	block = malloc(n + IPMD_SEAL_OVERHEAD);
	if (seal_with_key(block, (uint8_t *)canon, n, BLOCK_COMMIT,
			  keys.manifest, NULL))
		bail("seal", NULL, 0);
	e = commit_open(block, n + IPMD_SEAL_OVERHEAD, &keys, c);
	free(block);
	free(canon);
	json_object_del(o, "sig");
	return e;
}

static json_t *json_of(const struct commit *c)
{
	uint8_t *block;
	size_t len;
	char *p;
	json_t *o;
	if (commit_seal(&keys, c, &block, &len))
		bail("commit_seal", NULL, 0);
	p = plain_of(block, len);
	o = json_loads(p, 0, NULL);
	json_object_del(o, "sig");
	free(p);
	free(block);
	return o;
}

static void test_commit_format(void)
{
	struct commit c = sample(5), got;
	uint8_t *block;
	size_t len;
	struct cid id;
	char *p;

	/* One parent, device 0 only: version 1, as before. */
	if (commit_seal(&keys, &c, &block, &len))
		bail("commit_seal", NULL, 0);
	p = plain_of(block, len);
	ok(strstr(p, "\"v\":1") && !strstr(p, "merged") && !strstr(p, "inos"),
	   "a commit of one parent is version 1, nothing added");
	free(p);
	free(block);

	c.nmerged = 2;
	fake_cid(&c.merged[0], 501);
	fake_cid(&c.merged[1], 502);
	c.ninos = 2;
	c.inos[0] = 90;
	c.inos[1] = (UINT64_C(3) << TREE_INO_RANGE_BITS) + 5;
	c.next_ino = c.inos[1];
	is_int(commit_write(st.bs, &keys, &c, &id), 0, "a merge commit written");
	is_int(commit_read(st.bs, &keys, &id, &got), 0, "and read");
	ok(got.nmerged == 2 && cid_equal(&got.merged[0], &c.merged[0]) &&
		   cid_equal(&got.merged[1], &c.merged[1]) &&
		   cid_equal(&got.parent, &c.parent),
	   "its parents survive, in order");
	ok(got.ninos == 2 && got.inos[0] == 90 && got.inos[1] == c.inos[1],
	   "its inode ranges survive");
	json_t *o = json_of(&c);
	is_int(json_integer_value(json_object_get(o, "v")), 2, "version 2");
	json_decref(o);

	struct commit b = c;
	b.parent.len = 0;
	is_int(commit_seal(&keys, &b, &block, &len), -EINVAL,
	       "merged parents without a first one: -EINVAL");
	b = c;
	b.merged[1] = b.parent;
	is_int(commit_seal(&keys, &b, &block, &len), -EINVAL,
	       "a merged parent equal to the first: -EINVAL");
	b = c;
	b.merged[1] = b.merged[0];
	is_int(commit_seal(&keys, &b, &block, &len), -EINVAL,
	       "a parent twice: -EINVAL");
	b = c;
	b.nmerged = COMMIT_MERGED_MAX + 1;
	is_int(commit_seal(&keys, &b, &block, &len), -EINVAL,
	       "too many parents: -EINVAL");
	b = c;
	b.inos[0] = (UINT64_C(5) << TREE_INO_RANGE_BITS) + 1;
	is_int(commit_seal(&keys, &b, &block, &len), -EINVAL,
	       "ranges not ascending: -EINVAL");
	b = c;
	b.inos[1] = TREE_DEVICES << TREE_INO_RANGE_BITS | 1;
	b.next_ino = b.inos[1];
	is_int(commit_seal(&keys, &b, &block, &len), -EINVAL,
	       "a range past TREE_DEVICES: -EINVAL");
	b = c;
	b.next_ino = 95;
	is_int(commit_seal(&keys, &b, &block, &len), -EINVAL,
	       "a range's next number above next_ino: -EINVAL");
	b = c;
	b.inos[1] = UINT64_C(3) << TREE_INO_RANGE_BITS;
	is_int(commit_seal(&keys, &b, &block, &len), -EINVAL,
	       "a range's next number at its very start: -EINVAL");

	/* What a reader refuses: each signed by the mailbox key. */
	o = json_of(&c);
	is_int(open_crafted(o, &got), 0, "the crafted merge itself opens");
	json_object_set_new(o, "v", json_integer(1));
	is_int(open_crafted(o, &got), -EBADMSG,
	       "version 1 with merged parents: -EBADMSG");
	json_object_set_new(o, "v", json_integer(2));
	json_object_set_new(o, "merged", json_array());
	is_int(open_crafted(o, &got), -EBADMSG, "an empty merged list: -EBADMSG");
	json_object_set_new(o, "merged", json_string("x"));
	is_int(open_crafted(o, &got), -EBADMSG, "merged not a list: -EBADMSG");
	json_object_del(o, "merged");
	json_object_set_new(o, "inos", json_pack("[I]", (json_int_t)-3));
	is_int(open_crafted(o, &got), -EBADMSG, "a negative range: -EBADMSG");
	json_object_del(o, "inos");
	is_int(open_crafted(o, &got), -EBADMSG,
	       "version 2 with neither member: -EBADMSG");
	json_object_set_new(o, "v", json_integer(3));
	is_int(open_crafted(o, &got), -EBADMSG, "version 3: -EBADMSG");
	json_decref(o);
}

/* ---- merge bases ---- */

static struct cid commit_of(uint64_t seq, const struct cid *parent,
			    const struct cid *merged, const struct fs_tree *t,
			    const struct chunk_ref *tree)
{
	struct commit c = sample(seq);
	struct cid id;

	memset(&c.parent, 0, sizeof(c.parent));
	if (parent)
		c.parent = *parent;
	if (merged) {
		c.nmerged = 1;
		c.merged[0] = *merged;
	}
	if (tree)
		c.tree = *tree;
	if (t)
		c.next_ino = t->next_ino;
	if (commit_write(st.bs, &keys, &c, &id))
		bail("commit_write", NULL, 0);
	return id;
}

/* A layer over st.bs that counts the blocks read through it. */
struct counting {
	struct blockstore base;
	unsigned gets;
};

static int counting_get(struct blockstore *bs, const struct cid *cid,
			uint8_t *buf, size_t cap, size_t *len)
{
	((struct counting *)bs)->gets++;
	return bs_get(bs_parent(bs), cid, buf, cap, len);
}

static const struct blockstore_ops counting_ops = {
	.version = BLOCKSTORE_OPS_VERSION,
	.name = "counting",
	.get = counting_get,
};

/* Each commit a walk reaches is read once: the seq that queues it and the
 * parents it is painted down to come from one read. */
static void test_bases_read_once(const struct cid *a5, const struct cid *b4,
				 const struct cid *c2)
{
	struct counting n = {0};
	struct merge_bases mb;
	bs_wrap(&n.base, &counting_ops, st.bs);
	/* a5 and b4, then a4, their base c3 and c2 below it (stale). */
	ok(merge_find_bases(&n.base, &keys, a5, b4, &mb) == 0 && mb.n == 1,
	   "counted: one base");
	is_int(n.gets, 5, "bases of a5 and b4: 5 commits, 5 block reads");
	n.gets = 0;
	/* c2 (the ancestor, for its seq), then a5, a4, c3 and c2 reached. */
	is_int(merge_contains(&n.base, &keys, a5, c2), 1, "counted: contained");
	is_int(n.gets, 5, "a5 contains c2: 4 commits walked, 5 block reads");
}

static void test_bases(void)
{
	struct merge_bases mb;
	struct cid c1 = commit_of(1, NULL, NULL, NULL, NULL);
	struct cid c2 = commit_of(2, &c1, NULL, NULL, NULL);
	struct cid c3 = commit_of(3, &c2, NULL, NULL, NULL);
	struct cid a4 = commit_of(4, &c3, NULL, NULL, NULL);
	struct cid b4 = commit_of(4, &c3, NULL, NULL, NULL);
	struct cid a5 = commit_of(5, &a4, NULL, NULL, NULL);
	struct cid ma = commit_of(6, &a5, &b4, NULL, NULL);
	struct cid xa = commit_of(5, &a4, &b4, NULL, NULL);
	struct cid xb = commit_of(5, &b4, &a4, NULL, NULL);
	struct cid lone = commit_of(1, NULL, NULL, NULL, NULL);
	struct cid bad = commit_of(2, &c3, NULL, NULL, NULL);

	ok(merge_find_bases(st.bs, &keys, &a5, &b4, &mb) == 0 && mb.n == 1 &&
		   cid_equal(&mb.cid[0], &c3) && mb.c[0].seq == 3,
	   "two lines from one commit: that commit");
	ok(merge_find_bases(st.bs, &keys, &a5, &c2, &mb) == 0 && mb.n == 1 &&
		   cid_equal(&mb.cid[0], &c2),
	   "an ancestor of the other: itself");
	ok(merge_find_bases(st.bs, &keys, &a5, &a5, &mb) == 0 && mb.n == 1 &&
		   cid_equal(&mb.cid[0], &a5),
	   "the same head: itself");
	ok(merge_find_bases(st.bs, &keys, &ma, &b4, &mb) == 0 && mb.n == 1 &&
		   cid_equal(&mb.cid[0], &b4),
	   "a merge contains its merged parent");
	ok(merge_find_bases(st.bs, &keys, &xa, &xb, &mb) == 0 && mb.n == 2 &&
		   ((cid_equal(&mb.cid[0], &a4) && cid_equal(&mb.cid[1], &b4)) ||
		    (cid_equal(&mb.cid[0], &b4) && cid_equal(&mb.cid[1], &a4))),
	   "a criss-cross has two bases");
	ok(merge_find_bases(st.bs, &keys, &a5, &lone, &mb) == 0 && mb.n == 0,
	   "no common ancestor: none");
	is_int(merge_contains(st.bs, &keys, &a5, &c2), 1, "a5 contains c2");
	is_int(merge_contains(st.bs, &keys, &a5, &a5), 1, "a5 contains itself");
	is_int(merge_contains(st.bs, &keys, &a5, &b4), 0, "a5 lacks b4");
	is_int(merge_contains(st.bs, &keys, &ma, &b4), 1,
	       "a merge contains its merged line");
	is_int(merge_contains(st.bs, &keys, &c3, &a5), 0,
	       "an ancestor does not contain its child");
	test_bases_read_once(&a5, &b4, &c2);
	is_int(merge_find_bases(st.bs, &keys, &bad, &a5, &mb), -EPROTO,
	       "an edge that does not go down in seq: -EPROTO");
	struct cid missing;
	fake_cid(&missing, 999);
	is_int(merge_find_bases(st.bs, &keys, &missing, &a5, &mb), -ENOENT,
	       "a missing head: -ENOENT");
	/* gc freed the oldest commits: the walk ends there. */
	is_int(bs_remove(st.bs, &c1), 0, "c1 removed");
	ok(merge_find_bases(st.bs, &keys, &a5, &b4, &mb) == 0 && mb.n == 1 &&
		   cid_equal(&mb.cid[0], &c3),
	   "a history whose root gc freed still has its base");
}

/* A tree's state as a commit: sealed, put, committed. */
static struct cid commit_tree(uint64_t seq, struct fs_tree *t,
			      const struct cid *parent, const struct cid *merged)
{
	struct chunk_ref root;
	if (manifest_seal(t, &st, &root))
		bail("manifest_seal", NULL, 0);
	return commit_of(seq, parent, merged, t, &root);
}

static struct fs_tree *tree_at(const struct cid *id)
{
	struct commit c;
	struct fs_tree *t = NULL; /* bail returns, as far as clang knows */
	if (commit_read(st.bs, &keys, id, &c) ||
	    manifest_load(&st, &c.tree, c.next_ino, &t))
		bail("tree_at", NULL, 0);
	return t;
}

static struct fs_tree *merged_tree(const struct cid *l, const struct cid *r,
				   struct fs_tree *base)
{
	struct fs_tree *t = tree_at(l), *o = tree_at(r);
	if (merge_into(base, t, o))
		bail("merge_into", NULL, 0);
	tree_free(o);
	return t;
}

/* Commits 3 (one message, cur/1.TAG:2,), 4 on each side (new/A and new/B,
 * then TAG) and 5 merging each into the other (a criss-cross): c3, a4,
 * b4, ma, mb in that order. */
enum { CC_C3, CC_A4, CC_B4, CC_MA, CC_MB, CC_N };
static void criss_cross(const char *tag, uint64_t seed, struct cid *cc)
{
	struct fs_tree *t, *base;
	char path[64];

	tree_new(&t, 1000, 1000, &t0);
	maildir(t, "");
	snprintf(path, sizeof(path), "cur/1.%s:2,", tag);
	put(t, path, seed);
	cc[CC_C3] = commit_tree(3, t, NULL, NULL);
	snprintf(path, sizeof(path), "new/A%s", tag[0] == 'X' ? "" : tag);
	put(t, path, seed + 1);
	cc[CC_A4] = commit_tree(4, t, &cc[CC_C3], NULL);
	tree_free(t);
	t = tree_at(&cc[CC_C3]);
	t->next_ino = REMOTE_RANGE;
	snprintf(path, sizeof(path), "new/B%s", tag[0] == 'X' ? "" : tag);
	put(t, path, seed + 2);
	cc[CC_B4] = commit_tree(4, t, &cc[CC_C3], NULL);
	tree_free(t);
	base = tree_at(&cc[CC_C3]);
	t = merged_tree(&cc[CC_A4], &cc[CC_B4], base);
	cc[CC_MA] = commit_tree(5, t, &cc[CC_A4], &cc[CC_B4]);
	tree_free(t);
	t = merged_tree(&cc[CC_B4], &cc[CC_A4], base);
	cc[CC_MB] = commit_tree(5, t, &cc[CC_B4], &cc[CC_A4]);
	tree_free(t);
	tree_free(base);
}

/* Two devices merge each other's heads at once (a criss-cross), then one
 * deletes a message the other had added: with one base alone it would
 * come back; the virtual base keeps it deleted. */
static void test_criss_cross(void)
{
	struct fs_tree *t, *base, *vb, *l, *r;
	struct merge_bases mb;
	char *names;

	struct cid cc[CC_N];
	criss_cross("X", 1, cc);
	struct cid ma = cc[CC_MA], mbc = cc[CC_MB];
	t = tree_at(&ma);
	rm(t, "new/A", false);
	struct cid a6 = commit_tree(6, t, &ma, NULL);
	tree_free(t);

	ok(merge_find_bases(st.bs, &keys, &a6, &mbc, &mb) == 0 && mb.n == 2,
	   "criss-cross: two bases");
	is_int(merge_base_tree(&st, &keys, &mb, &t1, &vb), 0,
	       "the virtual base is built");
	names = names_in(vb, "new");
	is_str(names, "A,B", "the virtual base holds both lines' mail");
	free(names);

	/* Against the virtual base; then, to show why, against the other
	 * line's base alone. */
	base = tree_at(&cc[CC_B4]);
	r = tree_at(&mbc);
	struct fs_tree *bases[2] = {vb, base};
	const char *want[2] = {"B", "A,B"};
	const char *what[2] = {"against the virtual base A stays deleted",
			       "against one base alone it would come back"};
	for (int i = 0; i < 2; i++) {
		l = tree_at(&a6);
		if (merge_into(bases[i], l, r))
			bail("merge_into", NULL, 0);
		names = names_in(l, "new");
		is_str(names, want[i], "%s", what[i]);
		free(names);
		tree_free(l);
	}
	tree_free(base);
	tree_free(r);
	tree_free(vb);

	struct merge_bases none = {0};
	ok(merge_base_tree(&st, &keys, &none, &t1, &vb) == 0 && vb == NULL,
	   "no base: the empty tree (NULL)");
}

/* Every inode as "ino mode nlink size", sorted: the numbers two trees
 * give their files. */
static char *numbers(struct fs_tree *t)
{
	char **lines = malloc((t->ninodes + 1) * sizeof(*lines));
	struct text x = {0};
	size_t n = 0;
	addf(&x, "%s%s", "", "");
	for (uint32_t b = 0; b < t->nbuckets; b++)
		for (struct inode *i = t->buckets[b]; i; i = i->hash_next) {
			char line[128];
			snprintf(line, sizeof(line), "%020llu %o %u %llu\n",
				 (unsigned long long)i->ino, i->mode, i->nlink,
				 (unsigned long long)i->size);
			lines[n++] = strdup(line);
		}
	qsort(lines, n, sizeof(*lines), str_cmp);
	for (size_t i = 0; i < n; i++) {
		addf(&x, "%s%s", lines[i], "");
		free(lines[i]);
	}
	free(lines);
	return x.s;
}


/* gc --keep-last 3 of ten commits: 8 (STORE/pruned) is the boundary, 7's
 * commit block is kept (the parent of the oldest kept), its tree and all
 * below are freed.  Another device branched from 7.  The mount's walks
 * end their lines at the boundary as history_walk does. */
static void test_gc_boundary(void)
{
	struct fs_tree *t, *vb = NULL;
	struct merge_bases mb;
	struct commit c;
	struct cid l[11];
	char name[32];

	tree_new(&t, 1000, 1000, &t0);
	maildir(t, "");
	for (uint64_t q = 1; q <= 10; q++) {
		snprintf(name, sizeof(name), "cur/%llu.gc:2,",
			 (unsigned long long)q);
		put(t, name, q);
		l[q] = commit_tree(q, t, q > 1 ? &l[q - 1] : NULL, NULL);
	}
	tree_free(t);
	t = tree_at(&l[7]);
	t->next_ino = REMOTE_RANGE;
	put(t, "new/X", 11);
	struct cid x = commit_tree(8, t, &l[7], NULL);
	tree_free(t);
	t = tree_at(&l[8]);
	t->next_ino = REMOTE_RANGE;
	put(t, "new/Y", 12);
	struct cid y = commit_tree(9, t, &l[8], NULL);
	tree_free(t);
	for (int q = 1; q <= 6; q++)
		if (bs_remove(st.bs, &l[q]))
			bail("bs_remove", NULL, 0);
	if (commit_read(st.bs, &keys, &l[7], &c) ||
	    bs_remove(st.bs, &c.tree.cid))
		bail("gc of 7's tree", NULL, 0);

	/* Why: unbounded, 7 is the base, and its tree is gone. */
	ok(merge_find_bases(st.bs, &keys, &l[10], &x, &mb) == 0 &&
		   mb.n == 1 && cid_equal(&mb.cid[0], &l[7]),
	   "gc boundary: unbounded, the walk takes 7 (below it) for base");
	is_int(merge_base_tree(&st, &keys, &mb, &t1, &vb), -ENOENT,
	       "... whose tree gc freed: no merge could run");
	ok(merge_find_bases_within(st.bs, &keys, &l[10], &x, 8, &mb) == 0 &&
		   mb.n == 0 && mb.nends == 0,
	   "gc boundary: within it no base below it, no fetched end noted");
	is_int(merge_base_tree(&st, &keys, &mb, &t1, &vb), 0,
	       "... the merge runs (against the empty tree)");
	ok(vb == NULL, "... which is none");
	ok(merge_find_bases_within(st.bs, &keys, &l[10], &y, 8, &mb) == 0 &&
		   mb.n == 1 && cid_equal(&mb.cid[0], &l[8]),
	   "gc boundary: the boundary's own commit is still a base");
	is_int(merge_contains_within(st.bs, &keys, &l[10], &l[7], 8), 1,
	       "gc boundary: 10 contains 7, a kept block just below it");
	is_int(merge_contains_within(st.bs, &keys, &l[10], &x, 8), 0,
	       "gc boundary: 10 does not contain the other line");

	/* A gc running beside the mount frees 7's block too. */
	if (bs_remove(st.bs, &l[7]))
		bail("bs_remove", NULL, 0);
	ok(merge_find_bases(st.bs, &keys, &l[10], &x, &mb) == 0 &&
		   mb.nends == 1 && cid_equal(&mb.ends[0], &x),
	   "gc boundary: unbounded, our own gc looks like the other "
	   "device's end of history");
	ok(merge_find_bases_within(st.bs, &keys, &l[10], &x, 8, &mb) == 0 &&
		   mb.n == 0 && mb.nends == 0,
	   "gc boundary: within it the freed block is never read");
}

/* A criss-cross above gc's boundary: the merge's two bases are at the
 * boundary, their own common ancestor below it and its tree freed.  The
 * live walk (within the boundary) builds their virtual base against the
 * empty tree; the record keeps the boundary so replay (and the live
 * merge's own merge_sides_load) walks the same way, not down to the freed
 * tree. */
static void test_replay_boundary(void)
{
	struct merge_bases mb;
	struct merge_sides sides;
	struct commit c;
	struct cid cc[CC_N];

	criss_cross(".y", 31, cc);
	struct cid c3 = cc[CC_C3], ma = cc[CC_MA], mbc = cc[CC_MB];
	/* gc kept the newest two seqs (boundary 4): 3's tree is gone. */
	if (commit_read(st.bs, &keys, &c3, &c) || bs_remove(st.bs, &c.tree.cid))
		bail("gc of 3's tree", NULL, 0);

	ok(merge_find_bases_within(st.bs, &keys, &ma, &mbc, 4, &mb) == 0 &&
		   mb.n == 2 && mb.bound == 4,
	   "boundary replay: the live walk finds two bases at the boundary");
	struct record_merge m = {.parent = mbc, .nbases = 2, .time = t1,
				 .bound = mb.bound};
	memcpy(m.bases, mb.cid, 2 * sizeof(*mb.cid));
	char *json;
	size_t len;
	struct record_merge back;
	ok(record_merge_encode(&m, &json, &len) == 0 &&
		   strstr(json, "\"bound\":4") &&
		   record_merge_parse((const uint8_t *)json, len, &back) == 0 &&
		   back.bound == 4 && back.nbases == 2,
	   "the merge record keeps the boundary");
	free(json);
	is_int(merge_sides_load(&st, &keys, &back, &sides), 0,
	       "replay builds the virtual base within it (3's tree unread)");
	char *names = sides.base ? names_in(sides.base, "new") : NULL;
	is_str(names ? names : "", "A.y,B.y",
	       "... holding both bases' mail");
	free(names);
	merge_sides_free(&sides);

	m.nbases = 1;
	ok(record_merge_encode(&m, &json, &len) == 0 && !strstr(json, "bound"),
	   "one base: no boundary written (nothing walks between bases)");
	free(json);
	const char *bad[] = {
		"{\"op\":\"merge\",\"parent\":\"%s\",\"bases\":[\"%s\"],"
		"\"time\":1,\"bound\":4}",
		"{\"op\":\"merge\",\"parent\":\"%s\",\"bases\":[\"%s\","
		"\"%s\"],\"time\":1,\"bound\":0}",
	};
	char p[CID_TEXT_MAX], b0[CID_TEXT_MAX], b1[CID_TEXT_MAX], text[1024];
	cid_format(&mbc, p, sizeof(p));
	cid_format(&mb.cid[0], b0, sizeof(b0));
	cid_format(&mb.cid[1], b1, sizeof(b1));
	int refused = 0;
	for (int i = 0; i < 2; i++) {
		snprintf(text, sizeof(text), bad[i], p, b0, b1);
		refused += record_merge_parse((const uint8_t *)text,
					      strlen(text), &back) == -EBADMSG;
	}
	is_int(refused, 2, "a bound with one base, or of 0, is refused");
}

/* A merge as the journal holds it (a record naming the other head and the
 * bases) redone over the tree it was made on gives the very tree the live
 * merge gave: names, bytes, numbers (the crash story). */
static void test_replay(void)
{
	struct fs_tree *t, *live, *replayed;
	struct merge_bases mb;
	struct merge_sides sides;
	struct merge_plan plan;
	struct merge_stats stats;
	struct commit remote;

	tree_new(&t, 1000, 1000, &t0);
	maildir(t, "");
	put(t, "cur/1.X:2,", 1);
	put(t, "cur/2.X:2,", 2);
	struct cid c3 = commit_tree(3, t, NULL, NULL);
	put(t, "new/A", 3);
	mv(t, "cur/1.X:2,", "cur/1.X:2,F");
	struct cid a4 = commit_tree(4, t, &c3, NULL);
	tree_free(t);
	t = tree_at(&c3);
	t->next_ino = REMOTE_RANGE;
	put(t, "new/B", 4);
	mv(t, "cur/1.X:2,", "cur/1.X:2,S");
	rm(t, "cur/2.X:2,", false);
	struct cid b4 = commit_tree(4, t, &c3, NULL);
	tree_free(t);

	ok(merge_find_bases(st.bs, &keys, &a4, &b4, &mb) == 0 && mb.n == 1,
	   "replay: one base");
	struct record_merge m = {.parent = b4, .nbases = 1, .time = t1};
	m.bases[0] = mb.cid[0];
	char *json;
	size_t len;
	struct record_merge back;
	ok(record_merge_encode(&m, &json, &len) == 0 &&
		   record_merge_parse((const uint8_t *)json, len, &back) == 0 &&
		   cid_equal(&back.parent, &b4) && back.nbases == 1 &&
		   cid_equal(&back.bases[0], &c3) &&
		   back.time.tv_sec == t1.tv_sec,
	   "the merge record round-trips");
	free(json);

	/* Live: a change not yet committed, then the merge. */
	live = tree_at(&a4);
	replayed = tree_at(&a4);
	put(live, "new/C", 5);
	put(replayed, "new/C", 5);
	memset(&plan, 0, sizeof(plan));
	ok(merge_sides_load(&st, &keys, &back, &sides) == 0 &&
		   merge_plan(sides.base, live, sides.remote_tree, &back.time,
			      &plan) == 0,
	   "the live merge's plan");
	merge_apply(live, &plan, NULL, NULL, NULL);
	merge_plan_free(&plan);
	merge_sides_free(&sides);
	is_int(merge_replay(&st, &keys, &back, replayed, NULL, NULL, &remote,
			    &stats),
	       0, "merge_replay");
	ok(remote.seq == 4 && stats.added == 1 && stats.removed == 1,
	   "… names the remote commit, counts what it did");
	char *a = snapshot(live, NULL), *b = snapshot(replayed, NULL);
	is_str(b, a, "replay gives the live merge's names and bytes");
	free(a);
	free(b);
	a = numbers(live);
	b = numbers(replayed);
	is_str(b, a, "… and its inode numbers");
	free(a);
	free(b);
	ok(live->next_ino == replayed->next_ino, "… and its next number");
	char *names = names_in(replayed, "new");
	is_str(names, "A,B,C", "new/: both sides' mail and the change after");
	free(names);
	names = names_in(replayed, "cur");
	is_str(names, "1.X:2,FS", "cur/: flags merged, the deletion held");
	free(names);

	/* Inputs the store lacks: an error, the tree untouched. */
	struct record_merge lost = back;
	fake_cid(&lost.parent, 4242);
	a = snapshot(replayed, NULL);
	is_int(merge_replay(&st, &keys, &lost, replayed, NULL, NULL, NULL,
			    NULL),
	       -ENOENT, "a merge whose parent is missing: -ENOENT");
	b = snapshot(replayed, NULL);
	is_str(b, a, "… and the tree unchanged");
	free(a);
	free(b);
	tree_free(live);
	tree_free(replayed);
}

/* The record keeps the live merge's index_local (record.h), and replay
 * follows it, not the tree's flag at replay time (the mount's option
 * then, or none: fsck's and gc's trees). */
static void test_replay_index_local(void)
{
	struct fs_tree *t;

	tree_new(&t, 1000, 1000, &t0);
	maildir(t, "");
	put(t, "cur/1.X:2,", 1);
	struct cid c3 = commit_tree(3, t, NULL, NULL);
	put(t, "new/A", 3);
	struct cid a4 = commit_tree(4, t, &c3, NULL);
	tree_free(t);
	t = tree_at(&c3);
	t->next_ino = REMOTE_RANGE;
	put(t, "new/B", 4);
	put(t, "dovecot.index.log", 5); /* an index_cache=off device's */
	struct cid b4 = commit_tree(4, t, &c3, NULL);
	tree_free(t);

	struct record_merge m = {.parent = b4, .nbases = 1, .time = t1,
				 .index_local = true};
	m.bases[0] = c3;
	struct record_merge back;
	char *json;
	size_t len;
	ok(record_merge_encode(&m, &json, &len) == 0 &&
		   record_merge_parse((const uint8_t *)json, len, &back) == 0 &&
		   back.index_local,
	   "index_local: the merge record keeps it");
	free(json);

	/* Journaled with index_cache on; replayed where the tree says
	 * otherwise (a remount with index_cache=off; fsck, gc). */
	t = tree_at(&a4);
	t->index_local = false;
	is_int(merge_replay(&st, &keys, &back, t, NULL, NULL, NULL, NULL), 0,
	       "index_local: replay");
	ok(!lookup(t, "dovecot.index.log") && lookup(t, "new/B"),
	   "… leaves the other side's index file out, as the live merge did");
	tree_free(t);

	/* Journaled with index_cache=off; replayed by a mount with it on. */
	back.index_local = false;
	t = tree_at(&a4);
	t->index_local = true;
	is_int(merge_replay(&st, &keys, &back, t, NULL, NULL, NULL, NULL), 0,
	       "no index_local: replay");
	ok(lookup(t, "dovecot.index.log") != NULL,
	   "… takes the other side's index file, as the live merge did");
	tree_free(t);
}

static void setup_store(void)
{
	uint8_t master[IPMD_MASTER_BYTES];
	char path[4096];

	if (seal_init() != 0)
		bail("seal_init", NULL, 0);
	tap_fill_random(master, sizeof(master), 17);
	if (keys_from_master(&keys, master) != 0)
		bail("keys", NULL, 0);
	st.convergence = keys.convergence;
	st.chunk_size = OBJ_CHUNK_DEFAULT;
	st.fanout = OBJ_FANOUT_DEFAULT;
	snprintf(path, sizeof(path), "%s/store", tap_tempdir());
	if (bs_local_open(path, &st.bs) != 0)
		bail("bs_local_open", path, 0);
}

int main(void)
{
	test_added();
	test_scenarios();
	test_deletion_wins();
	test_folder_deleted();
	test_folder_renamed();
	test_other_files();
	test_index_files();
	test_special_files();
	test_links_and_swaps();
	test_duplicated_range();
	test_ranges();
	test_no_base();
	test_attributes();
	test_refusals();
	test_property();
	setup_store();
	test_commit_format();
	test_bases();
	test_criss_cross();
	test_gc_boundary();
	test_replay();
	test_replay_boundary();
	test_replay_index_local();
	bs_close(st.bs);
	keys_free(&keys);
	return tap_done();
}
