/* ipfs/car.c — CARv1 writer (car.h). */
#include "ipfs/car.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipfs/varint.h"

#define CAR_BUF_BYTES (1024 * 1024)

/* CBOR major types (RFC 8949) as their initial-byte high bits. */
#define CBOR_BYTES 0x40
#define CBOR_TEXT 0x60
#define CBOR_ARRAY 0x80
#define CBOR_MAP 0xa0
#define CBOR_TAG 0xc0
#define CBOR_TAG_CID 42

/* A CBOR head (major type + argument) into out; returns its length. */
static size_t cbor_head(uint8_t major, uint64_t v, uint8_t *out)
{
	if (v < 24) {
		out[0] = (uint8_t)(major | v);
		return 1;
	}
	if (v <= 0xff) {
		out[0] = major | 24;
		out[1] = (uint8_t)v;
		return 2;
	}
	out[0] = major | 25; /* CIDs and counts here stay below 2^16 */
	out[1] = (uint8_t)(v >> 8);
	out[2] = (uint8_t)v;
	return 3;
}

static size_t cbor_text(const char *s, uint8_t *out)
{
	size_t n = strlen(s);
	size_t h = cbor_head(CBOR_TEXT, n, out);
	memcpy(out + h, s, n);
	return h + n;
}

/* The header for any number of roots (out must hold
 * car_header_bound(nroots)). */
static size_t header_into(const struct cid *roots, size_t nroots,
			  uint8_t *out)
{
	size_t n = cbor_head(CBOR_MAP, 2, out);
	n += cbor_text("roots", out + n);
	n += cbor_head(CBOR_ARRAY, nroots, out + n);
	for (size_t i = 0; i < nroots; i++) {
		n += cbor_head(CBOR_TAG, CBOR_TAG_CID, out + n);
		/* The multibase identity prefix 0x00, then the binary CID. */
		n += cbor_head(CBOR_BYTES, (uint64_t)roots[i].len + 1, out + n);
		out[n++] = 0x00;
		memcpy(out + n, roots[i].bytes, roots[i].len);
		n += roots[i].len;
	}
	n += cbor_text("version", out + n);
	n += cbor_head(0x00, CAR_VERSION, out + n); /* unsigned integer */
	return n;
}

/* Map and key heads, "roots", "version", the array head, the version;
 * per root a tag, a bytes head, the 0x00 prefix and the CID. */
static size_t header_bound(size_t nroots)
{
	return 32 + nroots * (CID_MAX_BYTES + 6);
}

size_t car_header(const struct cid *roots, size_t nroots, uint8_t *out)
{
	if (nroots == 0 || nroots > CAR_ROOTS_MAX)
		return 0;
	return header_into(roots, nroots, out);
}

size_t car_batch_bound(const struct cid *cids, const size_t *lens, size_t n)
{
	size_t total = VARINT_MAX_BYTES + header_bound(n);
	for (size_t i = 0; i < n; i++)
		total += VARINT_MAX_BYTES + cids[i].len + lens[i];
	return total;
}

int car_batch(const struct cid *cids, const uint8_t *const *data,
	      const size_t *lens, size_t n, uint8_t **out, size_t *out_len)
{
	if (n == 0 || n > CAR_BATCH_MAX)
		return -EINVAL;
	size_t hb = header_bound(n);
	uint8_t *hdr = malloc(hb);
	uint8_t *buf = malloc(car_batch_bound(cids, lens, n));
	if (!hdr || !buf) {
		free(hdr);
		free(buf);
		return -ENOMEM;
	}
	size_t hn = header_into(cids, n, hdr);
	size_t used = varint_encode(hn, buf);
	memcpy(buf + used, hdr, hn);
	used += hn;
	free(hdr);
	for (size_t i = 0; i < n; i++) {
		used += varint_encode((uint64_t)cids[i].len + lens[i],
				      buf + used);
		memcpy(buf + used, cids[i].bytes, cids[i].len);
		used += cids[i].len;
		memcpy(buf + used, data[i], lens[i]);
		used += lens[i];
	}
	*out = buf;
	*out_len = used;
	return 0;
}

struct car_writer {
	int fd;
	int error;
	uint64_t bytes;
	size_t used;
	uint8_t buf[CAR_BUF_BYTES];
};

static int flush(struct car_writer *w)
{
	size_t off = 0;
	while (!w->error && off < w->used) {
		ssize_t n = write(w->fd, w->buf + off, w->used - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			w->error = -errno;
		else
			off += (size_t)n;
	}
	w->used = 0;
	return w->error;
}

static int emit(struct car_writer *w, const uint8_t *p, size_t n)
{
	while (!w->error && n > 0) {
		if (w->used == sizeof(w->buf) && flush(w))
			break;
		size_t take = sizeof(w->buf) - w->used;
		if (take > n)
			take = n;
		memcpy(w->buf + w->used, p, take);
		w->used += take;
		w->bytes += take;
		p += take;
		n -= take;
	}
	return w->error;
}

int car_writer_new(int fd, const struct cid *roots, size_t nroots,
		   struct car_writer **out)
{
	uint8_t hdr[CAR_HEADER_MAX], v[VARINT_MAX_BYTES];
	size_t n = car_header(roots, nroots, hdr);
	if (n == 0)
		return -EINVAL;
	struct car_writer *w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->error = 0;
	w->bytes = 0;
	w->used = 0;
	size_t vn = varint_encode(n, v);
	emit(w, v, vn);
	emit(w, hdr, n);
	*out = w;
	return 0;
}

int car_put(struct car_writer *w, const struct cid *cid, const uint8_t *data,
	    size_t len)
{
	uint8_t v[VARINT_MAX_BYTES];
	size_t vn = varint_encode((uint64_t)cid->len + len, v);
	if (vn == 0)
		return w->error = -EFBIG;
	emit(w, v, vn);
	emit(w, cid->bytes, cid->len);
	return emit(w, data, len);
}

int car_finish(struct car_writer *w, uint64_t *bytes)
{
	int e = flush(w);
	if (bytes)
		*bytes = w->bytes;
	free(w);
	return e;
}
