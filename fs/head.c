/* fs/head.c — see head.h. */
#include "fs/head.h"

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

#define HEAD_SEALED_MAX (HEAD_PLAIN_MAX + IPMD_SEAL_OVERHEAD)
#define HEAD_KEYS 5 /* v, commit, seq, journal_gen, max_seq */
#define HEAD_TMP_SUFFIX ".tmp-XXXXXX"

static bool get_u64(const json_t *o, const char *name, uint64_t *out)
{
	const json_t *v = json_object_get(o, name);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static int head_parse(const uint8_t *plain, size_t len, struct head *h)
{
	json_t *o = json_loadb((const char *)plain, len, JSON_REJECT_DUPLICATES,
			       NULL);
	const json_t *v, *c;
	int rc = -EBADMSG;

	memset(h, 0, sizeof(*h));
	if (!json_is_object(o) || json_object_size(o) != HEAD_KEYS)
		goto out;
	v = json_object_get(o, "v");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
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

int head_read(const char *path, const uint8_t key[IPMD_KEY_BYTES],
	      struct head *h)
{
	uint8_t sealed[HEAD_SEALED_MAX + 1], plain[HEAD_PLAIN_MAX];
	size_t len = 0, plen = 0;
	int fd, rc;

	if (!path || !key || !h)
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* One byte more than the largest head tells an oversize file apart. */
	while (len < sizeof(sealed)) {
		ssize_t n = read(fd, sealed + len, sizeof(sealed) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			close(fd);
			return rc;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > HEAD_SEALED_MAX || len < IPMD_SEAL_OVERHEAD)
		return -EBADMSG;
	rc = seal_open(plain, &plen, sealed, len, BLOCK_JOURNAL, key);
	if (rc == 0)
		rc = head_parse(plain, plen, h);
	sodium_memzero(plain, sizeof(plain));
	return rc == 0 ? 0 : -EBADMSG;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd, rc = 0;

	if (!slash) {
		dir[0] = '.';
		n = 1;
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
	}
	dir[n] = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int head_json(const struct head *h, char **out)
{
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
	     json_object_set_new(o, "v", json_integer(1)) |
	     json_object_set_new(o, "seq", json_integer((json_int_t)h->seq)) |
	     json_object_set_new(o, "journal_gen",
				 json_integer((json_int_t)h->journal_gen)) |
	     json_object_set_new(o, "max_seq",
				 json_integer((json_int_t)h->max_seq));
	*out = rc == 0 ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return *out ? 0 : -ENOMEM;
}

int head_write(const char *path, const uint8_t key[IPMD_KEY_BYTES],
	       const struct head *h)
{
	uint8_t sealed[HEAD_SEALED_MAX];
	char tmp[PATH_MAX];
	char *text = NULL;
	size_t len;
	int fd, rc;

	if (!path || !key || !h)
		return -EINVAL;
	rc = head_json(h, &text);
	if (rc != 0)
		return rc;
	len = strlen(text);
	if (len > HEAD_PLAIN_MAX)
		rc = -EOVERFLOW;
	else
		rc = seal_with_key(sealed, (const uint8_t *)text, len,
				   BLOCK_JOURNAL, key, NULL);
	free(text);
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

bool head_accepts(const struct head *h, const struct head *seen,
		  uint64_t commit_seq, uint64_t *accepted)
{
	*accepted = h->max_seq;
	if (seen && seen->max_seq > *accepted)
		*accepted = seen->max_seq;
	return commit_seq == h->seq && commit_seq >= *accepted;
}
