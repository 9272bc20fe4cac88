/* tests/unit/test_config.c — config files and environment (fs/cli/config.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/cli/config.h"
#include "fs/cli/options.h"
#include "tests/tap.h"

static char sys_path[512], user_path[512];

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

static void clear_env(void)
{
	for (int k = 0; k < CFG_NKEYS; k++) {
		char var[64];
		opt_env_name((enum config_key)k, var, sizeof(var));
		unsetenv(var);
	}
}

static void test_precedence(void)
{
	struct config c;
	char msg[512] = "";
	put(sys_path, "# system\nstore = /srv/sys\nnode = /ip4/127.0.0.1/tcp/5001\n"
		      "commit-delay = 500\ncache-mb=32\n");
	put(user_path, "\n  # user, with blanks\n\tstore=/home/u/store  \n"
		       "passphrase-file = \"/home/u/pass # not a comment\"\n"
		       "attr-timeout = 2.5\n");
	is_int(config_load(&c, sys_path, user_path, msg, sizeof(msg)), 0,
	       "both files load");
	is_str(config_get(&c, CFG_STORE), "/home/u/store",
	       "user file overrides system file");
	is_str(config_get(&c, CFG_NODE), "/ip4/127.0.0.1/tcp/5001",
	       "system value kept where the user file is silent");
	is_str(config_get(&c, CFG_PASSPHRASE_FILE), "/home/u/pass # not a comment",
	       "quoted value taken as is, '#' inside kept");
	unsigned long v = 0;
	double d = 0;
	ok(config_get_uint(&c, CFG_COMMIT_DELAY, &v) == 0 && v == 500,
	   "commit-delay as a number");
	ok(config_get_double(&c, CFG_ATTR_TIMEOUT, &d) == 0 && d == 2.5,
	   "attr-timeout with a fraction");
	char origin[600];
	snprintf(origin, sizeof(origin), "%s:3", user_path);
	is_str(c.origin[CFG_STORE], origin, "origin names file:line");
	config_free(&c);

	setenv("IPMAILDIR_STORE", "/env/store", 1);
	setenv("IPMAILDIR_CACHE_MB", "7", 1);
	is_int(config_load(&c, sys_path, user_path, msg, sizeof(msg)), 0,
	       "with environment");
	is_str(config_get(&c, CFG_STORE), "/env/store",
	       "environment overrides both files");
	ok(config_get_uint(&c, CFG_CACHE_MB, &v) == 0 && v == 7,
	   "IPMAILDIR_CACHE_MB");
	is_str(c.origin[CFG_STORE], "$IPMAILDIR_STORE", "origin names the variable");
	config_free(&c);
	clear_env();

	is_int(config_load(&c, "/nonexistent/a", "/nonexistent/b", msg,
			   sizeof(msg)), 0, "missing files are no error");
	ok(config_get(&c, CFG_STORE) == NULL, "…and set nothing");
	ok(config_get_uint(&c, CFG_CACHE_MB, &v) == -ENOENT, "unset: -ENOENT");
	config_free(&c);

	put(user_path, "convergence = mailbox\n");
	is_int(config_load(&c, NULL, user_path, msg, sizeof(msg)), 0,
	       "convergence = mailbox");
	is_str(config_get(&c, CFG_CONVERGENCE), "mailbox", "…is kept");
	config_free(&c);

	setenv("HOME", "/home/tilde", 1);
	put(user_path, "store = ~/mail\n");
	is_int(config_load(&c, NULL, user_path, msg, sizeof(msg)), 0, "~/ path");
	is_str(config_get(&c, CFG_STORE), "/home/tilde/mail", "~/ is $HOME");
	config_free(&c);
}

/* Each bad file: an error naming file:line, and nothing loaded. */
static void test_errors(void)
{
	static const struct {
		const char *text, *line, *why;
	} bad[] = {
		{"store = /a\nbogus = 1\n", ":2:", "unknown key 'bogus'"},
		{"# c\n\nstore /a\n", ":3:", "expected 'key = value'"},
		{"store = relative/path\n", ":1:", "absolute path"},
		{"commit-delay = 600001\n", ":1:", "0 to 600000"},
		{"commit-delay = -1\n", ":1:", "milliseconds"},
		{"commit-delay = 12ms\n", ":1:", "milliseconds"},
		{"cache-mb = 0\n", ":1:", "1 to 65536"},
		{"attr-timeout = soon\n", ":1:", "seconds"},
		{"convergence = folder\n", ":1:", "message or mailbox"},
		{"store =\n", ":1:", "empty value"},
		{"store = \"/a\n", ":1:", "unbalanced"},
		{"repair = yes\n", ":1:", "'repair' is an option of one "
					 "command line (--repair), not a "
					 "setting"},
		{"json = yes\n", ":1:", "not a setting"},
		{"keep-within = soon\n", ":1:", "a duration such as 30m"},
		{"keep-within = 7y\n", ":1:", "a duration such as 30m"},
		{"keep-last = 0\n", ":1:", "commits, 1 to"},
		{"threads = 65\n", ":1:", "threads, 1 to 64"},
		{"deep = maybe\n", ":1:", "yes or no"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config c;
		char msg[512] = "";
		put(user_path, bad[i].text);
		int r = config_load(&c, NULL, user_path, msg, sizeof(msg));
		char want[600];
		snprintf(want, sizeof(want), "%s%s", user_path, bad[i].line);
		ok(r == -1 && strstr(msg, want) && strstr(msg, bad[i].why),
		   "bad file %zu: '%s' (%s)", i, msg, bad[i].why);
		ok(config_get(&c, CFG_STORE) == NULL, "…nothing used");
	}
	struct config c;
	char msg[512] = "";
	setenv("IPMAILDIR_COMMIT_DELAY", "soon", 1);
	ok(config_load(&c, NULL, NULL, msg, sizeof(msg)) == -1 &&
		   strstr(msg, "$IPMAILDIR_COMMIT_DELAY"),
	   "a bad environment value names the variable: %s", msg);
	unsetenv("IPMAILDIR_COMMIT_DELAY");
	char big[CONFIG_LINE_MAX + 100];
	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	put(user_path, big);
	ok(config_load(&c, NULL, user_path, msg, sizeof(msg)) == -1 &&
		   strstr(msg, "too long"),
	   "an over-long line is refused");
}

/* The other commands' settings, and the file IPMAILDIR_CONFIG names. */
static void test_settings(void)
{
	struct config c;
	char msg[512] = "";
	unsigned long v;
	put(user_path, "threads = 3\nquiet = yes\nkeep-last = 5\n"
		       "keep-within = 2w\ndeep = true\nverbose = 0\n");
	is_int(config_load(&c, NULL, user_path, msg, sizeof(msg)), 0,
	       "every setting loads: %s", msg);
	ok(config_get_uint(&c, CFG_THREADS, &v) == 0 && v == 3, "threads 3");
	ok(config_flag(&c, CFG_QUIET), "quiet yes");
	ok(config_get_uint(&c, CFG_KEEP_LAST, &v) == 0 && v == 5,
	   "keep-last 5");
	ok(config_get_duration(&c, CFG_KEEP_WITHIN, &v) == 0 &&
		   v == 14 * 86400,
	   "keep-within 2w in seconds");
	ok(config_flag(&c, CFG_DEEP), "deep true");
	ok(!config_flag(&c, CFG_VERBOSE), "verbose 0");
	ok(!config_flag(&c, CFG_NONEMPTY), "an unset flag: no");
	ok(config_get_uint(&c, CFG_KEEP_WITHIN, &v) == -EINVAL,
	   "a duration is no uint");
	config_free(&c);

	/* A named file that is not there: an error, not empty defaults. */
	char gone[600];
	snprintf(gone, sizeof(gone), "%s/not-there", tap_tempdir());
	setenv(CONFIG_ENV_FILE, gone, 1);
	setenv(CONFIG_ENV_NOSYSTEM, "1", 1);
	ok(config_load_default(&c, msg, sizeof(msg)) == -1 &&
		   strstr(msg, gone) && strstr(msg, "$IPMAILDIR_CONFIG"),
	   "a missing $IPMAILDIR_CONFIG is an error: %s", msg);
	put(gone, "threads = 2\n");
	ok(config_load_default(&c, msg, sizeof(msg)) == 0 &&
		   config_get_uint(&c, CFG_THREADS, &v) == 0 && v == 2,
	   "…and read once it exists");
	config_free(&c);
	unsetenv(CONFIG_ENV_FILE);
	unsetenv(CONFIG_ENV_NOSYSTEM);
}

int main(void)
{
	clear_env();
	snprintf(sys_path, sizeof(sys_path), "%s/system", tap_tempdir());
	snprintf(user_path, sizeof(user_path), "%s/user", tap_tempdir());
	test_precedence();
	test_errors();
	test_settings();
	return tap_done();
}
