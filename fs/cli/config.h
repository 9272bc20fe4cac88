/*
 * fs/cli/config.h — settings from config files and the environment.
 *
 * Files: /etc/ipmaildir/config (system), then the user's
 * $XDG_CONFIG_HOME/ipmaildir/config (else ~/.config/ipmaildir/config), or
 * the file $IPMAILDIR_CONFIG names instead of the user's.  A missing file
 * is no error, but for the one $IPMAILDIR_CONFIG names.  Lines:
 *     # a comment (a whole line only: values may hold '#')
 *     key = value
 * blank lines are ignored; whitespace around key and value is dropped;
 * a value may be "double quoted" (then it is taken as it is, quotes off).
 * Keys are the long options they mirror: store, node, passphrase-file,
 * passphrase-command, mount's -o options with '_' as '-' (commit-delay,
 * attr-timeout, …; convergence is also used by import and object put),
 * and the other commands' settings (threads, quiet, keep-last,
 * keep-within, deep, verbose).  A long option that acts or names
 * something for one run (repair, at, json, …: opt_not_keys) is refused
 * as that.  Their names, types and ranges are the table of
 * fs/cli/options.h.  Each
 * has an environment variable IPMAILDIR_<KEY> (upper case, '-' as '_').
 *
 * Precedence, highest first: command line (the caller applies it) >
 * environment > user file > system file > built-in defaults (the caller's).
 *
 * Every value is checked when read: an unknown key, a line without '=',
 * a relative path, a number out of range is an error naming file:line (or
 * the variable), and nothing is used.  "~/" at the start of a path is
 * $HOME.  Nothing prints.
 */
#ifndef IPMD_FS_CLI_CONFIG_H
#define IPMD_FS_CLI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "fs/cli/options.h"
#include "util/attr.h"

#define CONFIG_SYSTEM_PATH "/etc/ipmaildir/config"
#define CONFIG_USER_REL "ipmaildir/config"
#define CONFIG_ENV_FILE "IPMAILDIR_CONFIG"
/* Set (and not "0"): the system file is not read, as GIT_CONFIG_NOSYSTEM
 * does for git (test suites, and users who want only their own file). */
#define CONFIG_ENV_NOSYSTEM "IPMAILDIR_CONFIG_NOSYSTEM"
#define CONFIG_LINE_MAX 4096

struct config {
	char *value[CFG_NKEYS];  /* NULL: not set anywhere */
	char *origin[CFG_NKEYS]; /* "file:line" or "$IPMAILDIR_…" */
};

/*
 * Read system_path, then user_path (either may be NULL), then the
 * environment, later ones overriding.  0, or -1 with "file:line: why" in
 * msg (the config is then empty).  c needs no init; free with config_free.
 */
IPMD_MUST_CHECK
int config_load(struct config *c, const char *system_path,
		const char *user_path, char *msg, size_t msgsize);
/* The same with the standard paths above. */
IPMD_MUST_CHECK
int config_load_default(struct config *c, char *msg, size_t msgsize);
void config_free(struct config *c);

const char *config_get(const struct config *c, enum config_key k);
/* Numeric values (already checked by load): 0, or -ENOENT when unset. */
int config_get_uint(const struct config *c, enum config_key k,
		    unsigned long *v);
int config_get_double(const struct config *c, enum config_key k, double *v);
/* A flag key's value: true only when set to yes (true, 1). */
bool config_flag(const struct config *c, enum config_key k);
/* A duration's seconds; the same results. */
int config_get_duration(const struct config *c, enum config_key k,
			unsigned long *secs);

#endif
