/* fs/fuse/notify.c — see notify.h. */
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <string.h>

#include "fs/fuse/notify.h"
#include "fs/mount/mount.h"

static void inval_entry(void *arg, uint64_t parent, const char *name)
{
	(void)fuse_lowlevel_notify_inval_entry(arg, parent, name,
					       strlen(name));
}

/* Attributes and every cached page (content may have changed). */
static void inval_inode(void *arg, uint64_t ino)
{
	(void)fuse_lowlevel_notify_inval_inode(arg, ino, 0, 0);
}

void ipmd_fuse_notify(struct ipmd_fs *fs, struct fuse_session *se)
{
	fs->notify = (struct ipmd_notify){.entry = inval_entry,
					  .inode = inval_inode,
					  .arg = se};
}
