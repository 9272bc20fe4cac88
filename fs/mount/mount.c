/* fs/mount/mount.c — open a mailbox for mounting, replay, commit, close. */
#include "fs/mount/mount.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fs/model/changes.h"
#include "fs/model/maildir.h"
#include "fs/model/manifest.h"
#include "fs/model/record.h"
#include "fs/mount/file.h"
#include "fs/mount/node.h"
#include "fs/mount/publish.h"
#include "fs/mount/remote.h"
#include "fs/store/history.h"
#include "fs/store/journal_payload.h"
#include "fs/store/wal_store.h"
#include "ipfs/bs_fault.h"
#include "ipfs/bs_local.h"
#include "util/clock.h"
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
	struct tree_new_inode spec = {.mode = S_IFDIR | MAILDIR_MODE,
				      .uid = getuid(),
				      .gid = getgid()};
	e = maildir_create(fs->tree, fs->tree->root, &spec, &t);
	fs->changes = 1; /* the first commit writes it */
	return e;
}

/* Tries of the commit a mount makes at once (backing off 0.2 … 1.6 s). */
#define MOUNT_COMMIT_TRIES 5

/* Errors of a store that may pass (a node, a fault), as opposed to damage
 * (-EBADMSG, -EKEYREJECTED) or absence (-ENOENT), which never do. */
static bool transient(int e)
{
	return e == -EIO || e == -ETIMEDOUT || e == -EAGAIN ||
	       e == -ECONNREFUSED || e == -ECONNRESET;
}

struct replay_count {
	struct fs_tree *tree;
	struct blockstore *bs; /* where block records go back to */
	uint64_t applied, skipped, blocks;
	int store_error; /* a block record the store would not take back */
};

static int replay_one(uint64_t gen, uint64_t seq, const uint8_t *payload,
		      size_t len, void *arg)
{
	(void)gen;
	(void)seq;
	struct replay_count *rc = arg;
	struct journal_payload p;
	journal_payload_decode(payload, len, &p);
	int e;
	if (p.kind == JOURNAL_PAYLOAD_BLOCK) {
		/* Back into the store (wal_store.h).  Putting a block is
		 * idempotent: a store failing for a moment gets a few more
		 * tries. */
		struct cid cid;
		e = bs_put(rc->bs, p.body, p.len, 0, &cid);
		for (int tries = 1; e && transient(e) &&
				    tries < MOUNT_COMMIT_TRIES; tries++) {
			usleep(100000u << tries);
			e = bs_put(rc->bs, p.body, p.len, 0, &cid);
		}
		rc->blocks++;
		rc->store_error = e;
		return e; /* a block we can't store back: stop, say why */
	}
	e = record_replay(rc->tree, p.body, p.len);
	if (e == -EBADMSG)
		return e; /* sealed and authentic, yet malformed: corrupt */
	if (e == 0)
		rc->applied++;
	else
		rc->skipped++; /* failed live the same way, or an orphan */
	return 0;
}

/* Loading the head: a few tries for errors that may pass, then give up. */
static int read_head_commit(struct ipmd_fs *fs)
{
	int e;
	for (int tries = 0;
	     (e = commit_read(fs->bs, &fs->keys, &fs->head.commit,
			      &fs->last)) != 0 && transient(e);) {
		if (++tries == MOUNT_COMMIT_TRIES)
			break;
		syslog(LOG_WARNING, "the head commit: %s; trying again",
		       strerror(-e));
		usleep(100000u << tries);
	}
	return e;
}

static int load_head_tree(struct ipmd_fs *fs)
{
	int e;
	for (int tries = 0;
	     (e = manifest_load(&fs->st, &fs->last.tree, fs->last.next_ino,
				&fs->tree)) != 0 && transient(e);) {
		if (++tries == MOUNT_COMMIT_TRIES)
			break;
		syslog(LOG_WARNING, "the manifest: %s; trying again",
		       strerror(-e));
		usleep(100000u << tries);
	}
	return e;
}

/*
 * The state files, checked before anything is built on them: a missing
 * head over a store with mail, or a damaged or missing seen, is refused
 * (fs/store/head.h, state_check) rather than taken for a new mailbox.  A writer
 * rewrites untyped files typed, and gives a new mailbox its head at once,
 * so that from the first journal record on a missing head is damage.
 */
static int load_state(struct ipmd_fs *fs, struct state_set *s, char *msg,
		      size_t msgsize)
{
	state_read(fs->paths.head, fs->paths.seen, fs->paths.pruned,
		   fs->keys.journal, s);
	int data = s->head_err == -ENOENT ? store_has_data(&fs->paths) : 0;
	if (data < 0)
		return msgbuf_say(msg, msgsize, "%s: %s", fs->paths.root,
			   strerror(-data));
	enum state_problem p = state_check(s, data == 1);
	if (p != STATE_OK)
		return msgbuf_say(msg, msgsize, "%s: %s", fs->paths.root,
			   state_problem_text(p));
	if (fs->read_only)
		return 0;
	int e = state_upgrade(fs->paths.head, fs->paths.seen,
			      fs->paths.pruned, fs->keys.journal, s);
	if (!e && s->head_err == -ENOENT) {
		struct head h = {.journal_gen = 1};
		e = head_write(fs->paths.head, fs->keys.journal,
			       BLOCK_STATE_HEAD, &h);
	}
	if (e)
		return msgbuf_say(msg, msgsize, "%s: %s", fs->paths.head,
			   strerror(-e));
	return 0;
}

static int load_head(struct ipmd_fs *fs, char *msg, size_t msgsize)
{
	struct state_set s;
	if (load_state(fs, &s, msg, msgsize))
		return -1;
	fs->head = s.head;
	if (s.head_err == -ENOENT) {
		memset(&fs->head, 0, sizeof(fs->head));
		fs->head.journal_gen = 1;
	}
	if (fs->head.commit.len == 0)
		return new_tree(fs) ? msgbuf_say(msg, msgsize, "out of memory") : 0;
	int e = read_head_commit(fs);
	if (e)
		return msgbuf_say(msg, msgsize, "the head commit %s: %s",
			   e == -EKEYREJECTED ? "is not signed by this "
						"mailbox's key: refusing it"
			   : e == -ENOENT ? "is missing from the store"
					  : "does not open (damaged or "
					    "tampered with)",
			   e == -EKEYREJECTED || e == -ENOENT ? ""
							      : strerror(-e));
	bool fresh = head_accepts(&fs->head, &s.seen, fs->last.seq,
				  &fs->head.max_seq);
	if (!fresh)
		return msgbuf_say(msg, msgsize,
			   "the head commit has seq %llu but seq %llu was "
			   "already accepted here: refusing a rollback",
			   (unsigned long long)fs->last.seq,
			   (unsigned long long)fs->head.max_seq);
	e = load_head_tree(fs);
	if (e)
		return msgbuf_say(msg, msgsize, "the manifest of commit %llu: %s",
			   (unsigned long long)fs->last.seq,
			   e == -EBADMSG ? "damaged or malformed" : strerror(-e));
	return 0;
}

/* The store of this machine's mailbox: its paths, lock and keys. */
static int open_own_store(struct ipmd_fs *fs, const struct mount_options *o,
			  char *msg, size_t msgsize)
{
	int e = store_paths_init(&fs->paths, o->store);
	if (e)
		return msgbuf_say(msg, msgsize, "cannot name the store: %s",
			   strerror(-e));
	if (access(fs->paths.key, F_OK) != 0) {
		store_no_key_message(&fs->paths, msg, msgsize);
		return -1;
	}
	/* A past state is immutable blocks: it may be read beside the writer
	 * and only gc must wait for it (STORE/readers, fs/store/history.h). */
	if (o->at && (e = history_reader_lock(&fs->paths, &fs->lock_fd)) != 0)
		return msgbuf_say(msg, msgsize, "%s", e == -EBUSY
				   ? "ipmaildir gc is running: try again when "
				     "it is done"
				   : strerror(-e));
	if (!o->at)
		fs->lock_fd = open(fs->paths.lock,
				   O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fs->lock_fd < 0)
		return msgbuf_say(msg, msgsize, "%s: %s", fs->paths.lock,
			   strerror(errno));
	if (!o->at &&
	    flock(fs->lock_fd, (fs->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB))
		return msgbuf_say(msg, msgsize,
			   "%s is in use by another ipmaildir process",
			   fs->paths.root);

	int sys_errno = 0;
	e = store_load_keys(&fs->paths, &o->pass, &fs->keys, &sys_errno);
	if (e) {
		char why[PATH_MAX + 128];
		store_keys_strerror(&fs->paths, &o->pass, e, sys_errno, why,
				    sizeof(why));
		return msgbuf_say(msg, msgsize, "%s", why);
	}
	return 0;
}

/* Replay the journal over the head's tree (fs->tree); block records go
 * back into the store under the journal wrapper.  0, or -1 with why in
 * msg; *err: the replay's own result (-ENOENT: no journal yet). */
static int replay_journal(struct ipmd_fs *fs, struct journal_replay_stats *js,
			  int *err, char *msg, size_t msgsize)
{
	struct replay_count rc = {.tree = fs->tree, .bs = fs->bs->parent};
	memset(js, 0, sizeof(*js));
	int e = journal_replay(fs->paths.journal, fs->keys.journal,
			       fs->head.journal_gen, !fs->read_only,
			       replay_one, &rc, js);
	*err = e;
	if (e && e != -ENOENT && rc.store_error)
		return msgbuf_say(msg, msgsize,
			   "the store refused a block of journal %s (offset "
			   "%llu): %s; nothing was lost, mount again when the "
			   "store is back",
			   js->bad_file[0] ? js->bad_file : fs->paths.journal,
			   (unsigned long long)js->bad_offset,
			   strerror(-rc.store_error));
	if (e && e != -ENOENT)
		return msgbuf_say(msg, msgsize,
			   "journal %s is damaged at offset %llu (%s): "
			   "refusing to mount over it; run ipmaildir fsck",
			   js->bad_file[0] ? js->bad_file : fs->paths.journal,
			   (unsigned long long)js->bad_offset, strerror(-e));
	if (rc.applied || rc.skipped) {
		fs->changes += rc.applied + 1;
		syslog(LOG_NOTICE,
		       "replayed %llu journal records over commit %llu "
		       "(%llu skipped: changes that failed live too)",
		       (unsigned long long)rc.applied,
		       (unsigned long long)fs->last.seq,
		       (unsigned long long)rc.skipped);
	}
	if (js->torn_tail_bytes)
		syslog(LOG_WARNING,
		       "journal: cut %llu bytes of a record torn by a crash "
		       "(never acknowledged)",
		       (unsigned long long)js->torn_tail_bytes);
	return 0;
}

/* A writable mount's journal: the generation to append to (empty: the
 * replay found no record), and the replayed state a commit. */
static int start_journal(struct ipmd_fs *fs, bool empty,
			 const struct journal_replay_stats *js, char *msg,
			 size_t msgsize)
{
	/* After records, a fresh generation (the first commit drops the
	 * replayed ones).  With none, the newest empty one is reused and the
	 * older ones, empty or covered by the head, go: otherwise every open
	 * that changes nothing (fsck --repair, a mount without mail) would
	 * leave one more empty file.  A crash in between leaves only empty
	 * files, which replay to nothing. */
	uint64_t gen = fs->head.journal_gen;
	if (js->files > 0 && js->last_gen >= gen)
		gen = empty ? js->last_gen : js->last_gen + 1;
	int e = journal_open(fs->paths.journal, fs->keys.journal, gen,
			     &fs->journal);
	if (e)
		return msgbuf_say(msg, msgsize, "journal in %s: %s",
			   fs->paths.journal, strerror(-e));
	if (empty && (e = journal_drop_before(fs->paths.journal, gen)))
		syslog(LOG_WARNING, "journal: cannot drop empty generations "
		       "before %llu: %s", (unsigned long long)gen,
		       strerror(-e));
	wal_store_set_journal(fs->bs, fs->journal);
	/* Make the replayed state (or the new mailbox) a commit now. */
	/* The journal holds it all, so a store that fails for a moment (a
	 * node, a fault) gets a few more tries before the mount gives up. */
	for (int tries = 0; fs->changes && (e = ipmd_fs_commit(fs)) != 0;) {
		if (++tries == MOUNT_COMMIT_TRIES)
			return msgbuf_say(msg, msgsize, "first commit: %s",
				   strerror(-e));
		syslog(LOG_WARNING, "first commit: %s; trying again",
		       strerror(-e));
		usleep(100000u << tries);
	}
	return 0;
}

/* Right after fs->bs is the local store: the outbox and the node under
 * it, if any (fs/mount/node.h). */
static int attach_node(struct ipmd_fs *fs, const struct mount_options *o,
		       char *msg, size_t msgsize)
{
	struct node_options no = {.root = fs->paths.root,
				  .node = o->node,
				  .node_timeout_ms = o->node_timeout_ms,
				  .local_cap_bytes = o->local_cap_bytes,
				  .read_only = fs->read_only,
				  .from_node = o->from_node != NULL};
	return ipmd_node_attach(&no, &fs->bs, &fs->outbox, msg, msgsize);
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
	return remote_prepare(&ro, &fs->keys, &fs->paths, msg, msgsize);
}

static int load_remote(struct ipmd_fs *fs, const struct mount_options *o,
		       char *msg, size_t msgsize)
{
	struct remote_options ro;
	remote_options_of(o, &ro);
	struct remote_mount m = {.st = &fs->st,
				 .outbox = fs->outbox,
				 .keys = &fs->keys,
				 .seen = fs->paths.seen};
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
	fs->lock_fd = -1;
	pthread_mutex_init(&fs->lock, NULL);
	pthread_mutex_init(&fs->commit_lock, NULL);
	pthread_cond_init(&fs->commit_cond, NULL);
	fs->read_only = o->read_only || o->at || o->from_node;
	fs->attr_timeout = o->attr_timeout;
	fs->upload_wait_s = o->upload_wait_s;
	fs->publish_interval_s = o->publish_interval_s;
	fs->commit_delay_ms = o->commit_delay_ms;

	int e = o->from_node ? prepare_remote(fs, o, msg, msgsize)
			     : open_own_store(fs, o, msg, msgsize);
	if (e)
		return -1;
	e = bs_local_open(fs->paths.root, &fs->bs);
	if (e)
		return msgbuf_say(msg, msgsize, "block store in %s: %s",
			   fs->paths.root, strerror(-e));
	if (attach_node(fs, o, msg, msgsize))
		return -1;
	if (o->fault_spec) {
		struct fault_config fc;
		struct blockstore *wrapped;
		if (bs_fault_parse(o->fault_spec, &fc) ||
		    bs_fault_wrap(fs->bs, &fc, &wrapped))
			return msgbuf_say(msg, msgsize, "bad fault spec '%s'",
				   o->fault_spec);
		fs->bs = wrapped;
	}
	struct blockstore *wal;
	if (wal_store_wrap(fs->bs, NULL, &wal))
		return msgbuf_say(msg, msgsize, "out of memory");
	fs->bs = wal;
	fs->cache = chunk_cache_new(o->cache_bytes ? o->cache_bytes
						   : DEFAULT_CACHE_BYTES);
	if (!fs->cache)
		return msgbuf_say(msg, msgsize, "out of memory");
	fs->st = (struct obj_store){
		.bs = fs->bs,
		.convergence = fs->read_only ? NULL : fs->keys.convergence,
		.chunk_size = OBJ_CHUNK_DEFAULT,
		.fanout = OBJ_FANOUT_DEFAULT,
		.cache = fs->cache,
		.pad = o->pad,
		.scope = o->scope,
	};
	if (o->from_node)
		return load_remote(fs, o, msg, msgsize);
	if (o->at)
		return history_load_at(&fs->st, &fs->keys, &fs->paths, o->at,
				       &fs->last, &fs->tree, msg, msgsize);
	if (load_head(fs, msg, msgsize))
		return -1;

	struct journal_replay_stats js;
	if (replay_journal(fs, &js, &e, msg, msgsize))
		return -1;
	if (fs->read_only)
		return 0;
	return start_journal(fs, e == 0 && js.records == 0, &js, msg, msgsize);
}

void ipmd_fs_release_inode(struct inode *inode, void *arg)
{
	struct ipmd_fs *fs = arg;
	if (inode->nlink || inode->lookups || inode->opens)
		return;
	file_state_free(inode->file);
	inode->file = NULL;
	tree_release(fs->tree, inode);
}

int ipmd_fs_log(struct ipmd_fs *fs, struct record *r)
{
	char *json;
	size_t len;
	if (fs->read_only)
		return -EROFS;
	int e = record_encode(r, &json, &len);
	if (e != 0)
		return e;
	e = journal_append(fs->journal, (const uint8_t *)json, len, false);
	sodium_memzero(json, len); /* a content record carries a file key */
	free(json);
	if (e != 0)
		return e;
	struct mail_changes mc = mail_changes_of(fs->tree, r);
	e = record_apply(fs->tree, r, ipmd_fs_release_inode, fs);
	if (e == 0) {
		fs->added += mc.added;
		fs->removed += mc.removed;
		fs->renamed += mc.renamed;
		ipmd_fs_changed(fs);
	}
	return e;
}

int ipmd_fs_seal_locked(struct ipmd_fs *fs, struct inode *inode)
{
	if (!S_ISREG(inode->mode) || !inode->file ||
	    !file_modified(inode->file))
		return 0;
	struct record r = {.op = REC_CONTENT, .ino = inode->ino,
			   .mtime = inode->mtime, .time = wall_now()};
	int e = file_seal(&fs->st, inode->file, &r.content);
	return e ? e : ipmd_fs_log(fs, &r);
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
	/* Unlinked: nothing names it, nothing to commit. */
	if (!i || !i->file || i->opens || !i->nlink)
		return 0;
	int e = ipmd_fs_seal_locked(fs, i);
	if (e == 0 && file_state_idle(i->file)) {
		file_state_free(i->file);
		i->file = NULL;
	}
	return e;
}

/* Under lock: seal what ipmd_fs_unclaimed listed.  Returns how many could
 * not be sealed: they stay listed, and the commit comes back for them. */
static unsigned seal_unclaimed_locked(struct ipmd_fs *fs)
{
	struct unclaimed *u = &fs->unclaimed;
	unsigned failed = 0;
	size_t kept = 0;
	/* Nothing lists more meanwhile: the lock is held throughout. */
	for (size_t k = 0; !u->all && k < u->n; k++) {
		if (seal_unclaimed_inode(fs, tree_get(fs->tree, u->ino[k]))) {
			u->ino[kept++] = u->ino[k];
			failed++;
		}
	}
	u->n = kept;
	for (uint32_t b = 0; u->all && b < fs->tree->nbuckets; b++)
		for (struct inode *i = fs->tree->buckets[b]; i;
		     i = i->hash_next)
			failed += seal_unclaimed_inode(fs, i) != 0;
	u->all = u->all && failed > 0;
	return failed;
}

void ipmd_fs_changed(struct ipmd_fs *fs)
{
	if (fs->changes++ == 0)
		pthread_cond_signal(&fs->commit_cond);
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
	unsigned unsealed = seal_unclaimed_locked(fs);
	memset(&c, 0, sizeof(c));
	/* Directory nodes go straight to the store, not through the journal:
	 * the bs_sync below makes them durable before the commit names them. */
	struct obj_store direct = fs->st;
	direct.bs = fs->bs->parent;
	e = manifest_seal(fs->tree, &direct, &c.tree);
	uint64_t new_gen = journal_gen(fs->journal) + 1;
	if (!e)
		e = journal_rotate(fs->journal, new_gen);
	if (!e) {
		c.seq = fs->head.seq + 1;
		c.parent = fs->head.commit;
		struct timespec t = wall_now();
		c.time_ns = (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
		c.next_ino = fs->tree->next_ino;
		maildir_count(fs->tree, &c.messages, &c.folders);
		c.added = fs->added;
		c.removed = fs->removed;
		c.renamed = fs->renamed;
		fs->added = fs->removed = fs->renamed = 0;
		/* Writes that would not seal: the committer comes back. */
		fs->changes = unsealed;
	}
	pthread_mutex_unlock(&fs->lock);

	struct cid cid;
	if (!e)
		e = bs_sync(fs->bs);
	if (!e)
		e = commit_write(fs->bs, &fs->keys, &c, &cid);
	if (!e) {
		struct head h = {.commit = cid, .seq = c.seq,
				 .journal_gen = new_gen,
				 .max_seq = c.seq > fs->head.max_seq
						    ? c.seq
						    : fs->head.max_seq};
		e = head_write(fs->paths.head, fs->keys.journal,
			       BLOCK_STATE_HEAD, &h);
		if (!e)
			e = head_write(fs->paths.seen, fs->keys.journal,
				       BLOCK_STATE_SEEN, &h);
		if (!e) {
			fs->head = h;
			fs->last = c;
			journal_drop_before(fs->paths.journal, new_gen);
			publisher_commit(fs->publisher, &cid, c.seq);
		}
	}
	if (e && e != fs->commit_error)
		syslog(LOG_ERR, "commit %llu failed: %s; the journal keeps "
				"every change, retrying",
		       (unsigned long long)c.seq, strerror(-e));
	else if (!e && fs->commit_error)
		syslog(LOG_NOTICE, "commit %llu written; commits work again",
		       (unsigned long long)c.seq);
	if (e) {
		/* The journal still holds every change: retry later. */
		pthread_mutex_lock(&fs->lock);
		fs->changes++;
		pthread_mutex_unlock(&fs->lock);
	}
	fs->commit_error = e;
	pthread_mutex_unlock(&fs->commit_lock);
	return e;
}

static void *committer_main(void *arg)
{
	struct ipmd_fs *fs = arg;
	pthread_mutex_lock(&fs->lock);
	while (!fs->stopping) {
		if (fs->changes == 0) {
			pthread_cond_wait(&fs->commit_cond, &fs->lock);
			continue;
		}
		/* Group commit: let more changes gather for a moment. */
		struct timespec until = deadline_ms(fs->commit_delay_ms);
		pthread_cond_timedwait(&fs->commit_cond, &fs->lock, &until);
		if (fs->stopping)
			break;
		pthread_mutex_unlock(&fs->lock);
		ipmd_fs_commit(fs);
		pthread_mutex_lock(&fs->lock);
	}
	pthread_mutex_unlock(&fs->lock);
	return NULL;
}

int ipmd_fs_start_committer(struct ipmd_fs *fs)
{
	int e = prefetch_start(&fs->st, &fs->prefetch);
	if (!e)
		e = ipmd_node_start(fs->outbox, fs->read_only, &fs->keys,
				    fs->publish_interval_s, &fs->head,
				    &fs->publisher);
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

static void free_file_states(struct fs_tree *t)
{
	for (uint32_t b = 0; b < t->nbuckets; b++)
		for (struct inode *i = t->buckets[b]; i; i = i->hash_next) {
			file_state_free(i->file);
			i->file = NULL;
		}
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
		for (uint32_t b = 0; b < fs->tree->nbuckets; b++)
			for (struct inode *i = fs->tree->buckets[b]; i;
			     i = i->hash_next) {
				if (ipmd_fs_seal_locked(fs, i))
					e = -EIO;
			}
		pthread_mutex_unlock(&fs->lock);
		int ce = ipmd_fs_commit(fs);
		if (!e)
			e = ce;
	}
	if (fs->journal) {
		wal_store_set_journal(fs->bs, NULL);
		int je = journal_close(fs->journal);
		if (!e)
			e = je;
	}
	ipmd_node_finish(fs->outbox, fs->read_only, fs->upload_wait_s);
	publisher_stop(fs->publisher, 1);
	fs->publisher = NULL;
	if (fs->tree) {
		free_file_states(fs->tree);
		tree_free(fs->tree);
	}
	/* With --fault, say what was injected (the reliability tests count). */
	for (struct blockstore *b = fs->bs; b; b = b->parent) {
		struct fault_counts fc;
		bs_fault_counts(b, &fc);
		uint64_t calls = 0, failed = 0, delayed = 0;
		for (int i = 0; i < FAULT_OP_COUNT; i++) {
			calls += fc.calls[i];
			failed += fc.failed[i];
			delayed += fc.delayed[i];
		}
		if (calls)
			syslog(LOG_NOTICE,
			       "fault injection: %llu store calls, %llu failed "
			       "(put %llu, get %llu, sync %llu), %llu delayed",
			       (unsigned long long)calls,
			       (unsigned long long)failed,
			       (unsigned long long)fc.failed[FAULT_PUT],
			       (unsigned long long)fc.failed[FAULT_GET],
			       (unsigned long long)fc.failed[FAULT_SYNC],
			       (unsigned long long)delayed);
	}
	bs_close(fs->bs);
	chunk_cache_free(fs->cache);
	keys_free(&fs->keys);
	if (fs->lock_fd >= 0)
		close(fs->lock_fd);
	pthread_cond_destroy(&fs->commit_cond);
	pthread_mutex_destroy(&fs->commit_lock);
	pthread_mutex_destroy(&fs->lock);
	return e;
}
