/* tests/unit/test_options.c — the option table (fs/cli/options.h): its
 * invariants, -o parsing, one parser for -o and config, and the manual
 * pages naming the same keys, variables and -o options. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/cli/config.h"
#include "fs/cli/options.h"
#include "fs/model/object.h"
#include "fs/mount/mount.h"
#include "tests/tap.h"

static void test_table(void)
{
	for (int i = 0; i < OPT_COUNT; i++) {
		const struct opt_spec *o = &opt_table[i];
		ok((i < CFG_NKEYS) == (o->key != NULL),
		   "entry %d (%s): a config key iff among the first CFG_NKEYS",
		   i, o->key ? o->key : o->name);
		if (o->key && o->name) {
			char want[64];
			snprintf(want, sizeof(want), "%s", o->name);
			for (char *p = want; *p; p++)
				*p = *p == '_' ? '-' : *p;
			is_str(o->key, want, "key %s is -o %s, '_' as '-'",
			       o->key, o->name);
		}
		if (o->type == OPT_ENUM)
			ok(o->words && o->words[0].word, "%s has words", o->name);
		if (o->type == OPT_UINT || o->type == OPT_DOUBLE)
			ok(o->unit && o->metavar && o->lo <= o->hi,
			   "%s has a unit, a metavar and a range", o->name);
	}
	/* A long option is a key or one run's, never both. */
	for (const char *const *n = opt_not_keys; *n; n++)
		for (int k = 0; k < CFG_NKEYS; k++)
			if (!strcmp(*n, opt_table[k].key))
				ok(0, "%s is both a key and one run's", *n);
	struct opt_value v;
	char why[128];
	ok(opt_parse(&opt_table[CFG_KEEP_WITHIN], "90", &v, why, sizeof(why)) ==
			   0 && v.u == 90,
	   "a bare duration is seconds");
	ok(opt_parse(&opt_table[CFG_KEEP_WITHIN], "3h", &v, why, sizeof(why)) ==
			   0 && v.u == 3 * 3600,
	   "3h");
	ok(opt_parse(&opt_table[CFG_KEEP_WITHIN], "99999999999w", &v, why,
		     sizeof(why)) == -EINVAL,
	   "a duration past its range: %s", why);
	ok(opt_parse(&opt_table[CFG_KEEP_WITHIN], "-1d", &v, why,
		     sizeof(why)) == -EINVAL,
	   "a negative duration");
	char var[64];
	opt_env_name(CFG_PASSPHRASE_COMMAND, var, sizeof(var));
	is_str(var, "IPMAILDIR_PASSPHRASE_COMMAND", "the variable of a key");
}

static struct mount_options take(const char *list, int *r, char *rest,
				 char *bad)
{
	struct mount_options mo = {0};
	strcpy(rest, list);
	*bad = '\0';
	*r = opt_take(rest, &mo, bad, 256);
	return mo;
}

static void test_take(void)
{
	char rest[256], bad[256];
	int r;
	struct mount_options mo = take(
		"allow_other,commit_delay=200,attr_timeout=2.5,cache_mb=3,"
		"node_timeout=7,local_cap_mb=5,upload_wait=0,publish=1,ro,"
		"pad=none,convergence=mailbox,x=1",
		&r, rest, bad);
	is_int(r, 0, "every own option taken");
	is_str(rest, "allow_other,ro,x=1", "FUSE's stay, in order, ro too");
	ok(mo.commit_delay_ms == 200 && mo.attr_timeout == 2.5 &&
		   mo.cache_bytes == 3u << 20 && mo.node_timeout_ms == 7 &&
		   mo.local_cap_bytes == 5ull << 20 && mo.upload_wait_s == 0 &&
		   mo.publish_interval_s == 1 && mo.read_only &&
		   mo.pad == OBJ_PAD_NONE && mo.scope == OBJ_SCOPE_MAILBOX,
	   "each in its field (MiB as bytes)");
	mo = take("rw,,default_permissions", &r, rest, bad);
	ok(r == 0 && !strcmp(rest, "rw,default_permissions") && !mo.read_only,
	   "only FUSE options: kept (empty items dropped)");
	/* A name without its value is no option of ours: FUSE judges it. */
	take("pad,ro=1", &r, rest, bad);
	ok(r == 0 && !strcmp(rest, "pad,ro=1"), "pad, ro=1: left to FUSE");
	static const char *const refused[] = {
		"commit_delay=600001", "commit_delay=-1",  "commit_delay=",
		"commit_delay=5ms",    "commit_delay= 5",  "cache_mb=0",
		"cache_mb=65537",      "node_timeout=0",   "local_cap_mb=0",
		"local_cap_mb=1073741825", "publish=86401", "upload_wait=86401",
		"attr_timeout=-1",     "attr_timeout=nan", "attr_timeout=86401",
		"pad=bucket",          "convergence=folder",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char list[128];
		snprintf(list, sizeof(list), "ro,%s,allow_other", refused[i]);
		take(list, &r, rest, bad);
		ok(r == -EINVAL && !strcmp(bad, refused[i]), "-o %s refused",
		   refused[i]);
	}
	/* The daemon's own: a flag with or without a value, a path. */
	mo = take("nonempty,log=/var/log/x.log,ro", &r, rest, bad);
	ok(r == 0 && !strcmp(rest, "ro") && mo.nonempty &&
		   !strcmp(mo.log_file, "/var/log/x.log"),
	   "nonempty and log=FILE taken, not handed to FUSE");
	mo = take("nonempty=no", &r, rest, bad);
	ok(r == 0 && !mo.nonempty && !*rest, "nonempty=no: off");
	mo = take("nonempty=yes", &r, rest, bad);
	ok(r == 0 && mo.nonempty, "nonempty=yes: on");
	setenv("HOME", "/home/x", 1);
	mo = take("log=~/ipmd.log", &r, rest, bad);
	is_str(mo.log_file, "/home/x/ipmd.log", "log=~/…: $HOME's");
	static const char *const refused_too[] = {
		"log=relative.log", "log=", "nonempty=maybe", "nonempty=",
	};
	for (size_t i = 0; i < sizeof(refused_too) / sizeof(refused_too[0]);
	     i++) {
		take(refused_too[i], &r, rest, bad);
		ok(r == -EINVAL && !strcmp(bad, refused_too[i]),
		   "-o %s refused", refused_too[i]);
	}
	/* ro is FUSE's as well: only the bare word is ours. */
	take("ro=no", &r, rest, bad);
	ok(r == 0 && !strcmp(rest, "ro=no"), "ro=no: left to FUSE");
}

/* The same words through -o and through a config variable: both accept or
 * both refuse. */
static void test_one_parser(void)
{
	static const char *const values[] = {
		"0", "1", "600000", "600001", "65536", "65537", "86400",
		"86401", "1073741824", "1073741825", "2.5", ".5", "-1", "+1",
		"x", "padme", "none", "message", "mailbox", "1e3", "yes",
		"no", "true", "/var/log/ipmaildir.log", "relative",
	};
	for (int k = 0; k < CFG_NKEYS; k++) {
		const struct opt_spec *o = &opt_table[k];
		if (!o->name)
			continue;
		char var[64], msg[512];
		opt_env_name((enum config_key)k, var, sizeof(var));
		for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
			char list[128], bad[128];
			struct mount_options mo = {0};
			snprintf(list, sizeof(list), "%s=%s", o->name, values[i]);
			int by_o = opt_take(list, &mo, bad, sizeof(bad));
			struct config c;
			setenv(var, values[i], 1);
			int by_cfg = config_load(&c, NULL, NULL, msg, sizeof(msg));
			unsetenv(var);
			if (by_cfg == 0)
				config_free(&c);
			ok((by_o == 0) == (by_cfg == 0),
			   "%s=%s: -o and $%s agree (%s)", o->name, values[i],
			   var, by_o ? "refused" : "accepted");
		}
	}
}

/* Config values fill the fields; -o, taken after, overrides them. */
static void test_from_config(void)
{
	static const char *const env[][2] = {
		{"IPMAILDIR_COMMIT_DELAY", "300"}, {"IPMAILDIR_ATTR_TIMEOUT", "1.5"},
		{"IPMAILDIR_CACHE_MB", "2"},       {"IPMAILDIR_NODE_TIMEOUT", "9"},
		{"IPMAILDIR_LOCAL_CAP_MB", "4"},   {"IPMAILDIR_UPLOAD_WAIT", "5"},
		{"IPMAILDIR_PUBLISH", "6"},        {"IPMAILDIR_PAD", "none"},
		{"IPMAILDIR_CONVERGENCE", "mailbox"},
	};
	size_t n = sizeof(env) / sizeof(env[0]);
	for (size_t i = 0; i < n; i++)
		setenv(env[i][0], env[i][1], 1);
	struct config c;
	char msg[512];
	is_int(config_load(&c, NULL, NULL, msg, sizeof(msg)), 0,
	       "every mount key from the environment");
	for (size_t i = 0; i < n; i++)
		unsetenv(env[i][0]);
	struct mount_options mo = {.commit_delay_ms = 1000};
	opt_from_config(c.value, &mo);
	config_free(&c);
	ok(mo.commit_delay_ms == 300 && mo.attr_timeout == 1.5 &&
		   mo.cache_bytes == 2u << 20 && mo.node_timeout_ms == 9 &&
		   mo.local_cap_bytes == 4ull << 20 && mo.upload_wait_s == 5 &&
		   mo.publish_interval_s == 6 && mo.pad == OBJ_PAD_NONE &&
		   mo.scope == OBJ_SCOPE_MAILBOX && !mo.read_only,
	   "each in its field");
	char list[] = "pad=padme,commit_delay=0", bad[64];
	ok(opt_take(list, &mo, bad, sizeof(bad)) == 0 &&
		   mo.pad == OBJ_PAD_PADME && mo.commit_delay_ms == 0 &&
		   mo.publish_interval_s == 6,
	   "-o overrides what it names, and only that");
}

/* The file name under the top of the tree (tests/run sets IPMD_TOP), read
 * whole; NULL if absent. */
static char *slurp(const char *rel)
{
	const char *top = getenv("IPMD_TOP");
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", top && *top ? top : ".", rel);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	static char buf[1 << 18];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

/* A copy of section sh of page (".Sh SH" to the next ".Sh"), from the
 * newline before its first line; NULL if absent. */
static char *section(const char *page, const char *sh)
{
	char head[64];
	snprintf(head, sizeof(head), "\n.Sh %s\n", sh);
	const char *s = strstr(page, head);
	if (!s)
		return NULL;
	s += strlen(head) - 1;
	const char *end = strstr(s, "\n.Sh ");
	return strndup(s, end ? (size_t)(end - s) : strlen(s));
}

/* Does text have a line "PREFIX WORD" followed by end, blank or ','? */
static int has_item(const char *text, const char *prefix, const char *word)
{
	char want[128];
	int n = snprintf(want, sizeof(want), "\n%s %s", prefix, word);
	for (const char *p = strstr(text, want); p; p = strstr(p + 1, want)) {
		char c = p[n];
		if (c == '\n' || c == ' ' || c == '\0')
			return 1;
	}
	return 0;
}

/* Every "PREFIX WORD" line of text names something known. */
static void no_strays(const char *text, const char *prefix, const char *what,
		      int (*known)(const char *))
{
	char want[64];
	snprintf(want, sizeof(want), "\n%s ", prefix);
	for (const char *p = strstr(text, want); p; p = strstr(p + 1, want)) {
		char word[64];
		if (sscanf(p + strlen(want), "%63[A-Za-z0-9_-]", word) != 1)
			continue;
		ok(known(word), "%s %s in the page is in the table", what, word);
	}
}

static int is_key(const char *w)
{
	for (int k = 0; k < CFG_NKEYS; k++)
		if (!strcmp(w, opt_table[k].key))
			return 1;
	return 0;
}

static int is_key_var(const char *w)
{
	if (strncmp(w, "IPMAILDIR_", 10) || !strcmp(w, CONFIG_ENV_FILE) ||
	    !strcmp(w, CONFIG_ENV_NOSYSTEM))
		return 1; /* not a key's variable: none of our business */
	for (int k = 0; k < CFG_NKEYS; k++) {
		char var[64];
		opt_env_name((enum config_key)k, var, sizeof(var));
		if (!strcmp(w, var))
			return 1;
	}
	return 0;
}

static void test_conf5(void)
{
	char *page = slurp("man/ipmaildir.conf.5");
	if (!ok(page != NULL, "man/ipmaildir.conf.5 read (from the top of "
			      "the tree, or $IPMD_TOP)"))
		return;
	char *keys = section(page, "KEYS");
	ok(keys != NULL, "ipmaildir.conf(5) has KEYS");
	for (int k = 0; keys && k < CFG_NKEYS; k++)
		ok(has_item(keys, ".It Cm", opt_table[k].key),
		   "ipmaildir.conf(5) KEYS documents %s", opt_table[k].key);
	if (keys)
		no_strays(keys, ".It Cm", "key", is_key);
	free(keys);
	char *env = section(page, "ENVIRONMENT");
	ok(env != NULL, "ipmaildir.conf(5) has ENVIRONMENT");
	for (int k = 0; env && k < CFG_NKEYS; k++) {
		char var[64];
		opt_env_name((enum config_key)k, var, sizeof(var));
		ok(has_item(env, ".It Ev", var),
		   "ipmaildir.conf(5) ENVIRONMENT lists %s", var);
	}
	if (env)
		no_strays(env, ".It Ev", "variable", is_key_var);
	free(env);
	free(page);
}

/* ipmaildir(1): every -o option has an item, every key's variable is in
 * its ENVIRONMENT. */
static void test_man1(void)
{
	char *page = slurp("man/ipmaildir.1");
	if (!ok(page != NULL, "man/ipmaildir.1 read"))
		return;
	for (int i = 0; i < OPT_COUNT; i++)
		if (opt_table[i].name)
			ok(has_item(page, ".It Cm", opt_table[i].name),
			   "ipmaildir(1) documents -o %s", opt_table[i].name);
	char *env = section(page, "ENVIRONMENT");
	for (int k = 0; env && k < CFG_NKEYS; k++) {
		char var[64];
		opt_env_name((enum config_key)k, var, sizeof(var));
		ok(strstr(env, var) != NULL,
		   "ipmaildir(1) ENVIRONMENT names %s", var);
	}
	free(env);
	free(page);
}

int main(void)
{
	test_table();
	test_take();
	test_one_parser();
	test_from_config();
	test_conf5();
	test_man1();
	return tap_done();
}
