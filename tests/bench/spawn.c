/*
 * spawn: the cheapest client for the process benchmarks of tests/bench.
 *
 *	spawn [-a] CONCURRENCY COUNT WARMUP DIR PROGRAM [ARG...]
 *
 * runs PROGRAM (looked up in PATH) WARMUP + COUNT times, CONCURRENCY at a
 * time, in DIR, with /dev/null as input and its output read from a pipe to
 * its end, as a daemon that spawns it would; prints one JSON line in the
 * format of loadgen.mjs: the latencies of the COUNT measured runs, from
 * posix_spawn to the reaped exit, in microseconds.  A run that exits
 * non-zero counts as an error, unless -a (any exit status) is given.
 * Compiled by tests/bench/bench.py.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct slot {
	pid_t	pid;
	int	fd;		/* read end of its output, -1 when at EOF */
	int	status;
	int	reaped;
	double	t0;
	int	index;
};

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1e6 + ts.tv_nsec / 1e3);
}

static int
start(struct slot *s, char **argv, int index)
{
	posix_spawn_file_actions_t fa;
	int p[2], rc;

	if (pipe2(p, O_CLOEXEC) == -1)
		return (-1);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	s->t0 = now_us();
	rc = posix_spawnp(&s->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		errno = rc;
		return (-1);
	}
	s->fd = p[0];
	s->reaped = 0;
	s->index = index;
	return (0);
}

int
main(int argc, char **argv)
{
	int conc, count, warmup, total, started = 0, done = 0, errors = 0;
	int i, n, first_err_set = 0, any = 0;
	struct slot *slots;
	struct pollfd *pfd;
	double *lat, first = 0, last = 0, wall0;
	char buf[65536], first_error[256] = "";

	if (argc > 1 && strcmp(argv[1], "-a") == 0) {
		any = 1;
		argc--;
		argv++;
	}
	if (argc < 6) {
		fprintf(stderr, "usage: spawn [-a] CONC COUNT WARMUP DIR PROG "
		    "[ARG...]\n");
		return (64);
	}
	conc = atoi(argv[1]);
	count = atoi(argv[2]);
	warmup = atoi(argv[3]);
	if (chdir(argv[4]) == -1) {
		perror(argv[4]);
		return (1);
	}
	argv += 5;
	total = count + warmup;
	slots = calloc(conc, sizeof(*slots));
	pfd = calloc(conc, sizeof(*pfd));
	lat = calloc(count ? count : 1, sizeof(*lat));
	for (i = 0; i < conc; i++)
		slots[i].pid = 0;
	wall0 = now_us();
	n = 0;
	while (done < total) {
		for (i = 0; i < conc && started < total; i++) {
			if (slots[i].pid != 0)
				continue;
			if (start(&slots[i], argv, started) == -1) {
				perror(argv[0]);
				return (1);
			}
			started++;
		}
		for (i = 0; i < conc; i++) {
			pfd[i].fd = slots[i].pid != 0 ? slots[i].fd : -1;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, conc, -1) == -1 && errno != EINTR) {
			perror("poll");
			return (1);
		}
		for (i = 0; i < conc; i++) {
			struct slot *s = &slots[i];
			ssize_t r;
			double t1;

			if (s->pid == 0 || pfd[i].revents == 0)
				continue;
			r = read(s->fd, buf, sizeof(buf));
			if (r > 0 || (r == -1 && errno == EINTR))
				continue;
			/* EOF: the program closed its output; reap it */
			close(s->fd);
			s->fd = -1;
			if (waitpid(s->pid, &s->status, 0) == -1) {
				perror("waitpid");
				return (1);
			}
			t1 = now_us();
			if (!any && (!WIFEXITED(s->status) ||
			    WEXITSTATUS(s->status) != 0)) {
				errors++;
				if (!first_err_set) {
					snprintf(first_error,
					    sizeof(first_error),
					    "%s: status %d", argv[0],
					    s->status);
					first_err_set = 1;
				}
			}
			if (s->index >= warmup) {
				if (n == 0 || s->t0 < first)
					first = s->t0;
				if (t1 > last)
					last = t1;
				lat[n++] = t1 - s->t0;
			}
			s->pid = 0;
			done++;
		}
	}
	printf("{\"samples_us\": [");
	for (i = 0; i < n; i++)
		printf("%s%.1f", i ? ", " : "", lat[i]);
	printf("], \"wall_s\": %.6f, \"measured_s\": %.6f, \"errors\": %d, "
	    "\"first_error\": ", (now_us() - wall0) / 1e6,
	    n ? (last - first) / 1e6 : 0.0, errors);
	if (first_err_set)
		printf("\"%s\"}\n", first_error);
	else
		printf("null}\n");
	return (0);
}
