/*
 * util/thread.h — stopping a worker thread that sleeps on a condition.
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
