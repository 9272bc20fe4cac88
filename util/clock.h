/*
 * util/clock.h — the clocks, a sleep, and deadlines for timed waits.
 *
 * Monotonic time measures intervals (timeouts, back-off, rates); realtime
 * is for what is stored or shown (file times, commit times, LRU last use)
 * and for pthread_cond_timedwait, whose default clock is CLOCK_REALTIME.
 */
#ifndef IPMD_UTIL_CLOCK_H
#define IPMD_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_REALTIME now. */
struct timespec clock_real_now(void);

/* Milliseconds on CLOCK_MONOTONIC / CLOCK_REALTIME. */
uint64_t clock_mono_ms(void);
uint64_t clock_real_ms(void);

/* Seconds on CLOCK_MONOTONIC, with the nanoseconds as a fraction. */
double clock_mono_s(void);

/* Sleeps ms milliseconds, resuming after a signal. */
void sleep_ms(uint64_t ms);

/* CLOCK_REALTIME now plus ms, normalised: the absolute deadline that
 * pthread_cond_timedwait (on a default condition variable) wants. */
struct timespec clock_deadline_ms(uint64_t ms);

#endif
