/* tests/unit/test_cli_fuse.c — when the daemon leaves glibc's malloc
 * arena bound to the user (fs/cli/cli.h, cli_arena_max_chosen): only a
 * choice of the bound itself, not any tunable, turns its own off. */
#include <stdbool.h>

#include "fs/cli/cli.h"
#include "tests/tap.h"

/* cli_fuse.c's other steps say their failures through main.c's cli_error,
 * which is not in the library; this test calls none of them. */
void cli_error(const char *fmt, ...)
{
	(void)fmt;
}

static void test_chosen(void)
{
	ok(!cli_arena_max_chosen(NULL, NULL), "neither set: the daemon's");
	ok(cli_arena_max_chosen("2", NULL), "MALLOC_ARENA_MAX=2: the user's");
	ok(!cli_arena_max_chosen("", NULL), "MALLOC_ARENA_MAX empty: unset");
	ok(cli_arena_max_chosen(NULL, "glibc.malloc.arena_max=2"),
	   "GLIBC_TUNABLES=glibc.malloc.arena_max=2: the user's");
	ok(cli_arena_max_chosen(NULL, "glibc.malloc.tcache_count=0:"
				      "glibc.malloc.arena_max=1"),
	   "arena_max after another tunable: the user's");
	ok(!cli_arena_max_chosen(NULL, "glibc.malloc.tcache_count=0"),
	   "another malloc tunable alone: the daemon's");
	ok(!cli_arena_max_chosen(NULL, "glibc.cpu.hwcaps=-AVX512F"),
	   "a tunable not of malloc: the daemon's");
	ok(!cli_arena_max_chosen(NULL, "glibc.malloc.arena_max_x=1:"
				      "x.glibc.malloc.arena_max=1"),
	   "names that only contain arena_max: the daemon's");
	ok(!cli_arena_max_chosen(NULL, ""), "GLIBC_TUNABLES empty");
}

int main(void)
{
	test_chosen();
	return tap_done();
}
