/* fs/cli/cmd_key.c — `ipmaildir key`: export a read capability, change the
 * passphrase, back the master secret up on paper and restore it. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include <sys/stat.h>

#include "crypto/key_backup.h"
#include "crypto/keys.h"
#include "fs/cli/cli.h"
#include "fs/cli/config.h"
#include "fs/store/device.h"
#include "fs/store/head.h"
#include "fs/store/store.h"
#include "ipfs/cid.h"

static void key_usage(FILE *out)
{
	fprintf(out,
		"usage: ipmaildir key export --read-only [--store DIR] "
		"[--passphrase-file F]\n"
		"       ipmaildir key passwd [--store DIR] "
		"[--passphrase-file OLD] [--new-passphrase-file NEW | "
		"--no-new-passphrase]\n"
		"       ipmaildir key backup [--store DIR] "
		"[--passphrase-file F]\n"
		"       ipmaildir key restore [--store DIR] "
		"[--new-passphrase-file NEW | --no-new-passphrase] "
		"[FILE]\n"
		"  --passphrase-file F   the passphrase is F's first line "
		"(- : standard input)\n"
		"  --passphrase-command CMD  or the first line that /bin/sh "
		"-c CMD prints\n"
		"  --new-passphrase-file NEW, --new-passphrase-command CMD  "
		"the same for the new one\n");
}

/* Is the key file wrapped with a passphrase?  1, 0, or -1 (said). */
static int key_wrapped(const struct store_paths *paths)
{
	int sys_errno = 0;
	int wrapped = keyfile_is_wrapped(paths->key, &sys_errno);
	if (wrapped < 0) {
		cli_keys_error(paths->key, wrapped, sys_errno);
		return -1;
	}
	return wrapped;
}

/* The printable form of the master secret (crypto/key_backup.h). */
static int key_backup(const struct store_paths *paths,
		      const struct passphrase_source *src)
{
	int wrapped = key_wrapped(paths);
	if (wrapped < 0)
		return EXIT_FAILURE_;
	int sys_errno = 0;
	char *pass = NULL;
	size_t pass_len = 0;
	int r = wrapped ? passphrase_read(src, "Passphrase: ", 0, &pass,
					  &pass_len)
			: 0;
	if (r == -ENOTTY) {
		cli_error("key backup: no terminal to ask on: give "
			  "--passphrase-file or --passphrase-command");
		return EXIT_USAGE;
	}
	if (r < 0 && r != -EINVAL) {
		cli_passphrase_error("key backup", src, r);
		return EXIT_FAILURE_;
	}
	if (r == -EINVAL)
		r = KEYS_E_PASSPHRASE; /* an empty line opens no key */
	uint8_t *master = sodium_malloc(IPMD_MASTER_BYTES);
	if (!r && !master)
		r = KEYS_E_NOMEM;
	if (!r)
		r = keyfile_read_master(paths->key, pass, pass_len, master,
					&sys_errno);
	passphrase_free(pass, pass_len);
	struct mailbox_keys keys = {0};
	if (!r)
		r = keys_from_master(&keys, master);
	char id[CID_TEXT_MAX] = "";
	if (!r)
		ipns_name_of_ed25519(id, sizeof(id), keys.public_key);
	keys_free(&keys);
	if (r) {
		if (master)
			sodium_free(master);
		cli_keys_error(paths->key, r, sys_errno);
		return EXIT_FAILURE_;
	}
	char text[KEY_BACKUP_TEXT_MAX];
	key_backup_format(master, text);
	sodium_free(master);
	fputs(text, stdout);
	sodium_memzero(text, sizeof(text));
	fprintf(stderr,
		"ipmaildir: the lines above are the key of mailbox %s, in the "
		"clear:\n"
		"ipmaildir: anyone who has them reads and signs this mailbox. "
		"Keep them offline\n"
		"ipmaildir: (paper, a safe); `ipmaildir key restore` makes a "
		"key file from them.\n",
		id);
	return EXIT_OK;
}

static int read_text(const char *file, char *buf, size_t size)
{
	FILE *f = !file || !strcmp(file, "-") ? stdin : fopen(file, "re");
	if (!f)
		return -errno;
	size_t n = fread(buf, 1, size - 1, f);
	int e = ferror(f) ? -EIO : 0;
	if (!e && n == size - 1 && fgetc(f) != EOF)
		e = -EFBIG;
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	return e;
}

/* A key file from the printable form; refuses to replace a key file, and
 * a key that does not open the store's head (another mailbox's key). */
static int key_restore(const struct store_paths *paths, const char *file,
		       const struct passphrase_source *new_src)
{
	char text[4096];
	int r = read_text(file, text, sizeof(text));
	if (r) {
		cli_error("key restore: %s: %s", file ? file : "standard input",
			  r == -EFBIG ? "too long for a key backup"
				      : strerror(-r));
		return EXIT_FAILURE_;
	}
	uint8_t *master = sodium_malloc(IPMD_MASTER_BYTES);
	if (!master) {
		cli_error("key restore: out of memory");
		return EXIT_FAILURE_;
	}
	size_t bad_at = 0;
	r = key_backup_parse(text, master, &bad_at);
	sodium_memzero(text, sizeof(text));
	if (r) {
		sodium_free(master);
		if (r == -EBADMSG)
			cli_error("key restore: the checksum does not match: a "
				  "character is mistyped");
		else if (r == -EPROTONOSUPPORT)
			cli_error("key restore: a key backup of a version this "
				  "ipmaildir can't read");
		else if (bad_at)
			cli_error("key restore: character %zu is not one of "
				  "A-Z, 2-7", bad_at);
		else
			cli_error("key restore: not a key backup (%d "
				  "characters of A-Z, 2-7 expected)",
				  KEY_BACKUP_CHARS);
		return EXIT_FAILURE_;
	}
	struct mailbox_keys keys = {0};
	r = keys_from_master(&keys, master);
	struct head h;
	bool untyped;
	if (!r && head_read(paths->head, keys.journal, BLOCK_STATE_HEAD, &h,
			    &untyped) == -EBADMSG) {
		keys_free(&keys);
		sodium_free(master);
		cli_error("key restore: this is not the key of the mailbox in "
			  "%s (its head does not open with it)",
			  paths->root);
		return EXIT_FAILURE_;
	}
	if (mkdir(paths->root, 0700) != 0 && errno != EEXIST) {
		keys_free(&keys);
		sodium_free(master);
		cli_error("key restore: %s: %s", paths->root, strerror(errno));
		return EXIT_FAILURE_;
	}
	/* A new store is a new device: an inode range of its own. */
	uint64_t device = 0;
	bool drawn = false;
	r = device_restore(paths, keys.journal, &device, &drawn);
	keys_free(&keys);
	if (r) {
		sodium_free(master);
		cli_error("key restore: %s: %s", paths->device, strerror(-r));
		return EXIT_FAILURE_;
	}
	char *pass = NULL;
	size_t pass_len = 0;
	r = new_src->none ? 0
			  : cli_new_passphrase("key restore", new_src, &pass,
					       &pass_len);
	if (r && r != -ENOTTY) {
		sodium_free(master);
		cli_passphrase_error("key restore", new_src, r);
		return EXIT_FAILURE_;
	}
	int sys_errno = 0;
	if (!r)
		r = keyfile_create_from(paths->key, master, pass, pass_len,
					&keys, &sys_errno);
	passphrase_free(pass, pass_len);
	sodium_free(master);
	keys_free(&keys);
	if (r == -ENOTTY) {
		cli_error("key restore: no terminal to ask on: give "
			  "--new-passphrase-file or --no-new-passphrase");
		return EXIT_USAGE;
	}
	if (r) {
		cli_keys_error(paths->key, r, sys_errno);
		return EXIT_FAILURE_;
	}
	fprintf(stderr, "ipmaildir: key file %s restored\n", paths->key);
	if (drawn)
		fprintf(stderr, "ipmaildir: a new device of the mailbox "
			"(number %llu): mount it read-write with --node to "
			"merge with the others\n",
			(unsigned long long)device);
	return EXIT_OK;
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
	if (cli_load_keys(paths, src, &keys))
		return EXIT_FAILURE_;
	char cap[READCAP_MAX];
	int r = readcap_format(&keys, cap);
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
	int wrapped = key_wrapped(paths);
	if (wrapped < 0)
		return EXIT_FAILURE_;
	int sys_errno = 0;
	char *old = NULL, *neu = NULL;
	size_t old_len = 0, new_len = 0;
	int r = 0;
	const struct passphrase_source *at = old_src;
	if (wrapped)
		r = passphrase_read(old_src, "Current passphrase: ", 0, &old,
				    &old_len);
	if (r == 0 && !new_src->none) {
		at = new_src;
		r = cli_new_passphrase("key passwd", new_src, &neu,
				       &new_len);
	}
	if (r == -EINVAL && at == old_src)
		r = KEYS_E_PASSPHRASE; /* an empty line opens no key */
	if (r != 0 && r != -ENOTTY && r != KEYS_E_PASSPHRASE) {
		passphrase_free(old, old_len);
		passphrase_free(neu, new_len);
		cli_passphrase_error("key passwd", at, r);
		return EXIT_FAILURE_;
	}
	if (r == 0)
		r = keyfile_rewrap(paths->key, old, old_len, neu, new_len,
				   &sys_errno);
	passphrase_free(old, old_len);
	passphrase_free(neu, new_len);
	if (r == -ENOTTY) {
		cli_error("key passwd: no terminal to ask on: give "
			  "--passphrase-file (or --passphrase-command) / "
			  "--new-passphrase-file");
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

/* The usage error of a command line without one of the verbs. */
#define KEY_WANTS                                                        \
	"wants export --read-only, passwd, backup, or restore [FILE]"

int cmd_key(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_STORE_OPTIONS,
		{"new-passphrase-file", required_argument, NULL, 'N'},
		{"new-passphrase-command", required_argument, NULL, 'C'},
		{"no-new-passphrase", no_argument, NULL, 'Z'},
		{"read-only", no_argument, NULL, 'r'},
		CLI_OPTIONS_END,
	};
	const char *store = NULL;
	struct passphrase_source src = {0}, new_src = {0};
	int read_only = 0, c;
	while ((c = cli_getopt(argc, argv, "s:p:rh", opts, &store,
			       &src)) != -1) {
		switch (c) {
		case 'N': new_src.file = optarg; break;
		case 'C': new_src.command = optarg; break;
		case 'Z': new_src.none = 1; break;
		case 'r': read_only = 1; break;
		default: return cli_help("key", key_usage, c);
		}
	}
	int restore = optind < argc && !strcmp(argv[optind], "restore");
	if (optind + 1 != argc && !(restore && optind + 2 == argc))
		return cli_usage("key", KEY_WANTS);
	const char *verb = argv[optind];
	if (!strcmp(verb, "export") || !strcmp(verb, "passwd") ||
	    !strcmp(verb, "backup") || restore)
		cli_verb(verb);
	if (new_src.none + !!new_src.file + !!new_src.command > 1) {
		cli_error("key: takes one of --new-passphrase-file, "
			  "--new-passphrase-command, --no-new-passphrase");
		return EXIT_USAGE;
	}
	struct config cfg;
	if (cli_config(&cfg, &store, &src, NULL))
		return EXIT_USAGE;
	struct store_paths paths;
	int status = EXIT_USAGE;
	if (cli_store_paths("key", store, &paths, NULL)) {
		status = EXIT_FAILURE_;
	} else if (!strcmp(verb, "export")) {
		status = key_export(&paths, &src, read_only);
	} else if (!strcmp(verb, "passwd")) {
		status = key_passwd(&paths, &src, &new_src);
	} else if (!strcmp(verb, "backup")) {
		status = key_backup(&paths, &src);
	} else if (restore) {
		status = key_restore(&paths, argv[optind + 1], &new_src);
	} else {
		status = cli_usage("key", KEY_WANTS);
	}
	config_free(&cfg); /* store and src.file may point into it */
	return status;
}
