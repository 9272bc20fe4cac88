/*
 * fs/cli/cli.h — the ipmaildir command line: one binary, subcommands.
 *
 * Each cmd_* parses its own options (getopt_long, argv[0] is the command
 * name) and returns the process exit status.  Only this layer prints.
 */
#ifndef IPMD_FS_CLI_CLI_H
#define IPMD_FS_CLI_CLI_H

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
int cmd_umount(int argc, char **argv);

/* One line on stderr, "ipmaildir COMMAND: <message>": a message that
 * starts with the command's name ("mount: …") is not given it twice;
 * before any command, "ipmaildir: <message>".  After cli_verb, COMMAND
 * is the command and its verb ("key backup"), and a message that starts
 * with the bare command ("key: …") is given the verb after it. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The running command's verb (a command with verbs, once it has checked
 * argv's: "backup" of `key backup`), for cli_error's prefix; verb must
 * outlive the command (a string of argv). */
void cli_verb(const char *verb);
/* A usage error of cmd: why (if not NULL: getopt said it already) as
 * cli_error says it, then the hint "Try 'ipmaildir cmd --help'."; returns
 * EXIT_USAGE. */
int cli_usage(const char *cmd, const char *why);
/* The answer to an option code c of cli_getopt that cmd's loop does not
 * take itself: --help ('h'): the usage (usage prints it on out) on
 * stdout, EXIT_OK; any other (getopt said what): cli_usage(cmd, NULL),
 * EXIT_USAGE. */
int cli_help(const char *cmd, void (*usage)(FILE *out), int c);
/* A count above 0 in decimal (an option's value, as strtoull reads it,
 * with nothing after it and no sign '-'): 0 and *out, or -1 (*out
 * untouched). */
int cli_count(const char *s, unsigned long long *out);
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
/* The end of every command's table: --help, code 'h' (what cli_help
 * answers with the usage), then the table's terminator. */
#define CLI_OPTIONS_END {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}
/* getopt_long(argc, argv, shortopts, opts) that takes the store options
 * on the way, into *store and *pass: the code of the next other option
 * (optarg its argument, '?' one getopt refused), or -1 at the end of the
 * options (optind at the first operand).  struct option: <getopt.h>. */
struct option;
int cli_getopt(int argc, char **argv, const char *shortopts,
	       const struct option *opts, const char **store,
	       struct passphrase_source *pass);
/* The whole command line of command cmd, whose only options are those
 * and --help, and which takes exactly operands operands (from
 * argv[optind] on): -1 to go on, else the exit status (cli_help's
 * answer, or cli_usage(cmd, why) for another number of operands). */
int cli_store_args(const char *cmd, int argc, char **argv, int operands,
		   const char *why, void (*usage)(FILE *out),
		   const char **store, struct passphrase_source *pass);
/* A --json command's object (<jansson.h>): where cli_store_paths and
 * cli_fs_open put their failure too (cli_json_fail); NULL: none. */
typedef struct json_t json_t;
/* store_paths_init of store (NULL: the default): 0, or EXIT_FAILURE_
 * with "cmd: cannot name the store: why" said (and in doc). */
int cli_store_paths(const char *cmd, const char *store,
		    struct store_paths *paths, json_t *doc);
/* passphrase_read of a new passphrase (init, key passwd, key restore:
 * asked twice on a terminal), and the one warning on stderr when it is
 * shorter than PASSPHRASE_SHORT characters (fs/store/store.h); the
 * result is passphrase_read's. */
int cli_new_passphrase(const char *cmd, const struct passphrase_source *src,
		       char **pass, size_t *len);
/* store_load_keys: 0, or EXIT_FAILURE_ with the key file or passphrase
 * source at fault said (cli_load_keys_error). */
struct mailbox_keys;
int cli_load_keys(const struct store_paths *paths,
		  const struct passphrase_source *pass,
		  struct mailbox_keys *keys);
/* ipmd_fs_open (fs/mount/mount.h): 0, or EXIT_FAILURE_ with "cmd: why"
 * said (and in doc) and fs closed. */
struct ipmd_fs;
struct mount_options;
int cli_fs_open(const char *cmd, struct ipmd_fs *fs,
		const struct mount_options *mo, json_t *doc);
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

/* Apply fs/fuse/mount_access.h to the FUSE option list opts (size bytes) of
 * command cmd ("mount", "archive"); call after cli_log_start.  A
 * contradiction or no room: one line on stderr and EXIT_USAGE.  The
 * opt-out is logged as a warning, and also printed on stderr when
 * foreground is 0 (the log may not go there then).  Else 0. */
int cli_mount_access(const char *cmd, char *opts, size_t size,
		     int foreground);
/* Add opt to the comma-separated option list opts (size bytes, a
 * string): 0, or EXIT_USAGE with "cmd: -o options too long" said and
 * opts unchanged. */
int cli_fuse_opt_add(const char *cmd, char *opts, size_t size,
		     const char *opt);
/* A mount point must be an empty directory: a file, or a directory that
 * holds anything (unless nonempty: -o nonempty), is refused with one line
 * "cmd: …" on stderr and EXIT_FAILURE_, as is one that does not stat.
 * Else 0, with its absolute path in abs (PATH_MAX bytes): the daemon
 * works from "/". */
int cli_mountpoint_check(const char *cmd, const char *mountpoint,
			 bool nonempty, char *abs);
/* Choose the daemon's log (util/log.h): the file (-o log=FILE) when file
 * is not NULL or "", else syslog or stderr; libfuse's own messages go
 * there too.  Before daemonizing (a relative file is the current
 * directory's).  A file that does not open: one line, EXIT_FAILURE_;
 * else 0. */
int cli_log_start(const char *cmd, const char *file, int foreground);
/* Bound the process's malloc arenas (cli_fuse.c, MOUNT_ARENAS; unless
 * cli_arena_max_chosen), install the signal handlers on se, mount it on
 * mountpoint and daemonize (foreground 0) or not: 0.  A step that fails
 * is said on stderr as "cmd: …", what was done is undone (se itself is
 * the caller's) and -1 returned. */
/* Whether the user chose the arena bound, given the values (NULL: unset)
 * of MALLOC_ARENA_MAX and GLIBC_TUNABLES: the first, or a
 * glibc.malloc.arena_max among the second's name=value items, a value
 * glibc takes — a positive integer (decimal, 0x hex or 0 octal, as
 * glibc reads it), nothing after it.  0, empty or malformed: glibc
 * ignores it, so the daemon's bound stays; so do other tunables. */
bool cli_arena_max_chosen(const char *arena_max, const char *tunables);
struct fuse_session;
int cli_fuse_start(const char *cmd, struct fuse_session *se,
		   const char *mountpoint, int foreground);
/* A long option's argument arg checked by the option table's parser for
 * config key key (enum config_key, fs/cli/options.h), the one a config
 * file's value goes through: 0 with *v, or EXIT_USAGE with "cmd: --KEY
 * must be …, not 'arg'" said. */
struct opt_value;
int cli_opt_value(const char *cmd, int key, const char *arg,
		  struct opt_value *v);
/* The convergence scope cfg sets (key "convergence"), else the default;
 * what a writing command (mount, import, object put) seals with. */
enum obj_scope cli_scope(const struct config *cfg);

/* --json (fsck, gc, import, export): one JSON object on stdout, printed
 * at the end.  cli_json_fail says "ipmaildir cmd: why" on stderr as
 * every error is, and also puts why under "error" in doc (NULL: no
 * --json); returns -1.  cli_json_print adds "exit": status, prints doc
 * and frees it.  (json_t: <jansson.h>, declared above.) */
int cli_json_fail(json_t *doc, const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cli_json_print(json_t *doc, int status);

/*
 * Where a command that a mount's daemon also runs (gc, fsck, status:
 * fs/cli/control.h) writes its report: this process's stdout and stderr
 * (cli_io_std, with progress bars on a terminal), or the client's,
 * through the control socket (no bars).  The _to forms write there; an
 * error line is "ipmaildir " and the text, which starts with its
 * command ("gc: …").
 */
struct cli_io {
	FILE *out, *err;
	bool bars;
};
struct cli_io cli_io_std(void);
void cli_error_to(FILE *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int cli_json_fail_to(FILE *err, json_t *doc, const char *cmd,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void cli_json_print_to(FILE *out, json_t *doc, int status);

#endif
