/* ipfs/multibase.c — see multibase.h. */
#include "ipfs/multibase.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#define BASE32_BITS 5
#define BASE32_MASK 0x1fu
#define BYTE_BITS 8

static const char base32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char base36_alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
static const char base58btc_alphabet[] =
	"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

#define BASE36 36u
#define BASE58 58u
#define LETTERS 26
#define DIGITS 10

/* Digit value of c in base32 (either case), or -1. */
static int base32_value(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + LETTERS;
	return -1;
}

/* Digit value of c in base36 (either case), or -1. */
static int base36_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + DIGITS;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + DIGITS;
	return -1;
}

/* Digit value of c in base58btc (case matters), or -1. */
static int base58btc_value(unsigned char c)
{
	/* memchr, not strchr: NUL must not match the terminator. */
	const char *p = memchr(base58btc_alphabet, c, BASE58);
	return p ? (int)(p - base58btc_alphabet) : -1;
}

size_t base32_encode(char *out, size_t out_size, const uint8_t *in, size_t len)
{
	if (len > (SIZE_MAX - BASE32_BITS) / BYTE_BITS)
		return 0;
	size_t text_len = (len * BYTE_BITS + BASE32_BITS - 1) / BASE32_BITS;
	if (out_size == 0 || text_len > out_size - 1)
		return 0;
	uint32_t acc = 0;
	unsigned nbits = 0;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << BYTE_BITS) | in[i];
		nbits += BYTE_BITS;
		while (nbits >= BASE32_BITS) {
			nbits -= BASE32_BITS;
			out[o++] =
				base32_alphabet[(acc >> nbits) & BASE32_MASK];
		}
		acc &= (1u << nbits) - 1;
	}
	if (nbits > 0)
		out[o++] = base32_alphabet[(acc << (BASE32_BITS - nbits)) &
					   BASE32_MASK];
	out[o] = '\0';
	return o;
}

ssize_t base32_decode(uint8_t *out, size_t out_size, const char *in,
		      size_t len)
{
	/* The bits left over after the last whole byte: fewer than one
	 * character's worth and all zero, or some encoder made them up. */
	size_t spare_bits = (len % BYTE_BITS) * BASE32_BITS % BYTE_BITS;
	if (spare_bits >= BASE32_BITS)
		return -1;
	size_t nbytes = len / BYTE_BITS * BASE32_BITS +
			(len % BYTE_BITS) * BASE32_BITS / BYTE_BITS;
	if (nbytes > SSIZE_MAX)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (base32_value((unsigned char)in[i]) < 0)
			return -1;
	if (len > 0 &&
	    ((unsigned)base32_value((unsigned char)in[len - 1]) &
	     ((1u << spare_bits) - 1)))
		return -1;
	if (nbytes > out_size)
		return -2;

	uint32_t acc = 0;
	unsigned nbits = 0;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << BASE32_BITS) |
		      (uint32_t)base32_value((unsigned char)in[i]);
		nbits += BASE32_BITS;
		if (nbits >= BYTE_BITS) {
			nbits -= BYTE_BITS;
			out[o++] = (uint8_t)(acc >> nbits);
			acc &= (1u << nbits) - 1;
		}
	}
	return (ssize_t)o;
}

/*
 * Bytes → base `base` digits, leading zero bytes → leading zero digits.
 * Quadratic in len, hence the bound.
 */
static size_t bignum_encode(char *out, size_t out_size, const uint8_t *in,
			    size_t len, unsigned base, const char *alphabet)
{
	if (len > MULTIBASE_BIGNUM_MAX_BYTES)
		return 0;
	size_t zeros = 0;
	while (zeros < len && in[zeros] == 0)
		zeros++;

	/* Little-endian digits of the value; each byte adds at most two
	 * digits, as base ≥ 16. */
	uint8_t digits[2 * MULTIBASE_BIGNUM_MAX_BYTES];
	size_t ndigits = 0;
	for (size_t i = zeros; i < len; i++) {
		uint32_t carry = in[i];
		for (size_t j = 0; j < ndigits; j++) {
			carry += (uint32_t)digits[j] << BYTE_BITS;
			digits[j] = (uint8_t)(carry % base);
			carry /= base;
		}
		while (carry > 0) {
			if (ndigits >= sizeof(digits))
				return 0;
			digits[ndigits++] = (uint8_t)(carry % base);
			carry /= base;
		}
	}

	size_t text_len = zeros + ndigits;
	if (out_size == 0 || text_len > out_size - 1)
		return 0;
	if (zeros > 0)
		memset(out, alphabet[0], zeros);
	for (size_t j = 0; j < ndigits; j++)
		out[zeros + j] = alphabet[digits[ndigits - 1 - j]];
	out[text_len] = '\0';
	return text_len;
}

/* Base `base` digits → bytes, leading zero digits → leading zero bytes. */
static ssize_t bignum_decode(uint8_t *out, size_t out_size, const char *in,
			     size_t len, unsigned base,
			     int (*value)(unsigned char))
{
	if (len > MULTIBASE_BIGNUM_MAX_CHARS)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (value((unsigned char)in[i]) < 0)
			return -1;
	size_t zeros = 0;
	while (zeros < len && value((unsigned char)in[zeros]) == 0)
		zeros++;

	/* Little-endian bytes of the value; each digit adds at most one byte,
	 * as base < 256. */
	uint8_t bytes[MULTIBASE_BIGNUM_MAX_CHARS];
	size_t nbytes = 0;
	for (size_t i = zeros; i < len; i++) {
		uint32_t carry = (uint32_t)value((unsigned char)in[i]);
		for (size_t j = 0; j < nbytes; j++) {
			carry += (uint32_t)bytes[j] * base;
			bytes[j] = (uint8_t)carry;
			carry >>= BYTE_BITS;
		}
		while (carry > 0) {
			if (nbytes >= sizeof(bytes))
				return -1;
			bytes[nbytes++] = (uint8_t)carry;
			carry >>= BYTE_BITS;
		}
	}

	size_t total = zeros + nbytes;
	if (total > out_size)
		return -2;
	if (zeros > 0)
		memset(out, 0, zeros);
	for (size_t j = 0; j < nbytes; j++)
		out[zeros + j] = bytes[nbytes - 1 - j];
	return (ssize_t)total;
}

size_t base36_encode(char *out, size_t out_size, const uint8_t *in, size_t len)
{
	return bignum_encode(out, out_size, in, len, BASE36, base36_alphabet);
}

ssize_t base36_decode(uint8_t *out, size_t out_size, const char *in,
		      size_t len)
{
	return bignum_decode(out, out_size, in, len, BASE36, base36_value);
}

size_t base58btc_encode(char *out, size_t out_size, const uint8_t *in,
			size_t len)
{
	return bignum_encode(out, out_size, in, len, BASE58,
			     base58btc_alphabet);
}

ssize_t base58btc_decode(uint8_t *out, size_t out_size, const char *in,
			 size_t len)
{
	return bignum_decode(out, out_size, in, len, BASE58, base58btc_value);
}

size_t multibase_encode(char prefix, char *out, size_t out_size,
			const uint8_t *in, size_t len)
{
	size_t (*enc)(char *, size_t, const uint8_t *, size_t);
	switch (prefix) {
	case MULTIBASE_BASE32:
		enc = base32_encode;
		break;
	case MULTIBASE_BASE36:
		enc = base36_encode;
		break;
	case MULTIBASE_BASE58BTC:
		enc = base58btc_encode;
		break;
	default:
		return 0;
	}
	/* Room for the prefix and the NUL at least. */
	if (out_size < 2)
		return 0;
	size_t n = enc(out + 1, out_size - 1, in, len);
	/* 0 from a non-empty input means out was too small. */
	if (n == 0 && len > 0)
		return 0;
	out[0] = prefix;
	return n + 1;
}

ssize_t multibase_decode(uint8_t *out, size_t out_size, const char *in,
			 size_t len)
{
	if (len == 0)
		return -1;
	switch (in[0]) {
	case MULTIBASE_BASE32:
	case MULTIBASE_BASE32_UPPER:
		return base32_decode(out, out_size, in + 1, len - 1);
	case MULTIBASE_BASE36:
	case MULTIBASE_BASE36_UPPER:
		return base36_decode(out, out_size, in + 1, len - 1);
	case MULTIBASE_BASE58BTC:
		return base58btc_decode(out, out_size, in + 1, len - 1);
	default:
		return -1;
	}
}
