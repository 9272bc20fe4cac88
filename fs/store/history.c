/* fs/store/history.c — see history.h. */
#include "fs/store/history.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/outbox.h"
#include "fs/model/manifest.h"
#include "fs/model/merge_base.h"
#include "fs/model/record.h"
#include "fs/store/journal.h"
#include "fs/store/journal_payload.h"
#include "fs/store/stack.h"
#include "ipfs/cidset.h"
#include "util/array.h"
#include "util/msgbuf.h"
#include "util/wipe.h"

#define NS_PER_SEC 1000000000LL

/* ================= the wrapper: remembers failed reads ================= */

struct overlay_block {
	struct cid cid;
	uint8_t *bytes;
	size_t len;
};

struct spy {
	struct blockstore base;
	pthread_mutex_t lock;
	struct cid bad;
	int bad_err; /* 0: nothing failed */
	struct overlay_block *overlay;
	size_t noverlay, overlay_cap;
	struct cid_set *watch; /* history_watch_reads: blocks read */
	int watch_err;
};

static struct spy *to_spy(struct blockstore *bs)
{
	return (struct spy *)bs;
}

static const struct overlay_block *overlay_find(struct spy *s,
						const struct cid *cid)
{
	for (size_t i = 0; i < s->noverlay; i++)
		if (cid_equal(&s->overlay[i].cid, cid))
			return &s->overlay[i];
	return NULL;
}

static int spy_get(struct blockstore *bs, const struct cid *cid, uint8_t *buf,
		   size_t cap, size_t *len)
{
	struct spy *s = to_spy(bs);
	int e = bs_get(bs_parent(bs), cid, buf, cap, len);
	pthread_mutex_lock(&s->lock);
	if (e == -ENOENT) {
		const struct overlay_block *o = overlay_find(s, cid);
		if (o && o->len <= cap) {
			memcpy(buf, o->bytes, o->len);
			*len = o->len;
			e = 0;
		}
	}
	if (e) {
		s->bad = *cid;
		s->bad_err = e;
	} else if (s->watch && !s->watch_err) {
		int w = cid_set_add(s->watch, cid);
		s->watch_err = w < 0 ? w : 0;
	}
	pthread_mutex_unlock(&s->lock);
	return e;
}

static void spy_close(struct blockstore *bs)
{
	struct spy *s = to_spy(bs);
	for (size_t i = 0; i < s->noverlay; i++)
		free(s->overlay[i].bytes);
	free(s->overlay);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Only reads are watched: every other call passes through. */
static const struct blockstore_ops spy_ops = {
	.version = BLOCKSTORE_OPS_VERSION,
	.name = "history",
	.get = spy_get,
	.close = spy_close,
};

static int spy_wrap(struct blockstore *parent, struct blockstore **out)
{
	struct spy *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	bs_wrap(&s->base, &spy_ops, parent);
	pthread_mutex_init(&s->lock, NULL);
	*out = &s->base;
	return 0;
}

bool history_last_bad(struct history *h, struct cid *cid, int *err)
{
	struct spy *s = to_spy(h->bs);
	pthread_mutex_lock(&s->lock);
	bool any = s->bad_err != 0;
	if (any) {
		*cid = s->bad;
		*err = s->bad_err;
	}
	pthread_mutex_unlock(&s->lock);
	return any;
}

void history_clear_bad(struct history *h)
{
	struct spy *s = to_spy(h->bs);
	pthread_mutex_lock(&s->lock);
	s->bad_err = 0;
	pthread_mutex_unlock(&s->lock);
}

int history_watch_reads(struct history *h, struct cid_set *set)
{
	struct spy *s = to_spy(h->bs);
	pthread_mutex_lock(&s->lock);
	int e = s->watch_err;
	s->watch = set;
	s->watch_err = 0;
	pthread_mutex_unlock(&s->lock);
	return e;
}

int history_add_overlay(struct history *h, const uint8_t *block, size_t len,
			struct cid *cid)
{
	struct spy *s = to_spy(h->bs);
	if (len > BLOCK_MAX_BYTES)
		return -EFBIG;
	cid_of_raw_block(cid, block, len);
	pthread_mutex_lock(&s->lock);
	int e = 0;
	if (!overlay_find(s, cid)) {
		struct overlay_block *p =
			array_grow(s->overlay, s->noverlay, &s->overlay_cap,
				   sizeof(*s->overlay), 16);
		if (!p)
			e = -ENOMEM;
		else
			s->overlay = p;
		uint8_t *copy = e ? NULL : malloc(len ? len : 1);
		if (!e && !copy)
			e = -ENOMEM;
		if (!e) {
			memcpy(copy, block, len);
			s->overlay[s->noverlay++] =
				(struct overlay_block){*cid, copy, len};
		}
	}
	pthread_mutex_unlock(&s->lock);
	return e;
}

struct replay {
	struct history *h;
	struct fs_tree *tree;
	history_replay_fn fn;
	void *arg;
};

static int replay_record(uint64_t gen, uint64_t seq, const uint8_t *payload,
			 size_t len, void *arg)
{
	(void)gen;
	(void)seq;
	struct replay *r = arg;
	struct journal_payload p;
	struct cid cid;
	journal_payload_decode(payload, len, &p);
	if (p.kind == JOURNAL_PAYLOAD_BLOCK) {
		int e = history_add_overlay(r->h, p.body, p.len, &cid);
		return r->fn(r->arg, true, &cid, e);
	}
	int e;
	if (p.kind == JOURNAL_PAYLOAD_MERGE) {
		/* Redone from its inputs, read through the wrapper. */
		struct record_merge m;
		e = record_merge_parse(p.body, p.len, &m);
		if (!e)
			e = merge_replay(&r->h->st, &r->h->store.keys, &m,
					 r->tree, NULL, NULL, NULL, NULL);
	} else {
		e = record_replay(r->tree, p.body, p.len);
	}
	return r->fn(r->arg, false, NULL, e);
}

int history_journal_each(struct history *h, const struct head *from,
			 unsigned flags, journal_replay_fn fn, void *arg,
			 struct journal_replay_stats *js)
{
	return journal_replay(h->store.paths.journal, h->store.keys.journal,
			      from->journal_gen, flags | head_replay_flags(from),
			      fn, arg, js);
}

int history_replay_journal(struct history *h, struct fs_tree *tree,
			   const struct head *from, history_replay_fn fn,
			   void *arg, struct journal_replay_stats *js)
{
	struct replay r = {.h = h, .tree = tree, .fn = fn, .arg = arg};
	return history_journal_each(h, from, JOURNAL_REPLAY_ACROSS_GAPS,
				    replay_record, &r, js);
}

/* history_journal_merges: every merge record's parent, nothing applied. */
static int list_merge(uint64_t gen, uint64_t seq, const uint8_t *payload,
		      size_t len, void *arg)
{
	(void)gen;
	(void)seq;
	struct journal_payload p;
	struct record_merge m;
	journal_payload_decode(payload, len, &p);
	if (p.kind != JOURNAL_PAYLOAD_MERGE)
		return 0;
	int e = record_merge_parse(p.body, p.len, &m);
	return e ? e : cid_list_add(arg, &m.parent);
}

/* One record as journal_replay handed it: the plaintext payload. */
struct history_record {
	uint64_t gen, seq;
	uint8_t *payload;
	size_t len;
};

static int keep_record(uint64_t gen, uint64_t seq, const uint8_t *payload,
		       size_t len, void *arg)
{
	struct history_journal *j = arg;
	struct history_record *v =
		array_grow(j->v, j->n, &j->cap, sizeof(*v), 64);
	if (!v)
		return -ENOMEM;
	j->v = v;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, payload, len);
	j->v[j->n++] = (struct history_record){gen, seq, copy, len};
	return 0;
}

int history_journal_read(struct history *h, const struct head *from,
			 struct history_journal *j)
{
	int e = history_journal_each(h, from, 0, keep_record, j, NULL);
	if (e)
		history_journal_free(j);
	return e;
}

void history_journal_free(struct history_journal *j)
{
	for (size_t i = 0; i < j->n; i++)
		wipe_free(j->v[i].payload, j->v[i].len);
	free(j->v);
	memset(j, 0, sizeof(*j));
}

/* fn over each record of j in order, as journal_replay would call it. */
static int each_record(const struct history_journal *j, journal_replay_fn fn,
		       void *arg)
{
	int e = 0;
	for (size_t i = 0; !e && i < j->n; i++)
		e = fn(j->v[i].gen, j->v[i].seq, j->v[i].payload, j->v[i].len,
		       arg);
	return e;
}

int history_journal_merges(const struct history_journal *j,
			   struct cid_list *parents)
{
	return each_record(j, list_merge, parents);
}

int history_replay_records(struct history *h, const struct history_journal *j,
			   struct fs_tree *tree, history_replay_fn fn,
			   void *arg)
{
	struct replay r = {.h = h, .tree = tree, .fn = fn, .arg = arg};
	return each_record(j, replay_record, &r);
}

/* ================= opening ================= */

/* Objects read through bs, read-only (no convergence secret). */
static struct obj_store read_store(struct blockstore *bs)
{
	return (struct obj_store){
		.bs = bs,
		.chunk_size = OBJ_CHUNK_DEFAULT,
		.fanout = OBJ_FANOUT_DEFAULT,
	};
}

/* Beside a mount, through its blocks: only the wrapper is h's. */
static int open_borrowed(struct history *h, const struct history_options *o,
			 char *msg, size_t msgsize)
{
	if (spy_wrap(o->beside_blocks, &h->bs))
		return msgbuf_say(msg, msgsize, "out of memory");
	h->borrowed = true;
	h->local = o->beside_local;
	h->st = read_store(h->bs);
	return 0;
}

int history_open(struct history *h, const struct history_options *o,
		 char *msg, size_t msgsize)
{
	memset(h, 0, sizeof(*h));
	struct store_open_options so = {.dir = o->store,
					.pass = &o->pass,
					.lock = (enum store_lock)o->lock};
	if (o->beside ? store_open_beside(&h->store, o->beside,
					  (enum store_lock)o->lock, msg,
					  msgsize)
		      : store_open(&h->store, &so, msg, msgsize))
		return -1;
	/* Where fetched lines end (walk_ends): none when it does not read. */
	h->device_err = device_read(h->store.paths.device,
				    h->store.keys.journal, &h->device);
	if (h->device_err)
		memset(&h->device, 0, sizeof(h->device));
	if (o->beside && o->beside_blocks && o->beside_local)
		return open_borrowed(h, o, msg, msgsize);
	/* With a node, the local copy may be only a cache (local_cap_mb,
	 * wiped): what is not here is read from the node, and nothing is
	 * written (no log, no cache). */
	struct store_stack_spec spec = {.root = h->store.paths.root,
					.node = o->node,
					.read_only = true};
	struct store_stack stack;
	if (store_stack_open(&spec, &stack, msg, msgsize))
		return -1;
	outbox_start(stack.outbox);
	if (spy_wrap(stack.top, &h->bs)) {
		store_stack_close(&stack);
		return msgbuf_say(msg, msgsize, "out of memory");
	}
	h->local = stack.local;
	h->st = read_store(h->bs);
	return 0;
}

enum state_problem history_state_problem(struct history *h)
{
	return store_state_problem(&h->store);
}

void history_close(struct history *h)
{
	if (h->borrowed && h->bs)
		spy_close(h->bs); /* the mount's stack stays open */
	else
		bs_close(h->bs); /* the wrapper closes the stack under it */
	h->bs = h->local = NULL;
	h->borrowed = false;
	store_close(&h->store);
}

int history_mounted(struct history *h)
{
	/* Under HISTORY_LOCK_EXCLUSIVE we hold the writer lock ourselves. */
	return h->store.lock_fd >= 0 ? 0
				     : store_writer_active(&h->store.paths);
}

int history_commit(struct history *h, const struct cid *cid,
		   struct commit *c)
{
	return commit_read(h->bs, &h->store.keys, cid, c);
}

int history_tree(struct history *h, const struct commit *c,
		 struct fs_tree **out)
{
	return manifest_load(&h->st, &c->tree, c->next_ino, out);
}

int history_write_pruned(struct history *h, const struct cid *cid,
			 uint64_t seq)
{
	struct head p = {.commit = *cid, .seq = seq, .max_seq = seq};
	int e = head_write(h->store.paths.pruned, h->store.keys.journal,
			   BLOCK_STATE_PRUNED, &p);
	if (!e) {
		h->store.state.pruned = p;
		h->store.state.pruned_err = 0;
	}
	return e;
}

/* ================= --at ================= */

/* "…:SS.fffffffff[Z]": an exact time (as log --json's time_ns prints). */
static int parse_fraction(const char *s, int64_t *ns)
{
	const char *dot = strchr(s, '.');
	char whole[32];
	if (!dot || (size_t)(dot - s) >= sizeof(whole))
		return -EINVAL;
	memcpy(whole, s, (size_t)(dot - s));
	whole[dot - s] = '\0';
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(whole, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || *end)
		return -EINVAL;
	int64_t frac = 0;
	int digits = 0;
	const char *p = dot + 1;
	for (; isdigit((unsigned char)*p) && digits < 9; p++, digits++)
		frac = frac * 10 + (*p - '0');
	if (digits == 0 || (*p && strcmp(p, "Z")))
		return -EINVAL;
	for (; digits < 9; digits++)
		frac *= 10;
	time_t t = timegm(&tm);
	if (t == (time_t)-1 || t > INT64_MAX / NS_PER_SEC - 1 ||
	    t < INT64_MIN / NS_PER_SEC + 1)
		return -EINVAL;
	*ns = (int64_t)t * NS_PER_SEC + frac;
	return 0;
}

static int parse_time(const char *s, int64_t *ns)
{
	if (strchr(s, '.'))
		return parse_fraction(s, ns);
	static const char *const formats[] = {
		"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S",
		"%Y-%m-%dT%H:%MZ",    "%Y-%m-%dT%H:%M",
		"%Y-%m-%d",
	};
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		const char *end = strptime(s, formats[i], &tm);
		if (!end || *end)
			continue;
		time_t t = timegm(&tm);
		if (t == (time_t)-1 || t > INT64_MAX / NS_PER_SEC ||
		    t < INT64_MIN / NS_PER_SEC)
			return -EINVAL;
		/* A time names its whole second (or minute, or day): the
		 * newest commit within it counts as "at or before". */
		int64_t span = i < 2 ? 1 : i < 4 ? 60 : 86400;
		*ns = ((int64_t)t + span) * NS_PER_SEC - 1;
		return 0;
	}
	return -EINVAL;
}

int history_parse_at(const char *spec, struct history_at *at)
{
	memset(at, 0, sizeof(*at));
	if (!spec || !*spec)
		return -EINVAL;
	size_t n = strlen(spec);
	if (strspn(spec, "0123456789") == n) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(spec, &end, 10);
		if (errno || *end || v == 0)
			return -EINVAL;
		at->kind = AT_SEQ;
		at->seq = v;
		return 0;
	}
	if (cid_parse(&at->cid, spec, n) == 0) {
		if (!cid_is_raw_sha256(&at->cid))
			return -EINVAL;
		at->kind = AT_CID;
		return 0;
	}
	if (parse_time(spec, &at->time_ns) == 0) {
		at->kind = AT_TIME;
		return 0;
	}
	return -EINVAL;
}

int history_load_at(struct obj_store *st, const struct mailbox_keys *keys,
		    const struct store_paths *paths, const char *spec,
		    struct commit *c, struct fs_tree **tree, char *msg,
		    size_t msgsize)
{
	struct history_at at;
	if (history_parse_at(spec, &at))
		return msgbuf_say(msg, msgsize,
			   "--at %s: not a commit seq, a commit CID or an "
			   "ISO-8601 UTC time (2026-11-23T05:00:00Z)",
			   spec);
	struct state_set s;
	state_read(paths->head, paths->seen, paths->pruned, keys->journal, &s);
	struct head head = s.head, pruned = s.pruned;
	if (s.head_err == -EBADMSG)
		return msgbuf_say(msg, msgsize,
			   "%s is damaged (%s): run ipmaildir fsck",
			   paths->head, strerror(EBADMSG));
	struct device_state dev;
	if (device_read(paths->device, keys->journal, &dev))
		memset(&dev, 0, sizeof(dev));
	struct walk_ends we = {.pruned = &pruned.commit, .fetched = dev.ends,
			       .nfetched = dev.nends};
	struct cid cid;
	int e = history_resolve_ends(st->bs, keys, &head.commit, &we, &at,
				     &cid, c);
	if (e == -ENOENT)
		return msgbuf_say(msg, msgsize,
			   "--at %s: no such commit%s (see ipmaildir log)",
			   spec,
			   pruned.commit.len ? " among those gc kept" : "");
	if (e)
		return msgbuf_say(msg, msgsize,
			   "--at %s: the commit chain is damaged (%s): run "
			   "ipmaildir fsck",
			   spec, strerror(-e));
	e = manifest_load(st, &c->tree, c->next_ino, tree);
	if (e)
		return msgbuf_say(msg, msgsize, "the tree of commit %llu: %s",
			   (unsigned long long)c->seq,
			   e == -EBADMSG ? "damaged or malformed (run "
					   "ipmaildir fsck)"
					 : strerror(-e));
	return 0;
}

void history_format_time(int64_t ns, char out[HISTORY_TIME_MAX])
{
	time_t t = (time_t)(ns / NS_PER_SEC);
	if (ns < 0 && ns % NS_PER_SEC)
		t--;
	struct tm tm;
	if (!gmtime_r(&t, &tm) ||
	    !strftime(out, HISTORY_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, HISTORY_TIME_MAX, "@%lld", (long long)t);
}
