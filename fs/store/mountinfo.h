/*
 * fs/store/mountinfo.h — the mounts this process sees, from
 * /proc/self/mountinfo: where a store is mounted (store_mountpoint,
 * store_open.h), which store a mount point serves (`ipmaildir umount`).
 *
 * An ipmaildir mount has type "fuse.ipmaildir" and source
 * "ipmaildir:STORE" (a mailbox, mount) or "ipmaildir-archive:STORE"
 * (archive), STORE the store's absolute path.
 */
#ifndef IPMD_FS_STORE_MOUNTINFO_H
#define IPMD_FS_STORE_MOUNTINFO_H

#include <stdbool.h>

#define MOUNTINFO_TYPE "fuse.ipmaildir"
#define MOUNTINFO_SOURCE "ipmaildir:"
#define MOUNTINFO_ARCHIVE_SOURCE "ipmaildir-archive:"

/* One mount; the strings point into the line it was parsed from. */
struct mountinfo_entry {
	const char *mountpoint; /* unescaped */
	const char *options;    /* the mount's own: "ro,nosuid,…" */
	const char *type;       /* "ext4", "fuse.ipmaildir", … */
	const char *source;     /* unescaped */
};

/* Split one line of mountinfo ("ID PARENT DEV ROOT MOUNTPOINT OPTIONS
 * [TAGS…] - TYPE SOURCE SUPER"), changed in place, into e; the \ooo
 * escapes of the mount point and source are undone.  0, or -EINVAL for a
 * line of another shape.  Pure. */
int mountinfo_parse(char *line, struct mountinfo_entry *e);

/* Is the mount read-only ("ro" among its own options)? */
bool mountinfo_read_only(const struct mountinfo_entry *e);

/* Call fn on each mount in file order (a mount stacked on another comes
 * after it); a nonzero return stops and is returned.  0 after the last,
 * or -errno of the file. */
int mountinfo_each(int (*fn)(const struct mountinfo_entry *e, void *arg),
		   void *arg);

#endif
