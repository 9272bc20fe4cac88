/* cache/outbox.c — local cache and upload outbox; see outbox.h. */
#include "cache/outbox.h"
#include "cache/lru.h"
#include "ipfs/bs_local.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define DIGEST 32
#define REC_ADD '+'
#define REC_DONE '-'
#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS 10000
#define SET_MIN_SLOTS 1024
/* Evict down to this share of the cap, so passes are rare. */
#define CAP_LOW_PERCENT 90

_Static_assert(OUTBOX_RECORD_BYTES == 1 + DIGEST, "op ‖ digest");

/* A set of digests: open addressing, linear probing, tombstones. */
struct dset {
	uint8_t (*keys)[DIGEST];
	uint8_t *state; /* 0 empty, 1 full, 2 deleted */
	size_t slots, used, filled; /* filled counts tombstones too */
};

/* FIFO of digests waiting for an uploader. */
struct dqueue {
	uint8_t (*items)[DIGEST];
	size_t cap, head, len;
};

struct outbox {
	struct blockstore base;
	struct blockstore *local, *remote;
	outbox_log_fn log;
	void *log_arg;
	bool read_only;
	bool cache_reads;
	char path[PATH_MAX];
	char dir[PATH_MAX];   /* the store */
	int fd;               /* the log, O_APPEND; -1 read-only */

	pthread_mutex_t lock; /* everything below */
	pthread_cond_t work, drained;
	struct dset pending;
	struct dqueue queue;
	bool log_dirty;       /* '+' written since the last fdatasync */
	bool stopping;
	/* outbox_start() ran: the journal's replay (which puts back blocks
	 * whose '+' a crash may have lost) is over. */
	bool started;
	uint64_t resume_at_ms; /* uploads pause until then after a failure */
	unsigned backoff_ms;
	unsigned inflight;
	uint64_t queued_since_ms; /* when the queue last stopped being empty */
	unsigned drain_waiters;   /* in outbox_wait_drained: no coalescing */
	struct outbox_stats st;
	unsigned nthreads, want_threads;
	pthread_t threads[OUTBOX_MAX_UPLOADERS];
	struct lru *lru;      /* with a cap only */
	uint64_t cap;
	bool evicting;        /* a pass is asking the node, lock dropped */
};

/* The ops table's name, compared by address: is this store an outbox? */
static const char outbox_name[] = "outbox";

static struct outbox *to_ob(struct blockstore *bs)
{
	return (struct outbox *)bs;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void say(struct outbox *o, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(struct outbox *o, int prio, const char *fmt, ...)
{
	if (!o->log)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->log(prio, msg, o->log_arg);
}

/* ------------------------------------------------------------ digest set */

static size_t dhash(const uint8_t *d, size_t slots)
{
	uint64_t h;
	memcpy(&h, d, sizeof(h)); /* a SHA-256 digest is uniform already */
	return (size_t)h & (slots - 1);
}

static int dset_grow(struct dset *s, size_t slots)
{
	struct dset n = {.slots = slots};
	n.keys = calloc(slots, DIGEST);
	n.state = calloc(slots, 1);
	if (!n.keys || !n.state) {
		free(n.keys);
		free(n.state);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->slots; i++) {
		if (s->state[i] != 1)
			continue;
		size_t j = dhash(s->keys[i], slots);
		while (n.state[j])
			j = (j + 1) & (slots - 1);
		memcpy(n.keys[j], s->keys[i], DIGEST);
		n.state[j] = 1;
		n.used++;
	}
	n.filled = n.used;
	free(s->keys);
	free(s->state);
	*s = n;
	return 0;
}

static bool dset_has(const struct dset *s, const uint8_t *d)
{
	if (!s->slots)
		return false;
	for (size_t j = dhash(d, s->slots);; j = (j + 1) & (s->slots - 1)) {
		if (s->state[j] == 0)
			return false;
		if (s->state[j] == 1 && !memcmp(s->keys[j], d, DIGEST))
			return true;
	}
}

/* 1 added, 0 already there, or -ENOMEM. */
static int dset_add(struct dset *s, const uint8_t *d)
{
	if (dset_has(s, d))
		return 0;
	if ((s->filled + 1) * 2 > s->slots) {
		/* Rehash at half full (tombstones count), to a quarter. */
		size_t slots = SET_MIN_SLOTS;
		while (slots < (s->used + 1) * 4)
			slots *= 2;
		if (dset_grow(s, slots))
			return -ENOMEM;
	}
	size_t j = dhash(d, s->slots);
	while (s->state[j] == 1)
		j = (j + 1) & (s->slots - 1);
	if (s->state[j] == 0)
		s->filled++;
	memcpy(s->keys[j], d, DIGEST);
	s->state[j] = 1;
	s->used++;
	return 1;
}

static bool dset_del(struct dset *s, const uint8_t *d)
{
	if (!s->slots)
		return false;
	for (size_t j = dhash(d, s->slots);; j = (j + 1) & (s->slots - 1)) {
		if (s->state[j] == 0)
			return false;
		if (s->state[j] == 1 && !memcmp(s->keys[j], d, DIGEST)) {
			s->state[j] = 2;
			s->used--;
			return true;
		}
	}
}

static void dset_free(struct dset *s)
{
	free(s->keys);
	free(s->state);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------ queue */

static int dq_push(struct dqueue *q, const uint8_t *d)
{
	if (q->len == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 256;
		uint8_t(*n)[DIGEST] = malloc(cap * DIGEST);
		if (!n)
			return -ENOMEM;
		for (size_t i = 0; i < q->len; i++)
			memcpy(n[i], q->items[(q->head + i) % q->cap], DIGEST);
		free(q->items);
		q->items = n;
		q->cap = cap;
		q->head = 0;
	}
	memcpy(q->items[(q->head + q->len) % q->cap], d, DIGEST);
	q->len++;
	return 0;
}

static bool dq_pop(struct dqueue *q, uint8_t *d)
{
	if (!q->len)
		return false;
	memcpy(d, q->items[q->head], DIGEST);
	q->head = (q->head + 1) % q->cap;
	q->len--;
	return true;
}

/* ------------------------------------------------------------ log */

static void cid_of_digest(struct cid *c, const uint8_t *d)
{
	uint8_t b[CID_RAW_BYTES] = {CID_VERSION_1, CODEC_RAW, MH_SHA2_256,
				    SHA256_BYTES};
	memcpy(b + 4, d, DIGEST);
	/* A raw sha-256 CID built here, never refused: a zero CID would
	 * name nothing if it were. */
	if (cid_from_bytes(c, b, sizeof(b)) != 0)
		memset(c, 0, sizeof(*c));
}

static const uint8_t *digest_of(const struct cid *c)
{
	size_t n;
	uint64_t code;
	const uint8_t *d = cid_digest(c, &n, &code);
	return cid_is_raw_sha256(c) && d && n == DIGEST ? d : NULL;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
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
static int log_rec(struct outbox *o, char op, const uint8_t *d)
{
	if (o->fd < 0)
		return 0;
	int e = write_rec(o->fd, op, d);
	if (!e && op == REC_ADD)
		o->log_dirty = true;
	return e;
}

/* Read a log into a set (the pending digests).  -ENOENT if absent. */
static int read_log(const char *path, struct dset *s)
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
				e = dset_add(s, buf + i + 1) < 0 ? -ENOMEM : 0;
			else if (buf[i] == REC_DONE)
				dset_del(s, buf + i + 1);
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

struct seed_arg {
	struct dset *s;
	int err;
};

static int seed_one(const struct cid *cid, void *arg)
{
	struct seed_arg *a = arg;
	const uint8_t *d = digest_of(cid);
	if (d && dset_add(a->s, d) < 0)
		return a->err = -ENOMEM;
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int e = fsync(fd) ? -errno : 0;
	close(fd);
	return e;
}

/* Write the pending set as a fresh log, atomically; leave o->fd open on it
 * for appending and queue every pending digest. */
static int compact(struct outbox *o)
{
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", o->path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int e = 0;
	uint8_t rec[OUTBOX_RECORD_BYTES];
	rec[0] = REC_ADD;
	for (size_t i = 0; i < o->pending.slots && !e; i++) {
		if (o->pending.state[i] != 1)
			continue;
		memcpy(rec + 1, o->pending.keys[i], DIGEST);
		e = write_all(fd, rec, sizeof(rec));
		if (!e)
			e = dq_push(&o->queue, o->pending.keys[i]);
	}
	if (!e && fdatasync(fd))
		e = -errno;
	close(fd);
	if (!e && rename(tmp, o->path))
		e = -errno;
	if (!e)
		e = fsync_dir_of(o->path);
	if (e) {
		unlink(tmp);
		return e;
	}
	o->fd = open(o->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	return o->fd < 0 ? -errno : 0;
}

/* ------------------------------------------------------------ the store */

/* Under lock: d becomes pending, its '+' logged and it is queued for an
 * uploader.  1, 0 if it was pending already, or negative errno. */
static int enqueue(struct outbox *o, const uint8_t *d)
{
	int added = dset_add(&o->pending, d);
	if (added != 1)
		return added;
	int e = log_rec(o, REC_ADD, d);
	if (!e && o->queue.len == 0)
		o->queued_since_ms = now_ms();
	if (!e)
		e = dq_push(&o->queue, d);
	o->st.pending = o->pending.used;
	pthread_cond_signal(&o->work);
	return e ? e : 1;
}

static int ob_put(struct blockstore *bs, const uint8_t *data, size_t len,
		  unsigned flags, struct cid *cid_out)
{
	struct outbox *o = to_ob(bs);
	struct cid cid;
	/* Already here and not pending: on the remote (the invariant), so
	 * nothing to upload.  Asked before the put, which can't tell.  Not
	 * before start: a block replayed from the journal may be here with
	 * its '+' lost in a crash. */
	bool on_remote = false;
	if (!o->read_only) {
		cid_of_raw_block(&cid, data, len);
		const uint8_t *d0 = digest_of(&cid);
		pthread_mutex_lock(&o->lock);
		bool ask = d0 && o->started && !dset_has(&o->pending, d0);
		pthread_mutex_unlock(&o->lock);
		on_remote = ask && bs_has(o->local, &cid) == 1;
	}
	int e = bs_put(o->local, data, len, flags, &cid);
	if (e)
		return e;
	if (cid_out)
		*cid_out = cid;
	const uint8_t *d = digest_of(&cid);
	if (!d || o->read_only)
		return 0;
	pthread_mutex_lock(&o->lock);
	if (o->lru && lru_touch(o->lru, d, len, wall_ms()) < 0)
		e = -ENOMEM;
	if (!e && !on_remote) {
		int added = enqueue(o, d);
		e = added < 0 ? added : 0;
	}
	bool sync_log = false;
	/* Also when another put queued it first: its '+' may not be synced
	 * yet, and this caller was promised durability. */
	sync_log = !e && (flags & BS_PUT_DURABLE) && o->fd >= 0 &&
		   dset_has(&o->pending, d);
	pthread_mutex_unlock(&o->lock);
	/* Outside the lock: uploaders and other puts go on meanwhile.  The
	 * fd lives as long as the outbox (the log is compacted only at
	 * open).  log_dirty stays set: a '+' written after ours may have
	 * missed this sync, and the next sync() costs one fdatasync more. */
	if (sync_log && fdatasync(o->fd) != 0)
		e = -errno;
	return e;
}

/* A block here was used: it becomes the most recently used. */
static void touch(struct outbox *o, const struct cid *cid, size_t len)
{
	const uint8_t *d = o->lru ? digest_of(cid) : NULL;
	if (!d)
		return;
	pthread_mutex_lock(&o->lock);
	lru_touch(o->lru, d, len, wall_ms()); /* -ENOMEM: only less exact */
	pthread_mutex_unlock(&o->lock);
}

static int ob_get(struct blockstore *bs, const struct cid *cid, uint8_t *buf,
		  size_t cap, size_t *len)
{
	struct outbox *o = to_ob(bs);
	int e = bs_get(o->local, cid, buf, cap, len);
	if (!e)
		touch(o, cid, *len);
	if (e != -ENOENT || !o->remote)
		return e;
	e = bs_get(o->remote, cid, buf, cap, len);
	pthread_mutex_lock(&o->lock);
	if (e)
		o->st.remote_read_errors++;
	else
		o->st.remote_reads++;
	pthread_mutex_unlock(&o->lock);
	if (e) {
		char text[CID_TEXT_MAX] = "?";
		cid_format(cid, text, sizeof(text));
		say(o, e == -EBADMSG ? LOG_ERR : LOG_WARNING,
		    "block %s: not here and the node %s: %s", text,
		    e == -EBADMSG ? "sent wrong bytes (rejected)"
				  : "could not give it",
		    strerror(-e));
		*len = 0;
		return e == -ENOBUFS ? e : -EIO;
	}
	/* Keep it as cache: it is on the node, so it's not pending. */
	if (o->cache_reads && bs_put(o->local, buf, *len, 0, NULL) == 0)
		touch(o, cid, *len);
	return 0;
}

static int ob_has(struct blockstore *bs, const struct cid *cid)
{
	struct outbox *o = to_ob(bs);
	int r = bs_has(o->local, cid);
	if (r != 0 || !o->remote)
		return r;
	return bs_has(o->remote, cid);
}

static int ob_remove(struct blockstore *bs, const struct cid *cid)
{
	struct outbox *o = to_ob(bs);
	int e = bs_remove(o->local, cid);
	const uint8_t *d = digest_of(cid);
	if (d && (e == 0 || e == -ENOENT)) {
		pthread_mutex_lock(&o->lock);
		if (o->lru)
			lru_forget(o->lru, d);
		if (dset_del(&o->pending, d))
			log_rec(o, REC_DONE, d);
		o->st.pending = o->pending.used;
		pthread_cond_broadcast(&o->drained);
		pthread_mutex_unlock(&o->lock);
	}
	return e;
}

static bool is_pending(const uint8_t *d, void *arg)
{
	return dset_has(&((struct outbox *)arg)->pending, d);
}

/* STORE/outbox.cap for `ipmaildir status`, another process: replaced
 * whole (rename), never synced — losing it loses only a figure. */
static void write_cap_file(struct outbox *o, uint64_t bytes, uint64_t evicted)
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

/* Bring the local store under the cap: drop the least recently used
 * blocks that are on the remote and were not used since `before`. */
static int evicted_path(const char *dir, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/%s", dir, OUTBOX_EVICTED_NAME);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void append_evicted(struct outbox *o, uint8_t (*v)[LRU_DIGEST],
			   size_t n)
{
	char path[PATH_MAX];
	int fd = evicted_path(o->dir, path, sizeof(path))
			 ? -1
			 : open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
				0600);
	size_t len = n * LRU_DIGEST;
	if (fd < 0 || write(fd, v, len) != (ssize_t)len)
		say(o, LOG_WARNING,
		    "%s: cannot record evicted blocks (gc may leave them "
		    "pinned on the node)",
		    path);
	if (fd >= 0)
		close(fd);
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
		cid_of_digest(&cid, d);
		e = fn(&cid, arg);
	}
	if (!e && ferror(f))
		e = -EIO;
	fclose(f);
	return e;
}

int outbox_evicted_rewrite(const char *dir,
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
	uint8_t d[LRU_DIGEST];
	while (fread(d, 1, sizeof(d), in) == sizeof(d)) {
		struct cid cid;
		cid_of_digest(&cid, d);
		if (keep(&cid, arg) && fwrite(d, 1, sizeof(d), out) != sizeof(d))
			e = -EIO;
	}
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

/* How many of the picked blocks v[0 … n), in LRU order, the node says it
 * has (block/stat): an upload's answer may have claimed a block stored
 * and pinned that the node does not hold, and a dropped block would then
 * be nowhere.  Asked without the lock, up to the first block not
 * confirmed: a node lacking a block makes its stat wait out node_timeout,
 * so one pass pays that at most once.  A block the node lacks is queued
 * for upload again (the invariant "not pending = on the node" was
 * false for it); after any other failure it just stays. */
static size_t confirm_on_remote(struct outbox *o, uint8_t (*v)[LRU_DIGEST],
				size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct cid cid;
		cid_of_digest(&cid, v[i]);
		int r = bs_has(o->remote, &cid);
		if (r == 1)
			continue;
		char text[CID_TEXT_MAX] = "?";
		cid_format(&cid, text, sizeof(text));
		if (r != 0 && r != -ENOENT) {
			say(o, LOG_WARNING,
			    "block %s: the node could not confirm it has it "
			    "(%s): kept here",
			    text, strerror(-r));
			return i;
		}
		pthread_mutex_lock(&o->lock);
		r = enqueue(o, v[i]);
		pthread_mutex_unlock(&o->lock);
		say(o, LOG_WARNING,
		    "block %s: the node does not have it although it "
		    "confirmed its upload: kept here, %s",
		    text, r < 0 ? "and queueing it again failed"
				: "and uploaded again");
		return i;
	}
	return n;
}

static void evict(struct outbox *o, uint64_t before)
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
		if (dset_has(&o->pending, v[i]))
			continue;
		struct cid cid;
		cid_of_digest(&cid, v[i]);
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
		write_cap_file(o, bytes1, total);
	if (dropped)
		say(o, LOG_INFO,
		    "local store over its cap (%llu MiB): dropped %llu blocks "
		    "already on the node, %llu -> %llu KiB",
		    (unsigned long long)(o->cap >> 20),
		    (unsigned long long)dropped,
		    (unsigned long long)(bytes0 >> 10),
		    (unsigned long long)(bytes1 >> 10));
}

static int ob_sync(struct blockstore *bs)
{
	struct outbox *o = to_ob(bs);
	/* What is put from now on is not covered by this sync. */
	uint64_t before = wall_ms();
	int e = bs_sync(o->local);
	if (e)
		return e;
	pthread_mutex_lock(&o->lock);
	bool dirty = o->log_dirty;
	o->log_dirty = false;
	pthread_mutex_unlock(&o->lock);
	if (dirty && o->fd >= 0 && fdatasync(o->fd)) {
		e = -errno;
		pthread_mutex_lock(&o->lock);
		o->log_dirty = true;
		pthread_mutex_unlock(&o->lock);
	}
	if (!e)
		evict(o, before);
	return e;
}

static int ob_pin(struct blockstore *bs, const struct cid *cid)
{
	struct outbox *o = to_ob(bs);
	return o->remote ? bs_pin(o->remote, cid) : bs_pin(o->local, cid);
}

static int ob_unpin(struct blockstore *bs, const struct cid *cid)
{
	struct outbox *o = to_ob(bs);
	return o->remote ? bs_unpin(o->remote, cid) : bs_unpin(o->local, cid);
}

static int ob_iterate(struct blockstore *bs, bs_iterate_fn fn, void *arg)
{
	return bs_iterate(to_ob(bs)->local, fn, arg);
}

static int ob_usage(struct blockstore *bs, struct bs_usage *u)
{
	return bs_usage(to_ob(bs)->local, u);
}

/* ------------------------------------------------------------ uploads */

static void wait_until(pthread_cond_t *c, pthread_mutex_t *m, uint64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(c, m, &ts);
}

/* Under lock: one block's upload is over (e == 0), or it vanished from
 * the local store (nothing left to upload), or it failed (e < 0: queued
 * again). */
static void block_done(struct outbox *o, const uint8_t *d, int e,
		       bool vanished)
{
	if (!e || vanished) {
		if (dset_del(&o->pending, d))
			log_rec(o, REC_DONE, d);
		if (!e)
			o->st.uploaded++;
	} else {
		dq_push(&o->queue, d); /* try again later */
		o->st.upload_errors++;
	}
}

/* Under lock: after a batch, whose first failure was e (0: none) and
 * which stored something or not.  One batch moves the backoff once. */
static void batch_done(struct outbox *o, int e, bool stored)
{
	if (stored && !e) {
		if (o->st.last_error)
			say(o, LOG_NOTICE, "uploads to the node work again");
		o->st.last_error = 0;
		o->backoff_ms = 0;
	}
	if (e) {
		if (e != o->st.last_error) {
			char msg[300] = "";
			if (o->remote)
				snprintf(msg, sizeof(msg), "%s", strerror(-e));
			say(o, LOG_WARNING,
			    "uploads to the node fail (%s); %llu blocks wait "
			    "in the outbox, retrying",
			    msg, (unsigned long long)o->pending.used);
		}
		o->st.last_error = e;
		o->backoff_ms = o->backoff_ms ? o->backoff_ms * 2
					      : BACKOFF_FIRST_MS;
		if (o->backoff_ms > BACKOFF_MAX_MS)
			o->backoff_ms = BACKOFF_MAX_MS;
		o->resume_at_ms = now_ms() + o->backoff_ms;
	}
	o->st.pending = o->pending.used;
	if (o->pending.used == 0)
		pthread_cond_broadcast(&o->drained);
}

#define UPLOAD_BATCH_BLOCKS 128

/*
 * Coalescing: an uploader starts a batch once UPLOAD_BATCH_BLOCKS blocks
 * are queued or the queue has been non-empty for OUTBOX_COALESCE_MS — at
 * once while someone waits for the drain (unmount) or at stop.  A
 * delivery queues a few blocks at moments apart; sent as they come, each
 * is one request, and a node on the same machine spends ~4 ms of CPU on
 * each (js-ipfs), taken from the mail software.  Batched, a third of that.
 */
static bool coalescing(const struct outbox *o, uint64_t now, uint64_t *until)
{
	if (o->stopping || o->drain_waiters || o->queue.len == 0 ||
	    o->queue.len >= UPLOAD_BATCH_BLOCKS)
		return false;
	*until = o->queued_since_ms + OUTBOX_COALESCE_MS;
	return now < *until;
}

/*
 * An uploader's batch: up to UPLOAD_BATCH_BLOCKS queued blocks, read from
 * the local store into one arena, handed to the remote in one
 * bs_put_many (a node stores a batch in one request, see
 * ipfs/bs_kubo.h).  The arena holds one block of the largest size, and
 * about one request's body of small ones: a batch is one request (two at
 * worst), which bounds how long unmount waits for a busy uploader.  A
 * block that no longer fits waits for the next batch.
 */
#define UPLOAD_ARENA_BYTES BLOCK_MAX_BYTES

struct upload_batch {
	uint8_t digests[UPLOAD_BATCH_BLOCKS][DIGEST];
	struct bs_block blocks[UPLOAD_BATCH_BLOCKS];
	int results[UPLOAD_BATCH_BLOCKS];
	int read[UPLOAD_BATCH_BLOCKS]; /* the local read: 0, -ENOENT, … */
	uint8_t arena[UPLOAD_ARENA_BYTES];
};

/* Outside the lock: read the n blocks of b, upload those read.  Returns
 * the first upload failure (0: none); b->read and b->results say what
 * happened to each block (-ENOBUFS read: did not fit, not tried). */
static int upload_batch(struct outbox *o, struct upload_batch *b, size_t n)
{
	struct bs_block send[UPLOAD_BATCH_BLOCKS];
	size_t at[UPLOAD_BATCH_BLOCKS], m = 0, used = 0;
	for (size_t i = 0; i < n; i++) {
		struct cid cid;
		cid_of_digest(&cid, b->digests[i]);
		size_t len = 0;
		b->read[i] = bs_get(o->local, &cid, b->arena + used,
				    UPLOAD_ARENA_BYTES - used, &len);
		b->results[i] = b->read[i];
		if (b->read[i] == -ENOENT) {
			char text[CID_TEXT_MAX] = "?";
			cid_format(&cid, text, sizeof(text));
			say(o, LOG_WARNING,
			    "outbox: block %s is no longer in the local store; "
			    "not uploaded",
			    text);
		}
		if (b->read[i])
			continue;
		send[m] = (struct bs_block){b->arena + used, len};
		at[m++] = i;
		used += len;
	}
	int first = 0;
	if (m > 0) {
		int results[UPLOAD_BATCH_BLOCKS];
		first = bs_put_many(o->remote, send, m, 0, results);
		for (size_t j = 0; j < m; j++)
			b->results[at[j]] = results[j];
	}
	return first;
}

static void *uploader_main(void *arg)
{
	struct outbox *o = arg;
	struct upload_batch *b = malloc(sizeof(*b));
	if (!b)
		return NULL;
	pthread_mutex_lock(&o->lock);
	while (!o->stopping) {
		uint64_t t = now_ms(), until;
		if (t < o->resume_at_ms) {
			wait_until(&o->work, &o->lock, o->resume_at_ms - t);
			continue;
		}
		if (coalescing(o, t, &until)) {
			wait_until(&o->work, &o->lock, until - t);
			continue;
		}
		size_t n = 0;
		while (n < UPLOAD_BATCH_BLOCKS && dq_pop(&o->queue, b->digests[n]))
			if (dset_has(&o->pending, b->digests[n]))
				n++; /* else removed meanwhile */
		if (n == 0) {
			pthread_cond_wait(&o->work, &o->lock);
			continue;
		}
		o->inflight += (unsigned)n;
		pthread_mutex_unlock(&o->lock);

		int e = upload_batch(o, b, n);

		pthread_mutex_lock(&o->lock);
		o->inflight -= (unsigned)n;
		bool stored = false;
		for (size_t i = 0; i < n; i++) {
			if (b->read[i] == -ENOBUFS) {
				dq_push(&o->queue, b->digests[i]);
				continue;
			}
			/* A local read that failed otherwise is an upload
			 * failure: retried. */
			block_done(o, b->digests[i], b->results[i],
				   b->read[i] == -ENOENT);
			stored |= b->results[i] == 0;
			if (!e && b->results[i] && b->read[i] != -ENOENT)
				e = b->results[i];
		}
		batch_done(o, e, stored);
	}
	pthread_mutex_unlock(&o->lock);
	free(b);
	return NULL;
}

int outbox_start(struct blockstore *bs)
{
	struct outbox *o = to_ob(bs);
	if (bs->ops->name != outbox_name)
		return 0;
	pthread_mutex_lock(&o->lock);
	o->started = true;
	pthread_mutex_unlock(&o->lock);
	if (!o->remote || o->read_only || o->nthreads)
		return 0;
	evict(o, wall_ms());
	if (o->lru) {
		pthread_mutex_lock(&o->lock);
		uint64_t bytes = lru_bytes(o->lru), total = o->st.evicted;
		pthread_mutex_unlock(&o->lock);
		write_cap_file(o, bytes, total);
	}
	for (unsigned i = 0; i < o->want_threads; i++) {
		int e = pthread_create(&o->threads[i], NULL, uploader_main, o);
		if (e)
			return -e;
		o->nthreads++;
	}
	return 0;
}

static void ob_close(struct blockstore *bs)
{
	struct outbox *o = to_ob(bs);
	pthread_mutex_lock(&o->lock);
	o->stopping = true;
	pthread_cond_broadcast(&o->work);
	pthread_mutex_unlock(&o->lock);
	for (unsigned i = 0; i < o->nthreads; i++)
		pthread_join(o->threads[i], NULL);
	if (o->fd >= 0) {
		if (o->log_dirty)
			fdatasync(o->fd);
		close(o->fd);
	}
	bs_close(o->local);
	bs_close(o->remote);
	dset_free(&o->pending);
	lru_free(o->lru);
	free(o->queue.items);
	pthread_cond_destroy(&o->work);
	pthread_cond_destroy(&o->drained);
	pthread_mutex_destroy(&o->lock);
	free(o);
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
	const uint8_t *d = digest_of(cid);
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

static int seed_lru(struct outbox *o, uint64_t cap)
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

static const struct blockstore_ops outbox_ops = {
	.version = BLOCKSTORE_OPS_VERSION,
	.name = outbox_name,
	.put = ob_put,
	.get = ob_get,
	.has = ob_has,
	.remove = ob_remove,
	.sync = ob_sync,
	.pin = ob_pin,
	.unpin = ob_unpin,
	.iterate = ob_iterate,
	.usage = ob_usage,
	.close = ob_close,
};

static int log_path(const char *dir, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/%s", dir, OUTBOX_LOG_NAME);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int outbox_wrap(const struct outbox_config *cfg, struct blockstore **out)
{
	struct outbox *o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->base.ops = &outbox_ops;
	o->base.caps = cfg->local->caps & ~BS_CAP_LOCAL;
	if (cfg->remote)
		o->base.caps |= cfg->remote->caps & BS_CAP_PIN;
	else
		o->base.caps = cfg->local->caps;
	o->base.parent = cfg->local;
	o->local = cfg->local;
	o->remote = cfg->remote;
	o->log = cfg->log;
	o->log_arg = cfg->log_arg;
	o->read_only = cfg->read_only;
	snprintf(o->dir, sizeof(o->dir), "%s", cfg->dir);
	o->cache_reads = !cfg->read_only || cfg->cache_reads;
	o->fd = -1;
	o->want_threads = cfg->uploaders ? cfg->uploaders
					 : OUTBOX_DEFAULT_UPLOADERS;
	if (o->want_threads > OUTBOX_MAX_UPLOADERS)
		o->want_threads = OUTBOX_MAX_UPLOADERS;
	o->st.remote = cfg->remote != NULL;
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->work, NULL);
	pthread_cond_init(&o->drained, NULL);
	int e = log_path(cfg->dir, o->path, sizeof(o->path));
	if (!e)
		e = read_log(o->path, &o->pending);
	if (e == -ENOENT && !o->read_only) {
		/* First time with a node: everything here is still to go. */
		struct seed_arg a = {.s = &o->pending};
		e = bs_iterate(o->local, seed_one, &a);
		if (a.err)
			e = a.err;
		if (!e)
			say(o, LOG_NOTICE,
			    "outbox: %llu blocks of the local store queued "
			    "for the node",
			    (unsigned long long)o->pending.used);
	} else if (e == -ENOENT) {
		e = 0;
	}
	if (!e && !o->read_only)
		e = compact(o);
	if (!e && cfg->local_cap_bytes && o->remote && !o->read_only)
		e = seed_lru(o, cfg->local_cap_bytes);
	if (e) {
		o->local = o->remote = NULL; /* still the caller's */
		ob_close(&o->base);
		return e;
	}
	o->st.pending = o->pending.used;
	*out = &o->base;
	return 0;
}

struct blockstore *outbox_remote(struct blockstore *bs)
{
	if (!bs || bs->ops->name != outbox_name)
		return NULL;
	return to_ob(bs)->remote;
}

void outbox_stats(struct blockstore *bs, struct outbox_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!bs || bs->ops->name != outbox_name)
		return;
	struct outbox *o = to_ob(bs);
	pthread_mutex_lock(&o->lock);
	*st = o->st;
	st->pending = o->pending.used;
	st->local_bytes = o->lru ? lru_bytes(o->lru) : 0;
	pthread_mutex_unlock(&o->lock);
}

int outbox_wait_drained(struct blockstore *bs, unsigned timeout_ms)
{
	if (!bs || bs->ops->name != outbox_name)
		return 0;
	struct outbox *o = to_ob(bs);
	uint64_t end = now_ms() + timeout_ms;
	pthread_mutex_lock(&o->lock);
	o->drain_waiters++;
	pthread_cond_broadcast(&o->work); /* stop coalescing */
	while (o->pending.used) {
		uint64_t t = now_ms();
		if (t >= end)
			break;
		wait_until(&o->drained, &o->lock, end - t);
	}
	o->drain_waiters--;
	int e = o->pending.used ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&o->lock);
	return e;
}

int outbox_pending_in(const char *dir, uint64_t *pending)
{
	char path[PATH_MAX];
	struct dset s = {0};
	int e = log_path(dir, path, sizeof(path));
	if (!e)
		e = read_log(path, &s);
	*pending = s.used;
	dset_free(&s);
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

int outbox_queue_in(const char *dir, const struct cid *cid)
{
	char path[PATH_MAX];
	const uint8_t *d = digest_of(cid);
	int e = d ? log_path(dir, path, sizeof(path)) : -EINVAL;
	if (e)
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
	e = write_rec(fd, REC_ADD, d);
	if (!e && fdatasync(fd) != 0)
		e = -errno;
	close(fd);
	return e;
}

int outbox_pending_each(const char *dir, outbox_cid_fn fn, void *arg)
{
	char path[PATH_MAX];
	struct dset s = {0};
	int e = log_path(dir, path, sizeof(path));
	if (!e)
		e = read_log(path, &s);
	for (size_t i = 0; !e && i < s.slots; i++) {
		if (s.state[i] != 1)
			continue;
		struct cid cid;
		cid_of_digest(&cid, s.keys[i]);
		e = fn(&cid, arg);
	}
	dset_free(&s);
	return e;
}
