/* tests/unit/test_varint.c — unsigned varints (ipfs/varint.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipfs/varint.h"
#include "tests/tap.h"

/* Examples from the multiformats unsigned-varint spec
 * (multiformats/unsigned-varint, README.md, "Examples"), plus 0 and the
 * largest value the 9-byte limit allows. */
static const struct {
	uint64_t value;
	size_t len;
	uint8_t bytes[VARINT_MAX_BYTES];
} vectors[] = {
	{ 0, 1, { 0x00 } },
	{ 1, 1, { 0x01 } },
	{ 127, 1, { 0x7f } },
	{ 128, 2, { 0x80, 0x01 } },
	{ 255, 2, { 0xff, 0x01 } },
	{ 300, 2, { 0xac, 0x02 } },
	{ 16384, 3, { 0x80, 0x80, 0x01 } },
	{ UINT64_C(0x7fffffffffffffff), 9,
	  { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f } },
};

/* Decode from an exactly sized heap copy, so ASan sees any over-read. */
static size_t decode_exact(const uint8_t *bytes, size_t len, uint64_t *v)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, bytes, len);
	size_t n = varint_decode(copy, len, v);
	free(copy);
	return n;
}

static void test_vectors(void)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		uint8_t out[VARINT_MAX_BYTES];
		size_t n = varint_encode(vectors[i].value, out);
		is_int(n, vectors[i].len, "encode %llu: length",
		       (unsigned long long)vectors[i].value);
		is_mem(out, vectors[i].bytes, vectors[i].len,
		       "encode %llu: bytes",
		       (unsigned long long)vectors[i].value);
		uint64_t v = 42;
		n = decode_exact(vectors[i].bytes, vectors[i].len, &v);
		is_int(n, vectors[i].len, "decode %llu: consumed",
		       (unsigned long long)vectors[i].value);
		ok(v == vectors[i].value, "decode %llu: value",
		   (unsigned long long)vectors[i].value);
	}
}

static void test_too_large(void)
{
	uint8_t out[VARINT_MAX_BYTES];
	is_int(varint_encode(UINT64_C(1) << 63, out), 0, "2^63 not encoded");
	is_int(varint_encode(UINT64_MAX, out), 0, "2^64-1 not encoded");

	/* 2^63 would need a tenth byte. */
	static const uint8_t ten[] = { 0x80, 0x80, 0x80, 0x80, 0x80,
				       0x80, 0x80, 0x80, 0x80, 0x01 };
	uint64_t v = 7;
	is_int(decode_exact(ten, sizeof(ten), &v), 0, "10-byte varint refused");
	static const uint8_t nine_cont[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff, 0xff };
	is_int(decode_exact(nine_cont, sizeof(nine_cont), &v), 0,
	       "9 bytes still continuing refused");
	static const uint8_t eleven[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff, 0x01 };
	is_int(decode_exact(eleven, sizeof(eleven), &v), 0,
	       "64-bit Go-style varint refused");
}

static void test_non_minimal(void)
{
	static const struct {
		size_t len;
		uint8_t bytes[VARINT_MAX_BYTES];
	} bad[] = {
		{ 2, { 0x80, 0x00 } },		    /* 0 in two bytes */
		{ 2, { 0x81, 0x00 } },		    /* 1 in two bytes */
		{ 3, { 0xff, 0x80, 0x00 } },	    /* 127 in three bytes */
		{ 3, { 0xac, 0x82, 0x00 } },	    /* 300 in three bytes */
		{ 9, { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
		       0x00 } },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v;
		is_int(decode_exact(bad[i].bytes, bad[i].len, &v), 0,
		       "non-minimal form %zu refused", i);
	}
	uint64_t v = 9;
	static const uint8_t zero[] = { 0x00 };
	is_int(decode_exact(zero, 1, &v), 1, "single 0x00 is the value 0");
	ok(v == 0, "single 0x00 decodes to 0");
}

static void test_truncated(void)
{
	uint64_t v;
	is_int(varint_decode(NULL, 0, &v), 0, "empty input refused");
	static const uint8_t cont[] = { 0x80 };
	is_int(decode_exact(cont, 1, &v), 0, "lone continuation byte refused");
	static const uint8_t b16384[] = { 0x80, 0x80, 0x01 };
	is_int(decode_exact(b16384, 2, &v), 0, "16384 cut to 2 bytes refused");
	/* Only the varint is consumed, not what follows. */
	static const uint8_t more[] = { 0xac, 0x02, 0xff, 0xff };
	is_int(decode_exact(more, sizeof(more), &v), 2,
	       "trailing bytes not consumed");
	ok(v == 300, "value before trailing bytes");
}

/* Every value of every bit length round trips, with the expected length. */
static void test_round_trip(void)
{
	int bad = 0;
	uint8_t rnd[8 * 64];
	tap_fill_random(rnd, sizeof(rnd), 0x5eed);
	for (unsigned bits = 0; bits <= 63; bits++) {
		uint64_t r;
		memcpy(&r, rnd + 8 * bits, sizeof(r));
		uint64_t top = bits ? UINT64_C(1) << (bits - 1) : 0;
		uint64_t mask = bits ? (top << 1) - 1 : 0;
		uint64_t values[] = { top, mask, (r & mask) | top };
		for (size_t k = 0; k < 3; k++) {
			uint64_t x = values[k], y = ~x;
			uint8_t out[VARINT_MAX_BYTES];
			size_t n = varint_encode(x, out);
			size_t want = bits <= 7 ? 1 : (bits + 6) / 7;
			if (n != want || decode_exact(out, n, &y) != n ||
			    y != x) {
				tap_diag("round trip of %llu (%u bits) failed",
					 (unsigned long long)x, bits);
				bad++;
			}
			/* Every shorter prefix is a truncated varint. */
			for (size_t cut = 0; cut < n; cut++)
				if (decode_exact(out, cut, &y) != 0) {
					tap_diag("prefix %zu of %llu accepted",
						 cut, (unsigned long long)x);
					bad++;
				}
		}
	}
	is_int(bad, 0, "all bit lengths 0..63 round trip; prefixes refused");
}

int main(void)
{
	test_vectors();
	test_too_large();
	test_non_minimal();
	test_truncated();
	test_round_trip();
	return tap_done();
}
