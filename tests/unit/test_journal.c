/* tests/unit/test_journal.c — the write-ahead journal (fs/store/journal.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fs/store/journal.h"
#include "fs/store/journal_tail.h"
#include "tests/memscan.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

#define PAYLOAD_SIZE_MAX (10 * 1024)
#define THREADS 8
#define PER_THREAD 200

static uint8_t key[IPMD_KEY_BYTES];

/* ---- helpers ---------------------------------------------------------- */

static void gen_path(char *out, size_t cap, const char *dir, uint64_t gen)
{
	if (snprintf(out, cap, "%s/%016" PRIx64 ".jnl", dir, gen) >= (int)cap)
		harness_bail("path too long: %s", dir);
}

static size_t payload_len(uint64_t id)
{
	uint64_t x = id * 0x9e3779b97f4a7c15ull + 1;
	x ^= x >> 29;
	return (size_t)(x % (PAYLOAD_SIZE_MAX + 1));
}

static void payload_fill(uint8_t *buf, size_t len, uint64_t id)
{
	tap_fill_random(buf, len, id + 1);
}

/* Bytes one record of this payload length takes in a file. */
static off_t rec_bytes(size_t len)
{
	return JOURNAL_LEN_BYTES + JOURNAL_SEALED_MIN + (off_t)len;
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Every replayed record, copied. */
struct rec {
	uint64_t gen, seq;
	size_t len;
	uint8_t *data;
};
struct collect {
	struct rec *r;
	size_t n, cap;
	int stop_after; /* > 0: return -ECANCELED after that many */
	unsigned flags; /* replay's flags besides REPAIR_TAIL */
	struct journal_replay_stats st; /* the last replay's */
};

static int collect_fn(uint64_t gen, uint64_t seq, const uint8_t *payload,
		      size_t len, void *arg)
{
	struct collect *c = arg;
	if (c->stop_after > 0 && c->n == (size_t)c->stop_after)
		return -ECANCELED;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->r = realloc(c->r, c->cap * sizeof(*c->r));
		if (!c->r)
			harness_bail("out of memory");
	}
	struct rec *r = &c->r[c->n++];
	r->gen = gen;
	r->seq = seq;
	r->len = len;
	r->data = harness_alloc(len);
	if (len)
		memcpy(r->data, payload, len);
	return 0;
}

static void collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->r[i].data);
	free(c->r);
	memset(c, 0, sizeof(*c));
}

static int replay(const char *dir, uint64_t from, bool repair,
		  struct collect *c)
{
	int stop = c->stop_after;
	unsigned flags = c->flags;
	collect_free(c);
	c->stop_after = stop;
	c->flags = flags;
	flags |= repair ? JOURNAL_REPLAY_REPAIR_TAIL : 0;
	return journal_replay(dir, key, from, flags, collect_fn, c, &c->st);
}

/* Does rec r hold the payload of id? */
static bool rec_is(const struct rec *r, uint64_t id)
{
	size_t len = payload_len(id);
	uint8_t *want = harness_alloc(len);
	bool same;

	payload_fill(want, len, id);
	same = r->len == len && (len == 0 || memcmp(r->data, want, len) == 0);
	free(want);
	return same;
}

static int append_id(struct journal *j, uint64_t id, bool sync)
{
	size_t len = payload_len(id);
	uint8_t *p = harness_alloc(len);
	int r;

	payload_fill(p, len, id);
	r = journal_append(j, p, len, sync);
	free(p);
	return r;
}

/* A small journal: gen, n records of ids base…base+n-1; returns offsets. */
static void make_small(const char *dir, uint64_t gen, uint64_t base, int n,
		       off_t *offs)
{
	struct journal *j;
	off_t off = JOURNAL_HEADER_BYTES;

	if (journal_open(dir, key, gen, &j) != 0)
		harness_bail("journal_open %s", dir);
	for (int i = 0; i < n; i++) {
		if (offs)
			offs[i] = off;
		off += rec_bytes(payload_len(base + (uint64_t)i));
		if (append_id(j, base + (uint64_t)i, false) != 0)
			harness_bail("append");
	}
	if (offs)
		offs[n] = off;
	journal_close(j);
}

/* Generation 1 of n records (ids base…) in dir, its offsets in offs
 * (n + 1 of them); returns the file's bytes. */
static uint8_t *make_laid_out(const char *dir, uint64_t base, int n,
			      off_t *offs, size_t *len)
{
	char p[600];

	make_small(dir, 1, base, n, offs);
	gen_path(p, sizeof(p), dir, 1);
	uint8_t *orig = harness_read_file(p, len);
	ok(orig && (off_t)*len == offs[n], "%d records laid out as expected",
	   n);
	return orig;
}

/* ---- tests ------------------------------------------------------------ */

static void test_round_trip(void)
{
	const char *dir = harness_path("rt/deep/journal");
	struct journal *j;
	struct collect c = { 0 };
	struct stat sb;
	int r, bad = 0, fails = 0;

	is_int(journal_open(dir, key, 1, &j), 0, "open creates dir and gen 1");
	ok(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700,
	   "journal dir is mode 0700");
	char p[600];
	gen_path(p, sizeof(p), dir, 1);
	ok(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600 &&
		   sb.st_size == JOURNAL_HEADER_BYTES,
	   "gen file is mode 0600 and holds only the header");

	for (uint64_t i = 0; i < 1000; i++) {
		if (i > 0 && i % 250 == 0) {
			r = journal_rotate(j, 1 + i / 250);
			if (r)
				fails++;
		}
		if (append_id(j, i, i % 3 == 0) != 0)
			fails++;
	}
	is_int(fails, 0, "1000 appends and 3 rotations succeed");
	is_int(journal_gen(j), 4, "current generation is 4");
	is_int(journal_records(j), 250, "250 records in generation 4");
	is_int(journal_rotate(j, 4), -EINVAL, "rotate to the same gen refused");
	is_int(journal_rotate(j, 2), -EINVAL, "rotate backwards refused");
	is_int(journal_append(j, NULL, JOURNAL_RECORD_MAX + 1, false),
	       -EINVAL, "NULL payload with a length refused");
	uint8_t *big = harness_alloc(JOURNAL_RECORD_MAX + 1);
	is_int(journal_append(j, big, JOURNAL_RECORD_MAX + 1, false),
	       -EMSGSIZE, "payload over JOURNAL_RECORD_MAX refused");
	is_int(journal_records(j), 250, "a refused append adds nothing");
	is_int(journal_close(j), 0, "close");

	r = replay(dir, 0, false, &c);
	is_int(r, 0, "replay all");
	is_int(c.n, 1000, "1000 records replayed");
	is_int(c.st.records, 1000, "stats count 1000 records");
	is_int(c.st.files, 4, "stats count 4 files");
	is_int(c.st.last_gen, 4, "last_gen is 4");
	is_int(c.st.torn_tail_bytes, 0, "no torn tail");
	for (size_t k = 0; k < c.n; k++)
		if (c.r[k].gen != 1 + k / 250 || c.r[k].seq != k % 250 ||
		    !rec_is(&c.r[k], k))
			bad++;
	is_int(bad, 0, "every record has its gen, seq and payload, in order");

	r = replay(dir, 3, false, &c);
	is_int(r, 0, "replay from generation 3");
	is_int(c.st.files, 2, "only generations 3 and 4 read");
	ok(c.n == 500 && c.r[0].gen == 3 && c.r[0].seq == 0 &&
		   rec_is(&c.r[0], 500) && rec_is(&c.r[499], 999),
	   "records 500…999 replayed, older ones skipped");

	r = replay(dir, 5, false, &c);
	ok(r == 0 && c.n == 0 && c.st.files == 0,
	   "replay from a generation past the last reads nothing");

	/* Reopen the last generation: seqs continue. */
	is_int(journal_open(dir, key, 4, &j), 0, "reopen generation 4");
	is_int(journal_records(j), 250, "reopened journal knows 250 records");
	for (uint64_t i = 1000; i < 1005; i++)
		append_id(j, i, true);
	/* The largest record allowed. */
	tap_fill_random(big, JOURNAL_RECORD_MAX, 77);
	is_int(journal_append(j, big, JOURNAL_RECORD_MAX, true), 0,
	       "a JOURNAL_RECORD_MAX payload is accepted");
	is_int(journal_close(j), 0, "close");
	r = replay(dir, 4, false, &c);
	is_int(r, 0, "replay generation 4 after reopening");
	ok(c.n == 256 && c.r[250].seq == 250 && rec_is(&c.r[250], 1000) &&
		   c.r[254].seq == 254 && rec_is(&c.r[254], 1004),
	   "appends after reopening continue at seq 250");
	ok(c.n == 256 && c.r[255].len == JOURNAL_RECORD_MAX &&
		   memcmp(c.r[255].data, big, JOURNAL_RECORD_MAX) == 0,
	   "the largest record replays intact");
	free(big);

	c.stop_after = 10;
	r = replay(dir, 0, false, &c);
	ok(r == -ECANCELED && c.n == 10 && c.st.records == 10,
	   "a callback's error stops the replay and is returned");
	collect_free(&c);
	c.stop_after = 0;

	r = replay(harness_path("no-such-journal"), 0, false, &c);
	ok(r == 0 && c.n == 0 && c.st.files == 0,
	   "a missing dir replays nothing");
}

/* Without a crash to simulate, the fdatasync counter shows what is synced. */
static void test_sync_accounting(void)
{
	const char *dir = harness_path("accounting");
	struct journal_stats js;
	struct journal *j;

	is_int(journal_open(dir, key, 1, &j), 0, "accounting: open");
	append_id(j, 1, false);
	append_id(j, 2, false);
	journal_stats(j, &js);
	ok(js.appends == 2 && js.sync_appends == 0 && js.syncs == 0,
	   "non-sync appends don't sync");
	is_int(journal_sync(j), 0, "journal_sync");
	journal_stats(j, &js);
	is_int(js.syncs, 1, "journal_sync syncs once");
	journal_sync(j);
	journal_stats(j, &js);
	is_int(js.syncs, 1, "nothing new: no second sync");
	append_id(j, 3, false);
	is_int(journal_rotate(j, 2), 0, "rotate");
	journal_stats(j, &js);
	is_int(js.syncs, 2, "rotate syncs the old file's unsynced records");
	is_int(journal_rotate(j, 3), 0, "rotate again");
	journal_stats(j, &js);
	is_int(js.syncs, 2, "nothing appended: rotate needs no sync");
	append_id(j, 4, true);
	journal_stats(j, &js);
	ok(js.syncs == 3 && js.sync_appends == 1, "a sync append syncs");
	append_id(j, 5, false);
	is_int(journal_close(j), 0, "close");
	struct collect c = { 0 };
	int r = journal_replay(dir, key, 0, false, collect_fn, &c, NULL);
	ok(r == 0 && c.n == 5 && c.r[2].gen == 1 && c.r[3].gen == 3 &&
		   rec_is(&c.r[4], 5),
	   "close synced the last record; replay with NULL stats");
	collect_free(&c);
}

static void test_no_plaintext(void)
{
	const char *dir = harness_path("plain");
	static const char marker[] = "ipmd-MARKER-that-must-not-leak!!";
	uint8_t payload[200];
	struct journal *j;
	size_t len;
	char p[600];

	_Static_assert(sizeof(marker) - 1 == 32, "a 32-byte marker");
	memset(payload, 'x', sizeof(payload));
	memcpy(payload + 50, marker, 32);
	is_int(journal_open(dir, key, 7, &j), 0, "no plaintext: open");
	for (int i = 0; i < 20; i++)
		journal_append(j, payload, sizeof(payload), i == 19);
	journal_close(j);

	gen_path(p, sizeof(p), dir, 7);
	uint8_t *file = harness_read_file(p, &len);
	ok(file && (off_t)len == JOURNAL_HEADER_BYTES + 20 * rec_bytes(200),
	   "file holds header and 20 records");
	ok(file && memmem(file, len, JOURNAL_MAGIC, 8) == file,
	   "header magic is where it should be (the search works)");
	ok(file && !memmem(file, len, marker, 32),
	   "the payload's marker appears nowhere in the file");
	ok(file && !memmem(file, len, payload, 16),
	   "nor does any 16-byte run of the payload's filler");
	free(file);
}

static void test_torn_tail(void)
{
	const char *dir = harness_path("torn");
	struct collect c = { 0 };
	off_t offs[11];
	char p[600];
	size_t len;

	make_small(dir, 1, 100, 10, offs);
	gen_path(p, sizeof(p), dir, 1);
	uint8_t *orig = harness_read_file(p, &len);
	ok(orig && (off_t)len == offs[10], "10 records laid out as expected");

	const off_t last = offs[9];
	const off_t cuts[] = { last + 1, last + 3, last + 4, last + 5,
			       last + 4 + 40, offs[10] - 1 };
	for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
		off_t cut = cuts[k];
		long rel = (long)(cut - last);

		harness_write_file(p, orig, (size_t)cut);
		int r = replay(dir, 0, false, &c);
		ok(r == 0 && c.n == 9 && rec_is(&c.r[8], 108),
		   "cut at +%ld: 9 records replayed", rel);
		is_int(c.st.torn_tail_bytes, cut - last,
		       "cut at +%ld: torn bytes counted", rel);
		is_int(file_size(p), cut, "cut at +%ld: no repair, no change",
		       rel);
		r = replay(dir, 0, true, &c);
		ok(r == 0 && c.n == 9 && c.st.torn_tail_bytes == (uint64_t)rel,
		   "cut at +%ld: repairing replay", rel);
		is_int(file_size(p), last, "cut at +%ld: repaired file ends "
		       "after the last whole record", rel);
		r = replay(dir, 0, false, &c);
		ok(r == 0 && c.n == 9 && c.st.torn_tail_bytes == 0,
		   "cut at +%ld: clean after repair", rel);

		struct journal *j;
		r = journal_open(dir, key, 1, &j);
		ok(r == 0 && journal_records(j) == 9,
		   "cut at +%ld: reopen continues at seq 9", rel);
		if (r == 0) {
			append_id(j, 999, true);
			journal_close(j);
		}
		r = replay(dir, 0, false, &c);
		ok(r == 0 && c.n == 10 && c.r[9].seq == 9 &&
			   rec_is(&c.r[9], 999) && c.st.torn_tail_bytes == 0,
		   "cut at +%ld: appended record replays after the rest", rel);
	}

	/* journal_open cuts a torn tail itself. */
	harness_write_file(p, orig, (size_t)(last + 7));
	struct journal *j;
	ok(journal_open(dir, key, 1, &j) == 0 && file_size(p) == last &&
		   journal_records(j) == 9,
	   "open cuts a torn tail before appending");
	journal_close(j);

	/* A file size that got ahead of its data: zeros after the end. */
	uint8_t *zeros = harness_alloc((size_t)offs[10] + 5000);
	memcpy(zeros, orig, (size_t)offs[10]);
	memset(zeros + offs[10], 0, 5000);
	harness_write_file(p, zeros, (size_t)offs[10] + 5000);
	int r = replay(dir, 0, true, &c);
	ok(r == 0 && c.n == 10 && c.st.torn_tail_bytes == 5000 &&
		   file_size(p) == offs[10],
	   "a zero-filled tail is torn and cut");
	free(zeros);

	/* The final record damaged in place: indistinguishable from torn. */
	orig[last + 30] ^= 0x01;
	harness_write_file(p, orig, len);
	orig[last + 30] ^= 0x01;
	r = replay(dir, 0, false, &c);
	ok(r == 0 && c.n == 9 &&
		   c.st.torn_tail_bytes == (uint64_t)(offs[10] - last),
	   "an unopenable final record is a torn tail");

	/* A generation whose creation a crash cut short, as the last file. */
	harness_write_file(p, orig, len);
	char p2[600];
	gen_path(p2, sizeof(p2), dir, 2);
	harness_write_file(p2, (const uint8_t *)JOURNAL_MAGIC, 5);
	r = replay(dir, 0, true, &c);
	ok(r == 0 && c.n == 10 && c.st.files == 2 &&
		   c.st.torn_tail_bytes == 5 && file_size(p2) == 0,
	   "a header cut short is a torn tail, cut to nothing");
	ok(journal_open(dir, key, 2, &j) == 0 &&
		   file_size(p2) == JOURNAL_HEADER_BYTES,
	   "opening it writes the header");
	append_id(j, 500, true);
	journal_close(j);
	r = replay(dir, 0, false, &c);
	ok(r == 0 && c.n == 11 && c.r[10].gen == 2 && rec_is(&c.r[10], 500),
	   "and appends to it replay");
	harness_write_file(p2, (const uint8_t *)"ipmdXXX", 7);
	r = replay(dir, 0, false, &c);
	ok(r == -EBADMSG && !strcmp(c.st.bad_file, "0000000000000002.jnl"),
	   "a short file that is no header prefix is corruption");

	/* Torn records are fine only at the end of the last file. */
	harness_write_file(p2, (const uint8_t *)JOURNAL_MAGIC, 0);
	make_small(dir, 3, 200, 2, NULL);
	harness_write_file(p, orig, (size_t)(last + 9));
	r = replay(dir, 0, false, &c);
	ok(r == -EBADMSG && !strcmp(c.st.bad_file, "0000000000000001.jnl") &&
		   c.st.bad_offset == (uint64_t)last && c.n == 9,
	   "a torn record followed by a later file is corruption");
	r = replay(dir, 0, true, &c);
	ok(r == -EBADMSG && file_size(p) == last + 9,
	   "and repair_tail does not cut it");
	collect_free(&c);
	free(orig);
}

/* One case of test_unfinished_tail: replay (no repair) gives r, n records,
 * and these torn and unfinished byte counts. */
static void expect_tail(const char *dir, int r, size_t n, off_t torn,
			off_t unfinished, const char *what)
{
	struct collect c = { 0 };
	int got = replay(dir, 0, false, &c);
	ok(got == r && c.n == n && c.st.torn_tail_bytes == (uint64_t)torn &&
		   c.st.unfinished_tail_bytes == (uint64_t)unfinished,
	   "%s: r %d, %zu records, %llu torn, %llu of them unfinished", what,
	   got, c.n, (unsigned long long)c.st.torn_tail_bytes,
	   (unsigned long long)c.st.unfinished_tail_bytes);
	collect_free(&c);
}

/*
 * What a crash leaves at the journal's end (an unfinished write: fsck says
 * so and exits 0) is told apart from a whole record that does not open
 * (which no crash of ours leaves: fsck calls it damage).  A rotation
 * creates the next file while appends still go to the current one, so a
 * crash can leave a short record followed by a record-less file.
 */
static void test_unfinished_tail(void)
{
	const char *dir = harness_path("unfinished");
	struct collect c = { 0 };
	off_t offs[6];
	char p1[600], p2[600];
	size_t len;
	int r;

	uint8_t *orig = make_laid_out(dir, 400, 5, offs, &len);
	gen_path(p1, sizeof(p1), dir, 1);
	gen_path(p2, sizeof(p2), dir, 2);
	const off_t last = offs[4];
	const struct {
		off_t cut;
		const char *where;
	} cuts[] = {
		{ last + 2, "a cut inside the last length field" },
		{ last + JOURNAL_LEN_BYTES, "a cut right after it" },
		{ last + JOURNAL_LEN_BYTES + 25, "a cut inside the last body" },
		{ offs[5] - 1, "a last record one byte short" },
	};
	for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
		harness_write_file(p1, orig, (size_t)cuts[k].cut);
		off_t torn = cuts[k].cut - last;
		expect_tail(dir, 0, 4, torn, torn, cuts[k].where);
	}

	/* A file size that got ahead of its data. */
	uint8_t *zeros = harness_alloc(len + 3000);
	memcpy(zeros, orig, len);
	memset(zeros + len, 0, 3000);
	harness_write_file(p1, zeros, len + 3000);
	expect_tail(dir, 0, 5, 3000, 3000, "a zero-filled tail");
	free(zeros);

	/* A whole record that does not open: torn, not unfinished. */
	orig[last + 30] ^= 0x04;
	harness_write_file(p1, orig, len);
	expect_tail(dir, 0, 4, offs[5] - last, 0,
		    "a garbled whole last record");
	orig[last + 30] ^= 0x04;
	/* Garbled bytes where a length should be: corruption. */
	orig[last] ^= 0x80;
	harness_write_file(p1, orig, len);
	expect_tail(dir, -EBADMSG, 4, 0, 0,
		    "an impossible length that is not zeros");
	orig[last] ^= 0x80;

	/* A short record in an older generation that a rotation's empty
	 * file follows: still the journal's end. */
	harness_write_file(p1, orig, (size_t)(last + 25));
	struct journal *j;
	if (journal_open(dir, key, 2, &j) != 0)
		harness_bail("journal_open gen 2");
	journal_close(j);
	expect_tail(dir, 0, 4, 25, 25,
		    "a short record, then a record-less generation");
	harness_write_file(p2, (const uint8_t *)JOURNAL_MAGIC, 5);
	expect_tail(dir, 0, 4, 30, 30,
		    "a short record, then a generation cut inside its header");
	r = replay(dir, 0, true, &c);
	ok(r == 0 && file_size(p1) == last && file_size(p2) == 0,
	   "repair_tail cuts both");
	expect_tail(dir, 0, 4, 0, 0, "clean after the repair");
	/* ... but a garbled whole record there is still not unfinished. */
	orig[last + 30] ^= 0x04;
	harness_write_file(p1, orig, len);
	orig[last + 30] ^= 0x04;
	if (journal_open(dir, key, 2, &j) != 0)
		harness_bail("journal_open gen 2");
	journal_close(j);
	expect_tail(dir, 0, 4, offs[5] - last, 0,
		    "a garbled whole record, then a record-less generation");

	/* A short record in a generation a later one with records follows:
	 * that file was synced whole before the later one got records. */
	unlink(p2);
	harness_write_file(p1, orig, (size_t)(last + 25));
	make_small(dir, 2, 500, 2, NULL);
	r = replay(dir, 0, true, &c);
	ok(r == -EBADMSG && c.n == 4 &&
		   !strcmp(c.st.bad_file, "0000000000000001.jnl") &&
		   c.st.bad_offset == (uint64_t)last &&
		   c.st.unfinished_tail_bytes == 0 &&
		   file_size(p1) == last + 25,
	   "a short record in an older generation with records after it: "
	   "corruption, not cut");
	collect_free(&c);
	free(orig);
}

/* Replay (no repair; flags besides) must call it corruption at gen's file
 * and offset, after n records, and change no file. */
static void expect_bad_flags(const char *dir, uint64_t gen, off_t off,
			     size_t n, unsigned flags, const char *what)
{
	struct collect c = { .flags = flags };
	char want[32];
	snprintf(want, sizeof(want), "%016" PRIx64 ".jnl", gen);
	int got = replay(dir, 0, false, &c);
	ok(got == -EBADMSG && c.n == n && !strcmp(c.st.bad_file, want) &&
		   c.st.bad_offset == (uint64_t)off &&
		   c.st.unfinished_tail_bytes == 0,
	   "%s: corruption in %s at %lld after %zu records (got r %d, %s at "
	   "%llu after %zu, %llu unfinished)",
	   what, want, (long long)off, n, got, c.st.bad_file,
	   (unsigned long long)c.st.bad_offset, c.n,
	   (unsigned long long)c.st.unfinished_tail_bytes);
	collect_free(&c);
}

static void expect_bad(const char *dir, uint64_t gen, off_t off, size_t n,
		       const char *what)
{
	expect_bad_flags(dir, gen, off, n, 0, what);
}

/* Replay must refuse the journal for a missing generation: missing (the
 * lowest), n_missing in all, nothing replayed. */
static void expect_gap(const char *dir, uint64_t from, bool repair,
		       uint64_t missing, uint64_t n_missing, const char *what)
{
	struct collect c = { 0 };
	int got = replay(dir, from, repair, &c);
	ok(got == -ENODATA && c.n == 0 && c.st.missing_gen == missing &&
		   c.st.missing_gens == n_missing,
	   "%s: generation %llu missing, %llu in all, nothing replayed (got "
	   "r %d, %zu records, %llu missing, %llu in all)",
	   what, (unsigned long long)missing, (unsigned long long)n_missing,
	   got, c.n, (unsigned long long)c.st.missing_gen,
	   (unsigned long long)c.st.missing_gens);
	collect_free(&c);
}

/* expect_gap with journal_replay's flags (FIRST_HELD …). */
static void expect_gap_flags(const char *dir, uint64_t from, unsigned flags,
			     uint64_t missing, uint64_t n_missing,
			     const char *what)
{
	struct collect c = { .flags = flags };
	int got = replay(dir, from, false, &c);
	ok(got == -ENODATA && c.n == 0 && c.st.missing_gen == missing &&
		   c.st.missing_gens == n_missing,
	   "%s: generation %llu missing, %llu in all (got r %d, %llu, %llu)",
	   what, (unsigned long long)missing, (unsigned long long)n_missing,
	   got, (unsigned long long)c.st.missing_gen,
	   (unsigned long long)c.st.missing_gens);
	collect_free(&c);
}

/* gen's file as make_small makes it, cut to size bytes. */
static void make_cut(const char *dir, uint64_t gen, uint64_t base, int n,
		     off_t size)
{
	char p[600];
	make_small(dir, gen, base, n, NULL);
	gen_path(p, sizeof(p), dir, gen);
	if (truncate(p, size) != 0)
		harness_bail("truncate %s", p);
}

static void remove_gens(const char *dir, uint64_t upto)
{
	char p[600];
	for (uint64_t g = 1; g <= upto; g++) {
		gen_path(p, sizeof(p), dir, g);
		unlink(p);
	}
}

/*
 * Damage a reviewer found passing for an unfinished write (fsck exit 0, the
 * mount logging "never acknowledged") while acknowledged records were lost.
 * Each is corruption again: replay stops at it, fsck exits 4 and the mount
 * refuses.  What a crash can leave all the same stays unfinished: the
 * limits docs/ARCHITECTURE.md names ("The journal's end after a crash").
 */
static void test_damage_not_unfinished(void)
{
	const char *dir = harness_path("damage");
	off_t offs[9], offs2[5];
	char p1[600], p2[600];
	size_t len;

	uint8_t *orig = make_laid_out(dir, 700, 8, offs, &len);
	gen_path(p1, sizeof(p1), dir, 1);
	gen_path(p2, sizeof(p2), dir, 2);

	/* A bit flipped in a length field (+512 KiB): the rest of the file
	 * looks like one record cut short, but the next one opens in it. */
	orig[offs[4] + 1] ^= 0x08;
	harness_write_file(p1, orig, len);
	expect_bad(dir, 1, offs[4], 4,
		   "a length bit flipped, 4 records from the end");
	struct collect c = { 0 };
	int r = replay(dir, 0, true, &c);
	ok(r == -EBADMSG && file_size(p1) == (off_t)len,
	   "repair_tail does not cut the records after it");
	collect_free(&c);
	orig[offs[4] + 1] ^= 0x08;
	/* In the last record: it opens whole when taken to the end. */
	orig[offs[7] + 1] ^= 0x08;
	harness_write_file(p1, orig, len);
	expect_bad(dir, 1, offs[7], 7, "a length bit flipped in the last record");
	orig[offs[7] + 1] ^= 0x08;
	/* An unfinished write is still one: nothing opens in its cut. */
	harness_write_file(p1, orig, (size_t)(offs[8] - 9));
	expect_tail(dir, 0, 7, offs[8] - 9 - offs[7], offs[8] - 9 - offs[7],
		    "a last record cut short, nothing after it");

	/* Zeros: a size ahead of its data after a power cut.  Zeroed synced
	 * records look the same (no sync marker): the documented limit. */
	uint8_t *z = harness_alloc(len);
	memcpy(z, orig, len);
	memset(z + offs[5], 0, len - (size_t)offs[5]);
	harness_write_file(p1, z, len);
	expect_tail(dir, 0, 5, offs[8] - offs[5], offs[8] - offs[5],
		    "the last 3 records zeroed: unfinished (the limit)");
	memcpy(z, orig, len);
	memset(z + offs[5], 0, (size_t)(offs[7] - offs[5]));
	harness_write_file(p1, z, len);
	expect_bad(dir, 1, offs[5], 5, "zeros with a record after them");
	free(z);
	harness_write_file(p1, orig, len);

	/* The newest generation cut inside its header, after a gap: no
	 * rotation makes a file two generations on. */
	make_small(dir, 2, 800, 3, NULL);
	make_cut(dir, 4, 900, 3, 10);
	expect_gap(dir, 0, false, 3, 1, "a gap before a file cut in its header");
	expect_bad_flags(dir, 4, 0, 11, JOURNAL_REPLAY_ACROSS_GAPS,
			 "replayed across it, the newest generation cut inside "
			 "its header after a gap");
	/* As the very next generation it is what a crash in its creation
	 * leaves: the limit. */
	remove_gens(dir, 4);
	harness_write_file(p1, orig, len);
	make_small(dir, 2, 800, 3, NULL);
	make_cut(dir, 3, 900, 3, 10);
	expect_tail(dir, 0, 11, 10, 10,
		    "the next generation cut inside its header (the limit)");

	/* A middle generation cut inside a record, and the newest cut to
	 * its header, with a record-less file between them: a rotation
	 * syncs the file it leaves, so only one file can follow a short
	 * record. */
	remove_gens(dir, 4);
	harness_write_file(p1, orig, len);
	make_small(dir, 2, 800, 4, offs2);
	if (truncate(p2, offs2[3] + 30) != 0)
		harness_bail("truncate %s", p2);
	struct journal *j;
	if (journal_open(dir, key, 3, &j) != 0)
		harness_bail("journal_open gen 3");
	journal_close(j);
	make_cut(dir, 4, 900, 3, JOURNAL_HEADER_BYTES);
	expect_bad(dir, 2, offs2[3], 11,
		   "a generation cut mid-record, then two record-less files");
	/* ... or a gap. */
	char p3[600];
	gen_path(p3, sizeof(p3), dir, 3);
	unlink(p3);
	expect_gap(dir, 0, true, 3, 1,
		   "a generation cut mid-record, then a gap");
	expect_bad_flags(dir, 2, offs2[3], 11, JOURNAL_REPLAY_ACROSS_GAPS,
			 "replayed across it, a generation cut mid-record, then "
			 "a gap and a file cut to its header");
	/* The very next generation alone is a rotation's crash: the limit. */
	make_cut(dir, 3, 900, 3, JOURNAL_HEADER_BYTES);
	char p4[600];
	gen_path(p4, sizeof(p4), dir, 4);
	unlink(p4);
	expect_tail(dir, 0, 11, 30, 30,
		    "a generation cut mid-record, then the next cut to its "
		    "header (the limit)");
	free(orig);
}

/*
 * The budget of a cut (journal.h, "unfinished": JOURNAL_CUT_OPEN_MAX).
 * The last record's length field claims the most a record can be and the
 * file ends inside it; the cut is "00 00 10 00" repeated, so every fourth
 * offset reads as a 4 KiB record that fits and costs a MAC.  Under the
 * budget nothing opens: an unfinished write, cut off.  Past it the search
 * stops and the cut is damage: replay stops at the record, with repair
 * too, and the file is left as it is.
 */
static uint8_t *patterned_cut(const uint8_t *orig, off_t last, size_t cut,
			      size_t *len)
{
	*len = (size_t)last + JOURNAL_LEN_BYTES + cut;
	uint8_t *f = harness_alloc(*len);
	memcpy(f, orig, (size_t)last);
	uint32_t claim = JOURNAL_SEALED_MAX;
	for (int b = 0; b < JOURNAL_LEN_BYTES; b++)
		f[last + b] = (uint8_t)(claim >> (8 * (JOURNAL_LEN_BYTES - 1 - b)));
	static const uint8_t pat[4] = { 0x00, 0x00, 0x10, 0x00 };
	for (size_t i = 0; i < cut; i++)
		f[(size_t)last + JOURNAL_LEN_BYTES + i] = pat[i % 4];
	return f;
}

static void test_cut_budget(void)
{
	const char *dir = harness_path("budget");
	off_t offs[6];
	char p1[600];
	size_t len, flen;

	uint8_t *orig = make_laid_out(dir, 900, 5, offs, &len);
	gen_path(p1, sizeof(p1), dir, 1);
	const off_t last = offs[4];
	/* Candidates per cut byte: a 4 KiB one every 4 bytes. */
	const size_t per_byte = 0x1000 / 4;
	const size_t under = JOURNAL_CUT_OPEN_MAX / per_byte / 2;
	const size_t over = JOURNAL_CUT_OPEN_MAX / per_byte * 4;
	ok(over + JOURNAL_LEN_BYTES < JOURNAL_SEALED_MAX,
	   "the cut past the budget is still shorter than its length claims");

	uint8_t *f = patterned_cut(orig, last, under, &flen);
	harness_write_file(p1, f, flen);
	off_t torn = (off_t)(flen - (size_t)last);
	expect_tail(dir, 0, 4, torn, torn,
		    "a patterned cut under the budget: unfinished");
	free(f);

	f = patterned_cut(orig, last, over, &flen);
	harness_write_file(p1, f, flen);
	expect_bad(dir, 1, last, 4,
		   "a patterned cut past the budget: damage at its record");
	struct collect c = { 0 };
	int r = replay(dir, 0, true, &c);
	ok(r == -EBADMSG && file_size(p1) == (off_t)flen,
	   "… and repair_tail leaves the file as it is (r %d)", r);
	collect_free(&c);
	free(f);
	free(orig);
}

static void test_corruption(void)
{
	const char *dir = harness_path("corrupt");
	struct collect c = { 0 };
	off_t offs[11], offs2[11];
	char p1[600], p2[600];
	size_t len1, len2;
	int r;

	make_small(dir, 1, 300, 10, offs);
	make_small(dir, 2, 310, 10, offs2);
	gen_path(p1, sizeof(p1), dir, 1);
	gen_path(p2, sizeof(p2), dir, 2);
	uint8_t *f1 = harness_read_file(p1, &len1), *f2 = harness_read_file(p2,
					&len2);
	r = replay(dir, 0, false, &c);
	ok(f1 && f2 && r == 0 && c.n == 20, "20 records in two files");

	/* A flipped byte in a middle record's ciphertext. */
	for (int k = 0; k < 3; k++) {
		static const int recs[] = { 0, 4, 8 };
		int at = recs[k];
		off_t where = offs[at] + JOURNAL_LEN_BYTES + 10 + 7 * k;
		f1[where] ^= 0x40;
		harness_write_file(p1, f1, len1);
		f1[where] ^= 0x40;
		r = replay(dir, 0, true, &c);
		is_int(r, -EBADMSG, "flipped byte in record %d: -EBADMSG", at);
		ok(c.st.bad_offset == (uint64_t)offs[at] &&
			   !strcmp(c.st.bad_file, "0000000000000001.jnl"),
		   "bad_file/bad_offset point at record %d", at);
		ok(c.n == (size_t)at, "records before it were replayed");
		is_int(file_size(p1), len1, "repair_tail did not cut it");
	}
	/* Flipped byte in the last record of a non-last file. */
	f1[offs[9] + 30] ^= 1;
	harness_write_file(p1, f1, len1);
	f1[offs[9] + 30] ^= 1;
	r = replay(dir, 0, false, &c);
	ok(r == -EBADMSG && c.st.bad_offset == (uint64_t)offs[9],
	   "damaged final record of a file a later one follows: -EBADMSG");

	/* A length field that no writer makes, mid-file. */
	f1[offs[3]] = 0xff;
	harness_write_file(p1, f1, len1);
	f1[offs[3]] = 0;
	r = replay(dir, 0, false, &c);
	ok(r == -EBADMSG && c.st.bad_offset == (uint64_t)offs[3],
	   "an impossible length mid-file: -EBADMSG at that record");
	/* Same in the last file, with records after it: not a torn tail. */
	harness_write_file(p1, f1, len1);
	f2[offs2[3] + 1] = 0xff;
	harness_write_file(p2, f2, len2);
	f2[offs2[3] + 1] = 0;
	r = replay(dir, 0, true, &c);
	ok(r == -EBADMSG && c.st.bad_offset == (uint64_t)offs2[3] &&
		   file_size(p2) == (off_t)len2,
	   "an impossible length in the last file with data after: -EBADMSG");
	harness_write_file(p2, f2, len2);

	/* A record moved from one file to another: same length slot. */
	r = replay(dir, 0, false, &c);
	ok(r == 0 && c.n == 20, "files restored");
	/* Build gen 2 anew with record 0 replaced by gen 1's record 0. */
	size_t moved_len = (size_t)(offs[1] - offs[0]);
	uint8_t *nf = harness_alloc(JOURNAL_HEADER_BYTES + moved_len + len2);
	memcpy(nf, f2, JOURNAL_HEADER_BYTES);
	memcpy(nf + JOURNAL_HEADER_BYTES, f1 + offs[0], moved_len);
	memcpy(nf + JOURNAL_HEADER_BYTES + moved_len, f2 + offs2[1],
	       len2 - (size_t)offs2[1]);
	harness_write_file(p2, nf, JOURNAL_HEADER_BYTES + moved_len + len2 -
				   (size_t)offs2[1]);
	r = replay(dir, 0, false, &c);
	ok(r == -EBADMSG && !strcmp(c.st.bad_file, "0000000000000002.jnl") &&
		   c.st.bad_offset == JOURNAL_HEADER_BYTES && c.n == 10,
	   "a record copied into another file: -EBADMSG");

	/* Appended at the end of the last file: it opens, so not torn. */
	size_t rec2 = (size_t)(offs[3] - offs[2]);
	free(nf);
	nf = harness_alloc(len2 + rec2);
	memcpy(nf, f2, len2);
	memcpy(nf + len2, f1 + offs[2], rec2);
	harness_write_file(p2, nf, len2 + rec2);
	r = replay(dir, 0, true, &c);
	ok(r == -EBADMSG && c.st.bad_offset == (uint64_t)len2 && c.n == 20,
	   "another file's record at the end of the last file: -EBADMSG");
	free(nf);

	/* Two records swapped within a file. */
	harness_write_file(p2, f2, len2);
	size_t l0 = (size_t)(offs[1] - offs[0]), l1 = (size_t)(offs[2] - offs[1]);
	uint8_t *sw = harness_alloc(len1);
	memcpy(sw, f1, len1);
	memcpy(sw + offs[0], f1 + offs[1], l1);
	memcpy(sw + offs[0] + l1, f1 + offs[0], l0);
	harness_write_file(p1, sw, len1);
	r = replay(dir, 0, false, &c);
	ok(r == -EBADMSG && c.st.bad_offset == (uint64_t)offs[0] && c.n == 0,
	   "two records swapped: -EBADMSG");
	free(sw);

	/* Header naming another generation (a renamed file). */
	harness_write_file(p1, f2, len2);
	r = replay(dir, 0, false, &c);
	ok(r == -EBADMSG && c.st.bad_offset == 0 &&
		   !strcmp(c.st.bad_file, "0000000000000001.jnl"),
	   "a file under another generation's name: -EBADMSG");
	harness_write_file(p1, f1, len1);

	/* Wrong key. */
	uint8_t other[IPMD_KEY_BYTES];
	memcpy(other, key, sizeof(other));
	other[0] ^= 1;
	collect_free(&c);
	r = journal_replay(dir, other, 0, false, collect_fn, &c, &c.st);
	ok(r == -EBADMSG && c.n == 0 && c.st.bad_offset == JOURNAL_HEADER_BYTES,
	   "wrong key: -EBADMSG at the first record");
	struct journal *j = NULL;
	is_int(journal_open(dir, other, 1, &j), -EBADMSG,
	       "wrong key: journal_open refuses the file");
	ok(j == NULL && file_size(p1) == (off_t)len1,
	   "and leaves it untouched");
	r = replay(dir, 0, false, &c);
	ok(r == 0 && c.n == 20, "the right key still replays everything");

	collect_free(&c);
	free(f1);
	free(f2);
}

static void test_drop_before(void)
{
	const char *dir = harness_path("drop");
	struct collect c = { 0 };
	char p[600];

	make_small(dir, 1, 400, 2, NULL);
	make_small(dir, 2, 402, 2, NULL);
	make_small(dir, 3, 404, 2, NULL);
	make_small(dir, 5, 406, 2, NULL); /* generation 4 never existed */
	static const char *others[] = { "notes.txt", "00000000000000AA.jnl",
					"0000000000000001.jnl.tmp",
					"000000000000001.jnl" };
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, others[i]);
		harness_write_file(p, (const uint8_t *)"junk", 4);
	}

	expect_gap(dir, 0, false, 4, 1, "generation 4 never existed");
	c.flags = JOURNAL_REPLAY_ACROSS_GAPS;
	int r = replay(dir, 0, false, &c);
	c.flags = 0;
	ok(r == 0 && c.n == 8 && c.st.files == 4 && c.st.last_gen == 5 &&
		   c.r[6].gen == 5 && rec_is(&c.r[7], 407),
	   "replayed across the gap; other files are ignored");

	is_int(journal_drop_before(dir, 3), 0, "drop_before 3");
	bool gone = true, kept = true;
	for (uint64_t g = 1; g <= 5; g++) {
		gen_path(p, sizeof(p), dir, g);
		if (g < 3 && exists(p))
			gone = false;
		if (g >= 3 && g != 4 && !exists(p))
			kept = false;
	}
	ok(gone, "generations 1 and 2 deleted");
	ok(kept, "generations 3 and 5 kept");
	bool others_kept = true;
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, others[i]);
		others_kept &= exists(p);
	}
	ok(others_kept, "files that aren't journal generations are kept");
	c.flags = JOURNAL_REPLAY_ACROSS_GAPS;
	r = replay(dir, 0, false, &c);
	c.flags = 0;
	ok(r == 0 && c.n == 4 && c.r[0].gen == 3 && rec_is(&c.r[0], 404),
	   "replay after the drop starts at generation 3");
	is_int(journal_drop_before(harness_path("no-such-dir"), 9), 0,
	       "drop_before on a missing dir is a no-op");
	collect_free(&c);
}

/*
 * A generation missing among those replayed (deleted by hand, a disk
 * fault) held acknowledged records: replay refuses the journal before it
 * replays or cuts anything, unless told to go across (fsck --repair).
 * What a writer leaves is no gap: generations below from_gen, missing
 * ones before the first file replayed, a drop cut short (oldest first).
 */
static void test_missing_generation(void)
{
	const char *dir = harness_path("gap");
	struct collect c = { 0 };
	char p1[600], p2[600], p3[600];
	off_t offs[4];

	make_small(dir, 1, 1000, 3, NULL);
	make_small(dir, 2, 1003, 3, NULL);
	make_small(dir, 3, 1006, 3, offs);
	gen_path(p1, sizeof(p1), dir, 1);
	gen_path(p2, sizeof(p2), dir, 2);
	gen_path(p3, sizeof(p3), dir, 3);
	int r = replay(dir, 1, false, &c);
	ok(r == 0 && c.n == 9, "three generations replay whole");
	unlink(p2);
	/* Its newest file torn too: the refusal must not cut it. */
	if (truncate(p3, offs[3] - 5) != 0)
		harness_bail("truncate %s", p3);
	expect_gap(dir, 1, false, 2, 1, "the middle generation deleted");
	expect_gap(dir, 1, true, 2, 1, "the same with repair_tail");
	ok(file_size(p3) == offs[3] - 5,
	   "…which leaves the newest file's torn tail as it was");
	c.flags = JOURNAL_REPLAY_ACROSS_GAPS;
	r = replay(dir, 1, true, &c);
	ok(r == 0 && c.n == 5 && c.r[0].gen == 1 && c.r[3].gen == 3 &&
		   rec_is(&c.r[2], 1002) && rec_is(&c.r[3], 1006) &&
		   c.st.missing_gen == 2 && c.st.missing_gens == 1 &&
		   c.st.unfinished_tail_bytes > 0 &&
		   file_size(p3) == offs[2],
	   "across the gap: generations 1 and 3 replay, the gap is counted, "
	   "the torn tail is cut");
	c.flags = 0;

	/* Below from_gen: committed, deletion pending. */
	r = replay(dir, 3, false, &c);
	ok(r == 0 && c.n == 2 && c.st.missing_gen == 0,
	   "a gap below the head's generation is none");
	/* The head's own generation gone (an open that replayed nothing
	 * reuses the newest empty one and drops the rest). */
	r = replay(dir, 2, false, &c);
	ok(r == 0 && c.n == 2 && c.r[0].gen == 3 && c.st.missing_gen == 0,
	   "missing generations before the first file replayed are none");
	/* Unless the head vouches for its generation's file (journal_first):
	 * then that file lost is a hole, up to the first file present. */
	c.flags = JOURNAL_REPLAY_FIRST_HELD;
	expect_gap_flags(dir, 2, JOURNAL_REPLAY_FIRST_HELD, 2, 1,
			 "the first generation deleted, the head vouching");
	r = replay(dir, 3, false, &c);
	ok(r == 0 && c.n == 2 && c.st.missing_gen == 0,
	   "the vouched-for generation there: no hole (older ones below it "
	   "are none either)");
	r = replay(dir, 4, false, &c);
	ok(r == -ENODATA && c.n == 0 && c.st.missing_gen == 4 &&
		   c.st.missing_gens == 1,
	   "no file at all from the vouched-for generation on: missing");
	c.flags = JOURNAL_REPLAY_FIRST_HELD | JOURNAL_REPLAY_ACROSS_GAPS;
	r = replay(dir, 2, false, &c);
	ok(r == 0 && c.n == 2 && c.r[0].gen == 3 && c.st.missing_gen == 2 &&
		   c.st.missing_gens == 1,
	   "across the gaps: the others replay, the first is counted");
	c.flags = JOURNAL_REPLAY_FIRST_HELD;
	r = journal_replay(harness_path("no-journal"), key, 5,
			   JOURNAL_REPLAY_FIRST_HELD, collect_fn, &c, &c.st);
	ok(r == -ENODATA && c.st.missing_gen == 5,
	   "no journal directory: the vouched-for generation is missing");
	c.flags = 0;

	/* Several holes: the lowest named, all counted. */
	make_small(dir, 6, 1100, 1, NULL);
	expect_gap(dir, 1, false, 2, 3, "generations 2, 4 and 5 missing");
	/* A rotation's record-less file after the last: no gap. */
	remove_gens(dir, 6);
	make_small(dir, 1, 1000, 3, NULL);
	make_small(dir, 2, 1003, 3, NULL);
	make_small(dir, 3, 1006, 0, NULL);
	r = replay(dir, 1, false, &c);
	ok(r == 0 && c.n == 6 && c.st.missing_gen == 0,
	   "a rotation's header-only file is no gap");

	/* A drop that fails midway leaves no hole: oldest first, and it
	 * stops at the first it cannot delete (here a directory). */
	remove_gens(dir, 3);
	if (mkdir(p1, 0700) != 0)
		harness_bail("mkdir %s", p1);
	make_small(dir, 2, 1003, 3, NULL);
	make_small(dir, 3, 1006, 3, NULL);
	make_small(dir, 4, 1009, 3, NULL);
	ok(journal_drop_before(dir, 4) != 0 && exists(p2) && exists(p3),
	   "a drop stopped at generation 1 leaves 2 and 3 (no hole)");
	rmdir(p1);
	r = replay(dir, 2, false, &c);
	ok(r == 0 && c.n == 9, "…and they replay");
	collect_free(&c);
}

struct worker {
	struct journal *j;
	uint32_t id;
	int fails;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t buf[64];

	for (uint32_t i = 0; i < PER_THREAD; i++) {
		size_t len = 8 + (i * 7 + w->id) % (sizeof(buf) - 8);
		memcpy(buf, &w->id, 4);
		memcpy(buf + 4, &i, 4);
		memset(buf + 8, (int)(w->id * 31 + i), len - 8);
		if (journal_append(w->j, buf, len, true) != 0)
			w->fails++;
	}
	return NULL;
}

static void test_concurrent(void)
{
	const char *dir = harness_path("concurrent");
	struct worker w[THREADS];
	pthread_t th[THREADS];
	struct journal *j;
	struct journal_stats js;
	struct collect c = { 0 };
	int fails = 0, rot_fails = 0;

	is_int(journal_open(dir, key, 10, &j), 0, "concurrent: open");
	for (int t = 0; t < THREADS; t++) {
		w[t] = (struct worker){ .j = j, .id = (uint32_t)t };
		pthread_create(&th[t], NULL, worker_main, &w[t]);
	}
	/* Rotations while appenders wait on group commits. */
	for (uint64_t g = 11; g <= 13; g++) {
		usleep(5000);
		if (journal_rotate(j, g) != 0)
			rot_fails++;
	}
	for (int t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		fails += w[t].fails;
	}
	journal_stats(j, &js);
	is_int(fails, 0, "%d threads × %d sync appends succeed", THREADS,
	       PER_THREAD);
	is_int(rot_fails, 0, "rotations during them succeed");
	is_int(js.appends, THREADS * PER_THREAD, "stats: appends");
	is_int(js.sync_appends, THREADS * PER_THREAD, "stats: sync appends");
	ok(js.syncs > 0 && js.syncs < js.sync_appends,
	   "group commit: %" PRIu64 " fdatasyncs for %" PRIu64 " sync appends",
	   js.syncs, js.sync_appends);
	is_int(journal_close(j), 0, "close");

	int r = replay(dir, 0, false, &c);
	is_int(r, 0, "replay");
	is_int(c.n, THREADS * PER_THREAD, "every record replayed");
	ok(c.st.files == 4 && c.st.last_gen == 13, "across 4 generations");
	static int seen[THREADS][PER_THREAD];
	int last_i[THREADS];
	int bad = 0, order = 0, seqbad = 0;
	uint64_t gen = 0, seq = 0;
	for (int t = 0; t < THREADS; t++)
		last_i[t] = -1;
	for (size_t k = 0; k < c.n; k++) {
		uint32_t t, i;
		struct rec *rr = &c.r[k];
		if (rr->gen != gen) {
			gen = rr->gen;
			seq = 0;
		}
		if (rr->seq != seq++)
			seqbad++;
		if (rr->len < 8) {
			bad++;
			continue;
		}
		memcpy(&t, rr->data, 4);
		memcpy(&i, rr->data + 4, 4);
		if (t >= THREADS || i >= PER_THREAD ||
		    rr->len != 8 + (i * 7 + t) % (64 - 8)) {
			bad++;
			continue;
		}
		for (size_t b = 8; b < rr->len; b++)
			if (rr->data[b] != (uint8_t)(t * 31 + i))
				bad++;
		seen[t][i]++;
		if ((int)i <= last_i[t])
			order++;
		last_i[t] = (int)i;
	}
	int once = 0;
	for (int t = 0; t < THREADS; t++)
		for (int i = 0; i < PER_THREAD; i++)
			once += seen[t][i] == 1;
	is_int(bad, 0, "every payload intact");
	is_int(once, THREADS * PER_THREAD, "every (thread, i) exactly once");
	is_int(order, 0, "each thread's records in its own order");
	is_int(seqbad, 0, "seqs run 0, 1, 2, … in every generation");
	collect_free(&c);
}

static void test_enospc(void)
{
	const char *mnt = harness_path("tiny");
	char cmd[700], filler[600], jdir[600], p[600];
	struct collect c = { 0 };
	struct journal *j;

	mkdir(mnt, 0700);
	snprintf(cmd, sizeof(cmd),
		 "mount -t tmpfs -o size=64k tmpfs '%s' 2>/dev/null", mnt);
	if (system(cmd) != 0) {
		ok(1, "# skip ENOSPC: cannot mount a tmpfs (not root?)");
		return;
	}
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	snprintf(jdir, sizeof(jdir), "%s/journal", mnt);
	uint8_t *fill = harness_alloc(16384);
	memset(fill, 'f', 16384);
	ok(harness_try_write_file(filler, fill, 16384) == 0,
	   "filler file written");
	free(fill);

	int r = journal_open(jdir, key, 1, &j);
	is_int(r, 0, "journal on the tiny tmpfs");
	if (r == 0) {
		uint64_t acked = 0;
		for (int i = 0; i < 1000; i++) { /* 64 KiB runs out first */
			r = append_id(j, 5000 + acked, true);
			if (r)
				break;
			acked++;
		}
		is_int(r, -ENOSPC, "appends run into -ENOSPC");
		tap_diag("%" PRIu64 " records fit", acked);
		ok(acked > 0, "some records fit first");
		is_int(journal_records(j), acked,
		       "a failed append is not counted");
		off_t want = JOURNAL_HEADER_BYTES;
		for (uint64_t k = 0; k < acked; k++)
			want += rec_bytes(payload_len(5000 + k));
		gen_path(p, sizeof(p), jdir, 1);
		is_int(file_size(p), want,
		       "the partial record was cut off the file");
		r = replay(jdir, 0, false, &c);
		ok(r == 0 && c.n == acked && c.st.torn_tail_bytes == 0,
		   "the file replays cleanly with every acknowledged record");
		bool all = c.n == acked;
		for (size_t k = 0; all && k < c.n; k++)
			all = rec_is(&c.r[k], 5000 + k);
		ok(all, "their payloads are intact");

		ok(unlink(filler) == 0, "free space");
		is_int(append_id(j, 5000 + acked, true), 0,
		       "an append succeeds again");
		is_int(journal_close(j), 0, "close");
		r = replay(jdir, 0, false, &c);
		ok(r == 0 && c.n == acked + 1 &&
			   rec_is(&c.r[acked], 5000 + acked),
		   "and replays after the others");
		collect_free(&c);
	}
	snprintf(cmd, sizeof(cmd), "umount '%s'", mnt);
	ok(system(cmd) == 0, "tmpfs unmounted");
}

/*
 * The journal key lives as long as a mount: only in guarded pages
 * (sodium_malloc), never in the ordinary heap, and nowhere once closed.
 */
static void test_key_memory(void)
{
	const char *dir = harness_path("keymem");
	uint8_t *k = sodium_malloc(IPMD_KEY_BYTES), masked[IPMD_KEY_BYTES];
	struct memscan_hit hits[16];
	struct journal *j = NULL;
	int n, unguarded = 0;

	if (!k)
		harness_bail("sodium_malloc");
	randombytes_buf(k, IPMD_KEY_BYTES);
	memscan_mask(masked, k, IPMD_KEY_BYTES);
	is_int(journal_open(dir, k, 1, &j), 0, "key memory: open");
	is_int(journal_append(j, (const uint8_t *)"x", 1, true), 0,
	       "key memory: append");
	n = memscan(masked, IPMD_KEY_BYTES, hits, 16);
	for (int i = 0; i < n && i < 16; i++)
		unguarded += !hits[i].guarded;
	ok(n >= 2, "the key is in memory while open (%d copies)", n);
	is_int(unguarded, 0, "every copy is in guarded (sodium_malloc) pages");
	is_int(journal_close(j), 0, "key memory: close");
	sodium_free(k);
	is_int(memscan(masked, IPMD_KEY_BYTES, hits, 16), 0,
	       "closed: the key is nowhere in memory");
}

/* The mount's and fsck's one sentence for each kind of tail: only a
 * replay that cut it says "cut"; each names its own bytes. */
static void test_tail_words(void)
{
	struct journal_replay_stats js = {.torn_tail_bytes = 7,
					  .unfinished_tail_bytes = 7};
	char b[512];
	ok(!journal_tail_say(&js, JOURNAL_TAIL_UNOPENABLE, false, b,
			     sizeof(b)) && !b[0],
	   "tail words: an unfinished write alone is no unopenable record");
	ok(journal_tail_say(&js, JOURNAL_TAIL_UNFINISHED, false, b,
			    sizeof(b)) &&
		   strstr(b, "unfinished write at the end of the journal "
			     "(7 bytes)") &&
		   strstr(b, "the next read-write mount cuts it off") &&
		   !strstr(b, "cut off") && !strstr(b, "cut its"),
	   "tail words, left: %s", b);
	ok(journal_tail_say(&js, JOURNAL_TAIL_UNFINISHED, true, b,
			    sizeof(b)) &&
		   !strncmp(b, "journal: cut off an unfinished write", 36) &&
		   !strstr(b, "next read-write mount"),
	   "tail words, cut: %s", b);
	js.torn_tail_bytes = 40;
	ok(journal_tail_say(&js, JOURNAL_TAIL_UNOPENABLE, false, b,
			    sizeof(b)) &&
		   strstr(b, "last record (33 bytes) does not open") &&
		   !strstr(b, "cut its"),
	   "tail words, a record that does not open, left: %s", b);
	ok(journal_tail_say(&js, JOURNAL_TAIL_UNOPENABLE, true, b, 8) &&
		   strlen(b) == 7,
	   "tail words: cut short to the buffer");
}

int main(void)
{
	harness_pattern_key(key, sizeof(key), 13, 7);
	test_tail_words();
	test_round_trip();
	test_sync_accounting();
	test_no_plaintext();
	test_torn_tail();
	test_unfinished_tail();
	test_damage_not_unfinished();
	test_cut_budget();
	test_corruption();
	test_drop_before();
	test_missing_generation();
	test_concurrent();
	test_enospc();
	test_key_memory();
	return tap_done();
}
