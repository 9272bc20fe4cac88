/*
 * fs/fuse/mount_access.h — who may reach a FUSE mount, and whether the kernel
 * checks file modes for them.
 *
 * FUSE's allow_other lets every local user into a mount.  Without
 * default_permissions the kernel then checks no mode or owner at all, and
 * ipmaildir enforces none itself (it records modes and owners; it does not
 * judge requests): any user could read, overwrite, chmod and chown any
 * message.  So allow_other brings default_permissions with it, as in
 * gocryptfs, unless the mounter opts out by name with
 * MOUNT_ACCESS_OPT_OUT.  Both ipmaildir mount and ipmaildir archive pass
 * their FUSE option list through mount_access_options.
 */
#ifndef IPMD_FS_FUSE_MOUNT_ACCESS_H
#define IPMD_FS_FUSE_MOUNT_ACCESS_H

#include <stddef.h>

/* The opt-out, an -o option of ipmaildir's own (FUSE never sees it). */
#define MOUNT_ACCESS_OPT_OUT "no_default_permissions"

enum mount_access {
	MOUNT_ACCESS_OWNER,     /* no allow_other: the mounting user only */
	MOUNT_ACCESS_CHECKED,   /* allow_other; the kernel checks modes */
	MOUNT_ACCESS_UNCHECKED, /* allow_other with the opt-out: no checks */
};

/*
 * Rewrite opts, a comma-separated FUSE option list of size bytes (NUL
 * included), in place: MOUNT_ACCESS_OPT_OUT is taken out, and
 * default_permissions is added when allow_other is there and neither it
 * nor the opt-out is.  Returns the resulting enum mount_access (>= 0), or
 * -EINVAL when default_permissions and the opt-out are both given, or
 * -E2BIG when the added option does not fit; opts is unchanged on error.
 */
int mount_access_options(char *opts, size_t size);

#endif
