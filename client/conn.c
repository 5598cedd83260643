/*
 * qmsctl's side of the control socket: connect, send one JSON-RPC line,
 * read one line back.  Blocking is right here; a deadline keeps a stuck
 * daemon from hanging a monitoring check.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "qmsctl.h"

int ctl_timeout_ms = 10000;

volatile sig_atomic_t ctl_interrupted;

int
ctl_connect(char *why, size_t len)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(socket_path) >= sizeof(sun.sun_path)) {
		snprintf(why, len, "socket path too long");
		return (-1);
	}
	strcpy(sun.sun_path, socket_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(why, len, "socket: %s", strerror(errno));
		return (-1);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(why, len, "%s", strerror(errno));
		close(fd);
		return (-1);
	}
	return (fd);
}

int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

static int	received_fd = -1;

/* read(2), also taking a descriptor passed along (SCM_RIGHTS). */
static ssize_t
read_fds(int fd, char *buf, size_t len)
{
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	struct iovec	 iov = { buf, len };
	char		 cbuf[CMSG_SPACE(sizeof(int))];
	ssize_t		 n;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	if ((n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC)) <= 0)
		return (n);
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS) {
			if (received_fd != -1)
				close(received_fd);
			memcpy(&received_fd, CMSG_DATA(cm), sizeof(int));
		}
	}
	return (n);
}

int
ctl_take_fd(void)
{
	int	fd = received_fd;

	received_fd = -1;
	return (fd);
}

/*
 * Read one line, keeping what follows it for the next call.  A line of
 * the control protocol is at most PROTO_MAX_LINE on the way in; answers
 * (status, logs) may be longer and are read whole.
 */
char *
ctl_readline(int fd, size_t *lenp, int timeout_ms, char *why, size_t whylen)
{
	static char	*rest;
	static size_t	 restlen;
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	char		*buf = NULL, *nl, *p;
	size_t		 len = 0, cap = 0;
	ssize_t		 n;
	int		 rc;

	if (restlen > 0) {
		buf = rest;
		len = cap = restlen;
		rest = NULL;
		restlen = 0;
		if ((nl = memchr(buf, '\n', len)) != NULL)
			goto found;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			if ((p = realloc(buf, cap)) == NULL) {
				snprintf(why, whylen, "out of memory");
				free(buf);
				return (NULL);
			}
			buf = p;
		}
		rc = poll(&pfd, 1, timeout_ms);
		if (rc == -1 && errno == EINTR) {
			if (ctl_interrupted) {
				snprintf(why, whylen, "interrupted");
				free(buf);
				return (NULL);
			}
			continue;
		}
		if (rc <= 0) {
			if (rc == 0)
				snprintf(why, whylen, "no answer within %d s",
				    timeout_ms / 1000);
			else
				snprintf(why, whylen, "poll: %s",
				    strerror(errno));
			free(buf);
			return (NULL);
		}
		if ((n = read_fds(fd, buf + len, cap - len - 1)) == -1) {
			if (errno == EINTR && !ctl_interrupted)
				continue;
			snprintf(why, whylen, "read: %s", strerror(errno));
			free(buf);
			return (NULL);
		}
		if (n == 0) {
			snprintf(why, whylen, "qmsd closed the connection");
			free(buf);
			return (NULL);
		}
		len += (size_t)n;
		buf[len] = '\0';
		if ((nl = memchr(buf, '\n', len)) != NULL)
			break;
	}
found:
	*lenp = (size_t)(nl - buf);
	if (len > *lenp + 1) {
		restlen = len - *lenp - 1;
		if ((rest = malloc(restlen + 1)) == NULL)
			restlen = 0;
		else
			memcpy(rest, nl + 1, restlen);
	}
	*nl = '\0';
	return (buf);
}

int
ctl_send(int fd, const char *method, cJSON *params, char *why, size_t len)
{
	char	*req;

	if ((req = proto_encode_request(1, method, params)) == NULL) {
		snprintf(why, len, "cannot encode the request");
		return (-1);
	}
	if (write_all(fd, req, strlen(req)) == -1) {
		snprintf(why, len, "cannot send to qmsd at %s: %s",
		    socket_path, strerror(errno));
		free(req);
		return (-1);
	}
	free(req);
	return (0);
}

/* Decode an answer: EXIT_OK with its result, else EXIT_FAILED, printed. */
int
ctl_answer(const char *method, const char *line, size_t len, cJSON **result)
{
	struct proto_response	resp;
	char			why[256];

	*result = NULL;
	if (proto_decode_response(line, len, &resp, why, sizeof(why)) == -1) {
		fprintf(stderr, "qmsctl: %s\n", why);
		return (EXIT_FAILED);
	}
	if (resp.result == NULL) {
		fprintf(stderr, "qmsctl: %s: %s\n", method, resp.message);
		proto_response_free(&resp);
		return (EXIT_FAILED);
	}
	*result = cJSON_DetachItemFromObjectCaseSensitive(resp.root, "result");
	proto_response_free(&resp);
	return (EXIT_OK);
}

int
ctl_call(const char *method, cJSON *params, cJSON **result,
    char *unreachable, size_t ulen)
{
	return (ctl_call_keep(method, params, result, unreachable, ulen,
	    NULL));
}

int
ctl_call_keep(const char *method, cJSON *params, cJSON **result,
    char *unreachable, size_t ulen, int *fdp)
{
	char	 why[256], *line;
	size_t	 len;
	int	 fd, rc;

	*result = NULL;
	if ((fd = ctl_connect(why, sizeof(why))) == -1) {
		cJSON_Delete(params);
		snprintf(unreachable, ulen, "cannot connect to qmsd at %s: %s",
		    socket_path, why);
		return (EXIT_UNREACHABLE);
	}
	if (ctl_send(fd, method, params, unreachable, ulen) == -1) {
		close(fd);
		return (EXIT_UNREACHABLE);
	}
	line = ctl_readline(fd, &len, ctl_timeout_ms, why, sizeof(why));
	if (line == NULL) {
		close(fd);
		snprintf(unreachable, ulen, "qmsd at %s: %s", socket_path,
		    why);
		return (EXIT_UNREACHABLE);
	}
	rc = ctl_answer(method, line, len, result);
	free(line);
	if (rc == EXIT_OK && fdp != NULL)
		*fdp = fd;
	else
		close(fd);
	return (rc);
}

static void
on_interrupt(int sig)
{
	ctl_interrupted = 1;
}

int
ctl_follow(int fd, void (*fn)(const cJSON *, void *), void *arg)
{
	struct sigaction	 sa;
	cJSON			*msg;
	char			 why[256], *line;
	size_t			 len;

	/* No SA_RESTART: the signal must end the wait in poll. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	while (!ctl_interrupted) {
		if ((line = ctl_readline(fd, &len, -1, why, sizeof(why))) ==
		    NULL)
			break;
		msg = cJSON_ParseWithLength(line, len);
		free(line);
		if (msg != NULL)
			fn(cJSON_GetObjectItemCaseSensitive(msg, "params"), arg);
		cJSON_Delete(msg);
		fflush(stdout);
	}
	close(fd);
	if (ctl_interrupted)
		return (EXIT_OK);
	fprintf(stderr, "qmsctl: %s\n", why);
	return (EXIT_UNREACHABLE);
}
