/*
 * fs/cli/cmd_gc.c — `ipmaildir gc`: free the blocks no retained state needs.
 *
 * Retained: the newest --keep-last N commits and those younger than
 * --keep-within DURATION (either rule keeps a commit; without either, every
 * commit), newest by seq over the whole history (a merge's lines too).
 * The head is always retained, and so is every commit of a seq at or
 * above the oldest retained one's: what is dropped is everything below a
 * seq, on every line (fs/tools/gc.h).
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
 * is fine.  The node failing fails gc in one line, with only the blocks
 * it was done with freed here, so a later run names the others again.
 * Blocks dropped from a capped cache (cache/outbox.h) are unpinned too
 * when dead (STORE/outbox.evicted names them).  An unpinned block still
 * here after the frees (written again meanwhile, or left by a failure)
 * is queued for upload again: the outbox counts a block here as on the
 * node (fs/tools/gc.h); after an unpin on another node than a running
 * mount's own, only those written again (live): that node may be the
 * mount's by another address, and a dead one re-pinned would stay live
 * until uploaded.
 *
 * Safety: gc holds STORE/lock and STORE/readers exclusively (fs/store/history.h),
 * so it refuses to run while the mailbox or a past state of it is mounted,
 * and nothing can mount it meanwhile.  Before freeing anything it records
 * the oldest retained commit in STORE/pruned, so log and fsck see the end
 * of the history there as normal.  It refuses a store whose head, history,
 * retained trees or journal don't read cleanly: run fsck first.
 *
 * This file is the command: options, messages, bars and exit status; the
 * engine that decides and frees is fs/tools/gc.c.  --json: no lines on
 * stdout, one JSON object at the end with the same numbers (errors keep
 * their line on stderr and are in it too).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/cli/cli.h"
#include "fs/cli/config.h"
#include "fs/cli/control.h"
#include "fs/cli/options.h"
#include "fs/cli/progress.h"
#include "fs/tools/gc.h"
#include "fs/tools/gc_live.h"
#include "ipfs/bs_kubo.h"


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
		"only garbage goes:\n"
		"                     old versions, and 'object put' objects, "
		"which no commit names)\n"
		"  --dry-run          say what would be freed, free nothing\n"
		"  --json             one JSON object: what was kept, freed, "
		"unpinned\n"
		"  --node ADDR        also unpin the freed blocks on this IPFS "
		"node\n"
		"  --passphrase-file F   read the key's passphrase from F "
		"(- : standard input)\n"
		"  --passphrase-command CMD  or from the first line that "
		"/bin/sh -c CMD prints\n"
		"mounted read-write, the mailbox is collected by its mount, "
		"beside the deliveries\n");
}

/* --json: v under key in doc (taking v); without --json, nothing. */
static void put(json_t *doc, const char *key, json_t *v)
{
	if (doc)
		json_object_set_new(doc, key, v);
	else
		json_decref(v);
}

static json_t *num(uint64_t n)
{
	return json_integer((json_int_t)n);
}

/* One run's output and JSON object (NULL: no --json). */
struct run {
	const struct cli_io *io;
	json_t *doc;
};

/* "gc: why" on the run's stderr, and in the JSON object. */
static void fail(const struct run *r, const char *why)
{
	cli_json_fail_to(r->io->err, r->doc, "gc", "%s", why);
}

/* The node to unpin on ("auto": the running daemon's api file). */
static int open_node(const struct cli_io *io, const char *node,
		     struct blockstore **out)
{
	char msg[512];
	if (bs_kubo_open_addr(node, 0, out, msg, sizeof(msg))) {
		cli_error_to(io->err, "gc: %s", msg);
		return -1;
	}
	return 0;
}

/* The bars' ticks: one per commit marked, one per block freed. */
static void tick_commit(void *arg)
{
	progress_add(arg, 1, 0);
}

static void tick_block(void *arg, uint64_t bytes)
{
	progress_add(arg, 1, bytes);
}

/* The retained commits, the live set and the dead: 0, or -1 (said). */
static int plan(struct gc *g, bool with_evicted, struct ipmd_fs *live,
		const struct run *r)
{
	char msg[1024];
	json_t *doc = r->doc;
	/* Marking can be long too: a bar on a terminal, erased after. */
	struct progress mk = {0},
			*mkp = r->io->bars && isatty(STDERR_FILENO) ? &mk
								    : NULL;
	progress_start(mkp, STDERR_FILENO, "gc (marking)", "commits", g->keep,
		       0, false);
	int e = gc_mark(g, tick_commit, mkp, msg, sizeof(msg));
	progress_clear(mkp);
	if (!e && live)
		e = gc_live_mark(g, live, msg, sizeof(msg));
	if (!e)
		e = gc_find(g, with_evicted, msg, sizeof(msg));
	if (e) {
		fail(r, msg);
		return -1;
	}
	const struct commit_list *l = &g->chain;
	put(doc, "commits", num(l->n));
	put(doc, "kept", num(g->keep));
	put(doc, "kept_from_seq", num(l->commits[g->keep - 1].seq));
	put(doc, "kept_to_seq", num(l->commits[0].seq));
	put(doc, "live_blocks", num(cid_set_count(g->live)));
	if (!doc)
		fprintf(r->io->out, "gc: keeping %zu of %zu commits (seq %llu to %llu)%s; "
		       "%zu blocks live\n",
		       g->keep, l->n, (unsigned long long)l->commits[0].seq,
		       (unsigned long long)l->commits[g->keep - 1].seq,
		       g->pruned_before ? ", older ones freed before" : "",
		       cid_set_count(g->live));
	return 0;
}

/* Unpinned before the local frees: the node failing stops gc with the
 * blocks it did not finish with still here, to be named by the next
 * run.  0, or -1 (said). */
static int unpin(struct gc *g, struct blockstore *remote, const struct run *r)
{
	json_t *doc = r->doc;
	size_t n = g->dead.n + g->evicted.n, unpinned;
	if (!remote || !n)
		return 0;
	char msg[1024];
	int e = gc_unpin(g, remote, &unpinned, msg, sizeof(msg));
	put(doc, "unpinned", num(unpinned));
	put(doc, "evicted", num(g->evicted.n));
	if (e) {
		fail(r, msg);
		return -1;
	}
	if (doc)
		return 0;
	fprintf(r->io->out, "gc: unpinned %zu of %zu blocks on the node%s\n", unpinned, n,
	       unpinned < n ? " (the rest were not pinned)" : "");
	if (g->evicted.n)
		fprintf(r->io->out, "gc: %zu of them were no longer here (evicted "
		       "under local_cap_mb)\n",
		       g->evicted.n);
	return 0;
}

/* After the unpin, even one that failed partway: the blocks still here
 * that may have lost their pin go up to the node again (fs/tools/gc.h
 * gc_requeue_kept).  0, or -1 (said). */
static int requeue(struct gc *g, const struct blockstore *remote,
		   const struct run *r)
{
	if (!remote || !(g->dead.n + g->evicted.n))
		return 0;
	char msg[1024];
	uint64_t n;
	int e = gc_requeue_kept(g, &n, msg, sizeof(msg));
	if (e)
		fail(r, msg);
	put(r->doc, "requeued", num(n));
	if (!r->doc && n)
		fprintf(r->io->out, "gc: %llu blocks the node may have "
			"unpinned are still here: queued for upload again, "
			"to the node the store's outbox uploads to\n",
			(unsigned long long)n);
	return e;
}

/* Free (or count) the dead, say what went; the exit status.  remote: the
 * node to unpin on (NULL: none). */
static int sweep(struct gc *g, bool dry, struct blockstore *remote,
		 const struct run *r)
{
	json_t *doc = r->doc;
	FILE *out = r->io->out;
	const struct commit_list *l = &g->chain;
	bool drop = g->keep < l->n;
	char msg[1024];
	/* Before anything goes, here or on the node: the history now ends
	 * here, normally (fs/tools/gc.h, "Safety"). */
	if (!dry && drop && gc_write_pruned(g, msg, sizeof(msg))) {
		fail(r, msg);
		return EXIT_FAILURE_;
	}
	bool unpin_failed = unpin(g, remote, r) != 0;
	if (unpin_failed && !g->dead_done) { /* nothing to free */
		requeue(g, remote, r);
		return EXIT_FAILURE_;
	}
	struct progress bar = {0}, *pr = r->io->bars ? &bar : NULL;
	progress_start(pr, STDERR_FILENO, dry ? "gc (dry run)" : "gc",
		       "blocks", unpin_failed ? g->dead_done : g->dead.n, 0,
		       false);
	uint64_t freed, bytes;
	int e = gc_free(g, dry, tick_block, pr, &freed, &bytes, msg,
			sizeof(msg));
	if (e)
		fail(r, msg);
	progress_done(pr, NULL);
	put(doc, "freed_blocks", num(freed));
	put(doc, "freed_bytes", num(bytes));
	put(doc, "dropped_commits", num(drop ? l->n - g->keep : 0));
	if (g->beside)
		put(doc, "kept_rewritten", num(g->kept_busy));
	if (!doc)
		fprintf(out, "gc: %s %llu blocks (%.1f MiB)%s\n",
		       dry ? "would free" : "freed", (unsigned long long)freed,
		       (double)bytes / (1024.0 * 1024.0),
		       dry && drop ? " and drop the older commits" : "");
	if (!doc && g->kept_busy)
		fprintf(out, "gc: kept %llu of them: written again "
			"meanwhile\n", (unsigned long long)g->kept_busy);
	if (!doc && !dry && drop)
		fprintf(out, "gc: dropped commits %llu to %llu; the history now "
		       "starts at commit %llu\n",
		       (unsigned long long)l->commits[l->n - 1].seq,
		       (unsigned long long)l->commits[g->keep].seq,
		       (unsigned long long)l->commits[g->keep - 1].seq);
	if (requeue(g, remote, r))
		e = -1;
	if (e || unpin_failed)
		return EXIT_FAILURE_;
	/* The evicted blocks just unpinned need no more remembering. */
	if (remote && gc_forget_evicted(g, msg, sizeof(msg)))
		fail(r, msg);
	return EXIT_OK;
}

/* What the command line asks beside the store. */
struct gc_args {
	unsigned long long keep_last;
	int64_t within;
	bool dry, json;
};

/* Options into *ho and *a: -1 to go on, else the exit status (said). */
static int gc_options(int argc, char **argv, struct history_options *ho,
		      struct gc_args *a)
{
	static const struct option opts[] = {
		CLI_STORE_OPTIONS,
		{"keep-last", required_argument, NULL, 'n'},
		{"keep-within", required_argument, NULL, 'w'},
		{"dry-run", no_argument, NULL, 'D'},
		{"json", no_argument, NULL, 'j'},
		{"node", required_argument, NULL, 'N'},
		CLI_OPTIONS_END,
	};
	int c;
	struct opt_value v;
	while ((c = cli_getopt(argc, argv, "s:p:h", opts, &ho->store,
			       &ho->pass)) != -1) {
		switch (c) {
		case 'n':
			if (cli_opt_value("gc", CFG_KEEP_LAST, optarg, &v))
				return EXIT_USAGE;
			a->keep_last = v.u;
			break;
		case 'w':
			if (cli_opt_value("gc", CFG_KEEP_WITHIN, optarg, &v))
				return EXIT_USAGE;
			a->within = (int64_t)v.u;
			break;
		case 'D': a->dry = true; break;
		case 'j': a->json = true; break;
		case 'N': ho->node = optarg; break;
		default: return cli_help("gc", gc_usage, c);
		}
	}
	return optind != argc ? cli_usage("gc", "takes no arguments") : -1;
}

/* The config's keep-last and keep-within, when the command line gave
 * neither: a retention rule given there replaces the configured ones. */
static void config_retention(const struct config *cfg, struct gc_args *a)
{
	unsigned long n;
	if (a->keep_last || a->within >= 0)
		return;
	if (!config_get_uint(cfg, CFG_KEEP_LAST, &n))
		a->keep_last = n;
	if (!config_get_duration(cfg, CFG_KEEP_WITHIN, &n))
		a->within = (int64_t)n;
}

/* --json: the run's settings, then the object on stdout at the end. */
static void json_end(const struct run *r, const struct gc *g,
		     const struct gc_args *a, int status)
{
	if (!r->doc)
		return;
	json_object_set_new(r->doc, "store",
			    json_string(g->h.store.paths.root));
	json_object_set_new(r->doc, "dry_run", json_boolean(a->dry));
	cli_json_print_to(r->io->out, r->doc, status);
}

/* Open, plan, sweep: the exit status.  live: the running mount whose
 * daemon this is (fs/tools/gc_live.h), NULL offline. */
static int collect(struct gc *g, const struct gc_args *a,
		   const struct history_options *ho, struct ipmd_fs *live,
		   struct blockstore *remote, const struct run *r)
{
	char msg[1024] = "";
	if (live && gc_live_begin(g, live, msg, sizeof(msg))) {
		fail(r, msg);
		return EXIT_FAILURE_;
	}
	int status = EXIT_FAILURE_;
	/* Live blocks evicted under the cap are read from the node. */
	int e = gc_open(g, ho, msg, sizeof(msg));
	if (e == 1) {
		if (!r->doc)
			fprintf(r->io->out, "gc: nothing committed yet: nothing "
				"to free\n");
		put(r->doc, "freed_blocks", num(0));
		status = EXIT_OK;
	} else if (e) {
		fail(r, msg);
	} else {
		gc_retain(g, a->keep_last, a->within);
		if (!plan(g, remote != NULL, live, r))
			status = sweep(g, a->dry, remote, r);
	}
	if (live)
		gc_live_end(live);
	return status;
}

/* The node to unpin on: a mount's own when gc_serve read through it
 * (the request named that node), else one opened here (closed by gc_run).
 * 0, or -1 (said). */
static int unpin_node(const struct gc_args *a, const struct history_options *ho,
		      struct ipmd_fs *live, const struct cli_io *io,
		      struct blockstore **remote, bool *own)
{
	*remote = NULL;
	*own = false;
	if (!ho->node || a->dry)
		return 0;
	if (live && ho->beside_blocks && live->stack.remote) {
		*remote = live->stack.remote;
		return 0;
	}
	*own = true;
	return open_node(io, ho->node, remote);
}

static int gc_run(const struct gc_args *a, const struct history_options *ho,
		  struct ipmd_fs *live, const struct cli_io *io)
{
	struct blockstore *remote;
	bool own;
	if (unpin_node(a, ho, live, io, &remote, &own))
		return EXIT_USAGE;
	struct run r = {.io = io, .doc = a->json ? json_object() : NULL};
	struct gc *g = calloc(1, sizeof(*g));
	int status = EXIT_FAILURE_;
	if (!g)
		fail(&r, "out of memory");
	else
		status = collect(g, a, ho, live, remote, &r);
	if (g)
		json_end(&r, g, a, status);
	else
		json_decref(r.doc);
	if (own)
		bs_close(remote);
	if (g)
		gc_close(g);
	free(g);
	return status;
}

/* Mounted read-write: its daemon collects (fs/cli/control.h). */
static int ask_mount(const struct gc_args *a, const struct history_options *ho)
{
	json_t *req = json_pack("{s:b,s:b,s:I,s:I}", "json", a->json,
				"dry_run", a->dry, "keep_last",
				(json_int_t)a->keep_last, "keep_within",
				(json_int_t)a->within);
	if (!req)
		return CONTROL_UNSERVED;
	if (ho->node) /* absent: none */
		json_object_set_new(req, "node", json_string(ho->node));
	return control_ask("gc", ho->store, req);
}

int cmd_gc(int argc, char **argv)
{
	struct history_options ho = {.lock = HISTORY_LOCK_EXCLUSIVE};
	struct gc_args a = {.within = -1};
	int status = gc_options(argc, argv, &ho, &a);
	if (status >= 0)
		return status;
	/* --node, else $IPMAILDIR_NODE or the config's (fs/cli/config.h). */
	struct config cfg;
	if (cli_config(&cfg, &ho.store, &ho.pass, &ho.node))
		return EXIT_USAGE;
	config_retention(&cfg, &a);
	status = ask_mount(&a, &ho);
	if (status == CONTROL_UNSERVED) {
		struct cli_io io = cli_io_std();
		status = gc_run(&a, &ho, NULL, &io);
	}
	config_free(&cfg);
	return status;
}

/* A request's rules in the command line's ranges (the option table: a
 * keep_within beyond it overflows the cutoff in nanoseconds); 0 and -1
 * mean no such rule.  0, or -1 (said). */
static int serve_range(json_int_t keep_last, json_int_t within,
		       const struct cli_io *io)
{
	const struct {
		int key;
		json_int_t v, none;
	} rules[] = {{CFG_KEEP_LAST, keep_last, 0},
		     {CFG_KEEP_WITHIN, within, -1}};
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct opt_spec *o = &opt_table[rules[i].key];
		char why[128];
		if (rules[i].v != rules[i].none &&
		    opt_check_range(o, rules[i].v, why, sizeof(why))) {
			cli_error_to(io->err, "gc: --%s %s, not %lld%s", o->key,
				     why, (long long)rules[i].v,
				     o->type == OPT_DURATION ? " seconds"
							     : "");
			return -1;
		}
	}
	return 0;
}

/* Whether node (as a user names it: "auto", a multiaddr, a URL) is the
 * mount's own: the same API URL.  Another node is opened as on the
 * command line, so `gc --node B` of a mount on A unpins on B. */
static bool mounts_node(struct ipmd_fs *fs, const char *node)
{
	const char *mine = fs->stack.remote ? bs_kubo_url(fs->stack.remote)
					    : NULL;
	char addr[KUBO_URL_MAX], url[KUBO_URL_MAX];
	if (!node || !mine)
		return false;
	if (!strcmp(node, "auto")) {
		if (kubo_auto_addr(addr, sizeof(addr)))
			return false;
		node = addr;
	}
	return !kubo_api_url(node, url, sizeof(url)) && !strcmp(url, mine);
}

int gc_serve(struct ipmd_fs *fs, const json_t *req, const struct cli_io *io)
{
	struct gc_args a = {.within = -1};
	json_int_t keep_last = 0, within = -1;
	int json = 0, dry = 0;
	const char *node = NULL;
	if (json_unpack((json_t *)req, "{s?b,s?b,s?I,s?I,s?s}", "json", &json,
			"dry_run", &dry, "keep_last", &keep_last,
			"keep_within", &within, "node", &node)) {
		cli_error_to(io->err, "gc: a request the daemon does not "
			     "understand");
		return EXIT_USAGE;
	}
	if (serve_range(keep_last, within, io))
		return EXIT_USAGE;
	a.json = json;
	a.dry = dry;
	a.keep_last = (unsigned long long)keep_last;
	a.within = within;
	struct history_options ho = {.lock = HISTORY_LOCK_EXCLUSIVE,
				     .node = node, .beside = &fs->store};
	/* The mount's node named: read and unpin through the mount's
	 * connection, not a second one to it (unpin_node). */
	if (mounts_node(fs, node)) {
		ho.beside_blocks = fs->stack.outbox; /* no faults, no WAL */
		ho.beside_local = fs->stack.local;
	}
	return gc_run(&a, &ho, fs, io);
}
