/*
 * The Docker Engine API over its Unix socket, through the curl loop: no
 * request blocks qmsd.  The API version is negotiated from /_ping and every
 * path is prefixed with it; Docker's {"message": ...} is what callers get
 * as the error.  /events is streamed for qmsd's labels; when the engine
 * goes away qmsd reconnects with backoff and tells its listeners to
 * resynchronise.
 */
#ifndef QMSD_DOCKER_H
#define QMSD_DOCKER_H

#include <event2/event.h>

#include <cjson/cJSON.h>

#define DOCKER_LABEL_AGENT	"io.qmsd.agent"
#define DOCKER_LABEL_CONFIG	"io.qmsd.config"

struct docker_reply {
	long		 status;	/* HTTP status; 0: no answer at all */
	cJSON		*json;		/* the body, when it is JSON */
	const char	*error;		/* Docker's message or why none came */
};

typedef void (*docker_done)(const struct docker_reply *, void *arg);

void	 docker_init(struct event_base *);
/* needed: agents are configured, so an unreachable engine is critical. */
void	 docker_configure(int needed);
void	 docker_shutdown(void);
int	 docker_ready(void);
/* Still finding out whether the engine answers: worth waiting for. */
int	 docker_connecting(void);
/* For the one request libcurl cannot make (an upgraded exec start). */
const char *docker_socket(void);
const char *docker_api_prefix(void);	/* "/v1.41" */
/* Why it is not ready, for errors shown to users. */
const char *docker_why(void);

/* path without the /vN.NN prefix; body JSON text or NULL.  done runs
 * once, later, never from inside this call. */
void	 docker_request(const char *method, const char *path,
	    const char *body, docker_done, void *arg);

/* Every event about a labelled container, as Docker sends it. */
void	 docker_on_event(void (*)(const cJSON *, void *), void *);
/* Subscribe to the engine becoming reachable, each time (resynchronise);
 * subscribers are called in the order they came. */
void	 docker_on_ready(void (*)(void *), void *);
void	 docker_on_unreachable(void (*)(void *), void *);

#endif
