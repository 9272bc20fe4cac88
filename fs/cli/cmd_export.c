/*
 * fs/cli/cmd_export.c — `ipmaildir export DIR`: the mailbox as a plain Maildir
 * (fs/tools/export.h); `ipmaildir export --car FILE`: its blocks as a CARv1
 * (ipfs/car.h) whose root is the head commit.
 *
 * Both read the store without mounting it (fs/tools/snapshot.h).  While it is
 * mounted, the Maildir export is of the last commit, and says so; the CAR
 * is always of the last commit (its root must name exactly its tree).
 * --json: no progress or summary, one JSON object on stdout at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/cli/cli.h"
#include "fs/cli/config.h"
#include "fs/cli/progress.h"
#include "fs/model/manifest.h"
#include "fs/model/reach.h"
#include "fs/store/history.h"
#include "fs/tools/export.h"
#include "fs/tools/snapshot.h"
#include "ipfs/car.h"
#include "ipfs/cidset.h"

static void export_usage(FILE *out)
{
	fprintf(out,
		"usage: ipmaildir export [--store DIR] [--passphrase-file F] "
		"[--quiet] DIR\n"
		"       ipmaildir export [--store DIR] [--passphrase-file F] "
		"[--quiet] --car FILE [--head-only]\n"
		"  --car FILE     a CARv1 of the blocks and commits (FILE - "
		"is standard output)\n"
		"  --head-only    only the head commit's blocks, not those of "
		"older states\n"
		"  --quiet        no progress\n"
		"  --json         one JSON object at the end: what was "
		"written, or the error\n"
		"                 (not with --car -)\n"
		"  --passphrase-command CMD  the passphrase is the first line "
		"/bin/sh -c CMD prints\n");
}

static void on_progress(void *arg, const struct export_stats *st)
{
	struct progress *p = arg;
	if (st->written == 0)
		progress_set_total(p, st->files, st->bytes);
	else
		progress_add(p, st->written - p->items,
			     st->written_bytes - p->bytes);
}

static json_t *num(uint64_t n)
{
	return json_integer((json_int_t)n);
}

static int export_dir(struct snapshot *s, const char *dst, bool quiet,
		      json_t *doc)
{
	if (s->mounted) {
		char when[HISTORY_TIME_MAX];
		history_format_time(s->last.time_ns, when);
		fprintf(stderr,
			"ipmaildir: export: the mailbox is mounted: exporting "
			"its last commit (seq %llu, %s); changes since then "
			"are not in it (copy from the mount point for "
			"those)\n",
			(unsigned long long)s->last.seq, when);
	}
	/* --json: the object is the summary; no bar, no line. */
	struct progress bar = {0}, *prog = doc ? NULL : &bar;
	progress_start(prog, 2, "export", "files", 0, 0, false);
	struct export_options o = {
		.progress = quiet || doc ? NULL : on_progress,
		.progress_arg = prog};
	struct export_stats st = {0};
	char errpath[PATH_MAX];
	int e = export_tree(s->st, s->tree, dst, &o, &st, errpath);
	bar.items = st.written;
	bar.bytes = st.written_bytes;
	/* The summary says it was done: only when it was. */
	if (e)
		progress_clear(prog);
	else
		progress_done(prog, NULL);
	if (doc) {
		json_object_set_new(doc, "dir", json_string(dst));
		json_object_set_new(doc, "commit", num(s->last.seq));
		json_object_set_new(doc, "mounted", json_boolean(s->mounted));
		json_object_set_new(doc, "files", num(st.written));
		json_object_set_new(doc, "bytes", num(st.written_bytes));
		json_object_set_new(doc, "directories", num(st.dirs));
		json_object_set_new(doc, "symlinks", num(st.symlinks));
		json_object_set_new(doc, "special_files",
				    num(st.written_specials));
	}
	if (e) {
		cli_json_fail(doc, "export", "%s: %s",
			      errpath[0] ? errpath : dst,
			      e == -ENOTEMPTY
				      ? "exists and is not empty: export "
					"writes only into a new or empty "
					"directory"
			      : e == -EBADMSG ? "a block is damaged (it does "
						"not verify); run ipmaildir "
						"fsck"
			      : e == -ENOENT ? "missing (a block or the "
					       "directory); run ipmaildir "
					       "fsck"
					     : strerror(-e));
		return EXIT_FAILURE_;
	}
	return EXIT_OK;
}

struct car_job {
	struct snapshot *s;
	struct car_writer *w;
	struct cid_set *seen;
	struct progress *prog;
	uint8_t *buf;
	int error;       /* a block's fault: bad names it */
	bool write_failed; /* the CAR's: its file is named */
	struct cid bad;
	uint64_t commits;
	struct cid_list chain; /* the commits of the DAG, newest first */
};

static int put_block(struct car_job *j, const struct cid *cid)
{
	size_t len;
	int e = bs_get(j->s->bs, cid, j->buf, BLOCK_MAX_BYTES, &len);
	if (e) { /* the block's fault; a failed write is the file's */
		j->error = e;
		j->bad = *cid;
		return e;
	}
	e = car_put(j->w, cid, j->buf, len);
	if (e) {
		j->write_failed = true;
		return e;
	}
	progress_add(j->prog, 1, len);
	return 0;
}

static int on_block(const struct reach_block *b, void *arg)
{
	struct car_job *j = arg;
	if (b->error) {
		j->error = b->error;
		j->bad = *b->cid;
		return b->error;
	}
	return put_block(j, b->cid);
}

static int on_commit(const struct cid *cid, const struct commit *c,
		     void *arg)
{
	(void)c;
	struct car_job *j = arg;
	return cid_list_add(&j->chain, cid);
}

/* Blocks of every state (or of the head only), each once: the head
 * commit, its tree, then each older commit of the DAG (highest seq first)
 * and what its tree adds. */
static int car_blocks(struct car_job *j, bool head_only)
{
	struct snapshot *s = j->s;
	int e = put_block(j, &s->head.commit);
	if (!e && cid_set_add(j->seen, &s->head.commit) < 0)
		e = -ENOMEM;
	if (!e)
		e = reach_tree(s->st, s->tree, j->seen, on_block, j);
	if (e || head_only)
		return e;
	/* Every commit of the DAG once, newest first, down to where gc cut
	 * the history; a line missing here ends early: what is there. */
	struct chain_stop stop;
	e = dag_walk(s->bs, s->keys, &s->head.commit,
		     s->pruned.len ? &s->pruned : NULL, DAG_MISSING_ENDS_LINE,
		     on_commit, j, &stop);
	if (e == -ENOMEM)
		return e;
	e = 0;
	for (size_t i = 0; i < j->chain.n && !e; i++) {
		if (cid_set_has(j->seen, &j->chain.v[i]))
			continue;
		struct commit c;
		e = commit_read(s->bs, s->keys, &j->chain.v[i], &c);
		if (!e)
			e = put_block(j, &j->chain.v[i]);
		if (!e && cid_set_add(j->seen, &j->chain.v[i]) < 0)
			e = -ENOMEM;
		struct fs_tree *t = NULL;
		if (!e)
			e = manifest_load(s->st, &c.tree, c.next_ino, &t);
		if (!e)
			e = reach_tree(s->st, t, j->seen, on_block, j);
		if (t)
			tree_free(t);
		if (e && !j->error && !j->write_failed) {
			j->error = e;
			j->bad = j->chain.v[i];
		}
		j->commits++;
	}
	return e;
}

static int export_car(struct snapshot *s, const char *file, bool head_only,
		      bool quiet, json_t *doc)
{
	if (s->head.commit.len == 0) {
		cli_json_fail(doc, "export --car", "nothing committed yet");
		return EXIT_FAILURE_;
	}
	bool out_stdout = !strcmp(file, "-");
	int fd = out_stdout ? 1
			    : open(file,
				   O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				   0600);
	if (fd < 0) {
		cli_json_fail(doc, "export --car", "%s: %s", file,
			      errno == EEXIST
				      ? "exists already (not overwritten)"
				      : strerror(errno));
		return EXIT_FAILURE_;
	}
	quiet = quiet || doc; /* --json: the object is the summary */
	struct progress prog = {0};
	progress_start(quiet ? NULL : &prog, 2, "export", "blocks", 0, 0,
		       false);
	struct car_job j = {.s = s, .prog = quiet ? NULL : &prog};
	j.seen = cid_set_new();
	j.buf = malloc(BLOCK_MAX_BYTES);
	int e = j.seen && j.buf ? 0 : -ENOMEM;
	if (!e)
		e = car_writer_new(fd, &s->head.commit, 1, &j.w);
	if (!e)
		e = car_blocks(&j, head_only);
	uint64_t bytes = 0;
	if (j.w) {
		int fe = car_finish(j.w, &bytes);
		if (!e)
			e = fe;
	}
	if (!e && !out_stdout && fsync(fd) != 0)
		e = -errno;
	if (!out_stdout && close(fd) != 0 && !e)
		e = -errno;
	if (!quiet && e) {
		progress_clear(&prog);
	} else if (!quiet) {
		char extra[128];
		snprintf(extra, sizeof(extra), "%llu commits, CAR of %llu "
			 "bytes", (unsigned long long)j.commits + 1,
			 (unsigned long long)bytes);
		progress_done(&prog, extra);
	}
	free(j.buf);
	cid_list_free(&j.chain);
	cid_set_free(j.seen);
	if (doc) {
		char root[CID_TEXT_MAX];
		cid_format(&s->head.commit, root, sizeof(root));
		json_object_set_new(doc, "car", json_string(file));
		json_object_set_new(doc, "root", json_string(root));
		json_object_set_new(doc, "commits", num(j.commits + 1));
		json_object_set_new(doc, "bytes", num(bytes));
	}
	if (e) {
		char cid[CID_TEXT_MAX] = "";
		if (j.error)
			cid_format(&j.bad, cid, sizeof(cid));
		/* A block at fault, else the file (a full disk, …). */
		const char *what = cid[0]	? cid
				   : out_stdout ? "standard output"
						: file;
		cli_json_fail(doc, "export --car", "%s%s: %s",
			      cid[0] ? "block " : "", what,
			      e == -ENOENT    ? "missing from the store"
			      : e == -EBADMSG ? "damaged (does not verify)"
					      : strerror(-e));
		if (!out_stdout)
			unlink(file); /* never leave a partial CAR */
		return EXIT_FAILURE_;
	}
	return EXIT_OK;
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_STORE_OPTIONS,
		{"car", required_argument, NULL, 'c'},
		{"head-only", no_argument, NULL, 'H'},
		{"quiet", no_argument, NULL, 'q'},
		{"json", no_argument, NULL, 'J'},
		CLI_OPTIONS_END,
	};
	const char *store = NULL, *car = NULL;
	struct passphrase_source pass = {0};
	bool quiet = false, head_only = false, json = false;
	int c;
	while ((c = cli_getopt(argc, argv, "s:p:c:qh", opts, &store,
			       &pass)) != -1) {
		switch (c) {
		case 'c': car = optarg; break;
		case 'H': head_only = true; break;
		case 'q': quiet = true; break;
		case 'J': json = true; break;
		default: return cli_help("export", export_usage, c);
		}
	}
	if ((car && optind != argc) || (!car && optind + 1 != argc) ||
	    (head_only && !car))
		return cli_usage("export", "wants one DIR, or --car FILE "
					   "(--head-only goes with --car)");
	/* A CAR is binary: not for a terminal (as gzip refuses). */
	if (car && !strcmp(car, "-") && isatty(STDOUT_FILENO)) {
		cli_error("export: --car - would write binary to the "
			  "terminal: redirect standard output to a file or "
			  "a pipe");
		return EXIT_USAGE;
	}
	if (json && car && !strcmp(car, "-")) {
		cli_error("export: --json and --car - would share standard "
			  "output: give the CAR a file");
		return EXIT_USAGE;
	}
	struct config cfg;
	if (cli_config(&cfg, &store, &pass, NULL))
		return EXIT_USAGE;
	quiet = quiet || config_flag(&cfg, CFG_QUIET);
	static struct snapshot s;
	char msg[1024] = "";
	int status = EXIT_FAILURE_;
	json_t *doc = json ? json_object() : NULL;
	if (snapshot_open(&s, store, &pass,
			  car ? SNAP_COMMITTED : SNAP_CURRENT, msg,
			  sizeof(msg)) != 0)
		cli_json_fail(doc, "export", "%s",
			      msg[0] ? msg : "cannot open the store");
	else if (car)
		status = export_car(&s, car, head_only, quiet, doc);
	else
		status = export_dir(&s, argv[optind], quiet, doc);
	if (doc)
		cli_json_print(doc, status);
	snapshot_close(&s);
	config_free(&cfg);
	return status;
}
