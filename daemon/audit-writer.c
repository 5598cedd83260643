/*
 * The audit log's writer (audit-writer.h): the child of qmsd's that
 * appends the lines the loop sends and syncs them, so the loop never
 * waits for the disk (audit-log.h).
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit-writer.h"

#define WRITER_BUF	(1024 * 1024)

static void
writer_say(int sock, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
writer_say(int sock, const char *fmt, ...)
{
	char	buf[256];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(buf))
		(void)write(sock, buf, (size_t)n);
}

int
audit_write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/*
 * Read what the loop sent, append its whole lines, sync, say how far:
 * until the loop closes its end (qmsd stopping, or gone).
 */
void
audit_writer_main(int sock, int fd)
{
	struct stat	 st;
	char		*buf, *nl;
	size_t		 have = 0, w;
	uint64_t	 synced = 0;
	off_t		 base;
	ssize_t		 n;
	int		 eof = 0;

	prctl(PR_SET_NAME, "qmsd-audit");
	if (fstat(fd, &st) == -1)
		_exit(1);
	base = st.st_size;
	/* Stopped by the loop closing its end, not by a signal to all. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if ((buf = malloc(WRITER_BUF)) == NULL)
		_exit(1);
	while (!eof) {
		n = read(sock, buf + have, WRITER_BUF - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		/* Whatever else has come shares the sync. */
		while (have < WRITER_BUF) {
			n = recv(sock, buf + have, WRITER_BUF - have,
			    MSG_DONTWAIT);
			if (n > 0)
				have += (size_t)n;
			else {
				if (n == 0)
					eof = 1;
				break;
			}
		}
		if ((nl = memrchr(buf, '\n', have)) == NULL) {
			if (have == WRITER_BUF) {
				writer_say(sock, "E a line longer than %d "
				    "bytes\n", WRITER_BUF);
				_exit(1);
			}
			continue;
		}
		w = (size_t)(nl - buf) + 1;
		/*
		 * A full disk is waited out: what a failed write left is
		 * cut off again, so that every line on disk stays whole,
		 * and the same lines are tried each second.
		 */
		while (audit_write_all(fd, buf, w) == -1) {
			if (errno != ENOSPC && errno != EDQUOT) {
				writer_say(sock, "E cannot write: %s\n",
				    strerror(errno));
				_exit(1);
			}
			writer_say(sock, "W cannot write: %s; trying again "
			    "each second\n", strerror(errno));
			if (ftruncate(fd, base + (off_t)synced) == -1) {
				writer_say(sock, "E cannot cut a line short "
				    "back: %s\n", strerror(errno));
				_exit(1);
			}
			sleep(1);
		}
		if (fdatasync(fd) == -1) {
			writer_say(sock, "E cannot sync: %s\n",
			    strerror(errno));
			_exit(1);
		}
		synced += w;
		memmove(buf, buf + w, have - w);
		have -= w;
		writer_say(sock, "A %llu\n", (unsigned long long)synced);
	}
	(void)fdatasync(fd);
	_exit(0);
}

void
audit_writer_close_others(int a, int b)
{
	int	lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo > 3)
		(void)close_range(3, (unsigned)lo - 1, 0);
	if (hi > lo + 1)
		(void)close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
	(void)close_range((unsigned)hi + 1, ~0U, 0);
}
