/* tests/unit/test_padding.c — chunk size padding: Padmé (crypto/seal.h
 * seal_padme), padded seal and open, and padded chunks in file objects
 * (fs/model/object.h, "Chunk padding"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/chunk_cache.h"
#include "crypto/seal.h"
#include "fs/model/object.h"
#include "ipfs/bs_local.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

#define SMALL_CHUNK 4096

static uint8_t convergence[IPMD_KEY_BYTES];

/* ---- Padmé ---- */

static unsigned floor_log2(uint64_t x)
{
	unsigned e = 0;
	while (x >>= 1)
		e++;
	return e;
}

/* The paper's definition, spelled out with loops, as a second opinion. */
static uint64_t padme_ref(uint64_t len)
{
	if (len < 2)
		return len;
	unsigned e = floor_log2(len), s = floor_log2(e) + 1;
	uint64_t step = (uint64_t)1 << (e - s);
	return (len + step - 1) / step * step;
}

static void test_padme_values(void)
{
	static const struct {
		uint64_t len, want;
	} v[] = {
		/* Worked by hand: E = floor(log2 L), S = floor(log2 E) + 1,
		 * round up to a multiple of 2^(E - S). */
		{0, 0},
		{1, 1},
		{2, 2},           /* E 1, S 1: step 1 */
		{3, 3},           /* E 1, S 1 */
		{9, 10},          /* E 3, S 2: step 2 (+11.1 %) */
		{100, 104},       /* E 6, S 3: step 8 */
		{129, 144},       /* E 7, S 3: step 16 (+11.6 %, the worst) */
		{1000, 1024},     /* E 9, S 4: step 32 */
		{1024, 1024},
		{5000, 5120},     /* E 12, S 4: step 256 */
		{20000, 20480},   /* E 14, S 4: step 1024 */
		{175712, 176128}, /* E 17, S 5: step 4096 */
		{262143, 262144}, /* E 17, S 5: step 4096 */
		{262144, 262144}, /* a power of two is its own bucket */
		{262145, 270336}, /* E 18, S 5: step 8192 */
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		is_int(seal_padme(v[i].len), v[i].want, "padme(%llu) = %llu",
		       (unsigned long long)v[i].len,
		       (unsigned long long)v[i].want);
	/* Near the top of uint64_t: no wrap-around. */
	uint64_t top = UINT64_MAX - 5;
	ok(seal_padme(top) >= top, "padme near 2^64 does not wrap");
	ok(seal_padme((uint64_t)1 << 63) == (uint64_t)1 << 63,
	   "padme(2^63) = 2^63");
}

static void test_padme_properties(void)
{
	const uint64_t n = 1u << 21; /* every length up to 2 MiB */
	uint64_t bad_ref = 0, bad_ge = 0, bad_over = 0, bad_pow = 0;
	uint64_t bad_mono = 0, bad_idem = 0, worst_num = 0, worst_den = 1;
	uint64_t prev = 0;
	for (uint64_t L = 0; L <= n; L++) {
		uint64_t p = seal_padme(L);
		if (p != padme_ref(L))
			bad_ref++;
		if (p < L)
			bad_ge++;
		/* The paper's bound: at most 2^(E-S) - 1 bytes added, which is
		 * under 12 % of L (11.6 % at L = 129 is the worst). */
		if (L >= 2) {
			unsigned e = floor_log2(L), s = floor_log2(e) + 1;
			if (p - L > ((uint64_t)1 << (e - s)) - 1 ||
			    100 * (p - L) >= 12 * L)
				bad_over++;
			if (p > (uint64_t)2 << e) /* the next power of two */
				bad_pow++;
			if ((p - L) * worst_den > worst_num * L) {
				worst_num = p - L;
				worst_den = L;
			}
		}
		if (p < prev)
			bad_mono++;
		if (seal_padme(p) != p)
			bad_idem++;
		prev = p;
	}
	is_int(bad_ref, 0, "padme agrees with the paper's definition");
	is_int(bad_ge, 0, "padme(L) >= L");
	is_int(bad_over, 0, "padme(L) - L <= 2^(E-S) - 1 and < 12 %% of L");
	is_int(bad_pow, 0, "padme(L) <= the next power of two");
	is_int(bad_mono, 0, "monotone");
	is_int(bad_idem, 0, "idempotent: padme(padme(L)) = padme(L)");
	tap_diag("worst overhead up to %llu: %llu bytes on %llu (%.2f %%)",
		 (unsigned long long)n, (unsigned long long)worst_num,
		 (unsigned long long)worst_den,
		 100.0 * (double)worst_num / (double)worst_den);

	/* What a length leaks: in [2^E, 2^(E+1)) at most 2^S buckets. */
	uint64_t bad_buckets = 0;
	for (unsigned e = 1; e <= 20; e++) {
		uint64_t count = 0, last = 0;
		for (uint64_t L = (uint64_t)1 << e; L < (uint64_t)2 << e; L++) {
			uint64_t p = seal_padme(L);
			if (p != last)
				count++;
			last = p;
		}
		/* 2^E, 2^E + step, …, 2^(E+1) (shared with the next). */
		if (count > ((uint64_t)1 << (floor_log2(e) + 1)) + 1)
			bad_buckets++;
	}
	is_int(bad_buckets, 0, "at most 2^(floor(log2 E) + 1) + 1 sizes "
	       "from 2^E to 2^(E+1) (E = 1 … 20)");

	/* Large lengths, sampled. */
	uint64_t x = 0x9e3779b97f4a7c15ull, bad_big = 0;
	for (int i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t L = x >> (x % 40);
		uint64_t p = seal_padme(L);
		if (L >= 2 && L < ((uint64_t)1 << 62) &&
		    (p != padme_ref(L) || p < L || seal_padme(p) != p ||
		     25 * (p - L) >= 3 * L))
			bad_big++;
	}
	is_int(bad_big, 0, "100,000 sampled lengths up to 2^62");

	/* obj_padded_len: Padmé, capped so a block fits BLOCK_MAX_BYTES. */
	is_int(obj_padded_len(1000), 1024, "obj_padded_len(1000)");
	is_int(obj_padded_len(OBJ_CHUNK_DEFAULT), OBJ_CHUNK_DEFAULT,
	       "a full default chunk is not padded");
	uint64_t over_default = 0;
	for (uint64_t L = 1; L <= OBJ_CHUNK_DEFAULT; L++)
		if (obj_padded_len(L) > OBJ_CHUNK_DEFAULT ||
		    obj_padded_len(L) != seal_padme(L))
			over_default++;
	is_int(over_default, 0, "every chunk up to 256 KiB pads within "
	       "256 KiB, uncapped");
	is_int(obj_padded_len(OBJ_CHUNK_MAX), OBJ_CHUNK_MAX,
	       "the largest chunk is capped at itself");
	is_int(obj_padded_len(OBJ_CHUNK_MAX - 10000), OBJ_CHUNK_MAX,
	       "near the largest chunk: capped (padme is %llu)",
	       (unsigned long long)seal_padme(OBJ_CHUNK_MAX - 10000));
	is_int(obj_padded_len(OBJ_CHUNK_MAX + 1), OBJ_CHUNK_MAX + 1,
	       "past the largest chunk: unchanged");
}

/* ---- sealing and opening padded blocks ---- */

/* plain[0 .. len) sealed as a chunk padded to padded bytes (key out). */
static int seal_padded(uint8_t *out, uint8_t *key, const uint8_t *plain,
		       size_t len, size_t padded)
{
	return seal_convergent_padded(out, key, plain, len, padded,
				      BLOCK_CHUNK, convergence);
}

static void test_seal_padded(void)
{
	const size_t len = 1000, padded = 1024;
	uint8_t *plain = harness_alloc(len), *back = harness_alloc(padded);
	uint8_t *a = harness_alloc(padded + IPMD_SEAL_OVERHEAD);
	uint8_t *b = harness_alloc(padded + 8 + IPMD_SEAL_OVERHEAD);
	uint8_t ka[IPMD_KEY_BYTES], kb[IPMD_KEY_BYTES];
	tap_fill_random(plain, len, 41);

	is_int(seal_padded(a, ka, plain, len, padded), 0,
	       "seal 1000 bytes padded to 1024");
	is_int(seal_convergent(b, kb, plain, len, BLOCK_CHUNK, convergence), 0,
	       "seal them unpadded");
	is_mem(ka, kb, IPMD_KEY_BYTES, "the same key: over the true plaintext");
	ok(memcmp(a, b, IPMD_NONCE_BYTES) != 0,
	   "another nonce than the unpadded block's");
	is_int(seal_padded(b, kb, plain, len, padded), 0, "seal padded again");
	is_mem(a, b, padded + IPMD_SEAL_OVERHEAD, "convergent: same bytes");
	is_int(seal_padded(b, kb, plain, len, padded + 8), 0,
	       "seal padded to another length");
	ok(memcmp(a, b, IPMD_NONCE_BYTES) != 0,
	   "another padded length, another nonce");
	is_int(seal_padded(b, kb, plain, len, len - 1), -EINVAL,
	       "a padded length below the length is refused");

	memset(back, 0x77, padded);
	is_int(seal_open_padded(back, len, a, padded + IPMD_SEAL_OVERHEAD,
				BLOCK_CHUNK, ka),
	       0, "open the padded block with its true length");
	ok(memcmp(back, plain, len) == 0, "the same bytes");
	is_int(back[len], 0x77, "nothing written past the true length");
	/* The true length is in the AAD: no other length opens it, even one
	 * whose missing tail would be taken for padding. */
	is_int(seal_open_padded(back, len - 1, a, padded + IPMD_SEAL_OVERHEAD,
				BLOCK_CHUNK, ka),
	       -EBADMSG, "a shorter true length does not open it");
	ok(back[0] == 0 && back[len - 2] == 0, "…and leaves no plaintext");
	is_int(seal_open_padded(back, padded, a, padded + IPMD_SEAL_OVERHEAD,
				BLOCK_CHUNK, ka),
	       -EBADMSG, "nor the padded length as an unpadded block");
	is_int(seal_open_padded(back, padded + 1, a,
				padded + IPMD_SEAL_OVERHEAD, BLOCK_CHUNK, ka),
	       -EINVAL, "a true length beyond the block");
	is_int(seal_open_padded(back, len, a, padded + IPMD_SEAL_OVERHEAD,
				BLOCK_INDEX, ka),
	       -EBADMSG, "nor as another kind");
	size_t plen = 0;
	is_int(seal_open(back, &plen, a, padded + IPMD_SEAL_OVERHEAD,
			 BLOCK_CHUNK, ka),
	       -EBADMSG, "seal_open (no length) does not open a padded block");

	/* Unpadded blocks open through seal_open_padded too. */
	is_int(seal_convergent(b, kb, plain, len, BLOCK_CHUNK, convergence), 0,
	       "seal unpadded");
	is_int(seal_open_padded(back, len, b, len + IPMD_SEAL_OVERHEAD,
				BLOCK_CHUNK, kb),
	       0, "seal_open_padded opens an unpadded block");
	ok(memcmp(back, plain, len) == 0, "the same bytes");
	is_int(seal_padded(a, ka, plain, len, len), 0,
	       "padded to its own length");
	is_mem(a, b, len + IPMD_SEAL_OVERHEAD,
	       "is exactly the unpadded block");

	/* Empty plaintext, padded: the padding alone. */
	is_int(seal_padded(a, ka, plain, 0, 5), 0, "0 bytes padded to 5");
	is_int(seal_open_padded(NULL, 0, a, 5 + IPMD_SEAL_OVERHEAD,
				BLOCK_CHUNK, ka),
	       0, "opens with length 0");
	/* Padding of several pieces (PAD_PIECE is 1 KiB). */
	uint8_t *big = harness_alloc(10000 + IPMD_SEAL_OVERHEAD);
	is_int(seal_padded(big, ka, plain, 100, 10000), 0,
	       "100 bytes padded to 10000");
	is_int(seal_open_padded(back, 100, big, 10000 + IPMD_SEAL_OVERHEAD,
				BLOCK_CHUNK, ka),
	       0, "opens");
	ok(memcmp(back, plain, 100) == 0, "the same bytes");
	free(big);
	free(plain);
	free(back);
	free(a);
	free(b);
}

/*
 * A padded block as libsodium sees it: pins the format of crypto/format.h
 * (nonce label ‖ padded length, AAD ‖ true length, zero padding).
 * pad_byte != 0 is put into the padding at offset at: a block that
 * authenticates but is not the canonical padding.
 */
static void forge_padded(uint8_t *out, const uint8_t *plain, size_t len,
			 size_t padded, const uint8_t key[IPMD_KEY_BYTES],
			 size_t at, uint8_t pad_byte)
{
	uint8_t *full = harness_alloc(padded);
	uint8_t label[sizeof(IPMD_PADDED_NONCE_LABEL) - 1 + 8];
	uint8_t aad[IPMD_PADDED_AAD_BYTES] = {'i', 'p', 'm', 'd',
					      IPMD_FORMAT_VERSION,
					      BLOCK_CHUNK};
	memcpy(full, plain, len);
	memset(full + len, 0, padded - len);
	if (pad_byte)
		full[len + at] = pad_byte;
	memcpy(label, IPMD_PADDED_NONCE_LABEL, sizeof(label) - 8);
	for (int i = 0; i < 8; i++) {
		label[sizeof(label) - 1 - i] = (uint8_t)((uint64_t)padded >>
							 (8 * i));
		aad[IPMD_PADDED_AAD_BYTES - 1 - i] =
			(uint8_t)((uint64_t)len >> (8 * i));
	}
	crypto_generichash(out, IPMD_NONCE_BYTES, label, sizeof(label), key,
			   IPMD_KEY_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
		out + IPMD_NONCE_BYTES, out + IPMD_NONCE_BYTES + padded, NULL,
		full, padded, aad, sizeof(aad), NULL, out, key);
	free(full);
}

static void test_format_pinned(void)
{
	const size_t len = 300, padded = 320;
	uint8_t plain[300], key[IPMD_KEY_BYTES], back[320];
	uint8_t mine[320 + IPMD_SEAL_OVERHEAD], theirs[320 + IPMD_SEAL_OVERHEAD];
	tap_fill_random(plain, len, 42);
	is_int(seal_padded(mine, key, plain, len, padded), 0,
	       "seal 300 bytes padded to 320");
	forge_padded(theirs, plain, len, padded, key, 0, 0);
	is_mem(mine, theirs, sizeof(mine),
	       "the bytes libsodium makes from the documented format");
	forge_padded(theirs, plain, len, padded, key, 19, 0x01);
	is_int(seal_open_padded(back, len, theirs, sizeof(theirs), BLOCK_CHUNK,
				key),
	       -EBADMSG, "authentic but a padding byte is not zero: refused");
	uint8_t zero[300] = {0};
	ok(memcmp(back, zero, len) == 0, "…and no plaintext is left");
}

/* ---- padded chunks in file objects ---- */

/* The stored length of a block, or -1. */
static long long block_len(struct blockstore *bs, const struct cid *cid)
{
	uint8_t *buf = harness_alloc(BLOCK_MAX_BYTES);
	size_t len = 0;
	int r = bs_get(bs, cid, buf, BLOCK_MAX_BYTES, &len);
	free(buf);
	return r == 0 ? (long long)len : -1;
}

/* Every chunk of ref is stored at the length the mode gives, and the
 * object reads back byte-exact (whole, and from an offset). */
static void check_sizes(struct obj_store *st, size_t size, uint64_t seed,
			const char *what)
{
	uint8_t *data = harness_alloc(size), *back = harness_alloc(size + 1);
	tap_fill_random(data, size, seed);
	struct obj_ref ref;
	is_int(harness_write_object(st, data, size, &ref), 0, "%s: write %zu",
	       what, size);
	struct chunk_ref *chunks = NULL;
	size_t n = 0, right = 0;
	is_int(obj_list_chunks(st, &ref, &chunks, &n), 0, "%s: list", what);
	for (size_t i = 0; i < n; i++) {
		uint64_t want = (st->pad == OBJ_PAD_NONE
					 ? chunks[i].size
					 : obj_padded_len(chunks[i].size)) +
				IPMD_SEAL_OVERHEAD;
		long long got = block_len(st->bs, &chunks[i].cid);
		if (got == (long long)want)
			right++;
		else
			tap_diag("chunk %zu of %llu bytes: block %lld, not "
				 "%llu", i, (unsigned long long)chunks[i].size,
				 got, (unsigned long long)want);
	}
	is_int(right, n, "%s: %zu bytes: every chunk block is %s + 40", what,
	       size, st->pad == OBJ_PAD_NONE ? "size" : "padme(size)");
	free(chunks);
	size_t got = 0;
	memset(back, 0xee, size + 1);
	is_int(obj_read(st, &ref, 0, back, size + 1, &got), 0,
	       "%s: read %zu", what, size);
	ok(got == size && memcmp(back, data, size) == 0,
	   "%s: %zu bytes back byte-exact", what, size);
	size_t off = size / 3;
	is_int(obj_read(st, &ref, off, back, size - off, &got), 0,
	       "%s: read from %zu", what, off);
	ok(got == size - off && memcmp(back, data + off, got) == 0,
	   "%s: the tail back", what);
	free(data);
	free(back);
}

static void test_object_sizes(void)
{
	struct blockstore *bs = harness_local_store("sizes");
	struct obj_store st = harness_obj_store(bs, convergence,
						OBJ_CHUNK_DEFAULT, 16,
						OBJ_SCOPE_MESSAGE);
	const size_t sizes[] = {1,      2,      3,      100,    1000,
				5000,   20000,  100001, 175712, 262143,
				262144, 262145, 700000};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		check_sizes(&st, sizes[i], 500 + i, "padme");
	struct obj_store none = st;
	none.pad = OBJ_PAD_NONE;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		check_sizes(&none, sizes[i], 600 + i, "none");

	/* Chunks not a power of two: a full chunk pads beyond chunk_size,
	 * with and without sealing threads. */
	struct obj_store odd = st;
	odd.chunk_size = 1000;
	check_sizes(&odd, 5 * 1000 + 129, 700, "chunks of 1000");
	odd.seal_threads = 2;
	check_sizes(&odd, 9 * 1000 + 3, 701, "chunks of 1000, 2 threads");
	/* The largest chunk: padme would pass BLOCK_MAX_BYTES, the cap
	 * keeps the block within it. */
	struct obj_store max = st;
	max.chunk_size = OBJ_CHUNK_MAX;
	check_sizes(&max, OBJ_CHUNK_MAX - 10000, 702, "near the largest chunk");
	check_sizes(&max, OBJ_CHUNK_MAX + 1, 703, "the largest chunk");

	/* obj_seal_chunk (files rewritten in place) pads as well. */
	uint8_t data[3000];
	tap_fill_random(data, sizeof(data), 704);
	struct chunk_ref c;
	is_int(obj_seal_chunk(&st, data, sizeof(data), &c), 0,
	       "obj_seal_chunk 3000 bytes");
	is_int(block_len(bs, &c.cid), seal_padme(3000) + IPMD_SEAL_OVERHEAD,
	       "its block is padme(3000) + 40 = %llu",
	       (unsigned long long)seal_padme(3000) + IPMD_SEAL_OVERHEAD);
	struct chunk_ref cn;
	is_int(obj_seal_chunk(&none, data, sizeof(data), &cn), 0,
	       "unpadded obj_seal_chunk");
	is_int(block_len(bs, &cn.cid), 3000 + IPMD_SEAL_OVERHEAD,
	       "its block is 3000 + 40");
	ok(!cid_equal(&c.cid, &cn.cid), "padded and unpadded: two blocks");
	ok(memcmp(c.key, cn.key, IPMD_KEY_BYTES) == 0,
	   "under one key (the true content's)");
	bs_close(bs);
}

/* Put sealed[0..len) in the store as a chunk of size bytes under key. */
static struct chunk_ref put_chunk(struct blockstore *bs, const uint8_t *sealed,
				  size_t len, uint64_t size,
				  const uint8_t key[IPMD_KEY_BYTES])
{
	struct chunk_ref c;
	memset(&c, 0, sizeof(c));
	if (bs_put(bs, sealed, len, 0, &c.cid) != 0)
		harness_bail("bs_put");
	memcpy(c.key, key, IPMD_KEY_BYTES);
	c.size = size;
	return c;
}

static void test_reader_rules(void)
{
	struct blockstore *bs = harness_local_store("rules");
	struct obj_store st = harness_obj_store(bs, convergence, SMALL_CHUNK, 4,
						OBJ_SCOPE_MESSAGE);
	const size_t len = 1000, padded = 1024; /* padme(1000) */
	uint8_t plain[1000], key[IPMD_KEY_BYTES], out[SMALL_CHUNK];
	uint8_t sealed[2048 + IPMD_SEAL_OVERHEAD];
	size_t got;
	tap_fill_random(plain, len, 801);

	/* An unpadded block, as written before padding (or with pad=none),
	 * still reads. */
	is_int(seal_convergent(sealed, key, plain, len, BLOCK_CHUNK,
			       convergence),
	       0, "seal an old, unpadded chunk");
	struct chunk_ref old = put_chunk(bs, sealed, len + IPMD_SEAL_OVERHEAD,
					 len, key);
	memset(out, 0, sizeof(out));
	is_int(obj_open_chunk(&st, &old, out, &got), 0,
	       "an unpadded chunk opens");
	ok(got == len && memcmp(out, plain, len) == 0, "its bytes");
	struct obj_ref ref = {.cid = old.cid, .size = len};
	memcpy(ref.key, key, IPMD_KEY_BYTES);
	uint8_t back[1001];
	is_int(obj_read(&st, &ref, 0, back, sizeof(back), &got), 0,
	       "an unpadded one-chunk object reads");
	ok(got == len && memcmp(back, plain, len) == 0, "its bytes");

	/* The padded block forged by hand (libsodium), zero padding: reads —
	 * the forger below makes what the writer makes. */
	forge_padded(sealed, plain, len, padded, key, 0, 0);
	struct chunk_ref good = put_chunk(bs, sealed,
					  padded + IPMD_SEAL_OVERHEAD, len,
					  key);
	is_int(obj_open_chunk(&st, &good, out, &got), 0,
	       "a padded chunk opens");
	ok(got == len && memcmp(out, plain, len) == 0, "its bytes");

	/* Non-zero padding, sealed under the chunk key: authentic, refused. */
	for (size_t at = 0; at < padded - len; at += 23) {
		forge_padded(sealed, plain, len, padded, key, at, 0x80);
		struct chunk_ref bad = put_chunk(
			bs, sealed, padded + IPMD_SEAL_OVERHEAD, len, key);
		memset(out, 0x55, sizeof(out));
		is_int(obj_open_chunk(&st, &bad, out, &got), -EBADMSG,
		       "padding byte %zu not zero: -EBADMSG", at);
		ok(out[0] == 0 && out[len - 1] == 0 && got == 0,
		   "…and nothing of it handed on");
		struct obj_ref bref = {.cid = bad.cid, .size = len};
		memcpy(bref.key, key, IPMD_KEY_BYTES);
		is_int(obj_read(&st, &bref, 0, back, len, &got), -EBADMSG,
		       "…and obj_read of it: -EBADMSG");
	}

	/* A third length: properly sealed and padded, but not to padme. */
	const size_t others[] = {1016, 1032, 1100, 2048};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		is_int(seal_padded(sealed, key, plain, len, others[i]), 0,
		       "seal padded to %zu", others[i]);
		struct chunk_ref third = put_chunk(
			bs, sealed, others[i] + IPMD_SEAL_OVERHEAD, len, key);
		is_int(seal_open_padded(out, len, sealed,
					others[i] + IPMD_SEAL_OVERHEAD,
					BLOCK_CHUNK, key),
		       0, "…a block that authenticates");
		is_int(obj_open_chunk(&st, &third, out, &got), -EBADMSG,
		       "a chunk padded to %zu (not 1000 or 1024): -EBADMSG",
		       others[i]);
	}

	/* A reference that lies about the size.  The content ends in zero
	 * bytes, so a shorter size with the same padded length would see
	 * only zeros as padding: the size in the AAD refuses it. */
	uint8_t zeros_end[1000];
	memcpy(zeros_end, plain, sizeof(zeros_end));
	memset(zeros_end + 990, 0, 10);
	struct chunk_ref zc;
	is_int(obj_seal_chunk(&st, zeros_end, sizeof(zeros_end), &zc), 0,
	       "seal a chunk ending in ten zero bytes");
	struct chunk_ref lie = zc;
	lie.size = 995; /* padme(995) = 1024 too */
	is_int(obj_padded_len(995), 1024, "(995 pads to 1024 as well)");
	is_int(obj_open_chunk(&st, &lie, out, &got), -EBADMSG,
	       "a ref 5 bytes short: -EBADMSG");
	lie.size = 1024;
	is_int(obj_open_chunk(&st, &lie, out, &got), -EBADMSG,
	       "a ref claiming the padded size: -EBADMSG");
	is_int(obj_open_chunk(&st, &zc, out, &got), 0, "the true ref opens");
	ok(got == 1000 && memcmp(out, zeros_end, 1000) == 0, "its bytes");

	/* Through the chunk cache: exactly size bytes are cached. */
	struct chunk_cache *cc = chunk_cache_new(1 << 20);
	st.cache = cc;
	is_int(obj_open_chunk(&st, &zc, out, &got), 0, "open into the cache");
	size_t n = 0;
	uint8_t probe[SMALL_CHUNK];
	is_int(chunk_cache_read(cc, &zc.cid, 0, probe, sizeof(probe), &n), 0,
	       "the cache holds it");
	is_int(n, 1000, "the cache holds the true 1000 bytes, not the padding");
	st.cache = NULL;
	chunk_cache_free(cc);
	bs_close(bs);
}

int main(void)
{
	harness_seal_init();
	harness_pattern_key(convergence, sizeof(convergence), 13, 5);
	test_padme_values();
	test_padme_properties();
	test_seal_padded();
	test_format_pinned();
	test_object_sizes();
	test_reader_rules();
	return tap_done();
}
