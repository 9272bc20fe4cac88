/* ipfs/cid.c — see cid.h. */
#include "ipfs/cid.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "ipfs/multibase.h"
#include "ipfs/varint.h"

/* The headers we write are single-byte varints: each field is below 0x80. */
_Static_assert(CID_VERSION_1 < 0x80 && CODEC_RAW < 0x80 &&
		       CODEC_LIBP2P_KEY < 0x80 && MH_SHA2_256 < 0x80 &&
		       MH_IDENTITY < 0x80 && SHA256_BYTES < 0x80 &&
		       LIBP2P_ED25519_PB_BYTES < 0x80,
	       "CID header fields must be one-byte varints");
_Static_assert(LIBP2P_ED25519_PB_BYTES - LIBP2P_ED25519_PB_PREFIX_BYTES ==
		       crypto_sign_PUBLICKEYBYTES,
	       "the protobuf carries one Ed25519 public key");
_Static_assert(CID_RAW_BYTES == 4 + SHA256_BYTES, "01 55 12 20 ‖ digest");
_Static_assert(SHA256_BYTES == crypto_hash_sha256_BYTES, "one digest size");
_Static_assert(CID_V0_BYTES == 2 + SHA256_BYTES, "12 20 ‖ digest");

/* Where the fields of a binary CID lie. */
struct cid_layout {
	int version;
	uint64_t codec;
	uint64_t hash_code;
	size_t digest_off;
	size_t digest_len;
};

static bool is_v0(const uint8_t *b, size_t len)
{
	return len == CID_V0_BYTES && b[0] == MH_SHA2_256 &&
	       b[1] == SHA256_BYTES;
}

/* Read one varint at *pos, advancing it; false if there is none. */
static bool take_varint(const uint8_t *b, size_t len, size_t *pos,
			uint64_t *v)
{
	size_t n = varint_decode(b + *pos, len - *pos, v);
	*pos += n;
	return n != 0;
}

/* A multihash filling b[pos..len) exactly: code, length, digest. */
IPMD_MUST_CHECK
static int parse_multihash(const uint8_t *b, size_t len, size_t pos,
			   struct cid_layout *l)
{
	uint64_t digest_len;
	if (!take_varint(b, len, &pos, &l->hash_code) ||
	    !take_varint(b, len, &pos, &digest_len))
		return -EINVAL;
	/* Nothing may follow the digest, and nothing of it may be missing. */
	if (digest_len != len - pos)
		return -EINVAL;
	/* We never accept truncated sha2-256 digests. */
	if (l->hash_code == MH_SHA2_256 && digest_len != SHA256_BYTES)
		return -EINVAL;
	l->digest_off = pos;
	l->digest_len = (size_t)digest_len;
	return 0;
}

IPMD_MUST_CHECK
static int parse_layout(const uint8_t *b, size_t len, struct cid_layout *l)
{
	if (len == 0 || len > CID_MAX_BYTES)
		return -EINVAL;
	if (is_v0(b, len)) {
		l->version = 0;
		l->codec = CODEC_DAG_PB;
		l->hash_code = MH_SHA2_256;
		l->digest_off = CID_V0_BYTES - SHA256_BYTES;
		l->digest_len = SHA256_BYTES;
		return 0;
	}
	size_t pos = 0;
	uint64_t version;
	if (!take_varint(b, len, &pos, &version) || version != CID_VERSION_1)
		return -EINVAL;
	l->version = CID_VERSION_1;
	if (!take_varint(b, len, &pos, &l->codec))
		return -EINVAL;
	return parse_multihash(b, len, pos, l);
}

/*
 * sha2-256 of every block written and every block read: OpenSSL's, which
 * uses the CPU's SHA extensions (several times libsodium's portable C).
 * EVP_sha256() is a shared read-only table, safe from any thread.  EVP can
 * fail only to allocate its context; libsodium then gives the same digest,
 * slower, so callers never see a failure.
 */
static void sha256(uint8_t out[SHA256_BYTES], const uint8_t *data,
		   size_t len)
{
	unsigned int n = 0;
	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 &&
	    n == SHA256_BYTES)
		return;
	crypto_hash_sha256(out, data, len);
}

void cid_of_raw_block(struct cid *c, const uint8_t *data, size_t len)
{
	c->bytes[0] = CID_VERSION_1;
	c->bytes[1] = CODEC_RAW;
	c->bytes[2] = MH_SHA2_256;
	c->bytes[3] = SHA256_BYTES;
	sha256(c->bytes + CID_RAW_BYTES - SHA256_BYTES, data, len);
	c->len = CID_RAW_BYTES;
}

int cid_from_bytes(struct cid *c, const uint8_t *bytes, size_t len)
{
	struct cid_layout l;
	if (!bytes || parse_layout(bytes, len, &l) < 0)
		return -EINVAL;
	memcpy(c->bytes, bytes, len);
	c->len = (uint8_t)len;
	return 0;
}

int cid_parse(struct cid *c, const char *text, size_t len)
{
	if (!text || len == 0 || len >= CID_TEXT_MAX)
		return -EINVAL;
	uint8_t buf[CID_MAX_BYTES];
	ssize_t n;
	if (len == CID_V0_TEXT_LEN && text[0] == 'Q' && text[1] == 'm') {
		n = base58btc_decode(buf, sizeof(buf), text, len);
		if (n < 0 || !is_v0(buf, (size_t)n))
			return -EINVAL;
	} else {
		n = multibase_decode(buf, sizeof(buf), text, len);
		if (n <= 0)
			return -EINVAL;
		/* The CID spec reserves 0x12 here: a CIDv0 has no multibase
		 * form, and there will be no CIDv18 to confuse with one. */
		if (buf[0] == MH_SHA2_256)
			return -EINVAL;
	}
	return cid_from_bytes(c, buf, (size_t)n);
}

int cid_format(const struct cid *c, char *out, size_t out_size)
{
	if (c->len > CID_MAX_BYTES)
		return -EINVAL;
	size_t n;
	if (is_v0(c->bytes, c->len))
		n = base58btc_encode(out, out_size, c->bytes, c->len);
	else
		n = multibase_encode(MULTIBASE_BASE32, out, out_size, c->bytes,
				     c->len);
	return n ? 0 : -ENOBUFS;
}

bool cid_equal(const struct cid *a, const struct cid *b)
{
	return a->len == b->len && a->len <= CID_MAX_BYTES &&
	       memcmp(a->bytes, b->bytes, a->len) == 0;
}

int cid_compare(const struct cid *a, const struct cid *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->bytes, b->bytes, n);
	return c ? c : (a->len > b->len) - (a->len < b->len);
}

int cid_version(const struct cid *c)
{
	struct cid_layout l;
	if (parse_layout(c->bytes, c->len, &l) < 0)
		return -EINVAL;
	return l.version;
}

/* UINT64_MAX (no codec has it) if c breaks its invariant. */
uint64_t cid_codec(const struct cid *c)
{
	struct cid_layout l;
	if (parse_layout(c->bytes, c->len, &l) < 0)
		return UINT64_MAX;
	return l.codec;
}

const uint8_t *cid_digest(const struct cid *c, size_t *digest_len,
			  uint64_t *hash_code)
{
	struct cid_layout l;
	if (parse_layout(c->bytes, c->len, &l) < 0)
		return NULL;
	if (digest_len)
		*digest_len = l.digest_len;
	if (hash_code)
		*hash_code = l.hash_code;
	return c->bytes + l.digest_off;
}

bool cid_is_raw_sha256(const struct cid *c)
{
	static const uint8_t header[] = { CID_VERSION_1, CODEC_RAW,
					  MH_SHA2_256, SHA256_BYTES };
	return c->len == CID_RAW_BYTES &&
	       memcmp(c->bytes, header, sizeof(header)) == 0;
}

bool cid_matches(const struct cid *c, const uint8_t *data, size_t len)
{
	struct cid_layout l;
	if (parse_layout(c->bytes, c->len, &l) < 0)
		return false;
	if (l.hash_code != MH_SHA2_256 || l.digest_len != SHA256_BYTES)
		return false;
	if (l.codec != CODEC_RAW && l.codec != CODEC_DAG_PB &&
	    l.codec != CODEC_DAG_CBOR)
		return false;
	uint8_t digest[SHA256_BYTES];
	sha256(digest, data, len);
	return sodium_memcmp(digest, c->bytes + l.digest_off, SHA256_BYTES) ==
	       0;
}

/* The identity multihash of an Ed25519 libp2p PublicKey; its length. */
static size_t ed25519_identity(uint8_t *b, const uint8_t pk[32])
{
	size_t n = 0;
	b[n++] = MH_IDENTITY;
	b[n++] = LIBP2P_ED25519_PB_BYTES;
	memcpy(b + n, LIBP2P_ED25519_PB_PREFIX, LIBP2P_ED25519_PB_PREFIX_BYTES);
	n += LIBP2P_ED25519_PB_PREFIX_BYTES;
	memcpy(b + n, pk, crypto_sign_PUBLICKEYBYTES);
	return n + crypto_sign_PUBLICKEYBYTES;
}

int ipns_name_of_ed25519(char *out, size_t out_size, const uint8_t pk[32])
{
	uint8_t b[CID_MAX_BYTES];
	b[0] = CID_VERSION_1;
	b[1] = CODEC_LIBP2P_KEY;
	size_t n = 2 + ed25519_identity(b + 2, pk);
	if (multibase_encode(MULTIBASE_BASE36, out, out_size, b, n) == 0)
		return -ENOBUFS;
	return 0;
}

int ipns_peer_id_of_ed25519(char *out, size_t out_size, const uint8_t pk[32])
{
	uint8_t b[CID_MAX_BYTES];
	size_t n = ed25519_identity(b, pk);
	if (base58btc_encode(out, out_size, b, n) == 0)
		return -ENOBUFS;
	return 0;
}

/* The key inside an identity multihash of an Ed25519 PublicKey protobuf. */
static int ed25519_from_identity(const uint8_t *b, const struct cid_layout *l,
				 uint8_t pk[32])
{
	if (l->hash_code != MH_IDENTITY ||
	    l->digest_len != LIBP2P_ED25519_PB_BYTES ||
	    memcmp(b + l->digest_off, LIBP2P_ED25519_PB_PREFIX,
		   LIBP2P_ED25519_PB_PREFIX_BYTES) != 0)
		return -EINVAL;
	memcpy(pk, b + l->digest_off + LIBP2P_ED25519_PB_PREFIX_BYTES,
	       crypto_sign_PUBLICKEYBYTES);
	return 0;
}

int ipns_name_parse_ed25519(const char *text, uint8_t pk[32])
{
	if (!text)
		return -EINVAL;
	size_t len = strnlen(text, CID_TEXT_MAX);
	if (len == 0 || len >= CID_TEXT_MAX)
		return -EINVAL;
	struct cid_layout l;
	/* A legacy peer id is a bare base58btc multihash; the identity code
	 * 0x00 makes it start with '1', which no multibase prefix is. */
	if (text[0] == '1') {
		uint8_t mh[CID_MAX_BYTES];
		ssize_t n = base58btc_decode(mh, sizeof(mh), text, len);
		if (n <= 0 || parse_multihash(mh, (size_t)n, 0, &l) < 0)
			return -EINVAL;
		return ed25519_from_identity(mh, &l, pk);
	}
	struct cid c;
	if (cid_parse(&c, text, len) < 0 ||
	    parse_layout(c.bytes, c.len, &l) < 0 ||
	    l.version != CID_VERSION_1 || l.codec != CODEC_LIBP2P_KEY)
		return -EINVAL;
	return ed25519_from_identity(c.bytes, &l, pk);
}
