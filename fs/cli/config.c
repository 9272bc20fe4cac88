/* fs/cli/config.c — config files and environment (config.h). */
#include "fs/cli/config.h"
#include "fs/cli/options.h"
#include "util/msgbuf.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void config_free(struct config *c)
{
	for (int k = 0; k < CFG_NKEYS; k++) {
		free(c->value[k]);
		free(c->origin[k]);
		c->value[k] = c->origin[k] = NULL;
	}
}

/* Check value for key k; a path's "~/" becomes $HOME.  The result is
 * malloc'ed into *out.  0, or nonzero with what is wrong in why. */
static int check_value(enum config_key k, const char *value, char **out,
		       char *why, size_t whysize)
{
	const struct opt_spec *o = &opt_table[k];
	struct opt_value v;
	*out = NULL;
	char path[PATH_MAX];
	if (opt_parse(o, value, &v, why, whysize) != 0)
		return -EINVAL;
	if (o->type == OPT_PATH) {
		if (opt_path(value, path, sizeof(path), why, whysize) != 0)
			return -EINVAL;
		value = path;
	}
	*out = strdup(value);
	return *out ? 0 : msgbuf_say(why, whysize, "out of memory");
}

static int set(struct config *c, enum config_key k, const char *value,
	       const char *origin, char *msg, size_t msgsize)
{
	char *v, why[128];
	if (check_value(k, value, &v, why, sizeof(why)))
		return msgbuf_say(msg, msgsize, "%s: %s: %s", origin,
			   opt_table[k].key, why);
	char *o = strdup(origin);
	if (!o) {
		free(v);
		return msgbuf_say(msg, msgsize, "out of memory");
	}
	free(c->value[k]);
	free(c->origin[k]);
	c->value[k] = v;
	c->origin[k] = o;
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* A key no entry of the table has: one of opt_not_keys (a command
 * line's own), or unknown. */
static int unknown_key(const char *key, const char *origin, char *msg,
		       size_t msgsize)
{
	for (const char *const *n = opt_not_keys; *n; n++)
		if (!strcmp(key, *n))
			return msgbuf_say(msg, msgsize,
					  "%s: '%s' is an option of one command "
					  "line (--%s), not a setting",
					  origin, key, key);
	return msgbuf_say(msg, msgsize, "%s: unknown key '%s'", origin, key);
}

/* must: a file that does not exist is an error too (one the user
 * named), not an empty config. */
static int load_file(struct config *c, const char *path, bool must,
		     char *msg, size_t msgsize)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		if (!must && (errno == ENOENT || errno == ENOTDIR))
			return 0;
		return msgbuf_say(msg, msgsize, "%s%s: %s", path,
				  must ? " ($" CONFIG_ENV_FILE ")" : "",
				  strerror(errno));
	}
	char line[CONFIG_LINE_MAX + 2], origin[PATH_MAX + 32];
	int e = 0;
	for (unsigned no = 1; !e && fgets(line, sizeof(line), f); no++) {
		snprintf(origin, sizeof(origin), "%s:%u", path, no);
		size_t len = strlen(line);
		if (len > CONFIG_LINE_MAX ||
		    (len == sizeof(line) - 1 && line[len - 1] != '\n')) {
			e = msgbuf_say(msg, msgsize, "%s: line too long", origin);
			break;
		}
		if (memchr(line, '\0', len) != NULL && strlen(line) != len) {
			e = msgbuf_say(msg, msgsize, "%s: NUL byte", origin);
			break;
		}
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			e = msgbuf_say(msg, msgsize, "%s: expected 'key = value'",
				origin);
			break;
		}
		*eq = '\0';
		char *key = trim(s), *value = trim(eq + 1);
		size_t vlen = strlen(value);
		if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
			value[vlen - 1] = '\0';
			value++;
		} else if (strchr(value, '"')) {
			e = msgbuf_say(msg, msgsize, "%s: unbalanced '\"'", origin);
			break;
		}
		int k;
		for (k = 0; k < CFG_NKEYS; k++)
			if (!strcmp(key, opt_table[k].key))
				break;
		if (k == CFG_NKEYS) {
			e = unknown_key(key, origin, msg, msgsize);
			break;
		}
		e = set(c, (enum config_key)k, value, origin, msg, msgsize);
	}
	if (!e && ferror(f))
		e = msgbuf_say(msg, msgsize, "%s: %s", path, strerror(errno));
	fclose(f);
	return e;
}

static int load_env(struct config *c, char *msg, size_t msgsize)
{
	for (int k = 0; k < CFG_NKEYS; k++) {
		char var[64];
		opt_env_name((enum config_key)k, var, sizeof(var));
		const char *v = getenv(var);
		if (!v)
			continue;
		char origin[80];
		snprintf(origin, sizeof(origin), "$%s", var);
		if (set(c, (enum config_key)k, v, origin, msg, msgsize))
			return -1;
	}
	return 0;
}

/* The same as config_load; user_must: user_path was named
 * ($IPMAILDIR_CONFIG) and must exist. */
static int load_all(struct config *c, const char *system_path,
		    const char *user_path, bool user_must, char *msg,
		    size_t msgsize)
{
	memset(c, 0, sizeof(*c));
	int e = 0;
	if (system_path)
		e = load_file(c, system_path, false, msg, msgsize);
	if (!e && user_path)
		e = load_file(c, user_path, user_must, msg, msgsize);
	if (!e)
		e = load_env(c, msg, msgsize);
	if (e)
		config_free(c);
	return e;
}

int config_load(struct config *c, const char *system_path,
		const char *user_path, char *msg, size_t msgsize)
{
	return load_all(c, system_path, user_path, false, msg, msgsize);
}

int config_load_default(struct config *c, char *msg, size_t msgsize)
{
	char user[PATH_MAX];
	const char *file = getenv(CONFIG_ENV_FILE);
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	const char *up = user;
	if (file && *file)
		up = file;
	else if (xdg && *xdg && xdg[0] == '/')
		snprintf(user, sizeof(user), "%s/%s", xdg, CONFIG_USER_REL);
	else if (home && *home)
		snprintf(user, sizeof(user), "%s/.config/%s", home,
			 CONFIG_USER_REL);
	else
		up = NULL;
	const char *nosys = getenv(CONFIG_ENV_NOSYSTEM);
	bool skip_system = nosys && *nosys && strcmp(nosys, "0") != 0;
	/* A file named in the environment that is not there is a mistake
	 * to say, not a reason to fall back to the built-in defaults. */
	return load_all(c, skip_system ? NULL : CONFIG_SYSTEM_PATH, up,
			up == file, msg, msgsize);
}

const char *config_get(const struct config *c, enum config_key k)
{
	return k < CFG_NKEYS ? c->value[k] : NULL;
}

/* Values are checked when loaded; parsed again by the table's parser,
 * if key k is of that type.  0, -ENOENT (not set) or -EINVAL. */
static int get_parsed(const struct config *c, enum config_key k,
		      enum opt_type type, struct opt_value *ov)
{
	const char *s = config_get(c, k);
	char why[128];
	if (!s)
		return -ENOENT;
	if (opt_table[k].type != type ||
	    opt_parse(&opt_table[k], s, ov, why, sizeof(why)))
		return -EINVAL;
	return 0;
}

/* A value of type whose parse lands in u (uint, duration, flag). */
static int get_u(const struct config *c, enum config_key k,
		 enum opt_type type, unsigned long *u)
{
	struct opt_value ov;
	int e = get_parsed(c, k, type, &ov);
	if (!e)
		*u = ov.u;
	return e;
}

int config_get_uint(const struct config *c, enum config_key k,
		    unsigned long *v)
{
	return get_u(c, k, OPT_UINT, v);
}

int config_get_double(const struct config *c, enum config_key k, double *v)
{
	struct opt_value ov;
	int e = get_parsed(c, k, OPT_DOUBLE, &ov);
	if (!e)
		*v = ov.d;
	return e;
}

bool config_flag(const struct config *c, enum config_key k)
{
	unsigned long u;
	return get_u(c, k, OPT_FLAG, &u) == 0 && u != 0;
}

int config_get_duration(const struct config *c, enum config_key k,
			unsigned long *secs)
{
	return get_u(c, k, OPT_DURATION, secs);
}
