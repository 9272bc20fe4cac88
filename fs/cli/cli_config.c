/* fs/cli/cli_config.c — the CLI's side of fs/cli/config.h: load, report, apply. */
#include <stdio.h>

#include "fs/cli/cli.h"
#include "fs/cli/config.h"
#include "fs/cli/options.h"
#include "fs/mount/mount.h"
#include "fs/model/object.h"
#include "fs/store/store.h"

/* One passphrase source: the command line's, else the config's file,
 * else its command. */
static int apply_pass(const struct config *cfg,
		      struct passphrase_source *pass)
{
	if (pass->file && pass->command) {
		cli_error("takes --passphrase-file or --passphrase-command, "
			  "not both");
		return EXIT_USAGE;
	}
	if (pass->none || pass->file || pass->command)
		return 0;
	pass->file = config_get(cfg, CFG_PASSPHRASE_FILE);
	if (!pass->file)
		pass->command = config_get(cfg, CFG_PASSPHRASE_COMMAND);
	return 0;
}

int cli_config(struct config *cfg, const char **store,
	       struct passphrase_source *pass, const char **node)
{
	char msg[1024];
	if (config_load_default(cfg, msg, sizeof(msg)) != 0) {
		cli_error("%s", msg);
		return EXIT_USAGE;
	}
	if (store && !*store)
		*store = config_get(cfg, CFG_STORE);
	if (pass && apply_pass(cfg, pass)) {
		config_free(cfg);
		return EXIT_USAGE;
	}
	if (node && !*node)
		*node = config_get(cfg, CFG_NODE);
	return 0;
}

enum obj_scope cli_scope(const struct config *cfg)
{
	/* The mount's way (opt_from_config), for import and object put. */
	struct mount_options mo = {.scope = OBJ_SCOPE_MESSAGE};
	opt_from_config(cfg->value, &mo);
	return mo.scope;
}

int cli_opt_value(const char *cmd, int key, const char *arg,
		  struct opt_value *v)
{
	char why[128];
	if (opt_parse(&opt_table[key], arg, v, why, sizeof(why)) == 0)
		return 0;
	cli_error("%s: --%s %s, not '%s'", cmd, opt_table[key].key, why, arg);
	return EXIT_USAGE;
}
