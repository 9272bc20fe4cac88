/* fs/cli/cli_args.c — small answers to a command line (fs/cli/cli.h): a
 * usage error, --help, a count. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "fs/cli/cli.h"

int cli_usage(const char *cmd, const char *why)
{
	if (why)
		cli_error("%s: %s", cmd, why);
	fprintf(stderr, "Try 'ipmaildir %s --help'.\n", cmd);
	return EXIT_USAGE;
}

int cli_help(const char *cmd, void (*usage)(FILE *out), int c)
{
	if (c != 'h')
		return cli_usage(cmd, NULL);
	usage(stdout);
	return EXIT_OK;
}

int cli_count(const char *s, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || !*s || v == 0 || *s == '-')
		return -1;
	*out = v;
	return 0;
}
