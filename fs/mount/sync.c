/* fs/mount/sync.c — follow the published head; see sync.h. */
#include "fs/mount/sync.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fs/model/merge_base.h"
#include "fs/mount/follow.h"
#include "fs/mount/publish.h"
#include "fs/store/device.h"
#include "fs/store/history.h"
#include "ipfs/bs_kubo.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/thread.h"

struct sync {
	struct ipmd_fs *fs;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	/* The sync thread's own: */
	struct cid noted;     /* the peer head last written to STORE/device */
	const char *noted_how;
	int failing;          /* the last round's error, 0 after a good one */
};

/* One line when a kind of failure starts, one when rounds work again.
 * A node that refuses the connection is said as what it means to the
 * user, with the address the mount uses (bs_kubo_refused, as the
 * outbox's uploads say it). */
static void say(struct sync *s, int e, const char *what)
{
	if (e && e != s->failing) {
		char why[512] = "";
		struct blockstore *node = s->fs->stack.remote;
		if (bs_kubo_refused(node, e, why, sizeof(why)))
			logmsg(LOG_WARNING, "sync: %s; trying again at the "
			       "next round, mail is not affected", why);
		else {
			if (e == -EIO || e == -ETIMEDOUT || e == -ECONNRESET)
				bs_kubo_last_error(node, why, sizeof(why));
			logmsg(LOG_WARNING, "sync: %s: %s; trying again at "
			       "the next round, mail is not affected",
			       what, why[0] ? why : strerror(-e));
		}
	} else if (!e && s->failing) {
		logmsg(LOG_NOTICE, "sync: works again");
	}
	s->failing = e;
}

static void head_now(struct ipmd_fs *fs, struct cid *h, uint64_t *seq)
{
	pthread_mutex_lock(&fs->commit_lock);
	*h = fs->head.commit;
	*seq = fs->head.seq;
	pthread_mutex_unlock(&fs->commit_lock);
}

/* The head contains the published one (cleared) or may not: only a
 * cleared head, and the commits after it, go to the publisher. */
static void set_cleared(struct ipmd_fs *fs, bool cleared)
{
	pthread_mutex_lock(&fs->commit_lock);
	fs->sync_cleared = cleared;
	pthread_mutex_unlock(&fs->commit_lock);
}

/* The head, as the one to publish: it contains the published one. */
static void clear_head(struct ipmd_fs *fs)
{
	struct cid h;
	uint64_t seq;
	pthread_mutex_lock(&fs->commit_lock);
	h = fs->head.commit;
	seq = fs->head.seq;
	fs->sync_cleared = true;
	pthread_mutex_unlock(&fs->commit_lock);
	if (h.len)
		publisher_commit(fs->publisher, &h, seq);
}

/* The peer head in STORE/device, when it or what was done changed. */
static void note_peer(struct sync *s, const struct cid *p, uint64_t seq,
		      const char *how)
{
	struct ipmd_fs *fs = s->fs;
	struct device_state d;
	if (s->noted_how == how && cid_equal(&s->noted, p))
		return;
	int e = device_read(fs->store.paths.device, fs->store.keys.journal,
			    &d);
	if (!e) {
		d.has_peer = true;
		d.peer = *p;
		d.peer_seq = seq;
		d.peer_seen_ns = (int64_t)wall_ms() * 1000000;
		snprintf(d.peer_how, sizeof(d.peer_how), "%s", how);
		e = device_write(fs->store.paths.device,
				 fs->store.keys.journal, &d);
	}
	if (e)
		logmsg(LOG_WARNING, "sync: %s: %s", fs->store.paths.device,
		       strerror(-e));
	s->noted = *p;
	s->noted_how = how;
}

/* Where the line of p this round takes in ends (its device's gc freed
 * the rest: merge_bases' ends) into STORE/device, before it becomes part
 * of this store's history: the walkers (log, fsck, gc, --at) end the line
 * there instead of calling it damage (fs/store/history.h walk_ends). */
static int note_ends(struct ipmd_fs *fs, const struct merge_bases *b)
{
	struct device_state d;
	if (!b->nends)
		return 0;
	if (b->ends_truncated)
		logmsg(LOG_WARNING, "sync: the fetched history ends in %zu "
		       "more places than recorded", b->ends_truncated);
	int e = device_read(fs->store.paths.device, fs->store.keys.journal,
			    &d);
	if (!e && device_add_ends(&d, b->ends, b->nends))
		e = device_write(fs->store.paths.device,
				 fs->store.keys.journal, &d);
	return e;
}

/* Merge p into the live tree and commit the merge. */
static int merge_in(struct ipmd_fs *fs, const struct cid *p, uint64_t pseq,
		    const struct merge_bases *b)
{
	struct merge_stats ms;
	int e = follow_merge(fs, p, b, &ms);
	if (e)
		return e;
	logmsg(LOG_NOTICE,
	       "merged commit %llu of another device (%zu merge bases): "
	       "%llu messages added, %llu removed, %llu renamed, %llu other "
	       "files both changed (ours kept)",
	       (unsigned long long)pseq, b->n, (unsigned long long)ms.added,
	       (unsigned long long)ms.removed,
	       (unsigned long long)ms.renamed,
	       (unsigned long long)ms.conflicts);
	e = ipmd_fs_commit(fs);
	if (!e)
		clear_head(fs);
	return e;
}

/* Step 3 of a round (sync.h) for the published head p; *how for
 * STORE/device. */
static int take_in(struct ipmd_fs *fs, const struct cid *p, uint64_t pseq,
		   const char **how)
{
	struct merge_bases b;
	struct cid h;
	uint64_t hseq;
	bool done = false;
	int e = 0;

	memset(&b, 0, sizeof(b));
	head_now(fs, &h, &hseq);
	*how = DEVICE_HOW_CONTAINED;
	if (h.len && cid_equal(p, &h)) {
		set_cleared(fs, true); /* out already */
		return 0;
	}
	/* No head yet: p's whole history is walked, for its ends.  Lines
	 * end at gc's boundary, as every walker's do: below it only commit
	 * blocks are left, and a live gc may be freeing them. */
	e = merge_find_bases_within(fs->st.bs, &fs->store.keys, &h, p,
				    atomic_load(&fs->gc_bound), &b);
	if (!e)
		e = note_ends(fs, &b);
	if (e)
		return e;
	if (h.len && b.n == 1 && cid_equal(&b.cid[0], p)) {
		clear_head(fs);
		return 0;
	}
	if (!h.len || (b.n == 1 && cid_equal(&b.cid[0], &h))) {
		*how = DEVICE_HOW_FORWARD;
		e = follow_forward(fs, p, &h, &done);
		if (e || done) {
			if (done) {
				logmsg(LOG_INFO, "fast-forwarded to commit "
				       "%llu of another device",
				       (unsigned long long)pseq);
				/* P is out already; a commit of ours over it
				 * (a first head without P's index files,
				 * follow.h) goes out now. */
				head_now(fs, &h, &hseq);
				if (cid_equal(&h, p))
					set_cleared(fs, true);
				else
					clear_head(fs);
			}
			return e;
		}
	}
	if (!h.len) {
		/* Written here before the first sync: a history of its own,
		 * merged next round. */
		*how = DEVICE_HOW_FAILED;
		set_cleared(fs, false);
		return ipmd_fs_commit(fs);
	}
	*how = DEVICE_HOW_MERGED;
	return merge_in(fs, p, pseq, &b);
}

static void round_once(struct sync *s)
{
	struct ipmd_fs *fs = s->fs;
	struct cid p;
	uint64_t pseq = 0;
	unsigned refused = 0;
	const char *how = DEVICE_HOW_FAILED;

	/* 1: the head is what the tree holds (a failure is the commit's to
	 * log; the round waits for commits to work). */
	if (ipmd_fs_commit(fs))
		return;
	int e = bs_kubo_ipns_get(fs->stack.remote, fs->store.keys.public_key,
				 SYNC_RESOLVE_TIMEOUT_MS, &p, &pseq, &refused);
	if (refused)
		logmsg(LOG_WARNING, "sync: %u IPNS records of this mailbox "
		       "were refused (bad signature, malformed or expired)",
		       refused);
	if (e == -ENOENT) {
		/* Nothing published yet: ours is the first. */
		clear_head(fs);
		say(s, 0, NULL);
		return;
	}
	if (!e && !cid_is_raw_sha256(&p))
		e = -EBADMSG;
	if (e) {
		say(s, e, "the mailbox's IPNS name does not resolve");
		return;
	}
	pthread_mutex_lock(&fs->housekeeping);
	e = take_in(fs, &p, pseq, &how);
	pthread_mutex_unlock(&fs->housekeeping);
	if (e) {
		/* The head may not contain P: nothing goes out until it does. */
		set_cleared(fs, false);
		how = DEVICE_HOW_FAILED;
	}
	say(s, e, "following the published head");
	note_peer(s, &p, pseq, how);
}

static void *sync_main(void *arg)
{
	struct sync *s = arg;
	uint64_t base_ms = (uint64_t)s->fs->sync_interval_s * 1000;
	uint64_t delay = 0; /* the first round at once */
	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		struct timespec until = deadline_ms(delay);
		if (delay)
			pthread_cond_timedwait(&s->wake, &s->lock, &until);
		if (s->stopping)
			break;
		pthread_mutex_unlock(&s->lock);
		round_once(s);
		pthread_mutex_lock(&s->lock);
		/* ± 25 %: two devices do not keep publishing in step. */
		delay = base_ms * 3 / 4 +
			randombytes_uniform((uint32_t)(base_ms / 2 + 1));
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int sync_start(struct ipmd_fs *fs, struct sync **out)
{
	*out = NULL;
	if (!fs->sync_interval_s || !fs->stack.remote || fs->read_only)
		return 0;
	struct sync *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fs = fs;
	int e = thread_start(&s->lock, &s->wake, &s->thread, 1, sync_main, s);
	if (e < 0) {
		free(s);
		return e;
	}
	logmsg(LOG_INFO, "following the mailbox's published head every %u s",
	       fs->sync_interval_s);
	*out = s;
	return 0;
}

void sync_stop(struct sync *s)
{
	if (!s)
		return;
	thread_stop(&s->lock, &s->wake, &s->stopping, s->thread);
	/* Unmount: the last state out, if that does not publish over
	 * another device's head (no merge now: the next mount does it). */
	struct ipmd_fs *fs = s->fs;
	struct cid p, h;
	uint64_t pseq, hseq;
	if (ipmd_fs_commit(fs) == 0) {
		head_now(fs, &h, &hseq);
		int e = bs_kubo_ipns_get(fs->stack.remote,
					 fs->store.keys.public_key,
					 SYNC_RESOLVE_TIMEOUT_MS, &p, &pseq,
					 NULL);
		if (h.len && (e == -ENOENT ||
			      (!e && merge_contains_within(
					     fs->st.bs, &fs->store.keys, &h,
					     &p,
					     atomic_load(&fs->gc_bound)) ==
					     1)))
			publisher_commit(fs->publisher, &h, hseq);
	}
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
