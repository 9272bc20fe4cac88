/* tests/unit/test_outbox_get.c — cache/outbox.h: a block not here that
 * the remote cannot give reads as the remote's own error, so a caller
 * tells "missing" from "tampered" from "the node did not answer": a
 * block the remote lacks is -ENOENT, one whose bytes there do not hash
 * -EBADMSG (neither served nor kept), and a remote that times out or is
 * down -ETIMEDOUT / -ECONNREFUSED (ipfs/bs_fault.h fails its gets with
 * the error a node would give).  The remote is a second local store. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cache/outbox.h"
#include "ipfs/bs_fault.h"
#include "ipfs/bs_local.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

#define BSZ 3000

/* The outbox over a fresh local store in DIR/l, reading through to
 * remote (a fault layer over DIR/r's store when error is not 0: every
 * get fails with it). *rlocal: DIR/r's store, for the test's own puts. */
static struct blockstore *outbox_over(const char *name, int error,
				      struct blockstore **rlocal)
{
	char l[64], r[64];
	snprintf(l, sizeof(l), "%s-l", name);
	snprintf(r, sizeof(r), "%s-r", name);
	struct blockstore *local, *remote, *ob;
	if (bs_local_open(harness_path(l), &local) ||
	    bs_local_open(harness_path(r), rlocal))
		harness_bail("bs_local_open");
	remote = *rlocal;
	if (error) {
		struct fault_config fc = {.error = error, .seed = 1};
		fc.fail_rate[FAULT_GET] = 1.0;
		if (bs_fault_wrap(*rlocal, &fc, &remote))
			harness_bail("bs_fault_wrap");
	}
	struct outbox_config oc = {.dir = harness_path(l), .local = local,
				   .remote = remote, .cache_reads = true};
	if (outbox_wrap(&oc, &ob))
		harness_bail("outbox_wrap");
	if (outbox_start(ob))
		harness_bail("outbox_start");
	return ob;
}

/* get of cid through ob: its error, *len as the get left it. */
static int get(struct blockstore *ob, const struct cid *cid, size_t *len)
{
	static uint8_t buf[BLOCK_MAX_BYTES];
	*len = 12345;
	return bs_get(ob, cid, buf, sizeof(buf), len);
}

static void test_missing_and_tampered(const uint8_t *a)
{
	struct blockstore *remote;
	struct blockstore *ob = outbox_over("plain", 0, &remote);
	struct cid ca;
	size_t len;
	/* Put on the remote alone: not here, so a get goes there. */
	if (bs_put(remote, a, BSZ, 0, &ca))
		harness_bail("put");
	is_int(get(ob, &ca, &len), 0, "a block only the remote has reads");
	ok(len == BSZ && bs_has(ob, &ca) == 1, "… whole");

	struct cid gone = ca;
	gone.bytes[gone.len - 1] ^= 1;
	is_int(get(ob, &gone, &len), -ENOENT,
	       "a block neither here nor on the remote: -ENOENT (was -EIO)");
	is_int((int)len, 0, "… no bytes");

	/* Another block, its file on the remote damaged. */
	uint8_t b[BSZ];
	memcpy(b, a, BSZ);
	b[0] ^= 0x55;
	struct cid cb;
	char path[PATH_MAX];
	if (bs_put(remote, b, BSZ, BS_PUT_DURABLE, &cb) ||
	    bs_local_path(remote, &cb, path, sizeof(path)))
		harness_bail("put b");
	b[BSZ / 2] ^= 1;
	if (chmod(path, 0600))
		harness_bail("chmod");
	harness_write_file(path, b, BSZ);
	is_int(get(ob, &cb, &len), -EBADMSG,
	       "the remote's bytes do not hash: -EBADMSG (was -EIO)");
	is_int((int)len, 0, "… no bytes served");
	struct outbox_stats st;
	outbox_stats(ob, &st);
	ok(st.remote_reads == 1 && st.remote_read_errors == 2,
	   "remote reads counted: 1 good, 2 failed");
	bs_close(ob);
	/* Reopened: the local store kept the good block, not the bad. */
	struct blockstore *l;
	if (bs_local_open(harness_path("plain-l"), &l))
		harness_bail("reopen");
	ok(bs_has(l, &ca) == 1 && bs_has(l, &cb) == 0,
	   "the block read is kept as cache, the rejected one is not");
	bs_close(l);
}

static void test_node_trouble(const uint8_t *a)
{
	static const struct {
		const char *name;
		int error;
	} cases[] = {
		{"timeout", -ETIMEDOUT},
		{"refused", -ECONNREFUSED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct blockstore *remote;
		struct blockstore *ob = outbox_over(cases[i].name,
						    cases[i].error, &remote);
		struct cid ca;
		size_t len;
		if (bs_put(remote, a, BSZ, 0, &ca))
			harness_bail("put");
		is_int(get(ob, &ca, &len), cases[i].error,
		       "a remote that fails %s: that error, not -EIO",
		       strerror(-cases[i].error));
		is_int((int)len, 0, "… no bytes");
		bs_close(ob);
	}
}

int main(void)
{
	static uint8_t a[BSZ];
	for (unsigned j = 0; j < BSZ; j++)
		a[j] = (uint8_t)(j * 7 + (j >> 8));
	test_missing_and_tampered(a);
	test_node_trouble(a);
	return tap_done();
}
