/* fs/cli/cmd_init.c — `ipmaildir init`: create a mailbox (its key and store). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/keys.h"
#include "fs/cli/cli.h"
#include "fs/cli/config.h"
#include "fs/store/head.h"
#include "fs/store/store.h"
#include "ipfs/bs_local.h"
#include "ipfs/cid.h"

static int init_store(const char *store, const struct passphrase_source *src)
{
	struct store_paths paths;
	if (cli_store_paths("init", store, &paths, NULL))
		return EXIT_FAILURE_;
	int r = store_make_dirs(paths.root);
	if (r != 0) {
		cli_error("init: %s: %s", paths.root, strerror(-r));
		return EXIT_FAILURE_;
	}
	/* A store with mail but no key lost its key file: a new key would
	 * read none of that mail, and gc under it would free all of it. */
	if (access(paths.key, F_OK) != 0 && errno == ENOENT &&
	    (r = store_has_data(&paths)) != 0) {
		if (r < 0)
			cli_error("init: %s: %s", paths.root, strerror(-r));
		else
			cli_error("init: %s already holds a mailbox (blocks, "
				  "journal or head) whose key file is "
				  "missing: restore that key with ipmaildir "
				  "key restore; init creates only new "
				  "mailboxes",
				  paths.root);
		return EXIT_FAILURE_;
	}

	char *pass = NULL;
	size_t pass_len = 0;
	if (!src->none) {
		r = cli_new_passphrase("init", src, &pass, &pass_len);
		if (r == -ENOTTY) {
			cli_error("init: no terminal to ask a passphrase on: "
				  "give --passphrase-file F (- for standard "
				  "input), --passphrase-command CMD or "
				  "--no-passphrase");
			return EXIT_USAGE;
		}
		if (r != 0) {
			cli_passphrase_error("init", src, r);
			return EXIT_FAILURE_;
		}
	}

	struct mailbox_keys keys = {0};
	int sys_errno = 0;
	r = keyfile_create(paths.key, pass, pass_len, &keys, &sys_errno);
	passphrase_free(pass, pass_len);
	if (r != 0) {
		cli_keys_error(paths.key, r, sys_errno);
		return EXIT_FAILURE_;
	}

	struct blockstore *bs;
	r = bs_local_open(paths.root, &bs);
	if (r != 0) {
		keys_free(&keys);
		cli_error("init: block store in %s: %s", paths.root,
			  strerror(-r));
		return EXIT_FAILURE_;
	}
	bs_close(bs);
	/* A head from the start: from now on a missing one is damage, not
	 * a new mailbox (fs/store/head.h). */
	struct head h = {.journal_gen = 1};
	r = head_write(paths.head, keys.journal, BLOCK_STATE_HEAD, &h);
	if (r != 0) {
		keys_free(&keys);
		cli_error("init: %s: %s", paths.head, strerror(-r));
		return EXIT_FAILURE_;
	}

	char id[CID_TEXT_MAX];
	r = ipns_name_of_ed25519(id, sizeof(id), keys.public_key);
	keys_free(&keys);
	if (r != 0) {
		cli_error("init: cannot format the mailbox id");
		return EXIT_FAILURE_;
	}
	printf("%s\n", id);
	fprintf(stderr,
		"ipmaildir: mailbox created in %s\n"
		"ipmaildir: the key file %s is the only way to read this "
		"mail.\n"
		"ipmaildir: lose it (or its passphrase) and the mail is lost: "
		"keep a copy somewhere safe.\n",
		paths.root, paths.key);
	return EXIT_OK;
}

int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_STORE_OPTIONS,
		{"no-passphrase", no_argument, NULL, 'n'},
		CLI_OPTIONS_END,
	};
	const char *store = NULL;
	struct passphrase_source src = {0};
	int c;
	while ((c = cli_getopt(argc, argv, "s:p:nh", opts, &store,
			       &src)) != -1) {
		switch (c) {
		case 'n': src.none = 1; break;
		case 'h':
			printf("usage: ipmaildir init [--store DIR] "
			       "[--passphrase-file F | --passphrase-command "
			       "CMD | --no-passphrase]\n"
			       "  --passphrase-file F      the passphrase's "
			       "first line in F (- : standard input)\n"
			       "  --passphrase-command CMD the first line "
			       "/bin/sh -c CMD prints\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc || ((src.file || src.command) && src.none)) {
		cli_error("init: takes --passphrase-file, --passphrase-command "
			  "or --no-passphrase, and no other arguments");
		return EXIT_USAGE;
	}

	struct config cfg;
	if (cli_config(&cfg, &store, &src, NULL))
		return EXIT_USAGE;
	int status = init_store(store, &src);
	config_free(&cfg);
	return status;
}
