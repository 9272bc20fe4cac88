/* ipfs/varint.c — see varint.h. */
#include "ipfs/varint.h"

/* Each byte carries 7 value bits under a continuation flag, so nine bytes
 * hold exactly the 63 bits the spec allows. */
#define VARINT_GROUP_BITS 7
#define VARINT_CONT 0x80u
#define VARINT_GROUP_MASK 0x7fu
#define VARINT_VALUE_BITS (VARINT_GROUP_BITS * VARINT_MAX_BYTES)

size_t varint_encode(uint64_t v, uint8_t out[VARINT_MAX_BYTES])
{
	if (v >> VARINT_VALUE_BITS)
		return 0;
	size_t n = 0;
	while (v > VARINT_GROUP_MASK) {
		out[n++] = (uint8_t)((v & VARINT_GROUP_MASK) | VARINT_CONT);
		v >>= VARINT_GROUP_BITS;
	}
	out[n++] = (uint8_t)v;
	return n;
}

size_t varint_decode(const uint8_t *in, size_t len, uint64_t *v)
{
	uint64_t acc = 0;
	for (size_t i = 0; i < len && i < VARINT_MAX_BYTES; i++) {
		uint8_t b = in[i];
		acc |= (uint64_t)(b & VARINT_GROUP_MASK)
		       << (VARINT_GROUP_BITS * i);
		if (b & VARINT_CONT)
			continue;
		/* A zero last group after the first byte means the same value
		 * had a shorter encoding: refuse, so encodings are unique. */
		if (b == 0 && i > 0)
			return 0;
		*v = acc;
		return i + 1;
	}
	/* Truncated, or a tenth byte would be needed. */
	return 0;
}
