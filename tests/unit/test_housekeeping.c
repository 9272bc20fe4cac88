/* tests/unit/test_housekeeping.c — housekeeping_begin holds both the
 * housekeeping and the commit lock (so no commit runs), and
 * housekeeping_end lets both go. */
#include <errno.h>
#include <pthread.h>

#include "fs/mount/housekeeping.h"
#include "tests/tap.h"

/* Whether m is free, asked from another thread (a mutex's own holder may
 * not ask). */
struct probe {
	pthread_mutex_t *m;
	int got;
};

static void *try_lock(void *arg)
{
	struct probe *p = arg;
	p->got = pthread_mutex_trylock(p->m);
	if (p->got == 0)
		pthread_mutex_unlock(p->m);
	return NULL;
}

static int probe(pthread_mutex_t *m)
{
	struct probe p = {.m = m, .got = -1};
	pthread_t t;
	if (pthread_create(&t, NULL, try_lock, &p) != 0)
		return -1;
	pthread_join(t, NULL);
	return p.got;
}

int main(void)
{
	static struct ipmd_fs fs;
	pthread_mutex_init(&fs.housekeeping, NULL);
	pthread_mutex_init(&fs.commit_lock, NULL);
	pthread_mutex_init(&fs.lock, NULL);

	housekeeping_begin(&fs);
	is_int(probe(&fs.housekeeping), EBUSY, "begin holds housekeeping");
	is_int(probe(&fs.commit_lock), EBUSY,
	       "begin holds commit_lock: no commit meanwhile");
	is_int(probe(&fs.lock), 0, "fs->lock stays free: deliveries go on");
	housekeeping_end(&fs);
	is_int(probe(&fs.housekeeping), 0, "end lets housekeeping go");
	is_int(probe(&fs.commit_lock), 0, "end lets commit_lock go");

	/* Twice in a row: the end left nothing held that a begin waits on. */
	housekeeping_begin(&fs);
	housekeeping_end(&fs);
	ok(1, "a second begin and end");

	pthread_mutex_destroy(&fs.lock);
	pthread_mutex_destroy(&fs.commit_lock);
	pthread_mutex_destroy(&fs.housekeeping);
	return tap_done();
}
