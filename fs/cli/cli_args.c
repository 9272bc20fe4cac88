/* fs/cli/cli_args.c — small answers to a command line (fs/cli/cli.h): the
 * usage, a count. */
#include <errno.h>
#include <stdlib.h>

#include "fs/cli/cli.h"

int cli_usage(void (*usage)(FILE *out), bool help)
{
	usage(help ? stdout : stderr);
	return help ? EXIT_OK : EXIT_USAGE;
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
