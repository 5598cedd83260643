/*
 * libcurl's multi interface driven by the libevent loop: curl tells us
 * which sockets to watch and when to time out; we tell it what happened.
 * Every HTTP request qmsd makes (MCP probes, the Docker API) goes through
 * here, so none of them blocks the loop.
 */
#ifndef QMSD_CURL_LOOP_H
#define QMSD_CURL_LOOP_H

#include <curl/curl.h>
#include <event2/event.h>

typedef void (*curl_loop_done)(CURL *, CURLcode, void *arg);

void	curl_loop_init(struct event_base *);
void	curl_loop_shutdown(void);
/*
 * Start a transfer; done is called once, when it ends, never from here.
 * Safe from inside a transfer's callback too (it starts once libcurl is
 * back).
 */
void	curl_loop_add(CURL *, curl_loop_done, void *arg);
/* Abandon a transfer without calling done; the caller still owns it. */
void	curl_loop_remove(CURL *);

#endif
