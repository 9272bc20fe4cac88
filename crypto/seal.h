/*
 * crypto/seal.h — sealing and opening blocks (XChaCha20-Poly1305-IETF).
 *
 * Contract
 *  - A content block (chunk, index, directory) is sealed under its own
 *    convergent key:  key = BLAKE2b-256 keyed with a convergence secret,
 *    over  kind byte ‖ plaintext.  Its nonce is derived from that key, so
 *    the same plaintext of the same kind under the same secret always gives
 *    the same sealed bytes (and CID), and nothing links two secrets.  The
 *    secret is the mailbox's, or a scope's derived from it
 *    (convergence_scope: one message's), which the caller chooses.
 *  - A block under a long-lived key (commit, journal record) gets a random
 *    nonce (seal_with_key with nonce == NULL).
 *  - Layout:  nonce[IPMD_NONCE_BYTES] ‖ ciphertext ‖ tag[IPMD_TAG_BYTES];
 *    sealed length = plaintext length + IPMD_SEAL_OVERHEAD.
 *  - A convergent block may be padded (seal_convergent_padded): the
 *    plaintext is followed by zero bytes up to a longer length before it is
 *    sealed, so the block shows only that length.  The key is still over the
 *    true plaintext; the true length is bound into the AAD and the padded
 *    length into the nonce (crypto/format.h), so a padded block opens only
 *    with its true length, and the padded and unpadded blocks of one
 *    plaintext never share a (key, nonce).  The reader must know the true
 *    length (fs/model/object.c has it from the reference naming the block).
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
#include "util/attr.h"

/*
 * Initialise libsodium and check that libcrypto offers the primitives
 * (a configuration that loads only a FIPS provider has neither); 0 or -EIO.
 * Also sets jansson's allocator (process-wide) to one that wipes memory
 * before freeing it, as keys travel through JSON.  Safe to call more than
 * once, and at any time.
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
 * The convergence secret of one scope (a file): BLAKE2b-256 keyed with
 * convergence over IPMD_SCOPE_LABEL ‖ salt (crypto/format.h).  Blocks keyed
 * with it converge only with blocks of the same scope: two files with
 * different salts never share a block, nor can anyone without the
 * mailbox's secret tell that they hold equal content.  Cannot fail.
 */
void convergence_scope(uint8_t out[IPMD_KEY_BYTES],
		       const uint8_t convergence[IPMD_KEY_BYTES],
		       const uint8_t salt[IPMD_SCOPE_SALT_BYTES]);

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
 * Convergent seal of plain[0..len) padded with zero bytes to padded_len
 * (≥ len): key_out is the key seal_convergent gives (over the true
 * plaintext); out must hold padded_len + IPMD_SEAL_OVERHEAD bytes and gets
 * the block of crypto/format.h's "padded convergent block".  padded_len ==
 * len gives exactly seal_convergent's bytes.  The padding is encrypted
 * from a constant buffer: plain is not copied.  -EINVAL if padded_len < len.
 */
int seal_convergent_padded(uint8_t *out, uint8_t key_out[IPMD_KEY_BYTES],
			   const uint8_t *plain, size_t len, size_t padded_len,
			   enum block_kind kind,
			   const uint8_t convergence[IPMD_KEY_BYTES]);

/*
 * seal_convergent_padded of the len bytes plain[0..have) followed by
 * len - have zero bytes (have ≤ len; plain may be NULL when have is 0):
 * the same block and key, byte for byte, without those zeros in memory (a
 * chunk buffer that holds only its written start).  -EINVAL as
 * seal_convergent_padded, or if have > len; -EIO if libcrypto fails (in
 * the key's hash, key_out is zeroed; in the cipher, the block is).
 */
int seal_convergent_sparse(uint8_t *out, uint8_t key_out[IPMD_KEY_BYTES],
			   const uint8_t *plain, size_t have, size_t len,
			   size_t padded_len, enum block_kind kind,
			   const uint8_t convergence[IPMD_KEY_BYTES]);

/*
 * Open a block whose true plaintext length is len, padded or not: a block
 * of len + IPMD_SEAL_OVERHEAD bytes opens as seal_open does; a longer one as
 * a padded block (AAD with len), whose padding bytes must all be zero.
 * plain gets exactly len bytes (it needs no room for the padding).
 * -EINVAL if sealed_len < len + IPMD_SEAL_OVERHEAD; -EBADMSG if
 * authentication fails or a padding byte is not zero (plain is then
 * zeroed).  Which padded lengths to accept is the caller's policy.
 */
IPMD_MUST_CHECK
int seal_open_padded(uint8_t *plain, size_t len, const uint8_t *sealed,
		     size_t sealed_len, enum block_kind kind,
		     const uint8_t key[IPMD_KEY_BYTES]);

/*
 * Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files
 * and Communication with PURBs", PETS 2019): len rounded up so that of
 * its E + 1 bits (E = floor(log2 len)) only the top floor(log2 E) + 1 may
 * be non-zero.  At most 2^(E - floor(log2 E) - 1) - 1 bytes (< 12 % of
 * len) are added, a length reveals O(log log len) bits, and the result is
 * never above the next power of two.  pad(0) = 0, pad(1) = 1; monotone
 * and idempotent.  A pure function of len: the reader recomputes it.
 * Lengths so close to 2^64 that the rounding would overflow come back
 * unchanged.
 */
uint64_t seal_padme(uint64_t len);

/*
 * Open sealed[0..sealed_len) as kind under key into plain, which must hold
 * sealed_len - IPMD_SEAL_OVERHEAD bytes; *plain_len gets that length.
 */
IPMD_MUST_CHECK
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
