/*
 * ipfs/varint.h — unsigned varints as multiformats define them.
 *
 * Unsigned LEB128, at most VARINT_MAX_BYTES (9) bytes, value below 2^63,
 * minimally encoded: a decoder refuses an over-long form (a trailing 0x00
 * group), so every value has exactly one encoding and CIDs compare bytewise.
 */
#ifndef IPMD_IPFS_VARINT_H
#define IPMD_IPFS_VARINT_H

#include <stddef.h>
#include <stdint.h>

#include "util/attr.h"

#define VARINT_MAX_BYTES 9

/* Encode v (< 2^63) into out (VARINT_MAX_BYTES); returns bytes written, or 0
 * if v is too large. */
size_t varint_encode(uint64_t v, uint8_t out[VARINT_MAX_BYTES]);

/* Decode from in[0..len); returns bytes consumed (1..9), or 0 if the input is
 * truncated, over-long, non-minimal or ≥ 2^63. */
IPMD_MUST_CHECK
size_t varint_decode(const uint8_t *in, size_t len, uint64_t *v);

#endif
