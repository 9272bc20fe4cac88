/* cache/outbox_log.c — STORE/outbox.log (outbox.h): '+' and '-' records
 * of 33 bytes, read into the pending set, compacted at every open, and
 * read or appended to for a store that is not mounted.
 */
#include "cache/outbox_internal.h"
#include "util/io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ob_cid_of_digest(struct cid *c, const uint8_t *d)
{
	uint8_t b[CID_RAW_BYTES] = {CID_VERSION_1, CODEC_RAW, MH_SHA2_256,
				    SHA256_BYTES};
	memcpy(b + 4, d, DIGEST);
	/* A raw sha-256 CID built here, never refused: a zero CID would
	 * name nothing if it were. */
	if (cid_from_bytes(c, b, sizeof(b)) != 0)
		memset(c, 0, sizeof(*c));
}

const uint8_t *ob_digest_of(const struct cid *c)
{
	size_t n;
	uint64_t code;
	const uint8_t *d = cid_digest(c, &n, &code);
	return cid_is_raw_sha256(c) && d && n == DIGEST ? d : NULL;
}

/* One record, op ‖ digest, appended to the log at fd. */
static int write_rec(int fd, char op, const uint8_t *d)
{
	uint8_t rec[OUTBOX_RECORD_BYTES];
	rec[0] = (uint8_t)op;
	memcpy(rec + 1, d, DIGEST);
	return write_all(fd, rec, sizeof(rec));
}

/* Under lock. */
int ob_log_rec(struct outbox *o, char op, const uint8_t *d)
{
	if (o->fd < 0)
		return 0;
	int e = write_rec(o->fd, op, d);
	if (!e && op == REC_ADD)
		o->log_dirty = true;
	return e;
}

/* Read a log into a set (the pending digests).  -ENOENT if absent. */
int ob_read_log(const char *path, struct cid_set *s)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	uint8_t buf[OUTBOX_RECORD_BYTES * 1024];
	size_t have = 0;
	int e = 0;
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = -errno;
			break;
		}
		have += (size_t)r;
		size_t i = 0;
		for (; i + OUTBOX_RECORD_BYTES <= have; i += OUTBOX_RECORD_BYTES) {
			if (buf[i] == REC_ADD)
				e = cid_set_add_digest(s, buf + i + 1) < 0
					    ? -ENOMEM
					    : 0;
			else if (buf[i] == REC_DONE)
				cid_set_del_digest(s, buf + i + 1);
			/* anything else: a damaged record; skip it */
			if (e)
				break;
		}
		memmove(buf, buf + i, have - i);
		have -= i;
		if (r == 0 || e)
			break; /* a torn tail (have > 0) is dropped */
	}
	close(fd);
	return e;
}

struct compact_arg {
	struct outbox *o;
	int fd; /* the fresh log */
};

/* One pending block: its '+' into the fresh log, and queued. */
static int compact_one(const struct cid *cid, void *arg)
{
	struct compact_arg *a = arg;
	const uint8_t *d = ob_digest_of(cid); /* a raw set holds raw CIDs */
	int e = write_rec(a->fd, REC_ADD, d);
	if (!e)
		e = ob_dq_push(&a->o->queue, d);
	return e;
}

/* Write the pending set as a fresh log, atomically; leave o->fd open on it
 * for appending and queue every pending digest. */
int ob_compact(struct outbox *o)
{
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", o->path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	struct compact_arg a = {o, fd};
	int e = cid_set_each(o->pending, compact_one, &a);
	if (!e && fdatasync(fd))
		e = -errno;
	close(fd);
	if (!e && rename(tmp, o->path))
		e = -errno;
	if (!e)
		e = fsync_parent(o->path);
	if (e) {
		unlink(tmp);
		return e;
	}
	o->fd = open(o->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	return o->fd < 0 ? -errno : 0;
}

int ob_log_path(const char *dir, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/%s", dir, OUTBOX_LOG_NAME);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int outbox_pending_in(const char *dir, uint64_t *pending)
{
	char path[PATH_MAX];
	struct cid_set *s = cid_set_new_raw();
	int e = s ? ob_log_path(dir, path, sizeof(path)) : -ENOMEM;
	if (!e)
		e = ob_read_log(path, s);
	*pending = s ? cid_set_count(s) : 0;
	cid_set_free(s);
	return e;
}

int outbox_queue_in(const char *dir, const struct cid *cid)
{
	return outbox_queue_in_many(dir, cid, 1);
}

int outbox_queue_in_many(const char *dir, const struct cid *cids, size_t n)
{
	char path[PATH_MAX];
	for (size_t i = 0; i < n; i++)
		if (!ob_digest_of(&cids[i]))
			return -EINVAL; /* before anything is written */
	int e = ob_log_path(dir, path, sizeof(path));
	if (e || n == 0)
		return e;
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* A crash may have left a torn last record (the log is compacted
	 * only when an outbox opens): cut it, or ours would be misread. */
	struct stat sb;
	if (fstat(fd, &sb) != 0 ||
	    (sb.st_size % OUTBOX_RECORD_BYTES &&
	     ftruncate(fd, sb.st_size - sb.st_size % OUTBOX_RECORD_BYTES))) {
		e = -errno;
		close(fd);
		return e;
	}
	for (size_t i = 0; !e && i < n; i++)
		e = write_rec(fd, REC_ADD, ob_digest_of(&cids[i]));
	/* One sync for them all: a record is whole or cut at the next open,
	 * and a block not queued after a crash is named by the next gc. */
	if (!e && fdatasync(fd) != 0)
		e = -errno;
	close(fd);
	return e;
}

int outbox_pending_each(const char *dir, outbox_cid_fn fn, void *arg)
{
	char path[PATH_MAX];
	struct cid_set *s = cid_set_new_raw();
	int e = s ? ob_log_path(dir, path, sizeof(path)) : -ENOMEM;
	if (!e)
		e = ob_read_log(path, s);
	if (!e)
		e = cid_set_each(s, fn, arg);
	cid_set_free(s);
	return e;
}
