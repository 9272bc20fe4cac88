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
 *
 * The cache directory (--store, default $XDG_CACHE_HOME/ipmaildir/ID,
 * else ~/.cache/ipmaildir/ID) holds only blocks already fetched and the
 * seen file: no key, nothing that can't be fetched again.
 */
#ifndef IPMD_FS_MOUNT_REMOTE_H
#define IPMD_FS_MOUNT_REMOTE_H

#include <stddef.h>

struct ipmd_fs;
struct mount_options;

/* Before the store opens: the capability's keys into fs->keys, the cache
 * directory made and named in fs->paths.  0, or -1 with one line in msg. */
int remote_prepare(struct ipmd_fs *fs, const struct mount_options *o,
		   char *msg, size_t msgsize);

/* With fs->bs over the node: find the commit (resolve, verify, check the
 * seq), apply o->at, load its tree into fs->tree / fs->last.  0, or -1
 * with one line in msg. */
int remote_load(struct ipmd_fs *fs, const struct mount_options *o, char *msg,
		size_t msgsize);

#endif
