/* tests/unit/test_seal.c — block keys, seal and open (crypto/seal.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/seal.h"
#include "tests/tap.h"

#define CHUNK (256 * 1024)

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static uint8_t *xmalloc(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

static void test_round_trip(const uint8_t conv[IPMD_KEY_BYTES], size_t len)
{
	uint8_t *plain = xmalloc(len), *sealed = xmalloc(len + IPMD_SEAL_OVERHEAD);
	uint8_t *back = xmalloc(len), key[IPMD_KEY_BYTES], want[IPMD_KEY_BYTES];
	size_t back_len = 12345;

	tap_fill_random(plain, len, 1000 + len);
	is_int(seal_convergent(sealed, key, plain, len, BLOCK_CHUNK, conv), 0,
	       "seal_convergent %zu bytes", len);
	block_key(want, conv, BLOCK_CHUNK, plain, len);
	is_mem(key, want, IPMD_KEY_BYTES, "key_out is the block key (%zu)", len);
	ok(len == 0 || memcmp(sealed + IPMD_NONCE_BYTES, plain, len) != 0,
	   "ciphertext is not the plaintext (%zu)", len);
	is_int(seal_plain_len(len + IPMD_SEAL_OVERHEAD), len,
	       "seal_plain_len (%zu)", len);
	is_int(seal_open(back, &back_len, sealed, len + IPMD_SEAL_OVERHEAD,
			 BLOCK_CHUNK, key),
	       0, "open %zu bytes", len);
	is_int(back_len, len, "opened length %zu", len);
	ok(len == 0 || memcmp(back, plain, len) == 0, "opened bytes equal (%zu)",
	   len);
	free(plain);
	free(sealed);
	free(back);
}

/* The format, recomputed from libsodium primitives: pins key, nonce, AAD. */
static void test_format_pinned(const uint8_t conv[IPMD_KEY_BYTES])
{
	uint8_t plain[100], sealed[100 + IPMD_SEAL_OVERHEAD], back[100];
	uint8_t key[IPMD_KEY_BYTES], want_key[IPMD_KEY_BYTES];
	uint8_t want_nonce[IPMD_NONCE_BYTES];
	uint8_t aad[IPMD_AAD_BYTES] = { 'i', 'p', 'm', 'd', 1, BLOCK_INDEX };
	crypto_generichash_state h;
	uint8_t kind = BLOCK_INDEX;

	tap_fill_random(plain, sizeof(plain), 7);
	is_int(seal_convergent(sealed, key, plain, sizeof(plain), BLOCK_INDEX,
			       conv),
	       0, "seal an index block");
	crypto_generichash_init(&h, conv, IPMD_KEY_BYTES, IPMD_KEY_BYTES);
	crypto_generichash_update(&h, &kind, 1);
	crypto_generichash_update(&h, plain, sizeof(plain));
	crypto_generichash_final(&h, want_key, IPMD_KEY_BYTES);
	is_mem(key, want_key, IPMD_KEY_BYTES,
	       "key = BLAKE2b-256 keyed with convergence over kind||plain");
	crypto_generichash(want_nonce, sizeof(want_nonce),
			   (const uint8_t *)IPMD_NONCE_LABEL,
			   strlen(IPMD_NONCE_LABEL), key, IPMD_KEY_BYTES);
	is_mem(sealed, want_nonce, IPMD_NONCE_BYTES,
	       "nonce = BLAKE2b keyed with the block key over the label");
	is_int(crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
		       back, NULL, sealed + IPMD_NONCE_BYTES, sizeof(plain),
		       sealed + IPMD_NONCE_BYTES + sizeof(plain), aad,
		       sizeof(aad), sealed, key),
	       0, "opens with plain libsodium and AAD 'ipmd' 1 kind");
	is_mem(back, plain, sizeof(plain), "libsodium gets the plaintext");
	aad[4] = 2;
	ok(crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
		   back, NULL, sealed + IPMD_NONCE_BYTES, sizeof(plain),
		   sealed + IPMD_NONCE_BYTES + sizeof(plain), aad, sizeof(aad),
		   sealed, key) != 0,
	   "another format version in the AAD does not open");
}

static void test_streaming_key(const uint8_t conv[IPMD_KEY_BYTES])
{
	uint8_t *plain = xmalloc(CHUNK), one[IPMD_KEY_BYTES], st_key[IPMD_KEY_BYTES];
	struct block_key_state st;
	size_t off = 0, step = 1;

	tap_fill_random(plain, CHUNK, 3);
	block_key(one, conv, BLOCK_DIRECTORY, plain, CHUNK);
	block_key_init(&st, conv, BLOCK_DIRECTORY);
	while (off < CHUNK) { /* uneven pieces, including empty updates */
		size_t n = step < CHUNK - off ? step : CHUNK - off;
		block_key_update(&st, plain + off, n);
		block_key_update(&st, NULL, 0);
		off += n;
		step = step * 3 + 1;
	}
	block_key_final(&st, st_key);
	is_mem(st_key, one, IPMD_KEY_BYTES, "streaming key == one-shot key");
	block_key(st_key, conv, BLOCK_CHUNK, plain, CHUNK);
	ok(memcmp(st_key, one, IPMD_KEY_BYTES) != 0,
	   "same plaintext, other kind: other key");
	free(plain);
}

static void test_convergence(const uint8_t conv[IPMD_KEY_BYTES])
{
	enum { N = 4096 };
	uint8_t conv2[IPMD_KEY_BYTES], plain[N];
	uint8_t a[N + IPMD_SEAL_OVERHEAD], b[N + IPMD_SEAL_OVERHEAD];
	uint8_t c[N + IPMD_SEAL_OVERHEAD];
	uint8_t ka[IPMD_KEY_BYTES], kb[IPMD_KEY_BYTES], kc[IPMD_KEY_BYTES];

	tap_fill_random(plain, N, 11);
	memcpy(conv2, conv, IPMD_KEY_BYTES);
	conv2[0] ^= 1;
	seal_convergent(a, ka, plain, N, BLOCK_CHUNK, conv);
	seal_convergent(b, kb, plain, N, BLOCK_CHUNK, conv);
	is_mem(a, b, sizeof(a), "same plaintext, same secret: same bytes");
	is_mem(ka, kb, IPMD_KEY_BYTES, "... and same key");
	seal_convergent(c, kc, plain, N, BLOCK_CHUNK, conv2);
	ok(memcmp(a, c, sizeof(a)) != 0,
	   "another convergence secret: other bytes");
	ok(memcmp(a, c, IPMD_NONCE_BYTES) != 0, "... other nonce");
	ok(memcmp(ka, kc, IPMD_KEY_BYTES) != 0, "... other key");
	plain[N - 1] ^= 1;
	seal_convergent(c, kc, plain, N, BLOCK_CHUNK, conv);
	ok(memcmp(a, c, IPMD_NONCE_BYTES) != 0 &&
		   memcmp(ka, kc, IPMD_KEY_BYTES) != 0,
	   "one changed plaintext bit: other key and nonce");
}

static void test_tamper(const uint8_t conv[IPMD_KEY_BYTES])
{
	enum { N = 4096 };
	uint8_t plain[N], sealed[N + IPMD_SEAL_OVERHEAD], out[N];
	uint8_t key[IPMD_KEY_BYTES], bad_key[IPMD_KEY_BYTES];
	const struct {
		size_t at;
		const char *what;
	} spots[] = {
		{ 0, "nonce" },
		{ IPMD_NONCE_BYTES - 1, "nonce (last byte)" },
		{ IPMD_NONCE_BYTES, "ciphertext (first byte)" },
		{ IPMD_NONCE_BYTES + N / 2, "ciphertext (middle)" },
		{ IPMD_NONCE_BYTES + N, "tag (first byte)" },
		{ sizeof(sealed) - 1, "tag (last byte)" },
	};
	size_t len;

	tap_fill_random(plain, N, 21);
	seal_convergent(sealed, key, plain, N, BLOCK_CHUNK, conv);
	for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		sealed[spots[i].at] ^= 0x40;
		memset(out, 0xAA, sizeof(out));
		len = 999;
		is_int(seal_open(out, &len, sealed, sizeof(sealed),
				 BLOCK_CHUNK, key),
		       -EBADMSG, "tampered %s refused", spots[i].what);
		ok(all_zero(out, sizeof(out)), "... output zeroed (%s)",
		   spots[i].what);
		is_int(len, 0, "... plain_len 0 (%s)", spots[i].what);
		sealed[spots[i].at] ^= 0x40;
	}
	is_int(seal_open(out, &len, sealed, sizeof(sealed), BLOCK_CHUNK, key),
	       0, "untampered still opens");

	memcpy(bad_key, key, sizeof(key));
	bad_key[31] ^= 0x80;
	memset(out, 0xAA, sizeof(out));
	is_int(seal_open(out, &len, sealed, sizeof(sealed), BLOCK_CHUNK,
			 bad_key),
	       -EBADMSG, "wrong key refused");
	ok(all_zero(out, sizeof(out)), "... output zeroed");
	memset(out, 0xAA, sizeof(out));
	is_int(seal_open(out, &len, sealed, sizeof(sealed), BLOCK_INDEX, key),
	       -EBADMSG, "opening a chunk as an index refused");
	ok(all_zero(out, sizeof(out)), "... output zeroed");
	is_int(seal_open(out, &len, sealed, sizeof(sealed) - 1, BLOCK_CHUNK,
			 key),
	       -EBADMSG, "a block one byte short refused");
}

static void test_random_nonce(void)
{
	enum { N = 1000 };
	uint8_t key[IPMD_KEY_BYTES], plain[N], out[N];
	uint8_t a[N + IPMD_SEAL_OVERHEAD], b[N + IPMD_SEAL_OVERHEAD];
	uint8_t nonce[IPMD_NONCE_BYTES];
	size_t len = 0;

	tap_fill_random(key, sizeof(key), 31);
	tap_fill_random(plain, N, 32);
	is_int(seal_with_key(a, plain, N, BLOCK_COMMIT, key, NULL), 0,
	       "seal with random nonce");
	is_int(seal_with_key(b, plain, N, BLOCK_COMMIT, key, NULL), 0,
	       "seal again");
	ok(memcmp(a, b, IPMD_NONCE_BYTES) != 0, "random nonces differ");
	ok(memcmp(a + IPMD_NONCE_BYTES, b + IPMD_NONCE_BYTES, N) != 0,
	   "... and so do the ciphertexts");
	is_int(seal_open(out, &len, a, sizeof(a), BLOCK_COMMIT, key), 0,
	       "first opens");
	is_mem(out, plain, N, "... to the plaintext");
	memset(out, 0, sizeof(out));
	is_int(seal_open(out, &len, b, sizeof(b), BLOCK_COMMIT, key), 0,
	       "second opens");
	is_mem(out, plain, N, "... to the plaintext");
	is_int(seal_open(out, &len, a, sizeof(a), BLOCK_JOURNAL, key),
	       -EBADMSG, "a commit does not open as a journal record");

	tap_fill_random(nonce, sizeof(nonce), 33);
	is_int(seal_with_key(a, plain, N, BLOCK_JOURNAL, key, nonce), 0,
	       "seal with a given nonce");
	is_mem(a, nonce, IPMD_NONCE_BYTES, "the given nonce is stored");
	is_int(seal_with_key(b, plain, N, BLOCK_JOURNAL, key, nonce), 0,
	       "seal again with it");
	is_mem(a, b, sizeof(a), "given nonce: deterministic");
	is_int(seal_open(out, &len, a, sizeof(a), BLOCK_JOURNAL, key), 0,
	       "given-nonce block opens");
}

/*
 * libcrypto does the work; libsodium defines the bytes.  Lengths around
 * ChaCha20's 64-byte blocks and Poly1305's 16-byte blocks, a chunk, and
 * random ones up to a bit over a chunk.
 */
#define CMP_MAX (300 * 1024)
#define CMP_RANDOM 40

static size_t cmp_lengths(size_t *lens, size_t cap)
{
	static const size_t fixed[] = {
		0,    1,    2,    15,   16,   17,   31,    32,        33,
		63,   64,   65,   127,  128,  129,  255,   256,       257,
		1000, 4095, 4096, 4097, 65535, 65536, 65537, CHUNK - 1, CHUNK,
		CHUNK + 1, CMP_MAX,
	};
	size_t n = 0;
	uint32_t r[CMP_RANDOM];

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) && n < cap; i++)
		lens[n++] = fixed[i];
	tap_fill_random((uint8_t *)r, sizeof(r), 77);
	for (size_t i = 0; i < CMP_RANDOM && n < cap; i++)
		lens[n++] = r[i] % (CMP_MAX + 1);
	return n;
}

/* libsodium's keyed BLAKE2b-256 over kind ‖ plain. */
static void ref_block_key(uint8_t key[IPMD_KEY_BYTES],
			  const uint8_t conv[IPMD_KEY_BYTES],
			  enum block_kind kind, const uint8_t *plain,
			  size_t len)
{
	crypto_generichash_state h;
	uint8_t k = (uint8_t)kind;

	crypto_generichash_init(&h, conv, IPMD_KEY_BYTES, IPMD_KEY_BYTES);
	crypto_generichash_update(&h, &k, 1);
	crypto_generichash_update(&h, plain, len);
	crypto_generichash_final(&h, key, IPMD_KEY_BYTES);
}

/* libsodium's seal in our layout: nonce ‖ ct ‖ tag. */
static void ref_seal(uint8_t *out, const uint8_t *plain, size_t len,
		     enum block_kind kind, const uint8_t key[IPMD_KEY_BYTES],
		     const uint8_t nonce[IPMD_NONCE_BYTES])
{
	uint8_t aad[IPMD_AAD_BYTES] = { 'i', 'p', 'm', 'd', IPMD_FORMAT_VERSION,
					(uint8_t)kind };

	memmove(out, nonce, IPMD_NONCE_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
		out + IPMD_NONCE_BYTES, out + IPMD_NONCE_BYTES + len, NULL,
		plain, len, aad, sizeof(aad), NULL, out, key);
}

static int ref_open(uint8_t *plain, const uint8_t *sealed, size_t len,
		    enum block_kind kind, const uint8_t key[IPMD_KEY_BYTES])
{
	uint8_t aad[IPMD_AAD_BYTES] = { 'i', 'p', 'm', 'd', IPMD_FORMAT_VERSION,
					(uint8_t)kind };

	return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
		plain, NULL, sealed + IPMD_NONCE_BYTES, len,
		sealed + IPMD_NONCE_BYTES + len, aad, sizeof(aad), sealed, key);
}

static void test_vs_libsodium_one(size_t len, uint64_t seed)
{
	uint8_t *plain = xmalloc(len), *back = xmalloc(len);
	uint8_t *ours = xmalloc(len + IPMD_SEAL_OVERHEAD);
	uint8_t *ref = xmalloc(len + IPMD_SEAL_OVERHEAD);
	uint8_t key[IPMD_KEY_BYTES], conv[IPMD_KEY_BYTES];
	uint8_t nonce[IPMD_NONCE_BYTES];
	uint8_t got_key[IPMD_KEY_BYTES], want_key[IPMD_KEY_BYTES], kb;
	enum block_kind kind;
	size_t back_len = 0;

	tap_fill_random(plain, len, seed);
	tap_fill_random(key, sizeof(key), seed + 1);
	tap_fill_random(conv, sizeof(conv), seed + 2);
	tap_fill_random(nonce, sizeof(nonce), seed + 3);
	tap_fill_random(&kb, 1, seed + 4);
	kind = (enum block_kind)(1 + kb % BLOCK_KIND_MAX);

	/* Given nonce. */
	is_int(seal_with_key(ours, plain, len, kind, key, nonce), 0,
	       "seal_with_key %zu bytes, kind %d", len, (int)kind);
	ref_seal(ref, plain, len, kind, key, nonce);
	is_mem(ours, ref, len + IPMD_SEAL_OVERHEAD,
	       "... byte-identical to libsodium (%zu)", len);
	memset(back, 0x55, len);
	ok(ref_open(back, ours, len, kind, key) == 0 &&
		   (len == 0 || memcmp(back, plain, len) == 0),
	   "... libsodium opens it (%zu)", len);

	/* Random nonce: libsodium under the stored nonce gives the same. */
	is_int(seal_with_key(ours, plain, len, kind, key, NULL), 0,
	       "random-nonce seal (%zu)", len);
	ref_seal(ref, plain, len, kind, key, ours);
	is_mem(ours, ref, len + IPMD_SEAL_OVERHEAD,
	       "... byte-identical to libsodium under its nonce (%zu)", len);

	/* We open what libsodium sealed. */
	ref_seal(ref, plain, len, kind, key, nonce);
	memset(back, 0x55, len);
	back_len = 0;
	ok(seal_open(back, &back_len, ref, len + IPMD_SEAL_OVERHEAD, kind,
		     key) == 0 &&
		   back_len == len &&
		   (len == 0 || memcmp(back, plain, len) == 0),
	   "we open libsodium's block (%zu)", len);

	/* Convergent: key and whole block. */
	is_int(seal_convergent(ours, got_key, plain, len, kind, conv), 0,
	       "seal_convergent (%zu)", len);
	ref_block_key(want_key, conv, kind, plain, len);
	is_mem(got_key, want_key, IPMD_KEY_BYTES,
	       "block key == crypto_generichash keyed (%zu)", len);
	crypto_generichash(nonce, sizeof(nonce),
			   (const uint8_t *)IPMD_NONCE_LABEL,
			   strlen(IPMD_NONCE_LABEL), want_key, IPMD_KEY_BYTES);
	ref_seal(ref, plain, len, kind, want_key, nonce);
	is_mem(ours, ref, len + IPMD_SEAL_OVERHEAD,
	       "convergent block byte-identical to libsodium (%zu)", len);
	free(plain);
	free(back);
	free(ours);
	free(ref);
}

static void test_vs_libsodium(void)
{
	size_t lens[64], n = cmp_lengths(lens, 64);

	for (size_t i = 0; i < n; i++)
		test_vs_libsodium_one(lens[i], 5000 + 10 * i);
}

/* Streaming in odd pieces == one-shot == libsodium, for many lengths. */
static void test_streaming_pieces(void)
{
	static const size_t pieces[] = { 1, 7, 127, 128, 129, 1000, 4097 };
	size_t lens[64], n = cmp_lengths(lens, 64);
	uint8_t *plain = xmalloc(CMP_MAX), conv[IPMD_KEY_BYTES];
	uint8_t want[IPMD_KEY_BYTES], one[IPMD_KEY_BYTES];
	uint8_t st_key[IPMD_KEY_BYTES];
	int bad_one = 0, bad_st = 0, bad_rc = 0;

	tap_fill_random(plain, CMP_MAX, 91);
	tap_fill_random(conv, sizeof(conv), 92);
	for (size_t i = 0; i < n; i++) {
		size_t len = lens[i], off = 0, p = i;
		struct block_key_state st;

		ref_block_key(want, conv, BLOCK_CHUNK, plain, len);
		block_key(one, conv, BLOCK_CHUNK, plain, len);
		bad_one += memcmp(one, want, IPMD_KEY_BYTES) != 0;
		block_key_init(&st, conv, BLOCK_CHUNK);
		while (off < len) { /* ≤ len rounds: every piece ≥ 1 */
			size_t k = pieces[p++ % (sizeof(pieces) /
						 sizeof(pieces[0]))];
			if (k > len - off)
				k = len - off;
			block_key_update(&st, plain + off, k);
			off += k;
		}
		bad_rc += block_key_final(&st, st_key) != 0;
		bad_st += memcmp(st_key, want, IPMD_KEY_BYTES) != 0;
		if (memcmp(one, want, IPMD_KEY_BYTES) ||
		    memcmp(st_key, want, IPMD_KEY_BYTES))
			tap_diag("key mismatch at length %zu", len);
	}
	is_int(bad_one, 0,
	       "one-shot block_key == crypto_generichash, %zu lengths", n);
	is_int(bad_st, 0, "streaming in odd pieces == crypto_generichash");
	is_int(bad_rc, 0, "block_key_final returned 0 every time");
	free(plain);
}

/* libcrypto writes plaintext before it checks the tag: all of it must go. */
static void test_tamper_large(void)
{
	const size_t len = CHUNK + 17;
	uint8_t *plain = xmalloc(len), *back = xmalloc(len);
	uint8_t *sealed = xmalloc(len + IPMD_SEAL_OVERHEAD);
	uint8_t key[IPMD_KEY_BYTES];
	/* Nonce in the HChaCha20 part and the IETF part, last ciphertext
	 * byte, first and last tag byte. */
	const size_t spots[] = { 3, IPMD_NONCE_BYTES - 4,
				 IPMD_NONCE_BYTES + len - 1,
				 IPMD_NONCE_BYTES + len,
				 len + IPMD_SEAL_OVERHEAD - 1 };
	size_t got = 1;

	tap_fill_random(plain, len, 101);
	tap_fill_random(key, sizeof(key), 102);
	is_int(seal_with_key(sealed, plain, len, BLOCK_CHUNK, key, NULL), 0,
	       "seal %zu bytes", len);
	for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		size_t at = spots[i];

		sealed[at] ^= 1;
		memset(back, 0xAA, len);
		got = 1;
		is_int(seal_open(back, &got, sealed, len + IPMD_SEAL_OVERHEAD,
				 BLOCK_CHUNK, key),
		       -EBADMSG, "flipped byte %zu of a large block refused",
		       at);
		ok(all_zero(back, len) && got == 0, "... all %zu bytes zeroed",
		   len);
		sealed[at] ^= 1;
	}
	memset(back, 0xAA, len);
	is_int(seal_open(back, &got, sealed, len + IPMD_SEAL_OVERHEAD,
			 BLOCK_INDEX, key),
	       -EBADMSG, "large chunk opened as an index refused");
	ok(all_zero(back, len), "... all bytes zeroed");
	is_int(seal_open(back, &got, sealed, len + IPMD_SEAL_OVERHEAD,
			 BLOCK_CHUNK, key),
	       0, "untouched large block opens");
	is_mem(back, plain, len, "... to the plaintext");
	free(plain);
	free(back);
	free(sealed);
}

/* seal_convergent_sparse: plain[0..have) and implicit zeros to len give
 * the block and key of the whole buffer, padded or not, for a zero tail
 * of none, less than one, one and several constant-buffer pieces. */
static void test_sparse(const uint8_t conv[IPMD_KEY_BYTES])
{
	const size_t len = 5000, haves[] = { 0, 1, 3000, 3999, 4000, 5000 };
	const size_t padded[] = { len, (size_t)seal_padme(len) };
	uint8_t *plain = xmalloc(len);
	uint8_t *want = xmalloc(padded[1] + IPMD_SEAL_OVERHEAD);
	uint8_t *got = xmalloc(padded[1] + IPMD_SEAL_OVERHEAD);
	uint8_t wkey[IPMD_KEY_BYTES], gkey[IPMD_KEY_BYTES];

	ok(padded[1] > len, "padmé pads %zu bytes", len);
	for (size_t p = 0; p < 2; p++) {
		size_t n = padded[p] + IPMD_SEAL_OVERHEAD;
		for (size_t i = 0; i < sizeof(haves) / sizeof(haves[0]); i++) {
			size_t have = haves[i];
			tap_fill_random(plain, len, 7000 + have);
			memset(plain + have, 0, len - have);
			is_int(seal_convergent_padded(want, wkey, plain, len,
						      padded[p], BLOCK_CHUNK,
						      conv),
			       0, "whole: %zu of %zu, padded to %zu", have,
			       len, padded[p]);
			/* What lies past have is not read: not zeros here. */
			memset(plain + have, 0xa5, len - have);
			is_int(seal_convergent_sparse(got, gkey,
						      have ? plain : NULL,
						      have, len, padded[p],
						      BLOCK_CHUNK, conv),
			       0, "sparse: %zu of %zu, padded to %zu", have,
			       len, padded[p]);
			is_mem(got, want, n, "… the same block (%zu, %zu)",
			       have, padded[p]);
			is_mem(gkey, wkey, IPMD_KEY_BYTES,
			       "… and the same key (%zu, %zu)", have,
			       padded[p]);
		}
	}
	is_int(seal_convergent_sparse(got, gkey, plain, 11, 10, 10,
				      BLOCK_CHUNK, conv),
	       -EINVAL, "sparse: have > len refused");
	is_int(seal_convergent_sparse(got, gkey, NULL, 1, 10, 10, BLOCK_CHUNK,
				      conv),
	       -EINVAL, "sparse: no plain with have > 0 refused");
	is_int(seal_convergent_sparse(got, gkey, plain, 10, 10, 9, BLOCK_CHUNK,
				      conv),
	       -EINVAL, "sparse: padded below len refused");
	free(plain);
	free(want);
	free(got);
}

static void test_bad_args(const uint8_t conv[IPMD_KEY_BYTES])
{
	uint8_t plain[16] = { 0 }, sealed[16 + IPMD_SEAL_OVERHEAD];
	uint8_t key[IPMD_KEY_BYTES], out[16];
	size_t len;

	is_int(seal_convergent(sealed, key, plain, 16, (enum block_kind)0,
			       conv),
	       -EINVAL, "kind 0 refused by seal_convergent");
	is_int(seal_with_key(sealed, plain, 16,
			     (enum block_kind)(BLOCK_KIND_MAX + 1), conv, NULL),
	       -EINVAL, "kind MAX+1 refused by seal_with_key");
	is_int(seal_convergent(sealed, key, plain, 16, BLOCK_CHUNK, conv), 0,
	       "seal a small block");
	is_int(seal_open(out, &len, sealed, sizeof(sealed), (enum block_kind)0,
			 key),
	       -EINVAL, "open as kind 0 refused");
	is_int(seal_open(out, &len, sealed, IPMD_SEAL_OVERHEAD - 1,
			 BLOCK_CHUNK, key),
	       -EINVAL, "input shorter than the overhead refused");
	is_int(seal_plain_len(IPMD_SEAL_OVERHEAD - 1), -1,
	       "seal_plain_len of a too-short block");
}

int main(void)
{
	uint8_t conv[IPMD_KEY_BYTES];
	const size_t sizes[] = { 0, 1, 4096, CHUNK };

	if (!ok(seal_init() == 0, "seal_init"))
		return tap_done();
	is_int(seal_init(), 0, "seal_init twice");
	tap_fill_random(conv, sizeof(conv), 42);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		test_round_trip(conv, sizes[i]);
	test_format_pinned(conv);
	test_streaming_key(conv);
	test_convergence(conv);
	test_tamper(conv);
	test_random_nonce();
	test_bad_args(conv);
	test_sparse(conv);
	test_vs_libsodium();
	test_streaming_pieces();
	test_tamper_large();
	return tap_done();
}
