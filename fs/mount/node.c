/* fs/mount/node.c — the outbox and the node under a mount; see node.h. */
#include "fs/mount/node.h"

#include "cache/outbox.h"
#include "fs/mount/publish.h"
#include "ipfs/bs_kubo.h"
#include "util/log.h"
#include "util/msgbuf.h"

static void to_log(int prio, const char *msg, void *arg)
{
	(void)arg;
	logmsg(prio, "%s", msg);
}

int ipmd_node_spec(const struct node_options *o,
		   struct store_stack_spec *spec, char *msg, size_t msgsize)
{
	const char *node = o->node && *o->node ? o->node : NULL;
	if (!node && o->local_cap_bytes)
		return msgbuf_say(msg, msgsize,
				  "-o local_cap_mb needs a node (--node): "
				  "blocks dropped here must be on one");
	if (!node && o->from_node)
		return msgbuf_say(msg, msgsize,
				  "--from-node needs a node: --node ADDR, "
				  "IPMAILDIR_NODE or the config file");
	spec->node = node;
	spec->node_timeout_ms = o->node_timeout_ms
					? o->node_timeout_ms
					: NODE_DEFAULT_READ_TIMEOUT_MS;
	spec->keep_outbox = true; /* what is written now goes up later */
	spec->read_only = o->read_only;
	spec->cache_reads = o->from_node;
	spec->local_cap_bytes = o->local_cap_bytes;
	spec->log = to_log;
	return 0;
}

void ipmd_node_ping(const struct store_stack *s)
{
	if (!s->remote || bs_kubo_ping(s->remote) == 0)
		return;
	char why[512];
	bs_kubo_last_error(s->remote, why, sizeof(why));
	logmsg(LOG_WARNING,
	       "the IPFS node does not answer (%s); mounting anyway: writes "
	       "wait in the outbox",
	       why);
}

int ipmd_node_start(const struct store_stack *s, bool read_only,
		    const struct mailbox_keys *keys,
		    unsigned publish_interval_s, const struct head *head,
		    struct publisher **publisher)
{
	if (!s->outbox)
		return 0;
	int e = outbox_start(s->outbox);
	if (e || read_only)
		return e;
	*publisher = publisher_start(s->outbox, s->remote, keys,
				     publish_interval_s, 0);
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
