/*
 * fs/cli/cli_store.c — opening the mailbox a command names (fs/cli/cli.h):
 * its store options, its paths, its keys, its read side, each failure
 * said once under the command's prefix.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "fs/cli/cli.h"
#include "fs/mount/mount.h"
#include "fs/store/history.h"
#include "fs/store/store.h"

/* c (with arg) is one of CLI_STORE_OPTIONS: taken (1); else 0. */
static int store_option(int c, char *arg, const char **store,
			struct passphrase_source *pass)
{
	switch (c) {
	case 's': *store = arg; return 1;
	case 'p': pass->file = arg; return 1;
	case 'P': pass->command = arg; return 1;
	default: return 0;
	}
}

int cli_getopt(int argc, char **argv, const char *shortopts,
	       const struct option *opts, const char **store,
	       struct passphrase_source *pass)
{
	int c;
	do
		c = getopt_long(argc, argv, shortopts, opts, NULL);
	while (c != -1 && store_option(c, optarg, store, pass));
	return c;
}

int cli_store_args(const char *cmd, int argc, char **argv, int operands,
		   const char *why, void (*usage)(FILE *out),
		   const char **store, struct passphrase_source *pass)
{
	static const struct option opts[] = {
		CLI_STORE_OPTIONS,
		CLI_OPTIONS_END,
	};
	int c = cli_getopt(argc, argv, "s:p:h", opts, store, pass);
	if (c != -1)
		return cli_help(cmd, usage, c);
	if (optind + operands != argc)
		return cli_usage(cmd, why);
	return -1;
}

int cli_store_paths(const char *cmd, const char *store,
		    struct store_paths *paths, json_t *doc)
{
	int r = store_paths_init(paths, store);
	if (r != 0) {
		cli_json_fail(doc, cmd, "cannot name the store: %s",
			      strerror(-r));
		return EXIT_FAILURE_;
	}
	return 0;
}

int cli_load_keys(const struct store_paths *paths,
		  const struct passphrase_source *pass,
		  struct mailbox_keys *keys)
{
	int sys_errno = 0;
	int r = store_load_keys(paths, pass, keys, &sys_errno);
	if (r != 0) {
		cli_load_keys_error(paths, pass, r, sys_errno);
		return EXIT_FAILURE_;
	}
	return 0;
}

/* What a reader of the whole history refuses: a head that does not open,
 * or one lost over mail (that is no empty history).  0, or said. */
static int head_whole(const char *cmd, struct history *h)
{
	if (h->store.state.head_err && h->store.state.head_err != -ENOENT) {
		cli_error("%s: %s is damaged (%s): run ipmaildir fsck", cmd,
			  h->store.paths.head, strerror(-h->store.state.head_err));
		return -1;
	}
	enum state_problem sp = history_state_problem(h);
	if (sp == STATE_HEAD_MISSING || sp == STATE_HEAD_EMPTY) {
		cli_error("%s: %s", cmd, state_problem_text(sp));
		return -1;
	}
	return 0;
}

int cli_fs_open(const char *cmd, struct ipmd_fs *fs,
		const struct mount_options *mo, json_t *doc)
{
	char msg[1024] = "";
	if (ipmd_fs_open(fs, mo, msg, sizeof(msg)) != 0) {
		cli_json_fail(doc, cmd, "%s",
			      msg[0] ? msg : "cannot open the mailbox");
		ipmd_fs_close(fs);
		return EXIT_FAILURE_;
	}
	return 0;
}

int cli_history_open(const char *cmd, struct history *h,
		     const struct history_options *ho, bool whole)
{
	char msg[1024] = "";
	if (history_open(h, ho, msg, sizeof(msg))) {
		cli_error("%s: %s", cmd, msg);
		history_close(h);
		return EXIT_FAILURE_;
	}
	if (whole && head_whole(cmd, h)) {
		history_close(h);
		return EXIT_FAILURE_;
	}
	return 0;
}

int cli_new_passphrase(const char *cmd, const struct passphrase_source *src,
		       char **pass, size_t *len)
{
	int r = passphrase_read(src, "New passphrase: ", 1, pass, len);
	if (r == 0 && passphrase_chars(*pass, *len) < PASSPHRASE_SHORT)
		fprintf(stderr,
			"ipmaildir %s: warning: the passphrase has fewer than "
			"%d characters; whoever copies the key file can try "
			"short ones quickly\n",
			cmd, PASSPHRASE_SHORT);
	return r;
}
