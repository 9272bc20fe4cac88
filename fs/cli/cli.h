/*
 * fs/cli/cli.h — the ipmaildir command line: one binary, subcommands.
 *
 * Each cmd_* parses its own options (getopt_long, argv[0] is the command
 * name) and returns the process exit status.  Only this layer prints.
 */
#ifndef IPMD_FS_CLI_CLI_H
#define IPMD_FS_CLI_CLI_H

#include <stdbool.h>

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
 * before any command, "ipmaildir: <message>". */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error of cmd: why (if not NULL: getopt said it already) as
 * cli_error says it, then the hint "Try 'ipmaildir cmd --help'."; returns
 * EXIT_USAGE. */
int cli_usage(const char *cmd, const char *why);
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

/* --json (fsck, gc, import, export): one JSON object on stdout, printed
 * at the end.  cli_json_fail says "ipmaildir: cmd: why" on stderr as
 * every error is, and also puts why under "error" in doc (NULL: no
 * --json); returns -1.  cli_json_print adds "exit": status, prints doc
 * and frees it. */
typedef struct json_t json_t;
int cli_json_fail(json_t *doc, const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cli_json_print(json_t *doc, int status);

#endif
