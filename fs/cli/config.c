/* fs/cli/config.c — config files and environment (config.h). */
#include "fs/cli/config.h"
#include "fs/model/object.h"
#include "util/msgbuf.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const config_key_names[CFG_NKEYS] = {
	[CFG_STORE] = "store",
	[CFG_NODE] = "node",
	[CFG_PASSPHRASE_FILE] = "passphrase-file",
	[CFG_PASSPHRASE_COMMAND] = "passphrase-command",
	[CFG_COMMIT_DELAY] = "commit-delay",
	[CFG_ATTR_TIMEOUT] = "attr-timeout",
	[CFG_CACHE_MB] = "cache-mb",
	[CFG_LOCAL_CAP_MB] = "local-cap-mb",
	[CFG_CONVERGENCE] = "convergence",
};

void config_free(struct config *c)
{
	for (int k = 0; k < CFG_NKEYS; k++) {
		free(c->value[k]);
		free(c->origin[k]);
		c->value[k] = c->origin[k] = NULL;
	}
}

static int parse_uint(const char *s, unsigned long lo, unsigned long hi,
		      unsigned long *v)
{
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long x = strtoul(s, &end, 10);
	if (errno || *end || x < lo || x > hi)
		return -EINVAL;
	*v = x;
	return 0;
}

static int parse_double(const char *s, double *v)
{
	if (!isdigit((unsigned char)*s) && *s != '.')
		return -EINVAL;
	char *end;
	errno = 0;
	double x = strtod(s, &end);
	if (errno || *end || !isfinite(x) || x < 0 || x > 86400.0)
		return -EINVAL;
	*v = x;
	return 0;
}

/* Check value for key k; a path's "~/" becomes $HOME.  The result is
 * malloc'ed into *out.  NULL return: fine; else what is wrong. */
static const char *check_value(enum config_key k, const char *value,
			       char **out)
{
	unsigned long u;
	double d;
	*out = NULL;
	if (!*value)
		return "empty value";
	switch (k) {
	case CFG_STORE:
	case CFG_PASSPHRASE_FILE:
		if (value[0] == '~' && value[1] == '/') {
			const char *home = getenv("HOME");
			if (!home || !*home)
				return "~/ but HOME is not set";
			if (asprintf(out, "%s%s", home, value + 1) < 0) {
				*out = NULL;
				return "out of memory";
			}
			return NULL;
		}
		if (value[0] != '/')
			return "must be an absolute path (or start with ~/)";
		break;
	case CFG_NODE:
	case CFG_PASSPHRASE_COMMAND:
		break;
	case CFG_COMMIT_DELAY:
		if (parse_uint(value, 0, 600000, &u))
			return "must be milliseconds, 0 to 600000";
		break;
	case CFG_ATTR_TIMEOUT:
		if (parse_double(value, &d))
			return "must be seconds, 0 to 86400";
		break;
	case CFG_CACHE_MB:
		if (parse_uint(value, 1, 65536, &u))
			return "must be MiB, 1 to 65536";
		break;
	case CFG_LOCAL_CAP_MB:
		if (parse_uint(value, 1, 1ul << 30, &u))
			return "must be MiB, 1 to 1073741824";
		break;
	case CFG_CONVERGENCE: {
		enum obj_scope scope;
		if (obj_scope_parse(value, &scope))
			return "must be message or mailbox";
		break;
	}
	case CFG_NKEYS:
		return "unknown key";
	}
	*out = strdup(value);
	return *out ? NULL : "out of memory";
}

static int set(struct config *c, enum config_key k, const char *value,
	       const char *origin, char *msg, size_t msgsize)
{
	char *v;
	const char *why = check_value(k, value, &v);
	if (why)
		return msgbuf_say(msg, msgsize, "%s: %s: %s", origin,
			   config_key_names[k], why);
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

static int load_file(struct config *c, const char *path, char *msg,
		     size_t msgsize)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return msgbuf_say(msg, msgsize, "%s: %s", path, strerror(errno));
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
			if (!strcmp(key, config_key_names[k]))
				break;
		if (k == CFG_NKEYS) {
			e = msgbuf_say(msg, msgsize, "%s: unknown key '%s'", origin,
				key);
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
		char var[64] = "IPMAILDIR_";
		size_t n = strlen(var);
		for (const char *p = config_key_names[k]; *p && n < 62; p++)
			var[n++] = *p == '-' ? '_' : (char)toupper(*p);
		var[n] = '\0';
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

int config_load(struct config *c, const char *system_path,
		const char *user_path, char *msg, size_t msgsize)
{
	memset(c, 0, sizeof(*c));
	int e = 0;
	if (system_path)
		e = load_file(c, system_path, msg, msgsize);
	if (!e && user_path)
		e = load_file(c, user_path, msg, msgsize);
	if (!e)
		e = load_env(c, msg, msgsize);
	if (e)
		config_free(c);
	return e;
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
	return config_load(c, skip_system ? NULL : CONFIG_SYSTEM_PATH, up, msg,
			   msgsize);
}

const char *config_get(const struct config *c, enum config_key k)
{
	return k < CFG_NKEYS ? c->value[k] : NULL;
}

int config_get_uint(const struct config *c, enum config_key k,
		    unsigned long *v)
{
	const char *s = config_get(c, k);
	if (!s)
		return -ENOENT;
	return parse_uint(s, 0, ULONG_MAX, v);
}

int config_get_double(const struct config *c, enum config_key k, double *v)
{
	const char *s = config_get(c, k);
	if (!s)
		return -ENOENT;
	return parse_double(s, v);
}
