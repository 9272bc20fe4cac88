/* fs/model/record.c — see record.h. */
#include "fs/model/record.h"
#include "fs/model/record_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "ipfs/cid.h"
#include "util/wipe.h"

#define NS_PER_SEC RECORD_NS_PER_SEC

static const char *const op_names[] = {
	[REC_CREATE] = "create", [REC_LINK] = "link",
	[REC_UNLINK] = "unlink", [REC_RENAME] = "rename",
	[REC_SETATTR] = "setattr", [REC_CONTENT] = "content",
	[REC_APPEND] = "append",
};
#define OP_COUNT (sizeof(op_names) / sizeof(op_names[0]))

static json_int_t ts_to_ns(const struct timespec *ts)
{
	return (json_int_t)record_ts_ns(ts);
}

static struct timespec ns_to_ts(json_int_t ns)
{
	struct timespec ts;
	ts.tv_sec = (time_t)(ns / NS_PER_SEC);
	ts.tv_nsec = (long)(ns % NS_PER_SEC);
	if (ts.tv_nsec < 0) {
		ts.tv_nsec += NS_PER_SEC;
		ts.tv_sec--;
	}
	return ts;
}

/* A time JSON can carry as ns: |t| within about 292 years of 1970. */
static bool ts_ok(const struct timespec *ts)
{
	return ts->tv_nsec >= 0 && ts->tv_nsec < NS_PER_SEC &&
	       ts->tv_sec >= INT64_MIN / NS_PER_SEC &&
	       ts->tv_sec <= (INT64_MAX - ts->tv_nsec) / NS_PER_SEC;
}

/* Integers are JSON's signed 64 bits; parse refuses negative ones. */
static bool u63(uint64_t v)
{
	return v <= (uint64_t)INT64_MAX;
}

/*
 * A create's mode and target as a manifest entry can hold them, no more
 * (manifest.c: attrs_of, load_entry): a type tree_type_ok takes, no bits outside S_IFMT | 07777, a target exactly when it is a
 * symlink.  tree_create alone takes stray bits, which replay would put in
 * a tree that manifest_load then refuses; and it drops a non-symlink's
 * target, so such a record would not say what the tree holds.
 */
static bool create_mode_ok(uint32_t mode, const char *target)
{
	if (mode & ~(uint32_t)(S_IFMT | 07777))
		return false;
	if (!tree_type_ok(mode))
		return false;
	return S_ISLNK(mode) == (target != NULL);
}

/*
 * Refuse here whatever parse() would refuse, so that every record that is
 * journaled replays: a live operation fails cleanly instead of leaving a
 * record that makes its journal look corrupt.
 */
static int check_record(const struct record *r)
{
	int e = 0;
	if (!ts_ok(&r->time))
		return -EOVERFLOW;
	switch (r->op) {
	case REC_CREATE:
		if (r->ino == 0 || !u63(r->ino) || !u63(r->dir) ||
		    !create_mode_ok(r->mode, r->target) || !u63(r->rdev) ||
		    (r->rdev && !tree_has_rdev(r->mode)))
			return -EINVAL;
		return tree_check_name(r->name);
	case REC_LINK:
		if (!u63(r->ino) || !u63(r->dir))
			return -EINVAL;
		return tree_check_name(r->name);
	case REC_UNLINK:
		if (!u63(r->dir))
			return -EINVAL;
		return tree_check_name(r->name);
	case REC_RENAME:
		if (!u63(r->dir) || !u63(r->newdir))
			return -EINVAL;
		if ((e = tree_check_name(r->name)))
			return e;
		return tree_check_name(r->newname);
	case REC_SETATTR:
		if (!u63(r->ino))
			return -EINVAL;
		return ts_ok(&r->atime) && ts_ok(&r->mtime) ? 0 : -EOVERFLOW;
	case REC_CONTENT:
		if (!u63(r->ino))
			return -EINVAL;
		if (!ts_ok(&r->mtime) || !u63(r->content.size))
			return -EOVERFLOW;
		if (r->content.size > 0 &&
		    (!cid_is_raw_sha256(&r->content.cid) ||
		     r->content.depth > OBJ_DEPTH_MAX))
			return -EINVAL;
		return 0;
	case REC_APPEND:
		if (!u63(r->ino) || !r->data || r->data_len == 0 ||
		    r->data_len > RECORD_APPEND_MAX)
			return -EINVAL;
		if (!ts_ok(&r->mtime) || !u63(r->off) ||
		    !u63(r->off + r->data_len))
			return -EOVERFLOW;
		return 0;
	}
	return -EINVAL;
}

static int set_int(json_t *o, const char *k, json_int_t v)
{
	return json_object_set_new(o, k, json_integer(v));
}

/* Text that JSON can't hold (not UTF-8: names are bytes) goes as "b<key>",
 * base64url, as the manifest does. */
static int set_text(json_t *o, const char *k, const char *text)
{
	json_t *v = json_string(text);
	if (v)
		return json_object_set_new(o, k, v);
	size_t n = strlen(text);
	size_t cap = sodium_base64_ENCODED_LEN(
		n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *b64 = malloc(cap);
	char bkey[16];
	if (!b64)
		return -1;
	snprintf(bkey, sizeof(bkey), "b%s", k);
	sodium_bin2base64(b64, cap, (const unsigned char *)text, n,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	int r = json_object_set_new(o, bkey, json_string(b64));
	free(b64);
	return r;
}

/* The entry a record names: its directory's ino, then the name in it. */
static int set_entry(json_t *o, uint64_t dir, const char *name)
{
	int e = set_int(o, "dir", (json_int_t)dir);
	e |= set_text(o, "name", name);
	return e;
}

/* The mode and the owner, in that order (create, setattr). */
static int set_mode_owner(json_t *o, const struct record *r)
{
	int e = set_int(o, "mode", r->mode);
	e |= set_int(o, "uid", r->uid);
	e |= set_int(o, "gid", r->gid);
	return e;
}

/* A device node's "rdev", on its create only (record.h). */
static int set_rdev(json_t *o, const struct record *r)
{
	if (!tree_has_rdev(r->mode))
		return 0;
	return set_int(o, "rdev", (json_int_t)r->rdev);
}

int record_encode(const struct record *r, char **json, size_t *len)
{
	if (r->op < REC_CREATE || r->op > REC_APPEND)
		return -EINVAL;
	int bad = check_record(r);
	if (bad)
		return bad;
	/* The hottest two, without jansson (record_write.c). */
	if (r->op == REC_APPEND)
		return record_write_append(r, json, len);
	if (r->op == REC_CONTENT)
		return record_write_content(r, json, len);
	json_t *o = json_object();
	if (!o)
		return -ENOMEM;
	int e = json_object_set_new(o, "op", json_string(op_names[r->op]));
	e |= set_int(o, "time", ts_to_ns(&r->time));
	switch (r->op) {
	case REC_CREATE:
		e |= set_entry(o, r->dir, r->name);
		e |= set_int(o, "ino", (json_int_t)r->ino);
		e |= set_mode_owner(o, r);
		if (r->target)
			e |= set_text(o, "target", r->target);
		e |= set_rdev(o, r);
		break;
	case REC_LINK:
		e |= set_int(o, "ino", (json_int_t)r->ino);
		e |= set_entry(o, r->dir, r->name);
		break;
	case REC_UNLINK:
		e |= set_entry(o, r->dir, r->name);
		e |= json_object_set_new(o, "rmdir", json_boolean(r->rmdir));
		break;
	case REC_RENAME:
		e |= set_entry(o, r->dir, r->name);
		e |= set_int(o, "newdir", (json_int_t)r->newdir);
		e |= set_text(o, "newname", r->newname);
		e |= set_int(o, "flags", r->flags);
		break;
	case REC_SETATTR:
		e |= set_int(o, "ino", (json_int_t)r->ino);
		e |= set_int(o, "set", r->set);
		e |= set_mode_owner(o, r);
		e |= set_int(o, "atime", ts_to_ns(&r->atime));
		e |= set_int(o, "mtime", ts_to_ns(&r->mtime));
		break;
	case REC_CONTENT:
	case REC_APPEND:
		break; /* written above */
	}
	char *text = e ? NULL : json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return e ? -EINVAL : -ENOMEM;
	*json = text;
	*len = strlen(text);
	return 0;
}

static void release(struct fs_tree *t, struct inode *inode,
		    record_release_fn fn, void *arg)
{
	if (!inode || inode->nlink > 0 || inode->lookups || inode->opens)
		return;
	if (fn)
		fn(inode, arg);
	else
		tree_release(t, inode);
}

int record_apply(struct fs_tree *t, const struct record *r,
		 record_release_fn release_fn, void *arg)
{
	struct inode *dir = NULL, *inode = NULL;
	struct dirent *d;
	int e;

	switch (r->op) {
	case REC_CREATE: {
		dir = tree_get(t, r->dir);
		if (!dir)
			return -ESTALE;
		struct tree_new_inode spec = {
			.mode = r->mode, .uid = r->uid, .gid = r->gid,
			.target = r->target, .ino = r->ino, .rdev = r->rdev,
		};
		return tree_create(t, dir, r->name, &spec, &r->time, &inode);
	}
	case REC_LINK:
		dir = tree_get(t, r->dir);
		inode = tree_get(t, r->ino);
		if (!dir || !inode)
			return -ESTALE;
		return tree_link(t, inode, dir, r->name, &r->time);
	case REC_UNLINK:
		dir = tree_get(t, r->dir);
		if (!dir)
			return -ESTALE;
		d = dir->dir ? tree_lookup(dir, r->name) : NULL;
		inode = d ? d->inode : NULL;
		e = tree_unlink(t, dir, r->name, r->rmdir, &r->time);
		if (e == 0)
			release(t, inode, release_fn, arg);
		return e;
	case REC_RENAME: {
		struct inode *newdir = tree_get(t, r->newdir);
		dir = tree_get(t, r->dir);
		if (!dir || !newdir)
			return -ESTALE;
		d = newdir->dir ? tree_lookup(newdir, r->newname) : NULL;
		struct inode *victim = d ? d->inode : NULL;
		e = tree_rename(t, dir, r->name, newdir, r->newname, r->flags,
				&r->time);
		if (e == 0 && !(r->flags & TREE_RENAME_EXCHANGE))
			release(t, victim, release_fn, arg);
		return e;
	}
	case REC_SETATTR:
		inode = tree_get(t, r->ino);
		if (!inode)
			return -ESTALE;
		if (r->set & REC_SET_MODE)
			inode->mode = (inode->mode & S_IFMT) |
				      (r->mode & 07777);
		if (r->set & REC_SET_UID)
			inode->uid = r->uid;
		if (r->set & REC_SET_GID)
			inode->gid = r->gid;
		if (r->set & REC_SET_ATIME)
			inode->atime = r->atime;
		if (r->set & REC_SET_MTIME)
			inode->mtime = r->mtime;
		inode->ctime = r->time;
		tree_inode_changed(t, inode);
		return 0;
	case REC_CONTENT:
		inode = tree_get(t, r->ino);
		if (!inode)
			return -ESTALE;
		if (!S_ISREG(inode->mode))
			return -EINVAL;
		/* Replay sees only the size of an empty ref: so must we. */
		inode->content = r->content;
		if (r->content.size == 0)
			memset(&inode->content, 0, sizeof(inode->content));
		if (!inode->file)
			inode->size = r->content.size;
		inode->mtime = r->mtime;
		inode->ctime = r->time;
		tree_inode_changed(t, inode);
		return 0;
	case REC_APPEND:
		inode = tree_get(t, r->ino);
		if (!inode)
			return -ESTALE;
		if (!S_ISREG(inode->mode) || r->off > inode->size)
			return -EINVAL;
		if (r->off + r->data_len > inode->size)
			inode->size = r->off + r->data_len;
		inode->mtime = r->mtime;
		inode->ctime = r->time;
		tree_inode_changed(t, inode);
		return 0;
	}
	return -EINVAL;
}

/* ---- parsing (replay) ---- */

static int get_u64(json_t *o, const char *k, uint64_t *v)
{
	json_t *x = json_object_get(o, k);
	if (!json_is_integer(x) || json_integer_value(x) < 0)
		return -1;
	*v = (uint64_t)json_integer_value(x);
	return 0;
}

static int get_u32(json_t *o, const char *k, uint32_t *v)
{
	uint64_t x;
	if (get_u64(o, k, &x) || x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static int get_time(json_t *o, const char *k, struct timespec *ts)
{
	json_t *x = json_object_get(o, k);
	if (!json_is_integer(x))
		return -1;
	*ts = ns_to_ts(json_integer_value(x));
	return 0;
}

/* "<k>": a string, or "b<k>": base64url bytes decoded into buf (cap
 * bytes, NUL-terminated; no NUL inside).  Absent: *s = NULL, 0. */
static int get_text(json_t *o, const char *k, char *buf, size_t cap,
		    const char **s)
{
	char bkey[16];
	json_t *x = json_object_get(o, k);
	snprintf(bkey, sizeof(bkey), "b%s", k);
	json_t *b = json_object_get(o, bkey);
	*s = NULL;
	if (x && b)
		return -1;
	if (x) {
		if (!json_is_string(x))
			return -1;
		*s = json_string_value(x);
		return 0;
	}
	if (!b)
		return 0;
	size_t n;
	const char *end, *text = json_string_value(b);
	if (!text ||
	    sodium_base642bin((unsigned char *)buf, cap - 1, text,
			      strlen(text), NULL, &n, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    *end || memchr(buf, '\0', n))
		return -1;
	buf[n] = '\0';
	*s = buf;
	return 0;
}

static int get_name(json_t *o, const char *k, char *buf, const char **s)
{
	if (get_text(o, k, buf, TREE_NAME_MAX + 2, s) || !*s)
		return -1;
	return tree_check_name(*s) ? -1 : 0;
}

static int get_content(json_t *o, struct obj_ref *c)
{
	memset(c, 0, sizeof(*c));
	if (get_u64(o, "size", &c->size))
		return -1;
	if (c->size == 0)
		return 0;
	json_t *cid = json_object_get(o, "cid"), *key = json_object_get(o, "key");
	uint32_t depth;
	size_t key_len;
	const char *end;
	if (!json_is_string(cid) || !json_is_string(key) ||
	    get_u32(o, "depth", &depth) || depth > OBJ_DEPTH_MAX)
		return -1;
	const char *ks = json_string_value(key);
	if (cid_parse(&c->cid, json_string_value(cid),
		      strlen(json_string_value(cid))) != 0 ||
	    !cid_is_raw_sha256(&c->cid) ||
	    sodium_base642bin(c->key, IPMD_KEY_BYTES, ks, strlen(ks), NULL,
			      &key_len, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    key_len != IPMD_KEY_BYTES || *end)
		return -1;
	c->depth = (uint8_t)depth;
	return 0;
}

/* An append's "data": 1 … RECORD_APPEND_MAX bytes of base64url, into
 * tb->data (malloc'ed here, wiped and freed by record_text_done). */
static int get_bytes(json_t *o, const char *k, struct record_text *tb,
		     struct record *r)
{
	json_t *x = json_object_get(o, k);
	const char *text = json_string_value(x), *end;
	size_t n;
	if (!text || tb->data)
		return -1;
	tb->data = malloc(RECORD_APPEND_MAX);
	if (!tb->data ||
	    sodium_base642bin(tb->data, RECORD_APPEND_MAX, text, strlen(text),
			      NULL, &n, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    *end || n == 0)
		return -1;
	r->data = tb->data;
	r->data_len = n;
	return 0;
}

/* A create's "rdev": there exactly when the mode is a device node's
 * (records from before special files have none, and make none). */
static int get_rdev(json_t *o, struct record *r)
{
	if (!tree_has_rdev(r->mode))
		return json_object_get(o, "rdev") ? -1 : 0;
	return get_u64(o, "rdev", &r->rdev);
}

/* Room for names and targets decoded from base64url. */
IPMD_MUST_CHECK
static int parse(json_t *o, struct record *r, struct record_text *tb)
{
	memset(r, 0, sizeof(*r));
	json_t *op = json_object_get(o, "op");
	if (!json_is_string(op))
		return -1;
	for (size_t i = 1; i < OP_COUNT; i++)
		if (!strcmp(json_string_value(op), op_names[i]))
			r->op = (enum record_op)i;
	if (!r->op || get_time(o, "time", &r->time))
		return -1;
	json_t *x;
	bool rmdir_ok;
	switch (r->op) {
	case REC_CREATE:
		if (get_text(o, "target", tb->target, sizeof(tb->target),
			     &r->target))
			return -1;
		return get_u64(o, "dir", &r->dir) ||
		       get_name(o, "name", tb->name, &r->name) ||
		       get_u64(o, "ino", &r->ino) || r->ino == 0 ||
		       get_u32(o, "mode", &r->mode) ||
		       get_u32(o, "uid", &r->uid) ||
		       get_u32(o, "gid", &r->gid) ||
		       !create_mode_ok(r->mode, r->target) ||
		       get_rdev(o, r);
	case REC_LINK:
		return get_u64(o, "ino", &r->ino) ||
		       get_u64(o, "dir", &r->dir) ||
		       get_name(o, "name", tb->name, &r->name);
	case REC_UNLINK:
		x = json_object_get(o, "rmdir");
		rmdir_ok = json_is_boolean(x);
		r->rmdir = rmdir_ok && json_is_true(x);
		return get_u64(o, "dir", &r->dir) ||
		       get_name(o, "name", tb->name, &r->name) || !rmdir_ok;
	case REC_RENAME:
		return get_u64(o, "dir", &r->dir) ||
		       get_name(o, "name", tb->name, &r->name) ||
		       get_u64(o, "newdir", &r->newdir) ||
		       get_name(o, "newname", tb->newname, &r->newname) ||
		       get_u32(o, "flags", &r->flags);
	case REC_SETATTR:
		return get_u64(o, "ino", &r->ino) ||
		       get_u32(o, "set", &r->set) ||
		       get_u32(o, "mode", &r->mode) ||
		       get_u32(o, "uid", &r->uid) ||
		       get_u32(o, "gid", &r->gid) ||
		       get_time(o, "atime", &r->atime) ||
		       get_time(o, "mtime", &r->mtime);
	case REC_CONTENT:
		return get_u64(o, "ino", &r->ino) ||
		       get_time(o, "mtime", &r->mtime) ||
		       get_content(o, &r->content);
	case REC_APPEND:
		return get_u64(o, "ino", &r->ino) ||
		       get_u64(o, "off", &r->off) ||
		       get_bytes(o, "data", tb, r) ||
		       get_time(o, "mtime", &r->mtime) ||
		       r->off > (uint64_t)INT64_MAX - r->data_len;
	}
	return -1;
}

int record_decode(const uint8_t *payload, size_t len, struct record *r,
		  struct record_text *tb)
{
	json_error_t err;
	json_t *o = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES,
			       &err);
	tb->parsed = o;
	tb->data = NULL;
	return json_is_object(o) && !parse(o, r, tb) ? 0 : -EBADMSG;
}

/* The parsed text of an append holds its bytes in base64: as secret. */
static void wipe_strings(json_t *o)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
		if (json_is_string(v))
			sodium_memzero((void *)json_string_value(v),
				       json_string_length(v));
}

void record_text_done(struct record_text *tb)
{
	if (!tb)
		return;
	if (tb->data) {
		wipe_free(tb->data, RECORD_APPEND_MAX);
		tb->data = NULL;
		wipe_strings(tb->parsed);
	}
	json_decref(tb->parsed);
}

int record_replay(struct fs_tree *t, const uint8_t *payload, size_t len)
{
	struct record r;
	struct record_text *tb = malloc(sizeof(*tb));
	int e = !tb ? -ENOMEM : record_decode(payload, len, &r, tb);
	if (!e)
		e = record_apply(t, &r, NULL, NULL);
	sodium_memzero(&r.content, sizeof(r.content));
	record_text_done(tb);
	free(tb);
	return e;
}

/* ---- the merge record ---- */

static json_t *cid_string(const struct cid *c)
{
	char text[CID_TEXT_MAX];
	if (!cid_is_raw_sha256(c) || cid_format(c, text, sizeof(text)) != 0)
		return NULL;
	return json_string(text);
}

static bool cid_of(const json_t *x, struct cid *c)
{
	return json_is_string(x) &&
	       cid_parse(c, json_string_value(x), json_string_length(x)) == 0 &&
	       cid_is_raw_sha256(c);
}

int record_merge_encode(const struct record_merge *m, char **json,
			size_t *len)
{
	if (!ts_ok(&m->time))
		return -EOVERFLOW;
	if (m->nbases > RECORD_MERGE_BASES_MAX ||
	    !cid_is_raw_sha256(&m->parent) || m->bound > INT64_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < m->nbases; i++)
		if (!cid_is_raw_sha256(&m->bases[i]))
			return -EINVAL;
	json_t *bases = json_array(), *o = json_object();
	int e = !bases || !o;
	for (unsigned i = 0; !e && i < m->nbases; i++)
		e = json_array_append_new(bases, cid_string(&m->bases[i]));
	/* Insertion order is output order (jansson ≥ 2.8): "op" first, so
	 * the text starts RECORD_MERGE_PREFIX. */
	if (!e)
		e = json_object_set_new(o, "op", json_string("merge")) |
		    json_object_set_new(o, "parent", cid_string(&m->parent)) |
		    json_object_set(o, "bases", bases) |
		    set_int(o, "time", ts_to_ns(&m->time));
	/* Only a virtual base (two bases or more) walks within it. */
	if (!e && m->nbases > 1 && m->bound)
		e = set_int(o, "bound", (json_int_t)m->bound);
	/* Only when set: false is its absence, as before it existed. */
	if (!e && m->index_local)
		e = json_object_set_new(o, "index_local", json_true());
	json_decref(bases);
	char *text = e ? NULL : json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	*json = text;
	*len = strlen(text);
	return 0;
}

int record_merge_parse(const uint8_t *payload, size_t len,
		       struct record_merge *m)
{
	memset(m, 0, sizeof(*m));
	json_t *o = json_loadb((const char *)payload, len,
			       JSON_REJECT_DUPLICATES, NULL);
	const json_t *op = json_object_get(o, "op");
	const json_t *bases = json_object_get(o, "bases");
	const json_t *bound = json_object_get(o, "bound");
	const json_t *idx = json_object_get(o, "index_local");
	/* One value, one encoding: a bound only with two bases or more,
	 * and never 0 (that is its absence); index_local only true. */
	bool ok = json_is_object(o) &&
		  json_object_size(o) ==
			  4u + (bound != NULL) + (idx != NULL) &&
		  (!idx || json_is_true(idx)) &&
		  (!bound || (json_is_integer(bound) &&
			      json_integer_value(bound) > 0 &&
			      json_array_size(bases) > 1)) &&
		  json_is_string(op) && !strcmp(json_string_value(op), "merge") &&
		  cid_of(json_object_get(o, "parent"), &m->parent) &&
		  json_is_array(bases) &&
		  json_array_size(bases) <= RECORD_MERGE_BASES_MAX &&
		  get_time(o, "time", &m->time) == 0;
	for (size_t i = 0; ok && i < json_array_size(bases); i++)
		ok = cid_of(json_array_get(bases, i), &m->bases[i]);
	if (ok) {
		m->nbases = (unsigned)json_array_size(bases);
		m->bound = bound ? (uint64_t)json_integer_value(bound) : 0;
		m->index_local = idx != NULL;
	}
	json_decref(o);
	if (!ok)
		memset(m, 0, sizeof(*m));
	return ok ? 0 : -EBADMSG;
}
