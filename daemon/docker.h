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
/* The agent's configured masks when it was made, a line each (unhashed). */
#define DOCKER_LABEL_MASKS	"io.qmsd.masks"

struct docker_reply {
	long		 status;	/* HTTP status; 0: no answer at all */
	cJSON		*json;		/* the body, when it is JSON */
	const char	*error;		/* Docker's message or why none came */
};

typedef void (*docker_done)(const struct docker_reply *, void *arg);

/* socket: [docker] socket, or NULL for DOCKER_HOST or the default. */
void	 docker_init(struct event_base *, const char *socket);
/*
 * needed: agents are configured, so an unreachable engine is critical.
 * A socket other than the one in use takes effect at the next start.
 */
void	 docker_configure(int needed, const char *socket);
void	 docker_shutdown(void);
int	 docker_ready(void);
/* Still finding out whether the engine answers: worth waiting for. */
int	 docker_connecting(void);
/* Why it is not ready, for errors shown to users. */
const char *docker_why(void);

/* path without the /vN.NN prefix; body JSON text or NULL.  done runs
 * once, later, never from inside this call. */
void	 docker_request(const char *method, const char *path,
	    const char *body, docker_done, void *arg);
/*
 * The same without a body, on a connection of its own: a stopping dockerd
 * closes its socket to new connections and still serves those it has.
 */
void	 docker_request_fresh(const char *method, const char *path,
	    docker_done, void *arg);

/*
 * Start an exec with its streams attached: the one request libcurl cannot
 * make (dockerd upgrades the connection and the stream follows on it).
 * done(arg, NULL, fd, pending, n) once with the connection, blocking, and
 * the stream bytes dockerd sent past its headers; or done(arg, why, -1, ...).
 * NULL with why when it cannot even begin; never done after a cancel.
 */
struct docker_attach;
typedef void (*docker_attach_done)(void *, const char *error, int fd,
    const char *pending, size_t npending);
struct docker_attach *docker_exec_attach(const char *exec_id, int tty,
	    docker_attach_done, void *arg, char *err, size_t errlen);
void	 docker_attach_cancel(struct docker_attach *);

/* Every event about a labelled container, as Docker sends it (to each
 * of a few subscribers). */
void	 docker_on_event(void (*)(const cJSON *, void *), void *);
/*
 * Subscribe: fn(arg) each time the engine becomes reachable
 * (resynchronise), or each time it is found unreachable (including when a
 * first attempt fails, so that waiters can be told).
 */
void	 docker_on_ready(void (*)(void *), void *);
void	 docker_on_unreachable(void (*)(void *), void *);

#endif
