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

#define IO_BYTES (1024 * 1024)

static void object_usage(FILE *out)
{
	fprintf(out, "usage: ipmaildir object put FILE [--store DIR]\n"
		     "       ipmaildir object get CAPABILITY [--store DIR]\n");
}

static int object_put(struct obj_store *st, const char *file)
{
	int fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0) {
		cli_error("object put: %s: %s", file, strerror(errno));
		return EXIT_FAILURE_;
	}
	uint8_t *buf = malloc(IO_BYTES);
	struct obj_writer *w = NULL;
	int r = buf ? obj_writer_new(st, &w) : -ENOMEM;
	while (r == 0) {
		ssize_t n = read(fd, buf, IO_BYTES);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		else if (n == 0)
			break;
		else
			r = obj_writer_write(w, buf, (size_t)n);
	}
	if (fd != 0)
		close(fd);
	if (buf) {
		sodium_memzero(buf, IO_BYTES);
		free(buf);
	}
	struct obj_ref ref;
	if (r == 0) {
		r = obj_writer_finish(w, &ref);
	} else if (w) {
		obj_writer_abort(w);
	}
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
	if (buf) {
		sodium_memzero(buf, IO_BYTES);
		free(buf);
	}
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
	int r = store_paths_init(&paths, store);
	if (r != 0) {
		cli_error("object: cannot name the store: %s", strerror(-r));
		return EXIT_FAILURE_;
	}
	struct mailbox_keys keys = {0};
	int sys_errno = 0;
	if (put) {
		r = store_load_keys(&paths, src, &keys, &sys_errno);
		if (r != 0) {
			cli_load_keys_error(&paths, src, r, sys_errno);
			return EXIT_FAILURE_;
		}
	}
	struct blockstore *bs;
	r = bs_local_open(paths.root, &bs);
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

int cmd_object(int argc, char **argv)
{
	static const struct option opts[] = {
		{"store", required_argument, NULL, 's'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{"passphrase-command", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *store = NULL;
	struct passphrase_source src = {0};
	int c;
	while ((c = getopt_long(argc, argv, "s:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': store = optarg; break;
		case 'p': src.file = optarg; break;
		case 'P': src.command = optarg; break;
		case 'h': object_usage(stdout); return EXIT_OK;
		default: return cli_usage("object", NULL);
		}
	}
	if (optind + 2 != argc ||
	    (strcmp(argv[optind], "put") && strcmp(argv[optind], "get"))) {
		cli_usage("object", "wants put FILE or get CAPABILITY");
		return EXIT_USAGE;
	}
	struct config cfg;
	if (cli_config(&cfg, &store, &src, NULL))
		return EXIT_USAGE;
	int status = object_run(store, &src, cli_scope(&cfg),
				!strcmp(argv[optind], "put"), argv[optind + 1]);
	config_free(&cfg);
	return status;
}
