/* fs/mount/node.c — the outbox and the node under a mount; see node.h. */
#include "fs/mount/node.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cache/outbox.h"
#include "fs/mount/publish.h"
#include "ipfs/bs_kubo.h"
#include "util/log.h"

static void to_log(int prio, const char *msg, void *arg)
{
	(void)arg;
	logmsg(prio, "%s", msg);
}

int ipmd_node_attach(const struct node_options *o, struct blockstore **bs,
		     struct blockstore **outbox, char *msg, size_t msgsize)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", o->root,
		     OUTBOX_LOG_NAME) >= (int)sizeof(path)) {
		snprintf(msg, msgsize, "store path too long");
		return -1;
	}
	const char *node = o->node && *o->node ? o->node : NULL;
	if (!node && o->local_cap_bytes) {
		snprintf(msg, msgsize,
			 "-o local_cap_mb needs a node (--node): blocks "
			 "dropped here must be on one");
		return -1;
	}
	if (!node && o->from_node) {
		snprintf(msg, msgsize,
			 "--from-node needs a node: --node ADDR, "
			 "IPMAILDIR_NODE or the config file");
		return -1;
	}
	if (!node && access(path, F_OK) != 0)
		return 0; /* never had a node: the plain local store */

	struct blockstore *remote = NULL;
	unsigned timeout_ms = o->node_timeout_ms ? o->node_timeout_ms
						 : NODE_DEFAULT_READ_TIMEOUT_MS;
	if (node &&
	    bs_kubo_open_addr(node, timeout_ms, &remote, msg, msgsize))
		return -1;
	struct outbox_config oc = {
		.dir = o->root,
		.local = *bs,
		.remote = remote,
		.log = to_log,
		.read_only = o->read_only,
		.cache_reads = o->from_node,
		.local_cap_bytes = o->local_cap_bytes,
	};
	struct blockstore *ob;
	int e = outbox_wrap(&oc, &ob);
	if (e) {
		bs_close(remote);
		snprintf(msg, msgsize, "outbox %s: %s", path, strerror(-e));
		return -1;
	}
	*bs = *outbox = ob;
	if (remote && bs_kubo_ping(remote) != 0) {
		char why[512];
		bs_kubo_last_error(remote, why, sizeof(why));
		logmsg(LOG_WARNING,
		       "the IPFS node does not answer (%s); mounting anyway: "
		       "writes wait in the outbox",
		       why);
	}
	return 0;
}

int ipmd_node_start(struct blockstore *outbox, bool read_only,
		    const struct mailbox_keys *keys,
		    unsigned publish_interval_s, const struct head *head,
		    struct publisher **publisher)
{
	if (!outbox)
		return 0;
	int e = outbox_start(outbox);
	if (e || read_only)
		return e;
	*publisher = publisher_start(outbox, keys, publish_interval_s, 0);
	/* A restarted mount publishes its head again (the record may have
	 * lapsed, or the last publication failed). */
	if (head->commit.len)
		publisher_commit(*publisher, &head->commit, head->seq);
	return 0;
}

void ipmd_node_finish(struct blockstore *outbox, bool read_only,
		      unsigned wait_s)
{
	struct outbox_stats st;
	outbox_stats(outbox, &st);
	if (!st.remote || read_only || st.pending == 0)
		return;
	uint64_t waited = 0, still = 0, last_uploaded = st.uploaded;
	const unsigned step_ms = 250;
	while (st.pending && waited < (uint64_t)wait_s * 1000) {
		outbox_wait_drained(outbox, step_ms);
		waited += step_ms;
		outbox_stats(outbox, &st);
		if (st.uploaded != last_uploaded || !st.last_error) {
			last_uploaded = st.uploaded;
			still = 0;
		} else if ((still += step_ms) >= NODE_STALL_MS) {
			break;
		}
	}
	if (st.pending)
		logmsg(LOG_WARNING,
		       "unmounting with %llu blocks not yet on the node: they "
		       "stay in the outbox and go up at the next mount with "
		       "a node",
		       (unsigned long long)st.pending);
}
