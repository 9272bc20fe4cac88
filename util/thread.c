/* util/thread.c — see thread.h. */
#include "util/thread.h"

#include "util/clock.h"

int thread_start(pthread_mutex_t *lock, pthread_cond_t *wake,
		 pthread_t *threads, unsigned n, void *(*fn)(void *arg),
		 void *arg)
{
	pthread_mutex_init(lock, NULL);
	pthread_cond_init(wake, NULL);
	unsigned started = 0;
	int e = 0;
	while (started < n && e == 0) {
		e = pthread_create(&threads[started], NULL, fn, arg);
		if (e == 0)
			started++;
	}
	if (started)
		return (int)started;
	pthread_cond_destroy(wake);
	pthread_mutex_destroy(lock);
	return -e;
}

void thread_loop(pthread_mutex_t *lock, pthread_cond_t *wake,
		 const bool *stopping, uint64_t delay_ms,
		 bool (*ready)(void *arg), void (*job)(void *arg), void *arg)
{
	pthread_mutex_lock(lock);
	while (!*stopping) {
		if (ready && !ready(arg)) {
			pthread_cond_wait(wake, lock);
			continue;
		}
		struct timespec until = deadline_ms(delay_ms);
		pthread_cond_timedwait(wake, lock, &until);
		if (*stopping)
			break;
		pthread_mutex_unlock(lock);
		job(arg);
		pthread_mutex_lock(lock);
	}
	pthread_mutex_unlock(lock);
}

void thread_stop_all(pthread_mutex_t *lock, pthread_cond_t *wake,
		     bool *stopping, const pthread_t *threads, unsigned n)
{
	pthread_mutex_lock(lock);
	*stopping = true;
	pthread_cond_broadcast(wake);
	pthread_mutex_unlock(lock);
	for (unsigned i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
}

void thread_stop(pthread_mutex_t *lock, pthread_cond_t *wake, bool *stopping,
		 pthread_t thread)
{
	thread_stop_all(lock, wake, stopping, &thread, 1);
}
