/* fs/store/stack.c — a store's block-store stack; see stack.h. */
#include "fs/store/stack.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fs/store/wal_store.h"
#include "ipfs/bs_fault.h"
#include "ipfs/bs_watch.h"
#include "ipfs/bs_kubo.h"
#include "ipfs/bs_local.h"
#include "util/msgbuf.h"

/* The outbox over s->top (the local store), with the node if there is
 * one.  0 (also when none is wanted), or -1 with msg. */
static int add_outbox(const struct store_stack_spec *spec,
		      struct store_stack *s, char *msg, size_t msgsize)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", spec->root,
		     OUTBOX_LOG_NAME) >= (int)sizeof(path))
		return msgbuf_say(msg, msgsize, "store path too long");
	const char *node = spec->node && *spec->node ? spec->node : NULL;
	if (!node && (!spec->keep_outbox || access(path, F_OK) != 0))
		return 0; /* never had a node: the plain local store */
	struct blockstore *remote = NULL;
	if (node && bs_kubo_open_addr(node, spec->node_timeout_ms, &remote,
				      msg, msgsize))
		return -1;
	struct outbox_config oc = {
		.dir = spec->root,
		.local = s->top,
		.remote = remote,
		.log = spec->log,
		.log_arg = spec->log_arg,
		.changed = spec->changed,
		.changed_arg = spec->changed_arg,
		.read_only = spec->read_only,
		.cache_reads = spec->cache_reads,
		.local_cap_bytes = spec->local_cap_bytes,
	};
	int e = outbox_wrap(&oc, &s->outbox);
	if (e) {
		bs_close(remote);
		return msgbuf_say(msg, msgsize, "outbox %s: %s", path,
				  strerror(-e));
	}
	s->top = s->outbox;
	s->remote = remote;
	return 0;
}

static int add_fault(const char *spec, struct store_stack *s, char *msg,
		     size_t msgsize)
{
	struct fault_config fc;
	if (bs_fault_parse(spec, &fc) || bs_fault_wrap(s->top, &fc, &s->fault))
		return msgbuf_say(msg, msgsize, "bad fault spec '%s'", spec);
	s->top = s->fault;
	return 0;
}

static int add_watch(struct store_stack *s, char *msg, size_t msgsize)
{
	if (bs_watch_wrap(s->top, &s->watch))
		return msgbuf_say(msg, msgsize, "out of memory");
	s->top = s->watch;
	return 0;
}

static int add_wal(struct store_stack *s, char *msg, size_t msgsize)
{
	if (wal_store_wrap(s->top, NULL, &s->wal))
		return msgbuf_say(msg, msgsize, "out of memory");
	s->top = s->wal;
	return 0;
}

int store_stack_open(const struct store_stack_spec *spec,
		     struct store_stack *s, char *msg, size_t msgsize)
{
	memset(s, 0, sizeof(*s));
	int e = bs_local_open(spec->root, &s->local);
	if (e)
		return msgbuf_say(msg, msgsize, "block store in %s: %s",
				  spec->root, strerror(-e));
	s->top = s->local;
	int r = add_outbox(spec, s, msg, msgsize);
	if (!r && spec->fault)
		r = add_fault(spec->fault, s, msg, msgsize);
	if (!r && spec->watch)
		r = add_watch(s, msg, msgsize);
	s->direct = s->top;
	if (!r && spec->wal)
		r = add_wal(s, msg, msgsize);
	if (r)
		store_stack_close(s);
	return r;
}

void store_stack_close(struct store_stack *s)
{
	bs_close(s->top);
	memset(s, 0, sizeof(*s));
}
