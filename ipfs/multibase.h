/*
 * ipfs/multibase.h — the multibase encodings ipmaildir speaks.
 *
 *  'b' base32 (RFC 4648 lower case, no padding): CIDv1 text ("bafkrei…")
 *  'k' base36 (lower case): IPNS names ("k51…")
 *  'z' base58btc: what nodes return by default; bare base58btc: CIDv0 "Qm…"
 *
 * Decoders are strict: characters outside the alphabet, impossible trailing
 * bits in base32, and (for base36/base58) leading-zero mismatches are refused.
 * Letters may be in either case in base32 and base36 (prefixes 'B', 'K'), as
 * the multibase spec's case-insensitivity vectors require.
 *
 * base36 and base58btc are quadratic big-number conversions, so they are
 * bounded: text over MULTIBASE_BIGNUM_MAX_CHARS is refused (-1), input over
 * MULTIBASE_BIGNUM_MAX_BYTES is not encoded (0).  Every encoding of at most
 * MULTIBASE_BIGNUM_MAX_BYTES bytes decodes again.
 *
 * Return values: encoders return the text length (without NUL) or 0 if out
 * is too small (an empty input encodes to "" and so also returns 0: give
 * out_size ≥ 1); decoders return the byte length or -1 on bad input and -2 if
 * out is too small.  Output is always NUL terminated by encoders.  On error
 * the contents of out are unspecified.
 */
#ifndef IPMD_IPFS_MULTIBASE_H
#define IPMD_IPFS_MULTIBASE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/attr.h"

#define MULTIBASE_BASE32 'b'
#define MULTIBASE_BASE32_UPPER 'B'
#define MULTIBASE_BASE36 'k'
#define MULTIBASE_BASE36_UPPER 'K'
#define MULTIBASE_BASE58BTC 'z'

#define MULTIBASE_BIGNUM_MAX_CHARS 256
#define MULTIBASE_BIGNUM_MAX_BYTES 160

/* Raw alphabets, no multibase prefix. */
size_t base32_encode(char *out, size_t out_size, const uint8_t *in, size_t len);
IPMD_MUST_CHECK
ssize_t base32_decode(uint8_t *out, size_t out_size, const char *in,
		      size_t len);
size_t base36_encode(char *out, size_t out_size, const uint8_t *in, size_t len);
IPMD_MUST_CHECK
ssize_t base36_decode(uint8_t *out, size_t out_size, const char *in,
		      size_t len);
size_t base58btc_encode(char *out, size_t out_size, const uint8_t *in,
			size_t len);
IPMD_MUST_CHECK
ssize_t base58btc_decode(uint8_t *out, size_t out_size, const char *in,
			 size_t len);

/* With prefix: encode with the given prefix char ('b', 'k', 'z'). */
size_t multibase_encode(char prefix, char *out, size_t out_size,
			const uint8_t *in, size_t len);
/* Decode any of 'b', 'B', 'k', 'K', 'z'. */
IPMD_MUST_CHECK
ssize_t multibase_decode(uint8_t *out, size_t out_size, const char *in,
			 size_t len);

#endif
