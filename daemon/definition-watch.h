/*
 * The agents' definitions (config.h: definition) watched, so that a
 * running container made from another text shows its pending recreate
 * before anyone asks for an up: a file made, written, renamed or removed
 * in a directory that holds a definition calls fn (inotify, in the loop).
 * The directories are those of the definitions named at the last
 * definition_watch_set; one missing then is looked for again at the next
 * call.  An event only ever asks for a recheck, which reads the files as
 * agent-host.c does (safe-path.h): a watch reached through a link reads
 * nothing.
 */
#ifndef QMSD_DEFINITION_WATCH_H
#define QMSD_DEFINITION_WATCH_H

#include <event2/event.h>

struct definition_watch;

struct definition_watch	*definition_watch_new(struct event_base *,
			    void (*fn)(void *), void *arg);
void			 definition_watch_free(struct definition_watch *);
/*
 * Watch the directories of paths (relative to root; NULL or "" are
 * none), n of them, in place of those watched before.
 */
void			 definition_watch_set(struct definition_watch *,
			    const char *root, const char *const *paths,
			    size_t n);

#endif
