/* tests/unit/test_mount_access.c — allow_other brings default_permissions
 * unless opted out by name (fs/fuse/mount_access.h). */
#include <errno.h>
#include <string.h>

#include "fs/fuse/mount_access.h"
#include "tests/tap.h"

/* Run mount_access_options on a copy of in; check result and list. */
static void check(const char *in, int want, const char *want_opts)
{
	char opts[256];
	strcpy(opts, in);
	is_int(mount_access_options(opts, sizeof(opts)), want, "'%s': result",
	       in);
	is_str(opts, want_opts, "'%s': options", in);
}

int main(void)
{
	check("", MOUNT_ACCESS_OWNER, "");
	check("ro", MOUNT_ACCESS_OWNER, "ro");
	check("allow_other", MOUNT_ACCESS_CHECKED,
	      "allow_other,default_permissions");
	check("ro,allow_other,fsname=x", MOUNT_ACCESS_CHECKED,
	      "ro,allow_other,fsname=x,default_permissions");
	check("allow_other,default_permissions", MOUNT_ACCESS_CHECKED,
	      "allow_other,default_permissions");
	check("default_permissions,allow_other", MOUNT_ACCESS_CHECKED,
	      "default_permissions,allow_other");
	check("allow_other,no_default_permissions", MOUNT_ACCESS_UNCHECKED,
	      "allow_other");
	check("no_default_permissions,ro,allow_other",
	      MOUNT_ACCESS_UNCHECKED, "ro,allow_other");
	/* Nothing to opt out of: the option still never reaches FUSE. */
	check("no_default_permissions", MOUNT_ACCESS_OWNER, "");
	/* Only whole options count. */
	check("allow_other_x,x_allow_other", MOUNT_ACCESS_OWNER,
	      "allow_other_x,x_allow_other");
	check("allow_other,no_default_permissionsx", MOUNT_ACCESS_CHECKED,
	      "allow_other,no_default_permissionsx,default_permissions");
	/* Contradictions and no room leave the list as it was. */
	check("allow_other,default_permissions,no_default_permissions",
	      -EINVAL, "allow_other,default_permissions,no_default_permissions");
	check("default_permissions,no_default_permissions", -EINVAL,
	      "default_permissions,no_default_permissions");

	char small[sizeof("allow_other,default_permission")] = "allow_other";
	is_int(mount_access_options(small, sizeof(small)), -E2BIG,
	       "no room for default_permissions: -E2BIG");
	is_str(small, "allow_other", "and the list is unchanged");
	char exact[sizeof("allow_other,default_permissions")] = "allow_other";
	is_int(mount_access_options(exact, sizeof(exact)),
	       MOUNT_ACCESS_CHECKED, "exactly enough room");
	is_str(exact, "allow_other,default_permissions",
	       "default_permissions added");
	return tap_done();
}
