/* cache/outbox_cap.c — the local store as a capped cache of the remote
 * (outbox.h, "Cap"): sizes and last uses seeded from the files, eviction
 * of the least recently used blocks the remote confirms it holds, and the
 * figures in STORE/outbox.cap and outbox.evicted.
 */
#include "cache/outbox_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "cache/lru.h"
#include "ipfs/bs_local.h"

/* Evict down to this share of the cap, so passes are rare. */
#define CAP_LOW_PERCENT 90

static bool is_pending(const uint8_t *d, void *arg)
{
	return cid_set_has_digest(((struct outbox *)arg)->pending, d);
}

/* STORE/outbox.cap for `ipmaildir status`, another process: replaced
 * whole (rename), never synced — losing it loses only a figure. */
void ob_write_cap_file(struct outbox *o, uint64_t bytes, uint64_t evicted)
{
	char path[PATH_MAX + 8], tmp[PATH_MAX + 16];
	const char *slash = strrchr(o->path, '/');
	int dl = slash ? (int)(slash - o->path) : 0;
	snprintf(path, sizeof(path), "%.*s%s%s", dl, o->path, dl ? "/" : "",
		 OUTBOX_CAP_NAME);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "cap %llu\nlocal_bytes %llu\nevicted %llu\n",
		(unsigned long long)o->cap, (unsigned long long)bytes,
		(unsigned long long)evicted);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		unlink(tmp);
}

static int evicted_path(const char *dir, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/%s", dir, OUTBOX_EVICTED_NAME);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void append_evicted(struct outbox *o, uint8_t (*v)[LRU_DIGEST],
			   size_t n)
{
	char path[PATH_MAX];
	size_t len = n * LRU_DIGEST;
	pthread_mutex_lock(&o->evicted_lock);
	int fd = evicted_path(o->dir, path, sizeof(path))
			 ? -1
			 : open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
				0600);
	bool ok = fd >= 0 && write(fd, v, len) == (ssize_t)len;
	if (fd >= 0)
		close(fd);
	pthread_mutex_unlock(&o->evicted_lock);
	if (!ok)
		ob_say(o, LOG_WARNING,
		       "%s: cannot record evicted blocks (gc may leave them "
		       "pinned on the node)",
		       path);
}

int outbox_evicted_each(const char *dir, outbox_cid_fn fn, void *arg)
{
	char path[PATH_MAX];
	int e = evicted_path(dir, path, sizeof(path));
	FILE *f = e ? NULL : fopen(path, "rbe");
	if (!f)
		return e ? e : -errno;
	uint8_t d[LRU_DIGEST];
	while (!e && fread(d, 1, sizeof(d), f) == sizeof(d)) {
		struct cid cid;
		ob_cid_of_digest(&cid, d);
		e = fn(&cid, arg);
	}
	if (!e && ferror(f))
		e = -EIO;
	fclose(f);
	return e;
}

static int evicted_rewrite(const char *dir,
			   bool (*keep)(const struct cid *cid, void *arg),
			   void *arg)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	int e = evicted_path(dir, path, sizeof(path));
	if (e)
		return e;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *in = fopen(path, "rbe");
	if (!in)
		return -errno;
	FILE *out = fopen(tmp, "wbe");
	if (!out) {
		e = -errno;
		fclose(in);
		return e;
	}
	/* Records in chunks, a short one last: the end is read once (a torn
	 * last record left out), so what is appended after that goes to
	 * the file being replaced — hence evicted_lock beside a mount. */
	enum { CHUNK = 256 };
	uint8_t d[CHUNK][LRU_DIGEST];
	size_t n;
	do {
		n = fread(d, LRU_DIGEST, CHUNK, in);
		for (size_t i = 0; i < n; i++) {
			struct cid cid;
			ob_cid_of_digest(&cid, d[i]);
			if (keep(&cid, arg) &&
			    fwrite(d[i], 1, LRU_DIGEST, out) != LRU_DIGEST)
				e = -EIO;
		}
	} while (n == CHUNK);
	if (ferror(in))
		e = -EIO;
	fclose(in);
	if (fflush(out) || fsync(fileno(out)))
		e = e ? e : -errno;
	if (fclose(out) && !e)
		e = -errno;
	if (!e && rename(tmp, path))
		e = -errno;
	if (e)
		unlink(tmp);
	return e;
}

int outbox_evicted_rewrite(const char *dir, struct blockstore *beside,
			   bool (*keep)(const struct cid *cid, void *arg),
			   void *arg)
{
	struct outbox *o = beside ? ob_find(beside) : NULL;
	if (!o)
		return evicted_rewrite(dir, keep, arg);
	/* An append between the read and the rename would be lost, and
	 * its blocks left pinned for good. */
	pthread_mutex_lock(&o->evicted_lock);
	int e = evicted_rewrite(o->dir, keep, arg);
	pthread_mutex_unlock(&o->evicted_lock);
	return e;
}

/* How many of the picked blocks v[0 … n), in LRU order, the node says it
 * holds itself (has(): block/stat, offline — one a peer holds would be
 * gone with that peer): an upload's answer may have claimed a block
 * stored and pinned that the node does not hold, and a dropped block
 * would then be nowhere.  Asked without the lock, up to the first block
 * not confirmed: a node too slow to answer makes its stat wait out
 * node_timeout, so one pass pays that at most once.  A block the node lacks is queued
 * for upload again (the invariant "not pending = on the node" was
 * false for it); after any other failure it just stays. */
static size_t confirm_on_remote(struct outbox *o, uint8_t (*v)[LRU_DIGEST],
				size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct cid cid;
		ob_cid_of_digest(&cid, v[i]);
		int r = bs_has(o->remote, &cid);
		if (r == 1)
			continue;
		char text[CID_TEXT_MAX] = "?";
		cid_format(&cid, text, sizeof(text));
		if (r != 0 && r != -ENOENT) {
			ob_say(o, LOG_WARNING,
			       "block %s: the node could not confirm it has it "
			       "(%s): kept here",
			       text, strerror(-r));
			return i;
		}
		pthread_mutex_lock(&o->lock);
		r = ob_enqueue(o, v[i]);
		pthread_mutex_unlock(&o->lock);
		ob_say(o, LOG_WARNING,
		       "block %s: the node does not have it although it "
		       "confirmed its upload: kept here, %s",
		       text, r < 0 ? "and queueing it again failed"
				   : "and uploaded again");
		return i;
	}
	return n;
}

/* Bring the local store under the cap: drop the least recently used
 * blocks that are on the remote and were not used since `before`. */
void ob_evict(struct outbox *o, uint64_t before)
{
	uint8_t(*v)[LRU_DIGEST];
	size_t n;
	pthread_mutex_lock(&o->lock);
	if (!o->lru || o->evicting || lru_bytes(o->lru) <= o->cap ||
	    lru_pick(o->lru, o->cap / 100 * CAP_LOW_PERCENT, before,
		     is_pending, o, &v, &n)) {
		pthread_mutex_unlock(&o->lock);
		return;
	}
	o->evicting = true;
	pthread_mutex_unlock(&o->lock);
	n = confirm_on_remote(o, v, n);
	pthread_mutex_lock(&o->lock);
	o->evicting = false;
	uint64_t dropped = 0, bytes0 = lru_bytes(o->lru);
	size_t gone = 0; /* v[0 … gone) are the removed ones */
	for (size_t i = 0; i < n; i++) {
		/* Under the lock, so a put can't make it pending between the
		 * check and the unlink; an unlink is short. */
		if (cid_set_has_digest(o->pending, v[i]))
			continue;
		struct cid cid;
		ob_cid_of_digest(&cid, v[i]);
		int e = bs_remove(o->local, &cid);
		if (e == 0 || e == -ENOENT) {
			lru_forget(o->lru, v[i]);
			memmove(v[gone++], v[i], LRU_DIGEST);
			dropped++;
		}
	}
	o->st.evicted += dropped;
	uint64_t bytes1 = lru_bytes(o->lru), total = o->st.evicted;
	pthread_mutex_unlock(&o->lock);
	if (gone && !o->read_only)
		append_evicted(o, v, gone);
	free(v);
	if (dropped && !o->read_only)
		ob_write_cap_file(o, bytes1, total);
	if (dropped)
		ob_say(o, LOG_INFO,
		       "local store over its cap (%llu MiB): dropped %llu "
		       "blocks already on the node, %llu -> %llu KiB",
		       (unsigned long long)(o->cap >> 20),
		       (unsigned long long)dropped,
		       (unsigned long long)(bytes0 >> 10),
		       (unsigned long long)(bytes1 >> 10));
}

struct lru_seed {
	struct outbox *o;
	uint8_t *buf;
	int err;
};

/* A block's size and last use, from its file when the local store is the
 * plain directory (else its bytes, and now). */
static int seed_lru_one(const struct cid *cid, void *arg)
{
	struct lru_seed *a = arg;
	const uint8_t *d = ob_digest_of(cid);
	if (!d)
		return 0;
	char path[PATH_MAX];
	struct stat sb;
	uint64_t size, tick;
	if (bs_local_path(a->o->local, cid, path, sizeof(path)) == 0 &&
	    stat(path, &sb) == 0) {
		size = (uint64_t)sb.st_size;
		struct timespec t = sb.st_atim.tv_sec > sb.st_mtim.tv_sec
					    ? sb.st_atim
					    : sb.st_mtim;
		tick = (uint64_t)t.tv_sec * 1000 +
		       (uint64_t)t.tv_nsec / 1000000;
	} else {
		size_t len;
		if (bs_get(a->o->local, cid, a->buf, BLOCK_MAX_BYTES, &len))
			return 0; /* gone meanwhile */
		size = len;
		tick = wall_ms();
	}
	if (lru_touch(a->o->lru, d, size, tick))
		return a->err = -ENOMEM;
	return 0;
}

int ob_seed_lru(struct outbox *o, uint64_t cap)
{
	struct lru_seed a = {.o = o, .buf = malloc(BLOCK_MAX_BYTES)};
	int e = a.buf ? lru_new(&o->lru) : -ENOMEM;
	if (!e)
		e = bs_iterate(o->local, seed_lru_one, &a);
	free(a.buf);
	if (a.err)
		e = a.err;
	o->cap = cap;
	return e;
}

int outbox_cap_in(const char *dir, struct outbox_cap_info *ci)
{
	char path[PATH_MAX];
	memset(ci, 0, sizeof(*ci));
	if (snprintf(path, sizeof(path), "%s/%s", dir, OUTBOX_CAP_NAME) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	unsigned long long cap, bytes, ev;
	int n = fscanf(f, "cap %llu local_bytes %llu evicted %llu", &cap,
		       &bytes, &ev);
	fclose(f);
	if (n != 3)
		return -EBADMSG;
	ci->cap_bytes = cap;
	ci->local_bytes = bytes;
	ci->evicted = ev;
	return 0;
}
