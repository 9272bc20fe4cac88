/*
 * fs/cli/cmd_gc.c — `ipmaildir gc`: free the blocks no retained state needs.
 *
 * Retained: the newest --keep-last N commits and those younger than
 * --keep-within DURATION (either rule keeps a commit; without either, every
 * commit of the chain).  The head is always retained, and so is the chain
 * between it and the oldest retained commit: what is dropped is a tail.
 *
 * Live (never freed): every block of a retained commit (commit, directory
 * nodes and shards, index blocks, chunks); the blocks of the tree the
 * journal replays to over the head, and the blocks carried in the journal
 * itself; the blocks the outbox has not yet uploaded (cache/outbox.h).
 * Anything else in the local store is freed.
 *
 * With a node (--node, IPMAILDIR_NODE or the config's node), the blocks
 * freed are unpinned there too (uploads pin every block, ipfs/bs_kubo.h),
 * in batches, before they go here; a block the node doesn't have pinned
 * is fine.  The node down fails gc before anything is freed here, so a
 * later run names the same blocks again.  Blocks dropped from a capped
 * cache (cache/outbox.h) aren't here to be named: they stay pinned.
 *
 * Safety: gc holds STORE/lock and STORE/readers exclusively (fs/store/history.h),
 * so it refuses to run while the mailbox or a past state of it is mounted,
 * and nothing can mount it meanwhile.  Before freeing anything it records
 * the oldest retained commit in STORE/pruned, so log and fsck see the end
 * of the chain there as normal.  It refuses a store whose head, chain,
 * retained trees or journal don't read cleanly: run fsck first.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/outbox.h"
#include "fs/cli/cli.h"
#include "fs/cli/config.h"
#include "fs/cli/progress.h"
#include "fs/model/reach.h"
#include "fs/model/record.h"
#include "fs/store/history.h"
#include "fs/store/journal.h"
#include "fs/store/wal_store.h"
#include "ipfs/bs_kubo.h"
#include "ipfs/bs_local.h"

#define NS_PER_SEC 1000000000LL

static void gc_usage(FILE *out)
{
	fprintf(out,
		"usage: ipmaildir gc [--store DIR] [--keep-last N] "
		"[--keep-within DURATION] [--dry-run] [--node ADDR]\n"
		"                    [--passphrase-file F]\n"
		"  --keep-last N      keep the newest N commits\n"
		"  --keep-within DURATION   keep the commits younger than "
		"DURATION (30m, 12h, 7d, 2w)\n"
		"                     (with neither, every commit is kept and "
		"only garbage goes)\n"
		"  --dry-run          say what would be freed, free nothing\n"
		"  --node ADDR        also unpin the freed blocks on this IPFS "
		"node\n"
		"  --passphrase-file F   read the key's passphrase from F "
		"(- : standard input)\n"
		"  --passphrase-command CMD  or from the first line that "
		"/bin/sh -c CMD prints\n");
}

/* "90s", "30m", "12h", "7d", "2w" → seconds; 0 or -EINVAL. */
static int parse_duration(const char *s, int64_t *secs)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0 || *s == '-')
		return -EINVAL;
	int64_t unit = !strcmp(end, "s") || !*end ? 1
		       : !strcmp(end, "m")	  ? 60
		       : !strcmp(end, "h")	  ? 3600
		       : !strcmp(end, "d")	  ? 86400
		       : !strcmp(end, "w")	  ? 604800
						  : 0;
	if (!unit || v > INT64_MAX / unit / NS_PER_SEC)
		return -EINVAL;
	*secs = v * unit;
	return 0;
}

struct gc {
	struct history h;
	struct cid_set *live;
	int walk_error;
	char walk_path[256];
};

static int mark(const struct reach_block *b, void *arg)
{
	struct gc *g = arg;
	if (b->error && !g->walk_error) {
		g->walk_error = b->error;
		snprintf(g->walk_path, sizeof(g->walk_path), "%s", b->path);
	}
	return 0; /* reach_tree added the block to the set */
}

struct replay {
	struct gc *g;
	struct fs_tree *tree;
	struct cid_set *carried; /* blocks carried in the journal */
};

static int replay_record(uint64_t gen, uint64_t seq, const uint8_t *payload,
			 size_t len, void *arg)
{
	(void)gen;
	(void)seq;
	struct replay *r = arg;
	if (len > 0 && payload[0] == WAL_BLOCK_MARK) {
		/* Served to the walk below (the store may lack it after a
		 * crash), and live.  Not into g->live yet: reach_tree takes
		 * a root found there for a file already walked. */
		struct cid cid;
		int e = history_add_overlay(&r->g->h, payload + 1, len - 1,
					    &cid);
		if (!e)
			e = cid_set_add(r->carried, &cid);
		return e < 0 ? e : 0;
	}
	int e = record_replay(r->tree, payload, len);
	return e == -EBADMSG ? e : 0;
}

/* The journal's blocks: carried ones and those of the replayed tree. */
static int mark_journal(struct gc *g, const struct commit *head)
{
	struct replay r = {.g = g, .carried = cid_set_new()};
	if (!r.carried)
		return -ENOMEM;
	int e = history_tree(&g->h, head, &r.tree);
	if (e) {
		cid_set_free(r.carried);
		return e;
	}
	struct journal_replay_stats js;
	e = journal_replay(g->h.paths.journal, g->h.keys.journal,
			   g->h.head.journal_gen, false, replay_record, &r,
			   &js);
	if (!e)
		e = reach_tree(&g->h.st, r.tree, g->live, mark, g);
	tree_free(r.tree);
	/* Every block the journal carries stays, named by a record or not. */
	e = e ? e : cid_set_merge(g->live, r.carried);
	cid_set_free(r.carried);
	return e;
}

struct keep_pending {
	struct gc *g;
	uint64_t n;
};

static int keep_pending_one(const struct cid *cid, void *arg)
{
	struct keep_pending *k = arg;
	int e = cid_set_add(k->g->live, cid);
	if (e < 0)
		return e;
	k->n += (uint64_t)e;
	return 0;
}

/* The blocks the outbox has not yet confirmed on the node stay: a local
 * block not pending is on the node (cache/outbox.h), one pending is not. */
static int mark_outbox(struct gc *g, uint64_t *pending)
{
	struct keep_pending k = {.g = g};
	int e = outbox_pending_each(g->h.paths.root, keep_pending_one, &k);
	*pending = k.n;
	return e == -ENOENT ? 0 : e;
}

struct sweep {
	struct gc *g;
	struct cid *dead;
	size_t n, cap;
	int error;
};

static int add_dead(struct sweep *s, const struct cid *cid)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct cid *p = realloc(s->dead, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->dead = p;
		s->cap = cap;
	}
	s->dead[s->n++] = *cid;
	return 0;
}

static int find_dead(const struct cid *cid, void *arg)
{
	struct sweep *s = arg;
	return cid_set_has(s->g->live, cid) ? 0 : add_dead(s, cid);
}

/* Evicted under the cap (cache/outbox.h): gone from here, pinned on the
 * node.  Those no longer live are unpinned with the rest. */
static int find_dead_evicted(const struct cid *cid, void *arg)
{
	struct sweep *s = arg;
	if (cid_set_has(s->g->live, cid) || bs_has(s->g->h.local, cid) == 1)
		return 0;
	for (size_t i = 0; i < s->n; i++) /* the log may repeat a block */
		if (cid_equal(&s->dead[i], cid))
			return 0;
	return add_dead(s, cid);
}

static bool still_live(const struct cid *cid, void *arg)
{
	struct gc *g = arg;
	return cid_set_has(g->live, cid);
}

static uint64_t block_size(struct gc *g, const struct cid *cid)
{
	char path[PATH_MAX];
	struct stat st;
	if (bs_local_path(g->h.local, cid, path, sizeof(path)) ||
	    stat(path, &st))
		return 0;
	return (uint64_t)st.st_size;
}

/* The node to unpin on ("auto": the running daemon's api file). */
static int open_node(const char *node, struct blockstore **out)
{
	char msg[512];
	if (bs_kubo_open_addr(node, 0, out, msg, sizeof(msg))) {
		cli_error("gc: %s", msg);
		return -1;
	}
	return 0;
}

int cmd_gc(int argc, char **argv)
{
	static const struct option opts[] = {
		{"store", required_argument, NULL, 's'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{"passphrase-command", required_argument, NULL, 'P'},
		{"keep-last", required_argument, NULL, 'n'},
		{"keep-within", required_argument, NULL, 'w'},
		{"dry-run", no_argument, NULL, 'D'},
		{"node", required_argument, NULL, 'N'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct history_options ho = {.lock = HISTORY_LOCK_EXCLUSIVE};
	unsigned long long keep_last = 0;
	int64_t within = -1;
	bool dry = false;
	const char *node = getenv("IPMAILDIR_NODE");
	node = node && *node ? node : NULL;
	bool node_arg = false;
	int c;
	while ((c = getopt_long(argc, argv, "s:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': ho.store = optarg; break;
		case 'p': ho.pass.file = optarg; break;
		case 'P': ho.pass.command = optarg; break;
		case 'n': {
			char *end;
			errno = 0;
			keep_last = strtoull(optarg, &end, 10);
			if (errno || *end || keep_last == 0 || *optarg == '-') {
				cli_error("gc: --keep-last wants a count "
					  "above 0, not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'w':
			if (parse_duration(optarg, &within)) {
				cli_error("gc: --keep-within wants a duration "
					  "such as 30m, 12h, 7d or 2w, not "
					  "'%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'D': dry = true; break;
		case 'N': node = optarg; node_arg = true; break;
		case 'h': gc_usage(stdout); return EXIT_OK;
		default: gc_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		gc_usage(stderr);
		return EXIT_USAGE;
	}
	struct config cfg;
	if (cli_config(&cfg, &ho.store, &ho.pass, node_arg ? NULL : &node))
		return EXIT_USAGE;
	struct blockstore *remote = NULL;
	if (node && !dry && open_node(node, &remote)) {
		config_free(&cfg);
		return EXIT_USAGE;
	}
	static struct gc g;
	memset(&g, 0, sizeof(g));
	struct commit_list l = {0};
	struct sweep sw = {.g = &g};
	struct sweep ev = {.g = &g}; /* evicted here, dead: unpin only */
	int status = EXIT_FAILURE_;
	char msg[1024] = "";
	/* Live blocks evicted under the cap are read from the node. */
	ho.node = node;
	if (history_open(&g.h, &ho, msg, sizeof(msg))) {
		cli_error("gc: %s", msg);
		goto out;
	}
	enum state_problem sp = history_state_problem(&g.h);
	if (sp != STATE_OK) {
		/* Without the head, every block would look unreachable. */
		cli_error("gc: %s", state_problem_text(sp));
		goto out;
	}
	if (g.h.head_err == -ENOENT || g.h.head.commit.len == 0) {
		printf("gc: nothing committed yet: nothing to free\n");
		status = EXIT_OK;
		goto out;
	}
	if (g.h.head_err || (g.h.seen_err == 0 &&
			     g.h.seen.max_seq > g.h.head.seq)) {
		cli_error("gc: the head is damaged or older than one accepted "
			  "before: run ipmaildir fsck first");
		goto out;
	}
	struct chain_stop stop;
	int e = history_walk(&g.h, commit_list_add, &l, &stop);
	if (e) {
		cli_error("gc: the commit chain does not read cleanly (%s): "
			  "run ipmaildir fsck first",
			  strerror(-e));
		goto out;
	}
	/* How many of the newest commits to keep. */
	size_t keep = l.n;
	if (keep_last || within >= 0) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		int64_t cutoff = within >= 0
					 ? ((int64_t)now.tv_sec - within) *
						   NS_PER_SEC
					 : INT64_MAX;
		keep = 1;
		for (size_t i = 0; i < l.n; i++)
			if (i < keep_last || l.commits[i].time_ns >= cutoff)
				keep = i + 1;
	}
	g.live = cid_set_new();
	if (!g.live) {
		cli_error("gc: out of memory");
		goto out;
	}
	/* Marking can be long too: a bar on a terminal, erased after. */
	struct progress mk = {0}, *mkp = isatty(STDERR_FILENO) ? &mk : NULL;
	progress_start(mkp, STDERR_FILENO, "gc (marking)", "commits", keep, 0,
		       false);
	for (size_t i = 0; i < keep; i++) {
		struct fs_tree *t;
		if (cid_set_add(g.live, &l.cids[i]) < 0 ||
		    (e = history_tree(&g.h, &l.commits[i], &t)) != 0) {
			progress_clear(mkp);
			cli_error("gc: the tree of commit %llu does not read "
				  "(%s): run ipmaildir fsck first",
				  (unsigned long long)l.commits[i].seq,
				  strerror(e ? -e : ENOMEM));
			goto out;
		}
		e = reach_tree(&g.h.st, t, g.live, mark, &g);
		tree_free(t);
		if (e || g.walk_error) {
			progress_clear(mkp);
			cli_error("gc: commit %llu: %s%s: run ipmaildir fsck "
				  "first",
				  (unsigned long long)l.commits[i].seq,
				  g.walk_error ? g.walk_path : "",
				  g.walk_error ? ": a file does not read"
					       : strerror(-e));
			goto out;
		}
		progress_add(mkp, 1, 0);
	}
	progress_clear(mkp);
	e = mark_journal(&g, &l.commits[0]);
	if (e || g.walk_error) {
		cli_error("gc: the journal does not replay cleanly (%s): run "
			  "ipmaildir fsck first",
			  e ? strerror(-e) : g.walk_path);
		goto out;
	}
	uint64_t outbox_pending;
	e = mark_outbox(&g, &outbox_pending);
	if (e) {
		cli_error("gc: reading the outbox log: %s", strerror(-e));
		goto out;
	}
	e = bs_iterate(g.h.local, find_dead, &sw);
	if (e) {
		cli_error("gc: listing the store: %s", strerror(-e));
		goto out;
	}
	e = remote ? outbox_evicted_each(g.h.paths.root, find_dead_evicted,
					 &ev)
		   : 0;
	if (e && e != -ENOENT) {
		cli_error("gc: reading %s: %s", OUTBOX_EVICTED_NAME,
			  strerror(-e));
		goto out;
	}
	printf("gc: keeping %zu of %zu commits (seq %llu to %llu)%s; %zu "
	       "blocks live\n",
	       keep, l.n, (unsigned long long)l.commits[0].seq,
	       (unsigned long long)l.commits[keep - 1].seq,
	       stop.pruned ? ", older ones freed before" : "",
	       cid_set_count(g.live));
	if (!dry && keep < l.n) {
		/* Before anything goes: the chain now ends here, normally. */
		e = history_write_pruned(&g.h, &l.cids[keep - 1],
					 l.commits[keep - 1].seq);
		if (e) {
			cli_error("gc: writing STORE/pruned: %s", strerror(-e));
			goto out;
		}
	}
	/* Unpinned before the local frees: the node down stops gc while
	 * the blocks are still here to be named by the next run. */
	if (remote && (sw.n || ev.n)) {
		size_t unpinned = 0, unpinned_ev = 0;
		e = bs_kubo_unpin_many(remote, sw.dead, sw.n, &unpinned);
		if (!e && ev.n)
			e = bs_kubo_unpin_many(remote, ev.dead, ev.n,
					       &unpinned_ev);
		if (e) {
			char why[512];
			bs_kubo_last_error(remote, why, sizeof(why));
			cli_error("gc: unpinning on the node: %s (%zu of %zu "
				  "unpinned); nothing freed here",
				  why[0] ? why : strerror(-e), unpinned, sw.n);
			goto out;
		}
		printf("gc: unpinned %zu of %zu blocks on the node%s\n",
		       unpinned + unpinned_ev, sw.n + ev.n,
		       unpinned + unpinned_ev < sw.n + ev.n
			       ? " (the rest were not pinned)"
			       : "");
		if (ev.n)
			printf("gc: %zu of them were no longer here (evicted "
			       "under local_cap_mb)\n",
			       ev.n);
	}
	struct progress pr = {0}; /* clock NULL: the monotonic one */
	progress_start(&pr, STDERR_FILENO, dry ? "gc (dry run)" : "gc",
		       "blocks", sw.n, 0, false);
	uint64_t freed = 0, bytes = 0;
	for (size_t i = 0; i < sw.n; i++) {
		uint64_t size = block_size(&g, &sw.dead[i]);
		e = dry ? 0 : bs_remove(g.h.local, &sw.dead[i]);
		if (e && e != -ENOENT) {
			cli_error("gc: removing a block: %s", strerror(-e));
			break;
		}
		freed++;
		bytes += size;
		progress_add(&pr, 1, size);
	}
	progress_done(&pr, NULL);
	printf("gc: %s %llu blocks (%.1f MiB)%s\n",
	       dry ? "would free" : "freed", (unsigned long long)freed,
	       (double)bytes / (1024.0 * 1024.0),
	       dry && keep < l.n ? " and drop the older commits" : "");
	if (!dry && keep < l.n)
		printf("gc: dropped commits %llu to %llu; the history now "
		       "starts at commit %llu\n",
		       (unsigned long long)l.commits[l.n - 1].seq,
		       (unsigned long long)l.commits[keep].seq,
		       (unsigned long long)l.commits[keep - 1].seq);
	status = e && e != -ENOENT ? EXIT_FAILURE_ : EXIT_OK;
	/* The evicted blocks just unpinned need no more remembering. */
	if (status == EXIT_OK && remote) {
		int re = outbox_evicted_rewrite(g.h.paths.root, still_live, &g);
		if (re && re != -ENOENT)
			cli_error("gc: rewriting %s: %s (harmless: those "
				  "blocks are unpinned again next time)",
				  OUTBOX_EVICTED_NAME, strerror(-re));
	}
out:
	bs_close(remote);
	free(sw.dead);
	free(ev.dead);
	commit_list_free(&l);
	cid_set_free(g.live);
	history_close(&g.h);
	config_free(&cfg);
	return status;
}
