/* tests/unit/test_record_write.c — fs/model/record_write.c: the append and
 * content records record_encode writes without jansson are, byte for byte,
 * the text jansson's path wrote for the same record (so replay, older
 * binaries and fsck see no difference), and decode back to that record.
 * Random records with every field at its edges. */
#include "fs/model/record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/seal.h"
#include "ipfs/cid.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

#define RECORDS 4000
#define NS_PER_SEC 1000000000LL
#define U63_MAX ((uint64_t)INT64_MAX)
/* The first and last seconds record_encode takes (record.h). */
#define SEC_MIN (INT64_MIN / NS_PER_SEC)
#define SEC_MAX (INT64_MAX / NS_PER_SEC)
#define NSEC_AT_SEC_MAX (INT64_MAX % NS_PER_SEC)
#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

/* The harness's seeded stream: every run the same records. */
static uint64_t next(struct harness_rng *s)
{
	return harness_rnd(s);
}

static uint64_t pick_u63(struct harness_rng *s)
{
	switch (next(s) % 5) {
	case 0: return 0;
	case 1: return 1;
	case 2: return U63_MAX;
	case 3: return U63_MAX - next(s) % 1000;
	default: return next(s) >> (1 + next(s) % 63);
	}
}

/* A time record_encode takes: the edges of the ±292 years, around 0 and
 * -1 ns, or anywhere in between. */
static struct timespec pick_time(struct harness_rng *s)
{
	struct timespec t = {.tv_nsec = (long)(next(s) % NS_PER_SEC)};
	switch (next(s) % 6) {
	case 0: t.tv_sec = SEC_MIN; break;
	case 1:
		t.tv_sec = SEC_MAX;
		t.tv_nsec %= NSEC_AT_SEC_MAX + 1;
		break;
	case 2: t.tv_sec = -1; break;
	case 3: t.tv_sec = 0; break;
	case 4:
		t.tv_sec = (time_t)(next(s) % (uint64_t)SEC_MAX);
		if (next(s) & 1)
			t.tv_sec = -t.tv_sec;
		break;
	default: t.tv_sec = 1765000000 + (time_t)(next(s) % 1000);
	}
	return t;
}

static size_t pick_len(struct harness_rng *s)
{
	static const size_t edge[] = {1, 2, 3, 4, 5, 6, RECORD_APPEND_MAX - 1,
				      RECORD_APPEND_MAX};
	if (next(s) % 3)
		return edge[next(s) % (sizeof(edge) / sizeof(edge[0]))];
	return 1 + next(s) % RECORD_APPEND_MAX;
}

/* Bytes of every value, or runs of the ones whose base64 is the last
 * characters of the alphabet ('-', '_') or the first ('A'). */
static void fill(uint8_t *b, size_t n, struct harness_rng *s)
{
	unsigned how = (unsigned)(next(s) % 4);
	for (size_t i = 0; i < n; i++)
		b[i] = how == 0	  ? 0xff
		       : how == 1 ? 0x00
		       : how == 2 ? (uint8_t)(0xf8 | (i % 8))
				  : (uint8_t)next(s);
}

static int64_t ns_of(struct timespec t)
{
	return (int64_t)t.tv_sec * NS_PER_SEC + t.tv_nsec;
}

static void set_int(json_t *o, const char *k, int64_t v)
{
	if (json_object_set_new(o, k, json_integer((json_int_t)v)))
		harness_bail("json_object_set_new");
}

static void set_b64(json_t *o, const char *k, const uint8_t *b, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, B64);
	char *text = malloc(cap);
	if (!text)
		harness_bail("malloc");
	sodium_bin2base64(text, cap, b, n, B64);
	json_object_set_new(o, k, json_string(text));
	free(text);
}

/* The text record.c's jansson path wrote for an append or content record
 * (at 8c7f4f1): an object, members in the order they were set,
 * json_dumps(JSON_COMPACT). */
static char *jansson_text(const struct record *r)
{
	json_t *o = json_object();
	bool append = r->op == REC_APPEND;
	json_object_set_new(o, "op", json_string(append ? "append" : "content"));
	set_int(o, "time", ns_of(r->time));
	set_int(o, "ino", (int64_t)r->ino);
	if (append) {
		set_int(o, "off", (int64_t)r->off);
		set_b64(o, "data", r->data, r->data_len);
		set_int(o, "mtime", ns_of(r->mtime));
	} else {
		set_int(o, "mtime", ns_of(r->mtime));
		set_int(o, "size", (int64_t)r->content.size);
		if (r->content.size > 0) {
			char cid[CID_TEXT_MAX];
			if (cid_format(&r->content.cid, cid, sizeof(cid)))
				harness_bail("cid_format");
			json_object_set_new(o, "cid", json_string(cid));
			set_b64(o, "key", r->content.key, IPMD_KEY_BYTES);
			set_int(o, "depth", r->content.depth);
		}
	}
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		harness_bail("json_dumps");
	return text;
}

static void random_append(struct record *r, uint8_t *data,
			  struct harness_rng *s)
{
	memset(r, 0, sizeof(*r));
	r->op = REC_APPEND;
	r->ino = pick_u63(s);
	r->data_len = pick_len(s);
	fill(data, r->data_len, s);
	r->data = data;
	r->off = pick_u63(s);
	if (r->off > U63_MAX - r->data_len) /* the end must fit too */
		r->off = U63_MAX - r->data_len - next(s) % 2;
	r->time = pick_time(s);
	r->mtime = pick_time(s);
}

static void random_content(struct record *r, struct harness_rng *s)
{
	uint8_t block[64];
	memset(r, 0, sizeof(*r));
	r->op = REC_CONTENT;
	r->ino = pick_u63(s);
	r->time = pick_time(s);
	r->mtime = pick_time(s);
	/* A size of 0 with a cid and key: only the size is written. */
	r->content.size = next(s) % 4 == 0 ? 0 : pick_u63(s);
	fill(block, sizeof(block), s);
	cid_of_raw_block(&r->content.cid, block, 1 + next(s) % sizeof(block));
	fill(r->content.key, IPMD_KEY_BYTES, s);
	r->content.depth = (uint8_t)(next(s) % (OBJ_DEPTH_MAX + 1));
}

static bool ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* What record_decode gives back is r (an empty ref for content of size 0,
 * as record.h says replay sees it). */
static bool decodes_to(const char *json, size_t len, const struct record *r)
{
	struct record d;
	struct record_text tb;
	bool same = record_decode((const uint8_t *)json, len, &d, &tb) == 0 &&
		    d.op == r->op && d.ino == r->ino &&
		    ts_eq(d.time, r->time) && ts_eq(d.mtime, r->mtime);
	if (same && r->op == REC_APPEND)
		same = d.off == r->off && d.data_len == r->data_len &&
		       !memcmp(d.data, r->data, r->data_len);
	if (same && r->op == REC_CONTENT) {
		struct obj_ref want = {.size = r->content.size};
		if (want.size > 0)
			want = r->content;
		same = d.content.size == want.size &&
		       cid_equal(&d.content.cid, &want.cid) &&
		       !memcmp(d.content.key, want.key, IPMD_KEY_BYTES) &&
		       d.content.depth == want.depth;
	}
	record_text_done(&tb);
	return same;
}

/* Encode r: the text must be jansson's, byte for byte, and decode to r.
 * Counts what differs; shows the first few. */
static void check_one(const struct record *r, unsigned i, unsigned *bad,
		      unsigned *unreadable)
{
	char *json = NULL;
	size_t len = 0;
	char *want = jansson_text(r);
	int e = record_encode(r, &json, &len);
	if (e || len != strlen(want) || memcmp(json, want, len) ||
	    json[len] != '\0') {
		if ((*bad)++ < 3)
			tap_diag("record %u: encode %d\n got:  %.200s\n want: %.200s",
			     i, e, e ? "" : json, want);
	} else if (!decodes_to(json, len, r)) {
		if ((*unreadable)++ < 3)
			tap_diag("record %u does not decode back: %.200s", i, json);
	}
	free(json);
	free(want);
}

static void test_append_bytes(void)
{
	static uint8_t data[RECORD_APPEND_MAX];
	struct harness_rng s = {1};
	unsigned bad = 0, unreadable = 0;
	struct record r;
	for (unsigned i = 0; i < RECORDS; i++) {
		random_append(&r, data, &s);
		check_one(&r, i, &bad, &unreadable);
	}
	/* Every length up to 3 blocks of 64 bytes: each base64 tail. */
	for (size_t n = 1; n <= 3 * 64; n++) {
		random_append(&r, data, &s);
		r.data_len = n;
		r.off = n;
		check_one(&r, RECORDS + (unsigned)n, &bad, &unreadable);
	}
	is_int(bad, 0, "append: %u random records (and every length up to "
	       "192) are jansson's text, byte for byte", RECORDS + 3 * 64);
	is_int(unreadable, 0, "append: each decodes back to its record");
}

static void test_content_bytes(void)
{
	struct harness_rng s = {2};
	unsigned bad = 0, unreadable = 0, empty = 0;
	struct record r;
	for (unsigned i = 0; i < RECORDS; i++) {
		random_content(&r, &s);
		empty += r.content.size == 0;
		check_one(&r, i, &bad, &unreadable);
	}
	ok(empty > 0 && empty < RECORDS, "content: %u of them of size 0",
	   empty);
	is_int(bad, 0, "content: %u random records are jansson's text, byte "
	       "for byte", RECORDS);
	is_int(unreadable, 0, "content: each decodes back to its record");
}

/* The fast path sits behind check_record: what the generic path refused
 * at the edges it still refuses, and one step inside is taken. */
static void test_edges(void)
{
	uint8_t data[2] = {0xfb, 0xff};
	char *json = NULL;
	size_t len;
	struct record r = {.op = REC_APPEND, .ino = U63_MAX, .data = data,
			   .data_len = 2, .off = U63_MAX - 2,
			   .time = {SEC_MAX, NSEC_AT_SEC_MAX},
			   .mtime = {SEC_MIN, 0}};
	is_int(record_encode(&r, &json, &len), 0,
	       "append: ino 2^63-1, an end at 2^63-1, the last and first ns");
	is_str(json,
	       "{\"op\":\"append\",\"time\":9223372036854775807,"
	       "\"ino\":9223372036854775807,\"off\":9223372036854775805,"
	       "\"data\":\"-_8\",\"mtime\":-9223372036000000000}",
	       "…written as jansson writes it");
	free(json);
	r.off++;
	is_int(record_encode(&r, &json, &len), -EOVERFLOW,
	       "an end at 2^63: -EOVERFLOW");
	r.off--;
	r.ino++;
	is_int(record_encode(&r, &json, &len), -EINVAL, "ino 2^63: -EINVAL");
	r.ino--;
	r.mtime.tv_nsec = NS_PER_SEC;
	is_int(record_encode(&r, &json, &len), -EOVERFLOW,
	       "an mtime's tv_nsec of 10^9: -EOVERFLOW");
	r.mtime.tv_nsec = 0;
	r.time.tv_nsec++;
	is_int(record_encode(&r, &json, &len), -EOVERFLOW,
	       "a time one ns past 2^63-1: -EOVERFLOW");

	struct record c = {.op = REC_CONTENT, .ino = 7, .time = {1, 2},
			   .mtime = {-1, 999999999},
			   .content = {.size = U63_MAX, .depth = OBJ_DEPTH_MAX}};
	cid_of_raw_block(&c.content.cid, data, sizeof(data));
	is_int(record_encode(&c, &json, &len), 0,
	       "content: size 2^63-1, depth OBJ_DEPTH_MAX");
	free(json);
	c.content.size++;
	is_int(record_encode(&c, &json, &len), -EOVERFLOW,
	       "size 2^63: -EOVERFLOW");
	c.content.size--;
	c.content.depth++;
	is_int(record_encode(&c, &json, &len), -EINVAL,
	       "depth past OBJ_DEPTH_MAX: -EINVAL");
	c.content.depth = 0;
	c.content.cid.len = 0;
	is_int(record_encode(&c, &json, &len), -EINVAL,
	       "a content without a CID: -EINVAL");
	c.content.size = 0;
	is_int(record_encode(&c, &json, &len), 0, "…unless its size is 0");
	is_str(json,
	       "{\"op\":\"content\",\"time\":1000000002,\"ino\":7,"
	       "\"mtime\":-1,\"size\":0}",
	       "…written as the size alone");
	free(json);
}

int main(void)
{
	if (seal_init() != 0) /* jansson's wiping allocator, as a mount */
		harness_bail("seal_init");
	test_append_bytes();
	test_content_bytes();
	test_edges();
	return tap_done();
}
