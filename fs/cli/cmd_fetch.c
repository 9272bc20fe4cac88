/*
 * fs/cli/cmd_fetch.c — `ipmaildir fetch CAPABILITY`: get one shared message,
 * verify and decrypt it, and deliver it into a Maildir's new/ the qmail
 * way: O_EXCL create in tmp/ under a unique name, write, fsync, link into
 * new/, unlink tmp/; cur/, new/ and tmp/ are made where missing.  Nothing
 * appears in new/ unless every block was there and verified.  Without --into, the message goes to standard
 * output (and a failure may leave part of it written: trust exit 0 only).
 *
 * Blocks come from the local store (--store, default) or from an IPFS
 * node (--node ADDR, ipfs/bs_kubo.h): a node fetches what it lacks from
 * its peers (bitswap).  Without either option, a node from the config
 * (fs/cli/config.h) is used, else the configured or default store.  Every block is re-hashed and opened with
 * authentication (fs/model/object.h), whoever served it.
 *
 * The capability decrypts the message, and a command line is readable by
 * every local user (ps, /proc/PID/cmdline): --capability-file FILE (or -,
 * standard input) keeps it off the command line.  A file, like the key
 * file, must not be open to group or others.  A capability given as an
 * argument still works, with a warning, as mysql warns of a password.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <sodium.h>

#include "fs/cli/cli.h"
#include "fs/cli/config.h"
#include "fs/model/capability.h"
#include "fs/model/object.h"
#include "fs/store/store.h"
#include "ipfs/bs_kubo.h"
#include "ipfs/bs_local.h"
#include "util/io.h"
#include "util/wipe.h"

#define IO_BYTES (1024 * 1024)
#define UNIQUE_TRIES 16

static void fetch_usage(FILE *out)
{
	fprintf(out,
		"usage: ipmaildir fetch [--store DIR | --node ADDR] "
		"[--into MAILDIR] --capability-file FILE\n"
		"       ipmaildir fetch [--store DIR | --node ADDR] "
		"[--into MAILDIR] CAPABILITY\n"
		"  --capability-file FILE  read the capability from FILE's "
		"first line (- : standard input);\n"
		"                   as an argument, other local users can "
		"read it (ps)\n"
		"  --into MAILDIR   deliver into MAILDIR/new, making cur/ new/ "
		"tmp/ if missing\n"
		"                   (default: standard output)\n"
		"  --node ADDR      get the blocks from this IPFS node "
		"(multiaddr or URL)\n");
}

static int copy_out(struct obj_store *st, const struct obj_ref *ref, int fd)
{
	uint8_t *buf = malloc(IO_BYTES);
	int e = buf ? 0 : -ENOMEM;
	for (uint64_t off = 0; !e && off < ref->size;) {
		size_t got = 0;
		e = obj_read(st, ref, off, buf, IO_BYTES, &got);
		if (!e && got == 0)
			e = -EIO; /* shorter than its recorded size */
		if (!e)
			e = write_all(fd, buf, got);
		off += got;
	}
	wipe_free(buf, IO_BYTES);
	return e;
}

/* qmail's unique name: TIME.MUSECPPID_N.HOST */
static void unique_name(char *out, size_t size, unsigned n)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	char host[HOST_NAME_MAX + 1] = "localhost";
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	/* '/' and ':' can't be in a Maildir name: qmail writes \057, \072 */
	char clean[4 * sizeof(host)];
	size_t j = 0;
	for (size_t i = 0; host[i] && j + 5 < sizeof(clean); i++) {
		if (host[i] == '/' || host[i] == ':')
			j += (size_t)snprintf(clean + j, sizeof(clean) - j,
					      "\\%03o", host[i]);
		else
			clean[j++] = host[i];
	}
	clean[j] = '\0';
	snprintf(out, size, "%lld.M%06ldP%ldQ%u.%.64s", (long long)tv.tv_sec,
		 (long)tv.tv_usec, (long)getpid(), n, clean);
}

/* cur/, new/ and tmp/ in maildir, made (0700) where missing, as
 * maildirmake would: a directory given to --into becomes a Maildir.
 * 0, or -errno with the one at fault in *step. */
static int make_maildir(const char *maildir, const char **step)
{
	static const char *const sub[] = {"cur/", "new/", "tmp/"};
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		char path[PATH_MAX];
		if (snprintf(path, sizeof(path), "%s/%.3s", maildir, sub[i]) >=
		    (int)sizeof(path))
			return -ENAMETOOLONG;
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			*step = sub[i];
			return -errno;
		}
	}
	return 0;
}

static int deliver(struct obj_store *st, const struct obj_ref *ref,
		   const char *maildir, char *name, size_t name_size,
		   const char **step)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	int fd = -1;
	int e = make_maildir(maildir, step);
	if (e)
		return e;
	*step = "tmp/";
	for (unsigned n = 0; fd < 0 && n < UNIQUE_TRIES; n++) {
		unique_name(name, name_size, n);
		if (snprintf(tmp, sizeof(tmp), "%s/tmp/%s", maildir, name) >=
			    (int)sizeof(tmp) ||
		    snprintf(dst, sizeof(dst), "%s/new/%s", maildir, name) >=
			    (int)sizeof(dst))
			return -ENAMETOOLONG;
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		return -EEXIST;
	*step = "fetching the message";
	e = copy_out(st, ref, fd);
	if (!e && fsync(fd) != 0) {
		*step = "fsync";
		e = -errno;
	}
	if (close(fd) != 0 && !e)
		e = -errno;
	if (!e && link(tmp, dst) != 0) {
		*step = "new/";
		e = -errno;
	}
	unlink(tmp); /* on success the name in new/ remains */
	if (!e) {
		/* the new name is durable once new/ is synced */
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/new", maildir);
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			if (fsync(dfd) != 0) {
				*step = "fsync of new/";
				e = -errno;
			}
			close(dfd);
		}
	}
	return e;
}

/* Drop the line end and blanks around the capability. */
static void trim(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' ||
			 s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

static int read_fd_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0 || buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	trim(buf);
	return 0;
}

/* The first line of path ("-": stdin) into buf; prints why not and
 * returns EXIT_FAILURE_.  A file open to group or others is refused. */
static int read_capability_file(const char *path, char *buf, size_t size)
{
	if (!strcmp(path, "-")) {
		int e = read_fd_line(STDIN_FILENO, buf, size);
		if (e)
			cli_error("fetch: standard input: %s", strerror(-e));
		return e ? EXIT_FAILURE_ : EXIT_OK;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		cli_error("fetch: --capability-file %s: %s", path,
			  strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_FAILURE_;
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		cli_error("fetch: --capability-file %s is readable by other "
			  "users (it decrypts the message): chmod 600 it",
			  path);
		return EXIT_FAILURE_;
	}
	int e = read_fd_line(fd, buf, size);
	close(fd);
	if (e)
		cli_error("fetch: --capability-file %s: %s", path,
			  strerror(-e));
	return e ? EXIT_FAILURE_ : EXIT_OK;
}

int cmd_fetch(int argc, char **argv)
{
	static const struct option opts[] = {
		{"store", required_argument, NULL, 's'},
		{"node", required_argument, NULL, 'n'},
		{"into", required_argument, NULL, 'i'},
		{"capability-file", required_argument, NULL, 'c'},
		CLI_OPTIONS_END,
	};
	const char *store = NULL, *node = NULL, *into = NULL, *cap_file = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "s:n:i:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': store = optarg; break;
		case 'n': node = optarg; break;
		case 'i': into = optarg; break;
		case 'c': cap_file = optarg; break;
		default: return cli_help("fetch", fetch_usage, c);
		}
	}
	if (optind + (cap_file ? 0 : 1) != argc || (store && node))
		return cli_usage("fetch", "wants one CAPABILITY (or "
					  "--capability-file), and --store or "
					  "--node, not both");
	char text[CAPABILITY_MAX + 64] = "";
	if (cap_file && read_capability_file(cap_file, text, sizeof(text)))
		return EXIT_FAILURE_;
	if (!cap_file)
		cli_error("fetch: warning: a capability on the command line "
			  "is visible to other local users (ps); use "
			  "--capability-file FILE or -");
	struct obj_ref ref;
	int bad = capability_parse(cap_file ? text : argv[optind], &ref);
	sodium_memzero(text, sizeof(text));
	if (bad) {
		cli_error("fetch: not a capability "
			  "(ipmaildir:CID?size=N&depth=D#KEY)");
		return EXIT_USAGE;
	}
	struct stat sb;
	if (into && (stat(into, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
		cli_error("fetch: %s: not a Maildir (no such directory)", into);
		return EXIT_FAILURE_;
	}
	/* A --store or --node on the command line rules the other out;
	 * without either, a configured node wins over the store, as for
	 * mount (the node has what the outbox sent and what peers have). */
	struct config cfg;
	if (cli_config(&cfg, NULL, NULL, store ? NULL : &node))
		return EXIT_USAGE;
	if (!node && !store)
		store = config_get(&cfg, CFG_STORE);
	struct blockstore *bs = NULL;
	int e;
	const char *from;
	struct store_paths paths;
	if (node) {
		struct kubo_config kc = {.addr = node};
		e = bs_kubo_open(&kc, &bs);
		from = node;
	} else {
		e = store_paths_init(&paths, store);
		if (!e)
			e = bs_local_open(paths.root, &bs);
		from = paths.root;
	}
	if (e) {
		cli_error("fetch: %s: %s", node ? node : "the store",
			  e == -EINVAL ? "not a node address" : strerror(-e));
		config_free(&cfg);
		return node && e == -EINVAL ? EXIT_USAGE : EXIT_FAILURE_;
	}
	struct obj_store st = {.bs = bs,
			       .chunk_size = OBJ_CHUNK_DEFAULT,
			       .fanout = OBJ_FANOUT_DEFAULT};
	char name[NAME_MAX + 1] = "";
	const char *step = "fetching the message";
	e = into ? deliver(&st, &ref, into, name, sizeof(name), &step)
		 : copy_out(&st, &ref, 1);
	char why[256] = "";
	if (e && node)
		bs_kubo_last_error(bs, why, sizeof(why));
	bs_close(bs);
	sodium_memzero(&ref, sizeof(ref));
	config_free(&cfg);
	if (e) {
		/* What a block's errors mean, only while blocks are read: a
		 * missing tmp/ is ENOENT too. */
		bool reading = !strcmp(step, "fetching the message");
		cli_error("fetch: %s: %s%s%s; nothing was delivered", step,
			  reading && e == -EBADMSG
				  ? "a block does not verify (damaged, or "
				    "the capability's key is wrong)"
			  : reading && e == -ENOENT
				  ? "a block of the message is not in the "
				    "store"
			  : reading && e == -ETIMEDOUT
				  ? "the node did not find a block in time"
				  : strerror(-e),
			  why[0] ? ": " : "", why);
		(void)from;
		return EXIT_FAILURE_;
	}
	if (into)
		printf("%s/new/%s\n", into, name);
	return EXIT_OK;
}
