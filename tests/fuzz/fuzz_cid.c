/*
 * tests/fuzz/fuzz_cid.c — libFuzzer target: CIDs, multibase, varints,
 * IPNS names and object capabilities.
 *
 * Whatever a parser accepts must survive a round trip through its
 * encoder: parse(format(parse(x))) == parse(x).
 */
#include <stdlib.h>
#include <string.h>

#include "fs/model/capability.h"
#include "ipfs/cid.h"
#include "ipfs/multibase.h"
#include "ipfs/varint.h"

static void check_cid_text(const char *text, size_t len)
{
	struct cid c, c2;
	char out[CID_TEXT_MAX];

	if (cid_parse(&c, text, len) != 0)
		return;
	if (c.len > CID_MAX_BYTES || cid_format(&c, out, sizeof(out)) != 0 ||
	    cid_parse(&c2, out, strlen(out)) != 0 || !cid_equal(&c, &c2))
		abort();
	(void)cid_version(&c);
	(void)cid_codec(&c);
	(void)cid_is_raw_sha256(&c);
	(void)cid_matches(&c, (const uint8_t *)text, len);
}

static void check_cid_bytes(const uint8_t *data, size_t size)
{
	struct cid c, c2;
	char out[CID_TEXT_MAX];
	size_t dlen;
	uint64_t code;

	if (cid_from_bytes(&c, data, size) != 0)
		return;
	if (c.len != size || memcmp(c.bytes, data, size) != 0)
		abort();
	(void)cid_digest(&c, &dlen, &code);
	if (cid_format(&c, out, sizeof(out)) != 0 ||
	    cid_parse(&c2, out, strlen(out)) != 0 || !cid_equal(&c, &c2))
		abort();
}

static void check_multibase(const char *text, size_t len)
{
	uint8_t buf[512], buf2[512];
	char out[1024];
	ssize_t n = multibase_decode(buf, sizeof(buf), text, len), n2;
	char prefix;

	if (n < 0 || len == 0)
		return;
	prefix = text[0] == 'B' ? 'b' : text[0] == 'K' ? 'k' : text[0];
	/* The big-number bases decode up to MULTIBASE_BIGNUM_MAX_CHARS of
	 * text (about 165 bytes) but encode only MULTIBASE_BIGNUM_MAX_BYTES:
	 * the round trip is promised below that. */
	if ((prefix == 'k' || prefix == 'z') &&
	    (size_t)n > MULTIBASE_BIGNUM_MAX_BYTES)
		return;
	if (multibase_encode(prefix, out, sizeof(out), buf, (size_t)n) == 0 &&
	    n > 0)
		abort();
	n2 = multibase_decode(buf2, sizeof(buf2), out, strlen(out));
	if (n2 != n || memcmp(buf, buf2, (size_t)n) != 0)
		abort();
}

static void check_varint(const uint8_t *data, size_t size)
{
	uint8_t out[VARINT_MAX_BYTES];
	uint64_t v;
	size_t n = varint_decode(data, size, &v);

	if (n == 0)
		return;
	if (n > VARINT_MAX_BYTES || n > size ||
	    varint_encode(v, out) != n || memcmp(out, data, n) != 0)
		abort();
}

static void check_capability(const char *text)
{
	struct obj_ref r, r2;
	char out[CAPABILITY_MAX];

	if (capability_parse(text, &r) != 0)
		return;
	if (capability_format(&r, out, sizeof(out)) != 0 ||
	    capability_parse(out, &r2) != 0 || r.size != r2.size ||
	    r.depth != r2.depth || !cid_equal(&r.cid, &r2.cid) ||
	    memcmp(r.key, r2.key, sizeof(r.key)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	uint8_t pk[32];

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	check_cid_text(text, size);
	check_cid_bytes(data, size);
	check_multibase(text, size);
	check_varint(data, size);
	/* Parsers taking NUL-terminated text see the prefix before a NUL. */
	check_capability(text);
	if (ipns_name_parse_ed25519(text, pk) == 0) {
		char out[CID_TEXT_MAX];
		uint8_t pk2[32];
		if (ipns_name_of_ed25519(out, sizeof(out), pk) != 0 ||
		    ipns_name_parse_ed25519(out, pk2) != 0 ||
		    memcmp(pk, pk2, 32) != 0)
			abort();
	}
	free(text);
	return 0;
}
