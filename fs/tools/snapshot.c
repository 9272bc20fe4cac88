/* fs/tools/snapshot.c — open a mailbox for reading without mounting it. */
#include "fs/tools/snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/chunk_cache.h"
#include "fs/model/manifest.h"
#include "fs/mount/mount.h"
#include "fs/store/history.h"
#include "util/msgbuf.h"

#define SNAP_CACHE_BYTES (16u << 20)

/* The last commit alone, no journal, no lock: what SNAP_COMMITTED and a
 * mounted store get.  (pass, here and below, is never NULL: snapshot_open
 * stands an empty source in for none.) */
static int open_committed(struct snapshot *s, const char *store,
			  const struct passphrase_source *pass, char *msg,
			  size_t msgsize)
{
	struct history_options ho = {
		.store = store, .pass = *pass, .lock = HISTORY_LOCK_NONE};
	s->h = calloc(1, sizeof(*s->h));
	if (!s->h)
		return msgbuf_say(msg, msgsize, "out of memory");
	if (history_open(s->h, &ho, msg, msgsize))
		return -1;
	struct history *h = s->h;
	s->cache = chunk_cache_new(SNAP_CACHE_BYTES);
	if (!s->cache)
		return msgbuf_say(msg, msgsize, "out of memory");
	s->st_cached = h->st;
	s->st_cached.cache = s->cache;
	s->st = &s->st_cached;
	s->bs = h->bs;
	s->keys = &h->store.keys;
	/* As a mount would: a lost head is not an empty mailbox to export,
	 * and a lost seen can't vouch for the head. */
	enum state_problem sp = history_state_problem(h);
	if (sp != STATE_OK)
		return msgbuf_say(msg, msgsize, "%s", state_problem_text(sp));
	const struct state_set *st = &h->store.state;
	if (st->pruned_err == 0)
		s->pruned = st->pruned.commit;
	int e = st->head_err;
	if (e == -ENOENT || (!e && st->head.commit.len == 0)) {
		struct timespec t = {0};
		if (tree_new(&s->committed_tree, getuid(), getgid(), &t))
			return msgbuf_say(msg, msgsize, "out of memory");
		s->tree = s->committed_tree;
		return 0;
	}
	if (e)
		return msgbuf_say(msg, msgsize,
				  "%s: damaged or not written with this key "
				  "(%s)",
				  h->store.paths.head, strerror(-e));
	s->head = st->head;
	e = history_commit(h, &st->head.commit, &s->last);
	if (e)
		return msgbuf_say(
			msg, msgsize, "the head commit %s",
			e == -EKEYREJECTED ? "is not signed by this key"
			: e == -ENOENT	   ? "is missing from the store"
					   : "does not open (damaged)");
	/* The same rollback check as a mount: an export or a share of a
	 * head swapped for an older copy would hand out a stale mailbox
	 * as the current one. */
	uint64_t accepted;
	if (!head_accepts(&st->head, st->seen_err ? NULL : &st->seen,
			  s->last.seq, &accepted))
		return msgbuf_say(msg, msgsize,
				  "the head commit has seq %llu but seq %llu "
				  "was already accepted here: refusing a "
				  "rollback (run ipmaildir fsck)",
				  (unsigned long long)s->last.seq,
				  (unsigned long long)accepted);
	e = manifest_load(s->st, &s->last.tree, s->last.next_ino,
			  &s->committed_tree);
	if (e)
		return msgbuf_say(msg, msgsize,
				  "the manifest of commit %llu: %s",
				  (unsigned long long)s->last.seq,
				  e == -EBADMSG ? "damaged or malformed"
						: strerror(-e));
	s->tree = s->committed_tree;
	return 0;
}

/* The last commit with the journal replayed, as a read-only mount: 0,
 * -1 with msg, or 1 when a writer took the store in between (then read
 * the commit instead). */
static int open_replayed(struct snapshot *s, const struct store_paths *paths,
			 const char *store,
			 const struct passphrase_source *pass, char *msg,
			 size_t msgsize)
{
	struct mount_options mo = {.store = store,
				   .pass = *pass,
				   .read_only = true,
				   .cache_bytes = SNAP_CACHE_BYTES};
	s->fs = calloc(1, sizeof(*s->fs));
	if (!s->fs)
		return msgbuf_say(msg, msgsize, "out of memory");
	if (ipmd_fs_open(s->fs, &mo, msg, msgsize) == 0) {
		s->replayed = true;
		s->tree = s->fs->tree;
		s->st = &s->fs->st;
		s->bs = s->fs->stack.top;
		s->keys = &s->fs->store.keys;
		s->head = s->fs->head;
		s->last = s->fs->last;
		if (s->fs->store.state.pruned_err == 0)
			s->pruned = s->fs->store.state.pruned.commit;
		return 0;
	}
	ipmd_fs_close(s->fs);
	free(s->fs);
	s->fs = NULL;
	return store_writer_active(paths) == 1 ? 1 : -1;
}

int snapshot_open(struct snapshot *s, const char *store,
		  const struct passphrase_source *pass, enum snapshot_mode mode,
		  char *msg, size_t msgsize)
{
	memset(s, 0, sizeof(*s));
	const struct passphrase_source none = {0};
	if (!pass)
		pass = &none;
	struct store_paths paths;
	int e = store_paths_init(&paths, store);
	if (e)
		return msgbuf_say(msg, msgsize, "cannot name the store: %s",
				  strerror(-e));
	int busy = store_writer_active(&paths);
	if (mode == SNAP_CURRENT && busy == 0) {
		int r = open_replayed(s, &paths, store, pass, msg, msgsize);
		if (r <= 0)
			return r;
		busy = 1; /* mounted in between */
	}
	/* For SNAP_CURRENT a store whose lock can't be probed is treated as
	 * mounted: its journal is left alone. */
	s->mounted = mode == SNAP_CURRENT ? busy != 0 : busy == 1;
	return open_committed(s, store, pass, msg, msgsize);
}

void snapshot_close(struct snapshot *s)
{
	if (s->replayed) {
		ipmd_fs_close(s->fs);
		free(s->fs);
		s->fs = NULL;
	} else {
		if (s->committed_tree)
			tree_free(s->committed_tree);
		if (s->h)
			history_close(s->h);
		free(s->h);
		s->h = NULL;
		chunk_cache_free(s->cache);
	}
	s->committed_tree = NULL;
	s->cache = NULL;
	s->replayed = false;
	s->tree = NULL;
}

int snapshot_lookup(struct snapshot *s, const char *path, struct inode **out)
{
	struct inode *cur = s->tree->root;
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	int e = 0;
	char *save = NULL;
	for (char *name = strtok_r(copy, "/", &save); name && !e;
	     name = strtok_r(NULL, "/", &save)) {
		if (!S_ISDIR(cur->mode)) {
			e = -ENOTDIR;
			break;
		}
		if (!strcmp(name, ".") || !strcmp(name, "..")) {
			e = -EINVAL;
			break;
		}
		struct dirent *d = tree_lookup(cur, name);
		if (!d)
			e = -ENOENT;
		else
			cur = d->inode;
	}
	free(copy);
	if (!e)
		*out = cur;
	return e;
}
