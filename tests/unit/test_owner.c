/* tests/unit/test_owner.c — fs/mount/owner.c: this device's mail user and
 * the mailbox owner's files (the tree root's owner) swap between what is
 * stored and what the kernel is shown; other owners stay; off without a
 * user (a root daemon, no option). */
#include "fs/mount/owner.h"

#include <time.h>

#include "tests/tap.h"
#include "tests/unit/harness.h"

int main(void)
{
	struct fs_tree *t;
	struct timespec now = {.tv_sec = 1700000000};
	if (tree_new(&t, 5000, 5001, &now))
		harness_bail("tree_new");
	struct owner_map m;

	owner_map_init(&m, OWNER_AUTO, OWNER_AUTO, 0, 0);
	ok(!m.uid_on && !m.gid_on, "a root daemon without options: off");
	is_int(owner_show_uid(&m, t, 5000), 5000, "… owners shown as stored");
	is_int(owner_store_uid(&m, t, 0), 0, "… and stored as given");

	owner_map_init(&m, OWNER_AUTO, OWNER_AUTO, 1000, 1001);
	ok(m.uid_on && m.uid == 1000 && m.gid_on && m.gid == 1001,
	   "a daemon of uid 1000: that user");
	is_int(owner_show_uid(&m, t, 5000), 1000,
	       "the mailbox owner's uid is shown as this device's");
	is_int(owner_show_gid(&m, t, 5001), 1001, "… and its gid");
	is_int(owner_show_uid(&m, t, 4242), 4242, "another owner as stored");
	is_int(owner_store_uid(&m, t, 1000), 5000,
	       "this device's user is stored as the mailbox owner");
	is_int(owner_store_gid(&m, t, 1001), 5001, "… its group likewise");
	is_int(owner_store_uid(&m, t, 4242), 4242, "another owner as given");
	is_int(owner_show_uid(&m, t, owner_store_uid(&m, t, 1000)), 1000,
	       "what this user writes reads back as its own");

	owner_map_init(&m, 7, OWNER_AUTO, 0, 0);
	ok(m.uid_on && m.uid == 7 && !m.gid_on,
	   "-o owner under a root daemon: the uid only");
	is_int(owner_show_uid(&m, t, 5000), 7, "… shown as 7");
	is_int(owner_show_gid(&m, t, 5001), 5001, "… the gid as stored");
	tree_free(t);
	return tap_done();
}
