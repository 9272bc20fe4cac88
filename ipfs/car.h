/*
 * ipfs/car.h — CARv1 writer: blocks in the file format `ipfs dag import`
 * reads (https://ipld.io/specs/transport/car/carv1/).
 *
 *   varint(header length) ‖ header
 *   then, per block: varint(cid length + block length) ‖ cid ‖ block
 * header = dag-cbor {"roots": [CID…], "version": 1}: a map of two entries,
 * keys in dag-cbor order (shorter first: "roots" before "version"), each
 * root a CID as tag 42 over bytes 0x00 ‖ binary CID.
 *
 * The writer takes a caller's fd and writes through a small buffer;
 * car_finish flushes (it does not close or sync the fd).  A writer that
 * failed once fails from then on with the same error.  Nothing prints.
 */
#ifndef IPMD_IPFS_CAR_H
#define IPMD_IPFS_CAR_H

#include <stddef.h>
#include <stdint.h>

#include "ipfs/cid.h"

#define CAR_VERSION 1
#define CAR_ROOTS_MAX 16
/* Largest header car_header builds (CAR_ROOTS_MAX roots of
 * CID_MAX_BYTES), without its length varint. */
#define CAR_HEADER_MAX (32 + CAR_ROOTS_MAX * (CID_MAX_BYTES + 5))

/* The dag-cbor header for roots into out (CAR_HEADER_MAX); returns its
 * length, or 0 for nroots 0 / > CAR_ROOTS_MAX. */
size_t car_header(const struct cid *roots, size_t nroots, uint8_t *out);

/*
 * A whole CARv1 in memory whose roots are all its blocks, in order — the
 * batch `dag import` (pin-roots) stores and pins in one request.  The
 * caller vouches that data[i] hashes to cids[i].  car_batch_bound is an
 * upper bound of its size; car_batch builds it into *out (malloc'd, the
 * caller frees) and sets *out_len.  0, -EINVAL (n is 0 or over
 * CAR_BATCH_MAX) or -ENOMEM.
 */
#define CAR_BATCH_MAX 4096
size_t car_batch_bound(const struct cid *cids, const size_t *lens, size_t n);
int car_batch(const struct cid *cids, const uint8_t *const *data,
	      const size_t *lens, size_t n, uint8_t **out, size_t *out_len);

struct car_writer;
/* Write the header.  0 or -errno (-ENOMEM, -EINVAL, write's). */
int car_writer_new(int fd, const struct cid *roots, size_t nroots,
		   struct car_writer **out);
/* One section.  The caller vouches that data hashes to cid. */
int car_put(struct car_writer *w, const struct cid *cid, const uint8_t *data,
	    size_t len);
/* Flush and free; returns the first error seen, or 0.  *bytes (may be
 * NULL): everything written, header included. */
int car_finish(struct car_writer *w, uint64_t *bytes);

#endif
