/* tests/unit/test_cid.c — CIDs and IPNS names (ipfs/cid.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ipfs/cid.h"
#include "ipfs/multibase.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

static void hex_to_bytes(const char *hex, uint8_t *out, size_t len)
{
	if (strlen(hex) != 2 * len)
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			abort();
		out[i] = (uint8_t)v;
	}
}

static int parse_str(struct cid *c, const char *text)
{
	return cid_parse(c, text, strlen(text));
}

/* sha2-256 of the empty string (FIPS 180-2 / NIST example). */
#define SHA256_EMPTY \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The CIDs Kubo gives raw blocks (ipfs add --cid-version 1): the empty
 * block, and "Hello IPFS\n" from ipfs/kubo
 * test/sharness/t0124-gateway-ipns-record/README.md (FILE_CID). */
static const struct {
	const char *data, *cid;
} raw_vectors[] = {
	{ "", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku" },
	{ "Hello IPFS\n",
	  "bafkreidfdrlkeq4m4xnxuyx6iae76fdm4wgl5d4xzsb77ixhyqwumhz244" },
};

/* Check text against data without cid.c: decode the base32 ourselves,
 * expect the raw header, and compare with libsodium's sha256 of data. */
static int independently_matches(const char *text, const uint8_t *data,
				  size_t len)
{
	static const uint8_t header[] = { 0x01, 0x55, 0x12, 0x20 };
	uint8_t bin[64], digest[crypto_hash_sha256_BYTES];
	if (text[0] != 'b')
		return 0;
	ssize_t n = base32_decode(bin, sizeof(bin), text + 1,
				  strlen(text) - 1);
	crypto_hash_sha256(digest, data, len);
	return n == (ssize_t)(sizeof(header) + sizeof(digest)) &&
	       memcmp(bin, header, sizeof(header)) == 0 &&
	       memcmp(bin + sizeof(header), digest, sizeof(digest)) == 0;
}

static void test_raw_blocks(void)
{
	for (size_t i = 0; i < sizeof(raw_vectors) / sizeof(raw_vectors[0]);
	     i++) {
		const uint8_t *data = (const uint8_t *)raw_vectors[i].data;
		size_t len = strlen(raw_vectors[i].data);
		struct cid c, p;
		char text[CID_TEXT_MAX];
		cid_of_raw_block(&c, data, len);
		is_int(c.len, CID_RAW_BYTES, "raw block %zu: 36 bytes", i);
		is_int(cid_format(&c, text, sizeof(text)), 0,
		       "raw block %zu: formats", i);
		is_str(text, raw_vectors[i].cid, "raw block %zu: known CID", i);
		is_int(strlen(text), 59, "raw block %zu: 59 characters", i);
		ok(independently_matches(text, data, len),
		   "raw block %zu: text decodes to 01 55 12 20 ‖ sha256", i);
		is_int(parse_str(&p, raw_vectors[i].cid), 0,
		       "raw block %zu: parses", i);
		ok(cid_equal(&c, &p), "raw block %zu: parse = computed", i);
		ok(cid_is_raw_sha256(&p), "raw block %zu: raw sha2-256", i);
		ok(cid_matches(&p, data, len), "raw block %zu: data matches",
		   i);
	}

	uint8_t empty_digest[SHA256_BYTES];
	hex_to_bytes(SHA256_EMPTY, empty_digest, SHA256_BYTES);
	struct cid c;
	cid_of_raw_block(&c, NULL, 0);
	size_t dlen = 0;
	uint64_t code = 0;
	const uint8_t *d = cid_digest(&c, &dlen, &code);
	ok(d != NULL, "digest of the empty block");
	is_int(dlen, SHA256_BYTES, "digest length 32");
	is_int(code, MH_SHA2_256, "hash code sha2-256");
	is_mem(d, empty_digest, SHA256_BYTES, "digest is sha256(\"\")");
	is_int(cid_version(&c), 1, "version 1");
	is_int(cid_codec(&c), CODEC_RAW, "codec raw");

	/* Random blocks: our text against an independent decode + hash. */
	int bad = 0;
	for (size_t len = 0; len < 300; len += 7) {
		uint8_t buf[300];
		char text[CID_TEXT_MAX];
		tap_fill_random(buf, len, len + 1);
		cid_of_raw_block(&c, buf, len);
		if (cid_format(&c, text, sizeof(text)) != 0 ||
		    !independently_matches(text, buf, len) ||
		    !cid_matches(&c, buf, len))
			bad++;
	}
	is_int(bad, 0, "random blocks: CID text decodes to their sha256");
}

static void test_matches(void)
{
	uint8_t data[1000];
	tap_fill_random(data, sizeof(data), 99);
	struct cid c;
	cid_of_raw_block(&c, data, sizeof(data));
	ok(cid_matches(&c, data, sizeof(data)), "matches the right bytes");
	int wrong = 0;
	for (size_t i = 0; i < sizeof(data); i += 37) {
		data[i] ^= 0x01;
		wrong += cid_matches(&c, data, sizeof(data));
		data[i] ^= 0x01;
	}
	is_int(wrong, 0, "one flipped bit anywhere does not match");
	ok(!cid_matches(&c, data, sizeof(data) - 1), "a short read does not");

	/* The same digest under dag-pb (v0 and v1) and dag-cbor matches too;
	 * an identity multihash is not a block we can check. */
	uint8_t bin[CID_MAX_BYTES];
	struct cid other;
	memcpy(bin, (const uint8_t[]){ 0x12, 0x20 }, 2);
	memcpy(bin + 2, c.bytes + 4, SHA256_BYTES);
	is_int(cid_from_bytes(&other, bin, CID_V0_BYTES), 0, "v0 from bytes");
	ok(cid_matches(&other, data, sizeof(data)), "v0 matches");
	is_int(cid_version(&other), 0, "v0 is version 0");
	is_int(cid_codec(&other), CODEC_DAG_PB, "v0 is dag-pb");
	ok(!cid_is_raw_sha256(&other), "v0 is not raw");
	memcpy(bin, (const uint8_t[]){ 0x01, CODEC_DAG_CBOR, 0x12, 0x20 }, 4);
	memcpy(bin + 4, c.bytes + 4, SHA256_BYTES);
	is_int(cid_from_bytes(&other, bin, CID_RAW_BYTES), 0, "dag-cbor");
	ok(cid_matches(&other, data, sizeof(data)), "dag-cbor matches");
	ok(!cid_is_raw_sha256(&other), "dag-cbor is not raw");
	ok(!cid_equal(&c, &other), "dag-cbor and raw CIDs differ");
	bin[1] = CODEC_LIBP2P_KEY;
	is_int(cid_from_bytes(&other, bin, CID_RAW_BYTES), 0, "libp2p-key");
	ok(!cid_matches(&other, data, sizeof(data)),
	   "libp2p-key is not a block");
	static const uint8_t ident[] = { 0x01, 0x55, 0x00, 0x03, 'a', 'b',
					 'c' };
	is_int(cid_from_bytes(&other, ident, sizeof(ident)), 0,
	       "identity CID parses");
	ok(!cid_matches(&other, (const uint8_t *)"abc", 3),
	   "identity CID is not checked");
}

/*
 * The same dag-pb CID as v0 and v1, and the same libp2p-key CID in base32
 * and base36, from pldespaigne/content-hash test/test.js.
 */
#define V0_QM "QmRAQB6YaCyidP37UdDnjFY5vQuiBrcqdyoW1CuDgwxkD4"
#define V1_DAG_PB "bafybeibj6lixxzqtsb45ysdjnupvqkufgdvzqbnvmhw2kf7cfkesy7r7d4"
#define DAG_PB_DIGEST \
	"29f2d17be6139079dc48696d1f582a8530eb9805b561eda517e22a892c7e3f1f"
#define KEY_B32 \
	"bafzaajaiaejca4syrpdu6gdx4wsdnokxkprgzxf4wrstuc34gxw5k5jrag2so5gk"
#define KEY_B36 "k51qzi5uqu5dj16qyiq0tajolkojyl9qdkr254920wxv7ghtuwcz593tp69z9m"
/* The same file's sha2-512 CID: 68 binary bytes, over CID_MAX_BYTES. */
#define SHA512_B32 \
	"bafkrgqhhyivzstcz3hhswshfjgy6ertgmnqeleynhwt4dlfsthi4hn7zgh4uvlsb5xn" \
	"cykzapi3ocd4lzogukir6ksdy6wzrnz6ohnv4aglcs"

static void test_text_forms(void)
{
	struct cid v0, v1, again;
	char text[CID_TEXT_MAX];
	uint8_t want[SHA256_BYTES];
	hex_to_bytes(DAG_PB_DIGEST, want, sizeof(want));

	is_int(parse_str(&v0, V0_QM), 0, "CIDv0 parses");
	is_int(v0.len, CID_V0_BYTES, "CIDv0 is 34 bytes");
	is_int(cid_version(&v0), 0, "CIDv0 version");
	is_int(parse_str(&v1, V1_DAG_PB), 0, "CIDv1 dag-pb parses");
	is_int(cid_version(&v1), 1, "CIDv1 version");
	is_int(cid_codec(&v0), CODEC_DAG_PB, "v0 codec dag-pb");
	is_int(cid_codec(&v1), CODEC_DAG_PB, "v1 codec dag-pb");
	size_t l0, l1;
	uint64_t h0, h1;
	const uint8_t *d0 = cid_digest(&v0, &l0, &h0);
	const uint8_t *d1 = cid_digest(&v1, &l1, &h1);
	ok(d0 && d1 && l0 == SHA256_BYTES && l1 == SHA256_BYTES &&
		   h0 == MH_SHA2_256 && h1 == MH_SHA2_256,
	   "both have sha2-256 digests");
	is_mem(d0, want, SHA256_BYTES, "v0 digest");
	is_mem(d1, want, SHA256_BYTES, "v1 digest");
	ok(!cid_equal(&v0, &v1), "v0 and v1 are different CIDs");
	ok(!cid_is_raw_sha256(&v1), "dag-pb is not raw");

	is_int(cid_format(&v1, text, sizeof(text)), 0, "v1 formats");
	is_str(text, V1_DAG_PB, "v1 formats to the same base32");
	is_int(cid_format(&v0, text, sizeof(text)), 0, "v0 formats");
	is_str(text, V0_QM, "v0 keeps its Qm text");
	is_int(parse_str(&again, text), 0, "v0 text parses again");
	ok(cid_equal(&again, &v0), "v0 round trips");

	/* One CID in several bases compares equal. */
	struct cid k32, k36;
	is_int(parse_str(&k32, KEY_B32), 0, "libp2p-key base32 parses");
	is_int(parse_str(&k36, KEY_B36), 0, "libp2p-key base36 parses");
	ok(cid_equal(&k32, &k36), "base32 and base36 forms are equal");
	is_int(cid_codec(&k36), CODEC_LIBP2P_KEY, "codec libp2p-key");
	is_int(cid_format(&k36, text, sizeof(text)), 0, "formats");
	is_str(text, KEY_B32, "formats as base32");

	/* The empty raw block in base58btc and upper-case base32. */
	struct cid e32, e58, eup;
	is_int(parse_str(&e32, raw_vectors[0].cid), 0, "empty block base32");
	char z[CID_TEXT_MAX], up[CID_TEXT_MAX];
	ok(multibase_encode(MULTIBASE_BASE58BTC, z, sizeof(z), e32.bytes,
			    e32.len) > 0,
	   "empty block in base58btc");
	is_int(parse_str(&e58, z), 0, "base58btc form parses");
	ok(cid_equal(&e32, &e58), "base32 and base58btc forms are equal");
	for (size_t i = 0; i <= strlen(raw_vectors[0].cid); i++)
		up[i] = (char)((raw_vectors[0].cid[i] >= 'a' &&
				raw_vectors[0].cid[i] <= 'z')
				       ? raw_vectors[0].cid[i] - 'a' + 'A'
				       : raw_vectors[0].cid[i]);
	is_int(parse_str(&eup, up), 0, "upper-case base32 parses");
	ok(cid_equal(&e32, &eup), "upper-case base32 form is equal");

	/* Buffer sizes: 59 characters need 60 bytes. */
	is_int(cid_format(&e32, text, 60), 0, "60 bytes are enough");
	is_int(cid_format(&e32, text, 59), -ENOBUFS, "59 are not");
	is_int(cid_format(&e32, text, 0), -ENOBUFS, "0 are not");
	is_int(parse_str(&again, SHA512_B32), -EINVAL,
	       "a sha2-512 CID is too long to keep");
}

/* Every way a binary CID can be broken. */
static void test_bad_binary(void)
{
	struct cid c, keep;
	uint8_t good[CID_RAW_BYTES];
	cid_of_raw_block(&keep, (const uint8_t *)"x", 1);
	memcpy(good, keep.bytes, sizeof(good));
	c = keep;

	int accepted = 0;
	for (size_t cut = 0; cut < sizeof(good); cut++)
		accepted += cid_from_bytes(&c, good, cut) == 0;
	is_int(accepted, 0, "every truncation of a CID is refused");
	ok(cid_equal(&c, &keep), "refusals leave the CID alone");

	uint8_t b[CID_MAX_BYTES + 8];
	memcpy(b, good, sizeof(good));
	b[sizeof(good)] = 0;
	is_int(cid_from_bytes(&c, b, sizeof(good) + 1), -EINVAL,
	       "trailing byte refused");

	static const struct {
		const char *what;
		size_t len;
		uint8_t head[6];
		size_t head_len;
	} bad[] = {
		{ "digest length 31", 35, { 0x01, 0x55, 0x12, 0x1f }, 4 },
		{ "digest length 33", 37, { 0x01, 0x55, 0x12, 0x21 }, 4 },
		{ "declared 32, 31 present", 35, { 0x01, 0x55, 0x12, 0x20 },
		  4 },
		{ "version 0 spelt out", 36, { 0x00, 0x55, 0x12, 0x20 }, 4 },
		{ "version 2", 36, { 0x02, 0x55, 0x12, 0x20 }, 4 },
		{ "version 18 (v0 confusion)", 36, { 0x12, 0x55, 0x12, 0x20 },
		  4 },
		{ "non-minimal version", 37, { 0x81, 0x00, 0x55, 0x12, 0x20 },
		  5 },
		{ "non-minimal codec", 37,
		  { 0x01, 0xd5, 0x00, 0x12, 0x20 }, 5 },
		{ "non-minimal hash code", 37,
		  { 0x01, 0x55, 0x92, 0x00, 0x20 }, 5 },
		{ "non-minimal digest length", 37,
		  { 0x01, 0x55, 0x12, 0xa0, 0x00 }, 5 },
		{ "v0 of 33 bytes", 33, { 0x12, 0x20 }, 2 },
		{ "v0 with length 0x1f", 34, { 0x12, 0x1f }, 2 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(b, 0xab, sizeof(b));
		memcpy(b, bad[i].head, bad[i].head_len);
		is_int(cid_from_bytes(&c, b, bad[i].len), -EINVAL, "%s refused",
		       bad[i].what);
	}
	/* Identity digests are taken at their declared length only. */
	static const uint8_t ident_long[] = { 0x01, 0x72, 0x00, 0x02, 'a' };
	is_int(cid_from_bytes(&c, ident_long, sizeof(ident_long)), -EINVAL,
	       "identity digest shorter than declared refused");
	memset(b, 0, sizeof(b));
	memcpy(b, (const uint8_t[]){ 0x01, 0x55, 0x00, 0x3d }, 4);
	is_int(cid_from_bytes(&c, b, 4 + 0x3d), -EINVAL,
	       "CID over CID_MAX_BYTES refused");
	b[3] = 0x3c;
	is_int(cid_from_bytes(&c, b, 4 + 0x3c), 0, "CID of CID_MAX_BYTES kept");
	is_int(cid_from_bytes(&c, NULL, 0), -EINVAL, "no bytes refused");
}

static void test_bad_text(void)
{
	struct cid c;
	static const char *const bad[] = {
		"",
		"b",
		"z",
		/* one character short / long */
		"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk",
		"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvykua",
		/* a character outside the alphabet */
		"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk1",
		/* unknown multibase prefix ('f' base16) */
		("f01551220e3b0c44298fc1c149afbf4c8996fb92427ae41e46"
		 "49b934ca495991b7852b855"),
		/* CIDv0 text one short, one long, with a bad character */
		"QmRAQB6YaCyidP37UdDnjFY5vQuiBrcqdyoW1CuDgwxkD",
		"QmRAQB6YaCyidP37UdDnjFY5vQuiBrcqdyoW1CuDgwxkD4a",
		"QmRAQB6YaCyidP37UdDnjFY5vQuiBrcqdyoW1CuDgwxkD0",
		/* a 46-character Qm text that is no sha2-256 multihash */
		"Qm1111111111111111111111111111111111111111111a",
		"Qmzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
		/* leading/trailing space */
		" bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
		"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku ",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(parse_str(&c, bad[i]), -EINVAL, "text %zu refused", i);

	/* The same text with a NUL inside, and text of CID_TEXT_MAX. */
	char t[CID_TEXT_MAX + 1];
	strcpy(t, raw_vectors[0].cid);
	t[10] = '\0';
	is_int(cid_parse(&c, t, strlen(raw_vectors[0].cid)), -EINVAL,
	       "NUL inside refused");
	memset(t, 'a', sizeof(t));
	t[0] = 'b';
	is_int(cid_parse(&c, t, CID_TEXT_MAX), -EINVAL,
	       "text of CID_TEXT_MAX refused");
	is_int(cid_parse(&c, NULL, 0), -EINVAL, "NULL refused");

	/* A CIDv0 multibase-encoded, which the CID spec forbids. */
	struct cid v0;
	char mb[CID_TEXT_MAX];
	is_int(parse_str(&v0, V0_QM), 0, "v0 parses");
	static const char prefixes[] = { MULTIBASE_BASE32, MULTIBASE_BASE36,
					 MULTIBASE_BASE58BTC };
	for (size_t i = 0; i < sizeof(prefixes); i++) {
		ok(multibase_encode(prefixes[i], mb, sizeof(mb), v0.bytes,
				    v0.len) > 0,
		   "v0 bytes with prefix %c", prefixes[i]);
		is_int(parse_str(&c, mb), -EINVAL,
		       "multibase v0 '%s' refused", mb);
	}

	/* Every truncation of a valid text, in each base, is refused. */
	struct cid e;
	cid_of_raw_block(&e, (const uint8_t *)"y", 1);
	char forms[3][CID_TEXT_MAX];
	multibase_encode(MULTIBASE_BASE32, forms[0], CID_TEXT_MAX, e.bytes,
			 e.len);
	multibase_encode(MULTIBASE_BASE36, forms[1], CID_TEXT_MAX, e.bytes,
			 e.len);
	multibase_encode(MULTIBASE_BASE58BTC, forms[2], CID_TEXT_MAX, e.bytes,
			 e.len);
	int accepted = 0;
	for (size_t f = 0; f < 3; f++) {
		struct cid p;
		is_int(parse_str(&p, forms[f]), 0, "form %s parses", forms[f]);
		ok(cid_equal(&p, &e), "form %zu equals", f);
		for (size_t cut = 0; cut < strlen(forms[f]); cut++)
			accepted += cid_parse(&p, forms[f], cut) == 0;
	}
	is_int(accepted, 0, "every truncated text is refused");
}

/* Ed25519 keys and their IPNS names / peer ids, with sources. */
static const struct {
	const char *source, *key_hex, *peer_id, *k51;
} ipns_vectors[] = {
	/* pldespaigne/content-hash test/test.js: ipns_ED25519_contentHash
	 * holds the key; ipns_peerID_B58 and ipns_libp2pKey_CIDv1. */
	{ "content-hash",
	  "5cbd1cc86ac20d6640795809c2a185bb2504538a2de8076da5a6971b8acb4715",
	  "12D3KooWG4NvqQVczTrWY1H2tvsJmbQf5bbA3xGYXC4FM3wWCfE4",
	  "k51qzi5uqu5dihst24f3rp2ej4co9berxohfkxaenbq1wjty7nrd5e9xp4afx1" },
	/* libp2p/specs peer-ids/peer-ids.md "ED25519 public key" test
	 * vector (080112201ed1…); its peer id as go-libp2p's HTTP peer-id
	 * auth test (TestWalkthroughInSpec) derives it. */
	{ "libp2p spec",
	  "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e",
	  "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq", NULL },
	/* aioipfs tests (test_peerid_reencode): a peer id and its base36. */
	{ "aioipfs", NULL,
	  "12D3KooWD3bfmNbuuuVCYwkjnFt3ukm3qaB3hDED3peHHXawvRAi",
	  "k51qzi5uqu5dhdmj65s7o239pk7w2knayz61k30js9t66wd6h82yw6iinitcuz" },
	/* libp2p/specs peer-ids/peer-ids.md, "Decoding" examples. */
	{ "libp2p spec example", NULL,
	  "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA", NULL },
	/* A name Kubo made: ipfs/kubo
	 * test/sharness/t0124-gateway-ipns-record/README.md (IPNS_KEY). */
	{ "kubo fixture", NULL, NULL,
	  "k51qzi5uqu5dm4inosjntx5i61w42pk04qo0bftl9af6yie6uozkzd87bzkrbq" },
};

/* text (a peer id or a name: what) parses to an Ed25519 key: the key
 * already known if *have_key, else from now on. */
static void parses_to_key(const char *text, const char *src, const char *what,
			  uint8_t key[32], int *have_key)
{
	uint8_t got[32];
	is_int(ipns_name_parse_ed25519(text, got), 0, "%s: %s parses", src,
	       what);
	if (*have_key)
		is_mem(got, key, 32, "%s: %s holds the key", src, what);
	memcpy(key, got, 32);
	*have_key = 1;
}

static void test_ipns(void)
{
	for (size_t i = 0; i < sizeof(ipns_vectors) / sizeof(ipns_vectors[0]);
	     i++) {
		const char *src = ipns_vectors[i].source;
		uint8_t key[32];
		int have_key = 0;
		if (ipns_vectors[i].key_hex) {
			hex_to_bytes(ipns_vectors[i].key_hex, key, 32);
			have_key = 1;
		}
		if (ipns_vectors[i].peer_id)
			parses_to_key(ipns_vectors[i].peer_id, src, "peer id",
				      key, &have_key);
		if (ipns_vectors[i].k51)
			parses_to_key(ipns_vectors[i].k51, src, "name", key,
				      &have_key);
		char name[CID_TEXT_MAX];
		is_int(ipns_name_of_ed25519(name, sizeof(name), key), 0,
		       "%s: name of key", src);
		ok(strncmp(name, "k51qzi5uqu5d", 12) == 0,
		   "%s: name starts k51qzi5uqu5d (%s)", src, name);
		if (ipns_vectors[i].k51)
			is_str(name, ipns_vectors[i].k51, "%s: known name",
			       src);
		char peer[CID_TEXT_MAX];
		is_int(ipns_peer_id_of_ed25519(peer, sizeof(peer), key), 0,
		       "%s: peer id of key", src);
		if (ipns_vectors[i].peer_id)
			is_str(peer, ipns_vectors[i].peer_id,
			       "%s: known peer id", src);
		uint8_t back[32];
		is_int(ipns_name_parse_ed25519(peer, back), 0,
		       "%s: own peer id parses", src);
		is_mem(back, key, 32, "%s: own peer id round trips", src);
		is_int(ipns_name_parse_ed25519(name, back), 0,
		       "%s: own name parses", src);
		is_mem(back, key, 32, "%s: own name round trips", src);
	}

	/* Random keys round trip, through base36 and the base32 form. */
	int bad = 0;
	for (unsigned i = 0; i < 200; i++) {
		uint8_t key[32], back[32];
		char name[CID_TEXT_MAX], b32[CID_TEXT_MAX];
		struct cid c;
		tap_fill_random(key, sizeof(key), 500 + i);
		if (ipns_name_of_ed25519(name, sizeof(name), key) != 0 ||
		    ipns_name_parse_ed25519(name, back) != 0 ||
		    memcmp(back, key, 32) != 0 || parse_str(&c, name) != 0 ||
		    cid_format(&c, b32, sizeof(b32)) != 0 ||
		    ipns_name_parse_ed25519(b32, back) != 0 ||
		    memcmp(back, key, 32) != 0 ||
		    strncmp(name, "k51qzi5uqu5d", 12) != 0)
			bad++;
	}
	is_int(bad, 0, "random keys round trip through their names");

	uint8_t key[32] = { 0 }, out[32];
	char name[CID_TEXT_MAX];
	is_int(ipns_name_of_ed25519(name, 62, key), -ENOBUFS,
	       "name needs 63 bytes");
	is_int(ipns_name_of_ed25519(name, 63, key), 0, "63 bytes suffice");

	static const char *const bad_names[] = {
		"",
		/* a raw block CID is no key */
		"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
		/* an RSA-style peer id (sha2-256 multihash) */
		"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N",
		/* libp2p-key CID of a sha2-256 multihash (libp2p spec) */
		"bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe",
		/* the content-hash name, one character dropped / changed */
		"k51qzi5uqu5dihst24f3rp2ej4co9berxohfkxaenbq1wjty7nrd5e9xp4afx",
		("k51qzi5uqu5dihst24f3rp2ej4co9berxohfkxaenbq1wjty7nrd5e9xp4a"
		 "f-1"),
		/* the content-hash peer id, truncated */
		"12D3KooWG4NvqQVczTrWY1H2tvsJmbQf5bbA3xGYXC4FM3wWCfE",
		"1",
	};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		is_int(ipns_name_parse_ed25519(bad_names[i], out), -EINVAL,
		       "name %zu refused", i);
	is_int(ipns_name_parse_ed25519(NULL, out), -EINVAL, "NULL refused");

	/* A protobuf of another key type (secp256k1 = 2) is refused. */
	uint8_t bin[40] = { 0x01, 0x72, 0x00, 0x24, 0x08, 0x02, 0x12, 0x20 };
	char other[CID_TEXT_MAX];
	multibase_encode(MULTIBASE_BASE36, other, sizeof(other), bin,
			 sizeof(bin));
	is_int(ipns_name_parse_ed25519(other, out), -EINVAL,
	       "non-Ed25519 key type refused");
	bin[5] = 0x01;
	multibase_encode(MULTIBASE_BASE36, other, sizeof(other), bin,
			 sizeof(bin));
	is_int(ipns_name_parse_ed25519(other, out), 0,
	       "the same with Ed25519 type parses");
}

int main(void)
{
	harness_seal_init();
	test_raw_blocks();
	test_matches();
	test_text_forms();
	test_bad_binary();
	test_bad_text();
	test_ipns();
	return tap_done();
}
