/*
 * tests/unit/harness.h — the set-up the unit tests share: paths in the
 * run's temp directory, keys, local block stores, store directories,
 * trees, files, a seeded random stream.  Linked into every unit test
 * (the Makefile's TEST_LIB), beside tests/tap.h.
 *
 * Set-up is not under test: where it fails, the test could not mean
 * anything, so these functions bail out of the whole run (TAP "Bail out!",
 * exit 255) instead of returning an error — except where the header says
 * a call returns one, because some test checks that failure itself.
 * Nothing here asserts (no ok/is_*): every check stays in the test.
 * Not thread safe (harness_path's buffers are shared): call from the main
 * thread.
 */
#ifndef IPMD_TESTS_UNIT_HARNESS_H
#define IPMD_TESTS_UNIT_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fs/model/object.h"

struct blockstore;
struct fs_tree;
struct mailbox_keys;

/* Print "Bail out! <message>" and exit 255. */
_Noreturn void harness_bail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* calloc(1, n) (a 0 asks for 1 byte, so never NULL), or bail. */
void *harness_alloc(size_t n);

/* tap_tempdir()/name (bail if longer than PATH_MAX).  The string lives in
 * one of HARNESS_PATHS buffers reused in turn: a caller may hold that many
 * at once. */
#define HARNESS_PATHS 8
const char *harness_path(const char *name);

/* seal_init(), or bail: every test that seals calls it first. */
void harness_seal_init(void);

/* A key that is a pattern, not random: byte i is i * mul + add.  Each test
 * file picks its own, so two files never share a key by accident. */
void harness_pattern_key(uint8_t *key, size_t len, unsigned mul,
			 unsigned add);

/* Mailbox keys from a master of tap_fill_random(seed) bytes, or bail. */
void harness_keys(struct mailbox_keys *k, uint64_t seed);

/* A local block store (ipfs/bs_local.h) in harness_path(name), or bail.
 * The caller closes it. */
struct blockstore *harness_local_store(const char *name);

/* How many blocks bs holds (bs_usage), or bail. */
uint64_t harness_block_count(struct blockstore *bs);

/* An object store (fs/model/object.h) over bs with these chunks, fanout
 * and convergence scope; the rest zero (padded, no cache, no threads).
 * convergence must outlive the store. */
struct obj_store harness_obj_store(struct blockstore *bs,
				   const uint8_t *convergence,
				   uint32_t chunk_size, uint32_t fanout,
				   enum obj_scope scope);

/* A test that wants an object store of its own, in harness_path(dir). */
struct harness_store_test {
	const char *dir;
	void (*run)(struct obj_store st); /* a copy: the test may change it */
};

/* Each of tests[0 .. n) in turn, on a new local store in its dir that
 * make turns into an object store; the block store is closed after. */
void harness_run_with_stores(const struct harness_store_test *tests, size_t n,
			     struct obj_store (*make)(struct blockstore *bs));

/* The object obj_writer makes of data[0 .. n), written in one piece:
 * what a seal must converge to.  0, or the writer's error (the writer is
 * aborted then). */
int harness_write_object(struct obj_store *st, const uint8_t *data, size_t n,
			 struct obj_ref *ref);

/* An initialised store directory at root (its folders, a key file without
 * passphrase, a local block store), as `ipmaildir init` leaves it.  0, or
 * -1 if a step failed. */
int harness_make_store(const char *root);

/* An empty tree (fs/model/tree.h) whose root has this owner and times, or
 * bail.  The caller frees it (tree_free).  In harness_tree.c: tree.h's
 * struct dirent is not <dirent.h>'s, which harness.c needs. */
struct fs_tree *harness_tree(uint32_t uid, uint32_t gid,
			     const struct timespec *now);

/* Entries of dir other than "." and ".."; -1 if it cannot be opened. */
int harness_dir_entries(const char *dir);

/* path created or truncated, holding exactly p[0 .. len): 0, or -1 when
 * that failed (a test that expects it may, on a full disk). */
int harness_try_write_file(const char *path, const void *p, size_t len);

/* The same, and bail if it failed. */
void harness_write_file(const char *path, const void *p, size_t len);

/* The whole of path in a malloc'ed buffer (the caller frees it), its
 * length in *len; NULL (and *len 0) if it cannot be read. */
uint8_t *harness_read_file(const char *path, size_t *len);

/* A seeded xorshift64 stream; the seed must not be 0. */
struct harness_rng {
	uint64_t s;
};
uint64_t harness_rnd(struct harness_rng *g);

/* A count of differences that tells only the first few: for comparisons
 * that could disagree in thousands of places.  Start with
 * {.max = N, .label = "what"}; each harness_differ counts one, and the
 * first max of them print "# label: message". */
struct harness_diffs {
	unsigned long n, max;
	const char *label;
};
void harness_differ(struct harness_diffs *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
