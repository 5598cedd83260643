#ifndef QMSD_QMSCTL_H
#define QMSD_QMSCTL_H

#include <cjson/cJSON.h>

/* Exit codes, the same for every command (status adds 1 and 2). */
#define EXIT_OK			0
#define EXIT_FAILED		1	/* qmsd refused or failed the request */
#define EXIT_UNREACHABLE	3	/* no qmsd on the socket */
#define EXIT_USAGE		64

struct cmd_entry {
	const char	*name;
	const char	*usage;		/* arguments after the name */
	const char	*summary;
	int		(*exec)(int argc, char **argv);
};

/* The socket chosen by -S, QMSD_SOCKET, or the default. */
extern const char *socket_path;
/* How long ctl_call waits for an answer (up waits for Docker). */
extern int ctl_timeout_ms;

/*
 * Send one request and wait for its answer.  Returns EXIT_OK with *result
 * (the caller frees it); EXIT_FAILED after printing qmsd's error; or
 * EXIT_UNREACHABLE with the reason left in unreachable for the caller to
 * print, since status reports it in its own format.
 */
int	 ctl_call(const char *method, cJSON *params, cJSON **result,
	    char *unreachable, size_t len);
/* The -n of logs and egress, 0 to 1000000; -1 after saying why not. */
long	 parse_lines(const char *);
/* The same, and with fdp the connection stays open once answered. */
int	 ctl_call_keep(const char *method, cJSON *params, cJSON **result,
	    char *unreachable, size_t len, int *fdp);
/*
 * After a request that subscribed (logs -f, egress -f): fn(params, arg)
 * for each notification on fd until interrupted (SIGINT, SIGTERM,
 * SIGHUP: EXIT_OK) or qmsd goes (said: EXIT_UNREACHABLE).  fd is closed.
 */
int	 ctl_follow(int fd, void (*fn)(const cJSON *params, void *), void *arg);
void	 cmd_usage(const struct cmd_entry *);
/* The width of a text column: its longest key value, at least min. */
int	 column_width(const cJSON *list, const char *key, int min);

/*
 * The egress counts of an agent's row (status, ps) as one line: "egress 12
 * allowed, 3 denied, 1 open, 5120 bytes up, 80213 down"; 0 when it has
 * none, or all are 0.
 */
int	 egress_counts_text(const cJSON *row, char *, size_t);

/* The pieces of ctl_call, for commands that read more than one answer. */
#include <signal.h>
#include <stddef.h>
extern volatile sig_atomic_t ctl_interrupted;	/* set by a handler */
int	 ctl_connect(char *why, size_t);
int	 ctl_send(int fd, const char *method, cJSON *params, char *why,
	    size_t);
char	*ctl_readline(int fd, size_t *len, int timeout_ms, char *why,
	    size_t);
int	 ctl_answer(const char *method, const char *line, size_t len,
	    cJSON **result);
/* write(2) until all is written, through EINTR; 0 or -1. */
int	 write_all(int fd, const char *, size_t);
/* A descriptor qmsd passed with what ctl_readline read, or -1. */
int	 ctl_take_fd(void);

/* session and exec: run one in an agent (relay.c). */
int	 relay_session(const char *agent, char *const *argv, int tty, int force,
	    const char *verb);

/* start, stop, restart: the same request with a component name. */
int	 ctl_component_action(const struct cmd_entry *, const char *method,
	    int argc, char **argv);

#endif
