/* fs/main.c — ipmaildir: dispatch to the subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto/keys.h"
#include "crypto/seal.h"
#include "fs/cli.h"

#ifndef IPMD_VERSION
#define IPMD_VERSION "0.1.0"
#endif

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
};

static const struct command commands[] = {
	{"init", cmd_init,
	 "init    [--store DIR] [--passphrase-file F | --no-passphrase]"},
	{"mount", cmd_mount,
	 "mount   [--store DIR] [-f] [-d] [-o OPTS] [--passphrase-file F] "
	 "MOUNTPOINT"},
	{"key", cmd_key,
	 "key     export --read-only | passwd   [--store DIR]"},
	{"object", cmd_object,
	 "object  put FILE | get CAPABILITY   [--store DIR]"},
};

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ipmaildir: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void cli_keys_error(const char *what, int err, int sys_errno)
{
	if (err == KEYS_E_IO && sys_errno)
		cli_error("%s: %s", what, strerror(sys_errno));
	else
		cli_error("%s: %s", what, keys_strerror(err));
}

static void usage(FILE *out)
{
	fprintf(out, "usage: ipmaildir COMMAND [OPTIONS]\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  ipmaildir %s\n", commands[i].usage);
	fprintf(out,
		"\nEvery command takes --store DIR (default "
		"$XDG_DATA_HOME/ipmaildir).\n"
		"Exit status: 0 ok, 1 failure, 2 usage.  "
		"See ipmaildir(1).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("ipmaildir %s\n", IPMD_VERSION);
		return EXIT_OK;
	}
	if (seal_init() != 0) {
		cli_error("libsodium failed to initialise");
		return EXIT_FAILURE_;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	cli_error("unknown command '%s' (try ipmaildir --help)", argv[1]);
	return EXIT_USAGE;
}
