/*
 * What session and exec share: ask qmsd for a stream to a command in an
 * agent's container, receive it (SCM_RIGHTS), and relay it to and from
 * this terminal or these pipes until the command ends; then ask for its
 * exit code.  Docker frames a stream without a terminal (8-byte headers
 * saying stdout or stderr); with a terminal it is raw.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "qmsctl.h"
#include "tty.h"

static int		sigpipe_fds[2] = { -1, -1 };
static volatile sig_atomic_t got_signal;

static void
on_winch(int sig)
{
	int	saved = errno;
	char	c = 'w';

	if (write(sigpipe_fds[1], &c, 1) == -1)
		(void)0;
	errno = saved;
}

static void
on_quit(int sig)
{
	got_signal = sig;
	on_winch(sig);
}

static void
send_resize(int ctl, const char *exec)
{
	cJSON	*p;
	char	 why[128];
	int	 rows, cols;

	if (tty_size(STDIN_FILENO, &rows, &cols) == -1)
		return;
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "exec", exec);
	cJSON_AddNumberToObject(p, "rows", rows);
	cJSON_AddNumberToObject(p, "cols", cols);
	ctl_send(ctl, "exec-resize", p, why, sizeof(why));
}

/* Docker's frames: [stream, 0, 0, 0, size (4, big-endian)] payload. */
static int
demux(char *buf, size_t *len)
{
	size_t	 size, off = 0;
	int	 out;

	while (*len - off >= 8) {
		size = ((size_t)(unsigned char)buf[off + 4] << 24) |
		    ((size_t)(unsigned char)buf[off + 5] << 16) |
		    ((size_t)(unsigned char)buf[off + 6] << 8) |
		    (size_t)(unsigned char)buf[off + 7];
		if (*len - off - 8 < size)
			break;
		out = buf[off] == 2 ? STDERR_FILENO : STDOUT_FILENO;
		if (write_all(out, buf + off + 8, size) == -1)
			return (-1);
		off += 8 + size;
	}
	memmove(buf, buf + off, *len - off);
	*len -= off;
	return (0);
}

/* Relay until the stream ends; 0, or -1 when a signal ended it. */
static int
relay(int ctl, int stream, const char *exec, int tty, const char *pending,
    size_t npending)
{
	struct pollfd	 p[4];
	static char	 frame[1 << 17];
	size_t		 flen = 0;
	char		 buf[16384];
	ssize_t		 n;
	int		 stdin_open = 1, ctl_open = 1;

	if (npending > 0) {
		if (tty)
			write_all(STDOUT_FILENO, pending, npending);
		else {
			memcpy(frame, pending, npending);
			flen = npending;
			demux(frame, &flen);
		}
	}
	for (;;) {
		p[0].fd = stream;
		p[0].events = POLLIN;
		p[1].fd = stdin_open ? STDIN_FILENO : -1;
		p[1].events = POLLIN;
		p[2].fd = ctl_open ? ctl : -1;
		p[2].events = POLLIN;
		p[3].fd = sigpipe_fds[0];
		p[3].events = POLLIN;
		if (poll(p, 4, -1) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (p[3].revents & POLLIN) {
			n = read(sigpipe_fds[0], buf, sizeof(buf));
			if (got_signal)
				return (-1);
			if (tty)
				send_resize(ctl, exec);
		}
		if (p[2].revents & (POLLIN | POLLHUP)) {
			/* Answers to resizes; nothing else comes. */
			/* qmsd going away does not end the session. */
			n = read(ctl, buf, sizeof(buf));
			if (n <= 0)
				ctl_open = 0;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (tty) {
				n = read(stream, buf, sizeof(buf));
				if (n <= 0)
					return (0);
				if (write_all(STDOUT_FILENO, buf, (size_t)n) ==
				    -1)
					return (-1);
			} else {
				if (flen == sizeof(frame))
					return (-1);
				n = read(stream, frame + flen,
				    sizeof(frame) - flen);
				if (n <= 0)
					return (0);
				flen += (size_t)n;
				if (demux(frame, &flen) == -1)
					return (-1);
			}
		}
		if (stdin_open && (p[1].revents & (POLLIN | POLLHUP))) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				/* End of input: the command sees EOF. */
				stdin_open = 0;
				if (!tty)
					shutdown(stream, SHUT_WR);
			} else if (write_all(stream, buf, (size_t)n) == -1)
				return (0);
		}
	}
}

/* The command's exit code, once dockerd has it. */
static int
exit_code(int ctl, const char *exec)
{
	cJSON		*p, *res, *running, *code;
	char		 why[256], *line;
	size_t		 len;
	int		 tries, rc = EXIT_FAILED;
	struct proto_response resp;

	for (tries = 0; tries < 50; tries++) {
		p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "exec", exec);
		if (ctl_send(ctl, "exec-status", p, why, sizeof(why)) == -1)
			break;
		/* Skip answers to earlier resizes. */
		for (;;) {
			if ((line = ctl_readline(ctl, &len, 10000, why,
			    sizeof(why))) == NULL)
				return (EXIT_FAILED);
			if (proto_decode_response(line, len, &resp, why,
			    sizeof(why)) == 0) {
				if (resp.result != NULL &&
				    cJSON_GetObjectItemCaseSensitive(
				    resp.result, "running") != NULL) {
					res = cJSON_Duplicate(resp.result, 1);
					proto_response_free(&resp);
					free(line);
					break;
				}
				proto_response_free(&resp);
			}
			free(line);
		}
		running = cJSON_GetObjectItemCaseSensitive(res, "running");
		code = cJSON_GetObjectItemCaseSensitive(res, "exit_code");
		if (!cJSON_IsTrue(running) && cJSON_IsNumber(code)) {
			rc = code->valueint;
			cJSON_Delete(res);
			return (rc);
		}
		cJSON_Delete(res);
		usleep(100000);
	}
	return (rc);
}

static int
unhex(const char *s, char **out, size_t *len)
{
	size_t	n = strlen(s) / 2, i;
	unsigned int b;

	*out = malloc(n + 1);
	for (i = 0; i < n; i++) {
		if (sscanf(s + i * 2, "%2x", &b) != 1)
			return (-1);
		(*out)[i] = (char)b;
	}
	*len = n;
	return (0);
}

int
relay_session(const char *agent, char *const *argv, int tty, int force,
    const char *verb)
{
	struct sigaction	 sa;
	struct proto_response	 resp;
	const cJSON		*msg, *secs, *exec, *pend;
	cJSON			*params, *list, *note;
	char			 why[512], *line, *pending = NULL, term[64];
	const char		*t;
	size_t			 len, npending = 0;
	int			 ctl, stream, rows, cols, rc, ended;

	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "agent", agent);
	cJSON_AddBoolToObject(params, "tty", tty);
	if (force)
		cJSON_AddBoolToObject(params, "force", 1);
	if (tty && tty_size(STDIN_FILENO, &rows, &cols) == 0) {
		cJSON_AddNumberToObject(params, "rows", rows);
		cJSON_AddNumberToObject(params, "cols", cols);
	}
	if ((t = getenv("TERM")) != NULL) {
		snprintf(term, sizeof(term), "%s", t);
		cJSON_AddStringToObject(params, "term", term);
	}
	if (argv != NULL) {
		list = cJSON_AddArrayToObject(params, "argv");
		for (; *argv != NULL; argv++)
			cJSON_AddItemToArray(list, cJSON_CreateString(*argv));
	}
	if ((ctl = ctl_connect(why, sizeof(why))) == -1) {
		cJSON_Delete(params);
		fprintf(stderr, "qmsctl: cannot connect to qmsd at %s: %s\n",
		    socket_path, why);
		return (EXIT_UNREACHABLE);
	}
	if (ctl_send(ctl, "session", params, why, sizeof(why)) == -1) {
		fprintf(stderr, "qmsctl: %s\n", why);
		return (EXIT_UNREACHABLE);
	}
	/* Progress lines, then the answer with the stream attached. */
	for (;;) {
		if ((line = ctl_readline(ctl, &len, 600000, why, sizeof(why))) ==
		    NULL) {
			fprintf(stderr, "qmsctl: %s: %s\n", verb, why);
			return (EXIT_UNREACHABLE);
		}
		note = cJSON_ParseWithLength(line, len);
		if (cJSON_GetObjectItemCaseSensitive(note, "method") != NULL) {
			/* a notification: {"method":"progress",...} */
			msg = cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(note, "params"),
			    "message");
			secs = cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(note, "params"),
			    "seconds");
			if (cJSON_IsString(msg) && tty)
				fprintf(stderr, "%s (%.2f s)\n",
				    msg->valuestring, cJSON_IsNumber(secs) ?
				    secs->valuedouble : 0.0);
			cJSON_Delete(note);
			free(line);
			continue;
		}
		cJSON_Delete(note);
		rc = proto_decode_response(line, len, &resp, why, sizeof(why));
		free(line);
		if (rc == -1) {
			fprintf(stderr, "qmsctl: %s: %s\n", verb, why);
			return (EXIT_FAILED);
		}
		break;
	}
	if (resp.result == NULL) {
		fprintf(stderr, "qmsctl: %s: %s\n", verb, resp.message);
		proto_response_free(&resp);
		return (EXIT_FAILED);
	}
	exec = cJSON_GetObjectItemCaseSensitive(resp.result, "exec");
	pend = cJSON_GetObjectItemCaseSensitive(resp.result, "pending");
	if ((stream = ctl_take_fd()) == -1 || !cJSON_IsString(exec)) {
		fprintf(stderr, "qmsctl: %s: qmsd passed no stream\n", verb);
		proto_response_free(&resp);
		return (EXIT_FAILED);
	}
	if (cJSON_IsString(pend))
		unhex(pend->valuestring, &pending, &npending);
	secs = cJSON_GetObjectItemCaseSensitive(resp.result, "seconds");
	if (tty)
		fprintf(stderr, "attached (%.2f s in all)\n",
		    cJSON_IsNumber(secs) ? secs->valuedouble : 0.0);

	if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK) == -1) {
		proto_response_free(&resp);
		return (EXIT_FAILED);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	sa.sa_handler = on_quit;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (!tty)
		sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (tty && tty_raw(STDIN_FILENO) == -1) {
		fprintf(stderr, "qmsctl: cannot put the terminal in raw mode\n");
		proto_response_free(&resp);
		return (EXIT_FAILED);
	}
	/* Docker 20.10 ignores the size given at create: say it again. */
	if (tty)
		send_resize(ctl, exec->valuestring);
	ended = relay(ctl, stream, exec->valuestring, tty, pending, npending);
	tty_restore();
	free(pending);
	close(stream);
	if (ended == -1) {
		rc = got_signal ? 128 + got_signal : EXIT_FAILED;
		if (got_signal && tty)
			fprintf(stderr, "\r\nqmsctl: detached by signal %d; "
			    "the session goes on in the container\n",
			    (int)got_signal);
	} else
		rc = exit_code(ctl, exec->valuestring);
	proto_response_free(&resp);
	close(ctl);
	return (rc);
}
