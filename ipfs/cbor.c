/* ipfs/cbor.c — DAG-CBOR heads and strings; see cbor.h. */
#include "ipfs/cbor.h"

#include <string.h>

/* Additional-information values for a 1-, 2-, 4- or 8-byte argument. */
#define AI_1 24
#define AI_2 25
#define AI_4 26
#define AI_8 27
#define HEAD_MAX 9

void cbor_raw(struct cbor_out *o, const void *b, size_t n)
{
	if (!o->ok || n > o->cap - o->len) {
		o->ok = false;
		return;
	}
	if (n)
		memcpy(o->p + o->len, b, n);
	o->len += n;
}

void cbor_head(struct cbor_out *o, enum cbor_major major, uint64_t v)
{
	uint8_t b[HEAD_MAX];
	unsigned bytes, ai;

	if (v < AI_1) {
		b[0] = (uint8_t)((unsigned)major << 5 | v);
		cbor_raw(o, b, 1);
		return;
	}
	if (v <= 0xff)
		bytes = 1, ai = AI_1;
	else if (v <= 0xffff)
		bytes = 2, ai = AI_2;
	else if (v <= 0xffffffffull)
		bytes = 4, ai = AI_4;
	else
		bytes = 8, ai = AI_8;
	b[0] = (uint8_t)((unsigned)major << 5 | ai);
	for (unsigned i = 0; i < bytes; i++)
		b[1 + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	cbor_raw(o, b, 1 + bytes);
}

void cbor_text(struct cbor_out *o, const char *s)
{
	size_t n = strlen(s);
	cbor_head(o, CBOR_TEXT, n);
	cbor_raw(o, s, n);
}

void cbor_bytes(struct cbor_out *o, const void *b, size_t n)
{
	cbor_head(o, CBOR_BYTES, n);
	cbor_raw(o, b, n);
}
