/* ipfs/bs_fault.c — fault injection around a block store; see bs_fault.h. */
#include "ipfs/bs_fault.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"

/* 53 random bits make a double in [0, 1). */
#define UNIT_SHIFT 11
#define UNIT_SCALE 0x1.0p-53
/* Longest "key=value" item bs_fault_parse looks at. */
#define SPEC_ITEM_MAX 64
/* Enough items for every key once, and then some; a bound, not a rule. */
#define SPEC_ITEMS_MAX 64

struct bs_fault {
	struct blockstore base;
	struct fault_config cfg;
	pthread_mutex_t lock; /* rng, counts */
	uint64_t rng;
	struct fault_counts counts;
};

static const struct blockstore_ops fault_ops;

/* Our layer of the stack bs (the wrapper itself, or a stack over it). */
static struct bs_fault *to_fault(struct blockstore *bs)
{
	return (struct bs_fault *)bs_find(bs, &fault_ops);
}

/* splitmix64: tiny, seedable with any value, good enough to pick faults. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double next_unit(uint64_t *state)
{
	return (double)(next_random(state) >> UNIT_SHIFT) * UNIT_SCALE;
}

/*
 * Decides the fate of one call: 0 to forward it, or the error to fail with.
 * Both draws happen on every call, so the sequence of faults depends only on
 * the seed and the order of calls, not on the rates of other kinds.
 */
static int inject(struct bs_fault *f, enum fault_op op)
{
	pthread_mutex_lock(&f->lock);
	double d = next_unit(&f->rng), e = next_unit(&f->rng);
	bool delay = d < f->cfg.delay_rate[op];
	bool fail = e < f->cfg.fail_rate[op];
	f->counts.calls[op]++;
	f->counts.delayed[op] += delay;
	f->counts.failed[op] += fail;
	pthread_mutex_unlock(&f->lock);
	if (delay)
		sleep_ms(f->cfg.delay_ms);
	return fail ? f->cfg.error : 0;
}

static int fault_put(struct blockstore *bs, const uint8_t *data, size_t len,
		     unsigned flags, struct cid *cid_out)
{
	int r = inject(to_fault(bs), FAULT_PUT);
	return r ? r : bs_put(bs_parent(bs), data, len, flags, cid_out);
}

static int fault_get(struct blockstore *bs, const struct cid *cid,
		     uint8_t *buf, size_t cap, size_t *len)
{
	int r = inject(to_fault(bs), FAULT_GET);
	if (r) {
		if (len)
			*len = 0;
		return r;
	}
	return bs_get(bs_parent(bs), cid, buf, cap, len);
}

static int fault_has(struct blockstore *bs, const struct cid *cid)
{
	int r = inject(to_fault(bs), FAULT_HAS);
	return r ? r : bs_has(bs_parent(bs), cid);
}

static int fault_remove(struct blockstore *bs, const struct cid *cid)
{
	int r = inject(to_fault(bs), FAULT_REMOVE);
	return r ? r : bs_remove(bs_parent(bs), cid);
}

static int fault_sync(struct blockstore *bs)
{
	int r = inject(to_fault(bs), FAULT_SYNC);
	return r ? r : bs_sync(bs_parent(bs));
}

static void fault_close(struct blockstore *bs)
{
	struct bs_fault *f = to_fault(bs);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* pin, unpin, iterate, usage and put_many (one put per block, through
 * fault_put) are never failed: they pass through. */
static const struct blockstore_ops fault_ops = {
	.version = BLOCKSTORE_OPS_VERSION,
	.name = "fault",
	.put = fault_put,
	.get = fault_get,
	.has = fault_has,
	.remove = fault_remove,
	.sync = fault_sync,
	.close = fault_close,
};

int bs_fault_wrap(struct blockstore *parent, const struct fault_config *cfg,
		  struct blockstore **out)
{
	if (!parent || !cfg || !out)
		return -EINVAL;
	struct bs_fault *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	bs_wrap(&f->base, &fault_ops, parent);
	f->cfg = *cfg;
	if (f->cfg.error >= 0)
		f->cfg.error = -EIO;
	f->rng = cfg->seed;
	pthread_mutex_init(&f->lock, NULL);
	*out = &f->base;
	return 0;
}

void bs_fault_counts(struct blockstore *bs, struct fault_counts *out)
{
	struct bs_fault *f = to_fault(bs);
	if (!f) {
		memset(out, 0, sizeof(*out));
		return;
	}
	pthread_mutex_lock(&f->lock);
	*out = f->counts;
	pthread_mutex_unlock(&f->lock);
}

/* ---- the spec string ---- */

static const struct {
	const char *name;
	int err;
} fault_errors[] = {
	{"ENOENT", ENOENT},       {"EBADMSG", EBADMSG},
	{"EIO", EIO},             {"ENOSPC", ENOSPC},
	{"EDQUOT", EDQUOT},       {"ETIMEDOUT", ETIMEDOUT},
	{"EAGAIN", EAGAIN},       {"ECONNREFUSED", ECONNREFUSED},
	{"EFBIG", EFBIG},
};

static const char *const fault_op_keys[FAULT_OP_COUNT] = {
	[FAULT_PUT] = "put",   [FAULT_GET] = "get",
	[FAULT_HAS] = "has",   [FAULT_SYNC] = "sync",
	[FAULT_REMOVE] = "remove",
};

/* A decimal fraction in [0, 1]; strtod alone would take "nan", "0x1p-2",
 * " 0.5" and "1e-1", none of which a spec should contain. */
static int parse_rate(const char *s, double *out)
{
	if (!*s)
		return -EINVAL;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || end == s || !isfinite(v) || v < 0.0 || v > 1.0)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	if (!*s)
		return -EINVAL;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_error(const char *s, int *out)
{
	for (size_t i = 0; i < sizeof(fault_errors) / sizeof(fault_errors[0]);
	     i++)
		if (strcmp(s, fault_errors[i].name) == 0) {
			*out = -fault_errors[i].err;
			return 0;
		}
	return -EINVAL;
}

static int apply_item(struct fault_config *cfg, const char *key,
		      const char *val)
{
	double rate;
	uint64_t n;
	/* "sync=R" fails syncs; "delay_sync=R" delays them. */
	bool delay_op = strncmp(key, "delay_", 6) == 0;
	for (int op = 0; op < FAULT_OP_COUNT; op++)
		if (strcmp(key + (delay_op ? 6 : 0), fault_op_keys[op]) == 0) {
			if (parse_rate(val, &rate) < 0)
				return -EINVAL;
			(delay_op ? cfg->delay_rate : cfg->fail_rate)[op] = rate;
			return 0;
		}
	if (strcmp(key, "fail") == 0 || strcmp(key, "delay") == 0) {
		if (parse_rate(val, &rate) < 0)
			return -EINVAL;
		double *rates = key[0] == 'f' ? cfg->fail_rate : cfg->delay_rate;
		for (int op = 0; op < FAULT_OP_COUNT; op++)
			rates[op] = rate;
		return 0;
	}
	if (strcmp(key, "delay_ms") == 0) {
		if (parse_u64(val, FAULT_DELAY_MS_MAX, &n) < 0)
			return -EINVAL;
		cfg->delay_ms = (unsigned)n;
		return 0;
	}
	if (strcmp(key, "seed") == 0)
		return parse_u64(val, UINT64_MAX, &cfg->seed);
	if (strcmp(key, "error") == 0)
		return parse_error(val, &cfg->error);
	return -EINVAL;
}

int bs_fault_parse(const char *spec, struct fault_config *cfg)
{
	if (!spec || !cfg)
		return -EINVAL;
	struct fault_config c;
	memset(&c, 0, sizeof(c));
	c.delay_ms = FAULT_DEFAULT_DELAY_MS;
	c.error = FAULT_DEFAULT_ERROR;
	c.seed = FAULT_DEFAULT_SEED;

	const char *p = spec;
	for (int items = 0; *p; items++) {
		if (items >= SPEC_ITEMS_MAX)
			return -EINVAL;
		size_t n = strcspn(p, ",");
		char item[SPEC_ITEM_MAX];
		if (n == 0 || n >= sizeof(item))
			return -EINVAL;
		memcpy(item, p, n);
		item[n] = '\0';
		char *eq = strchr(item, '=');
		if (!eq || eq == item)
			return -EINVAL;
		*eq = '\0';
		if (apply_item(&c, item, eq + 1) < 0)
			return -EINVAL;
		p += n;
		if (*p == ',') {
			p++;
			if (!*p)
				return -EINVAL; /* trailing comma */
		}
	}
	*cfg = c;
	return 0;
}
