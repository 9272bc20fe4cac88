/* fs/store/journal.c — see journal.h. */
#include "fs/store/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/seal.h"
#include "util/endian.h"
#include "util/io.h"
#include "util/wipe.h"

_Static_assert(sizeof(JOURNAL_MAGIC) - 1 + sizeof(uint64_t) ==
		       JOURNAL_HEADER_BYTES,
	       "the header is magic then gen");
_Static_assert(JOURNAL_PREFIX_BYTES == 2 * sizeof(uint64_t),
	       "the sealed prefix is gen then seq");
_Static_assert(JOURNAL_SEALED_MAX <= UINT32_MAX,
	       "a record's length fits its u32 field");

/* "<16 hex digits>.jnl" and its NUL. */
#define NAME_BYTES (JOURNAL_GEN_DIGITS + sizeof(JOURNAL_SUFFIX))
/* More journal files than this in one directory is not a journal we wrote
 * (a generation per commit, older ones dropped): refuse, don't allocate. */
#define REPLAY_FILES_MAX (1u << 20)
/* Window for checking that a tail is all zeros. */
#define ZERO_SCAN_BYTES 65536

struct journal {
	pthread_mutex_t lock;
	pthread_cond_t sync_done;    /* broadcast whenever a sync ends */
	pthread_mutex_t rotate_lock; /* one rotation at a time */
	int dirfd, fd;
	uint64_t gen, seq;  /* seq: the next record's */
	off_t end;          /* end of the last whole record in fd */
	/*
	 * Positions count bytes over all generations, so a waiter's target
	 * stays meaningful across a rotation (which syncs the old file fully
	 * before switching, so synced_pos never refers to an unsynced file).
	 */
	uint64_t pos, synced_pos;
	bool syncing;       /* a thread is in fdatasync without the lock */
	int failed;         /* sticky -EIO: a sync or a cut-back failed */
	struct journal_stats st;
	/* IPMD_KEY_BYTES in sodium_malloc'ed pages (guarded, mlocked where
	 * allowed), read-only once set: it lives as long as the mount. */
	uint8_t *key;
};

static void gen_name(char name[NAME_BYTES], uint64_t gen)
{
	snprintf(name, NAME_BYTES, "%0*" PRIx64 JOURNAL_SUFFIX,
		 JOURNAL_GEN_DIGITS, gen);
}

/* Only names gen_name() makes count: anything else in dir is not ours. */
static bool parse_name(const char *name, uint64_t *gen)
{
	size_t n = strnlen(name, NAME_BYTES);
	uint64_t g = 0;

	if (n != NAME_BYTES - 1 ||
	    strcmp(name + JOURNAL_GEN_DIGITS, JOURNAL_SUFFIX) != 0)
		return false;
	for (size_t i = 0; i < JOURNAL_GEN_DIGITS; i++) {
		char c = name[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return false;
		g = g << 4 | d;
	}
	*gen = g;
	return true;
}

static void make_header(uint8_t h[JOURNAL_HEADER_BYTES], uint64_t gen)
{
	memcpy(h, JOURNAL_MAGIC, sizeof(JOURNAL_MAGIC) - 1);
	put_be64(h + sizeof(JOURNAL_MAGIC) - 1, gen);
}

/* One file's scan, shared by journal_open and journal_replay. */
struct scan {
	uint64_t gen;
	bool last;            /* the journal's tail: a torn tail is allowed
				 (and measured) */
	journal_replay_fn fn; /* NULL: only validate */
	void *arg;
	/* out */
	off_t end;            /* after the last good record (0: no header) */
	uint64_t records;     /* good records = the next seq */
	uint64_t torn;        /* bytes from end to EOF, when last */
	bool unfinished;      /* torn is an unfinished write (journal.h) */
	bool after_gap;       /* the file replayed before it is not gen - 1 */
	off_t bad;            /* where -EBADMSG was found */
};

/* What a damaged record at the end of a file may be (journal.h, Replay). */
enum tail {
	TAIL_NONE,       /* nothing a writer leaves: corruption */
	TAIL_UNFINISHED, /* short, or zeros: a write a crash stopped */
	TAIL_UNOPENABLE, /* whole, but it does not open */
};

static int all_zero(int fd, off_t off, off_t size, uint8_t *buf, bool *zero)
{
	*zero = true;
	while (off < size) { /* bounded by size */
		size_t n = size - off < ZERO_SCAN_BYTES ? (size_t)(size - off)
							 : ZERO_SCAN_BYTES;
		int r = pread_all(fd, buf, n, off);
		if (r)
			return r;
		for (size_t i = 0; i < n; i++)
			if (buf[i]) {
				*zero = false;
				return 0;
			}
		off += (off_t)n;
	}
	return 0;
}

/* A damaged record at off: a torn write of kind t if the file is the
 * journal's tail. */
static int tail_or_bad(struct scan *sc, off_t off, off_t size, enum tail t)
{
	if (t != TAIL_NONE && sc->last) {
		sc->end = off;
		sc->torn = (uint64_t)(size - off);
		sc->unfinished = t == TAIL_UNFINISHED;
		return 0;
	}
	sc->bad = off;
	return -EBADMSG;
}

/* A file too short for a header: a creation a crash cut short, if its
 * bytes are a prefix of the header it was to get; it holds no records.
 * Every file is created as the next generation after the one before it
 * (or as the first), so a last file cut short after a gap is damage. */
static int scan_short(int fd, off_t size, struct scan *sc)
{
	uint8_t want[JOURNAL_HEADER_BYTES], got[JOURNAL_HEADER_BYTES];
	int r = pread_all(fd, got, (size_t)size, 0);

	if (r)
		return r;
	make_header(want, sc->gen);
	/* After a gap, no creation made it: files were lost or cut. */
	if (memcmp(got, want, (size_t)size) != 0 ||
	    (sc->last && sc->after_gap)) {
		sc->bad = 0;
		return -EBADMSG;
	}
	sc->end = 0;
	sc->torn = sc->last ? (uint64_t)size : 0;
	sc->unfinished = sc->torn > 0;
	return 0;
}

/*
 * Does a record of this generation open where a short record's cut (from
 * its length field at off to EOF) should hold only that record's first
 * bytes?  Then the length field is what is wrong, not the file's end: the
 * record at off opens whole when its length is taken to EOF, or a later
 * record (seq after seq) opens inside the cut.  A crash cannot leave
 * either (one pwrite per record, and a failed one is cut back), so such a
 * cut is damage, not an unfinished write.  The cut is shorter than its
 * length claims (<= JOURNAL_SEALED_MAX), so it fits in sealed; each
 * offset tried needs a valid length that fits, and most cost no MAC.
 */
/* Past JOURNAL_CUT_OPEN_MAX (journal.h) the cut is damage: random
 * ciphertext of a 1 MiB cut costs a few MiB. */
static int cut_hides_record(int fd, off_t off, off_t size, const uint8_t *key,
			    const struct scan *sc, uint64_t seq,
			    uint8_t *sealed, uint8_t *plain, size_t *plain_used,
			    bool *hides)
{
	size_t n = (size_t)(size - off - JOURNAL_LEN_BYTES);
	size_t opened = 0; /* bytes given to seal_open so far */
	int r = pread_all(fd, sealed, n, off + JOURNAL_LEN_BYTES);

	*hides = false;
	if (r)
		return r;
	/* q: where a candidate record's sealed bytes start in sealed; 0 is
	 * the record at off itself, taken to EOF. */
	for (size_t q = 0; !*hides && q + JOURNAL_SEALED_MIN <= n;) {
		size_t len = n - q, plen;
		if (q > 0) {
			len = get_be32(sealed + q - JOURNAL_LEN_BYTES);
			if (len < JOURNAL_SEALED_MIN || len > n - q) {
				q++;
				continue;
			}
		}
		/* Ciphertext rarely reads as a length that fits; bytes that
		 * keep doing so (a pattern, not a crash's) would cost a MAC
		 * per offset: past the budget the cut is damage. */
		if (len <= JOURNAL_SEALED_MAX &&
		    (opened += len) > JOURNAL_CUT_OPEN_MAX) {
			*hides = true;
			break;
		}
		if (len <= JOURNAL_SEALED_MAX) {
			if (*plain_used < len - IPMD_SEAL_OVERHEAD)
				*plain_used = len - IPMD_SEAL_OVERHEAD;
			if (!seal_open(plain, &plen, sealed + q, len,
				       BLOCK_JOURNAL, key) &&
			    get_be64(plain) == sc->gen &&
			    (q == 0 ? get_be64(plain + 8) == seq
				    : get_be64(plain + 8) > seq))
				*hides = true;
		}
		/* The first later record starts after a minimal one. */
		q = q ? q + 1 : JOURNAL_SEALED_MIN + JOURNAL_LEN_BYTES;
	}
	return 0;
}

static int scan_records(int fd, off_t size, const uint8_t *key,
			struct scan *sc, uint8_t *sealed, uint8_t *plain,
			size_t *plain_used)
{
	off_t off = JOURNAL_HEADER_BYTES;
	uint64_t seq = 0;
	int r;

	/* Each pass consumes at least one minimal record or leaves. */
	while (off < size) {
		off_t rem = size - off;
		uint8_t lenbuf[JOURNAL_LEN_BYTES];
		size_t plen;
		uint32_t len;

		sc->records = seq;
		if (rem < JOURNAL_LEN_BYTES)
			return tail_or_bad(sc, off, size, TAIL_UNFINISHED);
		r = pread_all(fd, lenbuf, sizeof(lenbuf), off);
		if (r)
			return r;
		len = get_be32(lenbuf);
		if (len < JOURNAL_SEALED_MIN || len > JOURNAL_SEALED_MAX) {
			/* No writer makes this length; zeros are a file size
			 * that got ahead of its data in a crash. */
			bool zero;
			r = all_zero(fd, off, size, sealed, &zero);
			return r ? r : tail_or_bad(sc, off, size,
						   zero ? TAIL_UNFINISHED
							: TAIL_NONE);
		}
		if ((off_t)len > rem - JOURNAL_LEN_BYTES) {
			bool hides;
			r = cut_hides_record(fd, off, size, key, sc, seq,
					     sealed, plain, plain_used, &hides);
			return r ? r : tail_or_bad(sc, off, size,
						   hides ? TAIL_NONE
							 : TAIL_UNFINISHED);
		}
		r = pread_all(fd, sealed, len, off + JOURNAL_LEN_BYTES);
		if (r)
			return r;
		if (*plain_used < len - IPMD_SEAL_OVERHEAD)
			*plain_used = len - IPMD_SEAL_OVERHEAD;
		if (seal_open(plain, &plen, sealed, len, BLOCK_JOURNAL, key)) {
			bool final = off + JOURNAL_LEN_BYTES + (off_t)len == size;
			return tail_or_bad(sc, off, size,
					   final ? TAIL_UNOPENABLE : TAIL_NONE);
		}
		/* Opened, so written by us: elsewhere means moved. */
		if (get_be64(plain) != sc->gen || get_be64(plain + 8) != seq) {
			sc->bad = off;
			return -EBADMSG;
		}
		if (sc->fn) {
			r = sc->fn(sc->gen, seq, plain + JOURNAL_PREFIX_BYTES,
				   plen - JOURNAL_PREFIX_BYTES, sc->arg);
			if (r)
				return r;
		}
		off += JOURNAL_LEN_BYTES + (off_t)len;
		seq++;
	}
	sc->records = seq;
	sc->end = off;
	return 0;
}

static int scan_file(int fd, const uint8_t *key, struct scan *sc)
{
	uint8_t want[JOURNAL_HEADER_BYTES], got[JOURNAL_HEADER_BYTES];
	size_t plain_used = 0;
	struct stat sb;
	int r;

	sc->end = 0;
	sc->records = sc->torn = 0;
	sc->unfinished = false;
	sc->bad = 0;
	if (fstat(fd, &sb) != 0)
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return -EINVAL;
	if (sb.st_size < JOURNAL_HEADER_BYTES)
		return scan_short(fd, sb.st_size, sc);
	r = pread_all(fd, got, sizeof(got), 0);
	if (r)
		return r;
	make_header(want, sc->gen);
	if (memcmp(got, want, sizeof(want)) != 0)
		return -EBADMSG; /* sc->bad = 0: the header */

	uint8_t *sealed = malloc(JOURNAL_SEALED_MAX);
	uint8_t *plain = malloc(JOURNAL_SEALED_MAX - IPMD_SEAL_OVERHEAD);
	if (!sealed || !plain)
		r = -ENOMEM;
	else
		r = scan_records(fd, sb.st_size, key, sc, sealed, plain,
				 &plain_used);
	wipe_free(plain, plain_used);
	free(sealed);
	return r;
}

/*
 * Open (creating) generation gen in dirfd for appending: a new or
 * cut-short file gets its header, an existing one loses its torn tail; either
 * way what is on disk is made durable, so a rotation away from it needs no
 * sync unless something is appended.
 */
IPMD_MUST_CHECK
static int open_gen(int dirfd, uint64_t gen, const uint8_t *key, int *fdp,
		    off_t *endp, uint64_t *seqp)
{
	char name[NAME_BYTES];
	struct scan sc = { .gen = gen, .last = true };
	int fd, r;

	gen_name(name, gen);
	fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0600);
	if (fd < 0)
		return -errno;
	r = scan_file(fd, key, &sc);
	if (!r && sc.end < JOURNAL_HEADER_BYTES) {
		uint8_t h[JOURNAL_HEADER_BYTES];
		make_header(h, gen);
		r = pwrite_all(fd, h, sizeof(h), 0);
		if (!r)
			r = fsync_fd(fd);
		if (!r)
			r = fsync_fd(dirfd);
		sc.end = JOURNAL_HEADER_BYTES;
		sc.records = 0;
	} else if (!r) {
		if (sc.torn && ftruncate(fd, sc.end) != 0)
			r = -errno;
		/* Also covers records an earlier process left unsynced. */
		if (!r)
			r = fsync_fd(fd);
	}
	if (r) {
		close(fd);
		return r;
	}
	*fdp = fd;
	*endp = sc.end;
	*seqp = sc.records;
	return 0;
}

int journal_open(const char *dir, const uint8_t key[IPMD_KEY_BYTES],
		 uint64_t gen, struct journal **out)
{
	struct journal *j;
	int r;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!dir || !key)
		return -EINVAL;
	r = seal_init();
	if (!r)
		r = mkdir_durable(dir);
	if (r)
		return r;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->fd = -1;
	j->dirfd = -1;
	j->key = sodium_malloc(IPMD_KEY_BYTES);
	if (!j->key) {
		free(j);
		return -ENOMEM;
	}
	memcpy(j->key, key, IPMD_KEY_BYTES);
	sodium_mprotect_readonly(j->key);
	j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dirfd < 0)
		r = -errno;
	else
		r = open_gen(j->dirfd, gen, j->key, &j->fd, &j->end, &j->seq);
	if (!r && pthread_mutex_init(&j->lock, NULL) != 0)
		r = -ENOMEM;
	if (!r && pthread_cond_init(&j->sync_done, NULL) != 0) {
		pthread_mutex_destroy(&j->lock);
		r = -ENOMEM;
	}
	if (!r && pthread_mutex_init(&j->rotate_lock, NULL) != 0) {
		pthread_cond_destroy(&j->sync_done);
		pthread_mutex_destroy(&j->lock);
		r = -ENOMEM;
	}
	if (r) {
		if (j->fd >= 0)
			close(j->fd);
		if (j->dirfd >= 0)
			close(j->dirfd);
		sodium_free(j->key); /* wipes */
		free(j);
		return r;
	}
	j->gen = gen;
	*out = j;
	return 0;
}

/*
 * Group commit; called and returns with j->lock held.  Whoever finds no sync
 * running becomes the syncer for everything written so far; the others wait
 * for it and re-check.  Each pass either returns or waits for a sync that
 * ends with synced_pos advanced or failed set, so the loop terminates.
 */
static int wait_durable(struct journal *j, uint64_t want)
{
	while (!j->failed && j->synced_pos < want) {
		if (j->syncing) {
			pthread_cond_wait(&j->sync_done, &j->lock);
			continue;
		}
		uint64_t target = j->pos;
		int fd = j->fd; /* rotation waits for !syncing to switch */
		j->syncing = true;
		pthread_mutex_unlock(&j->lock);
		int r = fdatasync(fd) == 0 ? 0 : -errno;
		pthread_mutex_lock(&j->lock);
		j->syncing = false;
		j->st.syncs++;
		if (r)
			/* The kernel may have dropped the pages that failed;
			 * retrying would report success for lost data. */
			j->failed = -EIO;
		else if (target > j->synced_pos)
			j->synced_pos = target;
		pthread_cond_broadcast(&j->sync_done);
		if (r)
			return r;
	}
	return j->synced_pos >= want ? 0 : j->failed;
}

int journal_append(struct journal *j, const uint8_t *payload, size_t len,
		   bool sync)
{
	if (!j || (len > 0 && !payload))
		return -EINVAL;
	if (len > JOURNAL_RECORD_MAX)
		return -EMSGSIZE;

	size_t plen = JOURNAL_PREFIX_BYTES + len;
	size_t slen = plen + IPMD_SEAL_OVERHEAD;
	size_t rlen = JOURNAL_LEN_BYTES + slen;
	uint8_t *plain = malloc(plen);
	uint8_t *rec = malloc(rlen);
	uint64_t mine = 0;
	int r;

	if (!plain || !rec) {
		free(plain);
		free(rec);
		return -ENOMEM;
	}
	if (len > 0)
		memcpy(plain + JOURNAL_PREFIX_BYTES, payload, len);
	put_be32(rec, (uint32_t)slen);

	/* Sealing under the lock keeps seq order = file order; records are
	 * small, so the lock is held for microseconds. */
	pthread_mutex_lock(&j->lock);
	r = j->failed;
	if (!r) {
		put_be64(plain, j->gen);
		put_be64(plain + 8, j->seq);
		r = seal_with_key(rec + JOURNAL_LEN_BYTES, plain, plen,
				  BLOCK_JOURNAL, j->key, NULL);
	}
	if (!r) {
		r = pwrite_all(j->fd, rec, rlen, j->end);
		/* Cut a partial record off, or the next one would follow it
		 * and replay would call the file corrupt. */
		if (r && ftruncate(j->fd, j->end) != 0)
			j->failed = -EIO;
	}
	if (!r) {
		j->end += (off_t)rlen;
		j->pos += rlen;
		j->seq++;
		j->st.appends++;
		if (sync)
			j->st.sync_appends++;
		mine = j->pos;
		if (sync)
			r = wait_durable(j, mine);
	}
	pthread_mutex_unlock(&j->lock);

	wipe_free(plain, plen);
	free(rec);
	return r;
}

int journal_sync(struct journal *j)
{
	int r;

	if (!j)
		return -EINVAL;
	pthread_mutex_lock(&j->lock);
	r = j->failed ? j->failed : wait_durable(j, j->pos);
	pthread_mutex_unlock(&j->lock);
	return r;
}

/*
 * Why the next file is made before the current one is synced, not after
 * (which would seem to keep a crash from leaving a short file N with
 * N+1 present, and so drop journal.h's rule that the tail may be the
 * file before a header-only last one):
 *  - Syncing N first does not get that unless appenders are held off
 *    from that sync until the switch: wal_store's block records come
 *    outside the mount's lock, while a writer's chunks seal, so they
 *    keep landing in N while N+1 is made.  Holding them off would put
 *    N+1's two fsyncs (file, directory) under j->lock, on every commit
 *    (each one rotates), where today only N's fdatasync is.
 *  - The rule could not go anyway: journals written before, which a
 *    crash left so, must still replay; and a crash while N+1 is made
 *    still leaves it cut inside its header after a whole N.
 * So the order stays: N+1 made outside j->lock, then N synced under it
 * before the switch, which is what keeps a later file (N+2) from ever
 * following a short N.
 */
int journal_rotate(struct journal *j, uint64_t new_gen)
{
	int fd = -1, r;
	off_t end = 0;
	uint64_t seq = 0;

	if (!j)
		return -EINVAL;
	pthread_mutex_lock(&j->rotate_lock);
	pthread_mutex_lock(&j->lock);
	r = j->failed ? j->failed : new_gen > j->gen ? 0 : -EINVAL;
	pthread_mutex_unlock(&j->lock);

	/* Creating the file (two fsyncs) doesn't hold up appenders. */
	if (!r)
		r = open_gen(j->dirfd, new_gen, j->key, &fd, &end, &seq);
	if (!r) {
		pthread_mutex_lock(&j->lock);
		while (j->syncing)
			pthread_cond_wait(&j->sync_done, &j->lock);
		r = j->failed;
		/* The old file must be whole before a later one gets
		 * records, or its lost tail would be corruption mid-journal. */
		if (!r && j->synced_pos < j->pos) {
			j->st.syncs++;
			if (fdatasync(j->fd) != 0) {
				r = -errno;
				j->failed = -EIO;
			} else {
				j->synced_pos = j->pos;
			}
		}
		if (!r) {
			int old = j->fd;
			j->fd = fd;
			j->gen = new_gen;
			j->seq = seq;
			j->end = end;
			fd = old;
		}
		pthread_cond_broadcast(&j->sync_done);
		pthread_mutex_unlock(&j->lock);
		close(fd);
	}
	pthread_mutex_unlock(&j->rotate_lock);
	return r;
}

/* One counter of j, read under its lock (the writer moves them together). */
static uint64_t read_locked(struct journal *j, const uint64_t *field)
{
	uint64_t v;

	pthread_mutex_lock(&j->lock);
	v = *field;
	pthread_mutex_unlock(&j->lock);
	return v;
}

uint64_t journal_gen(struct journal *j)
{
	return read_locked(j, &j->gen);
}

uint64_t journal_records(struct journal *j)
{
	return read_locked(j, &j->seq);
}

void journal_stats(struct journal *j, struct journal_stats *out)
{
	pthread_mutex_lock(&j->lock);
	*out = j->st;
	pthread_mutex_unlock(&j->lock);
}

int journal_close(struct journal *j)
{
	int r;

	if (!j)
		return 0;
	pthread_mutex_lock(&j->lock);
	r = j->failed ? j->failed : wait_durable(j, j->pos);
	while (j->syncing) /* only if a caller still appends: don't race it */
		pthread_cond_wait(&j->sync_done, &j->lock);
	pthread_mutex_unlock(&j->lock);

	if (close(j->fd) != 0 && !r)
		r = -errno;
	close(j->dirfd);
	pthread_mutex_destroy(&j->rotate_lock);
	pthread_cond_destroy(&j->sync_done);
	pthread_mutex_destroy(&j->lock);
	sodium_free(j->key); /* wipes */
	free(j);
	return r;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Generations of DIR's journal files, ascending. */
static int list_gens(DIR *d, uint64_t **gens, size_t *n)
{
	struct dirent *de;
	size_t cap = 0;

	*gens = NULL;
	*n = 0;
	while ((de = readdir(d)) != NULL) {
		uint64_t g;
		if (!parse_name(de->d_name, &g))
			continue;
		if (*n == REPLAY_FILES_MAX)
			return -E2BIG;
		if (*n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			uint64_t *p = realloc(*gens, ncap * sizeof(*p));
			if (!p)
				return -ENOMEM;
			*gens = p;
			cap = ncap;
		}
		(*gens)[(*n)++] = g;
	}
	if (*n > 1)
		qsort(*gens, *n, sizeof(**gens), cmp_u64);
	return 0;
}

int journal_drop_before(const char *dir, uint64_t gen)
{
	uint64_t *gens = NULL;
	size_t n = 0;
	bool removed = false;
	DIR *d;
	int r;

	if (!dir)
		return -EINVAL;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	r = list_gens(d, &gens, &n);
	/* Oldest first: a crash midway leaves no hole among the rest. */
	for (size_t i = 0; !r && i < n && gens[i] < gen; i++) {
		char name[NAME_BYTES];
		gen_name(name, gens[i]);
		if (unlinkat(dirfd(d), name, 0) == 0)
			removed = true;
		else if (errno != ENOENT)
			r = -errno;
	}
	if (removed) {
		int s = fsync_fd(dirfd(d));
		if (!r)
			r = s;
	}
	free(gens);
	closedir(d);
	return r;
}

/* Generations [from, to) are missing: the lowest so far in
 * st->missing_gen, the count (saturating) in st->missing_gens. */
static void add_gap(uint64_t from, uint64_t to,
		    struct journal_replay_stats *st)
{
	uint64_t lost = to - from;
	if (!st->missing_gen)
		st->missing_gen = from;
	st->missing_gens = lost > UINT64_MAX - st->missing_gens
				   ? UINT64_MAX
				   : st->missing_gens + lost;
}

/* The generations missing among files of gens (ascending) ≥ from_gen;
 * first_held: from_gen's own file too, and any up to the first present
 * (journal.h, Missing generations). */
static void find_gaps(const uint64_t *gens, size_t n, uint64_t from_gen,
		      bool first_held, struct journal_replay_stats *st)
{
	size_t first = 0;
	while (first < n && gens[first] < from_gen)
		first++;
	if (first_held && (first == n || gens[first] != from_gen))
		add_gap(from_gen, first < n ? gens[first] : from_gen + 1, st);
	for (size_t i = first + 1; i < n; i++)
		if (gens[i] != gens[i - 1] + 1)
			add_gap(gens[i - 1] + 1, gens[i], st);
}

/* The size of generation gen's file in dfd; a file gone meanwhile is 0
 * (opening it fails later anyway). */
static int gen_size(int dfd, uint64_t gen, off_t *size)
{
	char name[NAME_BYTES];
	struct stat sb;

	gen_name(name, gen);
	*size = 0;
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		*size = sb.st_size;
	else if (errno != ENOENT)
		return -errno;
	return 0;
}

/*
 * *tail: the index in gens (n > 0) of the journal's tail (journal.h,
 * Replay).  The last file, unless it holds at most a header, is the very
 * next generation, and the one before holds records: that is the file a
 * rotation creates before it syncs the current one, so a crash can leave
 * it after an unfinished write.  Nothing else a writer does leaves a file
 * after a short record: a rotation syncs the current file whole before it
 * starts another, so two such files, or a gap, mean files lost or cut.
 */
static int tail_index(int dfd, const uint64_t *gens, size_t n, size_t *tail)
{
	off_t last, before = 0;
	int r;

	*tail = n - 1;
	if (n < 2 || gens[n - 1] != gens[n - 2] + 1)
		return 0;
	r = gen_size(dfd, gens[n - 1], &last);
	if (!r && last <= JOURNAL_HEADER_BYTES)
		r = gen_size(dfd, gens[n - 2], &before);
	if (!r && last <= JOURNAL_HEADER_BYTES && before > JOURNAL_HEADER_BYTES)
		*tail = n - 2;
	return r;
}

int journal_replay(const char *dir, const uint8_t key[IPMD_KEY_BYTES],
		   uint64_t from_gen, unsigned flags, journal_replay_fn fn,
		   void *arg, struct journal_replay_stats *stats)
{
	bool repair_tail = flags & JOURNAL_REPLAY_REPAIR_TAIL;
	bool first_held = flags & JOURNAL_REPLAY_FIRST_HELD;
	struct journal_replay_stats unused;
	uint64_t *gens = NULL;
	size_t n = 0;
	DIR *d;
	int r;

	if (!stats)
		stats = &unused;
	memset(stats, 0, sizeof(*stats));
	if (!dir || !key)
		return -EINVAL;
	r = seal_init();
	if (r)
		return r;
	d = opendir(dir);
	if (!d && errno == ENOENT && first_held) {
		add_gap(from_gen, from_gen + 1, stats);
		return flags & JOURNAL_REPLAY_ACROSS_GAPS ? 0 : -ENODATA;
	}
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	r = list_gens(d, &gens, &n);
	size_t tail = 0;
	if (!r && n)
		r = tail_index(dirfd(d), gens, n, &tail);
	/* Checked before anything is replayed or cut: a refused journal is
	 * left as it was found. */
	if (!r)
		find_gaps(gens, n, from_gen, first_held, stats);
	if (!r && stats->missing_gen && !(flags & JOURNAL_REPLAY_ACROSS_GAPS))
		r = -ENODATA;

	for (size_t i = 0; !r && i < n; i++) {
		bool last = i >= tail;
		/* A gap before it: the one before it, or from_gen itself
		 * when its file must be there. */
		uint64_t expect = stats->files > 0 ? gens[i - 1] + 1 : from_gen;
		struct scan sc = { .gen = gens[i], .last = last, .fn = fn,
				   .arg = arg,
				   .after_gap = (stats->files > 0 || first_held) &&
						gens[i] != expect };
		char name[NAME_BYTES];
		int fd;

		if (gens[i] < from_gen)
			continue;
		gen_name(name, gens[i]);
		fd = openat(dirfd(d), name,
			    (repair_tail && last ? O_RDWR : O_RDONLY) |
				    O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			r = -errno;
			break;
		}
		r = scan_file(fd, key, &sc);
		stats->files++;
		stats->records += sc.records;
		stats->last_gen = gens[i];
		if (r == -EBADMSG) {
			snprintf(stats->bad_file, sizeof(stats->bad_file),
				 "%s", name);
			stats->bad_offset = (uint64_t)sc.bad;
		} else if (!r && sc.torn) {
			stats->torn_tail_bytes += sc.torn;
			if (sc.unfinished)
				stats->unfinished_tail_bytes += sc.torn;
			if (repair_tail) {
				if (ftruncate(fd, sc.end) != 0)
					r = -errno;
				else
					r = fsync_fd(fd);
			}
		}
		close(fd);
	}
	free(gens);
	closedir(d);
	return r;
}
