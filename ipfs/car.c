/* ipfs/car.c — CARv1 writer (car.h). */
#include "ipfs/car.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipfs/cbor.h"
#include "ipfs/varint.h"
#include "util/io.h"

#define CAR_BUF_BYTES (1024 * 1024)

/* The header for any number of roots into out[0..cap); its length, or 0
 * if it does not fit (the bounds below make that impossible). */
static size_t header_into(const struct cid *roots, size_t nroots,
			  uint8_t *out, size_t cap)
{
	struct cbor_out o = CBOR_OUT_INIT(out, cap);
	static const uint8_t identity = 0x00;

	cbor_head(&o, CBOR_MAP, 2);
	cbor_text(&o, "roots");
	cbor_head(&o, CBOR_ARRAY, nroots);
	for (size_t i = 0; i < nroots; i++) {
		cbor_head(&o, CBOR_TAG, CBOR_TAG_CID);
		/* The multibase identity prefix 0x00, then the binary CID. */
		cbor_head(&o, CBOR_BYTES, (uint64_t)roots[i].len + 1);
		cbor_raw(&o, &identity, 1);
		cbor_raw(&o, roots[i].bytes, roots[i].len);
	}
	cbor_text(&o, "version");
	cbor_head(&o, CBOR_UINT, CAR_VERSION);
	return o.ok ? o.len : 0;
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
	return header_into(roots, nroots, out, CAR_HEADER_MAX);
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
	size_t hn = header_into(cids, n, hdr, hb);
	if (hn == 0) { /* cannot happen: header_bound(n) holds it */
		free(hdr);
		free(buf);
		return -EINVAL;
	}
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
	if (!w->error)
		w->error = write_all(w->fd, w->buf, w->used);
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
