/* fs/cli/cli_json.c — the --json objects of fsck, gc, import and export
 * (cli.h): an error said twice, the object printed once. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>

#include "fs/cli/cli.h"

int cli_json_fail(json_t *doc, const char *cmd, const char *fmt, ...)
{
	char why[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	cli_error("%s: %s", cmd, why);
	if (doc)
		json_object_set_new(doc, "error", json_string(why));
	return -1;
}

void cli_json_print(json_t *doc, int status)
{
	json_object_set_new(doc, "exit", json_integer(status));
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(doc);
}
