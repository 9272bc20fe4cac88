/* fs/store/head.c — see head.h. */
#include "fs/store/head.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/seal.h"
#include "fs/store/journal.h"
#include "util/io.h"

#define HEAD_SEALED_MAX (HEAD_PLAIN_MAX + IPMD_SEAL_OVERHEAD)
#define HEAD_KEYS 5 /* v, commit, seq, journal_gen, max_seq */
#define HEAD_KEYS_FIRST 6 /* and journal_first, from HEAD_V_FIRST on */
#define HEAD_TMP_SUFFIX ".tmp-XXXXXX"
#define HEAD_V_UNTYPED 1 /* sealed as BLOCK_JOURNAL */
#define HEAD_V_TYPED 2   /* sealed as its BLOCK_STATE_* kind */
#define HEAD_V_FIRST 3   /* typed, with journal_first: what STORE/head is
			  * written as (seen and pruned: HEAD_V_TYPED) */

static bool get_u64(const json_t *o, const char *name, uint64_t *out)
{
	const json_t *v = json_object_get(o, name);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static bool state_kind(enum block_kind kind)
{
	return kind == BLOCK_STATE_HEAD || kind == BLOCK_STATE_SEEN ||
	       kind == BLOCK_STATE_PRUNED;
}

/* typed: version 2 or 3 (journal_first); else version 1. */
static bool head_version(const json_t *o, bool typed, struct head *h)
{
	const json_t *v = json_object_get(o, "v");
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
	if (!typed)
		return n == HEAD_V_UNTYPED &&
		       json_object_size(o) == HEAD_KEYS;
	if (n == HEAD_V_TYPED)
		return json_object_size(o) == HEAD_KEYS;
	const json_t *first = json_object_get(o, "journal_first");
	if (n != HEAD_V_FIRST || !json_is_boolean(first) ||
	    json_object_size(o) != HEAD_KEYS_FIRST)
		return false;
	h->journal_first = json_is_true(first);
	return true;
}

IPMD_MUST_CHECK
static int head_parse(const uint8_t *plain, size_t len, bool typed,
		      struct head *h)
{
	json_t *o = json_loadb((const char *)plain, len, JSON_REJECT_DUPLICATES,
			       NULL);
	const json_t *c;
	int rc = -EBADMSG;

	memset(h, 0, sizeof(*h));
	if (!json_is_object(o) || !head_version(o, typed, h))
		goto out;
	if (!get_u64(o, "seq", &h->seq) ||
	    !get_u64(o, "journal_gen", &h->journal_gen) ||
	    !get_u64(o, "max_seq", &h->max_seq))
		goto out;
	c = json_object_get(o, "commit");
	if (json_is_string(c)) {
		if (cid_parse(&h->commit, json_string_value(c),
			      json_string_length(c)) != 0 ||
		    !cid_is_raw_sha256(&h->commit) || h->seq == 0)
			goto out;
	} else if (!json_is_null(c) || h->seq != 0) {
		/* No commit yet means nothing accepted yet either. */
		goto out;
	}
	if (h->max_seq < h->seq)
		goto out;
	rc = 0;
out:
	json_decref(o);
	if (rc != 0)
		memset(h, 0, sizeof(*h));
	return rc;
}

/* Open as the typed kind, else (when allowed) as an untyped file. */
IPMD_MUST_CHECK
static int head_open(const uint8_t *sealed, size_t len,
		     const uint8_t key[IPMD_KEY_BYTES], enum block_kind kind,
		     struct head *h, bool *untyped)
{
	uint8_t plain[HEAD_PLAIN_MAX];
	size_t plen = 0;
	int rc = seal_open(plain, &plen, sealed, len, kind, key);
	if (rc == 0)
		rc = head_parse(plain, plen, true, h);
	if (rc == 0 && untyped)
		*untyped = false;
	if (rc != 0 && untyped) {
		rc = seal_open(plain, &plen, sealed, len, BLOCK_JOURNAL, key);
		if (rc == 0)
			rc = head_parse(plain, plen, false, h);
		*untyped = rc == 0;
	}
	sodium_memzero(plain, sizeof(plain));
	return rc == 0 ? 0 : -EBADMSG;
}

int state_file_load(const char *path, uint8_t *sealed, size_t cap,
		    size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* One byte more than the largest file tells an oversize one apart. */
	uint8_t extra;
	int rc = read_full(fd, sealed, cap, len);
	size_t more = 0;
	if (rc == 0 && *len == cap)
		rc = read_full(fd, &extra, 1, &more);
	close(fd);
	if (rc)
		return rc;
	return more || *len < IPMD_SEAL_OVERHEAD ? -EBADMSG : 0;
}

int head_read(const char *path, const uint8_t key[IPMD_KEY_BYTES],
	      enum block_kind kind, struct head *h, bool *untyped)
{
	uint8_t sealed[HEAD_SEALED_MAX];
	size_t len = 0;

	if (!path || !key || !h || !state_kind(kind))
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	int rc = state_file_load(path, sealed, sizeof(sealed), &len);
	return rc ? rc : head_open(sealed, len, key, kind, h, untyped);
}

/* Only STORE/head is written as HEAD_V_FIRST: journal_first is about the
 * head alone (seen and pruned are never replayed from), and a release
 * before it parses a "v":3 file as damaged.  Seen and pruned stay
 * HEAD_V_TYPED, so such a release still reads them, and its fsck
 * --repair rebuilds a head it cannot read from seen (rollback protection
 * kept) rather than from the newest commit. */
static int head_json(const struct head *h, enum block_kind kind, char **out)
{
	const bool first = kind == BLOCK_STATE_HEAD;
	char text[CID_TEXT_MAX];
	json_t *o, *c;
	int rc;

	if (h->seq > INT64_MAX || h->journal_gen > INT64_MAX ||
	    h->max_seq > INT64_MAX || h->max_seq < h->seq ||
	    (h->commit.len == 0) != (h->seq == 0))
		return -EINVAL;
	if (h->commit.len > 0) {
		if (!cid_is_raw_sha256(&h->commit) ||
		    cid_format(&h->commit, text, sizeof(text)) != 0)
			return -EINVAL;
		c = json_string(text);
	} else {
		c = json_null();
	}
	o = json_object();
	if (!o || !c) {
		json_decref(c);
		json_decref(o);
		return -ENOMEM;
	}
	rc = json_object_set_new(o, "commit", c) |
	     json_object_set_new(o, "v", json_integer(first ? HEAD_V_FIRST
							    : HEAD_V_TYPED)) |
	     (first ? json_object_set_new(o, "journal_first",
					  json_boolean(h->journal_first))
		    : 0) |
	     json_object_set_new(o, "seq", json_integer((json_int_t)h->seq)) |
	     json_object_set_new(o, "journal_gen",
				 json_integer((json_int_t)h->journal_gen)) |
	     json_object_set_new(o, "max_seq",
				 json_integer((json_int_t)h->max_seq));
	*out = rc == 0 ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return *out ? 0 : -ENOMEM;
}

int state_file_write(const char *path, const uint8_t key[IPMD_KEY_BYTES],
		     enum block_kind kind, const uint8_t *plain, size_t len)
{
	uint8_t sealed[STATE_FILE_PLAIN_MAX + IPMD_SEAL_OVERHEAD];
	char tmp[PATH_MAX];
	int fd, rc;

	if (len > STATE_FILE_PLAIN_MAX)
		return -EOVERFLOW;
	rc = seal_with_key(sealed, plain, len, kind, key, NULL);
	if (rc != 0)
		return rc;
	len += IPMD_SEAL_OVERHEAD;
	if (snprintf(tmp, sizeof(tmp), "%s" HEAD_TMP_SUFFIX, path) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, sealed, len);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	return fsync_parent(path);
}

int head_write(const char *path, const uint8_t key[IPMD_KEY_BYTES],
	       enum block_kind kind, const struct head *h)
{
	char *text = NULL;

	if (!path || !key || !h || !state_kind(kind))
		return -EINVAL;
	int rc = head_json(h, kind, &text);
	if (rc != 0)
		return rc;
	size_t len = strlen(text);
	rc = len > HEAD_PLAIN_MAX
		     ? -EOVERFLOW
		     : state_file_write(path, key, kind,
					(const uint8_t *)text, len);
	free(text);
	return rc;
}

unsigned head_replay_flags(const struct head *h)
{
	return h->journal_first ? JOURNAL_REPLAY_FIRST_HELD : 0;
}

bool head_accepts(const struct head *h, const struct head *seen,
		  uint64_t commit_seq, uint64_t *accepted)
{
	*accepted = h->max_seq;
	if (seen && seen->max_seq > *accepted)
		*accepted = seen->max_seq;
	return commit_seq == h->seq && commit_seq >= *accepted;
}

/* One file of a set: read, with untyped files allowed for now. */
static void state_one(const char *path, const uint8_t key[IPMD_KEY_BYTES],
		      enum block_kind kind, struct head *h, int *err,
		      bool *untyped)
{
	*untyped = false;
	*err = path ? head_read(path, key, kind, h, untyped) : -ENOENT;
	if (*err) {
		memset(h, 0, sizeof(*h));
		*untyped = false;
		if (*err != -ENOENT)
			*err = -EBADMSG;
	}
}

int state_advance(const char *head_path, const char *seen_path,
		  const uint8_t key[IPMD_KEY_BYTES], const struct head *h,
		  enum state_failed *failed)
{
	enum state_failed unused;
	if (!failed)
		failed = &unused;
	*failed = STATE_FAILED_HEAD;
	int e = head_write(head_path, key, BLOCK_STATE_HEAD, h);
	if (!e) {
		*failed = STATE_FAILED_SEEN;
		e = head_write(seen_path, key, BLOCK_STATE_SEEN, h);
	}
	if (!e)
		*failed = STATE_FAILED_NONE;
	return e;
}

void state_read(const char *head_path, const char *seen_path,
		const char *pruned_path, const uint8_t key[IPMD_KEY_BYTES],
		struct state_set *s)
{
	bool u_seen, u_head, u_pruned;
	memset(s, 0, sizeof(*s));
	state_one(seen_path, key, BLOCK_STATE_SEEN, &s->seen, &s->seen_err,
		  &u_seen);
	state_one(head_path, key, BLOCK_STATE_HEAD, &s->head, &s->head_err,
		  &u_head);
	state_one(pruned_path, key, BLOCK_STATE_PRUNED, &s->pruned,
		  &s->pruned_err, &u_pruned);
	bool typed = (s->seen_err == 0 && !u_seen) ||
		     (s->head_err == 0 && !u_head);
	if (!typed) {
		s->untyped = u_seen || u_head || u_pruned;
		return;
	}
	/* A typed head or seen: this store was written with types, so an
	 * untyped file is an old copy put back (or another file's). */
	if (u_seen) {
		memset(&s->seen, 0, sizeof(s->seen));
		s->seen_err = -EBADMSG;
	}
	if (u_head) {
		memset(&s->head, 0, sizeof(s->head));
		s->head_err = -EBADMSG;
	}
	if (u_pruned) {
		memset(&s->pruned, 0, sizeof(s->pruned));
		s->pruned_err = -EBADMSG;
	}
}

int state_upgrade(const char *head_path, const char *seen_path,
		  const char *pruned_path, const uint8_t key[IPMD_KEY_BYTES],
		  struct state_set *s)
{
	int e = 0;
	if (!s->untyped)
		return 0;
	if (pruned_path && s->pruned_err == 0)
		e = head_write(pruned_path, key, BLOCK_STATE_PRUNED,
			       &s->pruned);
	if (!e && s->seen_err == 0)
		e = head_write(seen_path, key, BLOCK_STATE_SEEN, &s->seen);
	if (!e && s->head_err == 0)
		e = head_write(head_path, key, BLOCK_STATE_HEAD, &s->head);
	if (!e)
		s->untyped = false;
	return e;
}

enum state_problem state_check(const struct state_set *s,
			       bool store_has_data)
{
	/* The head first: a key that opens neither is said to be wrong. */
	if (s->head_err == -EBADMSG)
		return STATE_HEAD_DAMAGED;
	if (s->seen_err == -EBADMSG)
		return STATE_SEEN_DAMAGED;
	if (s->head_err == -ENOENT)
		return store_has_data || s->seen_err == 0 ? STATE_HEAD_MISSING
							  : STATE_OK;
	if (s->head.commit.len == 0 && s->seen_err == 0 &&
	    s->seen.max_seq > 0)
		return STATE_HEAD_EMPTY;
	/* Every commit writes seen after the head: a committed head without
	 * one lost it, and with it what the head may not fall below. */
	if (s->head.commit.len && s->seen_err == -ENOENT)
		return STATE_SEEN_MISSING;
	return STATE_OK;
}

const char *state_problem_text(enum state_problem p)
{
	switch (p) {
	case STATE_OK:
		return "";
	case STATE_HEAD_MISSING:
		return "STORE/head is missing but the store holds mail: "
		       "refusing to start an empty mailbox over it; run "
		       "ipmaildir fsck --repair";
	case STATE_HEAD_DAMAGED:
		return "STORE/head is damaged, an old copy, or not written "
		       "with this key; run ipmaildir fsck --repair";
	case STATE_HEAD_EMPTY:
		return "STORE/head names no commit but commits were accepted "
		       "here (STORE/seen): the head was replaced by an old "
		       "copy; run ipmaildir fsck --repair";
	case STATE_SEEN_MISSING:
		return "STORE/seen is missing: without it a rolled-back head "
		       "can't be told apart; run ipmaildir fsck --repair";
	case STATE_SEEN_DAMAGED:
		return "STORE/seen is damaged, an old copy, or not written "
		       "with this key: without it a rolled-back head can't be "
		       "told apart; run ipmaildir fsck --repair";
	}
	return "?";
}
