/* tests/unit/test_history.c — fs/store/history.c and ipfs/cidset.c: naming a past
 * state (--at), walking the commit chain (seq, parents, the pruned end,
 * breaks) and the commit DAG (a diamond, a criss-cross, a merge whose other
 * line is long; gc's boundary, broken edges), and the CID set the
 * reachability walks use. */
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
#include "tests/unit/harness.h"

#define NCOMMITS 6
#define T0_NS 1795432700000000000LL /* 2026-11-23T08:38:20Z */
#define STEP_NS 60000000000LL       /* a minute between commits */

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
		harness_bail("keys");
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/store", tap_tempdir());
	struct blockstore *bs;
	if (bs_local_open(dir, &bs))
		harness_bail("bs_local_open");
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
			harness_bail("commit_write");
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

	/* gc's boundary as the mount reads it: STORE/pruned afresh each
	 * time (a gc beside the mount moves it), the seq of its commit. */
	{
		struct store st;
		memset(&st, 0, sizeof(st));
		st.keys = k;
		if (snprintf(st.paths.pruned, sizeof(st.paths.pruned),
			     "%.200s/pruned", dir) < 0)
			harness_bail("snprintf");
		is_int((int)store_gc_boundary(&st, bs), 0,
		       "gc boundary: none without STORE/pruned");
		struct head p = {.commit = cids[5], .seq = 5, .max_seq = 5};
		if (head_write(st.paths.pruned, k.journal, BLOCK_STATE_PRUNED,
			       &p))
			harness_bail("head_write");
		is_int((int)store_gc_boundary(&st, bs), 5,
		       "gc boundary: STORE/pruned's commit's seq");
		p = (struct head){.commit = cids[6], .seq = 6, .max_seq = 6};
		if (head_write(st.paths.pruned, k.journal, BLOCK_STATE_PRUNED,
			       &p))
			harness_bail("head_write");
		is_int((int)store_gc_boundary(&st, bs), 6,
		       "gc boundary: moved by another gc, read again");
		fake_cid(&p.commit, 999);
		if (head_write(st.paths.pruned, k.journal, BLOCK_STATE_PRUNED,
			       &p))
			harness_bail("head_write");
		is_int((int)store_gc_boundary(&st, bs), 0,
		       "gc boundary: none when its commit does not read");
		sodium_memzero(&st.keys, sizeof(st.keys));
	}

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
		harness_bail("commit_write");
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
		harness_bail("commit_write");
	e = chain_walk(bs, &k, &same, NULL, NULL, NULL, &stop);
	ok(e == -EPROTO && stop.want_seq == NCOMMITS - 1 &&
		   stop.got_seq == NCOMMITS && cid_equal(&stop.at, &cids[NCOMMITS]),
	   "a parent with its child's seq: -EPROTO at that commit");
	c.seq = NCOMMITS - 1;
	struct cid above;
	if (commit_write(bs, &k, &c, &above))
		harness_bail("commit_write");
	e = chain_walk(bs, &k, &above, NULL, NULL, NULL, &stop);
	ok(e == -EPROTO && stop.got_seq == NCOMMITS,
	   "a parent with a higher seq than its child: -EPROTO");
	/* A parent that is missing. */
	c.seq = 5;
	fake_cid(&c.parent, 1234);
	struct cid orphan;
	if (commit_write(bs, &k, &c, &orphan))
		harness_bail("commit_write");
	e = chain_walk(bs, &k, &orphan, NULL, NULL, NULL, &stop);
	ok(e == -ENOENT && stop.commits == 1, "a missing parent: -ENOENT");
	/* A parentless commit that is not seq 1. */
	c.parent.len = 0;
	struct cid root;
	if (commit_write(bs, &k, &c, &root))
		harness_bail("commit_write");
	e = chain_walk(bs, &k, &root, NULL, NULL, NULL, &stop);
	ok(e == -EPROTO && stop.parentless && stop.got_seq == 5,
	   "a parentless commit with seq 5: -EPROTO, said so");
	/* Another mailbox's key: every commit is refused. */
	struct mailbox_keys other;
	randombytes_buf(master, sizeof(master));
	if (keys_from_master(&other, master))
		harness_bail("keys");
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
		harness_bail("commit_write");
	e = chain_walk(bs, &k, &forged, NULL, NULL, NULL, &stop);
	ok(e == -EKEYREJECTED && cid_equal(&stop.at, &forged),
	   "a commit signed by another key: -EKEYREJECTED, named");
	keys_free(&other);
	keys_free(&k);
	bs_close(bs);
	sodium_memzero(master, sizeof(master));
}

/* ---- the commit DAG ---- */

struct dag_fixture {
	struct mailbox_keys k;
	struct blockstore *bs;
};

/* A commit of seq on parent (NULL: none) merging merged (NULL: none),
 * at time t; its tree a fake CID (the walks never load trees). */
static struct cid dag_commit(struct dag_fixture *x, uint64_t seq,
			     const struct cid *parent,
			     const struct cid *merged, int64_t t)
{
	static uint64_t tree_seed = 5000;
	struct commit c = {.seq = seq, .time_ns = t, .next_ino = 10};
	if (parent)
		c.parent = *parent;
	if (merged) {
		c.nmerged = 1;
		c.merged[0] = *merged;
	}
	fake_cid(&c.tree.cid, tree_seed++);
	struct cid out;
	if (commit_write(x->bs, &x->k, &c, &out))
		harness_bail("commit_write");
	return out;
}

/* What a walk visited, in order. */
struct visits {
	struct commit_list l;
};

static int visit(const struct cid *cid, const struct commit *c, void *arg)
{
	return commit_list_add(cid, c, &((struct visits *)arg)->l);
}

/* Seqs never rise, no CID twice. */
static bool well_ordered(const struct commit_list *l)
{
	for (size_t i = 1; i < l->n; i++) {
		if (l->commits[i].seq > l->commits[i - 1].seq)
			return false;
		for (size_t j = 0; j < i; j++)
			if (cid_equal(&l->cids[i], &l->cids[j]))
				return false;
	}
	return true;
}

static bool visited(const struct commit_list *l, const struct cid *c)
{
	for (size_t i = 0; i < l->n; i++)
		if (cid_equal(&l->cids[i], c))
			return true;
	return false;
}

static int dag_count(struct dag_fixture *x, const struct cid *from,
		     const struct cid *pruned, unsigned flags,
		     struct chain_stop *stop, struct visits *v)
{
	commit_list_free(&v->l);
	return dag_walk(x->bs, &x->k, from, pruned, flags, visit, v, stop);
}

/* Visit, but follow no parent of a commit of seq 2. */
static int visit_above_2(const struct cid *cid, const struct commit *c,
			 void *arg)
{
	int e = visit(cid, c, arg);
	return e ? e : c->seq == 2 ? WALK_END_LINE : 0;
}

/* base(1) → a(2), b(2) → m(3) = a + b. */
static void test_diamond(struct dag_fixture *x)
{
	struct cid base = dag_commit(x, 1, NULL, NULL, T0_NS);
	struct cid a = dag_commit(x, 2, &base, NULL, T0_NS + STEP_NS);
	struct cid b = dag_commit(x, 2, &base, NULL, T0_NS + 2 * STEP_NS);
	struct cid m = dag_commit(x, 3, &a, &b, T0_NS + 3 * STEP_NS);
	struct visits v = {{0}};
	struct chain_stop stop;
	int e = dag_count(x, &m, NULL, 0, &stop, &v);
	ok(e == 0 && v.l.n == 4 && well_ordered(&v.l) &&
		   cid_equal(&v.l.cids[0], &m) &&
		   cid_equal(&v.l.cids[3], &base) && visited(&v.l, &b) &&
		   stop.merges == 1 && stop.commits == 4,
	   "diamond: every commit once, highest seq first, base last");
	commit_list_free(&v.l);
	e = dag_walk(x->bs, &x->k, &m, NULL, 0, visit_above_2, &v, &stop);
	ok(e == 0 && v.l.n == 3 && !visited(&v.l, &base),
	   "WALK_END_LINE: the lines end there, the walk goes on");
	struct seen s = {{0}, 0};
	e = chain_walk(x->bs, &x->k, &m, NULL, note_seq, &s, &stop);
	ok(e == 0 && s.n == 3 && stop.merges == 1,
	   "diamond: the first-parent chain is the merging device's line");
	/* --at TIME across the DAG: b is the newest at or before its time,
	 * though the first-parent line never passes it. */
	struct history_at at = {.kind = AT_TIME,
				.time_ns = T0_NS + 2 * STEP_NS + 5};
	struct cid got;
	struct commit gc;
	e = history_resolve(x->bs, &x->k, &m, NULL, &at, &got, &gc);
	ok(e == 0 && cid_equal(&got, &b),
	   "--at TIME: the other line's commit when it is the newest");
	at.time_ns = T0_NS + STEP_NS;
	e = history_resolve(x->bs, &x->k, &m, NULL, &at, &got, &gc);
	ok(e == 0 && cid_equal(&got, &a), "--at TIME: and this line's");
	at = (struct history_at){.kind = AT_SEQ, .seq = 2};
	e = history_resolve(x->bs, &x->k, &m, NULL, &at, &got, &gc);
	ok(e == 0 && cid_equal(&got, &a),
	   "--at SEQ: of two commits of seq 2, the first-parent line's");
	commit_list_free(&v.l);
}

/* Two devices merged each other's heads at once, then one merged both
 * merges: x(3) = a + b and y(3) = b + a, z(4) = x + y. */
static void test_criss_cross(struct dag_fixture *x)
{
	struct cid base = dag_commit(x, 1, NULL, NULL, T0_NS);
	struct cid a = dag_commit(x, 2, &base, NULL, T0_NS + 1);
	struct cid b = dag_commit(x, 2, &base, NULL, T0_NS + 2);
	struct cid mx = dag_commit(x, 3, &a, &b, T0_NS + 3);
	struct cid my = dag_commit(x, 3, &b, &a, T0_NS + 4);
	struct cid z = dag_commit(x, 4, &mx, &my, T0_NS + 5);
	struct visits v = {{0}};
	struct chain_stop stop;
	int e = dag_count(x, &z, NULL, 0, &stop, &v);
	ok(e == 0 && v.l.n == 6 && well_ordered(&v.l) &&
		   visited(&v.l, &my) && visited(&v.l, &b) &&
		   stop.merges == 3,
	   "criss-cross: six commits, each once, three merges");
	/* gc's boundary at seq 3 (STORE/pruned names x): both merges stay,
	 * the lines end there without reading a or b. */
	e = dag_count(x, &z, &mx, 0, &stop, &v);
	ok(e == 0 && v.l.n == 3 && stop.pruned && visited(&v.l, &my) &&
		   !visited(&v.l, &a),
	   "criss-cross pruned at seq 3: z, x and y, ended normally");
	commit_list_free(&v.l);
}

/* A merge whose other line is long: base(1), a(2) on this line,
 * o2 … o11 on the other, m(12) = a + o11. */
static void test_long_line(struct dag_fixture *x)
{
	struct cid base = dag_commit(x, 1, NULL, NULL, T0_NS);
	struct cid a = dag_commit(x, 2, &base, NULL, T0_NS + 1);
	struct cid o[12];
	o[1] = base;
	for (uint64_t i = 2; i <= 11; i++)
		o[i] = dag_commit(x, i, &o[i - 1], NULL, T0_NS + (int64_t)i);
	struct cid m = dag_commit(x, 12, &a, &o[11], T0_NS + 12);
	struct visits v = {{0}};
	struct chain_stop stop;
	int e = dag_count(x, &m, NULL, 0, &stop, &v);
	ok(e == 0 && v.l.n == 13 && well_ordered(&v.l) &&
		   cid_equal(&v.l.cids[1], &o[11]) &&
		   (cid_equal(&v.l.cids[10], &a) ||
		    cid_equal(&v.l.cids[11], &a)) &&
		   cid_equal(&v.l.cids[12], &base) && !stop.pruned,
	   "long other line: 13 commits, seq order (a with o2, after o3)");
	/* gc kept seq ≥ 10 (m, o11, o10): a is below the boundary, read
	 * for its seq and not visited; o10 ends the other line. */
	e = dag_count(x, &m, &o[10], 0, &stop, &v);
	ok(e == 0 && v.l.n == 3 && stop.pruned && !visited(&v.l, &a) &&
		   visited(&v.l, &o[10]),
	   "pruned at seq 10: m, o11, o10; a below it ends its line");
	/* A line broken above the boundary: a missing merged parent. */
	struct cid lost;
	fake_cid(&lost, 4242);
	struct cid broken = dag_commit(x, 13, &m, &lost, T0_NS + 13);
	e = dag_count(x, &broken, NULL, 0, &stop, &v);
	ok(e == -ENOENT && stop.merged && cid_equal(&stop.at, &lost) &&
		   cid_equal(&stop.child, &broken) && stop.want_seq == 12,
	   "a merged parent missing: -ENOENT, named as merged into its child");
	e = dag_count(x, &broken, NULL, DAG_MISSING_ENDS_LINE, &stop, &v);
	ok(e == 0 && stop.missing && v.l.n == 14,
	   "DAG_MISSING_ENDS_LINE: that line ends, the rest is walked");
	/* A merged parent whose seq is not below the merge's. */
	struct cid flat = dag_commit(x, 11, &a, &o[11], T0_NS + 14);
	e = dag_count(x, &flat, NULL, 0, &stop, &v);
	ok(e == -EPROTO && stop.merged && stop.got_seq == 11 &&
		   stop.want_seq == 10 && cid_equal(&stop.at, &o[11]),
	   "a merge not above its merged parent: -EPROTO on that edge");
	/* The same parent reached again from a commit below its seq. */
	struct cid twice = dag_commit(x, 12, &o[11], &flat, T0_NS + 15);
	e = dag_count(x, &twice, NULL, 0, &stop, &v);
	ok(e == -EPROTO && cid_equal(&stop.at, &o[11]) &&
		   cid_equal(&stop.child, &flat),
	   "a parent already queued, reached from a lower child: -EPROTO");
	/* A parentless commit that is not seq 1 ends a line only at the
	 * boundary (fsck --repair cut the history there). */
	struct cid orphan = dag_commit(x, 7, NULL, NULL, T0_NS + 16);
	struct cid top = dag_commit(x, 9, &orphan, NULL, T0_NS + 17);
	e = dag_count(x, &top, NULL, 0, &stop, &v);
	ok(e == -EPROTO && stop.parentless && stop.got_seq == 7,
	   "a parentless commit of seq 7: -EPROTO");
	e = dag_count(x, &top, &orphan, 0, &stop, &v);
	ok(e == 0 && v.l.n == 2, "… unless the history was cut there");
	commit_list_free(&v.l);
}

/* A store over x->bs that answers a block it lacks as a node would:
 * with error instead of -ENOENT (has passes through: 0, absent). */
struct node_like {
	struct blockstore base;
	int error;
};

static int node_like_get(struct blockstore *bs, const struct cid *cid,
			 uint8_t *buf, size_t cap, size_t *len)
{
	int e = bs_get(bs_parent(bs), cid, buf, cap, len);
	return e == -ENOENT ? ((struct node_like *)bs)->error : e;
}

static const struct blockstore_ops node_like_ops = {
	.version = BLOCKSTORE_OPS_VERSION,
	.name = "node-like",
	.get = node_like_get,
};

/* --at TIME over m (o3's parent lost) through a node_like layer whose
 * gets of what is not there fail with error: 0 and the commit found, or
 * the walk's error.  The layer is never closed (it owns no part of the
 * stack). */
static int absent_through(struct dag_fixture *x, const struct cid *m,
			  uint64_t time_ns, int error, struct cid *got)
{
	struct node_like n = {.error = error};
	bs_wrap(&n.base, &node_like_ops, x->bs);
	struct history_at at = {.kind = AT_TIME, .time_ns = time_ns};
	struct walk_ends we = {.absent = true};
	struct commit gc;
	return history_resolve_ends(&n.base, &x->k, m, &we, &at, got, &gc);
}

/* A --from-node view (walk_ends.absent): no record of where lines end,
 * so a parent the store lacks ends its line — base(1), a(2) on this
 * line; o3(3) on a parent never fetched, o4(4); m(5) = a + o4.  A
 * parent that is there but is no commit stays damage. */
static void test_absent_end(struct dag_fixture *x)
{
	struct cid lost, bad;
	fake_cid(&lost, 4343);
	struct cid base = dag_commit(x, 1, NULL, NULL, T0_NS);
	struct cid a = dag_commit(x, 2, &base, NULL, T0_NS + STEP_NS);
	struct cid o3 = dag_commit(x, 3, &lost, NULL, T0_NS + 2 * STEP_NS);
	struct cid o4 = dag_commit(x, 4, &o3, NULL, T0_NS + 3 * STEP_NS);
	struct cid m = dag_commit(x, 5, &a, &o4, T0_NS + 4 * STEP_NS);
	struct history_at at = {.kind = AT_TIME, .time_ns = T0_NS + STEP_NS};
	struct walk_ends we = {.absent = true};
	struct cid got;
	struct commit gc;
	/* The walk passes o4 and o3 (after the time) to o3's parent. */
	ok(history_resolve(x->bs, &x->k, &m, NULL, &at, &got, &gc) ==
		   -ENOENT,
	   "absent end: with no record, o3's missing parent is damage");
	ok(history_resolve_ends(x->bs, &x->k, &m, &we, &at, &got, &gc) ==
			   0 &&
		   cid_equal(&got, &a),
	   "… with walk_ends.absent it ends o3's line: --at TIME finds a");
	at.time_ns = T0_NS + 2 * STEP_NS;
	ok(history_resolve_ends(x->bs, &x->k, &m, &we, &at, &got, &gc) ==
			   0 &&
		   cid_equal(&got, &o3),
	   "… and o3 itself, the line's last commit");
	/* Through a node: what it does not find in time ends the line once
	 * the node says it lacks it; a node that fails otherwise (down, an
	 * I/O error) is no answer, and the walk stops there. */
	ok(absent_through(x, &m, T0_NS + STEP_NS, -ETIMEDOUT, &got) == 0 &&
		   cid_equal(&got, &a),
	   "… a parent the node did not find in time, and then says it "
	   "lacks, ends the line too");
	int ne = absent_through(x, &m, T0_NS + STEP_NS, -ECONNREFUSED, &got);
	ok(ne == -ECONNREFUSED, "… a node that is down: no end, the walk "
	   "fails with its error (%s)", strerror(-ne));
	ne = absent_through(x, &m, T0_NS + STEP_NS, -EIO, &got);
	ok(ne == -EIO, "… an I/O error is no answer either (%s)",
	   strerror(-ne));
	struct visits v = {{0}};
	struct chain_stop stop;
	ok(dag_walk_ends(x->bs, &x->k, &m, &we, 0, visit, &v, &stop) == 0 &&
		   stop.fetched && v.l.n == 5,
	   "… the whole walk: 5 commits, the line ended (stop.fetched)");
	commit_list_free(&v.l);

	/* A block the store has that is no commit of this key. */
	static const uint8_t junk[64] = "not a commit";
	if (bs_put(x->bs, junk, sizeof(junk), 0, &bad))
		harness_bail("bs_put");
	struct cid b3 = dag_commit(x, 3, &bad, NULL, T0_NS + 2 * STEP_NS);
	struct cid b4 = dag_commit(x, 4, &a, &b3, T0_NS + 3 * STEP_NS);
	at.time_ns = T0_NS + STEP_NS;
	int e = history_resolve_ends(x->bs, &x->k, &b4, &we, &at, &got, &gc);
	ok(e != 0 && e != -ENOENT,
	   "… but a parent that reads and is no commit stays damage (%s)",
	   strerror(-e));
	/* --at SEQ follows the first parent: the missing one is below. */
	at = (struct history_at){.kind = AT_SEQ, .seq = 2};
	ok(history_resolve_ends(x->bs, &x->k, &m, &we, &at, &got, &gc) ==
			   0 &&
		   cid_equal(&got, &a),
	   "… --at SEQ on the first-parent line as before");
}

static void test_dag(void)
{
	struct dag_fixture x;
	uint8_t master[IPMD_MASTER_BYTES];
	randombytes_buf(master, sizeof(master));
	if (keys_from_master(&x.k, master))
		harness_bail("keys");
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/dag", tap_tempdir());
	if (bs_local_open(dir, &x.bs))
		harness_bail("bs_local_open");
	test_diamond(&x);
	test_criss_cross(&x);
	test_long_line(&x);
	test_absent_end(&x);
	keys_free(&x.k);
	bs_close(x.bs);
	sodium_memzero(master, sizeof(master));
}

static void test_cidset(void)
{
	struct cid_set *a = cid_set_new(), *b = cid_set_new();
	if (!a || !b)
		harness_bail("cid_set_new");
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
		harness_bail("seal_init");
	test_parse();
	test_chain();
	test_dag();
	test_cidset();
	return tap_done();
}
