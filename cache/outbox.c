/* cache/outbox.c — local cache and upload outbox; see outbox.h.  This
 * file is the block store itself (put, get, has, remove, sync), opening
 * and closing it; outbox_internal.h says where the rest is.
 */
#include "cache/outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cache/lru.h"
#include "cache/outbox_internal.h"
#include "ipfs/cidset.h"

static const struct blockstore_ops outbox_ops;

struct outbox *ob_find(struct blockstore *bs)
{
	return (struct outbox *)bs_find(bs, &outbox_ops);
}

void ob_say(struct outbox *o, int prio, const char *fmt, ...)
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

/* Under lock: d becomes pending, its '+' logged and it is queued for an
 * uploader.  1, 0 if it was pending already, or negative errno. */
int ob_enqueue(struct outbox *o, const uint8_t *d)
{
	int added = cid_set_add_digest(o->pending, d);
	if (added != 1)
		return added;
	int e = ob_log_rec(o, REC_ADD, d);
	if (!e && o->queue.len == 0)
		o->queued_since_ms = now_ms();
	if (!e)
		e = ob_dq_push(&o->queue, d);
	o->st.pending = cid_set_count(o->pending);
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
		const uint8_t *d0 = ob_digest_of(&cid);
		pthread_mutex_lock(&o->lock);
		bool ask = d0 && o->started &&
			   !cid_set_has_digest(o->pending, d0);
		pthread_mutex_unlock(&o->lock);
		on_remote = ask && bs_has(o->local, &cid) == 1;
	}
	int e = bs_put(o->local, data, len, flags, &cid);
	if (e)
		return e;
	if (cid_out)
		*cid_out = cid;
	const uint8_t *d = ob_digest_of(&cid);
	if (!d || o->read_only)
		return 0;
	pthread_mutex_lock(&o->lock);
	if (o->lru && lru_touch(o->lru, d, len, wall_ms()) < 0)
		e = -ENOMEM;
	if (!e && !on_remote) {
		int added = ob_enqueue(o, d);
		e = added < 0 ? added : 0;
	}
	bool sync_log = false;
	/* Also when another put queued it first: its '+' may not be synced
	 * yet, and this caller was promised durability. */
	sync_log = !e && (flags & BS_PUT_DURABLE) && o->fd >= 0 &&
		   cid_set_has_digest(o->pending, d);
	pthread_mutex_unlock(&o->lock);
	/* Outside the lock: uploaders and other puts go on meanwhile.  The
	 * fd lives as long as the outbox (the log is compacted only at
	 * open).  log_dirty stays set: a '+' written after ours may have
	 * missed this sync, and the next sync() costs one fdatasync more. */
	if (sync_log && fdatasync(o->fd) != 0)
		e = -errno;
	return e;
}

int outbox_requeue(struct blockstore *bs, const struct cid *cid)
{
	struct outbox *o = ob_find(bs);
	const uint8_t *d = ob_digest_of(cid);
	if (!o || o->read_only || !d)
		return 0;
	/* Under the lock, as eviction removes under it: a block here at
	 * the check is here when queued. */
	pthread_mutex_lock(&o->lock);
	int e = bs_has(o->local, cid);
	if (e == 1) {
		e = ob_enqueue(o, d);
		/* Pending already: an upload of it may have reached the
		 * remote before it lost the block. */
		if (e == 0)
			e = cid_set_add_digest(o->again, d);
		e = e < 0 ? e : 1;
	}
	pthread_mutex_unlock(&o->lock);
	return e == -ENOENT ? 0 : e;
}

/* A block here was used: it becomes the most recently used. */
static void touch(struct outbox *o, const struct cid *cid, size_t len)
{
	const uint8_t *d = o->lru ? ob_digest_of(cid) : NULL;
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
		ob_say(o, e == -EBADMSG ? LOG_ERR : LOG_WARNING,
		       "block %s: not here and the node %s: %s", text,
		       e == -EBADMSG ? "sent wrong bytes (rejected)"
				     : "could not give it",
		       strerror(-e));
		*len = 0;
		return e; /* the cause, for the caller's message */
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
	const uint8_t *d = ob_digest_of(cid);
	if (d && (e == 0 || e == -ENOENT)) {
		pthread_mutex_lock(&o->lock);
		if (o->lru)
			lru_forget(o->lru, d);
		if (cid_set_del_digest(o->pending, d))
			ob_log_rec(o, REC_DONE, d);
		cid_set_del_digest(o->again, d);
		o->st.pending = cid_set_count(o->pending);
		pthread_cond_broadcast(&o->drained);
		pthread_mutex_unlock(&o->lock);
	}
	return e;
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
		ob_evict(o, before);
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
	bs_close(o->remote); /* the local store is the parent: closed next */
	cid_set_free(o->pending);
	cid_set_free(o->again);
	lru_free(o->lru);
	free(o->queue.items);
	pthread_cond_destroy(&o->work);
	pthread_cond_destroy(&o->drained);
	pthread_mutex_destroy(&o->lock);
	pthread_mutex_destroy(&o->evicted_lock);
	free(o);
}

struct seed_arg {
	struct cid_set *s;
	int err;
};

static int seed_one(const struct cid *cid, void *arg)
{
	struct seed_arg *a = arg;
	const uint8_t *d = ob_digest_of(cid);
	if (d && cid_set_add_digest(a->s, d) < 0)
		return a->err = -ENOMEM;
	return 0;
}

/* iterate and usage are the local store's: they pass through. */
static const struct blockstore_ops outbox_ops = {
	.version = BLOCKSTORE_OPS_VERSION,
	.name = "outbox",
	.put = ob_put,
	.get = ob_get,
	.has = ob_has,
	.remove = ob_remove,
	.sync = ob_sync,
	.pin = ob_pin,
	.unpin = ob_unpin,
	.close = ob_close,
};

int outbox_wrap(const struct outbox_config *cfg, struct blockstore **out)
{
	struct outbox *o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	bs_wrap(&o->base, &outbox_ops, cfg->local);
	if (cfg->remote)
		o->base.caps = (cfg->local->caps & ~BS_CAP_LOCAL) |
			       (cfg->remote->caps & BS_CAP_PIN);
	o->local = cfg->local;
	o->remote = cfg->remote;
	o->log = cfg->log;
	o->log_arg = cfg->log_arg;
	o->changed = cfg->changed;
	o->changed_arg = cfg->changed_arg;
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
	pthread_mutex_init(&o->evicted_lock, NULL);
	pthread_cond_init(&o->work, NULL);
	pthread_cond_init(&o->drained, NULL);
	o->pending = cid_set_new_raw();
	o->again = cid_set_new_raw();
	int e = o->pending && o->again ? ob_log_path(cfg->dir, o->path, sizeof(o->path))
			   : -ENOMEM;
	if (!e)
		e = ob_read_log(o->path, o->pending);
	if (e == -ENOENT && !o->read_only) {
		/* First time with a node: everything here is still to go. */
		struct seed_arg a = {.s = o->pending};
		e = bs_iterate(o->local, seed_one, &a);
		if (a.err)
			e = a.err;
		if (!e)
			ob_say(o, LOG_NOTICE,
			       "outbox: %llu blocks of the local store queued "
			       "for the node",
			       (unsigned long long)cid_set_count(o->pending));
	} else if (e == -ENOENT) {
		e = 0;
	}
	if (!e && !o->read_only)
		e = ob_compact(o);
	if (!e && cfg->local_cap_bytes && o->remote && !o->read_only)
		e = ob_seed_lru(o, cfg->local_cap_bytes);
	if (e) {
		o->remote = NULL; /* still the caller's, as local is */
		ob_close(&o->base);
		return e;
	}
	o->st.pending = cid_set_count(o->pending);
	*out = &o->base;
	return 0;
}

void outbox_stats(struct blockstore *bs, struct outbox_stats *st)
{
	memset(st, 0, sizeof(*st));
	struct outbox *o = ob_find(bs);
	if (!o)
		return;
	pthread_mutex_lock(&o->lock);
	*st = o->st;
	st->pending = cid_set_count(o->pending);
	st->local_bytes = o->lru ? lru_bytes(o->lru) : 0;
	pthread_mutex_unlock(&o->lock);
}
