/* crypto/seal.c — see seal.h. */
#include "crypto/seal.h"

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "util/wipe.h"

/*
 * libsodium's xchacha20poly1305_ietf is HChaCha20 (first 16 nonce bytes)
 * for a subkey, then RFC 8439 ChaCha20-Poly1305 with the 12-byte nonce
 * 0^4 ‖ last 8 nonce bytes.  libcrypto has the second part only.
 */
#define HCHACHA_NONCE_BYTES crypto_core_hchacha20_INPUTBYTES /* 16 */
#define IETF_NONCE_BYTES crypto_aead_chacha20poly1305_ietf_NPUBBYTES /* 12 */
#define IETF_NONCE_ZEROS (IETF_NONCE_BYTES - (IPMD_NONCE_BYTES - \
					       HCHACHA_NONCE_BYTES))
/* EVP_CipherUpdate takes an int length. */
#define EVP_PIECE_MAX ((size_t)1 << 30)
/* Names of the libcrypto algorithms (default provider). */
#define MAC_BLAKE2B "BLAKE2BMAC"
#define CIPHER_CHACHAPOLY "ChaCha20-Poly1305"

_Static_assert(sizeof(IPMD_AAD_MAGIC) - 1 + 2 == IPMD_AAD_BYTES,
	       "AAD is magic, version byte, kind byte");
_Static_assert(IPMD_NONCE_BYTES >= crypto_generichash_BYTES_MIN &&
		       IPMD_NONCE_BYTES <= crypto_generichash_BYTES_MAX,
	       "the nonce is a BLAKE2b output");
_Static_assert(IPMD_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
	       "block keys are AEAD keys");
_Static_assert(IPMD_KEY_BYTES >= crypto_generichash_KEYBYTES_MIN &&
		       IPMD_KEY_BYTES <= crypto_generichash_KEYBYTES_MAX,
	       "keys are usable as BLAKE2b keys");
_Static_assert(IPMD_KEY_BYTES == crypto_core_hchacha20_KEYBYTES &&
		       IPMD_KEY_BYTES == crypto_core_hchacha20_OUTPUTBYTES &&
		       IPMD_KEY_BYTES ==
			       crypto_aead_chacha20poly1305_ietf_KEYBYTES,
	       "HChaCha20 maps a block key to a ChaCha20-Poly1305 key");
_Static_assert(IPMD_NONCE_BYTES ==
			       crypto_aead_xchacha20poly1305_ietf_NPUBBYTES &&
		       IETF_NONCE_ZEROS == 4,
	       "XChaCha20 nonce: 16 bytes for HChaCha20, 8 for the IETF nonce");
_Static_assert(IPMD_TAG_BYTES == crypto_aead_chacha20poly1305_ietf_ABYTES,
	       "the same Poly1305 tag");
_Static_assert(EVP_PIECE_MAX <= INT_MAX, "pieces fit an int");

/*
 * jansson's free for every JSON value and buffer: wipe, then free.  Keys
 * pass through JSON as base64 (journal records, directory nodes, commits,
 * capabilities), in strings and in the buffers json_dumps and json_loadb
 * use inside, which no caller can reach to wipe.  No size header, so a
 * value allocated before this was installed still frees correctly.
 */
static void json_wipe_free(void *p)
{
	wipe_free(p, p ? malloc_usable_size(p) : 0);
}

int seal_init(void)
{
	EVP_MAC *mac;
	EVP_CIPHER *cipher;
	int ok;

	/* 1 means "already initialised", which is fine. */
	if (sodium_init() < 0)
		return -EIO;
	json_set_alloc_funcs(malloc, json_wipe_free);
	/* Where a provider lacks them, fail now, not at the first write. */
	mac = EVP_MAC_fetch(NULL, MAC_BLAKE2B, NULL);
	cipher = EVP_CIPHER_fetch(NULL, CIPHER_CHACHAPOLY, NULL);
	ok = mac && cipher;
	EVP_MAC_free(mac);
	EVP_CIPHER_free(cipher);
	return ok ? 0 : -EIO;
}

static int kind_ok(enum block_kind kind)
{
	return (int)kind >= 1 && (int)kind <= BLOCK_KIND_MAX;
}

static void make_aad(uint8_t aad[IPMD_AAD_BYTES], enum block_kind kind)
{
	memcpy(aad, IPMD_AAD_MAGIC, sizeof(IPMD_AAD_MAGIC) - 1);
	aad[IPMD_AAD_BYTES - 2] = IPMD_FORMAT_VERSION;
	aad[IPMD_AAD_BYTES - 1] = (uint8_t)kind;
}

/* AAD of a padded block: the plain AAD, then the true length. */
static void make_padded_aad(uint8_t aad[IPMD_PADDED_AAD_BYTES],
			    enum block_kind kind, uint64_t len)
{
	uint64_t be = htobe64(len);
	make_aad(aad, kind);
	memcpy(aad + IPMD_AAD_BYTES, &be, sizeof(be));
}

uint64_t seal_padme(uint64_t len)
{
	if (len < 2)
		return len;
	/* e = floor(log2 len) ≥ 1; s = floor(log2 e) + 1 ≤ e. */
	unsigned e = 63u - (unsigned)__builtin_clzll(len);
	unsigned s = (unsigned)(sizeof(unsigned) * CHAR_BIT) -
		     (unsigned)__builtin_clz(e);
	uint64_t mask = ((uint64_t)1 << (e - s)) - 1;
	if (len > UINT64_MAX - mask)
		return len;
	return (len + mask) & ~mask;
}

/*
 * Keyed BLAKE2b-256 in libcrypto, or NULL.  The EVP_MAC is fetched per call:
 * it is a lookup in libcrypto's method cache, ~0.4 µs against ~400 µs of
 * hashing a 256 KiB chunk, and a fetched-once EVP_MAC would be either a
 * global or a new argument of every sealing function.
 */
static EVP_MAC_CTX *mac_new(const uint8_t key[IPMD_KEY_BYTES])
{
	size_t size = IPMD_KEY_BYTES;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, MAC_BLAKE2B, NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;

	/* The context holds its own reference to the EVP_MAC. */
	EVP_MAC_free(mac);
	if (ctx && EVP_MAC_init(ctx, key, IPMD_KEY_BYTES, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

/* EVP_MAC_CTX_free wipes the BLAKE2b state and key (OPENSSL_clear_free). */
static int mac_final(EVP_MAC_CTX *ctx, uint8_t key[IPMD_KEY_BYTES])
{
	size_t n = 0;
	int r = EVP_MAC_final(ctx, key, &n, IPMD_KEY_BYTES) == 1 &&
				n == IPMD_KEY_BYTES
			? 0
			: -EIO;

	EVP_MAC_CTX_free(ctx);
	return r;
}

void block_key_init(struct block_key_state *st,
		    const uint8_t convergence[IPMD_KEY_BYTES],
		    enum block_kind kind)
{
	uint8_t k = (uint8_t)kind;

	memset(st, 0, sizeof(*st));
	st->mac = mac_new(convergence);
	if (!st->mac) {
		/* Nothing hashed yet: libsodium gives the same key. */
		crypto_generichash_init(&st->hash, convergence, IPMD_KEY_BYTES,
					IPMD_KEY_BYTES);
	}
	block_key_update(st, &k, 1);
}

void block_key_update(struct block_key_state *st, const uint8_t *data,
		      size_t len)
{
	if (len == 0 || st->err)
		return;
	if (!st->mac)
		crypto_generichash_update(&st->hash, data, len);
	else if (EVP_MAC_update(st->mac, data, len) != 1)
		st->err = -EIO;
}

int block_key_final(struct block_key_state *st, uint8_t key[IPMD_KEY_BYTES])
{
	int r = st->err;

	if (st->mac) {
		if (r == 0)
			r = mac_final(st->mac, key);
		else
			EVP_MAC_CTX_free(st->mac);
	} else if (r == 0) {
		crypto_generichash_final(&st->hash, key, IPMD_KEY_BYTES);
	}
	if (r != 0)
		sodium_memzero(key, IPMD_KEY_BYTES);
	/* The state holds the convergence secret's key block. */
	sodium_memzero(st, sizeof(*st));
	return r;
}

void block_key(uint8_t key[IPMD_KEY_BYTES],
	       const uint8_t convergence[IPMD_KEY_BYTES],
	       enum block_kind kind, const uint8_t *plain, size_t len)
{
	uint8_t k = (uint8_t)kind;
	EVP_MAC_CTX *ctx = mac_new(convergence);
	crypto_generichash_state h;

	if (ctx) {
		if (EVP_MAC_update(ctx, &k, 1) == 1 &&
		    (len == 0 || EVP_MAC_update(ctx, plain, len) == 1)) {
			if (mac_final(ctx, key) == 0)
				return;
		} else {
			EVP_MAC_CTX_free(ctx);
		}
	}
	/* libcrypto failed; the same function from libsodium. */
	crypto_generichash_init(&h, convergence, IPMD_KEY_BYTES,
				IPMD_KEY_BYTES);
	crypto_generichash_update(&h, &k, 1);
	if (len > 0)
		crypto_generichash_update(&h, plain, len);
	crypto_generichash_final(&h, key, IPMD_KEY_BYTES);
	sodium_memzero(&h, sizeof(h));
}

void convergence_scope(uint8_t out[IPMD_KEY_BYTES],
		       const uint8_t convergence[IPMD_KEY_BYTES],
		       const uint8_t salt[IPMD_SCOPE_SALT_BYTES])
{
	uint8_t in[sizeof(IPMD_SCOPE_LABEL) - 1 + IPMD_SCOPE_SALT_BYTES];
	memcpy(in, IPMD_SCOPE_LABEL, sizeof(IPMD_SCOPE_LABEL) - 1);
	memcpy(in + sizeof(IPMD_SCOPE_LABEL) - 1, salt,
	       IPMD_SCOPE_SALT_BYTES);
	crypto_generichash(out, IPMD_KEY_BYTES, in, sizeof(in), convergence,
			   IPMD_KEY_BYTES);
}

/* Feed in[0..len) through the cipher into out, in int-sized pieces. */
static int cipher_all(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in,
		      size_t len)
{
	while (len > 0) { /* ≤ len / EVP_PIECE_MAX + 1 rounds */
		size_t n = len < EVP_PIECE_MAX ? len : EVP_PIECE_MAX;
		int outl = 0;

		if (EVP_CipherUpdate(ctx, out, &outl, in, (int)n) != 1 ||
		    outl != (int)n)
			return -EIO;
		out += n;
		in += n;
		len -= n;
	}
	return 0;
}

/* Padding goes through the cipher in pieces of this many bytes. */
#define PAD_PIECE 1024

/*
 * The padding of a padded block: enc = 1 encrypts pad zero bytes into out;
 * enc = 0 decrypts in[0..pad) and ORs every plaintext byte into *seen.
 */
static int cipher_pad(EVP_CIPHER_CTX *ctx, int enc, uint8_t *out,
		      const uint8_t *in, size_t pad, uint8_t *seen)
{
	static const uint8_t zeros[PAD_PIECE];
	uint8_t scratch[PAD_PIECE];
	int r = 0;

	while (pad > 0 && r == 0) { /* ≤ pad / PAD_PIECE + 1 rounds */
		size_t n = pad < PAD_PIECE ? pad : PAD_PIECE;

		if (enc) {
			r = cipher_all(ctx, out, zeros, n);
			out += n;
		} else {
			r = cipher_all(ctx, scratch, in, n);
			for (size_t i = 0; i < n; i++)
				*seen |= scratch[i];
			in += n;
		}
		pad -= n;
	}
	sodium_memzero(scratch, sizeof(scratch));
	return r;
}

/*
 * XChaCha20-Poly1305-IETF, detached, in libcrypto, with aad[0..aad_len).
 * enc = 1 seals in[0..len) followed by pad zero bytes into out (len + pad
 * bytes) and tag; enc = 0 opens in[0..len + pad) after checking tag, the
 * first len bytes into out, and requires the last pad to be zeros.  0,
 * -EIO, or -EBADMSG (opening only: a bad tag, or a non-zero padding byte).
 * On failure out may hold partial output: callers wipe.
 */
static int xchacha_poly(int enc, uint8_t *out, const uint8_t *in, size_t len,
			size_t pad, uint8_t tag[IPMD_TAG_BYTES],
			const uint8_t *aad, size_t aad_len,
			const uint8_t nonce[IPMD_NONCE_BYTES],
			const uint8_t key[IPMD_KEY_BYTES])
{
	uint8_t subkey[IPMD_KEY_BYTES], iv[IETF_NONCE_BYTES] = { 0 };
	uint8_t spare[IPMD_TAG_BYTES], seen = 0;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl = 0, r = -EIO;

	if (!ctx)
		return -EIO;
	crypto_core_hchacha20(subkey, nonce, key, NULL);
	memcpy(iv + IETF_NONCE_ZEROS, nonce + HCHACHA_NONCE_BYTES,
	       IPMD_NONCE_BYTES - HCHACHA_NONCE_BYTES);
	if (EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL,
			      enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, IETF_NONCE_BYTES,
				NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, subkey, iv, enc) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG,
				       IPMD_TAG_BYTES, tag) != 1)
		goto out;
	if (EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1 ||
	    cipher_all(ctx, out, in, len) != 0 ||
	    (pad > 0 && cipher_pad(ctx, enc, enc ? out + len : NULL,
				   enc ? NULL : in + len, pad, &seen) != 0))
		goto out;
	/* A stream cipher: Final writes nothing; it makes or checks the tag. */
	if (EVP_CipherFinal_ex(ctx, spare, &outl) != 1) {
		r = enc ? -EIO : -EBADMSG;
		goto out;
	}
	if (outl != 0 ||
	    (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
					IPMD_TAG_BYTES, tag) != 1))
		goto out;
	/* Authentic, but not the one way to pad this plaintext. */
	r = seen ? -EBADMSG : 0;
out:
	/* EVP_CIPHER_CTX_free wipes the cipher state (OPENSSL_clear_free). */
	EVP_CIPHER_CTX_free(ctx);
	sodium_memzero(subkey, sizeof(subkey));
	return r;
}

/*
 * Seal with the nonce already in out[0..IPMD_NONCE_BYTES): ciphertext goes
 * straight into its final place, tag after it, so the hot path makes no
 * copy of the chunk.
 */
static int seal_padded_in_place(uint8_t *out, const uint8_t *plain,
				size_t len, size_t pad, const uint8_t *aad,
				size_t aad_len,
				const uint8_t key[IPMD_KEY_BYTES])
{
	int r = xchacha_poly(1, out + IPMD_NONCE_BYTES, plain, len, pad,
			     out + IPMD_NONCE_BYTES + len + pad, aad, aad_len,
			     out, key);
	/* Half a block must not pass for a sealed one. */
	if (r != 0)
		sodium_memzero(out + IPMD_NONCE_BYTES,
			       len + pad + IPMD_TAG_BYTES);
	return r;
}

static int seal_in_place(uint8_t *out, const uint8_t *plain, size_t len,
			 enum block_kind kind,
			 const uint8_t key[IPMD_KEY_BYTES])
{
	uint8_t aad[IPMD_AAD_BYTES];
	make_aad(aad, kind);
	return seal_padded_in_place(out, plain, len, 0, aad, sizeof(aad), key);
}

/* Open sealed (nonce ‖ len + pad bytes ‖ tag) into plain[0..len), the
 * pad bytes after it required to be zeros; plain is wiped on failure. */
IPMD_MUST_CHECK
static int open_padded(uint8_t *plain, size_t len, size_t pad,
		       const uint8_t *sealed, const uint8_t *aad,
		       size_t aad_len, const uint8_t key[IPMD_KEY_BYTES])
{
	uint8_t tag[IPMD_TAG_BYTES];
	/* EVP_CTRL_AEAD_SET_TAG takes a mutable pointer. */
	memcpy(tag, sealed + IPMD_NONCE_BYTES + len + pad, IPMD_TAG_BYTES);
	int r = xchacha_poly(0, plain, sealed + IPMD_NONCE_BYTES, len, pad,
			     tag, aad, aad_len, sealed, key);
	/* libcrypto decrypts before it checks: take it back. */
	if (r != 0 && len > 0)
		sodium_memzero(plain, len);
	return r;
}

/* The nonce of a convergent block: BLAKE2b keyed with its key over label.
 * One BLAKE2b block: libsodium has no per-call setup, so it stays here. */
static void convergent_nonce(uint8_t nonce[IPMD_NONCE_BYTES],
			     const uint8_t *label, size_t label_len,
			     const uint8_t key[IPMD_KEY_BYTES])
{
	crypto_generichash(nonce, IPMD_NONCE_BYTES, label, label_len, key,
			   IPMD_KEY_BYTES);
}

static int seal_args_ok(const uint8_t *out, const uint8_t *plain, size_t len,
			enum block_kind kind)
{
	if (!kind_ok(kind) || !out || (len > 0 && !plain))
		return 0;
	return len <= crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX &&
	       len <= SIZE_MAX - IPMD_SEAL_OVERHEAD;
}

int seal_with_key(uint8_t *out, const uint8_t *plain, size_t len,
		  enum block_kind kind, const uint8_t key[IPMD_KEY_BYTES],
		  const uint8_t nonce[IPMD_NONCE_BYTES])
{
	if (!seal_args_ok(out, plain, len, kind))
		return -EINVAL;
	if (!nonce)
		randombytes_buf(out, IPMD_NONCE_BYTES);
	else if (nonce != out)
		memmove(out, nonce, IPMD_NONCE_BYTES);
	return seal_in_place(out, plain, len, kind, key);
}

int seal_convergent(uint8_t *out, uint8_t key_out[IPMD_KEY_BYTES],
		    const uint8_t *plain, size_t len, enum block_kind kind,
		    const uint8_t convergence[IPMD_KEY_BYTES])
{
	return seal_convergent_sparse(out, key_out, plain, len, len, len, kind,
				      convergence);
}

int seal_convergent_padded(uint8_t *out, uint8_t key_out[IPMD_KEY_BYTES],
			   const uint8_t *plain, size_t len, size_t padded_len,
			   enum block_kind kind,
			   const uint8_t convergence[IPMD_KEY_BYTES])
{
	return seal_convergent_sparse(out, key_out, plain, len, len,
				      padded_len, kind, convergence);
}

/* block_key of plain[0..have) followed by zeros zero bytes, the zeros fed
 * from a constant buffer.  0, or -EIO (the streaming form can fail where
 * the one-shot falls back: only with zeros to feed). */
static int block_key_zeros(uint8_t key[IPMD_KEY_BYTES],
			   const uint8_t convergence[IPMD_KEY_BYTES],
			   enum block_kind kind, const uint8_t *plain,
			   size_t have, size_t zeros)
{
	static const uint8_t z[PAD_PIECE];
	struct block_key_state st;

	if (zeros == 0) {
		block_key(key, convergence, kind, plain, have);
		return 0;
	}
	block_key_init(&st, convergence, kind);
	block_key_update(&st, plain, have);
	while (zeros > 0) { /* ≤ zeros / PAD_PIECE + 1 rounds */
		size_t n = zeros < PAD_PIECE ? zeros : PAD_PIECE;

		block_key_update(&st, z, n);
		zeros -= n;
	}
	return block_key_final(&st, key);
}

int seal_convergent_sparse(uint8_t *out, uint8_t key_out[IPMD_KEY_BYTES],
			   const uint8_t *plain, size_t have, size_t len,
			   size_t padded_len, enum block_kind kind,
			   const uint8_t convergence[IPMD_KEY_BYTES])
{
	uint8_t aad[IPMD_AAD_BYTES];
	uint8_t padded_aad[IPMD_PADDED_AAD_BYTES];
	uint8_t label[sizeof(IPMD_PADDED_NONCE_LABEL) - 1 + 8];
	uint64_t be = htobe64(padded_len);

	if (have > len || padded_len < len ||
	    !seal_args_ok(out, plain, have, kind) ||
	    padded_len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX ||
	    padded_len > SIZE_MAX - IPMD_SEAL_OVERHEAD)
		return -EINVAL;
	int r = block_key_zeros(key_out, convergence, kind, plain, have,
				len - have);
	if (r != 0)
		return r;
	/* The cipher takes the zeros after plain as it takes padding: both
	 * are zero bytes of plaintext, encrypted from a constant buffer. */
	if (padded_len == len) {
		/* The key is unique to (kind, plaintext), so a nonce derived
		 * from it never meets a second plaintext under that key. */
		convergent_nonce(out, (const uint8_t *)IPMD_NONCE_LABEL,
				 sizeof(IPMD_NONCE_LABEL) - 1, key_out);
		make_aad(aad, kind);
		return seal_padded_in_place(out, plain, have, len - have, aad,
					    sizeof(aad), key_out);
	}
	/* Another nonce than the unpadded block's (and than that of another
	 * padded length): a (key, nonce) never meets two plaintexts. */
	memcpy(label, IPMD_PADDED_NONCE_LABEL,
	       sizeof(IPMD_PADDED_NONCE_LABEL) - 1);
	memcpy(label + sizeof(IPMD_PADDED_NONCE_LABEL) - 1, &be, sizeof(be));
	convergent_nonce(out, label, sizeof(label), key_out);
	make_padded_aad(padded_aad, kind, len);
	return seal_padded_in_place(out, plain, have, padded_len - have,
				    padded_aad, sizeof(padded_aad), key_out);
}

int seal_open_padded(uint8_t *plain, size_t len, const uint8_t *sealed,
		     size_t sealed_len, enum block_kind kind,
		     const uint8_t key[IPMD_KEY_BYTES])
{
	uint8_t aad[IPMD_PADDED_AAD_BYTES];
	size_t padded_len;

	if (!kind_ok(kind) || !sealed || sealed_len < IPMD_SEAL_OVERHEAD)
		return -EINVAL;
	padded_len = sealed_len - IPMD_SEAL_OVERHEAD;
	if (padded_len < len || (len > 0 && !plain))
		return -EINVAL;
	if (padded_len == len)
		return seal_open(plain, NULL, sealed, sealed_len, kind, key);
	make_padded_aad(aad, kind, len);
	return open_padded(plain, len, padded_len - len, sealed, aad,
			   sizeof(aad), key);
}

int seal_open(uint8_t *plain, size_t *plain_len, const uint8_t *sealed,
	      size_t sealed_len, enum block_kind kind,
	      const uint8_t key[IPMD_KEY_BYTES])
{
	uint8_t aad[IPMD_AAD_BYTES];
	size_t len;
	int r;

	if (!kind_ok(kind) || !sealed || sealed_len < IPMD_SEAL_OVERHEAD)
		return -EINVAL;
	len = sealed_len - IPMD_SEAL_OVERHEAD;
	if (len > 0 && !plain)
		return -EINVAL;
	make_aad(aad, kind);
	r = open_padded(plain, len, 0, sealed, aad, sizeof(aad), key);
	if (r != 0) {
		if (plain_len)
			*plain_len = 0;
		return r;
	}
	if (plain_len)
		*plain_len = len;
	return 0;
}
