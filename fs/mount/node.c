/* fs/mount/node.c — the outbox and the node under a mount; see node.h. */
#include "fs/mount/node.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cache/outbox.h"
#include "fs/mount/mount.h"
#include "fs/mount/publish.h"
#include "ipfs/bs_kubo.h"

static void to_syslog(int prio, const char *msg, void *arg)
{
	(void)arg;
	syslog(prio, "%s", msg);
}

int ipmd_node_open(const char *node, unsigned get_timeout_ms,
		   struct blockstore **out, char *msg, size_t msgsize)
{
	char addr[KUBO_URL_MAX];
	if (!strcmp(node, "auto")) {
		int e = kubo_auto_addr(addr, sizeof(addr));
		if (e) {
			snprintf(msg, msgsize,
				 "--node auto: no running IPFS node found "
				 "($IPFS_PATH/api or ~/.ipfs/api: %s)",
				 strerror(-e));
			return -1;
		}
		node = addr;
	}
	struct kubo_config kc = {.addr = node,
				 .get_timeout_ms = get_timeout_ms};
	int e = bs_kubo_open(&kc, out);
	if (e) {
		snprintf(msg, msgsize, "--node %s: %s", node,
			 e == -EINVAL ? "not a node address (a multiaddr like "
					"/ip4/127.0.0.1/tcp/5001 or an http:// "
					"URL)"
				      : strerror(-e));
		return -1;
	}
	return 0;
}

int ipmd_node_attach(struct ipmd_fs *fs, const struct mount_options *o,
		     char *msg, size_t msgsize)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", fs->paths.root,
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
	if (node && ipmd_node_open(node,
				   o->node_timeout_ms ? o->node_timeout_ms
						      : NODE_DEFAULT_READ_TIMEOUT_MS,
				   &remote, msg, msgsize))
		return -1;
	struct outbox_config oc = {
		.dir = fs->paths.root,
		.local = fs->bs,
		.remote = remote,
		.log = to_syslog,
		.read_only = fs->read_only,
		.cache_reads = o->from_node != NULL,
		.local_cap_bytes = o->local_cap_bytes,
	};
	struct blockstore *ob;
	int e = outbox_wrap(&oc, &ob);
	if (e) {
		bs_close(remote);
		snprintf(msg, msgsize, "outbox %s: %s", path, strerror(-e));
		return -1;
	}
	fs->bs = fs->outbox = ob;
	if (remote && bs_kubo_ping(remote) != 0) {
		char why[512];
		bs_kubo_last_error(remote, why, sizeof(why));
		syslog(LOG_WARNING,
		       "the IPFS node does not answer (%s); mounting anyway: "
		       "writes wait in the outbox",
		       why);
	}
	return 0;
}

int ipmd_node_start(struct ipmd_fs *fs)
{
	if (!fs->outbox)
		return 0;
	int e = outbox_start(fs->outbox);
	if (e || fs->read_only)
		return e;
	fs->publisher = publisher_start(fs->outbox, &fs->keys,
					fs->publish_interval_s, 0);
	/* A restarted mount publishes its head again (the record may have
	 * lapsed, or the last publication failed). */
	if (fs->head.commit.len)
		publisher_commit(fs->publisher, &fs->head.commit,
				 fs->head.seq);
	return 0;
}

void ipmd_node_finish(struct ipmd_fs *fs, unsigned wait_s)
{
	struct outbox_stats st;
	outbox_stats(fs->outbox, &st);
	if (!st.remote || fs->read_only || st.pending == 0)
		return;
	uint64_t waited = 0, still = 0, last_uploaded = st.uploaded;
	const unsigned step_ms = 250;
	while (st.pending && waited < (uint64_t)wait_s * 1000) {
		outbox_wait_drained(fs->outbox, step_ms);
		waited += step_ms;
		outbox_stats(fs->outbox, &st);
		if (st.uploaded != last_uploaded || !st.last_error) {
			last_uploaded = st.uploaded;
			still = 0;
		} else if ((still += step_ms) >= NODE_STALL_MS) {
			break;
		}
	}
	if (st.pending)
		syslog(LOG_WARNING,
		       "unmounting with %llu blocks not yet on the node: they "
		       "stay in the outbox and go up at the next mount with "
		       "a node",
		       (unsigned long long)st.pending);
}
