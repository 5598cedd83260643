/*
 * qmsctl's side of the control socket: connect, send one JSON-RPC line,
 * read one line back.  Blocking is right here; a deadline keeps a stuck
 * daemon from hanging a monitoring check.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "qmsctl.h"

#define CALL_TIMEOUT_MS	10000

static int
connect_socket(char *why, size_t len)
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

static int
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

/* Read up to the first newline; NULL with why set on failure. */
static char *
read_line(int fd, size_t *lenp, char *why, size_t whylen)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	char		*buf = NULL, *nl, *p;
	size_t		 len = 0, cap = 0;
	ssize_t		 n;
	int		 rc;

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
		rc = poll(&pfd, 1, CALL_TIMEOUT_MS);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc <= 0) {
			if (rc == 0)
				snprintf(why, whylen, "no answer within %d s",
				    CALL_TIMEOUT_MS / 1000);
			else
				snprintf(why, whylen, "poll: %s",
				    strerror(errno));
			free(buf);
			return (NULL);
		}
		if ((n = read(fd, buf + len, cap - len - 1)) == -1) {
			if (errno == EINTR)
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
		if ((nl = memchr(buf, '\n', len)) != NULL) {
			*lenp = (size_t)(nl - buf);
			return (buf);
		}
	}
}

int
ctl_call(const char *method, cJSON *params, cJSON **result,
    char *unreachable, size_t ulen)
{
	struct proto_response	 resp;
	char			 why[256], *req, *line;
	size_t			 len;
	int			 fd;

	*result = NULL;
	if ((fd = connect_socket(why, sizeof(why))) == -1) {
		cJSON_Delete(params);
		snprintf(unreachable, ulen, "cannot connect to qmsd at %s: %s",
		    socket_path, why);
		return (EXIT_UNREACHABLE);
	}
	if ((req = proto_encode_request(1, method, params)) == NULL ||
	    write_all(fd, req, strlen(req)) == -1) {
		snprintf(unreachable, ulen, "cannot send to qmsd at %s: %s",
		    socket_path, req == NULL ? "encoding failed" :
		    strerror(errno));
		free(req);
		close(fd);
		return (EXIT_UNREACHABLE);
	}
	free(req);
	line = read_line(fd, &len, why, sizeof(why));
	close(fd);
	if (line == NULL) {
		snprintf(unreachable, ulen, "qmsd at %s: %s", socket_path,
		    why);
		return (EXIT_UNREACHABLE);
	}
	if (proto_decode_response(line, len, &resp, why, sizeof(why)) == -1) {
		free(line);
		fprintf(stderr, "qmsctl: %s\n", why);
		return (EXIT_FAILED);
	}
	free(line);
	if (resp.result == NULL) {
		fprintf(stderr, "qmsctl: %s: %s\n", method, resp.message);
		proto_response_free(&resp);
		return (EXIT_FAILED);
	}
	*result = cJSON_DetachItemFromObjectCaseSensitive(resp.root, "result");
	proto_response_free(&resp);
	return (EXIT_OK);
}
