/* fs/cmd_key.c — `ipmaildir key`: export a read capability, change the
 * passphrase. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "crypto/keys.h"
#include "fs/cli.h"
#include "fs/store.h"

static void key_usage(FILE *out)
{
	fprintf(out,
		"usage: ipmaildir key export --read-only [--store DIR] "
		"[--passphrase-file F]\n"
		"       ipmaildir key passwd [--store DIR] "
		"[--passphrase-file OLD] [--new-passphrase-file NEW | "
		"--no-new-passphrase]\n");
}

static int key_export(const struct store_paths *paths,
		      const struct passphrase_source *src, int read_only)
{
	if (!read_only) {
		cli_error("key export: only --read-only is supported; the "
			  "full key is the key file itself");
		return EXIT_USAGE;
	}
	struct mailbox_keys keys = {0};
	int sys_errno = 0;
	int r = store_load_keys(paths, src, &keys, &sys_errno);
	if (r != 0) {
		cli_keys_error(paths->key, r, sys_errno);
		return EXIT_FAILURE_;
	}
	char cap[READCAP_MAX];
	r = readcap_format(&keys, cap);
	keys_free(&keys);
	if (r != 0) {
		cli_error("key export: %s", keys_strerror(r));
		return EXIT_FAILURE_;
	}
	fputs(cap, stdout); /* the line carries its own newline */
	sodium_memzero(cap, sizeof(cap));
	return EXIT_OK;
}

static int key_passwd(const struct store_paths *paths,
		      const struct passphrase_source *old_src,
		      const struct passphrase_source *new_src)
{
	int sys_errno = 0;
	int wrapped = keyfile_is_wrapped(paths->key, &sys_errno);
	if (wrapped < 0) {
		cli_keys_error(paths->key, wrapped, sys_errno);
		return EXIT_FAILURE_;
	}
	char *old = NULL, *neu = NULL;
	size_t old_len = 0, new_len = 0;
	int r = 0;
	if (wrapped)
		r = passphrase_read(old_src, "Current passphrase: ", 0, &old,
				    &old_len);
	if (r == 0 && !new_src->none)
		r = passphrase_read(new_src, "New passphrase: ", 1, &neu,
				    &new_len);
	if (r == 0)
		r = keyfile_rewrap(paths->key, old, old_len, neu, new_len,
				   &sys_errno);
	passphrase_free(old, old_len);
	passphrase_free(neu, new_len);
	if (r == -ENOENT) {
		cli_error("key passwd: no terminal to ask on: give "
			  "--passphrase-file / --new-passphrase-file");
		return EXIT_USAGE;
	}
	if (r != 0) {
		cli_keys_error(paths->key, r, sys_errno);
		return EXIT_FAILURE_;
	}
	fprintf(stderr, "ipmaildir: passphrase changed; the mail itself was "
			"not re-encrypted\n");
	return EXIT_OK;
}

int cmd_key(int argc, char **argv)
{
	static const struct option opts[] = {
		{"store", required_argument, NULL, 's'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{"new-passphrase-file", required_argument, NULL, 'N'},
		{"no-new-passphrase", no_argument, NULL, 'Z'},
		{"read-only", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *store = NULL;
	struct passphrase_source src = {0}, new_src = {0};
	int read_only = 0, c;
	while ((c = getopt_long(argc, argv, "s:p:rh", opts, NULL)) != -1) {
		switch (c) {
		case 's': store = optarg; break;
		case 'p': src.file = optarg; break;
		case 'N': new_src.file = optarg; break;
		case 'Z': new_src.none = 1; break;
		case 'r': read_only = 1; break;
		case 'h': key_usage(stdout); return EXIT_OK;
		default: key_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		key_usage(stderr);
		return EXIT_USAGE;
	}
	struct store_paths paths;
	int r = store_paths_init(&paths, store);
	if (r != 0) {
		cli_error("key: cannot name the store: %s", strerror(-r));
		return EXIT_FAILURE_;
	}
	const char *verb = argv[optind];
	if (!strcmp(verb, "export"))
		return key_export(&paths, &src, read_only);
	if (!strcmp(verb, "passwd"))
		return key_passwd(&paths, &src, &new_src);
	key_usage(stderr);
	return EXIT_USAGE;
}
