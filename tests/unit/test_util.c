/*
 * tests/unit/test_util.c — the shared helpers: util/io, util/dir,
 * util/clock, util/endian, util/spawn, util/wipe and ipfs/cbor (the byte
 * forms the formats rely on: big-endian fields and shortest CBOR heads).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipfs/cbor.h"
#include "tests/memscan.h"
#include "tests/tap.h"
#include "util/clock.h"
#include "util/dir.h"
#include "util/endian.h"
#include "util/io.h"
#include "util/spawn.h"
#include "util/array.h"
#include "util/wipe.h"

static void test_io(void)
{
	const char *dir = tap_tempdir();
	char path[PATH_MAX];
	uint8_t data[100000], back[sizeof(data) + 10];
	size_t got = 0;

	snprintf(path, sizeof(path), "%s/f", dir);
	tap_fill_random(data, sizeof(data), 7);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok(fd >= 0, "a file to write");
	is_int(write_all(fd, data, sizeof(data)), 0, "write_all");
	is_int(pwrite_all(fd, "XY", 2, 10), 0, "pwrite_all at an offset");
	data[10] = 'X';
	data[11] = 'Y';
	is_int(lseek(fd, 0, SEEK_SET), 0, "back to the start");
	is_int(read_full(fd, back, sizeof(back), &got), 0, "read_full");
	is_int(got, sizeof(data), "reads up to end of file, no further");
	is_mem(back, data, sizeof(data), "the bytes written");
	is_int(pread_all(fd, back, 5, 99995), 0, "pread_all to the end");
	is_mem(back, data + 99995, 5, "at the offset");
	is_int(pread_all(fd, back, 6, 99995), -EIO,
	       "pread_all past the end: -EIO");
	is_int(fsync_fd(fd), 0, "fsync_fd");
	is_int(fsync_parent(path), 0, "fsync_parent of a file");
	close(fd);
	is_int(write_all(-1, data, 1), -EBADF, "write_all: -errno");

	char twice[PATH_MAX];
	snprintf(twice, sizeof(twice), "%s//f", dir);
	is_int(fsync_parent(twice), 0, "fsync_parent with a doubled slash");
	is_int(fsync_parent("/"), 0, "fsync_parent of /");
	is_int(fsync_parent("no-such-dir/x"), -ENOENT,
	       "fsync_parent of a missing directory: -ENOENT");

	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok(dfd >= 0, "the directory open");
	is_int(fsync_dir_at(dfd, "."), 0, "fsync_dir_at");
	is_int(fsync_dir_at(dfd, "f"), -ENOTDIR, "fsync_dir_at of a file");

	DIR *d = NULL;
	is_int(dir_open_at(dfd, ".", 0, &d), 0, "dir_open_at");
	int names = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		names += !strcmp(de->d_name, "f");
	ok(names == 1, "lists the file");
	if (d)
		closedir(d);
	is_int(dir_open_at(dfd, "f", 0, &d), -ENOTDIR,
	       "dir_open_at of a file: -ENOTDIR");
	close(dfd);
}

static void test_endian(void)
{
	uint8_t b[8];
	put_be16(b, 0x0102);
	is_mem(b, "\x01\x02", 2, "put_be16");
	put_be32(b, 0x01020304);
	is_mem(b, "\x01\x02\x03\x04", 4, "put_be32");
	put_be64(b, 0x0102030405060708ull);
	is_mem(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8, "put_be64");
	ok(get_be16(b) == 0x0102 && get_be32(b) == 0x01020304 &&
		   get_be64(b) == 0x0102030405060708ull,
	   "get_be16/32/64 read them back");
	uint8_t odd[9] = {0};
	put_be64(odd + 1, 0xfedcba9876543210ull);
	ok(get_be64(odd + 1) == 0xfedcba9876543210ull,
	   "no alignment needed");
}

static void test_clock(void)
{
	uint64_t m0 = now_ms();
	sleep_ms(20);
	ok(now_ms() - m0 >= 20, "sleep_ms sleeps, now_ms measures it");
	ok(now_s() > 0, "now_s");
	struct timespec w = wall_now();
	uint64_t wm = wall_ms();
	ok(wm / 1000 - (uint64_t)w.tv_sec <= 1, "wall_ms and wall_now agree");
	for (uint64_t ms = 0; ms < 2000; ms += 333) {
		struct timespec d = deadline_ms(ms);
		if (d.tv_nsec < 0 || d.tv_nsec >= 1000000000L) {
			ok(0, "deadline_ms(%llu) normalised",
			   (unsigned long long)ms);
			return;
		}
	}
	struct timespec d = deadline_ms(1500);
	long long later = ((long long)d.tv_sec - w.tv_sec) * 1000 +
			  (d.tv_nsec - w.tv_nsec) / 1000000;
	ok(later >= 1500 && later < 2500, "deadline_ms(1500) is 1.5 s on");
}

/* One head into a fresh buffer; its bytes and length. */
static size_t head(enum cbor_major m, uint64_t v, uint8_t out[16])
{
	struct cbor_out o = CBOR_OUT_INIT(out, 16);
	cbor_head(&o, m, v);
	return o.ok ? o.len : 0;
}

static void test_cbor(void)
{
	uint8_t b[16];
	is_int(head(CBOR_UINT, 23, b), 1, "23: one byte");
	is_mem(b, "\x17", 1, "… 0x17");
	is_int(head(CBOR_UINT, 24, b), 2, "24: two bytes");
	is_mem(b, "\x18\x18", 2, "… 0x18 0x18");
	is_int(head(CBOR_TEXT, 255, b), 2, "255");
	is_mem(b, "\x78\xff", 2, "… text head 0x78 0xff");
	is_int(head(CBOR_BYTES, 256, b), 3, "256");
	is_mem(b, "\x59\x01\x00", 3, "… bytes head 0x59 0x0100");
	is_int(head(CBOR_ARRAY, 65535, b), 3, "65535");
	is_int(head(CBOR_MAP, 65536, b), 5, "65536");
	is_mem(b, "\xba\x00\x01\x00\x00", 5, "… map head, 4 bytes");
	is_int(head(CBOR_UINT, 1ull << 32, b), 9, "2^32: 8 bytes");
	is_mem(b, "\x1b\x00\x00\x00\x01\x00\x00\x00\x00", 9, "… 0x1b");
	is_int(head(CBOR_TAG, CBOR_TAG_CID, b), 2, "tag 42");
	is_mem(b, "\xd8\x2a", 2, "… 0xd8 0x2a");

	uint8_t small[6];
	struct cbor_out o = CBOR_OUT_INIT(small, sizeof(small));
	cbor_text(&o, "roots");
	ok(o.ok && o.len == 6 && !memcmp(small, "\x65roots", 6),
	   "a text string that just fits");
	cbor_bytes(&o, "", 0);
	ok(!o.ok && o.len == 6, "one byte more does not: ok turns false");
	cbor_raw(&o, "", 0);
	ok(!o.ok, "and stays false");
}

/* util/spawn.h: the captured stream, the exit status, a missing program
 * and a killed child, each said in words. */
static void test_spawn(void)
{
	struct spawn sp;
	char *out_argv[] = {"sh", "-c", "echo to-out; exit 3",
			    NULL};
	char buf[64] = "", why[64];
	is_int(spawn_start(out_argv, STDOUT_FILENO, &sp), 0,
	       "spawn_start: sh found in PATH");
	size_t n = 0;
	(void)read_full(sp.fd, buf, sizeof(buf) - 1, &n);
	buf[n] = '\0';
	is_str(buf, "to-out\n", "stdout captured");
	int st = spawn_finish(&sp);
	is_int(st, 3, "the exit status");
	ok(sp.pid == -1 && sp.fd == -1, "finished: empty");
	spawn_strerror(st, why, sizeof(why));
	is_str(why, "exited with status 3", "said in words");

	char *err_argv[] = {"sh", "-c", "echo oops >&2", NULL};
	is_int(spawn_start(err_argv, STDERR_FILENO, &sp), 0, "stderr captured");
	(void)read_full(sp.fd, buf, sizeof(buf) - 1, &n);
	buf[n] = '\0';
	is_str(buf, "oops\n", "…its text");
	is_int(spawn_finish(&sp), 0, "exit 0");

	char *none[] = {"ipmd-no-such-program-here", NULL};
	int e = spawn_start(none, STDOUT_FILENO, &sp);
	is_int(e, -ENOENT, "a missing program: -ENOENT");
	spawn_strerror(e, why, sizeof(why));
	is_str(why, "not found", "…said as not found");

	char *killed[] = {"sh", "-c", "kill -KILL $$", NULL};
	is_int(spawn_start(killed, STDOUT_FILENO, &sp), 0, "a child killed");
	st = spawn_finish(&sp);
	is_int(st, SPAWN_SIGNALED + SIGKILL, "SPAWN_SIGNALED + the signal");
	spawn_strerror(st, why, sizeof(why));
	is_str(why, "killed by SIGKILL", "…said with its name");

	/* A child writing more than we read ends on EPIPE, never blocks. */
	char *loud[] = {"sh", "-c", "yes | head -c 10000000", NULL};
	is_int(spawn_start(loud, STDOUT_FILENO, &sp), 0, "a loud child");
	st = spawn_finish(&sp);
	ok(st != 0, "closing the pipe ends it (status %d)", st);
}

/* wipe_free: the bytes are nowhere in memory once freed (tests/memscan.h;
 * malloc's free list overwrites a freed chunk's first 16 bytes, so the
 * needle is the rest), and NULL is fine with any length. */
static void test_wipe(void)
{
	enum { N = 4096, SKIP = 64 };
	uint8_t *p = malloc(N), masked[N - SKIP];
	struct memscan_hit hits[4];

	if (!ok(p != NULL, "a buffer to wipe"))
		return;
	tap_fill_random(p, N, 11);
	memscan_mask(masked, p + SKIP, sizeof(masked));
	ok(memscan(masked, sizeof(masked), hits, 4) >= 1,
	   "the bytes are in memory while allocated");
	wipe_free(p, N);
	is_int(memscan(masked, sizeof(masked), hits, 4), 0,
	       "wipe_free: nowhere in memory after");
	wipe_free(NULL, 0);
	wipe_free(NULL, N);
	ok(1, "wipe_free(NULL, any length) is fine");
}

/* array_grow_wiped: an array of secrets that grows leaves its bytes only
 * in the new block (realloc's move would leave the old block's in the
 * freed heap; a block allocated right after it makes realloc move), and
 * keeps them; array_grow still grows in place when it can. */
static void test_grow_wiped(void)
{
	enum { N = 4096, SKIP = 64 };
	size_t cap = N;
	uint8_t *v = malloc(N), masked[N - SKIP];
	void *after = malloc(64);
	struct memscan_hit hits[4];

	if (!ok(v && after, "an array and a block after it"))
		return;
	tap_fill_random(v, N, 12);
	memscan_mask(masked, v + SKIP, sizeof(masked));
	uint8_t *g = array_grow_wiped(v, N, &cap, 1, 16);
	if (!ok(g != NULL, "grown"))
		return;
	is_int((int)cap, 2 * N, "to twice its capacity");
	int n = memscan(masked, sizeof(masked), hits, 4);
	is_int(n, 1, "its bytes are in memory once (%d)", n);
	ok(n >= 1 && hits[0].addr == (uintptr_t)(g + SKIP),
	   "…in the grown array");
	ok(array_grow_wiped(g, 5, &cap, 1, 16) == g, "room left: unmoved");
	wipe_free(g, cap);
	free(after);
	cap = 0;
	g = array_grow_wiped(NULL, 0, &cap, 8, 16);
	ok(g && cap == 16, "from nothing: first elements");
	wipe_free(g, cap * 8);
	ok(!array_grow_wiped(NULL, 16, &cap, SIZE_MAX / 8, 16) && cap == 16,
	   "a size past size_t: NULL, the capacity unchanged");
}

int main(void)
{
	test_io();
	test_endian();
	test_clock();
	test_cbor();
	test_spawn();
	test_wipe();
	test_grow_wiped();
	return tap_done();
}
