/* fs/model/commit.c — see commit.h. */
#include "fs/model/commit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/seal.h"
#include "fs/model/tree.h"
#include "util/wipe.h"

#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define KEY_B64_BYTES sodium_base64_ENCODED_LEN(IPMD_KEY_BYTES, B64_VARIANT)
#define SIG_B64_BYTES                                                         \
	sodium_base64_ENCODED_LEN(IPMD_SIGNATURE_BYTES, B64_VARIANT)
/* Fields of a commit without "sig" (commit.h), and of its "tree". */
#define COMMIT_FIELDS 11
#define COMMIT_TREE_FIELDS 2
#define JSON_CANON (JSON_COMPACT | JSON_SORT_KEYS)

/* The root key travels in these strings: wipe them before jansson frees. */
static void wipe_json_string(json_t *s)
{
	if (json_is_string(s))
		sodium_memzero((char *)json_string_value(s),
			       json_string_length(s));
}

static void wipe_free_text(char *s)
{
	wipe_free(s, s ? strlen(s) : 0);
}

/* Decode base64url (no padding) of exactly want bytes. */
static bool b64_get(const json_t *s, uint8_t *out, size_t want)
{
	size_t got = 0;

	if (!json_is_string(s))
		return false;
	return sodium_base642bin(out, want, json_string_value(s),
				 json_string_length(s), NULL, &got, NULL,
				 B64_VARIANT) == 0 &&
	       got == want;
}

static bool in_range(uint64_t v)
{
	return v <= INT64_MAX;
}

static bool cid_ok(const struct cid *c)
{
	return c->len == CID_RAW_BYTES && cid_is_raw_sha256(c);
}

static json_t *cid_json(const struct cid *c)
{
	char text[CID_TEXT_MAX];

	if (cid_format(c, text, sizeof(text)) != 0)
		return NULL;
	return json_string(text);
}

/* The other parents: a merge has a first parent, and every parent is
 * named once. */
static bool merged_ok(const struct commit *c)
{
	if (c->nmerged > COMMIT_MERGED_MAX ||
	    (c->nmerged && c->parent.len == 0))
		return false;
	for (unsigned i = 0; i < c->nmerged; i++) {
		if (!cid_ok(&c->merged[i]) ||
		    cid_equal(&c->merged[i], &c->parent))
			return false;
		for (unsigned j = 0; j < i; j++)
			if (cid_equal(&c->merged[i], &c->merged[j]))
				return false;
	}
	return true;
}

/* Each range's next number: inside its range (device 0's above the root),
 * one per range, ascending, none above next_ino. */
static bool inos_ok(const struct commit *c)
{
	const uint64_t low_mask = (UINT64_C(1) << TREE_INO_RANGE_BITS) - 1;

	if (c->ninos > COMMIT_RANGES_MAX)
		return false;
	for (unsigned i = 0; i < c->ninos; i++) {
		uint64_t v = c->inos[i];
		if (tree_ino_range(v) >= TREE_DEVICES || (v & low_mask) == 0 ||
		    v <= TREE_ROOT_INO || v > c->next_ino ||
		    (i > 0 && tree_ino_range(v) <= tree_ino_range(c->inos[i - 1])))
			return false;
	}
	return true;
}

static bool is_v2(const struct commit *c)
{
	return c->nmerged > 0 || c->ninos > 0;
}

/* "merged" and "inos" into o, for a version 2 commit. */
static int v2_json(const struct commit *c, json_t *o)
{
	json_t *merged = json_array(), *inos = json_array();
	int rc = !merged || !inos;

	for (unsigned i = 0; !rc && i < c->nmerged; i++)
		rc = json_array_append_new(merged, cid_json(&c->merged[i]));
	for (unsigned i = 0; !rc && i < c->ninos; i++)
		rc = json_array_append_new(inos,
					   json_integer((json_int_t)c->inos[i]));
	if (rc) {
		json_decref(merged);
		json_decref(inos);
		return -ENOMEM;
	}
	rc = c->nmerged ? json_object_set_new(o, "merged", merged)
			: (json_decref(merged), 0);
	rc |= c->ninos ? json_object_set_new(o, "inos", inos)
		       : (json_decref(inos), 0);
	return rc ? -ENOMEM : 0;
}

/* The commit without "sig": what the signature covers. */
static int commit_json(const struct commit *c, json_t **out)
{
	char key[KEY_B64_BYTES];
	json_t *o, *tree;
	int rc;

	*out = NULL;
	if (c->seq < 1 || !in_range(c->seq) || !in_range(c->next_ino) ||
	    c->next_ino <= TREE_ROOT_INO || !in_range(c->messages) ||
	    !in_range(c->folders) || !in_range(c->added) ||
	    !in_range(c->removed) || !in_range(c->renamed) ||
	    !cid_ok(&c->tree.cid) ||
	    (c->parent.len != 0 && !cid_ok(&c->parent)) || !merged_ok(c) ||
	    !inos_ok(c))
		return -EINVAL;
	o = json_object();
	tree = json_object();
	if (!o || !tree) {
		json_decref(o);
		json_decref(tree);
		return -ENOMEM;
	}
	sodium_bin2base64(key, sizeof(key), c->tree.key, IPMD_KEY_BYTES,
			  B64_VARIANT);
	rc = json_object_set_new(tree, "cid", cid_json(&c->tree.cid)) |
	     json_object_set_new(tree, "key", json_string(key));
	sodium_memzero(key, sizeof(key));
	rc |= json_object_set_new(o, "tree", tree) |
	      json_object_set_new(o, "v",
				  json_integer(is_v2(c) ? COMMIT_VERSION_2
							: COMMIT_VERSION)) |
	      json_object_set_new(o, "seq", json_integer((json_int_t)c->seq)) |
	      json_object_set_new(o, "parent",
				  c->parent.len ? cid_json(&c->parent)
						: json_null()) |
	      json_object_set_new(o, "time", json_integer(c->time_ns)) |
	      json_object_set_new(o, "next_ino",
				  json_integer((json_int_t)c->next_ino)) |
	      json_object_set_new(o, "messages",
				  json_integer((json_int_t)c->messages)) |
	      json_object_set_new(o, "folders",
				  json_integer((json_int_t)c->folders)) |
	      json_object_set_new(o, "added",
				  json_integer((json_int_t)c->added)) |
	      json_object_set_new(o, "removed",
				  json_integer((json_int_t)c->removed)) |
	      json_object_set_new(o, "renamed",
				  json_integer((json_int_t)c->renamed));
	if (rc == 0 && is_v2(c))
		rc = v2_json(c, o);
	if (rc != 0) {
		wipe_json_string(json_object_get(tree, "key"));
		json_decref(o);
		return -ENOMEM;
	}
	*out = o;
	return 0;
}

static void commit_json_free(json_t *o)
{
	if (o) {
		wipe_json_string(json_object_get(json_object_get(o, "tree"),
						 "key"));
		json_decref(o);
	}
}

int commit_seal(const struct mailbox_keys *keys, const struct commit *c,
		uint8_t **block, size_t *len)
{
	uint8_t sig[IPMD_SIGNATURE_BYTES];
	char sig_b64[SIG_B64_BYTES];
	char *canon = NULL, *full = NULL;
	json_t *o = NULL;
	size_t n;
	int rc;

	if (!keys || !c || !block || !len)
		return -EINVAL;
	*block = NULL;
	*len = 0;
	if (!keys->can_sign || !keys->manifest)
		return -EPERM;
	rc = commit_json(c, &o);
	if (rc != 0)
		return rc;
	canon = json_dumps(o, JSON_CANON);
	if (!canon) {
		rc = -ENOMEM;
		goto out;
	}
	rc = keys_sign(keys, sig, (const uint8_t *)canon, strlen(canon));
	if (rc != 0)
		goto out;
	sodium_bin2base64(sig_b64, sizeof(sig_b64), sig, sizeof(sig),
			  B64_VARIANT);
	if (json_object_set_new(o, "sig", json_string(sig_b64)) != 0 ||
	    !(full = json_dumps(o, JSON_CANON))) {
		rc = -ENOMEM;
		goto out;
	}
	n = strlen(full);
	if (n > COMMIT_PLAIN_MAX) {
		rc = -EFBIG;
		goto out;
	}
	*block = malloc(n + IPMD_SEAL_OVERHEAD);
	if (!*block) {
		rc = -ENOMEM;
		goto out;
	}
	rc = seal_with_key(*block, (const uint8_t *)full, n, BLOCK_COMMIT,
			   keys->manifest, NULL);
	if (rc != 0) {
		free(*block);
		*block = NULL;
		goto out;
	}
	*len = n + IPMD_SEAL_OVERHEAD;
out:
	wipe_free_text(canon);
	wipe_free_text(full);
	commit_json_free(o);
	return rc;
}

static bool get_u64(const json_t *o, const char *name, uint64_t *out)
{
	const json_t *v = json_object_get(o, name);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static bool get_cid(const json_t *s, struct cid *c)
{
	return json_is_string(s) &&
	       cid_parse(c, json_string_value(s), json_string_length(s)) == 0 &&
	       cid_ok(c);
}

/* "merged" and "inos" of a version 2 commit, each absent or a list of
 * 1 … its maximum; merged_ok and inos_ok judge the values. */
static int v2_fields(const json_t *o, struct commit *c)
{
	const json_t *merged = json_object_get(o, "merged");
	const json_t *inos = json_object_get(o, "inos");
	size_t i;
	json_t *x;

	if ((merged && (!json_is_array(merged) || !json_array_size(merged) ||
			json_array_size(merged) > COMMIT_MERGED_MAX)) ||
	    (inos && (!json_is_array(inos) || !json_array_size(inos) ||
		      json_array_size(inos) > COMMIT_RANGES_MAX)))
		return -EBADMSG;
	json_array_foreach(merged, i, x)
	{
		if (!get_cid(x, &c->merged[i]))
			return -EBADMSG;
	}
	c->nmerged = (unsigned)json_array_size(merged);
	json_array_foreach(inos, i, x)
	{
		if (!json_is_integer(x) || json_integer_value(x) < 0)
			return -EBADMSG;
		c->inos[i] = (uint64_t)json_integer_value(x);
	}
	c->ninos = (unsigned)json_array_size(inos);
	return merged_ok(c) && inos_ok(c) ? 0 : -EBADMSG;
}

/* Every field of a signed commit: types, ranges, nothing extra. */
static int commit_fields(const json_t *o, struct commit *c)
{
	const json_t *v = json_object_get(o, "v");
	const json_t *t = json_object_get(o, "time");
	const json_t *parent = json_object_get(o, "parent");
	const json_t *tree = json_object_get(o, "tree");
	size_t extra = (json_object_get(o, "merged") != NULL) +
		       (json_object_get(o, "inos") != NULL);
	json_int_t version = json_is_integer(v) ? json_integer_value(v) : 0;
	/* Version 1 has none of the version 2 members, version 2 has one
	 * or both: one value, one encoding. */
	bool v1 = version == COMMIT_VERSION && !extra;
	bool v2 = version == COMMIT_VERSION_2 && extra;

	if (json_object_size(o) != COMMIT_FIELDS + extra || !(v1 || v2) ||
	    !json_is_integer(t))
		return -EBADMSG;
	c->time_ns = json_integer_value(t);
	if (!get_u64(o, "seq", &c->seq) || c->seq < 1 ||
	    !get_u64(o, "next_ino", &c->next_ino) ||
	    c->next_ino <= TREE_ROOT_INO ||
	    !get_u64(o, "messages", &c->messages) ||
	    !get_u64(o, "folders", &c->folders) ||
	    !get_u64(o, "added", &c->added) ||
	    !get_u64(o, "removed", &c->removed) ||
	    !get_u64(o, "renamed", &c->renamed))
		return -EBADMSG;
	if (!json_is_null(parent) && !get_cid(parent, &c->parent))
		return -EBADMSG;
	if (!json_is_object(tree) ||
	    json_object_size(tree) != COMMIT_TREE_FIELDS ||
	    !get_cid(json_object_get(tree, "cid"), &c->tree.cid) ||
	    !b64_get(json_object_get(tree, "key"), c->tree.key,
		     IPMD_KEY_BYTES))
		return -EBADMSG;
	return extra ? v2_fields(o, c) : 0;
}

/*
 * The stored bytes must be exactly what commit_seal writes: the canonical
 * form of the whole object, "sig" included.  jansson parses many texts to
 * one value (spacing, key order, \u escapes), and the signature covers the
 * value's canonical form; without this check each of those texts, sealed,
 * would be another CID carrying the same valid signature.  With it, the
 * signed bytes are the stored bytes minus the "sig" member.
 */
static int is_canonical(const json_t *o, const uint8_t *plain, size_t plen)
{
	char *again = json_dumps(o, JSON_CANON);
	int rc;

	if (!again)
		return -ENOMEM;
	rc = strlen(again) == plen && memcmp(again, plain, plen) == 0
		     ? 0
		     : -EBADMSG;
	wipe_free_text(again);
	return rc;
}

int commit_open(const uint8_t *block, size_t len,
		const struct mailbox_keys *keys, struct commit *c)
{
	uint8_t sig[IPMD_SIGNATURE_BYTES];
	uint8_t *plain = NULL;
	char *canon = NULL;
	json_t *o = NULL;
	size_t plen = 0;
	int rc;

	if (!block || !keys || !keys->manifest || !c)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	if (len < IPMD_SEAL_OVERHEAD ||
	    len - IPMD_SEAL_OVERHEAD > COMMIT_PLAIN_MAX)
		return -EBADMSG;
	plain = malloc(len - IPMD_SEAL_OVERHEAD + 1);
	if (!plain)
		return -ENOMEM;
	rc = seal_open(plain, &plen, block, len, BLOCK_COMMIT, keys->manifest);
	if (rc != 0) {
		rc = -EBADMSG;
		goto out;
	}
	o = json_loadb((const char *)plain, plen, JSON_REJECT_DUPLICATES,
		       NULL);
	if (!json_is_object(o) ||
	    !b64_get(json_object_get(o, "sig"), sig, sizeof(sig))) {
		rc = -EBADMSG;
		goto out;
	}
	rc = is_canonical(o, plain, plen);
	if (rc != 0)
		goto out;
	if (json_object_del(o, "sig") != 0) {
		rc = -EBADMSG;
		goto out;
	}
	canon = json_dumps(o, JSON_CANON);
	if (!canon) {
		rc = -ENOMEM;
		goto out;
	}
	if (keys_verify(keys->public_key, sig, (const uint8_t *)canon,
			strlen(canon)) != 0) {
		rc = -EKEYREJECTED;
		goto out;
	}
	rc = commit_fields(o, c);
out:
	if (rc != 0)
		sodium_memzero(c, sizeof(*c));
	wipe_free_text(canon);
	commit_json_free(o);
	wipe_free(plain, plen);
	return rc;
}

int commit_write(struct blockstore *bs, const struct mailbox_keys *keys,
		 const struct commit *c, struct cid *cid)
{
	uint8_t *block = NULL;
	size_t len = 0;
	int rc;

	if (!bs || !keys || !c || !cid)
		return -EINVAL;
	if (!keys->can_sign)
		return -EPERM;
	rc = commit_seal(keys, c, &block, &len);
	if (rc != 0)
		return rc;
	rc = bs_put(bs, block, len, BS_PUT_DURABLE, cid);
	free(block);
	return rc;
}

int commit_read(struct blockstore *bs, const struct mailbox_keys *keys,
		const struct cid *cid, struct commit *c)
{
	uint8_t block[COMMIT_PLAIN_MAX + IPMD_SEAL_OVERHEAD];
	size_t len = 0;
	int rc;

	if (!bs || !keys || !cid || !c)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	rc = bs_get(bs, cid, block, sizeof(block), &len);
	/* Larger than any commit we write: not a commit. */
	if (rc == -ENOBUFS)
		return -EBADMSG;
	if (rc != 0)
		return rc;
	return commit_open(block, len, keys, c);
}

/* ---- inode ranges ---- */

void commit_ranges(const struct commit *c, struct ino_ranges *r)
{
	memset(r, 0, sizeof(*r));
	if (c->ninos) {
		r->n = c->ninos;
		memcpy(r->next, c->inos, c->ninos * sizeof(*c->inos));
	} else if (c->next_ino > TREE_ROOT_INO) {
		r->n = 1;
		r->next[0] = c->next_ino;
	}
}

int ino_ranges_raise(struct ino_ranges *r, uint64_t next)
{
	const uint64_t low_mask = (UINT64_C(1) << TREE_INO_RANGE_BITS) - 1;
	uint64_t d = tree_ino_range(next);
	unsigned i = 0;

	if (d >= TREE_DEVICES || (next & low_mask) == 0 ||
	    next <= TREE_ROOT_INO)
		return -EINVAL;
	while (i < r->n && tree_ino_range(r->next[i]) < d)
		i++;
	if (i < r->n && tree_ino_range(r->next[i]) == d) {
		if (next > r->next[i])
			r->next[i] = next;
		return 0;
	}
	if (r->n == COMMIT_RANGES_MAX)
		return -ENOSPC;
	memmove(&r->next[i + 1], &r->next[i], (r->n - i) * sizeof(*r->next));
	r->next[i] = next;
	r->n++;
	return 0;
}

int ino_ranges_merge(struct ino_ranges *r, const struct ino_ranges *from)
{
	int e = 0;
	for (unsigned i = 0; !e && i < from->n; i++)
		e = ino_ranges_raise(r, from->next[i]);
	return e;
}

uint64_t ino_ranges_get(const struct ino_ranges *r, uint64_t device)
{
	for (unsigned i = 0; i < r->n; i++)
		if (tree_ino_range(r->next[i]) == device)
			return r->next[i];
	return 0;
}

void commit_set_ranges(struct commit *c, const struct ino_ranges *r)
{
	c->ninos = 0;
	for (unsigned i = 0; i < r->n; i++)
		if (r->next[i] > c->next_ino)
			c->next_ino = r->next[i];
	if (r->n == 0 || (r->n == 1 && tree_ino_range(r->next[0]) == 0))
		return;
	c->ninos = r->n;
	memcpy(c->inos, r->next, r->n * sizeof(*r->next));
}
