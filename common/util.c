#include <sys/stat.h>
#include <sys/time.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "argv.h"
#include "log.h"
#include "util.h"

/* Split "123unit" into its number and its unit; the number must fit. */
static int
number_unit(const char *s, uint64_t *n, const char **unit)
{
	char			*end;
	unsigned long long	 v;

	if (!isdigit((unsigned char)s[0]))
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return (-1);
	*n = v;
	*unit = end;
	return (0);
}

int
parse_duration(const char *s, uint64_t *ms)
{
	static const struct {
		const char	*unit;
		uint64_t	 ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	const char	*unit;
	uint64_t	 n;
	size_t		 i;

	if (number_unit(s, &n, &unit) == -1)
		return (-1);
	for (i = 0; i < nitems(units); i++) {
		if (strcmp(unit, units[i].unit) != 0)
			continue;
		if (n > UINT64_MAX / units[i].ms)
			return (-1);
		*ms = n * units[i].ms;
		return (0);
	}
	return (-1);
}

int
parse_size(const char *s, uint64_t *bytes)
{
	const char	*unit;
	uint64_t	 n, mult;

	if (number_unit(s, &n, &unit) == -1)
		return (-1);
	if (strcmp(unit, "") == 0)
		mult = 1;
	else if (strcmp(unit, "K") == 0)
		mult = 1ULL << 10;
	else if (strcmp(unit, "M") == 0)
		mult = 1ULL << 20;
	else if (strcmp(unit, "G") == 0)
		mult = 1ULL << 30;
	else
		return (-1);
	if (n > UINT64_MAX / mult)
		return (-1);
	*bytes = n * mult;
	return (0);
}

int
parse_number(const char *s, long long min, long long max, long long *out)
{
	char		*end;
	long long	 v;

	if (!isdigit((unsigned char)s[0]) && s[0] != '-')
		return (-1);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return (-1);
	*out = v;
	return (0);
}

void
timeval_ms(struct timeval *tv, uint64_t ms)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

uint64_t
wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

void
format_time(time_t t, char *buf, size_t len)
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
format_duration(uint64_t ms, char *buf, size_t len)
{
	uint64_t	s = ms / 1000;

	if (ms < 10000)
		snprintf(buf, len, "%.2fs", (double)ms / 1000);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)s / 60,
		    (unsigned long long)s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)s / 3600,
		    (unsigned long long)(s % 3600) / 60);
	else
		snprintf(buf, len, "%llud%02lluh",
		    (unsigned long long)s / 86400,
		    (unsigned long long)(s % 86400) / 3600);
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n, size)) == NULL)
		fatal("calloc");
	return (p);
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("strdup");
	return (p);
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n == -1)
		fatal("asprintf");
	return (n);
}

int
mkdir_p(const char *path, unsigned int mode)
{
	char	 buf[PATH_MAX], *p;

	if (strlen(path) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	strcpy(buf, path);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST)
			return (-1);
		*p = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		return (-1);
	return (0);
}

char **
xargv_copy(char *const *v)
{
	char	**c;

	if ((c = argv_copy(v)) == NULL)
		fatal("argv_copy");
	return (c);
}

char *
default_user_socket(void)
{
	const char	*rt = getenv("XDG_RUNTIME_DIR");
	char		*s;

	if (geteuid() == 0 || rt == NULL || rt[0] != '/')
		return (NULL);
	xasprintf(&s, "%s/qmsd/qmsd.sock", rt);
	return (s);
}

int
equal_secret(const void *a, const void *b, size_t len)
{
	const unsigned char	*x = a, *y = b;
	unsigned char		 diff = 0;
	size_t			 i;

	for (i = 0; i < len; i++)
		diff |= x[i] ^ y[i];
	return (diff == 0);
}

int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}
