/* fs/mount/owner.c — see owner.h. */
#include "fs/mount/owner.h"

void owner_map_init(struct owner_map *m, uint32_t uid, uint32_t gid,
		    uint32_t euid, uint32_t egid)
{
	bool root = euid == 0;
	m->uid_on = uid != OWNER_AUTO || !root;
	m->uid = uid != OWNER_AUTO ? uid : euid;
	m->gid_on = gid != OWNER_AUTO || !root;
	m->gid = gid != OWNER_AUTO ? gid : egid;
}

/* The one stored value `stored` and this device's `mine` swap; anything
 * else stays. */
static uint32_t swap(bool on, uint32_t v, uint32_t stored, uint32_t mine)
{
	return !on ? v : v == stored ? mine : v;
}

uint32_t owner_show_uid(const struct owner_map *m, const struct fs_tree *t,
			uint32_t uid)
{
	return swap(m->uid_on && t->root, uid, t->root ? t->root->uid : 0,
		    m->uid);
}

uint32_t owner_show_gid(const struct owner_map *m, const struct fs_tree *t,
			uint32_t gid)
{
	return swap(m->gid_on && t->root, gid, t->root ? t->root->gid : 0,
		    m->gid);
}

uint32_t owner_store_uid(const struct owner_map *m, const struct fs_tree *t,
			 uint32_t uid)
{
	return swap(m->uid_on && t->root, uid, m->uid,
		    t->root ? t->root->uid : 0);
}

uint32_t owner_store_gid(const struct owner_map *m, const struct fs_tree *t,
			 uint32_t gid)
{
	return swap(m->gid_on && t->root, gid, m->gid,
		    t->root ? t->root->gid : 0);
}
