/*
 * ipfs/bs_fault.h — a wrapper that makes any block store fail on purpose.
 *
 * Modelled on Dovecot's fs-randomfail: each call of a chosen kind fails with
 * a chosen probability, or is delayed, before (or instead of) reaching the
 * parent.  A failed put stores nothing; a failed get returns no bytes.  The
 * random source is seeded, so a run can be repeated.  Counters tell a test
 * how many faults it actually injected.
 */
#ifndef IPMD_IPFS_BS_FAULT_H
#define IPMD_IPFS_BS_FAULT_H

#include <errno.h>
#include <stdint.h>

#include "ipfs/blockstore.h"
#include "util/attr.h"

enum fault_op { FAULT_PUT, FAULT_GET, FAULT_HAS, FAULT_SYNC, FAULT_REMOVE,
		FAULT_OP_COUNT };

struct fault_config {
	double fail_rate[FAULT_OP_COUNT];  /* 0.0 … 1.0 */
	double delay_rate[FAULT_OP_COUNT]; /* 0.0 … 1.0 */
	unsigned delay_ms;                 /* how long a delayed call sleeps */
	int error;                         /* negative errno to fail with (-EIO) */
	uint64_t seed;
};

struct fault_counts {
	uint64_t calls[FAULT_OP_COUNT];
	uint64_t failed[FAULT_OP_COUNT];
	uint64_t delayed[FAULT_OP_COUNT];
};

/* What bs_fault_parse puts in for an absent key (rates default to 0). */
#define FAULT_DEFAULT_DELAY_MS 1000
#define FAULT_DEFAULT_ERROR (-EIO)
#define FAULT_DEFAULT_SEED 1
#define FAULT_DELAY_MS_MAX (10 * 60 * 1000)

/*
 * Parse "put=0.05,get=0.05,sync=0.01,delay=0.01,delay_ms=2000,seed=7,
 * error=EIO" (every key optional; "fail=R" sets all fail rates, "delay=R"
 * all delay rates).  0 or -EINVAL; cfg holds defaults for absent keys.
 * Keys: put get has sync remove fail delay, and delay_put … delay_remove
 * (one kind's delay rate) (rates, decimal, 0 … 1),
 * delay_ms (≤ FAULT_DELAY_MS_MAX), seed (decimal), error (ENOENT EBADMSG
 * EIO ENOSPC EDQUOT ETIMEDOUT EAGAIN ECONNREFUSED EFBIG).  Later keys win.
 * On -EINVAL cfg is left unchanged.
 */
IPMD_MUST_CHECK
int bs_fault_parse(const char *spec, struct fault_config *cfg);

/* Wrap parent (taking ownership of it). 0 and *out, or -ENOMEM (parent
 * then stays the caller's).  A cfg->error that is not negative means -EIO.
 * pin, unpin, iterate and usage pass through unfailed. */
int bs_fault_wrap(struct blockstore *parent, const struct fault_config *cfg,
		  struct blockstore **out);

/* A snapshot of the counters of the fault wrapper in the stack bs (bs
 * itself or a layer below); all zero if it has none. */
void bs_fault_counts(struct blockstore *bs, struct fault_counts *out);

#endif
