/*
 * crypto/format.h — the constants of format v1 that crypto/ owns.
 *
 * Every number that ends up in a stored byte (sizes, kinds, version tags,
 * KDF ids) is named here once.  Changing any of them changes the format:
 * bump IPMD_FORMAT_VERSION and keep the old reader.
 */
#ifndef IPMD_CRYPTO_FORMAT_H
#define IPMD_CRYPTO_FORMAT_H

#include <sodium.h>

/* Version of the sealed-block format; bound into every block's AAD. */
#define IPMD_FORMAT_VERSION 1

/*
 * Block kinds.  The kind is bound into the AAD (never stored in clear), so a
 * block sealed as one kind does not open as another.
 */
enum block_kind {
	BLOCK_CHUNK = 1,     /* a piece of file content */
	BLOCK_INDEX = 2,     /* a list of (CID, key, size) of children */
	BLOCK_DIRECTORY = 3, /* a manifest directory node or shard */
	BLOCK_COMMIT = 4,    /* a signed commit, sealed under the manifest key */
	BLOCK_JOURNAL = 5,   /* a journal record, sealed under the journal key */
	/* The store's local state files (fs/store/head.h), never blocks: one kind
	 * each, so a file copied over another of them does not open.  Files
	 * written before these kinds existed are BLOCK_JOURNAL, plaintext
	 * "v":1; typed ones say "v":2. */
	BLOCK_STATE_HEAD = 6,   /* STORE/head */
	BLOCK_STATE_SEEN = 7,   /* STORE/seen (and a node mount's seen) */
	BLOCK_STATE_PRUNED = 8, /* STORE/pruned */
	BLOCK_STATE_DEVICE = 9, /* STORE/device (fs/store/device.h) */
};
#define BLOCK_KIND_MAX 9

/* Symmetric key of one block (convergent) or of the manifest/journal. */
#define IPMD_KEY_BYTES 32
/* The mailbox master secret in the key file. */
#define IPMD_MASTER_BYTES 32

/*
 * A sealed block is  nonce ‖ ciphertext ‖ tag.  The nonce is stored so the
 * same layout serves convergent blocks (nonce derived from the key) and
 * blocks under a long-lived key (commit, journal: random nonce).
 */
#define IPMD_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES /* 24 */
#define IPMD_TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES      /* 16 */
#define IPMD_SEAL_OVERHEAD (IPMD_NONCE_BYTES + IPMD_TAG_BYTES)

/*
 * Nonce of a convergent block = first IPMD_NONCE_BYTES of BLAKE2b keyed with
 * the block key over this label.  Part of the format: changing it changes
 * every convergent block's bytes (and CID).
 */
#define IPMD_NONCE_LABEL "ipmd-convergent-nonce-v1"

/*
 * A convergence scope (crypto/seal.h, convergence_scope): the secret that
 * keys the blocks of one file is BLAKE2b-256 keyed with the mailbox's
 * convergence secret over this label ‖ the file's salt.  Only writers
 * derive it; a reader needs the block key in the reference, as before.
 */
#define IPMD_SCOPE_LABEL "ipmd-convergence-scope-v1"
#define IPMD_SCOPE_SALT_BYTES 16

/* AAD = "ipmd" ‖ version byte ‖ kind byte. */
#define IPMD_AAD_MAGIC "ipmd"
#define IPMD_AAD_BYTES 6

/*
 * A padded convergent block (crypto/seal.h, seal_convergent_padded):
 * plaintext ‖ zero bytes up to the padded length, sealed with
 *   AAD   = "ipmd" ‖ version ‖ kind ‖ true length (u64, big endian),
 *   nonce = first IPMD_NONCE_BYTES of BLAKE2b keyed with the block key over
 *           this label ‖ padded length (u64, big endian).
 * The key is that of the unpadded block (over the true plaintext).  A block
 * whose padded length equals its true length is an unpadded block: the
 * plain AAD and IPMD_NONCE_LABEL.  Both are part of the format.
 * An addition to version 1, not a change (so no new version byte, which
 * would change every block): every earlier block reads as before, and a
 * reader from before padding refuses a padded block as damaged (a length
 * its reference does not name).
 */
#define IPMD_PADDED_AAD_BYTES (IPMD_AAD_BYTES + 8)
#define IPMD_PADDED_NONCE_LABEL "ipmd-padded-nonce-v1"

/* crypto_kdf context and subkey ids derived from the master secret. */
#define IPMD_KDF_CONTEXT "ipmdkey1" /* exactly crypto_kdf_CONTEXTBYTES */
enum kdf_id {
	KDF_CONVERGENCE = 1, /* keys content blocks: key = H_k(kind ‖ plaintext),
			      * k this or a scope's secret derived from it */
	KDF_MANIFEST = 2,    /* seals commits; part of the read capability */
	KDF_SIGN_SEED = 3,   /* Ed25519 seed that signs commits */
	KDF_JOURNAL = 4,     /* seals journal records and local state files */
};

/* A mount's local cache files (fs/mount/cache_file.h) are sealed under
 * BLAKE2b keyed with the journal key over this label: local state, like
 * the journal, that no capability opens. */
#define IPMD_CACHE_KEY_LABEL "ipmd-local-cache-v1"

/* Ed25519 sizes, named for prototypes. */
#define IPMD_PUBLIC_KEY_BYTES crypto_sign_PUBLICKEYBYTES /* 32 */
#define IPMD_SECRET_KEY_BYTES crypto_sign_SECRETKEYBYTES /* 64 */
#define IPMD_SIGNATURE_BYTES crypto_sign_BYTES           /* 64 */

#endif
