/* util/thread.c — see thread.h. */
#include "util/thread.h"

void thread_stop(pthread_mutex_t *lock, pthread_cond_t *wake, bool *stopping,
		 pthread_t thread)
{
	pthread_mutex_lock(lock);
	*stopping = true;
	pthread_cond_signal(wake);
	pthread_mutex_unlock(lock);
	pthread_join(thread, NULL);
}
