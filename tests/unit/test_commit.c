/* tests/unit/test_commit.c — signed commits (fs/model/commit.h), the head file
 * (fs/store/head.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/keys.h"
#include "crypto/seal.h"
#include "fs/model/commit.h"
#include "fs/store/head.h"
#include "ipfs/blockstore.h"
#include "ipfs/bs_local.h"
#include "ipfs/cid.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

static struct mailbox_keys k1, k2;

static void fake_cid(struct cid *c, uint64_t seed)
{
	uint8_t data[64];
	tap_fill_random(data, sizeof(data), seed);
	cid_of_raw_block(c, data, sizeof(data));
}

static struct commit sample(uint64_t seq, uint64_t seed)
{
	struct commit c;
	memset(&c, 0, sizeof(c));
	c.seq = seq;
	if (seq > 1)
		fake_cid(&c.parent, seed + 1);
	fake_cid(&c.tree.cid, seed + 2);
	tap_fill_random(c.tree.key, sizeof(c.tree.key), seed + 3);
	c.time_ns = 1700000000123456789LL;
	c.next_ino = 12345;
	c.messages = 100000;
	c.folders = 7;
	c.added = 3;
	c.removed = 2;
	c.renamed = 1;
	return c;
}

static int same_commit(const struct commit *a, const struct commit *b)
{
	return a->seq == b->seq && cid_equal(&a->parent, &b->parent) &&
	       cid_equal(&a->tree.cid, &b->tree.cid) &&
	       memcmp(a->tree.key, b->tree.key, IPMD_KEY_BYTES) == 0 &&
	       a->time_ns == b->time_ns && a->next_ino == b->next_ino &&
	       a->messages == b->messages && a->folders == b->folders &&
	       a->added == b->added && a->removed == b->removed &&
	       a->renamed == b->renamed;
}

/* ---- commits ---- */

static void test_round_trip(struct blockstore *bs)
{
	struct commit c = sample(1, 10), c2 = sample(2, 20), got;
	struct cid id, id2, id_again;
	uint8_t *block;
	size_t len;

	is_int(commit_write(bs, &k1, &c, &id), 0, "first commit written");
	ok(cid_is_raw_sha256(&id), "commit named by a raw CID");
	is_int(commit_read(bs, &k1, &id, &got), 0, "first commit read");
	ok(same_commit(&c, &got), "every field survives (parent null)");
	is_int(got.parent.len, 0, "no parent");

	is_int(commit_write(bs, &k1, &c2, &id2), 0, "second commit written");
	is_int(commit_read(bs, &k1, &id2, &got), 0, "second commit read");
	ok(same_commit(&c2, &got), "every field survives (with parent)");

	/* Random nonce: the same commit sealed twice is two blocks. */
	is_int(commit_write(bs, &k1, &c2, &id_again), 0, "written again");
	ok(!cid_equal(&id2, &id_again), "random nonce: a different block");

	c2.time_ns = -5; /* before the epoch */
	c2.seq = INT64_MAX;
	c2.messages = 0;
	is_int(commit_seal(&k1, &c2, &block, &len), 0, "extreme values seal");
	is_int(commit_open(block, len, &k1, &got), 0, "and open");
	ok(same_commit(&c2, &got), "extreme values survive");
	free(block);
}

static void test_bad_input(struct blockstore *bs)
{
	struct commit c = sample(1, 30);
	uint8_t *block = NULL;
	size_t len = 0;
	struct cid id;

	c.seq = 0;
	is_int(commit_seal(&k1, &c, &block, &len), -EINVAL, "seq 0 refused");
	c = sample(1, 30);
	c.seq = (uint64_t)INT64_MAX + 1;
	is_int(commit_seal(&k1, &c, &block, &len), -EINVAL,
	       "seq past int64 refused");
	c = sample(1, 30);
	c.next_ino = 1;
	is_int(commit_write(bs, &k1, &c, &id), -EINVAL, "next_ino 1 refused");
	c = sample(1, 30);
	c.tree.cid.len = 0;
	is_int(commit_write(bs, &k1, &c, &id), -EINVAL, "no tree refused");
	c = sample(1, 30);
	c.renamed = UINT64_MAX;
	is_int(commit_write(bs, &k1, &c, &id), -EINVAL,
	       "counter past int64 refused");
	ok(block == NULL && len == 0, "nothing returned on failure");
}

static void test_wrong_keys(struct blockstore *bs)
{
	struct commit c = sample(3, 40), got;
	struct mailbox_keys forger;
	struct cid id, missing;
	uint8_t *block;
	size_t len;
	char path[PATH_MAX];

	/* Sealed under mailbox 1's manifest key, signed by mailbox 2. */
	forger = k2;
	forger.manifest = k1.manifest;
	is_int(commit_seal(&forger, &c, &block, &len), 0,
	       "forged commit sealed");
	is_int(commit_open(block, len, &k1, &got), -EKEYREJECTED,
	       "signed by another mailbox: -EKEYREJECTED");
	is_int(got.seq, 0, "nothing returned on failure");
	free(block);

	is_int(commit_seal(&k1, &c, &block, &len), 0, "commit sealed");
	is_int(commit_open(block, len, &k2, &got), -EBADMSG,
	       "another manifest key: -EBADMSG");
	is_int(commit_open(block, len, &k1, &got), 0, "right key opens");
	for (size_t at = 0; at < len; at += len / 7 + 1) {
		block[at] ^= 0x20;
		is_int(commit_open(block, len, &k1, &got), -EBADMSG,
		       "flipped byte %zu of %zu: -EBADMSG", at, len);
		block[at] ^= 0x20;
	}
	block[len - 1] ^= 1;
	is_int(commit_open(block, len, &k1, &got), -EBADMSG,
	       "flipped last byte: -EBADMSG");
	block[len - 1] ^= 1;
	is_int(commit_open(block, len - 1, &k1, &got), -EBADMSG,
	       "truncated: -EBADMSG");
	is_int(commit_open(block, 3, &k1, &got), -EBADMSG,
	       "shorter than the seal: -EBADMSG");
	free(block);

	/* A stored commit damaged on disk. */
	is_int(commit_write(bs, &k1, &c, &id), 0, "commit stored");
	is_int(bs_local_path(bs, &id, path, sizeof(path)), 0, "its file");
	{
		int fd = open(path, O_RDWR);
		uint8_t b = 0;
		ok(fd >= 0 && pread(fd, &b, 1, 30) == 1, "read a byte");
		b ^= 1;
		ok(pwrite(fd, &b, 1, 30) == 1, "flip it on disk");
		close(fd);
	}
	is_int(commit_read(bs, &k1, &id, &got), -EBADMSG,
	       "damaged block: -EBADMSG");
	fake_cid(&missing, 999);
	is_int(commit_read(bs, &k1, &missing, &got), -ENOENT,
	       "absent commit: -ENOENT");
}

static void test_read_capability(struct blockstore *bs)
{
	struct commit c = sample(4, 50), got;
	struct mailbox_keys rc;
	char line[READCAP_MAX];
	uint8_t *block = NULL;
	size_t len = 0;
	struct cid id, id2;

	is_int(readcap_format(&k1, line), 0, "read capability formatted");
	is_int(readcap_parse(line, &rc), 0, "and parsed");
	is_int(rc.can_sign, 0, "it can't sign");
	is_int(commit_write(bs, &k1, &c, &id), 0, "full key commits");
	is_int(commit_read(bs, &rc, &id, &got), 0, "read capability reads");
	ok(same_commit(&c, &got), "and sees the same commit");
	is_int(commit_write(bs, &rc, &c, &id2), -EPERM,
	       "read capability can't write: -EPERM");
	is_int(commit_seal(&rc, &c, &block, &len), -EPERM,
	       "nor seal: -EPERM");
	keys_free(&rc);
}

/*
 * Sign an arbitrary object as a commit would be: canonical form without
 * "sig", then "sig" added, then sealed under k1's manifest key.
 */
static int seal_signed(json_t *o, uint8_t **block, size_t *len)
{
	uint8_t sig[IPMD_SIGNATURE_BYTES];
	char b64[sodium_base64_ENCODED_LEN(IPMD_SIGNATURE_BYTES, B64)];
	char *canon, *full;
	int rc;

	json_object_del(o, "sig");
	canon = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	if (!canon)
		abort();
	keys_sign(&k1, sig, (const uint8_t *)canon, strlen(canon));
	free(canon);
	sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig), B64);
	if (json_is_object(o))
		json_object_set_new(o, "sig", json_string(b64));
	full = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	*len = strlen(full) + IPMD_SEAL_OVERHEAD;
	*block = malloc(*len);
	rc = seal_with_key(*block, (const uint8_t *)full, strlen(full),
			   BLOCK_COMMIT, k1.manifest, NULL);
	free(full);
	return rc;
}

static int seal_text(const char *text, uint8_t **block, size_t *len)
{
	*len = strlen(text) + IPMD_SEAL_OVERHEAD;
	*block = malloc(*len);
	return seal_with_key(*block, (const uint8_t *)text, strlen(text),
			     BLOCK_COMMIT, k1.manifest, NULL);
}

/* A valid commit as a JSON object (without sig). */
static json_t *good_json(void)
{
	struct commit c = sample(2, 60);
	uint8_t *block, plain[COMMIT_PLAIN_MAX];
	size_t len, plen;
	json_t *o;

	if (commit_seal(&k1, &c, &block, &len) != 0 ||
	    seal_open(plain, &plen, block, len, BLOCK_COMMIT, k1.manifest) != 0)
		abort();
	free(block);
	o = json_loadb((const char *)plain, plen, 0, NULL);
	json_object_del(o, "sig");
	return o;
}

static void expect_bad(json_t *o, int want, const char *what)
{
	struct commit got;
	uint8_t *block;
	size_t len;

	is_int(seal_signed(o, &block, &len), 0, "sealed: %s", what);
	is_int(commit_open(block, len, &k1, &got), want, "%s", what);
	free(block);
	json_decref(o);
}

/* g dumped as it is (not signed again), sealed and opened: want. */
static void expect_unsigned(json_t *g, size_t flags, int want,
			    const char *sealed, const char *what)
{
	struct commit got;
	uint8_t *block;
	size_t len;
	char *t = json_dumps(g, flags);

	is_int(seal_text(t, &block, &len), 0, "%s", sealed);
	is_int(commit_open(block, len, &k1, &got), want, "%s", what);
	free(block);
	free(t);
}

static void set_field(const char *key, json_t *v, const char *what)
{
	json_t *o = good_json();
	if (v)
		json_object_set_new(o, key, v);
	else
		json_object_del(o, key);
	expect_bad(o, -EBADMSG, what);
}

static void set_tree_field(const char *key, json_t *v, const char *what)
{
	json_t *o = good_json();
	json_t *tree = json_object_get(o, "tree");
	if (v)
		json_object_set_new(tree, key, v);
	else
		json_object_del(tree, key);
	expect_bad(o, -EBADMSG, what);
}

/* Seal text under k1's manifest key and open it: commit_open's result. */
static int open_text(const char *text)
{
	struct commit got;
	uint8_t *block;
	size_t len;
	int rc;

	if (seal_text(text, &block, &len) != 0)
		abort();
	rc = commit_open(block, len, &k1, &got);
	free(block);
	return rc;
}

/* text with from (its first occurrence) replaced by to; caller frees. */
static char *replaced(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	size_t n = strlen(text), fl = strlen(from), tl = strlen(to);
	char *out = malloc(n - fl + tl + 1);

	if (!at || !out)
		abort();
	memcpy(out, text, (size_t)(at - text));
	memcpy(out + (at - text), to, tl);
	strcpy(out + (at - text) + tl, at + fl);
	return out;
}

/*
 * g (signed, with "sig") in other encodings of the same JSON value: each
 * carries a valid signature over the same canonical form, but is other
 * bytes, so sealed it would be a second CID for one commit.  Only the
 * canonical bytes open.
 */
static void test_reencoded(json_t *g)
{
	char *canon = json_dumps(g, JSON_COMPACT | JSON_SORT_KEYS);
	char *t, *esc, seq[32];

	is_int(open_text(canon), 0, "the canonical bytes open");
	t = json_dumps(g, JSON_INDENT(2) | JSON_SORT_KEYS);
	is_int(open_text(t), -EBADMSG, "indented: -EBADMSG");
	free(t);
	t = json_dumps(g, JSON_COMPACT | JSON_PRESERVE_ORDER);
	ok(strcmp(t, canon) != 0, "insertion order differs from sorted");
	is_int(open_text(t), -EBADMSG, "other key order: -EBADMSG");
	free(t);
	t = replaced(canon, "{", "{ ");
	is_int(open_text(t), -EBADMSG, "one space more: -EBADMSG");
	free(t);
	t = malloc(strlen(canon) + 2);
	if (!t)
		abort();
	strcpy(t, canon);
	strcat(t, "\n");
	is_int(open_text(t), -EBADMSG, "a trailing newline: -EBADMSG");
	free(t);
	/* The same string with one character escaped: "b" as \u0062. */
	esc = replaced(canon, "\"bafk", "\"\\u0062afk");
	is_int(open_text(esc), -EBADMSG, "a \\u escape in a CID: -EBADMSG");
	free(esc);
	snprintf(seq, sizeof(seq), "\"seq\":%lld",
		 (long long)json_integer_value(json_object_get(g, "seq")));
	{
		char with0[40];
		snprintf(with0, sizeof(with0), "%s.0e0", seq);
		t = replaced(canon, seq, with0);
		ok(open_text(t) != 0, "seq written as a real: refused");
		free(t);
	}
	free(canon);
}

/* Through the store: a re-encoded commit is a new CID, and refused. */
static void test_reencoded_read(struct blockstore *bs)
{
	struct commit c = sample(3, 90), got;
	uint8_t *block, plain[COMMIT_PLAIN_MAX + 1];
	uint8_t sealed[COMMIT_PLAIN_MAX + 2 + IPMD_SEAL_OVERHEAD];
	struct cid id, id2;
	size_t len, plen;

	is_int(commit_write(bs, &k1, &c, &id), 0, "wrote a commit");
	if (commit_seal(&k1, &c, &block, &len) != 0 ||
	    seal_open(plain + 1, &plen, block, len, BLOCK_COMMIT,
		      k1.manifest) != 0)
		abort();
	free(block);
	plain[0] = '{';
	plain[1] = ' ';
	is_int(seal_with_key(sealed, plain, plen + 1, BLOCK_COMMIT,
			     k1.manifest, NULL),
	       0, "re-sealed with a space added");
	is_int(bs_put(bs, sealed, plen + 1 + IPMD_SEAL_OVERHEAD, 0, &id2), 0,
	       "stored");
	ok(!cid_equal(&id, &id2), "under a new CID");
	is_int(commit_read(bs, &k1, &id2, &got), -EBADMSG,
	       "commit_read refuses it: -EBADMSG");
	is_int(commit_read(bs, &k1, &id, &got), 0, "the original reads");
}

static void test_malformed(void)
{
	struct commit got;
	uint8_t *block, bytes[40];
	char text[CID_TEXT_MAX], b64[64];
	struct cid cbor;
	size_t len;
	json_t *o;

	expect_bad(good_json(), 0, "the harness itself makes a good commit");

	set_field("v", json_integer(2), "v 2");
	set_field("v", json_string("1"), "v as a string");
	set_field("v", NULL, "v missing");
	set_field("seq", json_integer(0), "seq 0");
	set_field("seq", json_integer(-1), "seq negative");
	set_field("seq", json_real(1.5), "seq a real");
	set_field("seq", json_string("1"), "seq a string");
	set_field("parent", json_integer(5), "parent a number");
	set_field("parent", json_string("notacid"), "parent not a CID");
	set_field("parent", json_string(""), "parent empty");
	/* A valid CID, but dag-cbor: not a block we store. */
	bytes[0] = CID_VERSION_1;
	bytes[1] = CODEC_DAG_CBOR;
	bytes[2] = MH_SHA2_256;
	bytes[3] = SHA256_BYTES;
	memset(bytes + 4, 7, SHA256_BYTES);
	if (cid_from_bytes(&cbor, bytes, CID_RAW_BYTES) != 0 ||
	    cid_format(&cbor, text, sizeof(text)) != 0)
		abort();
	set_field("parent", json_string(text), "parent a dag-cbor CID");
	set_field("tree", NULL, "tree missing");
	set_field("tree", json_string("x"), "tree a string");
	set_field("tree", json_null(), "tree null");
	set_tree_field("key", NULL, "tree key missing");
	set_tree_field("cid", NULL, "tree cid missing");
	set_tree_field("cid", json_string(text), "tree cid dag-cbor");
	set_tree_field("cid", json_integer(3), "tree cid a number");
	sodium_bin2base64(b64, sizeof(b64), bytes, 31, B64);
	set_tree_field("key", json_string(b64), "tree key 31 bytes");
	sodium_bin2base64(b64, sizeof(b64), bytes, 33, B64);
	set_tree_field("key", json_string(b64), "tree key 33 bytes");
	sodium_bin2base64(b64, sizeof(b64), bytes, 32,
			  sodium_base64_VARIANT_URLSAFE);
	set_tree_field("key", json_string(b64), "tree key with padding");
	set_tree_field("extra", json_integer(1), "tree with an extra field");
	set_field("time", json_string("now"), "time a string");
	set_field("time", json_real(1.0), "time a real");
	set_field("time", NULL, "time missing");
	set_field("next_ino", json_integer(1), "next_ino 1");
	set_field("next_ino", json_integer(0), "next_ino 0");
	set_field("messages", json_integer(-1), "messages negative");
	set_field("folders", json_null(), "folders null");
	set_field("added", json_string("3"), "added a string");
	set_field("removed", json_true(), "removed a boolean");
	set_field("renamed", NULL, "renamed missing");
	set_field("extra", json_integer(1), "an extra field");

	/* Not objects, not JSON, no signature, bad signatures. */
	o = json_array();
	json_array_append_new(o, json_integer(1));
	expect_bad(o, -EBADMSG, "an array");
	is_int(seal_text("{\"v\":1", &block, &len), 0, "sealed junk");
	is_int(commit_open(block, len, &k1, &got), -EBADMSG, "truncated JSON");
	free(block);
	is_int(seal_text("{\"seq\":9223372036854775808}", &block, &len), 0,
	       "sealed a huge integer");
	is_int(commit_open(block, len, &k1, &got), -EBADMSG,
	       "integer past int64");
	free(block);
	{
		json_t *g = good_json();
		expect_unsigned(g, JSON_COMPACT, -EBADMSG, "sealed without sig",
				"no signature: -EBADMSG");
		json_object_set_new(g, "sig", json_string("!!notbase64!!"));
		expect_unsigned(g, JSON_COMPACT, -EBADMSG, "sealed bad sig",
				"sig not base64: -EBADMSG");
		sodium_bin2base64(b64, sizeof(b64), bytes, 32, B64);
		json_object_set_new(g, "sig", json_string(b64));
		expect_unsigned(g, JSON_COMPACT, -EBADMSG, "sealed short sig",
				"sig of 32 bytes: -EBADMSG");
		json_decref(g);
	}
	/* Signed, then one field changed under the manifest key: what a
	 * read-capability holder could try. */
	{
		json_t *g = good_json();
		uint8_t *b2;
		char *t;
		is_int(seal_signed(g, &b2, &len), 0, "signed");
		free(b2);
		json_object_set_new(g, "seq", json_integer(1000));
		expect_unsigned(g, JSON_COMPACT | JSON_SORT_KEYS, -EKEYREJECTED,
				"sealed edited",
				"edited after signing: -EKEYREJECTED");
		json_object_set_new(g, "seq", json_integer(2));
		is_int(seal_signed(g, &b2, &len), 0, "signed again");
		free(b2);
		test_reencoded(g);
		/* A duplicate key, even with the same value. */
		t = json_dumps(g, JSON_COMPACT | JSON_SORT_KEYS);
		{
			size_t tl = strlen(t);
			char *dup = malloc(tl + 16);
			memcpy(dup, "{\"v\":1,", 7);
			memcpy(dup + 7, t + 1, tl);
			is_int(seal_text(dup, &block, &len), 0, "sealed dup");
			is_int(commit_open(block, len, &k1, &got), -EBADMSG,
			       "duplicate key: -EBADMSG");
			free(block);
			free(dup);
		}
		free(t);
		json_decref(g);
	}
}

/* ---- head ---- */

static int same_head(const struct head *a, const struct head *b)
{
	return cid_equal(&a->commit, &b->commit) && a->seq == b->seq &&
	       a->journal_gen == b->journal_gen && a->max_seq == b->max_seq;
}

/* h written as the head at path and read back: every field the same. */
static void head_round_trip(const char *path, const struct head *h,
			    const char *written, const char *survives)
{
	struct head got;
	is_int(head_write(path, k1.journal, BLOCK_STATE_HEAD, h), 0, "%s",
	       written);
	is_int(head_read(path, k1.journal, BLOCK_STATE_HEAD, &got, NULL), 0,
	       "and read");
	ok(same_head(h, &got), "%s", survives);
}

static int head_json_read(const char *path, const char *text)
{
	uint8_t sealed[HEAD_PLAIN_MAX + IPMD_SEAL_OVERHEAD];
	struct head h;
	size_t len = strlen(text);

	if (seal_with_key(sealed, (const uint8_t *)text, len, BLOCK_JOURNAL,
			  k1.journal, NULL) != 0)
		abort();
	harness_write_file(path, sealed, len + IPMD_SEAL_OVERHEAD);
	bool untyped;
	return head_read(path, k1.journal, BLOCK_STATE_HEAD, &h, &untyped);
}

static void head_bad_json(const char *path, const char *text, const char *what)
{
	is_int(head_json_read(path, text), -EBADMSG, "%s", what);
}

static void test_head(void)
{
	const char *dir = harness_path("headdir");
	const char *path = harness_path("headdir/head");
	struct head h, got;
	struct stat stb;
	uint8_t buf[8192];
	FILE *f;
	size_t n;

	ok(mkdir(dir, 0700) == 0, "head directory");

	is_int(head_read(path, k1.journal, BLOCK_STATE_HEAD, &got, NULL),
	       -ENOENT, "no head: -ENOENT");

	memset(&h, 0, sizeof(h));
	h.journal_gen = 3;
	head_round_trip(path, &h, "empty head written",
			"no commit, journal_gen survives");

	fake_cid(&h.commit, 70);
	h.seq = 5;
	h.journal_gen = 7;
	h.max_seq = 9;
	head_round_trip(path, &h, "head replaced", "every field survives");
	is_int(harness_dir_entries(dir), 1, "no temp file left behind");
	ok(stat(path, &stb) == 0 && (stb.st_mode & 077) == 0,
	   "head readable by the owner only");

	is_int(head_read(path, k2.journal, BLOCK_STATE_HEAD, &got, NULL),
	       -EBADMSG,
	       "another journal key: -EBADMSG");

	f = fopen(path, "rb");
	n = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	ok(n > IPMD_SEAL_OVERHEAD, "head file read back (%zu bytes)", n);
	buf[n / 2] ^= 4;
	harness_write_file(path, buf, n);
	is_int(head_read(path, k1.journal, BLOCK_STATE_HEAD, &got, NULL),
	       -EBADMSG,
	       "tampered head: -EBADMSG");
	buf[n / 2] ^= 4;
	harness_write_file(path, buf, n - 1);
	is_int(head_read(path, k1.journal, BLOCK_STATE_HEAD, &got, NULL),
	       -EBADMSG,
	       "truncated head: -EBADMSG");
	harness_write_file(path, buf, 0);
	is_int(head_read(path, k1.journal, BLOCK_STATE_HEAD, &got, NULL),
	       -EBADMSG,
	       "empty head file: -EBADMSG");
	memset(buf, 0, sizeof(buf));
	harness_write_file(path, buf, sizeof(buf));
	is_int(head_read(path, k1.journal, BLOCK_STATE_HEAD, &got, NULL),
	       -EBADMSG,
	       "oversize head file: -EBADMSG");

	head_bad_json(path, "{\"v\":1,\"commit\":null,\"seq\":0}",
		      "missing fields");
	head_bad_json(path,
		      "{\"v\":2,\"commit\":null,\"seq\":0,\"journal_gen\":0,"
		      "\"max_seq\":0}",
		      "v 2 sealed untyped");
	head_bad_json(path,
		      "{\"v\":1,\"commit\":null,\"seq\":3,\"journal_gen\":0,"
		      "\"max_seq\":3}",
		      "seq without a commit");
	head_bad_json(path,
		      "{\"v\":1,\"commit\":\"nope\",\"seq\":3,"
		      "\"journal_gen\":0,"
		      "\"max_seq\":3}",
		      "commit not a CID");
	head_bad_json(path,
		      "{\"v\":1,\"commit\":null,\"seq\":0,\"journal_gen\":-1,"
		      "\"max_seq\":0}",
		      "negative journal_gen");
	head_bad_json(path,
		      "{\"v\":1,\"commit\":null,\"seq\":0,\"journal_gen\":0,"
		      "\"max_seq\":0,\"x\":1}",
		      "extra field");
	head_bad_json(path, "[1]", "not an object");
	{
		char text[512], ctext[CID_TEXT_MAX];
		cid_format(&h.commit, ctext, sizeof(ctext));
		snprintf(text, sizeof(text),
			 "{\"v\":1,\"commit\":\"%s\",\"seq\":5,"
			 "\"journal_gen\":0,\"max_seq\":4}",
			 ctext);
		head_bad_json(path, text, "max_seq below seq");
		snprintf(text, sizeof(text),
			 "{\"v\":1,\"commit\":\"%s\",\"seq\":5,"
			 "\"journal_gen\":0,\"max_seq\":5}",
			 ctext);
		is_int(head_json_read(path, text), 0,
		       "the crafting harness makes a valid head");
	}

	h.max_seq = 4;
	is_int(head_write(path, k1.journal, BLOCK_STATE_HEAD, &h), -EINVAL,
	       "max_seq below seq refused");
	memset(&h, 0, sizeof(h));
	h.seq = 1;
	h.max_seq = 1;
	is_int(head_write(path, k1.journal, BLOCK_STATE_HEAD, &h), -EINVAL,
	       "seq without a commit refused");
	path = harness_path("headdir/nodir/head");
	memset(&h, 0, sizeof(h));
	is_int(head_write(path, k1.journal, BLOCK_STATE_HEAD, &h), -ENOENT,
	       "missing directory: -ENOENT");
}

/* The inode ranges (commit.h): read from a commit, raised, written. */
static void test_ranges(void)
{
	/* TREE_INO_RANGE_BITS: fs/model/tree.h's struct dirent would clash
	 * with <dirent.h> here. */
	const uint64_t R = UINT64_C(1) << 40;
	struct commit c = sample(1, 1);
	struct ino_ranges r;
	c.next_ino = 40;
	c.ninos = 0;
	commit_ranges(&c, &r);
	ok(r.n == 1 && r.next[0] == 40, "version 1: device 0's next is next_ino");
	is_int(ino_ranges_raise(&r, 7 * R + 3), 0, "device 7 added");
	is_int(ino_ranges_raise(&r, 2 * R + 5), 0, "device 2 added");
	is_int(ino_ranges_raise(&r, 7 * R + 2), 0, "device 7 not lowered");
	is_int(ino_ranges_raise(&r, 50), 0, "device 0 raised");
	ok(r.n == 3 && r.next[0] == 50 && r.next[1] == 2 * R + 5 &&
		   r.next[2] == 7 * R + 3,
	   "by range ascending, each its largest");
	is_int(ino_ranges_get(&r, 7), 7 * R + 3, "device 7's next");
	is_int(ino_ranges_get(&r, 3), 0, "device 3: none");
	is_int(ino_ranges_raise(&r, 4 * R), -EINVAL, "a range's first: -EINVAL");
	is_int(ino_ranges_raise(&r, 1), -EINVAL, "the root: -EINVAL");
	struct ino_ranges full = {0};
	for (unsigned i = 0; i < COMMIT_RANGES_MAX; i++)
		ino_ranges_raise(&full, (uint64_t)(i + 1) * R + 1);
	is_int(ino_ranges_raise(&full, 100 * R + 1), -ENOSPC,
	       "past COMMIT_RANGES_MAX: -ENOSPC");
	struct ino_ranges other = {0};
	ino_ranges_raise(&other, 2 * R + 9);
	ino_ranges_raise(&other, 9 * R + 1);
	is_int(ino_ranges_merge(&r, &other), 0, "merged");
	ok(r.n == 4 && r.next[1] == 2 * R + 9 && r.next[3] == 9 * R + 1,
	   "a merge keeps the largest per range");

	c.next_ino = 0;
	commit_set_ranges(&c, &r);
	ok(c.ninos == 4 && c.next_ino == 9 * R + 1 && c.inos[0] == 50,
	   "written: every range, next_ino the largest");
	struct commit one = sample(1, 1);
	struct ino_ranges zero = {0};
	ino_ranges_raise(&zero, 60);
	one.next_ino = 0;
	commit_set_ranges(&one, &zero);
	ok(one.ninos == 0 && one.next_ino == 60,
	   "device 0 alone: version 1, next_ino its number");
	struct commit back;
	struct blockstore *bs;
	struct cid id;
	ok(bs_local_open(harness_path("ranges"), &bs) == 0 &&
		   commit_write(bs, &k1, &c, &id) == 0 &&
		   commit_read(bs, &k1, &id, &back) == 0 && back.ninos == 4,
	   "a commit with the ranges reads back");
	commit_ranges(&back, &other);
	ok(other.n == 4 && other.next[3] == 9 * R + 1, "… as they were");
	bs_close(bs);
}

int main(void)
{
	struct blockstore *bs;

	harness_seal_init();
	harness_keys(&k1, 1);
	harness_keys(&k2, 2);
	bs = harness_local_store("store");
	test_round_trip(bs);
	test_bad_input(bs);
	test_wrong_keys(bs);
	test_read_capability(bs);
	test_malformed();
	test_reencoded_read(bs);
	test_head();
	test_ranges();
	bs_close(bs);
	keys_free(&k1);
	keys_free(&k2);
	return tap_done();
}
