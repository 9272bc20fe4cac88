/* tests/unit/test_multibase.c — base32/36/58btc (ipfs/multibase.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipfs/multibase.h"
#include "tests/tap.h"

#define TEXT_MAX 600

/*
 * Vectors from the multibase spec's test files (multiformats/multibase,
 * tests/basic.csv, leading_zero.csv, two_leading_zeros.csv, test1.csv,
 * test3.csv): the input, then its base32, base32upper, base36, base36upper
 * and base58btc text with the multibase prefix; NULL where the file has none.
 */
static const struct {
	const char *input;
	size_t len;
	const char *b32, *b32up, *b36, *b36up, *b58;
} spec[] = {
	{ "yes mani !", 10, "bpfsxgidnmfxgsibb", "BPFSXGIDNMFXGSIBB",
	  "k2lcpzo5yikidynfl", "K2LCPZO5YIKIDYNFL", "z7paNL19xttacUY" },
	{ "\0yes mani !", 11, "bab4wk4zanvqw42jaee", "BAB4WK4ZANVQW42JAEE",
	  "k02lcpzo5yikidynfl", "K02LCPZO5YIKIDYNFL", "z17paNL19xttacUY" },
	{ "\0\0yes mani !", 12, "baaahszltebwwc3tjeaqq",
	  "BAAAHSZLTEBWWC3TJEAQQ", "k002lcpzo5yikidynfl",
	  "K002LCPZO5YIKIDYNFL", "z117paNL19xttacUY" },
	{ "Decentralize everything!!", 25,
	  "birswgzloorzgc3djpjssazlwmvzhs5dinfxgoijb",
	  "BIRSWGZLOORZGC3DJPJSSAZLWMVZHS5DINFXGOIJB",
	  "k343ixo7d49hqj1ium15pgy1wzww5fxrid21td7l",
	  "K343IXO7D49HQJ1IUM15PGY1WZWW5FXRID21TD7L",
	  "zUXE7GvtEk8XTXs1GF8HSGbVA9FCX9SEBPe" },
	{ "hello world", 11, "bnbswy3dpeb3w64tmmq", "BNBSWY3DPEB3W64TMMQ",
	  NULL, NULL, "zStV1DL6CwTryKyV" },
};

/* Non-canonical case, still "hello world" (multibase tests/test6.csv). */
static const char *const mixed_case_hello[] = {
	"bnbswy3dpeB3W64TMMQ",
	"Bnbswy3dpeB3W64TMMQ",
	"kfUvrsIvVnfRbjWaJo",
	"KfUVrSIVVnFRbJWAJo",
};

/* RFC 4648 section 10, base32, in lower case without padding. */
static const struct {
	const char *input, *text;
} rfc4648[] = {
	{ "", "" },		 { "f", "my" },
	{ "fo", "mzxq" },	 { "foo", "mzxw6" },
	{ "foob", "mzxw6yq" },	 { "fooba", "mzxw6ytb" },
	{ "foobar", "mzxw6ytboi" },
};

static void check_encode(char prefix, const char *want, const void *in,
			 size_t len)
{
	char out[TEXT_MAX];
	size_t n = multibase_encode(prefix, out, sizeof(out), in, len);
	is_int(n, strlen(want), "%s: encoded length", want);
	is_str(out, want, "%s: encoded text", want);
}

static void check_decode(const char *text, const void *want, size_t len)
{
	uint8_t out[TEXT_MAX];
	ssize_t n = multibase_decode(out, sizeof(out), text, strlen(text));
	is_int(n, (ssize_t)len, "%s: decoded length", text);
	is_mem(out, want, len, "%s: decoded bytes", text);
}

static void test_spec_vectors(void)
{
	for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		const char *in = spec[i].input;
		size_t len = spec[i].len;
		check_encode(MULTIBASE_BASE32, spec[i].b32, in, len);
		check_decode(spec[i].b32, in, len);
		check_decode(spec[i].b32up, in, len);
		check_encode(MULTIBASE_BASE58BTC, spec[i].b58, in, len);
		check_decode(spec[i].b58, in, len);
		if (spec[i].b36) {
			check_encode(MULTIBASE_BASE36, spec[i].b36, in, len);
			check_decode(spec[i].b36, in, len);
			check_decode(spec[i].b36up, in, len);
		}
	}
	for (size_t i = 0; i < 4; i++)
		check_decode(mixed_case_hello[i], "hello world", 11);
	check_encode(MULTIBASE_BASE36, "kfuvrsivvnfrbjwajo", "hello world",
		     11);

	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		char out[TEXT_MAX];
		size_t len = strlen(rfc4648[i].input);
		memset(out, 'x', sizeof(out));
		size_t n = base32_encode(out, sizeof(out),
					 (const uint8_t *)rfc4648[i].input,
					 len);
		is_int(n, strlen(rfc4648[i].text), "RFC 4648 \"%s\": length",
		       rfc4648[i].input);
		is_str(out, rfc4648[i].text, "RFC 4648 \"%s\": text",
		       rfc4648[i].input);
		uint8_t bytes[16];
		ssize_t m = base32_decode(bytes, sizeof(bytes),
					  rfc4648[i].text,
					  strlen(rfc4648[i].text));
		is_int(m, (ssize_t)len, "RFC 4648 \"%s\": decoded length",
		       rfc4648[i].text);
		is_mem(bytes, rfc4648[i].input, len, "RFC 4648 \"%s\": bytes",
		       rfc4648[i].text);
	}
}

static void test_leading_zeros(void)
{
	static const uint8_t zeros[3] = { 0, 0, 0 };
	check_encode(MULTIBASE_BASE58BTC, "z1", zeros, 1);
	check_encode(MULTIBASE_BASE58BTC, "z111", zeros, 3);
	check_encode(MULTIBASE_BASE36, "k0", zeros, 1);
	check_encode(MULTIBASE_BASE36, "k000", zeros, 3);
	check_encode(MULTIBASE_BASE32, "baa", zeros, 1);
	check_decode("z111", zeros, 3);
	check_decode("k00", zeros, 2);
	check_encode(MULTIBASE_BASE58BTC, "z", "", 0);
	check_encode(MULTIBASE_BASE36, "k", "", 0);
	check_encode(MULTIBASE_BASE32, "b", "", 0);
	check_decode("z", "", 0);
	check_decode("k", "", 0);
	check_decode("b", "", 0);
	/* 255 = 4·58 + 23 = 7·36 + 3. */
	static const uint8_t ff = 0xff;
	check_encode(MULTIBASE_BASE58BTC, "z5Q", &ff, 1);
	check_encode(MULTIBASE_BASE36, "k73", &ff, 1);
}

typedef size_t (*encode_fn)(char *, size_t, const uint8_t *, size_t);
typedef ssize_t (*decode_fn)(uint8_t *, size_t, const char *, size_t);

static const struct {
	const char *name;
	char prefix;
	encode_fn enc;
	decode_fn dec;
	const char *alphabet;
} bases[] = {
	{ "base32", MULTIBASE_BASE32, base32_encode, base32_decode,
	  "abcdefghijklmnopqrstuvwxyz234567" },
	{ "base36", MULTIBASE_BASE36, base36_encode, base36_decode,
	  "0123456789abcdefghijklmnopqrstuvwxyz" },
	{ "base58btc", MULTIBASE_BASE58BTC, base58btc_encode, base58btc_decode,
	  "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz" },
};
#define NBASES (sizeof(bases) / sizeof(bases[0]))

/* Random byte strings of every length 0..100, some with leading zeros (and
 * some all zero), through each base raw and with its prefix. */
static void test_round_trips(void)
{
	for (size_t b = 0; b < NBASES; b++) {
		int bad = 0;
		for (size_t len = 0; len <= 100; len++) {
			uint8_t in[100], back[101];
			char text[TEXT_MAX];
			tap_fill_random(in, len, 1000 * b + len);
			size_t lead = len % 4 == 1 ? 1 : len % 4 == 2 ? 3 : 0;
			if (len % 17 == 3)
				lead = len;
			memset(in, 0, lead < len ? lead : len);

			size_t n = bases[b].enc(text, sizeof(text), in, len);
			if ((n == 0) != (len == 0) || strlen(text) != n) {
				tap_diag("%s: encode of %zu bytes gave %zu",
					 bases[b].name, len, n);
				bad++;
				continue;
			}
			/* The text uses only the alphabet. */
			if (strspn(text, bases[b].alphabet) != n) {
				tap_diag("%s: stray character", bases[b].name);
				bad++;
			}
			ssize_t m = bases[b].dec(back, len, text, n);
			if (m != (ssize_t)len || memcmp(back, in, len) != 0) {
				tap_diag("%s: round trip of %zu bytes",
					 bases[b].name, len);
				bad++;
			}
			/* Exactly sized buffers suffice; one less does not. */
			char *exact = malloc(n + 1);
			if (!exact)
				abort();
			if (bases[b].enc(exact, n + 1, in, len) != n ||
			    strcmp(exact, text) != 0) {
				tap_diag("%s: exact buffer, %zu bytes",
					 bases[b].name, len);
				bad++;
			}
			if (len > 0 && bases[b].enc(exact, n, in, len) != 0) {
				tap_diag("%s: short buffer accepted, %zu bytes",
					 bases[b].name, len);
				bad++;
			}
			free(exact);
			if (len > 0 &&
			    bases[b].dec(back, len - 1, text, n) != -2) {
				tap_diag("%s: short decode buffer, %zu bytes",
					 bases[b].name, len);
				bad++;
			}

			/* With the prefix. */
			char mtext[TEXT_MAX];
			size_t mn = multibase_encode(bases[b].prefix, mtext,
						     sizeof(mtext), in, len);
			if (mn != n + 1 || mtext[0] != bases[b].prefix ||
			    strcmp(mtext + 1, text) != 0 ||
			    multibase_decode(back, sizeof(back), mtext, mn) !=
				    (ssize_t)len ||
			    memcmp(back, in, len) != 0) {
				tap_diag("%s: multibase round trip, %zu bytes",
					 bases[b].name, len);
				bad++;
			}
		}
		is_int(bad, 0, "%s: random round trips, lengths 0..100",
		       bases[b].name);
	}
}

/* Strictness: any text a decoder accepts re-encodes to itself, so no two
 * texts (up to letter case) decode to the same bytes. */
static void test_canonical(void)
{
	for (size_t b = 0; b < NBASES; b++) {
		size_t alen = strlen(bases[b].alphabet);
		int bad = 0, accepted = 0;
		for (unsigned trial = 0; trial < 4000; trial++) {
			uint8_t r[24];
			tap_fill_random(r, sizeof(r), 77 * trial + b);
			size_t len = r[0] % 20;
			char text[24];
			for (size_t i = 0; i < len; i++)
				text[i] = bases[b].alphabet[r[i + 1] % alen];
			/* Leading zero digits too, often. */
			if (trial % 3 == 0 && len > 0)
				text[0] = bases[b].alphabet[0];
			text[len] = '\0';
			uint8_t bytes[32];
			ssize_t m = bases[b].dec(bytes, sizeof(bytes), text,
						 len);
			if (m < 0)
				continue;
			accepted++;
			char again[64];
			size_t n = bases[b].enc(again, sizeof(again), bytes,
						(size_t)m);
			if (n != len || strcmp(again, text) != 0) {
				tap_diag("%s: '%s' accepted but encodes as "
					 "'%s'",
					 bases[b].name, text, again);
				bad++;
			}
		}
		is_int(bad, 0, "%s: every accepted text is canonical",
		       bases[b].name);
		ok(accepted > 500, "%s: the canonical check saw %d texts",
		   bases[b].name, accepted);
	}
}

/* s with anything unprintable as \xNN, so TAP lines stay one line. */
static const char *shown(const char *s)
{
	static char buf[4 * 64 + 1];
	size_t o = 0;
	for (; *s && o + 5 < sizeof(buf); s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c < 0x7f)
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
					      "\\x%02x", c);
	}
	buf[o] = '\0';
	return buf;
}

/* What each of bases[] refuses: texts (up to a NULL), and nul, two bytes
 * that are good but for the NUL. */
static const struct {
	const char *const *texts;
	const char *nul;
} refused[NBASES] = {
	{(const char *const[]){"1", "my=", "m y", "mz", "mzxw6yr", "m", "mzx",
			       "mzxw6y", "8a", "0a", "my\n", "\xc3\xa9",
			       "mzxq====", NULL},
	 "m\0"},
	{(const char *const[]){"-", "a b", "ab!", "a_", "\xff", NULL}, "1\0"},
	{(const char *const[]){"0", "O", "I", "l", "+", "/", "abc0", "2 2",
			       "\x80", NULL},
	 "2\0"},
};

static void test_rejections(void)
{
	uint8_t out[TEXT_MAX];
	for (size_t b = 0; b < NBASES; b++) {
		for (const char *const *t = refused[b].texts; *t; t++)
			is_int(bases[b].dec(out, sizeof(out), *t, strlen(*t)),
			       -1, "%s refuses '%s'", bases[b].name, shown(*t));
		is_int(bases[b].dec(out, sizeof(out), refused[b].nul, 2), -1,
		       "%s refuses NUL", bases[b].name);
	}

	static const char *const badmb[] = { "", "f00", "mAA", "Q", "Zabc",
					     "u", "9", "bmz", "z0", "k-" };
	for (size_t i = 0; i < sizeof(badmb) / sizeof(badmb[0]); i++)
		is_int(multibase_decode(out, sizeof(out), badmb[i],
					strlen(badmb[i])),
		       -1, "multibase refuses '%s'", badmb[i]);

	char text[TEXT_MAX];
	is_int(multibase_encode('f', text, sizeof(text),
				(const uint8_t *)"x", 1),
	       0, "multibase_encode refuses an unknown prefix");
	is_int(multibase_encode(MULTIBASE_BASE32, text, 1,
				(const uint8_t *)"", 0),
	       0, "multibase_encode needs room for prefix and NUL");

	/* The big-number bases are bounded both ways. */
	char longtext[MULTIBASE_BIGNUM_MAX_CHARS + 2];
	memset(longtext, '2', sizeof(longtext));
	is_int(base58btc_decode(out, sizeof(out), longtext,
				MULTIBASE_BIGNUM_MAX_CHARS + 1),
	       -1, "base58btc refuses over-long text");
	is_int(base36_decode(out, sizeof(out), longtext,
			     MULTIBASE_BIGNUM_MAX_CHARS + 1),
	       -1, "base36 refuses over-long text");
	ok(base58btc_decode(out, sizeof(out), longtext,
			    MULTIBASE_BIGNUM_MAX_CHARS) > 0,
	   "base58btc takes text at the bound");
	memset(longtext, 'z', sizeof(longtext));
	ok(base36_decode(out, sizeof(out), longtext,
			 MULTIBASE_BIGNUM_MAX_CHARS) > 0,
	   "base36 takes the largest text at the bound");
	uint8_t big[MULTIBASE_BIGNUM_MAX_BYTES + 1];
	memset(big, 0xff, sizeof(big));
	is_int(base58btc_encode(text, sizeof(text), big, sizeof(big)), 0,
	       "base58btc does not encode over-long input");
	is_int(base36_encode(text, sizeof(text), big, sizeof(big)), 0,
	       "base36 does not encode over-long input");
	ok(base36_encode(text, sizeof(text), big, sizeof(big) - 1) > 0,
	   "base36 encodes input at the bound");

	/* Output size checks with a sized buffer. */
	is_int(multibase_decode(out, 9, "bpfsxgidnmfxgsibb", 17), -2,
	       "base32 decode into a short buffer");
	is_int(multibase_decode(out, 9, "z7paNL19xttacUY", 15), -2,
	       "base58btc decode into a short buffer");
	is_int(multibase_decode(out, 10, "k02lcpzo5yikidynfl", 18), -2,
	       "base36 decode into a short buffer (leading zero counts)");
	is_int(base32_encode(text, 16, (const uint8_t *)"yes mani !", 10), 0,
	       "base32 encode into a short buffer");
	is_int(base32_encode(text, 17, (const uint8_t *)"yes mani !", 10), 16,
	       "base32 encode into an exact buffer");
}

int main(void)
{
	test_spec_vectors();
	test_leading_zeros();
	test_round_trips();
	test_canonical();
	test_rejections();
	return tap_done();
}
