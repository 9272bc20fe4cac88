/*
 * fs/mount/remote.h — a mailbox mounted from an IPFS node with a read capability
 * (`ipmaildir mount --from-node NAME --capability FILE`): another
 * machine's mail, read-only, its blocks fetched on demand.
 *
 * NAME is the mailbox id (k51…, the peer-id form 12D3KooW…, or bafzaa…):
 * the head is the commit named by the highest-sequence IPNS record signed
 * by the mailbox key among those the node's DHT returns (nothing else: a
 * failed lookup refuses the mount, the node's own resolve is not asked);
 * or NAME is a commit's CID (bafkrei…), taken as given.  Either way the commit is
 * fetched, opened with the capability's manifest key and its signature
 * checked against the capability's public key, so the node (and whoever
 * published the name) is trusted for nothing but availability.  The
 * capability must be this mailbox's: a mailbox id naming another key is
 * refused before anything is asked of the node.
 *
 * Rollback: the cache directory keeps, in CACHE/seen (sealed under the
 * manifest key, fs/store/head.h's format), the highest seq accepted from IPNS.
 * A record whose sequence is below it is refused before its commit is
 * fetched, and one whose sequence is not its commit's seq after: a node
 * or network that serves an old record can't take mail back.  A commit CID given by hand, and
 * --at, are deliberate choices of a past state and are not refused.
 * --at walks the history from the node, which has no record of where
 * its lines end (the other machine's STORE/pruned and STORE/device): a
 * parent the node does not have ends its line, as a recorded end would
 * (fs/store/history.h, walk_ends.absent); a commit that does not verify,
 * a node that does not answer, or a chosen state whose tree does not
 * load still refuses the mount.
 *
 * The cache directory (--store, default $XDG_CACHE_HOME/ipmaildir/ID,
 * else ~/.cache/ipmaildir/ID) holds only blocks already fetched and the
 * seen file: no key, nothing that can't be fetched again.
 */
#ifndef IPMD_FS_MOUNT_REMOTE_H
#define IPMD_FS_MOUNT_REMOTE_H

#include <stddef.h>

#include "crypto/keys.h"
#include "fs/model/commit.h"
#include "fs/model/object.h"
#include "fs/model/tree.h"
#include "fs/store/head.h"
#include "fs/store/store.h"
#include "util/attr.h"

/* What the mount was asked (fs/mount/mount.h's options of the same names). */
struct remote_options {
	const char *from_node;  /* the mailbox id or a commit CID */
	const char *capability; /* the read capability file */
	const char *store;      /* the cache directory; NULL: the default */
	const char *at;         /* a past state (fs/store/history.h), or NULL */
};

/* Before the store opens: the capability's keys into *keys, the cache
 * directory made and named in *paths.  0, or -1 with one line in msg. */
IPMD_MUST_CHECK
int remote_prepare(const struct remote_options *o, struct mailbox_keys *keys,
		   struct store_paths *paths, char *msg, size_t msgsize);

/* What remote_load reads through and what it finds. */
struct remote_mount {
	/* in: */
	struct obj_store *st;      /* its bs reads through the outbox */
	struct blockstore *node;   /* the node (the stack's remote) */
	const struct mailbox_keys *keys; /* remote_prepare's */
	const char *seen;          /* CACHE/seen (store_paths.seen) */
	/* out, set on success: */
	struct head head;          /* the commit mounted, as a head */
	struct commit last;        /* that commit */
	struct fs_tree *tree;      /* its tree (the caller frees it) */
};

/* Find the commit (resolve, verify, check the seq), apply o->at, load
 * its tree into m->tree / m->last / m->head.  0, or -1 with one line in
 * msg. */
IPMD_MUST_CHECK
int remote_load(const struct remote_options *o, struct remote_mount *m,
		char *msg, size_t msgsize);

#endif
