/*
 * fs/mount/owner.h — whose the mail is on this device (issue 17, "Several
 * devices": owners).
 *
 * Each device delivers and reads mail as its own mail user, and two
 * devices' users need not share a uid (vmail 5000 on the server, 1000 on
 * a laptop).  The tree is shared: merged and fast-forwarded between
 * devices, it must be the same bytes on each, so owners cannot be
 * rewritten per device in it (a device that re-owned what it merged in
 * would hand the other device its own mail under a foreign uid at the
 * next fast-forward).  So the mapping is in what the mount presents, as
 * sshfs's idmap=user does:
 *  - the mailbox's owner is the owner the tree's root directory has (the
 *    user of the device that ran init, as stored);
 *  - the kernel is shown this device's mail user wherever the stored
 *    owner is the mailbox's owner (uid and gid apart), and every other
 *    owner as stored;
 *  - what this device's user writes (a new file, a chown to that user) is
 *    stored as the mailbox's owner.
 * So every device sees its mail as its own mail user's — with
 * default_permissions (allow_other) the kernel's checks pass — and the
 * tree stays one.  Off (uid or gid apart) when the device's user is not
 * known: `-o owner=UID`, `-o group=GID`, else the daemon's effective uid
 * and gid when it does not run as root (a root daemon serves any user).
 * Pure functions; the caller holds the tree's lock.
 */
#ifndef IPMD_FS_MOUNT_OWNER_H
#define IPMD_FS_MOUNT_OWNER_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/model/tree.h"

/* -o owner / group not given (fs/mount/mount.h's options). */
#define OWNER_AUTO UINT32_MAX

struct owner_map {
	bool uid_on, gid_on;
	uint32_t uid, gid; /* this device's mail user */
};

/* The map for the options' uid and gid (OWNER_AUTO: the daemon's, unless
 * it runs as root) and the daemon's effective ids euid, egid. */
void owner_map_init(struct owner_map *m, uint32_t uid, uint32_t gid,
		    uint32_t euid, uint32_t egid);

/* The owner the kernel is shown for one stored in tree t. */
uint32_t owner_show_uid(const struct owner_map *m, const struct fs_tree *t,
			uint32_t uid);
uint32_t owner_show_gid(const struct owner_map *m, const struct fs_tree *t,
			uint32_t gid);

/* The owner stored in t for one a caller gives (a creator, a chown). */
uint32_t owner_store_uid(const struct owner_map *m, const struct fs_tree *t,
			 uint32_t uid);
uint32_t owner_store_gid(const struct owner_map *m, const struct fs_tree *t,
			 uint32_t gid);

#endif
