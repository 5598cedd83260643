#include <sys/inotify.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "definition-watch.h"
#include "log.h"
#include "util.h"

/* Read at most this many buffers of events per wakeup. */
#define DEFINITION_WATCH_BATCH	8

#define DEFINITION_WATCH_EVENTS	(IN_CREATE | IN_CLOSE_WRITE | IN_ATTRIB | \
				    IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
				    IN_DELETE_SELF | IN_MOVE_SELF | \
				    IN_ONLYDIR | IN_DONT_FOLLOW)

struct definition_watch {
	struct event_base	*base;
	int			 fd;
	struct event		*ev;
	void			(*fn)(void *);
	void			*arg;
};

struct definition_watch *
definition_watch_new(struct event_base *base, void (*fn)(void *), void *arg)
{
	struct definition_watch	*w;

	w = xcalloc(1, sizeof(*w));
	w->base = base;
	w->fd = -1;
	w->fn = fn;
	w->arg = arg;
	return (w);
}

static void
definition_watch_stop(struct definition_watch *w)
{
	if (w->ev != NULL)
		event_free(w->ev);
	w->ev = NULL;
	if (w->fd != -1)
		close(w->fd);
	w->fd = -1;
}

void
definition_watch_free(struct definition_watch *w)
{
	if (w == NULL)
		return;
	definition_watch_stop(w);
	free(w);
}

/* Anything at all in those directories: a recheck (it is rate-limited). */
static void
definition_watch_read(evutil_socket_t fd, short ev, void *arg)
{
	struct definition_watch	*w = arg;
	char			 buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t			 n;
	int			 reads, seen = 0;

	for (reads = 0; reads < DEFINITION_WATCH_BATCH; reads++) {
		if ((n = read(w->fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				log_warn("definitions: inotify");
				definition_watch_stop(w);
				seen = 1;
			}
			break;
		}
		seen = 1;
	}
	if (seen)
		w->fn(w->arg);
}

void
definition_watch_set(struct definition_watch *w, const char *root,
    const char *const *paths, size_t n)
{
	char	*dir, *slash;
	size_t	 i, watched = 0;

	definition_watch_stop(w);
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		log_warn("definitions: inotify_init1");
		return;
	}
	for (i = 0; i < n; i++) {
		if (paths[i] == NULL || paths[i][0] == '\0')
			continue;
		xasprintf(&dir, "%s/%s", root, paths[i]);
		if ((slash = strrchr(dir, '/')) != NULL)
			*slash = '\0';
		/* Missing for now: looked for again at the next set. */
		if (inotify_add_watch(w->fd, dir, DEFINITION_WATCH_EVENTS) !=
		    -1)
			watched++;
		free(dir);
	}
	if (watched == 0) {
		definition_watch_stop(w);
		return;
	}
	w->ev = event_new(w->base, w->fd, EV_READ | EV_PERSIST,
	    definition_watch_read, w);
	event_add(w->ev, NULL);
}
