/*
 * crypto/seal.h — sealing and opening blocks (XChaCha20-Poly1305-IETF).
 *
 * Contract
 *  - A content block (chunk, index, directory) is sealed under its own
 *    convergent key:  key = BLAKE2b-256 keyed with the convergence secret,
 *    over  kind byte ‖ plaintext.  Its nonce is derived from that key, so
 *    the same plaintext of the same kind in the same mailbox always gives the
 *    same sealed bytes (and CID), and nothing links two mailboxes.
 *  - A block under a long-lived key (commit, journal record) gets a random
 *    nonce (seal_with_key with nonce == NULL).
 *  - Layout:  nonce[IPMD_NONCE_BYTES] ‖ ciphertext ‖ tag[IPMD_TAG_BYTES];
 *    sealed length = plaintext length + IPMD_SEAL_OVERHEAD.
 *  - AAD = "ipmd" ‖ IPMD_FORMAT_VERSION ‖ kind: a block of one kind never
 *    opens as another, nor under another format version.
 *  - Opening verifies before it writes anything the caller may use: on
 *    failure the output buffer holds no plaintext (it is zeroed).
 *
 * Errors: 0 on success; -EINVAL for a bad kind or a too-short input;
 * -EBADMSG when authentication fails (tampered bytes, wrong key, wrong kind);
 * -EIO when libcrypto fails (out of memory, algorithm not available).
 *
 * Implementation: the bulk work (keyed BLAKE2b, ChaCha20-Poly1305) runs in
 * OpenSSL's libcrypto, whose vector code is about twice libsodium's speed;
 * libsodium does the small parts (HChaCha20 subkey, nonce).  The bytes are
 * those of libsodium's crypto_generichash and
 * crypto_aead_xchacha20poly1305_ietf_*_detached (tests/unit/test_seal.c
 * checks both ways).
 *
 * Thread safety: all functions are reentrant; call seal_init() once first
 * (it calls sodium_init()).
 */
#ifndef IPMD_CRYPTO_SEAL_H
#define IPMD_CRYPTO_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/format.h"

/*
 * Initialise libsodium and check that libcrypto offers the primitives
 * (a configuration that loads only a FIPS provider has neither); 0 or -EIO.
 * Safe to call more than once.
 */
int seal_init(void);

/*
 * Streaming derivation of a convergent block key, for callers that produce
 * the plaintext in pieces.  Opaque state; use init, update*, final.  The
 * state may own a libcrypto context: every init must be followed by final,
 * which frees it and wipes the state (even when it fails).  Where libcrypto
 * can't start, init falls back to libsodium (same key); a failure of update
 * is remembered and reported by final: 0, or -EIO with key zeroed.
 */
struct evp_mac_ctx_st; /* OpenSSL's EVP_MAC_CTX */
struct block_key_state {
	struct evp_mac_ctx_st *mac; /* NULL: `hash` (libsodium) does the work */
	int err;		    /* first failure, reported by final */
	crypto_generichash_state hash;
};
void block_key_init(struct block_key_state *st,
		    const uint8_t convergence[IPMD_KEY_BYTES],
		    enum block_kind kind);
void block_key_update(struct block_key_state *st, const uint8_t *data,
		      size_t len);
int block_key_final(struct block_key_state *st, uint8_t key[IPMD_KEY_BYTES]);

/*
 * One-shot: key = H_convergence(kind ‖ plaintext).  Cannot fail: if libcrypto
 * does, libsodium computes the same key.
 */
void block_key(uint8_t key[IPMD_KEY_BYTES],
	       const uint8_t convergence[IPMD_KEY_BYTES],
	       enum block_kind kind, const uint8_t *plain, size_t len);

/*
 * Seal plain[0..len) under key as kind into out, which must hold
 * len + IPMD_SEAL_OVERHEAD bytes.  nonce == NULL: random nonce; otherwise
 * the given nonce is used (seal_convergent passes one derived from key).
 * out may not overlap plain.
 */
int seal_with_key(uint8_t *out, const uint8_t *plain, size_t len,
		  enum block_kind kind, const uint8_t key[IPMD_KEY_BYTES],
		  const uint8_t nonce[IPMD_NONCE_BYTES]);

/*
 * Convergent seal: derives key from (convergence, kind, plain), writes it to
 * key_out, and seals with a nonce derived from that key.  One pass of
 * BLAKE2b plus one of the AEAD.
 */
int seal_convergent(uint8_t *out, uint8_t key_out[IPMD_KEY_BYTES],
		    const uint8_t *plain, size_t len, enum block_kind kind,
		    const uint8_t convergence[IPMD_KEY_BYTES]);

/*
 * Open sealed[0..sealed_len) as kind under key into plain, which must hold
 * sealed_len - IPMD_SEAL_OVERHEAD bytes; *plain_len gets that length.
 */
int seal_open(uint8_t *plain, size_t *plain_len, const uint8_t *sealed,
	      size_t sealed_len, enum block_kind kind,
	      const uint8_t key[IPMD_KEY_BYTES]);

/* Plaintext length of a sealed block of this length, or -1 if too short. */
static inline long long seal_plain_len(size_t sealed_len)
{
	return sealed_len < IPMD_SEAL_OVERHEAD
		       ? -1
		       : (long long)(sealed_len - IPMD_SEAL_OVERHEAD);
}

#endif
