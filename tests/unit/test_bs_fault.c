/* tests/unit/test_bs_fault.c — the fault-injecting wrapper (ipfs/bs_fault.h). */
#include "ipfs/blockstore.h"
#include "ipfs/bs_fault.h"
#include "ipfs/bs_local.h"
#include "ipfs/cid.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"
#include "util/clock.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RATE_CALLS 1000
#define SEQ_CALLS 200
#define DELAY_MS 20

/* A fault wrapper over a new local store; *below (may be NULL) is that
 * store, owned by the wrapper. */
static struct blockstore *wrap_over(const char *name,
				    const struct fault_config *cfg,
				    struct blockstore **below)
{
	struct blockstore *parent = NULL, *bs = NULL;
	if (bs_local_open(harness_path(name), &parent) < 0)
		return NULL;
	if (bs_fault_wrap(parent, cfg, &bs) < 0) {
		bs_close(parent);
		return NULL;
	}
	if (below)
		*below = parent;
	return bs;
}

static struct blockstore *wrap_new(const char *name,
				   const struct fault_config *cfg)
{
	return wrap_over(name, cfg, NULL);
}

static struct fault_config quiet(void)
{
	struct fault_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.error = -EIO;
	cfg.seed = 1;
	return cfg;
}

/* One count bs_fault_counts should report. */
enum count_kind { CALLS, FAILED, DELAYED };
struct count_want {
	enum count_kind kind;
	enum fault_op op;
	uint64_t n;
	const char *what;
};

/* bs's counts, with each of want[0 .. n) checked. */
static struct fault_counts counts_are(struct blockstore *bs,
				      const struct count_want *want, size_t n)
{
	struct fault_counts fc;
	bs_fault_counts(bs, &fc);
	for (size_t i = 0; i < n; i++) {
		const uint64_t *of = want[i].kind == CALLS    ? fc.calls
				     : want[i].kind == FAILED ? fc.failed
							      : fc.delayed;
		is_int(of[want[i].op], want[i].n, "%s", want[i].what);
	}
	return fc;
}
#define COUNTS_ARE(bs, want)                                                  \
	counts_are((bs), (want), sizeof(want) / sizeof(*(want)))

static int count_block(const struct cid *c, void *arg)
{
	(void)c;
	(*(int *)arg)++;
	return 0;
}

static void test_pass_through(void)
{
	struct fault_config cfg = quiet();
	/* The counts it must end with. */
	static const struct count_want want[] = {
		{CALLS, FAULT_PUT, 1, "1 put counted"},
		{CALLS, FAULT_GET, 1, "1 get counted"},
		{CALLS, FAULT_HAS, 2, "2 has counted (not the parent's)"},
		{CALLS, FAULT_SYNC, 1, "1 sync counted"},
		{CALLS, FAULT_REMOVE, 1, "1 remove counted"},
	};
	struct blockstore *parent = NULL;
	struct blockstore *bs = wrap_over("pass", &cfg, &parent);
	ok(bs != NULL, "wrap a local store");
	if (!bs)
		return;
	ok(bs_parent(bs) == parent && bs->caps == parent->caps,
	   "the wrapper holds its parent and shows its caps");
	ok(bs_find(bs, bs->ops) == bs && bs_find(parent, bs->ops) == NULL,
	   "bs_find finds the wrapper in its stack, not below it");
	uint8_t d[500], out[500];
	struct cid c;
	size_t len = 0;
	tap_fill_random(d, sizeof(d), 1);
	is_int(bs_put(bs, d, sizeof(d), 0, &c), 0, "put passes");
	is_int(bs_has(parent, &c), 1, "and reached the parent");
	is_int(bs_get(bs, &c, out, sizeof(out), &len), 0, "get passes");
	is_mem(out, d, sizeof(d), "with the bytes");
	is_int(bs_has(bs, &c), 1, "has passes");
	is_int(bs_sync(bs), 0, "sync passes");
	is_int(bs_pin(bs, &c), 0, "pin passes");
	is_int(bs_unpin(bs, &c), 0, "unpin passes");
	int n = 0;
	is_int(bs_iterate(bs, count_block, &n), 0, "iterate passes");
	is_int(n, 1, "and sees the block");
	struct bs_usage u;
	is_int(bs_usage(bs, &u), 0, "usage passes");
	is_int(u.blocks, 1, "one block");
	is_int(bs_remove(bs, &c), 0, "remove passes");
	is_int(bs_has(bs, &c), 0, "the block is gone");

	struct fault_counts fc = COUNTS_ARE(bs, want);
	uint64_t f = 0, dl = 0;
	for (int op = 0; op < FAULT_OP_COUNT; op++) {
		f += fc.failed[op];
		dl += fc.delayed[op];
	}
	is_int(f, 0, "nothing failed");
	is_int(dl, 0, "nothing delayed");

	static const struct count_want none[] = {
		{CALLS, FAULT_PUT, 0, "counts of a non-wrapper are zero"},
	};
	COUNTS_ARE(parent, none);

	/* Closing the wrapper closes the parent: a lone opener may then clean
	 * temp files, which it must not do while the parent is open. */
	char shard[PATH_MAX], tmp[PATH_MAX + 32];
	snprintf(shard, sizeof(shard), "%s/blocks/aa", harness_path("pass"));
	mkdir(shard, 0700);
	snprintf(tmp, sizeof(tmp), "%s/.tmp-1", shard);
	FILE *fp = fopen(tmp, "w");
	if (fp)
		fclose(fp);
	bs_close(bs);
	struct blockstore *again = NULL;
	is_int(bs_local_open(harness_path("pass"), &again), 0,
	       "reopen the parent's dir");
	ok(access(tmp, F_OK) != 0, "close of the wrapper closed the parent");
	bs_close(again);
}

static void test_always_fail(void)
{
	/* The counts it must end with. */
	static const struct count_want want[] = {
		{CALLS, FAULT_PUT, 20, "20 puts counted"},
		{FAILED, FAULT_PUT, 20, "20 puts failed"},
		{FAILED, FAULT_GET, 1, "1 get failed"},
		{FAILED, FAULT_HAS, 0, "no has failed"},
	};
	struct fault_config cfg = quiet();
	cfg.fail_rate[FAULT_PUT] = 1.0;
	cfg.fail_rate[FAULT_GET] = 1.0;
	cfg.error = -ENOSPC;
	struct blockstore *parent = NULL;
	struct blockstore *bs = wrap_over("fail", &cfg, &parent);
	ok(bs != NULL, "wrap with put=1.0 get=1.0");
	if (!bs)
		return;
	int all = 1;
	for (int i = 0; i < 20; i++) {
		uint8_t d[100];
		tap_fill_random(d, sizeof(d), 100 + i);
		all &= bs_put(bs, d, sizeof(d), i % 2 ? BS_PUT_DURABLE : 0,
			      NULL) == -ENOSPC;
	}
	ok(all, "every put fails with the configured error");
	struct bs_usage u = {99, 99};
	is_int(bs_usage(parent, &u), 0, "parent usage");
	is_int(u.blocks, 0, "a failed put stores nothing in the parent");

	uint8_t d[100], out[100];
	struct cid c;
	tap_fill_random(d, sizeof(d), 7);
	is_int(bs_put(parent, d, sizeof(d), 0, &c), 0,
	       "store a block in the parent directly");
	memset(out, 0xAA, sizeof(out));
	size_t len = 1234;
	is_int(bs_get(bs, &c, out, sizeof(out), &len), -ENOSPC,
	       "get fails with the configured error");
	is_int(len, 0, "a failed get reports no bytes");
	int untouched = 1;
	for (size_t i = 0; i < sizeof(out); i++)
		untouched &= out[i] == 0xAA;
	ok(untouched, "and hands none out");
	is_int(bs_has(bs, &c), 1, "has is not affected");

	COUNTS_ARE(bs, want);
	bs_close(bs);

	cfg = quiet();
	cfg.error = 0;
	cfg.fail_rate[FAULT_SYNC] = 1.0;
	bs = wrap_new("fail0", &cfg);
	ok(bs && bs_sync(bs) == -EIO, "a non-negative error means -EIO");
	bs_close(bs);
}

static void test_rate(void)
{
	struct fault_config cfg = quiet();
	cfg.fail_rate[FAULT_HAS] = 0.3;
	cfg.seed = 12345;
	struct blockstore *bs = wrap_new("rate", &cfg);
	ok(bs != NULL, "wrap with has=0.3");
	if (!bs)
		return;
	struct cid c;
	cid_of_raw_block(&c, (const uint8_t *)"abc", 3);
	int failed = 0, other = 0;
	for (int i = 0; i < RATE_CALLS; i++) {
		int r = bs_has(bs, &c);
		if (r == -EIO)
			failed++;
		else if (r != 0)
			other++;
	}
	/* Binomial(1000, 0.3): mean 300, sd 14.5; 220…380 is ±5.5 sd. */
	ok(failed >= 220 && failed <= 380, "about 30%% of %d calls failed (%d)",
	   RATE_CALLS, failed);
	is_int(other, 0, "the rest passed through");
	const struct count_want want[] = {
		{CALLS, FAULT_HAS, RATE_CALLS, "calls counted"},
		{FAILED, FAULT_HAS, (uint64_t)failed,
		 "failures counted as seen"},
	};
	struct fault_counts fc = COUNTS_ARE(bs, want);
	is_int(fc.calls[FAULT_PUT] + fc.failed[FAULT_PUT], 0,
	       "other kinds untouched");
	bs_close(bs);
}

static void sequence(const char *name, uint64_t seed, char out[SEQ_CALLS])
{
	struct fault_config cfg = quiet();
	cfg.fail_rate[FAULT_HAS] = 0.5;
	cfg.seed = seed;
	struct blockstore *bs = wrap_new(name, &cfg);
	struct cid c;
	cid_of_raw_block(&c, (const uint8_t *)"abc", 3);
	for (int i = 0; i < SEQ_CALLS; i++)
		out[i] = bs ? (char)(bs_has(bs, &c) == -EIO) : 2;
	bs_close(bs);
}

static void test_seed(void)
{
	char a[SEQ_CALLS], b[SEQ_CALLS], c[SEQ_CALLS];
	sequence("seed-a", 7, a);
	sequence("seed-b", 7, b);
	sequence("seed-c", 8, c);
	ok(a[0] != 2 && memcmp(a, b, SEQ_CALLS) == 0,
	   "same seed, same failure sequence");
	ok(memcmp(a, c, SEQ_CALLS) != 0, "another seed, another sequence");
}

static void test_delay(void)
{
	/* The counts it must end with. */
	static const struct count_want want[] = {
		{DELAYED, FAULT_GET, 1, "1 delayed get counted"},
		{DELAYED, FAULT_PUT, 0, "no delayed put"},
	};
	struct fault_config cfg = quiet();
	cfg.delay_rate[FAULT_GET] = 1.0;
	cfg.delay_ms = DELAY_MS;
	struct blockstore *bs = wrap_new("delay", &cfg);
	ok(bs != NULL, "wrap with get delayed always");
	if (!bs)
		return;
	uint8_t d[10] = "delay me!", out[10];
	struct cid c;
	size_t len = 0;
	is_int(bs_put(bs, d, sizeof(d), 0, &c), 0, "put (not delayed)");
	double t0 = now_s() * 1000.0;
	int r = bs_get(bs, &c, out, sizeof(out), &len);
	double took = now_s() * 1000.0 - t0;
	is_int(r, 0, "a delayed get still succeeds");
	is_mem(out, d, sizeof(d), "with the bytes");
	ok(took >= DELAY_MS, "and took at least %d ms (%.1f)", DELAY_MS, took);
	COUNTS_ARE(bs, want);
	bs_close(bs);
}

static void test_parse(void)
{
	struct fault_config cfg;
	memset(&cfg, 0x55, sizeof(cfg));
	is_int(bs_fault_parse("put=0.05,get=0.05,sync=0.01,delay=0.01,"
			      "delay_ms=2000,seed=7,error=EIO",
			      &cfg),
	       0, "parse the documented example");
	ok(cfg.fail_rate[FAULT_PUT] == 0.05 && cfg.fail_rate[FAULT_GET] == 0.05 &&
		   cfg.fail_rate[FAULT_SYNC] == 0.01 &&
		   cfg.fail_rate[FAULT_HAS] == 0.0 &&
		   cfg.fail_rate[FAULT_REMOVE] == 0.0,
	   "fail rates set, absent ones 0");
	int delays = 1;
	for (int op = 0; op < FAULT_OP_COUNT; op++)
		delays &= cfg.delay_rate[op] == 0.01;
	ok(delays, "delay= sets every delay rate");
	is_int(cfg.delay_ms, 2000, "delay_ms");
	is_int(cfg.seed, 7, "seed");
	is_int(cfg.error, -EIO, "error");

	is_int(bs_fault_parse("delay_sync=1,sync=0.5", &cfg), 0,
	       "parse a delay of one kind");
	ok(cfg.delay_rate[FAULT_SYNC] == 1.0 && cfg.fail_rate[FAULT_SYNC] == 0.5 &&
		   cfg.delay_rate[FAULT_PUT] == 0.0 &&
		   cfg.fail_rate[FAULT_PUT] == 0.0,
	   "delay_sync= sets the sync delay rate only");
	is_int(bs_fault_parse("delay_bogus=1", &cfg), -EINVAL,
	       "reject a delay of no kind");

	is_int(bs_fault_parse("", &cfg), 0, "empty spec");
	ok(cfg.fail_rate[FAULT_PUT] == 0.0 && cfg.delay_rate[FAULT_GET] == 0.0,
	   "empty spec: rates 0");
	is_int(cfg.delay_ms, FAULT_DEFAULT_DELAY_MS, "default delay_ms");
	is_int(cfg.error, FAULT_DEFAULT_ERROR, "default error");
	is_int(cfg.seed, FAULT_DEFAULT_SEED, "default seed");

	is_int(bs_fault_parse("fail=0.5,has=1,remove=0,error=ENOSPC,"
			      "seed=18446744073709551615",
			      &cfg),
	       0, "fail=, later keys win, largest seed");
	ok(cfg.fail_rate[FAULT_PUT] == 0.5 && cfg.fail_rate[FAULT_HAS] == 1.0 &&
		   cfg.fail_rate[FAULT_REMOVE] == 0.0,
	   "fail= sets all, later ones override");
	is_int(cfg.error, -ENOSPC, "error=ENOSPC");
	ok(cfg.seed == UINT64_MAX, "seed up to 2^64-1");

	static const char *const bad[] = {
		"bogus=1",      "put=1.5",        "put=-0.1",  "put=abc",
		"put=",         "=0.1",           "put",       "put=0.1,",
		",put=0.1",     "put=0.1,,get=0", "put=nan",   "put=inf",
		"put=0x1p-1",   "put= 0.5",       "put=1e-1",  "delay_ms=99999999",
		"delay_ms=-1",  "delay_ms=10x",   "seed=-1",   "seed=18446744073709551616",
		"error=EWHAT",  "error=eio",      "error=5",   "PUT=0.1",
		"put=0.1 ",     "put=.",
	};
	struct fault_config before;
	is_int(bs_fault_parse("put=0.25,seed=99", &cfg), 0,
	       "a good spec parses");
	before = cfg;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(bs_fault_parse(bad[i], &cfg), -EINVAL, "reject \"%s\"",
		       bad[i]);
	ok(memcmp(&before, &cfg, sizeof(cfg)) == 0,
	   "a rejected spec leaves cfg alone");
}

int main(void)
{
	test_pass_through();
	test_always_fail();
	test_rate();
	test_seed();
	test_delay();
	test_parse();
	return tap_done();
}
