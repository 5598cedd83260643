#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static const char *log_progname = "qmsd";
static enum log_level log_level = LOG_LEVEL_INFO;
static int log_journal;
/* sd_journal_sendv, given by the daemon: the client needs no libsystemd. */
static int (*log_journal_send)(const struct iovec *, int);

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

/* syslog priorities, which the journal's PRIORITY= field uses. */
static const int level_prio[] = { 3, 4, 6, 7 };

/*
 * stderr is the journal when JOURNAL_STREAM names the device and inode of
 * the descriptor we have as fd 2 (systemd.exec(5)).
 */
static int
stderr_is_journal(void)
{
	const char	*e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat	 st;

	if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return (0);
	if (fstat(STDERR_FILENO, &st) == -1)
		return (0);
	return (st.st_dev == dev && st.st_ino == ino);
}

void
log_init(const char *progname, int (*journal_send)(const struct iovec *,
    int))
{
	log_progname = progname;
	log_journal_send = journal_send;
	log_journal = journal_send != NULL && stderr_is_journal();
}

void
log_use_journal(void)
{
	log_journal = log_journal_send != NULL;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return (log_level);
}

int
log_to_journal(void)
{
	return (log_journal);
}

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t	i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return (0);
		}
	}
	if (strcmp(s, "warn") == 0) {
		*out = LOG_LEVEL_WARNING;
		return (0);
	}
	return (-1);
}

const char *
log_level_name(enum log_level level)
{
	return (level_names[level]);
}

static void
log_emit(enum log_level level, const char *component,
    const char *const *fields, const char *msg)
{
	struct iovec	 iov[16];
	char		 prio[16], comp[128];
	char		*m = NULL;
	int		 n = 0;

	if (!log_journal) {
		if (component != NULL)
			fprintf(stderr, "%s: %s: %s: %s\n", log_progname,
			    level_names[level], component, msg);
		else
			fprintf(stderr, "%s: %s: %s\n", log_progname,
			    level_names[level], msg);
		return;
	}
	if (asprintf(&m, "MESSAGE=%s", msg) == -1)
		return;
	snprintf(prio, sizeof(prio), "PRIORITY=%d", level_prio[level]);
	iov[n].iov_base = m;
	iov[n++].iov_len = strlen(m);
	iov[n].iov_base = prio;
	iov[n++].iov_len = strlen(prio);
	if (component != NULL) {
		snprintf(comp, sizeof(comp), "QMSD_COMPONENT=%s", component);
		iov[n].iov_base = comp;
		iov[n++].iov_len = strlen(comp);
	}
	for (; fields != NULL && *fields != NULL && n < 16; fields++) {
		iov[n].iov_base = (void *)*fields;
		iov[n++].iov_len = strlen(*fields);
	}
	log_journal_send(iov, n);
	free(m);
}

static void	log_vformat(enum log_level, int, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));

static void
log_vformat(enum log_level level, int with_errno, const char *fmt,
    va_list ap)
{
	char	 buf[4096];
	int	 saved = errno;
	size_t	 len;

	if (level > log_level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (with_errno) {
		len = strlen(buf);
		snprintf(buf + len, sizeof(buf) - len, ": %s",
		    strerror(saved));
	}
	log_emit(level, NULL, NULL, buf);
	errno = saved;
}

/* An error that ends something, but where the caller decides how. */
void
log_errorx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vformat(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vformat(LOG_LEVEL_WARNING, 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vformat(LOG_LEVEL_WARNING, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vformat(LOG_LEVEL_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vformat(LOG_LEVEL_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vformat(LOG_LEVEL_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vformat(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_audit(const char *component, const char *const *fields,
    const char *fmt, ...)
{
	char	buf[4096];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_emit(LOG_LEVEL_INFO, component, fields, buf);
}

void
log_component(enum log_level level, const char *component,
    const char *const *fields, const char *fmt, ...)
{
	char	buf[4096];
	va_list	ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_emit(level, component, fields, buf);
}
