/*
 * ipfs/cid.h — content identifiers.
 *
 * ipmaildir stores every block as CIDv1, codec raw (0x55), multihash
 * sha2-256 (0x12, 32 bytes): 36 binary bytes, 59 characters of base32
 * text ("bafkrei" + 52).  Parsing also accepts other codecs (dag-cbor for
 * pin-set nodes, libp2p-key for IPNS names), base58btc text and CIDv0
 * ("Qm…", dag-pb) because nodes answer with them; compare CIDs as bytes
 * (cid_equal), never as strings.
 *
 * Invariant of struct cid: len ≤ CID_MAX_BYTES and bytes[0..len) is a
 * valid binary CID (as checked by cid_from_bytes).
 */
#ifndef IPMD_IPFS_CID_H
#define IPMD_IPFS_CID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/attr.h"

#define CID_VERSION_1 0x01
#define CODEC_RAW 0x55
#define CODEC_DAG_PB 0x70
#define CODEC_DAG_CBOR 0x71
#define CODEC_LIBP2P_KEY 0x72
#define MH_SHA2_256 0x12
#define MH_IDENTITY 0x00
#define SHA256_BYTES 32

/* Binary CID of a raw sha2-256 block: 01 55 12 20 ‖ digest. */
#define CID_RAW_BYTES 36
/* CIDv0: a bare sha2-256 multihash (12 20 ‖ digest); text "Qm…", 46 chars. */
#define CID_V0_BYTES 34
#define CID_V0_TEXT_LEN 46
/* Largest binary CID we keep (identity multihash of an Ed25519 key fits). */
#define CID_MAX_BYTES 64
/* Longest text form we produce or accept, including NUL. */
#define CID_TEXT_MAX 128

struct cid {
	uint8_t len;
	uint8_t bytes[CID_MAX_BYTES];
};

/* The CID of a raw block: sha2-256 of data (OpenSSL's libcrypto, which uses
 * the CPU's SHA extensions where it has them; cid_matches too). */
void cid_of_raw_block(struct cid *c, const uint8_t *data, size_t len);

/* Parse and validate a binary CID (v1, or v0 = bare sha2-256 multihash). */
IPMD_MUST_CHECK
int cid_from_bytes(struct cid *c, const uint8_t *bytes, size_t len);

/* Parse text: 'b'/'B' base32, 'z' base58btc, 'k' base36, or CIDv0 "Qm…".
 * 0 or -EINVAL. */
IPMD_MUST_CHECK
int cid_parse(struct cid *c, const char *text, size_t len);

/* Base32 text ("bafkrei…"), NUL terminated; 0 or -ENOBUFS.  A CIDv0 has
 * no multibase form and keeps its only text, base58btc "Qm…", so that
 * cid_parse(cid_format(c)) is always c. */
int cid_format(const struct cid *c, char *out, size_t out_size);

bool cid_equal(const struct cid *a, const struct cid *b);
/* Byte order (a shorter prefix first): <0, 0, >0 — a deterministic order
 * where one must be chosen (merge bases, equal IPNS sequences). */
int cid_compare(const struct cid *a, const struct cid *b);

/* Fields of a parsed CID. */
int cid_version(const struct cid *c);
uint64_t cid_codec(const struct cid *c);
/* Pointer to the digest and its length, or NULL for an unknown layout. */
const uint8_t *cid_digest(const struct cid *c, size_t *digest_len,
			  uint64_t *hash_code);

/* Is this a CIDv1 raw sha2-256 CID, the only kind ipmaildir stores? */
bool cid_is_raw_sha256(const struct cid *c);

/* Does data hash to c?  Works for raw sha2-256 (and v0/dag-pb sha2-256). */
IPMD_MUST_CHECK
bool cid_matches(const struct cid *c, const uint8_t *data, size_t len);

/* libp2p PublicKey protobuf of an Ed25519 key: field 1 (Type) = 1 (Ed25519),
 * field 2 (Data) of 32 bytes; the whole is LIBP2P_ED25519_PB_BYTES long. */
#define LIBP2P_ED25519_PB_PREFIX "\x08\x01\x12\x20"
#define LIBP2P_ED25519_PB_PREFIX_BYTES 4
#define LIBP2P_ED25519_PB_BYTES 36

/*
 * The IPNS name of an Ed25519 public key: CIDv1, codec libp2p-key, identity
 * multihash of the libp2p protobuf PublicKey {Type: Ed25519, Data: key},
 * in base36 ("k51…").  out needs CID_TEXT_MAX bytes.
 */
int ipns_name_of_ed25519(char *out, size_t out_size, const uint8_t pk[32]);
/* The same key as a legacy peer id: the bare base58btc identity multihash
 * ("12D3KooW…"), the form js-ipfs takes in name/resolve and prints. */
int ipns_peer_id_of_ed25519(char *out, size_t out_size, const uint8_t pk[32]);
/* The reverse: 0 and the key, or -EINVAL.  text is NUL terminated; it may be
 * that CID in any base cid_parse takes, or the legacy peer id (bare base58btc
 * identity multihash, "12D3KooW…"). */
IPMD_MUST_CHECK
int ipns_name_parse_ed25519(const char *text, uint8_t pk[32]);

#endif
