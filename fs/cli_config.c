/* fs/cli_config.c — the CLI's side of fs/config.h: load, report, apply. */
#include <stdio.h>

#include "fs/cli.h"
#include "fs/config.h"
#include "fs/object.h"

int cli_config(struct config *cfg, const char **store,
	       const char **passphrase_file, const char **node)
{
	char msg[1024];
	if (config_load_default(cfg, msg, sizeof(msg)) != 0) {
		cli_error("%s", msg);
		return EXIT_USAGE;
	}
	if (store && !*store)
		*store = config_get(cfg, CFG_STORE);
	if (passphrase_file && !*passphrase_file)
		*passphrase_file = config_get(cfg, CFG_PASSPHRASE_FILE);
	if (node && !*node)
		*node = config_get(cfg, CFG_NODE);
	return 0;
}

enum obj_scope cli_scope(const struct config *cfg)
{
	enum obj_scope scope = OBJ_SCOPE_MESSAGE;
	const char *v = config_get(cfg, CFG_CONVERGENCE);
	if (v) /* checked when loaded */
		obj_scope_parse(v, &scope);
	return scope;
}
