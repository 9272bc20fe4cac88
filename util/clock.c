/* util/clock.c — clocks, sleep, deadlines; see clock.h. */
#include "util/clock.h"

#include <errno.h>

#define MS_PER_S 1000u
#define NS_PER_MS 1000000L
#define NS_PER_S 1000000000L

static struct timespec clock_now(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return ts;
}

static uint64_t to_ms(struct timespec ts)
{
	return (uint64_t)ts.tv_sec * MS_PER_S +
	       (uint64_t)ts.tv_nsec / NS_PER_MS;
}

struct timespec wall_now(void)
{
	return clock_now(CLOCK_REALTIME);
}

uint64_t now_ms(void)
{
	return to_ms(clock_now(CLOCK_MONOTONIC));
}

uint64_t wall_ms(void)
{
	return to_ms(clock_now(CLOCK_REALTIME));
}

double now_s(void)
{
	struct timespec ts = clock_now(CLOCK_MONOTONIC);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_ms(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / MS_PER_S),
			      (long)(ms % MS_PER_S) * NS_PER_MS};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

struct timespec deadline_ms(uint64_t ms)
{
	struct timespec ts = clock_now(CLOCK_REALTIME);
	ts.tv_sec += (time_t)(ms / MS_PER_S);
	ts.tv_nsec += (long)(ms % MS_PER_S) * NS_PER_MS;
	if (ts.tv_nsec >= NS_PER_S) {
		ts.tv_sec++;
		ts.tv_nsec -= NS_PER_S;
	}
	return ts;
}
