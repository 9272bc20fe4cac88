/*
 * ipfs/cbor.h — the little DAG-CBOR that CAR headers and IPNS records
 * need: heads, text and byte strings, into a bounded buffer.
 *
 * Heads use the shortest form (RFC 8949 §4.2.1, as DAG-CBOR requires), so
 * equal values give equal bytes.  The writer never overflows: a write that
 * does not fit turns ok false and every later write does nothing, so a
 * builder checks ok once at the end.  Map keys are not sorted here; the
 * caller writes them in DAG-CBOR order (length, then bytes).
 */
#ifndef IPMD_IPFS_CBOR_H
#define IPMD_IPFS_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Major types (RFC 8949 §3.1). */
enum cbor_major {
	CBOR_UINT = 0,
	CBOR_BYTES = 2,
	CBOR_TEXT = 3,
	CBOR_ARRAY = 4,
	CBOR_MAP = 5,
	CBOR_TAG = 6,
};

/* The tag of a CID in DAG-CBOR (multicodec table: "cbor tag 42"). */
#define CBOR_TAG_CID 42

/* Invariant: len <= cap; p[0..len) is what was written while ok held. */
struct cbor_out {
	uint8_t *p;
	size_t len, cap;
	bool ok;
};

#define CBOR_OUT_INIT(buf, size) {.p = (buf), .cap = (size), .ok = true}

/* n raw bytes (framing around the CBOR, or a prefix inside a string). */
void cbor_raw(struct cbor_out *o, const void *b, size_t n);

/* A head: major type and argument (a count, a length or the value). */
void cbor_head(struct cbor_out *o, enum cbor_major major, uint64_t v);

/* A text string (s's bytes, NUL excluded) and a byte string. */
void cbor_text(struct cbor_out *o, const char *s);
void cbor_bytes(struct cbor_out *o, const void *b, size_t n);

#endif
