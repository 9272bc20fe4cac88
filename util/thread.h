/*
 * util/thread.h — a worker thread that sleeps on a condition: its loop,
 * and stopping it.
 *
 * The convention it serves: the worker holds lock while it reads *stopping
 * and waits on wake; seeing *stopping set, it returns.  Setting the flag
 * under the lock means the worker either sees it before it waits or is
 * woken by the signal after: the stop is never lost.
 */
#ifndef IPMD_UTIL_THREAD_H
#define IPMD_UTIL_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Start such workers: lock and wake initialised, then n (≥ 1) threads
 * running fn(arg) in threads[0 .. n).  Returns how many started (fewer
 * than n when pthread_create failed for the rest: the caller decides
 * whether that is enough), or -errno when none did; then lock and wake
 * are destroyed again and nothing is left to clean up.
 */
int thread_start(pthread_mutex_t *lock, pthread_cond_t *wake,
		 pthread_t *threads, unsigned n, void *(*fn)(void *arg),
		 void *arg);

/*
 * The loop of such a worker, run in its thread: until *stopping, wait on
 * wake for delay_ms (a signal ends the wait early: a wake-up, or the
 * stop), then, not stopped meanwhile, run job(arg) with lock released.
 * ready, if not NULL, is asked first, under lock: while it says false the
 * worker waits on wake with no deadline (nothing to do yet).  lock is
 * taken and released here.
 */
void thread_loop(pthread_mutex_t *lock, pthread_cond_t *wake,
		 const bool *stopping, uint64_t delay_ms,
		 bool (*ready)(void *arg), void (*job)(void *arg), void *arg);

/* Set *stopping under lock, wake every waiter on wake (broadcast: a
 * waiter that is not a worker checks its own condition again), and join
 * the n threads.  The lock and the condition stay the caller's (to
 * destroy or reuse). */
void thread_stop_all(pthread_mutex_t *lock, pthread_cond_t *wake,
		     bool *stopping, const pthread_t *threads, unsigned n);
/* The same for one thread. */
void thread_stop(pthread_mutex_t *lock, pthread_cond_t *wake, bool *stopping,
		 pthread_t thread);

#endif
