/* fs/model/manifest_write.c — the JSON writer of directory nodes (see
 * manifest.h for the format, manifest_internal.h for the pieces).
 *
 * The JSON is written here by hand, not through jansson's object model: a
 * 100,000-message folder is ~34 MB of entries, and building (then freeing)
 * a jansson object with a hash table per entry took seconds where mount has
 * one.  The bytes are exactly what jansson writes with JSON_COMPACT |
 * JSON_SORT_KEYS (tests/unit/test_manifest.c checks it), so any JSON tool
 * reads them, and equal trees give equal blocks and CIDs.
 */
#include "fs/model/manifest_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "crypto/seal.h"
#include "util/wipe.h"

#define BLOCK_PLAIN_MAX (BLOCK_MAX_BYTES - IPMD_SEAL_OVERHEAD)
#define OUT_INITIAL (64 * 1024)
#define INT_TEXT_MAX 24 /* "-9223372036854775808" and a NUL */

/* Clamped: a time past ±292 years from the epoch can't be stored exactly. */
static int64_t ts_to_ns(const struct timespec *ts)
{
	long long nsec = ts->tv_nsec;

	if (nsec < 0)
		nsec = 0;
	if (nsec >= NS_PER_S)
		nsec = NS_PER_S - 1;
	if (ts->tv_sec > INT64_MAX / NS_PER_S - 1)
		return INT64_MAX;
	if (ts->tv_sec < INT64_MIN / NS_PER_S + 1)
		return INT64_MIN;
	return (int64_t)ts->tv_sec * NS_PER_S + nsec;
}

static bool out_room(struct out *o, size_t n)
{
	size_t cap;
	char *p;

	if (o->rc != 0)
		return false;
	if (n > BLOCK_PLAIN_MAX - o->len) {
		o->rc = -EFBIG;
		return false;
	}
	if (o->len + n <= o->cap)
		return true;
	cap = o->cap ? o->cap : OUT_INITIAL;
	while (cap < o->len + n)
		cap *= 2;
	if (cap > BLOCK_PLAIN_MAX)
		cap = BLOCK_PLAIN_MAX;
	/* the manifest's plaintext: the old block wiped, not left to
	 * realloc's move */
	p = wipe_realloc(o->p, o->len, cap);
	if (!p) {
		o->rc = -ENOMEM;
		return false;
	}
	o->p = p;
	o->cap = cap;
	return true;
}

void mf_out_mem(struct out *o, const void *p, size_t n)
{
	if (out_room(o, n)) {
		memcpy(o->p + o->len, p, n);
		o->len += n;
	}
}

void mf_out_lit(struct out *o, const char *s)
{
	mf_out_mem(o, s, strlen(s));
}

void mf_out_int(struct out *o, long long v)
{
	char tmp[INT_TEXT_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%lld", v);
	mf_out_mem(o, tmp, (size_t)n);
}

/* A string as jansson escapes it: '"', '\\', control characters; UTF-8
 * (already checked) as it is. */
static void out_str(struct out *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0;

	mf_out_mem(o, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)s[i];
		char esc[6];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		mf_out_mem(o, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xF];
			n = 6;
		}
		mf_out_mem(o, esc, n);
	}
	mf_out_mem(o, s + run, len - run);
	mf_out_mem(o, "\"", 1);
}

void mf_out_b64(struct out *o, const void *p, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, B64_VARIANT);

	/* Room for the quotes and libsodium's NUL. */
	if (!out_room(o, n + 2))
		return;
	o->p[o->len++] = '"';
	sodium_bin2base64(o->p + o->len, n, p, len, B64_VARIANT);
	o->len += n - 1;
	o->p[o->len++] = '"';
}

void mf_out_cid(struct out *o, const struct cid *c)
{
	char text[CID_TEXT_MAX];

	if (cid_format(c, text, sizeof(text)) != 0) {
		if (o->rc == 0)
			o->rc = -EIO;
		return;
	}
	out_str(o, text, strlen(text));
}

/* ",\"key\":" (or without the comma for the first member). */
void mf_out_key(struct out *o, const char *key, bool first)
{
	if (!first)
		mf_out_mem(o, ",", 1);
	out_str(o, key, strlen(key));
	mf_out_mem(o, ":", 1);
}

/* A name or target: a string if it is UTF-8, else base64 under bkey.  The
 * two keys sort differently, so the caller places each. */
static void out_bytes_b(struct out *o, const char *bkey, const char *p,
			size_t len)
{
	if (!mf_utf8_valid(p, len)) {
		mf_out_key(o, bkey, false);
		mf_out_b64(o, p, len);
	}
}

static void out_bytes_s(struct out *o, const char *key, const char *p,
			size_t len)
{
	if (mf_utf8_valid(p, len)) {
		mf_out_key(o, key, false);
		out_str(o, p, len);
	}
}

void mf_out_version(struct out *o)
{
	mf_out_key(o, "v", false);
	mf_out_int(o, o->special ? MANIFEST_VERSION_SPECIAL : MANIFEST_VERSION);
}

/* A special file's "rdev" (a device node's only), and the mark that makes
 * its block a version 2 one.  Sorted between "name" and "size". */
static void out_special(struct out *o, const struct inode *in)
{
	if (!tree_is_special(in->mode))
		return;
	o->special = true;
	if (tree_has_rdev(in->mode)) {
		mf_out_key(o, "rdev", false);
		mf_out_int(o, (long long)in->rdev);
	}
}

/*
 * An ENTRY (name != NULL) or "self" (name == NULL).  Members in sorted
 * order: atime bname btarget cid ctime depth gid ino key mode mtime name
 * rdev size target uid.
 */
int mf_out_entry(struct out *o, const struct inode *in, const char *name,
		 size_t name_len)
{
	bool reg = S_ISREG(in->mode), dir = S_ISDIR(in->mode);
	uint64_t size = reg ? in->content.size : in->size;
	const struct cid *cid = NULL;
	const uint8_t *key = NULL;
	size_t tlen = 0;

	if (in->ino > INT64_MAX || size > INT64_MAX || in->rdev > INT64_MAX)
		return -EOVERFLOW;
	if (name && reg && size > 0) {
		/* A file's content is sealed before it reaches the tree. */
		if (in->content.cid.len == 0)
			return -EIO;
		cid = &in->content.cid;
		key = in->content.key;
	} else if (name && dir) {
		/* Children are sealed first: they are deeper. */
		if (!in->dir->shards.node_valid)
			return -EIO;
		cid = &in->dir->shards.node.cid;
		key = in->dir->shards.node.key;
	} else if (name && S_ISLNK(in->mode)) {
		if (!in->target)
			return -EIO;
		tlen = strlen(in->target);
	}

	mf_out_mem(o, "{", 1);
	mf_out_key(o, "atime", true);
	mf_out_int(o, ts_to_ns(&in->atime));
	if (name)
		out_bytes_b(o, "bname", name, name_len);
	if (tlen)
		out_bytes_b(o, "btarget", in->target, tlen);
	if (cid) {
		mf_out_key(o, "cid", false);
		mf_out_cid(o, cid);
	}
	mf_out_key(o, "ctime", false);
	mf_out_int(o, ts_to_ns(&in->ctime));
	if (cid && reg) {
		mf_out_key(o, "depth", false);
		mf_out_int(o, in->content.depth);
	}
	mf_out_key(o, "gid", false);
	mf_out_int(o, in->gid);
	mf_out_key(o, "ino", false);
	mf_out_int(o, (long long)in->ino);
	if (key) {
		mf_out_key(o, "key", false);
		mf_out_b64(o, key, IPMD_KEY_BYTES);
	}
	mf_out_key(o, "mode", false);
	mf_out_int(o, in->mode);
	mf_out_key(o, "mtime", false);
	mf_out_int(o, ts_to_ns(&in->mtime));
	if (name)
		out_bytes_s(o, "name", name, name_len);
	out_special(o, in);
	mf_out_key(o, "size", false);
	mf_out_int(o, (long long)size);
	if (tlen)
		out_bytes_s(o, "target", in->target, tlen);
	mf_out_key(o, "uid", false);
	mf_out_int(o, in->uid);
	mf_out_mem(o, "}", 1);
	return 0;
}
