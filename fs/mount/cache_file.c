/*
 * fs/mount/cache_file.c — local cache files (cache_file.h).
 *
 * On disk a cache file is a run of slots, one per page of CACHE_PAGE
 * plaintext bytes: nonce ‖ ciphertext ‖ tag.  Pages are materialised in
 * order (a write past the last one writes the zero pages between), so a
 * slot that is not there lies past the end and reads as zeros, and no
 * all-zero slot is ever taken for a page.  Every byte at or past the
 * file's size is zero (truncate clears a cut page's tail), so a write or
 * a truncate past the end needs no zeroing of its own.
 */
#include "fs/mount/cache_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/format.h"
#include "util/dir.h"
#include "util/endian.h"
#include "util/io.h"

#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SLOT (NONCE + CACHE_PAGE + TAG)
#define FILE_ID CACHE_FILE_ID
#define AAD_BYTES (FILE_ID + 8)

struct cache_dir {
	int fd;
	uint8_t *key; /* sodium_malloc'ed, read-only */
};

struct cache_file {
	struct cache_dir *dir;
	int fd;
	atomic_uint refs;
	pthread_mutex_t mu;
	uint64_t pages; /* slots on disk */
	uint8_t id[FILE_ID];
	/* A file a clean unmount kept is named until the mount ends (an
	 * unlinked file can't be linked again, as an O_TMPFILE can): removed
	 * with its last reference unless kept once more. */
	char name[CACHE_NAME_BYTES];
	bool kept;
};

void cache_dir_sweep(struct cache_dir *cd,
		     const char (*keep)[CACHE_NAME_BYTES], size_t nkeep)
{
	DIR *d;
	if (dir_open_at(cd->fd, ".", 0, &d) != 0)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		bool kept = e->d_name[0] == '.';
		for (size_t i = 0; i < nkeep && !kept; i++)
			kept = strcmp(e->d_name, keep[i]) == 0;
		if (!kept)
			(void)unlinkat(cd->fd, e->d_name, 0);
	}
	closedir(d);
}

/* The sweep removes every file of the directory and the catalog is
 * written there, so it must be the daemon's own or the store's owner's
 * (a root daemon serving a user's store: that user holds the whole store
 * anyway), not a third user's directory (nor, since it is opened
 * O_NOFOLLOW, one a symlink points to), and not one others may add names
 * to.  -EPERM otherwise. */
static int trusted_dir(int fd, const char *root)
{
	struct stat st, top;
	if (fstat(fd, &st) != 0 || stat(root, &top) != 0)
		return -errno;
	if (st.st_uid != geteuid() && st.st_uid != top.st_uid)
		return -EPERM;
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return -EPERM;
	return 0;
}

int cache_dir_open(const char *root, const uint8_t *journal_key,
		   struct cache_dir **out)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", root, CACHE_DIR_NAME) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return -errno;
	struct cache_dir *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	d->key = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
	int e = d->fd < 0 ? -errno : !d->key ? -ENOMEM : trusted_dir(d->fd, root);
	if (e == 0) {
		/* A subkey of the journal key: local state, never shared. */
		crypto_generichash(d->key,
				   crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
				   (const uint8_t *)IPMD_CACHE_KEY_LABEL,
				   strlen(IPMD_CACHE_KEY_LABEL), journal_key,
				   IPMD_KEY_BYTES);
		sodium_mprotect_readonly(d->key);
		*out = d;
		return 0;
	}
	cache_dir_close(d);
	return e;
}

void cache_dir_close(struct cache_dir *d)
{
	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd);
	sodium_free(d->key);
	free(d);
}

/* An unnamed file in the cache directory, or, without O_TMPFILE, a
 * named one removed at once. */
static int open_unnamed(int dirfd)
{
	int fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR &&
			errno != EINVAL))
		return fd < 0 ? -errno : fd;
	char name[2 * FILE_ID + 1];
	uint8_t r[FILE_ID];
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(name, sizeof(name), r, sizeof(r));
	fd = openat(dirfd, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	(void)unlinkat(dirfd, name, 0);
	return fd;
}

int cache_file_new(struct cache_dir *d, struct cache_file **out)
{
	struct cache_file *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->fd = open_unnamed(d->fd);
	if (f->fd < 0) {
		int e = f->fd;
		free(f);
		return e;
	}
	f->dir = d;
	atomic_init(&f->refs, 1);
	pthread_mutex_init(&f->mu, NULL);
	randombytes_buf(f->id, sizeof(f->id));
	*out = f;
	return 0;
}

int cache_file_adopt(struct cache_dir *d, const char *name,
		     const uint8_t id[CACHE_FILE_ID], struct cache_file **out)
{
	if (strlen(name) + 1 > CACHE_NAME_BYTES)
		return -ENAMETOOLONG;
	int fd = openat(d->fd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int e = fstat(fd, &st) != 0 ? -errno
		: !S_ISREG(st.st_mode) || st.st_size % SLOT ? -EBADMSG
							     : 0;
	struct cache_file *f = e ? NULL : calloc(1, sizeof(*f));
	if (!e && !f)
		e = -ENOMEM;
	if (e) {
		close(fd);
		return e;
	}
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->fd = fd;
	f->dir = d;
	f->pages = (uint64_t)st.st_size / SLOT;
	atomic_init(&f->refs, 1);
	pthread_mutex_init(&f->mu, NULL);
	memcpy(f->id, id, FILE_ID);
	*out = f;
	return 0;
}

int cache_file_keep(struct cache_file *f, char name[CACHE_NAME_BYTES],
		    uint8_t id[CACHE_FILE_ID])
{
	if (!f->name[0]) {
		char self[64], fresh[CACHE_NAME_BYTES];
		uint8_t r[CACHE_FILE_ID];
		randombytes_buf(r, sizeof(r));
		sodium_bin2hex(fresh, sizeof(fresh), r, sizeof(r));
		snprintf(self, sizeof(self), "/proc/self/fd/%d", f->fd);
		if (linkat(AT_FDCWD, self, f->dir->fd, fresh,
			   AT_SYMLINK_FOLLOW) != 0)
			return -errno;
		memcpy(f->name, fresh, sizeof(fresh));
	}
	f->kept = true;
	memcpy(name, f->name, CACHE_NAME_BYTES);
	memcpy(id, f->id, FILE_ID);
	return 0;
}

/* The AAD of a sealed blob: its name, so one can't stand for another. */
int cache_dir_put_sealed(struct cache_dir *d, const char *name,
			 const uint8_t *data, size_t len)
{
	size_t n = NONCE + len + TAG;
	uint8_t *buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	randombytes_buf(buf, NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		buf + NONCE, NULL, data, len, (const uint8_t *)name,
		strlen(name), NULL, buf, d->key);
	int fd = openat(d->fd, name,
			O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
			0600);
	int e = fd < 0 ? -errno : write_all(fd, buf, n);
	if (fd >= 0 && close(fd) != 0 && e == 0)
		e = -errno;
	free(buf);
	return e;
}

int cache_dir_take_sealed(struct cache_dir *d, const char *name,
			  uint8_t **data, size_t *len)
{
	*data = NULL;
	int fd = openat(d->fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	(void)unlinkat(d->fd, name, 0); /* read once: a crash later keeps none */
	struct stat st;
	int e = fstat(fd, &st) != 0 ? -errno : 0;
	size_t n = e ? 0 : (size_t)st.st_size;
	if (!e && (n < NONCE + TAG || n > CACHE_SEALED_MAX))
		e = -EBADMSG;
	uint8_t *buf = e ? NULL : malloc(n), *out = e ? NULL : malloc(n);
	if (!e && (!buf || !out))
		e = -ENOMEM;
	if (!e)
		e = pread_all(fd, buf, n, 0);
	unsigned long long m = 0;
	if (!e && crypto_aead_xchacha20poly1305_ietf_decrypt(
			  out, &m, NULL, buf + NONCE, n - NONCE,
			  (const uint8_t *)name, strlen(name), buf, d->key) != 0)
		e = -EBADMSG;
	close(fd);
	free(buf);
	if (e) {
		free(out);
		return e;
	}
	*data = out;
	*len = (size_t)m;
	return 0;
}

struct cache_file *cache_file_ref(struct cache_file *f)
{
	atomic_fetch_add(&f->refs, 1);
	return f;
}

void cache_file_unref(struct cache_file *f)
{
	if (!f || atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	if (f->name[0] && !f->kept)
		(void)unlinkat(f->dir->fd, f->name, 0);
	close(f->fd);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static void page_aad(const struct cache_file *f, uint64_t page,
		     uint8_t aad[AAD_BYTES])
{
	memcpy(aad, f->id, FILE_ID);
	put_be64(aad + FILE_ID, page);
}

/* Under f->mu: open the n slots read into s (pages first …) into out,
 * out_off bytes into the first page, len bytes in all. */
static int open_slots(struct cache_file *f, uint64_t first,
		      const uint8_t *s, size_t out_off, uint8_t *out,
		      size_t len)
{
	uint8_t p[CACHE_PAGE], aad[AAD_BYTES];
	size_t done = 0;
	int e = 0;
	for (uint64_t page = first; done < len && e == 0; page++) {
		size_t in = done == 0 ? out_off : 0;
		size_t n = CACHE_PAGE - in < len - done ? CACHE_PAGE - in
							: len - done;
		const uint8_t *slot = s + (page - first) * SLOT;
		/* A whole page opens straight into out. */
		uint8_t *dst = n == CACHE_PAGE ? out + done : p;
		page_aad(f, page, aad);
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(
			    dst, NULL, NULL, slot + NONCE, CACHE_PAGE + TAG,
			    aad, sizeof(aad), slot, f->dir->key) != 0)
			e = -EIO;
		else if (dst == p)
			memcpy(out + done, p + in, n);
		done += n;
	}
	sodium_memzero(p, sizeof(p));
	return e;
}

/* Under f->mu: page's plaintext into p (zeros past the last slot). */
static int page_get(struct cache_file *f, uint64_t page,
		    uint8_t p[CACHE_PAGE])
{
	if (page >= f->pages) {
		memset(p, 0, CACHE_PAGE);
		return 0;
	}
	uint8_t slot[SLOT];
	int e = pread_all(f->fd, slot, SLOT, (off_t)(page * SLOT));
	return e ? e : open_slots(f, page, slot, 0, p, CACHE_PAGE);
}

/* Seal p as page into slot (a fresh nonce each time). */
static void seal_slot(const struct cache_file *f, uint64_t page,
		      const uint8_t p[CACHE_PAGE], uint8_t slot[SLOT])
{
	uint8_t aad[AAD_BYTES];
	randombytes_buf(slot, NONCE);
	page_aad(f, page, aad);
	crypto_aead_xchacha20poly1305_ietf_encrypt(slot + NONCE, NULL, p,
						   CACHE_PAGE, aad,
						   sizeof(aad), NULL, slot,
						   f->dir->key);
}

/* Under f->mu: p as page, materialising the zero pages before it. */
static int page_put(struct cache_file *f, uint64_t page,
		    const uint8_t p[CACHE_PAGE])
{
	static const uint8_t zero[CACHE_PAGE];
	uint8_t slot[SLOT];
	for (; f->pages < page; f->pages++) {
		seal_slot(f, f->pages, zero, slot);
		int e = pwrite_all(f->fd, slot, SLOT, (off_t)(f->pages * SLOT));
		if (e)
			return e;
	}
	seal_slot(f, page, p, slot);
	int e = pwrite_all(f->fd, slot, SLOT, (off_t)(page * SLOT));
	if (e == 0 && f->pages == page)
		f->pages = page + 1;
	return e;
}

int cache_file_read(struct cache_file *f, uint64_t size, uint64_t off,
		    uint8_t *buf, size_t len, size_t *got)
{
	*got = 0;
	if (off >= size)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);
	pthread_mutex_lock(&f->mu);
	/* Past the last slot: zeros (a size set by truncate). */
	uint64_t first = off / CACHE_PAGE, end = off + len;
	uint64_t stored = f->pages * CACHE_PAGE;
	size_t have = first >= f->pages ? 0
		      : (size_t)((end < stored ? end : stored) - off);
	int e = 0;
	if (have > 0) {
		uint64_t last = (off + have - 1) / CACHE_PAGE;
		size_t n = (size_t)(last - first + 1) * SLOT;
		uint8_t *s = malloc(n);
		e = !s ? -ENOMEM
		       : pread_all(f->fd, s, n, (off_t)(first * SLOT));
		if (e == 0)
			e = open_slots(f, first, s, (size_t)(off % CACHE_PAGE),
				       buf, have);
		free(s); /* ciphertext only */
	}
	pthread_mutex_unlock(&f->mu);
	if (e)
		return e;
	memset(buf + have, 0, len - have);
	*got = len;
	return 0;
}

int cache_file_write(struct cache_file *f, uint64_t off, const uint8_t *data,
		     size_t len)
{
	/* No size: the bytes past it are zeros already (truncate). */
	uint8_t p[CACHE_PAGE];
	int e = 0;
	size_t done = 0;
	pthread_mutex_lock(&f->mu);
	while (done < len && e == 0) {
		uint64_t at = off + done, page = at / CACHE_PAGE;
		size_t in = (size_t)(at % CACHE_PAGE);
		size_t n = CACHE_PAGE - in < len - done ? CACHE_PAGE - in
							: len - done;
		if (n < CACHE_PAGE)
			e = page_get(f, page, p);
		if (e == 0) {
			memcpy(p + in, data + done, n);
			e = page_put(f, page, p);
		}
		done += n;
	}
	pthread_mutex_unlock(&f->mu);
	sodium_memzero(p, sizeof(p));
	return e;
}

int cache_file_truncate(struct cache_file *f, uint64_t size,
			uint64_t new_size)
{
	if (new_size >= size)
		return 0; /* the bytes past size are zeros already */
	uint64_t keep = (new_size + CACHE_PAGE - 1) / CACHE_PAGE;
	int e = 0;
	pthread_mutex_lock(&f->mu);
	if (keep < f->pages) {
		if (ftruncate(f->fd, (off_t)(keep * SLOT)) != 0)
			e = -errno;
		else
			f->pages = keep;
	}
	size_t in = (size_t)(new_size % CACHE_PAGE);
	if (e == 0 && in && new_size / CACHE_PAGE < f->pages) {
		uint8_t p[CACHE_PAGE];
		e = page_get(f, new_size / CACHE_PAGE, p);
		if (e == 0) {
			memset(p + in, 0, CACHE_PAGE - in);
			e = page_put(f, new_size / CACHE_PAGE, p);
		}
		sodium_memzero(p, sizeof(p));
	}
	pthread_mutex_unlock(&f->mu);
	return e;
}
