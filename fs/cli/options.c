/* fs/cli/options.c — the option table and its parser (options.h). */
#include "fs/cli/options.h"
#include "fs/model/object.h"
#include "fs/mount/mount.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* OPT_FIELD_ENUM fields are written as an int. */
_Static_assert(sizeof(enum obj_pad) == sizeof(int), "enum obj_pad is an int");
_Static_assert(sizeof(enum obj_scope) == sizeof(int),
	       "enum obj_scope is an int");
_Static_assert(sizeof(enum mount_index_cache) == sizeof(int),
	       "enum mount_index_cache is an int");

static const struct opt_word pad_words[] = {
	{"padme", OBJ_PAD_PADME},
	{"none", OBJ_PAD_NONE},
	{NULL, 0},
};

static const struct opt_word scope_words[] = {
	{"message", OBJ_SCOPE_MESSAGE},
	{"mailbox", OBJ_SCOPE_MAILBOX},
	{NULL, 0},
};

static const struct opt_word on_off_words[] = {
	{"on", MOUNT_INDEX_CACHE_ON},
	{"off", MOUNT_INDEX_CACHE_OFF},
	{NULL, 0},
};

#define MO(f, kind) .field = (kind), .offset = offsetof(struct mount_options, f)

const struct opt_spec opt_table[OPT_COUNT] = {
	/* Long options of every command that takes them (cli_config). */
	[CFG_STORE] = {.key = "store", .type = OPT_PATH},
	[CFG_NODE] = {.key = "node", .type = OPT_STRING},
	[CFG_PASSPHRASE_FILE] = {.key = "passphrase-file", .type = OPT_PATH},
	[CFG_PASSPHRASE_COMMAND] = {.key = "passphrase-command",
				    .type = OPT_STRING},
	/* mount -o, and config keys. */
	[CFG_COMMIT_DELAY] = {.key = "commit-delay", .name = "commit_delay",
			      .type = OPT_UINT, .unit = "milliseconds",
			      .metavar = "MS", .lo = 0, .hi = 600000,
			      MO(commit_delay_ms, OPT_FIELD_UNSIGNED)},
	[CFG_ATTR_TIMEOUT] = {.key = "attr-timeout", .name = "attr_timeout",
			      .type = OPT_DOUBLE, .unit = "seconds",
			      .metavar = "S", .lo = 0, .hi = 86400,
			      MO(attr_timeout, OPT_FIELD_DOUBLE)},
	[CFG_CACHE_MB] = {.key = "cache-mb", .name = "cache_mb",
			  .type = OPT_UINT, .unit = "MiB", .metavar = "N",
			  .lo = 1, .hi = 65536,
			  MO(cache_bytes, OPT_FIELD_SIZE), .shift = 20},
	[CFG_NODE_TIMEOUT] = {.key = "node-timeout", .name = "node_timeout",
			      .type = OPT_UINT, .unit = "milliseconds",
			      .metavar = "MS", .lo = 1, .hi = 600000,
			      MO(node_timeout_ms, OPT_FIELD_UNSIGNED)},
	[CFG_LOCAL_CAP_MB] = {.key = "local-cap-mb", .name = "local_cap_mb",
			      .type = OPT_UINT, .unit = "MiB", .metavar = "N",
			      .lo = 1, .hi = 1ul << 30,
			      MO(local_cap_bytes, OPT_FIELD_U64),
			      .shift = 20},
	[CFG_UPLOAD_WAIT] = {.key = "upload-wait", .name = "upload_wait",
			     .type = OPT_UINT, .unit = "seconds",
			     .metavar = "S", .lo = 0, .hi = 86400,
			     MO(upload_wait_s, OPT_FIELD_UNSIGNED)},
	[CFG_PUBLISH] = {.key = "publish", .name = "publish", .type = OPT_UINT,
			 .unit = "seconds", .metavar = "S", .lo = 0,
			 .hi = 86400,
			 MO(publish_interval_s, OPT_FIELD_UNSIGNED)},
	[CFG_SYNC] = {.key = "sync", .name = "sync", .type = OPT_UINT,
		      .unit = "seconds", .metavar = "S", .lo = 0, .hi = 86400,
		      .hint = "follow the other devices' head; default 30 "
			      "with a node, 0: never",
		      MO(sync_interval_s, OPT_FIELD_UNSIGNED)},
	[CFG_OWNER] = {.key = "owner", .name = "owner", .type = OPT_UINT,
		       .unit = "a uid", .metavar = "UID", .lo = 0,
		       .hi = UINT32_MAX - 1,
		       .hint = "this device's mail user: shown as the owner "
			       "of the mailbox owner's files",
		       MO(owner_uid, OPT_FIELD_UNSIGNED)},
	[CFG_GROUP] = {.key = "group", .name = "group", .type = OPT_UINT,
		       .unit = "a gid", .metavar = "GID", .lo = 0,
		       .hi = UINT32_MAX - 1,
		       .hint = "this device's mail group, likewise",
		       MO(owner_gid, OPT_FIELD_UNSIGNED)},
	[CFG_PAD] = {.key = "pad", .name = "pad", .type = OPT_ENUM,
		     .words = pad_words, .hint = "chunk size padding",
		     MO(pad, OPT_FIELD_ENUM)},
	[CFG_CONVERGENCE] = {.key = "convergence", .name = "convergence",
			     .type = OPT_ENUM, .words = scope_words,
			     .hint = "which equal content shares blocks: one "
				     "message's, or the whole mailbox's",
			     MO(scope, OPT_FIELD_ENUM)},
	[CFG_INDEX_CACHE] = {.key = "index-cache", .name = "index_cache",
			     .type = OPT_ENUM, .words = on_off_words,
			     .hint = "Dovecot's index files kept as local "
				     "cache, uncommitted; off for "
				     "LAYOUT=index and dbox",
			     MO(index_cache, OPT_FIELD_ENUM)},
	/* The daemon's, not the mailbox's (fs/cli/cmd_mount.c). */
	[CFG_NONEMPTY] = {.key = "nonempty", .name = "nonempty",
			  .type = OPT_FLAG,
			  .hint = "mount on a directory that is not empty",
			  MO(nonempty, OPT_FIELD_BOOL)},
	[CFG_LOG] = {.key = "log", .name = "log", .type = OPT_PATH,
		     .metavar = "FILE", .hint = "messages there, not syslog",
		     MO(log_file, OPT_FIELD_PATH)},
	/* The settings of other commands (their long options). */
	[CFG_THREADS] = {.key = "threads", .type = OPT_UINT,
			 .unit = "a number of threads", .metavar = "N",
			 .lo = 1, .hi = 64},
	[CFG_QUIET] = {.key = "quiet", .type = OPT_FLAG},
	[CFG_KEEP_LAST] = {.key = "keep-last", .type = OPT_UINT,
			   .unit = "a count of commits", .metavar = "N", .lo = 1,
			   .hi = 4294967295ul},
	/* Seconds that still count in nanoseconds in an int64_t. */
	[CFG_KEEP_WITHIN] = {.key = "keep-within", .type = OPT_DURATION,
			     .unit = "a duration such as 30m, 12h, 7d "
				     "or 2w",
			     .metavar = "DURATION", .lo = 0,
			     .hi = 9223372036ul},
	[CFG_DEEP] = {.key = "deep", .type = OPT_FLAG},
	[CFG_VERBOSE] = {.key = "verbose", .type = OPT_FLAG},
	/* -o only: in a config file, ro would make every mount read-only
	 * (--at and --from-node are read-only by themselves). */
	[OPT_RO] = {.name = "ro", .type = OPT_FLAG, .fuse = true,
		    MO(read_only, OPT_FIELD_BOOL)},
};

const char *const opt_not_keys[] = {
	"at", "from-node", "capability", "capability-file", "into", "car",
	"head-only", "dry-run", "repair", "rollback-to", "force", "json",
	"read-only", "no-passphrase", "new-passphrase-file",
	"new-passphrase-command", "no-new-passphrase", "help", "version",
	NULL,
};

/* "must be message or mailbox", "must be MiB, 1 to 65536". */
static int say_range(const struct opt_spec *o, char *why, size_t whysize)
{
	if (o->type == OPT_DURATION) {
		snprintf(why, whysize, "must be %s", o->unit);
		return -EINVAL;
	}
	if (o->type != OPT_ENUM) {
		snprintf(why, whysize, "must be %s, %lu to %lu", o->unit,
			 o->lo, o->hi);
		return -EINVAL;
	}
	size_t n = 0;
	while (o->words[n].word)
		n++;
	size_t len = (size_t)snprintf(why, whysize, "must be");
	for (size_t i = 0; i < n && len < whysize; i++) {
		const char *sep = i == 0 ? " " : i + 1 == n ? " or " : ", ";
		len += (size_t)snprintf(why + len, whysize - len, "%s%s", sep,
					o->words[i].word);
	}
	return -EINVAL;
}

int opt_check_range(const struct opt_spec *o, long long v, char *why,
		    size_t whysize)
{
	if (v < 0 || (unsigned long long)v < o->lo ||
	    (unsigned long long)v > o->hi)
		return say_range(o, why, whysize);
	return 0;
}

static const struct opt_word flag_words[] = {
	{"yes", 1}, {"no", 0}, {"true", 1}, {"false", 0}, {"1", 1}, {"0", 0},
	{NULL, 0},
};

/* "90s", "30m", "12h", "7d", "2w" (a bare number: seconds) → seconds in
 * v->u, within o's range. */
static int parse_duration(const struct opt_spec *o, const char *s,
			  struct opt_value *v, char *why, size_t whysize)
{
	static const struct {
		char unit;
		unsigned long secs;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400},
		     {'w', 604800}};
	char *end;
	if (!isdigit((unsigned char)*s))
		return say_range(o, why, whysize);
	errno = 0;
	unsigned long n = strtoul(s, &end, 10), unit = 0;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (*end == units[i].unit && end[1] == '\0')
			unit = units[i].secs;
	if (*end == '\0')
		unit = 1;
	if (errno || !unit || n > o->hi / unit || n * unit < o->lo)
		return say_range(o, why, whysize);
	v->u = n * unit;
	return 0;
}

int opt_parse(const struct opt_spec *o, const char *s, struct opt_value *v,
	      char *why, size_t whysize)
{
	char *end;
	if (!*s) {
		snprintf(why, whysize, "empty value");
		return -EINVAL;
	}
	errno = 0;
	switch (o->type) {
	case OPT_UINT:
		/* Digits only: strtoul would take a sign or blanks. */
		if (!isdigit((unsigned char)*s))
			return say_range(o, why, whysize);
		v->u = strtoul(s, &end, 10);
		if (errno || *end || v->u < o->lo || v->u > o->hi)
			return say_range(o, why, whysize);
		return 0;
	case OPT_DOUBLE:
		if (!isdigit((unsigned char)*s) && *s != '.')
			return say_range(o, why, whysize);
		v->d = strtod(s, &end);
		if (errno || *end || !isfinite(v->d) || v->d < (double)o->lo ||
		    v->d > (double)o->hi)
			return say_range(o, why, whysize);
		return 0;
	case OPT_ENUM:
	case OPT_FLAG:
		for (const struct opt_word *w =
			     o->type == OPT_FLAG ? flag_words : o->words;
		     w->word; w++)
			if (!strcmp(s, w->word)) {
				v->u = (unsigned long)w->value;
				return 0;
			}
		if (o->type == OPT_FLAG) {
			snprintf(why, whysize, "must be yes or no");
			return -EINVAL;
		}
		return say_range(o, why, whysize);
	case OPT_PATH:
		if (s[0] != '/' && (s[0] != '~' || s[1] != '/')) {
			snprintf(why, whysize, "must be an absolute path (or "
					       "start with ~/)");
			return -EINVAL;
		}
		if (strlen(s) >= PATH_MAX) {
			snprintf(why, whysize, "too long");
			return -EINVAL;
		}
		return 0;
	case OPT_DURATION:
		return parse_duration(o, s, v, why, whysize);
	case OPT_STRING:
		break;
	}
	return 0;
}

int opt_path(const char *s, char *out, size_t size, char *why,
	     size_t whysize)
{
	const char *home = "";
	if (s[0] == '~' && s[1] == '/') {
		home = getenv("HOME");
		if (!home || !*home) {
			snprintf(why, whysize, "~/ but HOME is not set");
			return -EINVAL;
		}
		s++;
	}
	if ((size_t)snprintf(out, size, "%s%s", home, s) >= size) {
		snprintf(why, whysize, "too long");
		return -EINVAL;
	}
	return 0;
}

/* Store v (s, for a path) into o's field of mo.  0, or -EINVAL with why
 * (a path that does not expand). */
static int set_field(const struct opt_spec *o, const char *s,
		     const struct opt_value *v, struct mount_options *mo,
		     char *why, size_t whysize)
{
	char *p = (char *)mo + o->offset;
	int e = (int)v->u;
	switch (o->field) {
	case OPT_FIELD_PATH: return opt_path(s, p, PATH_MAX, why, whysize);
	case OPT_FIELD_UNSIGNED: *(unsigned *)p = (unsigned)v->u; break;
	case OPT_FIELD_SIZE: *(size_t *)p = (size_t)v->u << o->shift; break;
	case OPT_FIELD_U64: *(uint64_t *)p = (uint64_t)v->u << o->shift; break;
	case OPT_FIELD_DOUBLE: *(double *)p = v->d; break;
	case OPT_FIELD_BOOL: *(bool *)p = v->u != 0; break;
	case OPT_FIELD_ENUM: memcpy(p, &e, sizeof(e)); break;
	case OPT_FIELD_NONE: break;
	}
	return 0;
}

/* The table entry tok names, or NULL: NAME=… , or NAME alone for a flag
 * (its value "yes"); a flag FUSE sees too (ro) only alone, as FUSE takes
 * it. */
static const struct opt_spec *named(const char *tok, const char **value)
{
	for (int i = 0; i < OPT_COUNT; i++) {
		const struct opt_spec *o = &opt_table[i];
		size_t n = o->name ? strlen(o->name) : 0;
		if (!n || strncmp(tok, o->name, n))
			continue;
		if (o->type == OPT_FLAG && tok[n] == '\0') {
			*value = "yes";
			return o;
		}
		if (tok[n] == '=' && !(o->type == OPT_FLAG && o->fuse)) {
			*value = tok + n + 1;
			return o;
		}
	}
	return NULL;
}

int opt_take(char *opts, struct mount_options *mo, char *bad,
	     size_t badsize)
{
	char *save = NULL, why[128];
	char *copy = strdup(opts);
	if (!copy)
		return -ENOMEM;
	*opts = '\0';
	int e = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		const char *value;
		const struct opt_spec *o = named(tok, &value);
		struct opt_value v = {0};
		if (o && (opt_parse(o, value, &v, why, sizeof(why)) != 0 ||
			  set_field(o, value, &v, mo, why, sizeof(why)) != 0)) {
			snprintf(bad, badsize, "%s", tok);
			e = -EINVAL;
			break;
		}
		if (o && !o->fuse)
			continue;
		/* The list only shrinks: tok fits where it was. */
		if (*opts)
			strcat(opts, ",");
		strcat(opts, tok);
	}
	free(copy);
	return e;
}

void opt_from_config(char *const value[CFG_NKEYS],
		     struct mount_options *mo)
{
	char why[128];
	for (int k = 0; k < CFG_NKEYS; k++) {
		const struct opt_spec *o = &opt_table[k];
		const char *s = value[k];
		struct opt_value v = {0};
		/* Checked by config_load: a failure here is a value no file
		 * could have set, and the built-in default stays. */
		if (s && o->field != OPT_FIELD_NONE &&
		    opt_parse(o, s, &v, why, sizeof(why)) == 0)
			(void)set_field(o, s, &v, mo, why, sizeof(why));
	}
}

void opt_env_name(enum config_key k, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "IPMAILDIR_");
	for (const char *p = opt_table[k].key; *p && n + 1 < size; p++)
		buf[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	if (n < size)
		buf[n] = '\0';
}

/* Print the words of text after column col, wrapping before width to
 * indent; returns the column reached. */
static int put_words(FILE *out, const char *text, int col, int indent,
		     int width)
{
	for (const char *p = text + strspn(text, " "); *p;) {
		int len = (int)strcspn(p, " ");
		if (col > indent && col + 1 + len > width) {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', out);
			col++;
		}
		col += fprintf(out, "%.*s", len, p);
		p += len;
		p += strspn(p, " ");
	}
	return col;
}

/* "NAME=METAVAR", "NAME=a|b" or a flag's "NAME", then " (hint)" if any. */
static void help_item(const struct opt_spec *o, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "%s%s%s", o->name,
				    o->type == OPT_FLAG ? "" : "=",
				    o->metavar ? o->metavar : "");
	for (const struct opt_word *w = o->words; w && w->word && n < size;
	     w++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s",
				      w == o->words ? "" : "|", w->word);
	if (o->hint && n < size)
		snprintf(buf + n, size - n, " (%s)", o->hint);
}

void opt_help(FILE *out, const char *lead, int indent, int width)
{
	int col = fprintf(out, "%*s", indent, "");
	col = put_words(out, lead, col, indent, width);
	const char *sep = "";
	for (int i = 0; i < OPT_COUNT; i++) {
		const struct opt_spec *o = &opt_table[i];
		if (!o->name || o->fuse) /* FUSE's own: told of above it */
			continue;
		char item[256];
		help_item(o, item, sizeof(item));
		/* The comma goes with the item before, never alone. */
		col += fprintf(out, "%s", sep);
		col = put_words(out, item, col, indent, width);
		sep = ",";
	}
	fputc('\n', out);
}
