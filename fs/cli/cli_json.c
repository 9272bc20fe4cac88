/* fs/cli/cli_json.c — the --json objects of fsck, gc, import and export
 * (cli.h): an error said twice, the object printed once. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>

#include "fs/cli/cli.h"

static int json_fail_v(FILE *err, json_t *doc, const char *cmd,
		       const char *fmt, va_list ap)
{
	char why[8192];
	vsnprintf(why, sizeof(why), fmt, ap);
	if (err == stderr)
		cli_error("%s: %s", cmd, why);
	else
		cli_error_to(err, "%s: %s", cmd, why);
	if (doc)
		json_object_set_new(doc, "error", json_string(why));
	return -1;
}

int cli_json_fail(json_t *doc, const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_fail_v(stderr, doc, cmd, fmt, ap);
	va_end(ap);
	return -1;
}

int cli_json_fail_to(FILE *err, json_t *doc, const char *cmd,
		     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_fail_v(err, doc, cmd, fmt, ap);
	va_end(ap);
	return -1;
}

void cli_json_print_to(FILE *out, json_t *doc, int status)
{
	json_object_set_new(doc, "exit", json_integer(status));
	json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(doc);
}

void cli_json_print(json_t *doc, int status)
{
	cli_json_print_to(stdout, doc, status);
}

struct cli_io cli_io_std(void)
{
	return (struct cli_io){.out = stdout, .err = stderr, .bars = true};
}

void cli_error_to(FILE *err, const char *fmt, ...)
{
	if (err == stderr) { /* this process's: cli_error's prefix rules */
		char msg[8192];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		cli_error("%s", msg);
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	fputs("ipmaildir ", err);
	vfprintf(err, fmt, ap);
	fputc('\n', err);
	va_end(ap);
}
