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
	return tap_done();
}
