/* tests/unit/test_car.c — the CARv1 writer (ipfs/car.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipfs/car.h"
#include "ipfs/varint.h"
#include "tests/tap.h"

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *buf = malloc(1 << 20);
	*len = buf ? fread(buf, 1, 1 << 20, f) : 0;
	fclose(f);
	return buf;
}

/* The header of one raw sha2-256 root, byte by byte from the CARv1 spec:
 * varint 58, then dag-cbor {"roots": [tag 42 bytes(0x00 ‖ cid)],
 * "version": 1}. */
static void test_header_bytes(void)
{
	struct cid root;
	cid_of_raw_block(&root, (const uint8_t *)"hello", 5);
	uint8_t want[64], got[CAR_HEADER_MAX];
	size_t n = 0;
	want[n++] = 0xa2;                     /* map(2) */
	want[n++] = 0x65;                     /* text(5) */
	memcpy(want + n, "roots", 5), n += 5;
	want[n++] = 0x81;                     /* array(1) */
	want[n++] = 0xd8, want[n++] = 0x2a;   /* tag(42) */
	want[n++] = 0x58, want[n++] = 0x25;   /* bytes(37) */
	want[n++] = 0x00;                     /* identity multibase */
	memcpy(want + n, root.bytes, 36), n += 36;
	want[n++] = 0x67;                     /* text(7) */
	memcpy(want + n, "version", 7), n += 7;
	want[n++] = 0x01;                     /* 1 */
	size_t len = car_header(&root, 1, got);
	is_int(len, 58, "header of one raw root is 58 bytes");
	is_int(n, 58, "the hand-built header too");
	is_mem(got, want, n, "header bytes match the spec layout");
	is_int(car_header(&root, 0, got), 0, "no roots: refused");
	is_int(car_header(&root, CAR_ROOTS_MAX + 1, got), 0,
	       "too many roots: refused");
}

/* Write a CAR of a few blocks and read it back section by section. */
/* Walk the sections from off: each must be cids[i] then the n blocks'
 * bytes (blocks[i], sizes[i]).  Returns how many matched in order; *end
 * is where the walk stopped. */
static int walk_sections(const uint8_t *buf, size_t len, size_t off,
			 const struct cid *cids, const uint8_t *const *blocks,
			 const size_t *sizes, int n, size_t *end)
{
	int i = 0;
	while (off < len && i < n) {
		uint64_t slen;
		size_t vn = varint_decode(buf + off, len - off, &slen);
		if (vn == 0 || off + vn + slen > len || slen < CID_RAW_BYTES)
			break;
		off += vn;
		struct cid c;
		if (cid_from_bytes(&c, buf + off, CID_RAW_BYTES) != 0 ||
		    !cid_equal(&c, &cids[i]) ||
		    slen - CID_RAW_BYTES != sizes[i] ||
		    memcmp(buf + off + CID_RAW_BYTES, blocks[i], sizes[i]))
			break;
		off += slen;
		i++;
	}
	*end = off;
	return i;
}

static void test_roundtrip(void)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/t.car", tap_tempdir());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ok(fd >= 0, "open output");
	enum { NB = 5 };
	static uint8_t blocks[NB][3000];
	size_t sizes[NB] = {1, 200, 3000, 128, 127};
	struct cid cids[NB];
	for (int i = 0; i < NB; i++) {
		tap_fill_random(blocks[i], sizes[i], (uint64_t)i + 1);
		cid_of_raw_block(&cids[i], blocks[i], sizes[i]);
	}
	struct car_writer *w;
	is_int(car_writer_new(fd, &cids[0], 1, &w), 0, "writer");
	for (int i = 0; i < NB; i++)
		is_int(car_put(w, &cids[i], blocks[i], sizes[i]), 0,
		       "put block %d", i);
	uint64_t bytes = 0;
	is_int(car_finish(w, &bytes), 0, "finish");
	close(fd);

	size_t len;
	uint8_t *buf = slurp(path, &len);
	ok(buf != NULL, "read back");
	if (!buf)
		return;
	is_int(len, bytes, "bytes written = file size");
	uint64_t hlen;
	size_t off = varint_decode(buf, len, &hlen);
	ok(off > 0 && off + hlen <= len, "header length varint");
	off += hlen;
	const uint8_t *data[NB];
	for (int k = 0; k < NB; k++)
		data[k] = blocks[k];
	int i = walk_sections(buf, len, off, cids, data, sizes, NB, &off);
	ok(i == NB, "every section: cid, then bytes that hash to it");
	is_int(i, NB, "all %d sections are there", NB);
	is_int(off, len, "nothing after the last section");
	free(buf);
}

/* A batch in memory: header roots = the blocks, in order, then the
 * blocks; within its bound.  The header is checked byte by byte against
 * one built here by hand (map{roots:[tag42 …], version:1}). */
static void test_batch(void)
{
	enum { NB = 30 };
	static uint8_t blocks[NB][700];
	const uint8_t *data[NB];
	size_t sizes[NB];
	struct cid cids[NB];
	for (int i = 0; i < NB; i++) {
		sizes[i] = 1 + (size_t)i * 23;
		tap_fill_random(blocks[i], sizes[i], (uint64_t)i + 50);
		cid_of_raw_block(&cids[i], blocks[i], sizes[i]);
		data[i] = blocks[i];
	}
	uint8_t *car;
	size_t len;
	is_int(car_batch(cids, data, sizes, 0, &car, &len), -EINVAL,
	       "batch: no blocks refused");
	is_int(car_batch(cids, data, sizes, NB, &car, &len), 0, "batch built");
	ok(len <= car_batch_bound(cids, sizes, NB), "batch within its bound");
	uint8_t want[4096];
	size_t w = 0;
	want[w++] = 0xa2; /* map(2) */
	want[w++] = 0x65;
	memcpy(want + w, "roots", 5);
	w += 5;
	want[w++] = 0x80 | 24; /* array(30) */
	want[w++] = NB;
	for (int i = 0; i < NB; i++) {
		want[w++] = 0xd8; /* tag(42) */
		want[w++] = 42;
		want[w++] = 0x58; /* bytes(37) */
		want[w++] = (uint8_t)(cids[i].len + 1);
		want[w++] = 0x00;
		memcpy(want + w, cids[i].bytes, cids[i].len);
		w += cids[i].len;
	}
	want[w++] = 0x67;
	memcpy(want + w, "version", 7);
	w += 7;
	want[w++] = 0x01;
	uint64_t hlen;
	size_t off = varint_decode(car, len, &hlen);
	ok(off > 0 && hlen == w && !memcmp(car + off, want, w),
	   "batch header: every block a root, in order");
	off += hlen;
	int i = walk_sections(car, len, off, cids, data, sizes, NB, &off);
	ok(i == NB && off == len, "batch sections: the blocks, in order");
	free(car);
}

static void test_write_error(void)
{
	struct cid c;
	cid_of_raw_block(&c, (const uint8_t *)"x", 1);
	int fds[2];
	ok(pipe(fds) == 0, "pipe");
	close(fds[0]); /* writes now fail with EPIPE */
	struct car_writer *w;
	is_int(car_writer_new(fds[1], &c, 1, &w), 0, "writer over a pipe");
	car_put(w, &c, (const uint8_t *)"x", 1);
	ok(car_finish(w, NULL) < 0, "a failed write is reported at finish");
	close(fds[1]);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_header_bytes();
	test_roundtrip();
	test_batch();
	test_write_error();
	return tap_done();
}
