/* util/thread.c — see thread.h. */
#include "util/thread.h"

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
