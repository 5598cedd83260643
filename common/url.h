#ifndef QMSD_URL_H
#define QMSD_URL_H

#include <stddef.h>

/*
 * Split "http://HOST:PORT/PATH" (HOST may be [v6]) into HOST, without
 * brackets, and PORT; the port is required, since qmsd must know which
 * one to watch.  host may be NULL to only validate.  0, or -1.
 */
int	url_host_port(const char *url, char *host, size_t hostlen, int *port);

#endif
