/*
 * bench/journal_record.c — what journaling one record costs the mount
 * daemon, step by step, against sealing the same bytes alone.
 *
 * A mount logs a change as record_encode (fs/model/record.c: the JSON
 * text) then journal_append (fs/store/journal.c: gen ‖ seq ‖ text sealed
 * and written to the journal file); ipmd_fs_log (fs/mount/mount_log.c)
 * does exactly these two and wipes and frees the text.  The hottest
 * records in an IMAP or delivery load are appends (Dovecot's index log,
 * dovecot-uidlist) of a few bytes to 16 KiB, and content records (one per
 * seal).  For each kind and size this times, in thread CPU time (the
 * machine is shared: wall time would count other processes):
 *
 *   seal only       seal_with_key of a buffer as long as the record's
 *                   sealed plaintext: the AEAD no journal can skip (the
 *                   baseline of the run)
 *   encode          record_encode, wipe, free
 *   append          journal_append(sync=false) of the encoded text
 *   encode+append   both, as ipmd_fs_log does them
 *   decode          record_decode of the text and record_text_done, as
 *                   replay does them at a mount (what a mount after a
 *                   crash costs per record, less the tree)
 *
 * Rounds interleave the rows; medians over the rounds are reported, in ns
 * per record, with each row's ratio to "seal only" of the same record.
 * Only ratios within one run mean anything (bench/README.md).
 *
 * Usage: journal_record [--quick] [--rounds N] [--dir DIR]
 * Exit: 0 ok, 1 a step failed, 2 usage.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/seal.h"
#include "fs/model/record.h"
#include "fs/store/journal.h"
#include "ipfs/cid.h"
#include "util/wipe.h"

#define ROUNDS_DEFAULT 5
#define ROUNDS_MAX 100
#define RECORDS_FULL 4000
#define RECORDS_QUICK 400
/* A new journal generation after this many records keeps the file (and
 * the page cache it dirties) small; the rotation is not timed. */
#define RECORDS_PER_GEN 2000
#define TEMP_TEMPLATE "ipmd-bench-XXXXXX"
#define NS 1e9

static const uint8_t data_seed[randombytes_SEEDBYTES] =
	"ipmaildir bench journal_record";

/* The records measured: appends of three sizes and a content record. */
struct kind {
	const char *name;
	enum record_op op;
	size_t data_len; /* append */
};
static const struct kind kinds[] = {
	{"append 100 B", REC_APPEND, 100},
	{"append 4 KiB", REC_APPEND, 4096},
	{"append 16 KiB", REC_APPEND, RECORD_APPEND_MAX},
	{"content", REC_CONTENT, 0},
};
#define KINDS (sizeof(kinds) / sizeof(kinds[0]))

enum row { R_SEAL, R_ENCODE, R_APPEND, R_BOTH, R_DECODE, R_COUNT };
static const char *const row_name[R_COUNT] = {
	[R_SEAL] = "seal only",
	[R_ENCODE] = "encode",
	[R_APPEND] = "append",
	[R_BOTH] = "encode+append",
	[R_DECODE] = "decode",
};

struct bench {
	struct journal *j;
	uint64_t gen, in_gen;
	char dir[4096];
	uint8_t key[IPMD_KEY_BYTES];
	uint8_t data[RECORD_APPEND_MAX];
	struct cid cid; /* of content records (made once: not timed) */
	unsigned records;
};

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * NS + (double)ts.tv_nsec;
}

static void make_record(const struct bench *b, const struct kind *k,
			unsigned i, struct record *r)
{
	memset(r, 0, sizeof(*r));
	r->op = k->op;
	r->ino = 1000 + i % 64;
	r->time = (struct timespec){.tv_sec = 1765000000 + i,
				    .tv_nsec = 123456789};
	r->mtime = r->time;
	if (k->op == REC_APPEND) {
		r->off = (uint64_t)i * k->data_len;
		r->data = b->data;
		r->data_len = k->data_len;
		return;
	}
	r->content.size = 123456 + i;
	r->content.depth = 1;
	r->content.cid = b->cid;
	memcpy(r->content.key, b->data + 64 + i % 64, IPMD_KEY_BYTES);
}

/* A new generation once the current one is full (untimed). */
static int rotate(struct bench *b)
{
	b->in_gen = 0;
	int e = journal_rotate(b->j, ++b->gen);
	return e ? e : journal_drop_before(b->dir, b->gen);
}

/* One record of one row (make_record has set r; json is r's text). */
static int run_one(struct bench *b, const struct record *r, enum row row,
		   const char *json, size_t len, const uint8_t *plain,
		   uint8_t *out, size_t seal_len)
{
	char *t;
	size_t n;
	int e = 0;
	switch (row) {
	case R_SEAL:
		return seal_with_key(out, plain, seal_len, BLOCK_JOURNAL,
				     b->key, NULL);
	case R_ENCODE:
		if (!(e = record_encode(r, &t, &n)))
			wipe_free(t, n);
		return e;
	case R_APPEND:
		return journal_append(b->j, (const uint8_t *)json, len, false);
	case R_BOTH:
		if (!(e = record_encode(r, &t, &n))) {
			e = journal_append(b->j, (const uint8_t *)t, n, false);
			wipe_free(t, n);
		}
		return e;
	case R_DECODE: {
		struct record d;
		struct record_text *tb = malloc(sizeof(*tb));
		e = tb ? record_decode((const uint8_t *)json, len, &d, tb)
		       : -ENOMEM;
		sodium_memzero(&d.content, sizeof(d.content));
		record_text_done(tb);
		free(tb);
		return e;
	}
	case R_COUNT:
		break;
	}
	return -EINVAL;
}

/* One row for one kind: ns per record, or a negative errno. */
static double run_row(struct bench *b, const struct kind *k, enum row row)
{
	struct record r;
	char *json;
	size_t len;
	double spent = 0;
	int e = 0;

	make_record(b, k, 0, &r);
	if ((e = record_encode(&r, &json, &len)))
		return e;
	size_t seal_len = JOURNAL_PREFIX_BYTES + len;
	uint8_t *plain = calloc(1, seal_len);
	uint8_t *out = malloc(seal_len + IPMD_SEAL_OVERHEAD);
	if (!plain || !out)
		e = -ENOMEM;
	else
		memcpy(plain + JOURNAL_PREFIX_BYTES, json, len);
	/* The clock is read around runs of records, not each one (a read of
	 * the thread's CPU time is a system call): it stops for a
	 * rotation. */
	double t0 = cpu_now();
	for (unsigned i = 0; !e && i < b->records; i++) {
		make_record(b, k, i, &r);
		if ((row == R_APPEND || row == R_BOTH) &&
		    b->in_gen >= RECORDS_PER_GEN) {
			spent += cpu_now() - t0;
			e = rotate(b);
			t0 = cpu_now();
		}
		if (!e)
			e = run_one(b, &r, row, json, len, plain, out,
				    seal_len);
		if (row == R_APPEND || row == R_BOTH)
			b->in_gen++;
	}
	spent += cpu_now() - t0;
	wipe_free(json, len);
	free(plain);
	free(out);
	return e ? e : spent / b->records;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int usage(void)
{
	fprintf(stderr, "usage: journal_record [--quick] [--rounds N] "
			"[--dir DIR]\n");
	return 2;
}

static int report(double ns[KINDS][R_COUNT][ROUNDS_MAX], unsigned rounds)
{
	double med[KINDS][R_COUNT];
	printf("\nmedian ns per record (thread CPU time), over %u rounds; "
	       "x: / seal only\n", rounds);
	printf("%-14s", "record");
	for (unsigned w = 0; w < R_COUNT; w++)
		printf(" %16s", row_name[w]);
	printf("\n");
	for (unsigned k = 0; k < KINDS; k++) {
		printf("%-14s", kinds[k].name);
		for (unsigned w = 0; w < R_COUNT; w++) {
			med[k][w] = median(ns[k][w], rounds);
			printf(" %9.0f (%4.2fx)", med[k][w],
			       med[k][w] / med[k][R_SEAL]);
		}
		printf("\n");
	}
	/* The headline: the hottest record's whole log step. */
	printf("append 4 KiB: encode+append / seal only: %.2f\n",
	       med[1][R_BOTH] / med[1][R_SEAL]);
	return 0;
}

int main(int argc, char **argv)
{
	static double ns[KINDS][R_COUNT][ROUNDS_MAX];
	static struct bench b;
	unsigned rounds = ROUNDS_DEFAULT;
	const char *parent = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	b.records = RECORDS_FULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			b.records = RECORDS_QUICK;
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			parent = argv[++i];
		else
			return usage();
	}
	if (rounds == 0 || rounds > ROUNDS_MAX)
		return usage();
	if (seal_init() != 0)
		return 1;
	randombytes_buf_deterministic(b.data, sizeof(b.data), data_seed);
	randombytes_buf(b.key, sizeof(b.key));
	cid_of_raw_block(&b.cid, b.data, 64);
	snprintf(b.dir, sizeof(b.dir), "%s/" TEMP_TEMPLATE, parent);
	if (!mkdtemp(b.dir)) {
		perror("mkdtemp");
		return 1;
	}
	b.gen = 1;
	int e = journal_open(b.dir, b.key, b.gen, &b.j);
	printf("journal_record: %u records per row and round, %u rounds, "
	       "journal in %s\n", b.records, rounds, b.dir);
	for (unsigned r = 0; !e && r < rounds; r++) {
		printf("round %u:", r + 1);
		for (unsigned k = 0; !e && k < KINDS; k++)
			for (unsigned w = 0; !e && w < R_COUNT; w++) {
				double v = run_row(&b, &kinds[k], w);
				if (v < 0)
					e = (int)v;
				ns[k][w][r] = v;
				printf(" %.0f", v);
			}
		printf("\n");
		fflush(stdout);
	}
	journal_close(b.j);
	journal_drop_before(b.dir, UINT64_MAX);
	rmdir(b.dir);
	if (e) {
		fprintf(stderr, "journal_record: %s\n", strerror(-e));
		return 1;
	}
	return report(ns, rounds);
}
