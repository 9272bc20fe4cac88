/* tests/unit/test_cidset.c — ipfs/cidset.c: both kinds of set, removal
 * (runs that wrap around the table's end), the walk, the digest calls and
 * shrinking, checked against a plain array. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipfs/cid.h"
#include "ipfs/cidset.h"
#include "tests/tap.h"

#define MODEL_N 3000
#define MODEL_OPS 200000

/* A raw CID whose digest starts with home (little endian), so the tests
 * choose where in the table it lands (a raw set hashes by those bytes). */
static void raw_cid(struct cid *c, uint64_t home, uint64_t tag)
{
	uint8_t b[CID_RAW_BYTES] = {CID_VERSION_1, CODEC_RAW, MH_SHA2_256,
				    SHA256_BYTES};
	memcpy(b + 4, &home, sizeof(home));
	memcpy(b + 12, &tag, sizeof(tag));
	if (cid_from_bytes(c, b, sizeof(b)) != 0)
		abort();
}

static void block_cid(struct cid *c, uint64_t seed)
{
	uint8_t block[16];
	memcpy(block, &seed, sizeof(seed));
	memset(block + 8, 0xa5, 8);
	cid_of_raw_block(c, block, sizeof(block));
}

static const uint8_t *digest(const struct cid *c)
{
	return c->bytes + CID_RAW_BYTES - SHA256_BYTES;
}

/* Random adds, removals and lookups, against an array of flags. */
static void test_model(bool raw)
{
	struct cid_set *s = raw ? cid_set_new_raw() : cid_set_new();
	static struct cid c[MODEL_N];
	static bool in[MODEL_N];
	memset(in, 0, sizeof(in));
	for (uint64_t i = 0; i < MODEL_N; i++)
		block_cid(&c[i], i);
	uint64_t x = 88172645463325252ULL;
	size_t count = 0;
	bool same = s != NULL;
	for (unsigned op = 0; same && op < MODEL_OPS; op++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t i = (size_t)(x % MODEL_N);
		switch ((x >> 32) % 3) {
		case 0:
			same = cid_set_add(s, &c[i]) == (in[i] ? 0 : 1);
			count += !in[i];
			in[i] = true;
			break;
		case 1:
			same = cid_set_del(s, &c[i]) == in[i];
			count -= in[i];
			in[i] = false;
			break;
		default:
			same = cid_set_has(s, &c[i]) == in[i];
		}
		same = same && cid_set_count(s) == count;
	}
	for (size_t i = 0; same && i < MODEL_N; i++)
		same = cid_set_has(s, &c[i]) == in[i];
	ok(same, "%s set: %d random adds, removals and lookups agree with "
		 "an array",
	   raw ? "a raw" : "any", MODEL_OPS);
	cid_set_free(s);
}

/* A run of keys all at the table's last slots wraps to its start;
 * removing from its middle must keep every other key findable. */
static void test_wrap(void)
{
	struct cid_set *s = cid_set_new_raw();
	struct cid c[12];
	int added = 0;
	for (uint64_t i = 0; i < 12; i++) {
		raw_cid(&c[i], 1020 + i % 3, i); /* homes 1020 … 1022 */
		added += cid_set_add(s, &c[i]) == 1;
	}
	ok(added == 12, "12 keys homed at the end of the table");
	bool gone = cid_set_del(s, &c[1]) && cid_set_del(s, &c[6]) &&
		    cid_set_del_digest(s, digest(&c[10]));
	bool found = true;
	for (int i = 0; i < 12; i++)
		found = found &&
			cid_set_has(s, &c[i]) == (i != 1 && i != 6 && i != 10);
	ok(gone && found && cid_set_count(s) == 9,
	   "removals inside a run that wraps keep the rest findable");
	ok(!cid_set_del(s, &c[1]), "removing twice: false");
	cid_set_free(s);
}

static int collect(const struct cid *c, void *arg)
{
	struct cid_set *seen = arg;
	return cid_set_add(seen, c) == 1 ? 0 : -EEXIST;
}

static int stop_at_first(const struct cid *c, void *arg)
{
	(void)c;
	++*(int *)arg;
	return 42;
}

static void test_each(void)
{
	struct cid_set *raw = cid_set_new_raw(), *any = cid_set_new();
	struct cid_set *seen = cid_set_new();
	struct cid c;
	for (uint64_t i = 0; i < 500; i++) {
		block_cid(&c, i);
		cid_set_add(raw, &c);
		cid_set_add(any, &c);
	}
	ok(cid_set_each(raw, collect, seen) == 0 &&
		   cid_set_count(seen) == 500,
	   "the walk gives every member once");
	bool all = true;
	for (uint64_t i = 0; i < 500; i++) {
		block_cid(&c, i);
		all = all && cid_set_has(seen, &c);
	}
	ok(all, "… as the very CIDs added (a raw set rebuilds them)");
	int calls = 0;
	ok(cid_set_each(any, stop_at_first, &calls) == 42 && calls == 1,
	   "a non-zero return stops the walk and is returned");
	cid_set_free(raw);
	cid_set_free(any);
	cid_set_free(seen);
}

static void test_kinds(void)
{
	struct cid_set *raw = cid_set_new_raw(), *any = cid_set_new();
	uint8_t b[CID_RAW_BYTES] = {CID_VERSION_1, 0x70 /* dag-pb */,
				    MH_SHA2_256, SHA256_BYTES, 1, 2, 3};
	struct cid pb, r, empty = {0};
	ok(cid_from_bytes(&pb, b, sizeof(b)) == 0, "a dag-pb CID");
	block_cid(&r, 1);
	ok(cid_set_add(raw, &pb) == -EINVAL && !cid_set_has(raw, &pb) &&
		   !cid_set_del(raw, &pb),
	   "a raw set refuses another codec, and never holds one");
	ok(cid_set_add(any, &pb) == 1 && cid_set_has(any, &pb),
	   "… which any set takes");
	ok(cid_set_add_digest(any, digest(&r)) == -EINVAL &&
		   !cid_set_has_digest(any, digest(&r)) &&
		   !cid_set_del_digest(any, digest(&r)),
	   "the digest calls are for a raw set only");
	ok(cid_set_add_digest(raw, digest(&r)) == 1 && cid_set_has(raw, &r) &&
		   cid_set_add(raw, &r) == 0,
	   "in a raw set a digest and its CID are the same member");
	ok(cid_set_add(raw, &empty) == -EINVAL && !cid_set_has(any, &empty),
	   "an empty CID is refused by both");
	ok(cid_set_merge(raw, any) == -EINVAL,
	   "merging a dag-pb member into a raw set: -EINVAL");
	cid_set_free(raw);
	cid_set_free(any);
}

/* Grown to 100,000 members, then emptied but for a few: the shrinking
 * table keeps them. */
static void test_shrink(void)
{
	struct cid_set *s = cid_set_new_raw();
	struct cid c;
	for (uint64_t i = 0; i < 100000; i++) {
		block_cid(&c, i);
		cid_set_add(s, &c);
	}
	for (uint64_t i = 10; i < 100000; i++) {
		block_cid(&c, i);
		cid_set_del(s, &c);
	}
	bool kept = cid_set_count(s) == 10;
	for (uint64_t i = 0; i < 100000; i += 1 + (i >= 10) * 97) {
		block_cid(&c, i);
		kept = kept && cid_set_has(s, &c) == (i < 10);
	}
	ok(kept, "100,000 added, all but 10 removed: the 10 remain");
	cid_set_free(s);
}

int main(void)
{
	test_model(false);
	test_model(true);
	test_wrap();
	test_each();
	test_kinds();
	test_shrink();
	return tap_done();
}
