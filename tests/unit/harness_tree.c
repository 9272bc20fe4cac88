/* tests/unit/harness_tree.c — harness_tree (see harness.h), apart from
 * harness.c because fs/model/tree.h's struct dirent clashes with
 * <dirent.h>'s. */
#include "tests/unit/harness.h"

#include "fs/model/tree.h"

struct fs_tree *harness_tree(uint32_t uid, uint32_t gid,
			     const struct timespec *now)
{
	struct fs_tree *t = NULL;
	if (tree_new(&t, uid, gid, now) != 0)
		harness_bail("tree_new");
	return t;
}
