/* crypto/seal.c — see seal.h. */
#include "crypto/seal.h"

#include <errno.h>
#include <string.h>

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

int seal_init(void)
{
	/* 1 means "already initialised", which is fine. */
	return sodium_init() < 0 ? -EIO : 0;
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

void block_key_init(struct block_key_state *st,
		    const uint8_t convergence[IPMD_KEY_BYTES],
		    enum block_kind kind)
{
	uint8_t k = (uint8_t)kind;

	crypto_generichash_init(&st->hash, convergence, IPMD_KEY_BYTES,
				IPMD_KEY_BYTES);
	crypto_generichash_update(&st->hash, &k, 1);
}

void block_key_update(struct block_key_state *st, const uint8_t *data,
		      size_t len)
{
	if (len > 0)
		crypto_generichash_update(&st->hash, data, len);
}

void block_key_final(struct block_key_state *st, uint8_t key[IPMD_KEY_BYTES])
{
	crypto_generichash_final(&st->hash, key, IPMD_KEY_BYTES);
	/* The state holds the convergence secret's key block. */
	sodium_memzero(st, sizeof(*st));
}

void block_key(uint8_t key[IPMD_KEY_BYTES],
	       const uint8_t convergence[IPMD_KEY_BYTES],
	       enum block_kind kind, const uint8_t *plain, size_t len)
{
	struct block_key_state st;

	block_key_init(&st, convergence, kind);
	block_key_update(&st, plain, len);
	block_key_final(&st, key);
}

/*
 * Seal with the nonce already in out[0..IPMD_NONCE_BYTES): ciphertext goes
 * straight into its final place, tag after it, so the hot path makes no
 * copy of the chunk.
 */
static int seal_in_place(uint8_t *out, const uint8_t *plain, size_t len,
			 enum block_kind kind,
			 const uint8_t key[IPMD_KEY_BYTES])
{
	uint8_t aad[IPMD_AAD_BYTES];

	make_aad(aad, kind);
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
		out + IPMD_NONCE_BYTES, out + IPMD_NONCE_BYTES + len, NULL,
		plain, len, aad, sizeof(aad), NULL, out, key);
	return 0;
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
	if (!seal_args_ok(out, plain, len, kind))
		return -EINVAL;
	block_key(key_out, convergence, kind, plain, len);
	/*
	 * The key is unique to (kind, plaintext), so a nonce derived from it
	 * never meets a second plaintext under that key.
	 */
	crypto_generichash(out, IPMD_NONCE_BYTES,
			   (const uint8_t *)IPMD_NONCE_LABEL,
			   sizeof(IPMD_NONCE_LABEL) - 1, key_out,
			   IPMD_KEY_BYTES);
	return seal_in_place(out, plain, len, kind, key_out);
}

int seal_open(uint8_t *plain, size_t *plain_len, const uint8_t *sealed,
	      size_t sealed_len, enum block_kind kind,
	      const uint8_t key[IPMD_KEY_BYTES])
{
	uint8_t aad[IPMD_AAD_BYTES];
	size_t len;

	if (!kind_ok(kind) || !sealed || sealed_len < IPMD_SEAL_OVERHEAD)
		return -EINVAL;
	len = sealed_len - IPMD_SEAL_OVERHEAD;
	if (len > 0 && !plain)
		return -EINVAL;
	make_aad(aad, kind);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
		    plain, NULL, sealed + IPMD_NONCE_BYTES, len,
		    sealed + IPMD_NONCE_BYTES + len, aad, sizeof(aad), sealed,
		    key) != 0) {
		/* libsodium verifies first, but the contract is explicit. */
		if (len > 0)
			sodium_memzero(plain, len);
		if (plain_len)
			*plain_len = 0;
		return -EBADMSG;
	}
	if (plain_len)
		*plain_len = len;
	return 0;
}
