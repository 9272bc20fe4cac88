/*
 * fs/cli/options.h — the one table of mount's own -o options and of the
 * config keys (fs/cli/config.h), and the value parser both use.
 *
 * Each entry says: its config key (and so its environment variable,
 * IPMAILDIR_<KEY> upper case with '-' as '_'), its -o name, its type and
 * range, and where its value goes in struct mount_options.  From it come
 * the parsing of -o in `ipmaildir mount` (opt_take), the checking of config
 * and environment values (config.c), the config values a mount starts
 * from (opt_from_config), the -o list of `mount --help` (opt_help) and a
 * unit test holding man/ipmaildir.conf.5 to the same keys.
 *
 * Invariants (tests/unit/test_options.c checks them):
 * - the first CFG_NKEYS entries, indexed by enum config_key, are exactly
 *   the config keys (key != NULL); the entries after them have no key;
 * - a key with an -o form is that -o name with '_' as '-';
 * - a value a config file accepts, -o accepts for the same option, and
 *   the other way round (one parser, one range).
 * Nothing here prints but opt_help.
 */
#ifndef IPMD_FS_CLI_OPTIONS_H
#define IPMD_FS_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>


/* The config keys, in mount --help's order; opt_table's first CFG_NKEYS
 * entries, indexed by these, give their names, types and ranges. */
enum config_key {
	CFG_STORE,
	CFG_NODE,
	CFG_PASSPHRASE_FILE,
	CFG_PASSPHRASE_COMMAND,
	CFG_COMMIT_DELAY,
	CFG_ATTR_TIMEOUT,
	CFG_CACHE_MB,
	CFG_NODE_TIMEOUT,
	CFG_LOCAL_CAP_MB,
	CFG_UPLOAD_WAIT,
	CFG_PUBLISH,
	CFG_SYNC,
	CFG_OWNER,
	CFG_GROUP,
	CFG_PAD,
	CFG_CONVERGENCE,
	CFG_INDEX_CACHE,
	CFG_NONEMPTY,
	CFG_LOG,
	/* Other commands' settings: long options, no -o form. */
	CFG_THREADS,     /* import */
	CFG_QUIET,       /* import, export */
	CFG_KEEP_LAST,   /* gc */
	CFG_KEEP_WITHIN, /* gc */
	CFG_DEEP,        /* fsck */
	CFG_VERBOSE,     /* fsck */
	CFG_NKEYS
};

enum opt_type {
	OPT_FLAG,   /* -o NAME (yes); NAME=yes|no|true|false|1|0, also in a
		       config file, for one with a key */
	OPT_UINT,   /* decimal digits, lo … hi */
	OPT_DOUBLE, /* a decimal number, fractions allowed, lo … hi */
	OPT_STRING, /* any non-empty text (a command line, an address) */
	OPT_PATH,   /* absolute, or "~/…" for $HOME (opt_path expands it) */
	OPT_ENUM,   /* one of words */
	OPT_DURATION, /* digits and a unit s, m, h, d or w (none: s), in
			 seconds lo … hi: "90s", "12h", "2w" */
};

/* Where a value goes in struct mount_options (fs/mount/mount.h). */
enum opt_field {
	OPT_FIELD_NONE,     /* applied by cli_config, for every command */
	OPT_FIELD_UNSIGNED, /* unsigned */
	OPT_FIELD_SIZE,     /* size_t, the value << shift */
	OPT_FIELD_U64,      /* uint64_t, the value << shift */
	OPT_FIELD_DOUBLE,   /* double */
	OPT_FIELD_BOOL,     /* bool, the flag's value */
	OPT_FIELD_ENUM,     /* an enum (int-sized), the word's value */
	OPT_FIELD_PATH,     /* char[PATH_MAX], "~/" expanded (opt_path) */
};

struct opt_word {
	const char *word;
	int value;
};

struct opt_spec {
	const char *key;  /* config key; NULL: not one */
	const char *name; /* -o name; NULL: no -o form (a long option) */
	enum opt_type type;
	bool fuse;        /* -o: handed on to FUSE too (ro) */
	const char *unit; /* OPT_UINT, OPT_DOUBLE: named in errors */
	const char *metavar; /* mount --help: NAME=METAVAR */
	unsigned long lo, hi; /* OPT_UINT, OPT_DOUBLE: the range */
	const struct opt_word *words; /* OPT_ENUM: ends with {NULL, 0} */
	const char *hint; /* mount --help: a few words after NAME=…, or NULL */
	enum opt_field field;
	size_t offset;    /* of the field in struct mount_options */
	unsigned shift;   /* OPT_FIELD_SIZE, _U64: MiB → bytes */
};

/* After the config keys: -o options that are no config key. */
enum { OPT_RO = CFG_NKEYS, OPT_COUNT };

extern const struct opt_spec opt_table[OPT_COUNT];

/* A parsed value: u for OPT_UINT, d for OPT_DOUBLE, the word's value in
 * u for OPT_ENUM, seconds in u for OPT_DURATION. */
struct opt_value {
	unsigned long u;
	double d;
};

/*
 * Check s for o.  0 with *v set (a flag: u is 1 or 0), or -EINVAL with
 * what o takes in why ("must be MiB, 1 to 65536"; empty s: "empty
 * value").  A path is only checked (absolute or "~/…", shorter than
 * PATH_MAX): opt_path gives its value.
 */
int opt_parse(const struct opt_spec *o, const char *s, struct opt_value *v,
	      char *why, size_t whysize);

/* A number that came parsed (a request to a mount's daemon, fs/cli/
 * control.h) for o, an OPT_UINT or OPT_DURATION (seconds): 0 if o's range
 * holds it, else -EINVAL with why as opt_parse says it. */
int opt_check_range(const struct opt_spec *o, long long v, char *why,
		    size_t whysize);

/* A path value opt_parse accepted, "~/" at its start made $HOME's, into
 * out (size bytes).  0, or -EINVAL with why ("~/ but HOME is not set",
 * "too long"). */
int opt_path(const char *s, char *out, size_t size, char *why,
	     size_t whysize);

/* The long options of the commands that are no config key: what one
 * command line does or names (--repair, --at, --json, …), never a
 * default for every run.  NULL-terminated, without the leading "--".
 * config_load refuses them as such, not as unknown keys. */
extern const char *const opt_not_keys[];

struct mount_options;

/*
 * Take mount's own options out of the comma-separated list opts (in place):
 * every table entry with an -o name sets its field; what FUSE must see
 * (ro, and every name not in the table) stays, in order.  0, or -EINVAL
 * with the first bad NAME=VALUE in bad (opts then undefined), or -ENOMEM.
 */
int opt_take(char *opts, struct mount_options *mo, char *bad,
	     size_t badsize);

/* Set every field of mo whose config key holds a value (value: a struct
 * config's, which config_load already checked); the -o list, taken after,
 * overrides them.  The values, not the struct: config sits above this
 * table, which it checks its values with. */
void opt_from_config(char *const value[CFG_NKEYS],
		     struct mount_options *mo);

/* IPMAILDIR_<KEY> for config key k, into buf. */
void opt_env_name(enum config_key k, char *buf, size_t size);

/* mount --help's list of its own -o options, "NAME=METAVAR (hint), …",
 * after lead, wrapped to width columns, continued at indent. */
void opt_help(FILE *out, const char *lead, int indent, int width);

#endif
