/*
 * tests/fuzz/fuzz_journal.c — libFuzzer target: journal replay.
 *
 * First byte picks the mode:
 *  even: the rest is a whole journal file (framing, lengths, torn tails,
 *        bytes that don't open);
 *  odd:  the rest is record payloads cut at NUL bytes, appended through
 *        journal_append under the right key, so every payload reaches
 *        record_replay (or wal_replay_block) and record_merge_parse.  The tree that replay builds
 *        must seal and load again (manifest): a record the replay accepts
 *        never leaves a tree the commit can't write.  Then the file is cut
 *        at a point the second byte picks: a truncated journal replays the
 *        records before the cut and reports no corruption.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/model/manifest.h"
#include "fs/model/record.h"
#include "fs/store/journal.h"
#include "fs/store/wal_store.h"
#include "tests/fuzz/fuzz_store.h"

static char dir[64], file[128];

/* libFuzzer ends with exit(): leave no directory behind. */
static void remove_dir(void)
{
	unlink(file);
	rmdir(dir);
}

static void init_dir(void)
{
	if (dir[0])
		return;
	snprintf(dir, sizeof(dir), "%s/ipmd-fuzz-jnl-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(file, sizeof(file), "%s/%016llx%s", dir, 1ULL,
		 JOURNAL_SUFFIX);
	atexit(remove_dir);
}

struct ctx {
	struct fs_tree *t;
	struct blockstore *bs;
	uint64_t records;
};

static int apply(uint64_t gen, uint64_t seq, const uint8_t *payload,
		 size_t len, void *arg)
{
	struct ctx *c = arg;
	int e;

	(void)gen;
	(void)seq;
	c->records++;
	if (c->bs && wal_replay_block(c->bs, payload, len, &e))
		return 0;
	if (c->t)
		(void)record_replay(c->t, payload, len);
	/* A merge record is parsed on its own (its replay needs blocks). */
	struct record_merge m;
	(void)record_merge_parse(payload, len, &m);
	return 0;
}

static void write_file(const uint8_t *data, size_t size)
{
	FILE *f = fopen(file, "wb");

	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct timespec epoch = {0, 0};
	uint8_t key[IPMD_KEY_BYTES], conv[IPMD_KEY_BYTES];
	struct journal_replay_stats js;
	struct ctx c = {0};
	struct fuzz_store *s;
	struct journal *j;

	if (seal_init() != 0)
		abort();
	init_dir();
	unlink(file);
	fuzz_key(key);
	memset(conv, 9, sizeof(conv));
	if (size < 2)
		return 0;
	s = fuzz_store_new(NULL, 0, BLOCK_CHUNK);
	c.bs = &s->bs;
	if (tree_new(&c.t, 0, 0, &epoch) != 0)
		abort();

	if (!(data[0] & 1)) {
		write_file(data + 1, size - 1);
		(void)journal_replay(dir, key, 1, JOURNAL_REPLAY_REPAIR_TAIL,
				     apply, &c, &js);
	} else {
		size_t start = 2, cut;
		long long end;
		uint64_t whole;
		struct obj_store st = {.bs = &s->bs, .convergence = conv,
				       .chunk_size = OBJ_CHUNK_DEFAULT,
				       .fanout = 4096};
		struct chunk_ref root;
		struct fs_tree *t2 = NULL;

		if (journal_open(dir, key, 1, &j) != 0)
			abort();
		for (size_t i = 2; i <= size; i++) {
			if (i < size && data[i] != 0)
				continue;
			if (journal_append(j, data + start, i - start,
					   false) != 0)
				abort();
			start = i + 1;
		}
		if (journal_close(j) != 0)
			abort();
		if (journal_replay(dir, key, 1, 0, apply, &c, &js) != 0)
			abort();
		whole = c.records;
		/* What replay built is what a commit must be able to write. */
		c.t->next_ino = c.t->next_ino > 1 ? c.t->next_ino : 2;
		if (manifest_seal(c.t, &st, &root) != 0 ||
		    manifest_load(&st, &root, c.t->next_ino, &t2) != 0)
			abort();
		tree_free(t2);

		/* Cut the file anywhere: never corruption, never more. */
		{
			FILE *f = fopen(file, "rb");
			if (!f || fseek(f, 0, SEEK_END) != 0 ||
			    (end = ftell(f)) < 0 || fclose(f) != 0)
				abort();
		}
		cut = (size_t)end * data[1] / 255;
		if (truncate(file, (off_t)cut) != 0)
			abort();
		c.records = 0;
		tree_free(c.t);
		c.t = NULL;
		if (journal_replay(dir, key, 1, JOURNAL_REPLAY_REPAIR_TAIL,
				   apply, &c, &js) != 0 ||
		    c.records > whole)
			abort();
	}
	tree_free(c.t);
	bs_close(&s->bs);
	unlink(file);
	return 0;
}
