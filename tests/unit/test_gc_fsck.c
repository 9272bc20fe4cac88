/*
 * test_gc_fsck.c — the gc and fsck engines (fs/tools/gc.h, fs/tools/fsck.h)
 * without the CLI: a mailbox of three commits; gc keeping all of them
 * frees nothing, gc keeping the newest frees the older commits' own
 * blocks and ends the chain there; fsck then finds the store clean, and
 * a chunk removed from under the head is damage whose file --repair
 * would salvage (the folders still load).  The lines the engines say go
 * through the callback (nothing printed below the CLI).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "fs/mount/mount.h"
#include "fs/store/store.h"
#include "fs/tools/fsck.h"
#include "fs/tools/gc.h"
#include "fs/tools/import.h"
#include "ipfs/bs_local.h"
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

/* What fsck said: DAMAGE lines counted, the first "ok chunk" CID kept. */
struct heard {
	unsigned damage;
	char chunk[128];
};

static void hear(void *arg, enum fsck_say kind, const char *text)
{
	struct heard *h = arg;
	if (kind == FSCK_SAY_DAMAGE)
		h->damage++;
	if (kind == FSCK_SAY_NOTE && !h->chunk[0] &&
	    !strncmp(text, "ok chunk ", 9))
		sscanf(text + 9, "%127s", h->chunk);
}

static int fsck_run(const char *store, bool verbose, struct heard *heard,
		    struct fsck *f)
{
	struct history_options ho = {.store = store,
				     .lock = HISTORY_LOCK_READ};
	char msg[512] = "";
	memset(f, 0, sizeof(*f));
	memset(heard, 0, sizeof(*heard));
	f->verbose = verbose;
	f->io = (struct fsck_io){.say = hear, .arg = heard};
	if (fsck_open(f, &ho, msg, sizeof(msg))) {
		tap_diag("fsck: %s", msg);
		return -1;
	}
	return fsck_check(f);
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
	char msg[512] = "";
	uint64_t freed = 0, bytes = 0;
	is_int(gc_write_pruned(&g, msg, sizeof(msg)), 0, "pruned written");
	is_int(gc_free(&g, false, NULL, NULL, &freed, &bytes, msg,
		       sizeof(msg)),
	       0, "freed (%s)", msg);
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
	is_int(fsck_run(store, true, &heard, &f), 0, "fsck checks");
	ok(f.problems == 0 && heard.damage == 0, "clean after gc");
	ok(heard.chunk[0] != 0, "--verbose names a chunk: %s", heard.chunk);
	struct cid victim;
	int e = cid_parse(&victim, heard.chunk, strlen(heard.chunk));
	if (!e)
		e = bs_remove(f.h.local, &victim);
	is_int(e, 0, "remove that chunk from the store");
	fsck_free(&f);

	is_int(fsck_run(store, false, &heard, &f), 0, "fsck checks again");
	ok(f.problems > 0 && heard.damage == f.problems,
	   "the missing chunk is damage, said as such (%u)", f.problems);
	ok(f.plan.salvage && f.damaged.n == 1,
	   "the plan: salvage the one damaged file (%zu)", f.damaged.n);
	fsck_free(&f);
	return tap_done();
}
