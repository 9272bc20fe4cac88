/*
 * fs/cli/cmd_object.c — `ipmaildir object`: store one file as a sealed object,
 * or read one back by its capability.  Plumbing for scripts and tests: the
 * mount never needs it, but it shows the lower half working on its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/keys.h"
#include "fs/cli/cli.h"
#include "fs/cli/config.h"
#include "fs/model/capability.h"
#include "fs/model/object.h"
#include "fs/store/store.h"
#include "ipfs/bs_local.h"
#include "util/io.h"
#include "util/wipe.h"

#define IO_BYTES (1024 * 1024)

static void object_usage(FILE *out)
{
	fprintf(out,
		"usage: ipmaildir object put [--store DIR] [--passphrase-file F"
		" | --passphrase-command CMD] FILE\n"
		"       ipmaildir object get [--store DIR] CAPABILITY\n"
		"  FILE - is standard input; put prints the capability\n"
		"  --passphrase-file F   the passphrase is F's first line "
		"(- : standard input)\n"
		"  --passphrase-command CMD  or the first line /bin/sh -c CMD "
		"prints\n"
		"  the object is no commit's: the next gc frees it\n");
}

static int object_put(struct obj_store *st, const char *file)
{
	int fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0) {
		cli_error("object put: %s: %s", file, strerror(errno));
		return EXIT_FAILURE_;
	}
	uint8_t *buf = malloc(IO_BYTES);
	struct obj_ref ref;
	int r = buf ? obj_write_fd(st, fd, buf, IO_BYTES, &ref) : -ENOMEM;
	if (fd != 0)
		close(fd);
	wipe_free(buf, IO_BYTES);
	if (r == 0)
		r = bs_sync(st->bs);
	if (r != 0) {
		cli_error("object put: %s: %s", file, strerror(-r));
		return EXIT_FAILURE_;
	}
	char cap[CAPABILITY_MAX];
	if (capability_format(&ref, cap, sizeof(cap)) != 0) {
		cli_error("object put: cannot format the capability");
		return EXIT_FAILURE_;
	}
	printf("%s\n", cap);
	sodium_memzero(cap, sizeof(cap));
	return EXIT_OK;
}

static int object_get(struct obj_store *st, const char *text)
{
	struct obj_ref ref;
	if (capability_parse(text, &ref) != 0) {
		cli_error("object get: not a capability "
			  "(ipmaildir:CID?size=N&depth=D#KEY)");
		return EXIT_USAGE;
	}
	uint8_t *buf = malloc(IO_BYTES);
	int r = buf ? 0 : -ENOMEM;
	for (uint64_t off = 0; r == 0 && off < ref.size;) {
		size_t got;
		r = obj_read(st, &ref, off, buf, IO_BYTES, &got);
		if (r == 0 && got == 0)
			r = -EIO; /* shorter than its recorded size */
		if (r == 0)
			r = write_all(1, buf, got);
		off += got;
	}
	wipe_free(buf, IO_BYTES);
	sodium_memzero(&ref, sizeof(ref));
	if (r != 0) {
		cli_error("object get: %s",
			  r == -EBADMSG ? "a block is damaged or was "
					  "tampered with (it does not verify)"
			  : r == -ENOENT ? "a block of this object is missing "
					   "from the store"
					 : strerror(-r));
		return EXIT_FAILURE_;
	}
	return EXIT_OK;
}

static int object_run(const char *store, const struct passphrase_source *src,
		      enum obj_scope scope, int put, const char *arg)
{
	struct store_paths paths;
	if (cli_store_paths("object", store, &paths, NULL))
		return EXIT_FAILURE_;
	struct mailbox_keys keys = {0};
	if (put && cli_load_keys(&paths, src, &keys))
		return EXIT_FAILURE_;
	struct blockstore *bs;
	int r = bs_local_open(paths.root, &bs);
	if (r != 0) {
		keys_free(&keys);
		cli_error("object: block store in %s: %s", paths.root,
			  strerror(-r));
		return EXIT_FAILURE_;
	}
	struct obj_store st = {
		.bs = bs,
		.convergence = put ? keys.convergence : NULL,
		.chunk_size = OBJ_CHUNK_DEFAULT,
		.fanout = OBJ_FANOUT_DEFAULT,
		.pad = OBJ_PAD_PADME,
		.scope = scope,
	};
	int status = put ? object_put(&st, arg) : object_get(&st, arg);
	bs_close(bs);
	keys_free(&keys);
	return status;
}

/* The usage error of a command line without a verb and its operand. */
#define OBJECT_WANTS "wants put FILE or get CAPABILITY"

int cmd_object(int argc, char **argv)
{
	const char *store = NULL;
	struct passphrase_source src = {0};
	int r = cli_store_args("object", argc, argv, 2, OBJECT_WANTS,
			       object_usage, &store, &src);
	if (r >= 0)
		return r;
	if (strcmp(argv[optind], "put") && strcmp(argv[optind], "get"))
		return cli_usage("object", OBJECT_WANTS);
	cli_verb(argv[optind]);
	struct config cfg;
	if (cli_config(&cfg, &store, &src, NULL))
		return EXIT_USAGE;
	int status = object_run(store, &src, cli_scope(&cfg),
				!strcmp(argv[optind], "put"), argv[optind + 1]);
	config_free(&cfg);
	return status;
}
