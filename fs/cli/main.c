/* fs/cli/main.c — ipmaildir: dispatch to the subcommands. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "crypto/keys.h"
#include "crypto/seal.h"
#include "fs/cli/cli.h"
#include "fs/store/store.h"

#ifndef IPMD_VERSION
#define IPMD_VERSION "0.1.0"
#endif

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
};

static const struct command commands[] = {
	{"init", cmd_init,
	 "init    [--store DIR] [--passphrase-file F|- | --passphrase-command "
	 "CMD | --no-passphrase]"},
	{"mount", cmd_mount,
	 "mount   [--store DIR] [--node ADDR] [-f] [-d] [-o OPTS] "
	 "[--passphrase-file F] "
	 "[--at SEQ|CID|TIME] MOUNTPOINT\n"
	 "  ipmaildir mount   --from-node ID|CID --capability FILE [--node ADDR] "
	 "[--store CACHE] [--at …] MOUNTPOINT"},
	{"umount", cmd_umount,
	 "umount  MOUNTPOINT   (returns after the last commit)"},
	{"key", cmd_key,
	 "key     export --read-only | passwd | backup | restore [FILE]   "
	 "[--store DIR]"},
	{"object", cmd_object,
	 "object  put FILE | get CAPABILITY   [--store DIR]"},
	{"log", cmd_log, "log     [--store DIR] [-n N] [--json]"},
	{"fsck", cmd_fsck,
	 "fsck    [--store DIR] [--deep] [--repair] [--node ADDR] [--json]"},
	{"status", cmd_status, "status  [--store DIR] [--json]"},
	{"archive", cmd_archive,
	 "archive [--store DIR] [-f] [-o OPTS] MOUNTPOINT"},
	{"gc", cmd_gc,
	 "gc      [--store DIR] [--keep-last N] [--keep-within DURATION] "
	 "[--dry-run] [--node ADDR] [--json]"},
	{"import", cmd_import,
	 "import  [--store DIR] [--threads N] [--quiet] [--force] [--json] "
	 "MAILDIR"},
	{"export", cmd_export,
	 "export  [--store DIR] [--quiet] [--json] DIR | --car FILE "
	 "[--head-only]"},
	{"share", cmd_share, "share   PATH-IN-MOUNT | --store DIR PATH"},
	{"fetch", cmd_fetch,
	 "fetch   [--store DIR | --node ADDR] [--into MAILDIR] "
	 "--capability-file FILE|- | CAPABILITY"},
};

/* The command being run ("mount"), for cli_error's prefix: set once by
 * main before the command runs, as the C library's
 * program_invocation_name is before main; and its verb ("backup" of
 * "key backup"), once the command has checked it (cli_verb).  Both point
 * into argv or the commands table: they outlive every message. */
static const char *running;
static const char *running_verb;

void cli_verb(const char *verb)
{
	running_verb = verb;
}

/* Does msg start with the n bytes of word, then ':' or ' '? */
static bool starts_with_word(const char *msg, const char *word, size_t n)
{
	return !strncmp(msg, word, n) && (msg[n] == ':' || msg[n] == ' ');
}

void cli_error(const char *fmt, ...)
{
	char msg[8192], full[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!running) {
		fprintf(stderr, "ipmaildir: %s\n", msg);
		return;
	}
	/* Every line "ipmaildir COMMAND: …", COMMAND with its verb once
	 * known ("key backup"): a message that starts with it ("mount: …",
	 * "export --car: …", "key backup: …") is given the program name
	 * only; one that starts with the bare command ("object: …", said by
	 * code shared by all its verbs) the verb too; any other the whole
	 * command. */
	int len = running_verb ? snprintf(full, sizeof(full), "%s %s",
					  running, running_verb)
			       : snprintf(full, sizeof(full), "%s", running);
	if (len < 0 || (size_t)len >= sizeof(full))
		len = snprintf(full, sizeof(full), "%s", running);
	size_t cmd = strlen(running);
	if (starts_with_word(msg, full, (size_t)len))
		fprintf(stderr, "ipmaildir %s\n", msg);
	else if (running_verb && starts_with_word(msg, running, cmd) &&
		 msg[cmd] == ':')
		fprintf(stderr, "ipmaildir %s%s\n", full, msg + cmd);
	else if (starts_with_word(msg, running, cmd))
		fprintf(stderr, "ipmaildir %s\n", msg);
	else
		fprintf(stderr, "ipmaildir %s: %s\n", full, msg);
}

void cli_keys_error(const char *what, int err, int sys_errno)
{
	if (err == KEYS_E_IO && sys_errno)
		cli_error("%s: %s", what, strerror(sys_errno));
	else
		cli_error("%s: %s", what, keys_strerror(err));
}

void cli_load_keys_error(const struct store_paths *p,
			 const struct passphrase_source *src, int err,
			 int sys_errno)
{
	char why[PATH_MAX + 256];
	store_keys_strerror(p, src, err, sys_errno, why, sizeof(why));
	cli_error("%s", why);
}

void cli_passphrase_error(const char *cmd,
			  const struct passphrase_source *src, int err)
{
	char why[PATH_MAX + 256];
	passphrase_strerror(src, err, why, sizeof(why));
	cli_error("%s: %s", cmd, why);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: ipmaildir COMMAND [OPTIONS]\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  ipmaildir %s\n", commands[i].usage);
	fprintf(out,
		"\nEvery command takes --store DIR (default "
		"$XDG_DATA_HOME/ipmaildir).\n"
		"`ipmaildir COMMAND --help` lists all of its options.\n"
		"Exit status: 0 ok, 1 failure, 2 usage.  "
		"See ipmaildir(1).\n");
}

/* mount(8) options that mean something to mount(8) or fstab only; FUSE
 * would refuse them.  "rw" is the default anyway. */
static int helper_drops(const char *opt)
{
	static const char *const drop[] = {
		"rw", "defaults", "auto", "noauto", "user", "nouser", "users",
		"owner", "group", "nofail", "_netdev",
	};
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (!strcmp(opt, drop[i]))
			return 1;
	return !strncmp(opt, "user=", 5) || !strncmp(opt, "x-", 2) ||
	       !strncmp(opt, "comment=", 8);
}

#define HELPER_PASS_OPT "passphrase_file="

/* Sort one -o list (modified in place) into the options for cmd_mount
 * (appended to opts) and the passphrase file.  0, or EXIT_USAGE (said). */
static int helper_options(char *list, char *opts, size_t opts_size,
			  char *pass, size_t pass_size)
{
	const size_t plen = strlen(HELPER_PASS_OPT);
	char *save = NULL;
	for (char *tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, HELPER_PASS_OPT, plen)) {
			if (strlen(tok + plen) >= pass_size) {
				cli_error("mount.ipmaildir: -o options too "
					  "long");
				return EXIT_USAGE;
			}
			strcpy(pass, tok + plen);
		} else if (!helper_drops(tok) &&
			   cli_fuse_opt_add("mount.ipmaildir", opts,
					    opts_size, tok)) {
			return EXIT_USAGE;
		}
	}
	return 0;
}

/*
 * Run as mount.ipmaildir by mount(8):
 *   mount.ipmaildir SPEC DIR [-sfnv] [-N NS] [-o OPTS] [-t TYPE]
 * becomes `ipmaildir mount --store SPEC [--passphrase-file F] [-o OPTS] DIR`
 * in the background, as a helper must.  -s -n -v mean nothing here; -f
 * (fake) mounts nothing.
 */
static int mount_helper(int argc, char **argv)
{
	char opts[4096] = "", pass_file[PATH_MAX] = "";
	int fake = 0, bad = 0, c;
	while ((c = getopt(argc, argv, "sfnvN:o:t:")) != -1) {
		switch (c) {
		case 'f': fake = 1; break;
		case 's': case 'n': case 'v': case 't': break;
		case 'N':
			cli_error("mount.ipmaildir: -N (namespaces) is not "
				  "supported");
			return EXIT_USAGE;
		case 'o':
			if (helper_options(optarg, opts, sizeof(opts),
					   pass_file, sizeof(pass_file)))
				return EXIT_USAGE;
			break;
		default: bad = 1; break;
		}
	}
	if (bad || optind + 2 != argc) {
		fprintf(stderr, "usage: mount.ipmaildir STORE MOUNTPOINT "
				"[-sfnv] [-o OPTIONS]\n");
		return EXIT_USAGE;
	}
	if (fake)
		return EXIT_OK;
	running = "mount";
	if (seal_init() != 0) {
		cli_error("libsodium failed to initialise");
		return EXIT_FAILURE_;
	}
	/* The daemon changes to "/": the store must not be relative. */
	/* fstab's old FUSE spelling "ipmaildir#STORE" names the program
	 * before the '#'; the store is what follows. */
	const char *spec = argv[optind];
	if (!strncmp(spec, "ipmaildir#", 10))
		spec += 10;
	char store[PATH_MAX];
	if (!realpath(spec, store)) {
		cli_error("mount.ipmaildir: %s: %s", argv[optind],
			  strerror(errno));
		return EXIT_FAILURE_;
	}
	char *margv[10];
	int margc = 0;
	margv[margc++] = "ipmaildir mount"; /* getopt's messages name it */
	margv[margc++] = "--store";
	margv[margc++] = store;
	if (*pass_file) {
		margv[margc++] = "--passphrase-file";
		margv[margc++] = pass_file;
	}
	if (*opts) {
		margv[margc++] = "-o";
		margv[margc++] = opts;
	}
	margv[margc++] = "--";
	margv[margc++] = argv[optind + 1];
	margv[margc] = NULL;
	optind = 0; /* cmd_mount's getopt starts afresh */
	return cmd_mount(margc, margv);
}

/*
 * Every command may hold the mailbox key, and the daemon holds plaintext
 * too: no core file may carry them to disk.  RLIMIT_CORE 0 stops a core
 * file; not dumpable stops a piped core handler (systemd-coredump, apport:
 * the kernel ignores RLIMIT_CORE for those) and also makes /proc/PID/mem,
 * environ and ptrace root-only, so another process of the same user can't
 * read the keys out of us either.  Both survive fork (fuse_daemonize) and
 * are done before any key is read.  0 or -errno.
 */
static int harden_process(void)
{
	const struct rlimit none = {0, 0};

	if (setrlimit(RLIMIT_CORE, &none) != 0)
		return -errno;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	int e = harden_process();
	if (e != 0) {
		cli_error("cannot turn core dumps off: %s", strerror(-e));
		return EXIT_FAILURE_;
	}
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	const char *name = argc > 0 ? (base ? base + 1 : argv[0]) : "";
	/* mount(8) runs mount.TYPE: type "ipmaildir" or "fuse.ipmaildir". */
	if (!strcmp(name, "mount.ipmaildir") ||
	    !strcmp(name, "mount.fuse.ipmaildir"))
		return mount_helper(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("ipmaildir %s\n", IPMD_VERSION);
		return EXIT_OK;
	}
	if (seal_init() != 0) {
		cli_error("libsodium failed to initialise");
		return EXIT_FAILURE_;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name)) {
			/* getopt's own lines start "ipmaildir COMMAND:" too */
			char full[64];
			snprintf(full, sizeof(full), "ipmaildir %s",
				 commands[i].name);
			running = commands[i].name;
			argv[1] = full;
			return commands[i].run(argc - 1, argv + 1);
		}
	cli_error("unknown command '%s' (try ipmaildir --help)", argv[1]);
	return EXIT_USAGE;
}
