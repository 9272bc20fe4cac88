/* fs/mount/file.c — see file.h. */
#include "fs/mount/file.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cache/chunk_cache.h"
#include "util/wipe.h"

/* A chunk being written.  It stands for chunk_size bytes, but holds only
 * the first cap of them: the bytes from cap to the chunk's end are zero.
 * A small file (most of a Maildir's: a message, a lock, a uidlist) costs
 * what it wrote, not a whole chunk to allocate, clear and wipe. */
struct dirty_buf {
	uint64_t index;
	uint8_t *data; /* cap bytes (NULL when 0); zero beyond what was
			* written or loaded */
	size_t cap;
};

struct file_state {
	pthread_mutex_t lock;
	struct obj_ref base;    /* committed content the state started from */
	bool loaded;            /* chunks[] filled from base */
	struct chunk_ref *chunks; /* cid.len 0: a chunk of zeros */
	size_t nchunks, cap;
	struct dirty_buf dirty[FILE_DIRTY_MAX];
	size_t ndirty;
	uint64_t size;
	bool modified;
	uint32_t holds;   /* calls using the state (file_state_hold) */
	bool scoped;      /* seal under secret, the file's own scope */
	uint8_t secret[IPMD_KEY_BYTES];
	/* The append-friendly tail (file.h, "Tails"): [0, durable) is what
	 * the journal holds (the last content record, or the commit, and
	 * append records since); low, the lowest offset changed since. */
	uint64_t durable, low;
	bool tail_journaled; /* appends journaled that no journaled seal
			      * covers yet */
	uint64_t tail_seals; /* the seal the last journaled append went
			      * over: only a later seal covers it */
	uint64_t seals;      /* file_seal calls: a tail taken before one is
			      * stale (file_tail_current) */
	uint64_t journaled;  /* the latest seal whose content record is in
			      * the journal (0: none since new, whose base
			      * the tree holds): an older one is covered */
};

int file_state_new(const struct obj_store *st, uint64_t id,
		   const struct obj_ref *content, struct file_state **out)
{
	struct file_state *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	uint8_t salt[IPMD_SCOPE_SALT_BYTES];
	struct obj_store scoped;
	obj_salt_of_id(id, salt);
	obj_store_scoped(st, salt, f->secret, &scoped);
	f->scoped = scoped.convergence == f->secret;
	if (pthread_mutex_init(&f->lock, NULL) != 0) {
		wipe_free(f, sizeof(*f)); /* the secret */
		return -ENOMEM;
	}
	f->base = *content;
	f->size = content->size;
	f->durable = content->size;
	f->low = UINT64_MAX;
	*out = f;
	return 0;
}

static void wipe_buffer(struct dirty_buf *d)
{
	wipe_free(d->data, d->cap);
	d->data = NULL;
	d->cap = 0;
}

static void drop_buffer(struct file_state *f, size_t slot)
{
	wipe_buffer(&f->dirty[slot]);
	f->dirty[slot] = f->dirty[--f->ndirty];
}

/* Make d hold at least need bytes (need <= cs), the new ones zero.
 * Doubling: a file appended to a little at a time moves its bytes
 * O(log) times.  Not realloc: the old block, plaintext, is wiped. */
static int reserve_buffer(struct dirty_buf *d, size_t need, size_t cs)
{
	if (need <= d->cap)
		return 0;
	size_t cap = d->cap > cs / 2 ? cs : d->cap * 2;
	if (cap < need)
		cap = need;
	uint8_t *data = malloc(cap);
	if (!data)
		return -ENOMEM;
	if (d->cap)
		memcpy(data, d->data, d->cap);
	memset(data + d->cap, 0, cap - d->cap);
	wipe_buffer(d);
	d->data = data;
	d->cap = cap;
	return 0;
}

void file_state_free(struct file_state *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->ndirty; i++)
		wipe_buffer(&f->dirty[i]);
	/* chunk keys: as secret as the plaintext */
	wipe_free(f->chunks, f->cap * sizeof(*f->chunks));
	pthread_mutex_destroy(&f->lock);
	wipe_free(f, sizeof(*f));
}

/* Under f->lock. */
static struct file_status status_locked(const struct file_state *f)
{
	return (struct file_status){.modified = f->modified,
				    .held = f->holds > 0};
}

void file_state_hold(struct file_state *f)
{
	pthread_mutex_lock(&f->lock);
	f->holds++;
	pthread_mutex_unlock(&f->lock);
}

struct file_status file_state_unhold(struct file_state *f)
{
	pthread_mutex_lock(&f->lock);
	if (f->holds > 0)
		f->holds--;
	struct file_status s = status_locked(f);
	pthread_mutex_unlock(&f->lock);
	return s;
}

struct file_status file_state_status(struct file_state *f)
{
	pthread_mutex_lock(&f->lock);
	struct file_status s = status_locked(f);
	pthread_mutex_unlock(&f->lock);
	return s;
}

bool file_state_idle(struct file_state *f)
{
	return file_status_idle(file_state_status(f));
}

uint64_t file_size(struct file_state *f)
{
	pthread_mutex_lock(&f->lock);
	uint64_t s = f->size;
	pthread_mutex_unlock(&f->lock);
	return s;
}

bool file_modified(struct file_state *f)
{
	pthread_mutex_lock(&f->lock);
	bool m = f->modified;
	pthread_mutex_unlock(&f->lock);
	return m;
}

/* Is the list cut by cs, as every index into it assumes? */
static bool cut_by(const struct chunk_ref *c, size_t n, uint64_t size,
		   uint32_t cs)
{
	if (n != obj_chunk_count(size, cs))
		return false;
	for (size_t i = 0; i < n; i++)
		if (c[i].size != obj_chunk_len(size, cs, i))
			return false;
	return true;
}

/* The base was cut with another chunk size (the store's changed since it
 * was written): cut it again by this one, a chunk in memory at a time. */
static int rechunk(struct obj_store *st, const struct obj_ref *base,
		   struct chunk_ref **out, size_t *nout)
{
	const uint32_t cs = st->chunk_size;
	uint64_t n = obj_chunk_count(base->size, cs);
	if (n > SIZE_MAX / sizeof(struct chunk_ref))
		return -EFBIG;
	struct chunk_ref *list = calloc((size_t)n, sizeof(*list));
	uint8_t *buf = malloc(cs);
	int r = list && buf ? 0 : -ENOMEM;
	for (uint64_t i = 0; r == 0 && i < n; i++) {
		size_t want = obj_chunk_len(base->size, cs, i), got = 0;
		r = obj_read(st, base, i * cs, buf, want, &got);
		if (r == 0 && got != want)
			r = -EBADMSG;
		if (r == 0)
			r = obj_seal_chunk(st, buf, want, &list[i]);
	}
	wipe_free(buf, cs);
	if (r != 0) {
		wipe_free(list, (size_t)n * sizeof(*list));
		return r;
	}
	*out = list;
	*nout = (size_t)n;
	return 0;
}

static int ensure_loaded(struct obj_store *st, struct file_state *f)
{
	if (f->loaded)
		return 0;
	struct chunk_ref *list = NULL;
	size_t n = 0;
	if (f->base.size > 0) {
		int r = obj_list_chunks(st, &f->base, &list, &n);
		if (r == 0 && !cut_by(list, n, f->base.size, st->chunk_size)) {
			wipe_free(list, n * sizeof(*list));
			list = NULL;
			r = rechunk(st, &f->base, &list, &n);
		}
		if (r != 0)
			return r;
	}
	f->chunks = list;
	f->nchunks = n;
	f->cap = n;
	f->loaded = true;
	return 0;
}

static int resize_chunks(struct file_state *f, size_t n)
{
	if (n > f->cap) {
		size_t cap = f->cap ? f->cap : 4;
		while (cap < n)
			cap *= 2;
		/* chunk keys: not realloc, whose move frees them unwiped */
		struct chunk_ref *c = wipe_realloc(
			f->chunks, f->cap * sizeof(*c), cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		f->chunks = c;
		f->cap = cap;
	}
	for (size_t i = f->nchunks; i < n; i++)
		memset(&f->chunks[i], 0, sizeof(f->chunks[i]));
	f->nchunks = n;
	return 0;
}

static int find_dirty(struct file_state *f, uint64_t index)
{
	for (size_t i = 0; i < f->ndirty; i++)
		if (f->dirty[i].index == index)
			return (int)i;
	return -1;
}

/* Copy the stored bytes of chunk c into dst (len bytes; zeros where the
 * stored chunk is shorter: the file was extended past it). */
static int read_stored(struct obj_store *st, const struct chunk_ref *c,
		       size_t within, uint8_t *dst, size_t len)
{
	if (c->cid.len == 0 || within >= c->size) {
		memset(dst, 0, len);
		return 0;
	}
	size_t have = (size_t)c->size - within;
	size_t n = have < len ? have : len;
	size_t got = 0;
	if (n == c->size) {
		/* All of it (a write's load, a read of a whole chunk): opened
		 * straight into dst, which obj_open_chunk fills from the cache
		 * when it can; no chunk-sized buffer to allocate, copy out of
		 * and wipe, nor a second look in the cache. */
		size_t plen;
		int r = obj_open_chunk(st, c, dst, &plen);
		if (r == 0 && plen != c->size)
			r = -EBADMSG;
		if (r != 0) {
			sodium_memzero(dst, n);
			return r;
		}
	} else if (!st->cache ||
		   chunk_cache_read(st->cache, &c->cid, within, dst, n,
				    &got) != 0 ||
		   got != n) {
		uint8_t *tmp = malloc(st->chunk_size);
		size_t plen;
		if (!tmp)
			return -ENOMEM;
		int r = obj_open_chunk(st, c, tmp, &plen);
		if (r == 0 && plen != c->size)
			r = -EBADMSG;
		if (r == 0)
			memcpy(dst, tmp + within, n);
		wipe_free(tmp, st->chunk_size);
		if (r != 0)
			return r;
	}
	memset(dst + n, 0, len - n);
	return 0;
}

static int seal_slot(struct obj_store *st, struct file_state *f, size_t slot)
{
	struct dirty_buf *d = &f->dirty[slot];
	uint64_t index = d->index;
	size_t len = obj_chunk_len(f->size, st->chunk_size, index);
	/* The chunk's bytes past cap are zero: the seal takes them as such,
	 * so the buffer is not grown for them (nor can fail to be). */
	struct chunk_ref ref;
	int r = obj_seal_chunk_sparse(st, d->data, d->cap < len ? d->cap : len,
				      len, &ref);
	if (r != 0)
		return r;
	f->chunks[index] = ref;
	drop_buffer(f, slot);
	return 0;
}

/* The buffer of chunk index (its slot in *slot), holding at least its
 * first end bytes, loading its stored bytes on first use unless the
 * caller is about to overwrite all of them (its first covered bytes):
 * then the old chunk is neither fetched nor needed intact. */
static int get_buffer(struct obj_store *st, struct file_state *f,
		      uint64_t index, size_t covered, size_t end, size_t *slot)
{
	const uint32_t cs = st->chunk_size;
	int found = find_dirty(f, index);
	if (found >= 0) {
		*slot = (size_t)found;
		return reserve_buffer(&f->dirty[found], end, cs);
	}
	if (f->ndirty == FILE_DIRTY_MAX) {
		/* Seal the lowest chunk: in-place rewriters (Dovecot's index
		 * files) touch the head and tail, streams only the tail. */
		size_t lowest = 0;
		for (size_t i = 1; i < f->ndirty; i++)
			if (f->dirty[i].index < f->dirty[lowest].index)
				lowest = i;
		int r = seal_slot(st, f, lowest);
		if (r != 0)
			return r;
	}
	/* What the stored chunk gives (beyond it: zeros, the file was
	 * extended past it), unless all of that is about to be overwritten. */
	const struct chunk_ref *c = &f->chunks[index];
	size_t len = obj_chunk_len(f->size, cs, index);
	size_t load = c->cid.len == 0 || covered >= len ? 0
		      : c->size < len			  ? (size_t)c->size
							  : len;
	struct dirty_buf d = {.index = index};
	int r = reserve_buffer(&d, load > end ? load : end, cs);
	if (r == 0 && load > 0)
		r = read_stored(st, c, 0, d.data, load);
	if (r != 0) {
		wipe_buffer(&d);
		return r;
	}
	*slot = f->ndirty;
	f->dirty[f->ndirty++] = d;
	return 0;
}

/* [within, within+n) of d's chunk into dst: zeros past what it holds. */
static void copy_buffer(const struct dirty_buf *d, size_t within,
			uint8_t *dst, size_t n)
{
	size_t have = within < d->cap ? d->cap - within : 0;
	if (have > n)
		have = n;
	if (have)
		memcpy(dst, d->data + within, have);
	memset(dst + have, 0, n - have);
}

/* Under f->lock, loaded: [off, off+len) of the state into buf. */
static int read_locked(struct obj_store *st, struct file_state *f,
		       uint64_t off, uint8_t *buf, size_t len, size_t *got)
{
	const uint32_t cs = st->chunk_size;
	uint64_t end = off + len;
	int r = 0;
	if (off >= f->size)
		return 0;
	if (end > f->size || end < off)
		end = f->size;
	for (uint64_t pos = off; pos < end && r == 0;) {
		uint64_t index = pos / cs;
		size_t within = (size_t)(pos % cs);
		size_t n = cs - within;
		if (n > end - pos)
			n = (size_t)(end - pos);
		int slot = find_dirty(f, index);
		if (slot >= 0)
			copy_buffer(&f->dirty[slot], within, buf + (pos - off),
				    n);
		else
			r = read_stored(st, &f->chunks[index], within,
					buf + (pos - off), n);
		pos += n;
		if (r == 0)
			*got += n;
	}
	return r;
}

int file_read(struct obj_store *st, struct file_state *f,
	      const struct obj_ref *content, uint64_t off, uint8_t *buf,
	      size_t len, size_t *got)
{
	*got = 0;
	if (!f)
		return obj_read(st, content, off, buf, len, got);
	pthread_mutex_lock(&f->lock);
	if (!f->loaded && !f->modified) {
		struct obj_ref base = f->base;
		pthread_mutex_unlock(&f->lock);
		int r = obj_read(st, &base, off, buf, len, got);
		sodium_memzero(&base, sizeof(base)); /* its key */
		return r;
	}
	int r = read_locked(st, f, off, buf, len, got);
	pthread_mutex_unlock(&f->lock);
	return r;
}

/* Grow or shrink the chunk list to size; keeps the invariant that bytes
 * past a shrink point read as zeros after a later extension. */
static int set_size(struct obj_store *st, struct file_state *f,
		    uint64_t size)
{
	const uint32_t cs = st->chunk_size;
	uint64_t n = obj_chunk_count(size, cs);
	/* Half: resize_chunks may double the table past n. */
	if (n > SIZE_MAX / 2 / sizeof(struct chunk_ref))
		return -EFBIG;
	if (size < f->size) {
		/* Materialise the cut so stale bytes never return.  First:
		 * loading it may fail, and then nothing may have changed. */
		size_t tail = (size_t)(size % cs), slot = 0;
		if (tail != 0) {
			int r = get_buffer(st, f, n - 1, 0, 0, &slot);
			if (r != 0)
				return r;
		}
		for (size_t i = 0; i < f->ndirty;) {
			if (f->dirty[i].index >= n) {
				drop_buffer(f, i);
				continue;
			}
			i++;
		}
		/* The cut chunk's buffer (index n - 1, never dropped above):
		 * zero from the cut to what it holds. */
		int cut = tail != 0 ? find_dirty(f, n - 1) : -1;
		if (cut >= 0 && f->dirty[cut].cap > tail)
			memset(f->dirty[cut].data + tail, 0,
			       f->dirty[cut].cap - tail);
	}
	int r = resize_chunks(f, (size_t)n);
	if (r != 0)
		return r;
	f->size = size;
	return 0;
}

/* st as this file seals with it: within its own scope (file_state_new).
 * A store without a convergence secret stays read-only. */
static struct obj_store *scoped(const struct obj_store *st,
				const struct file_state *f,
				struct obj_store *own)
{
	*own = *st;
	if (f->scoped && st->convergence) {
		own->convergence = f->secret;
		own->scope = OBJ_SCOPE_MAILBOX;
	}
	return own;
}

/* Under f->lock, after a write that copied only the bytes before end (0:
 * none): the size set_size raised to the write's end goes back to what
 * they reach, or what it was, so nothing past what the write reports (a
 * short write, or none) is left as zeros for a seal or the journal to
 * keep.  Past that point set_size added only zero chunks and the write
 * made no buffer, so shrinking the list is all it takes (it cannot fail).
 * A chunk get_buffer sealed meanwhile may be longer than its share of the
 * size now (zeros past it): reads stop at the size, file_seal reseals a
 * chunk whose length is not its share. */
static void unwind_size(struct file_state *f, uint32_t cs, uint64_t old,
			uint64_t end)
{
	uint64_t size = end > old ? end : old;
	if (size >= f->size)
		return;
	(void)resize_chunks(f, (size_t)obj_chunk_count(size, cs));
	f->size = size;
}

int file_write_part(struct obj_store *caller, struct file_state *f,
		    uint64_t off, const uint8_t *data, size_t len,
		    size_t *written)
{
	struct obj_store own, *st = scoped(caller, f, &own);
	size_t done = 0;
	*written = 0;
	if (!st->convergence)
		return -EROFS;
	if (len == 0)
		return 0;
	if (off + len < off)
		return -EFBIG;
	pthread_mutex_lock(&f->lock);
	const uint32_t cs = st->chunk_size;
	const uint64_t old_size = f->size;
	const bool old_modified = f->modified;
	int r = ensure_loaded(st, f);
	if (off < f->low)
		f->low = off; /* before the change: a failed one counts too */
	if (r == 0 && off + len > f->size) {
		r = set_size(st, f, off + len);
		/* The size is part of what file_seal must write, even if
		 * loading a chunk below fails. */
		f->modified |= r == 0;
	}
	while (r == 0 && done < len) {
		uint64_t pos = off + done;
		uint64_t index = pos / cs;
		size_t within = (size_t)(pos % cs);
		size_t n = cs - within;
		if (n > len - done)
			n = len - done;
		size_t slot;
		r = get_buffer(st, f, index, within == 0 ? n : 0, within + n,
			       &slot);
		if (r != 0)
			break;
		memcpy(f->dirty[slot].data + within, data + done, n);
		done += n;
		f->modified = true;
		/* A write that fills a chunk to its end: a stream moving on.
		 * Seal it now so memory stays at one chunk.  If that fails
		 * the bytes are still written (in the buffer, which stays
		 * dirty): the next seal of it retries, and a full table
		 * (get_buffer) fails the write before it copies more. */
		if (within + n == cs)
			(void)seal_slot(st, f, slot);
	}
	if (r != 0 && f->size > old_size) {
		unwind_size(f, cs, old_size, done > 0 ? off + done : 0);
		f->modified = old_modified || done > 0 || f->size != old_size;
	}
	*written = done;
	pthread_mutex_unlock(&f->lock);
	return r;
}

int file_write(struct obj_store *st, struct file_state *f, uint64_t off,
	       const uint8_t *data, size_t len)
{
	size_t written;
	return file_write_part(st, f, off, data, len, &written);
}

int file_truncate(struct obj_store *caller, struct file_state *f,
		  uint64_t size)
{
	struct obj_store own, *st = scoped(caller, f, &own);
	if (!st->convergence)
		return -EROFS;
	pthread_mutex_lock(&f->lock);
	int r = ensure_loaded(st, f);
	if (r == 0 && size != f->size) {
		uint64_t low = size < f->size ? size : f->size;
		if (low < f->low)
			f->low = low;
		r = set_size(st, f, size);
		f->modified = true;
	}
	pthread_mutex_unlock(&f->lock);
	return r;
}

int file_seal(struct obj_store *caller, struct file_state *f,
	      struct obj_ref *out, uint64_t *seal)
{
	struct obj_store own, *st = scoped(caller, f, &own);
	pthread_mutex_lock(&f->lock);
	int r = 0;
	if (!f->modified) {
		*out = f->base;
		if (seal)
			*seal = f->seals;
		goto out;
	}
	const uint32_t cs = st->chunk_size;
	while (r == 0 && f->ndirty > 0)
		r = seal_slot(st, f, 0);
	for (size_t i = 0; r == 0 && i < f->nchunks; i++) {
		size_t want = obj_chunk_len(f->size, cs, i);
		struct chunk_ref *c = &f->chunks[i];
		if (c->cid.len != 0 && c->size == want)
			continue;
		/* A zero chunk, or a stored one whose length changed. */
		size_t slot;
		r = get_buffer(st, f, i, 0, 0, &slot);
		if (r == 0)
			r = seal_slot(st, f, slot);
	}
	if (r == 0)
		r = obj_build(st, f->chunks, f->nchunks, out);
	if (r == 0) {
		f->seals++;
		f->base = *out;
		f->modified = false;
		f->durable = f->size;
		f->low = UINT64_MAX;
		if (seal)
			*seal = f->seals;
		/* tail_journaled stays until the content record is in the
		 * journal (file_seal_done): until then the appends are only
		 * there. */
	}
out:
	pthread_mutex_unlock(&f->lock);
	return r;
}

int file_state_refs(struct file_state *f,
		    int (*fn)(const struct obj_ref *ref,
			      const struct chunk_ref *chunk, void *arg),
		    void *arg)
{
	pthread_mutex_lock(&f->lock);
	int e = f->base.cid.len ? fn(&f->base, NULL, arg) : 0;
	for (size_t i = 0; !e && i < f->nchunks; i++)
		if (f->chunks[i].cid.len)
			e = fn(NULL, &f->chunks[i], arg);
	pthread_mutex_unlock(&f->lock);
	return e;
}

uint64_t file_last_seal(struct file_state *f, struct obj_ref *out)
{
	pthread_mutex_lock(&f->lock);
	*out = f->base;
	uint64_t seal = f->seals;
	pthread_mutex_unlock(&f->lock);
	return seal;
}

bool file_seal_journaled(struct file_state *f, uint64_t seal)
{
	pthread_mutex_lock(&f->lock);
	bool covered = seal <= f->journaled;
	pthread_mutex_unlock(&f->lock);
	return covered;
}

void file_seal_done(struct file_state *f, uint64_t seal, bool journaled)
{
	pthread_mutex_lock(&f->lock);
	if (journaled) {
		if (seal > f->journaled)
			f->journaled = seal;
		/* A seal made after the last journaled append was taken
		 * holds its bytes; one it went over (journaled late: its
		 * record was skipped or failed first) does not. */
		if (seal > f->tail_seals)
			f->tail_journaled = false;
	} else {
		f->modified = true;
		f->low = 0;
	}
	pthread_mutex_unlock(&f->lock);
}

/* Under f->lock: may the change since the durable point go as an append
 * of at most max bytes?  Only growth past what the journal already holds
 * of a file that holds some, unless first (file.h, file_tail_take). */
static bool tail_ok(const struct file_state *f, size_t max, bool first)
{
	return f->loaded && (f->durable > 0 || first) &&
	       f->low >= f->durable && f->size >= f->durable &&
	       f->size - f->durable <= max;
}

int file_tail_take(struct obj_store *st, struct file_state *f, size_t max,
		   bool first, struct file_tail *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&f->lock);
	int r;
	if (!f->modified || !tail_ok(f, max, first)) {
		r = f->modified ? -EAGAIN : 0;
		goto out;
	}
	r = 0;
	if (f->size == f->durable)
		goto out; /* journaled already: nothing new */
	size_t len = (size_t)(f->size - f->durable), got = 0;
	/* A copy, not the chunk buffer: the caller journals it after f->lock
	 * is let go (under fs->lock, which is taken before f->lock, never
	 * after), while writes may grow, seal or drop that buffer.  Nor a
	 * buffer kept in the state: two fsyncs of one file take in turn and
	 * journal outside f->lock, and it would hold up to max bytes of
	 * plaintext per open file between fsyncs.  The copy is one
	 * allocation of at most max; each record journaled allocates three
	 * of its size (its text, the journal's plaintext and sealed record). */
	out->data = malloc(len);
	if (!out->data) {
		r = -ENOMEM;
		goto out;
	}
	out->off = f->durable;
	out->len = len;
	out->seals = f->seals;
	r = read_locked(st, f, out->off, out->data, len, &got);
	if (r == 0 && got != len)
		r = -EIO;
	if (r != 0) {
		file_tail_free(out);
		goto out;
	}
	/* A new window: a change from here on under off + len makes the
	 * bytes taken stale, and the next fsync seals instead. */
	f->low = UINT64_MAX;
	r = 1;
out:
	pthread_mutex_unlock(&f->lock);
	return r;
}

bool file_tail_covers(struct file_state *f)
{
	pthread_mutex_lock(&f->lock);
	/* low: nothing changed since the last take (a write or truncate
	 * since lowers it), durable: that take's bytes are journaled. */
	bool c = f->modified && f->tail_journaled && f->durable == f->size &&
		 f->low == UINT64_MAX;
	pthread_mutex_unlock(&f->lock);
	return c;
}

bool file_tail_current(struct file_state *f, const struct file_tail *t,
		       const struct obj_ref *content)
{
	pthread_mutex_lock(&f->lock);
	/* journaled == seals: the base is in the journal, not merely equal
	 * to the tree's (a rewrite of unchanged bytes seals to the tree's
	 * CID): an append over a seal still on its way would come before
	 * that seal's older content record. */
	bool ok = f->seals == t->seals && f->journaled == f->seals &&
		  f->durable == t->off && f->low >= t->off + t->len &&
		  cid_equal(&f->base.cid, &content->cid) &&
		  f->base.size == content->size;
	pthread_mutex_unlock(&f->lock);
	return ok;
}

void file_tail_done(struct file_state *f, const struct file_tail *t,
		    bool journaled)
{
	pthread_mutex_lock(&f->lock);
	if (journaled) {
		if (t->off + t->len > f->durable)
			f->durable = t->off + t->len;
		f->tail_journaled = f->modified;
		if (t->seals > f->tail_seals)
			f->tail_seals = t->seals;
	} else if (t->off < f->low) {
		f->low = t->off; /* not in the journal: still to journal */
	}
	pthread_mutex_unlock(&f->lock);
}

void file_tail_free(struct file_tail *t)
{
	wipe_free(t->data, t->len);
	memset(t, 0, sizeof(*t));
}

bool file_tail_journaled(struct file_state *f)
{
	pthread_mutex_lock(&f->lock);
	bool j = f->tail_journaled;
	pthread_mutex_unlock(&f->lock);
	return j;
}

int file_tail_replayed(struct obj_store *st, struct file_state *f,
		       uint64_t off, const uint8_t *data, size_t len)
{
	int r = file_write(st, f, off, data, len);
	pthread_mutex_lock(&f->lock);
	if (r == 0) {
		if (f->durable < off + len)
			f->durable = off + len;
		f->low = UINT64_MAX;
		f->tail_journaled = true;
		f->tail_seals = f->seals;
	}
	pthread_mutex_unlock(&f->lock);
	return r;
}
