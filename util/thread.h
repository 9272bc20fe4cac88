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

/* Set *stopping under lock, signal wake, and join thread.  The lock and
 * the condition stay the caller's (to destroy or reuse). */
void thread_stop(pthread_mutex_t *lock, pthread_cond_t *wake, bool *stopping,
		 pthread_t thread);

#endif
