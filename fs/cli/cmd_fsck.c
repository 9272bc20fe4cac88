/*
 * fs/cli/cmd_fsck.c — `ipmaildir fsck`: check a store, and with --repair make
 * it mountable again, saying exactly what that costs.
 *
 * Checks, in order: the state files (head, seen); every commit of the
 * history's DAG from the head and every edge, a merge's other parents
 * too (signatures, each parent's seq below its child's, parents present,
 * ending at the first commit or where gc pruned); every block of the head's tree (all retained
 * commits with --deep): present, hashing to its CID, opening under its
 * key; the journal: every record opens and replays over the head, no
 * generation is missing between two that replay, and the blocks it names
 * are present (or carried in the journal itself).
 *
 * Repairs: a head that is missing (while the store holds mail), damaged
 * or older than STORE/seen is restored from seen (or, failing that, from
 * the newest commit found in the store, never below a seq accepted here);
 * a seen that is missing or damaged is rewritten from the head; a head
 * whose commit or tree is damaged is rolled back to the newest fully
 * intact commit (seen too: the rollback is deliberate); a
 * history broken below the head is cut there (STORE/pruned); a journal is cut
 * at its first bad record; then the journal is replayed into a commit, as
 * a mount would, across a missing generation (its changes are lost, the
 * later ones kept).  After repairing, everything is checked again.
 *
 * With a node (--node, IPMAILDIR_NODE, the config's node), a block missing
 * from the local store — evicted under local_cap_mb, or the store wiped —
 * is read from the node and checked the same way (fs/store/history.h).
 *
 * Exit status, as e2fsck: 0 clean, 1 errors corrected, 4 errors left
 * uncorrected, 8 operational error (and 2 for usage).
 *
 * --json: the same lines, gathered by kind, and the result in one JSON
 * object on stdout at the end (errors still get their line on stderr).
 *
 * This file is the command: options, the lines (fsck: …), the bar and the
 * exit status; the engine that checks and repairs is fs/tools/fsck.h.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/cli/cli.h"
#include "fs/cli/config.h"
#include "fs/cli/control.h"
#include "fs/cli/progress.h"
#include "fs/mount/housekeeping.h"
#include "fs/mount/mount.h"
#include "fs/tools/fsck.h"

enum fsck_exit {
	FSCK_CLEAN = 0,
	FSCK_CORRECTED = 1,
	FSCK_UNCORRECTED = 4,
	FSCK_OPERATIONAL = 8,
};

static void fsck_usage(FILE *out)
{
	fprintf(out,
		"usage: ipmaildir fsck [--store DIR] [--deep] [--repair] "
		"[--rollback-to SEQ]\n"
		"                     [--node ADDR] [--passphrase-file F]\n"
		"  --deep             check the blocks of every retained commit, "
		"not only the head's\n"
		"  --repair           fix what can be fixed (the mailbox must "
		"not be mounted);\n"
		"                     a damaged file is moved to "
		"/.lost+found, nothing intact is dropped\n"
		"  --rollback-to SEQ  make commit SEQ's state the head again, "
		"as a new commit,\n"
		"                     listing each file that drops (implies "
		"--repair)\n"
		"  -v, --verbose      list every block verified: kind, CID, "
		"file\n"
		"  --json             one JSON object: the result and every "
		"line by kind\n"
		"  --node ADDR        read blocks missing here from this IPFS "
		"node\n"
		"                     (default: $IPMAILDIR_NODE, the config's "
		"node)\n"
		"  --passphrase-file F   read the key's passphrase from F "
		"(- : standard input)\n"
		"  --passphrase-command CMD  or from the first line that "
		"/bin/sh -c CMD prints\n"
		"mounted read-write, the mailbox is checked by its mount "
		"(not --repair)\n"
		"exit: 0 clean, 1 errors corrected, 4 errors left, "
		"8 operational error\n");
}

/* --rollback-to's SEQ: a commit's seq, digits only.  0, or -1 (said). */
static int parse_seq(const char *s, uint64_t *seq)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v == 0) {
		cli_error("fsck: --rollback-to wants a commit's seq (ipmaildir "
			  "log lists them), not '%s'", s);
		return -1;
	}
	*seq = v;
	return 0;
}

/* ---- the engine's lines and bar (fs/tools/fsck.h) ---- */

/* Each kind of line: the word its printed line starts with (an error
 * goes to stderr as cli_error says it: no word), and the --json key it is
 * gathered under (the object lists the keys in this order). */
static const struct {
	const char *word, *key;
} kinds[] = {
	[FSCK_SAY_NOTE] = {"", "notes"},
	[FSCK_SAY_DAMAGE] = {"DAMAGE: ", "damage"},
	[FSCK_SAY_REPAIRED] = {"REPAIRED: ", "repaired"},
	[FSCK_SAY_NOT_REPAIRED] = {"NOT REPAIRED: ", "not_repaired"},
	[FSCK_SAY_DROPPED] = {"DROPPED: ", "dropped"},
	[FSCK_SAY_ERROR] = {NULL, "errors"},
};

/* A bar on stderr while blocks are verified, on a terminal only: the
 * per-commit lines on stdout are the plain form.  prog NULL: none. */
struct out {
	const struct cli_io *io;
	struct progress *prog;
	struct progress bar;
	json_t *doc; /* --json: the lines by kind, printed at the end */
};

static void say(void *arg, enum fsck_say kind, const char *text)
{
	struct out *o = arg;
	if (o->doc)
		json_array_append_new(json_object_get(o->doc, kinds[kind].key),
				      json_string(text));
	if (kind == FSCK_SAY_ERROR)
		cli_error_to(o->io->err, "fsck: %s", text);
	else if (!o->doc)
		fprintf(o->io->out, "fsck: %s%s\n", kinds[kind].word, text);
}

/* A line of this command's own, as the engine's notes are said. */
static void note(const struct fsck *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(const struct fsck *f, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	say(f->io.arg, FSCK_SAY_NOTE, text);
}

/* --json: the object the lines are gathered in; NULL without memory (the
 * lines are then printed). */
static json_t *json_doc(void)
{
	json_t *doc = json_object();
	for (size_t i = 0; doc && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		json_object_set_new(doc, kinds[i].key, json_array());
	return doc;
}

/* --json: the result, then the object on stdout. */
static void json_end(const struct out *o, const struct fsck *f, int status)
{
	json_t *doc = o->doc;
	static const char *const result[] = {
		[FSCK_CLEAN] = "clean", [FSCK_CORRECTED] = "corrected",
		[FSCK_UNCORRECTED] = "uncorrected",
		[FSCK_OPERATIONAL] = "operational error",
	};
	json_object_set_new(doc, "store", json_string(f->h.store.paths.root));
	json_object_set_new(doc, "mounted", json_boolean(f->mounted));
	json_object_set_new(doc, "problems", json_integer(f->problems));
	json_object_set_new(doc, "blocks", json_integer((json_int_t)f->blocks));
	json_object_set_new(doc, "result",
			    json_string(status >= 0 && status <= 8 &&
						result[status]
					? result[status]
					: "usage"));
	cli_json_print_to(o->io->out, doc, status);
}

static void bar_start(void *arg)
{
	struct out *o = arg;
	progress_start(o->prog, STDERR_FILENO, "fsck", "blocks", 0, 0, false);
}

static void bar_tick(void *arg, uint64_t bytes)
{
	struct out *o = arg;
	progress_add(o->prog, 1, bytes);
}

static void bar_clear(void *arg)
{
	struct out *o = arg;
	progress_clear(o->prog);
}

/* Only a rollback would repair this, and none was asked for: say how. */
static bool rollback_unasked(const struct fsck *f)
{
	if (!f->plan.dir_damaged)
		return false;
	note(f, "not repaired: a folder of the head does not load; nothing is "
	     "rolled back unasked: ipmaildir fsck --rollback-to %llu "
	     "restores the newest intact commit and lists what that drops",
	     (unsigned long long)f->plan.suggest_seq);
	return true;
}

/* The check's result when nothing is to repair, or the repair refused:
 * the exit status; -1 when there is something to repair. */
static int verdict(struct fsck *f, const struct history_options *ho,
		   bool repair)
{
	if (f->problems == 0 && !f->rollback_to) {
		/* A pending journal, or an unfinished write at its end
		 * (not damage): the replay commits one and cuts the other. */
		if (repair && (f->plan.journal_records ||
			       f->plan.unfinished_tail)) {
			history_close(&f->h);
			return fsck_repair_replay(f, ho) ? FSCK_OPERATIONAL
							 : FSCK_CORRECTED;
		}
		note(f, "clean: %llu blocks verified",
		     (unsigned long long)f->blocks);
		return FSCK_CLEAN;
	}
	if (!repair) {
		note(f, "%u problem%s found; ipmaildir fsck --repair fixes what "
		     "can be fixed",
		     f->problems, f->problems == 1 ? "" : "s");
		return FSCK_UNCORRECTED;
	}
	if (rollback_unasked(f))
		return FSCK_UNCORRECTED;
	if (f->plan.no_intact && !f->plan.restore_head) {
		note(f, "%u problem%s found and no intact commit to repair from",
		     f->problems, f->problems == 1 ? "" : "s");
		return FSCK_UNCORRECTED;
	}
	return -1;
}

/* Repair what the check planned, then check everything again: the exit
 * status tells the truth about the result, not about the intent. */
static int repair(struct fsck *f, struct out *o, struct history_options *ho)
{
	int e = fsck_repair_files(f);
	char msg[1024] = "";
	if (e) {
		snprintf(msg, sizeof(msg), "repairing: %s", strerror(-e));
		say(o, FSCK_SAY_ERROR, msg);
		return FSCK_OPERATIONAL;
	}
	history_close(&f->h);
	if (fsck_repair_replay(f, ho))
		return FSCK_OPERATIONAL;
	f->rollback_to = 0; /* done: the check below must not plan it again */
	ho->lock = HISTORY_LOCK_READ;
	if (history_open(&f->h, ho, msg, sizeof(msg))) {
		say(o, FSCK_SAY_ERROR, msg);
		return FSCK_OPERATIONAL;
	}
	note(f, "checking again after the repair");
	e = fsck_check(f);
	progress_done(o->prog, NULL);
	if (e) {
		say(o, FSCK_SAY_ERROR, strerror(-e));
		return FSCK_OPERATIONAL;
	}
	if (f->problems) {
		note(f, "%u problem%s left after the repair", f->problems,
		     f->problems == 1 ? "" : "s");
		return FSCK_UNCORRECTED;
	}
	note(f, "repaired: the mailbox is consistent and mountable");
	return FSCK_CORRECTED;
}

/* Options into *ho, *f, *repair, *json: -1 to go on, else the exit
 * status (said). */
static int fsck_options(int argc, char **argv, struct history_options *ho,
			struct fsck *f, bool *repair, bool *json)
{
	static const struct option opts[] = {
		CLI_STORE_OPTIONS,
		{"deep", no_argument, NULL, 'D'},
		{"repair", no_argument, NULL, 'R'},
		{"verbose", no_argument, NULL, 'v'},
		{"node", required_argument, NULL, 'N'},
		{"rollback-to", required_argument, NULL, 'B'},
		{"json", no_argument, NULL, 'j'},
		CLI_OPTIONS_END,
	};
	int c;
	while ((c = cli_getopt(argc, argv, "s:p:vh", opts, &ho->store,
			       &ho->pass)) != -1) {
		switch (c) {
		case 'D': f->deep = true; break;
		case 'R': *repair = true; break;
		case 'v': f->verbose = true; break;
		case 'j': *json = true; break;
		case 'N': ho->node = optarg; break;
		case 'B':
			if (parse_seq(optarg, &f->rollback_to))
				return EXIT_USAGE;
			*repair = true;
			break;
		default: return cli_help("fsck", fsck_usage, c);
		}
	}
	return optind != argc ? cli_usage("fsck", "takes no arguments") : -1;
}

/* What the command line asks beside the store and f's own settings. */
struct fsck_args {
	bool repair, json;
};

/* Open, check, repair as asked: the exit status.  live: the running
 * mount whose daemon this is (fs/cli/control.h), NULL offline. */
static int check(struct fsck *f, struct out *o, struct history_options *ho,
		 const struct fsck_args *a, struct ipmd_fs *live)
{
	char msg[1024] = "";
	if (fsck_open(f, ho, msg, sizeof(msg))) {
		say(o, FSCK_SAY_ERROR, msg);
		return FSCK_OPERATIONAL;
	}
	note(f, "checking %s%s", f->h.store.paths.root,
	     live ? " (mounted: checked by the mount, between commits; the "
		    "journal is left alone)"
	     : f->mounted ? " (mounted: the journal is left alone)"
			  : "");
	o->prog = o->io->bars && isatty(STDERR_FILENO) ? &o->bar : NULL;
	int e = fsck_check(f);
	progress_done(o->prog, NULL);
	if (e) {
		if (e != -ECANCELED) /* said already */
			say(o, FSCK_SAY_ERROR, strerror(-e));
		return FSCK_OPERATIONAL;
	}
	int status = verdict(f, ho, a->repair);
	return status < 0 ? repair(f, o, ho) : status;
}

/* f's settings made; the rest of the run.  The exit status. */
static int fsck_run(struct fsck *f, struct history_options *ho,
		    const struct fsck_args *a, struct ipmd_fs *live,
		    const struct cli_io *io)
{
	struct out *o = calloc(1, sizeof(*o));
	if (!o) {
		cli_error_to(io->err, "fsck: out of memory");
		return FSCK_OPERATIONAL;
	}
	o->io = io;
	f->io = (struct fsck_io){.say = say, .bar_start = bar_start,
				 .bar_tick = bar_tick, .bar_clear = bar_clear,
				 .arg = o};
	o->doc = a->json ? json_doc() : NULL;
	if (live) /* the head stays while it is checked */
		housekeeping_begin(live);
	int status = check(f, o, ho, a, live);
	if (live)
		housekeeping_end(live);
	if (o->doc)
		json_end(o, f, status);
	fsck_free(f);
	free(o);
	return status;
}

/* Mounted read-write: its daemon checks (fs/cli/control.h). */
static int ask_mount(const struct fsck *f, const struct history_options *ho,
		     const struct fsck_args *a)
{
	json_t *req = json_pack("{s:b,s:b,s:b}", "json", a->json, "deep",
				f->deep, "verbose", f->verbose);
	if (!req)
		return CONTROL_UNSERVED;
	if (ho->node) /* absent: none */
		json_object_set_new(req, "node", json_string(ho->node));
	return control_ask("fsck", ho->store, req);
}

int cmd_fsck(int argc, char **argv)
{
	struct history_options ho = {.lock = HISTORY_LOCK_READ};
	struct fsck_args a = {0};
	static struct fsck f;
	memset(&f, 0, sizeof(f));
	int status = fsck_options(argc, argv, &ho, &f, &a.repair, &a.json);
	if (status >= 0)
		return status;
	/* --node, else $IPMAILDIR_NODE or the config's (fs/cli/config.h). */
	struct config cfg;
	if (cli_config(&cfg, &ho.store, &ho.pass, &ho.node))
		return EXIT_USAGE;
	/* The config's deep and verbose, where the options gave none. */
	f.deep = f.deep || config_flag(&cfg, CFG_DEEP);
	f.verbose = f.verbose || config_flag(&cfg, CFG_VERBOSE);
	/* A repair needs the mailbox unmounted: the lock says so. */
	status = a.repair ? CONTROL_UNSERVED : ask_mount(&f, &ho, &a);
	if (status == CONTROL_UNSERVED) {
		if (a.repair)
			ho.lock = HISTORY_LOCK_EXCLUSIVE;
		struct cli_io io = cli_io_std();
		status = fsck_run(&f, &ho, &a, NULL, &io);
	}
	config_free(&cfg);
	return status;
}

int fsck_serve(struct ipmd_fs *fs, const json_t *req, const struct cli_io *io)
{
	struct fsck *f = calloc(1, sizeof(*f));
	struct fsck_args a = {0};
	int json = 0, deep = 0, verbose = 0;
	const char *node = NULL;
	if (!f || json_unpack((json_t *)req, "{s?b,s?b,s?b,s?s}", "json",
			      &json, "deep", &deep, "verbose", &verbose,
			      "node", &node)) {
		free(f);
		cli_error_to(io->err, "fsck: a request the daemon does not "
			     "understand");
		return EXIT_USAGE;
	}
	a.json = json;
	f->deep = deep;
	f->verbose = verbose;
	struct history_options ho = {.lock = HISTORY_LOCK_READ, .node = node,
				     .beside = &fs->store};
	int status = fsck_run(f, &ho, &a, fs, io);
	free(f);
	return status;
}
