/* tests/unit/test_history.c — fs/store/history.c and ipfs/cidset.c: naming a past
 * state (--at), walking the commit chain (seq, parents, the pruned end,
 * breaks), and the CID set the reachability walks use. */
#include "fs/store/history.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/seal.h"
#include "ipfs/bs_local.h"
#include "ipfs/cidset.h"
#include "tests/tap.h"

#define NCOMMITS 6
#define T0_NS 1795432700000000000LL /* 2026-11-23T08:38:20Z */
#define STEP_NS 60000000000LL       /* a minute between commits */

static void bail(const char *what)
{
	printf("Bail out! %s\n", what);
	exit(255);
}

static void fake_cid(struct cid *c, uint64_t seed)
{
	uint8_t block[16];
	memcpy(block, &seed, sizeof(seed));
	memset(block + 8, 0x5a, 8);
	cid_of_raw_block(c, block, sizeof(block));
}

static void test_parse(void)
{
	struct history_at at;
	ok(history_parse_at("12", &at) == 0 && at.kind == AT_SEQ &&
		   at.seq == 12,
	   "digits are a seq");
	ok(history_parse_at("0", &at) == -EINVAL, "seq 0 is refused");
	ok(history_parse_at("-3", &at) == -EINVAL, "a negative seq is refused");
	ok(history_parse_at("", &at) == -EINVAL, "empty is refused");
	ok(history_parse_at("yesterday", &at) == -EINVAL, "words are refused");
	struct cid c;
	char text[CID_TEXT_MAX];
	fake_cid(&c, 7);
	cid_format(&c, text, sizeof(text));
	ok(history_parse_at(text, &at) == 0 && at.kind == AT_CID &&
		   cid_equal(&at.cid, &c),
	   "a bafkrei… CID names a commit");
	ok(history_parse_at("2026-11-23T05:00:00Z", &at) == 0 &&
		   at.kind == AT_TIME &&
		   at.time_ns == 1795410000LL * 1000000000LL + 999999999,
	   "a whole second stands for its last instant");
	ok(history_parse_at("2026-11-23T05:00", &at) == 0 &&
		   at.time_ns == 1795410060LL * 1000000000LL - 1,
	   "a minute stands for its last instant");
	ok(history_parse_at("2026-11-23", &at) == 0 &&
		   at.time_ns == 1795478400LL * 1000000000LL - 1,
	   "a day stands for its last instant");
	ok(history_parse_at("2026-11-23T05:00:00.000000123Z", &at) == 0 &&
		   at.time_ns == 1795410000LL * 1000000000LL + 123,
	   "nanoseconds are exact");
	ok(history_parse_at("2026-11-23T05:00:00.5", &at) == 0 &&
		   at.time_ns == 1795410000LL * 1000000000LL + 500000000,
	   "a fraction without Z, padded");
	ok(history_parse_at("2026-11-23T05:00:00.Z", &at) == -EINVAL,
	   "a dot without digits is refused");
	ok(history_parse_at("2026-11-23T05:00:00Zjunk", &at) == -EINVAL,
	   "trailing junk is refused");
	char out[HISTORY_TIME_MAX];
	history_format_time(0, out);
	is_str(out, "1970-01-01T00:00:00Z", "format: the epoch");
	history_format_time(1795410000LL * 1000000000LL + 999999999, out);
	is_str(out, "2026-11-23T05:00:00Z", "format: whole seconds, UTC");
}

struct seen {
	uint64_t seqs[NCOMMITS + 1];
	size_t n;
};

static int note_seq(const struct cid *cid, const struct commit *c, void *arg)
{
	(void)cid;
	struct seen *s = arg;
	if (s->n < NCOMMITS + 1)
		s->seqs[s->n++] = c->seq;
	return 0;
}

static void test_chain(void)
{
	struct mailbox_keys k;
	uint8_t master[IPMD_MASTER_BYTES];
	randombytes_buf(master, sizeof(master));
	if (keys_from_master(&k, master))
		bail("keys");
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/store", tap_tempdir());
	struct blockstore *bs;
	if (bs_local_open(dir, &bs))
		bail("bs_local_open");
	struct cid cids[NCOMMITS + 1];
	struct commit c;
	memset(&c, 0, sizeof(c));
	for (uint64_t i = 1; i <= NCOMMITS; i++) {
		c.seq = i;
		c.parent = i > 1 ? cids[i - 1] : (struct cid){0};
		fake_cid(&c.tree.cid, i);
		c.time_ns = T0_NS + (int64_t)i * STEP_NS;
		c.next_ino = 10;
		if (commit_write(bs, &k, &c, &cids[i]))
			bail("commit_write");
	}
	struct seen s = {{0}, 0};
	struct chain_stop stop;
	int e = chain_walk(bs, &k, &cids[NCOMMITS], NULL, note_seq, &s,
			   &stop);
	ok(e == 0 && s.n == NCOMMITS && s.seqs[0] == NCOMMITS &&
		   s.seqs[NCOMMITS - 1] == 1 && !stop.pruned,
	   "the whole chain, newest first, ends at seq 1");
	s.n = 0;
	e = chain_walk(bs, &k, &cids[NCOMMITS], &cids[3], note_seq, &s,
		       &stop);
	ok(e == 0 && s.n == NCOMMITS - 2 && stop.pruned &&
		   s.seqs[s.n - 1] == 3,
	   "a chain pruned at 3 ends there, normally");

	/* resolve */
	struct history_at at = {.kind = AT_SEQ, .seq = 4};
	struct cid got;
	struct commit gc;
	ok(history_resolve(bs, &k, &cids[NCOMMITS], NULL, &at, &got, &gc) ==
			   0 &&
		   cid_equal(&got, &cids[4]) && gc.seq == 4,
	   "resolve seq 4");
	at = (struct history_at){.kind = AT_TIME,
				 .time_ns = T0_NS + 2 * STEP_NS + 30};
	ok(history_resolve(bs, &k, &cids[NCOMMITS], NULL, &at, &got, &gc) ==
			   0 &&
		   gc.seq == 2,
	   "resolve a time: the newest commit at or before it");
	at.time_ns = T0_NS;
	ok(history_resolve(bs, &k, &cids[NCOMMITS], NULL, &at, &got, &gc) ==
		   -ENOENT,
	   "a time before the first commit: none");
	at = (struct history_at){.kind = AT_SEQ, .seq = 2};
	ok(history_resolve(bs, &k, &cids[NCOMMITS], &cids[3], &at, &got,
			   &gc) == -ENOENT,
	   "a seq below the pruned end: none");
	at = (struct history_at){.kind = AT_SEQ, .seq = 99};
	ok(history_resolve(bs, &k, &cids[NCOMMITS], NULL, &at, &got, &gc) ==
		   -ENOENT,
	   "a seq above the head: none");

	/* A gap in seq, as fsck --repair's rollback commit makes: commit
	 * NCOMMITS + 2 whose parent is NCOMMITS. */
	c.seq = NCOMMITS + 2;
	c.parent = cids[NCOMMITS];
	struct cid gap;
	if (commit_write(bs, &k, &c, &gap))
		bail("commit_write");
	s.n = 0;
	e = chain_walk(bs, &k, &gap, NULL, note_seq, &s, &stop);
	ok(e == 0 && s.n == NCOMMITS + 1 && s.seqs[0] == NCOMMITS + 2 &&
		   s.seqs[1] == NCOMMITS && s.seqs[NCOMMITS] == 1,
	   "a seq gap (a repair's rollback commit) walks on to seq 1");
	/* A parent whose seq is not below its child's: the walk could loop
	 * (or run long) on such blocks, so it stops there. */
	c.seq = NCOMMITS;
	c.parent = cids[NCOMMITS];
	struct cid same;
	if (commit_write(bs, &k, &c, &same))
		bail("commit_write");
	e = chain_walk(bs, &k, &same, NULL, NULL, NULL, &stop);
	ok(e == -EPROTO && stop.want_seq == NCOMMITS - 1 &&
		   stop.got_seq == NCOMMITS && cid_equal(&stop.at, &cids[NCOMMITS]),
	   "a parent with its child's seq: -EPROTO at that commit");
	c.seq = NCOMMITS - 1;
	struct cid above;
	if (commit_write(bs, &k, &c, &above))
		bail("commit_write");
	e = chain_walk(bs, &k, &above, NULL, NULL, NULL, &stop);
	ok(e == -EPROTO && stop.got_seq == NCOMMITS,
	   "a parent with a higher seq than its child: -EPROTO");
	/* A parent that is missing. */
	c.seq = 5;
	fake_cid(&c.parent, 1234);
	struct cid orphan;
	if (commit_write(bs, &k, &c, &orphan))
		bail("commit_write");
	e = chain_walk(bs, &k, &orphan, NULL, NULL, NULL, &stop);
	ok(e == -ENOENT && stop.commits == 1, "a missing parent: -ENOENT");
	/* A parentless commit that is not seq 1. */
	c.parent.len = 0;
	struct cid root;
	if (commit_write(bs, &k, &c, &root))
		bail("commit_write");
	e = chain_walk(bs, &k, &root, NULL, NULL, NULL, &stop);
	ok(e == -EPROTO && stop.parentless && stop.got_seq == 5,
	   "a parentless commit with seq 5: -EPROTO, said so");
	/* Another mailbox's key: every commit is refused. */
	struct mailbox_keys other;
	randombytes_buf(master, sizeof(master));
	if (keys_from_master(&other, master))
		bail("keys");
	e = chain_walk(bs, &other, &cids[NCOMMITS], NULL, NULL, NULL, &stop);
	ok(e == -EBADMSG || e == -EKEYREJECTED,
	   "another mailbox's key opens none of it (%d)", e);
	/* Sealed under this mailbox's manifest key but signed by another
	 * key: it opens, and its signature is refused. */
	sodium_mprotect_readwrite(other.manifest); /* keys are read-only */
	memcpy(other.manifest, k.manifest, IPMD_KEY_BYTES);
	c = (struct commit){.seq = NCOMMITS + 1, .parent = cids[NCOMMITS],
			    .time_ns = T0_NS, .next_ino = 10};
	fake_cid(&c.tree.cid, 77);
	struct cid forged;
	if (commit_write(bs, &other, &c, &forged))
		bail("commit_write");
	e = chain_walk(bs, &k, &forged, NULL, NULL, NULL, &stop);
	ok(e == -EKEYREJECTED && cid_equal(&stop.at, &forged),
	   "a commit signed by another key: -EKEYREJECTED, named");
	keys_free(&other);
	keys_free(&k);
	bs_close(bs);
	sodium_memzero(master, sizeof(master));
}

static void test_cidset(void)
{
	struct cid_set *a = cid_set_new(), *b = cid_set_new();
	if (!a || !b)
		bail("cid_set_new");
	struct cid c;
	int added = 0, again = 0;
	for (uint64_t i = 0; i < 5000; i++) {
		fake_cid(&c, i);
		added += cid_set_add(a, &c) == 1;
	}
	for (uint64_t i = 0; i < 5000; i += 7) {
		fake_cid(&c, i);
		again += cid_set_add(a, &c) == 0;
	}
	ok(added == 5000 && again == 715 && cid_set_count(a) == 5000,
	   "5000 distinct adds grow the set; re-adds are no-ops");
	bool all = true;
	for (uint64_t i = 0; i < 5000; i++) {
		fake_cid(&c, i);
		all = all && cid_set_has(a, &c);
	}
	fake_cid(&c, 99999);
	ok(all && !cid_set_has(a, &c), "members found, a stranger not");
	for (uint64_t i = 4000; i < 6000; i++) {
		fake_cid(&c, i);
		cid_set_add(b, &c);
	}
	ok(cid_set_merge(a, b) == 0 && cid_set_count(a) == 6000,
	   "merge adds only the new members");
	struct cid empty = {0};
	ok(cid_set_add(a, &empty) == -EINVAL && !cid_set_has(a, &empty),
	   "an empty CID is refused");
	cid_set_free(a);
	cid_set_free(b);
}

int main(void)
{
	if (seal_init() != 0)
		bail("seal_init");
	test_parse();
	test_chain();
	test_cidset();
	return tap_done();
}
