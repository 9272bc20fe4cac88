/*
 * fs/cli/cli.h — the ipmaildir command line: one binary, subcommands.
 *
 * Each cmd_* parses its own options (getopt_long, argv[0] is the command
 * name) and returns the process exit status.  Only this layer prints.
 */
#ifndef IPMD_FS_CLI_CLI_H
#define IPMD_FS_CLI_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

enum exit_status {
	EXIT_OK = 0,
	EXIT_FAILURE_ = 1, /* something failed; a one-line reason was printed */
	EXIT_USAGE = 2,    /* the command line was wrong */
};

int cmd_init(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_object(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_fsck(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_archive(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_share(int argc, char **argv);
int cmd_fetch(int argc, char **argv);

/* A command's usage (usage prints it on out): asked for with --help
 * (help: on stdout, EXIT_OK), or for a command line it does not take
 * (on stderr, EXIT_USAGE).  Returns that exit status. */
int cli_usage(void (*usage)(FILE *out), bool help);
/* A count above 0 in decimal (an option's value, as strtoull reads it,
 * with nothing after it and no sign '-'): 0 and *out, or -1 (*out
 * untouched). */
int cli_count(const char *s, unsigned long long *out);

/* One line on out: prefix, then fmt with ap, then a newline. */
void cli_vline(FILE *out, const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* "ipmaildir: <message>\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Message for a keys_error or negative errno, with the OS error if any. */
void cli_keys_error(const char *what, int err, int sys_errno);
/* The same for store_load_keys (fs/store/store.h): the key file or the
 * passphrase source at fault. */
struct store_paths;
struct passphrase_source;
void cli_load_keys_error(const struct store_paths *p,
			 const struct passphrase_source *src, int err,
			 int sys_errno);
/* "ipmaildir: CMD: <source and why>" for a passphrase_read error. */
void cli_passphrase_error(const char *cmd,
			  const struct passphrase_source *src, int err);

/* ---- opening the mailbox a command names (fs/cli/cli_store.c) ---- */

/* The options of every command that opens a store, for its getopt_long
 * table (needs <getopt.h>): --store 's', --passphrase-file 'p',
 * --passphrase-command 'P'; the short string names "s:p:". */
#define CLI_STORE_OPTIONS                                                  \
	{"store", required_argument, NULL, 's'},                           \
	{"passphrase-file", required_argument, NULL, 'p'},                 \
	{"passphrase-command", required_argument, NULL, 'P'}
/* The end of every command's table: --help, code 'h' (what cli_usage
 * answers with help), then the table's terminator. */
#define CLI_OPTIONS_END {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}
/* getopt_long(argc, argv, shortopts, opts) that takes the store options
 * on the way, into *store and *pass: the code of the next other option
 * (optarg its argument, '?' one getopt refused), or -1 at the end of the
 * options (optind at the first operand).  struct option: <getopt.h>. */
struct option;
int cli_getopt(int argc, char **argv, const char *shortopts,
	       const struct option *opts, const char **store,
	       struct passphrase_source *pass);
/* The whole command line of a command whose only options are those and
 * --help, and which takes exactly operands operands (from argv[optind]
 * on): -1 to go on, else the exit status (usage said). */
int cli_store_args(int argc, char **argv, int operands,
		   void (*usage)(FILE *out), const char **store,
		   struct passphrase_source *pass);
/* store_paths_init of store (NULL: the default): 0, or EXIT_FAILURE_
 * with "cmd: cannot name the store: why" said. */
int cli_store_paths(const char *cmd, const char *store,
		    struct store_paths *paths);
/* store_load_keys: 0, or EXIT_FAILURE_ with the key file or passphrase
 * source at fault said (cli_load_keys_error). */
struct mailbox_keys;
int cli_load_keys(const struct store_paths *paths,
		  const struct passphrase_source *pass,
		  struct mailbox_keys *keys);
/* ipmd_fs_open (fs/mount/mount.h): 0, or EXIT_FAILURE_ with "cmd: why"
 * said and fs closed. */
struct ipmd_fs;
struct mount_options;
int cli_fs_open(const char *cmd, struct ipmd_fs *fs,
		const struct mount_options *mo);
/* history_open (fs/store/history.h): 0, or EXIT_FAILURE_ with "cmd: why"
 * said and h closed.  whole: also refuse a head that does not open, or
 * one lost over mail (log and archive read the chain from the head, and
 * a lost head is no empty history). */
struct history;
struct history_options;
int cli_history_open(const char *cmd, struct history *h,
		     const struct history_options *ho, bool whole);

/* Load the config files and environment (fs/cli/config.h) into cfg; on a bad
 * one print "ipmaildir: file:line: why" and return EXIT_USAGE, else 0.
 * Options the command line left unset (NULL) are filled from cfg; pass
 * NULL for an option the command does not take (or that the command line
 * ruled out: fetch's --store).  pass: --passphrase-file and
 * --passphrase-command together are a usage error (EXIT_USAGE, printed);
 * when the command line gave neither (nor --no-passphrase), the config's
 * passphrase-file, else its passphrase-command, is used.  Every command
 * that takes --store, a passphrase or --node calls this once after getopt
 * and keeps cfg (the strings point into it) until it returns;
 * config_free. */
struct config;
int cli_config(struct config *cfg, const char **store,
	       struct passphrase_source *pass, const char **node);

/* The first step of a command that serves FUSE ("mount", "archive"):
 * open its log (syslog, and stderr too when foreground), then apply
 * fs/fuse/mount_access.h to its FUSE option list opts (size bytes).  A
 * contradiction or no room: one line on stderr and EXIT_USAGE.  The
 * opt-out is logged as a warning, and also printed on stderr when
 * foreground is 0 (the log does not go there then).  Else 0. */
int cli_mount_access(const char *cmd, char *opts, size_t size,
		     int foreground);
/* Add opt to the comma-separated option list opts (size bytes, a
 * string): 0, or EXIT_USAGE with "cmd: -o options too long" said and
 * opts unchanged. */
int cli_fuse_opt_add(const char *cmd, char *opts, size_t size,
		     const char *opt);
/* Install the signal handlers on se, mount it on mountpoint and daemonize
 * (foreground 0) or not: 0.  A step that fails is said on stderr as
 * "cmd: …", what was done is undone (se itself is the caller's) and -1
 * returned. */
struct fuse_session;
int cli_fuse_start(const char *cmd, struct fuse_session *se,
		   const char *mountpoint, int foreground);
/* The convergence scope cfg sets (key "convergence"), else the default;
 * what a writing command (mount, import, object put) seals with. */
enum obj_scope cli_scope(const struct config *cfg);

#endif
