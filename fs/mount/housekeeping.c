/* fs/mount/housekeeping.c — see housekeeping.h. */
#include "fs/mount/housekeeping.h"

#include <pthread.h>

void housekeeping_begin(struct ipmd_fs *fs)
{
	pthread_mutex_lock(&fs->housekeeping);
	pthread_mutex_lock(&fs->commit_lock);
}

void housekeeping_end(struct ipmd_fs *fs)
{
	pthread_mutex_unlock(&fs->commit_lock);
	pthread_mutex_unlock(&fs->housekeeping);
}
