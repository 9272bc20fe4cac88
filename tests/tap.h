/*
 * tests/tap.h — a minimal Test Anything Protocol producer for unit tests.
 *
 * Each check prints "ok N - name" or "not ok N - name" (with a diagnostic on
 * failure); tap_done() prints the plan "1..N" and returns the exit status
 * (0 only if every check passed and at least one ran).  Not thread safe:
 * call checks from the main thread.
 */
#ifndef IPMD_TESTS_TAP_H
#define IPMD_TESTS_TAP_H

#include <stddef.h>
#include <stdint.h>

int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int tap_is_int(long long got, long long want, const char *file, int line,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int tap_is_mem(const void *got, const void *want, size_t len,
	       const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
int tap_is_str(const char *got, const char *want, const char *file, int line,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tap_done(void);

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...)                                                \
	tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__,   \
		   __VA_ARGS__)
#define is_mem(got, want, len, ...)                                           \
	tap_is_mem((got), (want), (len), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...)                                                \
	tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)

/* A fresh empty directory under $TMPDIR (or /tmp), removed by tap_done(). */
const char *tap_tempdir(void);

/* Deterministic pseudo-random bytes (xorshift), for reproducible inputs. */
void tap_fill_random(uint8_t *buf, size_t len, uint64_t seed);

#endif
