/*
 * fs/cli.h — the ipmaildir command line: one binary, subcommands.
 *
 * Each cmd_* parses its own options (getopt_long, argv[0] is the command
 * name) and returns the process exit status.  Only this layer prints.
 */
#ifndef IPMD_FS_CLI_H
#define IPMD_FS_CLI_H

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

/* "ipmaildir: <message>\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Message for a keys_error or negative errno, with the OS error if any. */
void cli_keys_error(const char *what, int err, int sys_errno);

/* Load the config files and environment (fs/config.h) into cfg; on a bad
 * one print "ipmaildir: file:line: why" and return EXIT_USAGE, else 0.
 * Options the command line left unset (NULL) are filled from cfg; pass
 * NULL for an option the command does not take (or that the command line
 * ruled out: --no-passphrase, fetch's --store).  Every command that takes
 * --store, --passphrase-file or --node calls this once after getopt and
 * keeps cfg (the strings point into it) until it returns; config_free. */
struct config;
int cli_config(struct config *cfg, const char **store,
	       const char **passphrase_file, const char **node);
/* The convergence scope cfg sets (key "convergence"), else the default;
 * what a writing command (mount, import, object put) seals with. */
enum obj_scope cli_scope(const struct config *cfg);

#endif
