/* fs/cli/service.c — readiness, status and stop for systemd (service.h). */
#include "fs/cli/service.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "fs/mount/mount.h"
#include "util/log.h"
#include "util/thread.h"

#define SERVICE_STATUS_MAX 256

struct service {
	struct ipmd_fs *fs;
	char mountpoint[PATH_MAX];
	bool foreground;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping; /* under lock */
	bool changed;  /* under lock: the mount said its status may have */
	pthread_t thread;
	char status[SERVICE_STATUS_MAX]; /* the last STATUS= sent */
};

/* "head commit 3" or "no commit yet", then ", 2 uploads pending" with a
 * node, then ", commits failing (why)" while they do. */
static void status_text(struct ipmd_fs *fs, char *buf, size_t size)
{
	struct ipmd_fs_status st;
	ipmd_fs_status(fs, &st);
	int n = st.head_seq ? snprintf(buf, size, "head commit %llu",
				       (unsigned long long)st.head_seq)
			    : snprintf(buf, size, "no commit yet");
	if (st.node && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n,
			      ", %llu upload%s pending",
			      (unsigned long long)st.pending,
			      st.pending == 1 ? "" : "s");
	if (st.commit_error && n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, ", commits failing (%s)",
			 strerror(-st.commit_error));
}

/* Send STATUS= if it changed since the last; ready: READY=1 with it. */
static void tell(struct service *s, bool ready)
{
	char text[SERVICE_STATUS_MAX];
	status_text(s->fs, text, sizeof(text));
	if (!ready && !strcmp(text, s->status))
		return;
	memcpy(s->status, text, sizeof(text));
	sd_notifyf(0, "%sSTATUS=%s", ready ? "READY=1\n" : "", text);
}

/* The stat returns once the FUSE loop served it: the mount answers. */
static void wait_ready(struct service *s)
{
	struct stat st;
	int e = stat(s->mountpoint, &st) == 0 ? 0 : errno;
	pthread_mutex_lock(&s->lock);
	bool stopping = s->stopping;
	pthread_mutex_unlock(&s->lock);
	if (stopping)
		return;
	if (e) {
		logmsg(LOG_ERR, "%s does not answer (%s): not ready",
		       s->mountpoint, strerror(e));
		return;
	}
	tell(s, true);
	logmsg(LOG_NOTICE, "mounted on %s and ready: %s", s->mountpoint,
	       s->status);
	if (s->foreground) {
		printf("ipmaildir: mounted and ready on %s\n", s->mountpoint);
		fflush(stdout);
	}
}

/* The mount's word that its status may have changed (ipmd_fs_on_status:
 * under its locks, so only the wake-up happens here). */
static void status_wake(void *arg)
{
	struct service *s = arg;
	pthread_mutex_lock(&s->lock);
	s->changed = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

static void *service_main(void *arg)
{
	struct service *s = arg;
	wait_ready(s);
	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		if (!s->changed) {
			pthread_cond_wait(&s->wake, &s->lock);
			continue;
		}
		s->changed = false;
		pthread_mutex_unlock(&s->lock);
		tell(s, false); /* sent only if the text changed */
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int service_start(struct service **out, struct ipmd_fs *fs,
		  const char *mountpoint, bool foreground)
{
	struct service *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (strlen(mountpoint) >= sizeof(s->mountpoint)) {
		free(s);
		return -ENAMETOOLONG;
	}
	strcpy(s->mountpoint, mountpoint);
	s->fs = fs;
	s->foreground = foreground;
	int e = thread_start(&s->lock, &s->wake, &s->thread, 1, service_main,
			     s);
	if (e < 0) {
		free(s);
		return e;
	}
	ipmd_fs_on_status(fs, status_wake, s);
	*out = s;
	return 0;
}

void service_stop(struct service *s)
{
	if (!s)
		return;
	ipmd_fs_on_status(s->fs, NULL, NULL); /* no wake-up into s after */
	sd_notify(0, "STOPPING=1\nSTATUS=unmounted, writing the last commit");
	thread_stop(&s->lock, &s->wake, &s->stopping, s->thread);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
