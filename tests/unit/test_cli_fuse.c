/* tests/unit/test_cli_fuse.c — when the daemon leaves glibc's malloc
 * arena bound to the user (fs/cli/cli.h, cli_arena_max_chosen): only a
 * choice of the bound itself, not any tunable, turns its own off, and
 * only a value glibc takes (a positive integer): one it ignores would
 * leave the mount with no bound. */
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

/* Values glibc ignores (arena_max's range starts at 1; its parser takes
 * nothing after the digits) are no choice; the forms it reads are. */
static void test_values(void)
{
	static const struct {
		const char *arena_max, *tunables;
		bool chosen;
		const char *why;
	} cases[] = {
		{"0", NULL, false, "MALLOC_ARENA_MAX=0: ignored"},
		{"00", NULL, false, "…=00 too"},
		{"0x0", NULL, false, "…=0x0 too"},
		{"-1", NULL, false, "…=-1: not positive"},
		{"two", NULL, false, "…=two: not a number"},
		{"2x", NULL, false, "…=2x: not only digits"},
		{"09", NULL, false, "…=09: not octal"},
		{"+", NULL, false, "…=+: no digits"},
		{"0x10", NULL, true, "…=0x10: hex, the user's"},
		{"010", NULL, true, "…=010: octal, the user's"},
		{" +3", NULL, true, "…=' +3': as glibc reads it"},
		{NULL, "glibc.malloc.arena_max=", false,
		 "glibc.malloc.arena_max= (empty): ignored"},
		{NULL, "glibc.malloc.arena_max=0", false,
		 "glibc.malloc.arena_max=0: ignored"},
		{NULL, "glibc.malloc.arena_max=0:glibc.malloc.tcache_count=2",
		 false, "…=0 before another tunable's 2: ignored"},
		{NULL, "glibc.malloc.arena_max=3:glibc.malloc.tcache_count=0",
		 true, "…=3 before another tunable: the user's"},
		{NULL, "glibc.malloc.arena_max=0:glibc.malloc.arena_max=2",
		 true, "an ignored value, then one taken: the user's"},
		{"0", "glibc.malloc.arena_max=2", true,
		 "MALLOC_ARENA_MAX=0 beside a tunable taken: the user's"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(cli_arena_max_chosen(cases[i].arena_max,
					cases[i].tunables) == cases[i].chosen,
		   "%s", cases[i].why);
}

int main(void)
{
	test_chosen();
	test_values();
	return tap_done();
}
