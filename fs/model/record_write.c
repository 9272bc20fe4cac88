/*
 * fs/model/record_write.c — the text of append and content records,
 * written straight into one buffer (record_internal.h).
 *
 * Why not jansson: measured with bench/journal_record, jansson's path
 * made the text of a 4 KiB append in ~130 µs of CPU, 16 times the seal
 * of the same bytes: the base64 text was made, copied by json_string
 * (which checks it as UTF-8 byte by byte), walked again byte by byte by
 * json_dumps' escaping into a growing buffer, and every buffer freed was
 * wiped whole first (seal_init's allocator).  Here the size is known up
 * front: the fixed keys are copied, the integers formatted, the bytes
 * base64-encoded in place, once.  The shapes are fixed; anything else
 * stays on jansson (record.c).
 */
#include "fs/model/record_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ipfs/cid.h"

/* The most characters a JSON integer here takes: "-9223372036854775808". */
#define INT_TEXT_MAX 20

/* The fixed parts, in output order (record_internal.h). */
#define APPEND_OP "{\"op\":\"append\",\"time\":"
#define CONTENT_OP "{\"op\":\"content\",\"time\":"
#define K_INO ",\"ino\":"
#define K_OFF ",\"off\":"
#define K_DATA ",\"data\":\""
#define K_MTIME_Q "\",\"mtime\":" /* after the data's closing quote */
#define K_MTIME ",\"mtime\":"
#define K_SIZE ",\"size\":"
#define K_CID ",\"cid\":\""
#define K_KEY "\",\"key\":\""
#define K_DEPTH "\",\"depth\":"
#define END "}"
#define LIT_LEN(s) (sizeof(s) - 1)

static char *put_lit(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}
#define PUT(p, s) put_lit(p, s, LIT_LEN(s))

/* v in decimal, as jansson writes a JSON integer ("%lld"). */
static char *put_int(char *p, int64_t v)
{
	char tmp[INT_TEXT_MAX];
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0;
	do {
		tmp[sizeof(tmp) - ++n] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*p++ = '-';
	return put_lit(p, tmp + sizeof(tmp) - n, n);
}

/*
 * One 6-bit value as its base64url character, without branches or table
 * lookups on it (the bytes are mail: nothing secret-dependent in timing),
 * as libsodium's encoder does, but inline: libsodium calls a function per
 * character, which was 3.6 times the seal of a 4 KiB append.  Ranges:
 * 0–25 'A'–'Z', 26–51 'a'–'z', 52–61 '0'–'9', 62 '-', 63 '_'; each
 * (K - x) >> 8 is all ones exactly when x > K.
 */
static inline char b64url_char(unsigned x)
{
	unsigned c = x + 'A';
	c += ((25u - x) >> 8) & 6u;  /* from 26: 'a' + (x - 26) */
	c -= ((51u - x) >> 8) & 75u; /* from 52: '0' + (x - 52) */
	c -= ((61u - x) >> 8) & 13u; /* 62: '-' */
	c += ((62u - x) >> 8) & 49u; /* 63: '_' */
	return (char)c;
}

/* b[0..n) in base64url without padding at p: the text of
 * sodium_bin2base64(…, sodium_base64_VARIANT_URLSAFE_NO_PADDING), without
 * its NUL.  Returns the end. */
static char *put_b64(char *p, const uint8_t *b, size_t n)
{
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 |
			     b[i + 2];
		p[0] = b64url_char(v >> 18);
		p[1] = b64url_char((v >> 12) & 63);
		p[2] = b64url_char((v >> 6) & 63);
		p[3] = b64url_char(v & 63);
		p += 4;
	}
	if (i < n) {
		uint32_t v = (uint32_t)b[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)b[i + 1] << 8;
		*p++ = b64url_char(v >> 18);
		*p++ = b64url_char((v >> 12) & 63);
		if (i + 1 < n)
			*p++ = b64url_char((v >> 6) & 63);
	}
	return p;
}

/* The text's end: "}" and the NUL; its length to *len. */
static void finish(char *start, char *p, char **json, size_t *len)
{
	p = PUT(p, END);
	*p = '\0';
	*json = start;
	*len = (size_t)(p - start);
}

int record_write_append(const struct record *r, char **json, size_t *len)
{
	size_t b64 = sodium_base64_ENCODED_LEN(r->data_len, RECORD_B64);
	size_t cap = LIT_LEN(APPEND_OP K_INO K_OFF K_DATA K_MTIME_Q END) +
		     4 * INT_TEXT_MAX + b64;
	char *text = malloc(cap), *p = text;
	if (!text)
		return -ENOMEM;
	p = PUT(p, APPEND_OP);
	p = put_int(p, record_ts_ns(&r->time));
	p = PUT(p, K_INO);
	p = put_int(p, (int64_t)r->ino);
	p = PUT(p, K_OFF);
	p = put_int(p, (int64_t)r->off);
	p = PUT(p, K_DATA);
	p = put_b64(p, r->data, r->data_len);
	p = PUT(p, K_MTIME_Q);
	p = put_int(p, record_ts_ns(&r->mtime));
	finish(text, p, json, len);
	return 0;
}

int record_write_content(const struct record *r, char **json, size_t *len)
{
	const struct obj_ref *c = &r->content;
	char cid[CID_TEXT_MAX];
	size_t cid_len = 0;
	size_t b64 = sodium_base64_ENCODED_LEN(IPMD_KEY_BYTES, RECORD_B64);
	if (c->size > 0) {
		if (cid_format(&c->cid, cid, sizeof(cid)) != 0)
			return -EINVAL;
		cid_len = strlen(cid);
	}
	size_t cap = LIT_LEN(CONTENT_OP K_INO K_MTIME K_SIZE K_CID K_KEY
				     K_DEPTH END) +
		     5 * INT_TEXT_MAX + cid_len + b64;
	char *text = malloc(cap), *p = text;
	if (!text)
		return -ENOMEM;
	p = PUT(p, CONTENT_OP);
	p = put_int(p, record_ts_ns(&r->time));
	p = PUT(p, K_INO);
	p = put_int(p, (int64_t)r->ino);
	p = PUT(p, K_MTIME);
	p = put_int(p, record_ts_ns(&r->mtime));
	p = PUT(p, K_SIZE);
	p = put_int(p, (int64_t)c->size);
	if (c->size > 0) {
		p = PUT(p, K_CID);
		p = put_lit(p, cid, cid_len);
		p = PUT(p, K_KEY);
		p = put_b64(p, c->key, IPMD_KEY_BYTES);
		p = PUT(p, K_DEPTH);
		p = put_int(p, c->depth);
	}
	finish(text, p, json, len);
	return 0;
}
