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
#include "util/endian.h"

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
 * Base64url without branches or table lookups on the bytes (they are
 * mail: nothing in the timing may depend on them), as libsodium's
 * encoder, but eight characters at a time in one 64-bit word (a byte
 * lane each) where libsodium calls a function per character: that call
 * was 3.6 times the seal of a 4 KiB append, this loop a third of it.
 *
 * A lane holds a 6-bit value x; (x + 128 - K) has its top bit set
 * exactly when x >= K (at most 63 + 128: no carry out of the lane), so
 * each range's offset is added or taken by a 0/1 mask times a constant:
 * 0–25 'A' + x, 26–51 'a' + (x - 26), 52–61 '0' + (x - 52), 62 '-',
 * 63 '_'.  The additions stay below 256 in a lane (63 + 65 + 6 + 49)
 * and the subtraction leaves at least '-': no borrow between lanes.
 */
#define LANES 0x0101010101010101ull
#define AT_LEAST(x, k) ((((x) + (128 - (k)) * LANES) >> 7) & LANES)

static uint64_t b64url_lanes(uint64_t x)
{
	uint64_t up = x + 'A' * LANES + 6 * AT_LEAST(x, 26) +
		      49 * AT_LEAST(x, 63);
	return up - (75 * AT_LEAST(x, 52) + 13 * AT_LEAST(x, 62));
}

/* Six bytes, big-endian in v's low 48 bits, as eight 6-bit values, the
 * first in the top byte: halves, then pairs, then single values moved
 * apart into their lanes. */
static uint64_t spread_sextets(uint64_t v)
{
	v = ((v & 0xFFFFFF000000ull) << 8) | (v & 0xFFFFFFull);
	v = ((v & 0x00FFF00000FFF000ull) << 4) | (v & 0x00000FFF00000FFFull);
	return ((v & 0x0FC00FC00FC00FC0ull) << 2) | (v & 0x003F003F003F003Full);
}

/* The last 1–5 bytes: 2, 3 or 4 characters per 1, 2 or 3 bytes. */
static char *put_b64_tail(char *p, const uint8_t *b, size_t n)
{
	uint8_t last[6] = {0};
	char chars[8];
	memcpy(last, b, n);
	uint64_t v = (uint64_t)get_be32(last) << 16 | get_be16(last + 4);
	put_be64((uint8_t *)chars, b64url_lanes(spread_sextets(v)));
	size_t out = (n * 8 + 5) / 6; /* no padding */
	memcpy(p, chars, out);
	sodium_memzero(last, sizeof(last));
	sodium_memzero(chars, sizeof(chars));
	return p + out;
}

/* b[0..n) in base64url without padding at p: the text of
 * sodium_bin2base64(…, sodium_base64_VARIANT_URLSAFE_NO_PADDING), without
 * its NUL.  Returns the end. */
static char *put_b64(char *p, const uint8_t *b, size_t n)
{
	size_t i = 0;
	for (; i + 6 <= n; i += 6, p += 8) {
		uint64_t v = (uint64_t)get_be32(b + i) << 16 |
			     get_be16(b + i + 4);
		put_be64((uint8_t *)p, b64url_lanes(spread_sextets(v)));
	}
	return i < n ? put_b64_tail(p, b + i, n - i) : p;
}

/* A text for r of the head below and up to rest more bytes (the "}" and
 * the NUL included), malloc'ed to *text, its head written:
 * {"op":"<op>","time":NS,"ino":I.  Where to go on, or NULL (no memory). */
static char *start(char **text, const char *head, size_t head_len,
		   const struct record *r, size_t rest)
{
	char *p = *text = malloc(head_len + LIT_LEN(K_INO) +
				 2 * INT_TEXT_MAX + rest);
	if (!p)
		return NULL;
	p = put_lit(p, head, head_len);
	p = put_int(p, record_ts_ns(&r->time));
	p = PUT(p, K_INO);
	return put_int(p, (int64_t)r->ino);
}

/* The text's end: "}" and the NUL; its length to *len. */
static void finish(char *text, char *p, char **json, size_t *len)
{
	p = PUT(p, END);
	*p = '\0';
	*json = text;
	*len = (size_t)(p - text);
}

int record_write_append(const struct record *r, char **json, size_t *len)
{
	size_t b64 = sodium_base64_ENCODED_LEN(r->data_len, RECORD_B64);
	char *text;
	char *p = start(&text, APPEND_OP, LIT_LEN(APPEND_OP), r,
			LIT_LEN(K_OFF K_DATA K_MTIME_Q END) +
				2 * INT_TEXT_MAX + b64);
	if (!p)
		return -ENOMEM;
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
	char *text;
	char *p = start(&text, CONTENT_OP, LIT_LEN(CONTENT_OP), r,
			LIT_LEN(K_MTIME K_SIZE K_CID K_KEY K_DEPTH END) +
				3 * INT_TEXT_MAX + cid_len + b64);
	if (!p)
		return -ENOMEM;
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
