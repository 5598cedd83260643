#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

#define STATUS_COALESCE_MS	100

static int		 nfd = -1;
static struct sockaddr_un nsun;
static socklen_t	 nlen;
static struct event	*status_ev;
static void		(*status_make)(char *, size_t);
static char		 status_sent[512];
static unsigned long	 dropped;

static void
on_status(evutil_socket_t fd, short ev, void *arg)
{
	char	buf[512], line[600];

	status_make(buf, sizeof(buf));
	if (strcmp(buf, status_sent) == 0)
		return;
	snprintf(status_sent, sizeof(status_sent), "%s", buf);
	snprintf(line, sizeof(line), "STATUS=%s", buf);
	notify_send(line);
}

void
notify_init(struct event_base *base)
{
	const char	*path = getenv("NOTIFY_SOCKET");
	size_t		 len;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		goto out;
	len = strlen(path);
	if (len >= sizeof(nsun.sun_path)) {
		log_warnx("NOTIFY_SOCKET too long; not notifying");
		goto out;
	}
	memset(&nsun, 0, sizeof(nsun));
	nsun.sun_family = AF_UNIX;
	memcpy(nsun.sun_path, path, len);
	if (nsun.sun_path[0] == '@')
		nsun.sun_path[0] = '\0';	/* abstract namespace */
	nlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (nfd == -1)
		log_warn("notify socket");
out:
	unsetenv("NOTIFY_SOCKET");
	status_ev = evtimer_new(base, on_status, NULL);
}

void
notify_send(const char *msg)
{
	if (nfd == -1)
		return;
	if (sendto(nfd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *)&nsun, nlen) == -1) {
		if (dropped++ == 0)
			log_warn("notify: cannot send %s", msg);
	}
}

void
notify_status_soon(void (*make)(char *, size_t))
{
	struct timeval	tv = { 0, STATUS_COALESCE_MS * 1000 };

	status_make = make;
	if (status_ev == NULL || evtimer_pending(status_ev, NULL))
		return;
	evtimer_add(status_ev, &tv);
}

void
notify_shutdown(void)
{
	if (status_ev != NULL)
		event_free(status_ev);
	status_ev = NULL;
	if (nfd != -1)
		close(nfd);
	nfd = -1;
}
