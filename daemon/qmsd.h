#ifndef QMSD_QMSD_H
#define QMSD_QMSD_H

#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include <cjson/cJSON.h>

#include "config-build.h"

struct config;

/* The daemon's one instance of its state, as in tmux's server.c. */
struct qmsd {
	struct event_base	*base;
	struct config		*conf;
	const char		*conf_path;	/* NULL: built-in defaults */
	char			*socket_path;
	int			 socket_passed;	/* socket activation */
	int			 verbose;
	time_t			 started;
	uint64_t		 started_ms;
	time_t			 conf_loaded;	/* when the running one was */
	char			*reload_error;	/* the last reload's, until a good one */
};

extern struct qmsd qmsd;

/* Parse the configuration again and commit it only if it is whole. */
int	 qmsd_reload(char *err, size_t errlen);
cJSON	*qmsd_status_json(void);

#endif
