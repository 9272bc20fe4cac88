/* tests/dagstore.c — see dagstore.h. */
#include "tests/dagstore.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs/model/maildir.h"
#include "fs/model/manifest.h"
#include "fs/model/merge.h"
#include "fs/model/merge_base.h"
#include "fs/model/record.h"
#include "fs/model/tree.h"
#include "fs/store/head.h"
#include "ipfs/bs_local.h"

#define NS_PER_SEC 1000000000LL

int dagstore_open(struct dagstore *d, const char *store)
{
	int sys = 0;
	memset(d, 0, sizeof(*d));
	int e = store_paths_init(&d->paths, store);
	if (!e && keyfile_load(d->paths.key, NULL, 0, &d->keys, &sys) != 0)
		e = -EACCES;
	if (!e)
		e = bs_local_open(d->paths.root, &d->bs);
	d->st = (struct obj_store){.bs = d->bs,
				   .convergence = d->keys.convergence,
				   .chunk_size = OBJ_CHUNK_DEFAULT,
				   .fanout = OBJ_FANOUT_DEFAULT};
	return e;
}

void dagstore_close(struct dagstore *d)
{
	bs_close(d->bs);
	keys_free(&d->keys);
	memset(d, 0, sizeof(*d));
}

int dagstore_head(struct dagstore *d, struct cid *cid)
{
	struct head h;
	int e = head_read(d->paths.head, d->keys.journal, BLOCK_STATE_HEAD, &h,
			  NULL);
	if (!e && h.commit.len == 0)
		e = -ENOENT;
	if (!e)
		*cid = h.commit;
	return e;
}

int dagstore_set_head(struct dagstore *d, const struct cid *cid)
{
	struct head h;
	struct commit c;
	int e = commit_read(d->bs, &d->keys, cid, &c);
	if (!e)
		e = head_read(d->paths.head, d->keys.journal, BLOCK_STATE_HEAD,
			      &h, NULL);
	if (e)
		return e;
	h.commit = *cid;
	h.seq = c.seq;
	if (h.max_seq < c.seq)
		h.max_seq = c.seq;
	e = head_write(d->paths.head, d->keys.journal, BLOCK_STATE_HEAD, &h);
	return e ? e
		 : head_write(d->paths.seen, d->keys.journal,
			      BLOCK_STATE_SEEN, &h);
}

/* ---- inode ranges: each range's next number, ascending by range ---- */

struct ranges {
	unsigned n;
	uint64_t next[COMMIT_RANGES_MAX];
};

/* Raise the entry of next's range to next (a new one, in its place). */
static int ranges_put(struct ranges *r, uint64_t next)
{
	unsigned i = 0;
	while (i < r->n && tree_ino_range(r->next[i]) < tree_ino_range(next))
		i++;
	if (i < r->n && tree_ino_range(r->next[i]) == tree_ino_range(next)) {
		if (r->next[i] < next)
			r->next[i] = next;
		return 0;
	}
	if (r->n == COMMIT_RANGES_MAX)
		return -ENOSPC;
	memmove(&r->next[i + 1], &r->next[i], (r->n - i) * sizeof(r->next[0]));
	r->next[i] = next;
	r->n++;
	return 0;
}

/* c's ranges: its "inos", or (version 1) device 0's next_ino. */
static int ranges_add(struct ranges *r, const struct commit *c)
{
	int e = c->ninos ? 0 : ranges_put(r, c->next_ino);
	for (unsigned i = 0; !e && i < c->ninos; i++)
		e = ranges_put(r, c->inos[i]);
	return e;
}

/* Set t to allocate in device's range, from where r says it got to. */
static int ranges_use(const struct ranges *r, struct fs_tree *t,
		      uint64_t device)
{
	uint64_t next = device ? (device << TREE_INO_RANGE_BITS) | 1
			       : TREE_ROOT_INO + 1;
	for (unsigned i = 0; i < r->n; i++)
		if (tree_ino_range(r->next[i]) == device)
			next = r->next[i];
	return tree_set_range(t, device, next);
}

/* The commit's next_ino and "inos": version 1 while only device 0's
 * range is in use. */
static void ranges_to(const struct ranges *r, struct commit *c)
{
	c->next_ino = 0;
	for (unsigned i = 0; i < r->n; i++)
		if (r->next[i] > c->next_ino)
			c->next_ino = r->next[i];
	bool v1 = r->n == 1 && tree_ino_range(r->next[0]) == 0;
	c->ninos = v1 ? 0 : r->n;
	memcpy(c->inos, r->next, sizeof(r->next[0]) * c->ninos);
}

/* ---- commits ---- */

static struct timespec next_time(struct dagstore *d)
{
	struct timespec now;
	if (!d->time_ns) {
		clock_gettime(CLOCK_REALTIME, &now);
		return now;
	}
	now.tv_sec = (time_t)(d->time_ns / NS_PER_SEC);
	now.tv_nsec = (long)(d->time_ns % NS_PER_SEC);
	d->time_ns += NS_PER_SEC;
	return now;
}

static int load(struct dagstore *d, const struct cid *cid, struct commit *c,
		struct fs_tree **t)
{
	int e = commit_read(d->bs, &d->keys, cid, c);
	return e ? e : manifest_load(&d->st, &c->tree, c->next_ino, t);
}

/* Seal t and write c over it (seq, parents, counts set by the caller). */
static int finish(struct dagstore *d, struct fs_tree *t, struct commit *c,
		  struct ranges *r, const struct timespec *now,
		  struct cid *out)
{
	int e = ranges_put(r, t->next_ino);
	if (!e)
		e = manifest_seal(t, &d->st, &c->tree);
	if (e)
		return e;
	c->tree.size = 0;
	c->time_ns = (int64_t)now->tv_sec * NS_PER_SEC + now->tv_nsec;
	maildir_count(t, &c->messages, &c->folders);
	ranges_to(r, c);
	return commit_write(d->bs, &d->keys, c, out);
}

/* cur/NAME in t, holding a short message. */
static int add_message(struct dagstore *d, struct fs_tree *t,
		       const char *name, const struct timespec *now)
{
	struct dirent *cur = tree_lookup(t->root, "cur");
	if (!cur)
		return -ENOENT;
	struct tree_new_inode spec = {.mode = S_IFREG | 0600,
				      .uid = getuid(),
				      .gid = getgid()};
	struct inode *in;
	int e = tree_create(t, cur->inode, name, &spec, now, &in);
	char text[1024];
	int len = snprintf(text, sizeof(text),
			   "Subject: %s\n\nThe message %s, written on a line "
			   "of a DAG-shaped history by tests/dagstore.c.\n",
			   name, name);
	struct obj_writer *w = NULL;
	struct record rec = {.op = REC_CONTENT, .time = *now, .mtime = *now};
	if (!e)
		e = obj_writer_new(&d->st, &w);
	if (!e)
		e = obj_writer_write(w, (const uint8_t *)text, (size_t)len);
	if (!e) {
		e = obj_writer_finish(w, &rec.content);
		w = NULL;
	}
	obj_writer_abort(w);
	if (e)
		return e;
	rec.ino = in->ino;
	return record_apply(t, &rec, NULL, NULL);
}

int dagstore_add(struct dagstore *d, const struct cid *from, uint64_t device,
		 const char *name, struct cid *out)
{
	struct commit c;
	struct fs_tree *t = NULL;
	struct ranges r = {0};
	struct timespec now = next_time(d);
	int e = load(d, from, &c, &t);
	if (!e)
		e = ranges_add(&r, &c);
	if (!e)
		e = ranges_use(&r, t, device);
	if (!e)
		e = add_message(d, t, name, &now);
	if (!e) {
		c.parent = *from;
		c.seq++;
		c.nmerged = 0;
		c.added = 1;
		c.removed = c.renamed = 0;
		e = finish(d, t, &c, &r, &now, out);
	}
	tree_free(t);
	return e;
}

/* The tree to merge against: the bases' (none: NULL, the empty tree). */
static int base_tree(struct dagstore *d, const struct cid *a,
		     const struct cid *b, const struct timespec *now,
		     struct fs_tree **out)
{
	struct merge_bases bases;
	int e = merge_find_bases(d->bs, &d->keys, a, b, &bases);
	return e ? e : merge_base_tree(&d->st, &d->keys, &bases, now, out);
}

int dagstore_merge(struct dagstore *d, const struct cid *local,
		   const struct cid *remote, uint64_t device, uint64_t seq,
		   struct cid *out)
{
	struct commit lc, rc;
	struct fs_tree *lt = NULL, *rt = NULL, *base = NULL;
	struct merge_plan plan;
	struct ranges r = {0};
	struct timespec now = next_time(d);
	memset(&plan, 0, sizeof(plan));
	int e = load(d, local, &lc, &lt);
	if (!e)
		e = load(d, remote, &rc, &rt);
	if (!e)
		e = ranges_add(&r, &lc);
	if (!e)
		e = ranges_add(&r, &rc);
	if (!e)
		e = ranges_use(&r, lt, device);
	if (!e)
		e = base_tree(d, local, remote, &now, &base);
	if (!e)
		e = merge_plan(base, lt, rt, &now, &plan);
	if (!e) {
		size_t failed = 0;
		merge_apply(lt, &plan, NULL, NULL, &failed);
		e = failed ? -EIO : 0;
	}
	if (!e) {
		lc.seq = seq ? seq : 1 + (lc.seq > rc.seq ? lc.seq : rc.seq);
		lc.parent = *local;
		lc.nmerged = 1;
		lc.merged[0] = *remote;
		lc.added = plan.stats.added;
		lc.removed = plan.stats.removed;
		lc.renamed = plan.stats.renamed;
		e = finish(d, lt, &lc, &r, &now, out);
	}
	merge_plan_free(&plan);
	tree_free(base);
	tree_free(lt);
	tree_free(rt);
	return e;
}
