/*
 * bench/seal_store.c — what sealing and storing a file costs, against the
 * raw AEAD that no implementation of the format can beat.
 *
 * One process, one buffer of pseudo-random bytes, every workload over the
 * same bytes in each round (rounds interleave the workloads, so a slow
 * moment of the machine hits all of them alike); the median of the rounds
 * is reported.  Absolute MB/s depend on the machine and its load: only the
 * ratios within one run mean anything (bench/README.md).
 *
 * Usage: seal_store [--quick] [--bytes N[K|M|G]] [--rounds N] [--dir DIR]
 *                   [--threads N]
 * Exit: 0 ok, 1 a round failed, 2 usage.  The acceptance ratio is printed,
 * not enforced.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "crypto/seal.h"
#include "fs/model/object.h"
#include "ipfs/bs_local.h"
#include "ipfs/cid.h"
#include "util/clock.h"
#include "util/io.h"

#define MIB (1024ull * 1024)
#define BYTES_FULL (512 * MIB)
#define BYTES_QUICK (64 * MIB)
/* Two buffers of this size live at once (data and read-back). */
#define BYTES_MAX (16 * 1024 * MIB)
#define ROUNDS_DEFAULT 5
#define ROUNDS_MAX 100
/* Every workload consumes the data in pieces of one default chunk. */
#define PIECE ((size_t)OBJ_CHUNK_DEFAULT)
#define MB 1e6
/* The acceptance check of the issue: seal+store ≥ half the raw AEAD. */
#define ACCEPT_RATIO 0.5
#define NFTW_FDS 16
/*
 * Every round seals into the same store (under a new convergence secret, so
 * no block is ever there already), like a mailbox that keeps receiving
 * files, until it would hold more than this; then it is removed and a new
 * one starts.  Removing it after every round instead would slow the next
 * round down as no real store is: ext4 without a journal (this VM's) passes
 * over every inode freed in the last 30 s (dirty_expire) at each file it
 * creates, ~1 ms a block after a 64 MiB round.
 */
#define KEEP_MAX (4096 * MIB)
#define TEMP_TEMPLATE "ipmd-bench-XXXXXX"

static const uint8_t data_seed[randombytes_SEEDBYTES] =
	"ipmaildir bench seal_store v1";

enum workload {
	W_AEAD,
	W_BLAKE2B,
	W_BLOCK_KEY,
	W_SHA256,
	W_CID,
	W_SEAL,
	W_STORE,
	W_READ,
	W_PLAIN,
	W_COUNT
};

static const char *const workload_name[W_COUNT] = {
	[W_AEAD] = "raw AEAD (xchacha20poly1305 encrypt)",
	[W_BLAKE2B] = "BLAKE2b-256 keyed only, libsodium",
	[W_BLOCK_KEY] = "block_key (BLAKE2b-256 keyed, OpenSSL)",
	[W_SHA256] = "sha256 only, libsodium",
	[W_CID] = "sha256 as the CID (cid_of_raw_block)",
	[W_SEAL] = "seal_convergent, in memory",
	[W_STORE] = "seal+store (obj_writer + bs_sync) [*]",
	[W_READ] = "open+read (obj_read, no chunk cache)",
	[W_PLAIN] = "plain write + fsync",
};

static const char *const workload_short[W_COUNT] = {
	[W_AEAD] = "aead",	   [W_BLAKE2B] = "blake2b",
	[W_BLOCK_KEY] = "blockkey", [W_SHA256] = "sha256",
	[W_CID] = "cid",	   [W_SEAL] = "seal",
	[W_STORE] = "store",	   [W_READ] = "read",
	[W_PLAIN] = "plain",
};

struct opts {
	size_t bytes;
	unsigned rounds;
	const char *dir;
	unsigned threads; /* obj_store.seal_threads of seal+store */
};

struct bench {
	const struct opts *o;
	uint8_t *data;    /* o->bytes of input */
	uint8_t *back;    /* o->bytes, what open+read returns */
	uint8_t *scratch; /* one sealed piece */
	uint8_t convergence[IPMD_KEY_BYTES];
	char tmp[PATH_MAX];   /* the temp dir, all files of the run below it */
	char store[PATH_MAX]; /* tmp/store, kept from round to round */
	uint64_t stored;      /* bytes sealed into it so far */
	char plain[PATH_MAX]; /* tmp/plain */
	const char *failed;   /* which step failed, for the message */
	double secs[W_COUNT][ROUNDS_MAX];
	double sync_secs[ROUNDS_MAX]; /* the final bs_sync part of W_STORE */
};

static size_t piece_len(const struct bench *b, size_t off)
{
	return b->o->bytes - off < PIECE ? b->o->bytes - off : PIECE;
}

static int fail(struct bench *b, const char *what, int r)
{
	b->failed = what;
	return r;
}

/* ---- in-memory workloads: where the time of seal+store goes ---- */

/* What the in-memory workloads keep between pieces. */
struct piece_state {
	uint8_t key[IPMD_KEY_BYTES]; /* AEAD key in, or seal's key out */
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	uint8_t out[IPMD_KEY_BYTES]; /* a hash, thrown away */
};

/* One workload's work on one piece p[0 .. n): 0, or the error that ends
 * the round. */
typedef int (*piece_fn)(struct bench *b, const uint8_t *p, size_t n,
			struct piece_state *s);

static int aead_piece(struct bench *b, const uint8_t *p, size_t n,
		      struct piece_state *s)
{
	unsigned long long clen;
	sodium_increment(s->nonce, sizeof(s->nonce));
	crypto_aead_xchacha20poly1305_ietf_encrypt(b->scratch, &clen, p, n,
						   NULL, 0, NULL, s->nonce,
						   s->key);
	return 0;
}

static int blake2b_piece(struct bench *b, const uint8_t *p, size_t n,
			 struct piece_state *s)
{
	crypto_generichash(s->out, sizeof(s->out), p, n, b->convergence,
			   sizeof(b->convergence));
	return 0;
}

/* The convergent key as seal_convergent computes it (crypto/seal.c). */
static int block_key_piece(struct bench *b, const uint8_t *p, size_t n,
			   struct piece_state *s)
{
	block_key(s->out, b->convergence, BLOCK_CHUNK, p, n);
	return 0;
}

static int sha256_piece(struct bench *b, const uint8_t *p, size_t n,
			struct piece_state *s)
{
	(void)b;
	_Static_assert(sizeof(s->out) >= SHA256_BYTES, "room for a sha256");
	crypto_hash_sha256(s->out, p, n);
	return 0;
}

/* What every put and every verified get hashes with (OpenSSL). */
static int cid_piece(struct bench *b, const uint8_t *p, size_t n,
		     struct piece_state *s)
{
	struct cid c;
	(void)b;
	(void)s;
	cid_of_raw_block(&c, p, n);
	return 0;
}

static int seal_piece(struct bench *b, const uint8_t *p, size_t n,
		      struct piece_state *s)
{
	int r = seal_convergent(b->scratch, s->key, p, n, BLOCK_CHUNK,
				b->convergence);
	return r ? fail(b, "seal_convergent", r) : 0;
}

/* The in-memory workloads, in the order a round runs them. */
static const struct {
	enum workload w;
	piece_fn fn;
} in_memory[] = {
	{W_AEAD, aead_piece},	       {W_BLAKE2B, blake2b_piece},
	{W_BLOCK_KEY, block_key_piece}, {W_SHA256, sha256_piece},
	{W_CID, cid_piece},	       {W_SEAL, seal_piece},
};

/* fn over the data, piece by piece: its time in *secs. */
static int time_pieces(struct bench *b, piece_fn fn, double *secs)
{
	struct piece_state s = {0};
	int r = 0;

	crypto_aead_xchacha20poly1305_ietf_keygen(s.key);
	double t0 = now_s();
	for (size_t off = 0; r == 0 && off < b->o->bytes; off += PIECE)
		r = fn(b, b->data + off, piece_len(b, off), &s);
	*secs = now_s() - t0;
	sodium_memzero(&s, sizeof(s));
	return r;
}

/* ---- on disk ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path); /* -1 stops the walk, errno kept */
}

/* Remove path and everything below it; absent is fine. */
static int remove_tree(const char *path)
{
	if (access(path, F_OK) < 0)
		return errno == ENOENT ? 0 : -errno;
	errno = 0;
	if (nftw(path, rm_entry, NFTW_FDS, FTW_DEPTH | FTW_PHYS) != 0)
		return errno ? -errno : -EIO;
	return 0;
}

static int write_object(struct bench *b, struct obj_store *st,
			struct obj_ref *ref)
{
	struct obj_writer *w;
	int r = obj_writer_new(st, &w);
	if (r != 0)
		return fail(b, "obj_writer_new", r);
	for (size_t off = 0; r == 0 && off < b->o->bytes; off += PIECE)
		r = obj_writer_write(w, b->data + off, piece_len(b, off));
	if (r != 0) {
		obj_writer_abort(w);
		return fail(b, "obj_writer_write", r);
	}
	r = obj_writer_finish(w, ref);
	return r ? fail(b, "obj_writer_finish", r) : 0;
}

/* Seal+store the data into the store, then read it all back. */
static int run_store_read(struct bench *b, double *store_secs,
			  double *sync_secs, double *read_secs)
{
	struct blockstore *bs = NULL;
	struct obj_ref ref;
	size_t got = 0;
	int r;

	memset(&ref, 0, sizeof(ref));
	if (b->stored > 0 && b->stored + b->o->bytes > KEEP_MAX) {
		if ((r = remove_tree(b->store)) != 0)
			return fail(b, "removing the full store", r);
		b->stored = 0;
	}
	r = bs_local_open(b->store, &bs);
	if (r != 0)
		return fail(b, "bs_local_open", r);
	struct obj_store st = {.bs = bs,
			       .convergence = b->convergence,
			       .chunk_size = OBJ_CHUNK_DEFAULT,
			       .fanout = OBJ_FANOUT_DEFAULT,
			       .put_flags = 0,
			       .cache = NULL,
			       .seal_threads = b->o->threads};

	double t0 = now_s();
	r = write_object(b, &st, &ref);
	double t1 = now_s();
	if (r == 0 && (r = bs_sync(bs)) != 0)
		fail(b, "bs_sync", r);
	double t2 = now_s();
	*store_secs = t2 - t0;
	*sync_secs = t2 - t1;
	b->stored += b->o->bytes;

	if (r == 0) {
		/* Stale bytes from the last round would hide a short read. */
		memset(b->back, 0, b->o->bytes);
		t0 = now_s();
		r = obj_read(&st, &ref, 0, b->back, b->o->bytes, &got);
		*read_secs = now_s() - t0;
		if (r != 0)
			fail(b, "obj_read", r);
		else if (got != b->o->bytes ||
			 memcmp(b->back, b->data, b->o->bytes) != 0)
			r = fail(b, "obj_read returned other bytes", -EBADMSG);
	}
	sodium_memzero(ref.key, sizeof(ref.key));
	bs_close(bs);
	return r; /* the store stays: see KEEP_MAX */
}

static int run_plain(struct bench *b, double *secs)
{
	int r = 0;
	int fd = open(b->plain, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(b, "open plain file", -errno);
	double t0 = now_s();
	for (size_t off = 0; r == 0 && off < b->o->bytes; off += PIECE)
		r = write_all(fd, b->data + off, piece_len(b, off));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	*secs = now_s() - t0;
	if (r != 0)
		fail(b, "plain write", r);
	if (unlink(b->plain) < 0 && r == 0)
		r = fail(b, "unlink plain file", -errno);
	return r;
}

static int run_round(struct bench *b, unsigned i)
{
	/* Each round's blocks are new to the store (KEEP_MAX). */
	randombytes_buf(b->convergence, sizeof(b->convergence));
	int r = 0;
	for (size_t k = 0; r == 0 && k < sizeof(in_memory) / sizeof(*in_memory);
	     k++)
		r = time_pieces(b, in_memory[k].fn,
				&b->secs[in_memory[k].w][i]);
	if (r == 0)
		r = run_store_read(b, &b->secs[W_STORE][i],
				   &b->sync_secs[i], &b->secs[W_READ][i]);
	if (r == 0)
		r = run_plain(b, &b->secs[W_PLAIN][i]);
	return r;
}

/* ---- report ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct figure {
	double median, min, max;
};

/* Sorts v[0..n), n ≥ 1. */
static struct figure figure_sorted(double *v, unsigned n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	return (struct figure){
		.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2,
		.min = v[0],
		.max = v[n - 1]};
}

static double mb_per_s(const struct bench *b, double secs)
{
	return secs > 0 ? (double)b->o->bytes / MB / secs : 0;
}

/* MB/s of workload w over the rounds. */
static struct figure figure_of(const struct bench *b, enum workload w)
{
	double v[ROUNDS_MAX];
	for (unsigned i = 0; i < b->o->rounds; i++)
		v[i] = mb_per_s(b, b->secs[w][i]);
	return figure_sorted(v, b->o->rounds);
}

/* Percent of seal+store time spent in bs_sync, over the rounds. */
static struct figure sync_share(const struct bench *b)
{
	double v[ROUNDS_MAX];
	for (unsigned i = 0; i < b->o->rounds; i++)
		v[i] = b->secs[W_STORE][i] > 0
			       ? 100 * b->sync_secs[i] / b->secs[W_STORE][i]
			       : 0;
	return figure_sorted(v, b->o->rounds);
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static const char *fs_name(const char *dir)
{
	struct statfs sf;
	if (statfs(dir, &sf) < 0)
		return "?";
	switch ((unsigned long)sf.f_type) {
	case EXT4_SUPER_MAGIC:
		return "ext2/3/4";
	case XFS_SUPER_MAGIC:
		return "xfs";
	case BTRFS_SUPER_MAGIC:
		return "btrfs";
	case TMPFS_MAGIC:
		return "tmpfs (fsync is free: disk figures are not disk)";
	case OVERLAYFS_SUPER_MAGIC:
		return "overlayfs";
	default:
		return "other";
	}
}

static void print_header(const struct bench *b)
{
	printf("seal_store: %zu bytes (%.1f MiB) of pseudo-random data, "
	       "%zu KiB pieces, %u rounds\n",
	       b->o->bytes, (double)b->o->bytes / MIB, PIECE / 1024,
	       b->o->rounds);
	printf("libsodium %s, avx2 %s; temp dir %s on %s\n",
	       sodium_version_string(),
	       sodium_runtime_has_avx2() ? "yes" : "no", b->tmp,
	       fs_name(b->tmp));
	printf("reads are warm: the page cache is not dropped, open+read "
	       "fetches blocks just written (chunk cache off)\n");
	printf("[*] seal+store seals with %u thread%s "
	       "(obj_store.seal_threads = %u, --threads); every other row, "
	       "raw AEAD included, runs on one thread\n",
	       b->o->threads ? b->o->threads : 1,
	       b->o->threads == 1 ? "" : "s", b->o->threads);
	printf("every round seals into the same store under a new secret "
	       "(all its blocks new); a new store past %llu MiB\n",
	       KEEP_MAX / MIB);
	printf("MB = 10^6 bytes; figures are only comparable within this "
	       "run\n\n");
}

static void print_round(const struct bench *b, unsigned i)
{
	if (i == 0) {
		printf("%-12s", "MB/s");
		for (int w = 0; w < W_COUNT; w++)
			printf(" %8s", workload_short[w]);
		printf(" %8s\n", "sync%");
	}
	printf("round %2u/%-2u", i + 1, b->o->rounds);
	for (int w = 0; w < W_COUNT; w++)
		printf(" %8.1f", mb_per_s(b, b->secs[w][i]));
	double store = b->secs[W_STORE][i];
	printf(" %7.0f%%\n", store > 0 ? 100 * b->sync_secs[i] / store : 0);
	fflush(stdout);
}

static void print_table(const struct bench *b)
{
	struct figure f[W_COUNT];

	printf("\n%-40s %10s %10s %10s\n", "workload (median of rounds)",
	       "MB/s", "min", "max");
	for (int w = 0; w < W_COUNT; w++) {
		f[w] = figure_of(b, (enum workload)w);
		printf("%-40s %10.1f %10.1f %10.1f\n", workload_name[w],
		       f[w].median, f[w].min, f[w].max);
		if (w == W_STORE) {
			struct figure sy = sync_share(b);
			printf("%-40s %9.0f%% %9.0f%% %9.0f%%\n",
			       "  of which in the final bs_sync (time)",
			       sy.median, sy.min, sy.max);
		}
	}
	/*
	 * One thread hashes and encrypts every byte three times (BLAKE2b for
	 * the key, the AEAD, sha256 for the CID): seal+store on one thread
	 * can't beat that, nor on N threads N times it (if N CPUs are free).
	 */
	double bound = f[W_SEAL].median > 0 && f[W_CID].median > 0
			       ? 1 / (1 / f[W_SEAL].median +
				      1 / f[W_CID].median)
			       : 0;
	double store_aead = ratio(f[W_STORE].median, f[W_AEAD].median);
	printf("\nratios of medians\n");
	printf("  %-46s %6.2f\n", "seal+store / raw AEAD", store_aead);
	printf("  %-46s %6.2f\n", "open+read / raw AEAD",
	       ratio(f[W_READ].median, f[W_AEAD].median));
	printf("  %-46s %6.2f\n", "seal+store / plain write",
	       ratio(f[W_STORE].median, f[W_PLAIN].median));
	printf("  %-46s %6.2f\n", "seal_convergent / raw AEAD",
	       ratio(f[W_SEAL].median, f[W_AEAD].median));
	printf("  %-46s %6.2f  (%.1f MB/s)\n",
	       "CPU bound (seal_convergent+sha256) / raw AEAD",
	       ratio(bound, f[W_AEAD].median), bound);
	unsigned n = b->o->threads ? b->o->threads : 1;
	if (n > 1) {
		char label[64];
		snprintf(label, sizeof(label),
			 "the same x %u threads (if %u CPUs are free)", n, n);
		printf("  %-46s %6.2f  (%.1f MB/s)\n", label,
		       ratio(n * bound, f[W_AEAD].median), n * bound);
	}
	printf("\nacceptance: seal+store >= %.2f x raw AEAD: %s\n",
	       ACCEPT_RATIO, store_aead >= ACCEPT_RATIO ? "yes" : "NO");
	printf("seal+store vs raw AEAD: %.2f (seal+store on %u thread%s)\n",
	       store_aead, n, n == 1 ? "" : "s");
}

/* ---- setup ---- */

static void usage(FILE *f)
{
	fprintf(f, "usage: seal_store [--quick] [--bytes N[K|M|G]] "
		   "[--rounds N] [--dir DIR] [--threads N]\n"
		   "  default %llu MiB (--quick: %llu MiB), %d rounds, "
		   "DIR = $TMPDIR or /tmp,\n"
		   "  N sealing threads for seal+store = online CPUs "
		   "(0: seal in the writer's thread; at most %d)\n",
		BYTES_FULL / MIB, BYTES_QUICK / MIB, ROUNDS_DEFAULT,
		OBJ_SEAL_THREADS_MAX);
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned long long mul = 1;
	if (errno || end == s || *s == '-')
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		mul = 1024;
	else if (*end == 'M' || *end == 'm')
		mul = MIB;
	else if (*end == 'G' || *end == 'g')
		mul = 1024 * MIB;
	if (mul > 1)
		end++;
	if (*end || v == 0 || v > BYTES_MAX / mul)
		return -EINVAL;
	*out = (size_t)(v * mul);
	return 0;
}

/* What the issue asks seal+store to use: every CPU of the machine. */
static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > OBJ_SEAL_THREADS_MAX ? OBJ_SEAL_THREADS_MAX : (unsigned)n;
}

/* 0, 2 for a usage error (printed), or 1 to exit 0 (--help). */
static int parse_args(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){.bytes = BYTES_FULL, .rounds = ROUNDS_DEFAULT};
	bool bytes_set = false, quick = false, threads_set = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 1;
		} else if (!strcmp(a, "--quick")) {
			quick = true;
		} else if (!strcmp(a, "--bytes") && v) {
			if (parse_size(v, &o->bytes) != 0)
				goto bad;
			bytes_set = true;
			i++;
		} else if (!strcmp(a, "--rounds") && v) {
			char *end;
			unsigned long n = strtoul(v, &end, 10);
			if (*end || end == v || n < 1 || n > ROUNDS_MAX)
				goto bad;
			o->rounds = (unsigned)n;
			i++;
		} else if (!strcmp(a, "--dir") && v) {
			o->dir = v;
			i++;
		} else if (!strcmp(a, "--threads") && v) {
			char *end;
			unsigned long n = strtoul(v, &end, 10);
			if (*end || end == v || *v == '-' ||
			    n > OBJ_SEAL_THREADS_MAX)
				goto bad;
			o->threads = (unsigned)n;
			threads_set = true;
			i++;
		} else {
			goto bad;
		}
	}
	if (quick && !bytes_set)
		o->bytes = BYTES_QUICK;
	if (!threads_set)
		o->threads = online_cpus();
	const char *tmpdir = getenv("TMPDIR");
	if (!o->dir)
		o->dir = tmpdir && *tmpdir ? tmpdir : "/tmp";
	return 0;
bad:
	usage(stderr);
	return 2;
}

static int setup(struct bench *b)
{
	int n = snprintf(b->tmp, sizeof(b->tmp), "%s/%s", b->o->dir,
			 TEMP_TEMPLATE);
	if (n < 0 || (size_t)n >= sizeof(b->tmp))
		return fail(b, "temp dir name", -ENAMETOOLONG);
	if (!mkdtemp(b->tmp)) {
		b->tmp[0] = '\0';
		return fail(b, "mkdtemp", -errno);
	}
	n = snprintf(b->store, sizeof(b->store), "%s/store", b->tmp);
	if (n < 0 || (size_t)n >= sizeof(b->store))
		return fail(b, "store dir name", -ENAMETOOLONG);
	n = snprintf(b->plain, sizeof(b->plain), "%s/plain", b->tmp);
	if (n < 0 || (size_t)n >= sizeof(b->plain))
		return fail(b, "plain file name", -ENAMETOOLONG);

	b->data = malloc(b->o->bytes);
	b->back = malloc(b->o->bytes);
	b->scratch = malloc(PIECE + IPMD_SEAL_OVERHEAD);
	if (!b->data || !b->back || !b->scratch)
		return fail(b, "allocating the buffers", -ENOMEM);
	/* Same bytes on every run; all pages touched before any timing. */
	randombytes_buf_deterministic(b->data, b->o->bytes, data_seed);
	memset(b->back, 0, b->o->bytes);
	memset(b->scratch, 0, PIECE + IPMD_SEAL_OVERHEAD);
	randombytes_buf(b->convergence, sizeof(b->convergence));
	return 0;
}

static int teardown(struct bench *b)
{
	int r = 0;
	if (b->tmp[0])
		r = remove_tree(b->tmp);
	free(b->data);
	free(b->back);
	free(b->scratch);
	sodium_memzero(b->convergence, sizeof(b->convergence));
	return r;
}

int main(int argc, char **argv)
{
	struct opts o;
	int r = parse_args(argc, argv, &o);
	if (r != 0)
		return r == 1 ? 0 : r;
	if (seal_init() != 0) {
		fprintf(stderr, "seal_store: libsodium failed to initialise\n");
		return 1;
	}
	struct bench *b = calloc(1, sizeof(*b));
	if (!b) {
		fprintf(stderr, "seal_store: out of memory\n");
		return 1;
	}
	b->o = &o;
	r = setup(b);
	if (r == 0) {
		print_header(b);
		for (unsigned i = 0; r == 0 && i < o.rounds; i++) {
			r = run_round(b, i);
			if (r == 0)
				print_round(b, i);
			else
				fprintf(stderr,
					"seal_store: round %u: %s: %s\n",
					i + 1, b->failed, strerror(-r));
		}
	} else {
		fprintf(stderr, "seal_store: %s: %s\n", b->failed,
			strerror(-r));
	}
	if (r == 0)
		print_table(b);
	int rt = teardown(b);
	if (rt != 0)
		fprintf(stderr, "seal_store: removing %s: %s\n", b->tmp,
			strerror(-rt));
	free(b);
	return r == 0 && rt == 0 ? 0 : 1;
}
