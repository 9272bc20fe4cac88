/* tests/tap.c — see tap.h. */
#include "tests/tap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tests_run;
static int tests_failed;
static char tempdir[4096];

static int report(int cond, const char *file, int line, const char *fmt,
		  va_list ap)
{
	tests_run++;
	if (!cond)
		tests_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tests_run);
	vprintf(fmt, ap);
	printf("\n");
	if (!cond)
		printf("#   Failed at %s line %d\n", file, line);
	fflush(stdout);
	return cond;
}

int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = report(cond, file, line, fmt, ap);
	va_end(ap);
	return r;
}

int tap_is_int(long long got, long long want, const char *file, int line,
	       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = report(got == want, file, line, fmt, ap);
	va_end(ap);
	if (!r)
		printf("#          got: %lld\n#     expected: %lld\n", got, want);
	return r;
}

int tap_is_mem(const void *got, const void *want, size_t len,
	       const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int same = got && want && memcmp(got, want, len) == 0;
	va_start(ap, fmt);
	int r = report(same, file, line, fmt, ap);
	va_end(ap);
	if (!r && got && want) {
		const unsigned char *a = got, *b = want;
		for (size_t i = 0; i < len; i++)
			if (a[i] != b[i]) {
				printf("#     first difference at byte %zu: "
				       "%02x != %02x\n", i, a[i], b[i]);
				break;
			}
	}
	return r;
}

int tap_is_str(const char *got, const char *want, const char *file, int line,
	       const char *fmt, ...)
{
	va_list ap;
	int same = got && want && strcmp(got, want) == 0;
	va_start(ap, fmt);
	int r = report(same, file, line, fmt, ap);
	va_end(ap);
	if (!r)
		printf("#          got: '%s'\n#     expected: '%s'\n",
		       got ? got : "(null)", want ? want : "(null)");
	return r;
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

const char *tap_tempdir(void)
{
	if (tempdir[0])
		return tempdir;
	const char *base = getenv("TMPDIR");
	snprintf(tempdir, sizeof(tempdir), "%s/ipmd-test-XXXXXX",
		 base && *base ? base : "/tmp");
	if (!mkdtemp(tempdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		exit(255);
	}
	return tempdir;
}

void tap_fill_random(uint8_t *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed ? seed : 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)(x >> 24);
	}
}

int tap_done(void)
{
	printf("1..%d\n", tests_run);
	if (tempdir[0] && !getenv("IPMD_KEEP_TEMP")) {
		char cmd[4200];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tempdir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", tempdir);
	}
	if (tests_failed)
		printf("# Looks like you failed %d test%s of %d.\n",
		       tests_failed, tests_failed == 1 ? "" : "s", tests_run);
	return tests_failed || tests_run == 0 ? 1 : 0;
}
