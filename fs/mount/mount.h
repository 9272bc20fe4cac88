/*
 * fs/mount/mount.h — one mounted mailbox: the context every FUSE operation gets.
 *
 * Locking: `lock` guards the tree, every inode field, the journal's record
 * order and the commit counters.  A struct file_state has its own mutex for
 * file data (fs/mount/file.h); order: file mutex before `lock` is never needed —
 * data calls run without `lock`, and take it only after they return.
 * Slow work (fdatasync, block reads) never runs under `lock`.  Sealing runs
 * under it in two bounded places: the manifest sealing of a commit (only
 * dirty shards), and ipmd_fs_seal_locked, which seals the at most
 * FILE_DIRTY_MAX buffers a file still holds (puts without durability, no
 * fsync) so that its content record and the rename or close that needs it
 * are one step under the lock.
 *
 * Durability: every namespace change is a journal record appended under
 * `lock` before it is applied (fs/model/record.h).  Calls that promise durability
 * (fsync, rename into another directory but new/ to cur/, link, mkdir,
 * symlink) then make
 * the block store durable and sync the journal, outside `lock`, in that
 * order: a durable record never names a block that isn't.  The FUSE side
 * does that in the durable queue's thread, not in its worker
 * (fs/mount/durable_queue.h), and replies from there.  A rename within
 * one directory, unlink and rmdir wait for the next sync or commit.
 *
 * File states (fs/mount/file.h) belong to the inode, not to an open
 * handle: with the kernel's no-open (`no_open`, fs/fuse/ops.c) the
 * daemon counts no handle (a create's neither: its release comes only if
 * it closes before the first open has answered ENOSYS, or on kernels
 * that always send it), and no flush or release tells it a writer is
 * done.  A state is made by
 * the first write or truncate and sealed by fsync (or, when the file only
 * grew, or a replacement file's first bytes fit TAIL_JOURNAL_MAX, its new
 * bytes journaled as append records: fs/mount/tail.h), by a rename (not
 * when every change is so journaled) or link, or else by the next commit,
 * which seals every state no
 * handle the daemon knows of holds (the inodes ipmd_fs_unclaimed listed),
 * and every state holding journaled appends, before the journal rotates.
 * Without no-open (a kernel that lacks it) inode->opens counts the
 * handles, and a handle's release seals what it wrote.  A state is freed
 * once file_state_idle says so and no known handle is open.
 *
 * Held states and freed inodes.  ipmd_fs_release_inode frees an inode,
 * and its state, once nlink, lookups and opens are all 0, whatever path
 * gets there (FORGET, the last release, an unlink or a rename over the
 * last name, a merge).  A state is held outside fs->lock (file_state_hold)
 * only by a FUSE call on its own inode (fs/fuse/ops_file.c: read, write,
 * and the seal of flush, release and fsync); nothing else in the daemon
 * holds one (the commit, a merge and a fast-forward seal and settle under
 * the lock, and prefetch reads committed content, never a state).  As
 * far as is known, while a call on an inode is in flight the kernel keeps
 * that inode (a request the daemon has read is waited for even on a fatal
 * signal; an async release keeps it until answered), and sends FORGET
 * only once it evicts it; inode->lookups never falls below the kernel's
 * own count (every entry counted before its reply, given back only when
 * the reply fails).  So lookups > 0 while a state is held, and the
 * release does not meet a held state.  One known gap: before Linux 6.14,
 * writeback of a shared mapping wrote from temporary pages, so in no_open
 * mode (no handle keeps the inode) a FORGET may come before such a
 * write's file_put.  That case and any other break are covered by the
 * fallback: ipmd_fs_release_inode keeps the inode and says so in the log
 * ("bug: ..."; the integration suite fails on such a line, so on such a
 * kernel a test writing through a shared mapping may fail there), and
 * the holder's file_put releases it when it lets go.  The log line does
 * not tell that case apart: the hold records no kind of call.
 */
#ifndef IPMD_FS_MOUNT_MOUNT_H
#define IPMD_FS_MOUNT_MOUNT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cache/chunk_cache.h"
#include "crypto/keys.h"
#include "fs/model/commit.h"
#include "fs/model/object.h"
#include "fs/model/tree.h"
#include "fs/mount/durable_queue.h"
#include "fs/mount/owner.h"
#include "fs/mount/prefetch.h"
#include "fs/store/head.h"
#include "fs/store/journal.h"
#include "fs/store/stack.h"
#include "fs/store/store_open.h"
#include "util/attr.h"

/* mount_options.index_cache.  Off: Dovecot's index files are mailbox
 * files like any other, committed and journaled; for Dovecot setups whose
 * index files are not caches (mail_location with LAYOUT=index, where
 * dovecot.list.index holds the folder names; sdbox and mdbox, where
 * dovecot.index holds UIDs and flags). */
enum mount_index_cache {
	MOUNT_INDEX_CACHE_ON,
	MOUNT_INDEX_CACHE_OFF,
};

struct mount_options {
	const char *store;        /* NULL: the default store */
	struct passphrase_source pass;
	bool read_only;
	double attr_timeout;      /* seconds the kernel may cache attributes */
	unsigned commit_delay_ms; /* group commits: wait this long after a
				     change before committing */
	size_t cache_bytes;       /* plaintext chunk cache */
	enum obj_pad pad;         /* chunk padding of what this mount writes
				     (-o pad=padme|none); zero: padded */
	enum obj_scope scope;     /* convergence scope of what it writes
				     (-o convergence=message|mailbox);
				     zero: per message */
	enum mount_index_cache index_cache; /* -o index_cache=on|off: are
				     Dovecot's index files local cache files
				     (fs/mount/cache_class.h)?  zero: on */
	const char *fault_spec;   /* wrap the store in bs_fault (tests) */
	const char *node;         /* IPFS node API (multiaddr, URL, "auto"):
				     the local store becomes its cache and
				     outbox (cache/outbox.h); NULL: none */
	unsigned node_timeout_ms; /* bound on a read from the node; 0: default */
	uint64_t local_cap_bytes; /* with a node: cap on the local store, LRU
				     eviction of uploaded blocks; 0: none */
	unsigned publish_interval_s; /* with a node: publish the head over
				     IPNS at most this often; 0: never */
	unsigned upload_wait_s;   /* with a node: unmount waits this long for
				     the outbox to drain (fs/mount/node.h) */
	const char *from_node;    /* another machine's mailbox (fs/mount/remote.h):
				     its id or a commit CID; read-only */
	const char *capability;   /* with from_node: the read capability file */
	const char *at;           /* a past state (fs/store/history.h --at SEQ|CID|TIME):
				     read-only, no journal, no writer lock */
	bool journal_across_gaps; /* replay on past missing journal
				     generations, whose changes are lost
				     (fsck --repair, once it said so); a
				     mount refuses them */
	/* The daemon's, not the mailbox's: fs/cli reads them, the mount
	 * does not (they share the option table, fs/cli/options.h). */
	bool nonempty;            /* -o nonempty: mount on a directory that
				     is not empty */
	char log_file[PATH_MAX];  /* -o log=FILE: the log goes there; "":
				     syslog, else stderr (util/log.h) */
	unsigned sync_interval_s; /* a writable mount with a node: follow the
				     published head this often (fs/mount/sync.h);
				     0: never; MOUNT_SYNC_AUTO: the default */
	unsigned owner_uid, owner_gid; /* the FUSE daemon's -o owner, group:
				     this device's mail user (fs/mount/owner.h;
				     OWNER_AUTO: the daemon's, unless root) */
};

/* The inodes whose file state may hold writes no known handle will seal:
 * a list, or, once more than UNCLAIMED_MAX were listed, every inode (a
 * walk over all of them cost 15-30 ms under the lock at 100,000). */
#define UNCLAIMED_MAX 1024
struct unclaimed {
	uint64_t ino[UNCLAIMED_MAX];
	size_t n;
	bool all;
};

/* mount_options.sync_interval_s: MOUNT_SYNC_DEFAULT_S with a node, else
 * off. */
#define MOUNT_SYNC_AUTO UINT_MAX
#define MOUNT_SYNC_DEFAULT_S 30

/* What the kernel may have cached that a merge or a fast-forward changed
 * behind it (fs/fuse sets it once the session exists; unset: nothing to
 * tell).  Called without `lock`, never from a FUSE request. */
struct ipmd_notify {
	void (*entry)(void *arg, uint64_t parent, const char *name);
	void (*inode)(void *arg, uint64_t ino);
	void *arg;
};

struct ipmd_fs {
	pthread_mutex_t lock;
	struct fs_tree *tree;
	/* Paths, keys, locks, the state files as opened (store_open); a
	 * mount from a node has the cache directory's paths and the
	 * capability's keys, and holds no lock. */
	struct store store;
	/* The blocks (fs/store/stack.h): wal over [fault] over [outbox over
	 * local, the node beside], by name. */
	struct store_stack stack;
	struct chunk_cache *cache;
	struct obj_store st;
	struct prefetch *prefetch; /* next chunk of sequential reads */
	struct cache_dir *cache_dir; /* local cache files (fs/mount/cache_file.h);
					NULL on a read-only mount */
	struct journal *journal;
	struct head head;
	struct commit last; /* the commit the tree started from, or zero */
	bool read_only;
	bool index_cache_off; /* -o index_cache=off: no file is created as
				 a local cache file (fs/mount/cache_class.h) */
	bool no_open;       /* the kernel opens files without asking us */
	struct unclaimed unclaimed; /* for the next commit to seal */
	double attr_timeout;
	unsigned upload_wait_s;
	unsigned publish_interval_s;
	struct publisher *publisher; /* IPNS head (fs/mount/publish.h), or NULL */

	/* Several devices (docs/ARCHITECTURE.md, "Several devices"). */
	uint64_t device;          /* this store's inode range (fs/store/device.h) */
	struct ino_ranges ranges; /* every range's next number as merged in
				     (this device's own: the tree's next_ino) */
	struct owner_map owner;   /* this device's mail user: what the kernel
				     is shown (fs/mount/owner.h); zeroed
				     (off) by ipmd_fs_open, set by the FUSE
				     daemon */
	unsigned sync_interval_s; /* 0: no sync (fs/mount/sync.h); else the
				     publisher gets only heads sync cleared */
	bool sync_cleared;        /* under commit_lock: the last sync round
				     found the head containing the published
				     one, so every later commit does too and
				     goes to the publisher as it is written */
	unsigned nmerged;         /* heads merged in since the last commit: */
	struct cid merged[COMMIT_MERGED_MAX]; /* its "merged" */
	uint64_t merged_seq;      /* the largest seq among them */
	struct ipmd_notify notify;
	/* Answers the FUSE calls that promise durability once the store is
	 * (fs/mount/durable_queue.h): fs/fuse starts and stops it; NULL:
	 * none, the caller waits itself. */
	struct durable_queue *durable;
	bool local_cap;           /* -o local_cap_mb: the local store keeps
				     only some blocks; a merge fetches none */
	/* gc's boundary (store_gc_boundary, fs/store/history.h) for the
	 * sync's walks: read from STORE/pruned at open (an offline gc can't
	 * run while mounted), moved by a gc beside the mount when it
	 * writes the file (fs/tools/gc_live.h). */
	_Atomic uint64_t gc_bound;

	/* Commits. */
	pthread_mutex_t commit_lock; /* one commit at a time */
	pthread_t committer;
	bool committer_running;
	pthread_cond_t commit_cond;
	bool stopping;
	unsigned commit_delay_ms;
	uint64_t changes;   /* records since the last commit */
	uint64_t added, removed, renamed;
	int commit_error;   /* last commit failure, 0 when fine */

	/* Housekeeping beside the writers (gc, fsck and status through the
	 * control socket, fs/cli/control.h): held by it, and by a sync
	 * round from fetching what it takes in to the tree holding it
	 * (fs/mount/sync.c), so gc never sees blocks a merge fetched but
	 * nothing names yet.  Order: housekeeping, commit_lock, lock. */
	pthread_mutex_t housekeeping;

	/* Who is told that the status may have changed (ipmd_fs_on_status). */
	pthread_mutex_t status_lock;
	void (*on_status)(void *arg);
	void *on_status_arg;
};

/* Open the store, load keys, the head commit and replay the journal.
 * On failure *msg says why in one line (static or into msgbuf). */
IPMD_MUST_CHECK
int ipmd_fs_open(struct ipmd_fs *fs, const struct mount_options *o,
		 char *msgbuf, size_t msgsize);
/* Commit what is pending, stop the committer, free everything. */
int ipmd_fs_close(struct ipmd_fs *fs);

/* Write a commit now if anything changed (the committer calls it; so do
 * unmount and fsyncdir).  0 or negative errno. */
int ipmd_fs_commit(struct ipmd_fs *fs);
/* Start the mount's threads: the prefetcher, the node's uploaders and
 * publisher, and (read-write) the committer.  0 or negative errno. */
int ipmd_fs_start_workers(struct ipmd_fs *fs);
/* Tell the committer a change happened (called under lock). */
void ipmd_fs_changed(struct ipmd_fs *fs);

struct file_state;
struct file_status;
struct record;
/* Under lock: journal a record, then apply it to the tree (fs/model/record.h).
 * A record that touches only local cache files (cache_file_classify) is
 * applied without the journal and wakes no commit; a create of one gives
 * the new inode its cache file.  -EXDEV: a cache file would leave the
 * cache names. */
int ipmd_fs_log(struct ipmd_fs *fs, struct record *r);
/* ipmd_fs_log of an unlink or a rename whose source, the inode r->dir and
 * r->name name, the caller looked up under this same hold of the lock:
 * src (not looked up again). */
int ipmd_fs_log_from(struct ipmd_fs *fs, struct record *r,
		     const struct inode *src);
/* Under lock: seal an inode's unsealed writes and journal the content
 * (before rename/link out of tmp/, truncate of a closed file, unmount);
 * an unmodified state's last seal is journaled if another call sealed
 * it outside the lock and has not journaled it yet (fs/mount/file.h,
 * "Seal order"). */
int ipmd_fs_seal_locked(struct ipmd_fs *fs, struct inode *inode);
/* Under lock: journal and apply r, the content record of seal of file
 * state f (file_seal), unless a record of that seal or a later one is
 * in the journal already: then nothing (0).  f is told the outcome
 * (file_seal_done).  0 or ipmd_fs_log's error. */
int ipmd_fs_log_seal(struct ipmd_fs *fs, struct file_state *f,
		     struct record *r, uint64_t seal);
/* Under lock: inode ino's file state holds writes no handle the daemon
 * knows of will seal (see "File states"): the next commit seals them. */
void ipmd_fs_unclaimed(struct ipmd_fs *fs, uint64_t ino);
/* Under lock: settle inode i's file state once nothing the caller does
 * holds it (see "File states"): a known handle open keeps it as it is;
 * else a state holding nothing (file_state_idle) is freed.  s: its status
 * when the caller has it (file_state_unhold's), NULL: looked at here.
 * True when it holds writes no known handle will seal: the caller lists
 * it (ipmd_fs_unclaimed) unless it is sealing it itself.  False for an
 * inode without a state. */
bool ipmd_fs_settle_locked(struct inode *i, const struct file_status *s);
/* Every inode of t without its file state and cache file (freed, the
 * reference dropped): t is about to be freed (tree_free frees neither). */
void ipmd_fs_drop_states(struct fs_tree *t);
/* Journal replay of one record payload (fs/store/journal_payload.h,
 * JOURNAL_PAYLOAD_RECORD) into fs->tree, its mail counts added to *mc as
 * mail_changes_replay does; an append record's bytes go into the inode's
 * file state, for the first commit to seal (fs/mount/tail.h; in tail.c).
 * record_replay's result (-EBADMSG: malformed), or a file state's error.
 * Only from ipmd_fs_open_journal: before ipmd_fs_start_workers and before
 * FUSE serves a request, so nothing holds a file state (file_state_hold)
 * and fs->lock is not needed; a content record frees the inode's state
 * outright on that ground (its appends are superseded, the inode stays). */
struct mail_changes;
int ipmd_fs_replay_record(struct ipmd_fs *fs, const uint8_t *payload,
			  size_t len, struct mail_changes *mc);
/* Under lock: free an inode nothing refers to (record_release_fn); one
 * whose state a call holds is kept (see "Held states and freed inodes"). */
void ipmd_fs_release_inode(struct inode *inode, void *arg);
/* Under lock: seal every file state's unsealed writes, and free each
 * state left idle that no known handle holds (a merge's first step).  0,
 * or the first failure (the rest are still tried). */
int ipmd_fs_seal_all_locked(struct ipmd_fs *fs);
/* Under lock: head cid (commit c) was merged into the tree, with the
 * merge's counts: the next commit names it in "merged", above its seq,
 * with its ranges (journal replay and fs/mount/follow.c). */
struct merge_stats;
void ipmd_fs_merged(struct ipmd_fs *fs, const struct cid *cid,
		    const struct commit *c, const struct merge_stats *ms);
/* Tries of what a mount does at once against a store that may fail for a
 * moment: the first commit, reading the head, putting a block record back
 * (backing off 0.2 … 1.6 s). */
#define MOUNT_COMMIT_TRIES 5
/* step(arg) until it returns 0, at most MOUNT_COMMIT_TRIES times, backing
 * off between tries; transient_only: an error bs_transient
 * (ipfs/blockstore.h) does not name ends it at once (damage or absence
 * never passes).  what (NULL: say
 * nothing): each failure that is tried again is logged as "what: error;
 * trying again".  step's last result. */
int ipmd_fs_tries(int (*step)(void *), void *arg, bool transient_only,
		  const char *what);
/* A mount's journal, once its head's tree is loaded (ipmd_fs_open; in
 * mount_replay.c): replay it over fs->tree; then, for a writer, open the
 * generation to append to, restore the kept cache files and commit the
 * replayed state.  across_gaps: mount_options.journal_across_gaps.  0, or
 * -1 with why in msg.  Before ipmd_fs_start_workers and before FUSE
 * serves a request (ipmd_fs_replay_record relies on it). */
int ipmd_fs_open_journal(struct ipmd_fs *fs, bool across_gaps, char *msg,
			 size_t msgsize);
/* Under lock: a tree just loaded allocates in this device's range from
 * fs->ranges (tree_set_range).  0 or -EINVAL. */
int ipmd_fs_set_range(struct ipmd_fs *fs, struct fs_tree *t);

/* What a running mount tells its service manager (fs/cli: systemd's
 * STATUS=): the head commit's seq (0: none yet), blocks waiting for the
 * node (node: there is an outbox), the last commit's failure (0: none).
 * Waits for a commit under way. */
struct ipmd_fs_status {
	uint64_t head_seq;
	uint64_t pending;
	bool node;
	int commit_error;
};
void ipmd_fs_status(struct ipmd_fs *fs, struct ipmd_fs_status *st);
/* fn(arg) is called whenever that may have changed: after each commit
 * (written or failed) and each upload batch, from the mount's threads,
 * under status_lock and maybe the outbox's lock, so it only wakes
 * someone.  fn NULL: nobody; once this returns, no call of the old fn
 * is under way. */
void ipmd_fs_on_status(struct ipmd_fs *fs, void (*fn)(void *arg), void *arg);

#endif
