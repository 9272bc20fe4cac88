/* fs/tools/import.c — a plain Maildir into a mailbox, offline (import.h). */
#include "fs/tools/import.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "fs/model/maildir.h"
#include "fs/model/manifest.h"
#include "fs/tools/import_walk.h"
#include "fs/model/record.h"
#include "util/clock.h"
#include "util/wipe.h"

#define READ_BYTES (1024 * 1024)
#define MAX_THREADS 64

/* ---- the mailbox side (under fs->lock) ---- */

/* The directory inode for the parent of rel. */
static int parent_of(struct ipmd_fs *fs, const char *rel, uint64_t *ino,
		     const char **base)
{
	struct inode *cur = fs->tree->root;
	const char *p = rel;
	for (;;) {
		const char *slash = strchr(p, '/');
		if (!slash)
			break;
		char name[TREE_NAME_MAX + 1];
		size_t len = (size_t)(slash - p);
		if (len == 0 || len > TREE_NAME_MAX)
			return -EINVAL;
		memcpy(name, p, len);
		name[len] = '\0';
		struct dirent *d = tree_lookup(cur, name);
		if (!d)
			return -ENOENT;
		if (!S_ISDIR(d->inode->mode))
			return -ENOTDIR;
		cur = d->inode;
		p = slash + 1;
	}
	*ino = cur->ino;
	*base = p;
	return 0;
}

static int make_dirs(struct ipmd_fs *fs, struct import_list *dirs, bool empty_box,
		     char *errpath, const char *src)
{
	int e = 0;
	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < dirs->n && !e; i++) {
		struct import_item *it = &dirs->v[i];
		const char *base;
		e = parent_of(fs, it->rel, &it->dir_ino, &base);
		if (e)
			break;
		struct inode *dir = tree_get(fs->tree, it->dir_ino);
		struct dirent *d = tree_lookup(dir, base);
		if (d) {
			if (!S_ISDIR(d->inode->mode)) {
				e = -ENOTDIR;
				break;
			}
			it->ino = d->inode->ino;
			it->set_time = empty_box;
			continue;
		}
		struct record r = {.op = REC_CREATE, .dir = it->dir_ino,
				   .name = base, .ino = fs->tree->next_ino,
				   .mode = S_IFDIR | (it->mode & 07777),
				   .uid = getuid(), .gid = getgid(),
				   .time = wall_now()};
		e = ipmd_fs_log(fs, &r);
		it->ino = r.ino;
		it->set_time = true;
	}
	pthread_mutex_unlock(&fs->lock);
	if (e) {
		for (size_t i = 0; i < dirs->n; i++)
			if (!dirs->v[i].ino) {
				snprintf(errpath, PATH_MAX, "%s/%s", src,
					 dirs->v[i].rel);
				break;
			}
	}
	return e;
}

static int set_dir_times(struct ipmd_fs *fs, struct import_list *dirs,
			 const struct stat *root, bool root_too)
{
	int e = 0;
	pthread_mutex_lock(&fs->lock);
	for (size_t i = dirs->n; i-- > 0 && !e;) {
		struct import_item *it = &dirs->v[i];
		if (!it->set_time)
			continue;
		struct record r = {.op = REC_SETATTR, .ino = it->ino,
				   .set = REC_SET_MODE | REC_SET_ATIME |
					  REC_SET_MTIME,
				   .mode = it->mode & 07777,
				   .atime = it->atime, .mtime = it->mtime,
				   .time = wall_now()};
		e = ipmd_fs_log(fs, &r);
	}
	if (!e && root_too) {
		struct record r = {.op = REC_SETATTR, .ino = TREE_ROOT_INO,
				   .set = REC_SET_MODE | REC_SET_ATIME |
					  REC_SET_MTIME,
				   .mode = root->st_mode & 07777,
				   .atime = root->st_atim,
				   .mtime = root->st_mtim, .time = wall_now()};
		e = ipmd_fs_log(fs, &r);
	}
	pthread_mutex_unlock(&fs->lock);
	return e;
}

/* ---- sealing pool ---- */

struct pool {
	struct import_item *items;
	size_t n;
	atomic_size_t next;
	struct obj_store *st;
	int rootfd; /* the source (import_walk.h) */
};

static int seal_file(struct pool *p, struct import_item *it, uint8_t *buf)
{
	int fd = import_open_file(p->rootfd, it->rel);
	if (fd < 0)
		return fd;
	int e = obj_write_fd(p->st, fd, buf, READ_BYTES, &it->ref);
	close(fd);
	return e;
}

static void *pool_main(void *arg)
{
	struct pool *p = arg;
	uint8_t *buf = malloc(READ_BYTES);
	for (;;) {
		size_t i = atomic_fetch_add(&p->next, 1);
		if (i >= p->n)
			break;
		struct import_item *it = &p->items[i];
		if (it->skip || !S_ISREG(it->mode))
			continue;
		it->err = buf ? seal_file(p, it, buf) : -ENOMEM;
	}
	wipe_free(buf, READ_BYTES);
	return NULL;
}

static void run_pool(struct pool *p, unsigned threads)
{
	pthread_t tid[MAX_THREADS];
	unsigned started = 0;
	for (; started < threads - 1; started++)
		if (pthread_create(&tid[started], NULL, pool_main, p) != 0)
			break;
	pool_main(p); /* the caller works too */
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
}

/* Under lock: find each file's parent and whether its name is taken. */
static int plan_batch(struct ipmd_fs *fs, struct import_item *v, size_t n,
		      size_t *bad)
{
	int e = 0;
	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < n && !e; i++) {
		const char *base;
		e = parent_of(fs, v[i].rel, &v[i].dir_ino, &base);
		if (e) {
			*bad = i;
			break;
		}
		v[i].skip = tree_lookup(tree_get(fs->tree, v[i].dir_ino),
					base) != NULL;
	}
	pthread_mutex_unlock(&fs->lock);
	return e;
}

/* Under lock: the records of a sealed batch, in source order. */
static int log_batch(struct ipmd_fs *fs, struct import_item *v, size_t n,
		     struct import_stats *stats, size_t *bad)
{
	int e = 0;
	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < n && !e; i++) {
		struct import_item *it = &v[i];
		if (it->skip) {
			stats->skipped++;
			continue;
		}
		if (it->err == -ESTALE) {
			stats->changed++; /* not what the walk found: left out */
			continue;
		}
		if (it->err) {
			e = it->err;
			*bad = i;
			break;
		}
		const char *base = strrchr(it->rel, '/');
		base = base ? base + 1 : it->rel;
		struct timespec t = wall_now();
		struct record c = {.op = REC_CREATE, .dir = it->dir_ino,
				   .name = base, .ino = fs->tree->next_ino,
				   .uid = getuid(), .gid = getgid(),
				   .time = t};
		if (S_ISLNK(it->mode)) {
			c.mode = S_IFLNK | 0777;
			c.target = it->target;
		} else {
			c.mode = S_IFREG | (it->mode & 07777);
		}
		e = ipmd_fs_log(fs, &c);
		struct record r = {.ino = c.ino, .time = t};
		if (!e && S_ISREG(it->mode)) {
			r.op = REC_CONTENT;
			r.content = it->ref;
			r.mtime = it->mtime;
			/* The create counted it, in cur/ or new/ only
			 * (ipmd_fs_log, fs/model/changes.h). */
			e = ipmd_fs_log(fs, &r);
			stats->imported++;
			stats->imported_bytes += it->ref.size;
		} else if (!e) {
			r.op = REC_SETATTR;
			r.set = REC_SET_ATIME | REC_SET_MTIME;
			r.atime = it->atime;
			r.mtime = it->mtime;
			e = ipmd_fs_log(fs, &r);
		}
		sodium_memzero(&r.content, sizeof(r.content));
		if (e)
			*bad = i;
	}
	pthread_mutex_unlock(&fs->lock);
	return e;
}

int import_source_is_maildir(const char *src)
{
	int fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = import_is_maildir(fd);
	close(fd);
	return r;
}

int import_maildir(struct ipmd_fs *fs, const char *src,
		   const struct import_options *o, struct import_stats *stats,
		   char errpath[PATH_MAX])
{
	memset(stats, 0, sizeof(*stats));
	errpath[0] = '\0';
	struct stat rootst;
	if (stat(src, &rootst) != 0) {
		snprintf(errpath, PATH_MAX, "%s", src);
		return -errno;
	}
	if (!S_ISDIR(rootst.st_mode)) {
		snprintf(errpath, PATH_MAX, "%s", src);
		return -ENOTDIR;
	}
	if (fs->read_only)
		return -EROFS;
	struct import_walk *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->src = src;
	w->max_depth = TREE_DEPTH_MAX;
	w->max_target = TREE_SYMLINK_MAX;
	int e = import_walk(w);
	if (e)
		snprintf(errpath, PATH_MAX, "%s", w->errpath);
	stats->files = w->files_n;
	stats->bytes = w->bytes;
	stats->dirs = w->dirs_n;
	stats->other = w->other;
	stats->symlinks = w->links;
	if (o->progress)
		o->progress(o->progress_arg, stats, 0, 0);

	uint64_t messages = 0, folders = 0;
	pthread_mutex_lock(&fs->lock);
	maildir_count(fs->tree, &messages, &folders);
	pthread_mutex_unlock(&fs->lock);
	bool empty_box = messages == 0;
	uint64_t seq0 = fs->head.seq;
	if (!e)
		e = make_dirs(fs, &w->dirs, empty_box, errpath, src);

	/* Blocks go straight to the store (synced per batch), not through
	 * the journal: a batch's records are logged only once its blocks are
	 * durable. */
	struct obj_store direct = fs->st;
	direct.bs = fs->stack.direct;
	direct.cache = NULL;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = o->threads ? o->threads : ncpu > 0 ? (unsigned)ncpu : 1;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	uint64_t commit_files = o->commit_files ? o->commit_files
						: IMPORT_COMMIT_FILES;
	uint64_t commit_bytes = o->commit_bytes ? o->commit_bytes
						: IMPORT_COMMIT_BYTES;
	uint64_t since_files = 0, since_bytes = 0, done_files = 0,
		 done_bytes = 0;
	for (size_t at = 0; !e && at < w->files.n;) {
		size_t n = 0;
		uint64_t bytes = 0;
		while (at + n < w->files.n && n < IMPORT_BATCH_FILES &&
		       (n == 0 || bytes < IMPORT_BATCH_BYTES))
			bytes += w->files.v[at + n++].size;
		struct import_item *batch = &w->files.v[at];
		size_t bad = 0;
		e = plan_batch(fs, batch, n, &bad);
		if (!e) {
			struct pool p = {.items = batch, .n = n,
					 .st = &direct, .rootfd = w->rootfd};
			atomic_init(&p.next, 0);
			run_pool(&p, threads);
			e = bs_sync(direct.bs);
			if (e)
				bad = SIZE_MAX;
		}
		if (!e)
			e = log_batch(fs, batch, n, stats, &bad);
		if (e && bad != SIZE_MAX)
			snprintf(errpath, PATH_MAX, "%s/%s", src,
				 batch[bad].rel);
		for (size_t i = 0; i < n; i++)
			if (S_ISREG(batch[i].mode)) {
				done_files++;
				since_files += !batch[i].skip;
				since_bytes += batch[i].skip ? 0 : batch[i].size;
				done_bytes += batch[i].size;
			}
		at += n;
		if (!e && (since_files >= commit_files ||
			   since_bytes >= commit_bytes)) {
			e = ipmd_fs_commit(fs);
			since_files = since_bytes = 0;
		}
		if (o->progress)
			o->progress(o->progress_arg, stats, done_files,
				    done_bytes);
	}
	if (!e)
		e = set_dir_times(fs, &w->dirs, &rootst, empty_box);
	if (!e)
		e = ipmd_fs_commit(fs);
	stats->commits = fs->head.seq - seq0;
	import_walk_free(w);
	free(w);
	return e;
}
