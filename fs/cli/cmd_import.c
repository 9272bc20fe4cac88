/*
 * fs/cli/cmd_import.c — `ipmaildir import MAILDIR`: a plain Maildir into an
 * unmounted mailbox (fs/tools/import.h says what is taken and how).
 * --json: no progress or summary, one JSON object on stdout at the end
 * (the counts, or the error, which keeps its line on stderr too).
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
#include "fs/cli/progress.h"
#include "fs/mount/mount.h"
#include "fs/store/history.h"
#include "fs/tools/import.h"

static void import_usage(FILE *out)
{
	fprintf(out,
		"usage: ipmaildir import [--store DIR] [--passphrase-file F] "
		"[--passphrase-command CMD] [--threads N] [--quiet] "
		"[--force] MAILDIR\n"
		"  --threads N   sealing threads (default: one per CPU)\n"
		"  --quiet       no progress, only errors and the summary\n"
		"  --json        one JSON object at the end: the counts or the "
		"error\n"
		"  --force       import a directory that is not a Maildir (no "
		"cur/ and new/,\n"
		"                nor Maildir++ folders .NAME/ with them)\n");
}

static void on_progress(void *arg, const struct import_stats *st,
			uint64_t files, uint64_t bytes)
{
	struct progress *p = arg;
	if (files == 0 && bytes == 0) {
		progress_set_total(p, st->files, st->bytes);
		return;
	}
	progress_add(p, files - p->items, bytes - p->bytes);
}

/* The source is a Maildir (or --force) we can read, and the mailbox is
 * not mounted: 0, or -1 (said). */
static int check_source(const char *src, int force,
			const struct store_paths *paths, json_t *doc)
{
	const char *cmd = "import";
	if (access(src, R_OK | X_OK) != 0)
		return cli_json_fail(doc, cmd, "%s: %s", src, strerror(errno));
	int e = force ? 1 : import_source_is_maildir(src);
	if (e < 0)
		return cli_json_fail(doc, cmd, "%s: %s", src, strerror(-e));
	if (e == 0)
		return cli_json_fail(doc, cmd,
				     "%s is not a Maildir (no cur/ and new/, "
				     "nor Maildir++ folders .NAME/ with "
				     "them): nothing imported; --force "
				     "imports it anyway",
				     src);
	if (store_writer_active(paths) == 1) {
		char mnt[PATH_MAX];
		if (store_mountpoint(paths, mnt, sizeof(mnt)) == 0)
			return cli_json_fail(
				doc, cmd,
				"the mailbox %s is mounted on %s: import "
				"works on an unmounted mailbox; to add mail "
				"now, copy it into the mount (cp -a %s/. %s/)",
				paths->root, mnt, src, mnt);
		return cli_json_fail(doc, cmd,
				     "the mailbox %s is in use (mounted?): "
				     "import works on an unmounted mailbox; "
				     "copy the mail into the mount point "
				     "instead",
				     paths->root);
	}
	return 0;
}

/* --json: the counts, the source, the store and the exit status, on
 * stdout. */
static void json_end(json_t *doc, const struct import_stats *st,
		     const char *src, const char *store, int status)
{
	const struct {
		const char *key;
		uint64_t v;
	} n[] = {
		{"imported", st->imported},
		{"imported_bytes", st->imported_bytes},
		{"skipped", st->skipped},
		{"not_files", st->other},
		{"symlinks", st->symlinks},
		{"changed", st->changed},
		{"commits", st->commits},
	};
	for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++)
		json_object_set_new(doc, n[i].key,
				    json_integer((json_int_t)n[i].v));
	json_object_set_new(doc, "source", json_string(src));
	json_object_set_new(doc, "store", json_string(store));
	cli_json_print(doc, status);
}

int cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_STORE_OPTIONS,
		{"threads", required_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},
		{"force", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'J'},
		CLI_OPTIONS_END,
	};
	struct mount_options mo = {0};
	struct import_options io = {0};
	int quiet = 0, force = 0, json = 0, c;
	while ((c = cli_getopt(argc, argv, "s:p:j:qfh", opts, &mo.store,
			       &mo.pass)) != -1) {
		switch (c) {
		case 'j': {
			struct opt_value v;
			if (cli_opt_value("import", CFG_THREADS, optarg, &v))
				return EXIT_USAGE;
			io.threads = (unsigned)v.u;
			break;
		}
		case 'q': quiet = 1; break;
		case 'f': force = 1; break;
		case 'J': json = 1; break;
		default: return cli_help("import", import_usage, c);
		}
	}
	if (optind + 1 != argc)
		return cli_usage("import", "wants one MAILDIR");
	const char *src = argv[optind];
	struct config cfg;
	if (cli_config(&cfg, &mo.store, &mo.pass, NULL))
		return EXIT_USAGE;
	mo.scope = cli_scope(&cfg);
	/* The config's settings where the command line gave none. */
	unsigned long threads;
	if (!io.threads && !config_get_uint(&cfg, CFG_THREADS, &threads))
		io.threads = (unsigned)threads;
	quiet = quiet || config_flag(&cfg, CFG_QUIET);

	int status = EXIT_FAILURE_;
	json_t *doc = json ? json_object() : NULL;
	struct import_stats st = {0};
	struct store_paths paths = {0};
	if (cli_store_paths("import", mo.store, &paths, doc) ||
	    check_source(src, force, &paths, doc))
		goto out_cfg;
	static struct ipmd_fs fs;
	if (cli_fs_open("import", &fs, &mo, doc))
		goto out_cfg;
	/* --json: the object is the summary; no bar, no line. */
	struct progress bar = {0}, *prog = doc ? NULL : &bar;
	progress_start(prog, 2, "import", "files", 0, 0, false);
	io.progress = quiet || doc ? NULL : on_progress;
	io.progress_arg = prog;
	char errpath[PATH_MAX];
	int e = import_maildir(&fs, src, &io, &st, errpath);
	int ce = ipmd_fs_close(&fs);
	char extra[512];
	snprintf(extra, sizeof(extra),
		 "%llu skipped (already in the mailbox), %llu not files "
		 "(sockets, fifos, devices: left out), %llu symlinks (kept "
		 "as links, not followed), %llu changed while importing "
		 "(no longer a plain file: left out); %llu commits",
		 (unsigned long long)st.skipped,
		 (unsigned long long)st.other,
		 (unsigned long long)st.symlinks,
		 (unsigned long long)st.changed,
		 (unsigned long long)st.commits);
	/* The summary counts what was imported, not what was walked. */
	bar.items = st.imported;
	bar.bytes = st.imported_bytes;
	progress_done(prog, extra);
	if (e) {
		cli_json_fail(doc, "import",
			      "%s%s%s; what was imported before it is kept, "
			      "run the import again to finish",
			      errpath[0] ? errpath : "",
			      errpath[0] ? ": " : "", strerror(-e));
		goto out_cfg;
	}
	if (ce) {
		cli_json_fail(doc, "import",
			      "the last commit failed (%s); the journal "
			      "keeps the changes for the next mount",
			      strerror(-ce));
		goto out_cfg;
	}
	status = EXIT_OK;
out_cfg:
	if (doc)
		json_end(doc, &st, src, paths.root, status);
	config_free(&cfg);
	return status;
}
