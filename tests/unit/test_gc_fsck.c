/*
 * test_gc_fsck.c — the gc and fsck engines (fs/tools/gc.h, fs/tools/fsck.h)
 * without the CLI: a mailbox of three commits; gc keeping all of them
 * frees nothing, gc keeping the newest frees the older commits' own
 * blocks and ends the chain there; fsck then finds the store clean, and
 * a chunk removed from under the head is damage whose file --repair
 * would salvage (the folders still load).  Then a DAG-shaped history
 * (tests/dagstore.h: a line of one commit and another device's line of
 * six, merged): fsck checks every commit, gc keeping the newest two frees
 * nothing the merge or the other line's kept commit needs and keeps the
 * commit block of the merge's first parent below its boundary, and a
 * missing merged parent is a broken edge fsck names.  The lines the
 * engines say go through the callback (nothing printed below the CLI).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fs/model/merge_base.h"
#include "fs/model/record.h"
#include "fs/mount/mount.h"
#include "fs/store/device.h"
#include "fs/store/journal.h"
#include "fs/store/store.h"
#include "fs/tools/fsck.h"
#include "fs/tools/gc.h"
#include "fs/tools/import.h"
#include "ipfs/bs_local.h"
#include "tests/dagstore.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

static void mkdirs(const char *p)
{
	if (mkdir(p, 0700) != 0 && errno != EEXIST)
		harness_bail("%s", p);
}

/* One import of a Maildir holding one message: a commit of its own. */
static void commit_one(const char *store, const char *tmp, int n)
{
	char src[PATH_MAX], p[PATH_MAX + 32];
	snprintf(src, sizeof(src), "%s/src%d", tmp, n);
	mkdirs(src);
	for (const char *d = "cur\0new\0tmp\0"; *d; d += strlen(d) + 1) {
		snprintf(p, sizeof(p), "%s/%s", src, d);
		mkdirs(p);
	}
	snprintf(p, sizeof(p), "%s/cur/m%d", src, n);
	FILE *f = fopen(p, "w");
	if (!f)
		harness_bail("%s", p);
	fprintf(f, "Subject: %d\n\nmessage %d\n", n, n);
	fclose(f);
	struct mount_options mo = {.store = store};
	static struct ipmd_fs fs;
	char msg[512] = "", errpath[PATH_MAX];
	struct import_options io = {.threads = 1};
	struct import_stats st;
	if (ipmd_fs_open(&fs, &mo, msg, sizeof(msg)) ||
	    import_maildir(&fs, src, &io, &st, errpath) ||
	    ipmd_fs_close(&fs))
		harness_bail("import");
}

static size_t gc_run(const char *store, unsigned long long keep_last,
		     struct gc *g)
{
	struct history_options ho = {.store = store,
				     .lock = HISTORY_LOCK_EXCLUSIVE};
	char msg[512] = "";
	memset(g, 0, sizeof(*g));
	if (gc_open(g, &ho, msg, sizeof(msg)))
		goto fail;
	gc_retain(g, keep_last, -1);
	if (gc_mark(g, NULL, NULL, msg, sizeof(msg)) ||
	    gc_find(g, false, msg, sizeof(msg)))
		goto fail;
	return g->dead.n;
fail:
	tap_diag("gc: %s", msg);
	return (size_t)-1;
}

/* gc's sweep without a node: STORE/pruned, then the frees; how many
 * blocks went. */
static uint64_t sweep(struct gc *g, const char *label)
{
	char msg[512] = "";
	uint64_t freed = 0, bytes = 0;
	is_int(gc_write_pruned(g, msg, sizeof(msg)), 0, "%spruned written",
	       label);
	is_int(gc_free(g, false, NULL, NULL, &freed, &bytes, msg, sizeof(msg)),
	       0, "%sfreed (%s)", label, msg);
	return freed;
}

/* What fsck said: DAMAGE lines counted, the first "ok chunk" CID kept,
 * the "history: …" note and the first DAMAGE line. */
struct heard {
	unsigned damage;
	char chunk[128];
	char history[256];
	char first_damage[512];
};

static void hear(void *arg, enum fsck_say kind, const char *text)
{
	struct heard *h = arg;
	if (kind == FSCK_SAY_DAMAGE && !h->damage++)
		snprintf(h->first_damage, sizeof(h->first_damage), "%s", text);
	if (kind == FSCK_SAY_NOTE && !strncmp(text, "history: ", 9))
		snprintf(h->history, sizeof(h->history), "%s", text);
	if (kind == FSCK_SAY_NOTE && !h->chunk[0] &&
	    !strncmp(text, "ok chunk ", 9))
		sscanf(text + 9, "%127s", h->chunk);
}

static int fsck_run(const char *store, bool verbose, bool deep,
		    struct heard *heard, struct fsck *f)
{
	struct history_options ho = {.store = store,
				     .lock = HISTORY_LOCK_READ};
	char msg[512] = "";
	memset(f, 0, sizeof(*f));
	memset(heard, 0, sizeof(*heard));
	f->verbose = verbose;
	f->deep = deep;
	f->io = (struct fsck_io){.say = hear, .arg = heard};
	if (fsck_open(f, &ho, msg, sizeof(msg))) {
		tap_diag("fsck: %s", msg);
		return -1;
	}
	return fsck_check(f);
}

/* The DAG: base, a (this device), o[1..6] (device 1), m = a + o[6]. */
struct dag {
	struct cid base, a, o[7], m;
	size_t commits; /* in the whole history */
};

/* merged false: no m, the head is a (another device's line beside). */
static void make_dag(const char *store, const char *tmp, struct dag *x,
		     bool merged)
{
	if (harness_make_store(store) != 0)
		harness_bail("store");
	commit_one(store, tmp, 10);
	struct dagstore d;
	int e = dagstore_open(&d, store);
	if (!e)
		e = dagstore_head(&d, &x->base);
	if (!e)
		e = dagstore_add(&d, &x->base, 0, "a-1", &x->a);
	x->o[0] = x->base;
	for (int i = 1; i <= 6 && !e; i++) {
		char name[16];
		snprintf(name, sizeof(name), "o-%d", i);
		e = dagstore_add(&d, &x->o[i - 1], 1, name, &x->o[i]);
	}
	if (!e && merged)
		e = dagstore_merge(&d, &x->a, &x->o[6], 0, 0, &x->m);
	if (!e)
		e = dagstore_set_head(&d, merged ? &x->m : &x->a);
	dagstore_close(&d);
	if (e)
		harness_bail("the DAG");
}

/* Does the tree of commit cid (read through g's history) name path? */
static bool tree_has(struct gc *g, const struct cid *cid, const char *dir,
		     const char *name)
{
	struct commit c;
	struct fs_tree *t;
	if (history_commit(&g->h, cid, &c) || history_tree(&g->h, &c, &t))
		return false;
	struct dirent *d = tree_lookup(t->root, dir);
	bool has = d && tree_lookup(d->inode, name);
	tree_free(t);
	return has;
}

static void test_dag(const char *tmp)
{
	char store[PATH_MAX];
	snprintf(store, sizeof(store), "%s/dag", tmp);
	struct dag x;
	make_dag(store, tmp, &x, true);

	static struct fsck f;
	struct heard heard;
	is_int(fsck_run(store, false, false, &heard, &f), 0,
	       "DAG: fsck checks");
	ok(f.problems == 0, "DAG: clean (%s)", heard.history);
	ok(strstr(heard.history, "(1 merge)") != NULL,
	   "DAG: fsck counts the merge");
	fsck_free(&f);

	static struct gc g;
	is_int(gc_run(store, 0, &g), 0,
	       "DAG: gc keeping everything: none dead");
	size_t before = g.chain.n;
	ok(before >= 9 && cid_equal(&g.chain.cids[0], &x.m),
	   "DAG: gc sees every commit of both lines (%zu), the merge first",
	   before);
	ok(tree_has(&g, &x.m, "cur", "a-1") &&
		   tree_has(&g, &x.m, "cur", "o-6") &&
		   tree_has(&g, &x.m, "cur", "m10"),
	   "DAG: the merge holds both lines' messages and the base's");
	gc_close(&g);

	size_t dead = gc_run(store, 2, &g);
	ok(dead != (size_t)-1 && dead > 0 && g.keep == 2 &&
		   cid_equal(&g.chain.cids[1], &x.o[6]),
	   "DAG: keeping the newest two by seq: the merge and o-6 (%zu dead)",
	   dead);
	struct commit ac;
	ok(history_commit(&g.h, &x.a, &ac) == 0 && cid_set_has(g.live, &x.a) &&
		   !cid_set_has(g.live, &ac.tree.cid),
	   "DAG: the merge's first parent below the boundary keeps its "
	   "commit block, not its tree");
	ok(!cid_set_has(g.live, &x.o[5]), "DAG: o-5 goes");
	sweep(&g, "DAG: ");
	ok(bs_has(g.h.local, &x.a) == 1 && bs_has(g.h.local, &ac.tree.cid) == 0,
	   "DAG: a's commit block is still there, its tree node gone");
	gc_close(&g);

	is_int(gc_run(store, 0, &g), 0, "DAG: a second gc finds nothing more");
	ok(g.chain.n == 2 && g.pruned_before,
	   "DAG: the history is the two kept commits, ended at the boundary");
	ok(tree_has(&g, &x.o[6], "cur", "o-6") &&
		   tree_has(&g, &x.m, "cur", "a-1"),
	   "DAG: both kept trees load after gc");
	gc_close(&g);

	is_int(fsck_run(store, false, true, &heard, &f), 0,
	       "DAG: fsck --deep after gc");
	ok(f.problems == 0 && strstr(heard.history, "freed by gc"),
	   "DAG: clean, the end is gc's (%s)", heard.history);

	/* A broken edge: the merged parent gone. */
	is_int(bs_remove(f.h.local, &x.o[6]), 0, "DAG: remove o-6's commit");
	fsck_free(&f);
	is_int(fsck_run(store, false, false, &heard, &f), 0,
	       "DAG: fsck checks again");
	ok(f.problems > 0 && strstr(heard.first_damage, "merged parent"),
	   "DAG: the missing merged parent is damage: %s", heard.first_damage);
	ok(f.plan.cut_chain && cid_equal(&f.plan.cut_cid, &x.m),
	   "DAG: --repair would cut the history at the merge");
	fsck_free(&f);
}


/* A daemon killed after journaling a merge of o-6 into a (the record
 * durable, no commit naming it yet), as 93-crash-merge.t leaves it. */
static void journal_merge(const char *store, const struct dag *x)
{
	struct history h;
	struct history_options ho = {.store = store};
	char msg[512] = "", *json = NULL;
	size_t len;
	struct journal *j = NULL;
	struct record_merge m = {.parent = x->o[6], .nbases = 1,
				 .time = {.tv_sec = 1700000000}};
	m.bases[0] = x->base;
	if (history_open(&h, &ho, msg, sizeof(msg)))
		harness_bail("history_open: %s", msg);
	int e = record_merge_encode(&m, &json, &len);
	if (!e)
		e = journal_open(h.store.paths.journal, h.store.keys.journal,
				 h.store.state.head.journal_gen, &j);
	if (!e)
		e = journal_append(j, (const uint8_t *)json, len, true);
	e = e ? e : journal_close(j);
	free(json);
	history_close(&h);
	if (e)
		harness_bail("journaling the merge: %s", strerror(-e));
}

/* Does the tree name dir/name? */
static bool has(struct fs_tree *t, const char *dir, const char *name)
{
	struct dirent *d = tree_lookup(t->root, dir);
	return d && tree_lookup(d->inode, name);
}

/* gc between a crash mid-merge and the remount: it keeps what the
 * journaled merge is redone from (the other line's commits and trees, the
 * base's commit and directory nodes), so the mount finishes the merge and
 * loses nothing; the commit it writes names both lines, which read. */
static void test_journaled_merge(const char *tmp)
{
	char store[PATH_MAX];
	snprintf(store, sizeof(store), "%s/crash-merge", tmp);
	struct dag x;
	make_dag(store, tmp, &x, false);
	journal_merge(store, &x);

	static struct gc g;
	size_t dead = gc_run(store, 1, &g);
	ok(dead != (size_t)-1 && dead > 0,
	   "journaled merge: gc keeping the newest runs (%zu dead)", dead);
	ok(cid_set_has(g.live, &x.o[6]) && cid_set_has(g.live, &x.o[1]),
	   "… keeps the merged line, whose head the next commit names");
	struct commit bc;
	ok(history_commit(&g.h, &x.base, &bc) == 0 &&
		   cid_set_has(g.live, &bc.tree.cid),
	   "… and the base's tree, which the merge is redone against");
	bool head_kept = false;
	for (size_t i = 0; i < g.keep; i++)
		head_kept |= cid_equal(&g.chain.cids[i], &x.a);
	ok(cid_equal(&g.chain.cids[0], &x.o[6]) && head_kept,
	   "… and the head, below the merged line's seqs (%zu kept)", g.keep);
	sweep(&g, "journaled merge: ");
	gc_close(&g);

	static struct ipmd_fs fs;
	struct mount_options mo = {.store = store};
	char msg[512] = "";
	int e = ipmd_fs_open(&fs, &mo, msg, sizeof(msg));
	ok(e == 0, "journaled merge: the store mounts after gc (%s)", msg);
	if (e)
		return;
	ok(has(fs.tree, "cur", "a-1") && has(fs.tree, "cur", "o-6") &&
		   has(fs.tree, "cur", "o-1") && has(fs.tree, "cur", "m10"),
	   "… the replay finished the merge: both lines' mail is there");
	is_int(ipmd_fs_close(&fs), 0, "… and commits it");

	static struct fsck f;
	struct heard heard;
	is_int(fsck_run(store, false, true, &heard, &f), 0,
	       "journaled merge: fsck --deep after the commit");
	ok(f.problems == 0 && strstr(heard.history, "(1 merge)"),
	   "… clean, the merge commit and both lines read (%s)",
	   heard.history);
	fsck_free(&f);

	/* The merge's parent missing (a gc from before this rule): the
	 * mount refuses, and says so, rather than drop the merge and every
	 * record after it. */
	snprintf(store, sizeof(store), "%s/crash-merge-lost", tmp);
	make_dag(store, tmp, &x, false);
	journal_merge(store, &x);
	struct dagstore d;
	if (dagstore_open(&d, store))
		harness_bail("dagstore_open");
	is_int(bs_remove(d.bs, &x.o[6]), 0, "lost parent: remove o-6's commit");
	dagstore_close(&d);
	msg[0] = '\0';
	e = ipmd_fs_open(&fs, &mo, msg, sizeof(msg));
	ok(e != 0 && strstr(msg, "cannot be redone"),
	   "… the mount refuses: %s", msg);
	if (!e)
		ipmd_fs_close(&fs);
}

/* STORE/device as a store that fetched o-6 for a merge records it. */
static void saw_peer(const char *store, const struct cid *peer)
{
	struct history h;
	struct history_options ho = {.store = store};
	char msg[512] = "";
	struct device_state ds = {.device = 0, .has_peer = true,
				  .peer = *peer, .peer_seq = 7};
	snprintf(ds.peer_how, sizeof(ds.peer_how), "%s", DEVICE_HOW_MERGED);
	if (history_open(&h, &ho, msg, sizeof(msg)) ||
	    device_write(h.store.paths.device, h.store.keys.journal, &ds))
		harness_bail("STORE/device: %s", msg);
	history_close(&h);
}

static void remove_state(const char *store, const char *name)
{
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/%s", store, name);
	if (unlink(p) != 0)
		harness_bail("unlink %s", p);
}

/* fsck's picks on a store that holds another device's line of higher seq
 * (a, seq 2, is this device's head; o-1 … o-6, seqs 2 … 7, were fetched):
 * what a user of this device means, not the highest seq. */
static void test_own_line(const char *tmp)
{
	char store[PATH_MAX];
	struct dag x;
	static struct fsck f;
	struct heard heard;

	/* seen lost: a commit of higher seq that does not hold the head is
	 * no sign of a rolled-back head. */
	snprintf(store, sizeof(store), "%s/own-seen", tmp);
	make_dag(store, tmp, &x, false);
	remove_state(store, "seen");
	is_int(fsck_run(store, false, false, &heard, &f), 0,
	       "own line: fsck without seen");
	ok(f.plan.restore_head && cid_equal(&f.plan.new_head.commit, &x.a),
	   "… seen is rebuilt from the head, not from o-6 (%s)",
	   heard.first_damage);
	fsck_free(&f);

	/* head and seen lost: the newest commit of this device's line. */
	snprintf(store, sizeof(store), "%s/own-head", tmp);
	make_dag(store, tmp, &x, false);
	saw_peer(store, &x.o[6]);
	remove_state(store, "head");
	remove_state(store, "seen");
	is_int(fsck_run(store, false, false, &heard, &f), 0,
	       "own line: fsck without head and seen");
	ok(f.plan.restore_head && cid_equal(&f.plan.new_head.commit, &x.a),
	   "… the head is rebuilt at a, this device's newest, not at o-6");
	fsck_free(&f);

	/* Merged, both lost: the merge holds both lines. */
	snprintf(store, sizeof(store), "%s/own-merged", tmp);
	make_dag(store, tmp, &x, true);
	saw_peer(store, &x.o[6]);
	remove_state(store, "head");
	remove_state(store, "seen");
	is_int(fsck_run(store, false, false, &heard, &f), 0,
	       "own line: a merged store without head and seen");
	ok(f.plan.restore_head && cid_equal(&f.plan.new_head.commit, &x.m),
	   "… the head is rebuilt at the merge, which holds both");
	fsck_free(&f);

	/* The merge's folders do not load: the commit suggested for
	 * --rollback-to is on the first-parent line (a), which it names. */
	snprintf(store, sizeof(store), "%s/own-suggest", tmp);
	make_dag(store, tmp, &x, true);
	struct dagstore d;
	struct commit mc, ac;
	if (dagstore_open(&d, store) ||
	    commit_read(d.bs, &d.keys, &x.m, &mc) ||
	    commit_read(d.bs, &d.keys, &x.a, &ac) ||
	    bs_remove(d.bs, &mc.tree.cid))
		harness_bail("the merge's tree");
	dagstore_close(&d);
	is_int(fsck_run(store, false, false, &heard, &f), 0,
	       "own line: the merge's directory node gone");
	ok(f.plan.dir_damaged && f.plan.suggest_seq == ac.seq,
	   "… the suggestion is a's seq %llu, not o-6's (%llu)",
	   (unsigned long long)ac.seq,
	   (unsigned long long)f.plan.suggest_seq);
	fsck_free(&f);
}

/* Another device's gc freed o-2 before this store fetched its line: the
 * merge's walk of that line reports where it ends (o-3), STORE/device
 * records it as the mount's sync does, and the walkers end the line
 * there — fsck clean, gc runs — where before they called it damage. */
static void test_fetched_end(const char *tmp)
{
	char store[PATH_MAX];
	snprintf(store, sizeof(store), "%s/fetched-end", tmp);
	struct dag x;
	make_dag(store, tmp, &x, false);
	struct dagstore d;
	struct merge_bases b;
	if (dagstore_open(&d, store))
		harness_bail("dagstore_open");
	is_int(bs_remove(d.bs, &x.o[2]), 0, "fetched end: o-2 freed");
	is_int(merge_find_bases(d.bs, &d.keys, &x.a, &x.o[6], &b), 0,
	       "… the merge's walk of o-6's line");
	ok(b.n == 0 && b.nends == 1 && cid_equal(&b.ends[0], &x.o[3]),
	   "… says the line ends at o-3 (%zu ends), no common ancestor",
	   b.nends);
	struct merge_bases mine;
	ok(merge_find_bases(d.bs, &d.keys, NULL, &x.o[6], &mine) == 0 &&
		   mine.nends == 1 && cid_equal(&mine.ends[0], &x.o[3]),
	   "… and so does a device with no head yet (its first mount)");
	int e = dagstore_merge(&d, &x.a, &x.o[6], 0, 0, &x.m);
	if (!e)
		e = dagstore_set_head(&d, &x.m);
	dagstore_close(&d);
	if (e)
		harness_bail("the merge");

	static struct fsck f;
	struct heard heard;
	is_int(fsck_run(store, false, false, &heard, &f), 0,
	       "fetched end: fsck, the end not recorded");
	ok(f.problems > 0, "… a missing parent is damage: %s",
	   heard.first_damage);
	fsck_free(&f);

	struct history h;
	struct history_options ho = {.store = store};
	char msg[512] = "";
	if (history_open(&h, &ho, msg, sizeof(msg)))
		harness_bail("history_open: %s", msg);
	struct device_state ds;
	if (device_read(h.store.paths.device, h.store.keys.journal, &ds))
		memset(&ds, 0, sizeof(ds));
	is_int(device_add_ends(&ds, b.ends, b.nends), 1, "… recorded once");
	is_int(device_add_ends(&ds, b.ends, b.nends), 0, "… not twice");
	is_int(device_write(h.store.paths.device, h.store.keys.journal, &ds),
	       0, "… in STORE/device");
	history_close(&h);

	is_int(fsck_run(store, false, true, &heard, &f), 0,
	       "fetched end: fsck --deep with the end recorded");
	ok(f.problems == 0 && strstr(heard.history, "another device's gc"),
	   "… clean, the line ends there: %s", heard.history);
	fsck_free(&f);
	static struct gc g;
	size_t dead = gc_run(store, 0, &g);
	bool o3 = false, o1 = false;
	for (size_t i = 0; dead != (size_t)-1 && i < g.chain.n; i++) {
		o3 |= cid_equal(&g.chain.cids[i], &x.o[3]);
		o1 |= cid_equal(&g.chain.cids[i], &x.o[1]);
	}
	ok(dead != (size_t)-1 && o3 && !o1,
	   "… gc reads the history down to o-3, not past it (%zu commits)",
	   g.chain.n);
	gc_close(&g);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const char *tmp = tap_tempdir();
	char store[PATH_MAX];
	snprintf(store, sizeof(store), "%s/store", tmp);
	if (harness_make_store(store) != 0)
		harness_bail("store");
	for (int n = 1; n <= 3; n++)
		commit_one(store, tmp, n);

	static struct gc g;
	is_int(gc_run(store, 0, &g), 0, "gc keeping every commit: none dead");
	ok(g.chain.n >= 3 && g.keep == g.chain.n,
	   "the whole chain (%zu commits) is kept", g.chain.n);
	gc_close(&g);

	size_t dead = gc_run(store, 1, &g);
	ok(dead != (size_t)-1 && dead > 0 && g.keep == 1,
	   "gc keeping the newest: the older commits' blocks are dead (%zu)",
	   dead);
	uint64_t freed = sweep(&g, "");
	is_int(freed, dead, "every dead block freed");
	int gone = 0;
	for (size_t i = 0; i < g.dead.n; i++)
		gone += bs_has(g.h.local, &g.dead.v[i]) == 0;
	is_int(gone, dead, "… and gone from the store");
	gc_close(&g);
	is_int(gc_run(store, 0, &g), 0, "a second gc finds nothing more");
	is_int(g.chain.n, 1, "the chain ends at the kept commit");
	ok(g.pruned_before, "… where gc pruned it, normally");
	gc_close(&g);

	static struct fsck f;
	struct heard heard;
	is_int(fsck_run(store, true, false, &heard, &f), 0, "fsck checks");
	ok(f.problems == 0 && heard.damage == 0, "clean after gc");
	ok(heard.chunk[0] != 0, "--verbose names a chunk: %s", heard.chunk);
	struct cid victim;
	int e = cid_parse(&victim, heard.chunk, strlen(heard.chunk));
	if (!e)
		e = bs_remove(f.h.local, &victim);
	is_int(e, 0, "remove that chunk from the store");
	fsck_free(&f);

	is_int(fsck_run(store, false, false, &heard, &f), 0,
	       "fsck checks again");
	ok(f.problems > 0 && heard.damage == f.problems,
	   "the missing chunk is damage, said as such (%u)", f.problems);
	ok(f.plan.salvage && f.damaged.n == 1,
	   "the plan: salvage the one damaged file (%zu)", f.damaged.n);
	fsck_free(&f);
	test_dag(tmp);
	test_journaled_merge(tmp);
	test_own_line(tmp);
	test_fetched_end(tmp);
	return tap_done();
}
