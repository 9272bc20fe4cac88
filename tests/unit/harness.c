/* tests/unit/harness.c — see harness.h. */
#include "tests/unit/harness.h"

#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keys.h"
#include "crypto/seal.h"
#include "fs/model/object.h"
#include "fs/store/store.h"
#include "ipfs/bs_local.h"
#include "tests/tap.h"

void harness_bail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("Bail out! ", stdout);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(255);
}

void *harness_alloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		harness_bail("out of memory (%zu bytes)", n);
	return p;
}

const char *harness_path(const char *name)
{
	static char bufs[HARNESS_PATHS][PATH_MAX];
	static unsigned next;
	char *p = bufs[next++ % HARNESS_PATHS];
	if (snprintf(p, PATH_MAX, "%s/%s", tap_tempdir(), name) >= PATH_MAX)
		harness_bail("path too long: %s", name);
	return p;
}

void harness_seal_init(void)
{
	if (seal_init() != 0)
		harness_bail("seal_init");
}

void harness_pattern_key(uint8_t *key, size_t len, unsigned mul, unsigned add)
{
	for (size_t i = 0; i < len; i++)
		key[i] = (uint8_t)(i * mul + add);
}

void harness_keys(struct mailbox_keys *k, uint64_t seed)
{
	uint8_t master[IPMD_MASTER_BYTES];
	tap_fill_random(master, sizeof(master), seed);
	if (keys_from_master(k, master) != 0)
		harness_bail("keys_from_master");
}

struct blockstore *harness_local_store(const char *name)
{
	struct blockstore *bs = NULL;
	const char *dir = harness_path(name);
	if (bs_local_open(dir, &bs) != 0)
		harness_bail("bs_local_open %s", dir);
	return bs;
}

uint64_t harness_block_count(struct blockstore *bs)
{
	struct bs_usage u;
	if (bs_usage(bs, &u) != 0)
		harness_bail("bs_usage");
	return u.blocks;
}

struct obj_store harness_obj_store(struct blockstore *bs,
				   const uint8_t *convergence,
				   uint32_t chunk_size, uint32_t fanout,
				   enum obj_scope scope)
{
	return (struct obj_store){.bs = bs,
				  .convergence = convergence,
				  .chunk_size = chunk_size,
				  .fanout = fanout,
				  .scope = scope};
}

void harness_run_with_stores(const struct harness_store_test *tests, size_t n,
			     struct obj_store (*make)(struct blockstore *bs))
{
	for (size_t i = 0; i < n; i++) {
		struct obj_store st = make(harness_local_store(tests[i].dir));
		tests[i].run(st);
		bs_close(st.bs);
	}
}

int harness_write_object(struct obj_store *st, const uint8_t *data, size_t n,
			 struct obj_ref *ref)
{
	struct obj_writer *w;
	int r = obj_writer_new(st, &w);
	if (r == 0 && (r = obj_writer_write(w, data, n)) != 0)
		obj_writer_abort(w);
	else if (r == 0)
		r = obj_writer_finish(w, ref);
	return r;
}

int harness_make_store(const char *root)
{
	struct store_paths paths;
	struct mailbox_keys keys = {0};
	struct blockstore *bs;
	int sys_errno = 0;
	if (store_paths_init(&paths, root) || store_make_dirs(paths.root) ||
	    keyfile_create(paths.key, NULL, 0, &keys, &sys_errno))
		return -1;
	keys_free(&keys);
	if (bs_local_open(paths.root, &bs))
		return -1;
	bs_close(bs);
	return 0;
}

int harness_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

int harness_try_write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t n = fwrite(p, 1, len, f);
	return fclose(f) == 0 && n == len ? 0 : -1;
}

void harness_write_file(const char *path, const void *p, size_t len)
{
	if (harness_try_write_file(path, p, len) != 0)
		harness_bail("write %s", path);
}

uint8_t *harness_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n = -1;
	*len = 0;
	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0) {
		rewind(f);
		buf = harness_alloc((size_t)n);
		if (fread(buf, 1, (size_t)n, f) == (size_t)n) {
			*len = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	if (f)
		fclose(f);
	return buf;
}

uint64_t harness_rnd(struct harness_rng *g)
{
	uint64_t x = g->s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return g->s = x;
}

void harness_differ(struct harness_diffs *d, const char *fmt, ...)
{
	if (d->n++ >= d->max)
		return;
	va_list ap;
	va_start(ap, fmt);
	printf("# %s: ", d->label);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}
