/*
 * util/clock.h — the clocks, a sleep, and deadlines for timed waits.
 *
 * Monotonic time measures intervals (timeouts, back-off, rates); realtime
 * is for what is stored or shown (file times, commit times, LRU last use)
 * and for pthread_cond_timedwait, whose default clock is CLOCK_REALTIME.
 * The names say which: now_* is monotonic, wall_* is realtime.
 */
#ifndef IPMD_UTIL_CLOCK_H
#define IPMD_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_REALTIME now. */
struct timespec wall_now(void);

/* Milliseconds on CLOCK_MONOTONIC (now_ms) and CLOCK_REALTIME (wall_ms,
 * since the epoch). */
uint64_t now_ms(void);
uint64_t wall_ms(void);

/* Seconds on CLOCK_MONOTONIC, with the nanoseconds as a fraction. */
double now_s(void);

/* Sleeps ms milliseconds, resuming after a signal. */
void sleep_ms(uint64_t ms);

/* CLOCK_REALTIME now plus ms, normalised: the absolute deadline that
 * pthread_cond_timedwait (on a default condition variable) wants. */
struct timespec deadline_ms(uint64_t ms);

#endif
