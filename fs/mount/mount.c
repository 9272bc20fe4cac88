/* fs/mount/mount.c — open a mailbox for mounting, replay, commit, close. */
#include "fs/mount/mount.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache/outbox.h"
#include "fs/model/maildir.h"
#include "fs/model/manifest.h"
#include "fs/model/merge.h"
#include "fs/mount/cache_file.h"
#include "fs/mount/file.h"
#include "fs/mount/cache_keep.h"
#include "fs/mount/node.h"
#include "fs/mount/publish.h"
#include "fs/mount/remote.h"
#include "fs/store/device.h"
#include "fs/store/history.h"
#include "fs/store/wal_store.h"
#include "ipfs/blockstore.h"
#include "ipfs/bs_fault.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/msgbuf.h"
#include "util/thread.h"

#define DEFAULT_CACHE_BYTES (64u << 20)
#define MAILDIR_MODE 0700

/* A new mailbox: an empty Maildir (cur/ new/ tmp/) owned by the caller. */
static int new_tree(struct ipmd_fs *fs)
{
	struct timespec t = wall_now();
	int e = tree_new(&fs->tree, getuid(), getgid(), &t);
	if (e)
		return e;
	fs->tree->root->mode = S_IFDIR | MAILDIR_MODE;
	if (!fs->read_only && (e = ipmd_fs_set_range(fs, fs->tree)))
		return e;
	struct tree_new_inode spec = {.mode = S_IFDIR | MAILDIR_MODE,
				      .uid = getuid(),
				      .gid = getgid()};
	e = maildir_create(fs->tree, fs->tree->root, &spec, &t);
	/* The first commit writes it; but a second device that will follow
	 * the published head (fs/mount/sync.h) waits for it: its first commit
	 * would start a history of its own. */
	fs->changes = fs->device && fs->sync_interval_s ? 0 : 1;
	return e;
}

int ipmd_fs_set_range(struct ipmd_fs *fs, struct fs_tree *t)
{
	uint64_t next = ino_ranges_get(&fs->ranges, fs->device);
	if (!next)
		next = fs->device ? (fs->device << TREE_INO_RANGE_BITS) + 1
				  : TREE_ROOT_INO + 1;
	return tree_set_range(t, fs->device, next);
}

/* This store's device (fs/store/device.h): a writer's inode range. */
static int take_device(struct ipmd_fs *fs, char *msg, size_t msgsize)
{
	struct device_state d;
	enum device_taken how;
	int e = device_take(&fs->store.paths, fs->store.keys.journal,
			    fs->last.inos, fs->last.ninos, &d, &how);
	if (e)
		return msgbuf_say(msg, msgsize,
			   "%s: %s; refusing to guess this store's inode range",
			   fs->store.paths.device,
			   e == -EBADMSG ? "damaged or another mailbox's"
					 : strerror(-e));
	if (how == DEVICE_MOVED)
		logmsg(LOG_NOTICE, "this store was made on another machine: "
		       "it allocates inode numbers as device %llu from now on",
		       (unsigned long long)d.device);
	fs->device = d.device;
	return 0;
}

/* A merged head, for the next commit's "merged" (fs->nmerged < max: the
 * sync merges again only after a commit). */
static void note_merged(struct ipmd_fs *fs, const struct cid *cid,
			const struct commit *c)
{
	struct ino_ranges r;
	for (unsigned i = 0; i < fs->nmerged; i++)
		if (cid_equal(&fs->merged[i], cid))
			return;
	if (fs->nmerged < COMMIT_MERGED_MAX)
		fs->merged[fs->nmerged++] = *cid;
	if (c->seq > fs->merged_seq)
		fs->merged_seq = c->seq;
	commit_ranges(c, &r);
	if (ino_ranges_merge(&fs->ranges, &r))
		logmsg(LOG_WARNING, "more than %d devices' inode ranges: some "
		       "are not recorded", COMMIT_RANGES_MAX);
}

void ipmd_fs_merged(struct ipmd_fs *fs, const struct cid *cid,
		    const struct commit *c, const struct merge_stats *ms)
{
	note_merged(fs, cid, c);
	fs->added += ms->added;
	fs->removed += ms->removed;
	fs->renamed += ms->renamed;
	ipmd_fs_changed(fs);
}

int ipmd_fs_tries(int (*step)(void *), void *arg, bool transient_only,
		  const char *what)
{
	int e;
	for (int tries = 0; (e = step(arg)) != 0 &&
			    (!transient_only || bs_transient(e));) {
		if (++tries == MOUNT_COMMIT_TRIES)
			break;
		if (what)
			logmsg(LOG_WARNING, "%s: %s; trying again", what,
			       strerror(-e));
		usleep(100000u << tries);
	}
	return e;
}

static int head_commit_once(void *arg)
{
	struct ipmd_fs *fs = arg;
	return commit_read(fs->stack.top, &fs->store.keys, &fs->head.commit,
			   &fs->last);
}

static int head_tree_once(void *arg)
{
	struct ipmd_fs *fs = arg;
	return manifest_load(&fs->st, &fs->last.tree, fs->last.next_ino,
			     &fs->tree);
}

/* Loading the head: errors that may pass get a few tries. */
static int read_head_commit(struct ipmd_fs *fs)
{
	return ipmd_fs_tries(head_commit_once, fs, true, "the head commit");
}

static int load_head_tree(struct ipmd_fs *fs)
{
	return ipmd_fs_tries(head_tree_once, fs, true, "the manifest");
}

/* The head store_open read (and judged, fs/store/store_open.h): its
 * commit and tree, or a new mailbox's. */
static int load_head(struct ipmd_fs *fs, char *msg, size_t msgsize)
{
	const struct state_set *s = &fs->store.state;
	fs->head = s->head;
	if (s->head_err == -ENOENT) {
		memset(&fs->head, 0, sizeof(fs->head));
		fs->head.journal_gen = 1;
	}
	if (fs->head.commit.len == 0)
		return (!fs->read_only && take_device(fs, msg, msgsize)) ? -1
		       : new_tree(fs) ? msgbuf_say(msg, msgsize, "out of memory")
				      : 0;
	int e = read_head_commit(fs);
	if (e == -EKEYREJECTED || e == -ENOENT)
		return msgbuf_say(msg, msgsize, "the head commit %s",
			   e == -ENOENT ? "is missing from the store"
					: "is not signed by this mailbox's "
					  "key: refusing it");
	if (e)
		return msgbuf_say(msg, msgsize, "the head commit %s: %s",
			   bs_transient(e) ? "could not be read"
					: "does not open (damaged or "
					  "tampered with)",
			   strerror(-e));
	bool fresh = head_accepts(&fs->head, &s->seen, fs->last.seq,
				  &fs->head.max_seq);
	if (!fresh)
		return msgbuf_say(msg, msgsize,
			   "the head commit has seq %llu but seq %llu was "
			   "already accepted here: refusing a rollback",
			   (unsigned long long)fs->last.seq,
			   (unsigned long long)fs->head.max_seq);
	if (!fs->read_only && take_device(fs, msg, msgsize))
		return -1;
	e = load_head_tree(fs);
	if (e)
		return msgbuf_say(msg, msgsize, "the manifest of commit %llu: %s",
			   (unsigned long long)fs->last.seq,
			   e == -EBADMSG ? "damaged or malformed" : strerror(-e));
	commit_ranges(&fs->last, &fs->ranges);
	if (!fs->read_only && ipmd_fs_set_range(fs, fs->tree))
		return msgbuf_say(msg, msgsize,
			   "commit %llu gives device %llu no inode range",
			   (unsigned long long)fs->last.seq,
			   (unsigned long long)fs->device);
	return 0;
}

/* The store of this machine's mailbox: its paths, lock, keys and state
 * files.  A past state is immutable blocks: it is read beside the writer
 * and only gc must wait for it (STORE/readers). */
static int open_own_store(struct ipmd_fs *fs, const struct mount_options *o,
			  char *msg, size_t msgsize)
{
	struct store_open_options so = {
		.dir = o->store,
		.pass = &o->pass,
		.lock = o->at ? STORE_LOCK_PAST
			: fs->read_only ? STORE_LOCK_SHARED
					: STORE_LOCK_WRITE,
	};
	return store_open(&fs->store, &so, msg, msgsize);
}

/* ipmd_fs_status may say something new: tell who asked. */
static void status_changed(void *arg)
{
	struct ipmd_fs *fs = arg;
	pthread_mutex_lock(&fs->status_lock);
	if (fs->on_status)
		fs->on_status(fs->on_status_arg);
	pthread_mutex_unlock(&fs->status_lock);
}

void ipmd_fs_on_status(struct ipmd_fs *fs, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&fs->status_lock);
	fs->on_status = fn;
	fs->on_status_arg = arg;
	pthread_mutex_unlock(&fs->status_lock);
}

/* The block stack (fs/store/stack.h): the local store, the outbox and
 * the node if any (fs/mount/node.h), a fault wrapper for the tests, the
 * journal's wrapper on top. */
static int open_stack(struct ipmd_fs *fs, const struct mount_options *o,
		      char *msg, size_t msgsize)
{
	struct node_options no = {.node = o->node,
				  .node_timeout_ms = o->node_timeout_ms,
				  .local_cap_bytes = o->local_cap_bytes,
				  .read_only = fs->read_only,
				  .from_node = o->from_node != NULL};
	struct store_stack_spec spec = {.root = fs->store.paths.root,
					.fault = o->fault_spec,
					.watch = !fs->read_only,
					.wal = true,
					.changed = status_changed,
					.changed_arg = fs};
	if (ipmd_node_spec(&no, &spec, msg, msgsize) ||
	    store_stack_open(&spec, &fs->stack, msg, msgsize))
		return -1;
	ipmd_node_ping(&fs->stack);
	return 0;
}

/* Another machine's mailbox (fs/mount/remote.h): its keys and cache
 * directory first, its commit and tree once fs->st reads through the
 * node. */
static void remote_options_of(const struct mount_options *o,
			      struct remote_options *ro)
{
	*ro = (struct remote_options){.from_node = o->from_node,
				      .capability = o->capability,
				      .store = o->store,
				      .at = o->at};
}

static int prepare_remote(struct ipmd_fs *fs, const struct mount_options *o,
			  char *msg, size_t msgsize)
{
	struct remote_options ro;
	remote_options_of(o, &ro);
	return remote_prepare(&ro, &fs->store.keys, &fs->store.paths, msg,
			      msgsize);
}

static int load_remote(struct ipmd_fs *fs, const struct mount_options *o,
		       char *msg, size_t msgsize)
{
	struct remote_options ro;
	remote_options_of(o, &ro);
	struct remote_mount m = {.st = &fs->st,
				 .node = fs->stack.remote,
				 .keys = &fs->store.keys,
				 .seen = fs->store.paths.seen};
	if (remote_load(&ro, &m, msg, msgsize))
		return -1;
	fs->head = m.head;
	fs->last = m.last;
	fs->tree = m.tree;
	return 0;
}

int ipmd_fs_open(struct ipmd_fs *fs, const struct mount_options *o,
		 char *msg, size_t msgsize)
{
	memset(fs, 0, sizeof(*fs));
	store_reset(&fs->store);
	pthread_mutex_init(&fs->lock, NULL);
	pthread_mutex_init(&fs->commit_lock, NULL);
	pthread_mutex_init(&fs->housekeeping, NULL);
	pthread_mutex_init(&fs->status_lock, NULL);
	pthread_cond_init(&fs->commit_cond, NULL);
	fs->read_only = o->read_only || o->at || o->from_node;
	fs->index_cache_off = o->index_cache == MOUNT_INDEX_CACHE_OFF;
	fs->attr_timeout = o->attr_timeout;
	fs->upload_wait_s = o->upload_wait_s;
	fs->publish_interval_s = o->publish_interval_s;
	fs->commit_delay_ms = o->commit_delay_ms;
	fs->local_cap = o->local_cap_bytes != 0;

	int e = o->from_node ? prepare_remote(fs, o, msg, msgsize)
			     : open_own_store(fs, o, msg, msgsize);
	if (e || open_stack(fs, o, msg, msgsize))
		return -1;
	/* Following the published head needs a node and a writer. */
	if (fs->stack.remote && !fs->read_only)
		fs->sync_interval_s = o->sync_interval_s == MOUNT_SYNC_AUTO
					      ? MOUNT_SYNC_DEFAULT_S
					      : o->sync_interval_s;
	fs->cache = chunk_cache_new(o->cache_bytes ? o->cache_bytes
						   : DEFAULT_CACHE_BYTES);
	if (!fs->cache)
		return msgbuf_say(msg, msgsize, "out of memory");
	fs->st = (struct obj_store){
		.bs = fs->stack.top,
		.convergence = fs->read_only ? NULL
					     : fs->store.keys.convergence,
		.chunk_size = OBJ_CHUNK_DEFAULT,
		.fanout = OBJ_FANOUT_DEFAULT,
		.cache = fs->cache,
		.pad = o->pad,
		.scope = o->scope,
	};
	if (o->from_node)
		return load_remote(fs, o, msg, msgsize);
	if (o->at)
		return history_load_at(&fs->st, &fs->store.keys,
				       &fs->store.paths, o->at, &fs->last,
				       &fs->tree, msg, msgsize);
	if (load_head(fs, msg, msgsize))
		return -1;
	if (fs->sync_interval_s) /* its only reader: the sync */
		atomic_store(&fs->gc_bound,
			     store_gc_boundary(&fs->store, fs->st.bs));

	return ipmd_fs_open_journal(fs, o->journal_across_gaps, msg, msgsize);
}

void ipmd_fs_unclaimed(struct ipmd_fs *fs, uint64_t ino)
{
	struct unclaimed *u = &fs->unclaimed;
	ipmd_fs_changed(fs);
	/* A writer's calls come one after another: list it once. */
	if (u->all || (u->n > 0 && u->ino[u->n - 1] == ino))
		return;
	if (u->n == UNCLAIMED_MAX)
		u->all = true;
	else
		u->ino[u->n++] = ino;
}

/* Under lock: seal inode i's writes if no known handle will (mount.h,
 * "File states"), and free its state if that leaves it idle.  0, or the
 * seal's error. */
static int seal_unclaimed_inode(struct ipmd_fs *fs, struct inode *i)
{
	/* Unlinked: nothing names it, nothing to commit.  An open handle
	 * seals at its release, but appends already journaled must be
	 * sealed before the journal rotates past them (tail.h). */
	if (!i || !i->file || !i->nlink ||
	    (i->opens && !file_tail_journaled(i->file)))
		return 0;
	int e = ipmd_fs_seal_locked(fs, i);
	/* Modified again only by a call holding it, which lists it when it
	 * lets go (fs/fuse/ops.c, file_put). */
	if (e == 0)
		(void)ipmd_fs_settle_locked(i, NULL);
	return e;
}

/* Under lock: a failed seal of i; *tails counts those holding journaled
 * appends (tail.h), which the commit must not rotate past. */
static void seal_failed(struct inode *i, unsigned *tails)
{
	if (i && i->file && file_tail_journaled(i->file))
		(*tails)++;
}

/* Under lock: seal what ipmd_fs_unclaimed listed.  Returns how many could
 * not be sealed: they stay listed, and the commit comes back for them. */
static unsigned seal_unclaimed_locked(struct ipmd_fs *fs, unsigned *tails)
{
	struct unclaimed *u = &fs->unclaimed;
	unsigned failed = 0;
	size_t kept = 0;
	/* Nothing lists more meanwhile: the lock is held throughout. */
	for (size_t k = 0; !u->all && k < u->n; k++) {
		struct inode *i = tree_get(fs->tree, u->ino[k]);
		if (seal_unclaimed_inode(fs, i)) {
			u->ino[kept++] = u->ino[k];
			failed++;
			seal_failed(i, tails);
		}
	}
	u->n = kept;
	for (uint32_t b = 0; u->all && b < fs->tree->nbuckets; b++)
		for (struct inode *i = fs->tree->buckets[b]; i;
		     i = i->hash_next)
			if (seal_unclaimed_inode(fs, i)) {
				failed++;
				seal_failed(i, tails);
			}
	u->all = u->all && failed > 0;
	return failed;
}

/* A merge's first step: content journaled before the merge record, so
 * replay sees it sealed.  A state left idle is freed (as the commit's
 * seal does): a merge may change the content under it, and a stale state
 * would be read instead of the merged content. */
int ipmd_fs_seal_all_locked(struct ipmd_fs *fs)
{
	int first = 0;
	for (uint32_t b = 0; b < fs->tree->nbuckets; b++)
		for (struct inode *i = fs->tree->buckets[b]; i;
		     i = i->hash_next) {
			if (!i->file)
				continue;
			int e = ipmd_fs_seal_locked(fs, i);
			if (e && !first)
				first = e;
			if (!e)
				(void)ipmd_fs_settle_locked(i, NULL);
		}
	return first;
}

void ipmd_fs_changed(struct ipmd_fs *fs)
{
	if (fs->changes++ == 0)
		pthread_cond_signal(&fs->commit_cond);
}

/* This device's range raised to the tree's next number, when it holds
 * anything (device 0's always does: the root's Maildir). */
static void own_range(const struct ipmd_fs *fs, struct ino_ranges *r)
{
	uint64_t first = (fs->device << TREE_INO_RANGE_BITS) + 1;
	if (fs->device == 0 || fs->tree->next_ino > first)
		if (ino_ranges_raise(r, fs->tree->next_ino))
			logmsg(LOG_WARNING, "inode ranges: device %llu's is "
			       "not recorded",
			       (unsigned long long)fs->device);
}

/* Under lock: the seq of the commit that would be made now. */
static uint64_t next_seq(const struct ipmd_fs *fs)
{
	if (!fs->nmerged)
		return fs->head.seq + 1;
	/* A merge: above both parents and everything accepted here. */
	uint64_t top = fs->head.seq > fs->merged_seq ? fs->head.seq
						     : fs->merged_seq;
	return (fs->head.max_seq > top ? fs->head.max_seq : top) + 1;
}

/* Under lock: the commit of the tree as it is (its tree CID set). */
static void fill_commit(struct ipmd_fs *fs, struct commit *c)
{
	c->seq = next_seq(fs);
	if (fs->nmerged) {
		c->nmerged = fs->nmerged;
		memcpy(c->merged, fs->merged, sizeof(c->merged));
	}
	c->parent = fs->head.commit;
	struct timespec t = wall_now();
	c->time_ns = (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
	/* The loader's bound: the largest range's next number (the tree's
	 * own next_ino is in this device's range, which may be unused). */
	struct ino_ranges r = fs->ranges;
	own_range(fs, &r);
	c->next_ino = r.n ? 0 : fs->tree->next_ino;
	commit_set_ranges(c, &r);
	maildir_count(fs->tree, &c->messages, &c->folders);
	c->added = fs->added;
	c->removed = fs->removed;
	c->renamed = fs->renamed;
}

int ipmd_fs_commit(struct ipmd_fs *fs)
{
	struct commit c;
	int e;

	if (fs->read_only)
		return 0;
	pthread_mutex_lock(&fs->commit_lock);
	pthread_mutex_lock(&fs->lock);
	if (fs->changes == 0) {
		pthread_mutex_unlock(&fs->lock);
		pthread_mutex_unlock(&fs->commit_lock);
		return 0;
	}
	unsigned tails = 0;
	unsigned unsealed = seal_unclaimed_locked(fs, &tails);
	memset(&c, 0, sizeof(c));
	/* For the log: a commit may fail before fill_commit sets c.seq. */
	uint64_t seq = next_seq(fs);
	/* Directory nodes go straight to the store, not through the journal:
	 * the bs_sync below makes them durable before the commit names them. */
	struct obj_store direct = fs->st;
	direct.bs = fs->stack.direct;
	/* Appends that would not seal live only in this generation: no
	 * rotation past them (retried as any failed commit). */
	e = tails ? -EAGAIN : manifest_seal(fs->tree, &direct, &c.tree);
	uint64_t new_gen = journal_gen(fs->journal) + 1;
	if (!e)
		e = journal_rotate(fs->journal, new_gen);
	unsigned nmerged = 0;
	if (!e) {
		fill_commit(fs, &c);
		/* The merged heads go with this commit; back if it fails. */
		nmerged = fs->nmerged;
		fs->nmerged = 0;
		fs->added = fs->removed = fs->renamed = 0;
		/* Writes that would not seal: the committer comes back. */
		fs->changes = unsealed;
	}
	pthread_mutex_unlock(&fs->lock);

	struct cid cid;
	if (!e)
		e = bs_sync(fs->stack.top);
	if (!e)
		e = commit_write(fs->stack.top, &fs->store.keys, &c, &cid);
	if (!e) {
		/* new_gen's file is there: journal_rotate made it. */
		struct head h = {.commit = cid, .seq = c.seq,
				 .journal_gen = new_gen, .journal_first = true,
				 .max_seq = c.seq > fs->head.max_seq
						    ? c.seq
						    : fs->head.max_seq};
		const struct store_paths *p = &fs->store.paths;
		enum state_failed failed;
		e = state_advance(p->head, p->seen, fs->store.keys.journal,
				  &h, &failed);
		if (e && failed == STATE_FAILED_SEEN) {
			/* The head holds: committed; seen stays one behind,
			 * as after a crash between the two. */
			logmsg(LOG_WARNING, "commit %llu: %s not updated: %s",
			       (unsigned long long)c.seq, p->seen,
			       strerror(-e));
			e = 0;
		}
		if (!e) {
			fs->head = h;
			fs->last = c;
			journal_drop_before(fs->store.paths.journal, new_gen);
			/* With sync on, only a head that contains the
			 * published one goes out (fs/mount/sync.h). */
			if (!fs->sync_interval_s || fs->sync_cleared)
				publisher_commit(fs->publisher, &cid, c.seq);
		}
	}
	if (e && e != fs->commit_error)
		logmsg(LOG_ERR, "commit %llu failed: %s; the journal keeps "
				"every change, retrying",
		       (unsigned long long)seq, strerror(-e));
	else if (!e && fs->commit_error)
		logmsg(LOG_NOTICE, "commit %llu written; commits work again",
		       (unsigned long long)seq);
	if (e) {
		/* The journal still holds every change: retry later. */
		pthread_mutex_lock(&fs->lock);
		fs->changes++;
		if (nmerged && !fs->nmerged) {
			fs->nmerged = nmerged;
			memcpy(fs->merged, c.merged, sizeof(fs->merged));
		}
		pthread_mutex_unlock(&fs->lock);
	}
	fs->commit_error = e;
	pthread_mutex_unlock(&fs->commit_lock);
	status_changed(fs);
	return e;
}

static bool changed(void *arg)
{
	struct ipmd_fs *fs = arg;
	return fs->changes != 0;
}

static void commit_now(void *arg)
{
	ipmd_fs_commit(arg); /* a failure is logged and kept in commit_error */
}

static void *committer_main(void *arg)
{
	struct ipmd_fs *fs = arg;
	/* Group commit: after a change, let more gather for a moment. */
	thread_loop(&fs->lock, &fs->commit_cond, &fs->stopping,
		    fs->commit_delay_ms, changed, commit_now, fs);
	return NULL;
}

int ipmd_fs_start_workers(struct ipmd_fs *fs)
{
	int e = prefetch_start(&fs->st, &fs->prefetch);
	if (!e)
	{
		/* With sync on, its first round says what may be published. */
		struct head none = {0};
		e = ipmd_node_start(&fs->stack, fs->read_only,
				    &fs->store.keys, fs->publish_interval_s,
				    fs->sync_interval_s ? &none : &fs->head,
				    &fs->publisher);
	}
	if (e)
		return e;
	if (fs->read_only)
		return 0;
	e = pthread_create(&fs->committer, NULL, committer_main, fs);
	if (e)
		return -e;
	fs->committer_running = true;
	return 0;
}

/* With --fault, say what was injected (the reliability tests count). */
static void log_faults(struct blockstore *fault)
{
	struct fault_counts fc;
	bs_fault_counts(fault, &fc);
	uint64_t calls = 0, failed = 0, delayed = 0;
	for (int i = 0; i < FAULT_OP_COUNT; i++) {
		calls += fc.calls[i];
		failed += fc.failed[i];
		delayed += fc.delayed[i];
	}
	if (calls)
		logmsg(LOG_NOTICE,
		       "fault injection: %llu store calls, %llu failed "
		       "(put %llu, get %llu, sync %llu), %llu delayed",
		       (unsigned long long)calls, (unsigned long long)failed,
		       (unsigned long long)fc.failed[FAULT_PUT],
		       (unsigned long long)fc.failed[FAULT_GET],
		       (unsigned long long)fc.failed[FAULT_SYNC],
		       (unsigned long long)delayed);
}

int ipmd_fs_close(struct ipmd_fs *fs)
{
	int e = 0;
	if (fs->committer_running) {
		thread_stop(&fs->lock, &fs->commit_cond, &fs->stopping,
			    fs->committer);
		fs->committer_running = false;
	}
	prefetch_stop(fs->prefetch);
	fs->prefetch = NULL;
	if (fs->journal && fs->tree) {
		/* Seal what open files still hold, then commit it all. */
		pthread_mutex_lock(&fs->lock);
		if (ipmd_fs_seal_all_locked(fs))
			e = -EIO;
		pthread_mutex_unlock(&fs->lock);
		int ce = ipmd_fs_commit(fs);
		if (!e)
			e = ce;
		/* Committed: the cache files may outlive the mount. */
		if (!e && fs->cache_dir) {
			int kept = cache_keep_save(fs->cache_dir, fs->tree,
						   &fs->head.commit,
						   fs->head.journal_gen);
			if (kept < 0)
				logmsg(LOG_WARNING, "cache files not kept: %s",
				       strerror(-kept));
		}
	}
	if (fs->journal) {
		wal_store_set_journal(fs->stack.wal, NULL);
		int je = journal_close(fs->journal);
		if (!e)
			e = je;
	}
	ipmd_node_finish(fs->stack.outbox, fs->read_only, fs->upload_wait_s);
	publisher_stop(fs->publisher, 1);
	fs->publisher = NULL;
	if (fs->tree) {
		ipmd_fs_drop_states(fs->tree);
		tree_free(fs->tree);
	}
	cache_dir_close(fs->cache_dir);
	fs->cache_dir = NULL;
	log_faults(fs->stack.fault);
	store_stack_close(&fs->stack);
	chunk_cache_free(fs->cache);
	store_close(&fs->store);
	pthread_cond_destroy(&fs->commit_cond);
	pthread_mutex_destroy(&fs->commit_lock);
	pthread_mutex_destroy(&fs->housekeeping);
	pthread_mutex_destroy(&fs->status_lock);
	pthread_mutex_destroy(&fs->lock);
	return e;
}

void ipmd_fs_status(struct ipmd_fs *fs, struct ipmd_fs_status *st)
{
	struct outbox_stats os;
	outbox_stats(fs->stack.outbox, &os);
	/* head and commit_error change under commit_lock (ipmd_fs_commit). */
	pthread_mutex_lock(&fs->commit_lock);
	*st = (struct ipmd_fs_status){.head_seq = fs->head.seq,
				      .pending = os.pending,
				      .node = os.remote,
				      .commit_error = fs->commit_error};
	pthread_mutex_unlock(&fs->commit_lock);
}
